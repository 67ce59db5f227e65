"""Concurrent first use of ``maas.checkpointer()`` on a new PostgreSQL database (issue 19, point 4).

Eight processes (multiprocessing "spawn", nothing inherited) open MaaS on one fresh schema
and, released together by a barrier, each build ``maas.checkpointer()`` — the first use, which
runs LangGraph's ``PostgresSaver.setup()`` migrations, three of them ``CREATE INDEX
CONCURRENTLY`` — and run a tiny graph on a thread of its own. Before the fix, 7 of 8 failed
with ``DeadlockDetected`` (as ``BackendUnavailableError``): the processes waiting for the setup
lock held a snapshot, and ``CREATE INDEX CONCURRENTLY`` waits for every older snapshot of the
database. Every process must succeed, every checkpoint must be readable afterwards, the saver
migrations must be complete and no index may be left invalid.
"""

from __future__ import annotations

import importlib
import multiprocessing
import queue
import traceback
from pathlib import Path
from typing import Any, TypedDict

import pytest
from conftest import postgres_url, require_postgres

from maas_langchain import MaaS

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

_SPAWN = multiprocessing.get_context("spawn")
PROCESSES = 8


class _State(TypedDict):
    n: int


def _graph(checkpointer: Any) -> Any:
    from langgraph.graph import StateGraph

    graph = StateGraph(_State).add_node("inc", lambda s: {"n": s["n"] + 1}).set_entry_point("inc")
    return graph.compile(checkpointer=checkpointer)


def _first_use(url: str, index: int, barrier: Any, results: Any) -> None:
    """Open MaaS, wait for the others, then use the checkpointer for the first time."""
    try:
        for module in ("langgraph.checkpoint.postgres", "langgraph.graph", "psycopg_pool"):
            importlib.import_module(module)  # before the barrier: the processes reach the setup together

        with MaaS.open(url, sweep_interval=None, handoff_screening="rules", vectors="bruteforce") as maas:
            barrier.wait(120)
            app = _graph(maas.checkpointer())
            out = app.invoke({"n": index}, {"configurable": {"thread_id": f"t{index}"}})
            results.put(("ok", index, out["n"]))
    except BaseException as exc:
        results.put(("error", index, "".join(traceback.format_exception(exc))))


def _admin(url: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql)
        return list(cur.fetchall()) if cur.description is not None else []


def test_eight_processes_use_the_checkpointer_first_at_the_same_moment(tmp_path: Path) -> None:
    require_postgres()
    url = postgres_url(tmp_path)
    barrier, results = _SPAWN.Barrier(PROCESSES), _SPAWN.Queue()
    procs = [_SPAWN.Process(target=_first_use, args=(url, i, barrier, results)) for i in range(PROCESSES)]
    for proc in procs:
        proc.start()
    try:
        outcomes = [results.get(timeout=240) for _ in procs]
    except queue.Empty:
        pytest.fail("a child process did not report back within 240 s")
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    failures = [o for o in outcomes if o[0] != "ok"]
    assert not failures, "\n\n".join(str(f[2]) for f in failures)
    assert sorted(o[1:] for o in outcomes) == [(i, i + 1) for i in range(PROCESSES)]

    with MaaS.open(url, sweep_interval=None, handoff_screening="rules", vectors="bruteforce") as maas:
        saver = maas.checkpointer()
        for i in range(PROCESSES):
            found = saver.get_tuple({"configurable": {"thread_id": f"t{i}"}})
            assert found is not None and found.checkpoint["channel_values"]["n"] == i + 1
        saver.close()

    from langgraph.checkpoint.postgres import PostgresSaver

    versions = [v for (v,) in _admin(url, "SELECT v FROM checkpoint_migrations ORDER BY v")]
    assert versions == list(range(len(PostgresSaver.MIGRATIONS)))
    invalid = _admin(
        url,
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relnamespace = current_schema()::regnamespace AND NOT i.indisvalid",
    )
    assert invalid == []
    expected = {"checkpoints_thread_id_idx", "checkpoint_blobs_thread_id_idx", "checkpoint_writes_thread_id_idx"}
    names = {n for (n,) in _admin(url, "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
    assert expected <= names


def test_an_index_left_invalid_by_an_interrupted_build_is_rebuilt(tmp_path: Path) -> None:
    """Under the old lock the deadlock victim could be the builder itself, leaving an INVALID
    index that ``CREATE INDEX CONCURRENTLY IF NOT EXISTS`` skips forever; the next open rebuilds it."""
    require_postgres()
    url = postgres_url(tmp_path)
    with MaaS.open(url, sweep_interval=None, handoff_screening="rules", vectors="bruteforce") as maas:
        maas.checkpointer().close()
    # What a cut-off CREATE INDEX CONCURRENTLY leaves behind (the test role is a superuser).
    _admin(
        url,
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass('checkpoints_thread_id_idx')",
    )
    assert _admin(
        url, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('checkpoints_thread_id_idx')"
    ) == [(False,)]
    with MaaS.open(url, sweep_interval=None, handoff_screening="rules", vectors="bruteforce") as maas:
        app = _graph(maas.checkpointer())
        assert app.invoke({"n": 1}, {"configurable": {"thread_id": "t"}}) == {"n": 2}
        maas.checkpointer().close()
    assert _admin(
        url, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('checkpoints_thread_id_idx')"
    ) == [(True,)]
