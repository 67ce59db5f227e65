// Pools, handoffs, agents, knowledge bases and the audit log against a real server.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { agents, client, needsServer, tag } from "../test-support/env.mjs";

describe("pools", { skip: needsServer }, () => {
  test("create, admit a member, share, query shared, leave", async () => {
    const supervisor = client("supervisor");
    const worker = client("worker");
    const pool = await supervisor.pools.create({ name: tag("research"), scope: "project" });
    assert.equal(pool.your_permission, "admin");
    assert.equal(pool.scope, "project");
    const joined = await supervisor.pools.join(pool.pool_id, { agentId: agents.worker, permission: "write" });
    assert.deepEqual(joined, { pool_id: pool.pool_id, agent_id: agents.worker, permission: "write", member: true });
    const word = tag("share");
    const share = await worker.pools.share(pool.pool_id, { content: `Competitor ${word} cut prices by 5%.` });
    assert.equal(share.shared, true);
    const mine = await supervisor.memories.remember({ content: `The ${word} pilot starts in June.` });
    await supervisor.pools.share(pool.pool_id, { memoryId: mine.memory_id, scope: "project" });
    const seen = await supervisor.pools.queryShared(pool.pool_id, { limit: 10 });
    assert.deepEqual(
      seen.map((s) => s.memory_id).sort(),
      [share.memory_id, mine.memory_id].sort(),
    );
    assert.ok(seen.find((s) => s.memory_id === share.memory_id).content.includes(word));
    const left = await worker.pools.leave(pool.pool_id, agents.worker);
    assert.equal(left.member, false);
    await assert.rejects(worker.pools.queryShared(pool.pool_id), (e) => e.status === 403 || e.status === 404);
  });
});

describe("handoffs", { skip: needsServer }, () => {
  test("initiate, pending, accept, complete: the source sees the result", async () => {
    const supervisor = client("supervisor");
    const worker = client("worker");
    const handoff = await supervisor.handoffs.initiate({
      targetId: agents.worker,
      context: {
        taskDescription: "Summarise competitor pricing for the Q3 report.",
        currentState: { done: ["interviews"] },
        relevantFiles: ["reports/q3.md"],
        notes: { priority: "high" },
      },
      ttlSeconds: 600,
    });
    assert.equal(handoff.status, "pending");
    assert.equal(handoff.source_id, agents.supervisor);
    assert.deepEqual(handoff.context.current_state, { done: ["interviews"] });
    assert.deepEqual(handoff.context.relevant_files, ["reports/q3.md"]);
    const pending = await worker.handoffs.pending();
    assert.ok(pending.some((h) => h.handoff_id === handoff.handoff_id));
    assert.equal((await worker.handoffs.accept(handoff.handoff_id)).status, "accepted");
    const done = await worker.handoffs.complete(handoff.handoff_id, { result: { status: "success", pages: 3 } });
    assert.equal(done.status, "completed");
    const seen = await supervisor.handoffs.get(handoff.handoff_id);
    assert.equal(seen.status, "completed");
    assert.deepEqual(seen.result, { status: "success", pages: 3 });
  });

  test("reject with a reason; cancel by the source; only the target accepts", async () => {
    const supervisor = client("supervisor");
    const worker = client("worker");
    const a = await supervisor.handoffs.initiate({ targetId: agents.worker, context: { taskDescription: "Task A." } });
    await assert.rejects(supervisor.handoffs.accept(a.handoff_id), (e) => e.status === 403 && e.code === "permission_denied");
    const rejected = await worker.handoffs.reject(a.handoff_id, { reason: "Out of scope." });
    assert.equal(rejected.status, "rejected");
    assert.equal(rejected.reason, "Out of scope.");
    const b = await supervisor.handoffs.initiate({ targetId: agents.worker, context: { taskDescription: "Task B." } });
    const cancelled = await supervisor.handoffs.cancel(b.handoff_id, { reason: "Moot." });
    assert.equal(cancelled.status, "cancelled");
  });
});

describe("agents, knowledge bases, audit", { skip: needsServer }, () => {
  test("agents: get by id, list the user's agents, register one", async () => {
    const supervisor = client("supervisor");
    const worker = await supervisor.agents.get(agents.worker);
    assert.equal(worker.name, "worker-1");
    assert.equal(worker.agent_type, "claude_code");
    const listed = await supervisor.agents.list();
    assert.ok(listed.some((a) => a.agent_id === agents.supervisor) && listed.some((a) => a.agent_id === agents.worker));
    const helper = await supervisor.agents.register({
      agentType: "custom_pipeline",
      name: tag("helper"),
      capabilities: ["memory_read"],
    });
    assert.deepEqual(helper.capabilities, ["memory_read"]);
    await assert.rejects(client("outsider").agents.get(agents.worker), (e) => e.status === 403);
  });

  test("knowledge bases answer (empty on a fresh home)", async () => {
    const maas = client("supervisor");
    assert.ok(Array.isArray(await maas.kb.searchCode({ query: "HandoffManager", serviceFilter: "core" })));
    assert.ok(Array.isArray(await maas.kb.searchDecisions({ query: "database", topicFilter: ["storage"] })));
    assert.ok(Array.isArray(await maas.kb.searchIncidents({ query: "outage", limit: 3 })));
  });

  test("audit: a HUMAN key pages the log and verifies the chain", async () => {
    const human = client("human");
    const entries = await human.audit.query({ limit: 3 }).toArray(7);
    assert.equal(entries.length, 7);
    const seqs = entries.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
    assert.equal(new Set(seqs).size, seqs.length);
    const registered = await human.audit.query({ eventType: "AGENT_AUTH", action: "register", since: 0 }).toArray();
    assert.ok(registered.some((e) => e.actor === agents.worker));
    const report = await human.audit.verify();
    assert.equal(report.intact, true);
  });
});
