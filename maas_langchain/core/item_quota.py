"""Per-agent quotas of LangGraph store items: what a bound agent's writes add and release.

The limits (``max_store_items_per_agent``, ``max_store_bytes_per_agent``) are decided by
:func:`maas_langchain.core.access.require_quota`; this module keeps the counters it reads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from maas_langchain.core.access import require_quota, store_quota_counters
from maas_langchain.core.ports.kv import KVPut
from maas_langchain.core.ports.state import StateTx
from maas_langchain.core.runtime import Runtime
from maas_langchain.errors import CapacityExceededError

__all__ = ["StoreQuota"]


class StoreQuota:
    """Charges bound agents' store writes to their per-agent counters (``store.items:<id>``,
    ``store.bytes:<id>``) inside the writing transaction."""

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime
        self._recounted: dict[str, float] = {}  # agent -> when its counters were last recounted

    def charge(self, tx: StateTx, agent_id: str, writes: Sequence[KVPut]) -> None:
        """Charge a bound agent's writes to its store quota (items, JSON characters) and release
        what they replace or delete from whoever wrote it, before the writes are applied.

        The counters never fall below what is stored by bound views (a trusted overwrite or a TTL
        sweep leaves them too high, never too low), so when a write would pass a limit the
        counter is recounted from the items first — at most once a minute per agent and store
        view, so an agent at its limit cannot make every put a scan. Items written before the
        counters existed (an upgraded database) are counted only once a recount has run."""
        delta: Counter[str] = Counter()
        by_ns: dict[str, list[KVPut]] = {}
        for w in writes:
            by_ns.setdefault(w.ns, []).append(w)
        for ns, group in by_ns.items():
            old = tx.kv_usage(ns, [w.key for w in group])
            for w in group:  # later writes of a batch replace earlier ones of the same key
                writer, size = old.get(w.key, (None, 0))
                if writer is not None:
                    items, chars = store_quota_counters(writer)
                    delta[items] -= 1
                    delta[chars] -= size
                if w.value is not None:
                    items, chars = store_quota_counters(agent_id)
                    delta[items] += 1
                    delta[chars] += len(w.value)
                    old[w.key] = (agent_id, len(w.value))
                else:
                    old.pop(w.key, None)
        mine = store_quota_counters(agent_id)
        adding = {name: delta[name] for name in mine}
        try:
            require_quota(tx, self._rt.limits, adding)
        except CapacityExceededError:
            if not self._recount(tx, agent_id):
                raise
            require_quota(tx, self._rt.limits, adding)
        for name, change in delta.items():
            if change:
                tx.bump_counter(name, max(change, -tx.counter(name)))

    def _recount(self, tx: StateTx, agent_id: str) -> bool:
        """Reset the agent's store counters to what is stored; False when recounted lately."""
        now = self._rt.clock()
        if now - self._recounted.get(agent_id, float("-inf")) < 60.0:
            return False
        if len(self._recounted) > 10_000:
            self._recounted.clear()
        self._recounted[agent_id] = now
        for name, actual in zip(store_quota_counters(agent_id), tx.kv_writer_usage(agent_id), strict=True):
            tx.bump_counter(name, actual - tx.counter(name))
        return True
