"""Reads sent ahead: a write transaction's first reads travel with its ``BEGIN`` and locks.

The core declares the reads an operation is about to make (``StateTx.prefetch``: calls of the
transaction's own getters). :class:`Ahead` runs each of them once in *capture* mode, where the
getter's first statement is recorded instead of run (:class:`Captured` stops the getter there),
and the session sends the recorded ``SELECT`` statements in the same pipelined batch as ``BEGIN``
and the locks, so the transaction's first round trip carries them all. When the operation then
makes the reads for real, each statement is answered from its batch result (:meth:`Ahead.take`),
once; the first statement that is not a ``SELECT``, or any statement sent on the transaction's
cursor directly (:meth:`Ahead.drop`), drops whatever is left, so nothing read ahead is ever served
after the transaction has written. A getter whose first statement is not a
``SELECT``, or that raises before reaching one, is simply not sent ahead.

The statements run after the locks in the same transaction, so a read answered from the batch
sees what it would have seen had it run at its own place: what the locks guard cannot change in
between, and the transaction has not written yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["Ahead", "Captured", "Rows", "Statement"]

Statement = tuple[str, tuple[Any, ...]]


class Captured(Exception):
    """A getter's first statement was recorded instead of run (capture mode)."""


class Rows:
    """A statement's result from the batch, served through the cursor calls its getter makes.

    Args:
        rows: The rows the statement returned.
        rowcount: The cursor's row count.
    """

    def __init__(self, rows: Sequence[Any], rowcount: int) -> None:
        self._rows = list(rows)
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        """The next row, or ``None``."""
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        """The rows not yet fetched."""
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Any:
        return iter(self.fetchall())


def _key(sql: str, params: tuple[Any, ...]) -> tuple[str, str]:
    return sql, repr(params)  # parameters are str, numbers, None, or lists of them


class Ahead:
    """One transaction's reads sent ahead (module docstring)."""

    def __init__(self) -> None:
        self.capturing: list[Statement] | None = None
        self._ready: dict[tuple[str, str], list[Rows]] = {}

    def capture(self, reads: Iterable[Callable[[], object]]) -> list[Statement]:
        """Run each read in capture mode; return the ``SELECT`` statements they would begin with."""
        found: list[Statement] = []
        for read in reads:
            self.capturing = []
            try:
                read()
            except Exception:  # Captured, or an error the real call raises again in its place
                pass
            finally:
                found.extend(self.capturing)
                self.capturing = None
        return found

    def record(self, sql: str, params: tuple[Any, ...]) -> None:
        """Capture mode: note ``sql`` if it is a read, and stop the getter (raises :class:`Captured`)."""
        assert self.capturing is not None
        if sql.lstrip()[:6].upper() == "SELECT":
            self.capturing.append((sql, params))
        raise Captured(sql)

    def fill(self, statements: Sequence[Statement], results: Sequence[Rows]) -> None:
        """Keep the batch's results, one per statement, to answer the reads."""
        for (sql, params), rows in zip(statements, results, strict=True):
            self._ready.setdefault(_key(sql, params), []).append(rows)

    def drop(self) -> None:
        """Forget every answer left (a statement this bookkeeping did not see was sent)."""
        self._ready.clear()

    def take(self, sql: str, params: tuple[Any, ...]) -> Rows | None:
        """The batch's answer to this statement, once; ``None``: run it. A statement that is not
        a ``SELECT`` drops every answer left."""
        if not self._ready:
            return None
        if sql.lstrip()[:6].upper() != "SELECT":
            self._ready.clear()
            return None
        key = _key(sql, params)
        waiting = self._ready.get(key)
        if not waiting:
            return None
        rows = waiting.pop(0)
        if not waiting:
            del self._ready[key]
        return rows
