"""The PostgreSQL backend's per-process listener and its read cache of agents, pools and memberships.

One daemon thread per process and schema holds a connection of its own that listens on two
channels:

* the **event channel**, notified by every sequencing pass that numbers events (payload: the
  newest sequence number), so that :meth:`PostgresBackend.wait_for_events` wakes at once. It is
  listened to only while this process follows the stream (a wait in the last
  :data:`EVENTS_IDLE` seconds): every pass notifies every listening process, and 16 writer
  processes that follow nothing spent ~5 % of their CPU waking for it. A first wait polls until
  the thread listens (within half a second);
* the **registry channel**, notified by triggers on ``agents``, ``pools`` and ``memberships``
  (migration ``0014_parallel_writers.sql``) for every row inserted, deleted or changed by any
  client on any host (payload: which row), so that :class:`RegistryCache` drops it.

The same thread may be the schema's *leader*: the one process at a time that holds the
session-level leader lock runs the sequencing passes (``postgres_chain.py``) every
:data:`LEADER_PERIOD` seconds while rows are pending; when it exits, its connection closes, the
lock is released, and another process's listener takes over within half a second.

The cache serves ``get_agent`` / ``get_pool`` / ``get_membership`` of *read* transactions;
write transactions always read the database, under their locks, so every access decision that
changes state is taken on committed rows. It is coherent within a process (a commit drops what
it wrote before the call returns, and a fill that raced with a drop is discarded: a generation
counter) and across processes and hosts within the time a notification takes to arrive (well
under a millisecond on one machine). The cache is used only while the listener has proven its
connection alive in the last :data:`LIVENESS` seconds (it runs ``SELECT 1`` every half
second); a listener that lost its connection empties the cache and every read goes to the
database until it is back, so a missed notification can never leave a stale entry.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import psycopg

__all__ = [
    "APPLICATION_NAME",
    "EVENTS_IDLE",
    "LEADER_PERIOD",
    "LIVENESS",
    "MISSING",
    "Listener",
    "RegistryCache",
    "registry_channel",
]

LEADER_PERIOD = 0.005
"""Seconds between the leader's looks for pending audit entries and events."""

EVENTS_IDLE = 60.0
"""Seconds after the last wait for events during which the listener keeps the event channel."""

LIVENESS = 1.5
"""Seconds after the listener's last successful round trip during which the cache is used."""

APPLICATION_NAME = "maas-listener"
"""``application_name`` of the listener's connection (visible in ``pg_stat_activity``)."""

logger = logging.getLogger(__name__)

MISSING = object()
"""What :meth:`RegistryCache.lookup` returns for a key it does not hold."""

_MAX_ENTRIES = 100_000

Key = tuple[str, ...]


def registry_channel(schema: str) -> str:
    """The channel the registry triggers notify for tables of ``schema`` (as the SQL computes it)."""
    return "maas_registry_" + hashlib.md5(schema.encode(), usedforsecurity=False).hexdigest()[:16]


class RegistryCache:
    """Agents, pools and memberships read by this process, keyed ``("a", id)``, ``("p", id)``,
    ``("m", pool_id, agent_id)``; ``None`` is cached too (a known absence)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[Key, object] = {}
        self.generation = 0
        self._live_until = 0.0
        self.hits = 0
        self.misses = 0

    def usable(self) -> bool:
        """True while the listener's connection is known to be alive."""
        return time.monotonic() < self._live_until

    def confirm(self) -> None:
        """The listener just completed a round trip: use the cache for :data:`LIVENESS` seconds."""
        self._live_until = time.monotonic() + LIVENESS

    def lost(self) -> None:
        """The listener lost (or is (re)opening) its connection: drop everything, stop serving."""
        with self._lock:
            self._live_until = 0.0
            self._data.clear()
            self.generation += 1

    def clear(self) -> None:
        """Forget everything (a commit of this process deleted an agent or a pool)."""
        with self._lock:
            self._data.clear()
            self.generation += 1

    def lookup(self, key: Key) -> object:
        """The cached value (possibly ``None``), or :data:`MISSING`."""
        value = self._data.get(key, MISSING)
        if value is MISSING:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def fill(self, key: Key, value: object, generation: int) -> None:
        """Keep ``value`` unless something was dropped since ``generation`` was read."""
        with self._lock:
            if generation == self.generation and self._live_until > time.monotonic():
                if len(self._data) >= _MAX_ENTRIES:
                    self._data.clear()
                self._data[key] = value

    def drop(self, keys: Iterable[Key]) -> None:
        """Forget ``keys`` (a commit of this process or a notification changed them)."""
        with self._lock:
            for key in keys:
                self._data.pop(key, None)
            self.generation += 1

    def drop_payload(self, payload: str) -> None:
        """Forget the row a trigger's notification names (``a:id``, ``p:id``, ``m:pool:agent``)."""
        kind, _, rest = payload.partition(":")
        if kind == "m":
            pool_id, _, agent_id = rest.partition(":")
            self.drop([("m", pool_id, agent_id)])
        elif kind in ("a", "p"):
            self.drop([(kind, rest)])
        else:  # unknown payload: be safe
            self.lost()
            self._live_until = time.monotonic() + LIVENESS


class Listener:
    """The per-process LISTEN thread (module docstring).

    Args:
        dsn: How to connect.
        events: The event channel.
        registry: The registry channel.
        cache: The cache fed by the registry channel.
        duty: What the thread runs every :data:`LEADER_PERIOD` seconds on its connection while it
            holds the session-level advisory lock ``leader_key`` (one process at a time does):
            the sequencing pass (``postgres_chain.py``).
        leader_key: The leader lock's key.
    """

    def __init__(
        self,
        dsn: str,
        events: str,
        registry: str,
        cache: RegistryCache,
        *,
        duty: Callable[[psycopg.Connection[Any]], None] | None = None,
        leader_key: int = 0,
    ) -> None:
        self._dsn, self._events, self._registry, self.cache = dsn, events, registry, cache
        self._duty, self._leader_key = duty, leader_key
        self.leader = False
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self.head = 0
        self.live = False
        self.events_live = False  # listening on the event channel, ``head`` read after the LISTEN
        self._wanted = float("-inf")  # monotonic time of the last wait
        self._waiting = 0  # threads in a wait now: the channel is kept however long they wait
        self.pid = os.getpid()
        threading.Thread(target=self._run, name="maas-postgres-listener", daemon=True).start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception:  # any failure: a listener that died silently would leave the cache trusted
                logger.debug("the PostgreSQL listener lost its connection", exc_info=True)
            self.cache.lost()
            self._saw(0, live=False, events=False)
            self._stop.wait(1.0)

    def _listen(self) -> None:
        with psycopg.connect(
            self._dsn,
            autocommit=True,
            application_name=APPLICATION_NAME,
            prepare_threshold=None,  # postgres_wire
        ) as conn:
            self.cache.lost()
            self.leader = False
            conn.execute(f'LISTEN "{self._registry}"')
            self._saw(0, live=True, events=False)
            self.cache.confirm()
            checked = 0.0
            while not self._stop.is_set():
                self._follow_events(conn)
                if self._duty is not None and not self.leader and time.monotonic() - checked > 0.5:
                    checked = time.monotonic()
                    got = conn.execute("SELECT pg_try_advisory_lock(%s)", (self._leader_key,)).fetchone()
                    self.leader = bool(got and got[0])  # held until this connection closes
                for note in conn.notifies(timeout=LEADER_PERIOD if self.leader else 0.5):
                    if note.channel == self._registry:
                        self.cache.drop_payload(note.payload)
                    else:
                        self._saw(int(note.payload))
                if self.leader and self._duty is not None:
                    self._duty(conn)  # its round trips prove the connection alive too
                else:
                    conn.execute("SELECT 1")  # proves the connection alive (notifications arrive in order)
                self.cache.confirm()

    def _follow_events(self, conn: psycopg.Connection[Any]) -> None:
        """Listen on the event channel while a wait was recent, and stop when none was."""
        wanted = self._waiting > 0 or time.monotonic() - self._wanted < EVENTS_IDLE
        if wanted and not self.events_live:
            conn.execute(f'LISTEN "{self._events}"')  # before the read: no event falls in between
            row = conn.execute("SELECT value FROM counters WHERE name = 'events'").fetchone()
            self._saw(int(row[0]) if row else 0, events=True)
        elif self.events_live and not wanted:
            self._saw(0, events=False)
            conn.execute(f'UNLISTEN "{self._events}"')

    def _saw(self, seq: int, *, live: bool | None = None, events: bool | None = None) -> None:
        with self._cond:
            self.head = max(self.head, seq)
            if live is not None:
                self.live = live
            if events is not None:
                self.events_live = events
            self._cond.notify_all()

    def wait(self, after_seq: int, timeout: float) -> bool:
        """Wait until an event after ``after_seq`` is notified; False if not listening to the
        event channel yet (the thread starts to, within half a second: module docstring)."""
        with self._cond:
            self._wanted = time.monotonic()
            if not (self.live and self.events_live):
                return False
            if self.head <= after_seq:
                self._waiting += 1
                try:
                    self._cond.wait(timeout)
                finally:
                    self._waiting -= 1
            return True

    def stop(self) -> None:
        """Let the thread end (within half a second); the cache stops serving."""
        self._stop.set()
        self.cache.lost()
