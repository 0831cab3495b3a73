import type { Pruner, TrialReports } from "./pruner.js";

/** Settings of {@link createAshaPruner} (see `AshaPrunerConfig` for the defaults). */
export interface AshaPrunerSettings {
  readonly minResource: number;
  readonly reductionFactor: number;
  readonly minEarlyStoppingRate: number;
}

/**
 * Asynchronous successive halving (Li et al., "A System for Massively Parallel Hyperparameter
 * Tuning", MLSys 2020), as Optuna's `SuccessiveHalvingPruner` runs it.
 *
 * @remarks
 * Rung k sits at step r_k = minResource · η^(minEarlyStoppingRate + k). A trial reaches rung k with
 * its first report at a step ≥ r_k, and its value there is that report's value; the rung keeps the
 * values of every trial that reached it, whatever became of the trial since. A report that reaches
 * one or more new rungs is judged at each, lowest first: with n values at the rung (its own
 * included), the trial goes on if its value is among the ⌊n/η⌋ best (ties pass); while n < η, only
 * if it is the best so far, since nothing can wait to be promoted later. Asynchronous: nobody
 * waits for a rung to fill, so early trials are judged against few others.
 */
export function createAshaPruner(settings: AshaPrunerSettings): Pruner {
  const eta = settings.reductionFactor;
  /** Values at each rung, kept sorted. */
  const rungs: number[][] = [];

  const rungStep = (k: number): number => settings.minResource * eta ** (settings.minEarlyStoppingRate + k);

  /** Rungs k whose step lies in (from, to], lowest first. */
  const rungsBetween = (from: number, to: number): number[] => {
    const reached: number[] = [];
    for (let k = 0; rungStep(k) <= to; k++) if (rungStep(k) > from) reached.push(k);
    return reached;
  };

  const enter = (k: number, value: number): void => {
    while (rungs.length <= k) rungs.push([]);
    const values = rungs[k]!;
    let p = values.length;
    values.push(value);
    while (p > 0 && values[p - 1]! > value) {
      values[p] = values[p - 1]!;
      p--;
    }
    values[p] = value;
  };

  /** Removes one of the values equal to `value` from rung k (the one `enter` put there). */
  const leave = (k: number, value: number): void => {
    const values = rungs[k];
    const at = values?.lastIndexOf(value) ?? -1;
    // A value never entered: removing another would change every later verdict at this rung.
    if (at < 0) throw new Error(`ASHA retract: rung ${k} holds no ${value}`);
    values!.splice(at, 1);
  };

  /** Rungs the report at `index` entered: those after the trial's previous step, up to its own. */
  const rungsOf = (trial: TrialReports, index: number): number[] =>
    rungsBetween(index > 0 ? trial.steps[index - 1]! : Number.NEGATIVE_INFINITY, trial.steps[index]!);

  const promotable = (k: number, value: number): boolean => {
    const values = rungs[k]!;
    const promoted = Math.max(1, Math.floor(values.length / eta));
    return value <= values[promoted - 1]!;
  };

  return {
    report(trial: TrialReports): boolean {
      const last = trial.steps.length - 1;
      const value = trial.values[last]!;
      let prune = false;
      for (const k of rungsOf(trial, last)) {
        enter(k, value);
        if (!prune && !promotable(k, value)) prune = true;
      }
      return prune;
    },
    completed(): void {
      // A completed trial already sits in every rung it reached.
    },
    observe(trial: TrialReports): void {
      for (let i = 0; i < trial.steps.length; i++)
        for (const k of rungsOf(trial, i)) enter(k, trial.values[i]!);
    },
    retract(trial: TrialReports, from: number): void {
      for (let i = trial.steps.length - 1; i >= from; i--)
        for (const k of rungsOf(trial, i)) leave(k, trial.values[i]!);
    },
  };
}
