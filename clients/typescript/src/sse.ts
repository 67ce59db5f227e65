/**
 * A Server-Sent Events parser (the WHATWG `text/event-stream` rules), fed decoded text chunks:
 * lines end in CRLF, LF or CR (a CR at the end of one chunk and an LF at the start of the next
 * are one line end); `data` lines accumulate; `id` sets the last event id (kept across messages,
 * ignored when it contains NUL); `retry` sets the reconnection time; lines starting with `:` are
 * comments; a blank line dispatches the message if it has data.
 */

/** One dispatched SSE message. */
export interface SseMessage {
  /** The `event` field, or `"message"`. */
  event: string;
  /** The `data` lines joined with `\n`. */
  data: string;
  /** The last event id at dispatch time (`""` when none was ever set). */
  id: string;
}

export class SseParser {
  /** The last `id` field seen (what a reconnection sends as `Last-Event-ID`). */
  lastEventId = "";
  /** The last valid `retry` field, in ms. */
  retryMs: number | undefined;
  private buffer = "";
  private data: string[] = [];
  private event = "";
  private started = false;
  private pendingCR = false;

  /** Feed a chunk of decoded text; return the messages it completed. */
  push(chunk: string): SseMessage[] {
    let text = chunk;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.pendingCR && text.startsWith("\n")) text = text.slice(1); // the LF of a CRLF split across chunks
    this.pendingCR = false;
    this.buffer += text;
    const out: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer.charCodeAt(i);
      if (ch !== 0x0a && ch !== 0x0d) continue;
      const line = this.buffer.slice(start, i);
      if (ch === 0x0d) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 0x0a) i++;
        } else {
          this.pendingCR = true;
        }
      }
      start = i + 1;
      const message = this.line(line);
      if (message) out.push(message);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** Drop a partly received message (the connection ended before its blank line). */
  reset(): void {
    this.buffer = "";
    this.data = [];
    this.event = "";
    this.pendingCR = false;
    this.started = false;
  }

  private line(line: string): SseMessage | undefined {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        break;
      case "event":
        this.event = value;
        break;
      case "id":
        if (!value.includes("\u0000")) this.lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const data = this.data;
    const event = this.event;
    this.data = [];
    this.event = "";
    if (data.length === 0) return undefined;
    return { event: event || "message", data: data.join("\n"), id: this.lastEventId };
  }
}
