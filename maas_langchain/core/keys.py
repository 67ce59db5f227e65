"""Scoped API keys: how a process outside this one (an MCP client) proves which agent it acts as.

A key is shown once, at creation: ``maas_<key id>_<secret>``. The key id (128 random bits, hex)
is public and finds the row; the secret (256 random bits) is stored only as its SHA-256 and
compared in constant time. A key is bound to one agent, an optional dict-scope floor (the
widest scope it may read or write), a read-only flag and an optional expiry; it can be revoked.

:meth:`ApiKeyService.authenticate` is the one check every MCP request goes through. Every
refusal raises :class:`InvalidApiKeyError` (code ``permission_denied``) with the same message
whatever the cause, so a client learns nothing about which key ids exist; the precise reason
(unknown id, wrong secret, expired, revoked, agent deactivated) goes to the audit log.

Example:
    >>> from maas_langchain import MaaS, AgentType
    >>> maas = MaaS.open(":memory:")
    >>> agent_id = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1")
    >>> issued = maas.keys.create_key(agent_id, scope_floor={"project": "p1"}, read_only=True)
    >>> maas.keys.authenticate(issued.secret).agent_id == agent_id
    True
    >>> maas.keys.revoke_key(issued.key.key_id)
    True
    >>> maas.close()
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from maas_langchain.core.enums import AuditEventType
from maas_langchain.core.ports.state import StateTx
from maas_langchain.core.records import ApiKey
from maas_langchain.core.runtime import AuditEntry, Runtime
from maas_langchain.core.scopes import ScopeHierarchy
from maas_langchain.core.validation import check_id, check_optional_text, check_time
from maas_langchain.errors import ConflictError, InvalidInputError, MaaSError, NotFoundError, PermissionDeniedError

__all__ = ["KEY_PREFIX", "ApiKey", "ApiKeyService", "InvalidApiKeyError", "IssuedKey", "hash_secret"]

KEY_PREFIX = "maas"
"""Every key starts with ``maas_`` (secret scanners and people can recognise one)."""

_KEY = re.compile(r"^maas_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")
_MAX_PRESENTED = 256
_AUTH = AuditEventType.AGENT_AUTH
_UNKNOWN_HASH = hashlib.sha256(b"no such key").hexdigest()  # compared against, so a miss costs the same

MISSING_MESSAGE = "no API key was presented (set MAAS_API_KEY, or send 'Authorization: Bearer <key>')"
INVALID_MESSAGE = "the API key is not valid (unknown, wrong, expired or revoked, or its agent is deactivated)"


class InvalidApiKeyError(PermissionDeniedError):
    """Authentication failed. The message never says which check failed; the audit log does."""


def hash_secret(secret: str) -> str:
    """SHA-256 (hex) of a key's secret part: what storage keeps instead of the secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    """A key just created: the record and the full secret key text, which is never shown again."""

    key: ApiKey
    secret: str = field(repr=False)


class ApiKeyService:
    """Creates, lists, revokes and checks API keys of one MaaS instance (``maas.keys``).

    Creating and revoking are operator actions of the trusted in-process API (``maas keys``);
    :meth:`authenticate` is what the MCP server calls for every request.
    """

    def __init__(self, runtime: Runtime, hierarchy: ScopeHierarchy | None = None) -> None:
        self._rt = runtime
        self._scopes = hierarchy or ScopeHierarchy()

    def create_key(
        self,
        agent_id: str,
        *,
        scope_floor: dict[str, str] | None = None,
        read_only: bool = False,
        expires_at: float | None = None,
        name: str | None = None,
    ) -> IssuedKey:
        """Issue a key for an active agent; the returned :attr:`IssuedKey.secret` is shown once.

        Raises:
            NotFoundError: No agent has that id.
            ConflictError: The agent is deactivated.
            InvalidInputError: A malformed scope floor, an expiry in the past, a bad name.
        """
        agent = check_id(agent_id, "agent_id")
        floor = None if scope_floor is None else self._scopes.check(scope_floor, "scope_floor")
        if not isinstance(read_only, bool):
            raise InvalidInputError("read_only must be true or false", field="read_only")
        now = self._rt.clock()
        expiry = check_time(expires_at, "expires_at")
        if expiry is not None and expiry <= now:
            raise InvalidInputError("expires_at is in the past; give a future time", field="expires_at")
        key = ApiKey(
            key_id=secrets.token_hex(16),
            agent_id=agent,
            scope_floor=floor,
            read_only=read_only,
            created_at=now,
            expires_at=expiry,
            name=check_optional_text(name, "name", 128),
        )
        secret = secrets.token_urlsafe(32)

        def op(tx: StateTx) -> None:
            found = tx.get_agent(agent)
            if found is None:
                raise NotFoundError(f"no agent with id {agent}; register it before issuing a key", agent_id=agent)
            if not found.active:
                raise ConflictError(f"agent {agent} is deactivated; activate it before issuing a key", agent_id=agent)
            tx.insert_api_key(key, hash_secret(secret))
            details = {"agent_id": agent, "scope_floor": floor, "read_only": read_only, "expires_at": expiry}
            self._rt.record(tx, AuditEntry(_AUTH, "api_key_create", None, key.key_id, details=details))

        self._rt.write(op, event_type=_AUTH, action="api_key_create", actor=None, target=agent)
        return IssuedKey(key, f"{KEY_PREFIX}_{key.key_id}_{secret}")

    def list_keys(self, agent_id: str | None = None) -> list[ApiKey]:
        """Every key (of one agent if given), oldest first, revoked and expired ones included."""
        agent = None if agent_id is None else check_id(agent_id, "agent_id")
        return self._rt.read(lambda tx: tx.list_api_keys(agent))

    def get_key(self, key_id: str) -> ApiKey | None:
        """The key with that id, or ``None``."""
        kid = _check_key_id(key_id)
        found = self._rt.read(lambda tx: tx.get_api_key(kid))
        return None if found is None else found[0]

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key at once (the next request made with it is refused); False if unknown
        or already revoked."""
        kid = _check_key_id(key_id)

        def op(tx: StateTx) -> bool:
            if not tx.revoke_api_key(kid, self._rt.clock()):
                return False
            self._rt.record(tx, AuditEntry(_AUTH, "api_key_revoke", None, kid))
            return True

        return self._rt.write(op, event_type=_AUTH, action="api_key_revoke", actor=None, target=kid)

    def authenticate(self, presented: str | None, *, via: str = "mcp") -> ApiKey:
        """Return the key ``presented`` (the full key text) if it may be used now.

        Args:
            presented: The key as the client sent it (``None`` or empty: no key).
            via: Where it came from, for the audit entry (``"stdio"``, ``"http"``).

        Raises:
            InvalidApiKeyError: No key, a malformed or unknown key, a wrong secret, an expired or
                revoked key, or an agent that is deactivated or gone. Each refusal is audited.
        """
        if not presented or not isinstance(presented, str) or not presented.strip():
            self._refuse(via, "no API key presented", None, None)
            raise InvalidApiKeyError(MISSING_MESSAGE)
        match = _KEY.match(presented.strip()) if len(presented) <= _MAX_PRESENTED else None
        if match is None:
            self._refuse(via, "malformed API key", None, None)
            raise InvalidApiKeyError(INVALID_MESSAGE)
        key_id, secret = match.groups()
        found = self._rt.read(lambda tx: _load(tx, key_id))
        stored_hash = _UNKNOWN_HASH if found is None else found[1]
        secret_ok = hmac.compare_digest(hash_secret(secret), stored_hash)
        reason = _refusal(found, secret_ok, self._rt.clock())
        if reason is not None:
            self._refuse(via, reason, None if found is None else found[0].agent_id, key_id)
            raise InvalidApiKeyError(INVALID_MESSAGE)
        assert found is not None
        return found[0]

    def _refuse(self, via: str, reason: str, agent_id: str | None, key_id: str | None) -> None:
        details = {"code": InvalidApiKeyError.code, "operation": _AUTH.value, "via": via[:32]}
        entry = AuditEntry(
            AuditEventType.PERMISSION_DENIED, "authenticate", agent_id, key_id, "denied", reason, details
        )
        try:
            with self._rt.backend.transaction(write=True) as tx:
                self._rt.record(tx, entry)
        except MaaSError:
            pass  # the refusal stands even if the audit write failed


def _load(tx: StateTx, key_id: str) -> tuple[ApiKey, str, bool] | None:
    """The key, its stored hash and whether its agent exists and is active."""
    row = tx.get_api_key(key_id)
    if row is None:
        return None
    agent = tx.get_agent(row[0].agent_id)
    return row[0], row[1], agent is not None and agent.active


def _refusal(found: tuple[ApiKey, str, bool] | None, secret_ok: bool, now: float) -> str | None:
    """Why the key may not be used (for the audit log), or None when it may."""
    if found is None:
        return "unknown key id"
    key, _, agent_active = found
    if not secret_ok:
        return "wrong secret"
    if key.revoked_at is not None:
        return "key revoked"
    if key.expires_at is not None and now >= key.expires_at:
        return "key expired"
    if not agent_active:
        return "agent deactivated or unregistered"
    return None


def _check_key_id(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{32}", value.strip()):
        raise InvalidInputError("key_id must be the 32 hex characters shown by `maas keys list`", field="key_id")
    return value.strip()
