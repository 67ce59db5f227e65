"""Vector indexes: the :class:`~maas_langchain.core.ports.vectors.VectorIndex` port and its backends.

* :class:`BruteForceIndex` — exact, in process memory (the reference; ``:memory:`` instances).
* :class:`ChromaIndex` — Chroma embedded on a folder (one process per folder) or a Chroma server.

:func:`open_vector_index` picks one from a setting. Importing this package does not import
Chroma; opening a :class:`ChromaIndex` does.
"""

from __future__ import annotations

from pathlib import Path

from maas_langchain.backends.bruteforce import BruteForceIndex
from maas_langchain.backends.chroma import ChromaIndex
from maas_langchain.core.ports.vectors import (
    And,
    Contains,
    Eq,
    Gte,
    In,
    IndexInfo,
    Metadata,
    MetaValue,
    Or,
    VectorHit,
    VectorIndex,
    VectorRecord,
    Where,
    where_matches,
)
from maas_langchain.errors import InvalidInputError

__all__ = [
    "And",
    "BruteForceIndex",
    "ChromaIndex",
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
    "open_vector_index",
    "where_matches",
]


def open_vector_index(spec: str | None, home: Path | None) -> VectorIndex:
    """Open the vector index a setting names.

    Args:
        spec: ``None`` or ``"chroma"`` — embedded Chroma in ``home / "chroma"``;
            ``"bruteforce"`` or ``"memory"`` — in process memory; ``"http://host:port"`` or
            ``"https://…"`` — a Chroma server.
        home: The MaaS folder (needed for embedded Chroma only).

    Raises:
        InvalidInputError: ``spec`` names no index, or embedded Chroma is asked for without ``home``.
        VectorStoreLockedError: Another process holds ``home / "chroma"``.
        BackendUnavailableError: The folder or the server cannot be opened.

    Example:
        >>> open_vector_index("memory", None).kind
        'bruteforce'
    """
    if spec in ("bruteforce", "memory"):
        return BruteForceIndex()
    if spec is not None and spec.startswith(("http://", "https://")):
        return ChromaIndex.http(spec)
    if spec not in (None, "chroma"):
        raise InvalidInputError(
            f"vectors={spec!r} names no index: use 'chroma', 'bruteforce', 'memory' or a Chroma server URL"
        )
    if home is None:
        raise InvalidInputError("embedded Chroma needs a MaaS folder; pass home= or use vectors='memory'")
    return ChromaIndex.embedded(Path(home) / "chroma")
