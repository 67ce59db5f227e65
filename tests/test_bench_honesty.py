"""The memory benchmark measures what it says (issue 19, point 9).

Fast checks on tiny data with a cheap embedding: a timer whose target is gone stops the
benchmark instead of reporting 0, every timer finds its target in this MaaS and records time,
the LangGraph ``InMemoryStore`` baseline survives identical texts without being helped or hurt,
the rank-fusion baseline adds reciprocal ranks, and categories 1-4 are scored apart from 5.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from benchmarks import memory_bench as mb
from maas_langchain import MaaS
from maas_langchain.core.memories import MemoryInput, MemoryService
from maas_langchain.embeddings import HashingEmbeddings


class _Owner:
    def present(self, x: int) -> int:
        return x + 1

    @staticmethod
    def static(x: int) -> int:
        return 2 * x


def test_patch_timed_raises_on_a_missing_name() -> None:
    timer = mb.PieceTimer()
    with contextlib.ExitStack() as stack, pytest.raises(mb.MissingPatchTargetError, match="_candidate"):
        mb.patch_timed(stack, MemoryService, "_candidate", timer, "candidates")  # the name the old bench used
    with contextlib.ExitStack() as stack, pytest.raises(AttributeError, match="no attribute 'gone'"):
        mb.patch_timed(stack, _Owner, "gone", timer, "x")
    with contextlib.ExitStack() as stack, pytest.raises(mb.MissingPatchTargetError):
        mb.patch_timed(stack, None, "anything", timer, "x")


def test_patch_timed_times_methods_and_static_methods_then_restores_them() -> None:
    timer = mb.PieceTimer()
    original = _Owner.__dict__["static"]
    with contextlib.ExitStack() as stack:
        mb.patch_timed(stack, _Owner, "present", timer, "rank")
        mb.patch_timed(stack, _Owner, "static", timer, "explain")
        assert _Owner().present(1) == 2
        assert _Owner.static(3) == 6 and _Owner().static(3) == 6
    assert _Owner.__dict__["static"] is original
    assert timer.calls["rank"] == 1 and timer.calls["explain"] == 2
    ns, _ = timer.take()
    assert ns["rank"] > 0 and ns["explain"] > 0


def test_piece_timer_gives_each_piece_its_own_time() -> None:
    timer = mb.PieceTimer()
    rows = timer.wrap("rows", lambda: [1, 2, 3], size=True)
    inner = timer.wrap("index", lambda: [0])
    nearest = timer.wrap("nearest", lambda: inner(), size=True)
    gather = timer.wrap("candidates", lambda: (nearest(), rows()))
    order = timer.wrap("order", lambda: rows())  # rows read inside another piece stay in it
    gather()
    order()
    ns, sizes = timer.take()
    assert set(ns) == {"candidates", "nearest", "rows", "order", "index"}
    assert timer.calls == {}
    assert sizes == {"rows": 3, "nearest": 1}  # the rows read under "order" are not counted as "rows"
    assert ns["index"] <= ns["nearest"]  # a part of "nearest", inclusive


def _tiny_store(folder: Path) -> MaaS:
    maas = MaaS.open(folder, embeddings=HashingEmbeddings(), vectors="bruteforce", sweep_interval=None)
    session = maas.sessions.open({"org": "o", "project": "p"}).session_id
    texts = ["Caroline: I went to a support group.", "Melanie: That sounds brave.", "Caroline: Bye!"]
    maas.memories.remember_many(
        [MemoryInput(t, {"org": "o", "project": "p", "agent": t.split(":")[0]}, session_id=session) for t in texts]
    )
    return maas


def test_every_recall_and_write_timer_finds_its_target_in_this_maas(tmp_path: Path) -> None:
    with _tiny_store(tmp_path / "store") as maas:
        for owner, name, piece, _ in mb.recall_targets(maas):
            assert owner is not None and hasattr(owner, name), (piece, name)
        timer = mb.PieceTimer()
        with mb.timed_pieces(maas, timer):
            sample = mb._one_recall(maas, timer, "support group", {"org": "o", "project": "p"})
        for piece in ("embed", "nearest", "lexical", "rows", "candidates", "rank", "order", "explain"):
            assert sample["pieces"].get(piece, 0) > 0, piece
        assert sum(sample["pieces"][p] for p in (*mb.PIECES, "other")) == sample["total"]

        timer = mb.PieceTimer()
        session = maas.sessions.open({"org": "o", "project": "p"}).session_id
        with mb.timed_writes(maas, timer):
            maas.memories.remember_many([MemoryInput("Melanie: see you", {"org": "o"}, session_id=session)])
        ns, _ = timer.take()
        assert {"validate_and_screen", "embed", "write_transaction", "index_upsert"} <= set(ns)


def _length_embed(texts: Sequence[str]) -> list[list[float]]:
    return [[float(len(t)), float(t.count("a")), 1.0] for t in texts]


def test_duplicate_free_batches_never_repeat_a_text_and_keep_the_order() -> None:
    texts = ["a", "b", "a", "c", "c", "d", "e"]
    batches = mb.duplicate_free_batches(texts, 3, str)
    assert [t for b in batches for t in b] == texts
    assert all(len(b) <= 3 and len(set(b)) == len(b) for b in batches)
    assert batches == [["a", "b"], ["a", "c"], ["c", "d", "e"]]


def test_langgraph_baseline_survives_identical_texts_with_the_vectors_a_fixed_store_holds() -> None:
    from langgraph.store.base import PutOp
    from langgraph.store.memory import InMemoryStore

    error = mb.langgraph_duplicate_bug()  # the upstream bug, while it lasts
    assert error is None or "does not match number of indices" in error

    turns = [
        mb.Turn("conv-1", 1, i, f"D1:{i + 1}", speaker, content, None)
        for i, (speaker, content) in enumerate(
            [("Caroline", "Bye!"), ("Melanie", "a banana"), ("Caroline", "Bye!"), ("Melanie", "cat")]
        )
    ]
    questions = [mb.Question("conv-1", "Bye!", 4, ("D1:1",)), mb.Question("conv-1", "a banana", 5, ("D1:2",))]

    class Fake(Embeddings):
        dimension = 3

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return _length_embed(texts)

        def embed_query(self, text: str) -> list[float]:
            return _length_embed([text])[0]

    ranked, facts = mb.langgraph_rankings(turns, questions, Fake(), batch=500)
    assert facts["duplicate_texts"] == 1 and facts["batches"] == 2 and facts["batches_without_workaround"] == 1
    assert facts["upstream_error"] == error
    assert set(ranked[0][:2]) == {"D1:1", "D1:3"}  # both copies stored, each with its own text's vector
    assert ranked[1][0] == "D1:2"

    # the same items put one by one (the public put: no batch holds a text twice) rank the same
    store = InMemoryStore(index={"embed": Fake(), "dims": 3, "fields": ["text"]})
    for t in turns:
        store.batch([PutOp(("locomo", t.conversation), t.dia_id, {"text": t.text, "speaker": t.speaker})])
    alone = [[i.key for i in store.search(("locomo", q.conversation), query=q.text, limit=10)] for q in questions]
    assert alone == ranked


def test_rrf_sums_reciprocal_ranks_of_dense_and_fts5_with_k_60() -> None:
    turns = [
        mb.Turn("c", 1, 0, "D1:1", "A", "the red car is fast", None),
        mb.Turn("c", 1, 1, "D1:2", "B", "I like blue bikes", None),
        mb.Turn("c", 1, 2, "D1:3", "A", "nothing here", None),
    ]
    vectors = {turns[0].text: [0.0, 1.0], turns[1].text: [1.0, 0.0], turns[2].text: [0.8, 0.6]}
    corpus, fts = mb.Corpus(turns, vectors), mb.FtsIndex(turns)
    question = mb.Question("c", "red car", 1, ("D1:1",))
    ranked = mb.rrf_rankings(corpus, fts, [question], {"red car": [1.0, 0.0]})
    # dense: D1:2, D1:3, D1:1; FTS5: D1:1 only -> D1:1 = 1/63 + 1/61, D1:2 = 1/61, D1:3 = 1/62
    assert ranked == [["D1:1", "D1:2", "D1:3"]]
    assert mb.RRF_K == 60


def test_score_reports_categories_1_to_4_apart_from_5() -> None:
    questions = [
        mb.Question("c", "q1", 1, ("a",)),
        mb.Question("c", "q4", 4, ("b",)),
        mb.Question("c", "q5", 5, ("c",)),
    ]
    result = mb.score(questions, [["a"], ["x"], ["c"]])
    groups = result["category_groups"]
    assert groups["1-4"]["n"] == 2 and groups["1-4"]["r10"] == 0.5
    assert groups["5"]["n"] == 1 and groups["5"]["r10"] == 1.0
    assert set(result["categories"]) == {"1", "4", "5"}
