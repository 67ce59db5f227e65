"""API-key authentication for the MCP transports.

* HTTP: :class:`BearerKeyMiddleware` checks ``Authorization: Bearer <key>`` on every request
  before the MCP layer sees it. A refusal is ``401`` with a JSON-RPC error body and a
  ``WWW-Authenticate: Bearer`` header; the same body whatever the cause (the audit log has the
  reason). An accepted key is put in the ASGI scope's ``state`` for the tool handlers
  (:func:`http_key_source`). A POST body that is not UTF-8 JSON gets a JSON-RPC parse error
  (400) here; for invalid UTF-8 or very deep nesting the SDK itself would answer 500. The client
  address (:meth:`~maas_langchain.adapters.ratelimit.RequestLimiter.client_address`) is passed to
  the key check as the refusal's ``source`` (refusals are aggregated per address in the audit
  log), and an accepted key is held to its per-key rate limit: over it, ``429`` with
  ``Retry-After`` and a JSON-RPC error (:data:`RATE_LIMIT_ERROR_CODE`, :func:`rate_limited_body`).
* stdio: the key comes from ``MAAS_API_KEY`` once, is checked at start-up, and checked again
  on every call (:func:`stdio_key_source`), so revoking it takes effect at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.lowlevel.server import request_ctx
from mcp.server.streamable_http_manager import DEFAULT_MAX_REQUEST_BODY_SIZE
from mcp.types import PARSE_ERROR
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maas_langchain.adapters.mcp.mcp_server import AUTH_ERROR_CODE, KeySource
from maas_langchain.adapters.ratelimit import AbuseLimits, RequestLimiter, retry_after, send_too_many_requests
from maas_langchain.adapters.rest.http import STATE_KEY, bearer_token
from maas_langchain.core.keys import ApiKey, InvalidApiKeyError

if TYPE_CHECKING:
    from maas_langchain.maas import MaaS

__all__ = [
    "RATE_LIMIT_ERROR_CODE",
    "STATE_KEY",
    "BearerKeyMiddleware",
    "bearer_token",
    "http_key_source",
    "rate_limited_body",
    "stdio_key_source",
]

RATE_LIMIT_ERROR_CODE = -32029
"""JSON-RPC error code of a rate-limit refusal (HTTP 429; the server-defined range)."""


def rate_limited_body(scope: Scope, seconds: int) -> bytes:
    """The JSON-RPC error body of a 429 answer (``error.data.retry_after`` repeats the header)."""
    error = {"code": RATE_LIMIT_ERROR_CODE, "message": f"Too many requests; retry after {seconds} s"}
    body = {"jsonrpc": "2.0", "id": None, "error": {**error, "data": {"retry_after": seconds}}}
    return json.dumps(body).encode("utf-8")


async def _answer(send: Send, status: int, code: int, message: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}})
    headers = [(b"content-type", b"application/json"), *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode("utf-8")})


async def _refuse(send: Send, message: str) -> None:
    await _answer(send, 401, AUTH_ERROR_CODE, message, [(b"www-authenticate", b'Bearer realm="maas"')])


async def _parsed_body(receive: Receive, send: Send, limit: int) -> Receive | None:
    """Read the body (up to ``limit`` bytes) and refuse one that is not UTF-8 JSON with a
    JSON-RPC parse error (for invalid UTF-8 or deep nesting the SDK would answer 500); return a
    ``receive`` that replays what was read."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > limit or not message.get("more_body", False):
            break
    if size <= limit:
        try:
            json.loads(b"".join(m.get("body", b"") for m in messages).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            problem = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else "not JSON (or nested too deeply)"
            await _answer(send, 400, PARSE_ERROR, f"Parse error: the request body is {problem}", [])
            return None

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


class BearerKeyMiddleware:
    """ASGI middleware: every HTTP request must carry a valid API key (``Authorization: Bearer``).

    Args:
        app: The MCP ASGI app behind it.
        authenticate: ``authenticate(token_or_None, source) -> ApiKey`` (blocking; run in a
            worker thread), raising :class:`InvalidApiKeyError`; ``source`` is the client address.
        open_paths: Paths served without a key (a health check).
        body_limit: Bodies up to this size are checked to be UTF-8 JSON (larger ones are left
            to the SDK's own size limit).
        limiter: Gives the client address and the per-key limit (default: no limit, the
            address is the TCP peer).
    """

    def __init__(
        self,
        app: ASGIApp,
        authenticate: Callable[[str | None, str], ApiKey],
        open_paths: tuple[str, ...] = (),
        body_limit: int = DEFAULT_MAX_REQUEST_BODY_SIZE,
        limiter: RequestLimiter | None = None,
    ) -> None:
        self.app = app
        self.authenticate = authenticate
        self.open_paths = open_paths
        self.body_limit = body_limit
        self.limiter = limiter or RequestLimiter(AbuseLimits.off())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        source = self.limiter.client_address(scope)
        try:
            key = await anyio.to_thread.run_sync(self.authenticate, token, source)
        except InvalidApiKeyError as exc:
            await _refuse(send, exc.message)
            return
        wait = self.limiter.check_key(key.key_id)
        if wait > 0:
            seconds = retry_after(wait)
            await send_too_many_requests(send, seconds, rate_limited_body(scope, seconds))
            return
        scope.setdefault("state", {})[STATE_KEY] = key
        if scope.get("method") == "POST":
            checked = await _parsed_body(receive, send, self.body_limit)
            if checked is None:
                return
            receive = checked
        await self.app(scope, receive, send)


async def http_key_source() -> ApiKey:
    """The key the middleware accepted for the HTTP request being handled (a :data:`KeySource`)."""
    try:
        request: Any = request_ctx.get().request
    except LookupError:
        request = None
    key = None if request is None else getattr(request, "scope", {}).get("state", {}).get(STATE_KEY)
    if not isinstance(key, ApiKey):
        raise InvalidApiKeyError("this request carries no checked API key")
    return key


def stdio_key_source(maas: MaaS, presented: str | None) -> KeySource:
    """The process's ``MAAS_API_KEY``, checked again on every call."""

    def check() -> ApiKey:
        return maas.keys.authenticate(presented, via="stdio", source="stdio")

    async def source() -> ApiKey:
        return await anyio.to_thread.run_sync(check)

    return source
