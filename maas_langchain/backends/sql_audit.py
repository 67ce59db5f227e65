"""SQL for the audit chain (tables ``audit_log``, ``audit_head``, ``audit_keying``), mixed into
:class:`~maas_langchain.backends.sql.SqlTx`, and the check that its protections are in place.

The protections are the triggers the migrations create on the three tables (append-only log,
entries only right after the head, a head that only moves forward, a boundary sealed once).
:meth:`SqlAuditOps.audit_guards` compares what the catalog holds with what the shipped
migrations create: a trigger dropped, disabled (PostgreSQL) or redefined is reported. Someone
who can drop a trigger can also put it back after a rewrite, so this catches careless
tampering and drift, not a careful attacker (docs/audit.md says what does).
"""

from __future__ import annotations

import functools
import re
import sqlite3
from typing import Any

from maas_langchain.backends.migrations import load_migrations, split_statements
from maas_langchain.backends.sql_codec import AUDIT_COLUMNS, audit_from_row, audit_params
from maas_langchain.backends.sql_cursor import SqlCursorOps
from maas_langchain.core.ports.state import AuditQuery
from maas_langchain.core.records import AuditEvent

__all__ = ["SqlAuditOps", "expected_guards"]

_AUDIT_TABLES = ("audit_log", "audit_head", "audit_keying")
_PG_TRIGGER = re.compile(
    r"CREATE TRIGGER (\w+) (BEFORE|AFTER) (.+?) ON (?:\w+\.)?(\w+) FOR EACH (ROW|STATEMENT) "
    r"EXECUTE FUNCTION (?:\w+\.)?(\w+)\(\)",
    re.IGNORECASE,
)
_PG_FUNCTION = re.compile(
    r"CREATE (?:OR REPLACE )?FUNCTION (\w+)\(\) RETURNS trigger LANGUAGE plpgsql AS \$\$(.*?)\$\$", re.DOTALL
)


def _norm(text: str) -> str:
    return " ".join(text.split()).rstrip(";").strip()


@functools.cache
def expected_guards(dialect: str) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """What the shipped migrations create on the audit tables: ``{trigger: (table, definition)}``
    and (PostgreSQL) ``{function: body}``, whitespace-normalised."""
    triggers: dict[str, tuple[str, str]] = {}
    functions: dict[str, str] = {}
    for migration in load_migrations(dialect):
        if dialect == "postgres":
            text = _norm(migration.sql.replace("\n", " "))
            for match in _PG_TRIGGER.finditer(text):
                if match.group(4) in _AUDIT_TABLES:
                    triggers[match.group(1)] = (match.group(4), _trigger_signature(match))
            functions.update((m.group(1), _norm(m.group(2))) for m in _PG_FUNCTION.finditer(migration.sql))
            continue
        for statement in split_statements(migration.sql, sqlite3.complete_statement):
            found = re.match(r"CREATE TRIGGER (\w+) .*? ON (\w+)", _norm(statement), re.IGNORECASE)
            if found and found.group(2) in _AUDIT_TABLES:
                triggers[found.group(1)] = (found.group(2), _norm(statement))
    used = {sig.rsplit(" ", 1)[-1] for _, sig in triggers.values()} if dialect == "postgres" else set()
    return triggers, {name: body for name, body in functions.items() if name in used}


def _trigger_signature(match: re.Match[str]) -> str:
    events = " OR ".join(sorted(e.strip().upper() for e in match.group(3).split(" OR ")))
    return f"{match.group(2).upper()} {events} FOR EACH {match.group(5).upper()} {match.group(6)}"


class SqlAuditOps(SqlCursorOps):
    """The audit part of StateTx as SQL; needs ``_exec/_one/_all/_d`` from
    :class:`~maas_langchain.backends.sql.SqlTx`."""

    def lock_audit_head(self) -> tuple[int, str]:
        row = self._one(f"SELECT seq, hash FROM audit_head WHERE id = 1{self._d.for_update}")
        return int(row[0]), str(row[1])

    def append_audit(self, event: AuditEvent) -> None:
        self._exec(
            f"INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", audit_params(event)
        )
        self._exec("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (event.seq, event.hash))

    def query_audit(self, query: AuditQuery) -> list[AuditEvent]:
        clauses: list[str] = ["seq > ?"]
        params: list[Any] = [query.after_seq]
        for column, value in (
            ("event_type", query.event_type and query.event_type.value),
            ("actor", query.actor),
            ("target", query.target),
            ("outcome", query.outcome),
            ("action", query.action),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if query.actors is not None:
            if not query.actors:
                return []
            clauses.append(f"actor IN ({', '.join('?' for _ in query.actors)})")
            params.extend(query.actors)
        if query.since is not None:
            clauses.append("timestamp >= ?")
            params.append(query.since)
        if query.until is not None:
            clauses.append("timestamp <= ?")
            params.append(query.until)
        order = "DESC" if query.newest_first else "ASC"
        sql = f"SELECT {AUDIT_COLUMNS} FROM audit_log WHERE {' AND '.join(clauses)} ORDER BY seq {order} LIMIT ?"
        return [audit_from_row(r) for r in self._all(sql, [*params, query.limit])]

    def count_audit(self) -> int:
        return int(self._one("SELECT seq FROM audit_head WHERE id = 1")[0])

    def audit_keying(self) -> tuple[int, str | None]:
        row = self._one("SELECT keyed_from, seal FROM audit_keying WHERE id = 1")
        if row is None:  # the row is gone (its delete trigger was dropped): nothing is legacy
            return 1, None
        return int(row[0]), None if row[1] is None else str(row[1])

    def seal_audit(self, seal: str) -> bool:
        cur = self._exec("UPDATE audit_keying SET seal = ? WHERE id = 1 AND seal IS NULL", (seal,))
        return int(cur.rowcount) == 1

    def audit_guards(self) -> list[str]:
        triggers, functions = expected_guards(self._d.name)
        if self._d.name == "postgres":
            return self._pg_guards(triggers, functions)
        rows = self._all("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        found = {str(name): (str(table), _norm(str(sql or ""))) for name, table, sql in rows}
        problems = []
        for name, (table, definition) in sorted(triggers.items()):
            if name not in found:
                problems.append(f"trigger {name} on {table} is missing (dropped)")
            elif found[name] != (table, definition):
                problems.append(f"trigger {name} on {table} differs from the one the migrations create (redefined)")
        return problems

    def _pg_guards(self, triggers: dict[str, tuple[str, str]], functions: dict[str, str]) -> list[str]:
        rows = self._all(
            "SELECT t.tgname, c.relname, t.tgenabled, pg_get_triggerdef(t.oid) FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND NOT t.tgisinternal"
        )
        found = {str(r[0]): (str(r[1]), str(r[2]), str(r[3])) for r in rows}
        bodies = dict(
            self._all(
                "SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = current_schema()"
            )
        )
        problems = []
        for name, (table, signature) in sorted(triggers.items()):
            got = found.get(name)
            match = None if got is None else _PG_TRIGGER.match(_norm(got[2]))
            if got is None:
                problems.append(f"trigger {name} on {table} is missing (dropped)")
            elif got[1] not in ("O", "A"):
                problems.append(f"trigger {name} on {table} is disabled")
            elif got[0] != table or match is None or _trigger_signature(match) != signature:
                problems.append(f"trigger {name} on {table} differs from the one the migrations create (redefined)")
        for name, body in sorted(functions.items()):
            if name not in bodies:
                problems.append(f"trigger function {name}() is missing (dropped)")
            elif _norm(str(bodies[name])) != body:
                problems.append(f"trigger function {name}() differs from the one the migrations create (redefined)")
        return problems
