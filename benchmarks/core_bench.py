"""Core benchmark: registry lookup, handoff cycle, scoped pool query, concurrent writers, write scaling.

Every operation runs on four configurations in one process, side by side: the in-memory
reference backend, SQLite with ``durability="normal"`` (WAL + ``synchronous=NORMAL``), SQLite
with ``durability="full"`` and PostgreSQL (``durability="normal"``, the server's
``synchronous_commit``). Audit is on everywhere; the background sweeper is off.

PostgreSQL runs in a fresh schema ``maas_bench_<random>`` of the database at ``--postgres``
(default ``$MAAS_BENCH_POSTGRES_URL``, else ``postgresql://postgres@127.0.0.1:5432/test``),
created before the run and dropped after it, also when the run fails. An unreachable server
skips only that configuration, with a message; ``--no-postgres`` skips it on purpose.

The write-scaling section (``core_scaling.py``) measures ``share_memory`` throughput with 1, 2, 4,
8 and 16 writer processes, into one pool and into a pool per writer, on SQLite normal and
PostgreSQL; the report ends with the targets of issue 19, each pass or FAIL.

Usage:
    .venv/bin/python -m benchmarks.core_bench                  # full run
    .venv/bin/python -m benchmarks.core_bench --quick --out /tmp/bench
    .venv/bin/python -m benchmarks.core_bench --no-postgres    # in-memory and SQLite only
    .venv/bin/python -m benchmarks.core_bench --only write_scaling,registry_lookup --out /tmp/b

A full run writes ``docs/benchmarks.md``, ``docs/img/core_bench.png``,
``docs/img/core_write_scaling.png`` and ``benchmarks/results/core_bench.json``; with ``--out DIR``
they go to ``DIR/benchmarks.md``, ``DIR/img/`` and ``DIR/core_bench.json`` instead (``--only``
needs ``--out``). Without matplotlib the plots are skipped and everything else is still written.
``benchmarks/compare_runs.py`` puts two reports side by side (before and after a change).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gc
import itertools
import multiprocessing as mp
import os
import platform
import random
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any
from unittest import mock
from urllib.parse import quote, urlsplit

from benchmarks import core_scaling
from benchmarks.reporting import write_report
from maas_langchain import (
    Agent,
    AgentType,
    HandoffContext,
    MaaS,
    PermissionModel,
    SharedMemory,
    SharedScope,
)
from maas_langchain.core.access import audience_filter
from maas_langchain.core.ports.state import iter_chunks

__all__ = [
    "CONFIGS",
    "FULL",
    "OPS",
    "POSTGRES_URL",
    "QUICK",
    "SCALING_PROCESSES",
    "SECTIONS",
    "Config",
    "Op",
    "Sizes",
    "main",
    "postgres_unavailable",
    "run",
    "select_configs",
]

ROOT = Path(__file__).resolve().parent.parent
Result = dict[str, Any]


@dataclass(frozen=True)
class Config:
    """One backend configuration under test.

    Attributes:
        key: Short name used in the JSON.
        label: Name for people.
        durability: ``durability=`` of ``MaaS.open``, or ``None`` for the in-memory backend.
        backend: ``"memory"``, ``"sqlite"`` or ``"postgres"``.
    """

    key: str
    label: str
    durability: str | None
    backend: str = "sqlite"


CONFIGS = (
    Config("memory", "in-memory", None, "memory"),
    Config("sqlite_normal", "SQLite normal", "normal"),
    Config("sqlite_full", "SQLite full", "full"),
    Config("postgres", "PostgreSQL", "normal", "postgres"),
)

POSTGRES_URL = os.environ.get("MAAS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
POSTGRES_HELP = (
    "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, "
    "point --postgres at another server, or pass --no-postgres"
)


@dataclass(frozen=True)
class Op:
    """One measured operation and its target.

    Attributes:
        key: Short name used in the JSON.
        title: Name for people.
        target_p95_ms: p95 target in ms, or ``None`` when the target is not a latency.
        target_text: The target as the report states it.
    """

    key: str
    title: str
    target_p95_ms: float | None
    target_text: str


OPS = (
    Op("registry_lookup", "Registry lookup (get_agent)", 0.05, "p95 ≤ 0.05 ms"),
    Op("handoff_cycle", "Handoff cycle (initiate + accept + complete)", 2.0, "p95 ≤ 2 ms"),
    Op("query_shared", "query_shared, limit=100, pool at the cap", 20.0, "p95 ≤ 20 ms"),
    Op("query_shared_sparse", "query_shared worst case, 0.1 % visible (extra)", 20.0, "p95 ≤ 20 ms"),
    Op("concurrent_writes", "16 concurrent writers, share_memory", None, "0 lost writes"),
)


SCALING_PROCESSES = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class Sizes:
    """Iteration counts and data sizes of one run. The write-scaling section runs every count of
    writer processes in ``scaling_processes``, each writer writing ``writes_per_writer`` shares."""

    agents: int
    lookups: int
    lookup_warmup: int
    handoffs: int
    handoff_warmup: int
    cleanup_every: int
    pool_shares: int
    queries: int
    query_warmup: int
    sparse_queries: int
    seed_batch: int
    writers: int
    writes_per_writer: int
    rounds: int
    scaling_processes: tuple[int, ...] = SCALING_PROCESSES


FULL = Sizes(1_000, 20_000, 2_000, 3_000, 200, 500, 100_000, 500, 20, 50, 5_000, 16, 200, 10)
QUICK = Sizes(50, 500, 50, 60, 10, 25, 2_000, 20, 3, 6, 1_000, 16, 10, 2)

# Audience mix of the query pool: who the authors are and how widely they share.
_OWNERS, _PROJECTS, _TEAMS, _AUTHORS = 4, 6, 8, 48
_SCOPE_MIX = (
    (SharedScope.AGENT_PRIVATE, 20),
    (SharedScope.USER, 25),
    (SharedScope.PROJECT, 25),
    (SharedScope.TEAM, 15),
    (SharedScope.GLOBAL, 15),
)
_SPARSE_EVERY = 1_000  # the sparse reader authored one share in this many

# What ``--only`` can select: the operations of ``OPS`` and the write-scaling section.
SECTIONS = (*(op.key for op in OPS), "write_scaling")


def log(message: str) -> None:
    """Progress on stderr, so stdout carries only the results table."""
    print(message, file=sys.stderr, flush=True)


# --- statistics ---------------------------------------------------------------------------
def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile ``q`` (0..100) of already sorted values."""
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def summarize(samples_ns: Sequence[int]) -> Result:
    """p50/p95/p99, mean and max in milliseconds of nanosecond samples."""
    ms = sorted(s / 1e6 for s in samples_ns)
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 6),
        "p95_ms": round(percentile(ms, 95), 6),
        "p99_ms": round(percentile(ms, 99), 6),
        "mean_ms": round(statistics.fmean(ms), 6) if ms else 0.0,
        "max_ms": round(ms[-1], 6) if ms else 0.0,
    }


def time_calls(fn: Callable[[], object], n: int, warmup: int) -> list[int]:
    """Call ``fn`` ``warmup`` times untimed, then ``n`` times; return each duration in ns."""
    for _ in range(warmup):
        fn()
    gc.collect()
    clock = time.perf_counter_ns
    samples = []
    for _ in range(n):
        start = clock()
        fn()
        samples.append(clock() - start)
    return samples


# --- PostgreSQL -------------------------------------------------------------------------------
def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _display(url: str) -> str:
    """``url`` without its password, for people."""
    try:
        from maas_langchain.backends.postgres import display_location
    except ImportError:
        return url.split("@", 1)[-1]
    return display_location(url)


def postgres_unavailable(url: str) -> str | None:
    """Why the PostgreSQL configuration cannot run against ``url``, or ``None`` when it can."""
    try:
        import psycopg
    except ImportError:
        return 'psycopg is not installed (pip install -e ".[postgres]"); or pass --no-postgres'
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {_display(url)} is unreachable ({_first_line(exc)}); {POSTGRES_HELP}"
    return None


def select_configs(postgres_url: str | None) -> tuple[list[Config], str | None]:
    """The configurations to run, and why PostgreSQL is left out (``None`` when it runs).

    ``postgres_url=None`` leaves PostgreSQL out on purpose (``--no-postgres``)."""
    configs = [c for c in CONFIGS if c.backend != "postgres"]
    reason = "--no-postgres was given" if postgres_url is None else postgres_unavailable(postgres_url)
    if reason is None:
        configs += [c for c in CONFIGS if c.backend == "postgres"]
    return configs, reason


def schema_url(base_url: str, schema: str) -> str:
    """``base_url`` with ``schema`` as the whole ``search_path``."""
    option = f"options={quote(f'-csearch_path={schema}', safe='')}"
    return f"{base_url}{'&' if '?' in base_url else '?'}{option}"


def _admin(base_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("SET lock_timeout = '30s'")
        conn.execute(statement)


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """Create a fresh schema ``maas_bench_<random>``; yield the URL that selects it; drop it
    afterwards, also when the body fails."""
    schema = f"maas_bench_{secrets.token_hex(6)}"
    _admin(base_url, f"CREATE SCHEMA {schema}")
    log(f"PostgreSQL: created schema {schema}")
    try:
        yield schema_url(base_url, schema)
    finally:
        try:
            _admin(base_url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            log(f"PostgreSQL: dropped schema {schema}")
        except Exception as exc:
            log(f"PostgreSQL: could not drop schema {schema} ({_first_line(exc)}); drop it by hand")


def analyze_schema(url: str) -> None:
    """ANALYZE every table of the schema ``url`` selects, so the planner knows the seeded pool's
    size (autovacuum would do it soon after a pool grows; a fresh bulk load has no statistics)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        for table in tables:
            conn.execute(f'ANALYZE "{table}"')


def query_before_analyze(maas: MaaS, pool: QueryPool, url: str, sizes: Sizes) -> Result:
    """The typical query on the freshly seeded pool, before :func:`analyze_schema` (not part of
    the results table); ``autoanalyzed`` says whether autovacuum analyzed the table first."""
    import psycopg

    call = functools.partial(maas.pools.query_shared, pool.pool_id, pool.reader.agent_id, SharedScope.GLOBAL, limit=100)
    samples = time_calls(call, max(3, sizes.sparse_queries // 5), 1)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT last_autoanalyze IS NOT NULL FROM pg_stat_user_tables "
            "WHERE schemaname = current_schema() AND relname = 'shared_memories'"
        ).fetchone()
    return {"n": len(samples), "p50_ms": summarize(samples)["p50_ms"], "autoanalyzed": bool(row and row[0])}


def _median_ms(fn: Callable[[], object], n: int) -> float:
    return round(statistics.median(time_calls(fn, n, 10)) / 1e6, 4)


def postgres_facts(url: str) -> Result:
    """Server settings and the cost of a round trip and of a commit, measured in the schema of
    ``url`` (what every MaaS call on PostgreSQL pays)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:

        def show(name: str) -> str:
            row = conn.execute(f"SHOW {name}").fetchone()
            return str(row[0]) if row else "?"

        facts: Result = {
            "location": _display(url),
            "schema": show("search_path"),
            "version": show("server_version"),
            "synchronous_commit": show("synchronous_commit"),
            "fsync": show("fsync"),
            "wal_sync_method": show("wal_sync_method"),
            "roundtrip_p50_ms": _median_ms(lambda: conn.execute("SELECT 1"), 500),
        }
        conn.execute("CREATE TABLE bench_commit_probe (x INTEGER)")
        for setting in ("on", "off"):
            conn.execute(f"SET synchronous_commit = {setting}")
            facts[f"insert_commit_sync_{setting}_p50_ms"] = _median_ms(
                lambda: conn.execute("INSERT INTO bench_commit_probe VALUES (1)"), 300
            )
        conn.execute("DROP TABLE bench_commit_probe")
    return facts


# --- setup helpers --------------------------------------------------------------------------
@contextmanager
def config_location(config: Config, folder: Path, postgres_url: str) -> Iterator[str]:
    """Where ``config`` keeps its state: ``":memory:"``, the SQLite folder, or the URL of a
    fresh PostgreSQL schema in the database at ``postgres_url`` (dropped on exit)."""
    if config.backend == "memory":
        yield ":memory:"
    elif config.backend == "postgres":
        with postgres_schema(postgres_url) as url:
            yield url
    else:
        yield str(folder)


@contextmanager
def open_config(config: Config, location: str) -> Iterator[MaaS]:
    """Open MaaS for ``config`` at ``location`` (see :func:`config_location`), audit on, sweeper off."""
    if config.durability is None:
        maas = MaaS.open(location, sweep_interval=None)
    else:
        maas = MaaS.open(location, durability=config.durability, sweep_interval=None)
    try:
        yield maas
    finally:
        maas.close()


def register(maas: MaaS, count: int, prefix: str, **fields: Any) -> list[str]:
    """Register ``count`` CLAUDE_CODE agents owned by ``{prefix}-owner``; return their ids."""
    fields.setdefault("owner_id", f"{prefix}-owner")
    return [maas.agents.register_agent(AgentType.CLAUDE_CODE, name=f"{prefix}-{i}", **fields) for i in range(count)]


# --- interleaving -----------------------------------------------------------------------------
Runner = Callable[[int], list[Any]]


def interleave(runners: dict[str, Runner], total: int, rounds: int) -> dict[str, list[Any]]:
    """Run ``total`` iterations per configuration in ``rounds`` chunks. The configurations take
    turns in a rotating order, so a drift in machine speed affects all of them alike."""
    per_round = max(1, total // rounds)
    keys = list(runners)
    samples: dict[str, list[Any]] = {key: [] for key in keys}
    for r in range(rounds):
        shift = r % len(keys)
        for key in keys[shift:] + keys[:shift]:
            samples[key].extend(runners[key](per_round))
    return samples


# --- 1. registry lookup ---------------------------------------------------------------------
def lookup_runner(maas: MaaS, sizes: Sizes) -> Runner:
    """Warmed-up ``get_agent`` calls, round robin over ``sizes.agents`` registered agents."""
    ids = itertools.cycle(register(maas, sizes.agents, "lookup"))
    get = maas.agents.get_agent

    def call() -> None:
        if get(next(ids)) is None:
            raise RuntimeError("get_agent lost a registered agent")

    time_calls(call, 0, sizes.lookup_warmup)
    return lambda n: time_calls(call, n, 0)


def bench_lookup(stores: dict[str, MaaS], sizes: Sizes) -> dict[str, Result]:
    """Registry lookup on every configuration, interleaved."""
    runners = {key: lookup_runner(maas, sizes) for key, maas in stores.items()}
    samples = interleave(runners, sizes.lookups, sizes.rounds)
    return {key: {**summarize(found), "extra": {"registered_agents": sizes.agents}} for key, found in samples.items()}


# --- 2. handoff cycle -----------------------------------------------------------------------
def _handoff_context() -> HandoffContext:
    return HandoffContext(
        task_description="Implement the login form against the new auth API",
        current_state={"step": 2, "done": ["schema", "endpoints"]},
        relevant_memories=["mem-api-design"],
        relevant_files=["src/auth/login.tsx"],
    )


def _one_cycle(maas: MaaS, src: str, dst: str, context: HandoffContext) -> tuple[int, int, int, int]:
    clock = time.perf_counter_ns
    t0 = clock()
    handoff_id = maas.handoffs.initiate_handoff(src, dst, context)
    t1 = clock()
    if handoff_id is None or not maas.handoffs.accept_handoff(handoff_id, dst):
        raise RuntimeError("handoff was denied")
    t2 = clock()
    if not maas.handoffs.complete_handoff(handoff_id, dst, {"status": "done", "pr": 42}):
        raise RuntimeError("handoff completion was denied")
    t3 = clock()
    return t3 - t0, t1 - t0, t2 - t1, t3 - t2


class HandoffRunner:
    """Fresh handoffs CLAUDE_CODE → GPT_AGENT; ``cleanup_terminal_handoffs()`` every
    ``cleanup_every`` cycles, outside the timed region.

    Args:
        maas: The instance to run on.
        cleanup_every: Cycles between cleanups.
    """

    def __init__(self, maas: MaaS, cleanup_every: int) -> None:
        self.maas, self.cleanup_every, self.cycles, self.cleanups = maas, cleanup_every, 0, 0
        self.src = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="user-1", name="frontend")
        self.dst = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="user-1", name="backend")
        self.context = _handoff_context()

    def __call__(self, n: int) -> list[tuple[int, int, int, int]]:
        """Run ``n`` cycles; return (cycle, initiate, accept, complete) durations in ns."""
        rows = []
        gc.collect()
        for _ in range(n):
            if self.cycles and self.cycles % self.cleanup_every == 0:
                self.maas.handoffs.cleanup_terminal_handoffs()
                self.cleanups += 1
            rows.append(_one_cycle(self.maas, self.src, self.dst, self.context))
            self.cycles += 1
        return rows


def bench_handoff(stores: dict[str, MaaS], sizes: Sizes) -> dict[str, Result]:
    """Handoff cycle on every configuration, interleaved after an untimed warm-up."""
    runners = {key: HandoffRunner(maas, sizes.cleanup_every) for key, maas in stores.items()}
    for runner in runners.values():
        runner(sizes.handoff_warmup)
    samples = interleave(dict(runners), sizes.handoffs, sizes.rounds)
    return {key: _handoff_result(rows, runners[key]) for key, rows in samples.items()}


def _handoff_result(rows: list[tuple[int, int, int, int]], runner: HandoffRunner) -> Result:
    result = summarize([r[0] for r in rows])
    names = ("initiate", "accept", "complete")
    steps = {name: summarize([r[k] for r in rows])["p50_ms"] for k, name in enumerate(names, 1)}
    result["extra"] = {"step_p50_ms": steps, "cleanups": runner.cleanups, "cleanup_every": runner.cleanup_every}
    return result


# --- 3. scoped query over a full pool --------------------------------------------------------
@dataclass(frozen=True)
class QueryPool:
    """The seeded query pool and its two readers."""

    pool_id: str
    reader: Agent
    sparse_reader: Agent
    total: int
    visible: int
    sparse_visible: int


def _register_authors(maas: MaaS) -> list[Agent]:
    authors = []
    for i in range(_AUTHORS):
        agent_id = maas.agents.register_agent(
            AgentType.CLAUDE_CODE if i % 2 == 0 else AgentType.GPT_AGENT,
            owner_id=f"user-{i % _OWNERS}",
            project_id=f"project-{i % _PROJECTS}",
            team_id=f"team-{i % _TEAMS}",
            name=f"author-{i}",
        )
        authors.append(maas.agents.require_agent(agent_id))
    return authors


def _make_shares(pool_id: str, authors: list[Agent], solo: Agent, total: int) -> list[SharedMemory]:
    rng = random.Random(20_240_501)
    scopes = [scope for scope, _ in _SCOPE_MIX]
    weights = [weight for _, weight in _SCOPE_MIX]
    start = time.time() - total
    rows = []
    for i in range(total):
        if i % _SPARSE_EVERY == _SPARSE_EVERY // 2:
            author, scope = solo, rng.choice((SharedScope.AGENT_PRIVATE, SharedScope.USER))
        else:
            author, scope = rng.choice(authors), rng.choices(scopes, weights)[0]
        rows.append(
            SharedMemory(
                pool_id=pool_id,
                memory_id=f"mem-{i:06d}",
                author_id=author.agent_id,
                scope=scope,
                owner_id=author.owner_id,
                project_id=author.project_id,
                team_id=author.team_id,
                shared_at=start + i * 0.001,
                metadata={"topic": f"topic-{i % 50}", "kind": "finding"},
            )
        )
    return rows


def _seed(maas: MaaS, rows: list[SharedMemory], batch: int) -> None:
    for chunk in iter_chunks(rows, batch):
        with maas.backend.transaction(write=True) as tx:
            for row in chunk:
                tx.upsert_share(row)


def _visible(reader: Agent, top: SharedScope, rows: list[SharedMemory]) -> int:
    audience = audience_filter(reader, top)
    return sum(1 for row in rows if audience.matches(row))


def setup_query_pool(maas: MaaS, sizes: Sizes) -> QueryPool:
    """A GLOBAL pool holding ``sizes.pool_shares`` shares from 48 authors at mixed scopes,
    written through the storage transaction in batches (setup, not measured)."""
    pool_id = maas.pools.create_pool("query-bench", owner_id="user-0", scope=SharedScope.GLOBAL)
    authors = _register_authors(maas)
    solo_id = maas.agents.register_agent(
        AgentType.CLAUDE_CODE, owner_id="user-solo", project_id="project-solo", team_id="team-solo", name="solo"
    )
    solo = maas.agents.require_agent(solo_id)
    for agent in [*authors, solo]:
        maas.pools.join_pool(pool_id, agent.agent_id, PermissionModel.WRITE)
    rows = _make_shares(pool_id, authors, solo, sizes.pool_shares)
    _seed(maas, rows, sizes.seed_batch)
    reader = authors[0]
    return QueryPool(
        pool_id,
        reader,
        solo,
        total=len(rows),
        visible=_visible(reader, SharedScope.GLOBAL, rows),
        sparse_visible=_visible(solo, SharedScope.USER, rows),
    )


def _storage_visible(maas: MaaS, pool: QueryPool, reader: Agent, top: SharedScope) -> int:
    with maas.backend.transaction(write=False) as tx:
        return len(tx.query_shares(pool.pool_id, audience_filter(reader, top), pool.total))


def _query_extra(maas: MaaS, pool: QueryPool, reader: Agent, top: SharedScope) -> Result:
    matching = pool.visible if reader is pool.reader else pool.sparse_visible
    found = maas.pools.query_shared(pool.pool_id, reader.agent_id, top, limit=100)
    return {
        "pool_shares": pool.total,
        "matching_rows": matching,
        "matching_rows_in_storage": _storage_visible(maas, pool, reader, top),
        "visible_fraction": round(matching / pool.total, 4),
        "result_size": len(found),
        "max_scope": top.value,
    }


def bench_query(
    stores: dict[str, MaaS], pools: dict[str, QueryPool], sizes: Sizes, *, sparse: bool
) -> dict[str, Result]:
    """``query_shared(limit=100)`` on every configuration, interleaved: by the typical reader at
    ``max_scope=GLOBAL``, or (``sparse``) by the 0.1 % reader at ``max_scope=USER``."""
    top = SharedScope.USER if sparse else SharedScope.GLOBAL
    readers = {key: pool.sparse_reader if sparse else pool.reader for key, pool in pools.items()}
    runners: dict[str, Runner] = {}
    for key, maas in stores.items():
        call = functools.partial(maas.pools.query_shared, pools[key].pool_id, readers[key].agent_id, top, limit=100)
        time_calls(call, 0, 2 if sparse else sizes.query_warmup)
        runners[key] = functools.partial(time_calls, call, warmup=0)
    samples = interleave(runners, sizes.sparse_queries if sparse else sizes.queries, sizes.rounds)
    return {
        key: {**summarize(found), "extra": _query_extra(stores[key], pools[key], readers[key], top)}
        for key, found in samples.items()
    }


# --- 4. concurrent writers --------------------------------------------------------------------
def _write_shares(maas: MaaS, pool_id: str, agent_id: str, index: int, count: int) -> Result:
    """``count`` share_memory calls of distinct memory ids; latencies and outcomes."""
    clock = time.perf_counter_ns
    latencies: list[int] = []
    errors: Counter[str] = Counter()
    acked = 0
    started = clock()
    for j in range(count):
        t0 = clock()
        try:
            acked += bool(maas.pools.share_memory(pool_id, f"w{index:02d}-m{j:05d}", agent_id, SharedScope.GLOBAL))
        except Exception as exc:  # counted, reported, not fatal
            errors[type(exc).__name__] += 1
        latencies.append(clock() - t0)
    return {"latencies_ns": latencies, "acked": acked, "errors": dict(errors), "start_ns": started, "end_ns": clock()}


_BARRIER: Any = None  # in a writer process: the barrier shared by all writers


def _init_writer(barrier: Any) -> None:
    global _BARRIER
    _BARRIER = barrier


def _writer_task(location: str, durability: str, pool_id: str, agent_id: str, index: int, count: int) -> Result:
    """One writer's turn in a spawned process: open its own MaaS on the same folder or URL as the
    parent, wait for the other writers, write, close."""
    started = False
    try:
        maas = MaaS.open(location, durability=durability, sweep_interval=None)
        try:
            _BARRIER.wait(timeout=300)
            started = True
            return _write_shares(maas, pool_id, agent_id, index, count)
        finally:
            maas.close()
    except BaseException as exc:  # report instead of leaving the parent waiting
        if not started:
            _BARRIER.abort()  # release the others now rather than at the barrier's timeout
        return {"latencies_ns": [], "acked": 0, "errors": {repr(exc): count}, "start_ns": 0, "end_ns": 0}


class WriterProcesses:
    """``count`` writer processes, started with ``spawn`` on first use and reused by every
    configuration, so that only the first one pays for starting them (outside the timed part).

    Args:
        count: Number of processes, one per writer.
    """

    def __init__(self, count: int) -> None:
        ctx = mp.get_context("spawn")
        self.count = count
        self.barrier = ctx.Barrier(count)
        self.executor = ProcessPoolExecutor(count, mp_context=ctx, initializer=_init_writer, initargs=(self.barrier,))

    def run(self, location: str, durability: str, pool_id: str, agents: list[str], count: int) -> list[Result]:
        """Every agent writes ``count`` shares from its own process, which opens ``location`` (a
        SQLite folder or a PostgreSQL URL) itself; all start together."""
        if len(agents) != self.count:
            raise ValueError(f"{len(agents)} agents for {self.count} writer processes")
        self.barrier.reset()  # a failed earlier run may have left it broken
        futures = [
            self.executor.submit(_writer_task, location, durability, pool_id, agent, i, count)
            for i, agent in enumerate(agents)
        ]
        return [future.result(timeout=900) for future in futures]

    def close(self) -> None:
        """Stop the processes (they finish the task they are on: the barrier times out)."""
        self.executor.shutdown(wait=True, cancel_futures=True)


def _run_threads(maas: MaaS, pool_id: str, agents: list[str], count: int) -> list[Result]:
    barrier, outcomes, lock = threading.Barrier(len(agents)), [], threading.Lock()

    def work(index: int, agent: str) -> None:
        barrier.wait(timeout=300)
        outcome = _write_shares(maas, pool_id, agent, index, count)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=work, args=(i, a)) for i, a in enumerate(agents)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _count_pool(maas: MaaS, pool_id: str, reader: str, expected: int) -> Result:
    with maas.backend.transaction(write=False) as tx:
        counter = tx.count_shares(pool_id)
    rows = maas.pools.query_shared(pool_id, reader, limit=maas.limits.max_query_limit)
    audited = maas.audit.query(action="share", target=pool_id, outcome="success", limit=expected + 1)
    return {
        "rows": len(rows),
        "distinct_rows": len({r.memory_id for r in rows}),
        "share_counter": counter,
        "audit_share_entries": len(audited),
        "audit_chain_ok": maas.audit.verify_chain().ok,
    }


def bench_writers(maas: MaaS, config: Config, location: str, sizes: Sizes, processes: WriterProcesses) -> Result:
    """``sizes.writers`` writers (``processes`` on SQLite and PostgreSQL, threads in memory) into one pool."""
    pool_id = maas.pools.create_pool("writers-bench", owner_id="user-w", scope=SharedScope.GLOBAL)
    agents = register(maas, sizes.writers, "writer", owner_id="user-w")
    for agent in agents:
        maas.pools.join_pool(pool_id, agent, PermissionModel.WRITE)
    if config.durability is None:
        mode, outcomes = "threads", _run_threads(maas, pool_id, agents, sizes.writes_per_writer)
    else:
        mode, outcomes = (
            "processes",
            processes.run(location, config.durability, pool_id, agents, sizes.writes_per_writer),
        )
    return _writer_result(maas, pool_id, agents[0], mode, outcomes, sizes)


def _writer_result(maas: MaaS, pool_id: str, reader: str, mode: str, outcomes: list[Result], sizes: Sizes) -> Result:
    expected = sizes.writers * sizes.writes_per_writer
    counts = _count_pool(maas, pool_id, reader, expected)
    errors: Counter[str] = Counter()
    for outcome in outcomes:
        errors.update(outcome["errors"])
    started = [o["start_ns"] for o in outcomes if o["start_ns"]]
    wall_s = (max(o["end_ns"] for o in outcomes) - min(started)) / 1e9 if started else 0.0
    result = summarize([ns for o in outcomes for ns in o["latencies_ns"]])
    result["extra"] = {
        "mode": f"{sizes.writers} {mode}",
        "writers": sizes.writers,
        "writes_per_writer": sizes.writes_per_writer,
        "expected": expected,
        "acknowledged": sum(o["acked"] for o in outcomes),
        "errors": dict(errors),
        **counts,
        "lost_writes": expected - counts["distinct_rows"],
        "wall_s": round(wall_s, 4),
        "throughput_per_s": round(counts["distinct_rows"] / wall_s, 1) if wall_s else 0.0,
    }
    return result


# --- statements per call (PostgreSQL) ----------------------------------------------------------
def count_statements(maas: MaaS, pool: QueryPool) -> dict[str, int]:
    """How many client-server round trips one call of each measured operation makes (a statement
    sent alone is one; a pipelined batch of statements is one, psycopg's or ``postgres_wire``'s), counted on the calling thread
    (not a listener's), on fresh agents and a fresh pool after the timed runs (untimed).
    The query is the typical reader's on the full query pool. ``get_agent`` is the first lookup
    of a just registered agent, ``get_agent_again`` the same lookup 0.2 s later (what a cache saves).
    Each is counted 0.2 s after the writes before it, once their change notices have reached the
    cache: a notice that arrives during a read makes the cache discard what that read fills (it
    could be older than the change), so the repeat would read 0 or 2 depending on timing."""
    import contextlib

    import psycopg

    from maas_langchain.backends import postgres_wire as wire

    sent, piped, caller = [0], [False], threading.get_ident()
    execute, batch = psycopg.Cursor.execute, wire.batch
    pipeline = psycopg.Connection.pipeline

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == caller and not piped[0]:
            sent[0] += 1
        return execute(self, *args, **kwargs)

    @contextlib.contextmanager
    def one_trip(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        if threading.get_ident() != caller:  # a background thread's batch
            with pipeline(self, *args, **kwargs) as batch:
                yield batch
            return
        outer, piped[0] = piped[0], True
        try:
            with pipeline(self, *args, **kwargs) as batch:
                yield batch
        finally:
            piped[0] = outer
            if not outer and threading.get_ident() == caller:
                sent[0] += 1

    def one_batch(conn: Any, statements: Any) -> Any:  # postgres_wire's pipelined batch: one trip
        if threading.get_ident() == caller:
            sent[0] += 1
        return batch(conn, statements)

    def count(call: Callable[[], object]) -> int:
        sent[0] = 0
        with mock.patch.object(psycopg.Connection, "pipeline", one_trip), mock.patch.object(wire, "batch", one_batch):
            call()
        return sent[0]

    src = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="user-probe", name="probe-src")
    dst = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="user-probe", name="probe-dst")
    pool_id = maas.pools.create_pool("probe", owner_id="user-probe", scope=SharedScope.GLOBAL)
    maas.pools.join_pool(pool_id, src, PermissionModel.WRITE)
    maas.pools.share_memory(pool_id, "probe-warm", src, SharedScope.GLOBAL)
    handoff: list[str] = []

    def initiate() -> None:
        handoff_id = maas.handoffs.initiate_handoff(src, dst, _handoff_context())
        if handoff_id is None:
            raise RuntimeError("handoff was denied")
        handoff.append(handoff_id)

    with mock.patch.object(psycopg.Cursor, "execute", counting):
        time.sleep(0.2)  # the setup's change notices reach the cache's listener first (docstring)
        first = count(lambda: maas.agents.get_agent(src))
        time.sleep(0.2)
        return {
            "get_agent": first,
            "get_agent_again": count(lambda: maas.agents.get_agent(src)),  # served by a cache, if any
            "initiate_handoff": count(initiate),
            "accept_handoff": count(lambda: maas.handoffs.accept_handoff(handoff[0], dst)),
            "complete_handoff": count(lambda: maas.handoffs.complete_handoff(handoff[0], dst, {"status": "done"})),
            "query_shared": count(
                lambda: maas.pools.query_shared(pool.pool_id, pool.reader.agent_id, SharedScope.GLOBAL, limit=100)
            ),
            "share_memory": count(lambda: maas.pools.share_memory(pool_id, "probe-1", src, SharedScope.GLOBAL)),
        }


# --- running everything --------------------------------------------------------------------
def _needed_configs(configs: Sequence[Config], sections: Sequence[str]) -> list[Config]:
    """The configurations ``sections`` measure: all of ``configs`` when an operation of ``OPS``
    is among them, only the write-scaling ones otherwise."""
    if any(op.key in sections for op in OPS):
        return list(configs)
    return [c for c in configs if c.key in core_scaling.SCALING_CONFIGS]


def run_all(
    sizes: Sizes, tmp: Path, configs: Sequence[Config], postgres_url: str, sections: Sequence[str] = SECTIONS
) -> tuple[dict[str, dict[str, Result]], Result | None, Result | None]:
    """Every selected section on every configuration; all stores open at once, timed loops
    interleaved. Returns the results of ``OPS``, the write-scaling section (``None`` when not
    selected) and the PostgreSQL facts (``None`` without PostgreSQL)."""
    results: dict[str, dict[str, Result]] = {}
    scaling: Result | None = None
    with ExitStack() as stack:  # closes every store, then drops the PostgreSQL schema
        locations = {c.key: stack.enter_context(config_location(c, tmp / c.key, postgres_url)) for c in configs}
        pg_facts = next((postgres_facts(locations[c.key]) for c in configs if c.backend == "postgres"), None)
        stores = {c.key: stack.enter_context(open_config(c, locations[c.key])) for c in configs}
        if "registry_lookup" in sections:
            log(f"registry lookup: {sizes.lookups} per configuration, {sizes.rounds} rounds")
            results["registry_lookup"] = bench_lookup(stores, sizes)
        if "handoff_cycle" in sections:
            log(f"handoff cycle: {sizes.handoffs} per configuration, {sizes.rounds} rounds")
            results["handoff_cycle"] = bench_handoff(stores, sizes)
        pools: dict[str, QueryPool] = {}
        if "query_shared" in sections or "query_shared_sparse" in sections:
            log(f"seeding {sizes.pool_shares} shares per configuration")
            pools = {key: setup_query_pool(maas, sizes) for key, maas in stores.items()}
            for config in configs:
                if config.backend == "postgres" and pg_facts is not None:
                    pg_facts["query_before_analyze"] = query_before_analyze(
                        stores[config.key], pools[config.key], locations[config.key], sizes
                    )
                    log("PostgreSQL: ANALYZE after seeding")
                    analyze_schema(locations[config.key])
            log(f"query_shared: {sizes.queries} (worst case {sizes.sparse_queries}) per configuration")
            for key in ("query_shared", "query_shared_sparse"):
                if key in sections:
                    results[key] = bench_query(stores, pools, sizes, sparse=key == "query_shared_sparse")
        if "concurrent_writes" in sections or "write_scaling" in sections:
            processes = WriterProcesses(sizes.writers)  # write scaling uses as many as it needs
            stack.callback(processes.close)  # before the stores close and the schema is dropped
            if "concurrent_writes" in sections:
                results["concurrent_writes"] = {}
                for config in configs:
                    log(f"[{config.key}] {sizes.writers} writers x{sizes.writes_per_writer}")
                    writers = bench_writers(stores[config.key], config, locations[config.key], sizes, processes)
                    results["concurrent_writes"][config.key] = writers
            if "write_scaling" in sections:
                scaling = core_scaling.bench_write_scaling(stores, configs, locations, sizes, processes)
        for config in configs:
            if config.backend == "postgres" and pg_facts is not None:
                maas = stores[config.key]
                pool = pools.get(config.key) or setup_query_pool(maas, replace(sizes, pool_shares=_PROBE_SHARES))
                pg_facts["statements_per_call"] = count_statements(maas, pool)
    return results, scaling, pg_facts


_PROBE_SHARES = 200  # the query pool counted statements on when the query sections did not run


def judge(results: dict[str, dict[str, Result]]) -> None:
    """Add ``target`` and ``passed`` to every cell."""
    for op in OPS:
        for cell in results.get(op.key, {}).values():
            cell["target"] = op.target_text
            if op.target_p95_ms is None:
                cell["passed"] = cell["extra"]["lost_writes"] == 0
            else:
                cell["target_p95_ms"] = op.target_p95_ms
                cell["passed"] = cell["p95_ms"] <= op.target_p95_ms


def fsync_latency_ms(folder: Path, n: int = 200) -> float:
    """Median time of a 4 KiB append + fdatasync in ``folder`` (what a durable commit waits for)."""
    sync = getattr(os, "fdatasync", os.fsync)
    path = folder / "fsync.probe"
    samples = []
    with open(path, "wb") as handle:
        for _ in range(n):
            handle.write(b"x" * 4096)
            handle.flush()
            start = time.perf_counter_ns()
            sync(handle.fileno())
            samples.append(time.perf_counter_ns() - start)
    path.unlink()
    return round(statistics.median(samples) / 1e6, 4)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def code_version() -> str:
    """The git commit of the code measured, and whether ``maas_langchain/`` had local changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "maas_langchain"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return "unknown (no git)"
    if head.returncode:
        return "unknown (not a git checkout)"
    return head.stdout.strip() + (" + uncommitted changes in maas_langchain/" if dirty.stdout.strip() else "")


def base_machine_info(bench: str, argv: Sequence[str]) -> Result:
    """What every benchmark records of its run: date, command, code, machine, Python, SQLite."""
    exe = Path(sys.executable)
    python = os.path.relpath(exe, Path.cwd()) if exe.is_relative_to(Path.cwd()) else str(exe)
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join([python, "-m", f"benchmarks.{bench}", *argv]),
        "code": code_version(),
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def machine_info(tmp: Path, argv: Sequence[str]) -> Result:
    """Facts that the figures depend on."""
    return {
        **base_machine_info("core_bench", argv),
        "tmp_dir": str(tmp.parent),
        "fdatasync_p50_ms": fsync_latency_ms(tmp),
        "load_avg_1m_start": _load_average(),
    }


def _load_average() -> float | None:
    """The 1-minute load average (other work on the machine skews every figure)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _cpu_busy_s() -> float | None:
    """CPU seconds all processes on the machine have spent busy since boot (Linux only)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    busy = sum(fields[:3]) + sum(fields[5:8])  # user nice system + irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def other_load_pct(start: tuple[float | None, float, float]) -> float | None:
    """Share of the machine's CPU capacity that *other* processes used since ``start``
    (``(_cpu_busy_s(), _own_cpu_s(), time.monotonic())``)."""
    busy_now, (busy0, own0, t0) = _cpu_busy_s(), start
    if busy_now is None or busy0 is None:
        return None
    others = (busy_now - busy0) - (_own_cpu_s() - own0)
    capacity = (time.monotonic() - t0) * (os.cpu_count() or 1)
    return round(max(0.0, 100 * others / capacity), 1)


def run(
    sizes: Sizes,
    argv: Sequence[str],
    quick: bool,
    configs: Sequence[Config] = CONFIGS,
    postgres_url: str = POSTGRES_URL,
    postgres_skipped: str | None = None,
    sections: Sequence[str] = SECTIONS,
) -> Result:
    """Run the ``sections`` (default: all) on every configuration in ``configs`` they measure;
    return the JSON-ready report. ``postgres_skipped`` says why PostgreSQL is not among them."""
    configs = _needed_configs(configs, sections)
    with tempfile.TemporaryDirectory(prefix="maas-bench-") as tmp_name:
        tmp = Path(tmp_name)
        meta = machine_info(tmp, argv)
        start = (_cpu_busy_s(), _own_cpu_s(), time.monotonic())
        results, scaling, pg_facts = run_all(sizes, tmp, configs, postgres_url, sections)
        others = other_load_pct(start)
    judge(results)
    postgres = pg_facts or {"location": _display(postgres_url), "skipped": postgres_skipped or "not selected"}
    report: Result = {
        "meta": {
            **meta,
            "load_avg_1m_end": _load_average(),
            "other_processes_cpu_pct": others,
            "quick": quick,
            "sections": [key for key in SECTIONS if key in sections],
            "postgres": postgres,
        },
        "sizes": asdict(sizes),
        "configs": {c.key: c.label for c in configs},
        "operations": {op.key: {"title": op.title, "target": op.target_text} for op in OPS if op.key in results},
        "results": results,
    }
    if scaling is not None:
        report["write_scaling"] = scaling
    report["targets"] = core_scaling.judge_targets(report)
    return report


# --- output --------------------------------------------------------------------------------
def _fmt(value: float) -> str:
    return f"{value:.4f}" if value < 0.1 else f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _configs(report: Result) -> list[Config]:
    """The configurations this report measured, in ``CONFIGS`` order."""
    return [c for c in CONFIGS if c.key in report["configs"]]


def _verdict(cell: Result) -> str:
    return "pass" if cell["passed"] else "**FAIL**"


def _ops(report: Result) -> list[Op]:
    """The operations of ``OPS`` this report measured (``--only`` may leave some out)."""
    return [op for op in OPS if op.key in report["results"]]


def _main_rows(report: Result) -> list[list[str]]:
    rows = []
    for op in _ops(report):
        for config in _configs(report):
            cell = report["results"][op.key][config.key]
            label = config.label
            if op.target_p95_ms is None:
                label += f" ({cell['extra']['mode']})"
            rows.append(
                [
                    op.title,
                    label,
                    str(cell["n"]),
                    _fmt(cell["p50_ms"]),
                    _fmt(cell["p95_ms"]),
                    _fmt(cell["p99_ms"]),
                    op.target_text,
                    _verdict(cell),
                ]
            )
    return rows


_MAIN_HEAD = ["Operation", "Configuration", "samples", "p50 ms", "p95 ms", "p99 ms", "Target", "Result"]


def _writer_rows(report: Result) -> list[list[str]]:
    rows = []
    for config in _configs(report):
        cell = report["results"]["concurrent_writes"][config.key]
        x = cell["extra"]
        errors = ", ".join(f"{k}: {v}" for k, v in x["errors"].items()) or "none"
        rows.append(
            [
                config.label,
                x["mode"],
                f"{x['writers']} x {x['writes_per_writer']}",
                str(x["acknowledged"]),
                str(x["distinct_rows"]),
                str(x["share_counter"]),
                str(x["audit_share_entries"]),
                str(x["lost_writes"]),
                errors,
                f"{x['throughput_per_s']:.0f}",
                f"{x['wall_s']:.2f}",
                _fmt(cell["max_ms"]),
                "yes" if x["audit_chain_ok"] else "NO",
            ]
        )
    return rows


_WRITER_HEAD = [
    "Configuration",
    "writers",
    "writes",
    "acknowledged",
    "rows (query)",
    "share counter",
    "audit entries",
    "lost",
    "errors",
    "writes/s",
    "wall s",
    "slowest write ms",
    "audit chain ok",
]


def _query_rows(report: Result) -> list[list[str]]:
    rows = []
    for key in ("query_shared", "query_shared_sparse"):
        for config in _configs(report) if key in report["results"] else []:
            x = report["results"][key][config.key]["extra"]
            rows.append(
                [
                    key,
                    config.label,
                    str(x["pool_shares"]),
                    x["max_scope"],
                    str(x["matching_rows"]),
                    str(x["matching_rows_in_storage"]),
                    f"{100 * x['visible_fraction']:.1f} %",
                    str(x["result_size"]),
                ]
            )
    return rows


_QUERY_HEAD = [
    "Query",
    "Configuration",
    "pool shares",
    "max_scope",
    "matching rows (Python)",
    "matching rows (storage)",
    "visible",
    "result size",
]


def markdown_table(head: list[str], rows: list[list[str]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(head: list[str], rows: list[list[str]]) -> str:
    """A fixed-width table for the terminal."""
    cells = [head, *[[c.replace("**", "") for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells)


def print_report(report: Result) -> None:
    """The results tables on stdout."""
    if _ops(report):
        print(text_table(_MAIN_HEAD, _main_rows(report)))
    if "concurrent_writes" in report["results"]:
        print()
        print(text_table(_WRITER_HEAD, _writer_rows(report)))
    core_scaling.print_scaling(report)


def _step(report: Result, config: str, step: str) -> str:
    return _fmt(report["results"]["handoff_cycle"][config]["extra"]["step_p50_ms"][step])


def _p(report: Result, op: str, config: str, field: str = "p95_ms") -> str:
    return _fmt(report["results"][op][config][field])


def _lookup_text(r: Result) -> str:
    return (
        f"**Registry lookup** is one read transaction with one primary-key lookup. It never touches the disk "
        f"(durability only matters when a write commits), so both SQLite settings cost the same "
        f"(p50 {_p(r, 'registry_lookup', 'sqlite_normal', 'p50_ms')} / "
        f"{_p(r, 'registry_lookup', 'sqlite_full', 'p50_ms')} ms). The time goes to Python: validating the UUID, "
        f"the transaction context manager and building the frozen `Agent` record. The in-memory backend "
        f"(p50 {_p(r, 'registry_lookup', 'memory', 'p50_ms')} ms) is not faster, because it deep-copies "
        f"every record it returns."
    )


def _handoff_text(r: Result) -> str:
    steps = ("initiate", "accept", "complete")
    normal = ", ".join(f"{s} {_step(r, 'sqlite_normal', s)}" for s in steps)
    full = ", ".join(f"{s} {_step(r, 'sqlite_full', s)}" for s in steps)
    return (
        f"**Handoff cycle** is three write transactions (initiate, accept, complete). Each one runs its checks, "
        f"makes the state change, writes a hash-chained audit entry (one SHA-256 over canonical JSON) and commits. "
        f"In memory this is pure Python (p50 {_p(r, 'handoff_cycle', 'memory', 'p50_ms')} ms). On SQLite normal, "
        f"a commit appends to the WAL without an fsync (per-step p50 in ms: {normal}). The tail "
        f"(p95 {_p(r, 'handoff_cycle', 'sqlite_normal')}, p99 {_p(r, 'handoff_cycle', 'sqlite_normal', 'p99_ms')} "
        f"ms) comes from WAL checkpoints: about every 1,000 WAL pages, the committing call copies the WAL back "
        f"into the database file and syncs it. On "
        f"SQLite full, every commit also waits for the WAL to reach the disk (per-step p50 in ms: {full}). An "
        f"fdatasync of a 4 KiB append takes {_fmt(r['meta']['fdatasync_p50_ms'])} ms (p50) on this machine, "
        f"and a cycle pays that three times. This part of the cost follows the disk, not the code."
    )


def _query_text(r: Result) -> str:
    q = r["results"]["query_shared"]["memory"]["extra"]
    return (
        f"**query_shared** filters inside storage. SQLite walks the `(pool_id, seq)` index newest first and "
        f"tests each row against the reader's audience, one OR clause per scope level. It stops after 100 "
        f"matches. With {100 * q['visible_fraction']:.1f} % of the {q['pool_shares']:,} rows visible, it reads "
        f"only about {100 / max(q['visible_fraction'], 1e-9):.0f} rows. The in-memory backend makes the same "
        f"walk over an insertion-ordered dict. The rest of the cost is building 100 records and a write "
        f"transaction, because the query appends a CROSS_AGENT_READ audit entry. On SQLite full that entry "
        f"costs one more sync per query (p95 {_p(r, 'query_shared', 'sqlite_full')} ms, against "
        f"{_p(r, 'query_shared', 'sqlite_normal')} ms on normal)."
    )


def _sparse_text(r: Result) -> str:
    return (
        f"The **worst case** is an extra row, not one of the four brief targets. Its reader can see only 0.1 % of "
        f"the pool, so nothing ends the scan early: every query visits every row in the pool. p95 is "
        f"{_p(r, 'query_shared_sparse', 'memory')} ms in memory and {_p(r, 'query_shared_sparse', 'sqlite_normal')} "
        f"ms on SQLite normal. In SQLite that time is spent in the VM, stepping through the index and testing rows. "
        f"In memory, over 40 % of it goes to `SharedScope.level`, which looks the member up in a list on "
        f"every call. The cost grows linearly with the pool, because no index covers the audience columns."
    )


def _writers_text(r: Result) -> str:
    w = {c.key: r["results"]["concurrent_writes"][c.key] for c in _configs(r)}
    return (
        f"**Concurrent writers.** Every `share_memory` takes the database-wide write lock (`BEGIN IMMEDIATE`), so "
        f"writes from the 16 processes run one at a time: {w['sqlite_normal']['extra']['throughput_per_s']:.0f} "
        f"writes/s on normal and {w['sqlite_full']['extra']['throughput_per_s']:.0f} writes/s on full, where "
        f"each commit also syncs. The per-write latency in the table includes the wait for the lock. SQLite's "
        f"busy handler sleeps and retries rather than queueing, so an unlucky writer can wait far longer than its "
        f"turn (max {_fmt(w['sqlite_normal']['max_ms'])} ms on normal, {_fmt(w['sqlite_full']['max_ms'])} ms on "
        f"full). Lost writes: {w['sqlite_normal']['extra']['lost_writes']} on normal and "
        f"{w['sqlite_full']['extra']['lost_writes']} on full. The in-memory row runs 16 threads in one process, "
        f"because that backend cannot be shared between processes. It reached "
        f"{w['memory']['extra']['throughput_per_s']:.0f} writes/s with {w['memory']['extra']['lost_writes']} "
        f"lost; one lock and the GIL serialise the threads."
    )


def _pg_where(pg: Result) -> str:
    host = urlsplit(pg["location"]).hostname
    if host is None or host.startswith("/"):
        return f"{pg['version'].split()[0]}, on this machine, through a Unix socket"
    local = host in ("127.0.0.1", "localhost", "::1")
    return f"{pg['version'].split()[0]}, {'on this machine, ' if local else ''}over TCP at {host}"


def _postgres_text(r: Result) -> str:
    pg = r["meta"]["postgres"]
    if "postgres" not in r["configs"]:
        return f"**PostgreSQL** was not measured in this run: {pg['skipped']}."
    parts = (
        (_pg_lookup_text, ("registry_lookup",)),
        (_pg_handoff_text, ("handoff_cycle",)),
        (_pg_query_text, ("query_shared", "query_shared_sparse")),
        (_pg_writers_text, ("concurrent_writes",)),
    )
    return "\n\n".join(part(r, pg) for part, needs in parts if all(key in r["results"] for key in needs))


def _pg_lookup_text(r: Result, pg: Result) -> str:
    return (
        f"**PostgreSQL** ({_pg_where(pg)}) is another process: every statement MaaS sends waits for the server's "
        f"answer. A bare `SELECT 1` round trip takes {_fmt(pg['roundtrip_p50_ms'])} ms (p50). A real statement adds "
        f"the driver's and the server's work, and on {r['meta']['cores']} cores the client and the server process "
        f"take turns on the CPU. Agents, pools and memberships read by read transactions come from a cache in the "
        f"process, which triggers and LISTEN/NOTIFY keep coherent across processes and hosts, and a read "
        f"transaction begins only when it first needs the server. "
        f"{_pg_lookup_cost(r, pg['statements_per_call'])}"
    )


def _pg_lookup_cost(r: Result, n: dict[str, int]) -> str:
    pg_p50, sqlite_p50 = (_p(r, "registry_lookup", k, "p50_ms") for k in ("postgres", "sqlite_normal"))
    again = n.get("get_agent_again", n["get_agent"])
    if again < n["get_agent"]:  # the repeated lookup is answered (in part) inside the process
        return (
            f"The first lookup of an agent sends {n['get_agent']} statements and the same lookup repeated sends "
            f"{again}, so the timed lookups (every agent was read during the warm-up) cost p50 {pg_p50} ms, "
            f"against {sqlite_p50} ms on SQLite normal."
        )
    return (
        f"A registry lookup is {n['get_agent']} statements (`BEGIN ... READ ONLY`, the `SELECT`, `COMMIT`): "
        f"p50 {pg_p50} ms, where SQLite answers inside the process in {sqlite_p50} ms. The lookup target "
        f"(0.05 ms) is below the cost of a single round trip, so a client-server backend cannot meet it without a "
        f"cache in the process."
    )


def _pg_handoff_text(r: Result, pg: Result) -> str:
    n = pg["statements_per_call"]
    cycle = n["initiate_handoff"] + n["accept_handoff"] + n["complete_handoff"]
    p50 = r["results"]["handoff_cycle"]["postgres"]["p50_ms"]
    flushes = 6 * max(0.0, pg["insert_commit_sync_on_p50_ms"] - pg["insert_commit_sync_off_p50_ms"])
    share = flushes / p50 if p50 else 0.0
    verdict = (
        "so most of the cycle is not the disk but CPU: the Python work around each statement, in the "
        "client and the server, and the sequencing passes that follow the commits"
        if share < 0.5
        else "so in this run, waiting for the disk was most of the cycle"
    )
    steps = ", ".join(f"{step} {_step(r, 'postgres', step)}" for step in ("initiate", "accept", "complete"))
    return (
        f"A **handoff cycle on PostgreSQL** makes {cycle} round trips (initiate {n['initiate_handoff']}, accept "
        f"{n['accept_handoff']}, complete {n['complete_handoff']}; a pipelined batch counts once). A write "
        f"transaction's `BEGIN`, its advisory locks and the reads it declared (`StateTx.prefetch`) travel in one "
        f"batch; a handoff transition claims only its handoff, so other handoffs run beside it. Its audit entry and "
        f"event go to the pending tables in one statement of the `COMMIT` batch; the leader process's sequencing "
        f"pass chains them soon after, on a thread of its own (not counted above). The cycle's p50 is {_fmt(p50)} "
        f"ms, about {_fmt(p50 / cycle)} ms per round trip (per-step p50 in ms: {steps}). The server runs with "
        f"`synchronous_commit={pg['synchronous_commit']}` and "
        f'`fsync={pg["fsync"]}` (`wal_sync_method={pg["wal_sync_method"]}`), and `durability="normal"` keeps '
        f"the server's setting, so every commit (the writer's and its pass's) waits for the WAL to reach the disk. "
        f"A one-row autocommit `INSERT` takes {_fmt(pg['insert_commit_sync_on_p50_ms'])} ms with "
        f"`synchronous_commit=on` and {_fmt(pg['insert_commit_sync_off_p50_ms'])} ms with it off. The six "
        f"flushes of a cycle therefore cost about {_fmt(flushes)} ms of the {_fmt(p50)} ms, {verdict}."
    )


def _pg_query_text(r: Result, pg: Result) -> str:
    n, before = pg["statements_per_call"], pg["query_before_analyze"]
    after = r["results"]["query_shared"]["postgres"]["p50_ms"]
    sparse, sqlite_sparse = (r["results"]["query_shared_sparse"][k]["p95_ms"] for k in ("postgres", "sqlite_normal"))
    if before["autoanalyzed"]:
        stats = (
            f"In this run autovacuum had already analyzed the table before the benchmark did, so the query "
            f"measured before `ANALYZE` (p50 {_fmt(before['p50_ms'])} ms) had statistics too."
        )
    elif before["p50_ms"] > 2 * after:
        stats = (
            f"Just before the `ANALYZE`, on the freshly loaded table, the planner has no statistics and "
            f"underestimates the pool. It fetches every visible row through a bitmap scan on `(pool_id, seq)` and "
            f"sorts them all, and the same query takes p50 {_fmt(before['p50_ms'])} ms ({before['n']} calls, "
            f"untimed in the table)."
        )
    else:
        stats = (
            f"Just before the `ANALYZE`, on the freshly loaded table, the same query took p50 "
            f"{_fmt(before['p50_ms'])} ms, so statistics made little difference at this pool size."
        )
    return (
        f"`query_shared` on PostgreSQL makes {n['query_shared']} round trips. Its CROSS_AGENT_READ audit entry "
        f"makes it a write transaction, but one that claims nothing, so it runs beside other writers; the entry is "
        f"chained by the pass after its commit (p50 {_fmt(after)} ms, "
        f"p95 {_p(r, 'query_shared', 'postgres')} ms). With statistics, the planner walks the `seq` primary key "
        f"backwards, filters on the pool and the audience, and stops after 100 matches, as SQLite does. The "
        f"benchmark runs `ANALYZE` after the bulk seed, as autovacuum does soon after a pool grows. {stats} In the "
        f"worst case nothing ends the scan early, and PostgreSQL reads the whole table sequentially: p95 "
        f"{_fmt(sparse)} ms, {'faster' if sparse < sqlite_sparse else 'slower'} than SQLite's index walk "
        f"({_fmt(sqlite_sparse)} ms on normal)."
    )


def _pg_writers_text(r: Result, pg: Result) -> str:
    cell, sqlite = (r["results"]["concurrent_writes"][k] for k in ("postgres", "sqlite_normal"))
    x, n = cell["extra"], pg["statements_per_call"]["share_memory"]
    per_write = 1000 / x["throughput_per_s"] if x["throughput_per_s"] else 0.0
    return (
        f"With **{x['writers']} writer processes on PostgreSQL**, all into one pool, each `share_memory` "
        f"({n} round trips) holds its pool's lock shared; its upsert checks, in the same statement, that the pool "
        f"is still under its limit, and a share that finds it changed runs again holding the pool alone. So "
        f"writers of one pool take turns only on the pool row's count, from that update to their commit. "
        f"No writer locks the audit head or the event counter; what every writer "
        f"passes one at a time is the short sequencing pass after its commit, and one pass chains the entries of "
        f"every writer that committed before it. {x['throughput_per_s']:.0f} writes/s, {_fmt(per_write)} ms per "
        f"write (SQLite normal: {sqlite['extra']['throughput_per_s']:.0f} writes/s); p50 {_fmt(cell['p50_ms'])} ms, "
        f"slowest {_fmt(cell['max_ms'])} ms (SQLite normal: {_fmt(sqlite['max_ms'])} ms). The write-scaling "
        f"table shows the same writers spread over one pool each. Lost writes: {x['lost_writes']}; the audit "
        f"chain is {'intact' if x['audit_chain_ok'] else '**broken**'}."
    )


def interpretation(report: Result) -> str:
    """What dominates each cost, with this run's figures."""
    failures = [
        f"{op.title} on {c.label}"
        for op in _ops(report)
        for c in _configs(report)
        if not report["results"][op.key][c.key]["passed"]
    ]
    missed = "**Missed targets:** " + ("; ".join(failures) if failures else "none") + "."
    parts = (
        (_lookup_text, "registry_lookup"),
        (_handoff_text, "handoff_cycle"),
        (_query_text, "query_shared"),
        (_sparse_text, "query_shared_sparse"),
        (_writers_text, "concurrent_writes"),
    )
    texts = [part(report) for part, key in parts if key in report["results"]]
    return "\n\n".join([*texts, _postgres_text(report), missed])


def _postgres_line(pg: Result) -> str:
    if "skipped" in pg:
        return f"- **PostgreSQL:** not measured ({pg['skipped']})\n"
    return (
        f"- **PostgreSQL** {pg['version']} on this machine, `{pg['location'].split('?', 1)[0]}` over TCP; a fresh "
        f"schema (`{pg['schema']}`), created for the run and dropped after it; "
        f"`synchronous_commit={pg['synchronous_commit']}`, `fsync={pg['fsync']}`; `SELECT 1` round trip p50 "
        f"{pg['roundtrip_p50_ms']} ms\n"
    )


def _md_header(m: Result, s: Result, count: int) -> str:
    return (
        "# Core benchmark\n\n"
        "This part is generated by `benchmarks/core_bench.py`. Do not edit it by hand: run the command below "
        "again. Sections after its end marker are kept when it reruns.\n\n"
        f"- **Date:** {m['date']}{' (quick run)' if m['quick'] else ''}\n"
        f"- **Machine:** {m['cores']} cores ({m['cpu']}), {m['platform']}\n"
        f"- **Python** {m['python']}, **SQLite** {m['sqlite']}; SQLite files in `{m['tmp_dir']}` "
        f"(fdatasync of a 4 KiB append, p50: {m['fdatasync_p50_ms']} ms)\n"
        + _postgres_line(m["postgres"])
        + f"- **Command:** `{m['command']}` (code: {m['code']})\n"
        f"- **1-minute load average:** {m['load_avg_1m_start']} at the start, {m['load_avg_1m_end']} at the end "
        "(this includes the benchmark's own 16 writer processes)\n"
        f"- **CPU used by other processes during the run:** {m['other_processes_cpu_pct']} % of "
        f"{m['cores']} cores\n\n"
        f"All {count} configurations are open at once in one process, each in a fresh store. The timed loops "
        f"take turns in {s['rounds']} rounds, in a rotating order, so a drift in machine speed affects all of them "
        "alike. The concurrent-writer runs go one configuration after another. "
        "Audit is on and the background sweeper is off (`sweep_interval=None`). "
        f"Warm-up calls are not timed. Samples: {s['lookups']:,} lookups over {s['agents']:,} agents; "
        f"{s['handoffs']:,} handoff cycles, with `cleanup_terminal_handoffs()` every {s['cleanup_every']} cycles "
        f"outside the timed region; {s['queries']} queries (worst case: {s['sparse_queries']}); "
        f"{s['writers']} writers x {s['writes_per_writer']} `share_memory` calls; write scaling: "
        f"{', '.join(str(p) for p in s['scaling_processes'])} writer processes x {s['writes_per_writer']} calls, "
        "in two layouts.\n\n"
    )


def _sections_line(m: Result) -> str:
    """A line saying which sections ran, when ``--only`` left some out (empty otherwise)."""
    ran = m.get("sections", list(SECTIONS))
    if list(ran) == list(SECTIONS):
        return ""
    left_out = [key for key in SECTIONS if key not in ran]
    return (
        f"**Partial run** (`--only`): measured {', '.join(f'`{k}`' for k in ran)}; "
        f"not measured: {', '.join(f'`{k}`' for k in left_out)}.\n\n"
    )


_WRITERS_INTRO = (
    "The SQLite and PostgreSQL rows run 16 processes. They are started once with `spawn` and reused from one "
    "configuration to the next; for each configuration, every process opens its own `MaaS.open(...)` on the "
    "same folder or URL as the parent, and all start writing together. All agents are registered and joined in the parent first. The in-memory row runs 16 "
    "threads on one instance, because that backend lives in one process. The lost count is the number of "
    "expected rows that are not in the pool afterwards. The wall time runs from the first write to the last.\n\n"
)


def _query_intro(s: Result) -> str:
    return (
        f"The pool has `GLOBAL` scope and holds {s['pool_shares']:,} shares (the per-pool cap) by 48 authors, "
        f"who are spread over {_OWNERS} owners, {_PROJECTS} projects and {_TEAMS} teams. The shares are scoped "
        "20 % AGENT_PRIVATE, 25 % USER, 25 % PROJECT, 15 % TEAM and 15 % GLOBAL. The pool is seeded through the "
        "storage transaction in batches, which is setup and not measured; on PostgreSQL, the tables are then "
        "analyzed (`ANALYZE`), also outside the timed region. The reader is one of the authors and "
        "queries with `max_scope=GLOBAL`. The worst-case reader belongs to another owner, project and team. It "
        "wrote 0.1 % of the rows, spread evenly through the pool, and queries its own notes with "
        "`max_scope=USER`.\n\n"
    )


GENERATED_END = "<!-- end of the generated core benchmark: sections below this line are kept on rerun -->"


def render_markdown(report: Result, image: str | None) -> str:
    """The generated part of ``docs/benchmarks.md``, up to and including ``GENERATED_END``.
    ``image`` is the main plot's path relative to the page; the write-scaling plot lies beside it.
    Sections that ``--only`` left out are left out of the page too."""
    results = report["results"]
    plot = f"![p95 per operation and configuration]({image})\n\n" if image else "(plot skipped: no matplotlib)\n\n"
    scaling_image = PurePosixPath(image).with_name(core_scaling.PLOT_NAME).as_posix() if image else None
    parts = [_md_header(report["meta"], report["sizes"], len(report["configs"])), _sections_line(report["meta"])]
    if _ops(report):
        parts.append("## Results\n\n" + markdown_table(_MAIN_HEAD, _main_rows(report)) + "\n\n" + plot)
    parts.append(core_scaling.targets_markdown(report))
    if "concurrent_writes" in results:
        parts.append(
            "## Concurrent writers\n\n" + _WRITERS_INTRO + markdown_table(_WRITER_HEAD, _writer_rows(report)) + "\n\n"
        )
    parts.append(core_scaling.scaling_markdown(report, scaling_image))
    if "query_shared" in results or "query_shared_sparse" in results:
        parts.append("## Query workload\n\n" + _query_intro(report["sizes"]))
        parts.append(markdown_table(_QUERY_HEAD, _query_rows(report)) + "\n\n")
    if _ops(report):
        parts.append("## Interpretation\n\n" + interpretation(report) + "\n\n")
    parts.append(GENERATED_END + "\n")
    return "".join(parts)


def write_plot(report: Result, path: Path) -> bool:
    """Bar chart of p95 per operation and configuration (log scale, target lines) at ``path``,
    and the write-scaling line plot beside it (``core_write_scaling.png``); False when matplotlib
    is not installed. Either is left out when its sections did not run."""
    scaled = core_scaling.write_scaling_plot(report, path.with_name(core_scaling.PLOT_NAME))
    ops = _ops(report)
    if not ops:
        return scaled
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(12.5, 5.8))
    configs = _configs(report)
    width = 0.84 / len(configs)
    for j, config in enumerate(configs):
        xs = [i + (j - (len(configs) - 1) / 2) * width for i in range(len(ops))]
        ys = [report["results"][op.key][config.key]["p95_ms"] for op in ops]
        bars = ax.bar(xs, ys, width, label=config.label)
        ax.bar_label(bars, labels=[_fmt(y) for y in ys], fontsize=6.5, padding=2)
    _draw_targets(ax, ops)
    ax.set_yscale("log")
    ax.set_xticks(range(len(ops)), [_short(op, report) for op in ops], fontsize=8)
    ax.set_ylabel("p95 latency, ms (log scale)")
    ax.set_title(f"maas_langchain core benchmark — p95 ({report['meta']['date']})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def _short(op: Op, report: Result) -> str:
    query = report["results"].get("query_shared")
    visible = query[_configs(report)[0].key]["extra"]["visible_fraction"] if query else 0.0
    return {
        "registry_lookup": "registry lookup",
        "handoff_cycle": "handoff cycle",
        "query_shared": f"query_shared\n({100 * visible:.0f} % visible)",
        "query_shared_sparse": "query_shared\nworst case (0.1 %)",
        "concurrent_writes": "share_memory under\n16 writers (no p95 target)",
    }[op.key]


def _draw_targets(ax: Any, ops: Sequence[Op]) -> None:
    labelled = False
    for i, op in enumerate(ops):
        if op.target_p95_ms is not None:
            ax.hlines(
                op.target_p95_ms,
                i - 0.45,
                i + 0.45,
                colors="crimson",
                linestyles="--",
                label=None if labelled else "target p95",
            )
            labelled = True


def write_outputs(report: Result, out: Path | None) -> dict[str, Path]:
    """Write JSON, markdown and (if possible) the plots; return where they went."""
    paths = write_report(
        report,
        out,
        name="core_bench",
        page="benchmarks.md",
        render_markdown=render_markdown,
        write_plot=write_plot,
        keep_after=GENERATED_END,
    )
    if "plot" in paths:
        scaling_plot = paths["plot"].with_name(core_scaling.PLOT_NAME)
        if report.get("write_scaling") and scaling_plot.exists():
            paths["scaling_plot"] = scaling_plot
        if "results" in report and not _ops(report):
            del paths["plot"]  # a write-scaling-only run draws no bar chart
    return paths


def _section_list(text: str) -> list[str]:
    keys = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in keys if k not in SECTIONS]
    if unknown or not keys:
        raise argparse.ArgumentTypeError(
            f"unknown section {', '.join(unknown) or '(none)'}; choose from {', '.join(SECTIONS)}"
        )
    return keys


def _process_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(sorted({int(k) for k in text.split(",") if k.strip()}))
    except ValueError:
        counts = ()
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, got {text!r}")
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns 0 (missed targets are reported, not errors)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.core_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--out", type=Path, default=None, help="write the outputs here instead of docs/ and results/")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=POSTGRES_URL,
        help="database for the PostgreSQL configuration; the run creates and drops its own schema in it "
        "(default: $MAAS_BENCH_POSTGRES_URL, else %(default)s)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="leave the PostgreSQL configuration out")
    parser.add_argument(
        "--only",
        metavar="SECTIONS",
        type=_section_list,
        default=None,
        help=f"run only these sections, comma-separated, from: {', '.join(SECTIONS)} (needs --out: the report "
        "is partial)",
    )
    parser.add_argument(
        "--scaling-processes",
        metavar="COUNTS",
        type=_process_counts,
        default=None,
        help="writer process counts of the write-scaling section, comma-separated (default: "
        f"{','.join(map(str, SCALING_PROCESSES))})",
    )
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(args_list)
    if args.only is not None and args.out is None:
        parser.error("--only writes a partial report: give --out DIR, so that docs/ keeps the full run")
    sizes = QUICK if args.quick else FULL
    if args.scaling_processes is not None:
        if args.scaling_processes[-1] > sizes.writers:
            parser.error(f"--scaling-processes: at most {sizes.writers} writer processes")
        sizes = replace(sizes, scaling_processes=args.scaling_processes)
    configs, skipped = select_configs(None if args.no_postgres else args.postgres)
    if skipped is not None:
        log(f"PostgreSQL configuration skipped: {skipped}")
    sections = SECTIONS if args.only is None else tuple(args.only)
    report = run(sizes, args_list, args.quick, configs, args.postgres, skipped, sections)
    print_report(report)
    for kind, path in write_outputs(report, args.out).items():
        log(f"wrote {kind}: {path}")
    return 0


if __name__ == "__main__":
    # Run the imported module's main, so that core_scaling and this run share one copy of this module.
    from benchmarks.core_bench import main as _main

    raise SystemExit(_main())
