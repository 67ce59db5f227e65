"""The MCP server: every tool of the registry, acting as the agent of the caller's API key.

Built on the official SDK's low-level :class:`mcp.server.lowlevel.Server`, so the tool list is
exactly the registry: each tool's ``inputSchema`` is its pydantic model's JSON schema,
unchanged. Arguments are validated once, by :func:`maas_langchain.adapters.tools.registry.execute`
(the same messages the LangChain toolkit gives), not a second time by the SDK.

A call:

1. finds the caller's key (:class:`KeySource`: the ``MAAS_API_KEY`` of a stdio server, or the
   key the HTTP middleware checked for this request) and checks it again (a key revoked while
   a stdio session is open stops working at the next call);
2. builds ``ToolContext(maas, agent_id=key.agent_id, scope_floor=key.scope_floor,
   read_only=key.read_only)`` — the identity comes from the key, never from the arguments;
3. runs the tool in a worker thread and answers with the JSON of ``ToolResult.as_dict()`` as
   text content, ``isError=True`` for an error result.

No stack trace reaches a client: tool failures become ``internal_error`` results (the trace is
logged on the server), and anything unexpected in this layer becomes a sentence.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import McpError

from maas_langchain.adapters.tools.registry import ToolContext, ToolResult, ToolSpec, execute, refuse
from maas_langchain.adapters.tools.specs import tool_specs
from maas_langchain.core.keys import ApiKey, InvalidApiKeyError
from maas_langchain.errors import MaaSError, NotFoundError

if TYPE_CHECKING:
    from maas_langchain.maas import MaaS

__all__ = ["AUTH_ERROR_CODE", "KeySource", "build_server", "mcp_tools", "result_content"]

log = logging.getLogger(__name__)

AUTH_ERROR_CODE = -32001
"""JSON-RPC error code of an authentication refusal (the server-defined range)."""

KeySource = Callable[[], Awaitable[ApiKey]]
"""Awaits the caller's checked key for the request being handled, or raises
:class:`~maas_langchain.core.keys.InvalidApiKeyError`."""

INSTRUCTIONS = (
    "Memory as a Service: shared, scoped memory, pools and handoffs for multi-agent systems. "
    "Every call acts as the agent your API key is bound to, within the key's scope floor; "
    "read-only keys cannot call tools that change state. Results are JSON: "
    '{"ok": true, "result": ...} or {"ok": false, "error": {"code": ..., "message": ...}}.'
)


def mcp_tools(specs: list[ToolSpec]) -> list[types.Tool]:
    """The MCP tool list of ``specs``: names, descriptions and the pydantic JSON schemas as given."""
    return [
        types.Tool(
            name=spec.name,
            description=spec.description,
            inputSchema=spec.args_schema.model_json_schema(),
            annotations=types.ToolAnnotations(readOnlyHint=not spec.writes),
        )
        for spec in specs
    ]


def result_content(result: ToolResult) -> types.CallToolResult:
    """A registry result as an MCP result: its JSON as text, ``isError`` for an error."""
    text = json.dumps(result.as_dict(), ensure_ascii=False, default=str)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], isError=not result.ok)


def _error(code: str, message: str) -> types.CallToolResult:
    return result_content(ToolResult(False, code=code, message=message))


def build_server(maas: MaaS, key_source: KeySource, specs: list[ToolSpec] | None = None) -> Server[Any, Any]:
    """The low-level MCP server over ``specs`` (default: every tool of the registry).

    Args:
        maas: The open instance the tools act on.
        key_source: Gives the caller's checked key for the current request.
        specs: The tools to publish (tests pass their own; default :func:`tool_specs`).
    """
    published = list(tool_specs() if specs is None else specs)
    by_name = {spec.name: spec for spec in published}
    tools = mcp_tools(published)
    server: Server[Any, Any] = Server("maas", version=_version(), instructions=INSTRUCTIONS)

    @server.list_tools()  # type: ignore[no-untyped-call, untyped-decorator]
    async def list_tools() -> list[types.Tool]:
        try:
            await key_source()
        except InvalidApiKeyError as exc:
            raise McpError(types.ErrorData(code=AUTH_ERROR_CODE, message=exc.message)) from None
        return tools

    @server.call_tool(validate_input=False)  # type: ignore[untyped-decorator]
    async def call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        try:
            key = await key_source()
        except InvalidApiKeyError as exc:
            return _error(exc.code, exc.message)
        spec = by_name.get(name)
        ctx = ToolContext(maas, agent_id=key.agent_id, scope_floor=key.scope_floor, read_only=key.read_only)
        if spec is None:  # an authenticated caller's refusal: audited like every other one
            missing = NotFoundError(f"no tool named {name[:100]!r}; list the tools to see their names")
            await anyio.to_thread.run_sync(refuse, "call_tool", ctx, missing)
            return _error(missing.code, missing.message)
        try:
            result = await anyio.to_thread.run_sync(execute, spec, ctx, arguments)
            return result_content(result)
        except MaaSError as exc:  # execute never raises; this is a guard for the JSON step
            return _error(exc.code, exc.message)
        except Exception:
            log.exception("tool %s failed outside the registry", name)
            return _error("internal_error", f"{name} failed inside the server; the error was logged.")

    return server


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("maas_langchain")
    except PackageNotFoundError:
        return "0"
