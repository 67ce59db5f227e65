// Sessions against a real `maas serve --http` (tests/test_rest_typescript.py starts it).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MaaSError, RecallContext } from "../dist/index.js";
import { SHARED, agents, client, needsServer, tag } from "../test-support/env.mjs";

describe("sessions", { skip: needsServer }, () => {
  test("the specification's flow: a worker session remembers, the supervisor's recall is formatted", async () => {
    const maas = client("supervisor");
    const word = tag("pricing");
    const worker = await maas.sessions.create({ scope: { ...SHARED, agent: "worker-1" } });
    assert.deepEqual(worker.scope, { ...SHARED, agent: "worker-1" });
    assert.equal(worker.agentId, agents.supervisor);
    const stored = await worker.remember({
      content: `Competitor ${word} raised prices by 20% in Q2.`,
      memoryCategory: "knowledge",
      metadata: { source: "interview", round: 2 },
    });
    assert.equal(stored.status, "active");
    assert.equal(stored.category, "knowledge");
    assert.deepEqual(stored.metadata, { source: "interview", round: 2 });
    await worker.close();
    assert.ok(worker.closed);

    const supervisor = await maas.sessions.create({ scope: SHARED });
    const ctx = await supervisor.recall({ query: `competitor ${word} pricing`, topK: 10 });
    assert.ok(ctx instanceof RecallContext);
    assert.equal(ctx.query, `competitor ${word} pricing`);
    assert.deepEqual(ctx.scope, SHARED);
    assert.ok(ctx.length >= 1);
    const hit = ctx.items.find((i) => i.memory_id === stored.memory_id);
    assert.ok(hit, "the worker's memory is recalled at the shared scope");
    assert.equal(typeof hit.score, "number");
    assert.ok(ctx.formatted.startsWith(`Relevant memories for: competitor ${word} pricing\n`));
    assert.match(ctx.formatted, new RegExp(`\\d+\\. \\[knowledge; [^\\]]*agent=worker-1[^\\]]*\\] Competitor ${word} raised prices by 20% in Q2\\.`));
    assert.equal(String(ctx), ctx.formatted);
    await supervisor.close();
  });

  test("a closed session, or another agent's, is not_found", async () => {
    const session = await client("supervisor").sessions.create({ scope: SHARED });
    await assert.rejects(client("worker").sessions.get(session.sessionId), (e) => e.code === "not_found" && e.status === 404);
    await session.close();
    await session.close(); // idempotent
    await assert.rejects(session.recall({ query: "anything" }), (e) => e instanceof MaaSError && e.code === "not_found");
  });

  test("rememberMany, reflect, profile, getState, refresh", async () => {
    const word = tag("budget");
    const session = await client("supervisor").sessions.create({ scope: SHARED });
    const stored = await session.rememberMany([
      { content: `The ${word} budget is 40k dollars.`, memoryCategory: "decision" },
      { content: `The ${word} deadline is in October.`, metadata: { source: "plan" } },
    ]);
    assert.deepEqual(stored.map((m) => m.category), ["decision", "knowledge"]);
    assert.deepEqual(stored[1].metadata, { source: "plan" });

    const reflection = await session.reflect({ query: `${word} budget and deadline`, topK: 5 });
    assert.equal(typeof reflection.summary, "string");
    assert.ok(reflection.memory_ids.some((id) => stored.some((m) => m.memory_id === id)));
    assert.equal(reflection.reflection_id, null);

    const profile = await session.profile({ perCategory: 50 });
    assert.deepEqual(profile.scope, SHARED);
    assert.ok(profile.memories.decision.some((m) => m.memory_id === stored[0].memory_id));

    const state = await session.getState({ history: false });
    assert.deepEqual(state.scope, SHARED);
    assert.ok(Array.isArray(state.entities));

    await session.refresh();
    assert.equal(session.closed, false);
    await session.close();
  });

  test("recall asOf: a moment before a memory existed does not recall it", async () => {
    const word = tag("asof");
    const session = await client("supervisor").sessions.create({ scope: SHARED });
    const stored = await session.remember({ content: `The ${word} launch moved to May.` });
    const now = await session.recall({ query: `${word} launch`, topK: 5 });
    assert.ok(now.items.some((i) => i.memory_id === stored.memory_id));
    for (const asOf of [stored.created_at - 60, new Date((stored.created_at - 60) * 1000)]) {
      const before = await session.recall({ query: `${word} launch`, topK: 5, asOf });
      assert.ok(!before.items.some((i) => i.memory_id === stored.memory_id));
    }
    await session.close();
  });
});
