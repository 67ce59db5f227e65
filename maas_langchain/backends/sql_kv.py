"""SQL for LangGraph store items (namespaces, keys, JSON values, TTL, vectors), mixed into :class:`~maas_langchain.backends.sql.SqlTx`.

A namespace prefix ``p`` becomes the index range ``ns = p OR (ns >= 'p.' AND ns < 'p/')``
(``'/'`` follows ``'.'``; PostgreSQL compares these columns with ``COLLATE "C"``), and a reader
becomes a condition on the namespace's first two labels joined to the reader's memberships, so
both run inside the query.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from maas_langchain.backends.sql_cursor import SqlCursorOps
from maas_langchain.core.ports.kv import KVPut, KVQuery, KVRow, split_namespace
from maas_langchain.core.ports.state import iter_chunks

_orjson: Any
try:  # faster; json is the fallback
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

__all__ = ["BUMP", "UPSERT", "SqlKVOps", "upsert_chunks", "upsert_row", "upsert_values"]

_ROW = "i.item_id, n.ns, i.key, i.value, i.created_at, i.updated_at, i.expires_at, i.ttl_minutes"
_FROM = "kv_items i JOIN kv_namespaces n ON n.ns_id = i.ns_id"
UPSERT = (
    "INSERT INTO kv_items (ns_id, key, value, created_at, updated_at, expires_at, ttl_minutes, writer) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ns_id, key) DO UPDATE SET value = excluded.value, "
    "created_at = excluded.created_at, updated_at = excluded.updated_at, expires_at = excluded.expires_at, "
    "ttl_minutes = excluded.ttl_minutes, writer = excluded.writer"
)
_COLUMNS = ("ns_id", "key", "value", "created_at", "updated_at", "expires_at", "ttl_minutes", "writer")
# PostgreSQL: a batch's upserts as one statement over one JSON parameter. A third cheaper per row
# than pipelined single-row upserts (no per-row parameters to adapt, one short plan); PostgreSQL
# text cannot hold NUL, and JSON here never carries one (keys and labels refuse NUL, values are
# JSON text whose NULs stay escaped).
_UPSERT_JSON = UPSERT.replace(
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "SELECT * FROM json_to_recordset(?::json) AS r (ns_id bigint, key text, value text, "
    "created_at float8, updated_at float8, expires_at float8, ttl_minutes float8, writer text)",
)


# SQLite: a batch's upserts as multi-row statements of 64, 32, ..., 1 rows, so at most seven
# statement texts (each prepared once, in the driver's statement cache). A third cheaper per row
# than executemany's step and reset per row (2.2 against 3.5 us on a 160 MB file); 64 rows are 512
# parameters, under the 999 of SQLite builds before 3.32. Rows of one statement run in order, so a
# key repeated in a batch ends as if upserted one row at a time.
def upsert_values(size: int) -> str:
    """:data:`UPSERT` for ``size`` rows in one multi-row ``VALUES``."""
    return UPSERT.replace("VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * size))


def upsert_chunks(rows: Sequence[tuple[Any, ...]], sizes: Sequence[int]) -> Iterator[tuple[int, list[Any]]]:
    """``rows`` cut into runs of the largest of ``sizes`` (descending, ending in 1) that fit, in
    order: each run's size and its rows' values, flat (the parameters of :func:`upsert_values`)."""
    start = 0
    for size in sizes:
        while len(rows) - start >= size:
            yield size, [v for row in rows[start : start + size] for v in row]
            start += size


_SIZES = (64, 32, 16, 8, 4, 2, 1)
_UPSERT_ROWS = {size: upsert_values(size) for size in _SIZES}
BUMP = (
    "UPDATE counters SET value = value + 1 WHERE name = 'kv_version' AND EXISTS "
    "(SELECT 1 FROM kv_readers WHERE reader_id <> ? AND expires_at > ?) RETURNING value"
)
_READERS = (
    "((n.root = 'agents' AND n.owner = ?) OR (n.root = 'users' AND n.owner = ?) OR "
    "(n.root = 'pools' AND n.owner IN (SELECT pool_id FROM memberships WHERE agent_id = ?)))"
)
_CHUNK = 500
# a top-level field holding exactly this JSON string (SQLite: json_extract gives strings as text,
# other types as numbers or JSON text, never equal to a bound text; PostgreSQL compares jsonb)
_EQUALS = {False: "json_extract(i.value, ?) = ?", True: "(i.value::jsonb -> ?) = to_jsonb(?::text)"}


def _json(data: Any) -> str:
    if _orjson is not None:
        return str(_orjson.dumps(data).decode())
    return json.dumps(data, ensure_ascii=False)  # pragma: no cover - orjson ships with langgraph


def _row(r: Sequence[Any]) -> KVRow:
    return KVRow(int(r[0]), r[1], r[2], r[3], float(r[4]), float(r[5]), r[6], r[7])


def upsert_row(put: KVPut, ns_id: int, now: float) -> tuple[Any, ...]:
    """The parameters of :data:`UPSERT` for ``put``, in ``_COLUMNS`` order."""
    expires = None if put.ttl_minutes is None else now + put.ttl_minutes * 60.0
    return (ns_id, put.key, put.value, now, now, expires, put.ttl_minutes, put.writer)


def _where(query: KVQuery, postgres: bool = False) -> tuple[str, list[Any]]:
    """SQL conditions (on aliases ``i`` and ``n``) and parameters for ``query``."""
    conds: list[str] = []
    params: list[Any] = []
    if query.prefix is not None:
        conds.append("(n.ns = ? OR (n.ns >= ? AND n.ns < ?))")
        params += [query.prefix, query.prefix + ".", query.prefix + "/"]
    if query.readers is not None:
        conds.append(_READERS)
        params += [query.readers.agent_id, query.readers.owner_id, query.readers.agent_id]
    if query.alive_at is not None:
        conds.append("(i.expires_at IS NULL OR i.expires_at > ?)")
        params.append(query.alive_at)
    for field, text in query.equals:  # the field names are checked: letters, digits, "_"
        conds.append(_EQUALS[postgres])
        params += [field if postgres else f'$."{field}"', text]
    return (" AND ".join(conds) or "1 = 1"), params


class SqlKVOps(SqlCursorOps):
    """KVOps as SQL; needs ``_exec/_one/_all/_d`` from :class:`~maas_langchain.backends.sql.SqlTx`."""

    def _many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if len(rows) == 1:
            self._cur.execute(self._d.sql(sql), rows[0])
        elif rows:
            self._cur.executemany(self._d.sql(sql), rows)

    def _upsert_rows(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """SQLite: ``rows`` as :data:`_UPSERT_ROWS` statements, the largest that fit first."""
        for size, values in upsert_chunks(rows, _SIZES):
            self._cur.execute(_UPSERT_ROWS[size], values)

    def _where(self, query: KVQuery) -> tuple[str, list[Any]]:
        return _where(query, self._d.name == "postgres")

    def kv_version(self) -> int:
        row = self._one("SELECT value FROM counters WHERE name = 'kv_version'")
        return int(row[0]) if row else 0

    def kv_register_reader(self, reader_id: str, expires_at: float, prune_before: float) -> None:
        self._exec("DELETE FROM kv_readers WHERE expires_at < ?", (prune_before,))
        self._exec(
            "INSERT INTO kv_readers (reader_id, expires_at) VALUES (?, ?) "
            "ON CONFLICT (reader_id) DO UPDATE SET expires_at = excluded.expires_at",
            (reader_id, expires_at),
        )

    def kv_unregister_reader(self, reader_id: str) -> None:
        self._exec("DELETE FROM kv_readers WHERE reader_id = ?", (reader_id,))

    def kv_get(self, ns: str, keys: Sequence[str], alive_at: float | None) -> list[KVRow]:
        alive = "" if alive_at is None else " AND (i.expires_at IS NULL OR i.expires_at > ?)"
        tail = [] if alive_at is None else [alive_at]
        if len(keys) == 1:
            sql = f"SELECT {_ROW} FROM {_FROM} WHERE n.ns = ? AND i.key = ?{alive}"
            return [_row(r) for r in self._all(sql, [ns, keys[0], *tail])]
        found: list[KVRow] = []
        for chunk in iter_chunks(list(dict.fromkeys(keys)), _CHUNK):
            marks = ", ".join("?" for _ in chunk)
            sql = f"SELECT {_ROW} FROM {_FROM} WHERE n.ns = ? AND i.key IN ({marks}){alive}"
            found += [_row(r) for r in self._all(sql, [ns, *chunk, *tail])]
        return found

    def _ns_ids(self, names: Sequence[str], create: bool) -> dict[str, int]:
        ids: dict[str, int] = {}
        for name in dict.fromkeys(names):
            row = self._one("SELECT ns_id FROM kv_namespaces WHERE ns = ?", (name,))
            if row is None and create:
                labels = split_namespace(name)
                owner = labels[1] if len(labels) > 1 else None
                row = self._one(
                    "INSERT INTO kv_namespaces (ns, root, owner) VALUES (?, ?, ?) RETURNING ns_id",
                    (name, labels[0], owner),
                )
            if row is not None:
                ids[name] = int(row[0])
        return ids

    def kv_put(
        self,
        puts: Sequence[KVPut],
        now: float,
        known: Mapping[str, int] | None = None,
        *,
        exclude_reader: str | None = None,
        live_after: float = 0.0,
    ) -> tuple[dict[str, int], int | None]:
        known = known or {}
        bump = (exclude_reader or "", live_after)
        if len(puts) == 1 and (one := puts[0]).value is not None and not one.vectors and one.ns in known:
            # the common case, kept short: one put into a namespace whose id is known
            row = upsert_row(one, known[one.ns], now)
            if self._d.name == "postgres":  # one round trip (with BEGIN): the upsert rides in a data-modifying CTE
                found = self._one(f"WITH up AS ({UPSERT}) {BUMP}", (*row, *bump))
            else:
                self._cur.execute(UPSERT, row)
                found = self._cur.execute(BUMP, bump).fetchone()
            return {}, None if found is None else int(found[0])
        ids: dict[str, int] = {}
        missing = [p for p in puts if p.ns not in known]
        if missing:
            ids = self._ns_ids([p.ns for p in missing if p.value is not None], create=True)
            ids.update(self._ns_ids([p.ns for p in missing if p.value is None and p.ns not in ids], create=False))
        upserts, deletes, vectors = [], [], []
        for p in puts:
            ns_id = known.get(p.ns)
            if ns_id is None:
                ns_id = ids.get(p.ns)
            if ns_id is None:
                continue  # deleting from a namespace that never existed
            if p.value is None:
                deletes.append((ns_id, p.key))
                continue
            upserts.append(upsert_row(p, ns_id, now))
            if p.vectors:
                vectors += [(ns_id, p.key, pos, path, blob, 1) for pos, (path, blob) in enumerate(p.vectors)]
        # the kv_items triggers drop the vectors of replaced and deleted values
        self._many("DELETE FROM kv_items WHERE ns_id = ? AND key = ?", deletes)
        if len(upserts) > 1 and self._d.name == "postgres":
            rows = _json([dict(zip(_COLUMNS, row, strict=True)) for row in upserts])
            if not vectors:  # the upserts and the bump in one statement
                found = self._one(f"WITH up AS ({_UPSERT_JSON}) {BUMP}", (rows, *bump))
                return ids, None if found is None else int(found[0])
            self._exec(_UPSERT_JSON, (rows,))
        elif len(upserts) > 1:
            self._upsert_rows(upserts)
        else:
            self._many(UPSERT, upserts)
        self._many("INSERT INTO kv_vectors (ns_id, key, pos, path, vector, dirty) VALUES (?, ?, ?, ?, ?, ?)", vectors)
        row = self._one(BUMP, bump)
        return ids, None if row is None else int(row[0])

    def kv_scan(self, query: KVQuery, limit: int | None = None, offset: int = 0) -> list[KVRow]:
        where, params = self._where(query)
        page = ""
        if limit is not None:
            page, params = " LIMIT ? OFFSET ?", [*params, limit, offset]
        elif offset:
            page, params = " LIMIT -1 OFFSET ?" if self._d.name == "sqlite" else " OFFSET ?", [*params, offset]
        sql = f"SELECT {_ROW} FROM {_FROM} WHERE {where} ORDER BY i.ns_id, i.item_id{page}"
        return [_row(r) for r in self._all(sql, params)]

    def kv_count(self, query: KVQuery, cap: int) -> int:
        where, params = self._where(query)
        row = self._one(f"SELECT COUNT(*) FROM (SELECT 1 FROM {_FROM} WHERE {where} LIMIT ?) c", [*params, cap])
        return int(row[0])

    def kv_scan_vectors(self, query: KVQuery) -> list[tuple[int, bytes]]:
        where, params = self._where(query)
        sql = (
            f"SELECT i.item_id, v.vector FROM {_FROM} JOIN kv_vectors v ON v.ns_id = i.ns_id AND v.key = i.key "
            f"WHERE {where} ORDER BY i.item_id, v.pos"
        )
        return [(int(r[0]), bytes(r[1])) for r in self._all(sql, params)]

    def kv_rows_for_vectors(self, vec_ids: Sequence[int], query: KVQuery) -> list[tuple[int, KVRow, bytes]]:
        where, params = self._where(query)
        found: list[tuple[int, KVRow, bytes]] = []
        for chunk in iter_chunks(list(vec_ids), _CHUNK):
            marks = ", ".join("?" for _ in chunk)
            sql = (
                f"SELECT v.vec_id, v.vector, {_ROW} FROM {_FROM} JOIN kv_vectors v ON v.ns_id = i.ns_id "
                f"AND v.key = i.key WHERE v.vec_id IN ({marks}) AND {where}"
            )
            found += [(int(r[0]), _row(r[2:]), bytes(r[1])) for r in self._all(sql, [*chunk, *params])]
        return found

    def kv_namespaces(self, query: KVQuery) -> list[str]:
        where, params = self._where(query)
        sql = f"SELECT n.ns FROM kv_namespaces n WHERE EXISTS (SELECT 1 FROM kv_items i WHERE i.ns_id = n.ns_id AND {where})"
        return [r[0] for r in self._all(sql, params)]

    def kv_refresh(self, item_ids: Sequence[int], now: float) -> None:
        for chunk in iter_chunks(list(item_ids), _CHUNK):
            marks = ", ".join("?" for _ in chunk)
            self._exec(
                "UPDATE kv_items SET expires_at = ? + ttl_minutes * 60.0 "
                f"WHERE item_id IN ({marks}) AND ttl_minutes IS NOT NULL",
                [now, *chunk],
            )

    def kv_usage(self, ns: str, keys: Sequence[str]) -> dict[str, tuple[str | None, int]]:
        found: dict[str, tuple[str | None, int]] = {}
        for chunk in iter_chunks(list(dict.fromkeys(keys)), _CHUNK):
            marks = ", ".join("?" for _ in chunk)
            rows = self._all(
                "SELECT i.key, i.writer, LENGTH(i.value) FROM kv_items i JOIN kv_namespaces n ON n.ns_id = i.ns_id "
                f"WHERE n.ns = ? AND i.key IN ({marks})",
                (ns, *chunk),
            )
            found.update({r[0]: (r[1], int(r[2])) for r in rows})
        return found

    def kv_writer_usage(self, writer: str) -> tuple[int, int]:
        row = self._one("SELECT COUNT(*), COALESCE(SUM(LENGTH(value)), 0) FROM kv_items WHERE writer = ?", (writer,))
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def kv_sweep(self, now: float, limit: int) -> int:
        rows = self._all(
            "SELECT ns_id, key FROM kv_items WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?", (now, limit)
        )
        if rows:
            self._many("DELETE FROM kv_items WHERE ns_id = ? AND key = ?", [tuple(r) for r in rows])
            self._exec("UPDATE counters SET value = value + 1 WHERE name = 'kv_version'")
        return len(rows)

    def kv_dirty_vectors(self, limit: int) -> list[tuple[int, str, bytes]]:
        rows = self._all(
            "SELECT v.vec_id, n.ns, v.vector FROM kv_vectors v JOIN kv_namespaces n ON n.ns_id = v.ns_id "
            "WHERE v.dirty = 1 ORDER BY v.vec_id LIMIT ?",
            (limit,),
        )
        return [(int(r[0]), r[1], bytes(r[2])) for r in rows]

    def kv_mark_indexed(self, vec_ids: Sequence[int]) -> None:
        for chunk in iter_chunks(list(vec_ids), _CHUNK):
            marks = ", ".join("?" for _ in chunk)
            self._exec(f"UPDATE kv_vectors SET dirty = 0 WHERE vec_id IN ({marks})", chunk)
