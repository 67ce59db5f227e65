"""Event streaming: typed events, identity filtering, resumption, other processes — every backend."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from maas_langchain import (
    AgentType,
    EventKind,
    HandoffContext,
    InvalidInputError,
    MaaS,
    PermissionModel,
    SharedScope,
)

K = EventKind


def _drain(sub, expected: int, timeout: float = 10.0) -> list:
    events: list = []
    deadline = time.monotonic() + timeout
    while len(events) < expected and time.monotonic() < deadline:
        events += sub.poll(timeout=0.5)
    return events


def _scenario(maas: MaaS) -> dict[str, str]:
    a = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="alice")
    b = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="alice")
    c = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="carol")
    pool = maas.pools.create_pool("p", owner_id="alice", scope=SharedScope.GLOBAL)
    for agent in (a, b, c):
        maas.pools.join_pool(pool, agent, PermissionModel.WRITE)
    maas.pools.share_memory(pool, "private-a", a, SharedScope.AGENT_PRIVATE)
    maas.pools.share_memory(pool, "user-a", a, SharedScope.USER)
    maas.pools.share_memory(pool, "global-a", a, SharedScope.GLOBAL)
    h = maas.handoffs.initiate_handoff(a, b, HandoffContext(task_description="t"))
    maas.handoffs.accept_handoff(h, b)
    maas.handoffs.complete_handoff(h, b, {})
    maas.pools.leave_pool(pool, c)
    return {"a": a, "b": b, "c": c, "pool": pool, "handoff": h}


def test_every_change_is_an_event_in_commit_order(maas: MaaS) -> None:
    sub = maas.events.subscribe(after_seq=0)
    _scenario(maas)
    events = _drain(sub, 13)
    assert [e.kind for e in events] == [
        K.AGENT_REGISTERED,
        K.AGENT_REGISTERED,
        K.AGENT_REGISTERED,
        K.POOL_JOINED,
        K.POOL_JOINED,
        K.POOL_JOINED,
        K.MEMORY_SHARED,
        K.MEMORY_SHARED,
        K.MEMORY_SHARED,
        K.HANDOFF_INITIATED,
        K.HANDOFF_ACCEPTED,
        K.HANDOFF_COMPLETED,
        K.POOL_LEFT,
    ]
    assert [e.seq for e in events] == list(range(1, 14))
    assert sub.last_seq == 13 == maas.events.latest_seq()


def test_subscribers_see_only_what_their_identity_may_see(maas: MaaS) -> None:
    a_sub = maas.events.subscribe(after_seq=0)
    ids = _scenario(maas)
    for_b = maas.events.subscribe(agent_id=ids["b"], after_seq=0)
    for_c = maas.events.subscribe(agent_id=ids["c"], after_seq=0)
    _drain(a_sub, 13)
    seen_b = [(e.kind, e.data.get("memory_id")) for e in _drain(for_b, 10)]
    assert (K.MEMORY_SHARED, "user-a") in seen_b and (K.MEMORY_SHARED, "global-a") in seen_b
    assert (K.MEMORY_SHARED, "private-a") not in seen_b
    assert [k for k, _ in seen_b].count(K.HANDOFF_INITIATED) == 1
    seen_c = _drain(for_c, 4, timeout=2)
    kinds_c = [e.kind for e in seen_c]
    # c left the pool: what remains visible is its own registration, joining and leaving
    assert kinds_c == [K.AGENT_REGISTERED, K.POOL_JOINED, K.POOL_LEFT]
    assert all(e.data.get("agent_id") == ids["c"] for e in seen_c)


def test_pool_and_kind_filters(maas: MaaS) -> None:
    sub = maas.events.subscribe(after_seq=0, kinds=["handoff.completed", K.MEMORY_SHARED])
    ids = _scenario(maas)
    pool_only = maas.events.subscribe(after_seq=0, pool_id=ids["pool"])
    assert [e.kind for e in _drain(sub, 4)] == [K.MEMORY_SHARED] * 3 + [K.HANDOFF_COMPLETED]
    assert {e.pool_id for e in _drain(pool_only, 7)} == {ids["pool"]}
    with pytest.raises(InvalidInputError):
        maas.events.subscribe(kinds=["memory.exploded"])
    with pytest.raises(InvalidInputError):
        maas.events.subscribe(after_seq=-1)


def test_resuming_after_a_disconnect_loses_and_repeats_nothing(maas: MaaS) -> None:
    first = maas.events.subscribe(after_seq=0)
    _scenario(maas)
    got = first.poll(timeout=1)[:5]
    resume_at = got[-1].seq
    first.close()
    _scenario(maas)  # happens while nobody listens
    second = maas.events.subscribe(after_seq=resume_at)
    rest = _drain(second, 26 - resume_at)
    assert [e.seq for e in got + rest] == list(range(1, 27))


def test_default_subscription_starts_now(maas: MaaS) -> None:
    _scenario(maas)
    sub = maas.events.subscribe()
    assert sub.poll(timeout=0.1) == []
    maas.agents.register_agent(AgentType.HUMAN, owner_id="x")
    assert [e.kind for e in _drain(sub, 1)] == [K.AGENT_REGISTERED]


def test_failed_operations_emit_nothing(maas: MaaS) -> None:
    pipeline = maas.agents.register_agent(AgentType.CUSTOM_PIPELINE, owner_id="u")
    writer = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u")
    pool = maas.pools.create_pool("p", owner_id="u", scope=SharedScope.USER)
    maas.pools.join_pool(pool, pipeline, PermissionModel.WRITE)
    maas.pools.join_pool(pool, writer, PermissionModel.WRITE)
    head = maas.events.latest_seq()
    assert maas.pools.share_memory(pool, "m", pipeline, SharedScope.USER) is False
    with pytest.raises(InvalidInputError):
        maas.pools.share_memory(pool, "m", writer, SharedScope.GLOBAL)
    assert maas.events.latest_seq() == head


def test_iterators_sync_and_async(maas: MaaS) -> None:
    sub = maas.events.subscribe()
    received: list = []

    def consume() -> None:
        for event in sub:
            received.append(event)
            if len(received) == 3:
                sub.close()

    thread = threading.Thread(target=consume)
    thread.start()
    for _ in range(3):
        maas.agents.register_agent(AgentType.HUMAN, owner_id="u")
    thread.join(timeout=10)
    assert not thread.is_alive() and [e.kind for e in received] == [K.AGENT_REGISTERED] * 3

    async def consume_async() -> list:
        asub = maas.events.subscribe(after_seq=0)
        out = []
        async for event in asub:
            out.append(event.seq)
            if len(out) == 3:
                asub.close()
        return out

    assert asyncio.run(asyncio.wait_for(consume_async(), 10)) == [1, 2, 3]


def test_concurrent_writers_leave_no_gaps(maas: MaaS) -> None:
    def writer() -> None:
        for _ in range(20):
            maas.agents.register_agent(AgentType.HUMAN, owner_id="u")

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = _drain(maas.events.subscribe(after_seq=0), 80)
    assert [e.seq for e in events] == list(range(1, 81))


_PRODUCER = textwrap.dedent(
    """
    import sys, time
    from maas_langchain import MaaS, AgentType
    with MaaS.open(sys.argv[1], sweep_interval=None) as maas:
        for i in range(int(sys.argv[2])):
            maas.agents.register_agent(AgentType.HUMAN, owner_id=f"remote-{i}")
            time.sleep(0.01)
    """
)


def test_events_from_another_process_are_delivered(backend_name: str, open_maas, tmp_path) -> None:
    if backend_name == "memory":
        pytest.skip("the in-memory backend lives in one process")
    maas = open_maas()
    location = maas.backend.location if backend_name == "sqlite" else maas.backend.url  # type: ignore[attr-defined]
    sub = maas.events.subscribe()
    producer = subprocess.Popen([sys.executable, "-c", _PRODUCER, location, "10"])
    events = _drain(sub, 10, timeout=60)
    producer.wait(timeout=60)
    assert producer.returncode == 0
    assert [e.data["owner_id"] for e in events] == [f"remote-{i}" for i in range(10)]
