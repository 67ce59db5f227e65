// Memories by scope and id, errors, idempotency, against a real server.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MaaSClient, MaaSError } from "../dist/index.js";
import { SHARED, baseUrl, client, keys, needsServer, recordingFetch, tag } from "../test-support/env.mjs";

const UNKNOWN = "00000000-0000-4000-8000-000000000000";

describe("memories", { skip: needsServer }, () => {
  test("remember, get, recall, history pages, forget", async () => {
    const maas = client("supervisor");
    const word = tag("hist");
    const first = await maas.memories.remember({ content: `The ${word} office opens at nine.`, scope: SHARED });
    const second = await maas.memories.remember({
      content: `The ${word} office closes at five.`,
      memoryCategory: "decision",
      scope: { ...SHARED, agent: "worker-1" },
    });
    assert.deepEqual(second.scope, { ...SHARED, agent: "worker-1" });
    assert.equal((await maas.memories.get(first.memory_id)).content, first.content);

    const recalled = await maas.memories.recall({ query: `${word} office hours`, scope: SHARED, topK: 5 });
    assert.deepEqual(recalled.scope, SHARED);
    assert.ok(recalled.memories.some((m) => m.memory_id === second.memory_id));

    const pages = [];
    for await (const page of maas.memories.history({ scope: SHARED, limit: 1 }).pages()) pages.push(page);
    assert.ok(pages.length >= 2);
    assert.ok(pages.slice(0, -1).every((p) => p.items.length === 1 && p.next_cursor !== null));
    assert.equal(pages.at(-1).next_cursor, null);
    const ids = [];
    for await (const memory of maas.memories.history({ scope: SHARED, limit: 2 })) ids.push(memory.memory_id);
    assert.ok(ids.includes(first.memory_id) && ids.includes(second.memory_id));
    assert.equal(new Set(ids).size, ids.length);

    const forgotten = await maas.memories.forget(first.memory_id);
    assert.deepEqual(forgotten, { memory_id: first.memory_id, forgotten: true, status: "deleted" });
    assert.equal((await maas.memories.get(first.memory_id)).status, "deleted");
  });

  test("structured reads at a scope: getState, profile, reflect", async () => {
    const maas = client("worker");
    const state = await maas.memories.getState({ scope: SHARED });
    assert.deepEqual(state.scope, SHARED);
    const profile = await maas.memories.profile();
    assert.deepEqual(profile.scope, { ...SHARED, agent: "worker-1" }); // the key's floor
    const reflection = await maas.memories.reflect({ query: "prices", scope: SHARED });
    assert.equal(typeof reflection.method, "string");
  });
});

describe("errors", { skip: needsServer }, () => {
  test("401: an unknown key (the error shape, not retried)", async () => {
    const log = [];
    const bad = new MaaSClient({ baseUrl, apiKey: "maas_0000_nope", fetch: recordingFetch(log) });
    await assert.rejects(bad.sessions.create({ scope: SHARED }), (e) => {
      assert.ok(e instanceof MaaSError);
      assert.equal(e.status, 401);
      assert.equal(e.code, "permission_denied");
      assert.equal(e.retryable, false);
      assert.match(e.message, /API key is not valid/);
      return true;
    });
    assert.equal(log.length, 1);
  });

  test("404: unknown ids", async () => {
    const maas = client("supervisor");
    for (const call of [
      () => maas.memories.get(UNKNOWN),
      () => maas.sessions.get(UNKNOWN),
      () => maas.handoffs.get(UNKNOWN),
    ]) {
      await assert.rejects(call(), (e) => e instanceof MaaSError && e.status === 404 && e.code === "not_found" && !e.retryable);
    }
  });

  test("400: invalid input names the field", async () => {
    const maas = client("supervisor");
    const session = await maas.sessions.create({ scope: SHARED });
    await assert.rejects(session.recall({ query: "x", topK: 0 }), (e) => {
      assert.equal(e.status, 400);
      assert.equal(e.code, "invalid_input");
      assert.match(e.message, /top_k/);
      return true;
    });
    await assert.rejects(maas.sessions.create({ scope: {} }), (e) => e.status === 400 && /scope/.test(e.message));
    await assert.rejects(maas.memories.get("not an id"), (e) => e.status === 400 && e.code === "invalid_input");
    await session.close();
  });

  test("403: a scope outside the key's floor; a read-only key's write", async () => {
    await assert.rejects(client("outsider").sessions.create({ scope: SHARED }), (e) => e.status === 403 && e.code === "permission_denied");
    await assert.rejects(client("readonly").memories.remember({ content: "nope" }), (e) => e.status === 403 && /read-only/.test(e.message));
    await assert.rejects(client("supervisor").audit.verify(), (e) => e.status === 403 && /HUMAN/.test(e.message));
  });
});

describe("idempotency", { skip: needsServer }, () => {
  test("the same Idempotency-Key twice: one session, one memory, the second answer replayed", async () => {
    const log = [];
    const replayed = [];
    const fetch = async (input, init) => {
      const response = await recordingFetch(log)(input, init);
      replayed.push(response.headers.get("idempotency-replayed"));
      return response;
    };
    const maas = client("supervisor", { fetch });
    const key = tag("idem");
    const a = await maas.sessions.create({ scope: SHARED, idempotencyKey: `${key}-s` });
    const b = await maas.sessions.create({ scope: SHARED, idempotencyKey: `${key}-s` });
    assert.equal(a.sessionId, b.sessionId);
    const content = `The ${key} contract renews in March.`;
    const m1 = await a.remember({ content, idempotencyKey: `${key}-m` });
    const m2 = await a.remember({ content, idempotencyKey: `${key}-m` });
    assert.equal(m1.memory_id, m2.memory_id);
    assert.deepEqual(replayed, [null, "true", null, "true"]);
    const same = [];
    for await (const m of maas.memories.history({ scope: SHARED, limit: 100 })) if (m.content === content) same.push(m);
    assert.equal(same.length, 1);
    // the same key for a different request is refused
    await assert.rejects(a.remember({ content: `${content} Changed.`, idempotencyKey: `${key}-m` }), (e) => e.status === 400 && /Idempotency-Key/.test(e.message));
    await a.close();
  });

  test("a lost response is retried by the client with the same key: the server replays, nothing runs twice", async () => {
    const log = [];
    const answers = [];
    let lose = true;
    const fetch = async (input, init) => {
      const response = await recordingFetch(log)(input, init);
      answers.push({ status: response.status, replayed: response.headers.get("idempotency-replayed") });
      if (lose && init.method === "POST") {
        lose = false;
        await response.arrayBuffer();
        throw new TypeError("fetch failed: socket hang up"); // the write ran; its answer is lost
      }
      return response;
    };
    const maas = client("supervisor", { fetch, retry: { baseDelayMs: 10 } });
    const pool = await maas.pools.create({ name: tag("pool") });
    assert.equal(log.length, 2);
    const [k1, k2] = log.map((r) => r.headers.get("idempotency-key"));
    assert.ok(k1 && k1 === k2, "the retry reuses the generated key");
    assert.deepEqual(answers, [{ status: 201, replayed: null }, { status: 201, replayed: "true" }]);
    assert.equal(pool.your_permission, "admin");
  });
});
