import { readFileSync, statSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { AuditEvent } from "../audit/events.js";
import { hasErrorCode } from "../errors.js";
import { asLogError } from "../log/errors.js";
import { parseJsonLines } from "../log/json-lines.js";
import {
  ENGINE_LOG_VERSION,
  type EngineLogHeader,
  type LoggedRepair,
  type TimeRecord,
} from "../log/log-records.js";
import { type FailureRecord, LogRunSplitter, type RunSink, type RunsEnd } from "../log/log-runs.js";
import {
  type DecisionLogContents,
  type VisitedLogContents,
  visitDecisionLogEvents,
  visitDecisionLogEventsAsync,
} from "../log/reader.js";
import { ReplayInputError } from "../log/replay-input-error.js";
import { isSegmentGone, type TornTail } from "../log/scan.js";
import { hasDecisionLog, isSegmentName } from "../log/segments.js";
import { runInSlices } from "../runtime/event-loop-slices.js";

export { UNCLOSED_MESSAGE } from "../log/log-runs.js";
export { ReplayInputError } from "../log/replay-input-error.js";

/**
 * A decision log as {@link replay} and {@link explain} accept it: a path (a log directory, or a
 * JSON Lines file with one record per line), the contents `readDecisionLog` returns, or the
 * records themselves (header first).
 */
export type DecisionLogInput =
  | string
  | { readonly header: unknown; readonly records: Iterable<unknown> }
  | Iterable<unknown>;

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

/**
 * Reads `log` and splits it into runs: the log header starts run 1, and every `restart` record
 * (an engine that continued the log) starts the next run with the header it carries. When a
 * compaction removed the first runs whole, the header says how many (`runsBefore`), starts none,
 * and the first restart record starts run `runsBefore + 1`. Each run
 * gets its own audit events, timings, close marker and failure record (an engine's internal
 * failure); other records are skipped.
 *
 * @remarks
 * Cold path: holds every event and timing in memory, and a number per record (its log seq); a log
 * directory's records themselves are read a segment at a time. A restarted engine numbers its generations and audit
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
  return readAgainIfCompactedNow(log, () => {
    const builder = new RunsBuilder();
    const splitter = new LogRunSplitter(builder);
    const known = feedLog(log, (record) => splitter.take(record));
    return builder.log(splitter.end(), known);
  });
}

/**
 * {@link readReplayLog} with the file reading off the event loop's thread and the log's frames
 * checked in slices between which the event loop turns: for a host that replays a log in the
 * process it serves from.
 */
export async function readReplayLogAsync(log: DecisionLogInput): Promise<ReplayLog> {
  return readAgainIfCompacted(log, async () => {
    const builder = new RunsBuilder();
    const splitter = new LogRunSplitter(builder);
    const known = await feedLogAsync(log, (record) => splitter.take(record));
    return builder.log(splitter.end(), known);
  });
}

/**
 * `read()` of `log`, and again (up to three times in all) when `log` is a path and a compaction
 * removed or replaced the segments it was reading (`isSegmentGone`): a reader holds no lock, and
 * reads a long log one segment at a time. Records given are read once: an iterable may not start
 * again.
 */
export async function readAgainIfCompacted<T>(log: DecisionLogInput, read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (typeof log !== "string" || attempt >= 3 || !isSegmentGone(error)) throw error;
    }
  }
}

/**
 * {@link readAgainIfCompacted} for a synchronous `read()`. A reader in another process than the
 * log's writer can meet a compaction the writer runs as it writes (`keepRecords`).
 */
export function readAgainIfCompactedNow<T>(log: DecisionLogInput, read: () => T): T {
  for (let attempt = 1; ; attempt++) {
    try {
      return read();
    } catch (error) {
      if (typeof log !== "string" || attempt >= 3 || !isSegmentGone(error)) throw error;
    }
  }
}

/** What a reader knows of a log beyond its records. */
export interface KnownOfLog {
  /** See {@link ReplayLog.tornTail}. */
  readonly tornTail: TornTail | null;
  /** The log's last seq, when the reader knows it (see {@link DecisionLogContents.lastSeq}). */
  readonly lastSeq: number | undefined;
}

/**
 * Hands the records of `log` to `take`, in log order and the header first; a log directory is read
 * and verified one segment at a time, so that memory holds only what `take` keeps. A log given as
 * records with nothing in them hands on none (the caller's reader then says the log is empty).
 *
 * @throws as {@link readReplayLog} does.
 */
export function feedLog(log: DecisionLogInput, take: (record: unknown) => void): KnownOfLog {
  if (typeof log !== "string") return feedGiven(log, take);
  if (!isDirectoryPath(log)) return feedGiven(readLines(log), take);
  checkHoldsLog(log);
  const inputError = new HeldInputError(take);
  return inputError.after(fedDirectory(visitDecisionLogEvents(log, inputError.take), inputError.take));
}

/** {@link feedLog}, reading off the event loop's thread and taking the records in slices. */
export async function feedLogAsync(
  log: DecisionLogInput,
  take: (record: unknown) => void,
): Promise<KnownOfLog> {
  if (typeof log === "string") {
    if (await isDirectoryPathAsync(log)) {
      checkHoldsLog(log);
      const inputError = new HeldInputError(take);
      return inputError.after(
        fedDirectory(await visitDecisionLogEventsAsync(log, inputError.take), inputError.take),
      );
    }
    log = await readLinesAsync(log);
  }
  const { records, tornTail, lastSeq } = recordsOf(log);
  await runInSlices(
    (function* () {
      for (const record of records) {
        take(record);
        yield;
      }
    })(),
  );
  return { tornTail, lastSeq };
}

/**
 * `take` for a log directory, holding back the first ReplayInputError it throws (a record the
 * reader refuses) and taking no record after it, until the scan has verified the rest of the log:
 * damage further on is reported first, as a LogError, as when the log was read whole before any
 * record was looked at.
 */
class HeldInputError {
  private held: ReplayInputError | undefined;

  constructor(private readonly inner: (record: unknown) => void) {}

  readonly take = (record: unknown): void => {
    if (this.held !== undefined) return;
    try {
      this.inner(record);
    } catch (error) {
      if (!(error instanceof ReplayInputError)) throw error;
      this.held = error;
    }
  };

  /** `result`, once the scan has ended without damage; the error held back, if any. */
  after<T>(result: T): T {
    if (this.held !== undefined) throw this.held;
    return result;
  }
}

/** Records given in memory (or read from a JSON Lines file), handed on at once. */
function feedGiven(log: Exclude<DecisionLogInput, string>, take: (record: unknown) => void): KnownOfLog {
  const { records, tornTail, lastSeq } = recordsOf(log);
  for (const record of records) take(record);
  return { tornTail, lastSeq };
}

/**
 * What a visit of a log directory knows. A directory whose segments hold no header hands on its
 * null header, so that the log is refused as one that does not start with an engine header.
 */
function fedDirectory(contents: VisitedLogContents, take: (record: unknown) => void): KnownOfLog {
  if (contents.header === null) take(null);
  return { tornTail: contents.tornTail, lastSeq: contents.lastSeq };
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
  repair: LoggedRepair | undefined;
};

/** Keeps every run of the log with all it holds: what {@link readReplayLog} returns. */
class RunsBuilder implements RunSink {
  private readonly runs: RunBuilder[] = [];
  private readonly logSeqs: (number | undefined)[] = [];

  record(_index: number, logSeq: number | undefined): void {
    this.logSeqs.push(logSeq);
  }

  startRun(run: number, start: number, header: EngineLogHeader, repair: LoggedRepair | undefined): void {
    this.runs.push({
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
      repair,
      logSeqs: this.logSeqs,
    });
  }

  event(event: AuditEvent, index: number): void {
    const run = this.runs.at(-1)!;
    run.events.push(event);
    run.indices.push(index);
    if (run.generations === undefined) run.generations = { first: event.generation, last: event.generation };
    else {
      run.generations.first = Math.min(run.generations.first, event.generation);
      run.generations.last = Math.max(run.generations.last, event.generation);
    }
  }

  timing(timing: TimeRecord): void {
    this.runs.at(-1)!.timings?.push(timing);
  }

  close(index: number, generation: number | undefined): void {
    const run = this.runs.at(-1)!;
    run.closed = true;
    run.close = { index, generation };
  }

  failure(failure: FailureRecord, index: number): void {
    const run = this.runs.at(-1)!;
    run.failure ??= { ...failure, index, timingsBefore: run.timings?.length ?? 0 };
  }

  /** The log, once its records are all taken. */
  log(end: RunsEnd, known: KnownOfLog): ReplayLog {
    const first = this.runs[0]!;
    const { lastRecordSeq } = end;
    return {
      header: first.header,
      events: first.events,
      indices: first.indices,
      runs: this.runs,
      tornTail: known.tornTail,
      unclosed: end.unclosed,
      lastSeq:
        lastRecordSeq === undefined ? undefined : Math.max(lastRecordSeq, known.lastSeq ?? lastRecordSeq),
    };
  }
}

/** Records given in memory, with what is known of them beyond the records. */
function recordsOf(
  log: Exclude<DecisionLogInput, string>,
): KnownOfLog & { readonly records: Iterable<unknown> } {
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

function isContents(log: object): log is { readonly header: unknown; readonly records: Iterable<unknown> } {
  return "header" in log && "records" in log && !(Symbol.iterator in log);
}

/** Whether `path` is a directory (a log directory), else a file of JSON Lines. */
function isDirectoryPath(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (error) {
    throw notReadable(path, error);
  }
}

async function isDirectoryPathAsync(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    throw notReadable(path, error);
  }
}

/** The records of a JSON Lines file. */
function readLines(path: string): unknown[] {
  refuseSegmentFile(path);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw asLogError(error, `cannot read decision log ${path}`);
  }
  return jsonLinesOf(text, path);
}

/** {@link readLines}, reading on libuv's thread pool. */
async function readLinesAsync(path: string): Promise<unknown[]> {
  refuseSegmentFile(path);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw asLogError(error, `cannot read decision log ${path}`);
  }
  return jsonLinesOf(text, path);
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
