"""Keeping the vector index in step with the relational store (the source of truth).

Every memory row carries a ``dirty`` flag, set in the same transaction as any change that the
index must learn about (a new active memory; a status change). After the commit the service
tells the index and clears the flag. A crash in between leaves the flag set, and the next
``open()`` finishes the job from the vector stored in the row — no re-embedding. ``maas
reindex`` marks everything dirty and rebuilds the collection.

The commit is the acknowledgement: a write whose index step fails *after* the commit still
returns its result (:meth:`IndexSync.settle` never raises), since raising a retryable error for
a stored memory makes a retrying client store it twice. The failure is logged, counted
(:meth:`IndexSync.health`, shown by ``MaaS.status()``) and the rows stay dirty; this process
then catches up at its next write and before its next recall that asks the index
(:meth:`IndexSync.catch_up`), and any process at its next open. Until then a recall still finds
them by exact search over the stored vectors in scopes of at most ``exact_limit`` memories and by
full text, and never returns a memory the store says is no longer current (every index hit is
re-checked in SQL), so a failed index *deletion* cannot resurface a forgotten memory.

Example:
    >>> collection_name("all-MiniLM-L6-v2", 384, instance="3f2a9c")
    'maas-3f2a9c-memories-all-minilm-l6-v2-384'
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from maas_langchain.core.enums import MemoryStatus
from maas_langchain.core.ports.state import StoredMemory
from maas_langchain.core.ports.vectors import Contains, In, MetaValue, Or, VectorIndex, Where
from maas_langchain.core.ranking import decode_vector
from maas_langchain.core.records import Memory
from maas_langchain.core.runtime import Runtime
from maas_langchain.core.scopes import ScopeFilter, ScopeHierarchy
from maas_langchain.errors import EmbeddingDimensionError

__all__ = ["EmbeddingSpec", "IndexSync", "collection_name", "scope_where"]

SETTING = "memory_embedding"
INSTANCE = "instance_id"
_BATCH = 1_000
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddingSpec:
    """The model and dimension that memory vectors were (or will be) made with."""

    model: str
    dimension: int

    def encode(self) -> str:
        """As stored in the ``settings`` table."""
        return f"{self.dimension}|{self.model}"

    @classmethod
    def decode(cls, text: str) -> EmbeddingSpec:
        """Inverse of :meth:`encode`."""
        dimension, model = text.split("|", 1)
        return cls(model, int(dimension))


def collection_name(model: str, dimension: int, kind: str = "memories", instance: str = "") -> str:
    """A valid Chroma collection name for one store (``instance``), kind, model and dimension.

    The instance id keeps two databases that share one ``chroma run`` server apart.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")[:60] or "model"
    return f"maas-{instance + '-' if instance else ''}{kind}-{slug}-{dimension}"


def scope_where(scope: ScopeFilter) -> Where:
    """The index filter for a reader's scope (ancestors-or-self, and descendants if allowed)."""
    ancestors: Where = In("scope", list(scope.ancestors))
    if scope.descendant_of is None:
        return ancestors
    return Or([ancestors, Contains("scope_sub", scope.descendant_of)])


def index_metadata(memory: Memory, hierarchy: ScopeHierarchy) -> dict[str, MetaValue]:
    """Flat, filterable metadata of a memory's index row (no ``None``: Chroma rejects it)."""
    return {
        "scope": hierarchy.canon(memory.scope),
        "scope_sub": hierarchy.prefixes(memory.scope),
        "category": memory.category,
        "author": memory.author_id or "",
        "pool": memory.pool_id or "",
        "session": memory.session_id or "",
        "created": int(memory.created_at),
    }


def indexable(stored: StoredMemory) -> bool:
    """Only current, active, scoped memories with a vector live in the index."""
    m = stored.memory
    return m.status is MemoryStatus.ACTIVE and m.valid_to is None and bool(m.scope) and stored.vector is not None


class IndexSync:
    """Pushes dirty rows to the index and rebuilds it.

    Args:
        rt: The runtime (backend access).
        index: The vector index, or a factory called on first use (opening Chroma is slow,
            and a process that never touches memories should not pay for it).
        hierarchy: Scope keys, for the metadata.
    """

    def __init__(self, rt: Runtime, index: VectorIndex | Callable[[], VectorIndex], hierarchy: ScopeHierarchy) -> None:
        self._rt = rt
        self._index = index if isinstance(index, VectorIndex) else None
        self._factory = None if isinstance(index, VectorIndex) else index
        self._hierarchy = hierarchy
        self._lock = threading.Lock()
        self._state = threading.Lock()
        self._behind = False  # this process left committed rows out of the index
        self._failures = 0  # post-commit index steps that failed since open
        self._last_error: str | None = None
        self._next_try = 0.0
        self.retry_interval = 1.0
        """Seconds a recall waits after a failed catch-up before trying again (writes always try)."""

    @property
    def index(self) -> VectorIndex:
        """The vector index (opened on first use)."""
        with self._lock:
            if self._index is None:
                assert self._factory is not None
                self._index = self._factory()
            return self._index

    @property
    def opened(self) -> VectorIndex | None:
        """The index if it was opened, else None."""
        return self._index

    def stored_spec(self) -> EmbeddingSpec | None:
        """The embedding model recorded with the memories, if any were ever embedded."""
        text = self._rt.read(lambda tx: tx.get_setting(SETTING))
        return None if text is None else EmbeddingSpec.decode(text)

    def bind(self, spec: EmbeddingSpec) -> str:
        """Record ``spec`` as the memories' model (first use) or check it; create the collection.

        Raises:
            EmbeddingDimensionError: Memories were embedded with another model or dimension.
        """

        with self._rt.backend.transaction(write=True) as tx:
            stored = tx.get_setting(SETTING)
            if stored is None:
                tx.set_setting(SETTING, spec.encode())
            if tx.get_setting(INSTANCE) is None:
                tx.set_setting(INSTANCE, uuid.uuid4().hex[:12])
            existing = spec if stored is None else EmbeddingSpec.decode(stored)
        if existing != spec:
            raise EmbeddingDimensionError(
                f"the memories were embedded with {existing.model} ({existing.dimension} dimensions) but these "
                f"embeddings are {spec.model} ({spec.dimension} dimensions); open with the same embeddings "
                "(re-embedding a store with another model is not supported yet; use a new store for it)",
                stored_model=existing.model,
                stored_dimension=existing.dimension,
                model=spec.model,
                dimension=spec.dimension,
            )
        name = self.collection(spec)
        self.index.ensure_collection(name, dimension=spec.dimension, model=spec.model)
        return name

    def collection(self, spec: EmbeddingSpec) -> str:
        """The collection of this store's memories for ``spec``."""
        instance = self._rt.read(lambda tx: tx.get_setting(INSTANCE)) or ""
        return collection_name(spec.model, spec.dimension, instance=instance)

    def sync(self, collection: str, progress: Callable[[int], None] | None = None) -> int:
        """Apply every dirty row to the index; return how many rows were applied."""
        done = 0
        while True:
            batch = self._rt.read(lambda tx: tx.dirty_memories(_BATCH))
            if not batch:
                return done
            self.apply(collection, batch)
            done += len(batch)
            if progress is not None:
                progress(len(batch))

    def apply(self, collection: str, rows: Sequence[StoredMemory]) -> None:
        """Upsert the indexable rows, delete the others, then clear their dirty flags."""
        keep = [r for r in rows if indexable(r)]
        gone = [r.memory.memory_id for r in rows if not indexable(r)]
        if keep:
            self.index.upsert(
                collection,
                [r.memory.memory_id for r in keep],
                [decode_vector(r.vector).tolist() for r in keep if r.vector is not None],
                [index_metadata(r.memory, self._hierarchy) for r in keep],
            )
        if gone:
            self.index.delete(collection, gone)
        ids = [r.memory.memory_id for r in rows]
        with self._rt.backend.transaction(write=True) as tx:
            tx.mark_indexed(ids)

    def settle(self, collection: str, memory_ids: Sequence[str]) -> bool:
        """After a commit: push the rows of ``memory_ids`` (and, if an earlier attempt failed, every
        dirty row) to the index. Never raises: the write is durable, so a failure here is logged,
        counted and left to heal (the rows stay dirty). Returns True when the index is in step."""
        try:
            self.apply(collection, self._rt.read(lambda tx: tx.get_memories(memory_ids)))
        except Exception as exc:  # whatever failed, the commit stands
            self._deferred(exc, f"{len(memory_ids)} committed memories are not in the index yet")
            return False
        return self.catch_up(collection, force=True)

    def catch_up(self, collection: str, *, force: bool = False) -> bool:
        """If this process left committed rows out of the index, push every dirty row now (at
        most once per :attr:`retry_interval` unless ``force``). Never raises; True when in step."""
        with self._state:
            if not self._behind:
                return True
            if not force and time.monotonic() < self._next_try:
                return False
            seen = self._failures
        try:
            done = self.sync(collection)
        except Exception as exc:  # a recall goes on with the index as it is
            self._deferred(exc, "the index is still behind the store")
            return False
        with self._state:
            if self._failures == seen:  # no failure meanwhile left other rows behind
                self._behind = False
        _log.info("memory index caught up with the store (%d rows)", done)
        return True

    def health(self) -> dict[str, object]:
        """This process's post-commit index failures: ``index_deferred`` (count since open),
        ``index_last_error`` and ``index_catching_up`` (rows it left behind are still dirty)."""
        with self._state:
            return {
                "index_deferred": self._failures,
                "index_last_error": self._last_error,
                "index_catching_up": self._behind,
            }

    def _deferred(self, exc: Exception, what: str) -> None:
        text = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        with self._state:
            self._behind = True
            self._failures += 1
            self._last_error = text[:500]
            self._next_try = time.monotonic() + self.retry_interval
        _log.warning("memory index write failed after the commit (%s; healed later): %s", what, text)

    def rebuild(self, collection: str, progress: Callable[[int], None] | None = None) -> int:
        """Drop and refill the collection from the stored vectors; return rows examined."""
        spec = self.stored_spec()
        self.index.drop(collection)
        if spec is not None:
            self.index.ensure_collection(collection, dimension=spec.dimension, model=spec.model)
        with self._rt.backend.transaction(write=True) as tx:
            tx.mark_all_dirty()
        return self.sync(collection, progress)
