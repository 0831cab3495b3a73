import { open } from "node:fs/promises";
import type { AuditDecodeContext, AuditEvent } from "../audit/events.js";
import { FRAME_HEADER_BYTES, type FrameSlice, MAX_PAYLOAD_BYTES, readFrame } from "../log/frame.js";
import { auditEventOf } from "../log/log-records.js";
import type { LogRecord } from "../log/records.js";
import {
  auditContextOf,
  decodeRingRecord,
  type RawRingRecord,
  RING_RECORD_KIND,
} from "../log/ring-record.js";
import { decodePayload } from "../log/scan.js";
import { listSegments, type SegmentFile } from "../log/segments.js";
import { EventLoopSlices } from "../runtime/event-loop-slices.js";

/** A decoded log record with its seq. */
type Entry = LogRecord & { readonly seq: number };

/** Where a decision log was read up to. */
interface LogCursor {
  /** Number of the segment that starts the log (its first record is the header). */
  root: number;
  /** Number of the segment being read. */
  segment: number;
  /** Bytes of it consumed: the end of its last valid frame read. */
  offset: number;
  /** Seq of that frame (the next segment's header repeats it). */
  last: number;
  /** Identity (`dev:ino`) of that segment file once read from; a new file means a rewritten log. */
  identity: string | undefined;
  /** What the ring records that follow decode against (the run's latest `audit.context`). */
  context: AuditDecodeContext | undefined;
}

/** What reading one segment from the cursor did. */
type SegmentStep =
  /** The file vanished, was replaced or shrank below the cursor: the log must be found again. */
  | "rescan"
  | {
      /** Bytes read. */
      readonly bytes: number;
      /** The cursor reached the end of the file as it was when read. */
      readonly atEnd: boolean;
      /** The read stopped at `limit` bytes with more to read. */
      readonly more: boolean;
    };

/**
 * Reads a decision-log directory in steps: each {@link DecisionLogTail.read} decodes only the
 * frames written after the previous one, from a cursor (segment, byte offset, audit decode
 * context), and returns their audit events.
 *
 * @remarks
 * The log is found as its reader finds it: it starts at the highest-numbered segment whose first
 * record is the header (seq 0), and continues through the following segments. Reading stops at
 * the first frame that is incomplete (still being written) or bad (a torn tail, damage), and
 * goes on from there once it is valid. When a segment read from has vanished, was replaced or
 * shrank (a compaction), the log is found again and read from its start; records whose seq is not
 * above the last one seen are skipped, so each arrives once, in order. A different log written
 * anew in the directory is not told apart: its records show only past the last seq seen.
 * Frames are checked (length, CRC) and decoded as the log's reader does.
 */
export class DecisionLogTail {
  private cursor: LogCursor | undefined;
  /** The highest seq delivered. */
  private lastSeq = 0;
  /** Bytes read from segment files so far. */
  bytesRead = 0;

  constructor(readonly dir: string) {}

  /**
   * The audit events of the records appended since the last call, reading at most `limit` bytes
   * (more when a single frame is larger); `behind` is true when more is waiting.
   */
  async read(limit: number): Promise<{ events: AuditEvent[]; behind: boolean }> {
    const events: AuditEvent[] = [];
    let budget = limit;
    // At most one rescan per call: a log rewritten while it is read is found again next time.
    for (let rescans = 0; rescans < 2; rescans++) {
      const segments = listSegments(this.dir);
      if (this.cursor !== undefined && !covers(this.cursor, segments)) this.cursor = undefined;
      if (this.cursor === undefined) {
        const root = (await this.findRoot(segments))?.number;
        if (root === undefined) return { events, behind: false };
        this.cursor = { root, segment: root, offset: 0, last: 0, identity: undefined, context: undefined };
      }
      const cursor = this.cursor;
      for (;;) {
        const file = segments.find((s) => s.number === cursor.segment);
        if (file === undefined) break;
        const step = await this.readSegment(file.path, cursor, budget, events);
        if (step === "rescan") break;
        budget -= step.bytes;
        if (step.more) return { events, behind: true };
        if (!step.atEnd) return { events, behind: false };
        const next = segments.find((s) => s.number > cursor.segment);
        if (next === undefined) return { events, behind: false };
        if (budget <= 0) return { events, behind: true };
        // The next segment continues this one when its header repeats the seq of this one's last
        // record (else a write to this one is still under way, or a segment is missing), or starts
        // a log of its own (a compaction's): then it is read as the new start.
        const first = await this.firstRecord(next.path);
        const continues =
          first !== null &&
          (isLogHeader(first) ||
            (next.number === cursor.segment + 1 && first.kind === "segment" && first.seq === cursor.last));
        if (!continues) return { events, behind: false };
        cursor.segment = next.number;
        cursor.offset = 0;
        cursor.last = 0;
        cursor.identity = undefined;
      }
      this.cursor = undefined;
    }
    return { events, behind: true };
  }

  /**
   * The header record of the log (the first record of the segment it starts at, as
   * {@link read} finds it), or undefined when no segment starts with one yet.
   */
  async header(): Promise<LogRecord | undefined> {
    return (await this.findRoot(listSegments(this.dir)))?.header;
  }

  /** The segment the log starts at and its header, or undefined when none starts with a header. */
  private async findRoot(
    segments: readonly SegmentFile[],
  ): Promise<{ number: number; header: Entry } | undefined> {
    for (let i = segments.length - 1; i >= 0; i--) {
      const first = await this.firstRecord(segments[i]!.path);
      if (first !== null && isLogHeader(first)) return { number: segments[i]!.number, header: first };
    }
    return undefined;
  }

  /** The first record of the segment at `path`, or null when there is no valid one (yet). */
  private async firstRecord(path: string): Promise<Entry | null> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, "r");
    } catch {
      return null;
    }
    try {
      const head = Buffer.alloc(FRAME_HEADER_BYTES);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      this.bytesRead += bytesRead;
      const length = head.readUInt32LE(0);
      if (bytesRead < head.length || length === 0 || length > MAX_PAYLOAD_BYTES) return null;
      const frame = Buffer.alloc(FRAME_HEADER_BYTES + length);
      const read = await handle.read(frame, 0, frame.length, 0);
      this.bytesRead += read.bytesRead;
      const slice = readFrame(frame, 0, read.bytesRead);
      return typeof slice === "string" ? null : decodeFrame(frame, slice, undefined);
    } finally {
      await handle.close();
    }
  }

  /**
   * Reads the segment at `path` from the cursor, at most `limit` bytes (or the one frame there when
   * it is larger), decodes each valid frame and adds the audit events past {@link lastSeq} to
   * `events`; advances the cursor past the frames read.
   */
  private async readSegment(
    path: string,
    cursor: LogCursor,
    limit: number,
    events: AuditEvent[],
  ): Promise<SegmentStep> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, "r");
    } catch {
      return "rescan";
    }
    let chunk: Buffer;
    let size: number;
    let limited: boolean;
    try {
      const info = await handle.stat();
      const identity = `${info.dev}:${info.ino}`;
      size = info.size;
      if ((cursor.identity !== undefined && cursor.identity !== identity) || size < cursor.offset)
        return "rescan";
      cursor.identity = identity;
      if (size === cursor.offset) return { bytes: 0, atEnd: true, more: false };
      let length = Math.min(size - cursor.offset, Math.max(limit, FRAME_HEADER_BYTES));
      // A frame larger than the limit is read whole, alone.
      if (length < size - cursor.offset) {
        const head = Buffer.alloc(FRAME_HEADER_BYTES);
        this.bytesRead += (await handle.read(head, 0, head.length, cursor.offset)).bytesRead;
        const frame = FRAME_HEADER_BYTES + Math.min(head.readUInt32LE(0), MAX_PAYLOAD_BYTES);
        length = Math.min(size - cursor.offset, Math.max(length, frame));
      }
      limited = length < size - cursor.offset;
      chunk = Buffer.alloc(length);
      const { bytesRead } = await handle.read(chunk, 0, length, cursor.offset);
      chunk = chunk.subarray(0, bytesRead);
      this.bytesRead += bytesRead;
    } finally {
      await handle.close();
    }
    let at = 0;
    // Up to 8 MiB of frames per call: decoded in slices, the host's event loop turning between them.
    const slices = new EventLoopSlices();
    while (at < chunk.length) {
      await slices.pause();
      const frame = readFrame(chunk, at);
      // Incomplete (being written, or cut by the limit) or bad (a torn tail, damage): stop here.
      if (typeof frame === "string") break;
      const record = decodeFrame(chunk, frame, cursor.context);
      if (record === null) break;
      const offset = cursor.offset + at;
      if (offset === 0) {
        // A segment's first record: the log header (a new start) or a segment header (a link).
        if (isLogHeader(record)) {
          cursor.root = cursor.segment;
          cursor.context = undefined;
        } else if (record.kind !== "segment") break;
      } else {
        cursor.context = auditContextOf(record) ?? cursor.context;
        if (record.seq > this.lastSeq) {
          this.lastSeq = record.seq;
          // An engine's log wraps each event ({ kind: "audit", event }); a bare event is taken too.
          const event = auditEventOf(record);
          if (event !== undefined) events.push(event);
        }
      }
      cursor.last = record.seq;
      at = frame.end;
    }
    cursor.offset += at;
    return { bytes: chunk.length, atEnd: cursor.offset === size, more: limited && at > 0 };
  }
}

/** Whether every segment from the cursor's root to the one it reads is still there. */
function covers(cursor: LogCursor, segments: readonly SegmentFile[]): boolean {
  const present = new Set(segments.map((s) => s.number));
  for (let n = cursor.root; n <= cursor.segment; n++) if (!present.has(n)) return false;
  return true;
}

function isLogHeader(record: Entry): boolean {
  return record.seq === 0 && record.kind === "header";
}

/**
 * The record the frame `slice` of `bytes` holds, decoded as the log's reader decodes it (JSON,
 * binary audit, timing and ring records; ring records against `context`), or null when it is
 * invalid or cannot be decoded.
 */
function decodeFrame(
  bytes: Buffer,
  slice: FrameSlice,
  context: AuditDecodeContext | undefined,
): Entry | null {
  const record = decodePayload(bytes, slice.payloadStart, slice.end);
  if (record === null || record.kind !== RING_RECORD_KIND) return record;
  return decodeRingRecord(record as unknown as RawRingRecord, context);
}
