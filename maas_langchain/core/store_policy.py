"""Who may read and write which LangGraph store namespaces (the policy behind ``MaaSStore``).

A store view bound to an agent maps namespaces onto MaaS audiences:

=================================  ===========================================================
namespace                          who (besides the capability: MEMORY_READ to read,
                                   MEMORY_WRITE to put, MEMORY_DELETE to delete)
=================================  ===========================================================
``("pools", pool_id, *rest)``      members of the pool: READ+ to read, WRITE+ to put or delete;
                                   an archived pool is read-only
``("users", user_id, *rest)``      agents whose ``owner_id`` is ``user_id`` (the USER audience)
``("agents", agent_id, *rest)``    that agent only (AGENT_PRIVATE)
anything else, ``ns``              the bound agent's private space: stored as
                                   ``("agents", agent_id, *ns)`` and shown back as ``ns``
=================================  ===========================================================

The adapter calls :func:`authorize` inside the transaction that does the work, so a membership
removed or an agent deactivated takes effect on the next call; :func:`readers` gives the
storage query the same rules for searches and namespace listings.

Example:
    >>> to_stored("a1", ("memories", "u1"))
    ('agents', 'a1', 'memories', 'u1')
    >>> to_shown("a1", ("agents", "a1", "memories", "u1"))
    ('memories', 'u1')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from maas_langchain.core.enums import AgentCapability, PermissionModel
from maas_langchain.core.policy import require_capability, require_permission, require_pool_active
from maas_langchain.core.records import Agent
from maas_langchain.core.screening import MEXTRAValidator
from maas_langchain.errors import PermissionDeniedError

if TYPE_CHECKING:
    from maas_langchain.storage.base import StateTx

__all__ = [
    "RESERVED_ROOTS",
    "StoreAction",
    "StoreReaders",
    "authorize",
    "authorize_prefix",
    "load_store_agent",
    "readers",
    "screen_strings",
    "to_shown",
    "to_stored",
]

RESERVED_ROOTS = ("pools", "users", "agents")
"""First labels with a fixed meaning in a bound view."""

StoreAction = Literal["read", "put", "delete"]
"""What a store operation does to a namespace."""

_CAPABILITY = {
    "read": AgentCapability.MEMORY_READ,
    "put": AgentCapability.MEMORY_WRITE,
    "delete": AgentCapability.MEMORY_DELETE,
}
_POOL_PERMISSION = {"read": PermissionModel.READ, "put": PermissionModel.WRITE, "delete": PermissionModel.WRITE}


@dataclass(frozen=True, slots=True)
class StoreReaders:
    """The namespaces one agent may read: ``("agents", agent_id, ...)``, ``("users", owner_id,
    ...)`` and ``("pools", p, ...)`` for every pool ``p`` it is a member of. Storage translates
    it into its query language (``storage/sql_kv.py``, ``storage/memory_kv.py``)."""

    agent_id: str
    owner_id: str


def to_stored(agent_id: str, namespace: tuple[str, ...]) -> tuple[str, ...]:
    """The namespace a bound view stores ``namespace`` under (private unless a reserved root)."""
    if namespace and namespace[0] in RESERVED_ROOTS:
        return namespace
    return ("agents", agent_id, *namespace)


def to_shown(agent_id: str, stored: tuple[str, ...]) -> tuple[str, ...]:
    """How a bound view shows a stored namespace: its own private space without the
    ``("agents", agent_id)`` head, when the rest does not itself start with a reserved root."""
    if len(stored) > 2 and stored[0] == "agents" and stored[1] == agent_id and stored[2] not in RESERVED_ROOTS:
        return stored[2:]
    return stored


def load_store_agent(tx: StateTx, agent_id: str) -> Agent:
    """The acting agent; unknown and deactivated agents are denied (not "not found")."""
    agent = tx.get_agent(agent_id)
    if agent is None:
        raise PermissionDeniedError(f"agent {agent_id} is not registered", agent_id=agent_id)
    if not agent.active:
        raise PermissionDeniedError(f"agent {agent_id} is deactivated", agent_id=agent_id)
    return agent


def authorize(tx: StateTx, agent: Agent, action: StoreAction, stored: tuple[str, ...]) -> None:
    """Raise unless ``agent`` may ``action`` the (stored) namespace ``stored``.

    Raises:
        PermissionDeniedError: A missing capability, membership, permission or audience.
        ConflictError: A put or delete in an archived pool.
    """
    require_capability(agent, _CAPABILITY[action])
    root, owner = (*stored, "", "")[:2]
    if root == "pools":
        _authorize_pool(tx, agent, action, owner)
    elif root == "users":
        if owner != agent.owner_id:
            raise PermissionDeniedError(
                f"agent {agent.agent_id} belongs to user {agent.owner_id}, not {owner!r}; "
                f"('users', {owner!r}, ...) is that user's space",
                agent_id=agent.agent_id,
                namespace=list(stored[:2]),
            )
    elif root != "agents" or owner != agent.agent_id:
        raise PermissionDeniedError(
            f"('agents', {owner!r}, ...) is private to that agent; agent {agent.agent_id} may not {action} it",
            agent_id=agent.agent_id,
            namespace=list(stored[:2]),
        )


def _authorize_pool(tx: StateTx, agent: Agent, action: StoreAction, pool_id: str) -> None:
    pool = tx.get_pool(pool_id) if pool_id else None
    membership = tx.get_membership(pool_id, agent.agent_id) if pool is not None else None
    if pool is None or membership is None:
        raise PermissionDeniedError(
            f"agent {agent.agent_id} is not a member of pool {pool_id!r} (or no such pool); "
            "('pools', pool_id, ...) is shared with the pool's members only",
            agent_id=agent.agent_id,
            pool_id=pool_id,
        )
    require_permission(membership, _POOL_PERMISSION[action], pool_id, agent.agent_id)
    if action != "read":
        require_pool_active(pool)


def authorize_prefix(tx: StateTx, agent: Agent, prefix: tuple[str, ...]) -> None:
    """A search or listing under ``prefix`` (stored form) needs MEMORY_READ; a prefix that
    names one space (root and owner) needs read access to it. Wider prefixes are filtered
    by :func:`readers` inside the query instead."""
    require_capability(agent, AgentCapability.MEMORY_READ)
    if len(prefix) >= 2 and prefix[1] != "*":
        authorize(tx, agent, "read", prefix)


def readers(agent: Agent) -> StoreReaders:
    """The read filter of ``agent`` for storage queries."""
    return StoreReaders(agent_id=agent.agent_id, owner_id=agent.owner_id)


def screen_strings(value: Any, validator: MEXTRAValidator | None = None) -> tuple[str, ...]:
    """Screening categories matched by any string inside ``value`` (keys and nested values)."""
    checker = validator or MEXTRAValidator()
    found: set[str] = set()
    for text in _strings(value):
        found.update(checker.screen(text).categories)
    return tuple(sorted(found))


def _strings(value: Any) -> Iterable[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
