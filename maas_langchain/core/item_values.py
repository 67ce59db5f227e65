"""Store item values: JSON and vector encoding, and the filter and namespace-matching semantics
of the item service (:mod:`maas_langchain.core.items`).

JSON goes through the standard library unless an adapter installs a faster codec with
:func:`use_fast_json` (the LangGraph adapter installs orjson, which LangGraph ships); core itself
depends on nothing but the standard library and numpy.

The filter semantics are :class:`~langgraph.store.memory.InMemoryStore`'s (Python equality,
``$eq/$ne/$gt/$gte/$lt/$lte``, nested dicts, lists element-wise), except that a range
operator on a missing or non-numeric value does not match instead of raising ``TypeError``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from maas_langchain.errors import InvalidInputError

_fast_loads: Callable[[str], Any] | None = None
_fast_dumps: Callable[[Any], bytes] | None = None


def use_fast_json(loads: Callable[[str], Any], dumps: Callable[[Any], bytes]) -> None:
    """Install a faster JSON codec (``orjson.loads`` / ``orjson.dumps``) for item values. Its
    output must be compact JSON that ``json.loads`` reads back to the same data."""
    global _fast_loads, _fast_dumps
    _fast_loads, _fast_dumps = loads, dumps


__all__ = [
    "DEFAULT_MAX_VALUE_BYTES",
    "decode_value",
    "decode_vector",
    "encode_value",
    "encode_vector",
    "matches_filter",
    "matches_conditions",
    "string_equalities",
    "to_datetime",
    "use_fast_json",
]

_FIELD = re.compile(r"[A-Za-z0-9_]+")

DEFAULT_MAX_VALUE_BYTES = 1_048_576
"""Largest value ``MaaSStore`` accepts, as compact UTF-8 JSON (1 MiB; configurable)."""


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
        if _fast_dumps is not None:
            raw = _fast_dumps(data)
            if b"null" in raw and _non_finite(data):
                raise ValueError("Out of range float values are not JSON compliant")
        else:
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
    if _fast_loads is not None:
        return _fast_loads(text)  # type: ignore[no-any-return]
    return json.loads(text)  # type: ignore[no-any-return]


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
    still checked with :func:`matches_filter`.

    A string holding NUL is left to that check: PostgreSQL text cannot carry it (the query
    would fail) and SQLite's JSON functions compare it wrongly (a stored match is missed),
    while a stored value may hold one (JSON escapes it as ``\\u0000``)."""
    found = []
    for field, wanted in (flt or {}).items():
        if isinstance(wanted, dict) and len(wanted) == 1 and "$eq" in wanted:
            wanted = wanted["$eq"]
        if type(wanted) is str and "\x00" not in wanted and isinstance(field, str) and _FIELD.fullmatch(field):
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


def matches_conditions(namespace: tuple[str, ...], conditions: Sequence[Any] | None) -> bool:
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
