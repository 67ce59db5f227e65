"""What every ``maas`` command prints: JSON that parses, and times people can read.

One place decides how records become JSON (``maas --json ...``): dataclasses and records with a
``to_dict``/``as_dict`` become objects, sets and frozensets sorted lists, enums their values, and
times (seconds since the epoch in a field named ``timestamp``, ``time``, ``at``, ``as_of``,
``valid_from``, ``valid_to`` or ``..._at``) ISO-8601 UTC strings to the second, such as
``"2026-12-05T23:40:14Z"``. Payloads callers wrote (``metadata``, ``current_state``, ``notes``,
``result``, ``details``, ``data``) are printed as stored: their numbers stay numbers.

Example:
    >>> from enum import Enum
    >>> class Colour(Enum):
    ...     RED = "red"
    >>> to_json({"created_at": 0.0, "tags": frozenset({Colour.RED}), "details": {"at": 1}})
    {'created_at': '1970-01-01T00:00:00Z', 'tags': ['red'], 'details': {'at': 1}}
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

__all__ = ["dumps", "iso_utc", "print_json", "to_json", "when"]

_TIME_FIELDS = frozenset({"timestamp", "time", "at", "as_of", "valid_from", "valid_to"})
_PAYLOADS = frozenset({"metadata", "current_state", "notes", "result", "details", "data"})


def iso_utc(ts: float) -> str:
    """Seconds since the epoch as ISO-8601 UTC to the second: ``2026-12-05T23:40:14Z``."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def when(ts: float | None) -> str:
    """Seconds since the epoch for a text column (UTC): ``2026-12-05 23:40:14``, ``-`` for none."""
    return "-" if ts is None else datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _is_time(key: str, value: Any) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and (key in _TIME_FIELDS or key.endswith("_at"))


def to_json(value: Any, *, times: bool = True) -> Any:
    """``value`` as plain JSON values (see the module docstring); ``times=False`` leaves
    numbers under time-like keys alone (inside caller payloads)."""
    if isinstance(value, Enum):
        return to_json(value.value, times=times)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): _field(str(k), v, times) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [to_json(v, times=times) for v in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, list | tuple):
        return [to_json(v, times=times) for v in value]
    for method in ("to_dict", "as_dict"):
        convert = getattr(value, method, None)
        if callable(convert):
            return to_json(convert(), times=times)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, times=times)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def _field(key: str, value: Any, times: bool) -> Any:
    if not times or key in _PAYLOADS:
        return to_json(value, times=False)
    if _is_time(key, value):
        return iso_utc(float(value))
    return to_json(value)


def dumps(data: Any) -> str:
    """``data`` as indented JSON text (see :func:`to_json`)."""
    return json.dumps(to_json(data), indent=2)


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON (see :func:`to_json`)."""
    print(dumps(data))
