"""The structured-memory tools (get_state, profile, reflect) act within the bound agent's grant,
exactly like recall: own scope by default, never a sibling's, read-only keys may not persist."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest
from test_tools import World, open_world

from maas_langchain.adapters.tools import ToolContext, execute
from maas_langchain.adapters.tools.specs import get_spec


@pytest.fixture
def w(tmp_path: Path) -> typing.Iterator[World]:
    world = open_world(tmp_path)
    yield world
    world.maas.close()


def test_get_state_shows_the_agents_facts_and_their_history(w: World) -> None:
    w.ok(w.a, "remember", content="Competitor X's price is $299/mo.")
    w.ok(w.a, "remember", content="Competitor X's price is $349/mo.")
    state = w.ok(w.a, "get_state")
    (entity,) = state["entities"]
    assert entity["name"] == "Competitor X"
    assert [(a["value"], a["status"], a["superseded_by"]) for a in entity["attributes"]] == [
        ("$349/mo", "current", None),
        ("$299/mo", "superseded", {"fact_id": entity["attributes"][0]["fact_id"], "value": "$349/mo"}),
    ]
    assert w.ok(w.a, "get_state", history=False)["entities"][0]["attributes"][0]["value"] == "$349/mo"
    assert w.ok(w.a, "get_state", entity="nobody")["entities"] == []
    early = w.ok(w.a, "get_state", as_of="2000-01-01T00:00:00+00:00")
    assert early["entities"] == [] and early["as_of"] is not None


def test_a_sibling_sees_none_of_it_and_may_not_ask_for_the_scope(w: World) -> None:
    w.ok(w.a, "remember", content="Launch's codename is bluebird.")
    assert w.ok(w.b, "get_state")["entities"] == []  # b's own scope is a sibling of a's
    own_a = w.ok(w.a, "get_state")["scope"]
    refused = w.call(w.b, "get_state", scope=own_a)
    assert refused.code == "permission_denied"
    assert w.call(w.stranger, "profile", scope={"project": "alpha"}).code == "permission_denied"
    assert w.call(w.b, "reflect", query="codename").ok and "bluebird" not in json.dumps(
        w.ok(w.b, "reflect", query="codename")
    )


def test_reflect_cites_and_persists_into_profile_and_read_only_keys_may_not_persist(w: World) -> None:
    first = w.ok(w.a, "remember", content="The login form validates e-mail on blur.")["memory_id"]
    found = w.ok(w.a, "reflect", query="How does the login form validate e-mail?")
    assert found["method"] == "extractive" and found["memory_ids"] == [first] and "[1]" in found["summary"]
    persisted = w.ok(w.a, "reflect", query="How does the login form validate e-mail?", persist=True)
    assert persisted["reflection_id"]
    profile = w.ok(w.a, "profile")
    assert [m["memory_id"] for m in profile["reflections"]] == [persisted["reflection_id"]]
    assert [m["memory_id"] for m in profile["memories"]["knowledge"]] == [first]
    read_only = ToolContext(w.maas, w.a, read_only=True)
    before = w.maas.status()["counts"]["memories"]
    refused = execute(get_spec("reflect"), read_only, {"query": "login", "persist": True})
    assert refused.code == "permission_denied" and w.maas.status()["counts"]["memories"] == before
    assert execute(get_spec("reflect"), read_only, {"query": "login"}).ok
    assert w.maas.audit.query(actor=w.a, action="reflect", outcome="denied")


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("get_state", {"as_of": "not a time"}),
        ("get_state", {"entity": ""}),
        ("reflect", {"query": ""}),
        ("reflect", {"query": "x", "top_k": 0}),
        ("profile", {"per_category": 1000}),
    ],
)
def test_bad_arguments_are_typed_errors(w: World, tool: str, args: dict[str, typing.Any]) -> None:
    assert w.call(w.a, tool, **args).code == "invalid_input"
