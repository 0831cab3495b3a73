/**
 * A halt carried over from an earlier run: a restarted logged engine, or a fleet's new leader,
 * starts halted with the latched SafeMode reasons the halt had (`repeatedTrips` stays
 * `repeatedTrips`), not as an operator's `manualHalt`. Internal to arqon: the log, replay and the
 * fleet coordinator call it; a host halts with `engine.halt`.
 *
 * @packageDocumentation
 */
import {
  LATCHED_REASONS,
  reasonMask,
  SAFE_MODE_REASONS,
  type SafeModeReason,
} from "../../machines/safe-mode-reasons.js";

/** The engine's method that halts with an earlier run's reasons. */
export const RESTORE_HALT: unique symbol = Symbol("arqon.engine.restoreHalt");

/** An engine that can restore a halt (every engine `createEngine` returns). */
export interface HaltRestoring {
  /**
   * Halts as `halt(note)` does, but adds the latched reasons among `reasons` (unknown names and
   * reasons that clear by themselves are left out) instead of `manualHalt`; with none left,
   * `manualHalt`. Audited as a `halt` command whose event lists the reasons restored.
   */
  [RESTORE_HALT](note: string, reasons: readonly string[]): void;
}

/**
 * The bit set a restored halt adds: the latched reasons among `names` (unknown names, and reasons
 * that clear by themselves, left out). 0 when none is left: the halt is then a plain one, which
 * adds `manualHalt`.
 */
export function restoredReasonBits(names: readonly string[]): number {
  let bits = 0;
  for (const name of names)
    if (Object.hasOwn(SAFE_MODE_REASONS, name)) bits |= reasonMask(name as SafeModeReason);
  return bits & LATCHED_REASONS;
}

/**
 * Halts `engine` with the reasons of an earlier run's halt when it can restore them, else with
 * `engine.halt(note)` (an engine a test wraps, say).
 */
export function restoreHalt(
  engine: { halt(reason?: string): void },
  note: string,
  reasons: readonly string[],
): void {
  const restoring = (engine as Partial<HaltRestoring>)[RESTORE_HALT];
  if (typeof restoring === "function") restoring.call(engine, note, reasons);
  else engine.halt(note);
}
