import { isJudged } from "./judged-steps.js";
import type { Pruner, TrialReports } from "./pruner.js";

/** Settings of {@link createThresholdPruner} (see `ThresholdPrunerConfig` for the defaults). */
export interface ThresholdPrunerSettings {
  /** Values below it prune; absent: none does. */
  readonly lower?: number;
  /** Values above it prune; absent: none does. */
  readonly upper?: number;
  readonly warmupSteps: number;
  readonly intervalSteps: number;
}

/**
 * Stops a trial whose latest intermediate value leaves a fixed range (Optuna's `ThresholdPruner`):
 * a loss that diverged, an accuracy still at chance. It needs no other trial, so it judges from
 * the first one. The bounds are in the objective's own units: `sign` turns the minimised values
 * the solver passes back into them (−1 under `direction: "maximize"`).
 */
export function createThresholdPruner(settings: ThresholdPrunerSettings, sign: 1 | -1): Pruner {
  const lower = settings.lower ?? Number.NEGATIVE_INFINITY;
  const upper = settings.upper ?? Number.POSITIVE_INFINITY;
  return {
    report(trial: TrialReports): boolean {
      const last = trial.steps.length - 1;
      if (!isJudged(trial.steps, last, settings)) return false;
      const value = sign * trial.values[last]!;
      return value < lower || value > upper;
    },
    completed(): void {
      // Each verdict reads only the trial's own value.
    },
    observe(): void {
      // Nothing to rebuild.
    },
    retract(): void {
      // Nothing was recorded.
    },
  };
}
