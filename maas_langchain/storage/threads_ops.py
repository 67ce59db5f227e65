"""Storage port: checkpointer thread ownership for :mod:`maas_langchain.graph.checkpoint`.

:class:`~maas_langchain.storage.base.StateTx` inherits these abstract operations; the SQL
backends implement them in ``sql_threads.py`` and the in-memory reference in ``memory_threads.py``.
"""

from __future__ import annotations

import abc

__all__ = ["ThreadOps"]


class ThreadOps(abc.ABC):  # noqa: B024 - operations are added by the feature that needs them
    """Abstract threads operations of one transaction."""
