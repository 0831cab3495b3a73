/**
 * Recording a trial's result in a shared study while Redis may be failing: retried with back-off,
 * and said in full when it cannot be.
 */
import { setTimeout as delay } from "node:timers/promises";
import { UsageError } from "../errors.js";
import { JournalError } from "./journal.js";
import type { SharedStudy } from "./shared-study.js";

/** A result to record: a value told, or a failure (`reason`). */
export type StudyResult =
  | { readonly id: number; readonly value: number }
  | { readonly id: number; readonly reason: string; readonly cancelled?: boolean };

/** Options of {@link recordResult}. */
export interface RecordOptions {
  /** How long to keep trying while Redis fails, in ms (0 tries once). */
  readonly retryMs: number;
  /** Called once, at the first failure that will be tried again. */
  readonly onRetry?: (error: unknown) => void;
}

/**
 * Tells or fails `result.id`, trying again with a growing delay (0.1 s doubling up to 5 s) while
 * Redis fails, for up to `retryMs`; then rejects with Redis's last error. A refusal of the study
 * (`UsageError`, `JournalError`) rejects at once. Before each new try the journal is read again:
 * an append whose reply was lost may have been written, and the trial is then no longer pending.
 */
export async function recordResult(
  study: SharedStudy,
  result: StudyResult,
  options: RecordOptions,
): Promise<void> {
  const retryBy = Date.now() + options.retryMs;
  for (let attempt = 0; ; attempt++) {
    try {
      if (attempt > 0) {
        await study.refresh();
        if (!study.pendingTrials().some((t) => t.id === result.id)) return;
      }
      if ("value" in result) await study.tell({ id: result.id, value: result.value });
      else await study.fail(result.id, result.reason, { cancelled: result.cancelled === true });
      return;
    } catch (error) {
      const left = retryBy - Date.now();
      if (!isRedisFailure(error) || left <= 0) throw error;
      if (attempt === 0) options.onRetry?.(error);
      await delay(Math.min(100 * 2 ** Math.min(attempt, 6), 5_000, left));
    }
  }
}

/** Whether `error` is a failure of the call to Redis (the study's own refusals are not). */
export function isRedisFailure(error: unknown): boolean {
  return !(error instanceof UsageError || error instanceof JournalError);
}

/**
 * "could not record trial 3 (value 0.25) in study s: Redis failed for 60 s (cause); …": what a
 * loop says when it gave up recording `results`.
 */
export function unrecordedMessage(
  study: string,
  results: readonly StudyResult[],
  retryMs: number,
  cause: unknown,
): string {
  const one = results.length === 1;
  const trials = results
    .map((r) => `trial ${r.id} (${"value" in r ? `value ${r.value}` : `failed: ${r.reason}`})`)
    .join(", ");
  const why = cause instanceof Error ? cause.message : String(cause);
  return (
    `could not record ${trials} in study ${study}: Redis failed for ${retryMs / 1000} s (${why}); ` +
    `${one ? "the trial stays" : "the trials stay"} pending unless Redis wrote the last attempt: ` +
    `tell ${one ? "it" : "them"} again once Redis is back`
  );
}
