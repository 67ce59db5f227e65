"""The REST API's console operations: the read-only views the web console (``/console``) is built on.

Like :data:`~maas_langchain.adapters.rest.specs.REST_SPECS` they are
:class:`~maas_langchain.adapters.tools.registry.ToolSpec` objects run by the same
:func:`~maas_langchain.adapters.tools.registry.execute` (validation, one audit row per refusal)
and not published as tools. Each acts as the key's agent through
:class:`~maas_langchain.core.console.ConsoleViews`, which asks the access module what that
agent may see; this module only shapes JSON.

* ``overview`` — the agent, counts (agents of its owner, pools, open handoffs, memories at or
  below its scope), the backend, and for HUMAN agents the audit chain's verification.
* ``list_pools`` / ``pool_members`` — pools it is a member of (a HUMAN agent: also its owner's),
  and their members; another pool is ``not_found``, as an unknown id.
* ``memory_readers`` — who can read a memory the agent can read itself ("who can see this?"):
  agents of its owner by id with the reason, others only counted.
* ``list_handoffs`` / ``handoff_timeline`` — its handoffs (a HUMAN agent: its owner's agents'),
  newest first, and what happened to one (its audit entries).
* ``memory_scopes`` — every scope at or below one, with how many memories each holds.
"""

from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from maas_langchain.adapters.rest.specs import AuditVerifyArgs, Cursor, rest_spec
from maas_langchain.adapters.tools.registry import ToolContext, ToolSpec
from maas_langchain.adapters.tools.specs_common import Args, Id, ScopeDict, agent_json, handoff_json, pool_json
from maas_langchain.core.console import MAX_HANDOFF_PAGE, ConsoleViews

if TYPE_CHECKING:
    from maas_langchain.maas import MaaS

__all__ = [
    "CONSOLE_SPECS",
    "HandoffTimelineArgs",
    "ListHandoffsArgs",
    "ListPoolsArgs",
    "MemoryReadersArgs",
    "MemoryScopesArgs",
    "OverviewArgs",
    "PoolMembersArgs",
    "console_views",
]


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


HandoffStatusName = Annotated[
    Literal["pending", "accepted", "completed", "rejected", "expired", "cancelled"], BeforeValidator(_lower)
]
HandoffRole = Annotated[Literal["source", "target", "any"], BeforeValidator(_lower)]

_VIEWS: weakref.WeakKeyDictionary[Any, ConsoleViews] = weakref.WeakKeyDictionary()


def console_views(maas: MaaS) -> ConsoleViews:
    """The console views of ``maas`` (cached per instance)."""
    found = _VIEWS.get(maas)
    if found is None:
        found = _VIEWS[maas] = ConsoleViews(maas.runtime, maas.memories.hierarchy)
    return found


class OverviewArgs(Args):
    """Arguments of ``overview`` (none)."""


class ListPoolsArgs(Args):
    """Arguments of ``list_pools`` (none)."""


class PoolMembersArgs(Args):
    """Arguments of ``pool_members``."""

    pool_id: Id = Field(description="A pool you are a member of (a HUMAN agent: or one its owner owns).")


class MemoryReadersArgs(Args):
    """Arguments of ``memory_readers``."""

    memory_id: Id = Field(description="A memory you may read.")


class ListHandoffsArgs(Args):
    """Arguments of ``list_handoffs``."""

    role: HandoffRole = Field(default="any", description="source: handoffs you sent; target: sent to you; any.")
    status: HandoffStatusName | None = Field(default=None, description="Only handoffs in this status.")
    limit: int = Field(default=100, ge=1, le=MAX_HANDOFF_PAGE, description="Page size.")
    cursor: Cursor | None = Field(default=None, description="next_cursor of the previous page.")


class HandoffTimelineArgs(Args):
    """Arguments of ``handoff_timeline``."""

    handoff_id: Id = Field(description="A handoff you are a party of (a HUMAN agent: or one of its owner's agents).")


class MemoryScopesArgs(Args):
    """Arguments of ``memory_scopes``."""

    scope: ScopeDict | None = Field(
        default=None, description="Where the tree starts (default: your own scope); granted as for recall."
    )


_VERIFY_REUSE_SECONDS = 30.0
"""The overview reuses an instance's audit-chain verification this long (verifying is linear in
the log's length; the audit page's "Verify chain", ``GET /v1/audit/verify``, always runs anew)."""

_VERIFIED: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _chain_status(ctx: ToolContext) -> dict[str, Any]:
    """The overview's audit block: a verification at most 30 s old."""
    cached = _VERIFIED.get(ctx.maas)
    now = time.time()
    if cached is None or now - cached["verified_at"] > _VERIFY_REUSE_SECONDS:
        report = rest_spec("audit_verify").handler(ctx, AuditVerifyArgs())  # checks the HUMAN rule too
        cached = {key: report[key] for key in ("intact", "checked", "problems", "last_anchor")}
        cached["entries"] = ctx.maas.audit.count()
        cached["verified_at"] = now
        _VERIFIED[ctx.maas] = cached
    return dict(cached)


def _overview(ctx: ToolContext, args: OverviewArgs) -> dict[str, Any]:
    view = console_views(ctx.maas).overview(ctx.agent_id, ctx.scope_floor)
    audit = None
    if view.auditor:
        audit = _chain_status(ctx)
    counts = {
        "agents": view.agents,
        "pools": view.pools,
        "open_handoffs": view.open_handoffs,
        "memories": view.memories,
        "memories_capped": view.memories_capped,
    }
    health = {"backend": ctx.maas.backend.name, "ok": True}
    return {"agent": agent_json(view.agent), "counts": counts, "health": health, "audit": audit}


def _list_pools(ctx: ToolContext, args: ListPoolsArgs) -> dict[str, Any]:
    items = [
        {
            **pool_json(v.pool),
            "your_permission": None if v.permission is None else v.permission.value,
            "members": v.members,
        }
        for v in console_views(ctx.maas).pools(ctx.agent_id)
    ]
    return {"items": items}


def _pool_members(ctx: ToolContext, args: PoolMembersArgs) -> dict[str, Any]:
    pool, members = console_views(ctx.maas).pool_members(ctx.agent_id, args.pool_id)
    items = [
        {
            "agent_id": m.membership.agent_id,
            "name": None if m.agent is None else m.agent.name,
            "agent_type": None if m.agent is None else m.agent.agent_type.value,
            "permission": m.membership.permission.value,
            "joined_at": m.membership.joined_at,
            "active": m.agent is not None and m.agent.active,
        }
        for m in members
    ]
    return {"pool_id": pool.pool_id, "items": items}


def _memory_readers(ctx: ToolContext, args: MemoryReadersArgs) -> dict[str, Any]:
    found = console_views(ctx.maas).readers(ctx.agent_id, args.memory_id, ctx.scope_floor)
    readers = [
        {"agent_id": a.agent_id, "name": a.name, "agent_type": a.agent_type.value, "reason": reason}
        for a, reason in found.readers
    ]
    memory = found.memory
    return {
        "memory_id": memory.memory_id,
        "scope": dict(memory.scope),
        "status": memory.status.value,
        "readers": readers,
        "other_owners": found.other_owners,
    }


def _list_handoffs(ctx: ToolContext, args: ListHandoffsArgs) -> dict[str, Any]:
    page = console_views(ctx.maas).handoffs(
        ctx.agent_id,
        role=args.role,
        status=args.status,
        limit=args.limit,
        after=0 if args.cursor is None else int(args.cursor),
    )
    return {
        "items": [handoff_json(h) for h in page.handoffs],
        "next_cursor": None if page.next is None else str(page.next),
    }


def _handoff_timeline(ctx: ToolContext, args: HandoffTimelineArgs) -> dict[str, Any]:
    found = console_views(ctx.maas).timeline(ctx.agent_id, args.handoff_id)
    events = [
        {"at": e.at, "action": e.action, "actor": e.actor, "outcome": e.outcome, "reason": e.reason}
        for e in found.events
    ]
    return {"handoff": handoff_json(found.handoff), "events": events}


def _memory_scopes(ctx: ToolContext, args: MemoryScopesArgs) -> dict[str, Any]:
    found = console_views(ctx.maas).scope_counts(ctx.agent_id, args.scope, ctx.scope_floor)
    return {
        "scope": found.scope,
        "items": [{"scope": scope, "count": count} for scope, count in found.counts],
        "truncated": found.truncated,
    }


def _spec(name: str, description: str, args: type[Args], handler: Any) -> ToolSpec:
    return ToolSpec(name, description, args, handler, tags=("rest", "console"))


CONSOLE_SPECS: list[ToolSpec] = [
    _spec(
        "overview",
        "Your agent, counts of what it may see, the backend, and (HUMAN agents) the audit chain's state.",
        OverviewArgs,
        _overview,
    ),
    _spec(
        "list_pools",
        "Pools you are a member of (a HUMAN agent: also its owner's), with your permission and member counts.",
        ListPoolsArgs,
        _list_pools,
    ),
    _spec("pool_members", "A pool's members and their permissions.", PoolMembersArgs, _pool_members),
    _spec(
        "memory_readers",
        "Who can read a memory you can read: agents of your owner with the reason, others counted.",
        MemoryReadersArgs,
        _memory_readers,
    ),
    _spec(
        "list_handoffs",
        "Your handoffs (a HUMAN agent: its owner's agents'), newest first, paged.",
        ListHandoffsArgs,
        _list_handoffs,
    ),
    _spec(
        "handoff_timeline",
        "A handoff and what happened to it, from the audit log.",
        HandoffTimelineArgs,
        _handoff_timeline,
    ),
    _spec(
        "memory_scopes",
        "Every scope at or below one that holds memories you may see, with how many.",
        MemoryScopesArgs,
        _memory_scopes,
    ),
]
"""Every console operation."""
