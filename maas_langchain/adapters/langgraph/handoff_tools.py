"""Handoff tools: a supervisor's tool call records a MaaS handoff and routes to the worker node.

:func:`create_handoff_tool` builds a LangChain tool a supervisor model calls with a task. The
tool calls :meth:`HandoffManager.initiate_handoff <maas_langchain.core.handoffs.HandoffManager.initiate_handoff>`
as the supervisor agent fixed when the tool is built (capabilities, capacity, TTL and audit all
apply) and answers with LangGraph's handoff ``Command``:

* one handoff in the turn: ``Command(goto=<worker node>, graph=Command.PARENT, update=...)``
  whose update carries the supervisor's messages, the tool's ``ToolMessage`` and the ticket
  (``state["maas_handoff"]``: the handoff id the worker node will run);
* several handoffs in one turn: ``Command(graph=Command.PARENT, goto=[Send(<worker node>, ...)])``
  per call; LangGraph's ``ToolNode`` merges them into one command, so the workers run in
  parallel, each with its own handoff record and its own message history.

A denial or any MaaS error is returned to the model as an error ``ToolMessage`` with the stable
code (``{"ok": false, "error": {"code": "permission_denied", ...}}``); in a parallel turn the
error travels in the ticket to the worker node, which reports it back without running.

Example:
    >>> from maas_langchain import MaaS, AgentType
    >>> maas = MaaS.open(":memory:", sweep_interval=None)
    >>> boss = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    >>> coder = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1")
    >>> create_handoff_tool(maas, source_id=boss, target_id=coder, agent_name="coder").name
    'transfer_to_coder'
    >>> maas.close()
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.tools import BaseTool, InjectedToolCallId, tool
from langgraph.graph import MessagesState
from langgraph.prebuilt import InjectedState
from langgraph.types import Command, Send

from maas_langchain.core.handoffs import HandoffManager
from maas_langchain.core.records import HandoffContext
from maas_langchain.core.runtime import Runtime
from maas_langchain.errors import InvalidInputError, MaaSError

if TYPE_CHECKING:
    from maas_langchain.maas import MaaS

__all__ = [
    "HANDOFF_KEY",
    "OUTCOMES_KEY",
    "HandoffTicket",
    "SupervisorState",
    "create_handoff_tool",
    "error_payload",
    "strict_handoffs",
]

HANDOFF_KEY = "maas_handoff"
"""State key of the ticket a handoff tool leaves for the worker node it routes to."""

OUTCOMES_KEY = "maas_handoffs"
"""State key of the outcomes the worker nodes report: handoff id -> status, worker, result ids."""

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_WHITESPACE_RE = re.compile(r"\s+")


class HandoffTicket(TypedDict):
    """What a handoff tool hands the worker node: the handoff to run, or why there is none.

    Attributes:
        handoff_id: The handoff MaaS recorded, or None when initiating it failed.
        worker: The worker node the ticket is for.
        tool_call_id: The supervisor's tool call that created it.
        error: ``{"code", "message"}`` when initiating failed (parallel turns only).
    """

    handoff_id: str | None
    worker: str
    tool_call_id: str
    error: dict[str, Any] | None


def _latest(_old: Any, new: Any) -> Any:
    """Reducer: the last write wins (several parallel workers may clear the ticket at once)."""
    return new


def _merge(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: merge outcome dicts by handoff id (idempotent when the same dict arrives twice)."""
    return {**(old or {}), **(new or {})}


class SupervisorState(MessagesState):
    """The state of a MaaS supervisor graph: messages, the pending ticket and handoff outcomes."""

    maas_handoff: Annotated[HandoffTicket | None, _latest]
    maas_handoffs: Annotated[dict[str, dict[str, Any]], _merge]


def strict_handoffs(maas: MaaS) -> HandoffManager:
    """A handoff manager on ``maas``'s backend that raises denials instead of returning None.

    The graph adapters need the reason of a denial to tell the model; the checks, audit and
    limits are the same service's.
    """
    rt = maas.runtime
    return HandoffManager(Runtime(rt.backend, rt.limits, rt.clock, audit=rt.audit_enabled, raise_on_denial=True))


def error_payload(exc: MaaSError) -> dict[str, Any]:
    """The error a model reads: ``{"ok": False, "error": {"code": ..., "message": ...}}``."""
    return {"ok": False, "error": {"code": exc.code, "message": exc.message}}


def check_node_name(name: Any, field: str) -> str:
    """A worker or supervisor node name: 1-64 letters, digits, ``_`` or ``-`` (tool-name safe)."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or name.startswith("__"):
        raise InvalidInputError(
            f"{field} must be 1-64 letters, digits, '_' or '-' (not starting with '__'), got {name!r}", field=field
        )
    return name


def _default_tool_name(agent_name: str) -> str:
    return "transfer_to_" + _WHITESPACE_RE.sub("_", agent_name.strip()).lower()


def _only_call(message: AIMessage, tool_call_id: str) -> AIMessage:
    """A copy of the supervisor's message keeping only one tool call, so each parallel
    worker's history is valid (every tool call answered by a tool message)."""
    return AIMessage(
        content=message.content if isinstance(message.content, str) else "",
        tool_calls=[c for c in message.tool_calls if c["id"] == tool_call_id],
        name=message.name,
        id=str(uuid.uuid4()),
    )


def _route(
    state: Mapping[str, Any], reply: ToolMessage, ticket: HandoffTicket, single: bool
) -> Command[Any] | ToolMessage:
    """The ``Command`` for one handoff call (or the bare reply for a lone failed call)."""
    messages: list[AnyMessage] = list(state.get("messages", []))
    if single:
        if ticket["handoff_id"] is None:
            return reply  # the supervisor reads the error and carries on in its own loop
        update = {"messages": [*messages, reply], HANDOFF_KEY: ticket}
        return Command(goto=ticket["worker"], graph=Command.PARENT, update=update)
    last = messages[-1] if messages else None
    history = messages[:-1] + ([_only_call(last, ticket["tool_call_id"])] if isinstance(last, AIMessage) else [])
    payload = {**state, "messages": [*history, reply], HANDOFF_KEY: ticket}
    return Command(graph=Command.PARENT, goto=[Send(ticket["worker"], payload)])


def _calls_in_turn(state: Mapping[str, Any]) -> int:
    messages: Sequence[Any] = state.get("messages", [])
    last = messages[-1] if messages else None
    return len(last.tool_calls) if isinstance(last, AIMessage) else 1


def create_handoff_tool(
    maas: MaaS,
    *,
    source_id: str,
    target_id: str,
    agent_name: str,
    name: str | None = None,
    description: str | None = None,
    ttl_seconds: float | None = None,
) -> BaseTool:
    """A tool that hands a task from ``source_id`` to ``target_id`` and routes to ``agent_name``.

    Both identities are fixed here, when the graph is built; nothing a model writes can change
    who hands off to whom. The model supplies only the task (and optionally the ids of memories
    the worker may read for the handoff's lifetime).

    Args:
        maas: The open instance that records the handoff.
        source_id: The supervisor's agent id (needs HANDOFF_INITIATE).
        target_id: The worker's agent id (needs HANDOFF_RECEIVE).
        agent_name: The worker's node name in the graph.
        name: The tool name (default ``transfer_to_<agent_name>``).
        description: What the model reads (default: ask ``agent_name`` to do a task).
        ttl_seconds: How long the worker has to accept and complete it (default:
            ``limits.default_handoff_ttl_seconds``).

    Raises:
        InvalidInputError: A malformed node or tool name.
    """
    node = check_node_name(agent_name, "agent_name")
    tool_name = check_node_name(name or _default_tool_name(node), "name")
    about = description or (
        f"Hand a task to the worker '{node}'. Describe the task completely: the worker sees only "
        "this description and the shared memories relevant to it."
    )
    manager = strict_handoffs(maas)

    @tool(tool_name, description=about)
    def handoff(
        task: Annotated[str, "The complete task for the worker, with all the context it needs."],
        state: Annotated[dict[str, Any], InjectedState],
        tool_call_id: Annotated[str, InjectedToolCallId],
        memory_ids: Annotated[
            list[str] | None, "Ids of memories the worker may read while the handoff is open."
        ] = None,
    ) -> Command[Any] | ToolMessage:
        notes = {"worker": node, "tool_call_id": tool_call_id}
        ticket = HandoffTicket(handoff_id=None, worker=node, tool_call_id=tool_call_id, error=None)
        try:
            context = HandoffContext(task_description=task, relevant_memories=list(memory_ids or []), notes=notes)
            ticket["handoff_id"] = manager.initiate_handoff(source_id, target_id, context, ttl_seconds)
            body: dict[str, Any] = {"ok": True, "handoff_id": ticket["handoff_id"], "worker": node}
        except MaaSError as exc:
            body = error_payload(exc)
            ticket["error"] = body["error"]
        reply = ToolMessage(
            content=json.dumps(body),
            name=tool_name,
            tool_call_id=tool_call_id,
            status="success" if body["ok"] else "error",
            response_metadata={"maas_handoff_id": ticket["handoff_id"], "maas_worker": node},
        )
        return _route(state, reply, ticket, single=_calls_in_turn(state) <= 1)

    handoff.metadata = {"maas_handoff_target": node, "maas_target_agent_id": target_id}
    return handoff
