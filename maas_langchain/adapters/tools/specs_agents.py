"""Agent tools: ``register_agent``, ``get_agent_info``, ``get_agents_for_user``.

A bound agent acts for its owner only: it looks up agents of its own user, and it registers
agents for its own user, in its own team and project, with at most its own capabilities (a
read-only pipeline cannot mint a full-access agent).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from maas_langchain.adapters.tools.registry import ToolContext, ToolSpec
from maas_langchain.adapters.tools.specs_common import (
    AgentTypeName,
    Args,
    Id,
    acting_owner,
    agent_json,
    audited,
    services,
)
from maas_langchain.core.access import registration_grant, require_same_owner
from maas_langchain.core.enums import AgentCapability, AgentType, AuditEventType
from maas_langchain.errors import MaaSError

__all__ = ["AGENT_TOOLS", "GetAgentInfoArgs", "GetAgentsForUserArgs", "RegisterAgentArgs"]

_AUTH = AuditEventType.AGENT_AUTH

CapabilityName = Annotated[
    Literal[
        "memory_read",
        "memory_write",
        "memory_delete",
        "kb_search",
        "decision_read",
        "incident_read",
        "handoff_initiate",
        "handoff_receive",
    ],
    BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
]


class RegisterAgentArgs(Args):
    """Arguments of ``register_agent``."""

    agent_type: AgentTypeName = Field(
        description="Kind of agent: claude_code or gpt_agent (full access), custom_pipeline (read and "
        "search only) or human. The new agent never gets a capability you lack."
    )
    owner_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="The user the new agent acts for. Leave out: it must be your own owner.",
    )
    name: str | None = Field(default=None, min_length=1, max_length=256, description="A label for people.")
    capabilities: list[CapabilityName] | None = Field(
        default=None,
        max_length=8,
        description="Narrow the new agent's capabilities (default: its type's, limited to yours).",
    )


class GetAgentInfoArgs(Args):
    """Arguments of ``get_agent_info``."""

    agent_id: Id | None = Field(
        default=None, description="The agent to look up (an agent of your own user). Leave out for yourself."
    )


class GetAgentsForUserArgs(Args):
    """Arguments of ``get_agents_for_user``."""

    user_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="The user whose agents to list. Leave out: it must be your own owner.",
    )


def _register_agent(ctx: ToolContext, args: RegisterAgentArgs) -> dict[str, Any]:
    svc = services(ctx.maas)
    actor = svc.agents.require_actor(ctx.agent_id)
    kind = AgentType.parse(args.agent_type)
    owner = actor.owner_id if args.owner_id is None else args.owner_id
    requested = None if args.capabilities is None else [AgentCapability.parse(c) for c in args.capabilities]
    try:
        caps = registration_grant(actor, kind, owner, requested)
    except MaaSError as exc:
        raise audited(ctx, exc, event=_AUTH, action="register") from None
    new_id = svc.agents.register_agent(
        kind,
        owner,
        name=args.name,
        project_id=actor.project_id,
        team_id=actor.team_id,
        capabilities=caps,
        metadata={"registered_by": actor.agent_id},
    )
    return agent_json(svc.agents.require_agent(new_id))


def _get_agent_info(ctx: ToolContext, args: GetAgentInfoArgs) -> dict[str, Any]:
    svc = services(ctx.maas)
    actor = svc.agents.require_actor(ctx.agent_id)
    if args.agent_id is None:
        return agent_json(actor)
    agent = svc.agents.require_agent(args.agent_id)
    try:
        require_same_owner(actor, agent.owner_id, "look up agents")
    except MaaSError as exc:
        raise audited(ctx, exc, event=_AUTH, action="get_agent_info") from None
    return agent_json(agent)


def _get_agents_for_user(ctx: ToolContext, args: GetAgentsForUserArgs) -> dict[str, Any]:
    _, user = acting_owner(ctx, args.user_id, "list agents", event=_AUTH, action="get_agents_for_user")
    agents = services(ctx.maas).agents.get_agents_for_user(user)
    return {"user_id": user, "agents": [agent_json(a) for a in agents]}


AGENT_TOOLS = [
    ToolSpec(
        name="register_agent",
        description=(
            "Register a new agent for your own user, in your team and project, and return its record "
            "(agent_id first). Use it to create a helper agent you can hand tasks to. The new agent "
            "gets its type's default capabilities, limited to the ones you hold."
        ),
        args_schema=RegisterAgentArgs,
        handler=_register_agent,
        writes=True,
        tags=("agents",),
    ),
    ToolSpec(
        name="get_agent_info",
        description=(
            "Look up an agent: type, owner, team, project, capabilities and whether it is active. "
            "Leave agent_id out to see your own identity. Only agents of your own user are visible."
        ),
        args_schema=GetAgentInfoArgs,
        handler=_get_agent_info,
        tags=("agents",),
    ),
    ToolSpec(
        name="get_agents_for_user",
        description=(
            "List the agents of your user (oldest first), e.g. to find an agent_id to hand a task "
            "to. Leave user_id out; other users' agents are not visible."
        ),
        args_schema=GetAgentsForUserArgs,
        handler=_get_agents_for_user,
        tags=("agents",),
    ),
]
"""The agent-management tools, in the specification's order."""
