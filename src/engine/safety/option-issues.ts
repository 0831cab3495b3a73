import type { ConfigIssue } from "../../errors.js";
import { shownValue } from "../../shown-value.js";
import { nearestKeyHint } from "../../unknown-options.js";

/** How one numeric option is checked: the rule, and the message when it fails. */
export type NumericRule = readonly [accepts: (x: number) => boolean, message: string];

/**
 * Every problem with an object of numeric options, each with its path under `path`: a value that
 * is not a number (NaN included) or breaks its rule, and unknown keys (usually typos). Empty when
 * valid; `undefined` (all defaults) is valid, and a key set to `undefined` counts as absent.
 *
 * @param what - how the object is named in the message when it is not an object at all.
 */
export function numericOptionIssues(
  input: unknown,
  rules: Readonly<Record<string, NumericRule>>,
  path: string,
  what: string,
): ConfigIssue[] {
  if (input === undefined) return [];
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return [{ path, message: `must be an object of ${what}, got ${shownValue(input)}` }];
  }
  const issues: ConfigIssue[] = [];
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const rule = Object.hasOwn(rules, key) ? rules[key] : undefined;
    if (rule === undefined) {
      issues.push({
        path: `${path}.${key}`,
        message: `unknown option${nearestKeyHint(key, Object.keys(rules))}; known: ${Object.keys(rules).join(", ")}`,
      });
    } else if (typeof value !== "number" || Number.isNaN(value) || !rule[0](value)) {
      issues.push({ path: `${path}.${key}`, message: `${rule[1]}, got ${shownValue(value)}` });
    }
  }
  return issues;
}

/** Problems with per-parameter ranges (max − min): at least one, each finite and > 0. */
export function rangeIssues(ranges: ArrayLike<number>, path = "ranges"): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (ranges.length === 0) issues.push({ path, message: "must hold at least one parameter" });
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i]!;
    if (!(Number.isFinite(r) && r > 0))
      issues.push({ path: `${path}[${i}]`, message: "must be finite and > 0" });
  }
  return issues;
}

/** Throws a RangeError naming every issue (`what`: whose options, e.g. "governor"); nothing when there are none. */
export function throwOnIssues(what: string, issues: readonly ConfigIssue[]): void {
  if (issues.length === 0) return;
  throw new RangeError(`Invalid ${what} options: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
}

/** `defaults` with every key of `options` that is not `undefined` laid over it (a new object). */
export function withDefaults<T extends object>(defaults: T, options: object): T {
  const out = { ...defaults } as Record<string, unknown>;
  for (const [key, value] of Object.entries(options)) if (value !== undefined) out[key] = value;
  return out as T;
}
