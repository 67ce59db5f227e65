"""The audit log: durable, append-only, hash-chained, on by default.

The registries record every operation (AGENT_AUTH, POOL_OPERATION, HANDOFF,
CROSS_AGENT_READ) and every denial (PERMISSION_DENIED, with the reason) in the same
transaction as the change. Each entry's hash covers the previous entry's hash, so editing or
deleting an entry is detected by :meth:`MaaSAuditLogger.verify_chain`.

Example:
    >>> from maas_langchain import MaaS, AgentType, MaaSAuditLogger
    >>> maas = MaaS.open(":memory:")
    >>> _ = maas.agents.register_agent(AgentType.HUMAN, owner_id="u1")
    >>> [e.event_type.name for e in maas.audit.query()]
    ['AGENT_AUTH']
    >>> maas.audit.verify_chain().ok
    True
    >>> maas.close()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maas_langchain.core.enums import AuditEventType
from maas_langchain.core.ports.state import AuditQuery
from maas_langchain.core.records import AuditEvent
from maas_langchain.core.runtime import GENESIS_HASH, AuditEntry, Runtime, chain_hash, default_runtime
from maas_langchain.core.validation import (
    check_json,
    check_optional_text,
    check_positive_int,
    check_text,
    check_time,
)

__all__ = ["ChainReport", "MaaSAuditLogger"]

_PAGE = 5_000
_MAX_QUERY = 100_000


@dataclass(frozen=True)
class ChainReport:
    """Result of :meth:`MaaSAuditLogger.verify_chain`.

    Attributes:
        ok: True when every entry links to the previous one and its hash matches.
        checked: Entries verified.
        first_bad_seq: Sequence number of the first broken entry, if any.
        problem: What was wrong with it.
    """

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


class MaaSAuditLogger:
    """Reads (and, for orchestrators, writes) the audit log of one MaaS instance.

    ``MaaSAuditLogger()`` with no argument is the logger of the default instance.
    """

    def __init__(self, runtime: Runtime | None = None) -> None:
        self._runtime = runtime

    @property
    def _rt(self) -> Runtime:
        if self._runtime is None:
            runtime: Runtime = default_runtime().runtime
            return runtime
        return self._runtime

    def log(
        self,
        event_type: AuditEventType | str,
        action: str,
        *,
        actor: str | None = None,
        target: str | None = None,
        outcome: str = "success",
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Append an entry of the orchestrator's own (for example a session start)."""
        rt = self._rt
        entry = AuditEntry(
            event_type=AuditEventType.parse(event_type),
            action=check_text(action, "action", 128),
            actor=check_optional_text(actor, "actor", rt.limits.max_name_chars),
            target=check_optional_text(target, "target", rt.limits.max_name_chars),
            outcome=check_text(outcome, "outcome", 64),
            reason=check_optional_text(reason, "reason", 2_000),
            details=check_json(details, "details", rt.limits.max_metadata_bytes),
        )
        with rt.backend.transaction(write=True) as tx:
            rt.record(tx, entry)

    def query(
        self,
        *,
        event_type: AuditEventType | str | None = None,
        actor: str | None = None,
        target: str | None = None,
        outcome: str | None = None,
        action: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 1_000,
        newest_first: bool = False,
    ) -> list[AuditEvent]:
        """Return entries matching every given filter, in sequence order (or newest first)."""
        names = self._rt.limits.max_name_chars
        q = AuditQuery(
            event_type=None if event_type is None else AuditEventType.parse(event_type),
            actor=check_optional_text(actor, "actor", names),
            target=check_optional_text(target, "target", names),
            outcome=check_optional_text(outcome, "outcome", names),
            action=check_optional_text(action, "action", names),
            since=check_time(since, "since"),
            until=check_time(until, "until"),
            limit=check_positive_int(limit, "limit", _MAX_QUERY),
            newest_first=bool(newest_first),
        )
        return self._rt.read(lambda tx: tx.query_audit(q))

    def get_events(self, **filters: Any) -> list[AuditEvent]:
        """Alias of :meth:`query`."""
        return self.query(**filters)

    def count(self) -> int:
        """Number of entries in the log."""
        return self._rt.read(lambda tx: tx.count_audit())

    def _page(self, query: AuditQuery) -> list[AuditEvent]:
        return self._rt.read(lambda tx: tx.query_audit(query))

    def verify_chain(self) -> ChainReport:
        """Recompute every hash from the first entry up to the chain head read at the start;
        report the first break, if any. Entries appended meanwhile are left for the next check."""
        head_seq, head_hash = self._rt.read(lambda tx: tx.lock_audit_head())
        prev, checked = GENESIS_HASH, 0
        while checked < head_seq:
            page = self._page(AuditQuery(after_seq=checked, limit=min(_PAGE, head_seq - checked)))
            for event in page:
                problem = _check_link(event, checked + 1, prev)
                if problem:
                    return ChainReport(False, checked, event.seq, problem)
                prev, checked = event.hash, checked + 1
            if not page:
                return ChainReport(
                    False, checked, checked + 1, f"the chain head records entry {head_seq}; the log ends at {checked}"
                )
        if prev != head_hash:
            return ChainReport(False, checked, checked, "the chain head's hash does not match the last entry")
        return ChainReport(True, checked)


def _check_link(event: AuditEvent, expected_seq: int, prev: str) -> str | None:
    if event.seq != expected_seq:
        return f"entry {expected_seq} is missing (found {event.seq})"
    if event.prev_hash != prev:
        return "prev_hash does not match the previous entry"
    body = AuditEntry(
        event.event_type, event.action, event.actor, event.target, event.outcome, event.reason, event.details
    ).body()
    if chain_hash(prev, event.seq, event.timestamp, body) != event.hash:
        return "hash does not match the entry's content"
    return None
