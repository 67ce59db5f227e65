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
from typing import Any

from maas_langchain.core.memories import RecallHit
from maas_langchain.core.records import Memory, MemorySession
from maas_langchain.errors import NotSupportedError
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

    @classmethod
    def from_hit(cls, hit: RecallHit) -> RecallItem:
        """Build from a service result."""
        m = hit.memory
        return cls(m.memory_id, m.content, round(hit.score, 4), m.scope, m.metadata, m.category, m.created_at, hit.why)


@dataclass(frozen=True)
class RecallContext:
    """What ``recall`` returns: the items, best first, and ``formatted`` text for a prompt."""

    query: str
    scope: dict[str, str]
    items: list[RecallItem]

    @property
    def formatted(self) -> str:
        """The items as a numbered list ready to paste into a prompt."""
        if not self.items:
            return f"No memories found for: {self.query}"
        lines = [f"Relevant memories for: {self.query}"]
        for number, item in enumerate(self.items, 1):
            where = ", ".join(f"{k}={v}" for k, v in item.scope.items())
            lines.append(f"{number}. [{item.memory_category}; {where}] {item.content}")
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
            author_id=self.record.agent_id or self.record.scope.get("agent"),
            session_id=self.record.session_id,
            supersedes=supersedes,
        )

    def recall(self, query: str, top_k: int = 5) -> RecallContext:
        """The ``top_k`` memories visible at the session's scope that best answer ``query``:
        its own and its ancestors' scopes, and its descendants' (never siblings')."""
        hits = self._maas.memories.recall(query, scope=self.record.scope, top_k=top_k)
        return RecallContext(query, dict(self.record.scope), [RecallItem.from_hit(h) for h in hits])

    def reflect(self, query: str, persist: bool = False) -> Any:
        """Not available yet: needs an LLM-backed reflection pipeline (a later issue)."""
        raise NotSupportedError("reflect() is not supported yet; recall() and summarise with your own LLM meanwhile")

    def profile(self) -> Any:
        """Not available yet (a later issue)."""
        raise NotSupportedError("profile() is not supported yet; use recall() or maas.memories.history(scope=...)")

    def get_state(self, scope: Mapping[str, str] | None = None) -> Any:
        """Not available yet: entity extraction and conflict detection come in a later issue."""
        raise NotSupportedError("get_state() is not supported yet; supersession is available via remember(supersedes=)")

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

    async def recall(self, query: str, top_k: int = 5) -> RecallContext:
        """See :meth:`SyncSession.recall`."""
        return await asyncio.to_thread(self.sync.recall, query, top_k)

    async def reflect(self, query: str, persist: bool = False) -> Any:
        """See :meth:`SyncSession.reflect`."""
        return self.sync.reflect(query, persist)

    async def profile(self) -> Any:
        """See :meth:`SyncSession.profile`."""
        return self.sync.profile()

    async def get_state(self, scope: Mapping[str, str] | None = None) -> Any:
        """See :meth:`SyncSession.get_state`."""
        return self.sync.get_state(scope)

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
