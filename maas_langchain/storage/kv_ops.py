"""Storage port: LangGraph store items (namespaces, keys, JSON values, TTL, vectors) for :mod:`maas_langchain.graph.store`.

:class:`~maas_langchain.storage.base.StateTx` inherits these abstract operations; the SQL
backends implement them in ``sql_kv.py`` and the in-memory reference in ``memory_kv.py``.
"""

from __future__ import annotations

import abc

__all__ = ["KVOps"]


class KVOps(abc.ABC):  # noqa: B024 - operations are added by the feature that needs them
    """Abstract kv operations of one transaction."""
