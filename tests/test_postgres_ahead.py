"""Reads sent ahead with BEGIN (``StateTx.prefetch``, ``postgres_ahead.py``) and the sequencing
pass's batched append (migration 0016).

What is checked:

* the capture/answer bookkeeping on its own: only a getter's first ``SELECT`` is captured, an
  answer is served once, and the first statement that is not a ``SELECT`` drops what is left;
* on a real server: the declared reads travel in the first round trip and are not sent again;
  a read made after the transaction wrote is never answered from the batch (it sees the write),
  whether the write went through a getter's statement, the flush of kept audit entries, or the
  cursor itself; a read the registry cache serves takes no pooled connection;
  a getter that fails while being captured fails again, in its place, when it is really called;
  a read the transaction never makes costs nothing but its place in the batch;
* on every backend: a share or a handoff transition gives the same results with the hint as the
  conformance suite expects (the in-memory and SQLite backends ignore it);
* the audit guards after migration 0016: a pass may append many entries in one statement and move
  the head once, but an entry with a gap, a head that skips an entry, and a head that stops short
  of the newest entry are all refused by the server.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg
import pytest

from maas_langchain import AgentType, MaaS, PermissionModel, SharedScope
from maas_langchain.backends import postgres_wire as wire
from maas_langchain.backends.postgres import PostgresBackend
from maas_langchain.backends.postgres_ahead import Ahead, Rows
from maas_langchain.core.enums import AuditEventType
from maas_langchain.core.records import Membership
from maas_langchain.core.runtime import AuditEntry
from maas_langchain.errors import InvalidInputError


# --- the bookkeeping ---------------------------------------------------------------------------
def test_capture_records_only_a_getters_first_select_and_stops_it() -> None:
    ahead = Ahead()
    ran: list[str] = []

    def getter() -> None:
        ahead.record("SELECT a FROM t WHERE k = %s", ("x",))
        ran.append("after the first statement")  # never reached in capture mode

    def writer() -> None:
        ahead.record("UPDATE t SET a = 1", ())

    def failing() -> None:
        raise InvalidInputError("bad id")

    assert ahead.capture([getter, writer, failing]) == [("SELECT a FROM t WHERE k = %s", ("x",))]
    assert ran == [] and ahead.capturing is None
    with pytest.raises(AssertionError):
        ahead.record("SELECT 1", ())  # outside capture mode


def test_an_answer_is_served_once_and_a_write_drops_the_rest() -> None:
    ahead = Ahead()
    first, second = ("SELECT a FROM t WHERE k = %s", ("x",)), ("SELECT b FROM u", ())
    ahead.fill([first, second], [Rows([(1,), (2,)], 2), Rows([], 0)])
    rows = ahead.take(*first)
    assert rows is not None and rows.rowcount == 2 and rows.fetchone() == (1,) and rows.fetchall() == [(2,)]
    assert ahead.take(*first) is None  # once
    assert ahead.take("SELECT a FROM t WHERE k = %s", ("y",)) is None  # other parameters: not it
    assert ahead.take("INSERT INTO u VALUES (1)", ()) is None  # a write ...
    assert ahead.take(*second) is None  # ... dropped what was left


def test_the_hint_is_a_no_op_by_default(tmp_path: Path) -> None:
    for location in (":memory:", str(tmp_path / "sqlite")):
        with MaaS.open(location, sweep_interval=None) as maas:
            agent = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
            with maas.backend.transaction(write=True) as tx:
                tx.prefetch(lambda tx=tx, agent=agent: tx.get_agent(agent))
                found = tx.get_agent(agent)
            assert found is not None and found.agent_id == agent


# --- on a real server ----------------------------------------------------------------------------
@pytest.fixture
def maas(pg_url: str) -> Iterator[MaaS]:  # pg_url: conftest's fresh schema for this test
    with MaaS.open(pg_url, sweep_interval=None, handoff_screening="rules") as opened:
        yield opened


@contextlib.contextmanager
def _statements() -> Iterator[list[str]]:
    """Every statement this thread sends, through a psycopg cursor or in a ``postgres_wire`` batch
    (pipelined ones included), in order; the listener's and the sequencer's threads are left out."""
    sent: list[str] = []
    execute, batch, caller = psycopg.Cursor.execute, wire.batch, threading.get_ident()

    def counting(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == caller:
            sent.append(str(query))
        return execute(self, query, *args, **kwargs)

    def batch_counting(conn: Any, statements: Any) -> Any:
        if threading.get_ident() == caller:
            sent.extend(str(sql) for sql, _ in statements)
        return batch(conn, statements)

    with mock.patch.object(psycopg.Cursor, "execute", counting), mock.patch.object(wire, "batch", batch_counting):
        yield sent


def _pool_with_member(maas: MaaS) -> tuple[str, str]:
    pool = maas.pools.create_pool("ahead", "u1", SharedScope.GLOBAL)
    agent = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    assert maas.pools.join_pool(pool, agent, PermissionModel.READ)
    return pool, agent


def test_declared_reads_travel_with_begin_and_are_not_sent_again(maas: MaaS) -> None:
    pool, agent = _pool_with_member(maas)
    with _statements() as sent, maas.backend.transaction(write=True) as tx:
        tx.claim(("pool", pool))
        tx.prefetch(lambda: tx.get_pool(pool), lambda: tx.get_agent(agent), lambda: tx.get_membership(pool, agent))
        in_first_batch = len(sent)
        found = (tx.get_pool(pool), tx.get_agent(agent), tx.get_membership(pool, agent))
        assert len(sent) == in_first_batch  # answered from the batch
        again = tx.get_pool(pool)  # a second read of the same row goes to the server
        assert len(sent) == in_first_batch + 1
    assert sum("FROM pools" in s for s in sent[:in_first_batch]) == 1
    assert found[0] is not None and found[0].pool_id == pool and again == found[0]
    assert found[1] is not None and found[1].agent_id == agent
    assert found[2] is not None and found[2].permission == PermissionModel.READ


def test_a_read_after_a_write_sees_the_write_not_the_batch(maas: MaaS) -> None:
    pool, agent = _pool_with_member(maas)
    with maas.backend.transaction(write=True) as tx:
        tx.prefetch(lambda: tx.get_membership(pool, agent))
        current = tx.get_membership(pool, agent)
        assert current is not None
        tx.upsert_membership(Membership(pool, agent, PermissionModel.ADMIN, current.joined_at))
        tx.prefetch(lambda: tx.get_membership(pool, agent))  # after the first statement: nothing is sent ahead
        after = tx.get_membership(pool, agent)
    assert after is not None and after.permission == PermissionModel.ADMIN
    with maas.backend.transaction(write=True) as tx:
        tx.prefetch(lambda: tx.get_membership(pool, agent), lambda: tx.get_pool(pool))
        tx.upsert_membership(Membership(pool, agent, PermissionModel.WRITE, current.joined_at))
        unused = tx.get_membership(pool, agent)  # sent ahead, never used before the write: dropped
    assert unused is not None and unused.permission == PermissionModel.WRITE
    assert maas.pools.get_permission(pool, agent) == PermissionModel.WRITE


def test_a_getter_that_fails_in_capture_costs_nothing_else(maas: MaaS) -> None:
    _, agent = _pool_with_member(maas)
    with maas.backend.transaction(write=True) as tx:
        tx.prefetch(lambda: 1 / 0, lambda: tx.get_memories(["x"]), lambda: tx.get_agent(agent))
        assert tx.get_memories(["x"]) == []
        found = tx.get_agent(agent)
    assert found is not None and found.agent_id == agent


def test_shares_and_handoffs_keep_their_checks_with_reads_sent_ahead(maas: MaaS) -> None:
    pool, reader = _pool_with_member(maas)
    writer = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    assert maas.pools.join_pool(pool, writer, PermissionModel.WRITE)
    assert maas.pools.share_memory(pool, "m1", writer, SharedScope.GLOBAL)
    assert not maas.pools.share_memory(pool, "m2", reader, SharedScope.GLOBAL)  # READ: denied
    assert [s.memory_id for s in maas.pools.query_shared(pool, reader)] == ["m1"]
    handoff = maas.handoffs.initiate_handoff(writer, reader, {"task_description": "t"})
    assert handoff is not None
    assert not maas.handoffs.accept_handoff(handoff, writer)  # only the target accepts
    assert maas.handoffs.accept_handoff(handoff, reader)
    assert maas.handoffs.complete_handoff(handoff, reader, {"ok": True})
    backend = maas.backend
    assert isinstance(backend, PostgresBackend)
    assert backend.sequence_pending() is not None
    assert maas.audit.verify_chain().ok


# --- migration 0016's guards ---------------------------------------------------------------------
_ROW = "(%s, 0, 'pool', 'share', 'a', 't', 'success', NULL, '{}', %s, %s, %s)"
_INSERT = (
    "INSERT INTO audit_log (seq, timestamp, event_type, action, actor, target, outcome, reason, details, "
    "prev_hash, hash, nonce) VALUES "
)


def _head(conn: psycopg.Connection[Any]) -> tuple[int, str]:
    row = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def _refused(conn: psycopg.Connection[Any], *statements: tuple[str, tuple[Any, ...]]) -> bool:
    try:
        with conn.transaction():
            for sql, params in statements:
                conn.execute(sql, params)
    except psycopg.errors.RestrictViolation:
        return True
    return False


def test_the_guards_allow_a_batched_append_and_refuse_gaps(maas: MaaS, pg_url: str) -> None:
    backend = maas.backend
    assert isinstance(backend, PostgresBackend)
    backend.sequence_pending()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        seq, top = _head(conn)

        def rows(*numbers: int) -> tuple[str, tuple[Any, ...]]:
            params = [v for n in numbers for v in (n, f"p{n}", f"h{n}", f"n{n}-{seq}")]
            return _INSERT + ", ".join([_ROW] * len(numbers)), tuple(params)

        head = "UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1"
        assert _refused(conn, rows(seq + 2))  # a gap after the head
        assert _refused(conn, rows(seq + 1, seq + 3))  # a gap inside the batch
        assert _refused(conn, rows(seq + 1, seq + 2), (head, (seq + 3, "h")))  # onto no entry
        assert _refused(conn, rows(seq + 1, seq + 2), (head, (seq + 1, f"h{seq + 1}")))  # short of the newest
        assert _refused(conn, rows(seq + 1), (head, (seq, top)))  # not forward
        assert _head(conn) == (seq, top)  # every refusal rolled back
        assert not _refused(conn, rows(seq + 1, seq + 2, seq + 3), (head, (seq + 3, f"h{seq + 3}")))
        assert _head(conn) == (seq + 3, f"h{seq + 3}")


def test_a_read_the_registry_cache_serves_takes_no_connection(maas: MaaS) -> None:
    backend = maas.backend
    assert isinstance(backend, PostgresBackend)
    agent = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    assert maas.agents.get_agent(agent) is not None  # fills the cache
    pool, caller, taken = backend._get_pool(), threading.get_ident(), [0]
    getconn = pool.getconn

    def counted(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == caller:  # not the sequencer's or the listener's thread
            taken[0] += 1
        return getconn(*args, **kwargs)

    with mock.patch.object(pool, "getconn", counted):
        for _ in range(100):  # the notification of the registration itself may still drop the entry once
            taken[0] = 0
            maas.agents.get_agent(agent)
            time.sleep(0.02)
            maas.agents.get_agent(agent)
            if taken == [0]:
                break
        for _ in range(50):
            found = maas.agents.get_agent(agent)
            assert found is not None and found.agent_id == agent
        assert taken == [0]
        with backend.transaction(write=False) as tx:  # a read that reaches the server takes one
            assert tx.count_audit() >= 1
        assert taken == [1]


def test_nothing_read_ahead_is_served_after_an_unseen_write(maas: MaaS) -> None:
    _, agent = _pool_with_member(maas)
    backend = maas.backend
    assert isinstance(backend, PostgresBackend)
    backend.sequence_pending()
    with backend.transaction(write=True) as tx:  # the audit log, written by the flush of a kept entry
        tx.prefetch(lambda: tx.count_audit())
        maas.runtime.record(tx, AuditEntry(AuditEventType.POOL_OPERATION, "probe", None, None))
        counted = tx.count_audit()  # flushes the kept entry, then counts: not the batch's answer
    with backend.transaction(write=False) as tx:
        assert tx.count_audit() == counted
    with _statements() as sent, backend.transaction(write=True) as tx:  # a statement sent on the cursor itself
        tx.prefetch(lambda: tx.get_agent(agent))
        tx._cur.execute("SELECT 1")
        first = len(sent)
        assert tx.get_agent(agent) is not None
        assert len(sent) == first + 1  # asked again, not answered from the batch
