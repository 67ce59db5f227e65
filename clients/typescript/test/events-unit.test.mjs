// client.events() against a fake fetch: reconnection, Last-Event-ID, idle timeout, errors (no server).
import assert from "node:assert/strict";
import test from "node:test";
import { MaaSClient, MaaSError } from "../dist/index.js";

const encoder = new TextEncoder();
const message = (seq, kind = "handoff.initiated") =>
  `id: ${seq}\nevent: ${kind}\ndata: ${JSON.stringify({ seq, kind, pool_id: null, timestamp: 1, data: { n: seq } })}\n\n`;

/** An SSE response whose body yields `parts` (strings; an Error errors the stream; "HANG" never ends). */
function sse(parts) {
  let i = 0;
  const body = new ReadableStream({
    pull(controller) {
      if (i >= parts.length) return controller.close();
      const part = parts[i++];
      if (part instanceof Error) return controller.error(part);
      if (part === "HANG") return new Promise(() => {});
      controller.enqueue(encoder.encode(part));
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
}

function streamingClient(responses, calls, extra = {}) {
  const fetch = async (url, init = {}) => {
    calls.push({ url: new URL(url), headers: new Headers(init.headers) });
    const next = responses.shift();
    if (next === undefined) return new Promise(() => {}); // no more: hang until aborted
    if (typeof next === "function") return next(init);
    return next;
  };
  return new MaaSClient({ baseUrl: "http://maas.test", apiKey: "k", fetch, retry: { baseDelayMs: 1, maxDelayMs: 5 }, ...extra });
}

async function take(iterator, n) {
  const out = [];
  for await (const e of iterator) {
    out.push(e);
    if (out.length >= n) break;
  }
  return out;
}

test("a stream the server ends, or that breaks, resumes with Last-Event-ID; a split message is not lost", async () => {
  const calls = [];
  const first = message(5);
  const client = streamingClient(
    [
      sse([": stream open\n\n", message(3), first.slice(0, 10), first.slice(10)]), // ends: reconnect
      () => { throw new TypeError("fetch failed"); }, // a failed reconnection: retried
      sse([message(6), message(7).slice(0, 15), new TypeError("terminated")]), // breaks mid-message
      sse([message(7), message(8)]),
    ],
    calls,
  );
  const got = await take(client.events({ after: 2, kinds: ["handoff.initiated", "pool.joined"], poolId: "p1" }), 5);
  assert.deepEqual(got.map((e) => e.seq), [3, 5, 6, 7, 8]);
  assert.deepEqual(got[0], { seq: 3, kind: "handoff.initiated", pool_id: null, timestamp: 1, data: { n: 3 } });
  assert.equal(calls[0].url.search, "?pool_id=p1&kinds=handoff.initiated%2Cpool.joined&after=2");
  assert.equal(calls[0].headers.get("last-event-id"), null);
  assert.equal(calls[0].headers.get("authorization"), "Bearer k");
  assert.equal(calls[0].headers.get("accept"), "text/event-stream");
  assert.deepEqual(calls.slice(1).map((c) => c.headers.get("last-event-id")), ["5", "5", "6"]);
  assert.ok(calls.slice(1).every((c) => c.url.searchParams.get("after") === null && c.url.searchParams.get("pool_id") === "p1"));
});

test("a silent connection is dropped after idleTimeoutMs and resumed", async () => {
  const calls = [];
  const hang = (init) =>
    new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(encoder.encode(message(1)));
          init.signal.addEventListener("abort", () => controller.error(init.signal.reason));
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    );
  const client = streamingClient([hang, sse([message(2)])], calls);
  const got = await take(client.events({ idleTimeoutMs: 50 }), 2);
  assert.deepEqual(got.map((e) => e.seq), [1, 2]);
  assert.equal(calls[1].headers.get("last-event-id"), "1");
});

test("a refusal that is not retryable is thrown; so is the server's event: error", async () => {
  const refusal = new Response(JSON.stringify({ error: { code: "permission_denied", message: "bad key", retryable: false } }), {
    status: 401,
    headers: { "content-type": "application/json" },
  });
  await assert.rejects(take(streamingClient([refusal], []).events(), 1), (e) => e instanceof MaaSError && e.status === 401);
  const revoked = sse([message(1), 'event: error\ndata: {"code": "permission_denied", "message": "key no longer valid"}\n\n']);
  const got = [];
  await assert.rejects(
    (async () => {
      for await (const e of streamingClient([revoked], []).events()) got.push(e.seq);
    })(),
    (e) => e instanceof MaaSError && e.code === "permission_denied" && /no longer valid/.test(e.message),
  );
  assert.deepEqual(got, [1]);
  const html = new Response("<html/>", { status: 200, headers: { "content-type": "text/html" } });
  await assert.rejects(take(streamingClient([html], []).events(), 1), (e) => e.code === "invalid_response");
});

test("maxReconnectAttempts gives up with the last error; abort ends quietly, even between attempts", async () => {
  const failing = () => { throw new TypeError("fetch failed"); };
  await assert.rejects(
    take(streamingClient([failing, failing, failing], []).events({ maxReconnectAttempts: 3 }), 1),
    (e) => e.code === "network_error",
  );
  const stop = new AbortController();
  const calls = [];
  const client = streamingClient([failing, failing, failing, failing], calls, { retry: { baseDelayMs: 10_000, maxDelayMs: 10_000 } });
  setTimeout(() => stop.abort(), 50);
  const started = Date.now();
  assert.deepEqual(await take(client.events({ signal: stop.signal }), 1), []);
  assert.ok(Date.now() - started < 2_000);
  assert.equal(calls.length, 1);
});

test("leaving the loop closes the connection", async () => {
  let aborted = false;
  const open = (init) => {
    init.signal.addEventListener("abort", () => { aborted = true; });
    return sse([message(1), "HANG"]);
  };
  await take(streamingClient([open], []).events(), 1);
  assert.ok(aborted);
});
