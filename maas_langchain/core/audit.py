"""The audit log: durable, append-only, hash-chained under a key, on by default.

The registries record every operation (AGENT_AUTH, POOL_OPERATION, HANDOFF,
CROSS_AGENT_READ) and every denial (PERMISSION_DENIED, with the reason) in the same
transaction as the change. Each entry's hash is an HMAC, under a key kept outside the
database, over the previous entry's hash and the entry, so editing, deleting, re-hashing or
forging an entry is detected by :meth:`MaaSAuditLogger.verify_chain`; signed anchors written
outside the database (:meth:`MaaSAuditLogger.anchor`) also catch a log cut short or wiped.
The threat model is docs/audit.md.

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

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from maas_langchain.core.audit_chain import (
    AnchorSource,
    AuditAnchor,
    append_anchor,
    load_anchors,
    make_anchor,
    seal_mac,
)
from maas_langchain.core.audit_verify import ChainReport, boundary_hash, verify
from maas_langchain.core.enums import AuditEventType
from maas_langchain.core.ports.state import AuditQuery, StateTx
from maas_langchain.core.records import AuditEvent
from maas_langchain.core.runtime import AuditEntry, Runtime, default_runtime
from maas_langchain.core.validation import (
    check_json,
    check_optional_text,
    check_positive_int,
    check_seq,
    check_text,
    check_time,
)
from maas_langchain.errors import AuditKeyError, ConflictError, InvalidInputError

__all__ = ["AuditAnchor", "ChainReport", "MaaSAuditLogger"]

_MAX_QUERY = 100_000


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
        after_seq: int = 0,
        actors: Sequence[str] | None = None,
    ) -> list[AuditEvent]:
        """Return entries matching every given filter, in sequence order (or newest first).

        ``after_seq`` skips entries up to that sequence number (a page's last ``seq``: the next
        page); ``actors`` keeps entries whose actor is one of these ids (one tenant's agents)."""
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
            after_seq=check_seq(after_seq, "after_seq"),
            actors=None if actors is None else tuple(check_text(a, "actors", names) for a in actors),
        )
        return self._rt.read(lambda tx: tx.query_audit(q))

    def get_events(self, **filters: Any) -> list[AuditEvent]:
        """Alias of :meth:`query`."""
        return self.query(**filters)

    def count(self) -> int:
        """Number of entries in the log."""
        return self._rt.read(lambda tx: tx.count_audit())

    def verify_chain(self, anchors: AnchorSource | None = None) -> ChainReport:
        """Check the whole log and report every problem (``ChainReport.problems``).

        Recomputes each entry's hash (HMAC under the audit key; SHA-256 before the keyed
        boundary) and its link, the chain head, the seal of the boundary, each anchor (its MAC,
        its entry's hash, the count never below it, the same boundary) and the storage's
        protections. Entries appended meanwhile are checked too.

        Args:
            anchors: A file of anchor lines (``"-"``: standard input), or anchor lines /
                :class:`AuditAnchor` objects; ``None`` reads this instance's anchor file if it
                has one and it exists; ``[]`` checks none.
        """
        rt = self._rt
        if anchors is None:
            default = rt.audit_anchors
            anchors = default if default is not None and os.path.exists(default) else []
        elif isinstance(anchors, str | os.PathLike):
            anchors = _check_path(anchors, "anchors")
        elif isinstance(anchors, bytes | bytearray | Mapping) or not isinstance(anchors, Iterable):
            raise InvalidInputError("anchors must be a file path, '-', or a list of anchor lines", field="anchors")
        else:
            anchors = list(anchors)
            if not all(isinstance(a, str | AuditAnchor) for a in anchors):
                raise InvalidInputError("anchors must hold anchor lines (str) or AuditAnchor objects", field="anchors")
        return verify(rt, load_anchors(anchors))

    def anchor(self, file: str | os.PathLike[str] | None = None) -> AuditAnchor:
        """Sign the chain's current head with the audit key and append it, as one JSON line, to
        ``file`` (``"-"``: standard output; ``None``: this instance's anchor file, if any —
        ``<home>/audit.anchors``). Ship the lines off the host: an anchor kept where the
        database is can be deleted with it. Return the anchor.

        Raises:
            AuditKeyError: The key does not open the log's seal (it would sign nothing useful).
            InvalidInputError: ``file`` is not a path, or cannot be written.
        """
        rt = self._rt
        key = rt.audit_key
        if key.refusal is not None:
            raise AuditKeyError(key.refusal, key_id=key.id)

        def state(tx: StateTx) -> tuple[int, str, int, int]:
            seq, head = tx.lock_audit_head()
            return seq, head, tx.count_audit(), tx.audit_keying()[0]

        seq, head, count, keyed_from = rt.read(state)
        anchor = make_anchor(
            key, seq=seq, hash=head, count=count, keyed_from=keyed_from, time=rt.clock(), location=rt.backend.location
        )
        target = rt.audit_anchors if file is None else _check_path(file, "file")
        if target is not None and os.fspath(target) == "-":
            print(anchor.to_line(), file=sys.stdout, flush=True)
        elif target is not None:
            try:
                append_anchor(target, anchor)
            except OSError as exc:
                raise InvalidInputError(f"the anchor file {target} cannot be written: {exc}", field="file") from exc
        return anchor

    def seal(self) -> int:
        """Seal an unsealed keyed boundary: vouch, with the audit key, that the entries before it
        are the legacy (unkeyed) entries written before the upgrade. Only for an upgrade whose
        first open was interrupted, after checking the log against earlier anchors: sealing
        blesses whatever the legacy prefix holds now. Idempotent; return the boundary (the first
        keyed entry; entries before it are legacy).

        Raises:
            AuditKeyError: The key is refused for this log.
            ConflictError: The last legacy entry is missing.
        """
        rt = self._rt
        key = rt.audit_key
        if key.refusal is not None:
            raise AuditKeyError(key.refusal, key_id=key.id)
        with rt.backend.transaction(write=True) as tx:
            keyed_from, seal = tx.audit_keying()
            if seal is not None:
                return keyed_from
            boundary = boundary_hash(tx, keyed_from)
            if boundary is None:
                raise ConflictError(f"audit entry {keyed_from - 1}, the last legacy entry, is missing; nothing to seal")
            tx.seal_audit(seal_mac(key.secret, keyed_from, boundary))
            return keyed_from


def _check_path(value: Any, field: str) -> str:
    text = os.fspath(value) if isinstance(value, str | os.PathLike) else None
    try:
        ok = isinstance(text, str) and bool(text.strip()) and "\x00" not in text and bool(os.fsencode(text))
    except UnicodeEncodeError:
        ok = False
    if not ok:
        raise InvalidInputError(f"{field} must be a file path or '-'", field=field)
    return str(text)
