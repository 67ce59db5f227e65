"""Storage port: how many memories each scope holds, counted inside the store.

:class:`~maas_langchain.core.ports.state.StateTx` inherits these abstract operations; the SQL
backends implement them in ``sql_memories.py`` (one ``GROUP BY`` over the ``(scope_key, status)``
index) and the in-memory reference in ``memory_memories.py``. They answer the console's scope
tree and its overview without reading a single memory row into Python, so they stay fast at
100,000 memories in one scope.

What a reader may see arrives as data: a :class:`~maas_langchain.core.ports.filters.ScopeFilter`
and ``quarantined_author`` (the quarantine rule of
:func:`~maas_langchain.core.access.sees_quarantined`, decided by the access module).

Example:
    >>> from maas_langchain.backends.memory import MemoryBackend
    >>> from maas_langchain.core.ports.filters import ScopeFilter
    >>> with MemoryBackend().transaction(write=False) as tx:
    ...     tx.count_memories_by_scope(ScopeFilter(("org=acme",), "org=acme"), 10)
    []
"""

from __future__ import annotations

import abc

from maas_langchain.core.ports.filters import ScopeFilter

__all__ = ["MemoryCountOps"]


class MemoryCountOps(abc.ABC):
    """Abstract memory counts of one transaction."""

    @abc.abstractmethod
    def count_memories_by_scope(
        self, scope: ScopeFilter, limit: int, *, quarantined_author: str | None = None
    ) -> list[tuple[str, int]]:
        """``(scope_key, count)`` for each canonical scope admitted by ``scope`` that holds
        memories (any status), in scope-key order (byte order), at most ``limit`` of them.

        A QUARANTINED memory counts only when ``quarantined_author`` is ``None`` (every author:
        a HUMAN reviewer, the trusted caller) or is its author.
        """

    @abc.abstractmethod
    def count_visible_memories(self, scope: ScopeFilter, cap: int, *, quarantined_author: str | None = None) -> int:
        """The memories :meth:`count_memories_by_scope` counts, in total, up to ``cap`` (the
        count stops there, so a huge scope costs no more than ``cap`` index entries)."""
