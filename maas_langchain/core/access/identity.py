"""Who is acting: active agents, capabilities, owners, keys and adapter-bound identities.

Part of the access module (:mod:`maas_langchain.core.access`); see docs/security.md."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from maas_langchain.core.enums import (
    DEFAULT_CAPABILITIES,
    AgentCapability,
    AgentType,
)
from maas_langchain.core.records import Agent
from maas_langchain.errors import PermissionDeniedError

if TYPE_CHECKING:
    from maas_langchain.core.ports.state import StateTx

__all__ = [
    "audit_actors",
    "load_actor",
    "registration_grant",
    "require_active",
    "require_auditor",
    "require_bound_identity",
    "require_capability",
    "require_kb_search",
    "require_reviewer",
    "require_same_owner",
    "require_writable_key",
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


def load_actor(tx: StateTx, agent_id: str) -> Agent:
    """The agent an agent-bound call acts as: unknown and deactivated agents are *denied*."""
    agent = tx.get_agent(agent_id)
    if agent is None:
        raise PermissionDeniedError(f"agent {agent_id} is not registered", agent_id=agent_id)
    require_active(agent)
    return agent


def require_bound_identity(bound: str | None, given: str, *, field: str = "agent", action: str = "act") -> str:
    """An adapter bound to an agent (a toolkit, a key, a checkpointer or worker) acts as that agent
    only: an argument or config naming another agent is refused. ``None``: the trusted layer."""
    if bound is not None and given != bound:
        raise PermissionDeniedError(
            f"{field} must be your own agent id or be left out: this interface acts for agent {bound} "
            f"only and cannot {action} on behalf of agent {given[:64]}",
            agent_id=bound,
        )
    return given


def require_writable_key(read_only: bool, operation: str) -> None:
    """A read-only key (or view) changes no state."""
    if read_only:
        raise PermissionDeniedError(f"{operation} changes state; this key is read-only.")


def require_kb_search(agent: Agent) -> None:
    """Searching a knowledge base needs KB_SEARCH."""
    require_capability(agent, AgentCapability.KB_SEARCH)


def require_auditor(agent: Agent) -> None:
    """Reading and verifying the audit log over an agent-bound interface (REST, console) is for
    active HUMAN agents; they see the entries their own owner's agents made (:func:`audit_actors`)."""
    require_active(agent)
    if agent.agent_type is not AgentType.HUMAN:
        raise PermissionDeniedError(
            f"agent {agent.agent_id} is {agent.agent_type.name}; only HUMAN agents read the audit log",
            agent_id=agent.agent_id,
        )


def audit_actors(tx: StateTx, agent: Agent) -> tuple[str, ...]:
    """The actors whose audit entries a HUMAN auditor sees: every agent of its own owner
    (entries of other owners' agents, and the trusted orchestrator's, stay hidden)."""
    require_auditor(agent)
    return tuple(a.agent_id for a in tx.list_agents(owner_id=agent.owner_id))


def require_reviewer(agent: Agent) -> None:
    """Releasing or deleting quarantined writes is for active HUMAN agents (or the trusted caller)."""
    require_active(agent)
    if agent.agent_type is not AgentType.HUMAN:
        raise PermissionDeniedError(
            f"agent {agent.agent_id} is {agent.agent_type.name}; only HUMAN agents review quarantined writes",
            agent_id=agent.agent_id,
        )
