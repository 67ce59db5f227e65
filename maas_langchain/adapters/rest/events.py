"""``GET /v1/events``: the event stream as Server-Sent Events, resumable with ``Last-Event-ID``.

Each event is one SSE message: ``id`` is its sequence number (commit order), ``event`` its
kind (``memory.written``, ``handoff.accepted``...), ``data`` the JSON of the event. A client
that reconnects with ``Last-Event-ID: <id>`` (browsers' ``EventSource`` does it by itself) or
``?after=<id>`` gets every event after that one that it may see — delivery is at-least-once;
when both are sent, ``Last-Event-ID`` wins (it is the newer position).
Without either, the stream starts at the newest event (only what happens from now on); the
first message carries that event's id (and no data), so a client that drops before any event
still resumes without a gap.

What a key sees is what its agent may see (:func:`~maas_langchain.core.access.can_see_event`,
checked for every event). The key is checked again every :data:`RECHECK_SECONDS` and every :data:`RECHECK_EVENTS` events: a
revoked or expired key ends the stream. A comment line every :data:`HEARTBEAT_SECONDS` keeps proxies from
closing an idle connection and notices a client that went away. Waiting holds no worker thread:
the stream reads without blocking and sleeps on the event loop between reads.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import Response, StreamingResponse

from maas_langchain.adapters.rest.http import STATE_KEY, error_body, status_of
from maas_langchain.adapters.rest.models import ERROR_RESPONSES
from maas_langchain.adapters.tools.registry import ToolContext, refuse
from maas_langchain.adapters.tools.specs_common import jsonable
from maas_langchain.core.keys import ApiKey, InvalidApiKeyError
from maas_langchain.core.records import MaaSEvent
from maas_langchain.core.validation import MAX_SEQ
from maas_langchain.errors import InvalidInputError, MaaSError

if TYPE_CHECKING:
    from maas_langchain.core.events import Subscription
    from maas_langchain.maas import MaaS

__all__ = ["HEARTBEAT_SECONDS", "POLL_SECONDS", "RECHECK_EVENTS", "RECHECK_SECONDS", "add_event_route", "sse_message"]

POLL_SECONDS = 0.25
"""Pause between reads of the stream when nothing new arrived."""

HEARTBEAT_SECONDS = 15.0
"""A comment line after this much silence."""

RECHECK_SECONDS = 10.0
"""The key is authenticated again this often during a stream."""

RECHECK_EVENTS = 500
"""...and after this many events delivered since the last check (one read of a backlog), so a
revoked key does not read a long backlog to its end."""


_EVENT_SCHEMA = {  # OpenAPI 3.1: the schema of a text/event-stream response is that of each event
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "event": {"type": "string"},
        "data": {"type": "string"},
    },
    "required": ["event", "data"],
    "description": "event: the kind (or error); data: JSON {seq, kind, pool_id, timestamp, data}; id: the sequence number",
}


def sse_message(event: MaaSEvent) -> str:
    """One event as an SSE message (``id``, ``event``, one ``data`` line of JSON)."""
    data = {
        "seq": event.seq,
        "kind": event.kind.value,
        "pool_id": event.pool_id,
        "timestamp": event.timestamp,
        "data": jsonable(event.data),
    }
    return f"id: {event.seq}\nevent: {event.kind.value}\ndata: {json.dumps(data, default=str)}\n\n"


def _start(last_event_id: str | None, after: int | None) -> int | None:
    """Where the stream resumes: ``Last-Event-ID`` (a reconnect) wins over ``?after=`` (the
    first connection's choice, which an ``EventSource`` repeats on every reconnect)."""
    if last_event_id is None or not last_event_id.strip():
        return after
    text = last_event_id.strip()
    if not text.isdigit() or len(text) > 18 or int(text) > MAX_SEQ:
        raise InvalidInputError(f"Last-Event-ID must be an event id (a sequence number), got {text[:40]!r}")
    return int(text)


def add_event_route(app: FastAPI, maas: MaaS) -> None:
    """Add ``GET /v1/events`` to ``app``."""

    async def events(
        request: Request,
        pool_id: Annotated[str | None, Query(max_length=64, description="Only events of this pool.")] = None,
        kinds: Annotated[
            str | None, Query(max_length=1_000, description="Comma-separated kinds, e.g. memory.written.")
        ] = None,
        after: Annotated[int | None, Query(ge=0, le=MAX_SEQ, description="Resume after this event id.")] = None,
        last_event_id: Annotated[str | None, Header(description="Resume after this event id (SSE reconnect).")] = None,
    ) -> Response:
        key = request.scope.get("state", {}).get(STATE_KEY)
        if not isinstance(key, ApiKey):
            return Response(error_body("permission_denied", "no checked API key"), 401, media_type="application/json")
        ctx = ToolContext(maas, agent_id=key.agent_id, scope_floor=key.scope_floor, read_only=key.read_only)
        try:
            start = _start(last_event_id, after)
            wanted = None if kinds is None else [k.strip() for k in kinds.split(",") if k.strip()]
            sub = await anyio.to_thread.run_sync(
                lambda: maas.events.subscribe(
                    pool_id=pool_id, agent_id=key.agent_id, after_seq=start, kinds=wanted, floor=key.scope_floor
                )
            )
        except MaaSError as exc:
            result = await anyio.to_thread.run_sync(refuse, "events", ctx, exc)
            code = result.code or "invalid_input"
            return Response(error_body(code, result.message or code), status_of(code), media_type="application/json")
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(_stream(maas, request, sub), media_type="text/event-stream", headers=headers)

    app.add_api_route(
        "/v1/events",
        events,
        methods=["GET"],
        name="events",
        operation_id="events",
        summary="The event stream (Server-Sent Events)",
        description=__doc__,
        tags=["events"],
        responses={
            200: {"description": "An SSE stream", "content": {"text/event-stream": {"schema": _EVENT_SCHEMA}}},
            **ERROR_RESPONSES,
        },
        response_class=StreamingResponse,
    )


async def _stream(maas: MaaS, request: Request, sub: Subscription) -> AsyncIterator[str]:
    """Yield SSE messages until the client leaves, the key stops being valid or the server stops."""
    quiet_since = checked_at = time.monotonic()
    delivered = 0
    token = _token(request)
    yield f"id: {sub.last_seq}\n: stream open\n\n"  # where a reconnect resumes, even before any event
    try:
        while not sub.closed:
            now = time.monotonic()
            if now - checked_at >= RECHECK_SECONDS or delivered >= RECHECK_EVENTS:  # before delivering more
                checked_at, delivered = now, 0
                try:
                    await anyio.to_thread.run_sync(lambda: maas.keys.authenticate(token, via="http", source="sse"))
                except InvalidApiKeyError:
                    ended = json.dumps({"code": "permission_denied", "message": "key no longer valid"})
                    yield f"event: error\ndata: {ended}\n\n"
                    return
            batch: list[Any] = await anyio.to_thread.run_sync(sub.poll, 0.0)
            for event in batch:
                yield sse_message(event)
            if batch:
                delivered += len(batch)
                quiet_since = now
                continue
            if now - quiet_since >= HEARTBEAT_SECONDS:
                quiet_since = now
                yield ": keep-alive\n\n"
            if await request.is_disconnected():
                return
            await anyio.sleep(POLL_SECONDS)
    finally:
        sub.close()


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
