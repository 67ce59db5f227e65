"""Write scaling and the issue's targets, the parts of the core benchmark added for issue 19.

Write scaling: ``share_memory`` throughput with P writer processes, P in ``Sizes.scaling_processes``
(``core_bench.SCALING_PROCESSES``: 1, 2, 4, 8, 16), in two layouts: all P writers into one pool, and each writer into
a pool of its own (P pools). It runs on SQLite normal and PostgreSQL (``SCALING_CONFIGS``). Each
writer is one of the core benchmark's spawned writer processes; per run it opens its own
``MaaS.open(location, durability=..., sweep_interval=None)``, waits at a barrier of size P (a
``Manager().Barrier(P)`` proxy passed with the task), then writes its distinct shares. Opening,
registering and joining are outside the timed part. Throughput is the distinct rows stored over
the wall time from the first writer's start to the last writer's end.

Targets: the issue's table (registry lookup and handoff cycle p95 on PostgreSQL, 16 writers on
PostgreSQL at least SQLite normal's, throughput rising with writers on different pools), judged
from a report's raw figures, so ``compare_runs`` can judge a report written before this module.

``core_bench`` imports this module and this module imports ``core_bench`` (both as module
references, resolved at call time), so either can be imported first.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks import core_bench as cb
from maas_langchain import MaaS, PermissionModel, SharedScope

__all__ = [
    "LAYOUTS",
    "SCALING_CONFIGS",
    "bench_write_scaling",
    "judge_targets",
    "scaling_markdown",
    "scaling_rows",
    "scaling_text",
    "targets_markdown",
    "write_scaling_plot",
]

Result = dict[str, Any]

SCALING_CONFIGS = ("sqlite_normal", "postgres")
LAYOUTS = {"one_pool": "one pool", "own_pool": "a pool per writer"}
PLOT_NAME = "core_write_scaling.png"


# --- measuring --------------------------------------------------------------------------------
def _failed(exc: BaseException, count: int) -> Result:
    return {"latencies_ns": [], "acked": 0, "errors": {repr(exc): count}, "start_ns": 0, "end_ns": 0}


def _scaling_task(
    location: str, durability: str, barrier: Any, pool_id: str, agent_id: str, index: int, count: int
) -> Result:
    """One writer in a spawned process: open its own MaaS, wait for the other P - 1 writers at
    ``barrier``, write ``count`` distinct shares into ``pool_id``, close."""
    started = False
    try:
        maas = MaaS.open(location, durability=durability, sweep_interval=None)
        try:
            barrier.wait(timeout=300)
            started = True
            return cb._write_shares(maas, pool_id, agent_id, index, count)
        finally:
            maas.close()
    except BaseException as exc:  # report instead of leaving the parent waiting
        if not started:
            with contextlib.suppress(Exception):  # release the others now rather than at the barrier's timeout
                barrier.abort()
        return _failed(exc, count)


def _setup(maas: MaaS, layout: str, writers: int, tag: str) -> tuple[list[str], list[str]]:
    """Register ``writers`` agents and their pools (one shared, or one each); return
    (agent ids, the pool of each agent). Setup, not measured."""
    owner = f"user-{tag}"
    agents = cb.register(maas, writers, tag, owner_id=owner)
    if layout == "one_pool":
        pools = [maas.pools.create_pool(tag, owner_id=owner, scope=SharedScope.GLOBAL)] * writers
    else:
        pools = [maas.pools.create_pool(f"{tag}-{i}", owner_id=owner, scope=SharedScope.GLOBAL) for i in range(writers)]
    for agent, pool_id in zip(agents, pools, strict=True):
        maas.pools.join_pool(pool_id, agent, PermissionModel.WRITE)
    return agents, pools


def _count(maas: MaaS, agents: list[str], pools: list[str]) -> Result:
    """Rows in the run's pools: the pools' share counters and the distinct ids a query returns."""
    counter = distinct = 0
    for pool_id, reader in dict(zip(pools, agents, strict=True)).items():  # one reader per pool
        with maas.backend.transaction(write=False) as tx:
            counter += tx.count_shares(pool_id)
        rows = maas.pools.query_shared(pool_id, reader, limit=maas.limits.max_query_limit)
        distinct += len({r.memory_id for r in rows})
    return {"share_counter": counter, "distinct_rows": distinct}


def _run_once(
    maas: MaaS,
    config: cb.Config,
    location: str,
    layout: str,
    writers: int,
    per_writer: int,
    processes: cb.WriterProcesses,
    manager: Any,
) -> Result:
    """One measured run: ``writers`` processes, ``per_writer`` shares each, in ``layout``."""
    tag = f"scale-{layout}-{writers}"
    agents, pools = _setup(maas, layout, writers, tag)
    barrier = manager.Barrier(writers)
    durability = config.durability or "normal"
    futures = [
        processes.executor.submit(_scaling_task, location, durability, barrier, pools[i], agent, i, per_writer)
        for i, agent in enumerate(agents)
    ]
    outcomes = [future.result(timeout=900) for future in futures]
    counted = _count(maas, agents, pools)
    errors: Counter[str] = Counter()
    for outcome in outcomes:
        errors.update(outcome["errors"])
    started = [o["start_ns"] for o in outcomes if o["start_ns"]]
    wall_s = (max(o["end_ns"] for o in outcomes) - min(started)) / 1e9 if started else 0.0
    expected = writers * per_writer
    latency = cb.summarize([ns for o in outcomes for ns in o["latencies_ns"]])
    return {
        "layout": layout,
        "processes": writers,
        "pools": len(set(pools)),
        "writes_per_writer": per_writer,
        "expected": expected,
        "acknowledged": sum(o["acked"] for o in outcomes),
        **counted,
        "lost_writes": expected - counted["distinct_rows"],
        "errors": dict(errors),
        "wall_s": round(wall_s, 4),
        "throughput_per_s": round(counted["distinct_rows"] / wall_s, 1) if wall_s else 0.0,
        "p50_ms": latency["p50_ms"],
        "p95_ms": latency["p95_ms"],
        "max_ms": latency["max_ms"],
    }


def bench_write_scaling(
    stores: Mapping[str, MaaS],
    configs: Sequence[cb.Config],
    locations: Mapping[str, str],
    sizes: cb.Sizes,
    processes: cb.WriterProcesses,
) -> Result:
    """Every process count of ``sizes.scaling_processes`` in both layouts, on the configurations
    of ``SCALING_CONFIGS`` among ``configs``. For each process count, the configurations and
    layouts run one after another, so a drift in machine speed spreads over all of them; the
    audit chain of each configuration is verified once at the end."""
    chosen = [c for c in configs if c.key in SCALING_CONFIGS]
    counts = tuple(sizes.scaling_processes)
    if max(counts, default=0) > processes.count:
        raise ValueError(f"{max(counts)} writers for {processes.count} writer processes")
    section: Result = {
        "processes": list(counts),
        "writes_per_writer": sizes.writes_per_writer,
        "layouts": dict(LAYOUTS),
        "configs": {c.key: {"label": c.label, "runs": []} for c in chosen},
    }
    manager = mp.get_context("spawn").Manager()  # serves the barrier of each run to the writers
    try:
        for writers in counts:
            for config in chosen:
                for layout in LAYOUTS:
                    cb.log(f"[{config.key}] write scaling: {writers} writers x{sizes.writes_per_writer}, {layout}")
                    run = _run_once(
                        stores[config.key],
                        config,
                        locations[config.key],
                        layout,
                        writers,
                        sizes.writes_per_writer,
                        processes,
                        manager,
                    )
                    section["configs"][config.key]["runs"].append(run)
    finally:
        manager.shutdown()
    for config in chosen:
        report = stores[config.key].audit.verify_chain()
        section["configs"][config.key]["audit_chain_ok"] = report.ok
    return section


# --- reading a report -------------------------------------------------------------------------
def find_run(report: Mapping[str, Any], config: str, layout: str, writers: int) -> Result | None:
    """The write-scaling run of ``report`` for (``config``, ``layout``, ``writers``), if measured."""
    cell = (report.get("write_scaling") or {}).get("configs", {}).get(config)
    if not cell:
        return None
    return next((r for r in cell["runs"] if r["layout"] == layout and r["processes"] == writers), None)


def _cell(report: Mapping[str, Any], op: str, config: str) -> Result | None:
    cell = report.get("results", {}).get(op, {}).get(config)
    return cell if isinstance(cell, dict) else None


def _rate(value: float) -> str:
    return f"{value:,.0f} writes/s"


def _target(target: str, passed: bool | None, measured: str) -> Result:
    return {"target": target, "passed": passed, "measured": measured}


def _latency_target(report: Mapping[str, Any], op: str, title: str, limit_ms: float) -> Result:
    target = f"{title} p95 ≤ {limit_ms:g} ms on PostgreSQL"
    cell = _cell(report, op, "postgres")
    if cell is None:
        return _target(target, None, "not measured")
    sqlite = _cell(report, op, "sqlite_normal")
    beside = f" (SQLite normal: {cb._fmt(sqlite['p95_ms'])} ms)" if sqlite else ""
    return _target(target, cell["p95_ms"] <= limit_ms, f"{cb._fmt(cell['p95_ms'])} ms{beside}")


def _writers_target(report: Mapping[str, Any]) -> Result:
    pg, sqlite = (_cell(report, "concurrent_writes", k) for k in ("postgres", "sqlite_normal"))
    writers = (pg or sqlite or {}).get("extra", {}).get("writers", 16)
    target = f"{writers} writer processes, one pool (`share_memory`): PostgreSQL ≥ SQLite normal"
    if pg is None or sqlite is None:
        return _target(target, None, "not measured")
    a, b = pg["extra"]["throughput_per_s"], sqlite["extra"]["throughput_per_s"]
    return _target(target, a >= b, f"{_rate(a)} vs {_rate(b)}")


def _scaling_targets(report: Mapping[str, Any]) -> list[Result]:
    counts = (report.get("write_scaling") or {}).get("processes") or list(cb.SCALING_PROCESSES)
    low, high = min(counts), max(counts)
    pools_target = f"{high} writer processes, a pool each: PostgreSQL ≥ SQLite normal"
    rising_target = (
        f"Rising with writers on different pools: PostgreSQL, a pool each, {high} processes > {low} process"
        f"{'es' if low > 1 else ''} and > {high} processes into one pool"
    )
    pg_high = find_run(report, "postgres", "own_pool", high)
    pg_low = find_run(report, "postgres", "own_pool", low)
    pg_one = find_run(report, "postgres", "one_pool", high)
    sqlite_high = find_run(report, "sqlite_normal", "own_pool", high)
    rows = []
    if pg_high is None or sqlite_high is None:
        rows.append(_target(pools_target, None, "not measured"))
    else:
        a, b = pg_high["throughput_per_s"], sqlite_high["throughput_per_s"]
        rows.append(_target(pools_target, a >= b, f"{_rate(a)} vs {_rate(b)}"))
    if pg_high is None or pg_low is None or pg_one is None or low == high:
        rows.append(_target(rising_target, None, "not measured"))
    else:
        a, b, c = (r["throughput_per_s"] for r in (pg_high, pg_low, pg_one))
        rows.append(_target(rising_target, a > b and a > c, f"{_rate(a)} vs {_rate(b)} and {_rate(c)}"))
    return rows


def judge_targets(report: Mapping[str, Any]) -> list[Result]:
    """The issue's targets, each with ``passed`` (``None`` when not measured) and the figures;
    works on any core_bench report, also one written before these targets existed."""
    return [
        _latency_target(report, "registry_lookup", "Registry lookup", 0.05),
        _latency_target(report, "handoff_cycle", "Handoff cycle", 2.0),
        _writers_target(report),
        *_scaling_targets(report),
    ]


def verdict(passed: bool | None) -> str:
    return "not measured" if passed is None else "pass" if passed else "**FAIL**"


# --- output -----------------------------------------------------------------------------------
_SCALING_HEAD = [
    "Configuration",
    "layout",
    "processes",
    "pools",
    "writes",
    "acknowledged",
    "rows",
    "lost",
    "errors",
    "writes/s",
    "x 1 process",
    "wall s",
    "p50 ms",
    "p95 ms",
    "audit chain ok",
]


def scaling_rows(report: Mapping[str, Any]) -> list[list[str]]:
    """One row per configuration, layout and process count."""
    section = report.get("write_scaling") or {}
    rows = []
    for cell in section.get("configs", {}).values():
        chain = {True: "yes", False: "**NO**"}.get(cell.get("audit_chain_ok"), "?")
        for layout, layout_label in LAYOUTS.items():
            runs = sorted((r for r in cell["runs"] if r["layout"] == layout), key=lambda r: r["processes"])
            base = runs[0]["throughput_per_s"] / runs[0]["processes"] if runs else 0.0
            for r in runs:
                errors = ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "none"
                rows.append(
                    [
                        cell["label"],
                        layout_label,
                        str(r["processes"]),
                        str(r["pools"]),
                        f"{r['processes']} x {r['writes_per_writer']}",
                        str(r["acknowledged"]),
                        str(r["distinct_rows"]),
                        str(r["lost_writes"]),
                        errors,
                        f"{r['throughput_per_s']:.0f}",
                        f"{r['throughput_per_s'] / base:.2f}" if base else "-",
                        f"{r['wall_s']:.2f}",
                        cb._fmt(r["p50_ms"]),
                        cb._fmt(r["p95_ms"]),
                        chain,
                    ]
                )
    return rows


def scaling_text(report: Mapping[str, Any]) -> str:
    """The figures that matter, in words: how throughput changes from the fewest to the most
    writers, in each layout."""
    section = report.get("write_scaling") or {}
    counts = section.get("processes") or []
    if not counts:
        return ""
    low, high = min(counts), max(counts)
    parts = []
    for key, cell in section.get("configs", {}).items():
        figures = []
        for layout, label in LAYOUTS.items():
            a, b = find_run(report, key, layout, low), find_run(report, key, layout, high)
            if a and b and a["throughput_per_s"]:
                ratio = b["throughput_per_s"] / a["throughput_per_s"]
                figures.append(
                    f"{label}: {a['throughput_per_s']:,.0f} writes/s with {low}, {b['throughput_per_s']:,.0f} with "
                    f"{high} ({ratio:.2f}x)"
                )
        lost = sum(r["lost_writes"] for r in cell["runs"])
        errors = sum(sum(r["errors"].values()) for r in cell["runs"])
        chain = "intact" if cell.get("audit_chain_ok") else "**broken**"
        parts.append(
            f"**{cell['label']}**: {'; '.join(figures)}. Lost writes over all runs: {lost}; errors: {errors}; "
            f"audit chain {chain}."
        )
    return " ".join(parts)


def scaling_markdown(report: Mapping[str, Any], image: str | None) -> str:
    """The "Write scaling" section of ``docs/benchmarks.md`` (empty when it was not run)."""
    section = report.get("write_scaling")
    if not section:
        return ""
    counts = ", ".join(str(p) for p in section["processes"])
    intro = (
        f"`share_memory` throughput with P writer processes, P in ({counts}), each writing "
        f"{section['writes_per_writer']} distinct shares, in two layouts: all P writers into **one pool**, and "
        "**a pool per writer** (P pools). The processes are the concurrent-writer section's spawned processes; "
        "for each run every writer opens its own `MaaS.open(location, durability=..., sweep_interval=None)`, "
        "then waits at a barrier of size P, then writes. Registering the agents, creating and joining the pools, "
        "opening and the barrier are outside the timed part. Throughput is the distinct rows stored over the "
        "wall time from the first writer's start to the last writer's end; lost is expected minus distinct rows "
        "(counted by a `query_shared` per pool); `x 1 process` is the throughput over the first run's "
        "per-process figure. For each process count, the configurations and layouts run one after another. "
        "The audit chain is verified once per configuration, after all its runs. The machine has "
        f"{report['meta']['cores']} cores, which the writer processes and (for PostgreSQL) the server share.\n\n"
    )
    plot = f"![writes/s by writer processes]({image})\n\n" if image else ""
    text = scaling_text(report)
    return (
        "## Write scaling\n\n"
        + intro
        + cb.markdown_table(_SCALING_HEAD, scaling_rows(report))
        + "\n\n"
        + plot
        + (text + "\n\n" if text else "")
    )


def targets_rows(report: Mapping[str, Any]) -> list[list[str]]:
    return [[t["target"], t["measured"], verdict(t["passed"])] for t in report.get("targets") or judge_targets(report)]


_TARGETS_HEAD = ["Target (issue 19)", "Measured", "Result"]


def targets_markdown(report: Mapping[str, Any]) -> str:
    """The "Targets" section: each target of issue 19 with the measured figures and pass/FAIL."""
    return (
        "## Targets\n\n"
        "The targets of issue 19 for PostgreSQL, judged on this run's figures. The store put and get targets "
        "(`MaaSStore` put p50 ≤ LangGraph's `PostgresStore`, get p50 ≤ 3x `InMemoryStore`) are measured and "
        "judged by `benchmarks/store_bench.py` (`benchmarks/results/store_bench.md`), not here.\n\n"
        + cb.markdown_table(_TARGETS_HEAD, targets_rows(report))
        + "\n\n"
    )


def print_scaling(report: Mapping[str, Any]) -> None:
    """The write-scaling and targets tables on stdout."""
    if report.get("write_scaling"):
        print()
        print(cb.text_table(_SCALING_HEAD, scaling_rows(report)))
    print()
    print(cb.text_table(_TARGETS_HEAD, targets_rows(report)))


def write_scaling_plot(report: Mapping[str, Any], path: Path) -> bool:
    """Line plot of writes/s by process count, one line per configuration and layout; False
    when there is nothing to plot or no matplotlib."""
    section = report.get("write_scaling")
    if not section or not section.get("configs"):
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(8.5, 5.2))
    styles = {"one_pool": "--", "own_pool": "-"}
    for cell in section["configs"].values():
        color = None
        for layout, label in LAYOUTS.items():
            runs = sorted((r for r in cell["runs"] if r["layout"] == layout), key=lambda r: r["processes"])
            if not runs:
                continue
            xs = [r["processes"] for r in runs]
            ys = [r["throughput_per_s"] for r in runs]
            (line,) = ax.plot(xs, ys, styles[layout], marker="o", color=color, label=f"{cell['label']}, {label}")
            color = line.get_color()  # one color per configuration, one style per layout
    ax.set_xscale("log", base=2)
    ax.set_xticks(section["processes"], [str(p) for p in section["processes"]])
    ax.set_xlabel("writer processes")
    ax.set_ylabel("share_memory writes/s")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.set_title(f"maas_langchain write scaling ({report['meta']['date']})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
