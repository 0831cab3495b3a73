import type { AuditEvent } from "../audit/events.js";
import { errorMessage } from "../errors.js";
import { checkedKeep, DEFAULT_RECORDING_KEEP, RecordingError } from "./recorded-source.js";
import { RecordedViewFold } from "./recorded-view.js";
import { RecordingTail } from "./recording-tail.js";
import type { DashboardSource, DashboardUnits } from "./source.js";
import { checkSourceOptions } from "./source-options.js";

/** Options of {@link followRecording}. */
export interface FollowRecordingOptions {
  /** How often the recording is checked for new events, ms (default 500; at least 20). */
  readonly intervalMs?: number;
  /** Most events kept for clients that subscribe later (default 20 000; a whole number ≥ 1). */
  readonly keep?: number;
  /** Units for the charts. */
  readonly units?: DashboardUnits;
  /** Title of the view (default: the path). */
  readonly title?: string;
  /**
   * Called when a later read fails (a malformed line appended); following stops, and the view says
   * why in `stopped`. Default: nothing more.
   */
  readonly onError?: (error: RecordingError) => void;
  /**
   * Aborting it stops the first read (of a long recording, done in steps) between two steps:
   * `followRecording` then rejects with the signal's reason. Following itself stops with `close`.
   */
  readonly signal?: AbortSignal;
}

/** The keys of {@link FollowRecordingOptions}: any other is refused by name. */
export const FOLLOW_RECORDING_OPTION_KEYS = [
  "intervalMs",
  "keep",
  "units",
  "title",
  "onError",
  "signal",
] as const satisfies readonly (keyof FollowRecordingOptions)[];

/** A {@link DashboardSource} following a recording; `close` stops the polling. */
export interface FollowedRecording extends DashboardSource {
  /** Events read so far. */
  readonly count: number;
  /** Stops following (waits for a read in progress). Idempotent. */
  close(): Promise<void>;
}

/**
 * Reads the recording at `path` (a JSON-lines audit file, a directory of them, or a decision-log
 * directory) and keeps following it: every `intervalMs` it reads what was appended, folds it into
 * the view and passes each new event to the subscribers. Read-only (no `control`).
 *
 * @remarks
 * Polling with a timer, not a loop: each check is one `stat` per file and a read of the new bytes
 * only (a decision log: the frames after the last one read; see {@link RecordingTail}); the timer
 * is unref'd, so it never keeps the process alive, and the next check is scheduled only after the
 * previous one finished. A line still being written waits for its newline; a line longer than
 * 8 MiB is an error.
 *
 * @throws RecordingError when the path cannot be read, or its first read finds a malformed line
 * (or one longer than 8 MiB); the signal's reason when `signal` is aborted during the first read;
 * RangeError for an `intervalMs` below 20, a `keep` that is not a whole number ≥ 1, or an option
 * it does not take.
 */
export async function followRecording(
  path: string,
  options: FollowRecordingOptions = {},
): Promise<FollowedRecording> {
  checkSourceOptions("followRecording", options, FOLLOW_RECORDING_OPTION_KEYS);
  const intervalMs = options.intervalMs ?? 500;
  if (!Number.isFinite(intervalMs) || intervalMs < 20)
    throw new RangeError(`intervalMs must be a number ≥ 20, got ${intervalMs}`);
  const keep = checkedKeep(options.keep ?? DEFAULT_RECORDING_KEEP);
  const tail = await RecordingTail.open(path);
  const fold = new RecordedViewFold(options.title ?? path, options.units);
  const kept: AuditEvent[] = [];
  const listeners = new Set<(event: AuditEvent) => void>();
  let count = 0;
  const take = (events: readonly AuditEvent[]) => {
    for (const event of events) {
      count++;
      fold.add(event);
      kept.push(event);
      for (const listener of listeners) listener(event);
    }
    if (kept.length > keep + (keep >> 2)) kept.splice(0, kept.length - keep);
  };
  // A long recording is read in bounded steps; only the latest `keep` events stay in memory.
  do {
    options.signal?.throwIfAborted();
    take(await tail.poll());
  } while (tail.behind);

  let closed = false;
  // Why following stopped, shown in the view: a page must not keep looking live on stale data.
  let stopped: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let reading: Promise<void> = Promise.resolve();
  const check = () => {
    timer = undefined;
    reading = tail.poll().then(
      (events) => {
        if (closed) return;
        take(events);
        // Still behind: read the rest at once rather than one step per interval.
        timer = setTimeout(check, tail.behind ? 0 : intervalMs).unref();
      },
      (error: unknown) => {
        if (closed) return;
        const failure =
          error instanceof RecordingError ? error : new RecordingError(`${path}: ${errorMessage(error)}`);
        stopped = failure.message;
        options.onError?.(failure);
      },
    );
  };
  timer = setTimeout(check, intervalMs).unref();

  return {
    get count() {
      return count;
    },
    view: () => (stopped === undefined ? fold.view() : { ...fold.view(), stopped }),
    subscribe(listener) {
      for (const event of kept.slice(-keep)) listener(event);
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      listeners.clear();
      await reading;
    },
  };
}
