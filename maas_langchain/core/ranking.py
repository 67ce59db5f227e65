"""Hybrid ranking for recall: semantic similarity, lexical matching, session context, recency.

Pure functions: the memory service gathers candidates (nearest vectors and full-text matches,
both filtered by scope inside storage) and this module scores them and says why.

The formula (chosen on LoCoMo dev, see docs/benchmarks.md; weights are settings)::

    base(m)  = w_sem · minmax(cos(q, m)) + w_lex · minmax(lexical(q, m))     per query
    score(m) = base(m) + w_ctx · max(base(prev(m)), base(next(m)))          same session
                      · (0.5 + 0.5 · minmax(cos(q, m)))
             + w_rec · 0.5 ** (age(m) / half_life)

Example:
    >>> lexical_terms("Where is HandoffManager defined? see src/auth.py")
    ['handoffmanager', 'handoff', 'manager', 'defined', 'see', 'srcauthpy', 'src', 'auth', 'py']
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from maas_langchain.core.ports.text import lexical_terms, search_text

__all__ = [
    "Candidate",
    "RankingWeights",
    "Scored",
    "explain",
    "decode_vector",
    "encode_vector",
    "lexical_terms",
    "matched_terms",
    "rank",
    "search_text",
]


def _same_stem(a: str, b: str) -> bool:
    """A light stand-in for the index's stemmer, for explanations only: equal, or sharing a
    prefix of at least 4 characters and 60 % of the shorter word (``pricing`` ~ ``prices``)."""
    if a == b:
        return True
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= 4 and common >= 0.6 * min(len(a), len(b))


def matched_terms(terms: Sequence[str], text: str) -> tuple[str, ...]:
    """The query ``terms`` that (up to a light stemming) occur in ``text``."""
    words = set(lexical_terms(text)) | {w.lower() for w in re.findall(r"[A-Za-z0-9]+", text)}
    return tuple(t for t in terms if any(_same_stem(t, w) for w in words))


def encode_vector(vector: Sequence[float]) -> bytes:
    """Little-endian float32 bytes of a vector (how the relational store keeps it)."""
    return np.asarray(vector, dtype="<f4").tobytes()


def decode_vector(blob: bytes) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Inverse of :func:`encode_vector`."""
    return np.frombuffer(blob, dtype="<f4")


@dataclass(frozen=True)
class RankingWeights:
    """Weights of the recall score (settings; the defaults were tuned on LoCoMo dev).

    Attributes:
        semantic: Weight of the min-max normalised cosine similarity.
        lexical: Weight of the min-max normalised full-text score.
        context: Weight of the best neighbouring memory (same session) — facts next to a match
            often answer the question.
        recency: Weight of the recency term; 0 turns it off.
        half_life_seconds: Age at which the recency term halves.
    """

    semantic: float = 0.5
    lexical: float = 0.5
    context: float = 0.3
    recency: float = 0.05
    half_life_seconds: float = 30 * 24 * 3600.0


@dataclass(frozen=True)
class Candidate:
    """One memory to score: its similarity, lexical score (0 when no term matched), matched
    terms, creation time and session neighbour."""

    memory_id: str
    similarity: float
    lexical: float
    created_at: float
    prev_id: str | None = None
    matched_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scored:
    """A ranked memory and the reasons for its score."""

    memory_id: str
    score: float
    why: dict[str, Any] = field(default_factory=dict)


def _minmax(values: Mapping[str, float]) -> dict[str, float]:
    if not values:
        return {}
    low, high = min(values.values()), max(values.values())
    span = high - low
    return {k: (v - low) / span if span > 0 else (1.0 if v > 0 else 0.0) for k, v in values.items()}


def rank(candidates: Sequence[Candidate], now: float, weights: RankingWeights = RankingWeights()) -> list[Scored]:
    """Score and order ``candidates`` (best first) with the hybrid formula above."""
    sem = _minmax({c.memory_id: c.similarity for c in candidates})
    lex = _minmax({c.memory_id: c.lexical for c in candidates if c.lexical > 0})
    base = {
        c.memory_id: weights.semantic * sem[c.memory_id] + weights.lexical * lex.get(c.memory_id, 0.0)
        for c in candidates
    }
    nxt = {c.prev_id: c.memory_id for c in candidates if c.prev_id in base}
    scored = []
    for c in candidates:
        neighbours = [n for n in (c.prev_id, nxt.get(c.memory_id)) if n is not None and n in base]
        best = max(neighbours, key=lambda n: base[n], default=None)
        # a neighbour lends at most half its score to a memory that is itself unrelated
        relevance = 0.5 + 0.5 * sem[c.memory_id]
        context = weights.context * base[best] * relevance if best is not None else 0.0
        age = max(0.0, now - c.created_at)
        recency = weights.recency * math.pow(0.5, age / weights.half_life_seconds) if weights.recency else 0.0
        why: dict[str, Any] = {
            "semantic": round(c.similarity, 4),
            "lexical": float(f"{c.lexical:.4g}"),
            "matched_terms": list(c.matched_terms),
            "recency": round(recency, 4),
        }
        if best is not None and context > 0:
            why["context"] = {"neighbour": best, "boost": round(context, 4)}
        why["reason"] = _reason(c, context > 0)
        scored.append(Scored(c.memory_id, base[c.memory_id] + context + recency, why))
    scored.sort(key=lambda s: (-s.score, s.memory_id))
    return scored


def _reason(c: Candidate, context: bool) -> str:
    parts = [f"semantic similarity {c.similarity:.2f}"]
    if c.matched_terms:
        parts.append("matched " + ", ".join(repr(t) for t in c.matched_terms[:5]))
    if context:
        parts.append("next to a matching memory in the same session")
    return "; ".join(parts)


def explain(scored: Scored, memory: Any, terms: Sequence[str]) -> dict[str, Any]:
    """``scored.why`` plus the query terms ``memory`` matched (computed for the returned items
    only: it is the costly part)."""
    why = dict(scored.why)
    if why.get("lexical", 0) > 0:
        why["matched_terms"] = list(matched_terms(terms, search_text(memory.content, memory.scope.get("agent"))))
        why["reason"] = why["reason"] + (
            "; matched " + ", ".join(repr(t) for t in why["matched_terms"][:5]) if why["matched_terms"] else ""
        )
    return why
