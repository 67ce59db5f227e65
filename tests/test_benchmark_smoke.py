"""Smoke run of the core benchmark: it completes, reports every cell, and loses no writes.

Timings are not asserted (timed unit tests are flaky); ``docs/benchmarks.md`` holds the figures.
The PostgreSQL configuration runs when the test server (``$MAAS_TEST_POSTGRES_URL``, see
``conftest.py``) is reachable, and is skipped by the benchmark otherwise. The write-scaling
section runs with 1 and 2 writer processes here (1 to 16 in a real run). ``compare_runs`` is
checked on small hand-made reports, one of them in the format written before write scaling.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import POSTGRES_URL

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def core_bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT))  # spawned writer processes import benchmarks.core_bench
    from benchmarks import core_bench

    return core_bench


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_quick_benchmark_reports_every_cell(tmp_path: Path, core_bench: ModuleType) -> None:
    pg_reachable = core_bench.postgres_unavailable(POSTGRES_URL) is None

    argv = ["--quick", "--out", str(tmp_path), "--postgres", POSTGRES_URL, "--scaling-processes", "1,2"]
    assert core_bench.main(argv) == 0

    report = json.loads((tmp_path / "core_bench.json").read_text(encoding="utf-8"))
    markdown = (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Core benchmark")
    assert markdown.endswith(core_bench.GENERATED_END + "\n")
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "img" / "core_bench.png").stat().st_size > 0
    expected = {c.key for c in core_bench.CONFIGS if pg_reachable or c.backend != "postgres"}
    assert set(report["configs"]) == expected
    results = report["results"]
    assert set(results) == {op.key for op in core_bench.OPS}
    for op, cells in results.items():
        assert set(cells) == expected, op
        for config, cell in cells.items():
            assert cell["n"] > 0, (op, config)
            for field in ("p50_ms", "p95_ms", "p99_ms"):
                assert cell[field] > 0, (op, config, field)
    for config, cell in results["concurrent_writes"].items():
        extra = cell["extra"]
        assert extra["writers"] == 16, config
        assert extra["lost_writes"] == 0, (config, extra)
        assert extra["distinct_rows"] == extra["expected"] == extra["acknowledged"], (config, extra)
        assert extra["errors"] == {}, (config, extra)
        assert extra["audit_chain_ok"], config
    assert results["concurrent_writes"]["sqlite_normal"]["extra"]["mode"] == "16 processes"
    _check_write_scaling(report, {"sqlite_normal", "postgres"} if pg_reachable else {"sqlite_normal"}, [1, 2])
    assert "## Write scaling" in markdown and "## Targets" in markdown
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "img" / "core_write_scaling.png").stat().st_size > 0
        assert "](img/core_write_scaling.png)" in markdown
    targets = report["targets"]
    assert len(targets) == 5 and all(t["passed"] in (True, False, None) for t in targets)
    assert all((t["passed"] is None) == (not pg_reachable) for t in targets), targets

    pg = report["meta"]["postgres"]
    if not pg_reachable:
        assert "unreachable" in pg["skipped"] or "psycopg" in pg["skipped"]
        assert "PostgreSQL** was not measured" in markdown
        return
    assert results["concurrent_writes"]["postgres"]["extra"]["mode"] == "16 processes"
    assert pg["schema"].startswith("maas_bench_")
    assert pg["statements_per_call"]["get_agent"] >= 1
    assert pg["statements_per_call"]["share_memory"] >= 1
    import psycopg

    with psycopg.connect(POSTGRES_URL) as conn:  # the run dropped its schema
        left = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (pg["schema"],)).fetchone()
    assert left is None


def _check_write_scaling(report: dict[str, Any], configs: set[str], processes: list[int]) -> None:
    section = report["write_scaling"]
    assert section["processes"] == processes
    assert set(section["configs"]) == configs
    for key, cell in section["configs"].items():
        assert cell["audit_chain_ok"], key
        runs = {(r["layout"], r["processes"]): r for r in cell["runs"]}
        assert set(runs) == {(layout, p) for layout in ("one_pool", "own_pool") for p in processes}, key
        for (layout, p), run in runs.items():
            assert run["pools"] == (1 if layout == "one_pool" else p), (key, run)
            assert run["errors"] == {} and run["lost_writes"] == 0, (key, run)
            assert run["distinct_rows"] == run["expected"] == run["acknowledged"] == run["share_counter"], (key, run)
            assert run["expected"] == p * section["writes_per_writer"], (key, run)
            assert run["throughput_per_s"] > 0 and run["wall_s"] > 0, (key, run)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_only_runs_the_selected_sections(tmp_path: Path, core_bench: ModuleType) -> None:
    argv = ["--quick", "--no-postgres", "--only", "write_scaling", "--scaling-processes", "1,2", "--out", str(tmp_path)]
    assert core_bench.main(argv) == 0

    report = json.loads((tmp_path / "core_bench.json").read_text(encoding="utf-8"))
    assert report["meta"]["sections"] == ["write_scaling"]
    assert report["results"] == {} and set(report["configs"]) == {"sqlite_normal"}
    _check_write_scaling(report, {"sqlite_normal"}, [1, 2])
    assert all(t["passed"] is None for t in report["targets"])  # every target needs PostgreSQL
    markdown = (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
    assert "**Partial run**" in markdown and "## Write scaling" in markdown
    assert "## Results" not in markdown and "## Interpretation" not in markdown
    assert not (tmp_path / "img" / "core_bench.png").exists()


def test_only_and_scaling_processes_are_checked(core_bench: ModuleType, tmp_path: Path) -> None:
    for argv in (
        ["--only", "write_scaling"],  # a partial report must not replace docs/benchmarks.md
        ["--only", "no_such_section", "--out", str(tmp_path)],
        ["--scaling-processes", "1,32", "--out", str(tmp_path)],
        ["--scaling-processes", "0", "--out", str(tmp_path)],
    ):
        with pytest.raises(SystemExit) as exit_info:
            core_bench.main(argv)
        assert exit_info.value.code == 2, argv
    assert not any(tmp_path.iterdir())


def _old_report() -> dict[str, Any]:
    """A report in the format ``core_bench`` wrote before write scaling (commit 71bc19f)."""

    def cell(p50: float, p95: float, passed: bool, **extra: Any) -> dict[str, Any]:
        return {"n": 10, "p50_ms": p50, "p95_ms": p95, "p99_ms": p95, "passed": passed, "extra": extra}

    writers = {"writers": 16, "mode": "16 processes", "lost_writes": 0, "errors": {}, "audit_chain_ok": True}
    return {
        "meta": {
            "code": "71bc19f",
            "date": "2026-12-01 10:00 UTC",
            "cores": 2,
            "cpu": "x",
            "quick": False,
            "postgres": {
                "version": "15.20",
                "synchronous_commit": "on",
                "statements_per_call": {"get_agent": 3, "share_memory": 17},
            },
        },
        "configs": {"sqlite_normal": "SQLite normal", "postgres": "PostgreSQL"},
        "operations": {"registry_lookup": {"title": "Registry lookup (get_agent)"}},
        "results": {
            "registry_lookup": {"sqlite_normal": cell(0.015, 0.02, True), "postgres": cell(0.18, 0.29, False)},
            "handoff_cycle": {"sqlite_normal": cell(0.8, 1.3, True), "postgres": cell(4.8, 9.6, False)},
            "concurrent_writes": {
                "sqlite_normal": cell(0.3, 2.5, True, throughput_per_s=1926.0, **writers),
                "postgres": cell(54.7, 92.2, True, throughput_per_s=272.0, **writers),
            },
        },
    }


def _scaling(figures: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """A write-scaling section with the throughputs ``figures[config][layout]`` for 1, 2, 16 processes."""
    labels = {"sqlite_normal": "SQLite normal", "postgres": "PostgreSQL"}
    return {
        "processes": [1, 2, 16],
        "writes_per_writer": 200,
        "configs": {
            key: {
                "label": labels[key],
                "audit_chain_ok": True,
                "runs": [
                    {
                        "layout": layout,
                        "processes": p,
                        "throughput_per_s": rate,
                        "p95_ms": 1.0,
                        "lost_writes": 0,
                        "errors": {},
                    }
                    for layout, rates in layouts.items()
                    for p, rate in zip((1, 2, 16), rates, strict=True)
                ],
            }
            for key, layouts in figures.items()
        },
    }


def test_targets_are_judged_from_the_figures(core_bench: ModuleType) -> None:
    from benchmarks import core_scaling

    old = _old_report()
    verdicts = [t["passed"] for t in core_scaling.judge_targets(old)]
    assert verdicts == [False, False, False, None, None]  # no write scaling in the old format

    new = copy.deepcopy(old)
    new["results"]["registry_lookup"]["postgres"]["p95_ms"] = 0.04
    new["results"]["concurrent_writes"]["postgres"]["extra"]["throughput_per_s"] = 2000.0
    new["write_scaling"] = _scaling(
        {
            "sqlite_normal": {"one_pool": [2500, 2400, 2300], "own_pool": [2500, 2450, 2400]},
            "postgres": {"one_pool": [600, 900, 1000], "own_pool": [600, 1100, 3000]},
        }
    )
    targets = core_scaling.judge_targets(new)
    assert [t["passed"] for t in targets] == [True, False, True, True, True]
    assert "3,000 writes/s vs 600 writes/s and 1,000 writes/s" in targets[4]["measured"]

    new["write_scaling"]["configs"]["postgres"]["runs"][-1]["throughput_per_s"] = 900.0  # below one pool at 16
    assert [t["passed"] for t in core_scaling.judge_targets(new)][3:] == [False, False]


def test_compare_runs_puts_an_old_report_beside_a_new_one(tmp_path: Path, core_bench: ModuleType) -> None:
    from benchmarks import compare_runs

    old = _old_report()
    new = copy.deepcopy(old)
    new["meta"]["code"] = "abc1234 + uncommitted changes in maas_langchain/"
    new["meta"]["postgres"]["statements_per_call"] = {"get_agent": 3, "get_agent_again": 0, "share_memory": 6}
    new["results"]["concurrent_writes"]["postgres"]["extra"]["throughput_per_s"] = 544.0
    new["write_scaling"] = _scaling(
        {
            "sqlite_normal": {"one_pool": [1, 2, 3], "own_pool": [1, 2, 3]},
            "postgres": {"one_pool": [1, 2, 3], "own_pool": [1, 2, 4]},
        }
    )
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    before.write_text(json.dumps(old), encoding="utf-8")
    after.write_text(json.dumps(new), encoding="utf-8")

    assert compare_runs.main([str(before), str(after), "--out", str(tmp_path / "compare.md")]) == 0

    page = (tmp_path / "compare.md").read_text(encoding="utf-8")
    assert "`71bc19f`" in page and "`abc1234 + uncommitted changes in maas_langchain/`" in page
    assert "| Registry lookup (get_agent) | PostgreSQL | 0.180 | 0.180 | 0.290 | 0.290 | 1.00x |" in page
    assert "| PostgreSQL | 16 processes | 272 | 544 | 2.00x |" in page
    assert "The before report has no write-scaling section" in page
    assert "| PostgreSQL | a pool per writer | 16 | — | 4 | — |" in page
    assert "| `share_memory` | 17 | 6 |" in page and "| `get_agent_again` | — | 0 |" in page
    assert page.count("| Registry lookup (get_agent) |") == 2  # each operation x configuration once
    assert compare_runs.compare({}, {})  # two empty reports still make a page


def test_unreachable_postgres_skips_only_that_configuration(core_bench: ModuleType) -> None:
    configs, reason = core_bench.select_configs("postgresql://postgres@127.0.0.1:1/test?connect_timeout=2")
    assert [c.key for c in configs] == ["memory", "sqlite_normal", "sqlite_full"]
    assert reason is not None and "127.0.0.1:1" in reason and "--no-postgres" in reason

    configs, reason = core_bench.select_configs(None)  # --no-postgres
    assert "postgres" not in {c.key for c in configs} and reason == "--no-postgres was given"


def test_rerun_keeps_sections_added_after_the_generated_part(
    tmp_path: Path, core_bench: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    end = core_bench.GENERATED_END
    target = tmp_path / "benchmarks.md"
    target.write_text(f"# old generated part\n\n{end}\n\n## Another benchmark\n\nkept\n", encoding="utf-8")
    monkeypatch.setattr(core_bench, "render_markdown", lambda report, image: f"# Core benchmark\n\n{end}\n")
    monkeypatch.setattr(core_bench, "write_plot", lambda report, path: False)

    core_bench.write_outputs({"configs": {}}, tmp_path)

    assert target.read_text(encoding="utf-8") == f"# Core benchmark\n\n{end}\n\n## Another benchmark\n\nkept\n"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_quick_store_benchmark_reports_every_store_and_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import store_bench

    store_bench.main(["--quick", "--no-postgres", "--no-model", "--out", str(tmp_path)])

    report = json.loads((tmp_path / "store_bench.json").read_text(encoding="utf-8"))
    stores = set(report["results"])
    assert {"InMemoryStore", "SqliteStore defaults", "SqliteStore NORMAL", "MaaSStore SQLite"} <= stores
    for name, figures in report["results"].items():
        for op in ("get", "put", "put_steady", "batch100_per_item", "batch100_steady_per_item", "filter"):
            assert figures[op]["p50_us"] > 0, (name, op)
    checked = {(v["target"], v["config"]) for v in report["verdicts"]}
    assert ("put p50 <= SqliteStore NORMAL", "MaaSStore SQLite") in checked
    assert ("put p50 <= SqliteStore defaults", "MaaSStore SQLite full") in checked
    assert all(v["pass"] in (True, False, None) for v in report["verdicts"])
    assert "| target |" in (tmp_path / "store_bench.md").read_text(encoding="utf-8")


def test_write_cpu_reports_client_and_machine_cpu_per_write(tmp_path: Path, core_bench: ModuleType) -> None:
    """``benchmarks.write_cpu`` on SQLite and the real PostgreSQL: every row has its figures, the
    statement count is taken on PostgreSQL only, and the files are written."""
    from benchmarks import write_cpu

    assert (
        write_cpu.main(["--processes", "2", "--writes", "20", "--postgres", POSTGRES_URL, "--out", str(tmp_path)]) == 0
    )
    report = json.loads((tmp_path / "write_cpu.json").read_text())
    rows = {r["config"]: r for r in report["rows"]}
    assert set(rows) == {"sqlite", "postgres"}
    for row in rows.values():
        assert row["writes"] == 40  # every share acknowledged
        assert row["writes_per_s"] > 0 and row["client_cpu_ms_per_write"] > 0 and row["machine_cpu_ms_per_write"] > 0
    assert rows["sqlite"]["statements_per_write"] is None
    assert rows["postgres"]["statements_per_write"] >= 3  # begin and lock, the writes, commit
    assert "| postgres | 2 |" in (tmp_path / "write_cpu.md").read_text()
