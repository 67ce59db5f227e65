"""The REST API's HTTP rules: one error shape, status codes, and the checks before any route runs.

Every refusal is ``{"error": {"code", "message", "retryable"}}`` with a stable ``code`` of the
error tree (:mod:`maas_langchain.errors`) and the status of :data:`STATUS`. Authentication
failures are ``401`` (code ``permission_denied``, the same sentence whatever the cause — the
audit log has the reason) with ``WWW-Authenticate: Bearer``; rate limits are ``429`` with
``Retry-After`` (code ``rate_limited``).

:class:`RestGuard` runs before routing, so nothing reaches an operation unchecked:

1. the key (``Authorization: Bearer <key>``) is checked, then its per-key rate limit;
2. a request with a body must say ``Content-Type: application/json`` (``415`` otherwise), be at
   most ``body_limit`` bytes (``413``; a ``Content-Length`` over the limit is refused before
   reading), be UTF-8 JSON (``400``) and a JSON object (``400``);
3. the checked key is left in ``scope["state"]`` (:data:`STATE_KEY`) for the route.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maas_langchain.adapters.ratelimit import AbuseLimits, RequestLimiter, retry_after, send_too_many_requests
from maas_langchain.core.keys import ApiKey, InvalidApiKeyError
from maas_langchain.errors import MaaSError

__all__ = [
    "BODY_LIMIT",
    "STATE_KEY",
    "STATUS",
    "RestGuard",
    "bearer_token",
    "error_body",
    "rate_limited_rest_body",
    "status_of",
]

STATE_KEY = "maas_api_key"
"""Where the guard leaves the checked :class:`ApiKey` in ``scope["state"]`` (the MCP layer's name too)."""

BODY_LIMIT = 1_048_576
"""Largest request body accepted (1 MiB): a memory is at most 32,000 characters, a batch 100 of them."""

STATUS: dict[str, int] = {
    "invalid_input": 400,
    "not_supported": 400,
    "permission_denied": 403,
    "not_found": 404,
    "conflict": 409,
    "capacity_exceeded": 409,
    "policy_violation": 422,
    "rate_limited": 429,
    "internal_error": 500,
    "storage_corrupted": 500,
    "backend_unavailable": 503,
}
"""HTTP status of each error code (``capacity_exceeded`` is the store's state, not a rate: 409;
``storage_corrupted`` is 500, not 503: no retry helps until an operator repairs the database)."""


def status_of(code: str | None) -> int:
    """The HTTP status of an error ``code`` (500 for a code this table does not know)."""
    return STATUS.get(code or "", 500)


def error_body(code: str, message: str, retryable: bool = False, **extra: Any) -> bytes:
    """The one error shape, as JSON bytes."""
    error: dict[str, Any] = {"code": code, "message": message, "retryable": retryable, **extra}
    return json.dumps({"error": error}, ensure_ascii=False).encode("utf-8")


def rate_limited_rest_body(scope: Scope, seconds: int) -> bytes:
    """The 429 body of a REST request (``retry_after`` repeats the header)."""
    return error_body("rate_limited", f"too many requests; retry after {seconds} s", True, retry_after=seconds)


def bearer_token(scope: Scope) -> str | None:
    """The token of the request's ``Authorization: Bearer`` header, or None."""
    for name, value in scope.get("headers") or ():
        if name.lower() == b"authorization":
            text = value.decode("latin-1").strip()
            scheme, _, token = text.partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers") or ():
        if name.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    all_headers = [(b"content-type", b"application/json"), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


class RestGuard:
    """ASGI middleware in front of the REST routes (see the module docstring).

    Args:
        app: The app behind it.
        authenticate: ``authenticate(token_or_None, source) -> ApiKey`` (blocking; run in a
            worker thread), raising :class:`InvalidApiKeyError`.
        open_paths: Paths served without a key (the OpenAPI document).
        limiter: Client address and per-key limit (default: none).
        body_limit: Largest body accepted.
        on_refusal: ``on_refusal(key, code, sentence)`` (blocking; run in a worker thread) for a
            body refused after the key was accepted, so it is audited like every refusal.
    """

    def __init__(
        self,
        app: ASGIApp,
        authenticate: Callable[[str | None, str], ApiKey],
        *,
        open_paths: tuple[str, ...] = (),
        limiter: RequestLimiter | None = None,
        body_limit: int = BODY_LIMIT,
        on_refusal: Callable[[ApiKey, str, str], None] | None = None,
    ) -> None:
        self.app = app
        self.on_refusal = on_refusal
        self.authenticate = authenticate
        self.open_paths = open_paths
        self.limiter = limiter or RequestLimiter(AbuseLimits.off())
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        try:
            key = await anyio.to_thread.run_sync(
                self.authenticate, bearer_token(scope), self.limiter.client_address(scope)
            )
        except InvalidApiKeyError as exc:
            challenge = [(b"www-authenticate", b'Bearer realm="maas"')]
            await _send(send, 401, error_body(exc.code, exc.message), challenge)
            return
        except MaaSError as exc:  # the store failed while checking the key (busy, full, damaged)
            await _send(send, status_of(exc.code), error_body(exc.code, exc.message, exc.retryable))
            return
        wait = self.limiter.check_key(key.key_id)
        if wait > 0:
            seconds = retry_after(wait)
            await send_too_many_requests(send, seconds, rate_limited_rest_body(scope, seconds))
            return
        scope.setdefault("state", {})[STATE_KEY] = key
        if scope.get("method") in ("POST", "PUT", "PATCH", "DELETE"):
            checked = await self._body(scope, receive, send, key)
            if checked is None:
                return
            receive = checked
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send, key: ApiKey, status: int, text: str) -> None:
        if self.on_refusal is not None:
            await anyio.to_thread.run_sync(self.on_refusal, key, "invalid_input", text)
        await _send(send, status, error_body("invalid_input", text))

    async def _body(self, scope: Scope, receive: Receive, send: Send, key: ApiKey) -> Receive | None:
        """Read and check the body; answer the refusal and return None, or a replaying ``receive``."""
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.body_limit:
            await self._refuse(send, key, 413, f"the body is over {self.body_limit} bytes")
            return None
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.body_limit:
                await self._refuse(send, key, 413, f"the body is over {self.body_limit} bytes")
                return None
            if not message.get("more_body", False):
                break
        raw = b"".join(m.get("body", b"") for m in messages)
        problem = _problem(raw, _header(scope, b"content-type"))
        if problem is not None:
            await self._refuse(send, key, *problem)
            return None

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        return replay


def _problem(raw: bytes, content_type: str | None) -> tuple[int, str] | None:
    """Why a body is refused (status, sentence), or None. An empty body is allowed (a DELETE,
    or a POST whose arguments all have defaults)."""
    if not raw.strip():
        return None
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        shown = media or "none"
        return 415, f"the body must be JSON with Content-Type: application/json (got {shown[:100]})"
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return 400, "the body is not UTF-8"
    except (ValueError, RecursionError):
        return 400, "the body is not valid JSON (or is nested too deeply)"
    if not isinstance(value, dict):
        return 400, f"the body must be a JSON object, not {type(value).__name__}"
    return None
