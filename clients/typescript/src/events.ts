/**
 * `client.events()`: `GET /v1/events` (Server-Sent Events) as an async iterator, read from the
 * fetch body stream with {@link SseParser}. A dropped connection (network failure, the server
 * closing the stream, or no byte — not even the server's keep-alive comment — for `idleTimeoutMs`)
 * reconnects with `Last-Event-ID` set to the last event received, so nothing is lost (delivery
 * is at-least-once). Aborting `signal`, or leaving the `for await` loop, ends it.
 */

import { MaaSError, errorFromResponse } from "./errors.js";
import { type Transport, linkedController, sleep } from "./http.js";
import { SseParser } from "./sse.js";

/** Kinds of event on the stream. */
export type EventKind =
  | "agent.registered"
  | "pool.joined"
  | "pool.left"
  | "memory.shared"
  | "memory.written"
  | "memory.status_changed"
  | "handoff.initiated"
  | "handoff.accepted"
  | "handoff.rejected"
  | "handoff.completed"
  | "handoff.expired"
  | "handoff.cancelled"
  | "entity.conflict";

/** One event (the JSON of an SSE message's `data`; its `id` is `seq`). */
export interface MaaSEvent {
  /** Position in the stream, strictly increasing in commit order (the SSE `id`). */
  seq: number;
  /** What happened. */
  kind: EventKind;
  /** The pool concerned, if any. */
  pool_id: string | null;
  /** Commit time, seconds since the epoch. */
  timestamp: number;
  /** Ids and facts of the change (`agent_id`, `handoff_id`, `source`, `target`, `memory_id`, `scope`...). */
  data: Record<string, unknown>;
}

/** Options of {@link MaaSClient.events}. */
export interface EventStreamOptions {
  /** Start after this event id (`0`: every retained event); default: only events from now on. */
  after?: number | undefined;
  /** Only these kinds. */
  kinds?: readonly (EventKind | string)[] | undefined;
  /** Only events of this pool. */
  poolId?: string | undefined;
  /** Stop the stream (the iterator then ends without an error). */
  signal?: AbortSignal | undefined;
  /** Reconnect when nothing arrived for this long, in ms (default 45000; the server sends a
   * keep-alive comment every 15 s). 0 turns it off. */
  idleTimeoutMs?: number | undefined;
  /** First reconnection delay in ms (default: the client's retry `baseDelayMs`, or the server's `retry:`);
   * doubles with each consecutive failure up to the client's `maxDelayMs`. */
  reconnectDelayMs?: number | undefined;
  /** Consecutive failed connection attempts before giving up with the last error (default: never give up). */
  maxReconnectAttempts?: number | undefined;
}

const IDLE = Symbol("maas-idle");

/** The stream; see the module comment. */
export async function* eventStream(transport: Transport, options: EventStreamOptions = {}): AsyncGenerator<MaaSEvent> {
  const { signal } = options;
  const idleMs = options.idleTimeoutMs ?? 45_000;
  const maxFailures = options.maxReconnectAttempts ?? Number.POSITIVE_INFINITY;
  let baseDelay = options.reconnectDelayMs ?? transport.retry.baseDelayMs;
  let lastId = options.after === undefined ? "" : String(options.after);
  let first = true;
  let failures = 0;
  const kinds = options.kinds && options.kinds.length > 0 ? options.kinds.join(",") : undefined;

  while (!signal?.aborted) {
    // the first connection says where to start with ?after=; reconnections with Last-Event-ID
    // (the server lets ?after= win, so it is not repeated)
    const query = { pool_id: options.poolId, kinds, after: first ? options.after : undefined };
    first = false;
    const headers = transport.headers({ Accept: "text/event-stream", "Cache-Control": "no-cache" });
    if (lastId !== "" && query.after === undefined) headers["Last-Event-ID"] = lastId;
    const url = transport.url("/v1/events", undefined, query);
    const { controller, release } = linkedController(signal);
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    const touch = (): void => {
      if (idleMs <= 0) return;
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => controller.abort(IDLE), idleMs);
    };
    const dropped = (cause: unknown, what: string): MaaSError =>
      controller.signal.reason === IDLE
        ? new MaaSError({ code: "timeout", message: `no data on the event stream for ${idleMs} ms`, retryable: true, cause })
        : new MaaSError({ code: "network_error", message: `${what}: ${String(cause)}`, retryable: true, cause });
    try {
      touch();
      let response: Response;
      try {
        response = await transport.fetchImpl(url, { method: "GET", headers, signal: controller.signal });
      } catch (cause) {
        throw dropped(cause, `could not reach ${transport.baseUrl}`);
      }
      if (!response.ok) {
        let error: MaaSError;
        try {
          error = await errorFromResponse(response);
        } catch (cause) {
          throw dropped(cause, "the connection dropped");
        }
        throw error;
      }
      const type = response.headers.get("content-type") ?? "";
      if (!type.toLowerCase().startsWith("text/event-stream") || response.body === null) {
        throw new MaaSError({
          code: "invalid_response",
          message: `GET /v1/events answered ${type || "no content type"}, not text/event-stream`,
          status: response.status,
        });
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder("utf-8");
      const parser = new SseParser();
      parser.lastEventId = lastId;
      failures = 0; // connected
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (cause) {
          throw dropped(cause, "the event stream dropped");
        }
        touch();
        if (chunk.done) break; // the server ended the stream: reconnect
        for (const message of parser.push(decoder.decode(chunk.value, { stream: true }))) {
          if (message.event === "error") throw streamError(message.data);
          const event = parseEvent(message.data);
          if (message.id !== "") lastId = message.id;
          if (parser.retryMs !== undefined) baseDelay = parser.retryMs;
          if (idleTimer !== undefined) clearTimeout(idleTimer); // a slow consumer is not a silent server
          yield event;
          touch();
        }
      }
    } catch (caught) {
      if (signal?.aborted) return;
      if (!(caught instanceof MaaSError) || !caught.retryable) throw caught;
      failures += 1;
      if (failures >= maxFailures) throw caught;
    } finally {
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      controller.abort(); // leaving the loop early, too, closes the connection
      release();
    }
    const delay = Math.min(transport.retry.maxDelayMs, baseDelay * 2 ** Math.max(0, failures - 1));
    try {
      await sleep(delay, signal);
    } catch {
      return; // aborted while waiting
    }
  }
}

function parseEvent(data: string): MaaSEvent {
  try {
    return JSON.parse(data) as MaaSEvent;
  } catch (cause) {
    throw new MaaSError({ code: "invalid_response", message: `an event that is not JSON: ${data.slice(0, 200)}`, cause });
  }
}

function streamError(data: string): MaaSError {
  let code = "stream_error";
  let message = "the server ended the event stream";
  try {
    const parsed = JSON.parse(data) as { code?: unknown; message?: unknown };
    if (typeof parsed.code === "string") code = parsed.code;
    if (typeof parsed.message === "string") message = parsed.message;
  } catch {
    // keep the defaults
  }
  return new MaaSError({ code, message, retryable: false, status: code === "permission_denied" ? 401 : 0 });
}
