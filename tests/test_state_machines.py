"""Hypothesis state machines for what must never break: handoff lifecycle, scope isolation,
and the audit chain — each run against a simple model written from DESIGN.md §5."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import drop_postgres_schemas, postgres_url, require_postgres
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from maas_langchain import (
    AgentType,
    ConflictError,
    HandoffContext,
    HandoffStatus,
    MaaS,
    PermissionModel,
    SharedScope,
)

H = HandoffStatus
OPEN = {H.PENDING, H.ACCEPTED}
AGENT_KINDS = [AgentType.CLAUDE_CODE, AgentType.GPT_AGENT, AgentType.CUSTOM_PIPELINE]
RECEIVES = {AgentType.CLAUDE_CODE, AgentType.GPT_AGENT}


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _open(backend: str, clock: _Clock) -> MaaS:
    if backend == "postgres":
        require_postgres()
        folder = Path(tempfile.mkdtemp(prefix="maas-sm-pg-"))
        maas = MaaS.open(postgres_url(folder), clock=clock, sweep_interval=None)
        maas._test_folder = folder  # type: ignore[attr-defined]  # for schema cleanup in teardown
        return maas
    if backend == "memory":
        return MaaS.open(":memory:", clock=clock, sweep_interval=None)
    folder = Path(tempfile.mkdtemp(prefix="maas-sm-"))
    maas = MaaS.open(folder, clock=clock, sweep_interval=None)
    maas._test_dir = folder  # type: ignore[attr-defined]  # removed in teardown
    return maas


def _close(maas: MaaS) -> None:
    maas.close()
    folder = getattr(maas, "_test_folder", None)
    if folder is not None:
        drop_postgres_schemas(folder)
        shutil.rmtree(folder, ignore_errors=True)
    scratch = getattr(maas, "_test_dir", None)
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


class HandoffLifecycle(RuleBasedStateMachine):
    """Random initiates, transitions by random agents and clock jumps, against a model."""

    backend = "memory"

    @initialize()
    def setup(self) -> None:
        self.clock = _Clock()
        self.maas = _open(self.backend, self.clock)
        self.kinds = {}
        for kind in AGENT_KINDS * 2:
            self.kinds[self.maas.agents.register_agent(kind, owner_id="u")] = kind
        self.agents = list(self.kinds)
        self.model: dict[str, dict] = {}

    def teardown(self) -> None:
        _close(self.maas)

    def _effective(self, h: dict) -> HandoffStatus:
        if h["status"] in OPEN and self.clock.now >= h["expires"]:
            return H.EXPIRED
        return h["status"]

    @rule(src=st.integers(0, 5), dst=st.integers(0, 5), ttl=st.sampled_from([5.0, 50.0, 500.0]))
    def initiate(self, src: int, dst: int, ttl: float) -> None:
        s, d = self.agents[src], self.agents[dst]
        if s == d:
            return
        got = self.maas.handoffs.initiate_handoff(s, d, HandoffContext(task_description="t"), ttl_seconds=ttl)
        allowed = self.kinds[s] in RECEIVES and self.kinds[d] in RECEIVES  # both need handoff capabilities
        assert (got is not None) == allowed
        if got:
            self._mark_due_expired(target=d)  # initiating frees the target's expired slots first
            self.model[got] = {"src": s, "dst": d, "status": H.PENDING, "expires": self.clock.now + ttl}

    @precondition(lambda self: bool(self.model))
    @rule(
        pick=st.integers(0, 10_000),
        who=st.integers(0, 5),
        action=st.sampled_from(["accept", "reject", "complete", "cancel"]),
    )
    def transition(self, pick: int, who: int, action: str) -> None:
        hid = sorted(self.model)[pick % len(self.model)]
        h, agent = self.model[hid], self.agents[who]
        role = "src" if action == "cancel" else "dst"
        current = self._effective(h)
        legal_from = {"accept": {H.PENDING}, "complete": {H.ACCEPTED}}.get(action, OPEN)
        target = {"accept": H.ACCEPTED, "reject": H.REJECTED, "complete": H.COMPLETED, "cancel": H.CANCELLED}
        try:
            result = getattr(self.maas.handoffs, f"{action}_handoff")(hid, agent)
        except ConflictError:
            assert agent == h[role] and current not in legal_from
            if current is H.EXPIRED:  # an expired handoff found in use triggers a sweep at once
                self._mark_due_expired()
            return
        if agent != h[role]:
            assert result is False
            return
        assert result is True and current in legal_from
        h["status"] = target[action]

    @rule(seconds=st.sampled_from([1.0, 10.0, 100.0]))
    def advance(self, seconds: float) -> None:
        self.clock.now += seconds

    def _mark_due_expired(self, target: str | None = None) -> int:
        due = [
            h
            for h in self.model.values()
            if h["status"] in OPEN and self.clock.now >= h["expires"] and target in (None, h["dst"])
        ]
        for h in due:
            h["status"] = H.EXPIRED
        return len(due)

    @rule()
    def sweep(self) -> None:
        expired = self.maas.handoffs.expire_handoffs()
        assert expired == self._mark_due_expired()

    @invariant()
    def matches_the_model(self) -> None:
        for hid, h in self.model.items():
            got = self.maas.handoffs.get_handoff(hid)
            assert got is not None
            stored = got.status
            assert stored == h["status"] or (stored in OPEN and self._effective(h) is H.EXPIRED)
        for agent in self.agents:
            if self.kinds[agent] in RECEIVES:
                pending = {p.handoff_id for p in self.maas.handoffs.get_pending_handoffs(agent)}
                expected = {k for k, h in self.model.items() if h["dst"] == agent and self._effective(h) is H.PENDING}
                assert pending == expected

    @invariant()
    def audit_chain_holds(self) -> None:
        assert self.maas.audit.verify_chain().ok


class HandoffLifecycleSQLite(HandoffLifecycle):
    backend = "sqlite"


class HandoffLifecyclePostgres(HandoffLifecycle):
    backend = "postgres"


OWNERS, PROJECTS, TEAMS = ["alice", "bob"], ["apollo", "zeus", None], ["red", None]


def _visible(reader: dict, share: dict, max_scope: SharedScope) -> bool:
    """DESIGN.md §5 audiences, written independently of the library."""
    scope = share["scope"]
    if scope > max_scope:
        return False
    author = share["author"]
    return {
        SharedScope.AGENT_PRIVATE: reader["id"] == author["id"],
        SharedScope.USER: reader["owner"] == author["owner"],
        SharedScope.PROJECT: reader["project"] == author["project"],
        SharedScope.TEAM: reader["team"] == author["team"],
        SharedScope.GLOBAL: True,
    }[scope]


class ScopeIsolation(RuleBasedStateMachine):
    """Random agents, shares and queries: what comes back is exactly what the model allows."""

    @initialize()
    def setup(self) -> None:
        self.maas = _open("memory", _Clock())
        self.pool = self.maas.pools.create_pool("p", owner_id="alice", scope=SharedScope.GLOBAL)
        self.agents: list[dict] = []
        self.shares: list[dict] = []

    def teardown(self) -> None:
        self.maas.close()

    @rule(
        owner=st.sampled_from(OWNERS),
        project=st.sampled_from(PROJECTS),
        team=st.sampled_from(TEAMS),
        member=st.booleans(),
    )
    def register(self, owner: str, project: str | None, team: str | None, member: bool) -> None:
        agent_id = self.maas.agents.register_agent(AgentType.HUMAN, owner, project_id=project, team_id=team)
        if member:
            self.maas.pools.join_pool(self.pool, agent_id, PermissionModel.WRITE)
        self.agents.append({"id": agent_id, "owner": owner, "project": project, "team": team, "member": member})

    @precondition(lambda self: bool(self.agents))
    @rule(pick=st.integers(0, 1000), scope=st.sampled_from(list(SharedScope)))
    def share(self, pick: int, scope: SharedScope) -> None:
        author = self.agents[pick % len(self.agents)]
        memory_id = f"m{len(self.shares)}"
        assert self.maas.pools.share_memory(self.pool, memory_id, author["id"], scope) is author["member"]
        if author["member"]:
            self.shares.append({"id": memory_id, "author": author, "scope": scope})

    @precondition(lambda self: bool(self.agents))
    @rule(pick=st.integers(0, 1000), max_scope=st.sampled_from(list(SharedScope)), limit=st.integers(1, 20))
    def query(self, pick: int, max_scope: SharedScope, limit: int) -> None:
        reader = self.agents[pick % len(self.agents)]
        got = [m.memory_id for m in self.maas.pools.query_shared(self.pool, reader["id"], max_scope, limit=limit)]
        if not reader["member"]:
            assert got == []
            return
        allowed = [s["id"] for s in reversed(self.shares) if _visible(reader, s, max_scope)]
        assert got == allowed[:limit]


_SETTINGS = settings(
    max_examples=100, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestHandoffLifecycle = HandoffLifecycle.TestCase
TestHandoffLifecycle.settings = _SETTINGS
TestHandoffLifecycleSQLite = HandoffLifecycleSQLite.TestCase
TestHandoffLifecycleSQLite.settings = settings(_SETTINGS, max_examples=10)
TestHandoffLifecyclePostgres = pytest.mark.postgres(HandoffLifecyclePostgres.TestCase)
TestHandoffLifecyclePostgres.settings = settings(_SETTINGS, max_examples=8)
TestScopeIsolation = ScopeIsolation.TestCase
TestScopeIsolation.settings = settings(_SETTINGS, max_examples=50)
