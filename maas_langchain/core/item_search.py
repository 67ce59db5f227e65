"""Natural-language search for :class:`~maas_langchain.adapters.langgraph.store.MaaSStore`.

Small candidate sets (at most ``exact_limit`` items under the prefix the reader may read) are
scored exactly from the float64 vectors kept in the relational store, with
:class:`~langgraph.store.memory.InMemoryStore`'s arithmetic and tie order, so results are the
same as InMemoryStore's. Larger sets ask the MaaS vector index (Chroma embedded or server, or
brute force) for the nearest vector ids under the prefix and the reader's spaces (filtered
inside the index query), then re-check every hit in SQL and re-score it exactly.

The index is derived data: puts only store vectors (marked dirty); the first index search
after them pushes dirty vectors to the index, and hits whose rows are gone are dropped (and
deleted from the index).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from maas_langchain.core.item_values import decode_value, decode_vector, matches_filter
from maas_langchain.core.memory_index import collection_name
from maas_langchain.core.ports.kv import KVQuery, KVRow, split_namespace
from maas_langchain.core.ports.state import StateBackend
from maas_langchain.core.ports.vectors import And, Contains, Or, VectorIndex, Where

__all__ = ["IndexedSearch", "Plan", "QueryPlans", "cosine", "rank"]

Scored = tuple[float | None, KVRow]
_SYNC_BATCH = 1_000


def cosine(query: Sequence[float], vectors: Any) -> Any:
    """Cosine similarity of ``query`` with each row of ``vectors``, exactly as InMemoryStore
    computes it (float64; a zero vector scores 0)."""
    x = np.asarray(query, dtype=np.float64)
    y = np.asarray(vectors, dtype=np.float64)
    if not len(y):
        return np.zeros(0)
    x_norm = np.linalg.norm(x)
    y_norm = np.linalg.norm(y, axis=1)
    mask = y_norm != 0
    sims = np.zeros_like(y_norm)
    with np.errstate(divide="ignore", invalid="ignore"):
        sims[mask] = np.dot(y[mask], x) / (y_norm[mask] * x_norm)
    return sims


@dataclass(frozen=True)
class Plan:
    """Candidates of one query search in scan order, their vectors stacked (``owner[i]`` is the
    candidate of row ``i``), valid at ``version`` until ``expires``."""

    rows: list[KVRow]
    owner: Any
    matrix: Any
    scoreless: list[KVRow]
    version: Hashable = None
    expires: float = math.inf

    @classmethod
    def build(cls, candidates: Sequence[tuple[KVRow, list[bytes]]], version: Hashable = None) -> Plan:
        """Stack the candidates' vectors (each a row and its vectors, in scan order)."""
        rows: list[KVRow] = []
        scoreless: list[KVRow] = []
        owners: list[int] = []
        blobs: list[bytes] = []
        for row, vectors in candidates:
            if not vectors:
                scoreless.append(row)
                continue
            owners += [len(rows)] * len(vectors)
            rows.append(row)
            blobs += vectors
        matrix = np.frombuffer(b"".join(blobs), dtype="<f8").reshape(len(blobs), -1) if blobs else np.zeros((0, 0))
        ends = [r.expires_at for r, _ in candidates if r.expires_at is not None]
        return cls(rows, np.asarray(owners, dtype=np.int64), matrix, scoreless, version, min(ends, default=math.inf))

    def rank(self, query: Sequence[float], offset: int, limit: int) -> list[Scored]:
        """InMemoryStore's ranking: every vector scored, best first (stable), one hit per item
        (its best vector), ``offset``/``limit`` over scored items, then items without vectors
        fill up to ``limit`` in candidate order."""
        kept: list[Scored] = []
        if len(self.matrix):
            sims = cosine(query, self.matrix)
            seen: set[int] = set()
            for i in np.argsort(-sims, kind="stable"):
                candidate = int(self.owner[i])
                if candidate in seen:
                    continue
                position = len(seen)
                seen.add(candidate)
                if position >= offset + limit:
                    break
                if position >= offset:
                    kept.append((float(sims[i]), self.rows[candidate]))
        if self.scoreless and len(kept) < limit:
            kept.extend((None, row) for row in self.scoreless[: limit - len(kept)])
        return kept


def rank(
    query: Sequence[float], candidates: Sequence[tuple[KVRow, list[bytes]]], offset: int, limit: int
) -> list[Scored]:
    """:meth:`Plan.rank` over ``candidates`` (each a row and its vectors)."""
    return Plan.build(candidates).rank(query, offset, limit)


class QueryPlans:
    """Recent plans of the trusted path, keyed by prefix and filter, least recently used
    evicted; a plan is used only at the version it was built at and before its first expiry.

    Args:
        max_rows: Bound on stacked vectors over all plans.
    """

    def __init__(self, max_rows: int = 200_000) -> None:
        self._plans: OrderedDict[Any, Plan] = OrderedDict()
        self._rows = 0
        self._max_rows = max_rows
        self._lock = threading.Lock()

    def get(self, key: Any, version: Hashable, now: float) -> Plan | None:
        """The plan for ``key`` if built at ``version`` and nothing in it has expired."""
        with self._lock:
            plan = self._plans.get(key)
            if plan is None or plan.version != version or now >= plan.expires:
                return None
            self._plans.move_to_end(key)
            return plan

    def put(self, key: Any, plan: Plan) -> None:
        """Keep ``plan`` (replacing an older one) and evict to the bounds."""
        size = len(plan.matrix) + len(plan.scoreless)
        if size > self._max_rows:
            return
        with self._lock:
            old = self._plans.pop(key, None)
            self._rows += size - (0 if old is None else len(old.matrix) + len(old.scoreless))
            self._plans[key] = plan
            while self._rows > self._max_rows or len(self._plans) > 256:
                _, gone = self._plans.popitem(last=False)
                self._rows -= len(gone.matrix) + len(gone.scoreless)


def prefixes(ns: str) -> list[str]:
    """Every encoded prefix of an encoded namespace, itself included (index metadata)."""
    labels = split_namespace(ns)
    return [".".join(labels[: i + 1]) for i in range(len(labels))]


class IndexedSearch:
    """The vector-index path for one store configuration (embedding dimension and model).

    Args:
        backend: The MaaS backend (source of truth).
        open_index: Opens the MaaS vector index (called on first large search).
        dims: The embedding dimension of the store's index config.
        model: A label of the embedding model (part of the collection name).
    """

    def __init__(self, backend: StateBackend, open_index: Callable[[], VectorIndex], dims: int, model: str) -> None:
        self._backend = backend
        self._open_index = open_index
        self.dims = dims
        self.model = model
        self._collection: str | None = None

    def _index(self) -> tuple[VectorIndex, str]:
        index = self._open_index()
        if self._collection is None:
            with self._backend.transaction(write=True) as tx:
                instance = tx.get_setting("instance_id")
                if instance is None:
                    import uuid

                    instance = uuid.uuid4().hex[:12]
                    tx.set_setting("instance_id", instance)
            name = collection_name(self.model, self.dims, kind="store", instance=instance)
            index.ensure_collection(name, dimension=self.dims, model=self.model)
            self._collection = name
        return index, self._collection

    def prepare(self, exact_limit: int) -> None:
        """Before a read transaction: when the store holds more than ``exact_limit`` items,
        open the index and push dirty vectors to it (both write, so not inside the search)."""
        with self._backend.transaction(write=False) as tx:
            large = tx.kv_count(KVQuery(), exact_limit + 1) > exact_limit
        if large:
            self.sync()

    def sync(self) -> int:
        """Push dirty vectors to the index; vectors of another dimension (or all zeros) are
        marked seen without being indexed. Returns how many were examined."""
        index, name = self._index()
        done = 0
        while True:
            with self._backend.transaction(write=False) as tx:
                batch = tx.kv_dirty_vectors(_SYNC_BATCH)
            if not batch:
                return done
            rows = [(i, ns, decode_vector(b)) for i, ns, b in batch]
            keep = [(i, ns, v) for i, ns, v in rows if len(v) == self.dims and np.any(v)]
            if keep:
                index.upsert(
                    name,
                    [str(i) for i, _, _ in keep],
                    [v.tolist() for _, _, v in keep],
                    [{"nsp": prefixes(ns)} for _, ns, _ in keep],
                )
            with self._backend.transaction(write=True) as tx:
                tx.kv_mark_indexed([i for i, _, _ in batch])
            done += len(batch)

    def search(
        self,
        qvec: Sequence[float],
        query: KVQuery,
        spaces: Sequence[str] | None,
        flt: Mapping[str, Any] | None,
        offset: int,
        limit: int,
    ) -> list[Scored] | None:
        """Nearest items via the index, or ``None`` when the index could not fill the page
        (the caller then scores exactly, as it does before :meth:`prepare` ran). ``spaces`` are
        the encoded namespace heads the reader may read (``None``: everything). Runs inside the
        caller's read transaction, so it writes nothing."""
        if self._collection is None:
            return None
        index, name = self._open_index(), self._collection
        where = self._where(query.prefix, spaces)
        want = offset + limit
        k = max(4 * want, 50)
        for _ in range(4):
            hits = index.query(name, qvec, k, where) if where != Or([]) else []
            found = self._recheck([int(h.id) for h in hits], query, flt, index, name)
            if len(found) >= want or len(hits) < k:
                return rank(qvec, found, offset, limit)
            k *= 4
        return None

    def _recheck(
        self, ids: list[int], query: KVQuery, flt: Mapping[str, Any] | None, index: VectorIndex, name: str
    ) -> list[tuple[KVRow, list[bytes]]]:
        with self._backend.transaction(write=False) as tx:
            rows = tx.kv_rows_for_vectors(ids, query)
            gone = set(ids) - {vec_id for vec_id, _, _ in rows}
            if gone:  # not admitted, or deleted since they were indexed: drop the deleted ones
                gone -= {vec_id for vec_id, _, _ in tx.kv_rows_for_vectors(list(gone), KVQuery())}
        if gone:
            index.delete(name, [str(i) for i in gone])
        by_item: dict[int, tuple[KVRow, list[bytes]]] = {}
        for _, row, blob in rows:
            if row.item_id not in by_item:
                if not matches_filter(decode_value(row.value), flt):
                    continue
                by_item[row.item_id] = (row, [])
            by_item[row.item_id][1].append(blob)
        return sorted(by_item.values(), key=lambda c: (c[0].item_id,))

    @staticmethod
    def _where(prefix: str | None, spaces: Sequence[str] | None) -> Where | None:
        parts: list[Where] = []
        if prefix is not None:
            parts.append(Contains("nsp", prefix))
        if spaces is not None:
            parts.append(Or([Contains("nsp", s) for s in spaces]))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else And(parts)
