"""Shares of one pool decided in parallel (PostgreSQL).

``share_memory`` first holds its pool's lock shared: its upsert checks, as it writes, that the
pool is still under its limit and that a share it replaces is still its author's
(``StateTx.upsert_share``); when a concurrent share changed either, the transaction fails with
``ConcurrentWriteError`` and the service runs the share again holding the pool's lock alone, where
it gets the answer the serialised decision gives.

Checked on a real server:

* the upsert fails its transaction, storing nothing, when the pool filled up after the
  transaction read its count, or when the share it would replace is another agent's;
* a share that loses the race for a pool's last place is refused for capacity, and one that
  loses the race for a memory to another agent is refused as a conflict; each refusal is
  audited once, the lost race itself never;
* without a race, a share is one transaction (no retry);
* a share waits while another transaction holds its pool alone (the retry runs serialised).

Capacity under real races between processes is ``test_cross_process.py``'s
``test_concurrent_writers_cannot_overshoot_a_capacity_limit``; the service's outcomes on every
backend are ``test_pools.py``'s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import postgres_url, require_postgres

from maas_langchain import AgentType, MaaS, PermissionModel, SharedScope
from maas_langchain.backends.postgres_tx import PgTx
from maas_langchain.core.records import SharedMemory
from maas_langchain.errors import CapacityExceededError, ConcurrentWriteError, ConflictError

pytestmark = pytest.mark.postgres


@pytest.fixture
def open_pg(tmp_path: Path) -> Iterator[Callable[..., MaaS]]:
    require_postgres()
    opened: list[MaaS] = []

    def open_one(**limits: int) -> MaaS:
        maas = MaaS.open(postgres_url(tmp_path), sweep_interval=None, limits=limits or None)
        opened.append(maas)
        return maas

    yield open_one
    for maas in opened:
        maas.close()


def _pool_of_two(maas: MaaS) -> tuple[str, str, str]:
    pool = maas.pools.create_pool("raced", "u1", SharedScope.GLOBAL)
    a, b = (maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1") for _ in range(2))
    for agent in (a, b):
        assert maas.pools.join_pool(pool, agent, PermissionModel.WRITE)
    return pool, a, b


def _share(pool_id: str, memory_id: str, author: str) -> SharedMemory:
    return SharedMemory(pool_id, memory_id, author, SharedScope.GLOBAL, "u1", None, None, time.time())


def _in_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on another thread (its own transaction, committed) and return its result."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join(30)
    assert out, "the concurrent share did not finish"
    return out[0]


def _authors(maas: MaaS, pool: str, reader: str) -> dict[str, str]:
    return {s.memory_id: s.author_id for s in maas.pools.query_shared(pool, reader)}


def test_an_upsert_whose_pool_filled_up_after_its_read_fails_and_stores_nothing(
    open_pg: Callable[..., MaaS],
) -> None:
    maas = open_pg()
    pool, a, b = _pool_of_two(maas)
    with pytest.raises(ConcurrentWriteError, match="changed concurrently"), maas.backend.transaction(write=True) as tx:
        tx.claim(("pool", pool), shared=True)  # as share_memory's first try
        assert tx.count_shares(pool) == 0
        assert _in_thread(lambda: maas.pools.share_memory(pool, "mem-b", b, SharedScope.GLOBAL))  # the only place
        tx.upsert_share(_share(pool, "mem-a", a), 1)
    assert _authors(maas, pool, a) == {"mem-b": b}
    assert maas.runtime.read(lambda tx: tx.count_shares(pool)) == 1


def test_an_upsert_replacing_another_agents_share_fails_and_stores_nothing(open_pg: Callable[..., MaaS]) -> None:
    maas = open_pg()
    pool, a, b = _pool_of_two(maas)
    assert maas.pools.share_memory(pool, "mem-x", b, SharedScope.TEAM)
    with pytest.raises(ConcurrentWriteError), maas.backend.transaction(write=True) as tx:
        tx.claim(("pool", pool), shared=True)
        tx.upsert_share(_share(pool, "mem-x", a), 10)
    (share,) = maas.pools.query_shared(pool, b)
    assert (share.author_id, share.scope) == (b, SharedScope.TEAM)
    assert maas.runtime.read(lambda tx: tx.count_shares(pool)) == 1


def _race_first_upsert(monkeypatch: pytest.MonkeyPatch, race: Callable[[], object]) -> list[str]:
    """Run ``race`` on another thread, to its commit, when the first share reaches its upsert
    (after its reads and checks); return the memory ids of every upsert, in order."""
    calls: list[str] = []
    original = PgTx.upsert_share

    def racing(self: PgTx, share: SharedMemory, limit: int | None = None) -> None:
        calls.append(share.memory_id)
        if len(calls) == 1:
            _in_thread(race)
        original(self, share, limit)

    monkeypatch.setattr(PgTx, "upsert_share", racing)
    return calls


def _spy_claims(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[tuple[str, str], ...], bool]]:
    """Record every claim's resources and whether it was shared."""
    seen: list[tuple[tuple[tuple[str, str], ...], bool]] = []
    original = PgTx.claim

    def spy(self: PgTx, *resources: tuple[str, str], shared: bool = False) -> None:
        seen.append((resources, shared))
        original(self, *resources, shared=shared)

    monkeypatch.setattr(PgTx, "claim", spy)
    return seen


def _refusals(maas: MaaS, actor: str) -> list[str]:
    return [e.outcome for e in maas.audit.query(actor=actor) if e.outcome != "success"]


def test_a_share_that_loses_the_race_for_the_last_place_is_refused_for_capacity(
    open_pg: Callable[..., MaaS], monkeypatch: pytest.MonkeyPatch
) -> None:
    maas = open_pg(max_shared_memories_per_pool=1)
    pool, a, b = _pool_of_two(maas)
    calls = _race_first_upsert(monkeypatch, lambda: maas.pools.share_memory(pool, "mem-b", b, SharedScope.GLOBAL))
    claims = _spy_claims(monkeypatch)
    with pytest.raises(CapacityExceededError, match="maximum of 1 shared"):
        maas.pools.share_memory(pool, "mem-a", a, SharedScope.GLOBAL)
    assert calls == ["mem-a", "mem-b"]  # the retry, serialised, saw the pool full and wrote nothing
    assert claims == [((("pool", pool),), True)] * 2 + [((("pool", pool),), False)]  # a, b, then a alone
    assert _authors(maas, pool, a) == {"mem-b": b}
    assert maas.runtime.read(lambda tx: tx.count_shares(pool)) == 1
    assert _refusals(maas, a) == ["capacity_exceeded"]
    assert maas.audit.verify_chain().ok


def test_a_share_that_loses_the_race_for_a_memory_is_refused_as_a_conflict(
    open_pg: Callable[..., MaaS], monkeypatch: pytest.MonkeyPatch
) -> None:
    maas = open_pg()
    pool, a, b = _pool_of_two(maas)
    calls = _race_first_upsert(monkeypatch, lambda: maas.pools.share_memory(pool, "mem-a", b, SharedScope.GLOBAL))
    with pytest.raises(ConflictError, match=r"already shared in pool .* by another agent"):
        maas.pools.share_memory(pool, "mem-a", a, SharedScope.PROJECT)
    assert calls == ["mem-a", "mem-a"]
    assert _authors(maas, pool, b) == {"mem-a": b}
    assert maas.runtime.read(lambda tx: tx.count_shares(pool)) == 1
    assert _refusals(maas, a) == ["conflict"]


def test_a_share_without_a_race_is_one_transaction(
    open_pg: Callable[..., MaaS], monkeypatch: pytest.MonkeyPatch
) -> None:
    maas = open_pg()
    pool, a, _ = _pool_of_two(maas)
    calls = _race_first_upsert(monkeypatch, lambda: None)
    assert maas.pools.share_memory(pool, "mem-a", a, SharedScope.GLOBAL)
    assert maas.pools.share_memory(pool, "mem-a", a, SharedScope.PROJECT)  # a re-share by its author
    assert calls == ["mem-a", "mem-a"]
    assert [s.scope for s in maas.pools.query_shared(pool, a)] == [SharedScope.PROJECT]
    assert maas.runtime.read(lambda tx: tx.count_shares(pool)) == 1


def test_a_share_waits_while_its_pool_is_held_alone(open_pg: Callable[..., MaaS]) -> None:
    maas = open_pg()
    pool, a, _ = _pool_of_two(maas)
    done = threading.Event()
    with maas.backend.transaction(write=True) as tx:
        tx.claim(("pool", pool))  # as a share's second try
        assert tx.count_shares(pool) == 0  # begun: the lock is held
        sharing = threading.Thread(
            target=lambda: (maas.pools.share_memory(pool, "mem-a", a, SharedScope.GLOBAL), done.set())
        )
        sharing.start()
        assert not done.wait(0.5)  # the share holds the pool shared: it waits
    sharing.join(30)
    assert done.is_set()
    assert _authors(maas, pool, a) == {"mem-a": a}
