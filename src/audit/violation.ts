/**
 * Why Tier 1 refused an apply or a rollback: the non-zero results of `Executor.apply` and
 * `Executor.rollback` (0 means applied).
 *
 * @remarks
 * Codes 1–9 are numbered in the order `apply` checks them, so a proposal that breaks several
 * rules gets the first. Details of the last refusal (parameter, offending value, limit) are in
 * `Executor.lastViolation`. Decode with {@link violationName}.
 */
export const Violation = {
  /** The target's length differs from the number of registered parameters (value: length, limit: size). */
  UnknownParameter: 1,
  /** A target coordinate is NaN or ±Infinity (value: the coordinate). */
  NonFinite: 2,
  /** A target coordinate is outside the unit interval (value: the coordinate, limit: the bound crossed, 0 or 1). */
  OutOfBounds: 3,
  /** A parameter would move further than its `maxDelta` (value: |move| raw, limit: maxDelta raw). */
  DeltaTooLarge: 4,
  /** `now` is NaN or ±Infinity; the clock is broken, so no time-based rule could be checked (value: now). */
  InvalidTime: 5,
  /** `maxUpdatesPerSecond` applies already happened within the last 1000 ms (value: that count, limit: the maximum). */
  RateLimited: 6,
  /** Less than `minIntervalMs` since the last apply (value: elapsed ms, limit: minIntervalMs). */
  MinInterval: 7,
  /** A cooldown is running (value: now, limit: the time it ends). */
  Cooldown: 8,
  /** Applies are blocked (SafeMode or an operator hold) (value: the mode word). */
  Blocked: 9,
  /** A rollback was requested but no baseline was ever set. */
  NoBaseline: 10,
} as const;

/** One of the {@link Violation} codes. */
export type Violation = (typeof Violation)[keyof typeof Violation];

/** The result code of a successful apply or rollback. */
export const APPLIED = 0;

/** Number of distinct result codes (0 and every {@link Violation}); sizes per-code counters. */
export const RESULT_CODE_COUNT = 11;

const RESULT_NAMES: readonly string[] = [
  "Applied",
  "UnknownParameter",
  "NonFinite",
  "OutOfBounds",
  "DeltaTooLarge",
  "InvalidTime",
  "RateLimited",
  "MinInterval",
  "Cooldown",
  "Blocked",
  "NoBaseline",
];

/**
 * The name of an apply/rollback result: `"Applied"` for 0, the {@link Violation} key for a
 * violation code, `"Unknown"` otherwise.
 *
 * @remarks
 * Returns interned constants (no allocation); used when audit records are decoded.
 */
export function violationName(code: number): string {
  return Number.isInteger(code) && code >= 0 && code < RESULT_NAMES.length ? RESULT_NAMES[code]! : "Unknown";
}
