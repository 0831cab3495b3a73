/**
 * The check a fleet component makes of an option that must be an object (its options, their
 * `telemetry`), before any of its fields is read.
 */
import { shownValue } from "../shown-value.js";

/**
 * `<field>: must be <what> (got …)` when `value` is not a plain object (null and arrays
 * included), else undefined; `what` says which object (`an object of telemetry options`). Read
 * field by field, anything else would fail as a TypeError naming no option, or be taken silently
 * for the defaults.
 */
export function objectOptionIssue(value: unknown, field: string, what: string): string | undefined {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return undefined;
  return `${field}: must be ${what} (got ${shownValue(value)})`;
}
