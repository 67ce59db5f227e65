"""Memory benchmark (issue 4): LoCoMo retrieval quality, recall latency, ingestion throughput.

Three measurements, each with MaaS and its comparisons side by side in one run:

1. **Retrieval quality** on the LoCoMo development split: every turn is written through
   ``MaaS.memories.remember_many`` (the conversation is the project, the speaker the agent,
   one MaaS session per LoCoMo session), every question is a ``recall`` at the conversation's
   project scope, and recall@5 / recall@10 of the evidence turns is compared with dense-only
   exact search, SQLite FTS5 ``bm25()`` and LangGraph's ``InMemoryStore`` semantic search over
   the same texts, plus an ablation of the MaaS ranking terms.
2. **Recall latency** with the real model (query embedding included) at 10,000 and 100,000
   memories, embedded Chroma (the default) and the brute-force index, at one project's scope
   and at the org scope, with the time split into its pieces.
3. **Ingestion throughput**: ``remember_many`` with the real model against the bare model's
   ``SentenceTransformer.encode`` on the same texts and batches.

Usage:
    .venv/bin/python -m benchmarks.memory_bench                 # full run, ~15-20 min on 2 cores
    .venv/bin/python -m benchmarks.memory_bench --quick --out /tmp/mbench   # smoke run, ~1 min

A full run writes ``docs/benchmarks-memories.md``, ``docs/img/memory_bench.png`` and
``benchmarks/results/memory_bench.json``; with ``--out DIR`` they go to
``DIR/benchmarks-memories.md``, ``DIR/img/memory_bench.png`` and ``DIR/memory_bench.json``.
The data set is ``$MAAS_BENCH_LOCOMO`` or ``/work/shared/data/locomo/locomo_dev.json``
(``--data``). Needs the ``local-embeddings`` extra; matplotlib and tqdm are optional.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from langchain_core.embeddings import Embeddings

from benchmarks.core_bench import (
    _cpu_busy_s,
    _cpu_model,
    _load_average,
    _own_cpu_s,
    code_version,
    markdown_table,
    other_load_pct,
    percentile,
    text_table,
)
from maas_langchain import MaaS
from maas_langchain.core import memories as memories_module
from maas_langchain.core.memories import MemoryInput, MemoryService
from maas_langchain.core.ranking import STOP_WORDS, RankingWeights
from maas_langchain.embeddings import LocalMiniLMEmbeddings
from maas_langchain.storage.sql_memories import SqlMemoryOps

__all__ = [
    "FULL",
    "QUICK",
    "RANKINGS",
    "CachedEmbeddings",
    "Question",
    "Sizes",
    "Turn",
    "load_locomo",
    "main",
    "parse_evidence",
    "recall_at",
    "run",
]

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("MAAS_BENCH_LOCOMO", "/work/shared/data/locomo/locomo_dev.json"))
Result = dict[str, Any]
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
ORG = "locomo"
LATENCY_ORG = "bench"
TARGET_QUALITY_POINTS = 5.0
TARGET_P95_MS = {10_000: 50.0, 100_000: 100.0}
TARGET_INGEST_RATIO = 1.3


@dataclass(frozen=True)
class Sizes:
    """What one run covers.

    Attributes:
        conversations: How many LoCoMo conversations (``None``: all of the file).
        latency_sizes: Store sizes (memories) at which recall latency is measured.
        latency_queries: Timed recalls per (size, index, scope) cell.
        latency_warmup: Untimed recalls before each cell.
        ingest_batches: ``remember_many`` batch sizes for the throughput comparison.
        fill_batch: ``remember_many`` batch size when filling the latency store.
        bruteforce: Also measure latency with the brute-force index.
    """

    conversations: int | None
    latency_sizes: tuple[int, ...]
    latency_queries: int
    latency_warmup: int
    ingest_batches: tuple[int, ...]
    fill_batch: int
    bruteforce: bool = True


FULL = Sizes(None, (10_000, 100_000), 300, 20, (64, 256), 2_000)
QUICK = Sizes(1, (2_000,), 40, 5, (64,), 1_000)

# The MaaS ranking configurations compared on quality (the first one is the default).
RANKINGS: dict[str, tuple[str, RankingWeights]] = {
    "maas": ("MaaS hybrid (default ranking)", RankingWeights()),
    "maas_semantic": ("MaaS, semantic term only", RankingWeights(semantic=1.0, lexical=0.0, context=0.0, recency=0.0)),
    "maas_lexical": ("MaaS, lexical term only", RankingWeights(semantic=0.0, lexical=1.0, context=0.0, recency=0.0)),
    "maas_sem_lex": ("MaaS, semantic + lexical (no context)", RankingWeights(context=0.0, recency=0.0)),
    "maas_sem_lex_ctx": ("MaaS, semantic + lexical + context (no recency)", RankingWeights(recency=0.0)),
}
BASELINES = {
    "dense": "Dense only: exact cosine, same model, same texts",
    "fts5": "Lexical only: SQLite FTS5 bm25(), porter",
    "langgraph": "LangGraph InMemoryStore semantic search",
}


def log(message: str) -> None:
    """Progress on stderr, so stdout carries only the results tables."""
    print(message, file=sys.stderr, flush=True)


def progress(iterable: Iterable[Any], total: int, desc: str, quiet: bool = False) -> Iterable[Any]:
    """``tqdm`` over ``iterable`` when installed (and not ``quiet``), else the iterable itself."""
    if quiet:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        log(f"{desc} ({total})")
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit="", file=sys.stderr, leave=False, mininterval=1.0)


# --- data ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Turn:
    """One LoCoMo dialogue turn, as a memory.

    Attributes:
        conversation: The sample id (``conv-26``), used as the project.
        session: The LoCoMo session number.
        position: Index of the turn in its session.
        dia_id: The turn id the evidence refers to (``D3:7``).
        speaker: Who said it (the agent of the memory's scope).
        content: The turn text, plus ``[shares a photo of <blip_caption>]`` when it has one.
        created_at: The session's date (epoch seconds, UTC) plus ``position`` seconds.
    """

    conversation: str
    session: int
    position: int
    dia_id: str
    speaker: str
    content: str
    created_at: float | None

    @property
    def text(self) -> str:
        """What gets embedded and full-text indexed: ``"Speaker: content"`` (as MaaS does)."""
        return f"{self.speaker}: {self.content}"


@dataclass(frozen=True)
class Question:
    """One LoCoMo question with its resolvable evidence turns."""

    conversation: str
    text: str
    category: int
    evidence: tuple[str, ...]
    dropped: tuple[str, ...] = ()


def session_time(text: str | None) -> float | None:
    """``"1:56 pm on 8 May, 2023"`` as epoch seconds (UTC), or ``None`` if it does not parse."""
    if not text:
        return None
    try:
        when = dt.datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y")
    except ValueError:
        return None
    return when.replace(tzinfo=dt.UTC).timestamp()


def parse_evidence(raw: Sequence[Any], known: set[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split evidence strings on ``;``, ``,`` and spaces (``"D8:6; D9:17"`` is two ids); keep the
    ids that name a turn of the conversation, in order, once; return ``(kept, dropped)``."""
    kept: list[str] = []
    dropped: list[str] = []
    for item in raw:
        for token in re.split(r"[;,\s]+", str(item)):
            if not token:
                continue
            (kept if token in known else dropped).append(token)
    return tuple(dict.fromkeys(kept)), tuple(dropped)


def _turns_of(sample: Mapping[str, Any]) -> list[Turn]:
    conv = sample["conversation"]
    numbers = sorted(int(k.split("_")[1]) for k in conv if re.fullmatch(r"session_\d+", k))
    turns = []
    for number in numbers:
        start = session_time(conv.get(f"session_{number}_date_time"))
        for position, raw in enumerate(conv[f"session_{number}"]):
            content = raw["text"]
            if raw.get("blip_caption"):
                content += f" [shares a photo of {raw['blip_caption']}]"
            created = None if start is None else start + position
            turns.append(Turn(sample["sample_id"], number, position, raw["dia_id"], raw["speaker"], content, created))
    return turns


def load_locomo(path: Path, conversations: int | None = None) -> tuple[list[Turn], list[Question], Result]:
    """Turns and scorable questions of the first ``conversations`` samples, and how the
    evidence was parsed (questions excluded, ids dropped)."""
    samples = json.loads(path.read_text(encoding="utf-8"))[:conversations]
    turns: list[Turn] = []
    questions: list[Question] = []
    excluded: list[Result] = []
    dropped: list[Result] = []
    total = 0
    for sample in samples:
        own = _turns_of(sample)
        turns.extend(own)
        known = {t.dia_id for t in own}
        for qa in sample["qa"]:
            total += 1
            kept, bad = parse_evidence(qa.get("evidence") or [], known)
            q = Question(sample["sample_id"], qa["question"], int(qa["category"]), kept, bad)
            if bad:
                dropped.append({"conversation": q.conversation, "question": q.text, "ids": list(bad)})
            if kept:
                questions.append(q)
            else:
                excluded.append({"conversation": q.conversation, "category": q.category, "question": q.text})
    parsing = {
        "conversations": [s["sample_id"] for s in samples],
        "turns": len(turns),
        "questions_total": total,
        "questions_scored": len(questions),
        "questions_excluded": excluded,
        "evidence_ids_dropped": dropped,
        "turns_with_caption": sum("[shares a photo of " in t.content for t in turns),
        "turns_without_date": sum(t.created_at is None for t in turns),
    }
    return turns, questions, parsing


# --- embeddings -----------------------------------------------------------------------------------
class CachedEmbeddings(Embeddings):
    """The real all-MiniLM-L6-v2, with a cache of vectors the model already computed.

    ``embed_documents`` returns the cached vector of a known text and runs the model on the
    others; ``embed_query`` runs the model unless ``queries`` holds the text. It reports the same
    model id and dimension as :class:`LocalMiniLMEmbeddings`, so a store written with one opens
    with the other.
    """

    model_id = LocalMiniLMEmbeddings.model_id
    dimension = LocalMiniLMEmbeddings.dimension

    def __init__(self, documents: Mapping[str, list[float]], queries: Mapping[str, list[float]] | None = None) -> None:
        self.documents = dict(documents)
        self.queries = dict(queries or {})
        self.model = LocalMiniLMEmbeddings()
        self.misses = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Cached vectors; the model embeds (and caches) the unknown texts."""
        missing = list(dict.fromkeys(t for t in texts if t not in self.documents))
        if missing:
            self.misses += len(missing)
            self.documents.update(zip(missing, self.model.embed_documents(missing), strict=True))
        return [self.documents[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """The cached query vector, else the model's."""
        cached = self.queries.get(text)
        return list(cached) if cached is not None else self.model.embed_query(text)


def encode(texts: Sequence[str], batch_size: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The bare model: ``SentenceTransformer.encode`` with unit-length output."""
    model = LocalMiniLMEmbeddings.shared_model()
    matrix: np.ndarray[Any, np.dtype[np.float32]] = model.encode(
        list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return matrix


def set_torch_threads(threads: int | None) -> int:
    """Apply ``--torch-threads`` (``None`` leaves torch's default); return the thread count in use."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    return int(torch.get_num_threads())


# --- writing memories through MaaS ------------------------------------------------------------------
def open_maas(folder: Path, embeddings: Embeddings, vectors: str = "chroma", ranking: RankingWeights | None = None) -> MaaS:
    """MaaS on ``folder`` (SQLite) with the given index, embeddings and ranking; sweeper off."""
    return MaaS.open(folder, embeddings=embeddings, vectors=vectors, ranking=ranking, sweep_interval=None)


def open_sessions(maas: MaaS, turns: Sequence[Turn], project_of: Callable[[Turn], str], org: str) -> dict[Any, str]:
    """One MaaS session per (project, LoCoMo session), opened at ``{org, project}``; returns
    ``(project, conversation, session) → session_id``."""
    found: dict[Any, str] = {}
    for t in turns:
        key = (project_of(t), t.conversation, t.session)
        if key not in found:
            found[key] = maas.sessions.open({"org": org, "project": key[0]}).session_id
    return found


def memory_inputs(
    turns: Sequence[Turn], sessions: Mapping[Any, str], project_of: Callable[[Turn], str], org: str
) -> list[MemoryInput]:
    """The turns as memories: scope ``{org, project, agent: speaker}``, in their session."""
    items = []
    for t in turns:
        project = project_of(t)
        items.append(
            MemoryInput(
                t.content,
                {"org": org, "project": project, "agent": t.speaker},
                category="dialogue",
                metadata={"dia_id": t.dia_id, "session": t.session, "conversation": t.conversation},
                author_id=t.speaker,
                session_id=sessions[(project, t.conversation, t.session)],
                created_at=t.created_at,
            )
        )
    return items


def close_sessions(maas: MaaS, sessions: Mapping[Any, str]) -> None:
    """Close every session of ``sessions``."""
    for session_id in sessions.values():
        maas.sessions.close(session_id)


# --- 3. ingestion throughput (also builds the quality store) -------------------------------------------
def _conversation(t: Turn) -> str:
    return t.conversation


def measure_ingestion(turns: Sequence[Turn], batch: int, folder: Path, quiet: bool) -> Result:
    """Write ``turns`` with ``remember_many`` in batches of ``batch`` (real model) into a fresh
    store at ``folder``; before or after each batch (alternating), the bare model encodes the same
    texts with the same batch size. Sessions are opened before the timed loop."""
    maas = open_maas(folder, LocalMiniLMEmbeddings())
    try:
        sessions = open_sessions(maas, turns, _conversation, ORG)
        items = memory_inputs(turns, sessions, _conversation, ORG)
        maas_ns: list[int] = []
        bare_ns: list[int] = []
        starts = range(0, len(items), batch)
        clock = time.perf_counter_ns
        for n, start in enumerate(progress(starts, len(starts), f"ingest, batches of {batch}", quiet)):
            chunk, texts = items[start : start + batch], [t.text for t in turns[start : start + batch]]
            for step in ("bare", "maas") if n % 2 == 0 else ("maas", "bare"):
                t0 = clock()
                if step == "bare":
                    encode(texts, batch)
                else:
                    maas.memories.remember_many(chunk)
                (bare_ns if step == "bare" else maas_ns).append(clock() - t0)
        close_sessions(maas, sessions)
        stored = maas.status()["counts"]["memories"]
    finally:
        maas.close()
    return _throughput(len(items), batch, maas_ns, bare_ns, stored)


def _throughput(texts: int, batch: int, maas_ns: Sequence[int], bare_ns: Sequence[int], stored: int) -> Result:
    maas_s, bare_s = sum(maas_ns) / 1e9, sum(bare_ns) / 1e9
    return {
        "batch": batch,
        "texts": texts,
        "stored": stored,
        "maas_s": round(maas_s, 3),
        "bare_s": round(bare_s, 3),
        "maas_texts_per_s": round(texts / maas_s, 1),
        "bare_texts_per_s": round(texts / bare_s, 1),
        "ratio": round(maas_s / bare_s, 3),
        "passed": maas_s / bare_s <= TARGET_INGEST_RATIO,
    }


def embed_corpus(turns: Sequence[Turn], questions: Sequence[Question]) -> tuple[dict[str, list[float]], dict[str, list[float]], Result]:
    """Embed every turn text (``"Speaker: content"``) and question once with the bare model
    (whole corpus in one ``encode`` call, batch 64); return the caches and the speed."""
    texts = list(dict.fromkeys(t.text for t in turns))
    t0 = time.perf_counter()
    vectors = encode(texts, 64)
    seconds = time.perf_counter() - t0
    asked = list(dict.fromkeys(q.text for q in questions))
    qvectors = encode(asked, 64)
    facts = {"texts": len(texts), "seconds": round(seconds, 3), "texts_per_s": round(len(texts) / seconds, 1)}
    return dict(zip(texts, vectors.tolist(), strict=True)), dict(zip(asked, qvectors.tolist(), strict=True)), facts


# --- 1. retrieval quality -----------------------------------------------------------------------------
def recall_at(ranked: Sequence[str], evidence: Sequence[str], k: int) -> float:
    """Share of ``evidence`` found in the first ``k`` of ``ranked``."""
    top = set(ranked[:k])
    return sum(e in top for e in evidence) / len(evidence)


def score(questions: Sequence[Question], ranked: Sequence[Sequence[str]]) -> Result:
    """Recall@5, recall@10 and hit@10 (percent), overall and per category."""

    def cell(pairs: list[tuple[Question, Sequence[str]]]) -> Result:
        return {
            "n": len(pairs),
            "r5": round(100 * statistics.fmean(recall_at(r, q.evidence, 5) for q, r in pairs), 2),
            "r10": round(100 * statistics.fmean(recall_at(r, q.evidence, 10) for q, r in pairs), 2),
            "hit10": round(100 * statistics.fmean(any(e in r[:10] for e in q.evidence) for q, r in pairs), 2),
        }

    pairs = list(zip(questions, ranked, strict=True))
    by_cat = {c: [p for p in pairs if p[0].category == c] for c in sorted({q.category for q in questions})}
    return {**cell(pairs), "categories": {str(c): cell(p) for c, p in by_cat.items() if p}}


def maas_rankings(
    folder: Path, questions: Sequence[Question], embeddings: Embeddings, ranking: RankingWeights, desc: str, quiet: bool
) -> list[list[str]]:
    """Recall (top 10) every question at its conversation's project scope; return dia_ids."""
    ranked = []
    with open_maas(folder, embeddings, ranking=ranking) as maas:
        for q in progress(questions, len(questions), desc, quiet):
            hits = maas.memories.recall(q.text, scope={"org": ORG, "project": q.conversation}, top_k=10)
            ranked.append([h.memory.metadata["dia_id"] for h in hits])
    return ranked


class Corpus:
    """The turns and their vectors, grouped by conversation, for the baselines."""

    def __init__(self, turns: Sequence[Turn], vectors: Mapping[str, list[float]]) -> None:
        self.turns = list(turns)
        self.by_conv: dict[str, list[Turn]] = defaultdict(list)
        for t in turns:
            self.by_conv[t.conversation].append(t)
        self.matrix = {c: np.asarray([vectors[t.text] for t in ts], dtype=np.float32) for c, ts in self.by_conv.items()}

    def cosine(self, conversation: str, qvec: Sequence[float]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Cosine of the query with every turn of the conversation (vectors are unit length)."""
        result: np.ndarray[Any, np.dtype[np.float32]] = self.matrix[conversation] @ np.asarray(qvec, dtype=np.float32)
        return result


def dense_rankings(corpus: Corpus, questions: Sequence[Question], qvecs: Mapping[str, list[float]], k: int = 10) -> list[list[str]]:
    """Baseline (b): exact cosine over the conversation's turns, top ``k``."""
    ranked = []
    for q in questions:
        sims = corpus.cosine(q.conversation, qvecs[q.text])
        order = np.argsort(-sims, kind="stable")[:k]
        ranked.append([corpus.by_conv[q.conversation][i].dia_id for i in order])
    return ranked


def fts_terms(text: str) -> list[str]:
    """Query terms of the lexical baseline: lowercase ``[a-z0-9]+`` words, stop words removed, once."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return list(dict.fromkeys(w for w in words if w not in STOP_WORDS))


class FtsIndex:
    """Baseline (c): SQLite FTS5 (``porter unicode61``) over all turns, ``bm25()``, filtered to
    the question's conversation, OR of the query terms."""

    def __init__(self, turns: Sequence[Turn]) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute(
            "CREATE VIRTUAL TABLE turns USING fts5(text, conversation UNINDEXED, dia_id UNINDEXED, "
            "tokenize = 'porter unicode61')"
        )
        self.db.executemany("INSERT INTO turns VALUES (?, ?, ?)", [(t.text, t.conversation, t.dia_id) for t in turns])

    def search(self, conversation: str, text: str, k: int) -> list[tuple[str, float]]:
        """``(dia_id, -bm25)`` of the best ``k`` turns of ``conversation`` matching any term."""
        terms = fts_terms(text)
        if not terms:
            return []
        query = " OR ".join(f'"{t}"' for t in terms)
        rows = self.db.execute(
            "SELECT dia_id, -bm25(turns) FROM turns WHERE turns MATCH ? AND conversation = ? ORDER BY bm25(turns) LIMIT ?",
            (query, conversation, k),
        ).fetchall()
        return [(str(r[0]), float(r[1])) for r in rows]


def fts_rankings(index: FtsIndex, questions: Sequence[Question], k: int = 10) -> list[list[str]]:
    """Baseline (c) rankings."""
    return [[d for d, _ in index.search(q.conversation, q.text, k)] for q in questions]


def langgraph_rankings(turns: Sequence[Turn], questions: Sequence[Question], embeddings: CachedEmbeddings) -> list[list[str]]:
    """Peer (d): LangGraph ``InMemoryStore(index={"embed": model, "dims": 384, "fields": ["text"]})``,
    one namespace per conversation, ``search(namespace, query=question, limit=10)``."""
    from langgraph.store.base import PutOp
    from langgraph.store.memory import InMemoryStore

    store = InMemoryStore(index={"embed": embeddings, "dims": embeddings.dimension, "fields": ["text"]})
    ops = [PutOp((ORG, t.conversation), t.dia_id, {"text": t.text, "speaker": t.speaker}) for t in turns]
    for start in range(0, len(ops), 500):
        store.batch(ops[start : start + 500])
    return [[item.key for item in store.search((ORG, q.conversation), query=q.text, limit=10)] for q in questions]


def research_rankings(
    corpus: Corpus,
    fts: FtsIndex,
    questions: Sequence[Question],
    qvecs: Mapping[str, list[float]],
    *,
    pool: int | None,
    context: float = 0.3,
    lexical: float = 0.5,
) -> list[list[str]]:
    """The research formula computed outside MaaS (for the investigation): base = (1-lexical) ·
    minmax(cos) + lexical · minmax(bm25), plus ``context`` × the better base of the previous and
    next turn of the same session. ``pool=None`` scores every turn of the conversation (as the
    research did); ``pool=50`` only the top 50 dense ∪ top 50 lexical (as MaaS does), with
    min-max and neighbours taken inside that pool."""
    ranked = []
    for q in questions:
        turns = corpus.by_conv[q.conversation]
        sims = corpus.cosine(q.conversation, qvecs[q.text]).astype(np.float64)
        lex_hits = dict(fts.search(q.conversation, q.text, pool or len(turns)))
        keep = np.arange(len(turns))
        if pool is not None:
            dense_top = set(np.argsort(-sims, kind="stable")[:pool].tolist())
            keep = np.asarray(sorted(dense_top | {i for i, t in enumerate(turns) if t.dia_id in lex_hits}))
        ranked.append(_research_order(turns, keep, sims, lex_hits, context, lexical))
    return ranked


def _minmax(values: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
    span = float(values.max() - values.min()) if values.size else 0.0
    if span == 0:
        return (values > 0).astype(np.float64)
    result: np.ndarray[Any, np.dtype[np.float64]] = (values - values.min()) / span
    return result


def _research_order(
    turns: Sequence[Turn],
    keep: np.ndarray[Any, Any],
    sims: np.ndarray[Any, np.dtype[np.float64]],
    lex_hits: Mapping[str, float],
    context: float,
    lexical: float,
) -> list[str]:
    lex = np.asarray([lex_hits.get(turns[i].dia_id, 0.0) for i in keep])
    lex_norm = np.zeros(len(keep))
    matched = lex > 0
    if matched.any():
        lex_norm[matched] = _minmax(lex[matched])
    base = dict(zip(keep.tolist(), ((1 - lexical) * _minmax(sims[keep]) + lexical * lex_norm).tolist(), strict=True))
    scores = {}
    for i, value in base.items():
        near = [base[j] for j in (i - 1, i + 1) if j in base and turns[j].session == turns[i].session]
        scores[i] = value + context * max(near, default=0.0)
    best = sorted(scores, key=lambda i: (-scores[i], i))[:10]
    return [turns[i].dia_id for i in best]


def candidate_coverage(corpus: Corpus, fts: FtsIndex, questions: Sequence[Question], qvecs: Mapping[str, list[float]], pool: int) -> float:
    """Percent of evidence ids inside top ``pool`` dense ∪ top ``pool`` lexical (MaaS's
    candidate set for ``top_k=10``: what no re-ranking of it can exceed)."""
    shares = []
    for q in questions:
        turns = corpus.by_conv[q.conversation]
        sims = corpus.cosine(q.conversation, qvecs[q.text])
        found = {turns[i].dia_id for i in np.argsort(-sims, kind="stable")[:pool]}
        found |= {d for d, _ in fts.search(q.conversation, q.text, pool)}
        shares.append(sum(e in found for e in q.evidence) / len(q.evidence))
    return round(100 * statistics.fmean(shares), 2)


# Alternative ranking weights tried through MaaS.open(ranking=...) (investigation).
ALTERNATIVES: dict[str, tuple[str, RankingWeights]] = {
    "alt_ctx05": ("context 0.5", RankingWeights(context=0.5, recency=0.0)),
    "alt_lex06": ("semantic 0.4, lexical 0.6, context 0.3", RankingWeights(semantic=0.4, lexical=0.6, recency=0.0)),
    "alt_lex06_ctx05": (
        "semantic 0.4, lexical 0.6, context 0.5",
        RankingWeights(semantic=0.4, lexical=0.6, context=0.5, recency=0.0),
    ),
}


def measure_quality(
    folder: Path,
    turns: Sequence[Turn],
    questions: Sequence[Question],
    docs: Mapping[str, list[float]],
    qvecs: Mapping[str, list[float]],
    quiet: bool,
    alternatives: bool,
) -> Result:
    """Every method's rankings on every question, scored; plus the investigation figures."""
    cached = CachedEmbeddings(docs, qvecs)
    methods: dict[str, Result] = {}
    for key, (label, weights) in ({**RANKINGS, **(ALTERNATIVES if alternatives else {})}).items():
        ranked = maas_rankings(folder, questions, cached, weights, key, quiet)
        methods[key] = {"label": label, "weights": asdict(weights), **score(questions, ranked)}
    corpus, fts = Corpus(turns, docs), FtsIndex(turns)
    methods["dense"] = {"label": BASELINES["dense"], **score(questions, dense_rankings(corpus, questions, qvecs))}
    methods["fts5"] = {"label": BASELINES["fts5"], **score(questions, fts_rankings(fts, questions))}
    try:
        ranked = langgraph_rankings(turns, questions, cached)
        methods["langgraph"] = {"label": BASELINES["langgraph"], **score(questions, ranked)}
    except Exception as exc:  # the peer is optional; say why it is missing
        methods["langgraph"] = {"label": BASELINES["langgraph"], "error": f"{type(exc).__name__}: {exc}"}
    research = {
        "research_all": ("research formula, every turn scored (offline)", None),
        "research_pool50": ("research formula, MaaS's candidate pool (offline)", 50),
    }
    for key, (label, pool) in research.items():
        ranked = research_rankings(corpus, fts, questions, qvecs, pool=pool)
        methods[key] = {"label": label, **score(questions, ranked)}
    coverage = {str(p): candidate_coverage(corpus, fts, questions, qvecs, p) for p in (10, 50, 100)}
    return {"methods": methods, "candidate_coverage_r": coverage, "document_cache_misses": cached.misses}


def judge_quality(quality: Result) -> Result:
    """MaaS R@10 against the best baseline (dense, FTS5, LangGraph)."""
    methods = quality["methods"]
    baselines = {k: methods[k]["r10"] for k in BASELINES if "r10" in methods.get(k, {})}
    best = max(baselines, key=lambda k: baselines[k])
    margin = methods["maas"]["r10"] - baselines[best]
    return {"best_baseline": best, "best_baseline_r10": baselines[best], "maas_r10": methods["maas"]["r10"],
            "margin_points": round(margin, 2), "passed": margin >= TARGET_QUALITY_POINTS}


# --- 2. recall latency -----------------------------------------------------------------------------------
PIECES = ("embed", "index", "sql", "sql_lexical", "sql_rows", "candidates", "rank")


class PieceTimer:
    """Accumulates the time of the calls a recall makes, per piece, and the result sizes."""

    def __init__(self) -> None:
        self.ns: dict[str, int] = defaultdict(int)
        self.sizes: dict[str, int] = {}

    def wrap(self, piece: str, fn: Callable[..., Any], *, size: bool = False) -> Callable[..., Any]:
        """``fn`` that adds its duration to ``piece`` (and records ``len(result)``)."""
        clock = time.perf_counter_ns

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                result = fn(*args, **kwargs)
            finally:
                self.ns[piece] += clock() - start
            if size:
                self.sizes[piece] = len(result)
            return result

        return timed

    def take(self) -> tuple[dict[str, int], dict[str, int]]:
        """The pieces and sizes since the last call; resets them."""
        found = (dict(self.ns), dict(self.sizes))
        self.ns.clear()
        self.sizes.clear()
        return found


@contextlib.contextmanager
def timed_pieces(maas: MaaS, timer: PieceTimer) -> Iterator[None]:
    """Wrap, for the duration, what ``MemoryService.recall`` calls: the query embedding, the
    vector index query, the read transaction (and inside it the full-text search and the row
    fetch), the per-candidate scoring and the ranking."""
    embedder = maas.memories.embedder
    index = maas.memories.sync.index
    patches = [
        mock.patch.object(embedder, "embed_query", timer.wrap("embed", embedder.embed_query)),
        mock.patch.object(index, "query", timer.wrap("index", index.query, size=True)),
        mock.patch.object(maas.runtime, "read", timer.wrap("sql", maas.runtime.read)),
        mock.patch.object(SqlMemoryOps, "lexical_search", timer.wrap("sql_lexical", SqlMemoryOps.lexical_search, size=True)),
        mock.patch.object(SqlMemoryOps, "get_memories", timer.wrap("sql_rows", SqlMemoryOps.get_memories, size=True)),
        mock.patch.object(MemoryService, "_candidate", staticmethod(timer.wrap("candidates", MemoryService._candidate))),
        mock.patch.object(memories_module, "rank", timer.wrap("rank", memories_module.rank)),
    ]
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        yield


def summarize(samples: Sequence[Result]) -> Result:
    """p50/p95/p99/mean of the totals (ms), p50/mean of each piece, mean result sizes."""
    totals = sorted(s["total"] / 1e6 for s in samples)
    pieces = {}
    for piece in (*PIECES, "other"):
        values = sorted(s["pieces"].get(piece, 0) / 1e6 for s in samples)
        pieces[piece] = {"p50_ms": round(percentile(values, 50), 3), "mean_ms": round(statistics.fmean(values), 3)}
    sizes = {k: round(statistics.fmean(s["sizes"].get(k, 0) for s in samples), 1) for k in ("index", "sql_lexical", "sql_rows")}
    return {
        "n": len(totals),
        "p50_ms": round(percentile(totals, 50), 3),
        "p95_ms": round(percentile(totals, 95), 3),
        "p99_ms": round(percentile(totals, 99), 3),
        "mean_ms": round(statistics.fmean(totals), 3),
        "pieces": pieces,
        "mean_sizes": sizes,
    }


def _one_recall(maas: MaaS, timer: PieceTimer, query: str, scope: Mapping[str, str]) -> Result:
    timer.take()
    start = time.perf_counter_ns()
    hits = maas.memories.recall(query, scope=scope, top_k=10)
    total = time.perf_counter_ns() - start
    pieces, sizes = timer.take()
    named = sum(pieces.get(p, 0) for p in ("embed", "index", "sql", "candidates", "rank"))
    pieces["other"] = max(0, total - named)
    if not hits:
        raise RuntimeError(f"recall returned nothing at {scope}")
    return {"total": total, "pieces": pieces, "sizes": sizes}


def latency_cells(maas: MaaS, questions: Sequence[Question], projects: int, sizes: Sizes, desc: str, quiet: bool) -> Result:
    """Recall latency at one project's scope and at the org scope, queries alternating."""
    scopes = {
        "project": lambda i: {"org": LATENCY_ORG, "project": f"p{i % projects:03d}"},
        "org": lambda i: {"org": LATENCY_ORG},
    }
    timer = PieceTimer()
    samples: dict[str, list[Result]] = {name: [] for name in scopes}
    with timed_pieces(maas, timer):
        for i in range(sizes.latency_warmup):
            for scope_of in scopes.values():
                _one_recall(maas, timer, questions[-1 - i % len(questions)].text, scope_of(i))
        gc.collect()
        for i in progress(range(sizes.latency_queries), sizes.latency_queries, desc, quiet):
            for name, scope_of in scopes.items():
                samples[name].append(_one_recall(maas, timer, questions[i % len(questions)].text, scope_of(i)))
    return {name: summarize(found) for name, found in samples.items()}


class LatencyStore:
    """The latency store: the turns replicated over projects ``p000``, ``p001``, ... of org
    ``bench`` (agents = speakers), written through ``remember_many`` with cached vectors."""

    def __init__(self, folder: Path, turns: Sequence[Turn], embeddings: CachedEmbeddings, batch: int) -> None:
        self.folder, self.turns, self.embeddings, self.batch = folder, list(turns), embeddings, batch
        self.written = 0
        self.sessions: dict[Any, str] = {}
        self.fill_s = 0.0

    def project(self, position: int) -> str:
        """The project of the memory written ``position``-th."""
        return f"p{position // len(self.turns):03d}"

    def fill(self, maas: MaaS, size: int, quiet: bool) -> None:
        """Write memories until the store holds ``size``."""
        starts = range(self.written, size, self.batch)
        for start in progress(starts, len(starts), f"fill to {size:,}", quiet):
            positions = range(start, min(start + self.batch, size))
            pairs = [(self.turns[p % len(self.turns)], self.project(p)) for p in positions]
            for t, project in pairs:
                key = (project, t.conversation, t.session)
                if key not in self.sessions:
                    self.sessions[key] = maas.sessions.open({"org": LATENCY_ORG, "project": project}).session_id
            items = [memory_inputs([t], self.sessions, lambda _t, p=project: p, LATENCY_ORG)[0] for t, project in pairs]
            t0 = time.perf_counter()
            maas.memories.remember_many(items)
            self.fill_s += time.perf_counter() - t0
        self.written = max(self.written, size)


def measure_latency(
    folder: Path, turns: Sequence[Turn], questions: Sequence[Question], docs: Mapping[str, list[float]], sizes: Sizes, quiet: bool
) -> Result:
    """Fill the latency store to each size and measure recall on embedded Chroma (and brute force)."""
    cached = CachedEmbeddings(docs)  # documents from the cache, queries embedded for real
    store = LatencyStore(folder, turns, cached, sizes.fill_batch)
    results: Result = {}
    for size in sizes.latency_sizes:
        with open_maas(folder, cached, "chroma") as maas:
            store.fill(maas, size, quiet)
            projects = max(1, size // len(turns))
            cell = {"memories": maas.status()["counts"]["memories"], "full_projects": projects,
                    "visible_project": min(size, len(turns)), "visible_org": size,
                    "fill_s": round(store.fill_s, 1), "fill_per_s": round(store.written / store.fill_s, 1)}
            cell["chroma"] = latency_cells(maas, questions, projects, sizes, f"recall at {size:,}, chroma", quiet)
        if sizes.bruteforce:
            with open_maas(folder, cached, "bruteforce") as maas:
                t0 = time.perf_counter()
                maas.reindex()
                cell["bruteforce_reindex_s"] = round(time.perf_counter() - t0, 2)
                cell["bruteforce"] = latency_cells(maas, questions, projects, sizes, f"recall at {size:,}, brute force", quiet)
        results[str(size)] = cell
    results["document_cache_misses"] = cached.misses
    return results


def latency_target(size: int) -> float:
    """p95 target (ms) for a store of ``size`` memories: 50 up to 10,000, 100 above."""
    return TARGET_P95_MS[10_000] if size <= 10_000 else TARGET_P95_MS[100_000]


def judge_latency(latency: Result) -> list[Result]:
    """Pass/fail of every (size, index, scope) cell against the size's p95 target."""
    verdicts = []
    for size, cell in latency.items():
        if not size.isdigit():
            continue
        for index in ("chroma", "bruteforce"):
            for scope, found in cell.get(index, {}).items():
                target = latency_target(int(size))
                verdicts.append({"size": int(size), "index": index, "scope": scope, "p95_ms": found["p95_ms"],
                                 "target_ms": target, "passed": found["p95_ms"] <= target})
    return verdicts
