"""One PostgreSQL transaction: lazy begin, claimed locks, and the audit/event tail at commit.

How writers proceed in parallel (the module docstring of ``postgres.py`` has the whole picture):

* **Lazy begin.** Nothing is sent when a transaction opens. The first statement (or a claim)
  sends ``BEGIN`` together with the locks, in one round trip; a read transaction whose reads
  are all served by the registry cache never talks to the server. Reads the core declares
  (:meth:`PgTx.prefetch`) travel in that first batch too (``postgres_ahead.py``).
* **Claims.** A write transaction that calls :meth:`PgTx.claim` first takes the schema's
  advisory lock *shared* plus one exclusive transaction-scoped advisory lock per claimed
  resource, so it waits only for writers of the same resource (or one per resource *shared*: the
  shares of a pool, whose upserts check its count as they write). Every other write takes the schema lock
  *exclusive*, as all writers did before: it runs alone, so code that has not declared what it
  contends on keeps its read-check-write guarantees.
* **The tail.** Audit entries (:meth:`PgTx.chain_audit`) and events (:meth:`PgTx.append_event`)
  are kept in the transaction and written at commit into ``audit_pending`` / ``events_pending``,
  in the same pipelined batch as ``COMMIT``; no writer locks the audit head or the event counter.
  Sequencing passes chain them (``postgres_chain.py``). A transaction that reads the audit log
  or the stream after adding to it (or a backend with no runtime's hasher bound) chains them
  inside itself instead, under the head's row lock (:meth:`PgSession.flush`), as every
  transaction did before; a read transaction that reaches the server runs a pass first if its
  process still owes one, so its snapshot holds that process's own entries.
* **Writes sent later.** A write whose result the core does not need (a share's upsert, a new
  handoff, a handoff's compare-and-set that must hold: :meth:`PgSession.defer`) travels with
  the next statement, or with the tail and ``COMMIT``, in its place in the order: a write
  transaction is two round trips, not three. Its error surfaces with that batch, whose first
  error aborts the rest, ``COMMIT`` included; such a compare-and-set fails its own statement
  when it matches no row (migration 0017's ``maas_refuse``).
* **One statement.** A single LangGraph store put (``postgres_put.put_alone``, the common case) is one
  statement outside any transaction, so it is its own transaction: its settings, the schema lock
  (exclusive, as above), the upsert and the cache counter's bump in one round trip, as
  LangGraph's ``PostgresStore`` autocommits its put.
* **The thin path.** Every batch above (the first, each later statement, the commit's) goes
  through ``postgres_wire.batch``: one pipelined libpq batch of prepared statements, without
  psycopg's per-statement cursor machinery, which was most of a write's client CPU.

SERIALIZABLE with a whole-transaction retry was the alternative: it would abort same-pool
writers against each other on every capacity check, and a ``with backend.transaction()`` block
cannot be re-run from inside the backend.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import psycopg

from maas_langchain.backends import postgres_wire as wire
from maas_langchain.backends.postgres_ahead import Ahead, Captured, Rows, Statement
from maas_langchain.backends.postgres_cache import MISSING, RegistryCache
from maas_langchain.backends.postgres_chain import Hasher, refused_pending
from maas_langchain.backends.sql import Dialect, SqlTx
from maas_langchain.backends.sql_codec import (
    AGENT_COLUMNS,
    AUDIT_COLUMNS,
    MEMBER_COLUMNS,
    POOL_COLUMNS,
    agent_from_row,
    audit_params,
    dump,
    member_from_row,
    pool_from_row,
)
from maas_langchain.core.enums import EventKind
from maas_langchain.core.records import Agent, AuditEvent, MaaSEvent, Membership, Pool

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

__all__ = ["PgSession", "PgTx", "ThreadState", "claim_key", "schema_lock_key"]

Connection = psycopg.Connection[Any]
_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
_EVENTS = (
    "WITH c AS (UPDATE counters SET value = value + %s WHERE name = 'events' RETURNING value), "
    "ins AS (INSERT INTO events (seq, kind, timestamp, pool_id, data) "
    "SELECT c.value - %s + v.n, v.kind, v.ts, v.pool_id, v.data FROM c, "
    "(VALUES {rows}) AS v(n, kind, ts, pool_id, data)) "
    "SELECT pg_notify(%s, c.value::text) FROM c"
)
_EVENT_ROW = "(%s::bigint, %s::text, %s::float8, %s::text, %s::text)"


def schema_lock_key(schema: str) -> int:
    """The advisory-lock key of ``schema`` itself (its writers' shared or exclusive lock)."""
    digest = hashlib.blake2b(f"maas_langchain:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class ThreadState(threading.local):
    """The transaction open on this thread (joined by nested calls), per process."""

    pid: int = 0
    session: PgSession | None = None


def claim_key(schema: str, kind: str, name: str) -> int:
    """The advisory-lock key of one claimed resource of ``schema``."""
    digest = hashlib.blake2b(f"maas_langchain:{schema}:{kind}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PgSession:
    """The state of one open transaction, shared by the outer :class:`PgTx` and any joined one.

    Args:
        pool: The pool the connection comes from (a dead connection is swapped for another one).
        conn: A checked-out connection (autocommit; the transaction is begun explicitly), or ``None``:
            one is checked out when a statement first needs it (a read the registry cache serves takes none).
        write: A write transaction.
        settings: ``set_config`` calls a write transaction runs with its locks, first (timeouts, durability).
        schema: The schema, for lock keys.
        global_key: The schema's advisory-lock key.
        channel: The LISTEN/NOTIFY channel of events.
        retries: How many times a dead connection is replaced before giving up.
        cache: The registry cache a read transaction may use (``None``: read the database).
        hasher: The runtime's chain hash (``None``: none is bound, so audit entries are chained
            inside the transaction, and pending ones cannot be checked).
        settle: Runs a pass on the idle connection if this process left something pending (before a read).
    """

    def __init__(
        self,
        pool: ConnectionPool[Connection],
        conn: Connection | None,
        *,
        write: bool,
        settings: Sequence[str],
        schema: str,
        global_key: int,
        channel: str,
        retries: int,
        cache: RegistryCache | None = None,
        hasher: Hasher | None = None,
        settle: Callable[[Connection], None] | None = None,
    ) -> None:
        self.pool, self.held, self.write = pool, conn, write
        self.cache = cache
        self.hasher, self.settle = hasher, settle
        self.generation = cache.generation if cache is not None else 0  # before any snapshot is taken
        self.touched: set[tuple[str, ...]] = set()
        self.touched_all = False
        self._settings, self._schema, self._global, self._channel = settings, schema, global_key, channel
        self._retries = retries
        self.begun = False
        self._claims: list[int] | None = None  # None: unclaimed, the schema lock exclusive
        self._shared = False  # the claims held shared
        self.audit: list[Callable[[int, str], AuditEvent]] = []
        self.events: list[tuple[EventKind, float, str | None, dict[str, Any]]] = []
        self.cursor_obj: Any = None
        self.ahead = Ahead()
        self.later: list[Statement] = []

    @property
    def conn(self) -> Connection:
        """The transaction's connection, checked out of the pool on first use."""
        if self.held is None:
            self.held = self.pool.getconn()
        return self.held

    @conn.setter
    def conn(self, value: Connection) -> None:
        self.held = value

    def forget_touched(self) -> None:
        """Drop from the cache what this (committed, or maybe committed) transaction changed."""
        if self.cache is None:
            return
        if self.touched_all:
            self.cache.clear()
        elif self.touched:
            self.cache.drop(self.touched)

    # --- begin ------------------------------------------------------------------------
    def _begin_statements(self) -> list[Statement]:
        if not self.write:
            return [(_READ, ())]
        if self._claims is not None:
            keys = sorted(set(self._claims))
            each = ", pg_advisory_xact_lock_shared(%s)" if self._shared else ", pg_advisory_xact_lock(%s)"
            locks = "pg_advisory_xact_lock_shared(%s)" + each * len(keys)
            params = (self._global, *keys)
        else:
            locks, params = "pg_advisory_xact_lock(%s)", (self._global,)
        # the settings come first in the select list: lock_timeout applies to the waits after it;
        # the keys are parameters, so the statement's text (prepared once per connection) repeats
        return [(wire.BEGIN_WRITE, ()), (f"SELECT {', '.join([*self._settings, locks])}", params)]

    def run_first(self, sql: str | None, params: tuple[Any, ...] = (), ahead: Sequence[Statement] = ()) -> Any:
        """Begin the transaction, with the locks, pipelined with the reads sent ``ahead``
        (``postgres_ahead.py``) and its first statement (``sql``): one round trip. A connection
        found dead is replaced and the whole batch re-sent, which is safe because nothing of it ran."""
        if not self.write and self.settle is not None:  # its snapshot then holds this process's own entries
            self.settle(self.conn)
        begin, later, self.later = self._begin_statements(), self.later, []
        statements = [*begin, *ahead, *later]
        if sql is not None:
            statements.append((sql, params))
        for attempt in range(1, self._retries + 1):
            try:
                results = wire.batch(self.conn, statements)
                break
            except psycopg.Error:
                if not (attempt < self._retries and self.conn.broken):
                    self.begun = True  # whatever ran is rolled back when the connection is released
                    raise
                with suppress(Exception):
                    self.pool.putconn(self.conn)
                self.conn = self.pool.getconn()
        self.begun = True
        self.ahead.fill(ahead, results[len(begin) : len(begin) + len(ahead)])
        return results[-1] if sql is not None else None

    def cursor(self) -> Any:
        """A cursor of the begun transaction (begun if it is not yet), writes sent later sent."""
        if not self.begun:
            self.run_first(None)
        elif self.later:
            self._send([])
        if self.cursor_obj is None:
            self.cursor_obj = self.conn.cursor()
        return self.cursor_obj

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """Run one statement of the begun transaction (beginning it if it is not yet)."""
        if not self.begun:
            rows: Rows = self.run_first(sql, tuple(params))
            return rows
        return self._send([(sql, tuple(params))])[-1]

    def defer(self, sql: str, params: Sequence[Any]) -> None:
        """Send the write ``sql`` with the next batch (module docstring, "writes sent later")."""
        self.ahead.drop()
        self.later.append((sql, tuple(params)))

    def claim(self, resources: Sequence[tuple[str, str]], shared: bool = False) -> None:
        """Hold the schema lock shared and ``resources`` exclusive (or ``shared``), from the first
        statement on (module docstring); after the first statement a claim changes nothing."""
        if self.write and not self.begun:
            self._claims = [claim_key(self._schema, kind, name) for kind, name in resources]
            self._shared = shared

    # --- the tail ---------------------------------------------------------------------
    def flush(self) -> None:
        """Chain the kept audit entries and number the kept events inside this transaction, now
        (a read of the audit log or the stream in the same transaction sees them)."""
        self._tail(commit=False)

    def commit(self) -> bool:
        """Commit, the kept entries and events going to the pending tables in one statement of the
        same pipelined batch; True when it left something for a sequencing pass (``postgres_chain.py``).
        Without a bound hasher entries are chained inside the transaction instead, as before."""
        if not self.audit and not self.events:
            if self.begun or self.later:
                self._send([("COMMIT", ())])
            return False
        if self.audit and self.hasher is None:
            self._tail(commit=True)
            return False
        pending = [_pending_row(build) for build in self.audit]
        events = [(kind.value, ts, pool_id, dump(data)) for kind, ts, pool_id, data in self.events]
        self.audit, self.events = [], []
        tail = (_tail_sql(len(pending), len(events)), tuple(v for row in (*pending, *events) for v in row))
        self._send([tail, ("COMMIT", ())])
        return True

    def _send(self, statements: list[Statement]) -> list[Rows]:
        """``statements`` after the writes sent later, in one round trip once begun; their results."""
        if not self.begun:
            self.run_first(None)
        later, self.later = self.later, []
        return wire.batch(self.conn, [*later, *statements])[len(later) :]

    def _tail(self, *, commit: bool) -> None:
        audit, events = self.audit, self.events
        if not audit and not events:
            if commit and (self.begun or self.later):
                self._send([("COMMIT", ())])
            return
        self.ahead.drop()  # it writes the audit log and the stream: a read sent ahead may be stale now
        cur = self.cursor()
        entries: list[AuditEvent] = []
        if audit:
            seq, prev = cur.execute("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE").fetchone()
            seq, prev = int(seq), str(prev)
            for build in audit:
                entry = build(seq, prev)
                entries.append(entry)
                seq, prev = entry.seq, entry.hash
        self.audit, self.events = [], []
        with self.conn.pipeline():
            for entry in entries:
                cur.execute(_INSERT_AUDIT, audit_params(entry))
                cur.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (entry.seq, entry.hash))
            if events:
                rows = ", ".join(_EVENT_ROW for _ in events)
                params: list[Any] = [len(events), len(events)]
                for n, (kind, ts, pool_id, data) in enumerate(events, 1):
                    params += [n, kind.value, ts, pool_id, dump(data)]
                cur.execute(_EVENTS.format(rows=rows), (*params, self._channel))
            if commit:
                self.conn.execute("COMMIT")


def _pending_row(build: Callable[[int, str], AuditEvent]) -> tuple[Any, ...]:
    nonce = secrets.token_hex(32)
    entry = build(-1, nonce)  # sequence 0 after the nonce: its hash is the pending row's MAC
    return (
        nonce,
        entry.hash,
        entry.timestamp,
        entry.event_type.value,
        entry.action,
        entry.actor,
        entry.target,
        entry.outcome,
        entry.reason,
        dump(entry.details),
    )


_PENDING_AUDIT = "INSERT INTO audit_pending (nonce, mac, timestamp, event_type, action, actor, target, outcome, reason, details) VALUES "
_PENDING_EVENT = "INSERT INTO events_pending (kind, timestamp, pool_id, data) VALUES "


def _tail_sql(entries: int, events: int) -> str:
    """One statement for a commit's pending audit entries and events (data-modifying CTEs)."""
    parts = []
    if entries:
        parts.append(_PENDING_AUDIT + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * entries))
    if events:
        parts.append(_PENDING_EVENT + ", ".join(["(%s, %s, %s, %s)"] * events))
    if len(parts) == 1:
        return parts[0]
    return f"WITH a AS ({parts[0]}) {parts[1]}"


_AGENT = f"SELECT {AGENT_COLUMNS} FROM agents WHERE agent_id = ?"
_POOL = f"SELECT {POOL_COLUMNS} FROM pools WHERE pool_id = ?"
_MEMBER = f"SELECT {MEMBER_COLUMNS} FROM memberships WHERE pool_id = ? AND agent_id = ?"
_INSERT_AUDIT = f"INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"


class PgTx(SqlTx):
    """:class:`SqlTx` over a :class:`PgSession`: statements begin the transaction lazily, and
    audit entries and events wait for the tail (module docstring)."""

    def __init__(self, session: PgSession, dialect: Dialect) -> None:  # not SqlTx.__init__: _cur is lazy
        self._session = session
        self._d = dialect

    @property
    def _cur(self) -> Any:
        session = self._session
        if session.ahead.capturing is not None:
            raise Captured("cursor")
        session.ahead.drop()  # a statement sent on the cursor itself is unseen: nothing read ahead is served after it
        return session.cursor()

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any:
        session, text, args = self._session, self._d.sql(sql), tuple(params)
        if session.ahead.capturing is not None:
            session.ahead.record(text, args)
        if not session.begun:
            return session.run_first(text, args)
        found = session.ahead.take(text, args)
        if found is not None:
            return found
        return session.execute(text, args)

    def _exec_later(self, sql: str, params: Sequence[Any] = ()) -> None:
        session, text, args = self._session, self._d.sql(sql), tuple(params)
        if session.ahead.capturing is not None:
            session.ahead.record(text, args)  # not a read: stops the getter
        session.defer(text, args)

    def prefetch(self, *reads: Callable[[], object]) -> None:
        """Send the reads' first statements with ``BEGIN`` and the locks (``postgres_ahead.py``)."""
        session = self._session
        if session.begun or not reads:
            return
        ahead = session.ahead.capture(reads)
        if not session.begun:  # a read that flushed kept audit entries has begun it: send nothing ahead
            session.run_first(None, ahead=ahead)

    # --- the registry cache (read transactions) and what a write drops from it -----------
    def _cached(self, key: tuple[str, ...], sql: str, params: tuple[str, ...]) -> Any:
        cache = self._session.cache
        if cache is None or self._session.write or not cache.usable():
            return self._one(sql, params)
        row = cache.lookup(key)
        if row is MISSING:
            row = self._one(sql, params)
            cache.fill(key, None if row is None else tuple(row), self._session.generation)
        return row

    def get_agent(self, agent_id: str) -> Agent | None:
        row = self._cached(("a", agent_id), _AGENT, (agent_id,))
        return None if row is None else agent_from_row(row)

    def get_pool(self, pool_id: str) -> Pool | None:
        row = self._cached(("p", pool_id), _POOL, (pool_id,))
        return None if row is None else pool_from_row(row)

    def get_membership(self, pool_id: str, agent_id: str) -> Membership | None:
        row = self._cached(("m", pool_id, agent_id), _MEMBER, (pool_id, agent_id))
        return None if row is None else member_from_row(row)

    def insert_agent(self, agent: Agent) -> None:
        self._session.touched.add(("a", agent.agent_id))
        super().insert_agent(agent)

    def set_agent_active(self, agent_id: str, active: bool) -> bool:
        self._session.touched.add(("a", agent_id))
        return super().set_agent_active(agent_id, active)

    def delete_agent(self, agent_id: str) -> bool:
        self._session.touched_all = True  # and every membership of the agent
        return super().delete_agent(agent_id)

    def insert_pool(self, pool: Pool) -> None:
        self._session.touched.add(("p", pool.pool_id))
        super().insert_pool(pool)

    def set_pool_status(self, pool: Pool) -> None:
        self._session.touched.add(("p", pool.pool_id))
        super().set_pool_status(pool)

    def delete_pool(self, pool_id: str) -> bool:
        self._session.touched_all = True  # and every membership of the pool
        return super().delete_pool(pool_id)

    def upsert_membership(self, membership: Membership) -> None:
        self._session.touched.add(("m", membership.pool_id, membership.agent_id))
        super().upsert_membership(membership)

    def delete_membership(self, pool_id: str, agent_id: str) -> bool:
        self._session.touched.add(("m", pool_id, agent_id))
        return super().delete_membership(pool_id, agent_id)

    def audit_guards(self) -> list[str]:
        problems = super().audit_guards()
        refused = refused_pending(self._cur, self._session.hasher)
        if refused:
            problems.append(
                f"{refused} pending audit entries were written without the audit key or repeat entries already in "
                "the chain (audit_pending); they were never chained"
            )
        return problems

    def schema_version(self) -> int:
        """Highest applied migration."""
        return int(self._one("SELECT MAX(version) FROM schema_migrations")[0] or 0)

    def claim(self, *resources: tuple[str, str], shared: bool = False) -> None:
        self._session.claim(resources, shared)

    def chain_audit(self, build: Callable[[int, str], AuditEvent]) -> None:
        if not self._session.write:
            super().chain_audit(build)  # the server refuses the write of a read transaction
            return
        self._session.audit.append(build)

    def append_event(self, kind: EventKind, timestamp: float, pool_id: str | None, data: dict[str, Any]) -> int:
        if not self._session.write:
            return super().append_event(kind, timestamp, pool_id, data)
        self._session.events.append((kind, timestamp, pool_id, data))
        return 0

    # Reads of the chain or the stream: a write transaction chains what it kept first (it reads
    # its own entries); a read transaction has already let a pass chain what this process
    # committed, before it began (run_first).
    def _before_audit_read(self) -> None:
        if self._session.write:
            self._session.flush()

    def lock_audit_head(self) -> tuple[int, str]:
        self._before_audit_read()
        return super().lock_audit_head()

    def count_audit(self) -> int:
        self._before_audit_read()
        return super().count_audit()

    def query_audit(self, query: Any) -> list[AuditEvent]:
        self._before_audit_read()
        return super().query_audit(query)

    def read_events(self, after_seq: int, pool_id: str | None, limit: int) -> list[MaaSEvent]:
        self._before_audit_read()
        return super().read_events(after_seq, pool_id, limit)

    def event_head(self) -> int:
        self._before_audit_read()
        return super().event_head()
