"""Upgrading a store written before the access kernel (migration ``access_kernel``: 0008 on SQLite,
0009 on PostgreSQL), on a real SQLite file and a real PostgreSQL schema.

Before it, ``memory_scopes`` held every *subset* of a memory's scope, so a query at
``{project: q3}`` found ``{org: acme, project: q3}`` and ``{org: globex, project: q3}`` alike
(the cross-org breach), and no per-tenant counters existed. The test builds such a store — the
current schema with the old rows put back and the migration unrecorded — and opens it again.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from maas_langchain import AgentType, MaaS
from maas_langchain.core.scopes import ScopeHierarchy
from maas_langchain.embeddings import HashingEmbeddings

Connect = Callable[[], Any]


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Connect, str]:
    """(location, a DB-API connection factory, its parameter mark)."""
    if request.param == "sqlite":
        home = tmp_path / "m"
        return str(home), lambda: sqlite3.connect(home / "maas.db"), "?"
    url = request.getfixturevalue("pg_url")
    import psycopg

    return url, lambda: psycopg.connect(url), "%s"


def _open(location: str) -> MaaS:
    return MaaS.open(location, vectors="bruteforce", embeddings=HashingEmbeddings(64), sweep_interval=None)


@contextmanager
def _db(connect: Connect) -> Iterator[Any]:
    conn = connect()
    try:
        yield conn
        conn.commit()
    finally:
        conn.close()


def _downgrade(connect: Connect, mark: str) -> None:
    """Put the pre-kernel rows back: every subset in memory_scopes, no tenant counters."""
    h = ScopeHierarchy()
    with _db(connect) as conn:
        for seq, key in conn.execute("SELECT seq, scope_key FROM memories").fetchall():
            pairs = h.parse(key)
            keys = [k for k in h.keys if k in pairs]
            for combo in itertools.chain.from_iterable(
                itertools.combinations(keys, n) for n in range(1, len(keys) + 1)
            ):
                sub = h.canon({k: pairs[k] for k in combo})
                conn.execute(
                    f"INSERT INTO memory_scopes (sub_key, memory_seq) VALUES ({mark}, {mark}) ON CONFLICT DO NOTHING",
                    (sub, seq),
                )
        conn.execute("DELETE FROM counters WHERE name LIKE 'memories.%' OR name LIKE 'pools.%'")
        conn.execute("DELETE FROM schema_migrations WHERE name = 'access_kernel'")


def test_an_old_store_loses_the_cross_org_leak_and_gains_its_counters(store: tuple[str, Connect, str]) -> None:
    location, connect, mark = store
    with _open(location) as maas:
        agent = maas.agents.register_agent(AgentType.CLAUDE_CODE, "u1", project_id="q3")
        maas.memories.remember("acme plan for q3", scope={"org": "acme", "project": "q3"})
        maas.memories.remember("globex plan for q3", scope={"org": "globex", "project": "q3"})
        maas.memories.remember("the agent's own note", as_agent=agent)
        maas.pools.create_pool("p", "u1")
    _downgrade(connect, mark)
    with _db(connect) as conn:  # the downgrade really brought the leak back
        leaked = conn.execute("SELECT COUNT(*) FROM memory_scopes WHERE sub_key = 'project=q3'").fetchone()[0]
    assert leaked == 3
    with _open(location) as upgraded:  # the access-kernel migration runs at this open
        below_q3 = upgraded.memories.history(scope={"project": "q3"})  # the agent's tree, no org's q3
        assert [m.content for m in below_q3] == ["the agent's own note"]
        found = upgraded.memories.recall("plan for q3", scope={"org": "acme"}, top_k=10)
        assert [h.memory.content for h in found] == ["acme plan for q3"]
    with _db(connect) as conn:
        counters = dict(conn.execute("SELECT name, value FROM counters WHERE name LIKE '%:%'").fetchall())
        rows = conn.execute("SELECT COUNT(*) FROM memory_scopes").fetchone()[0]
    assert counters == {f"memories.agent:{agent}": 1, "memories.owner:u1": 1, "pools.owner:u1": 1}
    assert rows == 2 + 2 + 3  # the prefixes only: 2 + 2 + the agent's {project, user, agent}
