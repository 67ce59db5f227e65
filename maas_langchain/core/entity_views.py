"""What ``get_state`` returns: entities with their attributes and relations, history included.

Built from stored rows by :func:`build_state`, a pure function. Each chain is rebuilt for the
moment asked (:func:`~maas_langchain.core.fact_chain.rebuild`), so the current view and a
point-in-time view (``as_of``) come from the same rows. Corroborations are folded into the fact
they back (``sources``); negations show as the ``ended`` status of the value they ended.

Entities of the reader's scope and of its ancestors that share a name are one entity for that
reader: for each key the narrowest scope's value holds, and a wider scope's value is marked
``overridden`` (``overridden_by``) — for readers of the narrower scope only, since readers of
the wider scope never see the narrower facts. Entities of descendant scopes (a supervisor
reading its workers) stay separate, each with its own ``scope``.

The specification's conflict loop reads exactly this shape::

    for entity in state.entities:
        for attr in entity.attributes:
            if attr.superseded_by:
                print(f"{entity.name}.{attr.key} was {attr.value} -> now {attr.superseded_by.value}")
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from maas_langchain.core.entity_types import EntityRecord, FactRecord, norm_name
from maas_langchain.core.fact_chain import rebuild, rebuild_at

__all__ = ["EntityView", "FactView", "Provenance", "StateView", "build_state"]


@dataclass(frozen=True)
class Provenance:
    """Who asserted a fact: the memory, its author, its session, when."""

    memory_id: str
    agent_id: str | None
    session_id: str | None
    at: float


@dataclass(frozen=True)
class FactView:
    """One attribute value (``key`` = ``value``) or relation (``key`` = predicate, ``value`` =
    the object's name), with its lifecycle.

    Attributes:
        status: ``current``, ``superseded``, ``ended``, ``retracted`` or ``overridden``.
        superseded_by: The fact that replaced this one (read ``.value``), else ``None``; its
            own ``superseded_by`` is not filled in (the entity's ``attributes`` hold the chain).
        supersedes: The id of the fact this one replaced.
        overridden_by: A narrower scope's current value for the same key (readers of that scope).
        sources: The memories that asserted it, first one first (corroborations after it).
    """

    fact_id: str
    kind: str
    key: str
    value: str
    status: str
    valid_from: float
    valid_to: float | None
    scope: dict[str, str]
    memory_id: str
    agent_id: str | None
    session_id: str | None
    sources: tuple[Provenance, ...]
    supersedes: str | None = None
    superseded_by: FactView | None = None
    overridden_by: FactView | None = None
    object_id: str | None = None

    @property
    def current(self) -> bool:
        """True when this value holds now (for this reader)."""
        return self.status == "current"

    @property
    def predicate(self) -> str:
        """For a relation: its predicate (``key``)."""
        return self.key

    @property
    def object(self) -> str:
        """For a relation: the object's name (``value``)."""
        return self.value

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``superseded_by`` / ``overridden_by`` as the other fact's id and value)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in ("superseded_by", "overridden_by"):
            other = out[name]
            out[name] = None if other is None else {"fact_id": other.fact_id, "value": other.value}
        out["sources"] = [dataclasses.asdict(s) for s in self.sources]
        return out


@dataclass(frozen=True)
class EntityView:
    """An entity as one reader sees it: attributes and relations, current ones first."""

    entity_id: str
    name: str
    type: str
    scope: dict[str, str]
    aliases: tuple[str, ...] = ()
    attributes: tuple[FactView, ...] = ()
    relations: tuple[FactView, ...] = ()

    @property
    def current(self) -> dict[str, str]:
        """The current attribute values by key."""
        return {a.key: a.value for a in self.attributes if a.current}

    def get(self, key: str, default: str | None = None) -> str | None:
        """The current value of attribute ``key``."""
        return self.current.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "entity_id": self.entity_id,
            "name": self.name,
            "type": self.type,
            "scope": dict(self.scope),
            "aliases": list(self.aliases),
            "attributes": [a.to_dict() for a in self.attributes],
            "relations": [r.to_dict() for r in self.relations],
        }


@dataclass(frozen=True)
class StateView:
    """The structured state visible at one scope (``as_of``: the moment asked, else now)."""

    scope: dict[str, str]
    entities: tuple[EntityView, ...] = ()
    as_of: float | None = None
    pending_extractions: int = 0

    def entity(self, name: str) -> EntityView | None:
        """The first entity named ``name`` (case and articles ignored), narrowest scope first."""
        want = norm_name(name)
        for e in self.entities:
            if norm_name(e.name) == want or want in {norm_name(a) for a in e.aliases}:
                return e
        return None

    @property
    def conflicts(self) -> list[tuple[EntityView, FactView]]:
        """Every (entity, superseded attribute) pair: the facts a later write replaced."""
        return [(e, a) for e in self.entities for a in e.attributes if a.superseded_by is not None]

    @property
    def formatted(self) -> str:
        """Current facts as lines ready for a prompt."""
        lines = []
        for e in self.entities:
            facts = [f"{a.key}={a.value}" for a in e.attributes if a.current]
            facts += [f"{r.key} {r.value}" for r in e.relations if r.current]
            if facts:
                lines.append(f"{e.type}/{e.name}: " + "; ".join(facts))
        return "\n".join(lines) if lines else "No entity facts."

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "scope": dict(self.scope),
            "as_of": self.as_of,
            "pending_extractions": self.pending_extractions,
            "entities": [e.to_dict() for e in self.entities],
        }


def _views(
    rows: Sequence[FactRecord], as_of: float | None, scope_of: Callable[[str], dict[str, str]]
) -> list[FactView]:
    """Rebuild one chain for the moment asked and turn its rows into views (corroborations and
    negations folded in)."""
    if as_of is not None:
        rows, links = rebuild_at(rows, as_of)
    else:
        links = rebuild(rows)
    by_id = {r.fact_id: r for r in rows}
    sources: dict[str, list[Provenance]] = defaultdict(list)
    for r in rows:
        link = links[r.fact_id]
        target = link.corroborates if link.status == "corroborates" else r.fact_id
        if link.status not in ("negation",) and target is not None:
            sources[target].append(Provenance(r.memory_id, r.agent_id, r.session_id, r.valid_from))
    shown = [r for r in rows if links[r.fact_id].status in ("current", "superseded", "ended", "retracted")]
    views: dict[str, FactView] = {}
    for r in reversed(shown):  # newest first, so superseded_by is built before what it replaced
        link = links[r.fact_id]
        nxt = views.get(link.superseded_by or "") if link.status == "superseded" else None
        if nxt is not None and nxt.superseded_by is not None:  # one level: no deep nesting per fact
            nxt = dataclasses.replace(nxt, superseded_by=None)
        valid_to = link.valid_to
        if as_of is not None and valid_to is not None and valid_to > as_of:
            valid_to = None
        views[r.fact_id] = FactView(
            fact_id=r.fact_id,
            kind=r.kind,
            key=r.key,
            value=by_id[r.fact_id].value,
            status=link.status,
            valid_from=r.valid_from,
            valid_to=valid_to,
            scope=scope_of(r.scope_key),
            memory_id=r.memory_id,
            agent_id=r.agent_id,
            session_id=r.session_id,
            sources=tuple(sources.get(r.fact_id, ())),
            supersedes=link.supersedes,
            superseded_by=nxt,
            object_id=r.object_id,
        )
    return [views[r.fact_id] for r in shown]


def build_state(
    scope: Mapping[str, str],
    entities: Sequence[EntityRecord],
    facts: Sequence[FactRecord],
    *,
    inherited: Sequence[str],
    as_of: float | None = None,
    history: bool = True,
    pending: int = 0,
) -> StateView:
    """Assemble a :class:`StateView`.

    Args:
        scope: The reader's scope.
        entities: The entities the facts name.
        facts: Every fact row the reader may see (any status).
        inherited: Canonical scopes whose entities merge into the reader's view (its own scope
            and its ancestors), narrowest first.
        as_of: A moment (epoch seconds) to answer for, else now.
        history: Include superseded, ended and retracted facts (else current ones only).
        pending: Extraction jobs not yet applied (the view may lag by that many memories).
    """
    by_entity = {e.entity_id: e for e in entities}
    scope_of = {e.scope_key: e.scope for e in entities}
    chains: dict[str, list[FactRecord]] = defaultdict(list)
    for f in facts:
        if f.entity_id in by_entity:
            chains[f.chain].append(f)
    rank = {key: i for i, key in enumerate(inherited)}
    groups: dict[tuple[str, ...], list[EntityRecord]] = defaultdict(list)
    for e in entities:
        group = ("inherited", norm_name(e.name)) if e.scope_key in rank else ("own", e.entity_id)
        groups[group].append(e)
    per_entity: dict[str, list[FactView]] = defaultdict(list)
    for rows in chains.values():
        per_entity[rows[0].entity_id].extend(_views(rows, as_of, lambda k: dict(scope_of.get(k, {}))))
    out = []
    for members in groups.values():
        members.sort(key=lambda e: rank.get(e.scope_key, -1))  # narrowest first
        out.append(_merge(members, per_entity, history))
    out.sort(key=lambda v: (-len(v.scope), v.type, v.name.casefold()))
    return StateView(dict(scope), tuple(v for v in out if v.attributes or v.relations), as_of, pending)


def _merge(members: Sequence[EntityRecord], per_entity: Mapping[str, Sequence[FactView]], history: bool) -> EntityView:
    """One reader's view of same-named entities in its scope and its ancestors: for each key the
    narrowest scope's current value holds; a wider scope's current value is ``overridden``."""
    first = members[0]
    facts: list[FactView] = []
    holders: dict[tuple[str, str], FactView] = {}
    aliases: list[str] = []
    for e in members:
        aliases += [a for a in (e.name, *e.aliases) if a != first.name and a not in aliases]
        for f in per_entity.get(e.entity_id, ()):
            slot = (f.kind, f.key if f.kind == "attribute" else f"{f.key}\x1f{f.value.casefold()}")
            if f.current and slot in holders and holders[slot].scope != f.scope:
                f = dataclasses.replace(f, status="overridden", overridden_by=holders[slot])
            elif f.current:
                holders.setdefault(slot, f)
            facts.append(f)
    if not history:
        facts = [f for f in facts if f.current]
    facts.sort(key=lambda f: (not f.current, f.key, -f.valid_from))
    return EntityView(
        entity_id=first.entity_id,
        name=first.name,
        type=next((e.entity_type for e in members if e.entity_type != "Thing"), first.entity_type),
        scope=dict(first.scope),
        aliases=tuple(aliases),
        attributes=tuple(f for f in facts if f.kind == "attribute"),
        relations=tuple(f for f in facts if f.kind == "relation"),
    )
