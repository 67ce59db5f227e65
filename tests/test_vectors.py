"""The vector-index port: one conformance suite over every backend, plus Chroma's folder lock.

Backends: ``bruteforce`` (the in-process reference), ``chroma`` (embedded, a folder per test)
and ``chroma-http`` (the session's ``chroma run`` server, marker ``chroma_server``). Every
filter answer is compared with :func:`where_matches`, every ranking with an exact numpy scan.
"""

from __future__ import annotations

import fcntl
import math
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import free_loopback_port
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maas_langchain.backends.chroma_filters import chroma_where
from maas_langchain.backends.vectors import (
    And,
    BruteForceIndex,
    ChromaIndex,
    Contains,
    Eq,
    Gte,
    In,
    Or,
    VectorIndex,
    Where,
    open_vector_index,
    where_matches,
)
from maas_langchain.errors import (
    BackendUnavailableError,
    EmbeddingDimensionError,
    InvalidInputError,
    NotFoundError,
    VectorStoreLockedError,
)

DIM = 16
ROWS = 300
MODEL = "test-model"


def _unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    vectors = rng.standard_normal((n, dim))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _metadata(i: int, rng: np.random.Generator) -> dict[str, Any]:
    """Varied metadata: ints, fractions, integral floats, strings, booleans, lists; some keys absent."""
    mixed: Any = [i % 5, (i % 5) + 0.5, float(i % 5), f"s{i % 5}", bool(i % 2)][i % 5]
    meta: dict[str, Any] = {
        "bucket": i % 100,
        "agent": f"a{i % 7}",
        "score": float(rng.random()),
        "flag": i % 3 == 0,
        "mixed": mixed,
        "tags": sorted({f"t{j}" for j in rng.choice(6, size=int(rng.integers(1, 4)), replace=False)}),
    }
    if i % 4 == 0:
        del meta["agent"]
    return meta


ROW_IDS = [f"id-{i:04d}" for i in range(ROWS)]
_rng = np.random.default_rng(20240601)
VECTORS = _unit(_rng, ROWS)
METAS = [_metadata(i, _rng) for i in range(ROWS)]
QUERIES = _unit(np.random.default_rng(7), 20)


def _exact(vector: np.ndarray, k: int, rows: list[int] | None = None) -> list[str]:
    """Ids of the exact top ``k`` among ``rows`` (default: all)."""
    rows = list(range(ROWS)) if rows is None else rows
    scores = VECTORS[rows] @ vector
    return [ROW_IDS[rows[j]] for j in np.argsort(-scores, kind="stable")[:k]]


def _matching(where: Where | None) -> set[str]:
    return {ROW_IDS[i] for i in range(ROWS) if where_matches(where, METAS[i])}


def _name() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------------------------- fixtures

BACKENDS = ["bruteforce", "chroma", pytest.param("chroma-http", marks=pytest.mark.chroma_server)]


@pytest.fixture(params=BACKENDS)
def open_index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], VectorIndex]]:
    """Open an index on the parametrised backend; calling it again after ``close()`` reopens the
    same folder or server (bruteforce starts empty). Every index is closed after the test."""
    opened: list[VectorIndex] = []
    server = request.getfixturevalue("chroma_server") if request.param == "chroma-http" else None

    def factory() -> VectorIndex:
        if request.param == "bruteforce":
            index: VectorIndex = BruteForceIndex()
        elif request.param == "chroma":
            index = ChromaIndex.embedded(tmp_path / "chroma")
        else:
            index = ChromaIndex.http(server)
        opened.append(index)
        return index

    yield factory
    for index in opened:
        index.close()


@pytest.fixture
def index(open_index: Callable[[], VectorIndex]) -> VectorIndex:
    return open_index()


@pytest.fixture
def filled(index: VectorIndex) -> tuple[VectorIndex, str]:
    """An index with the ROWS test rows in a fresh collection."""
    name = _name()
    index.ensure_collection(name, dimension=DIM, model=MODEL)
    index.upsert(name, ROW_IDS, VECTORS, METAS, [f"doc {i}" for i in range(ROWS)])
    return index, name


# --------------------------------------------------------------------------------- conformance

FILTERS: list[Where] = [
    Eq("agent", "a3"),
    Eq("bucket", 7),
    Eq("bucket", 7.0),  # numbers compare numerically
    Eq("mixed", 2.5),  # a fraction must not match the integer 2
    Eq("mixed", 2),
    Eq("flag", True),
    Eq("tags", "t1"),  # Eq never looks inside a list
    In("agent", ["a1", "a2"]),
    In("mixed", [1, 1.5, "s3", True]),
    In("mixed", [0.5]),
    In("agent", []),
    Contains("tags", "t2"),
    Contains("agent", "a1"),  # Contains only looks inside lists
    Gte("bucket", 90),
    Gte("score", 0.75),
    Gte("mixed", 1.5),
    Gte("mixed", -0.5),
    Gte("mixed", 3.0),
    And([]),
    Or([]),
    And([Eq("agent", "a3")]),
    Or([Eq("agent", "a3"), And([])]),
    And([Eq("flag", True), Or([In("agent", ["a1", "a2"]), Contains("tags", "t0")]), Gte("bucket", 20)]),
    Or([And([Eq("agent", "a5"), Gte("score", 0.5)]), And([Contains("tags", "t4"), In("bucket", [1, 2, 3])])]),
    And([Eq("agent", "a3"), In("agent", [])]),
    Eq("absent", "x"),
]


class TestVectorIndexConformance:
    def test_exact_top_k_on_a_small_set(self, filled: tuple[VectorIndex, str]) -> None:
        index, name = filled
        for vector in QUERIES:
            hits = index.query(name, vector, k=10)
            assert [h.id for h in hits] == _exact(vector, 10)
            expected = sorted(VECTORS @ vector, reverse=True)[:10]
            assert [h.similarity for h in hits] == pytest.approx(expected, abs=1e-5)

    def test_a_one_percent_filter_still_fills_k(self, index: VectorIndex) -> None:
        name, n = _name(), 2000
        vectors = _unit(np.random.default_rng(3), n)
        index.ensure_collection(name, dimension=DIM, model=MODEL)
        index.upsert(name, [f"r{i}" for i in range(n)], vectors, [{"bucket": i % 100} for i in range(n)])
        for vector in QUERIES[:5]:
            hits = index.query(name, vector, k=10, where=Eq("bucket", 7))
            rows = [i for i in range(n) if i % 100 == 7]
            best = [rows[j] for j in np.argsort(-(vectors[rows] @ vector))[:10]]
            assert [h.id for h in hits] == [f"r{i}" for i in best]

    def test_filters_agree_with_where_matches(self, filled: tuple[VectorIndex, str]) -> None:
        index, name = filled
        for where in FILTERS:
            expected = _matching(where)
            assert {r.id for r in index.get(name, where)} == expected, where
            assert {h.id for h in index.query(name, QUERIES[0], k=ROWS, where=where)} == expected, where
            rows = [ROW_IDS.index(i) for i in sorted(expected)]
            top = [h.id for h in index.query(name, QUERIES[0], k=5, where=where)]
            assert top == _exact(QUERIES[0], 5, rows), where

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(where=st.deferred(lambda: WHERE_TREES))
    def test_random_filters_agree_with_where_matches(self, filled: tuple[VectorIndex, str], where: Where) -> None:
        index, name = filled
        expected = _matching(where)
        assert {r.id for r in index.get(name, where)} == expected
        hits = index.query(name, QUERIES[1], k=5, where=where)
        assert len(hits) == min(5, len(expected))
        assert {h.id for h in hits} <= expected

    def test_payload_and_records(self, filled: tuple[VectorIndex, str]) -> None:
        index, name = filled
        hit = index.query(name, VECTORS[42], k=1, include_payload=True)[0]
        assert (hit.id, hit.metadata, hit.document) == (ROW_IDS[42], METAS[42], "doc 42")
        assert hit.similarity == pytest.approx(1.0, abs=1e-5)
        bare = index.query(name, VECTORS[42], k=1)[0]
        assert (bare.metadata, bare.document) == (None, None)
        records = index.get(name, Eq("bucket", 42))
        assert sorted((r.id, r.document) for r in records) == [(f"id-{i:04d}", f"doc {i}") for i in (42, 142, 242)]
        assert all(r.metadata == METAS[int(r.id[3:])] for r in records)

    def test_ids_count_get_limit(self, filled: tuple[VectorIndex, str]) -> None:
        index, name = filled
        assert index.ids(name) == set(ROW_IDS)
        assert index.count(name) == ROWS
        assert len(index.get(name, limit=7)) == 7
        assert index.get(name, limit=0) == []
        assert len(index.get(name)) == ROWS

    def test_upsert_replaces_the_whole_row(self, filled: tuple[VectorIndex, str]) -> None:
        index, name = filled
        new = _unit(np.random.default_rng(99), 1)
        index.upsert(name, [ROW_IDS[0]], new, [{"only": "this"}])
        (record,) = [r for r in index.get(name) if r.id == ROW_IDS[0]]
        assert (record.metadata, record.document) == ({"only": "this"}, None)
        assert index.count(name) == ROWS
        top = index.query(name, new[0], k=1)[0]
        assert top.id == ROW_IDS[0] and top.similarity == pytest.approx(1.0, abs=1e-5)
        assert ROW_IDS[0] not in {r.id for r in index.get(name, Gte("bucket", 0))}
        index.upsert(name, [ROW_IDS[0]], new, [{}], ["again"])
        assert [(r.metadata, r.document) for r in index.get(name) if r.id == ROW_IDS[0]] == [({}, "again")]

    def test_delete(self, filled: tuple[VectorIndex, str]) -> None:
        index, name = filled
        gone = ROW_IDS[:50]
        index.delete(name, [*gone, "never-there"])
        index.delete(name, [])
        assert index.count(name) == ROWS - 50
        assert index.ids(name) == set(ROW_IDS[50:])
        assert not {h.id for h in index.query(name, QUERIES[0], k=ROWS)} & set(gone)
        index.delete(_name(), ["x"])  # a missing collection is empty

    def test_vectors_are_normalised(self, index: VectorIndex) -> None:
        name = _name()
        index.ensure_collection(name, dimension=2, model=MODEL)
        index.upsert(name, ["a", "b"], [[3.0, 0.0], [1.0, 1.0]], [{}, {}])
        hits = index.query(name, [0.0, 5.0], k=2)
        assert [h.id for h in hits] == ["b", "a"]
        assert [h.similarity for h in hits] == pytest.approx([math.sqrt(0.5), 0.0], abs=1e-5)

    def test_dimension_and_model_are_checked(self, index: VectorIndex) -> None:
        name = _name()
        info = index.ensure_collection(name, dimension=DIM, model=MODEL)
        assert (info.name, info.dimension, info.model, info.count) == (name, DIM, MODEL, 0)
        assert index.ensure_collection(name, dimension=DIM, model=MODEL) == info
        assert index.query(name, [1.0] * DIM, k=3) == []
        with pytest.raises(EmbeddingDimensionError, match=rf"{DIM}.*384") as caught:
            index.ensure_collection(name, dimension=384, model=MODEL)
        assert caught.value.code == "conflict"
        with pytest.raises(EmbeddingDimensionError, match="other-model"):
            index.ensure_collection(name, dimension=DIM, model="other-model")
        with pytest.raises(EmbeddingDimensionError, match=rf"{DIM}.*{DIM + 1}"):
            index.upsert(name, ["a", "b"], [[1.0] * DIM, [1.0] * (DIM + 1)], [{}, {}])
        with pytest.raises(EmbeddingDimensionError, match=rf"{DIM}.*3"):
            index.query(name, [1.0, 0.0, 0.0], k=1)
        assert index.count(name) == 0

    @pytest.mark.parametrize(
        "metadata",
        [{"a": None}, {"a": {"b": 1}}, {"a": []}, {"a": [1, 2]}, {"a": ["x", 1]}, {"": 1}, {"$a": 1},
         {"#a": 1}, {"chroma:document": "x"}, {"a": float("nan")}, {"a": 2**63}, {"a": (1, 2)}],
        ids=repr,
    )  # fmt: skip
    def test_metadata_chroma_cannot_store_is_refused(self, index: VectorIndex, metadata: dict[str, Any]) -> None:
        name = _name()
        index.ensure_collection(name, dimension=2, model=MODEL)
        with pytest.raises(InvalidInputError):
            index.upsert(name, ["a"], [[1.0, 0.0]], [metadata])
        assert index.count(name) == 0

    def test_bad_arguments_are_refused(self, index: VectorIndex) -> None:
        name = _name()
        index.ensure_collection(name, dimension=2, model=MODEL)
        bad_calls: list[Callable[[], object]] = [
            lambda: index.ensure_collection("m", dimension=2, model=MODEL),
            lambda: index.ensure_collection("bad name!", dimension=2, model=MODEL),
            lambda: index.ensure_collection(_name(), dimension=0, model=MODEL),
            lambda: index.upsert(name, ["a", "a"], [[1.0, 0.0], [0.0, 1.0]], [{}, {}]),
            lambda: index.upsert(name, [""], [[1.0, 0.0]], [{}]),
            lambda: index.upsert(name, ["a"], [[1.0, 0.0]], [{}, {}]),
            lambda: index.upsert(name, ["a"], [[0.0, 0.0]], [{}]),
            lambda: index.upsert(name, ["a"], [[float("nan"), 1.0]], [{}]),
            lambda: index.query(name, [1.0, 0.0], k=0),
            lambda: index.query(name, [0.0, 0.0], k=1),
            lambda: index.query(name, [1.0, 0.0], k=1, where=Gte("a", True)),
            lambda: index.query(name, [1.0, 0.0], k=1, where=Eq("$a", 1)),
            lambda: index.get(name, Contains("a", 1)),  # type: ignore[arg-type]
            lambda: index.get(name, limit=-1),
        ]
        for call in bad_calls:
            with pytest.raises(InvalidInputError):
                call()
        assert index.count(name) == 0

    def test_missing_collection(self, index: VectorIndex) -> None:
        name = _name()
        with pytest.raises(NotFoundError, match="ensure_collection"):
            index.query(name, [1.0, 0.0], k=1)
        with pytest.raises(NotFoundError):
            index.upsert(name, ["a"], [[1.0, 0.0]], [{}])
        assert (index.count(name), index.ids(name), index.get(name)) == (0, set(), [])

    def test_drop(self, filled: tuple[VectorIndex, str]) -> None:
        index, name = filled
        index.drop(name)
        index.drop(name)
        assert (index.count(name), index.ids(name)) == (0, set())
        with pytest.raises(NotFoundError):
            index.query(name, QUERIES[0], k=1)
        assert index.ensure_collection(name, dimension=4, model="new").count == 0
        index.upsert(name, ["z"], [[1.0, 0.0, 0.0, 0.0]], [{"k": 1}])
        assert index.ids(name) == {"z"}

    def test_threads_share_one_index(self, index: VectorIndex) -> None:
        name = _name()
        index.ensure_collection(name, dimension=DIM, model=MODEL)

        def work(thread: int) -> None:
            ids = [f"t{thread}-{i}" for i in range(50)]
            index.upsert(name, ids, VECTORS[:50], [{"thread": thread}] * 50)
            hits = index.query(name, VECTORS[0], k=5, where=Eq("thread", thread))
            assert len(hits) == 5 and all(h.id.startswith(f"t{thread}-") for h in hits)
            index.delete(name, ids[:10])

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(work, range(4)))
        assert index.count(name) == 160

    def test_reopen_persists(self, open_index: Callable[[], VectorIndex]) -> None:
        first = open_index()
        if first.kind == "bruteforce":
            pytest.skip("the brute-force index lives in process memory")
        name = _name()
        first.ensure_collection(name, dimension=DIM, model=MODEL)
        first.upsert(name, ROW_IDS, VECTORS, METAS)
        first.close()
        first.close()  # idempotent
        with pytest.raises(BackendUnavailableError, match="closed"):
            first.count(name)
        again = open_index()
        assert again.ensure_collection(name, dimension=DIM, model=MODEL).count == ROWS
        assert [h.id for h in again.query(name, QUERIES[0], k=10)] == _exact(QUERIES[0], 10)
        with pytest.raises(EmbeddingDimensionError):
            again.ensure_collection(name, dimension=DIM, model="another")

    def test_a_second_client_sees_a_dropped_and_recreated_collection(
        self, open_index: Callable[[], VectorIndex]
    ) -> None:
        first, second = open_index(), open_index()
        if first.kind == "bruteforce":
            pytest.skip("one brute-force index has no second client")
        name = _name()
        first.ensure_collection(name, dimension=2, model=MODEL)
        second.upsert(name, ["a"], [[1.0, 0.0]], [{}])
        first.drop(name)
        first.ensure_collection(name, dimension=3, model=MODEL)
        with pytest.raises(EmbeddingDimensionError):
            second.upsert(name, ["a"], [[1.0, 0.0]], [{}])
        second.upsert(name, ["b"], [[1.0, 0.0, 0.0]], [{}])
        assert first.ids(name) == {"b"}


# A random filter tree over the test metadata's fields (and one field no row has).
_FIELDS = st.sampled_from(["bucket", "agent", "score", "flag", "mixed", "tags", "absent"])
_SCALARS = st.one_of(
    st.sampled_from(["a1", "a3", "s2", "t1"]),
    st.integers(-2, 101),
    st.sampled_from([0.5, 1.0, 1.5, 2.5, -0.5, 3.0]),
    st.floats(-1, 101, allow_nan=False, width=32).map(float),
    st.booleans(),
)
_LEAVES = st.one_of(
    st.builds(Eq, _FIELDS, _SCALARS),
    st.builds(In, _FIELDS, st.lists(_SCALARS, max_size=4)),
    st.builds(Contains, _FIELDS, st.sampled_from(["t0", "t1", "t5", "a1"])),
    st.builds(Gte, _FIELDS, st.one_of(st.integers(-2, 101), st.floats(-1, 101, allow_nan=False))),
)
WHERE_TREES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(st.builds(And, st.lists(inner, max_size=3)), st.builds(Or, st.lists(inner, max_size=3))),
    max_leaves=8,
)


# ------------------------------------------------------------------------ Chroma filter building


def _chroma_shape_ok(node: Any) -> bool:
    """Chroma's rules: one operator per dict, $and/$or with at least two operands."""
    if not isinstance(node, dict) or len(node) != 1:
        return False
    ((key, value),) = node.items()
    if key in ("$and", "$or"):
        return isinstance(value, list) and len(value) >= 2 and all(_chroma_shape_ok(v) for v in value)
    return isinstance(value, dict) and len(value) == 1


def test_chroma_where_follows_chromas_rules() -> None:
    assert chroma_where(None) is None
    assert chroma_where(And([])) is None
    assert chroma_where(Or([])) is False
    assert chroma_where(In("a", [])) is False
    assert chroma_where(And([Eq("a", 1)])) == {"a": {"$eq": 1}}
    assert chroma_where(Or([Eq("a", 1), And([])])) is None
    assert chroma_where(Or([Eq("a", 1), In("b", [])])) == {"a": {"$eq": 1}}
    assert chroma_where(And([Eq("a", 1), Or([])])) is False
    assert chroma_where(In("a", ["x", "y", "x"])) == {"a": {"$in": ["x", "y"]}}
    assert chroma_where(In("a", ["x", 1, True])) == {
        "$or": [{"a": {"$eq": "x"}}, {"a": {"$eq": True}}, {"a": {"$eq": 1}}]
    }
    assert chroma_where(Contains("tags", "t")) == {"tags": {"$contains": "t"}}
    assert chroma_where(Gte("n", 2)) == {"n": {"$gte": 2}}


def test_chroma_where_makes_fractions_exact() -> None:
    assert chroma_where(Eq("n", 1.5)) == {"$and": [{"n": {"$eq": 1.5}}, {"n": {"$nin": [1]}}]}
    assert chroma_where(Gte("n", 1.5)) == {
        "$or": [{"n": {"$gte": 2}}, {"$and": [{"n": {"$gte": 1.5}}, {"n": {"$lt": 2}}, {"n": {"$ne": 1}}]}]
    }


@settings(max_examples=200, deadline=None)
@given(where=WHERE_TREES)
def test_chroma_where_shape_for_random_trees(where: Where) -> None:
    result = chroma_where(where)
    assert result is None or result is False or _chroma_shape_ok(result)


# ---------------------------------------------------------------------------- opening indexes


def test_open_vector_index(tmp_path: Path) -> None:
    assert isinstance(open_vector_index("memory", None), BruteForceIndex)
    assert isinstance(open_vector_index("bruteforce", tmp_path), BruteForceIndex)
    with open_vector_index(None, tmp_path) as index:
        assert index.kind == "chroma" and (tmp_path / "chroma" / ".lock").is_file()
    with open_vector_index("chroma", tmp_path) as index:
        assert index.kind == "chroma"
    with pytest.raises(InvalidInputError):
        open_vector_index("faiss", tmp_path)
    with pytest.raises(InvalidInputError):
        open_vector_index(None, None)


@pytest.mark.chroma_server
def test_open_vector_index_with_a_url(chroma_server: str) -> None:
    with open_vector_index(chroma_server, None) as index:
        assert index.kind == "chroma-http"


def test_an_unreachable_server_names_its_url() -> None:
    url = f"http://127.0.0.1:{free_loopback_port()}"
    with pytest.raises(BackendUnavailableError, match=url) as caught:
        ChromaIndex.http(url)
    assert caught.value.retryable
    for bad in ("ftp://example.org", "http://", "http://host:99999", "http://host:8000/path"):
        with pytest.raises(InvalidInputError):
            ChromaIndex.http(bad)


# ------------------------------------------------------------------------- the embedded lock

_HOLD = """
import sys, time
from maas_langchain.backends.vectors import ChromaIndex
index = ChromaIndex.embedded(sys.argv[1])
print("ready", flush=True)
time.sleep(120)
"""

_TRY = """
import sys
from maas_langchain.errors import VectorStoreLockedError
from maas_langchain.backends.vectors import ChromaIndex
try:
    ChromaIndex.embedded(sys.argv[1]).close()
    print("opened")
except VectorStoreLockedError as exc:
    print("locked", exc.code, exc.details["pid"], exc.message)
"""


def _run(script: str, folder: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(folder)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _lock_is_free(folder: Path) -> bool:
    """Whether a new open file description can flock the folder (even this process's own lock
    would refuse it: flock locks belong to the open file description)."""
    with open(folder / ".lock", "rb") as file:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def test_a_second_process_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    folder = tmp_path / "chroma"
    with ChromaIndex.embedded(folder):
        assert not _lock_is_free(folder)
        out = _run(_TRY, folder)
        assert out.startswith(f"locked backend_unavailable {os.getpid()} ")
        assert f"process {os.getpid()}" in out and "maas serve" in out and "http://host:8000" in out
    assert _lock_is_free(folder)


def test_the_lock_dies_with_its_holder(tmp_path: Path) -> None:
    folder = tmp_path / "chroma"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(VectorStoreLockedError, match=f"process {holder.pid}") as caught:
            ChromaIndex.embedded(folder)
        assert caught.value.details["pid"] == holder.pid and not caught.value.retryable
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with ChromaIndex.embedded(folder) as index:
        index.ensure_collection("after-kill", dimension=2, model=MODEL)
    assert (folder / ".lock").read_text().strip() == str(os.getpid())


def test_one_process_shares_one_lock_and_client(tmp_path: Path) -> None:
    folder = tmp_path / "chroma"
    first = ChromaIndex.embedded(folder)
    second = ChromaIndex.embedded(tmp_path / "." / "chroma")  # the same folder, spelled differently
    assert first._client is second._client
    first.ensure_collection("shared", dimension=2, model=MODEL)
    first.upsert("shared", ["a"], [[1.0, 0.0]], [{}])
    first.close()
    assert second.ids("shared") == {"a"}
    assert _run(_TRY, folder).startswith("locked")  # still held by `second`
    second.close()
    assert _lock_is_free(folder)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_refuses_the_parents_index(tmp_path: Path) -> None:
    folder = tmp_path / "chroma"
    with ChromaIndex.embedded(folder) as index:
        index.ensure_collection("forked", dimension=2, model=MODEL)
        pid = os.fork()
        if pid == 0:  # the child: both the inherited index and a fresh open must refuse
            code = 0
            for attempt in (lambda: index.count("forked"), lambda: ChromaIndex.embedded(folder)):
                try:
                    attempt()
                    code = 1
                except VectorStoreLockedError as exc:
                    code |= 0 if str(os.getppid()) in exc.message else 2
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert index.count("forked") == 0  # the parent is unaffected
