import { jsonKey } from "../space/params.js";

/** How a refusal names the two sides of a comparison: `path: the study has A, this worker B`. */
export interface ComparedSides {
  /** The side the setting is kept by, e.g. "the study" or "the state". */
  readonly kept: string;
  /** The side that asked, e.g. "this worker" or "--config". */
  readonly given: string;
}

/**
 * Where two configs differ, for a refusal message: each leaf (or array) that differs, by path with
 * keys sorted, as `path: <kept> has A, <given> B` (of two settings with different `kind`s, the kind
 * and the options both have), from each of `parts` in turn (the part's path
 * prefixing its settings'), then `extra`; the first `limit` of them, then `and N more`. Never
 * empty: two configs that differ only in what this cannot name read as such.
 */
export function configDifferences(
  parts: readonly (readonly [kept: unknown, given: unknown, path: string])[],
  sides: ComparedSides,
  limit = 3,
  extra: readonly string[] = [],
): string[] {
  const found: string[] = [];
  for (const [kept, given, path] of parts) differences(kept, given, path, sides, found);
  found.push(...extra);
  if (found.length === 0) found.push("a setting this check cannot name");
  return found.length > limit ? [...found.slice(0, limit), `and ${found.length - limit} more`] : found;
}

/** Appends to `found` each leaf (or array) where `a` and `b` differ, by path, keys sorted. */
function differences(a: unknown, b: unknown, path: string, sides: ComparedSides, found: string[]): void {
  if (jsonKey(a) === jsonKey(b)) return;
  if (isRecord(a) && isRecord(b)) {
    // Settings of different kinds (a median pruner and ASHA): an option only one of the kinds has
    // is a default that kind filled in, not a difference; the kind and the options both have are.
    const kinds = "kind" in a && "kind" in b && jsonKey(a.kind) !== jsonKey(b.kind);
    const keys = kinds
      ? Object.keys(a).filter((key) => Object.hasOwn(b, key))
      : [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const key of keys.sort())
      differences(a[key], b[key], path === "" ? key : `${path}.${key}`, sides, found);
    return;
  }
  found.push(
    `${path === "" ? "the config" : path}: ${sides.kept} has ${shown(a)}, ${sides.given} ${shown(b)}`,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value as JSON, cut short when long (the message names a setting, it does not dump it). */
function shown(value: unknown): string {
  if (value === undefined) return "none";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
