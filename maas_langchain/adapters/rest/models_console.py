"""Response models of the console operations (:mod:`maas_langchain.adapters.rest.specs_console`).

Closed like every success body of :mod:`maas_langchain.adapters.rest.models`, which merges
:data:`CONSOLE_RESPONSE_MODELS` into its ``RESPONSE_MODELS``.

Example:
    >>> sorted(CONSOLE_RESPONSE_MODELS["overview"].model_json_schema()["required"])
    ['agent', 'audit', 'counts', 'health']
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from maas_langchain.adapters.rest.models_shared import (
    Agent,
    AuditAnchor,
    ClosedModel,
    Handoff,
    MemoryStatus,
    PermissionName,
    Pool,
    Scope,
)

__all__ = ["CONSOLE_RESPONSE_MODELS"]

AgentTypeName = Literal["claude_code", "gpt_agent", "custom_pipeline", "human"]


class OverviewCounts(ClosedModel):
    """What the key's agent may see, counted."""

    agents: int = Field(description="Agents of its owner.")
    pools: int = Field(description="Pools it is a member of (a HUMAN agent: also those its owner owns).")
    open_handoffs: int = Field(description="Pending or accepted, unexpired handoffs it may list.")
    memories: int = Field(description="Memories at or below its own scope (its key's floor), any status; capped.")
    memories_capped: bool = Field(description="True when there are more than 100,000 (memories is then 100,000).")


class Health(ClosedModel):
    """The server's state."""

    backend: str = Field(description="sqlite, postgres or memory.")
    ok: bool


class AuditStatus(ClosedModel):
    """The audit chain's verification (``audit_verify``), for HUMAN agents."""

    intact: bool
    checked: int
    problems: list[str]
    last_anchor: AuditAnchor | None
    entries: int = Field(description="Entries in the log.")
    verified_at: float = Field(description="When this verification ran (the overview reuses one for 30 s).")


class Overview(ClosedModel):
    """The result of ``overview``."""

    agent: Agent
    counts: OverviewCounts
    health: Health
    audit: AuditStatus | None = Field(description="Null unless the key's agent is HUMAN.")


class PoolSummary(Pool):
    """A pool with your permission in it and its size."""

    your_permission: PermissionName | None = Field(description="Null when you are not a member (a HUMAN owner).")
    members: int


class PoolList(ClosedModel):
    """The result of ``list_pools``, oldest first."""

    items: list[PoolSummary]


class PoolMember(ClosedModel):
    """A member of a pool."""

    agent_id: str
    name: str | None
    agent_type: AgentTypeName | None = Field(description="Null if the agent record is gone.")
    permission: PermissionName
    joined_at: float
    active: bool


class PoolMembers(ClosedModel):
    """The result of ``pool_members``, oldest membership first."""

    pool_id: str
    items: list[PoolMember]


class MemoryReader(ClosedModel):
    """An agent that can read the memory, and why."""

    agent_id: str
    name: str | None
    agent_type: AgentTypeName
    reason: Literal["author", "scope", "reviewer", "handoff"] = Field(
        description="author; scope (its own scope sees the memory's); reviewer (a HUMAN agent, quarantined "
        "memory); handoff (an open handoff lists it)."
    )


class MemoryReaders(ClosedModel):
    """The result of ``memory_readers``: who can see this memory."""

    memory_id: str
    scope: Scope
    status: MemoryStatus
    readers: list[MemoryReader] = Field(description="Readers of your owner.")
    other_owners: int = Field(description="Readers of other owners (not named).")


class HandoffPage(ClosedModel):
    """One page of ``list_handoffs``, newest first."""

    items: list[Handoff]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")


class TimelineEvent(ClosedModel):
    """One audit entry of a handoff."""

    at: float
    action: str = Field(description="initiate, accept, complete, reject, cancel, expire, ...")
    actor: str | None = Field(description="Null for the system (expiry).")
    outcome: str
    reason: str | None


class HandoffTimeline(ClosedModel):
    """The result of ``handoff_timeline``."""

    handoff: Handoff
    events: list[TimelineEvent] = Field(description="In the order they happened.")


class ScopeCount(ClosedModel):
    """A scope and how many memories it holds."""

    scope: Scope
    count: int


class MemoryScopes(ClosedModel):
    """The result of ``memory_scopes``, in canonical scope order."""

    scope: Scope = Field(description="Where the tree starts.")
    items: list[ScopeCount]
    truncated: bool = Field(description="True when more than 1,000 scopes hold memories (the first 1,000 are listed).")


CONSOLE_RESPONSE_MODELS: dict[str, type[BaseModel]] = {
    "overview": Overview,
    "list_pools": PoolList,
    "pool_members": PoolMembers,
    "memory_readers": MemoryReaders,
    "list_handoffs": HandoffPage,
    "handoff_timeline": HandoffTimeline,
    "memory_scopes": MemoryScopes,
}
"""The success body of each console operation, by registry name."""
