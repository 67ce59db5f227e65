"""Handoffs and checkpointer threads: the parties, the delegated grant, thread ownership.

Part of the access module (:mod:`maas_langchain.core.access`); see docs/security.md."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from maas_langchain.core.access.identity import require_active, require_capability
from maas_langchain.core.access.pools import audience_filter
from maas_langchain.core.enums import AgentCapability, AgentType, HandoffStatus, SharedScope
from maas_langchain.core.records import Agent, Handoff, SharedMemory
from maas_langchain.errors import PermissionDeniedError

if TYPE_CHECKING:
    from maas_langchain.core.ports.state import StateTx

_OPEN = (HandoffStatus.PENDING, HandoffStatus.ACCEPTED)
_THREAD_CAPABILITY = {
    "read": AgentCapability.MEMORY_READ,
    "write": AgentCapability.MEMORY_WRITE,
    "delete": AgentCapability.MEMORY_WRITE,
}

__all__ = [
    "delegated_shares",
    "handoff_watch",
    "require_handoff_viewer",
    "timeline_shows",
    "require_handoff_initiation",
    "require_handoff_inbox",
    "require_handoff_party",
    "require_handoff_reader",
    "require_open_grant",
    "require_thread_access",
    "thread_capability",
    "thread_handed_over",
]


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


def require_handoff_initiation(source: Agent, target: Agent) -> None:
    """The source needs HANDOFF_INITIATE and the target HANDOFF_RECEIVE, both active."""
    require_capability(source, AgentCapability.HANDOFF_INITIATE)
    require_capability(target, AgentCapability.HANDOFF_RECEIVE)


def require_handoff_inbox(agent: Agent) -> None:
    """Listing the handoffs waiting for an agent needs HANDOFF_RECEIVE."""
    require_capability(agent, AgentCapability.HANDOFF_RECEIVE)


def delegated_shares(
    tx: StateTx, handoff: Handoff, reader: Agent, source: Agent, shares: Iterable[SharedMemory], now: float
) -> list[SharedMemory]:
    """The delegated grant of an open, unexpired handoff: to its parties (MEMORY_READ), the shares
    of its ``relevant_memories`` that the *source* may read (member of the pool, in its audience)."""
    require_handoff_reader(handoff, reader.agent_id)
    require_capability(reader, AgentCapability.MEMORY_READ)
    require_open_grant(handoff, now)
    audience = audience_filter(source, SharedScope.GLOBAL)
    return [s for s in shares if tx.get_membership(s.pool_id, source.agent_id) is not None and audience.matches(s)]


def thread_capability(action: str) -> AgentCapability:
    """What a checkpointer thread action needs: MEMORY_READ to read, MEMORY_WRITE to write or delete."""
    return _THREAD_CAPABILITY[action]


def thread_handed_over(tx: StateTx, agent_id: str, thread_id: str, owner: str, now: float) -> bool:
    """Is there an open, unexpired handoff from ``owner`` to ``agent_id`` that carries the thread?"""
    return any(
        h.context.thread_id == thread_id and not h.is_expired_at(now)
        for h in tx.list_handoffs(target_id=agent_id, source_id=owner, statuses=_OPEN)
    )


def handoff_watch(tx: StateTx, agent: Agent) -> tuple[str, ...]:
    """The agents whose handoffs ``agent`` may list (the console): itself; for an active HUMAN
    agent, every agent of its owner. A deactivated agent: none."""
    if not agent.active:
        return ()
    if agent.agent_type is not AgentType.HUMAN:
        return (agent.agent_id,)
    return tuple(a.agent_id for a in tx.list_agents(owner_id=agent.owner_id))


def require_handoff_viewer(tx: StateTx, agent: Agent, handoff: Handoff) -> None:
    """A handoff's timeline is seen by its source and target, and by active HUMAN agents of
    either party's owner.

    Raises:
        PermissionDeniedError: Anyone else (as :func:`require_handoff_reader`), or a deactivated agent.
    """
    require_active(agent)
    parties = (handoff.source_agent_id, handoff.target_agent_id)
    if agent.agent_id in parties:
        return
    if agent.agent_type is AgentType.HUMAN:
        owners = {a.owner_id for a in (tx.get_agent(p) for p in parties) if a is not None}
        if agent.owner_id in owners:
            return
    require_handoff_reader(handoff, agent.agent_id)


def timeline_shows(handoff: Handoff, actor: str | None) -> bool:
    """Which audit entries of a handoff its viewers see: its parties' and the system's (expiry,
    no actor); another agent's refused attempt on it stays in that agent's owner's audit log."""
    return actor is None or actor in (handoff.source_agent_id, handoff.target_agent_id)
