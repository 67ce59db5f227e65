"""Smoke run of the core benchmark: it completes, reports every cell, and loses no writes.

Timings are not asserted (timed unit tests are flaky); ``docs/benchmarks.md`` holds the figures.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_quick_benchmark_reports_every_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))  # spawned writer processes import benchmarks.core_bench
    from benchmarks import core_bench

    assert core_bench.main(["--quick", "--out", str(tmp_path)]) == 0

    report = json.loads((tmp_path / "core_bench.json").read_text(encoding="utf-8"))
    assert (tmp_path / "benchmarks.md").read_text(encoding="utf-8").startswith("# Core benchmark")
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "img" / "core_bench.png").stat().st_size > 0
    results = report["results"]
    assert set(results) == {op.key for op in core_bench.OPS}
    for op, cells in results.items():
        assert set(cells) == {c.key for c in core_bench.CONFIGS}, op
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
    assert results["concurrent_writes"]["sqlite_normal"]["extra"]["mode"] == "16 processes"
