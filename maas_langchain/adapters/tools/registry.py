"""One registry of tool specifications; the LangChain toolkit and the MCP server are generated from it.

A :class:`ToolSpec` is everything a front end needs: the name a model calls, a description
written for a model, a pydantic argument model and a handler. A handler receives a
:class:`ToolContext` (the acting agent, bound by the front end: the toolkit's constructor or the
MCP server's API key, never an argument a model wrote) and the validated arguments, and returns
JSON-ready data. :func:`execute` is the one place arguments are validated and errors turned into
the result a model sees, so both front ends answer alike. The specs themselves, and
:func:`~maas_langchain.adapters.tools.specs.tool_specs`, are in :mod:`.specs` (which imports this
module, never the reverse).

Example:
    >>> from maas_langchain.adapters.tools.specs import tool_specs
    >>> spec = next(s for s in tool_specs() if s.name == "get_agent_info")
    >>> sorted(spec.args_schema.model_json_schema()["properties"])
    ['agent_id']
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from maas_langchain.core.access import require_writable_key
from maas_langchain.core.enums import AuditEventType
from maas_langchain.errors import InvalidInputError, MaaSError

if TYPE_CHECKING:
    from maas_langchain.maas import MaaS

__all__ = [
    "ToolContext",
    "ToolResult",
    "ToolSpec",
    "execute",
    "input_schema",
    "refuse",
    "validation_error_result",
]

log = logging.getLogger(__name__)

_AUDIT_TYPE = AuditEventType.AGENT_AUTH
"""Refusals at the tool boundary are recorded as the acting agent's (denials as PERMISSION_DENIED)."""


@dataclass(frozen=True)
class ToolContext:
    """Who is acting, fixed by the front end before any model output is read.

    Attributes:
        maas: The open instance the tools act on.
        agent_id: The acting agent (bound at toolkit construction or by the MCP API key).
        scope_floor: For API keys: the widest dict scope the key may query or write
            (``None`` = the agent's own entitlements only).
        read_only: When True every tool with ``writes=True`` is refused.
    """

    maas: MaaS
    agent_id: str
    scope_floor: Mapping[str, str] | None = None
    read_only: bool = False


@dataclass(frozen=True)
class ToolSpec:
    """A tool as both front ends publish it.

    Attributes:
        name: The name a model calls (the specification's names where it has one).
        description: What the tool does and when to use it, written for a model.
        args_schema: The pydantic model of the arguments (its JSON schema is what clients see).
        handler: ``handler(ctx, args) -> JSON-ready result``; raises :class:`MaaSError` on refusal.
        writes: True when the tool changes state (refused for read-only keys).
    """

    name: str
    description: str
    args_schema: type[BaseModel]
    handler: Callable[[ToolContext, Any], Any]
    writes: bool = False
    tags: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one call: ``ok`` with ``data``, or an error ``code`` and ``message``
    (``retryable``: the error's own flag, for front ends that report it, such as REST)."""

    ok: bool
    data: Any = None
    code: str | None = None
    message: str | None = None
    retryable: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"ok": True, "result": ...}`` or ``{"ok": False, "error": {...}}``."""
        if self.ok:
            return {"ok": True, "result": self.data}
        return {"ok": False, "error": {"code": self.code, "message": self.message}}

    def as_json(self) -> str:
        """:meth:`as_dict` as compact JSON text (what a tool message carries)."""
        return json.dumps(self.as_dict(), ensure_ascii=False, separators=(",", ":"), default=str)


def execute(spec: ToolSpec, ctx: ToolContext, raw_args: Mapping[str, Any] | BaseModel) -> ToolResult:
    """Validate ``raw_args`` against the spec, run the handler, and never raise.

    Validation failures come back as ``invalid_input`` with pydantic's field messages;
    :class:`MaaSError` as its stable code and message; anything else as ``internal_error`` with
    a sentence and no stack trace (the trace goes to the log). Every refusal — a read-only key,
    invalid arguments, any :class:`MaaSError` — leaves exactly one audit row with the acting
    agent and the reason (:func:`refuse`).
    """
    if spec.writes:
        try:
            require_writable_key(ctx.read_only, spec.name)
        except MaaSError as exc:
            return refuse(spec.name, ctx, exc)
    try:
        args = raw_args if isinstance(raw_args, spec.args_schema) else spec.args_schema.model_validate(dict(raw_args))
    except ValidationError as exc:
        return validation_error_result(spec, exc, ctx)
    except (TypeError, ValueError) as exc:
        return refuse(spec.name, ctx, InvalidInputError(f"Invalid arguments for {spec.name}: {exc}"))
    try:
        return ToolResult(True, data=spec.handler(ctx, args))
    except MaaSError as exc:
        return refuse(spec.name, ctx, exc)
    except Exception:
        log.exception("tool %s failed", spec.name)
        return ToolResult(
            False, code="internal_error", message=f"{spec.name} failed inside the server; the error was logged."
        )


def refuse(action: str, ctx: ToolContext, exc: MaaSError) -> ToolResult:
    """The result of a refused call, recorded in the audit log unless a service already did:
    PERMISSION_DENIED for denials, the tool's own name as the action, the error code as outcome."""
    ctx.maas.runtime.record_failure(exc, event_type=_AUDIT_TYPE, action=action, actor=ctx.agent_id, target=None)
    return ToolResult(False, code=exc.code, message=str(exc), retryable=exc.retryable)


def validation_error_result(spec: ToolSpec, exc: ValidationError, ctx: ToolContext | None = None) -> ToolResult:
    """The ``invalid_input`` result for arguments that failed ``spec.args_schema`` (one sentence per
    field), so a front end that validates before :func:`execute` answers exactly alike; with
    ``ctx`` the refusal is audited as :func:`refuse` does."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors(include_url=False)
    )
    error = InvalidInputError(f"Invalid arguments for {spec.name}: {problems}"[:2_000])
    if ctx is not None:
        return refuse(spec.name, ctx, error)
    return ToolResult(False, code=error.code, message=error.message)


def input_schema(spec: ToolSpec) -> dict[str, Any]:
    """The JSON schema of ``spec``'s arguments with every ``$ref`` inlined: one self-contained
    object, as MCP clients and function-calling APIs want it."""
    schema = spec.args_schema.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = defs[str(node["$ref"]).rsplit("/", 1)[-1]]
                return inline({**target, **{k: v for k, v in node.items() if k != "$ref"}})
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    result: dict[str, Any] = inline(schema)
    return result
