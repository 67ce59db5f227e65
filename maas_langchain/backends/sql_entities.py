"""SQL for entities, facts and the extraction backlog, mixed into :class:`~maas_langchain.backends.sql.SqlTx`.

Names resolve through ``entity_names`` (primary key ``(scope_key, norm)``), so a norm belongs to
one entity of a scope: a later claim is ``ON CONFLICT DO NOTHING`` on both dialects. Facts are
filtered by the scope of the memory each came from, with the same condition recall uses for
memories (:func:`~maas_langchain.backends.sql_memories.scope_sql` on ``f.memory_seq``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from maas_langchain.backends.sql_cursor import SqlCursorOps
from maas_langchain.backends.sql_memories import scope_sql
from maas_langchain.core.entity_types import EntityRecord, FactRecord
from maas_langchain.core.ports.entities import ExtractionJob, FactLinks
from maas_langchain.core.ports.filters import ScopeFilter
from maas_langchain.core.ports.state import iter_chunks

__all__ = ["SqlEntityOps"]

_ENTITY_COLUMNS = "entity_id, scope_key, scope, entity_type, name, aliases, created_at"
_E_COLUMNS = ", ".join(f"e.{c.strip()}" for c in _ENTITY_COLUMNS.split(","))
_FACT_COLUMNS = (
    "fact_id, entity_id, kind, key, value, value_norm, chain, memory_id, memory_seq, scope_key, valid_from, "
    "recorded_at, agent_id, session_id, object_id, negated, status, valid_to, supersedes, superseded_by, "
    "corroborates, extra"
)
_F_COLUMNS = ", ".join(f"f.{c.strip()}" for c in _FACT_COLUMNS.split(","))
_JOB_COLUMNS = "memory_id, memory_seq, enqueued_at, attempts, state, error"
_CLAIM_NAME = "INSERT INTO entity_names (scope_key, norm, entity_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"


def _entity_from_row(row: Sequence[Any]) -> EntityRecord:
    return EntityRecord(
        entity_id=row[0],
        scope_key=row[1],
        scope=json.loads(row[2]),
        entity_type=row[3],
        name=row[4],
        aliases=tuple(json.loads(row[5])),
        created_at=row[6],
    )


def _fact_from_row(row: Sequence[Any]) -> FactRecord:
    return FactRecord(
        fact_id=row[0],
        entity_id=row[1],
        kind=row[2],
        key=row[3],
        value=row[4],
        value_norm=row[5],
        chain=row[6],
        memory_id=row[7],
        memory_seq=int(row[8]),
        scope_key=row[9],
        valid_from=row[10],
        recorded_at=row[11],
        agent_id=row[12],
        session_id=row[13],
        object_id=row[14],
        negated=bool(row[15]),
        status=row[16],
        valid_to=row[17],
        supersedes=row[18],
        superseded_by=row[19],
        corroborates=row[20],
        extra=json.loads(row[21]),
    )


def _job_from_row(row: Sequence[Any]) -> ExtractionJob:
    return ExtractionJob(row[0], int(row[1]), row[2], int(row[3]), row[4], row[5])


def _fact_order(fact: FactRecord) -> tuple[int, str]:
    return fact.memory_seq, fact.fact_id


class SqlEntityOps(SqlCursorOps):
    """EntityOps as SQL; needs ``_exec/_one/_all/_d`` from :class:`~maas_langchain.backends.sql.SqlTx`."""

    # entities
    def find_entity(self, scope_key: str, norm: str) -> EntityRecord | None:
        row = self._one(
            f"SELECT {_E_COLUMNS} FROM entity_names n JOIN entities e ON e.entity_id = n.entity_id "
            "WHERE n.scope_key = ? AND n.norm = ?",
            (scope_key, norm),
        )
        return None if row is None else _entity_from_row(row)

    def insert_entity(self, entity: EntityRecord, norms: Sequence[str]) -> None:
        """Store the entity; a norm another entity of the scope already has stays that entity's
        (the same rule as :meth:`update_entity`)."""
        self._exec(
            f"INSERT INTO entities ({_ENTITY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                entity.entity_id,
                entity.scope_key,
                json.dumps(entity.scope, sort_keys=True),
                entity.entity_type,
                entity.name,
                json.dumps(list(entity.aliases)),
                entity.created_at,
            ),
        )
        for norm in dict.fromkeys(norms):
            self._exec(_CLAIM_NAME, (entity.scope_key, norm, entity.entity_id))

    def update_entity(self, entity: EntityRecord, new_norms: Sequence[str]) -> None:
        """Rewrite ``entity_type`` and ``aliases`` (the name, scope and creation time stay); the
        new norms are claimed in the stored entity's scope. An unknown entity is left alone."""
        self._exec(
            "UPDATE entities SET entity_type = ?, aliases = ? WHERE entity_id = ?",
            (entity.entity_type, json.dumps(list(entity.aliases)), entity.entity_id),
        )
        for norm in dict.fromkeys(new_norms):
            self._exec(
                "INSERT INTO entity_names (scope_key, norm, entity_id) SELECT scope_key, ?, entity_id FROM entities "
                "WHERE entity_id = ? ON CONFLICT DO NOTHING",
                (norm, entity.entity_id),
            )

    def get_entities(self, entity_ids: Sequence[str]) -> list[EntityRecord]:
        """The entities with these ids, in the order asked (unknown ids are skipped)."""
        found: dict[str, EntityRecord] = {}
        wanted = list(dict.fromkeys(entity_ids))
        for chunk in iter_chunks(wanted, 500):
            marks = ", ".join("?" for _ in chunk)
            rows = self._all(f"SELECT {_ENTITY_COLUMNS} FROM entities WHERE entity_id IN ({marks})", chunk)
            found.update((r[0], _entity_from_row(r)) for r in rows)
        return [found[i] for i in wanted if i in found]

    # facts
    def insert_fact(self, fact: FactRecord) -> None:
        marks = ", ".join("?" for _ in _FACT_COLUMNS.split(","))
        self._exec(
            f"INSERT INTO facts ({_FACT_COLUMNS}) VALUES ({marks})",
            (
                fact.fact_id,
                fact.entity_id,
                fact.kind,
                fact.key,
                fact.value,
                fact.value_norm,
                fact.chain,
                fact.memory_id,
                fact.memory_seq,
                fact.scope_key,
                fact.valid_from,
                fact.recorded_at,
                fact.agent_id,
                fact.session_id,
                fact.object_id,
                int(fact.negated),
                fact.status,
                fact.valid_to,
                fact.supersedes,
                fact.superseded_by,
                fact.corroborates,
                json.dumps(fact.extra, sort_keys=True),
            ),
        )

    def set_fact_links(self, fact_id: str, links: FactLinks) -> None:
        self._exec(
            "UPDATE facts SET status = ?, valid_to = ?, supersedes = ?, superseded_by = ?, corroborates = ? "
            "WHERE fact_id = ?",
            (links.status, links.valid_to, links.supersedes, links.superseded_by, links.corroborates, fact_id),
        )

    def chain_facts(self, chain: str) -> list[FactRecord]:
        rows = self._all(
            f"SELECT {_F_COLUMNS} FROM facts f WHERE f.chain = ? ORDER BY f.memory_seq, f.fact_id", (chain,)
        )
        return [_fact_from_row(r) for r in rows]

    def chain_head(self, chain: str) -> tuple[int, FactRecord | None]:
        top = self._one("SELECT MAX(f.memory_seq) FROM facts f WHERE f.chain = ?", (chain,))
        row = self._one(
            f"SELECT {_F_COLUMNS} FROM facts f WHERE f.chain = ? AND f.status = 'current' "
            "ORDER BY f.memory_seq DESC, f.fact_id DESC LIMIT 1",
            (chain,),
        )
        return int(top[0] or 0) if top else 0, None if row is None else _fact_from_row(row)

    def facts_of_memories(self, memory_ids: Sequence[str]) -> list[FactRecord]:
        """Every fact of these memories, ordered by (``memory_seq``, ``fact_id``)."""
        found: list[FactRecord] = []
        for chunk in iter_chunks(list(dict.fromkeys(memory_ids)), 500):
            marks = ", ".join("?" for _ in chunk)
            rows = self._all(f"SELECT {_F_COLUMNS} FROM facts f WHERE f.memory_id IN ({marks})", chunk)
            found.extend(_fact_from_row(r) for r in rows)
        return sorted(found, key=_fact_order)

    def scoped_facts(
        self, scope: ScopeFilter, *, entity_ids: Sequence[str] | None = None, limit: int = 10_000
    ) -> list[FactRecord]:
        cond, params = scope_sql(scope, "f", "memory_seq")
        sql = f"SELECT {_F_COLUMNS} FROM facts f WHERE {cond}"
        if entity_ids is None:  # the newest ``limit`` rows, returned oldest first
            rows = self._all(f"{sql} ORDER BY f.memory_seq DESC, f.fact_id DESC LIMIT ?", [*params, limit])
            return [_fact_from_row(r) for r in reversed(rows)]
        found: list[FactRecord] = []
        for chunk in iter_chunks(list(dict.fromkeys(entity_ids)), 500):
            marks = ", ".join("?" for _ in chunk)
            rows = self._all(
                f"{sql} AND f.entity_id IN ({marks}) ORDER BY f.memory_seq DESC, f.fact_id DESC LIMIT ?",
                [*params, *chunk, limit],
            )
            found.extend(_fact_from_row(r) for r in rows)
        ordered = sorted(found, key=_fact_order)
        return ordered[max(len(ordered) - max(limit, 0), 0) :]

    # the extraction backlog
    def enqueue_extraction(self, job: ExtractionJob) -> None:
        """Upsert the job as given, always ``pending`` with no error: an existing job of the
        memory takes the new ``memory_seq``, ``enqueued_at`` and ``attempts`` (so the caller
        resets the attempt count, or carries it over, by what it passes)."""
        self._exec(
            f"INSERT INTO extraction_jobs ({_JOB_COLUMNS}) VALUES (?, ?, ?, ?, 'pending', NULL) "
            "ON CONFLICT (memory_id) DO UPDATE SET memory_seq = excluded.memory_seq, "
            "enqueued_at = excluded.enqueued_at, attempts = excluded.attempts, state = 'pending', error = NULL",
            (job.memory_id, job.memory_seq, job.enqueued_at, job.attempts),
        )

    def pending_extractions(self, limit: int, *, include_failed: bool = False) -> list[ExtractionJob]:
        states = "('pending', 'failed')" if include_failed else "('pending')"
        rows = self._all(
            f"SELECT {_JOB_COLUMNS} FROM extraction_jobs WHERE state IN {states} "
            "ORDER BY memory_seq, memory_id LIMIT ?",
            (limit,),
        )
        return [_job_from_row(r) for r in rows]

    def finish_extraction(self, memory_id: str, error: str | None, attempts: int) -> bool:
        if error is None:
            cur = self._exec("DELETE FROM extraction_jobs WHERE memory_id = ?", (memory_id,))
        else:
            cur = self._exec(
                "UPDATE extraction_jobs SET state = 'failed', error = ?, attempts = ? WHERE memory_id = ?",
                (error, attempts, memory_id),
            )
        return int(cur.rowcount) > 0

    def pending_extraction_ids(self, memory_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in iter_chunks(list(dict.fromkeys(memory_ids)), 500):
            marks = ", ".join("?" for _ in chunk)
            rows = self._all(
                f"SELECT memory_id FROM extraction_jobs WHERE state = 'pending' AND memory_id IN ({marks})", chunk
            )
            found.update(r[0] for r in rows)
        return found

    def count_extractions(self) -> tuple[int, int]:
        counts = dict(self._all("SELECT state, COUNT(*) FROM extraction_jobs GROUP BY state"))
        return int(counts.get("pending", 0)), int(counts.get("failed", 0))
