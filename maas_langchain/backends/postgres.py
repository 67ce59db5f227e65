"""PostgreSQL backend: one database shared by many processes and hosts (psycopg 3 and a pool).

Concurrency. A write transaction runs at READ COMMITTED. What it waits for depends on what it
declared (``postgres_tx.py`` has the details):

* A transaction that claims its resources (:meth:`~maas_langchain.core.ports.state.StateTx.claim`:
  a handoff transition its handoff, ``initiate_handoff`` the initiations, ``share_memory`` its
  pool *shared* (its upsert checks the pool's count as it writes; a share that finds it changed
  runs again holding the pool alone), ``query_shared`` nothing) takes the schema's advisory lock *shared* and one
  exclusive advisory lock per resource, so it waits only for writers of the same resources. The
  reads it declares next (``StateTx.prefetch``) travel in the same batch (``postgres_ahead.py``);
  its writes whose results it does not need travel with its ``COMMIT`` (``postgres_tx.py``).
* Every other write transaction takes the schema's advisory lock *exclusive*, as all writers did
  before: it runs alone, so its read-check-write sequences (capacity checks, memory sequence
  numbers, supersession) see every earlier commit and nothing in flight. PostgreSQL makes a
  commit visible before it releases the committer's locks.
* No writer locks the audit head or the event counter. A transaction's audit entries and events
  go to ``audit_pending`` / ``events_pending`` in its ``COMMIT`` batch. Sequencing passes
  (``postgres_chain.py``, under an advisory lock of their own) chain the entries (each carries a
  MAC under the audit key, so a row written without the key is never chained) and number the
  events: the *leader* process's listener thread (one process at a time holds the leader lock)
  runs one within milliseconds of any commit, and a read of the audit log or the stream runs one
  first if its own process still owes one, so every process reads its own writes. One pass takes
  everything committed before it, so under load one disk flush serves many writers. The audit
  log stays one gap-free chain; event numbers follow the order of the passes' commits.

A read transaction is REPEATABLE READ READ ONLY: one snapshot, no locks, never blocked by a writer;
it begins lazily, so one whose reads the registry cache serves (``postgres_cache.py``: agents,
pools, memberships, kept coherent across hosts by triggers and LISTEN/NOTIFY) sends nothing at all.

Failures. Every driver error is translated at this boundary: an integrity error becomes
:class:`~maas_langchain.errors.ConflictError`; a lost connection, a lock held past ``busy_timeout``,
a serialization failure or a deadlock becomes a retryable
:class:`~maas_langchain.errors.BackendUnavailableError` whose message says to retry (the server has
rolled the transaction back, so nothing is half written). A pooled connection that died while idle
is replaced and the transaction retried, a bounded number of times, before any statement of the
caller has run.

Schema. ``migrations/postgres/`` mirrors the SQLite files and is applied the same way, each file in
its own transaction, under the writers' exclusive advisory lock so that concurrent ``migrate()``
calls from several processes apply each file once. A ``search_path`` in the URL
(``?options=-csearch_path%3Dname``) keeps one MaaS instance per schema; locks are per schema.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

from maas_langchain.backends import postgres_put as pgt
from maas_langchain.backends.migrations import AUDIT_BOUNDARY, Migration, applied_names, check_applied, load_migrations
from maas_langchain.backends.postgres_cache import Listener, RegistryCache, registry_channel
from maas_langchain.backends.postgres_chain import PENDING_EXISTS, Hasher, Sequencer, leader_duty, sequence
from maas_langchain.backends.postgres_errors import display_location, first_line, translate
from maas_langchain.backends.postgres_tx import PgSession, PgTx, ThreadState, claim_key, schema_lock_key
from maas_langchain.backends.sql import POSTGRES
from maas_langchain.core.ports.kv import KVPut
from maas_langchain.core.ports.state import StateBackend, StateTx
from maas_langchain.errors import BackendUnavailableError, InvalidInputError, MaaSError

logger = logging.getLogger(__name__)

__all__ = ["DURABILITY", "PostgresBackend", "display_location", "translate"]

Connection = psycopg.Connection[Any]

DURABILITY = ("normal", "full")
"""``"normal"`` keeps the server's ``synchronous_commit``; ``"full"`` forces it on for writes."""

_BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
_BOOKKEEPING = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "checksum TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
)


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
            raise InvalidInputError(f"not a PostgreSQL connection string: {first_line(exc)}") from exc
        defaults = {"connect_timeout": str(max(2, math.ceil(connect_timeout))), "application_name": "maas_langchain"}
        self._dsn = make_conninfo(conninfo, **{k: v for k, v in defaults.items() if k not in given})
        self.url = conninfo
        self.location = display_location(conninfo)
        self.durability = durability
        self.busy_timeout = busy_timeout
        self.pool_size = pool_size
        self.schema = "public"
        self._key = self._sequencer_key = 0
        self._dialects = (POSTGRES, POSTGRES)  # (read, write), bound to the schema by migrate()
        self._listener: Listener | None = None
        self._cache = RegistryCache()
        self._hasher: Hasher | None = None
        self._sequencer: Sequencer | None = None
        self._local = ThreadState()
        self._lock = threading.Lock()
        self._closed = False
        self.fresh_audit_boundary = AUDIT_BOUNDARY in applied_names("postgres", self.migrate())
        self._pid = os.getpid()
        self._pool = self._new_pool()

    # --- connections ------------------------------------------------------------------
    def _connect(self) -> Connection:
        try:
            return psycopg.connect(self._dsn, autocommit=True, prepare_threshold=None)
        except psycopg.Error as exc:
            params = conninfo_to_dict(self._dsn)
            host = f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"
            raise BackendUnavailableError(
                f"cannot connect to PostgreSQL at {host} ({self.location}): {first_line(exc)}; check that the "
                "server is running and accepts connections, then retry",
                location=self.location,
            ) from exc

    def _new_pool(self) -> ConnectionPool[Connection]:
        return ConnectionPool(
            self._dsn,
            min_size=1,
            max_size=self.pool_size,
            # psycopg prepares nothing itself: its cache, once it holds a name, answers a ROLLBACK
            # with DEALLOCATE ALL, which would drop the statements postgres_wire prepared
            kwargs={"autocommit": True, "prepare_threshold": None},
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

    def _state(self) -> ThreadState:
        local = self._local
        if local.pid != os.getpid():
            local.pid, local.session = os.getpid(), None
        return local

    def _write_settings(self) -> list[str]:
        """``set_config`` calls (transaction-local) run with a write transaction's locks."""
        wait_ms = max(1, round(self.busy_timeout * 1000))
        sync = ["set_config('synchronous_commit', 'on', true)"] if self.durability == "full" else []
        return [f"set_config('lock_timeout', '{wait_ms}', true)", *sync]

    def _session(self, pool: ConnectionPool[Connection], write: bool) -> PgSession:
        return PgSession(
            pool,
            None,  # checked out by the first statement (a cached read takes none)
            write=write,
            settings=self._write_settings() if write else [],
            schema=self.schema,
            global_key=self._key,
            channel=self._channel(),
            retries=self.pool_size + 2,
            cache=self._process_cache(),
            hasher=self._hasher,
            settle=None if write or self._hasher is None else self._settle,
        )

    def _process_cache(self) -> RegistryCache:
        """This process's registry cache, its listener started on first use (module docstring)."""
        listener = self._listener
        if listener is None or listener.pid != os.getpid():
            with self._lock:
                if self._listener is listener and not self._closed:
                    if listener is not None:  # a forked child: the parent's cache is not kept fresh here
                        self._cache = RegistryCache()
                    self._listener = Listener(
                        self._dsn,
                        self._channel(),
                        registry_channel(self.schema),
                        self._cache,
                        duty=functools.partial(leader_duty, weakref.ref(self)),
                        leader_key=claim_key(self.schema, "audit", "leader"),
                    )
                    weakref.finalize(self, self._listener.stop)  # an instance dropped unclosed stops it too
        return self._cache

    def _commit(self, session: PgSession) -> bool:
        conn = session.held
        if conn is not None and conn.info.transaction_status == TransactionStatus.INERROR:
            raise BackendUnavailableError(
                f"a statement failed inside the transaction on {self.location}; it was rolled back; retry",
                location=self.location,
            )
        try:
            return session.commit()
        except psycopg.Error as exc:
            if session.held is not None and session.held.broken:
                raise BackendUnavailableError(
                    f"the connection to PostgreSQL at {self.location} was lost while committing "
                    f"({first_line(exc)}); the transaction may or may not have been applied; check, then retry",
                    location=self.location,
                ) from exc
            raise

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
        if local.session is not None:  # a nested call joins the transaction open on this thread
            with self._joined(local.session, write) as tx:
                yield tx
            return
        pool = self._get_pool()
        session = self._session(pool, write)
        local.session = session
        try:
            yield PgTx(session, self._dialects[write])
            if self._commit(session):  # it left entries or events for a pass: this process's thread runs it
                self._process_sequencer().poke()
        except (psycopg.Error, UnicodeEncodeError) as exc:
            raise self._translate(exc) from exc
        finally:
            local.session = None
            if write:
                session.forget_touched()
            if session.held is not None:
                pgt.release(pool, session.held)

    def kv_put_alone(self, puts: Sequence[KVPut], ns_ids: Mapping[str, int], now: float, **bump: Any) -> int | None:
        """One statement (``postgres_put.put_alone``), or the open transaction's on this thread."""
        if self._state().session is not None:
            return super().kv_put_alone(puts, ns_ids, now, **bump)
        lock = (self._key, self.busy_timeout, self.durability == "full")
        try:
            return pgt.put_alone(self._get_pool(), lock, puts, ns_ids, now, **bump)
        except (psycopg.Error, UnicodeEncodeError) as exc:
            raise self._translate(exc) from exc

    @contextmanager
    def _joined(self, session: PgSession, write: bool) -> Iterator[StateTx]:
        if write and not session.write:
            raise InvalidInputError("a write transaction cannot be opened inside a read transaction")
        try:
            yield PgTx(session, self._dialects[session.write])
        except (psycopg.Error, UnicodeEncodeError) as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: psycopg.Error | UnicodeEncodeError) -> MaaSError:
        if isinstance(exc, UnicodeEncodeError):  # psycopg encodes parameters as UTF-8
            return InvalidInputError(f"a value is not valid UTF-8 text: {exc.reason} at position {exc.start}")
        return translate(exc, self.location)

    def _run(self, conn: Connection, step: Callable[[], object]) -> None:
        """Run ``step`` in one transaction on ``conn`` holding the writers' lock."""
        try:
            settings = ", ".join(self._write_settings())
            conn.execute(f"BEGIN ISOLATION LEVEL READ COMMITTED; SELECT {settings}, pg_advisory_xact_lock({self._key})")
            step()
            conn.execute("COMMIT")
        except BaseException as exc:
            pgt.rollback(conn)
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
        self.schema, self._key = str(row[0]), schema_lock_key(str(row[0]))
        self._sequencer_key = claim_key(self.schema, "audit", "sequencer")
        notify = f"SELECT pg_notify('{self._channel()}', ?)"
        write = dataclasses.replace(POSTGRES, notify_sql=notify, _cache={})
        # Read transactions are READ ONLY, where FOR UPDATE is an error; a snapshot needs no lock.
        self._dialects = (dataclasses.replace(write, for_update="", _cache={}), write)

    def _channel(self) -> str:
        return f"maas_events_{schema_lock_key(self.schema) & 0xFFFFFFFFFFFF:012x}"

    def bind_audit_hasher(self, hasher: Hasher) -> None:
        """Let write transactions leave their audit entries pending for a sequencing pass, which
        chains them with ``hasher`` (the runtime's keyed chain hash). The first binding also runs
        a pass, for entries a process that died after its commit left behind; a server that
        cannot be reached now is no error here (the next pass does it)."""
        first, self._hasher = self._hasher is None, hasher
        if first:
            try:
                self.sequence_pending()
            except MaaSError as exc:
                logger.warning("no sequencing pass on %s at open: %s", self.location, exc.message)

    def sequence_pending(self, *, wait: bool = True) -> int | None:
        """Run one sequencing pass now (``postgres_chain.py``); return how many entries it chained
        (``None``: ``wait=False`` and another process's pass held the lock)."""
        pool = self._get_pool()
        try:
            conn = pool.getconn()
        except psycopg.Error as exc:
            raise translate(exc, self.location) from exc
        try:
            return sequence(conn, wait=wait, **self._pass_options())
        except psycopg.Error as exc:
            raise translate(exc, self.location) from exc
        finally:
            pgt.release(pool, conn)

    def _pass_options(self) -> dict[str, Any]:
        settings = "".join(f"{s}, " for s in self._write_settings())
        return {
            "lock_key": self._sequencer_key,
            "channel": self._channel(),
            "hasher": self._hasher,
            "settings": settings,
        }

    def _process_sequencer(self) -> Sequencer:
        """What this process owes (``postgres_chain.py``); the leader's listener runs the passes."""
        found = self._sequencer
        if found is None or found.pid != os.getpid():
            with self._lock:
                if self._sequencer is found:
                    self._sequencer = found = Sequencer()
        assert found is not None
        self._process_cache()  # the listener: if this process leads, it chains what was just committed
        return found

    def leader_pass(self, conn: Connection) -> None:
        """The leader's look for pending rows, and a pass if there are some (on its listener's
        connection)."""
        row = conn.execute(PENDING_EXISTS).fetchone()
        if row is not None and row[0]:
            try:
                sequence(conn, **self._pass_options())
            except psycopg.Error:
                pgt.rollback(conn)
                raise

    def _settle(self, conn: Connection) -> None:
        """Before a read of the audit log or the stream: a pass on ``conn`` if this process owes one."""
        found = self._sequencer
        if found is not None and found.pid == os.getpid() and found.behind():
            try:
                found.settle(lambda: sequence(conn, **self._pass_options()))
            except psycopg.Error as exc:  # the read goes on; the entries wait for the next pass
                pgt.rollback(conn)
                logger.warning("a sequencing pass before a read on %s failed (%s)", self.location, first_line(exc))

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def registry_cache_live(self) -> bool:
        """True while this process's registry cache may serve reads (its listener is connected)."""
        return self._cache.usable()

    def wait_for_events(self, after_seq: int, timeout: float) -> None:
        """Block until an event after ``after_seq`` is committed (LISTEN/NOTIFY), or ``timeout``."""
        if not self._closed:
            self._process_cache()
        listener = self._listener
        if listener is None or self._closed or not listener.wait(after_seq, timeout):
            super().wait_for_events(after_seq, timeout)

    def schema_version(self) -> int:
        """Highest applied migration."""
        with self.transaction(write=False) as tx:
            assert isinstance(tx, PgTx)
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
        sequencer = self._sequencer
        owes = sequencer is not None and sequencer.pid == os.getpid() and sequencer.behind()
        if owes and not self._closed:
            with suppress(MaaSError):  # chain what this process committed before the pool goes
                self.sequence_pending()
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._listener is not None:
            self._listener.stop()
        if self._pid == os.getpid():
            with suppress(Exception):
                self._pool.close(timeout=5.0)
