"""MaaSCheckpointer: LangGraph's conformance suite, thread ownership and handoff of threads.

Every test runs on each backend through the ``open_maas`` fixture (in memory, a real SQLite
file, a real PostgreSQL schema of its own). The conformance suite
(``langgraph-checkpoint-conformance``) calls only the async API; the sync API runs the same
suite through :class:`SyncAsAsync`, which forwards each async method to its sync twin.
"""

from __future__ import annotations

import asyncio
import operator
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import BASE_CAPABILITIES
from langgraph.graph import StateGraph

from maas_langchain import AgentType, MaaS
from maas_langchain.adapters.langgraph import MaaSCheckpointer
from maas_langchain.errors import PermissionDeniedError
from maas_langchain.testing import ManualClock

BASE = sorted(c.value for c in BASE_CAPABILITIES)


@pytest.fixture
def maas(open_maas: Callable[..., MaaS], clock: ManualClock) -> Iterator[MaaS]:
    instance = open_maas(clock=clock, vectors="bruteforce")
    yield instance
    instance.checkpointer().close()


class SyncAsAsync(BaseCheckpointSaver[str]):
    """Runs the conformance suite against the *sync* methods of a checkpointer."""

    def __init__(self, inner: MaaSCheckpointer) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner

    async def aget_tuple(self, config: Any) -> CheckpointTuple | None:
        return self.inner.get_tuple(config)

    async def alist(self, config: Any, **kw: Any) -> AsyncIterator[CheckpointTuple]:
        for item in self.inner.list(config, **kw):
            yield item

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        return self.inner.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        self.inner.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.inner.delete_thread(thread_id)

    def get_next_version(self, current: str | None, channel: None) -> str:
        return self.inner.get_next_version(current, channel)


async def conformance(make: Callable[[], BaseCheckpointSaver[Any]]) -> dict[str, Any]:
    @checkpointer_test(name="MaaSCheckpointer")
    async def factory() -> AsyncIterator[BaseCheckpointSaver[Any]]:
        yield make()

    report = await validate(factory)
    return {cap: (r.passed, r.tests_passed, [f.name for f in r.failures]) for cap, r in report.results.items()}


def assert_base_passed(results: dict[str, Any]) -> None:
    for cap in BASE:
        passed, count, failures = results[cap]
        assert passed and count > 0 and not failures, (cap, results[cap])


@pytest.mark.asyncio
async def test_conformance_async_api(maas: MaaS) -> None:
    results = await conformance(maas.checkpointer)
    assert_base_passed(results)
    assert sum(results[c][1] for c in BASE) >= 50  # the whole base suite ran, not a sample


@pytest.mark.asyncio
async def test_conformance_sync_api(maas: MaaS) -> None:
    assert_base_passed(await conformance(lambda: SyncAsAsync(maas.checkpointer())))


@pytest.mark.asyncio
@pytest.mark.parametrize("backend_name", ["sqlite"], indirect=True)
async def test_conformance_as_an_agent_that_owns_every_thread(maas: MaaS) -> None:
    """The ownership checks change nothing for the owner: the suite passes through a bound view."""
    agent = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    assert_base_passed(await conformance(lambda: maas.checkpointer(agent_id=agent)))


# --- a small graph ---------------------------------------------------------------------
class Counter(TypedDict):
    total: Annotated[int, operator.add]
    steps: Annotated[list[str], operator.add]


def counter_graph(checkpointer: Any) -> Any:
    """plan → build → review, pausing before ``build``: the next agent resumes from there."""
    graph = StateGraph(Counter)
    graph.add_node("plan", lambda s: {"total": 1, "steps": ["plan"]})
    graph.add_node("build", lambda s: {"total": 10, "steps": ["build"]})
    graph.add_node("review", lambda s: {"total": 100, "steps": ["review"]})
    graph.add_edge("plan", "build")
    graph.add_edge("build", "review")
    graph.set_entry_point("plan")
    return graph.compile(checkpointer=checkpointer, interrupt_before=["build"])


def cfg(thread: str, agent: str | None = None) -> Any:
    conf: dict[str, Any] = {"thread_id": thread}
    if agent is not None:
        conf["maas_agent_id"] = agent
    return {"configurable": conf}


def agents(maas: MaaS, n: int = 3) -> list[str]:
    return [maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1") for _ in range(n)]


def denied(fn: Callable[[], Any]) -> PermissionDeniedError:
    with pytest.raises(PermissionDeniedError) as err:
        fn()
    return err.value


def test_thread_belongs_to_first_writer_and_is_handed_off_then_taken_back(maas: MaaS, clock: ManualClock) -> None:
    a, b, c = agents(maas)
    app = counter_graph(maas.checkpointer())
    assert app.invoke({"total": 0, "steps": []}, cfg("T", a)) == {"total": 1, "steps": ["plan"]}
    assert app.get_state(cfg("T", a)).next == ("build",)

    for outsider in (b, c):  # neither reads, lists, resumes nor writes A's thread
        denied(lambda o=outsider: app.get_state(cfg("T", o)))
        denied(lambda o=outsider: list(app.get_state_history(cfg("T", o))))
        denied(lambda o=outsider: app.invoke(None, cfg("T", o)))
        denied(lambda o=outsider: app.update_state(cfg("T", o), {"total": 5}))
    assert app.get_state(cfg("T", a)).values == {"total": 1, "steps": ["plan"]}  # nothing changed

    handoff = maas.handoffs.initiate_handoff(a, b, {"task_description": "build it", "thread_id": "T"})
    assert handoff is not None
    assert maas.handoffs.get_handoff(handoff).context.thread_id == "T"
    assert app.get_state(cfg("T", b)).next == ("build",)  # PENDING already grants the target
    denied(lambda: app.get_state(cfg("T", c)))
    assert maas.handoffs.accept_handoff(handoff, b)

    # B resumes A's paused graph where A stopped; the steps accumulate on A's state
    assert app.invoke(None, cfg("T", b)) == {"total": 111, "steps": ["plan", "build", "review"]}
    assert [s.metadata["step"] for s in app.get_state_history(cfg("T", b))][:2] == [3, 2]
    assert app.get_state(cfg("T", a)).values["total"] == 111  # the owner keeps access
    denied(lambda: app.get_state(cfg("T", c)))

    assert maas.handoffs.complete_handoff(handoff, b, {"done": True})
    denied(lambda: app.get_state(cfg("T", b)))
    denied(lambda: app.invoke({"total": 1, "steps": []}, cfg("T", b)))
    denied(lambda: app.get_state(cfg("T", c)))
    assert app.get_state(cfg("T", a)).values["total"] == 111

    denials = maas.audit.query(event_type="PERMISSION_DENIED", target="thread:T")
    assert {e.actor for e in denials} == {b, c} and all(e.outcome == "denied" for e in denials)
    claim = maas.audit.query(action="thread_claim", target="thread:T")
    assert [e.actor for e in claim] == [a]


@pytest.mark.parametrize("ending", ["expire", "reject", "cancel"])
def test_a_handoff_that_ends_without_completing_gives_no_access(maas: MaaS, clock: ManualClock, ending: str) -> None:
    a, b, _ = agents(maas)
    app = counter_graph(maas.checkpointer())
    app.invoke({"total": 0, "steps": []}, cfg("T", a))
    handoff = maas.handoffs.initiate_handoff(a, b, {"task_description": "t", "thread_id": "T"}, ttl_seconds=60)
    assert handoff is not None
    assert app.get_state(cfg("T", b)).next == ("build",)
    if ending == "expire":
        clock.advance(61)  # the sweeper has not run: expiry is enforced on access
    elif ending == "reject":
        assert maas.handoffs.reject_handoff(handoff, b, "busy")
    else:
        assert maas.handoffs.cancel_handoff(handoff, a)
    denied(lambda: app.get_state(cfg("T", b)))
    denied(lambda: app.invoke(None, cfg("T", b)))
    assert app.get_state(cfg("T", a)).next == ("build",)


def test_only_the_owner_may_hand_a_thread_off(open_maas: Callable[..., MaaS], clock: ManualClock) -> None:
    maas = open_maas(clock=clock, vectors="bruteforce", raise_on_denial=True)
    a, b, c = agents(maas)
    counter_graph(maas.checkpointer()).invoke({"total": 0, "steps": []}, cfg("T", a))
    with pytest.raises(PermissionDeniedError, match="only its owner may hand it off"):
        maas.handoffs.initiate_handoff(b, c, {"task_description": "steal", "thread_id": "T"})
    from maas_langchain.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no agent owns thread"):
        maas.handoffs.initiate_handoff(a, b, {"task_description": "t", "thread_id": "never-run"})
    assert maas.handoffs.list_handoffs() == []
    maas.checkpointer().close()


def test_handoff_grants_only_the_thread_it_carries(maas: MaaS) -> None:
    a, b, _ = agents(maas)
    app = counter_graph(maas.checkpointer())
    app.invoke({"total": 0, "steps": []}, cfg("T1", a))
    app.invoke({"total": 0, "steps": []}, cfg("T2", a))
    handoff = maas.handoffs.initiate_handoff(a, b, {"task_description": "t", "thread_id": "T1"})
    assert handoff is not None
    assert app.get_state(cfg("T1", b)).values["total"] == 1
    denied(lambda: app.get_state(cfg("T2", b)))
    handoff_plain = maas.handoffs.initiate_handoff(a, b, {"task_description": "no thread"})
    assert handoff_plain is not None and maas.handoffs.get_handoff(handoff_plain).context.thread_id is None
    denied(lambda: app.get_state(cfg("T2", b)))


def test_listing_without_a_thread_shows_an_agent_only_its_threads(maas: MaaS) -> None:
    a, b, c = agents(maas)
    cp = maas.checkpointer()
    app = counter_graph(cp)
    app.invoke({"total": 0, "steps": []}, cfg("TA", a))
    app.invoke({"total": 0, "steps": []}, cfg("TB", b))
    app.invoke({"total": 0, "steps": []}, cfg("TT", None))  # the trusted layer: nobody owns it

    def threads(agent: str | None, **kw: Any) -> set[str]:
        conf = None if agent is None else {"configurable": {"maas_agent_id": agent}}
        return {t.config["configurable"]["thread_id"] for t in cp.list(conf, **kw)}

    assert threads(None) == {"TA", "TB", "TT"}
    assert threads(a) == {"TA"} and threads(b) == {"TB"} and threads(c) == set()
    assert len(list(cp.list({"configurable": {"maas_agent_id": a}}, limit=1))) == 1
    assert maas.handoffs.initiate_handoff(b, a, {"task_description": "t", "thread_id": "TB"})
    assert threads(a) == {"TA", "TB"}
    assert cp.get_tuple(cfg("TT", a)) is None  # trusted-layer checkpoints are not shown to agents


def test_a_bound_view_acts_as_its_agent_only(maas: MaaS) -> None:
    a, b, _ = agents(maas)
    as_a = counter_graph(maas.checkpointer(agent_id=a))
    as_a.invoke({"total": 0, "steps": []}, cfg("T"))
    assert as_a.get_state(cfg("T")).values["total"] == 1
    err = denied(lambda: as_a.get_state(cfg("T", b)))  # a config cannot switch the bound agent
    assert "acts for agent" in err.message
    as_b = counter_graph(maas.checkpointer(agent_id=b))
    denied(lambda: as_b.get_state(cfg("T")))


def test_delete_thread_is_for_the_owner(maas: MaaS) -> None:
    a, b, _ = agents(maas)
    app = counter_graph(maas.checkpointer())
    app.invoke({"total": 0, "steps": []}, cfg("T", a))
    assert maas.handoffs.initiate_handoff(a, b, {"task_description": "t", "thread_id": "T"})
    denied(lambda: maas.checkpointer(agent_id=b).delete_thread("T"))  # a handoff grants no delete
    assert maas.checkpointer().get_tuple(cfg("T")) is not None  # nothing lost
    maas.checkpointer(agent_id=a).delete_thread("T")
    assert maas.checkpointer().get_tuple(cfg("T")) is None
    # the owner was forgotten with the thread: the id can start over with a new owner
    app.invoke({"total": 0, "steps": []}, cfg("T", b))
    assert app.get_state(cfg("T", b)).values["total"] == 1
    denied(lambda: app.get_state(cfg("T", a)))


@pytest.mark.asyncio
async def test_async_api_owner_handoff_and_resume(maas: MaaS) -> None:
    a, b, c = agents(maas)
    cp = maas.checkpointer()
    app = counter_graph(cp)
    assert await app.ainvoke({"total": 0, "steps": []}, cfg("T", a)) == {"total": 1, "steps": ["plan"]}
    with pytest.raises(PermissionDeniedError):
        await app.aget_state(cfg("T", b))
    with pytest.raises(PermissionDeniedError):
        await app.ainvoke(None, cfg("T", c))
    handoff = maas.handoffs.initiate_handoff(a, b, {"task_description": "t", "thread_id": "T"})
    assert handoff is not None and maas.handoffs.accept_handoff(handoff, b)
    assert await app.ainvoke(None, cfg("T", b)) == {"total": 111, "steps": ["plan", "build", "review"]}
    history = [s async for s in app.aget_state_history(cfg("T", b))]
    assert history[0].values["total"] == 111 and history[-1].values == {"total": 0, "steps": []}
    assert maas.handoffs.complete_handoff(handoff, b)
    with pytest.raises(PermissionDeniedError):
        await app.aget_state(cfg("T", b))
    # the async path really ran on LangGraph's async saver for this backend
    expected = {"memory": "InMemorySaver", "sqlite": "AsyncSqliteSaver", "postgres": "AsyncPostgresSaver"}
    saver = await cp._hub.saver_async()
    assert type(saver).__name__ == expected[cp.backend]
    # the sync and async savers see the same checkpoints
    assert cp.get_tuple(cfg("T", a)).checkpoint["channel_values"]["total"] == 111  # type: ignore[union-attr]
    await cp.aclose()


def test_checkpoints_live_in_the_maas_database(maas: MaaS, backend_name: str, tmp_path: Path) -> None:
    a, *_ = agents(maas, 1)
    counter_graph(maas.checkpointer()).invoke({"total": 0, "steps": []}, cfg("T", a))
    maas.checkpointer().close()
    if backend_name == "sqlite":
        with sqlite3.connect(maas.backend.location) as conn:
            assert conn.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = 'T'").fetchone()[0] >= 2
            assert conn.execute("SELECT owner_id FROM thread_owners").fetchall() == [(a,)]
    elif backend_name == "postgres":
        import psycopg
        from conftest import POSTGRES_URL

        schema = maas.backend.schema  # type: ignore[attr-defined]
        with psycopg.connect(POSTGRES_URL) as conn:
            rows = conn.execute(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = 'checkpoints'"
            ).fetchall()
            assert (schema,) in rows and ("public",) not in rows
            count = conn.execute(f"SELECT COUNT(*) FROM {schema}.checkpoints WHERE thread_id = 'T'").fetchone()
            assert count is not None and count[0] >= 2
    # a restart (a new instance on the same database) finds the thread and its owner
    if backend_name != "memory":
        again = MaaS.open(maas.backend.location if backend_name == "sqlite" else maas.backend.url, sweep_interval=None)  # type: ignore[attr-defined]
        try:
            app = counter_graph(again.checkpointer())
            assert app.get_state(cfg("T", a)).next == ("build",)
            b = again.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
            denied(lambda: app.get_state(cfg("T", b)))
        finally:
            again.checkpointer().close()
            again.close()


def test_concurrent_first_writes_leave_exactly_one_owner(maas: MaaS) -> None:
    writers = agents(maas, 4)
    app = counter_graph(maas.checkpointer())

    async def race() -> list[Any]:
        async def run(agent: str) -> Any:
            return await asyncio.to_thread(lambda: app.invoke({"total": 0, "steps": []}, cfg("T", agent)))

        return await asyncio.gather(*(run(w) for w in writers), return_exceptions=True)

    outcomes = asyncio.run(race())
    winners = [w for w, o in zip(writers, outcomes, strict=True) if not isinstance(o, BaseException)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, PermissionDeniedError) for o in outcomes if isinstance(o, BaseException))
    assert maas.checkpointer()._access.owner("T") == winners[0]
