"""Docs that are tested: every Python and shell block of README.md and docs/*.md runs, or says why not.

Each block that ``scripts/doc_blocks.py`` classes as *executed* runs in a subprocess, in a fresh
temporary folder that is both its working directory and ``$MAAS_HOME`` (``./.maas``), **twice in a
row** in the same folder: users re-run snippets, so the second run must pass too. Nothing is
substituted: the default embedding model (the packaged all-MiniLM-L6-v2), the default vector
index, the real CLI. Python blocks run as ``python snippet.py``; shell blocks (only ``maas ...``
commands qualify) run under ``bash -euo pipefail`` with ``maas`` as ``python -m
maas_langchain.adapters.cli``, against a home created empty first.

A block that cannot run on its own carries ``<!-- fragment: reason -->`` on the line before its
fence; ``test_every_block_is_executed_or_marked`` fails listing every block that is neither, and
prints the table of all blocks (``pytest -rP`` shows it; ``python scripts/doc_blocks.py`` prints
it too). Python fragments must still parse.

The selected blocks run in parallel (one per core, at most 4) on first use, so all the docs take
about as long as their slowest few blocks. Blocks that load the embedding model are marked
``slow``. ``EXPECTED`` checks what a block prints where the docs claim an output.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("doc_blocks", ROOT / "scripts" / "doc_blocks.py")
assert _spec is not None and _spec.loader is not None
doc_blocks = importlib.util.module_from_spec(_spec)
sys.modules["doc_blocks"] = doc_blocks  # dataclasses look their module up
_spec.loader.exec_module(doc_blocks)

BLOCKS = doc_blocks.all_blocks(ROOT)
EXECUTED = [b for b in BLOCKS if b.status() == "executed"]
RUNS = 2
RUN_TIMEOUT = 300  # seconds per run; a cold model load under load takes ~20 s
WORKERS = max(1, min(4, os.cpu_count() or 1))
# Blocks that load the embedding model: memories, and handoffs (their context is screened with
# the learned signal over its embedding). Marked slow and started first.
NEEDS_MODEL = re.compile(
    r"\b(remember|recall|reflect|initiate_handoff|create_handoff_tool|create_maas_supervisor|LocalMiniLMEmbeddings)\b"
)


def _lines(out: str) -> list[str]:
    return out.strip().splitlines()


# What a block prints, checked on every run (the docs' "# prints ..." comments and prose).
EXPECTED: dict[str, Callable[[str], bool]] = {
    "README.md#Quick start": lambda out: out.strip() == "['mem-api-design']",
    "README.md#Memories: remember and recall within a scope": lambda out: (
        _lines(out)[0].startswith("Competitor X raised prices by 20% in Q2. ['competitor'")
        and out.count("Competitor X raised prices by 20% in Q2.") == 2  # once in items[0], once in formatted
    ),
    "README.md#Structured memory: facts, conflicts, reflection": lambda out: (
        _lines(out)[:2]
        == [
            "enterprise.top_priority: SOC2 compliance -> data residency",
            "The enterprise customer segment now prioritises data residency. [1]",
        ]
        and out.rstrip().endswith("Reflections:\n- The enterprise customer segment now prioritises data residency. [1]")
    ),
    "README.md#LangGraph: store, checkpointer, supervisor": lambda out: out.strip() == "{'text': 'login uses OAuth'}",
    "README.md#Tools for LLM agents, and the MCP server": lambda out: (
        out.startswith('{"ok":true,"result":{"agent_id":') and '"handoffs":[]' in out
    ),
    "README.md#Audit": lambda out: out.strip() == "True",
    "README.md#Event streaming": lambda out: (
        [line.split()[1] for line in _lines(out)] == ["handoff.initiated", "handoff.accepted"]
    ),
    "docs/checkpointer.md#Use": lambda out: (
        _lines(out) == ["noted: draft the login page | noted: add the tests", "B may no longer read T"]
    ),
    "docs/store.md#MaaSStore: a LangGraph store on the MaaS database": lambda out: out.startswith(
        "{'text': 'login uses OAuth'} 0."
    ),
    "docs/structured-memory.md#Structured memory: entities, facts, conflicts, reflection": lambda out: (
        _lines(out)
        == ["CustomerSegment {'top_priority': 'data residency'}", "SOC2 compliance superseded data residency"]
    ),
    "docs/supervisor.md#The prebuilt": lambda out: (
        _lines(out) == ["Rate limiting is in, with tests.", "['COMPLETED', 'COMPLETED']"]
    ),
    "docs/supervisor.md#Building one by hand": lambda out: out.strip() == "Retries are in.",
    "docs/tools.md#Tools for LLM agents": lambda out: (
        out.strip() == "['accept_handoff', 'cancel_handoff', 'complete_handoff']"
    ),
}


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def _env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"MAAS_URL", "MAAS_VECTORS_URL", "MAAS_AUDIT_KEY"}}
    env["MAAS_HOME"] = str(work / ".maas")
    env["MAAS_DOC_PYTHON"] = sys.executable
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _shell_script(block: doc_blocks.Block) -> str:
    lines = ["set -euo pipefail", 'maas() { "$MAAS_DOC_PYTHON" -m maas_langchain.adapters.cli "$@"; }', "set -x"]
    return "\n".join([*lines, *block.shell_commands()]) + "\n"


def execute(block: doc_blocks.Block, folder: Path) -> list[Run]:
    """Run one block twice in ``folder/work`` (stops after a failing run)."""
    work = folder / "work"
    work.mkdir(parents=True)
    env = _env(work)
    if block.kind == "python":
        script = folder / "snippet.py"
        script.write_text(block.code, encoding="utf-8")
        argv = [sys.executable, str(script)]
    else:
        # an empty home, as `maas init` / a first MaaS.open() leaves it: the commands act on a store
        init = "import sys; from maas_langchain import MaaS; MaaS.open(sys.argv[1], sweep_interval=None).close()"
        subprocess.run([sys.executable, "-c", init, env["MAAS_HOME"]], env=env, check=True, timeout=120)
        script = folder / "snippet.sh"
        script.write_text(_shell_script(block), encoding="utf-8")
        argv = ["bash", str(script)]
    runs: list[Run] = []
    for _ in range(RUNS):
        started = time.perf_counter()
        try:
            done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
            run = Run(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)
        except subprocess.TimeoutExpired as exc:
            out, err = (
                s.decode(errors="replace") if isinstance(s, bytes) else (s or "") for s in (exc.stdout, exc.stderr)
            )
            run = Run(-1, out, err + f"\n(timed out after {RUN_TIMEOUT} s)", time.perf_counter() - started)
        runs.append(run)
        if run.returncode != 0:
            break
    return runs


@pytest.fixture(scope="session")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Run]]:
    """Runs of every block selected in this session, in parallel, slow ones first."""
    selected = [
        item.callspec.params["block"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_doc_block" and hasattr(item, "callspec")
    ]
    selected.sort(key=lambda b: not NEEDS_MODEL.search(b.code))
    root = tmp_path_factory.mktemp("doc-blocks")
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {b.id: pool.submit(execute, b, root / f"{i:02d}") for i, b in enumerate(selected)}
        return {block_id: future.result() for block_id, future in futures.items()}


def _param(block: doc_blocks.Block) -> object:
    marks = [pytest.mark.slow] if NEEDS_MODEL.search(block.code) else []
    return pytest.param(block, id=block.id, marks=marks)


@pytest.mark.timeout(1200)  # the first test's setup runs every selected block
@pytest.mark.parametrize("block", [_param(b) for b in EXECUTED])
def test_doc_block(block: doc_blocks.Block, outcomes: dict[str, list[Run]]) -> None:
    runs = outcomes[block.id]
    for n, run in enumerate(runs, start=1):
        where = f"{block.id} ({block.anchor}), run {n} of {RUNS}"
        assert run.returncode == 0, f"{where} failed:\n{run.stderr[-4000:]}\n--- stdout ---\n{run.stdout[-2000:]}"
        check = EXPECTED.get(block.anchor)
        assert check is None or check(run.stdout), f"{where} printed something else than the docs say:\n{run.stdout}"
    assert len(runs) == RUNS
    print(f"{block.id}: executed {RUNS}x in " + " + ".join(f"{r.seconds:.1f} s" for r in runs))


def test_every_block_is_executed_or_marked() -> None:
    print()
    print(doc_blocks.table(BLOCKS))
    uncovered = [f"{b.id} ({b.info}): {b.status()}" for b in BLOCKS if b.status().startswith("NOT COVERED")]
    assert not uncovered, "blocks neither executed nor marked as fragments:\n" + "\n".join(uncovered)


def test_expected_outputs_name_executed_blocks() -> None:
    """Each EXPECTED entry checks exactly one executed block (a renamed heading must not drop a check)."""
    anchors = [b.anchor for b in EXECUTED]
    for anchor in EXPECTED:
        assert anchors.count(anchor) == 1, f"{anchor}: {anchors.count(anchor)} executed blocks"


@pytest.mark.parametrize(
    "block", [pytest.param(b, id=b.id) for b in BLOCKS if b.kind == "python" and b.status().startswith("fragment")]
)
def test_python_fragments_parse(block: doc_blocks.Block) -> None:
    ast.parse(block.code)  # top-level await parses; it only fails at compile time


def test_the_parser_finds_markers_commands_and_indented_fences(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(
        "# T\n\n<!-- fragment: needs a server -->\n```python\nstart()\n```\n\n"
        "## Shell\n\n```console\n$ maas status   # counts\nbackend: sqlite\n$ maas extract \\\n"
        "  --resume\n```\n\n* item\n\n  ```bash\n  make demo\n  ```\n\n```json\n{}\n```\n",
        encoding="utf-8",
    )
    fragment, console, bash, json_block = doc_blocks.all_blocks(tmp_path)
    assert (fragment.kind, fragment.fragment, fragment.status()) == (
        "python",
        "needs a server",
        "fragment: needs a server",
    )
    assert console.shell_commands() == ["maas status", "maas extract --resume"]
    assert (console.status(), console.anchor, console.line) == ("executed", "README.md#Shell", 10)
    assert bash.code == "make demo\n" and bash.status().startswith("NOT COVERED")
    assert json_block.status() == "not code"
