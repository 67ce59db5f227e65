"""The in-process reference index: exact cosine search with numpy.

Every collection is one contiguous float32 matrix of unit rows (grown by doubling; a delete
moves the last row into the hole), plus parallel lists of ids, metadata and documents. A query
first keeps the rows that pass the filter (a compiled form of
:func:`~maas_langchain.core.ports.vectors.where_matches`), then ranks only those, so it is exact and
``k`` is never starved. It is the model the Chroma backends are tested against, and fast enough
for tests, notebooks and ``:memory:`` instances (see the benchmark figures in the docs).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt

from maas_langchain.core.ports.vectors import (
    And,
    Contains,
    Eq,
    Gte,
    IndexInfo,
    Metadata,
    MetaValue,
    Or,
    VectorHit,
    VectorIndex,
    VectorRecord,
    Where,
    check_collection,
    check_k,
    check_limit,
    check_metadata,
    check_rows,
    check_where,
    collection_conflict,
    unit_vectors,
)
from maas_langchain.errors import BackendUnavailableError, NotFoundError

__all__ = ["BruteForceIndex"]

_FIRST_CAPACITY = 64


class _Collection:
    """Rows of one collection; row ``i`` of ``matrix`` belongs to ``ids[i]``."""

    def __init__(self, dimension: int, model: str) -> None:
        self.dimension = dimension
        self.model = model
        self.matrix: npt.NDArray[np.float32] = np.empty((_FIRST_CAPACITY, dimension), dtype=np.float32)
        self.ids: list[str] = []
        self.metadatas: list[dict[str, MetaValue]] = []
        self.documents: list[str | None] = []
        self.row_of: dict[str, int] = {}

    def put(self, id_: str, vector: npt.NDArray[np.float32], metadata: dict[str, MetaValue], doc: str | None) -> None:
        row = self.row_of.get(id_)
        if row is None:
            row = len(self.ids)
            if row == len(self.matrix):
                grown = np.empty((2 * len(self.matrix), self.dimension), dtype=np.float32)
                grown[:row] = self.matrix
                self.matrix = grown
            self.row_of[id_] = row
            self.ids.append(id_)
            self.metadatas.append(metadata)
            self.documents.append(doc)
        else:
            self.metadatas[row] = metadata
            self.documents[row] = doc
        self.matrix[row] = vector

    def remove(self, id_: str) -> None:
        row = self.row_of.pop(id_, None)
        if row is None:
            return
        last = len(self.ids) - 1
        if row != last:
            moved = self.ids[last]
            self.matrix[row] = self.matrix[last]
            self.ids[row], self.metadatas[row], self.documents[row] = moved, self.metadatas[last], self.documents[last]
            self.row_of[moved] = row
        self.ids.pop()
        self.metadatas.pop()
        self.documents.pop()

    def matching_rows(self, where: Where | None) -> list[int] | None:
        """Row numbers that pass ``where`` (``None`` means every row)."""
        if where is None:
            return None
        test = _predicate(where)
        return [row for row, metadata in enumerate(self.metadatas) if test(metadata)]

    def record(self, row: int) -> VectorRecord:
        return VectorRecord(self.ids[row], _copy(self.metadatas[row]), self.documents[row])


class BruteForceIndex(VectorIndex):
    """Exact nearest-neighbour search in process memory (the reference :class:`VectorIndex`).

    Nothing is persisted: the rows live as long as the object. Thread-safe (one lock).

    Example:
        >>> from maas_langchain.backends.vectors import BruteForceIndex, Eq
        >>> index = BruteForceIndex()
        >>> index.ensure_collection("notes", dimension=2, model="toy")
        IndexInfo(name='notes', dimension=2, model='toy', count=0)
        >>> index.upsert("notes", ["a", "b"], [[1.0, 0.0], [0.6, 0.8]], [{"pool": "p1"}, {"pool": "p2"}])
        >>> [(hit.id, round(hit.similarity, 2)) for hit in index.query("notes", [1.0, 0.0], k=2)]
        [('a', 1.0), ('b', 0.6)]
        >>> [hit.id for hit in index.query("notes", [1.0, 0.0], k=2, where=Eq("pool", "p2"))]
        ['b']
    """

    kind = "bruteforce"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._collections: dict[str, _Collection] = {}
        self._closed = False

    def ensure_collection(self, name: str, *, dimension: int, model: str) -> IndexInfo:
        """Create the collection if missing; otherwise check its dimension and model."""
        check_collection(name, dimension, model)
        with self._open():
            found = self._collections.get(name)
            if found is None:
                found = self._collections[name] = _Collection(dimension, model)
            elif (found.dimension, found.model) != (dimension, model):
                raise collection_conflict(name, (found.dimension, found.model), (dimension, model))
            return IndexInfo(name, dimension, model, len(found.ids))

    def upsert(
        self,
        name: str,
        ids: Sequence[str],
        vectors: Sequence[Sequence[float]],
        metadatas: Sequence[Metadata],
        documents: Sequence[str] | None = None,
    ) -> None:
        """Add or replace rows (a replaced row keeps nothing of its old metadata or document)."""
        check_rows(ids, len(vectors), metadatas, documents)
        clean = [check_metadata(m) for m in metadatas]
        with self._open():
            found = self._existing(name)
            units = unit_vectors(vectors, found.dimension, collection=name)
            for i, id_ in enumerate(ids):
                found.put(id_, units[i], clean[i], None if documents is None else documents[i])

    def delete(self, name: str, ids: Sequence[str]) -> None:
        """Remove rows; unknown ids and a missing collection are ignored."""
        with self._open():
            found = self._collections.get(name)
            if found is not None:
                for id_ in ids:
                    found.remove(id_)

    def query(
        self,
        name: str,
        vector: Sequence[float],
        k: int,
        where: Where | None = None,
        *,
        include_payload: bool = False,
    ) -> list[VectorHit]:
        """Return the ``k`` rows most similar to ``vector`` among those matching ``where``."""
        check_k(k)
        check_where(where)
        with self._open():
            found = self._existing(name)
            unit = unit_vectors([vector], found.dimension, collection=name)[0]
            rows = found.matching_rows(where)
            if rows is None:
                candidates: npt.NDArray[np.intp] = np.arange(len(found.ids))
                scores = _dot(found.matrix[: len(found.ids)], unit)
            else:
                candidates = np.asarray(rows, dtype=np.intp)
                scores = _dot(found.matrix[candidates], unit)
            best = _top(scores, k)
            return [_hit(found, int(candidates[i]), float(scores[i]), include_payload) for i in best]

    def get(self, name: str, where: Where | None = None, *, limit: int | None = None) -> list[VectorRecord]:
        """Rows matching ``where`` (metadata and documents), at most ``limit``, in no particular order."""
        check_where(where)
        check_limit(limit)
        with self._open():
            found = self._collections.get(name)
            if found is None:
                return []
            rows = found.matching_rows(where)
            chosen = range(len(found.ids)) if rows is None else rows
            return [found.record(row) for row in list(chosen)[:limit]]

    def ids(self, name: str) -> set[str]:
        """Every id in the collection (empty if it does not exist)."""
        with self._open():
            found = self._collections.get(name)
            return set() if found is None else set(found.ids)

    def count(self, name: str) -> int:
        """Number of rows in the collection (0 if it does not exist)."""
        with self._open():
            found = self._collections.get(name)
            return 0 if found is None else len(found.ids)

    def drop(self, name: str) -> None:
        """Forget the collection and its rows (no error if missing)."""
        with self._open():
            self._collections.pop(name, None)

    def close(self) -> None:
        """Forget every collection; later calls raise :class:`BackendUnavailableError`."""
        with self._lock:
            self._closed = True
            self._collections.clear()

    @contextmanager
    def _open(self) -> Iterator[None]:
        with self._lock:
            if self._closed:
                raise BackendUnavailableError("this bruteforce index is closed", backend=self.kind)
            yield

    def _existing(self, name: str) -> _Collection:
        found = self._collections.get(name)
        if found is None:
            raise NotFoundError(f"vector collection {name!r} does not exist; call ensure_collection() first")
        return found


def _predicate(where: Where) -> Callable[[Metadata], bool]:
    """Compile ``where`` into a function equal to :func:`where_matches` (but several times faster)."""
    if isinstance(where, (And, Or)):
        tests = [_predicate(w) for w in where.operands]
        if len(tests) == 1:
            return tests[0]
        wanted = isinstance(where, Or)  # the operand result that decides early

        def combined(m: Metadata) -> bool:
            for t in tests:
                if t(m) is wanted:
                    return wanted
            return not wanted

        return combined
    field = where.field
    if isinstance(where, Contains):
        item = where.value
        return lambda m: isinstance(v := m.get(field), list) and item in v
    if isinstance(where, Gte):
        low = where.value
        return lambda m: isinstance(v := m.get(field), (int, float)) and not isinstance(v, bool) and v >= low
    values = [where.value] if isinstance(where, Eq) else list(where.values)
    strings = {v for v in values if isinstance(v, str)}
    numbers = {v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)}
    booleans = {v for v in values if isinstance(v, bool)}

    def test(m: Metadata) -> bool:
        v = m.get(field)
        if isinstance(v, bool):
            return v in booleans
        if isinstance(v, (int, float)):
            return v in numbers
        return isinstance(v, str) and v in strings

    return test


def _dot(matrix: npt.NDArray[np.float32], unit: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Cosine of every row with ``unit``. ``einsum`` runs in this thread: a BLAS matrix-vector
    product wakes BLAS worker threads, which on a busy machine made it 20x slower (16 ms instead
    of 0.8 ms for 10,000 x 384), for an operation that is bound by memory bandwidth anyway."""
    scores: npt.NDArray[np.float32] = np.einsum("ij,j->i", matrix, unit)
    return scores


def _top(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.intp]:
    """Positions of the ``k`` highest scores, best first (ties keep row order)."""
    if k < len(scores):
        part = np.argpartition(-scores, k - 1)[:k]
        return part[np.argsort(-scores[part], kind="stable")]
    return np.argsort(-scores, kind="stable")


def _hit(found: _Collection, row: int, score: float, payload: bool) -> VectorHit:
    similarity = min(1.0, max(-1.0, score))
    if not payload:
        return VectorHit(found.ids[row], similarity)
    return VectorHit(found.ids[row], similarity, _copy(found.metadatas[row]), found.documents[row])


def _copy(metadata: dict[str, MetaValue]) -> dict[str, MetaValue]:
    return {key: list(value) if isinstance(value, list) else value for key, value in metadata.items()}
