import type { Trial } from "../solver/solver.js";
import type { ParamValue } from "../space/params.js";

/** A trial as the CLI prints it: exactly `id` and `params`. */
export function plainTrial(trial: Trial): { id: number; params: Record<string, ParamValue> } {
  return { id: trial.id, params: { ...trial.params } };
}
