"""``reflect`` and ``profile``: what a scope knows, summarised and consolidated.

``reflect(query)`` recalls the memories that answer ``query`` (current facts first, with the
caller's rights) and summarises them, citing the memory ids it used:

* with a chat model (``MaaS.open(llm=...)``, any LangChain chat model through
  :class:`~maas_langchain.adapters.llm.LLMSummarizer`): the model's answer over the numbered
  sources;
* otherwise — or when the model fails, which ``note`` then says — an **offline extractive
  summary**: the recalled memories are split into sentences, each embedded with the instance's
  model, and up to :data:`MAX_SENTENCES` are picked by maximal marginal relevance (relevance to
  the query, minus similarity to sentences already picked), each followed by its source's
  number.

``persist=True`` stores the summary as a memory of category ``reflection`` at the scope, with
``metadata`` naming its sources (``sources``: comma-separated memory ids) and query; it is
screened like every write and appears in later ``profile()`` calls. Reflections are not
re-extracted (they restate their sources' facts).

``profile()`` is the scope's consolidated view: the current entity facts (``get_state``), the
most recent memories of each category, and the persisted reflections.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from maas_langchain.core.entities import EntityService
from maas_langchain.core.entity_views import StateView
from maas_langchain.core.enums import MemoryStatus
from maas_langchain.core.memories import MemoryService, RecallHit
from maas_langchain.core.memory_types import MemoryInput
from maas_langchain.core.ports.state import StateTx
from maas_langchain.core.records import Memory
from maas_langchain.core.validation import check_positive_int, check_text
from maas_langchain.errors import MaaSError

__all__ = ["MAX_SENTENCES", "Profile", "Reflection", "ReflectionService", "Summarizer"]

MAX_SENTENCES = 4
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|\n+")
_PROFILE_SCAN = 2_000


class Summarizer(Protocol):
    """Summarises numbered sources for a query (a chat model behind it)."""

    def summarize(self, query: str, sources: Sequence[tuple[str, str]]) -> str:
        """A concise answer to ``query`` citing ``sources`` ((memory id, text) pairs) by number."""
        ...


@dataclass(frozen=True)
class Reflection:
    """What ``reflect`` returns.

    Attributes:
        summary: The answer, with ``[n]`` citations of ``memory_ids[n-1]``.
        memory_ids: The memories cited, in citation order.
        method: ``"llm"`` or ``"extractive"``.
        note: Why the offline summary was used although a model is set (it failed), else ``None``.
        reflection_id: The stored reflection memory's id when ``persist=True``.
    """

    query: str
    scope: dict[str, str]
    summary: str
    memory_ids: tuple[str, ...]
    method: str
    note: str | None = None
    reflection_id: str | None = None

    def __str__(self) -> str:
        return self.summary


@dataclass(frozen=True)
class Profile:
    """The scope's consolidated view: facts, recent memories by category, reflections."""

    scope: dict[str, str]
    state: StateView
    memories: dict[str, list[Memory]] = field(default_factory=dict)
    reflections: list[Memory] = field(default_factory=list)

    @property
    def entities(self) -> tuple[Any, ...]:
        """The current entities (as ``get_state(history=False)``)."""
        return self.state.entities

    @property
    def formatted(self) -> str:
        """The profile as text ready for a prompt."""
        parts = ["Known facts:", self.state.formatted]
        for category, items in self.memories.items():
            parts.append(f"Recent {category}:")
            parts.extend(f"- {m.content}" for m in items)
        if self.reflections:
            parts.append("Reflections:")
            parts.extend(f"- {m.content}" for m in self.reflections)
        return "\n".join(parts)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if len(s.strip()) > 2][:20]


class ReflectionService:
    """``reflect`` and ``profile`` over the memory and entity services.

    Args:
        memories: The memory service (recall with the caller's rights, remember to persist).
        entities: The entity service (``profile``'s facts).
        summarizer: A chat-model summariser, or ``None`` for the offline extractive summary.
    """

    def __init__(self, memories: MemoryService, entities: EntityService, summarizer: Summarizer | None = None) -> None:
        self.memories = memories
        self.entities = entities
        self.summarizer = summarizer

    def reflect(
        self,
        query: str,
        *,
        scope: Mapping[str, str] | None = None,
        persist: bool = False,
        top_k: int = 10,
        author_id: str | None = None,
        session_id: str | None = None,
        as_agent: str | None = None,
        floor: Mapping[str, str] | None = None,
    ) -> Reflection:
        """Summarise what the scope knows about ``query`` (see the module docstring).

        Raises:
            InvalidInputError: Empty query, bad scope or ``top_k``.
            PermissionDeniedError: The agent may not recall (or, persisting, write) at ``scope``.
            PolicyViolationError: ``persist`` and screening refuses the summary.
        """
        text = check_text(query, "query", self.memories._rt.limits.max_memory_chars)
        k = check_positive_int(top_k, "top_k", self.memories._rt.limits.max_recall_top_k)
        hits = self.memories.recall(text, scope=scope, top_k=k, as_agent=as_agent, floor=floor)
        hits = [h for h in hits if h.memory.category != "reflection"] or hits
        hits = [h for h in hits if not h.why.get("superseded")] or hits  # current facts, not replaced ones
        # stored at the scope asked, else the agent's own (never at a recalled memory's scope:
        # that could be wider than the sources, and a sibling would read what the summary quotes)
        where = (
            dict(scope)
            if scope is not None
            else dict(self.memories.grant(as_agent, None, floor=floor, write=False).scope)
            if as_agent
            else {}
        )
        summary, cited, method, note = self._summarise(text, hits)
        reflection = Reflection(text, where, summary, tuple(cited), method, note)
        if persist and hits:
            stored = self.memories.remember_many(
                [
                    MemoryInput(
                        summary,
                        where,
                        "reflection",
                        {"reflection_of": text[:200], "sources": ",".join(cited)[:4_000], "method": method},
                        author_id,
                        session_id,
                    )
                ],
                as_agent=as_agent,
                floor=floor,
            )[0]
            reflection = Reflection(text, dict(stored.scope), summary, tuple(cited), method, note, stored.memory_id)
        return reflection

    def _summarise(self, query: str, hits: Sequence[RecallHit]) -> tuple[str, list[str], str, str | None]:
        if not hits:
            return f"No memories found for: {query}", [], "extractive", None
        note = None
        if self.summarizer is not None:
            sources = [(h.memory.memory_id, h.memory.content) for h in hits]
            try:
                answer = self.summarizer.summarize(query, sources).strip()
                if answer:
                    cited = [
                        sources[int(n) - 1][0]
                        for n in dict.fromkeys(re.findall(r"\[(\d+)\]", answer))
                        if 0 < int(n) <= len(sources)
                    ]
                    return answer, cited or [s[0] for s in sources], "llm", None
                note = "the chat model returned nothing; an offline extractive summary was used"
            except (MaaSError, Exception) as exc:  # any model failure falls back, and says so
                note = f"the chat model failed ({type(exc).__name__}: {str(exc)[:200]}); an offline extractive summary was used"
        summary, cited = self._extractive(query, hits)
        return summary, cited, "extractive", note

    def _extractive(self, query: str, hits: Sequence[RecallHit]) -> tuple[str, list[str]]:
        pool = [(h.memory.memory_id, s) for h in hits for s in _sentences(h.memory.content)]
        if not pool:
            return hits[0].memory.content, [hits[0].memory.memory_id]
        embedder = self.memories.embedder
        vecs = np.asarray(embedder.embed_documents([s for _, s in pool]), dtype=np.float32)
        q = np.asarray(embedder.embed_query(query), dtype=np.float32)
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
        q /= max(float(np.linalg.norm(q)), 1e-9)
        relevance = vecs @ q
        picked: list[int] = []
        while len(picked) < min(MAX_SENTENCES, len(pool)):
            best, best_score = -1, -np.inf
            for i in range(len(pool)):
                if i in picked or any(pool[i][1] == pool[j][1] for j in picked):
                    continue
                redundancy = max((float(vecs[i] @ vecs[j]) for j in picked), default=0.0)
                score = 0.7 * float(relevance[i]) - 0.3 * redundancy
                if score > best_score:
                    best, best_score = i, score
            if best < 0 or (picked and relevance[best] < 0.5 * relevance[picked[0]]):
                break
            picked.append(best)
        picked.sort(key=lambda i: -float(relevance[i]))
        cited = list(dict.fromkeys(pool[i][0] for i in picked))
        parts = [f"{pool[i][1]} [{cited.index(pool[i][0]) + 1}]" for i in picked]
        return " ".join(parts), cited

    def profile(
        self,
        scope: Mapping[str, str] | None = None,
        *,
        per_category: int = 5,
        as_agent: str | None = None,
        floor: Mapping[str, str] | None = None,
    ) -> Profile:
        """The scope's current facts, its ``per_category`` most recent current memories of each
        category (leaving out memories whose every fact a later write replaced), and its persisted
        reflections, newest first. Reads with the caller's grant, as ``get_state`` and ``recall``
        do (descendants included: a supervisor's profile holds its workers' findings)."""
        per = check_positive_int(per_category, "per_category", 100)
        memories = self.memories
        if memories.extraction is not None:
            memories.extraction.drain(timeout=30.0)
        state = self.entities.state(scope, history=False, as_agent=as_agent, floor=floor)
        where, descendants = memories.gate.reader_scope(scope, True, as_agent, floor)
        flt = memories.hierarchy.filter(memories.hierarchy.check(where), descendants=descendants)
        active = (MemoryStatus.ACTIVE,)

        def read(tx: StateTx) -> tuple[list[Memory], dict[str, Any]]:
            rows = tx.list_memories(scope=flt, statuses=active, limit=_PROFILE_SCAN, newest_first=True)
            current = [r.memory for r in rows if r.memory.valid_to is None]
            return current, self.entities.stale(tx, [m.memory_id for m in current[: 20 * per]])

        current, stale = memories._rt.read(read)
        by_category: dict[str, list[Memory]] = {}
        for m in current:  # newest first; memories whose facts were all replaced since are left out
            if m.memory_id not in stale:
                bucket = by_category.setdefault(m.category, [])
                if len(bucket) < per:
                    bucket.append(memories._public(m))
        reflections = by_category.pop("reflection", [])
        return Profile(state.scope, state, by_category, reflections)
