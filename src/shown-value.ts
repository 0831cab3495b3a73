/**
 * `value` as an error message shows it: numbers as written, strings quoted (so "3" and 3 differ
 * in the message as they do in the check), anything else by its kind.
 */
export function shownValue(value: unknown): string {
  switch (typeof value) {
    case "number":
    case "boolean":
    case "undefined":
      return String(value);
    case "string":
      return JSON.stringify(value);
    case "bigint":
      return `${value}n`;
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    default:
      return value === null ? "null" : Array.isArray(value) ? "an array" : "an object";
  }
}
