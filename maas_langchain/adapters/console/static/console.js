/*
 * MaaS console: a client of the REST API (/v1), signed in with an API key.
 *
 * SECURITY RULE: every piece of server data is put into the page with textContent,
 * createTextNode, setAttribute (title, data-*) or createElement, through h() below. Never use
 * innerHTML, outerHTML, insertAdjacentHTML or document.write, not even for "trusted" data: a
 * memory's content is whatever an agent wrote, and <script> in it must show as text. Links are
 * built only to this page's own hash routes (#/...), never from a server value. No inline
 * script or style either: the Content-Security-Policy refuses them.
 *
 * The key lives in sessionStorage (this tab only), never in localStorage or the URL, and is
 * sent as "Authorization: Bearer" to this origin only. A 401 signs out.
 *
 * Plain ES2020, no framework, no dependency, no build step.
 */
"use strict";

(() => {
  const KEY_NAME = "maas.console.key";
  const SCOPE_ORDER = ["org", "team", "project", "user", "agent"];
  const SHARE_SCOPES = ["agent_private", "user", "project", "team", "global"];
  const EVENT_TYPES = ["AGENT_AUTH", "POOL_OPERATION", "HANDOFF", "CROSS_AGENT_READ", "PERMISSION_DENIED", "MEMORY_OPERATION"];
  const MAX_EVENTS = 500;
  const PAGE_SIZE = 50;

  const state = {
    key: null, // the API key, also in sessionStorage
    me: null, // GET /v1/me
    agents: new Map(), // agent_id -> what we know of it (names for display)
    main: null, // the element pages render into
    nav: new Map(), // nav name -> link
    stream: null, // AbortController of the live event stream
    generation: 0, // bumps on every route change: late answers of a left page are dropped
  };

  // ---------------------------------------------------------------- DOM helpers (the only way in)

  /** An element with attributes and children (strings become text nodes, never HTML). */
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    if (props) {
      for (const [name, value] of Object.entries(props)) {
        if (value === undefined || value === null || value === false) continue;
        if (name === "testid") el.setAttribute("data-testid", String(value));
        else if (name === "class") el.className = String(value);
        else if (name.startsWith("on")) { // a listener, never an inline handler attribute
          if (typeof value === "function") el.addEventListener(name.slice(2), value);
        }
        else if (name === "hidden" || name === "disabled" || name === "checked") el[name] = Boolean(value);
        else if (name === "value") el.value = String(value);
        else el.setAttribute(name, value === true ? "" : String(value));
      }
    }
    add(el, children);
    return el;
  }

  function add(el, children) {
    for (const child of [children].flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  /** A link to one of this page's routes: the href is always "#/" plus encoded parts. */
  function link(parts, props, ...children) {
    const href = "#/" + parts.map((p) => encodeURIComponent(String(p))).join("/");
    return h("a", { ...props, href }, ...children);
  }

  function muted(text, testid) {
    return h("span", { class: "muted", testid }, text);
  }

  function shortId(id) {
    const s = String(id);
    return s.length > 12 ? s.slice(0, 8) + "…" : s;
  }

  /** An id, shortened, with the whole id in its title. */
  function idEl(id, testid) {
    if (id === null || id === undefined || id === "") return muted("—", testid);
    return h("code", { class: "id", title: String(id), "data-id": String(id), testid }, shortId(id));
  }

  /** A time as ISO 8601 UTC (answers carry Unix seconds; strings are shown parsed if they parse). */
  function isoTime(t) {
    if (t === null || t === undefined || t === "") return "—";
    const d = typeof t === "number" ? new Date(t * 1000) : new Date(String(t));
    if (Number.isNaN(d.getTime())) return String(t);
    return d.toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  function timeEl(t, testid) {
    const text = isoTime(t);
    if (text === "—") return muted(text, testid);
    const exact = typeof t === "number" ? new Date(t * 1000).toISOString() : text;
    return h("time", { datetime: exact, title: exact, testid }, text);
  }

  function seconds(t) {
    if (typeof t === "number") return t;
    const ms = Date.parse(String(t));
    return Number.isNaN(ms) ? null : ms / 1000;
  }

  /** "in 12 min" / "3 h ago" relative to now. */
  function relative(t) {
    const at = seconds(t);
    if (at === null) return "";
    const diff = at - Date.now() / 1000;
    const abs = Math.abs(diff);
    const amount = abs < 90 ? `${Math.round(abs)} s` : abs < 5400 ? `${Math.round(abs / 60)} min`
      : abs < 172800 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86400)} days`;
    return diff >= 0 ? `in ${amount}` : `${amount} ago`;
  }

  function scopeKeys(scope) {
    const rank = (k) => (SCOPE_ORDER.includes(k) ? SCOPE_ORDER.indexOf(k) : SCOPE_ORDER.length);
    return Object.keys(scope).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  }

  /** A dict scope as "project=q3 / user=u1", in hierarchy order (the whole value in title). */
  function scopeText(scope) {
    if (scope === null || scope === undefined) return "—";
    if (typeof scope !== "object") return String(scope);
    const keys = scopeKeys(scope);
    return keys.length ? keys.map((k) => `${k}=${scope[k]}`).join(" / ") : "(everything)";
  }

  function scopeEl(scope, testid) {
    const text = scopeText(scope);
    if (scope && typeof scope === "object") {
      const short = scopeKeys(scope).map((k) => {
        const value = String(scope[k]);
        const agent = k === "agent" ? state.agents.get(value) : null;
        return `${k}=${agent ? agentName(agent) : value.length > 20 ? shortId(value) : value}`;
      });
      return h("span", { class: "scope", title: text, testid }, short.length ? short.join(" / ") : text);
    }
    return h("span", { class: "scope", testid }, text);
  }

  function scopeId(scope) {
    return JSON.stringify(scopeKeys(scope || {}).map((k) => [k, String(scope[k])]));
  }

  /** Any JSON value as text (objects as compact JSON). */
  function valueText(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (typeof v === "object") return Array.isArray(v) && v.every((x) => typeof x !== "object") ? v.join(", ") : JSON.stringify(v);
    return String(v);
  }

  /** A value shown by what its name says it is: times, ids, agents, scopes, else text. */
  function fieldEl(name, v) {
    if (v === null || v === undefined) return muted("—");
    if (v instanceof Node) return v; // already built by the caller
    if ((name.endsWith("_at") || name === "time" || name === "timestamp" || name === "at") && typeof v === "number") return timeEl(v);
    if (["agent_id", "actor", "source", "target", "source_id", "target_id", "author_id", "agent"].includes(name) && typeof v === "string") return agentEl(v);
    if ((name === "scope" || name.endsWith("_scope")) && typeof v === "object") return scopeEl(v);
    if (name === "handoff_id" && typeof v === "string") return link(["handoffs", v], { title: v }, shortId(v));
    if (name === "pool_id" && typeof v === "string") return link(["pools", v], { title: v }, shortId(v));
    if (name.endsWith("_id") && typeof v === "string") return idEl(v);
    if (typeof v === "object") return h("code", { class: "json" }, JSON.stringify(v));
    return valueText(v);
  }

  /** A definition list of an object's fields. */
  function fields(obj, testidPrefix, skip = []) {
    const dl = h("dl", { class: "fields" });
    for (const [name, v] of Object.entries(obj || {})) {
      if (skip.includes(name)) continue;
      add(dl, [h("dt", null, label(name)), h("dd", { testid: testidPrefix ? `${testidPrefix}-${name}` : null }, fieldEl(name, v))]);
    }
    return dl;
  }

  function label(name) {
    const text = String(name).replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function table(testid, headers, rows) {
    return h("table", { testid },
      h("thead", null, h("tr", null, headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", null, rows));
  }

  function section(title, testid, ...children) {
    return h("section", { class: "card", testid }, h("h3", null, title), ...children);
  }

  function itemsOf(data, ...names) {
    if (Array.isArray(data)) return data;
    for (const name of [...names, "items"]) if (data && Array.isArray(data[name])) return data[name];
    return [];
  }

  // ------------------------------------------------------------------------------- agents' names

  function agentName(a) {
    return a.name || (a.metadata && a.metadata.external_id) || `${a.agent_type || "agent"} ${shortId(a.agent_id)}`;
  }

  /** Keep what an answer says of an agent (a full record wins over a partial one). */
  function rememberAgent(a) {
    if (!a || typeof a.agent_id !== "string") return;
    const known = state.agents.get(a.agent_id);
    if (!known || (a.capabilities && !known.capabilities)) state.agents.set(a.agent_id, { ...known, ...a });
    else if (!known.name && a.name) known.name = a.name;
  }

  /** An agent by name when known, else its short id; the id (and type) in the title. */
  function agentEl(id, nameHint) {
    if (id === null || id === undefined) return muted("system");
    const a = state.agents.get(id);
    const name = nameHint || (a ? agentName(a) : null);
    if (!name) return idEl(id);
    const you = state.me && state.me.agent_id === id ? " (you)" : "";
    const type = a && a.agent_type ? `, ${a.agent_type}` : "";
    return h("span", { class: "agent", title: `${id}${type}`, "data-agent-id": id }, name + you);
  }

  async function loadAgentNames() {
    if (!state.me) return;
    try {
      const data = await api("GET", "/v1/agents?user_id=" + encodeURIComponent(state.me.owner_id));
      itemsOf(data, "agents").forEach(rememberAgent);
    } catch (err) {
      if (err.signedOut) throw err; // names are a comfort: any other failure is ignored
    }
  }

  // ------------------------------------------------------------------------------------ the API

  class ApiError extends Error {
    constructor(status, code, message, retryable) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryable = retryable;
      this.signedOut = false;
    }
  }

  async function errorOf(resp) {
    let body = null;
    try {
      body = await resp.json();
    } catch (_) {
      body = null;
    }
    const e = (body && body.error) || {};
    const message = e.message || `${resp.status} ${resp.statusText || "error"}`;
    return new ApiError(resp.status, e.code || `http_${resp.status}`, message, Boolean(e.retryable));
  }

  /** Call the REST API with the key; a 401 signs out ("Your key is no longer valid: ..."). */
  async function api(method, path, body, opts = {}) {
    const key = state.key;
    if (!key) { // signed out meanwhile: a late call of a page that is gone
      const gone = new ApiError(401, "permission_denied", "signed out", false);
      gone.signedOut = true;
      throw gone;
    }
    const headers = { Authorization: `Bearer ${key}`, Accept: "application/json" };
    const init = { method, headers, cache: "no-store", credentials: "omit", signal: opts.signal };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      throw new ApiError(0, "network_error", `The server could not be reached (${err && err.message ? err.message : err}).`, true);
    }
    if (!resp.ok) {
      const err = await errorOf(resp);
      if (resp.status === 401 && !opts.signingIn && key === state.key) {
        err.signedOut = true;
        signOut(`Your key is no longer valid: ${err.message}`, true);
      }
      throw err;
    }
    return resp.status === 204 ? null : resp.json();
  }

  /** What a failed page section shows: 404 "not found (it may have been deleted)", 403, others. */
  function errorEl(err, what) {
    if (err && err.status === 404) {
      return h("p", { class: "notice", testid: "not-found", role: "status" },
        `${what || "This"} not found (it may have been deleted). `, muted(err.message));
    }
    if (err && err.status === 403) {
      return h("p", { class: "page-error", testid: "forbidden", role: "alert" }, `Permission denied: ${err.message}`);
    }
    if (err && err.status === 429) {
      return h("p", { class: "page-error", testid: "page-error", role: "alert" }, `Too many requests: ${err.message} Try again shortly.`);
    }
    const message = err && err.message ? err.message : String(err);
    return h("p", { class: "page-error", testid: "page-error", role: "alert" }, message);
  }

  const loads = new WeakMap(); // box -> its newest load: an older answer arriving late is dropped

  /** Fill ``box`` with "Loading…", then with render(await fetcher()) or the error. */
  async function load(box, what, fetcher, render) {
    const generation = state.generation;
    const token = {};
    loads.set(box, token);
    box.replaceChildren(h("p", { class: "muted", testid: "loading" }, "Loading…"));
    let content;
    try {
      content = render(await fetcher());
    } catch (err) {
      if (err && (err.signedOut || err.name === "AbortError")) return;
      if (loads.get(box) !== token) return;
      if (err instanceof ApiError) content = errorEl(err, what);
      else {
        console.error(err); // eslint-disable-line no-console
        content = errorEl(new Error(`The console could not show this answer (${err && err.message}).`));
      }
    }
    if (generation !== state.generation || loads.get(box) !== token) return;
    const frag = document.createDocumentFragment();
    add(frag, [content]);
    box.replaceChildren(frag);
  }

  // ------------------------------------------------------------------------- sign in, sign out

  function renderSignIn(message, isError) {
    state.main = null;
    const input = h("input", {
      id: "api-key", type: "password", name: "api-key", testid: "key-input", autocomplete: "off",
      spellcheck: "false", placeholder: "maas_…", required: true,
    });
    const note = h("p", { class: isError ? "page-error" : "notice", testid: "signin-message", role: "alert", hidden: !message }, message || "");
    const button = h("button", { type: "submit", testid: "sign-in" }, "Sign in");
    const form = h("form", { class: "signin card", testid: "signin-form" },
      h("h1", null, "MaaS console"),
      h("p", null, "Paste an API key (", h("code", null, "maas keys create"), "). The console shows what the REST API shows this key: nothing more."),
      h("label", { for: "api-key" }, "API key"),
      input, button, note,
      h("p", { class: "muted small" }, "The key stays in this tab (sessionStorage) and is sent only to this server, as a Bearer token."));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      button.disabled = true;
      note.hidden = true;
      await signIn(key);
      button.disabled = false;
    });
    document.getElementById("app").replaceChildren(h("main", { class: "signin-page" }, form));
    input.focus();
  }

  /** Check the key with GET /v1/me, then show the pages (``stored``: a key kept from before a reload). */
  async function signIn(key, stored) {
    state.key = key;
    let me;
    try {
      me = await api("GET", "/v1/me", undefined, { signingIn: true });
    } catch (err) {
      state.key = null;
      sessionStorage.removeItem(KEY_NAME);
      const refused = stored ? "Your key is no longer valid" : "This key was refused";
      renderSignIn(err.status === 401 ? `${refused}: ${err.message}` : `Could not sign in: ${err.message}`, true);
      return;
    }
    sessionStorage.setItem(KEY_NAME, key);
    state.me = me;
    state.agents.clear();
    rememberAgent(me);
    try {
      await loadAgentNames();
    } catch (_) {
      return; // signed out meanwhile
    }
    renderShell();
    const path = location.hash.replace(/^#/, "");
    if (!path || path === "/") history.replaceState(null, "", "#/overview");
    route();
  }

  function signOut(message, isError) {
    stopEvents();
    state.generation += 1;
    state.key = null;
    state.me = null;
    state.agents.clear();
    sessionStorage.removeItem(KEY_NAME);
    renderSignIn(message, isError);
  }

  const PAGES_NAV = [
    ["overview", "Overview"], ["agents", "Agents"], ["pools", "Pools"], ["memories", "Memories"],
    ["handoffs", "Handoffs"], ["entities", "Entities"], ["audit", "Audit"], ["events", "Live events"],
  ];

  function renderShell() {
    state.nav.clear();
    const nav = h("nav", { "aria-label": "Pages" });
    for (const [name, text] of PAGES_NAV) {
      const a = link([name], { testid: `nav-${name}` }, text);
      state.nav.set(name, a);
      nav.appendChild(a);
    }
    const me = state.me;
    const who = h("span", { class: "whoami", testid: "whoami", title: me.agent_id },
      agentName(me), " ", h("span", { class: "badge" }, me.agent_type));
    const out = h("button", { type: "button", class: "secondary", testid: "sign-out", onclick: () => signOut("Signed out.", false) }, "Sign out");
    state.main = h("main", { id: "view", testid: "view" });
    document.getElementById("app").replaceChildren(
      h("header", { class: "topbar" }, h("span", { class: "brand" }, "MaaS console"), nav, h("span", { class: "spacer" }), who, out),
      state.main);
  }

  // ----------------------------------------------------------------------------------- router

  const ROUTES = [
    [/^\/overview$/, "overview", pageOverview],
    [/^\/agents$/, "agents", pageAgents],
    [/^\/pools$/, "pools", pagePools],
    [/^\/pools\/([^/]+)$/, "pools", pagePool],
    [/^\/memories$/, "memories", pageMemories],
    [/^\/handoffs$/, "handoffs", pageHandoffs],
    [/^\/handoffs\/([^/]+)$/, "handoffs", pageHandoff],
    [/^\/entities$/, "entities", pageEntities],
    [/^\/audit$/, "audit", pageAudit],
    [/^\/events$/, "events", pageEvents],
  ];

  function route() {
    stopEvents();
    state.generation += 1;
    if (!state.key || !state.main) return;
    const path = location.hash.replace(/^#/, "") || "/overview";
    for (const [pattern, nav, page] of ROUTES) {
      const m = pattern.exec(path);
      if (!m) continue;
      let params;
      try {
        params = m.slice(1).map(decodeURIComponent);
      } catch (_) {
        break;
      }
      for (const [name, a] of state.nav) a.classList.toggle("active", name === nav);
      const view = h("div", { class: "page", testid: `page-${nav}` });
      state.main.replaceChildren(view);
      try {
        page(view, ...params);
      } catch (err) {
        console.error(err); // eslint-disable-line no-console
        view.appendChild(errorEl(err));
      }
      return;
    }
    state.main.replaceChildren(h("div", { class: "page", testid: "page-unknown" },
      h("h2", null, "No such page"), h("p", null, link(["overview"], null, "Go to the overview"))));
  }

  // --------------------------------------------------------------------------------- overview

  function pageOverview(view) {
    const box = h("div");
    add(view, [h("h2", null, "Overview"), box]);
    load(box, "The overview", () => api("GET", "/v1/overview"), (d) => {
      const out = [];
      const me = [d.agent, d.me].find((x) => x && typeof x === "object") || state.me;
      out.push(section("Signed in as", "overview-me", h("p", null, agentEl(me.agent_id), " ", h("span", { class: "badge" }, me.agent_type || ""),
        " · owner ", h("code", null, String(me.owner_id || "—")))));
      const counts = d.counts || {};
      const dl = h("dl", { class: "counts" });
      for (const [name, v] of Object.entries(counts)) {
        if (typeof v === "boolean") continue; // a flag such as memories_capped: "+" on its count
        const capped = counts[`${name}_capped`] === true ? "+" : "";
        add(dl, h("div", { class: "count" }, h("dt", null, label(name)), h("dd", { testid: `count-${name}` }, valueText(v) + capped)));
      }
      out.push(section("Counts", "overview-counts", Object.keys(counts).length ? dl : muted("No counts.")));
      if (d.health !== undefined) out.push(section("Health", "health", healthEl(d.health)));
      out.push(auditStatusEl(d.audit !== undefined ? d.audit : d.audit_chain));
      const rest = Object.fromEntries(Object.entries(d).filter(([k]) => !["agent", "me", "counts", "health", "audit", "audit_chain"].includes(k)));
      if (Object.keys(rest).length) out.push(section("More", "overview-more", fields(rest, "overview")));
      return out;
    });
  }

  function healthEl(health) {
    if (health === null || typeof health !== "object") return h("p", { testid: "health-status" }, valueText(health));
    const ok = health.ok !== undefined ? health.ok : health.status;
    const text = ok === true ? "ok" : ok === false ? "degraded" : valueText(ok);
    return [h("p", { testid: "health-status", class: ok === false ? "bad" : "good" }, text), fields(health, "health", ["ok"])];
  }

  function auditStatusEl(audit) {
    if (!audit || typeof audit !== "object" || typeof (audit.intact !== undefined ? audit.intact : audit.ok) !== "boolean") {
      const why = audit && audit.reason ? audit.reason : "The audit log is for HUMAN keys only.";
      return section("Audit chain", "overview-audit", h("p", { class: "muted", testid: "audit-unavailable" }, why));
    }
    const intact = audit.intact !== undefined ? audit.intact : audit.ok;
    const problem = audit.problem || (Array.isArray(audit.problems) && audit.problems[0]) || "unknown problem";
    return section("Audit chain", "overview-audit",
      h("p", null, "Status: ", h("strong", { testid: "audit-status", class: intact ? "good" : "bad" }, intact ? "intact" : `BROKEN: ${problem}`)),
      typeof audit.checked === "number" ? h("p", null, `${audit.checked} entries checked`,
        typeof audit.entries === "number" ? ` of ${audit.entries} in the log.` : ".") : null,
      h("p", null, "Last anchor: ", anchorEl(audit.last_anchor)));
  }

  function anchorEl(anchor) {
    if (!anchor) return muted("none yet (maas audit anchor)", "audit-anchor");
    return h("span", { testid: "audit-anchor" }, `entry ${anchor.seq} of ${anchor.count}, signed `, timeEl(anchor.time),
      " · hash ", idEl(anchor.hash), anchor.location ? ` · ${anchor.location}` : "");
  }

  // ----------------------------------------------------------------------------------- agents

  function pageAgents(view) {
    const box = h("div");
    add(view, [h("h2", null, "Agents"), box]);
    load(box, "This agent", async () => {
      const me = await api("GET", "/v1/me");
      state.me = me;
      rememberAgent(me);
      const [list, pools] = await Promise.all([
        api("GET", "/v1/agents?user_id=" + encodeURIComponent(me.owner_id)).catch(softly),
        api("GET", "/v1/pools").catch(softly),
      ]);
      if (!(list instanceof Error)) itemsOf(list, "agents").forEach(rememberAgent);
      return { me, list, pools };
    }, ({ me, list, pools }) => {
      const myPools = pools instanceof Error ? errorEl(pools) : itemsOf(pools, "pools").map((p) =>
        h("li", null, link(["pools", p.pool_id], null, p.name || shortId(p.pool_id)), " ", muted(p.your_permission || p.permission || "not a member")));
      const mine = section("This key's agent", "me-agent",
        fields({ name: agentName(me), agent_id: idEl(me.agent_id), agent_type: me.agent_type, owner_id: me.owner_id,
          project_id: me.project_id, team_id: me.team_id, created_at: me.created_at }, "me"),
        h("p", null, "Capabilities: ", capsEl(me.capabilities)),
        h("p", null, "Status: ", statusEl(me.active)),
        h("h4", null, "Pools it can look at (its permission)"),
        Array.isArray(myPools) ? (myPools.length ? h("ul", { testid: "me-pools" }, myPools) : muted("none")) : myPools);
      if (list instanceof Error) return [mine, section(`Agents of ${me.owner_id}`, "owner-agents", errorEl(list))];
      const rows = itemsOf(list, "agents").map((a) => h("tr", { testid: "agent-row", "data-agent-id": a.agent_id, class: a.active === false ? "inactive" : null },
        h("td", { testid: "agent-name" }, agentEl(a.agent_id)), h("td", null, idEl(a.agent_id)), h("td", { testid: "agent-type" }, a.agent_type),
        h("td", null, capsEl(a.capabilities)), h("td", null, [a.project_id, a.team_id].filter(Boolean).join(" / ") || "—"),
        h("td", null, statusEl(a.active)), h("td", null, timeEl(a.created_at))));
      return [mine, section(`Agents of ${me.owner_id}`, "owner-agents",
        table("agents-table", ["Name", "Id", "Type", "Capabilities", "Project / team", "Status", "Registered"], rows))];
    });
  }

  /** Keep a failed secondary request as a value (a 401 still signs out). */
  function softly(err) {
    if (err && err.signedOut) throw err;
    return err instanceof Error ? err : new Error(String(err));
  }

  function capsEl(caps) {
    if (!Array.isArray(caps) || !caps.length) return muted("none");
    return h("span", { class: "chips", testid: "capabilities" }, caps.map((c) => h("span", { class: "chip" }, c)));
  }

  function statusEl(active) {
    if (active === undefined || active === null) return muted("—", "agent-status");
    return h("span", { class: active ? "good" : "bad", testid: "agent-status" }, active ? "active" : "deactivated");
  }

  // ------------------------------------------------------------------------------------ pools

  function pagePools(view) {
    const box = h("div");
    add(view, [h("h2", null, "Pools"), box]);
    load(box, "The pool list", () => api("GET", "/v1/pools"), (data) => {
      const pools = itemsOf(data, "pools");
      if (!pools.length) return h("p", { class: "muted", testid: "pools-empty" }, "This key's agent is in no pool.");
      return table("pools-table", ["Name", "Id", "Scope", "Status", "Your permission", "Members", "Created"], pools.map((p) =>
        h("tr", { testid: "pool-row", "data-pool-id": p.pool_id },
          h("td", null, link(["pools", p.pool_id], { testid: "pool-link" }, p.name || shortId(p.pool_id))),
          h("td", null, idEl(p.pool_id)), h("td", null, valueText(p.scope)), h("td", null, valueText(p.status)),
          h("td", null, p.your_permission === null ? muted("not a member") : valueText(p.your_permission || p.permission)),
          h("td", null, valueText(p.member_count !== undefined ? p.member_count : Array.isArray(p.members) ? p.members.length : p.members)),
          h("td", null, timeEl(p.created_at)))));
    });
  }

  function pagePool(view, poolId) {
    const head = h("h2", null, "Pool ", idEl(poolId));
    const info = h("div");
    const members = h("div");
    const shares = h("div");
    add(view, [h("p", null, link(["pools"], null, "← All pools")), head, info, members, shares]);
    const path = "/v1/pools/" + encodeURIComponent(poolId);
    load(members, "Pool", async () => {
      const [data, list] = await Promise.all([api("GET", path + "/members"), api("GET", "/v1/pools").catch(softly)]);
      const pool = data.pool || itemsOf(list instanceof Error ? [] : list, "pools").find((p) => p.pool_id === poolId) || null;
      return { data, pool };
    }, ({ data, pool }) => {
      if (pool) {
        head.replaceChildren(document.createTextNode(`Pool ${pool.name || ""} `), idEl(poolId));
        info.replaceChildren(section("Pool", "pool-detail", fields(pool, "pool", ["name"])));
      }
      const list = itemsOf(data, "members");
      const agentOf = (m) => (m.agent && typeof m.agent === "object" ? { ...m, ...m.agent } : m);
      list.forEach((m) => rememberAgent(agentOf(m)));
      const rows = list.map((m) => {
        const a = agentOf(m);
        return h("tr", { testid: "member-row", "data-agent-id": a.agent_id },
          h("td", null, agentEl(a.agent_id, a.name)), h("td", null, valueText(a.agent_type)),
          h("td", { testid: "member-permission" }, valueText(m.permission)),
          h("td", null, timeEl(m.joined_at)), h("td", null, a.active === undefined ? muted("—") : statusEl(a.active)));
      });
      return section("Members and permissions", "pool-members",
        rows.length ? table("members-table", ["Agent", "Type", "Permission", "Joined", "Status"], rows) : muted("No members."));
    });
    const noPool = (err) => { // the members box already says the pool is not found
      if (err && err.status === 404) return null;
      throw err;
    };
    load(shares, "Pool", () => api("GET", path + "/shares?max_scope=global&limit=100").catch(noPool), (data) => {
      if (data === null) return null;
      const items = itemsOf(data, "memories", "shares");
      const groups = new Map();
      for (const s of items) {
        const scope = typeof s.scope === "string" ? s.scope : scopeText(s.scope);
        if (!groups.has(scope)) groups.set(scope, []);
        groups.get(scope).push(s);
      }
      const order = [...SHARE_SCOPES.filter((s) => groups.has(s)), ...[...groups.keys()].filter((s) => !SHARE_SCOPES.includes(s))];
      const body = order.map((scope) => h("div", { class: "share-group", testid: `shares-${scope}` },
        h("h4", null, `${scope} (${groups.get(scope).length})`),
        h("ul", { class: "memories" }, groups.get(scope).map((s) => h("li", { testid: "share-item", "data-memory-id": s.memory_id },
          h("div", { class: "content", testid: "share-content" }, valueText(s.content)),
          h("div", { class: "meta" }, valueText(s.category), " · by ", agentEl(s.author_id), " · shared ", timeEl(s.shared_at), " · ", idEl(s.memory_id)))))));
      return section("Shares by scope", "pool-shares", body.length ? body : muted("No shares this key may see."),
        items.length >= 100 ? h("p", { class: "muted" }, "Showing the first 100 shares.") : null);
    });
  }

  // --------------------------------------------------------------------------------- memories

  /**
   * The scope tree: each node is a scope this key can see (POST /v1/memories/scopes), with its
   * memory count. Expanding a node lists the memories at exactly that scope, page by page (POST
   * /v1/memories/history), under the node, with the scopes below it; several nodes can be open
   * at once. Picking a memory opens "who can see this?" (GET /v1/memories/{id}/readers).
   */
  function pageMemories(view) {
    const nodes = new Map(); // scopeId -> node
    const roots = h("ul", { class: "scope-roots" });
    const note = h("p", { class: "muted small", hidden: true, testid: "scopes-truncated" });
    const treeBox = h("div", { class: "tree", testid: "scope-tree" });
    const readersBox = h("aside", { class: "readers-box" }, muted("Pick a memory to see who can read it."));
    add(view, [h("h2", null, "Memories"),
      h("p", { class: "muted" }, "The scopes this key can see, with how many memories each holds. Open a scope to list its memories; pick a memory to see who else can read it."),
      h("div", { class: "columns" }, treeBox, readersBox)]);

    const keyCount = (scope) => Object.keys(scope).length;
    const isAncestor = (a, b) => keyCount(a) < keyCount(b) && Object.keys(a).every((k) => String(b[k]) === String(a[k]));

    function parentOf(scope) {
      let best = null;
      for (const n of nodes.values()) if (isAncestor(n.scope, scope) && (!best || keyCount(n.scope) > keyCount(best.scope))) best = n;
      return best;
    }

    function put(scope, count) {
      const id = scopeId(scope);
      const known = nodes.get(id);
      if (known) {
        if (typeof count === "number" && known.count !== count) {
          known.count = count;
          known.countEl.textContent = `(${count})`;
        }
        return;
      }
      const parent = parentOf(scope);
      const own = parent ? Object.fromEntries(scopeKeys(scope).filter((k) => !(k in parent.scope)).map((k) => [k, scope[k]])) : scope;
      const node = { scope, count, expanded: false, loaded: false };
      node.countEl = h("span", { class: "count", testid: "scope-count" }, typeof count === "number" ? `(${count})` : "");
      node.twisty = h("span", { class: "twisty", "aria-hidden": "true" }, "▸");
      node.button = h("button", { type: "button", class: "node", testid: "scope-node", "data-scope": scopeText(scope), title: scopeText(scope),
        "aria-expanded": "false", onclick: () => toggle(node) }, node.twisty, " ", scopeEl(own), " ", node.countEl);
      node.listBox = h("div", { class: "memories-box", testid: "memories", "data-scope": scopeText(scope) });
      node.kids = h("ul");
      node.body = h("div", { class: "scope-body", hidden: true }, node.listBox, node.kids);
      nodes.set(id, node);
      (parent ? parent.kids : roots).appendChild(h("li", null, node.button, node.body));
    }

    /** Add the scopes of an answer, ancestors first (a node's parent exists before it). */
    function merge(data) {
      const found = [];
      if (data && data.scope && typeof data.scope === "object") found.push({ scope: data.scope, count: undefined });
      for (const item of itemsOf(data, "scopes")) if (item && item.scope && typeof item.scope === "object") found.push(item);
      found.sort((a, b) => keyCount(a.scope) - keyCount(b.scope) || scopeText(a.scope).localeCompare(scopeText(b.scope)));
      for (const item of found) put(item.scope, item.count);
      if (data && (data.truncated || data.next_cursor)) {
        note.hidden = false;
        note.textContent = "More scopes hold memories than are listed here: open a scope to list the ones below it.";
      }
    }

    function toggle(node) {
      node.expanded = !node.expanded;
      node.button.setAttribute("aria-expanded", String(node.expanded));
      node.button.classList.toggle("open", node.expanded);
      node.twisty.textContent = node.expanded ? "▾" : "▸";
      node.body.hidden = !node.expanded;
      if (node.expanded && !node.loaded) {
        node.loaded = true;
        showPage(node, [], null);
        // the scopes below this one (the first answer may have stopped at its limit)
        api("POST", "/v1/memories/scopes", { scope: node.scope }).then(merge).catch(() => {}); // a 401 has signed out
      }
    }

    function showPage(node, previous, cursor) {
      const body = { scope: node.scope, descendants: false, limit: PAGE_SIZE };
      if (cursor) body.cursor = cursor;
      load(node.listBox, "This scope", () => api("POST", "/v1/memories/history", body), (data) => {
        const items = itemsOf(data, "memories");
        const pager = previous.length || data.next_cursor ? h("p", { class: "pager" },
          h("button", { type: "button", class: "secondary", testid: "prev-page", disabled: !previous.length,
            onclick: () => showPage(node, previous.slice(0, -1), previous[previous.length - 1]) }, "Previous page"),
          h("span", { testid: "page-number" }, `Page ${previous.length + 1}`),
          h("button", { type: "button", testid: "next-page", disabled: !data.next_cursor,
            onclick: () => showPage(node, [...previous, cursor], data.next_cursor) }, "Next page")) : null;
        if (!items.length) return muted(previous.length ? "No more memories." : "No memory at exactly this scope.", "memories-empty");
        return [h("ul", { class: "memories", testid: "memory-list" }, items.map((m) => memoryItem(m, node.scope))), pager];
      });
    }

    /** A memory in the list of ``at`` (one kept at an ancestor scope is marked "inherited from"). */
    function memoryItem(m, at) {
      const inherited = m.scope && typeof m.scope === "object" && scopeId(m.scope) !== scopeId(at);
      const li = h("li", { testid: "memory-item", "data-memory-id": m.memory_id, tabindex: "0", title: "Who can see this?",
        class: `memory status-${m.status}${inherited ? " inherited" : ""}` },
      h("div", { class: "content", testid: "memory-content" }, valueText(m.content)),
      h("div", { class: "meta" }, h("span", { class: "badge" }, valueText(m.category)), " ",
        h("span", { class: "badge", testid: "memory-status" }, valueText(m.status)),
        " by ", agentEl(m.author_id), " · ", timeEl(m.created_at), " · ", idEl(m.memory_id),
        inherited ? [" · inherited from ", scopeEl(m.scope, "memory-inherited")] : ""));
      const open = () => {
        for (const other of treeBox.querySelectorAll(".memory.selected")) other.classList.remove("selected");
        li.classList.add("selected");
        showReaders(m);
      };
      li.addEventListener("click", open);
      li.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault();
          open();
        }
      });
      return li;
    }

    function showReaders(m) {
      const box = h("div");
      readersBox.replaceChildren(h("section", { class: "card", testid: "readers" }, h("h3", null, "Who can see this?"),
        h("div", { class: "content quote", testid: "readers-memory" }, valueText(m.content)), box));
      load(box, "This memory", () => api("GET", "/v1/memories/" + encodeURIComponent(m.memory_id) + "/readers"), (d) => {
        const readers = itemsOf(d, "readers");
        readers.forEach(rememberAgent);
        const other = Number(d.other_owners || 0);
        return [fields({ memory_id: d.memory_id, scope: d.scope, status: d.status }, "readers"),
          h("p", { testid: "readers-count" }, `${readers.length} agent${readers.length === 1 ? "" : "s"} of this owner can read it:`),
          readers.length ? h("ul", { class: "readers", testid: "reader-list" }, readers.map((r) => h("li", { testid: "reader", "data-agent-id": r.agent_id },
            agentEl(r.agent_id, r.name), " ", h("span", { class: "badge" }, valueText(r.agent_type)),
            h("div", { class: "muted small" }, "why: ", h("span", { testid: "reader-reason" }, valueText(r.reason)))))) : muted("none"),
          other ? h("p", { testid: "other-owners", class: "notice" }, `And ${other} agent${other === 1 ? "" : "s"} of other owners (not listed: this key may not see them).`) : null];
      });
    }

    load(treeBox, "Scopes", () => api("POST", "/v1/memories/scopes", { scope: null }), (data) => {
      merge(data);
      return [h("h3", null, "Scopes"), nodes.size ? roots : muted("No scope with memories.", "scopes-empty"), note];
    });
  }

  // --------------------------------------------------------------------------------- handoffs

  const HANDOFF_STEPS = ["pending", "accepted", "completed"];
  const TERMINAL = ["completed", "rejected", "expired", "cancelled"];

  function pageHandoffs(view) {
    const box = h("div");
    const role = h("select", { testid: "handoff-role", "aria-label": "Role" },
      [["any", "sent or received"], ["source", "sent"], ["target", "received"]].map(([v, t]) => h("option", { value: v }, t)));
    const status = h("select", { testid: "handoff-status-filter", "aria-label": "Status" }, h("option", { value: "" }, "in any state"),
      ["pending", "accepted", "completed", "rejected", "expired", "cancelled"].map((v) => h("option", { value: v }, v)));
    role.addEventListener("change", () => show([], null));
    status.addEventListener("change", () => show([], null));
    add(view, [h("h2", null, "Handoffs"), h("p", { class: "controls" }, "Handoffs this key's agent ", role, " ", status), box]);

    function show(previous, cursor) {
      let path = `/v1/handoffs?role=${encodeURIComponent(role.value)}&limit=100`;
      if (status.value) path += "&status=" + encodeURIComponent(status.value);
      if (cursor) path += "&cursor=" + encodeURIComponent(cursor);
      load(box, "Handoffs", () => api("GET", path), (data) => {
        const items = itemsOf(data, "handoffs");
        const pager = h("p", { class: "pager" },
          h("button", { type: "button", class: "secondary", testid: "prev-page", disabled: !previous.length,
            onclick: () => show(previous.slice(0, -1), previous[previous.length - 1]) }, "Previous page"),
          h("span", { testid: "page-number" }, `Page ${previous.length + 1}`),
          h("button", { type: "button", testid: "next-page", disabled: !data.next_cursor, onclick: () => show([...previous, cursor], data.next_cursor) }, "Next page"));
        if (!items.length) return [h("p", { class: "muted", testid: "handoffs-empty" }, "No handoff."), pager];
        return [table("handoffs-table", ["Task", "From", "To", "Status", "Created", "TTL deadline", "Finished"], items.map((x) =>
          h("tr", { testid: "handoff-row", "data-handoff-id": x.handoff_id },
            h("td", null, link(["handoffs", x.handoff_id], { testid: "handoff-link" }, taskOf(x))),
            h("td", null, agentEl(x.source_id)), h("td", null, agentEl(x.target_id)),
            h("td", null, h("span", { class: `state state-${x.status}`, testid: "handoff-row-status" }, valueText(x.status))),
            h("td", null, timeEl(x.created_at)), h("td", null, timeEl(x.expires_at)), h("td", null, timeEl(x.finished_at))))), pager];
      });
    }
    show([], null);
  }

  function taskOf(handoff) {
    const task = handoff.context && handoff.context.task_description;
    return task ? String(task) : `handoff ${shortId(handoff.handoff_id)}`;
  }

  function pageHandoff(view, handoffId) {
    const box = h("div");
    add(view, [h("p", null, link(["handoffs"], null, "← All handoffs")), h("h2", null, "Handoff ", idEl(handoffId)), box]);
    load(box, "Handoff", () => api("GET", "/v1/handoffs/" + encodeURIComponent(handoffId) + "/timeline"), (d) => {
      const x = d.handoff || {};
      const events = itemsOf(d, "events");
      const open = !TERMINAL.includes(x.status);
      const deadline = h("p", { testid: "handoff-deadline" }, "TTL deadline: ", timeEl(x.expires_at),
        x.expires_at ? ` (${open ? relative(x.expires_at) : "the handoff is closed"})` : "");
      const timeline = h("section", { class: "card", testid: "handoff-timeline" },
        h("h3", null, "Timeline"),
        h("p", { class: "stage", testid: "handoff-stage" }, stageText(x)),
        h("p", null, "From ", agentEl(x.source_id), " to ", agentEl(x.target_id), " · status ",
          h("span", { class: `state state-${x.status}`, testid: "handoff-status" }, valueText(x.status))),
        statesEl(x), deadline,
        h("h4", null, "Who did what"),
        events.length ? h("ol", { class: "timeline", testid: "timeline-events" }, events.map((ev) =>
          h("li", { testid: "timeline-event", "data-action": ev.action, "data-outcome": ev.outcome, class: `outcome-${ev.outcome}` },
            timeEl(ev.at), " ", agentEl(ev.actor, ev.actor_name), " ", h("strong", { testid: "timeline-action" }, valueText(ev.action)),
            " → ", h("span", { testid: "timeline-outcome" }, valueText(ev.outcome)),
            ev.reason ? h("div", { class: "muted small" }, "Reason: ", String(ev.reason)) : null))) : muted("No event recorded."));
      return [
        h("p", { class: "task", testid: "handoff-task" }, taskOf(x)),
        timeline,
        section("Context", "handoff-context", fields(x.context || {}, "context")),
        x.result !== undefined && x.result !== null ? section("Result", "handoff-result", h("pre", { class: "json" }, JSON.stringify(x.result, null, 2))) : null,
        x.reason ? section("Reason", "handoff-reason", h("p", null, String(x.reason))) : null,
      ];
    });
  }

  function stageText(x) {
    const target = x.target_id ? nameOf(x.target_id) : "the target";
    switch (x.status) {
      case "pending": return `Waiting for ${target} to accept it (deadline ${isoTime(x.expires_at)}, ${relative(x.expires_at)}).`;
      case "accepted": return `Accepted by ${target}; waiting for it to complete (deadline ${isoTime(x.expires_at)}, ${relative(x.expires_at)}).`;
      case "completed": return `Completed by ${target} at ${isoTime(x.finished_at)}.`;
      case "rejected": return `Rejected by ${target} at ${isoTime(x.finished_at)}${x.reason ? `: ${x.reason}` : ""}.`;
      case "expired": return `Expired at ${isoTime(x.finished_at || x.expires_at)}: nobody finished it before its TTL deadline.`;
      case "cancelled": return `Cancelled by ${x.source_id ? nameOf(x.source_id) : "the source"} at ${isoTime(x.finished_at)}.`;
      default: return `Status: ${valueText(x.status)}.`;
    }
  }

  function nameOf(id) {
    const a = state.agents.get(id);
    return a ? agentName(a) : shortId(id);
  }

  /** The lifecycle as steps: initiated (pending) → accepted → completed, or the side exit taken. */
  function statesEl(x) {
    const end = TERMINAL.includes(x.status) ? x.status : "completed";
    const steps = [
      ["pending", "initiated", x.created_at, true],
      ["accepted", "accepted", x.accepted_at, Boolean(x.accepted_at)],
      [end, end, TERMINAL.includes(x.status) ? x.finished_at : null, TERMINAL.includes(x.status)],
    ];
    return h("ol", { class: "states", testid: "handoff-states" }, steps.map(([state, text, at, reached]) =>
      h("li", { class: `${state === x.status ? "current" : reached ? "done" : "todo"} state-${state}`, "data-state": state, testid: "handoff-step" },
        h("strong", null, text), " ", at ? timeEl(at) : muted("not reached"))));
  }

  // --------------------------------------------------------------------------------- entities

  function pageEntities(view) {
    const asOf = h("input", { type: "text", testid: "as-of", placeholder: "now, or 2026-01-01T00:00:00Z", "aria-label": "As of" });
    const filter = h("input", { type: "search", testid: "entity-filter", placeholder: "entity name", "aria-label": "Entity name" });
    const box = h("div");
    const form = h("form", { class: "filters", testid: "entity-form" }, h("label", null, "As of ", asOf), h("label", null, "Entity ", filter),
      h("button", { type: "submit", testid: "entity-load" }, "Show"));
    form.addEventListener("submit", (ev) => { ev.preventDefault(); show(); });
    add(view, [h("h2", null, "Entities"),
      h("p", { class: "muted" }, "Facts extracted from memories at this key's scope, with every value they had: who wrote it, when, and what replaced it."),
      form, box]);

    function show() {
      const body = { scope: null, history: true };
      const when = asOf.value.trim();
      if (when) body.as_of = when;
      if (filter.value.trim()) body.entity = filter.value.trim();
      load(box, "Entity state", () => api("POST", "/v1/state", body), (d) => {
        const entities = itemsOf(d, "entities");
        const head = h("p", { testid: "state-scope" }, "Scope ", scopeEl(d.scope), d.as_of ? [" as of ", timeEl(d.as_of)] : "",
          d.pending_extractions ? ` · ${d.pending_extractions} memories not yet extracted` : "");
        if (!entities.length) return [head, h("p", { class: "muted", testid: "entities-empty" }, "No entity here yet.")];
        return [head, ...entities.map(entityEl)];
      });
    }
    show();
  }

  function entityEl(e) {
    const facts = [...(e.attributes || []), ...(e.relations || [])];
    const byId = new Map(facts.map((f) => [f.fact_id, f]));
    return h("section", { class: "card entity", testid: "entity", "data-entity-name": e.name, "data-entity-id": e.entity_id },
      h("h3", null, valueText(e.name), " ", h("span", { class: "badge" }, valueText(e.type)), " ", scopeEl(e.scope)),
      e.aliases && e.aliases.length ? h("p", { class: "muted small" }, "Also: ", e.aliases.join(", ")) : null,
      factsTable("entity-attributes", "Attribute", e.attributes || [], byId),
      e.relations && e.relations.length ? factsTable("entity-relations", "Relation", e.relations, byId) : null);
  }

  function factsTable(testid, what, facts, byId) {
    if (!facts.length) return muted(`No ${what.toLowerCase()}.`);
    const keys = [...new Set(facts.map((f) => f.key))];
    const rows = [];
    for (const key of keys) {
      const chain = facts.filter((f) => f.key === key).sort((a, b) => (b.valid_from || 0) - (a.valid_from || 0));
      chain.forEach((f, i) => rows.push(h("tr", { testid: "fact", "data-key": key, "data-status": f.status, class: `fact fact-${f.status}${i ? " older" : ""}` },
        h("td", null, i ? "" : key), h("td", { testid: "fact-value" }, valueText(f.value)),
        h("td", null, h("span", { class: `badge fact-${f.status}`, testid: "fact-status" }, valueText(f.status))),
        h("td", null, timeEl(f.valid_from)), h("td", null, timeEl(f.valid_to)),
        h("td", { testid: "fact-agent" }, agentEl(f.agent_id)),
        h("td", { testid: "superseded-by" }, replacedEl(f, byId)),
        h("td", null, idEl(f.memory_id)))));
    }
    return table(testid, [what, "Value", "Status", "From", "Until", "Written by", "What replaced it", "Memory"], rows);
  }

  function replacedEl(f, byId) {
    const next = f.superseded_by || f.overridden_by;
    if (!next) return f.status === "ended" || f.status === "retracted" ? muted(f.status) : muted("—");
    const full = byId.get(next.fact_id);
    return h("span", null, f.superseded_by ? "→ " : "overridden by ", h("strong", null, valueText(next.value)),
      full ? [" by ", agentEl(full.agent_id), " at ", timeEl(full.valid_from)] : "");
  }

  // ------------------------------------------------------------------------------------ audit

  function pageAudit(view) {
    const input = (testid, placeholder, list) => h("input", { type: "text", testid, placeholder, list });
    const eventType = h("select", { testid: "filter-event-type" }, h("option", { value: "" }, "any"), EVENT_TYPES.map((t) => h("option", { value: t }, t)));
    const action = input("filter-action", "remember, accept, share…");
    const actor = input("filter-actor", "agent id", "known-agents");
    const outcome = input("filter-outcome", "success, denied…", "known-outcomes");
    const since = input("filter-since", "2026-01-01T00:00:00Z");
    const until = input("filter-until", "2026-12-31T23:59:59Z");
    const agentsList = h("datalist", { id: "known-agents" }, [...state.agents.values()].map((a) => h("option", { value: a.agent_id, label: agentName(a) })));
    const outcomes = h("datalist", { id: "known-outcomes" }, ["success", "denied", "failure", "quarantined"].map((o) => h("option", { value: o })));
    const verifyBox = h("div", { class: "verify", testid: "audit-verify", role: "status" });
    const verify = h("button", { type: "button", class: "secondary", testid: "verify-chain" }, "Verify chain");
    const box = h("div");
    const form = h("form", { class: "filters", testid: "audit-filters" },
      h("label", null, "Event type ", eventType), h("label", null, "Action ", action), h("label", null, "Actor ", actor),
      h("label", null, "Outcome ", outcome), h("label", null, "Since ", since), h("label", null, "Until ", until),
      h("button", { type: "submit", testid: "audit-search" }, "Search"), verify, agentsList, outcomes);
    add(view, [h("h2", null, "Audit log"), h("p", { class: "muted" }, "Entries of this owner's agents (HUMAN keys only), oldest first."), form, verifyBox, box]);

    form.addEventListener("submit", (ev) => { ev.preventDefault(); search([], null); });
    verify.addEventListener("click", () => {
      load(verifyBox, "The audit log", () => api("GET", "/v1/audit/verify"), (r) => {
        const intact = r.intact !== undefined ? r.intact : r.ok;
        const problems = Array.isArray(r.problems) ? r.problems : r.problem ? [r.problem] : [];
        return section("Chain verification", null,
          h("p", null, h("strong", { testid: "audit-verify-status", class: intact ? "good" : "bad" }, intact ? "intact" : `BROKEN: ${problems[0] || r.problem || "unknown problem"}`)),
          h("p", null, `${valueText(r.checked)} entries checked`, r.first_bad_seq ? `; first bad entry: ${r.first_bad_seq}` : "",
            r.anchors_checked !== undefined ? `; ${r.anchors_checked} anchor${r.anchors_checked === 1 ? "" : "s"} checked` : "", "."),
          h("p", null, "Last anchor: ", anchorEl(r.last_anchor)),
          problems.length ? h("ul", { class: "problems" }, problems.map((p) => h("li", { testid: "audit-problem" }, String(p)))) : null);
      });
    });

    function search(previous, cursor) {
      const body = { limit: 100 };
      const put = (name, el) => { const v = el.value.trim(); if (v) body[name] = v; };
      put("event_type", eventType); put("action", action); put("actor", actor); put("outcome", outcome); put("since", since); put("until", until);
      for (const name of ["since", "until"]) {
        if (body[name] && Number.isNaN(Date.parse(body[name]))) {
          box.replaceChildren(errorEl(new Error(`${label(name)} must be an ISO 8601 time, e.g. 2026-01-01T00:00:00Z.`)));
          return;
        }
      }
      if (cursor) body.cursor = cursor;
      load(box, "The audit log", () => api("POST", "/v1/audit/query", body), (data) => {
        const items = itemsOf(data, "entries");
        const pager = h("p", { class: "pager" },
          h("button", { type: "button", class: "secondary", testid: "prev-page", disabled: !previous.length,
            onclick: () => search(previous.slice(0, -1), previous[previous.length - 1]) }, "Previous page"),
          h("span", { testid: "page-number" }, `Page ${previous.length + 1}`),
          h("button", { type: "button", testid: "next-page", disabled: !data.next_cursor, onclick: () => search([...previous, cursor], data.next_cursor) }, "Next page"));
        if (!items.length) return [h("p", { class: "muted", testid: "audit-empty" }, "No entry matches."), pager];
        return [table("audit-table", ["Seq", "Time", "Event type", "Action", "Actor", "Target", "Outcome", "Reason", "Details"], items.map((e) =>
          h("tr", { testid: "audit-row", "data-seq": e.seq, class: `outcome-${e.outcome}` },
            h("td", null, valueText(e.seq)), h("td", null, timeEl(e.timestamp)), h("td", null, valueText(e.event_type)),
            h("td", { testid: "audit-action" }, valueText(e.action)), h("td", null, e.actor ? agentEl(e.actor) : muted("—")),
            h("td", null, e.target ? idEl(e.target) : muted("—")), h("td", { testid: "audit-outcome" }, valueText(e.outcome)),
            h("td", null, e.reason ? String(e.reason) : muted("—")),
            h("td", null, e.details && Object.keys(e.details).length ? h("code", { class: "json" }, JSON.stringify(e.details)) : muted("—"))))), pager];
      });
    }
    search([], null);
  }

  // ------------------------------------------------------------------------------ live events

  function pageEvents(view) {
    const status = h("span", { class: "badge", testid: "events-status", role: "status" }, "stopped");
    const replay = h("input", { type: "checkbox", testid: "events-replay" });
    const list = h("ul", { class: "events", testid: "event-list" });
    const empty = h("p", { class: "muted", testid: "events-empty" }, "No event yet: events appear here as they happen, newest first.");
    const clear = h("button", { type: "button", class: "secondary", testid: "events-clear", onclick: () => { list.replaceChildren(); seen.clear(); empty.hidden = false; } }, "Clear");
    const seen = new Set();
    replay.addEventListener("change", () => { list.replaceChildren(); seen.clear(); empty.hidden = false; connect(); });
    add(view, [h("h2", null, "Live events"),
      h("p", { class: "controls" }, "Stream: ", status, " ", h("label", null, replay, " from the beginning"), " ", clear),
      empty, list]);

    function connect() {
      startEvents(replay.checked ? "0" : null, (text) => { status.textContent = text; }, (msg) => {
        if (msg.id !== null && seen.has(msg.id)) return; // at-least-once delivery: drop repeats
        if (msg.id !== null) seen.add(msg.id);
        empty.hidden = true;
        list.prepend(eventItem(msg));
        while (list.childElementCount > MAX_EVENTS) list.lastElementChild.remove();
      });
    }
    connect();
  }

  function eventItem(msg) {
    let ev = null;
    try {
      ev = JSON.parse(msg.data);
    } catch (_) {
      ev = null;
    }
    if (!ev || typeof ev !== "object") {
      return h("li", { testid: "event-item", "data-kind": msg.event || "message" }, h("strong", null, msg.event || "message"), " ", h("code", null, msg.data));
    }
    const data = ev.data && typeof ev.data === "object" ? ev.data : {};
    if (data.agent_id && data.agent_type) rememberAgent(data);
    const summary = Object.entries(data).map(([k, v]) => h("span", { class: "field" }, `${k}: `, fieldEl(k, v)));
    return h("li", { testid: "event-item", "data-kind": ev.kind || msg.event, "data-seq": ev.seq !== undefined ? ev.seq : msg.id },
      timeEl(ev.timestamp), " ", h("strong", { testid: "event-kind" }, valueText(ev.kind || msg.event)),
      ev.pool_id ? [" in pool ", link(["pools", ev.pool_id], null, shortId(ev.pool_id))] : "",
      h("div", { class: "summary" }, summary));
  }

  function stopEvents() {
    if (state.stream) state.stream.abort();
    state.stream = null;
  }

  function sleep(ms, signal) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  }

  /**
   * Read GET /v1/events with fetch (EventSource cannot send Authorization): parse SSE, call
   * onMessage for each message with data, reconnect with Last-Event-ID after a drop, stop on
   * stopEvents() (leaving the page, signing out).
   */
  function startEvents(startAfter, setStatus, onMessage) {
    stopEvents();
    const ctl = new AbortController();
    state.stream = ctl;
    const key = state.key;
    let lastId = startAfter;
    let failures = 0;
    (async () => {
      while (!ctl.signal.aborted) {
        setStatus(failures ? "reconnecting…" : "connecting…");
        try {
          const headers = { Authorization: `Bearer ${key}`, Accept: "text/event-stream" };
          if (lastId !== null) headers["Last-Event-ID"] = lastId;
          const resp = await fetch("/v1/events", { headers, signal: ctl.signal, cache: "no-store", credentials: "omit" });
          if (!resp.ok) {
            const err = await errorOf(resp);
            if (resp.status === 401) {
              if (key === state.key) signOut(`Your key is no longer valid: ${err.message}`, true);
              return;
            }
            if (!err.retryable && resp.status < 500) {
              setStatus(`stopped: ${err.message}`);
              return;
            }
          } else {
            setStatus("live");
            failures = 0;
            const stop = await readEvents(resp.body, (msg) => {
              if (msg.id !== null) lastId = msg.id;
              if (msg.event === "error") return handleStreamError(msg, key, setStatus);
              if (msg.data !== null) onMessage(msg);
              return false;
            });
            if (stop) return;
          }
        } catch (err) {
          if (ctl.signal.aborted) return;
        }
        if (ctl.signal.aborted) return;
        failures += 1;
        const delay = Math.min(15000, 1000 * 2 ** Math.min(failures - 1, 4));
        setStatus(`disconnected; reconnecting in ${Math.round(delay / 1000)} s`);
        await sleep(delay, ctl.signal);
      }
    })().catch((err) => {
      console.error(err); // eslint-disable-line no-console
      setStatus(`stopped: ${err && err.message ? err.message : err}`);
    });
  }

  /** An ``event: error`` on the stream: a refused key signs out; anything else stops the stream. */
  function handleStreamError(msg, key, setStatus) {
    let e = {};
    try {
      e = JSON.parse(msg.data || "{}") || {};
    } catch (_) {
      e = {};
    }
    if (e.code === "permission_denied") {
      if (key === state.key) signOut(`Your key is no longer valid: ${e.message || "the server refused it"}`, true);
    } else {
      setStatus(`stopped: ${e.message || "the server ended the stream"}`);
    }
    return true;
  }

  /** Parse a text/event-stream body; ``dispatch`` returns true to stop reading. */
  async function readEvents(body, dispatch) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let msg = { id: null, event: null, data: [] };
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return false;
        buffer += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          let line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.endsWith("\r")) line = line.slice(0, -1);
          if (line === "") {
            const out = { id: msg.id, event: msg.event, data: msg.data.length ? msg.data.join("\n") : null };
            msg = { id: null, event: null, data: [] };
            if ((out.id !== null || out.data !== null) && dispatch(out)) return true;
            continue;
          }
          if (line.startsWith(":")) continue; // a comment: "stream open", "keep-alive"
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? "" : line.slice(colon + 1);
          if (val.startsWith(" ")) val = val.slice(1);
          if (field === "id" && !val.includes("\0")) msg.id = val;
          else if (field === "event") msg.event = val;
          else if (field === "data") msg.data.push(val);
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  // ------------------------------------------------------------------------------------- boot

  function boot() {
    window.addEventListener("hashchange", route);
    const key = sessionStorage.getItem(KEY_NAME);
    if (key) signIn(key, true);
    else renderSignIn();
  }

  boot();
})();
