"""The storage contract every state backend implements.

A backend hands out transactions; a :class:`StateTx` is a small set of record operations that
the core services compose, so each service call is one atomic unit (the check, the write and
its audit entry commit together or not at all). Policy is *not* here: the services decide, the
backend stores. The only policy-shaped input is :class:`~maas_langchain.core.access.AudienceFilter`,
which a backend translates into its own query language so filtering happens in storage.

Implementations: ``backends.memory``, ``backends.sqlite`` (default), ``backends.postgres``; a
new one implements these two classes and passes the tests run on every ``tests/conftest.py`` backend.

Example:
    >>> from maas_langchain.backends.memory import MemoryBackend
    >>> backend = MemoryBackend()
    >>> with backend.transaction(write=False) as tx:
    ...     tx.count_agents()
    0
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from maas_langchain.core.enums import AuditEventType, EventKind, HandoffStatus, MemoryStatus
from maas_langchain.core.ports.entities import EntityOps
from maas_langchain.core.ports.filters import AudienceFilter, ScopeFilter
from maas_langchain.core.ports.idempotency import IdempotencyOps
from maas_langchain.core.ports.keys import KeyOps
from maas_langchain.core.ports.kv import KVOps, KVPut
from maas_langchain.core.ports.memory_counts import MemoryCountOps
from maas_langchain.core.ports.threads import ThreadOps
from maas_langchain.core.records import (
    Agent,
    AuditEvent,
    Handoff,
    MaaSEvent,
    Membership,
    Memory,
    MemorySession,
    Pool,
    SharedMemory,
)
from maas_langchain.errors import ConflictError

__all__ = ["GENESIS_HASH", "AuditQuery", "NewMemory", "StateBackend", "StateTx", "StoredMemory"]


GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first audit entry (the chain's anchor in every backend)."""


@dataclass(frozen=True)
class NewMemory:
    """What :meth:`StateTx.insert_memory` stores beside the record.

    Attributes:
        memory: The record.
        vector: The embedding as little-endian float32 bytes (``None`` when not embedded).
        search_text: The text the full-text index sees.
        scope_key: Canonical form of ``memory.scope`` (``None`` for a pool-only memory).
        scope_prefixes: Canonical forms of the prefixes of the scope in hierarchy order (itself included).
        prev_id: The memory written just before in the same session.
        dirty: True when the vector index must still be told about it.
    """

    memory: Memory
    vector: bytes | None
    search_text: str
    scope_key: str | None
    scope_prefixes: Sequence[str]
    prev_id: str | None
    dirty: bool


@dataclass(frozen=True)
class StoredMemory:
    """A memory as read back for ranking and indexing."""

    memory: Memory
    vector: bytes | None
    prev_id: str | None


@dataclass(frozen=True)
class AuditQuery:
    """Filters for reading the audit log; ``None`` means "any"."""

    event_type: AuditEventType | None = None
    actor: str | None = None
    target: str | None = None
    outcome: str | None = None
    action: str | None = None
    since: float | None = None
    until: float | None = None
    after_seq: int = 0
    actors: tuple[str, ...] | None = None
    """Only entries whose actor is one of these (``()`` matches nothing): one tenant's view."""
    limit: int = 1_000
    newest_first: bool = False


class StateTx(KVOps, ThreadOps, KeyOps, EntityOps, IdempotencyOps, MemoryCountOps, abc.ABC):
    """One transaction: reads see a consistent snapshot; writes commit together. A write returning
    nothing may be sent later (with the next statement or the commit), its failure surfacing there."""

    # --- contention -------------------------------------------------------------------
    def claim(self, *resources: tuple[str, str], shared: bool = False) -> None:
        """Declare, as the first call of a write transaction, the only resources its
        read-check-write sequences contend on (``("pool", pool_id)``, ``("handoff", id)``);
        none at all for a read that only appends its audit entry.

        A backend that runs writers in parallel (PostgreSQL) then serialises this transaction
        only against others claiming one of the same resources and against unclaimed writers,
        which stay exclusive; ``shared`` claims run beside each other (their writes check what
        they decided on) and an exclusive claim waits for them. A backend that serialises every
        writer (SQLite, memory) ignores claims. A claim after the transaction's first statement
        changes nothing: it already runs exclusively. Whatever the claim, the audit chain and
        the event sequence stay in commit order (:meth:`chain_audit`, :meth:`append_event`).
        """

    def prefetch(self, *reads: Callable[[], object]) -> None:
        """Hint, right after :meth:`claim`: the transaction is about to make these reads (each a
        call of this transaction's own getters, ``lambda: tx.get_pool(pid)``), before any write.

        A networked backend (PostgreSQL) may send their queries together with the transaction's
        begin and locks, in one round trip, and answer the reads from that batch when the caller
        makes them; the first write drops what was not yet used. Nothing else changes: the reads
        still happen, in the caller's order, with the same results a read at that point would
        see under the transaction's locks. The default does nothing.
        """
        del reads

    def chain_audit(self, build: Callable[[int, str], AuditEvent]) -> None:
        """Append the entry ``build(head_seq, head_hash)`` returns, right after the chain head.

        A backend may call ``build`` only at commit, under the chain's lock, so that a writer
        holds the chain for the shortest time; ``build`` must therefore depend on nothing but its
        arguments and what it captured.
        """
        seq, prev = self.lock_audit_head()
        self.append_audit(build(seq, prev))

    # --- agents -----------------------------------------------------------------------
    @abc.abstractmethod
    def get_agent(self, agent_id: str) -> Agent | None: ...

    @abc.abstractmethod
    def insert_agent(self, agent: Agent) -> None: ...

    @abc.abstractmethod
    def set_agent_active(self, agent_id: str, active: bool) -> bool: ...

    @abc.abstractmethod
    def delete_agent(self, agent_id: str) -> bool:
        """Delete the agent and its memberships."""

    @abc.abstractmethod
    def list_agents(self, owner_id: str | None = None) -> list[Agent]: ...

    @abc.abstractmethod
    def count_agents(self) -> int: ...

    # --- pools and memberships --------------------------------------------------------
    @abc.abstractmethod
    def get_pool(self, pool_id: str) -> Pool | None: ...

    @abc.abstractmethod
    def insert_pool(self, pool: Pool) -> None: ...

    @abc.abstractmethod
    def set_pool_status(self, pool: Pool) -> None:
        """Store ``pool.status`` for ``pool.pool_id``."""

    @abc.abstractmethod
    def delete_pool(self, pool_id: str) -> bool:
        """Delete the pool with its memberships and shares."""

    @abc.abstractmethod
    def list_pools(self, owner_id: str | None = None, member_id: str | None = None) -> list[Pool]: ...

    @abc.abstractmethod
    def count_pools(self) -> int: ...

    @abc.abstractmethod
    def get_membership(self, pool_id: str, agent_id: str) -> Membership | None: ...

    @abc.abstractmethod
    def upsert_membership(self, membership: Membership) -> None: ...

    @abc.abstractmethod
    def delete_membership(self, pool_id: str, agent_id: str) -> bool: ...

    @abc.abstractmethod
    def list_members(self, pool_id: str) -> list[Membership]: ...

    @abc.abstractmethod
    def count_members(self, pool_id: str) -> int: ...

    # --- shared memories --------------------------------------------------------------
    @abc.abstractmethod
    def get_share(self, pool_id: str, memory_id: str) -> SharedMemory | None: ...

    @abc.abstractmethod
    def upsert_share(self, share: SharedMemory, limit: int | None = None) -> None:
        """Insert or replace the share of ``memory_id`` in its pool, as its newest (seq). Where one
        pool's writers run in parallel the write checks that a new share keeps the pool under ``limit``
        and a replaced one is its author's, else the transaction fails (``ConcurrentWriteError``)."""

    @abc.abstractmethod
    def delete_share(self, pool_id: str, memory_id: str) -> bool: ...

    @abc.abstractmethod
    def count_shares(self, pool_id: str) -> int: ...

    @abc.abstractmethod
    def query_shares(self, pool_id: str, audience: AudienceFilter, limit: int, offset: int = 0) -> list[SharedMemory]:
        """Shares of ``pool_id`` that ``audience`` admits, newest first."""

    @abc.abstractmethod
    def shares_by_memory_ids(self, memory_ids: Sequence[str]) -> list[SharedMemory]:
        """Every share, in any pool, of the given memory ids."""

    # --- memories ---------------------------------------------------------------------
    @abc.abstractmethod
    def insert_memory(self, new: NewMemory) -> Memory:
        """Store a new memory; return it with its sequence number."""

    @abc.abstractmethod
    def get_memories(self, memory_ids: Sequence[str], *, scope: ScopeFilter | None = None) -> list[StoredMemory]:
        """The given memories (any status), restricted to ``scope`` if given, in no order."""

    @abc.abstractmethod
    def set_memory_status(
        self, memory_id: str, status: MemoryStatus, *, valid_to: float | None, superseded_by: str | None = None
    ) -> bool:
        """Change a memory's status (marking it dirty for the index); False if unknown."""

    @abc.abstractmethod
    def lexical_search(self, terms: Sequence[str], scope: ScopeFilter, limit: int) -> list[tuple[str, float]]:
        """Full-text search over current ACTIVE memories in ``scope``: ``(memory_id, score)``,
        best first. Any term may match; scores are only comparable within one call."""

    @abc.abstractmethod
    def list_memories(
        self,
        *,
        scope: ScopeFilter | None = None,
        statuses: Sequence[MemoryStatus] | None = None,
        after_seq: int = 0,
        limit: int = 1_000,
        with_vectors: bool = False,
        newest_first: bool = False,
    ) -> list[StoredMemory]:
        """Memories after ``after_seq`` matching the filters, in sequence order (the newest
        first with ``newest_first``)."""

    @abc.abstractmethod
    def scoped_memory_ids(self, scope: ScopeFilter, limit: int) -> list[str]:
        """Ids of up to ``limit`` current ACTIVE memories in ``scope``, in no particular order."""

    @abc.abstractmethod
    def in_scope(self, memory_ids: Sequence[str], scope: ScopeFilter) -> list[str]:
        """Those of ``memory_ids`` that are current ACTIVE memories in ``scope``."""

    @abc.abstractmethod
    def memory_vectors(self, memory_ids: Sequence[str]) -> dict[str, bytes]:
        """The stored vectors of the given memories (those that have one)."""

    @abc.abstractmethod
    def memory_generation(self) -> int:
        """A counter that every memory insert and status change increases (for read caches)."""

    @abc.abstractmethod
    def count_scoped_memories(self, scope: ScopeFilter, limit: int) -> int:
        """An upper bound on the memories visible in ``scope``, counted up to ``limit``, from the
        scope indexes alone (any status; a memory at exactly the query scope may count twice)."""

    @abc.abstractmethod
    def count_memories(self) -> int:
        """Memories stored, in any status."""

    @abc.abstractmethod
    def counter(self, name: str) -> int:
        """The value of a named quota counter (``0`` if it was never bumped)."""

    @abc.abstractmethod
    def bump_counter(self, name: str, delta: int) -> None:
        """Add ``delta`` to a named quota counter in this transaction (creating it at 0)."""

    @abc.abstractmethod
    def dirty_memories(self, limit: int) -> list[StoredMemory]:
        """Memories whose index entry is out of date (with vectors), oldest first."""

    @abc.abstractmethod
    def mark_indexed(self, memory_ids: Sequence[str]) -> None:
        """Clear the dirty flag of the given memories."""

    @abc.abstractmethod
    def mark_all_dirty(self) -> int:
        """Mark every memory dirty (before a rebuild of the index); return how many."""

    @abc.abstractmethod
    def memory_by_digest(self, digest: str) -> str | None:
        """The memory id stored under a content digest (:mod:`~maas_langchain.core.memory_dedup`)."""

    @abc.abstractmethod
    def set_memory_digest(self, digest: str, memory_id: str) -> None:
        """Store (or replace) the memory id of a content digest."""

    @abc.abstractmethod
    def get_setting(self, name: str) -> str | None: ...

    @abc.abstractmethod
    def set_setting(self, name: str, value: str) -> None: ...

    # --- sessions ---------------------------------------------------------------------
    @abc.abstractmethod
    def insert_session(self, session: MemorySession) -> None: ...

    @abc.abstractmethod
    def get_session(self, session_id: str) -> MemorySession | None: ...

    @abc.abstractmethod
    def close_session(self, session_id: str, closed_at: float) -> bool:
        """Close an open session; False if unknown or already closed."""

    @abc.abstractmethod
    def set_session_last_memory(self, session_id: str, memory_id: str) -> None: ...

    @abc.abstractmethod
    def count_open_sessions(self) -> int: ...

    # --- handoffs ---------------------------------------------------------------------
    @abc.abstractmethod
    def get_handoff(self, handoff_id: str) -> Handoff | None: ...

    @abc.abstractmethod
    def insert_handoff(self, handoff: Handoff) -> None: ...

    @abc.abstractmethod
    def transition_handoff(self, handoff_id: str, expected: Iterable[HandoffStatus], new: Handoff) -> bool:
        """Compare-and-set: store ``new`` only if the current status is in ``expected``."""

    def move_handoff(self, handoff_id: str, expected: Iterable[HandoffStatus], new: Handoff) -> None:
        """:meth:`transition_handoff` that must hold, else the transaction fails (``ConflictError``)."""
        if not self.transition_handoff(handoff_id, expected, new):
            raise ConflictError(f"handoff {handoff_id} changed state concurrently", handoff_id=handoff_id)

    @abc.abstractmethod
    def list_handoffs(
        self,
        *,
        target_id: str | None = None,
        source_id: str | None = None,
        statuses: Iterable[HandoffStatus] | None = None,
        expires_before: float | None = None,
        limit: int | None = None,
    ) -> list[Handoff]:
        """Handoffs matching every given filter, oldest first."""

    @abc.abstractmethod
    def count_handoffs(self, *, target_id: str | None = None, status: HandoffStatus | None = None) -> int: ...

    @abc.abstractmethod
    def delete_handoffs(self, statuses: Iterable[HandoffStatus], finished_before: float) -> int:
        """Delete handoffs in ``statuses`` finished before the given time; return how many."""

    # --- audit ------------------------------------------------------------------------
    @abc.abstractmethod
    def lock_audit_head(self) -> tuple[int, str]:
        """Return ``(seq, hash)`` of the newest entry, holding the chain until commit."""

    @abc.abstractmethod
    def append_audit(self, event: AuditEvent) -> None:
        """Append ``event`` and move the chain head to it."""

    @abc.abstractmethod
    def query_audit(self, query: AuditQuery) -> list[AuditEvent]: ...

    @abc.abstractmethod
    def count_audit(self) -> int: ...

    @abc.abstractmethod
    def audit_keying(self) -> tuple[int, str | None]:
        """Return ``(keyed_from, seal)``: the first sequence number hashed with the audit key
        (entries before it are legacy SHA-256) and the key's MAC of that boundary, if sealed."""

    @abc.abstractmethod
    def seal_audit(self, seal: str) -> bool:
        """Store the boundary's seal if none is stored yet; True if this call stored it. A
        stored seal never changes (the SQL schemas refuse it)."""

    @abc.abstractmethod
    def audit_guards(self) -> list[str]:
        """The storage-level protections of the audit tables (append-only log, forward-only head,
        seal-once boundary) that are missing, disabled or altered, one sentence each; ``[]``
        when all are in place (or, in memory, when there is nothing outside the port to bypass)."""

    # --- events -----------------------------------------------------------------------
    @abc.abstractmethod
    def append_event(self, kind: EventKind, timestamp: float, pool_id: str | None, data: dict[str, Any]) -> int:
        """Append an event; its sequence number is taken under a lock held until commit, so
        sequence order is commit order. Return the sequence number, or 0 when the backend numbers
        events at commit (PostgreSQL, to hold that lock only for the commit itself)."""

    @abc.abstractmethod
    def read_events(self, after_seq: int, pool_id: str | None, limit: int) -> list[MaaSEvent]:
        """Events with ``seq > after_seq`` (of ``pool_id`` if given), in sequence order."""

    @abc.abstractmethod
    def event_head(self) -> int:
        """Sequence number of the newest event ever appended (0 if none)."""

    @abc.abstractmethod
    def delete_events(self, before: float) -> int:
        """Delete events older than ``before``; return how many."""


class StateBackend(abc.ABC):
    """A durable (or in-memory) home for MaaS state.

    Attributes:
        name: Short name of the technology (``"memory"``, ``"sqlite"``, ``"postgres"``).
        location: Where the data lives, for people (a path, a URL without password).
        fresh_audit_boundary: See below.
    """

    name: str = "abstract"
    location: str = ""
    fresh_audit_boundary: bool = False
    """True when opening this backend created the audit chain's keyed boundary (a new store, or
    the upgrade of one whose entries were written before audit keys): the first open with a key
    may seal it. An unsealed boundary found later is left for an operator (``maas audit seal``),
    since a rewritten log could pose as a legacy one."""

    @abc.abstractmethod
    def transaction(self, *, write: bool) -> AbstractContextManager[StateTx]:
        """Open a transaction; it commits on normal exit and rolls back on an exception.

        Write transactions are serialised against other writers (other threads and other
        processes), so read-check-write sequences inside one are atomic; a transaction that
        claims its resources (:meth:`StateTx.claim`) is serialised only against writers of the
        same resources where the backend can run writers in parallel.

        Raises:
            BackendUnavailableError: The store could not be reached or stayed busy.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections. Idempotent."""

    def kv_put_alone(
        self,
        puts: Sequence[KVPut],
        ns_ids: Mapping[str, int],
        now: float,
        *,
        exclude_reader: str | None = None,
        live_after: float = 0.0,
    ) -> int | None:
        """Upsert store values (no deletes, no vectors; every namespace's id in ``ns_ids``) as a write
        transaction of their own (joining one open on this thread); return the ``kv_version`` the counter
        moved to, ``None`` when no other caching reader was registered. The default runs
        :meth:`StateTx.kv_put` in a transaction; PostgreSQL sends one statement."""
        with self.transaction(write=True) as tx:
            return tx.kv_put(puts, now, ns_ids, exclude_reader=exclude_reader, live_after=live_after)[1]

    def bind_audit_hasher(self, hasher: Callable[[AuditEvent], str]) -> None:
        """Hand the backend the keyed chain hash of a complete entry, for backends that chain
        audit entries after the writer's commit (PostgreSQL); the others ignore it."""
        del hasher  # this backend chains every entry inside its writer's transaction

    def wait_for_events(self, after_seq: int, timeout: float) -> None:
        """Block until an event after ``after_seq`` may have been committed, or ``timeout``. The
        default polls (sleeps briefly); backends with a notification channel override it."""
        time.sleep(min(max(timeout, 0.0), self.event_poll_interval))

    event_poll_interval: float = 0.02

    def info(self) -> dict[str, Any]:
        """Facts for ``maas status``: backend name, location, settings."""
        return {"backend": self.name, "location": self.location}

    def check_integrity(self) -> list[str] | None:
        """Check that the stored data is undamaged (``maas status``): the problems found, ``[]``
        when it is sound, ``None`` when this backend has no such check (the default; SQLite runs
        ``PRAGMA quick_check``)."""
        return None


def iter_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Yield ``items`` in slices of ``size`` (SQL parameter limits)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
