"""The delegated grant of a handoff: its target reads what its source could read, no more, and
only while the handoff is open (docs/security.md, "Handoffs")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from maas_langchain import AgentType, AuditEventType, HandoffContext, MaaS, PermissionModel, SharedScope
from maas_langchain.embeddings import HashingEmbeddings


@pytest.fixture
def maas(tmp_path: Path) -> Iterator[MaaS]:
    m = MaaS.open(tmp_path / "m", vectors="bruteforce", embeddings=HashingEmbeddings(64), sweep_interval=None)
    yield m
    m.close()


def test_a_handoff_cannot_launder_a_memory_its_source_cannot_read(maas: MaaS) -> None:
    source = maas.agents.register_agent(AgentType.CLAUDE_CODE, "u1", project_id="p")
    target = maas.agents.register_agent(AgentType.CLAUDE_CODE, "u1", project_id="p")
    victim = maas.agents.register_agent(AgentType.CLAUDE_CODE, "u2", project_id="q")
    theirs = maas.memories.remember("u2's private plan", as_agent=victim)
    mine = maas.memories.remember("the source's own note", as_agent=source)
    context = HandoffContext("take over", relevant_memories=[theirs.memory_id, mine.memory_id])
    handoff = maas.handoffs.initiate_handoff(source, target, context)
    assert handoff is not None
    # while open: the source's own note is delegated, the victim's memory is not
    assert maas.memories.get(mine.memory_id, as_agent=target) is not None
    assert maas.memories.get(theirs.memory_id, as_agent=target) is None
    pool = maas.pools.create_pool("t", "u1", SharedScope.GLOBAL, admin_agent_id=target)
    assert maas.pools.share_memory(pool, theirs.memory_id, target, SharedScope.GLOBAL) is False  # a denial
    denials = maas.audit.query(event_type=AuditEventType.PERMISSION_DENIED)
    assert [d.action for d in denials] == ["get", "share"]  # the refused get, then the refused share
    assert all("no memory it can read has that id" in (d.reason or "") for d in denials)
    assert maas.pools.get_permission(pool, target) is PermissionModel.ADMIN
    # once the handoff ends, the grant ends
    assert maas.handoffs.cancel_handoff(handoff, source)
    assert maas.memories.get(mine.memory_id, as_agent=target) is None
