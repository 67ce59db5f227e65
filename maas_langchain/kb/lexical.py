"""Lexical matching for identifiers, paths and words, used to re-rank semantic candidates.

A token like ``HandoffManager.accept_handoff`` or ``core/handoffs.py`` yields its parts
(``handoff``, ``manager``, ``accept``, ``handoffs``, ``py``…) *and* its whole forms
(``handoffmanager.accept_handoff``, ``accept_handoff``, ``handoffs.py``), so a query matches a
name exactly or by its words. A trailing plural ``s`` is folded (``handoffs`` ~ ``handoff``).

Example:
    >>> sorted(identifier_terms("HandoffManager.accept_handoff"))[:4]
    ['accept', 'accept_handoff', 'handoff', 'handoffmanager']
    >>> q = QueryTerms.parse("who may accept a handoff")
    >>> q.overlap(identifier_terms("def accept_handoff(self, handoff_id)"))
    (1.0, ['accept', 'handoff'])
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["STOP_WORDS", "QueryTerms", "fold", "identifier_terms"]

STOP_WORDS = frozenset(
    {
        "a", "about", "an", "and", "any", "are", "as", "at", "be", "by", "can", "could", "do", "does", "for", "from",
        "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "may", "me", "might", "must", "my", "no",
        "not", "of", "on", "or", "our", "shall", "should", "so", "than", "that", "the", "their", "them", "then", "there",
        "these", "they", "this", "those", "to", "us", "was", "we", "were", "what", "when", "where", "which", "who",
        "whom", "whose", "why", "will", "with", "would", "you", "your"
    }
)  # fmt: skip

_WORD = re.compile(r"[A-Za-z0-9_]+(?:[./:\-][A-Za-z0-9_]+)*")
_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_SPLIT = re.compile(r"[./:\-_]+")


def fold(term: str) -> str:
    """A term's comparison form: lower case, a plural ``s`` dropped (not ``ss``/``us``/``is``)."""
    term = term.lower()
    if len(term) > 3 and term.endswith("s") and not term.endswith(("ss", "us", "is")):
        return term[:-1]
    return term


def _forms(token: str) -> tuple[list[str], list[str]]:
    """(whole forms, parts) of one token: ``a_b.C`` → wholes ``a_b.c``, ``a_b``, ``c``; parts ``a``, ``b``, ``c``."""
    wholes = {token.lower()}
    segments = [s for s in re.split(r"[./:\-]+", token) if s]
    wholes |= {s.lower() for s in segments}
    parts = [p.lower() for s in _SPLIT.split(token) if s for p in _PART.findall(s)]
    return sorted(wholes), parts


@functools.lru_cache(maxsize=65_536)
def _token_terms(token: str) -> frozenset[str]:
    wholes, parts = _forms(token)
    return frozenset(fold(t) for t in (*wholes, *parts))


def identifier_terms(text: str) -> set[str]:
    """Every term of ``text``, folded: whole tokens, dotted/pathed segments and their word parts."""
    terms: set[str] = set()
    for token in set(_WORD.findall(text)):
        terms |= _token_terms(token)
    return terms


@dataclass(frozen=True)
class QueryTerms:
    """The weighted terms of a query: whole identifiers weigh 2, plain words and parts 1.

    Attributes:
        terms: ``(folded term, weight, shown form)`` without stop words, duplicates dropped.
    """

    terms: tuple[tuple[str, float, str], ...]

    @classmethod
    def parse(cls, query: str) -> QueryTerms:
        """Split a query into weighted terms (stop words and one-letter words dropped)."""
        seen: dict[str, tuple[str, float, str]] = {}
        for token in _WORD.findall(query):
            wholes, parts = _forms(token)
            compound = len(parts) > 1
            for term in wholes:
                if term in STOP_WORDS or len(term) < 2:
                    continue
                weight = 2.0 if compound and term not in parts else 1.0
                seen.setdefault(fold(term), (fold(term), weight, term))
            for part in parts if compound else []:
                if part not in STOP_WORDS and len(part) > 1:
                    seen.setdefault(fold(part), (fold(part), 1.0, part))
        return cls(tuple(seen.values()))

    @property
    def names(self) -> list[str]:
        """Folded terms worth looking up as defined names (longer than 2, at most 16, longest first)."""
        names = {term for term, _, _ in self.terms if len(term) > 2}
        return sorted(names, key=lambda n: (-len(n), n))[:16]

    def overlap(self, document_terms: Iterable[str]) -> tuple[float, list[str]]:
        """Weighted share of the query's terms found in ``document_terms`` and the matched terms."""
        total = sum(weight for _, weight, _ in self.terms)
        if total == 0:
            return 0.0, []
        present = set(document_terms)
        matched = [(term, weight, shown) for term, weight, shown in self.terms if term in present]
        return sum(w for _, w, _ in matched) / total, [shown for _, _, shown in matched]

    def name_match(self, names: Iterable[str]) -> list[str]:
        """Query terms equal to one of ``names`` (folded names defined in a chunk, its file stem)."""
        present = set(names)
        return [shown for term, _, shown in self.terms if term in present and len(term) > 2]
