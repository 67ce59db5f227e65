"""Structured memory: entity resolution, fact reconciliation, conflicts, and reading the state.

The extraction worker (:mod:`maas_langchain.core.extraction`) hands each durable memory's
:class:`~maas_langchain.core.entity_types.Extraction` to :meth:`EntityService.apply` inside a
write transaction. There:

1. **Entity resolution within the memory's scope**: a name (or alias) is normalised
   (:func:`~maas_langchain.core.entity_types.norm_name`) and looked up in that scope only; a
   ``Thing`` learns a specific type when one is extracted later. Entities never merge across
   scopes in storage — a reader merges its own scope with its ancestors when it reads.
2. **One row per assertion** (:class:`~maas_langchain.core.entity_types.FactRecord`) in a chain
   keyed by entity, kind and key (and the value, for multi-valued keys — :class:`FactSchema`).
3. **The chain is rebuilt** (:func:`~maas_langchain.core.fact_chain.rebuild`): same value →
   corroboration, different value → supersession, in commit order of the memories. A chain never
   leaves its scope, so a write never supersedes a fact in a sibling or unrelated scope.
4. **Conflicts** — a value replaced by a different one — are ``entity.conflict`` events and
   ``entity_conflict`` audit entries naming both agents and both memories.

A forgotten memory, or one superseded by another, retracts the facts it asserted and the
chains are rebuilt, so the previous value holds again unless another memory backs it.

Reads go through the memory gate, i.e. the access module: a fact is visible exactly where the
memory it came from is (a worker's facts are invisible to its siblings, visible to its
supervisor).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from maas_langchain.core.entity_types import (
    EntityRecord,
    Extraction,
    FactRecord,
    norm_name,
    norm_value,
)
from maas_langchain.core.entity_views import StateView, build_state
from maas_langchain.core.enums import AuditEventType, EventKind, MemoryStatus
from maas_langchain.core.fact_chain import links_of, rebuild, rebuild_at
from maas_langchain.core.memory_gate import MemoryGate
from maas_langchain.core.ports.entities import FactLinks
from maas_langchain.core.ports.state import StateTx
from maas_langchain.core.records import Memory
from maas_langchain.core.redaction import redact
from maas_langchain.core.runtime import AuditEntry, Runtime, audit_refusals
from maas_langchain.core.scopes import ScopeHierarchy
from maas_langchain.core.validation import check_text, check_time, new_id

__all__ = ["Applied", "EntityService", "FactSchema"]

_OP = AuditEventType.MEMORY_OPERATION
_KEY = re.compile(r"[^0-9a-z_]+")
MAX_NAME = 200
MAX_KEY = 100
MAX_VALUE = 1_000
MAX_FACTS = 100


@dataclass(frozen=True)
class FactSchema:
    """Which keys accumulate values instead of superseding.

    Attributes are single-valued (a new value supersedes) unless listed in
    ``multi_valued_attributes``; relations are multi-valued (``uses Redis`` and ``uses
    Postgres`` both hold, until "no longer uses") unless listed in ``single_valued_relations``.
    """

    multi_valued_attributes: frozenset[str] = frozenset(
        {"tags", "skills", "languages", "features", "goals", "risks", "dependencies", "members", "is_a"}
    )
    single_valued_relations: frozenset[str] = frozenset(
        {"reports_to", "owned_by", "located_in", "assigned_to", "belongs_to", "parent", "managed_by"}
    )

    def multi(self, kind: str, key: str) -> bool:
        """Whether ``key`` of this kind accumulates values."""
        if kind == "attribute":
            return key in self.multi_valued_attributes
        return key not in self.single_valued_relations


@dataclass
class Applied:
    """What applying one memory's extraction did."""

    facts: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    retracted: int = 0


def _key(text: str) -> str:
    return _KEY.sub("_", norm_value(text).replace(" ", "_")).strip("_")[:MAX_KEY]


class EntityService:
    """Apply extractions, retract facts, and read the structured state.

    Args:
        rt: Shared runtime.
        hierarchy: Allowed scope keys.
        gate: The memory service's gate (the access module's rules for dict scopes).
        schema: Multi- and single-valued keys.
    """

    def __init__(
        self, rt: Runtime, hierarchy: ScopeHierarchy, gate: MemoryGate, schema: FactSchema | None = None
    ) -> None:
        self._rt = rt
        self.hierarchy = hierarchy
        self.gate = gate
        self.schema = schema or FactSchema()
        self.pending: Any = None  # set by the facade: () -> int, the extraction backlog's size

    # --- writing (inside the worker's transaction) ---------------------------------------
    def apply(self, tx: StateTx, memory: Memory, extraction: Extraction) -> Applied:
        """Store the facts of one memory's extraction and rebuild the chains they join."""
        done = Applied()
        scope_key = self.hierarchy.canon(memory.scope)
        names: dict[str, EntityRecord] = {}

        def entity(name: str, etype: str, aliases: Sequence[str] = ()) -> EntityRecord | None:
            clean = " ".join(str(name).split())[:MAX_NAME]
            norm = norm_name(clean)
            if not norm:
                done.dropped.append(f"an entity with an empty name ({name!r})")
                return None
            if norm in names and not aliases:
                return names[norm]
            found = self._resolve(tx, memory, scope_key, clean, norm, _type(etype), aliases)
            names[norm] = found
            return found

        for e in extraction.entities:
            entity(e.name, e.type, e.aliases)
        items: list[tuple[str, str, str, str, str, bool, str | None]] = []
        for a in extraction.attributes:
            items.append(("attribute", a.entity, a.entity_type, a.key, a.value, a.negated, None))
        for r in extraction.relations:
            items.append(("relation", r.subject, r.subject_type, r.predicate, r.object, r.negated, r.object_type))
        if len(items) > MAX_FACTS:
            done.dropped.append(f"{len(items) - MAX_FACTS} facts past the limit of {MAX_FACTS} per memory")
            items = items[:MAX_FACTS]
        for kind, subject, stype, raw_key, raw_value, negated, otype in items:
            key, value = _key(str(raw_key)), " ".join(str(raw_value).split())
            if not key or not value or len(value) > MAX_VALUE:
                done.dropped.append(f"{kind} {raw_key!r}: empty or over {MAX_VALUE} characters")
                continue
            owner = entity(subject, stype)
            if owner is None:
                continue
            target = None if otype is None else entity(value, otype)
            if otype is not None and target is None:
                continue
            if target is not None:
                value = target.name
            self._assert(tx, memory, scope_key, owner, kind, key, value, negated, target, done)
        return done

    def _resolve(
        self,
        tx: StateTx,
        memory: Memory,
        scope_key: str,
        name: str,
        norm: str,
        etype: str,
        aliases: Sequence[str],
    ) -> EntityRecord:
        alias_norms = [(a, norm_name(a)) for a in aliases if norm_name(a)]
        found = tx.find_entity(scope_key, norm)
        for _, an in alias_norms:
            if found is not None:
                break
            found = tx.find_entity(scope_key, an)
        if found is None:
            record = EntityRecord(new_id(), scope_key, dict(memory.scope), etype, name, (), self._rt.clock())
            record = EntityRecord(**{**record.__dict__, "aliases": tuple(a for a, n in alias_norms if n != norm)})
            tx.insert_entity(record, [norm, *(n for _, n in alias_norms)])
            return record
        known = {norm_name(x) for x in (found.name, *found.aliases)}
        extra = [a for a, n in [(name, norm), *alias_norms] if n not in known]
        better_type = found.entity_type == "Thing" and etype != "Thing"
        if extra or better_type:
            found = EntityRecord(
                **{
                    **found.__dict__,
                    "entity_type": etype if better_type else found.entity_type,
                    "aliases": found.aliases + tuple(dict.fromkeys(extra)),
                }
            )
            tx.update_entity(found, [norm_name(a) for a in extra])
        return found

    def _assert(
        self,
        tx: StateTx,
        memory: Memory,
        scope_key: str,
        owner: EntityRecord,
        kind: str,
        key: str,
        value: str,
        negated: bool,
        target: EntityRecord | None,
        done: Applied,
    ) -> None:
        vnorm = norm_name(value) if kind == "relation" else norm_value(value)
        chain = f"{owner.entity_id}:{kind}:{key}" + (f":{vnorm}" if self.schema.multi(kind, key) else "")
        fact = FactRecord(
            fact_id=new_id(),
            entity_id=owner.entity_id,
            kind=kind,
            key=key,
            value=value,
            value_norm=vnorm,
            chain=chain,
            memory_id=memory.memory_id,
            memory_seq=memory.seq,
            scope_key=scope_key,
            valid_from=memory.created_at,
            recorded_at=self._rt.clock(),
            agent_id=memory.author_id,
            session_id=memory.session_id,
            object_id=None if target is None else target.entity_id,
            negated=negated,
        )
        rows = self._append(tx, fact) or self._insert_and_rebuild(tx, fact)
        done.facts += 1
        link = rows[fact.fact_id]
        other_id = link.supersedes if link.supersedes else (link.superseded_by if link.status == "superseded" else None)
        if other_id is None or negated:
            return
        other = rows[other_id]
        old, new = (other, link) if link.supersedes == other_id else (link, other)
        conflict = {
            "entity_id": owner.entity_id,
            "entity": owner.name,
            "fact_kind": kind,
            "key": key,
            "scope": scope_key,
            "old": {"value": old.value, "agent_id": old.agent_id, "memory_id": old.memory_id},
            "new": {"value": new.value, "agent_id": new.agent_id, "memory_id": new.memory_id},
            "agents": sorted({a for a in (old.agent_id, new.agent_id) if a}),
        }
        done.conflicts.append(conflict)
        self._rt.emit(tx, EventKind.ENTITY_CONFLICT, None, **conflict)
        self._rt.record(
            tx,
            AuditEntry(
                _OP,
                "entity_conflict",
                new.agent_id,
                owner.entity_id,
                details={k: conflict[k] for k in ("entity", "key", "scope", "old", "new", "agents")},
            ),
        )

    def _insert_and_rebuild(self, tx: StateTx, fact: FactRecord) -> dict[str, FactRecord]:
        tx.insert_fact(fact)
        return self._rebuild(tx, fact.chain)

    def _append(self, tx: StateTx, fact: FactRecord) -> dict[str, FactRecord] | None:
        """The common case, in O(1): a fact later (in commit order) than every row of its chain
        changes only itself and the chain's current row — exactly what :func:`rebuild` would
        decide. ``None`` when the fact arrives out of order (then the chain is rebuilt)."""
        top, holder = tx.chain_head(fact.chain)
        if fact.memory_seq <= top:
            return None
        same = holder is not None and holder.value_norm == fact.value_norm
        if fact.negated:
            links = FactLinks("negation", fact.valid_from, None, None, None)
            if holder is not None and same:
                end = max(fact.valid_from, holder.valid_from)
                links = FactLinks("negation", end, holder.fact_id, None, None)
                holder = self._relink(tx, holder, FactLinks("ended", end, holder.supersedes, fact.fact_id, None))
        elif holder is not None and same:
            links = FactLinks("corroborates", None, None, None, holder.fact_id)
        else:
            previous = None if holder is None else holder.fact_id
            links = FactLinks("current", None, previous, None, None)
            if holder is not None:
                end = max(fact.valid_from, holder.valid_from)
                holder = self._relink(tx, holder, FactLinks("superseded", end, holder.supersedes, fact.fact_id, None))
        new = FactRecord(**{**fact.__dict__, **links.__dict__})
        tx.insert_fact(new)
        return {new.fact_id: new, **({} if holder is None else {holder.fact_id: holder})}

    @staticmethod
    def _relink(tx: StateTx, fact: FactRecord, links: FactLinks) -> FactRecord:
        tx.set_fact_links(fact.fact_id, links)
        return FactRecord(**{**fact.__dict__, **links.__dict__})

    def _rebuild(self, tx: StateTx, chain: str) -> dict[str, FactRecord]:
        """Rebuild one chain and store the links that changed; the rows as they are now."""
        rows = tx.chain_facts(chain)
        links = rebuild(rows)
        out = {}
        for r in rows:
            new = links[r.fact_id]
            if new != links_of(r):
                tx.set_fact_links(r.fact_id, new)
                r = FactRecord(**{**r.__dict__, **new.__dict__})
            out[r.fact_id] = r
        return out

    def retract(self, tx: StateTx, memory_ids: Iterable[str], *, replaced: bool = False, depth: int = 0) -> int:
        """Retract the facts these memories asserted and rebuild their chains: the value before
        holds again unless nothing still standing backs it.

        ``replaced``: the memories were superseded by another memory — values a later write
        already replaced keep their place in the chain (``superseded``); only what still holds
        is retracted. A value that comes back must be asserted by a memory that is still ACTIVE;
        one from a superseded or forgotten memory is retracted in turn.
        """
        ids = list(dict.fromkeys(memory_ids))
        keep = ("superseded", "ended") if replaced else ()
        facts = [f for f in tx.facts_of_memories(ids) if f.status != "retracted" and f.status not in keep]
        if not facts:
            return 0
        now = self._rt.clock()
        for f in facts:
            tx.set_fact_links(f.fact_id, FactLinks("retracted", now, None, None, None))
        holding: dict[str, FactRecord] = {}
        for chain in {f.chain for f in facts}:
            holding.update(
                {k: r for k, r in self._rebuild(tx, chain).items() if r.status in ("current", "corroborates")}
            )
        standing = {
            r.memory.memory_id
            for r in tx.get_memories(sorted({r.memory_id for r in holding.values()}))
            if r.memory.status is MemoryStatus.ACTIVE
        }
        fallen = {r.memory_id for r in holding.values() if r.memory_id not in standing}
        if fallen and depth < 16:
            return len(facts) + self.retract(tx, fallen, depth=depth + 1)
        return len(facts)

    # --- reading ----------------------------------------------------------------------
    @audit_refusals(_OP, "get_state", "as_agent")
    def state(
        self,
        scope: Mapping[str, str] | None = None,
        *,
        as_of: float | None = None,
        descendants: bool = True,
        history: bool = True,
        entity: str | None = None,
        as_agent: str | None = None,
        floor: Mapping[str, str] | None = None,
    ) -> StateView:
        """The entities visible at ``scope`` with their facts (see :mod:`.entity_views`).

        Args:
            scope: The reader's scope (an agent's default: its own, or ``floor``).
            as_of: Answer for this moment (epoch seconds) instead of now.
            descendants: Include narrower scopes (a supervisor reading its workers).
            history: Include superseded, ended and retracted values.
            entity: Only the entity with this name (or alias).
            as_agent / floor: Read as this agent (MEMORY_READ; its grant decides the scope).

        Raises:
            PermissionDeniedError: The agent may not read at ``scope``.
            InvalidInputError: A malformed scope or entity name, an ``as_of`` that is not a finite number.
        """
        scope, descendants = self.gate.reader_scope(scope, descendants, as_agent, floor)
        as_of = check_time(as_of, "as_of")
        checked = self.hierarchy.check(scope)
        flt = self.hierarchy.filter(checked, descendants=descendants)
        want = None if entity is None else norm_name(check_text(entity, "entity", MAX_NAME))
        limit = self._rt.limits.max_query_limit * 10

        def read(tx: StateTx) -> tuple[list[EntityRecord], list[FactRecord]]:
            facts = tx.scoped_facts(flt, limit=limit)
            entities = tx.get_entities(
                sorted({f.entity_id for f in facts} | {f.object_id for f in facts if f.object_id})
            )
            if want is not None:
                keep = {e.entity_id for e in entities if want in {norm_name(x) for x in (e.name, *e.aliases)}}
                facts = [f for f in facts if f.entity_id in keep]
                entities = [e for e in entities if e.entity_id in keep]
            return entities, facts

        entities, facts = self._rt.read(read)
        inherited = list(reversed(self.hierarchy.prefixes(checked)))
        pending = int(self.pending()) if callable(self.pending) else 0
        view = build_state(checked, entities, facts, inherited=inherited, as_of=as_of, history=history, pending=pending)
        return _redacted(view)

    def stale(
        self, tx: StateTx, memory_ids: Sequence[str], inherited: Sequence[str] = (), at: float | None = None
    ) -> dict[str, tuple[list[str], list[str]]]:
        """Memories every fact of which a later write replaced (or a negation ended) — or, for a
        reader whose scope prefixes are ``inherited`` (widest first, its own last), a narrower
        one of them overrides: id → (the replaced fact ids, the ids of the replacing memories).
        With ``at``: as the chains stood at that moment (overrides are not considered)."""
        found = tx.facts_of_memories(memory_ids)
        rows: dict[str, FactRecord] = {}
        if at is not None:
            for chain in {f.chain for f in found if f.valid_from <= at}:
                rows.update(_chain_at(tx.chain_facts(chain), at))
            found, inherited = [rows[f.fact_id] for f in found if f.fact_id in rows], ()
        by_memory: dict[str, list[FactRecord]] = {}
        for f in found:
            if not f.negated and f.status != "retracted":
                by_memory.setdefault(f.memory_id, []).append(f)
        if at is None:
            chains = {f.chain for facts in by_memory.values() for f in facts if f.status != "current"}
            rows = {r.fact_id: r for chain in chains for r in tx.chain_facts(chain)}
        out = {}
        for mid, facts in by_memory.items():
            held = [rows.get(f.corroborates or "", f) if f.status == "corroborates" else f for f in facts]
            replacers: list[str] = []
            for h in held:
                if h.status in ("superseded", "ended") and h.superseded_by in rows:
                    replacers.append(rows[h.superseded_by].memory_id)
                elif h.status in ("superseded", "ended") or (over := self._overrider(tx, h, inherited)) is None:
                    break
                else:
                    replacers.append(over)
            else:
                if held:
                    out[mid] = ([f.fact_id for f in facts], list(dict.fromkeys(r for r in replacers if r != mid)))
        return out

    def _overrider(self, tx: StateTx, fact: FactRecord, inherited: Sequence[str]) -> str | None:
        """The memory whose current value, at a scope narrower than ``fact``'s among the reader's
        ``inherited`` scopes, overrides ``fact`` for that reader (single-valued keys only)."""
        if fact.scope_key not in inherited[:-1] or self.schema.multi(fact.kind, fact.key):
            return None
        owner = tx.get_entities([fact.entity_id])
        if not owner:
            return None
        norm = norm_name(owner[0].name)
        for scope_key in reversed(inherited[inherited.index(fact.scope_key) + 1 :]):  # narrowest first
            narrower = tx.find_entity(scope_key, norm)
            if narrower is not None:
                _, head = tx.chain_head(f"{narrower.entity_id}:{fact.kind}:{fact.key}")
                if head is not None:
                    return head.memory_id if head.value_norm != fact.value_norm else None
        return None


def _chain_at(rows: Sequence[FactRecord], at: float) -> dict[str, FactRecord]:
    """A chain's rows as they stood at ``at``, carrying the links of that moment."""
    then, links = rebuild_at(rows, at)
    return {r.fact_id: FactRecord(**{**r.__dict__, **links[r.fact_id].__dict__}) for r in then}


def _type(text: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", str(text))[:6]
    name = "".join(w[:1].upper() + w[1:] for w in words)[:60]
    return name or "Thing"


def _redacted(view: StateView) -> StateView:
    """Fact values are read like memories: secrets redacted (extraction already reads redacted
    text; this also covers values stored before a redaction rule existed)."""

    def fix(f: Any) -> Any:
        nxt = None if f.superseded_by is None else fix(f.superseded_by)
        over = None if f.overridden_by is None else fix(f.overridden_by)
        return dataclasses.replace(f, value=redact(f.value), superseded_by=nxt, overridden_by=over)

    entities = tuple(
        dataclasses.replace(
            e,
            attributes=tuple(fix(a) for a in e.attributes),
            relations=tuple(fix(r) for r in e.relations),
        )
        for e in view.entities
    )
    return dataclasses.replace(view, entities=entities)
