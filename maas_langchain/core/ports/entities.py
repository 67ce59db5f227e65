"""Storage port: entities, facts (attribute and relation assertions) and the extraction backlog.

:class:`~maas_langchain.core.ports.state.StateTx` inherits these abstract operations; the SQL
backends implement them in ``sql_entities.py`` and the in-memory reference in
``memory_entities.py``. Policy is not here: the entity service decides what a chain looks like
and who may read it; storage keeps rows and filters facts by the scope of the memory each came
from (the same :class:`~maas_langchain.core.ports.filters.ScopeFilter` recall uses), so a fact is
visible exactly where its memory is.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maas_langchain.core.entity_types import EntityRecord, FactRecord
    from maas_langchain.core.ports.filters import ScopeFilter

__all__ = ["EntityOps", "ExtractionJob", "FactLinks"]


@dataclass(frozen=True)
class FactLinks:
    """The mutable part of a fact row, rewritten when its chain is rebuilt."""

    status: str
    valid_to: float | None
    supersedes: str | None
    superseded_by: str | None
    corroborates: str | None


@dataclass(frozen=True)
class ExtractionJob:
    """One memory waiting for extraction (``state``: ``pending`` or ``failed``)."""

    memory_id: str
    memory_seq: int
    enqueued_at: float
    attempts: int = 0
    state: str = "pending"
    error: str | None = None


class EntityOps(abc.ABC):
    """Abstract entity, fact and extraction-backlog operations of one transaction."""

    # --- entities -----------------------------------------------------------------------
    @abc.abstractmethod
    def find_entity(self, scope_key: str, norm: str) -> EntityRecord | None:
        """The entity of this scope whose normalised name or alias is ``norm``."""

    @abc.abstractmethod
    def insert_entity(self, entity: EntityRecord, norms: Sequence[str]) -> None:
        """Store a new entity reachable under each of ``norms`` (its name's and aliases')."""

    @abc.abstractmethod
    def update_entity(self, entity: EntityRecord, new_norms: Sequence[str]) -> None:
        """Replace an entity's type and aliases; add ``new_norms`` to its names (a norm another
        entity of the scope already has stays that entity's)."""

    @abc.abstractmethod
    def get_entities(self, entity_ids: Sequence[str]) -> list[EntityRecord]:
        """The entities with these ids (unknown ids are skipped)."""

    # --- facts --------------------------------------------------------------------------
    @abc.abstractmethod
    def insert_fact(self, fact: FactRecord) -> None:
        """Store a new fact row."""

    @abc.abstractmethod
    def set_fact_links(self, fact_id: str, links: FactLinks) -> None:
        """Rewrite a fact's status, ``valid_to`` and links."""

    @abc.abstractmethod
    def chain_facts(self, chain: str) -> list[FactRecord]:
        """Every fact of one chain, any status, ordered by (``memory_seq``, ``fact_id``)."""

    @abc.abstractmethod
    def chain_head(self, chain: str) -> tuple[int, FactRecord | None]:
        """The chain's highest ``memory_seq`` (0 when empty) and its ``current`` row, if any:
        enough to append a later assertion without reading the whole chain."""

    @abc.abstractmethod
    def facts_of_memories(self, memory_ids: Sequence[str]) -> list[FactRecord]:
        """Every fact asserted by these memories, any status."""

    @abc.abstractmethod
    def scoped_facts(
        self, scope: ScopeFilter, *, entity_ids: Sequence[str] | None = None, limit: int = 10_000
    ) -> list[FactRecord]:
        """Facts whose memory's scope ``scope`` admits (any status, any memory status), of
        ``entity_ids`` if given: the newest ``limit`` of them, ordered by (``memory_seq``,
        ``fact_id``)."""

    # --- the extraction backlog ---------------------------------------------------------
    @abc.abstractmethod
    def enqueue_extraction(self, job: ExtractionJob) -> None:
        """Add a pending job (an existing job for the memory is reset to pending)."""

    @abc.abstractmethod
    def pending_extractions(self, limit: int, *, include_failed: bool = False) -> list[ExtractionJob]:
        """Pending jobs (and failed ones when asked), oldest ``memory_seq`` first."""

    @abc.abstractmethod
    def finish_extraction(self, memory_id: str, error: str | None, attempts: int) -> bool:
        """Close a job: delete it (``error`` None) or mark it failed with the reason. False when
        no pending or failed job exists for the memory (another worker finished it)."""

    @abc.abstractmethod
    def pending_extraction_ids(self, memory_ids: Sequence[str]) -> set[str]:
        """Those of ``memory_ids`` that have a pending job."""

    @abc.abstractmethod
    def count_extractions(self) -> tuple[int, int]:
        """(pending, failed) job counts."""
