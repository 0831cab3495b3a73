import {
  closeSync,
  existsSync,
  fdatasyncSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { shownValue } from "../shown-value.js";
import { asLogError, LogError } from "./errors.js";
import { encodeFrame } from "./frame.js";
import { acquireLogLock } from "./lock.js";
import {
  ENGINE_LOG_FORMAT,
  type LogEntry,
  type LogHeader,
  RESTART_LOG_KIND,
  RUNS_BEFORE_KEY,
  runsBeforeOf,
  segmentHeaderText,
} from "./records.js";
import { scanDecisionLog } from "./scan.js";
import { fsyncDirectory, listSegments, segmentName } from "./segments.js";

/** The steps of a compaction, in order; {@link CompactOptions.afterStep} is called after each. */
export type CompactStep = "tmp-written" | "tmp-synced" | "renamed" | "dir-synced" | "old-removed";

/** Options of {@link compactDecisionLog}. */
export interface CompactOptions {
  /** Called after each step (for tests: throw to simulate a failure, or pause to be killed). */
  readonly afterStep?: (step: CompactStep) => void;
}

/** What a compaction did. */
export interface CompactResult {
  /** Records before (header excluded). */
  readonly recordsBefore: number;
  /**
   * Records kept (header excluded): those `keep` selected, and in an engine's log the `restart`
   * records of the runs left that it did not select (see {@link compactDecisionLog}).
   */
  readonly recordsKept: number;
  /** The segment now holding the whole log. */
  readonly segment: string;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

/**
 * Rewrites the log in `dir` keeping the header and the records selected by `keep`: the last `keep`
 * records when it is a number, else those for which it returns true. Seqs are kept as they were,
 * and records appended later follow every seq the log had, even when the last records were dropped.
 *
 * An engine's log (its header's format is `arqon.engine`) also keeps the `restart` record of each
 * run left: from the first run with a record `keep` selected (the last run when it selected none)
 * to the last. Each is the header of a run (the config, resolved options and start of the engine
 * that continued the log): without them the records kept would be read as the first run's, rebuilt
 * from its config and numbered as run 1, and a log compacted down to its header would read as one
 * run that never started. The runs before go whole, restart records included, so the log stays
 * bounded however often engines restarted on it: the header kept then records how many runs came
 * before the first one left (`runsBefore`), and readers number the runs left as the log did.
 *
 * @remarks
 * Crash-safe: the kept records go to a temporary file that is fsynced, renamed to a segment
 * numbered above every existing one, and the directory is fsynced; only then are the old segments
 * removed. A log whose newest header-first segment is the compacted one ignores older segments, so
 * a crash or failure at any point leaves either the old log or the new one, never a mix (leftovers
 * are cleaned up by the next writer that opens the log). It takes the directory's lock like a
 * writer, so it never runs under a live writer: while one holds the log (in this process or
 * another), it fails with a `LogLockedError` and changes nothing. A `keep` that is neither a whole
 * number ≥ 0 nor a function is a `LogError`, before anything is read or locked. Strict: fails on
 * mid-log damage; a torn tail is left out of the new segment.
 */
export function compactDecisionLog(
  dir: string,
  keep: number | ((entry: LogEntry) => boolean),
  options: CompactOptions = {},
): CompactResult {
  checkKeep(keep);
  // Listing first: a path that is not a readable directory is reported as such, not as a lock failure.
  if (!existsSync(dir) || listSegments(dir).length === 0)
    throw new LogError(`${dir} holds no decision log to compact`);
  const lock = acquireLogLock(dir, `compact decision log ${dir}`);
  try {
    return compactLocked(dir, keep, options);
  } finally {
    lock.release();
  }
}

/** Refuses a `keep` that is neither a whole number ≥ 0 nor a function (−3 would keep nothing, NaN everything). */
function checkKeep(keep: unknown): void {
  if (typeof keep === "function") return;
  if (typeof keep === "number" && Number.isSafeInteger(keep) && keep >= 0) return;
  throw new LogError(`keep must be a whole number ≥ 0 or a function, got ${shownValue(keep)}`);
}

function compactLocked(
  dir: string,
  keep: number | ((entry: LogEntry) => boolean),
  options: CompactOptions,
): CompactResult {
  const scan = scanDecisionLog(dir, true);
  if (scan.header === null) throw new LogError(`${dir} holds no decision log to compact`);
  const from = typeof keep === "number" ? Math.max(0, scan.records.length - keep) : 0;
  const selected = (entry: LogEntry, i: number) => (typeof keep === "number" ? i >= from : keep(entry));
  const { kept, header } =
    scan.header.format === ENGINE_LOG_FORMAT
      ? keptRuns(scan.header, scan.records, selected)
      : { kept: scan.records.filter(selected), header: scan.header };
  const existing = listSegments(dir);
  const bytesBefore = existing.reduce((sum, s) => sum + statSync(s.path).size, 0);
  const number = existing[existing.length - 1]!.number + 1;
  const target = join(dir, segmentName(number));
  const tmp = `${target}.tmp`;
  const step = options.afterStep ?? (() => {});

  const encoder = new TextEncoder();
  const payloads = [header, ...kept.map((e) => e.record)].map((record) => JSON.stringify(record));
  // Dropping the last records would lose their seqs: a seq mark after the kept ones holds the last,
  // so that records appended later follow every seq the log had.
  if (scan.lastSeq > (kept.at(-1)?.seq ?? 0)) payloads.push(segmentHeaderText(scan.lastSeq, number));
  const frames = payloads.map((payload) => encodeFrame(encoder.encode(payload)));
  const total = frames.reduce((sum, f) => sum + f.length, 0);
  try {
    const fd = openSync(tmp, "w");
    try {
      let position = 0;
      for (const f of frames) {
        let done = 0;
        while (done < f.length) done += writeSync(fd, f, done, f.length - done, position + done);
        position += f.length;
      }
      step("tmp-written");
      fdatasyncSync(fd);
      step("tmp-synced");
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
    step("renamed");
    fsyncDirectory(dir);
    step("dir-synced");
  } catch (error) {
    // Before the rename took effect the old log is intact; drop the temporary file.
    rmSync(tmp, { force: true });
    throw asLogError(error, `compaction of ${dir} failed`);
  }
  for (const old of existing) rmSync(old.path, { force: true });
  fsyncDirectory(dir);
  step("old-removed");
  return {
    recordsBefore: scan.records.length,
    recordsKept: kept.length,
    segment: target,
    bytesBefore,
    bytesAfter: total,
  };
}

/**
 * What a compaction of an engine's log keeps: the records `selected` picks, and the `restart`
 * record of each run from the first that still has one of them (else the last run) to the last.
 * The runs before it are gone whole: the header (still the log's first, for its format) then says
 * how many runs came before the first one left (`runsBefore`), so that readers number the runs
 * left as the log did.
 */
function keptRuns(
  header: LogHeader,
  records: readonly LogEntry[],
  selected: (entry: LogEntry, i: number) => boolean,
): { kept: LogEntry[]; header: LogHeader } {
  // Each record's run, counted in this log: 0 the run the header starts (none in a log whose first
  // runs were compacted away already), then one more at each restart record.
  const runOf: number[] = [];
  let run = 0;
  for (const entry of records) {
    if (entry.record.kind === RESTART_LOG_KIND) run++;
    runOf.push(run);
  }
  const picked = records.map(selected);
  const firstPicked = picked.indexOf(true);
  const firstRun = firstPicked === -1 ? run : runOf[firstPicked]!;
  const kept = records.filter(
    (entry, i) => picked[i] || (entry.record.kind === RESTART_LOG_KIND && runOf[i]! >= firstRun),
  );
  if (firstRun === 0) return { kept, header };
  // The runs before `firstRun` go: those before this log's first, and those counted here.
  const before = runsBeforeOf(header);
  if (Number.isNaN(before))
    throw new LogError(
      `the log's header gives ${RUNS_BEFORE_KEY} ${shownValue(header[RUNS_BEFORE_KEY])}, not a whole number ≥ 0`,
    );
  const runsBefore = before > 0 ? before + firstRun - 1 : firstRun;
  return { kept, header: { ...header, [RUNS_BEFORE_KEY]: runsBefore } };
}
