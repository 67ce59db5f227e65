"""Several processes on one store: SQLite file and PostgreSQL behave the same.

Each child process (multiprocessing "spawn", so nothing is inherited) opens its own
``MaaS.open(location)`` on the same database. A barrier releases racing children together.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import postgres_url, require_postgres

from maas_langchain import AgentType, HandoffContext, MaaS, SharedScope
from maas_langchain.core.enums import HandoffStatus
from maas_langchain.errors import CapacityExceededError, ConflictError

pytestmark = pytest.mark.slow

_SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where every process of the test opens MaaS: one SQLite file, or one PostgreSQL schema."""
    if request.param == "postgres":
        require_postgres()
        return postgres_url(tmp_path)
    return str(tmp_path / "shared-home")


def _open(location: str) -> MaaS:
    return MaaS.open(location, sweep_interval=None, handoff_screening="rules")  # no model to load per child


def _child(target: Callable[..., Any], args: tuple[Any, ...], barrier: Any, results: Any) -> None:
    """Run ``target(*args)`` after the barrier; report ``("ok", value)`` or ``("error", type, text)``."""
    try:
        if barrier is not None:
            barrier.wait(120)
        results.put(("ok", target(*args)))
    except BaseException as exc:
        results.put(("error", type(exc).__name__, "".join(traceback.format_exception(exc))))


def _run_processes(calls: list[tuple[Callable[..., Any], tuple[Any, ...]]], *, race: bool) -> list[tuple[Any, ...]]:
    barrier = _SPAWN.Barrier(len(calls)) if race else None
    results = _SPAWN.Queue()
    procs = [_SPAWN.Process(target=_child, args=(fn, args, barrier, results)) for fn, args in calls]
    for proc in procs:
        proc.start()
    try:
        outcomes = [results.get(timeout=180) for _ in procs]
    except queue.Empty:
        pytest.fail("a child process did not report back within 180 s")
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    return outcomes


# --- (1) a handoff crosses processes ---------------------------------------------------------
def _initiate(location: str) -> tuple[str, str, str]:
    with _open(location) as maas:
        source = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1")
        target = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
        handoff = maas.handoffs.initiate_handoff(source, target, HandoffContext(task_description="Build the form"))
        assert handoff is not None
        return source, target, handoff


def _accept_and_complete(location: str, handoff_id: str, target: str) -> tuple[bool, bool]:
    with _open(location) as maas:
        return (
            maas.handoffs.accept_handoff(handoff_id, target),
            maas.handoffs.complete_handoff(handoff_id, target, {"form": "done"}),
        )


def test_a_handoff_initiated_in_one_process_is_completed_in_another(location: str) -> None:
    [(ok, ids)] = _run_processes([(_initiate, (location,))], race=False)
    assert ok == "ok", ids
    _source, target, handoff_id = ids
    [outcome] = _run_processes([(_accept_and_complete, (location, handoff_id, target))], race=False)
    assert outcome == ("ok", (True, True)), outcome
    with _open(location) as maas:
        handoff = maas.handoffs.get_handoff(handoff_id)
        assert handoff is not None and handoff.status is HandoffStatus.COMPLETED
        assert handoff.result == {"form": "done"}
        assert maas.audit.verify_chain().ok


# --- (2) eight processes race to accept one handoff -------------------------------------------
def _accept(location: str, handoff_id: str, target: str) -> bool:
    with _open(location) as maas:
        return maas.handoffs.accept_handoff(handoff_id, target)


def test_exactly_one_of_eight_processes_accepts_a_handoff(location: str) -> None:
    with _open(location) as maas:
        source = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1")
        target = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
        handoff_id = maas.handoffs.initiate_handoff(source, target, {"task_description": "one winner"})
        assert handoff_id is not None
    outcomes = _run_processes([(_accept, (location, handoff_id, target))] * 8, race=True)
    winners = [o for o in outcomes if o[0] == "ok"]
    losers = [o for o in outcomes if o[:2] == ("error", ConflictError.__name__)]
    assert winners == [("ok", True)] and len(losers) == 7, outcomes
    with _open(location) as maas:
        handoff = maas.handoffs.get_handoff(handoff_id)
        assert handoff is not None and handoff.status is HandoffStatus.ACCEPTED
        accepts = maas.audit.query(target=handoff_id, action="accept")
        assert [e.outcome for e in accepts].count("success") == 1
        assert [e.outcome for e in accepts].count("conflict") == 7
        assert maas.audit.verify_chain().ok


# --- (3) sixteen writers lose nothing --------------------------------------------------------
WRITERS, SHARES_EACH = 16, 500


def _share_many(location: str, pool_id: str, agent_id: str, n: int) -> int:
    with _open(location) as maas:
        shared = 0
        for i in range(n):
            shared += maas.pools.share_memory(pool_id, f"mem-{agent_id[:8]}-{i}", agent_id, SharedScope.GLOBAL)
        return shared


def test_sixteen_processes_writing_into_one_pool_lose_nothing(location: str) -> None:
    with _open(location) as maas:
        admin = maas.agents.register_agent(AgentType.HUMAN, owner_id="u1")
        pool = maas.pools.create_pool("busy", "u1", SharedScope.GLOBAL, admin_agent_id=admin)
        writers = [maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1") for _ in range(WRITERS)]
        for writer in writers:
            assert maas.pools.join_pool(pool, writer, "write")
        audit_before = maas.audit.count()
    outcomes = _run_processes([(_share_many, (location, pool, w, SHARES_EACH)) for w in writers], race=True)
    assert outcomes == [("ok", SHARES_EACH)] * WRITERS, [o for o in outcomes if o[0] != "ok"][:1]
    total = WRITERS * SHARES_EACH
    with _open(location) as maas:
        assert maas.runtime.read(lambda tx: tx.count_shares(pool)) == total
        everything = maas.pools.query_shared(pool, admin, limit=total)
        assert len({s.memory_id for s in everything}) == total
        seqs = [s.seq for s in everything]
        assert len(set(seqs)) == total
        assert maas.audit.count() == audit_before + total + 1  # one cross-agent-read entry for the query
        report = maas.audit.verify_chain()
        assert report.ok, report
        assert report.checked == maas.audit.count()


# --- (4) capacity checks hold across processes -----------------------------------------------
def _share_until_full(location: str, pool_id: str, agent_id: str, n: int, limit: int) -> int:
    with MaaS.open(location, sweep_interval=None, limits={"max_shared_memories_per_pool": limit}) as maas:
        stored = 0
        for i in range(n):
            with contextlib.suppress(CapacityExceededError):
                stored += maas.pools.share_memory(pool_id, f"cap-{agent_id[:8]}-{i}", agent_id, SharedScope.GLOBAL)
        return stored


def test_concurrent_writers_cannot_overshoot_a_capacity_limit(location: str) -> None:
    limit = 100
    with _open(location) as maas:
        pool = maas.pools.create_pool("capped", "u1", SharedScope.GLOBAL)
        writers = [maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1") for _ in range(8)]
        for writer in writers:
            assert maas.pools.join_pool(pool, writer, "write")
    outcomes = _run_processes([(_share_until_full, (location, pool, w, 30, limit)) for w in writers], race=True)
    assert all(o[0] == "ok" for o in outcomes), outcomes
    assert sum(o[1] for o in outcomes) == limit
    with _open(location) as maas:
        assert maas.runtime.read(lambda tx: tx.count_shares(pool)) == limit
        assert maas.audit.verify_chain().ok
