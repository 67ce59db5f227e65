"""MaaSStore as a drop-in LangGraph store: a compiled graph, LangChain's ``create_agent`` and
langmem's memory tools, driven by scripted fake chat models; the agent comes from
``config["configurable"]["maas_agent_id"]``."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langchain.agents import create_agent
from langchain.tools import ToolRuntime
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import tool
from langgraph.config import get_store
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from maas_langchain import AgentType, MaaS
from maas_langchain.errors import PermissionDeniedError

DIMS = 16


def embed(texts: Sequence[str]) -> list[list[float]]:
    out = []
    for text in texts:
        vec = [0.1] + [0.0] * (DIMS - 1)
        for word in text.lower().split():
            word = word.strip('.,!?"{}:')
            vec[1 + int(hashlib.md5(word.encode()).hexdigest(), 16) % (DIMS - 1)] += 1.0
        out.append(vec)
    return out


class ScriptedModel(GenericFakeChatModel):
    """A fake chat model that accepts ``bind_tools`` and replays scripted messages."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedModel:
        return self


def script(*messages: AIMessage) -> ScriptedModel:
    return ScriptedModel(messages=iter(messages))


def call(name: str, args: dict[str, Any], call_id: str = "c1") -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


@pytest.fixture
def maas(tmp_path: Path) -> Any:
    with MaaS.open(tmp_path / "home", sweep_interval=None) as instance:
        yield instance


class State(TypedDict):
    text: str
    seen: list[str]


def build_graph(maas: MaaS) -> Any:
    def remember(state: State, runtime: Runtime[Any]) -> dict[str, Any]:
        assert runtime.store is not None
        runtime.store.put(("notes",), "last", {"text": state["text"]})
        return {}

    def recall(state: State) -> dict[str, Any]:
        found = get_store().search(("notes",))
        return {"seen": [item.value["text"] for item in found]}

    graph = StateGraph(State)
    graph.add_node("remember", remember)
    graph.add_node("recall", recall)
    graph.add_edge(START, "remember")
    graph.add_edge("remember", "recall")
    graph.add_edge("recall", END)
    return graph.compile(store=maas.store())


def test_compiled_graph_uses_the_agent_from_configurable(maas: MaaS) -> None:
    a = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    b = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    app = build_graph(maas)
    out_a = app.invoke({"text": "a's note", "seen": []}, {"configurable": {"maas_agent_id": a}})
    out_b = app.invoke({"text": "b's note", "seen": []}, {"configurable": {"maas_agent_id": b}})
    assert out_a["seen"] == ["a's note"] and out_b["seen"] == ["b's note"]  # private per agent
    stored = maas.store().search(("agents",))
    assert sorted(i.namespace[1] for i in stored) == sorted([a, b])


def test_denial_inside_a_graph_run_surfaces_as_the_graphs_exception(maas: MaaS) -> None:
    reader = maas.agents.register_agent(AgentType.CUSTOM_PIPELINE, owner_id="u1")  # no MEMORY_WRITE
    app = build_graph(maas)
    with pytest.raises(PermissionDeniedError, match="MEMORY_WRITE"):
        app.invoke({"text": "x", "seen": []}, {"configurable": {"maas_agent_id": reader}})
    with pytest.raises(PermissionDeniedError, match="not registered"):
        app.invoke({"text": "x", "seen": []}, {"configurable": {"maas_agent_id": "ghost"}})
    assert maas.audit.query(event_type="PERMISSION_DENIED", actor=reader)


@pytest.mark.asyncio
async def test_async_graph_run(maas: MaaS) -> None:
    a = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    out = await build_graph(maas).ainvoke({"text": "async note", "seen": []}, {"configurable": {"maas_agent_id": a}})
    assert out["seen"] == ["async note"]


@tool
def save_fact(fact: str, runtime: ToolRuntime) -> str:
    """Save a fact about the user."""
    assert runtime.store is not None
    runtime.store.put(("facts",), "f1", {"fact": fact})
    return "saved"


@tool
def read_facts(runtime: ToolRuntime) -> str:
    """Read the saved facts."""
    assert runtime.store is not None
    return "; ".join(item.value["fact"] for item in runtime.store.search(("facts",)))


def last_text(messages: list[BaseMessage]) -> str:
    return str(messages[-1].content)


def test_create_agent_tools_read_and_write_the_store(maas: MaaS) -> None:
    a = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    model = script(
        call("save_fact", {"fact": "likes tea"}, "c1"),
        call("read_facts", {}, "c2"),
        AIMessage(content="done"),
    )
    agent = create_agent(model, [save_fact, read_facts], store=maas.store())
    result = agent.invoke(
        {"messages": [{"role": "user", "content": "remember I like tea"}]},
        {"configurable": {"maas_agent_id": a}},
    )
    tool_outputs = [m.content for m in result["messages"] if m.type == "tool"]
    assert tool_outputs == ["saved", "likes tea"]
    assert maas.store(agent_id=a).get(("facts",), "f1").value == {"fact": "likes tea"}
    assert maas.store().get(("facts",), "f1") is None  # it lives in the agent's private space


def test_langmem_manage_then_search_memory(maas: MaaS) -> None:
    from langmem import create_manage_memory_tool, create_search_memory_tool

    a = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    namespace = ("memories", "{langgraph_user_id}")
    tools = [create_manage_memory_tool(namespace=namespace), create_search_memory_tool(namespace=namespace)]
    model = script(
        call("manage_memory", {"content": "The user prefers dark roast coffee", "action": "create"}, "c1"),
        call("search_memory", {"query": "coffee preference"}, "c2"),
        AIMessage(content="noted"),
    )
    store = maas.store(index={"dims": DIMS, "embed": embed})
    agent = create_agent(model, tools, store=store)
    config = {"configurable": {"maas_agent_id": a, "langgraph_user_id": "u1"}}
    result = agent.invoke({"messages": [{"role": "user", "content": "I like dark roast"}]}, config)
    outputs = [str(m.content) for m in result["messages"] if m.type == "tool"]
    assert outputs[0].startswith("created memory")
    assert "dark roast coffee" in outputs[1]
    hits = maas.store(agent_id=a, index={"dims": DIMS, "embed": embed}).search(("memories", "u1"), query="coffee")
    assert hits and hits[0].value["content"] == "The user prefers dark roast coffee" and hits[0].score
    other = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    assert maas.store(agent_id=other).search(("memories", "u1")) == []  # private per agent
