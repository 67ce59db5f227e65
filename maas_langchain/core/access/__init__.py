"""The access module: the one place that decides who may read, write, share, join and hand off what.

Services call these functions inside the transaction that does the work; adapters never decide,
and backends receive only data (:mod:`maas_langchain.core.ports.filters`) that they translate
mechanically. The rules, stated for people, are in docs/security.md; tests/test_access_matrix.py
checks every interface against an independent reference model of them. Split by concept:

* :mod:`.identity` — the acting agent: active, registered, capabilities, owner, read-only keys.
* :mod:`.memory` — dict scopes: ancestry is a prefix in hierarchy order; grants; reading by id
  (and who can: :func:`memory_readers`); quotas.
* :mod:`.pools` — membership by invitation, sharing needs read, audiences of pool shares, events.
* :mod:`.handoffs` — parties of a handoff, its delegated grant, checkpointer threads, who
  watches a handoff (the console's list and timeline).
* :mod:`.store` — LangGraph store namespaces.

Pool shares name an audience (DESIGN.md §5): AGENT_PRIVATE — the author only; USER — agents of
the same owner; PROJECT / TEAM — agents of the same project / team; GLOBAL — every reader of the
pool. ``max_scope`` on a query only removes levels; it never adds readers.
"""

from __future__ import annotations

from maas_langchain.core.access.handoffs import (
    delegated_shares,
    handoff_watch,
    require_handoff_inbox,
    require_handoff_initiation,
    require_handoff_party,
    require_handoff_reader,
    require_handoff_viewer,
    require_open_grant,
    require_thread_access,
    thread_capability,
    thread_handed_over,
    timeline_shows,
)
from maas_langchain.core.access.identity import (
    audit_actors,
    load_actor,
    registration_grant,
    require_active,
    require_auditor,
    require_bound_identity,
    require_capability,
    require_kb_search,
    require_reviewer,
    require_same_owner,
    require_writable_key,
)
from maas_langchain.core.access.memory import (
    MemoryGrant,
    agent_scope,
    can_read_memory,
    memory_grant,
    memory_quota_counters,
    memory_readers,
    pool_quota_counter,
    quarantine_author,
    require_forget,
    require_quota,
    require_readable_memory,
    sees_quarantined,
    shown_readers,
    store_quota_counters,
)
from maas_langchain.core.access.pools import (
    admit_member,
    audience_filter,
    can_see_event,
    reader_audience,
    require_founding_admin,
    require_leave,
    require_permission,
    require_pool_active,
    require_pool_admin,
    require_pool_viewer,
    require_share_scope,
    require_unshare,
    share_grant,
    viewable_pools,
)
from maas_langchain.core.access.store import (
    StoreAction,
    authorize_namespace,
    authorize_namespace_prefix,
    store_readers,
)

__all__ = [
    "handoff_watch",
    "memory_readers",
    "quarantine_author",
    "require_handoff_viewer",
    "require_pool_viewer",
    "shown_readers",
    "timeline_shows",
    "viewable_pools",
    "pool_quota_counter",
    "reader_audience",
    "require_forget",
    "require_founding_admin",
    "require_unshare",
    "delegated_shares",
    "require_handoff_inbox",
    "require_handoff_initiation",
    "thread_capability",
    "thread_handed_over",
    "MemoryGrant",
    "StoreAction",
    "admit_member",
    "audit_actors",
    "agent_scope",
    "audience_filter",
    "authorize_namespace",
    "authorize_namespace_prefix",
    "can_read_memory",
    "can_see_event",
    "load_actor",
    "memory_grant",
    "memory_quota_counters",
    "registration_grant",
    "require_active",
    "require_auditor",
    "require_bound_identity",
    "require_capability",
    "require_handoff_party",
    "require_handoff_reader",
    "require_kb_search",
    "require_leave",
    "require_open_grant",
    "require_permission",
    "require_pool_active",
    "require_pool_admin",
    "require_quota",
    "require_readable_memory",
    "require_reviewer",
    "sees_quarantined",
    "require_same_owner",
    "require_share_scope",
    "require_thread_access",
    "require_writable_key",
    "share_grant",
    "store_quota_counters",
    "store_readers",
]
