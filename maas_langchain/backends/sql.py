"""SQL shared by the relational backends: one :class:`SqlTx` over a DB-API cursor and a dialect.

Query text is written once with ``?`` placeholders; :class:`Dialect` adapts it (``%s`` for
psycopg, NULL-safe equality, row locks). The backends only manage connections and
transactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from maas_langchain.backends.sql_audit import SqlAuditOps
from maas_langchain.backends.sql_codec import (
    AGENT_COLUMNS,
    EVENT_COLUMNS,
    HANDOFF_COLUMNS,
    MEMBER_COLUMNS,
    POOL_COLUMNS,
    SHARE_COLUMNS,
    agent_from_row,
    dump,
    event_from_row,
    handoff_from_row,
    handoff_params,
    member_from_row,
    pool_from_row,
    share_from_row,
)
from maas_langchain.backends.sql_entities import SqlEntityOps
from maas_langchain.backends.sql_idempotency import SqlIdempotencyOps
from maas_langchain.backends.sql_keys import SqlKeyOps
from maas_langchain.backends.sql_kv import SqlKVOps
from maas_langchain.backends.sql_memories import SqlMemoryOps
from maas_langchain.backends.sql_threads import SqlThreadOps
from maas_langchain.core.enums import (
    EventKind,
    HandoffStatus,
)
from maas_langchain.core.ports.filters import AudienceFilter
from maas_langchain.core.ports.state import StateTx, iter_chunks
from maas_langchain.core.records import (
    Agent,
    Handoff,
    MaaSEvent,
    Membership,
    Pool,
    SharedMemory,
)

__all__ = ["POSTGRES", "SQLITE", "Dialect", "SqlTx"]

_S_COLUMNS = ", ".join(f"s.{c.strip()}" for c in SHARE_COLUMNS.split(",")) + ", m.content, m.category"
_SHARES_JOIN = "shared_memories s LEFT JOIN memories m ON m.memory_id = s.memory_id AND m.status = 'active'"


_INSERT_SHARE = (
    f"INSERT INTO shared_memories ({SHARE_COLUMNS.removesuffix(', seq')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# PostgreSQL: the upsert and the pool's count in one statement (xmax = 0: the row was inserted),
# checking as it writes what the core decided on: a new share only under the limit, a re-share
# only of the author's own; otherwise migration 0018's maas_recheck fails it (ConcurrentWriteError).
_PG_UPSERT_SHARE = (
    "WITH up AS (" + _INSERT_SHARE + " ON CONFLICT (pool_id, memory_id) DO UPDATE SET seq = DEFAULT, "
    "scope_level = excluded.scope_level, owner_id = excluded.owner_id, project_id = excluded.project_id, "
    "team_id = excluded.team_id, shared_at = excluded.shared_at, metadata = excluded.metadata "
    "WHERE shared_memories.author_id = excluded.author_id RETURNING xmax = 0 AS inserted), "
    "counted AS (UPDATE pools SET share_count = share_count + 1 WHERE pool_id = ? AND share_count < ? "
    "AND EXISTS (SELECT 1 FROM up WHERE inserted) RETURNING 1) "
    "SELECT CASE WHEN EXISTS (SELECT 1 FROM up WHERE NOT inserted) OR EXISTS (SELECT 1 FROM counted) "
    "OR NOT EXISTS (SELECT 1 FROM pools WHERE pool_id = ?) THEN 1 ELSE maas_recheck(?) END"
)  # (no such pool: the foreign key refuses the row, an IntegrityError, as before)
_NO_LIMIT = 2**62


@dataclass(frozen=True)
class Dialect:
    """How one SQL engine spells the few things that differ."""

    name: str
    placeholder: str
    null_safe_eq: str
    for_update: str
    notify_sql: str = ""
    _cache: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def sql(self, text: str) -> str:
        """Return ``text`` with ``?`` placeholders and ``<=>`` (NULL-safe ``=``) adapted."""
        cached = self._cache.get(text)
        if cached is None:
            cached = text.replace("<=>", self.null_safe_eq)
            if self.placeholder != "?":
                cached = cached.replace("?", self.placeholder)
            self._cache[text] = cached
        return cached


SQLITE = Dialect("sqlite", "?", "IS", "")
POSTGRES = Dialect("postgres", "%s", "IS NOT DISTINCT FROM", " FOR UPDATE", "SELECT pg_notify('maas_events', ?)")


class SqlTx(SqlMemoryOps, SqlKVOps, SqlThreadOps, SqlKeyOps, SqlEntityOps, SqlIdempotencyOps, SqlAuditOps, StateTx):
    """Record operations as SQL on one cursor inside a transaction the backend opened."""

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self._cur = cursor
        self._d = dialect

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self._cur.execute(self._d.sql(sql), tuple(params))
        return self._cur

    def _exec_later(self, sql: str, params: Sequence[Any] = ()) -> None:
        """A write whose result is not needed: PostgreSQL sends it with the next batch."""
        self._exec(sql, params)

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._exec(sql, params).fetchone()

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self._exec(sql, params).fetchall())

    def _count(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int(self._one(sql, params)[0])

    def _bump(self, name: str, delta: int) -> None:
        if delta:
            self._exec("UPDATE counters SET value = value + ? WHERE name = ?", (delta, name))

    def counter(self, name: str) -> int:
        row = self._one("SELECT value FROM counters WHERE name = ?", (name,))
        return 0 if row is None else int(row[0])

    _counter = counter  # the seeded counters (agents, pools, memories, ...) read the same way

    def bump_counter(self, name: str, delta: int) -> None:
        self._exec(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = counters.value + ?",
            (name, delta, delta),
        )

    # agents
    def get_agent(self, agent_id: str) -> Agent | None:
        row = self._one(f"SELECT {AGENT_COLUMNS} FROM agents WHERE agent_id = ?", (agent_id,))
        return None if row is None else agent_from_row(row)

    def insert_agent(self, agent: Agent) -> None:
        caps = dump(sorted(c.value for c in agent.capabilities))
        self._exec(
            f"INSERT INTO agents ({AGENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                agent.agent_id,
                agent.agent_type.value,
                agent.owner_id,
                agent.name,
                agent.project_id,
                agent.team_id,
                caps,
                int(agent.active),
                dump(agent.metadata),
                agent.created_at,
            ),
        )
        self._bump("agents", 1)

    def set_agent_active(self, agent_id: str, active: bool) -> bool:
        return int(self._exec("UPDATE agents SET active = ? WHERE agent_id = ?", (int(active), agent_id)).rowcount) > 0

    def delete_agent(self, agent_id: str) -> bool:
        self._exec("DELETE FROM memberships WHERE agent_id = ?", (agent_id,))
        deleted = int(self._exec("DELETE FROM agents WHERE agent_id = ?", (agent_id,)).rowcount)
        self._bump("agents", -deleted)
        return deleted > 0

    def list_agents(self, owner_id: str | None = None) -> list[Agent]:
        where, params = ("WHERE owner_id = ?", (owner_id,)) if owner_id is not None else ("", ())
        rows = self._all(f"SELECT {AGENT_COLUMNS} FROM agents {where} ORDER BY created_at, agent_id", params)
        return [agent_from_row(r) for r in rows]

    def count_agents(self) -> int:
        return self._counter("agents")

    # pools and memberships
    def get_pool(self, pool_id: str) -> Pool | None:
        row = self._one(f"SELECT {POOL_COLUMNS} FROM pools WHERE pool_id = ?", (pool_id,))
        return None if row is None else pool_from_row(row)

    def insert_pool(self, pool: Pool) -> None:
        self._exec(
            f"INSERT INTO pools ({POOL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                pool.pool_id,
                pool.name,
                pool.owner_id,
                pool.scope.value,
                pool.status.value,
                dump(pool.metadata),
                pool.created_at,
            ),
        )
        self._bump("pools", 1)

    def set_pool_status(self, pool: Pool) -> None:
        self._exec("UPDATE pools SET status = ? WHERE pool_id = ?", (pool.status.value, pool.pool_id))

    def delete_pool(self, pool_id: str) -> bool:
        self._exec("DELETE FROM memberships WHERE pool_id = ?", (pool_id,))
        self._exec("DELETE FROM shared_memories WHERE pool_id = ?", (pool_id,))
        deleted = int(self._exec("DELETE FROM pools WHERE pool_id = ?", (pool_id,)).rowcount)
        self._bump("pools", -deleted)
        return deleted > 0

    def list_pools(self, owner_id: str | None = None, member_id: str | None = None) -> list[Pool]:
        clauses: list[str] = []
        params: list[Any] = []
        if owner_id is not None:
            clauses.append("owner_id = ?")
            params.append(owner_id)
        if member_id is not None:
            clauses.append("pool_id IN (SELECT pool_id FROM memberships WHERE agent_id = ?)")
            params.append(member_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return [
            pool_from_row(r)
            for r in self._all(f"SELECT {POOL_COLUMNS} FROM pools {where} ORDER BY created_at, pool_id", params)
        ]

    def count_pools(self) -> int:
        return self._counter("pools")

    def get_membership(self, pool_id: str, agent_id: str) -> Membership | None:
        row = self._one(
            f"SELECT {MEMBER_COLUMNS} FROM memberships WHERE pool_id = ? AND agent_id = ?", (pool_id, agent_id)
        )
        return None if row is None else member_from_row(row)

    def upsert_membership(self, membership: Membership) -> None:
        self._exec(
            f"INSERT INTO memberships ({MEMBER_COLUMNS}) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (pool_id, agent_id) DO UPDATE SET permission = excluded.permission",
            (membership.pool_id, membership.agent_id, membership.permission.value, membership.joined_at),
        )

    def delete_membership(self, pool_id: str, agent_id: str) -> bool:
        cur = self._exec("DELETE FROM memberships WHERE pool_id = ? AND agent_id = ?", (pool_id, agent_id))
        return int(cur.rowcount) > 0

    def list_members(self, pool_id: str) -> list[Membership]:
        rows = self._all(
            f"SELECT {MEMBER_COLUMNS} FROM memberships WHERE pool_id = ? ORDER BY joined_at, agent_id", (pool_id,)
        )
        return [member_from_row(r) for r in rows]

    def count_members(self, pool_id: str) -> int:
        return self._count("SELECT COUNT(*) FROM memberships WHERE pool_id = ?", (pool_id,))

    # shared memories
    def get_share(self, pool_id: str, memory_id: str) -> SharedMemory | None:
        row = self._one(
            f"SELECT {_S_COLUMNS} FROM {_SHARES_JOIN} WHERE s.pool_id = ? AND s.memory_id = ?", (pool_id, memory_id)
        )
        return None if row is None else share_from_row(row)

    def upsert_share(self, share: SharedMemory, limit: int | None = None) -> None:
        tail: tuple[Any, ...] = ()
        if self._d.name == "postgres":  # one statement, sent later: a re-share takes a new seq (the newest)
            cap = _NO_LIMIT if limit is None else limit
            message = f"pool {share.pool_id} or the share of {share.memory_id} in it changed concurrently"
            run, sql, tail = self._exec_later, _PG_UPSERT_SHARE, (share.pool_id, cap, share.pool_id, message)
        else:  # SQLite: writers run one at a time, so what the core read (count, author) still holds
            self.delete_share(share.pool_id, share.memory_id)
            self._exec("UPDATE pools SET share_count = share_count + 1 WHERE pool_id = ?", (share.pool_id,))
            run, sql = self._exec, _INSERT_SHARE
        run(
            sql,
            (
                share.pool_id,
                share.memory_id,
                share.author_id,
                share.scope.level,
                share.owner_id,
                share.project_id,
                share.team_id,
                share.shared_at,
                dump(share.metadata),
                *tail,
            ),
        )

    def delete_share(self, pool_id: str, memory_id: str) -> bool:
        cur = self._exec("DELETE FROM shared_memories WHERE pool_id = ? AND memory_id = ?", (pool_id, memory_id))
        deleted = int(cur.rowcount)
        if deleted:
            self._exec("UPDATE pools SET share_count = share_count - ? WHERE pool_id = ?", (deleted, pool_id))
        return deleted > 0

    def count_shares(self, pool_id: str) -> int:
        row = self._one("SELECT share_count FROM pools WHERE pool_id = ?", (pool_id,))
        return 0 if row is None else int(row[0])

    def query_shares(self, pool_id: str, audience: AudienceFilter, limit: int, offset: int = 0) -> list[SharedMemory]:
        ors: list[str] = []
        params: list[Any] = [pool_id]
        for clause in audience.clauses:
            if clause.column is None:
                ors.append(f"s.scope_level = {int(clause.level)}")
            else:
                ors.append(f"(s.scope_level = {int(clause.level)} AND s.{clause.column} <=> ?)")
                params.append(clause.value)
        if not ors:
            return []
        sql = (
            f"SELECT {_S_COLUMNS} FROM {_SHARES_JOIN} WHERE s.pool_id = ? AND ({' OR '.join(ors)}) "
            "ORDER BY s.seq DESC LIMIT ? OFFSET ?"
        )
        return [share_from_row(r) for r in self._all(sql, [*params, limit, offset])]

    def shares_by_memory_ids(self, memory_ids: Sequence[str]) -> list[SharedMemory]:
        found: list[SharedMemory] = []
        for chunk in iter_chunks(list(dict.fromkeys(memory_ids)), 500):
            marks = ", ".join("?" * len(chunk))
            rows = self._all(
                f"SELECT {_S_COLUMNS} FROM {_SHARES_JOIN} WHERE s.memory_id IN ({marks}) ORDER BY s.seq", chunk
            )
            found.extend(share_from_row(r) for r in rows)
        return found

    # handoffs
    def get_handoff(self, handoff_id: str) -> Handoff | None:
        row = self._one(f"SELECT {HANDOFF_COLUMNS} FROM handoffs WHERE handoff_id = ?", (handoff_id,))
        return None if row is None else handoff_from_row(row)

    def insert_handoff(self, handoff: Handoff) -> None:
        insert = f"INSERT INTO handoffs ({HANDOFF_COLUMNS}) VALUES ({', '.join('?' * 12)})"
        if self._d.name == "postgres":  # one statement, sent later: the count moves in it too
            self._exec_later(
                f"WITH ins AS ({insert}) UPDATE counters SET value = value + 1 WHERE name = 'handoffs'",
                handoff_params(handoff),
            )
            return
        self._exec(insert, handoff_params(handoff))
        self._bump("handoffs", 1)

    def transition_handoff(self, handoff_id: str, expected: Iterable[HandoffStatus], new: Handoff) -> bool:
        sql, params = _transition(handoff_id, expected, new)
        return int(self._exec(sql, params).rowcount) == 1

    def move_handoff(self, handoff_id: str, expected: Iterable[HandoffStatus], new: Handoff) -> None:
        if self._d.name != "postgres":
            super().move_handoff(handoff_id, expected, new)
            return
        sql, params = _transition(handoff_id, expected, new)  # sent later: the statement fails on no row
        refusal = f"handoff {handoff_id} changed state concurrently"
        self._exec_later(
            f"WITH u AS ({sql} RETURNING 1) SELECT CASE WHEN EXISTS (SELECT 1 FROM u) THEN 1 ELSE maas_refuse(?) END",
            (*params, refusal),
        )

    def list_handoffs(
        self,
        *,
        target_id: str | None = None,
        source_id: str | None = None,
        statuses: Iterable[HandoffStatus] | None = None,
        expires_before: float | None = None,
        limit: int | None = None,
    ) -> list[Handoff]:
        clauses, params = _handoff_filters(target_id, source_id, statuses)
        if expires_before is not None:
            clauses.append("expires_at <= ?")
            params.append(expires_before)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        tail = " LIMIT ?" if limit is not None else ""
        params += [limit] if limit is not None else []
        rows = self._all(
            f"SELECT {HANDOFF_COLUMNS} FROM handoffs {where} ORDER BY created_at, handoff_id{tail}", params
        )
        return [handoff_from_row(r) for r in rows]

    def count_handoffs(self, *, target_id: str | None = None, status: HandoffStatus | None = None) -> int:
        if target_id is None and status is None:
            return self._counter("handoffs")
        clauses, params = _handoff_filters(target_id, None, None if status is None else [status])
        return self._count(f"SELECT COUNT(*) FROM handoffs WHERE {' AND '.join(clauses)}", params)

    def delete_handoffs(self, statuses: Iterable[HandoffStatus], finished_before: float) -> int:
        clauses, params = _handoff_filters(None, None, statuses)
        cur = self._exec(f"DELETE FROM handoffs WHERE {clauses[0]} AND finished_at < ?", [*params, finished_before])
        deleted = int(cur.rowcount)
        self._bump("handoffs", -deleted)
        return deleted

    # events
    def append_event(self, kind: EventKind, timestamp: float, pool_id: str | None, data: dict[str, Any]) -> int:
        row = self._one("UPDATE counters SET value = value + 1 WHERE name = 'events' RETURNING value")
        seq = int(row[0])
        self._exec(
            f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
            (seq, kind.value, timestamp, pool_id, dump(data)),
        )
        if self._d.notify_sql:
            self._exec(self._d.notify_sql, (str(seq),))
        return seq

    def read_events(self, after_seq: int, pool_id: str | None, limit: int) -> list[MaaSEvent]:
        where, params = (
            ("seq > ?", [after_seq]) if pool_id is None else ("seq > ? AND pool_id = ?", [after_seq, pool_id])
        )
        rows = self._all(f"SELECT {EVENT_COLUMNS} FROM events WHERE {where} ORDER BY seq LIMIT ?", [*params, limit])
        return [event_from_row(r) for r in rows]

    def event_head(self) -> int:
        return self._counter("events")

    def delete_events(self, before: float) -> int:
        return int(self._exec("DELETE FROM events WHERE timestamp < ?", (before,)).rowcount)


def _transition(handoff_id: str, expected: Iterable[HandoffStatus], new: Handoff) -> tuple[str, tuple[Any, ...]]:
    states = [s.value for s in expected]
    p = handoff_params(new)
    sql = (
        "UPDATE handoffs SET status = ?, updated_at = ?, accepted_at = ?, finished_at = ?, result = ?, reason = ? "
        f"WHERE handoff_id = ? AND status IN ({', '.join('?' * len(states))})"
    )
    return sql, (p[4], p[7], p[8], p[9], p[10], p[11], handoff_id, *states)


def _handoff_filters(
    target_id: str | None, source_id: str | None, statuses: Iterable[HandoffStatus] | None
) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if statuses is not None:
        states = [s.value for s in statuses]
        clauses.append(f"status IN ({', '.join('?' * len(states))})")
        params += states
    if target_id is not None:
        clauses.append("target_agent_id = ?")
        params.append(target_id)
    if source_id is not None:
        clauses.append("source_agent_id = ?")
        params.append(source_id)
    return clauses, params
