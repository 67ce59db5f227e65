"""Access matrix: principals x resources x operations x interfaces against a reference model.

The expected outcome of every cell (allowed / denied, and for reads the exact set of visible
seeded ids) comes from ``tests/access_model.py``, an independent model of docs/security.md.
Every cell asserts ``actual == expected``; every denial must leave exactly one new
``PERMISSION_DENIED`` audit row with a non-empty reason (and an allowed call none).

Interfaces: ``core`` (``maas.memories`` / ``maas.pools`` / ``maas.handoffs`` / ``maas.kb`` with an
acting agent), ``client`` (``MaaSClient`` sessions), ``store`` (``MaaSStore`` views bound to an
agent and the checkpointer), ``toolkit`` (``MaaSToolkit``), ``mcp`` (a real server subprocess over
streamable HTTP with API keys), ``rest`` (the same server's REST API, ``/v1/...``, with the same keys:
each tool call is sent to the route of the same operation). One SQLite home holds the whole scenario (seeded once per module);
the MCP server serves the same home with the same deterministic embeddings.

The four named ``test_breach_*`` tests are regression tests for breaches found from outside.
"""

from __future__ import annotations

import copy
import json
import operator
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypedDict

import anyio
import httpx
import pytest
from access_model import (
    AgentRec,
    HandoffRec,
    MemoryRec,
    PoolRec,
    Principal,
    ShareRec,
    World,
)
from conftest import free_loopback_port
from test_mcp_server import mcp_session, payload, server_env, wait_for_health

from maas_langchain import AgentType, MaaS, MaaSClient, PermissionDeniedError
from maas_langchain.embeddings import HashingEmbeddings

ROOT = Path(__file__).resolve().parents[1]
CELLS_RUN: list[str] = []  # ids of the cells asserted (the final test prints and checks the count)
MIN_CELLS = 900


# =================================================================================================
# The scenario (static: fixed agent ids; memories, pools and handoffs by name)
# =================================================================================================
def _aid(n: int) -> str:
    return str(uuid.UUID(int=(0xACCE55 << 96) | n, version=4))


A1, A2, A3, B1, B2, C1, P1, NK, N1, H, D1, G1, X = (_aid(i) for i in range(1, 14))
AGENT_NAMES = {A1: "A1", A2: "A2", A3: "A3", B1: "B1", B2: "B2", C1: "C1", P1: "P1", NK: "NK", N1: "N1", H: "H",
               D1: "D1", G1: "G1", X: "X"}  # fmt: skip

AGENTS = [
    # owner u1, project alpha, team t1
    AgentRec(A1, "u1", "alpha", "t1", "human"),  # HUMAN: every capability incl. MEMORY_DELETE
    AgentRec(A2, "u1", "alpha", "t1", "gpt_agent"),
    AgentRec(A3, "u1", "alpha", "t1", "human"),
    AgentRec(P1, "u1", "alpha", "t1", "custom_pipeline"),  # read / search only
    AgentRec(NK, "u1", "alpha", "t1", "gpt_agent", caps=frozenset({"memory_read", "memory_write"})),  # no KB_SEARCH
    AgentRec(N1, "u1", "alpha", "t1", "gpt_agent"),  # member of nothing
    AgentRec(D1, "u1", "alpha", "t1", "gpt_agent", active=False),  # deactivated after seeding
    AgentRec(G1, "u1", "alpha", "t1", "gpt_agent", registered=False),  # unregistered after seeding
    # another owner, same project and team
    AgentRec(B1, "u2", "alpha", "t1", "gpt_agent"),
    # another owner, another project and team
    AgentRec(B2, "u2", "beta", "t2", "gpt_agent"),
    AgentRec(H, "u2", "beta", "t2", "gpt_agent"),  # the handoff target
    # "another org": another owner, project and team
    AgentRec(C1, "u3", "gamma", "t9", "gpt_agent"),
]


def own(agent: str) -> dict[str, str]:
    return next(a for a in AGENTS if a.agent_id == agent).own_scope()


MEMORIES: dict[str, tuple[dict[str, str], str | None]] = {
    "m_org": ({"org": "acme"}, None),
    "m_org_proj": ({"org": "acme", "project": "alpha"}, None),
    "m_org_team_proj": ({"org": "acme", "team": "t1", "project": "alpha"}, None),
    "m_w1": ({"org": "acme", "project": "alpha", "agent": "w1"}, "w1"),
    "m_w2": ({"org": "acme", "project": "alpha", "agent": "w2"}, "w2"),
    "m_proj": ({"project": "alpha"}, None),
    "m_agent_w1": ({"agent": "w1"}, None),
    "m_globex_q3": ({"org": "globex", "project": "q3"}, None),
    "m_acme_q3": ({"org": "acme", "project": "q3"}, None),
    "m_q3": ({"project": "q3"}, None),
    "m_acme_r_w1": ({"org": "acme", "project": "r", "agent": "w1"}, "w1"),
    "m_team": ({"team": "t1"}, None),
    "m_team_proj": ({"team": "t1", "project": "alpha"}, None),
    "m_team_proj_u1": ({"team": "t1", "project": "alpha", "user": "u1"}, None),
    "m_user_u1": ({"user": "u1"}, None),
    # scope values are literal strings, never patterns or separators
    "m_lit_pct": ({"org": "acme%"}, None),
    "m_lit_star": ({"org": "*"}, None),
    "m_lit_us": ({"org": "acm_"}, None),
    "m_lit_pipe": ({"org": "acme|project=alpha"}, None),
    "m_lit_dot": ({"org": "acme", "project": "alpha.*"}, None),
    "m_A1": (own(A1), A1),
    "m_A2": (own(A2), A2),
    "m_B1": (own(B1), B1),
    "m_C1": (own(C1), C1),
}

PG_MEMBERS = {A1: "admin", A2: "write", B1: "read", B2: "write", P1: "read", H: "read", NK: "read", D1: "write",
              G1: "read"}  # fmt: skip
PG_SHARES = [
    ShareRec("PG", "m_A1", A1, "agent_private"),
    ShareRec("PG", "m_team_proj_u1", A1, "user"),
    ShareRec("PG", "m_team_proj", A1, "project"),
    ShareRec("PG", "m_team", A1, "team"),
    ShareRec("PG", "ext-a1-global", A1, "global"),
    ShareRec("PG", "m_A2", A2, "user"),
    ShareRec("PG", "ext-b2-project", B2, "project"),
    ShareRec("PG", "ext-b2-team", B2, "team"),
    ShareRec("PG", "ext-b2-global", B2, "global"),
]
HANDOFFS = [
    HandoffRec("hp", A1, H, "pending", (), "T_pending"),
    HandoffRec("hd", A1, H, "accepted", ("m_A1",), "T_during"),
    HandoffRec("hc", A1, H, "completed", ("m_A1",), "T_after"),
]
THREADS = {"T_before": A1, "T_pending": A1, "T_during": A1, "T_after": A1}
STORE_ITEMS = {  # stored namespace -> tag (key "k")
    ("pools", "PG", "notes"): "pool_PG",
    ("users", "u1", "prefs"): "users_u1",
    ("users", "u2", "prefs"): "users_u2",
    ("agents", A1, "notes"): "agents_A1",
    ("agents", A2, "notes"): "agents_A2",
}


def build_world() -> World:
    w = World()
    for a in AGENTS:
        w.agents[a.agent_id] = a
    for name, (scope, author) in MEMORIES.items():
        w.memories[name] = MemoryRec(name, dict(scope), author)
    w.pools["PG"] = PoolRec("PG", "u1", "global", True, dict(PG_MEMBERS))
    w.pools["PG"].members.pop(G1)  # unregistering removes its memberships
    w.shares = list(PG_SHARES)
    w.handoffs = {h.handoff_id: h for h in HANDOFFS}
    w.threads = dict(THREADS)
    return w


WORLD = build_world()


def agent_p(agent: str) -> Principal:
    return Principal(AGENT_NAMES[agent], agent)


PA = {name: agent_p(aid) for aid, name in AGENT_NAMES.items()}
P_SUP = Principal("A1_floor_acme_alpha", A1, floor={"org": "acme", "project": "alpha"})
P_W1 = Principal("A2_floor_acme_alpha_w1", A2, floor={"org": "acme", "project": "alpha", "agent": "w1"})
P_ACME = Principal("A1_floor_acme_q3", A1, floor={"org": "acme", "project": "q3"})
P_GLOBEX = Principal("C1_floor_globex_q3", C1, floor={"org": "globex", "project": "q3"})
P_RO = Principal("A1_read_only", A1, read_only=True)
P_EXP = Principal("A1_expired_key", A1, key_state="expired")
P_REV = Principal("A1_revoked_key", A1, key_state="revoked")

TOOL_PRINCIPALS = [
    PA["A1"], PA["A2"], PA["B1"], PA["B2"], PA["C1"], PA["P1"], PA["H"], PA["N1"], PA["D1"], PA["G1"],
    P_SUP, P_W1, P_ACME, P_GLOBEX, P_RO,
]  # fmt: skip
MCP_PRINCIPALS = [*TOOL_PRINCIPALS, P_EXP, P_REV]

QUERY_SCOPES: dict[str, dict[str, str] | None] = {
    "default": None,
    "org": {"org": "acme"},
    "org_proj": {"org": "acme", "project": "alpha"},
    "org_team_proj": {"org": "acme", "team": "t1", "project": "alpha"},
    "org_proj_w1": {"org": "acme", "project": "alpha", "agent": "w1"},
    "proj": {"project": "alpha"},
    "agent_w1": {"agent": "w1"},
    "team": {"team": "t1"},
    "team_proj": {"team": "t1", "project": "alpha"},
    "team_proj_u1": {"team": "t1", "project": "alpha", "user": "u1"},
    "own_A1": own(A1),
    "user_u1": {"user": "u1"},
    "globex_q3": {"org": "globex", "project": "q3"},
    "q3": {"project": "q3"},
    "acme_q3": {"org": "acme", "project": "q3"},
    "acme_r": {"project": "r"},
    "lit_star": {"org": "*"},
    "lit_us_proj": {"org": "acm_", "project": "alpha"},
    "lit_pct_proj": {"org": "acme%", "project": "alpha"},
}
WRITE_SCOPES = ["default", "org", "org_proj", "proj", "agent_w1", "team_proj", "org_proj_w1", "globex_q3", "q3",
                "own_A1", "user_u1"]  # fmt: skip


# =================================================================================================
# Cells
# =================================================================================================
@dataclass(frozen=True)
class Cell:
    iface: str
    principal: Principal | None  # None: the trusted orchestrator
    op: str
    resource: str
    args: dict[str, Any]
    allowed: bool
    value: Any = None  # for reads: the exact expected set (or item tag); None: not compared
    world_note: str = ""

    @property
    def id(self) -> str:
        who = "trusted" if self.principal is None else self.principal.name
        return f"{self.iface}|{who}|{self.op}|{self.resource}"


def _frozen(value: Any) -> Any:
    return frozenset(value) if isinstance(value, set) else value


CELLS: list[Cell] = []


def add(cell: Cell) -> None:
    CELLS.append(cell)


# --- trusted reads: core recall / history and MaaSClient sessions -------------------------------
for qname, q in QUERY_SCOPES.items():
    if q is None:
        continue
    for desc in (True, False):
        add(Cell("core", None, f"recall_desc={desc}", qname, {"scope": q, "descendants": desc}, True,
                 _frozen(WORLD.visible_ids(q, descendants=desc))))  # fmt: skip
    add(Cell("core", None, "history", qname, {"scope": q}, True, _frozen(WORLD.visible_ids(q))))
    add(Cell("client", None, "session_recall", qname, {"scope": q}, True, _frozen(WORLD.visible_ids(q))))

# --- memories by id (core, acting agent) ---------------------------------------------------------
CORE_AGENTS = [PA[n] for n in ("A1", "A2", "B1", "C1", "P1", "H", "D1", "X")]
for p in CORE_AGENTS:
    for mem in ("m_A1", "m_A2", "m_team_proj", "m_proj", "m_org_proj", "m_B1", "m_user_u1", "m_team", "m_w1"):
        add(Cell("core", p, "get_memory", mem, {"memory": mem}, WORLD.get_memory(p, mem)))
for p, mem in [(PA["A1"], "m_team_proj"), (PA["A1"], "m_B1"), (PA["A1"], "m_org_proj"), (PA["A2"], "m_A2"),
               (PA["A3"], "m_A1"), (PA["C1"], "m_team"), (PA["X"], "m_team"), (PA["D1"], "m_team")]:  # fmt: skip
    add(Cell("core", p, "forget_memory", mem, {"memory": mem}, WORLD.forget_memory(p, mem)))


# --- pools: join / leave / share / query / unshare / delete -----------------------------------------
@dataclass(frozen=True)
class FreshPool:
    """A pool created for one cell by the trusted orchestrator (owner u1, GLOBAL)."""

    members: tuple[tuple[str, str], ...]
    removed: tuple[str, ...] = ()  # joined, then removed by the orchestrator before the cell
    shares: tuple[tuple[str, str, str], ...] = ()  # (memory name, author, level)


def fresh_world(fp: FreshPool) -> World:
    w = copy.deepcopy(WORLD)
    w.pools["FRESH"] = PoolRec("FRESH", "u1", "global", True, dict(fp.members))
    w.shares = [*w.shares, *(ShareRec("FRESH", m, a, lvl) for m, a, lvl in fp.shares)]
    return w


JOIN_CASES = [
    # (label, actor, member, initial members, removed, permission)
    ("same_owner_nonmember_self_join", PA["N1"], N1, (), (), "read"),
    ("other_owner_nonmember_self_join", PA["C1"], C1, (), (), "read"),
    ("read_member_self_upgrade_write", PA["B1"], B1, ((B1, "read"),), (), "write"),
    ("write_member_self_upgrade_admin", PA["A2"], A2, ((A2, "write"),), (), "admin"),
    ("admin_adds_other", PA["A1"], C1, ((A1, "admin"),), (), "read"),
    ("admin_raises_member", PA["A1"], B1, ((A1, "admin"), (B1, "read")), (), "write"),
    ("write_member_adds_other", PA["A2"], C1, ((A2, "write"),), (), "read"),
    ("removed_member_self_rejoin", PA["B1"], B1, ((A1, "admin"),), (B1,), "read"),
    ("deactivated_self_join", PA["D1"], D1, (), (), "read"),
    ("floor_key_admin_adds_other", P_SUP, C1, ((A1, "admin"),), (), "read"),
    ("read_only_admin_adds_other", P_RO, C1, ((A1, "admin"),), (), "read"),
    ("expired_key_admin_adds_other", P_EXP, C1, ((A1, "admin"),), (), "read"),
    ("revoked_key_admin_adds_other", P_REV, C1, ((A1, "admin"),), (), "read"),
    ("gone_self_join", PA["G1"], G1, (), (), "read"),
    ("unregistered_self_join", PA["X"], X, (), (), "read"),
]
LEAVE_CASES = [
    ("read_member_self_leave", PA["B1"], B1, ((B1, "read"),)),
    ("read_member_removes_other", PA["B1"], A2, ((B1, "read"), (A2, "write"))),
    ("admin_removes_other", PA["A1"], B1, ((A1, "admin"), (B1, "read"))),
    ("read_only_self_leave", P_RO, A1, ((A1, "admin"),)),
    ("nonmember_removes_member", PA["C1"], B1, ((B1, "read"),)),
]
SHARE_CASES = [
    # (sharer, memory or external ref, level)
    (PA["A1"], "m_A1", "global"),
    (PA["A1"], "m_team_proj", "project"),
    (PA["A1"], "m_team", "global"),
    (PA["A1"], "m_proj", "global"),
    (PA["A1"], "m_org_proj", "global"),
    (PA["A1"], "m_w1", "global"),
    (PA["A1"], "m_B1", "global"),
    (PA["A1"], "ext-ref-1", "global"),
    (PA["A2"], "m_A1", "global"),
    (PA["B1"], "m_B1", "global"),
    (PA["B1"], "m_team_proj_u1", "global"),
    (PA["C1"], "m_org_proj", "global"),
    (PA["C1"], "m_C1", "global"),
    (PA["C1"], "ext-ref-2", "global"),
    (PA["H"], "m_A1", "global"),  # listed by the open handoff hd: readable
    (PA["H"], "m_A2", "global"),
    (PA["P1"], "ext-ref-3", "global"),  # no MEMORY_WRITE
    (PA["D1"], "ext-ref-4", "global"),
    (P_SUP, "m_org_proj", "global"),
    (P_SUP, "m_w1", "global"),
    (P_SUP, "m_org", "global"),
    (P_SUP, "m_A1", "global"),  # the author (A1) may share its own memory whatever the floor
    (P_W1, "m_w1", "global"),
    (P_W1, "m_w2", "global"),
    (P_ACME, "m_acme_q3", "global"),
    (P_ACME, "m_globex_q3", "global"),
    (P_GLOBEX, "m_globex_q3", "global"),
    (P_GLOBEX, "m_q3", "global"),
    (P_GLOBEX, "m_acme_q3", "global"),
    (P_RO, "ext-ref-5", "global"),
    (P_EXP, "ext-ref-6", "global"),
    (P_REV, "ext-ref-7", "global"),
]

for iface in ("core", "toolkit", "mcp", "rest"):
    tool = iface != "core"
    for label, actor, member, initial, removed, perm in JOIN_CASES:
        if actor.key_state != "ok" and iface not in ("mcp", "rest"):
            continue
        if (actor.floor is not None or actor.read_only) and not tool:
            continue
        if actor.agent == X and tool:  # no toolkit or key can be made for an id never registered
            continue
        fp = FreshPool(tuple(initial), tuple(removed))
        w = fresh_world(fp)
        add(Cell(iface, actor, "join_pool", label,
                 {"pool": fp, "member": member, "permission": perm}, w.may_join(actor, "FRESH", member, perm)))  # fmt: skip
    if iface == "core":
        fp = FreshPool(((A1, "admin"),))
        add(Cell("core", None, "join_pool", "trusted_adds_other", {"pool": fp, "member": C1, "permission": "write"},
                 True))  # fmt: skip
    for label, actor, member, initial in LEAVE_CASES:
        if (actor.floor is not None or actor.read_only) and not tool:
            continue
        fp = FreshPool(tuple(initial))
        add(Cell(iface, actor, "leave_pool", label, {"pool": fp, "member": member},
                 fresh_world(fp).may_leave(actor, "FRESH", member)))  # fmt: skip
    for actor, mem, level in SHARE_CASES:
        if actor.key_state != "ok" and iface not in ("mcp", "rest"):
            continue
        if (actor.floor is not None or actor.read_only) and not tool:
            continue
        fp = FreshPool(((actor.agent, "write"),))
        add(Cell(iface, actor, "share", f"{mem}@{level}", {"pool": fp, "memory": mem, "level": level},
                 fresh_world(fp).may_share(actor, "FRESH", mem, level)))  # fmt: skip
    readers = (
        [PA[n] for n in ("A1", "A2", "A3", "B1", "B2", "P1", "H", "NK", "C1", "D1", "X")]
        if not tool
        else [*(TOOL_PRINCIPALS if iface == "toolkit" else MCP_PRINCIPALS)]
    )
    for reader in readers:
        for max_scope in ("global", "user", "project"):
            ok, seen = WORLD.query_shared(reader, "PG", max_scope)
            add(Cell(iface, reader, "query_shared", f"PG@{max_scope}", {"max_scope": max_scope}, ok,
                     _frozen(seen) if ok else None))  # fmt: skip

# unshare / delete pool (core)
UNSHARE_POOL = FreshPool(((A1, "admin"), (A2, "write"), (A3, "write")), shares=(("m_A2", A2, "user"),))
for actor in (PA["A1"], PA["A3"], PA["A2"], PA["C1"]):
    add(Cell("core", actor, "unshare", "m_A2_by_A2", {"pool": UNSHARE_POOL, "memory": "m_A2"},
             fresh_world(UNSHARE_POOL).may_unshare(actor, "FRESH", "m_A2")))  # fmt: skip
DELETE_POOL = FreshPool(((A1, "admin"), (A2, "write")))
for actor in (PA["A1"], PA["A2"], PA["C1"], PA["X"]):
    add(Cell("core", actor, "delete_pool", "fresh", {"pool": DELETE_POOL},
             fresh_world(DELETE_POOL).may_manage_pool(actor, "FRESH")))  # fmt: skip
    add(Cell("core", actor, "archive_pool", "fresh", {"pool": DELETE_POOL},
             fresh_world(DELETE_POOL).may_manage_pool(actor, "FRESH")))  # fmt: skip

# --- handoffs ---------------------------------------------------------------------------------------
for p in [PA[n] for n in ("A1", "H", "A2", "C1", "D1", "X")]:
    add(Cell("core", p, "get_handoff", "hd", {"handoff": "hd"}, WORLD.may_get_handoff(p, "hd")))
    for hid in ("hp", "hd", "hc"):
        ok, seen = WORLD.handoff_memories(p, hid)
        add(Cell("core", p, "handoff_memories", hid, {"handoff": hid}, ok, _frozen(seen) if ok else None))
for p, action, hid in [(PA["A2"], "accept", "hp"), (PA["C1"], "accept", "hp"), (PA["A1"], "accept", "hp"),
                       (PA["H"], "cancel", "hp"), (PA["A2"], "cancel", "hp"), (PA["X"], "accept", "hp")]:  # fmt: skip
    add(Cell("core", p, f"{action}_handoff", hid, {"handoff": hid, "action": action},
             WORLD.may_transition(p, hid, action)))  # fmt: skip
for iface, principals in (("toolkit", TOOL_PRINCIPALS), ("mcp", MCP_PRINCIPALS), ("rest", MCP_PRINCIPALS)):
    for p in principals:
        add(Cell(iface, p, "get_handoff", "hd", {"handoff": "hd"}, WORLD.may_get_handoff(p, "hd")))
        add(Cell(iface, p, "search_code_kb", "code", {}, WORLD.may_search_kb(p)))
        if p.agent != H or p.read_only or p.key_state != "ok":  # never a valid accept: the state stays
            add(Cell(iface, p, "accept_handoff", "hp", {"handoff": "hp", "action": "accept"},
                     WORLD.may_transition(p, "hp", "accept")))  # fmt: skip
        if p.agent != A1 or p.read_only or p.key_state != "ok":
            add(Cell(iface, p, "cancel_handoff", "hp", {"handoff": "hp", "action": "cancel"},
                     WORLD.may_transition(p, "hp", "cancel")))  # fmt: skip
        creates = WORLD.alive(p) and not p.read_only
        add(Cell(iface, p, "create_pool", "new", {}, creates))

# --- knowledge base (core) ---------------------------------------------------------------------------
for p in [PA[n] for n in ("A1", "P1", "NK", "D1", "X")]:
    add(Cell("core", p, "search_code_kb", "code", {}, WORLD.may_search_kb(p)))

# --- remember / recall through the tools ---------------------------------------------------------
for iface, principals in (("toolkit", TOOL_PRINCIPALS), ("mcp", MCP_PRINCIPALS), ("rest", MCP_PRINCIPALS)):
    for p in principals:
        for qname, q in QUERY_SCOPES.items():
            ok, seen = WORLD.recall(p, q)
            add(Cell(iface, p, "recall", qname, {"scope": q}, ok, _frozen(seen) if ok else None))
        for qname in WRITE_SCOPES:
            q = QUERY_SCOPES[qname]
            ok, where = WORLD.remember(p, q)
            add(Cell(iface, p, "remember", qname, {"scope": q}, ok, None if where is None else frozenset(where.items())))

# --- LangGraph store namespaces and checkpointer threads ---------------------------------------------
STORE_PRINCIPALS = [PA[n] for n in ("A1", "A2", "B1", "B2", "C1", "P1", "D1", "X")]
STORE_NAMESPACES = {
    "pools_PG": ("pools", "PG", "notes"),
    "users_u1": ("users", "u1", "prefs"),
    "users_u2": ("users", "u2", "prefs"),
    "agents_A1": ("agents", A1, "notes"),
    "agents_A2": ("agents", A2, "notes"),
    "private": ("notes",),
    "pools_unknown": ("pools", "no-such-pool", "notes"),
}
for p in STORE_PRINCIPALS:
    for nsname, ns in STORE_NAMESPACES.items():
        ok = WORLD.store_may(p, "read", ns)
        tag = STORE_ITEMS.get(WORLD.store_namespace(p, ns)) if ok else None
        add(Cell("store", p, "get", nsname, {"ns": ns}, ok, tag if ok else None))
        add(Cell("store", p, "put", nsname, {"ns": ns}, WORLD.store_may(p, "put", ns)))
        add(Cell("store", p, "delete", nsname, {"ns": ns}, WORLD.store_may(p, "delete", ns)))
    for prefix in (("users",), ("pools",), ("agents",)):
        ok = WORLD.can(p, "memory_read")
        tags = {t for stored, t in STORE_ITEMS.items() if stored[0] == prefix[0] and WORLD.store_may(p, "read", stored)}
        add(Cell("store", p, "search", prefix[0], {"prefix": prefix}, ok, frozenset(tags) if ok else None))
for p in [PA[n] for n in ("A1", "A2", "H", "C1", "D1", "X")]:
    for thread in THREADS:
        add(Cell("store", p, "thread_read", thread, {"thread": thread}, WORLD.may_read_thread(p, thread)))
    if p.agent != A1:
        add(Cell("store", p, "thread_delete", "T_during", {"thread": "T_during"},
                 WORLD.may_delete_thread(p, "T_during")))  # fmt: skip

_ids = [c.id for c in CELLS]
assert len(_ids) == len(set(_ids)), [i for i in _ids if _ids.count(i) > 1][:5]


# =================================================================================================
# The environment: one seeded SQLite home, the toolkits, and the MCP server subprocess
# =================================================================================================
SERVER_SCRIPT = textwrap.dedent(
    """
    import sys
    from maas_langchain import MaaS
    from maas_langchain.embeddings import HashingEmbeddings
    from maas_langchain.adapters.mcp.app import run_http
    from maas_langchain.adapters.ratelimit import AbuseLimits
    home, port = sys.argv[1], int(sys.argv[2])
    maas = MaaS.open(home, sweep_interval=None, vectors="bruteforce", embeddings=HashingEmbeddings())
    # access decisions only: no rate limit, one audit row per refused key (limits and their
    # aggregation are tests/test_rate_limits.py's)
    run_http(maas, host="127.0.0.1", port=port, limits=AbuseLimits.off())
    """
)
CONTENT = "fact {name}: the deployment pipeline keeps this note"
QUERY = "deployment pipeline fact note"


def open_home(home: Path, **kw: Any) -> MaaS:
    kw.setdefault("sweep_interval", None)
    kw.setdefault("vectors", "bruteforce")
    kw.setdefault("embeddings", HashingEmbeddings())
    return MaaS.open(home, **kw)


@dataclass
class Env:
    maas: MaaS
    home: Path
    mem: dict[str, str] = field(default_factory=dict)  # name -> memory id
    pools: dict[str, str] = field(default_factory=dict)
    handoffs: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # principal name -> secret
    key_expiry: float = 0.0
    toolkits: dict[str, Any] = field(default_factory=dict)
    mcp_url: str | None = None
    http: httpx.Client | None = None
    counter: int = 0
    checkpointers: dict[str, Any] = field(default_factory=dict)

    def checkpointer(self, agent: str) -> Any:
        if agent not in self.checkpointers:
            self.checkpointers[agent] = self.maas.checkpointer(agent_id=agent)
        return self.checkpointers[agent]

    @property
    def names(self) -> dict[str, str]:
        return {v: k for k, v in self.mem.items()}

    def seeded(self, ids: Any) -> frozenset[str]:
        names = self.names
        return frozenset(names.get(i, i) for i in ids if i in names or i.startswith("ext-"))

    def denial_seq(self) -> int:
        last = self.maas.audit.query(event_type="PERMISSION_DENIED", newest_first=True, limit=1)
        return last[0].seq if last else 0

    def denials_since(self, seq: int) -> list[Any]:
        rows = self.maas.audit.query(event_type="PERMISSION_DENIED", newest_first=True, limit=50)
        return [r for r in rows if r.seq > seq]

    def fresh_pool(self, fp: FreshPool) -> str:
        pools = self.maas.pools
        pool = pools.create_pool(f"fresh-{self.counter}", owner_id="u1", scope="global")
        for agent, perm in fp.members:
            if WORLD.agent(agent).registered and WORLD.agent(agent).active:
                pools.join_pool(pool, agent, perm)
        for agent in fp.removed:
            pools.join_pool(pool, agent, "read")
            pools.leave_pool(pool, agent)
        for mem, author, level in fp.shares:
            pools.share_memory(pool, self.mem.get(mem, mem), author, level)
        return pool


def seed(maas: MaaS) -> Env:
    env = Env(maas, Path(maas.backend.location).parent)
    for a in AGENTS:
        kind = AgentType.parse(a.agent_type)
        caps = None if a.caps is None else sorted(a.caps)
        maas.agents.register_agent(kind, a.owner, project_id=a.project, team_id=a.team, capabilities=caps,
                                   agent_id=a.agent_id, name=AGENT_NAMES[a.agent_id])  # fmt: skip
    for name, (scope, author) in MEMORIES.items():
        env.mem[name] = maas.memories.remember(CONTENT.format(name=name), scope=scope, author_id=author).memory_id
    pg = maas.pools.create_pool("PG", owner_id="u1", scope="global")
    env.pools["PG"] = pg
    for agent, perm in PG_MEMBERS.items():
        maas.pools.join_pool(pg, agent, perm)
    for s in PG_SHARES:
        assert maas.pools.share_memory(pg, env.mem.get(s.memory_id, s.memory_id), s.author, s.level), s
    # threads: A1 writes them first (it owns them)
    graph = _graph(maas.checkpointer(agent_id=A1))
    for thread in THREADS:
        graph.invoke({"steps": ["start"]}, {"configurable": {"thread_id": thread}})
    hs = maas.handoffs
    for h in HANDOFFS:
        context = {"task_description": f"task {h.handoff_id}", "thread_id": h.thread_id,
                   "relevant_memories": [env.mem[m] for m in h.relevant_memories]}  # fmt: skip
        hid = hs.initiate_handoff(h.source, h.target, context)
        assert hid is not None
        env.handoffs[h.handoff_id] = hid
        if h.status in ("accepted", "completed"):
            assert hs.accept_handoff(hid, h.target)
        if h.status == "completed":
            assert hs.complete_handoff(hid, h.target, {"done": True})
    trusted_store = maas.store()
    for stored, tag in STORE_ITEMS.items():
        ns = tuple(env.pools["PG"] if part == "PG" else part for part in stored)
        trusted_store.put(ns, "k", {"tag": tag})
    # keys (MCP) and toolkits, made while every agent is still active
    for p in MCP_PRINCIPALS:
        expires = time.time() + 1.0 if p.key_state == "expired" else None
        issued = maas.keys.create_key(p.agent, scope_floor=p.floor, read_only=p.read_only, expires_at=expires)
        env.keys[p.name] = issued.secret
        if expires:
            env.key_expiry = expires
        if p.key_state == "revoked":
            maas.keys.revoke_key(issued.key.key_id)
    from maas_langchain.adapters.tools.langchain import MaaSToolkit

    for p in TOOL_PRINCIPALS:
        kit = MaaSToolkit(maas, agent_id=p.agent, scope_floor=p.floor, read_only=p.read_only)
        env.toolkits[p.name] = (kit, {t.name: t for t in kit.get_tools()})
    maas.agents.deactivate_agent(D1)
    maas.agents.unregister_agent(G1)
    return env


class _State(TypedDict):
    steps: Annotated[list[str], operator.add]


def _graph(checkpointer: Any) -> Any:
    from langgraph.graph import StateGraph

    graph = StateGraph(_State)
    graph.add_node("work", lambda s: {"steps": ["work"]})
    graph.set_entry_point("work")
    return graph.compile(checkpointer=checkpointer)


def start_server(home: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    for _ in range(2):
        port = free_loopback_port()
        with open(log, "ab") as out:
            proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, str(home), str(port)], stdout=out,
                                    stderr=subprocess.STDOUT, env=server_env(), cwd=ROOT)  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        if wait_for_health(proc, base, log, "the MCP server"):
            return proc, base + "/mcp"
    pytest.fail(f"the MCP server exited: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    folder = tmp_path_factory.mktemp("access-matrix")
    maas = open_home(folder / "home", raise_on_denial=True)
    try:
        e = seed(maas)
        proc, url = start_server(folder / "home", folder / "server.log")
        e.mcp_url = url
        e.http = httpx.Client(timeout=60)
        try:
            yield e
        finally:
            e.http.close()
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        maas.close()


# =================================================================================================
# Running one cell on one interface
# =================================================================================================
@dataclass
class Outcome:
    kind: str  # allowed, denied, error
    value: Any = None
    message: str = ""


def _call_core(fn: Callable[[], Any], falsy_is_denial: bool = False) -> Outcome:
    try:
        value = fn()
    except PermissionDeniedError as exc:
        return Outcome("denied", message=exc.message)
    except Exception as exc:
        code = getattr(exc, "code", type(exc).__name__)
        return Outcome("error", message=f"{code}: {exc}")
    if falsy_is_denial and value in (None, False):
        return Outcome("denied", message="returned None/False (raise_on_denial is on: should have raised)")
    return Outcome("allowed", value)


def tool_call(env: Env, cell: Cell, name: str, args: dict[str, Any]) -> Outcome:
    p = cell.principal
    assert p is not None
    if cell.iface == "toolkit":
        kit, tools = env.toolkits[p.name]
        if name in tools:
            body = json.loads(tools[name].invoke(args))
        else:  # a read-only toolkit leaves writers out: call them through its context to see the refusal
            from maas_langchain.adapters.tools.registry import execute
            from maas_langchain.adapters.tools.specs import get_spec

            body = execute(get_spec(name), kit.context, args).as_dict()
    elif cell.iface == "rest":
        return rest_call(env, p, name, args)
    else:
        assert env.http is not None and env.mcp_url is not None
        if p.key_state == "expired":
            time.sleep(max(0.0, env.key_expiry - time.time() + 0.05))
        request = {"jsonrpc": "2.0", "id": env.counter, "method": "tools/call",
                   "params": {"name": name, "arguments": args}}  # fmt: skip
        headers = {"accept": "application/json, text/event-stream", "authorization": f"Bearer {env.keys[p.name]}"}
        response = env.http.post(env.mcp_url, json=request, headers=headers)
        if response.status_code == 401:
            return Outcome("denied", message=f"HTTP 401 {response.text[:200]}")
        if response.status_code != 200:
            return Outcome("error", message=f"HTTP {response.status_code} {response.text[:300]}")
        reply = response.json()
        if "error" in reply:
            return Outcome("error", message=f"JSON-RPC error {reply['error']}")
        body = json.loads(reply["result"]["content"][0]["text"])
    if body["ok"]:
        return Outcome("allowed", body["result"])
    err = body["error"]
    if err["code"] == "permission_denied":
        return Outcome("denied", message=err["message"])
    return Outcome("error", message=f"{err['code']}: {err['message']}")


def rest_call(env: Env, p: Principal, name: str, args: dict[str, Any]) -> Outcome:
    """The tool call ``name(args)`` sent to the REST route of the same operation."""
    from maas_langchain.adapters.rest.routes import ROUTES

    assert env.http is not None and env.mcp_url is not None
    if p.key_state == "expired":
        time.sleep(max(0.0, env.key_expiry - time.time() + 0.05))
    route = next(r for r in ROUTES if r.operation == name and not r.operation_id)
    rest = dict(args)
    path = route.path
    for part in [s[1:-1] for s in route.path.split("/") if s.startswith("{")]:
        path = path.replace("{" + part + "}", str(rest.pop(part, p.agent)))
    url = env.mcp_url.removesuffix("/mcp") + path
    headers = {"authorization": f"Bearer {env.keys[p.name]}"}
    if route.method == "GET":
        response = env.http.request("GET", url, params=rest, headers=headers)
    else:
        response = env.http.request(route.method, url, json=rest or None, headers=headers)
    if response.status_code in (401, 403):
        return Outcome("denied", message=f"HTTP {response.status_code} {response.text[:200]}")
    body = response.json()
    if response.status_code >= 300:
        return Outcome("error", message=f"HTTP {response.status_code} {body}")
    return Outcome("allowed", body)


def run_cell(env: Env, cell: Cell) -> tuple[Outcome, Any]:
    """Run the cell; return its outcome and the value to compare with ``cell.value``."""
    env.counter += 1
    m, a, p = env.maas, cell.args, cell.principal
    agent = None if p is None else p.agent
    op = cell.op
    # ---- trusted reads
    if op.startswith("recall_desc="):
        out = _call_core(lambda: m.memories.recall(QUERY, scope=a["scope"], top_k=100, descendants=a["descendants"]))
        return out, None if out.kind != "allowed" else env.seeded(h.memory.memory_id for h in out.value)
    if op == "history":
        out = _call_core(lambda: m.memories.history(scope=a["scope"]))
        return out, None if out.kind != "allowed" else env.seeded(x.memory_id for x in out.value)
    if op == "session_recall":
        def session_recall() -> Any:
            with MaaSClient(m).sessions.create(scope=a["scope"]) as s:
                return s.recall(QUERY, top_k=100)

        out = _call_core(session_recall)
        return out, None if out.kind != "allowed" else env.seeded(i.memory_id for i in out.value.items)
    # ---- core with an acting agent
    if cell.iface == "core":
        out = _run_core(env, cell, agent)
        return out, out.value
    if cell.iface == "store":
        return _run_store(env, cell)
    return _run_tool(env, cell)


def _run_core(env: Env, cell: Cell, agent: str | None) -> Any:
    m, a, op = env.maas, cell.args, cell.op
    if op == "get_memory":
        return _call_core(lambda: m.memories.get(env.mem[a["memory"]], as_agent=agent), falsy_is_denial=True)
    if op == "forget_memory":
        scope, author = MEMORIES[a["memory"]]
        copy_id = m.memories.remember(f"copy of {a['memory']} #{env.counter}", scope=scope, author_id=author).memory_id
        return _call_core(lambda: m.memories.forget(copy_id, actor_id=agent), falsy_is_denial=True)
    if op in ("join_pool", "leave_pool", "share", "unshare", "delete_pool", "archive_pool"):
        pool = env.fresh_pool(a["pool"])
        if op == "join_pool":
            before = m.pools.get_permission(pool, a["member"]) if WORLD.agent(a["member"]).registered else None
            out = _call_core(lambda: m.pools.join_pool(pool, a["member"], a["permission"], actor_id=agent), True)
            _check_membership(m, pool, a, out, before)
            return out
        if op == "leave_pool":
            return _call_core(lambda: m.pools.leave_pool(pool, a["member"], actor_id=agent), True)
        if op == "share":
            return _call_core(lambda: m.pools.share_memory(pool, env.mem.get(a["memory"], a["memory"]), agent,
                                                           a["level"]), True)  # fmt: skip
        if op == "unshare":
            return _call_core(lambda: m.pools.unshare_memory(pool, env.mem[a["memory"]], agent), True)
        if op == "delete_pool":
            return _call_core(lambda: m.pools.delete_pool(pool, actor_id=agent), True)
        return _call_core(lambda: m.pools.archive_pool(pool, actor_id=agent), True)
    if op == "query_shared":
        out = _call_core(lambda: m.pools.query_shared(env.pools["PG"], agent, a["max_scope"], limit=1000))
        if out.kind == "allowed":
            out.value = env.seeded(s.memory_id for s in out.value)
        return out
    if op == "get_handoff":
        return _call_core(lambda: m.handoffs.get_handoff(env.handoffs[a["handoff"]], agent), True)
    if op == "handoff_memories":
        out = _call_core(lambda: m.handoffs.get_handoff_memories(env.handoffs[a["handoff"]], agent))
        if out.kind == "allowed":
            out.value = env.seeded(s.memory_id for s in out.value)
        return out
    if op in ("accept_handoff", "cancel_handoff"):
        hid = env.handoffs[a["handoff"]]
        if a["action"] == "accept":
            return _call_core(lambda: m.handoffs.accept_handoff(hid, agent), True)
        return _call_core(lambda: m.handoffs.cancel_handoff(hid, agent), True)
    if op == "search_code_kb":
        return _call_core(lambda: m.kb.code.search_code_kb("deployment pipeline", None, 5, agent_id=agent))
    raise AssertionError(f"no core runner for {op}")


def _check_membership(m: MaaS, pool: str, a: dict[str, Any], out: Outcome, before: Any) -> None:
    if not WORLD.agent(a["member"]).registered:
        return
    after = m.pools.get_permission(pool, a["member"])
    if out.kind == "allowed":
        out.value = None if after is None else after.value
        if out.value != a["permission"]:
            out.kind, out.message = "error", f"allowed, but the permission is now {out.value}"
    elif after != before:
        out.message += f" [membership changed anyway: {before} -> {after}]"
        out.kind = "error"


def _run_store(env: Env, cell: Cell) -> tuple[Outcome, Any]:
    m, a, op, p = env.maas, cell.args, cell.op, cell.principal
    assert p is not None

    def ns_of(ns: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(env.pools["PG"] if (part == "PG" and i == 1) else part for i, part in enumerate(ns))

    if op.startswith("thread_"):
        cfg = {"configurable": {"thread_id": a["thread"], "checkpoint_ns": ""}}
        if op == "thread_read":
            out = _call_core(lambda: env.checkpointer(p.agent).get_tuple(cfg))
            if out.kind == "allowed" and out.value is None:
                out = Outcome("error", message="allowed but the thread looked empty")
            return out, None
        return _call_core(lambda: env.checkpointer(p.agent).delete_thread(a["thread"])), None
    view = m.store(agent_id=p.agent)
    if op == "get":
        out = _call_core(lambda: view.get(ns_of(a["ns"]), "k"))
        value = None
        if out.kind == "allowed":
            value = None if out.value is None else out.value.value.get("tag")
        return out, value
    if op == "put":
        return _call_core(lambda: view.put(ns_of(a["ns"]), f"cell-{env.counter}", {"tag": "cell"})), None
    if op == "delete":
        key = f"del-{env.counter}"
        stored = ns_of(a["ns"]) if a["ns"][0] in ("pools", "users", "agents") else ("agents", p.agent, *a["ns"])
        m.store().put(stored, key, {"tag": "to-delete"})
        out = _call_core(lambda: view.delete(ns_of(a["ns"]), key))
        still = m.store().get(stored, key) is not None
        if out.kind == "allowed" and still:
            out = Outcome("error", message="allowed but the item is still there")
        if out.kind == "denied" and not still:
            out.kind, out.message = "error", out.message + " [denied but the item was deleted]"
        return out, None
    if op == "search":
        out = _call_core(lambda: view.search(a["prefix"], limit=1000))
        tags = None
        if out.kind == "allowed":
            tags = frozenset(i.value.get("tag") for i in out.value) & frozenset(STORE_ITEMS.values())
        return out, tags
    raise AssertionError(op)


def _run_tool(env: Env, cell: Cell) -> tuple[Outcome, Any]:
    a, op, p = cell.args, cell.op, cell.principal
    assert p is not None
    m = env.maas
    if op == "recall":
        args: dict[str, Any] = {"query": QUERY, "top_k": 100}
        if a["scope"] is not None:
            args["scope"] = a["scope"]
        out = tool_call(env, cell, "recall", args)
        return out, None if out.kind != "allowed" else env.seeded(x["memory_id"] for x in out.value["memories"])
    if op == "remember":
        args = {"content": f"cell {env.counter} remembers a pipeline fact"}
        if a["scope"] is not None:
            args["scope"] = a["scope"]
        out = tool_call(env, cell, "remember", args)
        return out, None if out.kind != "allowed" else frozenset(out.value["scope"].items())
    if op == "join_pool":
        pool = env.fresh_pool(a["pool"])
        before = m.pools.get_permission(pool, a["member"]) if WORLD.agent(a["member"]).registered else None
        args = {"pool_id": pool, "permission": a["permission"]}
        if a["member"] != p.agent:
            args["agent_id"] = a["member"]
        out = tool_call(env, cell, "join_pool", args)
        _check_membership(m, pool, a, out, before)
        return out, None
    if op == "leave_pool":
        pool = env.fresh_pool(a["pool"])
        args = {"pool_id": pool}
        if a["member"] != p.agent:
            args["agent_id"] = a["member"]
        return tool_call(env, cell, "leave_pool", args), None
    if op == "share":
        pool = env.fresh_pool(a["pool"])
        mem = env.mem.get(a["memory"], a["memory"])
        out = tool_call(env, cell, "share_memory_to_scope", {"pool_id": pool, "memory_id": mem, "scope": a["level"]})
        return out, None
    if op == "query_shared":
        out = tool_call(env, cell, "query_shared", {"pool_id": env.pools["PG"], "max_scope": a["max_scope"],
                                                    "limit": 100})  # fmt: skip
        return out, None if out.kind != "allowed" else env.seeded(s["memory_id"] for s in out.value["memories"])
    if op == "get_handoff":
        return tool_call(env, cell, "get_handoff", {"handoff_id": env.handoffs[a["handoff"]]}), None
    if op in ("accept_handoff", "cancel_handoff"):
        return tool_call(env, cell, op, {"handoff_id": env.handoffs[a["handoff"]]}), None
    if op == "search_code_kb":
        return tool_call(env, cell, "search_code_kb", {"query": "deployment pipeline", "limit": 3}), None
    if op == "create_pool":
        out = tool_call(env, cell, "create_pool", {"name": f"tool-pool-{env.counter}", "scope": "global"})
        if out.kind == "allowed":
            perm = m.pools.get_permission(out.value["pool_id"], p.agent)
            if perm is None or perm.value != "admin":
                out = Outcome("error", message=f"created, but the creator's permission is {perm}")
        return out, None
    raise AssertionError(op)


@pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
def test_cell(env: Env, cell: Cell) -> None:
    before = env.denial_seq()
    outcome, value = run_cell(env, cell)
    new = env.denials_since(before)
    CELLS_RUN.append(cell.id)
    expected = "allowed" if cell.allowed else "denied"
    problems = []
    if outcome.kind != expected:
        problems.append(f"expected {expected}, got {outcome.kind}: {outcome.message[:400]}")
    elif cell.allowed and cell.value is not None and value != cell.value:
        missing = sorted(set(cell.value) - set(value or ())) if isinstance(cell.value, frozenset) else cell.value
        extra = sorted(set(value or ()) - set(cell.value)) if isinstance(cell.value, frozenset) else value
        problems.append(f"visible/value mismatch: missing={missing} extra={extra}")
    if outcome.kind == "denied":
        if len(new) != 1:
            problems.append(f"a denial must leave exactly one PERMISSION_DENIED audit row, found {len(new)}")
        elif not (new[0].reason or "").strip():
            problems.append("the PERMISSION_DENIED row has no reason")
    elif outcome.kind == "allowed" and new:
        problems.append(f"an allowed call left {len(new)} PERMISSION_DENIED rows: {[r.reason for r in new][:3]}")
    assert not problems, f"{cell.id}: " + "; ".join(problems)


# =================================================================================================
# The four breaches, as named regression tests
# =================================================================================================
def _tool_json(tool: Any, args: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(tool.invoke(args))
    return body


def _denied(body: dict[str, Any]) -> bool:
    return (not body["ok"]) and body["error"]["code"] == "permission_denied"


def test_breach_1_cross_org_partial_scope(env: Env) -> None:
    assert env.mcp_url is not None
    m = env.maas
    acme = m.keys.create_key(A1, scope_floor={"org": "acme", "project": "q3"}).secret
    globex = m.keys.create_key(C1, scope_floor={"org": "globex", "project": "q3"}).secret
    marks = {"acme": f"acme-secret-{uuid.uuid4().hex[:8]}", "globex": f"globex-secret-{uuid.uuid4().hex[:8]}"}

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with mcp_session(env.mcp_url, globex) as g, mcp_session(env.mcp_url, acme) as a:
            before = env.denial_seq()
            partial = payload(await g.call_tool("remember", {"content": f"{marks['globex']} q3 pricing", "scope": {"project": "q3"}}))
            seen["partial"] = partial
            seen["partial_denials"] = env.denials_since(before)
            seen["g_write"] = payload(await g.call_tool("remember", {"content": f"{marks['globex']} q3 pricing"}))
            seen["a_write"] = payload(await a.call_tool("remember", {"content": f"{marks['acme']} q3 pricing"}))
            seen["a_partial"] = payload(await a.call_tool("remember", {"content": f"{marks['acme']} partial", "scope": {"project": "q3"}}))
            seen["g_recall"] = payload(await g.call_tool("recall", {"query": "q3 pricing secret", "top_k": 100}))
            seen["a_recall"] = payload(await a.call_tool("recall", {"query": "q3 pricing secret", "top_k": 100}))
        return seen

    seen = anyio.run(scenario)
    assert _denied(seen["partial"]), seen["partial"]
    assert len(seen["partial_denials"]) == 1 and seen["partial_denials"][0].reason
    assert _denied(seen["a_partial"]), seen["a_partial"]
    assert marks["acme"] not in json.dumps(seen["g_recall"])
    assert marks["globex"] not in json.dumps(seen["a_recall"])
    # MaaSClient sessions at partial scopes never see {org: acme, project: r, agent: w1}
    client = MaaSClient(m)
    with client.sessions.create(scope={"org": "acme", "project": "r", "agent": "w1"}) as writer:
        secret = writer.remember(f"acme r w1 private plan {uuid.uuid4().hex[:6]}").content
    for partial_scope in ({"agent": "w1"}, {"project": "r"}):
        with client.sessions.create(scope=partial_scope) as s:
            items = s.recall("private plan acme r w1", top_k=100).items
        assert secret not in [i.content for i in items], partial_scope
        assert env.mem["m_acme_r_w1"] not in [i.memory_id for i in items], partial_scope


def _breach_2(toolkit_for: Callable[[str], Callable[[str, dict[str, Any]], dict[str, Any]]], env: Env) -> None:
    m = env.maas
    pool = m.pools.create_pool(f"breach2-{uuid.uuid4().hex[:6]}", owner_id="u1", scope="global")
    m.pools.join_pool(pool, A1, "admin")
    m.pools.join_pool(pool, A2, "read")
    reader, admin = toolkit_for(A2), toolkit_for(A1)
    before = env.denial_seq()
    upgrade = reader("join_pool", {"pool_id": pool, "permission": "write"})
    assert _denied(upgrade), upgrade
    assert len(env.denials_since(before)) == 1
    assert m.pools.get_permission(pool, A2).value == "read"
    removed = admin("leave_pool", {"pool_id": pool, "agent_id": A2})
    assert removed["ok"], removed
    before = env.denial_seq()
    rejoin = reader("join_pool", {"pool_id": pool, "permission": "read"})
    assert _denied(rejoin), rejoin
    assert len(env.denials_since(before)) == 1
    assert m.pools.get_permission(pool, A2) is None


def test_breach_2_read_to_write_self_upgrade(env: Env) -> None:
    from maas_langchain.adapters.tools.langchain import MaaSToolkit

    def toolkit_for(agent: str) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
        tools = {t.name: t for t in MaaSToolkit(env.maas, agent_id=agent).get_tools()}
        return lambda name, args: _tool_json(tools[name], args)

    _breach_2(toolkit_for, env)

    keys = {A1: env.maas.keys.create_key(A1).secret, A2: env.maas.keys.create_key(A2).secret}

    def mcp_for(agent: str) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
        def call(name: str, args: dict[str, Any]) -> dict[str, Any]:
            async def go() -> dict[str, Any]:
                async with mcp_session(env.mcp_url, keys[agent]) as s:
                    return payload(await s.call_tool(name, args))

            return anyio.run(go)

        return call

    _breach_2(mcp_for, env)


def test_breach_3_share_unreadable_memory_by_id(env: Env) -> None:
    from maas_langchain.adapters.tools.langchain import MaaSToolkit

    m = env.maas
    secret = f"session-only secret {uuid.uuid4().hex[:8]} about the acme launch"
    with MaaSClient(m).sessions.create(scope={"org": "acme", "project": "launch"}) as s:
        memory_id = s.remember(secret).memory_id
    # toolkit
    tools = {t.name: t for t in MaaSToolkit(m, agent_id=C1).get_tools()}
    created = _tool_json(tools["create_pool"], {"name": "c1-own", "scope": "global"})
    assert created["ok"], created
    pool = created["result"]["pool_id"]
    before = env.denial_seq()
    shared = _tool_json(tools["share_memory_to_scope"], {"pool_id": pool, "memory_id": memory_id, "scope": "global"})
    assert _denied(shared), shared
    assert len(env.denials_since(before)) == 1
    got = _tool_json(tools["query_shared"], {"pool_id": pool})
    assert secret not in json.dumps(got)
    # MCP
    key = m.keys.create_key(C1).secret

    async def go() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with mcp_session(env.mcp_url, key) as session:
            made = payload(await session.call_tool("create_pool", {"name": "c1-mcp", "scope": "global"}))
            pid = made["result"]["pool_id"]
            sh = payload(await session.call_tool("share_memory_to_scope", {"pool_id": pid, "memory_id": memory_id,
                                                                           "scope": "global"}))  # fmt: skip
            q = payload(await session.call_tool("query_shared", {"pool_id": pid}))
            return made, sh, q

    made, sh, q = anyio.run(go)
    assert made["ok"], made
    assert _denied(sh), sh
    assert secret not in json.dumps(q)


def test_breach_4_one_tenant_exhausts_capacity(tmp_path: Path) -> None:
    from maas_langchain.adapters.tools.langchain import MaaSToolkit

    quota = 3
    with open_home(tmp_path / "cap", limits={"max_memories_per_owner": quota}) as m:
        greedy = m.agents.register_agent(AgentType.GPT_AGENT, "tenant-a", project_id="pa")
        other = m.agents.register_agent(AgentType.GPT_AGENT, "tenant-b", project_id="pb")
        g = {t.name: t for t in MaaSToolkit(m, agent_id=greedy).get_tools()}
        o = {t.name: t for t in MaaSToolkit(m, agent_id=other).get_tools()}
        for i in range(quota):
            assert _tool_json(g["remember"], {"content": f"tenant a fact {i}"})["ok"]
        over = _tool_json(g["remember"], {"content": "tenant a one too many"})
        assert not over["ok"] and over["error"]["code"] == "capacity_exceeded", over
        mine = _tool_json(o["remember"], {"content": "tenant b still writes"})
        assert mine["ok"], mine


def test_zz_cell_count() -> None:
    """Runs last (module order): every cell of the matrix was asserted."""
    print(f"\naccess matrix: {len(CELLS_RUN)} cells asserted of {len(CELLS)} defined")
    by_iface: dict[str, int] = {}
    for cid in CELLS_RUN:
        by_iface[cid.split("|")[0]] = by_iface.get(cid.split("|")[0], 0) + 1
    print("by interface:", by_iface)
    assert len(CELLS) > MIN_CELLS
    if len(CELLS_RUN) < len(CELLS):
        pytest.skip(f"only {len(CELLS_RUN)} of {len(CELLS)} cells ran in this session (a -k selection?)")
