"""The extraction backlog: facts are extracted after a memory is durable, off the writer's path.

A remember writes, in its own transaction, one ``extraction_jobs`` row per memory that can carry
facts (ACTIVE, with a dict scope, not a ``reflection``). So the backlog is exactly as durable as
the memories: a process killed after the commit leaves jobs that the next worker — any process
on the same store, or ``maas extract --resume`` — finishes. The remember itself only pays for
one small insert; the extractor (rules, or a chat model) runs later in a worker thread.

A job is applied exactly once: the worker extracts outside any transaction, then in one write
transaction closes the job (``finish_extraction`` is False when another worker got there first,
and the transaction is dropped) and stores the facts (:meth:`EntityService.apply`). A job whose
memory was forgotten meanwhile stores nothing. A memory that supersedes another retracts what
still holds of the one it replaced, after adding its own, so a restated key links old to new
(``superseded``) and a key the new memory dropped is ``retracted``; whichever of the two jobs
runs first, the result is the same.

An extractor that fails (raises, or returns ``Extraction.error`` with nothing found) never fails
the remember: the memory stays stored, the job is marked ``failed`` with the reason (and an
``extract_failed`` audit entry); ``maas extract --resume --retry-failed`` runs them again.

Readers that need the facts of what was just written (``get_state``, ``profile``, recall's
current-first ordering) call :meth:`ExtractionWorker.drain`, which applies this process's
pending jobs in the caller's thread — nothing to do, and no query, when there are none.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from maas_langchain.core.entities import EntityService
from maas_langchain.core.entity_types import Extraction, Extractor
from maas_langchain.core.enums import AuditEventType, MemoryStatus
from maas_langchain.core.ports.entities import ExtractionJob
from maas_langchain.core.ports.state import StateTx
from maas_langchain.core.records import Memory
from maas_langchain.core.redaction import redact
from maas_langchain.core.runtime import AuditEntry, Runtime

__all__ = ["ExtractionWorker", "SKIPPED_CATEGORIES"]

_log = logging.getLogger(__name__)
_OP = AuditEventType.MEMORY_OPERATION
_EXTRACTED = (MemoryStatus.ACTIVE, MemoryStatus.SUPERSEDED)  # a superseded one: its facts become history
_IDLE = 5.0
_SETTLE = 0.01
"""Seconds the woken worker waits before reading jobs: the writer that woke it answers its
caller first (the worker would otherwise compete for the interpreter while the answer is sent),
and a burst of writes is read as one batch."""
SKIPPED_CATEGORIES = frozenset({"reflection"})
"""Categories never extracted: a reflection restates its sources' facts (it would corroborate
them under the reflecting agent's name)."""


class _Taken(Exception):
    """Another worker closed the job first; drop this transaction."""


class ExtractionWorker:
    """Runs the extraction backlog of one instance (a daemon thread, started on first use).

    Args:
        rt: Shared runtime.
        entities: Where facts are applied.
        extractor: The extractor, or ``None`` (no jobs are queued; superseded memories still
            retract their facts).
        on_applied: Called after jobs were applied (the memory service drops caches).
    """

    def __init__(
        self,
        rt: Runtime,
        entities: EntityService,
        extractor: Extractor | None,
        on_applied: Callable[[], None] | None = None,
    ) -> None:
        self._rt = rt
        self.entities = entities
        self.extractor = extractor
        self._on_applied = on_applied
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._local = 0  # jobs this process queued that no worker here has closed yet

    # --- queueing (inside the remember transaction) -------------------------------------
    def wants(self, memory: Memory) -> bool:
        """Whether a job is queued for this stored memory."""
        return (
            self.extractor is not None
            and memory.status is MemoryStatus.ACTIVE
            and bool(memory.scope)
            and memory.category not in SKIPPED_CATEGORIES
        )

    def enqueue(self, tx: StateTx, stored: Sequence[Memory]) -> int:
        """Queue jobs for the memories just inserted (call inside their transaction); without an
        extractor, retract the facts of the memories they supersede at once."""
        count = 0
        for m in stored:
            if self.wants(m):
                tx.enqueue_extraction(ExtractionJob(m.memory_id, m.seq, self._rt.clock()))
                count += 1
            elif m.supersedes:
                self.entities.retract(tx, [m.supersedes], replaced=True)
        return count

    def released(self, tx: StateTx, memory: Memory) -> None:
        """A quarantined memory a reviewer released: queue its extraction (inside that
        transaction; the worker picks it up on its next wake)."""
        active = Memory(**{**memory.__dict__, "status": MemoryStatus.ACTIVE, "valid_to": None})
        if self.wants(active):
            tx.enqueue_extraction(ExtractionJob(memory.memory_id, memory.seq, self._rt.clock()))
            with self._lock:
                self._local += 1
            self._wake.set()

    def resume(self) -> None:
        """At open: start the worker if jobs are queued (a crash, another process's backlog)."""
        if self.extractor is not None and self.backlog()[0]:
            self.kick()

    def queued(self, count: int) -> None:
        """After the remember committed: wake the worker for ``count`` new jobs. Never raises: the
        jobs are durable, so a worker that cannot start now finds them at the next wake or open."""
        if count <= 0:
            return
        with self._lock:
            self._local += count
        try:
            self.kick()
        except Exception as exc:  # e.g. no thread can be started; the commit stands
            _log.warning("extraction worker not woken after a commit (%d jobs stay queued): %r", count, exc)

    # --- running ------------------------------------------------------------------------
    def kick(self) -> None:
        """Wake the worker thread (start it on first use)."""
        if self.extractor is None or self._stop.is_set():
            return
        with self._lock:
            self._wake.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="maas-extraction", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        """Work while woken; an idle thread ends after ``_IDLE`` seconds (the next :meth:`kick`
        starts another), so an instance dropped without ``close()`` leaves no thread behind."""
        while not self._stop.is_set():
            if not self._wake.wait(timeout=_IDLE):
                with self._lock:
                    if not self._wake.is_set():
                        self._thread = None
                        return
            self._wake.clear()
            if self._stop.wait(_SETTLE):  # closing
                return
            try:
                while self.run_once(32) and not self._stop.is_set():
                    pass
            except Exception:  # a backend outage: keep the jobs, try again on the next wake
                _log.exception("extraction worker: a batch failed; its jobs stay queued")

    def run_once(self, limit: int = 32, *, include_failed: bool = False) -> int:
        """Apply up to ``limit`` queued jobs (oldest first); the number of jobs closed."""
        if self.extractor is None:
            return 0
        with self._run_lock:
            before = self._local
            jobs = self._rt.read(lambda tx: tx.pending_extractions(limit, include_failed=include_failed))
            if not jobs:  # jobs this process queued were closed by another process's worker
                with self._lock:
                    self._local = max(0, self._local - before)
            closed = 0
            for job in jobs:
                if self._stop.is_set():  # closing: the rest stays queued for the next worker
                    break
                closed += self._process(job)
            if closed and self._on_applied is not None:
                self._on_applied()
            return closed if jobs else 0

    def _process(self, job: ExtractionJob) -> bool:
        found = self._rt.read(lambda tx: tx.get_memories([job.memory_id]))
        memory = found[0].memory if found else None
        extraction: Extraction | None = None
        if memory is not None and memory.status in _EXTRACTED and memory.scope:
            extraction = self._extract(memory)
        try:
            self._rt.write(
                lambda tx: self._apply(tx, job, memory, extraction),
                event_type=_OP,
                action="extract",
                actor=None if memory is None else memory.author_id,
                target=job.memory_id,
            )
        except _Taken:
            pass
        except Exception as exc:  # facts that cannot be stored: keep the memory, record why
            _log.warning("extraction of memory %s: storing the facts failed: %r", job.memory_id, exc)
            reason = f"storing the facts failed: {type(exc).__name__}: {exc}"[:1_000]
            self._rt.write(
                lambda tx: tx.finish_extraction(job.memory_id, reason, job.attempts + 1),
                event_type=_OP,
                action="extract",
                actor=None,
                target=job.memory_id,
            )
        with self._lock:
            self._local = max(0, self._local - 1)
        return True

    def _extract(self, memory: Memory) -> Extraction:
        assert self.extractor is not None
        try:
            return self.extractor.extract(redact(memory.content), category=memory.category)
        except Exception as exc:  # the extractor's contract says return, but never trust it
            return Extraction(error=f"the extractor raised {type(exc).__name__}: {str(exc)[:300]}")

    def _apply(self, tx: StateTx, job: ExtractionJob, memory: Memory | None, extraction: Extraction | None) -> None:
        failed = extraction is not None and not extraction and extraction.error is not None
        error = extraction.error if failed and extraction is not None else None
        if not tx.finish_extraction(job.memory_id, error, job.attempts + 1):
            raise _Taken
        if memory is None:
            return
        if failed:
            self._rt.record(
                tx,
                AuditEntry(_OP, "extract_failed", memory.author_id, memory.memory_id, "failure", error),
            )
        elif extraction is not None:
            applied = self.entities.apply(tx, memory, extraction)
            if applied.dropped or extraction.error:
                reasons = ([extraction.error] if extraction.error else []) + applied.dropped
                self._rt.record(
                    tx,
                    AuditEntry(
                        _OP,
                        "extract_partial",
                        memory.author_id,
                        memory.memory_id,
                        "success",
                        "; ".join(reasons)[:1_000],
                        {"facts": applied.facts},
                    ),
                )
        replacer = memory.superseded_by
        if memory.status is MemoryStatus.SUPERSEDED and replacer and not tx.pending_extraction_ids([replacer]):
            # replaced before its facts were applied, and the replacing memory's job already ran
            # (a second worker): retract now what that job would have retracted
            self.entities.retract(tx, [memory.memory_id], replaced=True)
        if memory.supersedes:
            self.entities.retract(tx, [memory.supersedes], replaced=True)

    def drain(self, timeout: float | None = 30.0, *, everyone: bool = False) -> int:
        """Apply pending jobs in the caller's thread until none is left: this process's (free
        when there are none), or every process's with ``everyone``. Returns the jobs still
        pending (more may arrive meanwhile; ``timeout`` bounds the wait)."""
        if self.extractor is None:
            return 0
        deadline = None if timeout is None else time.monotonic() + timeout
        while everyone or self._local > 0:
            if not self.run_once(64, include_failed=False):
                break
            if deadline is not None and time.monotonic() > deadline:
                break
        return self.backlog()[0] if everyone else self._local

    def backlog(self) -> tuple[int, int]:
        """(pending, failed) jobs of every process on this store."""
        return self._rt.read(lambda tx: tx.count_extractions())

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread; jobs not yet applied stay queued for the next worker."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
