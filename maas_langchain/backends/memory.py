"""In-memory reference backend: plain dicts behind one lock, with an undo log for rollback.

It is the model the durable backends are compared with, and the fast choice for tests and
notebooks. Nothing survives the process.

Example:
    >>> from maas_langchain import MaaS
    >>> maas = MaaS.open(":memory:")
    >>> maas.backend.name
    'memory'
    >>> maas.close()
"""

from __future__ import annotations

import bisect
import copy
import dataclasses
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from maas_langchain.backends.memory_entities import MemoryEntityOps
from maas_langchain.backends.memory_idempotency import MemoryIdempotencyOps
from maas_langchain.backends.memory_keys import MemoryKeyOps
from maas_langchain.backends.memory_kv import MemoryKVOps
from maas_langchain.backends.memory_memories import MemoryOps, MemoryTables
from maas_langchain.backends.memory_threads import MemoryThreadOps
from maas_langchain.core.enums import EventKind, HandoffStatus, MemoryStatus
from maas_langchain.core.ports.filters import AudienceFilter
from maas_langchain.core.ports.state import GENESIS_HASH, AuditQuery, StateBackend, StateTx
from maas_langchain.core.records import Agent, AuditEvent, Handoff, MaaSEvent, Membership, Pool, SharedMemory

__all__ = ["MemoryBackend"]

T = TypeVar("T")


class _Tables:
    def __init__(self) -> None:
        self.agents: dict[str, Agent] = {}
        self.pools: dict[str, Pool] = {}
        self.members: dict[tuple[str, str], Membership] = {}
        self.shares: dict[str, dict[str, SharedMemory]] = {}  # pool -> memory id -> share, in seq order
        self.handoffs: dict[str, Handoff] = {}
        self.audit: list[AuditEvent] = []
        self.audit_keyed_from = 1  # a new store: keyed from its first entry
        self.audit_seal: str | None = None
        self.events: list[MaaSEvent] = []
        self.event_seq = 0
        self.share_seq = 0
        self.memory = MemoryTables()
        self.extra: dict[str, Any] = {}  # tables of the kv / threads / keys / entities / idempotency mixins
        self.counters: dict[str, int] = {}  # quota counters by name


class _MemoryTx(MemoryOps, MemoryKVOps, MemoryThreadOps, MemoryKeyOps, MemoryEntityOps, MemoryIdempotencyOps, StateTx):
    """Mutations record their inverse; the backend replays them backwards on rollback."""

    t: _Tables  # the mixins declare the narrower protocols they need

    def __init__(self, tables: _Tables) -> None:
        self.t = tables
        self.m = tables.memory
        self.undo: list[Callable[[], None]] = []

    def _put(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        had, old = key in table, table.get(key)
        table[key] = copy.deepcopy(value)
        self.undo.append(lambda: table.__setitem__(key, old) if had else table.pop(key, None))

    def counter(self, name: str) -> int:
        return self.t.counters.get(name, 0)

    def bump_counter(self, name: str, delta: int) -> None:
        self._put(self.t.counters, name, self.t.counters.get(name, 0) + delta)

    def _pop(self, table: dict[Any, Any], key: Any) -> bool:
        if key not in table:
            return False
        old = table.pop(key)
        self.undo.append(lambda: table.__setitem__(key, old))
        return True

    @staticmethod
    def _out(value: T) -> T:
        return copy.deepcopy(value)

    # agents
    def get_agent(self, agent_id: str) -> Agent | None:
        return self._out(self.t.agents.get(agent_id))

    def insert_agent(self, agent: Agent) -> None:
        self._put(self.t.agents, agent.agent_id, agent)

    def set_agent_active(self, agent_id: str, active: bool) -> bool:
        agent = self.t.agents.get(agent_id)
        if agent is None:
            return False
        self._put(self.t.agents, agent_id, dataclasses.replace(agent, active=active))
        return True

    def delete_agent(self, agent_id: str) -> bool:
        for key in [k for k in self.t.members if k[1] == agent_id]:
            self._pop(self.t.members, key)
        return self._pop(self.t.agents, agent_id)

    def list_agents(self, owner_id: str | None = None) -> list[Agent]:
        found = [a for a in self.t.agents.values() if owner_id is None or a.owner_id == owner_id]
        return self._out(sorted(found, key=lambda a: (a.created_at, a.agent_id)))

    def count_agents(self) -> int:
        return len(self.t.agents)

    # pools and memberships
    def get_pool(self, pool_id: str) -> Pool | None:
        return self._out(self.t.pools.get(pool_id))

    def insert_pool(self, pool: Pool) -> None:
        self._put(self.t.pools, pool.pool_id, pool)

    def set_pool_status(self, pool: Pool) -> None:
        self._put(self.t.pools, pool.pool_id, pool)

    def delete_pool(self, pool_id: str) -> bool:
        for key in [k for k in self.t.members if k[0] == pool_id]:
            self._pop(self.t.members, key)
        self._pop(self.t.shares, pool_id)
        return self._pop(self.t.pools, pool_id)

    def list_pools(self, owner_id: str | None = None, member_id: str | None = None) -> list[Pool]:
        found = [
            p
            for p in self.t.pools.values()
            if (owner_id is None or p.owner_id == owner_id)
            and (member_id is None or (p.pool_id, member_id) in self.t.members)
        ]
        return self._out(sorted(found, key=lambda p: (p.created_at, p.pool_id)))

    def count_pools(self) -> int:
        return len(self.t.pools)

    def get_membership(self, pool_id: str, agent_id: str) -> Membership | None:
        return self.t.members.get((pool_id, agent_id))

    def upsert_membership(self, membership: Membership) -> None:
        self._put(self.t.members, (membership.pool_id, membership.agent_id), membership)

    def delete_membership(self, pool_id: str, agent_id: str) -> bool:
        return self._pop(self.t.members, (pool_id, agent_id))

    def list_members(self, pool_id: str) -> list[Membership]:
        found = [m for k, m in self.t.members.items() if k[0] == pool_id]
        return sorted(found, key=lambda m: (m.joined_at, m.agent_id))

    def count_members(self, pool_id: str) -> int:
        return sum(1 for k in self.t.members if k[0] == pool_id)

    # shared memories
    def _pool_shares(self, pool_id: str) -> dict[str, SharedMemory]:
        return self.t.shares.get(pool_id, {})

    def _with_content(self, share: SharedMemory | None) -> SharedMemory | None:
        row = None if share is None else self.m.memories.get(share.memory_id)
        if share is None or row is None or row.memory.status is not MemoryStatus.ACTIVE:
            return share
        return dataclasses.replace(share, content=row.memory.content, category=row.memory.category)

    def get_share(self, pool_id: str, memory_id: str) -> SharedMemory | None:
        return self._out(self._with_content(self._pool_shares(pool_id).get(memory_id)))

    def upsert_share(self, share: SharedMemory, limit: int | None = None) -> None:
        del limit  # writers run one at a time: what the core read still holds
        old_seq = self.t.share_seq
        self.t.share_seq += 1
        stored: SharedMemory = dataclasses.replace(share, seq=self.t.share_seq)
        shares = self.t.shares.setdefault(share.pool_id, {})
        old = shares.pop(share.memory_id, None)
        shares[share.memory_id] = copy.deepcopy(stored)  # appended: dict order stays seq order

        def undo() -> None:
            self.t.share_seq = old_seq
            shares.pop(share.memory_id, None)
            if old is not None:
                shares[share.memory_id] = old
                ordered = sorted(shares.values(), key=lambda s: s.seq)
                shares.clear()
                shares.update((s.memory_id, s) for s in ordered)

        self.undo.append(undo)

    def delete_share(self, pool_id: str, memory_id: str) -> bool:
        shares = self._pool_shares(pool_id)
        if memory_id not in shares:
            return False
        old = shares.pop(memory_id)

        def undo() -> None:
            shares[memory_id] = old
            ordered = sorted(shares.values(), key=lambda s: s.seq)
            shares.clear()
            shares.update((s.memory_id, s) for s in ordered)

        self.undo.append(undo)
        return True

    def count_shares(self, pool_id: str) -> int:
        return len(self._pool_shares(pool_id))

    def query_shares(self, pool_id: str, audience: AudienceFilter, limit: int, offset: int = 0) -> list[SharedMemory]:
        found: list[SharedMemory] = []
        skip = offset
        for share in reversed(self._pool_shares(pool_id).values()):  # newest first
            if audience.matches(share):
                if skip:
                    skip -= 1
                    continue
                found.append(share)
                if len(found) >= limit:
                    break
        return self._out([s for s in map(self._with_content, found) if s is not None])

    def shares_by_memory_ids(self, memory_ids: Sequence[str]) -> list[SharedMemory]:
        wanted = set(memory_ids)
        found = [s for shares in self.t.shares.values() for s in shares.values() if s.memory_id in wanted]
        return self._out([s for s in map(self._with_content, sorted(found, key=lambda s: s.seq)) if s is not None])

    # handoffs
    def get_handoff(self, handoff_id: str) -> Handoff | None:
        return self._out(self.t.handoffs.get(handoff_id))

    def insert_handoff(self, handoff: Handoff) -> None:
        self._put(self.t.handoffs, handoff.handoff_id, handoff)

    def transition_handoff(self, handoff_id: str, expected: Iterable[HandoffStatus], new: Handoff) -> bool:
        current = self.t.handoffs.get(handoff_id)
        if current is None or current.status not in tuple(expected):
            return False
        self._put(self.t.handoffs, handoff_id, new)
        return True

    def list_handoffs(
        self,
        *,
        target_id: str | None = None,
        source_id: str | None = None,
        statuses: Iterable[HandoffStatus] | None = None,
        expires_before: float | None = None,
        limit: int | None = None,
    ) -> list[Handoff]:
        wanted = None if statuses is None else set(statuses)
        found = [
            h
            for h in self.t.handoffs.values()
            if (target_id is None or h.target_agent_id == target_id)
            and (source_id is None or h.source_agent_id == source_id)
            and (wanted is None or h.status in wanted)
            and (expires_before is None or h.expires_at <= expires_before)
        ]
        found.sort(key=lambda h: (h.created_at, h.handoff_id))
        return self._out(found[:limit] if limit is not None else found)

    def count_handoffs(self, *, target_id: str | None = None, status: HandoffStatus | None = None) -> int:
        if target_id is None and status is None:
            return len(self.t.handoffs)
        return sum(
            1
            for h in self.t.handoffs.values()
            if (target_id is None or h.target_agent_id == target_id) and (status is None or h.status is status)
        )

    def delete_handoffs(self, statuses: Iterable[HandoffStatus], finished_before: float) -> int:
        wanted = set(statuses)
        doomed = [
            k
            for k, h in self.t.handoffs.items()
            if h.status in wanted and h.finished_at is not None and h.finished_at < finished_before
        ]
        for key in doomed:
            self._pop(self.t.handoffs, key)
        return len(doomed)

    # audit
    def lock_audit_head(self) -> tuple[int, str]:
        if not self.t.audit:
            return 0, GENESIS_HASH
        last = self.t.audit[-1]
        return last.seq, last.hash

    def append_audit(self, event: AuditEvent) -> None:
        self.t.audit.append(copy.deepcopy(event))
        audit = self.t.audit
        self.undo.append(lambda: audit.__delitem__(-1))

    def query_audit(self, query: AuditQuery) -> list[AuditEvent]:
        events: Iterable[AuditEvent] = reversed(self.t.audit) if query.newest_first else self.t.audit
        found = []
        for e in events:
            if _audit_match(e, query):
                found.append(e)
                if len(found) >= query.limit:
                    break
        return self._out(found)

    def count_audit(self) -> int:
        return len(self.t.audit)

    def audit_keying(self) -> tuple[int, str | None]:
        return self.t.audit_keyed_from, self.t.audit_seal

    def seal_audit(self, seal: str) -> bool:
        if self.t.audit_seal is not None:
            return False
        tables = self.t
        tables.audit_seal = seal
        self.undo.append(lambda: setattr(tables, "audit_seal", None))
        return True

    def audit_guards(self) -> list[str]:
        return []  # the log is reachable only through this port: there is no trigger to drop

    # events
    def append_event(self, kind: EventKind, timestamp: float, pool_id: str | None, data: dict[str, Any]) -> int:
        tables = self.t
        tables.event_seq += 1
        tables.events.append(MaaSEvent(tables.event_seq, kind, timestamp, pool_id, data))

        def undo() -> None:
            tables.events.pop()
            tables.event_seq -= 1

        self.undo.append(undo)
        return tables.event_seq

    def read_events(self, after_seq: int, pool_id: str | None, limit: int) -> list[MaaSEvent]:
        events = self.t.events
        start = bisect.bisect_right(events, after_seq, key=lambda e: e.seq)
        tail = (events[i] for i in range(start, len(events)))
        return self._out(list(itertools.islice((e for e in tail if pool_id in (None, e.pool_id)), limit)))

    def event_head(self) -> int:
        return self.t.event_seq

    def delete_events(self, before: float) -> int:
        keep = [e for e in self.t.events if e.timestamp >= before]
        removed, old = len(self.t.events) - len(keep), self.t.events
        self.t.events = keep
        self.undo.append(lambda: setattr(self.t, "events", old))
        return removed


def _audit_match(e: AuditEvent, q: AuditQuery) -> bool:
    return (
        e.seq > q.after_seq
        and (q.event_type is None or e.event_type is q.event_type)
        and (q.actor is None or e.actor == q.actor)
        and (q.actors is None or e.actor in q.actors)
        and (q.target is None or e.target == q.target)
        and (q.outcome is None or e.outcome == q.outcome)
        and (q.action is None or e.action == q.action)
        and (q.since is None or e.timestamp >= q.since)
        and (q.until is None or e.timestamp <= q.until)
    )


class MemoryBackend(StateBackend):
    """All state in this process's memory; one lock serialises transactions."""

    name = "memory"
    location = ":memory:"
    fresh_audit_boundary = True  # every in-memory store is new

    def __init__(self) -> None:
        self._tables = _Tables()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[StateTx]:
        with self._lock:
            tx = _MemoryTx(self._tables)
            try:
                yield tx
            except BaseException:
                for undo in reversed(tx.undo):
                    undo()
                raise
            if write:
                self._changed.notify_all()

    def wait_for_events(self, after_seq: int, timeout: float) -> None:
        """Wake as soon as a write commits (no polling)."""
        with self._changed:
            if self._tables.event_seq <= after_seq:
                self._changed.wait(timeout)

    def close(self) -> None:
        """Nothing to release."""
