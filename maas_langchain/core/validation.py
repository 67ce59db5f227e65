"""Input validation shared by every service: ids, names, JSON payloads, TTLs.

Each function returns the normalised value or raises
:class:`~maas_langchain.errors.InvalidInputError` naming the field and what was wrong.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable
from typing import Any

from maas_langchain.errors import InvalidInputError

__all__ = [
    "check_id",
    "check_json",
    "check_memory_id",
    "check_non_negative",
    "check_offset",
    "check_str_list",
    "check_time",
    "is_id",
    "show_value",
    "check_optional_text",
    "check_positive_int",
    "check_text",
    "check_ttl",
    "json_size",
    "new_id",
]

_MAX_MEMORY_ID_CHARS = 512
MAX_JSON_DEPTH = 32
"""Deepest nesting accepted in metadata, handoff contexts and results."""
MAX_OFFSET = 10_000_000


def new_id() -> str:
    """Return a new random 128-bit id in canonical UUID text form."""
    return str(uuid.uuid4())


def check_id(value: Any, field: str) -> str:
    """Return ``value`` as a canonical UUID string.

    Raises:
        InvalidInputError: ``value`` is not a string holding a UUID.
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"{field} must be a UUID string, got {type(value).__name__}", field=field)
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise InvalidInputError(f"{field} is not a valid id: {value[:80]!r}", field=field) from None
    return str(parsed)


def is_id(value: Any) -> bool:
    """Whether ``value`` is a string :func:`check_id` accepts: the form of every id MaaS makes
    (memories, agents, pools, handoffs), unlike a caller's external reference (``"mem-bug-123"``)."""
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _has_control_chars(text: str) -> bool:
    return any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text)


def check_text(value: Any, field: str, max_chars: int) -> str:
    """Return ``value`` stripped; it must be a non-empty string of at most ``max_chars``.

    Raises:
        InvalidInputError: Not a string, empty, too long, or holding control characters.
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"{field} must be a string, got {type(value).__name__}", field=field)
    text = value.strip()
    if not text:
        raise InvalidInputError(f"{field} must not be empty", field=field)
    if len(text) > max_chars:
        raise InvalidInputError(
            f"{field} is {len(text)} characters; the limit is {max_chars}", field=field, limit=max_chars
        )
    if _has_control_chars(text):
        raise InvalidInputError(f"{field} contains control characters", field=field)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(f"{field} is not valid UTF-8 text", field=field) from None
    return text


def check_optional_text(value: Any, field: str, max_chars: int) -> str | None:
    """Like :func:`check_text`, but ``None`` passes through."""
    return None if value is None else check_text(value, field, max_chars)


def check_memory_id(value: Any, field: str = "memory_id") -> str:
    """Memory ids are caller-chosen strings (``"mem-api-design"``): non-empty, printable."""
    return check_text(value, field, _MAX_MEMORY_ID_CHARS)


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def check_json(value: Any, field: str, max_bytes: int, *, container: type = dict) -> Any:
    """Check that ``value`` is a JSON-ready ``container`` of at most ``max_bytes``.

    Raises:
        InvalidInputError: Wrong container type, not JSON-serialisable, NaN/inf, or too large.
    """
    if value is None:
        return container()
    if not isinstance(value, container):
        raise InvalidInputError(f"{field} must be a {container.__name__}, got {type(value).__name__}", field=field)
    _check_json_shape(value, field)
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
        encoded = text.encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise InvalidInputError(f"{field} is not JSON-serialisable UTF-8: {exc}", field=field) from None
    if len(encoded) > max_bytes:
        raise InvalidInputError(
            f"{field} is {len(encoded)} bytes as JSON; the limit is {max_bytes}", field=field, limit=max_bytes
        )
    return json.loads(text)  # the JSON form every backend stores: tuples become lists


def _check_json_shape(value: Any, field: str) -> None:
    """Iteratively check nesting depth and that every mapping key is a string."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise InvalidInputError(f"{field} is nested deeper than {MAX_JSON_DEPTH} levels", field=field)
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise InvalidInputError(f"{field} has a non-string key {key!r}; JSON keys are strings", field=field)
                stack.append((child, depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((child, depth + 1) for child in item)


def check_str_list(value: Any, field: str, max_chars: int) -> list[str]:
    """Return ``value`` as a list of non-empty strings."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInputError(f"{field} must be a list of strings", field=field)
    return [check_text(item, f"{field}[]", max_chars) for item in value]


def check_ttl(value: Any, default: float, maximum: float) -> float:
    """Return a TTL in seconds: positive, finite, at most ``maximum``; ``None`` → ``default``.

    Raises:
        InvalidInputError: Zero, negative, non-numeric, infinite or too long.
    """
    if value is None:
        return float(default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError(f"ttl_seconds must be a number, got {type(value).__name__}", field="ttl_seconds")
    if isinstance(value, int) and value > maximum:  # before isfinite: huge ints overflow a float
        raise InvalidInputError(f"ttl_seconds exceeds the maximum of {maximum}", field="ttl_seconds", limit=maximum)
    if not math.isfinite(value) or value <= 0:
        raise InvalidInputError(f"ttl_seconds must be positive, got {show_value(value)}", field="ttl_seconds")
    if value > maximum:
        raise InvalidInputError(
            f"ttl_seconds {show_value(value)} exceeds the maximum of {maximum}", field="ttl_seconds", limit=maximum
        )
    return float(value)


def check_offset(value: Any, field: str = "offset") -> int:
    """Return ``value`` if it is an int in ``0..MAX_OFFSET``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_OFFSET:
        raise InvalidInputError(
            f"{field} must be an integer between 0 and {MAX_OFFSET}, got {show_value(value)}", field=field
        )
    return value


MAX_SEQ = 2**62
"""Largest sequence position accepted (sequence numbers are 64-bit integers in every backend)."""


def check_seq(value: Any, field: str) -> int:
    """Return ``value`` if it is an int in ``0..MAX_SEQ``: a position in a sequence (an event's,
    an audit entry's or a memory's ``seq``), where ``after=`` resumes."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise InvalidInputError(
            f"{field} must be an integer between 0 and {MAX_SEQ}, got {show_value(value)}", field=field
        )
    return value


def show_value(value: Any) -> str:
    """A short, always-printable rendering of a rejected value for error messages."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**18:
        return "a very large integer"
    try:
        return repr(value)[:80]
    except Exception:
        return f"a {type(value).__name__}"


def _finite(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` if it is not a (non-bool) finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def check_time(value: Any, field: str) -> float | None:
    """Return ``value`` as seconds since the epoch (a finite number) or ``None``."""
    if value is None:
        return None
    seconds = _finite(value)
    if seconds is None:
        raise InvalidInputError(f"{field} must be seconds since the epoch, got {show_value(value)}", field=field)
    return seconds


def check_non_negative(value: Any, field: str) -> float:
    """Return ``value`` if it is a finite number >= 0."""
    number = _finite(value)
    if number is None or number < 0:
        raise InvalidInputError(f"{field} must be a non-negative number, got {show_value(value)}", field=field)
    return number


def check_positive_int(value: Any, field: str, maximum: int) -> int:
    """Return ``value`` if it is an int in ``1..maximum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{field} must be an integer, got {type(value).__name__}", field=field)
    if not 1 <= value <= maximum:
        raise InvalidInputError(f"{field} must be between 1 and {maximum}, got {show_value(value)}", field=field)
    return value
