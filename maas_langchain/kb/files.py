"""Finding, reading and describing the files a knowledge base ingests; progress display.

Skipped: folders in :data:`SKIP_DIRS` (and any folder whose name starts with ``.``, except the
root itself), hidden files (``.env``, ``.npmrc``: they hold credentials) and key stores
(:data:`SECRET_SUFFIXES`), symbolic links, files larger than :data:`MAX_FILE_BYTES`, binary
files (a NUL byte in the first 8 KiB) and files that are not UTF-8. Decisions and incidents read only document files
(:data:`DOCUMENT_SUFFIXES`).

Example:
    >>> meta = document_meta("---\\ntopic: auth\\nstatus: Accepted\\n---\\n# Use JWT\\n", "0001-jwt")
    >>> (meta["title"], meta["topic"], meta["status"])
    ('Use JWT', 'auth', 'accepted')
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "DOCUMENT_SUFFIXES",
    "MAX_FILE_BYTES",
    "SECRET_SUFFIXES",
    "SKIP_DIRS",
    "Progress",
    "SourceFile",
    "document_meta",
    "read_source",
    "walk_files",
]

MAX_FILE_BYTES = 1_000_000
SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache",
     ".ruff_cache", ".tox", ".nox", ".maas", ".idea", ".vscode", "dist", "build", ".eggs", "target"}
)  # fmt: skip
DOCUMENT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".rst", ".adoc"})
SECRET_SUFFIXES = frozenset({".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".kdbx", ".asc", ".gpg"})
"""Never ingested: key and certificate stores (as are hidden files such as ``.env``)."""
_META_KEYS = ("title", "topic", "service", "status", "date", "severity")
_META_LINE = re.compile(r"^\s*(?:[-*]\s*)?(?:\*\*|__)?([A-Za-z]+)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.+?)\s*$")
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


@dataclass(frozen=True)
class SourceFile:
    """A file read for ingestion.

    Attributes:
        path: Path relative to the ingested root, with ``/`` separators.
        text: The file's text (UTF-8).
        sha256: Hex digest of the file's bytes.
    """

    path: str
    text: str
    sha256: str


def walk_files(root: Path, documents_only: bool) -> Iterator[Path]:
    """Candidate files under ``root`` (a file yields itself), sorted, skipping :data:`SKIP_DIRS`."""
    if root.is_file():
        yield root
        return
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(names):
            path = Path(folder, name)
            if _private(name):
                continue
            if documents_only and path.suffix.lower() not in DOCUMENT_SUFFIXES:
                continue
            if path.is_file() and not path.is_symlink():
                yield path


def _private(name: str) -> bool:
    """Hidden files, SSH keys and key stores: never ingested."""
    lower = name.lower()
    return (
        lower.startswith((".", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519")) or Path(lower).suffix in SECRET_SUFFIXES
    )


def read_source(path: Path, relative: str) -> SourceFile | None:
    """Read a file for ingestion, or ``None`` if it is too large, binary or not UTF-8."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:8192]:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return SourceFile(relative, text.removeprefix("\ufeff"), hashlib.sha256(data).hexdigest())


def _front_matter(lines: list[str]) -> tuple[dict[str, str], int]:
    if not lines or lines[0].strip() != "---":
        return {}, 0
    found: dict[str, str] = {}
    for number, line in enumerate(lines[1:40], start=1):
        if line.strip() in ("---", "..."):
            return found, number + 1
        if match := _META_LINE.match(line):
            found.setdefault(match.group(1).lower(), match.group(2).strip("\"'"))
    return {}, 0


def document_meta(text: str, stem: str) -> dict[str, str]:
    """Title, topic, service, status, date and severity of a decision or incident document.

    Read from YAML-style front matter, else ``Key: value`` lines (``**Status:** Accepted``,
    ``- Date: 2024-05-01``) in the first 40 lines; the title from the first ``#`` heading, else
    the file name; the date also from a ``YYYY-MM-DD`` in the file name. Status and severity are
    lower-cased. Missing facts are absent from the result.
    """
    lines = text.splitlines()
    found, body_start = _front_matter(lines)
    for line in lines[body_start : body_start + 40]:
        if (match := _META_LINE.match(line)) and match.group(1).lower() in _META_KEYS[1:]:
            found.setdefault(match.group(1).lower(), match.group(2))
        elif line.startswith("# ") and "title" not in found:
            found["title"] = line[2:].strip()
    meta = {k: found[k].strip() for k in _META_KEYS if found.get(k, "").strip()}
    meta.setdefault("title", stem)
    if "date" not in meta and (date := _DATE.search(stem)):
        meta["date"] = date.group(1)
    for key in ("status", "severity"):
        if key in meta:
            meta[key] = meta[key].lower()
    return meta


class Progress:
    """A progress display: ``tqdm`` on stderr when installed, else a plain counter line.

    Args:
        total: Number of steps.
        description: Shown before the count.
        enabled: ``False`` shows nothing.
    """

    def __init__(
        self, total: int, description: str, enabled: bool = True, stream: TextIO | None = None, unit: str = "file"
    ) -> None:
        self._stream = stream or sys.stderr
        self._total, self._done, self._description, self._unit = total, 0, description, unit
        self._bar: Any = None
        self._enabled = enabled and total > 0
        if self._enabled:
            try:
                from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]
            except ImportError:
                return
            self._bar = tqdm(total=total, desc=description, unit=unit, file=self._stream, leave=False)

    def update(self, steps: int = 1) -> None:
        """Advance by ``steps``."""
        self._done += steps
        if not self._enabled:
            return
        if self._bar is not None:
            self._bar.update(steps)
        elif self._done == self._total or self._done % 50 == 0:
            print(
                f"\r{self._description}: {self._done}/{self._total} {self._unit if self._unit.endswith('s') else self._unit + 's'}",
                end="",
                file=self._stream,
                flush=True,
            )

    def close(self) -> None:
        """Finish the display."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._enabled and self._done:
            print(file=self._stream, flush=True)
        self._enabled = False
