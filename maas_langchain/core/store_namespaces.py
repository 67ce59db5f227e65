"""LangGraph store namespaces as MaaS audiences: the mapping behind ``MaaSStore``.

A store view bound to an agent maps namespaces onto MaaS audiences:

=================================  ===========================================================
namespace                          who (besides the capability: MEMORY_READ to read,
                                   MEMORY_WRITE to put, MEMORY_DELETE to delete)
=================================  ===========================================================
``("pools", pool_id, *rest)``      members of the pool: READ+ to read, WRITE+ to put or delete;
                                   an archived pool is read-only
``("users", user_id, *rest)``      agents whose ``owner_id`` is ``user_id`` (the USER audience)
``("agents", agent_id, *rest)``    that agent only (AGENT_PRIVATE)
anything else, ``ns``              the bound agent's private space: stored as
                                   ``("agents", agent_id, *ns)`` and shown back as ``ns``
=================================  ===========================================================

This module only *maps* namespaces (a bound view's private space) and screens values; who may
read or write a namespace is decided by :func:`maas_langchain.core.access.authorize_namespace`
inside the transaction that does the work, and searches are filtered by
:func:`maas_langchain.core.access.store_readers`.

Example:
    >>> to_stored("a1", ("memories", "u1"))
    ('agents', 'a1', 'memories', 'u1')
    >>> to_shown("a1", ("agents", "a1", "memories", "u1"))
    ('memories', 'u1')
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from maas_langchain.core.screening import screen_text

__all__ = ["QUARANTINE", "RESERVED_ROOTS", "quarantine_namespace", "screen_strings", "to_shown", "to_stored"]

RESERVED_ROOTS = ("pools", "users", "agents")
"""First labels with a fixed meaning in a bound view."""

QUARANTINE = "__quarantine__"
"""The label under an agent's private space where its flagged store values are held."""


def quarantine_namespace(agent_id: str, stored: tuple[str, ...]) -> tuple[str, ...]:
    """Where a flagged value aimed at ``stored`` is held: the author's private quarantine space
    (shown to the author as ``(QUARANTINE, *stored)``)."""
    return ("agents", agent_id, QUARANTINE, *stored)


def to_stored(agent_id: str, namespace: tuple[str, ...]) -> tuple[str, ...]:
    """The namespace a bound view stores ``namespace`` under (private unless a reserved root)."""
    if namespace and namespace[0] in RESERVED_ROOTS:
        return namespace
    return ("agents", agent_id, *namespace)


def to_shown(agent_id: str, stored: tuple[str, ...]) -> tuple[str, ...]:
    """How a bound view shows a stored namespace: its own private space without the
    ``("agents", agent_id)`` head, when the rest does not itself start with a reserved root."""
    if len(stored) > 2 and stored[0] == "agents" and stored[1] == agent_id and stored[2] not in RESERVED_ROOTS:
        return stored[2:]
    return stored


def screen_strings(value: Any) -> tuple[str, ...]:
    """Screening categories matched by any string inside ``value`` (keys and nested values),
    with the process's shared validator (:func:`~maas_langchain.core.screening.screen_text`)."""
    found: set[str] = set()
    for text in _strings(value):
        found.update(screen_text(text).categories)
    return tuple(sorted(found))


def _strings(value: Any) -> Iterable[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
