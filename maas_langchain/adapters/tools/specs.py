"""Every tool spec, in a stable order: the specification's fifteen, then the additions.

The specs live by area in ``specs_agents``, ``specs_handoffs``, ``specs_pools`` and
``specs_memory``; :func:`tool_specs` returns a copy of :data:`ALL_TOOLS`.

Example:
    >>> [s.name for s in ALL_TOOLS][:3]
    ['register_agent', 'get_agent_info', 'get_agents_for_user']
    >>> len(SPEC_TOOL_NAMES), len(ALL_TOOLS)
    (15, 23)
"""

from __future__ import annotations

from maas_langchain.adapters.tools.registry import ToolSpec
from maas_langchain.adapters.tools.specs_agents import AGENT_TOOLS
from maas_langchain.adapters.tools.specs_handoffs import EXTRA_HANDOFF_TOOLS, HANDOFF_TOOLS
from maas_langchain.adapters.tools.specs_memory import KB_TOOLS, MEMORY_TOOLS
from maas_langchain.adapters.tools.specs_pools import POOL_TOOLS
from maas_langchain.adapters.tools.specs_structured import STRUCTURED_TOOLS
from maas_langchain.errors import NotFoundError

__all__ = ["ALL_TOOLS", "SPEC_TOOL_NAMES", "get_spec", "tool_specs"]

ALL_TOOLS: list[ToolSpec] = [
    *AGENT_TOOLS,
    *HANDOFF_TOOLS,
    *POOL_TOOLS,
    *KB_TOOLS,
    *MEMORY_TOOLS,
    *EXTRA_HANDOFF_TOOLS,
    *STRUCTURED_TOOLS,
]
"""Every tool both front ends publish."""

SPEC_TOOL_NAMES: tuple[str, ...] = tuple(s.name for s in ALL_TOOLS[:15])
"""The specification's fifteen MCP tool names, in its order."""


def tool_specs() -> list[ToolSpec]:
    """Every tool, in a stable order (the specification's 15, then the additions)."""
    return list(ALL_TOOLS)


def get_spec(name: str) -> ToolSpec:
    """The spec called ``name``.

    Raises:
        NotFoundError: No tool has that name.
    """
    for spec in tool_specs():
        if spec.name == name:
            return spec
    raise NotFoundError(f"no tool named {name!r}", tool=name)
