"""Capacity limits and input-size limits: settings with the specification's defaults.

Example:
    >>> from maas_langchain.core.limits import CapacityLimits
    >>> CapacityLimits().max_pending_handoffs_per_target
    100
    >>> CapacityLimits.from_value({"max_agents": 5}).max_agents
    5
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from maas_langchain.errors import InvalidInputError

__all__ = ["CapacityLimits"]


@dataclass(frozen=True)
class CapacityLimits:
    """Every limit MaaS enforces. The first seven are the specification's DoS table.

    Attributes:
        max_agents: Registered agents (active or not).
        max_sessions: Open memory sessions.
        max_pools: Pools, active or archived.
        max_members_per_pool: Members of one pool.
        max_shared_memories_per_pool: Shares in one pool.
        max_handoffs: Handoffs kept, in any state (``cleanup_terminal_handoffs`` frees them).
        max_pending_handoffs_per_target: PENDING handoffs waiting for one target.
        max_metadata_bytes: JSON size of one metadata dict.
        max_context_bytes: JSON size of a handoff context or result.
        max_name_chars: Length of names and owner ids.
        max_query_limit: Largest page ``query_shared`` returns.
        max_memories: Memories stored, in any status.
        max_memories_per_owner: Memories written by the agents of one owner (user).
        max_memories_per_agent: Memories written by one agent (or under one session author label).
        max_pools_per_owner: Pools one owner (user) holds.
        max_store_items_per_agent: LangGraph store items an agent wrote (through a bound view)
            that still exist; the trusted in-process caller is not counted.
        max_store_bytes_per_agent: Total length (characters of JSON text) of those items.
        max_memory_chars: Characters of one memory's content.
        max_recall_top_k: Largest ``top_k`` a recall accepts.
        default_handoff_ttl_seconds: TTL when the caller gives none.
        max_handoff_ttl_seconds: Longest TTL accepted.
    """

    max_agents: int = 10_000
    max_sessions: int = 50_000
    max_pools: int = 10_000
    max_members_per_pool: int = 1_000
    max_shared_memories_per_pool: int = 100_000
    max_handoffs: int = 50_000
    max_pending_handoffs_per_target: int = 100
    max_metadata_bytes: int = 16_384
    max_context_bytes: int = 262_144
    max_name_chars: int = 256
    max_query_limit: int = 10_000
    max_memories: int = 1_000_000
    max_memories_per_owner: int = 200_000
    max_memories_per_agent: int = 50_000
    max_pools_per_owner: int = 1_000
    max_store_items_per_agent: int = 100_000
    max_store_bytes_per_agent: int = 256 * 1024 * 1024
    max_memory_chars: int = 32_000
    max_recall_top_k: int = 1_000
    default_handoff_ttl_seconds: float = 3_600.0
    max_handoff_ttl_seconds: float = 30 * 24 * 3_600.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise InvalidInputError(
                    f"capacity limit {f.name} must be a positive number, got {value!r}",
                    field=f.name,
                )

    @classmethod
    def from_value(cls, value: CapacityLimits | Mapping[str, Any] | None) -> CapacityLimits:
        """Accept limits as an instance, a mapping of overrides, or ``None`` (defaults).

        Raises:
            InvalidInputError: An unknown limit name or a non-positive value.
        """
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise InvalidInputError(f"limits must be a CapacityLimits or a mapping, got {type(value).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise InvalidInputError(
                f"unknown capacity limit(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return replace(cls(), **dict(value))
