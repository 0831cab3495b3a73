/** One problem with a chart's options input, as the charts' option checkers report it. */
export interface OptionProblem {
  /** The option at fault (a known option or an unknown key); `""` for the input as a whole. */
  readonly field: string;
  /** What is wrong, without the value (e.g. "must be a whole number ≥ 1"). */
  readonly reason: string;
  /** For an unknown option: the options known, so that a caller can name the one likely meant. */
  readonly known?: readonly string[];
}

/** A bad option value as an error message shows it (strings quoted, objects by their kind). */
export function describeOptionValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "an array";
  return value === null || typeof value !== "object" ? String(value) : "an object";
}

/**
 * `, got <value>` after a problem's reason, shown as {@link describeOptionValue} does; nothing for
 * an unknown option, whose value is beside the point.
 */
export function gotText(problem: OptionProblem, value: unknown): string {
  return problem.known !== undefined ? "" : `, got ${describeOptionValue(value)}`;
}

/**
 * `<key>: unknown option; known: …` for the first key of `input` not in `known`, else undefined:
 * a misspelt key would otherwise be reported as the known option it left out.
 */
export function unknownKeyText(input: object, known: readonly string[]): string | undefined {
  const key = Object.keys(input).find((k) => !known.includes(k));
  return key === undefined ? undefined : `${key}: unknown option; known: ${known.join(", ")}`;
}
