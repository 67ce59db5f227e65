"""Time in recall: current facts first, and recall as of a past moment.

**Current first.** Two memories can both be ACTIVE while one says what the other replaced
("Alice lives in Paris", later "Alice moved to Berlin": the second supersedes the first's
``location`` fact, but nobody forgot the first memory). A memory whose every extracted fact a
later write replaced is *stale*: it is placed right after the memories that replaced its facts
(pulled into the result when they were not among the candidates), before the cut to ``top_k``,
and carries ``why["superseded"] = True`` with the replaced fact ids and ``why["superseded_by"]``
with the replacing memories' ids. Memories with no facts, or with at least one fact still
holding, keep their rank. With ``as_of`` the same ordering is computed from the chains as they
stood at that moment. Before ranking, the
extraction jobs this process queued are applied (:meth:`ExtractionWorker.drain`; free when there
are none), so a recall right after a remember sees its facts.

**As of.** ``recall(..., as_of=t)`` ranks the memories that were current at ``t``: written at or
before ``t``, not quarantined, and not yet superseded or forgotten at ``t``. It scores them
exactly from the stored vectors (the index holds current memories only), reading at most
:data:`AS_OF_SCAN` memories of the scope, newest last; recency is measured from ``t``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from maas_langchain.core.enums import MemoryStatus
from maas_langchain.core.ports.filters import ScopeFilter
from maas_langchain.core.ports.state import StoredMemory
from maas_langchain.core.ranking import Candidate, Scored, decode_vector
from maas_langchain.core.records import Memory
from maas_langchain.core.runtime import Runtime

if TYPE_CHECKING:
    from maas_langchain.core.memories import MemoryService

__all__ = ["AS_OF_SCAN", "candidates_as_of", "current_first"]

AS_OF_SCAN = 50_000
_PAGE = 1_000
_HISTORIC = (MemoryStatus.ACTIVE, MemoryStatus.SUPERSEDED, MemoryStatus.DELETED)


def current_first(
    rt: Runtime,
    extraction: Any,
    ranked: Sequence[Scored],
    by_id: dict[str, Memory],
    flt: ScopeFilter,
    as_of: float | None,
) -> list[Scored]:
    """``ranked`` with each stale memory placed after the memories that replaced its facts
    (pulled in when they were not among the candidates) and marked (see the module docstring)."""
    if extraction is None or not ranked:
        return list(ranked)
    extraction.drain(timeout=10.0)
    ids = [s.memory_id for s in ranked]
    inherited = flt.ancestors
    stale = rt.read(lambda tx: extraction.entities.stale(tx, ids, inherited, as_of))
    if not stale:
        return list(ranked)
    asked: set[str] = set()
    for _ in range(8):  # replacers may be stale in turn: follow them to what holds now
        wanted = sorted({r for _, rs in stale.values() for r in rs if r not in by_id and r not in asked})
        if not wanted:
            break
        asked.update(wanted)
        current = _current_memories(rt, wanted, flt, as_of)
        by_id.update({m.memory_id: m for m in current})
        stale.update(_stale_of(rt, extraction, [m.memory_id for m in current], inherited, as_of))
    scored = {s.memory_id: s for s in ranked}
    out: list[Scored] = []
    placed: set[str] = set()

    def place(mid: str, score: float, depth: int = 0) -> None:
        if mid in placed or mid not in by_id:
            return
        placed.add(mid)
        item = scored.get(mid) or Scored(mid, score, {"reason": "replaces facts of a recalled memory"})
        info = stale.get(mid)
        if info is not None:
            replaced, replacers = info
            for r in replacers:
                if depth < 8:
                    place(r, item.score, depth + 1)
            why = {**item.why, "superseded": True, "superseded_facts": replaced, "superseded_by": replacers}
            why["reason"] = str(why.get("reason", "")) + "; a later write replaced its facts"
            item = dataclasses.replace(item, why=why)
        out.append(item)

    for s in ranked:
        place(s.memory_id, s.score)
    return out


def _stale_of(
    rt: Runtime, extraction: Any, ids: list[str], inherited: Sequence[str], at: float | None
) -> dict[str, tuple[list[str], list[str]]]:
    found: dict[str, tuple[list[str], list[str]]] = rt.read(
        lambda tx: extraction.entities.stale(tx, ids, inherited, at)
    )
    return found


def _current_memories(rt: Runtime, ids: Sequence[str], flt: ScopeFilter, at: float | None) -> list[Memory]:
    """Those of ``ids`` that are current memories (at ``at``, if given) the reader's scope admits."""
    found = rt.read(lambda tx: tx.get_memories(ids, scope=flt))
    return [r.memory for r in found if (r.memory.is_current() if at is None else _was_current(r.memory, at))]


def _was_current(m: Memory, at: float) -> bool:
    if m.status is MemoryStatus.QUARANTINED or m.created_at > at:
        return False
    return m.valid_to is None or m.valid_to > at


def candidates_as_of(
    service: MemoryService, text: str, flt: ScopeFilter, at: float
) -> tuple[list[Candidate], dict[str, Memory]]:
    """Every memory in ``flt`` that was current at ``at``, scored exactly against ``text``."""
    rt = service._rt
    qvec = np.asarray(service.embedder.embed_query(text), dtype=np.float32)
    kept: list[tuple[Memory, bytes, str | None]] = []
    after, seen = 0, 0

    def page_after(a: int) -> list[StoredMemory]:
        return rt.read(
            lambda tx: tx.list_memories(scope=flt, statuses=_HISTORIC, after_seq=a, limit=_PAGE, with_vectors=True)
        )

    while seen < AS_OF_SCAN:
        page = page_after(after)
        if not page:
            break
        seen += len(page)
        after = page[-1].memory.seq
        kept.extend((r.memory, r.vector, r.prev_id) for r in page if r.vector and _was_current(r.memory, at))
        if len(page) < _PAGE:
            break
    if not kept:
        return [], {}
    matrix = np.stack([decode_vector(v) for _, v, _ in kept])
    norms = np.linalg.norm(matrix, axis=1) * (float(np.linalg.norm(qvec)) or 1.0)
    sims = np.einsum("ij,j->i", matrix, qvec) / np.where(norms > 0, norms, 1.0)
    candidates = [
        Candidate(m.memory_id, float(sim), 0.0, m.created_at, prev)
        for (m, _, prev), sim in zip(kept, sims, strict=True)
    ]
    return candidates, {m.memory_id: m for m, _, _ in kept}
