"""Translating the port's :data:`~maas_langchain.core.ports.vectors.Where` trees into Chroma ``where``
dicts: pure functions, no Chroma import.

Chroma's filter language has sharp edges that the translation hides (all verified on 1.5.9):
one operator per dict; ``$and``/``$or`` need two operands or more; ``$in`` takes a non-empty list
of one type; ``$ne``/``$nin`` also match rows that lack the field; and an integer field is
compared with a fractional operand after truncating the operand (``n >= 1.5`` matches ``n = 1``,
``n == 1.5`` matches ``n = 1``). The results agree with
:func:`~maas_langchain.core.ports.vectors.where_matches` row for row (``tests/test_vectors.py`` checks
this on random trees).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from maas_langchain.core.ports.vectors import And, Contains, Eq, Gte, Or, Where

__all__ = ["ChromaWhere", "chroma_where"]

ChromaWhere = dict[str, Any]
"""A Chroma ``where`` dict."""


def chroma_where(where: Where | None) -> ChromaWhere | Literal[False] | None:
    """Translate a :data:`~maas_langchain.core.ports.vectors.Where` tree into Chroma's ``where``.

    Returns ``None`` when every row matches (no filter) and ``False`` when no row can match
    (an empty ``Or`` or ``In``: the caller answers ``[]`` without asking Chroma). The result
    follows Chroma's rules: one operator per dict, ``$and``/``$or`` with two operands or more,
    ``$in`` lists of one type. Chroma compares an integer field with a fractional operand after
    truncating the operand (``n >= 1.5`` matches ``n = 1``), so fractional operands are rewritten
    into exact integer bounds. ``$ne``/``$nin`` (which match rows lacking the field) appear only
    beside a leaf that requires the field.

    Example:
        >>> from maas_langchain.backends.vectors import And, Contains, Eq, Gte, In, Or
        >>> chroma_where(And([Eq("pool", "p1"), Or([In("scope", ["a", "b"]), Contains("sub", "a")])]))
        {'$and': [{'pool': {'$eq': 'p1'}}, {'$or': [{'scope': {'$in': ['a', 'b']}}, {'sub': {'$contains': 'a'}}]}]}
        >>> chroma_where(And([Gte("created", 10)])), chroma_where(And([])), chroma_where(In("scope", []))
        ({'created': {'$gte': 10}}, None, False)
    """
    if where is None:
        return None
    if isinstance(where, And):
        parts = [chroma_where(w) for w in where.operands]
        if any(p is False for p in parts):
            return False
        return _join("$and", [p for p in parts if p], empty=None)
    if isinstance(where, Or):
        parts = [chroma_where(w) for w in where.operands]
        if any(p is None for p in parts):
            return None
        return _join("$or", [p for p in parts if p], empty=False)
    if isinstance(where, Contains):
        return {where.field: {"$contains": where.value}}
    if isinstance(where, Gte):
        return _gte(where.field, where.value)
    values = [where.value] if isinstance(where, Eq) else list(where.values)
    return _one_of(where.field, values)


def _join(op: str, parts: list[ChromaWhere], *, empty: Literal[False] | None) -> ChromaWhere | Literal[False] | None:
    if not parts:
        return empty
    return parts[0] if len(parts) == 1 else {op: parts}


def _fraction(value: object) -> bool:
    return isinstance(value, float) and not value.is_integer()


def _gte(field: str, value: int | float) -> ChromaWhere:
    if not _fraction(value):
        return {field: {"$gte": value}}
    ceil, trunc = math.ceil(value), math.trunc(value)
    # integers >= ceil, or floats in [value, ceil) (the $ne drops the integer Chroma lets through)
    floats = [{field: {"$gte": value}}, {field: {"$lt": ceil}}, {field: {"$ne": trunc}}]
    return {"$or": [{field: {"$gte": ceil}}, {"$and": floats}]}


def _one_of(field: str, values: Sequence[object]) -> ChromaWhere | Literal[False]:
    """``field`` equals one of ``values`` (by kind: strings, booleans, numbers), exactly."""
    groups: dict[str, list[Any]] = {"str": [], "bool": [], "int": [], "float": [], "fraction": []}
    for value in values:
        groups[_group(value)].append(value)
    parts: list[ChromaWhere] = []
    for kind, found in groups.items():
        unique = list(dict.fromkeys(found))
        if not unique:
            continue
        leaf: ChromaWhere = {field: {"$eq": unique[0]} if len(unique) == 1 else {"$in": unique}}
        if kind == "fraction":  # Chroma would also match the integers the fractions truncate to
            leaf = {"$and": [leaf, {field: {"$nin": sorted({math.trunc(v) for v in unique})}}]}
        parts.append(leaf)
    result = _join("$or", parts, empty=False)
    assert result is not None
    return result


def _group(value: object) -> str:
    """Chroma's ``$in`` wants one type per list: which list ``value`` goes in."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "str"
    if isinstance(value, int):
        return "int"
    return "fraction" if _fraction(value) else "float"
