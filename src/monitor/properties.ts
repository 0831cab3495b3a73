/**
 * The safety properties the independent monitor checks over an engine's audit stream, and the
 * verdicts it reports.
 *
 * @remarks
 * Each property is past-time: whether it holds at an event depends only on the events before it,
 * so it can be checked incrementally as the stream arrives. The monitor reads nothing but the
 * audit events and the engine's configuration (bounds, maxDelta, guardrails): a bug in Tier 1, the
 * SafeMode mirror or the audit ring shows up as a verdict instead of being trusted.
 */

/** The properties, by id. */
export const SAFETY_PROPERTIES = {
  S1: "every applied value is finite and within its parameter's bounds",
  S2: "every apply moves each parameter by at most its maxDelta in force (halved in conservative mode); a rollback writes exactly the baseline",
  S3: "applies respect the rate limit (maxUpdatesPerSecond within any 1000 ms) and the minimum interval after the previous apply (doubled in conservative mode)",
  S4: "after a rollback, nothing is applied before the minimum interval has passed",
  S5: "nothing is applied while frozen or halted; nothing is rolled back while halted unless an operator's rollback command asked for it",
  S6: "sequence numbers are contiguous (no audit record dropped), every apply and rollback raises the generation by exactly one, and every other event carries the live generation",
  L1: "every instability trip is answered: spike, divergence and constraintEmergency by a rollback or a halt within K events and before tripWindowMs has passed; nonFiniteObjective (a telemetry fault) at least by freezing at once",
} as const;

/** One property id. */
export type SafetyPropertyId = keyof typeof SAFETY_PROPERTIES;

/** The ids in report order. */
export const SAFETY_PROPERTY_IDS = Object.keys(SAFETY_PROPERTIES) as readonly SafetyPropertyId[];

/** SafeMode reasons whose trip must end in a rollback (or a halt, when rollbacks are used up). */
export const ROLLBACK_REASONS: readonly string[] = ["spike", "divergence", "constraintEmergency"];

/**
 * SafeMode reasons whose trip must at least freeze the engine at once: a burst of non-finite
 * objectives is a telemetry fault, rolled back only when it starts right after an apply.
 */
export const FREEZE_REASONS: readonly string[] = ["nonFiniteObjective"];

/**
 * A violated property. Verdicts latch: the first violation of a property is kept with its witness,
 * later ones are only counted.
 */
export interface SafetyViolation {
  readonly property: SafetyPropertyId;
  /** What went wrong, naming the parameter, values and limits involved. */
  readonly message: string;
  /**
   * The audit sequence range that shows it: from the earliest event the verdict depends on to the
   * event at which it was decided (both inclusive).
   */
  readonly witness: { readonly fromSeq: number; readonly toSeq: number };
  /** Engine-clock time of the deciding event. */
  readonly time: number;
}

/** The monitor's report: every property's state. */
export interface SafetyReport {
  /** Events checked. */
  readonly events: number;
  /** The first violation of each violated property, in the order they were found. */
  readonly violations: readonly SafetyViolation[];
  /** How many times each property was violated in all (0 for those that hold). */
  readonly counts: Readonly<Record<SafetyPropertyId, number>>;
  /** Instability trips still inside their K-event window (L1 not yet decided for them). */
  readonly pendingTrips: number;
}
