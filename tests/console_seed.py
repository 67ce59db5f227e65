"""A real ``maas serve --http`` seeded for the web console's browser tests (a helper module, not a test file).

:func:`seed` fills a fresh SQLite home with what a user of the console looks at:

* the demo workflow (:func:`maas_langchain.demo.run_demo`): the backend, frontend and test-pipeline
  agents of ``user-123``, the ``feature-auth`` pool, the design memory and its share, a poisoned
  (quarantined) write, and the handoff initiated → accepted → completed, with the refusals;
* a HUMAN agent of ``user-123`` (:func:`maas_langchain.demo.console_key`, the agent ``maas demo
  --serve`` signs in with) whose key's floor is ``{"user": "user-123"}`` (:data:`HUMAN_FLOOR`), so
  it sees every memory below that scope;
* a **private** memory of the backend agent, at its own scope ``{"user": "user-123", "agent":
  <backend id>}``: by the access rules only its author reads it (the other agents' own scopes are
  its siblings);
* a memory for **every agent of the owner**, at ``{"user": "user-123"}``: a prefix of each of
  their own scopes, so all four read it (:data:`PROJECT_TEXT`);
* two memories that change one fact (written by the backend, then the frontend agent): the
  extractor keeps the first value superseded by the second, the entity page's chain;
* keys: ``human``, ``backend`` (no floor: its own scope), ``revocable`` (a second HUMAN key, for
  the revoked-mid-session test).

:func:`console_server` then starts ``python -m maas_langchain.adapters.cli --home HOME serve
--http --port PORT`` (tests/rest_server.py's start: rate limits off, the ``bruteforce`` vector
index so this process may open the same home while the server runs, offline) and, through the
REST API as the backend agent, remembers :data:`HOSTILE` (HTML and script in a memory's content).

:func:`tampered_copy` copies a home (SQLite's online backup) and rewrites one audit entry's
``reason`` with the append-only triggers dropped and put back, as tests/test_audit_tamper.py's
attacker does: the keyed hash chain no longer verifies.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rest_server import RestServer, _start

from maas_langchain import MaaS
from maas_langchain.demo import OWNER, console_key, run_demo

__all__ = [
    "ENTITY_TEXTS",
    "HOSTILE",
    "HUMAN_FLOOR",
    "HUMAN_NAME",
    "OWNER",
    "PRIVATE_TEXT",
    "PROJECT_TEXT",
    "ConsoleServer",
    "Seed",
    "api",
    "console_server",
    "open_home",
    "seed",
    "start_server",
    "tampered_copy",
]

HUMAN_FLOOR = {"user": OWNER}
"""The HUMAN key's scope floor: every memory of the owner's agents is below it."""

HUMAN_NAME = "auditor (console)"
"""The HUMAN agent's name, as the console shows it."""

PRIVATE_TEXT = "Backend's private note: the auth module still lacks load tests for the refresh endpoint."
"""Remembered by the backend agent at its own scope: only its author may read it."""

PROJECT_TEXT = "Every feature-auth endpoint answers errors as JSON with a code and a message."
"""Remembered by the backend agent at ``{"user": "user-123"}``: every agent of the owner reads it."""

ENTITY_TEXTS = (
    "The enterprise customer segment prioritises SOC2 compliance over cost.",
    "The enterprise customer segment now prioritises data residency.",
)
"""Written by the backend, then the frontend agent: the second value supersedes the first."""

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">'
"""A memory's content that must be shown as text and never run."""


@dataclass
class Seed:
    """What :func:`seed` created.

    Attributes:
        ids: ``backend``, ``frontend``, ``tests``, ``pool``, ``handoff`` (the demo's), ``human``,
            ``private``, ``project``, ``entity_old``, ``entity_new`` (memory ids), and after the
            server started ``hostile``.
        names: Agent id -> name, for every agent of the owner.
        keys: ``human``, ``backend``, ``revocable`` -> secret API key.
        key_ids: The same names -> key id (for ``revoke_key``).
    """

    ids: dict[str, str]
    names: dict[str, str]
    keys: dict[str, str] = field(default_factory=dict)
    key_ids: dict[str, str] = field(default_factory=dict)


def open_home(home: Path) -> MaaS:
    """The home from this process: ``bruteforce`` vectors (the server's too), no sweeper, no
    extraction worker (the server's applies the jobs)."""
    return MaaS.open(home, sweep_interval=None, vectors="bruteforce", extractor=None)


def seed(home: Path) -> Seed:
    """Run the demo in a fresh ``home`` and add the records of the module's docstring."""
    with MaaS.open(home, sweep_interval=None, vectors="bruteforce") as maas:
        with contextlib.redirect_stdout(io.StringIO()):  # the demo narrates
            ids = dict(run_demo(maas))
        human, human_key_id, human_key = console_key(maas, scope_floor=HUMAN_FLOOR, name=HUMAN_NAME)
        ids["human"] = human
        backend, frontend = ids["backend"], ids["frontend"]
        remember = maas.memories.remember
        own = {"user": OWNER, "agent": backend}
        ids["private"] = remember(PRIVATE_TEXT, scope=own, category="note", as_agent=backend).memory_id
        everyone = {"user": OWNER}
        ids["project"] = remember(PROJECT_TEXT, scope=everyone, category="decision", as_agent=backend).memory_id
        ids["entity_old"] = remember(ENTITY_TEXTS[0], scope=everyone, as_agent=backend).memory_id
        ids["entity_new"] = remember(ENTITY_TEXTS[1], scope=everyone, as_agent=frontend).memory_id
        maas.extraction.drain(60)  # the facts, and the supersession, before the server starts
        backend_key = maas.keys.create_key(backend, name="backend")
        revocable = maas.keys.create_key(human, scope_floor=HUMAN_FLOOR, name="revocable")
        names = {a.agent_id: a.name or a.agent_id for a in maas.agents.list_agents() if a.owner_id == OWNER}
    return Seed(
        ids,
        names,
        keys={"human": human_key, "backend": backend_key.secret, "revocable": revocable.secret},
        key_ids={"human": human_key_id, "backend": backend_key.key.key_id, "revocable": revocable.key.key_id},
    )


def api(base_url: str, method: str, path: str, key: str | None, body: Any = None) -> tuple[int, Any]:
    """One REST call: ``(status, parsed JSON body or None)``, errors included."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method)
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


@dataclass
class ConsoleServer(RestServer):
    """A running seeded server (see :class:`rest_server.RestServer`), with :attr:`seed`."""

    seed: Seed = field(default_factory=lambda: Seed({}, {}))

    @property
    def console_url(self) -> str:
        """``http://127.0.0.1:PORT/console``."""
        return self.base_url + "/console"

    def open(self) -> MaaS:
        """The same store from this process (see :func:`open_home`)."""
        return open_home(self.home)

    def api(self, method: str, path: str, key: str | None, body: Any = None) -> tuple[int, Any]:
        """:func:`api` on this server."""
        return api(self.base_url, method, path, key, body)


def start_server(home: Path, log: Path, made: Seed) -> ConsoleServer:
    """``maas serve --http`` on ``home`` (a free port, rate limits off), answering ``/healthz``."""
    proc, base = _start(home, log, ())
    return ConsoleServer(home, base, {}, dict(made.keys), log, proc, seed=made)


@contextlib.contextmanager
def console_server(folder: Path) -> Iterator[ConsoleServer]:
    """Seed ``folder/home``, serve it, remember :data:`HOSTILE` over REST, stop the server afterwards."""
    home = folder / "home"
    made = seed(home)
    server = start_server(home, folder / "server.log", made)
    try:
        status, body = server.api("POST", "/v1/memories", made.keys["backend"], {"content": HOSTILE})
        assert status == 201, f"remember over REST: {status} {body}\n{server.log_tail()}"
        made.ids["hostile"] = body["memory_id"]
        yield server
    finally:
        server.stop()


def tampered_copy(source: Path, target: Path, reason: str = "nothing happened here") -> int:
    """Copy the home ``source`` to ``target`` (the database by SQLite's online backup, so a running
    server may hold it) and rewrite the ``reason`` of the first audit entry that has one (a refusal
    of the demo), triggers dropped for the rewrite and put back. Returns that entry's ``seq``."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("maas.db", "maas.db-*", ".lock"))
    src = sqlite3.connect(source / "maas.db")
    dst = sqlite3.connect(target / "maas.db")
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    conn = sqlite3.connect(target / "maas.db", isolation_level=None)
    try:
        triggers = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
        ).fetchall()
        for name, _ in triggers:
            conn.execute(f"DROP TRIGGER {name}")
        row = conn.execute("SELECT seq FROM audit_log WHERE reason IS NOT NULL ORDER BY seq LIMIT 1").fetchone()
        assert row is not None, "the demo wrote no audit entry with a reason"
        conn.execute("UPDATE audit_log SET reason = ? WHERE seq = ?", (reason, row[0]))
        for _, definition in triggers:
            conn.execute(definition)
    finally:
        conn.close()
    return int(row[0])
