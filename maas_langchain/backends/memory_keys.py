"""In-memory reference for API keys (hashed, bound to an agent, scope floor, read-only, expiry, revocation), mixed into the in-memory transaction."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, Protocol

from maas_langchain.core.records import ApiKey

__all__ = ["MemoryKeyOps"]


class _Tables(Protocol):
    extra: dict[str, Any]


class MemoryKeyOps:
    """KeyOps on plain dicts; keep tables in ``self.t.extra`` and record undo steps with ``_put``/``_pop``."""

    t: _Tables

    def _put(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        raise NotImplementedError

    def _keys(self) -> dict[str, tuple[ApiKey, str]]:
        table: dict[str, tuple[ApiKey, str]] = self.t.extra.setdefault("api_keys", {})
        return table

    def insert_api_key(self, key: ApiKey, secret_hash: str) -> None:
        self._put(self._keys(), key.key_id, (key, secret_hash))

    def get_api_key(self, key_id: str) -> tuple[ApiKey, str] | None:
        found = self._keys().get(key_id)
        return None if found is None else (copy.deepcopy(found[0]), found[1])

    def list_api_keys(self, agent_id: str | None = None) -> list[ApiKey]:
        found = [k for k, _ in self._keys().values() if agent_id is None or k.agent_id == agent_id]
        return copy.deepcopy(sorted(found, key=lambda k: (k.created_at, k.key_id)))

    def revoke_api_key(self, key_id: str, revoked_at: float) -> bool:
        found = self._keys().get(key_id)
        if found is None or found[0].revoked_at is not None:
            return False
        self._put(self._keys(), key_id, (dataclasses.replace(found[0], revoked_at=revoked_at), found[1]))
        return True
