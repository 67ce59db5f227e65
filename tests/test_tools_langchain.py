"""The LangChain toolkit: LangChain's standard tool suites for every tool, JSON schemas, errors as
tool messages through a ToolNode, and a ``create_agent`` run with a scripted model."""

from __future__ import annotations

import asyncio
import atexit
import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from maas_langchain import MaaS
from maas_langchain.adapters.tools import MaaSToolkit, tool_specs
from maas_langchain.adapters.tools.langchain import MaaSTool
from maas_langchain.adapters.tools.registry import input_schema
from maas_langchain.core.enums import AgentType, HandoffStatus, PermissionModel, SharedScope
from maas_langchain.embeddings import HashingEmbeddings
from maas_langchain.errors import NotFoundError


class _World:
    """One instance for the standard suites (their ``tool_constructor`` cannot use fixtures)."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="maas-tools-")
        atexit.register(shutil.rmtree, self.folder, True)
        self.maas = MaaS.open(self.folder, vectors="bruteforce", embeddings=HashingEmbeddings(64), sweep_interval=None)
        atexit.register(self.maas.close)
        reg = self.maas.agents.register_agent
        self.a = reg(AgentType.CLAUDE_CODE, "u1", project_id="alpha")
        self.b = reg(AgentType.GPT_AGENT, "u1", project_id="alpha")
        self.pool = self.maas.pools.create_pool("auth", "u1", SharedScope.PROJECT)
        self.other_pool = self.maas.pools.create_pool("web", "u1", SharedScope.PROJECT)
        self.maas.pools.join_pool(self.pool, self.a, PermissionModel.WRITE)
        self.maas.pools.join_pool(self.other_pool, self.a, PermissionModel.READ)
        self.maas.kb.decisions.add_decision("Use JWT for sessions", "Tokens expire after 15 minutes.", topic="auth")
        ho = self.maas.handoffs
        to_a = [ho.initiate_handoff(self.b, self.a, {"task_description": f"task {i}"}) for i in range(3)]
        self.pending, self.rejectable = str(to_a[0]), str(to_a[1])
        ho.accept_handoff(str(to_a[2]), self.a)
        self.accepted = str(to_a[2])
        self.cancellable = str(ho.initiate_handoff(self.a, self.b, {"task_description": "withdraw me"}))
        self.tools = {t.name: t for t in MaaSToolkit(self.maas, agent_id=self.a).get_tools()}

    def examples(self) -> dict[str, dict[str, Any]]:
        return {
            "register_agent": {"agent_type": "gpt_agent", "name": "helper"},
            "get_agent_info": {"agent_id": self.b},
            "get_agents_for_user": {"user_id": "u1"},
            "initiate_handoff": {"target_id": self.b, "context": {"task_description": "Build the login form"}},
            "accept_handoff": {"handoff_id": self.pending},
            "complete_handoff": {"handoff_id": self.accepted, "result": {"status": "success"}},
            "get_pending_handoffs": {},
            "create_pool": {"name": "frontend", "scope": "project"},
            "join_pool": {"pool_id": self.pool, "permission": "write"},
            "leave_pool": {"pool_id": self.other_pool},
            "share_memory_to_scope": {"pool_id": self.pool, "content": "Login is POST /v2/login", "scope": "project"},
            "query_shared": {"pool_id": self.pool, "max_scope": "project", "limit": 10},
            "search_code_kb": {"query": "HandoffManager", "service_filter": "api", "limit": 3},
            "search_decisions": {"query": "session tokens", "topic_filter": "auth"},
            "search_incidents": {"query": "login outage", "service_filter": "auth"},
            "remember": {"content": "The auth service signs JWTs with RS256.", "category": "decision"},
            "recall": {"query": "How are JWTs signed?", "top_k": 3},
            "reject_handoff": {"handoff_id": self.rejectable, "reason": "busy"},
            "cancel_handoff": {"handoff_id": self.cancellable},
            "get_handoff": {"handoff_id": self.pending},
            "get_state": {"entity": "auth service", "history": True},
            "profile": {"per_category": 3},
            "reflect": {"query": "How are JWTs signed?", "top_k": 3},
        }


_WORLD: _World | None = None


def world() -> _World:
    global _WORLD
    if _WORLD is None:
        _WORLD = _World()
    return _WORLD


def _standard_suites() -> None:
    """One ``ToolsUnitTests`` and one ``ToolsIntegrationTests`` subclass per tool.

    The suite's two async tests carry no asyncio mark (pytest-asyncio runs in strict mode here):
    mark those functions themselves, so the suite's own override check still sees them unchanged.
    """
    for name in ("test_async_invoke_matches_output_schema", "test_async_invoke_no_tool_call"):
        pytest.mark.asyncio(getattr(ToolsIntegrationTests, name))
    for spec in tool_specs():
        attrs = {
            "tool_constructor": property(lambda self, n=spec.name: world().tools[n]),
            "tool_invoke_params_example": property(lambda self, n=spec.name: world().examples()[n]),
        }
        camel = "".join(part.title() for part in spec.name.split("_"))
        globals()[f"Test{camel}Unit"] = type(f"Test{camel}Unit", (ToolsUnitTests,), dict(attrs))
        globals()[f"Test{camel}Integration"] = type(f"Test{camel}Integration", (ToolsIntegrationTests,), dict(attrs))


_standard_suites()


# --- schemas: one source ------------------------------------------------------------------------
def test_every_tool_has_an_example() -> None:
    assert set(world().examples()) == {s.name for s in tool_specs()}


@pytest.mark.parametrize("spec", tool_specs(), ids=lambda s: s.name)
def test_schema_converts_to_a_valid_openai_tool(spec: Any) -> None:
    converted = convert_to_openai_tool(world().tools[spec.name])
    function = converted["function"]
    assert (converted["type"], function["name"]) == ("function", spec.name)
    assert function["description"] == spec.description
    parameters = function["parameters"]
    jsonschema.Draft202012Validator.check_schema(parameters)
    assert set(parameters["properties"]) == set(spec.args_schema.model_json_schema()["properties"])
    assert "$ref" not in json.dumps(parameters)  # self-contained for any client
    jsonschema.validate(world().examples()[spec.name], parameters)
    inlined = input_schema(spec)  # what the MCP server publishes
    jsonschema.Draft202012Validator.check_schema(inlined)
    assert "$ref" not in json.dumps(inlined) and inlined["properties"].keys() == parameters["properties"].keys()
    jsonschema.validate(world().examples()[spec.name], inlined)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**world().examples()[spec.name], "not_a_parameter": 1}, inlined)


def test_the_registry_is_the_single_source() -> None:
    tools = MaaSToolkit(world().maas, agent_id=world().a).get_tools()
    specs = tool_specs()
    assert [t.name for t in tools] == [s.name for s in specs]
    for tool, spec in zip(tools, specs, strict=True):
        assert isinstance(tool, MaaSTool) and tool.spec is spec
        assert tool.description == spec.description
        schema = spec.args_schema.model_json_schema()
        assert tool.get_input_schema().model_json_schema() == schema
        called = tool.tool_call_schema.model_json_schema()  # type: ignore[union-attr]
        assert (called["properties"], called.get("required")) == (schema["properties"], schema.get("required"))


def test_a_read_only_toolkit_offers_no_writer() -> None:
    tools = MaaSToolkit(world().maas, agent_id=world().a, read_only=True).get_tools()
    assert [t.name for t in tools] == [s.name for s in tool_specs() if not s.writes]


def test_the_toolkit_needs_a_registered_agent() -> None:
    with pytest.raises(NotFoundError):
        MaaSToolkit(world().maas, agent_id=str(uuid.uuid4()))


# --- errors come back as tool messages ----------------------------------------------------------
def _tool_node_run(tools: Sequence[BaseTool], calls: list[dict[str, Any]]) -> list[ToolMessage]:
    from langgraph.graph import END, START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode

    graph = StateGraph(MessagesState)
    graph.add_node("tools", ToolNode(list(tools)))
    graph.add_edge(START, "tools")
    graph.add_edge("tools", END)
    message = AIMessage(content="", tool_calls=[{**c, "id": f"call-{i}"} for i, c in enumerate(calls)])
    out = graph.compile().invoke({"messages": [message]})
    return sorted((m for m in out["messages"] if isinstance(m, ToolMessage)), key=lambda m: m.tool_call_id)


def test_errors_reach_the_model_through_a_tool_node(tmp_path: Path) -> None:
    maas = MaaS.open(tmp_path / "maas", vectors="bruteforce", embeddings=HashingEmbeddings(64), sweep_interval=None)
    with maas:
        a = maas.agents.register_agent(AgentType.CLAUDE_CODE, "u1")
        b = maas.agents.register_agent(AgentType.GPT_AGENT, "u1")
        tools = MaaSToolkit(maas, agent_id=a).get_tools()
        messages = _tool_node_run(
            tools,
            [
                {"name": "recall", "args": {"query": "x", "top_k": "many"}},
                {"name": "get_agent_info", "args": {"agent_id": str(uuid.uuid4())}},
                {"name": "get_pending_handoffs", "args": {"agent_id": b}},
                {"name": "accept_handoff", "args": {}},
                {"name": "remember", "args": {"content": "Tabs, not spaces, in the Makefile."}},
            ],
        )
        bodies = [json.loads(str(m.content)) for m in messages]
        assert [m.status for m in messages] == ["error", "error", "error", "error", "success"]
        codes = [b["error"]["code"] if not b["ok"] else "ok" for b in bodies]
        assert codes == ["invalid_input", "not_found", "permission_denied", "invalid_input", "ok"]
        assert "top_k" in bodies[0]["error"]["message"] and "handoff_id" in bodies[3]["error"]["message"]
        assert bodies[4]["result"]["content"] == "Tabs, not spaces, in the Makefile."


def test_ainvoke_runs_in_a_worker_thread() -> None:
    tool = world().tools["get_agent_info"]
    call = {"name": tool.name, "args": {}, "id": "c1", "type": "tool_call"}
    message = asyncio.run(tool.ainvoke(call))
    assert isinstance(message, ToolMessage) and json.loads(str(message.content))["result"]["agent_id"] == world().a
    denied = asyncio.run(tool.ainvoke({**call, "args": {"agent_id": "x" * 65}}))
    assert denied.status == "error" and json.loads(str(denied.content))["error"]["code"] == "invalid_input"


# --- an agent run --------------------------------------------------------------------------------
class ScriptedChatModel(GenericFakeChatModel):
    """Replays scripted AI messages; tools are "bound" by ignoring them (the script names them)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        return self


def _call(name: str, args: dict[str, Any], n: int) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"step-{n}", "type": "tool_call"}])


@pytest.fixture
def team(tmp_path: Path) -> Iterator[tuple[MaaS, str, str, str]]:
    maas = MaaS.open(tmp_path / "maas", vectors="bruteforce", embeddings=HashingEmbeddings(64), sweep_interval=None)
    backend = maas.agents.register_agent(AgentType.CLAUDE_CODE, "user-123", project_id="auth")
    frontend = maas.agents.register_agent(AgentType.GPT_AGENT, "user-123", project_id="auth")
    pool = maas.pools.create_pool("feature-auth", "user-123", SharedScope.PROJECT, admin_agent_id=backend)
    maas.pools.join_pool(pool, frontend, PermissionModel.READ)
    yield maas, backend, frontend, pool
    maas.close()


def test_create_agent_joins_shares_hands_off_and_recalls(team: tuple[MaaS, str, str, str]) -> None:
    from langchain.agents import create_agent

    maas, backend, frontend, pool = team
    fact = "The login API is POST /v2/login and returns a JWT."
    script = [
        _call("join_pool", {"pool_id": pool, "agent_id": frontend, "permission": "write"}, 1),  # as ADMIN
        _call("share_memory_to_scope", {"pool_id": pool, "content": fact, "scope": "project"}, 2),
        _call(
            "initiate_handoff", {"source_id": frontend, "target_id": backend, "context": {"task_description": "x"}}, 3
        ),
        _call(
            "initiate_handoff",
            {
                "target_id": frontend,
                "context": {"task_description": "Build the login form", "relevant_files": ["src/Login.tsx"]},
            },
            4,
        ),
        _call("recall", {"query": "login API JWT", "top_k": 3}, 5),
        AIMessage(content="Done: shared the API, handed the form to the frontend agent."),
    ]
    model = ScriptedChatModel(messages=iter(script))
    agent = create_agent(model, tools=MaaSToolkit(maas, agent_id=backend).get_tools())
    out = agent.invoke({"messages": [HumanMessage("Coordinate the login feature.")]})

    tool_messages = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_messages] == [
        "join_pool",
        "share_memory_to_scope",
        "initiate_handoff",
        "initiate_handoff",
        "recall",
    ]
    assert [m.status for m in tool_messages] == ["success", "success", "error", "success", "success"]
    assert json.loads(str(tool_messages[2].content))["error"]["code"] == "permission_denied"
    # the state in MaaS
    assert maas.pools.get_permission(pool, frontend) is PermissionModel.WRITE
    assert [(s.content, s.author_id) for s in maas.pools.query_shared(pool, frontend)] == [(fact, backend)]
    [handoff] = maas.handoffs.list_handoffs(backend)
    assert (handoff.source_agent_id, handoff.target_agent_id) == (backend, frontend)
    assert (handoff.status, handoff.context.relevant_files) == (HandoffStatus.PENDING, ["src/Login.tsx"])
    recalled = json.loads(str(tool_messages[-1].content))["result"]["memories"]
    assert recalled[0]["content"] == fact
    assert out["messages"][-1].content.startswith("Done")


@pytest.mark.slow
def test_the_real_default_chroma_and_local_model(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("chromadb")
    with MaaS.open(tmp_path / "maas", sweep_interval=None) as maas:
        me = maas.agents.register_agent(AgentType.CLAUDE_CODE, "u1", project_id="alpha")
        tools = {t.name: t for t in MaaSToolkit(maas, agent_id=me).get_tools()}
        for fact in ("Competitor X raised prices by 20% in Q2.", "The office plants are watered on Fridays."):
            assert json.loads(tools["remember"].invoke({"content": fact}))["ok"]
        found = json.loads(tools["recall"].invoke({"query": "What happened to competitor pricing?", "top_k": 1}))
        assert [m["content"] for m in found["result"]["memories"]] == ["Competitor X raised prices by 20% in Q2."]
        assert maas.status()["vectors"]["embedding_model"] == "all-MiniLM-L6-v2"
