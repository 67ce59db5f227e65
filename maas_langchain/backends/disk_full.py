"""Telling a full disk apart from other storage failures, and saying so with the path.

SQLite says ``database or disk is full``; embedded Chroma does not: a write that runs out of
room fails with ``Error in compaction: Failed to apply logs to the metadata segment`` (or
``... Error purging logs``), and a client opened on a full disk leaves Chroma's shared system
half started, so the next open in the process fails with ``'RustBindingsAPI' object has no
attribute 'bindings'``. None of them names the disk. So:

* an :class:`OSError` with ``ENOSPC`` / ``EDQUOT`` / ``EFBIG`` anywhere in the exception chain,
  or a message that says the disk is full, is a full disk (:func:`says_full`);
* one of Chroma's opaque write failures (:func:`opaque_write_failure`) is a full disk when the
  file system at the path is short of space (less than :data:`LOW_WATER` free) or the process
  has a file size limit (``ulimit -f``, ``RLIMIT_FSIZE``: writes past it fail with ``EFBIG``);

and :func:`storage_full` builds the :class:`~maas_langchain.errors.StorageFullError` whose
message names the path, the bytes free there and the limit, if any.

Example:
    >>> says_full(OSError(28, "No space left on device"))
    True
    >>> storage_full("the database", "/", "database or disk is full").code
    'backend_unavailable'
"""

from __future__ import annotations

import errno
import os
import resource
import shutil
from pathlib import Path

from maas_langchain.errors import StorageFullError

__all__ = [
    "LOW_WATER",
    "file_size_limit",
    "free_bytes",
    "opaque_write_failure",
    "says_full",
    "short_of_space",
    "storage_full",
]

LOW_WATER = 64 * 1024 * 1024
"""Below this many free bytes, an unexplained write failure of the vector index counts as a full
disk (a compaction rewrites whole segment files: it needs room, not just a few bytes)."""

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_FULL_TEXT = ("disk is full", "no space left", "file too large", "quota exceeded", "(os error 28)")
_OPAQUE_TEXT = ("error in compaction", "failed to apply logs", "error purging logs", "attribute 'bindings'")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def says_full(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says plainly that there was no room to write."""
    for link in _chain(exc):
        if isinstance(link, OSError) and link.errno in _FULL_ERRNOS:
            return True
        if any(marker in str(link).lower() for marker in _FULL_TEXT):
            return True
    return False


def opaque_write_failure(exc: BaseException) -> bool:
    """True for the failures embedded Chroma reports when a write ran out of room (see above)."""
    return any(marker in str(link).lower() for link in _chain(exc) for marker in _OPAQUE_TEXT)


def free_bytes(path: str | os.PathLike[str]) -> int | None:
    """Bytes free to this user on the file system holding ``path`` (its nearest existing
    ancestor); ``None`` if that cannot be told."""
    probe = Path(path)
    for candidate in (probe, *probe.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return None


def file_size_limit() -> int | None:
    """The process's file size limit in bytes (``ulimit -f``), or ``None`` when unlimited."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def short_of_space(path: str | os.PathLike[str]) -> bool:
    """True when the file system at ``path`` has less than :data:`LOW_WATER` free, or the
    process may not write files past a size limit."""
    free = free_bytes(path)
    return (free is not None and free < LOW_WATER) or file_size_limit() is not None


def storage_full(what: str, path: str | os.PathLike[str], detail: str, *, certain: bool = True) -> StorageFullError:
    """The typed error for a write to ``what`` at ``path`` that found no room (``detail``: what
    the driver said; ``certain=False`` when that was inferred from the free space, not said)."""
    free, limit = free_bytes(path), file_size_limit()
    shown = "an unknown number of" if free is None else f"{free:,}"
    if limit is not None and (free is None or free >= LOW_WATER):
        reason = (
            f"a file there reached this process's file size limit of {limit:,} bytes (ulimit -f / RLIMIT_FSIZE; "
            f"the disk has {shown} bytes free); raise the limit, then retry"
        )
    else:
        reason = f"the disk is full ({shown} bytes free there); free space on that disk, then retry"
        if limit is not None:
            reason += f" (this process may also write files of at most {limit:,} bytes: ulimit -f)"
    hedge = "" if certain else ", most likely for lack of room"
    return StorageFullError(
        f"{what} at {path} could not write{hedge}: {reason}. {detail}".rstrip(),
        path=str(path),
        free_bytes=free,
        **({"file_size_limit": limit} if limit is not None else {}),
    )
