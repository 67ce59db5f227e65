"""PostgreSQL backend: one database shared by many processes and hosts (psycopg 3 and a pool).

Concurrency. A write transaction runs at READ COMMITTED and its first statement takes a
transaction-scoped advisory lock (``pg_advisory_xact_lock``) keyed by the schema, so writers
on one schema are serialised the way SQLite's ``BEGIN IMMEDIATE`` serialises them: every
read-check-write sequence (a handoff's compare-and-set, the capacity checks on ``counters``
and ``pools.share_count``, the audit chain head) runs alone and sees every earlier commit,
because PostgreSQL makes a commit visible before it releases the committer's locks. The head
row is also read ``FOR UPDATE``, so the audit log stays one chain even next to a client that
does not take the lock. SERIALIZABLE would fit the checks too, but every write moves the audit
head, so concurrent writers would abort each other constantly, and a
``with backend.transaction()`` block cannot be re-run from inside the backend to retry.
A read transaction is REPEATABLE READ READ ONLY: one snapshot, no locks, never blocked by a
writer.

Failures. Every driver error is translated at this boundary: an integrity error becomes
:class:`~maas_langchain.errors.ConflictError`; a lost connection, a lock held past
``busy_timeout``, a serialization failure or a deadlock becomes a retryable
:class:`~maas_langchain.errors.BackendUnavailableError` whose message says to retry (the
server has rolled the transaction back, so nothing is half written). A pooled connection
that died while idle is replaced and the transaction retried, a bounded number of times,
before any statement of the caller has run.

Schema. ``migrations/postgres/`` mirrors the SQLite files and is applied the same way, each
file in its own transaction, under the writers' advisory lock so that concurrent ``migrate()``
calls from several processes apply each file once. A ``search_path`` in the URL
(``?options=-csearch_path%3Dname``) keeps one MaaS instance per schema; locks are per schema.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from maas_langchain.backends.migrations import AUDIT_BOUNDARY, Migration, applied_names, check_applied, load_migrations
from maas_langchain.backends.sql import POSTGRES, SqlTx
from maas_langchain.core.ports.state import StateBackend, StateTx
from maas_langchain.errors import BackendUnavailableError, ConflictError, InvalidInputError, MaaSError

__all__ = ["DURABILITY", "PostgresBackend", "display_location", "translate"]

Connection = psycopg.Connection[Any]

DURABILITY = ("normal", "full")
"""``"normal"`` keeps the server's ``synchronous_commit``; ``"full"`` forces it on for writes."""

_BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
_BOOKKEEPING = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "checksum TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
)
_LOST = ("08", "57P")  # SQLSTATE classes of a connection that is gone (08xxx, admin/crash shutdown)
# A value PostgreSQL cannot take: too large for an index row or a limit (54xxx), a Python type
# that maps to no operator for the column (42883, 42804, 42P18).
_BAD_VALUE = ("54", "42883", "42804", "42P18")


def display_location(conninfo: str) -> str:
    """Return ``conninfo`` as a ``postgresql://`` URL without its password, for people and logs."""
    params = {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v is not None and k != "password"}
    user, host, port = params.pop("user", ""), params.pop("host", ""), params.pop("port", "")
    dbname = params.pop("dbname", "")
    if "/" in host or "," in host:  # a socket folder or several hosts: keep them as a parameter
        params["host"], host = host, ""
    netloc = (f"{quote(user)}@" if user else "") + host + (f":{port}" if port else "")
    query = f"?{urlencode(sorted(params.items()))}" if params else ""
    return f"postgresql://{netloc}/{quote(dbname)}{query}"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _connection_lost(exc: psycopg.Error) -> bool:
    if isinstance(exc, psycopg.InterfaceError):
        return True
    return isinstance(exc, psycopg.OperationalError) and (exc.sqlstate is None or exc.sqlstate.startswith(_LOST))


def translate(exc: psycopg.Error, where: str) -> MaaSError:
    """Map a psycopg error onto the MaaS exception tree."""
    detail = _first_line(exc)
    if isinstance(exc, psycopg.IntegrityError):
        return ConflictError(f"the change conflicts with stored data: {detail}")
    if isinstance(exc, psycopg.DataError) or (exc.sqlstate or "").startswith(_BAD_VALUE):
        return InvalidInputError(f"PostgreSQL cannot take a value: {detail}")
    if isinstance(exc, psycopg.ProgrammingError) and exc.sqlstate is None:  # the driver could not adapt a value
        return InvalidInputError(f"PostgreSQL cannot take a value: {detail}")
    if isinstance(exc, (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)):
        return BackendUnavailableError(
            f"the transaction on {where} collided with a concurrent one and was rolled back; retry", location=where
        )
    if isinstance(exc, pg_errors.LockNotAvailable):
        return BackendUnavailableError(f"the database at {where} stayed locked by other writers; retry", location=where)
    if isinstance(exc, PoolTimeout):
        return BackendUnavailableError(
            f"no connection to PostgreSQL at {where} became available ({detail}); check that the server is "
            "running, then retry",
            location=where,
        )
    if _connection_lost(exc):
        return BackendUnavailableError(
            f"the connection to PostgreSQL at {where} was lost ({detail}); the transaction was rolled back and "
            "nothing was committed; retry",
            location=where,
        )
    return BackendUnavailableError(f"the database at {where} failed: {detail}", location=where)


def _lock_key(schema: str) -> int:
    digest = hashlib.blake2b(f"maas_langchain:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class _EventListener:
    """A daemon thread that LISTENs on one schema's event channel on a connection of its own and
    keeps the highest event sequence number notified, so waiters wake as soon as one commits."""

    def __init__(self, dsn: str, channel: str) -> None:
        self._dsn, self._channel = dsn, channel
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self.head = 0
        self.live = False
        self.pid = os.getpid()
        threading.Thread(target=self._run, name="maas-postgres-listener", daemon=True).start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with suppress(psycopg.Error, ValueError), psycopg.connect(self._dsn, autocommit=True) as conn:
                conn.execute(f'LISTEN "{self._channel}"')
                row = conn.execute("SELECT value FROM counters WHERE name = 'events'").fetchone()
                self._saw(int(row[0]) if row else 0, live=True)
                while not self._stop.is_set():
                    for note in conn.notifies(timeout=0.5):
                        self._saw(int(note.payload))
            self._saw(0, live=False)
            self._stop.wait(1.0)

    def _saw(self, seq: int, *, live: bool | None = None) -> None:
        with self._cond:
            self.head = max(self.head, seq)
            if live is not None:
                self.live = live
            self._cond.notify_all()

    def wait(self, after_seq: int, timeout: float) -> bool:
        """Wait until an event after ``after_seq`` is notified; False if not listening yet."""
        with self._cond:
            if not self.live:
                return False
            if self.head <= after_seq:
                self._cond.wait(timeout)
            return True

    def stop(self) -> None:
        """Let the thread end (within half a second)."""
        self._stop.set()


class _PgTx(SqlTx):
    """:class:`SqlTx` plus the bookkeeping queries this backend needs."""

    def schema_version(self) -> int:
        return int(self._one("SELECT MAX(version) FROM schema_migrations")[0] or 0)


class _ThreadState(threading.local):
    pid: int = 0
    conn: Connection | None = None
    write: bool = False


class PostgresBackend(StateBackend):
    """MaaS state in a PostgreSQL database, shared by every process that opens the same URL.

    Example:
        >>> import psycopg
        >>> admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True)
        >>> _ = admin.execute("DROP SCHEMA IF EXISTS maas_example CASCADE; CREATE SCHEMA maas_example")
        >>> backend = PostgresBackend("postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dmaas_example")
        >>> with backend.transaction(write=False) as tx:
        ...     (tx.count_audit(), backend.info()["backend"])
        (0, 'postgres')
        >>> backend.close()
        >>> _ = admin.execute("DROP SCHEMA maas_example CASCADE"); admin.close()

    Attributes:
        url: The connection string as given, password included, for opening the same database
            from another process; show ``location`` to people instead.
        location: The URL without its password.
        schema: The schema MaaS lives in (the first one on the ``search_path``).

    Args:
        conninfo: A libpq URL (``postgresql://user:password@host:5432/db``) or key=value string.
        durability: ``"normal"`` (the server's ``synchronous_commit``) or ``"full"`` (forced on).
        busy_timeout: Seconds a writer waits for the write lock (and any caller for a pooled
            connection) before a retryable :class:`BackendUnavailableError`.
        connect_timeout: Seconds to wait for the server when connecting.
        pool_size: Most connections this instance keeps open.

    Raises:
        BackendUnavailableError: The server cannot be reached (the message names the host),
            or the schema is newer than this code or was changed.
    """

    name = "postgres"

    def __init__(
        self,
        conninfo: str,
        *,
        durability: str = "normal",
        busy_timeout: float = 60.0,
        connect_timeout: float = 10.0,
        pool_size: int = 10,
    ) -> None:
        if durability not in DURABILITY:
            raise InvalidInputError(f"durability must be one of {sorted(DURABILITY)}, got {durability!r}")
        try:
            given = conninfo_to_dict(conninfo)
        except psycopg.Error as exc:
            raise InvalidInputError(f"not a PostgreSQL connection string: {_first_line(exc)}") from exc
        defaults = {"connect_timeout": str(max(2, math.ceil(connect_timeout))), "application_name": "maas_langchain"}
        self._dsn = make_conninfo(conninfo, **{k: v for k, v in defaults.items() if k not in given})
        self.url = conninfo
        self.location = display_location(conninfo)
        self.durability = durability
        self.busy_timeout = busy_timeout
        self.pool_size = pool_size
        self.schema = "public"
        self._key = 0
        self._dialects = (POSTGRES, POSTGRES)  # (read, write), bound to the schema by migrate()
        self._listener: _EventListener | None = None
        self._local = _ThreadState()
        self._lock = threading.Lock()
        self._closed = False
        self.fresh_audit_boundary = AUDIT_BOUNDARY in applied_names("postgres", self.migrate())
        self._pid = os.getpid()
        self._pool = self._new_pool()

    # --- connections ------------------------------------------------------------------
    def _connect(self) -> Connection:
        try:
            return psycopg.connect(self._dsn, autocommit=True)
        except psycopg.Error as exc:
            params = conninfo_to_dict(self._dsn)
            host = f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"
            raise BackendUnavailableError(
                f"cannot connect to PostgreSQL at {host} ({self.location}): {_first_line(exc)}; check that the "
                "server is running and accepts connections, then retry",
                location=self.location,
            ) from exc

    def _new_pool(self) -> ConnectionPool[Connection]:
        return ConnectionPool(
            self._dsn,
            min_size=1,
            max_size=self.pool_size,
            kwargs={"autocommit": True},
            timeout=self.busy_timeout,
            name=f"maas:{self.location}",
            open=True,
        )

    def _get_pool(self) -> ConnectionPool[Connection]:
        if self._closed:
            raise BackendUnavailableError(f"the backend for {self.location} is closed")
        if self._pid != os.getpid():  # a forked child: the parent's sockets are not ours to use or close
            with self._lock:
                if self._pid != os.getpid():
                    self._pool, self._pid = self._new_pool(), os.getpid()
        return self._pool

    def _state(self) -> _ThreadState:
        local = self._local
        if local.pid != os.getpid():
            local.pid, local.conn, local.write = os.getpid(), None, False
        return local

    def _begin_statement(self, write: bool) -> str:
        if not write:
            return _BEGIN_READ
        wait_ms = max(1, round(self.busy_timeout * 1000))
        sync = "SET LOCAL synchronous_commit = on; " if self.durability == "full" else ""
        return (
            f"BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = {wait_ms}; {sync}"
            f"SELECT pg_advisory_xact_lock({self._key})"
        )

    def _begin(self, pool: ConnectionPool[Connection], write: bool) -> Connection:
        """Check out a connection and open a transaction on it, replacing dead pooled ones."""
        statement = self._begin_statement(write)
        attempts = self.pool_size + 2
        for attempt in range(1, attempts + 1):
            try:
                conn = pool.getconn()
            except psycopg.Error as exc:
                raise translate(exc, self.location) from exc
            try:
                conn.execute(statement)
                return conn
            except psycopg.Error as exc:
                retry = attempt < attempts and (
                    conn.broken or isinstance(exc, (pg_errors.SerializationFailure, pg_errors.DeadlockDetected))
                )
                self._release(pool, conn)
                if not retry:
                    raise translate(exc, self.location) from exc
        raise AssertionError("unreachable")

    @staticmethod
    def _rollback(conn: Connection) -> None:
        if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
            with suppress(psycopg.Error):
                conn.execute("ROLLBACK")

    def _release(self, pool: ConnectionPool[Connection], conn: Connection) -> None:
        self._rollback(conn)
        with suppress(Exception):  # a closed pool closes the connection instead
            pool.putconn(conn)

    def _commit(self, conn: Connection) -> None:
        if conn.info.transaction_status == TransactionStatus.INERROR:
            raise BackendUnavailableError(
                f"a statement failed inside the transaction on {self.location}; it was rolled back; retry",
                location=self.location,
            )
        try:
            conn.execute("COMMIT")
        except psycopg.Error as exc:
            if conn.broken:
                raise BackendUnavailableError(
                    f"the connection to PostgreSQL at {self.location} was lost while committing "
                    f"({_first_line(exc)}); the transaction may or may not have been applied; check, then retry",
                    location=self.location,
                ) from exc
            raise translate(exc, self.location) from exc

    # --- transactions -----------------------------------------------------------------
    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[StateTx]:
        """Open a transaction (see the module docstring); a nested call joins the open one.

        Raises:
            BackendUnavailableError: The server is unreachable, the connection was lost, or
                the write lock stayed taken past ``busy_timeout``; retry.
            ConflictError: A write broke a key or constraint.
            InvalidInputError: A value PostgreSQL cannot store, or a write opened inside a
                read transaction.
        """
        local = self._state()
        if local.conn is not None:  # a nested call joins the transaction open on this thread
            with self._joined(local, write) as tx:
                yield tx
            return
        pool = self._get_pool()
        conn = self._begin(pool, write)
        local.conn, local.write = conn, write
        try:
            yield _PgTx(conn.cursor(), self._dialects[write])
            self._commit(conn)
        except (psycopg.Error, UnicodeEncodeError) as exc:
            raise self._translate(exc) from exc
        finally:
            local.conn = None
            self._release(pool, conn)

    @contextmanager
    def _joined(self, local: _ThreadState, write: bool) -> Iterator[StateTx]:
        conn = local.conn
        assert conn is not None
        if write and not local.write:
            raise InvalidInputError("a write transaction cannot be opened inside a read transaction")
        try:
            yield _PgTx(conn.cursor(), self._dialects[local.write])
        except (psycopg.Error, UnicodeEncodeError) as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: psycopg.Error | UnicodeEncodeError) -> MaaSError:
        if isinstance(exc, UnicodeEncodeError):  # psycopg encodes parameters as UTF-8
            return InvalidInputError(f"a value is not valid UTF-8 text: {exc.reason} at position {exc.start}")
        return translate(exc, self.location)

    def _run(self, conn: Connection, step: Callable[[], object]) -> None:
        """Run ``step`` in one transaction on ``conn`` holding the writers' lock."""
        try:
            conn.execute(self._begin_statement(True))
            step()
            conn.execute("COMMIT")
        except BaseException as exc:
            self._rollback(conn)
            if isinstance(exc, psycopg.Error):
                raise translate(exc, self.location) from exc
            raise

    # --- schema -----------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply pending migrations, each in its own transaction; return their versions.

        Safe when several processes migrate the same schema at once: each step takes the
        writers' advisory lock and re-checks ``schema_migrations`` under it.

        Raises:
            BackendUnavailableError: The server is unreachable, or the schema is newer than
                this code or an applied migration's file has changed.
        """
        known = load_migrations("postgres")
        applied_now: list[int] = []
        with self._connect() as conn:
            self._bind_schema(conn)
            self._run(conn, lambda: conn.execute(_BOOKKEEPING))
            for migration in known:
                self._run(conn, functools.partial(self._apply, conn, known, migration, applied_now))
        return applied_now

    def _apply(self, conn: Connection, known: list[Migration], migration: Migration, applied_now: list[int]) -> None:
        rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
        if migration in check_applied(known, {int(v): str(c) for v, c in rows}, self.location):
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (%s, %s, %s, %s)",
                (migration.version, migration.name, migration.checksum, time.time()),
            )
            applied_now.append(migration.version)

    def _bind_schema(self, conn: Connection) -> None:
        try:
            row = conn.execute("SELECT current_schema()").fetchone()
        except psycopg.Error as exc:
            raise translate(exc, self.location) from exc
        if row is None or row[0] is None:
            raise BackendUnavailableError(
                f"no schema on the search_path of {self.location} exists; create it (CREATE SCHEMA ...) or fix "
                "the search_path option",
                location=self.location,
            )
        self.schema, self._key = str(row[0]), _lock_key(str(row[0]))
        notify = f"SELECT pg_notify('{self._channel()}', ?)"
        write = dataclasses.replace(POSTGRES, notify_sql=notify, _cache={})
        # Read transactions are READ ONLY, where FOR UPDATE is an error; a snapshot needs no lock.
        self._dialects = (dataclasses.replace(write, for_update="", _cache={}), write)

    def _channel(self) -> str:
        return f"maas_events_{_lock_key(self.schema) & 0xFFFFFFFFFFFF:012x}"

    def wait_for_events(self, after_seq: int, timeout: float) -> None:
        """Block until an event after ``after_seq`` is committed (LISTEN/NOTIFY), or ``timeout``."""
        listener = self._listener
        if not self._closed and (listener is None or listener.pid != os.getpid()):
            with self._lock:
                if self._listener is listener:
                    self._listener = listener = _EventListener(self._dsn, self._channel())
        if listener is None or self._closed or not listener.wait(after_seq, timeout):
            super().wait_for_events(after_seq, timeout)

    def schema_version(self) -> int:
        """Highest applied migration."""
        with self.transaction(write=False) as tx:
            assert isinstance(tx, _PgTx)
            return tx.schema_version()

    def info(self) -> dict[str, Any]:
        """Backend facts for ``maas status`` (the location never shows a password)."""
        return {
            "backend": self.name,
            "location": self.location,
            "schema": self.schema,
            "durability": self.durability,
            "schema_version": self.schema_version(),
            "pool_size": self.pool_size,
        }

    def close(self) -> None:
        """Close the connection pool. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._listener is not None:
            self._listener.stop()
        if self._pid == os.getpid():
            with suppress(Exception):
                self._pool.close(timeout=5.0)
