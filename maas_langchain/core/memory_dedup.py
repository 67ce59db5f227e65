"""Remembering the same thing twice returns the memory already stored.

Re-running a script or a notebook is normal, and it should not fill a scope with copies that
then crowd recall's top results. A memory written since the ``memory_digests`` migration is
stored under a digest of what makes it "the same write": its canonical scope, author, category
and exact content. The session is left out on purpose — a re-run opens a new session, and the
same author stating the same thing at the same scope in another session is a repetition, not
new knowledge — and so is metadata (provenance, not identity). A new write with the same digest
whose memory is still ACTIVE returns that memory instead of a new one, and the repetition is
recorded in the audit log (``remember_duplicate``, the stored memory as target, the new session
in the details: a corroboration). ``remember(..., duplicate=True)`` stores a copy anyway.

Example:
    >>> digest_of("org=acme", "a1", "knowledge", "x") == digest_of("org=acme", "a1", "knowledge", "x")
    True
"""

from __future__ import annotations

import hashlib
import json

from maas_langchain.core.enums import MemoryStatus
from maas_langchain.core.ports.state import StateTx
from maas_langchain.core.records import Memory

__all__ = ["digest_of", "stored_copy"]


def digest_of(scope_key: str | None, author_id: str | None, category: str, content: str) -> str:
    """The identity of a write (see the module docstring)."""
    key = json.dumps([scope_key, author_id, category, content], ensure_ascii=False)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def stored_copy(tx: StateTx, digest: str) -> Memory | None:
    """The ACTIVE memory already stored under ``digest``, if any."""
    memory_id = tx.memory_by_digest(digest)
    if memory_id is None:
        return None
    found = tx.get_memories([memory_id])
    if not found or found[0].memory.status is not MemoryStatus.ACTIVE:
        return None
    return found[0].memory
