"""Dict scopes (Spectron's ``{"org": ..., "project": ..., "agent": ...}``) and subset matching.

A query at scope Q sees a memory at scope M when M is a subset of Q (an ancestor, or Q itself:
inherited context) or, for a principal entitled to Q, when Q is a subset of M (a descendant: a
supervisor sees its workers). Siblings — neither subset nor superset — never match.

Scopes are stored as a canonical string (keys in hierarchy order, values percent-escaped), plus
every non-empty subset of it, so both directions are one indexed lookup in SQL and one
``$in`` / ``$contains`` leaf in Chroma.

Example:
    >>> h = ScopeHierarchy()
    >>> h.canon({"project": "alpha", "org": "acme"})
    'org=acme|project=alpha'
    >>> h.visible({"org": "acme", "project": "alpha"}, {"org": "acme"})
    True
    >>> h.visible({"org": "acme", "project": "alpha", "agent": "w2"}, {"org": "acme", "project": "alpha", "agent": "w1"})
    False
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any
from urllib.parse import quote, unquote

from maas_langchain.errors import InvalidInputError

__all__ = ["DEFAULT_SCOPE_KEYS", "ScopeFilter", "ScopeHierarchy"]

DEFAULT_SCOPE_KEYS: tuple[str, ...] = ("org", "team", "project", "user", "agent")
"""The default hierarchy, widest first. ``MaaS.open(scope_keys=...)`` changes it."""

_MAX_VALUE_CHARS = 200


@dataclass(frozen=True)
class ScopeFilter:
    """What a reader at one scope may see, in storage terms.

    Attributes:
        ancestors: Canonical scopes that are subsets of the query scope (itself included).
        descendant_of: The query scope's canonical form when descendants are visible, else None.
    """

    ancestors: tuple[str, ...]
    descendant_of: str | None


class ScopeHierarchy:
    """The configured scope keys and the scope algebra over them.

    Args:
        keys: Allowed keys, widest first (order fixes the canonical form only; visibility is by
            subset, not by position).
    """

    def __init__(self, keys: tuple[str, ...] | list[str] = DEFAULT_SCOPE_KEYS) -> None:
        checked = tuple(keys)
        if not checked or len(set(checked)) != len(checked) or len(checked) > 8:
            raise InvalidInputError("scope_keys must be 1 to 8 distinct names", scope_keys=list(checked))
        for key in checked:
            if not isinstance(key, str) or not key.isidentifier():
                raise InvalidInputError(f"scope key {key!r} must be an identifier", key=str(key))
        self.keys = checked

    def check(self, scope: Any, field: str = "scope") -> dict[str, str]:
        """Return ``scope`` as a validated dict in hierarchy order.

        Raises:
            InvalidInputError: Not a dict, empty, a key outside the hierarchy, or a value that is
                not a non-empty string of at most 200 characters.
        """
        if not isinstance(scope, Mapping):
            raise InvalidInputError(f"{field} must be a dict such as {{'org': 'acme'}}", field=field)
        if not scope:
            raise InvalidInputError(f"{field} must name at least one of {list(self.keys)}", field=field)
        unknown = sorted(str(k) for k in scope if k not in self.keys)
        if unknown:
            raise InvalidInputError(
                f"{field} has keys outside the configured hierarchy {list(self.keys)}: {unknown}",
                field=field,
                unknown=unknown,
            )
        for key, value in scope.items():
            if not isinstance(value, str) or not value.strip() or len(value) > _MAX_VALUE_CHARS:
                raise InvalidInputError(
                    f"{field}[{key!r}] must be a non-empty string of at most {_MAX_VALUE_CHARS} characters",
                    field=field,
                )
        return {k: str(scope[k]) for k in self.keys if k in scope}

    def canon(self, scope: Mapping[str, str]) -> str:
        """The canonical string of a checked scope: ``key=value`` pairs in hierarchy order."""
        return "|".join(f"{k}={quote(scope[k], safe='')}" for k in self.keys if k in scope)

    def parse(self, canonical: str) -> dict[str, str]:
        """Inverse of :meth:`canon`."""
        if not canonical:
            return {}
        pairs = (part.split("=", 1) for part in canonical.split("|"))
        return {k: unquote(v) for k, v in pairs}

    def subsets(self, scope: Mapping[str, str]) -> list[str]:
        """Canonical forms of every non-empty subset of ``scope`` (itself included)."""
        keys = [k for k in self.keys if k in scope]
        return [
            self.canon({k: scope[k] for k in combo})
            for size in range(1, len(keys) + 1)
            for combo in combinations(keys, size)
        ]

    def filter(
        self, scope: Mapping[str, str], *, descendants: bool = True, within: Mapping[str, str] | None = None
    ) -> ScopeFilter:
        """The storage filter for a reader at ``scope``.

        ``within`` (an entitlement such as an agent's own scope) keeps only the ancestors of
        ``scope`` that are comparable with it (its own ancestors or descendants), so a query
        narrowed below the entitlement never reaches a sibling's tree through a partial subset.
        """
        ancestors = self.subsets(scope)
        if within is not None:
            bound = set(within.items())
            ancestors = [c for c in ancestors if _comparable(set(self.parse(c).items()), bound)]
        return ScopeFilter(tuple(ancestors), self.canon(scope) if descendants else None)

    def relation(self, floor: Mapping[str, str], scope: Mapping[str, str]) -> str:
        """How ``scope`` stands to an entitlement ``floor`` (both checked scopes).

        Returns ``"same"``; ``"narrower"`` (every pair of the floor, plus only keys below the
        floor's deepest key); ``"ancestor"`` (a proper subset of the floor's pairs: a wider
        audience the floor belongs to); or ``"outside"`` (a conflicting value, or an extra key at
        or above the floor's deepest level, which would reach a sibling's tree).
        """
        mine, asked = set(floor.items()), set(scope.items())
        if asked == mine:
            return "same"
        if asked < mine:
            return "ancestor"
        if mine < asked:
            deepest = max(self.keys.index(k) for k in floor)
            if all(self.keys.index(k) > deepest for k in scope if k not in floor):
                return "narrower"
        return "outside"

    @staticmethod
    def visible(memory_scope: Mapping[str, str], query_scope: Mapping[str, str], *, descendants: bool = True) -> bool:
        """Reference semantics of :meth:`filter`: ancestor-or-self, or descendant if allowed."""
        if not memory_scope:
            return False
        mem, query = set(memory_scope.items()), set(query_scope.items())
        return mem <= query or (descendants and query <= mem)

    @staticmethod
    def within(scope: Mapping[str, str], floor: Mapping[str, str]) -> bool:
        """True when ``scope`` is at or below ``floor`` (it contains every pair of the floor)."""
        return set(floor.items()) <= set(scope.items())


def _comparable(a: set[tuple[str, str]], b: set[tuple[str, str]]) -> bool:
    return a <= b or b <= a
