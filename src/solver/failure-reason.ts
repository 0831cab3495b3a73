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
