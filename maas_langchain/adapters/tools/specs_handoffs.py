"""Handoff tools: the specification's four, plus ``reject_handoff``, ``cancel_handoff``, ``get_handoff``.

The acting agent is the bound one: ``source_id`` of ``initiate_handoff`` and ``agent_id`` of
the others default to it and refuse any other value. Only the target accepts, rejects and
completes; only the source cancels (the core's rules, with its own sentences on denial).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from maas_langchain.adapters.tools.registry import ToolContext, ToolSpec
from maas_langchain.adapters.tools.specs_common import Args, Id, acting_agent, handoff_json, services
from maas_langchain.core.enums import AuditEventType
from maas_langchain.core.records import HandoffContext
from maas_langchain.errors import NotFoundError

__all__ = [
    "HANDOFF_TOOLS",
    "AcceptHandoffArgs",
    "CancelHandoffArgs",
    "CompleteHandoffArgs",
    "EXTRA_HANDOFF_TOOLS",
    "GetHandoffArgs",
    "GetPendingHandoffsArgs",
    "HandoffContextArgs",
    "InitiateHandoffArgs",
    "RejectHandoffArgs",
]

_HANDOFF = AuditEventType.HANDOFF
_YOU = "Your own agent id; leave it out (any other agent's id is refused)."

MemoryId = Annotated[str, Field(min_length=1, max_length=512)]
FilePath = Annotated[str, Field(min_length=1, max_length=1024)]


class HandoffContextArgs(Args):
    """What the target needs to continue the task."""

    task_description: str = Field(
        min_length=1, max_length=8_000, description="What the target agent should do, in a few sentences."
    )
    current_state: dict[str, Any] = Field(
        default_factory=dict,
        description='Progress so far as JSON, e.g. {"completed": ["backend API"], "blocked_on": "form validation"}.',
    )
    relevant_memories: list[MemoryId] = Field(
        default_factory=list,
        max_length=100,
        description="Ids of shared memories the target may read while the handoff is open.",
    )
    relevant_files: list[FilePath] = Field(
        default_factory=list, max_length=200, description="Paths the target should look at."
    )
    notes: dict[str, Any] = Field(default_factory=dict, description="Any other JSON facts for the target.")


class InitiateHandoffArgs(Args):
    """Arguments of ``initiate_handoff``."""

    target_id: Id = Field(description="The agent to hand the task to (find ids with get_agents_for_user).")
    context: HandoffContextArgs = Field(description="The task and what the target needs to continue it.")
    source_id: Id | None = Field(default=None, description=_YOU)
    ttl_seconds: float | None = Field(
        default=None, gt=0, le=30 * 24 * 3600, description="Seconds until the handoff expires (default 3600)."
    )


class AcceptHandoffArgs(Args):
    """Arguments of ``accept_handoff``."""

    handoff_id: Id = Field(description="A PENDING handoff addressed to you (see get_pending_handoffs).")
    agent_id: Id | None = Field(default=None, description=_YOU)


class CompleteHandoffArgs(Args):
    """Arguments of ``complete_handoff``."""

    handoff_id: Id = Field(description="A handoff you ACCEPTED.")
    agent_id: Id | None = Field(default=None, description=_YOU)
    result: dict[str, Any] = Field(
        default_factory=dict,
        description='The outcome as JSON, e.g. {"status": "success", "files_modified": ["Login.tsx"]}.',
    )


class GetPendingHandoffsArgs(Args):
    """Arguments of ``get_pending_handoffs``."""

    agent_id: Id | None = Field(default=None, description=_YOU)


class RejectHandoffArgs(Args):
    """Arguments of ``reject_handoff``."""

    handoff_id: Id = Field(description="A PENDING or ACCEPTED handoff addressed to you.")
    agent_id: Id | None = Field(default=None, description=_YOU)
    reason: str | None = Field(default=None, max_length=2_000, description="Why you decline, for the source.")


class CancelHandoffArgs(Args):
    """Arguments of ``cancel_handoff``."""

    handoff_id: Id = Field(description="An open handoff you initiated.")
    agent_id: Id | None = Field(default=None, description=_YOU)
    reason: str | None = Field(default=None, max_length=2_000, description="Why you withdraw it.")


class GetHandoffArgs(Args):
    """Arguments of ``get_handoff``."""

    handoff_id: Id = Field(description="A handoff you initiated or received.")


def _initiate(ctx: ToolContext, args: InitiateHandoffArgs) -> dict[str, Any]:
    source = acting_agent(ctx, args.source_id, "source_id", "initiate handoffs", event=_HANDOFF)
    svc = services(ctx.maas)
    context = HandoffContext.from_dict(args.context.model_dump())
    handoff_id = svc.handoffs.initiate_handoff(source, args.target_id, context, args.ttl_seconds)
    assert handoff_id is not None  # the strict service raises on a denial
    return _load(ctx, handoff_id, source)


def _load(ctx: ToolContext, handoff_id: str, agent_id: str) -> dict[str, Any]:
    handoff = services(ctx.maas).handoffs.get_handoff(handoff_id, agent_id)
    if handoff is None:
        raise NotFoundError(f"no handoff with id {handoff_id}", handoff_id=handoff_id)
    return handoff_json(handoff)


def _accept(ctx: ToolContext, args: AcceptHandoffArgs) -> dict[str, Any]:
    agent = acting_agent(ctx, args.agent_id, "agent_id", "accept handoffs", event=_HANDOFF)
    services(ctx.maas).handoffs.accept_handoff(args.handoff_id, agent)
    return _load(ctx, args.handoff_id, agent)


def _complete(ctx: ToolContext, args: CompleteHandoffArgs) -> dict[str, Any]:
    agent = acting_agent(ctx, args.agent_id, "agent_id", "complete handoffs", event=_HANDOFF)
    services(ctx.maas).handoffs.complete_handoff(args.handoff_id, agent, args.result)
    return _load(ctx, args.handoff_id, agent)


def _pending(ctx: ToolContext, args: GetPendingHandoffsArgs) -> dict[str, Any]:
    agent = acting_agent(ctx, args.agent_id, "agent_id", "list pending handoffs", event=_HANDOFF)
    found = services(ctx.maas).handoffs.get_pending_handoffs(agent)
    return {"agent_id": agent, "handoffs": [handoff_json(h) for h in found]}


def _reject(ctx: ToolContext, args: RejectHandoffArgs) -> dict[str, Any]:
    agent = acting_agent(ctx, args.agent_id, "agent_id", "reject handoffs", event=_HANDOFF)
    services(ctx.maas).handoffs.reject_handoff(args.handoff_id, agent, args.reason)
    return _load(ctx, args.handoff_id, agent)


def _cancel(ctx: ToolContext, args: CancelHandoffArgs) -> dict[str, Any]:
    agent = acting_agent(ctx, args.agent_id, "agent_id", "cancel handoffs", event=_HANDOFF)
    services(ctx.maas).handoffs.cancel_handoff(args.handoff_id, agent, args.reason)
    return _load(ctx, args.handoff_id, agent)


def _get(ctx: ToolContext, args: GetHandoffArgs) -> dict[str, Any]:
    return _load(ctx, args.handoff_id, ctx.agent_id)


def _spec(name: str, description: str, args: type[Args], handler: Any, *, writes: bool = True) -> ToolSpec:
    return ToolSpec(name, description, args, handler, writes=writes, tags=("handoffs",))


HANDOFF_TOOLS = [
    _spec(
        "initiate_handoff",
        "Hand a task you cannot finish to another agent: describe the task, your progress, relevant "
        "shared memory ids and files. Returns the handoff (status PENDING) with its handoff_id; the "
        "target must accept it before it expires.",
        InitiateHandoffArgs,
        _initiate,
    ),
    _spec(
        "accept_handoff",
        "Accept a PENDING handoff addressed to you; you then own the task until you complete or reject it.",
        AcceptHandoffArgs,
        _accept,
    ),
    _spec(
        "complete_handoff",
        "Finish a handoff you accepted, with a JSON result for the agent that handed it to you.",
        CompleteHandoffArgs,
        _complete,
    ),
    _spec(
        "get_pending_handoffs",
        "List the PENDING, unexpired handoffs waiting for you (oldest first), with their task context.",
        GetPendingHandoffsArgs,
        _pending,
        writes=False,
    ),
]
"""The specification's handoff tools."""

EXTRA_HANDOFF_TOOLS = [
    _spec(
        "reject_handoff",
        "Decline a handoff addressed to you (PENDING or ACCEPTED), with a reason for the source.",
        RejectHandoffArgs,
        _reject,
    ),
    _spec(
        "cancel_handoff",
        "Withdraw an open handoff you initiated (for example when the target is wrong or the task is moot).",
        CancelHandoffArgs,
        _cancel,
    ),
    _spec(
        "get_handoff",
        "Read one handoff you initiated or received: status, context, timeline and result.",
        GetHandoffArgs,
        _get,
        writes=False,
    ),
]
"""Handoff tools beyond the specification's fifteen."""
