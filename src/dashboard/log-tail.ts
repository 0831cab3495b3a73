import { open } from "node:fs/promises";
import type { AuditDecodeContext, AuditEvent } from "../audit/events.js";
import { LogCorruptionError } from "../log/errors.js";
import { FRAME_HEADER_BYTES, type FrameSlice, MAX_PAYLOAD_BYTES, readFrame } from "../log/frame.js";
import { auditEventOf } from "../log/log-records.js";
import type { LogRecord } from "../log/records.js";
import {
  auditContextOf,
  decodedRingRecord,
  type RawRingRecord,
  RING_RECORD_KIND,
} from "../log/ring-record.js";
import { decodePayload, hasValidFrameFrom, numberingGap } from "../log/scan.js";
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
 * the first frame that is incomplete or bad at the end of the last segment (still being written,
 * or a torn tail), and goes on from there once it is valid. Damage anywhere else (a bad frame with
 * a valid one after it or in a segment that is not the last, a missing segment, a segment that
 * does not continue the one before, a bad header, seqs that do not rise) throws a
 * {@link LogCorruptionError} naming the segment file and byte offset, as the log's reader does: a
 * damaged log must not read as a shorter, healthy one. What a log still arriving can show for a
 * moment (a later segment before an earlier one is complete, as a copy made file by file shows;
 * segments without their log's first one) is held, and reported once reads have stayed held
 * there for a while. Damage in a log that a compaction has replaced (a later segment starts a new
 * log) is that old log's end: the new one is read. When a segment read from has vanished, was
 * replaced or shrank (a compaction), the log is found again and read from its start; records whose
 * seq is not above the last one seen are skipped, so each arrives once, in order (those a
 * compaction dropped before they were read are not seen: a tail must keep within `keepRecords` of
 * the writer). A different log written anew in the directory is not told apart: its records show
 * only past the last seq seen.
 * Frames are checked (length, CRC) and decoded as the log's reader does.
 */
export class DecisionLogTail {
  private cursor: LogCursor | undefined;
  /** The highest seq delivered. */
  private lastSeq = 0;
  /** Bytes read from segment files so far. */
  bytesRead = 0;
  /**
   * Where the last read stopped short of a later segment it could not yet move to (an incomplete
   * frame, a next segment not yet begun or whose header says records are still to come, no log
   * header yet): a log still arriving, or damage. Damage never changes, so after
   * {@link HELD_READS} reads held at the same place it is reported.
   */
  private held: Held | undefined;
  private lastHeld: Held | undefined;
  private heldReads = 0;

  constructor(readonly dir: string) {}

  /**
   * The audit events of the records appended since the last call, reading at most `limit` bytes
   * (more when a single frame is larger); `behind` is true when more is waiting.
   */
  async read(limit: number): Promise<{ events: AuditEvent[]; behind: boolean }> {
    this.held = undefined;
    const read = await this.readSteps(limit);
    const held = this.held as Held | undefined;
    if (held === undefined) this.heldReads = 0;
    else {
      const same = this.lastHeld?.path === held.path && this.lastHeld.offset === held.offset;
      this.heldReads = same ? this.heldReads + 1 : 1;
      if (this.heldReads >= HELD_READS)
        throw new LogCorruptionError(
          held.path,
          held.offset,
          `${held.reason}, unchanged over ${HELD_READS} reads`,
        );
    }
    this.lastHeld = held;
    return read;
  }

  /** {@link read}'s work: what it returns, and where it was held (see {@link held}). */
  private async readSteps(limit: number): Promise<{ events: AuditEvent[]; behind: boolean }> {
    const events: AuditEvent[] = [];
    const budget = { left: limit };
    // At most one rescan per call: a log rewritten while it is read is found again next time.
    for (let rescans = 0; rescans < 2; rescans++) {
      const segments = listSegments(this.dir);
      if (this.cursor !== undefined && !covers(this.cursor, segments)) this.cursor = undefined;
      if (this.cursor === undefined) {
        const root = (await this.findRoot(segments))?.number;
        if (root === undefined) return { events, behind: false };
        this.cursor = { root, segment: root, offset: 0, last: 0, identity: undefined, context: undefined };
      }
      let outcome: { events: AuditEvent[]; behind: boolean } | "rescan";
      try {
        outcome = await this.readOn(this.cursor, segments, budget, events);
      } catch (error) {
        // What looks like damage in a log that a compaction has replaced (a new log starts in a
        // later segment; the old segments await removal) is that old log's end: read the new one.
        if (!(error instanceof LogCorruptionError && (await this.replacedAfter(segments)))) throw error;
        outcome = "rescan";
      }
      if (outcome !== "rescan") {
        if (this.held === undefined || !(await this.replacedAfter(segments))) return outcome;
        this.held = undefined;
      }
      this.cursor = undefined;
    }
    return { events, behind: true };
  }

  /**
   * Reads on from `cursor` through the listed `segments`, into `events`; "rescan" when a segment
   * read from vanished or was replaced.
   *
   * @throws LogCorruptionError at damage (see the class remarks).
   */
  private async readOn(
    cursor: LogCursor,
    segments: readonly SegmentFile[],
    budget: { left: number },
    events: AuditEvent[],
  ): Promise<{ events: AuditEvent[]; behind: boolean } | "rescan"> {
    for (;;) {
      const file = segments.find((s) => s.number === cursor.segment);
      if (file === undefined) return "rescan";
      const last = !segments.some((s) => s.number > cursor.segment);
      const step = await this.readSegment(file.path, cursor, budget.left, events, last);
      if (step === "rescan") return "rescan";
      budget.left -= step.bytes;
      if (step.more) return { events, behind: true };
      if (!step.atEnd) return { events, behind: false };
      const next = segments.find((s) => s.number > cursor.segment);
      if (next === undefined) return { events, behind: false };
      if (budget.left <= 0) return { events, behind: true };
      // The next segment continues this one (its header repeats the seq of this one's last
      // record) or starts a log of its own (a compaction's), read as the new start. Anything else
      // is damage, except a next segment still being created (its first frame incomplete) and a
      // header that says records are still to come here: those are held (see `held`).
      const first = await this.firstRecord(next.path);
      if (first === null) {
        if (segments.some((s) => s.number > next.number))
          this.held = {
            path: next.path,
            offset: 0,
            reason: "segment is empty or its first frame is incomplete, and a later segment exists",
          };
        return { events, behind: false };
      }
      if (first === "bad") throw new LogCorruptionError(next.path, 0, "bad frame (length or CRC)");
      if (!isLogHeader(first)) {
        const gap = numberingGap(file, next);
        if (gap !== null) throw new LogCorruptionError(next.path, 0, gap);
        if (first.kind !== "segment")
          throw new LogCorruptionError(next.path, 0, "segment does not start with a segment header");
        if (first.seq < cursor.last)
          throw new LogCorruptionError(
            next.path,
            0,
            `segment header seq ${first.seq} does not follow seq ${cursor.last}`,
          );
        if (first.seq > cursor.last) {
          this.held = {
            path: file.path,
            offset: cursor.offset,
            reason: `segment ends at seq ${cursor.last}, but the next one's header follows seq ${first.seq}`,
          };
          return { events, behind: false };
        }
      }
      cursor.segment = next.number;
      cursor.offset = 0;
      cursor.last = 0;
      cursor.identity = undefined;
    }
  }

  /** Whether a segment after the cursor's starts a log of its own (a compaction's new log). */
  private async replacedAfter(segments: readonly SegmentFile[]): Promise<boolean> {
    const from = this.cursor?.segment ?? Number.POSITIVE_INFINITY;
    for (const segment of segments) {
      if (segment.number <= from) continue;
      const first = await this.firstRecord(segment.path);
      if (first !== null && first !== "bad" && isLogHeader(first)) return true;
    }
    return false;
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
    let damaged: string | undefined;
    let linked = false;
    for (let i = segments.length - 1; i >= 0; i--) {
      const first = await this.firstRecord(segments[i]!.path);
      if (first === "bad") damaged = segments[i]!.path;
      else if (first !== null && isLogHeader(first)) return { number: segments[i]!.number, header: first };
      else if (first !== null) linked = true;
    }
    // No segment starts the log, and one starts with a bad frame: its header was damaged.
    if (damaged !== undefined) throw new LogCorruptionError(damaged, 0, "bad frame (length or CRC)");
    // Segments that continue a log whose start is gone (or not there yet, in a moment of a
    // compaction): held, then reported.
    if (linked)
      this.held = { path: segments[0]!.path, offset: 0, reason: "no segment starts with the log header" };
    return undefined;
  }

  /**
   * The first record of the segment at `path`; null when there is none yet (an empty or
   * incomplete first frame, or the file vanished), `"bad"` when the first frame is complete but
   * fails its checks or does not decode.
   */
  private async firstRecord(path: string): Promise<Entry | null | "bad"> {
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
      if (bytesRead < head.length) return null;
      if (length === 0 || length > MAX_PAYLOAD_BYTES) return "bad";
      const frame = Buffer.alloc(FRAME_HEADER_BYTES + length);
      const read = await handle.read(frame, 0, frame.length, 0);
      this.bytesRead += read.bytesRead;
      const slice = readFrame(frame, 0, read.bytesRead);
      if (slice === "truncated payload" || slice === "truncated header") return null;
      if (typeof slice === "string") return "bad";
      return decodeFrame(frame, slice, undefined) ?? "bad";
    } finally {
      await handle.close();
    }
  }

  /**
   * Reads the segment at `path` from the cursor, at most `limit` bytes (or the one frame there when
   * it is larger), decodes each valid frame and adds the audit events past {@link lastSeq} to
   * `events`; advances the cursor past the frames read. `last`: no later segment was listed.
   *
   * @throws LogCorruptionError at the first frame that cannot be a write still under way.
   */
  private async readSegment(
    path: string,
    cursor: LogCursor,
    limit: number,
    events: AuditEvent[],
    last: boolean,
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
      const offset = cursor.offset + at;
      if (typeof frame === "string") {
        // Incomplete: cut by the read's limit, still being written, or (with a later segment) a
        // log still arriving file by file, or damage: held.
        if (frame === "truncated header" || frame === "truncated payload") {
          if (!limited && !last)
            this.held = {
              path,
              offset,
              reason: `segment ends inside a frame (${frame}), and a later segment exists`,
            };
          break;
        }
        // Bad: a torn tail only at the very end of the log, with no valid frame after it.
        if (last && !(await validFrameAfter(path, chunk, at, limited, offset))) break;
        throw new LogCorruptionError(path, offset, "bad frame (length or CRC)");
      }
      // A frame whose checks pass was written whole: one that does not decode is damage.
      const record = decodeFrame(chunk, frame, cursor.context);
      if (record === null)
        throw new LogCorruptionError(
          path,
          offset,
          "record that cannot be decoded (an audit ring record with no audit.context before it?)",
        );
      if (offset === 0) {
        // A segment's first record: the log header (a new start) or a segment header (a link).
        if (isLogHeader(record)) {
          cursor.root = cursor.segment;
          cursor.context = undefined;
        } else if (record.kind !== "segment")
          throw new LogCorruptionError(path, 0, "segment does not start with a segment header");
      } else {
        if (record.seq <= cursor.last)
          throw new LogCorruptionError(path, offset, `seq ${record.seq} does not follow seq ${cursor.last}`);
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

/**
 * Whether a valid frame starts after the bad one at `at` of `chunk` (at `fileOffset` of the file at
 * `path`); when the read was limited, the rest of the file is read to tell (a rare path: damage, or
 * a torn tail in a log that grew past one read).
 */
async function validFrameAfter(
  path: string,
  chunk: Buffer,
  at: number,
  limited: boolean,
  fileOffset: number,
): Promise<boolean> {
  if (hasValidFrameFrom(chunk, at + 1)) return true;
  if (!limited) return false;
  const handle = await open(path, "r");
  try {
    const rest = Buffer.alloc(Math.max(0, (await handle.stat()).size - fileOffset));
    const { bytesRead } = await handle.read(rest, 0, rest.length, fileOffset);
    return hasValidFrameFrom(rest.subarray(0, bytesRead), 1);
  } finally {
    await handle.close();
  }
}

/** Where and why a read was held before a later segment (see `DecisionLogTail.held`). */
interface Held {
  readonly path: string;
  readonly offset: number;
  readonly reason: string;
}

/**
 * Reads held at the same place after which the log is reported damaged. The writer finishes a
 * segment before it starts the next, so only a log arriving by other means (a copy) holds a read
 * for longer than a moment; a dashboard polls every 20 ms at the fastest, so this is at least
 * 0.4 s, 10 s at the default interval.
 */
const HELD_READS = 20;

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
  // Its event as decoded: the tail only takes the event from it (auditEventOf).
  return decodedRingRecord(record as unknown as RawRingRecord, context) as Entry | null;
}
