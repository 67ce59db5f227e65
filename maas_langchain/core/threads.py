"""Who may read and write a LangGraph thread: the policy behind the MaaS checkpointer.

A thread belongs to the agent that first writes a checkpoint for it (its *owner*). The owner
reads, writes and deletes it. The target of an open handoff (PENDING or ACCEPTED, TTL not run
out) whose context names the thread may read and write it too — that is how the target resumes
the source's graph — and loses that access the moment the handoff completes, is rejected,
cancelled or expires. No other agent ever reads it. Only the owner may hand a thread off
(:func:`require_thread_owner`, called by ``HandoffManager.initiate_handoff``).

Reading needs MEMORY_READ, writing and deleting MEMORY_WRITE; a deactivated agent loses
everything. Every denial is audited (``PERMISSION_DENIED``) and raised as
:class:`~maas_langchain.errors.PermissionDeniedError`. The checkpointer is an adapter: it asks
:class:`ThreadAccess` and never decides on its own.

Example:
    >>> from maas_langchain import MaaS, AgentType
    >>> maas = MaaS.open(":memory:")
    >>> a = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    >>> access = ThreadAccess(maas.runtime)
    >>> access.authorize(a, "thread-1", "write"), access.owner("thread-1") == a
    (True, True)
    >>> maas.close()
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from maas_langchain.core.access import (
    load_actor,
    require_bound_identity,
    require_capability,
    require_thread_access,
    thread_capability,
    thread_handed_over,
)
from maas_langchain.core.enums import AuditEventType
from maas_langchain.core.ports.state import StateTx
from maas_langchain.core.runtime import AuditEntry, Runtime
from maas_langchain.core.validation import check_id
from maas_langchain.errors import InvalidInputError, NotFoundError, PermissionDeniedError

__all__ = ["MAX_THREAD_ID_CHARS", "ThreadAccess", "ThreadAction", "check_thread_id", "require_thread_owner"]

MAX_THREAD_ID_CHARS = 512
"""Longest thread id accepted (LangGraph itself puts no limit on it)."""

ThreadAction = Literal["read", "write", "delete"]
"""What an agent wants to do with a thread."""

_EVENT = AuditEventType.MEMORY_OPERATION


def check_thread_id(value: Any, field: str = "thread_id") -> str:
    """Return ``value`` as a thread id: a non-empty string of printable characters.

    Raises:
        InvalidInputError: Not a string, empty, longer than :data:`MAX_THREAD_ID_CHARS`, or
            holding control characters.
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"{field} must be a string, got {type(value).__name__}", field=field)
    if not value.strip():
        raise InvalidInputError(f"{field} must not be empty", field=field)
    if len(value) > MAX_THREAD_ID_CHARS:
        raise InvalidInputError(
            f"{field} is {len(value)} characters; the limit is {MAX_THREAD_ID_CHARS}",
            field=field,
            limit=MAX_THREAD_ID_CHARS,
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidInputError(f"{field} holds control characters", field=field)
    return value


def require_thread_owner(tx: StateTx, agent_id: str, thread_id: str) -> None:
    """Only a thread's owner may hand it off.

    Raises:
        NotFoundError: No agent owns the thread (nothing was checkpointed for it yet).
        PermissionDeniedError: Another agent owns it.
    """
    owner = tx.get_thread_owner(thread_id)
    if owner is None:
        raise NotFoundError(
            f"no agent owns thread {thread_id!r}; run the graph with the MaaS checkpointer first", thread_id=thread_id
        )
    require_thread_access(agent_id, thread_id, owner, "hand off", handed_over=False)


class ThreadAccess:
    """Decides, records and (for writes) claims thread ownership.

    Args:
        runtime: The runtime of the MaaS instance the checkpoints belong to.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    def owner(self, thread_id: str) -> str | None:
        """The owning agent of ``thread_id`` (None: unclaimed)."""
        key = check_thread_id(thread_id)
        return self._rt.read(lambda tx: tx.get_thread_owner(key))

    def _decide(self, tx: StateTx, agent_id: str, thread_id: str, action: ThreadAction, *, claim: bool) -> bool | None:
        require_capability(load_actor(tx, agent_id), thread_capability(action))
        owner = tx.get_thread_owner(thread_id)
        if owner is None and claim:
            owner = tx.claim_thread(thread_id, agent_id, self._rt.clock())
            if owner == agent_id:
                self._rt.record(tx, AuditEntry(_EVENT, "thread_claim", agent_id, f"thread:{thread_id}"))
                return True
        if owner is None:
            return None
        handed = owner != agent_id and thread_handed_over(tx, agent_id, thread_id, owner, self._rt.clock())
        require_thread_access(agent_id, thread_id, owner, action, handed)
        return True

    def authorize(self, agent_id: str, thread_id: str, action: ThreadAction) -> bool:
        """Check that ``agent_id`` may ``action`` the thread; a write claims an unowned thread.

        Returns:
            True when the agent may go ahead; False for a read or delete of a thread nobody
            owns (the caller treats it as empty, so checkpoints written by the trusted layer
            are never shown to an agent).

        Raises:
            InvalidInputError: A malformed agent or thread id.
            NotFoundError: Unknown agent.
            PermissionDeniedError: Missing capability, deactivated agent, or another agent's
                thread without an open handoff of it (audited).
        """
        akey, tkey = check_id(agent_id, "maas_agent_id"), check_thread_id(thread_id)
        target = f"thread:{tkey}"
        try:
            decided = self._rt.read(lambda tx: self._decide(tx, akey, tkey, action, claim=False))
            if decided is None and action == "write":
                with self._rt.backend.transaction(write=True) as tx:
                    decided = self._decide(tx, akey, tkey, action, claim=True)
        except (PermissionDeniedError, NotFoundError) as exc:
            self._rt.record_failure(exc, event_type=_EVENT, action=f"thread_{action}", actor=akey, target=target)
            raise
        return bool(decided)

    def resolve_agent(self, bound: str | None, given: Any) -> str | None:
        """The agent a call acts as: the view's ``bound`` agent, else ``given`` (from
        ``config["configurable"]["maas_agent_id"]``); None is the trusted in-process layer.

        Raises:
            InvalidInputError: ``given`` is not an agent id.
            PermissionDeniedError: ``given`` names another agent than ``bound`` (audited).
        """
        if given is None:
            return bound
        akey = check_id(given, "maas_agent_id")
        try:
            return require_bound_identity(bound, akey, field="config maas_agent_id", action="use threads")
        except PermissionDeniedError as exc:
            self._rt.record_failure(exc, event_type=_EVENT, action="thread_access", actor=bound, target=akey)
            raise

    def readable(self, agent_id: str, thread_ids: Iterable[str]) -> set[str]:
        """Which of ``thread_ids`` the agent may read (owned, or handed to it and still open).

        Raises:
            NotFoundError, PermissionDeniedError: Unknown agent, or no MEMORY_READ (audited).
        """
        akey = check_id(agent_id, "maas_agent_id")
        wanted = set(thread_ids)

        def op(tx: StateTx) -> set[str]:
            require_capability(load_actor(tx, akey), thread_capability("read"))
            now, found = self._rt.clock(), set()
            for thread_id in wanted:
                owner = tx.get_thread_owner(thread_id)
                if owner == akey or (owner is not None and thread_handed_over(tx, akey, thread_id, owner, now)):
                    found.add(thread_id)
            return found

        try:
            return self._rt.read(op)
        except (PermissionDeniedError, NotFoundError) as exc:
            self._rt.record_failure(exc, event_type=_EVENT, action="thread_list", actor=akey, target=None)
            raise

    def release(self, thread_id: str, actor: str | None) -> bool:
        """Forget the owner of a deleted thread (audited); True if it had one."""
        key = check_thread_id(thread_id)

        def op(tx: StateTx) -> bool:
            released = tx.delete_thread_owner(key)
            if released:
                self._rt.record(tx, AuditEntry(_EVENT, "thread_delete", actor, f"thread:{key}"))
            return released

        return self._rt.write(op, event_type=_EVENT, action="thread_delete", actor=actor, target=f"thread:{key}")
