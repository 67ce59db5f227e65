"""Domain records: frozen dataclasses that the services return and the backends store.

Nested containers (handoff context, results, metadata) are deep-copied whenever a record is
built, so a caller that mutates what it passed in, or what it got back, never changes stored
state (the specification's "defensive copies").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from maas_langchain.core.enums import (
    AgentCapability,
    AgentType,
    AuditEventType,
    EventKind,
    HandoffStatus,
    MemoryStatus,
    PermissionModel,
    PoolStatus,
    SharedScope,
)
from maas_langchain.errors import InvalidInputError

__all__ = [
    "Agent",
    "AuditEvent",
    "Handoff",
    "HandoffContext",
    "MaaSEvent",
    "Memory",
    "MemorySession",
    "Membership",
    "Pool",
    "SharedMemory",
]


_IMMUTABLE = (str, int, float, bool, type(None))


def _frozen_copy(obj: object, name: str, value: Any) -> None:
    if not value or isinstance(value, _IMMUTABLE):
        object.__setattr__(obj, name, type(value)() if isinstance(value, (dict, list)) else value)
        return
    object.__setattr__(obj, name, copy.deepcopy(value))


@dataclass(frozen=True)
class Agent:
    """A registered agent: its identity, owner, audience keys and capabilities.

    ``project_id`` and ``team_id`` decide who is in the PROJECT and TEAM audiences of the
    memories it shares; ``None`` is a value of its own ("no project").
    """

    agent_id: str
    agent_type: AgentType
    owner_id: str
    capabilities: frozenset[AgentCapability]
    created_at: float
    name: str | None = None
    project_id: str | None = None
    team_id: str | None = None
    active: bool = True
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _frozen_copy(self, "metadata", self.metadata)
        if type(self.capabilities) is not frozenset:
            object.__setattr__(self, "capabilities", frozenset(self.capabilities))

    def can(self, capability: AgentCapability) -> bool:
        """True when the agent is active and holds ``capability``."""
        return self.active and capability in self.capabilities


@dataclass(frozen=True)
class Pool:
    """A shared memory pool. ``scope`` is the widest audience a share in it may have."""

    pool_id: str
    name: str
    owner_id: str
    scope: SharedScope
    created_at: float
    status: PoolStatus = PoolStatus.ACTIVE
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _frozen_copy(self, "metadata", self.metadata)


@dataclass(frozen=True)
class Membership:
    """An agent's permission in a pool."""

    pool_id: str
    agent_id: str
    permission: PermissionModel
    joined_at: float


@dataclass(frozen=True)
class SharedMemory:
    """A memory shared into a pool at a scope, with the author's audience keys at share time."""

    pool_id: str
    memory_id: str
    author_id: str
    scope: SharedScope
    owner_id: str
    project_id: str | None
    team_id: str | None
    shared_at: float
    metadata: dict[str, Any] = field(default_factory=dict)
    seq: int = 0
    content: str | None = None
    """The memory's text when ``memory_id`` names a stored memory (``None`` for an external
    reference, such as the specification's ``"mem-bug-123"``). Redacted on read."""
    category: str | None = None

    def __post_init__(self) -> None:
        _frozen_copy(self, "metadata", self.metadata)


@dataclass(frozen=True)
class Memory:
    """One stored memory: the relational store's record (the vector index only points at it).

    Attributes:
        memory_id: Random 128-bit id.
        content: The text, as written (redacted when read through the services).
        category: ``knowledge``, ``decision``, ``incident``, ``code`` or free text.
        scope: Spectron dict scope (``{"org": ..., "project": ..., "agent": ...}``); empty for
            a memory that lives only in a pool.
        author_id: The agent that wrote it, if known.
        session_id: The session it was written in, if any.
        pool_id: The pool it was written into, if any.
        metadata: Provenance: flat JSON scalars (``source``, ``agent``, ...).
        created_at: When it was written.
        valid_from: Since when the fact holds (defaults to ``created_at``).
        valid_to: When it stopped holding (set on supersession or deletion), else ``None``.
        status: ACTIVE, QUARANTINED, SUPERSEDED or DELETED.
        supersedes: The memory this one replaced.
        superseded_by: The memory that replaced this one.
        screening: Pattern families screening matched (empty when clean).
    """

    memory_id: str
    content: str
    category: str
    scope: dict[str, str]
    created_at: float
    author_id: str | None = None
    session_id: str | None = None
    pool_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    valid_from: float | None = None
    valid_to: float | None = None
    status: MemoryStatus = MemoryStatus.ACTIVE
    supersedes: str | None = None
    superseded_by: str | None = None
    screening: tuple[str, ...] = ()
    seq: int = 0

    def __post_init__(self) -> None:
        _frozen_copy(self, "metadata", self.metadata)
        _frozen_copy(self, "scope", self.scope)
        if self.valid_from is None:
            object.__setattr__(self, "valid_from", self.created_at)

    def is_current(self, at: float | None = None) -> bool:
        """True when ACTIVE and, at time ``at`` (default: now-ish, any), inside its validity."""
        if self.status is not MemoryStatus.ACTIVE:
            return False
        if at is None:
            return self.valid_to is None
        return (self.valid_from or 0.0) <= at and (self.valid_to is None or at < self.valid_to)


@dataclass(frozen=True)
class MemorySession:
    """A session bound to one scope (Spectron's ``sessions.create(scope=...)``)."""

    session_id: str
    scope: dict[str, str]
    created_at: float
    agent_id: str | None = None
    closed_at: float | None = None
    last_memory_id: str | None = None

    def __post_init__(self) -> None:
        _frozen_copy(self, "scope", self.scope)


@dataclass(frozen=True)
class HandoffContext:
    """What the source agent hands to the target: the task, its state, memories and files.

    Args:
        task_description: What the target should do; must not be empty.
        current_state: JSON-ready dict of progress so far.
        relevant_memories: Memory ids the target may read while the handoff is open.
        relevant_files: Paths the target should look at.
        notes: Free-form JSON-ready extras.
        thread_id: A LangGraph thread the source owns; while the handoff is open the target
            may read and write it through the MaaS checkpointer.
    """

    task_description: str
    current_state: dict[str, Any] = field(default_factory=dict)
    relevant_memories: list[str] = field(default_factory=list)
    relevant_files: list[str] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    thread_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("current_state", "relevant_memories", "relevant_files", "notes"):
            _frozen_copy(self, name, getattr(self, name))

    def to_dict(self) -> dict[str, Any]:
        """Return a deep copy as a JSON-ready dict."""
        return {
            "task_description": self.task_description,
            "current_state": copy.deepcopy(self.current_state),
            "relevant_memories": list(self.relevant_memories),
            "relevant_files": list(self.relevant_files),
            "notes": copy.deepcopy(self.notes),
        } | ({} if self.thread_id is None else {"thread_id": self.thread_id})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HandoffContext:
        """Build a context from ``to_dict`` output (unknown keys are ignored).

        Raises:
            InvalidInputError: A list field is not a list (a string is not split into letters).
        """
        lists = {}
        for name in ("relevant_memories", "relevant_files"):
            value = data.get(name)
            if value is not None and not isinstance(value, (list, tuple)):
                raise InvalidInputError(f"{name} must be a list of strings, got {type(value).__name__}", field=name)
            lists[name] = list(value or [])
        return cls(
            task_description=data["task_description"],
            current_state=data.get("current_state") or {},
            notes=data.get("notes") or {},
            thread_id=data.get("thread_id"),
            **lists,
        )


@dataclass(frozen=True)
class Handoff:
    """A task handed from ``source_agent_id`` to ``target_agent_id``, with its timeline."""

    handoff_id: str
    source_agent_id: str
    target_agent_id: str
    context: HandoffContext
    status: HandoffStatus
    created_at: float
    expires_at: float
    updated_at: float
    accepted_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        _frozen_copy(self, "result", self.result)

    def is_expired_at(self, now: float) -> bool:
        """True when the handoff is open but its TTL has run out at ``now``."""
        return self.status.is_open and now >= self.expires_at


@dataclass(frozen=True)
class AuditEvent:
    """One entry of the hash-chained audit log."""

    seq: int
    timestamp: float
    event_type: AuditEventType
    action: str
    actor: str | None
    target: str | None
    outcome: str
    reason: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def __post_init__(self) -> None:
        _frozen_copy(self, "details", self.details)


@dataclass(frozen=True)
class MaaSEvent:
    """One change on the event stream.

    Attributes:
        seq: Position in the stream; strictly increasing in commit order.
        kind: What happened.
        timestamp: When it was committed (seconds since the epoch).
        pool_id: The pool concerned, if any.
        data: Ids and facts of the change (``agent_id``, ``handoff_id``, ``source``, ``target``,
            ``memory_id``, ``scope``, ...).
    """

    seq: int
    kind: EventKind
    timestamp: float
    pool_id: str | None
    data: dict[str, Any]

    def __post_init__(self) -> None:
        _frozen_copy(self, "data", self.data)


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret.

    Attributes:
        key_id: Public id (32 hex characters), the middle part of the key.
        agent_id: The agent every call made with the key acts as.
        scope_floor: The widest dict scope the key may use (``None``: the agent's own rights).
        read_only: Tools that change state are refused.
        created_at: Seconds since the epoch.
        expires_at: When the key stops working (``None``: never).
        revoked_at: When it was revoked (``None``: not revoked).
        name: A label for people (``maas keys list``).
    """

    key_id: str
    agent_id: str
    scope_floor: dict[str, str] | None
    read_only: bool
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None
    name: str | None = None

    def usable_at(self, now: float) -> bool:
        """True when neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (no secret, no hash)."""
        return {
            "key_id": self.key_id,
            "agent_id": self.agent_id,
            "scope_floor": None if self.scope_floor is None else dict(self.scope_floor),
            "read_only": self.read_only,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "name": self.name,
        }
