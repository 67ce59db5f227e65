"""Bad input, misuse and hostile data, on every backend.

The conventions under test (one per family of failure):

* malformed input (bad ids, wrong types, unknown enum strings, empty or oversized text and
  payloads, bad TTLs, a handoff to oneself) raises ``InvalidInputError`` whose message names
  the field;
* a well-formed id that names nothing raises ``NotFoundError`` on writes (an unknown *acting* agent
  is a denial instead: it has no rights), while the ``get_*``
  readers return ``None`` (and the few methods documented to return ``False`` do so);
* a permission denial returns the specification's ``None`` / ``False`` / ``[]`` and writes one
  ``PERMISSION_DENIED`` audit entry with a reason (``raise_on_denial`` raises instead);
* a state conflict raises ``ConflictError`` and leaves one failure audit entry;
* a capacity limit raises ``CapacityExceededError``;
* hostile text is either refused with a typed error or stored and read back unchanged, and no
  driver exception (``sqlite3.*``, ``UnicodeEncodeError``, ``OverflowError``...) ever escapes.

In every failing case nothing already stored changes: :func:`snapshot` reads every record
straight from the backend, and :func:`assert_unchanged` allows only new *failure* entries at
the end of the audit log.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from maas_langchain import (
    AgentRegistry,
    AgentType,
    AuditEventType,
    CapacityExceededError,
    CapacityLimits,
    ConflictError,
    HandoffContext,
    HandoffManager,
    HandoffStatus,
    InvalidInputError,
    MaaS,
    MaaSAuditLogger,
    MaaSError,
    NotFoundError,
    PermissionDeniedError,
    PermissionModel,
    PoolRegistry,
    SharedScope,
)
from maas_langchain.core.ports.filters import AudienceClause, AudienceFilter
from maas_langchain.core.ports.state import AuditQuery

UNKNOWN_ID = "7c1f1c7e-5a5a-4d4d-8e8e-000000000001"
"""Well-formed, never issued (ids are random v4 UUIDs)."""

NAN, INF = float("nan"), float("inf")
_OPAQUE = object()


# --------------------------------------------------------------------------------------
# A small world: four agents, a pool, one handoff in each interesting state
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class World:
    a: str  # CLAUDE_CODE, WRITE in pool, author of mem-1
    b: str  # GPT_AGENT, READ in pool, target of `pending`
    r: str  # CUSTOM_PIPELINE (read-only type), READ in pool
    h: str  # HUMAN (can delete), ADMIN in pool, target of `accepted`
    x: str  # GPT_AGENT of another owner, in no pool
    pool: str  # scope PROJECT, owner u1
    pending: str  # a -> b, PENDING, relevant_memories=["mem-1"]
    accepted: str  # a -> h, ACCEPTED
    done: str  # b -> a, COMPLETED


def build_world(maas: MaaS) -> World:
    agents, pools, handoffs = maas.agents, maas.pools, maas.handoffs
    a = agents.register_agent(AgentType.CLAUDE_CODE, "u1", name="alpha", project_id="proj")
    b = agents.register_agent(AgentType.GPT_AGENT, "u1", name="beta", project_id="proj")
    r = agents.register_agent(AgentType.CUSTOM_PIPELINE, "u1", project_id="proj")
    h = agents.register_agent(AgentType.HUMAN, "u1", project_id="proj")
    x = agents.register_agent(AgentType.GPT_AGENT, "u2")
    pool = pools.create_pool("auth-refactor", "u1", SharedScope.PROJECT)
    for agent, perm in ((a, "write"), (b, "read"), (r, "read"), (h, "admin")):
        assert pools.join_pool(pool, agent, perm)
    assert pools.share_memory(pool, "mem-1", a, SharedScope.PROJECT)
    pending = handoffs.initiate_handoff(a, b, HandoffContext("finish the form", relevant_memories=["mem-1"]))
    accepted = handoffs.initiate_handoff(a, h, HandoffContext("review the form"))
    done = handoffs.initiate_handoff(b, a, HandoffContext("write the API"))
    assert pending and accepted and done
    assert handoffs.accept_handoff(accepted, h)
    assert handoffs.accept_handoff(done, a)
    assert handoffs.complete_handoff(done, a, {"status": "success"})
    return World(a, b, r, h, x, pool, pending, accepted, done)


@pytest.fixture
def world(maas: MaaS) -> World:
    return build_world(maas)


# --------------------------------------------------------------------------------------
# Snapshots: every record, read straight from the backend
# --------------------------------------------------------------------------------------
_EVERY_SHARE = AudienceFilter(tuple(AudienceClause(s.level, None, None) for s in SharedScope))
_STATE_KEYS = ("agents", "pools", "members", "shares", "share_counts", "handoffs")


def snapshot(maas: MaaS) -> dict[str, Any]:
    """Every stored record, the audit log and the status counters."""
    with maas.backend.transaction(write=False) as tx:
        pools = tx.list_pools()
        snap = {
            "agents": tx.list_agents(),
            "pools": pools,
            "members": {p.pool_id: tx.list_members(p.pool_id) for p in pools},
            "shares": {p.pool_id: tx.query_shares(p.pool_id, _EVERY_SHARE, 1_000_000) for p in pools},
            "share_counts": {p.pool_id: tx.count_shares(p.pool_id) for p in pools},
            "handoffs": tx.list_handoffs(),
            "audit": tx.query_audit(AuditQuery(limit=1_000_000)),
        }
    snap["counts"] = maas.status()["counts"]
    return snap


def assert_unchanged(maas: MaaS, before: dict[str, Any], *, verify: bool = True) -> list[Any]:
    """Assert no record changed and only failure entries were appended; return those entries."""
    after = snapshot(maas)
    for key in _STATE_KEYS:
        assert after[key] == before[key], f"stored {key} changed"
    old, new = before["audit"], after["audit"]
    assert new[: len(old)] == old, "existing audit entries changed"
    added = new[len(old) :]
    assert all(e.outcome != "success" for e in added), f"a failed call logged a success: {added}"
    expected_counts = {**before["counts"], "audit_events": before["counts"]["audit_events"] + len(added)}
    assert after["counts"] == expected_counts
    if verify:
        report = maas.audit.verify_chain()
        assert report.ok, report
    return added


def expect_error(
    maas: MaaS, call: Callable[[], Any], exc_type: type[MaaSError], *, verify: bool = True
) -> tuple[MaaSError, list[Any]]:
    """Run ``call``; it must raise exactly ``exc_type`` and change nothing stored."""
    before = snapshot(maas)
    try:
        result = call()
    except Exception as exc:
        err = exc
    else:
        raise AssertionError(f"expected {exc_type.__name__}, the call returned {result!r:.300}")
    assert isinstance(err, MaaSError), f"a non-MaaS error escaped: {type(err).__module__}.{type(err).__name__}: {err}"
    assert type(err) is exc_type, f"expected {exc_type.__name__}, got {type(err).__name__}: {err}"
    assert err.code == exc_type.code
    assert err.to_dict()["code"] == exc_type.code
    added = assert_unchanged(maas, before, verify=verify)
    assert len(added) <= 1, added
    assert all(e.outcome == err.code for e in added), added
    return err, added


class Problems:
    """Collects failed cases so that one test reports every bad case of its table at once.

    The tables are looped inside a few tests rather than parametrised one case per test:
    setting up a store costs ~0.3 s on PostgreSQL, and the file must stay well under a minute.
    """

    def __init__(self) -> None:
        self.items: list[str] = []
        self.last_failed = False

    @contextmanager
    def case(self, label: str) -> Iterator[None]:
        self.last_failed = True
        try:
            yield
        except (Exception, pytest.fail.Exception) as exc:
            kind = "" if isinstance(exc, AssertionError) else f"{type(exc).__module__}.{type(exc).__name__}: "
            first = (str(exc).strip().splitlines() or [""])[0]
            self.items.append(f"{label}: {kind}{first[:300]}")
        else:
            self.last_failed = False

    def check(self, maas: MaaS | None = None) -> None:
        """Fail with every collected case; with ``maas``, the audit chain must also still verify."""
        if maas is not None:
            report = maas.audit.verify_chain()
            if not report.ok:
                self.items.append(f"afterwards the audit chain no longer verifies: {report}")
        assert not self.items, f"{len(self.items)} case(s) failed:\n  " + "\n  ".join(self.items)


# --------------------------------------------------------------------------------------
# Every public method, with arguments that are valid for the world above
# --------------------------------------------------------------------------------------
Defaults = Callable[[World], dict[str, Any]]

CALLS: dict[str, Defaults] = {
    # AgentRegistry
    "agents.register_agent": lambda w: {
        "agent_type": "claude_code",
        "owner_id": "u9",
        "name": "n",
        "project_id": "proj",
        "team_id": "team",
        "capabilities": ["memory_read", "kb_search"],
        "metadata": {"k": 1},
        "agent_id": None,
    },
    "agents.get_agent": lambda w: {"agent_id": w.a},
    "agents.require_agent": lambda w: {"agent_id": w.a},
    "agents.require_actor": lambda w: {"agent_id": w.a},
    "agents.get_agents_for_user": lambda w: {"user_id": "u1"},
    "agents.list_agents": lambda w: {},
    "agents.has_capability": lambda w: {"agent_id": w.a, "capability": "memory_read"},
    "agents.deactivate_agent": lambda w: {"agent_id": w.r},
    "agents.activate_agent": lambda w: {"agent_id": w.r},
    "agents.unregister_agent": lambda w: {"agent_id": w.r},
    # PoolRegistry
    "pools.create_pool": lambda w: {
        "name": "p2",
        "owner_id": "u1",
        "scope": "team",
        "metadata": {"k": 1},
        "admin_agent_id": w.h,
    },
    "pools.get_pool": lambda w: {"pool_id": w.pool},
    "pools.list_pools": lambda w: {"owner_id": "u1", "agent_id": w.a},
    "pools.archive_pool": lambda w: {"pool_id": w.pool, "actor_id": w.h},
    "pools.delete_pool": lambda w: {"pool_id": w.pool, "actor_id": w.h},
    "pools.join_pool": lambda w: {"pool_id": w.pool, "agent_id": w.r, "permission": "write", "actor_id": w.h},
    "pools.leave_pool": lambda w: {"pool_id": w.pool, "agent_id": w.b, "actor_id": w.h},
    "pools.get_members": lambda w: {"pool_id": w.pool},
    "pools.get_permission": lambda w: {"pool_id": w.pool, "agent_id": w.a},
    "pools.share_memory": lambda w: {
        "pool_id": w.pool,
        "memory_id": "mem-2",
        "agent_id": w.a,
        "scope": "project",
        "metadata": {"k": 1},
    },
    "pools.unshare_memory": lambda w: {"pool_id": w.pool, "memory_id": "mem-1", "agent_id": w.h},
    "pools.query_shared": lambda w: {
        "pool_id": w.pool,
        "agent_id": w.b,
        "max_scope": "project",
        "limit": 10,
        "offset": 0,
    },
    # HandoffManager
    "handoffs.initiate_handoff": lambda w: {
        "source_agent_id": w.a,
        "target_agent_id": w.b,
        "context": HandoffContext("next task", current_state={"done": ["api"]}, relevant_files=["a.py"]),
        "ttl_seconds": 60,
    },
    "handoffs.accept_handoff": lambda w: {"handoff_id": w.pending, "agent_id": w.b},
    "handoffs.reject_handoff": lambda w: {"handoff_id": w.pending, "agent_id": w.b, "reason": "busy"},
    "handoffs.complete_handoff": lambda w: {"handoff_id": w.accepted, "agent_id": w.h, "result": {"ok": True}},
    "handoffs.cancel_handoff": lambda w: {"handoff_id": w.pending, "agent_id": w.a, "reason": "changed plan"},
    "handoffs.get_handoff": lambda w: {"handoff_id": w.pending, "agent_id": w.a},
    "handoffs.get_pending_handoffs": lambda w: {"agent_id": w.b},
    "handoffs.list_handoffs": lambda w: {"agent_id": w.a, "statuses": ["pending", "accepted"]},
    "handoffs.get_handoff_memories": lambda w: {"handoff_id": w.pending, "agent_id": w.b},
    "handoffs.expire_handoffs": lambda w: {},
    "handoffs.cleanup_terminal_handoffs": lambda w: {"older_than_seconds": 0},
    # MaaSAuditLogger
    "audit.log": lambda w: {
        "event_type": "AGENT_AUTH",
        "action": "session_start",
        "actor": w.a,
        "target": w.a,
        "outcome": "success",
        "reason": "note",
        "details": {"k": 1},
    },
    "audit.query": lambda w: {"event_type": "HANDOFF", "actor": w.a, "since": 0.0, "until": 2e9, "limit": 10},
    "audit.get_events": lambda w: {"event_type": "HANDOFF", "actor": w.a, "limit": 10},
    "audit.count": lambda w: {},
    "audit.verify_chain": lambda w: {},
    "audit.anchor": lambda w: {},  # the instance's anchor file (none in memory)
    "audit.seal": lambda w: {},  # already sealed at open: returns the keyed boundary
}

_SERVICES = {"agents": AgentRegistry, "pools": PoolRegistry, "handoffs": HandoffManager, "audit": MaaSAuditLogger}


@dataclass(frozen=True)
class Lazy:
    """A bad value that depends on the limits in force or on the world's ids."""

    make: Callable[[CapacityLimits, World], Any]


def bind(maas: MaaS, w: World, call: str, overrides: dict[str, Any]) -> Callable[[], Any]:
    """Return a thunk calling ``call`` with its valid defaults and ``overrides``."""
    service, method = call.split(".")
    kwargs = CALLS[call](w)
    for name, value in overrides.items():
        assert name in kwargs or not kwargs, f"{call} has no parameter {name} in CALLS"
        kwargs[name] = value.make(maas.limits, w) if isinstance(value, Lazy) else value
    fn = getattr(getattr(maas, service), method)
    return lambda: fn(**kwargs)


def test_calls_cover_every_public_method() -> None:
    public = {
        f"{service}.{name}"
        for service, cls in _SERVICES.items()
        for name, member in vars(cls).items()
        if not name.startswith("_") and name != "get" and (inspect.isfunction(member))
    }
    assert public <= set(CALLS), f"methods without bad-input coverage: {sorted(public - set(CALLS))}"


def test_the_valid_defaults_are_valid(maas: MaaS) -> None:
    """Guards the tables below: each case fails only because of the value it overrides."""
    problems = Problems()
    for call in sorted(CALLS):
        with problems.case(call):
            result = bind(maas, build_world(maas), call, {})()
            assert result is not None or call == "audit.log", result
            assert result is not False
    problems.check(maas)


# --------------------------------------------------------------------------------------
# Malformed input: InvalidInputError naming the field, nothing stored changes
# --------------------------------------------------------------------------------------
BAD_IDS: list[tuple[str, Any]] = [
    ("empty", ""),
    ("not-a-uuid", "not-a-uuid"),
    ("int", 123),
    ("none", None),
    ("10kB", "f" * 10_000),
    ("float", 1.5),
    ("bytes", UNKNOWN_ID.encode()),
    ("list", [UNKNOWN_ID]),
    ("uuid-plus-junk", UNKNOWN_ID + "0"),
    ("sql", "' OR '1'='1"),
]

# (call, parameter, the parameter may be None)
ID_PARAMS: list[tuple[str, str, bool]] = [
    ("agents.register_agent", "agent_id", True),
    ("agents.get_agent", "agent_id", False),
    ("agents.require_agent", "agent_id", False),
    ("agents.require_actor", "agent_id", False),
    ("agents.has_capability", "agent_id", False),
    ("agents.deactivate_agent", "agent_id", False),
    ("agents.activate_agent", "agent_id", False),
    ("agents.unregister_agent", "agent_id", False),
    ("pools.create_pool", "admin_agent_id", True),
    ("pools.get_pool", "pool_id", False),
    ("pools.list_pools", "agent_id", True),
    ("pools.archive_pool", "pool_id", False),
    ("pools.archive_pool", "actor_id", True),
    ("pools.delete_pool", "pool_id", False),
    ("pools.delete_pool", "actor_id", True),
    ("pools.join_pool", "pool_id", False),
    ("pools.join_pool", "agent_id", False),
    ("pools.join_pool", "actor_id", True),
    ("pools.leave_pool", "pool_id", False),
    ("pools.leave_pool", "agent_id", False),
    ("pools.leave_pool", "actor_id", True),
    ("pools.get_members", "pool_id", False),
    ("pools.get_permission", "pool_id", False),
    ("pools.get_permission", "agent_id", False),
    ("pools.share_memory", "pool_id", False),
    ("pools.share_memory", "agent_id", False),
    ("pools.unshare_memory", "pool_id", False),
    ("pools.unshare_memory", "agent_id", False),
    ("pools.query_shared", "pool_id", False),
    ("pools.query_shared", "agent_id", False),
    ("handoffs.initiate_handoff", "source_agent_id", False),
    ("handoffs.initiate_handoff", "target_agent_id", False),
    *(
        (f"handoffs.{verb}_handoff", param, False)
        for verb in ("accept", "reject", "complete", "cancel")
        for param in ("handoff_id", "agent_id")
    ),
    ("handoffs.get_handoff", "handoff_id", False),
    ("handoffs.get_handoff", "agent_id", True),
    ("handoffs.get_pending_handoffs", "agent_id", False),
    ("handoffs.list_handoffs", "agent_id", True),
    ("handoffs.get_handoff_memories", "handoff_id", False),
    ("handoffs.get_handoff_memories", "agent_id", False),
]

# (call, parameter, may be None, longest accepted)
TEXT_PARAMS: list[tuple[str, str, bool, int | None]] = [
    ("agents.register_agent", "owner_id", False, None),
    ("agents.register_agent", "name", True, None),
    ("agents.register_agent", "project_id", True, None),
    ("agents.register_agent", "team_id", True, None),
    ("agents.get_agents_for_user", "user_id", False, None),
    ("pools.create_pool", "name", False, None),
    ("pools.create_pool", "owner_id", False, None),
    ("pools.share_memory", "memory_id", False, 512),
    ("pools.unshare_memory", "memory_id", False, 512),
    ("handoffs.reject_handoff", "reason", True, 2_000),
    ("handoffs.cancel_handoff", "reason", True, 2_000),
    ("audit.log", "action", False, 128),
    ("audit.log", "outcome", False, 64),
]


def _too_long(limit: int | None) -> Lazy:
    if limit is None:
        return Lazy(lambda lim, w: "n" * (lim.max_name_chars + 1))
    return Lazy(lambda lim, w: "n" * (limit + 1))


def _bad_texts(limit: int | None) -> list[tuple[str, Any]]:
    return [
        ("empty", ""),
        ("blank", "   "),
        ("whitespace", "\t\n \r"),
        ("int", 123),
        ("none", None),
        ("list", ["x"]),
        ("bytes", b"x"),
        ("over-limit", _too_long(limit)),
        ("null-byte", "a\x00b"),
        ("escape-char", "a\x1b[31mb"),
        ("lone-surrogate", "a\ud800b"),
    ]


# (call, parameter, bytes limit)
JSON_PARAMS: list[tuple[str, str, Callable[[CapacityLimits], int]]] = [
    ("agents.register_agent", "metadata", lambda lim: lim.max_metadata_bytes),
    ("pools.create_pool", "metadata", lambda lim: lim.max_metadata_bytes),
    ("pools.share_memory", "metadata", lambda lim: lim.max_metadata_bytes),
    ("handoffs.complete_handoff", "result", lambda lim: lim.max_context_bytes),
    ("audit.log", "details", lambda lim: lim.max_metadata_bytes),
]


def _bad_json(limit: Callable[[CapacityLimits], int]) -> list[tuple[str, Any]]:
    return [
        ("list", [1, 2]),
        ("str", "text"),
        ("int", 42),
        ("set", {1, 2}),
        ("object", _OPAQUE),
        ("set-value", {"k": {1}}),
        ("object-value", {"k": _OPAQUE}),
        ("bytes-value", {"k": b"raw"}),
        ("nan-value", {"k": NAN}),
        ("inf-value", {"k": [1.0, -INF]}),
        ("tuple-key", {(1, 2): "v"}),
        ("over-limit", Lazy(lambda lim, w: {"k": "x" * limit(lim)})),
    ]


# (call, parameter, its enum, bad values by label, may be None)
ENUM_PARAMS: list[tuple[str, str, str, str, bool]] = [
    ("agents.register_agent", "agent_type", "AgentType", "robot", False),
    ("agents.has_capability", "capability", "AgentCapability", "telepathy", False),
    ("pools.create_pool", "scope", "SharedScope", "cosmic", False),
    ("pools.join_pool", "permission", "PermissionModel", "superuser", False),
    ("pools.share_memory", "scope", "SharedScope", "cosmic", False),
    ("pools.query_shared", "max_scope", "SharedScope", "cosmic", False),
    ("audit.log", "event_type", "AuditEventType", "cosmic", False),
    ("audit.query", "event_type", "AuditEventType", "cosmic", True),
]

CONTEXTS: list[tuple[str, Any, str]] = [
    ("empty-task", HandoffContext(""), "task_description"),
    ("blank-task", HandoffContext("  \n "), "task_description"),
    ("task-not-str", HandoffContext(42), "task_description"),  # type: ignore[arg-type]
    ("task-null-byte", HandoffContext("do\x00it"), "task_description"),
    ("state-list", HandoffContext("t", current_state=[1]), "current_state"),  # type: ignore[arg-type]
    ("state-str", HandoffContext("t", current_state="half done"), "current_state"),  # type: ignore[arg-type]
    ("state-nan", HandoffContext("t", current_state={"progress": NAN}), "current_state"),
    ("state-set", HandoffContext("t", current_state={"files": {"a.py"}}), "current_state"),
    ("notes-list", HandoffContext("t", notes=["n"]), "notes"),  # type: ignore[arg-type]
    ("memories-str", HandoffContext("t", relevant_memories="mem-1"), "relevant_memories"),  # type: ignore[arg-type]
    ("memories-empty-item", HandoffContext("t", relevant_memories=[""]), "relevant_memories"),
    ("memories-int-item", HandoffContext("t", relevant_memories=[5]), "relevant_memories"),  # type: ignore[list-item]
    ("files-none-item", HandoffContext("t", relevant_files=[None]), "relevant_files"),  # type: ignore[list-item]
    (
        "state-oversized",
        Lazy(lambda lim, w: HandoffContext("t", current_state={"k": "x" * lim.max_context_bytes})),
        "current_state",
    ),
    ("none", None, "context"),
    ("str", "do the thing", "context"),
    ("int", 42, "context"),
    ("list", ["do the thing"], "context"),
    ("dict-without-task", {"current_state": {}}, "task_description"),
    ("dict-empty-task", {"task_description": ""}, "task_description"),
    ("dict-none-task", {"task_description": None}, "task_description"),
    ("dict-state-list", {"task_description": "t", "current_state": [1]}, "current_state"),
    ("dict-memories-int", {"task_description": "t", "relevant_memories": 5}, "relevant_memories"),
    ("dict-memories-str", {"task_description": "t", "relevant_memories": "mem-1"}, "relevant_memories"),
    ("dict-files-dict", {"task_description": "t", "relevant_files": {"a.py": 1}}, "relevant_files"),
]

TTLS: list[tuple[str, Any]] = [
    ("zero", 0),
    ("zero-float", 0.0),
    ("negative", -1),
    ("nan", NAN),
    ("inf", INF),
    ("minus-inf", -INF),
    ("str", "60"),
    ("true", True),
    ("false", False),
    ("list", [60]),
    ("over-max", Lazy(lambda lim, w: lim.max_handoff_ttl_seconds + 1)),
    ("huge-int", 10**400),
]

PAGING: list[tuple[str, str, str, Any]] = [
    *(
        ("pools.query_shared", "limit", label, value)
        for label, value in [
            ("zero", 0),
            ("negative", -1),
            ("true", True),
            ("str", "10"),
            ("float", 1.5),
            ("none", None),
            ("over-max", Lazy(lambda lim, w: lim.max_query_limit + 1)),
        ]
    ),
    *(
        ("pools.query_shared", "offset", label, value)
        for label, value in [("negative", -1), ("true", True), ("str", "0"), ("float", 1.5), ("none", None)]
    ),
    *(
        ("audit.query", "limit", label, value)
        for label, value in [
            ("zero", 0),
            ("negative", -5),
            ("true", True),
            ("str", "5"),
            ("float", 2.5),
            ("none", None),
        ]
    ),
    *(
        ("audit.query", param, label, value)
        for param in ("since", "until")
        for label, value in [("str", "yesterday"), ("list", [1.0]), ("true", True)]
    ),
    *(
        ("handoffs.cleanup_terminal_handoffs", "older_than_seconds", label, value)
        for label, value in [
            ("negative", -1),
            ("str", "5"),
            ("true", True),
            ("none", None),
            ("nan", NAN),
            ("list", [1]),
        ]
    ),
]


# (call, parameter, bad values by label): where anchors are read from / written to
AUDIT_FILES: list[tuple[str, str, list[tuple[str, Any]]]] = [
    ("audit.anchor", "file", [("empty", ""), ("int", 7), ("bytes", b"x.anchors"), ("null-byte", "a\x00b")]),
    ("audit.anchor", "file", [("lone-surrogate", "a\ud800b"), ("list", ["x.anchors"])]),
    ("audit.verify_chain", "anchors", [("empty", ""), ("int", 7), ("bytes", b"{}"), ("null-byte", "a\x00b")]),
    ("audit.verify_chain", "anchors", [("int-item", [7]), ("dict", {"seq": 1}), ("bytes-item", [b"{}"])]),
]


def _invalid_input_cases() -> Iterator[tuple[str, str, dict[str, Any], tuple[str, ...]]]:
    for call, param, values in AUDIT_FILES:
        for label, value in values:
            yield (f"{call}:{param}={label}", call, {param: value}, (param,))
    for call, param, optional in ID_PARAMS:
        for label, value in BAD_IDS:
            if not (optional and value is None):
                yield (f"{call}:{param}={label}", call, {param: value}, (param,))
    for call, param, optional, limit in TEXT_PARAMS:
        for label, value in _bad_texts(limit):
            if not (optional and value is None):
                yield (f"{call}:{param}={label}", call, {param: value}, (param,))
    for call, param, limit_of in JSON_PARAMS:
        for label, value in _bad_json(limit_of):
            yield (f"{call}:{param}={label}", call, {param: value}, (param,))
    for call, param, enum, word, optional in ENUM_PARAMS:
        values = [(word, word), ("empty", ""), ("int", 2), ("list", [word])] + ([] if optional else [("none", None)])
        for label, value in values:
            yield (f"{call}:{param}={label}", call, {param: value}, (enum,))
    for label, value in [("unknown", ["memory_read", "telepathy"]), ("int-item", [3])]:
        yield (f"caps={label}", "agents.register_agent", {"capabilities": value}, ("AgentCapability",))
    for label, value in [("str", "memory_read"), ("int", 7)]:
        yield (f"caps={label}", "agents.register_agent", {"capabilities": value}, ("capabilities",))
    for label, value in [("unknown", ["cosmic"]), ("str", "pending"), ("int", 5)]:
        yield (f"statuses={label}", "handoffs.list_handoffs", {"statuses": value}, ("status",))
    for label, value, field in CONTEXTS:
        yield (f"context={label}", "handoffs.initiate_handoff", {"context": value}, (field,))
    for label, value in TTLS:
        yield (f"ttl={label}", "handoffs.initiate_handoff", {"ttl_seconds": value}, ("ttl_seconds",))
    for call, param, label, value in PAGING:
        yield (f"{call}:{param}={label}", call, {param: value}, (param,))
    for label, make in [
        ("same", lambda lim, w: w.a),
        ("upper-case", lambda lim, w: w.a.upper()),
        ("braces", lambda lim, w: "{" + w.a + "}"),
        ("urn", lambda lim, w: "urn:uuid:" + w.a),
        ("no-hyphens", lambda lim, w: w.a.replace("-", "")),
    ]:
        yield (f"to-oneself={label}", "handoffs.initiate_handoff", {"target_agent_id": Lazy(make)}, ("itself",))
    yield ("share-wider-than-pool", "pools.share_memory", {"scope": "global"}, ("scope",))


INVALID_CASES: dict[str, list[tuple[str, str, dict[str, Any], tuple[str, ...]]]] = {}
for _case in _invalid_input_cases():
    INVALID_CASES.setdefault(_case[1].split(".")[0], []).append(_case)


@pytest.mark.parametrize("service", sorted(_SERVICES))
def test_malformed_input_is_rejected_and_changes_nothing(maas: MaaS, service: str) -> None:
    """Every case: InvalidInputError (code invalid_input) naming the field; no record changes."""
    w = build_world(maas)
    problems = Problems()
    for label, call, overrides, fields in INVALID_CASES[service]:
        with problems.case(label):
            err, _ = expect_error(maas, bind(maas, w, call, overrides), InvalidInputError, verify=False)
            for field in fields:
                assert field.lower() in err.message.lower(), f"the message does not name {field}: {err.message!r}"
        if problems.last_failed:
            w = build_world(maas)  # the failed case may have changed the world
    problems.check(maas)


def test_a_malformed_capability_is_rejected_even_for_an_unknown_agent(maas: MaaS) -> None:
    """Validation must not depend on whether the id happens to exist."""
    expect_error(maas, lambda: maas.agents.has_capability(UNKNOWN_ID, "telepathy"), InvalidInputError)


def test_other_spellings_of_an_id_name_the_same_record(maas: MaaS, world: World) -> None:
    for form in (str.upper, lambda i: "{" + i + "}", lambda i: "urn:uuid:" + i, lambda i: i.replace("-", "")):
        agent = maas.agents.get_agent(form(world.a))
        assert agent is not None and agent.agent_id == world.a
        pool = maas.pools.get_pool(form(world.pool))
        assert pool is not None and pool.pool_id == world.pool
        assert maas.pools.get_permission(form(world.pool), form(world.b)) is PermissionModel.READ
        handoff = maas.handoffs.get_handoff(form(world.pending), form(world.b))
        assert handoff is not None and handoff.handoff_id == world.pending


# --------------------------------------------------------------------------------------
# Well-formed ids that name nothing
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Returns:
    value: Any


UNKNOWN_CASES: list[tuple[str, str, Any]] = [
    ("agents.get_agent", "agent_id", Returns(None)),
    ("agents.require_agent", "agent_id", NotFoundError),
    ("agents.has_capability", "agent_id", Returns(False)),
    # documented: "Returns False if unknown"
    ("agents.deactivate_agent", "agent_id", Returns(False)),
    ("agents.activate_agent", "agent_id", Returns(False)),
    ("agents.unregister_agent", "agent_id", Returns(False)),
    ("pools.create_pool", "admin_agent_id", NotFoundError),
    ("pools.get_pool", "pool_id", Returns(None)),
    ("pools.list_pools", "agent_id", Returns([])),
    ("pools.archive_pool", "pool_id", NotFoundError),
    ("pools.archive_pool", "actor_id", Returns(False)),  # an unknown actor is denied
    ("pools.delete_pool", "pool_id", NotFoundError),
    ("pools.delete_pool", "actor_id", Returns(False)),
    ("pools.join_pool", "pool_id", NotFoundError),
    ("pools.join_pool", "agent_id", NotFoundError),
    ("pools.join_pool", "actor_id", Returns(False)),
    ("pools.leave_pool", "pool_id", NotFoundError),
    ("pools.leave_pool", "agent_id", Returns(False)),  # documented: False when not a member
    ("pools.leave_pool", "actor_id", Returns(False)),
    ("pools.get_members", "pool_id", Returns([])),
    ("pools.get_permission", "pool_id", Returns(None)),
    ("pools.get_permission", "agent_id", Returns(None)),
    ("pools.share_memory", "pool_id", NotFoundError),
    ("pools.share_memory", "agent_id", Returns(False)),
    ("pools.unshare_memory", "pool_id", NotFoundError),
    ("pools.unshare_memory", "agent_id", Returns(False)),
    ("pools.query_shared", "pool_id", NotFoundError),
    ("pools.query_shared", "agent_id", Returns([])),
    ("handoffs.initiate_handoff", "source_agent_id", Returns(None)),
    ("handoffs.initiate_handoff", "target_agent_id", NotFoundError),
    *((f"handoffs.{verb}_handoff", "handoff_id", NotFoundError) for verb in ("accept", "reject", "complete", "cancel")),
    *((f"handoffs.{verb}_handoff", "agent_id", Returns(False)) for verb in ("accept", "reject", "complete", "cancel")),
    ("handoffs.get_handoff", "handoff_id", Returns(None)),
    ("handoffs.get_handoff", "agent_id", Returns(None)),  # not a party: a denial
    ("handoffs.get_pending_handoffs", "agent_id", Returns([])),
    ("handoffs.list_handoffs", "agent_id", Returns([])),
    ("handoffs.get_handoff_memories", "handoff_id", NotFoundError),
    ("handoffs.get_handoff_memories", "agent_id", Returns([])),  # not a party: a denial
]


def test_unknown_but_well_formed_ids(maas: MaaS, world: World) -> None:
    problems = Problems()
    for call, param, expected in UNKNOWN_CASES:
        with problems.case(f"{call}:{param}"):
            thunk = bind(maas, world, call, {param: UNKNOWN_ID})
            if isinstance(expected, Returns):
                before = snapshot(maas)
                assert thunk() == expected.value
                added = assert_unchanged(maas, before, verify=False)
                # a refusal answered with None is audited: a denial, or (an agent asking for an
                # unknown handoff) a not_found refusal
                assert all(
                    e.event_type is AuditEventType.PERMISSION_DENIED or e.outcome == "not_found" for e in added
                ), added
            else:
                err, _ = expect_error(maas, thunk, expected, verify=False)
                assert UNKNOWN_ID in err.message, err.message
    problems.check(maas)


# --------------------------------------------------------------------------------------
# Permission denials: the specification's None / False / [], audited with a reason
# --------------------------------------------------------------------------------------
def _ctx() -> HandoffContext:
    return HandoffContext("take over")


# (label, agent to deactivate first or None, call, value the call returns on a denial)
DENIALS: list[tuple[str, str | None, Callable[[MaaS, World], Any], Any]] = [
    ("accept-by-non-target", None, lambda m, w: m.handoffs.accept_handoff(w.pending, w.h), False),
    ("accept-by-source", None, lambda m, w: m.handoffs.accept_handoff(w.pending, w.a), False),
    ("reject-by-source", None, lambda m, w: m.handoffs.reject_handoff(w.pending, w.a), False),
    ("complete-by-source", None, lambda m, w: m.handoffs.complete_handoff(w.accepted, w.a, {}), False),
    ("cancel-by-target", None, lambda m, w: m.handoffs.cancel_handoff(w.pending, w.b), False),
    ("cancel-by-stranger", None, lambda m, w: m.handoffs.cancel_handoff(w.pending, w.x), False),
    ("get-handoff-by-non-party", None, lambda m, w: m.handoffs.get_handoff(w.pending, w.x), None),
    ("handoff-memories-by-non-party", None, lambda m, w: m.handoffs.get_handoff_memories(w.pending, w.x), []),
    ("handoff-memories-after-completion", None, lambda m, w: m.handoffs.get_handoff_memories(w.done, w.a), []),
    ("initiate-by-read-only-type", None, lambda m, w: m.handoffs.initiate_handoff(w.r, w.a, _ctx()), None),
    ("initiate-to-read-only-type", None, lambda m, w: m.handoffs.initiate_handoff(w.a, w.r, _ctx()), None),
    ("pending-of-read-only-type", None, lambda m, w: m.handoffs.get_pending_handoffs(w.r), []),
    ("share-by-read-only-type", None, lambda m, w: m.pools.share_memory(w.pool, "m9", w.r), False),
    ("share-by-read-member", None, lambda m, w: m.pools.share_memory(w.pool, "m9", w.b), False),
    ("share-by-non-member", None, lambda m, w: m.pools.share_memory(w.pool, "m9", w.x), False),
    ("query-by-non-member", None, lambda m, w: m.pools.query_shared(w.pool, w.x), []),
    ("unshare-without-delete-capability", None, lambda m, w: m.pools.unshare_memory(w.pool, "mem-1", w.a), False),
    ("archive-by-non-admin", None, lambda m, w: m.pools.archive_pool(w.pool, actor_id=w.a), False),
    ("delete-by-non-admin", None, lambda m, w: m.pools.delete_pool(w.pool, actor_id=w.b), False),
    ("join-another-without-admin", None, lambda m, w: m.pools.join_pool(w.pool, w.x, actor_id=w.a), False),
    ("self-escalate-to-admin", None, lambda m, w: m.pools.join_pool(w.pool, w.a, "admin", actor_id=w.a), False),
    ("remove-another-without-admin", None, lambda m, w: m.pools.leave_pool(w.pool, w.b, actor_id=w.a), False),
    ("initiate-by-deactivated", "a", lambda m, w: m.handoffs.initiate_handoff(w.a, w.b, _ctx()), None),
    ("initiate-to-deactivated", "b", lambda m, w: m.handoffs.initiate_handoff(w.a, w.b, _ctx()), None),
    ("accept-by-deactivated", "b", lambda m, w: m.handoffs.accept_handoff(w.pending, w.b), False),
    ("reject-by-deactivated", "b", lambda m, w: m.handoffs.reject_handoff(w.pending, w.b), False),
    ("complete-by-deactivated", "h", lambda m, w: m.handoffs.complete_handoff(w.accepted, w.h, {}), False),
    ("cancel-by-deactivated", "a", lambda m, w: m.handoffs.cancel_handoff(w.pending, w.a), False),
    ("pending-of-deactivated", "b", lambda m, w: m.handoffs.get_pending_handoffs(w.b), []),
    ("handoff-memories-of-deactivated", "b", lambda m, w: m.handoffs.get_handoff_memories(w.pending, w.b), []),
    ("join-deactivated", "x", lambda m, w: m.pools.join_pool(w.pool, w.x), False),
    ("share-by-deactivated", "a", lambda m, w: m.pools.share_memory(w.pool, "m9", w.a), False),
    ("query-by-deactivated", "b", lambda m, w: m.pools.query_shared(w.pool, w.b), []),
    ("unshare-by-deactivated", "h", lambda m, w: m.pools.unshare_memory(w.pool, "mem-1", w.h), False),
    ("archive-by-deactivated-admin", "h", lambda m, w: m.pools.archive_pool(w.pool, actor_id=w.h), False),
    ("remove-another-by-deactivated-admin", "h", lambda m, w: m.pools.leave_pool(w.pool, w.b, actor_id=w.h), False),
]


@pytest.mark.parametrize("strict", [False, True], ids=["returns", "raises"])
def test_denials_return_the_spec_value_and_are_audited(
    open_maas: Callable[..., MaaS], clock: Any, strict: bool
) -> None:
    """Each denial (fresh world): None / False / [] or, with raise_on_denial, PermissionDeniedError;
    exactly one PERMISSION_DENIED entry with a reason; nothing else changes."""
    maas = open_maas(clock=clock, raise_on_denial=strict)
    problems = Problems()
    w = build_world(maas)
    for label, deactivate, call, denied in DENIALS:
        with problems.case(label):
            if deactivate is not None:
                assert maas.agents.deactivate_agent(getattr(w, deactivate))
            before = snapshot(maas)
            if strict:
                with pytest.raises(PermissionDeniedError) as info:
                    call(maas, w)
                assert info.value.code == "permission_denied"
            else:
                got = call(maas, w)
                assert got == denied and type(got) is type(denied), f"returned {got!r}, expected {denied!r}"
            added = assert_unchanged(maas, before, verify=False)
            assert len(added) == 1, added
            entry = added[0]
            assert entry.event_type is AuditEventType.PERMISSION_DENIED, entry
            assert entry.outcome == "denied", entry
            assert entry.reason and len(entry.reason) > 10, entry
            assert entry.details["code"] == "permission_denied", entry
        if problems.last_failed:
            w = build_world(maas)
        elif deactivate is not None:
            assert maas.agents.activate_agent(getattr(w, deactivate))
    problems.check(maas)


def test_accept_by_non_target_names_the_reason(maas: MaaS, world: World) -> None:
    assert maas.handoffs.accept_handoff(world.pending, world.h) is False
    entry = maas.audit.query(event_type="PERMISSION_DENIED", newest_first=True, limit=1)[0]
    assert entry.actor == world.h and entry.target == world.pending
    assert "only the target" in (entry.reason or "")
    handoff = maas.handoffs.get_handoff(world.pending)
    assert handoff is not None and handoff.status is HandoffStatus.PENDING and handoff.accepted_at is None


# --------------------------------------------------------------------------------------
# Handoff lifecycle misuse: ConflictError, one failure entry, nothing changed
# --------------------------------------------------------------------------------------
CONFLICTS: list[tuple[str, Callable[[MaaS, World], Any]]] = [
    ("complete-before-accept", lambda m, w: m.handoffs.complete_handoff(w.pending, w.b, {"ok": 1})),
    ("accept-twice", lambda m, w: m.handoffs.accept_handoff(w.accepted, w.h)),
    ("accept-completed", lambda m, w: m.handoffs.accept_handoff(w.done, w.a)),
    ("complete-twice", lambda m, w: m.handoffs.complete_handoff(w.done, w.a, {"again": True})),
    ("reject-after-completion", lambda m, w: m.handoffs.reject_handoff(w.done, w.a, "too late")),
    ("cancel-after-completion", lambda m, w: m.handoffs.cancel_handoff(w.done, w.b)),
    ("register-an-id-in-use", lambda m, w: m.agents.register_agent("gpt_agent", "u1", agent_id=w.a)),
    ("share-another-authors-memory-id", lambda m, w: m.pools.share_memory(w.pool, "mem-1", w.h)),
]


def test_state_conflicts_raise_and_leave_a_failure_entry(maas: MaaS) -> None:
    problems = Problems()
    for label, call in CONFLICTS:
        with problems.case(label):
            w = build_world(maas)
            _, added = expect_error(maas, lambda: call(maas, w), ConflictError, verify=False)  # noqa: B023
            assert len(added) == 1 and added[0].outcome == "conflict" and added[0].reason, added
    problems.check(maas)


def test_archived_pool_takes_no_members_or_shares(maas: MaaS, world: World) -> None:
    assert maas.pools.archive_pool(world.pool)
    expect_error(maas, lambda: maas.pools.join_pool(world.pool, world.x), ConflictError)
    expect_error(maas, lambda: maas.pools.share_memory(world.pool, "mem-9", world.a), ConflictError)
    assert [m.memory_id for m in maas.pools.query_shared(world.pool, world.b)] == ["mem-1"]


def _expect_expired(maas: MaaS, handoff_id: str, call: Callable[[], Any]) -> None:
    before = maas.handoffs.get_handoff(handoff_id)
    assert before is not None and before.status.is_open
    with pytest.raises(ConflictError) as info:
        call()
    assert info.value.details.get("status") == "expired"
    after = maas.handoffs.get_handoff(handoff_id)
    assert after is not None and after.status is HandoffStatus.EXPIRED
    assert after.result is None and after.accepted_at == before.accepted_at
    failures = maas.audit.query(event_type="HANDOFF", target=handoff_id, outcome="conflict")
    assert len(failures) == 1
    # A second attempt meets the stored EXPIRED state.
    with pytest.raises(ConflictError):
        call()
    assert maas.audit.verify_chain().ok


# (label, handoff attribute, call) -- each on a fresh world whose TTL has just run out
AFTER_EXPIRY: list[tuple[str, str, Callable[[MaaS, World], Any]]] = [
    ("accept", "pending", lambda m, w: m.handoffs.accept_handoff(w.pending, w.b)),
    ("complete-from-accepted", "accepted", lambda m, w: m.handoffs.complete_handoff(w.accepted, w.h, {"ok": 1})),
    ("reject-pending", "pending", lambda m, w: m.handoffs.reject_handoff(w.pending, w.b)),
    ("reject-accepted", "accepted", lambda m, w: m.handoffs.reject_handoff(w.accepted, w.h)),
    ("cancel-pending", "pending", lambda m, w: m.handoffs.cancel_handoff(w.pending, w.a)),
    ("cancel-accepted", "accepted", lambda m, w: m.handoffs.cancel_handoff(w.accepted, w.a)),
]


def test_misuse_after_expiry(maas: MaaS, clock: Any) -> None:
    """The TTL holds in every open state: ConflictError, and the handoff is then EXPIRED."""
    problems = Problems()
    for label, attr, call in AFTER_EXPIRY:
        with problems.case(label):
            w = build_world(maas)
            clock.advance(maas.limits.default_handoff_ttl_seconds + 1)
            _expect_expired(maas, getattr(w, attr), lambda: call(maas, w))  # noqa: B023
            assert maas.handoffs.get_pending_handoffs(w.b) == []
    problems.check(maas)


def test_the_ttl_boundary(maas: MaaS, world: World, clock: Any) -> None:
    early = maas.handoffs.initiate_handoff(world.a, world.x, _ctx(), ttl_seconds=60)
    assert early
    clock.advance(59.5)
    assert maas.handoffs.accept_handoff(early, world.x)
    late = maas.handoffs.initiate_handoff(world.a, world.x, _ctx(), ttl_seconds=60)
    assert late
    clock.advance(0.5)  # exactly the TTL of `early`: expired
    _expect_expired(maas, early, lambda: maas.handoffs.complete_handoff(early, world.x, {}))
    clock.advance(59.5)  # exactly the TTL of `late`
    _expect_expired(maas, late, lambda: maas.handoffs.accept_handoff(late, world.x))


def test_pending_capacity_per_target(maas: MaaS, world: World) -> None:
    limit = maas.limits.max_pending_handoffs_per_target
    assert limit == 100
    ids = [maas.handoffs.initiate_handoff(world.a, world.x, _ctx()) for _ in range(limit)]
    assert all(ids)
    err, _ = expect_error(maas, lambda: maas.handoffs.initiate_handoff(world.b, world.x, _ctx()), CapacityExceededError)
    assert "100" in err.message
    assert len(maas.handoffs.get_pending_handoffs(world.x)) == limit
    # Other targets are not affected, and accepting one frees a slot.
    assert maas.handoffs.initiate_handoff(world.a, world.h, _ctx())
    assert maas.handoffs.accept_handoff(ids[0], world.x)
    assert maas.handoffs.initiate_handoff(world.b, world.x, _ctx())


def test_expired_handoffs_do_not_hold_pending_capacity(open_maas: Callable[..., MaaS], clock: Any) -> None:
    """An expired handoff is not pending (get_pending_handoffs already hides it), so it must
    not keep a target at its limit until a sweep happens to run."""
    maas = open_maas(clock=clock, limits={"max_pending_handoffs_per_target": 3})
    w = build_world(maas)
    for _ in range(3):
        assert maas.handoffs.initiate_handoff(w.a, w.x, _ctx(), ttl_seconds=10)
    clock.advance(11)
    assert maas.handoffs.get_pending_handoffs(w.x) == []
    assert maas.handoffs.initiate_handoff(w.a, w.x, _ctx(), ttl_seconds=10)


# The world holds 5 agents, 1 pool with 4 members and 1 share, and 3 handoffs.
TIGHT_LIMITS = {
    "max_agents": 6,
    "max_pools": 2,
    "max_members_per_pool": 4,
    "max_shared_memories_per_pool": 2,
    "max_handoffs": 4,
}
# (limit, call that fills it, call that overflows it)
OVERFLOWS: list[tuple[str, Callable[[MaaS, World], Any], Callable[[MaaS, World], Any]]] = [
    (
        "max_agents",
        lambda m, w: m.agents.register_agent("gpt_agent", "u1"),
        lambda m, w: m.agents.register_agent("gpt_agent", "u1"),
    ),
    ("max_pools", lambda m, w: m.pools.create_pool("second", "u1"), lambda m, w: m.pools.create_pool("third", "u1")),
    ("max_members_per_pool", lambda m, w: None, lambda m, w: m.pools.join_pool(w.pool, w.x)),
    (
        "max_shared_memories_per_pool",
        lambda m, w: m.pools.share_memory(w.pool, "mem-2", w.a),
        lambda m, w: m.pools.share_memory(w.pool, "mem-3", w.a),
    ),
    (
        "max_handoffs",
        lambda m, w: m.handoffs.initiate_handoff(w.a, w.x, _ctx()),
        lambda m, w: m.handoffs.initiate_handoff(w.b, w.x, _ctx()),
    ),
]


def test_capacity_limits_are_settings(open_maas: Callable[..., MaaS], clock: Any) -> None:
    maas = open_maas(clock=clock, limits=TIGHT_LIMITS)
    for name, value in TIGHT_LIMITS.items():
        assert getattr(maas.limits, name) == value
        assert maas.status()["limits"][name] == value
    w = build_world(maas)
    problems = Problems()
    for name, fill, overflow in OVERFLOWS:
        with problems.case(name):
            assert fill(maas, w) is not False
            err, added = expect_error(maas, lambda: overflow(maas, w), CapacityExceededError)  # noqa: B023
            assert err.code == "capacity_exceeded" and len(added) == 1, added
            assert str(TIGHT_LIMITS[name]) in err.message, err.message
    problems.check(maas)


def test_capacity_is_freed_by_the_recovery_methods(open_maas: Callable[..., MaaS], clock: Any) -> None:
    maas = open_maas(clock=clock, limits={"max_agents": 5, "max_handoffs": 3})
    w = build_world(maas)
    expect_error(maas, lambda: maas.agents.register_agent("gpt_agent", "u1"), CapacityExceededError)
    assert maas.agents.unregister_agent(w.x)
    assert maas.agents.register_agent("gpt_agent", "u1")
    expect_error(maas, lambda: maas.handoffs.initiate_handoff(w.a, w.b, _ctx()), CapacityExceededError)
    assert maas.handoffs.cleanup_terminal_handoffs() == 1
    assert maas.handoffs.initiate_handoff(w.a, w.b, _ctx())


UNREGISTERED: list[tuple[str, Callable[[MaaS, World], Any]]] = [
    ("initiate-to", lambda m, w: m.handoffs.initiate_handoff(w.a, w.x, _ctx())),
    ("join", lambda m, w: m.pools.join_pool(w.pool, w.x)),
    ("require", lambda m, w: m.agents.require_agent(w.x)),
    ("create-pool-admin", lambda m, w: m.pools.create_pool("p", "u2", admin_agent_id=w.x)),
]
"""An unregistered agent named as a *target* is not found."""

UNREGISTERED_ACTING: list[tuple[str, Callable[[MaaS, World], Any], Any]] = [
    ("initiate-from", lambda m, w: m.handoffs.initiate_handoff(w.x, w.b, _ctx()), None),
    ("pending", lambda m, w: m.handoffs.get_pending_handoffs(w.x), []),
    ("join-as-actor", lambda m, w: m.pools.join_pool(w.pool, w.x, actor_id=w.x), False),
    ("share", lambda m, w: m.pools.share_memory(w.pool, "m9", w.x), False),
    ("query", lambda m, w: m.pools.query_shared(w.pool, w.x), []),
]
"""An unregistered agent *acting* has no rights: a denial, audited as PERMISSION_DENIED."""


def test_unregistered_agents_are_not_found(maas: MaaS, world: World) -> None:
    assert maas.agents.unregister_agent(world.x)
    assert maas.agents.get_agent(world.x) is None
    problems = Problems()
    for label, call in UNREGISTERED:
        with problems.case(label):
            expect_error(maas, lambda: call(maas, world), NotFoundError, verify=False)  # noqa: B023
    for label, call, denied in UNREGISTERED_ACTING:
        with problems.case(label):
            before = snapshot(maas)
            assert call(maas, world) == denied
            added = assert_unchanged(maas, before, verify=False)
            assert [e.event_type for e in added] == [AuditEventType.PERMISSION_DENIED], added
            assert "not registered" in (added[0].reason or "")
    with problems.case("require-actor"):  # the acting agent of an adapter: a denial, raised and audited
        before = snapshot(maas)
        with pytest.raises(PermissionDeniedError, match="not registered"):
            maas.agents.require_actor(world.x)
        added = assert_unchanged(maas, before, verify=False)
        assert [e.event_type for e in added] == [AuditEventType.PERMISSION_DENIED], added
    problems.check(maas)


def test_unregistered_target_can_no_longer_act_on_its_handoffs(maas: MaaS, world: World) -> None:
    assert maas.agents.unregister_agent(world.b)
    handoff = maas.handoffs.get_handoff(world.pending)
    assert handoff is not None and handoff.status is HandoffStatus.CANCELLED
    for call in (
        lambda: maas.handoffs.accept_handoff(world.pending, world.b),
        lambda: maas.handoffs.reject_handoff(world.pending, world.b),
        lambda: maas.handoffs.get_handoff_memories(world.pending, world.b),
    ):
        before = snapshot(maas)
        try:
            outcome = call()
        except MaaSError as exc:
            assert isinstance(exc, NotFoundError | ConflictError), exc
        else:
            assert outcome in (False, []), outcome
        assert_unchanged(maas, before)


# --------------------------------------------------------------------------------------
# Hostile text: refused with InvalidInputError, or stored and read back unchanged
# --------------------------------------------------------------------------------------
HOSTILE: dict[str, str] = {
    "sql-drop": "'); DROP TABLE agents;--",
    "sql-or": "x' OR '1'='1' --",
    "sql-comment": "mem-1/* */;",
    "placeholders": "? %s %(x)s :name $1",
    "like-wildcards": "%_\\%",
    "null-byte": "a\x00b",
    "lone-surrogate": "a\ud800b",
    "rtl-override": "\u202egpj.exe\u202c",
    "rlm": "abc\u200fdef\u200e",
    "bom-zwj": "\ufeffzero\u200dwidth",
    "emoji-combining": "e\u0301 \U0001f525 \U0001f469\u200d\U0001f469\u200d\U0001f467",
    "script": "<script>alert(1)</script>",
    "json-ish": '{"a": [1, "\\u0000"], "b": null}',
    "1MB": "x" * 1_000_000,
}

Prepare = Callable[[MaaS, World], Callable[[str], Any]]
"""Set up (outside the snapshot) and return the call that stores one text; it returns a key."""
Load = Callable[[MaaS, World, Any], Any]


def _agent(m: MaaS, key: str) -> Any:
    agent = m.agents.get_agent(key)
    assert agent is not None
    return agent


def _handoff(m: MaaS, key: str) -> Any:
    handoff = m.handoffs.get_handoff(key)
    assert handoff is not None
    return handoff


def _owner_round_trip(m: MaaS, key: str) -> str:
    owner = _agent(m, key).owner_id
    assert key in [a.agent_id for a in m.agents.get_agents_for_user(owner)]
    return str(owner)


def _pool_owner_round_trip(m: MaaS, key: str) -> str:
    pool = m.pools.get_pool(key)
    assert pool is not None
    assert key in [p.pool_id for p in m.pools.list_pools(owner_id=pool.owner_id)]
    return pool.owner_id


def _shared(m: MaaS, w: World, memory_id: str) -> Any:
    found = [s for s in m.pools.query_shared(w.pool, w.a, limit=1_000) if s.memory_id == memory_id]
    assert len(found) == 1
    return found[0]


def _last_audit(m: MaaS) -> Any:
    return m.audit.query(event_type="AGENT_AUTH", action="hostile", newest_first=True, limit=1)[0]


def _new_handoff(m: MaaS, w: World, *, accept: bool) -> str:
    handoff = m.handoffs.initiate_handoff(w.a, w.h, _ctx())
    assert handoff and (not accept or m.handoffs.accept_handoff(handoff, w.h))
    return handoff


def _complete_with_text(m: MaaS, w: World) -> Callable[[str], Any]:
    handoff = _new_handoff(m, w, accept=True)
    return lambda s: m.handoffs.complete_handoff(handoff, w.h, {"v": s}) and handoff


def _reject_with_text(m: MaaS, w: World) -> Callable[[str], Any]:
    handoff = _new_handoff(m, w, accept=False)
    return lambda s: m.handoffs.reject_handoff(handoff, w.h, s) and handoff


def _completed_with(m: MaaS, w: World, result: dict[str, Any]) -> str | None:
    handoff = _new_handoff(m, w, accept=True)
    return handoff if m.handoffs.complete_handoff(handoff, w.h, result) else None


def _log(m: MaaS, **kw: Any) -> str:
    kw.setdefault("action", "hostile")
    m.audit.log("AGENT_AUTH", **kw)
    return "hostile"


HOSTILE_FIELDS: dict[str, tuple[Prepare, Load]] = {
    "agent.name": (
        lambda m, w: lambda s: m.agents.register_agent("gpt_agent", "u1", name=s),
        lambda m, w, k: _agent(m, k).name,
    ),
    "agent.owner_id": (
        lambda m, w: lambda s: m.agents.register_agent("gpt_agent", s),
        lambda m, w, k: _owner_round_trip(m, k),
    ),
    "agent.project_id": (
        lambda m, w: lambda s: m.agents.register_agent("gpt_agent", "u1", project_id=s),
        lambda m, w, k: _agent(m, k).project_id,
    ),
    "agent.metadata-value": (
        lambda m, w: lambda s: m.agents.register_agent("gpt_agent", "u1", metadata={"v": s}),
        lambda m, w, k: _agent(m, k).metadata["v"],
    ),
    "agent.metadata-key": (
        lambda m, w: lambda s: m.agents.register_agent("gpt_agent", "u1", metadata={s: 1}),
        lambda m, w, k: next(iter(_agent(m, k).metadata)),
    ),
    "pool.name": (lambda m, w: lambda s: m.pools.create_pool(s, "u1"), lambda m, w, k: m.pools.get_pool(k).name),
    "pool.owner_id": (lambda m, w: lambda s: m.pools.create_pool("p", s), lambda m, w, k: _pool_owner_round_trip(m, k)),
    "share.memory_id": (
        lambda m, w: lambda s: m.pools.share_memory(w.pool, s, w.a) and s,
        lambda m, w, k: _shared(m, w, k).memory_id,
    ),
    "share.metadata": (
        lambda m, w: lambda s: m.pools.share_memory(w.pool, "mem-h", w.a, metadata={"v": s}) and "mem-h",
        lambda m, w, k: _shared(m, w, k).metadata["v"],
    ),
    "handoff.task_description": (
        lambda m, w: lambda s: m.handoffs.initiate_handoff(w.a, w.b, HandoffContext(s)),
        lambda m, w, k: _handoff(m, k).context.task_description,
    ),
    "handoff.current_state": (
        lambda m, w: lambda s: m.handoffs.initiate_handoff(w.a, w.b, HandoffContext("t", current_state={"v": s})),
        lambda m, w, k: _handoff(m, k).context.current_state["v"],
    ),
    "handoff.relevant_memories": (
        lambda m, w: lambda s: m.handoffs.initiate_handoff(w.a, w.b, HandoffContext("t", relevant_memories=[s])),
        lambda m, w, k: _handoff(m, k).context.relevant_memories[0],
    ),
    "handoff.relevant_files": (
        lambda m, w: lambda s: m.handoffs.initiate_handoff(w.a, w.b, HandoffContext("t", relevant_files=[s])),
        lambda m, w, k: _handoff(m, k).context.relevant_files[0],
    ),
    "handoff.notes": (
        lambda m, w: lambda s: m.handoffs.initiate_handoff(w.a, w.b, HandoffContext("t", notes={"v": s})),
        lambda m, w, k: _handoff(m, k).context.notes["v"],
    ),
    "handoff.result": (_complete_with_text, lambda m, w, k: _handoff(m, k).result["v"]),
    "handoff.reject_reason": (_reject_with_text, lambda m, w, k: _handoff(m, k).reason),
    "audit.action": (
        lambda m, w: lambda s: m.audit.log("AGENT_AUTH", s) or s,
        lambda m, w, k: m.audit.query(action=k, newest_first=True, limit=1)[0].action,
    ),
    "audit.actor": (lambda m, w: lambda s: _log(m, actor=s), lambda m, w, k: _last_audit(m).actor),
    "audit.reason": (lambda m, w: lambda s: _log(m, reason=s), lambda m, w, k: _last_audit(m).reason),
    "audit.details": (lambda m, w: lambda s: _log(m, details={"v": s}), lambda m, w, k: _last_audit(m).details["v"]),
}


@pytest.mark.parametrize("kind", sorted({f.split(".")[0] for f in HOSTILE_FIELDS}))
def test_hostile_text_is_refused_or_stored_verbatim(maas: MaaS, world: World, kind: str) -> None:
    """Each hostile string in each field: InvalidInputError with nothing changed, or stored and
    read back byte-identical. Never a driver error, never a broken chain."""
    problems = Problems()
    for field, (prepare, load) in HOSTILE_FIELDS.items():
        if not field.startswith(kind + "."):
            continue
        for label, text in HOSTILE.items():
            with problems.case(f"{field}={label}"):
                store = prepare(maas, world)
                before = snapshot(maas)
                try:
                    key = store(text)
                except Exception as exc:
                    assert isinstance(exc, InvalidInputError), (
                        f"expected a stored value or InvalidInputError, got {type(exc).__module__}."
                        f"{type(exc).__name__}: {exc}"
                    )
                    assert_unchanged(maas, before, verify=False)
                else:
                    assert key, f"the store call was refused: {key!r}"
                    stored = load(maas, world, key)
                    assert isinstance(stored, str), stored
                    same = stored.encode("utf-8", "surrogatepass") == text.encode("utf-8", "surrogatepass")
                    assert same, f"read back {stored[:60]!r}"
            report = maas.audit.verify_chain()
            if not report.ok:
                problems.items.append(f"{field}={label}: the audit chain broke: {report}")
                return problems.check(maas)
    problems.check(maas)
    assert {a.agent_id for a in maas.agents.list_agents()} >= {world.a, world.b, world.r, world.h, world.x}
    assert maas.pools.get_pool(world.pool) is not None


def test_hostile_text_as_a_filter_finds_nothing_and_breaks_nothing(maas: MaaS, world: World) -> None:
    before = snapshot(maas)
    problems = Problems()
    for label, text in HOSTILE.items():
        for name, call in (
            ("get_agents_for_user", lambda t: maas.agents.get_agents_for_user(t)),
            ("list_pools", lambda t: maas.pools.list_pools(owner_id=t)),
            ("audit.query-actor", lambda t: maas.audit.query(actor=t)),
            ("audit.query-target-action-outcome", lambda t: maas.audit.query(target=t, action=t, outcome=t)),
            ("get_agent", lambda t: maas.agents.get_agent(t)),
            ("unshare_memory", lambda t: maas.pools.unshare_memory(world.pool, t, world.h)),
        ):
            with problems.case(f"{name}={label}"):
                try:
                    found = call(text)
                except Exception as exc:
                    assert isinstance(exc, InvalidInputError), f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
                else:
                    assert found in ([], False), found
    problems.check(maas)
    assert_unchanged(maas, before)


JSON_ROUND_TRIPS: dict[str, dict[Any, Any]] = {
    "int-key": {1: "int key"},
    "none-key": {None: "null key"},
    "tuple-value": {"pair": (1, 2)},
    "nested-tuples": {"nested": {"t": (1, {"u": (2,)})}},
}


def test_json_payloads_are_refused_or_read_back_equal(maas: MaaS, world: World) -> None:
    """Every backend gives back the JSON form of what it accepted (tuples come back as lists),
    so the in-memory reference and the SQL backends cannot disagree about the same call."""
    problems = Problems()
    for label, payload in JSON_ROUND_TRIPS.items():
        for where, store, load in (
            (
                "agent.metadata",
                lambda p: maas.agents.register_agent("gpt_agent", "u1", metadata=p),
                lambda k: _agent(maas, k).metadata,
            ),
            (
                "handoff.current_state",
                lambda p: maas.handoffs.initiate_handoff(world.a, world.b, HandoffContext("t", current_state=p)),
                lambda k: _handoff(maas, k).context.current_state,
            ),
            ("handoff.result", lambda p: _completed_with(maas, world, p), lambda k: _handoff(maas, k).result),
        ):
            with problems.case(f"{where}={label}"):
                try:
                    key = store(payload)
                except InvalidInputError:
                    continue
                assert load(key) == json.loads(json.dumps(payload)), f"read back {load(key)!r}"
    problems.check(maas)


def test_no_driver_error_for_huge_integers(maas: MaaS, world: World) -> None:
    """Python ints beyond 64 bits must not reach the driver (OverflowError) unchecked."""
    for call in (
        lambda: maas.pools.query_shared(world.pool, world.b, offset=10**20),
        lambda: maas.audit.query(limit=10**20),
        lambda: maas.audit.query(since=10**400),
    ):
        try:
            found = call()
        except Exception as exc:
            assert isinstance(exc, InvalidInputError), f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
        else:
            assert isinstance(found, list)
    assert maas.audit.verify_chain().ok


def test_deeply_nested_payloads_are_refused_cleanly(maas: MaaS, world: World) -> None:
    deep: list[Any] = []
    cursor = deep
    for _ in range(5_000):  # ~10 kB of JSON, well inside the byte limit
        cursor.append([])
        cursor = cursor[0]
    expect_error(maas, lambda: maas.agents.register_agent("gpt_agent", "u1", metadata={"d": deep}), InvalidInputError)
    expect_error(
        maas,
        lambda: maas.handoffs.complete_handoff(world.accepted, world.h, {"d": deep}),
        InvalidInputError,
    )


AUDIT_NON_TEXT: list[tuple[str, Any]] = [
    ("actor", 123),
    ("target", 4.5),
    ("reason", 99),
    ("actor", _OPAQUE),
    ("target", ["x"]),
    ("reason", b"bytes"),
]


def test_audit_log_rejects_non_text_actor_target_reason_and_odd_details(maas: MaaS, world: World) -> None:
    """A non-string actor is hashed as a number but stored as text by SQLite, after which
    verify_chain() reports tampering forever; it must be refused up front. Details whose keys
    cannot be sorted (mixed int and str) must be refused too, not crash the hashing."""
    problems = Problems()
    for field, value in AUDIT_NON_TEXT:
        with problems.case(f"{field}={value!r}"):
            err, _ = expect_error(
                maas,
                lambda: maas.audit.log("AGENT_AUTH", "note", **{field: value}),  # noqa: B023
                InvalidInputError,
                verify=False,
            )
            assert field in err.message, err.message
    with problems.case("details-mixed-keys"):
        expect_error(maas, lambda: maas.audit.log("AGENT_AUTH", "note", details={"a": 1, 0: 2}), InvalidInputError)
    problems.check(maas)


# --------------------------------------------------------------------------------------
# Property-based fuzz: random values of random types, only MaaSError, the chain holds
# --------------------------------------------------------------------------------------
_WORDS = [
    "",
    " ",
    "not-a-uuid",
    UNKNOWN_ID,
    "robot",
    "cosmic",
    "superuser",
    "read",
    "write",
    "admin",
    "project",
    "global",
    "pending",
    "memory_read",
    "AGENT_AUTH",
    "mem-1",
    "\ud800",
    "a\x00b",
    "'); DROP TABLE agents;--",
]
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=30),
    st.binary(max_size=10),
    st.sampled_from(_WORDS),
)
_JUNK = st.one_of(
    _SCALARS,
    st.lists(_SCALARS, max_size=3),
    st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), _SCALARS, max_size=3),
    st.frozensets(st.integers(), max_size=2),
    st.just(_OPAQUE),
)
_CONTEXTS = st.builds(
    HandoffContext,
    task_description=st.one_of(st.text(max_size=20), _SCALARS),
    current_state=st.one_of(st.dictionaries(st.text(max_size=5), _SCALARS, max_size=3), _JUNK),
    relevant_memories=st.one_of(st.lists(st.one_of(st.text(max_size=8), _SCALARS), max_size=3), _JUNK),
    relevant_files=st.one_of(st.lists(st.text(max_size=8), max_size=3), _JUNK),
    notes=st.one_of(st.dictionaries(st.text(max_size=5), _SCALARS, max_size=2), _JUNK),
)

FUZZ_GROUPS: dict[str, list[str]] = {
    "agents": [
        "agents.register_agent",
        "agents.get_agent",
        "agents.get_agents_for_user",
        "agents.has_capability",
        "agents.deactivate_agent",
        "agents.activate_agent",
        "agents.unregister_agent",
    ],
    "pools": [
        "pools.create_pool",
        "pools.list_pools",
        "pools.join_pool",
        "pools.leave_pool",
        "pools.share_memory",
        "pools.unshare_memory",
        "pools.query_shared",
        "pools.archive_pool",
        "pools.get_permission",
    ],
    "handoffs": [
        "handoffs.initiate_handoff",
        "handoffs.accept_handoff",
        "handoffs.reject_handoff",
        "handoffs.complete_handoff",
        "handoffs.cancel_handoff",
        "handoffs.get_handoff",
        "handoffs.list_handoffs",
        "handoffs.get_handoff_memories",
        "handoffs.get_pending_handoffs",
        "handoffs.cleanup_terminal_handoffs",
    ],
    "audit": ["audit.log", "audit.query"],
}


def assert_consistent(maas: MaaS) -> None:
    """The audit chain verifies and every counter agrees with the rows."""
    report = maas.audit.verify_chain()
    assert report.ok, report
    counts = maas.status()["counts"]
    with maas.backend.transaction(write=False) as tx:
        rows = {
            "agents": len(tx.list_agents()),
            "pools": len(tx.list_pools()),
            "handoffs": len(tx.list_handoffs()),
            "audit_events": report.checked,
            "memories": len(tx.list_memories(limit=10_000_000)),
            "open_sessions": tx.count_open_sessions(),
        }
        for pool in tx.list_pools():
            assert tx.count_shares(pool.pool_id) == len(tx.query_shares(pool.pool_id, _EVERY_SHARE, 1_000_000))
    assert counts == rows


@pytest.mark.parametrize("group", sorted(FUZZ_GROUPS))
@settings(
    max_examples=120,
    phases=[Phase.explicit, Phase.generate],
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzz_only_maas_errors_escape(maas: MaaS, world: World, group: str, data: st.DataObject) -> None:
    call = data.draw(st.sampled_from(FUZZ_GROUPS[group]), label="call")
    ids = st.sampled_from([world.a, world.b, world.r, world.h, world.x, world.pool, world.pending, world.accepted])
    kwargs = {}
    for name, valid in CALLS[call](world).items():
        choices = [st.just(valid), _JUNK, ids]
        if name == "context":
            choices.append(_CONTEXTS)
        kwargs[name] = data.draw(st.one_of(choices), label=name)
    service, method = call.split(".")
    try:
        getattr(getattr(maas, service), method)(**kwargs)
    except MaaSError:
        pass
    except Exception as exc:
        pytest.fail(f"{call}(**{kwargs!r:.500}) raised {type(exc).__module__}.{type(exc).__name__}: {exc}")
    assert_consistent(maas)


def _nested(depth: int) -> dict[str, Any]:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"k": value}
    return value


@pytest.mark.parametrize("depth", [40, 5_000])
def test_a_handoff_context_nested_past_the_limit_is_invalid_input(maas: MaaS, world: World, depth: int) -> None:
    """A context thousands of levels deep was a raw RecursionError (the record copies it before
    the depth check ran); at any depth it is a typed error and nothing is stored."""
    before = snapshot(maas)
    for field in ("current_state", "notes"):
        with pytest.raises(InvalidInputError, match=f"{field} is nested deeper"):
            maas.handoffs.initiate_handoff(world.a, world.b, {"task_description": "t", field: _nested(depth)})
    assert_unchanged(maas, before)


def test_a_misspelt_context_field_is_named_not_dropped(maas: MaaS, world: World) -> None:
    before = snapshot(maas)
    with pytest.raises(InvalidInputError, match=r"unknown field\(s\) state;.*current_state"):
        maas.handoffs.initiate_handoff(world.a, world.b, {"task_description": "t", "state": {"step": 2}})
    assert_unchanged(maas, before)
