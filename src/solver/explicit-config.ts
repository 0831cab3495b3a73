import type { ParamInput } from "../space/params.js";
import {
  type ConfigOrigin,
  type ResolvedSolverConfig,
  resolveSolverConfig,
  type SolverConfig,
} from "./config.js";
import { GLOBAL_LOCAL_DEFAULTS, type ResolvedGlobalLocalOptions } from "./global-local.js";

/** A solver config with every default written in (see {@link explicitSolverConfig}). */
export interface ExplicitSolverConfig extends Omit<ResolvedSolverConfig, "inspect" | "autoOptions"> {
  readonly autoOptions: ResolvedGlobalLocalOptions;
}

/**
 * `config` as the solver runs it, every default written in: the top-level ones
 * (`resolveSolverConfig`), each parameter's (a float's type and scale, an int's step and scale)
 * and every option of the default strategy. The inspection sink is left out: it is no part of the
 * run. Two configs that differ only in defaults written out or left out give equal results, which
 * is how a saved run or a shared study recognises the config it was started with. `origin` says
 * whether `config` is new or was read back from a run (`ConfigOrigin`).
 *
 * @throws ConfigError for an invalid config.
 */
export function explicitSolverConfig(
  config: SolverConfig,
  origin: ConfigOrigin = "new",
): ExplicitSolverConfig {
  const { inspect: _inspect, bounds, autoOptions, ...rest } = resolveSolverConfig(config, origin);
  const explicit: Record<string, ParamInput> = {};
  for (const [name, spec] of Object.entries(bounds)) explicit[name] = withDefaults(spec);
  return { ...rest, bounds: explicit, autoOptions: { ...GLOBAL_LOCAL_DEFAULTS, ...autoOptions } };
}

/** A parameter with the defaults its kind leaves out written in. */
function withDefaults(spec: ParamInput): ParamInput {
  if (spec.type === "categorical") return spec;
  if (spec.type === "int") return { step: 1, scale: "linear", ...spec };
  return { type: "float", scale: "linear", ...spec };
}
