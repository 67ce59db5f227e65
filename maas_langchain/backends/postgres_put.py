"""PostgreSQL connection helpers: give a connection back rolled back, and a store put as one
statement, its own transaction (:func:`put_alone`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.pq import TransactionStatus

from maas_langchain.backends import postgres_wire as wire
from maas_langchain.backends.sql_kv import BUMP, upsert_chunks, upsert_row, upsert_values
from maas_langchain.core.ports.kv import KVPut

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

__all__ = ["put_alone", "release", "rollback"]

Connection = psycopg.Connection[Any]


def rollback(conn: Connection) -> None:
    """Roll back whatever ``conn`` has open (quietly: a dead connection has nothing open)."""
    if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
        with suppress(psycopg.Error):
            conn.execute("ROLLBACK")


def release(pool: ConnectionPool[Connection], conn: Connection) -> None:
    """Give ``conn`` back to ``pool``, rolled back (a closed pool closes it instead)."""
    rollback(conn)
    with suppress(Exception):
        pool.putconn(conn)


_SETTINGS = (
    "SELECT set_config('lock_timeout', %s, true), CASE WHEN %s THEN set_config('synchronous_commit', 'on', true) END, "
    "pg_advisory_xact_lock(%s)"
)
"""The lock wait, durability and the writers' schema lock of a put: parameters (wait in ms, sync, key)."""
_BUMP = BUMP.replace("?", "%s")
# The kv_put_alone function of migration 0015 as one plain statement: the same settings, lock,
# upsert and bump, without the plpgsql call (~13 us of server time per put, measured 2026-12-06).
# The lock is taken in ``s``, which the upsert reads from and the bump waits for. The function
# stays in the schema: a process of an earlier version still calls it during a rolling upgrade.
_PUT_ALONE = (
    f"WITH s AS ({_SETTINGS}), "
    "ins AS (INSERT INTO kv_items (ns_id, key, value, created_at, updated_at, expires_at, ttl_minutes, writer) "
    "SELECT %s::bigint, %s::text, %s::text, %s::float8, %s::float8, %s::float8, %s::float8, %s::text FROM s "
    "ON CONFLICT (ns_id, key) DO UPDATE SET value = excluded.value, created_at = excluded.created_at, "
    "updated_at = excluded.updated_at, expires_at = excluded.expires_at, ttl_minutes = excluded.ttl_minutes, "
    "writer = excluded.writer) "
    "UPDATE counters SET value = value + 1 WHERE name = 'kv_version' AND EXISTS (SELECT 1 FROM s) "
    "AND EXISTS (SELECT 1 FROM kv_readers WHERE reader_id <> %s AND expires_at > %s) RETURNING value"
)
# Many puts: one pipelined round trip of BEGIN, the settings and lock, multi-row upserts of 100,
# 20, 5 and 1 rows (four statement texts, each prepared once per connection), the bump and
# COMMIT. Prepared multi-row VALUES cost ~11 us per row in the server against ~14 for the JSON
# rows of migration 0015's kv_put_many (measured 2026-12-06), which stays for processes of earlier
# versions during a rolling upgrade.
_CHUNKS = (100, 20, 5, 1)
_UPSERT_ROWS = {size: upsert_values(size).replace("?", "%s") for size in _CHUNKS}


def _many(
    puts: Sequence[KVPut], ns_ids: Mapping[str, int], now: float, head: tuple[Any, ...], bump: tuple[Any, ...]
) -> list[tuple[str, Any]]:
    """The statements of one many-puts round trip (see ``_CHUNKS``); the bump's is the last but one."""
    rows = [upsert_row(put, ns_ids[put.ns], now) for put in puts]
    statements: list[tuple[str, Any]] = [(wire.BEGIN_WRITE, ()), (_SETTINGS, head)]
    statements += [(_UPSERT_ROWS[size], values) for size, values in upsert_chunks(rows, _CHUNKS)]
    statements += [(_BUMP, bump), ("COMMIT", ())]
    return statements


def put_alone(
    pool: ConnectionPool[Connection],
    lock: tuple[int, float, bool],
    puts: Sequence[KVPut],
    ns_ids: Mapping[str, int],
    now: float,
    *,
    exclude_reader: str | None = None,
    live_after: float = 0.0,
) -> int | None:
    """Store puts in one round trip: one put as one statement, its own transaction
    (``_PUT_ALONE``); many as one pipelined transaction (``_many``). ``lock`` is
    (the schema lock's key, the lock wait in seconds, whether the commit waits for the disk). A
    pooled connection found dead (a restarted server) is replaced and the statement sent again,
    as a transaction's first batch is; a statement that reached the server before its connection
    died ran at most once more on retry, and upserting the same values twice only moves the cache
    counter twice."""
    key, wait, sync = lock
    head: tuple[Any, ...] = (str(max(1, round(wait * 1000))), sync, key)
    bump = (exclude_reader or "", live_after)
    if len(puts) == 1:
        statements = [(_PUT_ALONE, (*head, *upsert_row(puts[0], ns_ids[puts[0].ns], now), *bump))]
    else:
        statements = _many(puts, ns_ids, now, head, bump)
    retries = (pool.max_size or 1) + 2
    for attempt in range(1, retries + 1):
        conn = pool.getconn()
        try:
            results = wire.batch(conn, statements)
            row = results[0 if len(statements) == 1 else -2].fetchone()
        except psycopg.Error:
            broken = conn.broken
            release(pool, conn)
            if attempt < retries and broken:
                continue
            raise
        pool.putconn(conn)  # the statement was its own transaction: nothing is open on it
        return None if row is None or row[0] is None else int(row[0])
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
