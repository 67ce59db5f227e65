"""Where an instance's audit key and anchor file come from (the facade's part; core reads no
environment and no file of its own).

The key, in order of precedence:

1. ``MaaS.open(audit_key=...)`` (bytes, or a string as below);
2. ``$MAAS_AUDIT_KEY``: hex digits (an even number of them) are decoded, any other string is
   used as its UTF-8 bytes — set it on every host that opens a shared PostgreSQL database;
3. ``<home>/audit.key``: hex of 32 random bytes (``secrets.token_bytes(32)``), created with mode
   0600 on the first open. A key file that its group or others may read or write is refused
   with :class:`~maas_langchain.errors.AuditKeyError` (as ssh refuses such a private key):
   whoever reads the key can forge entries. If the log is already sealed with a key and no key
   is found, none is created (it could not open the seal): the instance opens, reads and
   verifies, but refuses audit entries until the right key is provided.

``:memory:`` instances get a random key of their own. ``<home>`` is the SQLite file's folder, or
``$MAAS_HOME`` (``./.maas``) for PostgreSQL. Anchors go to ``<home>/audit.anchors`` (a SQLite
file not named ``maas.db``: ``<stem>.anchors`` beside it; PostgreSQL:
``audit-<database>-<schema>.anchors``), one file per audit chain.

Example:
    >>> parse_key("00ff") == b"\\x00\\xff", parse_key("correct horse") == b"correct horse"
    (True, True)
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
import string
from pathlib import Path
from urllib.parse import urlsplit

from maas_langchain.core.audit import MaaSAuditLogger
from maas_langchain.core.audit_chain import AuditKey
from maas_langchain.core.audit_verify import open_chain
from maas_langchain.core.ports.state import StateBackend
from maas_langchain.core.runtime import Runtime
from maas_langchain.errors import AuditKeyError

__all__ = ["ANCHOR_FILE", "ENV_KEY", "KEY_FILE", "anchor_path", "attach_audit_key", "parse_key", "resolve_audit_key"]

_log = logging.getLogger(__name__)

ENV_KEY = "MAAS_AUDIT_KEY"
KEY_FILE = "audit.key"
ANCHOR_FILE = "audit.anchors"
_HEX = frozenset(string.hexdigits)


def parse_key(text: str) -> bytes:
    """A key as written in ``$MAAS_AUDIT_KEY`` or a key file: hex if it is hex, else UTF-8."""
    value = text.strip()
    if not value:
        raise AuditKeyError("the audit key is empty; set MAAS_AUDIT_KEY to hex digits or a long random string")
    if len(value) % 2 == 0 and set(value) <= _HEX:
        return bytes.fromhex(value)
    return value.encode("utf-8")


def read_key_file(path: Path) -> bytes:
    """Read a key file, refusing one that its group or others may read or write."""
    try:
        mode = path.stat().st_mode
        if os.name != "nt" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise AuditKeyError(
                f"the audit key file {path} is accessible to its group or others (mode {stat.filemode(mode)}); "
                f"whoever reads it can forge audit entries. Run: chmod 600 {path}",
                path=str(path),
            )
        data = path.read_bytes()
    except OSError as exc:
        raise AuditKeyError(f"the audit key file {path} cannot be read: {exc.strerror or exc}", path=str(path)) from exc
    try:
        return parse_key(data.decode("ascii"))
    except UnicodeDecodeError:
        return data  # raw bytes someone put there


def _create_key_file(path: Path) -> bytes:
    """Create ``path`` with a fresh key (mode 0600) unless another process just did; return the
    key in the file. The file appears whole (written aside, then hard-linked into place)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a home MaaS creates is its owner's only
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_bytes(32).hex() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        except OSError:  # a file system without hard links
            if not path.exists():
                os.rename(aside, path)
    finally:
        aside.unlink(missing_ok=True)
    _log.info("created the audit key %s (keep a copy: the audit log verifies only with it)", path)
    return read_key_file(path)


def _sealed(backend: StateBackend) -> bool:
    with backend.transaction(write=False) as tx:
        return tx.audit_keying()[1] is not None


def resolve_audit_key(given: bytes | str | None, home: Path | None, backend: StateBackend) -> AuditKey:
    """The audit key of an instance opening ``backend`` (see the module docstring).

    Raises:
        AuditKeyError: The key given is empty, or the key file is readable by others or unreadable.
    """
    if given is not None:
        return AuditKey(given if isinstance(given, bytes) else parse_key(given), source="the audit_key argument")
    env = os.environ.get(ENV_KEY)
    if env:
        return AuditKey(parse_key(env), source=ENV_KEY)
    if home is None:
        return AuditKey(secrets.token_bytes(32), source="ephemeral")
    path = home / KEY_FILE
    # The seal is read before the file is looked for: whoever seals a log with a home key file
    # created that file first, so a process racing the first open never sees "sealed" and
    # "no file" for the same home.
    sealed = _sealed(backend)
    if path.exists():
        return AuditKey(read_key_file(path), source=str(path))
    if sealed:
        key = AuditKey(secrets.token_bytes(32), source="none found")
        key.refusal = (
            f"no audit key: this audit log was sealed with one, but {ENV_KEY} is not set and {path} does not "
            f"exist; set {ENV_KEY} or restore the key file. Audit entries are refused until then"
        )
        return key
    return AuditKey(_create_key_file(path), source=str(path))


def anchor_path(home: Path | None, backend: StateBackend) -> str | None:
    """This instance's default anchor file (``None`` in memory)."""
    if home is None or backend.name == "memory":
        return None
    if backend.name == "sqlite":
        db = Path(backend.location)
        return str(db.parent / (ANCHOR_FILE if db.name == "maas.db" else f"{db.stem}.anchors"))
    database = urlsplit(backend.location).path.strip("/") or "postgres"
    schema = str(getattr(backend, "schema", "public"))
    return str(home / re.sub(r"[^A-Za-z0-9_.-]", "_", f"audit-{database}-{schema}.anchors"))


def attach_audit_key(runtime: Runtime) -> None:
    """Seal the chain's keyed boundary if this open created it, or check the stored seal against
    the key (a key that does not open it is refused for appends); log what needs attention. An
    upgrade of a log with legacy entries is anchored at once, so the boundary has a witness."""
    backend = runtime.backend
    warning = open_chain(runtime, fresh=backend.fresh_audit_boundary) or runtime.audit_key.refusal
    if warning:
        _log.warning("audit log at %s: %s", backend.location, warning)
        return
    if backend.fresh_audit_boundary and runtime.audit_anchors is not None:
        keyed_from = runtime.read(lambda tx: tx.audit_keying()[0])
        if keyed_from > 1:
            try:
                MaaSAuditLogger(runtime).anchor()
            except OSError as exc:
                _log.warning("the audit upgrade anchor was not written to %s: %s", runtime.audit_anchors, exc)
            _log.warning(
                "audit log at %s upgraded to keyed hashes from entry %d (entries 1..%d stay SHA-256); anchored in %s",
                backend.location,
                keyed_from,
                keyed_from - 1,
                runtime.audit_anchors,
            )
