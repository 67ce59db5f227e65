"""In-memory reference for entities, facts and the extraction backlog, mixed into the in-memory transaction.

Four dicts in ``self.t.extra`` mirror the SQL tables (``entities``, ``entity_names`` keyed by
``(scope_key, norm)``, ``facts``, ``extraction_jobs``), and two index facts by chain and by
memory (``fact_chains``, ``fact_memories``: key → tuple of fact ids), as the SQL indexes do. Records are frozen dataclasses; every
change stores a copy through ``_put``/``_pop``, which record the inverse for rollback. Facts are
filtered with :meth:`~maas_langchain.core.ports.filters.ScopeFilter.admits` on the fact's own
``scope_key`` (the scope of the memory it came from): the reference semantics of the SQL filter.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from maas_langchain.core.entity_types import EntityRecord, FactRecord
from maas_langchain.core.ports.entities import ExtractionJob, FactLinks
from maas_langchain.core.ports.filters import ScopeFilter

__all__ = ["MemoryEntityOps"]


class _Tables(Protocol):
    extra: dict[str, Any]


def _ordered(facts: Iterable[FactRecord]) -> list[FactRecord]:
    return copy.deepcopy(sorted(facts, key=lambda f: (f.memory_seq, f.fact_id)))


class MemoryEntityOps:
    """EntityOps on plain dicts; keep tables in ``self.t.extra`` and record undo steps with ``_put``/``_pop``."""

    t: _Tables

    def _put(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        raise NotImplementedError

    def _pop(self, table: dict[Any, Any], key: Any) -> bool:
        raise NotImplementedError

    def _table(self, name: str) -> dict[Any, Any]:
        table: dict[Any, Any] = self.t.extra.setdefault(name, {})
        return table

    # entities
    def find_entity(self, scope_key: str, norm: str) -> EntityRecord | None:
        entity_id = self._table("entity_names").get((scope_key, norm))
        return None if entity_id is None else copy.deepcopy(self._table("entities").get(entity_id))

    def _claim(self, scope_key: str, norms: Sequence[str], entity_id: str) -> None:
        names = self._table("entity_names")
        for norm in dict.fromkeys(norms):
            if (scope_key, norm) not in names:  # a norm another entity has stays that entity's
                self._put(names, (scope_key, norm), entity_id)

    def insert_entity(self, entity: EntityRecord, norms: Sequence[str]) -> None:
        """Store the entity; a norm another entity of the scope already has stays that entity's."""
        self._put(self._table("entities"), entity.entity_id, entity)
        self._claim(entity.scope_key, norms, entity.entity_id)

    def update_entity(self, entity: EntityRecord, new_norms: Sequence[str]) -> None:
        """Rewrite ``entity_type`` and ``aliases`` (the name, scope and creation time stay); the
        new norms are claimed in the stored entity's scope. An unknown entity is left alone."""
        entities = self._table("entities")
        stored: EntityRecord | None = entities.get(entity.entity_id)
        if stored is None:
            return
        changed = dataclasses.replace(stored, entity_type=entity.entity_type, aliases=tuple(entity.aliases))
        self._put(entities, entity.entity_id, changed)
        self._claim(stored.scope_key, new_norms, entity.entity_id)

    def get_entities(self, entity_ids: Sequence[str]) -> list[EntityRecord]:
        """The entities with these ids, in the order asked (unknown ids are skipped)."""
        entities = self._table("entities")
        return copy.deepcopy([entities[i] for i in dict.fromkeys(entity_ids) if i in entities])

    # facts
    def insert_fact(self, fact: FactRecord) -> None:
        self._put(self._table("facts"), fact.fact_id, fact)
        for index, key in (("fact_chains", fact.chain), ("fact_memories", fact.memory_id)):
            table = self._table(index)  # key -> tuple of fact ids (immutable: undo restores it)
            self._put(table, key, (*table.get(key, ()), fact.fact_id))

    def _indexed(self, index: str, keys: Iterable[str]) -> list[FactRecord]:
        facts, table = self._table("facts"), self._table(index)
        return [facts[i] for key in dict.fromkeys(keys) for i in table.get(key, ())]

    def set_fact_links(self, fact_id: str, links: FactLinks) -> None:
        facts = self._table("facts")
        stored: FactRecord | None = facts.get(fact_id)
        if stored is not None:
            self._put(facts, fact_id, dataclasses.replace(stored, **dataclasses.asdict(links)))

    def chain_facts(self, chain: str) -> list[FactRecord]:
        return _ordered(self._indexed("fact_chains", [chain]))

    def chain_head(self, chain: str) -> tuple[int, FactRecord | None]:
        rows = self._indexed("fact_chains", [chain])
        current = _ordered(f for f in rows if f.status == "current")
        return max((f.memory_seq for f in rows), default=0), (current[-1] if current else None)

    def facts_of_memories(self, memory_ids: Sequence[str]) -> list[FactRecord]:
        """Every fact of these memories, ordered by (``memory_seq``, ``fact_id``)."""
        return _ordered(self._indexed("fact_memories", memory_ids))

    def scoped_facts(
        self, scope: ScopeFilter, *, entity_ids: Sequence[str] | None = None, limit: int = 10_000
    ) -> list[FactRecord]:
        wanted = None if entity_ids is None else set(entity_ids)
        found = (
            f
            for f in self._table("facts").values()
            if (wanted is None or f.entity_id in wanted) and scope.admits(f.scope_key)
        )
        ordered = _ordered(found)  # the newest ``limit`` rows, oldest first
        return ordered[max(len(ordered) - max(limit, 0), 0) :]

    # the extraction backlog
    def enqueue_extraction(self, job: ExtractionJob) -> None:
        """Upsert the job as given, always ``pending`` with no error (see the SQL backends)."""
        self._put(self._table("extraction_jobs"), job.memory_id, dataclasses.replace(job, state="pending", error=None))

    def pending_extractions(self, limit: int, *, include_failed: bool = False) -> list[ExtractionJob]:
        states = ("pending", "failed") if include_failed else ("pending",)
        jobs = [j for j in self._table("extraction_jobs").values() if j.state in states]
        return sorted(jobs, key=lambda j: (j.memory_seq, j.memory_id))[: max(limit, 0)]

    def finish_extraction(self, memory_id: str, error: str | None, attempts: int) -> bool:
        jobs = self._table("extraction_jobs")
        stored: ExtractionJob | None = jobs.get(memory_id)
        if stored is None:
            return False
        if error is None:
            return self._pop(jobs, memory_id)
        self._put(jobs, memory_id, dataclasses.replace(stored, state="failed", error=error, attempts=attempts))
        return True

    def pending_extraction_ids(self, memory_ids: Sequence[str]) -> set[str]:
        jobs = self._table("extraction_jobs")
        return {i for i in memory_ids if i in jobs and jobs[i].state == "pending"}

    def count_extractions(self) -> tuple[int, int]:
        states = [j.state for j in self._table("extraction_jobs").values()]
        return states.count("pending"), states.count("failed")
