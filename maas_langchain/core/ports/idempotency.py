"""Storage port: Idempotency-Key records, so a retried write request runs at most once.

:class:`~maas_langchain.core.ports.state.StateTx` inherits these abstract operations; the SQL
backends implement them in ``sql_idempotency.py`` (table ``idempotency_keys``, primary key
``(principal, key)``) and the in-memory reference in ``memory_idempotency.py``. Policy is not
here: :class:`~maas_langchain.core.idempotency.IdempotencyService` decides when a record has
expired or its request has crashed; storage keeps one row per principal and key and lets exactly
one claim of a key win.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

__all__ = ["IdempotencyOps", "IdempotencyRecord"]


@dataclass(frozen=True)
class IdempotencyRecord:
    """One Idempotency-Key as stored.

    Attributes:
        principal: Who sent the request (keys are per principal: two callers never collide).
        key: The client's Idempotency-Key.
        fingerprint: A digest of the request (method, path, body) the key was first used for.
        created_at: When the key was claimed (seconds since the epoch).
        state: ``"pending"`` while the request runs, ``"done"`` once its response is stored.
        status: The stored response's HTTP status (``None`` while pending).
        response: The stored response body (``None`` while pending).
    """

    principal: str
    key: str
    fingerprint: str
    created_at: float
    state: str  # "pending" | "done"
    status: int | None = None
    response: str | None = None


class IdempotencyOps(abc.ABC):
    """Abstract Idempotency-Key operations of one transaction."""

    @abc.abstractmethod
    def get_idempotency(self, principal: str, key: str) -> IdempotencyRecord | None:
        """The record of ``key`` for ``principal``, or ``None``."""

    @abc.abstractmethod
    def claim_idempotency(self, record: IdempotencyRecord) -> bool:
        """Store ``record`` unless a row for its ``(principal, key)`` exists; True if stored.

        Race-safe across threads and processes: of concurrent claims of one key, exactly one
        returns True (``INSERT ... ON CONFLICT DO NOTHING`` on the SQL backends).
        """

    @abc.abstractmethod
    def finish_idempotency(self, principal: str, key: str, status: int, response: str) -> None:
        """Store the response of a pending key and mark it ``done`` (a done row is left as is)."""

    @abc.abstractmethod
    def drop_idempotency(self, principal: str, key: str) -> None:
        """Delete the record of ``key`` for ``principal`` (nothing if there is none)."""

    @abc.abstractmethod
    def purge_idempotency(self, before: float) -> int:
        """Delete every record created before ``before``; return how many."""
