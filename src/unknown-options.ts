import type { OptionProblem } from "../machines/option-problem.js";
import { closestName } from "./suggest.js";

/**
 * Misspelt option keys: an options object's keys that the function does not take. Reported rather
 * than dropped, since `{ everyMS: 5 }` would otherwise run with the default and say nothing.
 */

/** Keys of `options` that are not in `known`, in their order. */
export function unknownOptionKeys(options: unknown, known: readonly string[]): string[] {
  if (typeof options !== "object" || options === null) return [];
  return Object.keys(options).filter((key) => !known.includes(key));
}

/** ` (did you mean maxDelta?)` for the key of `known` nearest the unknown `key`, or "" when none is near. */
export function nearestKeyHint(key: string, known: readonly string[]): string {
  const near = closestName(key, known);
  return near === undefined ? "" : ` (did you mean ${near}?)`;
}

/**
 * A chart's option problem as a config issue's message: an unknown option's says which known
 * option is near (`unknown option (did you mean maxBackoffMs?); known: …`), others are unchanged.
 */
export function optionProblemText(problem: OptionProblem): string {
  const { field, known } = problem;
  if (known === undefined) return problem.reason;
  return `unknown option${nearestKeyHint(field, known)}; known: ${known.join(", ")}`;
}

/** `(known: a, b)`, led by `did you mean b?` when one of them is near `key`. */
export function knownKeysText(key: string, known: readonly string[]): string {
  const near = closestName(key, known);
  return `(${near === undefined ? "" : `did you mean ${near}? `}known: ${known.join(", ")})`;
}

/** `unknown option "everyMS" (did you mean everyMs? known: everyMs, scheduler)`, for each key in `unknown`. */
export function unknownOptionsText(unknown: readonly string[], known: readonly string[]): string {
  const keys = unknown.map((key) => JSON.stringify(key)).join(", ");
  const listed = unknown.length === 1 ? knownKeysText(unknown[0]!, known) : `(known: ${known.join(", ")})`;
  return `unknown option${unknown.length === 1 ? "" : "s"} ${keys} ${listed}`;
}

/**
 * `<path><key>: unknown option (known: …)` (led by the nearest key, if one is near) for each key of `options` not in `known`: the form of
 * the issue lists that fleet options are refused with.
 */
export function unknownKeyIssues(options: unknown, known: readonly string[], path: string): string[] {
  return unknownOptionKeys(options, known).map(
    (key) => `${path}${key}: unknown option ${knownKeysText(key, known)}`,
  );
}
