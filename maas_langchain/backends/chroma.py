"""Chroma behind the :class:`~maas_langchain.core.ports.vectors.VectorIndex` port.

Two ways in:

* :meth:`ChromaIndex.embedded` — a ``PersistentClient`` on a folder. Chroma's embedded store is
  not safe for two processes (a second writer silently corrupts the HNSW files; a second reader
  sees stale results), so the folder is guarded by an exclusive ``flock`` on ``<folder>/.lock``
  for the whole life of the client, reads included; within a process, every index on one folder
  shares one lock and one client (see :mod:`~maas_langchain.backends.chroma_lock`).
* :meth:`ChromaIndex.http` — an ``HttpClient`` on a ``chroma run`` server, for many processes
  and hosts (no lock: the server owns its folder).

Chroma is imported lazily, never asked to embed (``embedding_function=None`` on every create
*and* get, otherwise it silently restores its downloading default model), and its exceptions
are translated into :mod:`maas_langchain.errors` at this boundary. Filters are translated by
:func:`~maas_langchain.backends.chroma_filters.chroma_where`.

A full disk: embedded Chroma never says so (``Error in compaction: Failed to apply logs to the
metadata segment``; a client opened on a full disk poisons Chroma's per-folder system cache, and
the next open fails with ``'RustBindingsAPI' object has no attribute 'bindings'``). Such
failures, when the folder's file system is short of space or the process has a file size
limit, become :class:`~maas_langchain.errors.StorageFullError` naming the folder and the bytes
free (:mod:`~maas_langchain.backends.disk_full`); a failed open is dropped from Chroma's cache,
so the next attempt, once space is freed, starts afresh.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt

from maas_langchain.backends.chroma_filters import chroma_where
from maas_langchain.backends.chroma_lock import SEVERAL_PROCESSES, FolderLease, lease_folder, release_folder
from maas_langchain.backends.disk_full import opaque_write_failure, says_full, short_of_space, storage_full
from maas_langchain.core.ports.vectors import (
    IndexInfo,
    Metadata,
    MetaValue,
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
from maas_langchain.errors import (
    BackendUnavailableError,
    ConflictError,
    InvalidInputError,
    MaaSError,
    NotFoundError,
    VectorStoreLockedError,
)

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import Include

__all__ = ["ChromaIndex"]

_T = TypeVar("_T")
_RAISE: Any = object()  # "no fallback" marker


def _open_persistent(path: str) -> ClientAPI:
    try:
        return cast("ClientAPI", _new_client("PersistentClient", path=path))
    except Exception as exc:
        _forget_failed_system(path)
        raise _translate(exc, f"Chroma at {path}", path) from exc


def _forget_failed_system(path: str) -> None:
    """Drop the system Chroma cached for ``path`` when opening a client on it failed: Chroma keeps
    a system whose start failed (on a full disk, say), and every later client on the folder in
    this process would fail with ``'RustBindingsAPI' object has no attribute 'bindings'``. Only
    this process's lease opens clients on the folder (chroma_lock), so no live client uses it."""
    with suppress(Exception):  # Chroma's private cache: best effort
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(path, None)
        SharedSystemClient._identifier_to_refcount.pop(path, None)


def _new_client(factory: str, **kwargs: Any) -> Any:
    """``chromadb.<factory>(**kwargs)`` with telemetry off (Chroma is imported here, lazily)."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings

    return getattr(chromadb, factory)(settings=Settings(anonymized_telemetry=False), **kwargs)


def _boundary(where: str, call: Callable[[], _T], folder: str | None = None) -> _T:
    """Run ``call``; translate whatever Chroma raises into a MaaS error (``folder``: the
    embedded store's folder, where a full disk is looked for)."""
    try:
        return call()
    except MaaSError:
        raise
    except Exception as exc:
        raise _translate(exc, where, folder) from exc


def _translate(exc: Exception, where: str, folder: str | None = None) -> MaaSError:
    from chromadb import errors

    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, errors.NotFoundError):
        return NotFoundError(f"{where}: {text}")
    if isinstance(exc, errors.UniqueConstraintError):
        return ConflictError(f"{where}: {text}")
    if folder is not None and (says_full(exc) or (opaque_write_failure(exc) and short_of_space(folder))):
        return storage_full(
            "the vector index (embedded Chroma)", folder, f"Chroma said: {text}", certain=says_full(exc)
        )
    refused = (errors.InvalidArgumentError, errors.DuplicateIDError, errors.InvalidDimensionException, TypeError)
    if isinstance(exc, refused) or (isinstance(exc, ValueError) and "connect" not in text.lower()):
        return InvalidInputError(f"{where} refused the request: {text}")
    return BackendUnavailableError(f"{where} is unavailable: {text}")


class ChromaIndex(VectorIndex):
    """Chroma, embedded on a folder or as a client of a ``chroma run`` server.

    Open it with :meth:`embedded` or :meth:`http`. Collections use cosine space and record the
    embedding model and dimension in their metadata (``maas_model``, ``maas_dimension``); every
    vector is checked against that dimension before Chroma sees it.

    Example:
        >>> import tempfile
        >>> from maas_langchain.backends.vectors import ChromaIndex, In
        >>> with ChromaIndex.embedded(tempfile.mkdtemp()) as index:
        ...     index.ensure_collection("notes", dimension=2, model="toy")
        ...     index.upsert("notes", ["a", "b"], [[1.0, 0.0], [0.6, 0.8]], [{"pool": "p1"}, {"pool": "p2"}])
        ...     [hit.id for hit in index.query("notes", [1.0, 0.0], k=2, where=In("pool", ["p2"]))]
        IndexInfo(name='notes', dimension=2, model='toy', count=0)
        ['b']
    """

    kind = "chroma"

    def __init__(self, client: ClientAPI, *, kind: str, location: str, lease: FolderLease | None = None) -> None:
        """Wrap an open client; use :meth:`embedded` or :meth:`http` instead."""
        self.kind = kind
        self.location = location
        self._client = client
        self._lease = lease
        self._pid = os.getpid()
        self._closed = False
        self._writes = lease.writes if lease is not None else threading.RLock()
        self._cache: dict[str, tuple[Collection, int]] = {}
        self._batch = int(self._call(client.get_max_batch_size))

    @classmethod
    def embedded(cls, path: str | os.PathLike[str]) -> ChromaIndex:
        """Open (creating it if needed) the embedded Chroma store in folder ``path``.

        Raises:
            VectorStoreLockedError: Another process holds the folder (the message names it).
            BackendUnavailableError: The folder cannot be created or opened.
        """
        lease = lease_folder(Path(path), _open_persistent)
        try:
            return cls(lease.client, kind="chroma", location=lease.path, lease=lease)
        except BaseException:
            release_folder(lease)
            raise

    @classmethod
    def http(cls, url: str) -> ChromaIndex:
        """Connect to a Chroma server, e.g. ``http://127.0.0.1:8000`` (started with ``chroma run``).

        Raises:
            InvalidInputError: ``url`` is not an ``http://`` or ``https://`` URL.
            BackendUnavailableError: The server cannot be reached.
        """
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 8000)
        except (TypeError, ValueError):
            parts, port = urlsplit(""), 0
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise InvalidInputError(f"{url!r} is not a Chroma server URL like http://127.0.0.1:8000")
        try:
            client = _new_client("HttpClient", host=parts.hostname, port=port, ssl=parts.scheme == "https")
        except Exception as exc:
            raise BackendUnavailableError(
                f"no Chroma server answers at {url} ({str(exc).strip() or type(exc).__name__}); "
                "start one with `chroma run --path DIR --port N`",
                url=url,
            ) from exc
        return cls(client, kind="chroma-http", location=url)

    def ensure_collection(self, name: str, *, dimension: int, model: str) -> IndexInfo:
        """Create the collection (cosine space) if missing; otherwise check its dimension and model."""
        check_collection(name, dimension, model)
        with self._usable():
            collection = self._call(lambda: self._open_collection(name, dimension, model))
            built = _built_with(collection)
            if built != (dimension, model):
                raise collection_conflict(name, built, (dimension, model))
            self._cache[name] = (collection, dimension)
            return IndexInfo(name, dimension, model, int(self._call(collection.count)))

    def upsert(
        self,
        name: str,
        ids: Sequence[str],
        vectors: Sequence[Sequence[float]],
        metadatas: Sequence[Metadata],
        documents: Sequence[str] | None = None,
    ) -> None:
        """Add or replace rows, in batches of the server's maximum batch size."""
        check_rows(ids, len(vectors), metadatas, documents)
        clean = [check_metadata(m) for m in metadatas]

        def write(collection: Collection, dimension: int) -> None:
            units = unit_vectors(vectors, dimension, collection=name)
            for start in range(0, len(ids), self._batch):
                end = start + self._batch
                docs = None if documents is None else list(documents[start:end])
                _replace(collection, list(ids[start:end]), units[start:end], clean[start:end], docs)

        with self._usable(), self._writes:
            self._with_collection(name, write)

    def delete(self, name: str, ids: Sequence[str]) -> None:
        """Remove rows; unknown ids and a missing collection are ignored."""
        if not ids:
            return

        def remove(collection: Collection, _dimension: int) -> None:
            for start in range(0, len(ids), self._batch):
                collection.delete(ids=list(ids[start : start + self._batch]))

        with self._usable(), self._writes:
            self._with_collection(name, remove, missing=None)

    def query(
        self,
        name: str,
        vector: Sequence[float],
        k: int,
        where: Where | None = None,
        *,
        include_payload: bool = False,
    ) -> list[VectorHit]:
        """Return up to ``k`` rows nearest to ``vector`` among those matching ``where`` (filtered in Chroma)."""
        check_k(k)
        check_where(where)
        chroma_filter = chroma_where(where)

        def search(collection: Collection, dimension: int) -> list[VectorHit]:
            unit = unit_vectors([vector], dimension, collection=name)
            if chroma_filter is False:
                return []
            include: Include = ["distances", "metadatas", "documents"] if include_payload else ["distances"]
            found = collection.query(query_embeddings=unit, n_results=k, where=chroma_filter, include=include)
            return _hits(found, include_payload)

        with self._usable():
            return self._with_collection(name, search)

    def get(self, name: str, where: Where | None = None, *, limit: int | None = None) -> list[VectorRecord]:
        """Rows matching ``where`` (metadata and documents, no vectors), at most ``limit``."""
        check_where(where)
        check_limit(limit)
        chroma_filter = chroma_where(where)
        if chroma_filter is False or limit == 0:
            return []

        def fetch(collection: Collection, _dimension: int) -> list[VectorRecord]:
            found = collection.get(where=chroma_filter, limit=limit, include=["metadatas", "documents"])
            documents: Sequence[str | None] = found["documents"] or [None] * len(found["ids"])
            return [
                VectorRecord(id_, _metadata(meta), doc)
                for id_, meta, doc in zip(found["ids"], found["metadatas"] or [], documents, strict=True)
            ]

        with self._usable():
            return self._with_collection(name, fetch, missing=[])

    def ids(self, name: str) -> set[str]:
        """Every id in the collection (empty if it does not exist)."""
        with self._usable():
            return self._with_collection(name, lambda c, _d: set(c.get(include=[])["ids"]), missing=set())

    def count(self, name: str) -> int:
        """Number of rows in the collection (0 if it does not exist)."""
        with self._usable():
            return self._with_collection(name, lambda c, _d: int(c.count()), missing=0)

    def drop(self, name: str) -> None:
        """Delete the collection and its rows (no error if missing)."""
        with self._usable(), self._writes:
            self._cache.pop(name, None)
            with suppress(NotFoundError):
                self._call(lambda: self._client.delete_collection(name))

    def close(self) -> None:
        """Release the client (and, for the last embedded index on a folder, the folder lock)."""
        if self._closed:
            return
        self._closed = True
        self._cache.clear()
        if self._pid != os.getpid():
            return  # a forked child never touches the parent's client
        if self._lease is not None:
            release_folder(self._lease)
        else:
            with suppress(Exception):  # nothing to do about a failing close
                self._client.close()  # type: ignore[attr-defined]

    # -- helpers

    @contextmanager
    def _usable(self) -> Iterator[None]:
        if self._closed:
            raise BackendUnavailableError(f"this Chroma index ({self.location}) is closed", backend=self.kind)
        if self._pid != os.getpid():
            error = VectorStoreLockedError if self._lease is not None else BackendUnavailableError
            raise error(
                f"this Chroma index ({self.location}) was opened by process {self._pid}; a forked child "
                f"(process {os.getpid()}) must not use it; {SEVERAL_PROCESSES}",
                pid=self._pid,
            )
        yield

    def _call(self, call: Callable[[], _T]) -> _T:
        return _boundary(f"Chroma ({self.location})", call, self.location if self._lease is not None else None)

    def _open_collection(self, name: str, dimension: int, model: str) -> Collection:
        from chromadb import errors

        with suppress(errors.NotFoundError):
            return self._client.get_collection(name, embedding_function=None)
        try:
            return self._client.create_collection(
                name,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"maas_dimension": dimension, "maas_model": model},
                embedding_function=None,
            )
        except Exception as exc:  # created meanwhile by another client (the HTTP client says so in text)
            if not isinstance(exc, errors.UniqueConstraintError) and "already exists" not in str(exc):
                raise
            return self._client.get_collection(name, embedding_function=None)

    def _collection(self, name: str) -> tuple[Collection, int]:
        cached = self._cache.get(name)
        if cached is None:
            collection = self._call(lambda: self._client.get_collection(name, embedding_function=None))
            cached = self._cache[name] = (collection, _built_with(collection)[0])
        return cached

    def _with_collection(self, name: str, action: Callable[[Collection, int], _T], missing: Any = _RAISE) -> _T:
        """Run ``action(collection, dimension)``, fetching the collection again once if another
        client dropped or recreated it. A missing collection gives ``missing`` (if given)."""
        for attempt in (1, 2):
            try:
                return self._call(lambda: action(*self._collection(name)))
            except NotFoundError as exc:
                self._cache.pop(name, None)
                if attempt == 2 and missing is _RAISE:
                    message = f"vector collection {name!r} does not exist; call ensure_collection() first"
                    raise NotFoundError(message, collection=name) from exc
        return cast("_T", missing)


def _built_with(collection: Collection) -> tuple[int, str]:
    """The ``(dimension, model)`` a MaaS collection records; ConflictError for a foreign one."""
    meta: Mapping[str, Any] = collection.metadata or {}
    dimension, model = meta.get("maas_dimension"), meta.get("maas_model")
    if not isinstance(dimension, int) or not isinstance(model, str):
        raise ConflictError(
            f"collection {collection.name!r} was not created by MaaS (no maas_dimension/maas_model metadata); "
            "use another collection name",
            collection=collection.name,
        )
    return dimension, model


def _replace(
    collection: Collection,
    ids: list[str],
    units: npt.NDArray[np.float32],
    metadatas: list[dict[str, MetaValue]],
    documents: list[str] | None,
) -> None:
    """Upsert so that nothing of a replaced row survives: Chroma's upsert merges metadata (keys
    absent from the new row are removed with ``None``) and keeps an old document when none is
    given (such rows are deleted first)."""
    old = collection.get(ids=ids, include=["metadatas", "documents"])
    old_keys = {id_: set(meta or ()) for id_, meta in zip(old["ids"], old["metadatas"] or [], strict=True)}
    if documents is None:
        with_docs = [id_ for id_, doc in zip(old["ids"], old["documents"] or [], strict=True) if doc is not None]
        if with_docs:
            collection.delete(ids=with_docs)
            for id_ in with_docs:
                old_keys.pop(id_)
    rows: list[dict[str, Any] | None] = []
    for id_, meta in zip(ids, metadatas, strict=True):
        row: dict[str, Any] = {**dict.fromkeys(old_keys.get(id_, set()) - meta.keys()), **meta}
        rows.append(row or None)
    collection.upsert(
        ids=ids,
        embeddings=units,
        metadatas=rows if any(rows) else None,  # type: ignore[arg-type]
        documents=documents,
    )


def _hits(found: Any, payload: bool) -> list[VectorHit]:
    ids, distances = found["ids"][0], found["distances"][0]
    if not payload:
        return [VectorHit(id_, _similarity(d)) for id_, d in zip(ids, distances, strict=True)]
    metas, docs = found["metadatas"][0], found["documents"][0]
    return [
        VectorHit(id_, _similarity(d), _metadata(m), doc)
        for id_, d, m, doc in zip(ids, distances, metas, docs, strict=True)
    ]


def _similarity(distance: float) -> float:
    return min(1.0, max(-1.0, 1.0 - float(distance)))


def _metadata(meta: Mapping[str, Any] | None) -> dict[str, MetaValue]:
    return {key: list(value) if isinstance(value, list) else value for key, value in (meta or {}).items()}
