"""SQL for memories, sessions and settings, mixed into :class:`~maas_langchain.backends.sql.SqlTx`.

Scope filters become ``scope_key IN (prefixes of Q) OR EXISTS (prefix row = Q)``, both
indexed; full-text search is FTS5 ``bm25()`` on SQLite and ``ts_rank`` over a generated
``tsvector`` on PostgreSQL, joined to the same scope filter so nothing outside the reader's
scope is ever scored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from maas_langchain.backends.sql_cursor import SqlCursorOps
from maas_langchain.core.enums import MemoryStatus
from maas_langchain.core.ports.filters import SCOPE_SEPARATOR, ScopeFilter
from maas_langchain.core.ports.state import NewMemory, StoredMemory, iter_chunks
from maas_langchain.core.records import Memory, MemorySession

__all__ = ["MEMORY_COLUMNS", "SqlMemoryOps", "scope_ranges", "scope_sql", "scope_token"]

MEMORY_COLUMNS = (
    "memory_id, content, category, scope, created_at, author_id, session_id, pool_id, metadata, "
    "valid_from, valid_to, status, supersedes, superseded_by, screening, seq, prev_id"
)
_M_COLUMNS = ", ".join(f"m.{c.strip()}" for c in MEMORY_COLUMNS.split(","))
_SESSION_COLUMNS = "session_id, scope, agent_id, created_at, closed_at, last_memory_id"
_CURRENT = "m.status = 'active' AND m.valid_to IS NULL"


def scope_token(canonical: str) -> str:
    """A full-text token standing for one canonical scope: digits only, so no tokenizer or
    stemmer changes it."""
    return "9" + str(int(hashlib.sha1(canonical.encode("utf-8")).hexdigest()[:15], 16))


def memory_from_row(row: Sequence[Any]) -> Memory:
    """Decode the first columns of a row selected with ``MEMORY_COLUMNS``."""
    return Memory(
        memory_id=row[0],
        content=row[1],
        category=row[2],
        scope=json.loads(row[3]),
        created_at=row[4],
        author_id=row[5],
        session_id=row[6],
        pool_id=row[7],
        metadata=json.loads(row[8]),
        valid_from=row[9],
        valid_to=row[10],
        status=MemoryStatus(row[11]),
        supersedes=row[12],
        superseded_by=row[13],
        screening=tuple(json.loads(row[14])),
        seq=int(row[15]),
    )


def _stored(row: Sequence[Any], with_vector: bool) -> StoredMemory:
    vector = bytes(row[17]) if with_vector and row[17] is not None else None
    return StoredMemory(memory_from_row(row), vector, row[16])


def scope_sql(scope: ScopeFilter, alias: str = "m", seq_column: str = "seq") -> tuple[str, list[Any]]:
    """SQL condition and its parameters for a reader's scope filter, on the row ``alias`` with a
    ``scope_key`` column and ``seq_column`` holding its memory's ``seq`` (``m.seq`` for a memory;
    ``f.memory_seq`` for a fact, which is visible where the memory it came from is)."""
    marks = ", ".join("?" for _ in scope.ancestors)
    ors, params = [f"{alias}.scope_key IN ({marks})"], list(scope.ancestors)
    if scope.descendant_of is not None:
        ors.append(
            f"EXISTS (SELECT 1 FROM memory_scopes s WHERE s.sub_key = ? AND s.memory_seq = {alias}.{seq_column})"
        )
        params.append(scope.descendant_of)
    return "(" + " OR ".join(ors) + ")", params


_AFTER_SEPARATOR = chr(ord(SCOPE_SEPARATOR) + 1)  # "}": the first string after every "d|..."


def scope_ranges(scope: ScopeFilter, alias: str = "m") -> list[tuple[str, list[Any]]]:
    """:func:`scope_sql`'s filter as disjoint conditions on the ``scope_key`` column alone (the
    same set, :meth:`ScopeFilter.admits`): the exact keys (the ancestors and ``d`` itself), and the
    scopes below ``d``, which start with ``d + "|"`` and so lie in ``[d + "|", d + "}")`` in byte
    order (the column is BINARY on SQLite and ``COLLATE "C"`` on PostgreSQL). Each is a range of
    the ``(scope_key, status)`` index, so a count over them reads index entries only, and only
    those of the scope (``scope_sql``'s ``OR EXISTS`` visits every memory of the store)."""
    d = scope.descendant_of
    keys = list(dict.fromkeys((*scope.ancestors, *(() if d is None else (d,)))))
    out = [(f"{alias}.scope_key IN ({', '.join('?' for _ in keys)})", list(keys))] if keys else []
    if d is not None:
        out.append((f"{alias}.scope_key >= ? AND {alias}.scope_key < ?", [d + SCOPE_SEPARATOR, d + _AFTER_SEPARATOR]))
    return out


def _counted_sql(scope: ScopeFilter, quarantined_author: str | None, select: str, tail: str) -> tuple[str, list[Any]]:
    """The memories a count sees, as a ``UNION ALL`` of index ranges (one per scope range, and with
    ``quarantined_author`` the quarantined ones apart: only its own count, looked up through the
    ``(scope_key, status)`` index, never the author's index, which may hold 50,000 rows)."""
    statuses: list[tuple[str, list[Any]]] = [("", [])]
    if quarantined_author is not None:
        statuses = [
            (" AND m.status <> 'quarantined'", []),
            (" AND m.status = 'quarantined' AND COALESCE(m.author_id, '') = ?", [quarantined_author]),
        ]
    parts: list[str] = []
    params: list[Any] = []
    for cond, values in scope_ranges(scope):
        for extra, more in statuses:
            parts.append(f"SELECT {select} FROM memories m WHERE {cond}{extra}{tail}")
            params += [*values, *more]
    if not parts:
        return f"SELECT {select} FROM memories m WHERE 1 = 0{tail}", []
    return " UNION ALL ".join(parts), params


class SqlMemoryOps(SqlCursorOps):
    """Memory, session and settings operations; needs ``_exec/_one/_all/_bump/_counter/_d``."""

    # memories
    def insert_memory(self, new: NewMemory) -> Memory:
        m = new.memory
        row = self._one(
            "INSERT INTO memories (memory_id, content, search_text, scope_tokens, sub_tokens, category, scope_key, "
            "scope, author_id, session_id, pool_id, metadata, created_at, valid_from, valid_to, status, supersedes, "
            "superseded_by, screening, prev_id, vector, dirty) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
            (
                m.memory_id,
                m.content,
                new.search_text,
                "" if new.scope_key is None else scope_token(new.scope_key),
                " ".join(scope_token(k) for k in new.scope_prefixes),
                m.category,
                new.scope_key,
                json.dumps(m.scope, sort_keys=True),
                m.author_id,
                m.session_id,
                m.pool_id,
                json.dumps(m.metadata, sort_keys=True),
                m.created_at,
                m.valid_from,
                m.valid_to,
                m.status.value,
                m.supersedes,
                m.superseded_by,
                json.dumps(list(m.screening)),
                new.prev_id,
                new.vector,
                int(new.dirty),
            ),
        )
        seq = int(row[0])
        for sub_key in new.scope_prefixes:
            self._exec("INSERT INTO memory_scopes (sub_key, memory_seq) VALUES (?, ?)", (sub_key, seq))
        self._bump("memories", 1)
        self._bump_generation()
        return Memory(**{**m.__dict__, "seq": seq})

    def get_memories(self, memory_ids: Sequence[str], *, scope: ScopeFilter | None = None) -> list[StoredMemory]:
        found: list[StoredMemory] = []
        cond, extra = ("", []) if scope is None else scope_sql(scope)
        for chunk in iter_chunks(list(dict.fromkeys(memory_ids)), 500):
            marks = ", ".join("?" for _ in chunk)
            where = f"m.memory_id IN ({marks})" + (f" AND {cond}" if cond else "")
            rows = self._all(f"SELECT {_M_COLUMNS}, m.vector FROM memories m WHERE {where}", [*chunk, *extra])
            found.extend(_stored(r, True) for r in rows)
        return found

    def set_memory_status(
        self, memory_id: str, status: MemoryStatus, *, valid_to: float | None, superseded_by: str | None = None
    ) -> bool:
        cur = self._exec(
            "UPDATE memories SET status = ?, valid_to = ?, superseded_by = COALESCE(?, superseded_by), dirty = 1 "
            "WHERE memory_id = ?",
            (status.value, valid_to, superseded_by, memory_id),
        )
        changed = int(cur.rowcount) > 0
        if changed:
            self._bump_generation()
        return changed

    def _bump_generation(self) -> None:
        # an upsert: the row appears on the first write, so no migration is needed for it
        self._exec(
            "INSERT INTO counters (name, value) VALUES ('memory_generation', 1) "
            "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
        )

    def memory_generation(self) -> int:
        row = self._one("SELECT value FROM counters WHERE name = 'memory_generation'")
        return 0 if row is None else int(row[0])

    def count_scoped_memories(self, scope: ScopeFilter, limit: int) -> int:
        marks = ", ".join("?" for _ in scope.ancestors)
        sql = f"SELECT 1 FROM memories WHERE scope_key IN ({marks})"
        params: list[Any] = list(scope.ancestors)
        if scope.descendant_of is not None:
            sql += " UNION ALL SELECT 1 FROM memory_scopes WHERE sub_key = ?"
            params.append(scope.descendant_of)
        return int(self._one(f"SELECT COUNT(*) FROM ({sql} LIMIT ?) c", [*params, limit])[0])

    def count_memories_by_scope(
        self, scope: ScopeFilter, limit: int, *, quarantined_author: str | None = None
    ) -> list[tuple[str, int]]:
        sql, params = _counted_sql(
            scope, quarantined_author, "m.scope_key AS k, COUNT(*) AS n", " GROUP BY m.scope_key"
        )
        rows = self._all(f"SELECT c.k, SUM(c.n) FROM ({sql}) c GROUP BY c.k ORDER BY c.k LIMIT ?", [*params, limit])
        return [(str(r[0]), int(r[1])) for r in rows]

    def count_visible_memories(self, scope: ScopeFilter, cap: int, *, quarantined_author: str | None = None) -> int:
        sql, params = _counted_sql(scope, quarantined_author, "1", "")
        return int(self._one(f"SELECT COUNT(*) FROM ({sql} LIMIT ?) c", [*params, cap])[0])

    def lexical_search(self, terms: Sequence[str], scope: ScopeFilter, limit: int) -> list[tuple[str, float]]:
        if not terms:
            return []
        cond, params = scope_sql(scope)
        if self._d.name == "postgres":
            sql = (
                "SELECT m.memory_id, ts_rank(m.search_tsv, q) AS r FROM memories m, to_tsquery('english', ?) q "
                f"WHERE m.search_tsv @@ q AND {_CURRENT} AND {cond} ORDER BY r DESC, m.seq DESC LIMIT ?"
            )
            query = " | ".join(terms)
            return [(r[0], float(r[1])) for r in self._all(sql, [query, *params, limit])]
        words = " OR ".join(f'"{t}"' for t in terms)
        own = " OR ".join(f'"{scope_token(a)}"' for a in scope.ancestors)
        where = f"scope_tokens : ({own})"
        if scope.descendant_of is not None:
            where = f'({where} OR sub_tokens : "{scope_token(scope.descendant_of)}")'
        query = f"search_text : ({words}) AND {where}"
        # Rank inside FTS5 first (scope already matched by the index tokens), then join only the
        # best rows and re-check status and scope: joining every match before sorting cost 100 ms
        # on a 100k org scope. Superseded and deleted rows stay in the FTS table, so when too few
        # survive the re-check, widen the inner window and try again.
        sql = (
            "SELECT m.memory_id, -f.b FROM (SELECT rowid, bm25(memories_fts, 1.0, 0.0, 0.0) AS b FROM memories_fts "
            "WHERE memories_fts MATCH ? ORDER BY b LIMIT ?) f JOIN memories m ON m.seq = f.rowid "
            f"WHERE {_CURRENT} AND {cond} ORDER BY f.b LIMIT ?"
        )
        window = max(2 * limit, 32)
        while True:
            rows = self._all(sql, [query, window, *params, limit])
            if len(rows) >= limit:
                break
            inner = self._one(
                "SELECT COUNT(*) FROM (SELECT 1 FROM memories_fts WHERE memories_fts MATCH ? LIMIT ?)", [query, window]
            )
            if int(inner[0]) < window:  # every match was seen: nothing more to find
                break
            window *= 4
        return [(r[0], float(r[1])) for r in rows]

    def list_memories(
        self,
        *,
        scope: ScopeFilter | None = None,
        statuses: Sequence[MemoryStatus] | None = None,
        after_seq: int = 0,
        limit: int = 1_000,
        with_vectors: bool = False,
        newest_first: bool = False,
    ) -> list[StoredMemory]:
        conds: list[str] = ["m.seq > ?"]
        params: list[Any] = [after_seq]
        if scope is not None:
            cond, extra = scope_sql(scope)
            conds.append(cond)
            params.extend(extra)
        if statuses is not None:
            conds.append("m.status IN (" + ", ".join("?" for _ in statuses) + ")")
            params.extend(s.value for s in statuses)
        vector = "m.vector" if with_vectors else "NULL"
        rows = self._all(
            f"SELECT {_M_COLUMNS}, {vector} FROM memories m WHERE {' AND '.join(conds)} "
            f"ORDER BY m.seq{' DESC' if newest_first else ''} LIMIT ?",
            [*params, limit],
        )
        return [_stored(r, with_vectors) for r in rows]

    def scoped_memory_ids(self, scope: ScopeFilter, limit: int) -> list[str]:
        # a UNION of two index lookups: an OR across the two access paths would scan the table
        marks = ", ".join("?" for _ in scope.ancestors)
        sql = f"SELECT m.memory_id FROM memories m WHERE m.scope_key IN ({marks}) AND {_CURRENT}"
        params: list[Any] = list(scope.ancestors)
        if scope.descendant_of is not None:
            # UNION ALL (no de-duplication over the whole scope); a memory at exactly the query
            # scope comes twice, so read up to twice the limit and de-duplicate here
            sql += (
                " UNION ALL SELECT m.memory_id FROM memory_scopes s JOIN memories m ON m.seq = s.memory_seq "
                f"WHERE s.sub_key = ? AND {_CURRENT}"
            )
            params.append(scope.descendant_of)
        rows = self._all(f"{sql} LIMIT ?", [*params, 2 * limit])
        return list(dict.fromkeys(r[0] for r in rows))[:limit]

    def in_scope(self, memory_ids: Sequence[str], scope: ScopeFilter) -> list[str]:
        found: list[str] = []
        cond, extra = scope_sql(scope)
        for chunk in iter_chunks(list(dict.fromkeys(memory_ids)), 500):
            marks = ", ".join("?" for _ in chunk)
            sql = f"SELECT m.memory_id FROM memories m WHERE m.memory_id IN ({marks}) AND {_CURRENT} AND {cond}"
            found.extend(r[0] for r in self._all(sql, [*chunk, *extra]))
        return found

    def memory_vectors(self, memory_ids: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for chunk in iter_chunks(list(dict.fromkeys(memory_ids)), 500):
            marks = ", ".join("?" for _ in chunk)
            rows = self._all(f"SELECT memory_id, vector FROM memories WHERE memory_id IN ({marks})", chunk)
            found.update((r[0], bytes(r[1])) for r in rows if r[1] is not None)
        return found

    def count_memories(self) -> int:
        return self._counter("memories")

    def dirty_memories(self, limit: int) -> list[StoredMemory]:
        rows = self._all(
            f"SELECT {_M_COLUMNS}, m.vector FROM memories m WHERE m.dirty = 1 ORDER BY m.seq LIMIT ?", (limit,)
        )
        return [_stored(r, True) for r in rows]

    def mark_indexed(self, memory_ids: Sequence[str]) -> None:
        for chunk in iter_chunks(list(memory_ids), 500):
            marks = ", ".join("?" for _ in chunk)
            self._exec(f"UPDATE memories SET dirty = 0 WHERE memory_id IN ({marks})", chunk)

    def mark_all_dirty(self) -> int:
        self._exec("UPDATE memories SET dirty = 1")
        return int(self._one("SELECT COUNT(*) FROM memories")[0])

    def memory_by_digest(self, digest: str) -> str | None:
        row = self._one("SELECT memory_id FROM memory_digests WHERE digest = ?", (digest,))
        return None if row is None else str(row[0])

    def set_memory_digest(self, digest: str, memory_id: str) -> None:
        self._exec(
            "INSERT INTO memory_digests (digest, memory_id) VALUES (?, ?) "
            "ON CONFLICT (digest) DO UPDATE SET memory_id = excluded.memory_id",
            (digest, memory_id),
        )

    def get_setting(self, name: str) -> str | None:
        row = self._one("SELECT value FROM settings WHERE name = ?", (name,))
        return None if row is None else str(row[0])

    def set_setting(self, name: str, value: str) -> None:
        self._exec("DELETE FROM settings WHERE name = ?", (name,))
        self._exec("INSERT INTO settings (name, value) VALUES (?, ?)", (name, value))

    # sessions
    def insert_session(self, session: MemorySession) -> None:
        self._exec(
            f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (
                session.session_id,
                json.dumps(session.scope, sort_keys=True),
                session.agent_id,
                session.created_at,
                session.closed_at,
                session.last_memory_id,
            ),
        )
        if session.closed_at is None:
            self._bump("open_sessions", 1)

    def get_session(self, session_id: str) -> MemorySession | None:
        row = self._one(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE session_id = ?", (session_id,))
        if row is None:
            return None
        return MemorySession(row[0], json.loads(row[1]), row[3], row[2], row[4], row[5])

    def close_session(self, session_id: str, closed_at: float) -> bool:
        cur = self._exec(
            "UPDATE sessions SET closed_at = ? WHERE session_id = ? AND closed_at IS NULL", (closed_at, session_id)
        )
        closed = int(cur.rowcount)
        self._bump("open_sessions", -closed)
        return closed > 0

    def set_session_last_memory(self, session_id: str, memory_id: str) -> None:
        self._exec("UPDATE sessions SET last_memory_id = ? WHERE session_id = ?", (memory_id, session_id))

    def count_open_sessions(self) -> int:
        return self._counter("open_sessions")
