"""The memory service's data types and input checks: what a caller hands in and gets back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from maas_langchain.core.records import Memory
from maas_langchain.core.validation import check_json, check_text
from maas_langchain.errors import InvalidInputError

__all__ = ["Embedder", "HistoryPage", "MemoryInput", "RecallHit", "check_category", "check_flat_metadata"]

_MAX_CATEGORY_CHARS = 64


@dataclass(frozen=True)
class HistoryPage:
    """One page of ``MemoryService.history_page``: the memories, and the position to pass as
    ``after`` for the next page (``None`` when this page is the last)."""

    memories: list[Memory]
    next: int | None


class Embedder(Protocol):
    """What the service needs from an embedding model (any LangChain ``Embeddings`` wrapped
    with its model id and dimension)."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


@dataclass(frozen=True)
class MemoryInput:
    """One memory to write with :meth:`MemoryService.remember_many`."""

    content: str
    scope: Mapping[str, str]
    category: str = "knowledge"
    metadata: Mapping[str, Any] | None = None
    author_id: str | None = None
    session_id: str | None = None
    created_at: float | None = None


@dataclass(frozen=True)
class RecallHit:
    """A recalled memory (redacted), its score and why it matched."""

    memory: Memory
    score: float
    why: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PreparedMemory:
    """A validated, screened memory with the texts to embed and to index (internal)."""

    memory: Memory
    embed_text: str
    search_text: str


def check_category(value: Any) -> str:
    """A category is free text (``knowledge``, ``decision``, ...): 1 to 64 characters."""
    return check_text(value, "memory_category", _MAX_CATEGORY_CHARS)


def check_flat_metadata(value: Any, max_bytes: int) -> dict[str, Any]:
    """Provenance metadata: a dict of string keys to JSON scalars (str, int, float, bool, None).

    Raises:
        InvalidInputError: Not a dict, nested values, non-string keys, or too large.
    """
    meta: dict[str, Any] = check_json(value, "metadata", max_bytes)
    for key, item in meta.items():
        if isinstance(item, (dict, list)):
            raise InvalidInputError(
                f"metadata[{key!r}] must be a string, number, boolean or null, not {type(item).__name__}",
                field="metadata",
                key=key,
            )
    return meta
