"""The thin path for the hot statements (``backends/postgres_wire.py``), on a real server.

It must behave exactly like psycopg's cursor for what the backend sends: the same rows and types,
the same row counts, the same error classes, nothing sent when a parameter cannot be adapted, a
broken connection reported as broken, and statements prepared once per connection even when
somebody drops them (``DEALLOCATE ALL``).
"""

from __future__ import annotations

import datetime
import signal
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from maas_langchain.backends import postgres_wire as wire

pytestmark = pytest.mark.postgres


@pytest.fixture
def conn(pg_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_url, autocommit=True, prepare_threshold=None) as opened:
        opened.execute("CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT, x FLOAT8, b BOOLEAN, j TEXT)")
        yield opened


def _prepared(conn: psycopg.Connection[Any]) -> set[str]:
    return {str(row[0]) for row in conn.execute("SELECT name FROM pg_prepared_statements")}


def test_placeholders_are_numbered_and_anything_else_is_refused() -> None:
    assert wire.pg_query("SELECT %s, %s FROM t WHERE k = %s") == (b"SELECT $1, $2 FROM t WHERE k = $3", 3)
    assert wire.pg_query("SELECT 1") == (b"SELECT 1", 0)
    for text in ("SELECT %(k)s", "SELECT 'a%' ", "SELECT %%s"):
        with pytest.raises(psycopg.ProgrammingError, match="only %s placeholders"):
            wire.pg_query(text)


def test_rows_types_and_counts_match_a_cursor(conn: psycopg.Connection[Any]) -> None:
    rows = [("a", 1, 1.5, True, '{"v": "é"}'), ("b", None, None, False, None), ("c", 2**40, -0.0, None, "x" * 10_000)]
    inserted = wire.one(conn, "INSERT INTO t VALUES (%s, %s, %s, %s, %s), (%s, %s, %s, %s, %s), (%s, %s, %s, %s, %s)",
                        [v for row in rows for v in row])  # fmt: skip
    assert inserted.rowcount == 3 and inserted.fetchall() == []
    query = "SELECT k, n, x, b, j, now() FROM t WHERE k = ANY(%s) ORDER BY k"
    ours = wire.one(conn, query, (["a", "b", "c", "zz"],))
    theirs = conn.execute(query, (["a", "b", "c", "zz"],))
    assert ours.rowcount == theirs.rowcount == 3
    got, expected = ours.fetchall(), theirs.fetchall()
    assert [r[:5] for r in got] == [r[:5] for r in expected] == rows
    assert all(isinstance(r[5], datetime.datetime) for r in got)
    updated = wire.batch(
        conn, [("UPDATE t SET n = %s WHERE k <> %s", (7, "a")), ("DELETE FROM t WHERE k = %s", ("zz",))]
    )
    assert [r.rowcount for r in updated] == [2, 0]


def test_errors_are_psycopgs_classes_and_the_rest_of_the_batch_does_not_run(conn: psycopg.Connection[Any]) -> None:
    wire.one(conn, "INSERT INTO t (k) VALUES (%s)", ("dup",))
    with pytest.raises(psycopg.errors.UniqueViolation):
        wire.batch(
            conn,
            [
                ("BEGIN", ()),
                ("INSERT INTO t (k) VALUES (%s)", ("first",)),
                ("INSERT INTO t (k) VALUES (%s)", ("dup",)),
                ("INSERT INTO t (k) VALUES (%s)", ("after",)),
                ("COMMIT", ()),
            ],
        )
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
    conn.execute("ROLLBACK")
    assert [r[0] for r in conn.execute("SELECT k FROM t ORDER BY k")] == ["dup"]  # nothing else stayed
    with pytest.raises(psycopg.errors.UndefinedTable):
        wire.one(conn, "SELECT * FROM no_such_table WHERE k = %s", ("x",))
    assert wire.one(conn, "SELECT count(*) FROM t").fetchone() == (1,)  # the connection is fine


def test_a_value_that_cannot_be_sent_fails_before_anything_is_sent(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.DataError, match="NUL"):
        wire.batch(conn, [("INSERT INTO t (k) VALUES (%s)", ("fine",)), ("INSERT INTO t (k) VALUES (%s)", ("a\x00b",))])
    with pytest.raises(psycopg.ProgrammingError, match="2 placeholders but 1 parameters"):
        wire.one(conn, "INSERT INTO t (k, n) VALUES (%s, %s)", ("x",))
    with pytest.raises(psycopg.ProgrammingError, match="only %s placeholders"):
        wire.one(conn, "SELECT %(k)s", ("x",))
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)  # "fine" was never sent


def test_statements_are_prepared_once_and_again_after_deallocate_all(conn: psycopg.Connection[Any]) -> None:
    wire.one(conn, "INSERT INTO t (k, n) VALUES (%s, %s)", ("k0", 0))
    assert _prepared(conn) == set()  # a statement sent once is not prepared (a text made for one size)
    for n in range(1, 4):
        wire.one(conn, "INSERT INTO t (k, n) VALUES (%s, %s)", (f"k{n}", n))
    assert len(_prepared(conn)) == 1  # from its second use on: one text and parameter types, one statement
    for key in ("null", "null2"):
        wire.one(conn, "INSERT INTO t (k, n) VALUES (%s, %s)", (key, None))  # other types: its own
    assert len(_prepared(conn)) == 2
    conn.execute("DEALLOCATE ALL")  # somebody dropped them: the next use fails once, retryably ...
    with pytest.raises(psycopg.errors.InvalidSqlStatementName):
        wire.one(conn, "INSERT INTO t (k, n) VALUES (%s, %s)", ("lost", 9))
    wire.one(conn, "INSERT INTO t (k, n) VALUES (%s, %s)", ("again", 9))  # ... then they are prepared afresh
    assert conn.execute("SELECT n FROM t WHERE k = 'again'").fetchone() == (9,)


def test_past_the_limit_statements_are_sent_unnamed(conn: psycopg.Connection[Any], monkeypatch: Any) -> None:
    monkeypatch.setattr(wire, "PREPARED_LIMIT", 2)
    for n in range(5):
        for _ in range(3):
            rows = wire.one(conn, f"SELECT %s::int + {n}", (1,))
            assert rows.fetchone() == (1 + n,)
    assert len(_prepared(conn)) == 2


def test_a_statement_dropped_by_name_is_prepared_again_under_a_new_one(conn: psycopg.Connection[Any]) -> None:
    for _ in range(2):
        wire.one(conn, "SELECT %s::int", (1,))
    (name,) = _prepared(conn)
    conn.execute(f"DEALLOCATE {name}")
    with pytest.raises(psycopg.errors.InvalidSqlStatementName):
        wire.one(conn, "SELECT %s::int", (1,))
    for _ in range(2):  # names are never reused: no clash with a statement still there
        assert wire.one(conn, "SELECT %s::int", (2,)).fetchone() == (2,)
    assert len(_prepared(conn)) == 1 and _prepared(conn) != {name}


def test_a_large_batch_is_flushed_whole(conn: psycopg.Connection[Any]) -> None:
    big = "y" * 200_000
    statements = [("INSERT INTO t (k, j) VALUES (%s, %s)", (f"big{n}", big)) for n in range(40)]  # 8 MB
    statements.append(("SELECT count(*), sum(length(j)) FROM t", ()))
    assert wire.batch(conn, statements)[-1].fetchone() == (40, 40 * 200_000)


def test_a_dead_connection_is_reported_broken(pg_url: str) -> None:
    conn = psycopg.connect(pg_url, autocommit=True, prepare_threshold=None)
    pid = conn.info.backend_pid
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):
        wire.batch(conn, [("BEGIN", ()), ("SELECT 1", ())])
    assert conn.broken
    conn.close()


def test_an_interrupted_batch_closes_its_connection(pg_url: str) -> None:
    conn = psycopg.connect(pg_url, autocommit=True, prepare_threshold=None)

    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(KeyboardInterrupt):
            wire.one(conn, "SELECT pg_sleep(%s)", (5,))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert conn.closed  # results were left unread: never handed out again


def test_a_batch_s_own_notification_is_not_held_back_after_it(pg_url: str) -> None:
    # A sequencing pass notifies the event channel, and the leader listens on the connection
    # that ran the pass: the notification read with the batch's last bytes must reach
    # notifies() at once, not wait unparsed in libpq's buffer until the next read (it waited
    # for the leader's next look, 5 ms later, on every event).
    with psycopg.connect(pg_url, autocommit=True, prepare_threshold=None) as conn:
        conn.execute("LISTEN wire_self")
        for attempt in range(3):  # prepared from the second batch on: both paths
            wire.batch(
                conn, [(wire.BEGIN_WRITE, ()), ("SELECT pg_notify('wire_self', %s)", (str(attempt),)), ("COMMIT", ())]
            )
            started = time.monotonic()
            got = [n.payload for n in conn.notifies(timeout=0.5, stop_after=1)]
            assert got == [str(attempt)] and time.monotonic() - started < 0.25, (attempt, got)


def test_a_notification_that_arrives_during_a_batch_is_not_held_back(pg_url: str) -> None:
    # The registry cache's listener runs sequencing passes on its LISTEN connection: a change
    # notice that arrives in the middle of a pass must reach notifies() at once, not wait in
    # libpq's queue until more data happens to arrive.
    with (
        psycopg.connect(pg_url, autocommit=True, prepare_threshold=None) as conn,
        psycopg.connect(pg_url, autocommit=True) as other,
    ):
        conn.execute("LISTEN wire_test")
        pid = other.info.backend_pid
        wire.batch(
            conn,
            [
                ("SELECT pg_notify('wire_test', 'from-self')", ()),
                ("SELECT pg_sleep(%s)", (0.05,)),
            ],
        )
        other.execute("NOTIFY wire_test, 'from-other'")
        wire.one(conn, "SELECT pg_sleep(%s)", (0.2,))  # the notice arrives while this runs
        got = [(n.payload, n.pid == pid) for n in conn.notifies(timeout=0.1)]
        assert got == [("from-self", False), ("from-other", True)]
