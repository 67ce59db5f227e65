"""Verifying the audit chain: every entry's keyed hash, the head, the sealed boundary, every
anchor, and the storage's protections — each problem reported in a sentence.

What each check catches (docs/audit.md): recomputing the HMACs catches edited, deleted,
re-hashed and forged entries (without the key nobody can produce a valid one); the head catches
entries dropped from the end; the seal catches a moved boundary and a rewritten legacy prefix;
anchors kept outside the database catch what a consistent rewrite of the whole database hides
(dropping the newest entries, wiping the log); the guard check reports dropped or altered
triggers.
"""

from __future__ import annotations

import functools
import hmac
from dataclasses import dataclass, field
from typing import Any

from maas_langchain.core.audit_chain import GENESIS_HASH, AnchorLine, AuditAnchor, AuditKey, seal_mac
from maas_langchain.core.ports.state import AuditQuery, StateTx
from maas_langchain.core.records import AuditEvent
from maas_langchain.core.runtime import Runtime, entry_hash

__all__ = ["ChainReport", "boundary_hash", "open_chain", "verify"]

_PAGE = 5_000
_UNREADABLE = (ValueError, TypeError, KeyError)
"""What decoding a stored entry raises when its fields were altered to values no writer produces
(details that are not JSON, an unknown event type): reported as a problem, never a crash."""
_PROBES = 64  # single-entry reads that look for the end of an unreadable stretch, before doubling


@dataclass(frozen=True)
class ChainReport:
    """Result of :meth:`MaaSAuditLogger.verify_chain`.

    Attributes:
        ok: True when no check found a problem.
        checked: Entries verified before the first broken one (all of them when intact).
        first_bad_seq: Sequence number of the first broken (or missing) entry, if any.
        problem: The first problem, if any.
        problems: Every problem found, one sentence each (chain, key, anchors, protections).
        anchors_checked: Anchors whose MAC verified and that were compared with the log.
        last_anchor: The newest of them (highest sequence number, then time).
        legacy_entries: Entries before the keyed boundary (unkeyed SHA-256, from before the upgrade).
        key_id: Fingerprint of the audit key used (never the key).
    """

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    problems: tuple[str, ...] = ()
    anchors_checked: int = 0
    last_anchor: AuditAnchor | None = None
    legacy_entries: int = 0
    key_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values."""
        data = dict(self.__dict__)
        data["problems"] = list(self.problems)
        data["last_anchor"] = None if self.last_anchor is None else self.last_anchor.__dict__.copy()
        return data


@dataclass
class _Walk:
    """What one pass over the log found."""

    keyed_from: int
    wanted: set[int]
    seen: dict[int, str] = field(default_factory=lambda: {0: GENESIS_HASH})
    checked: int = 0
    last: int = 0
    first_bad: int | None = None
    problem: str | None = None
    bad_after: int = 0
    keyed_total: int = 0
    keyed_ok: int = 0
    unreadable: list[str] = field(default_factory=list)


_entry_hash = entry_hash


def _page(tx: StateTx, after: int, limit: int = _PAGE) -> list[AuditEvent]:
    return tx.query_audit(AuditQuery(after_seq=after, limit=limit))


def _readable(rt: Runtime, after: int) -> bool:
    """Whether the entry after sequence number ``after`` (if any) decodes."""
    try:
        rt.read(functools.partial(_page, after=after, limit=1))
    except _UNREADABLE:
        return False
    return True


def _unreadable_until(rt: Runtime, after: int) -> int:
    """The first entry after ``after`` does not decode: the sequence number up to which no entry
    does (single steps first, then doubling and bisecting, so a forged huge sequence number
    stays cheap)."""
    step, probes, failed, end = 1, 0, after, after + 1
    while not _readable(rt, end):
        probes += 1
        if probes >= _PROBES:
            step *= 2
        failed, end = end, end + step
    while end - failed > 1:
        mid = (failed + end) // 2
        failed, end = (failed, mid) if _readable(rt, mid) else (mid, end)
    return end


def _walk(rt: Runtime, key: AuditKey, keyed_from: int, wanted: set[int]) -> _Walk:
    w = _Walk(keyed_from, wanted)
    prev: str | None = GENESIS_HASH
    expected, limit = 1, _PAGE
    while True:
        try:
            page = rt.read(functools.partial(_page, after=w.last, limit=limit))
        except _UNREADABLE as exc:
            if limit > 1:  # some entry of this page does not decode: find it, one entry at a time
                limit = 1
                continue
            limit = _PAGE
            end = _unreadable_until(rt, w.last)
            what = "cannot be decoded" if end == w.last + 1 else f"missing or cannot be decoded, up to entry {end}"
            unreadable = (
                f"{what}: stored fields were edited to values no writer produces "
                f"({type(exc).__name__}: {str(exc)[:120]})"
            )
            if w.first_bad is None:
                w.first_bad, w.problem = w.last + 1, unreadable
            else:
                w.unreadable.append(f"entry {w.last + 1}: {unreadable}")
            prev, expected, w.last = None, end + 1, end  # the next entry's link cannot be checked
            continue
        if not page:
            return w
        for event in page:
            keyed = event.seq >= keyed_from
            own_ok = hmac.compare_digest(_entry_hash(event, key.secret if keyed else None), event.hash)
            w.keyed_total += keyed
            w.keyed_ok += keyed and own_ok
            if event.seq in wanted:
                w.seen[event.seq] = event.hash
            if event.seq != expected:
                problem: str | None = f"entry {expected} is missing (found {event.seq})"
            elif prev is not None and event.prev_hash != prev:
                problem = "prev_hash does not match the previous entry"
            elif not own_ok:
                how = "HMAC-SHA256 under the audit key" if keyed else "legacy SHA-256"
                problem = f"hash does not match the entry's content ({how})"
            else:
                problem = None
            if problem is not None and w.first_bad is None:
                w.first_bad, w.problem = expected, problem
            elif problem is not None:
                w.bad_after += 1
            elif w.first_bad is None:
                w.checked += 1
            prev, expected, w.last = event.hash, event.seq + 1, event.seq


def verify(rt: Runtime, anchors: list[AnchorLine]) -> ChainReport:
    """Run every check (the module docstring) and report each problem."""
    key = rt.audit_key

    def state(tx: StateTx) -> tuple[tuple[int, str], tuple[int, str | None], list[str]]:
        return tx.lock_audit_head(), tx.audit_keying(), tx.audit_guards()

    (head_seq, head_hash), (keyed_from, seal), guards = rt.read(state)
    good = [a.anchor for a in anchors if a.anchor is not None and a.anchor.valid(key)]
    w = _walk(rt, key, keyed_from, {head_seq, keyed_from - 1} | {a.seq for a in good})
    chain: list[str] = []
    first_bad = w.first_bad
    if w.problem is not None:
        more = f"; {w.bad_after} later entries do not verify either" if w.bad_after else ""
        chain.append(f"entry {w.first_bad}: {w.problem}{more}")
    chain += w.unreadable
    if w.last < head_seq:
        chain.append(f"the chain head records entry {head_seq}; the log ends at {w.last}")
        first_bad = w.last + 1 if first_bad is None else first_bad
    elif w.seen.get(head_seq) != head_hash:
        chain.append(f"the chain head's hash does not match entry {head_seq}")
        first_bad = head_seq if first_bad is None else first_bad
    end_seq = rt.read(lambda tx: tx.lock_audit_head())[0]
    if w.last > end_seq:
        chain.append(f"entries {end_seq + 1}..{w.last} lie beyond the chain head (appended without moving it)")
    problems = _key_problems(key, keyed_from, seal, w) + chain
    problems += _anchor_problems(anchors, key, keyed_from, head_seq, w)
    problems += [f"storage protection: {g}" for g in guards]
    if first_bad is None and problems:
        failed = [a.seq for a in good if a.seq > w.last or w.seen.get(a.seq) != a.hash]
        first_bad = min(failed) if failed else None
    last = max(good, key=lambda a: (a.seq, a.time), default=None)
    return ChainReport(
        ok=not problems,
        checked=w.checked,
        first_bad_seq=first_bad,
        problem=problems[0] if problems else None,
        problems=tuple(problems),
        anchors_checked=len(good),
        last_anchor=last,
        legacy_entries=min(keyed_from - 1, w.last),
        key_id=key.id,
    )


def _key_problems(key: AuditKey, keyed_from: int, seal: str | None, w: _Walk) -> list[str]:
    boundary = w.seen.get(keyed_from - 1)
    sealed_ok = (
        seal is not None
        and boundary is not None
        and hmac.compare_digest(seal, seal_mac(key.secret, keyed_from, boundary))
    )
    if not sealed_ok and w.keyed_total and not w.keyed_ok:
        return [
            f"the audit key ({key.source}, id {key.id}) verifies neither the seal nor any keyed entry: it is not "
            "the key this log was written with (set MAAS_AUDIT_KEY or restore audit.key), or every keyed entry "
            "was rewritten"
        ]
    if seal is None:
        if keyed_from <= 1:
            return []
        return [
            f"the keyed boundary is not sealed: entries 1..{keyed_from - 1} claim to be legacy (unkeyed SHA-256) "
            "and nothing vouches for it; if an upgrade's first open was interrupted, check the log against your "
            "anchors and run `maas audit seal`, otherwise the log was rewritten as legacy"
        ]
    if boundary is None:
        return [f"entry {keyed_from - 1}, the last legacy entry the seal covers, is missing"]
    if not sealed_ok:
        return [
            f"the seal of the keyed boundary (entries from {keyed_from} keyed) does not verify: the boundary or "
            "the legacy entries before it were rewritten (or this is not the log's key)"
        ]
    return []


def _anchor_problems(anchors: list[AnchorLine], key: AuditKey, keyed_from: int, head_seq: int, w: _Walk) -> list[str]:
    problems = []
    for line in anchors:
        a = line.anchor
        if a is None:
            problems.append(f"anchor {line.where} {line.error}")
            continue
        at = f"anchor {line.where} (entry {a.seq}, {a.count} entries)"
        if not a.valid(key):
            problems.append(
                f"anchor {line.where}: its MAC does not verify with this audit key (id {key.id}; the anchor names "
                f"key {a.key_id}): forged, or written by another instance"
            )
        elif a.seq > w.last:
            problems.append(f"{at}: the log ends at entry {w.last}; anchored entries were deleted or the log was reset")
        elif w.seen.get(a.seq) != a.hash:
            problems.append(f"{at}: entry {a.seq} differs from the anchored one; the log was rewritten up to it")
        elif head_seq < a.count:
            problems.append(f"{at}: the log now holds {head_seq} entries, fewer than anchored")
        elif a.keyed_from != keyed_from:
            problems.append(f"{at}: the keyed boundary moved from entry {a.keyed_from} to {keyed_from}")
    return problems


def boundary_hash(tx: StateTx, keyed_from: int) -> str | None:
    """Hash of the last legacy entry (``keyed_from - 1``), the genesis hash if none, or ``None``
    when that entry is missing."""
    if keyed_from <= 1:
        return GENESIS_HASH
    found = tx.query_audit(AuditQuery(after_seq=keyed_from - 2, limit=1))
    return found[0].hash if found and found[0].seq == keyed_from - 1 else None


def open_chain(rt: Runtime, *, fresh: bool) -> str | None:
    """Attach ``rt``'s key to the chain when an instance opens: seal a boundary this open
    created (or one with no legacy entries), or check the stored seal; a key that does not open
    the seal is marked refused, so nothing is appended with it. Return a warning, if any."""
    key = rt.audit_key
    keyed_from, seal = rt.read(lambda tx: tx.audit_keying())
    if seal is None and not (fresh or keyed_from <= 1):
        return (
            f"the audit log's keyed boundary (entries 1..{keyed_from - 1} legacy) is not sealed; "
            "`maas audit verify` reports it until an operator runs `maas audit seal`"
        )
    with rt.backend.transaction(write=seal is None) as tx:
        keyed_from, seal = tx.audit_keying()
        boundary = boundary_hash(tx, keyed_from)
        if boundary is None:
            return f"entry {keyed_from - 1}, the last legacy audit entry, is missing; `maas audit verify` reports it"
        expected = seal_mac(key.secret, keyed_from, boundary)
        if seal is None:
            tx.seal_audit(expected)
            return None
    if not hmac.compare_digest(seal, expected) and key.refusal is None:
        key.refusal = (
            f"the audit key ({key.source}, id {key.id}) does not open this audit log's seal: it is not the key "
            "the log was written with, or the seal was altered; audit entries are refused so the chain never mixes "
            "keys. Set MAAS_AUDIT_KEY to the log's key (or restore its audit.key) and reopen"
        )
        return key.refusal
    return None
