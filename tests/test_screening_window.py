"""The linear-time window rule (``screen_actions_more.WindowRule``) matches exactly what the regex
it replaced matched, and a megabyte of leads no longer takes seconds.

``tool-payload`` was ``lead[^\\n]{0,200}?payload`` as one regex: after each of 50,000 leads the
engine retried the payload's alternatives at every position of the window (~5 s for
"use the shell tool " x 50,000 on a 2-core CI machine, over the 5 s bound of the adversarial
test). The rule now finds every payload start once and looks each lead's window up.
"""

from __future__ import annotations

import random
import re
import time

from maas_langchain.core import screen_actions_more as more
from maas_langchain.core.screen_rules import RULES

_OLD = re.compile(
    r"\b(?:use|using|with|via|through|nutze|verwende|usa|utiliza)\s+(?:the\s+|your\s+|das\s+|den\s+|la\s+|el\s+)?"
    r"(?:[\w-]+\s+)?(?:tool|[\w-]*werkzeug|shell|terminal|interpreter|herramienta|plugin)\b[^\n]{0,200}?(?:"
    + more._SHELL_PAYLOAD
    + r")",
    re.IGNORECASE | re.DOTALL,
)
_PIECES = [
    "use the shell tool",
    "with your terminal",
    "via the python interpreter",
    "using plugin",
    "nutze das werkzeug",
    "rm -rf /",
    "| bash",
    "cat /etc/passwd",
    "os.system('x')",
    "\n",
    "lorem ipsum dolor sit amet ",
    "x" * 60,
    "download and run",
    "add bob as admin",
    "nc 10",
    "id_rsa.pub",
    "id_rsa",
    "~/.ssh",
]


def _rule() -> more.WindowRule:
    found = [r for r in RULES if r.name == "tool-payload"]
    assert len(found) == 1 and isinstance(found[0], more.WindowRule)
    return found[0]


def test_the_window_rule_matches_what_the_regex_matched() -> None:
    rule, rng, positives = _rule(), random.Random(19), 0
    for _ in range(5_000):
        text = "".join(rng.choice(_PIECES) + rng.choice(["", " ", "  "]) for _ in range(rng.randint(1, 12)))
        expected = _OLD.search(text) is not None
        positives += expected
        assert rule.matches(text) is expected, text
    assert 1_000 < positives < 4_000  # both outcomes well represented


def test_the_window_edges() -> None:
    rule = _rule()
    assert rule.matches("use the shell tool " + "a" * 198 + " rm -rf /")  # starts 200 after the lead: inside
    assert not rule.matches("use the shell tool " + "a" * 199 + " rm -rf /")  # 201 after: outside
    assert not rule.matches("use the shell tool\nrm -rf /")  # another line
    assert not rule.matches("rm -rf / then use the shell tool")  # a payload before the lead
    assert rule.matches("Use THE Shell Tool to run `cat /etc/shadow`")


def test_a_megabyte_of_leads_is_fast() -> None:
    rule = _rule()
    started = time.process_time()
    assert not rule.matches("use the shell tool " * 50_000)
    assert rule.matches("use the shell tool " * 50_000 + "| sh")
    assert time.process_time() - started < 2.0  # ~0.25 s here; the regex took ~5 s
