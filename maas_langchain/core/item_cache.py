"""Coherent per-process caches of :class:`~maas_langchain.adapters.langgraph.store.MaaSStore` reads.

One :class:`Coherence` per backend object (every store view of one ``MaaS`` instance shares
it) stamps what a cache holds with ``(shared, local, epoch)``:

* ``local`` counts this process's store commits through the backend: every such write drops
  the keys it wrote before the call returns, and a fill that raced with it is dropped (a
  generation counter).
* ``shared`` is the database's ``kv_version`` counter. A process that caches registers itself
  in ``kv_readers``; a store write bumps the counter, in its own transaction, only while some
  *other* process is registered, so a process alone on its database (the usual deployment)
  writes without touching the counter's page. The cache compares the counter at most every
  ``interval`` seconds (default 0.05) and empties itself when it moved, so another process's
  write is seen by a cached get at most ``interval`` seconds after it commits.
  ``interval=0`` checks on every get.
* ``epoch`` moves when this process's registration lapsed (it lives 60 s, plus 30 s of grace
  for clock skew between hosts, and is renewed by a background thread once half of that is
  used, so reads never wait for the write lock): writers may have skipped the bump meanwhile,
  so everything cached before is dropped. A process that cannot register (a read-only role)
  reuses nothing: every read goes to the database.

Example:
    >>> cache = ReadCache(interval=0.0)
    >>> cache.refresh(lambda: (7, 0, 1))  # the stamp: shared counter, local writes, epoch
    >>> cache.fill(("ns", "k"), "entry", version=(7, 0, 1), generation=cache.generation)
    >>> cache.lookup(("ns", "k"))
    'entry'
    >>> cache.refresh(lambda: (8, 0, 1))  # another process wrote: everything is dropped
    >>> cache.lookup(("ns", "k")) is None
    True
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from maas_langchain.core.ports.state import StateBackend
from maas_langchain.errors import MaaSError

__all__ = ["Coherence", "ReadCache", "Stamp", "coherence_for", "release"]

Stamp = tuple[int, int, int]
"""``(shared kv_version, local store commits, registration epoch)``."""

_COHERENCE: weakref.WeakKeyDictionary[Any, Coherence] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()
_log = logging.getLogger(__name__)


class ReadCache:
    """Entries by key, valid while the store's stamp is the one they were read at.

    Args:
        interval: Seconds between checks of the shared change counter (the staleness bound for
            other processes' writes).
        max_entries: Entries kept; the whole cache is dropped when it overflows (cheap, rare).
    """

    def __init__(self, interval: float = 0.05, max_entries: int = 100_000) -> None:
        self.interval = interval
        self.max_entries = max_entries
        self.version: Hashable | None = None
        self.generation = 0
        self._checked = -1e18
        self._entries: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def refresh(self, read_version: Callable[[], Hashable]) -> None:
        """Empty the cache if the stamp moved; checks at most every ``interval``."""
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

    def fill(self, key: Hashable, entry: Any, *, version: Hashable, generation: int) -> None:
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

    def wrote(self, keys: Sequence[Hashable], before: Hashable, after: Hashable) -> None:
        """After a local commit: drop ``keys``; keep the rest only if the cache was at
        ``before`` (nothing else changed since the last check), and move it to ``after``."""
        with self._lock:
            self.generation += 1
            if self.version is not None and self.version == before:
                for key in keys:
                    self._entries.pop(key, None)
                self.version = after
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


class Coherence:
    """What keeps this process's store caches coherent on one backend (see the module doc).

    Args:
        backend: The MaaS backend.
        interval: Seconds between checks of the shared counter (the read cache's bound).
    """

    TTL = 60.0
    GRACE = 30.0
    RETRY = 5.0

    def __init__(self, backend: StateBackend, interval: float) -> None:
        self.backend = backend
        self.reader_id = uuid.uuid4().hex
        self.cache = ReadCache(interval)
        self.local = 0
        self.epoch = 0
        self.until = 0.0  # wall-clock expiry of this process's registration
        self._lock = threading.Lock()
        self._register_lock = threading.Lock()
        self._renewing = False
        self._retry_at = 0.0
        self._pid = os.getpid()

    def _own(self) -> None:
        """A forked child is another reader: new identity, nothing registered, nothing cached
        (and fresh locks: a parent thread may have held one at the fork)."""
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._lock, self._register_lock = threading.Lock(), threading.Lock()
        self.cache._lock = threading.Lock()
        self.reader_id = uuid.uuid4().hex
        self.until = self._retry_at = 0.0
        self._renewing = False
        self.epoch += 1
        self.cache.clear()

    def bump_args(self) -> tuple[str, float]:
        """What a writer in this process passes to ``kv_put``: its own reader id (its own
        cache learns of its writes directly) and the instant after which registrations count."""
        self._own()
        return self.reader_id, time.time() - self.GRACE

    def ensure_registered(self) -> None:
        """Keep this process registered as a caching reader.

        Past half its lifetime a registration is renewed by a background thread, so reads never
        wait for the write lock; one that is missing or lapsed is registered now (at the first
        read, or after a pause past its expiry), and the epoch moves: writers may have skipped
        the bump meanwhile. If registering fails (a read-only role, a lock held too long) this
        process reads without reusing anything until a retry succeeds."""
        self._own()
        now = time.time()
        if now < self.until - self.TTL / 2:
            return
        if now < self.until:
            self._renew_in_background()
            return
        if now < self._retry_at:
            self._forget()
            return
        try:
            self._register()
        except MaaSError as exc:
            if not self._retry_at:
                _log.warning("store read cache off: cannot register as a caching reader (%s)", exc.message)
            self._retry_at = time.time() + self.RETRY
            self._forget()

    def _register(self) -> None:
        with self._register_lock:
            now = time.time()
            if now < self.until - self.TTL / 2:
                return
            with self.backend.transaction(write=True) as tx:
                tx.kv_register_reader(self.reader_id, now + self.TTL, now - self.TTL - self.GRACE)
            lapsed = time.time() >= self.until
            with self._lock:
                self.until = now + self.TTL
                if lapsed:
                    self.epoch += 1
                    self.cache.clear()

    def _renew_in_background(self) -> None:
        with self._lock:
            if self._renewing:
                return
            self._renewing = True

        def renew() -> None:
            try:
                self._register()
            except MaaSError as exc:  # the next read past the expiry registers again, in line
                _log.info("store read cache: renewing the registration failed (%s)", exc.message)
            finally:
                self._renewing = False

        threading.Thread(target=renew, name="maas-store-cache-renew", daemon=True).start()

    def _forget(self) -> None:
        """Unregistered: a fresh epoch per read, so nothing read now is reused."""
        with self._lock:
            self.epoch += 1
            self.cache.clear()

    def before_read(self) -> tuple[int, int]:
        """``(local, epoch)`` to pair with the shared counter a read transaction then sees
        (taken before the transaction, so a concurrent local write makes the stamp older)."""
        self.ensure_registered()
        return self.local, self.epoch

    def read_stamp(self) -> Stamp:
        """The current stamp (the shared counter read in its own read transaction)."""
        local, epoch = self.before_read()
        with self.backend.transaction(write=False) as tx:
            return tx.kv_version(), local, epoch

    def committed(self, keys: Sequence[Hashable], bumped: int | None) -> None:
        """After a local store commit (``bumped``: the counter it moved to, or ``None``)."""
        with self._lock:
            current = self.cache.version
            shared = current[0] if isinstance(current, tuple) else -1
            before = (shared if bumped is None else bumped - 1, self.local, self.epoch)
            self.local += 1
            self.cache.wrote(keys, before, (shared if bumped is None else bumped, self.local, self.epoch))

    def changed(self) -> None:
        """After a local change of unknown extent (a TTL sweep): drop everything."""
        with self._lock:
            self.local += 1
            self.cache.clear()

    def release(self) -> None:
        """Remove this process's registration (the backend is closing)."""
        self._own()  # a forked child closing must not remove its parent's registration
        if not self.until:  # never registered, or released
            return
        try:
            with self.backend.transaction(write=True) as tx:
                tx.kv_unregister_reader(self.reader_id)
        except Exception:  # best effort: an unreleased registration just expires
            return
        self.until = 0.0


def coherence_for(backend: StateBackend, interval: float) -> Coherence:
    """The coherence state shared by every store view on ``backend`` in this process."""
    with _REGISTRY_LOCK:
        found = _COHERENCE.get(backend)
        if found is None:
            found = _COHERENCE[backend] = Coherence(backend, interval)
        found.cache.interval = min(found.cache.interval, interval)  # the strictest view sets the bound
        return found


def release(backend: StateBackend) -> None:
    """Unregister ``backend``'s caching reader, if any (called when ``MaaS`` closes)."""
    with _REGISTRY_LOCK:
        found = _COHERENCE.get(backend)
    if found is not None:
        found.release()
