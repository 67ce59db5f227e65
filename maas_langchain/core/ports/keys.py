"""Storage port: API keys (hashed, bound to an agent, scope floor, read-only, expiry, revocation) for the MCP server.

:class:`~maas_langchain.core.ports.state.StateTx` inherits these abstract operations; the SQL
backends implement them in ``sql_keys.py`` and the in-memory reference in ``memory_keys.py``.
Storage keeps the SHA-256 of a key's secret, never the secret.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maas_langchain.core.records import ApiKey

__all__ = ["KeyOps"]


class KeyOps(abc.ABC):
    """Abstract keys operations of one transaction."""

    @abc.abstractmethod
    def insert_api_key(self, key: ApiKey, secret_hash: str) -> None:
        """Store a new key with the hash of its secret."""

    @abc.abstractmethod
    def get_api_key(self, key_id: str) -> tuple[ApiKey, str] | None:
        """The key and its secret hash, or ``None`` if no key has that id."""

    @abc.abstractmethod
    def list_api_keys(self, agent_id: str | None = None) -> list[ApiKey]:
        """Every key (of ``agent_id`` if given), oldest first."""

    @abc.abstractmethod
    def revoke_api_key(self, key_id: str, revoked_at: float) -> bool:
        """Mark a key revoked; False if unknown or already revoked."""
