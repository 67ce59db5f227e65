"""Embeddings: the offline MiniLM default (real model), the hashing fake, describe and batching."""

from __future__ import annotations

import math
import subprocess
import sys
import threading

import pytest
from langchain_core.embeddings import Embeddings

from maas_langchain.embeddings import (
    HashingEmbeddings,
    LocalMiniLMEmbeddings,
    MissingDependencyError,
    describe_embeddings,
    embed_in_batches,
)
from maas_langchain.errors import EmbeddingDimensionError, InvalidInputError, MaaSError, NotSupportedError


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def minilm() -> LocalMiniLMEmbeddings:
    pytest.importorskip("sentence_transformers")
    return LocalMiniLMEmbeddings()


# -- the real model ---------------------------------------------------------------------------


def test_minilm_similar_sentences_score_higher_than_unrelated(minilm: LocalMiniLMEmbeddings) -> None:
    anchor = minilm.embed_query("The handoff was accepted by the target agent.")
    similar, unrelated = minilm.embed_documents(
        ["The receiving agent accepted the task handoff.", "Bananas are rich in potassium and grow in clusters."]
    )
    assert _cos(anchor, similar) > 0.6
    assert _cos(anchor, unrelated) < 0.2
    assert _cos(anchor, similar) > _cos(anchor, unrelated) + 0.4


def test_minilm_is_384_dimensional_unit_length_and_described(minilm: LocalMiniLMEmbeddings) -> None:
    vectors = minilm.embed_documents(["one", "two three", ""])
    assert [len(v) for v in vectors] == [384, 384, 384]
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1.0) < 1e-4 for v in vectors)
    assert describe_embeddings(minilm) == ("all-MiniLM-L6-v2", 384)
    assert minilm.embed_documents([]) == []


def test_minilm_loads_once_and_every_instance_shares_it(minilm: LocalMiniLMEmbeddings) -> None:
    minilm.embed_query("warm up")
    first = LocalMiniLMEmbeddings.shared_model()
    other = LocalMiniLMEmbeddings()
    assert other.embed_query("hello") == pytest.approx(minilm.embed_query("hello"), abs=1e-6)
    assert LocalMiniLMEmbeddings.shared_model() is first and LocalMiniLMEmbeddings.is_loaded()


def test_minilm_async_variants(minilm: LocalMiniLMEmbeddings) -> None:
    import asyncio

    query = asyncio.run(minilm.aembed_query("task handoff"))
    docs = asyncio.run(minilm.aembed_documents(["task handoff"]))
    assert query == pytest.approx(docs[0], abs=1e-6)


@pytest.mark.slow
def test_concurrent_first_use_loads_one_model() -> None:
    """In a fresh process, eight threads embedding at once load the model exactly once."""
    pytest.importorskip("sentence_transformers")
    code = """
import threading, sentence_transformers
from maas_langchain.embeddings import LocalMiniLMEmbeddings
loads = []
real = sentence_transformers.SentenceTransformer
def counting(*a, **kw):
    loads.append(1)
    return real(*a, **kw)
sentence_transformers.SentenceTransformer = counting
out = []
threads = [threading.Thread(target=lambda: out.append(LocalMiniLMEmbeddings().embed_query("x"))) for _ in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
import os
print(len(loads), len(out), os.environ["HF_HUB_OFFLINE"])
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1", "8", "1"]
    assert "Loading weights" not in proc.stderr


def test_importing_the_module_does_not_import_torch() -> None:
    code = "import sys, maas_langchain.embeddings, maas_langchain.kb; print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["False", "False"]


def test_missing_sentence_transformers_names_the_extra() -> None:
    code = """
import sys
sys.modules["sentence_transformers"] = None  # makes the import fail
from maas_langchain.embeddings import LocalMiniLMEmbeddings
try:
    LocalMiniLMEmbeddings().embed_query("x")
except ImportError as exc:
    print(type(exc).__name__, exc.code, exc)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.startswith("MissingDependencyError not_supported")
    assert "maas_langchain[local-embeddings]" in out.stdout and "torch==2.13.0" in out.stdout
    assert issubclass(MissingDependencyError, NotSupportedError) and issubclass(MissingDependencyError, MaaSError)


# -- the hashing fake -------------------------------------------------------------------------


def test_hashing_is_deterministic_across_instances_and_processes() -> None:
    text = "HandoffManager.accept_handoff(handoff_id)"
    emb = HashingEmbeddings(dimension=64)
    assert emb.embed_query(text) == HashingEmbeddings(dimension=64).embed_query(text)
    code = f"from maas_langchain.embeddings import HashingEmbeddings; print(HashingEmbeddings(dimension=64).embed_query({text!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert [round(x, 9) for x in eval(out.stdout)] == [round(x, 9) for x in emb.embed_query(text)]


def test_hashing_shared_words_are_similar_and_vectors_are_unit() -> None:
    emb = HashingEmbeddings()
    a, b, c, empty = emb.embed_documents(["accept the handoff", "accept_handoff", "purple elephants dance", ""])
    assert _cos(a, b) > _cos(a, c) + 0.2
    for v in (a, b, c, empty):
        assert len(v) == 256 and abs(math.sqrt(sum(x * x for x in v)) - 1.0) < 1e-9
    assert describe_embeddings(emb) == ("hashing-256", 256)


@pytest.mark.parametrize("bad", [0, 7, -1, True, 3.5, "64"])
def test_hashing_rejects_bad_dimensions(bad: object) -> None:
    with pytest.raises(InvalidInputError):
        HashingEmbeddings(dimension=bad)  # type: ignore[arg-type]


# -- describe_embeddings and embed_in_batches ---------------------------------------------------


class _Probed(Embeddings):
    """No model attributes: described by class name and one probe."""

    def __init__(self, dimension: int = 5, wrong_at: int | None = None, drop: bool = False) -> None:
        self.dim, self.wrong_at, self.drop, self.calls = dimension, wrong_at, drop, 0
        self.lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        with self.lock:
            self.calls += 1
        out = [[1.0] + [0.0] * (self.dim - 1) for _ in texts]
        if self.wrong_at is not None and self.wrong_at < len(out):
            out[self.wrong_at] = [1.0]
        return out[:-1] if self.drop and out else out

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class _Named(_Probed):
    model = "text-embedding-3-small"
    dimensions = 12


def test_describe_probes_once_per_instance() -> None:
    emb = _Probed(dimension=7)
    assert describe_embeddings(emb) == ("_Probed", 7)
    assert describe_embeddings(emb) == ("_Probed", 7)
    assert emb.calls == 1
    assert describe_embeddings(_Named()) == ("text-embedding-3-small", 12)
    with pytest.raises(InvalidInputError):
        describe_embeddings("not embeddings")  # type: ignore[arg-type]


def test_embed_in_batches_keeps_order_and_reports_progress() -> None:
    emb = HashingEmbeddings(dimension=32)
    texts = [f"text {i}" for i in range(10)]
    seen: list[int] = []
    vectors = embed_in_batches(emb, texts, batch_size=4, on_batch=seen.append)
    assert vectors == emb.embed_documents(texts) and seen == [4, 4, 2]
    assert embed_in_batches(emb, []) == []


def test_embed_in_batches_checks_dimension_and_count() -> None:
    with pytest.raises(EmbeddingDimensionError, match="dimension 1, expected 5"):
        embed_in_batches(_Probed(wrong_at=2), ["a", "b", "c"])
    with pytest.raises(EmbeddingDimensionError, match="2 vectors for 3 texts"):
        embed_in_batches(_Probed(drop=True), ["a", "b", "c"], dimension=5)
    with pytest.raises(EmbeddingDimensionError, match="expected 9"):
        embed_in_batches(HashingEmbeddings(dimension=8), ["a"], dimension=9)
    for bad in (0, -3, True, 2.0):
        with pytest.raises(InvalidInputError):
            embed_in_batches(HashingEmbeddings(), ["a"], batch_size=bad)  # type: ignore[arg-type]
