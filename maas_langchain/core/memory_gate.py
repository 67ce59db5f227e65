"""The memory service's side of the access module: agent-bound calls checked and audited.

:class:`MemoryGate` runs :mod:`maas_langchain.core.access` for the memory service — grants for
remember / recall / history, reading a memory by id, per-tenant quotas — and records each denial
in the audit log once. It decides nothing itself.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping

from maas_langchain.core.access import (
    MemoryGrant,
    load_actor,
    memory_grant,
    memory_quota_counters,
    require_forget,
    require_quota,
    require_readable_memory,
    sees_quarantined,
)
from maas_langchain.core.enums import AuditEventType
from maas_langchain.core.memory_types import MemoryInput
from maas_langchain.core.ports.state import StateTx, StoredMemory
from maas_langchain.core.records import Memory
from maas_langchain.core.runtime import Runtime
from maas_langchain.core.scopes import ScopeHierarchy
from maas_langchain.core.validation import check_id
from maas_langchain.errors import InvalidInputError, PermissionDeniedError

__all__ = ["MemoryGate"]

_OP = AuditEventType.MEMORY_OPERATION


class MemoryGate:
    """Checks the memory service's agent-bound calls against the access module.

    Args:
        runtime: The runtime (backend, limits, clock, audit).
        hierarchy: The scope hierarchy of the instance.
    """

    def __init__(self, runtime: Runtime, hierarchy: ScopeHierarchy) -> None:
        self._rt = runtime
        self.hierarchy = hierarchy

    def grant(
        self, agent_id: str, scope: Mapping[str, str] | None, *, floor: Mapping[str, str] | None, write: bool
    ) -> MemoryGrant:
        """The agent's :func:`~maas_langchain.core.access.memory_grant` (a denial is audited)."""
        agent_id = check_id(agent_id, "as_agent")
        try:
            return self._rt.read(
                lambda tx: memory_grant(load_actor(tx, agent_id), self.hierarchy, scope, floor=floor, write=write)
            )
        except PermissionDeniedError as exc:
            action = "remember" if write else "recall"
            self._rt.record_failure(exc, event_type=_OP, action=action, actor=agent_id, target=None)
            raise

    def granted(self, item: MemoryInput, agent_id: str, floor: Mapping[str, str] | None) -> MemoryInput:
        """``item`` as the agent's write: its scope granted (default: the agent's own), its author."""
        agent_id = check_id(agent_id, "as_agent")
        scope = self.grant(agent_id, item.scope or None, floor=floor, write=True).scope
        return dataclasses.replace(item, scope=scope, author_id=agent_id)

    def reader_scope(
        self, scope: Mapping[str, str] | None, descendants: bool, agent_id: str | None, floor: Mapping[str, str] | None
    ) -> tuple[Mapping[str, str], bool]:
        """The scope a read runs at, and whether it includes descendants (narrowed by the grant)."""
        if agent_id is None:
            if scope is None:
                raise InvalidInputError("scope is required when no agent is given", field="scope")
            return scope, descendants
        allowed = self.grant(agent_id, scope, floor=floor, write=False)
        return allowed.scope, descendants and allowed.descendants

    def check_read(
        self,
        tx: StateTx,
        agent_id: str,
        memory_id: str,
        found: list[StoredMemory],
        floor: Mapping[str, str] | None,
        action: str,
    ) -> None:
        """Raise unless the agent may ``action`` the memory (an unknown id is denied alike)."""
        target = found[0].memory if found else memory_id
        require_readable_memory(
            tx, load_actor(tx, check_id(agent_id, "as_agent")), target, self.hierarchy, action, floor, self._rt.clock()
        )

    def check_forget(
        self, tx: StateTx, agent_id: str, memory_id: str, found: list[StoredMemory], floor: Mapping[str, str] | None
    ) -> None:
        """:func:`~maas_langchain.core.access.require_forget` for the memory (or unknown id)."""
        agent = load_actor(tx, check_id(agent_id, "actor_id"))
        target = found[0].memory if found else memory_id
        require_forget(tx, agent, target, self.hierarchy, floor, self._rt.clock())

    def require_readable(self, agent_id: str, memory_id: str, floor: Mapping[str, str] | None, action: str) -> None:
        """:meth:`check_read` in a read transaction of its own; a denial is audited."""
        try:
            self._rt.read(
                lambda tx: self.check_read(tx, agent_id, memory_id, tx.get_memories([memory_id]), floor, action)
            )
        except PermissionDeniedError as exc:
            self._rt.record_failure(exc, event_type=_OP, action=action, actor=agent_id, target=memory_id)
            raise

    @staticmethod
    def shown(tx: StateTx, agent_id: str, memories: list[Memory]) -> list[Memory]:
        """The memories of a listing the agent may see in their status (quarantine rule), read
        in the listing's own transaction."""
        agent = load_actor(tx, check_id(agent_id, "as_agent"))
        return [m for m in memories if sees_quarantined(agent, m)]

    def quota(self, tx: StateTx, authors: Iterable[str | None]) -> Counter[str]:
        """Check the per-agent and per-owner limits for a batch by ``authors``; return the
        counters to bump in the same transaction."""
        adding: Counter[str] = Counter()
        for author, count in Counter(a for a in authors if a).items():
            agent = tx.get_agent(author)
            for name in memory_quota_counters(author, None if agent is None else agent.owner_id):
                adding[name] += count
        require_quota(tx, self._rt.limits, adding)
        return adding
