"""Read-only views for the web console: overview counts, pools and members, who can read a
memory, an agent's handoffs and a handoff's timeline, memories per scope.

Each view acts as one agent (an API key's, with the key's scope floor) and asks the access
module (:mod:`maas_langchain.core.access`) what that agent may see; it decides nothing itself.
A refusal is recorded in the audit log once, with the view's action and target. Where the REST
API answers an unreadable id exactly like an unknown one (a pool's members, a memory's
readers), the denial is recorded and a :class:`~maas_langchain.errors.NotFoundError` (marked
audited) is raised instead.

Counts are made in storage (:mod:`maas_langchain.core.ports.memory_counts`), so the overview
and the scope tree read index entries, never memory rows.

Example:
    >>> from maas_langchain import AgentType, MaaS
    >>> from maas_langchain.embeddings import HashingEmbeddings
    >>> maas = MaaS.open(":memory:", embeddings=HashingEmbeddings())
    >>> a = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1", project_id="p1")
    >>> _ = maas.memories.remember("Deploys happen on Tuesdays.", as_agent=a)  # at its own scope
    >>> views = ConsoleViews(maas.runtime, maas.memories.hierarchy)
    >>> views.overview(a).memories, [(sorted(s), n) for s, n in views.scope_counts(a).counts]
    (1, [(['agent', 'project', 'user'], 1)])
    >>> maas.close()
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from maas_langchain.core.access import (
    MemoryGrant,
    handoff_watch,
    load_actor,
    memory_grant,
    memory_readers,
    quarantine_author,
    require_auditor,
    require_handoff_viewer,
    require_pool_viewer,
    shown_readers,
    timeline_shows,
    viewable_pools,
)
from maas_langchain.core.enums import AuditEventType, HandoffStatus, PermissionModel
from maas_langchain.core.handoffs import HandoffManager
from maas_langchain.core.memory_gate import MemoryGate
from maas_langchain.core.ports.filters import ScopeFilter
from maas_langchain.core.ports.state import AuditQuery, StateTx
from maas_langchain.core.records import Agent, Handoff, Membership, Memory, Pool
from maas_langchain.core.redaction import redact, redact_handoff
from maas_langchain.core.runtime import Runtime
from maas_langchain.core.scopes import ScopeHierarchy
from maas_langchain.core.validation import check_id, check_offset, check_positive_int
from maas_langchain.errors import MaaSError, NotFoundError, PermissionDeniedError

__all__ = [
    "MAX_HANDOFF_PAGE",
    "MAX_SCOPES",
    "MEMORY_COUNT_CAP",
    "ConsoleViews",
    "HandoffPage",
    "MemberView",
    "Overview",
    "PoolView",
    "Readers",
    "ScopeCounts",
    "Timeline",
    "TimelineEvent",
]

MEMORY_COUNT_CAP = 100_000
"""The overview counts memories up to this many (``memories_capped`` beyond)."""

MAX_SCOPES = 1_000
"""The scope tree lists at most this many scopes (``truncated`` beyond)."""

MAX_HANDOFF_PAGE = 500
"""Largest page of :meth:`ConsoleViews.handoffs`."""

_TIMELINE_ENTRIES = 1_000
_OPEN: list[HandoffStatus | str] = [HandoffStatus.PENDING, HandoffStatus.ACCEPTED]
T = TypeVar("T")


@dataclass(frozen=True)
class Overview:
    """What :meth:`ConsoleViews.overview` counts for one agent.

    Attributes:
        agent: The agent itself.
        agents: Agents of its owner.
        pools: Pools it may look at (:func:`~maas_langchain.core.access.viewable_pools`).
        open_handoffs: Pending or accepted, unexpired handoffs it may list.
        memories: Memories at or below its own scope (its key's floor), any status, up to
            :data:`MEMORY_COUNT_CAP`; 0 for an agent that may not read memories.
        memories_capped: True when there are more than :data:`MEMORY_COUNT_CAP`.
        auditor: True when it may read the audit log (an active HUMAN agent).
    """

    agent: Agent
    agents: int
    pools: int
    open_handoffs: int
    memories: int
    memories_capped: bool
    auditor: bool


@dataclass(frozen=True)
class PoolView:
    """A pool the agent may look at, its own permission (``None`` if not a member), its size."""

    pool: Pool
    permission: PermissionModel | None
    members: int


@dataclass(frozen=True)
class MemberView:
    """A pool member: its membership and its agent record (``None`` if since deleted)."""

    membership: Membership
    agent: Agent | None


@dataclass(frozen=True)
class Readers:
    """Who can read a memory: readers of the caller's owner with a reason, and how many others."""

    memory: Memory
    readers: list[tuple[Agent, str]]
    other_owners: int


@dataclass(frozen=True)
class HandoffPage:
    """One page of handoffs, newest first; ``next`` is the offset of the next page (or None)."""

    handoffs: list[Handoff]
    next: int | None


@dataclass(frozen=True)
class TimelineEvent:
    """One audit entry of a handoff (its reason redacted)."""

    at: float
    action: str
    actor: str | None
    outcome: str
    reason: str | None


@dataclass(frozen=True)
class Timeline:
    """A handoff (redacted) and its audit entries in sequence order."""

    handoff: Handoff
    events: list[TimelineEvent]


@dataclass(frozen=True)
class ScopeCounts:
    """Memories per scope at or below ``scope`` (scope-key order), and whether more scopes exist."""

    scope: dict[str, str]
    counts: list[tuple[dict[str, str], int]]
    truncated: bool


class ConsoleViews:
    """The console's read-only views over one instance.

    Args:
        runtime: The runtime (backend, limits, clock, audit).
        hierarchy: The instance's scope hierarchy (the memory service's).
    """

    def __init__(self, runtime: Runtime, hierarchy: ScopeHierarchy) -> None:
        self._rt = runtime
        self.hierarchy = hierarchy
        self._gate = MemoryGate(runtime, hierarchy)
        self._handoffs = HandoffManager(runtime)

    def _read(
        self, fn: Callable[[StateTx], T], event: AuditEventType, action: str, actor: str, target: str | None
    ) -> T:
        """Run ``fn`` in a read transaction; record a refusal once and re-raise it."""
        try:
            return self._rt.read(fn)
        except MaaSError as exc:
            self._rt.record_failure(exc, event_type=event, action=action, actor=actor, target=target)
            raise

    def _at_or_below(self, grant: MemoryGrant) -> ScopeFilter:
        canon = self.hierarchy.canon(grant.scope)
        return ScopeFilter((canon,), canon if grant.descendants else None)

    def overview(self, agent_id: str, floor: Mapping[str, str] | None = None) -> Overview:
        """The agent, and counts of what it may see (:class:`Overview`)."""
        akey = check_id(agent_id, "agent_id")

        def read(tx: StateTx) -> tuple[Overview, tuple[str, ...]]:
            agent = load_actor(tx, akey)
            try:
                grant = memory_grant(agent, self.hierarchy, None, floor=floor, write=False)
            except PermissionDeniedError:  # it may not read memories: none to count
                memories = 0
            else:
                who = quarantine_author(agent)
                memories = tx.count_visible_memories(
                    self._at_or_below(grant), MEMORY_COUNT_CAP + 1, quarantined_author=who
                )
            try:
                require_auditor(agent)
                auditor = True
            except PermissionDeniedError:
                auditor = False
            agents = len(tx.list_agents(owner_id=agent.owner_id))
            found = Overview(
                agent,
                agents,
                len(viewable_pools(tx, agent)),
                0,
                min(memories, MEMORY_COUNT_CAP),
                memories > MEMORY_COUNT_CAP,
                auditor,
            )
            return found, handoff_watch(tx, agent)

        found, watched = self._read(read, AuditEventType.AGENT_AUTH, "overview", akey, akey)
        now = self._rt.clock()
        listed = self._handoffs.list_handoffs(agent_ids=watched, statuses=_OPEN) if watched else []
        opened = sum(1 for h in listed if not h.is_expired_at(now))
        return dataclasses.replace(found, open_handoffs=opened)

    def pools(self, agent_id: str) -> list[PoolView]:
        """The pools the agent may look at, oldest first, with its permission and member counts."""
        akey = check_id(agent_id, "agent_id")

        def read(tx: StateTx) -> list[PoolView]:
            views = []
            for pool in viewable_pools(tx, load_actor(tx, akey)):
                membership = tx.get_membership(pool.pool_id, akey)
                permission = None if membership is None else membership.permission
                views.append(PoolView(pool, permission, tx.count_members(pool.pool_id)))
            return views

        return self._read(read, AuditEventType.POOL_OPERATION, "list_pools", akey, None)

    def pool_members(self, agent_id: str, pool_id: str) -> tuple[Pool, list[MemberView]]:
        """A pool and its members (oldest membership first), for its members and HUMAN agents of
        its owner; anyone else is told ``not_found``, as for an unknown id."""
        akey, pkey = check_id(agent_id, "agent_id"), check_id(pool_id, "pool_id")

        def read(tx: StateTx) -> tuple[Pool, list[MemberView]]:
            agent, pool = load_actor(tx, akey), tx.get_pool(pkey)
            if pool is None:
                raise NotFoundError(f"no pool with id {pkey}", pool_id=pkey)
            require_pool_viewer(tx, agent, pool)
            return pool, [MemberView(m, tx.get_agent(m.agent_id)) for m in tx.list_members(pkey)]

        try:
            return self._read(read, AuditEventType.POOL_OPERATION, "pool_members", akey, pkey)
        except PermissionDeniedError:
            raise _unseen(NotFoundError(f"no pool with id {pkey}", pool_id=pkey)) from None

    def readers(self, agent_id: str, memory_id: str, floor: Mapping[str, str] | None = None) -> Readers:
        """Who can read a memory the agent may read itself
        (:func:`~maas_langchain.core.access.memory_readers` over every agent; those of other
        owners only counted); an unreadable or unknown memory is ``not_found``."""
        akey, mkey = check_id(agent_id, "agent_id"), check_id(memory_id, "memory_id")
        now = self._rt.clock()

        def read(tx: StateTx) -> Readers:
            found = tx.get_memories([mkey])
            self._gate.check_read(tx, akey, mkey, found, floor, "read")
            memory = found[0].memory
            everyone = memory_readers(tx, memory, self.hierarchy, tx.list_agents(), now)
            own, others = shown_readers(load_actor(tx, akey), everyone)
            return Readers(memory, own, others)

        try:
            return self._read(read, AuditEventType.MEMORY_OPERATION, "readers", akey, mkey)
        except PermissionDeniedError:
            raise _unseen(NotFoundError(f"no memory with id {mkey}", memory_id=mkey)) from None

    def handoffs(
        self,
        agent_id: str,
        *,
        role: str = "any",
        status: HandoffStatus | str | None = None,
        limit: int = 100,
        after: int = 0,
    ) -> HandoffPage:
        """The handoffs of the agents the agent may watch
        (:func:`~maas_langchain.core.access.handoff_watch`) in ``role``, newest first, one page
        from offset ``after``."""
        akey = check_id(agent_id, "agent_id")
        page, start = check_positive_int(limit, "limit", MAX_HANDOFF_PAGE), check_offset(after, "after")
        watched = self._read(
            lambda tx: handoff_watch(tx, load_actor(tx, akey)), AuditEventType.HANDOFF, "list_handoffs", akey, None
        )
        statuses = None if status is None else [status]
        try:
            found = self._handoffs.list_handoffs(agent_ids=watched, statuses=statuses, role=role) if watched else []
        except MaaSError as exc:
            self._rt.record_failure(
                exc, event_type=AuditEventType.HANDOFF, action="list_handoffs", actor=akey, target=None
            )
            raise
        newest = found[::-1]
        more = len(newest) > start + page
        return HandoffPage(newest[start : start + page], start + page if more else None)

    def timeline(self, agent_id: str, handoff_id: str) -> Timeline:
        """A handoff and what happened to it (its audit entries), for its parties and HUMAN
        agents of their owners; others get the refusal ``get_handoff`` gives."""
        akey, hkey = check_id(agent_id, "agent_id"), check_id(handoff_id, "handoff_id")

        def read(tx: StateTx) -> Timeline:
            agent, handoff = load_actor(tx, akey), tx.get_handoff(hkey)
            if handoff is None:
                raise NotFoundError(f"no handoff with id {hkey}", handoff_id=hkey)
            require_handoff_viewer(tx, agent, handoff)
            entries = tx.query_audit(AuditQuery(target=hkey, limit=_TIMELINE_ENTRIES))
            events = [
                TimelineEvent(e.timestamp, e.action, e.actor, e.outcome, None if e.reason is None else redact(e.reason))
                for e in entries
                if timeline_shows(handoff, e.actor)
            ]
            return Timeline(redact_handoff(handoff), events)

        return self._read(read, AuditEventType.HANDOFF, "timeline", akey, hkey)

    def scope_counts(
        self, agent_id: str, scope: Mapping[str, str] | None = None, floor: Mapping[str, str] | None = None
    ) -> ScopeCounts:
        """Every scope at or below ``scope`` (default: the agent's own; granted as for recall)
        that holds memories the agent may see, with how many (any status; quarantined ones
        only its own unless HUMAN), at most :data:`MAX_SCOPES` of them."""
        akey = check_id(agent_id, "agent_id")

        def read(tx: StateTx) -> tuple[MemoryGrant, list[tuple[str, int]]]:
            agent = load_actor(tx, akey)
            grant = memory_grant(agent, self.hierarchy, scope, floor=floor, write=False)
            flt, who = self._at_or_below(grant), quarantine_author(agent)
            return grant, tx.count_memories_by_scope(flt, MAX_SCOPES + 1, quarantined_author=who)

        grant, rows = self._read(read, AuditEventType.MEMORY_OPERATION, "scopes", akey, None)
        counts = [(self.hierarchy.parse(key), n) for key, n in rows[:MAX_SCOPES]]
        return ScopeCounts(grant.scope, counts, len(rows) > MAX_SCOPES)


def _unseen(error: NotFoundError) -> NotFoundError:
    """The ``not_found`` that stands for a recorded denial (not recorded again)."""
    error.audited = True
    return error
