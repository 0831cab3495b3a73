/**
 * Recording a trial's result in a shared study while Redis may be failing: retried with back-off,
 * and said in full when it cannot be.
 */
import { setTimeout as delay } from "node:timers/promises";
import { UsageError } from "../errors.js";
import type { Trial } from "../solver/solver.js";
import { JournalError } from "./journal.js";
import { settledByLostAppend } from "./lost-appends.js";
import { reportSteps, type StepReports, type StepsOutcome } from "./report-steps.js";
import type { SharedStudy } from "./shared-study.js";

/** A result to record: a value told, a trial stopped on the pruner's advice, or a failure (`reason`). */
export type StudyResult =
  | { readonly id: number; readonly value: number }
  | { readonly id: number; readonly pruned: true }
  | { readonly id: number; readonly reason: string; readonly cancelled?: boolean };

/** Options of {@link recordResult}. */
export interface RecordOptions {
  /** How long to keep trying while Redis fails, in ms (0 tries once). */
  readonly retryMs: number;
  /** Called once, at the first failure that will be tried again. */
  readonly onRetry?: (error: unknown) => void;
  /**
   * Aborting ends the wait to try again: the call then rejects with Redis's last error. The first
   * try is made even when the signal has already aborted.
   */
  readonly signal?: AbortSignal;
}

/**
 * Tells or fails `result.id`, trying again with a growing delay (0.1 s doubling up to 5 s) while
 * Redis fails, for up to `retryMs` or until `signal` aborts; then rejects with Redis's last error.
 * A refusal of the study (`UsageError`, `JournalError`) rejects at once. Before each new try the
 * journal is read again: an append whose reply was lost may have been written, and the trial is
 * then no longer pending. A trial another worker told or failed in between is refused as any told
 * trial is (`UsageError`): this result was never recorded.
 */
export async function recordResult(
  study: SharedStudy,
  result: StudyResult,
  options: RecordOptions,
): Promise<void> {
  await whileRedisFails(options, async (attempt) => {
    if (attempt > 0) {
      await study.refresh();
      const pending = study.pendingTrials().some((t) => t.id === result.id);
      if (!pending && settledByLostAppend(study, result.id)) return;
    }
    if ("value" in result) await study.tell({ id: result.id, value: result.value });
    else if ("pruned" in result) await study.tell({ id: result.id, pruned: true });
    else await study.fail(result.id, result.reason, { cancelled: result.cancelled === true });
  });
}

/**
 * `study.ask({ max })`, tried again as {@link recordResult} tries a result: an ask whose reply was
 * lost but which Redis wrote is handed out by the next one, so giving up would leave its trials
 * reserved to a worker that never evaluates them.
 */
export function askRecovering(
  study: SharedStudy,
  options: RecordOptions,
  max?: number,
): Promise<Trial[] | null> {
  return whileRedisFails(options, () => study.ask(max === undefined ? {} : { max }));
}

/**
 * `study.report(...)`, tried again as {@link recordResult} tries a result. A report whose reply was
 * lost but which Redis wrote is answered by the next try without being recorded twice.
 */
export function reportRecovering(
  study: SharedStudy,
  report: { readonly id: number; readonly step: number; readonly value: number },
  options: RecordOptions,
): Promise<boolean> {
  return whileRedisFails(options, () => study.report(report.id, report.step, report.value));
}

/**
 * {@link reportSteps}, tried again as {@link recordResult} tries a result: a try whose reply was
 * lost but which Redis wrote is taken as recorded by the next one, which appends only the rest.
 */
export function reportStepsRecovering(
  study: SharedStudy,
  id: number,
  reports: StepReports,
  options: RecordOptions,
): Promise<StepsOutcome> {
  return whileRedisFails(options, () => reportSteps(study, id, reports));
}

/**
 * Runs `operation` (given the attempt number), again after a growing delay while Redis fails, as
 * {@link recordResult} does: for reads that only look (a refresh, judging stale trials).
 */
export async function whileRedisFails<T>(
  options: RecordOptions,
  operation: (attempt: number) => Promise<T>,
): Promise<T> {
  const retryBy = Date.now() + options.retryMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const left = retryBy - Date.now();
      if (!isRedisFailure(error) || left <= 0 || options.signal?.aborted === true) throw error;
      if (attempt === 0) options.onRetry?.(error);
      const wait = Math.min(100 * 2 ** Math.min(attempt, 6), 5_000, left);
      const aborted = await delay(wait, false, { signal: options.signal }).catch(() => true);
      if (aborted) throw error;
    }
  }
}

/**
 * Whether `error` is a failure of the call to Redis, worth trying again: not the study's own
 * refusals, and not a defect of the program (a TypeError, RangeError or ReferenceError says the
 * same thing on every try).
 */
export function isRedisFailure(error: unknown): boolean {
  if (error instanceof UsageError || error instanceof JournalError) return false;
  return !(error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError);
}

/**
 * "could not record trial 3 (value 0.25) in study s: Redis failed for 60 s (cause); …": what a
 * loop says when it gave up recording `results`; with `aborted`, that the signal aborted before
 * it was tried again (during the evaluation or the wait) instead.
 */
export function unrecordedMessage(
  study: string,
  results: readonly StudyResult[],
  retryMs: number,
  cause: unknown,
  options?: { readonly aborted?: boolean },
): string {
  const one = results.length === 1;
  const why = cause instanceof Error ? cause.message : String(cause);
  const failed =
    options?.aborted === true
      ? `Redis failed (${why}) and the signal aborted before it was tried again`
      : `Redis failed for ${retryMs / 1000} s (${why})`;
  return (
    `could not record ${resultText(...results)} in study ${study}: ${failed}; ` +
    `${one ? "the trial stays" : "the trials stay"} pending unless Redis wrote the last attempt: ` +
    `tell ${one ? "it" : "them"} again once Redis is back`
  );
}

/** "trial 3 (value 0.25), trial 4 (failed: reason)": the results, as a message names them. */
export function resultText(...results: readonly StudyResult[]): string {
  return results
    .map(
      (r) =>
        `trial ${r.id} (${"value" in r ? `value ${r.value}` : "pruned" in r ? "pruned" : `failed: ${r.reason}`})`,
    )
    .join(", ");
}
