/**
 * Server-sent events framing (the `text/event-stream` format): named events with one line of
 * JSON data, optional ids, and comment lines as heartbeats.
 */

/** Response headers of an event stream: no caching, no proxy buffering, kept open. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

/**
 * One SSE message: `event: <name>`, an optional `id: <id>`, and `data: <json>`, then a blank line.
 *
 * @remarks
 * `JSON.stringify` never emits a raw newline, so the data always fits on one `data:` line (NaN and
 * infinities become `null`, as JSON has no number for them). `name` must not contain a newline.
 */
export function formatSseMessage(name: string, data: unknown, id?: number): string {
  if (/[\r\n]/.test(name)) throw new RangeError("an SSE event name cannot contain a line break");
  const idLine = id === undefined ? "" : `id: ${id}\n`;
  return `event: ${name}\n${idLine}data: ${JSON.stringify(data)}\n\n`;
}

/** A comment line, which clients ignore: keeps idle connections (and proxies) from timing out. */
export const SSE_HEARTBEAT = ": heartbeat\n\n";

/** One parsed SSE message (for tests and clients written in Node). */
export interface SseMessage {
  readonly event: string;
  readonly id: string | undefined;
  readonly data: string;
}

/**
 * Splits a chunk of an event stream into complete messages and the unfinished rest (to prepend to
 * the next chunk). Comment lines are skipped; multi-line data is joined with newlines.
 */
export function parseSseChunk(buffer: string): { messages: SseMessage[]; rest: string } {
  const messages: SseMessage[] = [];
  const blocks = buffer.split("\n\n");
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    let event = "message";
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":") || line === "") continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "id") id = value;
      else if (field === "data") data.push(value);
    }
    if (data.length > 0) messages.push({ event, id, data: data.join("\n") });
  }
  return { messages, rest };
}
