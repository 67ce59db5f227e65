// Type checks without a server: every ```ts block of README.md compiles against the built package,
// and src/ compiles for a browser (the DOM library, no Node.js types).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

// what the README's fragments use without defining it
const GLOBALS = `
import type { MaaSClient, Session } from "maas-langchain-client";
declare global {
  const client: MaaSClient;
  const session: Session;
  const id: string;
  const workerAgentId: string;
}
export {};
`;

/** Run tsc on a scratch folder inside the package (so "maas-langchain-client" resolves to the
 * package itself) holding `files` and a tsconfig that extends the package's. */
function tsc(files, compilerOptions, include) {
  const dir = join(root, `.readme-check-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir, { recursive: true });
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ extends: "../tsconfig.json", compilerOptions, include }));
    return spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", dir], {
      encoding: "utf8",
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("src/ compiles with only the DOM library (no Node.js types): it runs in a browser", () => {
  const options = { noEmit: true, lib: ["ES2022", "DOM", "DOM.Iterable"], types: [], rootDir: "../src" };
  const done = tsc({}, options, ["../src"]);
  assert.equal(done.status, 0, `${done.stdout}${done.stderr}`);
});

test("README.md's TypeScript blocks compile against dist/*.d.ts", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  assert.ok(blocks.length >= 8, `found ${blocks.length} ts blocks`);
  const files = { "globals.d.ts": GLOBALS };
  blocks.forEach((code, i) => {
    files[`block${i + 1}.ts`] = `${code}\nexport {};\n`;
  });
  const done = tsc(files, { noEmit: true, rootDir: ".", noUnusedLocals: false }, ["*.ts"]);
  assert.equal(done.status, 0, `${done.stdout}${done.stderr}`);
});
