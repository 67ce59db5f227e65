"""Enumerations with the specification's names: agent types, capabilities, scopes, permissions.

Every enum accepts its member, its name or its value (case-insensitive) through ``parse``;
anything else is an :class:`~maas_langchain.errors.InvalidInputError` that lists the choices.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from maas_langchain.core.validation import show_value
from maas_langchain.errors import InvalidInputError

__all__ = [
    "DEFAULT_CAPABILITIES",
    "AgentCapability",
    "AgentType",
    "AuditEventType",
    "EventKind",
    "HandoffStatus",
    "MemoryStatus",
    "PermissionModel",
    "PoolStatus",
    "SharedScope",
]

E = TypeVar("E", bound="_ParseableEnum")


class _ParseableEnum(StrEnum):
    """A string enum whose ``parse`` turns names and values into members or a typed error."""

    @classmethod
    def parse(cls: type[E], value: Any) -> E:
        """Return the member for ``value`` (member, name or value, any case).

        Raises:
            InvalidInputError: ``value`` names no member.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            key = value.strip().lower()
            for member in cls:
                if key in (member.value, member.name.lower()):
                    return member
        choices = ", ".join(m.value for m in cls)
        raise InvalidInputError(
            f"{show_value(value)} is not a valid {cls.__name__}; expected one of: {choices}",
            field=cls.__name__,
        )

    def __str__(self) -> str:
        return str(self.value)


class _OrderedEnum(_ParseableEnum):
    """A string enum ordered by declaration, so ``SharedScope.USER < SharedScope.PROJECT``."""

    @property
    def level(self) -> int:
        """Position in the order, starting at 0."""
        return _LEVELS[self]

    def __lt__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.level < other.level

    def __le__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.level <= other.level

    def __gt__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.level > other.level

    def __ge__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.level >= other.level

    @classmethod
    def from_level(cls: type[E], level: int) -> E:
        """Return the member at position ``level``."""
        return list(cls)[level]

    __hash__ = _ParseableEnum.__hash__


class AgentType(_ParseableEnum):
    """Kinds of agent, each with default capabilities (see ``DEFAULT_CAPABILITIES``)."""

    CLAUDE_CODE = "claude_code"
    GPT_AGENT = "gpt_agent"
    CUSTOM_PIPELINE = "custom_pipeline"
    HUMAN = "human"


class AgentCapability(_ParseableEnum):
    """What an agent may do; checked on every operation."""

    MEMORY_READ = "memory_read"
    MEMORY_WRITE = "memory_write"
    MEMORY_DELETE = "memory_delete"
    KB_SEARCH = "kb_search"
    DECISION_READ = "decision_read"
    INCIDENT_READ = "incident_read"
    HANDOFF_INITIATE = "handoff_initiate"
    HANDOFF_RECEIVE = "handoff_receive"

    def __repr__(self) -> str:
        return self.name


class SharedScope(_OrderedEnum):
    """The audience of a shared memory, narrowest first.

    AGENT_PRIVATE: the author only. USER: agents of the same owner. PROJECT / TEAM: agents of
    the same project / team. GLOBAL: every reader of the pool.
    """

    AGENT_PRIVATE = "agent_private"
    USER = "user"
    PROJECT = "project"
    TEAM = "team"
    GLOBAL = "global"


class PermissionModel(_OrderedEnum):
    """A member's permission in a pool: READ < WRITE < ADMIN."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class HandoffStatus(_ParseableEnum):
    """Lifecycle of a handoff: PENDING → ACCEPTED → COMPLETED, or a terminal side exit."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        """True for PENDING and ACCEPTED, the states in which the TTL runs."""
        return self in (HandoffStatus.PENDING, HandoffStatus.ACCEPTED)

    @property
    def is_terminal(self) -> bool:
        """True once no further transition is possible."""
        return not self.is_open


class MemoryStatus(_ParseableEnum):
    """Lifecycle of a memory. Only ACTIVE memories are recalled (and indexed); the others stay
    in the relational store for history and audit."""

    ACTIVE = "active"
    QUARANTINED = "quarantined"
    SUPERSEDED = "superseded"
    DELETED = "deleted"


class PoolStatus(_ParseableEnum):
    """An active pool takes shares and members; an archived one is read-only."""

    ACTIVE = "active"
    ARCHIVED = "archived"


class AuditEventType(_ParseableEnum):
    """The specification's audit event types."""

    AGENT_AUTH = "AGENT_AUTH"
    POOL_OPERATION = "POOL_OPERATION"
    HANDOFF = "HANDOFF"
    CROSS_AGENT_READ = "CROSS_AGENT_READ"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    MEMORY_OPERATION = "MEMORY_OPERATION"


class EventKind(_ParseableEnum):
    """Kinds of event on the stream (``maas.events.subscribe``)."""

    AGENT_REGISTERED = "agent.registered"
    POOL_JOINED = "pool.joined"
    POOL_LEFT = "pool.left"
    MEMORY_SHARED = "memory.shared"
    MEMORY_WRITTEN = "memory.written"
    MEMORY_STATUS_CHANGED = "memory.status_changed"
    HANDOFF_INITIATED = "handoff.initiated"
    HANDOFF_ACCEPTED = "handoff.accepted"
    HANDOFF_REJECTED = "handoff.rejected"
    HANDOFF_COMPLETED = "handoff.completed"
    HANDOFF_EXPIRED = "handoff.expired"
    HANDOFF_CANCELLED = "handoff.cancelled"
    ENTITY_CONFLICT = "entity.conflict"


_LEVELS: dict[Any, int] = {m: i for e in (SharedScope, PermissionModel) for i, m in enumerate(e)}

_READ_SEARCH = frozenset(
    {
        AgentCapability.MEMORY_READ,
        AgentCapability.KB_SEARCH,
        AgentCapability.DECISION_READ,
        AgentCapability.INCIDENT_READ,
    }
)
_FULL = _READ_SEARCH | {
    AgentCapability.MEMORY_WRITE,
    AgentCapability.HANDOFF_INITIATE,
    AgentCapability.HANDOFF_RECEIVE,
}

DEFAULT_CAPABILITIES: dict[AgentType, frozenset[AgentCapability]] = {
    AgentType.CLAUDE_CODE: _FULL,
    AgentType.GPT_AGENT: _FULL,
    AgentType.CUSTOM_PIPELINE: _READ_SEARCH,
    AgentType.HUMAN: _FULL | {AgentCapability.MEMORY_DELETE},
}
"""Default capabilities per agent type, as the specification's table gives them."""
