"""A writer killed with SIGKILL in the middle of its work leaves a store that opens and is whole.

A child process writes continuously (agents, pools, memberships, shares, handoffs through their
whole lifecycle, unregistrations, cleanups, with the sweeper running), and is killed after about
a second, wherever it happens to be. The parent then reopens the same store and checks:

* it opens, and the audit hash chain verifies;
* every counter agrees with the rows (``status()['counts']``, the per-pool share counts, and on
  SQLite the ``counters`` table, ``PRAGMA integrity_check`` and ``foreign_key_check``);
* every change and its audit entry committed together: the agents, pools, shares and handoffs
  stored are exactly those the audit log says were made and not undone, and every handoff's
  status is the one its last audited transition gave it;
* every handoff is in a valid state, and open ones only involve agents that exist;
* new writes (a whole handoff lifecycle included) work.

This is repeated on the same store, so each round also reopens what the previous crash left.
A second writer does the same to the LangGraph store's batches (up to 600 items, several SQLite
statements each): only whole batches survive.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import postgres_url, require_postgres

import maas_langchain
from maas_langchain import AgentType, AuditEventType, HandoffContext, HandoffStatus, MaaS, PermissionModel, SharedScope
from maas_langchain.core.ports.filters import AudienceClause, AudienceFilter
from maas_langchain.core.ports.state import AuditQuery

pytestmark = pytest.mark.slow

ROUNDS = 4
RUN_SECONDS = 1.0

CHILD = r"""
import random, sys
from maas_langchain import HandoffContext, MaaS, MaaSError

location, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
# the sweeper writes concurrently; handoffs screened by the rules (no model to load: the child
# must be writing within the first second, and durability does not depend on the screening)
maas = MaaS.open(location, sweep_interval=0.02, handoff_screening="rules")
agents = [a.agent_id for a in maas.agents.list_agents()]
pools = [p.pool_id for p in maas.pools.list_pools()]
print("started", flush=True)
ops = 0
while True:
    ops += 1
    try:
        roll = rng.random()
        if roll < 0.15 or len(agents) < 3:
            agents.append(maas.agents.register_agent(
                rng.choice(["claude_code", "gpt_agent", "human"]), f"u{rng.randrange(3)}",
                project_id="proj", metadata={"n": ops, "pad": "x" * rng.randrange(500)}))
        elif roll < 0.22 or not pools:
            pools.append(maas.pools.create_pool(
                f"pool-{ops}", "u0", scope="global", admin_agent_id=rng.choice(agents)))
        elif roll < 0.35:
            maas.pools.join_pool(rng.choice(pools), rng.choice(agents), rng.choice(["read", "write"]))
        elif roll < 0.55:
            pool, agent = rng.choice(pools), rng.choice(agents)
            maas.pools.join_pool(pool, agent, "write")
            maas.pools.share_memory(pool, f"mem-{ops}", agent, "global", metadata={"n": ops})
        elif roll < 0.8:
            source, target = rng.sample(agents, 2)
            context = HandoffContext(f"task {ops}", current_state={"step": ops}, relevant_memories=[f"mem-{ops - 1}"])
            handoff = maas.handoffs.initiate_handoff(source, target, context, ttl_seconds=rng.choice([0.05, 600]))
            if handoff and rng.random() < 0.7 and maas.handoffs.accept_handoff(handoff, target):
                if rng.random() < 0.7:
                    maas.handoffs.complete_handoff(handoff, target, {"ops": ops})
                else:
                    maas.handoffs.reject_handoff(handoff, target, "not now")
            elif handoff and rng.random() < 0.3:
                maas.handoffs.cancel_handoff(handoff, source)
        elif roll < 0.86:
            maas.agents.unregister_agent(agents.pop(rng.randrange(len(agents))))
        elif roll < 0.9:
            maas.agents.deactivate_agent(rng.choice(agents))
        elif roll < 0.93:
            maas.agents.activate_agent(rng.choice(agents))
        elif roll < 0.95 and len(pools) > 1:
            maas.pools.delete_pool(pools.pop(rng.randrange(len(pools))))
        elif roll < 0.97:
            maas.handoffs.cleanup_terminal_handoffs()
        else:
            maas.audit.log("AGENT_AUTH", "session_start", actor=rng.choice(agents), details={"ops": ops})
    except MaaSError:
        pass  # denials, expiry, races with the sweeper: part of the workload
    if ops % 20 == 0:
        print(ops, flush=True)
"""

# The LangGraph store's writer: batch ``b`` puts ``1 + 37b mod 600`` items (so a batch spans
# several of SQLite's multi-row statements, and the kill can land between two of them) into the
# namespace of its block of 20 batches, and the progress marker; every fourth batch also deletes
# the first item of the batch three before it.
STORE_CHILD = r"""
import sys
from langgraph.store.base import PutOp
from maas_langchain import MaaS

location = sys.argv[1]
maas = MaaS.open(location, sweep_interval=None)
store = maas.store()
found = store.get(("crash",), "progress")
b = found.value["last"] + 1 if found else 0
print("started", flush=True)
while True:
    ops = [PutOp(("crash", f"r{b // 20}"), f"b{b}-{j}", {"batch": b, "j": j, "pad": "x" * 1000}) for j in range(1 + (b * 37) % 600)]
    ops.append(PutOp(("crash",), "progress", {"last": b}))
    if b % 4 == 3:
        ops.append(PutOp(("crash", f"r{(b - 3) // 20}"), f"b{b - 3}-0", None))
    store.batch(ops)
    print(b, flush=True)
    b += 1
"""

_PACKAGE_ROOT = str(Path(maas_langchain.__file__).resolve().parent.parent)
_EVERY_SHARE = AudienceFilter(tuple(AudienceClause(s.level, None, None) for s in SharedScope))
_STATUS_AFTER = {
    "initiate": HandoffStatus.PENDING,
    "accept": HandoffStatus.ACCEPTED,
    "complete": HandoffStatus.COMPLETED,
    "reject": HandoffStatus.REJECTED,
    "cancel": HandoffStatus.CANCELLED,
    "expire": HandoffStatus.EXPIRED,
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        require_postgres()
        return postgres_url(tmp_path)
    return str(tmp_path / "crash-home")


def _run_and_kill(location: str, seed: int, child: str = CHILD) -> int:
    """Start the writer, let it write for about RUN_SECONDS, SIGKILL it; return its progress."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-c", child, location, str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first = proc.stdout.readline() if proc.stdout else ""
        if first.strip() != "started":
            proc.kill()
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"the writer did not start: {first!r}\n{err}")
        time.sleep(RUN_SECONDS + (seed % 7) * 0.05)  # vary the moment of death
        assert proc.poll() is None, f"the writer died on its own:\n{proc.communicate(timeout=30)[1]}"
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, err)
    progress = [int(line) for line in out.split() if line.isdigit()]
    assert progress, f"the writer made no progress before it was killed:\n{err}"
    return progress[-1]


def _audit(maas: MaaS) -> list[Any]:
    with maas.backend.transaction(write=False) as tx:
        return tx.query_audit(AuditQuery(limit=10_000_000))


def _check_handoff(h: Any, agent_ids: set[str]) -> None:
    assert h.source_agent_id != h.target_agent_id, h
    assert h.expires_at > h.created_at and h.updated_at >= h.created_at, h
    assert h.context.task_description, h
    if h.status is HandoffStatus.PENDING:
        assert h.accepted_at is None and h.finished_at is None and h.result is None, h
    elif h.status is HandoffStatus.ACCEPTED:
        assert h.accepted_at is not None and h.finished_at is None and h.result is None, h
    elif h.status is HandoffStatus.COMPLETED:
        assert h.accepted_at is not None and h.finished_at is not None and isinstance(h.result, dict), h
    else:
        assert h.finished_at is not None and h.result is None, h
    if h.status.is_open:  # unregistering an agent cancels its open handoffs
        assert {h.source_agent_id, h.target_agent_id} <= agent_ids, h


def _check_store(maas: MaaS) -> None:
    report = maas.audit.verify_chain()
    assert report.ok, report
    audit = _audit(maas)
    assert len(audit) == report.checked
    with maas.backend.transaction(write=False) as tx:
        agents = {a.agent_id for a in tx.list_agents()}
        pools = {p.pool_id for p in tx.list_pools()}
        handoffs = tx.list_handoffs()
        shares = {}
        for pool in pools:
            found = tx.query_shares(pool, _EVERY_SHARE, 10_000_000)
            assert tx.count_shares(pool) == len(found), f"share counter of pool {pool} disagrees with its rows"
            shares.update({(pool, s.memory_id): s for s in found})
    counts = maas.status()["counts"]
    assert (counts["agents"], counts["pools"], counts["handoffs"], counts["audit_events"]) == (
        len(agents),
        len(pools),
        len(handoffs),
        report.checked,
    ), counts

    # Each change committed with its audit entry, or neither did.
    ok = [e for e in audit if e.outcome == "success"]

    def targets(event_type: AuditEventType, action: str) -> list[str]:
        return [e.target for e in ok if e.event_type is event_type and e.action == action]

    auth, pool_op, handoff_op = AuditEventType.AGENT_AUTH, AuditEventType.POOL_OPERATION, AuditEventType.HANDOFF
    assert agents == set(targets(auth, "register")) - set(targets(auth, "unregister"))
    assert pools == set(targets(pool_op, "create")) - set(targets(pool_op, "delete"))
    shared = {(e.target, e.details["memory_id"]) for e in ok if e.event_type is pool_op and e.action == "share"}
    unshared = {(e.target, e.details["memory_id"]) for e in ok if e.event_type is pool_op and e.action == "unshare"}
    assert set(shares) == {key for key in shared - unshared if key[0] in pools}
    initiated = set(targets(handoff_op, "initiate"))
    cleaned = sum(e.details["deleted"] for e in ok if e.event_type is handoff_op and e.action == "cleanup")
    assert {h.handoff_id for h in handoffs} <= initiated
    assert len(handoffs) == len(initiated) - cleaned
    last_transition = {e.target: e.action for e in ok if e.event_type is handoff_op and e.action in _STATUS_AFTER}
    for handoff in handoffs:
        assert handoff.handoff_id in last_transition, f"no audited transition for {handoff}"
        assert handoff.status is _STATUS_AFTER[last_transition[handoff.handoff_id]], handoff
        _check_handoff(handoff, agents)


def _check_sqlite_file(location: str) -> None:
    conn = sqlite3.connect(Path(location) / "maas.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.execute("PRAGMA foreign_keys = ON")
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        for table in ("agents", "pools", "handoffs"):
            (counter,) = conn.execute("SELECT value FROM counters WHERE name = ?", (table,)).fetchone()
            (rows,) = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
            assert counter == rows, f"counter {table}={counter}, rows={rows}"
        bad_pools = conn.execute(
            "SELECT pool_id FROM pools p WHERE share_count != "
            "(SELECT COUNT(*) FROM shared_memories s WHERE s.pool_id = p.pool_id)"
        ).fetchall()
        assert bad_pools == []
        head = conn.execute("SELECT seq FROM audit_head").fetchone()
        assert head == conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()
        assert head == conn.execute("SELECT COALESCE(MAX(seq), 0) FROM audit_log").fetchone()
    finally:
        conn.close()


def _new_writes_work(maas: MaaS, round_no: int) -> None:
    assert maas.handoffs.expire_handoffs() >= 0
    now = time.time()
    assert all(h.expires_at > now for h in maas.handoffs.list_handoffs(statuses=["pending", "accepted"]))
    source = maas.agents.register_agent(AgentType.CLAUDE_CODE, "after-crash", project_id="proj")
    target = maas.agents.register_agent(AgentType.GPT_AGENT, "after-crash", project_id="proj")
    pool = maas.pools.create_pool(f"after-crash-{round_no}", "after-crash", SharedScope.PROJECT)
    assert maas.pools.join_pool(pool, source, PermissionModel.WRITE)
    assert maas.pools.join_pool(pool, target, PermissionModel.READ)
    assert maas.pools.share_memory(pool, "mem-after", source, SharedScope.PROJECT)
    assert [m.memory_id for m in maas.pools.query_shared(pool, target)] == ["mem-after"]
    handoff = maas.handoffs.initiate_handoff(source, target, HandoffContext("resume", relevant_memories=["mem-after"]))
    assert handoff is not None
    assert maas.handoffs.accept_handoff(handoff, target)
    assert [m.memory_id for m in maas.handoffs.get_handoff_memories(handoff, target)] == ["mem-after"]
    assert maas.handoffs.complete_handoff(handoff, target, {"round": round_no})
    done = maas.handoffs.get_handoff(handoff)
    assert done is not None and done.status is HandoffStatus.COMPLETED


def test_a_killed_writer_leaves_a_whole_store(location: str) -> None:
    grown = []
    for round_no in range(ROUNDS):
        progress = _run_and_kill(location, seed=1000 + round_no)
        if not location.startswith("postgresql"):
            _check_sqlite_file(location)
        with MaaS.open(location, sweep_interval=None) as maas:
            _check_store(maas)
            grown.append(maas.audit.count())
            _new_writes_work(maas, round_no)
            _check_store(maas)
        assert progress > 0
    assert grown == sorted(grown) and grown[-1] > grown[0], grown


def test_a_killed_store_writer_leaves_only_whole_batches(location: str) -> None:
    """A LangGraph store batch is one transaction however many statements it takes: after a
    SIGKILL the batches before the progress marker are there whole (their deletes applied too)
    and nothing of a later batch is. Checked over the last blocks, where the kill landed (the
    writer commits hundreds of thousands of items a round)."""
    for round_no in range(4):
        printed = _run_and_kill(location, seed=2000 + round_no, child=STORE_CHILD)
        if not location.startswith("postgresql"):
            _check_sqlite_file(location)
        with MaaS.open(location, sweep_interval=None) as maas:
            store = maas.store()
            progress = store.get(("crash",), "progress")
            assert progress is not None
            last = progress.value["last"]
            assert last >= printed  # what the writer saw committed is there (it may have committed one more)
            blocks = range(max(0, last // 20 - 1), last // 20 + 2)  # the next block: a torn batch would be there
            found = {
                (i.key, i.value["batch"], i.value["j"])
                for block in blocks
                for i in store.search(("crash", f"r{block}"), limit=1_000_000)
            }
            want = {
                (f"b{b}-{j}", b, j)
                for b in range(blocks[0] * 20, last + 1)
                for j in range(1 + (b * 37) % 600)
                if not (j == 0 and b % 4 == 0 and b + 3 <= last)
            }
            assert found == want, (last, sorted(found ^ want)[:5])
