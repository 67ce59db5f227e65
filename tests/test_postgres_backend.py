"""The PostgreSQL backend itself: opening, migrations, failures and locking.

Every behaviour test in the suite also runs on PostgreSQL through the ``backend_name``
fixture; this file covers what only a server backend has: an unreachable server, a connection
dropped mid-transaction, concurrent migrations, the writers' lock and the URL handling.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from maas_langchain import HandoffContext, MaaS
from maas_langchain.core.enums import AgentType, AuditEventType
from maas_langchain.core.ports.state import AuditQuery
from maas_langchain.core.records import Agent, AuditEvent
from maas_langchain.errors import BackendUnavailableError, ConflictError, InvalidInputError

pytestmark = pytest.mark.postgres


@pytest.fixture
def needs_psycopg() -> None:
    """For tests that need the driver but no server."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail('CI=true needs psycopg: pip install -e ".[postgres]"', pytrace=False)
        pytest.skip('psycopg is not installed: pip install -e ".[postgres]"')


def _admin(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on a connection of its own (in the test's schema)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def _agent() -> Agent:
    return Agent(str(uuid.uuid4()), AgentType.GPT_AGENT, "u1", frozenset(), time.time())


def _backend(url: str, **kw: Any) -> Any:
    from maas_langchain.backends.postgres import PostgresBackend

    return PostgresBackend(url, **kw)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- open, close, info ---------------------------------------------------------------------
def test_open_migrate_and_close(pg_url: str) -> None:
    backend = _backend(pg_url.replace("postgres@", "postgres:s3cret@"))
    try:
        with backend.transaction(write=False) as tx:
            assert (tx.count_agents(), tx.count_pools(), tx.count_handoffs(), tx.count_audit()) == (0, 0, 0, 0)
        info = backend.info()
        assert info["backend"] == "postgres"
        assert info["schema_version"] == len(_known())
        assert info["location"].startswith("postgresql://postgres@127.0.0.1")
        assert "s3cret" not in info["location"] and "s3cret" not in repr(backend.info())
    finally:
        backend.close()
    backend.close()  # idempotent
    with pytest.raises(BackendUnavailableError, match="closed"), backend.transaction(write=False):
        pass


def _known() -> list[Any]:
    from maas_langchain.backends.migrations import load_migrations

    return load_migrations("postgres")


def test_migrate_is_idempotent(pg_url: str) -> None:
    backend = _backend(pg_url)
    try:
        assert backend.migrate() == []
        assert backend.migrate() == []
    finally:
        backend.close()
    again = _backend(pg_url)
    again.close()
    rows = _admin(pg_url, "SELECT version, checksum FROM schema_migrations ORDER BY version")
    assert rows == [(m.version, m.checksum) for m in _known()]


def test_a_newer_schema_is_refused_on_open(pg_url: str) -> None:
    _backend(pg_url).close()
    _admin(pg_url, "INSERT INTO schema_migrations VALUES (999, 'from_the_future', 'x', 0)")
    with pytest.raises(BackendUnavailableError, match=r"\[999\].*upgrade maas_langchain") as info:
        MaaS.open(pg_url)
    assert info.value.details["newer_versions"] == [999]


def test_a_changed_migration_is_refused_on_open(pg_url: str) -> None:
    _backend(pg_url).close()
    _admin(pg_url, "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
    with pytest.raises(BackendUnavailableError, match="checksum mismatch"):
        _backend(pg_url)


def test_the_schema_mirrors_sqlite(pg_url: str, tmp_path: Any) -> None:
    import sqlite3

    from maas_langchain.backends.sqlite import SQLiteBackend

    SQLiteBackend(tmp_path / "mirror.db").close()
    with sqlite3.connect(tmp_path / "mirror.db") as lite:
        tables = [r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        # full-text search is dialect-specific: FTS5 shadow tables on SQLite, a tsvector column on PostgreSQL
        expected = {
            t: [r[1] for r in lite.execute(f"PRAGMA table_info({t})")]
            for t in tables
            if t != "sqlite_sequence" and not t.startswith("memories_fts")
        }
        expected["memories"].insert(expected["memories"].index("search_text") + 1, "search_tsv")
        # PostgreSQL only: what parallel writers leave for the sequencing pass (postgres_chain.py)
        expected["audit_log"].append("nonce")
        expected["audit_pending"] = [
            "id",
            "nonce",
            "mac",
            "timestamp",
            "event_type",
            "action",
            "actor",
            "target",
            "outcome",
            "reason",
            "details",
        ]
        expected["events_pending"] = ["id", "kind", "timestamp", "pool_id", "data"]
    _backend(pg_url).close()
    rows = _admin(
        pg_url,
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "ORDER BY table_name, ordinal_position",
    )
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(table, []).append(column)
    assert found == expected


def test_the_audit_log_is_append_only(pg_url: str) -> None:
    import psycopg

    with MaaS.open(pg_url, sweep_interval=None) as maas:
        maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
            _admin(pg_url, statement)
    with MaaS.open(pg_url, sweep_interval=None) as maas:
        assert maas.audit.verify_chain().ok


# --- failures --------------------------------------------------------------------------------
def test_an_unreachable_server_names_the_host(needs_psycopg: None) -> None:
    port = _closed_port()
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError, match=f"127.0.0.1:{port}") as info:
        MaaS.open(f"postgresql://postgres:pw@127.0.0.1:{port}/test")
    assert time.monotonic() - started < 10
    assert info.value.retryable and "pw" not in info.value.message
    assert type(info.value.__cause__).__module__.startswith("psycopg")


def test_a_url_that_is_not_a_url_is_invalid_input(needs_psycopg: None) -> None:
    with pytest.raises(InvalidInputError):
        _backend("postgresql://[bad")


def test_a_dropped_connection_leaves_nothing_half_written(pg_url: str) -> None:
    app = f"victim-{uuid.uuid4().hex[:8]}"
    backend = _backend(f"{pg_url}&application_name={app}")
    agent = _agent()
    try:
        with pytest.raises(BackendUnavailableError, match="retry") as info, backend.transaction(write=True) as tx:
            tx.insert_agent(agent)
            killed = _admin(
                pg_url,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                (app,),
            )
            assert killed and all(ok for (ok,) in killed)
            tx.count_agents()
        assert info.value.retryable
        assert type(info.value.__cause__).__module__.startswith("psycopg")
        with backend.transaction(write=False) as tx:  # the backend recovers with fresh connections
            assert tx.get_agent(agent.agent_id) is None
            assert tx.count_agents() == 0
        with backend.transaction(write=True) as tx:
            tx.insert_agent(agent)
    finally:
        backend.close()
    assert _admin(pg_url, "SELECT value FROM counters WHERE name = 'agents'") == [(1,)]


def test_integrity_errors_are_conflicts(pg_url: str) -> None:
    backend = _backend(pg_url)
    agent = _agent()
    try:
        with backend.transaction(write=True) as tx:
            tx.insert_agent(agent)
        with pytest.raises(ConflictError) as info, backend.transaction(write=True) as tx:
            tx.insert_agent(agent)
        assert type(info.value.__cause__).__module__.startswith("psycopg")
        with backend.transaction(write=False) as tx:
            assert tx.count_agents() == 1
    finally:
        backend.close()


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda tx: tx.query_audit(AuditQuery(since=[1.0])), id="wrong-type"),  # type: ignore[arg-type]
        pytest.param(lambda tx: tx.list_handoffs(limit=2**70), id="huge-integer"),
        pytest.param(lambda tx: tx.list_agents(owner_id="\ud800"), id="lone-surrogate"),
        pytest.param(lambda tx: tx.append_audit(_event(actor=secrets.token_hex(50_000))), id="too-big-for-an-index"),
    ],
)
def test_values_postgres_cannot_take_are_invalid_input(pg_url: str, call: Callable[[Any], Any]) -> None:
    backend = _backend(pg_url)
    try:
        expected = pytest.raises(InvalidInputError, match=r"PostgreSQL cannot take a value|not valid UTF-8")
        with expected as info, backend.transaction(write=True) as tx:
            call(tx)
        assert not info.value.retryable
        with backend.transaction(write=False) as tx:
            assert tx.count_audit() == 0 and tx.query_audit(AuditQuery()) == []
    finally:
        backend.close()


def _event(actor: str) -> AuditEvent:
    return AuditEvent(1, time.time(), AuditEventType.AGENT_AUTH, "x", actor, None, "success", None, {}, "0", "1")


# --- locking ---------------------------------------------------------------------------------
def test_writers_wait_for_each_other_and_time_out_with_a_retryable_error(pg_url: str) -> None:
    holder = _backend(pg_url)
    waiter = _backend(pg_url, busy_timeout=0.5)
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.transaction(write=True) as tx:
            tx.insert_agent(_agent())
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert inside.wait(10)
        with waiter.transaction(write=False) as tx:  # readers are not blocked, and see no dirty rows
            assert tx.count_agents() == 0
        started = time.monotonic()
        locked = pytest.raises(BackendUnavailableError, match="locked by other writers; retry")
        with locked, waiter.transaction(write=True) as tx:
            tx.insert_agent(_agent())
        assert 0.4 < time.monotonic() - started < 5
    finally:
        release.set()
        thread.join(10)
    with waiter.transaction(write=True) as tx:  # once released, the next writer sees the commit
        assert tx.count_agents() == 1
    holder.close()
    waiter.close()


def test_nested_transactions_join_the_open_one(pg_url: str) -> None:
    backend = _backend(pg_url)
    try:
        with backend.transaction(write=True) as outer:
            outer.insert_agent(_agent())
            with backend.transaction(write=False) as inner:
                assert inner.count_agents() == 1
        refused = pytest.raises(InvalidInputError, match="inside a read")
        with backend.transaction(write=False), refused, backend.transaction(write=True):
            pass
    finally:
        backend.close()


def _migrate_in_child(url: str, barrier: Any, results: Any) -> None:
    from maas_langchain.backends.postgres import PostgresBackend

    try:
        barrier.wait(60)
        backend = PostgresBackend(url)
        results.put(("ok", backend.schema_version()))
        backend.close()
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))


@pytest.mark.slow
def test_concurrent_migrate_from_several_processes(pg_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_migrate_in_child, args=(pg_url, barrier, results)) for _ in range(4)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    assert outcomes == [("ok", len(_known()))] * 4
    rows = _admin(pg_url, "SELECT version FROM schema_migrations ORDER BY version")
    assert rows == [(m.version,) for m in _known()]


# --- URLs and the facade ---------------------------------------------------------------------
def test_postgres_urls_open_through_the_facade_and_maas_url(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with MaaS.open(pg_url.replace("postgresql://", "postgres://", 1), sweep_interval=None) as maas:
        agent_id = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
        assert maas.status()["backend"] == "postgres"
    monkeypatch.setenv("MAAS_URL", pg_url)
    with MaaS.open(sweep_interval=None) as maas:  # MAAS_URL comes before MAAS_HOME
        assert maas.agents.get_agent(agent_id) is not None
    assert MaaS.default().backend.name == "postgres"


def test_display_location_never_shows_a_password(needs_psycopg: None) -> None:
    from maas_langchain.backends.postgres import display_location

    assert display_location("postgresql://bob:pw@db.example:5433/maas") == "postgresql://bob@db.example:5433/maas"
    assert display_location("host=db user=bob password=pw dbname=maas") == "postgresql://bob@db/maas"
    assert "pw" not in display_location("postgresql://db/maas?password=pw&sslmode=require")


def test_without_psycopg_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.delitem(sys.modules, "maas_langchain.backends.postgres", raising=False)
    with pytest.raises(InvalidInputError, match=r"maas_langchain\[postgres\]"):
        MaaS.open("postgresql://postgres@127.0.0.1/test")


def _restart_server() -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.slow
def test_a_server_restart_during_a_run_is_survived(pg_url: str) -> None:
    """The pool's connections die with the server; the next operations get fresh ones."""
    if shutil.which("pg_ctlcluster") is None or not os.path.isdir("/etc/postgresql"):
        pytest.skip("needs pg_ctlcluster to restart the local server")
    with MaaS.open(pg_url, sweep_interval=None) as maas:
        a = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u")
        b = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u")
        h = maas.handoffs.initiate_handoff(a, b, HandoffContext(task_description="survive a restart"))
        _restart_server()
        deadline = time.monotonic() + 60
        while True:  # a caller may see retryable errors while the server comes back, never others
            try:
                assert maas.handoffs.accept_handoff(h, b) is True
                break
            except BackendUnavailableError as exc:
                assert exc.retryable
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert maas.handoffs.complete_handoff(h, b, {"ok": True})
        assert maas.agents.get_agent(a) is not None
        assert maas.audit.verify_chain().ok
