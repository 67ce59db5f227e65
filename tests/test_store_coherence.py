"""Store read caches stay coherent across processes while a lone process skips the counter.

A store write bumps the shared ``kv_version`` only while another process is registered as a
caching reader (``kv_readers``); these tests check both halves: the bump is skipped when no
one else caches (the saving), and every cache still sees every write — its own process's
through the local stamp, another process's through the bump, and a lapsed registration
through the epoch.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from maas_langchain import MaaS
from maas_langchain.core.item_cache import coherence_for

DIMS = 4


def embed(texts: list[str]) -> list[list[float]]:
    return [[1.0, float(len(t) % 5), float(t.count("a")), 0.5] for t in texts]


INDEX: dict[str, Any] = {"dims": DIMS, "embed": embed, "fields": ["text"]}


def counter(maas: MaaS) -> int:
    with maas.backend.transaction(write=False) as tx:
        return tx.kv_version()


@pytest.fixture
def two(open_maas: Callable[..., MaaS], backend_name: str) -> tuple[MaaS, MaaS]:
    """Two instances on one database (two processes, as far as the store can tell)."""
    if backend_name == "memory":
        pytest.skip("an in-memory database has no second instance")
    return open_maas(), open_maas()


def test_a_process_alone_writes_without_bumping_the_counter(maas: MaaS) -> None:
    store = maas.store(cache_interval=0.0)
    store.put(("c",), "k", {"v": 0})
    assert store.get(("c",), "k").value == {"v": 0}  # registers this process as a caching reader
    before = counter(maas)
    for n in range(1, 20):
        store.put(("c",), "k", {"v": n})
        assert store.get(("c",), "k").value == {"v": n}
    store.delete(("c",), "k")
    assert store.get(("c",), "k") is None
    assert counter(maas) == before


def test_a_view_without_cache_invalidates_the_cached_view_at_once(maas: MaaS) -> None:
    cached, uncached = maas.store(cache_interval=60.0), maas.store(cache=False)
    cached.put(("c",), "k", {"v": 1})
    assert cached.get(("c",), "k").value == {"v": 1}
    uncached.put(("c",), "k", {"v": 2})
    assert cached.get(("c",), "k").value == {"v": 2}  # no interval to wait: the same process


def test_query_plans_see_another_views_writes_without_a_bump(maas: MaaS) -> None:
    searcher, writer = maas.store(index=INDEX), maas.store(index=INDEX, cache=False)
    writer.put(("docs",), "a", {"text": "aaa"})
    assert [i.key for i in searcher.search(("docs",), query="aaa")] == ["a"]  # plan cached
    before = counter(maas)
    writer.put(("docs",), "b", {"text": "aab"})
    assert sorted(i.key for i in searcher.search(("docs",), query="aaa")) == ["a", "b"]
    assert counter(maas) == before


def test_another_processes_cache_gets_bumps_and_sees_writes(two: tuple[MaaS, MaaS]) -> None:
    a, b = two
    reader, writer = a.store(cache_interval=0.05), b.store()
    writer.put(("c",), "k", {"v": 1})
    assert reader.get(("c",), "k").value == {"v": 1}  # a registers and caches
    before = counter(b)
    writer.put(("c",), "k", {"v": 2})
    assert counter(b) == before + 1  # b's write bumps: a caches
    time.sleep(0.06)
    assert reader.get(("c",), "k").value == {"v": 2}
    a.close()  # a unregisters: b is alone again
    writer.put(("c",), "k", {"v": 3})
    assert counter(b) == before + 1


def test_query_plans_of_another_process_see_writes_at_once(two: tuple[MaaS, MaaS]) -> None:
    a, b = two
    searcher, writer = a.store(index=INDEX), b.store(index=INDEX)
    writer.put(("docs",), "a", {"text": "aaa"})
    assert [i.key for i in searcher.search(("docs",), query="aaa")] == ["a"]
    writer.put(("docs",), "b", {"text": "aab"})
    assert sorted(i.key for i in searcher.search(("docs",), query="aaa")) == ["a", "b"]


def test_a_lapsed_registration_drops_the_cache(two: tuple[MaaS, MaaS]) -> None:
    a, b = two
    reader, writer = a.store(cache_interval=0.05), b.store()
    writer.put(("c",), "k", {"v": 1})
    assert reader.get(("c",), "k").value == {"v": 1}
    # a was paused past its registration's expiry (and the writers' grace): writers stop bumping
    coherence = coherence_for(a.backend, 0.05)
    with a.backend.transaction(write=True) as tx:
        tx.kv_register_reader(coherence.reader_id, time.time() - 1_000, 0.0)
    coherence.until = time.time() - 1_000
    before = counter(b)
    writer.put(("c",), "k", {"v": 2})
    assert counter(b) == before  # no live reader elsewhere: no bump
    time.sleep(0.06)
    assert reader.get(("c",), "k").value == {"v": 2}  # the epoch moved, the cache was dropped
    writer.put(("c",), "k", {"v": 3})
    assert counter(b) == before + 1  # a registered again


def test_a_writer_in_a_real_second_process(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with MaaS.open(home, sweep_interval=None) as maas:
        reader = maas.store(cache_interval=0.05)
        reader.put(("c",), "k", {"v": 1})
        assert reader.get(("c",), "k").value == {"v": 1}
        script = textwrap.dedent(
            f"""
            from maas_langchain import MaaS
            with MaaS.open({str(home)!r}, sweep_interval=None) as maas:
                maas.store().put(("c",), "k", {{"v": 2}})
            """
        )
        subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
        time.sleep(0.06)
        assert reader.get(("c",), "k").value == {"v": 2}


def test_threads_read_their_own_writes_through_one_cache(maas: MaaS) -> None:
    import threading

    store = maas.store(cache_interval=60.0)  # only local stamps keep it right: no interval help
    errors: list[str] = []
    start = threading.Barrier(4)

    def worker(t: int) -> None:
        start.wait()
        for n in range(150):
            store.put(("c", f"t{t}"), "k", {"v": n})
            got = store.get(("c", f"t{t}"), "k")
            if got is None or got.value != {"v": n}:
                errors.append(f"thread {t} wrote {n}, read {got and got.value}")
            other = store.get(("c", f"t{(t + 1) % 4}"), "k")  # another thread's key, cached or not
            if other is not None and not 0 <= other.value["v"] < 150:
                errors.append(f"thread {t} read a value nobody wrote: {other.value}")

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert [store.get(("c", f"t{t}"), "k").value for t in range(4)] == [{"v": 149}] * 4


def test_renewal_runs_in_the_background_and_keeps_the_cache(tmp_path: Path) -> None:
    import threading

    with MaaS.open(tmp_path / "home", sweep_interval=None) as maas:
        store = maas.store(cache_interval=0.0)
        store.put(("c",), "k", {"v": 1})
        assert store.get(("c",), "k").value == {"v": 1}
        coherence = coherence_for(maas.backend, 0.0)
        epoch = coherence.epoch
        coherence.until = time.time() + 10  # past half its life: due for renewal
        held, done = threading.Event(), threading.Event()

        def hold_the_write_lock() -> None:  # another writer, on its own connection, for 2 s
            with maas.backend.transaction(write=True):
                held.set()
                done.wait(2.0)

        holder = threading.Thread(target=hold_the_write_lock)
        holder.start()
        assert held.wait(10)
        started = time.monotonic()
        try:
            # the renewal waits in its own thread; this get is served at once, from the cache
            assert store.get(("c",), "k").value == {"v": 1}
            assert time.monotonic() - started < 1.0
        finally:
            done.set()
            holder.join(10)
        deadline = time.monotonic() + 30
        while coherence.until < time.time() + 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert coherence.until >= time.time() + 50  # renewed once the lock was free
        assert coherence.epoch == epoch  # never lapsed: the cache was kept
        assert coherence.cache.lookup((("c",), "k")) is not None


def test_without_a_registration_reads_are_fresh_and_nothing_is_cached(
    two: tuple[MaaS, MaaS], monkeypatch: pytest.MonkeyPatch
) -> None:
    from maas_langchain.core.item_cache import Coherence
    from maas_langchain.errors import BackendUnavailableError

    def refuse(self: Coherence) -> None:
        raise BackendUnavailableError("read-only role")

    monkeypatch.setattr(Coherence, "_register", refuse)
    a, b = two
    reader, writer = a.store(cache_interval=60.0), b.store()
    for n in range(3):
        writer.put(("c",), "k", {"v": n})
        assert reader.get(("c",), "k").value == {"v": n}  # no interval to wait: nothing cached
    assert coherence_for(a.backend, 60.0).cache.lookup((("c",), "k")) is None


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_a_forked_child_is_another_reader(tmp_path: Path) -> None:
    import multiprocessing

    with MaaS.open(tmp_path / "home", sweep_interval=None) as maas:
        store = maas.store(cache_interval=0.05)
        store.put(("c",), "k", {"v": 1})
        assert store.get(("c",), "k").value == {"v": 1}  # the parent registers and caches

        def writer() -> None:  # inherits the MaaS object, its cache and its registration state
            store.put(("c",), "k", {"v": 2})

        def closer() -> None:  # closing in a child must not remove the parent's registration
            maas.close()

        for child in (closer, writer):
            process = multiprocessing.get_context("fork").Process(target=child)
            process.start()
            process.join(60)
            assert process.exitcode == 0
        time.sleep(0.06)
        assert store.get(("c",), "k").value == {"v": 2}
        before = counter(maas)
        MaaS.open(tmp_path / "home", sweep_interval=None).store().put(("c",), "k", {"v": 3})
        assert counter(maas) == before + 1  # the parent is still registered: other writers bump
