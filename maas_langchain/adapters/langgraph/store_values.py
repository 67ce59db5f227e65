"""Pure helpers of :mod:`maas_langchain.adapters.langgraph.store`: checking namespaces, keys and values,
JSON and vector encoding, and LangGraph's filter and namespace-matching semantics.

The filter semantics are :class:`~langgraph.store.memory.InMemoryStore`'s (Python equality,
``$eq/$ne/$gt/$gte/$lt/$lte``, nested dicts, lists element-wise), except that a range
operator on a missing or non-numeric value does not match instead of raising ``TypeError``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from langgraph.store.base import InvalidNamespaceError, MatchCondition

from maas_langchain.errors import InvalidInputError

_orjson: Any
try:  # orjson ships with langgraph (through langgraph-sdk); json is the fallback
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

__all__ = [
    "DEFAULT_MAX_VALUE_BYTES",
    "InvalidStoreNamespaceError",
    "check_key",
    "check_namespace",
    "check_labels",
    "decode_value",
    "decode_vector",
    "encode_value",
    "encode_vector",
    "matches_filter",
    "matches_conditions",
    "string_equalities",
    "to_datetime",
]

_FIELD = re.compile(r"[A-Za-z0-9_]+")

DEFAULT_MAX_VALUE_BYTES = 1_048_576
"""Largest value ``MaaSStore`` accepts, as compact UTF-8 JSON (1 MiB; configurable)."""


class InvalidStoreNamespaceError(InvalidInputError, InvalidNamespaceError):
    """A namespace LangGraph rejects: both LangGraph's ``InvalidNamespaceError`` (a
    ``ValueError``) and MaaS's ``InvalidInputError`` (code ``invalid_input``)."""


def check_labels(namespace: Any) -> tuple[str, ...]:
    """Apply ``langgraph.store.base._validate_namespace_labels``: every label a non-empty
    string without ``"."`` or NUL. Returns the namespace as a tuple.

    Raises:
        InvalidStoreNamespaceError: A label LangGraph rejects.
    """
    if type(namespace) is tuple and namespace and all(type(label) is str and label for label in namespace):
        joined = ".".join(namespace)  # the usual case, checked at once
        if joined.count(".") == len(namespace) - 1 and "\x00" not in joined and joined.isascii():
            return namespace
    if not isinstance(namespace, tuple):
        if isinstance(namespace, str) or not isinstance(namespace, Sequence):
            raise InvalidStoreNamespaceError(f"a namespace is a tuple of strings, got {type(namespace).__name__}")
        namespace = tuple(namespace)
    checked: tuple[str, ...] = namespace
    for label in checked:
        if not isinstance(label, str):
            raise InvalidStoreNamespaceError(
                f"Invalid namespace label '{label}' found in {namespace}. Namespace labels"
                f" must be strings, but got {type(label).__name__}."
            )
        if "." in label:
            raise InvalidStoreNamespaceError(
                f"Invalid namespace label '{label}' found in {namespace}. Namespace labels cannot contain periods ('.')."
            )
        if "\x00" in label:
            raise InvalidStoreNamespaceError(
                f"Invalid namespace label '{label}' found in {namespace}. Namespace labels cannot contain NUL bytes."
            )
        if not label:
            raise InvalidStoreNamespaceError(f"Namespace labels cannot be empty strings. Got {label} in {namespace}")
        _utf8(label, "a namespace label")
    return checked


def check_namespace(namespace: Any) -> tuple[str, ...]:
    """Apply ``langgraph.store.base._validate_namespace`` (the rules for a put): non-empty,
    valid labels, root label not ``"langgraph"``."""
    if not namespace:
        raise InvalidStoreNamespaceError("Namespace cannot be empty.")
    checked = check_labels(namespace)
    if checked[0] == "langgraph":
        raise InvalidStoreNamespaceError(f'Root label for namespace cannot be "langgraph". Got: {checked}')
    return checked


def check_key(key: Any) -> str:
    """A key is a string without NUL (PostgreSQL text cannot hold one) and valid UTF-8."""
    if type(key) is str and key.isascii() and "\x00" not in key:  # the usual case, checked at once
        return key
    if not isinstance(key, str):
        raise InvalidInputError(f"a store key must be a string, got {type(key).__name__}", field="key")
    if "\x00" in key:
        raise InvalidInputError("a store key cannot contain NUL bytes", field="key")
    return _utf8(key, "a store key")


def _utf8(text: str, what: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(f"{what} must be valid Unicode text (no lone surrogates)") from None
    return text


def _non_finite(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


def encode_value(value: Any, max_bytes: int = DEFAULT_MAX_VALUE_BYTES) -> str:
    """The JSON text of a store value.

    Raises:
        InvalidInputError: Not a mapping, not JSON (non-string keys, NaN, objects), or larger
            than ``max_bytes``.
    """
    if type(value) is not dict and not isinstance(value, Mapping):
        raise InvalidInputError(f"a store value must be a dict of JSON data, got {type(value).__name__}", field="value")
    data = value if type(value) is dict else dict(value)
    try:
        raw: bytes
        if _orjson is not None:
            raw = _orjson.dumps(data)
            if b"null" in raw and _non_finite(data):
                raise ValueError("Out of range float values are not JSON compliant")
        else:  # pragma: no cover
            raw = json.dumps(data, allow_nan=False, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInputError(f"a store value must be JSON data: {exc}", field="value") from None
    if len(raw) > max_bytes:
        raise InvalidInputError(
            f"the value is {len(raw)} bytes as JSON; this store accepts at most {max_bytes} "
            "(MaaSStore(max_value_bytes=...))",
            field="value",
            limit=max_bytes,
        )
    text: str = raw.decode("utf-8")
    return text


def decode_value(text: str) -> dict[str, Any]:
    """Inverse of :func:`encode_value` (a fresh dict every call)."""
    if _orjson is not None:
        return _orjson.loads(text)  # type: ignore[no-any-return]
    return json.loads(text)  # type: ignore[no-any-return]  # pragma: no cover


def encode_vector(vector: Sequence[float]) -> bytes:
    """A vector as little-endian float64 bytes (exact, so scores match InMemoryStore's)."""
    return np.asarray(vector, dtype="<f8").tobytes()


def decode_vector(blob: bytes) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Inverse of :func:`encode_vector`."""
    return np.frombuffer(blob, dtype="<f8")


def to_datetime(seconds: float) -> datetime:
    """Seconds since the epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def matches_filter(value: Mapping[str, Any], flt: Mapping[str, Any] | None) -> bool:
    """Does an item's value pass a LangGraph search filter?"""
    if not flt:
        return True
    return all(_compare(value.get(key), wanted) for key, wanted in flt.items())


def string_equalities(flt: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """The parts of a filter that say "top-level field equals this string" (``{"tag": "red"}``
    or ``{"tag": {"$eq": "red"}}``), for a backend to apply first; fields of letters, digits
    and ``_`` only. What a backend does with them never changes the result: every row is
    still checked with :func:`matches_filter`."""
    found = []
    for field, wanted in (flt or {}).items():
        if isinstance(wanted, dict) and len(wanted) == 1 and "$eq" in wanted:
            wanted = wanted["$eq"]
        if type(wanted) is str and isinstance(field, str) and _FIELD.fullmatch(field):
            found.append((field, wanted))
    return tuple(found)


def _compare(item_value: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):
        if any(isinstance(k, str) and k.startswith("$") for k in wanted):
            return all(_operator(item_value, op, operand) for op, operand in wanted.items())
        if not isinstance(item_value, dict):
            return False
        return all(_compare(item_value.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, (list, tuple)):
        return (
            isinstance(item_value, (list, tuple))
            and len(item_value) == len(wanted)
            and all(_compare(a, b) for a, b in zip(item_value, wanted, strict=True))
        )
    return bool(item_value == wanted)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _operator(value: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return bool(value == operand)
    if op == "$ne":
        return bool(value != operand)
    if op not in ("$gt", "$gte", "$lt", "$lte"):
        raise InvalidInputError(
            f"unsupported filter operator {op!r}; use $eq, $ne, $gt, $gte, $lt or $lte", field="filter"
        )
    left, right = _number(value), _number(operand)
    if left is None or right is None:
        return False
    if op == "$gt":
        return left > right
    if op == "$gte":
        return left >= right
    if op == "$lt":
        return left < right
    return left <= right


def matches_conditions(namespace: tuple[str, ...], conditions: Sequence[MatchCondition] | None) -> bool:
    """LangGraph's namespace matching: prefix / suffix paths where ``"*"`` matches any label."""
    for condition in conditions or ():
        path = tuple(condition.path)
        if len(namespace) < len(path):
            return False
        if condition.match_type == "prefix":
            pairs = zip(namespace, path, strict=False)
        elif condition.match_type == "suffix":
            pairs = zip(reversed(namespace), reversed(path), strict=False)
        else:
            raise InvalidInputError(f"unsupported match type {condition.match_type!r}; use prefix or suffix")
        if any(p != "*" and k != p for k, p in pairs):
            return False
    return True
