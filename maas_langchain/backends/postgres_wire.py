"""The hot statements' thin path: one pipelined batch through libpq, prepared once per connection.

psycopg's cursor does a great deal per statement that a fixed, known statement does not need:
generators, a wait (a ``poll`` call) per statement in pipeline mode, a cursor object, a preparation
threshold. Measured on a 2-core machine (2026-12-06), a pipelined batch of six statements cost
~155 us of client CPU through cursors and ~35-60 us through this module, for the same
round trip; a PostgreSQL write was about two thirds Python, so this is most of what is left to
cut on the client.

:func:`batch` sends statements in pipeline mode through the connection's ``pgconn`` (psycopg's
libpq wrapper), each as a named prepared statement of that connection (prepared in the same
batch the first time it is seen, so no extra round trip), then one sync, and reads every result
up to the sync. Parameters are adapted, and rows loaded, by the connection's own
:class:`psycopg.adapt.Transformer`, so values and types are exactly what a cursor would send and
return. A failed statement raises the same :mod:`psycopg.errors` class a cursor would, after the
whole batch has been read (the server skips the rest of a batch after an error, as in psycopg's
pipeline); a dead connection raises :class:`psycopg.OperationalError` and leaves the connection
``broken``, which the callers' reconnect logic relies on. Notifications that arrive with the
results, or with the batch's last bytes (a session's own, after its ``COMMIT``), are handed to
psycopg as its own reads hand them (the registry cache's listener runs sequencing passes on its
``LISTEN`` connection, and hears the events they notify).

Only statements whose placeholders are all ``%s`` take this path (every statement the backend
sends); the connection must be idle, outside pipeline mode, and used by one thread, as a pooled
connection checked out by a transaction is.
"""

from __future__ import annotations

import select
import weakref
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer

from maas_langchain.backends.postgres_ahead import Rows

__all__ = ["BEGIN_WRITE", "PREPARED_LIMIT", "batch", "one", "pg_query"]

Connection = psycopg.Connection[Any]
_OK = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK, pq.ExecStatus.EMPTY_QUERY)
_SYNC = pq.ExecStatus.PIPELINE_SYNC
BEGIN_WRITE = "BEGIN ISOLATION LEVEL READ COMMITTED"
"""How every write transaction of the backend begins (its own, the store put's, a sequencing pass's)."""
PREPARED_LIMIT = 256
"""Statements prepared per connection at most; past it a statement is sent unnamed."""
_SEEN_LIMIT = 1_024
_Key = tuple[bytes, tuple[int, ...]]


class _Prepared:
    """One connection's prepared statements, and the statements it has sent once (a statement is
    prepared at its second use: a text made for one size, such as a multi-row ``INSERT`` of
    exactly 37 rows, is rarely sent twice and would fill the server's memory with plans)."""

    def __init__(self) -> None:
        self.names: dict[_Key, bytes] = {}
        self.seen: set[_Key] = set()
        self.made = 0  # names are never reused, even after ``names`` was cleared


_queries: dict[str, tuple[bytes, int]] = {}
_prepared: weakref.WeakKeyDictionary[Connection, _Prepared] = weakref.WeakKeyDictionary()


def pg_query(sql: str) -> tuple[bytes, int]:
    """``sql`` with its ``%s`` placeholders numbered ``$1`` ... (PostgreSQL's own form), encoded,
    and how many there are; cached. Any other use of ``%`` raises :class:`psycopg.ProgrammingError`
    (as psycopg's own cursor does), before anything is sent."""
    found = _queries.get(sql)
    if found is None:
        if len(_queries) >= _SEEN_LIMIT * 4:
            _queries.clear()
        parts = sql.split("%s")
        if any("%" in part for part in parts):
            raise psycopg.ProgrammingError(f"only %s placeholders are supported: {sql[:80]!r}")
        text = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
        found = _queries[sql] = (text.encode(), len(parts) - 1)
    return found


def one(conn: Connection, sql: str, params: Sequence[Any] = ()) -> Rows:
    """One statement, one round trip (:func:`batch` of one)."""
    return batch(conn, [(sql, params)])[0]


def batch(conn: Connection, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[Rows]:
    """Run ``statements`` in one pipelined round trip; return each one's rows and row count.

    Raises the first failed statement's :mod:`psycopg.errors` class (the server ran none after
    it), or :class:`psycopg.OperationalError` when the connection died."""
    pgconn = conn.pgconn
    tx = Transformer(conn)
    state = _prepared.get(conn)
    if state is None:
        state = _prepared[conn] = _Prepared()
    known, fresh = state.names, dict[_Key, bytes]()
    plan: list[tuple[bytes | None, bytes, bool, list[Any], tuple[int, ...], list[Any]]] = []
    for sql, params in statements:  # everything is adapted before anything is sent
        query, count = pg_query(sql)
        if len(params) != count:
            raise psycopg.ProgrammingError(f"the query has {count} placeholders but {len(params)} parameters")
        values = list(tx.dump_sequence(params, [PyFormat.AUTO] * count))
        key = (query, tuple(tx.types or ()))
        name = known.get(key) or fresh.get(key)
        prepare = name is None and key in state.seen and len(known) + len(fresh) < PREPARED_LIMIT
        if name is None and not prepare:
            if len(state.seen) >= _SEEN_LIMIT:
                state.seen.clear()
            state.seen.add(key)
        if prepare:
            state.made += 1
            name = fresh[key] = b"maas_%d" % state.made
        plan.append((name, query, prepare, values, key[1], list(tx.formats or ())))
    sent: list[tuple[bytes, tuple[int, ...]] | None] = []  # per result: a preparation's key, or None
    pgconn.enter_pipeline_mode()
    try:
        for name, query, prepare, values, types, formats in plan:
            if prepare and name is not None:
                pgconn.send_prepare(name, query, param_types=types)
                sent.append((query, types))
            if name is not None:
                pgconn.send_query_prepared(name, values, param_formats=formats)
            else:  # over the limit: the text itself, unnamed
                pgconn.send_query_params(query, values, param_types=types, param_formats=formats)
            sent.append(None)
        pgconn.pipeline_sync()
        _flush(pgconn)
        results = _read(pgconn)
        pgconn.exit_pipeline_mode()
        pgconn.is_busy()  # parses what came with the last bytes (a notification after the sync)
        _notifies(pgconn)
    except BaseException:
        if pgconn.status == pq.ConnStatus.OK:  # interrupted with results unread: unusable
            conn.close()
        raise
    failed = None
    out: list[Rows] = []
    for result, prepared in zip(results, sent, strict=True):
        if prepared is not None:
            if result.status == pq.ExecStatus.COMMAND_OK:
                known[prepared] = fresh[prepared]
            elif failed is None and result.status == pq.ExecStatus.FATAL_ERROR:
                failed = result
            continue
        if result.status not in _OK:
            if failed is None and result.status == pq.ExecStatus.FATAL_ERROR:
                failed = result
            continue
        if result.status == pq.ExecStatus.TUPLES_OK:
            tx.set_pgresult(result)
            out.append(Rows(tx.load_rows(0, result.ntuples, tuple), result.ntuples))
        else:
            changed = result.command_tuples
            out.append(Rows([], -1 if changed is None else changed))
    if failed is not None:
        if failed.error_field(pq.DiagnosticField.SQLSTATE) == b"26000":  # our statements were dropped
            known.clear()  # (DEALLOCATE ALL by someone else): prepared afresh from the next batch on
        raise errors.error_from_result(failed, encoding=conn.info.encoding)
    return out


def _flush(pgconn: pq.abc.PGconn) -> None:
    while pgconn.flush():  # 1: the socket took only part; read what came back meanwhile (the
        if _wait(pgconn, select.POLLOUT | select.POLLIN) & select.POLLIN:  # server may wait for it)
            pgconn.consume_input()
            _notifies(pgconn)


def _read(pgconn: pq.abc.PGconn) -> list[pq.abc.PGresult]:
    results: list[pq.abc.PGresult] = []
    while True:
        while pgconn.is_busy():
            _wait(pgconn, select.POLLIN)
            pgconn.consume_input()
            _notifies(pgconn)
        result = pgconn.get_result()
        if result is None:  # the end of one statement's results
            continue
        if result.status == _SYNC:
            return results
        results.append(result)


def _notifies(pgconn: pq.abc.PGconn) -> None:
    """Hand the notifications that came in with the results to psycopg, as its own reads do, so
    that ``Connection.notifies()`` yields them at once (libpq would keep them queued where psycopg
    looks only when more data arrives)."""
    while found := pgconn.notifies():
        if pgconn.notify_handler:
            pgconn.notify_handler(found)


def _wait(pgconn: pq.abc.PGconn, events: int) -> int:
    poller = select.poll()
    poller.register(pgconn.socket, events)
    return sum(found for _, found in poller.poll())
