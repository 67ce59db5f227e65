"""Response models the REST API's groups of operations share: the closed base, agents, pools,
handoffs and audit anchors (:mod:`.models` and :mod:`.models_console` both use them).

Example:
    >>> Pool.model_json_schema()["additionalProperties"]
    False
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Agent", "AuditAnchor", "ClosedModel", "Handoff", "HandoffContext", "Pool"]

Scope = dict[str, str]  # a dict scope such as {"org": "acme", "project": "q3"}
Open = dict[str, Any]  # an open-ended JSON object (metadata, state, reasons)
MemoryStatus = Literal["active", "quarantined", "superseded", "deleted"]
SharedScopeName = Literal["agent_private", "user", "project", "team", "global"]
PermissionName = Literal["read", "write", "admin"]


class ClosedModel(BaseModel):
    """A closed response object: every key it documents, and no other."""

    model_config = ConfigDict(extra="forbid")


class Agent(ClosedModel):
    """A registered agent."""

    agent_id: str
    agent_type: Literal["claude_code", "gpt_agent", "custom_pipeline", "human"]
    owner_id: str
    name: str | None
    project_id: str | None
    team_id: str | None
    capabilities: list[str] = Field(description="Sorted capability names (memory_read, ...).")
    active: bool
    created_at: float
    metadata: Open


class Pool(ClosedModel):
    """A shared memory pool."""

    pool_id: str
    name: str
    owner_id: str
    scope: SharedScopeName = Field(description="The widest audience a share in it may have.")
    status: Literal["active", "archived"]
    created_at: float


class HandoffContext(ClosedModel):
    """What the source handed over (secrets redacted)."""

    task_description: str
    current_state: Open
    relevant_memories: list[str]
    relevant_files: list[str]
    notes: Open
    thread_id: str | None = Field(default=None, description="Present only when a LangGraph thread is handed over.")


class Handoff(ClosedModel):
    """A handoff with its context and timeline."""

    handoff_id: str
    source_id: str
    target_id: str
    status: Literal["pending", "accepted", "completed", "rejected", "expired", "cancelled"]
    context: HandoffContext
    created_at: float
    expires_at: float
    accepted_at: float | None
    finished_at: float | None
    result: Open | None = Field(description="The target's result once completed.")
    reason: str | None = Field(description="Why it was rejected or cancelled.")


class AuditAnchor(ClosedModel):
    """A signed witness of the chain, kept outside the database."""

    seq: int
    hash: str
    count: int
    keyed_from: int
    time: float
    key_id: str
    location: str
    mac: str
