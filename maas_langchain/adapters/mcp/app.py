"""Running the MCP server: stdio for one client process, streamable HTTP for many.

* :func:`run_stdio` — the key is ``MAAS_API_KEY``, fixed for the process. Anything a library
  prints to standard output would corrupt the protocol, so file descriptor 1 is pointed at
  standard error and the protocol gets a private duplicate of the original stdout.
* :func:`create_http_app` / :func:`run_http` — a Starlette app with the SDK's
  :class:`~mcp.server.streamable_http_manager.StreamableHTTPSessionManager` at ``/mcp``
  behind :class:`~maas_langchain.adapters.mcp.auth.BearerKeyMiddleware`. Stateless with JSON
  responses: no session lives in the server, so replicas behind a load balancer need no
  stickiness (the scale-out mode), and each request is authenticated on its own.
  ``/healthz`` answers ``{"ok": true}`` without a key.

Example:
    $ MAAS_API_KEY=maas_... maas serve              # stdio
    $ maas serve --http --port 8765                 # http://127.0.0.1:8765/mcp
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from maas_langchain.adapters.mcp.auth import BearerKeyMiddleware, http_key_source, stdio_key_source
from maas_langchain.adapters.mcp.mcp_server import build_server
from maas_langchain.adapters.tools.registry import ToolSpec

if TYPE_CHECKING:
    from maas_langchain.maas import MaaS

__all__ = ["create_http_app", "run_http", "run_stdio"]


def create_http_app(maas: MaaS, specs: Sequence[ToolSpec] | None = None, *, path: str = "/mcp") -> Starlette:
    """The ASGI app of the HTTP transport (the session manager runs in its lifespan).

    Args:
        maas: The open instance the tools act on.
        specs: The tools to publish (default: every tool of the registry).
        path: Where the MCP endpoint is mounted.
    """
    server = build_server(maas, http_key_source, None if specs is None else list(specs))
    manager = StreamableHTTPSessionManager(app=server, json_response=True, stateless=True)

    def authenticate(token: str | None) -> Any:
        return maas.keys.authenticate(token, via="http")

    guarded = BearerKeyMiddleware(manager.handle_request, authenticate)  # an ASGI app: Route passes it through

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    routes = [Route("/healthz", health, methods=["GET"]), Route(path, endpoint=guarded)]
    return Starlette(routes=routes, lifespan=lifespan)


def run_http(maas: MaaS, *, host: str = "127.0.0.1", port: int = 8765, log_level: str = "warning") -> None:
    """Serve the HTTP transport with uvicorn until interrupted."""
    import uvicorn

    app = create_http_app(maas)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def run_stdio(maas: MaaS, api_key: str | None) -> None:
    """Serve one client over standard input and output, acting as ``api_key``'s agent.

    Raises:
        InvalidApiKeyError: The key is missing or not valid (checked before serving).
    """
    maas.keys.authenticate(api_key, via="stdio")
    protocol_out = _private_stdout()
    server = build_server(maas, stdio_key_source(maas, api_key))

    async def main() -> None:
        async with stdio_server(stdout=anyio.wrap_file(protocol_out)) as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)


def _private_stdout() -> io.TextIOWrapper:
    """A text stream on a duplicate of fd 1; fd 1 itself (and ``sys.stdout``) now go to stderr."""
    sys.stdout.flush()
    duplicate = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return io.TextIOWrapper(os.fdopen(duplicate, "wb"), encoding="utf-8", line_buffering=False)
