"""DESIGN.md §5, pools and scopes — on every backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from maas_langchain import (
    AgentCapability,
    AgentType,
    AuditEventType,
    CapacityExceededError,
    ConflictError,
    InvalidInputError,
    MaaS,
    PermissionDeniedError,
    PermissionModel,
    PoolStatus,
    SharedScope,
)
from maas_langchain.embeddings import HashingEmbeddings

S = SharedScope
P = PermissionModel


def _agent(maas: MaaS, owner: str, project: str | None = None, team: str | None = None) -> str:
    return maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id=owner, project_id=project, team_id=team)


@pytest.fixture
def world(maas: MaaS) -> dict[str, str]:
    """Five authors/readers in one GLOBAL pool, differing in owner, project and team."""
    agents = {
        "author": _agent(maas, "alice", "apollo", "red"),
        "same_owner": _agent(maas, "alice", "zeus", "blue"),
        "same_project": _agent(maas, "bob", "apollo", "blue"),
        "same_team": _agent(maas, "carol", "hermes", "red"),
        "stranger": _agent(maas, "dave", "hermes", "green"),
    }
    pool = maas.pools.create_pool("shared", owner_id="alice", scope=S.GLOBAL)
    for agent_id in agents.values():
        assert maas.pools.join_pool(pool, agent_id, P.WRITE)
    for scope in S:
        assert maas.pools.share_memory(pool, f"mem-{scope.value}", agents["author"], scope)
    return {**agents, "pool": pool}


def _seen(maas: MaaS, world: dict[str, str], reader: str, max_scope: SharedScope = S.GLOBAL) -> set[str]:
    return {m.memory_id for m in maas.pools.query_shared(world["pool"], world[reader], max_scope)}


@pytest.mark.parametrize(
    ("reader", "levels"),
    [
        ("author", {"agent_private", "user", "project", "team", "global"}),
        ("same_owner", {"user", "global"}),
        ("same_project", {"project", "global"}),
        ("same_team", {"team", "global"}),
        ("stranger", {"global"}),
    ],
)
def test_each_scope_names_an_audience(maas: MaaS, world: dict[str, str], reader: str, levels: set[str]) -> None:
    assert _seen(maas, world, reader) == {f"mem-{level}" for level in levels}


@pytest.mark.parametrize("max_scope", list(SharedScope))
def test_max_scope_only_narrows(maas: MaaS, world: dict[str, str], max_scope: SharedScope) -> None:
    for reader in ("author", "same_owner", "same_project", "same_team", "stranger"):
        full = _seen(maas, world, reader)
        narrowed = _seen(maas, world, reader, max_scope)
        assert narrowed <= full
        assert narrowed == {m for m in full if S(m.removeprefix("mem-")) <= max_scope}


def test_project_reader_sees_project_or_lower_but_not_team_or_global(maas: MaaS, world: dict[str, str]) -> None:
    """The specification's sentence, read as the max_scope filter."""
    seen = _seen(maas, world, "author", S.PROJECT)
    assert seen == {"mem-agent_private", "mem-user", "mem-project"}


def test_non_members_read_nothing(maas: MaaS, world: dict[str, str]) -> None:
    outsider = _agent(maas, "alice", "apollo", "red")  # same audience keys as the author, not a member
    assert maas.pools.query_shared(world["pool"], outsider) == []
    denied = maas.audit.query(event_type=AuditEventType.PERMISSION_DENIED, actor=outsider)
    assert len(denied) == 1 and "not a member" in (denied[0].reason or "")


def test_filtering_happens_in_storage_so_limit_is_never_starved(maas: MaaS) -> None:
    noisy, reader = _agent(maas, "mallory"), _agent(maas, "alice")
    pool = maas.pools.create_pool("p", owner_id="alice", scope=S.GLOBAL)
    maas.pools.join_pool(pool, noisy, P.WRITE)
    maas.pools.join_pool(pool, reader, P.WRITE)
    for i in range(5):
        maas.pools.share_memory(pool, f"visible-{i}", noisy, S.GLOBAL)
    for i in range(300):  # newer than the visible ones, invisible to the reader
        maas.pools.share_memory(pool, f"private-{i}", noisy, S.AGENT_PRIVATE)
    page = maas.pools.query_shared(pool, reader, limit=5)
    assert [m.memory_id for m in page] == [f"visible-{i}" for i in reversed(range(5))]


def test_query_pages_newest_first(maas: MaaS) -> None:
    a = _agent(maas, "alice")
    pool = maas.pools.create_pool("p", owner_id="alice", scope=S.GLOBAL)
    maas.pools.join_pool(pool, a, P.WRITE)
    for i in range(7):
        maas.pools.share_memory(pool, f"m{i}", a, S.GLOBAL)
    first = maas.pools.query_shared(pool, a, limit=3)
    second = maas.pools.query_shared(pool, a, limit=3, offset=3)
    assert [m.memory_id for m in first + second] == ["m6", "m5", "m4", "m3", "m2", "m1"]


def test_a_share_cannot_be_wider_than_its_pool(maas: MaaS) -> None:
    a = _agent(maas, "alice")
    pool = maas.pools.create_pool("p", owner_id="alice", scope=S.PROJECT)
    maas.pools.join_pool(pool, a, P.WRITE)
    with pytest.raises(InvalidInputError, match="wider than pool"):
        maas.pools.share_memory(pool, "m", a, S.GLOBAL)
    assert maas.pools.query_shared(pool, a) == []


def test_read_permission_cannot_share(maas: MaaS) -> None:
    a = _agent(maas, "alice")
    pool = maas.pools.create_pool("p", owner_id="alice", scope=S.GLOBAL)
    maas.pools.join_pool(pool, a, P.READ)
    assert maas.pools.share_memory(pool, "m", a, S.GLOBAL) is False


def test_membership_management_needs_admin(maas: MaaS) -> None:
    admin, writer, newcomer = _agent(maas, "alice"), _agent(maas, "alice"), _agent(maas, "bob")
    pool = maas.pools.create_pool("p", owner_id="alice", scope=S.GLOBAL, admin_agent_id=admin)
    assert maas.pools.get_permission(pool, admin) is P.ADMIN
    assert maas.pools.join_pool(pool, writer, P.WRITE, actor_id=admin)
    # a WRITE member can neither add others, nor promote itself, nor archive or delete the pool
    assert maas.pools.join_pool(pool, newcomer, P.READ, actor_id=writer) is False
    assert maas.pools.join_pool(pool, writer, P.ADMIN, actor_id=writer) is False
    assert maas.pools.leave_pool(pool, admin, actor_id=writer) is False
    assert maas.pools.archive_pool(pool, actor_id=writer) is False
    assert maas.pools.delete_pool(pool, actor_id=writer) is False
    assert maas.pools.get_permission(pool, writer) is P.WRITE
    assert maas.pools.get_permission(pool, newcomer) is None
    # the admin can; any member can leave on its own
    assert maas.pools.join_pool(pool, writer, P.READ, actor_id=admin)
    assert maas.pools.get_permission(pool, writer) is P.READ
    assert maas.pools.leave_pool(pool, writer, actor_id=writer)
    denied = maas.audit.query(event_type=AuditEventType.PERMISSION_DENIED)
    assert [e.action for e in denied] == ["join", "join", "leave", "archive", "delete"]
    assert all("ADMIN is needed" in (e.reason or "") for e in denied)


def test_pools_admit_members_by_invitation_only(maas: MaaS) -> None:
    """No agent-bound caller joins uninvited, raises itself, or rejoins after removal (security.md)."""
    own, foreign, admin = _agent(maas, "alice"), _agent(maas, "bob"), _agent(maas, "alice")
    pool = maas.pools.create_pool("p", owner_id="alice", scope=S.GLOBAL, admin_agent_id=admin)
    assert maas.pools.join_pool(pool, own, P.WRITE, actor_id=own) is False  # even its owner's pool
    assert maas.pools.join_pool(pool, foreign, P.READ, actor_id=foreign) is False
    assert maas.pools.join_pool(pool, own, P.READ, actor_id=admin)  # invited
    assert maas.pools.join_pool(pool, own, P.WRITE, actor_id=own) is False  # no self-upgrade
    assert maas.pools.join_pool(pool, own, P.ADMIN, actor_id=own) is False
    assert maas.pools.get_permission(pool, own) is P.READ
    assert maas.pools.leave_pool(pool, own, actor_id=admin)  # removed by an ADMIN
    assert maas.pools.join_pool(pool, own, P.READ, actor_id=own) is False  # no rejoin
    assert maas.pools.get_permission(pool, own) is None
    denied = maas.audit.query(event_type=AuditEventType.PERMISSION_DENIED)
    assert [e.action for e in denied] == ["join"] * 5 and all(e.reason for e in denied)


def test_archived_pool_is_read_only_and_delete_removes_everything(maas: MaaS) -> None:
    a = _agent(maas, "alice")
    pool = maas.pools.create_pool("p", owner_id="alice", scope=S.GLOBAL)
    maas.pools.join_pool(pool, a, P.WRITE)
    maas.pools.share_memory(pool, "kept", a, S.GLOBAL)
    assert maas.pools.archive_pool(pool)
    archived = maas.pools.get_pool(pool)
    assert archived is not None and archived.status is PoolStatus.ARCHIVED
    with pytest.raises(ConflictError, match="archived"):
        maas.pools.share_memory(pool, "new", a, S.GLOBAL)
    assert [m.memory_id for m in maas.pools.query_shared(pool, a)] == ["kept"]
    assert maas.pools.delete_pool(pool)
    assert maas.pools.get_pool(pool) is None
    assert maas.pools.list_pools(agent_id=a) == []


def test_resharing_by_the_author_updates_and_by_another_conflicts(maas: MaaS) -> None:
    a, b = _agent(maas, "alice"), _agent(maas, "bob")
    pool = maas.pools.create_pool("p", owner_id="alice", scope=S.GLOBAL)
    maas.pools.join_pool(pool, a, P.WRITE)
    maas.pools.join_pool(pool, b, P.WRITE)
    maas.pools.share_memory(pool, "m", a, S.GLOBAL)
    maas.pools.share_memory(pool, "m", a, S.AGENT_PRIVATE, metadata={"v": 2})
    with pytest.raises(ConflictError):
        maas.pools.share_memory(pool, "m", b, S.GLOBAL)
    assert maas.pools.query_shared(pool, b) == []
    (mine,) = maas.pools.query_shared(pool, a)
    assert mine.scope is S.AGENT_PRIVATE and mine.metadata == {"v": 2}


def test_pool_capacities_are_settings(open_maas) -> None:
    maas = open_maas(limits={"max_members_per_pool": 2, "max_shared_memories_per_pool": 3, "max_pools": 1})
    a, b, c = (_agent(maas, "alice") for _ in range(3))
    pool = maas.pools.create_pool("p", owner_id="alice", scope=S.GLOBAL)
    with pytest.raises(CapacityExceededError):
        maas.pools.create_pool("q", owner_id="alice")
    maas.pools.join_pool(pool, a, P.WRITE)
    maas.pools.join_pool(pool, b, P.WRITE)
    with pytest.raises(CapacityExceededError):
        maas.pools.join_pool(pool, c, P.READ)
    assert maas.pools.join_pool(pool, b, P.READ)  # changing a permission is not a new member
    for i in range(3):
        maas.pools.share_memory(pool, f"m{i}", a, S.GLOBAL)
    with pytest.raises(CapacityExceededError):
        maas.pools.share_memory(pool, "m3", a, S.GLOBAL)
    maas.pools.share_memory(pool, "m0", a, S.USER)  # re-sharing is not a new share
    assert len(maas.pools.query_shared(pool, a)) == 3


def test_one_cross_agent_read_audit_entry_per_query(maas: MaaS, world: dict[str, str]) -> None:
    before = maas.audit.count()
    found = maas.pools.query_shared(world["pool"], world["same_owner"])
    assert len(found) == 2
    events = maas.audit.query(event_type=AuditEventType.CROSS_AGENT_READ)
    assert maas.audit.count() == before + 1
    assert len(events) == 1 and events[0].details["count"] == 2
    assert events[0].details["authors"] == [world["author"]]
    maas.pools.query_shared(world["pool"], world["author"], S.AGENT_PRIVATE)  # own memories only
    assert maas.audit.count() == before + 1


def test_pools_per_owner_are_capped_without_touching_other_owners(open_maas: Callable[..., MaaS]) -> None:
    maas = open_maas(limits={"max_pools_per_owner": 2})
    first = maas.pools.create_pool("a", owner_id="u1")
    maas.pools.create_pool("b", owner_id="u1")
    with pytest.raises(CapacityExceededError, match="max_pools_per_owner"):
        maas.pools.create_pool("c", owner_id="u1")
    assert maas.pools.create_pool("c", owner_id="u2")  # another tenant is unaffected
    assert maas.pools.delete_pool(first)  # deleting frees the owner's quota
    assert maas.pools.create_pool("c", owner_id="u1")


def test_sharing_cannot_probe_which_memory_ids_exist(open_maas: Callable[..., MaaS]) -> None:
    """docs/security.md, "Memories by id": a memory id that names no memory is denied exactly like
    a stored memory the sharer cannot read (same error, same message, one audit row); a string that
    is not a memory id is still an external reference."""
    maas = open_maas(embeddings=HashingEmbeddings(), vectors="bruteforce", raise_on_denial=True)
    caps = [AgentCapability.MEMORY_READ, AgentCapability.MEMORY_WRITE]
    writer, prober = (
        maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id=owner, project_id=project, capabilities=caps)
        for owner, project in (("alice", "apollo"), ("dave", "hermes"))
    )
    pool = maas.pools.create_pool("p", owner_id="alice", scope=S.GLOBAL)
    for agent in (writer, prober):
        maas.pools.join_pool(pool, agent, P.WRITE)
    hidden = maas.memories.remember("the launch date is 3 May", as_agent=writer).memory_id
    seen = []
    for memory_id in (hidden, "00000000-0000-4000-8000-00000000abcd"):
        before = maas.audit.count()
        with pytest.raises(PermissionDeniedError) as raised:
            maas.pools.share_memory(pool, memory_id, prober, S.GLOBAL)
        rows = maas.audit.query(after_seq=before)
        seen.append(
            (
                raised.value.message.replace(memory_id, "<id>"),
                sorted(raised.value.details),
                [(e.event_type, e.outcome, e.actor, (e.reason or "").replace(memory_id, "<id>")) for e in rows],
            )
        )
    assert seen[0] == seen[1]
    assert len(seen[0][2]) == 1
    assert maas.pools.share_memory(pool, "mem-bug-123", prober, S.GLOBAL)  # an external reference
    assert [m.memory_id for m in maas.pools.query_shared(pool, prober)] == ["mem-bug-123"]
