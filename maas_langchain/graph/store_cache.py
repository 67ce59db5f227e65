"""A coherent per-process read cache for :class:`~maas_langchain.graph.store.MaaSStore` gets.

One cache per backend object (every store view of one ``MaaS`` instance shares it). Coherence:

* Writes through this process invalidate the keys they wrote before the call returns, and a
  fill that raced with such a write is dropped (a generation counter).
* Writes by other processes (or another ``MaaS`` instance on the same database) bump the
  database's ``kv_version`` counter in the same transaction as the change. The cache compares
  that counter at most every ``interval`` seconds (default 0.05) and empties itself when it
  moved, so such a write is seen by a cached get at most ``interval`` seconds after it commits.
  ``interval=0`` checks on every get (no staleness, one small query each).

Example:
    >>> cache = ReadCache(interval=0.0)
    >>> cache.refresh(lambda: 7)  # the store's change counter
    >>> cache.fill(("ns", "k"), "entry", version=7, generation=cache.generation)
    >>> cache.lookup(("ns", "k"))
    'entry'
    >>> cache.refresh(lambda: 8)  # another process wrote: everything is dropped
    >>> cache.lookup(("ns", "k")) is None
    True
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["ReadCache", "cache_for"]

_CACHES: weakref.WeakKeyDictionary[Any, ReadCache] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


class ReadCache:
    """Entries by key, valid while the store's change counter is the one they were read at.

    Args:
        interval: Seconds between checks of the shared change counter (the staleness bound for
            other processes' writes).
        max_entries: Entries kept; the whole cache is dropped when it overflows (cheap, rare).
    """

    def __init__(self, interval: float = 0.05, max_entries: int = 100_000) -> None:
        self.interval = interval
        self.max_entries = max_entries
        self.version: int | None = None
        self.generation = 0
        self._checked = -1e18
        self._entries: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def refresh(self, read_version: Callable[[], int]) -> None:
        """Empty the cache if the shared counter moved; checks at most every ``interval``."""
        now = time.monotonic()
        if now - self._checked < self.interval:
            return
        version = read_version()
        with self._lock:
            if version != self.version:
                self._entries.clear()
                self.version = version
                self.generation += 1
            self._checked = now

    def lookup(self, key: Hashable) -> Any:
        """The cached entry, or ``None``."""
        return self._entries.get(key)

    def fill(self, key: Hashable, entry: Any, *, version: int, generation: int) -> None:
        """Cache ``entry`` read at ``version`` if no local write happened since ``generation``."""
        with self._lock:
            if generation != self.generation:
                return
            if version != self.version:
                self._entries.clear()
                self.version = version
                self.generation += 1
                return
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = entry

    def wrote(self, keys: list[Hashable], version_before: int | None, version_after: int) -> None:
        """After a local commit: drop ``keys``; keep the rest only if nobody else wrote since
        the last check (the counter moved by exactly this write)."""
        with self._lock:
            self.generation += 1
            if version_before is not None and version_before == self.version and version_after == self.version + 1:
                for key in keys:
                    self._entries.pop(key, None)
                self.version = version_after
            else:
                self._entries.clear()
                self.version = None
                self._checked = -1e18

    def clear(self) -> None:
        """Drop everything (the next get re-reads the counter)."""
        with self._lock:
            self._entries.clear()
            self.generation += 1
            self.version = None
            self._checked = -1e18


def cache_for(backend: Any, interval: float) -> ReadCache:
    """The cache shared by every store view on ``backend``."""
    with _REGISTRY_LOCK:
        cache = _CACHES.get(backend)
        if cache is None:
            cache = _CACHES[backend] = ReadCache(interval)
        cache.interval = min(cache.interval, interval)  # the strictest view sets the bound
        return cache
