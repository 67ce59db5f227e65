"""Abuse limits of the HTTP surface: token buckets per client address and per API key.

Independent of MCP, so a REST API mounted in the same Starlette app reuses it:

* :class:`AbuseLimits` — the settings (rates, bursts, how many clients are tracked, whether a
  proxy's ``X-Forwarded-For`` is trusted, how refused authentications are aggregated), with the
  ``maas serve --http`` flags that set them (:meth:`AbuseLimits.add_arguments`).
* :class:`TokenBuckets` — one token bucket per name (rate + burst), in memory, at most
  ``max_entries`` names: the least recently used one is forgotten first, so a flood from many
  addresses cannot grow memory without bound.
* :class:`RequestLimiter` — the client address of a request (:meth:`RequestLimiter.client_address`)
  and the two checks: :meth:`~RequestLimiter.check_address` before authentication (no database
  work) and :meth:`~RequestLimiter.check_key` after it. Each returns 0 when the request may go
  on, else the seconds until it may.
* :class:`RateLimitMiddleware` — ASGI middleware applying the per-address check to every HTTP
  request but the exempt paths (``/healthz``); over the limit it answers ``429`` with an integer
  ``Retry-After`` (at least 1) and a body chosen by the app (a JSON-RPC error on the MCP path).

Example:
    >>> clock = iter([0.0, 0.0, 0.0, 0.5]).__next__
    >>> buckets = TokenBuckets(rate=2.0, burst=2, clock=clock)
    >>> [buckets.acquire("10.0.0.1") for _ in range(3)]
    [0.0, 0.0, 0.5]
    >>> buckets.acquire("10.0.0.1")
    0.0
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, fields
from typing import Any

from maas_langchain.core.keys import FAILURE_MAX_SOURCES, FAILURE_WINDOW_SECONDS
from maas_langchain.errors import InvalidInputError

__all__ = [
    "AbuseLimits",
    "RateLimitMiddleware",
    "RequestLimiter",
    "TokenBuckets",
    "retry_after",
    "send_too_many_requests",
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Renderer = Callable[[Scope, int], bytes]
"""``render(scope, retry_after_seconds) -> JSON body`` of a 429 answer."""


@dataclass(frozen=True)
class AbuseLimits:
    """Settings of the HTTP abuse limits; a rate of ``0`` turns that limit off.

    Attributes:
        address_rate: Requests per second one client address may make, checked before
            authentication (every client on one host, or behind one NAT, shares it).
        address_burst: Requests one address may make at once after being idle.
        key_rate: Requests per second one API key may make, checked after authentication.
        key_burst: Requests one key may make at once after being idle.
        max_tracked: Addresses (and, separately, keys) whose buckets are kept; the least
            recently seen is forgotten beyond that.
        trusted_proxy_hops: ``0`` (default): the client address is the TCP peer and
            ``X-Forwarded-For`` is ignored. ``N``: the server is reachable only through N proxies
            that each append to ``X-Forwarded-For``; the client is the N-th entry from the right.
        auth_audit_window: Seconds over which refused authentications are counted into one audit
            row per (address, reason); ``0`` writes one row per refusal.
        auth_audit_max_sources: Distinct (address, reason) pairs per window; further addresses
            are counted under ``"*"``.
        exempt_paths: Paths never limited (the health check).
    """

    address_rate: float = 100.0
    address_burst: int = 200
    key_rate: float = 20.0
    key_burst: int = 50
    max_tracked: int = 10_000
    trusted_proxy_hops: int = 0
    auth_audit_window: float = FAILURE_WINDOW_SECONDS
    auth_audit_max_sources: int = FAILURE_MAX_SOURCES
    exempt_paths: tuple[str, ...] = ("/healthz",)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "exempt_paths":
                if not isinstance(value, tuple) or not all(isinstance(p, str) for p in value):
                    raise InvalidInputError("exempt_paths must be a tuple of paths", field=f.name)
                continue
            number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if not number or value < 0 or (f.type in ("int",) and not isinstance(value, int)):
                raise InvalidInputError(f"{f.name} must be a number >= 0, got {value!r}", field=f.name)
        for rate, burst in (("address_rate", "address_burst"), ("key_rate", "key_burst")):
            if getattr(self, rate) > 0 and getattr(self, burst) < 1:
                raise InvalidInputError(f"{burst} must be at least 1 when {rate} is set", field=burst)
        if self.max_tracked < 1 or self.auth_audit_max_sources < 1:
            raise InvalidInputError("max_tracked and auth_audit_max_sources must be at least 1")

    @classmethod
    def off(cls) -> AbuseLimits:
        """No rate limit and one audit row per refused authentication (the behaviour before limits)."""
        return cls(address_rate=0.0, key_rate=0.0, auth_audit_window=0.0)

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """The ``maas serve --http`` flags of these settings (defaults: the class defaults)."""
        d = AbuseLimits()
        group = parser.add_argument_group("abuse limits of --http (docs/security.md)")
        add = group.add_argument
        add(
            "--rate-per-address",
            type=float,
            metavar="R",
            help=f"requests/s per client address (default {d.address_rate:g}; 0: off)",
        )
        add("--burst-per-address", type=int, metavar="N", help=f"burst per client address (default {d.address_burst})")
        add("--rate-per-key", type=float, metavar="R", help=f"requests/s per API key (default {d.key_rate:g}; 0: off)")
        add("--burst-per-key", type=int, metavar="N", help=f"burst per API key (default {d.key_burst})")
        add(
            "--trust-proxy",
            type=int,
            metavar="HOPS",
            help="client address from X-Forwarded-For, HOPS trusted proxies from the right (default 0: never)",
        )
        add(
            "--auth-audit-window",
            type=float,
            metavar="S",
            help=f"one audit row per (address, reason) of refused keys per S seconds (default {d.auth_audit_window:g}; 0: one each)",
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AbuseLimits:
        """Settings from the flags of :meth:`add_arguments` (an unset flag keeps its default)."""
        given = {
            "address_rate": getattr(args, "rate_per_address", None),
            "address_burst": getattr(args, "burst_per_address", None),
            "key_rate": getattr(args, "rate_per_key", None),
            "key_burst": getattr(args, "burst_per_key", None),
            "trusted_proxy_hops": getattr(args, "trust_proxy", None),
            "auth_audit_window": getattr(args, "auth_audit_window", None),
        }
        return cls(**{name: value for name, value in given.items() if value is not None})


class TokenBuckets:
    """Token buckets by name (rate tokens per second, at most ``burst``), LRU-bounded; thread-safe.

    A name seen for the first time (or again after being forgotten) starts with a full bucket.

    Args:
        rate: Tokens added per second; ``0`` disables the limit (every call is allowed).
        burst: Capacity of a bucket.
        max_entries: Names kept; beyond that the least recently used is forgotten.
        clock: Monotonic seconds (tests pass a fake one).
    """

    def __init__(
        self, rate: float, burst: float, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate < 0 or (rate > 0 and burst < 1) or max_entries < 1:
            raise InvalidInputError("a token bucket needs rate >= 0, burst >= 1 and max_entries >= 1")
        self.rate = float(rate)
        self.burst = float(burst)
        self.max_entries = max_entries
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # name -> (tokens, at)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether this limit is on (a positive rate)."""
        return self.rate > 0

    def __len__(self) -> int:
        """Names currently tracked."""
        return len(self._buckets)

    def acquire(self, name: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens from ``name``'s bucket: 0.0 if it had them, else the seconds until
        it will (nothing is taken then)."""
        if not self.enabled:
            return 0.0
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.pop(name, (self.burst, now))
            tokens = min(self.burst, tokens + max(0.0, now - at) * self.rate)
            wait = 0.0 if tokens >= cost else (cost - tokens) / self.rate
            self._buckets[name] = (tokens - cost if wait == 0.0 else tokens, now)
            while len(self._buckets) > self.max_entries:
                self._buckets.popitem(last=False)
            return wait


def retry_after(wait: float) -> int:
    """The ``Retry-After`` value of a wait: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(wait))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def normalise_address(host: str) -> str:
    """An address as a bucket name: IPv4 as is (also when IPv4-mapped), IPv6 as its /64 (one
    host usually holds a whole /64), anything else (a test client's name) cut to 64 characters."""
    try:
        address = ipaddress.ip_address(host.strip())
    except ValueError:
        return host.strip()[:64] or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RequestLimiter:
    """The per-address and per-key limits of one app (one instance per server process).

    Args:
        limits: The settings.
        clock: Monotonic seconds (tests pass a fake one).
    """

    def __init__(self, limits: AbuseLimits | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or AbuseLimits()
        cap = self.limits.max_tracked
        self.addresses = TokenBuckets(self.limits.address_rate, self.limits.address_burst, max_entries=cap, clock=clock)
        self.keys = TokenBuckets(self.limits.key_rate, self.limits.key_burst, max_entries=cap, clock=clock)

    def client_address(self, scope: Scope) -> str:
        """The client of an ASGI request: the TCP peer (``scope["client"]``), or, only with
        ``trusted_proxy_hops``, the entry of ``X-Forwarded-For`` the outermost trusted proxy wrote."""
        peer = scope.get("client")
        host = str(peer[0]) if peer else "unknown"
        hops = self.limits.trusted_proxy_hops
        forwarded = _header(scope, b"x-forwarded-for") if hops else None
        if forwarded:
            parts = [part.strip() for part in forwarded.split(",") if part.strip()]
            if parts:
                host = parts[-hops] if len(parts) >= hops else parts[0]
        return normalise_address(host)

    def check_address(self, address: str) -> float:
        """Before authentication: 0.0 if ``address`` may make a request now, else the wait."""
        return self.addresses.acquire(address)

    def check_key(self, key_id: str) -> float:
        """After authentication: 0.0 if key ``key_id`` may make a request now, else the wait."""
        return self.keys.acquire(key_id)


def default_body(scope: Scope, seconds: int) -> bytes:
    """The 429 body outside MCP: the tools' error shape, ``{"ok": false, "error": {...}}``."""
    message = f"too many requests; retry after {seconds} s"
    error = {"code": "rate_limited", "message": message, "retry_after": seconds}
    return json.dumps({"ok": False, "error": error}).encode("utf-8")


async def send_too_many_requests(send: Send, seconds: int, body: bytes) -> None:
    """Answer ``429 Too Many Requests`` with ``Retry-After: seconds`` and a JSON ``body``."""
    headers = [(b"content-type", b"application/json"), (b"retry-after", str(seconds).encode("ascii"))]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RateLimitMiddleware:
    """ASGI middleware: the per-address limit on every HTTP request but the exempt paths.

    It runs before authentication and touches no database, so an unauthenticated flood is
    refused for the cost of a dictionary lookup.

    Args:
        app: The app behind it (the whole Starlette app, so routes mounted later are covered).
        limiter: The limiter it checks (shared with the per-key check of the auth middleware).
        render: The 429 body for a request (default :func:`default_body`).
    """

    def __init__(self, app: ASGIApp, limiter: RequestLimiter, render: Renderer = default_body) -> None:
        self.app = app
        self.limiter = limiter
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limits = self.limiter.limits
        if scope["type"] == "http" and scope.get("path") not in limits.exempt_paths:
            wait = self.limiter.check_address(self.limiter.client_address(scope))
            if wait > 0:
                seconds = retry_after(wait)
                await send_too_many_requests(send, seconds, self.render(scope, seconds))
                return
        await self.app(scope, receive, send)
