"""The REST API: FastAPI routes generated from the operation registry, served beside ``/mcp``.

Each :class:`~maas_langchain.adapters.rest.routes.Route` becomes one endpoint whose request
schema is the operation's own pydantic argument model (path fields from the path, a GET's other
fields as query parameters, a write's as the JSON body), so the OpenAPI document FastAPI
generates is the registry's schema, never a second hand-kept one. A request:

1. passes :class:`~maas_langchain.adapters.rest.http.RestGuard` (key, rate limit, body checks);
2. is validated by FastAPI against the model; a failure is ``400 invalid_input`` with one
   sentence per field, audited as the key's agent;
3. with an ``Idempotency-Key`` header on a write, is looked up first
   (:class:`~maas_langchain.core.idempotency.IdempotencyService`): the same key and request
   again replays the stored answer (``Idempotency-Replayed: true``) instead of running twice;
4. runs :func:`~maas_langchain.adapters.tools.registry.execute` in a worker thread with
   ``ToolContext(agent_id=key.agent_id, scope_floor=key.scope_floor, read_only=key.read_only)``
   — the same validation, access module and audit as the LangChain tools and MCP.

Example:
    >>> from maas_langchain import MaaS
    >>> from maas_langchain.embeddings import HashingEmbeddings
    >>> maas = MaaS.open(":memory:", embeddings=HashingEmbeddings())
    >>> doc = create_rest_app(maas).openapi()
    >>> doc["paths"]["/v1/sessions/{session_id}/recall"]["post"]["operationId"]
    'session_recall'
    >>> maas.close()
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from fastapi import Body, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, create_model

from maas_langchain.adapters.rest.events import add_event_route
from maas_langchain.adapters.rest.http import STATE_KEY, error_body, status_of
from maas_langchain.adapters.rest.models import ERROR_RESPONSES, RESPONSE_MODELS
from maas_langchain.adapters.rest.routes import ROUTES, Route
from maas_langchain.adapters.rest.specs import REST_SPECS
from maas_langchain.adapters.rest.specs_console import CONSOLE_SPECS
from maas_langchain.adapters.tools.registry import ToolContext, ToolResult, ToolSpec, execute, refuse
from maas_langchain.adapters.tools.specs import tool_specs
from maas_langchain.core.idempotency import IdempotencyService
from maas_langchain.core.keys import ApiKey
from maas_langchain.errors import InvalidInputError, MaaSError, NotFoundError

if TYPE_CHECKING:
    from maas_langchain.maas import MaaS

__all__ = ["API_VERSION", "OPENAPI_PATH", "create_rest_app", "operation_specs", "rest_refusal"]

API_VERSION = "1.0.0"
"""The REST API's version (the ``/v1`` paths; additions keep it, a breaking change is ``/v2``)."""

OPENAPI_PATH = "/v1/openapi.json"
"""Where the OpenAPI document is served (without a key)."""

IDEMPOTENCY_HEADER = "Idempotency-Key"

UUID_PATTERN = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
"""What a path id must look like (the core's ``check_id``); anything else is ``400`` before any read."""


def operation_specs() -> dict[str, ToolSpec]:
    """Every operation the routes may name: the tools, the REST-only specs and the console's."""
    return {s.name: s for s in [*tool_specs(), *REST_SPECS, *CONSOLE_SPECS]}


def rest_refusal(maas: MaaS) -> Callable[[ApiKey, str, str], None]:
    """Audit a request refused before any operation ran (its body, an unknown route), as the
    key's agent: one row, as for every refusal (``RestGuard(on_refusal=...)``)."""

    def record(key: ApiKey, code: str, text: str) -> None:
        ctx = ToolContext(maas, agent_id=key.agent_id, scope_floor=key.scope_floor, read_only=key.read_only)
        refuse("request", ctx, InvalidInputError(text) if code == "invalid_input" else NotFoundError(text))

    return record


def create_rest_app(maas: MaaS) -> FastAPI:
    """The REST app (routes, error handlers, OpenAPI); :func:`maas_langchain.adapters.mcp.app.create_http_app`
    mounts it behind :class:`~maas_langchain.adapters.rest.http.RestGuard` beside ``/mcp``."""
    app = FastAPI(
        title="maas_langchain REST API",
        version=API_VERSION,
        description=(
            "Memory as a Service for multi-agent systems. Every call acts as the agent of the "
            "`Authorization: Bearer` key, within its scope floor; read-only keys cannot write. "
            'Errors: `{"error": {"code", "message", "retryable"}}`. See docs/rest.md.'
        ),
        openapi_url=OPENAPI_PATH,
        docs_url=None,
        redoc_url=None,
    )
    specs = operation_specs()
    idempotency = IdempotencyService(maas.runtime)
    for route in ROUTES:
        _add_route(app, maas, route, specs[route.operation], idempotency)
    add_event_route(app, maas)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        spec = specs.get(str(getattr(request.scope.get("route"), "name", "")))
        problems = "; ".join(_problem(e) for e in exc.errors())
        name = spec.name if spec is not None else "request"
        error = InvalidInputError(f"Invalid arguments for {name}: {problems}"[:2_000])
        key = _key(request)
        if key is not None:
            ctx = ToolContext(maas, agent_id=key.agent_id, scope_floor=key.scope_floor, read_only=key.read_only)
            await anyio.to_thread.run_sync(refuse, name, ctx, error)
        return Response(error_body(error.code, error.message), 400, media_type="application/json")

    audit = rest_refusal(maas)

    @app.exception_handler(404)
    async def unknown(request: Request, exc: Exception) -> Response:
        message = f"no endpoint {request.method} {request.url.path[:200]!r}; see {OPENAPI_PATH}"
        key = _key(request)
        if key is not None:
            await anyio.to_thread.run_sync(audit, key, "not_found", message)
        return Response(error_body("not_found", message), 404, media_type="application/json")

    @app.exception_handler(405)
    async def wrong_method(request: Request, exc: Exception) -> Response:
        message = f"{request.method} is not allowed on {request.url.path[:200]!r}; see {OPENAPI_PATH}"
        key = _key(request)
        if key is not None:
            await anyio.to_thread.run_sync(audit, key, "invalid_input", message)
        return Response(error_body("invalid_input", message), 405, media_type="application/json")

    _with_security(app)
    return app


def _problem(error: Any) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
    return f"{'.'.join(loc) or 'arguments'}: {error.get('msg', 'invalid')}"


def _key(request: Request) -> ApiKey | None:
    key = request.scope.get("state", {}).get(STATE_KEY)
    return key if isinstance(key, ApiKey) else None


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _body_model(spec: ToolSpec, path_names: list[str]) -> type[BaseModel]:
    """The request body: the operation's model, or — when the path carries some of its fields —
    a model of its other fields, made from the very same field definitions."""
    model = spec.args_schema
    if not any(name in model.model_fields for name in path_names):
        return model
    fields: dict[str, Any] = {
        name: (field.annotation, field) for name, field in model.model_fields.items() if name not in path_names
    }
    derived: type[BaseModel] = create_model(
        f"{model.__name__.removesuffix('Args')}Body", __base__=model.__base__, __doc__=model.__doc__, **fields
    )
    return derived


def _add_route(app: FastAPI, maas: MaaS, route: Route, spec: ToolSpec, idempotency: IdempotencyService) -> None:
    path_names = _path_names(route.path)
    model_fields = spec.args_schema.model_fields
    params = [inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)]
    for name in path_names:
        described = model_fields[name].description if name in model_fields else None
        path = Path(description=described, pattern=UUID_PATTERN, max_length=36)  # ids are UUIDs (check_id)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[str, path]))
    has_body = route.method in ("POST", "PUT", "PATCH")
    idempotent = spec.writes or "persist" in model_fields  # reflect(persist=true) stores a memory
    body_model: type[BaseModel] | None = None
    if has_body:
        body_model = _body_model(spec, path_names)
        required = any(f.is_required() for f in body_model.model_fields.values())
        # optional when every field has a default, but never null
        annotation: Any = Annotated[body_model, Body()]
        default = inspect.Parameter.empty if required else None
        params.append(inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default))
    elif not route.operation_id:  # an alias route (GET /v1/me) takes no arguments at all
        for name, field in model_fields.items():
            if name in path_names:
                continue
            params.append(
                inspect.Parameter(
                    name,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=Annotated[field.annotation, Query(description=field.description)],
                    default=inspect.Parameter.empty if field.is_required() else field.default,
                )
            )

    async def endpoint(request: Request, **values: Any) -> Response:
        key = _key(request)
        if key is None:  # the guard runs first; this is a wiring mistake, never a client's
            return Response(error_body("permission_denied", "no checked API key"), 401, media_type="application/json")
        ctx = ToolContext(maas, agent_id=key.agent_id, scope_floor=key.scope_floor, read_only=key.read_only)
        body = values.pop("body", None)
        args: dict[str, Any] = {} if body is None else body.model_dump(exclude_unset=True)
        args.update({k: v for k, v in values.items() if k in path_names or v is not None})
        if idempotent and request.headers.get(IDEMPOTENCY_HEADER) is not None:
            return await _idempotent(request, ctx, key.key_id, spec, route, args, idempotency)
        result = await anyio.to_thread.run_sync(execute, spec, ctx, args)
        return _response(result, route.status)

    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    endpoint.__name__ = spec.name
    extra: dict[str, Any] = {}
    if idempotent:
        extra["parameters"] = [
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": False,
                "description": "Any unique string (a UUID): a retry with the same key and request replays the "
                "first answer instead of running again (kept 24 h).",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        ]
    app.add_api_route(
        route.path,
        endpoint,
        methods=[route.method],
        name=spec.name,
        operation_id=route.operation_id or spec.name,
        summary=route.summary or spec.name,
        description=spec.description,
        tags=[route.tag],
        status_code=route.status,
        responses={**ERROR_RESPONSES, **_success(route, spec)},
        openapi_extra=extra or None,
    )


def _success(route: Route, spec: ToolSpec) -> dict[int | str, dict[str, Any]]:
    model = RESPONSE_MODELS.get(spec.name)
    return {} if model is None else {route.status: {"model": model, "description": route.summary or spec.name}}


def _response(result: ToolResult, status: int) -> Response:
    if result.ok:
        return JSONResponse(result.data, status_code=status)
    code = result.code or "internal_error"
    return Response(
        error_body(code, result.message or code, result.retryable), status_of(code), media_type="application/json"
    )


async def _idempotent(
    request: Request,
    ctx: ToolContext,
    principal: str,
    spec: ToolSpec,
    route: Route,
    args: dict[str, Any],
    idempotency: IdempotencyService,
) -> Response:
    """Run a write at most once per ``Idempotency-Key`` of one API key (``principal``: its key id,
    so a read-only key's refusal is never replayed to a writable key of the same agent); replay
    the first answer."""
    raw_key = request.headers.get(IDEMPOTENCY_HEADER, "")
    canonical = json.dumps(args, sort_keys=True, default=str, separators=(",", ":"))
    fingerprint = hashlib.sha256(f"{request.method} {route.path} {canonical}".encode()).hexdigest()
    try:
        replay = await anyio.to_thread.run_sync(idempotency.begin, principal, raw_key, fingerprint)
    except MaaSError as exc:
        result = await anyio.to_thread.run_sync(refuse, spec.name, ctx, exc)
        response = _response(result, route.status)
        wait = exc.details.get("retry_after")
        if isinstance(wait, int | float):  # the first request is still running
            response = Response(
                error_body(exc.code, exc.message, exc.retryable, retry_after=int(wait)),
                response.status_code,
                media_type="application/json",
                headers={"Retry-After": str(int(wait))},
            )
        return response
    if replay is not None:
        return Response(
            replay.response,
            replay.status,
            media_type="application/json",
            headers={"Idempotency-Replayed": "true"},
        )
    result = await anyio.to_thread.run_sync(execute, spec, ctx, args)
    response = _response(result, route.status)
    finish: Callable[[], Any]
    if result.ok or not (result.retryable or result.code in ("internal_error", "storage_corrupted")):
        body = bytes(response.body).decode("utf-8")
        finish = lambda: idempotency.finish(principal, raw_key, response.status_code, body)  # noqa: E731
    else:  # a retry may succeed (after a fix, for a bug or a repaired database): let it run
        finish = lambda: idempotency.abandon(principal, raw_key)  # noqa: E731
    await anyio.to_thread.run_sync(_quietly(finish))
    return response


def _quietly(step: Callable[[], Any]) -> Callable[[], None]:
    """Recording the answer must not turn a done write into a failure (the claim then expires)."""

    def run() -> None:
        with contextlib.suppress(MaaSError):
            step()

    return run


def _with_security(app: FastAPI) -> None:
    """Declare Bearer authentication for every operation in the OpenAPI document."""
    original: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = original()
        doc.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "An API key: maas keys create --agent ID"}
        }
        doc["security"] = [{"bearer": []}]
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
