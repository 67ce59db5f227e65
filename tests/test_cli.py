"""The `maas` command line and the demo, run as a user runs them (subprocesses on a real folder)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest


def _run(*args: str, home, expect: int = 0) -> str:
    env = {**os.environ, "MAAS_HOME": str(home)}
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == expect, proc.stderr
    return proc.stdout + proc.stderr


def test_demo_twice_then_status_shows_the_kept_data(tmp_path) -> None:
    first = _run("-m", "maas_langchain.demo", home=tmp_path)
    assert "Multi-agent workflow complete!" in first
    assert "test pipeline tried to share: False" in first
    assert "test pipeline tried to accept it: False" in first
    assert "timeline: created" in first and "completed" in first
    assert "PERMISSION_DENIED" in first and "Audit chain intact" in first
    _run("-m", "maas_langchain.demo", home=tmp_path)
    status = json.loads(_run("-m", "maas_langchain.adapters.cli", "--json", "status", home=tmp_path))
    assert status["counts"]["agents"] == 6 and status["counts"]["pools"] == 2
    assert status["counts"]["handoffs"] == 2 and status["audit_chain_ok"] is True
    text = _run("-m", "maas_langchain.adapters.cli", "status", home=tmp_path)
    assert re.search(r"^agents +6$", text, re.M) and re.search(r"^audit chain +intact \(", text, re.M)


def test_listing_commands(tmp_path) -> None:
    _run("-m", "maas_langchain.demo", home=tmp_path)
    assert "claude_code" in _run("-m", "maas_langchain.adapters.cli", "agents", home=tmp_path)
    assert "feature-auth" in _run("-m", "maas_langchain.adapters.cli", "pools", home=tmp_path)
    assert "completed" in _run("-m", "maas_langchain.adapters.cli", "handoffs", home=tmp_path)
    audit = _run("-m", "maas_langchain.adapters.cli", "audit", "--type", "HANDOFF", home=tmp_path)
    assert "initiate" in audit and "complete" in audit and "POOL_OPERATION" not in audit
    assert "up to date" in _run("-m", "maas_langchain.adapters.cli", "db", "migrate", home=tmp_path)


def test_audit_verify_fails_on_tampering(tmp_path) -> None:
    _run("-m", "maas_langchain.demo", home=tmp_path)
    assert "intact" in _run("-m", "maas_langchain.adapters.cli", "audit", "verify", home=tmp_path)
    conn = sqlite3.connect(tmp_path / "maas.db")
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET outcome = 'success' WHERE outcome = 'denied'")
    conn.commit()
    conn.close()
    out = _run("-m", "maas_langchain.adapters.cli", "audit", "verify", home=tmp_path, expect=1)
    assert "BROKEN" in out


@pytest.mark.parametrize("args", [["status"], ["agents"]])
def test_errors_are_one_clear_line(tmp_path, args) -> None:
    (tmp_path / "maas.db").write_bytes(b"this is not a database" * 100)
    out = _run("-m", "maas_langchain.adapters.cli", *args, home=tmp_path, expect=2)
    assert out.startswith("maas: error [storage_corrupted]") and "Traceback" not in out


def test_reindex_rebuilds_the_memory_index_with_progress(tmp_path) -> None:
    _run("-m", "maas_langchain.demo", home=tmp_path)  # writes two memories (one quarantined)
    out = _run("-m", "maas_langchain.adapters.cli", "reindex", home=tmp_path)
    assert "reindexed: 2 memories examined" in out
    status = json.loads(_run("-m", "maas_langchain.adapters.cli", "--json", "status", home=tmp_path))
    assert status["counts"]["memories"] == 2 and status["vectors"]["embedding_model"] == "all-MiniLM-L6-v2"


def test_audit_listing_of_an_undecodable_row_is_one_clear_error(tmp_path) -> None:
    from maas_langchain import AgentType, MaaS

    with MaaS.open(tmp_path, sweep_interval=None) as maas:
        maas.agents.register_agent(AgentType.HUMAN, owner_id="u1")  # an audited write
    conn = sqlite3.connect(tmp_path / "maas.db")
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET details = 'not json' WHERE seq = (SELECT MAX(seq) FROM audit_log)")
    conn.commit()
    conn.close()
    out = _run("-m", "maas_langchain.adapters.cli", "audit", home=tmp_path, expect=1)
    assert "Traceback" not in out and "cannot be decoded" in out and "maas audit verify" in out
    conn = sqlite3.connect(tmp_path / "maas.db")
    conn.execute(
        "UPDATE audit_log SET details = '{}', event_type = 'NOPE' WHERE seq = (SELECT MAX(seq) FROM audit_log)"
    )
    conn.commit()
    conn.close()
    out = _run("-m", "maas_langchain.adapters.cli", "audit", home=tmp_path, expect=1)
    assert "Traceback" not in out and "cannot be decoded" in out and "maas audit verify" in out
