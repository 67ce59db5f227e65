"""Every Python example of ``spectron-multi-agent.txt`` runs with only the import line changed.

The page lost its indentation, so each example is kept here with indentation restored and the
import line changed from ``from spectron import SpectronClient`` to ``from maas_langchain
import MaaSClient as SpectronClient``; ``test_examples_match_the_specification_text`` checks,
whitespace aside, that nothing else differs. (The page's last example is TypeScript; its flow is
ported to Python in ``test_awaited_sessions_and_the_typescript_flow``.)

The examples use top-level ``await`` and ``async with``, as in ``python -m asyncio``: they are
compiled with ``ast.PyCF_ALLOW_TOP_LEVEL_AWAIT`` and awaited inside ``asyncio.run``. The reader
supplies what the text never defines: ``client = SpectronClient(MaaS.open(tmp_path / "home"))``
(the packaged all-MiniLM-L6-v2 embeddings and embedded Chroma, the defaults, so every claim about
semantic recall is checked against the real model), ``llm`` with ``async research(topic,
context)``, ``asyncio``, and ``session`` for the fragments that use one.

``reflect``, ``profile`` and ``get_state`` raise ``NotSupportedError`` for now; the tests assert
exactly that, and run the supervisor flow without ``reflect`` (the reader's workaround: return
the findings) to check the scope behaviour the text describes.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maas_langchain import InvalidInputError, MaaS, MemoryInput, NotFoundError, NotSupportedError
from maas_langchain import MaaSClient as SpectronClient
from maas_langchain.client import RecallContext

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "spectron-multi-agent.txt"

# \u2013, \u2190 and \u2192 are the page's own en dash and arrows, escaped to keep this file ASCII.
SHARED = """
from maas_langchain import MaaSClient as SpectronClient

SHARED_SCOPE = {"org": "acme", "project": "market-research-q3"}

# Agent A: data collection agent
async with client.sessions.create(scope=SHARED_SCOPE) as session_a:
    await session_a.remember(
        content="Competitor X launched a new pricing tier at $299/mo targeting SMBs.",
        memory_category="knowledge",
    )

# Agent B: analysis agent \u2013 sees Agent A's memory
async with client.sessions.create(scope=SHARED_SCOPE) as session_b:
    context = await session_b.recall(
        query="recent competitor pricing changes",
        top_k=5,
    )
    # context.items includes Agent A's finding
"""

SUPERVISOR = """
SUPERVISOR_SCOPE = {"org": "acme", "project": "research-pipeline"}

async def run_worker(topic: str, worker_id: str, client: SpectronClient) -> str:
    worker_scope = {**SUPERVISOR_SCOPE, "agent": worker_id}
    async with client.sessions.create(scope=worker_scope) as session:
        # Worker researches its topic
        context = await session.recall(query=topic, top_k=5)
        findings = await llm.research(topic, context.formatted)

        # Worker stores findings in its own scope
        await session.remember(findings, memory_category="knowledge")

        # Return a summary for the supervisor
        reflection = await session.reflect(
            query=f"Summarise findings about {topic}",
            persist=False,
        )
        return reflection.summary

async def supervisor(client: SpectronClient):
    topics = ["pricing trends", "competitor features", "customer sentiment"]

    # Run workers concurrently
    results = await asyncio.gather(*[
        run_worker(topic, f"worker-{i}", client)
        for i, topic in enumerate(topics)
    ])

    # Supervisor aggregates findings into shared scope
    async with client.sessions.create(scope=SUPERVISOR_SCOPE) as session:
        for topic, finding in zip(topics, results):
            await session.remember(
                content=f"[{topic}] {finding}",
                memory_category="knowledge",
            )

        # Supervisor synthesises and stores a final report
        await session.reflect(
            query="Synthesise all research findings into a coherent executive summary.",
            persist=True,
        )
"""

HIERARCHY = """
{org: "acme"}                    \u2190 visible to all org agents
{org: "acme", project: "alpha"} \u2190 visible to project alpha agents
{org: "acme", project: "alpha", agent: "planner"} \u2190 planner only
"""

PROVENANCE = """
await session.remember(
    content="Customer segment 'enterprise' values compliance features most.",
    memory_category="knowledge",
    metadata={"source": "customer-interview-2024-q3", "agent": "interview-agent"},
)
"""

ENTITY = """
# Good: structured entity extraction will happen automatically from this
await session.remember(
    content="The enterprise customer segment prioritises SOC2 compliance over cost.",
)

# The extraction pipeline creates:
# entity: CustomerSegment/enterprise
# attribute: top_priority = "SOC2 compliance"
# relation: enterprise \u2192 values \u2192 compliance_features
"""

GET_STATE = """
state = await session.get_state(scope=SHARED_SCOPE)
for entity in state.entities:
    for attr in entity.attributes:
        if attr.superseded_by:
            print(f"Conflict: {entity.name}.{attr.key} was {attr.value} \u2192 now {attr.superseded_by.value}")
"""

REFLECTION = """
async with client.sessions.create(scope=SUPERVISOR_SCOPE) as supervisor_session:
    # Load all worker contributions
    full_context = await supervisor_session.profile()

    # Synthesise
    synthesis = await supervisor_session.reflect(
        query="What are the top-level conclusions across all worker findings? What is still uncertain?",
        persist=True,
    )

print(synthesis.summary)
"""

EXAMPLES = {
    "shared": SHARED,
    "supervisor": SUPERVISOR,
    "hierarchy": HIERARCHY,
    "provenance": PROVENANCE,
    "entity": ENTITY,
    "get_state": GET_STATE,
    "reflection": REFLECTION,
}

# The reader's workaround while reflect() is not supported: a worker returns its findings and
# the supervisor skips the synthesis; everything else is the example as written.
_WORKER_REFLECT = """
        # Return a summary for the supervisor
        reflection = await session.reflect(
            query=f"Summarise findings about {topic}",
            persist=False,
        )
        return reflection.summary
"""
_SUPERVISOR_REFLECT = """
        # Supervisor synthesises and stores a final report
        await session.reflect(
            query="Synthesise all research findings into a coherent executive summary.",
            persist=True,
        )
"""
assert SUPERVISOR.count(_WORKER_REFLECT) == 1 and SUPERVISOR.count(_SUPERVISOR_REFLECT) == 1
SUPERVISOR_WITHOUT_REFLECT = SUPERVISOR.replace(_WORKER_REFLECT, "\n        return findings\n").replace(
    _SUPERVISOR_REFLECT, ""
)

TOPICS = ["pricing trends", "competitor features", "customer sentiment"]
FINDINGS = {
    "pricing trends": "Average SaaS list prices rose 8% this year as vendors move to usage-based tiers.",
    "competitor features": "Competitor X shipped single sign-on and audit logs in its mid-market plan.",
    "customer sentiment": "Customers praise the onboarding but complain that support replies are slow.",
}


def _squash(text: str) -> str:
    text = text.replace(
        "from maas_langchain import MaaSClient as SpectronClient", "from spectron import SpectronClient"
    )
    return re.sub(r"\s+", "", text)


@pytest.mark.skipif(not SPEC.exists(), reason="the specification is not beside the checkout")
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_match_the_specification_text(name: str) -> None:
    assert _squash(EXAMPLES[name]) in _squash(SPEC.read_text(encoding="utf-8"))


def test_only_the_import_line_differs() -> None:
    changed = [line for line in "".join(EXAMPLES.values()).splitlines() if "import" in line]
    assert changed == ["from maas_langchain import MaaSClient as SpectronClient"]


# --- the reading session --------------------------------------------------------------------
class ResearchLLM:
    """The reader's stand-in for an LLM: a fixed finding per topic; records what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def research(self, topic: str, context: str) -> str:
        self.calls.append((topic, context))
        return FINDINGS.get(topic, f"Nothing notable about {topic}.")


async def run_example(code: str, ns: dict[str, Any]) -> str:
    """Run ``code`` the way ``python -m asyncio`` would (top-level await); return what it printed."""
    compiled = compile(code, "<spectron example>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = eval(compiled, ns)
        if result is not None:
            await result
    return out.getvalue()


def reader_namespace(client: SpectronClient) -> dict[str, Any]:
    return {
        "__name__": "__spectron_reader__",
        "client": client,
        "llm": ResearchLLM(),
        "asyncio": asyncio,
        "SpectronClient": SpectronClient,
    }


@pytest.fixture
def client(tmp_path: Path) -> Iterator[SpectronClient]:
    """The reader's client: default embeddings (all-MiniLM-L6-v2) and the embedded Chroma index."""
    c = SpectronClient(MaaS.open(tmp_path / "home"))
    yield c
    c.close()


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpectronClient]:
    """One instance for the tests below that use their own org names and so cannot interfere."""
    c = SpectronClient(MaaS.open(tmp_path_factory.mktemp("spectron") / "home", sweep_interval=None))
    yield c
    c.close()


def contents(context: RecallContext) -> list[str]:
    return [item.content for item in context.items]


def recall_at(client: SpectronClient, scope: dict[str, str], query: str, top_k: int = 50) -> RecallContext:
    with client.sessions.create(scope=scope) as s:
        return s.recall(query, top_k=top_k)


# --- shared scope ---------------------------------------------------------------------------
def test_shared_scope_agent_b_sees_agent_a_finding(client: SpectronClient) -> None:
    ns = reader_namespace(client)
    asyncio.run(run_example(SHARED, ns))

    finding = "Competitor X launched a new pricing tier at $299/mo targeting SMBs."
    context = ns["context"]
    assert isinstance(context, RecallContext)
    (item,) = context.items
    assert item.content == finding
    assert item.scope == {"org": "acme", "project": "market-research-q3"}
    assert item.memory_category == "knowledge"
    assert isinstance(item.score, float) and item.score > 0
    assert item.why["semantic"] > 0.3 and "semantic similarity" in item.why["reason"]
    assert {"competitor", "pricing"} <= set(item.why["matched_terms"])
    assert finding in context.formatted
    # both sessions were closed by ``async with``
    for name in ("session_a", "session_b"):
        assert client.maas.sessions.get(ns[name].session_id).closed_at is not None


def test_shared_scope_recall_ranks_the_finding_first_among_unrelated_facts(client: SpectronClient) -> None:
    scope = {"org": "acme", "project": "market-research-q3"}
    unrelated = [
        "The Q3 offsite will be held in Lisbon in September.",
        "Competitor Y opened a new sales office in Berlin.",
        "The hiring plan adds two data engineers to the analytics team.",
        "Our churn rate fell to 3% after the onboarding revamp.",
        "The office coffee machine is broken again.",
        "Legal approved the new data retention policy.",
    ]
    client.maas.memories.remember_many([MemoryInput(text, scope) for text in unrelated])  # one embedding batch
    ns = reader_namespace(client)
    asyncio.run(run_example(SHARED, ns))
    found = contents(ns["context"])
    assert len(found) == 5
    assert found[0] == "Competitor X launched a new pricing tier at $299/mo targeting SMBs."
    assert "The office coffee machine is broken again." not in found


# --- supervisor + workers -------------------------------------------------------------------
def test_supervisor_example_stops_at_reflect_which_is_not_supported(client: SpectronClient) -> None:
    ns = reader_namespace(client)

    async def reader() -> None:
        await run_example(SUPERVISOR, ns)
        await ns["supervisor"](client)

    with pytest.raises(NotSupportedError, match="not supported") as caught:
        asyncio.run(reader())
    assert "reflect()" in str(caught.value)
    assert caught.value.code == "not_supported" and isinstance(caught.value, NotImplementedError)
    # the worker that raised had researched its topic (the others may have been cancelled earlier)
    assert ns["llm"].calls and {topic for topic, _ in ns["llm"].calls} <= set(TOPICS)


def test_supervisor_and_workers_without_reflect(client: SpectronClient) -> None:
    ns = reader_namespace(client)

    async def reader() -> None:
        await run_example(SUPERVISOR_WITHOUT_REFLECT, ns)
        await ns["supervisor"](client)

    asyncio.run(reader())
    project = {"org": "acme", "project": "research-pipeline"}
    workers = {f"worker-{i}": topic for i, topic in enumerate(TOPICS)}

    # workers ran concurrently and none saw a sibling's finding (nothing else existed yet)
    assert sorted(ns["llm"].calls) == sorted((t, f"No memories found for: {t}") for t in TOPICS)

    # each worker's finding is stored at its own {org, project, agent} scope, by that worker
    stored = client.maas.memories.history(scope={"org": "acme"})
    by_scope = {tuple(sorted(m.scope.items())): m for m in stored if "agent" in m.scope}
    assert len(by_scope) == 3
    for worker, topic in workers.items():
        m = by_scope[tuple(sorted({**project, "agent": worker}.items()))]
        assert m.content == FINDINGS[topic] and m.category == "knowledge" and m.author_id == worker
    aggregated = {f"[{t}] {FINDINGS[t]}" for t in TOPICS}
    assert {m.content for m in stored if "agent" not in m.scope} == aggregated
    assert all(m.scope == project for m in stored if "agent" not in m.scope)

    # a worker sees its own memory and the project scope's, never a sibling's
    for worker, topic in workers.items():
        ctx = recall_at(client, {**project, "agent": worker}, topic)
        assert {item.scope.get("agent") for item in ctx.items} == {worker, None}
        assert set(contents(ctx)) == {FINDINGS[topic]} | aggregated
        assert not any(item.scope.get("agent") not in (worker, None) for item in ctx.items)
        # by meaning (and words), the supervisor's copy of its own topic comes first
        assert contents(ctx)[0] == f"[{topic}] {FINDINGS[topic]}"

    # the supervisor at {org, project} sees every worker's finding and its own
    ctx = recall_at(client, project, "research findings")
    assert set(contents(ctx)) == set(FINDINGS.values()) | aggregated
    # a query at {org} sees everything under the org; another org sees nothing
    assert set(contents(recall_at(client, {"org": "acme"}, "research findings"))) == set(FINDINGS.values()) | aggregated
    other = recall_at(client, {"org": "globex"}, "research findings")
    assert other.items == [] and other.formatted == "No memories found for: research findings"


def test_worker_recall_ranks_its_own_finding_above_unrelated_neighbours(shared_client: SpectronClient) -> None:
    """The state the supervisor flow leaves behind, written directly (org ``ranking-org``).

    The same-session context term once lifted the supervisor's unrelated summary written next to
    a match above the worker's own finding; it is now scaled by the memory's own relevance."""
    project = {"org": "ranking-org", "project": "research-pipeline"}
    with shared_client.sessions.create(scope={**project, "agent": "worker-0"}) as s:
        s.remember(FINDINGS["pricing trends"], memory_category="knowledge")
    with shared_client.sessions.create(scope=project) as s:  # one session, written back to back
        for topic in TOPICS:
            s.remember(f"[{topic}] {FINDINGS[topic]}", memory_category="knowledge")
    ctx = recall_at(shared_client, {**project, "agent": "worker-0"}, "pricing trends")
    assert set(contents(ctx)[:2]) == {FINDINGS["pricing trends"], f"[pricing trends] {FINDINGS['pricing trends']}"}


# --- subset matching ------------------------------------------------------------------------
def test_subset_matching_hierarchy(shared_client: SpectronClient) -> None:
    org = "hierarchy-org"  # the block's "acme", renamed so the shared instance stays clean
    lines = HIERARCHY.strip().splitlines()
    scopes = [dict(re.findall(r'(\w+): "([^"]*)"', line)) | {"org": org} for line in lines]
    org_scope, alpha, planner = scopes
    assert planner == {"org": org, "project": "alpha", "agent": "planner"}
    worker = {**alpha, "agent": "worker-1"}
    beta = {"org": org, "project": "beta"}
    beta_agent = {**beta, "agent": "analyst"}
    facts = {
        "org": (org_scope, "Expense reports are due on the fifth of each month."),
        "alpha": (alpha, "Project alpha ships its release candidate on Friday."),
        "planner": (planner, "The planner split the alpha launch into three milestones."),
        "worker": (worker, "Worker one measured the alpha load test at two thousand requests per second."),
        "beta": (beta, "Project beta is paused until the budget review."),
        "beta_agent": (beta_agent, "The analyst found beta's survey sample too small."),
    }
    shared_client.maas.memories.remember_many([MemoryInput(text, scope) for scope, text in facts.values()])

    def seen(scope: dict[str, str]) -> set[str]:
        return set(contents(recall_at(shared_client, scope, "project status and plans")))

    text = {name: fact[1] for name, fact in facts.items()}
    # {org}: everything under the org
    assert seen(org_scope) == set(text.values())
    # a supervisor at {org, project: alpha}: the project scope and everything more specific
    # (and the org-level memory, which is visible to all org agents); nothing of project beta
    assert seen(alpha) == {text["org"], text["alpha"], text["planner"], text["worker"]}
    # a worker sees only its own memory and the shared project scope (plus the org level)
    assert seen(worker) == {text["org"], text["alpha"], text["worker"]}
    # "planner only": no other agent sees the planner's memory
    assert seen(planner) == {text["org"], text["alpha"], text["planner"]}
    assert seen(beta_agent) == {text["org"], text["beta"], text["beta_agent"]}


# --- provenance, entities, state, reflection ------------------------------------------------
def test_provenance_metadata_comes_back_unchanged(client: SpectronClient) -> None:
    ns = reader_namespace(client)
    scope = {"org": "acme", "project": "market-research-q3"}

    async def reader() -> RecallContext:
        async with client.sessions.create(scope=scope) as session:
            ns["session"] = session
            await run_example(PROVENANCE, ns)
            return await session.recall("what does the enterprise segment value?", top_k=5)

    (item,) = asyncio.run(reader()).items
    assert item.content == "Customer segment 'enterprise' values compliance features most."
    assert item.metadata == {"source": "customer-interview-2024-q3", "agent": "interview-agent"}
    assert item.memory_category == "knowledge" and item.scope == scope


def test_entity_example_stores_with_the_default_category_and_get_state_is_not_supported(
    client: SpectronClient,
) -> None:
    ns = reader_namespace(client)
    ns["SHARED_SCOPE"] = {"org": "acme", "project": "market-research-q3"}  # from the first example

    async def reader() -> RecallContext:
        async with client.sessions.create(scope=ns["SHARED_SCOPE"]) as session:
            ns["session"] = session
            await run_example(ENTITY, ns)
            with pytest.raises(NotSupportedError) as caught:
                await run_example(GET_STATE, ns)
            ns["error"] = caught.value
            return await session.recall("customer priorities", top_k=5)

    (item,) = asyncio.run(reader()).items
    assert item.content == "The enterprise customer segment prioritises SOC2 compliance over cost."
    assert item.memory_category == "knowledge"
    message = str(ns["error"])
    assert message.startswith("get_state() is not supported yet") and "supersedes" in message
    assert "state" not in ns


def test_reflection_pass_example_is_not_supported(client: SpectronClient) -> None:
    ns = reader_namespace(client)
    ns["SUPERVISOR_SCOPE"] = {"org": "acme", "project": "research-pipeline"}  # from the supervisor example

    with pytest.raises(NotSupportedError, match=r"^profile\(\) is not supported"):
        asyncio.run(run_example(REFLECTION, ns))
    # the session was still closed on the way out
    assert client.maas.sessions.get(ns["supervisor_session"].session_id).closed_at is not None

    async def reflect() -> None:
        async with client.sessions.create(scope=ns["SUPERVISOR_SCOPE"]) as session:
            await session.reflect(query="What is still uncertain?", persist=True)

    with pytest.raises(NotSupportedError, match=r"^reflect\(\) is not supported"):
        asyncio.run(reflect())


# --- the three ways to hold a session -------------------------------------------------------
def test_sync_with_session(shared_client: SpectronClient) -> None:
    scope = {"org": "sync-org", "project": "alpha"}
    with shared_client.sessions.create(scope=scope) as s:
        stored = s.remember("The login form validates e-mail on blur.", memory_category="decision")
        assert stored.scope == scope and stored.category == "decision" and stored.session_id == s.session_id
        assert contents(s.recall("login form validation")) == ["The login form validates e-mail on blur."]
    assert shared_client.maas.sessions.get(s.session_id).closed_at is not None
    with pytest.raises(NotFoundError):
        s.remember("written after close")


def test_awaited_sessions_and_the_typescript_flow(shared_client: SpectronClient) -> None:
    """The page's TypeScript example, in Python: ``await create(...)`` then ``await close()``."""
    shared_scope = {"org": "ts-org", "project": "market-research-q3"}

    async def reader() -> RecallContext:
        worker_session = await shared_client.sessions.create(scope={**shared_scope, "agent": "worker-1"})
        await worker_session.remember(content="Competitor X raised prices by 20% in Q2.", memory_category="knowledge")
        await worker_session.close()
        await worker_session.close()  # idempotent
        assert shared_client.maas.sessions.get(worker_session.session_id).closed_at is not None
        with pytest.raises(NotFoundError):
            await worker_session.remember("written after close")

        supervisor_session = await shared_client.sessions.create(scope=shared_scope)
        ctx = await supervisor_session.recall(query="competitor pricing", top_k=10)
        await supervisor_session.close()
        return ctx

    ctx = asyncio.run(reader())
    assert contents(ctx) == ["Competitor X raised prices by 20% in Q2."]
    assert ctx.items[0].scope == {**shared_scope, "agent": "worker-1"}
    assert "Competitor X raised prices by 20% in Q2." in ctx.formatted


def test_scope_outside_the_hierarchy_fails_at_create(shared_client: SpectronClient) -> None:
    with pytest.raises(InvalidInputError, match="department") as caught:
        shared_client.sessions.create(scope={"org": "acme", "department": "sales"})
    assert "project" in str(caught.value)  # names the allowed keys
    for bad in ({}, "acme", {"org": ""}):
        with pytest.raises(InvalidInputError):
            shared_client.sessions.create(scope=bad)  # type: ignore[arg-type]


def test_formatted_lists_the_contents_in_order(shared_client: SpectronClient) -> None:
    scope = {"org": "format-org", "project": "alpha"}
    texts = [
        "The deploy pipeline runs database migrations before the canary.",
        "Rollbacks of the deploy pipeline take about four minutes.",
        "The cafeteria serves pasta on Thursdays.",
    ]
    with shared_client.sessions.create(scope=scope) as s:
        for text in texts:
            s.remember(text, memory_category="knowledge")
        ctx = s.recall("how does the deploy pipeline work?", top_k=3)
    assert sorted(contents(ctx)) == sorted(texts)
    assert contents(ctx)[-1] == "The cafeteria serves pasta on Thursdays."
    lines = ctx.formatted.splitlines()
    assert lines[0] == "Relevant memories for: how does the deploy pipeline work?"
    for number, (line, item) in enumerate(zip(lines[1:], ctx.items, strict=True), 1):
        assert line.startswith(f"{number}. ") and line.endswith(item.content)
    positions = [ctx.formatted.index(item.content) for item in ctx.items]
    assert positions == sorted(positions)
