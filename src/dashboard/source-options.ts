import { unknownOptionKeys, unknownOptionsText } from "../unknown-options.js";

/**
 * Refuses the options of a dashboard source function that are not an object, or hold a key it
 * does not take: `engineSource(engine, { titel: "api" })` would otherwise show the default title
 * and say nothing.
 *
 * @throws RangeError naming the function and the unknown keys (with the nearest known one).
 */
export function checkSourceOptions(fn: string, options: unknown, known: readonly string[]): void {
  if (typeof options !== "object" || options === null || Array.isArray(options))
    throw new RangeError(
      `${fn}: options must be an object, got ${options === null ? "null" : typeof options}`,
    );
  const unknown = unknownOptionKeys(options, known);
  if (unknown.length > 0) throw new RangeError(`${fn}: ${unknownOptionsText(unknown, known)}`);
}
