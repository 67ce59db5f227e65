"""The web console: static pages at ``/console`` that call the REST API with the key typed in.

The console is one more client of the REST API (:mod:`maas_langchain.adapters.rest`): the
browser sends the API key as ``Authorization: Bearer`` on every ``/v1`` call, so it never shows
more than the REST API returns to the same key. There is no front-end build: ``index.html``,
``console.js`` (plain ES2020, no dependency) and ``console.css`` are committed in ``static/`` and
served as they are. Serving them needs no key (they hold no data; the key is entered in the page).

:func:`console_routes` returns the routes to add to the HTTP app:

* ``GET /console`` and ``GET /console/``: the page (``index.html``);
* ``GET /console/static/{name}``: one of the known files, nothing else (``404`` otherwise);
* any other ``/console/...`` path: ``404``.

Every answer carries a strict ``Content-Security-Policy`` (scripts, styles and connections from
this origin only, no inline script or style, no framing), ``X-Content-Type-Options: nosniff``,
``Referrer-Policy: no-referrer`` and ``Cache-Control: no-cache`` with an ``ETag`` (a browser
revalidates and gets ``304`` while the file is unchanged).

Example:
    >>> sorted(r.path for r in console_routes())
    ['/console', '/console/', '/console/static/{name}', '/console/{rest:path}']
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

__all__ = ["console_routes"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""Where the committed assets are."""

CONTENT_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
"""The only files served, with their content types."""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'"
)
"""The console's Content-Security-Policy: nothing inline, nothing from another origin."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
"""Headers on every console answer, the 404s included."""


@dataclass(frozen=True)
class _Asset:
    """One file, read once: its bytes, content type and ETag."""

    body: bytes
    content_type: str
    etag: str


def _load(name: str) -> _Asset:
    body = (STATIC_DIR / name).read_bytes()
    return _Asset(body, CONTENT_TYPES[name], '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _serve(request: Request, asset: _Asset) -> Response:
    headers = {**SECURITY_HEADERS, "ETag": asset.etag}
    wanted = request.headers.get("if-none-match", "")
    if asset.etag in {tag.strip() for tag in wanted.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.content_type, headers=headers)


def _not_found() -> Response:
    body = {"error": {"code": "not_found", "message": "no such console file", "retryable": False}}
    return JSONResponse(body, status_code=404, headers=SECURITY_HEADERS)


def console_routes() -> list[BaseRoute]:
    """The console's routes (``GET``, and ``HEAD`` with it), to add to a Starlette app.

    The assets are read when this is called; restart the server after editing them.
    """
    assets = {name: _load(name) for name in CONTENT_TYPES}

    async def page(request: Request) -> Response:
        return _serve(request, assets["index.html"])

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        asset = assets.get(name) if name != "index.html" else None
        return _not_found() if asset is None else _serve(request, asset)

    async def elsewhere(request: Request) -> Response:
        return _not_found()

    return [
        Route("/console", page, methods=["GET"]),
        Route("/console/", page, methods=["GET"]),
        Route("/console/static/{name}", static, methods=["GET"]),
        Route("/console/{rest:path}", elsewhere, methods=["GET"]),
    ]
