"""MaaSStore behaviour on every backend: bad input, TTL, the read cache, the index path."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langgraph.store.base import GetOp, InvalidNamespaceError, PutOp, SearchOp
from langgraph.store.memory import InMemoryStore

from maas_langchain import AgentType, MaaS
from maas_langchain.adapters.langgraph import MaaSStore
from maas_langchain.core.item_values import DEFAULT_MAX_VALUE_BYTES
from maas_langchain.errors import InvalidInputError
from maas_langchain.testing import ManualClock

DIMS = 8


def embed(texts: list[str]) -> list[list[float]]:
    out = []
    for text in texts:
        vec = [0.1] + [0.0] * (DIMS - 1)
        for word in text.lower().replace('"', " ").split():
            vec[1 + sum(map(ord, word)) % (DIMS - 1)] += 1.0
        out.append(vec)
    return out


INDEX: dict[str, Any] = {"dims": DIMS, "embed": embed, "fields": ["text"]}


@pytest.fixture
def store(maas: MaaS) -> MaaSStore:
    return maas.store()  # type: ignore[no-any-return]


# --- bad input ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "namespace",
    [("a.b",), ("",), ("a", 1), ("langgraph", "x"), (), ("a\x00",)],
)
def test_rejects_the_namespaces_langgraph_rejects(store: MaaSStore, namespace: tuple[Any, ...]) -> None:
    reference = InMemoryStore()
    with pytest.raises(InvalidNamespaceError):
        reference.put(namespace, "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.put(namespace, "k", {"v": 1})
    if namespace != ("langgraph", "x"):  # LangGraph's stores take that root below put: test_store_fidelity.py
        with pytest.raises(InvalidNamespaceError) as raised:  # ops passed to batch directly, too
            store.batch([PutOp(namespace, "k", {"v": 1})])
        assert isinstance(raised.value, InvalidInputError) and raised.value.code == "invalid_input"
    assert store.search(()) == []


def test_reads_accept_what_langgraph_accepts(store: MaaSStore) -> None:
    assert store.get(("nobody",), "unknown") is None
    assert store.search(()) == []
    assert store.list_namespaces() == []
    with pytest.raises(InvalidNamespaceError):
        store.batch([GetOp(("a.b",), "k")])
    with pytest.raises(InvalidNamespaceError):
        store.batch([SearchOp(("",))])


@pytest.mark.parametrize(
    "value, words",
    [
        ("text", "dict"),
        ([1, 2], "dict"),
        ({"s": {1, 2}}, "JSON"),
        ({1: "int key"}, "JSON"),
        ({"x": float("nan")}, "JSON"),
        ({"x": object()}, "JSON"),
    ],
)
def test_rejects_values_that_are_not_json_objects(store: MaaSStore, value: Any, words: str) -> None:
    store.put(("ns",), "k", {"kept": True})
    with pytest.raises(InvalidInputError, match=words):
        store.put(("ns",), "k", value)
    assert store.get(("ns",), "k").value == {"kept": True}  # nothing stored was lost


def test_size_limit_is_configurable_and_clear(maas: MaaS) -> None:
    small = maas.store(max_value_bytes=100)
    small.put(("ns",), "ok", {"x": "y" * 50})
    with pytest.raises(InvalidInputError, match="at most 100"):
        small.put(("ns",), "big", {"x": "y" * 200})
    assert small.get(("ns",), "big") is None


def test_rejects_bad_keys_filters_and_paging(store: MaaSStore) -> None:
    with pytest.raises(InvalidInputError):
        store.batch([PutOp(("ns",), 5, {"v": 1})])  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="NUL"):
        store.put(("ns",), "a\x00b", {"v": 1})
    store.put(("ns",), "k", {"v": 1})
    with pytest.raises(InvalidInputError, match="operator"):
        store.search(("ns",), filter={"v": {"$in": [1]}})
    with pytest.raises(InvalidInputError):
        store.search(("ns",), limit=-1)
    with pytest.raises(InvalidInputError, match="ttl"):
        store.put(("ns",), "k", {"v": 1}, ttl=-5)


def test_range_filter_on_missing_field_does_not_match(store: MaaSStore) -> None:
    store.put(("ns",), "a", {"n": 5})
    store.put(("ns",), "b", {"other": 1})
    store.put(("ns",), "c", {"n": "7"})
    assert [i.key for i in store.search(("ns",), filter={"n": {"$gt": 4}})] == ["a", "c"]


def test_string_equality_filters_match_inmemorystore_exactly(store: MaaSStore) -> None:
    """Equality with a string is handed to the database first; the results must not change."""
    values = {
        "s": {"tag": "5", "k": "x"},
        "i": {"tag": 5, "k": "x"},
        "b": {"tag": True, "k": "x"},
        "t": {"tag": "true", "k": "x"},
        "l": {"tag": ["5"], "k": "x"},
        "j": {"tag": '["5"]', "k": "x"},
        "o": {"tag": {"5": 1}, "k": "x"},
        "n": {"tag": None, "k": "x"},
        "m": {"k": "x"},
        "u": {"tag": 'ünï "q" ✓', "k": "y"},
        "q": {'we"ird': "5", "1st": "5", "k": "x"},
    }
    reference = InMemoryStore()
    for key, value in values.items():
        store.put(("eq",), key, value)
        reference.put(("eq",), key, value)
    filters: list[dict[str, Any]] = [
        {"tag": "5"},
        {"tag": {"$eq": "5"}},
        {"tag": "true"},
        {"tag": '["5"]'},
        {"tag": 'ünï "q" ✓'},
        {"tag": "5", "k": "x"},
        {"tag": "5", "k": "y"},
        {'we"ird': "5"},
        {"1st": "5"},
        {"tag": 5},
        {"tag": {"$ne": "5"}},
    ]
    for flt in filters:
        for limit, offset in ((10, 0), (1, 0), (2, 1)):
            got = [i.key for i in store.search(("eq",), filter=flt, limit=limit, offset=offset)]
            want = [i.key for i in reference.search(("eq",), filter=flt, limit=limit, offset=offset)]
            assert got == want, (flt, limit, offset)


def test_a_batch_stores_every_value_exactly(store: MaaSStore) -> None:
    """Batches travel to PostgreSQL as one JSON document: escapes, NULs and floats survive."""
    values = {
        "text": {"s": 'nul\x00 é ✓ "q" \\ \n\t', "emoji": "🙂", "empty": ""},
        "numbers": {"tiny": 1e-300, "huge": 1.7976931348623157e308, "neg": -0.0, "big": 2**62, "pi": 3.141592653589793},
        "nested": {"list": [1, "two", None, {"three": [3.5]}], "flag": True},
    }
    store.batch([PutOp(("exact",), key, value, ttl=None) for key, value in values.items()])
    store.batch([PutOp(("exact",), "ttl", {"v": 1}, ttl=5.0), PutOp(("exact",), "ttl2", {"v": 2}, ttl=7.5)])
    for key, value in values.items():
        assert store.get(("exact",), key).value == value, key
    assert store.get(("exact",), "ttl2").value == {"v": 2}


def test_a_batch_of_writes_matches_inmemorystore_and_is_all_or_nothing(store: MaaSStore) -> None:
    """The trusted write-only batch skips planning: the last write of a key still wins (in the
    first's place), deletes mix with puts, and one bad operation anywhere writes nothing."""
    ops = [
        PutOp(("w",), "a", {"v": 1}),
        PutOp(("w", "sub"), "b", {"v": 2}),
        PutOp(("w",), "kept", None),
        PutOp(("w",), "a", {"v": 3}),
        PutOp(("w",), "b", {"v": 4}),
        PutOp(("w",), "b", None),
        PutOp(("w",), "c", {"v": 5}),
        PutOp(("w", "sub"), "b", {"v": 6}),
    ]
    reference = InMemoryStore()
    for s in (reference, store):
        s.put(("w",), "kept", {"v": 0})
        assert s.batch(ops) == [None] * len(ops)
    seen = [[(i.namespace, i.key, i.value) for i in s.search(("w",))] for s in (reference, store)]
    assert seen[0] == seen[1] == [(("w",), "a", {"v": 3}), (("w",), "c", {"v": 5}), (("w", "sub"), "b", {"v": 6})]
    # a namespace given as a list is checked and stored as its tuple (InMemoryStore cannot hash it)
    store.batch([PutOp(["w", "listed"], "k", {"v": 7}), PutOp(["w", "listed"], "k2", {"v": 8})])  # type: ignore[arg-type]
    assert [i.key for i in store.search(("w", "listed"))] == ["k", "k2"]
    # reads in a batch see the state before its writes, as in InMemoryStore
    mixed = [PutOp(("w",), "fresh", {"v": 9}), GetOp(("w",), "fresh"), GetOp(("w",), "a")]
    assert [r if r is None else r.value for r in reference.batch(mixed)] == [None, None, {"v": 3}]
    assert [r if r is None else r.value for r in store.batch(mixed)] == [None, None, {"v": 3}]
    before = [(i.namespace, i.key, i.value) for i in store.search(("w",), limit=100)]
    bad_tails = [
        PutOp(("w", "x.y"), "k", {"v": 1}),
        PutOp(("w",), "k", {"v": float("nan")}),
        PutOp(("w",), "k", {"v": 1}, ttl=-1),
        PutOp(("w",), 5, {"v": 1}),  # type: ignore[arg-type]
        PutOp(("w",), "k", "not a dict"),  # type: ignore[arg-type]
        PutOp(("w",), "k", {"v": "x" * (DEFAULT_MAX_VALUE_BYTES + 1)}),
    ]
    for bad in bad_tails:
        with pytest.raises(InvalidInputError):
            store.batch([PutOp(("w",), "a", {"v": "overwritten"}), PutOp(("w", "new"), "n", {"v": 1}), bad])
    assert [(i.namespace, i.key, i.value) for i in store.search(("w",), limit=100)] == before


@pytest.mark.parametrize("size", [2, 63, 64, 65, 100, 131])
def test_batches_of_every_size_keep_order_values_and_the_last_write(
    store: MaaSStore, clock: ManualClock, size: int
) -> None:
    """SQLite sends a batch as multi-row statements of 64, 32, ... rows: every row lands, in
    order, and a key repeated across two statements ends with its last value in the first's place."""
    ops = [
        PutOp(("sized",), f"k{n:03}", {"n": n, "ttl": n % 3 == 1}, ttl=5.0 if n % 3 == 1 else None) for n in range(size)
    ]
    ops.append(PutOp(("sized",), "k000", {"n": "last"}))  # repeats the first key, after the last chunk
    ops.insert(1, PutOp(("sized",), "k-del", {"n": "gone"}))
    ops.append(PutOp(("sized",), "k-del", None))
    reference = InMemoryStore()
    for s in (reference, store):
        s.batch(ops)
    want = [(i.key, i.value) for i in reference.search(("sized",), limit=size + 5)]
    got = [(i.key, i.value) for i in store.search(("sized",), limit=size + 5)]
    assert got == want and len(got) == size and got[0] == ("k000", {"n": "last"})
    clock.advance(6 * 60)  # past the 5-minute TTL of every third item: only those expire
    assert [k for k, v in got if not v.get("ttl")] == [i.key for i in store.search(("sized",), limit=size + 5)]


def test_filtered_search_pages_past_many_non_matching_rows(store: MaaSStore) -> None:
    store.batch([PutOp(("many",), f"k{n:03}", {"tag": "red" if n % 50 == 49 else "blue"}) for n in range(300)])
    got = [i.key for i in store.search(("many",), filter={"tag": "red"}, limit=4, offset=1)]
    assert got == ["k099", "k149", "k199", "k249"]


# --- basic semantics ------------------------------------------------------------------
def test_put_get_update_delete_and_namespaces(store: MaaSStore) -> None:
    store.put(("docs", "u1"), "a", {"text": "one"})
    store.put(("docs", "u2"), "b", {"text": "two"})
    first = store.get(("docs", "u1"), "a")
    assert first is not None and first.namespace == ("docs", "u1") and first.value == {"text": "one"}
    first.value["text"] = "mutated"  # a caller's copy; the store is unchanged
    store.put(("docs", "u1"), "a", {"text": "uno"})
    assert store.get(("docs", "u1"), "a").value == {"text": "uno"}
    assert store.list_namespaces(prefix=("docs",)) == [("docs", "u1"), ("docs", "u2")]
    assert store.list_namespaces(suffix=("u2",)) == [("docs", "u2")]
    assert store.list_namespaces(prefix=("*", "u1")) == [("docs", "u1")]
    assert store.list_namespaces(max_depth=1) == [("docs",)]
    store.delete(("docs", "u1"), "a")
    assert store.get(("docs", "u1"), "a") is None
    assert store.list_namespaces() == [("docs", "u2")]


@pytest.mark.asyncio
async def test_async_methods(maas: MaaS) -> None:
    store = maas.store(index=INDEX)
    await store.aput(("docs",), "a", {"text": "red apple"})
    await store.aput(("docs",), "b", {"text": "blue sky"})
    item = await store.aget(("docs",), "a")
    assert item is not None and item.value["text"] == "red apple"
    hits = await store.asearch(("docs",), query="red apple")
    assert hits[0].key == "a" and hits[0].score == pytest.approx(1.0)
    assert await store.alist_namespaces() == [("docs",)]
    await store.adelete(("docs",), "a")
    assert await store.aget(("docs",), "a") is None


# --- TTL ------------------------------------------------------------------------------
def test_ttl_expiry_refresh_and_sweep(open_maas: Callable[..., MaaS]) -> None:
    clock = ManualClock()
    maas = open_maas(clock=clock)
    store = maas.store(ttl={"default_ttl": 1.0})
    assert store.supports_ttl
    store.put(("t",), "default", {"v": 1})  # default_ttl: one minute
    store.put(("t",), "short", {"v": 2}, ttl=0.5)
    store.put(("t",), "forever", {"v": 3}, ttl=None)
    clock.advance(40)
    assert store.get(("t",), "default") is not None  # a read restarts its minute
    clock.advance(40)
    assert store.get(("t",), "short") is None  # 80 s > 30 s
    assert store.get(("t",), "default", refresh_ttl=False) is not None  # 40 s since the refresh
    clock.advance(30)
    assert [i.key for i in store.search(("t",))] == ["forever"]
    assert store.list_namespaces() == [("t",)]
    assert store.sweep_ttl() == 2
    assert store.get(("t",), "forever").value == {"v": 3}


def test_get_follows_the_ttl_config_and_basestore_key_conversion(open_maas: Callable[..., MaaS]) -> None:
    """``get`` skips the batch for the trusted caller; it still applies ``refresh_on_read`` and
    BaseStore's ``str(key)``, on the trusted and the bound path alike."""
    clock = ManualClock()
    maas = open_maas(clock=clock)
    agent = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    trusted = maas.store(ttl={"default_ttl": 1.0, "refresh_on_read": False})
    bound = trusted.for_agent(agent)
    for store in (trusted, bound):
        store.put(("t",), "k", {"v": 1})
        clock.advance(40)
        assert store.get(("t",), "k") is not None  # no refresh: the minute keeps running
        clock.advance(40)
        assert store.get(("t",), "k") is None
        assert store.get(("t",), "k", refresh_ttl=True) is None
    reference = InMemoryStore()
    for s in (reference, trusted, bound):
        s.put(("n",), "5", {"v": 5})
        assert s.get(("n",), 5).value == {"v": 5}  # type: ignore[arg-type, union-attr]


def test_expired_items_are_visible_when_omit_expired_is_false(maas: MaaS, clock: ManualClock) -> None:
    store = maas.store(ttl={"omit_expired": False})
    store.put(("t",), "k", {"v": 1}, ttl=1)
    clock.advance(120)
    assert store.get(("t",), "k", refresh_ttl=False) is not None  # like SqliteStore: visible until swept
    assert store.sweep_ttl() == 1
    assert store.get(("t",), "k") is None


def test_ttl_sweeper_thread_starts_and_stops(maas: MaaS) -> None:
    store = maas.store()
    thread = store.start_ttl_sweeper(sweep_interval_minutes=60)
    assert thread.is_alive()
    assert store.stop_ttl_sweeper(timeout=5)


# --- read cache -----------------------------------------------------------------------
def test_cache_sees_writes_of_another_instance_within_the_interval(tmp_path: Path) -> None:
    with MaaS.open(tmp_path / "home", sweep_interval=None) as a, MaaS.open(tmp_path / "home", sweep_interval=None) as b:
        reader = a.store(cache_interval=0.05)
        writer = b.store()
        writer.put(("c",), "k", {"v": 1})
        assert reader.get(("c",), "k").value == {"v": 1}
        assert reader.get(("c",), "missing") is None
        writer.put(("c",), "k", {"v": 2})
        writer.put(("c",), "missing", {"v": 3})
        time.sleep(0.06)
        assert reader.get(("c",), "k").value == {"v": 2}
        assert reader.get(("c",), "missing").value == {"v": 3}
        writer.delete(("c",), "k")
        fresh = a.store(cache_interval=0.0)  # interval 0: checked on every get
        assert fresh.get(("c",), "k") is None


def test_cache_sees_own_writes_at_once(store: MaaSStore) -> None:
    for n in range(20):
        store.put(("c",), "k", {"v": n})
        assert store.get(("c",), "k").value == {"v": n}
    store.delete(("c",), "k")
    assert store.get(("c",), "k") is None


# --- the vector-index path ------------------------------------------------------------
def test_large_sets_use_the_index_with_the_same_top_results(maas: MaaS) -> None:
    check_index_path(maas, expect_index=maas.backend.name != "postgres")  # PostgreSQL: no shared index


@pytest.mark.postgres
@pytest.mark.chroma_server
def test_index_path_on_postgres_with_a_chroma_server(pg_url: str, chroma_server: str) -> None:
    with MaaS.open(pg_url, vectors=chroma_server, sweep_interval=None) as maas:
        check_index_path(maas, expect_index=True)


def check_index_path(maas: MaaS, *, expect_index: bool) -> None:
    exact = maas.store(index=INDEX, exact_limit=100_000)
    indexed = maas.store(index=INDEX, exact_limit=10)
    words = ["red", "green", "blue", "apple", "sky", "grass", "sea", "stone"]
    for n in range(60):
        text = f"{words[n % 8]} {words[(n * 3) % 8]} {n}"
        exact.put(("docs", str(n % 3)), f"k{n}", {"text": text, "n": n})
    for query in ["red apple", "blue sea", "green grass stone"]:
        want = exact.search(("docs",), query=query, limit=5)
        got = indexed.search(("docs",), query=query, limit=5)
        assert [round(h.score or 0, 6) for h in got] == [round(h.score or 0, 6) for h in want]
        flt = indexed.search(("docs",), query=query, filter={"n": {"$lt": 30}}, limit=3)
        assert flt and all(h.value["n"] < 30 for h in flt)
    assert indexed._engine.indexed is not None
    if expect_index:
        assert indexed._engine.indexed.sync() == 0  # the searches caught the index up
        with maas.backend.transaction(write=False) as tx:
            assert tx.kv_dirty_vectors(10) == []
