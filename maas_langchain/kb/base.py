"""What the three knowledge bases share: one collection each, validated search with hybrid
ranking, and writing documents as chunks.

Ranking: the query is embedded once; candidates are the ``3 * limit`` nearest chunks within the
filter, plus the nearest chunks (same filter) that *define* a name from the query or live in a
file named by it (a second filtered query on the ``symbols`` field), so an identifier finds its
definition even where embeddings are vague. Each candidate is scored
``0.6 * semantic + 0.4 * lexical``, where ``semantic`` is the cosine similarity (clamped to
[0, 1]) and ``lexical = 0.75 * term overlap + 0.25 * name match`` (see
:mod:`maas_langchain.kb.lexical`). Every result says why in its ``why`` dict.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, ClassVar, Generic, TypeVar

from langchain_core.embeddings import Embeddings

from maas_langchain.core.ports.vectors import And, Contains, Eq, In, MetaValue, Or, VectorHit, VectorIndex, Where
from maas_langchain.core.screening import instruction_flags, screen_text
from maas_langchain.embeddings import describe_embeddings, embed_in_batches
from maas_langchain.errors import EmbeddingDimensionError, InvalidInputError
from maas_langchain.kb.chunking import Chunk
from maas_langchain.kb.lexical import QueryTerms, fold, identifier_terms
from maas_langchain.kb.results import KBResult

__all__ = ["MAX_LIMIT", "Authorize", "KnowledgeBase", "collection_name"]

MAX_LIMIT = 1000
MAX_QUERY_CHARS = 10_000
SEMANTIC_WEIGHT, LEXICAL_WEIGHT = 0.6, 0.4
OVERLAP_WEIGHT, NAME_WEIGHT = 0.75, 0.25
EMBED_CALL_ROWS = 512
"""Texts per ``embed_documents`` call when writing. sentence-transformers sorts each call's texts
by length before cutting its own batches of 64, so larger calls pad less (code chunks vary from
a line to 1,500 characters)."""
CHUNKER_VERSION = 1
"""Stored with every chunk; a file chunked by another version is re-ingested."""

Authorize = Callable[[str | None], None]
"""A capability check: called with the acting agent's id (or ``None``), raises to refuse."""

R = TypeVar("R", bound=KBResult)


def collection_name(kind: str, model_id: str, dimension: int) -> str:
    """``maas-kb-<kind>-<model slug>-<dimension>``, a valid Chroma collection name.

    Example:
        >>> collection_name("code", "sentence-transformers/all-MiniLM-L6-v2", 384)
        'maas-kb-code-sentence-transformers-all-minilm-l6-v2-384'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")[:400] or "model"
    return f"maas-kb-{kind}-{slug}-{dimension}"


def row_id(*parts: str) -> str:
    """A stable 32-hex-digit id for a chunk, from its root, path and position."""
    return hashlib.blake2b("\0".join(parts).encode("utf-8"), digest_size=16).hexdigest()


def check_query(query: object, limit: object, filter_value: object, agent_id: object, filter_name: str) -> None:
    """Validate the arguments every ``search_*`` method takes.

    Raises:
        InvalidInputError: Empty or non-string query, a limit outside 1..1000 or not an int, a
            filter that is not a non-empty string (or list of them), a non-string agent id.
    """
    if not isinstance(query, str) or not query.strip():
        raise InvalidInputError("query must be a non-empty string", field="query")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInputError(f"query is longer than {MAX_QUERY_CHARS} characters", field="query")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be an int from 1 to {MAX_LIMIT}, got {limit!r}", field="limit")
    if filter_value is not None and not _is_filter_value(filter_value):
        raise InvalidInputError(
            f"{filter_name} must be a non-empty string or a list of them, got {filter_value!r}", field=filter_name
        )
    if agent_id is not None and not isinstance(agent_id, str):
        raise InvalidInputError("agent_id must be a string or None", field="agent_id")


def _is_filter_value(value: object) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, str) and v.strip() for v in value)


def check_text(value: object, name: str, *, required: bool = True) -> str | None:
    """A stripped non-empty string (or ``None`` when optional and absent)."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{name} must be a non-empty string, got {value!r}", field=name)
    return value.strip()


@dataclass(frozen=True)
class ChunkRow:
    """A chunk ready to embed: id, the text to embed, the text to store, and its metadata."""

    id: str
    embed_text: str
    document: str
    metadata: dict[str, MetaValue]


class KnowledgeBase(Generic[R]):
    """Base of :class:`CodeKBService`, :class:`DecisionService` and :class:`IncidentService`.

    Args:
        index: Any :class:`~maas_langchain.core.ports.vectors.VectorIndex` (Chroma, brute force).
        embeddings: Any LangChain ``Embeddings``; the collection name records its model and
            dimension, so a model change starts a new collection instead of mixing vectors.
        authorize: Optional capability check, called with ``agent_id`` before every search.
        collection: Override the collection name.
    """

    kind: ClassVar[str] = ""
    collection_kind: ClassVar[str] = ""
    filter_field: ClassVar[str] = ""
    candidate_factor: ClassVar[int] = 3
    one_result_per_document: ClassVar[bool] = False

    def __init__(
        self,
        index: VectorIndex,
        embeddings: Embeddings,
        authorize: Authorize | None = None,
        *,
        collection: str | None = None,
    ) -> None:
        if not isinstance(index, VectorIndex):
            raise InvalidInputError(f"index must be a VectorIndex, got {type(index).__name__}")
        if not isinstance(embeddings, Embeddings):
            raise InvalidInputError(f"embeddings must be a langchain_core Embeddings, got {type(embeddings).__name__}")
        if authorize is not None and not callable(authorize):
            raise InvalidInputError("authorize must be callable or None")
        self.index = index
        self.embeddings = embeddings
        self._authorize = authorize
        self._collection = collection
        self._dimension: int | None = None
        self._lock = threading.Lock()

    # -- collection ---------------------------------------------------------------------------

    @property
    def collection(self) -> str:
        """The collection name (created in the index on first use)."""
        return self._ready()[0]

    @property
    def dimension(self) -> int:
        """The embedding dimension."""
        return self._ready()[1]

    def _ready(self) -> tuple[str, int]:
        with self._lock:
            if self._dimension is None:
                model, dimension = describe_embeddings(self.embeddings)
                self._collection = self._collection or collection_name(self.collection_kind, model, dimension)
                self.index.ensure_collection(self._collection, dimension=dimension, model=model)
                self._dimension = dimension
            assert self._collection is not None
            return self._collection, self._dimension

    def count(self) -> int:
        """Number of chunks in the collection."""
        return self.index.count(self.collection)

    def clear(self) -> None:
        """Delete every chunk (drops and re-creates the collection)."""
        name = self.collection
        with self._lock:
            self.index.drop(name)
            self._dimension = None
        self._ready()

    # -- search -------------------------------------------------------------------------------

    def _search(
        self, query: str, filter_value: str | Sequence[str] | None, limit: int, agent_id: str | None
    ) -> list[R]:
        check_query(query, limit, filter_value, agent_id, f"{self.filter_field}_filter")
        if self._authorize is not None:
            self._authorize(agent_id)
        name, dimension = self._ready()
        vector = self.embeddings.embed_query(query)
        if len(vector) != dimension:
            raise EmbeddingDimensionError(
                f"the query embedding has {len(vector)} dimensions; collection {name!r} holds {dimension}",
                expected=dimension,
                got=len(vector),
            )
        where = self._filter(filter_value)
        terms = QueryTerms.parse(query)
        candidates = self._candidates(name, vector, where, terms, limit)
        scored = sorted((self._score(hit, via, terms) for hit, via in candidates.values()), key=_rank_key)
        if self.one_result_per_document:
            scored = _best_per_document(scored)
        return [self._result(hit, score, why) for score, hit, why in scored[:limit]]

    def _filter(self, value: str | Sequence[str] | None) -> Where | None:
        if value is None:
            return None
        if isinstance(value, str):
            return Eq(self.filter_field, value.strip())
        return In(self.filter_field, [v.strip() for v in value])

    def _candidates(
        self, name: str, vector: list[float], where: Where | None, terms: QueryTerms, limit: int
    ) -> dict[str, tuple[VectorHit, set[str]]]:
        k = self.candidate_factor * limit
        found = {hit.id: (hit, {"semantic"}) for hit in self.index.query(name, vector, k, where, include_payload=True)}
        names = terms.names
        if names:
            by_name: Where = (
                Or([Contains("symbols", n) for n in names]) if len(names) > 1 else Contains("symbols", names[0])
            )
            scoped = by_name if where is None else And([where, by_name])
            for hit in self.index.query(name, vector, limit, scoped, include_payload=True):
                found.setdefault(hit.id, (hit, set()))[1].add("name")
        return found

    def _score(self, hit: VectorHit, via: set[str], terms: QueryTerms) -> tuple[float, VectorHit, dict[str, Any]]:
        meta = hit.metadata or {}
        semantic = max(0.0, min(1.0, hit.similarity))
        described = " ".join(str(meta.get(k, "")) for k in ("path", "symbol", "title", "section"))
        overlap, matched = terms.overlap(identifier_terms(f"{hit.document or ''} {described}"))
        defined = terms.name_match(_strings(meta.get("defines")))
        in_file = terms.name_match([fold(str(meta.get("stem", "")))])
        name_score = 1.0 if defined else 0.5 if in_file else 0.0
        lexical = OVERLAP_WEIGHT * overlap + NAME_WEIGHT * name_score
        score = SEMANTIC_WEIGHT * semantic + LEXICAL_WEIGHT * lexical
        why = {
            "semantic": round(semantic, 4),
            "lexical": round(lexical, 4),
            "term_overlap": round(overlap, 4),
            "name_match": name_score,
            "matched_terms": matched,
            "defines": defined,
            "via": sorted(via),
        }
        return score, hit, why

    def _result(self, hit: VectorHit, score: float, why: dict[str, Any]) -> R:
        raise NotImplementedError

    # -- writing ------------------------------------------------------------------------------

    def _rows_for(
        self, key: tuple[str, ...], chunks: Sequence[Chunk], base: Mapping[str, MetaValue], heading: str
    ) -> list[ChunkRow]:
        """Rows for one document's chunks: ids from ``key`` and the position, shared metadata."""
        rows = []
        stem = fold(PurePosixPath(str(base.get("path", ""))).stem.lower())
        for position, chunk in enumerate(chunks):
            meta: dict[str, MetaValue] = {
                **base,
                "chunk": position,
                "chunks": len(chunks),
                "start_line": chunk.start_line,
                "end_line": chunk.end_line,
                "v": CHUNKER_VERSION,
            }
            _put_symbols(meta, chunk, stem)
            embed_text = f"{heading} {chunk.symbol}".strip() + "\n" + chunk.text
            rows.append(ChunkRow(row_id(*key, str(position)), embed_text, chunk.text, meta))
        return rows

    def _write(self, rows: Sequence[ChunkRow]) -> int:
        """Embed ``rows`` (:data:`EMBED_CALL_ROWS` texts per ``embed_documents`` call), screen each
        chunk with its vector and upsert the clean ones; return how many screening held back.

        Policy: code, SQL and markup are ordinary knowledge-base content and are not flagged by
        themselves; a chunk that reads like instructions to an agent (an injection planted in a
        README or a comment) is not indexed, so no search returns it."""
        if not rows:
            return 0
        name, dimension = self._ready()
        texts = [r.embed_text for r in rows]
        vectors = embed_in_batches(self.embeddings, texts, batch_size=EMBED_CALL_ROWS, dimension=dimension)
        model = describe_embeddings(self.embeddings)[0]
        keep = [i for i, (r, v) in enumerate(zip(rows, vectors, strict=True)) if not _flagged(r.document, v, model)]
        kept_at = set(keep)
        held = Counter(_document(r) for i, r in enumerate(rows) if i not in kept_at)
        if keep:
            kept = [rows[i] for i in keep]
            for row in kept:  # a re-ingest knows the document is whole though some chunks are missing
                if held[_document(row)]:
                    row.metadata["held"] = held[_document(row)]
            self.index.upsert(
                name,
                [r.id for r in kept],
                [vectors[i] for i in keep],
                [r.metadata for r in kept],
                [r.document for r in kept],
            )
        return len(rows) - len(keep)


def _document(row: ChunkRow) -> tuple[str, str]:
    return str(row.metadata.get("root", "")), str(row.metadata.get("path", row.metadata.get("doc", "")))


def _flagged(text: str, vector: Sequence[float], model_id: str) -> bool:
    """Instructions aimed at an agent (the learned signal only with an injection cue: docs are
    full of imperatives); SQL and markup payloads are ordinary content of code."""
    return bool(instruction_flags(screen_text(text, vector, model_id=model_id), text))


def _put_symbols(meta: dict[str, MetaValue], chunk: Chunk, stem: str) -> None:
    if chunk.symbol:
        meta["symbol"] = chunk.symbol
    defines = sorted({fold(d.lower()) for d in chunk.defines if d})
    if defines:
        meta["defines"] = defines
    if stem:
        meta["stem"] = stem
    symbols = sorted({*defines, stem} - {""})
    if symbols:
        meta["symbols"] = symbols


def _strings(value: MetaValue | None) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _rank_key(item: tuple[float, VectorHit, dict[str, Any]]) -> tuple[float, str, int, str]:
    score, hit, _ = item
    meta = hit.metadata or {}
    start = meta.get("start_line", 0)
    return (-score, str(meta.get("path", "")), start if isinstance(start, int) else 0, hit.id)


def _best_per_document(
    scored: list[tuple[float, VectorHit, dict[str, Any]]],
) -> list[tuple[float, VectorHit, dict[str, Any]]]:
    seen: set[str] = set()
    best = []
    for item in scored:
        doc = str((item[1].metadata or {}).get("doc", item[1].id))
        if doc not in seen:
            seen.add(doc)
            best.append(item)
    return best


def meta_str(meta: Mapping[str, MetaValue] | None, key: str) -> str | None:
    """A string metadata value, or ``None``."""
    value = (meta or {}).get(key)
    return value if isinstance(value, str) and value else None


def meta_int(meta: Mapping[str, MetaValue] | None, key: str) -> int:
    """An int metadata value, or 0."""
    value = (meta or {}).get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
