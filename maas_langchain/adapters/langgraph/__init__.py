"""LangGraph adapters: the store, the checkpointer and supervisor graphs.

Imported lazily so ``import maas_langchain`` stays light:

- :class:`~maas_langchain.adapters.langgraph.store.MaaSStore` — a LangGraph ``BaseStore`` on the MaaS database.
- :class:`~maas_langchain.adapters.langgraph.checkpoint.MaaSCheckpointer` — LangGraph's own SQLite / PostgreSQL
  savers on the MaaS database, with thread ownership and handoff of threads.
- :func:`~maas_langchain.adapters.langgraph.supervisor.create_maas_supervisor` and the handoff tools it is
  built from.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MaaSStore": "maas_langchain.adapters.langgraph.store",
    "MaaSCheckpointer": "maas_langchain.adapters.langgraph.checkpoint",
    "create_maas_supervisor": "maas_langchain.adapters.langgraph.supervisor",
    "create_handoff_tool": "maas_langchain.adapters.langgraph.supervisor",
    "create_supervisor_agent": "maas_langchain.adapters.langgraph.supervisor",
    "MaaSWorker": "maas_langchain.adapters.langgraph.supervisor",
    "maas_worker_node": "maas_langchain.adapters.langgraph.supervisor",
    "SupervisorState": "maas_langchain.adapters.langgraph.supervisor",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
