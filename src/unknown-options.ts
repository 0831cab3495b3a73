/**
 * Misspelt option keys: an options object's keys that the function does not take. Reported rather
 * than dropped, since `{ everyMS: 5 }` would otherwise run with the default and say nothing.
 */

/** Keys of `options` that are not in `known`, in their order. */
export function unknownOptionKeys(options: unknown, known: readonly string[]): string[] {
  if (typeof options !== "object" || options === null) return [];
  return Object.keys(options).filter((key) => !known.includes(key));
}

/** `unknown option "everyMS" (known: everyMs, scheduler)`, for each key in `unknown`. */
export function unknownOptionsText(unknown: readonly string[], known: readonly string[]): string {
  const keys = unknown.map((key) => JSON.stringify(key)).join(", ");
  return `unknown option${unknown.length === 1 ? "" : "s"} ${keys} (known: ${known.join(", ")})`;
}

/**
 * `<path><key>: unknown option (known: …)` for each key of `options` not in `known`: the form of
 * the issue lists that fleet options are refused with.
 */
export function unknownKeyIssues(options: unknown, known: readonly string[], path: string): string[] {
  return unknownOptionKeys(options, known).map(
    (key) => `${path}${key}: unknown option (known: ${known.join(", ")})`,
  );
}
