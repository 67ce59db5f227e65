"""SQL for API keys (hashed, bound to an agent, scope floor, read-only, expiry, revocation), mixed into :class:`~maas_langchain.backends.sql.SqlTx`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from maas_langchain.backends.sql_cursor import SqlCursorOps
from maas_langchain.core.records import ApiKey

__all__ = ["SqlKeyOps"]

_COLUMNS = "key_id, agent_id, scope_floor, read_only, created_at, expires_at, revoked_at, name, secret_hash"


def _key_from_row(row: Sequence[Any]) -> ApiKey:
    return ApiKey(
        key_id=row[0],
        agent_id=row[1],
        scope_floor=None if row[2] is None else json.loads(row[2]),
        read_only=bool(row[3]),
        created_at=row[4],
        expires_at=row[5],
        revoked_at=row[6],
        name=row[7],
    )


class SqlKeyOps(SqlCursorOps):
    """KeyOps as SQL; needs ``_exec/_one/_all/_d`` from :class:`~maas_langchain.backends.sql.SqlTx`."""

    def insert_api_key(self, key: ApiKey, secret_hash: str) -> None:
        floor = None if key.scope_floor is None else json.dumps(key.scope_floor, sort_keys=True)
        self._exec(
            f"INSERT INTO api_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key.key_id,
                key.agent_id,
                floor,
                int(key.read_only),
                key.created_at,
                key.expires_at,
                key.revoked_at,
                key.name,
                secret_hash,
            ),
        )

    def get_api_key(self, key_id: str) -> tuple[ApiKey, str] | None:
        row = self._one(f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,))
        return None if row is None else (_key_from_row(row), str(row[8]))

    def list_api_keys(self, agent_id: str | None = None) -> list[ApiKey]:
        where, params = ("WHERE agent_id = ?", (agent_id,)) if agent_id is not None else ("", ())
        rows = self._all(f"SELECT {_COLUMNS} FROM api_keys {where} ORDER BY created_at, key_id", params)
        return [_key_from_row(r) for r in rows]

    def revoke_api_key(self, key_id: str, revoked_at: float) -> bool:
        cur = self._exec(
            "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", (revoked_at, key_id)
        )
        return int(cur.rowcount) > 0
