"""The item service: LangGraph-style store operations against the MaaS backend, with the bound
agent's rights checked (:mod:`maas_langchain.core.access`), values screened and denials audited.

The LangGraph adapter (``MaaSStore``) only translates: it hands in LangGraph's operation objects
(read here through their attributes, see :class:`GetRequest` and friends) and the item classes to
build (``item_type`` / ``search_item_type``), so this module imports no framework.

Reads of one batch run before its writes (InMemoryStore's order: a batch's gets and searches
see the state before its puts); puts are de-duplicated per namespace and key (the last wins,
in the position of the first) and commit in one transaction, with the check of the bound
agent's rights inside it. Denials are audited through the runtime and raised.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from maas_langchain.core.access import (
    authorize_namespace,
    authorize_namespace_prefix,
    load_actor,
    store_readers,
)
from maas_langchain.core.enums import AuditEventType
from maas_langchain.core.item_cache import Coherence
from maas_langchain.core.item_quota import StoreQuota
from maas_langchain.core.item_search import IndexedSearch, Plan, QueryPlans
from maas_langchain.core.item_values import (
    decode_value,
    matches_conditions,
    matches_filter,
    string_equalities,
    to_datetime,
)
from maas_langchain.core.ports.kv import KVPut, KVQuery, KVRow, encode_namespace, split_namespace
from maas_langchain.core.ports.state import StateTx
from maas_langchain.core.records import Agent
from maas_langchain.core.runtime import AuditEntry, Runtime
from maas_langchain.core.screening import redact_value
from maas_langchain.core.store_namespaces import (
    RESERVED_ROOTS,
    quarantine_namespace,
    screen_strings,
    to_shown,
    to_stored,
)
from maas_langchain.errors import MaaSError, PolicyViolationError

__all__ = ["Entry", "GetRequest", "ItemService", "ListRequest", "PreparedPut", "SearchRequest", "filter_mapping"]

_OP = AuditEventType.MEMORY_OPERATION
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True, slots=True)
class Entry:
    """A cached item: its JSON text (or, for flat values, the dict to copy) and datetimes."""

    text: str
    flat: dict[str, Any] | None
    created: datetime
    updated: datetime

    def item(self, namespace: tuple[str, ...], key: str, make: Callable[..., Any]) -> Any:
        """The item, built by ``make`` (LangGraph's ``Item`` in the adapter), with a fresh value."""
        value = dict(self.flat) if self.flat is not None else decode_value(self.text)
        return make(value=value, key=key, namespace=namespace, created_at=self.created, updated_at=self.updated)


_MISSING = Entry("", None, to_datetime(0), to_datetime(0))


def _entry(row: KVRow) -> Entry:
    value = decode_value(row.value)
    flat = value if all(type(v) in _SCALARS for v in value.values()) else None
    return Entry(row.value, flat, to_datetime(row.created_at), to_datetime(row.updated_at))


@dataclass(slots=True)
class PreparedPut:
    """A put or delete after validation, encoding and embedding."""

    namespace: tuple[str, ...]
    key: str
    text: str | None
    value: dict[str, Any] | None
    ttl: float | None
    vectors: list[tuple[str, bytes]] = field(default_factory=list)


class GetRequest(Protocol):
    """What a get carries (LangGraph's ``GetOp`` has these attributes)."""

    @property
    def namespace(self) -> tuple[str, ...]: ...
    @property
    def key(self) -> str: ...
    @property
    def refresh_ttl(self) -> bool: ...


class SearchRequest(Protocol):
    """What a search carries (LangGraph's ``SearchOp``)."""

    @property
    def namespace_prefix(self) -> tuple[str, ...]: ...
    @property
    def filter(self) -> dict[str, Any] | None: ...
    @property
    def limit(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def refresh_ttl(self) -> bool: ...


class ListRequest(Protocol):
    """What a namespace listing carries (LangGraph's ``ListNamespacesOp``; conditions have
    ``path`` and ``match_type``)."""

    @property
    def match_conditions(self) -> Any: ...
    @property
    def max_depth(self) -> int | None: ...
    @property
    def limit(self) -> int: ...
    @property
    def offset(self) -> int: ...


class ItemService:
    """Executes prepared store operations for one store configuration (shared by its views).

    Args:
        runtime: The MaaS runtime (backend, clock, audit).
        coherence: The backend's cache coherence state (shared by every store in the process).
        use_cache: Serve the trusted path's gets from the coherence state's read cache.
        indexed: The vector-index search path (``None``: no index config).
        exact_limit: Largest candidate set scored exactly.
        omit_expired: Leave expired items out of reads before the sweep deletes them.
        refresh_on_read: Default of ``refresh_ttl`` when reads restart TTLs.
        screening: ``"refuse"``, ``"quarantine"`` or ``"off"`` for bound views' puts.
        item_type: Builds a read item (keywords ``value, key, namespace, created_at, updated_at``).
        search_item_type: Builds a search result (the same keywords and ``score``).
    """

    def __init__(
        self,
        runtime: Runtime,
        coherence: Coherence,
        use_cache: bool,
        indexed: IndexedSearch | None,
        *,
        exact_limit: int,
        omit_expired: bool,
        refresh_on_read: bool,
        screening: str,
        item_type: Callable[..., Any],
        search_item_type: Callable[..., Any],
    ) -> None:
        self.item_type = item_type
        self.search_item_type = search_item_type
        self.rt = runtime
        self.backend = runtime.backend
        self.coh = coherence
        self.cache = coherence.cache if use_cache else None
        self.indexed = indexed
        self.exact_limit = exact_limit
        self.omit_expired = omit_expired
        self.refresh_on_read = refresh_on_read
        self.screening = screening
        self.ns_ids: dict[str, int] = {}  # committed namespace ids (rows are never deleted)
        self.plans = QueryPlans()
        self.quota = StoreQuota(runtime)

    # --- helpers ----------------------------------------------------------------------
    def _alive(self) -> float | None:
        return self.rt.clock() if self.omit_expired else None

    def audited(self, fn: Callable[[], Any], action: str, agent_id: str | None, target: str | None) -> Any:
        """Run ``fn``; a MaaS error in a bound view is recorded in the audit log, then raised."""
        try:
            return fn()
        except MaaSError as exc:
            if agent_id is not None:
                self.rt.record_failure(exc, event_type=_OP, action=action, actor=agent_id, target=target)
            raise

    # --- gets -------------------------------------------------------------------------
    def get_trusted(self, op: GetRequest, refresh: list[int]) -> Any:
        """A get by the trusted caller, through the read cache."""
        cache = self.cache
        ckey = (op.namespace, op.key)
        if cache is not None:
            cache.refresh(self.coh.read_stamp)
            entry = cache.lookup(ckey)
            if entry is not None:
                return None if entry is _MISSING else entry.item(op.namespace, op.key, self.item_type)
            generation = cache.generation
            local, epoch = self.coh.before_read()
        with self.backend.transaction(write=False) as tx:
            shared = tx.kv_version() if cache is not None else 0
            rows = tx.kv_get(encode_namespace(op.namespace), [op.key], self._alive())
        row = rows[0] if rows else None
        if row is not None and row.ttl_minutes is not None:
            if op.refresh_ttl and self.refresh_on_read:
                refresh.append(row.item_id)
            return self._item(row, op.namespace, redacted=False)
        entry = _MISSING if row is None else _entry(row)
        if cache is not None:
            cache.fill(ckey, entry, version=(shared, local, epoch), generation=generation)
        return None if entry is _MISSING else entry.item(op.namespace, op.key, self.item_type)

    def get_bound(self, tx: StateTx, agent: Agent, op: GetRequest, refresh: list[int]) -> Any:
        """A get by a bound agent: authorised, then read (redacted) in the same transaction."""
        stored = to_stored(agent.agent_id, op.namespace)
        authorize_namespace(tx, agent, "read", stored)
        rows = tx.kv_get(encode_namespace(stored), [op.key], self._alive())
        if not rows:
            return None
        if rows[0].ttl_minutes is not None and op.refresh_ttl and self.refresh_on_read:
            refresh.append(rows[0].item_id)
        return self._item(rows[0], op.namespace, redacted=True)

    def _item(self, row: KVRow, namespace: tuple[str, ...], *, redacted: bool) -> Any:
        value = decode_value(row.value)
        return self.item_type(
            value=redact_value(value) if redacted else value,
            key=row.key,
            namespace=namespace,
            created_at=to_datetime(row.created_at),
            updated_at=to_datetime(row.updated_at),
        )

    # --- searches ---------------------------------------------------------------------
    def search(
        self,
        tx: StateTx,
        agent: Agent | None,
        op: SearchRequest,
        qvec: Sequence[float] | None,
        refresh: list[int],
        pre: tuple[int, int] | None = None,
    ) -> list[Any]:
        """One search; ``qvec`` is the embedded query (``None``: filter-only order); ``pre``
        is :meth:`Coherence.before_read` taken before ``tx`` began (``None``: plans are not reused)."""
        prefix = op.namespace_prefix
        show: Callable[[tuple[str, ...]], tuple[str, ...]] = lambda ns: ns  # noqa: E731
        reader = None
        if agent is not None:
            me = agent.agent_id
            stored = prefix if prefix and prefix[0] in RESERVED_ROOTS else to_stored(me, prefix) if prefix else ()
            authorize_namespace_prefix(tx, agent, stored)
            reader = store_readers(agent)
            if not prefix or prefix[0] not in RESERVED_ROOTS:
                show = lambda ns: to_shown(me, ns)  # noqa: E731
            prefix = stored
        query = KVQuery(encode_namespace(prefix) if prefix else None, reader, self._alive())
        scored = self._scored(tx, agent, op, query, qvec, pre)
        if op.refresh_ttl and self.refresh_on_read:
            refresh += [row.item_id for _, row in scored if row.ttl_minutes is not None]
        return [self._search_item(row, score, show, agent is not None) for score, row in scored]

    def _scored(
        self,
        tx: StateTx,
        agent: Agent | None,
        op: SearchRequest,
        query: KVQuery,
        qvec: Sequence[float] | None,
        pre: tuple[int, int] | None,
    ) -> list[tuple[float | None, KVRow]]:
        if op.limit < 0 or op.offset < 0:
            from maas_langchain.errors import InvalidInputError

            raise InvalidInputError("search limit and offset must be non-negative", limit=op.limit, offset=op.offset)
        if qvec is None:
            if not op.filter:
                return [(None, r) for r in tx.kv_scan(query, op.limit, op.offset)]
            return [(None, r) for r in self._filtered(tx, query, op.filter, op.offset + op.limit)[op.offset :]]
        key = version = None
        if agent is None and pre is not None:  # the trusted path reuses plans until the store changes
            key = (query.prefix, json.dumps(op.filter, sort_keys=True, default=repr) if op.filter else None)
            version = (tx.kv_version(), *pre)
            plan = self.plans.get(key, version, self.rt.clock())
            if plan is not None:  # only exact-path sets are planned: no need to count again
                return plan.rank(qvec, op.offset, op.limit)
        if self.indexed is not None and tx.kv_count(query, self.exact_limit + 1) > self.exact_limit:
            spaces = None if agent is None else self._spaces(tx, agent)
            found = self.indexed.search(qvec, query, spaces, op.filter, op.offset, op.limit)
            if found is not None:
                return found
        plan = self._plan(tx, query, op.filter, version)
        if key is not None:
            self.plans.put(key, plan)
        return plan.rank(qvec, op.offset, op.limit)

    @staticmethod
    def _filtered(tx: StateTx, query: KVQuery, flt: Mapping[str, Any], stop: int) -> list[KVRow]:
        """The first ``stop`` rows passing ``flt``, read in growing pages (stops early).

        Equality with a string is also handed to the database (:func:`string_equalities`), so
        its pages hold mostly matches and the first is sized to ``stop``."""
        found: list[KVRow] = []
        equals = string_equalities(flt)
        if equals:
            query = dataclasses.replace(query, equals=equals)
        position, page = 0, max(stop, 8) if equals else 64
        while len(found) < stop:
            rows = tx.kv_scan(query, page, position)
            found += [r for r in rows if matches_filter(decode_value(r.value), flt)]
            if len(rows) < page:
                break
            position, page = position + page, min(page * 4, 4_096)
        return found[:stop]

    @staticmethod
    def _plan(tx: StateTx, query: KVQuery, flt: Mapping[str, Any] | None, version: Hashable) -> Plan:
        """Exact-scoring candidates: the rows the query admits, with their vectors stacked."""
        rows = tx.kv_scan(query)
        if flt:
            rows = [r for r in rows if matches_filter(decode_value(r.value), flt)]
        blobs: dict[int, list[bytes]] = {}
        if rows:
            for item_id, blob in tx.kv_scan_vectors(query):
                blobs.setdefault(item_id, []).append(blob)
        return Plan.build([(r, blobs.get(r.item_id, [])) for r in rows], version)

    @staticmethod
    def _spaces(tx: StateTx, agent: Agent) -> list[str]:
        """The agent's readable spaces as the vector index's ``space`` values (its StoreReaders)."""
        return store_readers(agent).spaces(p.pool_id for p in tx.list_pools(member_id=agent.agent_id))

    def _search_item(
        self, row: KVRow, score: float | None, show: Callable[[tuple[str, ...]], tuple[str, ...]], redacted: bool
    ) -> Any:
        value = decode_value(row.value)
        return self.search_item_type(
            namespace=show(split_namespace(row.ns)),
            key=row.key,
            value=redact_value(value) if redacted else value,
            created_at=to_datetime(row.created_at),
            updated_at=to_datetime(row.updated_at),
            score=None if score is None else float(score),
        )

    # --- namespaces -------------------------------------------------------------------
    def list_namespaces(self, tx: StateTx, agent: Agent | None, op: ListRequest) -> list[tuple[str, ...]]:
        """Namespaces holding readable, unexpired items, filtered, truncated, sorted, paged."""
        if op.limit < 0 or op.offset < 0 or (op.max_depth is not None and op.max_depth < 0):
            from maas_langchain.errors import InvalidInputError

            raise InvalidInputError("limit, offset and max_depth must be non-negative")
        conditions = tuple(op.match_conditions or ())
        fixed: tuple[str, ...] = ()
        for condition in conditions:
            if condition.match_type == "prefix":
                labels = tuple(condition.path)
                fixed = labels[: labels.index("*")] if "*" in labels else labels
        show: Callable[[tuple[str, ...]], tuple[str, ...]] = lambda ns: ns  # noqa: E731
        reader = None
        if agent is not None:
            me = agent.agent_id
            if fixed and fixed[0] in RESERVED_ROOTS:
                authorize_namespace_prefix(tx, agent, fixed)
            else:
                fixed = to_stored(me, fixed) if fixed else ()
                authorize_namespace_prefix(tx, agent, ())
                show = lambda ns: to_shown(me, ns)  # noqa: E731
            reader = store_readers(agent)
        query = KVQuery(encode_namespace(fixed) if fixed else None, reader, self._alive())
        names = [show(split_namespace(n)) for n in tx.kv_namespaces(query)]
        names = [ns for ns in names if matches_conditions(ns, conditions)]
        if op.max_depth is not None:
            names = list({ns[: op.max_depth] for ns in names})
        return sorted(names)[op.offset : op.offset + op.limit]

    # --- writes -----------------------------------------------------------------------
    def write(self, agent_id: str | None, puts: Sequence[PreparedPut]) -> None:
        """Commit ``puts`` in one transaction (checked against the bound agent inside it)."""
        if agent_id is None:  # the trusted caller: nothing to check, nothing to audit
            writes = [KVPut(encode_namespace(p.namespace), p.key, p.text, p.ttl, p.vectors) for p in puts]
            self.write_trusted(writes, [(p.namespace, p.key) for p in puts])
            return

        def op(tx: StateTx) -> tuple[int | None, list[tuple[tuple[str, ...], str]], dict[str, int]]:
            writes, keys = [], []
            agent = load_actor(tx, agent_id)
            for put in puts:
                stored = to_stored(agent.agent_id, put.namespace)
                authorize_namespace(tx, agent, "put" if put.text is not None else "delete", stored)
                stored = self._screen(tx, agent, put, stored)
                writes.append(KVPut(encode_namespace(stored), put.key, put.text, put.ttl, put.vectors, agent_id))
                keys.append((stored, put.key))
            self.quota.charge(tx, agent_id, writes)
            exclude, live_after = self.coh.bump_args()
            ids, bumped = tx.kv_put(writes, self.rt.clock(), self.ns_ids, exclude_reader=exclude, live_after=live_after)
            return bumped, keys, ids

        target = encode_namespace(puts[0].namespace) if len(puts) == 1 else None
        action = "store_put" if any(p.text is not None for p in puts) else "store_delete"

        def run() -> tuple[int | None, list[tuple[tuple[str, ...], str]], dict[str, int]]:
            with self.backend.transaction(write=True) as tx:
                return op(tx)

        bumped, keys, ids = self.audited(run, action, agent_id, target)
        self._committed(keys, bumped, ids)

    def write_trusted(self, writes: Sequence[KVPut], keys: list[tuple[tuple[str, ...], str]]) -> None:
        """Commit the trusted caller's ``writes`` in one transaction: nothing to check, nothing to
        audit. ``keys`` are their ``(namespace, key)``, for the caches."""
        exclude, live_after = self.coh.bump_args()
        if writes and all(w.value is not None and not w.vectors and w.ns in self.ns_ids for w in writes):
            # the common case: values into known namespaces (one statement on PostgreSQL)
            moved = self.backend.kv_put_alone(
                writes, self.ns_ids, self.rt.clock(), exclude_reader=exclude, live_after=live_after
            )
            self._committed(keys, moved, {})
            return
        with self.backend.transaction(write=True) as tx:
            ids, bumped = tx.kv_put(writes, self.rt.clock(), self.ns_ids, exclude_reader=exclude, live_after=live_after)
        self._committed(keys, bumped, ids)

    def _committed(self, keys: list[tuple[tuple[str, ...], str]], bumped: int | None, ids: dict[str, int]) -> None:
        """After a commit: remember new namespace ids (rows are never deleted), tell the caches."""
        if ids and len(self.ns_ids) < 100_000:
            self.ns_ids.update(ids)
        self.coh.committed(keys, bumped)

    def _screen(self, tx: StateTx, agent: Agent, put: PreparedPut, stored: tuple[str, ...]) -> tuple[str, ...]:
        """Screen a bound agent's value; return where it is written. A flagged value is refused
        (``"refuse"``) or written to its author's quarantine space (``"quarantine"``):
        ``("agents", author, QUARANTINE, *stored)``, readable by the author and the trusted
        reviewer only, so the key it aimed at is left unchanged and no other agent reads it."""
        if put.value is None or self.screening == "off":
            return stored
        flags = screen_strings(put.value)
        if not flags:
            return stored
        target = f"{encode_namespace(stored)}/{put.key}"
        if self.screening == "refuse":
            raise PolicyViolationError(
                f"screening refused the value for key {put.key!r}: {', '.join(flags)}", categories=list(flags)
            )
        held = quarantine_namespace(agent.agent_id, stored)
        details = {"categories": list(flags), "quarantined_at": encode_namespace(held)}
        self.rt.record(tx, AuditEntry(_OP, "store_put_flagged", agent.agent_id, target, "quarantined", details=details))
        return held

    def refresh(self, item_ids: Sequence[int]) -> None:
        """Restart the TTL of items a read returned."""
        if item_ids:
            with self.backend.transaction(write=True) as tx:
                tx.kv_refresh(item_ids, self.rt.clock())

    def sweep(self, limit: int = 10_000) -> int:
        """Delete expired items; return how many."""
        total = 0
        while True:
            with self.backend.transaction(write=True) as tx:
                done = tx.kv_sweep(self.rt.clock(), limit)
            total += done
            if done < limit:
                break
        if total:
            self.coh.changed()
        return total

    def read(self, fn: Callable[[StateTx], Any]) -> Any:
        """Run ``fn`` in a read transaction."""
        with self.backend.transaction(write=False) as tx:
            return fn(tx)


def filter_mapping(flt: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """Check a search filter is a mapping (or ``None``)."""
    if flt is not None and not isinstance(flt, Mapping):
        from maas_langchain.errors import InvalidInputError

        raise InvalidInputError(f"a search filter must be a dict, got {type(flt).__name__}", field="filter")
    return flt
