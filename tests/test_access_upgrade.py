"""Upgrading a store written before the access kernel (migration 0008_access_kernel on SQLite).

Before it, ``memory_scopes`` held every *subset* of a memory's scope, so a query at
``{project: q3}`` found ``{org: acme, project: q3}`` and ``{org: globex, project: q3}`` alike
(the cross-org breach), and no per-tenant counters existed. The test builds such a file — the
current schema with the old rows put back and the migration unrecorded — and opens it.
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

from maas_langchain import AgentType, MaaS
from maas_langchain.core.scopes import ScopeHierarchy
from maas_langchain.embeddings import HashingEmbeddings


def _open(home: Path) -> MaaS:
    return MaaS.open(home, vectors="bruteforce", embeddings=HashingEmbeddings(64), sweep_interval=None)


def _downgrade(db: Path) -> None:
    """Put the pre-kernel rows back: every subset in memory_scopes, no tenant counters."""
    h = ScopeHierarchy()
    conn = sqlite3.connect(db)
    for seq, key in conn.execute("SELECT seq, scope_key FROM memories").fetchall():
        pairs = h.parse(key)
        keys = [k for k in h.keys if k in pairs]
        for n in range(1, len(keys) + 1):
            for combo in itertools.combinations(keys, n):
                sub = h.canon({k: pairs[k] for k in combo})
                conn.execute("INSERT OR IGNORE INTO memory_scopes (sub_key, memory_seq) VALUES (?, ?)", (sub, seq))
    conn.execute("DELETE FROM counters WHERE name LIKE 'memories.%' OR name LIKE 'pools.%'")
    conn.execute("DELETE FROM schema_migrations WHERE name = 'access_kernel'")
    conn.commit()
    conn.close()


def test_an_old_store_loses_the_cross_org_leak_and_gains_its_counters(tmp_path: Path) -> None:
    home = tmp_path / "m"
    with _open(home) as maas:
        agent = maas.agents.register_agent(AgentType.CLAUDE_CODE, "u1", project_id="q3")
        maas.memories.remember("acme plan for q3", scope={"org": "acme", "project": "q3"})
        maas.memories.remember("globex plan for q3", scope={"org": "globex", "project": "q3"})
        maas.memories.remember("the agent's own note", as_agent=agent)
        maas.pools.create_pool("p", "u1")
    _downgrade(home / "maas.db")
    with _open(home) as old_rows:  # migration 0008 runs at this open
        assert old_rows.status()["schema_version"] >= 8
        below_q3 = old_rows.memories.history(scope={"project": "q3"})  # the agent's tree, no org's q3
        assert [m.content for m in below_q3] == ["the agent's own note"]
        found = old_rows.memories.recall("plan for q3", scope={"org": "acme"}, top_k=10)
        assert [h.memory.content for h in found] == ["acme plan for q3"]
        conn = sqlite3.connect(home / "maas.db")
        counters = dict(conn.execute("SELECT name, value FROM counters WHERE name LIKE '%:%'").fetchall())
        rows = conn.execute("SELECT COUNT(*) FROM memory_scopes").fetchone()[0]
        conn.close()
        assert counters == {f"memories.agent:{agent}": 1, "memories.owner:u1": 1, "pools.owner:u1": 1}
        assert rows == 2 + 2 + 3  # the prefixes only: 2 + 2 + the agent's {project, user, agent}
