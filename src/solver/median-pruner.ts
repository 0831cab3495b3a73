import type { Pruner, TrialReports } from "./pruner.js";

/** Settings of {@link createMedianPruner} (see `MedianPrunerConfig` for the defaults). */
export interface MedianPrunerSettings {
  readonly startupTrials: number;
  readonly warmupSteps: number;
}

/**
 * The median stopping rule (Golovin et al., "Google Vizier", 2017; Optuna's `MedianPruner`).
 *
 * @remarks
 * When a trial reports at step s, it is pruned if its best value so far (the lowest it reported at
 * any step ≤ s) is strictly worse than the median of the values that completed trials reported at
 * exactly step s. Never before `startupTrials` trials have completed, never at a step below
 * `warmupSteps`, and never at a step no completed trial reported. Only completed trials form the
 * median: a pruned curve stopped because it was bad, and a running one is not over.
 */
export function createMedianPruner(settings: MedianPrunerSettings): Pruner {
  /** Values of completed trials, by step. */
  const byStep = new Map<number, number[]>();
  let completedTrials = 0;
  return {
    report(trial: TrialReports): boolean {
      const last = trial.steps.length - 1;
      const step = trial.steps[last]!;
      if (completedTrials < settings.startupTrials || step < settings.warmupSteps) return false;
      const values = byStep.get(step);
      if (values === undefined) return false;
      let best = Number.POSITIVE_INFINITY;
      for (const v of trial.values) if (v < best) best = v;
      return best > median(values);
    },
    completed(trial: TrialReports): void {
      completedTrials++;
      trial.steps.forEach((step, i) => {
        const values = byStep.get(step);
        if (values === undefined) byStep.set(step, [trial.values[i]!]);
        else values.push(trial.values[i]!);
      });
    },
    observe(): void {
      // Only completed curves matter, and `completed` brings those.
    },
    retract(): void {
      // A report records nothing here: only completed curves do.
    },
  };
}

/** The median of a non-empty list (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
