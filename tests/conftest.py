"""Shared fixtures: every backend behind one parametrised ``maas`` fixture.

A new backend is one more entry in ``BACKENDS`` (and, if it needs a server, a marker).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from maas_langchain import MaaS


class ManualClock:
    """A clock the test moves by hand, for TTL tests that must not sleep."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _open_memory(tmp_path: Path, **kw: Any) -> MaaS:
    return MaaS.open(":memory:", **kw)


def _open_sqlite(tmp_path: Path, **kw: Any) -> MaaS:
    return MaaS.open(tmp_path / "maas-home", **kw)


BACKENDS: dict[str, Callable[..., MaaS]] = {"memory": _open_memory, "sqlite": _open_sqlite}


@pytest.fixture(params=sorted(BACKENDS))
def backend_name(request: pytest.FixtureRequest) -> str:
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


def pytest_report_header(config: pytest.Config) -> str:
    return f"maas backends under test: {', '.join(sorted(BACKENDS))}; CI={os.environ.get('CI', '')}"
