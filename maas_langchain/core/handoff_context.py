"""A handoff's payloads checked before it is recorded: the context's shape and sizes, and
screening of the context and the result (a handoff has no quarantine, so flagged text is refused).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from maas_langchain.core.memory_types import Embedder
from maas_langchain.core.records import HandoffContext
from maas_langchain.core.screening import (
    ScreeningResult,
    has_injection_cue,
    instruction_flags,
    screen_text,
    strings_in,
)
from maas_langchain.core.threads import check_thread_id
from maas_langchain.core.validation import check_json, check_str_list, check_text
from maas_langchain.errors import InvalidInputError, NotSupportedError, PolicyViolationError

__all__ = ["check_context", "embedded_screen", "refuse_flagged"]

_FIELDS = tuple(f.name for f in dataclasses.fields(HandoffContext))


def check_context(context: Any, max_bytes: int) -> HandoffContext:
    """``context`` (a :class:`HandoffContext` or its dict) with every field checked."""
    if isinstance(context, dict):
        if "task_description" not in context:
            raise InvalidInputError("context needs a task_description", field="context")
        unknown = sorted(str(k) for k in context if k not in _FIELDS)
        if unknown:  # a misspelt field ("state") would otherwise be dropped without a word
            raise InvalidInputError(
                f"context has unknown field(s) {', '.join(unknown)[:200]}; the fields are {', '.join(_FIELDS)}",
                field="context",
            )
        for name in ("current_state", "notes"):  # depth first: building the record copies them
            check_json(context.get(name), name, max_bytes)
        context = HandoffContext.from_dict(context)
    if not isinstance(context, HandoffContext):
        raise InvalidInputError(
            f"context must be a HandoffContext or a dict, got {type(context).__name__}", field="context"
        )
    checked = HandoffContext(
        task_description=check_text(context.task_description, "task_description", max_bytes),
        current_state=check_json(context.current_state, "current_state", max_bytes),
        relevant_memories=check_str_list(context.relevant_memories, "relevant_memories", 512),
        relevant_files=check_str_list(context.relevant_files, "relevant_files", 4096),
        notes=check_json(context.notes, "notes", max_bytes),
        thread_id=None if context.thread_id is None else check_thread_id(context.thread_id),
    )
    check_json(checked.to_dict(), "context", max_bytes)
    return checked


def refuse_flagged(value: Any, field: str, screen: Callable[[str], ScreeningResult]) -> None:
    """Screen a handoff's ``context`` (its task, state, notes and files) or ``result`` (every
    string, keys too) as one text.

    A handoff has no quarantine — its receiver acts on the text at once — so text aimed at the
    receiving model (:func:`~maas_langchain.core.screening.instruction_flags`: injection,
    exfiltration, tool hijacking, poisoning, the learned signal corroborated by an injection
    cue, since task descriptions are imperatives) is refused. SQL and markup payloads are
    ordinary content of coding tasks (a bug report quotes them) and pass."""
    if isinstance(value, HandoffContext):  # what a sender wrote, not the context's own field names
        texts = [value.task_description, *strings_in(value.current_state), *strings_in(value.notes)]
        texts += value.relevant_files
    else:
        texts = strings_in(value)
    joined = "\n".join(texts)
    found = instruction_flags(screen(joined), joined)
    if found:
        raise PolicyViolationError(
            f"handoff {field} flagged by screening ({', '.join(found)}); a handoff has no quarantine, "
            "so rephrase it as a task description rather than instructions to the receiving agent",
            field=field,
            categories=list(found),
        )


def embedded_screen(open_embedder: Callable[[], Embedder]) -> Callable[[str], ScreeningResult]:
    """Screening for handoff payloads with the learned signal too: the text (its first 4,000
    characters; the rules read all of it) embedded by the instance's memory model, loaded on
    first use, as a memory's text would be. Without an installed model the rules decide alone.

    A text with no injection cue (:func:`~maas_langchain.core.screening.has_injection_cue`) in
    which no rule finds anything aimed at an agent is not embedded: :func:`refuse_flagged` would drop a learned-only flag on it
    anyway, so the embedding (~20 ms on a CPU) could not change the decision."""

    def screen(text: str) -> ScreeningResult:
        if not text.strip():
            return screen_text(text)
        if not has_injection_cue(text):
            ruled = screen_text(text)
            if not instruction_flags(ruled, text):  # nothing aimed at an agent; a learned flag would not count
                return ruled
        embedder = open_embedder()
        try:
            vector = embedder.embed_documents([text[:4_000]])[0]
        except NotSupportedError:  # the local-embeddings extra is not installed
            return screen_text(text)
        return screen_text(text, vector, model_id=embedder.model_id)

    return screen
