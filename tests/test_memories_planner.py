"""The recall planner's cache and the full-text window never serve stale or starved results.

A scope's plan (exact vs index, its ids and stacked vectors) is cached until the store's memory
generation moves; full-text search ranks inside FTS5 first and widens its window when superseded
rows (which stay in the FTS table) crowd the top. Every backend, through ``open_maas``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from maas_langchain import MaaS, MemoryInput
from maas_langchain.core.exact import ScopePlan, ScopePlans
from maas_langchain.embeddings import HashingEmbeddings
from maas_langchain.testing import ManualClock

PROJECT = {"org": "acme", "project": "alpha"}
W1 = {**PROJECT, "agent": "w1"}


def _open(open_maas: Callable[..., MaaS], clock: ManualClock, **kw: object) -> MaaS:
    return open_maas(clock=clock, embeddings=HashingEmbeddings(), vectors="bruteforce", **kw)


def test_a_cached_plan_sees_every_later_write_and_status_change(
    open_maas: Callable[..., MaaS], clock: ManualClock
) -> None:
    mem = _open(open_maas, clock)
    first = mem.memories.remember("the cache key rotates weekly", scope=W1)
    assert [h.memory.memory_id for h in mem.memories.recall("cache key", scope=W1)] == [first.memory_id]
    second = mem.memories.remember("cache key rotation moved to daily", scope=W1)
    ids = {h.memory.memory_id for h in mem.memories.recall("cache key", scope=W1)}
    assert ids == {first.memory_id, second.memory_id}
    assert mem.memories.forget(first.memory_id)
    assert [h.memory.memory_id for h in mem.memories.recall("cache key", scope=W1)] == [second.memory_id]
    newer = mem.memories.remember("cache key rotation is hourly now", scope=W1, supersedes=second.memory_id)
    assert [h.memory.memory_id for h in mem.memories.recall("cache key", scope=W1)] == [newer.memory_id]


def test_another_instance_on_the_same_store_invalidates_the_plan(
    open_maas: Callable[..., MaaS], clock: ManualClock, backend_name: str
) -> None:
    if backend_name == "memory":
        pytest.skip("the in-memory backend has no second instance on the same store")
    reader = _open(open_maas, clock)
    writer = _open(open_maas, clock)
    reader.memories.remember("release train leaves on friday", scope=W1)
    assert len(reader.memories.recall("release train", scope=W1, top_k=10)) == 1
    late = writer.memories.remember("release train delayed to monday", scope=W1)
    hits = reader.memories.recall("release train", scope=W1, top_k=10)
    assert late.memory_id in {h.memory.memory_id for h in hits} and len(hits) == 2


def test_a_scope_over_the_exact_limit_goes_to_the_index_and_is_not_starved(
    open_maas: Callable[..., MaaS], clock: ManualClock
) -> None:
    mem = _open(open_maas, clock, exact_limit=5)
    mem.memories.remember_many([MemoryInput(f"deploy checklist step {i}", PROJECT) for i in range(30)])
    hits = mem.memories.recall("deploy checklist step 7", scope=PROJECT, top_k=10)
    assert len(hits) == 10 and "deploy checklist step 7" in {h.memory.content for h in hits}


def test_full_text_window_widens_past_superseded_rows(open_maas: Callable[..., MaaS], clock: ManualClock) -> None:
    mem = _open(open_maas, clock)
    # 120 superseded versions all matching "quartz" strongly, then one current one weakly
    current = mem.memories.remember("quartz quartz quartz version 0", scope=W1)
    for i in range(1, 121):
        current = mem.memories.remember(f"quartz quartz quartz version {i}", scope=W1, supersedes=current.memory_id)
    weak = mem.memories.remember("a long note that mentions quartz only once among many other words here", scope=W1)

    def lexical() -> list[str]:
        terms = ["quartz"]
        flt = mem.memories.hierarchy.filter(W1, descendants=True)
        return [i for i, _ in mem.memories._rt.read(lambda tx: tx.lexical_search(terms, flt, 2))]

    assert set(lexical()) == {current.memory_id, weak.memory_id}


def test_plans_are_bounded_by_rows_and_keyed_by_generation() -> None:
    import numpy as np

    plans = ScopePlans(max_rows=4)
    vec = np.ones((2, 3), dtype=np.float32)
    plans.put("a", ScopePlan(1, ("x", "y"), vec))
    plans.put("b", ScopePlan(1, ("z", "w"), vec))
    assert plans.get("a", 1) is not None and plans.get("a", 2) is None
    plans.put("c", ScopePlan(1, ("u", "v"), vec))  # over 4 rows: the least recently used ("b") goes
    assert plans.get("b", 1) is None and plans.get("a", 1) is not None and plans.get("c", 1) is not None
    assert plans.get("a", 1).nearest(np.ones(3, dtype=np.float32), 1)[0][1] == pytest.approx(np.sqrt(3))
