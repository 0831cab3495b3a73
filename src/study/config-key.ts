import { resolveSolverConfig, type SolverConfig } from "../solver/config.js";
import { GLOBAL_LOCAL_DEFAULTS } from "../solver/global-local.js";
import { jsonKey, type ParamInput } from "../space/params.js";

/**
 * What two workers' configs must share to join one study: the config as the solver resolves it
 * (defaults filled in, the inspection sink left out), written as JSON with every object's keys in
 * sorted order, so that `{ seed, budget, bounds }` and `{ bounds, budget, seed }`, or a default
 * written out and left out, are the same study (except `probeRatio`: written out, it is followed
 * exactly, uncapped, which is another probe). The parameters keep their declared order: it sets
 * the coordinates every worker's solver works in, so a different order is another study.
 */
export function studyConfigKey(config: SolverConfig): string {
  const { inspect: _inspect, bounds, autoOptions, ...rest } = resolveSolverConfig(config);
  const parameters = Object.entries(bounds).map(([name, spec]) => [name, withDefaults(spec)]);
  return jsonKey({ ...rest, autoOptions: { ...GLOBAL_LOCAL_DEFAULTS, ...autoOptions }, parameters });
}

/** A parameter with the defaults its kind leaves out written in. */
function withDefaults(spec: ParamInput): ParamInput {
  if (spec.type === "categorical") return spec;
  if (spec.type === "int") return { step: 1, scale: "linear", ...spec };
  return { type: "float", scale: "linear", ...spec };
}
