"""The REST API's operations beyond the tool registry: sessions, memories by id, the audit log.

They are :class:`~maas_langchain.adapters.tools.registry.ToolSpec` objects like every tool, run
by the same :func:`~maas_langchain.adapters.tools.registry.execute` (validation, read-only keys,
one audit row per refusal), but they are not published as tools: a model does not need sessions
(the toolkit binds its scope) and never reads the audit log.

Every operation acts as the key's agent:

* **sessions** are rows bound to the agent that opened them; another agent (even of the same
  owner) gets ``not_found``, exactly as for an unknown id. A session's scope must be one the
  agent may recall from (:func:`~maas_langchain.core.access.memory_grant`); each remember is
  checked again with ``write=True``, so a session at an ancestor scope can read but a write
  there still needs the grant (it has it: sharing upwards is allowed).
* **memories** by id: ``get`` answers ``not_found`` for a memory the agent may not read (never
  "forbidden", which would confirm the id exists); ``forget`` is its author's or needs
  MEMORY_DELETE; ``history`` lists every status at a scope.
* **audit**: HUMAN agents only (:func:`~maas_langchain.core.access.require_auditor`), and they
  see the entries of their own owner's agents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from maas_langchain.adapters.tools.registry import ToolContext, ToolSpec
from maas_langchain.adapters.tools.specs_common import Args, Id, ScopeDict, jsonable, memory_json, services
from maas_langchain.adapters.tools.specs_memory import RecallArgs, RememberArgs
from maas_langchain.adapters.tools.specs_structured import GetStateArgs, ProfileArgs, ReflectArgs
from maas_langchain.core.access import audit_actors
from maas_langchain.core.enums import AuditEventType
from maas_langchain.core.memory_types import MemoryInput
from maas_langchain.core.records import MemorySession
from maas_langchain.errors import MaaSError, NotFoundError

__all__ = [
    "AuditQueryArgs",
    "AuditVerifyArgs",
    "CloseSessionArgs",
    "CreateSessionArgs",
    "ForgetMemoryArgs",
    "GetMemoryArgs",
    "GetSessionArgs",
    "MemoryHistoryArgs",
    "REST_SPECS",
    "SessionGetStateArgs",
    "SessionProfileArgs",
    "SessionRecallArgs",
    "SessionReflectArgs",
    "SessionRememberArgs",
    "SessionMemoryItem",
    "SessionRememberManyArgs",
    "rest_spec",
]

_OP = AuditEventType.MEMORY_OPERATION
Cursor = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9]+$")]
"""An opaque page cursor: the ``next_cursor`` of the previous page."""


def _same(model: type[Args], name: str) -> Any:
    """The field ``name`` of ``model``, reused as is (one definition of its type and limits)."""
    return model.model_fields[name]


class CreateSessionArgs(Args):
    """Arguments of ``create_session``."""

    scope: ScopeDict = Field(description='The session\'s scope, e.g. {"org": "acme", "project": "q3"}.')


class GetSessionArgs(Args):
    """Arguments of ``get_session``."""

    session_id: Id = Field(description="A session your agent opened.")


class CloseSessionArgs(GetSessionArgs):
    """Arguments of ``close_session``."""


class SessionRememberArgs(Args):
    """Arguments of ``session_remember`` (the session's scope; no scope argument)."""

    session_id: Id = Field(description="A session your agent opened.")
    content: str = _same(RememberArgs, "content")
    memory_category: str = _same(RememberArgs, "category")
    metadata: dict[Annotated[str, Field(max_length=64)], str | int | float | bool | None] | None = _same(
        RememberArgs, "metadata"
    )
    supersedes: Id | None = Field(default=None, description="A memory this one replaces (it becomes SUPERSEDED).")


class SessionMemoryItem(Args):
    """One memory of ``session_remember_many``."""

    content: str = _same(RememberArgs, "content")
    memory_category: str = _same(RememberArgs, "category")
    metadata: dict[Annotated[str, Field(max_length=64)], str | int | float | bool | None] | None = _same(
        RememberArgs, "metadata"
    )


class SessionRememberManyArgs(Args):
    """Arguments of ``session_remember_many``: all stored in one transaction, or none."""

    session_id: Id = Field(description="A session your agent opened.")
    items: list[SessionMemoryItem] = Field(min_length=1, max_length=100, description="The memories to store, in order.")


class SessionRecallArgs(Args):
    """Arguments of ``session_recall``."""

    session_id: Id = Field(description="A session your agent opened.")
    query: str = _same(RecallArgs, "query")
    top_k: int = _same(RecallArgs, "top_k")
    as_of: datetime | None = Field(default=None, description="ISO 8601 time: recall what was current then.")


class SessionReflectArgs(Args):
    """Arguments of ``session_reflect``."""

    session_id: Id = Field(description="A session your agent opened.")
    query: str = _same(ReflectArgs, "query")
    persist: bool = _same(ReflectArgs, "persist")
    top_k: int = _same(ReflectArgs, "top_k")


class SessionProfileArgs(Args):
    """Arguments of ``session_profile``."""

    session_id: Id = Field(description="A session your agent opened.")
    per_category: int = _same(ProfileArgs, "per_category")


class SessionGetStateArgs(Args):
    """Arguments of ``session_get_state`` (default scope: the session's)."""

    session_id: Id = Field(description="A session your agent opened.")
    scope: ScopeDict | None = _same(GetStateArgs, "scope")
    entity: str | None = _same(GetStateArgs, "entity")
    as_of: datetime | None = _same(GetStateArgs, "as_of")
    history: bool = _same(GetStateArgs, "history")


class GetMemoryArgs(Args):
    """Arguments of ``get_memory``."""

    memory_id: Id = Field(description="A memory you may read.")


class ForgetMemoryArgs(GetMemoryArgs):
    """Arguments of ``forget_memory``."""


class MemoryHistoryArgs(Args):
    """Arguments of ``memory_history``: every memory visible at a scope, any status, oldest first."""

    scope: ScopeDict | None = Field(default=None, description="Default: your own scope.")
    descendants: bool = Field(
        default=True,
        description="False: leave out the memories of scopes below it (the scope's own memories and "
        "what it inherits from its ancestors).",
    )
    limit: int = Field(default=100, ge=1, le=1_000, description="Page size.")
    cursor: Cursor | None = Field(default=None, description="next_cursor of the previous page.")


class AuditQueryArgs(Args):
    """Arguments of ``audit_query`` (HUMAN agents; entries of their owner's agents)."""

    event_type: str | None = Field(default=None, max_length=64, description="e.g. permission_denied.")
    action: str | None = Field(default=None, max_length=128)
    actor: str | None = Field(default=None, max_length=256)
    target: str | None = Field(default=None, max_length=256)
    outcome: str | None = Field(default=None, max_length=64, description="success, denied, quarantined...")
    since: datetime | None = Field(default=None, description="ISO 8601: entries at or after.")
    until: datetime | None = Field(default=None, description="ISO 8601: entries at or before.")
    limit: int = Field(default=100, ge=1, le=1_000, description="Page size.")
    cursor: Cursor | None = Field(default=None, description="next_cursor of the previous page.")


class AuditVerifyArgs(Args):
    """Arguments of ``audit_verify`` (none)."""


def _session(ctx: ToolContext, session_id: str) -> MemorySession:
    """The session if the key's agent opened it; otherwise ``not_found`` (audited), as for an unknown id."""
    try:
        found = ctx.maas.sessions.get(session_id)
    except NotFoundError:
        found = None
    if found is None or found.agent_id != ctx.agent_id:
        raise NotFoundError(f"no session with id {session_id}", session_id=session_id)
    if found.closed_at is not None:
        raise NotFoundError(f"session {session_id} is closed", session_id=session_id)
    return found


def session_json(session: MemorySession) -> dict[str, Any]:
    """A session as the API returns it."""
    return {
        "session_id": session.session_id,
        "scope": dict(session.scope),
        "agent_id": session.agent_id,
        "created_at": session.created_at,
        "closed_at": session.closed_at,
    }


def _create_session(ctx: ToolContext, args: CreateSessionArgs) -> dict[str, Any]:
    allowed = ctx.maas.memories.grant(ctx.agent_id, args.scope, floor=ctx.scope_floor, write=False)
    return session_json(ctx.maas.sessions.open(allowed.scope, agent_id=ctx.agent_id))


def _get_session(ctx: ToolContext, args: GetSessionArgs) -> dict[str, Any]:
    return session_json(_session(ctx, args.session_id))


def _close_session(ctx: ToolContext, args: CloseSessionArgs) -> dict[str, Any]:
    try:
        found = ctx.maas.sessions.get(args.session_id)
    except NotFoundError:
        found = None
    if found is None or found.agent_id != ctx.agent_id:
        raise NotFoundError(f"no session with id {args.session_id}", session_id=args.session_id)
    ctx.maas.sessions.close(found.session_id)  # idempotent: closing a closed session is not an error
    return session_json(ctx.maas.sessions.get(found.session_id))


def _remember(ctx: ToolContext, args: SessionRememberArgs) -> dict[str, Any]:
    session = _session(ctx, args.session_id)
    memory = ctx.maas.memories.remember(
        args.content,
        scope=session.scope,
        category=args.memory_category,
        metadata=args.metadata,
        session_id=session.session_id,
        supersedes=args.supersedes,
        as_agent=ctx.agent_id,
        floor=ctx.scope_floor,
    )
    return memory_json(memory)


def _remember_many(ctx: ToolContext, args: SessionRememberManyArgs) -> dict[str, Any]:
    session = _session(ctx, args.session_id)
    items = [
        MemoryInput(i.content, session.scope, i.memory_category, i.metadata, ctx.agent_id, session.session_id)
        for i in args.items
    ]
    stored = ctx.maas.memories.remember_many(items, as_agent=ctx.agent_id, floor=ctx.scope_floor)
    return {"memories": [memory_json(m) for m in stored]}


def _recall(ctx: ToolContext, args: SessionRecallArgs) -> dict[str, Any]:
    from maas_langchain.client import RecallContext  # the Python client's formatting, shared

    session = _session(ctx, args.session_id)
    hits = ctx.maas.memories.recall(
        args.query,
        scope=session.scope,
        top_k=args.top_k,
        as_agent=ctx.agent_id,
        floor=ctx.scope_floor,
        as_of=None if args.as_of is None else args.as_of.timestamp(),
    )
    context = RecallContext.from_hits(args.query, session.scope, hits)
    items = [{**memory_json(h.memory), "score": round(h.score, 4), "why": jsonable(h.why)} for h in hits]
    return {"query": args.query, "scope": dict(session.scope), "items": items, "formatted": context.formatted}


def _reflect(ctx: ToolContext, args: SessionReflectArgs) -> dict[str, Any]:
    from maas_langchain.adapters.tools.specs_structured import STRUCTURED_TOOLS

    session = _session(ctx, args.session_id)
    spec = next(s for s in STRUCTURED_TOOLS if s.name == "reflect")
    reflect = ReflectArgs(query=args.query, scope=session.scope, persist=args.persist, top_k=args.top_k)
    out: dict[str, Any] = spec.handler(ctx, reflect)
    return out


def _profile(ctx: ToolContext, args: SessionProfileArgs) -> dict[str, Any]:
    from maas_langchain.adapters.tools.specs_structured import STRUCTURED_TOOLS

    session = _session(ctx, args.session_id)
    spec = next(s for s in STRUCTURED_TOOLS if s.name == "profile")
    out: dict[str, Any] = spec.handler(ctx, ProfileArgs(scope=session.scope, per_category=args.per_category))
    return out


def _get_state(ctx: ToolContext, args: SessionGetStateArgs) -> dict[str, Any]:
    from maas_langchain.adapters.tools.specs_structured import STRUCTURED_TOOLS

    session = _session(ctx, args.session_id)
    spec = next(s for s in STRUCTURED_TOOLS if s.name == "get_state")
    state = GetStateArgs(
        scope=session.scope if args.scope is None else args.scope,
        entity=args.entity,
        as_of=args.as_of,
        history=args.history,
    )
    out: dict[str, Any] = spec.handler(ctx, state)
    return out


def _get_memory(ctx: ToolContext, args: GetMemoryArgs) -> dict[str, Any]:
    memory = ctx.maas.memories.get(args.memory_id, as_agent=ctx.agent_id, floor=ctx.scope_floor)
    if memory is None:  # unknown and unreadable answer alike
        missing = NotFoundError(f"no memory with id {args.memory_id}", memory_id=args.memory_id)
        missing.audited = True  # the service audited it as a denial (unknown or unreadable alike): one row
        raise missing
    return memory_json(memory)


def _forget_memory(ctx: ToolContext, args: ForgetMemoryArgs) -> dict[str, Any]:
    changed = ctx.maas.memories.forget(args.memory_id, actor_id=ctx.agent_id, floor=ctx.scope_floor)
    return {"memory_id": args.memory_id, "forgotten": changed, "status": "deleted"}


def _offset(cursor: str | None) -> int:
    return 0 if cursor is None else int(cursor)


def _history(ctx: ToolContext, args: MemoryHistoryArgs) -> dict[str, Any]:
    page = ctx.maas.memories.history_page(
        scope=args.scope,
        descendants=args.descendants,
        limit=args.limit,
        after=_offset(args.cursor),
        as_agent=ctx.agent_id,
        floor=ctx.scope_floor,
    )
    return {
        "items": [memory_json(m) for m in page.memories],
        "next_cursor": None if page.next is None else str(page.next),
    }


def _auditor_actors(ctx: ToolContext, action: str) -> tuple[str, ...]:
    agent = services(ctx.maas).agents.require_actor(ctx.agent_id, action=action)
    try:
        return ctx.maas.runtime.read(lambda tx: audit_actors(tx, agent))
    except MaaSError as exc:
        ctx.maas.runtime.record_failure(
            exc, event_type=AuditEventType.PERMISSION_DENIED, action=action, actor=ctx.agent_id, target=None
        )
        raise


def _audit_query(ctx: ToolContext, args: AuditQueryArgs) -> dict[str, Any]:
    actors = _auditor_actors(ctx, "audit_query")
    entries = ctx.maas.audit.query(
        event_type=args.event_type,
        action=args.action,
        actor=args.actor,
        target=args.target,
        outcome=args.outcome,
        since=None if args.since is None else args.since.timestamp(),
        until=None if args.until is None else args.until.timestamp(),
        limit=args.limit + 1,
        after_seq=_offset(args.cursor),
        actors=actors,
    )
    page = entries[: args.limit]
    more = len(entries) > args.limit
    return {"items": [jsonable(e) for e in page], "next_cursor": str(page[-1].seq) if more and page else None}


def _audit_verify(ctx: ToolContext, args: AuditVerifyArgs) -> dict[str, Any]:
    _auditor_actors(ctx, "audit_verify")
    report = ctx.maas.audit.verify_chain()
    out: dict[str, Any] = jsonable(report)
    out["intact"] = bool(report.ok)
    return out


def rest_spec(name: str) -> ToolSpec:
    """The REST-only operation called ``name``."""
    for spec in REST_SPECS:
        if spec.name == name:
            return spec
    raise NotFoundError(f"no REST operation named {name!r}")


def _spec(name: str, description: str, args: type[Args], handler: Any, *, writes: bool = False) -> ToolSpec:
    return ToolSpec(name, description, args, handler, writes=writes, tags=("rest",))


REST_SPECS: list[ToolSpec] = [
    _spec("create_session", "Open a session bound to one scope.", CreateSessionArgs, _create_session, writes=True),
    _spec("get_session", "A session your agent opened.", GetSessionArgs, _get_session),
    _spec("close_session", "Close a session (idempotent).", CloseSessionArgs, _close_session, writes=True),
    _spec("session_remember", "Store a memory at the session's scope.", SessionRememberArgs, _remember, writes=True),
    _spec(
        "session_remember_many",
        "Store many memories at the session's scope in one transaction (all or none).",
        SessionRememberManyArgs,
        _remember_many,
        writes=True,
    ),
    _spec("session_recall", "Recall at the session's scope, best first.", SessionRecallArgs, _recall),
    _spec("session_reflect", "Summarise what the session's scope knows.", SessionReflectArgs, _reflect),
    _spec("session_profile", "The session scope's consolidated view.", SessionProfileArgs, _profile),
    _spec("session_get_state", "Entities and facts at a scope.", SessionGetStateArgs, _get_state),
    _spec("get_memory", "A memory by id (any status).", GetMemoryArgs, _get_memory),
    _spec("forget_memory", "Mark a memory deleted.", ForgetMemoryArgs, _forget_memory, writes=True),
    _spec("memory_history", "Every memory at a scope, any status, oldest first.", MemoryHistoryArgs, _history),
    _spec("audit_query", "Audit entries of your owner's agents (HUMAN agents).", AuditQueryArgs, _audit_query),
    _spec("audit_verify", "Verify the audit chain (HUMAN agents).", AuditVerifyArgs, _audit_verify),
]
"""Every REST-only operation."""
