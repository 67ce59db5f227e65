"""LangChain tools generated from the registry, bound to one agent.

:class:`MaaSToolkit` turns every :class:`~maas_langchain.adapters.tools.registry.ToolSpec` into a
:class:`MaaSTool` (a ``BaseTool`` with the spec's name, description and argument schema). The
acting agent is fixed when the toolkit is built; nothing a model writes can change it.

Every call returns JSON text, the same envelope the MCP server sends::

    {"ok": true, "result": {...}}
    {"ok": false, "error": {"code": "permission_denied", "message": "..."}}

Errors (bad arguments included) come back as a ``ToolMessage`` with ``status="error"`` and that
envelope as content, so the model reads the stable code and a sentence it can act on, and the
run goes on. ``ainvoke`` runs the call in a worker thread.

Example:
    >>> import json
    >>> from maas_langchain import MaaS, AgentType
    >>> from maas_langchain.embeddings import HashingEmbeddings
    >>> maas = MaaS.open(":memory:", embeddings=HashingEmbeddings())
    >>> me = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1", project_id="alpha")
    >>> tools = {t.name: t for t in MaaSToolkit(maas, agent_id=me).get_tools()}
    >>> json.loads(tools["get_agent_info"].invoke({}))["result"]["agent_id"] == me
    True
    >>> json.loads(tools["recall"].invoke({"query": "auth", "scope": {"project": "beta"}}))["error"]["code"]
    'permission_denied'
    >>> maas.close()
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from langchain_core.tools import BaseTool, BaseToolkit, ToolException
from pydantic import ConfigDict, PrivateAttr

from maas_langchain.adapters.tools.registry import ToolContext, ToolSpec, execute, validation_error_result
from maas_langchain.adapters.tools.specs import tool_specs
from maas_langchain.maas import MaaS

__all__ = ["MaaSTool", "MaaSToolkit"]


class MaaSTool(BaseTool):
    """One registry spec as a LangChain tool, acting as the agent of its :class:`ToolContext`.

    Args:
        spec: The tool's spec (name, description, argument model, handler).
        context: Who acts, on which instance.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    handle_tool_error: Any = True
    _spec: ToolSpec = PrivateAttr()
    _context: ToolContext = PrivateAttr()

    def __init__(self, spec: ToolSpec, context: ToolContext, **kwargs: Any) -> None:
        super().__init__(
            name=spec.name,
            description=spec.description,
            args_schema=spec.args_schema,
            handle_validation_error=lambda exc: validation_error_result(spec, exc, context).as_json(),
            tags=list(spec.tags),
            metadata={"maas_writes": spec.writes},
            **kwargs,
        )
        self._spec = spec
        self._context = context

    @property
    def spec(self) -> ToolSpec:
        """The registry spec this tool was generated from."""
        return self._spec

    @property
    def context(self) -> ToolContext:
        """The bound acting agent and instance."""
        return self._context

    def _run(self, **kwargs: Any) -> str:
        result = execute(self._spec, self._context, kwargs)
        if not result.ok:
            raise ToolException(result.as_json())  # handled: a ToolMessage with status="error"
        return result.as_json()

    async def _arun(self, **kwargs: Any) -> str:
        return await asyncio.to_thread(self._run, **kwargs)


class MaaSToolkit(BaseToolkit):
    """The MaaS tools for one agent.

    Args:
        maas: The open instance to act on.
        agent_id: The acting agent (must exist). Tools that name the actor refuse other ids.
        scope_floor: The widest dict scope ``remember`` / ``recall`` may use instead of the
            agent's own scope (as an API key's floor); ``None``: the agent's own scope.
        read_only: Leave out the tools that change state (and refuse them if called).

    Raises:
        NotFoundError: ``agent_id`` names no agent.
        InvalidInputError: A malformed ``agent_id`` or ``scope_floor``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    maas: Any
    agent_id: str
    scope_floor: dict[str, str] | None = None
    read_only: bool = False

    def __init__(
        self,
        maas: MaaS,
        *,
        agent_id: str,
        scope_floor: Mapping[str, str] | None = None,
        read_only: bool = False,
    ) -> None:
        agent = maas.agents.require_agent(agent_id)
        floor = None if scope_floor is None else maas.scopes.check(scope_floor, "scope_floor")
        fields: dict[str, Any] = {
            "maas": maas,
            "agent_id": agent.agent_id,
            "scope_floor": floor,
            "read_only": read_only,
        }
        super().__init__(**fields)

    @property
    def context(self) -> ToolContext:
        """The :class:`ToolContext` every tool of this toolkit runs with."""
        return ToolContext(self.maas, self.agent_id, self.scope_floor, self.read_only)

    def get_tools(self) -> list[BaseTool]:
        """One :class:`MaaSTool` per registry spec, in the registry's order (read-only: no writers)."""
        ctx = self.context
        return [MaaSTool(spec, ctx) for spec in tool_specs() if not (self.read_only and spec.writes)]
