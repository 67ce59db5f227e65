"""In-memory reference for checkpointer thread ownership, mixed into the in-memory transaction."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["MemoryThreadOps"]

_TABLE = "thread_owners"


class _Tables(Protocol):
    extra: dict[str, Any]


class MemoryThreadOps:
    """ThreadOps on a dict ``{thread_id: (owner_id, created_at)}`` in ``self.t.extra``; undo via ``_put``/``_pop``."""

    t: _Tables

    def _put(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        raise NotImplementedError

    def _pop(self, table: dict[Any, Any], key: Any) -> bool:
        raise NotImplementedError

    def _owners(self) -> dict[str, tuple[str, float]]:
        table: dict[str, tuple[str, float]] = self.t.extra.setdefault(_TABLE, {})
        return table

    def get_thread_owner(self, thread_id: str) -> str | None:
        row = self._owners().get(thread_id)
        return None if row is None else row[0]

    def claim_thread(self, thread_id: str, agent_id: str, created_at: float) -> str:
        owners = self._owners()
        if thread_id not in owners:
            self._put(owners, thread_id, (agent_id, created_at))
        return owners[thread_id][0]

    def delete_thread_owner(self, thread_id: str) -> bool:
        return self._pop(self._owners(), thread_id)

    def count_threads(self, owner_id: str | None = None) -> int:
        return sum(1 for owner, _ in self._owners().values() if owner_id is None or owner == owner_id)
