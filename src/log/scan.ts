import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { AuditDecodeContext } from "../audit/events.js";
import { BINARY_AUDIT_MAGIC, isBinaryAudit, readBinaryAudit } from "./binary-record.js";
import { asLogError, LogCorruptionError } from "./errors.js";
import { FRAME_HEADER_BYTES, readFrame } from "./frame.js";
import { isSeqMark, type LogEntry, type LogHeader, type LogRecord, PAYLOAD_PREFIX } from "./records.js";
import {
  auditContextOf,
  decodeRingRecord,
  isRingRecord,
  type RawRingRecord,
  RING_RECORD_KIND,
  RING_RECORD_MAGIC,
  readRingRecord,
} from "./ring-record.js";
import { listSegments, type SegmentFile, segmentName } from "./segments.js";
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
export function scanDecisionLog(dir: string, strict: boolean): LogScan {
  const all = listSegments(dir);
  const files = all.map((s) => readSegment(dir, s));
  let rootIndex = -1;
  for (let i = all.length - 1; i >= 0 && rootIndex < 0; i--) {
    const first = parseFrameAt(files[i]!, 0);
    if (first !== null && first.record.seq === 0 && first.record.kind === "header") rootIndex = i;
  }
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
    };
    if (all.length === 0) return empty;
    const lastFile = files[all.length - 1]!;
    if (all.length === 1 && !hasValidFrameFrom(lastFile, 0)) {
      const tail =
        lastFile.length === 0
          ? null
          : { segment: all[0]!.path, truncatedAt: 0, bytesDropped: lastFile.length };
      return { ...empty, tornTail: tail };
    }
    return fail(strict, empty, { segment: all[0]!.path, offset: 0, reason: "no log header found" });
  }

  const segments = all.slice(rootIndex);
  const records: LogEntry[] = [];
  let header: LogScan["header"] = null;
  let last: LogEntry | null = null;
  // The seq of the last valid frame: `last`'s, or a seq mark's after it.
  let lastSeq = -1;
  // What the scan has found so far, as a result (the fields are read when it is called).
  const scanned = (lastSegmentValidBytes: number): LogScan => ({
    header,
    records,
    last,
    lastSeq,
    tornTail: null,
    corruption: null,
    segments,
    superseded: all.slice(0, rootIndex),
    lastSegmentValidBytes,
  });
  let lastSegmentValidBytes = 0;
  // What the ring records that follow are decoded against (the run's latest `audit.context`).
  let context: AuditDecodeContext | undefined;
  for (let s = 0; s < segments.length; s++) {
    const segment = segments[s]!;
    const bytes = files[rootIndex + s]!;
    const isLastSegment = s === segments.length - 1;
    const gap = s === 0 ? null : numberingGap(segments[s - 1]!, segment);
    if (gap !== null)
      return fail(strict, scanned(lastSegmentValidBytes), { segment: segment.path, offset: 0, reason: gap });
    let offset = 0;
    while (offset < bytes.length) {
      let parsed = parseFrameAt(bytes, offset);
      if (parsed !== null && parsed.record.kind === RING_RECORD_KIND) {
        const record = decodeRingRecord(parsed.record as unknown as RawRingRecord, context);
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
      const problem =
        parsed === null ? "bad frame (length or CRC)" : sequenceProblem(parsed.record, offset, last, lastSeq);
      if (problem !== null) {
        const partial = scanned(offset);
        if (isLastSegment && parsed === null && !hasValidFrameFrom(bytes, offset + 1)) {
          return {
            ...partial,
            tornTail: { segment: segment.path, truncatedAt: offset, bytesDropped: bytes.length - offset },
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
      if (offset === 0 && s === 0) header = entry.record as LogScan["header"];
      else if (!link) records.push(entry);
      if (!link) last = entry;
      lastSeq = entry.seq;
      offset = parsed!.end;
    }
    lastSegmentValidBytes = offset;
    if (!isLastSegment && bytes.length === 0) {
      return fail(strict, scanned(0), {
        segment: segment.path,
        offset: 0,
        reason: "empty segment before the last one",
      });
    }
  }
  return scanned(lastSegmentValidBytes);
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
function numberingGap(previous: SegmentFile, segment: SegmentFile): string | null {
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
function hasValidFrameFrom(bytes: Uint8Array, from: number): boolean {
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
