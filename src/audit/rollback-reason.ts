/** Why the live config was rolled back to its baseline (recorded in the audit trail). */
export const RollbackReason = {
  /** Asked for by the host or an operator (`engine.rollback(reason)`; the text is kept as the event's note). */
  Manual: 1,
  /**
   * The objective got worse, blamed on the tuner: the instability governor's spike or divergence
   * trip (kept so when the rollback probe later finds the regression was the plant's).
   */
  Regression: 2,
  /** A constraint margin went far negative. */
  ConstraintBreach: 3,
  /** The safety layer restored the baseline for another reason: a non-finite objective, a failed actuator. */
  SafeMode: 4,
} as const;

/** One of the {@link RollbackReason} codes. */
export type RollbackReason = (typeof RollbackReason)[keyof typeof RollbackReason];

/** A rollback's reason as audit events name it; "unknown" only for a code this version does not know. */
export type RollbackReasonName = "manual" | "regression" | "constraint-breach" | "safe-mode" | "unknown";

const REASON_NAMES: readonly RollbackReasonName[] = [
  "unknown",
  "manual",
  "regression",
  "constraint-breach",
  "safe-mode",
];

/** Audit name of a {@link RollbackReason} code, or "unknown". Allocation-free. */
export function rollbackReasonName(code: number): RollbackReasonName {
  return Number.isInteger(code) && code >= 1 && code < REASON_NAMES.length ? REASON_NAMES[code]! : "unknown";
}
