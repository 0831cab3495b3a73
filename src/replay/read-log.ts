import { readFileSync, statSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { AuditEvent } from "../audit/events.js";
import { hasErrorCode } from "../errors.js";
import { asLogError } from "../log/errors.js";
import { parseJsonLines } from "../log/json-lines.js";
import {
  auditEventOf,
  CLOSE_MARKER_LOG_VERSION,
  ENGINE_LOG_VERSION,
  type EngineLogHeader,
  engineHeaderOf,
  type LoggedRepair,
  type TimeRecord,
  timeRecordOf,
} from "../log/log-records.js";
import { type DecisionLogContents, readDecisionLog, readDecisionLogAsync } from "../log/reader.js";
import {
  ENGINE_FAILURE_KIND,
  isCloseMarker,
  RESTART_LOG_KIND,
  RUNS_BEFORE_KEY,
  runsBeforeOf,
} from "../log/records.js";
import type { TornTail } from "../log/scan.js";
import { hasDecisionLog, isSegmentName } from "../log/segments.js";
import { runAtOnce, runInSlices, type Steps } from "../runtime/event-loop-slices.js";

/**
 * A decision log as {@link replay} and {@link explain} accept it: a path (a log directory, or a
 * JSON Lines file with one record per line), the contents `readDecisionLog` returns, or the
 * records themselves (header first).
 */
export type DecisionLogInput =
  | string
  | { readonly header: unknown; readonly records: Iterable<unknown> }
  | Iterable<unknown>;

/** A log that cannot be replayed or explained: no engine header, or unreadable records. */
export class ReplayInputError extends Error {
  override readonly name: string = "ReplayInputError";
}

/** The lowest and highest live generation a run's audit records carry. */
export interface GenerationRange {
  readonly first: number;
  readonly last: number;
}

/**
 * An internal failure a logged engine recorded (`engine.failed`; see `ENGINE_FAILURE_KIND`): it
 * then adapted no more, and replay, whose engine does not fail, stops there.
 */
export interface LoggedFailure {
  /** Position of the failure record in the log (the header is 0). */
  readonly index: number;
  /** Engine-clock ms of the failure. */
  readonly time: number;
  /** The live generation at the failure. */
  readonly generation: number;
  /** The last audit seq the engine had assigned: the records up to it came before the failure. */
  readonly after: number;
  /** The error's message. */
  readonly message: string;
  /** How many of the run's timings were logged before it (those replay runs). */
  readonly timingsBefore: number;
}

/**
 * One engine's run within a decision log: the first run starts at the log header, each later
 * one at a `restart` record written by an engine that continued the log.
 */
export interface ReplayRun {
  /**
   * 1 for the run the log header describes, then 2, 3, … in log order. A log whose first runs a
   * compaction removed whole numbers the runs left as before: from its header's `runsBefore` + 1.
   */
  readonly run: number;
  /** Position in the log of the record that starts the run (0 for the header, else its `restart` record). */
  readonly start: number;
  /** The header that describes the run's engine (config, seed, start time). */
  readonly header: EngineLogHeader;
  /** The run's audit events, in log order. */
  readonly events: readonly AuditEvent[];
  /** Each event's position in the log (the log header is 0). */
  readonly indices: readonly number[];
  /** Generations the run's events were written under (undefined when the run has no events). */
  readonly generations: GenerationRange | undefined;
  /**
   * The timings the run's engine saw (timer firings, host flushes), in log order; undefined for
   * a log written before they were recorded (its header has no `logVersion` 3).
   */
  readonly timings: readonly TimeRecord[] | undefined;
  /** Whether the run ends with a close marker (its engine closed cleanly). */
  readonly closed: boolean;
  /**
   * The run's close marker, written after its engine stopped: its position in the log and the
   * generation it records (undefined when the marker holds none). Undefined when the run did not
   * close.
   */
  readonly close: { readonly index: number; readonly generation: number | undefined } | undefined;
  /** The internal failure the run's engine recorded (the first, if several), or undefined. */
  readonly failure: LoggedFailure | undefined;
  /**
   * What opening the log repaired before the run began (a torn tail cut off, damage set aside),
   * as its restart record tells; undefined when nothing was (and for the first run).
   */
  readonly repair: LoggedRepair | undefined;
  /**
   * The log's own sequence number of the record at each position of the whole log (not only
   * this run's), or undefined where the record does not carry one (records given bare). The
   * writer numbers records without gaps, so a jump means records were removed from the log (a
   * compaction, an edit); audit records the ring dropped never reached it and leave none.
   */
  readonly logSeqs: readonly (number | undefined)[];
}

/**
 * A decision log split into runs. `header`, `events` and `indices` are those of the first run
 * (what the log's own header describes, or, when a compaction removed the first runs whole, the
 * first run left); `runs` holds every run, the first included.
 */
export interface ReplayLog {
  readonly header: EngineLogHeader;
  readonly events: readonly AuditEvent[];
  readonly indices: readonly number[];
  readonly runs: readonly ReplayRun[];
  /**
   * Bytes at the end of the log's last segment that do not form a valid record (a write cut
   * short by a crash): not replayed. Null when there are none, or when the log was not read from
   * a directory.
   */
  readonly tornTail: TornTail | null;
  /**
   * Why the log's end cannot be trusted to be its whole end: its last run records a close marker
   * (log version 3) but the log does not end with one — the last segment is missing, the log was
   * cut at a segment boundary, or the run never closed (a crash, or a writer still running).
   * Null when the log ends with its close marker, or its last run predates close markers.
   */
  readonly unclosed: string | null;
  /**
   * The last of the log's own seqs: its last record's, or a larger one when a compaction dropped
   * the log's last records (records were removed after the last one held). Undefined when the
   * records carry no log seqs (records given bare).
   */
  readonly lastSeq: number | undefined;
}

/** What {@link ReplayLog.unclosed} says of a log that ends without its close marker. */
export const UNCLOSED_MESSAGE = "log ends without close marker: last segment missing or run did not close";

/**
 * Reads `log` and splits it into runs: the log header starts run 1, and every `restart` record
 * (an engine that continued the log) starts the next run with the header it carries. When a
 * compaction removed the first runs whole, the header says how many (`runsBefore`), starts none,
 * and the first restart record starts run `runsBefore + 1`. Each run
 * gets its own audit events, timings, close marker and failure record (an engine's internal
 * failure); other records are skipped.
 *
 * @remarks
 * Cold path: holds every event in memory. A restarted engine numbers its generations and audit
 * sequence from its own start again, so they repeat across runs; a run is the unit in which they
 * are unique.
 *
 * @throws ReplayInputError when the path does not exist (`log not found: …`), there is no
 * engine header first, a `restart` record carries no engine header, a header's `rules` is not a
 * version, or a JSON Lines file has a bad line.
 * @throws LogError when a log directory is damaged, or a path that exists cannot be read
 * (`cannot read decision log …: …`, with the reason).
 */
export function readReplayLog(log: DecisionLogInput): ReplayLog {
  const { records, tornTail, lastSeq } = recordsOf(log);
  return runAtOnce(runsOf(records, tornTail, lastSeq));
}

/**
 * {@link readReplayLog} with the file reading off the event loop's thread and the log's frames
 * checked in slices between which the event loop turns: for a host that replays a log in the
 * process it serves from.
 */
export async function readReplayLogAsync(log: DecisionLogInput): Promise<ReplayLog> {
  const { records, tornTail, lastSeq } = await recordsOfAsync(log);
  return runInSlices(runsOf(records, tornTail, lastSeq));
}

/**
 * The log's records split into runs (see {@link readReplayLog}), a record per step. `lastSeq` is
 * the log's last seq when the reader knows it (a compaction's seq mark can hold one past the last
 * record), else the last record's is taken.
 */
function* runsOf(
  records: Iterable<unknown>,
  tornTail: TornTail | null,
  lastSeq: number | undefined,
): Steps<ReplayLog> {
  const runs: RunBuilder[] = [];
  // Runs a compaction removed whole before the first one the log holds (see RUNS_BEFORE_KEY).
  let runsBefore = 0;
  const logSeqs: (number | undefined)[] = [];
  let index = 0;
  let lastWasClose = false;
  for (const record of records) {
    yield;
    logSeqs.push(logSeqOf(record));
    if (index === 0) {
      const header = engineHeaderOf(record);
      if (header === undefined) throw new ReplayInputError("the log does not start with an engine header");
      runsBefore = runsBeforeOf(header);
      if (Number.isNaN(runsBefore))
        throw new ReplayInputError(
          `the log header gives ${RUNS_BEFORE_KEY} ${JSON.stringify(header[RUNS_BEFORE_KEY]) ?? String(header[RUNS_BEFORE_KEY])}, not a whole number ≥ 0`,
        );
      // A compaction that removed the first runs whole left the header for the log's format only.
      if (runsBefore === 0) runs.push(newRun(1, 0, header, logSeqs));
    } else if (isRestart(record)) {
      const header = engineHeaderOf(restartOf(record).header);
      if (header === undefined)
        throw new ReplayInputError(
          `the restart record at position ${index} of the log carries no engine header`,
        );
      runs.push({
        ...newRun(runsBefore + runs.length + 1, index, header, logSeqs),
        repair: repairOf(restartOf(record)),
      });
    } else if (runs.length === 0) {
      throw new ReplayInputError(
        `the record at position ${index} of the log comes before its first restart record, though its header says the ${runsBefore} run${runsBefore === 1 ? "" : "s"} before that one were compacted away`,
      );
    } else if (isCloseMarker(record)) {
      const run = runs.at(-1)!;
      run.closed = true;
      run.close = { index, generation: closeGenerationOf(record) };
    } else if (isFailure(record)) {
      const run = runs.at(-1)!;
      run.failure ??= failureOf(record, index, run.timings?.length ?? 0);
    } else {
      const timing = timeRecordOf(record);
      if (timing !== undefined) runs.at(-1)!.timings?.push(timing);
      const event = timing === undefined ? auditEventOf(record) : undefined;
      if (event !== undefined) {
        const run = runs.at(-1)!;
        run.events.push(event);
        run.indices.push(index);
        if (run.generations === undefined)
          run.generations = { first: event.generation, last: event.generation };
        else {
          run.generations.first = Math.min(run.generations.first, event.generation);
          run.generations.last = Math.max(run.generations.last, event.generation);
        }
      }
    }
    lastWasClose = index > 0 && isCloseMarker(record);
    index++;
  }
  const first = runs[0];
  if (first === undefined) throw new ReplayInputError("the log is empty");
  const last = runs.at(-1)!;
  const unclosed =
    (last.header.logVersion ?? 0) >= CLOSE_MARKER_LOG_VERSION && !lastWasClose ? UNCLOSED_MESSAGE : null;
  const lastRecordSeq = logSeqs.at(-1);
  return {
    header: first.header,
    events: first.events,
    indices: first.indices,
    runs,
    tornTail,
    unclosed,
    lastSeq: lastRecordSeq === undefined ? undefined : Math.max(lastRecordSeq, lastSeq ?? lastRecordSeq),
  };
}

/**
 * A short list of the runs of a log with their generation ranges, for messages:
 * `run 1: generations 0–57; run 2: generations 0–12; run 3: no audit records`.
 */
export function describeRuns(runs: readonly ReplayRun[]): string {
  return runs.map(({ run, generations }) => `run ${run}: ${describeGenerations(generations)}`).join("; ");
}

/** `generations 0–57`, `generation 4`, or `no audit records` for a run without events. */
export function describeGenerations(range: GenerationRange | undefined): string {
  if (range === undefined) return "no audit records";
  return range.first === range.last
    ? `generation ${range.first}`
    : `generations ${range.first}–${range.last}`;
}

type RunBuilder = ReplayRun & {
  readonly events: AuditEvent[];
  readonly indices: number[];
  generations: { first: number; last: number } | undefined;
  readonly timings: TimeRecord[] | undefined;
  closed: boolean;
  close: ReplayRun["close"];
  failure: LoggedFailure | undefined;
};

/** Starts run `run` at log position `start`; refuses a header whose `rules` is not a version. */
function newRun(
  run: number,
  start: number,
  header: EngineLogHeader,
  logSeqs: readonly (number | undefined)[],
): RunBuilder {
  const where = start === 0 ? "the log header" : `the restart record at position ${start}`;
  const rules: unknown = header.rules;
  if (rules !== undefined && !(typeof rules === "number" && Number.isSafeInteger(rules) && rules >= 1)) {
    throw new ReplayInputError(
      `${where} gives rules ${JSON.stringify(rules) ?? String(rules)}, not a decision-rules version (a whole number from 1)`,
    );
  }
  const resolved: unknown = header.resolved;
  if (
    resolved !== undefined &&
    (typeof resolved !== "object" || resolved === null || Array.isArray(resolved))
  ) {
    throw new ReplayInputError(
      `${where} gives resolved ${JSON.stringify(resolved) ?? String(resolved)}, not an object of the engine's resolved options`,
    );
  }
  return {
    run,
    start,
    header,
    events: [],
    indices: [],
    generations: undefined,
    timings: (header.logVersion ?? 0) >= ENGINE_LOG_VERSION ? [] : undefined,
    closed: false,
    close: undefined,
    failure: undefined,
    repair: undefined,
    logSeqs,
  };
}

/**
 * The repair a restart record tells of, or undefined when it tells of none. Read leniently: a
 * malformed one reads as a repair of unknown kind rather than none (it is only reported).
 */
function repairOf(restart: { readonly repair?: unknown }): LoggedRepair | undefined {
  const r = restart.repair;
  if (typeof r !== "object" || r === null) return undefined;
  const f = r as Readonly<Record<string, unknown>>;
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  const setAside = Array.isArray(f.setAside) ? f.setAside.filter((x) => typeof x === "string") : undefined;
  return {
    kind: f.kind === "torn-tail" ? "torn-tail" : "corruption",
    segment: text(f.segment) ?? "?",
    truncatedAt: typeof f.truncatedAt === "number" ? f.truncatedAt : Number.NaN,
    bytesDropped: typeof f.bytesDropped === "number" ? f.bytesDropped : Number.NaN,
    ...(text(f.reason) === undefined ? {} : { reason: text(f.reason)! }),
    ...(setAside === undefined ? {} : { setAside }),
  };
}

/** The record itself, whether given bare or as a log entry wrapping it. */
function unwrapped(record: unknown): unknown {
  if (typeof record !== "object" || record === null) return record;
  const r = record as { readonly segment?: unknown; readonly record?: unknown };
  return typeof r.segment === "string" && typeof r.record === "object" && r.record !== null
    ? r.record
    : record;
}

/**
 * The log's own seq of a record as the log holds it (`{ seq, kind, … }`, or a log entry wrapping
 * one); undefined for a bare record (an audit event's `seq` is the audit sequence, not the log's).
 */
function logSeqOf(record: unknown): number | undefined {
  const r = unwrapped(record);
  if (typeof r !== "object" || r === null) return undefined;
  const { seq, kind } = r as { readonly seq?: unknown; readonly kind?: unknown };
  return typeof kind === "string" && typeof seq === "number" ? seq : undefined;
}

/** The generation a close marker records, if it holds one. */
function closeGenerationOf(record: unknown): number | undefined {
  const generation = (unwrapped(record) as { readonly generation?: unknown }).generation;
  return typeof generation === "number" ? generation : undefined;
}

/** Whether a record (or a log entry wrapping one) is an engine's failure record. */
function isFailure(record: unknown): boolean {
  const r = unwrapped(record);
  return (
    typeof r === "object" && r !== null && (r as { readonly kind?: unknown }).kind === ENGINE_FAILURE_KIND
  );
}

/**
 * The failure a failure record holds. Fields the record lacks or holds wrongly read as NaN (the
 * message as "", `after` as +Infinity: every record is then compared): a failure record says the
 * run failed whatever else it says.
 */
function failureOf(record: unknown, index: number, timingsBefore: number): LoggedFailure {
  const r = unwrapped(record) as Readonly<Record<string, unknown>>;
  const number = (value: unknown) => (typeof value === "number" ? value : Number.NaN);
  return {
    index,
    time: number(r.time),
    generation: number(r.generation),
    after: typeof r.after === "number" ? r.after : Number.POSITIVE_INFINITY,
    message: typeof r.message === "string" ? r.message : "",
    timingsBefore,
  };
}

/** The restart record itself, whether given bare or as a log entry wrapping it. */
function restartOf(record: unknown): { readonly header?: unknown; readonly repair?: unknown } {
  type Restart = { readonly header?: unknown; readonly repair?: unknown };
  const r = record as { readonly kind?: unknown; readonly record?: Restart };
  return r.kind === RESTART_LOG_KIND ? (r as Restart) : (r.record ?? {});
}

/** Whether a record (or a log entry wrapping one) marks an engine restarted on this log. */
function isRestart(record: unknown): boolean {
  if (typeof record !== "object" || record === null) return false;
  const r = record as { readonly kind?: unknown; readonly record?: { readonly kind?: unknown } };
  return r.kind === RESTART_LOG_KIND || (typeof r.record === "object" && r.record?.kind === RESTART_LOG_KIND);
}

/** A log's records as read, with what the reader knows of them beyond the records. */
interface ReadRecords {
  readonly records: Iterable<unknown>;
  readonly tornTail: TornTail | null;
  /** The log's last seq, when the reader knows it (see {@link DecisionLogContents.lastSeq}). */
  readonly lastSeq: number | undefined;
}

function recordsOf(log: DecisionLogInput): ReadRecords {
  if (typeof log === "string") return readPath(log);
  if (isContents(log)) {
    const { tornTail, lastSeq } = log as Partial<DecisionLogContents>;
    return {
      records: [log.header, ...log.records],
      tornTail: tornTail ?? null,
      lastSeq: typeof lastSeq === "number" ? lastSeq : undefined,
    };
  }
  return { records: log, tornTail: null, lastSeq: undefined };
}

async function recordsOfAsync(log: DecisionLogInput): Promise<ReadRecords> {
  return typeof log === "string" ? readPathAsync(log) : recordsOf(log);
}

function isContents(log: object): log is { readonly header: unknown; readonly records: Iterable<unknown> } {
  return "header" in log && "records" in log && !(Symbol.iterator in log);
}

function readPath(path: string): ReadRecords {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    throw notReadable(path, error);
  }
  if (isDirectory) {
    checkHoldsLog(path);
    const contents = readDecisionLog(path);
    return { records: headerThen(contents), tornTail: contents.tornTail, lastSeq: contents.lastSeq };
  }
  refuseSegmentFile(path);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw asLogError(error, `cannot read decision log ${path}`);
  }
  return { records: jsonLinesOf(text, path), tornTail: null, lastSeq: undefined };
}

/** {@link readPath} with its reads on libuv's thread pool and the frames checked in slices. */
async function readPathAsync(path: string): Promise<ReadRecords> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    throw notReadable(path, error);
  }
  if (isDirectory) {
    checkHoldsLog(path);
    const contents = await readDecisionLogAsync(path);
    return { records: headerThen(contents), tornTail: contents.tornTail, lastSeq: contents.lastSeq };
  }
  refuseSegmentFile(path);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw asLogError(error, `cannot read decision log ${path}`);
  }
  return { records: jsonLinesOf(text, path), tornTail: null, lastSeq: undefined };
}

/** The log's header, then its records: read in place, not copied into one array (a quarter million took 12 ms). */
function* headerThen(contents: DecisionLogContents): Generator<unknown> {
  yield contents.header;
  yield* contents.records;
}

/** The error for a path that cannot be looked at: a `log not found` when there is nothing there. */
function notReadable(path: string, error: unknown): Error {
  // A path through a regular file (ENOTDIR) does not exist either.
  if (hasErrorCode(error, "ENOENT") || hasErrorCode(error, "ENOTDIR"))
    return new ReplayInputError(`log not found: ${path}`, { cause: error });
  return asLogError(error, `cannot read decision log ${path}`);
}

/**
 * One segment of a log is binary frames, read only with the rest of its directory: named as such,
 * rather than parsed as JSON Lines (whose error would quote its bytes).
 */
function refuseSegmentFile(path: string): void {
  if (isSegmentName(basename(path)))
    throw new ReplayInputError(
      `${path} is one segment of a decision log, which is read whole: pass its directory, ${dirname(path)}`,
    );
}

/** A directory with no segment (empty, or a LOCK left alone) holds no log, not a log without a header. */
function checkHoldsLog(dir: string): void {
  if (!hasDecisionLog(dir)) throw new ReplayInputError(`no decision log in ${dir}: it holds no segment file`);
}

function jsonLinesOf(text: string, path: string): unknown[] {
  return parseJsonLines(text, path, (message) => new ReplayInputError(message)).map((l) => l.value);
}
