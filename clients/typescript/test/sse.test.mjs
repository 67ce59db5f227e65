// The SSE parser on its own (no server).
import assert from "node:assert/strict";
import test from "node:test";
import { SseParser } from "../dist/index.js";

test("one message per blank line; id, event, multi-line data", () => {
  const p = new SseParser();
  const out = p.push(': stream open\n\nid: 7\nevent: memory.written\ndata: {"a":\ndata: 1}\n\n');
  assert.deepEqual(out, [{ event: "memory.written", data: '{"a":\n1}', id: "7" }]);
  assert.equal(p.lastEventId, "7");
});

test("chunks split anywhere, CRLF split across chunks, CR-only line ends", () => {
  const text = "id: 1\r\nevent: a\r\ndata: x\r\n\r\nid: 2\rdata: y\r\rdata: z\n\n";
  for (let size = 1; size <= text.length; size++) {
    const p = new SseParser();
    const out = [];
    for (let i = 0; i < text.length; i += size) out.push(...p.push(text.slice(i, i + size)));
    assert.deepEqual(
      out,
      [
        { event: "a", data: "x", id: "1" },
        { event: "message", data: "y", id: "2" },
        { event: "message", data: "z", id: "2" },
      ],
      `chunk size ${size}`,
    );
  }
});

test("comments, unknown fields, retry, BOM, data without a space, id with NUL ignored", () => {
  const p = new SseParser();
  const out = p.push("\ufeff: hi\nfoo: bar\nretry: 1500\nretry: x\nid: 3\u0000\ndata:plain\n\n");
  assert.deepEqual(out, [{ event: "message", data: "plain", id: "" }]);
  assert.equal(p.retryMs, 1500);
});

test("a message without data is not dispatched; the id still counts", () => {
  const p = new SseParser();
  assert.deepEqual(p.push("id: 9\nevent: nothing\n\n"), []);
  assert.deepEqual(p.push("data: d\n\n"), [{ event: "message", data: "d", id: "9" }]);
});

test("an unfinished message waits for its blank line", () => {
  const p = new SseParser();
  assert.deepEqual(p.push("id: 4\ndata: half"), []);
  assert.deepEqual(p.push("\n"), []);
  assert.deepEqual(p.push("\n"), [{ event: "message", data: "half", id: "4" }]);
});
