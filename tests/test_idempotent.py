"""Re-running a script is normal: registering the same agent and remembering the same thing again
return what is already stored (issue 18), on every backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from maas_langchain import AgentType, MaaS, MaaSClient
from maas_langchain.embeddings import HashingEmbeddings
from maas_langchain.errors import ConflictError, InvalidInputError

SCOPE = {"org": "acme", "project": "alpha"}


@pytest.fixture
def m(open_maas: Callable[..., MaaS]) -> MaaS:
    return open_maas(embeddings=HashingEmbeddings(), vectors="bruteforce", extractor=None)


def test_the_same_external_id_returns_the_same_agent(m: MaaS) -> None:
    first = m.agents.register_agent(AgentType.GPT_AGENT, "u1", external_id="frontend-gpt", name="Frontend")
    again = m.agents.register_agent("gpt_agent", "u1", external_id="frontend-gpt")
    assert again == first and sum(a.owner_id == "u1" for a in m.agents.list_agents()) == 1
    assert m.agents.get_agent(first).metadata["external_id"] == "frontend-gpt"  # type: ignore[union-attr]
    other_owner = m.agents.register_agent(AgentType.GPT_AGENT, "u2", external_id="frontend-gpt")
    assert other_owner != first  # an external id is unique per owner only
    plain = [m.agents.register_agent(AgentType.GPT_AGENT, "u1") for _ in range(2)]
    assert plain[0] != plain[1]  # without one, every call registers a new agent
    with pytest.raises(ConflictError, match="of type gpt_agent"):
        m.agents.register_agent(AgentType.CLAUDE_CODE, "u1", external_id="frontend-gpt")
    m.agents.deactivate_agent(first)
    with pytest.raises(ConflictError, match="deactivated"):
        m.agents.register_agent(AgentType.GPT_AGENT, "u1", external_id="frontend-gpt")
    with pytest.raises(InvalidInputError):
        m.agents.register_agent(AgentType.GPT_AGENT, "u1", external_id="")


def test_the_same_content_in_the_same_scope_is_stored_once(m: MaaS) -> None:
    first = m.memories.remember("The login form validates e-mail on blur.", scope=SCOPE)
    again = m.memories.remember("The login form validates e-mail on blur.", scope=SCOPE)
    assert again.memory_id == first.memory_id and m.status()["counts"]["memories"] == 1
    assert [e.target for e in m.audit.query(action="remember_duplicate")] == [first.memory_id]
    hits = m.memories.recall("login form validation", scope=SCOPE, top_k=5)
    assert [h.memory.memory_id for h in hits] == [first.memory_id]  # no identical items 1 and 2
    copy = m.memories.remember("The login form validates e-mail on blur.", scope=SCOPE, duplicate=True)
    assert copy.memory_id != first.memory_id
    elsewhere = m.memories.remember("The login form validates e-mail on blur.", scope={"org": "acme"})
    other_category = m.memories.remember("The login form validates e-mail on blur.", scope=SCOPE, category="decision")
    assert len({first.memory_id, elsewhere.memory_id, other_category.memory_id}) == 3


def test_a_forgotten_memory_is_written_again_and_a_new_session_is_no_new_write(m: MaaS) -> None:
    first = m.memories.remember("Deploys freeze on Fridays.", scope=SCOPE)
    assert m.memories.forget(first.memory_id)
    again = m.memories.remember("Deploys freeze on Fridays.", scope=SCOPE)
    assert again.memory_id != first.memory_id  # the stored one is gone: a new write
    client = MaaSClient(m)
    with client.sessions.create(scope=SCOPE) as one:
        a = one.remember("Releases ship on Tuesdays.")
        assert one.remember("Releases ship on Tuesdays.").memory_id == a.memory_id
    with client.sessions.create(scope=SCOPE) as two:  # a re-run opens a new session: still the same write
        assert two.remember("Releases ship on Tuesdays.").memory_id == a.memory_id
        assert m.audit.query(action="remember_duplicate")[-1].details == {"session_id": two.session_id}
    with client.sessions.create(scope=SCOPE, agent_id="another-author") as three:
        assert three.remember("Releases ship on Tuesdays.").memory_id != a.memory_id  # another author
    batch = m.memories.remember_many([])
    assert batch == []
