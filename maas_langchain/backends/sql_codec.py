"""Row codecs for the SQL backends: column lists and record <-> row conversion.

Pure functions, shared by every relational backend (``storage.sql``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from maas_langchain.core.enums import (
    AgentCapability,
    AgentType,
    AuditEventType,
    EventKind,
    HandoffStatus,
    PermissionModel,
    PoolStatus,
    SharedScope,
)
from maas_langchain.core.records import (
    Agent,
    AuditEvent,
    Handoff,
    HandoffContext,
    MaaSEvent,
    Membership,
    Pool,
    SharedMemory,
)

__all__ = [
    "AGENT_COLUMNS",
    "AUDIT_COLUMNS",
    "audit_params",
    "EVENT_COLUMNS",
    "HANDOFF_COLUMNS",
    "MEMBER_COLUMNS",
    "POOL_COLUMNS",
    "SHARE_COLUMNS",
    "agent_from_row",
    "audit_from_row",
    "dump",
    "event_from_row",
    "handoff_from_row",
    "handoff_params",
    "member_from_row",
    "pool_from_row",
    "share_from_row",
]

AGENT_COLUMNS = "agent_id, agent_type, owner_id, name, project_id, team_id, capabilities, active, metadata, created_at"
POOL_COLUMNS = "pool_id, name, owner_id, scope, status, metadata, created_at"
MEMBER_COLUMNS = "pool_id, agent_id, permission, joined_at"
SHARE_COLUMNS = "pool_id, memory_id, author_id, scope_level, owner_id, project_id, team_id, shared_at, metadata, seq"
HANDOFF_COLUMNS = (
    "handoff_id, source_agent_id, target_agent_id, context, status, created_at, expires_at, updated_at, "
    "accepted_at, finished_at, result, reason"
)
AUDIT_COLUMNS = "seq, timestamp, event_type, action, actor, target, outcome, reason, details, prev_hash, hash"
EVENT_COLUMNS = "seq, kind, timestamp, pool_id, data"


def audit_params(event: Any) -> tuple[Any, ...]:
    """The values of :data:`AUDIT_COLUMNS` for an :class:`~maas_langchain.core.records.AuditEvent`."""
    return (
        event.seq,
        event.timestamp,
        event.event_type.value,
        event.action,
        event.actor,
        event.target,
        event.outcome,
        event.reason,
        dump(event.details),
        event.prev_hash,
        event.hash,
    )


def dump(value: Any) -> str:
    """Compact JSON text of ``value``."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@functools.lru_cache(maxsize=256)
def _capabilities(text: str) -> frozenset[AgentCapability]:
    return frozenset(AgentCapability(c) for c in json.loads(text))


def _json_dict(text: str) -> dict[str, Any]:
    return {} if text == "{}" else dict(json.loads(text))


def agent_from_row(row: Sequence[Any]) -> Agent:
    """Decode an ``agents`` row."""
    return Agent(
        agent_id=row[0],
        agent_type=AgentType(row[1]),
        owner_id=row[2],
        name=row[3],
        project_id=row[4],
        team_id=row[5],
        capabilities=_capabilities(row[6]),
        active=bool(row[7]),
        metadata=_json_dict(row[8]),
        created_at=row[9],
    )


def pool_from_row(row: Sequence[Any]) -> Pool:
    """Decode a ``pools`` row."""
    return Pool(row[0], row[1], row[2], SharedScope(row[3]), row[6], PoolStatus(row[4]), _json_dict(row[5]))


def member_from_row(row: Sequence[Any]) -> Membership:
    """Decode a ``memberships`` row."""
    return Membership(row[0], row[1], PermissionModel(row[2]), row[3])


def share_from_row(row: Sequence[Any]) -> SharedMemory:
    """Decode a ``shared_memories`` row."""
    return SharedMemory(
        pool_id=row[0],
        memory_id=row[1],
        author_id=row[2],
        scope=SharedScope.from_level(row[3]),
        owner_id=row[4],
        project_id=row[5],
        team_id=row[6],
        shared_at=row[7],
        metadata=_json_dict(row[8]),
        seq=row[9],
        content=row[10] if len(row) > 10 else None,
        category=row[11] if len(row) > 11 else None,
    )


def handoff_from_row(row: Sequence[Any]) -> Handoff:
    """Decode a ``handoffs`` row."""
    return Handoff(
        handoff_id=row[0],
        source_agent_id=row[1],
        target_agent_id=row[2],
        context=HandoffContext.from_dict(json.loads(row[3])),
        status=HandoffStatus(row[4]),
        created_at=row[5],
        expires_at=row[6],
        updated_at=row[7],
        accepted_at=row[8],
        finished_at=row[9],
        result=None if row[10] is None else json.loads(row[10]),
        reason=row[11],
    )


def audit_from_row(row: Sequence[Any]) -> AuditEvent:
    """Decode an ``audit_log`` row."""
    return AuditEvent(
        seq=row[0],
        timestamp=row[1],
        event_type=AuditEventType(row[2]),
        action=row[3],
        actor=row[4],
        target=row[5],
        outcome=row[6],
        reason=row[7],
        details=json.loads(row[8]),
        prev_hash=row[9],
        hash=row[10],
    )


def handoff_params(h: Handoff) -> tuple[Any, ...]:
    """Encode a handoff as ``HANDOFF_COLUMNS`` parameters."""
    return (
        h.handoff_id,
        h.source_agent_id,
        h.target_agent_id,
        dump(h.context.to_dict()),
        h.status.value,
        h.created_at,
        h.expires_at,
        h.updated_at,
        h.accepted_at,
        h.finished_at,
        None if h.result is None else dump(h.result),
        h.reason,
    )


def event_from_row(row: Sequence[Any]) -> MaaSEvent:
    """Decode an ``events`` row."""
    return MaaSEvent(row[0], EventKind(row[1]), row[2], row[3], json.loads(row[4]))
