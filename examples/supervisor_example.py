"""A supervisor hands work to two workers; every routing step is a MaaS handoff.

Runs offline: the chat models are scripted fakes and the embeddings are the deterministic
hashing ones. Swap in real models (``ChatOpenAI(...)``, ``ChatAnthropic(...)``) and drop the
``embeddings=`` argument to use the packaged local model.

    python examples/supervisor_example.py [MAAS_HOME]

It prints the handoff timeline, the audit trail and where each worker's memories came from.
"""

from __future__ import annotations

import sys
import tempfile
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage

from maas_langchain import AgentType, AuditEventType, MaaS
from maas_langchain.adapters.langgraph.supervisor import MaaSWorker, WorkerOutput, WorkerTask, create_maas_supervisor
from maas_langchain.embeddings import HashingEmbeddings

PROJECT = {"org": "acme", "project": "payments"}


class ScriptedModel(GenericFakeChatModel):
    """Replies from a script; stands in for a real tool-calling chat model."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


def handoff(worker: str, task: str, call_id: str) -> dict[str, Any]:
    return {"name": f"transfer_to_{worker}", "args": {"task": task}, "id": call_id, "type": "tool_call"}


def reviewer(task: WorkerTask) -> WorkerOutput:
    """A plain-function worker: it sees the task and the recalled memories."""
    facts = "; ".join(m.content for m in task.memories) or "nothing recalled"
    return WorkerOutput(f"Reviewed '{task.task}' against: {facts}", learned=["The limiter design was reviewed."])


def main(home: str) -> None:
    with MaaS.open(home, vectors="bruteforce", embeddings=HashingEmbeddings(), sweep_interval=None) as maas:
        boss = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="demo", name="supervisor")
        designer = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="demo", name="designer")
        review = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="demo", name="reviewer")
        maas.memories.remember("The payments API allows 100 requests per minute per client.", scope=PROJECT)

        supervisor_model = ScriptedModel(
            messages=iter(
                [
                    AIMessage("", tool_calls=[handoff("designer", "Design client-side rate limiting", "1")]),
                    AIMessage("", tool_calls=[handoff("reviewer", "Review the rate limiting design", "2")]),
                    AIMessage("The payments client is rate limited and the design is reviewed."),
                ]
            )
        )
        designer_model = ScriptedModel(messages=iter(["Use a leaky bucket limiter: 100 requests per minute."]))
        workers = [
            MaaSWorker("designer", designer, designer_model, description="designs clients", scope=PROJECT),
            MaaSWorker("reviewer", review, reviewer, description="reviews designs", scope=PROJECT),
        ]
        graph = create_maas_supervisor(maas, supervisor_id=boss, workers=workers, model=supervisor_model).compile()
        out = graph.invoke({"messages": [HumanMessage("Rate-limit the payments client")]})

        print("final answer:", out["messages"][-1].text)
        for h in maas.handoffs.list_handoffs():
            took = (h.finished_at or h.created_at) - h.created_at
            print(f"handoff {h.handoff_id[:8]} -> {h.context.notes['worker']}: {h.status.name} in {took:.3f}s")
            print("   result:", h.result)
        print("audit:", [(e.action, (e.target or "")[:8]) for e in maas.audit.query(event_type=AuditEventType.HANDOFF)])
        for m in maas.memories.history(scope=PROJECT):
            print(f"memory by {m.metadata.get('worker', 'seed')}: {m.content}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="maas-supervisor-"))
