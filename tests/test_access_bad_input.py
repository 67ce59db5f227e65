"""Bad input at the access boundary: odd scope values and odd ids never widen what is visible.

Scope values that look like patterns (``*``, ``%``, ``_``), dots, separators, look-alike Unicode
and very long values are literal strings; empty, oversized, non-string values and unknown keys
are ``invalid_input``. Ids in odd case or braces name the same agent (canonical UUIDs), never
another one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from maas_langchain import AgentType, MaaS, PermissionModel, SharedScope
from maas_langchain.adapters.tools.langchain import MaaSToolkit
from maas_langchain.embeddings import HashingEmbeddings
from maas_langchain.errors import InvalidInputError, PermissionDeniedError

PATTERNS = ["*", "%", "_", "%25", "a.b", "acme|x", "org=acme", "\u0430cme", "ACME", "acme ", "x" * 200]


@pytest.fixture
def maas(tmp_path: Path) -> Iterator[MaaS]:
    m = MaaS.open(tmp_path / "m", vectors="bruteforce", embeddings=HashingEmbeddings(64), sweep_interval=None)
    yield m
    m.close()


def _contents(maas: MaaS, scope: dict[str, str], **kw: object) -> set[str]:
    return {h.memory.content for h in maas.memories.recall("token", scope=scope, top_k=100, **kw)}  # type: ignore[arg-type]


@pytest.mark.parametrize("value", PATTERNS)
def test_pattern_looking_scope_values_are_literal(maas: MaaS, value: str) -> None:
    maas.memories.remember("token acme project", scope={"org": "acme", "project": "p"})
    maas.memories.remember("token acme org", scope={"org": "acme"})
    maas.memories.remember(f"token odd <{value}>", scope={"org": value, "project": "p"})
    assert _contents(maas, {"org": value}) == {f"token odd <{value}>"}  # its own tree only
    assert _contents(maas, {"org": value, "project": "p"}) == {f"token odd <{value}>"}
    assert _contents(maas, {"org": "acme"}) == {"token acme project", "token acme org"}  # unchanged
    assert maas.memories.history(scope={"project": "p"}) == []  # a partial scope is a scope of its own


@pytest.mark.parametrize(
    "scope",
    [{}, {"org": ""}, {"org": "   "}, {"org": "x" * 201}, {"org": 7}, {"tenant": "acme"}, {"org": None}, "org=acme"],
)
def test_malformed_scopes_are_invalid_input(maas: MaaS, scope: object) -> None:
    with pytest.raises(InvalidInputError, match="scope"):
        maas.memories.remember("x", scope=scope)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="scope"):
        maas.memories.recall("x", scope=scope)  # type: ignore[arg-type]


def test_ids_in_odd_case_or_braces_name_the_same_agent_only(maas: MaaS) -> None:
    a = maas.agents.register_agent(AgentType.CLAUDE_CODE, "u1", project_id="p")
    b = maas.agents.register_agent(AgentType.CLAUDE_CODE, "u2", project_id="p")
    pool = maas.pools.create_pool("pool", "u1", SharedScope.PROJECT, admin_agent_id=a)
    odd = ["{" + a.upper() + "}", a.upper(), a.replace("-", "")]
    for alias in odd:  # the admin under another spelling is still the admin, and only it
        assert maas.pools.join_pool(pool, b, PermissionModel.READ, actor_id=alias)
        assert maas.pools.get_permission(pool, b) is PermissionModel.READ
        assert maas.pools.join_pool(pool, b, PermissionModel.WRITE, actor_id="{" + b.upper() + "}") is False
    mine = maas.memories.remember("token mine", as_agent=odd[0])
    assert mine.author_id == a  # canonical
    assert maas.memories.get(mine.memory_id, as_agent=odd[1]) is not None
    assert maas.memories.get(mine.memory_id, as_agent=b.upper()) is None  # another owner: denied
    with pytest.raises(InvalidInputError):
        maas.memories.recall("token", as_agent="not-an-id")
    with pytest.raises(PermissionDeniedError, match="not registered"):
        maas.memories.recall("token", as_agent="00000000-0000-4000-8000-000000000000")


def test_the_toolkit_treats_another_spelling_of_itself_as_itself(maas: MaaS) -> None:
    a = maas.agents.register_agent(AgentType.CLAUDE_CODE, "u1", project_id="p")
    b = maas.agents.register_agent(AgentType.CLAUDE_CODE, "u1", project_id="p")
    pool = maas.pools.create_pool("pool", "u1", SharedScope.PROJECT, admin_agent_id=a)
    tools = {t.name: t for t in MaaSToolkit(maas, agent_id=a).get_tools()}
    out = tools["query_shared"].invoke({"pool_id": pool, "agent_id": "{" + a.upper() + "}"})
    assert '"ok": true' in out.replace(" ", " ") or '"ok":true' in out
    out = tools["query_shared"].invoke({"pool_id": pool, "agent_id": b.upper()})
    assert "permission_denied" in out
