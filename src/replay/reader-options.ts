import { ReplayInputError } from "../log/replay-input-error.js";
import { shownValue } from "../shown-value.js";
import { unknownOptionKeys, unknownOptionsText } from "../unknown-options.js";

/**
 * Refuses options of a log reader (`replay`, `explain`) that are not an object or hold a key it
 * does not take, before the log is read: `{ runn: 2 }` would read every run, and say nothing.
 *
 * @throws ReplayInputError naming the key and the ones `caller` takes.
 */
export function checkReaderOptions(caller: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options))
    throw new ReplayInputError(`${caller}: options must be an object, got ${shownValue(options)}`);
  const unknown = unknownOptionKeys(options, known);
  if (unknown.length > 0) throw new ReplayInputError(`${caller}: ${unknownOptionsText(unknown, known)}`);
}
