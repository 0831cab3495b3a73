import { UsageError } from "../errors.js";
import { shownValue } from "../shown-value.js";

/**
 * The `max` of an `ask(options)` call, checked: undefined when not given. A call from JavaScript
 * can pass anything, and `ask(3)` read as "no options" would hand out a batch of another size
 * without a word, so anything but an object holding at most a whole `max` > 0 is refused.
 */
export function askMax(options: unknown): number | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new UsageError(`ask: options must be an object such as { max: 4 }, got ${shownValue(options)}`);
  }
  for (const key in options) {
    if (key !== "max")
      throw new UsageError(`ask: unknown option ${JSON.stringify(key)} (the only one is max)`);
  }
  const max = (options as { max?: unknown }).max;
  if (max !== undefined && !(Number.isSafeInteger(max) && (max as number) > 0)) {
    throw new UsageError(`ask: max must be a whole number greater than 0, got ${shownValue(max)}`);
  }
  return max as number | undefined;
}
