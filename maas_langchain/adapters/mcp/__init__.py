"""The MCP server of MaaS: every registry tool over stdio or streamable HTTP, authenticated by API keys.

- :func:`~maas_langchain.adapters.mcp.mcp_server.build_server` — the low-level SDK server.
- :func:`~maas_langchain.adapters.mcp.app.create_http_app`, :func:`~maas_langchain.adapters.mcp.app.run_http`,
  :func:`~maas_langchain.adapters.mcp.app.run_stdio` — the transports (``maas serve``).

The HTTP transport also serves the REST API (:mod:`maas_langchain.adapters.rest`) on the same
port. Needs the ``mcp`` extra (``pip install "maas_langchain[mcp]"``, FastAPI included); importing the package
``maas_langchain`` does not load it.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["build_server", "create_http_app", "run_http", "run_stdio"]

_LAZY = {
    "build_server": "maas_langchain.adapters.mcp.mcp_server",
    "create_http_app": "maas_langchain.adapters.mcp.app",
    "run_http": "maas_langchain.adapters.mcp.app",
    "run_stdio": "maas_langchain.adapters.mcp.app",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        try:
            module = importlib.import_module(_LAZY[name])
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in ("mcp", "starlette", "uvicorn", "anyio", "fastapi"):
                raise
            from maas_langchain.embeddings import MissingDependencyError

            raise MissingDependencyError(
                f'the MCP server needs the mcp extra ({exc.name} is not installed): pip install "maas_langchain[mcp]"'
            ) from exc
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
