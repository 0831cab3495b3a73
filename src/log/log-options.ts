import { shownValue } from "../shown-value.js";
import { unknownOptionKeys, unknownOptionsText } from "../unknown-options.js";
import { LogError } from "./errors.js";
import type { DecisionLogOptions } from "./writer.js";

/** The options a decision log's writer takes that a caller sets (`DecisionLogOptions`). */
export const LOG_OPTION_KEYS = [
  "dir",
  "header",
  "flushMs",
  "flushRecords",
  "fsync",
  "segmentBytes",
  "strict",
  "maxPendingBytes",
  "keepRecords",
  "onCompaction",
  "onDurable",
  "onError",
  "lock",
] as const satisfies readonly (keyof DecisionLogOptions)[];

/** Options taken too, but only by tests (their hooks). Never suggested. */
const INTERNAL_KEYS: readonly string[] = [
  "io",
  "afterCompactionStep",
] satisfies readonly (keyof DecisionLogOptions)[];

/** Options whose value is a callback. */
const CALLBACKS = ["onCompaction", "onDurable", "onError", "afterCompactionStep"] as const;

/**
 * Refuses options a log would misread, before anything is opened: an unknown key (`resum` would
 * start an engine from `init`, silently), an `fsync` that is not one of its two values
 * (`"Always"` read as group commit would weaken durability), a `strict` that is not a boolean
 * (`"no"` is truthy), a callback that is not a function, a count that is not whole. The numbers'
 * ranges (`flushMs` > 0…) are the writer's own checks. `known` lists the keys the caller takes
 * (`createLoggedEngine` adds `resume` and drops `header`).
 *
 * @throws LogError naming the option and the reason.
 */
export function checkLogOptions(options: unknown, known: readonly string[] = LOG_OPTION_KEYS): void {
  if (typeof options !== "object" || options === null || Array.isArray(options))
    throw new LogError(`options must be an object such as { dir: "decisions" }, got ${shownValue(options)}`);
  const given = options as Record<string, unknown>;
  const unknown = unknownOptionKeys(options, known).filter((key) => !INTERNAL_KEYS.includes(key));
  if (unknown.length > 0) throw new LogError(unknownOptionsText(unknown, known));
  if (typeof given.dir !== "string" || given.dir === "")
    throw new LogError(`dir must be a directory's path, got ${shownValue(given.dir)}`);
  if (given.fsync !== undefined && given.fsync !== "group" && given.fsync !== "always")
    throw new LogError(`fsync must be "group" or "always", got ${shownValue(given.fsync)}`);
  if (given.strict !== undefined && typeof given.strict !== "boolean")
    throw new LogError(`strict must be true or false, got ${shownValue(given.strict)}`);
  for (const key of CALLBACKS) {
    if (given[key] !== undefined && typeof given[key] !== "function")
      throw new LogError(`${key} must be a function, got ${shownValue(given[key])}`);
  }
  for (const key of ["flushRecords", "segmentBytes"] as const) {
    const value = given[key];
    if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) > 0))
      throw new LogError(`${key} must be a whole number > 0, got ${shownValue(value)}`);
  }
}
