"""Supervisor graphs whose routing is MaaS handoffs: initiated, accepted, completed, audited.

:func:`create_maas_supervisor` builds a LangGraph ``StateGraph``: a supervisor node (a small
tool-calling agent whose tools are :func:`create_handoff_tool` handoffs, one per worker) and one
:class:`MaaSWorkerNode` per worker, each routing back to the supervisor. Every routing decision
is a handoff record:

========================================  =======================================
graph event                               MaaS handoff lifecycle
========================================  =======================================
supervisor model calls ``transfer_to_w``  ``initiate_handoff`` (PENDING), audited
worker node ``w`` starts                  ``accept_handoff`` (ACCEPTED)
worker's agent answers                    ``complete_handoff(result)`` (COMPLETED)
worker's agent raises                     ``reject_handoff(reason)`` (REJECTED)
TTL runs out before the worker starts     EXPIRED: the worker does not run
supervisor cancels it first               CANCELLED: the worker does not run
========================================  =======================================

Identities come from the arguments, fixed when the graph is built: the supervisor acts as
``supervisor_id`` (it needs HANDOFF_INITIATE) and each worker node as its ``agent_id`` (it needs
HANDOFF_RECEIVE); nothing a model writes changes them. Several handoff calls in one supervisor
turn run the workers in parallel (``Send``), each with its own handoff record.

Example:
    >>> from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    >>> from maas_langchain import MaaS, AgentType
    >>> maas = MaaS.open(":memory:", sweep_interval=None)
    >>> boss = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    >>> coder = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1")
    >>> class Scripted(FakeMessagesListChatModel):  # a real model: ChatOpenAI(...), ChatAnthropic(...)
    ...     def bind_tools(self, tools, **kwargs):
    ...         return self
    >>> worker = MaaSWorker(name="coder", agent_id=coder, agent=lambda task: "done: " + task.task)
    >>> builder = create_maas_supervisor(maas, supervisor_id=boss, workers=[worker], model=Scripted(responses=[]))
    >>> sorted(builder.compile().get_graph().nodes)
    ['__end__', '__start__', 'coder', 'supervisor']
    >>> maas.close()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode

from maas_langchain.adapters.langgraph.handoff_tools import (
    HANDOFF_KEY,
    OUTCOMES_KEY,
    HandoffTicket,
    SupervisorState,
    check_node_name,
    create_handoff_tool,
)
from maas_langchain.adapters.langgraph.supervisor_worker import (
    MaaSWorker,
    MaaSWorkerNode,
    RecalledMemory,
    WorkerOutput,
    WorkerTask,
    maas_worker_node,
)
from maas_langchain.errors import InvalidInputError

if TYPE_CHECKING:
    from maas_langchain.maas import MaaS

__all__ = [
    "HANDOFF_KEY",
    "OUTCOMES_KEY",
    "HandoffTicket",
    "MaaSWorker",
    "MaaSWorkerNode",
    "RecalledMemory",
    "SupervisorState",
    "WorkerOutput",
    "WorkerTask",
    "create_handoff_tool",
    "create_maas_supervisor",
    "create_supervisor_agent",
    "maas_worker_node",
]


class _SupervisorOutput(TypedDict):
    """The supervisor subgraph hands only its messages back to the parent graph (the other keys
    have accumulating reducers and would be applied twice)."""

    messages: Annotated[list[AnyMessage], add_messages]


def _default_prompt(workers: Sequence[MaaSWorker]) -> str:
    lines = [f"- {w.name}: {w.description or 'a worker agent'}" for w in workers]
    return (
        "You are a supervisor. Hand each task to the best worker with its transfer_to_<name> tool, "
        "describing the task completely; several calls in one turn run the workers in parallel. "
        "Workers report back here. When the work is done, answer without calling a tool.\n"
        "Workers:\n" + "\n".join(lines)
    )


def create_supervisor_agent(
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    *,
    name: str = "supervisor",
    prompt: str | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The supervisor node: a model that calls tools in a loop, as a compiled subgraph.

    All tool calls of one model turn run in a single ``ToolNode`` call, so several handoffs
    merge into one parallel ``Send`` (LangChain's ``create_agent`` dispatches each call as its
    own task, which keeps only the first handoff of a parallel turn).

    Args:
        model: A chat model supporting ``bind_tools``.
        tools: The handoff tools (and any others the supervisor may call).
        name: The node name; the model's messages carry it as ``name``.
        prompt: A system message put before the conversation on every call.
    """
    bound = model.bind_tools(list(tools))

    def call_model(state: SupervisorState, config: RunnableConfig) -> dict[str, Any]:
        messages: list[AnyMessage] = list(state["messages"])
        reply = bound.invoke([SystemMessage(prompt), *messages] if prompt else messages, config)
        if isinstance(reply, AIMessage) and not reply.name:
            reply = reply.model_copy(update={"name": name})
        return {"messages": [reply]}

    def route(state: SupervisorState) -> str:
        last = state["messages"][-1] if state["messages"] else None
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else END

    builder = StateGraph(SupervisorState, output_schema=_SupervisorOutput)
    builder.add_node("model", call_model)
    builder.add_node("tools", ToolNode(list(tools)))
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route, ["tools", END])
    builder.add_edge("tools", "model")
    return builder.compile(name=name)


def create_maas_supervisor(
    maas: MaaS,
    *,
    supervisor_id: str,
    workers: Sequence[MaaSWorker],
    model: BaseChatModel,
    prompt: str | None = None,
    supervisor_name: str = "supervisor",
    ttl_seconds: float | None = None,
) -> StateGraph[Any, Any, Any, Any]:
    """A supervisor graph whose handoffs are MaaS handoffs; call ``.compile()`` on the result.

    Args:
        maas: The open instance that records handoffs, memories and the audit trail.
        supervisor_id: The supervisor's registered agent id (needs HANDOFF_INITIATE).
        workers: The workers; each name becomes a node and a ``transfer_to_<name>`` tool.
        model: The supervisor's chat model (must support ``bind_tools``).
        prompt: The supervisor's system prompt (default: lists the workers).
        supervisor_name: The supervisor's node name.
        ttl_seconds: TTL of each handoff (default: ``limits.default_handoff_ttl_seconds``).

    Returns:
        An uncompiled ``StateGraph`` over :class:`SupervisorState`; compile it with the
        checkpointer, store or ``interrupt_before`` you need.

    Raises:
        InvalidInputError: No workers, malformed or duplicate names.
        NotFoundError: ``supervisor_id`` or a worker's ``agent_id`` is not registered.
    """
    check_node_name(supervisor_name, "supervisor_name")
    if not workers:
        raise InvalidInputError("a supervisor needs at least one worker", field="workers")
    names = [w.name for w in workers]
    if len(set(names)) != len(names) or supervisor_name in names:
        raise InvalidInputError(f"worker names must be unique and differ from {supervisor_name!r}", field="workers")
    maas.agents.require_agent(supervisor_id)
    nodes = [MaaSWorkerNode(maas, w) for w in workers]  # checks names and worker ids
    tools = [
        create_handoff_tool(
            maas,
            source_id=supervisor_id,
            target_id=w.agent_id,
            agent_name=w.name,
            description=f"Hand a task to {w.name}" + (f": {w.description}" if w.description else "."),
            ttl_seconds=ttl_seconds,
        )
        for w in workers
    ]
    supervisor = create_supervisor_agent(
        model, tools, name=supervisor_name, prompt=prompt if prompt is not None else _default_prompt(workers)
    )
    builder = StateGraph(SupervisorState)
    builder.add_node(supervisor_name, supervisor, destinations=tuple(names))
    for node in nodes:
        builder.add_node(node.name, node)
        builder.add_edge(node.name, supervisor_name)
    builder.add_edge(START, supervisor_name)
    return builder
