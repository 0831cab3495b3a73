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
import type { AuditDecodeContext } from "../audit/events.js";
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
import { auditContextOf, decodeRingRecord, type RawRingRecord, RING_RECORD_KIND } from "./ring-record.js";
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
 * records when it is a number, else those for which it returns a truthy value (it is called once
 * per record, in log order, and what it changes in a record is not written: the records are read
 * again to be written). Seqs are kept as they were, and records appended later follow every seq the
 * log had, even when the last records were dropped.
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
 * Reads the log twice, a segment at a time (what to keep, then the records kept), holding a bit
 * per record between the passes: memory stays within a few segments however long the log.
 *
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
  // Two passes over the log, each holding one segment at a time: the first finds what to keep
  // (the header written first depends on it), the second writes it.
  const plan = planCompaction(dir, keep);
  const existing = listSegments(dir);
  const bytesBefore = existing.reduce((sum, s) => sum + statSync(s.path).size, 0);
  const number = existing[existing.length - 1]!.number + 1;
  const target = join(dir, segmentName(number));
  const tmp = `${target}.tmp`;
  const step = options.afterStep ?? (() => {});
  let written: { kept: number; bytes: number };
  try {
    const fd = openSync(tmp, "w");
    try {
      written = writeKept(dir, fd, plan, number);
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
    recordsBefore: plan.records,
    recordsKept: written.kept,
    segment: target,
    bytesBefore,
    bytesAfter: written.bytes,
  };
}

/** What a compaction keeps, found by a first pass over the log. */
interface CompactionPlan {
  /** The header to write: the log's, with `runsBefore` when runs go whole. */
  readonly header: LogHeader;
  /** Records after the header. */
  readonly records: number;
  /** Whether the record at each position (0: the first after the header) is kept. */
  readonly picked: (i: number) => boolean;
  /**
   * The first run left, counted in this log (0: the run the header starts): an engine's log keeps
   * the restart record of each run from it on, and the runs before it go whole.
   */
  readonly firstRun: number;
  /** Whether the log is an engine's (its restart records then start runs). */
  readonly engine: boolean;
  /** The log's last seq, which records appended later must follow. */
  readonly lastSeq: number;
}

/**
 * The first pass: counts the records, asks `keep` once about each (when it is a function), and
 * finds the first run left. Memory: a bit per record.
 */
function planCompaction(dir: string, keep: number | ((entry: LogEntry) => boolean)): CompactionPlan {
  const selected = typeof keep === "function" ? new BitList() : undefined;
  // Positions of the restart records (a handful: one per run).
  const restarts: number[] = [];
  let header: LogHeader | undefined;
  let records = 0;
  let firstSelected = -1;
  const visit = (entry: LogEntry) => {
    if (header === undefined) {
      header = entry.record as unknown as LogHeader;
      return;
    }
    if (entry.record.kind === RESTART_LOG_KIND) restarts.push(records);
    if (selected !== undefined) {
      const picked = (keep as (entry: LogEntry) => boolean)(entry);
      selected.push(picked);
      if (picked && firstSelected < 0) firstSelected = records;
    }
    records++;
  };
  // A count needs no record decoded (restart records are no audit records); `keep` sees them whole.
  const scan = scanDecisionLog(dir, true, selected === undefined ? { undecoded: visit } : visit);
  if (header === undefined) throw new LogError(`${dir} holds no decision log to compact`);
  const from = typeof keep === "number" ? Math.max(0, records - keep) : 0;
  if (typeof keep === "number" && from < records) firstSelected = from;
  const picked = selected === undefined ? (i: number) => i >= from : (i: number) => selected.at(i);
  const engine = header.format === ENGINE_LOG_FORMAT;
  // Each record's run, counted in this log: 0 the run the header starts (none in a log whose first
  // runs were compacted away already), then one more at each restart record.
  const runOf = (i: number) => restarts.filter((at) => at <= i).length;
  const firstRun = firstSelected === -1 ? restarts.length : runOf(firstSelected);
  return {
    header: engine ? headerKeeping(header, firstRun) : header,
    records,
    picked,
    firstRun,
    engine,
    lastSeq: scan.lastSeq,
  };
}

/**
 * The second pass: writes the header and the records the plan keeps to `fd`, framed, in chunks
 * of about a megabyte; then a seq mark when the log's last records go (see
 * {@link compactDecisionLog}).
 */
function writeKept(
  dir: string,
  fd: number,
  plan: CompactionPlan,
  segment: number,
): { kept: number; bytes: number } {
  const encoder = new TextEncoder();
  const chunk: Uint8Array[] = [];
  let chunkBytes = 0;
  let position = 0;
  const flush = () => {
    for (const frame of chunk) {
      let done = 0;
      while (done < frame.length) done += writeSync(fd, frame, done, frame.length - done, position + done);
      position += frame.length;
    }
    chunk.length = 0;
    chunkBytes = 0;
  };
  const write = (payload: string) => {
    const frame = encodeFrame(encoder.encode(payload));
    chunk.push(frame);
    chunkBytes += frame.length;
    if (chunkBytes >= WRITE_CHUNK_BYTES) flush();
  };
  write(JSON.stringify(plan.header));
  // The position of the record visited (the header, written above, is −1).
  let i = -2;
  let run = 0;
  let kept = 0;
  let lastKeptSeq = 0;
  // What the ring records that follow decode against (the run's latest audit.context record):
  // only the kept ones are decoded, most of this pass's cost when few are kept.
  let context: AuditDecodeContext | undefined;
  const undecoded = (entry: LogEntry) => {
    const { record } = entry;
    if (++i >= 0) {
      const restart = record.kind === RESTART_LOG_KIND;
      if (restart) run++;
      if (plan.picked(i) || (plan.engine && restart && run >= plan.firstRun)) {
        // The scan has checked that a ring record decodes against this context.
        const whole =
          record.kind === RING_RECORD_KIND
            ? decodeRingRecord(record as unknown as RawRingRecord, context)!
            : record;
        write(JSON.stringify(whole));
        kept++;
        lastKeptSeq = entry.seq;
      }
    }
    context = auditContextOf(record) ?? context;
  };
  // Strict, as the first pass: the log is the same (the lock is held), and a torn tail is left out.
  scanDecisionLog(dir, true, { undecoded });
  // Dropping the last records would lose their seqs: a seq mark after the kept ones holds the last,
  // so that records appended later follow every seq the log had.
  if (plan.lastSeq > lastKeptSeq) write(segmentHeaderText(plan.lastSeq, segment));
  flush();
  return { kept, bytes: position };
}

/** Frames gathered before a write: few system calls, and a bounded buffer. */
const WRITE_CHUNK_BYTES = 1 << 20;

/**
 * The header of an engine's log compacted from the run counted `firstRun` on: the runs before it
 * go whole, restart records included, and the header (still the log's first, for its format) says
 * how many runs came before the first one left (`runsBefore`), so that readers number the runs
 * left as the log did.
 */
function headerKeeping(header: LogHeader, firstRun: number): LogHeader {
  if (firstRun === 0) return header;
  // The runs before `firstRun` go: those before this log's first, and those counted here.
  const before = runsBeforeOf(header);
  if (Number.isNaN(before))
    throw new LogError(
      `the log's header gives ${RUNS_BEFORE_KEY} ${shownValue(header[RUNS_BEFORE_KEY])}, not a whole number ≥ 0`,
    );
  const runsBefore = before > 0 ? before + firstRun - 1 : firstRun;
  return { ...header, [RUNS_BEFORE_KEY]: runsBefore };
}

/** A list of booleans, a bit each. */
class BitList {
  private bits = new Uint8Array(1024);
  private length = 0;

  push(value: boolean): void {
    if (this.length === this.bits.length * 8) {
      const grown = new Uint8Array(this.bits.length * 2);
      grown.set(this.bits);
      this.bits = grown;
    }
    if (value) this.bits[this.length >> 3]! |= 1 << (this.length & 7);
    this.length++;
  }

  at(i: number): boolean {
    return ((this.bits[i >> 3]! >> (i & 7)) & 1) === 1;
  }
}
