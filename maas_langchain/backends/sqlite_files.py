"""A store whose database file vanished must not reopen as a new, empty store.

SQLite opens a missing or zero-length file as a brand-new database, so a ``maas.db`` that was
deleted or truncated (a crash on a careless file system, a sync tool, a slip of ``rm``) used to
open as an empty store: the data gone without a word, the audit chain restarted. So a store
leaves a marker beside its database and opening checks it first.

**The marker** is ``<database file>.created`` (``maas.db.created``) in the database's folder:
a few lines of text for a person who finds it, written atomically (aside, then renamed) after
the first open that leaves the database readable — of a new store, or of an older store that
has none yet. It is a file of its own because a database that shrank to nothing can say nothing
about itself, and it sits beside the database, named after it, so that it describes that file
only (two ``.db`` files in one folder have a marker each) and goes where the database goes when
someone copies ``maas.db*``. It holds no secret and nothing reads its content.

**The check** (:func:`refuse_lost_store`) runs before SQLite touches the file: when the database
is missing or empty (0 bytes) while anything says a store lived there — the marker; a
write-ahead log (``maas.db-wal``) with content; for ``maas.db``, a vector index
(``chroma/chroma.sqlite3``) or audit anchors (``audit.anchors``) beside it, which cover homes
created before markers existed — opening is refused with
:class:`~maas_langchain.errors.StorageCorruptedError` naming the evidence, and nothing in the
folder is touched. A brand-new folder (or one with none of these) opens normally. To start a new,
empty store on purpose where one was lost, delete the files the error names.

Example:
    >>> import tempfile
    >>> db = Path(tempfile.mkdtemp()) / "maas.db"
    >>> lost_store_evidence(db)  # a brand-new folder: nothing says a store was there
    []
    >>> write_marker(db); db.touch()  # a store was created, then its database emptied
    >>> [path.name for path in lost_store_evidence(db)]
    ['maas.db.created']
"""

from __future__ import annotations

import os
import secrets
import time
from contextlib import suppress
from pathlib import Path

from maas_langchain.errors import StorageCorruptedError

__all__ = [
    "MARKER_SUFFIX",
    "create_private",
    "lost_store_evidence",
    "make_home",
    "marker_path",
    "refuse_lost_store",
    "write_marker",
]

MARKER_SUFFIX = ".created"
"""Appended to the database file's name to name its marker (``maas.db`` → ``maas.db.created``)."""


def marker_path(db: Path) -> Path:
    """The marker of the database ``db``."""
    return db.with_name(db.name + MARKER_SUFFIX)


def _has_content(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False


def lost_store_evidence(db: Path) -> list[Path]:
    """The files saying a store lived at ``db``, when ``db`` itself is missing or empty; ``[]``
    when ``db`` has content or nothing says so (see the module docstring)."""
    if _has_content(db):
        return []
    found = [path for path in (marker_path(db), db.with_name(db.name + "-wal")) if _has_content(path)]
    if db.name == "maas.db":  # the home's own database: the home's other state is evidence too
        # (audit.anchors: the name maas_langchain/audit_key.py gives the anchors of maas.db)
        found += [
            path
            for path in (db.parent / "chroma" / "chroma.sqlite3", db.parent / "audit.anchors")
            if _has_content(path)
        ]
    return found


def refuse_lost_store(db: Path) -> None:
    """Refuse to open ``db`` when it is missing or empty but a store lived there.

    Raises:
        StorageCorruptedError: The database vanished or shrank to nothing; the message names
            the evidence and what to do.
    """
    evidence = lost_store_evidence(db)
    if not evidence:
        return
    state = "is missing" if not db.exists() else "is empty (0 bytes)"
    names = ", ".join(str(path) for path in evidence)
    raise StorageCorruptedError(
        f"the MaaS database {db} {state}, but a store lived there ({names}): its data is gone (the file was "
        "deleted or truncated) and opening it would silently start a new, empty store, so it is not opened. "
        f"Restore {db.name} from a backup; to start a new, empty store here on purpose, delete {names}"
        + (" (the vector index of the lost store)" if any(p.name == "chroma.sqlite3" for p in evidence) else ""),
        path=str(db),
        evidence=[str(path) for path in evidence],
    )


def make_home(folder: Path) -> None:
    """Create the store's folder, if missing, readable by its owner only (0700); a folder that
    exists keeps its mode (missing parents get the default one: they are not the store's)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)


def create_private(db: Path) -> None:
    """Create the database file ``db``, if missing, empty and with mode 0600 before SQLite opens
    it: SQLite would make it 0644, and it gives the ``-wal`` and ``-shm`` files the database's
    mode. An existing file is left as it is; a failure here is left to SQLite to report."""
    with suppress(OSError):
        os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def write_marker(db: Path) -> None:
    """Write ``db``'s marker unless it exists (atomically; a folder that cannot take it is left alone)."""
    marker = marker_path(db)
    if marker.exists():
        return
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = (
        f"A MaaS store (maas_langchain) keeps its data in {db.name}, beside this file (recorded {when}).\n"
        f"While this file exists, MaaS refuses to open a missing or empty {db.name}: its data would be\n"
        "lost without a word. To start a new, empty store here on purpose, delete this file.\n"
    )
    aside = marker.with_name(f".{marker.name}.{os.getpid()}.{secrets.token_hex(4)}")
    with suppress(OSError):
        try:
            with open(aside, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(aside, marker)
        finally:
            aside.unlink(missing_ok=True)
