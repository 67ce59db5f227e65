"""One exception tree for everything MaaS raises.

Every error carries a stable ``code`` that the tools and the MCP server pass to clients
unchanged, a human sentence, and optional ``details``::

    MaaSError                      code
    ├── PermissionDeniedError      permission_denied
    ├── NotFoundError              not_found
    ├── ConflictError              conflict
    │   ├── EmbeddingDimensionError   (an index built with another model or dimension)
    │   ├── AuditKeyError             (the audit key is missing, exposed, or not the log's key)
    │   └── RequestInProgressError    (same Idempotency-Key still running; ``retryable`` is True)
    ├── CapacityExceededError      capacity_exceeded
    ├── InvalidInputError          invalid_input
    ├── PolicyViolationError       policy_violation
    ├── BackendUnavailableError    backend_unavailable   (``retryable`` is True)
    │   ├── VectorStoreLockedError    (embedded Chroma folder held by another process; not retryable)
    │   ├── StorageFullError          (no room to write: the disk, or a file size limit; retry once freed)
    │   └── ConcurrentWriteError      (what a write was decided on changed before it committed)
    ├── StorageCorruptedError      storage_corrupted     (damaged or lost database file; not retryable)
    └── NotSupportedError          not_supported   (also a ``NotImplementedError``)

Driver errors (``sqlite3``, ``psycopg``) are translated at the storage boundary with
``raise ... from exc``; none of them ever reaches a caller.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AuditKeyError",
    "BackendUnavailableError",
    "CapacityExceededError",
    "ConcurrentWriteError",
    "ConflictError",
    "EmbeddingDimensionError",
    "InvalidInputError",
    "MaaSError",
    "NotSupportedError",
    "NotFoundError",
    "PermissionDeniedError",
    "PolicyViolationError",
    "RequestInProgressError",
    "StorageCorruptedError",
    "StorageFullError",
    "VectorStoreLockedError",
]


class MaaSError(Exception):
    """Base class of every MaaS error.

    Args:
        message: A sentence that says what was wrong and, where possible, what to do.
        details: Structured facts about the failure (ids, limits), safe to show a client.
    """

    code: ClassVar[str] = "maas_error"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.audited = False  # set once the audit log has a row for this refusal

    def to_dict(self) -> dict[str, Any]:
        """Return the error as a JSON-ready dict: ``code``, ``message``, ``retryable``, details."""
        return {
            "code": self.code,
            "message": self.message,
            "retryable": self.retryable,
            **({"details": self.details} if self.details else {}),
        }


class PermissionDeniedError(MaaSError):
    """The acting agent lacks a capability, a pool permission or the scope for the operation."""

    code = "permission_denied"


class NotFoundError(MaaSError):
    """A well-formed id names nothing that exists (or nothing the caller may see)."""

    code = "not_found"


class ConflictError(MaaSError):
    """The operation does not fit the current state (a handoff already accepted, a duplicate id)."""

    code = "conflict"


class CapacityExceededError(MaaSError):
    """A capacity limit (agents, pools, members, shares, handoffs) would be exceeded."""

    code = "capacity_exceeded"


class InvalidInputError(MaaSError):
    """An argument is malformed: wrong type, empty, too large, unknown enum value."""

    code = "invalid_input"


class PolicyViolationError(MaaSError):
    """Screening refused the content (prompt injection, payloads, exfiltration phrasing)."""

    code = "policy_violation"


class BackendUnavailableError(MaaSError):
    """The storage backend could not be reached or stayed busy; the call may be retried."""

    code = "backend_unavailable"
    retryable = True


class VectorStoreLockedError(BackendUnavailableError):
    """The embedded Chroma folder is held by another process (Chroma's ``PersistentClient`` is
    not safe for two processes). Use the service or scale-out mode instead."""

    retryable = False


class StorageFullError(BackendUnavailableError):
    """A write found no room: the disk (or the quota) holding ``path`` is full, or a file reached
    the process's file size limit (``ulimit -f``). The message names the path and the bytes still
    free there. Retryable once space is freed, and a retry is safe: SQLite rolled the failed
    transaction back, and the vector index's writes are idempotent upserts."""


class ConcurrentWriteError(BackendUnavailableError):
    """A concurrent writer changed what a write was decided on before it committed, so nothing
    was stored (PostgreSQL, where writers of one pool run in parallel). The services retry such
    a write once themselves, serialised behind the others; a caller that still sees this may
    retry it."""


class StorageCorruptedError(MaaSError):
    """The stored data is damaged: SQLite reports a malformed page or a file that is not a
    database, or the database file of a store that existed is missing or empty. Retrying cannot
    fix it, so ``retryable`` is False, and once it is seen the backend refuses further writes
    until it is reopened. Repair: restore from a backup (or ``sqlite3 maas.db ".recover"``);
    ``maas status`` runs SQLite's ``quick_check``."""

    code = "storage_corrupted"


class EmbeddingDimensionError(ConflictError):
    """Vectors of one dimension or model met an index built with another."""


class AuditKeyError(ConflictError):
    """The audit key cannot be used: its file is readable by others, it is missing for a log that
    was sealed with one, or it is not the key the log was sealed with (appends are refused so the
    chain never mixes keys). See docs/audit.md."""


class RequestInProgressError(ConflictError):
    """A request with the same Idempotency-Key is still running: retry once it has finished, and
    the stored response of that first request is returned instead of running it again."""

    retryable = True


class NotSupportedError(MaaSError, NotImplementedError):
    """The operation is part of the API but not available yet (or not in this mode)."""

    code = "not_supported"
