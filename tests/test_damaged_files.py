"""Damaged files on real SQLite stores (issue 19, point 6).

* A ``maas.db`` that vanished or shrank to nothing where a store lived is refused with
  ``storage_corrupted`` naming the evidence — never opened as a new, empty store — and the
  folder is left exactly as it was; a brand-new home still opens (and gets its marker).
* A damaged page in the middle of a populated database (bytes overwritten at a page offset well
  past page 1) makes the reads that meet it raise ``StorageCorruptedError`` (not retryable), and
  the backend then refuses every write; ``maas status`` (the real command, in a subprocess)
  reports the failed ``quick_check`` and exits 1; over REST it is a 500 with code
  ``storage_corrupted``, ``retryable: false``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from maas_langchain import AgentType, MaaS, StorageCorruptedError
from maas_langchain.backends.sqlite_files import marker_path
from maas_langchain.embeddings import HashingEmbeddings

AGENTS = 300
PAGE_NAME = "x" * 200  # long names: the agents table spans dozens of pages


def _open(home: Path, **kw: Any) -> MaaS:
    return MaaS.open(home, embeddings=HashingEmbeddings(), vectors="bruteforce", sweep_interval=None, **kw)


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``maas`` command (``python -m maas_langchain.adapters.cli``, as ``.venv/bin/maas`` runs it)."""
    env = {**os.environ, "MAAS_HOME": str(home), "MAAS_VECTORS_URL": "bruteforce"}
    command = [sys.executable, "-m", "maas_langchain.adapters.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def _snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``folder``: size and content hash."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def populated(tmp_path: Path) -> Path:
    """A home with :data:`AGENTS` agents of one owner (plus their audit rows), closed."""
    home = tmp_path / "home"
    with _open(home) as maas:
        for i in range(AGENTS):
            maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1", name=f"{PAGE_NAME}{i}")
    assert not (home / "maas.db-wal").exists()  # the last close checkpointed: all pages are in maas.db
    return home


def _damage_a_middle_page(db: Path) -> int:
    """Overwrite a leaf page of the agents table in the middle of the file; return its number."""
    conn = sqlite3.connect(db)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        leaves = [
            n for n, kind in conn.execute("SELECT pageno, pagetype FROM dbstat WHERE name = 'agents'") if kind == "leaf"
        ]
    except sqlite3.OperationalError as exc:  # a SQLite built without dbstat
        pytest.skip(f"this SQLite has no dbstat table: {exc}")
    finally:
        conn.close()
    page = leaves[len(leaves) // 2]
    assert page > 1 and len(leaves) > 10
    with open(db, "r+b") as handle:
        handle.seek((page - 1) * page_size)
        handle.write(b"\xff" * page_size)
    return page


# --- a database that vanished -------------------------------------------------------------


def test_a_brand_new_home_opens_gets_its_marker_and_passes_the_check(tmp_path: Path) -> None:
    home = tmp_path / "new"
    with _open(home) as maas:
        maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
        assert maas.backend.check_integrity() == []
    assert "refuses to open a missing or empty maas.db" in marker_path(home / "maas.db").read_text()
    with _open(home) as again:  # the marker does not stand in the way of the store it describes
        assert len(again.agents.list_agents()) == 1
    done = _cli(home, "status")
    assert done.returncode == 0, done.stderr
    assert "ok (SQLite quick_check)" in done.stdout and "intact" in done.stdout


@pytest.mark.parametrize("damage", ["emptied", "deleted"])
def test_a_lost_database_in_an_existing_home_is_refused_and_nothing_is_touched(populated: Path, damage: str) -> None:
    db = populated / "maas.db"
    if damage == "emptied":
        db.write_bytes(b"")
    else:
        db.unlink()
    before = _snapshot(populated)
    with pytest.raises(StorageCorruptedError) as refused:
        _open(populated)
    error = refused.value
    assert error.code == "storage_corrupted" and error.retryable is False
    assert str(db) in error.message and str(marker_path(db)) in error.message
    assert ("is empty (0 bytes)" if damage == "emptied" else "is missing") in error.message
    assert "new, empty store" in error.message and "backup" in error.message
    assert error.details["evidence"] == [str(marker_path(db))]
    for args in (["status"], ["agents"], ["init"]):  # the command line says the same, exit 2
        done = _cli(populated, *args)
        assert done.returncode == 2 and done.stderr.startswith("maas: error [storage_corrupted]: "), done.stderr
        assert "Traceback" not in done.stderr
    assert _snapshot(populated) == before  # no new maas.db, no -wal, no new key: untouched


def test_starting_over_on_purpose_means_deleting_what_the_error_names(populated: Path) -> None:
    (populated / "maas.db").write_bytes(b"")
    with pytest.raises(StorageCorruptedError) as refused:
        _open(populated)
    for path in refused.value.details["evidence"]:
        Path(path).unlink()
    with _open(populated) as maas:
        assert maas.agents.list_agents() == []


def test_a_home_from_before_markers_is_recognised_by_its_vector_index(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with MaaS.open(home, embeddings=HashingEmbeddings(), sweep_interval=None) as maas:  # embedded Chroma
        maas.memories.remember("the cache is warmed at 06:00", scope={"org": "acme"})
    marker_path(home / "maas.db").unlink()  # as an older version left it
    (home / "maas.db").write_bytes(b"")
    with pytest.raises(StorageCorruptedError) as refused:
        _open(home)
    assert refused.value.details["evidence"] == [str(home / "chroma" / "chroma.sqlite3")]
    assert "the vector index of the lost store" in refused.value.message


def test_a_named_db_file_has_a_marker_of_its_own(tmp_path: Path) -> None:
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    for db in (first, second):
        _open(db).close()
    first.write_bytes(b"")
    with pytest.raises(StorageCorruptedError, match=re.escape("a.db.created")):
        _open(first)
    with _open(second) as maas:  # the other store beside it is unaffected
        assert maas.agents.list_agents() == []


# --- a damaged page -----------------------------------------------------------------------


def test_a_damaged_page_is_storage_corrupted_and_stops_every_write(populated: Path) -> None:
    db = populated / "maas.db"
    _damage_a_middle_page(db)
    with _open(populated) as maas:  # opening reads no agent page
        audit_rows = maas.audit.verify_chain().checked
        with pytest.raises(StorageCorruptedError) as met:
            maas.agents.list_agents()
        assert met.value.code == "storage_corrupted" and met.value.retryable is False
        assert "malformed" in met.value.message and str(db) in met.value.message
        # known damaged: writes are refused, even those that touch no damaged page
        with pytest.raises(StorageCorruptedError, match="writes are refused"):
            maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u2")
        with pytest.raises(StorageCorruptedError, match="writes are refused"):
            maas.pools.create_pool("after-the-damage", owner_id="u2")
        assert maas.audit.verify_chain().checked == audit_rows  # not even a failure row was written
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM pools").fetchone()[0] == 0
    conn.close()


def test_maas_status_reports_the_failed_integrity_check_and_exits_1(populated: Path) -> None:
    _damage_a_middle_page(populated / "maas.db")
    done = _cli(populated, "status")
    assert done.returncode == 1, done.stderr
    assert "FAILED (SQLite quick_check)" in done.stdout and "ok (SQLite quick_check)" not in done.stdout
    assert "malformed" in done.stdout
    report = json.loads(_cli(populated, "--json", "status").stdout)
    assert report["integrity"]["ok"] is False and report["integrity"]["problems"]


def test_a_file_that_is_not_a_database_is_refused_at_open(populated: Path) -> None:
    db = populated / "maas.db"
    with open(db, "r+b") as handle:
        handle.write(b"this is not SQLite" * 10)  # page 1: the header
    with pytest.raises(StorageCorruptedError, match="not a database"):
        _open(populated)
    done = _cli(populated, "status")
    assert done.returncode == 2 and "[storage_corrupted]" in done.stderr


def test_over_rest_a_damaged_page_is_500_storage_corrupted_not_retryable(populated: Path) -> None:
    from tests.test_rest_api import Server

    with _open(populated) as setup:
        owner = setup.agents.list_agents()[0]
        secret = setup.keys.create_key(owner.agent_id).secret
    _damage_a_middle_page(populated / "maas.db")
    maas = _open(populated)
    server = Server(maas)
    server.keys["owner"] = secret
    server.start()
    try:
        for method, body in (("GET", None), ("POST", {"agent_type": "gpt_agent"})):
            response = server.call("owner", method, "/v1/agents", body)
            assert response.status_code == 500, response.text
            assert response.json()["error"]["code"] == "storage_corrupted"
            assert response.json()["error"]["retryable"] is False
        assert httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200
    finally:
        server.stop()
        maas.close()


def test_a_new_home_and_its_database_are_private(tmp_path: Path) -> None:
    """The folder MaaS creates is 0700, the database (and its -wal/-shm) 0600, like the audit key;
    a folder that already exists keeps its mode."""
    home = tmp_path / "new" / "home"
    with _open(home) as maas:
        maas.agents.register_agent(AgentType.HUMAN, owner_id="u1")
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in home.iterdir()}
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        assert {name: modes[name] for name in ("maas.db", "maas.db-wal", "maas.db-shm", "audit.key")} == {
            "maas.db": 0o600,
            "maas.db-wal": 0o600,
            "maas.db-shm": 0o600,
            "audit.key": 0o600,
        }
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    with _open(shared):
        pass
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert stat.S_IMODE((shared / "maas.db").stat().st_mode) == 0o600
