"""The REST API against bad input, over a real socket: every refusal is a 4xx with the one error
shape, and nothing stored changes.

A real uvicorn server (the app ``maas serve --http`` serves: MCP and REST, the guard, no rate
limits) runs in a background thread on a socket bound to a free port; requests go through httpx,
and through raw sockets where a client must misbehave (a body sent one byte at a time, a stream
dropped halfway). Each bad request is sent between two snapshots of what is stored — counts of
agents, pools, handoffs, memories and open sessions, every memory at the agent's scope with its
status, every handoff's status — which must be equal (the audit log is the one thing a refusal
adds to). Streams: a client that disconnects leaves no subscription or worker thread behind, and
a key that expires or is revoked ends its stream (the recheck interval is shortened in process),
even while a backlog keeps the stream busy.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn

from maas_langchain import AgentType, MaaS
from maas_langchain.adapters.mcp.app import create_http_app
from maas_langchain.adapters.ratelimit import AbuseLimits
from maas_langchain.adapters.rest import events as rest_events
from maas_langchain.adapters.rest.http import BODY_LIMIT
from maas_langchain.adapters.rest.models import ErrorResponse
from maas_langchain.embeddings import HashingEmbeddings

pytestmark = pytest.mark.slow

SCOPE = {"org": "acme", "project": "p1"}
STACK_MARKERS = ("Traceback", 'File "')
JSON = {"Content-Type": "application/json"}


class Server:
    """A uvicorn server in a thread, on a socket it bound itself (no port race)."""

    def __init__(self, maas: MaaS) -> None:
        self.maas = maas
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.base = f"http://127.0.0.1:{self.port}"
        app = create_http_app(maas, limits=AbuseLimits.off())
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.agents: dict[str, str] = {}
        self.keys: dict[str, str] = {}
        self.key_ids: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.client = httpx.Client(base_url=self.base, timeout=30)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()

    def add(self, name: str, agent_type: AgentType, owner: str, **key: Any) -> None:
        agent = self.maas.agents.register_agent(agent_type, owner_id=owner, project_id="p1")
        issued = self.maas.keys.create_key(agent, **key)
        self.agents[name], self.keys[name], self.key_ids[name] = agent, issued.secret, issued.key.key_id

    def auth(self, name: str = "main", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}", **extra}

    def request(self, method: str, path: str, *, who: str = "main", **kwargs: Any) -> httpx.Response:
        headers = {**self.auth(who), **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    maas = MaaS.open(tmp_path_factory.mktemp("rest-bad") / "home", embeddings=HashingEmbeddings(), sweep_interval=None)
    live = Server(maas)
    live.add("main", AgentType.CLAUDE_CODE, "u1", scope_floor=SCOPE)
    live.add("peer", AgentType.CLAUDE_CODE, "u1", scope_floor=SCOPE)
    live.start()
    sid = live.request("POST", "/v1/sessions", json={"scope": SCOPE}).json()["session_id"]
    memory = live.request("POST", f"/v1/sessions/{sid}/remember", json={"content": "The API gateway runs on port 443."})
    pool = live.request("POST", "/v1/pools", json={"name": "bad input pool"}).json()["pool_id"]
    task = {"target_id": live.agents["peer"], "context": {"task_description": "Check the gateway"}}
    handoff = live.request("POST", "/v1/handoffs", json=task).json()["handoff_id"]
    live.ids = {"session": sid, "memory": memory.json()["memory_id"], "pool": pool, "handoff": handoff}
    yield live
    live.stop()
    maas.close()


def snapshot(maas: MaaS) -> dict[str, Any]:
    """What is stored, but the audit log: counts, every memory at the scope, every handoff's status."""
    counts = {k: v for k, v in maas.status()["counts"].items() if k != "audit_events"}
    memories = [(m.memory_id, m.status.value, m.content) for m in maas.memories.history(scope=SCOPE, limit=10_000)]
    handoffs = [(h.handoff_id, h.status.value) for h in maas.handoffs.list_handoffs()]
    agents = [(a.agent_id, a.active) for a in maas.agents.list_agents()]
    pools = [(p.pool_id, p.status.value) for p in maas.pools.list_pools()]
    return {"counts": counts, "memories": memories, "handoffs": handoffs, "agents": agents, "pools": pools}


def refused(response: httpx.Response, status: int, code: str = "invalid_input") -> dict[str, Any]:
    """Check the one error shape and the status; return the body."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    for marker in STACK_MARKERS:
        assert marker not in response.text, response.text[:2_000]
    body: dict[str, Any] = response.json()
    ErrorResponse.model_validate(body)
    assert body["error"]["code"] == code, body
    assert body["error"]["message"] and len(body["error"]["message"]) < 2_100
    return body


def _deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


def _chunks(total: int, size: int = 65_536) -> Iterator[bytes]:
    yield b'{"content": "'
    sent = 0
    while sent < total:
        yield b"a" * min(size, total - sent)
        sent += size
    yield b'"}'


BAD_REQUESTS: list[tuple[str, str, str, dict[str, Any], Any, int]] = [
    # (label, method, path, headers, body, status); {memory}, {session}... are the fixture's ids
    ("malformed JSON", "POST", "/v1/memories", JSON, b'{"content": "x",', 400),
    ("JSON with a trailing comma", "POST", "/v1/memories", JSON, b'{"content": "x",}', 400),
    ("text/plain", "POST", "/v1/memories", {"Content-Type": "text/plain"}, b'{"content": "x"}', 415),
    ("form", "POST", "/v1/memories", {"Content-Type": "application/x-www-form-urlencoded"}, b"content=x", 415),
    ("multipart", "POST", "/v1/memories", {"Content-Type": "multipart/form-data; boundary=b"}, b"--b--", 415),
    ("no content type", "POST", "/v1/memories", {}, b'{"content": "x"}', 415),
    ("a JSON array", "POST", "/v1/memories", JSON, b'[{"content": "x"}]', 400),
    ("a JSON number", "POST", "/v1/memories", JSON, b"42", 400),
    ("a JSON string", "POST", "/v1/memories", JSON, b'"content"', 400),
    ("JSON null", "POST", "/v1/memories", JSON, b"null", 400),
    ("100k nested arrays", "POST", "/v1/memories", JSON, _deep(100_000), 400),
    ("100k nested objects", "POST", "/v1/memories", JSON, b'{"a":' * 100_000 + b"1" + b"}" * 100_000, 400),
    ("invalid UTF-8", "POST", "/v1/memories", JSON, b'{"content": "\xff\xfe\xc3("}', 400),
    ("a lone surrogate escape", "POST", "/v1/memories", JSON, b'{"content": "\\ud800"}', 400),
    ("NaN", "POST", "/v1/memories/recall", JSON, b'{"query": "x", "top_k": NaN}', 400),
    ("an unknown field", "POST", "/v1/memories", JSON, b'{"content": "x", "bogus": 1}', 400),
    (
        "an unknown field in a session",
        "POST",
        "/v1/sessions/{session}/remember",
        JSON,
        b'{"content": "x", "scope": {}}',
        400,
    ),
    ("a wrong type", "POST", "/v1/memories", JSON, b'{"content": 5}', 400),
    ("a wrong nested type", "POST", "/v1/sessions/{session}/remember-many", JSON, b'{"items": [{"content": []}]}', 400),
    ("a missing field", "POST", "/v1/memories", JSON, b"{}", 400),
    ("an empty content", "POST", "/v1/memories", JSON, b'{"content": ""}', 400),
    ("a huge content", "POST", "/v1/memories", JSON, json.dumps({"content": "x" * 40_000}).encode(), 400),
    ("a bad enum", "POST", "/v1/pools", JSON, b'{"name": "p", "scope": "galaxy"}', 400),
    ("a bad time", "POST", "/v1/state", JSON, b'{"as_of": "the day before yesterday"}', 400),
    (
        "an out of range int",
        "POST",
        "/v1/memories/recall",
        JSON,
        b'{"query": "x", "top_k": 100000000000000000000}',
        400,
    ),
    ("a bad query int", "GET", "/v1/pools/{pool}/shares?limit=abc", {}, None, 400),
    ("an unknown query parameter value", "GET", "/v1/pools/{pool}/shares?max_scope=galaxy", {}, None, 400),
    ("a memory id that is no UUID", "GET", "/v1/memories/not-a-uuid", {}, None, 400),
    ("an id with a NUL", "GET", "/v1/memories/%00", {}, None, 400),
    ("an id with a newline", "DELETE", "/v1/memories/a%0Ab", {}, None, 400),
    ("an id of 65 characters", "GET", "/v1/handoffs/" + "a" * 65, {}, None, 400),
    ("a session id with slashes", "POST", "/v1/sessions/..%2F..%2Fetc/recall", JSON, b'{"query": "x"}', 404),
    ("a session id that is no UUID", "POST", "/v1/sessions/..%2Eetc/recall", JSON, b'{"query": "x"}', 400),
    (
        "an unknown session",
        "POST",
        "/v1/sessions/00000000-0000-4000-8000-000000000000/remember",
        JSON,
        b'{"content": "x"}',
        404,
    ),
    ("an unknown route", "GET", "/v1/nothing-here", {}, None, 404),
    ("an unknown version", "GET", "/v2/memories/{memory}", {}, None, 404),
    ("a wrong method", "PUT", "/v1/memories", JSON, b'{"content": "x"}', 405),
    ("a wrong method on an id", "PATCH", "/v1/memories/{memory}", JSON, b"{}", 405),
    ("an empty Idempotency-Key", "POST", "/v1/memories", {**JSON, "Idempotency-Key": ""}, b'{"content": "x"}', 400),
    (
        "a long Idempotency-Key",
        "POST",
        "/v1/memories",
        {**JSON, "Idempotency-Key": "k" * 256},
        b'{"content": "x"}',
        400,
    ),
    (
        "an Idempotency-Key with spaces",
        "POST",
        "/v1/memories",
        {**JSON, "Idempotency-Key": "a b"},
        b'{"content": "x"}',
        400,
    ),
    (
        "a non-ASCII Idempotency-Key",
        "POST",
        "/v1/memories",
        {**JSON, "Idempotency-Key": b"cl\xe9"},
        b'{"content": "x"}',
        400,
    ),
    ("a bad Last-Event-ID", "GET", "/v1/events", {"Last-Event-ID": "abc"}, None, 400),
    ("a negative after", "GET", "/v1/events?after=-1", {}, None, 400),
]


@pytest.mark.parametrize(
    ("label", "method", "path", "headers", "body", "status"), BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS]
)
def test_a_bad_request_is_refused_with_the_error_shape_and_changes_nothing(
    server: Server, label: str, method: str, path: str, headers: dict[str, Any], body: Any, status: int
) -> None:
    path = path.format(**server.ids)
    before = snapshot(server.maas)
    response = server.request(method, path, headers=headers, content=body)
    refused(response, status, "not_found" if status == 404 else "invalid_input")
    assert snapshot(server.maas) == before, label


def test_a_body_over_the_limit_is_413_with_or_without_a_content_length(server: Server) -> None:
    before = snapshot(server.maas)
    big = json.dumps({"content": "a" * (BODY_LIMIT + 10)}).encode()
    refused(server.request("POST", "/v1/memories", headers=JSON, content=big), 413)
    # chunked: no Content-Length, the guard counts what arrives
    chunked = server.request("POST", "/v1/memories", headers=JSON, content=_chunks(BODY_LIMIT + 10))
    assert "content-length" not in chunked.request.headers and chunked.request.headers["transfer-encoding"] == "chunked"
    refused(chunked, 413)
    # a Content-Length over the limit is refused before the body is read (none is sent here)
    raw = _raw(server, b"POST /v1/memories HTTP/1.1\r\n", {**JSON, "Content-Length": str(BODY_LIMIT * 50)}, b"")
    assert raw.startswith(b"HTTP/1.1 413"), raw[:300]
    assert _json(raw)["error"]["code"] == "invalid_input"
    # exactly at the limit is read (and refused only for what it says)
    at_limit = json.dumps({"content": "a" * (BODY_LIMIT - 20)}).encode()
    assert len(at_limit) <= BODY_LIMIT
    refused(server.request("POST", "/v1/memories", headers=JSON, content=at_limit), 400)
    assert snapshot(server.maas) == before
    assert server.client.get("/healthz").status_code == 200


def test_the_same_idempotency_key_with_another_body_is_refused_and_changes_nothing(server: Server) -> None:
    headers = {**JSON, "Idempotency-Key": "bad-input-1"}
    first = server.request("POST", "/v1/memories", headers=headers, json={"content": "Idempotent fact one."})
    assert first.status_code == 201, first.text
    before = snapshot(server.maas)
    again = server.request("POST", "/v1/memories", headers=headers, json={"content": "Idempotent fact one."})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotency-replayed"] == "true"
    refused(server.request("POST", "/v1/memories", headers=headers, json={"content": "Another fact."}), 400)
    # another route, same key: a different request too
    refused(server.request("POST", "/v1/pools", headers=headers, json={"name": "x"}), 400)
    assert snapshot(server.maas) == before
    # another agent's same key is its own
    other = server.request("POST", "/v1/memories", who="peer", headers=headers, json={"content": "Peer fact."})
    assert other.status_code == 201 and "idempotency-replayed" not in other.headers


def test_requests_without_a_valid_key_are_401_whatever_the_body(server: Server) -> None:
    before = snapshot(server.maas)
    for auth in ({}, {"Authorization": "Bearer maas_nope"}, {"Authorization": "Bearer"}, {"Authorization": "x" * 9000}):
        for method, path, body in (
            ("POST", "/v1/memories", b'{"content": "x"}'),
            ("POST", "/v1/memories", b"{not json"),
            ("GET", "/v1/nothing-here", None),
            ("GET", "/v1/events", None),
        ):
            response = server.client.request(method, path, headers={**JSON, **auth}, content=body)
            if response.status_code == 431:  # an oversized header is refused by the HTTP server itself
                continue
            refused(response, 401, "permission_denied")
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert snapshot(server.maas) == before


# --- raw sockets: slow clients, dropped streams -------------------------------------------------


def _raw(server: Server, start: bytes, headers: dict[str, str], body: bytes, *, delay: float = 0.0) -> bytes:
    """Send a request by hand (``delay``: seconds between body bytes) and read the whole answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        head = {"Host": f"127.0.0.1:{server.port}", "Connection": "close", **server.auth(), **headers}
        sock.sendall(start + b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in head.items()) + b"\r\n")
        if delay:
            for i in range(len(body)):
                sock.sendall(body[i : i + 1])
                time.sleep(delay)
        elif body:
            sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65_536):
            answer += chunk
        return answer


def _json(answer: bytes) -> Any:
    """The JSON body of a raw HTTP/1.1 answer (chunked or not)."""
    head, _, body = answer.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        data = b""
        while body:
            size, _, rest = body.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            data, body = data + rest[:n], rest[n + 2 :]
        body = data
    return json.loads(body)


def test_a_slow_client_is_served_and_others_are_served_meanwhile(server: Server) -> None:
    body = json.dumps({"content": "A slow client wrote this."}).encode()
    result: dict[str, bytes] = {}
    slow = threading.Thread(
        target=lambda: result.update(
            answer=_raw(
                server, b"POST /v1/memories HTTP/1.1\r\n", {**JSON, "Content-Length": str(len(body))}, body, delay=0.05
            )
        )
    )
    started = time.monotonic()
    slow.start()
    served = []
    while slow.is_alive() and time.monotonic() - started < 30:
        t0 = time.monotonic()
        response = server.request("GET", f"/v1/memories/{server.ids['memory']}")
        assert response.status_code == 200
        served.append(time.monotonic() - t0)
        time.sleep(0.05)
    slow.join(30)
    assert time.monotonic() - started >= len(body) * 0.05 * 0.9  # it really was slow
    assert len(served) >= 10 and max(served) < 1.0, served  # others were not held up
    status_line = result["answer"].split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 201"), result["answer"][:500]
    # a slow client with a bad body is refused cleanly, and nothing changes
    before = snapshot(server.maas)
    bad = b'{"content": "x", "oops": true}'
    answer = _raw(server, b"POST /v1/memories HTTP/1.1\r\n", {**JSON, "Content-Length": str(len(bad))}, bad, delay=0.05)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:500]
    assert _json(answer)["error"]["code"] == "invalid_input"
    assert snapshot(server.maas) == before


def test_a_client_that_stops_sending_its_body_does_not_change_anything(server: Server) -> None:
    before = snapshot(server.maas)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        head = {**server.auth(), **JSON, "Host": "x", "Content-Length": "100"}
        sock.sendall(b"POST /v1/memories HTTP/1.1\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in head.items()))
        sock.sendall(b'\r\n{"content": "half a')
        time.sleep(0.3)
    time.sleep(0.3)
    assert server.client.get("/healthz").status_code == 200
    assert snapshot(server.maas) == before


def _settled_threads(limit: int, timeout: float = 20.0) -> int:
    """Wait (anyio's idle workers retire after 10 s) until at most ``limit`` threads run; return the count."""
    deadline = time.monotonic() + timeout
    while threading.active_count() > limit and time.monotonic() < deadline:
        time.sleep(0.1)
    return threading.active_count()


def test_a_stream_client_that_disconnects_leaves_nothing_behind(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriptions: list[Any] = []
    subscribe = server.maas.events.subscribe

    def recorded(*args: Any, **kwargs: Any) -> Any:
        sub = subscribe(*args, **kwargs)
        subscriptions.append(sub)
        return sub

    monkeypatch.setattr(server.maas.events, "subscribe", recorded)
    for _ in range(3):  # warm the worker threads up, then take the baseline
        assert server.request("GET", "/v1/agents").status_code == 200
    baseline = threading.active_count()
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            head = {**server.auth(), "Host": "x", "Accept": "text/event-stream"}
            sock.sendall(
                b"GET /v1/events?after=0 HTTP/1.1\r\n"
                + b"".join(f"{k}: {v}\r\n".encode() for k, v in head.items())
                + b"\r\n"
            )
            got = b""
            while b"event: " not in got:  # the stream is open and has sent events
                got += sock.recv(65_536)
            assert got.startswith(b"HTTP/1.1 200"), got[:300]
        # closed mid-stream
    deadline = time.monotonic() + 10
    while not all(s.closed for s in subscriptions) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(subscriptions) == 5 and all(s.closed for s in subscriptions)
    assert server.request("GET", f"/v1/memories/{server.ids['memory']}").status_code == 200
    assert _settled_threads(baseline) <= baseline


def _read_stream(server: Server, key: str, until: float) -> tuple[list[str], float]:
    """Read ``GET /v1/events`` with ``key`` until the server ends it (or ``until`` seconds pass)."""
    lines: list[str] = []
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.stream("GET", server.base + "/v1/events", headers=headers, timeout=until + 5) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            lines.append(line)
            if time.monotonic() - started > until:
                break
    return lines, time.monotonic() - started


@pytest.mark.parametrize("how", ["expires", "revoked"])
def test_a_key_that_stops_being_valid_ends_its_stream(
    server: Server, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setattr(rest_events, "RECHECK_SECONDS", 0.2)
    agent = server.agents["peer"]
    issued = server.maas.keys.create_key(agent, expires_at=time.time() + 1.5 if how == "expires" else None)
    if how == "revoked":
        threading.Timer(1.0, server.maas.keys.revoke_key, args=(issued.key.key_id,)).start()
    lines, took = _read_stream(server, issued.secret, until=15)
    assert "event: error" in lines, lines
    data = json.loads(next(line for line in lines if line.startswith("data: ") and "permission_denied" in line)[6:])
    assert data == {"code": "permission_denied", "message": "key no longer valid"}
    assert 0.9 < took < 5, took
    # the key is refused from now on; the server serves everyone else
    refused(
        server.client.get("/v1/agents", headers={"Authorization": f"Bearer {issued.secret}"}), 401, "permission_denied"
    )
    assert server.request("GET", "/v1/agents").status_code == 200


def test_the_server_is_still_up_and_consistent(server: Server) -> None:
    assert server.client.get("/healthz").json() == {"ok": True}
    assert server.request("GET", f"/v1/memories/{server.ids['memory']}").json()["status"] == "active"
    assert server.request("GET", f"/v1/handoffs/{server.ids['handoff']}").json()["status"] == "pending"
    assert server.thread.is_alive()


def test_a_revoked_key_stops_reading_a_backlog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The recheck also runs while events keep coming: a key revoked when its stream opens does not
    read a long backlog (``?after=0``) to its end (the stream generator, driven directly)."""
    monkeypatch.setattr(rest_events, "RECHECK_SECONDS", 0.0)
    maas = MaaS.open(tmp_path / "home", embeddings=HashingEmbeddings(), sweep_interval=None)
    try:
        agent = maas.agents.register_agent(AgentType.CLAUDE_CODE, "u1", project_id="p1")
        issued = maas.keys.create_key(agent)
        for _ in range(1_200):  # more than two reads of the stream
            maas.agents.register_agent(AgentType.CUSTOM_PIPELINE, "u1", project_id="p1")
        sub = maas.events.subscribe(agent_id=agent, after_seq=0)
        maas.keys.revoke_key(issued.key.key_id)

        class Request:
            def __init__(self) -> None:
                self.headers = {"authorization": f"Bearer {issued.secret}"}

            async def is_disconnected(self) -> bool:
                return False

        async def read() -> tuple[int, bool]:
            delivered = 0
            async for message in rest_events._stream(maas, Request(), sub):  # type: ignore[arg-type]
                if message.startswith("event: error"):
                    return delivered, True
                delivered += message.startswith("id: ") and "\nevent: " in message
            return delivered, False

        delivered, ended = anyio.run(read)
        assert ended and delivered <= 500, f"a revoked key read {delivered} events before its stream ended"
        assert sub.closed
    finally:
        maas.close()
