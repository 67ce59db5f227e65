"""LangGraph's own checkpoint savers, opened on the database of a MaaS instance.

:class:`~maas_langchain.adapters.langgraph.checkpoint.MaaSCheckpointer` does not store checkpoints itself;
it delegates to the saver LangGraph ships for the backend, on the same database:

* SQLite: ``SqliteSaver`` (sync) and ``AsyncSqliteSaver`` (async, one per event loop) on the
  MaaS file, each on a connection of its own (WAL, the backend's ``synchronous`` and busy
  timeout). Their tables ``checkpoints`` and ``writes`` sit next to the MaaS tables.
* PostgreSQL: ``PostgresSaver`` (on a small pool) and ``AsyncPostgresSaver`` (one connection
  per event loop), connecting with the MaaS URL, so the ``search_path`` in it keeps the saver's
  tables in the MaaS schema. Its ``setup()`` (whose migrations build indexes
  ``CONCURRENTLY``) runs once per database, safe from many processes at once: see
  :func:`setup_postgres`.
* In memory: one ``InMemorySaver`` serves both APIs.

At open, a store whose saver tables were written by a newer saver than the installed one is
refused with :class:`CheckpointSchemaError` (PostgreSQL: ``checkpoint_migrations`` holds a
version this ``PostgresSaver`` does not know; SQLite, which keeps no version table: a column
this ``SqliteSaver`` does not know) rather than written to half-understood.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from maas_langchain.core.ports.state import StateBackend
from maas_langchain.errors import BackendUnavailableError, MaaSError

__all__ = ["SQLITE_COLUMNS", "CheckpointSchemaError", "SaverHub", "open_hub"]

SQLITE_COLUMNS = {
    "checkpoints": frozenset(
        {"thread_id", "checkpoint_ns", "checkpoint_id", "parent_checkpoint_id", "type", "checkpoint", "metadata"}
    ),
    "writes": frozenset(
        {"thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "task_path", "idx", "channel", "type", "value"}
    ),
}
"""The columns the installed ``SqliteSaver`` writes; any other column means a newer saver."""

_PG_LOCK_KEY = 0x6D6161735F636B70  # "maas_ckp": serialises concurrent saver setup on one database


class CheckpointSchemaError(BackendUnavailableError):
    """The checkpoint tables were written by a newer LangGraph saver than the installed one.

    Not retryable: upgrade ``langgraph-checkpoint-sqlite`` / ``-postgres`` (and maas_langchain)
    before opening this store.
    """

    retryable = False


def _close_async(closer: Callable[[], Awaitable[Any]], fallback: Callable[[], object]) -> None:
    """Close an async resource from sync code: run ``closer`` on a fresh loop when none is
    running, else call ``fallback`` (a non-blocking stop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        with contextlib.suppress(Exception):
            asyncio.run(closer())  # type: ignore[arg-type]
        return
    with contextlib.suppress(Exception):
        fallback()


def _finished(loop: asyncio.AbstractEventLoop | None) -> bool:
    return loop is None or loop.is_closed()


class SaverHub:
    """The savers of one MaaS instance, shared by every checkpointer view of it.

    Attributes:
        kind: ``"memory"``, ``"sqlite"`` or ``"postgres"``.
        location: Where the checkpoints live (for messages).
    """

    kind = "abstract"

    def __init__(self, location: str) -> None:
        self.location = location
        self._lock = threading.Lock()
        self._loops: dict[int, tuple[weakref.ref[asyncio.AbstractEventLoop], BaseCheckpointSaver[Any]]] = {}
        self._closed = False
        self.sync: BaseCheckpointSaver[Any] = InMemorySaver()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    # --- errors -----------------------------------------------------------------------
    @contextlib.contextmanager
    def translating(self) -> Iterator[None]:
        """Map driver errors raised inside onto the MaaS error tree."""
        try:
            yield
        except MaaSError:
            raise
        except Exception as exc:
            translated = self._translate(exc)
            if translated is None:
                raise
            raise translated from exc

    def _translate(self, exc: Exception) -> MaaSError | None:
        return None

    def check_open(self) -> None:
        """Raise once the hub (or its MaaS instance) is closed."""
        if self._closed:
            raise BackendUnavailableError(f"the checkpointer on {self.location} is closed", location=self.location)

    # --- async savers, one per event loop -----------------------------------------------
    async def saver_async(self) -> BaseCheckpointSaver[Any]:
        """The async-capable saver bound to the running event loop (created on first use)."""
        self.check_open()
        loop = asyncio.get_running_loop()
        with self._lock:
            found = self._loops.get(id(loop))
            if found is not None and found[0]() is loop:
                return found[1]
        saver = await self._open_async()
        with self._lock:
            found = self._loops.get(id(loop))
            if found is not None and found[0]() is loop:  # another task of this loop got there first
                dropped, saver = [saver], found[1]
            else:  # also drop the savers of loops that are gone
                gone = [k for k, (ref, _) in self._loops.items() if k == id(loop) or _finished(ref())]
                dropped = [self._loops.pop(k)[1] for k in gone]
                self._loops[id(loop)] = (weakref.ref(loop), saver)
        for old in dropped:
            if old is not saver:
                self._stop_async(old)
        return saver

    async def _open_async(self) -> BaseCheckpointSaver[Any]:
        return self.sync

    def _stop_async(self, saver: BaseCheckpointSaver[Any]) -> None:
        """Release an async saver's connection without awaiting (its loop may be gone)."""

    async def _aclose_async(self, saver: BaseCheckpointSaver[Any]) -> None:
        self._stop_async(saver)

    # --- closing ----------------------------------------------------------------------
    def _close_sync(self) -> None:
        """Release the sync saver's connection."""

    def close(self) -> None:
        """Close every connection. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            savers = [saver for _, saver in self._loops.values()]
            self._loops.clear()
        for saver in savers:
            self._stop_async(saver)
        self._close_sync()

    async def aclose(self) -> None:
        """Close every connection, awaiting those of the running loop. Idempotent."""
        loop = asyncio.get_running_loop()
        with self._lock:
            mine = self._loops.pop(id(loop), None)
        if mine is not None and mine[0]() is loop:
            with contextlib.suppress(Exception):
                await self._aclose_async(mine[1])
        self.close()


class MemoryHub(SaverHub):
    """One ``InMemorySaver`` for both APIs (the in-memory backend)."""

    kind = "memory"


class SqliteHub(SaverHub):
    """``SqliteSaver`` / ``AsyncSqliteSaver`` on the MaaS SQLite file."""

    kind = "sqlite"

    def __init__(self, path: str, *, synchronous: str, busy_timeout: float) -> None:
        super().__init__(path)
        from langgraph.checkpoint.sqlite import SqliteSaver

        self.path, self._synchronous, self._timeout = path, synchronous, busy_timeout
        try:
            conn = sqlite3.connect(path, check_same_thread=False, timeout=busy_timeout)
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, path) from exc
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            check_sqlite_layout(conn, path)
            saver = SqliteSaver(conn)
            saver.setup()
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise _sqlite_error(exc, path) from exc
            raise
        self.sync = saver

    def _translate(self, exc: Exception) -> MaaSError | None:
        return _sqlite_error(exc, self.location) if isinstance(exc, sqlite3.Error) else None

    async def _open_async(self) -> BaseCheckpointSaver[Any]:
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        conn = aiosqlite.connect(self.path, timeout=self._timeout)
        worker = getattr(conn, "_thread", None)
        if isinstance(worker, threading.Thread):
            worker.daemon = True  # an unclosed checkpointer must not keep the interpreter alive
        try:
            await conn
            await conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        except sqlite3.Error as exc:
            conn.stop()
            raise _sqlite_error(exc, self.path) from exc
        saver = AsyncSqliteSaver(conn)
        saver.is_setup = True  # the sync saver created (and checked) the tables at open
        return saver

    def _stop_async(self, saver: BaseCheckpointSaver[Any]) -> None:
        conn = saver.conn  # type: ignore[attr-defined]
        _close_async(conn.close, conn.stop)

    async def _aclose_async(self, saver: BaseCheckpointSaver[Any]) -> None:
        await saver.conn.close()  # type: ignore[attr-defined]

    def _close_sync(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.sync.conn.close()  # type: ignore[attr-defined]


def _sqlite_error(exc: sqlite3.Error, where: str) -> MaaSError:
    from maas_langchain.backends.sqlite import translate

    return translate(exc, where)


def check_sqlite_layout(conn: sqlite3.Connection, where: str) -> None:
    """Refuse saver tables that have columns the installed ``SqliteSaver`` does not know.

    Raises:
        CheckpointSchemaError: A newer saver has changed the tables.
    """
    for table, known in SQLITE_COLUMNS.items():
        columns = {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}
        unknown = sorted(columns - known)
        if unknown:
            raise CheckpointSchemaError(
                f"the checkpoint table {table!r} at {where} has column(s) {unknown} that the installed "
                "langgraph-checkpoint-sqlite does not know: it was written by a newer saver; upgrade "
                "langgraph-checkpoint-sqlite before opening it",
                location=where,
                table=table,
                unknown_columns=unknown,
            )


class PostgresHub(SaverHub):
    """``PostgresSaver`` / ``AsyncPostgresSaver`` in the MaaS database and schema."""

    kind = "postgres"

    def __init__(self, url: str, location: str, *, busy_timeout: float) -> None:
        super().__init__(location)
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self.url = url
        self._kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
        with self.translating():
            pool: Any = ConnectionPool(
                url,
                min_size=1,
                max_size=4,
                kwargs=self._kwargs,
                timeout=busy_timeout,
                name="maas-checkpoints",
                open=False,
            )
            try:
                pool.open(wait=True, timeout=busy_timeout)
                with pool.connection() as conn:
                    setup_postgres(conn, location, timeout=busy_timeout)
            except BaseException:
                pool.close()
                raise
        self._pool = pool
        self.sync = PostgresSaver(pool)

    def _translate(self, exc: Exception) -> MaaSError | None:
        import psycopg
        from psycopg_pool import PoolTimeout

        from maas_langchain.backends.postgres import translate

        if isinstance(exc, PoolTimeout):
            return BackendUnavailableError(f"no connection to {self.location} became available: {exc}")
        return translate(exc, self.location) if isinstance(exc, psycopg.Error) else None

    async def _open_async(self) -> BaseCheckpointSaver[Any]:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg import AsyncConnection

        with self.translating():
            conn = await AsyncConnection.connect(self.url, **self._kwargs)
        return AsyncPostgresSaver(conn)

    def _stop_async(self, saver: BaseCheckpointSaver[Any]) -> None:
        conn = saver.conn  # type: ignore[attr-defined]
        _close_async(conn.close, conn.pgconn.finish)

    async def _aclose_async(self, saver: BaseCheckpointSaver[Any]) -> None:
        await saver.conn.close()  # type: ignore[attr-defined]

    def _close_sync(self) -> None:
        with contextlib.suppress(Exception):
            self._pool.close()


def check_postgres_version(conn: Any, known: int, where: str) -> int:
    """The saver migration version of the tables (``-1`` before the first setup).

    Raises:
        CheckpointSchemaError: A newer ``PostgresSaver`` migrated these tables (a version above
            ``known``).
    """
    row = conn.execute("SELECT to_regclass('checkpoint_migrations') AS t").fetchone()
    if row is None or row["t"] is None:
        return -1
    found = conn.execute("SELECT MAX(v) AS v FROM checkpoint_migrations").fetchone()
    version = -1 if found is None or found["v"] is None else int(found["v"])
    if version > known:
        raise CheckpointSchemaError(
            f"the checkpoint tables at {where} are at migration {version}, newer than the {known} the installed "
            "langgraph-checkpoint-postgres knows: they were written by a newer saver; upgrade "
            "langgraph-checkpoint-postgres before opening them",
            location=where,
            found_version=version,
            known_version=known,
        )
    return version


_CONCURRENT_INDEX = re.compile(r"CREATE\s+INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+(\w+)\s+ON\s+(\w+)", re.I)


def _invalid_indexes(conn: Any, built: dict[str, tuple[str, str]]) -> list[str]:
    """The indexes the saver builds concurrently that exist but are INVALID (a build was cut off)."""
    if not built:
        return []
    rows = conn.execute(
        "SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE NOT i.indisvalid AND c.relname = ANY(%s) "
        "AND i.indrelid = ANY(SELECT to_regclass(t) FROM unnest(%s::text[]) AS t)",
        (list(built), sorted({table for table, _ in built.values()})),
    ).fetchall()
    return sorted(str(row["name"]) for row in rows)


def _ready(conn: Any, where: str, built: dict[str, tuple[str, str]]) -> bool:
    from langgraph.checkpoint.postgres import PostgresSaver

    known = len(PostgresSaver.MIGRATIONS) - 1
    return check_postgres_version(conn, known, where) == known and not _invalid_indexes(conn, built)


def _acquire_setup_lock(conn: Any, where: str, timeout: float) -> None:
    """Take the session-level setup lock by polling ``pg_try_advisory_lock``, never by waiting in
    a statement: between two polls this connection holds no snapshot, so the holder's
    ``CREATE INDEX CONCURRENTLY`` (which waits for every older snapshot of the database) does not
    wait for us while we wait for it.

    Raises:
        BackendUnavailableError: The lock stayed taken for ``timeout`` seconds.
    """
    deadline, pause = time.monotonic() + timeout, 0.005
    while True:
        row = conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (_PG_LOCK_KEY,)).fetchone()
        if row is not None and row["got"]:
            return
        if time.monotonic() >= deadline:
            raise BackendUnavailableError(
                f"another process kept setting up the checkpoint tables at {where} for more than {timeout:g} s; retry",
                location=where,
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def setup_postgres(conn: Any, where: str, *, timeout: float) -> None:
    """Run LangGraph's ``PostgresSaver.setup()`` once per database, safe from many processes at once.

    ``setup()`` runs its migrations as separate autocommit statements, three of them
    ``CREATE INDEX CONCURRENTLY``. Such a build waits for every transaction of the database
    that holds an older snapshot — including a process blocked in ``pg_advisory_lock`` (a
    statement, so a snapshot) waiting for the very lock the builder holds: a deadlock, which
    PostgreSQL broke by failing the waiters (7 of 8 processes on first use) or, worse, the
    builder, leaving an INVALID index that ``IF NOT EXISTS`` then skips forever. So:

    * tables already at the installed saver's version with valid indexes: nothing to do and no
      lock (every use after the first);
    * otherwise the setup is serialised by a session-level advisory lock taken by polling
      :func:`_acquire_setup_lock` (a waiter holds no snapshot between polls, so the builder
      never waits for it), re-checked under the lock, and run on this autocommit connection
      outside any transaction of ours;
    * an INVALID index left by an interrupted build is dropped and built again.

    Raises:
        CheckpointSchemaError: The saver tables are newer than the installed saver.
        BackendUnavailableError: The setup lock stayed taken for ``timeout`` seconds.
    """
    from langgraph.checkpoint.postgres import PostgresSaver

    built = {
        m.group(1): (m.group(2), sql)
        for sql in PostgresSaver.MIGRATIONS
        if (m := _CONCURRENT_INDEX.search(sql)) is not None
    }
    if _ready(conn, where, built):
        return
    _acquire_setup_lock(conn, where, timeout)
    try:
        if _ready(conn, where, built):  # another process finished it while we waited
            return
        broken = _invalid_indexes(conn, built)
        for name in broken:  # a name from LangGraph's own migration text (\w+ only)
            conn.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
        PostgresSaver(conn).setup()
        for name in broken:  # a migration already recorded is not run again by setup()
            conn.execute(built[name][1])
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_PG_LOCK_KEY,))


def open_hub(backend: StateBackend) -> SaverHub:
    """Open the savers on ``backend``'s database.

    Raises:
        CheckpointSchemaError: The saver tables are newer than the installed saver.
        BackendUnavailableError: The database cannot be reached.
        NotSupportedError: A backend with no LangGraph saver.
    """
    if backend.name == "memory":
        return MemoryHub(backend.location)
    if backend.name == "sqlite":
        from maas_langchain.backends.sqlite import DURABILITY

        durability = str(getattr(backend, "durability", "normal"))
        timeout = float(getattr(backend, "busy_timeout", 60.0))
        return SqliteHub(backend.location, synchronous=DURABILITY[durability], busy_timeout=timeout)
    if backend.name == "postgres":
        url = str(getattr(backend, "url"))  # noqa: B009 - only PostgresBackend has it
        return PostgresHub(url, backend.location, busy_timeout=float(getattr(backend, "busy_timeout", 60.0)))
    from maas_langchain.errors import NotSupportedError

    raise NotSupportedError(f"no LangGraph checkpoint saver for the {backend.name!r} backend")
