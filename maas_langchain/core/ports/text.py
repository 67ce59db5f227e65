"""How text becomes full-text terms: the one tokenisation the core's queries and every backend's
full-text index share (a contract, so it lives with the ports).

Example:
    >>> lexical_terms("Where is HandoffManager defined? see src/auth.py")
    ['handoffmanager', 'handoff', 'manager', 'defined', 'see', 'srcauthpy', 'src', 'auth', 'py']
"""

from __future__ import annotations

import re

__all__ = ["STOP_WORDS", "lexical_terms", "search_text"]

_WORD = re.compile(r"[A-Za-z0-9]+(?:[_./:-][A-Za-z0-9]+)*")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_MAX_TERMS = 32
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)


def _parts(token: str) -> list[str]:
    """A compound token's parts: ``check_json`` → check, json; ``HandoffManager`` → handoff, manager."""
    pieces = re.split(r"[_./:-]+", token)
    found: list[str] = []
    for piece in pieces:
        found.extend(m.group(0).lower() for m in _CAMEL.finditer(piece))
    return found


def lexical_terms(text: str) -> list[str]:
    """Query terms: whole identifiers (lowercased) and their parts, stop words removed, unique,
    at most 32, in order of appearance. Only ``[a-z0-9]`` characters, so safe for FTS syntax."""
    terms: list[str] = []
    seen: set[str] = set()
    for match in _WORD.finditer(text):
        token = match.group(0)
        whole = re.sub(r"[^a-z0-9]", "", token.lower())
        for term in [whole, *_parts(token)]:
            if term and term not in seen and term not in STOP_WORDS:
                seen.add(term)
                terms.append(term)
    return terms[:_MAX_TERMS]


def search_text(content: str, speaker: str | None = None) -> str:
    """The text the full-text index and the embedding see: ``"speaker: content"`` plus the parts
    of compound identifiers (so ``HandoffManager`` is found by "handoff manager" and vice versa)."""
    head = f"{speaker}: {content}" if speaker else content
    extra: list[str] = []
    for match in _WORD.finditer(content):
        token = match.group(0)
        parts = _parts(token)
        if len(parts) > 1:
            extra.append(re.sub(r"[^a-z0-9]", "", token.lower()))
            extra.extend(parts)
    return head if not extra else f"{head}\n{' '.join(dict.fromkeys(extra))}"
