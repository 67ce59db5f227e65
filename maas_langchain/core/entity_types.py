"""Structured memory records: what an extractor returns, and what the store keeps.

An :class:`Extractor` turns one memory's text into an :class:`Extraction` (entities, attributes,
relations). The entity service resolves names within the memory's scope and stores each
assertion as one :class:`FactRecord` row: a fact is *one memory saying one thing*, so
corroboration, supersession and retraction are links between rows, never edits of a value.

Facts of one **chain** (same scope, entity, kind and key — and, for multi-valued keys, the same
value) are ordered by the commit order of the memories that asserted them (``memory_seq``):

* ``current`` — the value that holds now (the last assertion of a different value);
* ``superseded`` — replaced by a later value (``superseded_by``, ``valid_to``);
* ``corroborates`` — the same value asserted again (``corroborates`` names the fact it backs);
* ``negation`` — "no longer ..." (ends the value it names, if that value holds);
* ``ended`` — a value a negation ended (``superseded_by`` names the negation);
* ``retracted`` — every memory behind it was forgotten or superseded (kept for history).

Example:
    >>> norm_name("  The  Enterprise-segment! ")
    'enterprise segment'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "FACT_STATUSES",
    "EntityRecord",
    "ExtractedAttribute",
    "ExtractedEntity",
    "ExtractedRelation",
    "Extraction",
    "Extractor",
    "FactRecord",
    "norm_name",
    "norm_value",
]

FACT_STATUSES = ("current", "superseded", "corroborates", "negation", "ended", "retracted")

_ARTICLES = re.compile(r"^(?:the|a|an)\s+")
_SPACES = re.compile(r"\s+")


def norm_name(name: str) -> str:
    """An entity name as resolution compares it: NFKC, case-folded, punctuation and a leading
    article dropped, hyphens and underscores as spaces, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", name).casefold().replace("_", " ").replace("-", " ")
    text = _SPACES.sub(" ", re.sub(r"[^\w\s$%.@+#/]", " ", text)).strip(" .")
    return _ARTICLES.sub("", text)


def norm_value(value: str) -> str:
    """A value as conflict detection compares it: NFKC, case-folded, whitespace collapsed,
    trailing punctuation dropped ("SOC2 compliance." == "soc2  compliance")."""
    text = unicodedata.normalize("NFKC", value).casefold()
    return _SPACES.sub(" ", text).strip(" .,;:!?\"'")


@dataclass(frozen=True)
class ExtractedEntity:
    """An entity named by a memory: a type (``CustomerSegment``; ``Thing`` when unknown), its
    name as written, and other names it goes by."""

    name: str
    type: str = "Thing"
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExtractedAttribute:
    """``entity.key = value`` (``negated``: "X's key is no longer value")."""

    entity: str
    key: str
    value: str
    entity_type: str = "Thing"
    negated: bool = False


@dataclass(frozen=True)
class ExtractedRelation:
    """``subject --predicate--> object`` (``negated``: "X no longer uses Y")."""

    subject: str
    predicate: str
    object: str
    subject_type: str = "Thing"
    object_type: str = "Thing"
    negated: bool = False


@dataclass(frozen=True)
class Extraction:
    """What an extractor found in one memory. ``error`` says why nothing (or less) was found —
    a model that failed twice, output that did not parse — and is recorded with the memory."""

    entities: tuple[ExtractedEntity, ...] = ()
    attributes: tuple[ExtractedAttribute, ...] = ()
    relations: tuple[ExtractedRelation, ...] = ()
    error: str | None = None

    def __bool__(self) -> bool:
        return bool(self.entities or self.attributes or self.relations)


@runtime_checkable
class Extractor(Protocol):
    """The extraction port: any object with a ``name`` and this method.

    ``extract`` must not raise for ordinary bad input (return an :class:`Extraction` with
    ``error`` set); an exception is caught by the worker and recorded the same way.
    """

    name: str

    def extract(self, text: str, *, category: str = "knowledge") -> Extraction:
        """Entities, attributes and relations stated in ``text``."""
        ...


@dataclass(frozen=True)
class EntityRecord:
    """A stored entity: unique per (scope, normalised name or alias)."""

    entity_id: str
    scope_key: str
    scope: dict[str, str]
    entity_type: str
    name: str
    aliases: tuple[str, ...] = ()
    created_at: float = 0.0


@dataclass(frozen=True)
class FactRecord:
    """One assertion by one memory: an attribute (``key = value``) or a relation
    (``key`` is the predicate, ``value`` the object's name, ``object_id`` its entity).

    Attributes:
        chain: Identifies the chain the fact belongs to (see the module docstring).
        memory_seq: The asserting memory's commit order; a chain is ordered by it.
        valid_from: When the memory was written (the value holds from then).
        valid_to: When a later value, a negation or a retraction ended it; else ``None``.
        recorded_at: When the fact row was written (after the memory).
    """

    fact_id: str
    entity_id: str
    kind: str
    key: str
    value: str
    value_norm: str
    chain: str
    memory_id: str
    memory_seq: int
    scope_key: str
    valid_from: float
    recorded_at: float
    agent_id: str | None = None
    session_id: str | None = None
    object_id: str | None = None
    negated: bool = False
    status: str = "current"
    valid_to: float | None = None
    supersedes: str | None = None
    superseded_by: str | None = None
    corroborates: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
