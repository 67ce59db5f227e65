"""The facade: ``MaaS.open()`` wires a backend, limits and the services from one setting.

Locations:

* ``None`` — ``$MAAS_URL`` if set (any of the locations below), else ``$MAAS_HOME`` if set,
  else ``./.maas/``: the embedded SQLite default (``maas.db`` in that folder).
* a folder path, or a path ending in ``.db`` / ``.sqlite`` — SQLite there.
* ``"postgresql://user:password@host:5432/db"`` (or ``postgres://``) — PostgreSQL, for many
  processes and hosts; needs the ``postgres`` extra (``pip install "maas_langchain[postgres]"``).
  A ``search_path`` option (``?options=-csearch_path%3Dmaas``) picks the schema.
* ``":memory:"`` or ``"memory://"`` — the in-memory reference backend.

Example:
    >>> import tempfile
    >>> from maas_langchain import MaaS, AgentType
    >>> with MaaS.open(tempfile.mkdtemp()) as maas:
    ...     agent_id = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="user-123")
    ...     maas.status()["counts"]["agents"]
    1
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maas_langchain.audit_key import anchor_path, attach_audit_key, resolve_audit_key
from maas_langchain.backends.memory import MemoryBackend
from maas_langchain.backends.sqlite import SQLiteBackend
from maas_langchain.core.access import require_kb_search
from maas_langchain.core.agents import AgentRegistry
from maas_langchain.core.audit import MaaSAuditLogger
from maas_langchain.core.enums import AuditEventType
from maas_langchain.core.events import EventService
from maas_langchain.core.handoff_context import embedded_screen
from maas_langchain.core.handoffs import HandoffManager, HandoffSweeper
from maas_langchain.core.keys import ApiKeyService
from maas_langchain.core.limits import CapacityLimits
from maas_langchain.core.memories import MemoryService
from maas_langchain.core.pools import PoolRegistry
from maas_langchain.core.ports.state import StateBackend
from maas_langchain.core.quarantine import QuarantineService
from maas_langchain.core.ranking import RankingWeights
from maas_langchain.core.runtime import Runtime, set_default_factory
from maas_langchain.core.scopes import DEFAULT_SCOPE_KEYS, ScopeHierarchy
from maas_langchain.core.sessions import SessionService
from maas_langchain.errors import (
    BackendUnavailableError,
    InvalidInputError,
    MaaSError,
    VectorStoreLockedError,
)
from maas_langchain.resources import Resources, vector_spec
from maas_langchain.structured import FactSchema, wire_structured

if TYPE_CHECKING:
    from maas_langchain.adapters.langgraph.checkpoint import MaaSCheckpointer

__all__ = ["DEFAULT_HOME", "MaaS", "resolve_home"]

_log = logging.getLogger(__name__)

DEFAULT_HOME = ".maas"
_MEMORY = (":memory:", "memory://", "memory")
_POSTGRES = ("postgresql://", "postgres://")


def resolve_home(location: str | os.PathLike[str] | None = None) -> Path:
    """Where the embedded default keeps its data: ``location``, ``$MAAS_HOME`` or ``./.maas``."""
    if location is not None:
        return Path(location)
    return Path(os.environ.get("MAAS_HOME") or DEFAULT_HOME)


def _open_postgres(url: str, durability: str) -> StateBackend:
    try:
        from maas_langchain.backends.postgres import PostgresBackend
    except ImportError as exc:
        if not (exc.name or "").startswith("psycopg"):
            raise
        raise InvalidInputError(
            'a postgresql:// location needs psycopg; install the postgres extra: pip install "maas_langchain[postgres]"'
        ) from exc
    return PostgresBackend(url, durability=durability)


def _open_backend(location: str | os.PathLike[str] | None, durability: str) -> StateBackend:
    if location is None:
        location = os.environ.get("MAAS_URL") or None
    if isinstance(location, str) and location.strip().lower() in _MEMORY:
        return MemoryBackend()
    if isinstance(location, str) and location.strip().lower().startswith(_POSTGRES):
        return _open_postgres(location.strip(), durability)
    if isinstance(location, str) and "://" in location:
        raise InvalidInputError(
            f"unsupported location {location.split('://')[0]}://...; use a folder path, ':memory:', "
            "or (with the postgres extra) a postgresql:// URL"
        )
    path = resolve_home(location)
    db = path if path.suffix in (".db", ".sqlite", ".sqlite3") else path / "maas.db"
    return SQLiteBackend(db, durability=durability)


def _home_of(location: str | os.PathLike[str] | None, backend: StateBackend) -> Path | None:
    """The folder an embedded vector index lives in: beside the SQLite file, or ``$MAAS_HOME``."""
    if backend.name == "sqlite":
        return Path(backend.location).parent
    if backend.name == "postgres":
        return resolve_home(None)
    return None


def _shutdown(sweeper: HandoffSweeper | None, backend: StateBackend, resources: list[Any]) -> None:
    if sweeper is not None:
        sweeper.stop()
    for resource in resources:
        resource.close()
    store_cache = sys.modules.get("maas_langchain.core.item_cache")
    if store_cache is not None:  # loaded only if a LangGraph store was used: drop its registration
        store_cache.release(backend)
    backend.close()


class MaaS:
    """One MaaS instance: agents, pools, handoffs and the audit log over one backend.

    Attributes:
        agents: The :class:`AgentRegistry`.
        pools: The :class:`PoolRegistry`.
        handoffs: The :class:`HandoffManager`.
        audit: The :class:`MaaSAuditLogger`.
        events: The :class:`EventService` (``subscribe`` to changes, from any process).
        limits: The :class:`CapacityLimits` in force.
    """

    _default: MaaS | None = None
    _default_lock = threading.Lock()

    def __init__(
        self,
        backend: StateBackend,
        runtime: Runtime,
        sweep_interval: float | None,
        resources: Resources | None = None,
        *,
        hierarchy: ScopeHierarchy | None = None,
        weights: RankingWeights | None = None,
        screening: str = "quarantine",
        exact_limit: int = 5_000,
        handoff_screening: str = "model",
        extractor: Any = "rules",
        llm: Any = None,
        fact_schema: FactSchema | None = None,
    ) -> None:
        self.backend = backend
        self.runtime = runtime
        self.limits = runtime.limits
        self.agents = AgentRegistry(runtime)
        self.scopes = hierarchy or ScopeHierarchy()
        self.pools = PoolRegistry(runtime, self.scopes)
        if handoff_screening not in ("model", "rules"):
            raise InvalidInputError("handoff_screening must be 'model' or 'rules'", field="handoff_screening")
        self.audit = MaaSAuditLogger(runtime)
        self.events = EventService(runtime, self.scopes)
        self._resources = resources or Resources(vector_spec(None, backend), None, None)
        model = handoff_screening == "model"
        self.handoffs = HandoffManager(
            runtime, screen=embedded_screen(self._resources.open_embedder) if model else None
        )
        self.memories = MemoryService(
            runtime,
            self._resources.open_index,
            self._resources.open_embedder,
            hierarchy=self.scopes,
            weights=weights,
            screening=screening,
            exact_limit=exact_limit,
        )
        self.sessions = SessionService(runtime, self.scopes)
        self.entities, self.extraction, self.reflections = wire_structured(
            runtime, self.memories, extractor=extractor, llm=llm, schema=fact_schema
        )
        self.quarantine = QuarantineService(runtime, self.memories.index_changed, self.extraction.released)
        self._kb: Any = None
        self._sweeper = None if not sweep_interval else HandoffSweeper(self.handoffs, sweep_interval)
        self._closed = False
        # an instance dropped without close() (a re-run notebook cell) still stops its sweeper
        self._finalizer = weakref.finalize(self, _shutdown, self._sweeper, backend, [self.extraction, self._resources])
        self._heal_index()
        self.extraction.resume()
        if self._sweeper is not None:
            self._sweeper.start()

    @classmethod
    def open(
        cls,
        location: str | os.PathLike[str] | None = None,
        *,
        limits: CapacityLimits | Mapping[str, Any] | None = None,
        durability: str = "normal",
        audit: bool = True,
        sweep_interval: float | None = 1.0,
        raise_on_denial: bool = False,
        clock: Callable[[], float] = time.time,
        vectors: str | None = None,
        embeddings: Any = None,
        scope_keys: tuple[str, ...] | list[str] = DEFAULT_SCOPE_KEYS,
        ranking: RankingWeights | None = None,
        screening: str = "quarantine",
        exact_limit: int = 5_000,
        audit_key: bytes | str | None = None,
        handoff_screening: str = "model",
        extractor: Any = "rules",
        llm: Any = None,
        fact_schema: FactSchema | None = None,
    ) -> MaaS:
        """Open (creating if needed) a MaaS instance.

        Args:
            location: See the module docstring. ``None`` is ``$MAAS_URL``, else
                ``$MAAS_HOME``, else ``./.maas``.
            limits: Capacity limits, as :class:`CapacityLimits` or a mapping of overrides.
            durability: SQLite ``"normal"`` (survives a process crash) or ``"full"``
                (also a power cut). On PostgreSQL, ``"full"`` forces ``synchronous_commit``
                on for MaaS writes and ``"normal"`` keeps the server's setting.
            audit: Keep the audit log (on by default).
            sweep_interval: Seconds between background sweeps that expire handoffs; ``None``
                or 0 turns the sweeper off (expiry is still enforced on every access).
            raise_on_denial: Raise ``PermissionDeniedError`` instead of returning the
                specification's ``None`` / ``False`` / ``[]`` on a denial.
            clock: Time source in seconds since the epoch.
            vectors: The vector index: ``"chroma"`` (embedded ``PersistentClient`` in the
                home folder, one process, the default for a folder location), an
                ``http://host:port`` URL of a ``chroma run`` server (many processes and hosts),
                or ``"bruteforce"`` (in-process exact search, the default for ``:memory:``).
                ``None`` reads ``$MAAS_VECTORS_URL``. PostgreSQL needs a server URL.
            embeddings: Any LangChain ``Embeddings``; default: the packaged offline
                all-MiniLM-L6-v2 (``local-embeddings`` extra), loaded on first use.
            scope_keys: The dict-scope hierarchy, widest first.
            ranking: Weights of the recall ranking.
            screening: What to do with writes screening flags: ``"quarantine"`` (stored, never
                recalled), ``"refuse"`` (``PolicyViolationError``) or ``"off"``.
            exact_limit: A recall whose scope holds at most this many memories scores them all
                exactly from the stored vectors; larger scopes use the index (0: always the index).
            handoff_screening: ``"model"`` (default) screens handoff contexts and results with the
                rules *and* the learned signal over the text's embedding (one embedding per
                payload, ~20 ms on a CPU with the packaged model, taken only when the text has
                an injection cue: without one a learned-only flag would not refuse the handoff);
                ``"rules"`` never embeds (sub-millisecond, weaker against paraphrased injections).
            extractor: Structured memory (docs/structured-memory.md): ``"rules"`` (default: the
                offline rule extractor), ``"llm"`` (``LLMExtractor(llm)``), any object with
                ``extract(text, category=...)``, or ``None`` to switch extraction off.
            llm: A LangChain chat model for ``reflect`` summaries (and ``extractor="llm"``);
                ``None``: offline extractive summaries.
            fact_schema: Which attribute keys accumulate values and which relations supersede
                (:class:`~maas_langchain.core.entities.FactSchema`).
            audit_key: The key audit entries are signed with (bytes, or hex / any string);
                ``None``: ``$MAAS_AUDIT_KEY``, else ``<home>/audit.key`` (created on first open;
                see ``maas_langchain/audit_key.py`` and docs/audit.md).

        Raises:
            InvalidInputError: Bad limits, durability or location.
            BackendUnavailableError: The store cannot be opened, or its schema is newer.
            AuditKeyError: The audit key file is readable by others or unreadable, or the key is empty.
        """
        hierarchy = ScopeHierarchy(scope_keys)
        backend = _open_backend(location, durability)
        try:
            home = _home_of(location, backend)
            runtime = Runtime(
                backend,
                CapacityLimits.from_value(limits),
                clock,
                audit=audit,
                raise_on_denial=raise_on_denial,
                audit_key=resolve_audit_key(audit_key, home, backend),
                audit_anchors=anchor_path(home, backend),
            )
            attach_audit_key(runtime)
            resources = Resources(vector_spec(vectors, backend), home, embeddings)
            return cls(
                backend,
                runtime,
                sweep_interval,
                resources,
                hierarchy=hierarchy,
                weights=ranking,
                screening=screening,
                exact_limit=exact_limit,
                handoff_screening=handoff_screening,
                extractor=extractor,
                llm=llm,
                fact_schema=fact_schema,
            )
        except BaseException:
            backend.close()
            raise

    def _heal_index(self) -> None:
        """Finish index writes a crash interrupted (cheap when there are none). If another
        process holds the embedded index, healing waits for this process's first memory use."""
        if self._resources.spec == "shared-index-required":
            return
        try:
            self.memories.heal()
        except (VectorStoreLockedError, BackendUnavailableError) as exc:
            _log.warning("vector index not healed at open: %s", exc.message)

    @property
    def keys(self) -> ApiKeyService:
        """The :class:`~maas_langchain.core.keys.ApiKeyService`: API keys for the MCP server
        (create, list, revoke, authenticate)."""
        service: ApiKeyService | None = self.__dict__.get("_keys")
        if service is None:
            service = self.__dict__["_keys"] = ApiKeyService(self.runtime, self.scopes)
        return service

    def checkpointer(self, *, agent_id: str | None = None) -> MaaSCheckpointer:
        """A LangGraph checkpointer on this instance's database (LangGraph's own SQLite /
        PostgreSQL / in-memory saver) that tracks which agent owns each thread; bound to
        ``agent_id`` if given, else the agent comes from ``config["configurable"]["maas_agent_id"]``.
        See :class:`~maas_langchain.adapters.langgraph.checkpoint.MaaSCheckpointer`."""
        from maas_langchain.adapters.langgraph.checkpoint import MaaSCheckpointer

        return MaaSCheckpointer(self, agent_id=agent_id)

    @property
    def kb(self) -> Any:
        """The knowledge bases (``.code``, ``.decisions``, ``.incidents``), sharing this
        instance's vector index and embeddings; searching as an agent checks KB_SEARCH."""
        if self._kb is None:
            from maas_langchain.kb import open_kb

            embedder = self._resources.open_embedder()
            embeddings: Any = getattr(embedder, "embeddings", embedder)
            self._kb = open_kb(self._resources.open_index(), embeddings, self._authorize_kb)
        return self._kb

    def store(self, *, agent_id: str | None = None, index: Any = None, ttl: Any = None, **options: Any) -> Any:
        """A LangGraph ``BaseStore`` (:class:`~maas_langchain.adapters.langgraph.store.MaaSStore`) on this
        instance's database; bound to ``agent_id`` it applies that agent's rights (docs/store.md).
        ``index`` and ``ttl`` are LangGraph's ``IndexConfig`` and ``TTLConfig``."""
        from maas_langchain.adapters.langgraph.store import MaaSStore

        return MaaSStore(self, agent_id=agent_id, index=index, ttl=ttl, **options)

    def _authorize_kb(self, agent_id: str | None) -> None:
        """Searching the knowledge bases as an agent needs KB_SEARCH (``None``: the trusted
        in-process caller). A denial is audited and raised as ``PermissionDeniedError``."""
        if agent_id is None:
            return
        agent = self.agents.require_actor(agent_id, action="kb_search")  # audits its own denial
        try:
            require_kb_search(agent)
        except MaaSError as exc:
            event = AuditEventType.AGENT_AUTH
            self.runtime.record_failure(exc, event_type=event, action="kb_search", actor=agent_id, target=None)
            raise

    def reindex(self, *, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the memory index from the stored vectors; return the rows examined."""
        spec = self.memories.sync.stored_spec()
        if spec is None:
            return 0
        return self.memories.sync.rebuild(self.memories.sync.collection(spec), progress)

    @classmethod
    def default(cls) -> MaaS:
        """The process-wide default instance behind ``AgentRegistry.get()`` and friends,
        opened on first use at ``$MAAS_URL``, ``$MAAS_HOME`` or ``./.maas``."""
        with cls._default_lock:
            if cls._default is None or cls._default._closed:
                cls._default = cls.open()
            return cls._default

    @classmethod
    def set_default(cls, maas: MaaS | None) -> None:
        """Replace the default instance (``None``: open a fresh one on next use)."""
        with cls._default_lock:
            cls._default = maas

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def status(self) -> dict[str, Any]:
        """Counts and backend facts, for ``maas status`` and dashboards."""

        def counts(tx: Any) -> dict[str, int]:
            return {
                "agents": tx.count_agents(),
                "pools": tx.count_pools(),
                "handoffs": tx.count_handoffs(),
                "audit_events": tx.count_audit(),
                "memories": tx.count_memories(),
                "open_sessions": tx.count_open_sessions(),
            }

        info = {**self.backend.info(), "counts": self.runtime.read(counts), "limits": self.limits.__dict__.copy()}
        stored = self.memories.sync.stored_spec()
        info["vectors"] = {
            "index": self._resources.spec,
            "embedding_model": None if stored is None else stored.model,
            "dimension": None if stored is None else stored.dimension,
            # committed memories not yet in the index (any process; healed by the next sync), and
            # this process's index writes that failed after their commit (core/memory_index.py)
            "index_behind": bool(self.runtime.read(lambda tx: tx.dirty_memories(1))),
            **self.memories.sync.health(),
        }
        return info

    def close(self) -> None:
        """Stop the sweeper and release the backend. Idempotent."""
        if self._closed:
            return
        keys: ApiKeyService | None = self.__dict__.get("_keys")
        if keys is not None:  # the open window of aggregated refusals is written, not lost
            try:
                keys.flush_failures(force=True)
            except MaaSError as exc:
                _log.warning("aggregated authentication failures not written at close: %s", exc.message)
        self._closed = True
        self._finalizer()  # the extraction worker first: jobs not yet applied stay queued

    def __enter__(self) -> MaaS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MaaS(backend={self.backend.name!r}, location={self.backend.location!r})"


set_default_factory(MaaS.default)
