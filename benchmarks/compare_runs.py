"""Before and after: two core benchmark reports side by side, as one markdown page.

Usage:
    .venv/bin/python -m benchmarks.compare_runs BEFORE.json AFTER.json [--out FILE.md]

``BEFORE.json`` and ``AFTER.json`` are ``core_bench.json`` files written by
``python -m benchmarks.core_bench --out DIR``, ideally back to back on the same machine (see
``benchmarks/README.md``). The page shows the code version of each run, every operation and
configuration (p50 and p95), the concurrent writers' throughput, the write-scaling runs, the
targets of issue 19 (judged again from each report's figures, so a report written before the
targets existed is judged too) and PostgreSQL's statements per call. A section one report lacks
(an older ``core_bench``, or ``--only``) shows "—" on that side. Without ``--out`` the page goes to
stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks import core_bench, core_scaling

__all__ = ["compare", "main"]

Result = dict[str, Any]
NONE = "—"


def _ordered(known: Iterable[str], *found: Iterable[str]) -> list[str]:
    """``known`` keys first, in their order, then any other key found, in first-seen order."""
    order = list(known)
    seen = list(dict.fromkeys(k for keys in found for k in keys))
    return [k for k in order if k in seen] + [k for k in seen if k not in order]


def _num(value: float | None) -> str:
    return NONE if value is None else core_bench._fmt(value)


def _rate(value: float | None) -> str:
    return NONE if value is None else f"{value:,.0f}"


def _ratio(before: float | None, after: float | None) -> str:
    """``after / before`` as ``0.25x``; "—" when either is missing or ``before`` is 0."""
    if before is None or after is None or not before:
        return NONE
    ratio = after / before
    return f"{ratio:.3f}x" if ratio < 0.1 else f"{ratio:.2f}x"


def _label(reports: Sequence[Result], key: str, field: str) -> str:
    for report in reports:
        value = report.get(field, {}).get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and "title" in value:
            return str(value["title"])
    return key


def _cell(report: Result, op: str, config: str) -> Result | None:
    cell = report.get("results", {}).get(op, {}).get(config)
    return cell if isinstance(cell, dict) else None


def _get(cell: Mapping[str, Any] | None, *path: str) -> Any:
    value: Any = cell
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


# --- sections ---------------------------------------------------------------------------------
def _run_rows(before: Result, after: Result) -> list[list[str]]:
    def facts(m: Result) -> dict[str, str]:
        pg = m.get("postgres", {})
        postgres = (
            f"{pg.get('version', '?').split()[0]}, synchronous_commit={pg.get('synchronous_commit', '?')}, "
            f"SELECT 1 p50 {pg.get('roundtrip_p50_ms', '?')} ms"
            if "skipped" not in pg
            else f"not measured ({pg.get('skipped')})"
        )
        sections = m.get("sections")
        return {
            "code (git)": f"`{m.get('code', '?')}`",
            "date": str(m.get("date", "?")) + (" (quick run)" if m.get("quick") else ""),
            "command": f"`{m.get('command', '?')}`",
            "sections": ", ".join(sections) if sections else "all (no `--only`)",
            "machine": f"{m.get('cores', '?')} cores ({m.get('cpu', '?')})",
            "Python / SQLite": f"{m.get('python', '?')} / {m.get('sqlite', '?')}",
            "PostgreSQL": postgres,
            "fdatasync p50": f"{m.get('fdatasync_p50_ms', '?')} ms",
            "load average (1 min), start / end": f"{m.get('load_avg_1m_start', '?')} / {m.get('load_avg_1m_end', '?')}",
            "CPU used by other processes": f"{m.get('other_processes_cpu_pct', '?')} %",
        }

    a, b = facts(before.get("meta", {})), facts(after.get("meta", {}))
    return [[name, a[name], b[name]] for name in a]


def _latency_rows(before: Result, after: Result) -> list[list[str]]:
    ops = _ordered((op.key for op in core_bench.OPS), before.get("results", {}), after.get("results", {}))
    configs = _ordered((c.key for c in core_bench.CONFIGS), before.get("configs", {}), after.get("configs", {}))
    rows = []
    for op in ops:
        for config in configs:
            x, y = _cell(before, op, config), _cell(after, op, config)
            if x is None and y is None:
                continue
            rows.append(
                [
                    _label([after, before], op, "operations"),
                    _label([after, before], config, "configs"),
                    _num(_get(x, "p50_ms")),
                    _num(_get(y, "p50_ms")),
                    _num(_get(x, "p95_ms")),
                    _num(_get(y, "p95_ms")),
                    _ratio(_get(x, "p95_ms"), _get(y, "p95_ms")),
                    str(_get(y, "target") or _get(x, "target") or ""),
                    f"{_passed(x)} / {_passed(y)}",
                ]
            )
    return rows


_LATENCY_HEAD = [
    "Operation",
    "Configuration",
    "p50 ms before",
    "p50 ms after",
    "p95 ms before",
    "p95 ms after",
    "p95 after / before",
    "Target",
    "result (before / after)",
]


def _passed(cell: Mapping[str, Any] | None) -> str:
    return NONE if cell is None else core_scaling.verdict(_get(cell, "passed"))


def _errors(cell: Mapping[str, Any] | None) -> str:
    errors = _get(cell, "errors")
    if errors is None:
        return NONE
    return str(sum(errors.values()))


def _chain(ok: bool | None) -> str:
    return NONE if ok is None else "yes" if ok else "**NO**"


def _writer_rows(before: Result, after: Result) -> list[list[str]]:
    configs = _ordered(
        (c.key for c in core_bench.CONFIGS),
        before.get("results", {}).get("concurrent_writes", {}),
        after.get("results", {}).get("concurrent_writes", {}),
    )
    rows = []
    for config in configs:
        x, y = (_get(_cell(r, "concurrent_writes", config), "extra") for r in (before, after))
        rows.append(
            [
                _label([after, before], config, "configs"),
                str(_get(y, "mode") or _get(x, "mode") or ""),
                _rate(_get(x, "throughput_per_s")),
                _rate(_get(y, "throughput_per_s")),
                _ratio(_get(x, "throughput_per_s"), _get(y, "throughput_per_s")),
                f"{_get(x, 'lost_writes') if x else NONE} / {_get(y, 'lost_writes') if y else NONE}",
                f"{_errors(x)} / {_errors(y)}",
                f"{_chain(_get(x, 'audit_chain_ok'))} / {_chain(_get(y, 'audit_chain_ok'))}",
            ]
        )
    return rows


_WRITER_HEAD = [
    "Configuration",
    "writers",
    "writes/s before",
    "writes/s after",
    "after / before",
    "lost (before / after)",
    "errors (before / after)",
    "audit chain ok (before / after)",
]


def _scaling_keys(report: Result) -> list[tuple[str, str, int]]:
    configs = (report.get("write_scaling") or {}).get("configs", {})
    return [(key, run["layout"], run["processes"]) for key, cell in configs.items() for run in cell["runs"]]


def _scaling_rows(before: Result, after: Result) -> list[list[str]]:
    keys = set(_scaling_keys(before)) | set(_scaling_keys(after))
    config_order = [c.key for c in core_bench.CONFIGS]
    layout_order = list(core_scaling.LAYOUTS)

    def order(key: tuple[str, str, int]) -> tuple[int, int, int]:
        config, layout, processes = key
        return (
            config_order.index(config) if config in config_order else len(config_order),
            layout_order.index(layout) if layout in layout_order else len(layout_order),
            processes,
        )

    rows = []
    for config, layout, processes in sorted(keys, key=order):
        x, y = (core_scaling.find_run(r, config, layout, processes) for r in (before, after))
        label = next(
            (
                r["write_scaling"]["configs"][config]["label"]
                for r in (after, before)
                if config in (r.get("write_scaling") or {}).get("configs", {})
            ),
            config,
        )
        rows.append(
            [
                label,
                core_scaling.LAYOUTS.get(layout, layout),
                str(processes),
                _rate(_get(x, "throughput_per_s")),
                _rate(_get(y, "throughput_per_s")),
                _ratio(_get(x, "throughput_per_s"), _get(y, "throughput_per_s")),
                _num(_get(x, "p95_ms")),
                _num(_get(y, "p95_ms")),
                f"{_get(x, 'lost_writes') if x else NONE} / {_get(y, 'lost_writes') if y else NONE}",
                f"{_errors(x)} / {_errors(y)}",
            ]
        )
    return rows


_SCALING_HEAD = [
    "Configuration",
    "layout",
    "processes",
    "writes/s before",
    "writes/s after",
    "after / before",
    "p95 ms before",
    "p95 ms after",
    "lost (before / after)",
    "errors (before / after)",
]


def _scaling_chain(report: Result) -> str:
    configs = (report.get("write_scaling") or {}).get("configs", {})
    if not configs:
        return NONE
    return ", ".join(f"{cell['label']}: {_chain(cell.get('audit_chain_ok'))}" for cell in configs.values())


def _target_rows(before: Result, after: Result) -> list[list[str]]:
    a, b = core_scaling.judge_targets(before), core_scaling.judge_targets(after)
    rows = []
    for x, y in zip(a, b, strict=True):
        name = y["target"] if x["target"] == y["target"] else f"{x['target']} (before) / {y['target']} (after)"
        rows.append(
            [
                name,
                x["measured"],
                core_scaling.verdict(x["passed"]),
                y["measured"],
                core_scaling.verdict(y["passed"]),
            ]
        )
    return rows


_TARGET_HEAD = ["Target (issue 19)", "measured before", "before", "measured after", "after"]


def _statement_rows(before: Result, after: Result) -> list[list[str]]:
    x, y = (r.get("meta", {}).get("postgres", {}).get("statements_per_call") or {} for r in (before, after))
    return [[f"`{call}`", str(x.get(call, NONE)), str(y.get(call, NONE))] for call in _ordered((), x, y)]


def _missing_note(what: str, present_before: bool, present_after: bool) -> str:
    if present_before and present_after:
        return ""
    side = "before" if not present_before else "after"
    return (
        f"The {side} report has no {what} (an older `core_bench`, or `--only` left it out); its side shows {NONE}.\n\n"
    )


def compare(before: Result, after: Result, names: tuple[str, str] = ("before", "after")) -> str:
    """The markdown page comparing ``before`` and ``after`` (two ``core_bench.json`` reports)."""
    table = core_bench.markdown_table
    parts = [
        "# Core benchmark: before and after\n\n",
        f"Before: `{names[0]}`; after: `{names[1]}`. Generated by `benchmarks/compare_runs.py`; ratios are "
        "after / before (below 1 is faster for latencies, above 1 is more writes per second).\n\n",
        table(["", "before", "after"], _run_rows(before, after)) + "\n\n",
    ]
    mb, ma = before.get("meta", {}), after.get("meta", {})
    if (mb.get("cores"), mb.get("cpu"), mb.get("quick")) != (ma.get("cores"), ma.get("cpu"), ma.get("quick")):
        parts.append(
            "**The two runs differ in machine or sizes (`--quick`)**; their figures are not comparable as such.\n\n"
        )
    parts.append("## Targets\n\n" + table(_TARGET_HEAD, _target_rows(before, after)) + "\n\n")
    latency = _latency_rows(before, after)
    if latency:
        parts.append("## Latency per operation\n\n" + table(_LATENCY_HEAD, latency) + "\n\n")
    writers = _writer_rows(before, after)
    if writers:
        has = ["concurrent_writes" in r.get("results", {}) for r in (before, after)]
        parts.append(
            "## Concurrent writers (one pool)\n\n"
            + _missing_note("concurrent-writers section", *has)
            + table(_WRITER_HEAD, writers)
            + "\n\n"
        )
    scaling = _scaling_rows(before, after)
    if scaling:
        has = [bool(r.get("write_scaling")) for r in (before, after)]
        parts.append(
            "## Write scaling\n\n"
            + _missing_note("write-scaling section", *has)
            + table(_SCALING_HEAD, scaling)
            + f"\n\nAudit chain after the write-scaling runs: before {_scaling_chain(before)}; "
            f"after {_scaling_chain(after)}.\n\n"
        )
    statements = _statement_rows(before, after)
    if statements:
        parts.append(
            "## Statements per call on PostgreSQL\n\n"
            "Round trips one call makes (`core_bench.count_statements`: a statement sent alone, or a pipelined "
            "batch, psycopg's or `postgres_wire`'s, counts once), counted after the timed runs; `get_agent_again` "
            "repeats the lookup (what a cache saves).\n\n" + table(["Call", "before", "after"], statements) + "\n\n"
        )
    return "".join(parts).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare_runs", description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="core_bench.json of the run before the change")
    parser.add_argument("after", type=Path, help="core_bench.json of the run after the change")
    parser.add_argument("--out", type=Path, default=None, help="write the markdown here instead of stdout")
    args = parser.parse_args(argv)
    reports = [json.loads(path.read_text(encoding="utf-8")) for path in (args.before, args.after)]
    page = compare(reports[0], reports[1], (str(args.before), str(args.after)))
    if args.out is None:
        sys.stdout.write(page)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(page, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
