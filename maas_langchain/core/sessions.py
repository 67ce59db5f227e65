"""Memory sessions: a scope bound once, so every remember and recall in it uses that scope.

Sessions are rows (capacity ``limits.max_sessions`` open at once, the specification's 50,000),
so a session opened in one process can be continued in another, and each memory records the
session it was written in (its neighbours in the session inform ranking).
"""

from __future__ import annotations

from collections.abc import Mapping

from maas_langchain.core.enums import AuditEventType
from maas_langchain.core.ports.state import StateTx
from maas_langchain.core.records import MemorySession
from maas_langchain.core.runtime import AuditEntry, Runtime
from maas_langchain.core.scopes import ScopeHierarchy
from maas_langchain.core.validation import check_id, check_text, new_id
from maas_langchain.errors import CapacityExceededError, NotFoundError

__all__ = ["SessionService"]

_OP = AuditEventType.MEMORY_OPERATION


class SessionService:
    """Open, read and close memory sessions.

    Args:
        rt: Shared runtime.
        hierarchy: Allowed scope keys.
    """

    def __init__(self, rt: Runtime, hierarchy: ScopeHierarchy) -> None:
        self._rt = rt
        self._hierarchy = hierarchy

    def open(self, scope: Mapping[str, str], *, agent_id: str | None = None) -> MemorySession:
        """Open a session at ``scope``.

        Raises:
            InvalidInputError: A scope key outside the hierarchy, or an empty value.
            CapacityExceededError: ``limits.max_sessions`` sessions are open.
        """
        checked = self._hierarchy.check(scope)
        agent = None if agent_id is None else check_text(agent_id, "agent_id", 256)
        session = MemorySession(new_id(), checked, self._rt.clock(), agent)

        def op(tx: StateTx) -> MemorySession:
            limit = self._rt.limits.max_sessions
            if tx.count_open_sessions() >= limit:
                raise CapacityExceededError(f"{limit} sessions are open; close some first", limit=limit)
            tx.insert_session(session)
            self._rt.record(
                tx,
                AuditEntry(
                    _OP, "session_open", agent, session.session_id, details={"scope": self._hierarchy.canon(checked)}
                ),
            )
            return session

        return self._rt.write(op, event_type=_OP, action="session_open", actor=agent, target=None)

    def get(self, session_id: str) -> MemorySession:
        """The session with this id.

        Raises:
            NotFoundError: No such session.
        """
        key = check_id(session_id, "session_id")
        found = self._rt.read(lambda tx: tx.get_session(key))
        if found is None:
            raise NotFoundError(f"no session with id {key}", session_id=key)
        return found

    def close(self, session_id: str) -> bool:
        """Close the session; False if it was already closed."""
        key = check_id(session_id, "session_id")

        def op(tx: StateTx) -> bool:
            if tx.get_session(key) is None:
                raise NotFoundError(f"no session with id {key}", session_id=key)
            closed = tx.close_session(key, self._rt.clock())
            if closed:
                self._rt.record(tx, AuditEntry(_OP, "session_close", None, key))
            return closed

        return self._rt.write(op, event_type=_OP, action="session_close", actor=None, target=key)
