"""Smoke run of the core benchmark: it completes, reports every cell, and loses no writes.

Timings are not asserted (timed unit tests are flaky); ``docs/benchmarks.md`` holds the figures.
The PostgreSQL configuration runs when the test server (``$MAAS_TEST_POSTGRES_URL``, see
``conftest.py``) is reachable, and is skipped by the benchmark otherwise.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from conftest import POSTGRES_URL

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def core_bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT))  # spawned writer processes import benchmarks.core_bench
    from benchmarks import core_bench

    return core_bench


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_quick_benchmark_reports_every_cell(tmp_path: Path, core_bench: ModuleType) -> None:
    pg_reachable = core_bench.postgres_unavailable(POSTGRES_URL) is None

    assert core_bench.main(["--quick", "--out", str(tmp_path), "--postgres", POSTGRES_URL]) == 0

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

    pg = report["meta"]["postgres"]
    if not pg_reachable:
        assert "unreachable" in pg["skipped"] or "psycopg" in pg["skipped"]
        assert "PostgreSQL** was not measured" in markdown
        return
    assert results["concurrent_writes"]["postgres"]["extra"]["mode"] == "16 processes"
    assert pg["schema"].startswith("maas_bench_")
    assert pg["statements_per_call"]["get_agent"] >= 3
    import psycopg

    with psycopg.connect(POSTGRES_URL) as conn:  # the run dropped its schema
        left = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (pg["schema"],)).fetchone()
    assert left is None


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
