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
context)``, ``asyncio``, ``session`` for the fragments that use one, and ``SHARED_SCOPE`` /
``SUPERVISOR_SCOPE`` (defined by earlier examples) for fragments run on their own.

``reflect``, ``profile`` and ``get_state`` run as written: the instance has the defaults of
``MaaS.open`` (the offline rule extractor, no chat model, so ``reflect`` writes the offline
extractive summary); one test gives it a chat model instead. Nothing here works around the
library: where an example cannot do what the text says, the test fails.
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
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from maas_langchain import AgentType, EventKind, InvalidInputError, MaaS, MemoryInput, NotFoundError
from maas_langchain import MaaSClient as SpectronClient
from maas_langchain.client import RecallContext
from maas_langchain.core.entity_views import StateView
from maas_langchain.core.reflection import Profile, Reflection

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
SUPERVISOR_QUERY = "Synthesise all research findings into a coherent executive summary."


def run_supervisor_example(client: SpectronClient) -> dict[str, Any]:
    """Define the example's functions and run ``supervisor(client)``, as the reader would."""
    ns = reader_namespace(client)

    async def reader() -> None:
        await run_example(SUPERVISOR, ns)
        await ns["supervisor"](client)

    asyncio.run(reader())
    return ns


def _cited_sentences(summary: str) -> list[tuple[str, int]]:
    """``"A. [1] B. [2]"`` -> ``[("A.", 1), ("B.", 2)]``: an extractive summary's parts."""
    return [(text.strip(), int(n)) for text, n in re.findall(r"(.+?)\s\[(\d+)\]", summary)]


def test_supervisor_and_workers(client: SpectronClient) -> None:
    ns = run_supervisor_example(client)
    project = {"org": "acme", "project": "research-pipeline"}
    workers = {f"worker-{i}": topic for i, topic in enumerate(TOPICS)}

    # workers ran concurrently and none saw a sibling's finding (nothing else existed yet)
    assert sorted(ns["llm"].calls) == sorted((t, f"No memories found for: {t}") for t in TOPICS)

    stored = client.maas.memories.history(scope={"org": "acme"})
    by_id = {m.memory_id: m for m in stored}
    # each worker's finding is stored at its own {org, project, agent} scope, by that worker; its
    # reflect(persist=False) stored nothing
    at_workers = [m for m in stored if "agent" in m.scope]
    assert len(at_workers) == 3
    for worker, topic in workers.items():
        (m,) = [m for m in at_workers if m.scope == {**project, "agent": worker}]
        assert m.content == FINDINGS[topic] and m.category == "knowledge" and m.author_id == worker

    # reflection.summary: the worker's own finding, citing it ([1] is the worker's memory), never a
    # sibling's; the supervisor stored it under its topic at the project scope
    aggregated = [m for m in stored if m.scope == project and m.category == "knowledge"]
    assert [m.content for m in aggregated] == [f"[{t}] {FINDINGS[t]} [1]" for t in TOPICS]

    # the supervisor's reflect(persist=True): one reflection memory at the project scope, citing
    # memories of the project's tree; extractive: each sentence is one of its source's, numbered
    (reflection,) = [m for m in stored if m.category == "reflection"]
    assert reflection.scope == project and reflection.status.value == "active"
    assert reflection.metadata["reflection_of"] == SUPERVISOR_QUERY and reflection.metadata["method"] == "extractive"
    sources = reflection.metadata["sources"].split(",")
    assert len(sources) >= 2 and set(sources) <= {m.memory_id for m in stored if m.category == "knowledge"}
    parts = _cited_sentences(reflection.content)
    assert parts and {n for _, n in parts} == set(range(1, len(sources) + 1))
    for sentence, n in parts:
        assert sentence in by_id[sources[n - 1]].content
    assert reflection.memory_id not in sources  # a reflection never cites itself

    # a worker sees its own memory and the project scope's, never a sibling's
    shared = {m.content for m in aggregated} | {reflection.content}
    for worker, topic in workers.items():
        ctx = recall_at(client, {**project, "agent": worker}, topic)
        assert {item.scope.get("agent") for item in ctx.items} == {worker, None}
        assert set(contents(ctx)) == {FINDINGS[topic]} | shared

    # the supervisor at {org, project} sees every worker's finding and its own
    everything = set(FINDINGS.values()) | shared
    assert set(contents(recall_at(client, project, "research findings"))) == everything
    # a query at {org} sees everything under the org; another org sees nothing
    assert set(contents(recall_at(client, {"org": "acme"}, "research findings"))) == everything
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
SHARED_SCOPE = {"org": "acme", "project": "market-research-q3"}
SOC2 = "The enterprise customer segment prioritises SOC2 compliance over cost."
RESIDENCY = "The enterprise customer segment now prioritises data residency."


def run_in_session(client: SpectronClient, ns: dict[str, Any], *examples: str, agent_id: str | None = None) -> str:
    """Run ``examples`` in one ``async with`` session at SHARED_SCOPE bound to ``ns["session"]``
    (the fragments' ``session``), as ``agent_id``; return what they printed."""

    async def reader() -> str:
        async with client.sessions.create(scope=ns["SHARED_SCOPE"], agent_id=agent_id) as session:
            ns["session"] = session
            return "".join([await run_example(code, ns) for code in examples])

    return asyncio.run(reader())


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


def test_entity_example_get_state_shows_the_extracted_entity(client: SpectronClient) -> None:
    ns = reader_namespace(client) | {"SHARED_SCOPE": dict(SHARED_SCOPE)}  # from the first example
    printed = run_in_session(client, ns, ENTITY, GET_STATE)
    assert printed == ""  # nothing superseded yet: the conflict loop prints nothing

    state = ns["state"]
    assert isinstance(state, StateView) and state.scope == SHARED_SCOPE and state.pending_extractions == 0
    (entity,) = state.entities
    assert (entity.type, entity.name, entity.scope) == ("CustomerSegment", "enterprise", SHARED_SCOPE)
    assert "enterprise customer segment" in entity.aliases
    (attr,) = entity.attributes
    assert (attr.key, attr.value, attr.status, attr.superseded_by) == (
        "top_priority",
        "SOC2 compliance",
        "current",
        None,
    )
    assert entity.current == {"top_priority": "SOC2 compliance"} and state.entity("Enterprise") == entity
    # provenance: the memory the example stored (the default category), its session
    (memory,) = client.maas.memories.history(scope=SHARED_SCOPE)
    assert memory.content == SOC2 and memory.category == "knowledge"
    assert attr.memory_id == memory.memory_id and attr.session_id == ns["session"].session_id
    assert [s.memory_id for s in attr.sources] == [memory.memory_id]
    assert state.formatted == "CustomerSegment/enterprise: top_priority=SOC2 compliance"


def test_provenance_and_entity_examples_give_the_listed_attribute_and_relation(client: SpectronClient) -> None:
    """The three lines under "The extraction pipeline creates:" — the relation comes from the
    provenance example's sentence ("... values compliance features most"), in the same scope."""
    ns = reader_namespace(client) | {"SHARED_SCOPE": dict(SHARED_SCOPE)}
    run_in_session(client, ns, PROVENANCE, ENTITY, GET_STATE)
    enterprise = ns["state"].entity("enterprise")
    assert enterprise is not None and enterprise.type == "CustomerSegment"
    assert enterprise.current == {"top_priority": "SOC2 compliance"}
    assert [(r.predicate, r.object, r.status) for r in enterprise.relations] == [
        ("values", "compliance features", "current")
    ]
    (provenance,) = [m for m in client.maas.memories.history(scope=SHARED_SCOPE) if m.metadata]
    assert enterprise.relations[0].memory_id == provenance.memory_id


def _writers(client: SpectronClient, n: int) -> list[str]:
    return [
        client.maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="user-1", project_id="market-research-q3")
        for _ in range(n)
    ]


def test_conflict_loop_prints_what_the_later_write_replaced(client: SpectronClient) -> None:
    agent_a, agent_b, bystander = _writers(client, 3)
    subscriptions = {
        who: client.maas.events.subscribe(after_seq=0, agent_id=who) for who in (agent_a, agent_b, bystander)
    }
    trusted = client.maas.events.subscribe(after_seq=0)
    ns = reader_namespace(client) | {"SHARED_SCOPE": dict(SHARED_SCOPE)}

    run_in_session(client, ns, ENTITY, agent_id=agent_a)  # agent A writes the example's sentence
    with client.sessions.create(scope=SHARED_SCOPE, agent_id=agent_b) as session_b:  # agent B, later
        session_b.remember(RESIDENCY)
    printed = run_in_session(client, ns, GET_STATE)  # a third session reads the scope

    assert printed == "Conflict: enterprise.top_priority was SOC2 compliance \u2192 now data residency\n"
    enterprise = ns["state"].entity("enterprise")
    assert enterprise is not None and enterprise.current == {"top_priority": "data residency"}
    new, old = enterprise.attributes
    assert (new.value, new.status, new.agent_id, new.supersedes) == ("data residency", "current", agent_b, old.fact_id)
    assert (old.value, old.status, old.agent_id) == ("SOC2 compliance", "superseded", agent_a)
    assert old.superseded_by == new and old.valid_to == new.valid_from
    assert ns["state"].conflicts == [(enterprise, old)]

    # the conflict is an event for the two writers (and trusted subscribers), and an audit entry
    def conflicts(sub: Any) -> list[Any]:
        return [e for e in sub.poll(timeout=0.5) if e.kind is EventKind.ENTITY_CONFLICT]

    seen = {who: conflicts(sub) for who, sub in subscriptions.items()}
    assert len(seen[agent_a]) == len(seen[agent_b]) == 1 and seen[bystander] == []
    (event,) = conflicts(trusted)
    assert event.data["agents"] == sorted([agent_a, agent_b]) and event.data["entity"] == "enterprise"
    assert (event.data["old"]["value"], event.data["new"]["value"]) == ("SOC2 compliance", "data residency")
    (entry,) = client.maas.audit.query(action="entity_conflict")
    assert set(entry.details["agents"]) == {agent_a, agent_b} and client.maas.audit.verify_chain().ok


def test_conflict_loop_when_two_agents_write_at_the_same_time(client: SpectronClient) -> None:
    """Two sessions remember concurrently: the write that committed later (``Memory.seq``) wins."""
    agents = _writers(client, 2)
    texts = [SOC2, RESIDENCY]

    async def write(agent: str, text: str) -> Any:
        async with client.sessions.create(scope=SHARED_SCOPE, agent_id=agent) as session:
            return await session.remember(content=text)

    async def both() -> list[Any]:
        return list(await asyncio.gather(*(write(a, t) for a, t in zip(agents, texts, strict=True))))

    first, later = sorted(asyncio.run(both()), key=lambda m: m.seq)
    ns = reader_namespace(client) | {"SHARED_SCOPE": dict(SHARED_SCOPE)}
    printed = run_in_session(client, ns, GET_STATE)
    value = {SOC2: "SOC2 compliance", RESIDENCY: "data residency"}
    assert printed == (
        f"Conflict: enterprise.top_priority was {value[first.content]} \u2192 now {value[later.content]}\n"
    )
    enterprise = ns["state"].entity("enterprise")
    assert enterprise is not None and enterprise.attributes[0].agent_id == later.author_id


def test_reflection_pass_after_the_workers(client: SpectronClient) -> None:
    ns = run_supervisor_example(client)  # defines SUPERVISOR_SCOPE; leaves one persisted reflection
    project = {"org": "acme", "project": "research-pipeline"}
    (earlier,) = [m for m in client.maas.memories.history(scope=project) if m.category == "reflection"]

    printed = asyncio.run(run_example(REFLECTION, ns))
    synthesis = ns["synthesis"]
    assert isinstance(synthesis, Reflection) and printed == f"{synthesis.summary}\n"

    # profile(): every worker's contribution (its finding, or the supervisor's copy of it), and
    # the reflection the supervisor persisted before
    full_context = ns["full_context"]
    assert isinstance(full_context, Profile) and full_context.scope == project
    knowledge = [m.content for m in full_context.memories["knowledge"]]
    assert len(knowledge) == 5 and knowledge[:3] == [f"[{t}] {FINDINGS[t]} [1]" for t in reversed(TOPICS)]
    assert all(FINDINGS[t] in full_context.formatted for t in TOPICS)
    assert [m.memory_id for m in full_context.reflections] == [earlier.memory_id]

    # the synthesis: offline (no chat model), citing knowledge memories only, persisted
    assert synthesis.method == "extractive" and synthesis.note is None and synthesis.scope == project
    stored = {m.memory_id: m for m in client.maas.memories.history(scope={"org": "acme"})}
    assert synthesis.memory_ids and all(stored[i].category == "knowledge" for i in synthesis.memory_ids)
    for sentence, n in _cited_sentences(synthesis.summary):
        assert sentence in stored[synthesis.memory_ids[n - 1]].content
    persisted = stored[synthesis.reflection_id]
    assert (persisted.content, persisted.category, persisted.scope) == (synthesis.summary, "reflection", project)
    assert persisted.metadata["sources"] == ",".join(synthesis.memory_ids)

    # "included in future profile() calls": newest first, in the profile's text too
    with client.sessions.create(scope=project) as later:
        again = later.profile()
    assert [m.memory_id for m in again.reflections] == [synthesis.reflection_id, earlier.memory_id]
    assert again.formatted.split("Reflections:\n", 1)[1].startswith(f"- {synthesis.summary}\n")
    assert "reflection" not in again.memories  # listed apart from the memories by category


class AnalystChat(BaseChatModel):
    """A chat model with one fixed answer; records the messages it was sent."""

    answer: str = ""
    calls: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "analyst"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        self.calls.append(list(messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.answer))])


def test_reflection_pass_with_a_chat_model(tmp_path: Path) -> None:
    """``MaaS.open(llm=...)``: the synthesis is the model's answer; ``[n]`` cites the n-th source."""
    model = AnalystChat(answer="Prices rose [2] while SSO became table stakes [1]. Unclear: sentiment.")
    client = SpectronClient(MaaS.open(tmp_path / "home", llm=model))
    ns = reader_namespace(client) | {"SUPERVISOR_SCOPE": {"org": "acme", "project": "research-pipeline"}}
    try:
        ids = {}
        for i, topic in enumerate(TOPICS):
            with client.sessions.create(scope={**ns["SUPERVISOR_SCOPE"], "agent": f"worker-{i}"}) as worker:
                ids[FINDINGS[topic]] = worker.remember(FINDINGS[topic], memory_category="knowledge").memory_id
        printed = asyncio.run(run_example(REFLECTION, ns))
        synthesis = ns["synthesis"]
        assert printed == f"{model.answer}\n" and synthesis.method == "llm" and synthesis.note is None
        (messages,) = model.calls  # profile() does not call the model; reflect() once
        sources = dict(re.findall(r'<source n="(\d+)">\n\[\d+\] (.*)\n</source>', str(messages[-1].content)))
        assert sorted(sources.values()) == sorted(FINDINGS.values())  # what the workers found
        assert synthesis.memory_ids == (ids[sources["2"]], ids[sources["1"]])  # in citation order
        with client.sessions.create(scope=ns["SUPERVISOR_SCOPE"]) as later:
            (persisted,) = later.profile().reflections
        assert persisted.memory_id == synthesis.reflection_id and persisted.content == model.answer
        assert persisted.metadata["method"] == "llm"
    finally:
        client.close()


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
