/**
 * The HTTP layer: URLs, the `Authorization` and `Idempotency-Key` headers, retries with backoff,
 * and request/response types taken from the generated OpenAPI types (`schema.ts`), so a call
 * that no longer matches the server's document fails `tsc`.
 */

import { MaaSError, errorFromResponse } from "./errors.js";
import type { paths } from "./schema.js";

/** How the client retries: only `retryable` errors and network failures, with exponential backoff. */
export interface RetryOptions {
  /** Attempts per call, the first included (default 3; 1 turns retries off). */
  maxAttempts?: number;
  /** Delay before the first retry in ms (default 250); doubled each time, with jitter. */
  baseDelayMs?: number;
  /** Longest delay between attempts in ms (default 5000; a longer `Retry-After` is capped to it). */
  maxDelayMs?: number;
}

/** Options of {@link MaaSClient}. */
export interface MaaSClientOptions {
  /** Where the server is, e.g. `http://127.0.0.1:8765` (default `$MAAS_BASE_URL`). */
  baseUrl?: string | undefined;
  /** The agent's API key (`maas keys create --agent ID`; default `$MAAS_API_KEY`). */
  apiKey?: string | undefined;
  /** Retries (default: 3 attempts); `false` for a single attempt. */
  retry?: RetryOptions | false;
  /** Time limit of one attempt in ms (default 60000). */
  timeoutMs?: number;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

/** Options every call takes. */
export interface CallOptions {
  /** Abort the call (the promise rejects with the signal's reason). */
  signal?: AbortSignal | undefined;
}

/** Options every write takes. */
export interface WriteOptions extends CallOptions {
  /** Sent as `Idempotency-Key`: a retry with the same key and request replays the first answer
   * instead of running again (kept 24 h by the server). Default: a new UUID per call, reused
   * across the client's own retries of that call. */
  idempotencyKey?: string | undefined;
}

type Method = "get" | "post" | "delete";
type Json = "application/json";

/** The paths of the OpenAPI document that have method `M`. */
export type PathOf<M extends Method> = {
  [P in keyof paths]: paths[P] extends Record<M, object> ? P : never;
}[keyof paths];

/** The operation at `P` / `M`. */
export type Operation<P extends keyof paths, M extends Method> = paths[P] extends Record<M, infer O> ? O : never;

type PathInput<O> = O extends { parameters: { path: infer T } } ? { path: T } : { path?: undefined };
type QueryInput<O> = O extends { parameters: { query?: infer T } }
  ? [T] extends [never] | [undefined]
    ? { query?: undefined }
    : { query?: T }
  : { query?: undefined };
type BodyInput<O> = O extends { requestBody: { content: Record<Json, infer B> } }
  ? { body: B }
  : O extends { requestBody?: never }
    ? { body?: undefined }
    : O extends { requestBody?: { content: Record<Json, infer B> } }
      ? { body?: B }
      : { body?: undefined };

/** The JSON body of the operation's success response (200 or 201). */
export type Success<O> = O extends { responses: infer R }
  ? R extends { 200: { content: Record<Json, infer T> } }
    ? T
    : R extends { 201: { content: Record<Json, infer T> } }
      ? T
      : unknown
  : unknown;

/** What {@link Transport.call} takes for operation `O`. */
export type CallInput<O> = PathInput<O> &
  QueryInput<O> &
  BodyInput<O> & {
    /** A write: send an `Idempotency-Key` (the given one, or a new UUID). */
    write?: boolean;
    idempotencyKey?: string | undefined;
    signal?: AbortSignal | undefined;
  };

const DEFAULT_RETRY: Required<RetryOptions> = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 5_000 };

function env(name: string): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const value = proc?.env?.[name];
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/** A new idempotency key (a UUID where `crypto.randomUUID` exists). */
export function newIdempotencyKey(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string; getRandomValues?: <T>(a: T) => T } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (crypto?.getRandomValues) crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Wait `ms`, or reject with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** An AbortController that also aborts when `parent` does; `release()` detaches it. */
export function linkedController(parent?: AbortSignal): { controller: AbortController; release: () => void } {
  const controller = new AbortController();
  if (!parent) return { controller, release: () => {} };
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { controller, release: () => {} };
  }
  const onAbort = (): void => controller.abort(parent.reason);
  parent.addEventListener("abort", onAbort, { once: true });
  return { controller, release: () => parent.removeEventListener("abort", onAbort) };
}

/** Sends requests for {@link MaaSClient}: one per attempt, retried as {@link RetryOptions} say. */
export class Transport {
  readonly baseUrl: string;
  readonly retry: Required<RetryOptions>;
  readonly timeoutMs: number;
  private readonly apiKey: string;
  /** The `fetch` in use. */
  readonly fetchImpl: typeof fetch;
  private readonly extraHeaders: Record<string, string>;

  constructor(options: MaaSClientOptions = {}) {
    const baseUrl = options.baseUrl ?? env("MAAS_BASE_URL");
    const apiKey = options.apiKey ?? env("MAAS_API_KEY");
    if (!baseUrl) {
      throw new MaaSError({
        code: "configuration",
        message: "no server URL: pass new MaaSClient({ baseUrl: 'http://host:8765' }) or set MAAS_BASE_URL",
      });
    }
    if (!apiKey) {
      throw new MaaSError({
        code: "configuration",
        message: "no API key: pass new MaaSClient({ apiKey }) or set MAAS_API_KEY (maas keys create --agent ID)",
      });
    }
    let parsed: URL;
    try {
      parsed = new URL(baseUrl);
    } catch (cause) {
      throw new MaaSError({ code: "configuration", message: `baseUrl is not a URL: ${baseUrl}`, cause });
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new MaaSError({ code: "configuration", message: `baseUrl must be http(s)://, got ${baseUrl}` });
    }
    const fetchImpl = options.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (!fetchImpl) {
      throw new MaaSError({ code: "configuration", message: "no global fetch: use Node 18+ or pass { fetch }" });
    }
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.apiKey = apiKey;
    // called as a plain function: browsers refuse fetch with another `this` ("Illegal invocation")
    this.fetchImpl = (input, init) => fetchImpl(input, init);
    this.extraHeaders = { ...(options.headers ?? {}) };
    this.timeoutMs = options.timeoutMs ?? 60_000;
    const retry = options.retry === false ? { maxAttempts: 1 } : (options.retry ?? {});
    this.retry = { ...DEFAULT_RETRY, ...retry };
    if (!Number.isInteger(this.retry.maxAttempts) || this.retry.maxAttempts < 1) {
      throw new MaaSError({ code: "configuration", message: "retry.maxAttempts must be an integer >= 1" });
    }
  }

  /** `baseUrl + path` with `{name}` parts filled in and the query string. */
  url(path: string, params?: Record<string, unknown>, query?: Record<string, unknown>): string {
    const filled = path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const value = params?.[name];
      if (value === undefined || value === null || value === "") {
        throw new MaaSError({ code: "invalid_input", message: `${name} is required` });
      }
      return encodeURIComponent(String(value));
    });
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) search.append(key, String(value));
    }
    const qs = search.toString();
    return `${this.baseUrl}${filled}${qs ? `?${qs}` : ""}`;
  }

  /** The headers of every request (with the key). */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...this.extraHeaders, Authorization: `Bearer ${this.apiKey}`, ...extra };
  }

  /**
   * One `fetch` under the attempt's time limit, which also covers `read(response)` (the body).
   * Network failures and timeouts become retryable {@link MaaSError}s; the caller's abort
   * rejects with its signal's reason. `timeoutMs <= 0`: no limit.
   */
  async fetch<T>(
    url: string,
    init: RequestInit,
    read: (response: Response) => Promise<T>,
    signal?: AbortSignal,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    const { controller, release } = linkedController(signal);
    const timer = timeoutMs > 0 ? setTimeout(() => controller.abort(TIMEOUT), timeoutMs) : undefined;
    try {
      let response: Response;
      try {
        response = await this.fetchImpl(url, { ...init, signal: controller.signal });
      } catch (cause) {
        throw this.failure(cause, controller.signal, signal, timeoutMs, "could not reach the server");
      }
      try {
        return await read(response);
      } catch (cause) {
        if (cause instanceof MaaSError) throw cause;
        throw this.failure(cause, controller.signal, signal, timeoutMs, "the connection dropped while reading");
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      release();
    }
  }

  private failure(
    cause: unknown,
    own: AbortSignal,
    caller: AbortSignal | undefined,
    timeoutMs: number,
    what: string,
  ): unknown {
    if (caller?.aborted) return caller.reason;
    if (own.reason === TIMEOUT) {
      return new MaaSError({ code: "timeout", message: `no answer within ${timeoutMs} ms`, retryable: true, cause });
    }
    return new MaaSError({
      code: "network_error",
      message: `${what} (${this.baseUrl}): ${describe(cause)}`,
      retryable: true,
      cause,
    });
  }

  /** Call one operation of the OpenAPI document; retry retryable failures; return its JSON body. */
  async call<M extends Method, P extends PathOf<M>>(
    method: M,
    path: P,
    input: CallInput<Operation<P, M>>,
  ): Promise<Success<Operation<P, M>>> {
    const { path: params, query, body, write, idempotencyKey, signal } = input as {
      path?: Record<string, unknown>;
      query?: Record<string, unknown>;
      body?: unknown;
      write?: boolean;
      idempotencyKey?: string;
      signal?: AbortSignal;
    };
    const url = this.url(path, params, query);
    const headers = this.headers({ Accept: "application/json" });
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (write) headers["Idempotency-Key"] = idempotencyKey ?? newIdempotencyKey();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return (await this.send(url, { method: method.toUpperCase(), headers, body: payload }, signal)) as Success<
      Operation<P, M>
    >;
  }

  /** Send `init` to `url` (same headers, same Idempotency-Key on every attempt) until it succeeds,
   * fails for good, or the attempts run out. */
  async send(url: string, init: RequestInit, signal?: AbortSignal): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      let error: MaaSError;
      try {
        const outcome = await this.fetch(
          url,
          init,
          async (response) => (response.ok ? { ok: await readJson(response) } : { error: await errorFromResponse(response) }),
          signal,
        );
        if ("ok" in outcome) return outcome.ok;
        error = outcome.error;
      } catch (caught) {
        if (!(caught instanceof MaaSError)) throw caught; // an abort: the caller's signal reason
        error = caught;
      }
      if (!error.retryable || attempt >= this.retry.maxAttempts) throw error;
      await sleep(this.backoff(attempt, error.retryAfter), signal);
    }
  }

  /** Delay before retry number `attempt` (1-based): exponential with jitter, or `Retry-After`. */
  backoff(attempt: number, retryAfter?: number): number {
    const { baseDelayMs, maxDelayMs } = this.retry;
    if (retryAfter !== undefined) return Math.min(maxDelayMs, retryAfter * 1000);
    const exp = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    return Math.round(exp / 2 + Math.random() * (exp / 2));
  }
}

const TIMEOUT = Symbol("maas-timeout");

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const inner = cause instanceof Error ? ` (${cause.message})` : "";
    return `${error.message}${inner}`;
  }
  return String(error);
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text(); // a dropped connection: the caller's network_error
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new MaaSError({
      code: "invalid_response",
      message: `the server answered ${response.status} with a body that is not JSON`,
      status: response.status,
      cause,
    });
  }
}
