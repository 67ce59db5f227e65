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

import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from maas_langchain.core.agents import AgentRegistry
from maas_langchain.core.audit import MaaSAuditLogger
from maas_langchain.core.events import EventService
from maas_langchain.core.handoffs import HandoffManager, HandoffSweeper
from maas_langchain.core.limits import CapacityLimits
from maas_langchain.core.pools import PoolRegistry
from maas_langchain.core.runtime import Runtime, set_default_factory
from maas_langchain.errors import InvalidInputError
from maas_langchain.storage.base import StateBackend
from maas_langchain.storage.memory import MemoryBackend
from maas_langchain.storage.sqlite import SQLiteBackend

__all__ = ["DEFAULT_HOME", "MaaS", "resolve_home"]

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
        from maas_langchain.storage.postgres import PostgresBackend
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


def _shutdown(sweeper: HandoffSweeper | None, backend: StateBackend) -> None:
    if sweeper is not None:
        sweeper.stop()
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

    def __init__(self, backend: StateBackend, runtime: Runtime, sweep_interval: float | None) -> None:
        self.backend = backend
        self.runtime = runtime
        self.limits = runtime.limits
        self.agents = AgentRegistry(runtime)
        self.pools = PoolRegistry(runtime)
        self.handoffs = HandoffManager(runtime)
        self.audit = MaaSAuditLogger(runtime)
        self.events = EventService(runtime)
        self._sweeper = None if not sweep_interval else HandoffSweeper(self.handoffs, sweep_interval)
        if self._sweeper is not None:
            self._sweeper.start()
        self._closed = False
        # an instance dropped without close() (a re-run notebook cell) still stops its sweeper
        self._finalizer = weakref.finalize(self, _shutdown, self._sweeper, backend)

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

        Raises:
            InvalidInputError: Bad limits, durability or location.
            BackendUnavailableError: The store cannot be opened, or its schema is newer.
        """
        backend = _open_backend(location, durability)
        runtime = Runtime(
            backend, CapacityLimits.from_value(limits), clock, audit=audit, raise_on_denial=raise_on_denial
        )
        return cls(backend, runtime, sweep_interval)

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
            }

        return {**self.backend.info(), "counts": self.runtime.read(counts), "limits": self.limits.__dict__.copy()}

    def close(self) -> None:
        """Stop the sweeper and release the backend. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._finalizer()

    def __enter__(self) -> MaaS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MaaS(backend={self.backend.name!r}, location={self.backend.location!r})"


set_default_factory(MaaS.default)
