/**
 * Which reports a step-based pruner judges: none before its warm-up, then, with an interval, only
 * the first report in each run of `intervalSteps` steps (Optuna's `interval_steps`).
 */

/** Settings every step-based pruner takes. */
export interface JudgedStepsSettings {
  readonly warmupSteps: number;
  readonly intervalSteps: number;
}

/**
 * Whether the report of `steps` at `last` is judged: its step is past the warm-up, and no earlier
 * report of the trial reached the judging step at or below it (`warmupSteps + k · intervalSteps`),
 * so that a trial reporting sparse steps is still judged once in each interval it enters.
 */
export function isJudged(steps: readonly number[], last: number, settings: JudgedStepsSettings): boolean {
  const step = steps[last]!;
  const { warmupSteps, intervalSteps } = settings;
  if (step < warmupSteps) return false;
  if (intervalSteps === 1) return true;
  const judgingStep = warmupSteps + Math.floor((step - warmupSteps) / intervalSteps) * intervalSteps;
  return last === 0 || steps[last - 1]! < judgingStep;
}
