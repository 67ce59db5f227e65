"""The vector-index port: a small contract that Chroma (embedded or server) and the in-process
brute-force reference both implement.

The relational store is the source of truth; an index only answers "which ids are nearest to
this vector among the rows that pass this filter". Vectors are always passed in (no index
embeds text itself), and filters are expressed as a tiny neutral tree (:class:`Where`) that each
backend translates, so the filter runs *inside* the index query and ``k`` is never starved.

Example:
    >>> from maas_langchain.core.ports.vectors import Eq, In, Contains, Or, where_matches
    >>> w = Or([In("scope", ["org=acme"]), Contains("scope_sub", "org=acme")])
    >>> where_matches(w, {"scope": "org=acme|agent=a1", "scope_sub": ["org=acme", "agent=a1"]})
    True
    >>> where_matches(Eq("pool", "p1"), {"pool": "p2"})
    False
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self, TypeAlias

import numpy as np
import numpy.typing as npt

from maas_langchain.errors import EmbeddingDimensionError, InvalidInputError

__all__ = [
    "And",
    "Contains",
    "Eq",
    "Gte",
    "In",
    "IndexInfo",
    "MetaValue",
    "Metadata",
    "Or",
    "VectorHit",
    "VectorIndex",
    "VectorRecord",
    "Where",
    "check_collection",
    "check_collection_name",
    "check_k",
    "check_limit",
    "check_metadata",
    "check_rows",
    "check_where",
    "unit_vectors",
    "collection_conflict",
    "where_matches",
]

MetaValue: TypeAlias = str | int | float | bool | list[str]
"""A metadata value an index can filter on: a scalar, or a list of strings (for ``Contains``)."""

Metadata: TypeAlias = Mapping[str, MetaValue]


@dataclass(frozen=True)
class Eq:
    """``field == value``."""

    field: str
    value: str | int | float | bool


@dataclass(frozen=True)
class In:
    """``field`` is one of ``values`` (an empty list matches nothing)."""

    field: str
    values: Sequence[str | int | float]


@dataclass(frozen=True)
class Contains:
    """The list-valued ``field`` contains ``value``."""

    field: str
    value: str


@dataclass(frozen=True)
class Gte:
    """``field >= value`` (numbers only; compare ints with ints)."""

    field: str
    value: int | float


@dataclass(frozen=True)
class And:
    """Every operand matches (an empty list matches everything)."""

    operands: Sequence[Where]


@dataclass(frozen=True)
class Or:
    """At least one operand matches (an empty list matches nothing)."""

    operands: Sequence[Where]


Where: TypeAlias = Eq | In | Contains | Gte | And | Or


def where_matches(where: Where | None, metadata: Metadata) -> bool:
    """Evaluate ``where`` against one row's metadata (the reference semantics).

    A missing field never matches a leaf. Values compare by kind: numbers (``int`` and
    ``float``) with numbers, numerically (``1 == 1.0``); booleans only with booleans; strings
    only with strings; ``Contains`` looks inside list values and nothing else. Backends must
    agree with this function.
    """
    if where is None:
        return True
    if isinstance(where, And):
        return all(where_matches(w, metadata) for w in where.operands)
    if isinstance(where, Or):
        return any(where_matches(w, metadata) for w in where.operands)
    if where.field not in metadata:
        return False
    value = metadata[where.field]
    if isinstance(where, Eq):
        return _same(value, where.value)
    if isinstance(where, In):
        return any(_same(value, v) for v in where.values)
    if isinstance(where, Contains):
        return isinstance(value, list) and where.value in value
    return _kind(value) == "number" and value >= where.value  # type: ignore[operator]


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "str" if isinstance(value, str) else "other"


def _same(value: object, other: object) -> bool:
    return _kind(value) == _kind(other) != "other" and value == other


@dataclass(frozen=True)
class VectorHit:
    """One result: the row id, its cosine similarity to the query (1.0 = same direction) and,
    when asked for with ``include_payload=True``, its metadata and document."""

    id: str
    similarity: float
    metadata: dict[str, MetaValue] | None = None
    document: str | None = None


@dataclass(frozen=True)
class VectorRecord:
    """A stored row without its vector (see :meth:`VectorIndex.get`)."""

    id: str
    metadata: dict[str, MetaValue]
    document: str | None = None


@dataclass(frozen=True)
class IndexInfo:
    """What a collection was built with; reopening with another model or dimension is an error."""

    name: str
    dimension: int
    model: str
    count: int


class VectorIndex(ABC):
    """Nearest-neighbour search over named collections of unit vectors (cosine).

    Implementations are thread-safe. Ids are non-empty strings; re-adding an id replaces its
    vector, metadata and document (nothing of the old row survives). Vectors are normalised on
    the way in, so similarities are cosines. Metadata values are :data:`MetaValue` only (no
    ``None``, no nested dicts, no empty lists); the ``check_*`` helpers below are applied by
    every backend, so all of them accept and refuse the same input (:class:`InvalidInputError`).

    Only :meth:`upsert` and :meth:`query` need the collection to exist (they need its
    dimension; otherwise :class:`~maas_langchain.errors.NotFoundError`); the other methods treat
    a missing collection as empty. An index is a context manager that closes itself.
    """

    #: Short name for errors and reports ("chroma", "chroma-http", "bruteforce").
    kind: str = "abstract"

    @abstractmethod
    def ensure_collection(self, name: str, *, dimension: int, model: str) -> IndexInfo:
        """Create the collection if missing; otherwise check it was built with ``dimension`` and
        ``model``.

        Raises:
            EmbeddingDimensionError: The collection exists with another dimension or model.
            BackendUnavailableError: The index cannot be reached.
        """

    @abstractmethod
    def upsert(
        self,
        name: str,
        ids: Sequence[str],
        vectors: Sequence[Sequence[float]],
        metadatas: Sequence[Metadata],
        documents: Sequence[str] | None = None,
    ) -> None:
        """Add or replace rows (batched internally to the backend's maximum batch size).

        ``documents`` (optional) are stored beside the rows, for collections that are their own
        store (the knowledge bases); memories keep their text in the relational store.

        Raises:
            EmbeddingDimensionError: A vector's length differs from the collection's dimension.
        """

    @abstractmethod
    def delete(self, name: str, ids: Sequence[str]) -> None:
        """Remove rows; unknown ids are ignored."""

    @abstractmethod
    def query(
        self,
        name: str,
        vector: Sequence[float],
        k: int,
        where: Where | None = None,
        *,
        include_payload: bool = False,
    ) -> list[VectorHit]:
        """Return up to ``k`` rows nearest to ``vector`` among those matching ``where``, best first.

        Raises:
            EmbeddingDimensionError: ``vector`` has the wrong length.
        """

    @abstractmethod
    def get(self, name: str, where: Where | None = None, *, limit: int | None = None) -> list[VectorRecord]:
        """Rows matching ``where`` (metadata and documents, no vectors), in no particular order."""

    @abstractmethod
    def ids(self, name: str) -> set[str]:
        """Every id in the collection (for healing and reindexing)."""

    @abstractmethod
    def count(self, name: str) -> int:
        """Number of rows in the collection (0 if it does not exist)."""

    @abstractmethod
    def drop(self, name: str) -> None:
        """Delete the collection and its rows (no error if missing)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients, files and locks. Idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# Checks every backend applies (Chroma's own limits, made the port's), so that backends agree.

_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]")
_INT64 = 2**63


def check_collection_name(name: str) -> None:
    """Refuse names Chroma refuses: 3-512 characters of ``[a-zA-Z0-9._-]``, alphanumeric ends."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"collection name {name!r} must be 3-512 characters of [a-zA-Z0-9._-], "
            "starting and ending with a letter or digit",
            collection=str(name),
        )


def check_collection(name: str, dimension: int, model: str) -> None:
    """Check the arguments of :meth:`VectorIndex.ensure_collection`."""
    check_collection_name(name)
    if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
        raise InvalidInputError(f"dimension must be a positive integer, not {dimension!r}")
    if not isinstance(model, str) or not model:
        raise InvalidInputError(f"model must be a non-empty string naming the embedding model, not {model!r}")


def collection_conflict(name: str, built: tuple[int, str], wanted: tuple[int, str]) -> EmbeddingDimensionError:
    """The error for a collection built with another ``(dimension, model)`` than ``wanted``."""
    return EmbeddingDimensionError(
        f"vector collection {name!r} was built with model {built[1]!r} ({built[0]} dimensions), not "
        f"{wanted[1]!r} ({wanted[0]} dimensions); use that model, another collection, or reindex",
        collection=name,
        dimension=built[0],
        model=built[1],
        requested_dimension=wanted[0],
        requested_model=wanted[1],
    )


def check_metadata(metadata: Metadata) -> dict[str, MetaValue]:
    """Return a private copy of ``metadata`` after checking every key and value.

    Raises:
        InvalidInputError: A key is empty or starts with ``$``, ``#`` or ``chroma:``; a value is
            ``None``, a dict, an empty list, a list of non-strings, a non-finite float or an
            integer outside the signed 64-bit range.
    """
    if not isinstance(metadata, Mapping):
        raise InvalidInputError(f"metadata must be a mapping, not {type(metadata).__name__}")
    copy: dict[str, MetaValue] = {}
    for key, value in metadata.items():
        _check_field(key)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            copy[key] = list(value)
        elif isinstance(value, list) or not _is_scalar(value):
            raise InvalidInputError(
                f"metadata {key!r}: {value!r} is not a string, number, boolean or non-empty list of strings",
                field=key,
            )
        else:
            copy[key] = value
    return copy


def check_where(where: Where | None) -> None:
    """Check field names and operand types of a filter tree.

    Raises:
        InvalidInputError: A field name or an operand is not one an index can filter on.
    """
    if where is None:
        return
    if isinstance(where, (And, Or)):
        for operand in where.operands:
            check_where(operand)
        return
    if not isinstance(where, (Eq, In, Contains, Gte)):
        raise InvalidInputError(f"{where!r} is not a filter (Eq, In, Contains, Gte, And, Or)")
    _check_field(where.field)
    if isinstance(where, In):
        ok = not isinstance(where.values, str) and all(_is_scalar(v) for v in where.values)
    elif isinstance(where, Contains):
        ok = isinstance(where.value, str)
    elif isinstance(where, Gte):
        ok = _is_scalar(where.value) and _kind(where.value) == "number"
    else:
        ok = _is_scalar(where.value)
    if not ok:
        raise InvalidInputError(f"{where!r}: operand of the wrong type for {type(where).__name__}")


def check_rows(ids: Sequence[str], count: int, metadatas: Sequence[Metadata], documents: Sequence[str] | None) -> None:
    """Check that ``ids`` are unique non-empty strings and that every column has one entry per id."""
    if isinstance(ids, str) or any(not isinstance(i, str) or not i for i in ids):
        raise InvalidInputError("ids must be a list of non-empty strings")
    if len(set(ids)) != len(ids):
        raise InvalidInputError("ids must be unique within one call")
    if count != len(ids) or len(metadatas) != len(ids) or (documents is not None and len(documents) != len(ids)):
        raise InvalidInputError("ids, vectors, metadatas and documents must have the same length")
    if documents is not None and any(not isinstance(d, str) for d in documents):
        raise InvalidInputError("documents must be strings")


def check_k(k: int) -> None:
    """Refuse a result count below one."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidInputError(f"k must be a positive integer, not {k!r}")


def check_limit(limit: int | None) -> None:
    """Refuse a negative or non-integer ``limit`` (``None`` means no limit)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidInputError(f"limit must be a non-negative integer or None, not {limit!r}")


def unit_vectors(vectors: Sequence[Sequence[float]], dimension: int, *, collection: str) -> npt.NDArray[np.float32]:
    """Return ``vectors`` as a C-contiguous ``(n, dimension)`` float32 array of unit rows.

    Raises:
        EmbeddingDimensionError: A vector's length differs from ``dimension``.
        InvalidInputError: A vector is not numeric, contains NaN or infinity, or is all zeros.
    """
    for row in vectors:
        if len(row) != dimension:
            raise EmbeddingDimensionError(
                f"collection {collection!r} holds {dimension}-dimensional vectors, got one of {len(row)}; "
                "embed with the model the collection was built with, or reindex",
                collection=collection,
                expected=dimension,
                got=len(row),
            )
    try:
        array = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), dimension)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"vectors must be numbers: {exc}") from exc
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        raise InvalidInputError("vectors must be finite and not all zeros (cosine needs a direction)")
    return np.ascontiguousarray(array / norms, dtype=np.float32)


def _check_field(key: object) -> None:
    if not isinstance(key, str) or not key or key.startswith(("$", "#", "chroma:")):
        raise InvalidInputError(f"metadata field {key!r} must be a non-empty string not starting with $, # or chroma:")


def _is_scalar(value: object) -> bool:
    if isinstance(value, (str, bool)):
        return True
    if isinstance(value, int):
        return -_INT64 <= value < _INT64
    return isinstance(value, float) and math.isfinite(value)
