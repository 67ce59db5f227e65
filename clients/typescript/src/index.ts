/**
 * maas-langchain-client: the TypeScript client of the maas_langchain REST API.
 *
 * @example
 * import { MaaSClient } from "maas-langchain-client";
 * const client = new MaaSClient({ baseUrl: process.env.MAAS_BASE_URL, apiKey: process.env.MAAS_API_KEY });
 */

export * from "./client.js";
export { MaaSError, type MaaSErrorInit } from "./errors.js";
export type { EventKind, EventStreamOptions, MaaSEvent } from "./events.js";
export {
  type CallInput,
  type CallOptions,
  type MaaSClientOptions,
  type Operation,
  type PathOf,
  type RetryOptions,
  type Success,
  Transport,
  type WriteOptions,
  newIdempotencyKey,
} from "./http.js";
export { type SseMessage, SseParser } from "./sse.js";
export type { components, operations, paths } from "./schema.js";
