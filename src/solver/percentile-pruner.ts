import { isJudged } from "./judged-steps.js";
import type { Pruner, TrialReports } from "./pruner.js";

/** Settings of {@link createPercentilePruner} (see `PercentilePrunerConfig` for the defaults). */
export interface PercentilePrunerSettings {
  /** From 0 to 100; 50 is the median stopping rule. */
  readonly percentile: number;
  readonly startupTrials: number;
  readonly warmupSteps: number;
  readonly intervalSteps: number;
  readonly minTrials: number;
}

/**
 * The percentile stopping rule, of which the median rule (Golovin et al., "Google Vizier", 2017) is
 * the 50th percentile; Optuna's `PercentilePruner` and `MedianPruner`.
 *
 * @remarks
 * When a trial reports at step s, it is pruned if its best value so far (the lowest it reported at
 * any step ≤ s) is strictly worse than the given percentile of the values that completed trials
 * reported at exactly step s, interpolated linearly between ranks (so the 50th is the median, the
 * mean of the two middle values for an even count). Never before `startupTrials` trials have
 * completed, at a report {@link isJudged} skips, or at a step fewer than `minTrials` completed
 * trials reported. Only completed trials count: a pruned curve stopped because it was bad, and a
 * running one is not over.
 */
export function createPercentilePruner(settings: PercentilePrunerSettings): Pruner {
  /** Values of completed trials, by step. */
  const byStep = new Map<number, number[]>();
  let completedTrials = 0;
  return {
    report(trial: TrialReports): boolean {
      const last = trial.steps.length - 1;
      if (completedTrials < settings.startupTrials || !isJudged(trial.steps, last, settings)) return false;
      const values = byStep.get(trial.steps[last]!);
      if (values === undefined || values.length < settings.minTrials) return false;
      let best = Number.POSITIVE_INFINITY;
      for (const v of trial.values) if (v < best) best = v;
      return best > percentileOf(values, settings.percentile);
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

/**
 * The `p`-th percentile (0–100) of a non-empty list, interpolated linearly between the two ranks
 * around it (NumPy's default). At 50 it is the median to the last bit (the mean of the two middle
 * values for an even count, as the median pruner has always computed it), so that runs and
 * journals the median pruner judged are judged alike.
 */
export function percentileOf(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = ((sorted.length - 1) * p) / 100;
  const below = Math.floor(rank);
  const share = rank - below;
  if (share === 0) return sorted[below]!;
  const [a, b] = [sorted[below]!, sorted[below + 1]!];
  // (a + b) / 2 and a · ½ + b · ½ differ among subnormal values.
  return share === 0.5 ? (a + b) / 2 : a * (1 - share) + b * share;
}
