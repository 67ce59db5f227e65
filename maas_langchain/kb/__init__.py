"""Knowledge bases: search code, decisions and incidents by meaning and by identifier.

``open_kb(index, embeddings)`` gives the three services over one
:class:`~maas_langchain.core.ports.vectors.VectorIndex`; each keeps one collection named after its
kind and the embedding model (``maas-kb-code-all-minilm-l6-v2-384``). Importing this package
is cheap: the names below load their modules on first use (LangChain on the first, torch and
Chroma only when a model or an index is opened), so ``maas status`` stays fast.

Example:
    >>> from maas_langchain.embeddings import HashingEmbeddings
    >>> from maas_langchain.kb import open_kb
    >>> from maas_langchain.backends.bruteforce import BruteForceIndex
    >>> kb = open_kb(BruteForceIndex(), HashingEmbeddings())
    >>> incident = kb.incidents.add_incident("Checkout 502s", "The payment pool ran out of connections.",
    ...                                      service="checkout", severity="sev2")
    >>> [(r.title, r.service, r.severity) for r in kb.incidents.search_incidents("payment connections")]
    [('Checkout 502s', 'checkout', 'sev2')]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from maas_langchain.kb.base import Authorize, KnowledgeBase, collection_name
    from maas_langchain.kb.facade import KINDS, KnowledgeBases, open_kb
    from maas_langchain.kb.results import CodeResult, DecisionResult, IncidentResult, IngestReport, KBResult
    from maas_langchain.kb.services import CodeKBService, DecisionService, IncidentService

__all__ = [
    "KINDS",
    "Authorize",
    "CodeKBService",
    "CodeResult",
    "DecisionResult",
    "DecisionService",
    "IncidentResult",
    "IncidentService",
    "IngestReport",
    "KBResult",
    "KnowledgeBase",
    "KnowledgeBases",
    "collection_name",
    "open_kb",
]

_HOME = {
    "Authorize": "base",
    "KnowledgeBase": "base",
    "collection_name": "base",
    "KINDS": "facade",
    "KnowledgeBases": "facade",
    "open_kb": "facade",
    "CodeResult": "results",
    "DecisionResult": "results",
    "IncidentResult": "results",
    "IngestReport": "results",
    "KBResult": "results",
    "CodeKBService": "services",
    "DecisionService": "services",
    "IncidentService": "services",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
