"""Running the MCP server: stdio for one client process, streamable HTTP for many.

* :func:`run_stdio` — the key is ``MAAS_API_KEY``, fixed for the process. Anything a library
  prints to standard output would corrupt the protocol, so file descriptor 1 is pointed at
  standard error and the protocol gets a private duplicate of the original stdout.
* :func:`create_http_app` / :func:`run_http` — a Starlette app with the SDK's
  :class:`~mcp.server.streamable_http_manager.StreamableHTTPSessionManager` at ``/mcp``
  behind :class:`~maas_langchain.adapters.mcp.auth.BearerKeyMiddleware`. Stateless with JSON
  responses: no session lives in the server, so replicas behind a load balancer need no
  stickiness (the scale-out mode), and each request is authenticated on its own.
  ``/healthz`` answers ``{"ok": true}`` without a key, and without a rate limit.
* The REST API (:mod:`maas_langchain.adapters.rest`, ``/v1/...``) is mounted on the same app
  behind :class:`~maas_langchain.adapters.rest.http.RestGuard`, with the same key store and
  limits; ``/v1/openapi.json`` is served without a key.
* The web console (:mod:`maas_langchain.adapters.console`, ``/console``): static pages served
  without a key; the key is typed into the page, which calls the REST API with it.
* Abuse limits (:class:`~maas_langchain.adapters.ratelimit.AbuseLimits`, ``limits=``): the
  per-address limit wraps the whole app (routes mounted later are covered), the per-key limit
  follows authentication; refused authentications are aggregated per (address, reason) and
  window, and the lifespan writes closed windows every second and the open one at shutdown.

Example:
    $ MAAS_API_KEY=maas_... maas serve              # stdio
    $ maas serve --http --port 8765                 # http://127.0.0.1:8765/mcp
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from maas_langchain.adapters.console import console_routes
from maas_langchain.adapters.mcp.auth import BearerKeyMiddleware, http_key_source, rate_limited_body, stdio_key_source
from maas_langchain.adapters.mcp.mcp_server import build_server
from maas_langchain.adapters.ratelimit import AbuseLimits, RateLimitMiddleware, RequestLimiter, Scope, default_body
from maas_langchain.adapters.rest.app import OPENAPI_PATH, create_rest_app, rest_refusal
from maas_langchain.adapters.rest.http import RestGuard, rate_limited_rest_body
from maas_langchain.adapters.tools.registry import ToolSpec

if TYPE_CHECKING:
    from maas_langchain.maas import MaaS

__all__ = ["create_http_app", "run_http", "run_stdio"]


FLUSH_INTERVAL = 1.0
"""Seconds between checks for a closed window of refused authentications to write."""


def create_http_app(
    maas: MaaS, specs: Sequence[ToolSpec] | None = None, *, path: str = "/mcp", limits: AbuseLimits | None = None
) -> Starlette:
    """The ASGI app of the HTTP transport (the session manager runs in its lifespan).

    Args:
        maas: The open instance the tools act on.
        specs: The tools to publish (default: every tool of the registry).
        path: Where the MCP endpoint is mounted.
        limits: Rate limits and refusal aggregation (default :class:`AbuseLimits`'s defaults;
            :meth:`AbuseLimits.off` for none). Sets how ``maas.keys`` aggregates refusals.
    """
    limits = limits or AbuseLimits()
    maas.keys.configure_failure_audit(
        window_seconds=limits.auth_audit_window, max_sources=limits.auth_audit_max_sources
    )
    limiter = RequestLimiter(limits)
    server = build_server(maas, http_key_source, None if specs is None else list(specs))
    manager = StreamableHTTPSessionManager(app=server, json_response=True, stateless=True)

    def authenticate(token: str | None, source: str) -> Any:
        return maas.keys.authenticate(token, via="http", source=source)

    guarded = BearerKeyMiddleware(manager.handle_request, authenticate, limiter=limiter)  # Route passes it through

    def render(scope: Scope, seconds: int) -> bytes:
        where = str(scope.get("path", ""))
        if where.rstrip("/") == path.rstrip("/"):
            return rate_limited_body(scope, seconds)
        return rate_limited_rest_body(scope, seconds) if where.startswith("/v1/") else default_body(scope, seconds)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with manager.run(), anyio.create_task_group() as tasks:
                tasks.start_soon(_flush_refusals, maas, min(FLUSH_INTERVAL, max(0.05, limits.auth_audit_window / 4)))
                try:
                    yield
                finally:
                    tasks.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: maas.keys.flush_failures(force=True))

    rest_app = create_rest_app(maas)
    rest = RestGuard(rest_app, authenticate, open_paths=(OPENAPI_PATH,), limiter=limiter, on_refusal=rest_refusal(maas))
    routes = [Route("/healthz", health, methods=["GET"]), Route(path, endpoint=guarded), *console_routes()]
    middleware = [Middleware(RateLimitMiddleware, limiter=limiter, render=render)]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.router.default = rest  # everything else is REST (a Mount's pattern would miss a %0A in a path)
    return app


async def _flush_refusals(maas: MaaS, interval: float) -> None:
    """Write each closed window of aggregated refused authentications soon after it closes."""
    while True:
        await anyio.sleep(interval)
        await anyio.to_thread.run_sync(maas.keys.flush_failures)


def run_http(
    maas: MaaS,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    log_level: str = "warning",
    limits: AbuseLimits | None = None,
) -> None:
    """Serve the HTTP transport with uvicorn until interrupted (``limits``: see :func:`create_http_app`)."""
    import uvicorn

    app = create_http_app(maas, limits=limits)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def run_stdio(maas: MaaS, api_key: str | None) -> None:
    """Serve one client over standard input and output, acting as ``api_key``'s agent.

    Refused keys are audited once per window (source ``"stdio"``); the window still open is
    written when the server stops (end of input, SIGINT or SIGTERM).

    Raises:
        InvalidApiKeyError: The key is missing or not valid (checked before serving).
    """
    try:
        maas.keys.authenticate(api_key, via="stdio", source="stdio")
        protocol_out = _private_stdout()
        server = build_server(maas, stdio_key_source(maas, api_key))

        async def main() -> None:
            async with (
                stdio_server(stdout=anyio.wrap_file(protocol_out)) as (read_stream, write_stream),
                anyio.create_task_group() as tasks,
            ):
                tasks.start_soon(_flush_refusals, maas, FLUSH_INTERVAL)
                await server.run(read_stream, write_stream, server.create_initialization_options())
                tasks.cancel_scope.cancel()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so the finally below still runs
        anyio.run(main)
    finally:
        maas.keys.flush_failures(force=True)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _private_stdout() -> io.TextIOWrapper:
    """A text stream on a duplicate of fd 1; fd 1 itself (and ``sys.stdout``) now go to stderr."""
    sys.stdout.flush()
    duplicate = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return io.TextIOWrapper(os.fdopen(duplicate, "wb"), encoding="utf-8", line_buffering=False)
