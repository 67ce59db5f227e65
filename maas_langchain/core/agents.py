"""Agent identity: registration, capabilities, deactivation and removal.

Example:
    >>> from maas_langchain import MaaS, AgentType
    >>> maas = MaaS.open(":memory:")
    >>> agent_id = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="user-123")
    >>> maas.agents.get_agent(agent_id).owner_id
    'user-123'
    >>> maas.close()
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from maas_langchain.core.access import load_actor
from maas_langchain.core.enums import (
    DEFAULT_CAPABILITIES,
    AgentCapability,
    AgentType,
    AuditEventType,
    EventKind,
)
from maas_langchain.core.handoffs import cancel_open_handoffs
from maas_langchain.core.ports.state import StateTx
from maas_langchain.core.records import Agent
from maas_langchain.core.runtime import AuditEntry, Runtime, default_runtime
from maas_langchain.core.validation import check_id, check_json, check_optional_text, check_text, new_id
from maas_langchain.errors import (
    CapacityExceededError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)

__all__ = ["AgentRegistry"]

_AUTH = AuditEventType.AGENT_AUTH


class AgentRegistry:
    """Registers agents and answers who they are and what they may do.

    ``AgentRegistry.get()`` returns the registry of the default instance (``MaaS.default()``,
    kept in ``./.maas/`` or ``$MAAS_HOME``); ``maas.agents`` is the one of an explicit instance.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    @classmethod
    def get(cls) -> AgentRegistry:
        """Return the registry of the default MaaS instance."""
        registry: AgentRegistry = default_runtime().agents
        return registry

    def register_agent(
        self,
        agent_type: AgentType | str,
        owner_id: str,
        *,
        name: str | None = None,
        project_id: str | None = None,
        team_id: str | None = None,
        capabilities: Iterable[AgentCapability | str] | None = None,
        metadata: dict[str, Any] | None = None,
        agent_id: str | None = None,
        external_id: str | None = None,
    ) -> str:
        """Register an agent and return its new 128-bit id — or, with ``external_id``, the id of
        the agent this owner already registered under that external id (re-running a script or
        notebook is normal: it gets the same agent back, with its threads and memories).

        Args:
            agent_type: One of :class:`AgentType` (or its name / value).
            owner_id: The user the agent acts for (verified by the orchestrator).
            name: A label for people.
            project_id: The agent's project: who shares its PROJECT-scoped memories.
            team_id: The agent's team: who shares its TEAM-scoped memories.
            capabilities: Override the type's defaults.
            metadata: Flat JSON-ready extras, at most ``limits.max_metadata_bytes``.
            agent_id: Register under this id (a UUID that is not in use).
            external_id: A stable name the caller gives this agent, unique per owner (e.g.
                ``"frontend-gpt"``); kept in ``metadata["external_id"]``.

        Raises:
            InvalidInputError: A malformed argument.
            ConflictError: ``agent_id`` is in use; the owner's agent with ``external_id`` has
                another type or is deactivated.
            CapacityExceededError: ``limits.max_agents`` agents exist.
        """
        lim = self._rt.limits
        kind = AgentType.parse(agent_type)
        caps = (
            DEFAULT_CAPABILITIES[kind]
            if capabilities is None
            else frozenset(AgentCapability.parse(c) for c in _iterable(capabilities, "capabilities"))
        )
        agent = Agent(
            agent_id=new_id() if agent_id is None else check_id(agent_id, "agent_id"),
            agent_type=kind,
            owner_id=check_text(owner_id, "owner_id", lim.max_name_chars),
            capabilities=caps,
            created_at=self._rt.clock(),
            name=check_optional_text(name, "name", lim.max_name_chars),
            project_id=check_optional_text(project_id, "project_id", lim.max_name_chars),
            team_id=check_optional_text(team_id, "team_id", lim.max_name_chars),
            metadata=check_json(metadata, "metadata", lim.max_metadata_bytes),
        )
        stable = check_optional_text(external_id, "external_id", lim.max_name_chars)
        if stable is not None:
            agent = Agent(**{**agent.__dict__, "metadata": {**agent.metadata, "external_id": stable}})

        def op(tx: StateTx) -> str:
            if stable is not None:
                known = [a for a in tx.list_agents(agent.owner_id) if a.metadata.get("external_id") == stable]
                if known:
                    return self._existing(known[0], kind, stable)
            if tx.get_agent(agent.agent_id) is not None:
                raise ConflictError(f"agent id {agent.agent_id} is already registered", agent_id=agent.agent_id)
            if tx.count_agents() >= lim.max_agents:
                raise CapacityExceededError(
                    f"the agent limit of {lim.max_agents} is reached; unregister agents to free capacity",
                    limit=lim.max_agents,
                )
            tx.insert_agent(agent)
            self._rt.emit(
                tx, EventKind.AGENT_REGISTERED, agent_id=agent.agent_id, owner_id=agent.owner_id, agent_type=kind.value
            )
            self._rt.record(
                tx,
                AuditEntry(
                    _AUTH,
                    "register",
                    agent.agent_id,
                    agent.agent_id,
                    details={
                        "agent_type": kind.value,
                        "owner_id": agent.owner_id,
                    },
                ),
            )
            return agent.agent_id

        return self._rt.write(op, event_type=_AUTH, action="register", actor=agent.agent_id, target=agent.agent_id)

    @staticmethod
    def _existing(found: Agent, kind: AgentType, external_id: str) -> str:
        """The agent an idempotent registration returns, if it matches what was asked."""
        if found.agent_type is not kind:
            raise ConflictError(
                f"owner {found.owner_id} already has agent {external_id!r} of type {found.agent_type.value}, "
                f"not {kind.value}; use another external_id",
                agent_id=found.agent_id,
            )
        if not found.active:
            raise ConflictError(
                f"agent {external_id!r} ({found.agent_id}) is deactivated; reactivate it or use another external_id",
                agent_id=found.agent_id,
            )
        return found.agent_id

    def get_agent(self, agent_id: str) -> Agent | None:
        """Return the agent, or ``None`` if no agent has that id.

        Raises:
            InvalidInputError: ``agent_id`` is not a well-formed id.
        """
        key = check_id(agent_id, "agent_id")
        return self._rt.read(lambda tx: tx.get_agent(key))

    def require_agent(self, agent_id: str) -> Agent:
        """Like :meth:`get_agent`, but an unknown id raises :class:`NotFoundError`."""
        agent = self.get_agent(agent_id)
        if agent is None:
            raise NotFoundError(f"no agent with id {agent_id}", agent_id=agent_id)
        return agent

    def require_actor(self, agent_id: str, *, action: str = "act") -> Agent:
        """The agent an agent-bound call acts as. Unknown and deactivated agents are *denied*
        (:func:`~maas_langchain.core.access.load_actor`), audited as ``action``.

        Raises:
            PermissionDeniedError: No such agent, or it is deactivated.
        """
        key = check_id(agent_id, "agent_id")
        try:
            return self._rt.read(lambda tx: load_actor(tx, key))
        except PermissionDeniedError as exc:
            self._rt.record_failure(exc, event_type=AuditEventType.AGENT_AUTH, action=action, actor=key, target=None)
            raise

    def get_agents_for_user(self, user_id: str) -> list[Agent]:
        """Return every agent owned by ``user_id``, oldest first."""
        owner = check_text(user_id, "user_id", self._rt.limits.max_name_chars)
        return self._rt.read(lambda tx: tx.list_agents(owner_id=owner))

    def list_agents(self) -> list[Agent]:
        """Return every registered agent, oldest first."""
        return self._rt.read(lambda tx: tx.list_agents())

    def has_capability(self, agent_id: str, capability: AgentCapability | str) -> bool:
        """True when the agent exists, is active and holds ``capability``."""
        wanted = AgentCapability.parse(capability)
        agent = self.get_agent(agent_id)
        return agent is not None and agent.can(wanted)

    def deactivate_agent(self, agent_id: str) -> bool:
        """Revoke all access of the agent at once; its records stay. Returns False if unknown."""
        return self._set_active(agent_id, False)

    def activate_agent(self, agent_id: str) -> bool:
        """Give a deactivated agent its access back. Returns False if unknown."""
        return self._set_active(agent_id, True)

    def _set_active(self, agent_id: str, active: bool) -> bool:
        key = check_id(agent_id, "agent_id")
        action = "activate" if active else "deactivate"

        def op(tx: StateTx) -> bool:
            if not tx.set_agent_active(key, active):
                return False
            self._rt.record(tx, AuditEntry(_AUTH, action, None, key))
            return True

        return self._rt.write(op, event_type=_AUTH, action=action, actor=None, target=key)

    def unregister_agent(self, agent_id: str) -> bool:
        """Remove the agent for good: its memberships go, its open handoffs are cancelled.

        Registering again under the same id inherits nothing. Returns False if unknown.
        """
        key = check_id(agent_id, "agent_id")

        def op(tx: StateTx) -> bool:
            if tx.get_agent(key) is None:
                return False
            cancelled = cancel_open_handoffs(self._rt, tx, key, "agent unregistered")
            tx.delete_agent(key)
            self._rt.record(tx, AuditEntry(_AUTH, "unregister", None, key, details={"handoffs_cancelled": cancelled}))
            return True

        return self._rt.write(op, event_type=_AUTH, action="unregister", actor=None, target=key)


def _iterable(value: Any, field: str) -> Iterable[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidInputError(f"{field} must be a collection of values", field=field)
    return value
