import { closeSync, existsSync, fdatasyncSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { AuditDecodeContext } from "../audit/events.js";
import { awaited, runAtOnce, runInSlices, type Steps } from "../runtime/event-loop-slices.js";
import { shownValue } from "../shown-value.js";
import { asLogError, LogCorruptionError, LogError } from "./errors.js";
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
import { type LogScan, type RecordUse, scanSegmentsSteps } from "./scan.js";
import {
  datasyncAsync,
  fsyncDirectoryAsync,
  nodeSegmentIo,
  openAsync,
  writeAll,
  writeAllSync,
} from "./segment-io.js";
import { fsyncDirectory, listSegments, type SegmentFile, segmentName } from "./segments.js";

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
  const existing = listSegments(dir);
  const job: CompactionJob = {
    dir,
    segments: existing,
    keep,
    // Above every existing segment: the log then starts there, and the old segments are superseded.
    target: existing[existing.length - 1]!.number + 1,
    files: SYNC_FILES,
    afterStep: options.afterStep,
  };
  // Nothing stops it and something is always written: a compaction asked for is done.
  return runAtOnce(compactionSteps(job))!;
}

/**
 * @internal A writer's compaction of its full segments while it writes (its `keepRecords`):
 * `segments` are the segments below the one it writes, all of whose bytes are durable, and they
 * are rewritten down to their last `keep` records, the restart records of the runs left, and a
 * seq mark, into a segment that replaces the last of them (the log then starts there; the one
 * being written follows it unchanged). Reads and writes on the thread pool and verifies in slices,
 * so the event loop keeps turning; memory stays within a few segments. The caller holds the
 * directory's lock throughout.
 *
 * Null when there is nothing to drop (the segments hold `keep` records or fewer), or when
 * `stopped()` turned true before the new segment took the old one's place (the temporary file is
 * removed then). Crash-safe as {@link compactDecisionLog}: the new segment is written to a
 * temporary file, made durable, then renamed over the last full segment, whose old content is
 * superseded with the segments before it in the same rename; those are removed afterwards (or by
 * the next writer that opens the log).
 */
export function compactFullSegments(
  dir: string,
  segments: readonly SegmentFile[],
  keep: number,
  stopped: () => boolean,
  afterStep?: (step: CompactStep) => void | Promise<void>,
): Promise<CompactResult | null> {
  const job: CompactionJob = {
    dir,
    segments,
    keep,
    target: segments[segments.length - 1]!.number,
    files: ASYNC_FILES,
    afterStep,
    stopped,
  };
  return runInSlices(compactionSteps(job));
}

/** A compaction to run, at once or in slices. */
interface CompactionJob {
  readonly dir: string;
  /** The segments to compact, in order: the whole log (with any superseded ones), or a writer's full segments. */
  readonly segments: readonly SegmentFile[];
  readonly keep: number | ((entry: LogEntry) => boolean);
  /** Number of the segment written: it holds the compacted log, which starts there. */
  readonly target: number;
  readonly files: CompactionFiles;
  readonly afterStep: ((step: CompactStep) => void | Promise<void>) | undefined;
  /** A writer's compaction only: stop before the new segment replaces the old ones. */
  readonly stopped?: () => boolean;
}

/**
 * The steps of a compaction: what to keep (a first pass), the kept records into a temporary file
 * made durable, the rename that makes it the log's start, then the old segments removed.
 */
function* compactionSteps(job: CompactionJob): Steps<CompactResult | null> {
  const { dir, files } = job;
  const live = job.stopped !== undefined;
  // Two passes over the log, each holding one segment at a time: the first finds what to keep
  // (the header written first depends on it), the second writes it.
  let plan: CompactionPlan;
  try {
    plan = yield* stoppable(planSteps(job), job.stopped);
  } catch (error) {
    if (error instanceof CompactionStopped) return null;
    throw error;
  }
  if (live && plan.records <= (job.keep as number)) return null;
  let bytesBefore = 0;
  for (const segment of job.segments) bytesBefore += yield* awaited(files.size(segment.path));
  const target = join(dir, segmentName(job.target));
  const tmp = `${target}.tmp`;
  const step = function* (name: CompactStep): Steps<void> {
    if (job.afterStep !== undefined) yield* awaited(job.afterStep(name));
  };
  let written: { kept: number; bytes: number };
  try {
    const fd = yield* awaited(files.create(tmp));
    try {
      written = yield* stoppable(writeKeptSteps(job, plan, fd), job.stopped);
      yield* step("tmp-written");
      yield* awaited(files.datasync(fd));
      yield* step("tmp-synced");
    } finally {
      yield* awaited(files.close(fd));
    }
    if (job.stopped?.() === true) {
      yield* awaited(files.remove(tmp));
      return null;
    }
    yield* awaited(files.rename(tmp, target));
    yield* step("renamed");
    yield* awaited(files.syncDirectory(dir));
    yield* step("dir-synced");
  } catch (error) {
    // Before the rename took effect the old log is intact; drop the temporary file.
    yield* awaited(files.remove(tmp));
    if (error instanceof CompactionStopped) return null;
    throw asLogError(error, `compaction of ${dir} failed`);
  }
  // The segment renamed over (a writer's last full one) is the new log's; every other is superseded.
  for (const old of job.segments) if (old.number !== job.target) yield* awaited(files.remove(old.path));
  yield* awaited(files.syncDirectory(dir));
  yield* step("old-removed");
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
function* planSteps(job: CompactionJob): Steps<CompactionPlan> {
  const { dir, keep } = job;
  const selected = typeof keep === "function" ? new BitList() : undefined;
  // Positions of the restart records (a handful: one per run).
  const restarts: number[] = [];
  let header: LogHeader | undefined;
  let records = 0;
  let firstSelected = -1;
  // Positions of the audit.context records (one per run): what the ring records after each decode against.
  const contexts: number[] = [];
  const visit = (entry: LogEntry) => {
    if (header === undefined) {
      header = entry.record as unknown as LogHeader;
      return;
    }
    if (entry.record.kind === RESTART_LOG_KIND) restarts.push(records);
    if (auditContextOf(entry.record) !== undefined) contexts.push(records);
    if (selected !== undefined) {
      const picked = (keep as (entry: LogEntry) => boolean)(entry);
      selected.push(picked);
      if (picked && firstSelected < 0) firstSelected = records;
    }
    records++;
  };
  // A count needs no record decoded (restart records are no audit records); `keep` sees them whole.
  const scan = yield* scanOf(job, selected === undefined ? { undecoded: visit } : visit);
  if (header === undefined) throw new LogError(`${dir} holds no decision log to compact`);
  const from = typeof keep === "number" ? Math.max(0, records - keep) : 0;
  if (typeof keep === "number" && from < records) firstSelected = from;
  // A writer's compaction copies the ring records it keeps as they are, and leaves the segment
  // being written unchanged: they decode against the last audit.context record before them, kept
  // wherever it is, unless a run starts after it (a run writes its own before its first ring record).
  const contextBefore = contexts.findLast((at) => at < from) ?? -1;
  const runStartsAfter = restarts.some((at) => at > contextBefore && at <= from);
  const context = job.stopped !== undefined && contextBefore >= 0 && !runStartsAfter ? contextBefore : -1;
  if (context >= 0) firstSelected = context;
  const picked =
    selected === undefined ? (i: number) => i >= from || i === context : (i: number) => selected.at(i);
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
 * The job's segments, verified (strict) and handed to `use`. A writer's full segments were all
 * written whole: a bad frame at their end is damage there, not a write still under way.
 */
function* scanOf(job: CompactionJob, use: RecordUse): Steps<LogScan> {
  const scan = yield* scanSegmentsSteps(job.dir, job.segments, true, use, job.files.async);
  if (job.stopped !== undefined && scan.tornTail !== null)
    throw new LogCorruptionError(
      scan.tornTail.segment,
      scan.tornTail.truncatedAt,
      "bad frame (length or CRC)",
    );
  return scan;
}

/**
 * The second pass: writes the header and the records the plan keeps to `fd`, framed, in chunks
 * of about a megabyte; then a seq mark when the log's last records go (see
 * {@link compactDecisionLog}).
 */
function* writeKeptSteps(
  job: CompactionJob,
  plan: CompactionPlan,
  fd: number,
): Steps<{ kept: number; bytes: number }> {
  const encoder = new TextEncoder();
  const chunk: Uint8Array[] = [];
  let chunkBytes = 0;
  let position = 0;
  const flush = function* (): Steps<void> {
    if (chunkBytes === 0) return;
    const bytes = chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk, chunkBytes);
    chunk.length = 0;
    chunkBytes = 0;
    yield* awaited(job.files.write(fd, bytes, position));
    position += bytes.length;
  };
  const writeFrame = (frame: Uint8Array) => {
    chunk.push(frame);
    chunkBytes += frame.length;
  };
  const write = (payload: string) => writeFrame(encodeFrame(encoder.encode(payload)));
  write(JSON.stringify(plan.header));
  // The position of the record visited (the header, written above, is −1).
  let i = -2;
  let run = 0;
  let kept = 0;
  let lastKeptSeq = 0;
  // What the ring records that follow decode against (the run's latest audit.context record):
  // only the kept ones are decoded, most of this pass's cost when few are kept.
  let context: AuditDecodeContext | undefined;
  const visit = (entry: LogEntry, frame?: Uint8Array) => {
    const { record } = entry;
    if (++i >= 0) {
      const restart = record.kind === RESTART_LOG_KIND;
      if (restart) run++;
      if (plan.picked(i) || (plan.engine && restart && run >= plan.firstRun)) {
        if (frame !== undefined) {
          // A view of the segment read (never written to): copied once, when the chunk is written.
          writeFrame(frame);
        } else {
          // The scan has checked that a ring record decodes against this context.
          const whole =
            record.kind === RING_RECORD_KIND
              ? decodeRingRecord(record as unknown as RawRingRecord, context)!
              : record;
          write(JSON.stringify(whole));
        }
        kept++;
        lastKeptSeq = entry.seq;
      }
    }
    context = auditContextOf(record) ?? context;
  };
  // A writer's compaction copies the frames it keeps as they are: a ring record stays a ring record
  // (a third of its JSON form), and nothing is decoded or encoded while the event loop waits. A
  // compaction the caller asked for writes records as JSON, decoded, which any reader takes.
  const use: RecordUse =
    job.stopped !== undefined ? { frames: visit } : { undecoded: (entry) => visit(entry) };
  // Strict, as the first pass: the log is the same (the lock is held), and a torn tail is left out.
  yield* withWrites(scanOf(job, use), function* () {
    if (chunkBytes >= WRITE_CHUNK_BYTES) yield* flush();
  });
  // Dropping the last records would lose their seqs: a seq mark after the kept ones holds the last,
  // so that records appended later follow every seq the log had.
  if (plan.lastSeq > lastKeptSeq) write(segmentHeaderText(plan.lastSeq, job.target));
  yield* flush();
  return { kept, bytes: position };
}

/** Thrown into a writer's compaction that its writer closed: it ends there, changing nothing. */
class CompactionStopped extends Error {}

/**
 * `steps`, ended with a {@link CompactionStopped} at the first plain step after `stopped()` turned
 * true (its own cleanup runs): a writer closed meanwhile need not wait for a whole pass over the
 * log. Unchanged without `stopped` (a compaction the caller asked for).
 */
function* stoppable<T>(steps: Steps<T>, stopped: (() => boolean) | undefined): Steps<T> {
  if (stopped === undefined) return yield* steps;
  return yield* withWrites(steps, () => {
    if (stopped()) throw new CompactionStopped();
  });
}

/**
 * `steps`, with `between` run after each of its plain steps (not while it waits for a read: a
 * read that failed meanwhile would go unhandled): the kept records are written as they gather.
 */
function* withWrites<T>(steps: Steps<T>, between: () => Steps<void> | void): Steps<T> {
  try {
    let step = steps.next();
    for (;;) {
      if (step.done === true) return step.value;
      if (step.value === undefined) {
        const more = between();
        if (more !== undefined) yield* more;
      }
      let sent: unknown;
      try {
        sent = yield step.value;
      } catch (error) {
        step = steps.throw(error);
        continue;
      }
      step = steps.next(sent);
    }
  } finally {
    // Abandoned (a write failed): the scan's own cleanup runs.
    steps.return(undefined as T);
  }
}

/** Frames gathered before a write: few system calls, and a bounded buffer. */
const WRITE_CHUNK_BYTES = 1 << 20;

/**
 * The file operations of a compaction: run at once (`compactDecisionLog`, a cold path that holds
 * its caller) or on the thread pool (a writer's, which must not block the event loop).
 */
interface CompactionFiles {
  /** Whether the operations return promises (and segments are read asynchronously). */
  readonly async: boolean;
  size(path: string): number | Promise<number>;
  /** Creates (or empties) `path` for writing; its descriptor. */
  create(path: string): number | Promise<number>;
  write(fd: number, bytes: Uint8Array, position: number): void | Promise<void>;
  datasync(fd: number): void | Promise<void>;
  close(fd: number): void | Promise<void>;
  rename(from: string, to: string): void | Promise<void>;
  syncDirectory(dir: string): void | Promise<void>;
  /** Removes `path` if it is there. */
  remove(path: string): void | Promise<void>;
}

const SYNC_FILES: CompactionFiles = {
  async: false,
  size: (path) => statSync(path).size,
  create: (path) => openSync(path, "w"),
  write: (fd, bytes, position) => writeAllSync(nodeSegmentIo, fd, bytes, position),
  datasync: (fd) => fdatasyncSync(fd),
  close: (fd) => closeSync(fd),
  rename: (from, to) => renameSync(from, to),
  syncDirectory: (dir) => fsyncDirectory(dir),
  remove: (path) => rmSync(path, { force: true }),
};

const ASYNC_FILES: CompactionFiles = {
  async: true,
  size: async (path) => (await stat(path)).size,
  create: (path) => openAsync(nodeSegmentIo, path, "w"),
  write: (fd, bytes, position) => writeAll(nodeSegmentIo, fd, bytes, position),
  datasync: (fd) => datasyncAsync(nodeSegmentIo, fd),
  close: (fd) =>
    new Promise<void>((resolve, reject) =>
      nodeSegmentIo.close(fd, (error) => (error === null ? resolve() : reject(error))),
    ),
  rename: (from, to) => rename(from, to),
  syncDirectory: (dir) => fsyncDirectoryAsync(nodeSegmentIo, dir),
  remove: (path) => rm(path, { force: true }),
};

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
