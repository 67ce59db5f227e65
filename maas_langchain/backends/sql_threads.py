"""SQL for checkpointer thread ownership (table ``thread_owners``, migration 0005), mixed into
:class:`~maas_langchain.backends.sql.SqlTx`."""

from __future__ import annotations

from maas_langchain.backends.sql_cursor import SqlCursorOps

__all__ = ["SqlThreadOps"]


class SqlThreadOps(SqlCursorOps):
    """ThreadOps as SQL; needs ``_exec/_one/_all/_d`` from :class:`~maas_langchain.backends.sql.SqlTx`."""

    def get_thread_owner(self, thread_id: str) -> str | None:
        row = self._one("SELECT owner_id FROM thread_owners WHERE thread_id = ?", (thread_id,))
        return None if row is None else str(row[0])

    def claim_thread(self, thread_id: str, agent_id: str, created_at: float) -> str:
        self._exec(
            "INSERT INTO thread_owners (thread_id, owner_id, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (thread_id) DO NOTHING",
            (thread_id, agent_id, created_at),
        )
        owner = self.get_thread_owner(thread_id)
        assert owner is not None
        return owner

    def delete_thread_owner(self, thread_id: str) -> bool:
        cur = self._exec("DELETE FROM thread_owners WHERE thread_id = ?", (thread_id,))
        return bool(cur.rowcount)

    def count_threads(self, owner_id: str | None = None) -> int:
        if owner_id is None:
            row = self._one("SELECT COUNT(*) FROM thread_owners")
        else:
            row = self._one("SELECT COUNT(*) FROM thread_owners WHERE owner_id = ?", (owner_id,))
        return int(row[0])
