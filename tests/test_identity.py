"""DESIGN.md §5, identity and capabilities — on every backend."""

from __future__ import annotations

import uuid

import pytest

from maas_langchain import (
    DEFAULT_CAPABILITIES,
    AgentCapability,
    AgentType,
    AuditEventType,
    CapacityExceededError,
    ConflictError,
    HandoffContext,
    HandoffStatus,
    MaaS,
    PermissionDeniedError,
    PermissionModel,
    SharedScope,
)

C = AgentCapability
_READ_SEARCH = {C.MEMORY_READ, C.KB_SEARCH, C.DECISION_READ, C.INCIDENT_READ}
_FULL = _READ_SEARCH | {C.MEMORY_WRITE, C.HANDOFF_INITIATE, C.HANDOFF_RECEIVE}


@pytest.mark.parametrize(
    ("agent_type", "expected"),
    [
        (AgentType.CLAUDE_CODE, _FULL),
        (AgentType.GPT_AGENT, _FULL),
        (AgentType.CUSTOM_PIPELINE, _READ_SEARCH),
        (AgentType.HUMAN, _FULL | {C.MEMORY_DELETE}),
    ],
)
def test_default_capabilities_follow_the_specification_table(maas: MaaS, agent_type, expected) -> None:
    agent_id = maas.agents.register_agent(agent_type, owner_id="user-123")
    agent = maas.agents.get_agent(agent_id)
    assert agent is not None
    assert agent.capabilities == frozenset(expected) == DEFAULT_CAPABILITIES[agent_type]


def test_ids_are_128_bit_random_uuids(maas: MaaS) -> None:
    ids = {maas.agents.register_agent(AgentType.HUMAN, owner_id="u") for _ in range(50)}
    assert len(ids) == 50
    for agent_id in ids:
        parsed = uuid.UUID(agent_id)
        assert parsed.version == 4 and str(parsed) == agent_id


def test_enum_values_are_accepted_as_strings(maas: MaaS) -> None:
    agent_id = maas.agents.register_agent("gpt_agent", owner_id="u", capabilities=["memory_read", "KB_SEARCH"])
    agent = maas.agents.get_agent(agent_id)
    assert agent is not None
    assert agent.agent_type is AgentType.GPT_AGENT
    assert agent.capabilities == {C.MEMORY_READ, C.KB_SEARCH}


def test_scope_and_permission_orders(maas: MaaS) -> None:
    S = SharedScope
    assert S.AGENT_PRIVATE < S.USER < S.PROJECT < S.TEAM < S.GLOBAL
    assert PermissionModel.READ < PermissionModel.WRITE < PermissionModel.ADMIN
    assert sorted([S.GLOBAL, S.USER, S.AGENT_PRIVATE]) == [S.AGENT_PRIVATE, S.USER, S.GLOBAL]


def test_get_agents_for_user_returns_only_that_owner(maas: MaaS) -> None:
    mine = {maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="alice") for _ in range(3)}
    maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="bob")
    assert {a.agent_id for a in maas.agents.get_agents_for_user("alice")} == mine
    assert maas.agents.get_agents_for_user("nobody") == []


def _pool_with(maas: MaaS, *agents: str, permission=PermissionModel.WRITE) -> str:
    pool = maas.pools.create_pool("p", owner_id="u", scope=SharedScope.GLOBAL)
    for agent in agents:
        assert maas.pools.join_pool(pool, agent, permission)
    return pool


def test_capabilities_are_checked_on_every_operation(maas: MaaS) -> None:
    reader = maas.agents.register_agent(AgentType.CUSTOM_PIPELINE, owner_id="u")
    writer = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u")
    no_read = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u", capabilities=[C.MEMORY_WRITE])
    pool = _pool_with(maas, reader, writer, no_read)
    ctx = HandoffContext(task_description="t")
    # write: a read-only pipeline cannot share, even with WRITE permission in the pool
    assert maas.pools.share_memory(pool, "m1", reader, SharedScope.GLOBAL) is False
    assert maas.pools.share_memory(pool, "m2", writer, SharedScope.GLOBAL) is True
    # read: without MEMORY_READ nothing comes back
    assert maas.pools.query_shared(pool, no_read) == []
    # delete: needs MEMORY_DELETE, which only HUMAN has by default
    assert maas.pools.unshare_memory(pool, "m2", writer) is False
    # handoff initiate / receive
    assert maas.handoffs.initiate_handoff(reader, writer, ctx) is None
    assert maas.handoffs.initiate_handoff(writer, reader, ctx) is None
    denied = maas.audit.query(event_type=AuditEventType.PERMISSION_DENIED)
    assert [e.action for e in denied] == ["share", "query_shared", "unshare", "initiate", "initiate"]
    assert all(e.reason and "capability" in e.reason for e in denied)


def test_strict_mode_raises_with_the_reason(strict_maas: MaaS) -> None:
    reader = strict_maas.agents.register_agent(AgentType.CUSTOM_PIPELINE, owner_id="u")
    pool = _pool_with(strict_maas, reader)
    with pytest.raises(PermissionDeniedError, match="MEMORY_WRITE") as info:
        strict_maas.pools.share_memory(pool, "m", reader, SharedScope.GLOBAL)
    assert info.value.code == "permission_denied"


def test_deactivated_agent_loses_access_at_once(maas: MaaS) -> None:
    a = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u")
    b = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u")
    pool = _pool_with(maas, a, b)
    assert maas.pools.share_memory(pool, "m1", a, SharedScope.GLOBAL)
    handoff = maas.handoffs.initiate_handoff(a, b, HandoffContext(task_description="t"))
    assert maas.agents.deactivate_agent(b)
    assert maas.pools.query_shared(pool, b) == []
    assert maas.pools.share_memory(pool, "m2", b, SharedScope.GLOBAL) is False
    assert maas.handoffs.accept_handoff(handoff, b) is False
    assert maas.handoffs.get_pending_handoffs(b) == []
    assert maas.handoffs.initiate_handoff(a, b, HandoffContext(task_description="t2")) is None
    assert maas.agents.has_capability(b, C.MEMORY_READ) is False
    assert maas.agents.activate_agent(b)
    assert [m.memory_id for m in maas.pools.query_shared(pool, b)] == ["m1"]
    assert maas.handoffs.accept_handoff(handoff, b) is True


def test_unregister_cascades_and_a_reused_id_inherits_nothing(maas: MaaS) -> None:
    a = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u")
    b = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u")
    pool = _pool_with(maas, a, b)
    maas.pools.share_memory(pool, "m1", b, SharedScope.AGENT_PRIVATE)
    to_b = maas.handoffs.initiate_handoff(a, b, HandoffContext(task_description="to b"))
    from_b = maas.handoffs.initiate_handoff(b, a, HandoffContext(task_description="from b"))
    assert maas.agents.unregister_agent(b) is True
    assert maas.agents.get_agent(b) is None
    assert [m.agent_id for m in maas.pools.get_members(pool)] == [a]
    for h in (to_b, from_b):
        handoff = maas.handoffs.get_handoff(h)
        assert handoff is not None and handoff.status is HandoffStatus.CANCELLED
    assert maas.handoffs.get_pending_handoffs(a) == []
    # a newcomer under the same id: no membership, no handoffs, no access to the old private memory
    assert maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u", agent_id=b) == b
    assert maas.pools.get_permission(pool, b) is None
    assert maas.pools.query_shared(pool, b) == []
    assert maas.handoffs.get_pending_handoffs(b) == []
    assert {h.status for h in maas.handoffs.list_handoffs(b)} == {HandoffStatus.CANCELLED}
    with pytest.raises(ConflictError, match="CANCELLED"):
        maas.handoffs.accept_handoff(to_b, b)
    assert maas.agents.unregister_agent(str(uuid.uuid4())) is False


def test_registering_a_taken_id_is_a_conflict(maas: MaaS) -> None:
    a = maas.agents.register_agent(AgentType.HUMAN, owner_id="u")
    with pytest.raises(ConflictError):
        maas.agents.register_agent(AgentType.HUMAN, owner_id="v", agent_id=a)
    agent = maas.agents.get_agent(a)
    assert agent is not None and agent.owner_id == "u"


def test_agent_capacity_is_a_setting(open_maas) -> None:
    maas = open_maas(limits={"max_agents": 2})
    assert maas.limits.max_agents == 2
    maas.agents.register_agent(AgentType.HUMAN, owner_id="u")
    last = maas.agents.register_agent(AgentType.HUMAN, owner_id="u")
    with pytest.raises(CapacityExceededError) as info:
        maas.agents.register_agent(AgentType.HUMAN, owner_id="u")
    assert info.value.details["limit"] == 2
    assert maas.agents.unregister_agent(last)
    maas.agents.register_agent(AgentType.HUMAN, owner_id="u")  # capacity freed
    assert len(maas.agents.list_agents()) == 2


def test_returned_records_are_defensive_copies(maas: MaaS) -> None:
    meta = {"tags": ["a"], "nested": {"k": 1}}
    a = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u", metadata=meta)
    meta["tags"].append("mutated-input")
    agent = maas.agents.get_agent(a)
    assert agent is not None
    assert agent.metadata == {"tags": ["a"], "nested": {"k": 1}}
    agent.metadata["nested"]["k"] = 99
    again = maas.agents.get_agent(a)
    assert again is not None and again.metadata["nested"]["k"] == 1
    with pytest.raises(AttributeError):
        agent.owner_id = "someone-else"  # type: ignore[misc]
