"""Scoped API keys (DESIGN.md §5 Security): hashed, bound to an agent, floor, read-only, expiry, revocation.

Every backend through the parametrised ``maas`` fixture; the CLI on a real SQLite folder.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from maas_langchain import AgentType, MaaS
from maas_langchain.adapters.cli import main
from maas_langchain.adapters.cli_serve import parse_expiry, parse_scope_floor
from maas_langchain.core.keys import INVALID_MESSAGE, MISSING_MESSAGE, InvalidApiKeyError, hash_secret
from maas_langchain.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from maas_langchain.testing import ManualClock


def _agent(maas: MaaS) -> str:
    return maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="user-1", project_id="p1")


def _denials(maas: MaaS) -> list[Any]:
    return maas.audit.query(event_type="PERMISSION_DENIED", action="authenticate")


def test_a_key_is_bound_to_its_agent_floor_and_flags(maas: MaaS, clock: ManualClock) -> None:
    agent = _agent(maas)
    issued = maas.keys.create_key(
        agent, scope_floor={"project": "p1", "org": "acme"}, read_only=True, expires_at=clock.now + 60, name="ci"
    )
    key = maas.keys.authenticate(issued.secret)
    assert key.agent_id == agent and key.read_only and key.name == "ci"
    assert key.scope_floor == {"org": "acme", "project": "p1"}
    assert key.expires_at == clock.now + 60 and key.revoked_at is None
    assert issued.secret.startswith(f"maas_{key.key_id}_") and len(issued.secret.split("_", 2)[2]) == 43
    assert issued.secret not in repr(issued)
    assert [k.key_id for k in maas.keys.list_keys()] == [key.key_id]
    assert maas.keys.list_keys(agent) == maas.keys.list_keys()
    assert "secret" not in json.dumps(key.as_dict()) and issued.secret not in json.dumps(key.as_dict())
    assert maas.keys.get_key(key.key_id) == key


def test_keys_are_random_and_each_authenticates_only_itself(maas: MaaS) -> None:
    agent = _agent(maas)
    first, second = (maas.keys.create_key(agent) for _ in range(2))
    assert first.key.key_id != second.key.key_id and first.secret != second.secret
    swapped = f"maas_{first.key.key_id}_{second.secret.split('_', 2)[2]}"
    with pytest.raises(InvalidApiKeyError):
        maas.keys.authenticate(swapped)
    assert maas.keys.authenticate(second.secret).key_id == second.key.key_id


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("missing", "no API key presented"),
        ("malformed", "malformed API key"),
        ("unknown", "unknown key id"),
        ("wrong", "wrong secret"),
        ("expired", "key expired"),
        ("revoked", "key revoked"),
        ("deactivated", "agent deactivated or unregistered"),
        ("unregistered", "agent deactivated or unregistered"),
    ],
)
def test_every_refusal_is_typed_generic_and_audited(maas: MaaS, clock: ManualClock, case: str, reason: str) -> None:
    agent = _agent(maas)
    issued = maas.keys.create_key(agent, expires_at=clock.now + 10)
    presented: str | None = issued.secret
    if case == "missing":
        presented = None
    elif case == "malformed":
        presented = "Bearer " + "x" * 5000
    elif case == "unknown":
        presented = f"maas_{'0' * 32}_{issued.secret.split('_', 2)[2]}"
    elif case == "wrong":
        presented = issued.secret[:-4] + ("AAAA" if not issued.secret.endswith("AAAA") else "BBBB")
    elif case == "expired":
        clock.advance(10)
    elif case == "revoked":
        assert maas.keys.revoke_key(issued.key.key_id)
    elif case == "deactivated":
        assert maas.agents.deactivate_agent(agent)
    elif case == "unregistered":
        assert maas.agents.unregister_agent(agent)
    with pytest.raises(InvalidApiKeyError) as raised:
        maas.keys.authenticate(presented, via="http")
    assert isinstance(raised.value, PermissionDeniedError) and raised.value.code == "permission_denied"
    assert raised.value.message == (MISSING_MESSAGE if case == "missing" else INVALID_MESSAGE)
    (entry,) = _denials(maas)
    assert (entry.outcome, entry.reason, entry.details["via"]) == ("denied", reason, "http")
    assert entry.target == (
        issued.key.key_id
        if case not in ("missing", "malformed", "unknown")
        else ("0" * 32 if case == "unknown" else None)
    )
    assert maas.audit.verify_chain().ok


def test_revocation_and_reactivation(maas: MaaS) -> None:
    agent = _agent(maas)
    issued = maas.keys.create_key(agent)
    maas.agents.deactivate_agent(agent)
    with pytest.raises(InvalidApiKeyError):
        maas.keys.authenticate(issued.secret)
    maas.agents.activate_agent(agent)
    assert maas.keys.authenticate(issued.secret).agent_id == agent
    assert maas.keys.revoke_key(issued.key.key_id) is True
    assert maas.keys.revoke_key(issued.key.key_id) is False
    assert maas.keys.revoke_key("f" * 32) is False
    assert maas.keys.list_keys()[0].revoked_at is not None
    actions = [e.action for e in maas.audit.query(event_type="AGENT_AUTH")]
    assert actions.count("api_key_create") == 1 and actions.count("api_key_revoke") == 1


def test_creating_a_key_fails_clearly_and_stores_nothing(maas: MaaS, clock: ManualClock) -> None:
    agent = _agent(maas)
    with pytest.raises(NotFoundError, match="no agent with id"):
        maas.keys.create_key("6f9619ff-8b86-d011-b42d-00c04fc964ff")
    with pytest.raises(InvalidInputError):
        maas.keys.create_key("not-an-id")
    with pytest.raises(InvalidInputError, match="outside the configured hierarchy"):
        maas.keys.create_key(agent, scope_floor={"planet": "earth"})
    with pytest.raises(InvalidInputError, match="scope_floor"):
        maas.keys.create_key(agent, scope_floor={})  # an empty floor would mean "everything"
    with pytest.raises(InvalidInputError, match="past"):
        maas.keys.create_key(agent, expires_at=clock.now - 1)
    with pytest.raises(InvalidInputError):
        maas.keys.create_key(agent, read_only="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        maas.keys.revoke_key("../etc/passwd")
    maas.agents.deactivate_agent(agent)
    with pytest.raises(ConflictError, match="deactivated"):
        maas.keys.create_key(agent)
    assert maas.keys.list_keys() == []


def test_the_secret_is_stored_only_as_its_hash(tmp_path: Path) -> None:
    with MaaS.open(tmp_path / "home", sweep_interval=None) as maas:
        issued = maas.keys.create_key(_agent(maas), scope_floor={"project": "p1"})
    raw = (tmp_path / "home" / "maas.db").read_bytes()
    secret = issued.secret.split("_", 2)[2]
    assert secret.encode() not in raw
    with sqlite3.connect(tmp_path / "home" / "maas.db") as conn:
        (stored,) = conn.execute("SELECT secret_hash FROM api_keys").fetchone()
    assert stored == hash_secret(secret)
    with MaaS.open(tmp_path / "home", sweep_interval=None) as again:  # survives a restart
        assert again.keys.authenticate(issued.secret).scope_floor == {"project": "p1"}


def test_parsers() -> None:
    assert parse_expiry("30d", 100.0) == 100.0 + 30 * 86400
    assert parse_expiry("90s", 0.0) == 90.0 and parse_expiry("2w", 0.0) == 14 * 86400
    assert parse_expiry("2030-01-01T00:00:00", 0.0) == 1893456000.0
    assert parse_expiry(None, 0.0) is None
    with pytest.raises(InvalidInputError, match="duration"):
        parse_expiry("soon", 0.0)
    assert parse_scope_floor("org=acme, project=q3") == {"org": "acme", "project": "q3"}
    assert parse_scope_floor(None) is None
    with pytest.raises(InvalidInputError, match="key=value"):
        parse_scope_floor("org")


def test_cli_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(tmp_path / "home")
    with MaaS.open(home, sweep_interval=None) as maas:
        agent = _agent(maas)
    assert (
        main(
            [
                "--home",
                home,
                "keys",
                "create",
                "--agent",
                agent,
                "--scope-floor",
                "project=p1",
                "--read-only",
                "--expires",
                "1h",
                "--name",
                "reader",
            ]
        )
        == 0
    )
    secret = capsys.readouterr().out.splitlines()[0]
    assert secret.startswith("maas_")
    assert main(["--home", home, "--json", "keys", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(k["agent_id"], k["read_only"], k["scope_floor"], k["name"]) for k in listed] == [
        (agent, True, {"project": "p1"}, "reader")
    ]
    assert secret not in json.dumps(listed) and secret.split("_", 2)[2] not in json.dumps(listed)
    assert main(["--home", home, "keys", "list"]) == 0
    assert "active" in capsys.readouterr().out
    assert main(["--home", home, "keys", "revoke", listed[0]["key_id"]]) == 0
    assert main(["--home", home, "keys", "revoke", listed[0]["key_id"]]) == 1
    assert main(["--home", home, "keys", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["--home", home, "keys", "create", "--agent", "6f9619ff-8b86-d011-b42d-00c04fc964ff"]) == 2
    assert "[not_found]" in capsys.readouterr().err
