"""The web console (``/console``) in a real browser, against a real seeded ``maas serve --http``.

Headless Chromium — Debian's ``chromium`` package at ``/usr/bin/chromium``, driven by Python
Playwright through its executable path (``playwright install`` is never run: it downloads a
browser build) — loads each page of the console signed in with an API key, against the server of
tests/console_seed.py (the demo workflow plus a HUMAN agent, a private and a shared memory, a
changed fact and a memory whose content is HTML with script), and checks what a user relies on:

* overview: the counts of ``GET /v1/overview`` and the audit chain "intact";
* agents, pools (members and permissions), the demo's handoff as a timeline (initiated →
  accepted → completed, by the backend and frontend agents' names);
* "who can see this?": the private memory is read by its author only, the shared one by every
  agent of the owner;
* ``<script>`` and an ``onerror`` handler in a memory's content (and in an agent's name) are shown
  as text: no element is made of them, nothing runs, no Content-Security-Policy violation;
* the entity page's supersession chain; the audit page's "Verify chain";
* an agent (not HUMAN) key is refused the audit page; a key revoked while the page is open signs
  the page out with a message; an event written while the live feed is open appears in it;
* a copy of the home whose audit log was rewritten (one entry's ``reason``, triggers dropped and
  put back) is shown as BROKEN on the overview and by "Verify chain".

No request leaves the server's origin (the console loads nothing from elsewhere), and no page
raises a JavaScript error. With ``MAAS_CONSOLE_SCREENSHOTS=1`` the tests also save the screenshots
the docs use (``docs/img/console_*.png``, 1280x800); without it nothing is written, so CI never
rewrites committed files.

Without Chromium or Playwright the browser tests skip with a message saying how to install them
(``make browser``; ``make test`` installs both under ``CI=true``), except under ``CI=true``, where
they fail. ``test_demo_serve_prints_a_console_url_and_a_working_key`` needs no browser: it runs
``maas demo --serve`` and checks the URL and the key it prints.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import free_loopback_port
from console_seed import (
    HOSTILE,
    HUMAN_NAME,
    OWNER,
    PRIVATE_TEXT,
    PROJECT_TEXT,
    ConsoleServer,
    api,
    console_server,
    start_server,
    tampered_copy,
)
from rest_server import server_env

pytestmark = pytest.mark.slow  # a real server, the embedding model and a browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = os.environ.get("MAAS_CONSOLE_SCREENSHOTS") == "1"
SHOTS = ROOT / "docs" / "img"
TIMEOUT_MS = 15_000

# --- what the tests look for in the page (the console's data-testid attributes; one place to adjust) --
APP = "#app"
KEY_INPUT = '[data-testid="key-input"]'
SIGN_IN = '[data-testid="sign-in"]'
SIGNIN_MESSAGE = '[data-testid="signin-message"]'
AUDIT_STATUS = '[data-testid="audit-status"]'
COUNT = '[data-testid="count-{name}"]'
MEMBER_ROW = '[data-testid="member-row"]'
MEMBER_PERMISSION = '[data-testid="member-permission"]'
SCOPE_NODE = '[data-testid="scope-node"][data-scope="{scope}"]'
MEMORY_LIST = '[data-testid="memories"][data-scope="{scope}"]'
MEMORY_ITEM = '[data-testid="memory-item"]'
READERS = '[data-testid="readers"]'
READER = '[data-testid="reader"]'
HANDOFF_TIMELINE = '[data-testid="handoff-timeline"]'
TIMELINE_EVENT = '[data-testid="timeline-event"]'
FACT = '[data-testid="fact"]'
VERIFY_BUTTON = '[data-testid="verify-chain"]'
AUDIT_VERIFY = '[data-testid="audit-verify"]'
AUDIT_VERIFY_STATUS = '[data-testid="audit-verify-status"]'
AUDIT_ROW = '[data-testid="audit-row"]'
FORBIDDEN = '[data-testid="forbidden"]'
EVENT_ITEM = '[data-testid="event-item"]'
EVENTS_STATUS = '[data-testid="events-status"]'
SIGNED_OUT = re.compile(r"no longer valid", re.I)
REFUSED = re.compile(r"permission denied", re.I)

AGENT_NAMES = ("backend (Claude Code)", "frontend (GPT agent)", "test pipeline")
HOSTILE_NAME = 'probe <img src=x onerror="window.__pwned=3">'


# --- the browser ---------------------------------------------------------------------------------
def _missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return 'Playwright is not installed: pip install -e ".[test]" (or make install-test)'
    if not os.access(CHROMIUM, os.X_OK):
        return f"Debian's Chromium is not at {CHROMIUM}: make browser (as root: apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium under Playwright; skipped (failed under ``CI=true``) without it."""
    reason = _missing_browser()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true needs the console's browser test tools: {reason}", pytrace=False)
        pytest.skip(f"the console's browser tests need Chromium and Playwright: {reason}")
    from playwright.sync_api import expect as playwright_expect
    from playwright.sync_api import sync_playwright

    playwright_expect.set_options(timeout=TIMEOUT_MS)  # a loaded 2-core machine: 5 s is short
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def console(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    """The seeded server (after the browser fixture: without a browser nothing is seeded)."""
    with console_server(tmp_path_factory.mktemp("console")) as server:
        yield server


class Tab:
    """A page in a fresh browser context (its own sessionStorage), with what went wrong in it."""

    def __init__(self, browser: Any, origin: str) -> None:
        self.context = browser.new_context(viewport=VIEWPORT)
        self.origin = origin
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.context.on("request", self._only_the_origin)  # observed, not intercepted (the event stream)
        # every Content-Security-Policy violation is kept (an injected inline handler causes one)
        self.context.add_init_script(
            "window.__csp = []; document.addEventListener('securitypolicyviolation',"
            " e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || e.sample)));"
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _only_the_origin(self, request: Any) -> None:
        url = str(request.url)
        if not (url.startswith(self.origin + "/") or url.startswith(("data:", "blob:"))):
            self.foreign.append(url)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tabs(browser: Any) -> Iterator[Callable[[ConsoleServer], Any]]:
    """Open pages on a server; afterwards, none raised an error or asked another origin."""
    opened: list[Tab] = []

    def open_tab(server: ConsoleServer) -> Any:
        opened.append(Tab(browser, server.base_url))
        return opened[-1].page

    yield open_tab
    try:
        for tab in opened:
            assert not tab.errors, f"JavaScript errors in the console: {tab.errors}"
            assert not tab.foreign, f"the console asked another origin: {tab.foreign}"
    finally:
        for tab in opened:
            tab.close()


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def go(page: Any, route: str) -> None:
    """Open a hash route of the console already loaded in ``page``."""
    page.evaluate("route => { window.location.hash = route; }", route)


def sign_in(page: Any, server: ConsoleServer, key: str, route: str = "#/overview") -> None:
    """Load the console, sign in with ``key`` (typed into the form), then open ``route``."""
    page.goto(server.console_url + "#/overview")
    field = page.locator(KEY_INPUT).or_(page.get_by_label("API key")).first
    field.fill(key)
    page.locator(SIGN_IN).click()
    expect(field).to_be_hidden()
    expect(page.locator('[data-testid="whoami"]')).to_be_visible()
    go(page, route)


def shot(page: Any, name: str) -> None:
    """Save ``docs/img/console_<name>.png`` when ``MAAS_CONSOLE_SCREENSHOTS=1``."""
    if SCREENSHOTS:
        page.wait_for_timeout(300)  # let the last answer paint
        page.screenshot(path=str(SHOTS / f"console_{name}.png"), full_page=False)


def text_of(page: Any, selector: str = APP) -> str:
    return str(page.locator(selector).first.inner_text())


def not_pwned(page: Any) -> None:
    """Nothing of :data:`HOSTILE` (or the hostile agent name) ran or became an element."""
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator('img[src="x"]').count() == 0
    assert page.evaluate("[...document.scripts].filter(s => s.textContent.includes('__pwned')).length") == 0
    assert page.evaluate("window.__csp") == [], "an injected handler tried to run (blocked by the CSP)"


def scope_label(scope: dict[str, str]) -> str:
    """How the scope tree labels a node (``data-scope``): ``user=u / agent=a`` in hierarchy order."""
    order = ("org", "team", "project", "user", "agent")
    return " / ".join(f"{k}={scope[k]}" for k in order if k in scope)


def open_memory(page: Any, scope: dict[str, str], content: str) -> Any:
    """On the memories page, open ``scope`` in the tree (each ancestor first, as a user would),
    select the memory showing ``content``; return its list item."""
    keys = [k for k in ("org", "team", "project", "user", "agent") if k in scope]
    for n in range(1, len(keys) + 1):
        node = page.locator(SCOPE_NODE.format(scope=scope_label({k: scope[k] for k in keys[:n]})))
        if node.get_attribute("aria-expanded") != "true":
            node.click()
    listed = page.locator(MEMORY_LIST.format(scope=scope_label(scope)))  # at exactly that scope
    item = listed.locator(MEMORY_ITEM).filter(has_text=content)
    item.click()
    expect(page.locator(READERS)).to_contain_text(content)
    return item


def event_about(page: Any, agent_id: str) -> Any:
    """The live feed's items that name ``agent_id`` (by name or short id)."""
    named = page.locator(f'[data-agent-id="{agent_id}"], [data-id="{agent_id}"]')
    return page.locator(EVENT_ITEM).filter(has=named)


def readers(page: Any) -> dict[str, str]:
    """The "who can see this?" panel: reader's text -> its reason, once the answer is in."""
    panel = page.locator(READERS)
    expect(panel.locator('[data-testid="readers-count"]')).to_be_visible()
    rows = panel.locator(READER)
    return {
        str(row.locator("span.agent, code.id").first.inner_text()): str(
            row.locator('[data-testid="reader-reason"]').inner_text()
        ).strip()
        for row in rows.all()
    }


# --- the pages -----------------------------------------------------------------------------------
def test_overview_shows_the_counts_and_an_intact_audit_chain(console: ConsoleServer, tabs: Any) -> None:
    page = tabs(console)
    sign_in(page, console, console.seed.keys["human"])
    expect(page.locator(AUDIT_STATUS)).to_have_text(re.compile(r"^intact$", re.I))
    status, overview = console.api("GET", "/v1/overview", console.seed.keys["human"])
    assert status == 200, overview
    counts = {k: v for k, v in (overview.get("counts") or {}).items() if type(v) is int}
    assert counts.get("agents", 0) >= 4 and counts.get("pools", 0) >= 1 and counts.get("memories", 0) >= 4, overview
    for name, value in counts.items():
        expect(page.locator(COUNT.format(name=name))).to_have_text(str(value))
    shot(page, "overview")


def test_agents_page_lists_the_owners_agents_with_their_types(console: ConsoleServer, tabs: Any) -> None:
    page = tabs(console)
    sign_in(page, console, console.seed.keys["human"], "#/agents")
    rows = page.locator('[data-testid="agent-row"]')
    for name, kind in zip(
        (*AGENT_NAMES, HUMAN_NAME), ("claude_code", "gpt_agent", "custom_pipeline", "human"), strict=True
    ):
        expect(rows.filter(has_text=name).first).to_contain_text(kind)
    not_pwned(page)


def test_pool_page_shows_members_and_their_permissions(console: ConsoleServer, tabs: Any) -> None:
    page = tabs(console)
    seed = console.seed
    sign_in(page, console, seed.keys["human"], "#/pools")
    page.get_by_role("link", name="feature-auth").click()  # as a user would, to #/pools/<id>
    page.wait_for_url(re.compile(re.escape(seed.ids["pool"])))
    for name, permission in zip(AGENT_NAMES, ("write", "write", "read"), strict=True):
        row = page.locator(MEMBER_ROW).filter(has_text=name)
        expect(row.locator(MEMBER_PERMISSION)).to_have_text(re.compile(rf"^{permission}$", re.I))


def test_the_demos_handoff_is_a_timeline_of_who_did_what(console: ConsoleServer, tabs: Any) -> None:
    page = tabs(console)
    seed = console.seed
    sign_in(page, console, seed.keys["human"], "#/handoffs")
    page.get_by_role("link", name="Implement login UI using the API spec").click()
    page.wait_for_url(re.compile(re.escape(seed.ids["handoff"])))
    timeline = page.locator(HANDOFF_TIMELINE)
    expect(timeline).to_contain_text(re.compile(r"completed by frontend \(GPT agent\)", re.I))
    events = timeline.locator(TIMELINE_EVENT)
    expect(events.first).to_be_visible()
    lines = [str(t) for t in events.all_inner_texts()]
    steps = [("backend (Claude Code)", "initiate"), ("frontend (GPT agent)", "accept"), ("frontend (GPT agent)", "complete")]
    found = [next((i for i, ln in enumerate(lines) if who in ln and re.search(rf"\b{what}", ln)), -1) for who, what in steps]
    assert -1 not in found and found == sorted(found), f"initiated -> accepted -> completed by name:\n{lines}"
    shown = text_of(page, HANDOFF_TIMELINE)
    assert re.search(r"(initiated|pending)\b[\s\S]*\baccepted\b[\s\S]*\bcompleted\b", shown), shown  # the states
    assert "test pipeline" not in shown, "another agent's refused accept is not the parties' timeline"
    assert re.search(r"TTL deadline: \d{4}-\d\d-\d\dT", shown), f"no TTL deadline in the timeline:\n{shown}"
    shot(page, "handoff")


def test_who_can_see_a_private_memory_and_a_shared_one(console: ConsoleServer, tabs: Any) -> None:
    page = tabs(console)
    seed = console.seed
    sign_in(page, console, seed.keys["human"], "#/memories")
    backend = "backend (Claude Code)"

    open_memory(page, {"user": OWNER, "agent": seed.ids["backend"]}, PRIVATE_TEXT)
    private = readers(page)
    assert private == {backend: "author"}, f"the private memory is read by its author only: {private}"

    open_memory(page, {"user": OWNER}, PROJECT_TEXT)
    shared = readers(page)
    expected = {backend: "author", "frontend (GPT agent)": "scope", "test pipeline": "scope"}
    assert {k: v for k, v in shared.items() if k in expected} == expected, shared
    assert any(k.startswith(HUMAN_NAME) and v == "scope" for k, v in shared.items()), shared
    shot(page, "memories")


def test_html_and_script_in_content_is_text_and_never_runs(console: ConsoleServer, tabs: Any) -> None:
    page = tabs(console)
    seed = console.seed
    hostile_agent = {"agent_type": "claude_code", "name": HOSTILE_NAME}
    status, agent = console.api("POST", "/v1/agents", seed.keys["human"], hostile_agent)
    assert status == 201, agent
    sign_in(page, console, seed.keys["human"], "#/memories")
    item = open_memory(page, {"user": OWNER, "agent": seed.ids["backend"]}, "<script>window.__pwned = 1</script>")
    expect(item.locator('[data-testid="memory-content"]')).to_have_text(HOSTILE)  # the characters, as typed
    expect(page.locator(READERS)).to_contain_text(HOSTILE)
    not_pwned(page)
    go(page, "#/agents")
    expect(page.locator('[data-testid="agent-row"]').filter(has_text=HOSTILE_NAME)).to_have_count(1)
    not_pwned(page)
    go(page, "#/events")
    page.locator('[data-testid="events-replay"]').check()  # from the beginning: the hostile agent's registration too
    expect(event_about(page, agent["agent_id"]).first).to_contain_text("agent.registered")
    not_pwned(page)


def test_entity_page_shows_the_superseded_value(console: ConsoleServer, tabs: Any) -> None:
    page = tabs(console)
    sign_in(page, console, console.seed.keys["human"], "#/entities")
    facts = page.locator(FACT)
    old = facts.filter(has_text=re.compile("SOC2 compliance", re.I)).first
    expect(old).to_contain_text(re.compile(r"data residency", re.I))  # what replaced it
    expect(old).to_contain_text("frontend (GPT agent)")  # and who
    expect(old).to_contain_text("backend (Claude Code)")  # who wrote the old value
    new = facts.filter(has=page.locator('[data-testid="fact-value"]', has_text=re.compile("^data residency$", re.I)))
    expect(new.first).to_contain_text("frontend (GPT agent)")
    shot(page, "entities")


def test_audit_page_lists_entries_and_verifies_the_chain(console: ConsoleServer, tabs: Any) -> None:
    page = tabs(console)
    sign_in(page, console, console.seed.keys["human"], "#/audit")
    expect(page.locator(AUDIT_ROW).filter(has_text="initiate").first).to_contain_text("backend (Claude Code)")
    refused = page.locator(AUDIT_ROW).filter(has_text="test pipeline").filter(has_text=re.compile("denied", re.I))
    expect(refused.first).to_be_visible()  # the pipeline's refused share and accept
    page.locator(VERIFY_BUTTON).click()
    expect(page.locator(AUDIT_VERIFY_STATUS)).to_have_text("intact")
    shot(page, "audit")


def test_an_agent_key_is_refused_the_audit_page(console: ConsoleServer, tabs: Any) -> None:
    page = tabs(console)
    sign_in(page, console, console.seed.keys["backend"], "#/audit")
    expect(page.locator(FORBIDDEN).first).to_contain_text(REFUSED)
    expect(page.locator(AUDIT_ROW)).to_have_count(0)
    page.locator(VERIFY_BUTTON).click()
    expect(page.locator(AUDIT_VERIFY).locator(FORBIDDEN)).to_contain_text(REFUSED)
    go(page, "#/overview")
    expect(page.locator('[data-testid="audit-unavailable"]')).to_be_visible()
    expect(page.locator(AUDIT_STATUS)).to_have_count(0)


def test_a_key_revoked_mid_session_signs_the_page_out(console: ConsoleServer, tabs: Any) -> None:
    page = tabs(console)
    seed = console.seed
    sign_in(page, console, seed.keys["revocable"], "#/overview")
    expect(page.locator(AUDIT_STATUS)).to_have_text(re.compile(r"^intact$", re.I))
    with console.open() as maas:
        assert maas.keys.revoke_key(seed.key_ids["revocable"])
    go(page, "#/agents")  # the next call is refused (401)
    expect(page.locator(KEY_INPUT)).to_be_visible()
    expect(page.locator(SIGNIN_MESSAGE)).to_contain_text(SIGNED_OUT)
    assert seed.keys["revocable"] not in page.evaluate("Object.values(sessionStorage).join(' ')")


def test_the_live_feed_shows_an_event_written_while_it_is_open(console: ConsoleServer, tabs: Any) -> None:
    page = tabs(console)
    key = console.seed.keys["human"]
    sign_in(page, console, key)
    go(page, "#/events")
    expect(page.locator(EVENTS_STATUS)).to_have_text("live")  # the stream is open: it starts at the newest event
    status, agent = console.api("POST", "/v1/agents", key, {"agent_type": "gpt_agent", "name": "live-probe"})
    assert status == 201, agent
    item = event_about(page, agent["agent_id"])
    expect(item).to_have_count(1)
    expect(item).to_contain_text("agent.registered")


def test_a_tampered_audit_log_is_shown_as_broken(
    console: ConsoleServer, tabs: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A copy of the home, one entry's reason rewritten, served by a second server."""
    folder = tmp_path_factory.mktemp("tampered")
    seq = tampered_copy(console.home, folder / "home")
    server = start_server(folder / "home", folder / "server.log", console.seed)
    try:
        status, verdict = server.api("GET", "/v1/audit/verify", console.seed.keys["human"])
        assert status == 200 and verdict.get("intact") is False, verdict
        page = tabs(server)
        sign_in(page, server, console.seed.keys["human"])
        expect(page.locator(AUDIT_STATUS)).to_contain_text(re.compile(r"^BROKEN: ", re.I))
        go(page, "#/audit")
        page.locator(VERIFY_BUTTON).click()
        expect(page.locator(AUDIT_VERIFY_STATUS)).to_have_text(re.compile(r"^BROKEN: "))
        expect(page.locator(AUDIT_VERIFY)).to_contain_text(re.compile(rf"first bad entry: {seq}\b"))
    finally:
        server.stop()


# --- maas demo --serve ---------------------------------------------------------------------------
def test_demo_serve_prints_a_console_url_and_a_working_key(tmp_path: Path) -> None:
    port = free_loopback_port()
    command = [sys.executable, "-m", "maas_langchain.adapters.cli", "--home", str(tmp_path / "home")]
    command += ["demo", "--serve", "--port", str(port)]
    log = tmp_path / "demo.err"
    with open(log, "wb") as err:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, env=server_env(), cwd=ROOT, text=True)
    try:
        assert proc.stdout is not None
        printed: dict[str, str] = {}
        lines: list[str] = []
        deadline = time.monotonic() + 240
        while len(printed) < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            match = re.match(r"^(Console|Key): (\S+)$", line.strip())
            if match:
                printed[match.group(1)] = match.group(2)
        assert set(printed) == {"Console", "Key"}, "".join(lines) + log.read_text(errors="replace")
        assert printed["Console"] == f"http://127.0.0.1:{port}/console"
        assert printed["Key"].startswith("maas_")
        assert "Multi-agent workflow complete!" in "".join(lines)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1):
                    break
            except OSError:
                assert proc.poll() is None, log.read_text(errors="replace")
                time.sleep(0.1)
        with urllib.request.urlopen(printed["Console"], timeout=10) as answer:
            assert answer.status == 200 and answer.headers.get_content_type() == "text/html"
        status, me = api(base, "GET", "/v1/me", printed["Key"])
        assert status == 200, me
        assert me["agent_type"] == "human" and me["owner_id"] == "user-123", me
        status, handoffs = api(base, "GET", "/v1/handoffs", printed["Key"])
        assert status == 200, handoffs
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode in (0, 130), log.read_text(errors="replace")


def test_demo_serve_on_a_busy_port_says_so_before_running_the_workflow(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        command = [sys.executable, "-m", "maas_langchain.adapters.cli", "--home", str(tmp_path / "home")]
        done = subprocess.run(
            [*command, "demo", "--serve", "--port", str(port)],
            capture_output=True, text=True, env=server_env(), cwd=ROOT, timeout=120, check=False,
        )
    assert done.returncode == 2, done
    assert done.stderr.startswith(f"maas: error [invalid_input]: cannot serve on 127.0.0.1:{port}"), done.stderr
    assert "pass another --port" in done.stderr and "Multi-agent workflow" not in done.stdout
