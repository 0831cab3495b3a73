import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { type FileHandle, open, readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { AuditDecodeContext } from "../audit/events.js";
import { hasErrorCode } from "../errors.js";
import { awaited, runAtOnce, runInSlices, type Steps } from "../runtime/event-loop-slices.js";
import { BINARY_AUDIT_MAGIC, isBinaryAudit, readBinaryAudit } from "./binary-record.js";
import { asLogError, LogCorruptionError, LogError } from "./errors.js";
import { FRAME_HEADER_BYTES, MAX_PAYLOAD_BYTES, readFrame } from "./frame.js";
import { uint32At } from "./little-endian.js";
import { isSeqMark, type LogEntry, type LogHeader, type LogRecord, PAYLOAD_PREFIX } from "./records.js";
import {
  auditContextOf,
  DecodedAuditRecord,
  decodedRingRecord,
  decodeRingRecord,
  isRingRecord,
  type RawRingRecord,
  RING_RECORD_KIND,
  RING_RECORD_MAGIC,
  readRingRecord,
  ringRecordDecodes,
} from "./ring-record.js";
import { listSegments, listSegmentsAsync, type SegmentFile, segmentName } from "./segments.js";
import { isTimingRecord, readTimingRecord, TIMING_RECORD_MAGIC } from "./timing-record.js";

/** A torn tail found at the end of the last segment: an incomplete or bad last write. */
export interface TornTail {
  /** Path of the segment file (always the last one). */
  readonly segment: string;
  /** Offset where the valid data ends (the file is, or will be, truncated here). */
  readonly truncatedAt: number;
  /** Bytes after `truncatedAt`. */
  readonly bytesDropped: number;
}

/** Damage in the middle of the log (see {@link LogCorruptionError}). */
export interface Corruption {
  readonly segment: string;
  readonly offset: number;
  readonly reason: string;
}

/** What a scan of a log directory found. */
export interface LogScan {
  /** The log header (seq 0), or null when the log holds no valid record at all. */
  readonly header: (LogHeader & { readonly seq: 0 }) | null;
  /** Valid records after the header, in order (segment headers left out). */
  readonly records: LogEntry[];
  /** The last valid record, header included; null for an empty log. */
  readonly last: LogEntry | null;
  /**
   * The last seq the log gave, which records appended next follow: the last record's, or a larger
   * one held by a seq mark after a compaction dropped the records that had it; −1 for an empty log.
   */
  readonly lastSeq: number;
  /** A torn tail at the end of the last segment, if any. */
  readonly tornTail: TornTail | null;
  /** Mid-log damage, if any (only in non-strict scans; strict scans throw). */
  readonly corruption: Corruption | null;
  /** Segments read, from the one holding the header to the last. */
  readonly segments: readonly SegmentFile[];
  /** Older segments superseded by a completed compaction (safe to delete). */
  readonly superseded: readonly SegmentFile[];
  /** Byte size of the valid data in the last segment read. */
  readonly lastSegmentValidBytes: number;
  /** Where the valid data ends, to read what is appended later ({@link scanAppended}); null for an empty log. */
  readonly end: LogPosition | null;
}

/**
 * What a scan does with the records it verifies: keeps those after the header in
 * {@link LogScan.records} (`"keep"`), only verifies them (`"check"`: a ring record is checked to
 * decode, not decoded), or hands each, decoded and the header first, to a visitor that keeps what
 * it needs (`records` then stays empty). `{ undecoded }` is a visitor too, handed ring records as
 * `"check"` leaves them (kind `ring`, checked to decode): for one that looks only at seqs and at
 * records other than audit ones, without the cost of decoding the rest. `{ frames }` is handed the
 * same entries with the bytes of each one's frame (a view of the segment's bytes as read, which
 * the scan never changes): for one that copies records as they are. `{ events }` is a visitor
 * handed ring records as {@link DecodedAuditRecord}s, their events as decoded (numbers not
 * tagged): for a reader that turns records into events (`auditEventOf`).
 */
export type RecordUse =
  | "keep"
  | "check"
  | ((entry: LogEntry) => void)
  | { readonly events: (entry: LogEntry) => void }
  | { readonly undecoded: (entry: LogEntry) => void }
  | { readonly frames: (entry: LogEntry, frame: Uint8Array) => void };

/** Where a scan ended: after the last valid frame it read. */
export interface LogPosition {
  /** Number of the segment the log starts at (its first record is the header). */
  readonly root: number;
  /** Number of the segment holding the last valid frame. */
  readonly segment: number;
  /** Offset of that frame in its segment. */
  readonly frame: number;
  /** Offset just after it. */
  readonly offset: number;
  /** Its CRC: a log still holding that frame there is the log that was read. */
  readonly crc: number;
  readonly header: LogScan["header"];
  /** The last valid record, header included. */
  readonly last: LogEntry;
  /** The last seq (see {@link LogScan.lastSeq}). */
  readonly lastSeq: number;
  /** What ring records after it decode against. */
  readonly context: AuditDecodeContext | undefined;
}

const decoder = new TextDecoder("utf-8", { fatal: true });
const PREFIX_BYTES = new TextEncoder().encode(PAYLOAD_PREFIX);

/**
 * Reads and verifies every segment of the log in `dir` without changing anything.
 *
 * @remarks
 * The log starts at the highest-numbered segment whose first record is a header (seq 0): a
 * completed compaction writes such a segment above the old ones, so any older segment still present
 * is superseded. Each frame's length and CRC are checked, each payload must parse as a JSON object
 * whose seq continues the sequence (strictly increasing; a segment header repeats the last seq).
 * A seq mark (see `isSeqMark`) is left out of the records, but the records after it follow its seq.
 * A bad frame in the last segment with no valid frame anywhere after it is a torn tail; any other
 * bad frame is corruption: with `strict` a {@link LogCorruptionError} naming the file and offset,
 * otherwise reading stops there and the damage is reported.
 */
export function scanDecisionLog(dir: string, strict: boolean, use: RecordUse = "keep"): LogScan {
  return runAtOnce(scanDecisionLogSteps(dir, strict, use));
}

/**
 * {@link scanDecisionLog} as steps, a frame each, reading synchronously: for a reader that hands
 * on what a visitor took between two steps.
 */
export function scanDecisionLogSteps(dir: string, strict: boolean, use: RecordUse): Steps<LogScan> {
  // Read one segment at a time: a long log is never held in memory whole (only its first frames
  // are read up front, to find where it starts).
  return scanSegmentsSteps(dir, listSegments(dir), strict, use, false);
}

/** The header of the log in `dir` (its first frames only are read), or null when it has none. */
export function logHeaderOf(dir: string): LogScan["header"] {
  const all = listSegments(dir);
  for (let i = all.length - 1; i >= 0; i--) {
    const head = readSegmentHead(dir, all[i]!);
    if (startsLog(head)) return parseFrameAt(head, 0)!.record as LogScan["header"];
  }
  return null;
}

/** Reads one segment's records for {@link answerFromLogEnd}, giving its answer once they are read. */
export interface SegmentQuestion<T> {
  /** Takes the segment's next record. */
  take(record: LogEntry["record"]): void;
  /** The answer the segment's records give, or undefined to read the segment before it. */
  answer(): T | undefined;
}

/**
 * The answer to a question about the log's end, without reading it whole: the segments of the log
 * in `dir` are read one at a time, from the last back to the one the log starts at (its header
 * included there), each by a new `ask()` taking the segment's records in order, until one answers.
 * A segment is read up to its first bad frame (a torn tail); ring records come back raw (see
 * {@link decodePayload}). Nothing else is verified: a scan of the whole log does that. Undefined
 * when no segment answers.
 */
export function answerFromLogEnd<T>(dir: string, ask: () => SegmentQuestion<T>): T | undefined {
  const all = listSegments(dir);
  return runAtOnce(readingSegments(dir, "check", (read) => fromLogEnd(all, (i) => read(all[i]!), ask)));
}

/** {@link answerFromLogEnd}, reading asynchronously and in slices, the event loop turning between them. */
export async function answerFromLogEndAsync<T>(
  dir: string,
  ask: () => SegmentQuestion<T>,
): Promise<T | undefined> {
  const all = await listSegmentsAsync(dir);
  return runInSlices(fromLogEnd(all, (i) => readSegmentAsync(dir, all[i]!), ask));
}

function* fromLogEnd<T>(
  all: readonly SegmentFile[],
  fileOf: (index: number) => Uint8Array | Promise<Uint8Array>,
  ask: () => SegmentQuestion<T>,
): Steps<T | undefined> {
  for (let i = all.length - 1; i >= 0; i--) {
    const bytes = yield* awaited(fileOf(i));
    const question = ask();
    for (let offset = 0; offset < bytes.length; ) {
      const parsed = parseFrameAt(bytes, offset);
      if (parsed === null) break;
      question.take(parsed.record);
      offset = parsed.end;
      yield;
    }
    const answer = question.answer();
    if (answer !== undefined) return answer;
    if (startsLog(bytes)) return undefined;
  }
  return undefined;
}

/**
 * {@link scanDecisionLog}, reading the directory and its segments asynchronously and verifying the
 * frames in slices, the event loop turning between them (a long log takes hundreds of ms). Every
 * segment is read before any is verified: a reader holds no lock, and a compaction may remove the
 * segments it found while it verifies them.
 */
export async function scanDecisionLogAsync(dir: string, strict: boolean): Promise<LogScan> {
  const all = await listSegmentsAsync(dir);
  const files: Buffer[] = [];
  for (const segment of all) files.push(await readSegmentAsync(dir, segment));
  return runInSlices(
    scanWhole(
      all,
      (i) => files[i]!,
      (i) => files[i]!,
      strict,
      "keep",
    ),
  );
}

/**
 * {@link scanDecisionLog} for a writer holding the directory's lock, which keeps the segments in
 * place: read asynchronously one segment at a time and verified in slices, keeping no records
 * (`use` may hand them to a visitor), so that memory stays a segment or two and the event loop
 * turns while a long log is verified.
 */
export async function scanLockedLogAsync(
  dir: string,
  strict: boolean,
  use: RecordUse = "check",
): Promise<LogScan> {
  return scanBySegmentAsync(dir, strict, use);
}

/**
 * {@link scanDecisionLog} handing each record to `visit` (see {@link RecordUse}), reading the
 * segments asynchronously one at a time and verifying them in slices: memory holds a segment or
 * two however long the log. A reader holds no lock: a compaction that removes the segments
 * while they are read makes it fail with a LogError whose cause is the file's ENOENT (see
 * {@link isSegmentGone}); the caller reads again, with a fresh visitor.
 */
export async function scanVisitingAsync(
  dir: string,
  strict: boolean,
  visit: ((entry: LogEntry) => void) | { readonly events: (entry: LogEntry) => void },
): Promise<LogScan> {
  return scanBySegmentAsync(dir, strict, visit);
}

/** The log in `dir`, its segments read asynchronously one at a time and verified in slices. */
async function scanBySegmentAsync(dir: string, strict: boolean, use: RecordUse): Promise<LogScan> {
  return runInSlices(scanSegmentsSteps(dir, await listSegmentsAsync(dir), strict, use, true));
}

/**
 * Whether `error` is a read that failed because a compaction changed the segments under it: a
 * segment file went away, or a segment after the log's start turned into the start of a compacted
 * log (a writer compacting as it writes replaces its last full segment; see
 * {@link SegmentReplacedError}). Reading again from the start finds the log as it now is.
 */
export function isSegmentGone(error: unknown): boolean {
  return (
    error instanceof SegmentReplacedError ||
    (error instanceof LogError && hasErrorCode(error.cause, "ENOENT"))
  );
}

/**
 * A read found a log header (seq 0) at the start of a segment after the one its log starts at. On
 * disk the log starts at the last such segment, so no segment after it starts one: the segment
 * was replaced by a compaction while the log was read (see `keepRecords` of the writer).
 */
export class SegmentReplacedError extends LogError {
  override readonly name = "SegmentReplacedError";

  constructor(segment: string) {
    super(`${basename(segment)} was replaced by a compaction while the log was read: read it again`);
  }
}

/**
 * @internal The log made of `segments` (a writer's full segments: the last one written is left
 * out), read and verified as {@link scanDecisionLog} reads a whole log: synchronously, or with
 * `async` off the event loop's thread and in slices.
 */
export function scanSegmentsSteps(
  dir: string,
  segments: readonly SegmentFile[],
  strict: boolean,
  use: RecordUse,
  async: boolean,
): Steps<LogScan> {
  return async
    ? scanWhole(
        segments,
        (i) => readSegmentHeadAsync(dir, segments[i]!),
        (i) => readSegmentAsync(dir, segments[i]!),
        strict,
        use,
      )
    : readingSegments(dir, use, (read) =>
        scanWhole(
          segments,
          (i) => readSegmentHead(dir, segments[i]!),
          (i) => read(segments[i]!),
          strict,
          use,
        ),
      );
}

// The buffer the last synchronous read of segments used, held weakly: the next read reads into it
// if no GC has freed it since (a restart's opening, then its read of the log's end; a compaction's
// two passes). A buffer of its own each left the one before to a GC that had not run yet, and two
// segments in memory at once; once a GC has run, nothing keeps this one.
let lastBuffer: WeakRef<Buffer> | undefined;

/**
 * Reads segments whole, one after another, into one buffer (grown when a segment is larger): the
 * bytes of a segment read are good until the next is. Takes {@link lastBuffer} while it reads: a
 * read that starts meanwhile (a visitor's own) takes a buffer of its own.
 */
class SegmentBuffer {
  private buffer: Buffer;

  constructor(private readonly dir: string) {
    this.buffer = lastBuffer?.deref() ?? Buffer.alloc(0);
    lastBuffer = undefined;
  }

  read(segment: SegmentFile): Uint8Array {
    try {
      const fd = openSync(segment.path, "r");
      try {
        // To the end of the file, as readFileSync reads: a writer may append while a reader reads.
        let done = 0;
        for (;;) {
          if (done === this.buffer.length) {
            const size = fstatSync(fd).size + 1;
            const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.buffer.length, size, 1 << 16));
            this.buffer.copy(grown, 0, 0, done);
            this.buffer = grown;
          }
          const got = readSync(fd, this.buffer, done, this.buffer.length - done, done);
          if (got === 0) return this.buffer.subarray(0, done);
          done += got;
        }
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      throw asLogError(error, `cannot read decision log ${this.dir}: ${basename(segment.path)}`);
    }
  }

  /** Done reading: the next read may take the buffer. */
  release(): void {
    lastBuffer = new WeakRef(this.buffer);
  }
}

/**
 * `steps`, given how to read a segment whole on the calling thread: into a {@link SegmentBuffer},
 * unless `use` hands frames on as views of the bytes read (`{ frames }`, whose visitor may keep
 * them), which get a buffer of their own each.
 */
function* readingSegments<T>(
  dir: string,
  use: RecordUse,
  steps: (read: (segment: SegmentFile) => Uint8Array) => Steps<T>,
): Steps<T> {
  if (typeof use === "object" && "frames" in use) return yield* steps((segment) => readSegment(dir, segment));
  const buffer = new SegmentBuffer(dir);
  try {
    return yield* steps((segment) => buffer.read(segment));
  } finally {
    buffer.release();
  }
}

/**
 * The records appended to the log in `dir` after `from` (the `end` of an earlier scan), verified
 * as {@link scanDecisionLog} verifies them and read asynchronously, only from `from` on; or null
 * when the log no longer extends what was read: a segment from its start to `from` is gone, the
 * frame `from` ends with is no longer there (the file shrank or was rewritten: a new log), or a later
 * segment starts with a header (a compaction). Then the log must be read again from its start.
 */
export async function scanAppended(dir: string, strict: boolean, from: LogPosition): Promise<LogScan | null> {
  const all = await listSegmentsAsync(dir);
  const present = new Set(all.map((s) => s.number));
  for (let n = from.root; n <= from.segment; n++) if (!present.has(n)) return null;
  const current = all.find((s) => s.number === from.segment)!;
  const tail = await readSegmentFrom(dir, current, from.frame);
  if (tail === null) return null;
  const kept = readFrame(tail, 0);
  if (typeof kept === "string" || from.frame + kept.end !== from.offset || frameCrc(tail, 0) !== from.crc)
    return null;
  const later = all.filter((s) => s.number > from.segment);
  const files: SegmentBytes[] = [{ bytes: tail.subarray(kept.end), base: from.offset }];
  for (const segment of later) {
    const bytes = await readSegmentFrom(dir, segment, 0);
    if (bytes === null || startsLog(bytes)) return null;
    files.push({ bytes, base: 0 });
  }
  return runInSlices(
    scanFrom([current, ...later], (i) => files[i]!, all.slice(0, all.indexOf(current)), from, strict),
  );
}

/** Bytes of a segment file from offset `base` to its end. */
interface SegmentBytes {
  readonly bytes: Uint8Array;
  readonly base: number;
}

/** A whole segment file's bytes (read now, or being read) as {@link SegmentBytes}. */
function fromStart(file: Uint8Array | Promise<Uint8Array>): SegmentBytes | Promise<SegmentBytes> {
  return file instanceof Promise ? file.then((bytes) => ({ bytes, base: 0 })) : { bytes: file, base: 0 };
}

/** A whole log: found from its root segment (see {@link scanDecisionLog}), then read in order. */
function* scanWhole(
  all: readonly SegmentFile[],
  headOf: (index: number) => Uint8Array | Promise<Uint8Array>,
  fileOf: (index: number) => Uint8Array | Promise<Uint8Array>,
  strict: boolean,
  use: RecordUse,
): Steps<LogScan> {
  let rootIndex = -1;
  for (let i = all.length - 1; i >= 0 && rootIndex < 0; i--)
    if (startsLog(yield* awaited(headOf(i)))) rootIndex = i;
  if (rootIndex < 0) {
    // No header anywhere: an empty log, or the very first write was torn.
    const empty: LogScan = {
      header: null,
      records: [],
      last: null,
      lastSeq: -1,
      tornTail: null,
      corruption: null,
      segments: all,
      superseded: [],
      lastSegmentValidBytes: 0,
      end: null,
    };
    if (all.length === 0) return empty;
    const lastFile = yield* awaited(fileOf(all.length - 1));
    if (all.length === 1 && !hasValidFrameFrom(lastFile, 0)) {
      const tail =
        lastFile.length === 0
          ? null
          : { segment: all[0]!.path, truncatedAt: 0, bytesDropped: lastFile.length };
      return { ...empty, tornTail: tail };
    }
    return fail(strict, empty, { segment: all[0]!.path, offset: 0, reason: "no log header found" });
  }
  return yield* scanFrom(
    all.slice(rootIndex),
    (s) => fromStart(fileOf(rootIndex + s)),
    all.slice(0, rootIndex),
    null,
    strict,
    use,
  );
}

/**
 * Reads `segments` in order (`files` holds their bytes) after what `from` had read: from the start
 * of the log when it is null, else from its end (the first file's bytes then start there). One
 * frame per step.
 */
function* scanFrom(
  segments: readonly SegmentFile[],
  fileAt: (index: number) => SegmentBytes | Promise<SegmentBytes>,
  superseded: readonly SegmentFile[],
  from: LogPosition | null,
  strict: boolean,
  use: RecordUse = "keep",
): Steps<LogScan> {
  const records: LogEntry[] = [];
  let header: LogScan["header"] = from?.header ?? null;
  let last: LogEntry | null = from?.last ?? null;
  // The seq of the last valid frame: `last`'s, or a seq mark's after it.
  let lastSeq = from?.lastSeq ?? -1;
  // What the ring records that follow are decoded against (the run's latest `audit.context`).
  let context: AuditDecodeContext | undefined = from?.context;
  // Where the last valid frame is (its CRC, its segment, where it starts and ends): the scan's end
  // position, built only when a result is asked for. Its CRC is kept rather than the segment's
  // bytes, which would otherwise stay in memory while the next segment is read.
  let endCrc: number | null = null;
  let endSegment = 0;
  let endFrame = 0;
  let endOffset = 0;
  const endPosition = (): LogPosition | null =>
    endCrc === null
      ? from
      : {
          root: from?.root ?? segments[0]!.number,
          segment: endSegment,
          frame: endFrame,
          offset: endOffset,
          crc: endCrc,
          header,
          last: last!,
          lastSeq,
          context,
        };
  // The context the last raw ring record decodes against (when no records are kept).
  let lastRingContext: AuditDecodeContext | undefined;
  const finalLast = (): LogEntry | null => {
    if (last?.record instanceof DecodedAuditRecord) return { ...last, record: last.record.toJSON() };
    if (last === null || last.record.kind !== RING_RECORD_KIND) return last;
    const record = decodeRingRecord(last.record as unknown as RawRingRecord, lastRingContext);
    return record === null ? last : { ...last, record };
  };
  // What the scan has found so far, as a result (the fields are read when it is called).
  const scanned = (lastSegmentValidBytes: number): LogScan => {
    const decodedLast = finalLast();
    const end = endPosition();
    return {
      header,
      records,
      last: decodedLast,
      lastSeq,
      tornTail: null,
      corruption: null,
      segments,
      superseded,
      lastSegmentValidBytes,
      end: end === null || decodedLast === null ? end : { ...end, last: decodedLast },
    };
  };
  const visit = visitorOf(use);
  const ringUse = ringUseOf(use);
  let lastSegmentValidBytes = 0;
  for (let s = 0; s < segments.length; s++) {
    const segment = segments[s]!;
    const { bytes, base } = yield* awaited(fileAt(s));
    const size = base + bytes.length;
    const isLastSegment = s === segments.length - 1;
    const gap = s === 0 ? null : numberingGap(segments[s - 1]!, segment);
    if (gap !== null)
      return fail(strict, scanned(lastSegmentValidBytes), { segment: segment.path, offset: 0, reason: gap });
    let offset = base;
    while (offset < size) {
      let parsed = parseFrameAt(bytes, offset - base);
      if (parsed !== null && parsed.record.kind === RING_RECORD_KIND) {
        const raw = parsed.record as unknown as RawRingRecord;
        const record = ringRecordAs(ringUse, raw, context);
        if (ringUse === "checked") lastRingContext = context;
        if (record === null) {
          return fail(strict, scanned(offset), {
            segment: segment.path,
            offset,
            reason:
              "audit ring record that cannot be decoded (no audit.context before it, or an unknown type)",
          });
        }
        parsed = { record, end: parsed.end };
      }
      if (offset === 0 && s > 0 && parsed !== null && startsLogWith(parsed.record))
        throw new SegmentReplacedError(segment.path);
      const problem =
        parsed === null ? "bad frame (length or CRC)" : sequenceProblem(parsed.record, offset, last, lastSeq);
      if (problem !== null) {
        const partial = scanned(offset);
        if (isLastSegment && parsed === null && !hasValidFrameFrom(bytes, offset - base + 1)) {
          return {
            ...partial,
            tornTail: { segment: segment.path, truncatedAt: offset, bytesDropped: size - offset },
          };
        }
        return fail(strict, partial, { segment: segment.path, offset, reason: problem });
      }
      context = auditContextOf(parsed!.record) ?? context;
      const entry: LogEntry = {
        seq: parsed!.record.seq,
        segment: segment.path,
        offset,
        record: parsed!.record,
      };
      // A segment header (first frame of a later segment) or a seq mark holds a seq, not a record.
      const link = offset === 0 ? s > 0 : isSeqMark(entry.record, segment.number);
      if (offset === 0 && s === 0) {
        header = entry.record as LogScan["header"];
        visit(entry, bytes, offset - base, parsed!.end);
      } else if (!link && use === "keep") records.push(entry);
      else if (!link) visit(entry, bytes, offset - base, parsed!.end);
      if (!link) last = entry;
      lastSeq = entry.seq;
      const frameEnd = base + parsed!.end;
      endCrc = frameCrc(bytes, offset - base);
      endSegment = segment.number;
      endFrame = offset;
      endOffset = frameEnd;
      offset = frameEnd;
      yield;
    }
    lastSegmentValidBytes = offset;
    if (!isLastSegment && size === 0) {
      return fail(strict, scanned(0), {
        segment: segment.path,
        offset: 0,
        reason: "empty segment before the last one",
      });
    }
  }
  return scanned(lastSegmentValidBytes);
}

/**
 * How a scan hands on the ring records it reads: in their JSON form, as {@link DecodedAuditRecord}s,
 * or raw once checked to decode (building the JSON form is most of a scan's cost; the last record
 * is decoded when the scan ends, see finalLast).
 */
type RingUse = "json" | "events" | "checked";

function ringUseOf(use: RecordUse): RingUse {
  if (use === "keep" || typeof use === "function") return "json";
  return typeof use === "object" && "events" in use ? "events" : "checked";
}

/** The record `raw` is handed on as (see {@link RingUse}), or null when it does not decode against `context`. */
function ringRecordAs(
  how: RingUse,
  raw: RawRingRecord,
  context: AuditDecodeContext | undefined,
): (LogRecord & { readonly seq: number }) | null {
  if (how === "json") return decodeRingRecord(raw, context);
  if (how === "events")
    return decodedRingRecord(raw, context) as (LogRecord & { readonly seq: number }) | null;
  return ringRecordDecodes(raw, context) ? (raw as unknown as LogRecord & { readonly seq: number }) : null;
}

/** Hands a record to the visitor `use` is, if it is one; the frame is `bytes[start .. end)`. */
function visitorOf(use: RecordUse): (entry: LogEntry, bytes: Uint8Array, start: number, end: number) => void {
  if (typeof use === "function") return (entry) => use(entry);
  if (typeof use !== "object") return () => {};
  if ("undecoded" in use) return (entry) => use.undecoded(entry);
  if ("events" in use) return (entry) => use.events(entry);
  return (entry, bytes, start, end) => use.frames(entry, bytes.subarray(start, end));
}

/** Whether a segment's bytes start with a log header (seq 0): where a log, or a compacted one, starts. */
function startsLog(bytes: Uint8Array): boolean {
  const first = parseFrameAt(bytes, 0);
  return first !== null && startsLogWith(first.record);
}

/** Whether `record` is a log header, the first record of a log (or of a compacted one). */
function startsLogWith(record: LogEntry["record"]): boolean {
  return record.seq === 0 && record.kind === "header";
}

/** The CRC field of the frame at `offset` of `bytes`. */
function frameCrc(bytes: Uint8Array, offset: number): number {
  return uint32At(bytes, offset + 4);
}

/** {@link readSegment}, asynchronously. */
async function readSegmentAsync(dir: string, segment: SegmentFile): Promise<Buffer> {
  try {
    return await readFile(segment.path);
  } catch (error) {
    throw asLogError(error, `cannot read decision log ${dir}: ${basename(segment.path)}`);
  }
}

/**
 * The bytes of `segment` from offset `from` to its end, read asynchronously; null when the file is
 * gone or shorter than `from`.
 */
async function readSegmentFrom(dir: string, segment: SegmentFile, from: number): Promise<Buffer | null> {
  let handle: FileHandle;
  try {
    handle = await open(segment.path, "r");
  } catch (error) {
    if (hasErrorCode(error, "ENOENT")) return null;
    throw asLogError(error, `cannot read decision log ${dir}: ${basename(segment.path)}`);
  }
  try {
    const size = (await handle.stat()).size;
    if (size < from) return null;
    const bytes = Buffer.alloc(size - from);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await handle.read(bytes, done, bytes.length - done, from + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return bytes.subarray(0, done);
  } catch (error) {
    throw asLogError(error, `cannot read decision log ${dir}: ${basename(segment.path)}`);
  } finally {
    await handle.close();
  }
}

/**
 * The first frame of `segment` (or what there is of it, up to the frame's length): enough to tell
 * whether the log starts there, without reading the segment.
 */
function readSegmentHead(dir: string, segment: SegmentFile): Uint8Array {
  let fd: number;
  try {
    fd = openSync(segment.path, "r");
  } catch (error) {
    throw asLogError(error, `cannot read decision log ${dir}: ${basename(segment.path)}`);
  }
  try {
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    const got = readSync(fd, header, 0, FRAME_HEADER_BYTES, 0);
    if (got < FRAME_HEADER_BYTES) return header.subarray(0, got);
    const length = header.readUInt32LE(0);
    // A length past the frame limit is a bad frame anyway: read no more than the header then.
    if (length > MAX_PAYLOAD_BYTES) return header;
    const frame = Buffer.alloc(FRAME_HEADER_BYTES + length);
    header.copy(frame);
    const body = readSync(fd, frame, FRAME_HEADER_BYTES, length, FRAME_HEADER_BYTES);
    return frame.subarray(0, FRAME_HEADER_BYTES + body);
  } catch (error) {
    throw asLogError(error, `cannot read decision log ${dir}: ${basename(segment.path)}`);
  } finally {
    closeSync(fd);
  }
}

/** {@link readSegmentHead}, asynchronously. */
async function readSegmentHeadAsync(dir: string, segment: SegmentFile): Promise<Uint8Array> {
  let handle: FileHandle;
  try {
    handle = await open(segment.path, "r");
  } catch (error) {
    throw asLogError(error, `cannot read decision log ${dir}: ${basename(segment.path)}`);
  }
  try {
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    const got = (await handle.read(header, 0, FRAME_HEADER_BYTES, 0)).bytesRead;
    if (got < FRAME_HEADER_BYTES) return header.subarray(0, got);
    const length = header.readUInt32LE(0);
    if (length > MAX_PAYLOAD_BYTES) return header;
    const frame = Buffer.alloc(FRAME_HEADER_BYTES + length);
    header.copy(frame);
    const body = (await handle.read(frame, FRAME_HEADER_BYTES, length, FRAME_HEADER_BYTES)).bytesRead;
    return frame.subarray(0, FRAME_HEADER_BYTES + body);
  } catch (error) {
    throw asLogError(error, `cannot read decision log ${dir}: ${basename(segment.path)}`);
  } finally {
    await handle.close();
  }
}

/** The bytes of `segment`, or a LogError naming the log and the segment (a directory named like one, say). */
function readSegment(dir: string, segment: SegmentFile): Buffer {
  try {
    return readFileSync(segment.path);
  } catch (error) {
    throw asLogError(error, `cannot read decision log ${dir}: ${basename(segment.path)}`);
  }
}

/**
 * Why `segment` cannot follow `previous` (a segment file missing between them), or null. Writers
 * number segments without gaps, so a gap is a deleted file whose records are lost.
 */
/** Why `segment` does not follow `previous` in numbering (segments missing), or null when it does. */
export function numberingGap(previous: SegmentFile, segment: SegmentFile): string | null {
  if (segment.number === previous.number + 1) return null;
  const first = segmentName(previous.number + 1);
  const missing =
    segment.number === previous.number + 2
      ? `${first} is`
      : `${first}–${segmentName(segment.number - 1)} are`;
  return `segment numbering gap: ${missing} missing between ${segmentName(previous.number)} and ${segmentName(segment.number)}`;
}

function fail(strict: boolean, partial: LogScan, corruption: Corruption): LogScan {
  if (strict) throw new LogCorruptionError(corruption.segment, corruption.offset, corruption.reason);
  return { ...partial, corruption };
}

/**
 * Why `record` at `offset` does not continue the log after `last` and the seq `lastSeq` of the frame
 * before it, or null when it does.
 */
function sequenceProblem(
  record: LogEntry["record"],
  offset: number,
  last: LogEntry | null,
  lastSeq: number,
): string | null {
  if (offset === 0 && last !== null) {
    // First frame of a later segment: a segment header repeating the last seq.
    if (record.kind !== "segment") return `segment does not start with a segment header`;
    if (record.seq !== lastSeq) return `segment header seq ${record.seq} does not follow seq ${lastSeq}`;
    return null;
  }
  if (last === null)
    return record.seq === 0 && record.kind === "header" ? null : "log does not start with a header";
  if (record.seq <= lastSeq) return `seq ${record.seq} does not follow seq ${lastSeq}`;
  return null;
}

interface ParsedFrame {
  readonly record: LogRecord & { readonly seq: number };
  readonly end: number;
}

/** The record framed at `offset`, or null when the frame or its payload is invalid. */
function parseFrameAt(bytes: Uint8Array, offset: number): ParsedFrame | null {
  const frame = readFrame(bytes, offset);
  if (typeof frame === "string") return null;
  const record = decodePayload(bytes, frame.payloadStart, frame.end);
  return record === null ? null : { record, end: frame.end };
}

/**
 * The record a frame's payload `bytes[start .. end)` holds (JSON, or one of the binary forms), or
 * null when it is not a record with a seq. A ring record comes back raw (kind
 * {@link RING_RECORD_KIND}): decoding it needs the run's latest `audit.context`, which the caller
 * keeps (see `decodeRingRecord`).
 */
export function decodePayload(bytes: Uint8Array, start: number, end: number): LogEntry["record"] | null {
  let value: unknown;
  if (isBinaryAudit(bytes, start, end)) {
    value = readBinaryAudit(bytes, start, end);
  } else if (isTimingRecord(bytes, start, end)) {
    value = readTimingRecord(bytes, start, end);
  } else if (isRingRecord(bytes, start, end)) {
    value = readRingRecord(bytes, start, end);
  } else {
    try {
      value = JSON.parse(decoder.decode(bytes.subarray(start, end)));
    } catch {
      return null;
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const seq = (value as { seq?: unknown }).seq;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) return null;
  return value as LogEntry["record"];
}

/**
 * Whether any valid frame starts at or after `from`. Only offsets whose payload would begin with
 * the `{"seq":` prefix are checked in full, which keeps the search linear in practice.
 */
export function hasValidFrameFrom(bytes: Uint8Array, from: number): boolean {
  const first = PREFIX_BYTES[0]!;
  for (let p = bytes.indexOf(first, from + FRAME_HEADER_BYTES); p !== -1; p = bytes.indexOf(first, p + 1)) {
    if (!startsWithPrefix(bytes, p)) continue;
    if (parseFrameAt(bytes, p - FRAME_HEADER_BYTES) !== null) return true;
  }
  // Binary audit and timing records start with their own magic bytes instead.
  for (const [first, second] of [BINARY_AUDIT_MAGIC, RING_RECORD_MAGIC, TIMING_RECORD_MAGIC]) {
    for (let p = bytes.indexOf(first, from + FRAME_HEADER_BYTES); p !== -1; p = bytes.indexOf(first, p + 1)) {
      if (bytes[p + 1] !== second) continue;
      if (parseFrameAt(bytes, p - FRAME_HEADER_BYTES) !== null) return true;
    }
  }
  return false;
}

function startsWithPrefix(bytes: Uint8Array, at: number): boolean {
  if (at + PREFIX_BYTES.length > bytes.length) return false;
  for (let i = 0; i < PREFIX_BYTES.length; i++) if (bytes[at + i] !== PREFIX_BYTES[i]) return false;
  return true;
}
