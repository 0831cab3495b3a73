import type { SolverConfig } from "../solver/config.js";
import { explicitSolverConfig } from "../solver/explicit-config.js";
import { jsonKey } from "../space/params.js";

/**
 * What two workers' configs must share to join one study: the config as the solver runs it
 * (every default written in, the inspection sink left out: `explicitSolverConfig`), written as
 * JSON with every object's keys in sorted order, so that `{ seed, budget, bounds }` and
 * `{ bounds, budget, seed }`, or a default written out and left out, are the same study (except
 * `probeRatio`: written out, it is followed exactly, uncapped, which is another probe). The
 * parameters keep their declared order: it sets the coordinates every worker's solver works in,
 * so a different order is another study.
 */
export function studyConfigKey(config: SolverConfig): string {
  const { bounds, ...rest } = explicitSolverConfig(config);
  return jsonKey({ ...rest, parameters: Object.entries(bounds) });
}
