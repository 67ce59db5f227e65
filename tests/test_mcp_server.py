"""The MCP server with the SDK's own clients, in process (fast, test-defined tools) and as a real
``maas serve`` subprocess over stdio and streamable HTTP (every registry tool).

The subprocess tests share one SQLite home served over HTTP (module fixture); the store's
vector index is ``bruteforce`` (``MAAS_VECTORS_URL``) so that another process (this test
process, or a client script) can open the same database while the server runs: the embedded
Chroma folder would be locked by the server, and recall over a small scope scores the vectors
stored in SQLite exactly, whichever process wrote them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import free_loopback_port
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from pydantic import BaseModel, Field

from maas_langchain import AgentType, MaaS
from maas_langchain.adapters.mcp.app import create_http_app
from maas_langchain.adapters.tools.registry import ToolContext, ToolSpec
from maas_langchain.adapters.tools.specs import tool_specs

ROOT = Path(__file__).resolve().parents[1]
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}

# --- helpers shared with test_mcp_fuzz.py ------------------------------------------------------------


def server_env(**extra: str) -> dict[str, str]:
    """Environment of a server subprocess: offline, bruteforce vectors, no inherited key."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAAS_API_KEY", "MAAS_URL")}
    env.update(HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False", MAAS_VECTORS_URL="bruteforce", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


@dataclass
class HttpServer:
    """A ``maas serve --http`` subprocess."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_http_server(home: Path, log: Path, *extra: str) -> HttpServer:
    """Start ``python -m maas_langchain.adapters.cli --home HOME serve --http [EXTRA...]`` on a free
    port; wait for it."""
    for _attempt in range(2):  # a port race is retried once
        port = free_loopback_port()
        command = [
            sys.executable,
            "-m",
            "maas_langchain.adapters.cli",
            "--home",
            str(home),
            "serve",
            "--http",
            "--port",
            str(port),
            *extra,
        ]
        with open(log, "ab") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=server_env(), cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        if wait_for_health(proc, base, log, "maas serve"):
            return HttpServer(proc, base + "/mcp", log)
    pytest.fail(f"maas serve exited: {log.read_text()[-3000:]}")


def wait_for_health(proc: subprocess.Popen[bytes], base: str, log: Path, what: str) -> bool:
    """Poll ``base/healthz`` for up to 60 s: True once it answers, False if the process exited
    (a port race: the caller retries on another port); a server that never answers fails the test."""
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        pytest.fail(f"{what} did not answer within 60 s: {log.read_text()[-3000:]}")
    return False


@contextlib.asynccontextmanager
async def mcp_session(url: str, key: str | None, *, app: Any = None) -> AsyncIterator[ClientSession]:
    """An initialised SDK client session over streamable HTTP (``app``: in-process ASGI transport)."""
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    transport = None if app is None else httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(headers=headers, transport=transport, timeout=60) as client,
        streamable_http_client(url, http_client=client) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def http_statuses(exc: BaseException) -> list[int]:
    """HTTP statuses of the ``httpx.HTTPStatusError`` inside a (nested) exception group."""
    if isinstance(exc, httpx.HTTPStatusError):
        return [exc.response.status_code]
    if isinstance(exc, BaseExceptionGroup):
        return [code for inner in exc.exceptions for code in http_statuses(inner)]
    return []


def payload(result: types.CallToolResult) -> dict[str, Any]:
    """The JSON body of a tool result (checking ``isError`` agrees with it)."""
    assert len(result.content) == 1 and isinstance(result.content[0], types.TextContent)
    body: dict[str, Any] = json.loads(result.content[0].text)
    assert result.isError is (not body["ok"])
    return body


def registry_listing() -> list[tuple[str, str, dict[str, Any]]]:
    return [(s.name, s.description, s.args_schema.model_json_schema()) for s in tool_specs()]


def mcp_listing(tools: types.ListToolsResult) -> list[tuple[str, str | None, dict[str, Any]]]:
    return [(t.name, t.description, t.inputSchema) for t in tools.tools]


# --- in process: the server layer with tools defined here ------------------------------------------


class EchoArgs(BaseModel):
    text: str = Field(description="What to echo.", max_length=100)
    times: int = Field(default=1, ge=1, le=3)


class NoArgs(BaseModel):
    pass


def _echo(ctx: ToolContext, args: EchoArgs) -> dict[str, Any]:
    return {"agent": ctx.agent_id, "text": args.text * args.times, "floor": ctx.scope_floor}


def _boom(ctx: ToolContext, args: NoArgs) -> None:
    raise RuntimeError("db password is hunter2")


SPECS = [
    ToolSpec("echo", "Echo the text.", EchoArgs, _echo),
    ToolSpec("write_note", "Pretend to write.", NoArgs, lambda ctx, args: "written", writes=True),
    ToolSpec("boom", "Always fails.", NoArgs, _boom),
]


@pytest.fixture
def local() -> Iterator[tuple[MaaS, str, str, str]]:
    """An in-memory instance with one agent, a read-write key and a read-only floor key."""
    with MaaS.open(":memory:", sweep_interval=None) as maas:
        agent = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1")
        rw = maas.keys.create_key(agent).secret
        ro = maas.keys.create_key(agent, read_only=True, scope_floor={"project": "p1"}).secret
        yield maas, agent, rw, ro


@pytest.mark.asyncio
async def test_in_process_tools_results_and_errors(local: tuple[MaaS, str, str, str]) -> None:
    maas, agent, rw, ro = local
    app = create_http_app(maas, SPECS)
    async with app.router.lifespan_context(app):
        await _exercise_rw(app, agent, rw)
        await _exercise_ro(app, ro)


async def _exercise_rw(app: Any, agent: str, rw: str) -> None:
    async with mcp_session("http://t/mcp", rw, app=app) as session:
        listed = await session.list_tools()
        assert mcp_listing(listed) == [(s.name, s.description, s.args_schema.model_json_schema()) for s in SPECS]
        assert [t.annotations.readOnlyHint for t in listed.tools if t.annotations] == [True, False, True]
        ok = payload(await session.call_tool("echo", {"text": "hi", "times": 2}))
        assert ok == {"ok": True, "result": {"agent": agent, "text": "hihi", "floor": None}}
        bad = payload(await session.call_tool("echo", {"text": 3, "extra": 1}))
        assert bad["error"]["code"] == "invalid_input" and "text" in bad["error"]["message"]
        missing = payload(await session.call_tool("echo", {}))
        assert missing["error"]["code"] == "invalid_input"
        unknown = payload(await session.call_tool("no_such_tool", {}))
        assert unknown["error"]["code"] == "not_found"
        boom = payload(await session.call_tool("boom", {}))
        assert boom["error"]["code"] == "internal_error" and "hunter2" not in json.dumps(boom)
        assert payload(await session.call_tool("write_note", {})) == {"ok": True, "result": "written"}


async def _exercise_ro(app: Any, ro: str) -> None:
    async with mcp_session("http://t/mcp", ro, app=app) as session:
        floor = payload(await session.call_tool("echo", {"text": "x"}))["result"]["floor"]
        assert floor == {"project": "p1"}
        refused = payload(await session.call_tool("write_note", {}))
        assert refused["error"]["code"] == "permission_denied" and "read-only" in refused["error"]["message"]


@pytest.mark.parametrize("header", [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer maas_nope"])
@pytest.mark.asyncio
async def test_in_process_refusals_are_401_and_audited(local: tuple[MaaS, str, str, str], header: str | None) -> None:
    maas, _, _, _ = local
    app = create_http_app(maas, SPECS)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = MCP_HEADERS | ({} if header is None else {"authorization": header})
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        response = await client.post("/mcp", json=body, headers=headers)
        health = await client.get("/healthz")
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == -32001 and "Traceback" not in response.text
    assert health.json() == {"ok": True}
    (entry,) = maas.audit.query(event_type="PERMISSION_DENIED", action="authenticate")  # written at shutdown
    assert entry.details["via"] == "http" and entry.details["count"] == 1


@pytest.mark.asyncio
async def test_a_key_revoked_between_requests_is_refused_at_once(local: tuple[MaaS, str, str, str]) -> None:
    maas, _, rw, _ = local
    app = create_http_app(maas, SPECS)
    async with app.router.lifespan_context(app):
        with pytest.raises(BaseException) as raised:
            async with mcp_session("http://t/mcp", rw, app=app) as session:
                assert payload(await session.call_tool("echo", {"text": "a"}))["ok"]
                maas.keys.revoke_key(rw.split("_")[1])
                await session.call_tool("echo", {"text": "b"})
    assert http_statuses(raised.value) == [401]
    assert maas.audit.query(event_type="PERMISSION_DENIED", action="authenticate")[0].reason == "key revoked"


# --- real server subprocesses: every registry tool ---------------------------------------------------


@dataclass
class Deployment:
    """A SQLite home served by ``maas serve --http``, with agents and keys made beforehand."""

    home: Path
    server: HttpServer
    agent: str
    other: str
    peer: str
    keys: dict[str, str]

    def open(self) -> MaaS:
        """The same store from this process (bruteforce vectors: the server owns the home)."""
        return MaaS.open(self.home, sweep_interval=None, vectors="bruteforce")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("mcp-http")
    home = folder / "home"
    with MaaS.open(home, sweep_interval=None, vectors="bruteforce") as maas:
        agent = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1", project_id="p1")
        other = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u2")
        peer = maas.agents.register_agent(AgentType.CUSTOM_PIPELINE, owner_id="u9", project_id="p1")
        keys = {
            "rw": maas.keys.create_key(agent, name="rw").secret,
            "ro": maas.keys.create_key(agent, read_only=True).secret,
            "floor": maas.keys.create_key(agent, scope_floor={"project": "p1", "agent": agent}).secret,
            "revoked": maas.keys.create_key(agent).secret,
            "other": maas.keys.create_key(other).secret,
        }
        maas.keys.revoke_key(keys["revoked"].split("_")[1])
    # refused keys are audited once per (address, reason) and window: a short window here
    server = start_http_server(home, folder / "server.log", "--auth-audit-window", "0.3")
    yield Deployment(home, server, agent, other, peer, keys)
    server.stop()


def _denials(deployment: Deployment) -> list[Any]:
    with deployment.open() as maas:
        return maas.audit.query(event_type="PERMISSION_DENIED", action="authenticate")


@pytest.mark.asyncio
async def test_http_lists_exactly_the_registry(deployment: Deployment) -> None:
    async with mcp_session(deployment.server.url, deployment.keys["ro"]) as session:
        listed = await session.list_tools()
    assert mcp_listing(listed) == registry_listing()
    names = [t.name for t in listed.tools]
    assert len(names) == len(set(names)) >= 15
    from maas_langchain.adapters.tools.langchain import MaaSToolkit

    with deployment.open() as maas:
        toolkit = MaaSToolkit(maas, agent_id=deployment.agent)
        lc_tools = toolkit.get_tools()
        assert [(t.name, t.args_schema.model_json_schema()) for t in lc_tools] == [  # type: ignore[union-attr]
            (name, schema) for name, _, schema in mcp_listing(listed)
        ]


@pytest.mark.asyncio
async def test_http_calls_act_as_the_keys_agent(deployment: Deployment) -> None:
    async with mcp_session(deployment.server.url, deployment.keys["rw"]) as session:
        me = payload(await session.call_tool("get_agent_info", {}))
        assert me["ok"] and me["result"]["agent_id"] == deployment.agent
        spoof = payload(await session.call_tool("get_pending_handoffs", {"agent_id": deployment.other}))
        assert spoof["error"]["code"] == "permission_denied"
    async with mcp_session(deployment.server.url, deployment.keys["other"]) as session:
        assert payload(await session.call_tool("get_agent_info", {}))["result"]["agent_id"] == deployment.other


@pytest.mark.parametrize("case", ["none", "wrong", "revoked", "expired", "deactivated"])
@pytest.mark.asyncio
async def test_http_refusals_are_401_and_audited(deployment: Deployment, case: str) -> None:
    key: str | None = None
    before = len(_denials(deployment))
    if case == "wrong":
        key = deployment.keys["rw"][:-3] + ("xyz" if not deployment.keys["rw"].endswith("xyz") else "abc")
    elif case == "revoked":
        key = deployment.keys["revoked"]
    elif case == "expired":
        with deployment.open() as maas:
            key = maas.keys.create_key(deployment.agent, expires_at=time.time() + 0.5).secret
        time.sleep(0.6)
    elif case == "deactivated":
        with deployment.open() as maas:
            doomed = maas.agents.register_agent(AgentType.HUMAN, owner_id="u3")
            key = maas.keys.create_key(doomed).secret
            maas.agents.deactivate_agent(doomed)
    headers = MCP_HEADERS | ({} if key is None else {"authorization": f"Bearer {key}"})
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_agent_info", "arguments": {}}}
    response = httpx.post(deployment.server.url, json=body, headers=headers, timeout=30)
    assert response.status_code == 401 and response.json()["error"]["code"] == -32001
    with pytest.raises(BaseException) as raised:
        async with mcp_session(deployment.server.url, key) as session:
            await session.list_tools()
    assert http_statuses(raised.value) == [401]
    expected = {
        "none": "no API key presented",
        "wrong": "wrong secret",
        "revoked": "key revoked",
        "expired": "key expired",
        "deactivated": "agent deactivated or unregistered",
    }[case]
    deadline = time.monotonic() + 20  # the server writes a window's row once it closes (0.3 s here)
    while sum(e.details["count"] for e in _denials(deployment)[before:]) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    rows = _denials(deployment)[before:]
    assert {(e.reason, e.details["source"], e.details["via"]) for e in rows} == {(expected, "127.0.0.1", "http")}
    assert sum(e.details["count"] for e in rows) == 2 and len(rows) <= 2, rows


@pytest.mark.asyncio
async def test_http_read_only_key_is_refused_on_every_write_tool(deployment: Deployment) -> None:
    writes = [s.name for s in tool_specs() if s.writes]
    assert {"remember", "register_agent", "create_pool"} <= set(writes)
    async with mcp_session(deployment.server.url, deployment.keys["ro"]) as session:
        for name in writes:
            refused = payload(await session.call_tool(name, {}))
            assert refused["error"]["code"] == "permission_denied", name
        assert payload(await session.call_tool("get_agent_info", {}))["ok"]


@pytest.mark.asyncio
async def test_http_scope_floor_is_enforced(deployment: Deployment) -> None:
    inside = {"project": "p1", "agent": deployment.agent}
    async with mcp_session(deployment.server.url, deployment.keys["floor"]) as session:
        kept = payload(
            await session.call_tool("remember", {"content": "The floor test uses port 5432.", "scope": inside})
        )
        assert kept["ok"], kept
        found = payload(await session.call_tool("recall", {"query": "which port", "scope": inside}))
        assert found["ok"] and "5432" in json.dumps(found["result"])
        for outside in ({"project": "p2"}, {"project": "p2", "agent": deployment.agent}, {"agent": deployment.other}):
            refused = payload(await session.call_tool("recall", {"query": "which port", "scope": outside}))
            assert refused["error"]["code"] == "permission_denied", outside
            refused = payload(await session.call_tool("remember", {"content": "x", "scope": outside}))
            assert refused["error"]["code"] == "permission_denied", outside
        # an ancestor of the floor reads inherited context only: not the floor's own memories
        above = payload(await session.call_tool("recall", {"query": "which port", "scope": {"project": "p1"}}))
        assert above["ok"] and "5432" not in json.dumps(above["result"])


def test_stdio_server(tmp_path: Path) -> None:
    import anyio

    home = tmp_path / "home"
    with MaaS.open(home, sweep_interval=None, vectors="bruteforce") as maas:
        agent = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1")
        issued = maas.keys.create_key(agent)
    command = ["-m", "maas_langchain.adapters.cli", "--home", str(home), "serve"]

    async def session_run() -> None:
        params = StdioServerParameters(
            command=sys.executable, args=command, env=server_env(MAAS_API_KEY=issued.secret), cwd=str(ROOT)
        )
        with open(tmp_path / "stderr.log", "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                assert mcp_listing(await session.list_tools()) == registry_listing()
                me = payload(await session.call_tool("get_agent_info", {}))
                assert me["result"]["agent_id"] == agent
                with MaaS.open(home, sweep_interval=None, vectors="bruteforce") as other:
                    other.keys.revoke_key(issued.key.key_id)
                refused = payload(await session.call_tool("get_agent_info", {}))
                assert refused["error"]["code"] == "permission_denied"

    anyio.run(session_run)
    for key in (None, "maas_garbage", issued.secret):  # missing, malformed, revoked: refused at start-up
        env = server_env(**({} if key is None else {"MAAS_API_KEY": key}))
        done = subprocess.run([sys.executable, *command], env=env, cwd=ROOT, capture_output=True, timeout=60, input=b"")
        assert done.returncode == 2 and b"[permission_denied]" in done.stderr and b"Traceback" not in done.stderr
        assert done.stdout == b""
    with MaaS.open(home, sweep_interval=None, vectors="bruteforce") as maas:
        reasons = [(e.reason, e.details["via"]) for e in maas.audit.query(event_type="PERMISSION_DENIED")]
    assert reasons[-4:] == [
        ("key revoked", "stdio"),
        ("no API key presented", "stdio"),
        ("malformed API key", "stdio"),
        ("key revoked", "stdio"),
    ]


@pytest.mark.asyncio
async def test_langchain_mcp_adapters_agent_calls_a_tool(deployment: Deployment) -> None:
    from langchain.agents import create_agent
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, ToolMessage
    from langchain_mcp_adapters.client import MultiServerMCPClient

    class ScriptedModel(GenericFakeChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    client = MultiServerMCPClient(
        {
            "maas": {
                "transport": "streamable_http",
                "url": deployment.server.url,
                "headers": {"Authorization": f"Bearer {deployment.keys['rw']}"},
            }
        }
    )
    tools = await client.get_tools()
    assert sorted(t.name for t in tools) == sorted(s.name for s in tool_specs())
    script = iter(
        [
            AIMessage(content="", tool_calls=[{"name": "get_agent_info", "args": {}, "id": "call-1"}]),
            AIMessage(content="done"),
        ]
    )
    agent = create_agent(ScriptedModel(messages=script), tools)
    state = await agent.ainvoke({"messages": [{"role": "user", "content": "who am I?"}]})
    (tool_message,) = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert deployment.agent in str(tool_message.content) and state["messages"][-1].content == "done"


CLIENT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from maas_langchain import MaaS
    home, agent_id, query = sys.argv[1:4]
    scope = {"project": "p1"}
    with MaaS.open(home, sweep_interval=None, vectors="bruteforce") as maas:
        from maas_langchain.adapters.tools.langchain import MaaSToolkit
        tool = next(t for t in MaaSToolkit(maas, agent_id=agent_id).get_tools() if t.name == "recall")
        out = json.loads(tool.invoke({"query": query, "scope": scope}))
    print(json.dumps(out))
    """
)


@pytest.mark.asyncio
async def test_remote_memory_is_recalled_locally_in_another_process(deployment: Deployment) -> None:
    scope = {"project": "p1"}  # the project both agents belong to
    async with mcp_session(deployment.server.url, deployment.keys["rw"]) as session:
        kept = payload(
            await session.call_tool(
                "remember", {"content": "Competitor X launched a $299/mo tier for SMBs.", "scope": scope}
            )
        )
    assert kept["ok"], kept
    done = subprocess.run(
        [sys.executable, "-c", CLIENT_SCRIPT, str(deployment.home), deployment.peer, "competitor pricing changes"],
        env=server_env(),
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["ok"] and "$299/mo" in json.dumps(report["result"]), report


def test_serve_holds_the_embedded_index(tmp_path: Path) -> None:
    """Service mode: the serving process owns the embedded Chroma folder; a second one is refused at start-up."""
    with MaaS.open(tmp_path / "home", sweep_interval=None, vectors="chroma") as maas:
        maas.memories.sync.index  # noqa: B018 - this process now holds the folder
        command = [sys.executable, "-m", "maas_langchain.adapters.cli", "--home", str(tmp_path / "home"), "serve", "--http"]
        env = {k: v for k, v in server_env().items() if k != "MAAS_VECTORS_URL"}
        done = subprocess.run([*command, "--port", str(free_loopback_port())], env=env, capture_output=True, timeout=60)
    assert done.returncode == 2 and b"[backend_unavailable]" in done.stderr and b"maas serve" in done.stderr
    assert b"Traceback" not in done.stderr


def test_docs_client_configuration() -> None:
    text = (ROOT / "docs" / "mcp.md").read_text(encoding="utf-8")
    (block,) = [b for b in text.split("```json\n")[1:]]
    servers = json.loads(block.split("```")[0])["mcpServers"]
    assert servers["maas"]["args"][-1] == "serve" and "MAAS_API_KEY" in servers["maas"]["env"]
    assert servers["maas-http"]["url"].endswith("/mcp")
    assert servers["maas-http"]["headers"]["Authorization"].startswith("Bearer maas_")
    assert "claude mcp add maas --env MAAS_API_KEY=" in text and '--header "Authorization: Bearer' in text
