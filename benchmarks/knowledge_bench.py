"""Knowledge-update benchmark: do entity facts stay current when agents keep changing them?

A seeded generator writes a world of entities — competitors, people, services, customer
segments — whose single-valued attributes (price, location, preference, role, owner, timeout,
discount) change over time. Several agents (``author_id``) write the updates into five scopes:
the org, project ``alpha``, the two worker scopes under it (``alpha/worker-1``, ``alpha/worker-2``)
and a sibling project ``beta``. About one memory in three is unrelated (standups, CI notes...).

Every update is written in one of several **phrasings** ("X's price is Y", "The price of X is
Y", "X moved to Y", a ``key: value`` block, "Y is what X charges now", passive voice ...). Before
the run, each (phrasing, attribute) pair is checked against the offline
:class:`~maas_langchain.core.extract_rules.RuleExtractor` on a sample of renderings: it is
**covered** when every sample yields the right entity, key and value, else **not covered**.
Results are split by the phrasing of the write that set the value being checked.

Measured (default rule extractor; ``HashingEmbeddings`` and bruteforce vectors for speed, on a
SQLite file, with a manual clock that advances 1-15 minutes per memory):

* (a) **stale facts** — for each (entity, attribute, reader scope) that has a value by the
  generator's truth (the last value written at the reader's scope, else at its nearest ancestor):
  ``get_state`` at that scope (``descendants=False``) returns it (correct), an older value
  (stale), a wider scope's value that the reader's scope replaced (overridden), nothing (missing)
  or something else (wrong); and recall top-1 for "What is X's <attribute>?" at that scope
  (correct / stale: states an older value / overridden / other memory). Recall top-1 is measured
  again with the packaged ``LocalMiniLMEmbeddings`` when it loads offline.
* (b) **conflicts** — ``entity.conflict`` events against the truth (a write of a different value
  for an attribute that already holds a value in the same scope): precision and recall, recall
  split by whether the two writes were both in covered phrasings.
* (c) **wrong supersessions across scopes** — supersessions (in ``get_state`` at the org with
  every descendant, and in the conflict events) whose two facts are in different scopes, and
  current values at a reader scope that came from a sibling or unrelated scope. Target: 0.
* (d) **remember latency** with extraction on vs off (``extractor=None``), the same workload
  on a fresh SQLite file each (two rounds, order alternated), the caller's ``remember`` call
  timed; plus a run with the worker paused (only the job insert) and the time ``drain`` takes
  to apply that whole backlog (the worker's throughput). Target: extraction adds <= 5 ms p95.

Usage::

    .venv/bin/python -m benchmarks.knowledge_bench             # about 3 minutes on 2 cores
    .venv/bin/python -m benchmarks.knowledge_bench --quick --out /tmp/kb   # smoke run
    .venv/bin/python -m benchmarks.knowledge_bench --no-model  # without the MiniLM recall run

Writes ``benchmarks/results/knowledge_bench.json``, ``benchmarks/results/knowledge_bench.md``
and ``benchmarks/results/img/knowledge_bench.png`` (with matplotlib), or into ``--out``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.core_bench import base_machine_info, percentile
from benchmarks.reporting import ROOT, write_report
from maas_langchain import EventKind, MaaS
from maas_langchain.core.entity_types import norm_name, norm_value
from maas_langchain.core.extract_rules import RuleExtractor
from maas_langchain.embeddings import HashingEmbeddings
from maas_langchain.testing import ManualClock

__all__ = ["Update", "generate", "label_phrasings", "main"]

Result = dict[str, Any]
RESULTS = ROOT / "benchmarks" / "results"

# --- the world ----------------------------------------------------------------------------------

SCOPES: dict[str, dict[str, str]] = {
    "org": {"org": "acme"},
    "alpha": {"org": "acme", "project": "alpha"},
    "alpha/worker-1": {"org": "acme", "project": "alpha", "agent": "worker-1"},
    "alpha/worker-2": {"org": "acme", "project": "alpha", "agent": "worker-2"},
    "beta": {"org": "acme", "project": "beta"},
}
ANCESTORS: dict[str, tuple[str, ...]] = {  # narrowest first, the scope itself excluded
    "org": (),
    "alpha": ("org",),
    "alpha/worker-1": ("alpha", "org"),
    "alpha/worker-2": ("alpha", "org"),
    "beta": ("org",),
}
SCOPE_WEIGHT = {"org": 0.35, "alpha": 0.8, "alpha/worker-1": 0.3, "alpha/worker-2": 0.3, "beta": 0.5}
SHARED_AUTHORS = ("planner", "researcher", "pricing-bot", "sales-agent", "worker-1", "worker-2")


@dataclass(frozen=True)
class Entity:
    """How an entity is written: at the start of a sentence (``subject``), inside one
    (``mention``), as a Markdown heading (``heading``); ``name`` is what the extractor calls it."""

    kind: str
    name: str
    subject: str
    mention: str
    heading: str


def _entities() -> list[Entity]:
    out = [
        Entity("competitor", f"Competitor {n}", f"Competitor {n}", f"Competitor {n}", f"Competitor {n}")
        for n in ("Globex", "Initech", "Hooli", "Vandelay", "Umbrella", "Soylent")
    ]
    out += [
        Entity("person", n, n, n, n)
        for n in ("Alice Moreau", "Bob Okafor", "Carla Nunes", "Deepak Rao", "Elena Fischer", "Farid Haddad")
    ]
    out += [
        Entity("service", s, f"The {s} service", f"the {s} service", f"{s.capitalize()} service")
        for s in ("billing", "auth", "search", "ingest", "notification")
    ]
    out += [
        Entity("segment", s, f"The {s} segment", f"the {s} segment", f"{s[:1].upper()}{s[1:]} segment")
        for s in ("enterprise", "SMB", "startup", "education")
    ]
    return out


ENTITIES = _entities()
ATTRIBUTES: dict[str, tuple[str, ...]] = {  # entity kind -> its single-valued attributes
    "competitor": ("price", "location"),
    "person": ("location", "preference", "role"),
    "service": ("owner", "timeout"),
    "segment": ("discount", "preference"),
}


# fmt: off
CITIES = (
    "Lisbon", "Berlin", "Austin", "Toronto", "Nairobi", "Porto", "Seoul", "Denver", "Madrid", "Oslo", "New York",
    "Cape Town", "Melbourne", "Warsaw", "Dublin", "Montreal", "Osaka", "Lagos", "Lima", "Bogota", "Prague",
    "Vienna", "Helsinki", "Chicago", "Boston", "Seattle", "Zurich", "Milan", "Athens", "Hanoi", "Jakarta", "Manila",
    "Santiago", "Quito", "Accra", "Tunis", "Krakow", "Tallinn", "Riga", "Vilnius",
)
PREFERENCES = (
    "dark mode", "annual billing", "email support", "phone calls", "async updates", "weekly reports",
    "monthly invoices", "short meetings", "written specs", "video demos", "usage-based pricing",
    "self-serve onboarding", "on-site training", "Slack threads", "quarterly reviews", "light mode",
    "paper contracts", "chat support", "daily digests", "live demos", "flat pricing", "long-form docs",
    "pair programming", "remote workshops", "printed invoices", "voice notes", "kanban boards", "gantt charts",
)
ROLES = (
    "staff engineer", "tech lead", "product manager", "engineering manager", "designer", "data scientist",
    "site reliability engineer", "solutions architect", "support lead", "principal engineer", "QA lead",
    "security engineer", "data engineer", "developer advocate", "release manager", "program manager",
    "UX researcher", "platform engineer", "backend engineer", "frontend engineer", "mobile engineer",
    "analytics lead", "finance partner", "account executive",
)
TEAMS = (
    "payments", "core", "platform", "growth", "identity", "data", "infra", "search", "mobile", "billing", "risk",
    "ledger", "edge", "storage", "observability", "devex", "security", "compliance", "web", "api",
)
# fmt: on


def _values(attribute: str, rng: random.Random, used: Iterable[str] = ()) -> str:
    """A random value of ``attribute``, avoiding ``used`` (a chain's earlier values) while the
    pool allows, so that a value read back names the write it came from."""
    avoid = {norm_value(v) for v in used}
    value = ""
    for _ in range(50):
        value = _draw(attribute, rng)
        if norm_value(value) not in avoid:
            break
    return value


def _draw(attribute: str, rng: random.Random) -> str:
    if attribute == "price":
        return f"${rng.randrange(19, 1500)}/mo"
    if attribute == "timeout":
        return f"{rng.randrange(1, 121) * 5}s"
    if attribute == "discount":
        return f"{rng.randrange(5, 61)}%"
    if attribute == "owner":
        return f"team-{rng.choice(TEAMS)}"
    pools = {"location": CITIES, "preference": PREFERENCES, "role": ROLES}
    return rng.choice(pools[attribute])


# --- phrasings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phrasing:
    """One way to write an update; ``attributes`` limits it to these (None: any)."""

    name: str
    template: str
    attributes: tuple[str, ...] | None = None


PHRASINGS: tuple[Phrasing, ...] = (
    # meant to be read by the rules (docs/extraction.md) — checked below, not assumed
    Phrasing("possessive", "{S}'s {k} is {v}."),
    Phrasing("of", "The {k} of {m} is {v}."),
    Phrasing("possessive, now", "{S}'s {k} is now {v}."),
    Phrasing("changed to", "{S}'s {k} changed to {v}."),
    Phrasing("key: value block", "# {H}\n{k}: {v}"),
    Phrasing("X costs Y", "{S} costs {v}.", ("price",)),
    Phrasing("X moved to Y", "{S} moved to {v}.", ("location",)),
    Phrasing("X is based in Y", "{S} is based in {v}.", ("location",)),
    Phrasing("X prefers Y", "{S} prefers {v}.", ("preference",)),
    Phrasing("X is the Y", "{S} is the {v}.", ("role",)),
    # paraphrases the rules were not meant to read (when written; the extractor may have grown since)
    Phrasing("passive: set as", "{V} was set as {m}'s {k}."),
    Phrasing("passive: was updated to", "{S}'s {k} was updated to {v}."),
    Phrasing("for X, the k is", "For {m}, the {k} is {v}."),
    Phrasing("Y is what X charges", "{V} is what {m} charges now.", ("price",)),
    Phrasing("X now charges Y", "{S} now charges {v}.", ("price",)),
    Phrasing("Y is where X is based", "{V} is where {m} is based now.", ("location",)),
    Phrasing("X works from Y", "{S} works from {v} these days.", ("location",)),
    Phrasing("Y is preferred by X", "{V} is preferred by {m}.", ("preference",)),
    Phrasing("X likes Y better", "{S} likes {v} better now.", ("preference",)),
    Phrasing("X was promoted to Y", "{S} was promoted to {v}.", ("role",)),
    Phrasing("X is owned by Y", "{S} is owned by {v}.", ("owner",)),
    Phrasing("Y took over X", "{V} took over {m}.", ("owner",)),
    Phrasing("X times out after Y", "{S} times out after {v}.", ("timeout",)),
    Phrasing("X gets Y off", "{S} gets {v} off.", ("discount",)),
    Phrasing("k went to Y", "{S}'s {k} went to {v}."),
    Phrasing("k is set at Y now", "{S}'s {k} is set at {v} now."),
    Phrasing("X's k: Y", "{S}'s {k}: {v}"),
    Phrasing("has been Y since", "Heads-up: {m}'s {k} has been {v} since this morning."),
    Phrasing("X has Y as its k", "{S} has {v} as its {k} now."),
    Phrasing("New k for X: Y", "New {k} for {m}: {v}."),
    Phrasing("X raised its k to Y", "{S} raised its {k} to {v}.", ("price", "discount", "timeout")),
)


def render(phrasing: Phrasing, entity: Entity, attribute: str, value: str) -> str:
    """The memory text of one update."""
    return phrasing.template.format(
        S=entity.subject,
        m=entity.mention,
        H=entity.heading,
        k=attribute,
        v=value,
        V=value[:1].upper() + value[1:],
    )


def phrasings_for(attribute: str) -> list[Phrasing]:
    return [p for p in PHRASINGS if p.attributes is None or attribute in p.attributes]


def extracted_ok(extractor: RuleExtractor, text: str, entity: Entity, attribute: str, value: str) -> bool:
    """Whether the extractor reads exactly this update: the entity, the key and the value."""
    names = {norm_name(entity.name), norm_name(entity.mention)}
    found = extractor.extract(text)
    return any(
        norm_name(a.entity) in names
        and a.key == attribute
        and norm_value(a.value) == norm_value(value)
        and not a.negated
        for a in found.attributes
    )


def label_phrasings(seed: int, samples: int = 40) -> dict[tuple[str, str], Result]:
    """Check every (phrasing, attribute) pair on ``samples`` renderings (random entities of the
    right kind and random values): covered when all of them are read right."""
    rng = random.Random(seed ^ 0x5EED)
    extractor = RuleExtractor()
    labels: dict[tuple[str, str], Result] = {}
    for attribute in sorted({a for attrs in ATTRIBUTES.values() for a in attrs}):
        owners = [e for e in ENTITIES if attribute in ATTRIBUTES[e.kind]]
        for phrasing in phrasings_for(attribute):
            good, example, failed = 0, "", ""
            for _ in range(samples):
                entity, value = rng.choice(owners), _values(attribute, rng)
                text = render(phrasing, entity, attribute, value)
                example = example or text
                if extracted_ok(extractor, text, entity, attribute, value):
                    good += 1
                else:
                    failed = failed or text
            labels[(phrasing.name, attribute)] = {
                "phrasing": phrasing.name,
                "attribute": attribute,
                "read_right": good,
                "samples": samples,
                "covered": good == samples,
                "example": example,
                "failed_example": failed,
            }
    return labels


# --- the workload -------------------------------------------------------------------------------

NOISE = (
    "Standup: the flaky integration test in the CI pipeline was quarantined again (run {n}).",
    "Sprint {n} retro: the release train slipped two days because of the code freeze.",
    "Reminder for sprint {n}: the design review moved to Thursday afternoon.",
    "Ticket #{n}: a customer could not reset the password until the cache was cleared.",
    "The on-call handover for week {n} went smoothly, no pages overnight.",
    "Benchmarks from run {n} show the nightly build takes about {m} minutes.",
    "Notes from the all-hands {n}: hiring is paused until the next quarter.",
    "Incident {n} postmortem: the root cause was an expired TLS certificate.",
    "Customer interview {n}: onboarding emails feel too long and too frequent.",
    "Doc cleanup {n}: the architecture page now links the runbooks.",
)


@dataclass
class Update:
    """One memory of the workload (``entity`` None: an unrelated memory)."""

    index: int
    scope: str
    author: str
    text: str
    entity: Entity | None = None
    attribute: str = ""
    value: str = ""
    phrasing: str = ""
    covered: bool = False
    read_right: bool = False
    prior: str | None = None  # the value this (entity, attribute) held at this scope before, by the truth
    prior_index: int | None = None
    memory_id: str = ""

    @property
    def chain(self) -> tuple[str, str, str]:
        assert self.entity is not None
        return (self.entity.name, self.attribute, self.scope)

    @property
    def conflict(self) -> bool:
        """A different value for an attribute that already held one at this scope."""
        return self.prior is not None and norm_value(self.prior) != norm_value(self.value)


def generate(seed: int, updates: int, labels: dict[tuple[str, str], Result], noise_every: int = 3) -> list[Update]:
    """The workload: ``updates`` attribute updates with an unrelated memory after every
    ``noise_every - 1`` of them (1 in ``noise_every`` memories is unrelated)."""
    rng = random.Random(seed)
    extractor = RuleExtractor()
    chains: list[tuple[Entity, str, str]] = []
    for entity in ENTITIES:
        for attribute in ATTRIBUTES[entity.kind]:
            scopes = [s for s in SCOPES if rng.random() < SCOPE_WEIGHT[s]] or [rng.choice(list(SCOPES))]
            chains += [(entity, attribute, s) for s in scopes]
    held: dict[tuple[str, str, str], tuple[str, int]] = {}
    used: dict[tuple[str, str, str], list[str]] = {}
    out: list[Update] = []
    made = 0
    while made < updates:
        if noise_every and len(out) % noise_every == noise_every - 1:
            scope = rng.choice(list(SCOPES))
            text = rng.choice(NOISE).format(n=rng.randrange(1, 999), m=rng.randrange(5, 90))
            out.append(Update(len(out), scope, _author(scope, rng), text))
            continue
        entity, attribute, scope = rng.choice(chains)
        key = (entity.name, attribute, scope)
        prior = held.get(key)
        if prior is not None and rng.random() < 0.08:
            value = prior[0]  # the same value again: a corroboration, not a conflict
        else:
            value = _values(attribute, rng, used.get(key, ()))
            while prior is not None and norm_value(value) == norm_value(prior[0]):
                value = _values(attribute, rng)
        used.setdefault(key, []).append(value)
        phrasing = rng.choice(phrasings_for(attribute))
        text = render(phrasing, entity, attribute, value)
        update = Update(
            len(out),
            scope,
            _author(scope, rng),
            text,
            entity,
            attribute,
            value,
            phrasing.name,
            covered=bool(labels[(phrasing.name, attribute)]["covered"]),
            read_right=extracted_ok(extractor, text, entity, attribute, value),
            prior=None if prior is None else prior[0],
            prior_index=None if prior is None else prior[1],
        )
        held[key] = (value, update.index)
        out.append(update)
        made += 1
    return out


def _author(scope: str, rng: random.Random) -> str:
    return scope.split("/")[1] if "/" in scope else rng.choice(SHARED_AUTHORS)


@dataclass
class Truth:
    """What the generator wrote, per chain (entity, attribute, scope), in write order."""

    writes: dict[tuple[str, str, str], list[Update]]

    @classmethod
    def of(cls, workload: Sequence[Update]) -> Truth:
        writes: dict[tuple[str, str, str], list[Update]] = defaultdict(list)
        for u in workload:
            if u.entity is not None:
                writes[u.chain].append(u)
        return cls(dict(writes))

    def effective(self, entity: str, attribute: str, reader: str) -> tuple[str, Update] | None:
        """The scope whose value a reader at ``reader`` sees, and that scope's last write."""
        for scope in (reader, *ANCESTORS[reader]):
            found = self.writes.get((entity, attribute, scope))
            if found:
                return scope, found[-1]
        return None

    def classify(self, entity: str, attribute: str, expected_scope: str, scope: str | None, value: str) -> str:
        """What a value read from ``scope`` is, when the truth is the last write at ``expected_scope``:
        ``correct``; ``stale`` (an older value of that scope); ``overridden`` (a wider scope's
        current value, which the narrower scope replaced); ``stale`` too for an older value of that
        wider scope; else ``wrong``."""
        chain = self.writes.get((entity, attribute, scope or ""), [])
        if scope != expected_scope and scope not in ANCESTORS[expected_scope]:
            return "wrong"
        if scope == expected_scope and chain and norm_value(value) == norm_value(chain[-1].value):
            return "correct"
        if any(norm_value(u.value) == norm_value(value) for u in chain[:-1]) and (
            not chain or norm_value(value) != norm_value(chain[-1].value)
        ):
            return "stale"
        if chain and norm_value(value) == norm_value(chain[-1].value):
            return "overridden"
        return "wrong"


# --- running the workload -----------------------------------------------------------------------


def _open(location: Path | str, *, extractor: Any = "rules", embeddings: Any = None, clock: Any = None) -> MaaS:
    kw: Result = {}
    if clock is not None:
        kw["clock"] = clock
    return MaaS.open(
        location,
        embeddings=embeddings or HashingEmbeddings(),
        vectors="bruteforce",
        extractor=extractor,
        handoff_screening="rules",
        sweep_interval=None,
        **kw,
    )


def write_workload(maas: MaaS, workload: Sequence[Update], clock: ManualClock | None, seed: int) -> list[int]:
    """Remember every memory in order (the clock advancing 1-15 minutes each); nanoseconds per call."""
    rng = random.Random(seed ^ 0xC10C)
    timings = []
    for u in workload:
        if clock is not None:
            clock.advance(rng.uniform(60, 900))
        start = time.perf_counter_ns()
        memory = maas.memories.remember(u.text, scope=SCOPES[u.scope], author_id=u.author)
        timings.append(time.perf_counter_ns() - start)
        u.memory_id = memory.memory_id
    return timings


def _scope_name(scope: dict[str, str]) -> str | None:
    return next((name for name, value in SCOPES.items() if value == scope), None)


GROUPS = ("covered", "not covered", "all", "last write read right", "last write not read")


def _groups(u: Update) -> tuple[str, str, str]:
    """The groups a check counts in: its last write's phrasing label, all, and whether the
    extractor read that very write right."""
    return (
        "covered" if u.covered else "not covered",
        "all",
        "last write read right" if u.read_right else "last write not read",
    )


def _rate(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def measure_state(maas: MaaS, workload: Sequence[Update], truth: Truth) -> Result:
    """(a) get_state per (entity, attribute, reader scope), and (c) currents from foreign scopes."""
    outcomes: dict[str, Counter[str]] = {g: Counter() for g in GROUPS}
    own: Counter[str] = Counter()
    foreign: list[Result] = []
    leaked: list[Result] = []
    examples: list[Result] = []
    by_phrasing: dict[str, Counter[str]] = defaultdict(Counter)
    for reader in SCOPES:
        state = maas.entities.state(SCOPES[reader], descendants=False)
        allowed = [SCOPES[s] for s in (reader, *ANCESTORS[reader])]
        for entity in ENTITIES:
            view = state.entity(entity.name)
            for attribute in ATTRIBUTES[entity.kind]:
                current = None
                if view is not None:
                    current = next((a for a in view.attributes if a.key == attribute and a.current), None)
                if current is not None and current.scope not in allowed:
                    foreign.append(
                        {"reader": reader, "entity": entity.name, "key": attribute, "from_scope": current.scope}
                    )
                found = truth.effective(entity.name, attribute, reader)
                if found is None:
                    if current is not None:  # a value where the truth has none at this scope or above
                        leaked.append(
                            {"reader": reader, "entity": entity.name, "key": attribute, "value": current.value}
                        )
                    continue
                scope, last = found
                if current is None:
                    outcome = "missing"
                else:
                    outcome = truth.classify(entity.name, attribute, scope, _scope_name(current.scope), current.value)
                for group in _groups(last):
                    outcomes[group][outcome] += 1
                by_phrasing[last.phrasing][outcome] += 1
                own["own scope" if scope == reader else "inherited"] += 1
                if outcome != "correct" and last.covered and len(examples) < 20:
                    examples.append(
                        {
                            "reader": reader,
                            "entity": entity.name,
                            "key": attribute,
                            "truth": last.value,
                            "truth_text": last.text,
                            "got": None if current is None else current.value,
                            "outcome": outcome,
                        }
                    )
    return {
        "outcomes": {g: _summary(c) for g, c in outcomes.items()},
        "by_last_phrasing": {p: _summary(c) for p, c in sorted(by_phrasing.items())},
        "checked": dict(own),
        "foreign_currents": foreign,
        "leaked_values": leaked,
        "covered_not_correct_examples": examples,
    }


def _summary(counts: Counter[str]) -> Result:
    total = sum(counts.values())
    kinds = ("correct", "stale", "overridden", "missing", "wrong", "other")
    out: Result = {"n": total, **{k: counts.get(k, 0) for k in kinds}}
    out["stale_pct"] = _rate(counts.get("stale", 0), total)
    out["overridden_pct"] = _rate(counts.get("overridden", 0), total)
    out["correct_pct"] = _rate(counts.get("correct", 0), total)
    out["missing_pct"] = _rate(counts.get("missing", 0), total)
    out["other_pct"] = _rate(counts.get("other", 0) + counts.get("wrong", 0), total)
    return out


def measure_recall(maas: MaaS, workload: Sequence[Update], truth: Truth) -> Result:
    """(a) recall top-1 per (entity, attribute, reader scope): does it state the current value?"""
    by_id = {u.memory_id: u for u in workload}
    outcomes: dict[str, Counter[str]] = {g: Counter() for g in GROUPS}
    in_top3: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    why_lost: Counter[str] = Counter()
    latencies = []
    for reader in SCOPES:
        for entity in ENTITIES:
            for attribute in ATTRIBUTES[entity.kind]:
                found = truth.effective(entity.name, attribute, reader)
                if found is None:
                    continue
                scope, last = found
                query = f"What is {entity.mention}'s {attribute}?"
                start = time.perf_counter_ns()
                hits = maas.memories.recall(query, scope=SCOPES[reader], top_k=3, descendants=False)
                latencies.append(time.perf_counter_ns() - start)
                stated = [by_id.get(h.memory.memory_id) for h in hits]
                outcome = "other"
                if stated and stated[0] is not None and stated[0].entity is not None:
                    top = stated[0]
                    if top.entity is entity and top.attribute == attribute:
                        if norm_value(top.value) == norm_value(last.value):
                            outcome = "correct"
                        else:
                            outcome = truth.classify(entity.name, attribute, scope, top.scope, top.value)
                            if last.covered:  # why a covered update lost: what the top-1 memory was
                                where = "same scope" if top.scope == scope else "wider scope"
                                read = "its fact extracted" if top.read_right else "no fact extracted from it"
                                why_lost[f"{where}, {read}"] += 1
                if hits and hits[0].why.get("superseded"):
                    flagged[outcome] += 1
                if any(
                    s is not None and s.entity is entity and s.attribute == attribute
                    and norm_value(s.value) == norm_value(last.value)
                    for s in stated
                ):  # fmt: skip
                    for group in _groups(last):
                        in_top3[group] += 1
                for group in _groups(last):
                    outcomes[group][outcome] += 1
    ms = sorted(t / 1e6 for t in latencies)
    summary = {g: _summary(c) for g, c in outcomes.items()}
    for group in GROUPS:
        summary[group]["current_in_top3_pct"] = _rate(in_top3[group], summary[group]["n"])
    return {
        "outcomes": summary,
        "top1_marked_superseded": dict(flagged),
        "covered_stale_top1": dict(why_lost),
        "latency_ms": {"p50": round(percentile(ms, 50), 3), "p95": round(percentile(ms, 95), 3)},
    }


def _events(maas: MaaS) -> list[Any]:
    sub = maas.events.subscribe(after_seq=0, kinds=[EventKind.ENTITY_CONFLICT])
    out: list[Any] = []
    while batch := sub.poll(timeout=0.2):
        out += batch
    return out


def measure_conflicts(maas: MaaS, workload: Sequence[Update]) -> Result:
    """(b) conflict events vs the truth, and (c) events across scopes."""
    by_id = {u.memory_id: u for u in workload}
    events = _events(maas)
    audits = maas.audit.query(action="entity_conflict", limit=10_000)
    truth = [u for u in workload if u.entity is not None and u.conflict]
    detected: set[int] = set()
    exact: set[int] = set()
    false_positives: list[Result] = []
    fp_kinds: Counter[str] = Counter()
    cross_scope: list[Result] = []
    for event in events:
        data = event.data
        new, old = by_id.get(data["new"]["memory_id"]), by_id.get(data["old"]["memory_id"])
        if new is not None and old is not None and new.scope != old.scope:
            cross_scope.append({"old": old.text, "old_scope": old.scope, "new": new.text, "new_scope": new.scope})
        hit = (
            new is not None
            and new.entity is not None
            and new.conflict
            and norm_name(data["entity"]) in {norm_name(new.entity.name), norm_name(new.entity.mention)}
            and data["key"] == new.attribute
        )
        if hit and new is not None:
            detected.add(new.index)
            if norm_value(data["old"]["value"]) == norm_value(new.prior or ""):
                exact.add(new.index)
            continue
        if new is not None and new.entity is not None and new.conflict:
            why = "a conflict of the truth, reported under another key"  # "is owned by" -> owned_by
        elif new is not None and new.entity is not None and data["key"] == new.attribute:
            why = "restates the held value, but the store held another (the write that set it was not extracted, or misread)"
        else:
            why = "unexplained"
        fp_kinds[why] += 1
        if len(false_positives) < 20:
            false_positives.append(
                {
                    "why": why,
                    "entity": data["entity"],
                    "key": data["key"],
                    "old": data["old"]["value"],
                    "new": data["new"]["value"],
                    "new_text": None if new is None else new.text,
                }
            )
    by_index = {u.index: u for u in workload}

    def both_read(u: Update) -> bool:
        prior = by_index.get(u.prior_index) if u.prior_index is not None else None
        return u.read_right and prior is not None and prior.read_right

    groups: dict[str, list[Update]] = {
        "all": truth,
        "new write covered": [u for u in truth if u.covered],
        "new write not covered": [u for u in truth if not u.covered],
        "both writes read right": [u for u in truth if both_read(u)],
    }
    recall = {
        name: {
            "truth": len(us),
            "detected": sum(1 for u in us if u.index in detected),
            "recall_pct": _rate(sum(1 for u in us if u.index in detected), len(us)),
            "old_value_exact_pct": _rate(sum(1 for u in us if u.index in exact), len(us)),
        }
        for name, us in groups.items()
    }
    tp = len(detected)
    return {
        "events": len(events),
        "audit_entries": len(audits),
        "true_positives": tp,
        "precision_pct": _rate(tp, len(events)),
        "recall": recall,
        "false_positives": dict(fp_kinds),
        "unexplained_false_positives": fp_kinds.get("unexplained", 0),
        "false_positive_examples": false_positives,
        "cross_scope_events": cross_scope,
    }


def measure_supersessions(maas: MaaS, truth: Truth) -> Result:
    """(c) every supersession visible from the org with all descendants: same scope on both sides,
    and both values written at that scope by the truth."""
    state = maas.entities.state(SCOPES["org"], descendants=True, history=True)
    links = cross = unknown = 0
    examples: list[Result] = []
    names = {norm_name(n): e.name for e in ENTITIES for n in (e.name, e.mention)}
    for entity in state.entities:
        ours = next((names[norm_name(n)] for n in (entity.name, *entity.aliases) if norm_name(n) in names), "")
        for fact in (*entity.attributes, *entity.relations):
            nxt = fact.superseded_by
            if nxt is None:
                continue
            links += 1
            if nxt.scope != fact.scope:
                cross += 1
                examples.append({"entity": entity.name, "key": fact.key, "from": fact.scope, "to": nxt.scope})
            known = {norm_value(u.value) for u in truth.writes.get((ours, fact.key, _scope_name(fact.scope) or ""), ())}
            if fact.kind == "attribute" and known and not {norm_value(fact.value), norm_value(nxt.value)} <= known:
                unknown += 1  # a misread value (an extraction error, not a scope error)
    return {
        "supersessions": links,
        "cross_scope": cross,
        "not_in_truth_at_that_scope": unknown,
        "cross_scope_examples": examples[:20],
        "entities_seen": len(state.entities),
    }


def correctness_run(workload: list[Update], seed: int, location: Path | str) -> Result:
    """Write the workload once (hashing embeddings, rules extractor) and measure (a), (b), (c)."""
    clock = ManualClock()
    workload = [Update(**{**u.__dict__, "memory_id": ""}) for u in workload]
    truth = Truth.of(workload)
    with _open(location, clock=clock) as maas:
        started = time.perf_counter()
        write_workload(maas, workload, clock, seed)
        wrote = time.perf_counter() - started
        started = time.perf_counter()
        maas.extraction.drain(timeout=None, everyone=True)
        drained = time.perf_counter() - started
        pending, failed = maas.extraction.backlog()
        out: Result = {
            "write_seconds": round(wrote, 2),
            "final_drain_seconds": round(drained, 3),
            "backlog_after_drain": {"pending": pending, "failed": failed},
            "state": measure_state(maas, workload, truth),
            "recall_hashing": measure_recall(maas, workload, truth),
            "conflicts": measure_conflicts(maas, workload),
            "supersessions": measure_supersessions(maas, truth),
            "audit_chain_ok": maas.audit.verify_chain().ok,
        }
    return out


def postgres_run(workload: list[Update], seed: int, base_url: str, home: Path) -> Result:
    """The correctness run on a fresh PostgreSQL schema (dropped afterwards), or why not."""
    from benchmarks.core_bench import postgres_schema, postgres_unavailable

    reason = postgres_unavailable(base_url)
    if reason is not None:
        return {"skipped": reason}
    saved = os.environ.get("MAAS_HOME")
    os.environ["MAAS_HOME"] = str(home)  # the audit key file of a PostgreSQL store lives in $MAAS_HOME
    try:
        with postgres_schema(base_url) as url:
            return correctness_run(workload, seed, url)
    finally:
        if saved is None:
            os.environ.pop("MAAS_HOME", None)
        else:
            os.environ["MAAS_HOME"] = saved


def model_recall_run(workload: list[Update], seed: int, tmp: Path) -> Result:
    """Recall top-1 with the packaged MiniLM model (skipped with the reason if it does not load)."""
    try:
        from maas_langchain.embeddings import LocalMiniLMEmbeddings

        embeddings = LocalMiniLMEmbeddings()
        embeddings.embed_query("warm up")
    except Exception as exc:
        return {"skipped": f"{type(exc).__name__}: {exc}"[:300]}
    clock = ManualClock()
    fresh = [Update(**{**u.__dict__, "memory_id": ""}) for u in workload]
    with _open(tmp / "model", clock=clock, embeddings=embeddings) as maas:
        started = time.perf_counter()
        write_workload(maas, fresh, clock, seed)
        maas.extraction.drain(timeout=None, everyone=True)
        wrote = time.perf_counter() - started
        result = measure_recall(maas, fresh, Truth.of(fresh))
    return {"embeddings": f"LocalMiniLMEmbeddings ({embeddings.model_id})", "write_seconds": round(wrote, 1), **result}


# --- (d) latency --------------------------------------------------------------------------------


def _stats(samples_ns: Iterable[int]) -> Result:
    ms = sorted(s / 1e6 for s in samples_ns)
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "max_ms": round(ms[-1], 3),
        "over_50ms": sum(1 for v in ms if v > 50),
    }


def latency_run(workload: list[Update], tmp: Path, rounds: int, seed: int) -> Result:
    """The caller's remember, extraction on vs off (fresh SQLite file each, order alternated),
    then with the worker paused and the whole backlog drained at the end."""
    warm = [Update(i, "org", "planner", f"Warm-up note {i}: nothing to see here.") for i in range(30)]
    samples: dict[str, list[int]] = {"on": [], "off": []}
    backlog_after: list[Result] = []
    for r in range(rounds):
        for mode in ("on", "off") if r % 2 == 0 else ("off", "on"):
            fresh = [Update(**{**u.__dict__, "memory_id": ""}) for u in workload]
            with _open(tmp / f"latency-{r}-{mode}", extractor="rules" if mode == "on" else None) as maas:
                write_workload(maas, warm, None, seed)
                maas.extraction.drain(timeout=None, everyone=True)
                samples[mode] += write_workload(maas, fresh, None, seed)
                if mode == "on":
                    pending = maas.extraction.backlog()[0]
                    started = time.perf_counter()
                    maas.extraction.drain(timeout=None, everyone=True)
                    backlog_after.append(
                        {"pending_at_end": pending, "drain_seconds": round(time.perf_counter() - started, 3)}
                    )
    # the worker paused: remember only queues the job; then drain applies the whole backlog
    fresh = [Update(**{**u.__dict__, "memory_id": ""}) for u in workload]
    with _open(tmp / "latency-paused") as maas:
        write_workload(maas, warm, None, seed)
        maas.extraction.drain(timeout=None, everyone=True)
        maas.extraction.kick = lambda: None  # type: ignore[method-assign]  # the thread never wakes
        paused = write_workload(maas, fresh, None, seed)
        pending = maas.extraction.backlog()[0]
        started = time.perf_counter()
        maas.extraction.drain(timeout=None, everyone=True)
        seconds = time.perf_counter() - started
        left = maas.extraction.backlog()
    busy = _during_backlog(workload, tmp / "latency-backlog", warm, seed)
    on, off = _stats(samples["on"]), _stats(samples["off"])
    return {
        "on": on,
        "off": off,
        "on_worker_paused": _stats(paused),
        "added_p50_ms": round(on["p50_ms"] - off["p50_ms"], 3),
        "added_p95_ms": round(on["p95_ms"] - off["p95_ms"], 3),
        "backlog_when_writing_stopped": backlog_after,
        "worker": {
            "backlog": pending,
            "drain_seconds": round(seconds, 3),
            "memories_per_second": round(pending / seconds, 1) if seconds else None,
            "left": {"pending": left[0], "failed": left[1]},
        },
        "during_backlog": busy,
        "histogram": _histogram(samples),
    }


def _during_backlog(workload: list[Update], location: Path, warm: list[Update], seed: int) -> Result:
    """The caller's remember while the worker thread drains a backlog of the whole workload (a
    restart with queued jobs, a burst): the workload is queued with the worker paused, the
    worker is woken, and the workload is written again until the backlog is empty."""
    with _open(location) as maas:
        worker = maas.extraction
        write_workload(maas, warm, None, seed)
        worker.drain(timeout=None, everyone=True)
        kick = worker.kick
        worker.kick = lambda: None  # type: ignore[method-assign]
        write_workload(maas, [Update(**{**u.__dict__, "memory_id": ""}) for u in workload], None, seed)
        queued = worker.backlog()[0]
        worker.kick = kick  # type: ignore[method-assign]
        started = time.perf_counter()
        kick()
        timings: list[int] = []
        for u in workload:
            if worker.backlog()[0] == 0:
                break
            timings += write_workload(maas, [Update(**{**u.__dict__, "memory_id": ""})], None, seed)
        while worker.backlog()[0] > 0 and time.perf_counter() - started < 120:
            time.sleep(0.01)
        seconds = time.perf_counter() - started
    return {
        "queued": queued,
        "worker_seconds": round(seconds, 3),
        "memories_per_second": round((queued + len(timings)) / seconds, 1) if seconds else None,
        "remember": _stats(timings) if timings else None,
    }


def _histogram(samples: dict[str, list[int]], bins: int = 60) -> Result:
    """Counts per latency bin (ms) up to the larger p99.5 of the modes, for the plot."""
    ms = {k: sorted(v / 1e6 for v in vs) for k, vs in samples.items()}
    top = max(percentile(v, 99.5) for v in ms.values())
    edges = [round(top * i / bins, 4) for i in range(bins + 1)]
    counts = {k: [0] * bins for k in ms}
    for k, values in ms.items():
        for v in values:
            if v <= top:
                counts[k][min(bins - 1, int(v / top * bins))] += 1
    return {"edges_ms": edges, "counts": counts}


# --- report -------------------------------------------------------------------------------------


def _cross_scope(run: Result) -> tuple[int, int]:
    """(supersessions across scopes, current values from a foreign scope) of one correctness run."""
    cross = run["supersessions"]["cross_scope"] + len(run["conflicts"]["cross_scope_events"])
    foreign = len(run["state"]["foreign_currents"]) + len(run["state"]["leaked_values"])
    return cross, foreign


def verdicts(report: Result) -> list[Result]:
    c = report["correctness"]
    state = c["state"]["outcomes"]["covered"]
    conflicts = c["conflicts"]
    lat = report["latency"]
    both = conflicts["recall"]["both writes read right"]
    runs = {"SQLite": c}
    if "state" in report.get("postgres", {}):
        runs["PostgreSQL"] = report["postgres"]
    cross = {name: _cross_scope(run) for name, run in runs.items()}
    return [
        {
            "target": "(c) supersessions across scopes (state and conflict events) = 0",
            "measured": ", ".join(f"{name} {n[0]}" for name, n in cross.items()),
            "pass": all(n[0] == 0 for n in cross.values()),
        },
        {
            "target": "(c) current values from a sibling or unrelated scope = 0",
            "measured": ", ".join(f"{name} {n[1]}" for name, n in cross.items()),
            "pass": all(n[1] == 0 for n in cross.values()),
        },
        {
            "target": "(d) extraction adds <= 5 ms to remember p95",
            "measured": f"{lat['added_p95_ms']} ms",
            "pass": lat["added_p95_ms"] <= 5.0,
        },
        {
            "target": "(a) get_state, covered phrasings: stale = 0 % (expectation, not a given target)",
            "measured": f"{state['stale_pct']} % stale, {state['missing_pct']} % missing",
            "pass": state["stale"] == 0,
        },
        {
            "target": "(b) conflict events that no truth conflict or extraction miss explains = 0 (expectation)",
            "measured": f"{conflicts['unexplained_false_positives']} (precision vs truth {conflicts['precision_pct']} %)",
            "pass": conflicts["unexplained_false_positives"] == 0,
        },
        {
            "target": "(b) conflict recall when both writes were read right = 100 % (expectation)",
            "measured": f"{both['recall_pct']} %",
            "pass": both["recall_pct"] == 100.0,
        },
    ]


def _outcome_row(label: str, s: Result) -> str:
    top3 = s.get("current_in_top3_pct", "-")
    return (
        f"| {label} | {s['n']} | {s['correct_pct']} | {s['stale_pct']} | {s['overridden_pct']} | "
        f"{s['missing_pct']} | {s['other_pct']} | {top3} |"
    )


def render_markdown(report: Result, image: str | None) -> str:
    m, p, c, lat = report["machine"], report["params"], report["correctness"], report["latency"]
    w = report["workload"]
    lines = [
        "# Knowledge-update benchmark",
        "",
        f"Command: `{m['command']}`  ",
        f"Date: {m['date']}; {m['cores']} cores ({m['cpu']}); Python {m['python']}, SQLite {m['sqlite']}; "
        f"load (1 min) {m['load_avg_1m_start']} at start, {m.get('load_avg_1m_end')} at the end; "
        f"took {report['seconds']} s.",
        "",
        f"Workload (seed {p['seed']}): {w['memories']} memories — {w['updates']} attribute updates "
        f"({w['conflicts']} conflicts by the truth, {w['corroborations']} re-assertions of the held value) and "
        f"{w['noise']} unrelated memories — over {w['entities']} entities, {w['chains']} (entity, attribute, "
        f"scope) chains in 5 scopes (org, alpha, alpha/worker-1, alpha/worker-2, beta), "
        f"{w['authors']} authors. {w['covered_updates']} updates ({w['covered_pct']} %) use a covered "
        f'phrasing. Store: SQLite file, bruteforce vectors, default rule extractor, `handoff_screening="rules"`.',
        "",
        "## Targets",
        "",
        "| target | measured | result |",
        "|---|---|---|",
    ]
    lines += [
        f"| {v['target']} | {v['measured']} | {'pass' if v['pass'] else '**MISSED**'} |" for v in report["verdicts"]
    ]
    if image:
        lines += ["", f"![knowledge benchmark]({image})"]
    lines += [
        "",
        "## (a) Stale facts",
        "",
        "Per (entity, attribute, reader scope) with a value by the truth (the reader's own last write, else the "
        "nearest ancestor's); reads with `descendants=False`. Grouped by the phrasing of the write that set the "
        "expected value. % of checks. *stale*: an older value of the same scope (or of a wider one); *overridden*: "
        "the current value of a wider scope, which the reader's own scope replaced (get_state falls back to it "
        "when the narrower writes were not extracted; recall does not demote it); *other*: a value never written "
        "at that scope or above (get_state) or a top-1 memory about something else (recall).",
        "",
        "| read | n | correct % | stale % | overridden % | missing % | other % | current in top 3 % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    reads = [
        ("get_state", c["state"]["outcomes"]),
        ("recall top-1, HashingEmbeddings", c["recall_hashing"]["outcomes"]),
    ]
    model = report.get("model_recall", {})
    if "outcomes" in model:
        reads.append((f"recall top-1, {model['embeddings']}", model["outcomes"]))
    for name, outcomes in reads:
        for group in GROUPS if name == "get_state" else GROUPS[:3]:
            lines.append(_outcome_row(f"{name} — {group}", outcomes[group]))
    if "skipped" in model:
        lines += ["", f"MiniLM recall run skipped: {model['skipped']}"]
    lines += [
        "",
        f"get_state checks: {c['state']['checked']}. Recall p50/p95: hashing "
        f"{c['recall_hashing']['latency_ms']['p50']}/{c['recall_hashing']['latency_ms']['p95']} ms"
        + (f", MiniLM {model['latency_ms']['p50']}/{model['latency_ms']['p95']} ms" if "latency_ms" in model else "")
        + ". Top-1 hits marked `superseded` by recall, by outcome: hashing "
        f"{c['recall_hashing']['top1_marked_superseded']}"
        + (f", MiniLM {model['top1_marked_superseded']}" if "top1_marked_superseded" in model else "")
        + ".",
        "",
        "Recall top-1 stating another value although the last write was covered, by what that memory was: hashing "
        f"{c['recall_hashing']['covered_stale_top1']}"
        + (f"; MiniLM {model['covered_stale_top1']}" if "covered_stale_top1" in model else "")
        + ". A memory the extractor read nothing from keeps its rank (nothing marks it superseded), and a wider "
        "scope's memory is not demoted when the reader's scope overrides its value.",
        "",
        "get_state by the phrasing of the last write:",
        "",
        "| last write's phrasing | n | correct % | stale % | overridden % | missing % | other % |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in c["state"]["by_last_phrasing"].items():
        lines.append(
            f"| {name} | {s['n']} | {s['correct_pct']} | {s['stale_pct']} | {s['overridden_pct']} | "
            f"{s['missing_pct']} | {s['other_pct']} |"
        )
    conf = c["conflicts"]
    lines += [
        "",
        "## (b) Conflicts",
        "",
        f"{conf['events']} `entity.conflict` events, {conf['audit_entries']} `entity_conflict` audit entries; "
        f"{conf['true_positives']} match a conflict of the truth (same write, entity and key): precision "
        f"**{conf['precision_pct']} %**. The others: {conf['false_positives'] or 'none'}.",
        "",
        "| truth conflicts | n | detected | recall % | old value as the truth's % |",
        "|---|---|---|---|---|",
    ]
    for name, r in conf["recall"].items():
        lines.append(f"| {name} | {r['truth']} | {r['detected']} | {r['recall_pct']} | {r['old_value_exact_pct']} |")
    lines += [
        "",
        "*old value as the truth's*: the event's old value is the value the truth held before (when a write in "
        "between was not extracted, the event names an older one).",
    ]
    sup = c["supersessions"]
    lines += [
        "",
        "## (c) Scopes",
        "",
        f"- supersessions in `get_state(org, descendants=True)`: {sup['supersessions']}; across scopes: "
        f"**{sup['cross_scope']}**; with a value the truth never wrote at that scope: {sup['not_in_truth_at_that_scope']} "
        "(misread values, e.g. `set at $349/mo`: extraction errors, not scope errors)",
        f"- conflict events whose two memories are in different scopes: **{len(conf['cross_scope_events'])}**",
        f"- current values at a reader scope that came from a scope not its own or an ancestor: "
        f"**{len(c['state']['foreign_currents'])}**; values where the truth has none at that scope or above: "
        f"**{len(c['state']['leaked_values'])}**",
        f"- audit chain verifies: {c['audit_chain_ok']}",
        "",
    ]
    lines += _postgres_section(report.get("postgres"), c)
    lines += [
        "## (d) Remember latency",
        "",
        f"The caller's `remember` on a fresh SQLite file (HashingEmbeddings, bruteforce vectors), the "
        f"{w['memories']} memories of the workload, {p['rounds']} rounds per mode (order alternated), after "
        "30 warm-up writes. Milliseconds.",
        "",
        "| mode | n | p50 | p95 | p99 | mean | max | calls over 50 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, key in (
        ("extraction off (`extractor=None`)", "off"),
        ("extraction on (rules, worker thread running)", "on"),
        ("extraction on, worker paused (job insert only)", "on_worker_paused"),
    ):
        s = lat[key]
        lines.append(
            f"| {name} | {s['n']} | {s['p50_ms']} | {s['p95_ms']} | {s['p99_ms']} | {s['mean_ms']} | {s['max_ms']} "
            f"| {s['over_50ms']} |"
        )
    worker = lat["worker"]
    busy = lat.get("during_backlog") or {}
    if busy.get("remember"):
        b = busy["remember"]
        lines.append(
            f"| extraction on, while the worker drains a backlog of {busy['queued']} jobs | {b['n']} | {b['p50_ms']} "
            f"| {b['p95_ms']} | {b['p99_ms']} | {b['mean_ms']} | {b['max_ms']} | {b['over_50ms']} |"
        )
    lines += [
        "",
        f"Added by extraction: p50 {lat['added_p50_ms']} ms, p95 **{lat['added_p95_ms']} ms**.",
        "",
        f"Backlog when the writing stopped (worker running): {lat['backlog_when_writing_stopped']}. "
        f"Worker throughput: a backlog of {worker['backlog']} jobs (written with the worker paused) drained in "
        f"{worker['drain_seconds']} s = **{worker['memories_per_second']} memories/s** in the caller's thread "
        f"(`drain`); left after: {worker['left']}. The worker thread, with the caller writing meanwhile: "
        f"{busy.get('queued')} jobs in {busy.get('worker_seconds')} s ({busy.get('memories_per_second')} memories/s). "
        f"Correctness run: {w['memories']} memories written in {c['write_seconds']} s; the final drain took "
        f"{c['final_drain_seconds']} s; backlog after it {c['backlog_after_drain']}.",
        "",
        "## Phrasings",
        "",
        f"Each (phrasing, attribute) pair checked on {p['label_samples']} renderings with "
        "`RuleExtractor().extract(text)` (random entities of the right kind and random values): covered when every "
        "one yields the entity, the key and the value.",
        "",
        "| phrasing | attribute | read right | covered | example | a failure |",
        "|---|---|---|---|---|---|",
    ]
    for lab in report["labels"]:
        ex = lab["example"].replace("\n", " ⏎ ")
        fail = lab["failed_example"].replace("\n", " ⏎ ")
        lines.append(
            f"| {lab['phrasing']} | {lab['attribute']} | {lab['read_right']}/{lab['samples']} | "
            f"{'yes' if lab['covered'] else 'no'} | `{ex}` | {'`' + fail + '`' if fail and fail != ex else ''} |"
        )
    examples = c["state"]["covered_not_correct_examples"]
    if examples:
        lines += ["", "## get_state misses whose last write was covered", ""]
        lines += [f"- {e}" for e in examples]
    fps = conf["false_positive_examples"]
    if fps:
        lines += ["", "## Conflict events that match no conflict of the truth", ""]
        lines += [f"- {e}" for e in fps]
    return "\n".join(lines) + "\n"


def _postgres_section(pg: Result | None, sqlite: Result) -> list[str]:
    """The PostgreSQL run beside the SQLite one (same workload, same manual clock)."""
    if pg is None:
        return []
    lines = ["## The same on PostgreSQL", ""]
    if "skipped" in pg:
        return [*lines, f"Skipped: {pg['skipped']}", ""]
    lines += [
        "The correctness run again on a fresh PostgreSQL schema (dropped afterwards).",
        "",
        "| figure | SQLite | PostgreSQL |",
        "|---|---|---|",
    ]

    def row(label: str, get: Any) -> None:
        lines.append(f"| {label} | {get(sqlite)} | {get(pg)} |")

    for group in ("covered", "not covered"):
        row(f"get_state correct / stale % ({group})", lambda r, g=group: _pair(r["state"]["outcomes"][g]))
        row(f"recall top-1 correct / stale % ({group})", lambda r, g=group: _pair(r["recall_hashing"]["outcomes"][g]))
    row("conflict events / precision %", lambda r: f"{r['conflicts']['events']} / {r['conflicts']['precision_pct']}")
    row(
        "conflict recall %, both writes read right",
        lambda r: r["conflicts"]["recall"]["both writes read right"]["recall_pct"],
    )
    row("supersessions / across scopes", lambda r: f"{r['supersessions']['supersessions']} / {_cross_scope(r)[0]}")
    row("current values from a foreign scope", lambda r: _cross_scope(r)[1])
    row("write seconds", lambda r: r["write_seconds"])
    row("audit chain verifies", lambda r: r["audit_chain_ok"])
    return [*lines, ""]


def _pair(s: Result) -> str:
    return f"{s['correct_pct']} / {s['stale_pct']}"


def plot(report: Result, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    c = report["correctness"]
    reads = [("get_state", c["state"]["outcomes"]), ("recall top-1\nhashing", c["recall_hashing"]["outcomes"])]
    if "outcomes" in report.get("model_recall", {}):
        reads.append(("recall top-1\nMiniLM", report["model_recall"]["outcomes"]))
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    labels, bottoms = [], []
    parts = {
        "correct_pct": "correct",
        "stale_pct": "stale",
        "overridden_pct": "overridden (wider scope)",
        "missing_pct": "missing",
        "other_pct": "other",
    }
    colors = {
        "correct_pct": "#4c9a2a",
        "stale_pct": "#d62728",
        "overridden_pct": "#9467bd",
        "missing_pct": "#ff7f0e",
        "other_pct": "#9e9e9e",
    }
    bars: dict[str, list[float]] = {k: [] for k in parts}
    for name, outcomes in reads:
        for group in ("covered", "not covered"):
            labels.append(f"{name}\n{group}")
            for k in parts:
                bars[k].append(outcomes[group][k])
    bottoms = [0.0] * len(labels)
    for k, label in parts.items():
        left.bar(range(len(labels)), bars[k], bottom=bottoms, label=label, color=colors[k])
        bottoms = [b + v for b, v in zip(bottoms, bars[k], strict=True)]
    left.set_xticks(range(len(labels)), labels, fontsize=7)
    left.set_ylabel("% of (entity, attribute, scope) checks")
    left.set_title("Current value after updates, by the phrasing of the last write")
    left.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=5)
    hist = report["latency"]["histogram"]
    for mode, label in (("off", "extraction off"), ("on", "extraction on")):
        p95 = report["latency"][mode]["p95_ms"]
        right.stairs(hist["counts"][mode], hist["edges_ms"], fill=True, alpha=0.5, label=f"{label} (p95 {p95} ms)")
    right.set_xlabel("remember latency, ms (SQLite file; tail above p99.5 cut)")
    right.set_ylabel("calls (log scale)")
    right.set_yscale("log")
    right.set_title("Caller's remember: extraction on vs off")
    right.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def workload_summary(workload: Sequence[Update]) -> Result:
    updates = [u for u in workload if u.entity is not None]
    covered = sum(1 for u in updates if u.covered)
    return {
        "memories": len(workload),
        "updates": len(updates),
        "noise": len(workload) - len(updates),
        "conflicts": sum(1 for u in updates if u.conflict),
        "corroborations": sum(1 for u in updates if u.prior is not None and not u.conflict),
        "entities": len({u.entity.name for u in updates if u.entity is not None}),
        "chains": len({u.chain for u in updates}),
        "authors": len({u.author for u in workload}),
        "covered_updates": covered,
        "covered_pct": _rate(covered, len(updates)),
        "read_right_updates": sum(1 for u in updates if u.read_right),
        "by_scope": dict(Counter(u.scope for u in updates)),
        "by_phrasing": dict(Counter(u.phrasing for u in updates)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--updates", type=int, default=1_200, help="attribute updates (default 1,200)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument("--rounds", type=int, default=2, help="latency rounds per mode (default 2)")
    parser.add_argument("--label-samples", type=int, default=40, help="renderings checked per phrasing (default 40)")
    parser.add_argument("--no-model", action="store_true", help="skip the recall run with the MiniLM model")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("MAAS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="PostgreSQL for the correctness run, in a fresh schema dropped afterwards "
        "(default $MAAS_BENCH_POSTGRES_URL, else the local test server)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="leave the PostgreSQL run out")
    parser.add_argument("--quick", action="store_true", help="300 updates, 1 latency round, no model run")
    parser.add_argument("--out", type=Path, default=None, help="folder for the outputs (default benchmarks/results)")
    args = parser.parse_args(argv)
    if args.quick:
        args.updates, args.rounds, args.no_model = 300, 1, True
    if args.no_postgres:
        args.postgres = None
    started = time.perf_counter()
    machine = base_machine_info("knowledge_bench", list(argv if argv is not None else sys.argv[1:]))
    machine["load_avg_1m_start"] = round(os.getloadavg()[0], 2)
    labels = label_phrasings(args.seed, args.label_samples)
    workload = generate(args.seed, args.updates, labels)
    report: Result = {
        "machine": machine,
        "params": {k: v for k, v in vars(args).items() if k not in ("out", "postgres")},
        "labels": list(labels.values()),
        "workload": workload_summary(workload),
    }
    with tempfile.TemporaryDirectory(prefix="maas-knowledge-") as tmp:
        print("knowledge_bench: correctness run (hashing embeddings) ...", file=sys.stderr)
        report["correctness"] = correctness_run(workload, args.seed, Path(tmp) / "correctness")
        if args.postgres:
            print("knowledge_bench: correctness run on PostgreSQL ...", file=sys.stderr)
            report["postgres"] = postgres_run(workload, args.seed, args.postgres, Path(tmp) / "pg-home")
        if not args.no_model:
            print("knowledge_bench: recall run with the MiniLM model ...", file=sys.stderr)
            report["model_recall"] = model_recall_run(workload, args.seed, Path(tmp))
        print("knowledge_bench: latency runs ...", file=sys.stderr)
        report["latency"] = latency_run(workload, Path(tmp), args.rounds, args.seed)
    machine["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["verdicts"] = verdicts(report)
    paths = write_report(
        report,
        args.out or RESULTS,
        name="knowledge_bench",
        page="knowledge_bench.md",
        render_markdown=render_markdown,
        write_plot=plot,
    )
    print(render_markdown(report, None).split("## Phrasings")[0])
    print("wrote", ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
