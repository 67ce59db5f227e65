"""Response models of the REST API, for its OpenAPI document (requests use the registry's models).

Each model restates the JSON an operation's handler returns (``agent_json``, ``memory_json``...
of :mod:`maas_langchain.adapters.tools.specs_common`, and each handler's own dict), so clients
get typed success bodies; :data:`RESPONSE_MODELS` maps each operation of
:data:`~maas_langchain.adapters.rest.routes.ROUTES` to its model. The models are closed
(``additionalProperties: false``): a key a handler adds without a model change fails the schema
conformance checks of ``tests/test_rest_fuzz.py``. Only open-ended dicts (metadata, a handoff's
state and result, ``why``, audit details) accept any key. A value that may be ``null`` is typed
``X | None`` and still always present; a key that is sometimes absent has a default. ``__all__``
lists the tables and the error shape; the success models are reached through
:data:`RESPONSE_MODELS` (and are named components of the OpenAPI document). Models several
groups use (agents, pools, handoffs) are in :mod:`.models_shared`; the console operations' in
:mod:`.models_console`.

Example:
    >>> sorted(RESPONSE_MODELS["get_memory"].model_json_schema()["required"])[:3]
    ['author_id', 'category', 'content']
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from maas_langchain.adapters.rest.models_console import CONSOLE_RESPONSE_MODELS
from maas_langchain.adapters.rest.models_shared import (
    Agent,
    AuditAnchor,
    Handoff,
    MemoryStatus,
    Open,
    PermissionName,
    Pool,
    Scope,
    SharedScopeName,
)
from maas_langchain.adapters.rest.models_shared import ClosedModel as _Out

__all__ = ["ERROR_RESPONSES", "RESPONSE_MODELS", "ErrorDetail", "ErrorResponse"]


class ErrorDetail(BaseModel):
    """What went wrong: a stable ``code`` of the error tree, a sentence, and whether a retry may succeed."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="invalid_input, permission_denied, not_found, conflict, capacity_exceeded, ...")
    message: str = Field(description="One sentence for a person; never a stack trace.")
    retryable: bool = Field(description="True when the same request may succeed later (backend_unavailable, ...).")


class ErrorResponse(_Out):
    """The one error shape of every refusal."""

    error: ErrorDetail


class Session(_Out):
    """A session: one scope, bound to the agent that opened it."""

    session_id: str
    scope: Scope
    agent_id: str | None
    created_at: float = Field(description="Seconds since the epoch.")
    closed_at: float | None = Field(description="When it was closed; null while open.")


class Memory(_Out):
    """A stored memory (secrets redacted)."""

    memory_id: str
    content: str
    category: str
    scope: Scope
    status: MemoryStatus = Field(description="Only active memories are recalled.")
    author_id: str | None
    created_at: float = Field(description="Seconds since the epoch.")
    metadata: Open = Field(description="Flat provenance, as written.")
    screening: list[str] = Field(description="Pattern families screening matched (empty when clean).")


class RememberedMemory(Memory):
    """The memory ``remember`` stored; ``note`` explains a quarantine."""

    note: str | None = Field(default=None, description="Present only when screening quarantined the content.")


class RecalledMemory(Memory):
    """A recalled memory with its score and why it matched."""

    score: float = Field(description="Higher is better; results are best first.")
    why: Open = Field(description="semantic, lexical, matched_terms, recency, reason, ...")


class MemoryList(_Out):
    """The memories stored by ``session_remember_many``, in order."""

    memories: list[Memory]


class MemoryPage(_Out):
    """One page of ``memory_history``, oldest first."""

    items: list[Memory]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")


class RecallResult(_Out):
    """What ``recall`` found at the scope it read."""

    scope: Scope
    memories: list[RecalledMemory]


class SessionRecallResult(_Out):
    """What ``session_recall`` found, with the hits formatted for a prompt."""

    query: str
    scope: Scope
    items: list[RecalledMemory]
    formatted: str = Field(description="The hits as text ready for a prompt.")


class Forgotten(_Out):
    """The result of ``forget_memory``."""

    memory_id: str
    forgotten: bool = Field(description="False when the memory was already not active.")
    status: Literal["deleted"]


class Provenance(_Out):
    """Who asserted a fact: the memory, its author, its session, when."""

    memory_id: str
    agent_id: str | None
    session_id: str | None
    at: float


class FactRef(_Out):
    """Another fact, by id and value (``superseded_by``, ``overridden_by``)."""

    fact_id: str
    value: str


class FactView(_Out):
    """An attribute value or a relation, with its lifecycle."""

    fact_id: str
    kind: str
    key: str
    value: str
    status: Literal["current", "superseded", "ended", "retracted", "overridden"]
    valid_from: float
    valid_to: float | None
    scope: Scope
    memory_id: str
    agent_id: str | None
    session_id: str | None
    sources: list[Provenance]
    supersedes: str | None
    superseded_by: FactRef | None
    overridden_by: FactRef | None
    object_id: str | None


class EntityView(_Out):
    """An entity with its attributes and relations, current ones first."""

    entity_id: str
    name: str
    type: str
    scope: Scope
    aliases: list[str]
    attributes: list[FactView]
    relations: list[FactView]


class EntityState(_Out):
    """The result of ``get_state``: the entities visible at a scope."""

    scope: Scope
    as_of: float | None = Field(description="The moment asked; null for now.")
    pending_extractions: int
    entities: list[EntityView]


class Profile(_Out):
    """The result of ``profile``: facts, recent memories by category, reflections."""

    scope: Scope
    facts: list[EntityView]
    memories: dict[str, list[Memory]] = Field(description="Recent memories by category.")
    reflections: list[Memory]


class Reflection(_Out):
    """The result of ``reflect``: a summary citing memory ids."""

    summary: str
    memory_ids: list[str]
    method: str
    note: str | None
    reflection_id: str | None = Field(description="The stored reflection memory (persist=true), else null.")


class AgentList(_Out):
    """The agents of one user, oldest first."""

    user_id: str
    agents: list[Agent]


class PoolCreated(Pool):
    """A new pool; its creator is its ADMIN."""

    your_permission: PermissionName


class Membership(_Out):
    """The result of ``join_pool``."""

    pool_id: str
    agent_id: str
    permission: PermissionName
    member: bool


class MembershipEnded(_Out):
    """The result of ``leave_pool``."""

    pool_id: str
    agent_id: str
    member: bool


class Share(_Out):
    """The result of ``share_memory_to_scope``."""

    pool_id: str
    memory_id: str
    scope: SharedScopeName
    shared: bool


class SharedMemory(_Out):
    """A memory shared into a pool (secrets redacted)."""

    memory_id: str
    author_id: str
    scope: SharedScopeName
    shared_at: float
    content: str | None = Field(description="Null for an external reference such as 'mem-bug-123'.")
    category: str | None
    metadata: Open


class SharedMemoryList(_Out):
    """The result of ``query_shared``, newest first."""

    pool_id: str
    memories: list[SharedMemory]


class HandoffList(_Out):
    """The result of ``get_pending_handoffs``, oldest first."""

    agent_id: str
    handoffs: list[Handoff]


class _Hit(_Out):
    id: str
    content: str
    score: float = Field(description="In [0, 1]; higher is better.")
    path: str | None
    title: str
    why: Open = Field(description="semantic, lexical, matched_terms, via, ...")


class CodeHit(_Hit):
    """A code chunk: a function, a class or method, a header or a section of a file."""

    service: str | None
    language: str
    symbol: str
    start_line: int
    end_line: int


class DecisionHit(_Hit):
    """The best-matching section of one decision document."""

    topic: str | None
    status: str | None
    date: str | None
    section: str


class IncidentHit(_Hit):
    """The best-matching section of one incident document."""

    service: str | None
    status: str | None
    date: str | None
    severity: str | None
    section: str


class CodeSearch(_Out):
    """The result of ``search_code_kb``, best first."""

    query: str
    results: list[CodeHit]


class DecisionSearch(_Out):
    """The result of ``search_decisions``, best first."""

    query: str
    results: list[DecisionHit]


class IncidentSearch(_Out):
    """The result of ``search_incidents``, best first."""

    query: str
    results: list[IncidentHit]


class AuditEntry(_Out):
    """One entry of the hash-chained audit log."""

    seq: int
    timestamp: float
    event_type: str = Field(description="AGENT_AUTH, POOL_OPERATION, HANDOFF, PERMISSION_DENIED, ...")
    action: str
    actor: str | None
    target: str | None
    outcome: str = Field(description="success, denied, or an error code.")
    reason: str | None
    details: Open
    prev_hash: str
    hash: str


class AuditPage(_Out):
    """One page of ``audit_query``, in sequence order."""

    items: list[AuditEntry]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")


class AuditReport(_Out):
    """The result of ``audit_verify``."""

    intact: bool = Field(description="True when no check found a problem (the same as ok).")
    ok: bool
    checked: int
    first_bad_seq: int | None
    problem: str | None
    problems: list[str]
    anchors_checked: int
    last_anchor: AuditAnchor | None
    legacy_entries: int
    key_id: str | None


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("invalid_input: a malformed body or argument (one sentence per field)"),
    401: _error("permission_denied: a missing, unknown, expired or revoked key"),
    403: _error("permission_denied: the key's agent may not do this"),
    404: _error("not_found: no such id, or one the key's agent may not see"),
    409: _error("conflict or capacity_exceeded"),
    413: _error("invalid_input: the body is over the size limit"),
    415: _error("invalid_input: the body is not application/json"),
    422: _error("policy_violation: screening refused the content"),
    429: _error("rate_limited: retry after Retry-After seconds"),
    500: _error("internal_error (a bug) or storage_corrupted (a damaged database): not retryable"),
    503: _error("backend_unavailable: retryable (a full disk once space is freed)"),
}
"""The error responses every operation documents."""


RESPONSE_MODELS: dict[str, type[BaseModel]] = {
    **dict.fromkeys(("create_session", "get_session", "close_session"), Session),
    **dict.fromkeys(("session_remember", "get_memory"), Memory),
    "session_remember_many": MemoryList,
    "session_recall": SessionRecallResult,
    **dict.fromkeys(("session_reflect", "reflect"), Reflection),
    **dict.fromkeys(("session_profile", "profile"), Profile),
    **dict.fromkeys(("session_get_state", "get_state"), EntityState),
    "remember": RememberedMemory,
    "recall": RecallResult,
    "memory_history": MemoryPage,
    "forget_memory": Forgotten,
    **dict.fromkeys(("register_agent", "get_agent_info"), Agent),
    "get_agents_for_user": AgentList,
    "create_pool": PoolCreated,
    "join_pool": Membership,
    "leave_pool": MembershipEnded,
    "share_memory_to_scope": Share,
    "query_shared": SharedMemoryList,
    **dict.fromkeys(("initiate_handoff", "get_handoff", "accept_handoff"), Handoff),
    **dict.fromkeys(("reject_handoff", "complete_handoff", "cancel_handoff"), Handoff),
    "get_pending_handoffs": HandoffList,
    "search_code_kb": CodeSearch,
    "search_decisions": DecisionSearch,
    "search_incidents": IncidentSearch,
    "audit_query": AuditPage,
    "audit_verify": AuditReport,
    **CONSOLE_RESPONSE_MODELS,
}
"""The success body of each operation of :data:`~maas_langchain.adapters.rest.routes.ROUTES`, by registry name."""
