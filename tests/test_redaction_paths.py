"""The redaction corpus through a real SQLite instance: every secret written through the real write
paths (memories, sessions, pool shares, handoff contexts and reasons, store values and keys, agent
metadata, tools) and read back through every read path (memory get/recall/history, sessions,
``query_shared``, handoffs and their memory grants, bound store views, events, the tool registry as
the MCP server calls it, the LangChain tools, one real MCP round trip, the CLI). No secret value
may come back on any path; at most one benign look-alike may read back changed per path; the
stored records keep what was written.

``World.reads[path][i]`` holds the strings path ``path`` returned where item ``i``'s text was
written (absent: the path did not deliver the item, e.g. a quarantined memory is never recalled);
``World.blobs[path]`` everything that path printed or returned, searched for every secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from redaction_corpus import BENIGN, SECRETS

from maas_langchain import AgentType, HandoffContext, MaaS, MaaSClient, PermissionModel
from maas_langchain.adapters import cli
from maas_langchain.adapters.tools.langchain import MaaSToolkit
from maas_langchain.adapters.tools.registry import ToolContext, execute
from maas_langchain.adapters.tools.specs import tool_specs
from maas_langchain.core.enums import MemoryStatus
from maas_langchain.embeddings import HashingEmbeddings

U = {"user": "u1"}  # an ancestor of both agents' own scopes
SESSION = {"org": "acme", "project": "sessions"}
NS = "corpus"


@dataclass(frozen=True)
class Item:
    index: int
    text: str
    secret: str | None  # None: a benign look-alike
    kind: str

    @property
    def query(self) -> str:
        """What to recall it with: its sentence without the secret (a query is the caller's own text)."""
        return self.text if self.secret is None else self.text.replace(self.secret, " ")


ITEMS = [Item(i, s.text, s.value, s.kind) for i, s in enumerate(SECRETS)] + [
    Item(len(SECRETS) + i, text, None, f"benign-{i}") for i, text in enumerate(BENIGN)
]


@dataclass
class World:
    maas: MaaS
    home: Path
    author: str
    reader: str
    keeper: list[str]
    pools: dict[str, str]  # _pool_key(item) -> pool
    mids: dict[int, str] = field(default_factory=dict)
    hids: dict[int, str] = field(default_factory=dict)
    quarantined: set[int] = field(default_factory=set)  # memories screening quarantined
    held: set[int] = field(default_factory=set)  # store values screening kept in the quarantine space
    reads: dict[str, dict[int, list[str]]] = field(default_factory=dict)
    blobs: dict[str, list[str]] = field(default_factory=dict)

    def read(self, path: str, index: int, *got: Any) -> None:
        self.reads.setdefault(path, {}).setdefault(index, []).extend(_strings(got))
        self.saw(path, got)

    def saw(self, path: str, output: Any) -> None:
        self.blobs.setdefault(path, []).append(output if isinstance(output, str) else json.dumps(output, default=repr))


def _strings(value: Any) -> list[str]:
    """Every string in ``value``, dict keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


POOL_SIZE = 100  # the query_shared tool returns at most 100 shares: the corpus is shared into pools of 100
STORE_POOL = "secrets-0"  # the pool whose store namespace holds every item's store value


def _pool_key(item: Item) -> str:
    if item.secret is None:
        return f"benign-{(item.index - len(SECRETS)) // POOL_SIZE}"
    return f"secrets-{item.index // POOL_SIZE}"


SCAFFOLD = {"note", "the text as a key", "nested", "t", "n", "why"}  # the other strings of a payload


def _payload(item: Item) -> dict[str, Any]:
    """A structured value carrying the text as a value, a dict key and a nested value."""
    return {"note": item.text, item.text: "the text as a key", "nested": [{"t": item.text}]}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("redaction") / "home"
    maas = MaaS.open(home, vectors="bruteforce", embeddings=HashingEmbeddings(), sweep_interval=None)
    author = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="u1", name="author")
    reader = maas.agents.register_agent(AgentType.GPT_AGENT, owner_id="u1", name="reader")
    keeper = [
        maas.agents.register_agent(AgentType.HUMAN, owner_id="u1", metadata={f"s{i.index}": i.text for i in chunk})
        for chunk in (ITEMS[k : k + 20] for k in range(0, len(ITEMS), 20))
    ]
    keys = sorted({_pool_key(item) for item in ITEMS})
    pools = {key: maas.pools.create_pool(f"corpus-{key}", owner_id="u1") for key in keys}
    for pool in pools.values():
        maas.pools.join_pool(pool, author, PermissionModel.WRITE)
        maas.pools.join_pool(pool, reader, PermissionModel.READ)
    w = World(maas, home, author, reader, keeper, pools)
    _write_and_read(w)
    yield w
    maas.close()


def _write_and_read(w: World) -> None:
    maas, author, reader = w.maas, w.author, w.reader
    writer_store, reader_store = maas.store(agent_id=author), maas.store(agent_id=reader)
    registry = {s.name: s for s in tool_specs()}
    toolkits = {a: {t.name: t for t in MaaSToolkit(maas, agent_id=a).get_tools()} for a in (author, reader)}

    def tool(name: str, agent: str = reader, **args: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The result of ``name`` as the MCP server renders it and as the LangChain tool returns it."""
        from maas_langchain.adapters.mcp.mcp_server import result_content

        mcp = json.loads(
            result_content(execute(registry[name], ToolContext(maas, agent_id=agent), args)).content[0].text
        )
        langchain = json.loads(toolkits[agent][name].invoke(args))
        for path, body in ((f"mcp layer: {name}", mcp), (f"langchain: {name}", langchain)):
            assert body["ok"], body
            w.saw(path, body)
        return mcp["result"], langchain["result"]

    with MaaSClient(maas).sessions.create(SESSION, agent_id=author) as session:
        for item in ITEMS:
            i, text = item.index, item.text
            # memories: trusted write with the text as content, metadata value and metadata key
            m = maas.memories.remember(text, scope=U, metadata=_payload(item) | {"nested": "n"}, author_id=author)
            w.mids[i] = mid = m.memory_id
            if m.status is MemoryStatus.QUARANTINED:
                w.quarantined.add(i)
            w.read("memories.remember (returned)", i, m.content, m.metadata)
            for path, got in (
                ("memories.get (trusted)", maas.memories.get(mid)),
                ("memories.get (agent)", maas.memories.get(mid, as_agent=reader)),
            ):
                assert got is not None
                w.read(path, i, got.content, got.metadata)
            for hit in maas.memories.recall(item.query, scope=U, top_k=10):
                if hit.memory.memory_id == mid:
                    w.read("memories.recall", i, hit.memory.content, hit.memory.metadata)
            # a session: remember and recall
            sm = session.remember(text, metadata={"note": text})
            found = session.recall(item.query, top_k=10)
            w.saw("session.recall", found.formatted)
            for got in found.items:
                if got.memory_id == sm.memory_id:
                    w.read("session.recall", i, got.content, got.metadata)
            # a pool share of the memory, with the text in its metadata
            maas.pools.share_memory(w.pools[_pool_key(item)], mid, author, metadata={"why": text})
            # a handoff whose context carries the text everywhere, then its grant, then a rejection
            context = HandoffContext(text, _payload(item), [mid], [f"docs/{i}.md"], {"n": [text]})
            hid = maas.handoffs.initiate_handoff(author, reader, context)
            assert hid is not None
            w.hids[i] = hid
            _read_handoff(w, item, hid, context_only=True)
            for h in maas.handoffs.get_pending_handoffs(reader):
                _read_record(w, "handoffs.pending", item, h)
            mcp, langchain = tool("get_pending_handoffs")
            for name, result in (("mcp layer", mcp), ("langchain", langchain)):
                for h in result["handoffs"]:
                    _read_json(w, f"{name}: get_pending_handoffs", item, h)
            for share in maas.handoffs.get_handoff_memories(hid, reader):
                if share.memory_id == mid:
                    w.read("handoffs.grants", i, share.content, share.metadata)
            assert maas.handoffs.reject_handoff(hid, reader, reason=text)
            _read_handoff(w, item, hid, context_only=False)
            for name, result in zip(("mcp layer", "langchain"), tool("get_handoff", handoff_id=hid), strict=True):
                _read_json(w, f"{name}: get_handoff", item, result, reason=True)
            # the store: a pool namespace, text as value, key and nested value
            writer_store.put(("pools", w.pools[STORE_POOL], NS), f"k{i}", _payload(item))
            got = reader_store.get(("pools", w.pools[STORE_POOL], NS), f"k{i}")
            if got is None:
                w.held.add(i)
            else:
                w.read("store.get (bound)", i, got.value)
            # the tools: remember as the author (what the tool answers), recall as the reader
            for name, result in zip(("mcp layer", "langchain"), tool("remember", author, content=text), strict=True):
                w.read(f"{name}: remember", i, result["content"])
            for name, result in zip(
                ("mcp layer", "langchain"), tool("recall", query=item.query, top_k=10), strict=True
            ):
                for hit in result["memories"]:
                    if hit["memory_id"] == mid:
                        w.read(f"{name}: recall", i, hit["content"], hit["metadata"])
    for hit in maas.memories.history(scope=U, limit=1_000):
        _by_mid(w, "memories.history", hit.memory_id, hit.content, hit.metadata)
    for pool in w.pools.values():
        for share in maas.pools.query_shared(pool, reader, limit=1_000):
            _by_mid(w, "pools.query_shared", share.memory_id, share.content, share.metadata)
        for name, result in zip(("mcp layer", "langchain"), tool("query_shared", pool_id=pool, limit=100), strict=True):
            for share in result["memories"]:
                _by_mid(w, f"{name}: query_shared", share["memory_id"], share["content"], share["metadata"])
    for found in reader_store.search(("pools", w.pools[STORE_POOL], NS), limit=1_000):
        w.read("store.search (bound)", int(found.key[1:]), found.value)
    for agent in w.keeper:
        for name, result in zip(("mcp layer", "langchain"), tool("get_agent_info", agent_id=agent), strict=True):
            for key, text in result["metadata"].items():
                w.read(f"{name}: get_agent_info", int(key[1:]), text)
    _read_events(w)
    _read_cli(w)
    _read_mcp_round_trip(w)


def _by_mid(w: World, path: str, memory_id: str, *got: Any) -> None:
    index = {mid: i for i, mid in w.mids.items()}.get(memory_id)
    if index is not None and got[0] is not None:  # a quarantined memory's share has no content
        w.read(path, index, *got)


def _read_handoff(w: World, item: Item, hid: str, *, context_only: bool) -> None:
    for path, h in (
        ("handoffs.get (trusted)", w.maas.handoffs.get_handoff(hid)),
        ("handoffs.get (agent)", w.maas.handoffs.get_handoff(hid, w.reader)),
    ):
        assert h is not None
        _read_record(w, path, item, h, reason=not context_only)
    if not context_only:
        for h in w.maas.handoffs.list_handoffs(w.reader):
            if h.handoff_id == hid:
                _read_record(w, "handoffs.list", item, h, reason=True)


def _read_record(w: World, path: str, item: Item, h: Any, *, reason: bool = False) -> None:
    c = h.context
    w.read(path, item.index, c.task_description, c.current_state, c.notes["n"], *([h.reason] if reason else []))


def _read_json(w: World, path: str, item: Item, h: dict[str, Any], *, reason: bool = False) -> None:
    c = h["context"]
    w.read(
        path, item.index, c["task_description"], c["current_state"], c["notes"]["n"], *([h["reason"]] if reason else [])
    )


def _read_events(w: World) -> None:
    by_hid = {hid: i for i, hid in w.hids.items()}
    for path, agent in (("events (trusted)", None), ("events (agent)", w.reader)):
        head = w.maas.events.latest_seq()
        with w.maas.events.subscribe(after_seq=0, agent_id=agent) as sub:
            while sub.last_seq < head:
                for event in sub.poll(timeout=0):
                    w.saw(path, event.data)
                    if event.kind.value == "handoff.rejected":
                        w.read(path, by_hid[event.data["handoff_id"]], event.data["reason"])


def _cli(w: World, *args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["--home", str(w.home), *args]) == 0
    return out.getvalue()


def _read_cli(w: World) -> None:
    by_hid = {hid: i for i, hid in w.hids.items()}
    for h in json.loads(_cli(w, "--json", "handoffs")):
        w.saw("cli --json handoffs", h)
        if h["handoff_id"] in by_hid:
            c = h["context"]
            w.read(
                "cli --json handoffs", by_hid[h["handoff_id"]], c["task_description"], c["current_state"], h["reason"]
            )
    text = _cli(w, "handoffs")
    w.saw("cli handoffs", text)
    for line in text.splitlines():
        hid = line.split(" ", 1)[0]
        if hid in by_hid:
            item = ITEMS[by_hid[hid]]
            shown = line.split("  ", 3)[-1]  # the task, cut at 60 characters
            w.read("cli handoffs", item.index, shown)
    for agent in json.loads(_cli(w, "--json", "agents")):
        w.saw("cli --json agents", agent)
        for key, text in agent["metadata"].items():
            w.read("cli --json agents", int(key[1:]), text)
    w.saw("cli --json audit", _cli(w, "--json", "audit", "--limit", "5000"))


def _read_mcp_round_trip(w: World) -> None:
    """One real MCP session over the in-process HTTP transport, as a client sees it."""
    from test_mcp_server import mcp_session, payload

    from maas_langchain.adapters.mcp.app import create_http_app

    key = w.maas.keys.create_key(w.reader).secret
    app = create_http_app(w.maas)

    async def run() -> None:
        async with app.router.lifespan_context(app), mcp_session("http://t/mcp", key, app=app) as session:
            for pool in w.pools.values():
                body = payload(await session.call_tool("query_shared", {"pool_id": pool, "limit": 100}))
                w.saw("mcp round trip", body)
                for share in body["result"]["memories"]:
                    _by_mid(w, "mcp round trip", share["memory_id"], share["content"], share["metadata"])

    asyncio.run(run())


PATHS = [
    "memories.remember (returned)",
    "memories.get (trusted)",
    "memories.get (agent)",
    "memories.recall",
    "memories.history",
    "session.recall",
    "pools.query_shared",
    "handoffs.get (trusted)",
    "handoffs.get (agent)",
    "handoffs.pending",
    "handoffs.list",
    "handoffs.grants",
    "store.get (bound)",
    "store.search (bound)",
    "events (trusted)",
    "events (agent)",
    "mcp round trip",
    "cli --json handoffs",
    "cli handoffs",
    "cli --json agents",
    *[
        f"{front}: {tool}"
        for front in ("mcp layer", "langchain")
        for tool in ("remember", "recall", "query_shared", "get_pending_handoffs", "get_handoff", "get_agent_info")
    ],
]
# Paths that cannot deliver a quarantined memory (never recalled, no content when shared) or a
# quarantined store value (kept in its author's quarantine space).
SKIPS_QUARANTINED = {"memories.recall", "pools.query_shared", "mcp round trip"}
SKIPS_QUARANTINED |= {f"{front}: {tool}" for front in ("mcp layer", "langchain") for tool in ("recall", "query_shared")}
SKIPS_HELD = {"store.get (bound)", "store.search (bound)"}


def figures(w: World, path: str) -> tuple[int, int, int, list[str]]:
    """(secret types delivered, of them redacted, benign delivered, benign changed) on ``path``."""
    reads = w.reads.get(path, {})
    secrets = [i for i in ITEMS if i.secret is not None and i.index in reads]
    redacted = [i for i in secrets if all(i.secret not in s for s in reads[i.index])]
    benign = [i for i in ITEMS if i.secret is None and i.index in reads]
    cut = 60 if path == "cli handoffs" else None  # the text output shows the first 60 characters
    changed = [i.text for i in benign if any(s != i.text[:cut] and s not in SCAFFOLD for s in reads[i.index])]
    return len(secrets), len(redacted), len(benign), changed


@pytest.mark.parametrize("path", PATHS)
def test_no_secret_comes_back_and_benign_text_reads_back_as_written(world: World, path: str) -> None:
    delivered, redacted, benign, changed = figures(world, path)
    skipped = world.quarantined if path in SKIPS_QUARANTINED else world.held if path in SKIPS_HELD else set()
    expected = len(SECRETS) - len(skipped)
    assert delivered == expected, f"{path} delivered {delivered} of {expected} secret items"
    assert redacted == delivered
    blob = "\n".join(world.blobs[path])
    assert [s.kind for s in SECRETS if s.value in blob] == []
    if path == "cli handoffs":  # the text output cuts the task: no prefix of a secret either
        assert [s.kind for s in SECRETS if s.value[:10] in blob] == []
    assert benign == len(BENIGN) or path == "cli handoffs"
    assert len(changed) <= 1, changed


def test_the_audit_log_as_the_cli_prints_it_shows_no_secret(world: World) -> None:
    blob = "\n".join(world.blobs["cli --json audit"])
    assert [s.kind for s in SECRETS if s.value in blob] == []


def test_the_figures(world: World) -> None:
    """The per-path table of the report (run with ``-s`` to see it)."""
    quarantined = sorted(ITEMS[i].kind for i in world.quarantined | world.held)
    print(f"\nsecret types: {len(SECRETS)}; benign look-alikes: {len(BENIGN)}; quarantined by screening: {quarantined}")
    for path in PATHS:
        delivered, redacted, benign, changed = figures(world, path)
        print(f"  {path:<40} secrets redacted {redacted}/{delivered}  benign changed {len(changed)}/{benign}")
    assert not {i.index for i in ITEMS if i.secret is None} & (world.quarantined | world.held)  # screening accepts them
    assert len(world.quarantined | world.held) <= 2  # the corpus is written in benign sentences


def test_the_stored_records_keep_what_was_written(world: World) -> None:
    maas = world.maas
    trusted = maas.store()
    raw_events = maas.runtime.read(lambda tx: tx.read_events(0, None, 100_000))
    reasons = {e.data["handoff_id"]: e.data.get("reason") for e in raw_events if e.kind.value == "handoff.rejected"}
    for item in ITEMS:
        stored = maas.runtime.read(lambda tx, i=item: tx.get_memories([world.mids[i.index]]))[0].memory
        assert stored.content == item.text and stored.metadata[item.text] == "the text as a key"
        handoff = maas.runtime.read(lambda tx, i=item: tx.get_handoff(world.hids[i.index]))
        assert handoff is not None and handoff.reason == item.text
        assert handoff.context.task_description == item.text and handoff.context.current_state == _payload(item)
        assert reasons[world.hids[item.index]] == item.text
        if item.index not in world.held:
            value = trusted.get(("pools", world.pools[STORE_POOL], NS), f"k{item.index}").value
            assert value == _payload(item)
