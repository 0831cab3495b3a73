/**
 * What made a digest malformed: the field and the problem, packed into one small integer for the
 * `param` of a `digest.rejected` record, and named again when the record is decoded.
 *
 * @packageDocumentation
 */

/** The part of a digest a `digest.rejected` event of reason `Malformed` blames. */
export type MalformedDigestField =
  | "digest"
  | "objective"
  | "generation"
  | "timestamp"
  | "constraintMargin"
  | "latencyP99"
  | "throughput"
  | "errorRate";

/** The fields by index; 0 is the digest itself. */
const FIELDS: readonly MalformedDigestField[] = [
  "digest",
  "objective",
  "generation",
  "timestamp",
  "constraintMargin",
  "latencyP99",
  "throughput",
  "errorRate",
];

/** What each field must be. */
const RULES: readonly string[] = [
  "must be an object",
  "must be a number",
  "must be a non-negative safe integer",
  "must be a finite number when given",
  "must be a number other than NaN when given",
  "must be a number other than NaN when given",
  "must be a number other than NaN when given",
  "must be a number other than NaN when given",
];

// What the field held instead, by code.
const MISSING = 0;
const NAN = 1;
const INFINITE = 2;
/** A number, but not a generation (negative, fractional or past 2⁵³): shown with the number. */
const NOT_GENERATION = 3;
const THREW = 4;
const NULL = 5;
/** Codes by `typeof` of a value that is not a number (a number where an object is due: "number"). */
const TYPE_CODES: Readonly<Record<string, number>> = {
  string: 6,
  boolean: 7,
  object: 8,
  bigint: 9,
  symbol: 10,
  function: 11,
  number: 12,
};
const GOT: readonly string[] = [
  "it is missing",
  "got NaN",
  "got an infinite number",
  "got",
  "reading a property of it threw",
  "got null",
  "got a string",
  "got a boolean",
  "got an object",
  "got a bigint",
  "got a symbol",
  "got a function",
  "got a number",
];
const CODES_PER_FIELD = 16;

/** The code of a value of the wrong type (or none). */
function kindOf(value: unknown): number {
  if (value === undefined) return MISSING;
  if (value === null) return NULL;
  return TYPE_CODES[typeof value] ?? TYPE_CODES.object!;
}

/** The code of a value that should be a number and is not one, or not a usable one. */
function numberKindOf(value: unknown): number {
  if (typeof value !== "number") return kindOf(value);
  return Number.isNaN(value) ? NAN : INFINITE;
}

/**
 * The code of the first malformed field of a digest, from its values as read (`optional`:
 * timestamp, constraintMargin, latencyP99, throughput, errorRate); −1 when none is. Cold path:
 * called only for a digest already found malformed.
 */
export function malformedCode(
  objective: unknown,
  generation: unknown,
  optional: readonly [unknown, unknown, unknown, unknown, unknown],
): number {
  if (typeof objective !== "number") return CODES_PER_FIELD + kindOf(objective);
  if (typeof generation !== "number") return 2 * CODES_PER_FIELD + kindOf(generation);
  if (!Number.isSafeInteger(generation) || generation < 0)
    return 2 * CODES_PER_FIELD + (Number.isNaN(generation) ? NAN : NOT_GENERATION);
  const timestamp = optional[0];
  if (timestamp !== undefined && !(typeof timestamp === "number" && Number.isFinite(timestamp)))
    return 3 * CODES_PER_FIELD + numberKindOf(timestamp);
  for (let i = 1; i < optional.length; i++) {
    const value = optional[i];
    if (value !== undefined && !(typeof value === "number" && !Number.isNaN(value)))
      return (3 + i) * CODES_PER_FIELD + numberKindOf(value);
  }
  return -1;
}

/** The code of a digest that is not an object (`null`, a number, a string…). */
export function notAnObjectCode(digest: unknown): number {
  return kindOf(digest);
}

/** The code of a digest a property read of which threw. */
export const THREW_CODE = THREW;

/**
 * The field and problem a code names; `generation` is the record's digest generation (shown when
 * it is the number at fault). Undefined for −1 (no detail: a record written before schema 8) or
 * a code this version does not know.
 */
export function malformedDetail(
  code: number,
  generation: number,
): { readonly field: MalformedDigestField; readonly problem: string } | undefined {
  if (!Number.isInteger(code) || code < 0) return undefined;
  const fieldIndex = Math.floor(code / CODES_PER_FIELD);
  const got = code % CODES_PER_FIELD;
  const field = FIELDS[fieldIndex];
  const shown = GOT[got];
  if (field === undefined || shown === undefined) return undefined;
  if (got === THREW) return { field, problem: shown };
  const what = got === NOT_GENERATION ? `got ${generation}` : shown;
  return { field, problem: `${RULES[fieldIndex]}, ${what}` };
}

/** A value of each kind a field can be found holding instead, by code (replay rebuilds with them). */
const SAMPLES: readonly unknown[] = [
  undefined,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  undefined, // the number itself, which the record keeps
  undefined, // a throwing read: see malformedDetail's "reading a property of it threw"
  null,
  "not a number",
  true,
  {},
  0n,
  Symbol("not a number"),
  () => Number.NaN,
  0,
];

/**
 * A value of the kind that `field` held when the record words it `problem` (exactly as
 * {@link malformedDetail} does), so that a rebuilt digest is refused in the same words;
 * `undefined` for words this version does not write, or a fault the record's numbers already
 * reproduce ("got 1.5"). `missing: true` when the field was absent.
 */
export function malformedSample(
  field: string,
  problem: string,
): { readonly value: unknown; readonly missing: boolean } | undefined {
  const fieldIndex = FIELDS.indexOf(field as MalformedDigestField);
  if (fieldIndex < 0) return undefined;
  for (let got = 0; got < GOT.length; got++) {
    if (got === NOT_GENERATION || got === THREW) continue;
    if (malformedDetail(fieldIndex * CODES_PER_FIELD + got, Number.NaN)?.problem === problem)
      return { value: SAMPLES[got], missing: got === MISSING };
  }
  return undefined;
}

/** Whether `problem` says that reading the digest threw. */
export function threwWhileRead(problem: string): boolean {
  return problem === GOT[THREW];
}
