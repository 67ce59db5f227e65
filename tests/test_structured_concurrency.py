"""Sixteen processes write conflicting values for one attribute at the same moment.

Each child (``sys.executable -c``, nothing inherited but the environment) opens the same store —
one SQLite file, or one PostgreSQL schema — with the default rule extractor, waits at a start
barrier (a file the parent creates once every child is ready), then remembers
``Competitor X's price is $<n>`` at the same scope as agent ``p<n>`` and applies its own
extraction job in its own process (so the facts are applied concurrently, in whatever order the
processes get the write lock).

Whatever that order, the result must be the same: one current value (the one of the memory that
committed last, highest ``Memory.seq``), the other fifteen superseded in one complete chain in
commit order, fifteen ``entity.conflict`` events and as many ``entity_conflict`` audit entries,
and an intact audit chain.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import postgres_url, require_postgres

from maas_langchain import EventKind, MaaS
from maas_langchain.core.entity_views import FactView
from maas_langchain.embeddings import HashingEmbeddings

pytestmark = pytest.mark.slow

PROCESSES = 16
SCOPE = {"org": "acme", "project": "alpha"}
ENTITY = "Competitor X"
START_TIMEOUT = 90.0  # every child ready within this (16 interpreters start on a loaded machine), or the test fails

_CHILD = r"""
import json, sys, time
from pathlib import Path

from maas_langchain import MaaS
from maas_langchain.embeddings import HashingEmbeddings

location, n, folder = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
scope = json.loads(sys.argv[4])
maas = MaaS.open(
    location, embeddings=HashingEmbeddings(), vectors="bruteforce", handoff_screening="rules", sweep_interval=None
)
try:
    maas.memories.recall("warm up", scope=scope)  # lazy parts (embedder, index) loaded before the race
    (folder / f"ready-{n}").write_text("ready")
    deadline = time.monotonic() + 120
    while not (folder / "start").exists():
        if time.monotonic() > deadline:
            raise SystemExit("no start signal within 120 s")
        time.sleep(0.001)
    started = time.time()
    memory = maas.memories.remember(f"Competitor X's price is ${100 + n}", scope=scope, author_id=f"p{n}")
    maas.extraction.drain(timeout=30)  # this process's job, applied here, racing the others
    print(json.dumps({"n": n, "memory_id": memory.memory_id, "seq": memory.seq, "started": started}))
finally:
    maas.close()
"""


def _open(location: str) -> MaaS:
    return MaaS.open(
        location, embeddings=HashingEmbeddings(), vectors="bruteforce", handoff_screening="rules", sweep_interval=None
    )


def _race(location: str, folder: Path) -> list[dict[str, Any]]:
    """Run the children, release them together, return what each wrote."""
    folder.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, location, str(n), str(folder), json.dumps(SCOPE)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while len(list(folder.glob("ready-*"))) < PROCESSES:
            failed = [p for p in procs if p.poll() not in (None, 0)]
            if failed:
                pytest.fail(f"a child exited before the start: {failed[0].communicate()[1][-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"only {len(list(folder.glob('ready-*')))} of {PROCESSES} children ready in time")
            time.sleep(0.01)
        (folder / "start").write_text("go")
        outputs = [p.communicate(timeout=90) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    written = []
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err[-3000:]
        written.append(json.loads(out.strip().splitlines()[-1]))
    return written


def _chain(price: list[FactView]) -> list[FactView]:
    """The price facts from the first value to the current one, following ``superseded_by``."""
    firsts = [f for f in price if f.supersedes is None]
    assert len(firsts) == 1, [(f.value, f.status, f.supersedes) for f in price]
    by_id = {f.fact_id: f for f in price}
    chain = [firsts[0]]
    while (nxt := chain[-1].superseded_by) is not None and len(chain) <= PROCESSES:
        chain.append(by_id[nxt.fact_id])  # superseded_by is one level deep: follow it by id
    return chain


def _check(location: str, written: list[dict[str, Any]]) -> None:
    by_seq = sorted(written, key=lambda w: w["seq"])
    assert len({w["seq"] for w in written}) == PROCESSES
    value_of = {w["memory_id"]: f"${100 + w['n']}" for w in written}
    memories = [w["memory_id"] for w in by_seq]  # commit order
    with _open(location) as maas:
        assert maas.extraction.backlog() == (0, 0)  # each child closed its job (or saw it closed) before exiting
        maas.extraction.drain(everyone=True)
        state = maas.entities.state(SCOPE, descendants=False)
        [entity] = [e for e in state.entities if e.name == ENTITY]
        price = [a for a in entity.attributes if a.key == "price"]
        assert len(price) == PROCESSES, [(a.value, a.status) for a in price]
        current = [a for a in price if a.status == "current"]
        assert len(current) == 1, [(a.value, a.status) for a in price]
        assert current[0].memory_id == memories[-1] and current[0].value == value_of[memories[-1]]
        assert entity.current["price"] == value_of[memories[-1]]
        assert sorted(a.status for a in price) == ["current"] + ["superseded"] * (PROCESSES - 1)
        chain = _chain(price)
        assert [f.memory_id for f in chain] == memories, "the chain is not in commit order"
        assert [f.value for f in chain] == [value_of[m] for m in memories]
        assert len({f.value for f in chain}) == PROCESSES  # each value once
        assert [f.agent_id for f in chain] == [f"p{w['n']}" for w in by_seq]
        for older, newer in itertools.pairwise(chain):
            assert older.status == "superseded" and older.valid_to is not None
            assert newer.supersedes == older.fact_id

        events = maas.events.subscribe(after_seq=0, kinds=[EventKind.ENTITY_CONFLICT]).poll(timeout=1.0)
        assert len(events) == PROCESSES - 1, [e.data for e in events]
        seen: set[str] = set()
        for event in events:
            data = event.data
            assert data["entity"] == ENTITY and data["key"] == "price"
            assert data["old"]["value"] != data["new"]["value"]
            for side in ("old", "new"):
                assert value_of[data[side]["memory_id"]] == data[side]["value"]
                assert data[side]["agent_id"] in data["agents"]
                seen.add(data[side]["memory_id"])
        assert seen == set(memories)  # every write took part in a reported conflict
        audits = maas.audit.query(action="entity_conflict")
        assert len(audits) == PROCESSES - 1
        assert maas.audit.verify_chain().ok


def _run(location: str, tmp_path: Path) -> None:
    with _open(location) as maas:  # create the store (schema, audit key) before the race
        maas.memories.recall("nothing yet", scope=SCOPE)
    written = _race(location, tmp_path / "barrier")
    starts = [w["started"] for w in written]
    assert max(starts) - min(starts) < 1.0, "the children did not start together"
    _check(location, written)


def test_sixteen_processes_race_one_attribute_on_sqlite(tmp_path: Path) -> None:
    _run(str(tmp_path / "shared-home"), tmp_path)


@pytest.mark.postgres
def test_sixteen_processes_race_one_attribute_on_postgres(tmp_path: Path) -> None:
    require_postgres()
    _run(postgres_url(tmp_path), tmp_path)
