"""Supersession chains as a pure function of their rows.

A chain's links are never edited one by one: every change (a new assertion, one arriving out of
order from a slower worker, a retraction) rebuilds the whole chain from its rows in commit order
(``memory_seq``). So the result does not depend on the order in which workers applied the rows —
two agents writing the same attribute at the same moment from different processes give one
current value and a complete chain on every backend — and nothing can form a cycle.

Walking the rows oldest first, holding the value that currently holds:

* the same value again → ``corroborates`` the holder (provenance added, nothing replaced);
* a different value → the holder becomes ``superseded`` (``superseded_by`` the new row,
  ``valid_to`` its ``valid_from``) and the new row holds (``supersedes`` the old one);
* a negation of the held value → the holder is ``ended`` and nothing holds; a negation of any
  other value changes nothing (it stays a ``negation`` row, for history);
* ``retracted`` rows (their memories were forgotten or superseded) are skipped and keep their
  status, unless ``revive`` is given (a point-in-time view before they were retracted).

Example:
    >>> from maas_langchain.core.entity_types import FactRecord
    >>> def row(i, value):
    ...     return FactRecord(f"f{i}", "e", "attribute", "price", value, value, "c", f"m{i}", i, "s", float(i), 0.0)
    >>> links = rebuild([row(1, "$299"), row(2, "$299"), row(3, "$349")])
    >>> [(f, l.status, l.supersedes) for f, l in links.items()]
    [('f1', 'superseded', None), ('f2', 'corroborates', None), ('f3', 'current', 'f1')]
"""

from __future__ import annotations

from collections.abc import Container, Sequence

from maas_langchain.core.entity_types import FactRecord
from maas_langchain.core.ports.entities import FactLinks

__all__ = ["links_of", "rebuild", "rebuild_at"]


def links_of(fact: FactRecord) -> FactLinks:
    """The links a stored row carries now."""
    return FactLinks(fact.status, fact.valid_to, fact.supersedes, fact.superseded_by, fact.corroborates)


def rebuild(rows: Sequence[FactRecord], *, revive: Container[str] = ()) -> dict[str, FactLinks]:
    """The links every row of one chain should carry (see the module docstring). ``rows`` may
    come in any order; they are walked by (``memory_seq``, ``fact_id``)."""
    links: dict[str, FactLinks] = {}
    holder: FactRecord | None = None
    for fact in sorted(rows, key=lambda f: (f.memory_seq, f.fact_id)):
        if fact.status == "retracted" and fact.fact_id not in revive:
            links[fact.fact_id] = FactLinks("retracted", fact.valid_to, None, None, None)
            continue
        if fact.negated:
            if holder is not None and holder.value_norm == fact.value_norm:
                held = links[holder.fact_id]
                end = max(fact.valid_from, holder.valid_from)
                links[holder.fact_id] = FactLinks("ended", end, held.supersedes, fact.fact_id, None)
                links[fact.fact_id] = FactLinks("negation", end, holder.fact_id, None, None)
                holder = None
            else:
                links[fact.fact_id] = FactLinks("negation", fact.valid_from, None, None, None)
            continue
        if holder is not None and holder.value_norm == fact.value_norm:
            links[fact.fact_id] = FactLinks("corroborates", None, None, None, holder.fact_id)
            continue
        previous = None
        if holder is not None:
            held = links[holder.fact_id]
            end = max(fact.valid_from, holder.valid_from)
            links[holder.fact_id] = FactLinks("superseded", end, held.supersedes, fact.fact_id, None)
            previous = holder.fact_id
        links[fact.fact_id] = FactLinks("current", None, previous, None, None)
        holder = fact
    return links


def rebuild_at(rows: Sequence[FactRecord], at: float) -> tuple[list[FactRecord], dict[str, FactLinks]]:
    """A chain as it stood at ``at``: the rows written by then (those retracted only later still
    standing) and the links :func:`rebuild` gives them."""
    then = [r for r in rows if r.valid_from <= at]
    alive = {r.fact_id for r in then if r.status == "retracted" and (r.valid_to is None or r.valid_to > at)}
    return then, rebuild(then, revive=alive)
