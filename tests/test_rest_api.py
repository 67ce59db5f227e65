"""The REST API over a real socket: sessions, access across tenants, idempotency, SSE resume.

A real uvicorn server runs the app ``maas serve --http`` serves (MCP and REST on one port) in a
background thread, over a real SQLite file and a real PostgreSQL schema; requests go through
httpx. Every refusal is checked for the one error shape and for its audit row.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from maas_langchain import AgentType, MaaS
from maas_langchain.adapters.mcp.app import create_http_app
from maas_langchain.adapters.ratelimit import AbuseLimits
from maas_langchain.embeddings import HashingEmbeddings
from tests.conftest import free_loopback_port, postgres_url, require_postgres

SCOPE = {"org": "acme", "project": "market-research-q3"}


class Server:
    """A live server with named keys (``headers(name)``)."""

    def __init__(self, maas: MaaS) -> None:
        self.maas = maas
        self.port = free_loopback_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_http_app(maas, limits=AbuseLimits.off()), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.keys: dict[str, str] = {}
        self.agents: dict[str, str] = {}

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def add(self, name: str, agent_type: AgentType, owner: str, **key: Any) -> str:
        agent = self.maas.agents.register_agent(agent_type, owner_id=owner, project_id="market-research-q3")
        self.agents[name] = agent
        self.keys[name] = self.maas.keys.create_key(agent, **key).secret
        return agent

    def headers(self, name: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}", **extra}

    def call(self, name: str, method: str, path: str, body: Any = None, **headers: str) -> httpx.Response:
        return httpx.request(method, self.base + path, json=body, headers=self.headers(name, **headers), timeout=60)


def _open(kind: str, tmp_path: Path) -> MaaS:
    if kind == "postgres":
        require_postgres()
        return MaaS.open(
            postgres_url(tmp_path), embeddings=HashingEmbeddings(), vectors="bruteforce", sweep_interval=None
        )
    return MaaS.open(tmp_path / "home", embeddings=HashingEmbeddings(), sweep_interval=None)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    maas = _open(request.param, tmp_path)
    live = Server(maas)
    live.add("supervisor", AgentType.CLAUDE_CODE, "u1", scope_floor=SCOPE)
    live.add("worker", AgentType.GPT_AGENT, "u1", scope_floor={**SCOPE, "agent": "worker-1"})
    live.add("reader", AgentType.GPT_AGENT, "u1", scope_floor=SCOPE, read_only=True)
    live.add("globex", AgentType.CLAUDE_CODE, "u2", scope_floor={"org": "globex", "project": "market-research-q3"})
    live.add("human", AgentType.HUMAN, "u1")
    live.add("other_human", AgentType.HUMAN, "u2")
    live.start()
    yield live
    live.stop()
    maas.close()


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "retryable"} <= set(body["error"]), body
    assert body["error"]["code"] == code, body
    assert "Traceback" not in response.text
    return str(body["error"]["message"])


def _refusals(maas: MaaS, agent_id: str) -> int:
    return sum(1 for e in maas.audit.query(actor=agent_id, limit=10_000) if e.outcome != "success")


def test_the_specification_workflow_over_rest(server: Server) -> None:
    created = server.call("supervisor", "POST", "/v1/sessions", {"scope": {**SCOPE, "agent": "worker-1"}})
    assert created.status_code == 201, created.text
    worker = created.json()["session_id"]
    wrote = server.call(
        "supervisor",
        "POST",
        f"/v1/sessions/{worker}/remember",
        {"content": "Competitor X raised prices by 20% in Q2.", "memory_category": "knowledge"},
    )
    assert wrote.status_code == 201 and wrote.json()["scope"] == {**SCOPE, "agent": "worker-1"}
    assert server.call("supervisor", "DELETE", f"/v1/sessions/{worker}").json()["closed_at"] is not None
    supervisor = server.call("supervisor", "POST", "/v1/sessions", {"scope": SCOPE}).json()["session_id"]
    recalled = server.call(
        "supervisor", "POST", f"/v1/sessions/{supervisor}/recall", {"query": "competitor pricing", "top_k": 10}
    ).json()
    assert "Competitor X raised prices by 20% in Q2." in recalled["formatted"]
    assert [i["memory_id"] for i in recalled["items"]] == [wrote.json()["memory_id"]]
    # a remember into a closed session is refused, and nothing is stored
    _error(server.call("supervisor", "POST", f"/v1/sessions/{worker}/remember", {"content": "late"}), 404, "not_found")


def test_structured_reads_through_a_session(server: Server) -> None:
    sid = server.call("supervisor", "POST", "/v1/sessions", {"scope": SCOPE}).json()["session_id"]
    many = server.call(
        "supervisor",
        "POST",
        f"/v1/sessions/{sid}/remember-many",
        {"items": [{"content": "Acme's pricing tier is Pro."}, {"content": "Acme's pricing tier is Enterprise."}]},
    )
    assert many.status_code == 201 and len(many.json()["memories"]) == 2
    state = server.call("supervisor", "POST", f"/v1/sessions/{sid}/state", {}).json()
    assert state["entities"], state
    profile = server.call("supervisor", "POST", f"/v1/sessions/{sid}/profile", {}).json()
    assert profile["scope"] == SCOPE
    reflection = server.call("supervisor", "POST", f"/v1/sessions/{sid}/reflect", {"query": "acme pricing"}).json()
    assert set(reflection["memory_ids"]) <= {m["memory_id"] for m in many.json()["memories"]}


def test_tenants_and_agents_cannot_reach_each_other(server: Server) -> None:
    maas = server.maas
    sid = server.call("supervisor", "POST", "/v1/sessions", {"scope": SCOPE}).json()["session_id"]
    memory = server.call("supervisor", "POST", f"/v1/sessions/{sid}/remember", {"content": "Q3 budget is 40k."})
    memory_id = memory.json()["memory_id"]
    # another owner: its floor is another org, so acme's scope is refused and the ids look unknown
    before = _refusals(maas, server.agents["globex"])
    _error(server.call("globex", "POST", "/v1/sessions", {"scope": SCOPE}), 403, "permission_denied")
    _error(server.call("globex", "GET", f"/v1/memories/{memory_id}"), 404, "not_found")
    _error(server.call("globex", "POST", f"/v1/sessions/{sid}/recall", {"query": "budget"}), 404, "not_found")
    _error(server.call("globex", "DELETE", f"/v1/memories/{memory_id}"), 403, "permission_denied")
    assert _refusals(maas, server.agents["globex"]) == before + 4
    recalled = server.call("globex", "POST", "/v1/memories/recall", {"query": "Q3 budget"}).json()
    assert recalled["memories"] == []
    # a worker's floor is narrower: a sibling scope is refused; an ancestor reads inherited context only
    sibling = {**SCOPE, "agent": "worker-2"}
    _error(server.call("worker", "POST", "/v1/sessions", {"scope": sibling}), 403, "permission_denied")
    up = server.call("worker", "POST", "/v1/sessions", {"scope": {"org": "acme"}}).json()["session_id"]
    assert server.call("worker", "POST", f"/v1/sessions/{up}/recall", {"query": "Q3 budget"}).json()["items"] == []
    # the same owner's agent may not use a session another agent opened
    _error(server.call("reader", "GET", f"/v1/sessions/{sid}"), 404, "not_found")
    # a read-only key reads but never writes
    assert server.call("reader", "GET", f"/v1/memories/{memory_id}").status_code == 200
    _error(server.call("reader", "POST", "/v1/memories", {"content": "x"}), 403, "permission_denied")
    assert maas.memories.get(memory_id) is not None and maas.memories.get(memory_id).status.value == "active"


def test_audit_is_for_humans_and_shows_their_own_tenant(server: Server) -> None:
    _error(server.call("supervisor", "POST", "/v1/audit/query", {}), 403, "permission_denied")
    server.call("globex", "POST", "/v1/memories", {"content": "globex secret plan"})
    mine = server.call("human", "POST", "/v1/audit/query", {"limit": 1000}).json()["items"]
    u1_agents = {a for n, a in server.agents.items() if n not in ("globex", "other_human")}
    assert mine and {e["actor"] for e in mine} <= u1_agents
    theirs = server.call("other_human", "POST", "/v1/audit/query", {"limit": 1000}).json()["items"]
    assert {e["actor"] for e in theirs} <= {server.agents["globex"], server.agents["other_human"]}
    assert any(e["actor"] == server.agents["globex"] for e in theirs)
    # pages: a cursor walks every entry once
    seen, cursor = [], None
    while True:
        page = server.call("human", "POST", "/v1/audit/query", {"limit": 2, **({"cursor": cursor} if cursor else {})})
        seen += [e["seq"] for e in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["seq"] for e in mine]
    verify = server.call("human", "GET", "/v1/audit/verify").json()
    assert verify["intact"] is True and verify["ok"] is True


def test_memory_history_pages_without_gaps_or_repeats(server: Server) -> None:
    wrote = [server.call("supervisor", "POST", "/v1/memories", {"content": f"fact number {i}"}) for i in range(7)]
    ids = [w.json()["memory_id"] for w in wrote]
    seen: list[str] = []
    cursor = None
    while True:
        body: dict[str, Any] = {"limit": 3}
        if cursor:
            body["cursor"] = cursor
        page = server.call("supervisor", "POST", "/v1/memories/history", body).json()
        seen += [m["memory_id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


def test_a_retried_write_with_an_idempotency_key_runs_once(server: Server) -> None:
    target = server.agents["worker"]
    body = {"target_id": target, "context": {"task_description": "Finish the Q3 pricing table"}}
    first = server.call("supervisor", "POST", "/v1/handoffs", body, **{"Idempotency-Key": "handoff-1"})
    again = server.call("supervisor", "POST", "/v1/handoffs", body, **{"Idempotency-Key": "handoff-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotency-replayed"] == "true" and again.json() == first.json()
    assert len(server.maas.handoffs.get_pending_handoffs(target)) == 1
    # the same key for another request is refused; another agent's same key is its own
    _error(
        server.call(
            "supervisor", "POST", "/v1/handoffs", {**body, "ttl_seconds": 60}, **{"Idempotency-Key": "handoff-1"}
        ),
        400,
        "invalid_input",
    )

    # concurrent retries: exactly one handoff, the others replay or are told to retry
    def send(_: int) -> httpx.Response:
        return server.call("supervisor", "POST", "/v1/handoffs", body, **{"Idempotency-Key": "handoff-2"})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    assert all(a.json()["error"]["retryable"] for a in answers if a.status_code == 409)
    assert len({a.json()["handoff_id"] for a in answers if a.status_code == 201}) == 1
    assert len(server.maas.handoffs.get_pending_handoffs(target)) == 2


def test_a_handoff_cycle_over_rest(server: Server) -> None:
    worker = server.agents["worker"]
    created = server.call(
        "supervisor", "POST", "/v1/handoffs", {"target_id": worker, "context": {"task_description": "Summarise"}}
    ).json()
    hid = created["handoff_id"]
    assert [h["handoff_id"] for h in server.call("worker", "GET", "/v1/handoffs/pending").json()["handoffs"]] == [hid]
    _error(server.call("supervisor", "POST", f"/v1/handoffs/{hid}/accept", {}), 403, "permission_denied")
    assert server.call("worker", "POST", f"/v1/handoffs/{hid}/accept").json()["status"] == "accepted"
    done = server.call("worker", "POST", f"/v1/handoffs/{hid}/complete", {"result": {"rows": 12}}).json()
    assert done["status"] == "completed" and done["result"] == {"rows": 12}
    assert server.call("supervisor", "GET", f"/v1/handoffs/{hid}").json()["status"] == "completed"
    _error(server.call("globex", "GET", f"/v1/handoffs/{hid}"), 403, "permission_denied")  # as in every interface


def _events(
    server: Server, name: str, headers: dict[str, str], want: int, path: str = "/v1/events"
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    with httpx.stream("GET", server.base + path, headers={**server.headers(name), **headers}, timeout=30) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        event: dict[str, Any] = {}
        for line in r.iter_lines():
            if line.startswith("id: "):
                event["id"] = int(line[4:])
            elif line.startswith("event: "):
                event["event"] = line[7:]
            elif line.startswith("data: "):
                event["data"] = json.loads(line[6:])
            elif line == "" and "data" in event:
                found.append(event)
                event = {}
            if len(found) >= want or time.monotonic() > deadline:
                break
    return found


def test_events_stream_resumes_from_last_event_id_and_respects_visibility(server: Server) -> None:
    start = server.maas.events.latest_seq()
    ids = [server.call("supervisor", "POST", "/v1/memories", {"content": f"event fact {i}"}).json() for i in range(3)]
    server.call("globex", "POST", "/v1/memories", {"content": "globex only"})
    got = _events(server, "supervisor", {"Last-Event-ID": str(start)}, 3, "/v1/events?kinds=memory.written")
    assert [e["data"]["data"]["memory_id"] for e in got] == [m["memory_id"] for m in ids]
    assert [e["id"] for e in got] == sorted(e["id"] for e in got) and all(e["id"] > start for e in got)
    # resume after the first one: the next two, nothing twice
    resumed = _events(server, "supervisor", {"Last-Event-ID": str(got[0]["id"])}, 2, "/v1/events?kinds=memory.written")
    assert [e["id"] for e in resumed] == [e["id"] for e in got[1:]]
    # globex sees its own write and none of acme's
    theirs = _events(server, "globex", {}, 1, f"/v1/events?after={start}&kinds=memory.written")
    assert theirs[0]["data"]["data"]["author_id"] == server.agents["globex"]
    _error(server.call("supervisor", "GET", "/v1/events", None, **{"Last-Event-ID": "abc"}), 400, "invalid_input")


def test_the_openapi_document_is_served_without_a_key_and_matches_the_committed_one(server: Server) -> None:
    served = httpx.get(server.base + "/v1/openapi.json", timeout=30).json()
    committed = json.loads((Path(__file__).parent.parent / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert served == committed, "docs/openapi.json is stale: run python scripts/export_openapi.py and commit it"
    assert served["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_requests_without_a_valid_key_are_refused_with_the_error_shape(server: Server) -> None:
    for headers in ({}, {"Authorization": "Bearer maas_nope"}, {"Authorization": "Basic x"}):
        response = httpx.post(server.base + "/v1/memories", json={"content": "x"}, headers=headers, timeout=30)
        _error(response, 401, "permission_denied")
        assert response.headers["www-authenticate"].startswith("Bearer")
    key_id = server.maas.keys.list_keys(server.agents["worker"])[0].key_id
    server.maas.keys.revoke_key(key_id)
    _error(server.call("worker", "GET", "/v1/handoffs/pending"), 401, "permission_denied")


def test_history_pages_past_the_query_limit(tmp_path: Path) -> None:
    from maas_langchain.core.limits import CapacityLimits

    maas = MaaS.open(tmp_path / "h", embeddings=HashingEmbeddings(), limits=CapacityLimits(max_query_limit=5))
    try:
        ids = [maas.memories.remember(f"fact {i}", scope=SCOPE).memory_id for i in range(8)]
        seen, after = [], 0
        while True:
            page = maas.memories.history_page(scope=SCOPE, limit=2, after=after)
            seen += [m.memory_id for m in page.memories]
            if page.next is None:
                break
            after = page.next
        assert seen == ids
    finally:
        maas.close()


def test_last_event_id_wins_over_after(server: Server) -> None:
    start = server.maas.events.latest_seq()
    wrote = [server.call("supervisor", "POST", "/v1/memories", {"content": f"ordered fact {i}"}).json() for i in range(2)]
    got = _events(server, "supervisor", {}, 2, f"/v1/events?after={start}&kinds=memory.written")
    again = _events(
        server, "supervisor", {"Last-Event-ID": str(got[0]["id"])}, 1, f"/v1/events?after={start}&kinds=memory.written"
    )
    assert [e["data"]["data"]["memory_id"] for e in again] == [wrote[1]["memory_id"]]
