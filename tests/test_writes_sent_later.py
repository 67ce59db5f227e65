"""Writes sent later: PostgreSQL sends a write whose result the core does not need with the
transaction's next batch or its commit (``postgres_tx.py``, "writes sent later").

What is checked (the first two on every backend, the port's contract; the rest on a real server):

* a handoff move that must hold (``StateTx.move_handoff``) and does not fails the transaction
  with ``ConflictError``, and nothing of it is stored, the moves before it included;
* two moves of one handoff in one transaction apply in their order;
* a read of the same transaction, through a statement or the raw cursor, sees a write sent later;
* a write sent later that the server refuses fails the commit, the transaction stores nothing,
  and the instance goes on working;
* a share, a new handoff and a transition are each two round trips.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import postgres_url, require_postgres

from maas_langchain import AgentType, MaaS, PermissionModel, SharedScope
from maas_langchain.core.enums import HandoffStatus
from maas_langchain.core.records import SharedMemory
from maas_langchain.errors import ConflictError


def _handoff(maas: MaaS) -> tuple[str, str]:
    src = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1")
    dst = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    return maas.handoffs.initiate_handoff(src, dst, {"task_description": "port the parser"}), dst


def _status(maas: MaaS, handoff_id: str) -> HandoffStatus:
    with maas.backend.transaction(write=False) as tx:
        found = tx.get_handoff(handoff_id)
    assert found is not None
    return found.status


def test_a_move_that_does_not_hold_fails_the_transaction_and_stores_nothing(maas: MaaS) -> None:
    handoff_id, _ = _handoff(maas)
    audit_before = maas.audit.count()
    refused = pytest.raises(ConflictError, match=f"handoff {handoff_id} changed state concurrently")
    with refused, maas.backend.transaction(write=True) as tx:
        handoff = tx.get_handoff(handoff_id)
        assert handoff is not None
        now = time.time()
        accepted = dataclasses.replace(handoff, status=HandoffStatus.ACCEPTED, updated_at=now, accepted_at=now)
        tx.move_handoff(handoff_id, (HandoffStatus.PENDING,), accepted)  # holds
        again = dataclasses.replace(accepted, status=HandoffStatus.REJECTED, finished_at=now)
        tx.move_handoff(handoff_id, (HandoffStatus.PENDING,), again)  # no longer PENDING: fails
    assert _status(maas, handoff_id) is HandoffStatus.PENDING  # the first move was rolled back too
    assert maas.audit.count() == audit_before


def test_moves_of_one_handoff_in_one_transaction_apply_in_order(maas: MaaS) -> None:
    handoff_id, target = _handoff(maas)
    with maas.backend.transaction(write=True) as tx:
        handoff = tx.get_handoff(handoff_id)
        assert handoff is not None
        now = time.time()
        accepted = dataclasses.replace(handoff, status=HandoffStatus.ACCEPTED, updated_at=now, accepted_at=now)
        tx.move_handoff(handoff_id, (HandoffStatus.PENDING,), accepted)
        done = dataclasses.replace(accepted, status=HandoffStatus.COMPLETED, finished_at=now, result={"ok": 1})
        tx.move_handoff(handoff_id, (HandoffStatus.ACCEPTED,), done)  # fails unless the first ran before it
    assert _status(maas, handoff_id) is HandoffStatus.COMPLETED
    with pytest.raises(ConflictError):  # the service sees the stored state
        maas.handoffs.accept_handoff(handoff_id, target)


# --- PostgreSQL --------------------------------------------------------------------------
@pytest.fixture
def pg(tmp_path: Path) -> Iterator[MaaS]:
    require_postgres()
    with MaaS.open(postgres_url(tmp_path), sweep_interval=None) as opened:
        yield opened


def _share(pool_id: str, memory_id: str, author: str) -> SharedMemory:
    return SharedMemory(pool_id, memory_id, author, SharedScope.GLOBAL, "u1", None, None, time.time())


@pytest.mark.postgres
def test_a_read_of_the_same_transaction_sees_a_write_sent_later(pg: MaaS) -> None:
    pool = pg.pools.create_pool("later", "u1", SharedScope.GLOBAL)
    author = pg.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    with pg.backend.transaction(write=True) as tx:
        tx.claim(("pool", pool))
        tx.prefetch(lambda: tx.count_shares(pool))  # read ahead, before the write: not served after it
        assert tx.count_shares(pool) == 0
        tx.upsert_share(_share(pool, "mem-a", author))
        assert tx.get_share(pool, "mem-a") is not None  # a statement: sent after the write
        assert tx.count_shares(pool) == 1  # not the answer read ahead
        tx.upsert_share(_share(pool, "mem-b", author))
        raw = tx._cur.execute("SELECT count(*) FROM shared_memories WHERE pool_id = %s", (pool,))  # type: ignore[attr-defined]
        assert raw.fetchone()[0] == 2  # the raw cursor too
    with pg.backend.transaction(write=False) as tx:
        assert {s.memory_id for s in tx.shares_by_memory_ids(["mem-a", "mem-b"])} == {"mem-a", "mem-b"}


@pytest.mark.postgres
def test_a_write_sent_later_that_fails_fails_the_commit_and_stores_nothing(pg: MaaS) -> None:
    handoff_id, target = _handoff(pg)
    pool = pg.pools.create_pool("kept", "u1", SharedScope.GLOBAL)
    author = pg.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    assert pg.pools.join_pool(pool, author, PermissionModel.WRITE)
    with pytest.raises(ConflictError, match="conflicts with stored data"), pg.backend.transaction(write=True) as tx:
        handoff = tx.get_handoff(handoff_id)
        assert handoff is not None
        now = time.time()
        accepted = dataclasses.replace(handoff, status=HandoffStatus.ACCEPTED, updated_at=now, accepted_at=now)
        tx.move_handoff(handoff_id, (HandoffStatus.PENDING,), accepted)
        tx.upsert_share(_share(pool, "mem-kept", author))
        tx.upsert_share(_share("no-such-pool", "mem-x", author))  # a foreign key the server refuses
    assert _status(pg, handoff_id) is HandoffStatus.PENDING
    assert pg.pools.query_shared(pool, author) == []
    assert pg.pools.share_memory(pool, "mem-after", author, SharedScope.GLOBAL)  # the instance goes on
    assert pg.handoffs.accept_handoff(handoff_id, target)
    assert _status(pg, handoff_id) is HandoffStatus.ACCEPTED
