// Configuration, retries, idempotency keys and errors against a fake fetch (no server).
import assert from "node:assert/strict";
import test from "node:test";
import { MaaSClient, MaaSError } from "../dist/index.js";

const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
const refusal = (status, code, retryable, headers) =>
  json(status, { error: { code, message: `${code} happened`, retryable } }, headers);
const SESSION = { session_id: "s1", scope: { org: "acme" }, agent_id: "a1", created_at: 1, closed_at: null };

/** A fetch answering from `answers` in turn (a function may throw to simulate a network failure). */
function fakeFetch(answers, calls = []) {
  return async (url, init = {}) => {
    calls.push({ url: String(url), method: init.method, headers: new Headers(init.headers), body: init.body });
    const next = answers.shift();
    if (next === undefined) throw new Error("no more answers");
    return typeof next === "function" ? next() : next;
  };
}

const options = (fetch, extra = {}) => ({
  baseUrl: "http://maas.test/",
  apiKey: "maas_k",
  fetch,
  retry: { baseDelayMs: 1, maxDelayMs: 5 },
  ...extra,
});

test("baseUrl and apiKey are required: a clear error names the option and the variable", (t) => {
  t.after(() => {
    process.env.MAAS_BASE_URL = saved.url;
    process.env.MAAS_API_KEY = saved.key;
    if (saved.url === undefined) delete process.env.MAAS_BASE_URL;
    if (saved.key === undefined) delete process.env.MAAS_API_KEY;
  });
  const saved = { url: process.env.MAAS_BASE_URL, key: process.env.MAAS_API_KEY };
  delete process.env.MAAS_BASE_URL;
  delete process.env.MAAS_API_KEY;
  assert.throws(() => new MaaSClient({ apiKey: "k" }), (e) => e instanceof MaaSError && /MAAS_BASE_URL/.test(e.message));
  assert.throws(() => new MaaSClient({ baseUrl: "http://x" }), (e) => e instanceof MaaSError && /MAAS_API_KEY/.test(e.message));
  assert.throws(() => new MaaSClient({ baseUrl: "ftp://x", apiKey: "k" }), /http/);
  process.env.MAAS_BASE_URL = "http://from-env:1/";
  process.env.MAAS_API_KEY = "maas_env";
  assert.equal(new MaaSClient().baseUrl, "http://from-env:1");
});

test("without globalThis.process (a browser) the options still work", () => {
  const saved = globalThis.process;
  try {
    Object.defineProperty(globalThis, "process", { value: undefined, configurable: true, writable: true });
    assert.equal(new MaaSClient({ baseUrl: "http://b", apiKey: "k", fetch: async () => json(200, {}) }).baseUrl, "http://b");
    assert.throws(() => new MaaSClient({ fetch: async () => json(200, {}) }), /MAAS_BASE_URL/);
  } finally {
    Object.defineProperty(globalThis, "process", { value: saved, configurable: true, writable: true });
  }
});

test("camelCase options become the server's snake_case body; Bearer key; path ids escaped", async () => {
  const calls = [];
  const client = new MaaSClient(options(fakeFetch([json(201, SESSION), json(201, { memory_id: "m" })], calls)));
  const session = await client.sessions.create({ scope: { org: "acme" } });
  await session.remember({ content: "c", memoryCategory: "decision", supersedes: "old", metadata: { a: 1 } });
  assert.equal(calls[0].url, "http://maas.test/v1/sessions");
  assert.equal(calls[0].headers.get("authorization"), "Bearer maas_k");
  assert.equal(calls[1].url, "http://maas.test/v1/sessions/s1/remember");
  assert.deepEqual(JSON.parse(calls[1].body), {
    content: "c",
    memory_category: "decision",
    metadata: { a: 1 },
    supersedes: "old",
  });
  const calls2 = [];
  const other = new MaaSClient(options(fakeFetch([json(200, {})], calls2)));
  await other.memories.get("a/b?c");
  assert.equal(calls2[0].url, "http://maas.test/v1/memories/a%2Fb%3Fc");
});

test("a retryable refusal is retried with the same Idempotency-Key, then succeeds", async () => {
  const calls = [];
  const answers = [refusal(503, "backend_unavailable", true), () => { throw new TypeError("fetch failed"); }, json(201, SESSION)];
  const client = new MaaSClient(options(fakeFetch(answers, calls)));
  const session = await client.sessions.create({ scope: { org: "acme" } });
  assert.equal(session.sessionId, "s1");
  assert.equal(calls.length, 3);
  const keys = calls.map((c) => c.headers.get("idempotency-key"));
  assert.match(keys[0], /^[0-9a-f-]{36}$/);
  assert.deepEqual(new Set(keys).size, 1);
});

test("each call gets its own key; an explicit idempotencyKey is sent as given; reads send none", async () => {
  const calls = [];
  const client = new MaaSClient(options(fakeFetch([json(201, SESSION), json(201, SESSION), json(201, SESSION), json(200, SESSION)], calls)));
  await client.sessions.create({ scope: { org: "acme" } });
  await client.sessions.create({ scope: { org: "acme" } });
  await client.sessions.create({ scope: { org: "acme" }, idempotencyKey: "mine-1" });
  await client.sessions.get("s1");
  const keys = calls.map((c) => c.headers.get("idempotency-key"));
  assert.notEqual(keys[0], keys[1]);
  assert.equal(keys[2], "mine-1");
  assert.equal(keys[3], null);
});

test("a non-retryable refusal is thrown at once as MaaSError with code, message, retryable, status", async () => {
  const calls = [];
  const client = new MaaSClient(options(fakeFetch([refusal(404, "not_found", false)], calls)));
  await assert.rejects(client.handoffs.get("h1"), (e) => {
    assert.ok(e instanceof MaaSError);
    assert.equal(e.code, "not_found");
    assert.equal(e.message, "not_found happened");
    assert.equal(e.retryable, false);
    assert.equal(e.status, 404);
    return true;
  });
  assert.equal(calls.length, 1);
});

test("attempts are capped (default 3, configurable, retry: false is one)", async () => {
  for (const [retry, expected] of [[undefined, 3], [{ maxAttempts: 5, baseDelayMs: 1 }, 5], [false, 1]]) {
    const calls = [];
    const answers = Array.from({ length: 6 }, () => () => { throw new TypeError("fetch failed"); });
    const client = new MaaSClient({ ...options(fakeFetch(answers, calls)), ...(retry === undefined ? {} : { retry }) });
    if (retry === undefined) client.transport.retry.baseDelayMs = 1;
    await assert.rejects(client.agents.get("a"), (e) => e instanceof MaaSError && e.code === "network_error" && e.retryable);
    assert.equal(calls.length, expected);
  }
});

test("429 waits Retry-After (capped by maxDelayMs) and keeps retry_after in details", async () => {
  const calls = [];
  const client = new MaaSClient(
    options(fakeFetch([refusal(429, "rate_limited", true, { "retry-after": "0" }), refusal(429, "rate_limited", true, { "retry-after": "1" })], calls), {
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
    }),
  );
  await assert.rejects(client.kb.searchCode({ query: "x" }), (e) => e.code === "rate_limited" && e.status === 429 && e.retryAfter === 1);
  assert.equal(calls.length, 2);
});

test("a proxy's non-JSON 502 is http_error and retried; a non-JSON 200 is invalid_response", async () => {
  const calls = [];
  const bad = () => new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" });
  const client = new MaaSClient(options(fakeFetch([bad(), new Response("not json", { status: 200 })], calls)));
  await assert.rejects(client.audit.verify(), (e) => e.code === "invalid_response" && e.status === 200);
  assert.equal(calls.length, 2);
});

test("a timeout is a retryable MaaSError; the caller's abort rejects with its reason and is not retried", async () => {
  const hang = (url, init) =>
    new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(init.signal.reason)));
  let count = 0;
  const slow = new MaaSClient(options((u, i) => { count++; return hang(u, i); }, { timeoutMs: 20 }));
  await assert.rejects(slow.agents.list(), (e) => e.code === "timeout" && e.retryable);
  assert.equal(count, 3);
  count = 0;
  const stop = new AbortController();
  const pending = slow.agents.list({ signal: stop.signal });
  stop.abort(new Error("user stop"));
  await assert.rejects(pending, /user stop/);
  assert.equal(count, 1);
});

test("history pages with next_cursor until null", async () => {
  const calls = [];
  const page = (items, next) => json(200, { items, next_cursor: next });
  const client = new MaaSClient(options(fakeFetch([page([1, 2], "2"), page([3], "3"), page([], null)], calls)));
  assert.deepEqual(await client.memories.history({ limit: 2 }).toArray(), [1, 2, 3]);
  assert.deepEqual(calls.map((c) => JSON.parse(c.body).cursor ?? null), [null, "2", "3"]);
});

test("reflect sends an Idempotency-Key only when it persists", async () => {
  const calls = [];
  const reflection = { summary: "s", memory_ids: [], method: "extractive", note: null, reflection_id: null };
  const client = new MaaSClient(options(fakeFetch([json(201, SESSION), json(200, reflection), json(200, reflection), json(200, reflection)], calls)));
  const session = await client.sessions.create({ scope: { org: "acme" } });
  await session.reflect({ query: "q" });
  await session.reflect({ query: "q", persist: true, idempotencyKey: "r-1" });
  await client.memories.reflect({ query: "q", persist: true });
  assert.equal(calls[1].headers.get("idempotency-key"), null);
  assert.equal(calls[2].headers.get("idempotency-key"), "r-1");
  assert.match(calls[3].headers.get("idempotency-key"), /^[0-9a-f-]{36}$/);
});
