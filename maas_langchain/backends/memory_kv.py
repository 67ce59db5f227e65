"""In-memory reference for LangGraph store items (namespaces, keys, JSON values, TTL, vectors), mixed into the in-memory transaction.

Items live per namespace in insertion order, namespaces in creation order, so a scan walks them
in the order the SQL backends sort by. Rows are immutable; every change records its inverse.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast

from maas_langchain.core.ports.kv import KVPut, KVQuery, KVRow, split_namespace

__all__ = ["KVTables", "MemoryKVOps"]


class KVTables:
    """The kv tables: namespaces by text and id, items per namespace, vectors per item."""

    def __init__(self) -> None:
        self.ns_ids: dict[str, int] = {}
        self.items: dict[int, dict[str, KVRow]] = {}  # ns_id -> key -> row, both in creation order
        self.vectors: dict[tuple[int, str], list[list[Any]]] = {}  # [vec_id, blob, dirty]
        self.next_item = 0
        self.next_vec = 0
        self.version = 0
        self.readers: dict[str, float] = {}  # caching reader -> expires_at
        self.writers: dict[tuple[int, str], str | None] = {}  # (ns_id, key) -> who wrote it last


def _equals(row: KVRow, pairs: tuple[tuple[str, str], ...]) -> bool:
    value = json.loads(row.value)
    return all(value.get(field) == text for field, text in pairs)


def _prefix_ok(ns: str, prefix: str | None) -> bool:
    return prefix is None or ns == prefix or ns.startswith(prefix + ".")


class MemoryKVOps:
    """KVOps on plain dicts; keep tables in ``self.t.extra`` and record undo steps with ``_put``/``_pop``."""

    undo: list[Callable[[], None]]

    @property
    def _kv(self) -> KVTables:
        extra: dict[str, Any] = cast(Any, self).t.extra
        tables = extra.get("kv")
        if tables is None:
            tables = extra["kv"] = KVTables()
        return cast(KVTables, tables)

    def _readable(self, ns: str, query: KVQuery) -> bool:
        if not _prefix_ok(ns, query.prefix):
            return False
        readers = query.readers
        if readers is None:
            return True
        labels = split_namespace(ns)
        return len(labels) >= 2 and readers.admits(labels, _MemberOf(cast(Any, self).t.members, readers.agent_id))

    @staticmethod
    def _alive(row: KVRow, alive_at: float | None) -> bool:
        return alive_at is None or row.expires_at is None or row.expires_at > alive_at

    def _rows(self, query: KVQuery) -> Iterator[KVRow]:
        kv = self._kv
        for ns, ns_id in kv.ns_ids.items():
            if self._readable(ns, query):
                rows = (r for r in kv.items.get(ns_id, {}).values() if self._alive(r, query.alive_at))
                yield from (r for r in rows if _equals(r, query.equals)) if query.equals else rows

    def _set(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        had, old = key in table, table.get(key)
        table[key] = value
        self.undo.append(lambda: table.__setitem__(key, old) if had else table.pop(key, None))

    def _drop(self, table: dict[Any, Any], key: Any) -> None:
        if key in table:
            old = table.pop(key)
            self.undo.append(lambda: table.__setitem__(key, old))

    def _bump(self, kv: KVTables) -> None:
        kv.version += 1
        self.undo.append(lambda: setattr(kv, "version", kv.version - 1))

    def kv_version(self) -> int:
        return self._kv.version

    def kv_register_reader(self, reader_id: str, expires_at: float, prune_before: float) -> None:
        kv = self._kv
        for other, until in list(kv.readers.items()):
            if until < prune_before:
                self._drop(kv.readers, other)
        self._set(kv.readers, reader_id, expires_at)

    def kv_unregister_reader(self, reader_id: str) -> None:
        self._drop(self._kv.readers, reader_id)

    def kv_get(self, ns: str, keys: Sequence[str], alive_at: float | None) -> list[KVRow]:
        kv = self._kv
        rows = kv.items.get(kv.ns_ids.get(ns, -1), {})
        return [r for k in dict.fromkeys(keys) if (r := rows.get(k)) is not None and self._alive(r, alive_at)]

    def _namespace(self, kv: KVTables, ns: str) -> int:
        ns_id = kv.ns_ids.get(ns)
        if ns_id is None:
            ns_id = len(kv.ns_ids) + 1
            self._set(kv.ns_ids, ns, ns_id)
            self._set(kv.items, ns_id, {})
        return ns_id

    def kv_put(
        self,
        puts: Sequence[KVPut],
        now: float,
        known: Mapping[str, int] | None = None,
        *,
        exclude_reader: str | None = None,
        live_after: float = 0.0,
    ) -> tuple[dict[str, int], int | None]:
        kv = self._kv
        for p in puts:
            if p.value is None and p.ns not in kv.ns_ids:
                continue
            ns_id = self._namespace(kv, p.ns)
            self._drop(kv.vectors, (ns_id, p.key))
            if p.value is None:
                self._drop(kv.items[ns_id], p.key)
                self._drop(kv.writers, (ns_id, p.key))
                continue
            self._set(kv.writers, (ns_id, p.key), p.writer)
            old = kv.items[ns_id].get(p.key)
            if old is None:
                kv.next_item += 1
            expires = None if p.ttl_minutes is None else now + p.ttl_minutes * 60.0
            item_id = kv.next_item if old is None else old.item_id
            self._set(kv.items[ns_id], p.key, KVRow(item_id, p.ns, p.key, p.value, now, now, expires, p.ttl_minutes))
            if p.vectors:
                stored = []
                for _path, blob in p.vectors:
                    kv.next_vec += 1
                    stored.append([kv.next_vec, blob, True])
                self._set(kv.vectors, (ns_id, p.key), stored)
        ids = {p.ns: kv.ns_ids[p.ns] for p in puts if p.ns in kv.ns_ids}
        if not any(r != exclude_reader and until > live_after for r, until in kv.readers.items()):
            return ids, None
        self._bump(kv)
        return ids, kv.version

    def kv_scan(self, query: KVQuery, limit: int | None = None, offset: int = 0) -> list[KVRow]:
        found = []
        stop = None if limit is None else offset + limit
        for row in self._rows(query):
            found.append(row)
            if stop is not None and len(found) >= stop:
                break
        return found[offset:]

    def kv_count(self, query: KVQuery, cap: int) -> int:
        count = 0
        for _ in self._rows(query):
            count += 1
            if count >= cap:
                break
        return count

    def kv_scan_vectors(self, query: KVQuery) -> list[tuple[int, bytes]]:
        kv = self._kv
        found = []
        for row in self._rows(query):
            for entry in kv.vectors.get((kv.ns_ids[row.ns], row.key), ()):
                found.append((row.item_id, entry[1]))
        return found

    def kv_rows_for_vectors(self, vec_ids: Sequence[int], query: KVQuery) -> list[tuple[int, KVRow, bytes]]:
        wanted = set(vec_ids)
        kv = self._kv
        found = []
        for row in self._rows(query):
            for entry in kv.vectors.get((kv.ns_ids[row.ns], row.key), ()):
                if entry[0] in wanted:
                    found.append((entry[0], row, entry[1]))
        return found

    def kv_namespaces(self, query: KVQuery) -> list[str]:
        kv = self._kv
        return [
            ns
            for ns, ns_id in kv.ns_ids.items()
            if self._readable(ns, query) and any(self._alive(r, query.alive_at) for r in kv.items[ns_id].values())
        ]

    def kv_refresh(self, item_ids: Sequence[int], now: float) -> None:
        wanted = set(item_ids)
        kv = self._kv
        for rows in kv.items.values():
            for key, row in list(rows.items()):
                if row.item_id in wanted and row.ttl_minutes is not None:
                    self._set(rows, key, dataclasses.replace(row, expires_at=now + row.ttl_minutes * 60.0))

    def kv_usage(self, ns: str, keys: Sequence[str]) -> dict[str, tuple[str | None, int]]:
        kv = self._kv
        ns_id = kv.ns_ids.get(ns, -1)
        rows = kv.items.get(ns_id, {})
        return {k: (kv.writers.get((ns_id, k)), len(r.value)) for k in keys if (r := rows.get(k)) is not None}

    def kv_writer_usage(self, writer: str) -> tuple[int, int]:
        kv = self._kv
        count = size = 0
        for (ns_id, key), who in kv.writers.items():
            row = kv.items.get(ns_id, {}).get(key)
            if who == writer and row is not None:
                count, size = count + 1, size + len(row.value)
        return count, size

    def kv_sweep(self, now: float, limit: int) -> int:
        kv = self._kv
        expired = [
            (ns_id, key)
            for ns_id, rows in kv.items.items()
            for key, row in rows.items()
            if row.expires_at is not None and row.expires_at <= now
        ][:limit]
        for ns_id, key in expired:
            self._drop(kv.writers, (ns_id, key))
            self._drop(kv.vectors, (ns_id, key))
            self._drop(kv.items[ns_id], key)
        if expired:
            self._bump(kv)
        return len(expired)

    def kv_dirty_vectors(self, limit: int) -> list[tuple[int, str, bytes]]:
        kv = self._kv
        names = {ns_id: ns for ns, ns_id in kv.ns_ids.items()}
        found = [(e[0], names[ns_id], e[1]) for (ns_id, _), entries in kv.vectors.items() for e in entries if e[2]]
        return sorted(found)[:limit]

    def kv_mark_indexed(self, vec_ids: Sequence[int]) -> None:
        wanted = set(vec_ids)
        for entries in self._kv.vectors.values():
            for entry in entries:
                if entry[0] in wanted:
                    entry[2] = False


class _MemberOf:
    """The pools an agent is a member of, as a container over the membership table (O(1) each)."""

    def __init__(self, members: Any, agent_id: str) -> None:
        self._members, self._agent_id = members, agent_id

    def __contains__(self, pool_id: object) -> bool:
        return (pool_id, self._agent_id) in self._members
