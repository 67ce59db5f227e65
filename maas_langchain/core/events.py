"""Event streaming: typed events of every change, delivered to other processes.

Each change writes its event in the same transaction as the change (an outbox), numbered by a
counter row that every writer locks, so sequence order is commit order on every backend. A
subscriber follows the sequence from where it left off — at-least-once delivery, resumable with
``after_seq`` after a disconnect — and the backend decides how it waits: a condition variable in
memory, short polls on SQLite, LISTEN/NOTIFY on PostgreSQL. A subscriber bound to an agent only
sees what that agent may see (``policy.can_see_event``), re-checked for every event. Free text in
an event's data (a handoff's reason) is redacted on delivery, like every other read.

Example:
    >>> from maas_langchain import MaaS, AgentType
    >>> maas = MaaS.open(":memory:")
    >>> sub = maas.events.subscribe(after_seq=0)
    >>> _ = maas.agents.register_agent(AgentType.HUMAN, owner_id="u1")
    >>> [e.kind.value for e in sub.poll(timeout=1)]
    ['agent.registered']
    >>> sub.close(); maas.close()
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator, Mapping

from maas_langchain.core.access import can_see_event
from maas_langchain.core.enums import EventKind
from maas_langchain.core.ports.state import StateTx
from maas_langchain.core.records import MaaSEvent
from maas_langchain.core.redaction import redact_value
from maas_langchain.core.runtime import Runtime
from maas_langchain.core.scopes import ScopeHierarchy
from maas_langchain.core.validation import check_id, check_non_negative, check_seq

__all__ = ["EventService", "Subscription"]

_BATCH = 500


class Subscription:
    """A cursor over the event stream; iterate it (sync or async) or :meth:`poll` it.

    Attributes:
        last_seq: Sequence number of the last event delivered (resume with ``after_seq``).
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        after_seq: int,
        pool_id: str | None,
        agent_id: str | None,
        kinds: frozenset[EventKind] | None,
        hierarchy: ScopeHierarchy | None = None,
        floor: Mapping[str, str] | None = None,
    ) -> None:
        self._rt = runtime
        self._hierarchy = hierarchy
        self._floor = None if floor is None else dict(floor)
        self.last_seq = after_seq
        self._pool_id = pool_id
        self._agent_id = agent_id
        self._kinds = kinds
        self._buffer: list[MaaSEvent] = []
        self._closed = False

    def _visible(self, tx: StateTx, event: MaaSEvent) -> bool:
        if self._kinds is not None and event.kind not in self._kinds:
            return False
        if self._agent_id is None:
            return True
        return can_see_event(tx, self._agent_id, event, self._hierarchy, self._floor)

    def _fetch(self) -> list[MaaSEvent]:
        def op(tx: StateTx) -> list[MaaSEvent]:
            head = tx.event_head()  # same snapshot as the read below
            batch = tx.read_events(self.last_seq, self._pool_id, _BATCH)
            # a full batch may have more behind it; otherwise everything up to head was seen,
            # including other pools' events a pool filter skipped (so the next wait really waits)
            self.last_seq = batch[-1].seq if len(batch) == _BATCH else max(self.last_seq, head)
            return [dataclasses.replace(e, data=redact_value(e.data)) for e in batch if self._visible(tx, e)]

        return self._rt.read(op)

    def poll(self, timeout: float = 0.0) -> list[MaaSEvent]:
        """Return the next visible events, waiting up to ``timeout`` seconds for some."""
        if self._buffer:
            out, self._buffer = self._buffer, []
            return out
        deadline = time.monotonic() + max(timeout, 0.0)
        while not self._closed:
            events = self._fetch()
            if events:
                return events
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._rt.backend.wait_for_events(self.last_seq, remaining)
        return []

    def close(self) -> None:
        """Stop iterating; a blocked iteration returns within one wait."""
        self._closed = True

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def __iter__(self) -> Iterator[MaaSEvent]:
        while not self._closed:
            yield from self.poll(timeout=1.0)

    async def __aiter__(self) -> AsyncIterator[MaaSEvent]:
        loop = asyncio.get_running_loop()
        while not self._closed:
            for event in await loop.run_in_executor(None, self.poll, 0.25):
                yield event

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventService:
    """Opens subscriptions to the event stream of one MaaS instance (``maas.events``)."""

    def __init__(self, runtime: Runtime, hierarchy: ScopeHierarchy | None = None) -> None:
        self._rt = runtime
        self._hierarchy = hierarchy

    def latest_seq(self) -> int:
        """Sequence number of the newest event (0 when there is none)."""
        return self._rt.read(lambda tx: tx.event_head())

    def subscribe(
        self,
        *,
        pool_id: str | None = None,
        agent_id: str | None = None,
        after_seq: int | None = None,
        kinds: list[EventKind | str] | None = None,
        floor: Mapping[str, str] | None = None,
    ) -> Subscription:
        """Follow events from ``after_seq`` on (default: only events from now on).

        Args:
            pool_id: Only events of this pool.
            agent_id: Deliver only what this agent may see; without it, everything (the trusted
                orchestrator's view).
            after_seq: Resume after this sequence number (``Subscription.last_seq`` of an
                earlier subscription); ``0`` replays the whole retained stream.
            kinds: Only these event kinds.
            floor: With ``agent_id``: an API key's scope floor, which bounds the memories whose
                events it sees (as it bounds recall).
        """
        pool = None if pool_id is None else check_id(pool_id, "pool_id")
        agent = None if agent_id is None else check_id(agent_id, "agent_id")
        if after_seq is not None:
            check_seq(after_seq, "after_seq")
        start = self.latest_seq() if after_seq is None else after_seq
        wanted = None if kinds is None else frozenset(EventKind.parse(k) for k in kinds)
        return Subscription(
            self._rt,
            after_seq=start,
            pool_id=pool,
            agent_id=agent,
            kinds=wanted,
            hierarchy=self._hierarchy,
            floor=None if floor is None or self._hierarchy is None else self._hierarchy.check(floor, "floor"),
        )

    def prune(self, older_than_seconds: float) -> int:
        """Delete events older than ``older_than_seconds``; return how many."""
        older_than_seconds = check_non_negative(older_than_seconds, "older_than_seconds")
        cutoff = self._rt.clock() - older_than_seconds
        with self._rt.backend.transaction(write=True) as tx:
            return tx.delete_events(before=cutoff)
