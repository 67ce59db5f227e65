"""Pools: permissions, invitation-only admission, sharing (which needs read), audiences, events.

Part of the access module (:mod:`maas_langchain.core.access`); see docs/security.md."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from maas_langchain.core.access.identity import load_actor, require_active, require_capability
from maas_langchain.core.access.memory import can_read_memory, require_readable_memory
from maas_langchain.core.enums import (
    AgentCapability,
    AgentType,
    EventKind,
    PermissionModel,
    PoolStatus,
    SharedScope,
)
from maas_langchain.core.ports.filters import AudienceClause, AudienceFilter
from maas_langchain.core.records import Agent, MaaSEvent, Membership, Memory, Pool, SharedMemory
from maas_langchain.core.scopes import ScopeHierarchy
from maas_langchain.core.validation import is_id
from maas_langchain.errors import ConflictError, InvalidInputError, PermissionDeniedError

if TYPE_CHECKING:
    from maas_langchain.core.ports.state import StateTx

__all__ = [
    "admit_member",
    "audience_filter",
    "can_see_event",
    "require_leave",
    "require_permission",
    "require_pool_active",
    "require_pool_admin",
    "require_pool_viewer",
    "require_share_scope",
    "share_grant",
    "reader_audience",
    "require_founding_admin",
    "require_unshare",
    "viewable_pools",
]


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


def can_see_event(
    tx: StateTx,
    agent_id: str,
    event: MaaSEvent,
    hierarchy: ScopeHierarchy | None = None,
    floor: Mapping[str, str] | None = None,
) -> bool:
    """May ``agent_id`` see ``event``? Checked against its identity and memberships *now*.

    Agent registrations: agents of the same owner. Joins and leaves: the agent itself and the
    pool's current members. Shares: readers the share's audience admits (as ``query_shared``).
    Handoff events: its source and target. Entity conflicts: the agents whose writes
    conflicted. A memory written or changed outside a pool: whoever may read that memory now
    (:func:`~maas_langchain.core.access.can_read_memory`, within the key's ``floor``; without a
    ``hierarchy``, its author only). A deactivated or unknown agent sees nothing.
    """
    agent = tx.get_agent(agent_id)
    if agent is None or not agent.active:
        return False
    data = event.data
    if event.pool_id is None and event.kind in (EventKind.MEMORY_WRITTEN, EventKind.MEMORY_STATUS_CHANGED):
        found = tx.get_memories([str(data.get("memory_id", ""))])
        if not found:
            return False
        if hierarchy is None:
            return found[0].memory.author_id == agent_id
        return can_read_memory(tx, agent, found[0].memory, hierarchy, floor)
    if event.kind is EventKind.AGENT_REGISTERED:
        return bool(data.get("owner_id") == agent.owner_id)
    if event.kind.value.startswith("handoff."):
        return agent_id in (data.get("source"), data.get("target"))
    if event.kind is EventKind.ENTITY_CONFLICT:  # the two writers; readers of the scope use get_state
        return agent_id in data.get("agents", ())
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
    memory: Memory | str,
    hierarchy: ScopeHierarchy,
    now: float | None = None,
    floor: Mapping[str, str] | None = None,
) -> None:
    """Sharing needs MEMORY_WRITE, WRITE in the pool, a scope within the pool's, and — for an id
    in the form of a memory id (``memory``: the stored memory, else just the id) — that the sharer
    may read that memory: an unknown memory id is denied exactly like an unreadable one, so ids
    cannot be probed. Any other string is an external reference (``"mem-bug-123"``): no stored
    memory has such an id, and the share carries no content."""
    require_capability(author, AgentCapability.MEMORY_WRITE)
    require_permission(
        tx.get_membership(pool.pool_id, author.agent_id), PermissionModel.WRITE, pool.pool_id, author.agent_id
    )
    require_pool_active(pool)
    require_share_scope(pool, scope)
    if isinstance(memory, str) and not is_id(memory):
        return
    require_readable_memory(tx, author, memory, hierarchy, "share", floor, now)


def require_founding_admin(agent: Agent) -> None:
    """The agent a pool is created with joins as ADMIN: it must be active and able to read."""
    require_capability(agent, AgentCapability.MEMORY_READ)


def require_unshare(tx: StateTx, agent: Agent, share: SharedMemory | None, pool_id: str) -> None:
    """Withdrawing a share needs MEMORY_DELETE, and WRITE in the pool for one's own share or ADMIN
    for another's (``share`` ``None``: nothing to withdraw, only the capability is checked)."""
    require_capability(agent, AgentCapability.MEMORY_DELETE)
    if share is not None:
        needed = PermissionModel.WRITE if share.author_id == agent.agent_id else PermissionModel.ADMIN
        require_permission(tx.get_membership(pool_id, agent.agent_id), needed, pool_id, agent.agent_id)


def reader_audience(tx: StateTx, reader: Agent, pool_id: str, max_scope: SharedScope) -> AudienceFilter:
    """A pool query needs MEMORY_READ and membership; it sees what :func:`audience_filter` admits."""
    require_capability(reader, AgentCapability.MEMORY_READ)
    require_permission(tx.get_membership(pool_id, reader.agent_id), PermissionModel.READ, pool_id, reader.agent_id)
    return audience_filter(reader, max_scope)


def _owners_human(agent: Agent, owner_id: str) -> bool:
    return agent.active and agent.agent_type is AgentType.HUMAN and agent.owner_id == owner_id


def require_pool_viewer(tx: StateTx, agent: Agent, pool: Pool) -> Membership | None:
    """Looking at a pool and its members (the console): its members, and active HUMAN agents of
    the user who owns it. Returns the agent's membership (``None`` for such a HUMAN agent).

    Raises:
        PermissionDeniedError: Anyone else, or a deactivated agent.
    """
    require_active(agent)
    membership = tx.get_membership(pool.pool_id, agent.agent_id)
    if membership is None and not _owners_human(agent, pool.owner_id):
        raise PermissionDeniedError(
            f"agent {agent.agent_id} is not a member of pool {pool.pool_id}",
            agent_id=agent.agent_id,
            pool_id=pool.pool_id,
        )
    return membership


def viewable_pools(tx: StateTx, agent: Agent) -> list[Pool]:
    """The pools :func:`require_pool_viewer` lets ``agent`` look at, oldest first: those it is a
    member of and, for an active HUMAN agent, every pool its owner owns."""
    if not agent.active:
        return []
    found = {p.pool_id: p for p in tx.list_pools(member_id=agent.agent_id)}
    if _owners_human(agent, agent.owner_id):
        found.update((p.pool_id, p) for p in tx.list_pools(owner_id=agent.owner_id))
    return sorted(found.values(), key=lambda p: (p.created_at, p.pool_id))
