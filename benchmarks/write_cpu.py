"""Where a ``share_memory`` write's CPU goes: the client process, the database server, the machine.

Issue 19 asks PostgreSQL to take at least SQLite's writes per second with 16 writer processes.
This benchmark measures what bounds that on the machine it runs on. For each configuration
(SQLite normal, PostgreSQL) and writer-process count it runs the core benchmark's writer task
(each process opens its own ``MaaS``, waits at a barrier, writes distinct shares into a pool of
its own) and reports:

* writes per second (distinct shares over the wall time from the first writer's start to the
  last one's end);
* **client CPU per write**: ``time.process_time()`` of each writer around its write loop (its
  listener and sequencing threads included), summed over writers, over the writes;
* **machine CPU per write**: busy CPU time of the whole machine (``/proc/stat``, sampled every
  50 ms by the parent) in the same window, over the writes — the client's share plus the
  database server's plus anything else running;
* machine busy %: that busy time over the window's capacity (cores x seconds);
* **ceiling**: cores / machine CPU per write, the writes per second this machine could take if
  every core did nothing else (a CPU-bound run sits near it);
* on PostgreSQL, statements per write in one process (``psycopg`` cursor calls counted).

Run on a quiet machine::

    .venv/bin/python -m benchmarks.write_cpu                      # 1, 4, 16 processes, 400 writes each
    .venv/bin/python -m benchmarks.write_cpu --processes 16 --writes 300 --out /tmp/cpu

Writes ``benchmarks/results/issue19/write_cpu.{md,json}`` unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import multiprocessing as mp
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks import core_bench as cb
from maas_langchain import MaaS, PermissionModel, SharedScope

__all__ = ["count_statements", "main", "measure", "render"]

RESULTS = Path(__file__).resolve().parent / "results" / "issue19"


def _busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the machine since boot, from ``/proc/stat``."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - fields[3] - fields[4]) / tick, sum(fields) / tick


class Sampler:
    """``/proc/stat`` every ``period`` seconds in a thread; :meth:`busy_between` integrates."""

    def __init__(self, period: float = 0.05) -> None:
        self.samples: list[tuple[float, float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(period,), daemon=True)
        self._thread.start()

    def _run(self, period: float) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), *_busy()))
            self._stop.wait(period)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.perf_counter(), *_busy()))

    def busy_between(self, start: float, end: float) -> tuple[float, float]:
        """(busy, total) CPU seconds between the samples nearest ``start`` and ``end``."""
        first = max((s for s in self.samples if s[0] <= start), default=self.samples[0], key=lambda s: s[0])
        last = min((s for s in self.samples if s[0] >= end), default=self.samples[-1], key=lambda s: s[0])
        return last[1] - first[1], last[2] - first[2]


def _writer(args: tuple[str, str, str, int, int, Any]) -> tuple[float, float, float, int]:
    """One writer process: open, wait for the others, write, close; (client CPU s, start, end, acked)."""
    location, pool_id, agent_id, index, count, barrier = args
    maas = MaaS.open(location, sweep_interval=None)
    try:
        barrier.wait(timeout=300)
        cpu0, start = time.process_time(), time.perf_counter()
        outcome = cb._write_shares(maas, pool_id, agent_id, index, count)
        return time.process_time() - cpu0, start, time.perf_counter(), int(outcome["acked"])
    finally:
        maas.close()


@contextlib.contextmanager
def _location(config: str, postgres_url: str) -> Iterator[str]:
    if config == "postgres":
        with cb.postgres_schema(postgres_url) as url:
            yield url
    else:
        with tempfile.TemporaryDirectory() as folder:
            yield str(Path(folder) / "maas")


def count_statements(maas: MaaS, pool_id: str, agent_id: str, count: int = 200) -> float:
    """Statements per ``share_memory`` in this process (PostgreSQL: psycopg cursor calls, and the
    statements of ``postgres_wire`` batches)."""
    import psycopg

    from maas_langchain.backends import postgres_wire as wire

    calls: collections.Counter[str] = collections.Counter()
    execute, executemany, batch = psycopg.Cursor.execute, psycopg.Cursor.executemany, wire.batch

    def counted(method: Any) -> Any:
        def call(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            calls[threading.current_thread().name] += 1
            return method(self, query, *args, **kwargs)

        return call

    def batched(conn: Any, statements: Any) -> Any:
        calls[threading.current_thread().name] += len(statements)
        return batch(conn, statements)

    psycopg.Cursor.execute, psycopg.Cursor.executemany = counted(execute), counted(executemany)  # type: ignore[method-assign]
    wire.batch = batched
    try:
        cb._write_shares(maas, pool_id, agent_id, 99, count)
    finally:
        psycopg.Cursor.execute, psycopg.Cursor.executemany = execute, executemany  # type: ignore[method-assign]
        wire.batch = batch
    return calls[threading.main_thread().name] / count


def measure(config: str, processes: int, writes: int, postgres_url: str) -> dict[str, Any]:
    """One run of ``processes`` writers, a pool each, ``writes`` shares each."""
    with _location(config, postgres_url) as location, MaaS.open(location, sweep_interval=None) as maas:
        owner = "user-cpu"
        agents = cb.register(maas, processes, "cpu", owner_id=owner)
        pools = [maas.pools.create_pool(f"cpu-{i}", owner_id=owner, scope=SharedScope.GLOBAL) for i in range(processes)]
        for agent, pool_id in zip(agents, pools, strict=True):
            maas.pools.join_pool(pool_id, agent, PermissionModel.WRITE)
        statements = count_statements(maas, pools[0], agents[0]) if config == "postgres" else None
        manager = mp.Manager()
        barrier = manager.Barrier(processes)
        sampler = Sampler()
        try:
            with mp.get_context("spawn").Pool(processes) as workers:
                jobs = [(location, pools[i], agents[i], i, writes, barrier) for i in range(processes)]
                outcomes = workers.map(_writer, jobs)
        finally:
            sampler.stop()
            manager.shutdown()
    start, end = min(o[1] for o in outcomes), max(o[2] for o in outcomes)
    busy, total = sampler.busy_between(start, end)
    done = sum(o[3] for o in outcomes)
    cores = os.cpu_count() or 1
    machine_ms = 1000 * busy / done if done else 0.0
    return {
        "config": config,
        "processes": processes,
        "writes": done,
        "writes_per_s": round(done / (end - start), 1),
        "client_cpu_ms_per_write": round(1000 * sum(o[0] for o in outcomes) / done, 3) if done else None,
        "machine_cpu_ms_per_write": round(machine_ms, 3),
        "machine_busy_pct": round(100 * busy / total, 1) if total else None,
        "ceiling_writes_per_s": round(cores * 1000 / machine_ms, 1) if machine_ms else None,
        "statements_per_write": None if statements is None else round(statements, 2),
    }


def render(rows: list[dict[str, Any]], facts: dict[str, Any]) -> str:
    """The report as Markdown."""
    head = (
        "| configuration | processes | writes/s | client CPU ms/write | machine CPU ms/write | machine busy % "
        "| ceiling writes/s | statements/write |\n|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['config']} | {r['processes']} | {r['writes_per_s']:,.0f} | {r['client_cpu_ms_per_write']} | "
        f"{r['machine_cpu_ms_per_write']} | {r['machine_busy_pct']} | {r['ceiling_writes_per_s']:,.0f} | "
        f"{'' if r['statements_per_write'] is None else r['statements_per_write']} |\n"
        for r in rows
    )
    return (
        "# Where a share_memory write's CPU goes\n\n"
        f"Machine: {json.dumps(facts)}\n\nCommand: `python -m benchmarks.write_cpu` (see its docstring for "
        "what each column measures).\n\n" + head + body
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--processes", default="1,4,16", help="writer process counts, comma-separated")
    parser.add_argument("--writes", type=int, default=400, help="shares per writer")
    parser.add_argument("--postgres", default=cb.POSTGRES_URL, help="database for the PostgreSQL configuration")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for write_cpu.{md,json}")
    args = parser.parse_args(argv)
    configs = ["sqlite"] + ([] if args.no_postgres or cb.postgres_unavailable(args.postgres) else ["postgres"])
    rows = []
    for processes in [int(p) for p in args.processes.split(",")]:
        for config in configs:
            rows.append(measure(config, processes, args.writes, args.postgres))
            print(rows[-1], flush=True)
    facts = {"cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2), "date": time.strftime("%Y-%m-%d %H:%M")}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "write_cpu.json").write_text(json.dumps({"machine": facts, "rows": rows}, indent=1) + "\n")
    (args.out / "write_cpu.md").write_text(render(rows, facts))
    print(render(rows, facts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
