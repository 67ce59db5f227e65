"""Records the knowledge bases return: search results and ingestion reports (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CodeResult", "DecisionResult", "IncidentResult", "IngestReport", "KBResult"]


@dataclass(frozen=True)
class KBResult:
    """One search hit, best first in a result list.

    Attributes:
        id: The chunk's id in the collection.
        content: The chunk's text.
        score: ``0.6 * semantic + 0.4 * lexical``, in [0, 1]; higher is better.
        path: Source file, relative to the ingested folder (``None`` for documents added
            through the API).
        title: The document title, or the code symbol.
        why: How the score was made: ``semantic`` (cosine), ``lexical`` (weighted share of
            query terms present), ``term_overlap``, ``name_match``, ``matched_terms``,
            ``defines`` (query names this chunk defines) and ``via`` (``semantic`` and/or
            ``name`` — how the chunk became a candidate).
    """

    id: str
    content: str
    score: float
    path: str | None
    title: str
    why: dict[str, Any] = field(compare=False)


@dataclass(frozen=True)
class CodeResult(KBResult):
    """A code chunk: a function, a class or method, a header or a section of a file.

    Attributes:
        service: The service the code was ingested for, if any.
        language: ``python``, ``typescript``, ``go``… (from the extension).
        symbol: ``Class.method``, ``function``, ``<header>`` or ``<module>``.
        start_line: First line of the chunk in the file (1-based).
        end_line: Last line (inclusive).
    """

    service: str | None = None
    language: str = "text"
    symbol: str = ""
    start_line: int = 0
    end_line: int = 0


@dataclass(frozen=True)
class DecisionResult(KBResult):
    """An architecture/design decision (best-matching section of one decision document).

    Attributes:
        topic: The decision's topic, if known.
        status: ``accepted``, ``superseded``… as written in the document.
        date: ISO date, if known.
        section: The heading path of the matching section (``""`` for the whole document).
    """

    topic: str | None = None
    status: str | None = None
    date: str | None = None
    section: str = ""


@dataclass(frozen=True)
class IncidentResult(KBResult):
    """A past incident or postmortem (best-matching section of one incident document).

    Attributes:
        service: The affected service, if known.
        status: ``resolved``, ``open``… as written in the document.
        date: ISO date, if known.
        severity: ``sev1``… if the document says.
        section: The heading path of the matching section.
    """

    service: str | None = None
    status: str | None = None
    date: str | None = None
    severity: str | None = None
    section: str = ""


@dataclass(frozen=True)
class IngestReport:
    """What :meth:`ingest_path` did.

    Attributes:
        kind: ``code``, ``decision`` or ``incident``.
        root: The ingested folder (absolute).
        files_scanned: Candidate files seen (after skipping folders like ``.git``).
        files_added: New files indexed.
        files_updated: Files whose content (sha256) or service changed, re-indexed.
        files_unchanged: Files skipped because the collection already holds their sha256.
        files_removed: Files indexed before but gone now; their chunks were deleted.
        files_skipped: Binary, non-UTF-8 or larger than 1 MB.
        chunks_written: Chunks embedded and upserted.
        chunks_held_back: Chunks screening flagged (instructions to an agent), not indexed.
        chunks_deleted: Stale chunks removed.
        seconds: Wall time.
    """

    kind: str
    root: str
    files_scanned: int = 0
    files_added: int = 0
    files_updated: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    files_skipped: int = 0
    chunks_written: int = 0
    chunks_held_back: int = 0
    chunks_deleted: int = 0
    seconds: float = 0.0
