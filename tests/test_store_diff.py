"""Differential test: random operation sequences on LangGraph's ``InMemoryStore`` and on
``MaaSStore`` (in-memory backend for the bulk, then a SQLite file and PostgreSQL) must give the
same results: items (namespace, key, value), search order and query scores, namespace lists.

The reference is InMemoryStore with four documented normalisations (docs/store.md, "Where
LangGraph's stores disagree"): a get or delete on a namespace that never held an item does not
create it, namespaces whose items are all deleted are not listed, a put replaces the item's
vectors (InMemoryStore keeps those of field paths the new value no longer has), and a batch
that embeds the same text twice works (InMemoryStore raises ``ValueError``).
Range filters target a field every value has (InMemoryStore raises ``TypeError`` otherwise).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import postgres_url, require_postgres
from langgraph.store.base import GetOp, ListNamespacesOp, MatchCondition, Op, PutOp, SearchOp
from langgraph.store.memory import InMemoryStore

from maas_langchain import MaaS

WORDS = ["alpha", "beta", "gamma", "delta", "red", "blue", "cat", "dog", "sun", "moon"]
NAMESPACES = [("a",), ("a", "b"), ("a", "c"), ("a", "b", "c"), ("b",), ("b", "x", "y"), ("c", "a"), ("d", "b")]
KEYS = ["k0", "k1", "k2", "k3"]
DIMS = 12


def embed(texts: list[str]) -> list[list[float]]:
    """Deterministic bag-of-words vectors (never zero)."""
    out = []
    for text in texts:
        vec = [0.0] * DIMS
        vec[0] = 0.25
        for word in str(text).split():
            h = int(hashlib.md5(word.encode()).hexdigest(), 16)
            vec[1 + h % (DIMS - 1)] += 1.0 + (h >> 8) % 3
        out.append(vec)
    return out


class RefStore(InMemoryStore):
    """InMemoryStore with the normalisations the module docstring lists."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.filled: set[tuple[str, ...]] = set()

    def _prepare_ops(self, ops: Any) -> Any:
        before = set(self._data)
        out = super()._prepare_ops(ops)
        for ns in set(self._data) - before:
            if not self._data[ns]:
                del self._data[ns]
        return out

    def _extract_texts(self, put_ops: Any) -> Any:
        for namespace, key in put_ops:
            self._vectors[namespace].pop(key, None)
        return super()._extract_texts(put_ops)

    def _insertinmem_store(self, to_embed: Any, embeddings: list[list[float]]) -> None:
        # InMemoryStore pairs one embedding per distinct text with one entry per use of it and
        # raises ValueError when a batch embeds a text twice; give every use its text's vector
        for vector, uses in zip(embeddings, to_embed.values(), strict=True):
            for namespace, key, path in uses:
                self._vectors[namespace][key][path] = vector

    def _apply_put_ops(self, put_ops: Any) -> None:
        # InMemoryStore creates a namespace on a delete, too; create none for deletes
        deletes = {ident for ident, op in put_ops.items() if op.value is None}
        for namespace, key in deletes:
            if namespace in self._data:
                self._data[namespace].pop(key, None)
            self._vectors[namespace].pop(key, None)
        super()._apply_put_ops({ident: op for ident, op in put_ops.items() if ident not in deletes})
        for ns in list(self._data):
            if self._data[ns]:
                self.filled.add(ns)
            elif ns not in self.filled:
                del self._data[ns]

    def _handle_list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        saved = self._data
        self._data = type(saved)(dict, {ns: items for ns, items in saved.items() if items})
        try:
            return super()._handle_list_namespaces(op)
        finally:
            self._data = saved


def random_value(rng: random.Random) -> dict[str, Any]:
    value: dict[str, Any] = {"n": rng.randint(0, 5), "tag": rng.choice(WORDS[:4])}
    if rng.random() < 0.8:
        value["text"] = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
    if rng.random() < 0.3:
        value["tags"] = [rng.choice(WORDS) for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.3:
        value["nested"] = {"x": rng.randint(0, 2), "y": rng.choice(["p", "q"])}
    if rng.random() < 0.1:
        value["flag"] = rng.choice([True, False, None, 1, 1.0])
    return value


def random_filter(rng: random.Random) -> dict[str, Any] | None:
    choice = rng.random()
    if choice < 0.4:
        return None
    if choice < 0.55:
        return {"tag": rng.choice(WORDS[:4])}
    if choice < 0.7:
        op = rng.choice(["$gt", "$gte", "$lt", "$lte", "$eq", "$ne"])
        return {"n": {op: rng.randint(0, 5)}}
    if choice < 0.8:
        return {"nested": {"x": rng.randint(0, 2)}}
    if choice < 0.9:
        return {"flag": rng.choice([True, 1, None])}
    return {"tag": {"$ne": rng.choice(WORDS[:4])}, "n": {"$gte": rng.randint(0, 5)}}


def random_prefix(rng: random.Random) -> tuple[str, ...]:
    ns = rng.choice(NAMESPACES)
    return ns[: rng.randint(0, len(ns))]


def random_op(rng: random.Random, indexed: bool) -> Op:
    kind = rng.random()
    if kind < 0.45:
        index: Any = None
        if indexed and rng.random() < 0.3:
            index = rng.choice([False, ["text"], ["tags[*]"], ["nested.y", "text"], ["$"]])
        return PutOp(rng.choice(NAMESPACES), rng.choice(KEYS), random_value(rng), index=index)
    if kind < 0.55:
        return PutOp(rng.choice(NAMESPACES), rng.choice(KEYS), None)
    if kind < 0.65:
        return GetOp(rng.choice(NAMESPACES), rng.choice(KEYS))
    if kind < 0.88:
        query = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 2))) if rng.random() < 0.5 else None
        return SearchOp(random_prefix(rng), random_filter(rng), rng.randint(1, 6), rng.randint(0, 3), query)
    conditions = []
    if rng.random() < 0.5:
        path = list(random_prefix(rng)) or ["a"]
        if rng.random() < 0.3:
            path[rng.randrange(len(path))] = "*"
        conditions.append(MatchCondition("prefix", tuple(path)))
    if rng.random() < 0.3:
        conditions.append(MatchCondition("suffix", (rng.choice(["b", "c", "y", "*"]),)))
    depth = rng.choice([None, None, 1, 2, 3])
    return ListNamespacesOp(tuple(conditions), depth, rng.randint(1, 8), rng.randint(0, 2))


def normalise(result: Any) -> Any:
    if isinstance(result, list):
        return [normalise(r) for r in result]
    if result is None or isinstance(result, tuple):
        return result
    score = getattr(result, "score", None)
    return (tuple(result.namespace), result.key, result.value, None if score is None else round(score, 9))


def index_config(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() < 0.3:
        return None
    return {"dims": DIMS, "embed": embed, "fields": rng.choice([None, ["text"], ["text", "tags[*]"]])}


def run_sequence(seed: int, open_store: Callable[[dict[str, Any] | None], Any], *, use_async: bool = False) -> int:
    """Run one random sequence on both stores; return how many operations were compared."""
    rng = random.Random(seed)
    config = index_config(rng)
    ref = RefStore(index=config) if config else RefStore()
    mine = open_store(config)
    compared = 0
    for step in range(rng.randint(8, 20)):
        ops = [random_op(rng, config is not None) for _ in range(rng.choice([1, 1, 1, 2, 4]))]
        expected = ref.batch(ops)
        got = asyncio.run(mine.abatch(ops)) if use_async else mine.batch(ops)
        for op, want, have in zip(ops, expected, got, strict=True):
            assert normalise(have) == normalise(want), f"seed {seed} step {step}: {op}"
            compared += 1
    return compared


def _reset(maas: MaaS) -> None:
    with maas.backend.transaction(write=True) as tx:
        if maas.backend.name == "memory":
            tx.t.extra.pop("kv", None)  # type: ignore[attr-defined]
        else:
            for table in ("kv_vectors", "kv_items", "kv_namespaces"):
                tx._exec(f"DELETE FROM {table}")  # type: ignore[attr-defined]


def _run_many(maas: MaaS, seeds: range, *, use_async: bool = False) -> int:
    def open_store(config: dict[str, Any] | None) -> Any:
        _reset(maas)
        store = maas.store(index=config)
        store._engine.cache.clear()
        return store

    return sum(run_sequence(seed, open_store, use_async=use_async) for seed in seeds)


def test_in_memory_backend_matches_inmemorystore_on_1000_sequences() -> None:
    with MaaS.open(":memory:", sweep_interval=None) as maas:
        compared = _run_many(maas, range(1_000))
    assert compared > 10_000


def test_async_batches_match_too() -> None:
    with MaaS.open(":memory:", sweep_interval=None) as maas:
        assert _run_many(maas, range(5_000, 5_060), use_async=True) > 500


def test_sqlite_file_matches_inmemorystore(tmp_path: Path) -> None:
    with MaaS.open(tmp_path / "home", sweep_interval=None) as maas:
        assert _run_many(maas, range(10_000, 10_120)) > 1_000


@pytest.mark.postgres
def test_postgres_matches_inmemorystore(tmp_path: Path) -> None:
    require_postgres()
    with MaaS.open(postgres_url(tmp_path), sweep_interval=None) as maas:
        assert _run_many(maas, range(20_000, 20_060)) > 500
