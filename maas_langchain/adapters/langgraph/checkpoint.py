"""``MaaSCheckpointer``: LangGraph's own savers on the MaaS database, with thread ownership.

The checkpoints are written by the saver LangGraph ships for the backend (``SqliteSaver`` /
``AsyncSqliteSaver`` on the MaaS SQLite file, ``PostgresSaver`` / ``AsyncPostgresSaver`` in the
MaaS PostgreSQL schema, ``InMemorySaver`` for ``:memory:``; see
:mod:`maas_langchain.adapters.langgraph.checkpoint_savers`). This class adds who may touch a thread, decided
by :class:`~maas_langchain.core.threads.ThreadAccess`:

* A thread belongs to the agent that first writes a checkpoint for it. The agent of a call is
  the view's bound ``agent_id`` (``maas.checkpointer(agent_id=...)``) or
  ``config["configurable"]["maas_agent_id"]``.
* Its owner reads, writes and deletes it; the target of an open handoff whose context carries
  the thread (``{"thread_id": ...}``) reads and writes it — and so resumes the owner's graph —
  until the handoff completes, is rejected or cancelled, or expires. Anyone else gets an
  audited :class:`~maas_langchain.errors.PermissionDeniedError`.
* A call with no agent at all is the trusted in-process layer: no checks, plain LangGraph.

Example:
    >>> from typing import TypedDict
    >>> from langgraph.graph import StateGraph
    >>> from maas_langchain import MaaS, AgentType
    >>> class S(TypedDict):
    ...     n: int
    >>> maas = MaaS.open(":memory:")
    >>> a = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    >>> graph = StateGraph(S).add_node("inc", lambda s: {"n": s["n"] + 1}).set_entry_point("inc")
    >>> app = graph.compile(checkpointer=maas.checkpointer())
    >>> app.invoke({"n": 1}, {"configurable": {"thread_id": "t1", "maas_agent_id": a}})
    {'n': 2}
    >>> maas.close()
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import threading
import weakref
from collections.abc import AsyncIterator, Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)

from maas_langchain.adapters.langgraph.checkpoint_savers import CheckpointSchemaError, SaverHub, open_hub
from maas_langchain.core.threads import ThreadAccess, ThreadAction
from maas_langchain.errors import BackendUnavailableError

if TYPE_CHECKING:
    from maas_langchain.maas import MaaS

__all__ = ["AGENT_KEY", "CheckpointSchemaError", "MaaSCheckpointer"]

AGENT_KEY = "maas_agent_id"
"""The ``configurable`` key naming the agent a graph runs as (shared with the store and the supervisor)."""

_HUBS: weakref.WeakKeyDictionary[Any, SaverHub] = weakref.WeakKeyDictionary()


_HUBS_LOCK = threading.Lock()


def _hub_for(maas: MaaS) -> SaverHub:
    """The savers shared by every checkpointer of ``maas`` (opened on first use)."""
    with _HUBS_LOCK:
        hub = _HUBS.get(maas)
        if hub is None or hub.closed:
            hub = open_hub(maas.backend)
            _HUBS[maas] = hub
            weakref.finalize(maas, hub.close)
        return hub


def _thread_of(config: RunnableConfig) -> str:
    """The thread of ``config``; a missing one raises LangGraph's own ``KeyError``."""
    return str(config["configurable"]["thread_id"])


def _configurable(config: RunnableConfig | None) -> Mapping[str, Any]:
    return (config or {}).get("configurable") or {}


def _tag(config: RunnableConfig | None, agent: str | None) -> Any:
    """``config`` with the acting agent in it, so a config LangGraph hands back keeps acting as it."""
    if config is None or agent is None:
        return config
    return {**config, "configurable": {**config.get("configurable", {}), AGENT_KEY: agent}}


def _tag_tuple(found: CheckpointTuple | None, agent: str | None) -> CheckpointTuple | None:
    if found is None or agent is None:
        return found
    return found._replace(config=_tag(found.config, agent), parent_config=_tag(found.parent_config, agent))


class MaaSCheckpointer(BaseCheckpointSaver[str]):
    """A LangGraph checkpointer on the MaaS database that knows which agent owns each thread.

    Args:
        maas: The MaaS instance whose database holds the checkpoints. Every checkpointer of
            one instance shares its savers and connections.
        agent_id: Bind this view to one agent (every call acts as it; a config naming
            another agent is refused). ``None``: the agent comes from
            ``config["configurable"]["maas_agent_id"]``, and a config without one is the
            trusted in-process layer.

    Raises:
        CheckpointSchemaError: The saver tables were written by a newer LangGraph saver.
        BackendUnavailableError: The database cannot be reached.
    """

    def __init__(self, maas: MaaS, *, agent_id: str | None = None) -> None:
        super().__init__()
        self._maas = maas
        self._hub = _hub_for(maas)
        self._access = ThreadAccess(maas.runtime)
        self.agent_id = self._access.resolve_agent(None, agent_id)
        self._allow: Collection[tuple[str, ...]] | None = None
        self._clones: dict[int, BaseCheckpointSaver[Any]] = {}
        self.serde = self._hub.sync.serde

    # --- views ------------------------------------------------------------------------
    def bind(self, agent_id: str) -> MaaSCheckpointer:
        """A view of the same savers that acts as ``agent_id``."""
        view = copy.copy(self)
        view.agent_id = self._access.resolve_agent(None, agent_id)
        view._clones = {}
        return view

    def with_allowlist(self, extra_allowlist: Collection[tuple[str, ...]]) -> MaaSCheckpointer:
        """A view whose savers deserialize with LangGraph's msgpack allowlist (graph compile calls it)."""
        view = copy.copy(self)
        view._allow = extra_allowlist
        view._clones = {}
        view.serde = self._hub.sync.with_allowlist(extra_allowlist).serde
        return view

    @property
    def backend(self) -> str:
        """Where the checkpoints live: ``"memory"``, ``"sqlite"`` or ``"postgres"``."""
        return self._hub.kind

    def _inner(self, saver: BaseCheckpointSaver[Any]) -> BaseCheckpointSaver[Any]:
        if self._allow is None:
            return saver
        clone = self._clones.get(id(saver))
        if clone is None:
            clone = self._clones[id(saver)] = saver.with_allowlist(self._allow)
        return clone

    def _sync(self) -> BaseCheckpointSaver[Any]:
        self._check_open()
        return self._inner(self._hub.sync)

    async def _async(self) -> BaseCheckpointSaver[Any]:
        self._check_open()
        return self._inner(await self._hub.saver_async())

    def _check_open(self) -> None:
        if self._maas.closed:
            self._hub.close()
            raise BackendUnavailableError(f"the MaaS instance at {self._maas.backend.location} is closed")
        self._hub.check_open()

    # --- policy (decided in core.threads) -----------------------------------------------
    def _agent(self, config: RunnableConfig | None) -> str | None:
        return self._access.resolve_agent(self.agent_id, _configurable(config).get(AGENT_KEY))

    def _allowed(self, agent: str, thread_id: str, action: ThreadAction) -> bool:
        with self._hub.translating():
            return self._access.authorize(agent, thread_id, action)

    async def _aallowed(self, agent: str, thread_id: str, action: ThreadAction) -> bool:
        return await asyncio.to_thread(self._allowed, agent, thread_id, action)

    # --- sync API -----------------------------------------------------------------------
    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint of ``config`` (latest of the thread without a ``checkpoint_id``), or None."""
        agent = self._agent(config)
        if agent is not None and not self._allowed(agent, _thread_of(config), "read"):
            return None
        saver = self._sync()
        with self._hub.translating():
            return _tag_tuple(saver.get_tuple(config), agent)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints, newest first; an agent sees only the threads it may read."""
        agent = self._agent(config)
        saver = self._sync()
        if agent is None or "thread_id" in _configurable(config):
            if agent is not None and not self._allowed(agent, _thread_of(config or {}), "read"):
                return
            with self._hub.translating():
                found = builtins.list(saver.list(config, filter=filter, before=before, limit=limit))
        else:
            with self._hub.translating():
                everything = builtins.list(saver.list(None, filter=filter, before=before))
            readable = self._readable(agent, everything)
            found = [t for t in everything if t.config["configurable"]["thread_id"] in readable][:limit]
        for item in found:
            yield _tag_tuple(item, agent)  # type: ignore[misc]

    def _readable(self, agent: str, items: builtins.list[CheckpointTuple]) -> set[str]:
        with self._hub.translating():
            return self._access.readable(agent, {str(t.config["configurable"]["thread_id"]) for t in items})

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint; an agent's first write to a thread makes it the owner."""
        agent = self._agent(config)
        if agent is not None:
            self._allowed(agent, _thread_of(config), "write")
        saver = self._sync()
        with self._hub.translating():
            return _tag(saver.put(config, checkpoint, metadata, new_versions), agent)  # type: ignore[no-any-return]

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        """Store the pending writes of a task."""
        agent = self._agent(config)
        if agent is not None:
            self._allowed(agent, _thread_of(config), "write")
        saver = self._sync()
        with self._hub.translating():
            saver.put_writes(config, writes, task_id, task_path)

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint of a thread and forget its owner (a bound view: owner only)."""
        agent = self.agent_id
        if agent is not None and not self._allowed(agent, str(thread_id), "delete"):
            return
        saver = self._sync()
        with self._hub.translating():
            saver.delete_thread(thread_id)
            self._access.release(str(thread_id), agent)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Per-channel writes along the parent chain (LangGraph's ``DeltaChannel`` support)."""
        agent = self._agent(config)
        if agent is not None and not self._allowed(agent, _thread_of(config), "read"):
            return {ch: {"writes": []} for ch in channels}
        saver = self._sync()
        with self._hub.translating():
            return saver.get_delta_channel_history(config=config, channels=channels)

    def get_next_version(self, current: str | None, channel: None) -> str:
        """The next channel version, as the underlying saver numbers them."""
        return self._hub.sync.get_next_version(current, channel)  # type: ignore[no-any-return]

    # --- async API ----------------------------------------------------------------------
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async :meth:`get_tuple`."""
        agent = self._agent(config)
        if agent is not None and not await self._aallowed(agent, _thread_of(config), "read"):
            return None
        saver = await self._async()
        with self._hub.translating():
            return _tag_tuple(await saver.aget_tuple(config), agent)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async :meth:`list`."""
        agent = self._agent(config)
        saver = await self._async()
        if agent is None or "thread_id" in _configurable(config):
            if agent is not None and not await self._aallowed(agent, _thread_of(config or {}), "read"):
                return
            with self._hub.translating():
                found = [t async for t in saver.alist(config, filter=filter, before=before, limit=limit)]
        else:
            with self._hub.translating():
                everything = [t async for t in saver.alist(None, filter=filter, before=before)]
            readable = await asyncio.to_thread(self._readable, agent, everything)
            found = [t for t in everything if t.config["configurable"]["thread_id"] in readable][:limit]
        for item in found:
            yield _tag_tuple(item, agent)  # type: ignore[misc]

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Async :meth:`put`."""
        agent = self._agent(config)
        if agent is not None:
            await self._aallowed(agent, _thread_of(config), "write")
        saver = await self._async()
        with self._hub.translating():
            return _tag(await saver.aput(config, checkpoint, metadata, new_versions), agent)  # type: ignore[no-any-return]

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        """Async :meth:`put_writes`."""
        agent = self._agent(config)
        if agent is not None:
            await self._aallowed(agent, _thread_of(config), "write")
        saver = await self._async()
        with self._hub.translating():
            await saver.aput_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        """Async :meth:`delete_thread`."""
        agent = self.agent_id
        if agent is not None and not await self._aallowed(agent, str(thread_id), "delete"):
            return
        saver = await self._async()
        with self._hub.translating():
            await saver.adelete_thread(thread_id)
        await asyncio.to_thread(self._access.release, str(thread_id), agent)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Async :meth:`get_delta_channel_history`."""
        agent = self._agent(config)
        if agent is not None and not await self._aallowed(agent, _thread_of(config), "read"):
            return {ch: {"writes": []} for ch in channels}
        saver = await self._async()
        with self._hub.translating():
            return await saver.aget_delta_channel_history(config=config, channels=channels)

    # --- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        """Close the savers' connections (shared by every checkpointer of this MaaS instance;
        the next one opened reconnects). Idempotent."""
        self._hub.close()

    async def aclose(self) -> None:
        """Async :meth:`close` (awaits the connections of the running event loop)."""
        await self._hub.aclose()

    def __enter__(self) -> MaaSCheckpointer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> MaaSCheckpointer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"MaaSCheckpointer(backend={self._hub.kind!r}, agent_id={self.agent_id!r})"
