"""Data-only descriptions of what one principal may see, for storage to translate mechanically.

The access module (:mod:`maas_langchain.core.access`) decides; these records carry the decision
to a backend, which turns each into its own query language (SQL ``WHERE`` clauses, a Chroma
``where`` tree, or the Python predicates below, which are the reference semantics every
translation must agree with). No rule is written twice: a backend never decides who may see
what, it only evaluates one of these.

Example:
    >>> f = ScopeFilter(ancestors=("org=acme", "org=acme|project=a"), descendant_of="org=acme|project=a")
    >>> [f.admits(k) for k in ("org=acme", "org=acme|project=a|agent=w1", "org=acme|project=b", "project=a")]
    [True, True, False, False]
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["SCOPE_SEPARATOR", "AudienceClause", "AudienceFilter", "ScopeFilter", "StoreReaders"]

SCOPE_SEPARATOR = "|"
"""Separates the ``key=value`` pairs of a canonical scope (values are percent-escaped, so the
separator never occurs inside one)."""


@dataclass(frozen=True)
class ScopeFilter:
    """The dict-scoped memories a reader at one scope may see, in storage terms.

    A memory is visible when its canonical scope is one of ``ancestors`` (the query scope's
    prefixes in hierarchy order, itself included) or, when ``descendant_of`` is set, when that
    canonical scope is a prefix of the memory's (``scope_key == d`` or it starts with
    ``d + "|"``). Backends store each memory's *prefixes* (``memory_scopes``, the index's
    ``scope_sub``) so both branches are one indexed lookup.

    Attributes:
        ancestors: Canonical prefixes of the query scope (itself included).
        descendant_of: The query scope's canonical form when descendants are visible, else None.
    """

    ancestors: tuple[str, ...]
    descendant_of: str | None

    def admits(self, scope_key: str | None) -> bool:
        """Reference semantics: may a memory stored at canonical scope ``scope_key`` be seen?"""
        if not scope_key:
            return False
        if scope_key in self.ancestors:
            return True
        d = self.descendant_of
        return d is not None and (scope_key == d or scope_key.startswith(d + SCOPE_SEPARATOR))


@dataclass(frozen=True)
class AudienceClause:
    """Pool shares at ``level`` are visible when attribute ``column`` equals ``value`` (NULL-safe).

    ``column`` is ``None`` for GLOBAL: every share at that level is visible.
    """

    level: int
    column: str | None
    value: str | None


@dataclass(frozen=True)
class AudienceFilter:
    """The shares of a pool one reader may see: a disjunction of :class:`AudienceClause`."""

    clauses: tuple[AudienceClause, ...]

    def matches(self, share: Any) -> bool:
        """Reference semantics over a share record (``scope.level`` and the audience attributes)."""
        level = share.scope.level
        for clause in self.clauses:
            if clause.level == level and (clause.column is None or getattr(share, clause.column) == clause.value):
                return True
        return False


@dataclass(frozen=True, slots=True)
class StoreReaders:
    """The LangGraph store namespaces one agent may read: ``("agents", agent_id, ...)``,
    ``("users", owner_id, ...)`` and ``("pools", p, ...)`` for every pool ``p`` it is a member
    of (``pools_via_membership``). Storage translates it into its query language."""

    agent_id: str
    owner_id: str

    def admits(self, namespace: tuple[str, ...], member_of: Container[str]) -> bool:
        """Reference semantics, given the pools the agent is a member of (the SQL translation
        is ``backends/sql_kv.py``'s ``_READERS``, which reads the memberships in the query)."""
        root, owner = (*namespace, "", "")[:2]
        return (
            (root == "agents" and owner == self.agent_id)
            or (root == "users" and owner == self.owner_id)
            or (root == "pools" and owner in member_of)
        )

    def spaces(self, member_of: Iterable[str]) -> list[str]:
        """The same set as the vector index's ``space`` metadata values (``root.owner``)."""
        return [f"agents.{self.agent_id}", f"users.{self.owner_id}", *(f"pools.{p}" for p in member_of)]
