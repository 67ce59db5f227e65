// GET /v1/events through client.events(): parsing, filters, resuming, stopping.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { agents, client, needsServer, recordingFetch, tag } from "../test-support/env.mjs";

/** Read `events` until `done(received)` or `ms` pass; abort the stream either way. */
async function until(events, stop, done, ms = 10_000) {
  const received = [];
  const timer = setTimeout(() => stop.abort(), ms);
  try {
    for await (const event of events) {
      received.push(event);
      if (done(received)) break;
    }
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
  return received;
}

/** A fetch whose first /v1/events response dies (like a dropped connection) right after its first event. */
function droppingFetch(log) {
  let dropped = false;
  const inner = recordingFetch(log);
  return async (input, init) => {
    const response = await inner(input, init);
    if (dropped || !String(input).includes("/v1/events") || !response.ok) return response;
    dropped = true;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const body = new ReadableStream({
      async pull(controller) {
        for (;;) {
          const event = text.search(/\ndata: [^\n]*\n\n/);
          if (event !== -1) {
            const end = text.indexOf("\n\n", event + 1) + 2;
            controller.enqueue(new TextEncoder().encode(text.slice(0, end))); // the first event, whole
            await reader.cancel();
            controller.error(new TypeError("terminated: other side closed"));
            return;
          }
          const { done, value } = await reader.read();
          if (done) return controller.close();
          text += decoder.decode(value, { stream: true });
        }
      },
      cancel: () => reader.cancel(),
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

describe("events", { skip: needsServer }, () => {
  test("memory.written reaches the author's stream", async () => {
    const maas = client("supervisor");
    const stop = new AbortController();
    const memory = await maas.memories.remember({ content: `The ${tag("event")} review is on Friday.` });
    const got = await until(
      maas.events({ after: 0, kinds: ["memory.written"], signal: stop.signal }),
      stop,
      (r) => r.some((e) => e.data.memory_id === memory.memory_id),
      3_000,
    );
    assert.ok(got.some((e) => e.kind === "memory.written" && e.data.memory_id === memory.memory_id));
  });

  test("typed events with filters; a dropped connection resumes with Last-Event-ID, nothing lost", async () => {
    const supervisor = client("supervisor");
    const handoff = await supervisor.handoffs.initiate({ targetId: agents.worker, context: { taskDescription: "Check the events." } });
    await client("worker").handoffs.accept(handoff.handoff_id);

    const log = [];
    const stop = new AbortController();
    const events = client("supervisor", { fetch: droppingFetch(log), retry: { baseDelayMs: 20 } }).events({
      after: 0,
      kinds: ["handoff.initiated", "handoff.accepted"],
      signal: stop.signal,
    });
    const got = await until(events, stop, (r) => r.filter((e) => e.data.handoff_id === handoff.handoff_id).length === 2);
    const ours = got.filter((e) => e.data.handoff_id === handoff.handoff_id);
    assert.deepEqual(ours.map((e) => e.kind), ["handoff.initiated", "handoff.accepted"]);
    for (const e of got) {
      assert.ok(Number.isInteger(e.seq) && typeof e.timestamp === "number" && e.pool_id === null);
      assert.ok(["handoff.initiated", "handoff.accepted"].includes(e.kind));
    }
    assert.deepEqual(got.map((e) => e.seq), [...new Set(got.map((e) => e.seq))].sort((a, b) => a - b), "in order, no repeats");

    const streams = log.filter((r) => r.url.includes("/v1/events"));
    assert.ok(streams.length >= 2, "reconnected after the drop");
    const [firstUrl, secondUrl] = streams.map((r) => new URL(r.url));
    assert.equal(firstUrl.searchParams.get("after"), "0");
    assert.equal(firstUrl.searchParams.get("kinds"), "handoff.initiated,handoff.accepted");
    assert.equal(streams[0].headers.get("last-event-id"), null);
    assert.equal(secondUrl.searchParams.get("after"), null, "?after= is not repeated (the server would let it win)");
    assert.equal(streams[1].headers.get("last-event-id"), String(got[0].seq), "resumes after the last event received");
    assert.equal(streams[1].headers.get("accept"), "text/event-stream");
  });

  test("after: resumes after a given event; the stream also delivers what happens later", async () => {
    const supervisor = client("supervisor");
    const handoff = await supervisor.handoffs.initiate({ targetId: agents.worker, context: { taskDescription: "Resume me." } });
    const stop = new AbortController();
    const first = await until(
      supervisor.events({ after: 0, kinds: ["handoff.initiated"], signal: stop.signal }),
      stop,
      (r) => r.some((e) => e.data.handoff_id === handoff.handoff_id),
    );
    const initiated = first.find((e) => e.data.handoff_id === handoff.handoff_id);

    const stop2 = new AbortController();
    const live = supervisor.events({ after: initiated.seq, signal: stop2.signal });
    const pending = until(live, stop2, (r) => r.some((e) => e.kind === "handoff.cancelled" && e.data.handoff_id === handoff.handoff_id));
    await new Promise((r) => setTimeout(r, 300)); // let the stream connect, then cause an event
    await supervisor.handoffs.cancel(handoff.handoff_id);
    const later = await pending;
    assert.ok(later.every((e) => e.seq > initiated.seq));
    assert.ok(later.some((e) => e.kind === "handoff.cancelled" && e.data.handoff_id === handoff.handoff_id));
  });

  test("abort ends the iterator without an error, even while waiting for events", async () => {
    const stop = new AbortController();
    const started = Date.now();
    setTimeout(() => stop.abort(), 300);
    const got = [];
    for await (const e of client("worker").events({ kinds: ["entity.conflict"], signal: stop.signal })) got.push(e);
    assert.deepEqual(got, []);
    assert.ok(Date.now() - started < 5_000);
  });

  test("a bad key is thrown as MaaSError 401 (not retried forever)", async () => {
    const bad = client("supervisor", { apiKey: "maas_0_nope" });
    await assert.rejects(bad.events({ after: 0 }).next(), (e) => e.status === 401 && e.code === "permission_denied");
    await assert.rejects(client("supervisor").events({ kinds: ["no.such.kind"] }).next(), (e) => e.status === 400);
  });
});
