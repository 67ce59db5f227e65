"""Shared memory pools: membership with permissions, sharing at a scope, scoped queries.

Who may do what (DESIGN.md §5):

* ``share_memory`` needs MEMORY_WRITE and WRITE in the pool; the scope may not exceed the
  pool's scope. ``query_shared`` needs MEMORY_READ and membership; it returns what the reader's
  audience admits, at levels up to ``max_scope``, newest first, filtered inside storage.
* Membership management — adding *another* agent, changing a permission, archiving, deleting —
  needs ADMIN in the pool when an ``actor_id`` is given. Calls without ``actor_id`` come from
  the trusted orchestrator (the in-process Python API) and are allowed.
* Every refusal of a call made for an agent (the ``agent_id`` that shares, unshares or queries;
  the ``actor_id`` managing members) is audited once, malformed arguments included.

Example:
    >>> from maas_langchain import MaaS, AgentType, PermissionModel, SharedScope
    >>> maas = MaaS.open(":memory:")
    >>> a = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1")
    >>> pool = maas.pools.create_pool("auth-refactor", owner_id="u1", scope=SharedScope.PROJECT)
    >>> maas.pools.join_pool(pool, a, PermissionModel.WRITE)
    True
    >>> maas.pools.share_memory(pool, "mem-bug-123", a, SharedScope.PROJECT)
    True
    >>> [m.memory_id for m in maas.pools.query_shared(pool, a, SharedScope.PROJECT)]
    ['mem-bug-123']
    >>> maas.close()
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maas_langchain.core.access import (
    admit_member,
    load_actor,
    pool_quota_counter,
    reader_audience,
    require_founding_admin,
    require_leave,
    require_pool_admin,
    require_quota,
    require_unshare,
    share_grant,
)
from maas_langchain.core.enums import (
    AuditEventType,
    EventKind,
    PermissionModel,
    PoolStatus,
    SharedScope,
)
from maas_langchain.core.ports.state import StateTx
from maas_langchain.core.records import Agent, Membership, Pool, SharedMemory
from maas_langchain.core.runtime import AuditEntry, Runtime, audit_refusals, default_runtime
from maas_langchain.core.scopes import ScopeHierarchy
from maas_langchain.core.screening import redact_share
from maas_langchain.core.validation import (
    check_id,
    check_json,
    check_memory_id,
    check_offset,
    check_optional_text,
    check_positive_int,
    check_text,
    new_id,
)
from maas_langchain.errors import (
    CapacityExceededError,
    ConcurrentWriteError,
    ConflictError,
    NotFoundError,
)

__all__ = ["PoolRegistry", "load_agent", "load_pool"]

_POOL = AuditEventType.POOL_OPERATION


def load_agent(tx: StateTx, agent_id: str) -> Agent:
    """Return the agent or raise :class:`NotFoundError`."""
    agent = tx.get_agent(agent_id)
    if agent is None:
        raise NotFoundError(f"no agent with id {agent_id}", agent_id=agent_id)
    return agent


def load_pool(tx: StateTx, pool_id: str) -> Pool:
    """Return the pool or raise :class:`NotFoundError`."""
    pool = tx.get_pool(pool_id)
    if pool is None:
        raise NotFoundError(f"no pool with id {pool_id}", pool_id=pool_id)
    return pool


class PoolRegistry:
    """Creates pools, manages members, shares memories into scopes and queries them.

    ``PoolRegistry.get()`` returns the registry of the default MaaS instance.
    """

    def __init__(self, runtime: Runtime, hierarchy: ScopeHierarchy | None = None) -> None:
        self._rt = runtime
        self._hierarchy = hierarchy or ScopeHierarchy()

    @classmethod
    def get(cls) -> PoolRegistry:
        """Return the pool registry of the default MaaS instance."""
        registry: PoolRegistry = default_runtime().pools
        return registry

    # --- pools ------------------------------------------------------------------------
    def create_pool(
        self,
        name: str,
        owner_id: str,
        scope: SharedScope | str = SharedScope.PROJECT,
        *,
        metadata: dict[str, Any] | None = None,
        admin_agent_id: str | None = None,
    ) -> str:
        """Create a pool and return its id.

        Args:
            name: A label for people; need not be unique.
            owner_id: The user who owns the pool.
            scope: The widest audience a share in this pool may have.
            metadata: JSON-ready extras.
            admin_agent_id: An agent that joins at once with ADMIN.

        Raises:
            InvalidInputError: A malformed argument.
            CapacityExceededError: ``limits.max_pools`` pools exist.
            NotFoundError: ``admin_agent_id`` names no agent.
        """
        lim = self._rt.limits
        pool = Pool(
            pool_id=new_id(),
            name=check_text(name, "name", lim.max_name_chars),
            owner_id=check_text(owner_id, "owner_id", lim.max_name_chars),
            scope=SharedScope.parse(scope),
            created_at=self._rt.clock(),
            metadata=check_json(metadata, "metadata", lim.max_metadata_bytes),
        )
        admin = None if admin_agent_id is None else check_id(admin_agent_id, "admin_agent_id")

        def op(tx: StateTx) -> str:
            if tx.count_pools() >= lim.max_pools:
                raise CapacityExceededError(f"the pool limit of {lim.max_pools} is reached", limit=lim.max_pools)
            tenant = pool_quota_counter(pool.owner_id)
            require_quota(tx, lim, {tenant: 1})
            tx.insert_pool(pool)
            tx.bump_counter(tenant, 1)
            if admin is not None:
                require_founding_admin(load_agent(tx, admin))
                tx.upsert_membership(Membership(pool.pool_id, admin, PermissionModel.ADMIN, pool.created_at))
            self._rt.record(
                tx,
                AuditEntry(
                    _POOL,
                    "create",
                    admin,
                    pool.pool_id,
                    details={
                        "name": pool.name,
                        "owner_id": pool.owner_id,
                        "scope": pool.scope.value,
                    },
                ),
            )
            return pool.pool_id

        return self._rt.write(op, event_type=_POOL, action="create", actor=admin, target=pool.pool_id)

    def get_pool(self, pool_id: str) -> Pool | None:
        """Return the pool, or ``None`` if no pool has that id."""
        key = check_id(pool_id, "pool_id")
        return self._rt.read(lambda tx: tx.get_pool(key))

    def list_pools(self, *, owner_id: str | None = None, agent_id: str | None = None) -> list[Pool]:
        """Return pools, optionally only those of ``owner_id`` or with ``agent_id`` as a member."""
        member = None if agent_id is None else check_id(agent_id, "agent_id")
        owner = check_optional_text(owner_id, "owner_id", self._rt.limits.max_name_chars)
        return self._rt.read(lambda tx: tx.list_pools(owner_id=owner, member_id=member))

    @audit_refusals(_POOL, "archive", "actor_id", "pool_id")
    def archive_pool(self, pool_id: str, *, actor_id: str | None = None) -> bool:
        """Make the pool read-only. Needs ADMIN when ``actor_id`` is given; False on denial."""
        key = check_id(pool_id, "pool_id")
        actor = None if actor_id is None else check_id(actor_id, "actor_id")

        def op(tx: StateTx) -> bool:
            pool = load_pool(tx, key)
            require_pool_admin(tx, key, actor)
            if pool.status is PoolStatus.ARCHIVED:
                return True
            tx.set_pool_status(Pool(**{**pool.__dict__, "status": PoolStatus.ARCHIVED}))
            self._rt.record(tx, AuditEntry(_POOL, "archive", actor, key))
            return True

        return self._rt.write_or(False, op, event_type=_POOL, action="archive", actor=actor, target=key)

    @audit_refusals(_POOL, "delete", "actor_id", "pool_id")
    def delete_pool(self, pool_id: str, *, actor_id: str | None = None) -> bool:
        """Delete the pool with its members and shares. Needs ADMIN with ``actor_id``."""
        key = check_id(pool_id, "pool_id")
        actor = None if actor_id is None else check_id(actor_id, "actor_id")

        def op(tx: StateTx) -> bool:
            pool = load_pool(tx, key)
            require_pool_admin(tx, key, actor)
            tx.delete_pool(key)
            tx.bump_counter(pool_quota_counter(pool.owner_id), -1)
            self._rt.record(tx, AuditEntry(_POOL, "delete", actor, key))
            return True

        return self._rt.write_or(False, op, event_type=_POOL, action="delete", actor=actor, target=key)

    # --- membership -------------------------------------------------------------------
    @audit_refusals(_POOL, "join", "actor_id", "pool_id")
    def join_pool(
        self,
        pool_id: str,
        agent_id: str,
        permission: PermissionModel | str = PermissionModel.READ,
        *,
        actor_id: str | None = None,
    ) -> bool:
        """Add ``agent_id`` to the pool, or change its permission.

        Without ``actor_id`` the call is the trusted orchestrator's. With it, the actor needs
        ADMIN in the pool, except an agent joining itself at READ or WRITE into a pool of its
        own owner. Returns False on a permission denial (audited as PERMISSION_DENIED).

        Raises:
            NotFoundError: Unknown pool or agent.
            ConflictError: The pool is archived.
            CapacityExceededError: ``limits.max_members_per_pool`` members.
        """
        pkey, akey = check_id(pool_id, "pool_id"), check_id(agent_id, "agent_id")
        perm = PermissionModel.parse(permission)
        actor = None if actor_id is None else check_id(actor_id, "actor_id")
        lim = self._rt.limits

        def op(tx: StateTx) -> bool:
            pool = load_pool(tx, pkey)
            if actor is not None:
                load_actor(tx, actor)  # an unknown actor is denied before anything is looked up
            admit_member(tx, pool, load_agent(tx, akey), perm, actor)
            existing = tx.get_membership(pkey, akey)
            if existing is None and tx.count_members(pkey) >= lim.max_members_per_pool:
                raise CapacityExceededError(
                    f"pool {pkey} has the maximum of {lim.max_members_per_pool} members",
                    limit=lim.max_members_per_pool,
                )
            tx.upsert_membership(Membership(pkey, akey, perm, self._rt.clock()))
            self._rt.emit(tx, EventKind.POOL_JOINED, pkey, agent_id=akey, permission=perm.value)
            self._rt.record(
                tx,
                AuditEntry(
                    _POOL,
                    "join",
                    actor,
                    pkey,
                    details={
                        "agent_id": akey,
                        "permission": perm.value,
                        **({"previous": existing.permission.value} if existing else {}),
                    },
                ),
            )
            return True

        return self._rt.write_or(False, op, event_type=_POOL, action="join", actor=actor, target=pkey)

    @audit_refusals(_POOL, "leave", "actor_id", "pool_id")
    def leave_pool(self, pool_id: str, agent_id: str, *, actor_id: str | None = None) -> bool:
        """Remove ``agent_id`` from the pool. An agent may always remove itself; removing
        another needs ADMIN. Returns False if it was not a member or on a denial."""
        pkey, akey = check_id(pool_id, "pool_id"), check_id(agent_id, "agent_id")
        actor = None if actor_id is None else check_id(actor_id, "actor_id")

        def op(tx: StateTx) -> bool:
            load_pool(tx, pkey)
            require_leave(tx, pkey, akey, actor)
            if not tx.delete_membership(pkey, akey):
                return False
            self._rt.emit(tx, EventKind.POOL_LEFT, pkey, agent_id=akey)
            self._rt.record(tx, AuditEntry(_POOL, "leave", actor, pkey, details={"agent_id": akey}))
            return True

        return self._rt.write_or(False, op, event_type=_POOL, action="leave", actor=actor, target=pkey)

    def get_members(self, pool_id: str) -> list[Membership]:
        """Return the pool's memberships, oldest first."""
        key = check_id(pool_id, "pool_id")
        return self._rt.read(lambda tx: tx.list_members(key))

    def get_permission(self, pool_id: str, agent_id: str) -> PermissionModel | None:
        """Return the agent's permission in the pool, or ``None`` if it is not a member."""
        pkey, akey = check_id(pool_id, "pool_id"), check_id(agent_id, "agent_id")
        membership = self._rt.read(lambda tx: tx.get_membership(pkey, akey))
        return None if membership is None else membership.permission

    # --- sharing ----------------------------------------------------------------------
    @audit_refusals(_POOL, "share", "agent_id", "pool_id")
    def share_memory(
        self,
        pool_id: str,
        memory_id: str,
        agent_id: str,
        scope: SharedScope | str = SharedScope.PROJECT,
        *,
        metadata: dict[str, Any] | None = None,
        floor: Mapping[str, str] | None = None,
    ) -> bool:
        """Share ``memory_id`` into the pool at ``scope``, authored by ``agent_id``.

        A stored memory may be shared only by an agent that can read it (its author, or an agent
        whose own scope — ``floor`` for an API key — sees the memory's scope). An unknown id in the
        form of a memory id (a UUID) is denied alike, so ids cannot be probed; any other string is
        an external reference (``"mem-bug-123"``).

        Sharing the same memory id again by its author updates scope and metadata.
        Returns False when the agent lacks MEMORY_WRITE or WRITE permission (audited).

        Raises:
            InvalidInputError: Malformed ids, or a scope wider than the pool's.
            NotFoundError: Unknown pool or agent.
            ConflictError: Archived pool, or the memory id was shared here by another agent.
            CapacityExceededError: ``limits.max_shared_memories_per_pool`` shares.
        """
        pkey, akey = check_id(pool_id, "pool_id"), check_id(agent_id, "agent_id")
        mem = check_memory_id(memory_id)
        level = SharedScope.parse(scope)
        meta = check_json(metadata, "metadata", self._rt.limits.max_metadata_bytes)

        def op(tx: StateTx, alone: bool) -> bool:
            tx.claim(("pool", pkey), shared=not alone)  # shared: the store checks count and author as it writes
            tx.prefetch(
                lambda: tx.get_pool(pkey),
                lambda: tx.get_agent(akey),
                lambda: tx.get_memories([mem]),
                lambda: tx.get_membership(pkey, akey),
                lambda: tx.get_share(pkey, mem),
                lambda: tx.count_shares(pkey),
            )
            pool = load_pool(tx, pkey)
            author = load_actor(tx, akey)
            record = tx.get_memories([mem])
            memory = record[0].memory if record else mem  # an unknown id: see share_grant
            share_grant(tx, pool, author, level, memory, self._hierarchy, self._rt.clock(), floor)
            existing = tx.get_share(pkey, mem)
            if existing is not None and existing.author_id != akey:
                raise ConflictError(
                    f"memory {mem} is already shared in pool {pkey} by another agent", memory_id=mem, pool_id=pkey
                )
            limit = self._rt.limits.max_shared_memories_per_pool
            if existing is None and tx.count_shares(pkey) >= limit:
                raise CapacityExceededError(f"pool {pkey} holds the maximum of {limit} shared memories", limit=limit)
            tx.upsert_share(
                SharedMemory(
                    pool_id=pkey,
                    memory_id=mem,
                    author_id=akey,
                    scope=level,
                    owner_id=author.owner_id,
                    project_id=author.project_id,
                    team_id=author.team_id,
                    shared_at=self._rt.clock(),
                    metadata=meta,
                ),
                limit,
            )
            self._rt.emit(
                tx,
                EventKind.MEMORY_SHARED,
                pkey,
                memory_id=mem,
                author_id=akey,
                scope=level.value,
                owner_id=author.owner_id,
                project_id=author.project_id,
                team_id=author.team_id,
            )
            self._rt.record(
                tx, AuditEntry(_POOL, "share", akey, pkey, details={"memory_id": mem, "scope": level.value})
            )
            return True

        def run(alone: bool) -> bool:
            return self._rt.write_or(
                False, lambda tx: op(tx, alone), event_type=_POOL, action="share", actor=akey, target=pkey
            )

        try:  # writers of one pool decide side by side, each write checked (PostgreSQL)
            return run(alone=False)
        except ConcurrentWriteError:  # another share of this pool changed what this one read: again, alone
            return run(alone=True)

    @audit_refusals(_POOL, "unshare", "agent_id", "pool_id")
    def unshare_memory(self, pool_id: str, memory_id: str, agent_id: str) -> bool:
        """Withdraw a share. Needs MEMORY_DELETE, and authorship with WRITE or ADMIN in the pool.
        Returns False on a denial or when the memory is not shared there."""
        pkey, akey = check_id(pool_id, "pool_id"), check_id(agent_id, "agent_id")
        mem = check_memory_id(memory_id)

        def op(tx: StateTx) -> bool:
            load_pool(tx, pkey)
            share = tx.get_share(pkey, mem)
            require_unshare(tx, load_actor(tx, akey), share, pkey)
            if share is None:
                return False
            tx.delete_share(pkey, mem)
            self._rt.record(tx, AuditEntry(_POOL, "unshare", akey, pkey, details={"memory_id": mem}))
            return True

        return self._rt.write_or(False, op, event_type=_POOL, action="unshare", actor=akey, target=pkey)

    @audit_refusals(_POOL, "query_shared", "agent_id", "pool_id")
    def query_shared(
        self,
        pool_id: str,
        agent_id: str,
        max_scope: SharedScope | str = SharedScope.GLOBAL,
        *,
        limit: int = 100,
        offset: int = 0,
    ) -> list[SharedMemory]:
        """Return the shares of the pool that ``agent_id`` may read, newest first.

        ``max_scope`` only narrows: levels above it are left out; it never widens what the
        reader's identity allows. Reading others' memories writes one CROSS_AGENT_READ audit
        entry for the whole result. Returns ``[]`` on a denial (audited).

        Raises:
            InvalidInputError: Malformed ids, or ``limit`` outside 1..``limits.max_query_limit``.
            NotFoundError: Unknown pool or agent.
        """
        pkey, akey = check_id(pool_id, "pool_id"), check_id(agent_id, "agent_id")
        top = SharedScope.parse(max_scope)
        page = check_positive_int(limit, "limit", self._rt.limits.max_query_limit)
        start = check_offset(offset)

        def op(tx: StateTx) -> list[SharedMemory]:
            tx.claim()  # a read that writes only its audit entry: it contends on nothing
            tx.prefetch(lambda: tx.get_pool(pkey), lambda: tx.get_agent(akey), lambda: tx.get_membership(pkey, akey))
            load_pool(tx, pkey)
            found = tx.query_shares(pkey, reader_audience(tx, load_actor(tx, akey), pkey, top), page, start)
            others = sorted({m.author_id for m in found if m.author_id != akey})
            if others:
                self._rt.record(
                    tx,
                    AuditEntry(
                        AuditEventType.CROSS_AGENT_READ,
                        "query_shared",
                        akey,
                        pkey,
                        details={
                            "count": len(found),
                            "authors": others[:50],
                            "max_scope": top.value,
                        },
                    ),
                )
            return [redact_share(m) for m in found]

        return self._rt.write_or([], op, event_type=_POOL, action="query_shared", actor=akey, target=pkey)
