"""Incremental ingestion of a folder (or one file) into a knowledge base.

The collection is its own catalogue: every chunk records its ``root`` (the ingested folder,
absolute), ``path`` (relative), the file's ``sha256``, the chunker version and the number of
chunks of its file. One ``get`` of the root's rows tells which files are new, changed, unchanged
or gone. Unchanged files are skipped (nothing is read twice or embedded); a changed file's new
chunks are upserted before its stale chunks are deleted; a file that disappeared (or became
binary or too large) loses its chunks. Embedding and upserts run in batches of
:data:`FLUSH_ROWS` chunks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maas_langchain.core.ports.vectors import And, Eq, Where
from maas_langchain.errors import InvalidInputError
from maas_langchain.kb.base import CHUNKER_VERSION, ChunkRow, check_text, meta_int, meta_str
from maas_langchain.kb.files import Progress, SourceFile, read_source, walk_files
from maas_langchain.kb.results import IngestReport

if TYPE_CHECKING:
    from maas_langchain.kb.base import KnowledgeBase

__all__ = ["FLUSH_ROWS", "ingest_path"]

FLUSH_ROWS = 512

RowMaker = Callable[[SourceFile, str, str | None], list[ChunkRow]]


@dataclass
class _Stored:
    """What the collection holds for one file."""

    sha256: str = ""
    service: str | None = None
    version: int = 0
    expected: int = 0
    held: int = 0  # chunks screening held back (never stored)
    ids: set[str] = field(default_factory=set)

    def same(self, source: SourceFile, service: str | None) -> bool:
        complete = len(self.ids) + self.held == self.expected
        return (
            complete
            and self.sha256 == source.sha256
            and self.version == CHUNKER_VERSION
            and (service is None or self.service == service)
        )


@dataclass
class _Run:
    """Counters and the pending batch of one ingestion."""

    kb: KnowledgeBase[Any]
    progress: Progress
    counts: dict[str, int] = field(default_factory=dict)
    rows: list[ChunkRow] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    files: int = 0

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def queue(self, rows: list[ChunkRow], stale: set[str]) -> None:
        self.rows += rows
        self.stale += sorted(stale)
        self.files += 1
        if len(self.rows) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        name = self.kb.collection
        held = self.kb._write(self.rows)
        if self.stale:
            self.kb.index.delete(name, self.stale)
        self.add("chunks_written", len(self.rows) - held)
        self.add("chunks_held_back", held)
        self.add("chunks_deleted", len(self.stale))
        self.progress.update(self.files)
        self.rows, self.stale, self.files = [], [], 0


def _resolve(path: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """(root folder, the single file's relative path or None) for a folder or a file."""
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
        raise InvalidInputError(f"path must be a file or folder path, got {path!r}", field="path")
    resolved = Path(path).expanduser().resolve()
    if resolved.is_dir():
        return resolved, None
    if resolved.is_file():
        return resolved.parent, resolved.name
    raise InvalidInputError(f"{path} is neither a file nor a folder", field="path")


def _stored(kb: KnowledgeBase[Any], root: str, single: str | None) -> dict[str, _Stored]:
    where: Where = Eq("root", root) if single is None else And([Eq("root", root), Eq("path", single)])
    stored: dict[str, _Stored] = {}
    for record in kb.index.get(kb.collection, where):
        meta = record.metadata
        entry = stored.setdefault(str(meta.get("path", "")), _Stored())
        entry.sha256 = meta_str(meta, "sha256") or ""
        entry.service = meta_str(meta, kb.filter_field)
        entry.version = meta_int(meta, "v")
        entry.expected = meta_int(meta, "chunks")
        entry.held = meta_int(meta, "held")
        entry.ids.add(record.id)
    return stored


def ingest_path(
    kb: KnowledgeBase[Any],
    path: str | os.PathLike[str],
    make_rows: RowMaker,
    *,
    documents_only: bool,
    service: str | None = None,
    progress: bool = True,
) -> IngestReport:
    """Ingest the files under ``path`` (or the one file) into ``kb``; see the module docstring.

    Args:
        kb: The knowledge base.
        path: A folder or a single file.
        make_rows: Chunks one file into rows (``source, root, service``).
        documents_only: Only Markdown/text documents (decisions, incidents).
        service: Stored as the service (code, incidents) or topic (decisions) of every chunk;
            a file stored with another value is re-indexed.
        progress: Show a progress bar on stderr.

    Raises:
        InvalidInputError: ``path`` does not exist, or ``service`` is not a non-empty string.
    """
    started = time.perf_counter()
    root, single = _resolve(path)
    service = check_text(service, "service", required=False)
    files = list(walk_files(root / single if single else root, documents_only))
    stored = _stored(kb, str(root), single)
    run = _Run(kb, Progress(len(files), f"ingest {kb.kind}", progress))
    seen: set[str] = set()
    try:
        for file in files:
            _one_file(run, file, root, stored, seen, make_rows, service)
        run.flush()
        gone = [stored[p].ids for p in sorted(set(stored) - seen)]
        if gone:
            kb.index.delete(kb.collection, sorted(set().union(*gone)))
            run.add("files_removed", len(gone))
            run.add("chunks_deleted", sum(len(ids) for ids in gone))
    finally:
        run.progress.close()
    return IngestReport(
        kind=kb.kind,
        root=str(root),
        files_scanned=len(files),
        seconds=round(time.perf_counter() - started, 3),
        **run.counts,
    )


def _one_file(
    run: _Run,
    file: Path,
    root: Path,
    stored: dict[str, _Stored],
    seen: set[str],
    make_rows: RowMaker,
    service: str | None,
) -> None:
    relative = file.relative_to(root).as_posix()
    source = read_source(file, relative)
    if source is None:
        run.add("files_skipped")
        run.progress.update()
        return
    seen.add(relative)
    old = stored.get(relative)
    if old is not None and old.same(source, service):
        run.add("files_unchanged")
        run.progress.update()
        return
    rows = make_rows(source, str(root), service)
    if not rows:  # an empty file: nothing to search, and nothing stays from before
        seen.discard(relative)
        run.add("files_skipped")
        run.progress.update()
        return
    run.add("files_added" if old is None else "files_updated")
    run.queue(rows, (old.ids if old else set()) - {r.id for r in rows})
