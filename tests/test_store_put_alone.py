"""One store put as a transaction of its own (``StateBackend.kv_put_alone``): on every backend it
stores what ``kv_put`` stores; on PostgreSQL it is one statement (``postgres_put._PUT_ALONE``, the
``kv_put_alone`` function of migration 0015 written out) that still takes the writers' lock, honours ``busy_timeout``, survives dead pooled
connections, joins a transaction open on the thread, and stores nothing when it fails."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg
import pytest
from conftest import POSTGRES_URL, postgres_url, require_postgres

from maas_langchain import MaaS
from maas_langchain.backends import postgres_wire as wire
from maas_langchain.backends.postgres import PostgresBackend
from maas_langchain.core.ports.kv import KVPut
from maas_langchain.core.ports.state import StateBackend
from maas_langchain.errors import BackendUnavailableError, ConflictError, InvalidInputError


def _ns_id(maas: MaaS | StateBackend, ns: str) -> int:
    backend = maas.backend if isinstance(maas, MaaS) else maas
    with backend.transaction(write=True) as tx:
        ids, _ = tx.kv_put([KVPut(ns, "seed", '{"seed": 1}')], time.time())
    return ids[ns]


def _value(maas: MaaS | StateBackend, ns: str, key: str) -> str | None:
    backend = maas.backend if isinstance(maas, MaaS) else maas
    with backend.transaction(write=False) as tx:
        rows = tx.kv_get(ns, [key], None)
    return rows[0].value if rows else None


def test_a_put_alone_stores_what_kv_put_stores(open_maas: Callable[..., MaaS]) -> None:
    maas = open_maas()
    ns_id = _ns_id(maas, "docs.u1")
    now = time.time()
    assert (
        maas.backend.kv_put_alone(
            [KVPut("docs.u1", "a", '{"v": 1}', ttl_minutes=5.0, writer="w1")], {"docs.u1": ns_id}, now
        )
        is None
    )
    with maas.backend.transaction(write=False) as tx:
        (row,) = tx.kv_get("docs.u1", ["a"], None)
    assert (row.value, row.created_at, row.expires_at, row.ttl_minutes) == ('{"v": 1}', now, now + 300.0, 5.0)
    # another process caching reads: the counter moves, and the put says where to
    with maas.backend.transaction(write=True) as tx:
        tx.kv_register_reader("other-process", time.time() + 60, 0.0)
        before = tx.kv_version()
    moved = maas.backend.kv_put_alone(
        [KVPut("docs.u1", "a", '{"v": 2}')], {"docs.u1": ns_id}, now, exclude_reader="me", live_after=0.0
    )
    assert moved == before + 1
    # several values at once (PostgreSQL: one statement over a JSON array)
    many = [KVPut("docs.u1", f"m{i}", f'{{"i": {i}}}', writer="w2") for i in range(5)]
    assert maas.backend.kv_put_alone(many, {"docs.u1": ns_id}, now + 1) == before + 2
    with maas.backend.transaction(write=False) as tx:
        got = {r.key: (r.value, r.created_at) for r in tx.kv_get("docs.u1", [p.key for p in many], None)}
    assert got == {f"m{i}": (f'{{"i": {i}}}', now + 1) for i in range(5)}
    # the LangGraph store's single put takes this path and reads back what it wrote
    store = maas.store()
    store.put(("docs", "u1"), "b", {"text": "hello"})
    assert store.get(("docs", "u1"), "b").value == {"text": "hello"}  # type: ignore[union-attr]


def test_a_put_alone_inside_an_open_transaction_is_rolled_back_with_it(
    open_maas: Callable[..., MaaS], backend_name: str
) -> None:
    if backend_name == "memory":
        pytest.skip("the in-memory backend runs a nested transaction on its own; SQLite and PostgreSQL join it")
    maas = open_maas()
    ns_id = _ns_id(maas, "docs.u2")
    with pytest.raises(RuntimeError), maas.backend.transaction(write=True):
        maas.backend.kv_put_alone([KVPut("docs.u2", "gone", '{"v": 1}')], {"docs.u2": ns_id}, time.time())
        raise RuntimeError("abort")
    assert _value(maas, "docs.u2", "gone") is None


@pytest.mark.postgres
def test_postgres_put_alone_is_one_statement_that_waits_for_the_writers_lock(pg_url: str) -> None:
    maas = PostgresBackend(pg_url, busy_timeout=0.3)
    try:
        ns_id = _ns_id(maas, "docs.u3")
        sent: list[list[str]] = []
        execute, batch = psycopg.Connection.execute, wire.batch

        def counting(self: psycopg.Connection, query: object, *args: object, **kwargs: object) -> object:
            if threading.current_thread() is threading.main_thread():
                sent.append([str(query)])
            return execute(self, query, *args, **kwargs)  # type: ignore[arg-type]

        def batch_counting(conn: psycopg.Connection, statements: Any) -> Any:
            if threading.current_thread() is threading.main_thread():
                sent.append([sql for sql, _ in statements])
            return batch(conn, statements)

        with (
            mock.patch.object(psycopg.Connection, "execute", counting),
            mock.patch.object(wire, "batch", batch_counting),
        ):
            maas.kv_put_alone([KVPut("docs.u3", "k", '{"v": 1}')], {"docs.u3": ns_id}, time.time())
            maas.kv_put_alone([KVPut("docs.u3", k, "{}") for k in "xyz"], {"docs.u3": ns_id}, time.time())
        # one round trip each: one put is one statement, its own transaction; three are one
        # pipelined transaction (the lock, an upsert of one row per put, the bump)
        assert [[q.split(" (")[0].split("(")[0] for q in trip] for trip in sent] == [
            ["WITH s AS"],
            [
                "BEGIN ISOLATION LEVEL READ COMMITTED",
                "SELECT set_config",
                *["INSERT INTO kv_items"] * 3,
                "UPDATE counters SET value = value + 1 WHERE name = 'kv_version' AND EXISTS",
                "COMMIT",
            ],
        ]
        # another session holds the schema's writers' lock: the put waits busy_timeout, then fails retryably
        key = maas._key
        with psycopg.connect(POSTGRES_URL, autocommit=True) as holder:
            holder.execute("BEGIN")
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            started = time.monotonic()
            with pytest.raises(BackendUnavailableError, match="retry"):
                maas.kv_put_alone([KVPut("docs.u3", "blocked", '{"v": 1}')], {"docs.u3": ns_id}, time.time())
            assert time.monotonic() - started < 5
            holder.execute("ROLLBACK")
        assert _value(maas, "docs.u3", "blocked") is None
        # a value PostgreSQL text cannot hold: a typed error, nothing stored
        with pytest.raises(InvalidInputError):
            maas.kv_put_alone([KVPut("docs.u3", "nul", '{"v": "a\x00b"}')], {"docs.u3": ns_id}, time.time())
        assert _value(maas, "docs.u3", "nul") is None
        assert _value(maas, "docs.u3", "k") == '{"v": 1}'
    finally:
        maas.close()


@pytest.mark.postgres
def test_postgres_put_alone_replaces_pooled_connections_the_server_closed(tmp_path: Path) -> None:
    require_postgres()
    name = f"maas_put_alone_{os.getpid()}"  # this test's connections only
    with MaaS.open(postgres_url(tmp_path, application_name=name), sweep_interval=None, durability="full") as maas:
        ns_id = _ns_id(maas, "docs.u4")
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s AND state = 'idle' AND query NOT LIKE 'LISTEN%%'",
                (name,),
            ).fetchone()
        assert killed is not None and killed[0] >= 1
        time.sleep(0.2)
        maas.backend.kv_put_alone([KVPut("docs.u4", "after", '{"v": 1}')], {"docs.u4": ns_id}, time.time())
        assert _value(maas, "docs.u4", "after") == '{"v": 1}'


@pytest.mark.postgres
def test_postgres_many_puts_go_in_chunks_of_one_transaction_and_fail_whole(pg_url: str) -> None:
    maas = PostgresBackend(pg_url)
    try:
        ns_id = _ns_id(maas, "docs.u5")
        now = time.time()
        puts = [KVPut("docs.u5", f"k{i:03d}", f'{{"i": {i}}}', ttl_minutes=5.0 if i % 2 else None) for i in range(127)]
        maas.kv_put_alone(puts, {"docs.u5": ns_id}, now)  # 100 + 20 + 5 + 1 + 1 rows
        with maas.transaction(write=False) as tx:
            rows = {row.key: row for row in tx.kv_get("docs.u5", [p.key for p in puts], None)}
        assert [rows[p.key].value for p in puts] == [p.value for p in puts]
        assert rows["k001"].expires_at == pytest.approx(now + 300) and rows["k000"].expires_at is None
        # a value PostgreSQL text cannot hold, in the last chunk: nothing of the batch is stored
        bad = [KVPut("docs.u5", f"n{i}", '{"v": 1}') for i in range(126)] + [
            KVPut("docs.u5", "n126", '{"v": "a\x00b"}')
        ]
        with pytest.raises(InvalidInputError):
            maas.kv_put_alone(bad, {"docs.u5": ns_id}, now)
        assert _value(maas, "docs.u5", "n0") is None and _value(maas, "docs.u5", "n125") is None
        # a failure in the server, after the first chunk ran: the transaction is rolled back whole
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("ALTER TABLE kv_items ADD CONSTRAINT no_zz CHECK (key <> 'zz')")
            late = [KVPut("docs.u5", f"z{i}", "{}") for i in range(120)] + [KVPut("docs.u5", "zz", "{}")]
            with pytest.raises(ConflictError):
                maas.kv_put_alone(late, {"docs.u5": ns_id}, now)
            admin.execute("ALTER TABLE kv_items DROP CONSTRAINT no_zz")
        assert _value(maas, "docs.u5", "z0") is None and _value(maas, "docs.u5", "z119") is None
        assert _value(maas, "docs.u5", "k126") == '{"i": 126}'
    finally:
        maas.close()
