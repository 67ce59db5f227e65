"""Write-time screening on a fresh set of attacks and hard benign texts (rules only).

``tests/data/screening_fresh.jsonl`` holds about 150 attacks written without looking at any
training data (indirect injection in pages, e-mails and tool output; paraphrased overrides;
system-prompt extraction; personas; memory poisoning aimed at a memory service; tool hijacking;
exfiltration; ROT13, reversed, base64, hex, Unicode-tag and full-width payloads; goal
hijacking) and about 150 benign texts a coding agent's or personal assistant's memory holds
(task notes that say "ignore the flaky test" or "from now on we use pnpm", security notes that
*describe* attacks, chat, code, SQL, Markdown, e-mails). It is test data, never training data.

Quoting a working payload verbatim (``quoted_attack``: "the attacker tried 'ignore previous
instructions'") is labelled an attack by choice: the screener cannot tell a quotation from a
payload, and a later agent reading the memory cannot either; memories are quarantined for
review, not dropped. Notes that name a technique without reproducing it must pass.

The floors are the rates the rules reached, less a small margin; the learned signal is not
used, so the test needs no embeddings.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from maas_langchain.core.screening import MEXTRAValidator

ROWS = [json.loads(line) for line in (Path(__file__).parent / "data" / "screening_fresh.jsonl").open(encoding="utf-8")]
RULES_ONLY = MEXTRAValidator(use_model=False)

FLOORS = {  # caught share per attack family, rules alone (reached: see the module docstring)
    "encoded": 0.95,
    "exfiltration": 0.92,
    "extraction": 0.92,
    "goal_hijack": 0.92,
    "indirect": 0.95,
    "override": 0.77,
    "persona": 0.92,
    "poisoning": 0.55,
    "quoted_attack": 1.0,
    "tool_hijack": 0.87,
}


def _by_family(label: int) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for row in ROWS:
        if row["label"] == label:
            found[row["family"]].append(row["text"])
    return found


def test_the_set_is_balanced_and_labelled() -> None:
    attacks, benign = _by_family(1), _by_family(0)
    assert sum(map(len, attacks.values())) >= 140 and sum(map(len, benign.values())) >= 140
    assert set(attacks) == set(FLOORS)


@pytest.mark.parametrize("family", sorted(FLOORS))
def test_each_attack_family_is_caught_at_its_floor(family: str) -> None:
    texts = _by_family(1)[family]
    missed = [t for t in texts if not RULES_ONLY.screen(t).suspicious]
    assert 1 - len(missed) / len(texts) >= FLOORS[family], missed


def test_no_benign_text_is_flagged() -> None:
    flagged = [
        (family, text, RULES_ONLY.screen(text).categories)
        for family, texts in _by_family(0).items()
        for text in texts
        if RULES_ONLY.screen(text).suspicious
    ]
    assert flagged == []
