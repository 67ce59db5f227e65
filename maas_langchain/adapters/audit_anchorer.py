"""Periodic audit anchors while ``maas serve`` runs (``--anchor-interval``, default 60 s).

Every interval the chain head is signed into the instance's anchor file
(``<home>/audit.anchors``) if it moved, and once more at shutdown, so a log cut short or wiped
after the last anchor is caught by ``maas audit verify`` (docs/audit.md). A head that went back
since this process's previous anchor, or an entry that process anchored which no longer holds the
hash it anchored (the log cut back and grown again by this very server, or rewritten), is logged
as an error at once.

Example:
    >>> from maas_langchain import MaaS
    >>> with MaaS.open(":memory:") as maas:  # no anchor file in memory: nothing to do
    ...     with AuditAnchorer(maas, 60.0) as anchorer:
    ...         anchorer.enabled
    False
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from maas_langchain.core.audit_chain import AuditAnchor
from maas_langchain.errors import MaaSError
from maas_langchain.maas import MaaS

__all__ = ["DEFAULT_INTERVAL", "ENV_INTERVAL", "AuditAnchorer", "default_interval"]

_log = logging.getLogger(__name__)

ENV_INTERVAL = "MAAS_AUDIT_ANCHOR_INTERVAL"
DEFAULT_INTERVAL = 60.0


def default_interval() -> float:
    """``$MAAS_AUDIT_ANCHOR_INTERVAL`` seconds, else 60."""
    try:
        return float(os.environ.get(ENV_INTERVAL) or DEFAULT_INTERVAL)
    except ValueError:
        return DEFAULT_INTERVAL


class AuditAnchorer:
    """Anchors ``maas``'s audit chain every ``interval`` seconds while its head moves, and when
    stopped. Off when ``interval`` is 0 or the instance has no anchor file (``:memory:``).

    Use as a context manager, or :meth:`start` / :meth:`stop`.
    """

    def __init__(self, maas: MaaS, interval: float) -> None:
        self.maas, self.interval = maas, interval
        self.enabled = interval > 0 and maas.runtime.audit_anchors is not None
        self.written = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="maas-audit-anchor", daemon=True)
        self._last: AuditAnchor | None = None

    @staticmethod
    def add_arguments(parser: Any) -> None:
        """Add ``--anchor-interval`` to the ``maas serve`` parser."""
        parser.add_argument(
            "--anchor-interval",
            type=float,
            default=default_interval(),
            help=f"seconds between signed audit anchors in <home>/audit.anchors while serving, and one at "
            f"shutdown (default {DEFAULT_INTERVAL:g}, ${ENV_INTERVAL}; 0: off)",
        )

    def start(self) -> None:
        """Start the background thread (nothing when disabled)."""
        if self.enabled:
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.anchor(only_if_moved=True)

    def anchor(self, *, only_if_moved: bool = False) -> None:
        """Write one anchor now; with ``only_if_moved``, only if the head moved since the last one.
        A failure is logged, never raised (the server keeps serving)."""
        previous = self._last
        try:
            if only_if_moved and previous is not None and self.maas.audit.count() == previous.seq:
                return
            anchor = self.maas.audit.anchor()
        except (MaaSError, OSError) as exc:
            _log.warning("audit anchor not written: %s", getattr(exc, "message", exc))
            return
        except Exception:  # anything else must not end the thread: anchoring is the witness
            _log.exception("audit anchor not written")
            return
        if previous is not None and anchor.seq < previous.seq:
            _log.error(
                "the audit chain head went back from entry %d to %d: entries were removed", previous.seq, anchor.seq
            )
        elif previous is not None:
            self._check_kept(previous)
        self._last = anchor
        self.written += 1

    def _check_kept(self, previous: AuditAnchor) -> None:
        """Log an error if the entry ``previous`` anchored no longer holds the anchored hash: the
        log was cut back and has grown past it again (this server appends onto whatever head it
        finds), or was rewritten up to it."""
        try:
            found = self.maas.audit.query(after_seq=previous.seq - 1, limit=1) if previous.seq else []
        except Exception as exc:  # an entry edited into values that do not decode
            _log.error("audit entry %d, anchored by this process, cannot be read: %s", previous.seq, exc)
            return
        if previous.seq and (not found or found[0].seq != previous.seq or found[0].hash != previous.hash):
            _log.error(
                "audit entry %d no longer holds the hash this process anchored: the log was cut back or rewritten "
                "(run `maas audit verify`)",
                previous.seq,
            )

    def stop(self) -> None:
        """Stop the thread and write the shutdown anchor."""
        if not self.enabled:
            return
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.anchor()

    def __enter__(self) -> AuditAnchorer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
