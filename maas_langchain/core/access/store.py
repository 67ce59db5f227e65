"""LangGraph store namespaces: who may read, put and delete which namespace.

Part of the access module (:mod:`maas_langchain.core.access`); see docs/security.md."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from maas_langchain.core.access.identity import require_capability
from maas_langchain.core.access.pools import require_permission, require_pool_active
from maas_langchain.core.enums import (
    AgentCapability,
    PermissionModel,
)
from maas_langchain.core.ports.filters import StoreReaders
from maas_langchain.core.records import Agent
from maas_langchain.errors import PermissionDeniedError

if TYPE_CHECKING:
    from maas_langchain.core.ports.state import StateTx

__all__ = ["StoreAction", "authorize_namespace", "authorize_namespace_prefix", "store_readers"]


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
