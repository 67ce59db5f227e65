"""Access policy, in one place: capabilities, pool permissions and scope audiences.

The services call these functions; the storage backends only *translate* the
:class:`AudienceFilter` built here into SQL or a Python predicate, so every path (registries,
LangGraph store, tools, MCP) applies the same rules.

Scopes name an audience (DESIGN.md §5): AGENT_PRIVATE — the author only; USER — agents of the
same owner; PROJECT / TEAM — agents of the same project / team; GLOBAL — every reader of the
pool. ``max_scope`` on a query only removes levels; it never adds readers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from maas_langchain.core.enums import (
    DEFAULT_CAPABILITIES,
    AgentCapability,
    AgentType,
    EventKind,
    HandoffStatus,
    PermissionModel,
    PoolStatus,
    SharedScope,
)
from maas_langchain.core.limits import CapacityLimits
from maas_langchain.core.ports.filters import AudienceClause, AudienceFilter, StoreReaders
from maas_langchain.core.records import Agent, Handoff, MaaSEvent, Membership, Memory, Pool, SharedMemory
from maas_langchain.core.scopes import ScopeHierarchy
from maas_langchain.errors import CapacityExceededError, ConflictError, InvalidInputError, PermissionDeniedError

if TYPE_CHECKING:
    from maas_langchain.core.ports.state import StateTx

__all__ = [
    "MemoryGrant",
    "StoreAction",
    "authorize_namespace",
    "authorize_namespace_prefix",
    "store_readers",
    "admit_member",
    "can_read_memory",
    "load_actor",
    "memory_quota_counters",
    "require_handoff_party",
    "require_handoff_reader",
    "require_bound_identity",
    "require_kb_search",
    "require_open_grant",
    "require_thread_access",
    "require_writable_key",
    "require_leave",
    "require_pool_admin",
    "require_quota",
    "require_readable_memory",
    "share_grant",
    "agent_scope",
    "audience_filter",
    "memory_grant",
    "registration_grant",
    "require_same_owner",
    "can_see_event",
    "require_active",
    "require_capability",
    "require_permission",
    "require_pool_active",
    "require_share_scope",
]


def require_active(agent: Agent) -> None:
    """Deactivated agents lose every access at once."""
    if not agent.active:
        raise PermissionDeniedError(f"agent {agent.agent_id} is deactivated", agent_id=agent.agent_id)


def require_capability(agent: Agent, capability: AgentCapability) -> None:
    """Raise unless ``agent`` is active and holds ``capability``."""
    require_active(agent)
    if capability not in agent.capabilities:
        raise PermissionDeniedError(
            f"agent {agent.agent_id} lacks the {capability.name} capability",
            agent_id=agent.agent_id,
            capability=capability.value,
        )


def require_permission(
    membership: Membership | None, needed: PermissionModel, pool_id: str, agent_id: str
) -> Membership:
    """Raise unless ``membership`` exists and grants at least ``needed``."""
    if membership is None:
        raise PermissionDeniedError(
            f"agent {agent_id} is not a member of pool {pool_id}", agent_id=agent_id, pool_id=pool_id
        )
    if membership.permission < needed:
        raise PermissionDeniedError(
            f"agent {agent_id} has {membership.permission.name} in pool {pool_id}; {needed.name} is needed",
            agent_id=agent_id,
            pool_id=pool_id,
            permission=membership.permission.value,
            needed=needed.value,
        )
    return membership


def require_pool_active(pool: Pool) -> None:
    """Archived pools are read-only."""
    if pool.status is not PoolStatus.ACTIVE:
        raise ConflictError(f"pool {pool.pool_id} is archived and read-only", pool_id=pool.pool_id)


def require_share_scope(pool: Pool, scope: SharedScope) -> None:
    """A share may not reach a wider audience than the pool's own scope."""
    if scope > pool.scope:
        raise InvalidInputError(
            f"scope {scope.name} is wider than pool {pool.pool_id}'s scope {pool.scope.name}",
            scope=scope.value,
            pool_scope=pool.scope.value,
        )


_AUDIENCE_COLUMN = {
    SharedScope.AGENT_PRIVATE: "author_id",
    SharedScope.USER: "owner_id",
    SharedScope.PROJECT: "project_id",
    SharedScope.TEAM: "team_id",
    SharedScope.GLOBAL: None,
}


def audience_filter(reader: Agent, max_scope: SharedScope) -> AudienceFilter:
    """Return what ``reader`` may see among shares at levels up to ``max_scope``."""
    values = {
        "author_id": reader.agent_id,
        "owner_id": reader.owner_id,
        "project_id": reader.project_id,
        "team_id": reader.team_id,
    }
    clauses = []
    for scope in SharedScope:
        if scope > max_scope:
            break
        column = _AUDIENCE_COLUMN[scope]
        clauses.append(AudienceClause(scope.level, column, None if column is None else values[column]))
    return AudienceFilter(tuple(clauses))


def can_see_event(tx: StateTx, agent_id: str, event: MaaSEvent) -> bool:
    """May ``agent_id`` see ``event``? Checked against its identity and memberships *now*.

    Agent registrations: agents of the same owner. Joins and leaves: the agent itself and the
    pool's current members. Shares: readers the share's audience admits (as ``query_shared``).
    Handoff events: its source and target. A deactivated or unknown agent sees nothing.
    """
    agent = tx.get_agent(agent_id)
    if agent is None or not agent.active:
        return False
    data = event.data
    if event.kind is EventKind.AGENT_REGISTERED:
        return bool(data.get("owner_id") == agent.owner_id)
    if event.kind.value.startswith("handoff."):
        return agent_id in (data.get("source"), data.get("target"))
    if event.pool_id is None or tx.get_membership(event.pool_id, agent_id) is None:
        return event.kind in (EventKind.POOL_JOINED, EventKind.POOL_LEFT) and data.get("agent_id") == agent_id
    if event.kind is EventKind.MEMORY_SHARED:
        if AgentCapability.MEMORY_READ not in agent.capabilities:
            return False
        share = SharedMemory(
            pool_id=event.pool_id,
            memory_id=data["memory_id"],
            author_id=data["author_id"],
            scope=SharedScope.parse(data["scope"]),
            owner_id=data["owner_id"],
            project_id=data.get("project_id"),
            team_id=data.get("team_id"),
            shared_at=event.timestamp,
        )
        return audience_filter(agent, SharedScope.GLOBAL).matches(share)
    return True


# --- agents acting through tools (LangChain toolkit, MCP server) -------------------------------
def require_same_owner(actor: Agent, owner_id: str, action: str) -> None:
    """An agent acts for its owner only: raise unless ``owner_id`` is the actor's owner."""
    require_active(actor)
    if owner_id != actor.owner_id:
        raise PermissionDeniedError(
            f"agent {actor.agent_id} acts for user {actor.owner_id}; it may not {action} for user {owner_id}",
            agent_id=actor.agent_id,
        )


def registration_grant(
    actor: Agent, agent_type: AgentType, owner_id: str, requested: Iterable[AgentCapability] | None = None
) -> frozenset[AgentCapability]:
    """The capabilities an agent may give an agent it registers: for its own owner only, and
    never more than it holds itself (the type's defaults, or ``requested``, within its own).

    Raises:
        PermissionDeniedError: Another owner, or a requested capability the actor lacks.
    """
    require_same_owner(actor, owner_id, "register agents")
    if requested is None:
        return DEFAULT_CAPABILITIES[agent_type] & actor.capabilities
    wanted = frozenset(requested)
    missing = sorted(c.value for c in wanted - actor.capabilities)
    if missing:
        raise PermissionDeniedError(
            f"agent {actor.agent_id} cannot grant capabilities it lacks: {', '.join(missing)}",
            agent_id=actor.agent_id,
            capabilities=missing,
        )
    return wanted


_AGENT_SCOPE_FIELDS = {"team": "team_id", "project": "project_id", "user": "owner_id", "agent": "agent_id"}


def agent_scope(agent: Agent, hierarchy: ScopeHierarchy) -> dict[str, str]:
    """The agent's own dict scope from its record: ``team``, ``project``, ``user`` (its owner)
    and ``agent``, keeping the keys the hierarchy has and leaving out unset ones."""
    values = {key: getattr(agent, attr) for key, attr in _AGENT_SCOPE_FIELDS.items()}
    return {k: values[k] for k in hierarchy.keys if values.get(k) is not None}


@dataclass(frozen=True)
class MemoryGrant:
    """Where an agent may write, or what it may recall, as the memory service's arguments.

    Attributes:
        scope: The scope to write at or query.
        descendants: Whether a recall includes memories below ``scope``.
        within: The entitlement (the agent's own scope, or its key's floor).
    """

    scope: dict[str, str]
    descendants: bool
    within: dict[str, str]


def memory_grant(
    agent: Agent,
    hierarchy: ScopeHierarchy,
    requested: Mapping[str, str] | None,
    *,
    floor: Mapping[str, str] | None = None,
    write: bool = False,
) -> MemoryGrant:
    """Check an agent's remember (``write=True``) or recall against its own scope F.

    F is ``floor`` when given (an API key's scope floor), else :func:`agent_scope`. The requested
    scope defaults to F and must be F, narrower than F (F is a prefix of it), or an ancestor of F
    (a proper prefix: sharing upwards, or inherited context). A recall at an ancestor sees
    inherited context only (no descendants, which would include siblings). Anything else — a
    sibling, another tree, a partial scope that skips one of F's keys — is refused, never
    completed from F.

    Raises:
        PermissionDeniedError: Missing MEMORY_WRITE / MEMORY_READ, or a scope outside F.
        InvalidInputError: A malformed scope.
    """
    require_capability(agent, AgentCapability.MEMORY_WRITE if write else AgentCapability.MEMORY_READ)
    own = agent_scope(agent, hierarchy) if floor is None else hierarchy.check(floor, "scope_floor")
    if not own:
        raise PermissionDeniedError(f"agent {agent.agent_id} has no scope in the hierarchy {list(hierarchy.keys)}")
    scope = own if requested is None else hierarchy.check(requested)
    relation = hierarchy.relation(own, scope)
    if relation == "outside":
        verb = "write to" if write else "recall from"
        raise PermissionDeniedError(
            f"agent {agent.agent_id} may not {verb} scope {hierarchy.canon(scope)}: use its own scope "
            f"{hierarchy.canon(own)}, a narrower one below it, or one of its prefixes (ancestors)",
            agent_id=agent.agent_id,
        )
    return MemoryGrant(scope, relation != "ancestor", own)


def load_actor(tx: StateTx, agent_id: str) -> Agent:
    """The agent an agent-bound call acts as: unknown and deactivated agents are *denied*."""
    agent = tx.get_agent(agent_id)
    if agent is None:
        raise PermissionDeniedError(f"agent {agent_id} is not registered", agent_id=agent_id)
    require_active(agent)
    return agent


def can_read_memory(
    tx: StateTx,
    agent: Agent,
    memory: Memory,
    hierarchy: ScopeHierarchy,
    floor: Mapping[str, str] | None = None,
    now: float | None = None,
) -> bool:
    """May ``agent`` read the stored ``memory`` by id? Its author may; otherwise the memory's scope
    must be visible from the agent's own scope (its key's ``floor``) by the recall rule, or an
    open, unexpired handoff to the agent lists it (the delegated grant)."""
    if AgentCapability.MEMORY_READ not in agent.capabilities or not agent.active:
        return False
    if memory.author_id == agent.agent_id:
        return True
    own = agent_scope(agent, hierarchy) if floor is None else dict(floor)
    if own and memory.scope and hierarchy.visible(memory.scope, own):
        return True
    return any(
        memory.memory_id in h.context.relevant_memories
        and h.status.is_open
        and not h.is_expired_at(time.time() if now is None else now)
        for h in tx.list_handoffs(target_id=agent.agent_id, statuses=(HandoffStatus.PENDING, HandoffStatus.ACCEPTED))
    )


def require_readable_memory(
    tx: StateTx,
    agent: Agent,
    memory: Memory | str,
    hierarchy: ScopeHierarchy,
    action: str,
    floor: Mapping[str, str] | None = None,
    now: float | None = None,
) -> None:
    """Raise unless :func:`can_read_memory`. ``memory`` may be just an id that names no stored
    memory: an agent is told no more about an unknown id than about an unreadable one."""
    if isinstance(memory, str) or not can_read_memory(tx, agent, memory, hierarchy, floor, now):
        key = memory if isinstance(memory, str) else memory.memory_id
        raise PermissionDeniedError(
            f"agent {agent.agent_id} may not {action} memory {key}: no memory it can read has that id",
            agent_id=agent.agent_id,
            memory_id=key,
        )


# --- pools ---------------------------------------------------------------------------------
def require_pool_admin(tx: StateTx, pool_id: str, actor_id: str | None) -> None:
    """Membership management: ADMIN in the pool, unless the trusted orchestrator (``None``)."""
    if actor_id is None:
        return
    load_actor(tx, actor_id)
    require_permission(tx.get_membership(pool_id, actor_id), PermissionModel.ADMIN, pool_id, actor_id)


def admit_member(tx: StateTx, pool: Pool, member: Agent, permission: PermissionModel, actor_id: str | None) -> None:
    """Pools admit members by invitation: adding a member or changing a permission needs ADMIN
    (or the trusted orchestrator). So no agent-bound caller joins a pool it was not admitted to,
    raises its own permission, or rejoins after removal without an ADMIN.

    Raises:
        PermissionDeniedError: The actor is not an ADMIN of the pool; the member is deactivated.
        ConflictError: The pool is archived.
    """
    require_active(member)
    require_pool_active(pool)
    if actor_id is not None and actor_id == member.agent_id and tx.get_membership(pool.pool_id, actor_id) is None:
        raise PermissionDeniedError(
            f"agent {actor_id} is not a member of pool {pool.pool_id}: pools admit members by invitation of an ADMIN",
            agent_id=actor_id,
            pool_id=pool.pool_id,
        )
    require_pool_admin(tx, pool.pool_id, actor_id)


def require_leave(tx: StateTx, pool_id: str, member_id: str, actor_id: str | None) -> None:
    """An agent may always leave by itself; removing another needs ADMIN."""
    if actor_id != member_id:
        require_pool_admin(tx, pool_id, actor_id)


def share_grant(
    tx: StateTx,
    pool: Pool,
    author: Agent,
    scope: SharedScope,
    memory: Memory | None,
    hierarchy: ScopeHierarchy,
    now: float | None = None,
    floor: Mapping[str, str] | None = None,
) -> None:
    """Sharing needs MEMORY_WRITE, WRITE in the pool, a scope within the pool's, and — for an id
    that names a stored memory — that the sharer may read that memory. An unknown id is an
    external reference and carries no content."""
    require_capability(author, AgentCapability.MEMORY_WRITE)
    require_permission(
        tx.get_membership(pool.pool_id, author.agent_id), PermissionModel.WRITE, pool.pool_id, author.agent_id
    )
    require_pool_active(pool)
    require_share_scope(pool, scope)
    if memory is not None:
        require_readable_memory(tx, author, memory, hierarchy, "share", floor, now)


# --- handoffs and KB -------------------------------------------------------------------------
def require_handoff_party(handoff: Handoff, agent: Agent, role: str, action: str) -> None:
    """Only the target accepts, rejects, completes (HANDOFF_RECEIVE); only the source cancels."""
    party = handoff.target_agent_id if role == "target" else handoff.source_agent_id
    if agent.agent_id != party:
        raise PermissionDeniedError(
            f"only the {role} of handoff {handoff.handoff_id} may {action} it", handoff_id=handoff.handoff_id
        )
    if role == "target":
        require_capability(agent, AgentCapability.HANDOFF_RECEIVE)
    else:
        require_active(agent)


def require_handoff_reader(handoff: Handoff, agent_id: str) -> None:
    """A handoff is seen by its source and target only."""
    if agent_id not in (handoff.source_agent_id, handoff.target_agent_id):
        raise PermissionDeniedError(
            f"agent {agent_id} is not a party to handoff {handoff.handoff_id}", handoff_id=handoff.handoff_id
        )


def require_open_grant(handoff: Handoff, now: float) -> None:
    """A handoff's delegated grant lasts while it is open and unexpired."""
    if not handoff.status.is_open or handoff.is_expired_at(now):
        raise PermissionDeniedError(f"handoff {handoff.handoff_id} is no longer open; its grant has ended")


def require_thread_access(agent_id: str, thread_id: str, owner: str, action: str, handed_over: bool) -> None:
    """A checkpointer thread is its owner's (the first agent that wrote it); the target of an open
    handoff that carries it may read and write it (``handed_over``); only the owner deletes or
    hands it off (``action`` ``"hand off"``)."""
    if owner == agent_id or (handed_over and action in ("read", "write")):
        return
    owners_only = {"hand off": "only its owner may hand it off", "delete": "only its owner may delete it"}
    why = owners_only.get(action, "it has no open handoff of it to this agent")
    raise PermissionDeniedError(
        f"agent {agent_id} may not {action} thread {thread_id!r}: another agent owns it and {why}",
        agent_id=agent_id,
        thread_id=thread_id,
    )


def require_bound_identity(bound: str | None, given: str) -> str:
    """An adapter bound to an agent acts as that agent only; a config naming another is refused."""
    if bound is not None and given != bound:
        raise PermissionDeniedError(
            f"this adapter acts for agent {bound}; the call names agent {given}", agent_id=bound
        )
    return given


def require_writable_key(read_only: bool, operation: str) -> None:
    """A read-only key (or view) changes no state."""
    if read_only:
        raise PermissionDeniedError(f"{operation} changes state; this key is read-only.")


def require_kb_search(agent: Agent) -> None:
    """Searching a knowledge base needs KB_SEARCH."""
    require_capability(agent, AgentCapability.KB_SEARCH)


# --- capacity per tenant ---------------------------------------------------------------------
_QUOTAS = {
    "memories.agent:": "max_memories_per_agent",
    "memories.owner:": "max_memories_per_owner",
    "pools.owner:": "max_pools_per_owner",
}


def memory_quota_counters(author_id: str, owner_id: str | None) -> list[str]:
    """The per-tenant counters one memory write counts against (its author, its author's owner)."""
    return [f"memories.agent:{author_id}"] + ([] if owner_id is None else [f"memories.owner:{owner_id}"])


def require_quota(tx: StateTx, limits: CapacityLimits, adding: Mapping[str, int]) -> None:
    """Raise unless every per-tenant counter stays within its limit after ``adding`` to it, so one
    tenant cannot exhaust another's capacity (counter names: ``memories.agent:<id>``,
    ``memories.owner:<id>``, ``pools.owner:<id>``)."""
    for counter, count in adding.items():
        prefix, tenant = counter.split(":", 1)
        limit_name = _QUOTAS[prefix + ":"]
        limit = getattr(limits, limit_name)
        if tx.counter(counter) + count > limit:
            raise CapacityExceededError(
                f"{tenant} holds the maximum of {limit} ({limit_name}); other tenants are not affected",
                limit=limit,
                limit_name=limit_name,
            )


# --- LangGraph store namespaces ----------------------------------------------------------------
StoreAction = Literal["read", "put", "delete"]
"""What a store operation does to a namespace."""

_STORE_CAPABILITY = {
    "read": AgentCapability.MEMORY_READ,
    "put": AgentCapability.MEMORY_WRITE,
    "delete": AgentCapability.MEMORY_DELETE,
}
_STORE_PERMISSION = {"read": PermissionModel.READ, "put": PermissionModel.WRITE, "delete": PermissionModel.WRITE}


def authorize_namespace(tx: StateTx, agent: Agent, action: StoreAction, stored: tuple[str, ...]) -> None:
    """Raise unless ``agent`` may ``action`` the stored namespace: ``("pools", p, ...)`` for
    members of p (WRITE to change, pool active), ``("users", u, ...)`` for agents of owner u,
    ``("agents", a, ...)`` for agent a only (docs/security.md).

    Raises:
        PermissionDeniedError: A missing capability, membership, permission or audience.
        ConflictError: A put or delete in an archived pool.
    """
    require_capability(agent, _STORE_CAPABILITY[action])
    root, owner = (*stored, "", "")[:2]
    if root == "pools":
        pool = tx.get_pool(owner) if owner else None
        membership = tx.get_membership(owner, agent.agent_id) if pool is not None else None
        if pool is None or membership is None:
            raise PermissionDeniedError(
                f"agent {agent.agent_id} is not a member of pool {owner!r} (or no such pool); "
                "('pools', pool_id, ...) is shared with the pool's members only",
                agent_id=agent.agent_id,
                pool_id=owner,
            )
        require_permission(membership, _STORE_PERMISSION[action], owner, agent.agent_id)
        if action != "read":
            require_pool_active(pool)
    elif root == "users" and owner != agent.owner_id:
        raise PermissionDeniedError(
            f"agent {agent.agent_id} belongs to user {agent.owner_id}, not {owner!r}; "
            f"('users', {owner!r}, ...) is that user's space",
            agent_id=agent.agent_id,
            namespace=list(stored[:2]),
        )
    elif root not in ("pools", "users") and (root != "agents" or owner != agent.agent_id):
        raise PermissionDeniedError(
            f"('agents', {owner!r}, ...) is private to that agent; agent {agent.agent_id} may not {action} it",
            agent_id=agent.agent_id,
            namespace=list(stored[:2]),
        )


def authorize_namespace_prefix(tx: StateTx, agent: Agent, prefix: tuple[str, ...]) -> None:
    """A search or listing needs MEMORY_READ; a prefix naming one space needs read access to it.
    Wider prefixes are filtered inside the query by :func:`store_readers`."""
    require_capability(agent, AgentCapability.MEMORY_READ)
    if len(prefix) >= 2 and prefix[1] != "*":
        authorize_namespace(tx, agent, "read", prefix)


def store_readers(agent: Agent) -> StoreReaders:
    """The read filter of ``agent`` for storage queries (translated by each backend)."""
    return StoreReaders(agent_id=agent.agent_id, owner_id=agent.owner_id)
