"""Access policy, in one place: capabilities, pool permissions and scope audiences.

The services call these functions; the storage backends only *translate* the
:class:`AudienceFilter` built here into SQL or a Python predicate, so every path (registries,
LangGraph store, tools, MCP) applies the same rules.

Scopes name an audience (DESIGN.md §5): AGENT_PRIVATE — the author only; USER — agents of the
same owner; PROJECT / TEAM — agents of the same project / team; GLOBAL — every reader of the
pool. ``max_scope`` on a query only removes levels; it never adds readers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from maas_langchain.core.enums import (
    DEFAULT_CAPABILITIES,
    AgentCapability,
    AgentType,
    EventKind,
    PermissionModel,
    PoolStatus,
    SharedScope,
)
from maas_langchain.core.records import Agent, MaaSEvent, Membership, Pool, SharedMemory
from maas_langchain.core.scopes import ScopeHierarchy
from maas_langchain.errors import ConflictError, InvalidInputError, PermissionDeniedError

if TYPE_CHECKING:
    from maas_langchain.storage.base import StateTx

__all__ = [
    "AudienceClause",
    "AudienceFilter",
    "MemoryGrant",
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


@dataclass(frozen=True)
class AudienceClause:
    """Rows at ``level`` are visible when column ``column`` equals ``value`` (NULL-safe).

    ``column`` is ``None`` for GLOBAL: every row at that level is visible.
    """

    level: int
    column: str | None
    value: str | None


@dataclass(frozen=True)
class AudienceFilter:
    """The rows of a pool one reader may see: a disjunction of :class:`AudienceClause`."""

    clauses: tuple[AudienceClause, ...]

    def matches(self, share: SharedMemory) -> bool:
        """Python form of the filter (the in-memory backend and tests use it)."""
        level = share.scope.level
        for clause in self.clauses:
            if clause.level == level and (clause.column is None or getattr(share, clause.column) == clause.value):
                return True
        return False


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
        within: The entitlement (the agent's own scope, or its key's floor) ancestors must be
            comparable with.
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

    F is ``floor`` when given (an API key's scope floor), else :func:`agent_scope`. The
    requested scope defaults to F and may be F, narrower than F (keys below F's deepest key), or
    an ancestor of F (sharing up to, or inheriting from, the project or team). A recall at an
    ancestor sees inherited context only (no descendants, so never a sibling's memories).

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
            f"{hierarchy.canon(own)}, a narrower one below it, or one of its ancestors",
            agent_id=agent.agent_id,
        )
    return MemoryGrant(scope, relation != "ancestor", own)
