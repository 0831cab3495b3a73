/** A restarted engine's config, starting where its log's last run ended. */
import { type EngineConfig, type ParamSpecInput, resolveEngineConfig } from "../engine/config.js";
import { ParamRegistry } from "../space/param-registry.js";
import type { ResumePoint } from "./last-run-end.js";

/**
 * `config` starting from `point`: each parameter the point holds starts at its value (`init`)
 * with the point's baseline (`baseline`), both clamped into the parameter's current range, since
 * the bounds may have been narrowed since that run. A parameter the point does not hold (added
 * since) keeps its own `init` and `baseline`; the point's values for parameters the config no
 * longer has are left out. Without a point (a first start), `config` is returned as it is.
 *
 * @throws ConfigError when `config` is invalid, before anything is read from the point.
 */
export function resumedConfig<const N extends string>(
  config: EngineConfig<N>,
  point: ResumePoint | undefined,
): EngineConfig<N> {
  const registry = new ParamRegistry(resolveEngineConfig(config).params);
  if (point === undefined) return config;
  const params: Record<string, ParamSpecInput> = {};
  for (const [name, spec] of Object.entries<ParamSpecInput>(config.params)) {
    const value = point.values[name];
    if (value === undefined || !Number.isFinite(value)) {
      params[name] = spec;
      continue;
    }
    const i = registry.indexOf(name);
    const clamp = (x: number) => Math.min(registry.max[i]!, Math.max(registry.min[i]!, x));
    const baseline = point.baseline?.[name];
    params[name] = {
      ...spec,
      init: clamp(value),
      // The known-good point stays the operator's (the config's own, when the point has none),
      // never the tuned value resumed.
      baseline: clamp(baseline !== undefined && Number.isFinite(baseline) ? baseline : registry.baseline[i]!),
    };
  }
  return { ...config, params: params as EngineConfig<N>["params"] };
}
