"""SQL for LangGraph store items (namespaces, keys, JSON values, TTL, vectors), mixed into :class:`~maas_langchain.storage.sql.SqlTx`."""

from __future__ import annotations

__all__ = ["SqlKVOps"]


class SqlKVOps:
    """KVOps as SQL; needs ``_exec/_one/_all/_d`` from :class:`~maas_langchain.storage.sql.SqlTx`."""
