"""The cursor helpers every SQL mixin of :class:`~maas_langchain.backends.sql.SqlTx` uses.

Declared once here so each mixin (memories, store items, threads, API keys) type-checks on its
own; :class:`~maas_langchain.backends.sql.SqlTx` implements them over one DB-API cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["SqlCursorOps"]


class SqlCursorOps:
    """``_exec/_one/_all`` run a statement (``?`` placeholders, translated by the dialect ``_d``);
    ``_bump/_counter`` move and read a row of the ``counters`` table."""

    _d: Any
    _cur: Any

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def _bump(self, name: str, delta: int) -> None:
        raise NotImplementedError

    def _counter(self, name: str) -> int:
        raise NotImplementedError
