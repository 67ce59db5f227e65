// Shared by the test files (kept outside test/: `node --test test/` runs every file in test/).
// tests/test_rest_typescript.py starts a real `maas serve --http` and passes:
//   MAAS_BASE_URL       the server
//   MAAS_TEST_KEYS      JSON: { supervisor, worker, readonly, human, outsider } -> API key
//   MAAS_TEST_AGENTS    JSON: { supervisor, worker, human, outsider } -> agent id
import { MaaSClient } from "../dist/index.js";

export const baseUrl = process.env.MAAS_BASE_URL;
export const keys = JSON.parse(process.env.MAAS_TEST_KEYS ?? "{}");
export const agents = JSON.parse(process.env.MAAS_TEST_AGENTS ?? "{}");

/** `skip` option of the tests that need the server (a reason when it is missing). */
export const needsServer =
  baseUrl && keys.supervisor && agents.worker
    ? false
    : "needs a running server: set MAAS_BASE_URL, MAAS_TEST_KEYS and MAAS_TEST_AGENTS (tests/test_rest_typescript.py does)";

/** The specification's shared scope (the supervisor key's floor). */
export const SHARED = Object.freeze({ org: "acme", project: "market-research-q3" });

/** A client acting as the agent of key `name`. */
export function client(name = "supervisor", options = {}) {
  return new MaaSClient({ baseUrl, apiKey: keys[name], ...options });
}

/** A word unique to this run, so that test files sharing the server do not see each other's data. */
export function tag(prefix = "run") {
  return `${prefix}${Math.random().toString(36).slice(2, 8).replace(/[0-9]/g, "x")}`;
}

/** A `fetch` that records every request (url, method, headers) in `log` before sending it. */
export function recordingFetch(log, inner = globalThis.fetch) {
  return async (input, init = {}) => {
    log.push({ url: String(input), method: init.method ?? "GET", headers: new Headers(init.headers) });
    return inner(input, init);
  };
}
