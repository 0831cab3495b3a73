import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { AuditEvent } from "../audit/events.js";
import { errorMessage } from "../errors.js";
import { SEGMENT_SUFFIX } from "../log/segments.js";
import { DecisionLogTail } from "./log-tail.js";
import { parseAuditLine, RecordingError } from "./recorded-source.js";

/** Most bytes read from one file per poll, so a long recording is read in steps of bounded memory. */
export const MAX_READ_BYTES = 8 * 1024 * 1024;

/**
 * Bytes at the start of a file and before its read position that are read again and compared, to
 * notice a file rewritten in place (a new run starts with its own run id).
 */
const CHECK_BYTES = 64;

/** Where one JSON Lines file was read up to. */
interface FileCursor {
  /** Bytes consumed (up to the end of the last complete line, or of a last line taken without its newline). */
  offset: number;
  /** Lines consumed, for messages. */
  lines: number;
  /** The last line consumed was taken without its newline: what comes before the next newline belongs to it. */
  open: boolean;
  /** Identity of the file read (`dev:ino`): another file at the path (replaced) is read from its start. */
  identity: string | undefined;
  /** The first bytes consumed (up to {@link CHECK_BYTES}): different bytes there mean a rewritten file. */
  head: Buffer;
  /** The last bytes consumed (up to {@link CHECK_BYTES}), likewise. */
  tail: Buffer;
}

const newCursor = (): FileCursor => ({
  offset: 0,
  lines: 0,
  open: false,
  identity: undefined,
  head: Buffer.alloc(0),
  tail: Buffer.alloc(0),
});

/**
 * Reads a recording in steps: each {@link RecordingTail.poll} returns the events appended since
 * the previous one. A JSON Lines file is read from the byte where the last complete line ended
 * (a line still being written waits for its newline); a directory of `.jsonl` files is read file
 * by file in name order, new files included; a decision-log directory is read from where the last
 * read stopped (segment, offset), decoding only the frames written since (see
 * {@link DecisionLogTail}).
 *
 * @remarks
 * Reads use `node:fs/promises` (the thread pool); only a decision log's directory listing is
 * synchronous. A poll reads at most {@link MAX_READ_BYTES} of each file (of the whole log for a
 * decision log) and sets {@link RecordingTail.behind} when more is waiting; in a directory of
 * `.jsonl` files it then reads no later file, so events arrive in name order. A line longer than
 * {@link MAX_READ_BYTES} is a {@link RecordingError}. A file that shrank, was replaced (another
 * file at the path) or rewritten in place (its first bytes, or those before the read position,
 * changed) is read again from its start.
 */
export class RecordingTail {
  private readonly cursors = new Map<string, FileCursor>();
  /** Whether the last poll left bytes unread (it reads at most {@link MAX_READ_BYTES} per file). */
  behind = false;
  private readonly log: DecisionLogTail | undefined;
  private fileBytesRead = 0;

  private constructor(
    readonly path: string,
    private readonly kind: "file" | "jsonl-dir" | "decision-log",
  ) {
    this.log = kind === "decision-log" ? new DecisionLogTail(path) : undefined;
  }

  /** Bytes read from the recording's files so far (what following it costs). */
  get bytesRead(): number {
    return this.fileBytesRead + (this.log?.bytesRead ?? 0);
  }

  /** A tail of `path`; throws a {@link RecordingError} when the path cannot be read. */
  static async open(path: string): Promise<RecordingTail> {
    try {
      const info = await stat(path);
      if (!info.isDirectory()) return new RecordingTail(path, "file");
      const names = await readdir(path);
      if (names.some((n) => n.endsWith(SEGMENT_SUFFIX))) return new RecordingTail(path, "decision-log");
      if (names.some((n) => n.endsWith(".jsonl"))) return new RecordingTail(path, "jsonl-dir");
    } catch (error) {
      throw new RecordingError(`cannot read ${path}: ${errorMessage(error)}`);
    }
    throw new RecordingError(`${path}: no decision log segments or .jsonl files in this directory`);
  }

  /** The events appended since the last call (all of them on the first, read in bounded steps: see {@link behind}). */
  async poll(): Promise<AuditEvent[]> {
    this.behind = false;
    if (this.kind === "file") return this.readFile(this.path);
    if (this.log !== undefined) {
      let read: Awaited<ReturnType<DecisionLogTail["read"]>>;
      try {
        read = await this.log.read(MAX_READ_BYTES);
      } catch (error) {
        throw new RecordingError(`cannot read ${this.path}: ${errorMessage(error)}`);
      }
      this.behind = read.behind;
      return read.events;
    }
    const events: AuditEvent[] = [];
    const names = (await readdir(this.path)).filter((n) => n.endsWith(".jsonl")).sort();
    for (const name of names) {
      for (const event of await this.readFile(join(this.path, name))) events.push(event);
      // A file left behind is finished first: a later file's events must not overtake its own.
      if (this.behind) break;
    }
    return events;
  }

  private async readFile(file: string): Promise<AuditEvent[]> {
    let cursor = this.cursors.get(file);
    if (cursor === undefined) {
      cursor = newCursor();
      this.cursors.set(file, cursor);
    }
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(file, "r");
    } catch (error) {
      throw new RecordingError(`cannot read ${file}: ${errorMessage(error)}`);
    }
    let data: Buffer;
    let limited: boolean;
    try {
      const info = await handle.stat();
      const identity = `${info.dev}:${info.ino}`;
      for (;;) {
        if (cursor.identity !== identity || info.size < cursor.offset) {
          // Replaced by another file, or shrank: a new recording, read from its start.
          if (cursor.identity !== undefined) Object.assign(cursor, newCursor());
          cursor.identity = identity;
        }
        if (info.size === cursor.offset) return [];
        const length = Math.min(info.size - cursor.offset, MAX_READ_BYTES);
        limited = length < info.size - cursor.offset;
        // The bytes before the read position are read again: a file rewritten in place (truncated,
        // then written past the old position) no longer has them.
        const check = cursor.tail.length;
        const chunk = Buffer.alloc(check + length);
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, cursor.offset - check);
        this.fileBytesRead += bytesRead;
        let same = bytesRead >= check && chunk.subarray(0, check).equals(cursor.tail);
        if (same && cursor.offset > check) {
          const head = Buffer.alloc(cursor.head.length);
          this.fileBytesRead += (await handle.read(head, 0, head.length, 0)).bytesRead;
          same = head.equals(cursor.head);
        }
        if (!same) {
          Object.assign(cursor, newCursor(), { identity });
          continue;
        }
        data = chunk.subarray(check, bytesRead);
        break;
      }
    } finally {
      await handle.close();
    }
    if (limited) this.behind = true;
    const start = cursor.offset;
    const events = takeLines(file, cursor, data, limited);
    // Remember the first and the last bytes consumed, to check them on the next read.
    const consumed = cursor.offset - start;
    if (start < CHECK_BYTES)
      cursor.head = Buffer.concat([cursor.head, data.subarray(0, Math.min(consumed, CHECK_BYTES - start))]);
    cursor.tail =
      consumed >= CHECK_BYTES
        ? Buffer.from(data.subarray(consumed - CHECK_BYTES, consumed))
        : Buffer.concat([cursor.tail, data.subarray(0, consumed)]).subarray(-CHECK_BYTES);
    return events;
  }
}

/**
 * The events of the complete lines of `data` (the bytes of `file` from `cursor.offset`), advancing
 * the cursor past them. `limited`: `data` stops short of the end of the file.
 */
function takeLines(file: string, cursor: FileCursor, data: Buffer, limited: boolean): AuditEvent[] {
  const events: AuditEvent[] = [];
  const tooLong = (line: number) =>
    new RecordingError(`${file}:${line}: line longer than ${MAX_READ_BYTES / 1024 / 1024} MiB`);
  let at = 0;
  if (cursor.open) {
    // The line taken without its newline: what comes before the newline belongs to it.
    const newline = data.indexOf(0x0a);
    if (newline < 0) {
      if (limited) throw tooLong(cursor.lines);
      return events;
    }
    if (data.subarray(0, newline).toString("utf8").trim() !== "")
      throw new RecordingError(`${file}:${cursor.lines}: more text after the event on this line`);
    cursor.open = false;
    at = newline + 1;
  }
  const end = data.lastIndexOf(0x0a);
  if (end >= at) {
    for (const line of data.subarray(at, end).toString("utf8").split("\n")) {
      cursor.lines++;
      const event = parseAuditLine(line, file, cursor.lines);
      if (event !== undefined) events.push(event);
    }
    at = end + 1;
  } else if (limited && at === 0) {
    // A whole read step without a newline: the line would never fit one.
    throw tooLong(cursor.lines + 1);
  }
  // A last line without its newline is taken once it is a whole event (a writer that does not
  // end the file with a newline); a line cut short is never valid JSON, so it waits. A read cut
  // short by the step size does not reach the end of the file: its last line waits too.
  const rest = limited ? "" : data.subarray(at).toString("utf8");
  if (rest.trim() !== "" && completeEvent(rest)) {
    cursor.lines++;
    const event = parseAuditLine(rest, file, cursor.lines);
    if (event !== undefined) events.push(event);
    cursor.open = true;
    at = data.length;
  }
  cursor.offset += at;
  return events;
}

/** Whether `text` parses as a JSON object (a complete audit event line). */
function completeEvent(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null;
  } catch {
    return false;
  }
}
