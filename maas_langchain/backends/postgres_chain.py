"""The sequencing pass: pending audit entries into the chain, pending events into the stream.

A PostgreSQL write transaction does not touch the audit head or the event counter: it inserts
its audit entries into ``audit_pending`` (each with a nonce and a MAC under the audit key) and
its events into ``events_pending``, and commits. Passes chain them (:func:`sequence`):

1. one pipelined round trip: ``BEGIN``, the sequencer's advisory lock, the pending entries, the
   chain head, and one statement that moves every pending event into ``events`` numbered from
   the ``events`` counter row (and notifies listeners);
2. the entries whose MAC checks out are hashed onto the chain here, in pending order;
3. one pipelined round trip: the entries inserted by one multi-row ``INSERT`` (per 500), the head
   moved once (migration 0016's guards allow exactly that), the chained pending rows deleted,
   ``COMMIT``.

Who runs passes: one *leader* process at a time (its listener thread holds a session-level
advisory lock and looks for pending rows every few milliseconds), so writers never wait for a
pass, nor hold anything across their own commit that another writer needs; and a read
transaction that reads the audit log or the stream while its process still owes a pass
(:class:`Sequencer`) runs one first, so a process always reads its own writes. One pass takes every entry
and event committed before it, so under load one pass (one disk flush) serves many writers. The
audit log stays one gap-free chain; the pass holds its lock until its commit is visible, so
sequence numbers follow the order of the passes' commits, and an event or entry becomes visible
to other processes within one pass of its commit (milliseconds).

A pending row whose MAC fails (written without the key) or whose nonce is already in the log (a
replay) is left where it is, never chained; :func:`refused_pending` counts them, and the audit
guards report them. A process that dies before its pass leaves its entries pending: the next pass of any process
chains them (a pass also runs when an instance opens, and when it closes).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

import psycopg

from maas_langchain.backends import postgres_wire as wire
from maas_langchain.backends.sql_codec import AUDIT_COLUMNS, audit_params
from maas_langchain.core.enums import AuditEventType
from maas_langchain.core.records import AuditEvent

__all__ = [
    "PENDING_EXISTS",
    "Hasher",
    "Pass",
    "Sequencer",
    "leader_duty",
    "mac_of",
    "pending_event",
    "refused_pending",
    "sequence",
]

PENDING_EXISTS = "SELECT EXISTS (SELECT 1 FROM events_pending) OR EXISTS (SELECT 1 FROM audit_pending)"
"""One cheap statement: is there anything for a pass to do?"""

logger = logging.getLogger(__name__)

Hasher = Callable[[AuditEvent], str]
"""The chain hash of a complete entry (bound by the runtime that holds the audit key)."""

_BATCH = 5_000
_PENDING = (
    "SELECT id, nonce, mac, timestamp, event_type, action, actor, target, outcome, reason, details "
    "FROM audit_pending p WHERE NOT EXISTS (SELECT 1 FROM audit_log l WHERE l.nonce = p.nonce) "
    f"ORDER BY id LIMIT {_BATCH}"
)
_MOVE_EVENTS = (
    f"WITH moved AS (DELETE FROM events_pending WHERE id IN (SELECT id FROM events_pending ORDER BY id LIMIT {_BATCH}) "
    "RETURNING id, kind, timestamp, pool_id, data), "
    "n AS (SELECT count(*) AS k FROM moved), "
    "c AS (UPDATE counters SET value = value + (SELECT k FROM n) WHERE name = 'events' "
    "AND EXISTS (SELECT 1 FROM moved) RETURNING value), "
    "ins AS (INSERT INTO events (seq, kind, timestamp, pool_id, data) "
    "SELECT c.value - (SELECT k FROM n) + row_number() OVER (ORDER BY m.id), m.kind, m.timestamp, m.pool_id, m.data "
    "FROM moved m, c) "
    "SELECT pg_notify(%s, c.value::text) FROM c"
)
_INSERT = f"INSERT INTO audit_log ({AUDIT_COLUMNS}, nonce) VALUES "
_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
_ROWS = 500
"""Entries per ``INSERT`` of a pass (12 parameters each, far below the protocol's 65,535)."""


def pending_event(row: tuple[Any, ...], seq: int, prev: str) -> AuditEvent:
    """The entry a pending row becomes at ``seq`` after ``prev`` (its hash still to compute)."""
    return AuditEvent(
        seq=seq,
        timestamp=float(row[3]),
        event_type=AuditEventType.parse(row[4]),
        action=row[5],
        actor=row[6],
        target=row[7],
        outcome=row[8],
        reason=row[9],
        details=_load(row[10]),
        prev_hash=prev,
        hash="",
    )


def _load(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def mac_of(event: AuditEvent, nonce: str, hasher: Hasher) -> str:
    """The MAC a pending entry carries: the chain hash at sequence 0 after ``nonce``."""
    return hasher(_with(event, seq=0, prev=nonce))


def _with(event: AuditEvent, *, seq: int, prev: str) -> AuditEvent:
    return dataclasses.replace(event, seq=seq, prev_hash=prev, hash="")


class Pass:
    """One sequencing pass on ``conn`` (module docstring), in two round trips
    (``postgres_wire.batch``): :meth:`queue` sends its first half, :meth:`finish` chains what it
    read and sends the second half.

    Without a ``hasher`` (no runtime bound yet) only events move; entries wait for a pass that
    has the key. ``settings`` are ``set_config`` calls run with the lock (its wait timeout).
    """

    def __init__(
        self, conn: psycopg.Connection[Any], *, lock_key: int, channel: str, hasher: Hasher | None, settings: str
    ) -> None:
        self._conn, self._key, self._channel, self._hasher, self._settings = conn, lock_key, channel, hasher, settings
        self._entries: list[Any] = []
        self._head: Any = None

    def try_lock(self) -> bool:
        """Begin and try the lock without waiting (one round trip); False (and rolled back) if
        another pass holds it, which will take, or has taken, what is pending."""
        statements = [(wire.BEGIN_WRITE, ()), ("SELECT pg_try_advisory_xact_lock(%s)", (self._key,))]
        row = wire.batch(self._conn, statements)[1].fetchone()
        if row is not None and row[0]:
            return True
        wire.one(self._conn, "ROLLBACK")
        return False

    def queue(self, *, locked: bool = False) -> None:
        """Send ``BEGIN`` and the lock (unless :meth:`try_lock` took it), the event move and the
        reads, in one round trip."""
        statements: list[tuple[str, tuple[Any, ...]]] = []
        if not locked:
            statements += [(wire.BEGIN_WRITE, ()), (f"SELECT {self._settings}pg_advisory_xact_lock(%s)", (self._key,))]
        statements.append((_MOVE_EVENTS, (self._channel,)))
        if self._hasher is not None:
            statements += [(_PENDING, ()), ("SELECT seq, hash FROM audit_head WHERE id = 1", ())]
        results = wire.batch(self._conn, statements)
        if self._hasher is not None:
            self._entries, self._head = results[-2].fetchall(), results[-1].fetchone()

    def finish(self) -> int:
        """Chain what :meth:`queue` read and commit; return how many entries were chained."""
        conn, hasher, rows = self._conn, self._hasher, self._entries
        if not rows or hasher is None:
            wire.one(conn, "COMMIT")
            return 0
        head = self._head
        assert head is not None  # the head row is seeded by the first migration and never deleted
        seq, prev = int(head[0]), str(head[1])
        chained: list[tuple[int, AuditEvent, str, str]] = []
        done: list[int] = []
        for row in rows:
            event = pending_event(row, 0, row[1])
            if hasher(event) != row[2]:
                continue  # not written with the key: never chained (refused_pending reports it)
            seq += 1
            linked = _with(event, seq=seq, prev=prev)
            prev = hasher(linked)
            chained.append((seq, linked, prev, row[1]))
            done.append(int(row[0]))
        statements: list[tuple[str, Any]] = []
        for start in range(0, len(chained), _ROWS):  # one INSERT per chunk, the head moved once
            part = chained[start : start + _ROWS]
            params = [v for _, e, h, nonce in part for v in (*audit_params(dataclasses.replace(e, hash=h)), nonce)]
            statements.append((_INSERT + ", ".join([_ROW] * len(part)), params))
        if chained:
            last_seq, _, last_hash, _ = chained[-1]
            statements.append(("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (last_seq, last_hash)))
        if done:
            statements.append(("DELETE FROM audit_pending WHERE id = ANY(%s)", (done,)))
        statements.append(("COMMIT", ()))
        wire.batch(conn, statements)
        return len(chained)


def sequence(conn: psycopg.Connection[Any], *, wait: bool = True, **options: Any) -> int | None:
    """Run one whole pass on ``conn`` (idle, autocommit); see :class:`Pass` for ``options``.
    With ``wait=False``, return ``None`` at once if another pass holds the lock."""
    run = Pass(conn, **options)
    locked = not wait and run.try_lock()
    if not wait and not locked:
        return None
    run.queue(locked=locked)
    return run.finish()


class Sequencer:
    """What one process owes: every commit that left entries or events pending calls :meth:`poke`,
    and :meth:`settle` runs a (waiting) pass when one is owed, so a process reads its own writes.
    The passes that chain everyone's entries soon after their commits are run by one process at
    a time, the *leader*: whichever process's listener thread holds the session-level leader
    lock (``postgres_cache.Listener``), checking every few milliseconds for pending rows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._asked = 0
        self._done = 0
        self.pid = os.getpid()

    def poke(self) -> None:
        """A commit left entries or events pending: a pass is owed."""
        with self._lock:
            self._asked += 1

    def behind(self) -> bool:
        """True while a commit of this process may still have entries or events pending."""
        return self._done < self._asked

    def settle(self, run: Callable[[], object]) -> None:
        """Run a pass with ``run`` now if one is owed (a reader's own writes become readable)."""
        target = self._asked
        if self._done >= target:
            return
        run()
        with self._lock:
            self._done = max(self._done, target)


def leader_duty(backend: weakref.ref[Any], conn: psycopg.Connection[Any]) -> None:
    """The leader listener's duty: the backend's ``leader_pass`` on ``conn``. Only a weak
    reference is held, so a backend dropped without ``close()`` is still collected."""
    found = backend()
    if found is not None and not found.closed:
        found.leader_pass(conn)


def refused_pending(cursor: Any, hasher: Hasher | None) -> int:
    """Pending entries no pass will chain: a MAC that fails under ``hasher`` (written without the
    key) or a nonce already in the log (a replay). A sign of tampering; an entry a writer has just
    committed is neither."""
    rows = cursor.execute(
        "SELECT id, nonce, mac, timestamp, event_type, action, actor, target, outcome, reason, details, "
        "EXISTS (SELECT 1 FROM audit_log l WHERE l.nonce = p.nonce) FROM audit_pending p ORDER BY id LIMIT 10000"
    ).fetchall()
    return sum(1 for row in rows if row[11] or (hasher is not None and hasher(pending_event(row, 0, row[1])) != row[2]))
