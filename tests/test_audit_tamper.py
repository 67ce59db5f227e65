"""The audit log detects rewriting (docs/audit.md), on a real SQLite file and a real PostgreSQL schema.

Outside testing found six rewrites that the unkeyed chain let through ``maas audit verify``:
(1) deleting the newest entries and moving the head back, (2) deleting the PERMISSION_DENIED
entries and re-hashing, (3) editing an entry and re-hashing from there, (4) appending a forged
entry, (5) wiping the log and resetting the head, (6) dropping the append-only triggers. Each is
done here with raw SQL by an attacker who has the database but not the audit key. Rewrites 1-5
are done *carefully* (protections switched off for the rewrite and put back), so each test shows
which check catches it: the keyed hashes (2, 3, 4) or anchors kept outside the database (1, 5);
rewrite 6 is caught by the guard check. Then: the legacy upgrade, keys, the CLI, ``maas serve``'s
anchorer.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from maas_langchain import AgentType, AuditEventType, MaaS, PermissionModel, SharedScope
from maas_langchain.adapters.audit_anchorer import AuditAnchorer
from maas_langchain.audit_key import parse_key
from maas_langchain.backends.migrations import AUDIT_BOUNDARY, load_migrations, split_statements
from maas_langchain.core.audit_chain import AuditAnchor
from maas_langchain.errors import AuditKeyError

GENESIS = "0" * 64
_TABLES = ("audit_log", "audit_head", "audit_keying")
_COLUMNS = "seq, timestamp, event_type, action, actor, target, outcome, reason, details, prev_hash, hash"


def old_chain_hash(prev_hash: str, seq: int, timestamp: float, body: dict[str, Any]) -> str:
    """The hash every entry had before audit keys (verbatim from the previous runtime.py):
    what a legacy database holds, and what an attacker without the key can compute."""
    canonical = json.dumps(
        {"prev": prev_hash, "seq": seq, "ts": repr(timestamp), **body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class Attacker:
    """Raw SQL on the database file / schema, without the audit key."""

    def __init__(self, kind: str, connect: Callable[[], Any]) -> None:
        self.kind, self.conn = kind, connect()

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> Any:
        mark = "?" if self.kind == "sqlite" else "%s"
        return self.conn.execute(statement.replace("?", mark), params)

    @contextmanager
    def careful(self) -> Iterator[None]:
        """Switch the protections off for a rewrite and leave no trace of it afterwards: SQLite
        triggers dropped and re-created verbatim; PostgreSQL triggers skipped for this session
        (``session_replication_role = replica``, a superuser's right)."""
        if self.kind == "postgres":
            self.sql("SET session_replication_role = replica")
            yield
            self.sql("SET session_replication_role = DEFAULT")
            return
        marks = ", ".join("?" * len(_TABLES))
        saved = self.sql(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks})", _TABLES
        ).fetchall()
        for name, _ in saved:
            self.sql(f"DROP TRIGGER {name}")
        yield
        for _, definition in saved:
            self.sql(definition)

    def drop_triggers(self, *names: str) -> None:
        """Drop protections and leave them dropped (rewrite 6)."""
        for name in names:
            table = "audit_head" if name.startswith("audit_head") else "audit_log"
            self.sql(f"DROP TRIGGER {name}" + (f" ON {table}" if self.kind == "postgres" else ""))

    def rows(self) -> list[list[Any]]:
        return [list(r) for r in self.sql(f"SELECT {_COLUMNS} FROM audit_log ORDER BY seq").fetchall()]

    def write_log(self, rows: list[list[Any]]) -> None:
        """Replace the whole log with ``rows`` and point the head at the last one."""
        self.sql("DELETE FROM audit_log")
        for row in rows:
            self.sql(f"INSERT INTO audit_log ({_COLUMNS}) VALUES ({', '.join('?' * 11)})", tuple(row))
        self.sql(
            "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1",
            (rows[-1][0], rows[-1][10]) if rows else (0, GENESIS),
        )

    def close(self) -> None:
        self.conn.close()


def rehash(rows: list[list[Any]], start: int = 0, hash_fn: Callable[..., str] = old_chain_hash) -> list[list[Any]]:
    """Renumber ``rows`` 1..n and recompute prev_hash and hash from index ``start`` on."""
    out = [list(r) for r in rows]
    for i, row in enumerate(out):
        row[0] = i + 1
        if i < start:
            continue
        row[9] = out[i - 1][10] if i else GENESIS
        body = dict(zip(("event_type", "action", "actor", "target", "outcome", "reason"), row[2:8], strict=True))
        row[10] = hash_fn(row[9], row[0], row[1], {**body, "details": json.loads(row[8])})
    return out


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Callable[[], Attacker]]]:
    """(location, a factory of attackers on it)."""
    attackers: list[Attacker] = []
    if request.param == "sqlite":
        home = tmp_path / "home"

        def connect() -> Any:
            return sqlite3.connect(home / "maas.db", isolation_level=None)

        location = str(home)
    else:
        location = request.getfixturevalue("pg_url")
        import psycopg

        def connect() -> Any:
            return psycopg.connect(location, autocommit=True)

    def attacker() -> Attacker:
        attackers.append(Attacker(request.param, connect))
        return attackers[-1]

    yield location, attacker
    for a in attackers:
        a.close()


def _open(location: str, **kw: Any) -> MaaS:
    return MaaS.open(location, sweep_interval=None, **kw)


def _workflow(maas: MaaS) -> None:
    """Entries of every kind, two of them PERMISSION_DENIED."""
    a = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u")
    pipe = maas.agents.register_agent(AgentType.CUSTOM_PIPELINE, owner_id="u")
    pool = maas.pools.create_pool("p", owner_id="u", scope=SharedScope.PROJECT)
    for agent in (a, pipe):
        maas.pools.join_pool(pool, agent, PermissionModel.WRITE)
    maas.pools.share_memory(pool, "mem-1", a, SharedScope.PROJECT)
    maas.pools.share_memory(pool, "mem-2", pipe, SharedScope.PROJECT)  # denied: no MEMORY_WRITE
    maas.pools.query_shared(pool, a)
    maas.pools.join_pool(pool, pipe, PermissionModel.ADMIN, actor_id=pipe)  # denied: not ADMIN
    maas.audit.log("AGENT_AUTH", "session_end", actor="orchestrator")
    maas.audit.count()  # on PostgreSQL, entries join the chain at a sequencing pass: a read runs one


def _shipped(maas: MaaS, tmp_path: Path) -> Path:
    """Anchor the current head into a file standing for the log shipper's copy."""
    path = tmp_path / "shipped.anchors"
    maas.audit.anchor(path)
    return path


# --- a clean log ------------------------------------------------------------------------------
def test_a_clean_log_passes_every_check(store: tuple[str, Callable[[], Attacker]], tmp_path: Path) -> None:
    location, _ = store
    with _open(location) as maas:
        _workflow(maas)
        shipped = _shipped(maas, tmp_path)
        maas.agents.register_agent(AgentType.HUMAN, owner_id="u2")  # appended after the anchor: fine
        report = maas.audit.verify_chain(anchors=shipped)
        assert report.ok, report.problems
        assert report.problems == () and report.checked == maas.audit.count() > 8
        assert report.anchors_checked == 1 and report.last_anchor is not None
        assert report.last_anchor.seq == report.checked - 1 and report.legacy_entries == 0
    with _open(location) as reopened:  # the key comes back from audit.key (or $MAAS_HOME's)
        assert reopened.audit.verify_chain(anchors=shipped).ok


# --- the six rewrites ------------------------------------------------------------------------
def test_1_dropping_the_newest_entries_and_moving_the_head_back_is_caught_by_anchors(
    store: tuple[str, Callable[[], Attacker]], tmp_path: Path
) -> None:
    location, attacker = store
    with _open(location) as maas:
        _workflow(maas)
        shipped = _shipped(maas, tmp_path)
        count = maas.audit.count()
        evil = attacker()
        with evil.careful():
            evil.write_log(evil.rows()[:-3])
        assert maas.audit.count() == count - 3
        assert maas.audit.verify_chain(anchors=[]).ok  # a consistent shorter chain: only an anchor knows
        report = maas.audit.verify_chain(anchors=shipped)
        assert not report.ok and report.first_bad_seq == count
        assert f"the log ends at entry {count - 3}; anchored entries were deleted" in (report.problem or "")


def test_2_deleting_the_denials_and_rehashing_is_caught_by_the_keyed_hashes(
    store: tuple[str, Callable[[], Attacker]],
) -> None:
    location, attacker = store
    with _open(location) as maas:
        _workflow(maas)
        evil = attacker()
        rows = evil.rows()
        first_denial = next(i for i, r in enumerate(rows) if r[2] == AuditEventType.PERMISSION_DENIED.value)
        kept = [r for r in rows if r[2] != AuditEventType.PERMISSION_DENIED.value]
        with evil.careful():
            evil.write_log(rehash(kept, start=first_denial))
        assert maas.audit.query(event_type="PERMISSION_DENIED") == []
        report = maas.audit.verify_chain(anchors=[])
        assert not report.ok and report.first_bad_seq == first_denial + 1
        assert "hash does not match the entry's content (HMAC-SHA256 under the audit key)" in (report.problem or "")


@pytest.mark.parametrize("guess", ["unkeyed SHA-256", "a guessed key"])
def test_3_editing_an_entry_and_rehashing_from_there_is_caught_by_the_keyed_hashes(
    store: tuple[str, Callable[[], Attacker]], guess: str
) -> None:
    import hmac

    def guessed(prev: str, seq: int, ts: float, body: dict[str, Any]) -> str:
        return hmac.new(b"guess", old_chain_hash(prev, seq, ts, body).encode(), hashlib.sha256).hexdigest()

    location, attacker = store
    with _open(location) as maas:
        _workflow(maas)
        evil = attacker()
        rows = evil.rows()
        edited = next(i for i, r in enumerate(rows) if r[6] == "denied")
        rows[edited][6], rows[edited][7] = "success", None
        with evil.careful():
            evil.write_log(rehash(rows, start=edited, hash_fn=old_chain_hash if guess.startswith("un") else guessed))
        report = maas.audit.verify_chain(anchors=[])
        assert not report.ok and report.first_bad_seq == edited + 1 and report.checked == edited
        assert "content" in (report.problem or "") and "later entries do not verify either" in (report.problem or "")


def test_4_appending_a_forged_entry_is_caught_by_the_keyed_hashes(store: tuple[str, Callable[[], Attacker]]) -> None:
    location, attacker = store
    with _open(location) as maas:
        _workflow(maas)
        evil = attacker()
        rows = evil.rows()
        forged = [len(rows) + 1, rows[-1][1] + 1, "AGENT_AUTH", "register", "ghost", None, "success", None, "{}"]
        forged += [rows[-1][10], old_chain_hash(rows[-1][10], len(rows) + 1, rows[-1][1] + 1, {})]
        with evil.careful():
            evil.write_log([*rows, forged])
        assert [e.actor for e in maas.audit.query(action="register")][-1] == "ghost"
        report = maas.audit.verify_chain(anchors=[])
        assert not report.ok and report.first_bad_seq == len(rows) + 1 and report.checked == len(rows)
        assert "content" in (report.problem or "")


def test_4b_a_forged_entry_beyond_the_head_is_reported_too(store: tuple[str, Callable[[], Attacker]]) -> None:
    location, attacker = store
    with _open(location) as maas:
        _workflow(maas)
        evil = attacker()
        rows = evil.rows()
        head = rows[-1]
        forged = [len(rows) + 1, head[1] + 1, "AGENT_AUTH", "x", None, None, "success", None, "{}", head[10], "f" * 64]
        with evil.careful():  # the head is left where it was
            evil.sql(f"INSERT INTO audit_log ({_COLUMNS}) VALUES ({', '.join('?' * 11)})", tuple(forged))
        report = maas.audit.verify_chain(anchors=[])
        assert not report.ok and any("beyond the chain head" in p for p in report.problems)


def test_5_wiping_the_log_and_resetting_the_head_is_caught_by_anchors(
    store: tuple[str, Callable[[], Attacker]], tmp_path: Path
) -> None:
    location, attacker = store
    with _open(location) as maas:
        _workflow(maas)
        shipped = _shipped(maas, tmp_path)
        evil = attacker()
        with evil.careful():
            evil.write_log([])
        assert maas.audit.count() == 0
        assert maas.audit.verify_chain(anchors=[]).ok  # an empty chain needs no key: only an anchor knows
        report = maas.audit.verify_chain(anchors=shipped)
        assert not report.ok and "the log ends at entry 0" in (report.problem or "")


def test_6_dropped_protections_are_reported(store: tuple[str, Callable[[], Attacker]], tmp_path: Path) -> None:
    location, attacker = store
    with _open(location) as maas:
        _workflow(maas)
        shipped = _shipped(maas, tmp_path)
        evil = attacker()
        evil.drop_triggers("audit_log_no_delete", "audit_head_forward_only")
        report = maas.audit.verify_chain(anchors=shipped)  # nothing else changed yet
        assert not report.ok and report.first_bad_seq is None
        assert report.problems == (
            "storage protection: trigger audit_head_forward_only on audit_head is missing (dropped)",
            "storage protection: trigger audit_log_no_delete on audit_log is missing (dropped)",
        )
        count = maas.audit.count()  # then any rewrite they guarded, here rewrite 1 without care
        evil.sql("DELETE FROM audit_log WHERE seq > ?", (count - 2,))
        evil.sql(
            "UPDATE audit_head SET seq = ?, hash = (SELECT hash FROM audit_log WHERE seq = ?)", (count - 2, count - 2)
        )
        report = maas.audit.verify_chain(anchors=shipped)
        assert len(report.problems) == 3 and "anchored entries were deleted" in report.problems[0]


@pytest.mark.postgres
def test_6b_disabled_and_redefined_postgres_protections_are_reported(pg_url: str) -> None:
    import psycopg

    with _open(pg_url) as maas, psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
        conn.execute(
            "CREATE OR REPLACE FUNCTION audit_log_next_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"
        )
        assert maas.audit.verify_chain().problems == (
            "storage protection: trigger audit_log_no_update on audit_log is disabled",
            "storage protection: trigger function audit_log_next_only() differs from the one the migrations create "
            "(redefined)",
        )


def test_6c_a_sqlite_trigger_redefined_as_a_no_op_is_reported(tmp_path: Path) -> None:
    with _open(str(tmp_path)) as maas:
        conn = sqlite3.connect(tmp_path / "maas.db", isolation_level=None)
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT 1; END")
        conn.close()
        (problem,) = maas.audit.verify_chain().problems
        assert problem.endswith(
            "trigger audit_log_no_delete on audit_log differs from the one the migrations create (redefined)"
        )


def test_entries_edited_into_undecodable_values_are_reported_not_a_crash(
    store: tuple[str, Callable[[], Attacker]], tmp_path: Path
) -> None:
    """Details that are not JSON, an unknown event type, garbage far beyond the head: verify names
    each entry (and goes on verifying the ones after it) instead of raising out of the decoder."""
    location, attacker = store
    far = 10**12
    with _open(location) as maas:
        _workflow(maas)
        shipped = _shipped(maas, tmp_path)
        count = maas.audit.count()
        evil = attacker()
        with evil.careful():
            evil.sql("UPDATE audit_log SET details = ? WHERE seq = 3", ("not json",))
            evil.sql("UPDATE audit_log SET event_type = ? WHERE seq = 6", ("NOPE",))
            evil.sql(
                f"INSERT INTO audit_log ({_COLUMNS}) VALUES ({', '.join('?' * 11)})",
                (far, 1.0, "AGENT_AUTH", "x", None, None, "success", None, "[", GENESIS, GENESIS),
            )
        report = maas.audit.verify_chain(anchors=shipped)
    assert not report.ok and report.first_bad_seq == 3 and report.checked == 2
    first, second, third, beyond = report.problems
    assert first.startswith("entry 3: cannot be decoded: stored fields were edited") and "JSONDecodeError" in first
    assert second.startswith("entry 6: cannot be decoded") and "'NOPE' is not a valid AuditEventType" in second
    assert third.startswith(f"entry {count + 1}: missing or cannot be decoded, up to entry {far}:")
    assert beyond == f"entries {count + 1}..{far} lie beyond the chain head (appended without moving it)"


def test_the_protections_hold_without_tampering(store: tuple[str, Callable[[], Attacker]]) -> None:
    """What the triggers refuse, so rewrites 1-5 need them switched off first."""
    location, attacker = store
    with _open(location) as maas:
        _workflow(maas)
    evil = attacker()
    rows = evil.rows()
    refused = [
        ("UPDATE audit_head SET seq = seq - 1", ()),
        ("DELETE FROM audit_head", ()),
        ("UPDATE audit_keying SET keyed_from = 5", ()),
        ("UPDATE audit_keying SET seal = NULL", ()),
        ("DELETE FROM audit_keying", ()),
        (f"INSERT INTO audit_log ({_COLUMNS}) VALUES ({', '.join('?' * 11)})", tuple(rows[0])),  # a replay
    ]
    if evil.kind == "sqlite":  # REPLACE deletes without firing delete triggers
        refused.append(
            (f"INSERT OR REPLACE INTO audit_log ({_COLUMNS}) VALUES ({', '.join('?' * 11)})", tuple(rows[0]))
        )
        refused.append(("INSERT OR REPLACE INTO audit_head (id, seq, hash) VALUES (1, 1, ?)", (rows[0][10],)))
    if evil.kind == "sqlite":
        error: type[Exception] = sqlite3.IntegrityError
    else:
        import psycopg

        error = psycopg.errors.RestrictViolation
    for statement, params in refused:
        with pytest.raises(error, match=r"append|forward|sealed once|sequence"):
            evil.sql(statement, params)
    with _open(location) as maas:
        assert maas.audit.verify_chain().ok


# --- rewriting the log as "legacy", and the upgrade of a legacy log ----------------------------
def test_rewriting_everything_as_legacy_is_caught_by_the_seal(store: tuple[str, Callable[[], Attacker]]) -> None:
    location, attacker = store
    with _open(location) as maas:
        _workflow(maas)
        evil = attacker()
        rows = rehash([r for r in evil.rows() if r[6] != "denied"])  # unkeyed, as a legacy log
        with evil.careful():
            evil.write_log(rows)
            evil.sql("DELETE FROM audit_keying")
            evil.sql("INSERT INTO audit_keying (id, keyed_from, seal) VALUES (1, ?, NULL)", (len(rows) + 1,))
        problem = f"the keyed boundary is not sealed: entries 1..{len(rows)} claim to be legacy"
        assert problem in (maas.audit.verify_chain().problem or "")
    with _open(location) as reopened:  # not sealed on the next open: this open did not create the boundary
        assert problem in (reopened.audit.verify_chain().problem or "")


def _legacy_store(kind: str, location: str, attacker: Callable[[], Attacker], entries: int) -> None:
    """A store as the version before audit keys left it: migrations up to the one before the
    keyed boundary, and unkeyed entries."""
    known = load_migrations(kind)
    boundary = next(m.version for m in known if m.name == AUDIT_BOUNDARY)
    if kind == "sqlite":
        Path(location).mkdir(parents=True)
    evil = attacker()
    evil.sql(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, "
        "applied_at DOUBLE PRECISION NOT NULL)"
    )
    for m in known[: boundary - 1]:
        statements = split_statements(m.sql, sqlite3.complete_statement) if kind == "sqlite" else [m.sql]
        for statement in statements:
            evil.conn.execute(statement)
        evil.sql("INSERT INTO schema_migrations VALUES (?, ?, ?, ?)", (m.version, m.name, m.checksum, time.time()))
    rows = [
        [n, 1_700_000_000.0 + n, "AGENT_AUTH", "register", f"agent-{n}", None, "success", None, "{}", "", ""]
        for n in range(1, entries + 1)
    ]
    evil.write_log(rehash(rows))


def test_a_legacy_log_upgrades_seals_and_verifies(store: tuple[str, Callable[[], Attacker]]) -> None:
    location, attacker = store
    kind = "sqlite" if "://" not in location else "postgres"
    _legacy_store(kind, location, attacker, entries=5)
    with _open(location) as maas:  # the keying migration runs at this open, which seals it
        anchors = Path(maas.runtime.audit_anchors or "")
        maas.agents.register_agent(AgentType.HUMAN, owner_id="u")
        report = maas.audit.verify_chain()
        assert report.ok and report.legacy_entries == 5 and report.checked == 6, report.problems
        (upgrade,) = [AuditAnchor.from_line(line) for line in anchors.read_text().splitlines()]
        assert (upgrade.seq, upgrade.keyed_from, report.anchors_checked) == (5, 6, 1)  # the boundary's witness
        (keyed,) = maas.audit.query(newest_first=True, limit=1)
        body = {k: getattr(keyed, k) for k in ("action", "actor", "target", "outcome", "reason", "details")}
        unkeyed = old_chain_hash(keyed.prev_hash, keyed.seq, keyed.timestamp, {**body, "event_type": "AGENT_AUTH"})
        assert keyed.seq == 6 and keyed.hash != unkeyed  # new entries are keyed
    with _open(location) as reopened:
        assert reopened.audit.verify_chain().ok
        evil = attacker()  # the legacy prefix is computable without the key, but the seal covers it
        rows = evil.rows()
        rows[1][4] = "someone-else"
        with evil.careful():
            evil.write_log([*rehash(rows[:5], start=1), *rows[5:]])
        problems = reopened.audit.verify_chain(anchors=[]).problems
        assert any("the seal of the keyed boundary (entries from 6 keyed) does not verify" in p for p in problems)
        assert any("prev_hash does not match" in p for p in problems)


def test_an_interrupted_upgrade_is_reported_until_an_operator_seals_it(tmp_path: Path) -> None:
    from maas_langchain.backends.sqlite import SQLiteBackend

    home = tmp_path / "home"
    _legacy_store(
        "sqlite",
        str(home),
        lambda: Attacker("sqlite", lambda: sqlite3.connect(home / "maas.db", isolation_level=None)),
        entries=3,
    )
    SQLiteBackend(home / "maas.db").close()  # the migration ran, the process died before the seal
    with _open(str(home)) as maas:
        report = maas.audit.verify_chain()
        assert not report.ok and "the keyed boundary is not sealed: entries 1..3" in (report.problem or "")
        maas.agents.register_agent(AgentType.HUMAN, owner_id="u")  # writes go on, keyed
        assert maas.audit.seal() == 4 and maas.audit.seal() == 4  # idempotent: the boundary
        report = maas.audit.verify_chain()
        assert report.ok and report.legacy_entries == 3 and report.checked == 4


# --- keys -------------------------------------------------------------------------------------
def test_the_key_file_is_created_private_and_refused_when_others_can_read_it(tmp_path: Path) -> None:
    with _open(str(tmp_path)) as maas:
        maas.agents.register_agent(AgentType.HUMAN, owner_id="u")
    key_file = tmp_path / "audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(parse_key(key_file.read_text())) == 32
    key_file.chmod(0o640)
    with pytest.raises(AuditKeyError, match=r"accessible to its group or others .*chmod 600"):
        _open(str(tmp_path))
    key_file.chmod(0o600)
    with _open(str(tmp_path)) as maas:
        assert maas.audit.verify_chain().ok


def test_the_environment_key_is_used_and_a_wrong_key_fails_verification_and_refuses_writes(
    store: tuple[str, Callable[[], Attacker]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    location, _ = store
    monkeypatch.setenv("MAAS_AUDIT_KEY", "ab" * 32)
    with _open(location) as maas:
        _workflow(maas)
        shipped = _shipped(maas, tmp_path)
        assert maas.runtime.audit_key.secret == b"\xab" * 32
    assert not (tmp_path / "home" / "audit.key").exists()
    monkeypatch.setenv("MAAS_AUDIT_KEY", "a different passphrase")
    with _open(location) as wrong:
        report = wrong.audit.verify_chain(anchors=shipped)
        assert not report.ok and "it is not the key this log was written with" in (report.problem or "")
        assert any("its MAC does not verify with this audit key" in p for p in report.problems)
        count = wrong.audit.count()
        with pytest.raises(AuditKeyError, match="does not open this audit log's seal"):
            wrong.audit.log("AGENT_AUTH", "x")
        with pytest.raises(AuditKeyError):
            wrong.agents.register_agent(AgentType.HUMAN, owner_id="nobody")  # the operation and its entry, or neither
        with pytest.raises(AuditKeyError):
            wrong.audit.anchor(tmp_path / "x.anchors")
        assert wrong.audit.count() == count and all(a.owner_id != "nobody" for a in wrong.agents.list_agents())
    monkeypatch.setenv("MAAS_AUDIT_KEY", "AB" * 32)  # hex in either case
    with _open(location) as right:
        assert right.audit.verify_chain(anchors=shipped).ok


def test_a_sealed_log_without_its_key_gets_no_new_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _open(str(tmp_path), audit_key=b"k" * 32) as maas:
        maas.agents.register_agent(AgentType.HUMAN, owner_id="u")
    monkeypatch.delenv("MAAS_AUDIT_KEY", raising=False)
    with _open(str(tmp_path)) as keyless:
        assert not (tmp_path / "audit.key").exists()  # a new key could never open the seal
        with pytest.raises(AuditKeyError, match="no audit key: this audit log was sealed with one"):
            keyless.agents.register_agent(AgentType.HUMAN, owner_id="u")
        assert not keyless.audit.verify_chain().ok
    (tmp_path / "audit.key").write_text(("6b" * 32) + "\n")  # restore it: b"k" * 32 in hex
    (tmp_path / "audit.key").chmod(0o600)
    with _open(str(tmp_path)) as restored:
        restored.agents.register_agent(AgentType.HUMAN, owner_id="u")
        assert restored.audit.verify_chain().ok


def test_a_process_racing_the_first_open_finds_the_key_its_sealer_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI caught four processes opening one fresh PostgreSQL schema with one home: one looked for
    the key file, another created it and sealed the log, then the first saw the seal and refused
    to write. The seal is now read first: whoever seals creates the file before, so it is there."""
    from maas_langchain import audit_key as module

    monkeypatch.delenv("MAAS_AUDIT_KEY", raising=False)
    with _open(str(tmp_path)) as first:
        first.agents.register_agent(AgentType.HUMAN, owner_id="u")
        secret = first.runtime.audit_key.secret
    hidden = tmp_path / "hidden.key"
    (tmp_path / "audit.key").rename(hidden)
    sealed = module._sealed

    def the_other_process_finishes_its_first_open(backend: Any) -> bool:
        result = sealed(backend)
        hidden.rename(tmp_path / "audit.key")  # the sealer's file lands just after the seal is read
        return result

    monkeypatch.setattr(module, "_sealed", the_other_process_finishes_its_first_open)
    with _open(str(tmp_path)) as racer:
        assert racer.runtime.audit_key.secret == secret and racer.runtime.audit_key.refusal is None
        racer.agents.register_agent(AgentType.HUMAN, owner_id="v")
        assert racer.audit.verify_chain().ok


def test_parse_key() -> None:
    assert parse_key(" 00ff\n") == b"\x00\xff"
    assert parse_key("0ff") == b"0ff"  # odd length: a passphrase
    assert parse_key("correct horse battery staple") == b"correct horse battery staple"
    with pytest.raises(AuditKeyError):
        parse_key("  ")


def test_forged_and_malformed_anchor_lines_are_reported(tmp_path: Path) -> None:
    with _open(str(tmp_path / "home")) as maas:
        _workflow(maas)
        good = maas.audit.anchor(tmp_path / "a.anchors")
        data = json.loads(good.to_line())
        data["count"] = 1  # a lower count, to excuse a truncation
        lines = [json.dumps(data), "not json", ""]
        report = maas.audit.verify_chain(anchors=[good.to_line(), *lines])
        assert report.anchors_checked == 1 and report.problems == (
            "anchor #2: its MAC does not verify with this audit key "
            f"(id {maas.runtime.audit_key.id}; the anchor names key {good.key_id}): forged, or written by another instance",
            "anchor #3 is not an audit anchor (Expecting value: line 1 column 1 (char 0))",
        )
        missing = maas.audit.verify_chain(anchors=tmp_path / "nowhere.anchors")
        assert not missing.ok and "nowhere.anchors cannot be read" in (missing.problem or "")


# --- the command line, as a user runs it -------------------------------------------------------
def _cli(*args: str, home: Path, expect: int = 0, stdin: str | None = None, **env: str) -> str:
    environ = {**os.environ, "MAAS_HOME": str(home), **env}
    proc = subprocess.run(
        [sys.executable, "-m", "maas_langchain.adapters.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        input=stdin,
    )
    assert proc.returncode == expect, proc.stdout + proc.stderr
    return proc.stdout


def test_cli_anchor_and_verify_end_to_end(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with _open(str(home)) as maas:
        _workflow(maas)
    shipped = tmp_path / "shipped.anchors"
    assert "anchored entry" in _cli("audit", "anchor", "--file", str(shipped), home=home)
    line = _cli("audit", "anchor", "--file", "-", home=home).strip()  # for a log shipper
    assert AuditAnchor.from_line(line).seq == AuditAnchor.from_line(shipped.read_text()).seq
    with shipped.open("a") as f:
        f.write(line + "\n")
    assert "anchored" in _cli("audit", "anchor", home=home)  # the default file, read by default
    assert (home / "audit.anchors").is_file()
    out = _cli("audit", "verify", "--anchors", str(shipped), home=home)
    assert "audit chain intact" in out and "anchors: 2 checked; last: entry" in out
    assert "anchors: 1 checked" in _cli("audit", "verify", home=home)
    assert json.loads(_cli("--json", "audit", "verify", "--anchors", "-", home=home, stdin=line))["ok"] is True
    evil = Attacker("sqlite", lambda: sqlite3.connect(home / "maas.db", isolation_level=None))
    with evil.careful():
        evil.write_log(evil.rows()[:-2])
    evil.close()
    (home / "audit.anchors").unlink()  # the copy on this host is gone with it; the shipped one is not
    assert "intact" in _cli("audit", "verify", home=home)
    out = _cli("audit", "verify", "--anchors", str(shipped), home=home, expect=1)
    assert "audit chain BROKEN" in out and "anchored entries were deleted or the log was reset" in out
    report = json.loads(_cli("--json", "audit", "verify", "--anchors", str(shipped), home=home, expect=1))
    assert report["ok"] is False and len(report["problems"]) == 2 and report["last_anchor"]["seq"] > 0
    out = _cli("audit", "verify", home=home, expect=1, MAAS_AUDIT_KEY="not the key")
    assert "it is not the key this log was written with" in out


def test_serve_anchors_periodically_and_at_shutdown(tmp_path: Path) -> None:
    def wait_for(anchorer: AuditAnchorer, written: int) -> None:
        deadline = time.monotonic() + 10
        while anchorer.written < written and time.monotonic() < deadline:
            time.sleep(0.01)
        assert anchorer.written == written

    with _open(str(tmp_path)) as maas:
        maas.agents.register_agent(AgentType.HUMAN, owner_id="u")
        with AuditAnchorer(maas, 0.05) as anchorer:
            wait_for(anchorer, 1)
            time.sleep(0.3)
            assert anchorer.written == 1  # the head did not move: no new anchor
            maas.agents.register_agent(AgentType.HUMAN, owner_id="u")
            wait_for(anchorer, 2)
        assert anchorer.written == 3  # and one at shutdown
    lines = (tmp_path / "audit.anchors").read_text().splitlines()
    assert [AuditAnchor.from_line(line).seq for line in lines] == [1, 2, 2]
    with _open(str(tmp_path)) as maas:
        report = maas.audit.verify_chain()
        assert report.ok and report.anchors_checked == 3
    with _open(":memory:") as memory:
        assert AuditAnchorer(memory, 60).enabled is False


def test_serve_logs_a_log_cut_back_and_grown_again_between_its_anchors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The running server appends onto whatever head it finds: cut back, the log grows past the
    old head again with valid entries. The head never *went* back between two anchors, but the
    entry anchored before no longer holds its hash: logged at once."""
    with _open(str(tmp_path)) as maas:
        _workflow(maas)
        anchorer = AuditAnchorer(maas, 60.0)  # driven by hand: no thread
        anchorer.anchor()
        anchored = maas.audit.count()
        evil = Attacker("sqlite", lambda: sqlite3.connect(tmp_path / "maas.db", isolation_level=None))
        with evil.careful():
            evil.write_log(evil.rows()[:-3])
        evil.close()
        for _ in range(4):
            maas.agents.register_agent(AgentType.HUMAN, owner_id="u")
        assert maas.audit.count() > anchored and maas.audit.verify_chain(anchors=[]).ok
        with caplog.at_level("ERROR", logger="maas_langchain.adapters.audit_anchorer"):
            anchorer.anchor(only_if_moved=True)
        assert anchorer.written == 2
        assert f"audit entry {anchored} no longer holds the hash this process anchored" in caplog.text
        report = maas.audit.verify_chain()  # and the anchor file says so too
        assert not report.ok and f"entry {anchored} differs from the anchored one" in report.problems[0]


def test_runtime_copies_made_by_adapters_sign_with_the_instance_key(tmp_path: Path) -> None:
    """The tools and handoff tools build a strict Runtime over the same backend; its entries
    must verify under the instance's key (the key travels with the backend)."""
    from maas_langchain.core.runtime import AuditEntry, Runtime

    with _open(str(tmp_path), audit_key="cd" * 32) as maas:
        strict = Runtime(maas.backend, maas.limits, maas.runtime.clock, raise_on_denial=True)
        assert strict.audit_key is maas.runtime.audit_key
        with maas.backend.transaction(write=True) as tx:
            strict.record(tx, AuditEntry(AuditEventType.AGENT_AUTH, "strict", None, None))
        assert maas.audit.verify_chain().ok
