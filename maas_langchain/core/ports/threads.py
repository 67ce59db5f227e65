"""Storage port: checkpointer thread ownership for :mod:`maas_langchain.adapters.langgraph.checkpoint`.

A LangGraph thread belongs to the agent that first wrote a checkpoint for it. The checkpoints
themselves live in LangGraph's own saver tables; this port only keeps the owner of each
thread. :class:`~maas_langchain.core.ports.state.StateTx` inherits these abstract operations; the
SQL backends implement them in ``sql_threads.py`` and the in-memory reference in
``memory_threads.py``.
"""

from __future__ import annotations

import abc

__all__ = ["ThreadOps"]


class ThreadOps(abc.ABC):
    """Abstract thread-ownership operations of one transaction."""

    @abc.abstractmethod
    def get_thread_owner(self, thread_id: str) -> str | None:
        """The agent id that owns ``thread_id``, or None when no agent has claimed it."""

    @abc.abstractmethod
    def claim_thread(self, thread_id: str, agent_id: str, created_at: float) -> str:
        """Make ``agent_id`` the owner unless the thread already has one; return the owner.

        Called inside a write transaction, so two claimers of one new thread see one winner.
        """

    @abc.abstractmethod
    def delete_thread_owner(self, thread_id: str) -> bool:
        """Forget who owns ``thread_id``; True if it had an owner."""

    @abc.abstractmethod
    def count_threads(self, owner_id: str | None = None) -> int:
        """Owned threads (of ``owner_id`` if given)."""
