"""Structured-memory tools: ``get_state``, ``profile``, ``reflect``.

Each reads with the bound agent's grant (:func:`maas_langchain.core.access.memory_grant`, the same
rule as ``recall``): the scope defaults to the agent's own (or its key's floor) and a fact is
visible exactly where the memory it came from is. ``reflect`` with ``persist`` writes a memory,
so a read-only key may reflect but not persist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from maas_langchain.adapters.tools.registry import ToolContext, ToolSpec
from maas_langchain.adapters.tools.specs_common import Args, ScopeDict, memory_json
from maas_langchain.core.access import require_writable_key

__all__ = ["GetStateArgs", "ProfileArgs", "ReflectArgs", "STRUCTURED_TOOLS"]

_SCOPE_HELP = (
    'A dict scope such as {"project": "alpha"}. Leave out for your own scope; allowed: your own, a narrower '
    "one, or one of its ancestors."
)


class GetStateArgs(Args):
    """Arguments of ``get_state``."""

    scope: ScopeDict | None = Field(default=None, description=_SCOPE_HELP)
    entity: str | None = Field(default=None, min_length=1, max_length=200, description="Only this entity (a name).")
    as_of: datetime | None = Field(default=None, description="ISO 8601 time: the state as it was then.")
    history: bool = Field(default=True, description="Include superseded values (who changed what, when).")


class ProfileArgs(Args):
    """Arguments of ``profile``."""

    scope: ScopeDict | None = Field(default=None, description=_SCOPE_HELP)
    per_category: int = Field(default=5, ge=1, le=50, description="Recent memories per category.")


class ReflectArgs(Args):
    """Arguments of ``reflect``."""

    query: str = Field(min_length=1, max_length=4_000, description="The question to reflect on.")
    scope: ScopeDict | None = Field(default=None, description=_SCOPE_HELP)
    persist: bool = Field(default=False, description="Store the summary as a reflection memory at the scope.")
    top_k: int = Field(default=10, ge=1, le=50, description="Memories to recall and summarise.")


def _get_state(ctx: ToolContext, args: GetStateArgs) -> dict[str, Any]:
    maas = ctx.maas
    maas.extraction.drain(timeout=30.0, everyone=True)
    state = maas.entities.state(
        args.scope,
        as_of=None if args.as_of is None else args.as_of.timestamp(),
        history=args.history,
        entity=args.entity,
        as_agent=ctx.agent_id,
        floor=ctx.scope_floor,
    )
    return state.to_dict()


def _profile(ctx: ToolContext, args: ProfileArgs) -> dict[str, Any]:
    profile = ctx.maas.reflections.profile(
        args.scope, per_category=args.per_category, as_agent=ctx.agent_id, floor=ctx.scope_floor
    )
    return {
        "scope": profile.scope,
        "facts": profile.state.to_dict()["entities"],
        "memories": {c: [memory_json(m) for m in items] for c, items in profile.memories.items()},
        "reflections": [memory_json(m) for m in profile.reflections],
    }


def _reflect(ctx: ToolContext, args: ReflectArgs) -> dict[str, Any]:
    if args.persist:
        require_writable_key(ctx.read_only, "reflect with persist")
    found = ctx.maas.reflections.reflect(
        args.query,
        scope=args.scope,
        persist=args.persist,
        top_k=args.top_k,
        author_id=ctx.agent_id,
        as_agent=ctx.agent_id,
        floor=ctx.scope_floor,
    )
    return {
        "summary": found.summary,
        "memory_ids": list(found.memory_ids),
        "method": found.method,
        "note": found.note,
        "reflection_id": found.reflection_id,
    }


STRUCTURED_TOOLS = [
    ToolSpec(
        "get_state",
        "The entities known at a scope with their current attribute values and relations, and the values "
        "later writes replaced (superseded_by: who changed what, when). Use it to check a fact before "
        "acting on it.",
        GetStateArgs,
        _get_state,
        tags=("memory",),
    ),
    ToolSpec(
        "profile",
        "A consolidated view of a scope: current entity facts, recent memories by category, and stored "
        "reflections. Use it to load context at the start of a task.",
        ProfileArgs,
        _profile,
        tags=("memory",),
    ),
    ToolSpec(
        "reflect",
        "Summarise what your scope knows about a question, citing memory ids; persist=true stores the summary "
        "as a reflection that later profile calls include.",
        ReflectArgs,
        _reflect,
        tags=("memory",),
    ),
]
"""Structured-memory tools."""
