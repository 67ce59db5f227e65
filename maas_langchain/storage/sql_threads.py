"""SQL for checkpointer thread ownership, mixed into :class:`~maas_langchain.storage.sql.SqlTx`."""

from __future__ import annotations

__all__ = ["SqlThreadOps"]


class SqlThreadOps:
    """ThreadOps as SQL; needs ``_exec/_one/_all/_d`` from :class:`~maas_langchain.storage.sql.SqlTx`."""
