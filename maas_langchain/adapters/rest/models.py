"""Response models of the REST API, for its OpenAPI document (requests use the registry's models).

Only the error shape lives here so far; success bodies are the JSON the operations return
(documented per route in docs/rest.md).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ERROR_RESPONSES", "RESPONSE_MODELS", "ErrorDetail", "ErrorResponse"]


class ErrorDetail(BaseModel):
    """What went wrong: a stable ``code`` of the error tree, a sentence, and whether a retry may succeed."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="invalid_input, permission_denied, not_found, conflict, capacity_exceeded, ...")
    message: str = Field(description="One sentence for a person; never a stack trace.")
    retryable: bool = Field(description="True when the same request may succeed later (backend_unavailable, ...).")


class ErrorResponse(BaseModel):
    """The one error shape of every refusal."""

    error: ErrorDetail


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
    503: _error("backend_unavailable: retryable"),
}
"""The error responses every operation documents."""


RESPONSE_MODELS: dict[str, type[BaseModel]] = {}
"""The success body of each operation (by registry name), where one is declared."""
