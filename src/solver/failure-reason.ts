import { errorMessage, UsageError } from "../errors.js";
import { shownValue } from "../shown-value.js";

/** What a failed trial records when the caller gives no reason. */
export const DEFAULT_FAILURE_REASON = "evaluation failed";

/**
 * The reason `fail` records, saved as JSON with the run (its state, log or journal): a string as
 * given, an `Error`'s message (what a JavaScript catch block passes), the default for none.
 *
 * @throws UsageError naming `reason` for anything else (JSON would lose it, or could not save it).
 */
export function failureReason(reason: unknown): string {
  if (reason === undefined) return DEFAULT_FAILURE_REASON;
  if (typeof reason === "string") return reason;
  if (reason instanceof Error) return errorMessage(reason);
  throw new UsageError(`fail: reason must be a string, got ${shownValue(reason)}`);
}

/**
 * A reason read back from a log or journal. One written before `fail` checked its reason may hold
 * what JSON made of another value (an Error became `{}`): the run still opens, with a placeholder.
 */
export function recordedFailureReason(reason: unknown): string {
  return typeof reason === "string" ? reason : `${DEFAULT_FAILURE_REASON} (its reason was not recorded)`;
}

/**
 * Whether `fail`'s options (`{ cancelled }`) say the trial was given up unevaluated. Checked as
 * `ask`'s are: a JavaScript caller's `{ canceled: true }` read as "not cancelled" would record an
 * interrupt as a crash, and steer the run away from a point that never failed.
 *
 * @throws UsageError naming the option for anything but undefined or `{ cancelled?: boolean }`.
 */
export function failCancelled(options: unknown): boolean {
  if (options === undefined) return false;
  if (typeof options !== "object" || options === null || Array.isArray(options))
    throw new UsageError(
      `fail: options must be an object such as { cancelled: true }, got ${shownValue(options)}`,
    );
  for (const key in options) {
    if (key !== "cancelled")
      throw new UsageError(`fail: unknown option ${JSON.stringify(key)} (the only one is cancelled)`);
  }
  const cancelled = (options as { cancelled?: unknown }).cancelled;
  if (cancelled !== undefined && typeof cancelled !== "boolean")
    throw new UsageError(`fail: cancelled must be true or false, got ${shownValue(cancelled)}`);
  return cancelled === true;
}
