"""Durable by default: ./.maas, $MAAS_HOME, restarts, WAL settings, many writer processes."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from maas_langchain import (
    AgentRegistry,
    AgentType,
    HandoffContext,
    HandoffManager,
    HandoffStatus,
    MaaS,
    PermissionModel,
    PoolRegistry,
    SharedScope,
)
from maas_langchain.backends.migrations import load_migrations
from maas_langchain.backends.sqlite import SQLiteBackend


def test_default_location_is_dot_maas_in_the_working_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("MAAS_HOME")
    monkeypatch.chdir(tmp_path)
    with MaaS.open(sweep_interval=None) as maas:
        maas.agents.register_agent(AgentType.HUMAN, owner_id="u")
        assert Path(maas.backend.location) == Path(".maas") / "maas.db"
    assert (tmp_path / ".maas" / "maas.db").is_file()


def test_maas_home_overrides_the_location(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MAAS_HOME", str(tmp_path / "elsewhere"))
    with MaaS.open(sweep_interval=None) as maas:
        assert maas.backend.name == "sqlite"
        assert Path(maas.backend.location) == tmp_path / "elsewhere" / "maas.db"


def test_singletons_are_views_over_the_durable_default(tmp_path) -> None:
    registry = AgentRegistry.get()
    assert registry is MaaS.default().agents
    assert PoolRegistry.get() is MaaS.default().pools and HandoffManager.get() is MaaS.default().handoffs
    agent_id = registry.register_agent(AgentType.CLAUDE_CODE, owner_id="user-123")
    MaaS.default().close()
    MaaS.set_default(None)  # as if the process restarted
    assert AgentRegistry.get().get_agent(agent_id) is not None
    assert Path(MaaS.default().backend.location).is_relative_to(tmp_path / "default-home")


_WRITER = textwrap.dedent(
    """
    import sys
    from maas_langchain import MaaS, AgentType, HandoffContext, PermissionModel, SharedScope
    with MaaS.open(sys.argv[1], sweep_interval=None) as maas:
        a = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="user-123", name="backend")
        b = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="user-123", name="frontend")
        pool = maas.pools.create_pool("feature-auth", owner_id="user-123", scope=SharedScope.PROJECT)
        maas.pools.join_pool(pool, a, PermissionModel.WRITE)
        maas.pools.join_pool(pool, b, PermissionModel.READ)
        maas.pools.share_memory(pool, "mem-api-design", a, SharedScope.PROJECT, metadata={"v": 1})
        h = maas.handoffs.initiate_handoff(a, b, HandoffContext(task_description="UI", relevant_files=["x.py"]))
        maas.handoffs.accept_handoff(h, b)
        print(a, b, pool, h)
    """
)


def test_everything_survives_a_process_restart(tmp_path) -> None:
    out = subprocess.run([sys.executable, "-c", _WRITER, str(tmp_path)], capture_output=True, text=True, check=True)
    a, b, pool, h = out.stdout.split()
    with MaaS.open(tmp_path, sweep_interval=None) as maas:
        backend = maas.agents.get_agent(a)
        assert backend is not None and backend.name == "backend" and backend.agent_type is AgentType.CLAUDE_CODE
        assert maas.pools.get_permission(pool, b) is PermissionModel.READ
        (share,) = maas.pools.query_shared(pool, b)
        assert share.memory_id == "mem-api-design" and share.metadata == {"v": 1}
        handoff = maas.handoffs.get_handoff(h)
        assert handoff is not None and handoff.status is HandoffStatus.ACCEPTED
        assert handoff.context.relevant_files == ["x.py"]
        assert maas.handoffs.complete_handoff(h, b, {"status": "success"})
        assert maas.audit.verify_chain().ok


def test_in_memory_backend_keeps_nothing() -> None:
    with MaaS.open(":memory:") as maas:
        maas.agents.register_agent(AgentType.HUMAN, owner_id="u")
    with MaaS.open(":memory:") as maas:
        assert maas.agents.list_agents() == []


@pytest.mark.parametrize(("durability", "synchronous"), [("normal", 1), ("full", 2)])
def test_wal_and_synchronous_settings(tmp_path, durability: str, synchronous: int) -> None:
    backend = SQLiteBackend(tmp_path / "m.db", durability=durability)
    conn = backend._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == synchronous
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    backend.close()


def test_reopening_is_idempotent_and_schema_is_versioned(tmp_path) -> None:
    for _ in range(3):
        with MaaS.open(tmp_path, sweep_interval=None) as maas:
            assert maas.status()["schema_version"] == len(load_migrations("sqlite")) >= 2


def test_a_newer_schema_is_refused(tmp_path) -> None:
    MaaS.open(tmp_path, sweep_interval=None).close()
    conn = sqlite3.connect(tmp_path / "maas.db")
    conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'x', 0)")
    conn.commit()
    conn.close()
    from maas_langchain import BackendUnavailableError

    with pytest.raises(BackendUnavailableError, match="does not know"):
        MaaS.open(tmp_path, sweep_interval=None)


def _mixed_writer(home: str, pool: str, peer: str, worker: int, rounds: int, queue) -> None:
    errors = []
    with MaaS.open(home, sweep_interval=None) as maas:
        me = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id=f"user-{worker}")
        maas.pools.join_pool(pool, me, PermissionModel.WRITE)
        for i in range(rounds):
            try:
                assert maas.pools.share_memory(pool, f"w{worker}-m{i}", me, SharedScope.GLOBAL)
                h = maas.handoffs.initiate_handoff(me, peer, HandoffContext(task_description=f"{worker}-{i}"))
                assert maas.handoffs.cancel_handoff(h, me)
            except Exception as exc:
                errors.append(repr(exc))
    queue.put((worker, errors))


@pytest.mark.slow
def test_eight_writer_processes_never_see_database_is_locked(tmp_path) -> None:
    workers, rounds = 8, 40
    with MaaS.open(tmp_path, sweep_interval=None) as maas:
        peer = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="peer")
        pool = maas.pools.create_pool("busy", owner_id="u", scope=SharedScope.GLOBAL)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_mixed_writer, args=(str(tmp_path), pool, peer, w, rounds, queue)) for w in range(workers)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(p.exitcode == 0 for p in procs)
    assert [errors for _, errors in results] == [[]] * workers
    with MaaS.open(tmp_path, sweep_interval=None) as maas:
        reader = maas.agents.register_agent(AgentType.HUMAN, owner_id="auditor")
        maas.pools.join_pool(pool, reader, PermissionModel.READ)
        assert len(maas.pools.query_shared(pool, reader, limit=10_000)) == workers * rounds
        assert maas.status()["counts"]["handoffs"] == workers * rounds
        assert maas.audit.verify_chain().ok
