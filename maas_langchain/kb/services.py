"""The three knowledge bases of the specification: code, decisions and incidents.

Each is one collection in a :class:`~maas_langchain.core.ports.vectors.VectorIndex`, filled by
:meth:`ingest_path` (files) or, for decisions and incidents, :meth:`add_decision` /
:meth:`add_incident`, and searched with the specification's methods:
``search_code_kb(query, service_filter, limit)``, ``search_decisions(query, topic_filter,
limit)``, ``search_incidents(query, service_filter, limit)``.

Example:
    >>> from maas_langchain.embeddings import HashingEmbeddings
    >>> from maas_langchain.backends.bruteforce import BruteForceIndex
    >>> decisions = DecisionService(BruteForceIndex(), HashingEmbeddings())
    >>> decision_id = decisions.add_decision("Use JWT for sessions", "Tokens expire after 15 minutes.", topic="auth")
    >>> [r.title for r in decisions.search_decisions("session tokens", topic_filter="auth")]
    ['Use JWT for sessions']
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any, ClassVar, TypeVar

from maas_langchain.core.ports.vectors import Eq, MetaValue, VectorHit
from maas_langchain.core.screening import redact
from maas_langchain.errors import InvalidInputError, PolicyViolationError
from maas_langchain.kb.base import ChunkRow, KnowledgeBase, check_text, meta_int, meta_str
from maas_langchain.kb.chunking import chunk_file, chunk_markdown, language_of
from maas_langchain.kb.files import SourceFile, document_meta
from maas_langchain.kb.ingest import ingest_path
from maas_langchain.kb.results import CodeResult, DecisionResult, IncidentResult, IngestReport, KBResult

R = TypeVar("R", bound=KBResult)

__all__ = ["CodeKBService", "DecisionService", "IncidentService"]


def _common(hit: VectorHit, score: float, why: dict[str, Any]) -> dict[str, Any]:
    meta = hit.metadata or {}
    return {
        "id": hit.id,
        "content": redact(hit.document or ""),  # reads never show secrets (DESIGN §5)
        "score": round(score, 4),
        "path": meta_str(meta, "path"),
        "title": meta_str(meta, "title") or meta_str(meta, "symbol") or meta_str(meta, "path") or "",
        "why": why,
    }


class CodeKBService(KnowledgeBase[CodeResult]):
    """Search source code by meaning and by identifier.

    Chunks follow the language's structure (see :mod:`maas_langchain.kb.chunking`); each
    result names its file, symbol and line range.

    Example:
        >>> import pathlib, tempfile
        >>> from maas_langchain.embeddings import HashingEmbeddings
        >>> from maas_langchain.backends.bruteforce import BruteForceIndex
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "util.py").write_text("def check_json(text):\\n    return text.startswith('{')\\n")
        >>> code = CodeKBService(BruteForceIndex(), HashingEmbeddings())
        >>> code.ingest_path(folder, service="api", progress=False).chunks_written
        1
        >>> hit = code.search_code_kb("check_json", service_filter="api")[0]
        >>> (hit.path, hit.symbol, hit.start_line, hit.end_line)
        ('util.py', 'check_json', 1, 2)
    """

    kind = "code"
    collection_kind = "code"
    filter_field = "service"

    def search_code_kb(
        self,
        query: str,
        service_filter: str | Sequence[str] | None = None,
        limit: int = 10,
        *,
        agent_id: str | None = None,
    ) -> list[CodeResult]:
        """Find code chunks for ``query``, best first.

        Args:
            query: Words, a question or an identifier (``check_json``, ``HandoffManager``).
            service_filter: Only code ingested for this service (or any of these services).
            limit: At most this many results (1..1000).
            agent_id: The acting agent, passed to the ``authorize`` hook.

        Raises:
            InvalidInputError: A malformed argument.
            PermissionDeniedError: (from the hook) the agent may not search the knowledge base.
        """
        return self._search(query, service_filter, limit, agent_id)

    def ingest_path(
        self, path: str | os.PathLike[str], service: str | None = None, progress: bool = True
    ) -> IngestReport:
        """Index the source files under ``path`` (or one file); unchanged files are skipped.

        See :func:`maas_langchain.kb.ingest.ingest_path`.
        """
        return ingest_path(self, path, self._file_rows, documents_only=False, service=service, progress=progress)

    def _file_rows(self, source: SourceFile, root: str, service: str | None) -> list[ChunkRow]:
        language = language_of(source.path)
        base: dict[str, MetaValue] = {
            "kind": self.kind,
            "source": "file",
            "root": root,
            "path": source.path,
            "doc": source.path,
            "sha256": source.sha256,
            "language": language,
        }
        if service:
            base["service"] = service
        return self._rows_for((root, source.path), chunk_file(source.path, source.text, language), base, source.path)

    def _result(self, hit: VectorHit, score: float, why: dict[str, Any]) -> CodeResult:
        meta = hit.metadata or {}
        return CodeResult(
            **_common(hit, score, why),
            service=meta_str(meta, "service"),
            language=meta_str(meta, "language") or "text",
            symbol=meta_str(meta, "symbol") or "",
            start_line=meta_int(meta, "start_line"),
            end_line=meta_int(meta, "end_line"),
        )


class _DocumentKB(KnowledgeBase[R]):
    """Decisions and incidents: Markdown/text documents, one result per document."""

    candidate_factor = 5
    one_result_per_document = True
    default_status: ClassVar[str] = ""

    def ingest_path(
        self, path: str | os.PathLike[str], service: str | None = None, progress: bool = True
    ) -> IngestReport:
        """Index the Markdown/text documents under ``path`` (or one file); unchanged files are skipped.

        ``service`` is stored as the topic (decisions) or service (incidents) of every document,
        overriding what the document says.
        """
        return ingest_path(self, path, self._file_rows, documents_only=True, service=service, progress=progress)

    def _file_rows(self, source: SourceFile, root: str, service: str | None) -> list[ChunkRow]:
        meta = document_meta(source.text, PurePosixPath(source.path).stem)
        if service:
            meta[self.filter_field] = service
        base: dict[str, MetaValue] = {
            **_document_fields(meta, self.filter_field),
            "kind": self.kind,
            "source": "file",
            "root": root,
            "path": source.path,
            "doc": source.path,
            "sha256": source.sha256,
        }
        return self._rows_for((root, source.path), _document_chunks(source.path, source.text), base, meta["title"])

    def _add(
        self, title: object, body: object, value: object, date: object, status: object, extra: dict[str, object]
    ) -> str:
        title_text = check_text(title, "title")
        body_text = check_text(body, "body")
        assert title_text is not None and body_text is not None
        fields: dict[str, object] = {
            "title": title_text,
            self.filter_field: value,
            "date": _iso_date(date),
            "status": status if status is not None else self.default_status,
            **extra,
        }
        meta = {k: check_text(v, k, required=False) for k, v in fields.items()}
        for key in ("status", "severity"):  # as for documents read from files
            meta[key] = (meta.get(key) or "").lower() or None
        doc_id = uuid.uuid4().hex
        base: dict[str, MetaValue] = {
            **_document_fields({k: v for k, v in meta.items() if v}, self.filter_field),
            "kind": self.kind,
            "source": "api",
            "doc": doc_id,
        }
        chunks = chunk_markdown(f"# {title_text}\n\n{body_text}")
        if self._write(self._rows_for(("api", doc_id), chunks, base, title_text)):
            self.delete_document(doc_id)  # all or nothing: a document is not stored in part
            raise PolicyViolationError(f"screening held back part of {title_text[:80]!r}: it reads like instructions")
        return doc_id

    def delete_document(self, doc_id: str) -> int:
        """Remove a document added with ``add_*`` (or a file's chunks, by its relative path).

        Returns:
            The number of chunks removed.
        """
        check_text(doc_id, "doc_id")
        ids = [r.id for r in self.index.get(self.collection, Eq("doc", doc_id))]
        if ids:
            self.index.delete(self.collection, ids)
        return len(ids)

    def _fields(self, hit: VectorHit) -> dict[str, Any]:
        meta = hit.metadata or {}
        section = meta_str(meta, "symbol") or ""
        return {
            self.filter_field: meta_str(meta, self.filter_field),
            "status": meta_str(meta, "status"),
            "date": meta_str(meta, "date"),
            "section": "" if meta_int(meta, "chunks") <= 1 else section,
        }


class DecisionService(_DocumentKB[DecisionResult]):
    """Search architecture and design decisions (ADRs), filtered by topic."""

    kind = "decision"
    collection_kind = "decisions"
    filter_field = "topic"
    default_status = "accepted"

    def search_decisions(
        self,
        query: str,
        topic_filter: str | Sequence[str] | None = None,
        limit: int = 10,
        *,
        agent_id: str | None = None,
    ) -> list[DecisionResult]:
        """Find decisions for ``query``, best first (one result per decision document).

        Args:
            query: What was decided, or why.
            topic_filter: Only decisions on this topic (or any of these topics).
            limit: At most this many results (1..1000).
            agent_id: The acting agent, passed to the ``authorize`` hook.

        Raises:
            InvalidInputError: A malformed argument.
            PermissionDeniedError: (from the hook) the agent may not search the knowledge base.
        """
        return self._search(query, topic_filter, limit, agent_id)

    def add_decision(
        self,
        title: str,
        body: str,
        topic: str | None = None,
        date: str | dt.date | None = None,
        status: str | None = None,
    ) -> str:
        """Store a decision; returns its document id.

        Args:
            title: One line: what was decided.
            body: The context, the decision and its consequences (Markdown).
            topic: The topic to filter on (``auth``, ``storage``…).
            date: ISO date string or ``datetime.date``.
            status: ``accepted`` (default), ``proposed``, ``superseded``…

        Raises:
            InvalidInputError: Empty title or body, a non-string topic or status, a bad date.
        """
        return self._add(title, body, topic, date, status, {})

    def _result(self, hit: VectorHit, score: float, why: dict[str, Any]) -> DecisionResult:
        return DecisionResult(**_common(hit, score, why), **self._fields(hit))


class IncidentService(_DocumentKB[IncidentResult]):
    """Search past incidents and postmortems, filtered by service."""

    kind = "incident"
    collection_kind = "incidents"
    filter_field = "service"
    default_status = "resolved"

    def search_incidents(
        self,
        query: str,
        service_filter: str | Sequence[str] | None = None,
        limit: int = 10,
        *,
        agent_id: str | None = None,
    ) -> list[IncidentResult]:
        """Find incidents for ``query``, best first (one result per incident document).

        Args:
            query: A symptom, an error message, a cause.
            service_filter: Only incidents of this service (or any of these services).
            limit: At most this many results (1..1000).
            agent_id: The acting agent, passed to the ``authorize`` hook.

        Raises:
            InvalidInputError: A malformed argument.
            PermissionDeniedError: (from the hook) the agent may not search the knowledge base.
        """
        return self._search(query, service_filter, limit, agent_id)

    def add_incident(
        self,
        title: str,
        body: str,
        service: str | None = None,
        date: str | dt.date | None = None,
        status: str | None = None,
        severity: str | None = None,
    ) -> str:
        """Store an incident report; returns its document id.

        Args:
            title: One line: what happened.
            body: Impact, timeline, cause, fix (Markdown).
            service: The affected service, to filter on.
            date: ISO date string or ``datetime.date``.
            status: ``resolved`` (default), ``open``, ``monitoring``…
            severity: ``sev1``, ``sev2``…

        Raises:
            InvalidInputError: Empty title or body, a non-string service, status or severity, a bad date.
        """
        return self._add(title, body, service, date, status, {"severity": severity})

    def _result(self, hit: VectorHit, score: float, why: dict[str, Any]) -> IncidentResult:
        meta = hit.metadata or {}
        return IncidentResult(**_common(hit, score, why), **self._fields(hit), severity=meta_str(meta, "severity"))


_DOCUMENT_KEYS = ("title", "topic", "service", "status", "date", "severity")


def _document_fields(meta: dict[str, Any], filter_field: str) -> dict[str, MetaValue]:
    keys = [k for k in _DOCUMENT_KEYS if k in ("title", "status", "date", "severity", filter_field)]
    return {k: str(meta[k]) for k in keys if meta.get(k)}


def _document_chunks(path: str, text: str) -> list[Any]:
    language = language_of(path)
    return chunk_markdown(text) if language == "markdown" else chunk_file(path, text, "text")


def _iso_date(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10]).isoformat()
        except ValueError:
            pass
    raise InvalidInputError(f"date must be an ISO date (YYYY-MM-DD) or a datetime.date, got {value!r}", field="date")
