"""The audit chain's cryptography: keyed entry hashes, the seal of the keyed boundary, anchors.

* **Entries.** Each entry's hash is HMAC-SHA256, under the instance's audit key, of the previous
  entry's hash and the entry's canonical JSON. Entries written before the keyed upgrade
  ("legacy": sequence numbers below the chain's *keyed boundary*) keep the unkeyed SHA-256 they
  were written with.
* **Seal.** The boundary (the first keyed sequence number) and the hash of the last legacy entry
  (:data:`GENESIS_HASH` for a chain keyed from its first entry) are MACed once with the key and
  stored beside the chain, so neither the boundary nor the legacy prefix can be rewritten
  without the key.
* **Anchors.** A signed line (sequence number, head hash, count, boundary, time) kept outside
  the database; verification checks every anchor against the log (docs/audit.md).

The key is handed in by whoever opened the instance (``maas_langchain/audit_key.py``); this
module never reads the environment or a key file. Domain-separation prefixes keep the three
MACs from ever standing in for each other.

Example:
    >>> key = AuditKey(b"k" * 32, source="example")
    >>> anchor = make_anchor(key, seq=0, hash=GENESIS_HASH, count=0, keyed_from=1, time=1.0, location="x")
    >>> AuditAnchor.from_line(anchor.to_line()).valid(key)
    True
    >>> chain_hash(GENESIS_HASH, 1, 1.0, {}) == chain_hash(GENESIS_HASH, 1, 1.0, {}, key.secret)
    False
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import math
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from maas_langchain.core.ports.state import GENESIS_HASH
from maas_langchain.errors import InvalidInputError

__all__ = [
    "GENESIS_HASH",
    "AnchorLine",
    "AuditAnchor",
    "AuditKey",
    "append_anchor",
    "chain_hash",
    "load_anchors",
    "make_anchor",
    "seal_mac",
]

_ENTRY = b"maas-audit-entry/v1\n"
_SEAL = b"maas-audit-seal/v1\n"
_ANCHOR = b"maas-audit-anchor/v1\n"
_KEY_ID = b"maas-audit-key-id/v1"
_HEX64 = frozenset("0123456789abcdef")


def _canonical(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def chain_hash(prev_hash: str, seq: int, timestamp: float, body: dict[str, Any], key: bytes | None = None) -> str:
    """Hash of one audit entry over the previous hash and the entry's canonical JSON:
    HMAC-SHA256 under ``key``, or (``key=None``) the legacy unkeyed SHA-256."""
    payload = _canonical({"prev": prev_hash, "seq": seq, "ts": repr(timestamp), **body})
    if key is None:
        return hashlib.sha256(payload).hexdigest()
    return hmac.new(key, _ENTRY + payload, hashlib.sha256).hexdigest()


def seal_mac(key: bytes, keyed_from: int, boundary_hash: str) -> str:
    """MAC of the keyed boundary: entries from ``keyed_from`` on are keyed; ``boundary_hash``
    is the hash of entry ``keyed_from - 1`` (the genesis hash when the whole chain is keyed)."""
    message = _SEAL + _canonical({"keyed_from": keyed_from, "boundary_hash": boundary_hash})
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class AuditKey:
    """The secret one audit chain is keyed with, where it came from, and whether appends may
    use it (``refusal`` names why not: a key that does not open the log's seal).

    Args:
        secret: The key bytes (any length; 32 random bytes by default).
        source: Where it came from, for messages (``"MAAS_AUDIT_KEY"``, a file path, ``"ephemeral"``).
    """

    def __init__(self, secret: bytes, *, source: str = "given") -> None:
        if not isinstance(secret, bytes) or not secret:
            raise InvalidInputError("the audit key must be non-empty bytes", field="audit_key")
        self.secret = secret
        self.source = source
        self.id = hmac.new(secret, _KEY_ID, hashlib.sha256).hexdigest()[:16]
        self.refusal: str | None = None

    def __repr__(self) -> str:  # never the secret
        return f"AuditKey(id={self.id!r}, source={self.source!r}, refused={self.refusal is not None})"


@dataclass(frozen=True)
class AuditAnchor:
    """One signed witness of the chain, kept outside the database (one JSON line).

    Attributes:
        seq: Sequence number of the newest entry when anchored (0: empty log).
        hash: That entry's hash (the genesis hash for an empty log).
        count: Entries in the log then.
        keyed_from: The chain's keyed boundary then (1: keyed from the first entry).
        time: When (seconds since the epoch).
        key_id: A fingerprint of the audit key (not the key), to tell keys apart.
        location: The instance's location, for people (a path, a URL without password).
        mac: HMAC-SHA256 of the other fields under the audit key.
    """

    seq: int
    hash: str
    count: int
    keyed_from: int
    time: float
    key_id: str
    location: str
    mac: str

    def _fields(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        del data["mac"]
        return data

    def valid(self, key: AuditKey) -> bool:
        """True when the MAC verifies under ``key``."""
        expected = hmac.new(key.secret, _ANCHOR + _canonical(self._fields()), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.mac)

    def to_line(self) -> str:
        """The anchor as one line of JSON (no newline)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_line(cls, line: str) -> AuditAnchor:
        """Parse a line written by :meth:`to_line`.

        Raises:
            ValueError: Not JSON, or a field is missing or of the wrong type.
        """
        data = json.loads(line)
        if not isinstance(data, dict) or set(data) != {f.name for f in dataclasses.fields(cls)}:
            raise ValueError("not an audit anchor (fields differ)")
        ints = ("seq", "count", "keyed_from")
        if any(type(data[k]) is not int or data[k] < 0 for k in ints):
            raise ValueError("seq, count and keyed_from must be non-negative integers")
        if not isinstance(data["time"], int | float) or not math.isfinite(data["time"]):
            raise ValueError("time must be a number")
        if any(not isinstance(data[k], str) for k in ("hash", "key_id", "location", "mac")):
            raise ValueError("hash, key_id, location and mac must be strings")
        if len(data["hash"]) != 64 or not set(data["hash"]) <= _HEX64:
            raise ValueError("hash must be 64 lowercase hex digits")
        return cls(**data)


def make_anchor(
    key: AuditKey, *, seq: int, hash: str, count: int, keyed_from: int, time: float, location: str
) -> AuditAnchor:
    """Sign the chain's state with ``key``."""
    unsigned = AuditAnchor(seq, hash, count, keyed_from, float(time), key.id, location, "")
    mac = hmac.new(key.secret, _ANCHOR + _canonical(unsigned._fields()), hashlib.sha256).hexdigest()
    return dataclasses.replace(unsigned, mac=mac)


@dataclass(frozen=True)
class AnchorLine:
    """One anchor as read for verification: where it came from, and the anchor or why not."""

    where: str
    anchor: AuditAnchor | None
    error: str | None = None


AnchorSource = str | os.PathLike[str] | Iterable[str | AuditAnchor]


def load_anchors(source: AnchorSource) -> list[AnchorLine]:
    """Read anchors from a file (``"-"``: standard input) or from lines / anchors given;
    blank lines are skipped, a malformed one is kept with its error."""
    if isinstance(source, str | os.PathLike):
        name = os.fspath(source)
        try:
            if name == "-":
                name, text = "<stdin>", sys.stdin.read()
            else:
                with open(name, encoding="utf-8") as handle:
                    text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            return [AnchorLine(name, None, f"cannot be read ({exc})")]
        lines: Iterable[tuple[str, str | AuditAnchor]] = (
            (f"{name}:{n}", line) for n, line in enumerate(text.splitlines(), 1)
        )
    else:
        lines = ((f"#{n}", item) for n, item in enumerate(source, 1))
    found = []
    for where, item in lines:
        if isinstance(item, AuditAnchor):
            found.append(AnchorLine(where, item))
        elif item.strip():
            try:
                found.append(AnchorLine(where, AuditAnchor.from_line(item)))
            except ValueError as exc:
                found.append(AnchorLine(where, None, f"is not an audit anchor ({exc})"))
    return found


def append_anchor(path: str | os.PathLike[str], anchor: AuditAnchor) -> None:
    """Append ``anchor`` as one line to ``path`` (created, with its folder, if missing) and flush
    it to disk."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(anchor.to_line() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
