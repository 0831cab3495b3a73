import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { AuditEvent } from "../audit/events.js";
import { errorMessage } from "../errors.js";
import { auditEventOf } from "../log/log-records.js";
import { readDecisionLog } from "../log/reader.js";
import { SEGMENT_SUFFIX } from "../log/segments.js";
import { parseAuditLine, RecordingError } from "./recorded-source.js";

/** Most bytes read from one file per poll, so a long recording is read in steps of bounded memory. */
export const MAX_READ_BYTES = 8 * 1024 * 1024;

/** Where one JSON Lines file was read up to. */
interface FileCursor {
  /** Bytes consumed (up to the end of the last complete line). */
  offset: number;
  /** Lines consumed, for messages. */
  lines: number;
}

/**
 * Reads a recording in steps: each {@link RecordingTail.poll} returns the events appended since
 * the previous one. A JSON Lines file is read from the byte where the last complete line ended
 * (a line still being written waits for its newline); a directory of `.jsonl` files is read file
 * by file in name order, new files included; a decision-log directory is read again when its
 * segments grew, and yields the records past the last sequence number seen.
 *
 * @remarks
 * Reads use `node:fs/promises` (the thread pool), except the decision log, whose reader is
 * synchronous and runs only when a segment's size changed. A poll reads at most
 * {@link MAX_READ_BYTES} of each file and sets {@link RecordingTail.behind} when more is waiting.
 * A file that shrank (truncated or replaced) is read again from its start.
 */
export class RecordingTail {
  private readonly cursors = new Map<string, FileCursor>();
  /** Whether the last poll left bytes unread (it reads at most {@link MAX_READ_BYTES} per file). */
  behind = false;
  private logSize = -1;
  private logSeq = 0;

  private constructor(
    readonly path: string,
    private readonly kind: "file" | "jsonl-dir" | "decision-log",
  ) {}

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

  /** The events appended since the last call (all of them on the first). */
  async poll(): Promise<AuditEvent[]> {
    this.behind = false;
    if (this.kind === "file") return this.readFile(this.path);
    if (this.kind === "decision-log") return this.readLog();
    const events: AuditEvent[] = [];
    const names = (await readdir(this.path)).filter((n) => n.endsWith(".jsonl")).sort();
    for (const name of names)
      for (const event of await this.readFile(join(this.path, name))) events.push(event);
    return events;
  }

  private async readFile(file: string): Promise<AuditEvent[]> {
    let cursor = this.cursors.get(file);
    if (cursor === undefined) {
      cursor = { offset: 0, lines: 0 };
      this.cursors.set(file, cursor);
    }
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(file, "r");
    } catch (error) {
      throw new RecordingError(`cannot read ${file}: ${errorMessage(error)}`);
    }
    let chunk: Buffer;
    try {
      const { size } = await handle.stat();
      if (size < cursor.offset) {
        cursor.offset = 0;
        cursor.lines = 0;
      }
      if (size === cursor.offset) return [];
      const length = Math.min(size - cursor.offset, MAX_READ_BYTES);
      if (length < size - cursor.offset) this.behind = true;
      chunk = Buffer.alloc(length);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, cursor.offset);
      chunk = chunk.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
    const events: AuditEvent[] = [];
    const end = chunk.lastIndexOf(0x0a);
    if (end >= 0) {
      for (const line of chunk.subarray(0, end).toString("utf8").split("\n")) {
        cursor.lines++;
        const event = parseAuditLine(line, file, cursor.lines);
        if (event !== undefined) events.push(event);
      }
      cursor.offset += end + 1;
    }
    // A last line without its newline is taken once it is a whole event (a writer that does not
    // end the file with a newline); a line cut short is never valid JSON, so it waits.
    const rest = chunk.subarray(end + 1).toString("utf8");
    if (rest.trim() !== "" && completeEvent(rest)) {
      const event = parseAuditLine(rest, file, cursor.lines + 1);
      if (event !== undefined) events.push(event);
      cursor.lines++;
      cursor.offset += chunk.length - (end + 1);
    }
    return events;
  }

  private async readLog(): Promise<AuditEvent[]> {
    const names = (await readdir(this.path)).filter((n) => n.endsWith(SEGMENT_SUFFIX));
    let size = 0;
    for (const name of names) size += (await stat(join(this.path, name))).size;
    if (size === this.logSize) return [];
    this.logSize = size;
    const events: AuditEvent[] = [];
    for (const entry of readDecisionLog(this.path, { strict: false }).records) {
      if (entry.seq <= this.logSeq) continue;
      this.logSeq = entry.seq;
      // An engine's log wraps each event ({ kind: "audit", event }); a bare event is taken too.
      const event = auditEventOf(entry.record);
      if (event !== undefined) events.push(event);
    }
    return events;
  }
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
