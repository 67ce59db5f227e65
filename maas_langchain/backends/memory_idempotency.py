"""In-memory reference for Idempotency-Key records, mixed into the in-memory transaction.

One dict in ``self.t.extra`` (``idempotency_keys``, keyed by ``(principal, key)``) mirrors the
SQL table. The backend's single lock serialises transactions, so a claim is a plain
"insert if absent"; every change goes through ``_put``/``_pop``, which record the inverse for
rollback.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from maas_langchain.core.ports.idempotency import IdempotencyRecord

__all__ = ["MemoryIdempotencyOps"]


class _Tables(Protocol):
    extra: dict[str, Any]


class MemoryIdempotencyOps:
    """IdempotencyOps on a plain dict; keep it in ``self.t.extra`` and record undo steps with ``_put``/``_pop``."""

    t: _Tables

    def _put(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        raise NotImplementedError

    def _pop(self, table: dict[Any, Any], key: Any) -> bool:
        raise NotImplementedError

    def _idempotency(self) -> dict[tuple[str, str], IdempotencyRecord]:
        table: dict[tuple[str, str], IdempotencyRecord] = self.t.extra.setdefault("idempotency_keys", {})
        return table

    def get_idempotency(self, principal: str, key: str) -> IdempotencyRecord | None:
        return self._idempotency().get((principal, key))  # frozen: safe to hand out

    def claim_idempotency(self, record: IdempotencyRecord) -> bool:
        table = self._idempotency()
        if (record.principal, record.key) in table:
            return False
        self._put(table, (record.principal, record.key), record)
        return True

    def finish_idempotency(self, principal: str, key: str, status: int, response: str) -> None:
        table = self._idempotency()
        found = table.get((principal, key))
        if found is not None and found.state == "pending":
            done = dataclasses.replace(found, state="done", status=status, response=response)
            self._put(table, (principal, key), done)

    def drop_idempotency(self, principal: str, key: str) -> None:
        self._pop(self._idempotency(), (principal, key))

    def purge_idempotency(self, before: float) -> int:
        table = self._idempotency()
        doomed = [k for k, r in table.items() if r.created_at < before]
        for key in doomed:
            self._pop(table, key)
        return len(doomed)
