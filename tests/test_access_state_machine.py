"""Hypothesis state machine for docs/security.md: dict-scope visibility, invitation-only pool
membership, and sharing only what the sharer may read.

Random principals (agents of two owners, some deactivated), dict scopes (partial ones that skip
keys, pattern-like and look-alike values), memories written through the trusted API and through
``MaaSClient`` sessions, pools, joins and leaves by random actors, shares and queries are run
against a small reference model written here from docs/security.md alone: nothing in this file
asks ``maas_langchain.core.access`` / ``policy`` / ``scopes`` what the expected answer is.

Two entry points: ``TestAccessStateMachine`` (fast, a few seconds) and
``TestAccessStateMachineLong`` (``slow``: at least 10,000 steps).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from maas_langchain import (
    AgentType,
    AuditEventType,
    ConflictError,
    InvalidInputError,
    MaaS,
    MaaSClient,
    MemoryStatus,
    PermissionDeniedError,
    PermissionModel,
    SharedScope,
)
from maas_langchain.embeddings import HashingEmbeddings

# --- the reference model (docs/security.md), independent of the package ----------------------

ORDER = ("org", "team", "project", "user", "agent")  # widest first
VALUES = {
    "org": ["acme", "globex", "\u0430cme", "*"],  # the third is a Cyrillic look-alike of "acme"
    "team": ["t1", "t2", "%", "%7C"],  # "%7C" is how "|" percent-escapes
    "project": ["p", "q", "a.b", "_", "a|b=c"],
    "user": ["alice", "bob", "*"],
    "agent": ["w1", "w2", "_"],
}
OWNERS = ["alice", "bob"]
TEAMS = ["t1", "t2", None]
PROJECTS = ["p", "q", None]
KINDS = [AgentType.CLAUDE_CODE, AgentType.CUSTOM_PIPELINE, AgentType.HUMAN]
CAPS = {  # the specification's table (DEFAULT_CAPABILITIES), restated
    AgentType.CLAUDE_CODE: {"read", "write"},
    AgentType.CUSTOM_PIPELINE: {"read"},
    AgentType.HUMAN: {"read", "write", "delete"},
}
PERMS = [PermissionModel.READ, PermissionModel.WRITE, PermissionModel.ADMIN]
RANK = {PermissionModel.READ: 0, PermissionModel.WRITE: 1, PermissionModel.ADMIN: 2}
LEVELS = [
    SharedScope.AGENT_PRIVATE,
    SharedScope.USER,
    SharedScope.PROJECT,
    SharedScope.TEAM,
    SharedScope.GLOBAL,
]  # narrowest first
LEVEL = {s: i for i, s in enumerate(LEVELS)}
TOP_K = 1000  # far more than any example writes: ranking never decides what comes back
QUERY = "note"

MAX_AGENTS, MAX_POOLS = 6, 3


def ordered(scope: dict[str, str]) -> list[str]:
    return [k for k in ORDER if k in scope]


def is_prefix(a: dict[str, str], b: dict[str, str]) -> bool:
    """A is an ancestor of (or equal to) B: B holds every pair of A, and every key B has beyond
    A lies below A's deepest key."""
    if not a:
        return False
    if any(b.get(k) != v for k, v in a.items()):
        return False
    deepest = max(ORDER.index(k) for k in a)
    return all(ORDER.index(k) > deepest for k in b if k not in a)


def visible(memory_scope: dict[str, str], query: dict[str, str], descendants: bool = True) -> bool:
    """A recall at ``query`` sees ``memory_scope``: inherited context, or (with descendants) below."""
    return is_prefix(memory_scope, query) or (descendants and is_prefix(query, memory_scope))


@dataclass
class MAgent:
    id: str
    kind: AgentType
    owner: str
    team: str | None
    project: str | None
    active: bool = True

    @property
    def own_scope(self) -> dict[str, str]:
        """``{team?, project?, user: owner, agent: id}`` (docs/security.md, agents without a key)."""
        scope = {"team": self.team, "project": self.project, "user": self.owner, "agent": self.id}
        return {k: v for k, v in scope.items() if v is not None}

    def can(self, cap: str) -> bool:
        return self.active and cap in CAPS[self.kind]


@dataclass
class MMemory:
    id: str
    content: str
    scope: dict[str, str]
    author: str | None
    status: MemoryStatus = MemoryStatus.ACTIVE


@dataclass
class MShare:
    memory_id: str
    author: MAgent
    level: SharedScope


@dataclass
class MPool:
    id: str
    owner: str
    scope: SharedScope
    members: dict[str, PermissionModel] = field(default_factory=dict)
    shares: dict[str, MShare] = field(default_factory=dict)


def may_read(agent: MAgent, memory: MMemory) -> bool:
    """Readable by the agent: it is the author, or the memory is visible from its own scope."""
    return memory.author == agent.id or visible(memory.scope, agent.own_scope)


def audience_admits(reader: MAgent, share: MShare, max_scope: SharedScope) -> bool:
    if LEVEL[share.level] > LEVEL[max_scope]:
        return False
    author = share.author
    return {
        SharedScope.AGENT_PRIVATE: reader.id == author.id,
        SharedScope.USER: reader.owner == author.owner,
        SharedScope.PROJECT: reader.project == author.project,  # as tests/test_state_machines.py
        SharedScope.TEAM: reader.team == author.team,
        SharedScope.GLOBAL: True,
    }[share.level]


# --- strategies -------------------------------------------------------------------------------

# a non-empty scope: one key always present, the others optional (no filtering, no retries)
FRESH = st.tuples(
    st.sampled_from(ORDER),
    st.integers(0, 9),
    st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in VALUES.items()}),
).map(lambda t: {t[0]: VALUES[t[0]][t[1] % len(VALUES[t[0]])], **t[2]})
MODES = ["fresh", "agent", "prefix", "extend", "skip", "mutate", "same"]
# (how to build it, which known scope to start from, a length, fresh values): known scopes are
# the stored memories' and the agents' own, so ancestors, descendants, siblings and partial
# scopes that skip a key of a known scope come up in most examples.
SCOPES = st.tuples(st.sampled_from(MODES), st.integers(0, 63), st.integers(0, 7), FRESH)
PICK = st.integers(0, 63)  # an index, taken modulo the number of agents, pools or memories
MAYBE = st.one_of(st.none(), PICK)  # None: the trusted orchestrator (about half the time)
ACTORS = st.sampled_from(["trusted", "itself", "other"])
AgentSpec = tuple[AgentType, str, str | None, str | None]  # kind, owner, team, project
AGENT_SPECS = st.tuples(
    st.sampled_from(KINDS), st.sampled_from(OWNERS), st.sampled_from(TEAMS), st.sampled_from(PROJECTS)
)


def _denial(exc: BaseException) -> bool:
    return isinstance(exc, PermissionDeniedError)


class AccessMachine(RuleBasedStateMachine):
    """Everything the model allows happens, nothing else does, and every read returns exactly
    what the model says is visible."""

    steps = 0  # rule executions over all examples (the long run reports it)

    @initialize(
        first=AGENT_SPECS, second=AGENT_SPECS, owner=st.sampled_from(OWNERS), level=st.sampled_from(LEVELS), admin=MAYBE
    )
    def setup(self, first: AgentSpec, second: AgentSpec, owner: str, level: SharedScope, admin: int | None) -> None:
        """A fresh store with two agents and one pool, so that pool rules apply from the first
        step (rules register more agents and pools)."""
        self.maas = MaaS.open(":memory:", embeddings=HashingEmbeddings(64), vectors="bruteforce", sweep_interval=None)
        self.client = MaaSClient(self.maas)
        self.agents: list[MAgent] = []
        self.pools: list[MPool] = []
        self.memories: dict[str, MMemory] = {}
        self.tokens = itertools.count()
        self._register(*first)
        self._register(*second)
        self._create_pool(owner, level, admin)
        type(self).steps -= 1  # the invariants' count after this initialisation is not a step

    def teardown(self) -> None:
        if hasattr(self, "maas"):
            self.maas.close()

    # --- helpers -----------------------------------------------------------------------------
    def _scope(self, spec: tuple[str, int, int, dict[str, str]]) -> dict[str, str]:
        mode, pick, length, fresh = spec
        bases = [m.scope for m in self.memories.values()] + [a.own_scope for a in self.agents]
        if mode == "fresh" or not bases:
            return dict(fresh)
        base = bases[pick % len(bases)]
        keys = ordered(base)
        if mode == "agent":  # an agent's own scope or one of its ancestors: what it may read
            base = self._agent(pick).own_scope
            keys = ordered(base)
            return {k: base[k] for k in keys[: 1 + length % len(keys)]}
        if mode == "same":
            return dict(base)
        if mode == "prefix":  # an ancestor (or itself)
            return {k: base[k] for k in keys[: 1 + length % len(keys)]}
        if mode == "extend":  # a descendant (or itself)
            deepest = ORDER.index(keys[-1])
            return {**base, **{k: v for k, v in fresh.items() if ORDER.index(k) > deepest}}
        if mode == "skip":  # a partial scope that leaves out one key (not the deepest)
            if len(keys) < 2:
                return dict(fresh)
            dropped = keys[length % (len(keys) - 1)]
            return {k: v for k, v in base.items() if k != dropped}
        # mutate: a sibling at one key
        key = keys[length % len(keys)]
        other = [v for v in VALUES[key] if v != base[key]]
        return {**base, key: other[pick % len(other)]}

    def _agent(self, pick: int) -> MAgent:
        return self.agents[pick % len(self.agents)]

    def _pool(self, pick: int) -> MPool:
        return self.pools[pick % len(self.pools)]

    def _actor(self, actor: str, target: MAgent, other: int) -> MAgent | None:
        return None if actor == "trusted" else target if actor == "itself" else self._agent(other)

    def _memory(self, agent: MAgent, which: str, pick: int) -> MMemory | None:
        """A stored memory: any, or one the model lets ``agent`` read (if there is one)."""
        ids = list(self.memories)  # written order: ids are random, so sorting them is not reproducible
        if which == "readable":
            ids = [i for i in ids if may_read(agent, self.memories[i])] or ids
        return self.memories[ids[pick % len(ids)]] if ids else None

    def _denied_rows(self) -> int:
        return len(self.maas.audit.query(event_type=AuditEventType.PERMISSION_DENIED, limit=10_000))

    def _check_denial_rows(self, before: int, denied: bool, op: str) -> None:
        added = self._denied_rows() - before
        assert added == (1 if denied else 0), f"{op}: {added} PERMISSION_DENIED audit rows, expected {int(denied)}"

    def _expect_recall(self, scope: dict[str, str], descendants: bool) -> set[str]:
        return {
            m.id
            for m in self.memories.values()
            if m.status is MemoryStatus.ACTIVE and visible(m.scope, scope, descendants)
        }

    def _register(self, kind: AgentType, owner: str, team: str | None, project: str | None) -> None:
        agent_id = self.maas.agents.register_agent(kind, owner_id=owner, team_id=team, project_id=project)
        self.agents.append(MAgent(agent_id, kind, owner, team, project))

    def _create_pool(self, owner: str, level: SharedScope, admin: int | None) -> None:
        agent = None if admin is None else self._agent(admin)
        if agent is not None and not agent.active:
            agent = None  # a deactivated agent is denied everything; not what this step is about
        pool_id = self.maas.pools.create_pool(
            f"pool-{len(self.pools)}", owner_id=owner, scope=level, admin_agent_id=None if agent is None else agent.id
        )
        pool = MPool(pool_id, owner, level)
        if agent is not None:
            pool.members[agent.id] = PermissionModel.ADMIN  # the creating agent joins as ADMIN
        self.pools.append(pool)

    # --- principals ----------------------------------------------------------------------------
    @precondition(lambda self: len(self.agents) < MAX_AGENTS)
    @rule(spec=AGENT_SPECS)
    def register(self, spec: AgentSpec) -> None:
        self._register(*spec)

    @rule(pick=PICK, active=st.booleans())
    def set_active(self, pick: int, active: bool) -> None:
        agent = self._agent(pick)
        if active:
            assert self.maas.agents.activate_agent(agent.id)
        else:
            assert self.maas.agents.deactivate_agent(agent.id)
        agent.active = active

    # --- memories: written through the trusted API or a MaaSClient session ----------------------
    @rule(
        spec=SCOPES,
        via=st.sampled_from(["api", "session"]),
        author=st.sampled_from(["none", "label", "agent"]),
        pick=PICK,
    )
    def write(self, spec: tuple[str, int, int, dict[str, str]], via: str, author: str, pick: int) -> None:
        scope = self._scope(spec)
        if author == "agent":
            author_id: str | None = self._agent(pick).id
        elif author == "label":
            author_id = "w1"  # a free-text author label (a session records its scope's agent)
        else:
            author_id = None
        content = f"{QUERY} k{next(self.tokens)}x"  # a unique token in every memory
        if via == "api":
            stored = self.maas.memories.remember(content, scope=scope, author_id=author_id)
        else:
            agent_id = None if author == "label" else author_id
            with self.client.sessions.create(scope=scope, agent_id=agent_id) as session:
                stored = session.remember(content)
                # a session's recall sees at its scope what the model says (its own write too)
                got = [item.memory_id for item in session.recall(QUERY, top_k=TOP_K).items]
            author_id = agent_id or scope.get("agent")
        assert stored.status is MemoryStatus.ACTIVE, stored
        assert stored.scope == scope and stored.content == content and stored.author_id == author_id
        self.memories[stored.memory_id] = MMemory(stored.memory_id, content, scope, author_id)
        if via == "session":
            assert len(got) == len(set(got)), "a memory came back twice"
            assert set(got) == self._expect_recall(scope, True), f"session recall at {scope}"

    @rule(spec=SCOPES, api=st.sampled_from(["recall", "history"]), descendants=st.booleans())
    def read(self, spec: tuple[str, int, int, dict[str, str]], api: str, descendants: bool) -> None:
        """recall: active memories at Q and its ancestors (and below, with descendants), never a
        sibling; history: the same in every status."""
        scope = self._scope(spec)
        if api == "recall":
            hits = self.maas.memories.recall(QUERY, scope=scope, top_k=TOP_K, descendants=descendants)
            found = [h.memory for h in hits]
            expected = self._expect_recall(scope, descendants)
        else:
            found = self.maas.memories.history(scope=scope, descendants=descendants)
            expected = {m.id for m in self.memories.values() if visible(m.scope, scope, descendants)}
        got = [m.memory_id for m in found]
        assert len(got) == len(set(got)), "a memory came back twice"
        extra, missing = set(got) - expected, expected - set(got)
        event(
            f"{api}: {'some' if expected else 'none'} visible, {'some' if len(expected) < len(self.memories) else 'none'} hidden"
        )
        assert not extra and not missing, (
            f"{api} at {scope} (descendants={descendants}): "
            f"unexpected {[self.memories[i].scope if i in self.memories else i for i in extra]}, "
            f"missing {[self.memories[i].scope for i in missing]}"
        )
        for m in found:
            assert m.content == self.memories[m.memory_id].content
            assert m.status is self.memories[m.memory_id].status

    @precondition(lambda self: bool(self.memories))
    @rule(actor=MAYBE, which=st.sampled_from(["any", "readable"]), pick=PICK)
    def forget(self, actor: int | None, which: str, pick: int) -> None:
        """Trusted forget always works; an agent must be able to read it and needs MEMORY_DELETE,
        except that its author may retract it with MEMORY_WRITE (docs/security.md)."""
        agent = None if actor is None else self._agent(actor)
        memory = self._memory(agent or self.agents[0], which, pick)
        assert memory is not None
        own = agent is not None and memory.author == agent.id
        allowed = agent is None or (agent.can("write" if own else "delete") and may_read(agent, memory))
        before = self._denied_rows()
        try:
            result = self.maas.memories.forget(memory.id, actor_id=None if agent is None else agent.id)
        except PermissionDeniedError:
            result = None
        was_live = memory.status is not MemoryStatus.DELETED
        event(f"forget: {'trusted' if agent is None else 'allowed' if allowed else 'denied'}")
        if allowed:
            who = "trusted" if agent is None else agent
            assert result is was_live, f"forget({memory}) by {who} returned {result}"
            memory.status = MemoryStatus.DELETED
        else:
            assert not result, f"{agent} forgot {memory}: the model denies it (readable, and MEMORY_DELETE or authorship with MEMORY_WRITE)"
        self._check_denial_rows(before, not allowed, "forget")

    # --- pools ---------------------------------------------------------------------------------
    @precondition(lambda self: len(self.pools) < MAX_POOLS)
    @rule(owner=st.sampled_from(OWNERS), level=st.sampled_from(LEVELS), admin=MAYBE)
    def create_pool(self, owner: str, level: SharedScope, admin: int | None) -> None:
        self._create_pool(owner, level, admin)

    @rule(
        op=st.sampled_from(["join", "join", "leave"]),  # joins twice as often: pools keep members
        pool=PICK,
        agent=PICK,
        perm=st.sampled_from(PERMS),
        actor=ACTORS,
        other=PICK,
    )
    def membership(self, op: str, pool: int, agent: int, perm: PermissionModel, actor: str, other: int) -> None:
        if op == "join":
            self._join(pool, agent, perm, actor, other)
        else:
            self._leave(pool, agent, actor, other)

    def _join(self, pool: int, agent: int, perm: PermissionModel, actor: str, other: int) -> None:
        """Invitation only: the trusted orchestrator or an active ADMIN of the pool."""
        p, target = self._pool(pool), self._agent(agent)
        by = self._actor(actor, target, other)
        allowed = target.active and (by is None or (by.active and p.members.get(by.id) is PermissionModel.ADMIN))
        before = self._denied_rows()
        try:
            result = self.maas.pools.join_pool(p.id, target.id, perm, actor_id=None if by is None else by.id)
        except PermissionDeniedError:
            result = False
        event(f"join: {actor} {'allowed' if allowed else 'denied'}")
        who = "trusted" if by is None else f"{by} (pool permission {p.members.get(by.id)})"
        assert result is allowed, (
            f"join_pool(pool of {p.owner}, {target}, {perm}) by {who}: got {result}, "
            f"expected {allowed} (target's permission was {p.members.get(target.id)})"
        )
        if allowed:
            p.members[target.id] = perm
        self._check_denial_rows(before, not allowed, "join_pool")

    def _leave(self, pool: int, agent: int, actor: str, other: int) -> None:
        """An agent may always leave by itself; removing another needs an active ADMIN."""
        p, target = self._pool(pool), self._agent(agent)
        by = self._actor(actor, target, other)
        member = target.id in p.members
        if by is target and not target.active:
            # "a deactivated agent is denied everything" and "an agent may always leave": the
            # rules do not say which wins, so only the stored membership is followed here.
            self.maas.pools.leave_pool(p.id, target.id, actor_id=target.id)
            if self.maas.pools.get_permission(p.id, target.id) is None:
                p.members.pop(target.id, None)
            return
        permitted = by is None or by is target or (by.active and p.members.get(by.id) is PermissionModel.ADMIN)
        before = self._denied_rows()
        try:
            result = self.maas.pools.leave_pool(p.id, target.id, actor_id=None if by is None else by.id)
        except PermissionDeniedError:
            result = False
        event(f"leave: {actor} {'allowed' if permitted else 'denied'}")
        assert result is (permitted and member), (
            f"leave_pool({target}) by {'trusted' if by is None else by}: got {result}, member={member}, "
            f"actor's permission {None if by is None else p.members.get(by.id)}"
        )
        if permitted:
            p.members.pop(target.id, None)
        self._check_denial_rows(before, not permitted, "leave_pool")

    # --- sharing -------------------------------------------------------------------------------
    @rule(
        pool=PICK,
        who=st.sampled_from(["member", "any"]),
        agent=PICK,
        which=st.sampled_from(["external", "any", "readable"]),
        pick=PICK,
        level=st.sampled_from(LEVELS),
    )
    def share(self, pool: int, who: str, agent: int, which: str, pick: int, level: SharedScope) -> None:
        """Needs MEMORY_WRITE, WRITE in the pool, a level no wider than the pool's and, for a
        stored memory, that the sharer may read it."""
        p = self._pool(pool)
        members = [a for a in self.agents if a.id in p.members]
        # aim at the pool's members (shares by others are plain denials), or at anyone
        sharer = members[agent % len(members)] if who == "member" and members else self._agent(agent)
        memory = None if which == "external" else self._memory(sharer, which, pick)
        memory_id = f"ext-{pick % 3}" if memory is None else memory.id  # external: no content
        perm = p.members.get(sharer.id)
        denied = not (sharer.can("write") and perm is not None and RANK[perm] >= RANK[PermissionModel.WRITE])
        ambiguous = False
        if memory is not None and not may_read(sharer, memory):
            denied = True
        elif memory is not None and memory.status is not MemoryStatus.ACTIVE and not denied:
            ambiguous = True  # a readable but forgotten memory: the rules name no outcome
        too_wide = LEVEL[level] > LEVEL[p.scope]
        existing = p.shares.get(memory_id)
        conflict = existing is not None and existing.author.id != sharer.id
        before = self._denied_rows()
        try:
            result: Any = self.maas.pools.share_memory(p.id, memory_id, sharer.id, level)
        except PermissionDeniedError:
            result = False
        except InvalidInputError as exc:
            assert too_wide, f"share_memory raised {exc!r}"
            result = "too_wide"
        except ConflictError as exc:
            assert conflict, f"share_memory raised {exc!r}"
            result = "conflict"
        context = (
            f"share_memory({'external ' + memory_id if memory is None else memory}, by {sharer} "
            f"(pool permission {perm}), level {level}, pool scope {p.scope})"
        )
        outcome = (
            "ambiguous"
            if ambiguous
            else "denied"
            if denied
            else "too wide"
            if too_wide
            else "conflict"
            if conflict
            else "allowed"
        )
        event(
            f"share: {'external' if memory is None else 'readable' if may_read(sharer, memory) else 'unreadable'} {outcome}"
        )
        if ambiguous:
            if result is True:
                p.shares[memory_id] = MShare(memory_id, sharer, level)
            return
        if denied or too_wide or conflict:
            assert result is not True, f"{context} succeeded; the model denies it"
            if denied and not too_wide and not conflict:
                self._check_denial_rows(before, True, "share_memory")
            return
        assert result is True, f"{context}: got {result}"
        self._check_denial_rows(before, False, "share_memory")
        p.shares[memory_id] = MShare(memory_id, sharer, level)

    def _expected_shares(self, p: MPool, reader: MAgent, max_scope: SharedScope) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for s in p.shares.values():
            if audience_admits(reader, s, max_scope):
                m = self.memories.get(s.memory_id)
                out[s.memory_id] = m.content if m is not None and m.status is MemoryStatus.ACTIVE else None
        return out

    def _query(self, p: MPool, reader: MAgent, max_scope: SharedScope) -> dict[str, str | None] | None:
        try:
            got = self.maas.pools.query_shared(p.id, reader.id, max_scope, limit=1000)
        except PermissionDeniedError:
            return None
        ids = [s.memory_id for s in got]
        assert len(ids) == len(set(ids))
        return {s.memory_id: s.content for s in got}

    @rule(pool=PICK, agent=PICK, max_scope=st.sampled_from(LEVELS))
    def query_shared(self, pool: int, agent: int, max_scope: SharedScope) -> None:
        p, reader = self._pool(pool), self._agent(agent)
        allowed = reader.can("read") and reader.id in p.members
        before = self._denied_rows()
        got = self._query(p, reader, max_scope)
        if not allowed:
            assert not got, f"query_shared by {reader} (not an active member) returned {got}"
        else:
            assert got == self._expected_shares(p, reader, max_scope), f"query_shared by {reader} at {max_scope}"
        self._check_denial_rows(before, not allowed, "query_shared")

    # --- invariants ----------------------------------------------------------------------------
    @invariant()
    def memberships_match(self) -> None:
        if not hasattr(self, "maas"):
            return
        type(self).steps += 1  # invariants run once after every step (and after setup)
        for p in self.pools:
            for a in self.agents:
                got = self.maas.pools.get_permission(p.id, a.id)
                assert got is p.members.get(a.id), f"permission of {a} in pool {p.id}: {got}"

    @invariant()
    def shared_content_only_from_readable_memories(self) -> None:
        """What every active member reads matches the model, and no content it gets comes from a
        memory whose share's author could not read it."""
        if not hasattr(self, "maas"):
            return
        by_content = {m.content: m for m in self.memories.values()}
        for p in self.pools:
            for a in self.agents:
                if not (a.can("read") and a.id in p.members):
                    continue
                got = self._query(p, a, SharedScope.GLOBAL)
                assert got == self._expected_shares(p, a, SharedScope.GLOBAL), f"query_shared by {a}"
                for mid, content in (got or {}).items():
                    if content is None:
                        continue
                    source = by_content[content]
                    author = p.shares[mid].author
                    assert may_read(author, source), f"{author} shared {source} it may not read"


_BASE = settings(
    deadline=None,
    report_multiple_bugs=False,  # shrink the first failure only: a failing run stays short
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

TestAccessStateMachine = AccessMachine.TestCase
TestAccessStateMachine.settings = settings(_BASE, max_examples=100, stateful_step_count=30)


class AccessMachineLong(AccessMachine):
    steps = 0


MIN_LONG_STEPS = 10_000


@pytest.mark.slow
@pytest.mark.timeout(600)
class TestAccessStateMachineLong(AccessMachineLong.TestCase):  # type: ignore[misc,valid-type]
    """The same machine for longer: 2,000 examples of up to 50 steps (Hypothesis runs ~45 on
    average), checked to add up to at least ``MIN_LONG_STEPS``."""

    settings = settings(_BASE, max_examples=2000, stateful_step_count=50)

    def runTest(self) -> None:
        AccessMachineLong.steps = 0
        super().runTest()
        print(f"access state machine: {AccessMachineLong.steps} steps")
        assert AccessMachineLong.steps >= MIN_LONG_STEPS, f"only {AccessMachineLong.steps} steps ran"
