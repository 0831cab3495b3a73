/**
 * A worker loop over a shared study: ask, evaluate, tell, until the budget is spent.
 */

import { setTimeout as delay } from "node:timers/promises";
import type { BestPoint, Trial } from "../solver/solver.js";
import type { ParamValue } from "../space/params.js";
import type { SharedStudy } from "./shared-study.js";

/** Options of {@link runSharedStudy}. */
export interface RunSharedStudyOptions {
  /** Aborting stops the loop after the evaluation in progress (which is told or failed first). */
  readonly signal?: AbortSignal;
  /**
   * How long to wait before asking again when the study has no trial to hand out until other
   * workers tell their results, in ms (default 20; doubled while it keeps waiting, up to 16×).
   */
  readonly pollMs?: number;
  /** Called after each trial this worker finished (must not throw). */
  readonly onTrial?: (trial: Trial, value: number | undefined) => void;
  /**
   * Once the budget is spent, how long to wait for other workers' pending trials before reporting
   * the best, in ms (default 60 000; 0 reports at once). Without it, the first worker to finish
   * reports a best that a slower worker's last result may still beat. A worker that died leaves
   * its trial pending: the wait ends after `settleMs` and `pending` says how many were left.
   */
  readonly settleMs?: number;
}

/** What one worker did. */
export interface RunSharedStudyResult {
  /** Ids of the trials this worker evaluated, in order. */
  readonly evaluated: readonly number[];
  /** Trials whose evaluation threw or returned a non-finite value (told as failed). */
  readonly failed: readonly number[];
  /** The study's best point when this worker stopped. */
  readonly best: BestPoint | null;
  /** Other workers' trials still without a result when this worker stopped (0: `best` is final). */
  readonly pending: number;
}

/**
 * Evaluates trials of `study` one at a time until its budget is spent (or `signal` aborts). Run it
 * in as many processes as you like: they share the budget. A throw or a non-finite value from
 * `objective` marks the trial failed and the loop goes on.
 */
export async function runSharedStudy(
  study: SharedStudy,
  objective: (params: Record<string, ParamValue>, trial: Trial) => number | PromiseLike<number>,
  options: RunSharedStudyOptions = {},
): Promise<RunSharedStudyResult> {
  const pollMs = options.pollMs ?? 20;
  if (!(Number.isFinite(pollMs) && pollMs >= 0))
    throw new RangeError(`pollMs: must be a finite number ≥ 0, got ${pollMs}`);
  const settleMs = options.settleMs ?? 60_000;
  if (!(Number.isFinite(settleMs) && settleMs >= 0))
    throw new RangeError(`settleMs: must be a finite number ≥ 0, got ${settleMs}`);
  const evaluated: number[] = [];
  const failed: number[] = [];
  let waits = 0;
  while (options.signal?.aborted !== true) {
    const trials = await study.ask();
    if (trials === null) break;
    const trial = trials[0];
    if (trial === undefined) {
      await delay(pollMs * 2 ** Math.min(waits++, 4));
      continue;
    }
    waits = 0;
    let value: number | undefined;
    try {
      value = await objective(trial.params, trial);
    } catch {
      value = undefined;
    }
    evaluated.push(trial.id);
    if (value !== undefined && Number.isFinite(value)) await study.tell({ id: trial.id, value });
    else {
      failed.push(trial.id);
      value = undefined;
      await study.fail(trial.id, "objective threw or returned a non-finite value");
    }
    options.onTrial?.(trial, value);
  }
  await study.refresh();
  // The budget is spent, but others may still be evaluating: their results can beat our best.
  const settleBy = Date.now() + settleMs;
  waits = 0;
  while (study.pendingTrials().length > 0 && Date.now() < settleBy && options.signal?.aborted !== true) {
    await delay(Math.min(pollMs * 2 ** Math.min(waits++, 4), Math.max(0, settleBy - Date.now())));
    await study.refresh();
  }
  return { evaluated, failed, best: study.best(), pending: study.pendingTrials().length };
}
