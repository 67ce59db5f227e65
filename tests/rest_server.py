"""A real ``maas serve --http`` for REST client tests (a helper module, not a test file).

:func:`rest_server` makes a fresh SQLite home, registers agents and issues their API keys
in-process (:data:`AGENTS`, :data:`KEYS`), closes that instance, then starts
``python -m maas_langchain.adapters.cli --home HOME serve --http --port PORT`` with the rate
limits off and waits for ``/healthz``. The vector index is ``bruteforce``
(``MAAS_VECTORS_URL``), as in tests/test_mcp_server.py: another process (the test itself, via
:meth:`RestServer.open`) can open the same home while the server runs — the embedded Chroma
folder would be locked by the server, and brute-force recall scores the vectors stored in
SQLite exactly, whichever process wrote them. Both processes use the packaged embedding model
(the registration step writes no vectors, so its ``HashingEmbeddings`` binds nothing).

Usage::

    from rest_server import rest_server, rest_server_fixture

    server = rest_server_fixture("server")      # a module-scoped pytest fixture named "server"

    def test_something(server):
        server.base_url, server.keys["supervisor"], server.agents["worker"]

    with rest_server(tmp_path) as srv:          # or directly
        ...
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import free_loopback_port

from maas_langchain import AgentType, MaaS
from maas_langchain.embeddings import HashingEmbeddings

__all__ = [
    "AGENTS",
    "KEYS",
    "OWNER",
    "SHARED_SCOPE",
    "RestServer",
    "rest_server",
    "rest_server_fixture",
    "server_env",
]

ROOT = Path(__file__).resolve().parents[1]

OWNER = "acme-owner"
"""The user that owns every agent but ``outsider``."""

SHARED_SCOPE = {"org": "acme", "project": "market-research-q3"}
"""The specification's shared scope (the supervisor key's floor)."""

AGENTS: dict[str, dict[str, Any]] = {
    "supervisor": {"agent_type": AgentType.CLAUDE_CODE, "owner_id": OWNER, "name": "supervisor"},
    "worker": {"agent_type": AgentType.CLAUDE_CODE, "owner_id": OWNER, "name": "worker-1"},
    "human": {"agent_type": AgentType.HUMAN, "owner_id": OWNER, "name": "auditor"},
    "outsider": {"agent_type": AgentType.CLAUDE_CODE, "owner_id": "globex-owner", "name": "outsider"},
}
"""Agents registered before the server starts (name -> ``register_agent`` arguments)."""

KEYS: dict[str, dict[str, Any]] = {
    "supervisor": {"agent": "supervisor", "scope_floor": SHARED_SCOPE},
    "worker": {"agent": "worker", "scope_floor": {**SHARED_SCOPE, "agent": "worker-1"}},
    "readonly": {"agent": "supervisor", "scope_floor": SHARED_SCOPE, "read_only": True},
    "human": {"agent": "human", "scope_floor": None},
    "outsider": {"agent": "outsider", "scope_floor": {"org": "globex"}},
}
"""Keys issued before the server starts (name -> agent name, floor, read-only)."""


def server_env(**extra: str) -> dict[str, str]:
    """Environment of the server: offline, bruteforce vectors, no inherited key or location."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAAS_API_KEY", "MAAS_URL")}
    env.update(HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False", MAAS_VECTORS_URL="bruteforce", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


@dataclass
class RestServer:
    """A running ``maas serve --http`` with its home, agents and keys.

    Attributes:
        home: The SQLite home the server holds.
        base_url: ``http://127.0.0.1:PORT`` (REST under ``/v1``, MCP under ``/mcp``).
        agents: Agent name -> agent id (:data:`AGENTS`).
        keys: Key name -> secret API key (:data:`KEYS`).
        log: The server's combined stdout/stderr.
    """

    home: Path
    base_url: str
    agents: dict[str, str]
    keys: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] = field(repr=False)

    def open(self) -> MaaS:
        """The same store from this process (bruteforce vectors, packaged embeddings, no sweeper)."""
        return MaaS.open(self.home, sweep_interval=None, vectors="bruteforce")

    def alive(self) -> bool:
        """Whether the server process still runs."""
        return self.proc.poll() is None

    def log_tail(self, chars: int = 3_000) -> str:
        """The end of the server log (for failure messages)."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        """Stop the server (SIGINT, then SIGKILL after 15 s)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _provision(home: Path) -> tuple[dict[str, str], dict[str, str]]:
    with MaaS.open(home, sweep_interval=None, vectors="bruteforce", embeddings=HashingEmbeddings()) as maas:
        agents = {name: maas.agents.register_agent(**spec) for name, spec in AGENTS.items()}
        keys = {
            name: maas.keys.create_key(
                agents[spec["agent"]],
                scope_floor=spec["scope_floor"],
                read_only=spec.get("read_only", False),
                name=name,
            ).secret
            for name, spec in KEYS.items()
        }
    return agents, keys


def _wait_for_health(proc: subprocess.Popen[bytes], base: str, log: Path) -> bool:
    """True once ``/healthz`` answers; False if the process exited (a port race: retry)."""
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
        pytest.fail(f"maas serve did not answer within 60 s: {log.read_text(errors='replace')[-3000:]}")
    return False


def _start(home: Path, log: Path, extra: tuple[str, ...]) -> tuple[subprocess.Popen[bytes], str]:
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
            "--rate-per-address",
            "0",
            "--rate-per-key",
            "0",
            *extra,
        ]
        with open(log, "ab") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=server_env(), cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        if _wait_for_health(proc, base, log):
            return proc, base
    pytest.fail(f"maas serve exited: {log.read_text(errors='replace')[-3000:]}")


@contextlib.contextmanager
def rest_server(folder: Path, *extra: str) -> Iterator[RestServer]:
    """Provision a fresh home under ``folder``, serve it over HTTP, stop the server afterwards.

    Args:
        folder: An empty scratch folder (the home is ``folder/home``, the log ``folder/server.log``).
        extra: More ``maas serve`` flags.
    """
    home = folder / "home"
    agents, keys = _provision(home)
    log = folder / "server.log"
    proc, base = _start(home, log, extra)
    server = RestServer(home, base, agents, keys, log, proc)
    try:
        yield server
    finally:
        server.stop()


def rest_server_fixture(name: str = "server", scope: Any = "module", *extra: str) -> Callable[..., Any]:
    """A pytest fixture called ``name`` yielding a :class:`RestServer`; assign it to a module
    attribute (``server = rest_server_fixture()``) so pytest collects it."""

    @pytest.fixture(scope=scope, name=name)
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestServer]:
        with rest_server(tmp_path_factory.mktemp("rest-server"), *extra) as server:
            yield server

    return fixture
