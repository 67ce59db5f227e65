"""Abuse limits of the HTTP surface (docs/security.md, "Abuse limits").

* Token buckets with a fake clock: burst, refill, independence, the LRU bound, rate 0.
* The client address: the TCP peer, ``X-Forwarded-For`` only with ``trusted_proxy_hops``, IPv6 /64.
* Through ``create_http_app`` in process (httpx's ASGI transport, which sets the client address):
  429 + ``Retry-After`` + a JSON-RPC error, the per-address limit before authentication (the
  refused request never reaches the key check), the per-key limit after it, ``/healthz``
  unlimited, ``0`` disables.
* Refused authentications aggregated in ``core/keys.py`` (every backend, manual clock): one row
  per (source, reason) and window with its count, two reasons two rows, overflow to ``"*"``,
  rollover, a lazy write on the next authentication, threads.
* A real ``maas serve --http`` process: a flood from 127.0.0.2 is throttled while a key holder on
  127.0.0.1 is served, and the flood leaves one aggregated audit row.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_mcp_server import MCP_HEADERS, start_http_server

from maas_langchain import AgentType, MaaS
from maas_langchain.adapters.mcp.app import create_http_app
from maas_langchain.adapters.ratelimit import (
    AbuseLimits,
    RateLimitMiddleware,
    RequestLimiter,
    TokenBuckets,
    retry_after,
)
from maas_langchain.core.keys import AuthFailureAggregator, InvalidApiKeyError
from maas_langchain.errors import InvalidInputError
from maas_langchain.testing import ManualClock

LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}

# --- token buckets ---------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=2.0, burst=3, clock=clock)
    assert [buckets.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.acquire("a") == pytest.approx(0.5)
    clock.now += 0.25
    assert buckets.acquire("a") == pytest.approx(0.25)  # a refused call takes nothing
    clock.now += 0.25
    assert buckets.acquire("a") == 0.0
    assert buckets.acquire("a") > 0
    clock.now += 1_000  # a long idle time fills the bucket to its burst, no more
    assert [buckets.acquire("a") == 0.0 for _ in range(4)] == [True, True, True, False]
    assert buckets.acquire("b") == 0.0  # names are independent


def test_buckets_are_bounded_and_forget_the_least_recently_used() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=1.0, burst=1, max_entries=3, clock=clock)
    for name in ("a", "b", "c"):
        assert buckets.acquire(name) == 0.0
    assert buckets.acquire("a") > 0  # touches a: b is now the least recently used
    assert buckets.acquire("d") == 0.0 and len(buckets) == 3
    assert buckets.acquire("a") > 0 and buckets.acquire("c") > 0  # still tracked, still empty
    assert buckets.acquire("b") == 0.0  # forgotten, so it starts full again
    for n in range(10_000):  # a flood of distinct addresses
        buckets.acquire(f"10.0.{n // 256}.{n % 256}")
    assert len(buckets) == 3


def test_rate_zero_disables_a_bucket_and_bad_settings_are_refused() -> None:
    off = TokenBuckets(rate=0, burst=0)
    assert not off.enabled and all(off.acquire("a") == 0.0 for _ in range(1_000)) and len(off) == 0
    with pytest.raises(InvalidInputError):
        TokenBuckets(rate=1, burst=0)
    for bad in ({"address_rate": -1}, {"key_burst": 0}, {"max_tracked": 0}, {"key_rate": float("nan")}):
        with pytest.raises(InvalidInputError):
            AbuseLimits(**bad)
    with pytest.raises(InvalidInputError):
        AbuseLimits(address_burst=2.5)  # type: ignore[arg-type]
    assert [retry_after(w) for w in (0.001, 1.0, 1.2, 59.01)] == [1, 1, 2, 60]


def test_serve_flags_set_the_limits() -> None:
    parser = argparse.ArgumentParser()
    AbuseLimits.add_arguments(parser)
    assert AbuseLimits.from_args(parser.parse_args([])) == AbuseLimits()
    flags = "--rate-per-address 0 --burst-per-address 7 --rate-per-key 2.5 --burst-per-key 3 --trust-proxy 1"
    args = parser.parse_args([*flags.split(" "), "--auth-audit-window", "0"])
    assert AbuseLimits.from_args(args) == AbuseLimits(
        address_rate=0, address_burst=7, key_rate=2.5, key_burst=3, trusted_proxy_hops=1, auth_audit_window=0
    )


def _scope(client: tuple[str, int] | None, forwarded: str | None = None) -> dict[str, Any]:
    headers = [] if forwarded is None else [(b"x-forwarded-for", forwarded.encode())]
    return {"type": "http", "path": "/mcp", "client": client, "headers": headers}


def test_the_client_address_is_the_peer_unless_a_proxy_is_trusted() -> None:
    direct = RequestLimiter(AbuseLimits())
    assert direct.client_address(_scope(("10.1.2.3", 5))) == "10.1.2.3"
    assert direct.client_address(_scope(("10.1.2.3", 5), "6.6.6.6")) == "10.1.2.3"  # not trusted
    assert direct.client_address(_scope(None)) == "unknown"
    assert direct.client_address(_scope(("2001:db8::1", 5))) == direct.client_address(_scope(("2001:db8::ff", 5)))
    assert direct.client_address(_scope(("2001:db8::1", 5))) == "2001:db8::/64"
    assert direct.client_address(_scope(("::ffff:10.0.0.9", 5))) == "10.0.0.9"
    one = RequestLimiter(AbuseLimits(trusted_proxy_hops=1))
    assert one.client_address(_scope(("10.0.0.1", 5), "6.6.6.6, 203.0.113.7")) == "203.0.113.7"
    assert one.client_address(_scope(("10.0.0.1", 5))) == "10.0.0.1"
    two = RequestLimiter(AbuseLimits(trusted_proxy_hops=2))
    assert two.client_address(_scope(("10.0.0.1", 5), "6.6.6.6, 203.0.113.7, 10.0.0.2")) == "203.0.113.7"
    assert two.client_address(_scope(("10.0.0.1", 5), "203.0.113.7")) == "203.0.113.7"


# --- through the app, in process --------------------------------------------------------------------


@pytest.fixture
def local() -> Iterator[tuple[MaaS, str, str]]:
    """An in-memory instance with two keys of one agent."""
    with MaaS.open(":memory:", sweep_interval=None) as maas:
        agent = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1")
        yield maas, maas.keys.create_key(agent).secret, maas.keys.create_key(agent).secret


def _client(app: Any, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://t", headers=MCP_HEADERS)


def _auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def _assert_429(response: httpx.Response) -> int:
    assert response.status_code == 429, (response.status_code, response.text)
    seconds = response.headers["retry-after"]
    assert seconds.isdigit() and int(seconds) >= 1
    body = response.json()
    assert body["jsonrpc"] == "2.0" and body["error"]["code"] == -32029
    assert body["error"]["data"]["retry_after"] == int(seconds)
    return int(seconds)


@pytest.mark.asyncio
async def test_the_address_limit_answers_429_before_authentication(local: tuple[MaaS, str, str]) -> None:
    maas, key, _ = local
    app = create_http_app(maas, limits=AbuseLimits(address_rate=0.01, address_burst=3, key_rate=0))
    async with app.router.lifespan_context(app), _client(app, "10.0.0.1") as a, _client(app, "10.0.0.2") as b:
        statuses = [(await a.post("/mcp", json=LIST)).status_code for _ in range(3)]
        assert statuses == [401, 401, 401]
        assert _assert_429(await a.post("/mcp", json=LIST)) >= 90  # 1 token at 0.01/s: ~100 s
        assert _assert_429(await a.post("/mcp", json=LIST, headers=_auth(key))) >= 1  # even with a key
        assert (await b.post("/mcp", json=LIST)).status_code == 401  # another address has its own bucket
        assert (await b.post("/mcp", json=LIST, headers=_auth(key))).status_code == 200
        for _ in range(30):
            assert (await a.get("/healthz")).json() == {"ok": True}  # never limited
        other = await a.get("/elsewhere")  # a route mounted later would be limited too, with a generic body
        assert other.status_code == 429 and other.json()["error"]["code"] == "rate_limited"
        assert maas.audit.query(event_type="PERMISSION_DENIED") == []  # aggregated: nothing written yet
    rows = maas.audit.query(event_type="PERMISSION_DENIED", action="authenticate")  # written at shutdown
    counts = {(e.details["source"], e.reason): e.details["count"] for e in rows}
    # the three 429s of 10.0.0.1 never reached the key check
    assert counts == {("10.0.0.1", "no API key presented"): 3, ("10.0.0.2", "no API key presented"): 1}


@pytest.mark.asyncio
async def test_the_key_limit_applies_after_authentication(local: tuple[MaaS, str, str]) -> None:
    maas, key, second = local
    app = create_http_app(maas, limits=AbuseLimits(address_rate=0, key_rate=0.01, key_burst=2))
    key_id = key.split("_")[1]
    forged = f"maas_{key_id}_{'A' * 43}"  # the public key id with a wrong secret: must not drain the bucket
    async with app.router.lifespan_context(app), _client(app, "10.0.0.1") as a, _client(app, "10.0.0.2") as b:
        assert {(await b.post("/mcp", json=LIST, headers=_auth(forged))).status_code for _ in range(5)} == {401}
        assert (await a.post("/mcp", json=LIST, headers=_auth(key))).status_code == 200
        assert (await b.post("/mcp", json=LIST, headers=_auth(key))).status_code == 200  # per key, any address
        _assert_429(await a.post("/mcp", json=LIST, headers=_auth(key)))
        _assert_429(await b.post("/mcp", json=LIST, headers=_auth(key)))
        assert (await a.post("/mcp", json=LIST, headers=_auth(second))).status_code == 200  # its own bucket
        assert (await a.post("/mcp", json=LIST)).status_code == 401  # no address limit: still authenticated
    (row,) = [e for e in maas.audit.query(event_type="PERMISSION_DENIED") if e.reason == "wrong secret"]
    assert (row.details["count"], row.target, row.details["key_ids"]) == (5, key_id, [key_id])


@pytest.mark.asyncio
async def test_zero_disables_the_limits_and_spoofed_forwarding_does_not_help(local: tuple[MaaS, str, str]) -> None:
    maas, key, _ = local
    off = create_http_app(maas, limits=AbuseLimits(address_rate=0, key_rate=0))
    async with off.router.lifespan_context(off), _client(off, "10.0.0.1") as a:
        ok = Counter([(await a.post("/mcp", json=LIST, headers=_auth(key))).status_code for _ in range(120)])
        refused = Counter([(await a.post("/mcp", json=LIST)).status_code for _ in range(120)])
    assert ok == {200: 120} and refused == {401: 120}
    on = create_http_app(maas, limits=AbuseLimits(address_rate=0.01, address_burst=2))
    async with on.router.lifespan_context(on), _client(on, "10.0.0.1") as a:
        statuses = [
            (await a.post("/mcp", json=LIST, headers={"x-forwarded-for": f"198.51.100.{n}"})).status_code
            for n in range(6)
        ]
    assert statuses == [401, 401, 429, 429, 429, 429]


def test_the_app_is_limited_by_default(local: tuple[MaaS, str, str]) -> None:
    maas, _, _ = local
    app = create_http_app(maas)
    (layer,) = [m for m in app.user_middleware if m.cls is RateLimitMiddleware]  # type: ignore[comparison-overlap]
    limiter: RequestLimiter = layer.kwargs["limiter"]  # type: ignore[assignment]
    assert limiter.limits == AbuseLimits() and limiter.addresses.enabled and limiter.keys.enabled
    assert (limiter.limits.address_rate, limiter.limits.address_burst) == (100.0, 200)
    assert (limiter.limits.key_rate, limiter.limits.key_burst) == (20.0, 50)


# --- refused authentications, aggregated (core) ----------------------------------------------------


def _rows(maas: MaaS) -> list[Any]:
    return maas.audit.query(event_type="PERMISSION_DENIED", action="authenticate")


def _refuse(maas: MaaS, presented: str | None, source: str | None = "10.0.0.1", times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(InvalidApiKeyError):
            maas.keys.authenticate(presented, via="http", source=source)


def test_n_refusals_from_one_source_in_one_window_are_one_row(maas: MaaS, clock: ManualClock) -> None:
    start = clock.now
    for _ in range(25):
        _refuse(maas, None)
        clock.advance(1)
    assert _rows(maas) == []
    assert maas.keys.flush_failures() == 0  # the window (60 s) is still open
    clock.advance(36)  # 61 s after the first refusal
    assert maas.keys.flush_failures() == 1
    (row,) = _rows(maas)
    assert (row.reason, row.outcome, row.actor, row.target) == ("no API key presented", "denied", None, None)
    details = row.details
    assert (details["count"], details["source"], details["via"], details["operation"]) == (
        25,
        "10.0.0.1",
        "http",
        "AGENT_AUTH",
    )
    assert (details["first_at"], details["last_at"], details["window_seconds"]) == (start, start + 24, 60.0)
    assert maas.keys.flush_failures(force=True) == 0 and len(_rows(maas)) == 1
    assert maas.audit.verify_chain().ok


def test_two_reasons_are_two_rows_and_in_process_refusals_stay_one_row_each(maas: MaaS) -> None:
    _refuse(maas, None, times=3)
    _refuse(maas, "maas_not-a-key", times=2)
    _refuse(maas, "maas_not-a-key", source=None, times=2)  # in process, no source: one row per refusal
    assert [(e.reason, "source" in e.details) for e in _rows(maas)] == [("malformed API key", False)] * 2
    assert maas.keys.flush_failures(force=True) == 2
    counts = {e.reason: e.details["count"] for e in _rows(maas) if "count" in e.details}
    assert counts == {"no API key presented": 3, "malformed API key": 2}


def test_distinct_sources_beyond_the_bound_are_counted_under_star(maas: MaaS) -> None:
    maas.keys.configure_failure_audit(window_seconds=60, max_sources=3)
    for n in range(10):
        _refuse(maas, None, source=f"10.0.0.{n}", times=2)
    _refuse(maas, None, source="10.0.0.1")  # a tracked source keeps its own row
    assert maas.keys.flush_failures(force=True) == 4
    counts = {e.details["source"]: e.details["count"] for e in _rows(maas)}
    assert counts == {"10.0.0.0": 2, "10.0.0.1": 3, "10.0.0.2": 2, "*": 14}


def test_a_window_rolls_over_lazily_on_the_next_authentication(maas: MaaS, clock: ManualClock) -> None:
    agent = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1")
    issued = maas.keys.create_key(agent)
    wrong = issued.secret[:-4] + ("AAAA" if not issued.secret.endswith("AAAA") else "BBBB")
    _refuse(maas, wrong, times=4)
    clock.advance(60)
    _refuse(maas, wrong)  # closes the first window (written now) and opens the second
    (first,) = _rows(maas)
    assert (first.details["count"], first.actor, first.target) == (4, agent, issued.key.key_id)
    clock.advance(30)
    _refuse(maas, wrong)
    clock.advance(31)
    assert maas.keys.authenticate(issued.secret).agent_id == agent  # a success writes the closed window too
    assert [e.details["count"] for e in _rows(maas)] == [4, 2]


def test_window_zero_writes_one_row_per_refusal_and_bad_settings_are_refused(maas: MaaS) -> None:
    _refuse(maas, None, times=2)
    maas.keys.configure_failure_audit(window_seconds=0)  # writes what was pending first
    assert [e.details["count"] for e in _rows(maas)] == [2]
    _refuse(maas, None, times=3)
    assert [e.details.get("source") for e in _rows(maas)] == ["10.0.0.1"] * 4
    for bad in ({"window_seconds": -1}, {"window_seconds": float("inf")}, {"max_sources": 0}):
        with pytest.raises(InvalidInputError):
            maas.keys.configure_failure_audit(**bad)


def test_the_aggregator_is_bounded_and_thread_safe() -> None:
    aggregator = AuthFailureAggregator(window=60, max_sources=50)
    reasons = ["no API key presented", "malformed API key", "unknown key id"]
    for n in range(20_000):
        assert aggregator.add(0.0, f"source-{n}", reasons[n % 3], "http", None, f"{n:032x}") == []
    assert len(aggregator) <= 50 + len(reasons)

    entries = aggregator.take(61.0)
    assert sum(e.details["count"] for e in entries) == 20_000
    star = [e for e in entries if e.details["source"] == "*" and e.reason == reasons[0]]
    assert star[0].details["more_key_ids"] and len(star[0].details["key_ids"]) == 5
    assert len(aggregator) == 0

    # threads counting while another one closes windows: no refusal may be lost or counted twice.
    # A race is rare per round (about 1 in 10 without the lock), so 60 short rounds are run.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        rounds = [_count_concurrently(AuthFailureAggregator(window=60), reasons) for _ in range(60)]
    finally:
        sys.setswitchinterval(interval)
    assert {counted for counted, _ in rounds} == {18_000}, Counter(rounds)
    assert sum(rows > 21 for _, rows in rounds) >= 30  # windows were closed while threads counted
    assert aggregator.take(200.0, force=True) == [] and len(aggregator) == 0


def _count_concurrently(aggregator: AuthFailureAggregator, reasons: list[str]) -> tuple[int, int]:
    """Six threads add 3,000 refusals each while a seventh closes windows; returns the refusals
    counted in every row handed back, and the number of rows (21 pairs per window)."""
    written: list[int] = []
    lock = threading.Lock()
    clock = [100.0]
    done = threading.Event()

    def keep(entries: list[Any]) -> None:
        with lock:
            written.extend(e.details["count"] for e in entries)

    def hammer(k: int) -> None:
        for n in range(3_000):  # an add may close a window too, and hands its rows back
            keep(aggregator.add(clock[0], f"thread-{(n + k) % 7}", reasons[n % 3], "http", None, None))

    def closer() -> None:
        while not done.is_set():
            clock[0] += 61.0
            keep(aggregator.take(clock[0]))

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(6)]
    closing = threading.Thread(target=closer)
    closing.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    closing.join()
    keep(aggregator.take(clock[0], force=True))
    return sum(written), len(written)


# --- a real server -------------------------------------------------------------------------------------


def test_a_real_server_throttles_a_flood_and_serves_the_key_holder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with MaaS.open(home, sweep_interval=None, vectors="bruteforce") as maas:
        agent = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1")
        key = maas.keys.create_key(agent).secret
    limits = ("--rate-per-address", "1", "--burst-per-address", "10", "--auth-audit-window", "3600")
    server = start_http_server(home, tmp_path / "server.log", *limits)
    try:
        flood = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), headers=MCP_HEADERS)
        with flood, httpx.Client(headers=MCP_HEADERS | _auth(key)) as legit:
            try:
                first = flood.post(server.url, json=LIST)
            except httpx.ConnectError as exc:  # a loopback without 127.0.0.2
                pytest.skip(f"cannot send from 127.0.0.2: {exc}")
            statuses = Counter([first.status_code] + [flood.post(server.url, json=LIST).status_code for _ in range(59)])
            answered = [legit.post(server.url, json=LIST).status_code for _ in range(5)]
            retry = flood.post(server.url, json=LIST).headers.get("retry-after")
        assert set(statuses) == {401, 429} and 10 <= statuses[401] <= 14, statuses
        assert answered == [200] * 5 and retry is not None and int(retry) >= 1
    finally:
        server.stop()  # SIGINT: the open window is written at shutdown
    with MaaS.open(home, sweep_interval=None, vectors="bruteforce") as maas:
        rows = _rows(maas)
    assert [(e.details["source"], e.details["count"]) for e in rows] == [("127.0.0.2", statuses[401])]
