"""The curl examples of docs/rest.md, run against a real ``maas serve --http``.

docs/rest.md marks each example with ``<!-- rest-example: ... -->`` on the line before its
fragment marker (``scripts/doc_blocks.py`` lists them as fragments pointing here), and the
answer it shows with ``<!-- rest-response -->`` right before that block. This test:

1. runs the doc's setup block (``<!-- rest-setup -->``, a Python block that registers the
   agents) in a fresh home, and the ``maas keys create`` commands of the doc's key block
   (``<!-- rest-keys -->``), each through the real CLI;
2. starts ``maas --home HOME serve --http --port PORT`` (a free port; the default rate limits,
   the packaged embedding model, the default embedded vector index — what the doc tells a
   reader to run);
3. runs every example in document order under ``bash -euo pipefail`` with ``$MAAS_URL``, the
   keys and the ids exported, ``curl`` wrapped to also report each call's status on stderr;
4. checks each example's statuses (``status=`` of its marker), exit code (``exit=``, default 0)
   and, where the doc shows an answer, the answer: JSON compared value by value, where an id
   (a UUID) stands for the same id everywhere in the doc (a bijection, so the doc's ids are
   consistent), a 64-hex hash for any hash, a Unix time for any time, a score within 0.05 and
   an audit/event sequence number for any number; ``http`` blocks also compare the status
   line and the headers shown; ``text`` blocks of Server-Sent Events compare each message.

``export=VAR:path`` on a marker puts a value of the answer (``memories.0.memory_id``) in
``$VAR`` for the examples after it, as the doc's prose tells the reader to. The route table and
the status table of the doc are checked against the code too.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import free_loopback_port

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "rest.md"


def _load_doc_blocks() -> Any:
    """``scripts/doc_blocks.py`` (standard library only), shared with test_doc_blocks.py."""
    if "doc_blocks" in sys.modules:
        return sys.modules["doc_blocks"]
    spec = importlib.util.spec_from_file_location("doc_blocks", ROOT / "scripts" / "doc_blocks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["doc_blocks"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


doc_blocks = _load_doc_blocks()
Block = Any  # doc_blocks.Block (a module loaded from a file path: opaque to type checkers)

pytestmark = pytest.mark.slow  # the server loads the embedding model

MARKER = re.compile(r"^\s*<!--\s*rest-(?P<kind>example|response|setup|keys)(?::(?P<attrs>.*?))?\s*-->\s*$")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HASH = re.compile(r"^[0-9a-f]{64}$")
STATUS_LINE = re.compile(r"^HTTP (\d{3})$", re.MULTILINE)
KEY_VARS = {"backend": "MAAS_KEY", "backend-reader": "READONLY_KEY", "frontend": "FRONTEND_KEY", "alice": "ALICE_KEY"}
"""``maas keys create --name N`` in the doc's key block -> the variable the doc puts that key in."""
SEQUENCE_KEYS = {"seq", "checked", "count"}  # numbers that depend on how many entries exist
SCORE_KEYS = {"score", "semantic", "lexical", "recency"}
SCORE_TOLERANCE = 0.05
PRELUDE = """set -euo pipefail
maas() { "$MAAS_DOC_PYTHON" -m maas_langchain.adapters.cli "$@"; }
curl() { command curl --write-out '%{stderr}HTTP %{http_code}\\n' "$@"; }
"""


# --- the doc ----------------------------------------------------------------------------------------


@dataclass
class Example:
    """A curl block, what its marker expects, and the answer the doc shows (if any)."""

    block: Block
    statuses: list[int]
    exit_code: int = 0
    exports: dict[str, str] = field(default_factory=dict)
    response: Block | None = None

    @property
    def where(self) -> str:
        return f"{self.block.id} ({self.block.anchor})"


def _marker(lines: list[str], block: Block) -> re.Match[str] | None:
    """The ``rest-...`` marker of a block: right before its fence, or before its fragment line."""
    above = block.line - 2  # 0-based index of the line before the fence
    if above >= 0 and doc_blocks.FRAGMENT.match(lines[above]):
        above -= 1
    return MARKER.match(lines[above]) if above >= 0 else None


def _attrs(text: str | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in (text or "").split():
        name, _, value = part.partition("=")
        out.setdefault(name, []).append(value)
    return out


def parse_doc() -> tuple[Block, Block, list[Example]]:
    """The setup block, the keys block and the examples of docs/rest.md, in order."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    setup = keys = None
    examples: list[Example] = []
    for block in doc_blocks.parse(DOC, ROOT):
        marker = _marker(lines, block)
        kind = None if marker is None else marker["kind"]
        if kind == "setup":
            setup = block
        elif kind == "keys":
            keys = block
        elif kind == "example":
            attrs = _attrs(marker["attrs"] if marker else None)
            examples.append(
                Example(
                    block,
                    statuses=[int(s) for s in ",".join(attrs.get("status", [])).split(",") if s],
                    exit_code=int(attrs.get("exit", ["0"])[0]),
                    exports=dict(e.split(":", 1) for e in attrs.get("export", [])),
                )
            )
        elif kind == "response":
            assert examples, f"{block.id}: a rest-response before any rest-example"
            assert examples[-1].response is None, f"{block.id}: a second rest-response for {examples[-1].where}"
            examples[-1].response = block
        else:
            assert "curl " not in block.code, f"{block.id}: a curl block without a rest-example marker"
    assert setup is not None and keys is not None, "docs/rest.md lost its rest-setup or rest-keys block"
    return setup, keys, examples


# --- comparing an answer with the doc -------------------------------------------------------------------


class Ids:
    """The doc's ids and the server's, one to one across the whole doc."""

    def __init__(self) -> None:
        self.doc_to_real: dict[str, str] = {}
        self.real_to_doc: dict[str, str] = {}

    def bind(self, shown: str, real: str, where: str) -> None:
        known = self.doc_to_real.get(shown)
        assert known in (None, real), f"{where}: the doc's id {shown} stands for {known} elsewhere, here {real}"
        other = self.real_to_doc.get(real)
        assert other in (None, shown), f"{where}: the id {real} is shown as {other} elsewhere, here as {shown}"
        self.doc_to_real[shown] = real
        self.real_to_doc[real] = shown


def match_string(shown: str, real: str, ids: Ids, where: str) -> None:
    if HASH.match(shown):
        assert HASH.match(real), f"{where}: {real!r} is not a hash"
        return
    parts = UUID.split(shown)
    pattern = "(" + UUID.pattern + ")"
    regex = "^" + pattern.join(re.escape(p) for p in parts) + "$"
    found = re.match(regex, real, re.DOTALL)
    assert found is not None, f"{where}: the doc shows {shown!r}, the server said {real!r}"
    for shown_id, real_id in zip(UUID.findall(shown), found.groups(), strict=True):
        ids.bind(shown_id, real_id, where)


def match(shown: Any, real: Any, ids: Ids, where: str, key: str = "") -> None:
    """Assert the server's JSON ``real`` is what the doc ``shown`` (see the module docstring)."""
    if isinstance(shown, dict):
        assert isinstance(real, dict), f"{where}: expected an object, got {real!r}"
        assert sorted(shown) == sorted(real), f"{where}: keys {sorted(shown)} shown, {sorted(real)} answered"
        for name in shown:
            match(shown[name], real[name], ids, f"{where}.{name}", name)
    elif isinstance(shown, list):
        assert isinstance(real, list) and len(real) == len(shown), f"{where}: {len(shown)} items shown, got {real!r}"
        for i, (a, b) in enumerate(zip(shown, real, strict=True)):
            match(a, b, ids, f"{where}[{i}]", key)
    elif isinstance(shown, str):
        assert isinstance(real, str), f"{where}: expected a string, got {real!r}"
        if key == "next_cursor" and "audit" in where:  # an audit cursor is a sequence number
            assert real.isdigit(), f"{where}: {real!r}"
            return
        match_string(shown, real, ids, where)
    elif isinstance(shown, bool) or shown is None:
        assert real is shown, f"{where}: the doc shows {shown!r}, the server said {real!r}"
    elif isinstance(shown, int | float):
        assert isinstance(real, int | float) and not isinstance(real, bool), f"{where}: got {real!r}"
        if shown >= 1e9:  # a Unix time
            assert real >= 1e9, f"{where}: {real!r} is not a time"
        elif key in SEQUENCE_KEYS:
            assert isinstance(real, int), f"{where}: {real!r}"
        elif key in SCORE_KEYS:
            assert abs(real - shown) <= SCORE_TOLERANCE, f"{where}: the doc shows {shown}, the server said {real}"
        else:
            assert real == shown, f"{where}: the doc shows {shown!r}, the server said {real!r}"
    else:  # pragma: no cover - JSON has no other types
        raise AssertionError(f"{where}: {shown!r}")


def json_values(text: str) -> list[Any]:
    """Every JSON value in ``text``, in order (an answer per curl call)."""
    decoder, values, i = json.JSONDecoder(), list[Any](), 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return values
        value, i = decoder.raw_decode(text, i)
        values.append(value)


def sse_messages(text: str) -> list[dict[str, Any]]:
    """Server-Sent Events: each message's comment, id, event and data (parsed)."""
    messages = []
    for chunk in re.split(r"\r?\n\r?\n", text.strip()):
        message: dict[str, Any] = {}
        for line in chunk.splitlines():
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                message["comment"] = value
            elif name == "data":
                message["data"] = json.loads(value)
            else:
                message[name] = value
        if message:
            messages.append(message)
    return messages


def check_http(shown: str, real: str, ids: Ids, where: str) -> None:
    """``curl -i`` output: the status line, the headers shown (any others may follow), the body."""
    shown_head, _, shown_body = shown.replace("\r\n", "\n").partition("\n\n")
    real_head, _, real_body = real.replace("\r\n", "\n").partition("\n\n")
    shown_lines, real_lines = shown_head.splitlines(), real_head.splitlines()
    assert real_lines[0].strip() == shown_lines[0].strip(), f"{where}: {real_lines[0]!r}, doc: {shown_lines[0]!r}"
    headers = {
        n.strip().lower(): v.strip() for n, _, v in (line.partition(":") for line in real_lines[1:]) if n.strip()
    }
    for line in shown_lines[1:]:
        name, _, value = line.partition(":")
        got = headers.get(name.strip().lower())
        assert got == value.strip(), f"{where}: header {name.strip()}: {got!r}, doc: {value.strip()!r}"
    shown_json, real_json = json_values(shown_body), json_values(real_body)
    match(shown_json, real_json, ids, where)


def check_response(example: Example, stdout: str, ids: Ids) -> None:
    shown = example.response
    if shown is None:
        return
    where = example.where
    if shown.info == "json":
        match(json_values(shown.code), json_values(stdout), ids, where)
    elif shown.info == "http":
        check_http(shown.code, stdout, ids, where)
    elif shown.info == "text":
        real, doc = sse_messages(stdout), sse_messages(shown.code)
        assert len(real) == len(doc), f"{where}: {len(doc)} messages shown, the stream sent:\n{stdout}"
        for n, (a, b) in enumerate(zip(doc, real, strict=True)):
            assert sorted(a) == sorted(b), f"{where}: message {n} has {sorted(b)}, doc {sorted(a)}"
            for name in a:
                if name == "data":
                    match(a[name], b[name], ids, f"{where} message {n} data")
                elif name == "id":
                    assert b[name].isdigit(), f"{where}: message {n} id {b[name]!r}"
                else:
                    assert a[name] == b[name], f"{where}: message {n} {name}: {b[name]!r}, doc {a[name]!r}"
    else:
        raise AssertionError(f"{shown.id}: a rest-response must be json, http or text, not {shown.info!r}")


def pick(value: Any, path: str) -> str:
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return str(value)


# --- the server --------------------------------------------------------------------------------------


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MAAS_API_KEY", "MAAS_URL", "MAAS_VECTORS_URL")}
    env.update(
        MAAS_HOME=str(home),
        MAAS_DOC_PYTHON=sys.executable,
        HF_HUB_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        PYTHONUNBUFFERED="1",
    )
    return env


def _bash(script: str, cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", PRELUDE + script], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@dataclass
class Served:
    url: str
    env: dict[str, str]
    work: Path
    log: Path


@contextlib.contextmanager
def documented_server(work: Path) -> Iterator[Served]:
    """The doc's setup and keys in a fresh home under ``work``, then ``maas serve --http`` on a free
    port; yields the server's URL and the environment the examples run in."""
    setup, keys, _ = parse_doc()
    home = work / ".maas"
    env = _env(home)
    script = work / "setup_agents.py"
    script.write_text(setup.code, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    exports = re.search(r"^export (.+)$", done.stdout, re.MULTILINE)
    assert exports is not None, f"the setup block printed no export line:\n{done.stdout}"
    for pair in exports.group(1).split():
        name, _, value = pair.partition("=")
        env[name] = value
    for command in keys.shell_commands():
        if not command.startswith("maas keys create"):
            continue
        name = re.search(r"--name (\S+)", command)
        assert name is not None and name.group(1) in KEY_VARS, f"{keys.id}: {command!r} needs a known --name"
        created = _bash(command, work, env, timeout=120)
        assert created.returncode == 0, created.stderr
        env[KEY_VARS[name.group(1)]] = created.stdout.splitlines()[0].strip()
    assert set(KEY_VARS.values()) <= set(env), "the doc's key block does not create every key the examples use"
    log = work / "server.log"
    for _attempt in range(2):  # a port race is retried once
        port = free_loopback_port()
        command = [sys.executable, "-m", "maas_langchain.adapters.cli", "--home", str(home), "serve", "--http"]
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [*command, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work
            )
        url = f"http://127.0.0.1:{port}"
        if _wait(proc, url):
            break
    else:
        raise AssertionError(f"maas serve did not start:\n{log.read_text(errors='replace')[-3000:]}")
    env["MAAS_URL"] = url
    try:
        yield Served(url, env, work, log)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """:func:`documented_server` in a fresh folder."""
    with documented_server(tmp_path_factory.mktemp("rest-docs")) as server:
        yield server


def _wait(proc: subprocess.Popen[bytes], url: str) -> bool:
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    return False


# --- the tests ---------------------------------------------------------------------------------------


def test_every_curl_example_answers_what_the_doc_shows(served: Served) -> None:
    _, _, examples = parse_doc()
    assert len(examples) >= 20, "docs/rest.md lost its examples"
    ids = Ids()
    for example in examples:
        assert example.block.fragment is not None, f"{example.where}: mark it as a fragment (test_doc_blocks)"
        assert example.statuses, f"{example.where}: its rest-example marker needs status=..."
        run = _bash(example.block.code, served.work, served.env)
        statuses = [int(s) for s in STATUS_LINE.findall(run.stderr)]
        context = f"\n--- stdout ---\n{run.stdout[-3000:]}\n--- stderr ---\n{run.stderr[-2000:]}"
        assert run.returncode == example.exit_code, f"{example.where}: exit {run.returncode}{context}"
        assert statuses == example.statuses, f"{example.where}: statuses {statuses}, doc {example.statuses}{context}"
        try:
            check_response(example, run.stdout, ids)
        except AssertionError as exc:
            raise AssertionError(f"{exc}{context}") from None
        if example.exports:
            answer = json_values(run.stdout.partition("\r\n\r\n")[2] or run.stdout)[-1]
            for name, path in example.exports.items():
                served.env[name] = pick(answer, path)


ROUTE_ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE)` \| `([^`]+)` \| `([a-z_]+)` \| (.*) \|$", re.MULTILINE)


def test_the_route_table_is_the_openapi_document() -> None:
    """Every route (method, path, operationId) once, and *idempotency* exactly where the route
    takes an ``Idempotency-Key``, as the served OpenAPI document says."""
    from maas_langchain import MaaS
    from maas_langchain.adapters.rest.app import create_rest_app
    from maas_langchain.embeddings import HashingEmbeddings

    with MaaS.open(":memory:", embeddings=HashingEmbeddings(), sweep_interval=None) as maas:
        spec = create_rest_app(maas).openapi()
    wanted: dict[tuple[str, str, str], bool] = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            headers = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "header"}
            wanted[(method.upper(), path, operation["operationId"])] = "Idempotency-Key" in headers
    rows = ROUTE_ROW.findall(DOC.read_text(encoding="utf-8"))
    shown = {(m, p, o): "idempotency" in what for m, p, o, what in rows}
    assert len(shown) == len(rows), "a route is listed twice"
    assert set(shown) == set(wanted), (
        f"missing: {sorted(set(wanted) - set(shown))}; no such route: {sorted(set(shown) - set(wanted))}"
    )
    wrong = sorted(route for route, idempotent in wanted.items() if shown[route] != idempotent)
    assert not wrong, f"the idempotency mark is wrong for {wrong}"


def test_the_status_table_is_the_code() -> None:
    from maas_langchain.adapters.rest.http import STATUS

    text = DOC.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| (\d{3})(?: or \d{3})? \|", text, re.MULTILINE))
    assert {code: int(status) for code, status in rows.items()} == STATUS


def test_every_example_is_a_fragment_pointing_here() -> None:
    _, _, examples = parse_doc()
    for example in examples:
        assert example.block.status().startswith("fragment: "), example.where
        assert "tests/test_rest_docs.py" in (example.block.fragment or ""), example.where
