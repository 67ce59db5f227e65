"""LangGraph fidelity of ``MaaSStore`` where LangGraph's own store tests found differences (issue 19, point 8).

Each case runs the same calls against LangGraph's stores — ``InMemoryStore``, ``SqliteStore``
on a real file and ``PostgresStore`` in a PostgreSQL schema of its own (when the server is
reachable) — and against ``MaaSStore`` on each backend (in memory, a real SQLite file, a real
PostgreSQL schema), and compares with what the references answer, not with a written-down
belief:

(a) a NUL in a filter value: no error, the answer of InMemoryStore (``[]`` when nothing holds
    that string; the items that do hold it otherwise — a NUL-free equality is handed to the
    database, a NUL one is left to the exact check in Python);
(b) a raw ``batch([PutOp(("langgraph", ...), ...)])`` is accepted, as by LangGraph's stores;
    the public ``put`` still refuses the root;
(c) a ``MatchCondition`` whose path is a string reads it as LangGraph's stores do: the tuple
    of its characters.

Bound views keep their rights: what (a) to (c) open never reaches another agent's space or a pool
the agent is not a member of.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import drop_postgres_schemas, postgres_unavailable, postgres_url
from langgraph.store.base import (
    BaseStore,
    InvalidNamespaceError,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchOp,
)
from langgraph.store.memory import InMemoryStore
from langgraph.store.sqlite import SqliteStore

from maas_langchain import AgentType, MaaS, PermissionModel
from maas_langchain.errors import PermissionDeniedError

NUL = "a\x00b"


@pytest.fixture
def references(tmp_path: Path) -> Iterator[dict[str, BaseStore]]:
    """LangGraph's stores: in memory, SQLite on a file, PostgreSQL in a schema of their own."""
    stores: dict[str, BaseStore] = {"InMemoryStore": InMemoryStore()}
    conn = sqlite3.connect(tmp_path / "langgraph-store.db", check_same_thread=False, isolation_level=None)
    sqlite_store = SqliteStore(conn)
    sqlite_store.setup()
    stores["SqliteStore"] = sqlite_store
    pg_conn = None
    if postgres_unavailable() is None:
        import psycopg
        from langgraph.store.postgres import PostgresStore
        from psycopg.rows import dict_row

        url = postgres_url(tmp_path / "reference")
        pg_conn = psycopg.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row)
        pg_store = PostgresStore(pg_conn)
        pg_store.setup()
        stores["PostgresStore"] = pg_store
    yield stores
    conn.close()
    if pg_conn is not None:
        pg_conn.close()
        drop_postgres_schemas(tmp_path / "reference")


def outcome(call: Callable[[BaseStore], Any], store: BaseStore) -> tuple[str, Any]:
    """``("ok", result normalised)`` or ``("raises", exception type)``: comparable across stores."""
    try:
        return "ok", _plain(call(store))
    except Exception as exc:
        return "raises", type(exc).__name__


def _plain(result: Any) -> Any:
    if isinstance(result, list):
        return [_plain(r) for r in result]
    if hasattr(result, "key") and hasattr(result, "value"):  # Item / SearchItem: no timestamps
        return (tuple(result.namespace), result.key, result.value)
    if isinstance(result, tuple):
        return tuple(result)
    return result


def seed(store: BaseStore) -> None:
    store.put(("docs",), "a", {"t": "x", "n": {"t": "y"}})
    store.put(("d", "o", "c", "s"), "b", {"t": "x"})
    store.put(("docs", "sub"), "c", {"t": "z"})


# --- (a) NUL in a filter value ---------------------------------------------------------------
NUL_FILTERS = [
    {"t": NUL},
    {"t": {"$eq": NUL}},
    {"t": {"$ne": NUL}},
    {"n": {"t": NUL}},
    {"t": [NUL]},
]


@pytest.mark.parametrize("flt", NUL_FILTERS, ids=["eq", "$eq", "$ne", "nested", "list"])
def test_a_nul_in_a_filter_value_answers_like_inmemory_and_sqlite_store(
    maas: MaaS, references: dict[str, BaseStore], flt: dict[str, Any]
) -> None:
    store = maas.store()
    for s in (store, *references.values()):
        seed(s)

    def search(s: BaseStore) -> Any:  # items put within one clock tick have no defined order: sort
        return sorted(s.search(("docs",), filter=flt), key=lambda item: (tuple(item.namespace), item.key))

    expected = outcome(search, references["InMemoryStore"])
    assert expected[0] == "ok"
    sqlite_store = outcome(search, references["SqliteStore"])
    assert sqlite_store in (expected, ("raises", "ValueError"))  # SqliteStore takes no nested/list filter
    assert outcome(search, store) == expected


def test_a_stored_nul_string_is_found_by_an_equal_filter(maas: MaaS) -> None:
    """PostgresStore cannot store it and SqliteStore's JSON comparison misses it; MaaSStore
    answers as InMemoryStore (docs/store.md, "Where LangGraph's stores disagree")."""
    store, reference = maas.store(), InMemoryStore()
    for s in (store, reference):
        seed(s)
        s.put(("docs",), "nul", {"t": NUL, "n": {"t": NUL}})
    for flt in [*NUL_FILTERS, {"t": NUL, "n": {"t": NUL}}]:

        def search(s: BaseStore, flt: dict[str, Any] = flt) -> Any:
            return s.search(("docs",), filter=flt)

        assert outcome(search, store) == outcome(search, reference), flt
    assert [i.key for i in store.search(("docs",), filter={"t": NUL})] == ["nul"]


# --- (b) a raw PutOp under the "langgraph" root ----------------------------------------------
def test_b_a_raw_put_op_under_the_langgraph_root_is_accepted_as_by_langgraph(
    maas: MaaS, references: dict[str, BaseStore]
) -> None:
    store = maas.store()
    calls: list[Callable[[BaseStore], Any]] = [
        lambda s: s.batch([PutOp(("langgraph", "x"), "k", {"v": 1})]),
        lambda s: s.get(("langgraph", "x"), "k"),
        lambda s: s.search(("langgraph",)),
        lambda s: s.list_namespaces(prefix=("langgraph",)),
        lambda s: s.batch([PutOp(("langgraph", "x"), "k", None)]),  # a delete
        lambda s: s.get(("langgraph", "x"), "k"),
        lambda s: s.put(("langgraph", "x"), "k", {"v": 2}),  # the public put still refuses it
        lambda s: s.search(("langgraph",)),
    ]
    for call in calls:
        expected = {name: outcome(call, ref) for name, ref in references.items()}
        assert len(set(map(repr, expected.values()))) == 1, expected  # the references agree
        assert outcome(call, store) == expected["InMemoryStore"]
    with pytest.raises(InvalidNamespaceError, match="langgraph"):
        store.put(("langgraph",), "k", {"v": 1})


# --- (c) a MatchCondition whose path is a string ---------------------------------------------
STRING_PATHS = [
    ("prefix", "docs"),
    ("suffix", "docs"),
    ("prefix", "d*c"),
    ("suffix", "*s"),
    ("prefix", "d"),
    ("prefix", ""),
    ("suffix", "sub"),
]


@pytest.mark.parametrize("match_type, path", STRING_PATHS)
def test_c_a_string_match_path_is_read_as_langgraph_reads_it(
    maas: MaaS, references: dict[str, BaseStore], match_type: str, path: str
) -> None:
    store = maas.store()
    for s in (store, *references.values()):
        seed(s)
    op = ListNamespacesOp(match_conditions=(MatchCondition(match_type=match_type, path=path),))  # type: ignore[arg-type]
    calls: list[Callable[[BaseStore], Any]] = [lambda s: s.batch([op])]
    if match_type == "prefix":
        calls.append(lambda s: s.list_namespaces(prefix=path))  # type: ignore[arg-type]
    else:
        calls.append(lambda s: s.list_namespaces(suffix=path))  # type: ignore[arg-type]
    for call in calls:
        expected = {name: outcome(call, ref) for name, ref in references.items()}
        assert len(set(map(repr, expected.values()))) == 1, expected
        assert outcome(call, store) == expected["InMemoryStore"]


def test_c_the_reported_case_lists_nothing(maas: MaaS, references: dict[str, BaseStore]) -> None:
    """The outside test's call: a string path on a store without such namespaces gives ``[[]]``."""
    op = ListNamespacesOp(match_conditions=(MatchCondition(match_type="prefix", path="docs"),))  # type: ignore[arg-type]
    maas.store().put(("docs",), "a", {"v": 1})
    for ref in references.values():
        ref.put(("docs",), "a", {"v": 1})
        assert ref.batch([op]) == [[]]
    assert maas.store().batch([op]) == [[]]


# --- access is unchanged ---------------------------------------------------------------------
def test_bound_views_reach_nothing_more(maas: MaaS) -> None:
    a = maas.agents.register_agent(AgentType.HUMAN, owner_id="u1")
    b = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1")
    outsider = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u2")
    pool = maas.pools.create_pool("team", owner_id="u1")
    maas.pools.join_pool(pool, a, PermissionModel.WRITE)
    sa, sb, so = (maas.store(agent_id=x) for x in (a, b, outsider))

    # (b) a bound view's raw put under "langgraph" lands in its private space
    assert sa.batch([PutOp(("langgraph", "x"), "k", {"v": 1})]) == [None]
    assert sa.get(("langgraph", "x"), "k").value == {"v": 1}
    assert sb.get(("langgraph", "x"), "k") is None  # b's own private space
    with pytest.raises(PermissionDeniedError):
        sb.get(("agents", a, "langgraph", "x"), "k")
    trusted = maas.store()
    assert trusted.get(("langgraph", "x"), "k") is None
    assert trusted.get(("agents", a, "langgraph", "x"), "k").value == {"v": 1}
    with pytest.raises(InvalidNamespaceError):
        sa.put(("langgraph", "x"), "k", {"v": 2})

    # (a) a NUL filter on a pool is still checked against membership
    sa.put(("pools", pool, "notes"), "n", {"t": NUL})
    assert [i.key for i in sa.search(("pools", pool), filter={"t": NUL})] == ["n"]
    with pytest.raises(PermissionDeniedError):
        so.search(("pools", pool), filter={"t": NUL})
    assert so.search(("pools",), filter={"t": NUL}) == []
    assert sb.search((), filter={"t": NUL}) == []

    # (c) a string path is labels of the agent's own space, never a reserved root
    sb.put(("notes",), "mine", {"v": 1})
    for path in ("agents", "pools", "users", "a", "p"):
        for view in (sa, sb, so):
            op = ListNamespacesOp(match_conditions=(MatchCondition(match_type="prefix", path=path),))  # type: ignore[arg-type]
            assert view.batch([op]) == [[]]
    assert so.batch([ListNamespacesOp(match_conditions=(MatchCondition("suffix", "notes"),))]) == [[]]  # type: ignore[arg-type]
    assert sb.batch([ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("notes",)),))]) == [[("notes",)]]
    assert so.batch([SearchOp(("notes",))]) == [[]]


# --- the rows of docs/store.md's table these cases added -------------------------------------
def test_the_documented_differences_hold(maas: MaaS, references: dict[str, BaseStore]) -> None:
    """What docs/store.md says of LangGraph's stores for (a) and the empty namespace, checked
    against them (a LangGraph release that changes it makes this fail: update the table)."""
    store = maas.store()
    for s in (store, *references.values()):
        seed(s)
    for name, ref in references.items():  # an empty namespace below put: LangGraph accepts it
        assert outcome(lambda s: s.batch([PutOp((), "k", {"v": 1})]), ref) == ("ok", [None]), name
    with pytest.raises(InvalidNamespaceError, match="empty") as raised:  # refused here, as documented
        store.batch([PutOp((), "k", {"v": 1})])
    assert raised.value.code == "invalid_input"  # type: ignore[attr-defined]

    for s in (store, references["InMemoryStore"], references["SqliteStore"]):
        s.put(("docs",), "nul", {"t": NUL})
    keys = {
        name: outcome(lambda s: [i.key for i in s.search(("docs",), filter={"t": NUL})], ref)
        for name, ref in references.items()
    }
    assert keys["InMemoryStore"] == ("ok", ["nul"])
    assert keys["SqliteStore"] == ("ok", [])  # its JSON comparison misses the stored match
    if "PostgresStore" in keys:
        assert keys["PostgresStore"][0] == "raises"
    assert outcome(lambda s: [i.key for i in s.search(("docs",), filter={"t": NUL})], store) == keys["InMemoryStore"]
