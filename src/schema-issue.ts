import type * as ParseResult from "effect/ParseResult";
import { shownValue } from "./shown-value.js";

/** What a type in Effect Schema's "Expected <type>, actual <value>" is called in a message. */
function typeName(type: string): string {
  if (type === "number") return "a number";
  if (type === "string") return "a string";
  if (type === "boolean") return "true or false";
  if (type.startsWith("ReadonlyArray<") || type.startsWith("readonly [")) return "an array";
  if (type.startsWith("{")) return "an object";
  return type;
}

/** The value at `path` in `input` (undefined where the path leads nowhere). */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * A config schema's issue in the words every other config message uses ("expected a number, got
 * "0""), rather than Effect Schema's own ("Expected number, actual "0""): one config, one voice.
 * A rule's own message ("expected a whole number") gets the plain value it refused (a number, a
 * string, true or false, null), read from `input` (the object the schema decoded) at the issue's
 * path, unless it names it already.
 */
export function schemaIssueMessage(issue: ParseResult.ArrayFormatterIssue, input: unknown): string {
  if (issue._tag === "Unexpected") return "unknown key";
  if (issue._tag === "Missing") return "required but missing";
  const typed = issue._tag === "Type" ? /^Expected (.+), actual (.*)$/s.exec(issue.message) : null;
  if (typed !== null) return `expected ${typeName(typed[1]!)}, got ${typed[2]}`;
  if (issue._tag === "Refinement" && !issue.message.includes(", got ")) {
    const value = valueAt(input, issue.path);
    // An object or array says nothing a rule about its contents ("choices 0 and 2 are equal")
    // has not said already.
    if (value === null || (typeof value !== "object" && value !== undefined && typeof value !== "function"))
      return `${issue.message}, got ${shownValue(value)}`;
  }
  return issue.message;
}
