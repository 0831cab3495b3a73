/**
 * The codes a digest check returns, as written in `digest.accepted` / `digest.rejected` audit
 * records, and their names. They live with the audit vocabulary so that decoding a record needs
 * nothing from the engine that wrote it.
 *
 * @packageDocumentation
 */

/** `checkDigest` result for a digest that may feed a window. */
export const DIGEST_ACCEPTED = 0;

/**
 * Why `checkDigest` refused a digest, as small integer codes (0 means accepted).
 *
 * @remarks
 * The codes are listed in the order the checks run: a digest that fails several checks gets
 * the first one. Decode with {@link rejectionName}.
 */
export const DigestRejection = {
  /**
   * Not a digest: not an object, `objective` or `generation` not a number, `generation` not a
   * non-negative safe integer, `timestamp` present but not a finite number, another optional
   * field present but not a number or NaN, or a property read that threw.
   */
  Malformed: 1,
  /** `objective` is NaN or ±Infinity. */
  NonFiniteObjective: 2,
  /** Measured under another live-config generation than the one being evaluated. */
  WrongGeneration: 3,
  /** Taken before the system had settled after the last apply (`timestamp < lastApplyAt + settleMs`). */
  Settling: 4,
  /** Older than the allowed age (`now − timestamp > maxAgeMs`). */
  TooOld: 5,
  /** Dated further ahead of the engine clock than the allowed skew (`timestamp > now + maxSkewMs`). */
  FromFuture: 6,
} as const;

/** One of the {@link DigestRejection} codes. */
export type DigestRejection = (typeof DigestRejection)[keyof typeof DigestRejection];

/**
 * A digest check's result as audit events name it: "Accepted", a {@link DigestRejection} key, or
 * "Unknown" for a code this version does not know.
 */
export type DigestCheckName = "Accepted" | keyof typeof DigestRejection | "Unknown";

/** The {@link DigestCheckName} of each code, by code ("Unknown" has none). */
export const DIGEST_CHECK_NAMES: readonly DigestCheckName[] = [
  "Accepted",
  "Malformed",
  "NonFiniteObjective",
  "WrongGeneration",
  "Settling",
  "TooOld",
  "FromFuture",
];

/**
 * The name of a `checkDigest` result: `"Accepted"` for 0, the {@link DigestRejection} key
 * for a rejection code, `"Unknown"` for anything else.
 *
 * @remarks
 * Cold path (audit decoding); returns interned string constants, so it does not allocate.
 */
export function rejectionName(code: number): DigestCheckName {
  return Number.isInteger(code) && code >= 0 && code < DIGEST_CHECK_NAMES.length
    ? DIGEST_CHECK_NAMES[code]!
    : "Unknown";
}
