"""Dict scopes (Spectron's ``{"org": ..., "project": ..., "agent": ...}``) and their order.

The hierarchy's keys are ordered, widest first. Scope A is an *ancestor* of scope B only if A is a
prefix of B in hierarchy order: B holds every pair of A, and every key B has beyond A lies below
A's deepest key. A query at scope Q sees a memory at scope M when M is a prefix of Q (inherited
context, Q itself included) or, with descendants, when Q is a prefix of M (a supervisor sees its
workers). Siblings never match, and neither do scopes that merely share some pairs: principals
whose scopes differ at a key see each other's memories only when the memory stops above that key.

Scopes are stored as a canonical string (keys in hierarchy order, values percent-escaped, so a
value is always literal), plus each of its prefixes, so both directions are one indexed lookup in
SQL and one ``$in`` / ``$contains`` leaf in Chroma.

Example:
    >>> h = ScopeHierarchy()
    >>> h.canon({"project": "alpha", "org": "acme"})
    'org=acme|project=alpha'
    >>> h.visible({"org": "acme", "project": "alpha"}, {"org": "acme"})
    True
    >>> h.visible({"org": "acme", "project": "alpha", "agent": "w2"}, {"org": "acme", "project": "alpha", "agent": "w1"})
    False
    >>> h.visible({"org": "acme", "project": "q3"}, {"project": "q3"})   # not a prefix: another tree
    False
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

from maas_langchain.core.ports.filters import ScopeFilter
from maas_langchain.errors import InvalidInputError

__all__ = ["DEFAULT_SCOPE_KEYS", "ScopeFilter", "ScopeHierarchy"]

DEFAULT_SCOPE_KEYS: tuple[str, ...] = ("org", "team", "project", "user", "agent")
"""The default hierarchy, widest first. ``MaaS.open(scope_keys=...)`` changes it."""

_MAX_VALUE_CHARS = 200


class ScopeHierarchy:
    """The configured scope keys and the scope algebra over them.

    Args:
        keys: Allowed keys, widest first. The order is the hierarchy: it fixes the canonical
            form and which scopes are ancestors (prefixes) of which.
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

    def prefixes(self, scope: Mapping[str, str]) -> list[str]:
        """Canonical forms of the scope's prefixes in hierarchy order, widest first (itself last)."""
        keys = [k for k in self.keys if k in scope]
        return [self.canon({k: scope[k] for k in keys[:n]}) for n in range(1, len(keys) + 1)]

    def filter(self, scope: Mapping[str, str], *, descendants: bool = True) -> ScopeFilter:
        """The storage filter for a reader at ``scope``: its prefixes, and below it if allowed."""
        return ScopeFilter(tuple(self.prefixes(scope)), self.canon(scope) if descendants else None)

    def relation(self, floor: Mapping[str, str], scope: Mapping[str, str]) -> str:
        """How ``scope`` stands to an entitlement ``floor`` (both checked scopes).

        Returns ``"same"``; ``"narrower"`` (``floor`` is a proper prefix of ``scope``);
        ``"ancestor"`` (``scope`` is a proper prefix of ``floor``); or ``"outside"`` (neither: a
        sibling, another tree, or a partial scope that skips one of the floor's keys).
        """
        mine, asked = self.canon(floor), self.canon(scope)
        if asked == mine:
            return "same"
        if mine in self.prefixes(scope):
            return "narrower"
        if asked in self.prefixes(floor):
            return "ancestor"
        return "outside"

    def visible(
        self, memory_scope: Mapping[str, str], query_scope: Mapping[str, str], *, descendants: bool = True
    ) -> bool:
        """Reference semantics of :meth:`filter` on two dict scopes."""
        if not memory_scope:
            return False
        return self.filter(query_scope, descendants=descendants).admits(self.canon(memory_scope))
