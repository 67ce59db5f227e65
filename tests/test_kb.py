"""Knowledge bases: chunking, incremental ingestion, hybrid search, filters, bad input, the CLI.

Fast tests use :class:`HashingEmbeddings` on both the brute-force index and embedded Chroma; the
claims about meaning (a question finds the right file) use the real MiniLM model on Chroma.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import maas_langchain
from maas_langchain.backends.bruteforce import BruteForceIndex
from maas_langchain.backends.chroma import ChromaIndex
from maas_langchain.core.ports.vectors import Eq, VectorIndex
from maas_langchain.embeddings import HashingEmbeddings
from maas_langchain.errors import EmbeddingDimensionError, InvalidInputError, PermissionDeniedError
from maas_langchain.kb import CodeKBService, DecisionService, IncidentService, KnowledgeBases, collection_name, open_kb
from maas_langchain.kb.chunking import MAX_CHUNK_CHARS, chunk_file, chunk_markdown
from maas_langchain.kb.files import document_meta

CORE = Path(maas_langchain.__file__).parent / "core"

PY_SERVICE = '''"""Payments service."""

import json

RETRIES = 3


def check_json(text):
    """Parse and validate a JSON payload."""
    return json.loads(text)


class PaymentGateway:
    """Talks to the card processor."""

    def charge(self, amount):
        return amount

    def refund(self, amount):
        return -amount
'''

TS_SERVICE = """import { Router } from "express";

// Build the routes of the shipping API.
export function buildRoutes(router: Router) {
  return router;
}

export class ShipmentTracker {
  track(id: string) { return id; }
}

export const MAX_PARCELS = 20;
"""

GO_SERVICE = """package inventory

import "fmt"

// StockLevel counts the items in a warehouse.
type StockLevel struct {
	Count int
}

func (s StockLevel) Reserve(n int) error {
	return fmt.Errorf("not enough")
}
"""


@pytest.fixture(params=["bruteforce", "chroma"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorIndex]:
    opened: VectorIndex = (
        BruteForceIndex() if request.param == "bruteforce" else ChromaIndex.embedded(tmp_path / "chroma")
    )
    yield opened
    opened.close()


@pytest.fixture
def kb(index: VectorIndex) -> KnowledgeBases:
    return open_kb(index, HashingEmbeddings())


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "payments").mkdir(parents=True)
    (root / "shipping").mkdir()
    (root / "payments" / "gateway.py").write_text(PY_SERVICE)
    (root / "shipping" / "routes.ts").write_text(TS_SERVICE)
    (root / "inventory.go").write_text(GO_SERVICE)
    (root / "README.md").write_text("# Shop\n\nPayments, shipping and inventory services.\n")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (root / "huge.txt").write_text("x" * 1_000_001)
    (root / "empty.py").write_text("\n\n")
    (root / ".env").write_text("DATABASE_PASSWORD=hunter2hunter2\n")  # hidden files hold credentials
    (root / "payments" / "server.pem").write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    for skipped in (".git", "node_modules", "__pycache__", ".venv"):
        (root / skipped).mkdir()
        (root / skipped / "ignored.py").write_text("def ignored():\n    pass\n")
    return root


def _paths(kb: KnowledgeBases) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for record in kb.code.index.get(kb.code.collection):
        found.setdefault(str(record.metadata["path"]), set()).add(record.id)
    return found


# -- chunking ---------------------------------------------------------------------------------


def _check_ranges(text: str, chunks: list) -> None:
    lines = text.splitlines()
    for chunk in chunks:
        assert 1 <= chunk.start_line <= chunk.end_line <= len(lines)
        assert len(chunk.text) <= MAX_CHUNK_CHARS
        if len(chunk.text) < MAX_CHUNK_CHARS:  # hard-split slices of one long line excepted
            assert chunk.text == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])


def test_python_chunks_follow_the_syntax_tree() -> None:
    chunks = chunk_file("payments/gateway.py", PY_SERVICE)
    assert [(c.symbol, c.start_line, c.end_line) for c in chunks] == [
        ("<header>", 1, 5),
        ("check_json", 8, 10),
        ("PaymentGateway", 13, 20),
    ]
    assert chunks[2].defines == ("PaymentGateway", "charge", "refund")
    _check_ranges(PY_SERVICE, chunks)


def test_large_python_classes_are_split_into_methods_and_long_bodies_fit() -> None:
    methods = "\n".join(
        f"    def method_{i}(self):\n" + "        x = 1\n" * 30 + "        return x\n" for i in range(6)
    )
    text = (
        f"@decorator\nclass Big:\n    '''Doc.'''\n    LIMIT = 1\n\n{methods}\n\nif __name__ == '__main__':\n    Big()\n"
    )
    chunks = chunk_file("big.py", text)
    symbols = [c.symbol for c in chunks]
    assert symbols[0] == "Big" and chunks[0].start_line == 1  # the decorator belongs to the class
    assert [s for s in symbols if s.startswith("Big.method_")] == [f"Big.method_{i}" for i in range(6)]
    assert symbols[-1] == "<module>"
    long_function = "def long():\n" + "    value = 'abcdefghij' * 3\n" * 200
    pieces = chunk_file("long.py", long_function)
    assert len(pieces) > 3 and {p.symbol for p in pieces} == {"long"} and pieces[0].defines == ("long",)
    assert all(p.defines == () for p in pieces[1:])
    _check_ranges(text, chunks)
    _check_ranges(long_function, pieces)


def test_other_languages_split_at_top_level_definitions() -> None:
    ts = chunk_file("routes.ts", TS_SERVICE)
    assert [(c.symbol, c.start_line) for c in ts] == [("<header>", 1), ("buildRoutes", 3), ("ShipmentTracker", 8)]
    go = chunk_file("inventory.go", GO_SERVICE)
    assert [(c.symbol, c.start_line) for c in go] == [("<header>", 1), ("StockLevel", 5), ("Reserve", 10)]
    broken = chunk_file("broken.py", "def (:\n" + "text line\n" * 400)  # not Python: paragraphs by size
    assert len(broken) > 1
    minified = chunk_file("app.min.js", "var a=1;" * 1000)
    assert all(len(c.text) <= MAX_CHUNK_CHARS for c in minified) and len(minified) == 6
    for text, chunks in ((TS_SERVICE, ts), (GO_SERVICE, go)):
        _check_ranges(text, chunks)


def test_markdown_splits_by_headings_outside_code_fences() -> None:
    short = "# Title\n\nOne paragraph.\n"
    assert [(c.start_line, c.end_line) for c in chunk_markdown(short)] == [(1, 3)]
    section = "word " * 250
    text = f"# ADR 7\n\n{section}\n\n## Context\n\n```\n# not a heading\n```\n{section}\n\n## Decision\n\n{section}\n"
    chunks = chunk_markdown(text)
    assert [c.symbol for c in chunks] == ["ADR 7", "ADR 7 > Context", "ADR 7 > Decision"]
    _check_ranges(text, chunks)


def test_document_metadata_from_front_matter_and_key_lines() -> None:
    text = "# Use JWT\n\n**Status:** Accepted\n- Date: 2024-05-01\nTopic: auth\n\nBody.\n"
    assert document_meta(text, "0007-jwt") == {
        "title": "Use JWT",
        "topic": "auth",
        "status": "accepted",
        "date": "2024-05-01",
    }
    assert document_meta("Nothing here.", "2023-02-03-outage")["date"] == "2023-02-03"
    assert document_meta("Nothing here.", "notes") == {"title": "notes"}


# -- ingestion ----------------------------------------------------------------------------------


def test_ingest_indexes_source_files_and_skips_the_rest(kb: KnowledgeBases, repo: Path) -> None:
    report = kb.ingest_path(repo, kind="code", service="shop", progress=False)
    assert (report.files_scanned, report.files_added, report.files_skipped) == (7, 4, 3)
    assert report.chunks_written == kb.code.count() and report.root == str(repo.resolve())
    assert set(_paths(kb)) == {"payments/gateway.py", "shipping/routes.ts", "inventory.go", "README.md"}
    record = kb.code.index.get(kb.code.collection, Eq("symbol", "check_json"))[0]
    meta = record.metadata
    assert (meta["path"], meta["service"], meta["language"], meta["kind"]) == (
        "payments/gateway.py",
        "shop",
        "python",
        "code",
    )
    assert (meta["start_line"], meta["end_line"]) == (8, 10) and len(str(meta["sha256"])) == 64
    assert record.document is not None and record.document.startswith("def check_json")


def test_reingest_touches_only_the_changed_file(kb: KnowledgeBases, repo: Path) -> None:
    kb.ingest_path(repo, kind="code", progress=False)
    before = _paths(kb)
    again = kb.ingest_path(repo, kind="code", progress=False)
    assert (again.files_unchanged, again.chunks_written, again.chunks_deleted) == (4, 0, 0)
    gateway = repo / "payments" / "gateway.py"
    gateway.write_text(PY_SERVICE.split("class PaymentGateway")[0])  # the class is gone
    report = kb.ingest_path(repo, kind="code", progress=False)
    assert (report.files_updated, report.files_unchanged, report.files_added) == (1, 3, 0)
    assert report.chunks_written == 2 and report.chunks_deleted == 1
    after = _paths(kb)
    assert {p: ids for p, ids in after.items() if p != "payments/gateway.py"} == {
        p: ids for p, ids in before.items() if p != "payments/gateway.py"
    }
    assert kb.code.index.get(kb.code.collection, Eq("symbol", "PaymentGateway")) == []


def test_deleted_binary_and_emptied_files_lose_their_chunks(kb: KnowledgeBases, repo: Path) -> None:
    kb.ingest_path(repo, kind="code", progress=False)
    (repo / "inventory.go").unlink()
    (repo / "README.md").write_bytes(b"\x00\x01binary now")
    (repo / "shipping" / "routes.ts").write_text("")
    report = kb.ingest_path(repo, kind="code", progress=False)
    assert report.files_removed == 3 and report.files_unchanged == 1
    assert set(_paths(kb)) == {"payments/gateway.py"}
    assert kb.code.search_code_kb("StockLevel Reserve") and all(
        r.path == "payments/gateway.py" for r in kb.code.search_code_kb("StockLevel Reserve")
    )


def test_results_never_show_secrets_but_the_index_keeps_the_text(kb: KnowledgeBases, tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text(
        'def connect():\n    api_key = "sk-live0123456789abcdefghij"\n    return api_key\n'
    )
    kb.ingest_path(tmp_path, kind="code", progress=False)
    hit = kb.code.search_code_kb("connect", limit=1)[0]
    assert "sk-live" not in hit.content and "[REDACTED]" in hit.content
    stored = kb.code.index.get(kb.code.collection, Eq("symbol", "connect"))[0].document
    assert stored is not None and "sk-live0123456789abcdefghij" in stored


def test_single_file_ingest_and_service_change(kb: KnowledgeBases, repo: Path) -> None:
    kb.ingest_path(repo, kind="code", service="shop", progress=False)
    report = kb.ingest_path(repo / "inventory.go", kind="code", service="stock", progress=False)
    assert (report.files_scanned, report.files_updated, report.files_removed) == (1, 1, 0)
    assert len(_paths(kb)) == 4  # the rest of the folder is untouched
    assert {r.path for r in kb.code.search_code_kb("warehouse stock", service_filter="stock")} == {"inventory.go"}


def test_progress_uses_tqdm_or_a_plain_counter(
    kb: KnowledgeBases, repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    kb.ingest_path(repo, kind="code", progress=True)
    assert "ingest code" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "tqdm", None)
    (repo / "inventory.go").write_text(GO_SERVICE + "\n// changed\n")
    kb.ingest_path(repo, kind="code", progress=True)
    assert "ingest code: 7/7 files" in capsys.readouterr().err


# -- search -------------------------------------------------------------------------------------


def test_identifier_finds_its_definition_with_line_range_and_why(kb: KnowledgeBases, repo: Path) -> None:
    kb.ingest_path(repo, kind="code", service="shop", progress=False)
    best = kb.code.search_code_kb("check_json", limit=3)[0]
    assert (best.path, best.symbol, best.start_line, best.end_line) == ("payments/gateway.py", "check_json", 8, 10)
    assert best.service == "shop" and best.language == "python" and best.content.startswith("def check_json")
    assert best.why["defines"] == ["check_json"] and "name" in best.why["via"]
    assert best.why["semantic"] >= 0 and 0 < best.why["lexical"] <= 1
    assert best.score == pytest.approx(0.6 * best.why["semantic"] + 0.4 * best.why["lexical"], abs=1e-3)
    tracker = kb.code.search_code_kb("ShipmentTracker", limit=1)[0]
    assert (tracker.path, tracker.language, tracker.start_line) == ("shipping/routes.ts", "typescript", 8)
    scores = [r.score for r in kb.code.search_code_kb("payment gateway refund", limit=10)]
    assert scores == sorted(scores, reverse=True)


def test_filters_run_inside_the_index_query(kb: KnowledgeBases, repo: Path) -> None:
    kb.ingest_path(repo / "payments", kind="code", service="payments", progress=False)
    kb.ingest_path(repo / "shipping", kind="code", service="shipping", progress=False)
    only = kb.code.search_code_kb("check_json", service_filter="shipping", limit=50)
    assert only and {r.service for r in only} == {"shipping"}
    both = kb.code.search_code_kb("routes charge", service_filter=["shipping", "payments"], limit=50)
    assert {r.service for r in both} == {"shipping", "payments"}
    assert kb.code.search_code_kb("check_json", service_filter="nobody") == []
    assert len(kb.code.search_code_kb("code", limit=2)) == 2


def test_decisions_from_files_and_api_one_result_per_document(kb: KnowledgeBases, tmp_path: Path) -> None:
    adr = tmp_path / "adr"
    adr.mkdir()
    long_body = "\n\n".join(f"## Part {i}\n\n" + "tokens expire and sessions rotate. " * 30 for i in range(4))
    (adr / "0001-jwt.md").write_text(
        f"---\ntopic: auth\nstatus: accepted\ndate: 2024-01-02\n---\n# Use JWT\n\n{long_body}"
    )
    (adr / "0002-postgres.md").write_text("# Use PostgreSQL\n\nTopic: storage\n\nOne database for every service.\n")
    (adr / "diagram.svg").write_text("<svg/>")  # not a document
    report = kb.ingest_path(adr, kind="decision", progress=False)
    assert (report.files_scanned, report.files_added) == (2, 2) and report.chunks_written > 3
    kb.decisions.add_decision(
        "Cache sessions in Redis", "Sessions live in Redis with a TTL.", topic="auth", date="2024-03-04"
    )
    results = kb.decisions.search_decisions("session tokens", limit=10)
    assert len({r.title for r in results}) == len(results) == 3
    auth = kb.decisions.search_decisions("session tokens", topic_filter="auth")
    assert {r.title for r in auth} == {"Use JWT", "Cache sessions in Redis"}
    jwt = next(r for r in auth if r.title == "Use JWT")
    assert (jwt.status, jwt.date, jwt.path) == ("accepted", "2024-01-02", "0001-jwt.md") and jwt.section
    redis = next(r for r in auth if r.path is None)
    assert (redis.status, redis.date, redis.section) == ("accepted", "2024-03-04", "")
    storage = kb.decisions.search_decisions("database", topic_filter="storage")
    assert [r.title for r in storage] == ["Use PostgreSQL"]


def test_incidents_add_search_filter_and_delete(kb: KnowledgeBases) -> None:
    first = kb.incidents.add_incident("Checkout 502s", "Payment pool exhausted.", service="checkout", severity="SEV2")
    kb.incidents.add_incident("Search slow", "Index rebuild ran at peak.", service="search", status="open")
    hit = kb.incidents.search_incidents("payment pool", service_filter="checkout")[0]
    assert (hit.id in {r.id for r in kb.incidents.index.get(kb.incidents.collection)}, hit.severity) == (True, "sev2")
    assert (hit.status, hit.service) == ("resolved", "checkout")
    assert [r.status for r in kb.incidents.search_incidents("index rebuild", service_filter="search")] == ["open"]
    assert kb.incidents.delete_document(first) == 1
    assert kb.incidents.search_incidents("payment pool", service_filter="checkout") == []


def test_authorize_hook_runs_before_every_search(index: VectorIndex) -> None:
    calls: list[str | None] = []

    def authorize(agent_id: str | None) -> None:
        calls.append(agent_id)
        if agent_id == "intruder":
            raise PermissionDeniedError("no KB_SEARCH")

    kb = open_kb(index, HashingEmbeddings(), authorize=authorize)
    kb.code.search_code_kb("x", agent_id="a1")
    kb.decisions.search_decisions("x")
    kb.incidents.search_incidents("x", agent_id="a2")
    with pytest.raises(PermissionDeniedError):
        kb.code.search_code_kb("x", agent_id="intruder")
    assert calls == ["a1", None, "a2", "intruder"]


BAD_SEARCHES = [
    {"query": ""},
    {"query": "   "},
    {"query": 42},
    {"query": None},
    {"query": "x" * 10_001},
    {"limit": 0},
    {"limit": 1001},
    {"limit": -1},
    {"limit": True},
    {"limit": "5"},
    {"limit": 2.0},
    {"filter": ""},
    {"filter": 5},
    {"filter": []},
    {"filter": ["ok", ""]},
    {"agent_id": 7},
]


@pytest.mark.parametrize("bad", BAD_SEARCHES, ids=lambda b: repr(b)[:40])
def test_bad_search_arguments_are_invalid_input(kb: KnowledgeBases, bad: dict) -> None:
    args = {"query": "x", "limit": 10, "filter": None, "agent_id": None, **bad}
    searches = [
        lambda: kb.code.search_code_kb(args["query"], args["filter"], args["limit"], agent_id=args["agent_id"]),
        lambda: kb.decisions.search_decisions(args["query"], args["filter"], args["limit"], agent_id=args["agent_id"]),
        lambda: kb.incidents.search_incidents(args["query"], args["filter"], args["limit"], agent_id=args["agent_id"]),
    ]
    for search in searches:
        with pytest.raises(InvalidInputError):
            search()


def test_bad_writes_and_ingest_arguments(kb: KnowledgeBases, tmp_path: Path) -> None:
    for bad in [("", "body"), ("title", ""), (None, "body"), ("title", 3)]:
        with pytest.raises(InvalidInputError):
            kb.decisions.add_decision(*bad)  # type: ignore[arg-type]
    for kwargs in [{"topic": 5}, {"date": "yesterday"}, {"date": 20240101}, {"status": ""}]:
        with pytest.raises(InvalidInputError):
            kb.decisions.add_decision("t", "b", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        kb.incidents.add_incident("t", "b", severity=2)  # type: ignore[arg-type]
    for path, kind, service in [
        (tmp_path / "missing", "code", None),
        (tmp_path, "runbook", None),
        (tmp_path, "code", " "),
    ]:
        with pytest.raises(InvalidInputError):
            kb.ingest_path(path, kind=kind, service=service, progress=False)
    with pytest.raises(InvalidInputError):
        CodeKBService("not an index", HashingEmbeddings())  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        DecisionService(BruteForceIndex(), "not embeddings")  # type: ignore[arg-type]


def test_collections_are_named_per_kind_and_model(index: VectorIndex) -> None:
    kb = open_kb(index, HashingEmbeddings(dimension=64))
    assert (kb.code.collection, kb.decisions.collection, kb.incidents.collection) == (
        "maas-kb-code-hashing-64-64",
        "maas-kb-decisions-hashing-64-64",
        "maas-kb-incidents-hashing-64-64",
    )
    assert collection_name("code", "BAAI/bge-small-en-v1.5", 384) == "maas-kb-code-baai-bge-small-en-v1-5-384"
    other = IncidentService(index, HashingEmbeddings(dimension=32), collection=kb.incidents.collection)
    with pytest.raises(EmbeddingDimensionError):
        other.search_incidents("x")


# -- the real model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KnowledgeBases, Path]]:
    pytest.importorskip("sentence_transformers")
    from maas_langchain.embeddings import LocalMiniLMEmbeddings

    folder = tmp_path_factory.mktemp("real-kb")
    corpus = folder / "core"
    shutil.copytree(CORE, corpus, ignore=shutil.ignore_patterns("__pycache__"))
    index = ChromaIndex.embedded(folder / "chroma")
    kb = open_kb(index, LocalMiniLMEmbeddings())
    kb.ingest_path(corpus, kind="code", service="core", progress=False)
    yield kb, corpus
    index.close()


def test_real_model_question_finds_the_handoff_code(real_kb: tuple[KnowledgeBases, Path]) -> None:
    kb, _ = real_kb
    results = kb.code.search_code_kb("who may accept a handoff", limit=5)
    # the rule lives in the access module, the transition in the handoff service: both answer
    found = [(r.path, r.symbol) for r in results[:3]]
    assert {p for p, _ in found} <= {"handoffs.py", "access/handoffs.py"}, found
    assert {"require_handoff_party", "HandoffManager.accept_handoff"} & {s for _, s in found}, found
    audit = kb.code.search_code_kb("verify the hash chain of the audit log", limit=3)
    assert audit[0].path in {"audit.py", "audit_verify.py"}  # the logger, or the checks it runs


def test_real_model_identifier_finds_its_definition(real_kb: tuple[KnowledgeBases, Path]) -> None:
    kb, corpus = real_kb
    best = kb.code.search_code_kb("check_json", limit=5)[0]
    assert (best.path, best.symbol) == ("validation.py", "check_json")
    lines = (corpus / "validation.py").read_text().splitlines()
    assert lines[best.start_line - 1].startswith("def check_json(")


def test_real_model_reingest_after_editing_one_file(real_kb: tuple[KnowledgeBases, Path]) -> None:
    kb, corpus = real_kb
    limits = corpus / "limits.py"
    original = limits.read_text()
    try:
        limits.write_text(
            original + "\n\ndef quota_for_tenants(tenant):\n    '''Per-tenant storage quota.'''\n    return 5\n"
        )
        report = kb.ingest_path(corpus, kind="code", service="core", progress=False)
        assert (report.files_updated, report.files_added, report.files_removed) == (1, 0, 0)
        assert report.files_unchanged == report.files_scanned - 1
        best = kb.code.search_code_kb("storage quota of a tenant", limit=1)[0]
        assert (best.path, best.symbol) == ("limits.py", "quota_for_tenants")
    finally:
        limits.write_text(original)
        kb.ingest_path(corpus, kind="code", service="core", progress=False)


# -- CLI ----------------------------------------------------------------------------------------


def test_cli_ingest_and_search(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sentence_transformers")
    from maas_langchain.adapters.cli import main

    home = str(tmp_path / "home")
    first = ["kb", "ingest", str(repo), "--kind", "code", "--service", "shop", "--no-progress"]
    assert main(["--home", home, "--create", *first]) == 0  # a new home: --create
    assert "4 added" in capsys.readouterr().out
    assert main(["--home", home, "--json", "kb", "ingest", str(repo), "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["files_unchanged"] == 4
    assert main(["--home", home, "--json", "kb", "search", "check_json", "--service", "shop", "--limit", "2"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found[0]["path"] == "payments/gateway.py" and found[0]["start_line"] == 8 and len(found) == 2
    assert main(["--home", home, "kb", "search", "card processor", "--limit", "1"]) == 0
    assert "payments/gateway.py" in capsys.readouterr().out
    assert main(["--home", home, "kb", "search", "x", "--kind", "decision"]) == 0
    assert "no results" in capsys.readouterr().out
    assert main(["--home", home, "kb", "search", "x", "--limit", "0"]) == 2
    assert "invalid_input" in capsys.readouterr().err
