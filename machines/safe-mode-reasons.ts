/**
 * SafeMode's vocabulary as data: the four modes, every reason that can put the engine in one, the
 * level each reason demands, how each reason goes away, and the numeric codes the audit ring's
 * `ModeChanged` record carries (mode codes and a reason bit set).
 *
 * @remarks
 * Codes are part of the audit format: a mode's code and a reason's bit never change once
 * released; new reasons take new bits. All lookups are O(1) or O(number of reasons) and
 * allocation-free except the name lists, which are built only for audit decoding and events.
 */

/** The modes, least to most restrictive; a mode's index is its level and its audit code. */
export const SAFE_MODES = ["normal", "conservative", "frozen", "halted"] as const;

/** One SafeMode mode. */
export type SafeModeName = (typeof SAFE_MODES)[number];

/** A mode's level (0 normal … 3 halted), also its code in the audit ring. */
export type SafeModeLevel = 0 | 1 | 2 | 3;

/** Level (= audit code) of each mode. */
export const SAFE_MODE_LEVEL: { readonly [M in SafeModeName]: SafeModeLevel } = {
  normal: 0,
  conservative: 1,
  frozen: 2,
  halted: 3,
};

/**
 * How a reason goes away. The engine watches the condition and sends `reason.cleared` when it
 * holds; the statechart only enforces the rules around it.
 * - `recovered`: after the rollback to baseline, the governor sees clean windows again.
 * - `cooldownElapsed`: a fixed cooldown passed since the trip.
 * - `budgetReplenished`: the per-parameter change budget window rolled over below its limit.
 * - `digestsFlowing`: a window closed with accepted digests again.
 * - `marginRecovered`: the constraint margin is back above the reason's threshold.
 * - `auditDrained`: the audit ring drained below its high-water mark.
 * - `violationsExpired`: the Tier-1 violations fell out of their counting window.
 * - `breakerClosed`: the circuit breaker closed again after a good half-open probe.
 * - `acknowledgedReset`: never by itself; only an acknowledged reset of `halted` removes it
 *   (a `reason.cleared` for it is ignored).
 */
export type SafeModeReasonExit =
  | "recovered"
  | "cooldownElapsed"
  | "budgetReplenished"
  | "digestsFlowing"
  | "marginRecovered"
  | "auditDrained"
  | "violationsExpired"
  | "breakerClosed"
  | "acknowledgedReset";

/** What the statechart needs to know about one reason. */
export interface SafeModeReasonSpec {
  /** Bit index in the reason set (and in the audit record's bit set). Never reused. */
  readonly bit: number;
  /** The mode this reason demands while it is active (the engine is at least this restrictive). */
  readonly mode: SafeModeName;
  /** How the reason goes away. */
  readonly exit: SafeModeReasonExit;
}

/**
 * Every SafeMode reason with its bit, the mode it demands and its exit condition.
 *
 * @remarks
 * `breakerOpen` demands `frozen`, not `conservative`: an open actuator breaker means the real
 * system no longer receives what is applied, and an open audit-sink breaker means changes could
 * not be recorded; in both cases any further apply would be unverifiable, so applies stop.
 */
export const SAFE_MODE_REASONS = {
  /** Three objectives in a row for the live generation were NaN or ±∞ (a burst, not one glitch). */
  nonFiniteObjective: { bit: 0, mode: "frozen", exit: "recovered" },
  /** The spike rule held for M consecutive digests, or at the perturbed points for 2M tries (rollback + frozen). */
  spike: { bit: 1, mode: "frozen", exit: "recovered" },
  /** N consecutive windows worse than the baseline window (rollback + frozen). */
  divergence: { bit: 2, mode: "frozen", exit: "recovered" },
  /** Too many governor trips or rollbacks within their period. */
  repeatedTrips: { bit: 3, mode: "halted", exit: "acknowledgedReset" },
  /** Reversals of an applied centre above the limit within the window. */
  thrashing: { bit: 4, mode: "frozen", exit: "cooldownElapsed" },
  /** Net change (signed moves summed) of a parameter above its budget within the window. */
  changeBudget: { bit: 5, mode: "frozen", exit: "budgetReplenished" },
  /**
   * Evaluation windows timed out in a row (telemetry stalled). No longer raised by the engine: a
   * stall pauses the SPSA cycle at its centre and resumes with the next digests, since a telemetry
   * gap is not instability (issue 11). Kept so that older audit logs decode.
   */
  evalTimeouts: { bit: 6, mode: "frozen", exit: "digestsFlowing" },
  /** constraintMargin < 0: only moves toward feasibility. */
  constraintViolation: { bit: 7, mode: "conservative", exit: "marginRecovered" },
  /** constraintMargin below the emergency level (rollback + frozen). */
  constraintEmergency: { bit: 8, mode: "frozen", exit: "marginRecovered" },
  /** The audit ring is above its high-water mark. */
  auditHighWater: { bit: 9, mode: "conservative", exit: "auditDrained" },
  /** The audit ring is full (nothing may be dropped silently). */
  auditFull: { bit: 10, mode: "frozen", exit: "auditDrained" },
  /** Tier-1 violations repeated N times within a window. */
  repeatedViolations: { bit: 11, mode: "conservative", exit: "violationsExpired" },
  /** A circuit breaker (actuator or audit sink) is open. */
  breakerOpen: { bit: 12, mode: "frozen", exit: "breakerClosed" },
  /** `engine.halt(reason)` was called. */
  manualHalt: { bit: 13, mode: "halted", exit: "acknowledgedReset" },
} as const satisfies Record<string, SafeModeReasonSpec>;

/** One SafeMode reason's name. */
export type SafeModeReason = keyof typeof SAFE_MODE_REASONS;

/** Every reason, in bit order (the order reason lists are reported in). */
export const SAFE_MODE_REASON_NAMES: readonly SafeModeReason[] = (
  Object.keys(SAFE_MODE_REASONS) as SafeModeReason[]
).sort((a, b) => SAFE_MODE_REASONS[a].bit - SAFE_MODE_REASONS[b].bit);

/** The single-bit mask of a reason. */
export function reasonMask(reason: SafeModeReason): number {
  return 1 << SAFE_MODE_REASONS[reason].bit;
}

/** The level a reason demands. */
export function reasonLevel(reason: SafeModeReason): SafeModeLevel {
  return SAFE_MODE_LEVEL[SAFE_MODE_REASONS[reason].mode];
}

/** Whether a reason only leaves through an acknowledged reset (a `reason.cleared` is ignored). */
export function isLatchedReason(reason: SafeModeReason): boolean {
  return SAFE_MODE_REASONS[reason].exit === "acknowledgedReset";
}

/** The bits of every reason only an acknowledged reset removes (`repeatedTrips`, `manualHalt`). */
export const LATCHED_REASONS: number = SAFE_MODE_REASON_NAMES.reduce(
  (mask, r) => (isLatchedReason(r) ? mask | reasonMask(r) : mask),
  0,
);

/**
 * The reasons a halt adds: `manualHalt`, or, for a halt restored from an earlier run, the latched
 * reasons of `restores` (a bit set). Other bits are dropped: a condition such as a spike is the
 * new run's to see again. A restored set with no latched reason in it adds `manualHalt`.
 */
export function haltReasonBits(restores: number | undefined): number {
  const latched = (restores ?? 0) & LATCHED_REASONS;
  return latched === 0 ? reasonMask("manualHalt") : latched;
}

/** `MASK_AT_LEAST[level]`: the bits of every reason demanding `level` or more. */
const MASK_AT_LEAST: readonly number[] = [0, 1, 2, 3].map((level) =>
  SAFE_MODE_REASON_NAMES.reduce((mask, r) => (reasonLevel(r) >= level ? mask | reasonMask(r) : mask), 0),
);

/** Whether the reason set holds a reason that demands `level` or more. O(1). */
export function demandsAtLeast(reasons: number, level: SafeModeLevel): boolean {
  return (reasons & MASK_AT_LEAST[level]!) !== 0;
}

/** The highest level any reason in the set demands (0 for an empty set). O(1). */
export function demandedLevel(reasons: number): SafeModeLevel {
  if (demandsAtLeast(reasons, 3)) return 3;
  if (demandsAtLeast(reasons, 2)) return 2;
  if (demandsAtLeast(reasons, 1)) return 1;
  return 0;
}

/** The reasons in a bit set, in bit order (unknown bits are left out). */
export function reasonsInSet(reasons: number): SafeModeReason[] {
  return SAFE_MODE_REASON_NAMES.filter((r) => (reasons & reasonMask(r)) !== 0);
}

/**
 * Audit decoder: a mode's name from its code (`mode-<code>` for an unknown code), in the shape
 * of `AuditDecoders.mode`.
 */
export function decodeSafeMode(code: number): SafeModeName | `mode-${number}` {
  return SAFE_MODES[code] ?? `mode-${code}`;
}

/**
 * Audit decoder: the reason names in a bit set, bit 0 first (`reason-<bit>` for an unknown bit),
 * in the shape of `AuditDecoders.modeReasons`.
 */
export function decodeSafeModeReasons(bits: number): readonly (SafeModeReason | `reason-${number}`)[] {
  const names: (SafeModeReason | `reason-${number}`)[] = [];
  for (let bit = 0; bit < 31; bit++) {
    if (((bits >>> bit) & 1) === 0) continue;
    names.push(SAFE_MODE_REASON_NAMES.find((r) => SAFE_MODE_REASONS[r].bit === bit) ?? `reason-${bit}`);
  }
  return names;
}
