"""Memories, sessions and settings for the in-memory reference backend (mixed into its tx).

Full-text scoring here is a plain Okapi BM25 over the reader's scope (the SQL backends use
FTS5 and ``tsvector``); only the order of results matters to the ranking, which normalises
scores per query.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from maas_langchain.core.enums import MemoryStatus
from maas_langchain.core.ports.filters import ScopeFilter
from maas_langchain.core.ports.state import NewMemory, StoredMemory
from maas_langchain.core.ports.text import lexical_terms
from maas_langchain.core.records import Memory, MemorySession

__all__ = ["MemoryTables", "MemoryOps"]

T = TypeVar("T")


@dataclass(frozen=True)
class _Row:
    memory: Memory
    search_text: str
    scope_key: str | None
    prev_id: str | None
    vector: bytes | None
    dirty: bool
    terms: Counter[str]


class MemoryTables:
    """The memory-related tables."""

    def __init__(self) -> None:
        self.memories: dict[str, _Row] = {}  # insertion order = seq order
        self.sessions: dict[str, MemorySession] = {}
        self.settings: dict[str, str] = {}
        self.memory_seq = 0
        self.generation = 0  # bumped by every insert and status change (read caches key on it)


def _in_scope(row: _Row, scope: ScopeFilter) -> bool:
    return scope.admits(row.scope_key)


def _all_terms(text: str) -> list[str]:
    """Every term of ``text`` (``lexical_terms`` keeps only the first 32 of a query)."""
    return [t for line in text.splitlines() for chunk in _chunks(line) for t in lexical_terms(chunk)]


def _chunks(line: str, size: int = 20) -> list[str]:
    words = line.split()
    return [" ".join(words[i : i + size]) for i in range(0, len(words), size)] or [""]


def _current(row: _Row) -> bool:
    return row.memory.status is MemoryStatus.ACTIVE and row.memory.valid_to is None


class MemoryOps:
    """Needs ``self.m`` (:class:`MemoryTables`), ``self.undo`` and ``_put``/``_out``."""

    m: MemoryTables
    undo: list[Callable[[], None]]

    def _put(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        raise NotImplementedError

    @staticmethod
    def _out(value: T) -> T:
        raise NotImplementedError

    def _stored(self, row: _Row, with_vector: bool = True) -> StoredMemory:
        return StoredMemory(self._out(row.memory), row.vector if with_vector else None, row.prev_id)

    def insert_memory(self, new: NewMemory) -> Memory:
        old_seq = self.m.memory_seq
        self.m.memory_seq += 1
        self.undo.append(lambda: setattr(self.m, "memory_seq", old_seq))
        memory = dataclasses.replace(new.memory, seq=self.m.memory_seq)
        row = _Row(
            memory,
            new.search_text,
            new.scope_key,
            new.prev_id,
            new.vector,
            new.dirty,
            Counter(_all_terms(new.search_text)),
        )
        self._put(self.m.memories, memory.memory_id, row)
        self._bump_generation()
        return self._out(memory)

    def get_memories(self, memory_ids: Sequence[str], *, scope: ScopeFilter | None = None) -> list[StoredMemory]:
        rows = (self.m.memories.get(i) for i in dict.fromkeys(memory_ids))
        return [self._stored(r) for r in rows if r is not None and (scope is None or _in_scope(r, scope))]

    def set_memory_status(
        self, memory_id: str, status: MemoryStatus, *, valid_to: float | None, superseded_by: str | None = None
    ) -> bool:
        row = self.m.memories.get(memory_id)
        if row is None:
            return False
        memory = dataclasses.replace(
            row.memory, status=status, valid_to=valid_to, superseded_by=superseded_by or row.memory.superseded_by
        )
        self._put(self.m.memories, memory_id, dataclasses.replace(row, memory=memory, dirty=True))
        self._bump_generation()
        return True

    def lexical_search(self, terms: Sequence[str], scope: ScopeFilter, limit: int) -> list[tuple[str, float]]:
        wanted = set(terms)
        if not wanted:
            return []
        docs = [(r.memory.memory_id, r.terms) for r in self.m.memories.values() if _current(r) and _in_scope(r, scope)]
        if not docs:
            return []
        avg = sum(sum(c.values()) for _, c in docs) / len(docs)
        df = Counter(t for _, c in docs for t in c if t in wanted)
        scored = []
        for memory_id, counts in docs:
            length = sum(counts.values())
            score = 0.0
            for term in wanted & counts.keys():
                idf = math.log(1 + (len(docs) - df[term] + 0.5) / (df[term] + 0.5))
                tf = counts[term]
                score += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / max(avg, 1.0)))
            if score > 0:
                scored.append((memory_id, score))
        scored.sort(key=lambda p: -p[1])
        return scored[:limit]

    def list_memories(
        self,
        *,
        scope: ScopeFilter | None = None,
        statuses: Sequence[MemoryStatus] | None = None,
        after_seq: int = 0,
        limit: int = 1_000,
        with_vectors: bool = False,
        newest_first: bool = False,
    ) -> list[StoredMemory]:
        found: list[StoredMemory] = []
        rows = list(self.m.memories.values())
        for row in reversed(rows) if newest_first else rows:
            if len(found) >= limit:
                break
            if row.memory.seq <= after_seq or (scope is not None and not _in_scope(row, scope)):
                continue
            if statuses is None or row.memory.status in statuses:
                found.append(self._stored(row, with_vectors))
        return found

    def scoped_memory_ids(self, scope: ScopeFilter, limit: int) -> list[str]:
        found = (r.memory.memory_id for r in self.m.memories.values() if _current(r) and _in_scope(r, scope))
        return [i for i, _ in zip(found, range(limit), strict=False)]

    def memory_generation(self) -> int:
        return self.m.generation

    def count_scoped_memories(self, scope: ScopeFilter, limit: int) -> int:
        found = (1 for r in self.m.memories.values() if _in_scope(r, scope))
        return sum(n for n, _ in zip(found, range(limit), strict=False))

    def count_memories_by_scope(
        self, scope: ScopeFilter, limit: int, *, quarantined_author: str | None = None
    ) -> list[tuple[str, int]]:
        counts = Counter(r.scope_key for r in self._counted(scope, quarantined_author))
        return sorted((k, n) for k, n in counts.items() if k is not None)[:limit]

    def count_visible_memories(self, scope: ScopeFilter, cap: int, *, quarantined_author: str | None = None) -> int:
        return sum(n for n, _ in zip((1 for _ in self._counted(scope, quarantined_author)), range(cap), strict=False))

    def _counted(self, scope: ScopeFilter, quarantined_author: str | None) -> Iterator[_Row]:
        for row in self.m.memories.values():
            held = row.memory.status is MemoryStatus.QUARANTINED and quarantined_author is not None
            if _in_scope(row, scope) and not (held and row.memory.author_id != quarantined_author):
                yield row

    def _bump_generation(self) -> None:
        old = self.m.generation
        self.m.generation += 1
        self.undo.append(lambda: setattr(self.m, "generation", old))

    def in_scope(self, memory_ids: Sequence[str], scope: ScopeFilter) -> list[str]:
        rows = (self.m.memories.get(i) for i in dict.fromkeys(memory_ids))
        return [r.memory.memory_id for r in rows if r is not None and _current(r) and _in_scope(r, scope)]

    def memory_vectors(self, memory_ids: Sequence[str]) -> dict[str, bytes]:
        rows = (self.m.memories.get(i) for i in memory_ids)
        return {r.memory.memory_id: r.vector for r in rows if r is not None and r.vector is not None}

    def count_memories(self) -> int:
        return len(self.m.memories)

    def dirty_memories(self, limit: int) -> list[StoredMemory]:
        return [self._stored(r) for r in self.m.memories.values() if r.dirty][:limit]

    def mark_indexed(self, memory_ids: Sequence[str]) -> None:
        for memory_id in memory_ids:
            row = self.m.memories.get(memory_id)
            if row is not None and row.dirty:
                self._put(self.m.memories, memory_id, dataclasses.replace(row, dirty=False))

    def mark_all_dirty(self) -> int:
        for memory_id, row in list(self.m.memories.items()):
            if not row.dirty:
                self._put(self.m.memories, memory_id, dataclasses.replace(row, dirty=True))
        return len(self.m.memories)

    def memory_by_digest(self, digest: str) -> str | None:
        return self.m.settings.get("digest:" + digest)

    def set_memory_digest(self, digest: str, memory_id: str) -> None:
        self._put(self.m.settings, "digest:" + digest, memory_id)  # a settings key of its own kind

    def get_setting(self, name: str) -> str | None:
        return self.m.settings.get(name)

    def set_setting(self, name: str, value: str) -> None:
        self._put(self.m.settings, name, value)

    def insert_session(self, session: MemorySession) -> None:
        self._put(self.m.sessions, session.session_id, session)

    def get_session(self, session_id: str) -> MemorySession | None:
        return self._out(self.m.sessions.get(session_id))

    def close_session(self, session_id: str, closed_at: float) -> bool:
        session = self.m.sessions.get(session_id)
        if session is None or session.closed_at is not None:
            return False
        self._put(self.m.sessions, session_id, dataclasses.replace(session, closed_at=closed_at))
        return True

    def set_session_last_memory(self, session_id: str, memory_id: str) -> None:
        session = self.m.sessions.get(session_id)
        if session is not None:
            self._put(self.m.sessions, session_id, dataclasses.replace(session, last_memory_id=memory_id))

    def count_open_sessions(self) -> int:
        return sum(1 for s in self.m.sessions.values() if s.closed_at is None)
