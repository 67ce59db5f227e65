"""SQL for Idempotency-Key records, mixed into :class:`~maas_langchain.backends.sql.SqlTx`.

One row per ``(principal, key)`` (the primary key of ``idempotency_keys``). A claim is
``INSERT ... ON CONFLICT DO NOTHING`` on both dialects, so of concurrent claims of one key
exactly one inserts a row, whichever process or connection it comes from; ``created_at`` is
indexed for the purge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from maas_langchain.backends.sql_cursor import SqlCursorOps
from maas_langchain.core.ports.idempotency import IdempotencyRecord

__all__ = ["SqlIdempotencyOps"]

_COLUMNS = "principal, key, fingerprint, created_at, state, status, response"


def _record_from_row(row: Sequence[Any]) -> IdempotencyRecord:
    return IdempotencyRecord(
        principal=row[0],
        key=row[1],
        fingerprint=row[2],
        created_at=float(row[3]),
        state=row[4],
        status=None if row[5] is None else int(row[5]),
        response=row[6],
    )


class SqlIdempotencyOps(SqlCursorOps):
    """IdempotencyOps as SQL; needs ``_exec/_one`` from :class:`~maas_langchain.backends.sql.SqlTx`."""

    def get_idempotency(self, principal: str, key: str) -> IdempotencyRecord | None:
        row = self._one(f"SELECT {_COLUMNS} FROM idempotency_keys WHERE principal = ? AND key = ?", (principal, key))
        return None if row is None else _record_from_row(row)

    def claim_idempotency(self, record: IdempotencyRecord) -> bool:
        cur = self._exec(
            f"INSERT INTO idempotency_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (principal, key) DO NOTHING",
            (
                record.principal,
                record.key,
                record.fingerprint,
                record.created_at,
                record.state,
                record.status,
                record.response,
            ),
        )
        return int(cur.rowcount) == 1

    def finish_idempotency(self, principal: str, key: str, status: int, response: str) -> None:
        self._exec(
            "UPDATE idempotency_keys SET state = 'done', status = ?, response = ? "
            "WHERE principal = ? AND key = ? AND state = 'pending'",
            (status, response, principal, key),
        )

    def drop_idempotency(self, principal: str, key: str) -> None:
        self._exec("DELETE FROM idempotency_keys WHERE principal = ? AND key = ?", (principal, key))

    def purge_idempotency(self, before: float) -> int:
        return int(self._exec("DELETE FROM idempotency_keys WHERE created_at < ?", (before,)).rowcount)
