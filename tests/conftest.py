"""Shared fixtures: every backend behind one parametrised ``maas`` fixture.

A new backend is one more entry in ``BACKENDS`` (and, if it needs a server, a marker).

PostgreSQL tests (marker ``postgres``) use ``$MAAS_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``), one fresh schema per test, dropped afterwards.
An unreachable server skips them, except under ``CI=true``, where it fails them.
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from maas_langchain import MaaS
from maas_langchain.testing import ManualClock


def _open_memory(tmp_path: Path, **kw: Any) -> MaaS:
    return MaaS.open(":memory:", **kw)


def _open_sqlite(tmp_path: Path, **kw: Any) -> MaaS:
    return MaaS.open(tmp_path / "maas-home", **kw)


POSTGRES_URL = os.environ.get("MAAS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
POSTGRES_HELP = (
    "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start "
    "(or point MAAS_TEST_POSTGRES_URL at a server)"
)
_PG_SCHEMAS: dict[str, set[str]] = {}  # test folder -> schemas created for it


@functools.cache
def postgres_unavailable() -> str | None:
    """Why the test server cannot be used, or None when it can (checked once per session)."""
    try:
        import psycopg
    except ImportError:
        return 'psycopg is not installed: pip install -e ".[postgres]"'
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable ({str(exc).strip().splitlines()[0]}); {POSTGRES_HELP}"
    return None


def require_postgres() -> None:
    """Skip the calling test when the server is unreachable; fail it instead under ``CI=true``."""
    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true needs PostgreSQL: {reason}", pytrace=False)
    pytest.skip(reason)


def _admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(statement)


def postgres_url(tmp_path: Path, **params: str) -> str:
    """URL of a schema that belongs to this test (created on first use, dropped at teardown).

    The same ``tmp_path`` gives the same schema, so opening twice is a restart, as on SQLite.
    """
    schema = "maas_t_" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:20]
    if schema not in _PG_SCHEMAS.setdefault(str(tmp_path), set()):
        _admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
        _PG_SCHEMAS[str(tmp_path)].add(schema)
    query = [f"options={quote(f'-csearch_path={schema}', safe='')}"]
    query += [f"{k}={quote(v, safe='')}" for k, v in params.items()]
    return f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}{'&'.join(query)}"


@pytest.fixture
def pg_url(tmp_path: Path) -> str:
    """URL of a fresh PostgreSQL schema for this test (skips without a server; fails under CI=true)."""
    require_postgres()
    return postgres_url(tmp_path)


def drop_postgres_schemas(tmp_path: Path) -> None:
    """Drop the schemas ``postgres_url(tmp_path)`` created. A closing instance's background
    thread can still be reading a table as the DROP takes its locks (seen in CI as a deadlock at
    teardown); the server aborts one side, so the DROP is tried again, a few times."""
    for schema in _PG_SCHEMAS.pop(str(tmp_path), set()):
        import psycopg  # here: a test may have hidden psycopg, and it then made no schema

        for attempt in range(5):
            try:
                _admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                break
            except (psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable):
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))


def _open_postgres(tmp_path: Path, **kw: Any) -> MaaS:
    return MaaS.open(postgres_url(tmp_path), **kw)


BACKENDS: dict[str, Callable[..., MaaS]] = {
    "memory": _open_memory,
    "sqlite": _open_sqlite,
    "postgres": _open_postgres,
}
_MARKS = {"postgres": [pytest.mark.postgres]}


@pytest.fixture(params=[pytest.param(name, marks=_MARKS.get(name, [])) for name in sorted(BACKENDS)])
def backend_name(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        require_postgres()
    return str(request.param)


@pytest.fixture
def open_maas(backend_name: str, tmp_path: Path) -> Iterator[Callable[..., MaaS]]:
    """Open MaaS instances on the parametrised backend; all are closed after the test.

    Calling it twice on the SQLite backend opens the same file again (a "restart").
    """
    opened: list[MaaS] = []

    def factory(**kw: Any) -> MaaS:
        kw.setdefault("sweep_interval", None)
        maas = BACKENDS[backend_name](tmp_path, **kw)
        opened.append(maas)
        return maas

    yield factory
    for maas in opened:
        maas.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def maas(open_maas: Callable[..., MaaS], clock: ManualClock) -> MaaS:
    """A MaaS instance on each backend, with a manual clock and no background sweeper."""
    return open_maas(clock=clock)


@pytest.fixture
def strict_maas(open_maas: Callable[..., MaaS], clock: ManualClock) -> MaaS:
    """Like ``maas`` but denials raise ``PermissionDeniedError``."""
    return open_maas(clock=clock, raise_on_denial=True)


@pytest.fixture(autouse=True)
def _isolated_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the default instance (``AgentRegistry.get()``) at this test's folder."""
    monkeypatch.setenv("MAAS_HOME", str(tmp_path / "default-home"))
    monkeypatch.delenv("MAAS_URL", raising=False)
    MaaS.set_default(None)
    yield
    current = MaaS._default
    if current is not None:
        current.close()
    MaaS.set_default(None)
    drop_postgres_schemas(tmp_path)


def pytest_report_header(config: pytest.Config) -> str:
    return f"maas backends under test: {', '.join(sorted(BACKENDS))}; CI={os.environ.get('CI', '')}"


# --- Chroma server (marker ``chroma_server``) ---------------------------------------------------


def free_loopback_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _chroma_executable() -> str | None:
    import shutil
    import sys

    beside = Path(sys.executable).with_name("chroma")
    return str(beside) if beside.is_file() else shutil.which("chroma")


def _start_chroma(exe: str, folder: Path, log: Any) -> tuple[Any, str] | None:
    """Start ``chroma run`` on a free port; ``(process, url)`` once it answers, None if it exited."""
    import subprocess
    import time
    import urllib.request

    port = free_loopback_port()
    command = [exe, "run", "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while proc.poll() is None:
        try:
            with urllib.request.urlopen(url + "/api/v2/heartbeat", timeout=0.5):
                return proc, url
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                pytest.fail(f"chroma run did not answer on {url} within 30 s; log: {log.name}", pytrace=False)
            time.sleep(0.05)
    return None  # exited early: most likely another process took the port


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a ``chroma run`` server on a free loopback port, shared by the session.

    Skips when the ``chroma`` executable is missing, except under ``CI=true``, where it fails.
    Tests must use collection names of their own.
    """
    import signal
    import subprocess

    exe = _chroma_executable()
    if exe is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true needs the chroma executable (pip install chromadb)", pytrace=False)
        pytest.skip("the chroma executable is missing (pip install chromadb)")
    folder = tmp_path_factory.mktemp("chroma-server")
    with open(folder / "server.log", "wb") as log:
        started = _start_chroma(exe, folder, log) or _start_chroma(exe, folder, log)  # retry a port race once
        if started is None:
            pytest.fail(f"chroma run exited twice: {(folder / 'server.log').read_text()[-2000:]}", pytrace=False)
        proc, url = started
        yield url
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
