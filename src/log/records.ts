/**
 * The record shapes of a decision log.
 *
 * A payload is the UTF-8 JSON of an object whose first key is `seq`, or, for a logged engine's
 * audit records, a binary form that reads back as the same object: the audit ring's numbers
 * (`ring-record.ts`, magic bytes `0xB2 0x01`, written today) or the encoded event of older logs
 * (`binary-record.ts`, `0xB1 0x01`). The log header has seq 0
 * and `kind: "header"`; records appended later get 1, 2, 3, … Each segment after the first starts
 * with a segment header (`kind: "segment"`) whose seq repeats the seq of the last record before it,
 * which ties consecutive segments together. A compaction that drops the log's last records ends its
 * segment with a segment header too (a seq mark, see {@link isSeqMark}): it holds the last seq the
 * log gave, so records appended later follow every seq the log ever had.
 */
import { LogError } from "./errors.js";

/**
 * `kind` of an engine's audit record as the log holds it (a binary frame, never JSON; replaced by
 * the decoded audit record on read).
 */
export const RING_RECORD_KIND = "audit.ring";

/** `kind` of a decision-log record that holds one audit event (log-records.ts builds it). */
export const AUDIT_LOG_KIND = "audit";

/** `format` of the header of an engine's decision log. */
export const ENGINE_LOG_FORMAT = "arqon.engine";

/**
 * `kind` of the record an engine started on an existing log writes first (engine-log.ts): it
 * carries the new run's own header and starts the next run of the log.
 */
export const RESTART_LOG_KIND = "restart";

/**
 * Key of an engine log's header that says how many runs a compaction removed whole, before the
 * first run the log still holds (absent: none). When it is above 0 the header starts no run (it
 * still gives the log's format) and the log's first `restart` record starts run `runsBefore + 1`.
 */
export const RUNS_BEFORE_KEY = "runsBefore";

/**
 * The header's {@link RUNS_BEFORE_KEY}: 0 when absent (a log never compacted, or compacted before
 * runs were removed whole), NaN when it is not a whole number ≥ 0.
 */
export function runsBeforeOf(header: Readonly<Record<string, unknown>>): number {
  const value = header[RUNS_BEFORE_KEY];
  if (value === undefined) return 0;
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : Number.NaN;
}

/** `kind` of the record of a timer callback that ran (`TimeRecord` in log-records.ts). */
export const TIMER_LOG_KIND = "timer";

/** `kind` of the record of a host's `flushEvents()` call (`TimeRecord` in log-records.ts). */
export const FLUSH_LOG_KIND = "flush";

/** Any JSON object a caller appends (it must not have its own `seq`: the log assigns it). */
export type LogRecord = Readonly<Record<string, unknown>>;

/** The first record of a log, given by whoever creates it: engine or solver config, seed, version… */
export interface LogHeader extends LogRecord {
  readonly kind: "header";
}

/** A record read back from the log, with the seq the log gave it and where it lies. */
export interface LogEntry {
  /** Position in the log: 0 for the header, then 1, 2, … (compaction may leave gaps). */
  readonly seq: number;
  /** Path of the segment file that holds it. */
  readonly segment: string;
  /** Byte offset of its frame in that file. */
  readonly offset: number;
  /** The record as appended, with `seq` as its first key. */
  readonly record: LogRecord & { readonly seq: number };
}

/** The payload of a segment header in segment number `segment`, after the record with seq `seq`. */
export function segmentHeaderText(seq: number, segment: number): string {
  return `{"seq":${seq},"kind":"segment","segment":${segment}}`;
}

/**
 * Whether `record`, read after the first frame of segment number `segment`, is a seq mark: a
 * segment header (exactly as {@link segmentHeaderText} writes it, naming that segment) that a
 * compaction wrote after the records it kept, to hold the seq of the last record it dropped.
 * Readers skip it; the records after it follow its seq.
 */
export function isSeqMark(record: LogRecord, segment: number): boolean {
  return (
    record.kind === "segment" &&
    record.segment === segment &&
    typeof record.seq === "number" &&
    Object.keys(record).length === 3
  );
}

/** Payloads always start with these bytes; recovery uses them to find valid frames after damage. */
export const PAYLOAD_PREFIX = '{"seq":';

/**
 * The JSON payload of `record` at position `seq`, with `seq` as its first key.
 *
 * @throws LogError naming the field when `record` holds a value JSON would change (NaN, ±Infinity,
 * −0) or cannot write (a BigInt): a log must read back what was appended; and when its `kind` is
 * one the log keeps for itself: `"segment"` (its segment headers) or `"audit.ring"` (an engine's
 * audit records, which a reader decodes as such).
 */
export function payloadText(seq: number, record: LogRecord): string {
  if (Object.hasOwn(record, "seq")) throw new TypeError("a decision-log record must not have its own seq");
  // A reader takes such a record for one of the log's own segment headers and skips it.
  if (record.kind === "segment")
    throw new LogError("a decision-log record's kind \"segment\" is reserved for the log's segment headers");
  // A reader decodes such a record as an engine's audit record, and cannot: the log stops there.
  if (record.kind === RING_RECORD_KIND)
    throw new LogError(
      `a decision-log record's kind "${RING_RECORD_KIND}" is reserved for an engine's audit records`,
    );
  if (mayHoldNonJson(record, 0)) refuseNonJson(record, "", new Set());
  const json = JSON.stringify(record);
  if (json === undefined || json[0] !== "{")
    throw new TypeError("a decision-log record must be a JSON object");
  return json === "{}" ? `{"seq":${seq}}` : `{"seq":${seq},${json.slice(1)}`;
}

/** Nesting deeper than this is left to {@link refuseNonJson}'s exact walk (which also survives cycles). */
const QUICK_CHECK_DEPTH = 32;

/**
 * Whether `value` may hold a number JSON cannot write exactly or a BigInt: a quick walk without
 * allocation (every append takes it), true when in doubt.
 */
function mayHoldNonJson(value: object, depth: number): boolean {
  if (depth > QUICK_CHECK_DEPTH) return true;
  // Arrays by index: `for…in` would make a string of every index.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (mayBeNonJson(value[i], depth)) return true;
    return false;
  }
  const fields = value as Record<string, unknown>;
  for (const key in fields) if (mayBeNonJson(fields[key], depth)) return true;
  return false;
}

/** {@link mayHoldNonJson} for one value found at `depth`. */
function mayBeNonJson(item: unknown, depth: number): boolean {
  // Finite and not −0: JSON writes it back bit for bit.
  if (typeof item === "number") return !(item - item === 0 && (item !== 0 || 1 / item > 0));
  if (typeof item === "bigint") return true;
  return typeof item === "object" && item !== null && mayHoldNonJson(item, depth + 1);
}

/** Throws a LogError for the first value under `value` that JSON cannot write exactly, at `path`. */
function refuseNonJson(value: unknown, path: string, ancestors: Set<object>): void {
  let problem: string | undefined;
  if (typeof value === "bigint") problem = "a BigInt, which JSON cannot hold";
  else if (Object.is(value, -0)) problem = "-0, which JSON reads back as 0";
  else if (typeof value === "number" && !Number.isFinite(value))
    problem = `${value}, which JSON reads back as null`;
  if (problem !== undefined)
    throw new LogError(`cannot append a decision-log record: field ${path} is ${problem}`);
  // A cycle is left to JSON.stringify, which refuses it; an object with toJSON is written as that returns.
  if (typeof value !== "object" || value === null || ancestors.has(value)) return;
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return;
  ancestors.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) refuseNonJson(value[i], `${path}[${i}]`, ancestors);
  } else {
    for (const [key, item] of Object.entries(value))
      refuseNonJson(item, path === "" ? key : `${path}.${key}`, ancestors);
  }
  ancestors.delete(value);
}

/** `kind` of the record a logged engine writes last when it closes cleanly (see {@link isCloseMarker}). */
export const CLOSE_MARKER_KIND = "close";

/**
 * Whether `record` (or a log entry wrapping it) is a close marker: the last record of a log whose
 * writer closed cleanly. A log that should end with one and does not lost its end (a deleted last
 * segment, a cut at a segment boundary) or belongs to a run that never closed (a crash).
 */
export function isCloseMarker(record: unknown): boolean {
  if (typeof record !== "object" || record === null) return false;
  const r = record as { readonly kind?: unknown; readonly record?: { readonly kind?: unknown } };
  return (
    r.kind === CLOSE_MARKER_KIND || (typeof r.record === "object" && r.record?.kind === CLOSE_MARKER_KIND)
  );
}

/**
 * `kind` of the record a logged engine writes, durably, when it fails internally (`engine.failed`):
 * `{ kind, time, generation, after, message }`, the engine time and live generation at the
 * failure, the last audit seq it had assigned, and the error's message. The engine then adapts no
 * more; replay stops at this record, since a replayed engine does not fail the same way.
 */
export const ENGINE_FAILURE_KIND = "failure";
