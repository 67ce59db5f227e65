"""The REST API (``/v1/...``), served by ``maas serve --http`` beside ``/mcp``: one process, one
port, one key store. See docs/rest.md.

* :mod:`.routes` — the route table (each path is one registry operation);
* :mod:`.specs` — the operations only REST has (sessions, memories by id, the audit log);
* :mod:`.app` — the FastAPI app generated from them, with its OpenAPI document;
* :mod:`.http` — the error shape, status codes and :class:`~.http.RestGuard` (key, limits, body);
* :mod:`.events` — ``GET /v1/events`` as Server-Sent Events.

Needs the ``mcp`` extra (FastAPI comes with it); ``maas serve`` says so with a typed
``MissingDependencyError`` when it is missing.
"""

from __future__ import annotations

__all__: list[str] = []
