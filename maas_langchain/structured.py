"""Wiring of structured memory for the facade: the extractor, the worker, reflection.

``MaaS.open(extractor=..., llm=..., fact_schema=...)`` lands here. ``extractor`` is ``"rules"``
(the offline :class:`~maas_langchain.core.extract_rules.RuleExtractor`, the default), ``"llm"``
(:class:`~maas_langchain.adapters.llm.LLMExtractor` over ``llm``), any object with ``name`` and
``extract(text, category=...)``, or ``None`` (off). ``llm`` — any LangChain chat model — also
writes ``reflect`` summaries (:class:`~maas_langchain.adapters.llm.LLMSummarizer`).
"""

from __future__ import annotations

from typing import Any

from maas_langchain.core.entities import EntityService, FactSchema
from maas_langchain.core.entity_types import Extractor
from maas_langchain.core.extraction import ExtractionWorker
from maas_langchain.core.memories import MemoryService
from maas_langchain.core.reflection import ReflectionService, Summarizer
from maas_langchain.core.runtime import Runtime
from maas_langchain.errors import InvalidInputError

__all__ = ["FactSchema", "make_extractor", "wire_structured"]


def make_extractor(extractor: Any, llm: Any) -> Extractor | None:
    """The extractor ``MaaS.open(extractor=..., llm=...)`` asks for.

    Raises:
        InvalidInputError: An unknown name, ``"llm"`` without ``llm``, or an object without ``extract``.
    """
    if extractor is None:
        return None
    if extractor == "rules":
        from maas_langchain.core.extract_rules import RuleExtractor

        return RuleExtractor()
    if extractor == "llm":
        if llm is None:
            raise InvalidInputError('extractor="llm" needs a chat model: MaaS.open(llm=..., extractor="llm")')
        from maas_langchain.adapters.llm import LLMExtractor

        return LLMExtractor(llm)
    if isinstance(extractor, str) or not callable(getattr(extractor, "extract", None)):
        raise InvalidInputError(
            'extractor must be "rules", "llm", None, or an object with extract(text, category=...)',
            field="extractor",
        )
    if not hasattr(extractor, "name"):
        extractor.name = type(extractor).__name__
    found: Extractor = extractor
    return found


def wire_structured(
    runtime: Runtime, memories: MemoryService, *, extractor: Any, llm: Any, schema: FactSchema | None
) -> tuple[EntityService, ExtractionWorker, ReflectionService]:
    """The entity service, the extraction worker and the reflection service of one instance."""
    entities = EntityService(runtime, memories.hierarchy, memories.gate, schema)
    worker = ExtractionWorker(runtime, entities, make_extractor(extractor, llm))
    entities.pending = lambda: worker.backlog()[0]
    memories.extraction = worker
    summarizer: Summarizer | None = None
    if llm is not None:
        from maas_langchain.adapters.llm import LLMSummarizer

        summarizer = LLMSummarizer(llm)
    return entities, worker, ReflectionService(memories, entities, summarizer)
