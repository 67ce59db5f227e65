"""The TypeScript client (``clients/typescript``) against a real ``maas serve --http``.

One server (tests/rest_server.py: a fresh home, agents and keys made beforehand, rate limits
off) serves every test of this module:

* the committed ``src/schema.ts`` is what ``openapi-typescript`` makes of ``docs/openapi.json``
  today (so ``tsc``, which types every request and response from it, checks the client against
  the document the server generates);
* ``examples/spectron.mjs`` — the specification's TypeScript example with only its import line
  changed — prints the supervisor's formatted recall;
* ``npm test`` builds the package and runs its tests (``clients/typescript/test/*.test.mjs``:
  sessions, recall, pools, handoffs, errors, idempotent retries, the event stream) with the
  server's URL, keys and agent ids in the environment;
* cross-language: the Python ``MaaSClient`` (in this process, on the same home: the server uses
  the ``bruteforce`` vector index, so a second process may open it) and the TypeScript client
  read each other's memories, and a handoff initiated in TypeScript is accepted and completed in
  Python, which the TypeScript side then sees (status, result and event).

Without ``node``/``npm`` the module is skipped, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rest_server import SHARED_SCOPE, RestServer, rest_server_fixture

from maas_langchain import MaaSClient

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "clients" / "typescript"
SPEC = ROOT.parent / "shared" / "spec" / "spectron-multi-agent.txt"
NODE_MAJOR = 20

server = rest_server_fixture("server")


def _tools() -> dict[str, str]:
    """``node`` and ``npm``, or skip (fail under ``CI=true``)."""
    found = {name: shutil.which(name) for name in ("node", "npm")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        reason = f"the TypeScript client tests need Node.js {NODE_MAJOR}+ with npm ({', '.join(missing)} not found)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    tools = {name: str(path) for name, path in found.items()}
    version = subprocess.run([tools["node"], "--version"], capture_output=True, text=True, check=True).stdout.strip()
    match = re.match(r"v(\d+)", version)
    if match is None or int(match.group(1)) < NODE_MAJOR:
        pytest.fail(f"the TypeScript client needs Node.js {NODE_MAJOR}+, found {version}", pytrace=False)
    return tools


def _run(
    command: list[str], *, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=PACKAGE, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _node_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAAS_", "SPECTRON_"))}
    env.update(NO_COLOR="1", FORCE_COLOR="0")
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def node() -> Iterator[dict[str, str]]:
    """Node tools, with the package's dependencies installed and ``dist/`` built."""
    tools = _tools()
    if not (PACKAGE / "node_modules").is_dir():
        done = _run([tools["npm"], "ci", "--no-audit", "--no-fund"], env=_node_env())
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    built = _run([tools["npm"], "run", "build"], env=_node_env())
    assert built.returncode == 0, f"tsc failed:\n{built.stdout[-5000:]}\n{built.stderr[-3000:]}"
    yield tools


def _script(node: dict[str, str], code: str, server: RestServer, key: str, **extra: str) -> Any:
    """Run an ES module snippet with ``client`` (a ``MaaSClient`` acting as ``key``) in scope;
    return the JSON it prints on its last line."""
    preamble = (
        'import { MaaSClient } from "./dist/index.js";\n'
        "const client = new MaaSClient();\n"
        "const input = JSON.parse(process.env.SNIPPET_INPUT);\n"
    )
    env = _node_env(MAAS_BASE_URL=server.base_url, MAAS_API_KEY=server.keys[key], SNIPPET_INPUT=json.dumps(extra))
    done = _run([node["node"], "--input-type=module", "-e", preamble + code], env=env, timeout=120)
    assert done.returncode == 0, f"node failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}\n{server.log_tail()}"
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the package itself ----------------------------------------------------------------------------


def test_schema_ts_is_generated_from_the_committed_openapi_document(node: dict[str, str]) -> None:
    done = _run([node["npm"], "run", "--silent", "check-schema"], env=_node_env())
    assert done.returncode == 0, (
        "clients/typescript/src/schema.ts is stale: run `npm run generate` in clients/typescript\n"
        f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    )


def _normalise(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def test_example_is_the_specification_text_with_only_the_import_changed() -> None:
    example = (PACKAGE / "examples" / "spectron.mjs").read_text()
    if not SPEC.is_file():
        pytest.skip(f"the specification is not at {SPEC}")
    text = SPEC.read_text()
    start = text.index('import { SpectronClient } from "spectron";')
    end = text.index("await supervisorSession.close();", start) + len("await supervisorSession.close();")
    expected = text[start:end].replace(
        'import { SpectronClient } from "spectron";',
        'import { MaaSClient as SpectronClient } from "../dist/index.js";',
    )
    assert _normalise(example) == _normalise(expected)


def test_spectron_example_prints_the_supervisors_formatted_recall(node: dict[str, str], server: RestServer) -> None:
    env = _node_env(SPECTRON_BASE_URL=server.base_url, SPECTRON_AGENT_KEY=server.keys["supervisor"])
    done = _run([node["node"], "examples/spectron.mjs"], env=env, timeout=120)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{server.log_tail()}"
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "Relevant memories for: competitor pricing"
    assert any(
        re.fullmatch(
            r"\d+\. \[knowledge; agent=worker-1, org=acme, project=market-research-q3\] "
            r"Competitor X raised prices by 20% in Q2\.",
            line,
        )
        for line in lines[1:]
    ), done.stdout


def _tap_counts(output: str) -> dict[str, int]:
    """The summary of ``node --test`` (TAP, Node 20's default without a terminal, or the spec reporter's)."""
    found = re.findall(r"^(?:# |\u2139 )(tests|pass|fail|cancelled|skipped|todo) (\d+)$", output, re.M)
    return {name: int(n) for name, n in found}


def test_typescript_suite_against_the_server(node: dict[str, str], server: RestServer) -> None:
    env = _node_env(
        MAAS_BASE_URL=server.base_url,
        MAAS_TEST_KEYS=json.dumps(server.keys),
        MAAS_TEST_AGENTS=json.dumps(server.agents),
    )
    done = _run([node["npm"], "test"], env=env, timeout=900)
    counts = _tap_counts(done.stdout)
    report = f"{done.stdout[-12000:]}\n{done.stderr[-3000:]}\nserver log:\n{server.log_tail()}"
    assert done.returncode == 0, report
    assert counts.get("fail") == 0 and counts.get("cancelled") == 0, report
    assert counts.get("skipped") == 0 and "# SKIP" not in done.stdout, f"tests were skipped (no server?)\n{report}"
    assert counts.get("pass", 0) >= 45, report


# --- cross-language ----------------------------------------------------------------------------------


def test_python_remembers_typescript_recalls_and_back(node: dict[str, str], server: RestServer) -> None:
    python_fact = "Python agent: the Q3 churn rate fell to 3.1 percent."
    with server.open() as maas:
        client = MaaSClient(maas, agent_id=server.agents["worker"])
        with client.sessions.create(scope={**SHARED_SCOPE, "agent": "worker-1"}) as session:
            stored = session.remember(python_fact, memory_category="knowledge", metadata={"lang": "python"})

    seen = _script(
        node,
        """
        const session = await client.sessions.create({ scope: { org: "acme", project: "market-research-q3" } });
        const ctx = await session.recall({ query: "Q3 churn rate", topK: 5 });
        const fact = await session.remember({ content: input.fact, memoryCategory: "decision", metadata: { lang: "ts" } });
        await session.close();
        console.log(JSON.stringify({ formatted: ctx.formatted, items: ctx.items, written: fact }));
        """,
        server,
        "supervisor",
        fact="TypeScript agent: the Q3 launch date is 14 October.",
    )
    hit = next(i for i in seen["items"] if i["memory_id"] == stored.memory_id)
    assert hit["content"] == python_fact and hit["metadata"] == {"lang": "python"}
    assert hit["author_id"] == server.agents["worker"]
    assert f"] {python_fact}" in seen["formatted"]

    written = seen["written"]
    with server.open() as maas:
        client = MaaSClient(maas)
        with client.sessions.create(scope=SHARED_SCOPE) as session:
            context = session.recall("Q3 launch date", top_k=5)
        item = next(i for i in context.items if i.memory_id == written["memory_id"])
        assert item.content == "TypeScript agent: the Q3 launch date is 14 October."
        assert item.memory_category == "decision" and item.metadata == {"lang": "ts"}
        assert "[decision; org=acme, project=market-research-q3] TypeScript agent:" in context.formatted
        assert maas.memories.get(written["memory_id"]).author_id == server.agents["supervisor"]  # type: ignore[union-attr]


def test_handoff_from_typescript_is_accepted_and_completed_in_python(node: dict[str, str], server: RestServer) -> None:
    started = _script(
        node,
        """
        const handoff = await client.handoffs.initiate({
          targetId: input.target,
          context: { taskDescription: "Write the pricing section.", relevantFiles: ["report/pricing.md"] },
        });
        console.log(JSON.stringify(handoff));
        """,
        server,
        "supervisor",
        target=server.agents["worker"],
    )
    assert started["status"] == "pending"
    worker = server.agents["worker"]
    with server.open() as maas:
        (pending,) = [h for h in maas.handoffs.get_pending_handoffs(worker) if h.handoff_id == started["handoff_id"]]
        assert pending.context.task_description == "Write the pricing section."
        assert maas.handoffs.accept_handoff(started["handoff_id"], worker)
        assert maas.handoffs.complete_handoff(started["handoff_id"], worker, {"status": "success", "by": "python"})

    finished = _script(
        node,
        """
        const handoff = await client.handoffs.get(input.id);
        const stop = new AbortController();
        const timer = setTimeout(() => stop.abort(), 10000);
        const kinds = [];
        for await (const event of client.events({ after: 0, kinds: ["handoff.accepted", "handoff.completed"], signal: stop.signal })) {
          if (event.data.handoff_id !== input.id) continue;
          kinds.push(event.kind);
          if (event.kind === "handoff.completed") break;
        }
        clearTimeout(timer);
        console.log(JSON.stringify({ handoff, kinds }));
        """,
        server,
        "supervisor",
        id=started["handoff_id"],
    )
    assert finished["handoff"]["status"] == "completed"
    assert finished["handoff"]["result"] == {"status": "success", "by": "python"}
    assert finished["handoff"]["target_id"] == worker
    assert finished["kinds"] == ["handoff.accepted", "handoff.completed"]
