"""What every service shares: the backend, limits, clock, audit writer and error conventions.

The :class:`Runtime` also runs write operations (:meth:`Runtime.write`): the operation and its
audit entry commit in one transaction, and a failure is recorded in the audit log (in a
transaction of its own, since the failed one rolled back) before the error propagates.

Audit entries are HMAC-SHA256 under the instance's audit key (``core/audit_chain.py``). The key
belongs to the chain, so it travels with the backend: every Runtime built over the same backend
object (the facade's, and the strict copies the adapters make) signs with the key the first one
was given; a Runtime built without any gets a random key for that backend (fine for
``:memory:``, unverifiable after a restart elsewhere).
"""

from __future__ import annotations

import functools
import inspect
import secrets
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from maas_langchain.core.audit_chain import AuditKey, chain_hash
from maas_langchain.core.enums import AuditEventType, EventKind
from maas_langchain.core.limits import CapacityLimits
from maas_langchain.core.ports.state import GENESIS_HASH, StateBackend, StateTx
from maas_langchain.core.records import AuditEvent
from maas_langchain.errors import AuditKeyError, MaaSError, PermissionDeniedError

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "Runtime",
    "audit_refusals",
    "chain_hash",
    "default_runtime",
    "entry_hash",
    "set_default_factory",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


_keys: weakref.WeakKeyDictionary[StateBackend, AuditKey] = weakref.WeakKeyDictionary()
_keys_lock = threading.Lock()


def _chain_key(backend: StateBackend, key: AuditKey | bytes | None) -> AuditKey:
    """The audit key of ``backend``'s chain: ``key`` if given (it becomes the backend's), else
    the one already given for this backend, else a random one kept for it."""
    with _keys_lock:
        if key is None:
            found = _keys.get(backend)
            if found is None:
                found = _keys[backend] = AuditKey(secrets.token_bytes(32), source="ephemeral")
            return found
        found = key if isinstance(key, AuditKey) else AuditKey(bytes(key))
        _keys[backend] = found
        return found


@dataclass(frozen=True)
class AuditEntry:
    """What a service wants to record; the runtime adds sequence, time and hashes."""

    event_type: AuditEventType
    action: str
    actor: str | None
    target: str | None
    outcome: str = "success"
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The hashed fields, as JSON-ready values."""
        return {
            "event_type": self.event_type.value,
            "action": self.action,
            "actor": self.actor,
            "target": self.target,
            "outcome": self.outcome,
            "reason": self.reason,
            "details": self.details,
        }


def entry_hash(event: AuditEvent, secret: bytes | None) -> str:
    """The chain hash of a complete entry (its fields, ``seq``, ``timestamp`` and ``prev_hash``)."""
    body = AuditEntry(
        event.event_type, event.action, event.actor, event.target, event.outcome, event.reason, event.details
    ).body()
    return chain_hash(event.prev_hash, event.seq, event.timestamp, body, secret)


class Runtime:
    """Shared plumbing of the services of one MaaS instance.

    Args:
        backend: Where state lives.
        limits: Capacity and input-size limits.
        clock: Seconds since the epoch; tests pass a controllable clock.
        audit: Record audit entries (on by default).
        raise_on_denial: Raise :class:`PermissionDeniedError` instead of the specification's
            ``None`` / ``False`` returns.
        audit_key: The key audit entries are signed with (see the module docstring).
        audit_anchors: The file :meth:`MaaSAuditLogger.anchor` appends to by default, and
            :meth:`MaaSAuditLogger.verify_chain` reads by default (``None``: no default file).
    """

    def __init__(
        self,
        backend: StateBackend,
        limits: CapacityLimits,
        clock: Callable[[], float],
        *,
        audit: bool = True,
        raise_on_denial: bool = False,
        audit_key: AuditKey | bytes | None = None,
        audit_anchors: str | None = None,
    ) -> None:
        self.backend = backend
        self.limits = limits
        self.clock = clock
        self.audit_enabled = audit
        self.raise_on_denial = raise_on_denial
        self.audit_key = _chain_key(backend, audit_key)
        self.audit_anchors = audit_anchors
        secret = self.audit_key.secret
        if self.audit_key.refusal is None:
            backend.bind_audit_hasher(lambda event: entry_hash(event, secret))

    def record(self, tx: StateTx, entry: AuditEntry) -> None:
        """Append ``entry`` to the hash chain inside ``tx``.

        Raises:
            AuditKeyError: The key does not open the log's seal; nothing is appended with it.
        """
        if not self.audit_enabled:
            return
        key = self.audit_key
        if key.refusal is not None:
            raise AuditKeyError(key.refusal, key_id=key.id)
        body, secret, clock = entry.body(), key.secret, self.clock

        def build(seq: int, prev: str) -> AuditEvent:
            now = clock()  # when the entry is built: under the chain's lock, or at commit (PostgreSQL)
            return AuditEvent(
                seq=seq + 1,
                timestamp=now,
                event_type=entry.event_type,
                action=entry.action,
                actor=entry.actor,
                target=entry.target,
                outcome=entry.outcome,
                reason=entry.reason,
                details=entry.details,
                prev_hash=prev,
                hash=chain_hash(prev, seq + 1, now, body, secret),
            )

        tx.chain_audit(build)

    def emit(self, tx: StateTx, kind: EventKind, pool_id: str | None = None, **data: Any) -> None:
        """Append an event of ``kind`` to the stream inside ``tx`` (``None`` values dropped)."""
        tx.append_event(kind, self.clock(), pool_id, {k: v for k, v in data.items() if v is not None})

    def read(self, fn: Callable[[StateTx], T]) -> T:
        """Run ``fn`` in a read transaction."""
        with self.backend.transaction(write=False) as tx:
            return fn(tx)

    def write(
        self,
        fn: Callable[[StateTx], T],
        *,
        event_type: AuditEventType,
        action: str,
        actor: str | None,
        target: str | None,
    ) -> T:
        """Run ``fn`` in a write transaction; on a :class:`MaaSError` record the failure, re-raise."""
        try:
            with self.backend.transaction(write=True) as tx:
                return fn(tx)
        except MaaSError as exc:
            self.record_failure(exc, event_type=event_type, action=action, actor=actor, target=target)
            raise

    def record_failure(
        self, exc: MaaSError, *, event_type: AuditEventType, action: str, actor: str | None, target: str | None
    ) -> None:
        """Record a denied or failed operation: PERMISSION_DENIED for denials, else the op's type.
        Each exception is recorded once, however many layers it passes (``exc.audited``);
        retryable errors (a busy backend) are not refusals and are not recorded."""
        if not self.audit_enabled or exc.retryable or getattr(exc, "audited", False):
            return
        exc.audited = True
        denied = isinstance(exc, PermissionDeniedError)
        entry = AuditEntry(
            event_type=AuditEventType.PERMISSION_DENIED if denied else event_type,
            action=action,
            actor=actor,
            target=target,
            outcome="denied" if denied else exc.code,
            reason=exc.message[:500],
            details={"code": exc.code, **({"operation": event_type.value} if denied else {})},
        )
        try:
            with self.backend.transaction(write=True) as tx:
                self.record(tx, entry)
        except MaaSError:
            pass  # the original error matters more than a failed audit of it

    def write_or(
        self,
        default: T,
        fn: Callable[[StateTx], T],
        *,
        event_type: AuditEventType,
        action: str,
        actor: str | None,
        target: str | None,
    ) -> T:
        """:meth:`write`, returning ``default`` on a permission denial (see :meth:`deny`)."""
        return self.deny(
            default, lambda: self.write(fn, event_type=event_type, action=action, actor=actor, target=target)
        )

    def deny(self, default: T, fn: Callable[[], T]) -> T:
        """Call ``fn``; on a permission denial return ``default`` (the specification's convention)."""
        try:
            return fn()
        except PermissionDeniedError:
            if self.raise_on_denial:
                raise
            return default


def audit_refusals(
    event_type: AuditEventType, action: str, actor_arg: str, target_arg: str | None = None
) -> Callable[[F], F]:
    """Decorate a service method (of an object with ``_rt``) so that any refusal of a call made
    for an agent — argument ``actor_arg`` given, by keyword or position — is in the audit log
    once, bad arguments included (``target_arg`` names the argument recorded as the target);
    the trusted caller's own mistakes (no agent) are only raised."""

    def wrap(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def inner(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(self, *args, **kwargs)
            except MaaSError as exc:
                given = signature.bind_partial(self, *args, **kwargs).arguments
                actor = given.get(actor_arg)
                if actor is not None:
                    target = None if target_arg is None else given.get(target_arg)
                    self._rt.record_failure(
                        exc,
                        event_type=event_type,
                        action=action,
                        actor=_shown(actor, 256),
                        target=None if target is None else _shown(target, 128),
                    )
                raise

        return cast(F, inner)

    return wrap


def _shown(value: Any, limit: int) -> str:
    """An argument as the audit log records it: a string as given, anything else its repr; NUL and
    what UTF-8 cannot encode (a lone surrogate) escaped, so that every backend can store it."""
    try:
        text = value if isinstance(value, str) else repr(value)
    except Exception:  # a hostile __repr__ must not replace the refusal being recorded
        text = f"a {type(value).__name__}"
    return text[:limit].replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


_default_lock = threading.Lock()
_default_factory: Callable[[], Any] | None = None


def set_default_factory(factory: Callable[[], Any]) -> None:
    """Register how the default instance is obtained (the facade does this at import)."""
    global _default_factory
    with _default_lock:
        _default_factory = factory


def default_runtime() -> Any:
    """Return the default MaaS instance (``MaaS.default()``) for the singleton accessors."""
    if _default_factory is None:  # importing any submodule runs the package __init__, which registers it
        raise RuntimeError("no default MaaS factory is registered; import maas_langchain first")
    return _default_factory()
