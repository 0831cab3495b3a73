/**
 * What every configuration input goes through before it is checked: names that cannot be object
 * keys, and keys set to `undefined` (which mean "not given").
 */

import type { ConfigIssue } from "./errors.js";

/**
 * Names that would not survive as keys of a plain object (`{ __proto__: 1 }` sets the prototype),
 * and the empty name, which no flag, environment variable or metric label could show.
 */
const RESERVED_NAMES = ["__proto__", "constructor", "prototype", ""];

/**
 * The issues `check` finds in `input`, after an issue (path `key`) for each entry of its record
 * `key` (the engine's `params`, the solver's `bounds`) that a reserved name holds. Those entries are
 * left out of what `check` reads, so that every other problem is reported too; a record left empty
 * by that is not reported as empty. Read from the raw input: decoding into a plain object would
 * already have lost such a key.
 */
export function withReservedNameIssues(
  input: object,
  key: string,
  check: (input: object) => ConfigIssue[],
  allowEmpty = false,
): ConfigIssue[] {
  const record = (input as Record<string, unknown>)[key];
  if (typeof record !== "object" || record === null || Array.isArray(record)) return check(input);
  const names = Object.keys(record);
  const reserved = names.filter((name) => isReservedName(name, allowEmpty));
  if (reserved.length === 0) return check(input);
  const kept: Record<string, unknown> = {};
  for (const name of names)
    if (!reserved.includes(name)) kept[name] = (record as Record<string, unknown>)[name];
  // A record left empty by leaving them out is not a problem of its own.
  const rest = check({ ...input, [key]: kept }).filter(
    (issue) => !(issue.path === key && Object.keys(kept).length === 0),
  );
  return [
    ...reserved.map((name) => ({
      path: key,
      message:
        name === ""
          ? "a parameter name must not be empty"
          : `"${name}" is reserved and cannot name a parameter`,
    })),
    ...rest,
  ];
}

/**
 * Whether `name` cannot name a parameter (see {@link withReservedNameIssues}). `allowEmpty`: the
 * empty name, refused only since a later version, is taken (a saved run that has one reopens).
 */
export function isReservedName(name: string, allowEmpty = false): boolean {
  return RESERVED_NAMES.includes(name) && !(allowEmpty && name === "");
}

/** Whether `value` is an object literal (prototype `Object.prototype` or `null`), not an array or class instance. */
function isPlainObject(value: unknown): value is Record<PropertyKey, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Which top-level keys of a config {@link withoutUndefinedKeys} treats specially. */
export interface ConfigShape {
  /** Keys whose values are kept by reference, never walked (e.g. a hand-written RxJS scheduler). */
  readonly opaque?: readonly PropertyKey[];
  /**
   * Keys whose values are records of named entries (the engine's `params`, the solver's `bounds`):
   * an entry set to `undefined` is kept, so validation refuses it by name instead of the entry
   * silently dropping out; the entries themselves are walked.
   */
  readonly records?: readonly PropertyKey[];
  /** The shape of each entry of those records (the solver's `when`, a record inside each bound). */
  readonly entries?: ConfigShape;
}

/**
 * `value` with every own key whose value is `undefined` left out, at every nesting level of plain
 * objects, so that `{ ms: undefined }` reads exactly like `{}` (as `JSON.stringify` reads it).
 *
 * @remarks
 * Never mutates `value`: a plain object that holds an `undefined` somewhere is copied (same
 * prototype, other keys and their order kept, `__proto__` kept as an own key so reserved-name checks
 * still see it); one that holds none is returned as is. Only plain objects are walked: arrays,
 * functions and class instances are kept by reference, and so is an object met again inside itself
 * (a cycle), which validation then reports like any other unexpected value. Accessor properties are
 * kept without being called. Cold path (configuration only).
 *
 * @param shape - top-level keys to keep opaque, and those that are records of named entries.
 */
export function withoutUndefinedKeys<T>(value: T, shape: ConfigShape = {}): T {
  return strip(value, shape, false, new Set(), undefined);
}

/**
 * One level of {@link withoutUndefinedKeys}: `shape` is this level's, `keepUndefined` is set for a
 * record's own entries, and `entryShape` is the shape each of those entries gets.
 */
function strip<T>(
  value: T,
  shape: ConfigShape | undefined,
  keepUndefined: boolean,
  ancestors: Set<object>,
  entryShape: ConfigShape | undefined,
): T {
  if (!isPlainObject(value) || ancestors.has(value)) return value;
  ancestors.add(value);
  let copy: Record<PropertyKey, unknown> | undefined;
  const keys = Reflect.ownKeys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
    const isData = "value" in descriptor;
    const dropped =
      !keepUndefined && isData && descriptor.enumerable === true && descriptor.value === undefined;
    const isRecord = shape?.records?.includes(key) === true;
    const walked =
      isData && !dropped && shape?.opaque?.includes(key) !== true
        ? isRecord
          ? strip(descriptor.value, undefined, true, ancestors, shape?.entries)
          : strip(descriptor.value, entryShape, false, ancestors, undefined)
        : descriptor.value;
    if (copy === undefined && (dropped || walked !== descriptor.value)) {
      // First difference: copy what came before it unchanged, then carry on into the copy.
      copy = Object.create(Object.getPrototypeOf(value)) as Record<PropertyKey, unknown>;
      for (let j = 0; j < i; j++) {
        Object.defineProperty(copy, keys[j]!, Object.getOwnPropertyDescriptor(value, keys[j]!)!);
      }
    }
    if (copy !== undefined && !dropped) {
      Object.defineProperty(copy, key, isData ? { ...descriptor, value: walked } : descriptor);
    }
  }
  ancestors.delete(value);
  return (copy ?? value) as T;
}

/**
 * An options object as callers may write it: every key optional and allowed to be `undefined`
 * (which means the same as leaving it out), also for callers compiling with
 * `exactOptionalPropertyTypes`.
 */
export type OptionalInput<T> = { readonly [K in keyof T]?: T[K] | undefined };
