"""Preparing memories for a write: validation, embedding with checks, and screening.

:func:`prepare_memory` validates one :class:`~maas_langchain.core.memory_types.MemoryInput`;
:func:`embed_checked` embeds texts and checks the count and dimension; :func:`screened` runs
write-time screening (:mod:`maas_langchain.core.screening`) over each memory's text *and* the
vector it is stored with, so the learned signal costs no extra embedding. A flagged memory is
QUARANTINED (never recalled, shown to its author and HUMAN reviewers only), or refused when the
policy is ``"refuse"``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from maas_langchain.core.enums import MemoryStatus
from maas_langchain.core.limits import CapacityLimits
from maas_langchain.core.memory_types import (
    Embedder,
    MemoryInput,
    PreparedMemory,
    check_category,
    check_flat_metadata,
)
from maas_langchain.core.ports.text import search_text
from maas_langchain.core.records import Memory
from maas_langchain.core.scopes import ScopeHierarchy
from maas_langchain.core.screening import MEXTRAValidator
from maas_langchain.core.validation import check_id, check_text, new_id
from maas_langchain.errors import EmbeddingDimensionError, PolicyViolationError

__all__ = ["embed_checked", "prepare_memory", "screened"]


def prepare_memory(
    item: MemoryInput, limits: CapacityLimits, hierarchy: ScopeHierarchy, clock: Callable[[], float]
) -> PreparedMemory:
    """``item`` validated (content, scope, category, metadata, author, session) as an ACTIVE
    memory with the texts to embed and to index."""
    content = check_text(item.content, "content", limits.max_memory_chars)
    scope = hierarchy.check(item.scope)
    memory = Memory(
        memory_id=new_id(),
        content=content,
        category=check_category(item.category),
        scope=scope,
        created_at=clock() if item.created_at is None else float(item.created_at),
        author_id=None if item.author_id is None else check_text(item.author_id, "author_id", 256),
        session_id=None if item.session_id is None else check_id(item.session_id, "session_id"),
        metadata=check_flat_metadata(item.metadata, limits.max_metadata_bytes),
        status=MemoryStatus.ACTIVE,
    )
    speaker = scope.get("agent")
    return PreparedMemory(memory, f"{speaker}: {content}" if speaker else content, search_text(content, speaker))


def embed_checked(embedder: Embedder, texts: list[str]) -> list[list[float]]:
    """The embedder's vectors for ``texts``, checked: one per text, each of its dimension."""
    vectors = embedder.embed_documents(texts)
    if len(vectors) != len(texts) or any(len(v) != embedder.dimension for v in vectors):
        raise EmbeddingDimensionError(
            f"{embedder.model_id} returned vectors of another count or dimension than {embedder.dimension}",
            model=embedder.model_id,
        )
    return [list(v) for v in vectors]


def screened(
    prepared: Sequence[PreparedMemory],
    vectors: Sequence[Sequence[float]],
    validator: MEXTRAValidator,
    mode: str,
    model_id: str,
) -> list[PreparedMemory]:
    """``prepared`` with screening applied: flagged memories QUARANTINED with the matched
    categories (``mode="quarantine"``), or :class:`PolicyViolationError` (``mode="refuse"``);
    ``mode="off"`` changes nothing."""
    if mode == "off":
        return list(prepared)
    out = []
    for item, vector in zip(prepared, vectors, strict=True):
        flagged = validator.screen(item.memory.content, vector, model_id=model_id).categories
        if flagged and mode == "refuse":
            raise PolicyViolationError(
                f"content was refused by screening ({', '.join(flagged)})", categories=list(flagged)
            )
        if flagged:
            memory = dataclasses.replace(item.memory, status=MemoryStatus.QUARANTINED, screening=tuple(flagged))
            item = dataclasses.replace(item, memory=memory)
        out.append(item)
    return out
