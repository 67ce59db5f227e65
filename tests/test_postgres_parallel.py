"""PostgreSQL writers that do not contend run in parallel, and every invariant still holds.

What is checked, on a real server:

* a write transaction that claimed one pool does not hold up a share into another pool, holds up
  a share into the same pool, and holds up an unclaimed (exclusive) writer;
* with writers of many pools committing at once, events are numbered in commit order (a
  follower never sees a gap that fills in later) and the audit chain stays one gap-free chain;
* the registry cache serves repeated lookups without a round trip, shows this process's own
  changes at once, shows another connection's change (even raw SQL) once it commits, and is not
  used while its listener is down.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg
import pytest
from conftest import postgres_url, require_postgres

from maas_langchain import AgentType, MaaS, PermissionModel, SharedScope
from maas_langchain.backends import postgres_cache
from maas_langchain.backends import postgres_wire as wire
from maas_langchain.backends.postgres import PostgresBackend
from maas_langchain.backends.postgres_chain import Pass

pytestmark = pytest.mark.postgres

_SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def url(tmp_path: Path) -> str:
    require_postgres()
    return postgres_url(tmp_path)


@pytest.fixture
def maas(url: str) -> Iterator[MaaS]:
    with MaaS.open(url, sweep_interval=None, handoff_screening="rules") as opened:
        yield opened


def _pool_with_writer(maas: MaaS, name: str) -> tuple[str, str]:
    pool = maas.pools.create_pool(name, "u1", SharedScope.GLOBAL)
    writer = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    assert maas.pools.join_pool(pool, writer, PermissionModel.WRITE)
    return pool, writer


def _in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # reported to the test
            outcome["error"] = exc
        outcome["at"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_claimed_pool_holds_up_only_its_own_writers_and_unclaimed_ones(maas: MaaS) -> None:
    pool_a, writer_a = _pool_with_writer(maas, "a")
    pool_b, writer_b = _pool_with_writer(maas, "b")
    holding, release = threading.Event(), threading.Event()

    def hold_pool_a() -> None:
        with maas.backend.transaction(write=True) as tx:
            tx.claim(("pool", pool_a))
            tx.count_shares(pool_a)  # the claim is taken with the first statement
            holding.set()
            assert release.wait(30)

    holder, held = _in_thread(hold_pool_a)
    assert holding.wait(10)
    other, other_done = _in_thread(lambda: maas.pools.share_memory(pool_b, "m-b", writer_b, SharedScope.GLOBAL))
    same, same_done = _in_thread(lambda: maas.pools.share_memory(pool_a, "m-a", writer_a, SharedScope.GLOBAL))
    unclaimed, unclaimed_done = _in_thread(lambda: maas.pools.create_pool("c", "u1", SharedScope.GLOBAL))
    other.join(20)
    assert other_done.get("value") is True, other_done  # pool b went ahead while pool a was held
    time.sleep(0.5)
    assert not same_done and not unclaimed_done  # both still waiting for the holder
    released_at = time.monotonic()
    release.set()
    for thread in (holder, same, unclaimed):
        thread.join(20)
    assert "error" not in held, held
    assert same_done.get("value") is True and same_done["at"] >= released_at
    assert isinstance(unclaimed_done.get("value"), str) and unclaimed_done["at"] >= released_at
    assert maas.audit.verify_chain().ok


def _share_burst(url: str, pool: str, writer: str, count: int, barrier: Any) -> int:
    with MaaS.open(url, sweep_interval=None, handoff_screening="rules") as maas:
        barrier.wait(60)
        return sum(
            bool(maas.pools.share_memory(pool, f"{writer}-{i}", writer, SharedScope.GLOBAL)) for i in range(count)
        )


def test_parallel_writers_keep_events_in_commit_order_and_one_audit_chain(maas: MaaS, url: str) -> None:
    writers, each = 6, 40
    pairs = [_pool_with_writer(maas, f"p{i}") for i in range(writers)]
    head = maas.runtime.read(lambda tx: tx.event_head())
    audit_before = maas.audit.count()
    seen: list[int] = []
    with _SPAWN.Manager() as manager, _SPAWN.Pool(writers) as workers:
        barrier = manager.Barrier(writers)
        results = [workers.apply_async(_share_burst, (url, pool, writer, each, barrier)) for pool, writer in pairs]
        deadline = time.monotonic() + 240
        while len(seen) < writers * each and time.monotonic() < deadline:
            batch = maas.runtime.read(lambda tx: tx.read_events(seen[-1] if seen else head, None, 10_000))
            seen.extend(e.seq for e in batch)  # a follower resuming after its last seq
        assert [r.get(240) for r in results] == [each] * writers
    # A gap that filled in later would show as a missing number: the follower never reads it.
    assert seen == list(range(head + 1, head + writers * each + 1))
    assert maas.audit.count() == audit_before + writers * each
    report = maas.audit.verify_chain()
    assert report.ok and report.checked == maas.audit.count(), report


def _statements(backend: PostgresBackend, call: Callable[[], object]) -> int:
    """Round trips ``call`` makes: statements sent one by one, plus one per pipeline or batch
    (``postgres_wire.batch``)."""
    sent, caller, piped = [0], threading.get_ident(), [False]
    execute, pipeline, batch = psycopg.Cursor.execute, psycopg.Connection.pipeline, wire.batch

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == caller and not piped[0]:  # not the listener's liveness checks
            sent[0] += 1
        return execute(self, *args, **kwargs)

    @contextlib.contextmanager
    def one_trip(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        if threading.get_ident() != caller:  # the sequencer's or the listener's thread
            with pipeline(self, *args, **kwargs) as batch:
                yield batch
            return
        outer, piped[0] = piped[0], True
        try:
            with pipeline(self, *args, **kwargs) as batch:
                yield batch
        finally:
            piped[0] = outer
            if not outer:
                sent[0] += 1

    def one_batch(conn: Any, statements: Any) -> Any:
        if threading.get_ident() == caller:
            sent[0] += 1
        return batch(conn, statements)

    with (
        mock.patch.object(psycopg.Cursor, "execute", counting),
        mock.patch.object(psycopg.Connection, "pipeline", one_trip),
        mock.patch.object(wire, "batch", one_batch),
    ):
        call()
    return sent[0]


def test_service_calls_take_a_handful_of_round_trips(maas: MaaS) -> None:
    backend = maas.backend
    assert isinstance(backend, PostgresBackend)
    pool, writer = _pool_with_writer(maas, "trips")
    target = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    assert maas.pools.join_pool(pool, target, PermissionModel.READ)
    maas.pools.share_memory(pool, "warm", writer, SharedScope.GLOBAL)
    store = maas.store()
    store.put(("notes",), "warm", {"v": 0})
    handoff: list[str | None] = []
    trips = {
        "share_memory": _statements(backend, lambda: maas.pools.share_memory(pool, "m1", writer, SharedScope.GLOBAL)),
        "initiate": _statements(
            backend, lambda: handoff.append(maas.handoffs.initiate_handoff(writer, target, {"task_description": "t"}))
        ),
        "accept": _statements(backend, lambda: maas.handoffs.accept_handoff(str(handoff[0]), target)),
        "complete": _statements(backend, lambda: maas.handoffs.complete_handoff(str(handoff[0]), target, {})),
        "store put": _statements(backend, lambda: store.put(("notes",), "k", {"v": 1})),
        "query_shared": _statements(backend, lambda: maas.pools.query_shared(pool, target)),  # audited: a write
    }
    # Before: 17, 15, 11, 11 and 3 (each audit and event row, the head, the lock: one trip each).
    # Now BEGIN and the locks ride with the first statement, the audit entry and the event with
    # COMMIT, and the pass that chains them runs on this process's sequencer thread; a single
    # store put is one statement, its own transaction (migration 0015's kv_put_alone). The reads a
    # share or a handoff transition makes before writing travel with BEGIN (StateTx.prefetch): it
    # was 8, 7, 4 and 4 before that. The write itself (the share's upsert, the new handoff, the
    # transition) travels with the tail and COMMIT (postgres_tx, "writes sent later"): it was 3.
    # query_shared: the pool, the reader and its membership travel with BEGIN; the shares query
    # needs the reader's audience, and the audit entry its result (it was 5).
    expected = {"share_memory": 2, "initiate": 2, "accept": 2, "complete": 2, "store put": 1, "query_shared": 3}
    assert trips == expected, trips


def _wait_until(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


def test_the_registry_cache_serves_lookups_and_sees_every_change(maas: MaaS, url: str) -> None:
    backend = maas.backend
    assert isinstance(backend, PostgresBackend)
    agent = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1", name="before")
    maas.agents.get_agent(agent)
    assert _wait_until(lambda: backend.registry_cache_live())
    maas.agents.get_agent(agent)
    assert _statements(backend, lambda: maas.agents.get_agent(agent)) == 0  # served locally

    # This process's own change is seen by the next read, without waiting for a notification.
    maas.agents.deactivate_agent(agent)
    found = maas.agents.get_agent(agent)
    assert found is not None and not found.active

    # Another instance (its own pool, cache and listener) changes the agent: seen once it commits.
    with MaaS.open(url, sweep_interval=None, handoff_screening="rules") as other:
        other.agents.activate_agent(agent)
    assert _wait_until(lambda: bool((a := maas.agents.get_agent(agent)) and a.active))

    # A raw SQL change by an administrator is seen too (the triggers notify, not our code).
    with psycopg.connect(backend.url, autocommit=True) as admin:
        admin.execute("UPDATE agents SET name = 'renamed' WHERE agent_id = %s", (agent,))
    assert _wait_until(lambda: bool((a := maas.agents.get_agent(agent)) and a.name == "renamed"))


def test_a_change_made_while_the_listener_was_down_is_never_hidden_by_the_cache(maas: MaaS) -> None:
    backend = maas.backend
    assert isinstance(backend, PostgresBackend)
    agent = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    maas.agents.get_agent(agent)
    assert _wait_until(lambda: backend.registry_cache_live())
    with psycopg.connect(backend.url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'maas-listener' "
            "AND pid <> pg_backend_pid()"
        )
        # While the listener is down, a change it cannot hear about must still be read.
        admin.execute("UPDATE agents SET name = 'changed while deaf' WHERE agent_id = %s", (agent,))
    # On reconnecting, the listener empties the cache: nothing cached before the outage survives it.
    assert _wait_until(lambda: bool((a := maas.agents.get_agent(agent)) and a.name == "changed while deaf"))
    assert _wait_until(lambda: backend.registry_cache_live())
    assert maas.agents.get_agent(agent).name == "changed while deaf"  # type: ignore[union-attr]


def test_the_event_channel_is_heard_only_while_the_process_follows_the_stream(
    maas: MaaS, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = maas.backend
    assert isinstance(backend, PostgresBackend)
    pool, writer = _pool_with_writer(maas, "events")
    assert _wait_until(lambda: backend.registry_cache_live())
    listener = backend._listener
    assert listener is not None
    maas.pools.share_memory(pool, "m-unheard", writer, SharedScope.GLOBAL)  # a pass notifies the channel
    time.sleep(0.6)  # the thread's loop ran at least once
    assert not listener.events_live  # nobody follows the stream: its notifications are not sent here

    with maas.backend.transaction(write=False) as tx:
        head = tx.event_head()
    backend.wait_for_events(head, 0.05)  # the first wait polls, and asks the thread to listen
    assert _wait_until(lambda: listener.events_live, 2.0)
    woken: list[bool] = []
    waiter = threading.Thread(target=lambda: woken.append(listener.wait(head, 10.0)))
    waiter.start()
    maas.pools.share_memory(pool, "m-heard", writer, SharedScope.GLOBAL)
    waiter.join(10.0)
    assert woken == [True] and listener.head > head  # woken by the pass's notification

    monkeypatch.setattr(postgres_cache, "EVENTS_IDLE", 0.2)
    head = listener.head
    woken.clear()
    waiter = threading.Thread(target=lambda: woken.append(listener.wait(head, 30.0)))
    waiter.start()
    time.sleep(1.0)  # a wait longer than the idle time keeps the channel
    assert listener.events_live
    maas.pools.share_memory(pool, "m-late", writer, SharedScope.GLOBAL)
    waiter.join(10.0)
    assert woken == [True] and listener.head > head

    assert _wait_until(lambda: not listener.events_live, 2.0)  # no wait for longer than the idle time
    assert maas.events.subscribe(after_seq=head).poll(timeout=5.0)  # a follower still gets every event


def test_a_sequencing_pass_that_fails_after_the_commit_loses_nothing(maas: MaaS) -> None:
    pool, writer = _pool_with_writer(maas, "pass")
    before, head = maas.audit.count(), maas.runtime.read(lambda tx: tx.event_head())

    def broken(self: Pass) -> int:
        raise psycopg.OperationalError("the server went away between the commit and the pass")

    with mock.patch.object(Pass, "finish", broken):
        assert maas.pools.share_memory(pool, "first", writer, SharedScope.GLOBAL)  # committed: not a failure
        assert maas.runtime.read(lambda tx: tx.count_shares(pool)) == 1
        assert maas.audit.count() == before  # the entry waits in audit_pending; the read still works
    assert maas.audit.count() == before + 1  # the next pass (here: before this read) chains it
    assert maas.pools.share_memory(pool, "second", writer, SharedScope.GLOBAL)
    assert maas.audit.count() == before + 2
    shares = maas.audit.query(action="share", target=pool)
    assert [e.details["memory_id"] for e in shares] == ["first", "second"]
    events = maas.runtime.read(lambda tx: tx.read_events(head, pool, 100))
    assert [e.seq for e in events] == [head + 1, head + 2]
    report = maas.audit.verify_chain()
    assert report.ok, report


def test_a_pending_entry_written_without_the_key_is_never_chained_and_is_reported(maas: MaaS) -> None:
    backend = maas.backend
    assert isinstance(backend, PostgresBackend)
    pool, writer = _pool_with_writer(maas, "forged")
    before = maas.audit.count()
    with psycopg.connect(backend.url, autocommit=True) as admin:
        admin.execute(
            "INSERT INTO audit_pending (nonce, mac, timestamp, event_type, action, actor, target, outcome, reason, "
            "details) VALUES (%s, %s, %s, 'POOL_OPERATION', 'share', %s, %s, 'success', NULL, '{}')",
            ("f" * 64, "0" * 64, time.time(), writer, pool),
        )
    assert maas.pools.share_memory(pool, "real", writer, SharedScope.GLOBAL)
    assert maas.audit.count() == before + 1  # the real entry only
    report = maas.audit.verify_chain()
    assert not report.ok
    assert any("written without the audit key" in p for p in report.problems), report.problems
    with psycopg.connect(backend.url, autocommit=True) as admin:
        admin.execute("DELETE FROM audit_pending")
    assert maas.audit.verify_chain().ok


def test_a_replayed_pending_entry_is_never_chained_twice(maas: MaaS) -> None:
    backend = maas.backend
    assert isinstance(backend, PostgresBackend)
    pool, writer = _pool_with_writer(maas, "replay")
    captured: list[tuple[Any, ...]] = []
    finish = Pass.finish

    def capture(self: Pass) -> int:  # copy the pending rows just before they are chained
        with psycopg.connect(backend.url, autocommit=True) as spy:
            captured.extend(
                spy.execute(
                    "SELECT nonce, mac, timestamp, event_type, action, actor, target, outcome, "
                    "reason, details FROM audit_pending"
                ).fetchall()
            )
        return finish(self)

    with mock.patch.object(Pass, "finish", capture):
        assert maas.pools.share_memory(pool, "once", writer, SharedScope.GLOBAL)
        maas.audit.count()  # a read waits for the pass that chains its own process's entry
    assert captured
    # two passes may both see one entry pending (the leader's and the read's): replay each once
    captured = list({row[0]: row for row in captured}.values())
    nonces = [row[0] for row in captured]
    with psycopg.connect(backend.url, autocommit=True) as admin:
        # a read settles this process's entries, but a pass that fails (a lock wait on a loaded
        # machine) leaves them to the next one: replay only once every captured entry is chained
        deadline = time.monotonic() + 30
        while admin.execute("SELECT count(*) FROM audit_pending WHERE nonce = ANY(%s)", (nonces,)).fetchone()[0]:
            assert time.monotonic() < deadline, "captured entries still pending after 30 s"
            maas.audit.count()
            time.sleep(0.05)
        count = maas.audit.count()
        for row in captured:
            admin.execute(
                "INSERT INTO audit_pending (nonce, mac, timestamp, event_type, action, actor, target, outcome, "
                "reason, details) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                row,
            )
    assert maas.pools.share_memory(pool, "twice", writer, SharedScope.GLOBAL)
    assert maas.audit.count() == count + 1  # the replayed copy was not chained again
    report = maas.audit.verify_chain()
    assert not report.ok and any("repeat entries already in the chain" in p for p in report.problems)


def _share_and_die(url: str, pool: str, writer: str) -> None:
    maas = MaaS.open(url, sweep_interval=None, handoff_screening="rules")
    maas.pools.share_memory(pool, "last words", writer, SharedScope.GLOBAL)
    os._exit(0)  # no close(): whatever this process left pending, another one must chain


def test_entries_of_a_process_that_died_after_its_commit_are_chained_by_another(maas: MaaS, url: str) -> None:
    pool, writer = _pool_with_writer(maas, "dies")
    maas.agents.get_agent(writer)  # this process's listener is up (and leads: it came first)
    before = maas.audit.count()
    child = _SPAWN.Process(target=_share_and_die, args=(url, pool, writer))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert maas.runtime.read(lambda tx: tx.count_shares(pool)) == 1
    assert _wait_until(lambda: maas.audit.count() == before + 1)  # chained without any write here
    entry = maas.audit.query(action="share", target=pool)[-1]
    assert entry.details["memory_id"] == "last words"
    assert maas.audit.verify_chain().ok
