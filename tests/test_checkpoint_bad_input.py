"""MaaSCheckpointer on bad input: unknown threads, missing thread ids, missing capabilities,
bad agent ids, a closed instance, and saver tables written by a newer LangGraph saver."""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import StateGraph

from maas_langchain import AgentType, MaaS
from maas_langchain.adapters.langgraph.checkpoint import CheckpointSchemaError
from maas_langchain.core.enums import AgentCapability
from maas_langchain.errors import (
    BackendUnavailableError,
    InvalidInputError,
    PermissionDeniedError,
)
from maas_langchain.testing import ManualClock


@pytest.fixture
def maas(open_maas: Callable[..., MaaS], clock: ManualClock) -> Iterator[MaaS]:
    instance = open_maas(clock=clock, vectors="bruteforce")
    yield instance
    if not instance.closed:
        instance.checkpointer().close()


class State(TypedDict):
    total: Annotated[int, operator.add]


def graph(checkpointer: Any) -> Any:
    builder = StateGraph(State)
    builder.add_node("add", lambda s: {"total": 1})
    builder.set_entry_point("add")
    return builder.compile(checkpointer=checkpointer)


def cfg(thread: str | None, agent: str | None = None) -> Any:
    conf: dict[str, Any] = {} if thread is None else {"thread_id": thread}
    if agent is not None:
        conf["maas_agent_id"] = agent
    return {"configurable": conf}


def test_unknown_thread_is_none_like_langgraph(maas: MaaS) -> None:
    agent = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    cp = maas.checkpointer()
    assert cp.get_tuple(cfg("nope")) is None
    assert cp.get_tuple(cfg("nope", agent)) is None
    assert list(cp.list(cfg("nope", agent))) == []
    assert graph(cp).get_state(cfg("nope", agent)).values == {}
    assert maas.checkpointer()._access.owner("nope") is None  # reading claims nothing


def test_missing_thread_id_raises_langgraphs_own_error(maas: MaaS) -> None:
    agent = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    cp = maas.checkpointer()
    for conf in (cfg(None), cfg(None, agent)):  # no configurable at all; an agent but no thread
        with pytest.raises(Exception) as theirs:
            graph(InMemorySaver()).invoke({"total": 0}, conf)
        with pytest.raises(type(theirs.value)) as ours:
            graph(cp).invoke({"total": 0}, conf)
        assert str(ours.value) == str(theirs.value) and "thread_id" in str(ours.value)
    for conf in (cfg(None), cfg(None, agent)):  # direct calls: the KeyError LangGraph's savers raise
        with pytest.raises(KeyError, match="thread_id"):
            cp.get_tuple(conf)


def test_an_agent_without_write_capability_gets_a_clear_error_and_nothing_is_lost(maas: MaaS) -> None:
    owner = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    reader = maas.agents.register_agent(AgentType.CUSTOM_PIPELINE, owner_id="u1")  # MEMORY_READ only
    app = graph(maas.checkpointer())
    with pytest.raises(PermissionDeniedError, match="lacks the MEMORY_WRITE capability"):
        app.invoke({"total": 0}, cfg("R", reader))
    assert maas.checkpointer()._access.owner("R") is None  # the denied write claimed nothing
    # the owner's thread survives a denied handoff target write
    app.invoke({"total": 0}, cfg("T", owner))
    assert maas.handoffs.initiate_handoff(owner, reader, {"task_description": "t", "thread_id": "T"}) is None
    assert app.get_state(cfg("T", owner)).values == {"total": 1}


def test_an_agent_without_read_capability_gets_a_clear_error(maas: MaaS) -> None:
    writer = maas.agents.register_agent(
        AgentType.CUSTOM_PIPELINE, owner_id="u1", capabilities=[AgentCapability.MEMORY_WRITE]
    )
    app = graph(maas.checkpointer())
    with pytest.raises(PermissionDeniedError, match="lacks the MEMORY_READ capability"):
        app.invoke({"total": 0}, cfg("W", writer))
    with pytest.raises(PermissionDeniedError, match="MEMORY_READ"):
        list(maas.checkpointer().list({"configurable": {"maas_agent_id": writer}}))
    assert maas.audit.query(event_type="PERMISSION_DENIED", actor=writer)


def test_a_deactivated_owner_loses_its_thread(maas: MaaS) -> None:
    agent = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    app = graph(maas.checkpointer())
    app.invoke({"total": 0}, cfg("T", agent))
    maas.agents.deactivate_agent(agent)
    with pytest.raises(PermissionDeniedError, match="deactivated"):
        app.get_state(cfg("T", agent))
    assert maas.checkpointer().get_tuple(cfg("T")) is not None  # still stored


@pytest.mark.parametrize(
    ("agent", "error"),
    [
        ("not-a-uuid", InvalidInputError),
        ("00000000-0000-4000-8000-000000000000", PermissionDeniedError),  # an unregistered actor is denied
        (42, InvalidInputError),
    ],
)
def test_bad_agent_ids(maas: MaaS, agent: Any, error: type[Exception]) -> None:
    app = graph(maas.checkpointer())
    with pytest.raises(error, match=r"maas_agent_id|not registered"):
        app.invoke({"total": 0}, cfg("T", agent))
    with pytest.raises(error):
        maas.checkpointer(agent_id=agent).get_tuple(cfg("T")) if error is PermissionDeniedError else maas.checkpointer(
            agent_id=agent
        )


@pytest.mark.parametrize("thread", ["", "  ", "a\x00b", "x" * 513, 7])
def test_bad_thread_ids_in_a_handoff_context(maas: MaaS, thread: Any) -> None:
    a = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    b = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    with pytest.raises(InvalidInputError, match="thread_id"):
        maas.handoffs.initiate_handoff(a, b, {"task_description": "t", "thread_id": thread})


def test_a_closed_instance_refuses_clearly(maas: MaaS) -> None:
    agent = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    cp = maas.checkpointer()
    graph(cp).invoke({"total": 0}, cfg("T", agent))
    maas.close()
    with pytest.raises(BackendUnavailableError, match="closed"):
        cp.get_tuple(cfg("T"))


@pytest.mark.parametrize("backend_name", ["sqlite"], indirect=True)
def test_sqlite_tables_from_a_newer_saver_are_refused_at_open(maas: MaaS) -> None:
    agent = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    graph(maas.checkpointer()).invoke({"total": 0}, cfg("T", agent))
    location = maas.backend.location
    maas.checkpointer().close()
    maas.close()
    with sqlite3.connect(location) as conn:  # what a future SqliteSaver migration might do
        conn.execute("ALTER TABLE checkpoints ADD COLUMN storage_format TEXT NOT NULL DEFAULT 'v2'")
    again = MaaS.open(location, sweep_interval=None, vectors="bruteforce")
    try:
        with pytest.raises(CheckpointSchemaError, match=r"storage_format.*newer saver") as err:
            again.checkpointer()
        assert err.value.code == "backend_unavailable" and not err.value.retryable
        assert isinstance(err.value, BackendUnavailableError)
    finally:
        again.close()
    with sqlite3.connect(location) as conn:  # nothing was touched
        assert conn.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = 'T'").fetchone()[0] >= 2


@pytest.mark.parametrize("backend_name", ["postgres"], indirect=True)
def test_postgres_tables_from_a_newer_saver_are_refused_at_open(maas: MaaS, tmp_path: Path) -> None:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver

    agent = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    graph(maas.checkpointer()).invoke({"total": 0}, cfg("T", agent))
    url = maas.backend.url  # type: ignore[attr-defined]
    maas.checkpointer().close()
    maas.close()
    future = len(PostgresSaver.MIGRATIONS) + 3
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO checkpoint_migrations (v) VALUES (%s)", (future,))
    again = MaaS.open(url, sweep_interval=None, vectors="bruteforce")
    try:
        with pytest.raises(CheckpointSchemaError, match=rf"migration {future}.*newer") as err:
            again.checkpointer()
        assert not err.value.retryable
    finally:
        again.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM checkpoint_migrations WHERE v = %s", (future,))
    restored = MaaS.open(url, sweep_interval=None, vectors="bruteforce")
    try:  # once the versions agree again, the checkpoints are all there
        assert graph(restored.checkpointer()).get_state(cfg("T", agent)).values == {"total": 1}
    finally:
        restored.checkpointer().close()
        restored.close()
