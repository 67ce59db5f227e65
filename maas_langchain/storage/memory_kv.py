"""In-memory reference for LangGraph store items (namespaces, keys, JSON values, TTL, vectors), mixed into the in-memory transaction."""

from __future__ import annotations

__all__ = ["MemoryKVOps"]


class MemoryKVOps:
    """KVOps on plain dicts; keep tables in ``self.t.extra`` and record undo steps with ``_put``/``_pop``."""
