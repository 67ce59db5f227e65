"""SQL shared by the relational backends: one :class:`SqlTx` over a DB-API cursor and a dialect.

Query text is written once with ``?`` placeholders; :class:`Dialect` adapts it (``%s`` for
psycopg, NULL-safe equality, row locks). The backends only manage connections and
transactions.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from maas_langchain.core.enums import (
    AgentCapability,
    AgentType,
    AuditEventType,
    HandoffStatus,
    PermissionModel,
    PoolStatus,
    SharedScope,
)
from maas_langchain.core.policy import AudienceFilter
from maas_langchain.core.records import Agent, AuditEvent, Handoff, HandoffContext, Membership, Pool, SharedMemory
from maas_langchain.storage.base import AuditQuery, StateTx, iter_chunks

__all__ = ["POSTGRES", "SQLITE", "Dialect", "SqlTx"]

_AGENT = "agent_id, agent_type, owner_id, name, project_id, team_id, capabilities, active, metadata, created_at"
_POOL = "pool_id, name, owner_id, scope, status, metadata, created_at"
_MEMBER = "pool_id, agent_id, permission, joined_at"
_SHARE = "pool_id, memory_id, author_id, scope_level, owner_id, project_id, team_id, shared_at, metadata, seq"
_HANDOFF = (
    "handoff_id, source_agent_id, target_agent_id, context, status, created_at, expires_at, updated_at, "
    "accepted_at, finished_at, result, reason"
)
_AUDIT = "seq, timestamp, event_type, action, actor, target, outcome, reason, details, prev_hash, hash"


@dataclass(frozen=True)
class Dialect:
    """How one SQL engine spells the few things that differ."""

    name: str
    placeholder: str
    null_safe_eq: str
    for_update: str
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
POSTGRES = Dialect("postgres", "%s", "IS NOT DISTINCT FROM", " FOR UPDATE")


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@functools.lru_cache(maxsize=256)
def _capabilities(text: str) -> frozenset[AgentCapability]:
    return frozenset(AgentCapability(c) for c in json.loads(text))


def _json_dict(text: str) -> dict[str, Any]:
    return {} if text == "{}" else dict(json.loads(text))


def _agent(row: Sequence[Any]) -> Agent:
    return Agent(
        agent_id=row[0],
        agent_type=AgentType(row[1]),
        owner_id=row[2],
        name=row[3],
        project_id=row[4],
        team_id=row[5],
        capabilities=_capabilities(row[6]),
        active=bool(row[7]),
        metadata=_json_dict(row[8]),
        created_at=row[9],
    )


def _pool(row: Sequence[Any]) -> Pool:
    return Pool(row[0], row[1], row[2], SharedScope(row[3]), row[6], PoolStatus(row[4]), _json_dict(row[5]))


def _member(row: Sequence[Any]) -> Membership:
    return Membership(row[0], row[1], PermissionModel(row[2]), row[3])


def _share(row: Sequence[Any]) -> SharedMemory:
    return SharedMemory(
        pool_id=row[0],
        memory_id=row[1],
        author_id=row[2],
        scope=SharedScope.from_level(row[3]),
        owner_id=row[4],
        project_id=row[5],
        team_id=row[6],
        shared_at=row[7],
        metadata=_json_dict(row[8]),
        seq=row[9],
    )


def _handoff(row: Sequence[Any]) -> Handoff:
    return Handoff(
        handoff_id=row[0],
        source_agent_id=row[1],
        target_agent_id=row[2],
        context=HandoffContext.from_dict(json.loads(row[3])),
        status=HandoffStatus(row[4]),
        created_at=row[5],
        expires_at=row[6],
        updated_at=row[7],
        accepted_at=row[8],
        finished_at=row[9],
        result=None if row[10] is None else json.loads(row[10]),
        reason=row[11],
    )


def _audit(row: Sequence[Any]) -> AuditEvent:
    return AuditEvent(
        seq=row[0],
        timestamp=row[1],
        event_type=AuditEventType(row[2]),
        action=row[3],
        actor=row[4],
        target=row[5],
        outcome=row[6],
        reason=row[7],
        details=json.loads(row[8]),
        prev_hash=row[9],
        hash=row[10],
    )


class SqlTx(StateTx):
    """Record operations as SQL on one cursor inside a transaction the backend opened."""

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self._cur = cursor
        self._d = dialect

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self._cur.execute(self._d.sql(sql), tuple(params))
        return self._cur

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._exec(sql, params).fetchone()

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self._exec(sql, params).fetchall())

    def _count(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int(self._one(sql, params)[0])

    def _bump(self, name: str, delta: int) -> None:
        if delta:
            self._exec("UPDATE counters SET value = value + ? WHERE name = ?", (delta, name))

    def _counter(self, name: str) -> int:
        return self._count("SELECT value FROM counters WHERE name = ?", (name,))

    # agents
    def get_agent(self, agent_id: str) -> Agent | None:
        row = self._one(f"SELECT {_AGENT} FROM agents WHERE agent_id = ?", (agent_id,))
        return None if row is None else _agent(row)

    def insert_agent(self, agent: Agent) -> None:
        caps = _dump(sorted(c.value for c in agent.capabilities))
        self._exec(
            f"INSERT INTO agents ({_AGENT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                agent.agent_id,
                agent.agent_type.value,
                agent.owner_id,
                agent.name,
                agent.project_id,
                agent.team_id,
                caps,
                int(agent.active),
                _dump(agent.metadata),
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
        rows = self._all(f"SELECT {_AGENT} FROM agents {where} ORDER BY created_at, agent_id", params)
        return [_agent(r) for r in rows]

    def count_agents(self) -> int:
        return self._counter("agents")

    # pools and memberships
    def get_pool(self, pool_id: str) -> Pool | None:
        row = self._one(f"SELECT {_POOL} FROM pools WHERE pool_id = ?", (pool_id,))
        return None if row is None else _pool(row)

    def insert_pool(self, pool: Pool) -> None:
        self._exec(
            f"INSERT INTO pools ({_POOL}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                pool.pool_id,
                pool.name,
                pool.owner_id,
                pool.scope.value,
                pool.status.value,
                _dump(pool.metadata),
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
        return [_pool(r) for r in self._all(f"SELECT {_POOL} FROM pools {where} ORDER BY created_at, pool_id", params)]

    def count_pools(self) -> int:
        return self._counter("pools")

    def get_membership(self, pool_id: str, agent_id: str) -> Membership | None:
        row = self._one(f"SELECT {_MEMBER} FROM memberships WHERE pool_id = ? AND agent_id = ?", (pool_id, agent_id))
        return None if row is None else _member(row)

    def upsert_membership(self, membership: Membership) -> None:
        self._exec(
            f"INSERT INTO memberships ({_MEMBER}) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (pool_id, agent_id) DO UPDATE SET permission = excluded.permission",
            (membership.pool_id, membership.agent_id, membership.permission.value, membership.joined_at),
        )

    def delete_membership(self, pool_id: str, agent_id: str) -> bool:
        cur = self._exec("DELETE FROM memberships WHERE pool_id = ? AND agent_id = ?", (pool_id, agent_id))
        return int(cur.rowcount) > 0

    def list_members(self, pool_id: str) -> list[Membership]:
        rows = self._all(
            f"SELECT {_MEMBER} FROM memberships WHERE pool_id = ? ORDER BY joined_at, agent_id", (pool_id,)
        )
        return [_member(r) for r in rows]

    def count_members(self, pool_id: str) -> int:
        return self._count("SELECT COUNT(*) FROM memberships WHERE pool_id = ?", (pool_id,))

    # shared memories
    def get_share(self, pool_id: str, memory_id: str) -> SharedMemory | None:
        row = self._one(
            f"SELECT {_SHARE} FROM shared_memories WHERE pool_id = ? AND memory_id = ?", (pool_id, memory_id)
        )
        return None if row is None else _share(row)

    def upsert_share(self, share: SharedMemory) -> SharedMemory:
        self.delete_share(share.pool_id, share.memory_id)
        self._exec("UPDATE pools SET share_count = share_count + 1 WHERE pool_id = ?", (share.pool_id,))
        row = self._one(
            f"INSERT INTO shared_memories ({_SHARE.removesuffix(', seq')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING seq",
            (
                share.pool_id,
                share.memory_id,
                share.author_id,
                share.scope.level,
                share.owner_id,
                share.project_id,
                share.team_id,
                share.shared_at,
                _dump(share.metadata),
            ),
        )
        return SharedMemory(**{**share.__dict__, "seq": int(row[0])})

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
                ors.append(f"scope_level = {int(clause.level)}")
            else:
                ors.append(f"(scope_level = {int(clause.level)} AND {clause.column} <=> ?)")
                params.append(clause.value)
        if not ors:
            return []
        sql = (
            f"SELECT {_SHARE} FROM shared_memories WHERE pool_id = ? AND ({' OR '.join(ors)}) "
            "ORDER BY seq DESC LIMIT ? OFFSET ?"
        )
        return [_share(r) for r in self._all(sql, [*params, limit, offset])]

    def shares_by_memory_ids(self, memory_ids: Sequence[str]) -> list[SharedMemory]:
        found: list[SharedMemory] = []
        for chunk in iter_chunks(list(dict.fromkeys(memory_ids)), 500):
            marks = ", ".join("?" * len(chunk))
            rows = self._all(f"SELECT {_SHARE} FROM shared_memories WHERE memory_id IN ({marks}) ORDER BY seq", chunk)
            found.extend(_share(r) for r in rows)
        return found

    # handoffs
    def get_handoff(self, handoff_id: str) -> Handoff | None:
        row = self._one(f"SELECT {_HANDOFF} FROM handoffs WHERE handoff_id = ?", (handoff_id,))
        return None if row is None else _handoff(row)

    def insert_handoff(self, handoff: Handoff) -> None:
        marks = ", ".join("?" * 12)
        self._exec(f"INSERT INTO handoffs ({_HANDOFF}) VALUES ({marks})", _handoff_params(handoff))
        self._bump("handoffs", 1)

    def transition_handoff(self, handoff_id: str, expected: Iterable[HandoffStatus], new: Handoff) -> bool:
        states = [s.value for s in expected]
        marks = ", ".join("?" * len(states))
        p = _handoff_params(new)
        cur = self._exec(
            "UPDATE handoffs SET status = ?, updated_at = ?, accepted_at = ?, finished_at = ?, result = ?, reason = ? "
            f"WHERE handoff_id = ? AND status IN ({marks})",
            (p[4], p[7], p[8], p[9], p[10], p[11], handoff_id, *states),
        )
        return int(cur.rowcount) == 1

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
        rows = self._all(f"SELECT {_HANDOFF} FROM handoffs {where} ORDER BY created_at, handoff_id{tail}", params)
        return [_handoff(r) for r in rows]

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

    # audit
    def lock_audit_head(self) -> tuple[int, str]:
        row = self._one(f"SELECT seq, hash FROM audit_head WHERE id = 1{self._d.for_update}")
        return int(row[0]), str(row[1])

    def append_audit(self, event: AuditEvent) -> None:
        self._exec(
            f"INSERT INTO audit_log ({_AUDIT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.seq,
                event.timestamp,
                event.event_type.value,
                event.action,
                event.actor,
                event.target,
                event.outcome,
                event.reason,
                _dump(event.details),
                event.prev_hash,
                event.hash,
            ),
        )
        self._exec("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (event.seq, event.hash))

    def query_audit(self, query: AuditQuery) -> list[AuditEvent]:
        clauses: list[str] = ["seq > ?"]
        params: list[Any] = [query.after_seq]
        for column, value in (
            ("event_type", query.event_type and query.event_type.value),
            ("actor", query.actor),
            ("target", query.target),
            ("outcome", query.outcome),
            ("action", query.action),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if query.since is not None:
            clauses.append("timestamp >= ?")
            params.append(query.since)
        if query.until is not None:
            clauses.append("timestamp <= ?")
            params.append(query.until)
        order = "DESC" if query.newest_first else "ASC"
        sql = f"SELECT {_AUDIT} FROM audit_log WHERE {' AND '.join(clauses)} ORDER BY seq {order} LIMIT ?"
        return [_audit(r) for r in self._all(sql, [*params, query.limit])]

    def count_audit(self) -> int:
        return self._count("SELECT seq FROM audit_head WHERE id = 1")


def _handoff_params(h: Handoff) -> tuple[Any, ...]:
    return (
        h.handoff_id,
        h.source_agent_id,
        h.target_agent_id,
        _dump(h.context.to_dict()),
        h.status.value,
        h.created_at,
        h.expires_at,
        h.updated_at,
        h.accepted_at,
        h.finished_at,
        None if h.result is None else _dump(h.result),
        h.reason,
    )


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
