/** Fields of an audit event that say where it was written, not what was decided. */
const IGNORED_FIELDS: ReadonlySet<string> = new Set(["runId"]);

/**
 * The path of the first field where two decoded audit events differ (`"values.batchSize"`,
 * `"type"`…), or undefined when they are identical: numbers compare with `Object.is` (bit for
 * bit: NaN equals NaN, −0 differs from +0), objects and arrays field by field, `runId` ignored.
 *
 * @remarks
 * Cold path (replay). Two events of different types differ at `"type"`; otherwise keys are
 * visited in sorted order so the answer does not depend on the order an encoder wrote them in.
 */
export function firstDifference(expected: unknown, actual: unknown, path = ""): string | undefined {
  if (Object.is(expected, actual)) return undefined;
  if (typeof expected !== "object" || typeof actual !== "object" || expected === null || actual === null) {
    return path === "" ? "(event)" : path;
  }
  if (Array.isArray(expected) !== Array.isArray(actual)) return path === "" ? "(event)" : path;
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  // Events of different types differ first of all in their type, whatever fields sort before it.
  if (path === "" && !Object.is(e.type, a.type)) return "type";
  const keys = [...new Set([...Object.keys(e), ...Object.keys(a)])].sort();
  for (const key of keys) {
    if (path === "" && IGNORED_FIELDS.has(key)) continue;
    const at = path === "" ? key : `${path}.${key}`;
    if (Object.hasOwn(e, key) !== Object.hasOwn(a, key)) return at;
    const diff = firstDifference(e[key], a[key], at);
    if (diff !== undefined) return diff;
  }
  return undefined;
}
