"""Supervisor graphs (DESIGN.md §6): graph routing is MaaS handoffs, end to end on a SQLite file.

Chat models are scripted fakes (they record what they were sent); MaaS is real: a SQLite file,
the brute-force index and deterministic hashing embeddings.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from pydantic import Field

from maas_langchain import AgentType, AuditEventType, HandoffStatus, MaaS
from maas_langchain.adapters.langgraph import create_handoff_tool, create_maas_supervisor
from maas_langchain.adapters.langgraph.supervisor import (
    MaaSWorker,
    SupervisorState,
    WorkerOutput,
    WorkerTask,
    create_supervisor_agent,
    maas_worker_node,
)
from maas_langchain.embeddings import HashingEmbeddings
from maas_langchain.errors import InvalidInputError, NotFoundError
from maas_langchain.testing import ManualClock

H = HandoffStatus
PROJECT = {"org": "acme", "project": "payments"}


class ScriptedModel(GenericFakeChatModel):
    """Returns its scripted messages in order and records every input it was sent."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def scripted(*replies: AIMessage | str) -> ScriptedModel:
    return ScriptedModel(messages=iter(replies))


def call(worker: str, task: str, call_id: str) -> dict[str, Any]:
    return {"name": f"transfer_to_{worker}", "args": {"task": task}, "id": call_id, "type": "tool_call"}


def handoff_turn(*calls: dict[str, Any]) -> AIMessage:
    return AIMessage(content="", tool_calls=list(calls))


def text_of(messages: list[BaseMessage]) -> str:
    return "\n".join(m.text for m in messages)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def maas(tmp_path: Path, clock: ManualClock) -> Iterator[MaaS]:
    with MaaS.open(
        tmp_path / "home", vectors="bruteforce", embeddings=HashingEmbeddings(), clock=clock, sweep_interval=None
    ) as instance:
        yield instance


@pytest.fixture
def team(maas: MaaS) -> dict[str, str]:
    return {
        "boss": maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1", name="boss"),
        "a": maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1", name="worker-a"),
        "b": maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1", name="worker-b"),
    }


def workers(team: dict[str, str], a: Any, b: Any, **options: Any) -> list[MaaSWorker]:
    return [
        MaaSWorker(name="worker_a", agent_id=team["a"], agent=a, scope=PROJECT, **options),
        MaaSWorker(name="worker_b", agent_id=team["b"], agent=b, scope=PROJECT, **options),
    ]


def handoff_trail(maas: MaaS) -> list[tuple[str, str | None]]:
    return [(e.action, e.target) for e in maas.audit.query(event_type=AuditEventType.HANDOFF)]


def tool_replies(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    return [json.loads(m.text) for m in messages if isinstance(m, ToolMessage)]


def test_end_to_end_workers_share_what_they_learn(maas: MaaS, team: dict[str, str]) -> None:
    seeded = maas.memories.remember(
        "The payments API allows 100 requests per minute per client.", scope=PROJECT, author_id=team["boss"]
    )
    answers = (
        "Use a leaky bucket limiter of 100 requests per minute in the payments client.",
        "Tests cover the bucket refill and the 429 retry.",
    )
    model_a, model_b = scripted(answers[0]), scripted(answers[1])
    boss = scripted(
        handoff_turn(call("worker_a", "Design client-side throttling for the payments API rate limit", "c1")),
        handoff_turn(call("worker_b", "Write tests for the payments client leaky bucket", "c2")),
        "Throttling designed and tested.",
    )
    team_workers = [
        MaaSWorker(
            name="worker_a",
            agent_id=team["a"],
            agent=model_a,
            description="designs clients",
            scope=PROJECT,
            write_scope={**PROJECT, "agent": "worker-a"},  # its own scope; the project scope sees it
        ),
        MaaSWorker(name="worker_b", agent_id=team["b"], agent=model_b, description="writes tests", scope=PROJECT),
    ]
    graph = create_maas_supervisor(maas, supervisor_id=team["boss"], workers=team_workers, model=boss).compile()

    out = graph.invoke({"messages": [HumanMessage("Add rate limiting to the payments client")]})

    assert out["messages"][-1].text == "Throttling designed and tested."
    assert "100 requests per minute per client" in text_of(model_a.seen[0])  # the seeded memory reached A
    assert "leaky bucket limiter of 100 requests" in text_of(model_b.seen[0])  # B recalled what A wrote
    by_target = {h.target_agent_id: h for h in maas.handoffs.list_handoffs()}  # the manual clock stood still
    first, second = by_target[team["a"]], by_target[team["b"]]
    for record, worker, answer in ((first, team["a"], answers[0]), (second, team["b"], answers[1])):
        assert record.status is H.COMPLETED
        assert (record.source_agent_id, record.target_agent_id) == (team["boss"], worker)
        assert record.created_at <= record.accepted_at <= record.finished_at  # type: ignore[operator]
        assert record.result is not None and record.result["answer"] == answer
    assert first.result is not None
    assert seeded.memory_id in first.result["recalled"]
    learned = maas.memories.get(first.result["memory_ids"][0])
    assert learned is not None and learned.author_id == team["a"]
    assert learned.scope == {**PROJECT, "agent": "worker-a"}
    assert learned.metadata == {
        "handoff_id": first.handoff_id,
        "source_agent_id": team["boss"],
        "worker_agent_id": team["a"],
        "worker": "worker_a",
    }
    assert second.result is not None and learned.memory_id in second.result["recalled"]
    assert first.context.task_description.startswith("Design client-side throttling")
    assert handoff_trail(maas) == [
        ("initiate", first.handoff_id),
        ("accept", first.handoff_id),
        ("complete", first.handoff_id),
        ("initiate", second.handoff_id),
        ("accept", second.handoff_id),
        ("complete", second.handoff_id),
    ]
    assert out["maas_handoffs"][first.handoff_id]["status"] == "completed"
    assert out["maas_handoff"] is None
    assert "Use a leaky bucket" in text_of(boss.seen[1])  # A's answer came back to the supervisor
    assert maas.audit.verify_chain().ok


def test_parallel_handoffs_run_the_workers_together(maas: MaaS, team: dict[str, str]) -> None:
    both_inside = threading.Barrier(2, timeout=10)  # passes only if both workers run at once

    def worker(label: str) -> Any:
        def run(task: WorkerTask) -> WorkerOutput:
            both_inside.wait()
            return WorkerOutput(f"{label} finished: {task.task}", learned=[f"{label} learned about {task.task}"])

        return run

    boss = scripted(
        handoff_turn(call("worker_a", "profile the API", "p1"), call("worker_b", "profile the database", "p2")),
        "Both profiles are in.",
    )
    builder = create_maas_supervisor(
        maas, supervisor_id=team["boss"], workers=workers(team, worker("A"), worker("B")), model=boss
    )

    out = builder.compile().invoke({"messages": [HumanMessage("Profile the system")]})

    records = maas.handoffs.list_handoffs()
    assert len(records) == 2 and all(r.status is H.COMPLETED for r in records)
    assert {r.target_agent_id for r in records} == {team["a"], team["b"]}
    assert {r.context.task_description for r in records} == {"profile the API", "profile the database"}
    assert {o["status"] for o in out["maas_handoffs"].values()} == {"completed"}
    back = boss.seen[1]  # the supervisor's second turn saw both results, with a valid history
    assert "A finished: profile the API" in text_of(back) and "B finished: profile the database" in text_of(back)
    calls = [c["id"] for m in back if isinstance(m, AIMessage) for c in m.tool_calls]
    answered = [m.tool_call_id for m in back if isinstance(m, ToolMessage)]
    assert sorted(calls) == sorted(answered) == ["p1", "p2"]
    assert out["messages"][-1].text == "Both profiles are in."


def test_an_expired_handoff_is_not_run(maas: MaaS, team: dict[str, str], clock: ManualClock) -> None:
    model_a = scripted("should never be produced")
    boss = scripted(handoff_turn(call("worker_a", "migrate the ledger", "e1")), "Understood, it expired.")
    builder = create_maas_supervisor(
        maas, supervisor_id=team["boss"], workers=workers(team, model_a, scripted()), model=boss, ttl_seconds=60
    )
    graph = builder.compile(checkpointer=InMemorySaver(), interrupt_before=["worker_a"])
    config = {"configurable": {"thread_id": "t-expired"}}

    graph.invoke({"messages": [HumanMessage("Migrate")]}, config)
    clock.advance(61)  # the pause outlived the handoff's TTL
    out = graph.invoke(None, config)

    assert model_a.seen == []
    (record,) = maas.handoffs.list_handoffs()
    assert record.status is H.EXPIRED and record.accepted_at is None
    notice = out["messages"][-2]
    assert notice.name == "worker_a" and "was not executed" in notice.text and "expired" in notice.text
    assert "was not executed" in text_of(boss.seen[1])
    assert out["maas_handoffs"][record.handoff_id]["status"] == "expired"
    trail = [(e.action, e.outcome) for e in maas.audit.query(event_type=AuditEventType.HANDOFF)]
    assert trail == [("initiate", "success"), ("accept", "conflict"), ("expire", "success")]  # the refused start


def test_a_cancelled_handoff_is_not_run(maas: MaaS, team: dict[str, str]) -> None:
    model_a = scripted("should never be produced")
    boss = scripted(handoff_turn(call("worker_a", "rotate the keys", "x1")), "Cancelled as asked.")
    builder = create_maas_supervisor(
        maas, supervisor_id=team["boss"], workers=workers(team, model_a, scripted()), model=boss
    )
    graph = builder.compile(checkpointer=InMemorySaver(), interrupt_before=["worker_a"])
    config = {"configurable": {"thread_id": "t-cancelled"}}

    graph.invoke({"messages": [HumanMessage("Rotate")]}, config)
    (pending,) = maas.handoffs.list_handoffs()
    assert maas.handoffs.cancel_handoff(pending.handoff_id, team["boss"], reason="not needed any more")
    out = graph.invoke(None, config)

    assert model_a.seen == []
    assert maas.handoffs.get_handoff(pending.handoff_id).status is H.CANCELLED  # type: ignore[union-attr]
    assert "[conflict]" in out["messages"][-2].text and "CANCELLED" in out["messages"][-2].text
    assert out["messages"][-1].text == "Cancelled as asked."


@pytest.mark.parametrize("who", ["supervisor", "worker"])
def test_a_denied_handoff_returns_the_code_and_the_run_completes(maas: MaaS, who: str) -> None:
    limited = ["memory_read", "memory_write"]
    boss = maas.agents.register_agent(
        AgentType.GPT_AGENT, owner_id="u1", capabilities=limited if who == "supervisor" else None
    )
    worker_id = maas.agents.register_agent(
        AgentType.CLAUDE_CODE, owner_id="u1", capabilities=limited if who == "worker" else None
    )
    model_w = scripted("should never be produced")
    model = scripted(handoff_turn(call("w", "do it", "d1")), "I could not hand it off.")
    worker = MaaSWorker(name="w", agent_id=worker_id, agent=model_w)
    graph = create_maas_supervisor(maas, supervisor_id=boss, workers=[worker], model=model).compile()

    out = graph.invoke({"messages": [HumanMessage("Go")]})

    assert model_w.seen == [] and maas.handoffs.list_handoffs() == []
    (reply,) = tool_replies(out["messages"])
    capability = "HANDOFF_INITIATE" if who == "supervisor" else "HANDOFF_RECEIVE"
    assert reply["ok"] is False and reply["error"]["code"] == "permission_denied"
    assert capability in reply["error"]["message"]
    assert out["messages"][-1].text == "I could not hand it off."
    denied = maas.audit.query(event_type=AuditEventType.PERMISSION_DENIED, actor=boss)
    assert [e.action for e in denied] == ["initiate"]


def test_a_denied_call_in_a_parallel_turn_is_reported_by_its_worker(maas: MaaS, team: dict[str, str]) -> None:
    blocked = maas.agents.register_agent(AgentType.CUSTOM_PIPELINE, owner_id="u1")  # no HANDOFF_RECEIVE
    model_b = scripted("should never be produced")
    boss = scripted(handoff_turn(call("worker_a", "task A", "q1"), call("worker_b", "task B", "q2")), "Noted.")
    crew = [
        MaaSWorker(name="worker_a", agent_id=team["a"], agent=lambda task: "A done"),
        MaaSWorker(name="worker_b", agent_id=blocked, agent=model_b),
    ]
    graph = create_maas_supervisor(maas, supervisor_id=team["boss"], workers=crew, model=boss).compile()
    graph.invoke({"messages": [HumanMessage("Go")]})

    assert model_b.seen == []
    (record,) = maas.handoffs.list_handoffs()
    assert record.status is H.COMPLETED and record.target_agent_id == team["a"]
    seen = text_of(boss.seen[1])
    assert "A done" in seen and "was not started: [permission_denied]" in seen


def test_a_failing_worker_rejects_its_handoff(maas: MaaS, team: dict[str, str]) -> None:
    def broken(task: WorkerTask) -> str:
        raise RuntimeError("the sandbox is down")

    boss = scripted(handoff_turn(call("worker_a", "deploy", "f1")), "Deploy failed; will retry later.")
    crew = workers(team, broken, scripted())
    out = (
        create_maas_supervisor(maas, supervisor_id=team["boss"], workers=crew, model=boss)
        .compile()
        .invoke({"messages": [HumanMessage("Deploy")]})
    )

    (record,) = maas.handoffs.list_handoffs()
    assert record.status is H.REJECTED and record.reason == "RuntimeError: the sandbox is down"
    assert "[worker_error] RuntimeError: the sandbox is down" in out["messages"][-2].text
    assert [a for a, _ in handoff_trail(maas)] == ["initiate", "accept", "reject"]

    raising = [MaaSWorker(name="worker_a", agent_id=team["a"], agent=broken, on_error="raise")]
    boss2 = scripted(handoff_turn(call("worker_a", "deploy again", "f2")))
    graph = create_maas_supervisor(maas, supervisor_id=team["boss"], workers=raising, model=boss2).compile()
    with pytest.raises(RuntimeError, match="sandbox is down"):
        graph.invoke({"messages": [HumanMessage("Deploy")]})
    assert [r.status for r in maas.handoffs.list_handoffs()] == [H.REJECTED, H.REJECTED]


def test_a_graph_built_by_hand(maas: MaaS, team: dict[str, str]) -> None:
    maas.memories.remember("Invoices are stored in EUR cents.", scope=PROJECT)
    tools = [
        create_handoff_tool(maas, source_id=team["boss"], target_id=team["a"], agent_name="billing", ttl_seconds=600)
    ]
    boss = scripted(handoff_turn(call("billing", "total the open invoices", "h1")), "The total is ready.")
    billing = scripted("Open invoices total 1234 EUR cents.")
    builder = StateGraph(SupervisorState)
    builder.add_node("supervisor", create_supervisor_agent(boss, tools), destinations=("billing",))
    builder.add_node("billing", maas_worker_node(maas, team["a"], billing, name="billing", scope=PROJECT))
    builder.add_edge(START, "supervisor")
    builder.add_edge("billing", "supervisor")

    out = builder.compile().invoke({"messages": [HumanMessage("Total?")]})

    assert "EUR cents" in text_of(billing.seen[0])
    (record,) = maas.handoffs.list_handoffs()
    assert record.status is H.COMPLETED and record.expires_at == record.created_at + 600
    assert out["messages"][-1].text == "The total is ready."


def test_the_worker_agent_runs_as_the_worker(maas: MaaS, team: dict[str, str]) -> None:
    seen: dict[str, Any] = {}

    def agent(task: WorkerTask) -> str:
        seen.update(task.config.get("configurable", {}))
        return "ok"

    boss = scripted(handoff_turn(call("worker_a", "who am I?", "i1")), "done")
    crew = [MaaSWorker(name="worker_a", agent_id=team["a"], agent=agent)]
    graph = create_maas_supervisor(maas, supervisor_id=team["boss"], workers=crew, model=boss).compile()
    graph.invoke({"messages": [HumanMessage("hi")]}, {"configurable": {"maas_agent_id": team["boss"]}})
    assert seen["maas_agent_id"] == team["a"]


def test_bad_settings_are_refused_when_the_graph_is_built(maas: MaaS, team: dict[str, str]) -> None:
    model = scripted()
    with pytest.raises(InvalidInputError, match="at least one worker"):
        create_maas_supervisor(maas, supervisor_id=team["boss"], workers=[], model=model)
    with pytest.raises(InvalidInputError, match="unique"):
        create_maas_supervisor(maas, supervisor_id=team["boss"], workers=workers(team, "x", "y")[:1] * 2, model=model)
    with pytest.raises(InvalidInputError, match="name"):
        create_maas_supervisor(
            maas, supervisor_id=team["boss"], workers=[MaaSWorker("bad name", team["a"], "x")], model=model
        )
    with pytest.raises(NotFoundError):
        create_maas_supervisor(maas, supervisor_id="0" * 32, workers=workers(team, "x", "y"), model=model)
    with pytest.raises(InvalidInputError, match="on_error"):
        maas_worker_node(maas, team["a"], "x", name="w", on_error="ignore")


def test_a_worker_interrupted_mid_task_resumes_its_accepted_handoff(maas: MaaS, team: dict[str, str]) -> None:
    from langgraph.types import Command, interrupt

    def careful(task: WorkerTask) -> str:
        approval = interrupt(f"approve {task.task}?")  # human in the loop inside the worker
        return f"{task.task}: {approval}"

    boss = scripted(handoff_turn(call("worker_a", "drop the old table", "r1")), "Done.")
    crew = [MaaSWorker(name="worker_a", agent_id=team["a"], agent=careful)]
    graph = create_maas_supervisor(maas, supervisor_id=team["boss"], workers=crew, model=boss).compile(
        checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "t-interrupt"}}

    paused = graph.invoke({"messages": [HumanMessage("Clean up")]}, config)
    (record,) = maas.handoffs.list_handoffs()
    assert paused["__interrupt__"][0].value == "approve drop the old table?"
    assert record.status is H.ACCEPTED  # accepted, not rejected: the interrupt is not an error
    out = graph.invoke(Command(resume="approved"), config)

    done = maas.handoffs.get_handoff(record.handoff_id)
    assert done is not None and done.status is H.COMPLETED
    assert done.result is not None and done.result["answer"] == "drop the old table: approved"
    assert [a for a, _ in handoff_trail(maas)] == ["initiate", "accept", "complete"]
    assert out["messages"][-1].text == "Done."


@pytest.mark.asyncio
async def test_the_graph_runs_under_ainvoke(maas: MaaS, team: dict[str, str]) -> None:
    boss = scripted(handoff_turn(call("worker_a", "async task", "s1")), "Async done.")
    crew = [MaaSWorker(name="worker_a", agent_id=team["a"], agent=scripted("worked"), scope=PROJECT)]
    graph = create_maas_supervisor(maas, supervisor_id=team["boss"], workers=crew, model=boss).compile()
    out = await graph.ainvoke({"messages": [HumanMessage("go")]})
    assert out["messages"][-1].text == "Async done."
    assert [h.status for h in maas.handoffs.list_handoffs()] == [H.COMPLETED]


@pytest.mark.slow
def test_end_to_end_on_the_default_chroma_index_and_local_model(tmp_path: Path) -> None:
    with MaaS.open(tmp_path / "real", sweep_interval=None) as maas:  # embedded Chroma + all-MiniLM-L6-v2
        boss_id = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
        a_id = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1")
        b_id = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1")
        for fact in (
            "The office cafeteria serves pasta on Fridays.",
            "The payments API allows 100 requests per minute per client.",
            "Design reviews happen every Tuesday afternoon.",
        ):
            maas.memories.remember(fact, scope=PROJECT)
        model_a = scripted("Throttle the payments client with a leaky bucket limiter at 100 requests per minute.")
        model_b = scripted("Wrote tests for the limiter.")
        boss = scripted(
            handoff_turn(call("worker_a", "Design client-side throttling for the payments API rate limit", "c1")),
            handoff_turn(call("worker_b", "Write unit tests for the payments client's leaky bucket limiter", "c2")),
            "Done.",
        )
        crew = [
            MaaSWorker(name="worker_a", agent_id=a_id, agent=model_a, scope=PROJECT, recall_k=1),
            MaaSWorker(name="worker_b", agent_id=b_id, agent=model_b, scope=PROJECT, recall_k=1),
        ]
        graph = create_maas_supervisor(maas, supervisor_id=boss_id, workers=crew, model=boss).compile()

        graph.invoke({"messages": [HumanMessage("Rate-limit the payments client")]})

        to_a, to_b = text_of(model_a.seen[0]), text_of(model_b.seen[0])
        assert "100 requests per minute per client" in to_a and "cafeteria" not in to_a
        assert "leaky bucket limiter at 100 requests" in to_b  # the most relevant memory is A's
        assert [h.status for h in maas.handoffs.list_handoffs()] == [H.COMPLETED, H.COMPLETED]


def test_the_example_script_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import runpy

    example = runpy.run_path(str(Path(__file__).resolve().parents[1] / "examples" / "supervisor_example.py"))
    example["main"](str(tmp_path / "example-home"))
    printed = capsys.readouterr().out
    assert printed.count(": COMPLETED in") == 2 and "memory by designer" in printed


def test_a_worker_that_outlives_the_ttl_cannot_complete(maas: MaaS, team: dict[str, str], clock: ManualClock) -> None:
    def slow(task: WorkerTask) -> str:
        clock.advance(120)  # the work takes longer than the 60 s TTL
        return "finished too late"

    boss = scripted(handoff_turn(call("worker_a", "long job", "l1")), "It timed out.")
    crew = [MaaSWorker(name="worker_a", agent_id=team["a"], agent=slow)]
    graph = create_maas_supervisor(maas, supervisor_id=team["boss"], workers=crew, model=boss, ttl_seconds=60)
    out = graph.compile().invoke({"messages": [HumanMessage("go")]})

    (record,) = maas.handoffs.list_handoffs()
    assert record.status is H.EXPIRED and record.result is None
    assert "[conflict]" in out["messages"][-2].text and "expired" in out["messages"][-2].text


@pytest.mark.parametrize("case", ["sibling_write_scope", "no_memory_write"])
def test_a_worker_remembers_only_within_its_grant(maas: MaaS, team: dict[str, str], case: str) -> None:
    """Workers recall and remember as their agent, within their scope (the access module's memory
    grant with the worker's scope as its floor): a sibling write scope or an agent without
    MEMORY_WRITE stores nothing, and the worker says why."""
    agent = team["a"]
    write_scope = {**PROJECT, "agent": "worker-a"}
    if case == "sibling_write_scope":
        write_scope = {"org": "acme", "project": "billing"}  # beside PROJECT, not below it
    else:
        agent = maas.agents.register_agent(
            AgentType.CLAUDE_CODE, owner_id="u1", capabilities=["memory_read", "handoff_receive"]
        )
    maas.memories.remember("Billing keeps its own secrets.", scope={"org": "acme", "project": "billing"})
    seen: list[str] = []

    def work(task: WorkerTask) -> str:
        seen.extend(m.content for m in task.memories)
        return "Learned something about payments and billing secrets."

    crew = [MaaSWorker(name="worker_a", agent_id=agent, agent=work, scope=PROJECT, write_scope=write_scope)]
    boss = scripted(handoff_turn(call("worker_a", "billing secrets", "g1")), "Done.")
    graph = create_maas_supervisor(maas, supervisor_id=team["boss"], workers=crew, model=boss).compile()
    graph.invoke({"messages": [HumanMessage("Go")]})

    assert seen == []  # a sibling project's memory is never recalled
    (record,) = maas.handoffs.list_handoffs()
    assert record.status is H.COMPLETED and record.result is not None
    assert record.result["memory_ids"] == [] and maas.memories.history(scope=PROJECT) == []
    assert "permission_denied" in json.dumps(record.result)
    denied = maas.audit.query(event_type=AuditEventType.PERMISSION_DENIED, actor=agent)
    assert [e.action for e in denied] == ["remember"]
