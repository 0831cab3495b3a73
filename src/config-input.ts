/**
 * What every configuration input goes through before it is checked: names that cannot be object
 * keys, and keys set to `undefined` (which mean "not given").
 */

/** Names that would not survive as keys of a plain object (`{ __proto__: 1 }` sets the prototype). */
const RESERVED_NAMES = ["__proto__", "constructor", "prototype"];

/** A message naming the first reserved parameter name, or undefined when there is none. */
export function reservedNameIssue(names: readonly string[]): string | undefined {
  const reserved = names.find((name) => RESERVED_NAMES.includes(name));
  return reserved === undefined ? undefined : `"${reserved}" is reserved and cannot name a parameter`;
}

/** Whether `value` is an object literal (prototype `Object.prototype` or `null`), not an array or class instance. */
function isPlainObject(value: unknown): value is Record<PropertyKey, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * `value` with every own key whose value is `undefined` left out, at every nesting level of plain
 * objects, so that `{ ms: undefined }` reads exactly like `{}` (as `JSON.stringify` reads it).
 *
 * @remarks
 * Never mutates `value`: a plain object that holds an `undefined` somewhere is copied (same
 * prototype, other keys and their order kept, `__proto__` kept as an own key so reserved-name checks
 * still see it); one that holds none is returned as is. Only plain objects are walked: arrays,
 * functions and class instances are kept by reference, and so are the top-level keys listed in
 * `opaqueKeys` even when they hold plain objects (e.g. a hand-written RxJS scheduler). Accessor
 * properties are kept without being called. Cold path (configuration only).
 *
 * @param opaqueKeys - top-level keys whose values are kept by reference, never walked.
 */
export function withoutUndefinedKeys<T>(value: T, opaqueKeys: readonly PropertyKey[] = []): T {
  if (!isPlainObject(value)) return value;
  let copy: Record<PropertyKey, unknown> | undefined;
  const keys = Reflect.ownKeys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
    const isData = "value" in descriptor;
    const dropped = isData && descriptor.enumerable === true && descriptor.value === undefined;
    const walked =
      isData && !dropped && !opaqueKeys.includes(key)
        ? withoutUndefinedKeys(descriptor.value)
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
  return (copy ?? value) as T;
}

/**
 * An options object as callers may write it: every key optional and allowed to be `undefined`
 * (which means the same as leaving it out), also for callers compiling with
 * `exactOptionalPropertyTypes`.
 */
export type OptionalInput<T> = { readonly [K in keyof T]?: T[K] | undefined };
