"""An independent reference model of docs/security.md, for tests/test_access_matrix.py.

Written from the rules in docs/security.md only: it imports nothing from ``maas_langchain``
and copies no logic from ``core/access.py``, ``core/policy.py`` or ``core/scopes.py``. Everything here is plain data: agents, memories, pools, shares, handoffs,
threads and store items are described by small dataclasses, and each ``may_*`` / ``visible_*``
function answers one question of the doc:

* dict scopes: ``is_prefix(a, b)`` — A is an ancestor-or-self of B only if A is a prefix of B in
  hierarchy order (B has every pair of A, and every extra key of B lies below A's deepest key);
* recall at Q: memories whose scope is a prefix of Q, and (descendants) those Q is a prefix of;
* key floors / agents' own scopes: a scope S is usable iff F is a prefix of S (same / narrower),
  or S is a proper prefix of F (ancestor: recall without descendants);
* memories by id: author, or scope visible from the reader's own scope (or floor), or an open
  handoff to the reader listing it;
* pools: invitation only (ADMIN or the trusted orchestrator), share needs MEMORY_WRITE + WRITE +
  readable memory, query_shared audiences;
* store namespaces, handoff parties and grants, thread owners, KB_SEARCH.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

HIERARCHY: tuple[str, ...] = ("org", "team", "project", "user", "agent")

# capabilities (the doc's names, lower case as the enum values)
READ, WRITE, DELETE, KB, H_INIT, H_RECV = (
    "memory_read",
    "memory_write",
    "memory_delete",
    "kb_search",
    "handoff_initiate",
    "handoff_receive",
)
FULL = frozenset({READ, WRITE, KB, "decision_read", "incident_read", H_INIT, H_RECV})
TYPE_CAPS = {
    "claude_code": FULL,
    "gpt_agent": FULL,
    "custom_pipeline": frozenset({READ, KB, "decision_read", "incident_read"}),
    "human": FULL | {DELETE},
}

PERM_ORDER = {"read": 0, "write": 1, "admin": 2}
LEVELS = ("agent_private", "user", "project", "team", "global")  # narrowest first
LEVEL_ORDER = {name: i for i, name in enumerate(LEVELS)}

Scope = Mapping[str, str]


# --- dict scopes --------------------------------------------------------------------------------
def depth(key: str) -> int:
    return HIERARCHY.index(key)


def is_prefix(a: Scope, b: Scope) -> bool:
    """A is an ancestor of B or B itself: B has every pair of A and every extra key of B lies
    below A's deepest key (an empty A is nobody's prefix)."""
    if not a:
        return False
    if any(b.get(k) != v for k, v in a.items()):
        return False
    deepest = max(depth(k) for k in a)
    return all(depth(k) > deepest for k in b if k not in a)


def visible_at(memory_scope: Scope, query: Scope, *, descendants: bool = True) -> bool:
    """The recall rule: the memory's scope is a prefix of Q (Q or an ancestor), or (with
    descendants) Q is a prefix of the memory's scope. Never a sibling."""
    return is_prefix(memory_scope, query) or (descendants and is_prefix(query, memory_scope))


def floor_relation(floor: Scope, scope: Scope) -> str | None:
    """``"same"``, ``"narrower"``, ``"ancestor"`` or None (rejected) for a scope under a floor."""
    if dict(floor) == dict(scope):
        return "same"
    if is_prefix(floor, scope):
        return "narrower"
    if is_prefix(scope, floor):
        return "ancestor"
    return None


# --- the world ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AgentRec:
    agent_id: str
    owner: str
    project: str | None = None
    team: str | None = None
    agent_type: str = "gpt_agent"
    caps: frozenset[str] | None = None  # None: the type's defaults
    active: bool = True
    registered: bool = True

    @property
    def capabilities(self) -> frozenset[str]:
        return TYPE_CAPS[self.agent_type] if self.caps is None else self.caps

    def can(self, cap: str) -> bool:
        return self.registered and self.active and cap in self.capabilities

    def own_scope(self) -> dict[str, str]:
        """``{team?, project?, user: owner, agent: id}`` in hierarchy order."""
        values = {"team": self.team, "project": self.project, "user": self.owner, "agent": self.agent_id}
        return {k: values[k] for k in HIERARCHY if values.get(k) is not None}


@dataclass(frozen=True)
class MemoryRec:
    memory_id: str
    scope: dict[str, str]
    author: str | None = None


@dataclass
class PoolRec:
    pool_id: str
    owner: str
    scope: str = "global"
    active: bool = True
    members: dict[str, str] = field(default_factory=dict)  # agent id -> permission


@dataclass(frozen=True)
class ShareRec:
    pool_id: str
    memory_id: str
    author: str
    level: str


@dataclass(frozen=True)
class HandoffRec:
    handoff_id: str
    source: str
    target: str
    status: str  # pending, accepted, completed, rejected, expired, cancelled
    relevant_memories: tuple[str, ...] = ()
    thread_id: str | None = None

    @property
    def open(self) -> bool:
        return self.status in ("pending", "accepted")


@dataclass(frozen=True)
class Principal:
    """Who acts: an agent (toolkit, store view, core call with an actor), optionally through a
    key (floor, read-only, expired / revoked)."""

    name: str
    agent: str  # agent id
    floor: dict[str, str] | None = None
    read_only: bool = False
    key_state: str = "ok"  # ok, expired, revoked


@dataclass
class World:
    agents: dict[str, AgentRec] = field(default_factory=dict)
    memories: dict[str, MemoryRec] = field(default_factory=dict)
    pools: dict[str, PoolRec] = field(default_factory=dict)
    shares: list[ShareRec] = field(default_factory=list)
    handoffs: dict[str, HandoffRec] = field(default_factory=dict)
    threads: dict[str, str] = field(default_factory=dict)  # thread id -> owner agent id

    # --- identity -------------------------------------------------------------------------
    def agent(self, agent_id: str) -> AgentRec:
        found = self.agents.get(agent_id)
        return found if found is not None else AgentRec(agent_id, owner="?", registered=False, active=False)

    def alive(self, p: Principal) -> bool:
        """A deactivated or unregistered agent, or an expired / revoked key: denied everything."""
        a = self.agent(p.agent)
        return a.registered and a.active and p.key_state == "ok"

    def can(self, p: Principal, cap: str) -> bool:
        return self.alive(p) and self.agent(p.agent).can(cap)

    def entitlement(self, p: Principal) -> dict[str, str]:
        """The key's floor, else the agent's own scope."""
        return dict(p.floor) if p.floor is not None else self.agent(p.agent).own_scope()

    # --- memories ---------------------------------------------------------------------------
    def visible_ids(self, query: Scope, *, descendants: bool = True, among: Iterable[str] | None = None) -> set[str]:
        ids = self.memories if among is None else among
        return {i for i in ids if visible_at(self.memories[i].scope, query, descendants=descendants)}

    def remember(self, p: Principal, requested: Scope | None) -> tuple[bool, dict[str, str] | None]:
        """May ``p`` write at ``requested`` (None: its own scope / floor)? And where it lands."""
        if not self.can(p, WRITE) or p.read_only:
            return False, None
        own = self.entitlement(p)
        scope = own if requested is None else dict(requested)
        if floor_relation(own, scope) is None:
            return False, None
        return True, scope

    def recall(self, p: Principal, requested: Scope | None) -> tuple[bool, set[str]]:
        """May ``p`` recall at ``requested``; the seeded memory ids it then sees."""
        if not self.can(p, READ):
            return False, set()
        own = self.entitlement(p)
        scope = own if requested is None else dict(requested)
        relation = floor_relation(own, scope)
        if relation is None:
            return False, set()
        return True, self.visible_ids(scope, descendants=relation != "ancestor")

    def _reads_directly(self, agent_id: str, scope_of: dict[str, str], memory_id: str) -> bool:
        m = self.memories[memory_id]
        return (m.author is not None and m.author == agent_id) or visible_at(m.scope, scope_of)

    def readable_memory(self, p: Principal, memory_id: str) -> bool:
        """Memories by id: author, or visible from the own scope / floor, or an open handoff to
        the reader lists it and its source could read it directly (the capability is checked by
        the caller; a target never gets more than the source had)."""
        if memory_id not in self.memories:
            return False
        if self._reads_directly(p.agent, self.entitlement(p), memory_id):
            return True
        return any(
            h.open
            and h.target == p.agent
            and memory_id in h.relevant_memories
            and self.agent(h.source).can(READ)
            and self._reads_directly(h.source, self.agent(h.source).own_scope(), memory_id)
            for h in self.handoffs.values()
        )

    def get_memory(self, p: Principal, memory_id: str) -> bool:
        return self.can(p, READ) and self.readable_memory(p, memory_id)

    def forget_memory(self, p: Principal, memory_id: str) -> bool:
        """MEMORY_DELETE, except that an author may retract its own memory with MEMORY_WRITE."""
        m = self.memories.get(memory_id)
        own = m is not None and m.author is not None and m.author == p.agent
        needed = WRITE if own else DELETE
        return self.can(p, READ) and self.can(p, needed) and not p.read_only and self.readable_memory(p, memory_id)

    # --- pools ------------------------------------------------------------------------------
    def perm(self, pool_id: str, agent_id: str) -> int | None:
        found = self.pools[pool_id].members.get(agent_id)
        return None if found is None else PERM_ORDER[found]

    def is_admin(self, p: Principal | None, pool_id: str) -> bool:
        if p is None:
            return True  # the trusted orchestrator
        return self.alive(p) and not p.read_only and (self.perm(pool_id, p.agent) or -1) >= PERM_ORDER["admin"]

    def may_join(self, actor: Principal | None, pool_id: str, member: str, permission: str) -> bool:
        """Invitation only: an ADMIN of the pool (or the orchestrator) adds or changes members;
        the member must be active and the pool active."""
        m = self.agent(member)
        if not (m.registered and m.active and self.pools[pool_id].active):
            return False
        return self.is_admin(actor, pool_id)

    def may_leave(self, actor: Principal | None, pool_id: str, member: str) -> bool:
        if actor is None:
            return True
        if not self.alive(actor) or actor.read_only:
            return False
        return actor.agent == member or self.is_admin(actor, pool_id)

    def may_share(self, p: Principal, pool_id: str, memory_id: str, level: str) -> bool:
        pool = self.pools[pool_id]
        if not self.can(p, WRITE) or p.read_only or not pool.active:
            return False
        if (self.perm(pool_id, p.agent) or -1) < PERM_ORDER["write"]:
            return False
        if LEVEL_ORDER[level] > LEVEL_ORDER[pool.scope]:
            return False
        if memory_id in self.memories:
            return self.readable_memory(p, memory_id)
        return not _uuid_shaped(memory_id)  # an unknown memory id is denied; an external reference is not

    def audience_admits(self, reader: AgentRec, share: ShareRec) -> bool:
        author = self.agent(share.author)
        if share.level == "agent_private":
            return share.author == reader.agent_id
        if share.level == "user":
            return author.owner == reader.owner
        if share.level == "project":
            return author.project is not None and author.project == reader.project
        if share.level == "team":
            return author.team is not None and author.team == reader.team
        return True

    def query_shared(self, p: Principal, pool_id: str, max_scope: str = "global") -> tuple[bool, set[str]]:
        if not self.can(p, READ) or self.perm(pool_id, p.agent) is None:
            return False, set()
        reader = self.agent(p.agent)
        seen = {
            s.memory_id
            for s in self.shares
            if s.pool_id == pool_id
            and LEVEL_ORDER[s.level] <= LEVEL_ORDER[max_scope]
            and self.audience_admits(reader, s)
        }
        return True, seen

    def may_unshare(self, p: Principal, pool_id: str, memory_id: str) -> bool:
        share = next((s for s in self.shares if s.pool_id == pool_id and s.memory_id == memory_id), None)
        if share is None or not self.can(p, DELETE) or p.read_only:
            return False
        if share.author == p.agent:
            return (self.perm(pool_id, p.agent) or -1) >= PERM_ORDER["write"]
        return self.is_admin(p, pool_id)

    def may_manage_pool(self, p: Principal, pool_id: str) -> bool:
        """Archive and delete: ADMIN."""
        return self.is_admin(p, pool_id)

    # --- store namespaces --------------------------------------------------------------------
    def store_namespace(self, p: Principal, namespace: tuple[str, ...]) -> tuple[str, ...]:
        if namespace and namespace[0] in ("pools", "users", "agents"):
            return namespace
        return ("agents", p.agent, *namespace)

    def store_may(self, p: Principal, action: str, namespace: tuple[str, ...]) -> bool:
        """``action``: read, put or delete; ``namespace`` as the view names it."""
        cap = {"read": READ, "put": WRITE, "delete": DELETE}[action]
        if not self.can(p, cap) or (action != "read" and p.read_only):
            return False
        stored = self.store_namespace(p, namespace)
        root, owner = stored[0], stored[1] if len(stored) > 1 else ""
        a = self.agent(p.agent)
        if root == "pools":
            pool = self.pools.get(owner)
            if pool is None or self.perm(owner, p.agent) is None:
                return False
            if action == "read":
                return True
            return pool.active and (self.perm(owner, p.agent) or -1) >= PERM_ORDER["write"]
        if root == "users":
            return owner == a.owner
        return root == "agents" and owner == p.agent

    # --- handoffs, threads, knowledge bases ---------------------------------------------------
    def may_get_handoff(self, p: Principal, handoff_id: str) -> bool:
        h = self.handoffs[handoff_id]
        return self.alive(p) and p.agent in (h.source, h.target)

    def may_transition(self, p: Principal, handoff_id: str, action: str) -> bool:
        """accept / reject / complete: the target (HANDOFF_RECEIVE); cancel: the source
        (HANDOFF_INITIATE). State conflicts are not modelled (cells use valid states)."""
        h = self.handoffs[handoff_id]
        if not self.alive(p) or p.read_only:
            return False
        if action == "cancel":
            return p.agent == h.source and self.can(p, H_INIT)
        return p.agent == h.target and self.can(p, H_RECV)

    def handoff_memories(self, p: Principal, handoff_id: str) -> tuple[bool, set[str]]:
        """The delegated grant: while open, the target (or source) reads the listed memories'
        shares the source may read."""
        h = self.handoffs[handoff_id]
        if not self.can(p, READ) or p.agent not in (h.source, h.target) or not h.open:
            return False, set()
        source = self.agent(h.source)
        seen = {
            s.memory_id
            for s in self.shares
            if s.memory_id in h.relevant_memories
            and self.perm(s.pool_id, source.agent_id) is not None
            and self.audience_admits(source, s)
        }
        return True, seen

    def may_read_thread(self, p: Principal, thread_id: str) -> bool:
        if not self.can(p, READ):
            return False
        owner = self.threads.get(thread_id)
        if owner == p.agent:
            return True
        return any(h.open and h.target == p.agent and h.thread_id == thread_id for h in self.handoffs.values())

    def may_delete_thread(self, p: Principal, thread_id: str) -> bool:
        return self.alive(p) and self.threads.get(thread_id) == p.agent

    def may_search_kb(self, p: Principal) -> bool:
        return self.can(p, KB)


def _uuid_shaped(memory_id: str) -> bool:
    """Whether ``memory_id`` has the form of the ids MaaS gives memories (a UUID)."""
    try:
        uuid.UUID(memory_id)
    except ValueError:
        return False
    return True
