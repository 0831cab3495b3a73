/**
 * A decision log's records split into runs one record at a time, so that a reader keeps only what
 * it needs of them: replay every run's events, a restart only where the last run ended.
 */
import type { AuditEvent } from "../audit/events.js";
import {
  auditEventOf,
  CLOSE_MARKER_LOG_VERSION,
  ENGINE_LOG_VERSION,
  type EngineLogHeader,
  engineHeaderOf,
  type LoggedRepair,
  type TimeRecord,
  timeRecordOf,
} from "./log-records.js";
import {
  ENGINE_FAILURE_KIND,
  isCloseMarker,
  RESTART_LOG_KIND,
  RUNS_BEFORE_KEY,
  runsBeforeOf,
} from "./records.js";
import { ReplayInputError } from "./replay-input-error.js";

/** What the log says of a run's failure record; see `LoggedFailure` for the fields. */
export interface FailureRecord {
  readonly time: number;
  readonly generation: number;
  readonly after: number;
  readonly message: string;
}

/** Takes what {@link LogRunSplitter} finds in each record, in log order. */
export interface RunSink {
  /** A record at log position `index` (the header is 0), before what it holds: its log seq, if it carries one. */
  record(index: number, logSeq: number | undefined): void;
  /** Run `run` starts at log position `start` (0: the header; else its `restart` record). */
  startRun(run: number, start: number, header: EngineLogHeader, repair: LoggedRepair | undefined): void;
  event(event: AuditEvent, index: number): void;
  timing(timing: TimeRecord): void;
  close(index: number, generation: number | undefined): void;
  failure(failure: FailureRecord, index: number): void;
}

/** What the whole log says once its last record is taken. */
export interface RunsEnd {
  /** See `ReplayLog.unclosed`. */
  readonly unclosed: string | null;
  /** The last record's log seq (undefined for bare records). */
  readonly lastRecordSeq: number | undefined;
}

/** What `ReplayLog.unclosed` says of a log that ends without its close marker. */
export const UNCLOSED_MESSAGE = "log ends without close marker: last segment missing or run did not close";

/**
 * Splits a decision log's records into runs as they come: the log header starts run 1, and every
 * `restart` record (an engine that continued the log) starts the next run with the header it
 * carries. When a compaction removed the first runs whole, the header says how many (`runsBefore`),
 * starts none, and the first restart record starts run `runsBefore + 1`. Audit events, timings,
 * close markers and failure records go to the sink for the run they are in; other records are
 * skipped.
 */
export class LogRunSplitter {
  private index = 0;
  private runs = 0;
  // Runs a compaction removed whole before the first one the log holds (see RUNS_BEFORE_KEY).
  private runsBefore = 0;
  private lastHeader: EngineLogHeader | undefined;
  private lastWasClose = false;
  private lastRecordSeq: number | undefined;

  constructor(private readonly sink: RunSink) {}

  /**
   * Takes the log's next record (the header first; bare or as the log holds it).
   *
   * @throws ReplayInputError when the log does not start with an engine header, a `restart`
   * record carries none, a header's `rules` or `resolved` is malformed, or a record comes before
   * the first run starts.
   */
  take(record: unknown): void {
    const index = this.index;
    const sink = this.sink;
    this.lastRecordSeq = logSeqOf(record);
    sink.record(index, this.lastRecordSeq);
    if (index === 0) {
      const header = engineHeaderOf(record);
      if (header === undefined) throw new ReplayInputError("the log does not start with an engine header");
      this.runsBefore = runsBeforeOf(header);
      if (Number.isNaN(this.runsBefore))
        throw new ReplayInputError(
          `the log header gives ${RUNS_BEFORE_KEY} ${JSON.stringify(header[RUNS_BEFORE_KEY]) ?? String(header[RUNS_BEFORE_KEY])}, not a whole number ≥ 0`,
        );
      // A compaction that removed the first runs whole left the header for the log's format only.
      if (this.runsBefore === 0) this.startRun(0, header, undefined);
    } else if (isRestart(record)) {
      const header = engineHeaderOf(restartOf(record).header);
      if (header === undefined)
        throw new ReplayInputError(
          `the restart record at position ${index} of the log carries no engine header`,
        );
      this.startRun(index, header, repairOf(restartOf(record)));
    } else if (this.runs === 0) {
      const n = this.runsBefore;
      throw new ReplayInputError(
        `the record at position ${index} of the log comes before its first restart record, though its header says the ${n} run${n === 1 ? "" : "s"} before that one were compacted away`,
      );
    } else if (isCloseMarker(record)) {
      sink.close(index, closeGenerationOf(record));
    } else if (isFailure(record)) {
      sink.failure(failureOf(record), index);
    } else {
      const timing = timeRecordOf(record);
      if (timing !== undefined) {
        if ((this.lastHeader!.logVersion ?? 0) >= ENGINE_LOG_VERSION) sink.timing(timing);
      } else {
        const event = auditEventOf(record);
        if (event !== undefined) sink.event(event, index);
      }
    }
    this.lastWasClose = index > 0 && isCloseMarker(record);
    this.index++;
  }

  /**
   * What the log says once its last record is taken.
   *
   * @throws ReplayInputError when the log held no run.
   */
  end(): RunsEnd {
    if (this.lastHeader === undefined) throw new ReplayInputError("the log is empty");
    const unclosed =
      (this.lastHeader.logVersion ?? 0) >= CLOSE_MARKER_LOG_VERSION && !this.lastWasClose
        ? UNCLOSED_MESSAGE
        : null;
    return { unclosed, lastRecordSeq: this.lastRecordSeq };
  }

  private startRun(start: number, header: EngineLogHeader, repair: LoggedRepair | undefined): void {
    checkHeader(header, start);
    this.runs++;
    this.lastHeader = header;
    this.sink.startRun(this.runsBefore + this.runs, start, header, repair);
  }
}

/** Refuses a run's header whose `rules` is not a version or whose `resolved` is not an object. */
function checkHeader(header: EngineLogHeader, start: number): void {
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
function failureOf(record: unknown): FailureRecord {
  const r = unwrapped(record) as Readonly<Record<string, unknown>>;
  const number = (value: unknown) => (typeof value === "number" ? value : Number.NaN);
  return {
    time: number(r.time),
    generation: number(r.generation),
    after: typeof r.after === "number" ? r.after : Number.POSITIVE_INFINITY,
    message: typeof r.message === "string" ? r.message : "",
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
