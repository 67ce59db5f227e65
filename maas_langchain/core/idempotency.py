"""Idempotency-Key handling: a retried write request runs once, later copies get its response.

A client sends an ``Idempotency-Key`` header with a write (``remember``, ``initiate_handoff``,
...). :meth:`IdempotencyService.begin` claims the key for the caller in one write transaction;
the first request proceeds and stores its response with :meth:`~IdempotencyService.finish`,
and a retry with the same key and the same request gets that response back
(:class:`Replay`) instead of running again. Keys are per principal, so two callers never
collide. A key reused for a different request is refused; a retry that arrives while the first
request still runs gets a retryable :class:`~maas_langchain.errors.RequestInProgressError`.

Records expire after ``ttl`` seconds; a ``pending`` record older than ``lease`` seconds is taken
over, since the request that claimed it has crashed (or outlived any client's patience). These
calls write no audit entries: the REST layer audits the request itself.

Example:
    >>> from maas_langchain import MaaS
    >>> maas = MaaS.open(":memory:", sweep_interval=None)
    >>> keys = IdempotencyService(maas.runtime)
    >>> keys.begin("agent-1", "k-1", "fp") is None  # first time: proceed
    True
    >>> keys.finish("agent-1", "k-1", 201, '{"id": "m1"}')
    >>> keys.begin("agent-1", "k-1", "fp")
    Replay(status=201, response='{"id": "m1"}')
    >>> maas.close()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maas_langchain.core.enums import AuditEventType
from maas_langchain.core.ports.idempotency import IdempotencyRecord
from maas_langchain.core.ports.state import StateTx
from maas_langchain.core.runtime import Runtime
from maas_langchain.errors import InvalidInputError, RequestInProgressError

__all__ = ["IdempotencyService", "Replay", "check_idempotency_key"]

_OP = AuditEventType.MEMORY_OPERATION
_ACTION = "idempotency"
_MAX_KEY = 255
_MAX_FIELD = 1_024


@dataclass(frozen=True)
class Replay:
    """The stored response of the first request sent with an Idempotency-Key.

    Attributes:
        status: Its HTTP status.
        response: Its body, as sent.
    """

    status: int
    response: str


def check_idempotency_key(key: Any) -> str:
    """Return ``key`` if it is a valid ``Idempotency-Key`` header value: 1 to 255 printable ASCII
    characters, with no whitespace or control characters.

    Raises:
        InvalidInputError: Anything else.
    """
    if not isinstance(key, str):
        raise InvalidInputError(
            f"the Idempotency-Key header must be a string, got {type(key).__name__}", header="Idempotency-Key"
        )
    if not 1 <= len(key) <= _MAX_KEY or not all("!" <= c <= "~" for c in key):
        raise InvalidInputError(
            f"the Idempotency-Key header must be 1 to {_MAX_KEY} printable ASCII characters without spaces "
            f"or control characters (got {len(key)} characters)",
            header="Idempotency-Key",
            limit=_MAX_KEY,
        )
    return key


def _check_field(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_FIELD:
        raise InvalidInputError(f"{field} must be a non-empty string of at most {_MAX_FIELD} characters", field=field)
    return value


class IdempotencyService:
    """Claim, answer and expire Idempotency-Keys (see the module docstring).

    Args:
        rt: Shared runtime (its clock dates the records).
        ttl: Seconds a key is remembered (after that, the same key is a new request).
        lease: Seconds a ``pending`` key is held for its first request before another request
            may take it over (the first one is presumed dead).
    """

    def __init__(self, rt: Runtime, *, ttl: float = 86_400.0, lease: float = 60.0) -> None:
        if not ttl > 0 or not lease > 0:
            raise InvalidInputError("ttl and lease must be positive numbers of seconds", ttl=ttl, lease=lease)
        self._rt = rt
        self.ttl = float(ttl)
        self.lease = float(lease)

    def begin(self, principal: str, key: str, fingerprint: str) -> Replay | None:
        """Claim ``key`` for ``principal``'s request with ``fingerprint``.

        Returns:
            ``None`` when the caller should run the request (then call :meth:`finish` or
            :meth:`abandon`); a :class:`Replay` of the stored response when this request was
            already answered.

        Raises:
            InvalidInputError: A malformed key, or a key already used for a different request.
            RequestInProgressError: The first request with this key is still running (retryable).
        """
        key = check_idempotency_key(key)
        principal = _check_field(principal, "principal")
        fingerprint = _check_field(fingerprint, "fingerprint")
        now = self._rt.clock()
        claim = IdempotencyRecord(principal, key, fingerprint, now, "pending")

        def op(tx: StateTx) -> IdempotencyRecord | None:
            found = tx.get_idempotency(principal, key)
            if found is not None and self._stale(found, now):
                tx.drop_idempotency(principal, key)
            if tx.claim_idempotency(claim):
                return None
            return tx.get_idempotency(principal, key)

        # Nothing inside ``op`` raises a refusal, so ``write`` records no audit entry; the
        # refusals below are raised after the (unchanged) transaction has committed.
        found = self._rt.write(op, event_type=_OP, action=_ACTION, actor=principal, target=None)
        if found is None:
            return None
        if found.fingerprint != fingerprint:
            raise InvalidInputError(
                "Idempotency-Key was already used for a different request by this caller; "
                "send a new key for a new request",
                header="Idempotency-Key",
            )
        if found.state != "done" or found.status is None or found.response is None:
            retry_after = max(1.0, found.created_at + self.lease - now)
            raise RequestInProgressError(
                "a request with this Idempotency-Key is still in progress; retry after it finishes",
                header="Idempotency-Key",
                retry_after=round(retry_after, 3),
            )
        return Replay(found.status, found.response)

    def finish(self, principal: str, key: str, status: int, response: str) -> None:
        """Store the response of the request that claimed ``key``; later copies replay it."""
        if isinstance(status, bool) or not isinstance(status, int) or not isinstance(response, str):
            raise InvalidInputError("status must be an int and response a string", field="status")
        self._rt.write(
            lambda tx: tx.finish_idempotency(principal, key, status, response),
            event_type=_OP,
            action=_ACTION,
            actor=principal,
            target=None,
        )

    def abandon(self, principal: str, key: str) -> None:
        """Release a ``pending`` key (its request failed in a way a retry may fix); a finished
        key is kept."""

        def op(tx: StateTx) -> None:
            found = tx.get_idempotency(principal, key)
            if found is not None and found.state == "pending":
                tx.drop_idempotency(principal, key)

        self._rt.write(op, event_type=_OP, action=_ACTION, actor=principal, target=None)

    def purge(self) -> int:
        """Delete the records older than ``ttl``; return how many."""
        before = self._rt.clock() - self.ttl
        return self._rt.write(
            lambda tx: tx.purge_idempotency(before), event_type=_OP, action=_ACTION, actor=None, target=None
        )

    def _stale(self, record: IdempotencyRecord, now: float) -> bool:
        age = now - record.created_at
        return age > self.ttl or (record.state == "pending" and age > self.lease)
