/**
 * A worker loop over a shared study: ask, evaluate, tell, until the budget is spent.
 */

import { setTimeout as delay } from "node:timers/promises";
import { errorMessage, UsageError } from "../errors.js";
import { shownValue } from "../shown-value.js";
import type { BestPoint, Trial } from "../solver/solver.js";
import { TrialPruned } from "../solver/trial-pruned.js";
import type { ParamShape, Params } from "../space/params.js";
import { unknownOptionKeys, unknownOptionsText } from "../unknown-options.js";
import { failStale } from "./fail-stale.js";
import { JournalError } from "./journal.js";
import {
  askRecovering,
  isRedisFailure,
  recordResult,
  reportRecovering,
  resultText,
  type StudyResult,
  unrecordedMessage,
} from "./record-result.js";
import type { SharedStudy } from "./shared-study.js";
import { StallWatch } from "./stall-watch.js";

/** Options of {@link runSharedStudy}. */
export interface RunSharedStudyOptions {
  /**
   * What a failing evaluation (a throw other than `TrialPruned`, a non-finite value) does: the
   * trial is marked failed in the study either way (no other worker could run it again, and left
   * pending it would hold them all); then `"stop"` (default, as in `minimize` and `arqon solve`)
   * ends this worker's loop at once, with `stopped` true and the error in `failures`, and
   * `"skip"` goes on to the next trial.
   */
  readonly onError?: "stop" | "skip";
  /**
   * Aborting stops the loop after the evaluation in progress (which is told or failed first: tried
   * once, not again after a Redis failure).
   */
  readonly signal?: AbortSignal;
  /**
   * How long to wait before asking again when the study has no trial to hand out until other
   * workers tell their results, in ms (default 20; doubled while it keeps waiting, up to 16×).
   */
  readonly pollMs?: number;
  /**
   * Called after each trial this worker finished, with `value` undefined when it failed or was
   * pruned (must not throw).
   */
  readonly onTrial?: (trial: Trial, value: number | undefined) => void;
  /**
   * Once the budget is spent, how long to wait for other workers' pending trials before reporting
   * the best, in ms (default 60 000; 0 reports at once). Without it, the first worker to finish
   * reports a best that a slower worker's last result may still beat. A worker that died leaves
   * its trial pending: the wait ends after `settleMs` and `pending` says how many were left,
   * unless the worker had a heartbeat (`SharedStudyOptions.heartbeatMs`): its trials are then
   * marked failed during the wait, which ends once none is pending.
   */
  readonly settleMs?: number;
  /**
   * For when a worker may die: before the budget is spent, how long to keep asking while the study
   * can propose nothing until pending trials are told (Nelder–Mead waits for its simplex's last
   * point, the default strategy for its probe's) and nothing in the study moves, in ms; then the
   * loop stops and `stuck` names the trials. A worker that died holding such a trial would
   * otherwise stall every other worker for ever. It cannot tell a dead worker from one still
   * evaluating, so set it well above your longest evaluation. Default `Infinity`: wait as long as
   * it takes; 0 stops at the first ask the study cannot answer. Workers with a heartbeat
   * (`SharedStudyOptions.heartbeatMs`) can tell: the loop marks a dead one's trials failed while it
   * waits, and the study moves on.
   */
  readonly stallMs?: number;
  /**
   * How long to keep trying an ask, or the record of a result (tell or fail), that Redis refused,
   * in ms (default 60 000; 0 tries once). Tried again with a growing delay, so a Redis restart that
   * kept its data loses no value, and an ask Redis wrote before its reply was lost hands its trials
   * to this worker instead of leaving them to nobody.
   */
  readonly retryMs?: number;
}

/** What a {@link runSharedStudy} objective receives besides the parameters and the trial. */
export interface SharedObjectiveContext {
  /**
   * Records an intermediate value of the trial (see `SharedStudy.report`; lower is better, or
   * higher under `direction: "maximize"`) at `step`, a whole number after the previous one, and
   * resolves to whether the study's pruner advises stopping: then `throw new TrialPruned()`. Tried
   * again while Redis fails, as a result is (`retryMs`); one Redis still fails resolves to false
   * (the trial goes on without a verdict, and its result is recorded as usual). A refused report
   * rejects with a `UsageError`; the study's journal gone, with its `JournalError` (the loop then
   * rejects naming the report). Reports are sent one after another, awaited or not.
   */
  report(step: number, value: number): Promise<boolean>;
  /** Whether the pruner has advised stopping the trial (as of its last report). */
  shouldPrune(): boolean;
}

/** What one worker did. */
export interface RunSharedStudyResult {
  /** Ids of the trials this worker evaluated, in order (pruned and failed ones included). */
  readonly evaluated: readonly number[];
  /** Trials whose evaluation threw or returned a non-finite value (told as failed). */
  readonly failed: readonly number[];
  /**
   * Each failed evaluation's trial and error: what the objective threw (wrapped in an `Error`
   * when it was none), or an `Error` saying which non-finite value it returned.
   */
  readonly failures: readonly { readonly trial: Trial; readonly error: Error }[];
  /** True when a failure ended the loop (`onError: "stop"`). */
  readonly stopped: boolean;
  /** Trials the objective stopped by throwing a `TrialPruned` (told as pruned). */
  readonly pruned: readonly number[];
  /**
   * Trials whose result the study refused, another worker having told or failed them first (one
   * that judged this worker dead when its heartbeat stopped for a while, or an operator): the
   * loop went on, and their results are lost. Each is in `evaluated` (and in `failed` or `pruned`
   * when that was the result refused); `onTrial` was not called.
   */
  readonly refused: readonly number[];
  /** The study's best point when this worker stopped. */
  readonly best: BestPoint | null;
  /** Other workers' trials still without a result when this worker stopped (0: `best` is final). */
  readonly pending: number;
  /**
   * Ids of the pending trials this worker gave up waiting for before the budget was spent: the
   * study could propose nothing until they were told, and nothing moved for `stallMs` (did the
   * worker holding them die? tell or fail them from another worker to go on). Empty otherwise.
   */
  readonly stuck: readonly number[];
}

/**
 * Evaluates trials of `study` one at a time until its budget is spent (or `signal` aborts, or the
 * study waits for other workers' trials for longer than a `stallMs` you gave: see `stuck`). Run it
 * in as many processes as you like: they share the budget. A study grown (`growBudget`) while this
 * worker waits for the others' last trials is asked again. A throw or a non-finite value from
 * `objective` marks the trial failed, and ends the loop (`onError: "stop"`, the default) or goes on
 * (`"skip"`); a thrown `TrialPruned` (after
 * `context.report` resolved to true, with a pruner in the config) tells it pruned. A result Redis still refuses after
 * `retryMs` (or when `signal` aborts the wait to try again) rejects the loop with an error naming
 * Redis, the trial and the value (its `cause` is Redis's); so does a result that finds the study's
 * journal gone (its `cause` the `JournalError`), as after a Redis restart that lost its data.
 */
export async function runSharedStudy<P extends ParamShape = string>(
  typedStudy: SharedStudy<P>,
  typedObjective: (
    params: Params<P>,
    trial: Trial<P>,
    context: SharedObjectiveContext,
  ) => number | PromiseLike<number>,
  options: RunSharedStudyOptions = {},
): Promise<RunSharedStudyResult> {
  // `P` types what the objective is handed; the loop itself reads no parameter by name.
  const study = typedStudy as unknown as SharedStudy;
  const objective = typedObjective as unknown as (
    params: Trial["params"],
    trial: Trial,
    context: SharedObjectiveContext,
  ) => number | PromiseLike<number>;
  if (typeof objective !== "function")
    throw new UsageError(`runSharedStudy: the objective must be a function, got ${shownValue(objective)}`);
  const unknown = unknownOptionKeys(options, RUN_OPTION_KEYS);
  if (unknown.length > 0)
    throw new UsageError(`runSharedStudy: ${unknownOptionsText(unknown, RUN_OPTION_KEYS)}`);
  const pollMs = nonNegative("pollMs", options.pollMs, 20);
  const settleMs = nonNegative("settleMs", options.settleMs, 60_000);
  const stallMs = options.stallMs ?? Number.POSITIVE_INFINITY;
  if (!(typeof stallMs === "number" && stallMs >= 0))
    throw new UsageError(
      `stallMs: must be a number ≥ 0, or Infinity never to stop (the default), got ${String(stallMs)}`,
    );
  const retryMs = nonNegative("retryMs", options.retryMs, 60_000);
  const onError = options.onError ?? "stop";
  if (onError !== "stop" && onError !== "skip")
    throw new UsageError(`runSharedStudy: onError must be "stop" or "skip", got ${shownValue(onError)}`);
  const evaluated: number[] = [];
  const failed: number[] = [];
  const failures: { trial: Trial; error: Error }[] = [];
  let stoppedByError = false;
  // A failure ends the loop under "stop", unless the caller's own abort made the objective give up.
  const stopsHere = (failure: Error | undefined) =>
    failure !== undefined && onError === "stop" && options.signal?.aborted !== true;
  const pruned: number[] = [];
  const refused: number[] = [];
  const retrying = { retryMs, ...(options.signal && { signal: options.signal }) };
  const stall = new StallWatch(stallMs);
  let stuck: number[] = [];
  let waits = 0;
  /** The study's budget when an ask found it spent: a larger one later means it grew. */
  let spentAt = Number.POSITIVE_INFINITY;
  for (;;) {
    while (options.signal?.aborted !== true) {
      const trials = await askRecovering(study, retrying);
      if (trials === null) {
        spentAt = study.config.budget;
        break;
      }
      const trial = trials[0];
      if (trial === undefined) {
        // A worker that died holding what the study waits for: its trials are failed, and it moves.
        await failStale(study);
        if (stall.stalled(study)) {
          stuck = study.pendingTrials().map((t) => t.id);
          break;
        }
        await delay(pollMs * 2 ** Math.min(waits++, 4));
        continue;
      }
      stall.reset();
      waits = 0;
      let value: number | undefined;
      // Why the trial failed, in the journal: "CUDA out of memory" is what its owner needs to read.
      let reason: string | undefined;
      let stopped = false;
      /** The trial's last report: the next one, and the trial's result, wait for it, awaited or not. */
      let reporting: Promise<unknown> = Promise.resolve();
      /** The study's journal went away (or cannot be replayed) under a report. */
      let reportFailure: JournalError | undefined;
      const context: SharedObjectiveContext = {
        report: (step, reported) => {
          const report = { id: trial.id, step, value: reported };
          // One after another, in the order made, even when a retry waits.
          const done = reporting.then(() =>
            reportRecovering(study, report, retrying).catch((error: unknown) => {
              if (error instanceof JournalError) reportFailure ??= error;
              if (!isRedisFailure(error)) throw error;
              // Redis failed it for retryMs: the trial goes on without a verdict, and its result is
              // recorded as any other (tried again, as every result is).
              return false;
            }),
          );
          // Its rejection is the objective's to see; unawaited, it must not go unhandled.
          reporting = done.catch(() => undefined);
          return done;
        },
        shouldPrune: () => study.shouldPrune(trial.id),
      };
      let failure: Error | undefined;
      try {
        const returned: unknown = await objective(trial.params, trial, context);
        if (typeof returned === "number" && Number.isFinite(returned)) value = returned;
        else {
          reason = `objective returned ${shownValue(returned)}, not a finite number`;
          failure = new Error(reason);
        }
      } catch (error) {
        if (error instanceof TrialPruned) stopped = true;
        else {
          reason = `objective threw: ${firstLine(errorMessage(error))}`;
          failure =
            error instanceof Error
              ? error
              : new Error(`objective threw ${shownValue(error)}`, { cause: error });
        }
      }
      // A report still on its way would otherwise reach the journal after the result, and be refused.
      await reporting;
      if (reportFailure !== undefined) {
        // The study's journal could not take the trial's report, nor would it take its result: the
        // loop stops naming the report's cause, not as an objective that failed.
        throw new Error(
          `could not record an intermediate value of trial ${trial.id} in study ${study.name}: ${errorMessage(reportFailure)}`,
          { cause: reportFailure },
        );
      }
      evaluated.push(trial.id);
      if (stopped) pruned.push(trial.id);
      else if (failure !== undefined) {
        failed.push(trial.id);
        failures.push({ trial, error: failure });
      }
      const result: StudyResult = stopped
        ? { id: trial.id, pruned: true }
        : value === undefined
          ? { id: trial.id, reason: reason ?? "objective failed" }
          : { id: trial.id, value };
      try {
        await recordResult(study, result, retrying);
      } catch (error) {
        // Settled by another worker meanwhile: the study has its verdict on the trial, and this
        // worker is fine, so it goes on (as `arqon solve` does).
        if (error instanceof UsageError && settledElsewhere(study, trial.id)) {
          refused.push(trial.id);
          if (stopsHere(failure)) {
            stoppedByError = true;
            break;
          }
          continue;
        }
        // The value would be lost with a bare JournalError, or a UsageError (the study closed): say
        // it, as for a Redis failure. A refusal stays a UsageError.
        const lost = `could not record ${resultText(result)}`;
        if (error instanceof UsageError) throw new UsageError(`${lost}: ${error.message}`, { cause: error });
        if (error instanceof JournalError) throw new Error(`${lost}: ${error.message}`, { cause: error });
        if (!isRedisFailure(error)) throw error;
        // Aborted during the evaluation (one try, no wait) or during recordResult's wait.
        const aborted = isAborted(options.signal);
        throw new Error(unrecordedMessage(study.name, [result], retryMs, error, { aborted }), {
          cause: error,
        });
      }
      options.onTrial?.(trial, value);
      if (stopsHere(failure)) {
        stoppedByError = true;
        break;
      }
    }
    await study.refresh();
    // The budget is spent, but others may still be evaluating: their results can beat our best.
    // (A stuck study has been waited for already; a worker a failure stopped reports at once.)
    const settleBy = Date.now() + (stuck.length > 0 || stoppedByError ? 0 : settleMs);
    const grew = () => study.config.budget > spentAt;
    waits = 0;
    while (study.pendingTrials().length > 0 && Date.now() < settleBy && options.signal?.aborted !== true) {
      await delay(Math.min(pollMs * 2 ** Math.min(waits++, 4), Math.max(0, settleBy - Date.now())));
      // Reads the journal, as refresh() would, and fails the trials of workers that stopped beating.
      await study.failStaleTrials();
      if (grew()) break;
    }
    // Another worker grew the study (growBudget) while this one waited: it asks again.
    if (grew() && stuck.length === 0 && !stoppedByError && options.signal?.aborted !== true) continue;
    break;
  }
  return {
    evaluated,
    failed,
    failures,
    stopped: stoppedByError,
    pruned,
    refused,
    best: study.best(),
    pending: study.pendingTrials().length,
    stuck,
  };
}

/** Whether trial `id` is no longer pending in `study` as last read (a closed handle's never is). */
function settledElsewhere(study: SharedStudy, id: number): boolean {
  try {
    return study.trialStatus(id) !== "pending";
  } catch {
    return false;
  }
}

/** Longest failure reason a trial's journal entry keeps: every worker reads every entry. */
const MAX_REASON_CHARS = 500;

/** The first line of `text`, at most {@link MAX_REASON_CHARS} long (an error may carry a whole stderr). */
function firstLine(text: string): string {
  const line = text.split(/\r?\n/, 1)[0] ?? "";
  return line.length > MAX_REASON_CHARS ? `${line.slice(0, MAX_REASON_CHARS - 1)}…` : line;
}

/** The keys of {@link RunSharedStudyOptions}: any other is a misspelling, refused by name. */
const RUN_OPTION_KEYS = [
  "onError",
  "signal",
  "pollMs",
  "onTrial",
  "settleMs",
  "stallMs",
  "retryMs",
] as const satisfies readonly (keyof RunSharedStudyOptions)[];

function nonNegative(name: string, given: number | undefined, fallback: number): number {
  const value = given ?? fallback;
  if (!(Number.isFinite(value) && value >= 0))
    throw new UsageError(`${name}: must be a finite number ≥ 0, got ${value}`);
  return value;
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
