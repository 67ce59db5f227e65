"""Tools for LLM agents, generated from one registry (:mod:`maas_langchain.adapters.tools.registry`).

- :class:`~maas_langchain.adapters.tools.langchain.MaaSToolkit` — LangChain tools bound to one agent.
- The MCP server (:mod:`maas_langchain.adapters.mcp`) publishes the same specs.
"""

from __future__ import annotations

import importlib
from typing import Any

from maas_langchain.adapters.tools.registry import ToolContext, ToolResult, ToolSpec, execute
from maas_langchain.adapters.tools.specs import tool_specs

_LAZY = {"MaaSToolkit": "maas_langchain.adapters.tools.langchain"}

__all__ = ["MaaSToolkit", "ToolContext", "ToolResult", "ToolSpec", "execute", "tool_specs"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
