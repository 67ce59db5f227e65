"""Ordered, checksummed schema migrations, one folder of ``NNNN_name.sql`` files per dialect.

Each migration is applied in its own transaction together with its bookkeeping row in
``schema_migrations``. An applied migration whose file changed (checksum mismatch), or a
database that has migrations this code does not know (a newer schema), is refused with a
clear error instead of being run against.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from maas_langchain.errors import BackendUnavailableError

__all__ = ["AUDIT_BOUNDARY", "Migration", "applied_names", "check_applied", "load_migrations", "split_statements"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

AUDIT_BOUNDARY = "audit_keying"
"""The migration that creates the audit chain's keyed boundary (``fresh_audit_boundary``)."""


@dataclass(frozen=True)
class Migration:
    """One schema step."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file's text."""
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def load_migrations(dialect: str) -> list[Migration]:
    """Return the migrations shipped for ``dialect``, in version order."""
    folder = resources.files(__package__).joinpath(dialect)
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations for {dialect} are not numbered 1..n: {versions}")
    return found


def applied_names(dialect: str, versions: list[int]) -> set[str]:
    """Names of ``dialect``'s migrations with the given versions (what one ``migrate()`` applied)."""
    return {m.name for m in load_migrations(dialect) if m.version in versions}


def check_applied(known: list[Migration], applied: dict[int, str], where: str) -> list[Migration]:
    """Compare applied ``{version: checksum}`` with ``known``; return the pending ones.

    Raises:
        BackendUnavailableError: The database is newer than the code, or an applied
            migration's file has changed.
    """
    by_version = {m.version: m for m in known}
    newer = sorted(v for v in applied if v not in by_version)
    if newer:
        raise BackendUnavailableError(
            f"the schema at {where} has migration(s) {newer} that this version of maas_langchain does not know; "
            "upgrade maas_langchain before opening it",
            newer_versions=newer,
        )
    for version, checksum in applied.items():
        if by_version[version].checksum != checksum:
            raise BackendUnavailableError(
                f"migration {version} applied at {where} differs from the shipped file (checksum mismatch)",
                version=version,
            )
    return [m for m in known if m.version not in applied]


def split_statements(sql: str, is_complete: object = None) -> list[str]:
    """Split a script into statements, keeping ``BEGIN ... END`` trigger bodies whole.

    Args:
        sql: The script.
        is_complete: A ``sqlite3.complete_statement``-like predicate; without one, split on
            lines that end with ``;``.
    """
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        if line.strip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        done = is_complete(buffer) if callable(is_complete) else buffer.rstrip().endswith(";")
        if done and buffer.strip():
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
