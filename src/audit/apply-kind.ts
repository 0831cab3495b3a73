/**
 * What an apply is for, recorded with it in the audit trail: the SPSA phases (plus and minus
 * perturbations, the new centre), a restore of a known point, or an operator's manual set.
 */
export const ApplyKind = {
  /** θ + c·Δ: the plus perturbation of an SPSA iteration. */
  Plus: 0,
  /** θ − c·Δ: the minus perturbation. */
  Minus: 1,
  /** The new centre after a gradient step (or the centre re-applied). */
  Centre: 2,
  /** A known-good point restored (rollback or recovery). */
  Rollback: 3,
  /** A point set by an operator or the host, outside the optimiser. */
  Manual: 4,
} as const;

/** One of the {@link ApplyKind} codes. */
export type ApplyKind = (typeof ApplyKind)[keyof typeof ApplyKind];

/** An apply's kind as audit events name it; "unknown" only for a code this version does not know. */
export type ApplyKindName = "plus" | "minus" | "centre" | "rollback" | "manual" | "unknown";

const KIND_NAMES: readonly ApplyKindName[] = ["plus", "minus", "centre", "rollback", "manual"];

/** Audit name of an {@link ApplyKind} code ("plus", "minus", …), or "unknown". Allocation-free. */
export function applyKindName(code: number): ApplyKindName {
  return Number.isInteger(code) && code >= 0 && code < KIND_NAMES.length ? KIND_NAMES[code]! : "unknown";
}
