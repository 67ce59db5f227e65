"""LangGraph's rules for store namespaces and keys, with LangGraph's own exception type.

Values, vectors and filter semantics live in the core item service
(:mod:`maas_langchain.core.item_values`); importing this module installs orjson (which LangGraph
ships) as its JSON codec.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.store.base import InvalidNamespaceError

from maas_langchain.core.item_values import DEFAULT_MAX_VALUE_BYTES, use_fast_json
from maas_langchain.errors import InvalidInputError

try:  # orjson ships with langgraph (through langgraph-sdk); the core falls back to json
    import orjson

    use_fast_json(orjson.loads, orjson.dumps)
except ImportError:  # pragma: no cover - depends on the environment
    pass

__all__ = [
    "DEFAULT_MAX_VALUE_BYTES",
    "InvalidStoreNamespaceError",
    "check_key",
    "check_labels",
    "check_match_path",
    "check_namespace",
    "check_op_namespace",
]


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


def check_op_namespace(namespace: Any) -> tuple[str, ...]:
    """The rules for the namespace of a ``PutOp`` handed to ``batch`` directly: valid labels
    (LangGraph's stores apply ``validate_op_namespace`` there) and not empty (a namespace is
    stored as its labels joined with ``"."``, which cannot tell ``()`` from ``("",)``).

    The root label ``"langgraph"`` is accepted, as LangGraph's own stores accept it below the
    public ``put`` (``BaseStore.put`` refuses it before building the operation, for
    ``MaaSStore`` too). It reserves nothing in MaaS: a bound view stores it in the agent's
    private space like any other namespace without a reserved root.
    """
    if not namespace:
        raise InvalidStoreNamespaceError("Namespace cannot be empty.")
    return check_labels(namespace)


def check_match_path(path: Any) -> tuple[str, ...]:
    """A ``MatchCondition``'s path as labels. LangGraph's stores read it as a sequence (their
    ``validate_op_namespace`` and matching iterate it), so a string path is the tuple of its
    characters: ``"docs"`` matches the namespace ``("d", "o", "c", "s")``, not ``("docs",)``.

    Raises:
        InvalidStoreNamespaceError: A label LangGraph rejects (:func:`check_labels`).
    """
    return check_labels(tuple(path) if isinstance(path, str) else path)


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
