"""One process per embedded Chroma folder: an exclusive ``flock`` for the life of the client.

Chroma's ``PersistentClient`` is not safe for two processes on one folder (Chroma issues #961
and #3792: a second writer silently corrupts the HNSW files, a second reader keeps answering
from a stale in-memory index), so the whole life of the client is guarded, reads included:

* ``flock(LOCK_EX | LOCK_NB)`` on ``<folder>/.lock`` (opened ``O_CLOEXEC``); the kernel drops it
  when the holder exits or is killed, so there is no stale lock to clean up. The holder writes
  its pid into the file, and the refusal names it.
* flock locks belong to an open file description, so a second ``open`` + ``flock`` in the same
  process would fail too: this module keeps one :class:`FolderLease` (lock + client) per real
  path per process, reference-counted, shared by every index opened on the folder.
* A forked child inherits the parent's descriptor; it closes its copies at once (the parent's
  lock stays) and starts with no leases, so it must open the folder itself, and is refused.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maas_langchain.backends.disk_full import says_full, storage_full
from maas_langchain.errors import BackendUnavailableError, VectorStoreLockedError

__all__ = ["SEVERAL_PROCESSES", "FolderLease", "lease_folder", "release_folder"]

LOCK_FILE = ".lock"
SEVERAL_PROCESSES = (
    "for several processes use the service mode (`maas serve`: one process owns the folder and agents "
    'connect to it) or scale-out (`MaaS.open(..., vectors="http://host:8000")` against `chroma run`)'
)
"""The advice every refusal ends with."""


@dataclass
class FolderLease:
    """This process's lock and client on one folder, shared by every index opened on it."""

    path: str
    fd: int
    client: Any
    pid: int = field(default_factory=os.getpid)
    refs: int = 1
    writes: threading.RLock = field(default_factory=threading.RLock)


_LEASES: dict[str, FolderLease] = {}
_LEASES_LOCK = threading.Lock()


def lease_folder(folder: Path, open_client: Callable[[str], Any]) -> FolderLease:
    """Lock ``folder`` (created if missing) and open its client, or share this process's lease.

    Args:
        folder: The Chroma folder.
        open_client: Opens the client on the real path; called only by the first lease.

    Raises:
        VectorStoreLockedError: Another process holds the folder (the message names its pid).
        BackendUnavailableError: The folder cannot be created or its lock file opened.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = os.path.realpath(folder)
        with _LEASES_LOCK:
            lease = _LEASES.get(path)
            if lease is not None:
                lease.refs += 1
                return lease
            fd = _lock(path)
            try:
                client = open_client(path)
            except BaseException:
                os.close(fd)
                raise
            lease = _LEASES[path] = FolderLease(path, fd, client)
            return lease
    except OSError as exc:
        if says_full(exc):
            raise storage_full("the vector folder", folder, str(exc)) from exc
        raise BackendUnavailableError(f"cannot open the vector folder {folder}: {exc}", path=str(folder)) from exc


def release_folder(lease: FolderLease) -> None:
    """Give back one reference; the last one closes the client and releases the lock."""
    with _LEASES_LOCK:
        lease.refs -= 1
        if lease.refs > 0 or _LEASES.get(lease.path) is not lease:
            return
        del _LEASES[lease.path]
    try:
        with suppress(Exception):  # closing must not fail; the lock below is what matters
            lease.client.close()
    finally:
        os.close(lease.fd)  # releases the flock


def _lock(folder: str) -> int:
    """Lock ``folder`` for this process and write our pid into the lock file."""
    fd = os.open(os.path.join(folder, LOCK_FILE), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        who = f"process {pid}" if pid.isdigit() else "another process"
        raise VectorStoreLockedError(
            f"the vector folder {folder} is open in {who}, and embedded Chroma allows one process per "
            f"folder; {SEVERAL_PROCESSES}",
            path=folder,
            pid=int(pid) if pid.isdigit() else None,
        ) from exc
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)  # needs a block: fails on a full disk
    except OSError:
        os.close(fd)  # releases the flock again
        raise
    return fd


def _forget_after_fork() -> None:
    """In a forked child: close the inherited lock descriptors and forget the parent's leases."""
    global _LEASES_LOCK
    _LEASES_LOCK = threading.Lock()
    for lease in _LEASES.values():
        with suppress(OSError):
            os.close(lease.fd)  # the parent keeps its lock (it has its own descriptor)
    _LEASES.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
