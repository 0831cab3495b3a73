import { createAshaPruner } from "./asha-pruner.js";
import type { ResolvedPrunerConfig } from "./config.js";
import { createPercentilePruner } from "./percentile-pruner.js";
import { createThresholdPruner } from "./threshold-pruner.js";

/** The intermediate values one trial reported, in step order (steps strictly increasing). */
export interface TrialReports {
  readonly steps: readonly number[];
  readonly values: readonly number[];
}

/**
 * Decides whether a running trial should stop, from the intermediate values trials reported.
 *
 * @remarks
 * A pruner keeps only indexes derived from the trials' reports and statuses, so the solver rebuilds
 * it after a restore by replaying {@link Pruner.observe} and {@link Pruner.completed}; nothing of it
 * is saved. Decisions are made when a report arrives, against the trials known at that moment, so
 * the same sequence of calls gives the same decisions.
 */
export interface Pruner {
  /** `trial` just reported its last entry: should it stop? (Lower values are better.) */
  report(trial: TrialReports): boolean;
  /** `trial` completed with a value: its curve now counts as a finished one. */
  completed(trial: TrialReports): void;
  /** Restore: `trial`'s reports (any status) as if they had just been made, without a decision. */
  observe(trial: TrialReports): void;
  /**
   * Takes back what {@link Pruner.report} recorded for `trial`'s reports from index `from` on, as
   * if they had never been made (a shared study's append of them did not land). Called before the
   * solver drops them, with `trial` still holding them.
   */
  retract(trial: TrialReports, from: number): void;
}

/**
 * The pruner a resolved config asks for; `sign` is −1 when the objective is maximised (pruners
 * see minimised values, and a threshold is in the objective's own units).
 */
export function createPruner(config: ResolvedPrunerConfig, sign: 1 | -1): Pruner {
  switch (config.kind) {
    case "median":
      return createPercentilePruner({ ...config, percentile: 50 });
    case "percentile":
      return createPercentilePruner(config);
    case "asha":
      return createAshaPruner(config);
    case "threshold":
      return createThresholdPruner(config, sign);
  }
}
