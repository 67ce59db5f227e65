"""Storage port: LangGraph store items (namespaces, keys, JSON values, TTL, vectors) for :mod:`maas_langchain.adapters.langgraph.store`.

:class:`~maas_langchain.core.ports.state.StateTx` inherits these abstract operations; the SQL
backends implement them in ``sql_kv.py`` and the in-memory reference in ``memory_kv.py``.

A namespace is stored as its labels joined with ``"."`` (LangGraph forbids ``"."`` in a label,
so the text is unambiguous and ``("a", "b")`` is a prefix of ``("a", "b", "c")`` exactly when
``"a.b"`` is ``"a.b.c"`` or starts with ``"a.b."``). Namespace rows are never deleted: a
namespace keeps its id, and ids give the order searches list items in (namespace creation
order, then item insertion order — :class:`~langgraph.store.memory.InMemoryStore`'s order).

Who may read what is not decided here: :class:`KVReaders` (built by
:mod:`maas_langchain.core.access`) is translated into the query, so a search or a namespace
listing never sees rows its reader may not read.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from maas_langchain.core.ports.filters import StoreReaders as KVReaders

__all__ = ["KVOps", "KVPut", "KVQuery", "KVReaders", "KVRow", "encode_namespace", "split_namespace"]


def encode_namespace(namespace: Sequence[str]) -> str:
    """The stored text of a namespace: its labels joined with ``"."``."""
    return ".".join(namespace)


def split_namespace(text: str) -> tuple[str, ...]:
    """Inverse of :func:`encode_namespace`."""
    return tuple(text.split("."))


@dataclass(frozen=True, slots=True)
class KVRow:
    """One stored item. ``value`` is its JSON text; times are seconds since the epoch."""

    item_id: int
    ns: str
    key: str
    value: str
    created_at: float
    updated_at: float
    expires_at: float | None
    ttl_minutes: float | None


@dataclass(slots=True)  # not frozen: built per item of every batch, and frozen init costs
class KVPut:
    """One write: ``value`` (JSON text) replaces the item, ``None`` deletes it.

    ``vectors`` are ``(path, float64 bytes)`` in field order and replace the item's vectors
    wholesale (an empty list leaves it with none).
    """

    ns: str
    key: str
    value: str | None
    ttl_minutes: float | None = None
    vectors: Sequence[tuple[str, bytes]] = ()
    writer: str | None = None


@dataclass(frozen=True, slots=True)
class KVQuery:
    """Which rows a scan sees.

    Attributes:
        prefix: Encoded namespace prefix (``None``: every namespace).
        readers: Restrict to what this reader may read (``None``: the trusted caller).
        alive_at: Leave out rows with ``expires_at <= alive_at`` (``None``: keep expired rows).
        equals: ``(field, text)`` pairs: only values whose top-level ``field`` is the JSON string
            ``text`` (field names of letters, digits and ``_``; a backend may also return rows
            that fail it — callers re-check — but never leave out one that passes).
    """

    prefix: str | None = None
    readers: KVReaders | None = None
    alive_at: float | None = None
    equals: tuple[tuple[str, str], ...] = ()


class KVOps(abc.ABC):
    """Abstract kv operations of one transaction."""

    @abc.abstractmethod
    def kv_version(self) -> int:
        """The store's change counter, which other processes' caches compare (see :meth:`kv_put`)."""

    @abc.abstractmethod
    def kv_register_reader(self, reader_id: str, expires_at: float, prune_before: float) -> None:
        """Register (or renew) a caching reader until ``expires_at``; drop registrations that
        expired before ``prune_before``."""

    @abc.abstractmethod
    def kv_unregister_reader(self, reader_id: str) -> None:
        """Remove a reader's registration (it no longer caches)."""

    @abc.abstractmethod
    def kv_get(self, ns: str, keys: Sequence[str], alive_at: float | None) -> list[KVRow]:
        """The items of namespace ``ns`` with these keys (those that exist), in no order."""

    @abc.abstractmethod
    def kv_put(
        self,
        puts: Sequence[KVPut],
        now: float,
        known: Mapping[str, int] | None = None,
        *,
        exclude_reader: str | None = None,
        live_after: float = 0.0,
    ) -> tuple[dict[str, int], int | None]:
        """Apply the writes (at most one per namespace and key), creating namespaces as needed,
        and bump the change counter if a caching reader other than ``exclude_reader`` is
        registered with ``expires_at > live_after`` (nothing else is written otherwise).
        ``known`` maps namespaces to ids the caller saw committed (namespace rows are never
        deleted, so such ids stay valid). Returns the ids of namespaces it had to look up and
        the counter's new value (``None``: not bumped)."""

    @abc.abstractmethod
    def kv_scan(self, query: KVQuery, limit: int | None = None, offset: int = 0) -> list[KVRow]:
        """Items the query admits, in namespace id then item id order, paginated."""

    @abc.abstractmethod
    def kv_count(self, query: KVQuery, cap: int) -> int:
        """How many items the query admits, counting at most ``cap``."""

    @abc.abstractmethod
    def kv_scan_vectors(self, query: KVQuery) -> list[tuple[int, bytes]]:
        """``(item_id, vector)`` of every item the query admits, each item's in field order."""

    @abc.abstractmethod
    def kv_rows_for_vectors(self, vec_ids: Sequence[int], query: KVQuery) -> list[tuple[int, KVRow, bytes]]:
        """``(vec_id, item, vector)`` for those of ``vec_ids`` whose item the query admits."""

    @abc.abstractmethod
    def kv_namespaces(self, query: KVQuery) -> list[str]:
        """Encoded namespaces holding at least one item the query admits, in no order."""

    @abc.abstractmethod
    def kv_refresh(self, item_ids: Sequence[int], now: float) -> None:
        """Restart the TTL of those items that have one: ``expires_at = now + ttl``."""

    @abc.abstractmethod
    def kv_usage(self, ns: str, keys: Sequence[str]) -> dict[str, tuple[str | None, int]]:
        """For the items of ``ns`` with these keys that exist (expired or not): their writer and
        the length of their JSON text (what a put or delete of them releases from a quota)."""

    @abc.abstractmethod
    def kv_writer_usage(self, writer: str) -> tuple[int, int]:
        """How many stored items ``writer`` wrote last, and the total length of their JSON text
        (a scan: used to recount a quota counter that may have drifted upwards)."""

    @abc.abstractmethod
    def kv_sweep(self, now: float, limit: int) -> int:
        """Delete up to ``limit`` items expired at ``now`` (with their vectors); return how many."""

    @abc.abstractmethod
    def kv_dirty_vectors(self, limit: int) -> list[tuple[int, str, bytes]]:
        """``(vec_id, encoded namespace, vector)`` of vectors the vector index has not seen."""

    @abc.abstractmethod
    def kv_mark_indexed(self, vec_ids: Sequence[int]) -> None:
        """Clear the dirty flag of these vectors."""
