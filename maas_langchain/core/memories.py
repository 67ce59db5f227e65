"""Memories: write with screening, recall by meaning within a scope, supersede, forget.

The relational store holds every memory (content, scope, provenance, status, supersession
links and its vector); the vector index only answers "which ids are nearest". A recall gathers
candidates from the index *and* the store's full-text index, both filtered by the reader's scope
inside the query (so ``top_k`` is never starved and nothing out of scope is scored), re-checks
them in SQL, computes exact cosine similarity from the stored vectors, and ranks them with
:mod:`maas_langchain.core.ranking`.

Example:
    >>> from maas_langchain import MaaS
    >>> from maas_langchain.embeddings import HashingEmbeddings
    >>> maas = MaaS.open(":memory:", embeddings=HashingEmbeddings())
    >>> m = maas.memories.remember("The auth service signs JWTs with RS256.", scope={"org": "acme"})
    >>> [hit.memory.content for hit in maas.memories.recall("JWT signing", scope={"org": "acme"})]
    ['The auth service signs JWTs with RS256.']
    >>> maas.close()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from maas_langchain.core.access import MemoryGrant
from maas_langchain.core.enums import AuditEventType, EventKind, MemoryStatus
from maas_langchain.core.exact import ScopePlans, VectorCache
from maas_langchain.core.memory_dedup import digest_of, stored_copy
from maas_langchain.core.memory_gate import MemoryGate
from maas_langchain.core.memory_index import EmbeddingSpec, IndexSync, scope_where
from maas_langchain.core.memory_prepare import embed_checked, prepare_memory, screened
from maas_langchain.core.memory_types import (
    Embedder,
    HistoryPage,
    MemoryInput,
    PreparedMemory,
    RecallHit,
)
from maas_langchain.core.ports.state import NewMemory, StateTx, StoredMemory
from maas_langchain.core.ports.vectors import VectorIndex
from maas_langchain.core.ranking import (
    Candidate,
    RankingWeights,
    decode_vector,
    encode_vector,
    explain,
    lexical_terms,
    rank,
)
from maas_langchain.core.recall_time import candidates_as_of, current_first
from maas_langchain.core.records import Memory
from maas_langchain.core.runtime import AuditEntry, Runtime, audit_refusals
from maas_langchain.core.scopes import ScopeFilter, ScopeHierarchy
from maas_langchain.core.screening import MEXTRAValidator, redact, redact_value
from maas_langchain.core.validation import check_id, check_positive_int, check_seq, check_text, check_time
from maas_langchain.errors import (
    CapacityExceededError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PolicyViolationError,
)

__all__ = ["Embedder", "MemoryInput", "MemoryService", "RecallHit"]

_OP = AuditEventType.MEMORY_OPERATION
_SCREENING_MODES = ("quarantine", "refuse", "off")


class MemoryService:
    """Write, recall, supersede and forget memories.

    Args:
        rt: Shared runtime (backend, limits, clock, audit).
        index: Vector index (Chroma or brute force), or a factory called on first use.
        embedder: Factory of the embedding model, called once on first use (loading a model
            is slow, so nothing is loaded until a memory is written or recalled).
        hierarchy: Allowed scope keys.
        weights: Ranking weights.
        screening: ``"quarantine"`` (default: flagged writes are stored as QUARANTINED, never
            recalled), ``"refuse"`` (raise :class:`PolicyViolationError`) or ``"off"``.
        exact_limit: Scopes holding at most this many memories are searched exactly over the
            stored vectors (:mod:`maas_langchain.core.exact`); larger ones through the index's
            filtered search. 0 always uses the index.
    """

    def __init__(
        self,
        rt: Runtime,
        index: VectorIndex | Callable[[], VectorIndex],
        embedder: Callable[[], Embedder],
        *,
        hierarchy: ScopeHierarchy | None = None,
        weights: RankingWeights | None = None,
        screening: str = "quarantine",
        exact_limit: int = 5_000,
    ) -> None:
        if screening not in _SCREENING_MODES:
            raise InvalidInputError(f"screening must be one of {_SCREENING_MODES}", screening=screening)
        self._rt = rt
        self.hierarchy = hierarchy or ScopeHierarchy()
        self.gate = MemoryGate(rt, self.hierarchy)
        self.weights = weights or RankingWeights()
        self.screening = screening
        self._validator = MEXTRAValidator()
        self._embedder_factory = embedder
        self._embedder: Embedder | None = None
        self._collection: str | None = None
        self._lock = threading.Lock()
        self.sync = IndexSync(rt, index, self.hierarchy)
        self.exact_limit = exact_limit
        self._cache = VectorCache()
        self._plans = ScopePlans()
        self.extraction: Any = None  # the facade's ExtractionWorker: queues facts, orders recall

    # --- set-up -----------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        """The embedding model (created on first use)."""
        self._ready()
        assert self._embedder is not None
        return self._embedder

    def _ready(self) -> str:
        with self._lock:
            if self._collection is None:
                embedder = self._embedder_factory()
                collection = self.sync.bind(EmbeddingSpec(embedder.model_id, embedder.dimension))
                self.sync.sync(collection)  # rows a crash (or another process's crash) left unindexed
                self._collection, self._embedder = collection, embedder
            return self._collection

    def heal(self) -> int:
        """Push rows a crash left unindexed to the index (no embedding model needed)."""
        spec = self.sync.stored_spec()
        if spec is None:
            return 0
        name = self.sync.collection(spec)
        if not self._rt.read(lambda tx: tx.dirty_memories(1)):
            return 0
        self.sync.index.ensure_collection(name, dimension=spec.dimension, model=spec.model)
        return self.sync.sync(name)

    # --- writing ----------------------------------------------------------------------
    @audit_refusals(_OP, "remember", "as_agent")
    def remember(
        self,
        content: str,
        *,
        scope: Mapping[str, str] | None = None,
        category: str = "knowledge",
        metadata: Mapping[str, Any] | None = None,
        author_id: str | None = None,
        session_id: str | None = None,
        supersedes: str | None = None,
        as_agent: str | None = None,
        floor: Mapping[str, str] | None = None,
        duplicate: bool = False,
    ) -> Memory:
        """Store one memory and index it; return the stored record (redacted). Once it is stored, an
        index failure is healed later, never raised (:mod:`~maas_langchain.core.memory_index`). The
        same content again, at the same scope, session, author and category, returns the memory
        already stored unless ``duplicate`` (:mod:`~maas_langchain.core.memory_dedup`).

        Without ``as_agent`` the call is the trusted orchestrator's. With it, the agent is the
        author, needs MEMORY_WRITE, and ``scope`` (default: its own, or ``floor``) must be allowed
        by :func:`~maas_langchain.core.access.memory_grant`; per-agent and per-owner quotas apply.

        Raises:
            InvalidInputError: Empty or oversized content, bad scope keys, nested metadata.
            PolicyViolationError: Screening flagged the content and the policy is ``refuse``.
            NotFoundError: Unknown or closed session, unknown memory to supersede.
            CapacityExceededError: ``limits.max_memories`` reached.
        """
        item = MemoryInput(content, scope or {}, category, metadata, author_id, session_id)
        old = None if supersedes is None else check_id(supersedes, "supersedes")
        return self.remember_many([item], supersedes=old, as_agent=as_agent, floor=floor, duplicate=duplicate)[0]

    @audit_refusals(_OP, "remember", "as_agent")
    def remember_many(
        self,
        items: Sequence[MemoryInput],
        *,
        supersedes: str | None = None,
        as_agent: str | None = None,
        floor: Mapping[str, str] | None = None,
        duplicate: bool = False,
    ) -> list[Memory]:
        """Store many memories in one transaction (all or none), embedded in batches. With
        ``as_agent`` every item is the agent's, at a scope its grant allows (see :meth:`remember`)."""
        if not items:
            return []
        if as_agent is not None:
            items = [self.gate.granted(item, as_agent, floor) for item in items]
            if supersedes is not None:
                self.gate.require_readable(as_agent, supersedes, floor, "supersede")
        prepared = [prepare_memory(item, self._rt.limits, self.hierarchy, self._rt.clock) for item in items]
        collection = self._ready()
        raw = embed_checked(self.embedder, [p.embed_text for p in prepared])
        try:  # screening reads the text and the vector the memory gets anyway
            prepared = screened(prepared, raw, self._validator, self.screening, self.embedder.model_id)
        except PolicyViolationError as exc:
            self._rt.record_failure(exc, event_type=_OP, action="remember", actor=items[0].author_id, target=None)
            raise
        vectors = [encode_vector(v) for v in raw]
        stored, new_ids = self._rt.write(
            lambda tx: self._insert(tx, prepared, vectors, supersedes, duplicate),
            event_type=_OP,
            action="remember",
            actor=prepared[0].memory.author_id,
            target=prepared[0].memory.session_id,
        )
        self.sync.settle(collection, [m.memory_id for m in stored] + ([supersedes] if supersedes else []))
        if self.extraction is not None:
            self.extraction.queued(sum(1 for m in stored if m.memory_id in new_ids and self.extraction.wants(m)))
        return [self._public(m) for m in stored]

    def _insert(
        self,
        tx: StateTx,
        prepared: Sequence[PreparedMemory],
        vectors: Sequence[bytes],
        supersedes: str | None,
        duplicate: bool = False,
    ) -> tuple[list[Memory], set[str]]:
        digests = [
            digest_of(
                self.hierarchy.canon(p.memory.scope) if p.memory.scope else None,
                p.memory.author_id,
                p.memory.category,
                p.memory.content,
            )
            for p in prepared
        ]
        copies = [None if duplicate or supersedes else stored_copy(tx, d) for d in digests]
        fresh = [p for p, c in zip(prepared, copies, strict=True) if c is None]
        limit = self._rt.limits.max_memories
        if tx.count_memories() + len(fresh) > limit:
            raise CapacityExceededError(f"the store holds the maximum of {limit} memories", limit=limit)
        quota = self.gate.quota(tx, [p.memory.author_id for p in fresh])
        sessions = {p.memory.session_id for p in prepared if p.memory.session_id}
        last = {s: self._open_session(tx, s).last_memory_id for s in sessions}
        stored: list[Memory] = []
        for prep, vector, digest, copy in zip(prepared, vectors, digests, copies, strict=True):
            if copy is not None:  # the same write again: the stored memory, corroborated in the audit log
                again = {"session_id": prep.memory.session_id} if prep.memory.session_id else {}
                self._rt.record(
                    tx, AuditEntry(_OP, "remember_duplicate", copy.author_id, copy.memory_id, details=again)
                )
                stored.append(copy)
                continue
            m = prep.memory
            if m.status is MemoryStatus.ACTIVE:
                tx.set_memory_digest(digest, m.memory_id)
            if supersedes is not None:
                m = self._supersede(tx, supersedes, m)
            prev = last.get(m.session_id) if m.session_id else None
            new = NewMemory(
                memory=m,
                vector=vector,
                search_text=prep.search_text,
                scope_key=self.hierarchy.canon(m.scope),
                scope_prefixes=self.hierarchy.prefixes(m.scope),
                prev_id=prev,
                dirty=m.status is MemoryStatus.ACTIVE,
            )
            stored.append(tx.insert_memory(new))
            if m.session_id:
                last[m.session_id] = m.memory_id
                tx.set_session_last_memory(m.session_id, m.memory_id)
        for name, count in quota.items():
            tx.bump_counter(name, count)
        written = [m for m, c in zip(stored, copies, strict=True) if c is None]
        if written:
            self._record_writes(tx, written)
        if self.extraction is not None:  # jobs as durable as the memories (core/extraction.py)
            self.extraction.enqueue(tx, written)
        return stored, {m.memory_id for m in written}

    def _open_session(self, tx: StateTx, session_id: str) -> Any:
        session = tx.get_session(session_id)
        if session is None or session.closed_at is not None:
            raise NotFoundError(f"no open session with id {session_id}", session_id=session_id)
        return session

    def _supersede(self, tx: StateTx, old_id: str, new: Memory) -> Memory:
        old = tx.get_memories([old_id])
        if not old:
            raise NotFoundError(f"no memory with id {old_id}", memory_id=old_id)
        if old[0].memory.status is not MemoryStatus.ACTIVE:
            raise ConflictError(f"memory {old_id} is {old[0].memory.status.value}, not active", memory_id=old_id)
        tx.set_memory_status(old_id, MemoryStatus.SUPERSEDED, valid_to=new.created_at, superseded_by=new.memory_id)
        return Memory(**{**new.__dict__, "supersedes": old_id})

    def _record_writes(self, tx: StateTx, stored: Sequence[Memory]) -> None:
        for m in stored:
            self._rt.emit(
                tx,
                EventKind.MEMORY_WRITTEN,
                m.pool_id,
                memory_id=m.memory_id,
                status=m.status.value,
                scope=self.hierarchy.canon(m.scope),
                author_id=m.author_id,
            )
        quarantined = [m.memory_id for m in stored if m.status is MemoryStatus.QUARANTINED]
        details: dict[str, Any] = {"count": len(stored), "memory_ids": [m.memory_id for m in stored][:20]}
        if quarantined:
            details["quarantined"] = quarantined[:20]
        outcome = "quarantined" if quarantined else "success"
        self._rt.record(
            tx, AuditEntry(_OP, "remember", stored[0].author_id, stored[0].session_id, outcome, None, details)
        )

    def index_changed(self, memory_ids: Sequence[str]) -> None:
        """Push status changes made elsewhere to an open index (else the next open syncs them)."""
        if self._collection is not None:
            self.sync.settle(self._collection, memory_ids)

    # --- status changes ---------------------------------------------------------------
    @audit_refusals(_OP, "forget", "actor_id")
    def forget(self, memory_id: str, *, actor_id: str | None = None, floor: Mapping[str, str] | None = None) -> bool:
        """Mark a memory DELETED (kept for history and audit, never recalled again).
        Returns False if it was not active. With ``actor_id`` (an agent): its author retracts
        with MEMORY_WRITE; anyone else needs MEMORY_DELETE and must be able to read it."""
        key = check_id(memory_id, "memory_id")

        def op(tx: StateTx) -> bool:
            found = tx.get_memories([key])
            if actor_id is not None:
                self.gate.check_forget(tx, actor_id, key, found, floor)
            if not found:
                raise NotFoundError(f"no memory with id {key}", memory_id=key)
            if found[0].memory.status is MemoryStatus.DELETED:
                return False
            tx.set_memory_status(key, MemoryStatus.DELETED, valid_to=self._rt.clock())
            if self.extraction is not None:  # its facts are retracted; the value before holds again
                self.extraction.entities.retract(tx, [key])
            self._rt.emit(tx, EventKind.MEMORY_STATUS_CHANGED, None, memory_id=key, status="deleted")
            self._rt.record(tx, AuditEntry(_OP, "forget", actor_id, key))
            return True

        changed = self._rt.write(op, event_type=_OP, action="forget", actor=actor_id, target=key)
        if changed and self._collection is not None:
            self.sync.settle(self._collection, [key])
        return changed

    # --- access -----------------------------------------------------------------------
    def grant(
        self, agent_id: str, scope: Mapping[str, str] | None, *, floor: Mapping[str, str] | None, write: bool
    ) -> MemoryGrant:
        """The agent's :func:`~maas_langchain.core.access.memory_grant` (a denial is audited)."""
        return self.gate.grant(agent_id, scope, floor=floor, write=write)

    # --- reading ----------------------------------------------------------------------
    @audit_refusals(_OP, "get", "as_agent")
    def get(
        self, memory_id: str, *, as_agent: str | None = None, floor: Mapping[str, str] | None = None
    ) -> Memory | None:
        """The memory with this id, any status (redacted), or None. With ``as_agent``, a memory the
        agent may not read is denied (audited) exactly like an unknown id is: ``None``."""
        key = check_id(memory_id, "memory_id")

        def read(tx: StateTx) -> Memory | None:
            found = tx.get_memories([key])
            if as_agent is not None:
                self.gate.check_read(tx, as_agent, key, found, floor, "read")
            return found[0].memory if found else None

        try:
            memory = self._rt.read(read)
        except PermissionDeniedError as exc:
            self._rt.record_failure(exc, event_type=_OP, action="get", actor=as_agent, target=key)
            return None
        return None if memory is None else self._public(memory)

    def history(self, *, scope: Mapping[str, str] | None = None, descendants: bool = True, limit: int = 1_000,
                as_agent: str | None = None, floor: Mapping[str, str] | None = None) -> list[Memory]:  # fmt: skip
        """Every memory visible at ``scope`` in any status, oldest first (supersession chains
        and quarantined writes included; an agent sees only its own quarantined writes, a HUMAN
        reviewer all of them). ``as_agent`` / ``floor``: as in :meth:`recall`."""
        found = self.history_page(scope=scope, descendants=descendants, limit=limit, as_agent=as_agent, floor=floor)
        return found.memories

    @audit_refusals(_OP, "history", "as_agent")
    def history_page(self, *, scope: Mapping[str, str] | None = None, descendants: bool = True, limit: int = 1_000,
                     after: int = 0, as_agent: str | None = None, floor: Mapping[str, str] | None = None) -> HistoryPage:  # fmt: skip
        """One page of :meth:`history` after the position ``after`` (the previous page's ``next``)."""
        scope, descendants = self.gate.reader_scope(scope, descendants, as_agent, floor)
        flt = self.hierarchy.filter(self.hierarchy.check(scope), descendants=descendants)
        page, start = check_positive_int(limit, "limit", self._rt.limits.max_query_limit), check_seq(after, "after")

        def read(tx: StateTx) -> HistoryPage:
            rows = [r.memory for r in tx.list_memories(scope=flt, after_seq=start, limit=page + 1)]
            following = rows[page - 1].seq if len(rows) > page else None
            shown = rows[:page] if as_agent is None else self.gate.shown(tx, as_agent, rows[:page])
            return HistoryPage([self._public(m) for m in shown], following)  # quarantined: author's and HUMANs'

        return self._rt.read(read)

    @audit_refusals(_OP, "recall", "as_agent")
    def recall(
        self,
        query: str,
        *,
        scope: Mapping[str, str] | None = None,
        top_k: int = 5,
        descendants: bool = True,
        as_agent: str | None = None,
        floor: Mapping[str, str] | None = None,
        as_of: float | None = None,
    ) -> list[RecallHit]:
        """The ``top_k`` current memories visible at ``scope`` that best answer ``query``.
        With ``as_agent`` the agent needs MEMORY_READ and ``scope`` (default: its own, or
        ``floor``) must be allowed by :func:`~maas_langchain.core.access.memory_grant`.

        Memories whose every extracted fact a later write replaced rank after current ones and
        carry ``why["superseded"]`` (:mod:`~maas_langchain.core.recall_time`). ``as_of`` (epoch
        seconds) answers for that moment: the memories that were current then.

        Raises:
            InvalidInputError: Empty query, bad scope, ``top_k`` outside 1..``max_recall_top_k``, an
                ``as_of`` that is not a finite number.
        """
        text = check_text(query, "query", self._rt.limits.max_memory_chars)
        k = check_positive_int(top_k, "top_k", self._rt.limits.max_recall_top_k)
        scope, descendants = self.gate.reader_scope(scope, descendants, as_agent, floor)
        flt = self.hierarchy.filter(self.hierarchy.check(scope), descendants=descendants)
        terms, when = lexical_terms(text), check_time(as_of, "as_of")  # NaN or inf: invalid_input
        if when is not None:
            candidates, by_id = candidates_as_of(self, text, flt, when)
            now = when
        else:
            candidates, by_id = self.candidates(text, flt, max(3 * k, 50), terms=terms)
            now = self._rt.clock()
        ranked = current_first(self._rt, self.extraction, rank(candidates, now, self.weights), by_id, flt, when)[:k]
        return [
            RecallHit(self._public(by_id[s.memory_id]), s.score, explain(s, by_id[s.memory_id], terms)) for s in ranked
        ]

    def candidates(
        self, text: str, flt: ScopeFilter, fetch: int, *, terms: Sequence[str] | None = None
    ) -> tuple[list[Candidate], dict[str, Memory]]:
        """Gather up to ``fetch`` nearest and ``fetch`` best full-text matches within ``flt``,
        re-checked in the store, with exact similarities (the input of :func:`rank`)."""
        collection = self._ready()
        qvec = np.asarray(self.embedder.embed_query(text), dtype=np.float32)
        fetch = min(fetch, 3 * self._rt.limits.max_recall_top_k)
        dense = self._nearest(collection, qvec, flt, fetch)
        terms = lexical_terms(text) if terms is None else terms

        def read(tx: StateTx) -> tuple[list[tuple[str, float]], list[StoredMemory]]:
            lexical = tx.lexical_search(terms, flt, fetch)
            ids = dense + [i for i, _ in lexical]
            return lexical, tx.get_memories(ids, scope=flt)

        lexical, rows = self._rt.read(read)
        lex = dict(lexical)
        current = [r for r in rows if r.memory.is_current() and r.vector is not None]
        if not current:
            return [], {}
        matrix = np.stack([decode_vector(r.vector or b"") for r in current])
        norms = np.linalg.norm(matrix, axis=1) * (float(np.linalg.norm(qvec)) or 1.0)
        sims = np.einsum("ij,j->i", matrix, qvec) / np.where(norms > 0, norms, 1.0)
        candidates = [
            Candidate(r.memory.memory_id, float(sim), lex.get(r.memory.memory_id, 0.0), r.memory.created_at, r.prev_id)
            for r, sim in zip(current, sims, strict=True)
        ]
        return candidates, {r.memory.memory_id: r.memory for r in current}

    def _nearest(self, collection: str, qvec: Any, flt: ScopeFilter, fetch: int) -> list[str]:
        """Ids nearest to ``qvec`` in scope: exact over the stored vectors when the scope holds at
        most ``exact_limit`` memories, else the index's filtered search."""
        if self.exact_limit:
            plan = self._rt.read(lambda tx: self._plans.plan(tx, flt, self._cache, self.exact_limit))
            if plan.ids is not None:
                return [i for i, _ in plan.nearest(qvec, fetch)]
        self.sync.catch_up(collection)  # rows a failed post-commit index write left out
        # A wide scope (an org, a supervisor over most of the store): an unfiltered search is
        # ~4 ms where a filter matching most rows costs hundreds at 100k; keep its hits if
        # enough of them are in scope, else fall back to the filtered search (never starved).
        wide = [h.id for h in self.sync.index.query(collection, qvec.tolist(), 2 * fetch)]
        inside = set(self._rt.read(lambda tx: tx.in_scope(wide, flt)))
        kept = [i for i in wide if i in inside]
        if len(kept) >= fetch or len(wide) < 2 * fetch:  # enough, or the index holds no more rows
            return kept[:fetch]
        return [h.id for h in self.sync.index.query(collection, qvec.tolist(), fetch, scope_where(flt))]

    @staticmethod
    def _public(memory: Memory) -> Memory:
        """A copy safe to hand out: secrets in content and metadata redacted."""
        return Memory(
            **{**memory.__dict__, "content": redact(memory.content), "metadata": redact_value(memory.metadata)}
        )
