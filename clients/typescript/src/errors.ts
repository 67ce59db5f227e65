/** The one error type the client throws for a refusal, a network failure or a bad response. */

/** What {@link MaaSError}'s constructor takes. */
export interface MaaSErrorInit {
  /** A stable code: the server's (`invalid_input`, `permission_denied`, `not_found`, `conflict`,
   * `rate_limited`, `backend_unavailable`, `storage_corrupted`...) or the client's own
   * (`network_error`, `timeout`, `invalid_response`, `http_error`, `configuration`). */
  code: string;
  /** One sentence for a person. */
  message: string;
  /** True when the same request may succeed later (the client retries these by itself). */
  retryable?: boolean;
  /** The HTTP status, or 0 when no response arrived (network failure, timeout, configuration). */
  status?: number;
  /** Any other fields of the server's error object (e.g. `retry_after`). */
  details?: Record<string, unknown>;
  /** Seconds to wait before a retry, from the `Retry-After` header. */
  retryAfter?: number;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * A refusal of the server (`{"error": {"code", "message", "retryable"}}`), a network failure,
 * a timeout or an unusable response.
 *
 * @example
 * try { await client.memories.get("nope") }
 * catch (err) { if (err instanceof MaaSError && err.code === "not_found") { ... } }
 */
export class MaaSError extends Error {
  override readonly name = "MaaSError";
  readonly code: string;
  readonly retryable: boolean;
  readonly status: number;
  readonly details: Record<string, unknown>;
  readonly retryAfter: number | undefined;

  constructor(init: MaaSErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.retryable = init.retryable ?? false;
    this.status = init.status ?? 0;
    this.details = init.details ?? {};
    this.retryAfter = init.retryAfter;
  }
}

/** Parse a `Retry-After` header (seconds, or an HTTP date) into seconds. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000);
}

/** The error a non-2xx response stands for (the server's error shape, or `http_error`); reads the body. */
export async function errorFromResponse(response: Response): Promise<MaaSError> {
  const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
  const text = await response.text(); // may throw when the connection drops: the caller decides
  try {
    const parsed: unknown = JSON.parse(text);
    const error = (parsed as { error?: unknown } | null)?.error;
    if (error !== null && typeof error === "object" && typeof (error as { code?: unknown }).code === "string") {
      const { code, message, retryable, ...details } = error as Record<string, unknown>;
      return new MaaSError({
        code: code as string,
        message: typeof message === "string" ? message : String(code),
        retryable: retryable === true,
        status: response.status,
        details,
        retryAfter,
      });
    }
  } catch {
    // not JSON: a proxy's page, for example
  }
  const gateway = response.status === 502 || response.status === 503 || response.status === 504;
  return new MaaSError({
    code: "http_error",
    message: `HTTP ${response.status} ${response.statusText}`.trim() + (text ? `: ${text.slice(0, 200)}` : ""),
    retryable: gateway || response.status === 429,
    status: response.status,
    retryAfter,
  });
}
