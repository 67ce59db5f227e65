"""The REST API's route table: each path is one registry operation (a tool or a REST-only spec).

A :class:`Route` names the operation whose pydantic argument model *is* the request's schema:
fields named in the path come from the path, a GET's other fields are query parameters, and a
write's are the JSON body. Nothing here restates a field; the OpenAPI document is generated
from the models (:mod:`maas_langchain.adapters.rest.app`).

Example:
    >>> [r.path for r in ROUTES if r.operation == "session_recall"]
    ['/v1/sessions/{session_id}/recall']
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ROUTES", "Route"]


@dataclass(frozen=True)
class Route:
    """One REST endpoint.

    Attributes:
        method: HTTP method.
        path: Path template; ``{name}`` parts fill the argument of that name.
        operation: The registry name (a tool of :func:`~maas_langchain.adapters.tools.specs.tool_specs`,
            a spec of :data:`~maas_langchain.adapters.rest.specs.REST_SPECS` or of
            :data:`~maas_langchain.adapters.rest.specs_console.CONSOLE_SPECS`); also the OpenAPI
            ``operationId``.
        tag: OpenAPI tag (the group in the docs).
        status: Status of a success (201 for creations).
        summary: One line for the OpenAPI document.
        operation_id: The OpenAPI ``operationId`` of an alias route of an operation that has its
            own route (default: ``operation``); an alias takes no query arguments.
    """

    method: str
    path: str
    operation: str
    tag: str
    status: int = 200
    summary: str = ""
    operation_id: str = ""


ROUTES: tuple[Route, ...] = (
    # sessions: the Spectron client's shape
    Route("POST", "/v1/sessions", "create_session", "sessions", 201, "Open a session at a scope"),
    Route("GET", "/v1/sessions/{session_id}", "get_session", "sessions", summary="A session"),
    Route("DELETE", "/v1/sessions/{session_id}", "close_session", "sessions", summary="Close a session"),
    Route("POST", "/v1/sessions/{session_id}/remember", "session_remember", "sessions", 201, "Remember in a session"),
    Route(
        "POST",
        "/v1/sessions/{session_id}/remember-many",
        "session_remember_many",
        "sessions",
        201,
        "Remember many in one transaction",
    ),
    Route("POST", "/v1/sessions/{session_id}/recall", "session_recall", "sessions", summary="Recall in a session"),
    Route("POST", "/v1/sessions/{session_id}/reflect", "session_reflect", "sessions", summary="Reflect"),
    Route("POST", "/v1/sessions/{session_id}/profile", "session_profile", "sessions", summary="Profile"),
    Route("POST", "/v1/sessions/{session_id}/state", "session_get_state", "sessions", summary="Entity state"),
    # memories outside a session (scope per call)
    Route("POST", "/v1/memories", "remember", "memories", 201, "Remember at a scope"),
    Route("POST", "/v1/memories/recall", "recall", "memories", summary="Recall at a scope"),
    Route("POST", "/v1/memories/history", "memory_history", "memories", summary="Every memory at a scope"),
    Route("POST", "/v1/memories/scopes", "memory_scopes", "memories", summary="Memories per scope at or below one"),
    Route("GET", "/v1/memories/{memory_id}", "get_memory", "memories", summary="A memory by id"),
    Route("DELETE", "/v1/memories/{memory_id}", "forget_memory", "memories", summary="Forget a memory"),
    Route("GET", "/v1/memories/{memory_id}/readers", "memory_readers", "memories", summary="Who can see a memory"),
    Route("POST", "/v1/state", "get_state", "memories", summary="Entity state at a scope"),
    Route("POST", "/v1/profile", "profile", "memories", summary="Profile of a scope"),
    Route("POST", "/v1/reflect", "reflect", "memories", summary="Reflect at a scope"),
    # agents
    Route("POST", "/v1/agents", "register_agent", "agents", 201, "Register an agent"),
    Route("GET", "/v1/agents", "get_agents_for_user", "agents", summary="Agents of a user"),
    Route("GET", "/v1/me", "get_agent_info", "agents", summary="The key's own agent", operation_id="get_me"),
    Route("GET", "/v1/agents/{agent_id}", "get_agent_info", "agents", summary="An agent"),
    # pools
    Route("POST", "/v1/pools", "create_pool", "pools", 201, "Create a pool"),
    Route("GET", "/v1/pools", "list_pools", "pools", summary="Pools you may look at"),
    Route("GET", "/v1/pools/{pool_id}/members", "pool_members", "pools", summary="A pool's members"),
    Route("POST", "/v1/pools/{pool_id}/members", "join_pool", "pools", 201, "Join or admit a member"),
    Route("DELETE", "/v1/pools/{pool_id}/members/{agent_id}", "leave_pool", "pools", summary="Leave or remove"),
    Route("POST", "/v1/pools/{pool_id}/shares", "share_memory_to_scope", "pools", 201, "Share a memory"),
    Route("GET", "/v1/pools/{pool_id}/shares", "query_shared", "pools", summary="Shared memories"),
    # handoffs
    Route("POST", "/v1/handoffs", "initiate_handoff", "handoffs", 201, "Hand a task to another agent"),
    Route("GET", "/v1/handoffs", "list_handoffs", "handoffs", summary="Your handoffs, newest first"),
    Route("GET", "/v1/handoffs/pending", "get_pending_handoffs", "handoffs", summary="Pending handoffs"),
    Route("GET", "/v1/handoffs/{handoff_id}", "get_handoff", "handoffs", summary="A handoff"),
    Route("GET", "/v1/handoffs/{handoff_id}/timeline", "handoff_timeline", "handoffs", summary="What happened to it"),
    Route("POST", "/v1/handoffs/{handoff_id}/accept", "accept_handoff", "handoffs", summary="Accept"),
    Route("POST", "/v1/handoffs/{handoff_id}/reject", "reject_handoff", "handoffs", summary="Reject"),
    Route("POST", "/v1/handoffs/{handoff_id}/complete", "complete_handoff", "handoffs", summary="Complete"),
    Route("POST", "/v1/handoffs/{handoff_id}/cancel", "cancel_handoff", "handoffs", summary="Cancel"),
    # knowledge bases
    Route("POST", "/v1/kb/code/search", "search_code_kb", "kb", summary="Search code"),
    Route("POST", "/v1/kb/decisions/search", "search_decisions", "kb", summary="Search decisions"),
    Route("POST", "/v1/kb/incidents/search", "search_incidents", "kb", summary="Search incidents"),
    # audit (HUMAN agents)
    Route("POST", "/v1/audit/query", "audit_query", "audit", summary="Query the audit log"),
    Route("GET", "/v1/audit/verify", "audit_verify", "audit", summary="Verify the audit chain"),
    # the console's overview (/console is a client of these routes)
    Route("GET", "/v1/overview", "overview", "console", summary="Counts, health and the audit chain"),
)
"""Every endpoint but ``GET /v1/events`` (Server-Sent Events, :mod:`.events`)."""
