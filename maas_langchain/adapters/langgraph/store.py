"""``MaaSStore``: a LangGraph ``BaseStore`` on the MaaS database, with agents' rights applied.

Items live in the MaaS relational database (in-memory, SQLite file or PostgreSQL), their
vectors beside them; natural-language search scores small candidate sets exactly and asks the
MaaS vector index (Chroma or brute force) for large ones. An unbound store used outside any
agent context is the trusted in-process layer and behaves like LangGraph's ``InMemoryStore``.
A view bound to an agent — ``maas.store(agent_id=...)``, or any store used inside a graph run
whose config carries ``configurable["maas_agent_id"]`` — applies that agent's capabilities,
pool memberships and audiences (:mod:`maas_langchain.core.access`; docs/store.md has the
table), raising ``PermissionDeniedError`` (audited) on a denial.

Example:
    >>> from maas_langchain import MaaS
    >>> maas = MaaS.open(":memory:")
    >>> store = maas.store()
    >>> store.put(("users", "u1"), "prefs", {"theme": "dark"})
    >>> store.get(("users", "u1"), "prefs").value
    {'theme': 'dark'}
    >>> [item.key for item in store.search(("users",), filter={"theme": "dark"})]
    ['prefs']
    >>> maas.close()
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.embeddings import Embeddings
from langchain_core.runnables.config import var_child_runnable_config
from langgraph.store.base import (
    NOT_PROVIDED,
    BaseStore,
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    MatchCondition,
    NotProvided,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    ensure_embeddings,
    get_text_at_path,
    tokenize_path,
)

from maas_langchain.core.access import load_actor
from maas_langchain.core.item_cache import coherence_for
from maas_langchain.core.item_search import IndexedSearch
from maas_langchain.core.item_values import DEFAULT_MAX_VALUE_BYTES, encode_value, encode_vector
from maas_langchain.core.items import ItemService, PreparedPut, filter_mapping
from maas_langchain.core.ports.kv import KVPut, encode_namespace
from maas_langchain.errors import InvalidInputError, MaaSError, NotSupportedError

from .store_values import (
    InvalidStoreNamespaceError,
    check_key,
    check_labels,
    check_match_path,
    check_namespace,
    check_op_namespace,
)

if TYPE_CHECKING:
    from maas_langchain.maas import MaaS

__all__ = ["AGENT_CONFIG_KEY", "InvalidStoreNamespaceError", "MaaSStore"]

AGENT_CONFIG_KEY = "maas_agent_id"
"""The ``config["configurable"]`` key naming the acting agent inside a graph run."""

_log = logging.getLogger(__name__)


def _config_agent() -> str | None:
    config = var_child_runnable_config.get()
    if not config:
        return None
    agent = (config.get("configurable") or {}).get(AGENT_CONFIG_KEY)
    if agent is not None and (not isinstance(agent, str) or not agent):
        raise InvalidInputError(
            f"configurable[{AGENT_CONFIG_KEY!r}] must be an agent id string", field=AGENT_CONFIG_KEY
        )
    return agent


def _model_label(embed: Any) -> str:
    name = getattr(embed, "model", None) or getattr(embed, "model_name", None)
    if isinstance(name, str) and name:
        return name
    return str(getattr(embed, "__qualname__", None) or type(embed).__name__)


def _check_ttl(ttl: Any) -> float | None:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not math.isfinite(ttl) or ttl <= 0:
        raise InvalidInputError(f"ttl is minutes: a positive number or None, got {ttl!r}", field="ttl")
    return float(ttl)


class MaaSStore(BaseStore):
    """A LangGraph store on the MaaS database. Build it with :meth:`MaaS.store`.

    Args:
        maas: The MaaS instance (its backend, clock, audit log and vector index).
        agent_id: Bind the view to this agent (``None``: the agent from the graph config, else
            the trusted caller).
        index: LangGraph's ``IndexConfig`` (``dims``, ``embed``, ``fields``); ``embed`` may be a
            LangChain ``Embeddings`` or a function; omitted, the MaaS instance's embeddings.
        ttl: LangGraph's ``TTLConfig``: ``default_ttl`` (minutes), ``refresh_on_read``
            (default True), ``omit_expired`` (default True here: expired items are invisible
            before the sweep deletes them) and ``sweep_interval_minutes``.
        max_value_bytes: Largest value accepted, as JSON.
        cache: Serve trusted gets from the per-process read cache.
        cache_interval: Seconds between checks for other processes' writes (staleness bound).
        exact_limit: Query searches over at most this many items score them all exactly.
        screening: What a bound view does with values screening flags: ``"refuse"``,
            ``"quarantine"`` (store, audit the flag) or ``"off"``; default: the instance's.
    """

    supports_ttl = True

    def __init__(
        self,
        maas: MaaS,
        *,
        agent_id: str | None = None,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        cache: bool = True,
        cache_interval: float = 0.05,
        exact_limit: int = 1_000,
        screening: str | None = None,
    ) -> None:
        self.maas = maas
        self.agent_id = agent_id
        self.max_value_bytes = max_value_bytes
        self.ttl_config = dict(ttl) if ttl else None  # type: ignore[assignment]
        self.index_config, self.embeddings = self._index(index)
        mode = str(screening or getattr(maas.memories, "screening", "quarantine"))
        indexed = None
        if self.index_config is not None and self.embeddings is not None:
            opener = maas._resources.open_index
            indexed = IndexedSearch(maas.backend, opener, int(self.index_config["dims"]), _model_label(self.embeddings))
        self._engine = ItemService(
            maas.runtime,
            coherence_for(maas.backend, cache_interval),
            cache,
            indexed,
            exact_limit=exact_limit,
            omit_expired=bool((ttl or {}).get("omit_expired", True)),
            refresh_on_read=bool((ttl or {}).get("refresh_on_read", True)),
            screening=mode,
            item_type=Item,
            search_item_type=SearchItem,
        )
        self._sweeper: threading.Thread | None = None
        self._stop = threading.Event()

    def _index(self, index: IndexConfig | None) -> tuple[dict[str, Any] | None, Embeddings | None]:
        if not index:
            return None, None
        config: dict[str, Any] = dict(index)
        embed = config.get("embed")
        if embed is None:
            embedder = self.maas._resources.open_embedder()
            embed = getattr(embedder, "embeddings", embedder)
            config.setdefault("dims", embedder.dimension)
        if not isinstance(config.get("dims"), int) or config["dims"] < 1:
            raise InvalidInputError("index['dims'] must be a positive integer (the embedding dimension)")
        embeddings = ensure_embeddings(embed)
        config["__tokenized_fields"] = [
            (p, tokenize_path(p)) if p != "$" else (p, p) for p in (config.get("fields") or ["$"])
        ]
        return config, embeddings

    # --- views ------------------------------------------------------------------------
    def for_agent(self, agent_id: str) -> MaaSStore:
        """A view of the same store bound to ``agent_id`` (sharing configuration and cache)."""
        view = object.__new__(type(self))
        for name in ("maas", "max_value_bytes", "ttl_config", "index_config", "embeddings", "_engine"):
            setattr(view, name, getattr(self, name))
        view.agent_id = agent_id
        view._sweeper, view._stop = None, threading.Event()
        return view

    def acting_agent(self) -> str | None:
        """The agent this call acts for: the bound one, else the graph config's, else ``None``."""
        return self.agent_id if self.agent_id is not None else _config_agent()

    # --- BaseStore --------------------------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ``ops``: reads first (they see the state before this batch's writes), then the
        writes in one transaction."""
        ops = list(ops)
        agent_id = self.acting_agent()
        if agent_id is None and len(ops) == 1 and type(ops[0]) is GetOp:  # no planning
            return [self._get_trusted(ops[0])]
        if agent_id is None and (written := self._write_trusted(ops)) is not None:
            return written
        plan: _Plan = self._engine.audited(lambda: self._plan(ops), "store_batch", agent_id, None)  # bad input too
        qvecs = self._embed_queries(plan)
        dvecs = self._embed_texts(plan)
        return self._execute(plan, agent_id, qvecs, dvecs)

    def get(self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None) -> Item | None:
        """:meth:`BaseStore.get <langgraph.store.base.BaseStore.get>`; the trusted caller's get
        skips building a batch (it is usually served from the read cache)."""
        if refresh_ttl is None:
            refresh_ttl = True if self.ttl_config is None else self.ttl_config.get("refresh_on_read", True)
        op = GetOp(namespace, str(key), refresh_ttl)
        if self.acting_agent() is None:
            return self._get_trusted(op)
        found = self.batch([op])[0]
        return found if isinstance(found, Item) else None

    def put(self, namespace: tuple[str, ...], key: str, value: Mapping[str, Any],
            index: Literal[False] | list[str] | None = None, *, ttl: float | NotProvided | None = NOT_PROVIDED) -> None:  # fmt: skip
        """:meth:`BaseStore.put <langgraph.store.base.BaseStore.put>`; a bound view refuses a bad namespace
        as :class:`InvalidStoreNamespaceError` (a LangGraph ``InvalidNamespaceError`` too), audited."""
        self._check_put_namespace(namespace)
        super().put(namespace, key, value, index, ttl=ttl)

    async def aput(self, namespace: tuple[str, ...], key: str, value: Mapping[str, Any],
                   index: Literal[False] | list[str] | None = None, *, ttl: float | NotProvided | None = NOT_PROVIDED) -> None:  # fmt: skip
        """Async :meth:`put`."""
        self._check_put_namespace(namespace)
        await super().aput(namespace, key, value, index, ttl=ttl)

    def _check_put_namespace(self, namespace: Any) -> None:
        """For a bound view, LangGraph's namespace rules for a put, refused as audited MaaS errors."""
        agent_id = self.acting_agent()
        if agent_id is not None:
            self._engine.audited(lambda: check_namespace(namespace), "store_batch", agent_id, None)

    def _get_trusted(self, op: GetOp) -> Item | None:
        check_labels(op.namespace)
        check_key(op.key)
        refresh: list[int] = []
        item: Item | None = self._engine.get_trusted(op, refresh)
        self._engine.refresh(refresh)
        return item

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async :meth:`batch`: embeddings through ``aembed_*``, storage in a worker thread."""
        ops = list(ops)
        agent_id = self.acting_agent()
        plan: _Plan = self._engine.audited(lambda: self._plan(ops), "store_batch", agent_id, None)
        qvecs: dict[str, list[float]] = {}
        dvecs: dict[str, list[float]] = {}
        if self.embeddings is not None:
            queries = list(dict.fromkeys(q for q in plan.queries if q))
            if queries:
                found = await asyncio.gather(*(self.embeddings.aembed_query(q) for q in queries))
                qvecs = dict(zip(queries, found, strict=True))
            texts = list(dict.fromkeys(t for pairs in plan.texts.values() for _, t in pairs))
            if texts:
                dvecs = dict(zip(texts, await self.embeddings.aembed_documents(texts), strict=True))
        context = contextvars.copy_context()
        return await asyncio.to_thread(context.run, self._execute, plan, agent_id, qvecs, dvecs)

    # --- planning ---------------------------------------------------------------------
    def _write_trusted(self, ops: Sequence[Op]) -> list[Result] | None:
        """The trusted caller's batch of puts and deletes that need no embedding, written without
        planning: rows built straight from the operations, each distinct namespace checked once.
        ``None`` (nothing written) if the batch holds anything else: the general path runs it."""
        unindexed = self.index_config is None
        spaces = _Namespaces()
        writes: dict[tuple[tuple[str, ...], str], KVPut] = {}  # the last put of a key wins, in the first's place
        for op in ops:
            if type(op) is not PutOp or not (unindexed or op.value is None or op.index is False):
                return None
            namespace, stored, key, text, ttl = self._put_fields(op, spaces)
            writes[(namespace, key)] = KVPut(stored, key, text, ttl)
        self._engine.write_trusted(list(writes.values()), list(writes))
        return [None] * len(ops)

    def _plan(self, ops: Sequence[Op]) -> _Plan:
        plan = _Plan(len(ops))
        for i, op in enumerate(ops):
            if isinstance(op, GetOp):
                plan.reads.append((i, op._replace(namespace=check_labels(op.namespace), key=check_key(op.key))))
            elif isinstance(op, SearchOp):
                filter_mapping(op.filter)
                if op.query is not None and not isinstance(op.query, str):
                    raise InvalidInputError("a search query must be a string", field="query")
                plan.reads.append((i, op._replace(namespace_prefix=check_labels(op.namespace_prefix))))
                if op.query and self.index_config is not None:
                    plan.queries.append(op.query)
            elif isinstance(op, ListNamespacesOp):
                conditions = tuple(
                    MatchCondition(match_type=c.match_type, path=check_match_path(c.path))
                    for c in op.match_conditions or ()
                )
                plan.reads.append((i, op._replace(match_conditions=conditions or None)))
            elif isinstance(op, PutOp):
                self._plan_put(plan, op)
            else:
                raise InvalidInputError(f"unknown store operation {type(op).__name__}")
        return plan

    def _put_fields(self, op: PutOp, spaces: _Namespaces) -> tuple[tuple[str, ...], str, str, str | None, float | None]:
        """``op`` checked and encoded (LangGraph's namespace rules, JSON, size, TTL): its namespace,
        the namespace's stored text, the key, the value's JSON text (``None``: a delete), the TTL."""
        key = check_key(op.key)
        if op.value is None:
            namespace, stored = spaces.labels(op.namespace)
            return namespace, stored, key, None, None
        namespace, stored = spaces.for_put(op.namespace)
        return namespace, stored, key, encode_value(op.value, self.max_value_bytes), _check_ttl(op.ttl)

    def _plan_put(self, plan: _Plan, op: PutOp) -> None:
        namespace, _, key, text, ttl = self._put_fields(op, plan.spaces)
        value = op.value
        if value is not None and type(value) is not dict:
            value = dict(value)  # a Mapping, read (for screening and embedding) only during this call
        put = PreparedPut(namespace, key, text, value, ttl)
        plan.texts.pop((namespace, key), None)
        plan.puts[(namespace, key)] = put
        if value is None or self.index_config is None or op.index is False:
            return
        if op.index is None:
            paths = self.index_config["__tokenized_fields"]
        elif isinstance(op.index, list) and all(isinstance(p, str) for p in op.index):
            paths = [(p, tokenize_path(p)) for p in op.index]
        else:
            raise InvalidInputError("index must be False, None or a list of field paths", field="index")
        pairs = []
        for path, tokens in paths:
            texts = get_text_at_path(value, tokens)
            pairs += [(f"{path}.{n}" if len(texts) > 1 else path, t) for n, t in enumerate(texts)]
        plan.texts[(namespace, key)] = pairs

    def _embed_queries(self, plan: _Plan) -> dict[str, list[float]]:
        queries = list(dict.fromkeys(q for q in plan.queries if q))
        if not queries or self.embeddings is None:
            return {}
        return {q: list(self.embeddings.embed_query(q)) for q in queries}

    def _embed_texts(self, plan: _Plan) -> dict[str, list[float]]:
        texts = list(dict.fromkeys(t for pairs in plan.texts.values() for _, t in pairs))
        if not texts or self.embeddings is None:
            return {}
        return dict(zip(texts, self.embeddings.embed_documents(texts), strict=True))

    # --- execution --------------------------------------------------------------------
    def _execute(
        self, plan: _Plan, agent_id: str | None, qvecs: dict[str, list[float]], dvecs: dict[str, list[float]]
    ) -> list[Result]:
        results: list[Result] = [None] * plan.size
        refresh: list[int] = []
        if plan.reads:
            self._engine.audited(
                lambda: self._reads(plan, agent_id, qvecs, results, refresh), "store_read", agent_id, None
            )
        if plan.puts:
            for ident, pairs in plan.texts.items():
                put = plan.puts[ident]
                put.vectors = [(path, encode_vector(dvecs[text])) for path, text in pairs]
            self._engine.write(agent_id, list(plan.puts.values()))
            try:  # the puts are committed: a failed TTL touch of the reads must not report them failed
                self._engine.refresh(refresh)
            except MaaSError as exc:
                _log.warning("the TTL refresh after a committed batch failed: %s", exc.message)
            return results
        self._engine.refresh(refresh)
        return results

    def _reads(
        self,
        plan: _Plan,
        agent_id: str | None,
        qvecs: dict[str, list[float]],
        results: list[Result],
        refresh: list[int],
    ) -> None:
        engine = self._engine
        if engine.indexed is not None and qvecs:
            try:
                engine.indexed.prepare(engine.exact_limit)
            except NotSupportedError as exc:  # e.g. PostgreSQL without a shared index: exact scoring
                _log.info("store query search scores exactly: %s", exc.message)

        pre = engine.coh.before_read() if agent_id is None else None

        def run(tx: Any) -> None:
            agent = None if agent_id is None else load_actor(tx, agent_id)
            for i, op in plan.reads:
                if isinstance(op, GetOp):
                    results[i] = engine.get_bound(tx, agent, op, refresh) if agent is not None else None
                elif isinstance(op, SearchOp):
                    qvec = qvecs.get(op.query) if op.query else None
                    results[i] = engine.search(tx, agent, op, qvec, refresh, pre)
                else:
                    results[i] = engine.list_namespaces(tx, agent, op)

        engine.read(run)
        if agent_id is None:  # trusted gets go through the cache, outside the read transaction
            for i, op in plan.reads:
                if isinstance(op, GetOp):
                    results[i] = engine.get_trusted(op, refresh)

    # --- TTL --------------------------------------------------------------------------
    def sweep_ttl(self) -> int:
        """Delete expired items now; return how many."""
        return self._engine.sweep()

    def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> threading.Thread:
        """Delete expired items periodically in a daemon thread (LangGraph's SqliteStore API)."""
        if self._sweeper is not None and self._sweeper.is_alive():
            return self._sweeper
        minutes = sweep_interval_minutes or (self.ttl_config or {}).get("sweep_interval_minutes") or 5
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(float(minutes) * 60.0):
                try:
                    self.sweep_ttl()
                except Exception:  # keep sweeping after a passing failure
                    _log.exception("store TTL sweep failed")

        self._sweeper = threading.Thread(target=loop, name="maas-store-ttl", daemon=True)
        self._sweeper.start()
        return self._sweeper

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper thread; True if it stopped (or was not running)."""
        if self._sweeper is None:
            return True
        self._stop.set()
        self._sweeper.join(timeout)
        stopped = not self._sweeper.is_alive()
        if stopped:
            self._sweeper = None
        return stopped

    def __repr__(self) -> str:
        bound = f", agent_id={self.agent_id!r}" if self.agent_id else ""
        return f"MaaSStore({self.maas!r}{bound})"


class _Namespaces:
    """The namespaces of one batch, each checked (LangGraph's rules) and encoded once."""

    __slots__ = ("_labels", "_puts")

    def __init__(self) -> None:
        self._puts: dict[Any, tuple[tuple[str, ...], str]] = {}
        self._labels: dict[Any, tuple[tuple[str, ...], str]] = {}

    def for_put(self, namespace: Any) -> tuple[tuple[str, ...], str]:
        """A put's namespace (:func:`check_op_namespace`) and its stored text."""
        return self._checked(self._puts, namespace, check_op_namespace)

    def labels(self, namespace: Any) -> tuple[tuple[str, ...], str]:
        """A delete's namespace (:func:`check_labels`) and its stored text."""
        return self._checked(self._labels, namespace, check_labels)

    @staticmethod
    def _checked(
        seen: dict[Any, tuple[tuple[str, ...], str]], namespace: Any, check: Callable[[Any], tuple[str, ...]]
    ) -> tuple[tuple[str, ...], str]:
        try:
            return seen[namespace]
        except (KeyError, TypeError):  # new, or unhashable (a list): checked, kept under its tuple
            checked = check(namespace)
            found = seen[checked] = (checked, encode_namespace(checked))
            return found


class _Plan:
    """The validated operations of one batch."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.spaces = _Namespaces()
        self.reads: list[tuple[int, Any]] = []
        self.puts: dict[tuple[tuple[str, ...], str], PreparedPut] = {}
        self.queries: list[str] = []
        self.texts: dict[tuple[tuple[str, ...], str], list[tuple[str, str]]] = {}
