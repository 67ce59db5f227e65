"""Task handoffs: PENDING → ACCEPTED → COMPLETED, or REJECTED, EXPIRED, CANCELLED.

Only the target accepts, rejects and completes; only the source cancels. The TTL runs in every
open state: an expired handoff can be neither accepted nor completed, whether or not the
sweeper (:class:`HandoffSweeper`) has marked it yet. Every transition is a compare-and-set in
one transaction, so when several processes accept the same handoff exactly one wins and the
others get a :class:`~maas_langchain.errors.ConflictError` naming the state they lost to.

Example:
    >>> from maas_langchain import MaaS, AgentType, HandoffContext
    >>> maas = MaaS.open(":memory:")
    >>> a = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1")
    >>> b = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    >>> h = maas.handoffs.initiate_handoff(a, b, HandoffContext(task_description="Build the form"))
    >>> maas.handoffs.accept_handoff(h, b), maas.handoffs.complete_handoff(h, b, {"ok": True})
    (True, True)
    >>> maas.handoffs.get_handoff(h).status.name
    'COMPLETED'
    >>> maas.close()
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from maas_langchain.core.access import (
    delegated_shares,
    load_actor,
    require_handoff_inbox,
    require_handoff_initiation,
    require_handoff_party,
    require_handoff_reader,
)
from maas_langchain.core.enums import AuditEventType, EventKind, HandoffStatus
from maas_langchain.core.handoff_context import check_context, refuse_flagged
from maas_langchain.core.pools import load_agent
from maas_langchain.core.ports.state import StateTx
from maas_langchain.core.records import Handoff, HandoffContext, SharedMemory
from maas_langchain.core.redaction import redact_handoff
from maas_langchain.core.runtime import AuditEntry, Runtime, audit_refusals, default_runtime
from maas_langchain.core.screening import ScreeningResult, redact_share, screen_text
from maas_langchain.core.threads import require_thread_owner
from maas_langchain.core.validation import (
    check_id,
    check_json,
    check_non_negative,
    check_optional_text,
    check_ttl,
    new_id,
)
from maas_langchain.errors import (
    CapacityExceededError,
    ConflictError,
    InvalidInputError,
    MaaSError,
    NotFoundError,
    PermissionDeniedError,
)

__all__ = ["HandoffManager", "HandoffSweeper", "cancel_open_handoffs", "finish"]

_HANDOFF = AuditEventType.HANDOFF
_OPEN = (HandoffStatus.PENDING, HandoffStatus.ACCEPTED)
# What an initiation contends on: the per-target and total handoff counts it checks.
_INITIATIONS = ("handoffs", "initiate")
_TERMINAL = (HandoffStatus.COMPLETED, HandoffStatus.REJECTED, HandoffStatus.EXPIRED, HandoffStatus.CANCELLED)
_ACTION = {
    HandoffStatus.COMPLETED: "complete",
    HandoffStatus.REJECTED: "reject",
    HandoffStatus.EXPIRED: "expire",
    HandoffStatus.CANCELLED: "cancel",
}
_log = logging.getLogger(__name__)


def finish(
    rt: Runtime,
    tx: StateTx,
    handoff: Handoff,
    status: HandoffStatus,
    *,
    actor: str | None,
    reason: str | None = None,
    result: dict[str, Any] | None = None,
    strict: bool = True,
) -> Handoff | None:
    """Move an open handoff to a terminal ``status`` and audit it (inside ``tx``).

    If another writer moved it first, raise :class:`ConflictError` — or, with ``strict=False``
    (sweepers racing each other), return ``None``.
    """
    now = rt.clock()
    ended = handoff.expires_at if status is HandoffStatus.EXPIRED else now  # expiry happened at the deadline
    done = dataclasses.replace(handoff, status=status, updated_at=now, finished_at=ended, reason=reason, result=result)
    if strict:  # a compare-and-set that must hold: PostgreSQL sends it with the commit
        tx.move_handoff(handoff.handoff_id, _OPEN, done)
    elif not tx.transition_handoff(handoff.handoff_id, _OPEN, done):
        return None
    rt.emit(
        tx,
        EventKind.parse(f"handoff.{status.value}"),
        handoff_id=handoff.handoff_id,
        source=handoff.source_agent_id,
        target=handoff.target_agent_id,
        reason=reason,
    )
    rt.record(
        tx,
        AuditEntry(
            _HANDOFF,
            _ACTION[status],
            actor,
            handoff.handoff_id,
            reason=reason,
            details={
                "source": handoff.source_agent_id,
                "target": handoff.target_agent_id,
            },
        ),
    )
    return done


def cancel_open_handoffs(rt: Runtime, tx: StateTx, agent_id: str, reason: str) -> int:
    """Cancel every open handoff from or to ``agent_id`` (used when it leaves for good)."""
    found = tx.list_handoffs(source_id=agent_id, statuses=_OPEN) + tx.list_handoffs(target_id=agent_id, statuses=_OPEN)
    for handoff in found:
        finish(rt, tx, handoff, HandoffStatus.CANCELLED, actor=None, reason=reason)
    return len(found)


class HandoffManager:
    """Initiates handoffs and moves them through their lifecycle.

    ``HandoffManager.get()`` returns the manager of the default MaaS instance.
    """

    def __init__(self, runtime: Runtime, *, screen: Callable[[str], ScreeningResult] | None = None) -> None:
        self._rt = runtime
        self._screen = screen or screen_text  # the facade passes one that adds the text's embedding

    @classmethod
    def get(cls) -> HandoffManager:
        """Return the handoff manager of the default MaaS instance."""
        manager: HandoffManager = default_runtime().handoffs
        return manager

    @audit_refusals(_HANDOFF, "initiate", "source_agent_id", "target_agent_id")
    def initiate_handoff(
        self,
        source_agent_id: str,
        target_agent_id: str,
        context: HandoffContext | dict[str, Any],
        ttl_seconds: float | None = None,
    ) -> str | None:
        """Hand a task from source to target; return the handoff id, or None on a denial.

        The source needs HANDOFF_INITIATE, the target HANDOFF_RECEIVE; both must be active.

        Raises:
            InvalidInputError: Malformed ids or context (a dict context with a key that is not
                a field is refused, not dropped), a TTL that is not positive, or a handoff to
                oneself.
            NotFoundError: Unknown source or target, or a context thread_id no agent owns.
            CapacityExceededError: The target has ``limits.max_pending_handoffs_per_target``
                pending handoffs, or ``limits.max_handoffs`` exist.
        """
        lim = self._rt.limits
        src, dst = check_id(source_agent_id, "source_agent_id"), check_id(target_agent_id, "target_agent_id")
        if src == dst:
            raise InvalidInputError("an agent cannot hand off to itself", field="target_agent_id")
        ctx = check_context(context, lim.max_context_bytes)
        refuse_flagged(ctx, "context", self._screen)
        ttl = check_ttl(ttl_seconds, lim.default_handoff_ttl_seconds, lim.max_handoff_ttl_seconds)

        def op(tx: StateTx) -> str:
            tx.claim(_INITIATIONS)  # initiations queue among themselves, not behind other writers
            now = self._rt.clock()
            tx.prefetch(
                lambda: tx.get_agent(src),
                lambda: tx.get_agent(dst),
                lambda: tx.list_handoffs(target_id=dst, statuses=_OPEN, expires_before=now),
                lambda: tx.count_handoffs(target_id=dst, status=HandoffStatus.PENDING),
                lambda: tx.count_handoffs(),
            )
            require_handoff_initiation(load_actor(tx, src), load_agent(tx, dst))
            if ctx.thread_id is not None:  # only a thread's owner may hand it off
                require_thread_owner(tx, src, ctx.thread_id)
            for due in tx.list_handoffs(target_id=dst, statuses=_OPEN, expires_before=now):
                finish(self._rt, tx, due, HandoffStatus.EXPIRED, actor=None, reason="ttl elapsed", strict=False)
            if tx.count_handoffs(target_id=dst, status=HandoffStatus.PENDING) >= lim.max_pending_handoffs_per_target:
                raise CapacityExceededError(
                    f"agent {dst} already has {lim.max_pending_handoffs_per_target} pending handoffs",
                    limit=lim.max_pending_handoffs_per_target,
                )
            if tx.count_handoffs() >= lim.max_handoffs:
                raise CapacityExceededError(
                    f"the handoff limit of {lim.max_handoffs} is reached; cleanup_terminal_handoffs() frees space",
                    limit=lim.max_handoffs,
                )
            handoff = Handoff(new_id(), src, dst, ctx, HandoffStatus.PENDING, now, now + ttl, now)
            tx.insert_handoff(handoff)
            self._rt.emit(tx, EventKind.HANDOFF_INITIATED, handoff_id=handoff.handoff_id, source=src, target=dst)
            details = {"source": src, "target": dst, "ttl_seconds": ttl}
            self._rt.record(tx, AuditEntry(_HANDOFF, "initiate", src, handoff.handoff_id, details=details))
            return handoff.handoff_id

        return self._rt.write_or(None, op, event_type=_HANDOFF, action="initiate", actor=src, target=dst)

    def _load(self, tx: StateTx, handoff_id: str) -> Handoff:
        handoff = tx.get_handoff(handoff_id)
        if handoff is None:
            raise NotFoundError(f"no handoff with id {handoff_id}", handoff_id=handoff_id)
        return handoff

    def _transition(
        self,
        handoff_id: str,
        agent_id: str,
        action: str,
        *,
        role: str,
        to: HandoffStatus,
        allowed: tuple[HandoffStatus, ...],
        reason: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> bool:
        hkey, akey = check_id(handoff_id, "handoff_id"), check_id(agent_id, "agent_id")

        def op(tx: StateTx) -> bool:
            tx.claim(("handoff", hkey))  # a compare-and-set on this row; other handoffs run in parallel
            tx.prefetch(lambda: tx.get_handoff(hkey), lambda: tx.get_agent(akey))
            handoff = self._load(tx, hkey)
            require_handoff_party(handoff, load_actor(tx, akey), role, action)
            now = self._rt.clock()
            if handoff.is_expired_at(now):
                raise ConflictError(
                    f"handoff {hkey} expired at {handoff.expires_at:.3f}",
                    handoff_id=hkey,
                    status=HandoffStatus.EXPIRED.value,
                )
            if handoff.status not in allowed:
                raise ConflictError(
                    f"handoff {hkey} is {handoff.status.name}; cannot {action} it",
                    handoff_id=hkey,
                    status=handoff.status.value,
                )
            if to.is_terminal:
                finish(self._rt, tx, handoff, to, actor=akey, reason=reason, result=result)
                return True
            accepted = dataclasses.replace(handoff, status=to, updated_at=now, accepted_at=now)
            tx.move_handoff(hkey, allowed, accepted)
            self._rt.emit(
                tx,
                EventKind.HANDOFF_ACCEPTED,
                handoff_id=hkey,
                source=handoff.source_agent_id,
                target=handoff.target_agent_id,
            )
            self._rt.record(tx, AuditEntry(_HANDOFF, action, akey, hkey))
            return True

        def run() -> bool:
            try:
                return self._rt.write(op, event_type=_HANDOFF, action=action, actor=akey, target=hkey)
            except ConflictError as exc:
                if exc.details.get("status") == HandoffStatus.EXPIRED.value:
                    self.expire_handoffs()  # mark it now rather than at the next sweep
                raise

        return self._rt.deny(False, run)

    @audit_refusals(_HANDOFF, "accept", "agent_id", "handoff_id")
    def accept_handoff(self, handoff_id: str, agent_id: str) -> bool:
        """The target takes the task. False on a denial.

        Raises:
            ConflictError: The handoff is not PENDING (already accepted, finished, expired).
            NotFoundError: Unknown handoff or agent.
        """
        return self._transition(
            handoff_id, agent_id, "accept", role="target", to=HandoffStatus.ACCEPTED, allowed=(HandoffStatus.PENDING,)
        )

    @audit_refusals(_HANDOFF, "reject", "agent_id", "handoff_id")
    def reject_handoff(self, handoff_id: str, agent_id: str, reason: str | None = None) -> bool:
        """The target declines a PENDING or ACCEPTED handoff. False on a denial."""
        why = check_optional_text(reason, "reason", 2_000)
        return self._transition(
            handoff_id, agent_id, "reject", role="target", to=HandoffStatus.REJECTED, allowed=_OPEN, reason=why
        )

    @audit_refusals(_HANDOFF, "complete", "agent_id", "handoff_id")
    def complete_handoff(self, handoff_id: str, agent_id: str, result: dict[str, Any] | None = None) -> bool:
        """The target finishes an ACCEPTED handoff with ``result``. False on a denial.

        Raises:
            ConflictError: Not ACCEPTED, or expired.
        """
        payload = check_json(result, "result", self._rt.limits.max_context_bytes)
        refuse_flagged(payload, "result", self._screen)
        return self._transition(
            handoff_id,
            agent_id,
            "complete",
            role="target",
            to=HandoffStatus.COMPLETED,
            allowed=(HandoffStatus.ACCEPTED,),
            result=payload,
        )

    @audit_refusals(_HANDOFF, "cancel", "agent_id", "handoff_id")
    def cancel_handoff(self, handoff_id: str, agent_id: str, reason: str | None = None) -> bool:
        """The source withdraws an open handoff. False on a denial."""
        why = check_optional_text(reason, "reason", 2_000)
        return self._transition(
            handoff_id, agent_id, "cancel", role="source", to=HandoffStatus.CANCELLED, allowed=_OPEN, reason=why
        )

    @audit_refusals(_HANDOFF, "get", "agent_id", "handoff_id")
    def get_handoff(self, handoff_id: str, agent_id: str | None = None) -> Handoff | None:
        """Return the handoff (secrets redacted), or None if unknown. With ``agent_id``, only its
        source or target may see it: others get None, audited as a denial, and an unknown id is
        audited too (``not_found``), as is a malformed id; a strict instance raises either."""
        hkey = check_id(handoff_id, "handoff_id")
        akey = None if agent_id is None else check_id(agent_id, "agent_id")
        handoff = self._rt.read(lambda tx: tx.get_handoff(hkey))
        if akey is None:
            return None if handoff is None else redact_handoff(handoff)  # reads never show secrets
        try:
            if handoff is None:
                raise NotFoundError(f"no handoff with id {hkey}", handoff_id=hkey)
            require_handoff_reader(handoff, akey)
        except (PermissionDeniedError, NotFoundError) as exc:
            self._rt.record_failure(exc, event_type=_HANDOFF, action="get", actor=akey, target=hkey)
            if self._rt.raise_on_denial:
                raise
            return None
        shown: Handoff = redact_handoff(handoff)
        return shown

    @audit_refusals(_HANDOFF, "get_pending", "agent_id", "agent_id")
    def get_pending_handoffs(self, agent_id: str) -> list[Handoff]:
        """Return the unexpired PENDING handoffs waiting for ``agent_id``, oldest first."""
        akey = check_id(agent_id, "agent_id")
        now = self._rt.clock()

        def op(tx: StateTx) -> list[Handoff]:
            require_handoff_inbox(load_actor(tx, akey))
            return [
                redact_handoff(h)
                for h in tx.list_handoffs(target_id=akey, statuses=(HandoffStatus.PENDING,))
                if not h.is_expired_at(now)
            ]

        def run() -> list[Handoff]:
            try:
                return self._rt.read(op)
            except PermissionDeniedError as exc:
                self._rt.record_failure(exc, event_type=_HANDOFF, action="get_pending", actor=akey, target=akey)
                raise

        return self._rt.deny([], run)

    def list_handoffs(
        self,
        agent_id: str | None = None,
        *,
        statuses: list[HandoffStatus | str] | None = None,
        role: str = "any",
        agent_ids: Sequence[str] | None = None,
    ) -> list[Handoff]:
        """Return handoffs where ``agent_id`` (or any of ``agent_ids``) is the source
        (``role="source"``), the target (``"target"``) or either (``"any"``), oldest first.

        Without either: every handoff (the trusted orchestrator's view).
        """
        if agent_ids is not None and (isinstance(agent_ids, str) or not isinstance(agent_ids, (list, tuple))):
            raise InvalidInputError("agent_ids must be a list of agent ids", field="agent_ids")
        chosen = ([] if agent_id is None else [agent_id]) + list(agent_ids or [])
        ids = None if agent_id is None and agent_ids is None else [check_id(a, "agent_id") for a in chosen]
        if statuses is not None and not isinstance(statuses, (list, tuple, set, frozenset)):
            raise InvalidInputError("statuses must be a list of HandoffStatus values", field="statuses")
        if role not in ("source", "target", "any"):
            raise InvalidInputError("role must be 'source', 'target' or 'any'", field="role")
        wanted = None if statuses is None else [HandoffStatus.parse(s) for s in statuses]

        def op(tx: StateTx) -> list[Handoff]:
            if ids is None:
                return tx.list_handoffs(statuses=wanted)
            found = [h for a in ids if role != "target" for h in tx.list_handoffs(source_id=a, statuses=wanted)]
            found += [h for a in ids if role != "source" for h in tx.list_handoffs(target_id=a, statuses=wanted)]
            unique = {h.handoff_id: h for h in found}
            return sorted(unique.values(), key=lambda h: (h.created_at, h.handoff_id))

        return [redact_handoff(h) for h in self._rt.read(op)]

    @audit_refusals(_HANDOFF, "handoff_memories", "agent_id", "handoff_id")
    def get_handoff_memories(self, handoff_id: str, agent_id: str) -> list[SharedMemory]:
        """The target's delegated grant: while the handoff is open and unexpired, return the
        shares of its ``relevant_memories`` that the *source* may read. The source may call it
        too. Returns [] on a denial (audited)."""
        hkey, akey = check_id(handoff_id, "handoff_id"), check_id(agent_id, "agent_id")

        def op(tx: StateTx) -> list[SharedMemory]:
            tx.claim()  # a read that writes only its audit entry: it contends on nothing
            handoff = self._load(tx, hkey)
            reader, source = load_actor(tx, akey), load_agent(tx, handoff.source_agent_id)
            listed = tx.shares_by_memory_ids(handoff.context.relevant_memories)
            readable = delegated_shares(tx, handoff, reader, source, listed, self._rt.clock())
            self._rt.record(
                tx,
                AuditEntry(
                    AuditEventType.CROSS_AGENT_READ, "handoff_memories", akey, hkey, details={"count": len(readable)}
                ),
            )
            return [redact_share(m) for m in readable]

        return self._rt.write_or([], op, event_type=_HANDOFF, action="handoff_memories", actor=akey, target=hkey)

    def expire_handoffs(self) -> int:
        """Mark every open handoff whose TTL has run out as EXPIRED; return how many."""
        now = self._rt.clock()

        def op(tx: StateTx) -> tuple[int, int]:
            due = tx.list_handoffs(statuses=_OPEN, expires_before=now, limit=500)
            done = [
                finish(self._rt, tx, h, HandoffStatus.EXPIRED, actor=None, reason="ttl elapsed", strict=False)
                for h in due
            ]
            return len(due), sum(1 for d in done if d is not None)

        total = 0
        while True:
            seen, expired = self._rt.write(op, event_type=_HANDOFF, action="expire", actor=None, target=None)
            total += expired
            if seen < 500:
                return total

    def cleanup_terminal_handoffs(self, older_than_seconds: float = 0.0) -> int:
        """Delete COMPLETED, REJECTED, EXPIRED and CANCELLED handoffs finished more than
        ``older_than_seconds`` ago (0: all of them); return how many. Their audit entries stay."""
        older_than_seconds = check_non_negative(older_than_seconds, "older_than_seconds")
        self.expire_handoffs()
        cutoff = self._rt.clock() - older_than_seconds

        def op(tx: StateTx) -> int:
            count = tx.delete_handoffs(_TERMINAL, finished_before=cutoff if older_than_seconds else cutoff + 1.0)
            self._rt.record(tx, AuditEntry(_HANDOFF, "cleanup", None, None, details={"deleted": count}))
            return count

        return self._rt.write(op, event_type=_HANDOFF, action="cleanup", actor=None, target=None)


class HandoffSweeper:
    """A daemon thread that expires handoffs every ``interval`` seconds without being asked.

    Args:
        manager: The manager whose :meth:`HandoffManager.expire_handoffs` it calls.
        interval: Seconds between sweeps.
    """

    def __init__(self, manager: HandoffManager, interval: float) -> None:
        self._manager = manager
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="maas-handoff-sweeper", daemon=True)

    def start(self) -> None:
        """Start sweeping."""
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread (at most one sweep)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._manager.expire_handoffs()
            except MaaSError as exc:  # keep sweeping; the backend may come back
                _log.warning("handoff sweep failed: %s", exc)
