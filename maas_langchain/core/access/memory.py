"""Dict-scoped memories: an agent's own scope, grants for remember / recall, reading by id, quotas.

Part of the access module (:mod:`maas_langchain.core.access`); see docs/security.md."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from maas_langchain.core.access.identity import require_capability
from maas_langchain.core.enums import (
    AgentCapability,
    AgentType,
    HandoffStatus,
    MemoryStatus,
)
from maas_langchain.core.limits import CapacityLimits
from maas_langchain.core.records import Agent, Memory
from maas_langchain.core.scopes import ScopeHierarchy
from maas_langchain.errors import CapacityExceededError, PermissionDeniedError

if TYPE_CHECKING:
    from maas_langchain.core.ports.state import StateTx

__all__ = [
    "MemoryGrant",
    "agent_scope",
    "can_read_memory",
    "memory_grant",
    "memory_quota_counters",
    "memory_readers",
    "quarantine_author",
    "require_quota",
    "require_readable_memory",
    "require_forget",
    "pool_quota_counter",
    "sees_quarantined",
    "shown_readers",
    "store_quota_counters",
]


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
    """

    scope: dict[str, str]
    descendants: bool


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
    return MemoryGrant(scope, relation != "ancestor")


def sees_quarantined(agent: Agent, memory: Memory) -> bool:
    """A QUARANTINED memory (flagged by screening) is shown to its author and to HUMAN reviewers
    only; every other status is decided by the ordinary rules."""
    if memory.status is not MemoryStatus.QUARANTINED:
        return True
    return memory.author_id == agent.agent_id or agent.agent_type is AgentType.HUMAN


def _reads_directly(agent: Agent, memory: Memory, hierarchy: ScopeHierarchy, floor: Mapping[str, str] | None) -> bool:
    """Active with MEMORY_READ, and the author or the memory's scope visible from the agent's own
    scope (its key's ``floor``); a quarantined memory only for its author or a HUMAN reviewer."""
    if AgentCapability.MEMORY_READ not in agent.capabilities or not agent.active:
        return False
    if not sees_quarantined(agent, memory):
        return False
    if memory.author_id == agent.agent_id:
        return True
    own = agent_scope(agent, hierarchy) if floor is None else dict(floor)
    return bool(own and memory.scope and hierarchy.visible(memory.scope, own))


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
    open, unexpired handoff to the agent lists it *and its source could read it* (the delegated
    grant: a target never gets more than the source had, and nothing through a chain of them).
    A quarantined memory is readable by its author and HUMAN reviewers only, never delegated."""
    if AgentCapability.MEMORY_READ not in agent.capabilities or not agent.active:
        return False
    if not sees_quarantined(agent, memory):
        return False
    if _reads_directly(agent, memory, hierarchy, floor):
        return True
    at = time.time() if now is None else now
    for h in tx.list_handoffs(target_id=agent.agent_id, statuses=(HandoffStatus.PENDING, HandoffStatus.ACCEPTED)):
        if memory.memory_id in h.context.relevant_memories and not h.is_expired_at(at):
            source = tx.get_agent(h.source_agent_id)
            if source is not None and _reads_directly(source, memory, hierarchy, None):
                return True
    return False


def quarantine_author(agent: Agent) -> str | None:
    """The quarantine rule as data for a count in storage: quarantined memories count for
    ``agent`` only when it wrote them (its id), or all of them for a HUMAN reviewer (``None``)."""
    return None if agent.agent_type is AgentType.HUMAN else agent.agent_id


def memory_readers(
    tx: StateTx, memory: Memory, hierarchy: ScopeHierarchy, candidates: Iterable[Agent], now: float
) -> list[tuple[Agent, str]]:
    """Who can read ``memory`` by id ("who can see this?"): each active agent of ``candidates``
    for which :func:`can_read_memory` holds at its own scope (no key floor), with the reason —
    ``"author"``; ``"scope"`` (its own scope sees the memory's); ``"reviewer"`` (a HUMAN agent
    whose scope sees a quarantined memory); ``"handoff"`` (the delegated grant of an open
    handoff listing the memory). In ``candidates`` order."""
    open_handoffs = tx.list_handoffs(statuses=(HandoffStatus.PENDING, HandoffStatus.ACCEPTED))
    delegated = {
        h.target_agent_id
        for h in open_handoffs
        if memory.memory_id in h.context.relevant_memories and not h.is_expired_at(now)
    }
    readers: list[tuple[Agent, str]] = []
    for agent in candidates:
        if _reads_directly(agent, memory, hierarchy, None):
            quarantined = memory.status is MemoryStatus.QUARANTINED
            reason = "author" if memory.author_id == agent.agent_id else "reviewer" if quarantined else "scope"
            readers.append((agent, reason))
        elif agent.agent_id in delegated and can_read_memory(tx, agent, memory, hierarchy, None, now):
            readers.append((agent, "handoff"))
    return readers


def shown_readers(caller: Agent, readers: list[tuple[Agent, str]]) -> tuple[list[tuple[Agent, str]], int]:
    """What ``caller`` learns of a memory's :func:`memory_readers`: those of its own owner, and
    only how many others there are (never another tenant's agent ids)."""
    own = [(agent, reason) for agent, reason in readers if agent.owner_id == caller.owner_id]
    return own, len(readers) - len(own)


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


_QUOTAS = {
    "memories.agent:": "max_memories_per_agent",
    "memories.owner:": "max_memories_per_owner",
    "pools.owner:": "max_pools_per_owner",
    "store.items:": "max_store_items_per_agent",
    "store.bytes:": "max_store_bytes_per_agent",
}


def memory_quota_counters(author_id: str, owner_id: str | None) -> list[str]:
    """The per-tenant counters one memory write counts against (its author, its author's owner)."""
    return [f"memories.agent:{author_id}"] + ([] if owner_id is None else [f"memories.owner:{owner_id}"])


def store_quota_counters(agent_id: str) -> tuple[str, str]:
    """The per-agent counters of LangGraph store items an agent wrote: items, JSON characters."""
    return f"store.items:{agent_id}", f"store.bytes:{agent_id}"


def pool_quota_counter(owner_id: str) -> str:
    """The per-owner counter a pool counts against."""
    return f"pools.owner:{owner_id}"


def require_quota(tx: StateTx, limits: CapacityLimits, adding: Mapping[str, int]) -> None:
    """Raise unless every per-tenant counter stays within its limit after ``adding`` to it, so one
    tenant cannot exhaust another's capacity (counter names: ``memories.agent:<id>``,
    ``memories.owner:<id>``, ``pools.owner:<id>``, ``store.items:<id>``, ``store.bytes:<id>``).
    A non-positive amount only releases capacity and is never refused."""
    for counter, count in adding.items():
        if count <= 0:
            continue
        prefix, tenant = counter.split(":", 1)
        limit_name = _QUOTAS[prefix + ":"]
        limit = getattr(limits, limit_name)
        if tx.counter(counter) + count > limit:
            raise CapacityExceededError(
                f"{tenant} holds the maximum of {limit} ({limit_name}); other tenants are not affected",
                limit=limit,
                limit_name=limit_name,
            )


def require_forget(
    tx: StateTx,
    agent: Agent,
    memory: Memory | str,
    hierarchy: ScopeHierarchy,
    floor: Mapping[str, str] | None = None,
    now: float | None = None,
) -> None:
    """Forgetting by id: the agent must be able to read the memory and needs MEMORY_DELETE — except
    that its author may retract it with MEMORY_WRITE."""
    own = not isinstance(memory, str) and memory.author_id == agent.agent_id
    require_capability(agent, AgentCapability.MEMORY_WRITE if own else AgentCapability.MEMORY_DELETE)
    require_readable_memory(tx, agent, memory, hierarchy, "forget", floor, now)
