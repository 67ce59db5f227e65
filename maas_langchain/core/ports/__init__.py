"""The contracts core owns and backends implement.

* :mod:`~maas_langchain.core.ports.state` — ``StateBackend.transaction()`` → ``StateTx`` record
  operations (agents, pools, memberships, shares, handoffs, memories, audit, events).
* :mod:`~maas_langchain.core.ports.kv`, :mod:`~maas_langchain.core.ports.threads`,
  :mod:`~maas_langchain.core.ports.keys` — the LangGraph store items, thread owners, API keys.
* :mod:`~maas_langchain.core.ports.idempotency` — Idempotency-Key records of write requests.
* :mod:`~maas_langchain.core.ports.memory_counts` — memories per scope, counted in the store.
* :mod:`~maas_langchain.core.ports.vectors` — ``VectorIndex`` and its neutral filter tree.
* :mod:`~maas_langchain.core.ports.filters` — data-only descriptions of what a principal may see,
  which each backend translates mechanically into its query language.

Ports import nothing but other ports, :mod:`maas_langchain.errors` and numpy.
"""
