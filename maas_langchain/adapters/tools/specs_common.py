"""What the tool specs share: argument types, the acting-agent rule, strict services, JSON forms.

The acting agent is :attr:`ToolContext.agent_id`, bound by the front end. Arguments that the
specification names after the actor (``source_id``, and ``agent_id`` in tools that act as it)
default to it, and any other value is refused with ``permission_denied`` (audited) before
anything changes. Ids in arguments otherwise name targets, never the actor.

Handlers call the core services through :func:`services`: the same classes as ``maas.agents``,
``maas.pools`` and ``maas.handoffs`` over the same backend, limits, clock and audit, but with
``raise_on_denial`` on, so a denial reaches the model as ``permission_denied`` with the core's
own sentence instead of the specification's bare ``None`` / ``False``.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from maas_langchain.adapters.tools.registry import ToolContext
from maas_langchain.core.access import require_bound_identity, require_same_owner
from maas_langchain.core.agents import AgentRegistry
from maas_langchain.core.enums import AuditEventType
from maas_langchain.core.handoffs import HandoffManager
from maas_langchain.core.pools import PoolRegistry
from maas_langchain.core.records import Agent, Handoff, Memory, Pool, SharedMemory
from maas_langchain.core.runtime import Runtime
from maas_langchain.core.screening import redact, redact_value
from maas_langchain.errors import MaaSError

if TYPE_CHECKING:
    from maas_langchain.maas import MaaS

__all__ = [
    "acting_owner",
    "AgentTypeName",
    "Args",
    "Id",
    "PermissionName",
    "ScopeDict",
    "ScopeName",
    "Services",
    "acting_agent",
    "agent_json",
    "audited",
    "handoff_json",
    "jsonable",
    "memory_json",
    "pool_json",
    "services",
    "share_json",
]


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


class Args(BaseModel):
    """Base of every argument model: unknown arguments are refused (``invalid_input``)."""

    model_config = ConfigDict(extra="forbid")


Id = Annotated[str, Field(min_length=1, max_length=64)]
"""A MaaS id (a UUID such as ``3f2c...``); the core checks its form."""

ScopeName = Annotated[
    Literal["agent_private", "user", "project", "team", "global"],
    BeforeValidator(_lower),
]
"""A :class:`~maas_langchain.core.enums.SharedScope` value."""

PermissionName = Annotated[Literal["read", "write", "admin"], BeforeValidator(_lower)]
"""A :class:`~maas_langchain.core.enums.PermissionModel` value."""

AgentTypeName = Annotated[Literal["claude_code", "gpt_agent", "custom_pipeline", "human"], BeforeValidator(_lower)]
"""An :class:`~maas_langchain.core.enums.AgentType` value."""

ScopeDict = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=32)], Annotated[str, Field(min_length=1, max_length=200)]],
    Field(min_length=1, max_length=8),
]
"""A dict scope such as ``{"project": "alpha", "agent": "..."}`` (keys of the hierarchy)."""


@dataclasses.dataclass(frozen=True)
class Services:
    """The core services of one instance with ``raise_on_denial`` on."""

    agents: AgentRegistry
    pools: PoolRegistry
    handoffs: HandoffManager


_SERVICES: weakref.WeakKeyDictionary[Any, Services] = weakref.WeakKeyDictionary()


def services(maas: MaaS) -> Services:
    """The strict twin of ``maas``'s agent, pool and handoff services (cached per instance)."""
    found = _SERVICES.get(maas)
    if found is None:
        rt = maas.runtime
        strict = Runtime(rt.backend, rt.limits, rt.clock, audit=rt.audit_enabled, raise_on_denial=True)
        found = _SERVICES[maas] = Services(
            AgentRegistry(strict), PoolRegistry(strict, maas.scopes), HandoffManager(strict)
        )
    return found


def audited(ctx: ToolContext, exc: MaaSError, *, event: AuditEventType, action: str) -> MaaSError:
    """Record a denial raised by a core policy function the tool called directly; return it."""
    ctx.maas.runtime.record_failure(exc, event_type=event, action=action, actor=ctx.agent_id, target=None)
    return exc


def acting_owner(
    ctx: ToolContext, requested: str | None, what: str, *, event: AuditEventType, action: str
) -> tuple[Agent, str]:
    """The bound agent and the owner a tool acts for: ``requested`` or, left out, the agent's own
    owner; another user's id is refused (audited) — a model cannot act for another user."""
    actor = services(ctx.maas).agents.require_actor(ctx.agent_id, action=action)
    owner = actor.owner_id if requested is None else requested
    try:
        require_same_owner(actor, owner, what)
    except MaaSError as exc:
        raise audited(ctx, exc, event=event, action=action) from None
    return actor, owner


def _same_id(a: str, b: str) -> bool:
    try:
        return uuid.UUID(a) == uuid.UUID(b)
    except ValueError:
        return a == b


def acting_agent(ctx: ToolContext, value: str | None, field: str, action: str, *, event: AuditEventType) -> str:
    """The acting agent: ``value`` if it is the bound agent (or omitted); anything else is refused
    by :func:`~maas_langchain.core.access.require_bound_identity` (audited, nothing changes).

    Raises:
        PermissionDeniedError: ``value`` names another agent.
    """
    if value is None or _same_id(value, ctx.agent_id):
        return ctx.agent_id
    try:
        require_bound_identity(ctx.agent_id, value, field=field, action=action)
    except MaaSError as exc:
        ctx.maas.runtime.record_failure(exc, event_type=event, action=action, actor=ctx.agent_id, target=value[:64])
        raise
    return ctx.agent_id


def jsonable(value: Any) -> Any:
    """A JSON-ready copy: dataclasses and mappings as dicts, enums as values, sets sorted."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def agent_json(agent: Agent) -> dict[str, Any]:
    """An agent as a model sees it."""
    return {
        "agent_id": agent.agent_id,
        "agent_type": agent.agent_type.value,
        "owner_id": agent.owner_id,
        "name": agent.name,
        "project_id": agent.project_id,
        "team_id": agent.team_id,
        "capabilities": sorted(c.value for c in agent.capabilities),
        "active": agent.active,
        "created_at": agent.created_at,
        "metadata": redact_value(jsonable(agent.metadata)),
    }


def pool_json(pool: Pool) -> dict[str, Any]:
    """A pool as a model sees it."""
    return {
        "pool_id": pool.pool_id,
        "name": pool.name,
        "owner_id": pool.owner_id,
        "scope": pool.scope.value,
        "status": pool.status.value,
        "created_at": pool.created_at,
    }


def handoff_json(handoff: Handoff) -> dict[str, Any]:
    """A handoff with its context and timeline (secrets redacted)."""
    return {
        "handoff_id": handoff.handoff_id,
        "source_id": handoff.source_agent_id,
        "target_id": handoff.target_agent_id,
        "status": handoff.status.value,
        "context": redact_value(jsonable(handoff.context.to_dict())),
        "created_at": handoff.created_at,
        "expires_at": handoff.expires_at,
        "accepted_at": handoff.accepted_at,
        "finished_at": handoff.finished_at,
        "result": redact_value(jsonable(handoff.result)),
        "reason": None if handoff.reason is None else redact(handoff.reason),
    }


def share_json(share: SharedMemory) -> dict[str, Any]:
    """A shared memory (already redacted by the pool service)."""
    return {
        "memory_id": share.memory_id,
        "author_id": share.author_id,
        "scope": share.scope.value,
        "shared_at": share.shared_at,
        "content": share.content,
        "category": share.category,
        "metadata": jsonable(share.metadata),
    }


def memory_json(memory: Memory) -> dict[str, Any]:
    """A stored memory (already redacted by the memory service)."""
    return {
        "memory_id": memory.memory_id,
        "content": memory.content,
        "category": memory.category,
        "scope": dict(memory.scope),
        "status": memory.status.value,
        "author_id": memory.author_id,
        "created_at": memory.created_at,
        "metadata": jsonable(memory.metadata),
        "screening": list(memory.screening),
    }
