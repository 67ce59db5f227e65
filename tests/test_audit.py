"""DESIGN.md §5, audit: durable, append-only, hash-chained, every denial with its reason."""

from __future__ import annotations

import sqlite3

import pytest

from maas_langchain import (
    AgentType,
    AuditEventType,
    HandoffContext,
    InvalidInputError,
    MaaS,
    MaaSAuditLogger,
    PermissionModel,
    SharedScope,
)


def _workflow(maas: MaaS) -> dict[str, str]:
    a = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u")
    b = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u")
    pipe = maas.agents.register_agent(AgentType.CUSTOM_PIPELINE, owner_id="u")
    pool = maas.pools.create_pool("p", owner_id="u", scope=SharedScope.PROJECT)
    for agent in (a, b, pipe):
        maas.pools.join_pool(pool, agent, PermissionModel.WRITE)
    maas.pools.share_memory(pool, "mem-1", a, SharedScope.PROJECT)
    maas.pools.share_memory(pool, "mem-2", pipe, SharedScope.PROJECT)  # denied: no MEMORY_WRITE
    maas.pools.query_shared(pool, b)
    h = maas.handoffs.initiate_handoff(a, b, HandoffContext(task_description="t"))
    assert h is not None
    maas.handoffs.accept_handoff(h, b)
    maas.handoffs.complete_handoff(h, b, {"ok": True})
    return {"a": a, "b": b, "pipe": pipe, "pool": pool, "handoff": h}


def test_every_specified_event_type_is_recorded_with_its_fields(maas: MaaS) -> None:
    ids = _workflow(maas)
    events = maas.audit.query()
    assert {e.event_type for e in events} == set(AuditEventType) - {
        AuditEventType.MEMORY_OPERATION
    }  # no memory written
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    for e in events:
        assert e.timestamp > 0 and e.action and e.outcome and len(e.hash) == 64
    (denied,) = maas.audit.query(event_type="PERMISSION_DENIED")
    assert denied.actor == ids["pipe"] and denied.target == ids["pool"] and denied.outcome == "denied"
    assert denied.action == "share" and "MEMORY_WRITE" in (denied.reason or "")
    (read,) = maas.audit.query(event_type=AuditEventType.CROSS_AGENT_READ)
    assert read.actor == ids["b"] and read.details["authors"] == [ids["a"]]
    assert [e.action for e in maas.audit.query(target=ids["handoff"])] == ["initiate", "accept", "complete"]
    assert [e.action for e in maas.audit.query(event_type="HANDOFF", actor=ids["a"])] == ["initiate"]


def test_queries_filter_and_order(maas: MaaS, clock) -> None:
    _workflow(maas)
    newest = maas.audit.query(newest_first=True, limit=2)
    assert [e.seq for e in newest] == [maas.audit.count(), maas.audit.count() - 1]
    clock.advance(1000)
    maas.audit.log("AGENT_AUTH", "session_start", actor="orchestrator", details={"client": "mcp"})
    recent = maas.audit.query(since=clock.now)
    assert [(e.action, e.details) for e in recent] == [("session_start", {"client": "mcp"})]
    with pytest.raises(InvalidInputError):
        maas.audit.query(event_type="NOT_A_TYPE")
    with pytest.raises(InvalidInputError):
        maas.audit.query(limit=0)


def test_the_chain_verifies(maas: MaaS) -> None:
    _workflow(maas)
    report = maas.audit.verify_chain()
    assert report.ok and report.checked == maas.audit.count() > 10


def test_failed_operations_leave_no_state_but_an_audit_entry(maas: MaaS) -> None:
    a = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u")
    pool = maas.pools.create_pool("p", owner_id="u", scope=SharedScope.USER)
    maas.pools.join_pool(pool, a, PermissionModel.WRITE)
    counts = maas.status()["counts"]
    with pytest.raises(InvalidInputError):
        maas.pools.share_memory(pool, "m", a, SharedScope.GLOBAL)  # wider than the pool
    assert maas.pools.query_shared(pool, a) == []
    after = maas.status()["counts"]
    assert after["audit_events"] == counts["audit_events"] + 1
    assert {k: v for k, v in after.items() if k != "audit_events"} == {
        k: v for k, v in counts.items() if k != "audit_events"
    }
    (failure,) = maas.audit.query(outcome="invalid_input")
    assert failure.action == "share" and "wider than pool" in (failure.reason or "")


def test_audit_can_be_turned_off(open_maas) -> None:
    maas = open_maas(audit=False)
    _workflow(maas)
    assert maas.audit.count() == 0 and maas.audit.verify_chain().ok


def test_default_logger_reads_the_default_instance() -> None:
    registry_maas = MaaS.default()
    registry_maas.agents.register_agent(AgentType.HUMAN, owner_id="u")
    assert [e.action for e in MaaSAuditLogger().query()] == ["register"]


def _db(maas: MaaS) -> sqlite3.Connection:
    return sqlite3.connect(maas.backend.location, isolation_level=None)


def test_sqlite_audit_log_is_append_only(tmp_path) -> None:
    with MaaS.open(tmp_path, sweep_interval=None) as maas:
        _workflow(maas)
        conn = _db(maas)
        for statement in ("UPDATE audit_log SET outcome = 'success' WHERE seq = 1", "DELETE FROM audit_log"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)
        conn.close()
        assert maas.audit.verify_chain().ok


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ("UPDATE audit_log SET reason = 'nothing to see' WHERE event_type = 'PERMISSION_DENIED'", "content"),
        ("DELETE FROM audit_log WHERE seq = 3", "missing"),
        ("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)", "chain head"),
    ],
)
def test_tampering_with_the_file_is_detected(tmp_path, tamper: str, problem: str) -> None:
    with MaaS.open(tmp_path, sweep_interval=None) as maas:
        _workflow(maas)
        conn = _db(maas)
        conn.execute("DROP TRIGGER audit_log_no_update")  # an attacker with file access
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute(tamper)
        conn.close()
        report = maas.audit.verify_chain()
        assert not report.ok and problem in (report.problem or "")


def test_audit_survives_a_restart(tmp_path) -> None:
    with MaaS.open(tmp_path, sweep_interval=None) as maas:
        _workflow(maas)
        before = [(e.seq, e.hash) for e in maas.audit.query()]
    with MaaS.open(tmp_path, sweep_interval=None) as maas:
        assert [(e.seq, e.hash) for e in maas.audit.query()] == before
        maas.agents.register_agent(AgentType.HUMAN, owner_id="u")
        assert maas.audit.verify_chain().ok
