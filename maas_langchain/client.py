"""``MaaSClient``: the Spectron-style session API over a MaaS instance.

Every Python example of ``spec/spectron-multi-agent.txt`` runs with only its import changed
(``from maas_langchain import MaaSClient as SpectronClient``)::

    client = MaaSClient()                      # the default instance (./.maas, $MAAS_URL)
    async with client.sessions.create(scope={"org": "acme", "project": "q3"}) as session:
        await session.remember("Competitor X launched a $299/mo tier.", memory_category="knowledge")
        context = await session.recall("competitor pricing", top_k=5)
        print(context.formatted)

``sessions.create(...)`` returns a handle that is a sync context manager (``with`` gives a
:class:`SyncSession`), an async one (``async with`` gives an :class:`AsyncSession`), and
awaitable (``session = await client.sessions.create(...)``; then ``await session.close()``).

A session offers ``remember``, ``recall`` (``as_of=`` for a past moment; memories whose facts a
later write replaced come after current ones) and the structured-memory reads
(docs/structured-memory.md): ``get_state(scope=, as_of=, entity=, history=)`` — the entities
with their attributes and relations, each superseded value linked to what replaced it
(``attr.superseded_by.value``); ``reflect(query, persist=False)`` — a summary citing memory ids
(``.summary``), by the instance's chat model (``MaaS.open(llm=...)``) or an offline extractive
one, stored as a ``reflection`` memory when ``persist=True``; and ``profile()`` — current facts,
recent memories by category and persisted reflections.

Example:
    >>> from maas_langchain import MaaS, MaaSClient
    >>> from maas_langchain.embeddings import HashingEmbeddings
    >>> client = MaaSClient(MaaS.open(":memory:", embeddings=HashingEmbeddings()))
    >>> with client.sessions.create(scope={"org": "acme", "project": "alpha"}) as s:
    ...     _ = s.remember("The login form validates e-mail on blur.", memory_category="decision")
    ...     [item.content for item in s.recall("login form validation").items]
    ['The login form validates e-mail on blur.']
    >>> client.close()
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from maas_langchain.core.entity_views import StateView
from maas_langchain.core.memories import RecallHit
from maas_langchain.core.records import Memory, MemorySession
from maas_langchain.core.reflection import Profile, Reflection
from maas_langchain.errors import InvalidInputError
from maas_langchain.maas import MaaS

__all__ = ["AsyncSession", "MaaSClient", "RecallContext", "RecallItem", "SessionHandle", "SyncSession"]


@dataclass(frozen=True)
class RecallItem:
    """One recalled memory: its content, score, scope, metadata and why it matched."""

    memory_id: str
    content: str
    score: float
    scope: dict[str, str]
    metadata: dict[str, Any]
    memory_category: str
    created_at: float
    why: dict[str, Any] = field(default_factory=dict)

    @property
    def superseded(self) -> bool:
        """True when a later write replaced every fact this memory states (ranked after current ones)."""
        return bool(self.why.get("superseded"))

    @classmethod
    def from_hit(cls, hit: RecallHit) -> RecallItem:
        """Build from a service result."""
        m = hit.memory
        return cls(m.memory_id, m.content, round(hit.score, 4), m.scope, m.metadata, m.category, m.created_at, hit.why)


@dataclass(frozen=True)
class RecallContext:
    """What a session's ``recall`` returns: the items, best first, and ``formatted`` text for a
    prompt. ``maas.memories.recall`` returns the same results as ``list[RecallHit]`` (the stored
    :class:`Memory` with its score and ``why``); :meth:`from_hits` turns those into a context."""

    query: str
    scope: dict[str, str]
    items: list[RecallItem]

    @classmethod
    def from_hits(cls, query: str, scope: Mapping[str, str], hits: list[RecallHit]) -> RecallContext:
        """The context of ``maas.memories.recall(query, scope=scope)``'s hits."""
        return cls(query, dict(scope), [RecallItem.from_hit(h) for h in hits])

    @property
    def formatted(self) -> str:
        """The items as a numbered list ready to paste into a prompt."""
        if not self.items:
            return f"No memories found for: {self.query}"
        lines = [f"Relevant memories for: {self.query}"]
        for number, item in enumerate(self.items, 1):
            where = ", ".join(f"{k}={v}" for k, v in item.scope.items())
            stale = " (superseded by a later write)" if item.superseded else ""
            lines.append(f"{number}. [{item.memory_category}; {where}] {item.content}{stale}")
        return "\n".join(lines)

    def __len__(self) -> int:
        return len(self.items)


class SyncSession:
    """A session bound to one scope; every call uses it. Obtained from ``with``."""

    def __init__(self, maas: MaaS, record: MemorySession) -> None:
        self._maas = maas
        self.record = record

    @property
    def session_id(self) -> str:
        """The session's id."""
        return self.record.session_id

    @property
    def scope(self) -> dict[str, str]:
        """The session's scope."""
        return dict(self.record.scope)

    @property
    def _author(self) -> str | None:
        return self.record.agent_id or self.record.scope.get("agent")

    def remember(
        self,
        content: str,
        memory_category: str = "knowledge",
        metadata: Mapping[str, Any] | None = None,
        *,
        supersedes: str | None = None,
    ) -> Memory:
        """Store ``content`` at the session's scope; return the stored memory.

        A write that screening flags is stored QUARANTINED (never recalled) unless the
        instance was opened with ``screening="refuse"``, which raises ``PolicyViolationError``.
        """
        return self._maas.memories.remember(
            content,
            scope=self.record.scope,
            category=memory_category,
            metadata=metadata,
            author_id=self._author,
            session_id=self.record.session_id,
            supersedes=supersedes,
        )

    def recall(self, query: str, top_k: int = 5, *, as_of: datetime | float | None = None) -> RecallContext:
        """The ``top_k`` memories visible at the session's scope that best answer ``query``:
        its own and its ancestors' scopes, and its descendants' (never siblings'). Memories whose
        facts a later write replaced come after current ones, marked ``superseded``; ``as_of``
        (a datetime, or epoch seconds) answers with what was current at that moment."""
        hits = self._maas.memories.recall(query, scope=self.record.scope, top_k=top_k, as_of=_epoch(as_of))
        return RecallContext.from_hits(query, self.record.scope, hits)

    def reflect(self, query: str, persist: bool = False, *, top_k: int = 10) -> Reflection:
        """Recall what answers ``query`` and summarise it, citing memory ids (``.summary``,
        ``.memory_ids``): with the instance's chat model (``MaaS.open(llm=...)``), else an
        offline extractive summary. ``persist=True`` stores it as a ``reflection`` memory at
        the session's scope, included in later :meth:`profile` calls."""
        return self._maas.reflections.reflect(
            query,
            scope=self.record.scope,
            persist=persist,
            top_k=top_k,
            author_id=self._author,
            session_id=self.record.session_id,
        )

    def profile(self, *, per_category: int = 5) -> Profile:
        """The session scope's consolidated view: current entity facts, recent memories by
        category, persisted reflections (``.formatted`` for a prompt)."""
        return self._maas.reflections.profile(self.record.scope, per_category=per_category)

    def get_state(
        self,
        scope: Mapping[str, str] | None = None,
        *,
        as_of: datetime | float | None = None,
        entity: str | None = None,
        history: bool = True,
    ) -> StateView:
        """Entities with their attributes and relations at ``scope`` (default: the session's),
        superseded values included: ``attr.superseded_by.value`` is what replaced ``attr.value``.
        ``as_of`` answers for a past moment; ``entity`` keeps one entity."""
        self._maas.extraction.drain(timeout=30.0, everyone=True)
        return self._maas.entities.state(
            self.record.scope if scope is None else scope, as_of=_epoch(as_of), entity=entity, history=history
        )

    def close(self) -> None:
        """Close the session (idempotent)."""
        self._maas.sessions.close(self.record.session_id)


class AsyncSession:
    """The same session with ``async`` methods (blocking work runs in a worker thread)."""

    def __init__(self, sync: SyncSession) -> None:
        self.sync = sync

    @property
    def session_id(self) -> str:
        """The session's id."""
        return self.sync.session_id

    @property
    def scope(self) -> dict[str, str]:
        """The session's scope."""
        return self.sync.scope

    async def remember(
        self,
        content: str,
        memory_category: str = "knowledge",
        metadata: Mapping[str, Any] | None = None,
        *,
        supersedes: str | None = None,
    ) -> Memory:
        """See :meth:`SyncSession.remember`."""
        return await asyncio.to_thread(self.sync.remember, content, memory_category, metadata, supersedes=supersedes)

    async def recall(self, query: str, top_k: int = 5, *, as_of: datetime | float | None = None) -> RecallContext:
        """See :meth:`SyncSession.recall`."""
        return await asyncio.to_thread(self.sync.recall, query, top_k, as_of=as_of)

    async def reflect(self, query: str, persist: bool = False, *, top_k: int = 10) -> Reflection:
        """See :meth:`SyncSession.reflect`."""
        return await asyncio.to_thread(self.sync.reflect, query, persist, top_k=top_k)

    async def profile(self, *, per_category: int = 5) -> Profile:
        """See :meth:`SyncSession.profile`."""
        return await asyncio.to_thread(self.sync.profile, per_category=per_category)

    async def get_state(
        self,
        scope: Mapping[str, str] | None = None,
        *,
        as_of: datetime | float | None = None,
        entity: str | None = None,
        history: bool = True,
    ) -> StateView:
        """See :meth:`SyncSession.get_state`."""
        return await asyncio.to_thread(self.sync.get_state, scope, as_of=as_of, entity=entity, history=history)

    async def close(self) -> None:
        """Close the session (idempotent)."""
        await asyncio.to_thread(self.sync.close)


class SessionHandle:
    """What ``sessions.create`` returns: use it with ``with``, ``async with`` or ``await``.

    The session row is created on entry (or on ``await``) and closed on exit.
    """

    def __init__(self, maas: MaaS, scope: Mapping[str, str], agent_id: str | None) -> None:
        self._maas = maas
        self._scope = maas.scopes.check(scope)  # bad scopes fail at create(), not later
        self._agent_id = agent_id
        self._session: SyncSession | None = None

    def _open(self) -> SyncSession:
        if self._session is None:
            self._session = SyncSession(self._maas, self._maas.sessions.open(self._scope, agent_id=self._agent_id))
        return self._session

    def __enter__(self) -> SyncSession:
        return self._open()

    def __exit__(self, *exc: object) -> None:
        session, self._session = self._session, None  # the handle may be entered again
        if session is not None:
            session.close()

    async def __aenter__(self) -> AsyncSession:
        return AsyncSession(await asyncio.to_thread(self._open))

    async def __aexit__(self, *exc: object) -> None:
        session, self._session = self._session, None
        if session is not None:
            await asyncio.to_thread(session.close)

    def __await__(self) -> Generator[Any, None, AsyncSession]:
        return self.__aenter__().__await__()


class _Sessions:
    def __init__(self, maas: MaaS, agent_id: str | None) -> None:
        self._maas = maas
        self._agent_id = agent_id

    def create(self, scope: Mapping[str, str], *, agent_id: str | None = None) -> SessionHandle:
        """A session at ``scope`` (keys from the configured hierarchy, e.g. org/project/agent).

        Raises:
            InvalidInputError: Not a dict, empty, or keys outside the hierarchy.
        """
        return SessionHandle(self._maas, scope, agent_id or self._agent_id)


class MaaSClient:
    """Spectron-compatible client over a :class:`MaaS` instance.

    Args:
        maas: The instance; ``None`` uses ``MaaS.default()``.
        agent_id: Recorded as the author of what sessions remember (default: the scope's
            ``agent`` value).
        **open_kwargs: Passed to ``MaaS.open`` when ``location`` is given instead of ``maas``.
    """

    def __init__(
        self, maas: MaaS | None = None, *, agent_id: str | None = None, location: str | None = None, **open_kwargs: Any
    ) -> None:
        self._owned = maas is None and (location is not None or bool(open_kwargs))
        if maas is None:
            maas = MaaS.open(location, **open_kwargs) if self._owned else MaaS.default()
        self.maas = maas
        self.sessions = _Sessions(maas, agent_id)

    def close(self) -> None:
        """Close the instance (whether passed in or opened here); the default instance stays open."""
        if self.maas is not MaaS._default:
            self.maas.close()

    def __enter__(self) -> MaaSClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _epoch(when: datetime | float | None) -> float | None:
    """A moment as epoch seconds (a naive datetime is local time, as ``datetime.timestamp``)."""
    if when is None:
        return None
    if isinstance(when, datetime):
        return when.timestamp()
    if isinstance(when, bool) or not isinstance(when, (int, float)):
        raise InvalidInputError("as_of must be a datetime or epoch seconds", field="as_of")
    return float(when)
