"""The three knowledge bases together: :class:`KnowledgeBases` and :func:`open_kb`."""

from __future__ import annotations

import os
from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

from maas_langchain.core.ports.vectors import VectorIndex
from maas_langchain.errors import InvalidInputError
from maas_langchain.kb.base import Authorize, KnowledgeBase
from maas_langchain.kb.results import IngestReport, KBResult
from maas_langchain.kb.services import CodeKBService, DecisionService, IncidentService

__all__ = ["KINDS", "KnowledgeBases", "open_kb"]

KINDS = ("code", "decision", "incident")


@dataclass(frozen=True)
class KnowledgeBases:
    """The three knowledge bases over one index and one embedding model.

    Attributes:
        code: :class:`CodeKBService` (``search_code_kb``).
        decisions: :class:`DecisionService` (``search_decisions``, ``add_decision``).
        incidents: :class:`IncidentService` (``search_incidents``, ``add_incident``).
    """

    code: CodeKBService
    decisions: DecisionService
    incidents: IncidentService

    def service(self, kind: str) -> KnowledgeBase[KBResult]:
        """The knowledge base for ``kind`` (``code``, ``decision`` or ``incident``).

        Raises:
            InvalidInputError: An unknown kind.
        """
        services: dict[str, KnowledgeBase[KBResult]] = {
            "code": self.code,  # type: ignore[dict-item]
            "decision": self.decisions,  # type: ignore[dict-item]
            "incident": self.incidents,  # type: ignore[dict-item]
        }
        if kind not in services:
            raise InvalidInputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}", field="kind")
        return services[kind]

    def ingest_path(
        self, path: str | os.PathLike[str], kind: str = "code", service: str | None = None, progress: bool = True
    ) -> IngestReport:
        """Ingest a folder or file into the ``kind`` knowledge base (see :func:`~maas_langchain.kb.ingest.ingest_path`).

        Raises:
            InvalidInputError: An unknown kind, a missing path, a bad service.
        """
        target = self.service(kind)
        assert isinstance(target, (CodeKBService, DecisionService, IncidentService))
        return target.ingest_path(path, service=service, progress=progress)


def open_kb(index: VectorIndex, embeddings: Embeddings, authorize: Authorize | None = None) -> KnowledgeBases:
    """Build the three knowledge bases over ``index`` with ``embeddings``.

    Args:
        index: The vector index (embedded Chroma, a Chroma server, or brute force).
        embeddings: Any LangChain ``Embeddings`` (the offline default is
            :class:`~maas_langchain.embeddings.LocalMiniLMEmbeddings`).
        authorize: Optional capability check, called with ``agent_id`` before every search.
    """
    return KnowledgeBases(
        code=CodeKBService(index, embeddings, authorize),
        decisions=DecisionService(index, embeddings, authorize),
        incidents=IncidentService(index, embeddings, authorize),
    )
