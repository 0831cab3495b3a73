/**
 * Exact JSON for numbers: plain JSON writes NaN and ±Infinity as `null` and −0 as `0`, which
 * would make a replayed run look different from its log. These helpers tag such numbers.
 *
 * @packageDocumentation
 */

/** The tag a non-JSON number is written as: `{ "$num": "NaN" | "Infinity" | "-Infinity" | "-0" }`. */
export const NUMBER_TAG = "$num";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * A deep copy of `value` that JSON can hold exactly: NaN, ±Infinity and −0 become
 * `{ $num: "…" }`; `undefined` properties are left out, as `JSON.stringify` would.
 *
 * @remarks
 * Cold path (allocates a copy). Finite numbers other than −0 survive JSON bit for bit already.
 */
export function encodeNumbers(value: unknown): Json {
  if (typeof value === "number") {
    if (Number.isFinite(value) && !Object.is(value, -0)) return value;
    return { [NUMBER_TAG]: Object.is(value, -0) ? "-0" : String(value) };
  }
  if (Array.isArray(value)) return value.map(encodeNumbers);
  if (typeof value === "object" && value !== null) {
    const out: { [key: string]: Json } = {};
    for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = encodeNumbers(item);
    return out;
  }
  if (typeof value === "string" || typeof value === "boolean" || value === null) return value;
  return null;
}

const TAGGED: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  "-Infinity": Number.NEGATIVE_INFINITY,
  "-0": -0,
};

/** The inverse of {@link encodeNumbers}: a deep copy with every `{ $num: "…" }` turned back into its number. */
export function decodeNumbers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeNumbers);
  if (typeof value !== "object" || value === null) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === NUMBER_TAG) {
    const tag = (value as Record<string, unknown>)[NUMBER_TAG];
    if (typeof tag === "string" && Object.hasOwn(TAGGED, tag)) return TAGGED[tag];
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = decodeNumbers(item);
  return out;
}
