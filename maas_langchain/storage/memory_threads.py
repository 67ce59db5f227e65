"""In-memory reference for checkpointer thread ownership, mixed into the in-memory transaction."""

from __future__ import annotations

__all__ = ["MemoryThreadOps"]


class MemoryThreadOps:
    """ThreadOps on plain dicts; keep tables in ``self.t.extra`` and record undo steps with ``_put``/``_pop``."""
