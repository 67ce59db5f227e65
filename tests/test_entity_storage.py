"""The entity storage port (``core/ports/entities.py``) on every state backend: the in-memory
reference, SQLite and PostgreSQL must agree on names, facts, scope filtering, rollback and the
extraction backlog."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import postgres_url, require_postgres

from maas_langchain.core.entity_types import EntityRecord, FactRecord
from maas_langchain.core.ports.entities import ExtractionJob, FactLinks
from maas_langchain.core.ports.state import NewMemory, StateBackend, StateTx
from maas_langchain.core.records import Memory
from maas_langchain.core.scopes import ScopeHierarchy

H = ScopeHierarchy()
ORG = {"org": "acme"}
PROJ_A = {"org": "acme", "project": "a"}
AGENT_W1 = {"org": "acme", "project": "a", "agent": "w1"}
PROJ_B = {"org": "acme", "project": "b"}
OTHER = {"org": "other"}


def _open(kind: str, tmp_path: Path) -> StateBackend:
    if kind == "memory":
        from maas_langchain.backends.memory import MemoryBackend

        return MemoryBackend()
    if kind == "sqlite":
        from maas_langchain.backends.sqlite import SQLiteBackend

        return SQLiteBackend(tmp_path / "entities.db")
    require_postgres()
    from maas_langchain.backends.postgres import PostgresBackend

    return PostgresBackend(postgres_url(tmp_path))


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateBackend]:
    opened = _open(str(request.param), tmp_path)
    yield opened
    opened.close()


_ids = itertools.count(1)


def _memory(tx: StateTx, scope: dict[str, str]) -> Memory:
    """A real memory, so the SQL backends have its ``memory_scopes`` rows."""
    memory = Memory(f"m{next(_ids):04d}", "some text", "knowledge", dict(scope), 100.0, valid_from=100.0)
    new = NewMemory(memory, None, "some text", H.canon(scope), H.prefixes(scope), None, False)
    return tx.insert_memory(new)


def _entity(
    entity_id: str, scope: dict[str, str], name: str, *aliases: str, entity_type: str = "Thing"
) -> EntityRecord:
    return EntityRecord(entity_id, H.canon(scope), dict(scope), entity_type, name, tuple(aliases), 10.0)


def _fact(fact_id: str, memory: Memory, entity_id: str = "e1", chain: str = "c1", **kw: Any) -> FactRecord:
    fields: dict[str, Any] = {
        "fact_id": fact_id,
        "entity_id": entity_id,
        "kind": "attribute",
        "key": "plan",
        "value": "Gold",
        "value_norm": "gold",
        "chain": chain,
        "memory_id": memory.memory_id,
        "memory_seq": memory.seq,
        "scope_key": H.canon(memory.scope),
        "valid_from": memory.created_at,
        "recorded_at": memory.created_at + 1,
        **kw,
    }
    return FactRecord(**fields)


# --- entities -------------------------------------------------------------------------------
def test_an_entity_is_found_by_its_name_and_each_alias_within_its_scope(backend: StateBackend) -> None:
    acme = _entity("e1", ORG, "Acme Corp", "ACME", "Acme Inc", entity_type="Company")
    with backend.transaction(write=True) as tx:
        tx.insert_entity(acme, ["acme corp", "acme", "acme inc", "acme"])
    with backend.transaction(write=False) as tx:
        for norm in ("acme corp", "acme", "acme inc"):
            assert tx.find_entity(H.canon(ORG), norm) == acme
        assert tx.find_entity(H.canon(ORG), "acme co") is None
        assert tx.find_entity(H.canon(PROJ_A), "acme") is None  # names are per scope
        assert tx.get_entities(["nope", "e1", "e1"]) == [acme]


def test_get_entities_keeps_the_order_asked_and_reads_past_one_chunk(backend: StateBackend) -> None:
    entities = [_entity(f"e{i:04d}", ORG, f"thing {i}") for i in range(1200)]
    with backend.transaction(write=True) as tx:
        for entity in entities:
            tx.insert_entity(entity, [entity.name])
    wanted = [e.entity_id for e in reversed(entities)] + ["unknown"]
    with backend.transaction(write=False) as tx:
        assert tx.get_entities(wanted) == list(reversed(entities))
        assert tx.get_entities([]) == []


def test_a_norm_another_entity_owns_is_never_stolen(backend: StateBackend) -> None:
    first = _entity("e1", ORG, "Acme Corp", "ACME")
    second = _entity("e2", ORG, "Acme Inc")
    elsewhere = _entity("e3", PROJ_A, "Acme")
    with backend.transaction(write=True) as tx:
        tx.insert_entity(first, ["acme corp", "acme"])
        tx.insert_entity(second, ["acme inc", "acme"])  # "acme" is taken: it stays e1's
        tx.insert_entity(elsewhere, ["acme"])  # another scope: no conflict
    with backend.transaction(write=False) as tx:
        assert tx.find_entity(H.canon(ORG), "acme") == first
        assert tx.find_entity(H.canon(ORG), "acme inc") == second
        assert tx.find_entity(H.canon(PROJ_A), "acme") == elsewhere

    renamed = EntityRecord("e2", H.canon(ORG), dict(ORG), "Company", "Acme Inc", ("ACME Corp", "BigCo"), 10.0)
    with backend.transaction(write=True) as tx:
        tx.update_entity(renamed, ["acme corp", "bigco", "acme inc"])
    with backend.transaction(write=False) as tx:
        assert tx.find_entity(H.canon(ORG), "acme corp") == first
        assert tx.find_entity(H.canon(ORG), "bigco") == renamed
        assert tx.find_entity(H.canon(ORG), "acme inc") == renamed
        assert tx.get_entities(["e2"]) == [renamed]  # type and aliases replaced

    with backend.transaction(write=True) as tx:  # an unknown entity is left alone, claiming nothing
        tx.update_entity(_entity("ghost", ORG, "Ghost"), ["ghost"])
    with backend.transaction(write=False) as tx:
        assert tx.find_entity(H.canon(ORG), "ghost") is None
        assert tx.get_entities(["ghost"]) == []


# --- facts ----------------------------------------------------------------------------------
def test_a_fact_round_trips_every_field(backend: StateBackend) -> None:
    with backend.transaction(write=True) as tx:
        memory = _memory(tx, PROJ_A)
        full = _fact(
            "f1",
            memory,
            kind="relation",
            key="uses",
            value="Postgres",
            value_norm="postgres",
            agent_id="w1",
            session_id="s1",
            object_id="e9",
            negated=True,
            status="negation",
            valid_to=250.5,
            supersedes="f0",
            superseded_by="f2",
            corroborates="f3",
            extra={"confidence": 0.75, "source": ["llm", 2], "nested": {"a": None}},
        )
        bare = _fact("f2", memory)
        tx.insert_fact(full)
        tx.insert_fact(bare)
    with backend.transaction(write=False) as tx:
        assert tx.chain_facts("c1") == [full, bare]
        assert tx.chain_facts("nothing") == []


def test_a_chain_is_ordered_by_memory_seq_then_fact_id(backend: StateBackend) -> None:
    with backend.transaction(write=True) as tx:
        m1, m2, m3 = (_memory(tx, ORG) for _ in range(3))
        for fact in (_fact("f9", m3), _fact("fb", m2), _fact("fa", m2), _fact("f5", m1), _fact("x1", m1, chain="c2")):
            tx.insert_fact(fact)
    with backend.transaction(write=False) as tx:
        assert [f.fact_id for f in tx.chain_facts("c1")] == ["f5", "fa", "fb", "f9"]
        assert [f.fact_id for f in tx.chain_facts("c2")] == ["x1"]


def test_set_fact_links_rewrites_only_the_links(backend: StateBackend) -> None:
    with backend.transaction(write=True) as tx:
        m1, m2 = _memory(tx, ORG), _memory(tx, ORG)
        old, new = _fact("f1", m1), _fact("f2", m2, value="Silver", value_norm="silver")
        tx.insert_fact(old)
        tx.insert_fact(new)
    with backend.transaction(write=True) as tx:
        tx.set_fact_links("f1", FactLinks("superseded", 200.0, None, "f2", None))
        tx.set_fact_links("f2", FactLinks("current", None, "f1", None, None))
        tx.set_fact_links("unknown", FactLinks("retracted", 1.0, None, None, None))  # no row: nothing
    with backend.transaction(write=False) as tx:
        got = tx.chain_facts("c1")
    assert got[0] == FactRecord(**{**old.__dict__, "status": "superseded", "valid_to": 200.0, "superseded_by": "f2"})
    assert got[1] == FactRecord(**{**new.__dict__, "supersedes": "f1"})
    with backend.transaction(write=True) as tx:
        tx.set_fact_links("f1", FactLinks("corroborates", None, None, None, "f2"))
    with backend.transaction(write=False) as tx:
        assert tx.chain_facts("c1")[0] == FactRecord(**{**old.__dict__, "status": "corroborates", "corroborates": "f2"})


def test_facts_of_memories_reads_every_fact_of_those_memories(backend: StateBackend) -> None:
    with backend.transaction(write=True) as tx:
        memories = [_memory(tx, ORG) for _ in range(600)]
        for i, memory in enumerate(memories):
            tx.insert_fact(_fact(f"f{i:04d}", memory, chain=f"c{i % 7}", status="retracted" if i % 2 else "current"))
        tx.insert_fact(_fact("extra", memories[3], chain="other"))
    wanted = [m.memory_id for m in reversed(memories[:550])]  # more than one IN chunk
    with backend.transaction(write=False) as tx:
        got = tx.facts_of_memories(wanted)
        assert [f.fact_id for f in got] == [
            *(f"f{i:04d}" for i in range(3)),
            "extra",
            "f0003",
            *(f"f{i:04d}" for i in range(4, 550)),
        ]
        assert {f.status for f in got} == {"current", "retracted"}  # any status
        assert tx.facts_of_memories([]) == [] and tx.facts_of_memories(["unknown"]) == []


# --- scope ----------------------------------------------------------------------------------
def _scoped_world(backend: StateBackend) -> dict[str, str]:
    """One fact per scope (org, project a, its agent w1, sibling project b, another org) and a
    second entity's fact at project a; returns fact id -> scope name."""
    placed = {"f_org": ORG, "f_a": PROJ_A, "f_w1": AGENT_W1, "f_b": PROJ_B, "f_other": OTHER}
    with backend.transaction(write=True) as tx:
        for fact_id, scope in placed.items():
            tx.insert_fact(_fact(fact_id, _memory(tx, scope), status="superseded" if fact_id == "f_a" else "current"))
        tx.insert_fact(_fact("g_a", _memory(tx, PROJ_A), entity_id="e2", chain="c2"))
    return {k: H.canon(v) for k, v in placed.items()}


def test_scoped_facts_follow_the_memory_scope_rules(backend: StateBackend) -> None:
    _scoped_world(backend)
    with backend.transaction(write=False) as tx:
        below = tx.scoped_facts(H.filter(PROJ_A))  # ancestors, itself and descendants; any status
        assert [f.fact_id for f in below] == ["f_org", "f_a", "f_w1", "g_a"]
        assert [f.fact_id for f in tx.scoped_facts(H.filter(PROJ_A, descendants=False))] == ["f_org", "f_a", "g_a"]
        assert [f.fact_id for f in tx.scoped_facts(H.filter(AGENT_W1))] == ["f_org", "f_a", "f_w1", "g_a"]
        assert [f.fact_id for f in tx.scoped_facts(H.filter(PROJ_B))] == ["f_org", "f_b"]  # siblings never
        assert [f.fact_id for f in tx.scoped_facts(H.filter(ORG))] == ["f_org", "f_a", "f_w1", "f_b", "g_a"]
        assert [f.fact_id for f in tx.scoped_facts(H.filter(ORG, descendants=False))] == ["f_org"]
        assert [f.fact_id for f in tx.scoped_facts(H.filter(OTHER))] == ["f_other"]
        assert [f.fact_id for f in tx.scoped_facts(H.filter({"org": "nobody"}))] == []


def test_scoped_facts_by_entity_and_limit(backend: StateBackend) -> None:
    _scoped_world(backend)
    scope = H.filter(ORG)
    with backend.transaction(write=False) as tx:
        assert [f.fact_id for f in tx.scoped_facts(scope, entity_ids=["e2"])] == ["g_a"]
        assert [f.fact_id for f in tx.scoped_facts(scope, entity_ids=["e2", "e1", "e1"])] == [
            "f_org",
            "f_a",
            "f_w1",
            "f_b",
            "g_a",
        ]
        assert tx.scoped_facts(scope, entity_ids=[]) == []
        assert tx.scoped_facts(scope, entity_ids=["nobody"]) == []
        # a limit keeps the newest rows (the current values), returned oldest first
        assert [f.fact_id for f in tx.scoped_facts(scope, limit=2)] == ["f_b", "g_a"]
        assert [f.fact_id for f in tx.scoped_facts(scope, entity_ids=["e1", "e2"], limit=4)] == [
            "f_a",
            "f_w1",
            "f_b",
            "g_a",
        ]
        many = [f"x{i}" for i in range(700)] + ["e2"]  # more than one IN chunk
        assert [f.fact_id for f in tx.scoped_facts(scope, entity_ids=many)] == ["g_a"]


# --- transactions ---------------------------------------------------------------------------
class _Boom(Exception):
    pass


def test_a_rolled_back_transaction_leaves_nothing(backend: StateBackend) -> None:
    kept = _entity("e1", ORG, "Acme", "ACME")
    with backend.transaction(write=True) as tx:
        memory = _memory(tx, ORG)
        tx.insert_entity(kept, ["acme"])
        tx.insert_fact(_fact("f1", memory))
        tx.enqueue_extraction(ExtractionJob(memory.memory_id, memory.seq, 1.0))
    before_jobs = [ExtractionJob(memory.memory_id, memory.seq, 1.0)]

    with pytest.raises(_Boom), backend.transaction(write=True) as tx:
        other = _memory(tx, ORG)
        tx.insert_entity(_entity("e2", ORG, "Globex"), ["globex"])
        tx.update_entity(_entity("e1", ORG, "Acme", "ACME", "Acme Corp", entity_type="Company"), ["acme corp"])
        tx.insert_fact(_fact("f2", other))
        tx.set_fact_links("f1", FactLinks("superseded", 5.0, None, "f2", None))
        tx.enqueue_extraction(ExtractionJob(other.memory_id, other.seq, 2.0))
        assert tx.finish_extraction(memory.memory_id, "bad output", 1)
        assert tx.count_extractions() == (1, 1)
        raise _Boom

    with backend.transaction(write=False) as tx:
        assert tx.find_entity(H.canon(ORG), "globex") is None
        assert tx.find_entity(H.canon(ORG), "acme corp") is None
        assert tx.get_entities(["e1", "e2"]) == [kept]
        assert tx.chain_facts("c1") == [_fact("f1", memory)]
        assert tx.pending_extractions(10, include_failed=True) == before_jobs
        assert tx.count_extractions() == (1, 0)


# --- the extraction backlog -----------------------------------------------------------------
def test_the_extraction_backlog(backend: StateBackend) -> None:
    with backend.transaction(write=False) as tx:
        assert tx.count_extractions() == (0, 0)
        assert tx.pending_extractions(10) == []
    with backend.transaction(write=True) as tx:
        tx.enqueue_extraction(ExtractionJob("m3", 3, 30.0))
        tx.enqueue_extraction(ExtractionJob("m1", 1, 10.0))
        tx.enqueue_extraction(ExtractionJob("m2", 2, 20.0, attempts=0, state="failed", error="ignored"))
    with backend.transaction(write=True) as tx:
        assert [j.memory_id for j in tx.pending_extractions(10)] == ["m1", "m2", "m3"]  # oldest memory first
        assert tx.pending_extractions(2) == [ExtractionJob("m1", 1, 10.0), ExtractionJob("m2", 2, 20.0)]
        assert tx.count_extractions() == (3, 0)

        assert tx.finish_extraction("m1", "model timed out", 1) is True
        assert tx.finish_extraction("m2", None, 1) is True  # done: the row is gone
        assert tx.count_extractions() == (1, 1)
        assert tx.pending_extractions(10) == [ExtractionJob("m3", 3, 30.0)]
        assert tx.pending_extractions(10, include_failed=True) == [
            ExtractionJob("m1", 1, 10.0, 1, "failed", "model timed out"),
            ExtractionJob("m3", 3, 30.0),
        ]

        assert tx.pending_extraction_ids(["m1", "m2", "m3", "unknown", "m3"]) == {"m3"}  # pending only
        assert tx.pending_extraction_ids([]) == set()
        assert tx.finish_extraction("m2", None, 2) is False  # another worker finished it
        assert tx.finish_extraction("unknown", "boom", 1) is False  # no job: nothing created
        assert tx.count_extractions() == (1, 1)

        assert tx.finish_extraction("m1", "still failing", 2) is True  # a failed job may fail again
        assert tx.pending_extractions(10, include_failed=True)[0] == ExtractionJob(
            "m1", 1, 10.0, 2, "failed", "still failing"
        )

        # re-enqueueing resets the job to pending as given: the error goes, attempts are the job's
        tx.enqueue_extraction(ExtractionJob("m1", 1, 40.0))
        tx.enqueue_extraction(ExtractionJob("m3", 3, 41.0, attempts=2))
    with backend.transaction(write=False) as tx:
        assert tx.pending_extractions(10) == [ExtractionJob("m1", 1, 40.0), ExtractionJob("m3", 3, 41.0, 2)]
        assert tx.count_extractions() == (2, 0)
        assert tx.pending_extraction_ids([f"x{i}" for i in range(700)] + ["m1", "m3"]) == {"m1", "m3"}
