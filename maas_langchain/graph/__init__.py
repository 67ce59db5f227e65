"""LangGraph adapters: the store, the checkpointer and supervisor graphs.

Imported lazily so ``import maas_langchain`` stays light:

- :class:`~maas_langchain.graph.store.MaaSStore` — a LangGraph ``BaseStore`` on the MaaS database.
- :class:`~maas_langchain.graph.checkpoint.MaaSCheckpointer` — LangGraph's own SQLite / PostgreSQL
  savers on the MaaS database, with thread ownership and handoff of threads.
- :func:`~maas_langchain.graph.supervisor.create_maas_supervisor` and the handoff tools it is
  built from.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MaaSStore": "maas_langchain.graph.store",
    "MaaSCheckpointer": "maas_langchain.graph.checkpoint",
    "create_maas_supervisor": "maas_langchain.graph.supervisor",
    "create_handoff_tool": "maas_langchain.graph.supervisor",
    "create_supervisor_agent": "maas_langchain.graph.supervisor",
    "MaaSWorker": "maas_langchain.graph.supervisor",
    "maas_worker_node": "maas_langchain.graph.supervisor",
    "SupervisorState": "maas_langchain.graph.supervisor",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
