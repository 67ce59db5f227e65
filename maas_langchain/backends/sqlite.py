"""Embedded SQLite backend: one file, WAL, safe for many threads and many processes.

Write transactions start with ``BEGIN IMMEDIATE``, so a read-check-write sequence holds the
write lock from its first statement and never fails half way with ``database is locked``;
a writer that finds the lock taken waits (SQLite's busy handler, then a bounded retry with
backoff) and, only if the lock stays taken past ``busy_timeout``, gets a
:class:`~maas_langchain.errors.BackendUnavailableError` marked retryable. Each thread uses its
own connection; a forked child opens fresh ones.

Durability: ``"normal"`` (WAL + ``synchronous=NORMAL``) survives a crash of the process;
``"full"`` (``synchronous=FULL``) also survives a power cut, at the cost of an fsync per commit.

Damage: a database that vanished or shrank to nothing where a store lived is refused at open
(:mod:`~maas_langchain.backends.sqlite_files`). SQLite's ``SQLITE_CORRUPT`` / ``SQLITE_NOTADB``
(``database disk image is malformed``, ``file is not a database``) become
:class:`~maas_langchain.errors.StorageCorruptedError` (``storage_corrupted``, not retryable),
and once one is seen the backend refuses every write transaction with it until it is reopened:
writing to damaged pages can spread the damage. :meth:`SQLiteBackend.check_integrity` runs
``PRAGMA quick_check`` (``maas status``). ``SQLITE_FULL`` (and a write past the process's file
size limit) becomes :class:`~maas_langchain.errors.StorageFullError`, naming the free space.

Example:
    >>> import tempfile, pathlib
    >>> from maas_langchain.backends.sqlite import SQLiteBackend
    >>> backend = SQLiteBackend(pathlib.Path(tempfile.mkdtemp()) / "maas.db")
    >>> with backend.transaction(write=False) as tx:
    ...     tx.count_pools()
    0
    >>> backend.close()
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from maas_langchain.backends.disk_full import file_size_limit, free_bytes, says_full, storage_full
from maas_langchain.backends.migrations import (
    AUDIT_BOUNDARY,
    applied_names,
    check_applied,
    load_migrations,
    split_statements,
)
from maas_langchain.backends.sql import SQLITE, SqlTx
from maas_langchain.backends.sqlite_files import create_private, make_home, refuse_lost_store, write_marker
from maas_langchain.core.ports.state import StateBackend, StateTx
from maas_langchain.errors import (
    BackendUnavailableError,
    ConflictError,
    InvalidInputError,
    MaaSError,
    StorageCorruptedError,
)

__all__ = ["DURABILITY", "SQLiteBackend", "is_corruption", "translate"]

DURABILITY = {"normal": "NORMAL", "full": "FULL"}
_AUTOCHECKPOINT_PAGES = 20_000
_CHECKPOINT_INTERVAL = 0.5


_IOERR, _CORRUPT, _FULL, _NOTADB = 10, 11, 13, 26  # SQLite's primary result codes
_NEARLY_FULL = 1 << 20  # bytes free below which a "disk I/O error" is taken for a full disk


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_corruption(exc: sqlite3.Error) -> bool:
    """True for ``SQLITE_CORRUPT`` / ``SQLITE_NOTADB`` (any extended code), or their messages."""
    code = _primary_code(exc)
    if code is not None:
        return code in (_CORRUPT, _NOTADB)
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def _out_of_room(exc: sqlite3.Error, where: str) -> bool:
    """A plain ``disk I/O error`` that is most likely no room: the disk has (almost) nothing free
    (opening a store on a full disk fails so, creating its ``-shm`` file), or a file reached the
    process's file size limit (``EFBIG``)."""
    if _primary_code(exc) != _IOERR:
        return False
    free = free_bytes(where)
    if free is not None and free < _NEARLY_FULL:
        return True
    limit = file_size_limit()
    if limit is None:
        return False
    sizes = []
    for suffix in ("", "-wal", "-journal"):
        with suppress(OSError):
            sizes.append(os.path.getsize(where + suffix))
    return max(sizes, default=0) + (1 << 20) >= limit


def translate(exc: sqlite3.Error, where: str) -> MaaSError:
    """Map a driver error onto the MaaS exception tree (a damaged file: ``StorageCorruptedError``;
    no room to write: ``StorageFullError``)."""
    if isinstance(exc, sqlite3.IntegrityError):
        return ConflictError(f"the change conflicts with stored data: {exc}")
    if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
        return BackendUnavailableError(f"the database at {where} stayed locked by other writers; retry", path=where)
    if is_corruption(exc):
        return StorageCorruptedError(
            f"the database at {where} is damaged ({exc}); retrying cannot fix it and this process writes "
            "nothing more to it. `maas status` runs SQLite's integrity check; restore the file from a backup, "
            f'or salvage what is readable with: sqlite3 {where} ".recover" | sqlite3 NEW.db',
            path=where,
        )
    if _primary_code(exc) == _FULL or says_full(exc):
        return storage_full("the database", where, f"SQLite said: {exc}")
    if _out_of_room(exc, where):
        return storage_full("the database", where, f"SQLite said: {exc}", certain=False)
    return BackendUnavailableError(f"the database at {where} failed: {exc}", path=where)


class SQLiteBackend(StateBackend):
    """MaaS state in one SQLite file.

    Args:
        path: The database file (created with its folder if missing).
        durability: ``"normal"`` or ``"full"`` (see the module docstring).
        busy_timeout: Seconds a writer waits for the lock before giving up.
    """

    name = "sqlite"

    def __init__(self, path: str | os.PathLike[str], *, durability: str = "normal", busy_timeout: float = 60.0) -> None:
        if durability not in DURABILITY:
            raise InvalidInputError(f"durability must be one of {sorted(DURABILITY)}, got {durability!r}")
        self.path = Path(path)
        self.location = str(self.path)
        self.durability = durability
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._damage: str | None = None  # what showed this file is damaged: writes are refused
        make_home(self.path.parent)
        refuse_lost_store(self.path)  # before SQLite turns a lost database into a new, empty one
        create_private(self.path)
        self.fresh_audit_boundary = AUDIT_BOUNDARY in applied_names("sqlite", self.migrate())
        write_marker(self.path)
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="maas-wal-checkpoint", daemon=True)
        self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        """Copy the WAL back into the database off the commit path (PASSIVE: blocks no one).

        With SQLite's default, the commit that crosses 1,000 WAL pages does the checkpoint
        itself, which put a multi-millisecond tail on ordinary writes.
        """
        try:
            conn = sqlite3.connect(self.path, timeout=1.0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return
        with suppress(sqlite3.Error):
            while not self._stop.wait(_CHECKPOINT_INTERVAL):
                with suppress(sqlite3.OperationalError):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        conn.close()

    # --- failures -------------------------------------------------------------------------
    def _fail(self, exc: sqlite3.Error) -> MaaSError:
        """:func:`translate` ``exc``; a sign of damage also stops every later write."""
        error = translate(exc, self.location)
        if isinstance(error, StorageCorruptedError) and self._damage is None:
            self._damage = str(exc)  # not logged: the error says it (and the command line prints one line)
        return error

    def _refuse_writes(self) -> None:
        """Raise if this file is known to be damaged (see the module docstring)."""
        if self._damage is not None:
            raise StorageCorruptedError(
                f"the database at {self.location} was found damaged ({self._damage}); writes are refused until "
                "it is repaired and reopened (`maas status` runs SQLite's integrity check; restore it from a backup)",
                path=self.location,
            )

    def check_integrity(self, max_problems: int = 20) -> list[str]:
        """Run SQLite's ``PRAGMA quick_check`` (every page and record, without checking index
        contents: linear in the file's size); return the problems, ``[]`` when the file is sound.
        Problems found stop every later write, as a damaged page met by a query does."""
        try:
            rows = self._conn().execute(f"PRAGMA quick_check({int(max_problems)})").fetchall()
            problems = [str(row[0]) for row in rows if str(row[0]) != "ok"]
        except sqlite3.Error as exc:
            if not is_corruption(exc):
                raise self._fail(exc) from exc
            problems = [str(exc)]  # what the check met is its finding (reported by the caller, not logged)
        if problems and self._damage is None:
            self._damage = f"quick_check: {problems[0]}"
        return problems

    # --- connections ------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {DURABILITY[self.durability]}")
            conn.execute("PRAGMA foreign_keys = ON")
            # commits leave checkpointing to the background thread; this is only a safety net
            conn.execute(f"PRAGMA wal_autocheckpoint = {_AUTOCHECKPOINT_PAGES}")
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc
        with self._lock:
            self._all.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise BackendUnavailableError(f"the backend for {self.location} is closed")
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.pid, local.conn, local.depth = os.getpid(), self._connect(), 0
        conn: sqlite3.Connection = local.conn
        return conn

    def _begin(self, conn: sqlite3.Connection, statement: str) -> None:
        try:
            conn.execute(statement)
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise self._fail(exc) from exc
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.001
        while True:
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.05)
            try:
                conn.execute(statement)
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise self._fail(exc) from exc

    def transaction(self, *, write: bool) -> _Transaction:
        """A transaction on this thread's connection (``BEGIN IMMEDIATE`` for writes); a
        nested call joins the one already open on this thread."""
        return _Transaction(self, write)

    def _commit(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(conn)
            raise self._fail(exc) from exc

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    # --- schema -----------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply pending migrations, each in its own transaction; return their versions.

        Safe when several processes open the same file at once: each step re-checks under
        the write lock.
        """
        self._refuse_writes()
        known = load_migrations("sqlite")
        conn = self._conn()
        applied_now: list[int] = []
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc
        for migration in known:
            self._begin(conn, "BEGIN IMMEDIATE")
            try:
                rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
                if migration in check_applied(known, dict(rows), self.location):
                    for statement in split_statements(migration.sql, sqlite3.complete_statement):
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                        (migration.version, migration.name, migration.checksum, time.time()),
                    )
                    applied_now.append(migration.version)
                conn.execute("COMMIT")
            except BaseException as exc:
                self._rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    raise self._fail(exc) from exc
                raise
        return applied_now

    def schema_version(self) -> int:
        """Highest applied migration."""
        try:
            row = self._conn().execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc
        return int(row[0] or 0)

    def info(self) -> dict[str, Any]:
        """Backend facts for ``maas status``."""
        size = self.path.stat().st_size if self.path.exists() else 0
        return {
            "backend": self.name,
            "location": self.location,
            "durability": self.durability,
            "schema_version": self.schema_version(),
            "size_bytes": size,
        }

    def close(self) -> None:
        """Close every connection this backend opened. Idempotent."""
        self._closed = True
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
            self._checkpointer.join(timeout=5)
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with suppress(sqlite3.Error):
                conn.close()


class _Transaction:
    """The context manager of :meth:`SQLiteBackend.transaction` (a class: puts are hot)."""

    __slots__ = ("backend", "conn", "outer", "write")

    def __init__(self, backend: SQLiteBackend, write: bool) -> None:
        self.backend = backend
        self.write = write

    def __enter__(self) -> StateTx:
        backend = self.backend
        conn = self.conn = backend._conn()
        local = backend._local
        self.outer = not local.depth
        if self.outer:
            if self.write and backend._damage is not None:
                backend._refuse_writes()
            backend._begin(conn, "BEGIN IMMEDIATE" if self.write else "BEGIN")
        local.depth += 1
        return SqlTx(conn.cursor(), SQLITE)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        backend = self.backend
        backend._local.depth -= 1
        if not self.outer:  # joined: the outer transaction commits or rolls back
            return
        if exc is None:
            backend._commit(self.conn)
            return
        backend._rollback(self.conn)
        if isinstance(exc, sqlite3.Error):
            raise backend._fail(exc) from exc
