"""Scoped API keys: how a process outside this one (an MCP client) proves which agent it acts as.

A key is shown once, at creation: ``maas_<key id>_<secret>``. The key id (128 random bits, hex)
is public and finds the row; the secret (256 random bits) is stored only as its SHA-256 and
compared in constant time. A key is bound to one agent, an optional dict-scope floor (the
widest scope it may read or write), a read-only flag and an optional expiry; it can be revoked.

:meth:`ApiKeyService.authenticate` is the one check every MCP request goes through. Every
refusal raises :class:`InvalidApiKeyError` (code ``permission_denied``) with the same message
whatever the cause, so a client learns nothing about which key ids exist; the precise reason
(unknown id, wrong secret, expired, revoked, agent deactivated) goes to the audit log.

Refusals that name a ``source`` (the client address of an HTTP request, ``"stdio"``) are
aggregated by :class:`AuthFailureAggregator`: one audit row per (source, reason) per window
(default 60 s) with ``details.count`` and the first and last time, so a flood of bad requests
cannot grow the database without bound. A window's rows are written when it closes — lazily, at
the next authentication after it, or by :meth:`ApiKeyService.flush_failures`, which a server
calls periodically and (``force=True``) at shutdown. In-process calls without a source keep one
row per refusal.

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
import math
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from maas_langchain.core.enums import AuditEventType
from maas_langchain.core.ports.state import StateTx
from maas_langchain.core.records import ApiKey
from maas_langchain.core.runtime import AuditEntry, Runtime
from maas_langchain.core.scopes import ScopeHierarchy
from maas_langchain.core.validation import check_id, check_optional_text, check_time
from maas_langchain.errors import ConflictError, InvalidInputError, MaaSError, NotFoundError, PermissionDeniedError

__all__ = [
    "FAILURE_MAX_SOURCES",
    "FAILURE_WINDOW_SECONDS",
    "KEY_PREFIX",
    "ApiKey",
    "ApiKeyService",
    "AuthFailureAggregator",
    "InvalidApiKeyError",
    "IssuedKey",
    "hash_secret",
]

KEY_PREFIX = "maas"
"""Every key starts with ``maas_`` (secret scanners and people can recognise one)."""

_KEY = re.compile(r"^maas_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")
_MAX_PRESENTED = 256
_AUTH = AuditEventType.AGENT_AUTH
_UNKNOWN_HASH = hashlib.sha256(b"no such key").hexdigest()  # compared against, so a miss costs the same

FAILURE_WINDOW_SECONDS = 60.0
"""Default window over which refused authentications from one source are counted into one row."""
FAILURE_MAX_SOURCES = 100
"""Default number of distinct (source, reason) pairs tracked per window; more go to source ``"*"``."""
OVERFLOW_SOURCE = "*"
_MAX_KEY_IDS = 5  # distinct key ids named in one aggregated row

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
        self._failures = AuthFailureAggregator()

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

    def authenticate(self, presented: str | None, *, via: str = "mcp", source: str | None = None) -> ApiKey:
        """Return the key ``presented`` (the full key text) if it may be used now.

        Args:
            presented: The key as the client sent it (``None`` or empty: no key).
            via: Where it came from, for the audit entry (``"stdio"``, ``"http"``).
            source: Who sent it (the client address of an HTTP request, ``"stdio"``): refusals
                with a source are aggregated per (source, reason) and window; without one
                (in-process callers) each refusal is its own audit row.

        Raises:
            InvalidApiKeyError: No key, a malformed or unknown key, a wrong secret, an expired or
                revoked key, or an agent that is deactivated or gone. Each refusal is audited.
        """
        if self._failures.closes_at is not None and self._rt.clock() >= self._failures.closes_at:
            self.flush_failures()
        if not presented or not isinstance(presented, str) or not presented.strip():
            self._refuse(via, source, "no API key presented", None, None)
            raise InvalidApiKeyError(MISSING_MESSAGE)
        match = _KEY.match(presented.strip()) if len(presented) <= _MAX_PRESENTED else None
        if match is None:
            self._refuse(via, source, "malformed API key", None, None)
            raise InvalidApiKeyError(INVALID_MESSAGE)
        key_id, secret = match.groups()
        found = self._rt.read(lambda tx: _load(tx, key_id))
        stored_hash = _UNKNOWN_HASH if found is None else found[1]
        secret_ok = hmac.compare_digest(hash_secret(secret), stored_hash)
        reason = _refusal(found, secret_ok, self._rt.clock())
        if reason is not None:
            self._refuse(via, source, reason, None if found is None else found[0].agent_id, key_id)
            raise InvalidApiKeyError(INVALID_MESSAGE)
        assert found is not None
        return found[0]

    def configure_failure_audit(
        self, *, window_seconds: float = FAILURE_WINDOW_SECONDS, max_sources: int = FAILURE_MAX_SOURCES
    ) -> None:
        """Set how refusals with a source are aggregated (what is pending is written first).

        Args:
            window_seconds: Length of a window; ``0`` writes one row per refusal.
            max_sources: Distinct (source, reason) pairs tracked per window; refusals of further
                sources are counted under source ``"*"``.

        Raises:
            InvalidInputError: A negative or non-finite window, or ``max_sources`` below 1.
        """
        aggregator = AuthFailureAggregator(window_seconds, max_sources)
        self.flush_failures(force=True)
        self._failures = aggregator

    def flush_failures(self, *, force: bool = False) -> int:
        """Write the aggregated refusals of a window that has closed (``force``: of the open one
        too, at shutdown); return how many audit rows were written."""
        entries = self._failures.take(self._rt.clock(), force=force)
        self._record_all(entries)
        return len(entries)

    def _refuse(self, via: str, source: str | None, reason: str, agent_id: str | None, key_id: str | None) -> None:
        if source is not None and self._failures.window > 0:
            self._record_all(self._failures.add(self._rt.clock(), source, reason, via, agent_id, key_id))
            return
        details = {"code": InvalidApiKeyError.code, "operation": _AUTH.value, "via": via[:32]}
        if source is not None:
            details["source"] = source[:64]
        entry = AuditEntry(
            AuditEventType.PERMISSION_DENIED, "authenticate", agent_id, key_id, "denied", reason, details
        )
        self._record_all([entry])

    def _record_all(self, entries: list[AuditEntry]) -> None:
        if not entries:
            return
        try:
            with self._rt.backend.transaction(write=True) as tx:
                for entry in entries:
                    self._rt.record(tx, entry)
        except MaaSError:
            pass  # the refusal stands even if the audit write failed


@dataclass
class _Tally:
    """The refusals of one (source, reason) pair in the open window."""

    via: str
    first_at: float
    last_at: float
    count: int = 0
    actor: str | None = None
    actors: int = 0  # 0: none seen, 1: one agent, 2: several
    key_ids: list[str] = field(default_factory=list)
    more_key_ids: bool = False

    def note(self, now: float, actor: str | None, key_id: str | None) -> None:
        self.count += 1
        self.last_at = max(self.last_at, now)
        if actor is not None and self.actors == 0:
            self.actor, self.actors = actor, 1
        elif actor is not None and actor != self.actor:
            self.actors = 2
        if key_id is not None and key_id not in self.key_ids:
            if len(self.key_ids) < _MAX_KEY_IDS:
                self.key_ids.append(key_id)
            else:
                self.more_key_ids = True


class AuthFailureAggregator:
    """Counts refused authentications per (source, reason) in tumbling windows; thread-safe.

    A window opens at the first refusal and closes ``window`` seconds later; :meth:`take`
    (or the first :meth:`add` after it closed) hands back its audit entries, one per pair, with
    ``details.count``, ``first_at`` and ``last_at``. At most ``max_sources`` pairs are tracked
    per window; refusals of any further source count under source ``"*"`` (one pair per reason,
    and reasons are a fixed set), so memory and rows per window are bounded whatever the flood.

    Args:
        window: Seconds per window (``0``: no aggregation; the caller writes one row per refusal).
        max_sources: Distinct (source, reason) pairs tracked per window.
    """

    def __init__(self, window: float = FAILURE_WINDOW_SECONDS, max_sources: int = FAILURE_MAX_SOURCES) -> None:
        ok_window = isinstance(window, (int, float)) and not isinstance(window, bool) and math.isfinite(window)
        if not ok_window or window < 0:
            raise InvalidInputError(f"window must be a number of seconds >= 0, got {window!r}", field="window")
        if isinstance(max_sources, bool) or not isinstance(max_sources, int) or max_sources < 1:
            raise InvalidInputError(f"max_sources must be an integer >= 1, got {max_sources!r}", field="max_sources")
        self.window = float(window)
        self.max_sources = max_sources
        self.closes_at: float | None = None
        """When the open window closes (``None``: nothing pending)."""
        self._lock = threading.Lock()
        self._tallies: dict[tuple[str, str], _Tally] = {}
        self._distinct = 0

    def __len__(self) -> int:
        """Pairs tracked in the open window."""
        return len(self._tallies)

    def add(
        self, now: float, source: str, reason: str, via: str, actor: str | None, key_id: str | None
    ) -> list[AuditEntry]:
        """Count one refusal; return the entries of a window that this call found closed."""
        source = str(source)[:64] or "unknown"
        with self._lock:
            closed = self._take(now, force=False)
            if self.closes_at is None:
                self.closes_at = now + self.window
            pair = (source, reason)
            tally = self._tallies.get(pair)
            if tally is None and (source == OVERFLOW_SOURCE or self._distinct >= self.max_sources):
                pair = (OVERFLOW_SOURCE, reason)
                tally = self._tallies.get(pair)
            if tally is None:
                tally = self._tallies[pair] = _Tally(via[:32], now, now)
                self._distinct += pair[0] != OVERFLOW_SOURCE
            tally.note(now, actor, key_id)
            return closed

    def take(self, now: float, *, force: bool = False) -> list[AuditEntry]:
        """The entries of the window if it has closed by ``now`` (``force``: even if open); the
        next refusal opens a new window."""
        with self._lock:
            return self._take(now, force=force)

    def _take(self, now: float, *, force: bool) -> list[AuditEntry]:
        if self.closes_at is None or (not force and now < self.closes_at):
            return []
        tallies, self._tallies, self._distinct, self.closes_at = self._tallies, {}, 0, None
        return [self._entry(source, reason, tally) for (source, reason), tally in tallies.items()]

    def _entry(self, source: str, reason: str, tally: _Tally) -> AuditEntry:
        details: dict[str, Any] = {
            "code": InvalidApiKeyError.code,
            "operation": _AUTH.value,
            "via": tally.via,
            "source": source,
            "count": tally.count,
            "first_at": tally.first_at,
            "last_at": tally.last_at,
            "window_seconds": self.window,
            "key_ids": list(tally.key_ids),
        }
        if tally.more_key_ids:
            details["more_key_ids"] = True
        actor = tally.actor if tally.actors == 1 else None
        target = tally.key_ids[0] if len(tally.key_ids) == 1 and not tally.more_key_ids else None
        return AuditEntry(AuditEventType.PERMISSION_DENIED, "authenticate", actor, target, "denied", reason, details)


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
