/**
 * Registering a set of metrics on a registry all or nothing.
 */
import type { Metric } from "prom-client";
import type { LatencyHistogram } from "./latency-histogram.js";
import type { AnyRegistry } from "./metric-options.js";
import type { ReadMetric } from "./read-metric.js";

/** A metric of prom-client's, or one of ours that the registry reads the same way. */
export type NamedMetric = Metric | LatencyHistogram | ReadMetric;

// prom-client's metrics carry their name at run time, though its typings do not declare it.
const nameOf = (metric: NamedMetric): string => (metric as unknown as { readonly name: string }).name;

/**
 * Registers every metric of `metrics` on `registry`, or none: a name the registry already holds
 * is refused before anything is registered, and a registration that fails midway for any other
 * reason removes what this call registered before rethrowing (a caller's retry must find the
 * registry as it was). `fn` names the function called in the error.
 */
export function registerAll(fn: string, registry: AnyRegistry, metrics: readonly NamedMetric[]): void {
  const taken = metrics.map(nameOf).filter((name) => registry.getSingleMetric(name) !== undefined);
  if (taken.length > 0) {
    const more = taken.length > 1 ? ` (and ${taken.length - 1} more of its metrics)` : "";
    throw new Error(
      `${fn}: a metric named ${taken[0]}${more} has already been registered on this registry (use another registry, or another prefix); nothing was registered`,
    );
  }
  const registered: string[] = [];
  try {
    for (const metric of metrics) {
      registry.registerMetric(metric as unknown as Metric);
      registered.push(nameOf(metric));
    }
  } catch (error) {
    for (const name of registered) registry.removeSingleMetric(name);
    throw error;
  }
}
