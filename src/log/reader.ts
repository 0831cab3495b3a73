import { existsSync } from "node:fs";
import { access } from "node:fs/promises";
import { LogError } from "./errors.js";
import type { LogEntry, LogHeader } from "./records.js";
import {
  type Corruption,
  isSegmentGone,
  type LogPosition,
  type LogScan,
  scanAppended,
  scanDecisionLog,
  scanDecisionLogAsync,
  scanDecisionLogSteps,
  scanVisitingAsync,
  type TornTail,
} from "./scan.js";

/** Options of {@link readDecisionLog}. */
export interface ReadOptions {
  /** `true` (default): mid-log damage throws a `LogCorruptionError`; `false`: reading stops there. */
  readonly strict?: boolean;
}

/** Everything valid in a decision log, and what was wrong with it. */
export interface DecisionLogContents {
  /** The header record (seq 0), or null when the log holds nothing valid. */
  readonly header: (LogHeader & { readonly seq: number }) | null;
  /** The records after the header, in seq order. */
  readonly records: readonly LogEntry[];
  /** The last valid record (the header when there is no other), or null. */
  readonly lastDurable: LogEntry | null;
  /**
   * The last seq the log gave: `lastDurable`'s, or a larger one when a compaction dropped the log's
   * last records (it keeps their last seq, so that records appended later follow it); −1 for an
   * empty log.
   */
  readonly lastSeq: number;
  /** A torn tail a writer would truncate on open (the reader leaves the files as they are). */
  readonly tornTail: TornTail | null;
  /** Mid-log damage where reading stopped (non-strict only). */
  readonly corruption: Corruption | null;
}

/**
 * Reads the decision log in `dir` without changing it: every segment is verified (lengths, CRCs,
 * seq order); a torn tail is reported, not returned; mid-log damage throws in strict mode and
 * ends the read otherwise.
 *
 * @throws LogError when `dir` does not exist (`no decision log at …`) or it or a segment cannot be
 * read (`cannot read decision log …: …`, with the reason); a `LogCorruptionError` for mid-log
 * damage (strict).
 *
 * @remarks
 * Reads whole segment files into memory, one log at a time; meant for recovery, replay and tools,
 * not for the hot path.
 */
export function readDecisionLog(dir: string, options: ReadOptions = {}): DecisionLogContents {
  if (!existsSync(dir)) throw new LogError(`no decision log at ${dir}`);
  for (let attempt = 1; ; attempt++) {
    try {
      const { end: _, ...contents } = contentsOf(scanDecisionLog(dir, options.strict ?? true));
      return contents;
    } catch (error) {
      // A compaction (a writer's, as it writes) changed the segments under the read: read again.
      if (attempt >= READ_ATTEMPTS || !isSegmentGone(error)) throw error;
    }
  }
}

/** Reads of a whole log, when compactions keep changing its segments under them. */
const READ_ATTEMPTS = 3;

/** What a visiting read gives: the contents but the records, which went to the visitor. */
export type VisitedLogContents = Omit<DecisionLogContents, "records">;

/**
 * {@link readDecisionLog}, handing each record to `visit`, in order and the header first (seq 0),
 * instead of returning them: memory holds a segment or two (one read waits for the collector),
 * however long the log.
 * Throws as {@link readDecisionLog} does; on mid-log damage in strict mode, after `visit` has seen
 * the records before it.
 */
export function visitDecisionLog(
  dir: string,
  visit: (entry: LogEntry) => void,
  options: ReadOptions = {},
): VisitedLogContents {
  if (!existsSync(dir)) throw new LogError(`no decision log at ${dir}`);
  return visitedOf(scanDecisionLog(dir, options.strict ?? true, visit));
}

/**
 * {@link visitDecisionLog}, reading one segment at a time asynchronously and verifying the frames
 * in slices, the event loop turning between them. A compaction that removes the segments while
 * they are read fails the read with a LogError whose cause is ENOENT (`isSegmentGone`): read
 * again with a fresh visitor.
 */
export async function visitDecisionLogAsync(
  dir: string,
  visit: (entry: LogEntry) => void,
  options: ReadOptions = {},
): Promise<VisitedLogContents> {
  await checkExists(dir);
  return visitedOf(await scanVisitingAsync(dir, options.strict ?? true, visit));
}

/**
 * {@link visitDecisionLog} for a reader that turns the records into audit events: ring records
 * come as `DecodedAuditRecord`s, their events as decoded, rather than in their JSON form (which
 * `auditEventOf` would only decode again).
 */
export function visitDecisionLogEvents(
  dir: string,
  visit: (entry: LogEntry) => void,
  options: ReadOptions = {},
): VisitedLogContents {
  if (!existsSync(dir)) throw new LogError(`no decision log at ${dir}`);
  return visitedOf(scanDecisionLog(dir, options.strict ?? true, { events: visit }));
}

/** {@link visitDecisionLogEvents}, read as {@link visitDecisionLogAsync} reads. */
export async function visitDecisionLogEventsAsync(
  dir: string,
  visit: (entry: LogEntry) => void,
  options: ReadOptions = {},
): Promise<VisitedLogContents> {
  await checkExists(dir);
  return visitedOf(await scanVisitingAsync(dir, options.strict ?? true, { events: visit }));
}

/** What a visiting scan found, but the records (which went to the visitor) and where it ended. */
function visitedOf(scan: LogScan): VisitedLogContents {
  const { end: _, records: __, ...contents } = contentsOf(scan);
  return contents;
}

/** A LogError when `dir` does not exist, checked off the event loop's thread. */
async function checkExists(dir: string): Promise<void> {
  try {
    await access(dir);
  } catch {
    throw new LogError(`no decision log at ${dir}`);
  }
}

/** What an asynchronous read gives: the contents, and where they end for a later read of what follows. */
export interface FollowedLogContents extends DecisionLogContents {
  /** After the last valid record, for {@link readDecisionLogAppended}; null for an empty log. */
  readonly end: LogPosition | null;
}

/**
 * {@link readDecisionLog}, reading the files asynchronously (the verification stays on the calling
 * thread); also says where the contents end.
 */
export async function readDecisionLogAsync(
  dir: string,
  options: ReadOptions = {},
): Promise<FollowedLogContents> {
  await checkExists(dir);
  for (let attempt = 1; ; attempt++) {
    try {
      return contentsOf(await scanDecisionLogAsync(dir, options.strict ?? true));
    } catch (error) {
      if (attempt >= READ_ATTEMPTS || !isSegmentGone(error)) throw error;
    }
  }
}

/**
 * The records appended to the log in `dir` since `from` (the `end` of an earlier read), read
 * asynchronously from there on: `header` is the one read before and `records` only the new ones.
 * Null when the log no longer extends what was read (it was compacted, rewritten or shrank): read
 * it again with {@link readDecisionLogAsync}.
 */
export async function readDecisionLogAppended(
  dir: string,
  from: LogPosition,
  options: ReadOptions = {},
): Promise<FollowedLogContents | null> {
  const scan = await scanAppended(dir, options.strict ?? true, from);
  return scan === null ? null : contentsOf(scan);
}

function contentsOf(scan: LogScan): FollowedLogContents {
  return {
    header: scan.header,
    records: scan.records,
    lastDurable: scan.last,
    lastSeq: scan.lastSeq,
    tornTail: scan.tornTail,
    corruption: scan.corruption,
    end: scan.end,
  };
}

/**
 * The records of the log in `dir` after its header, one at a time, read and verified as
 * {@link readDecisionLog} reads them but a segment at a time as the generator is pulled: memory
 * holds a segment or two and the records not yet taken, however long the log. Mid-log damage
 * (strict) throws when the generator reaches it, after the records before it, and so does a
 * compaction that removes the segments while the generator is pulled (a LogError, `isSegmentGone`):
 * what it yields is not a snapshot of the log, as a whole read is.
 */
export function* decisionLogRecords(dir: string, options: ReadOptions = {}): Generator<LogEntry> {
  if (!existsSync(dir)) throw new LogError(`no decision log at ${dir}`);
  const taken: LogEntry[] = [];
  let header = true;
  const steps = scanDecisionLogSteps(dir, options.strict ?? true, (entry) => {
    if (header) header = false;
    else taken.push(entry);
  });
  for (let step = steps.next(); ; step = steps.next()) {
    // A step reads at most one frame, so at most one record waits here.
    for (const entry of taken.splice(0)) yield entry;
    if (step.done === true) return;
  }
}
