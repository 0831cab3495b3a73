/**
 * Checks of the options every metrics registration takes (`registry`, `prefix`), and the error
 * that names every problem before anything is registered.
 */
import type { Registry, RegistryContentType } from "prom-client";
import type { ConfigIssue } from "../errors.js";
import { shownValue } from "../shown-value.js";
import { knownKeysText } from "../unknown-options.js";

/** A prom-client registry of either exposition format (Prometheus text or OpenMetrics). */
export type AnyRegistry = Registry<RegistryContentType>;

/** What prom-client accepts as a metric name, so a prefix that matches it keeps every name valid. */
const METRIC_NAME_PREFIX = /^(?:[a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

/**
 * Problems with `options` itself, its `registry` (anything with prom-client's `registerMetric`,
 * `getSingleMetric` and `removeSingleMetric`, so a second copy of prom-client works too), its
 * `prefix` (absent or `undefined` for the default), and any key that is neither of those nor one
 * of `otherKeys` (a misspelt option would otherwise be dropped without a word). Empty when valid.
 */
export function commonOptionIssues(options: unknown, otherKeys: readonly string[] = []): ConfigIssue[] {
  if (typeof options !== "object" || options === null)
    return [{ path: "options", message: `must be an object with a registry, got ${shownValue(options)}` }];
  const { registry, prefix } = options as { registry?: unknown; prefix?: unknown };
  const issues: ConfigIssue[] = [];
  const known = ["registry", "prefix", ...otherKeys];
  for (const key of Object.keys(options))
    if (!known.includes(key))
      issues.push({ path: key, message: `unknown option ${knownKeysText(key, known)}` });
  const r = registry as Record<string, unknown> | null | undefined;
  if (
    typeof r !== "object" ||
    r === null ||
    typeof r.registerMetric !== "function" ||
    typeof r.getSingleMetric !== "function" ||
    typeof r.removeSingleMetric !== "function"
  )
    issues.push({ path: "registry", message: `must be a prom-client Registry, got ${shownValue(registry)}` });
  if (prefix !== undefined) {
    if (typeof prefix !== "string")
      issues.push({ path: "prefix", message: `must be a string, got ${shownValue(prefix)}` });
    else if (!METRIC_NAME_PREFIX.test(prefix))
      issues.push({
        path: "prefix",
        message: `must be letters, digits, _ or : and not start with a digit, got ${shownValue(prefix)}`,
      });
  }
  return issues;
}

/** Throws a RangeError naming every issue, prefixed by the function called (`fn`); nothing when there are none. */
export function throwOnIssues(fn: string, issues: readonly ConfigIssue[]): void {
  if (issues.length === 0) return;
  throw new RangeError(`${fn}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
}
