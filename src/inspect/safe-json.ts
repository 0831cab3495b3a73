import { shownValue } from "../shown-value.js";

/** Limits of {@link toJsonSafe}. */
export interface SafeJsonOptions {
  /**
   * Levels of nested objects and arrays kept; deeper ones are replaced by `"[MaxDepth]"`. A whole
   * number ≥ 0 or Infinity (default 12); 0 replaces the value itself when it is an object. A `Map`'s
   * `[key, value]` pairs are no level of their own.
   */
  readonly maxDepth?: number;
  /**
   * Elements of an array or typed array, entries of a `Map` or `Set`, kept; the rest is summarised
   * by a `"[… n more]"` entry. A whole number ≥ 0 or Infinity (default 1000); 0 keeps none.
   */
  readonly maxArrayLength?: number;
}

/** A value that `JSON.stringify` writes as it is. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

const DEFAULT_MAX_DEPTH = 12;
const DEFAULT_MAX_ARRAY_LENGTH = 1000;

/**
 * Throws a RangeError, from `caller`, unless the option `name` is undefined, a whole number ≥ 0 or
 * Infinity (no limit); NaN, a negative or a fraction would silently drop data or lift the limit.
 */
export function checkCountOption(caller: string, name: string, value: unknown): void {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return;
  if (Number.isSafeInteger(value) && (value as number) >= 0) return;
  throw new RangeError(`${caller}: ${name} must be a whole number ≥ 0 or Infinity, got ${shownValue(value)}`);
}

/** Throws a RangeError, from `caller`, naming the first limit of `options` that is not a whole number ≥ 0 or Infinity. */
export function checkSafeJsonOptions(caller: string, options: SafeJsonOptions): void {
  checkCountOption(caller, "maxDepth", options.maxDepth);
  checkCountOption(caller, "maxArrayLength", options.maxArrayLength);
}

/**
 * A JSON-safe copy of `value`, taken now: what an inspection sink can write without throwing and
 * without losing what JSON would silently drop.
 *
 * @remarks
 * Never throws for any value (only a limit in `options` that is not a whole number ≥ 0 or Infinity throws, a
 * RangeError). Typed arrays become plain arrays (copied now, so later in-place writes do not
 * change what was recorded); non-finite numbers become `"NaN"`, `"Infinity"`, `"-Infinity"`;
 * bigints their decimal string; functions `"[Function name]"`; symbols their description;
 * `Map`s arrays of `[key, value]` pairs (the limits count the entries, never inside a pair);
 * `Set`s arrays; `Date`s ISO strings; own `"__proto__"` keys stay own keys, as in JSON; errors
 * `{ name, message }`; actor references `{ "@actor": id }`; repeated references on the current
 * path `"[Circular]"`; getters that throw `"[Throws]"`. Objects with `toJSON` are serialised
 * through it. O(size of the value) up to the limits: arrays, typed arrays, `Map`s and `Set`s are
 * read up to `maxArrayLength` elements, never further.
 */
export function toJsonSafe(value: unknown, options: SafeJsonOptions = {}): JsonValue {
  checkSafeJsonOptions("toJsonSafe", options);
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxArrayLength = options.maxArrayLength ?? DEFAULT_MAX_ARRAY_LENGTH;
  const path = new Set<object>();

  const list = (items: ArrayLike<unknown>, convert: (item: unknown) => JsonValue) => {
    const kept = Math.min(items.length, maxArrayLength);
    const out: JsonValue[] = [];
    for (let i = 0; i < kept; i++) out.push(convert(items[i]));
    if (items.length > kept) out.push(`[… ${items.length - kept} more]`);
    return out;
  };

  // A Map or Set is read through its iterator up to the limit only (never copied whole first);
  // its size says how many were left out.
  const firstOf = (items: Iterable<unknown>, size: number, convert: (item: unknown) => JsonValue) => {
    const out: JsonValue[] = [];
    if (maxArrayLength > 0) {
      for (const item of items) {
        out.push(convert(item));
        if (out.length >= maxArrayLength) break;
      }
    }
    if (size > out.length) out.push(`[… ${size - out.length} more]`);
    return out;
  };

  const visit = (v: unknown, depth: number): JsonValue => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return v;
      case "number":
        return Number.isFinite(v) ? v : String(v);
      case "bigint":
        return v.toString();
      case "undefined":
        return null;
      case "symbol":
        return v.description === undefined ? "[Symbol]" : `[Symbol ${v.description}]`;
      case "function":
        return v.name === "" ? "[Function]" : `[Function ${v.name}]`;
    }
    if (v === null) return null;
    const object = v as object;
    if (depth >= maxDepth) return "[MaxDepth]";
    if (path.has(object)) return "[Circular]";
    path.add(object);
    try {
      return visitObject(object, depth);
    } catch {
      return "[Throws]";
    } finally {
      path.delete(object);
    }
  };

  const visitObject = (object: object, depth: number): JsonValue => {
    const next = (item: unknown) => visit(item, depth + 1);
    if (ArrayBuffer.isView(object)) {
      if (object instanceof DataView) return { "@bytes": object.byteLength };
      return list(object as unknown as ArrayLike<unknown>, (x) =>
        typeof x === "bigint" ? x.toString() : visit(x, depth + 1),
      );
    }
    if (Array.isArray(object)) return list(object, next);
    if (object instanceof ArrayBuffer) return { "@bytes": object.byteLength };
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString();
    if (object instanceof Error) return { name: object.name, message: object.message };
    if (object instanceof Map) {
      // A pair is how an entry is written, not data: neither truncated nor a level of nesting.
      return firstOf(object.entries(), object.size, (entry) => {
        const [key, item] = entry as [unknown, unknown];
        return [next(key), next(item)];
      });
    }
    if (object instanceof Set) return firstOf(object.values(), object.size, next);
    if (isActorRef(object)) return { "@actor": actorLabel(object) };
    const withToJson = object as { toJSON?: unknown };
    if (typeof withToJson.toJSON === "function") {
      const json: unknown = (withToJson.toJSON as () => unknown).call(object);
      // toJSON may return the object itself (or another object); visit its result one level down.
      return json === object ? plainObject(object, depth) : visit(json, depth + 1);
    }
    return plainObject(object, depth);
  };

  const plainObject = (object: object, depth: number): JsonValue => {
    const out: Record<string, JsonValue> = {};
    for (const key of Object.keys(object)) {
      let item: unknown;
      try {
        item = (object as Record<string, unknown>)[key];
      } catch {
        setOwn(out, key, "[Throws]");
        continue;
      }
      // Like JSON.stringify, drop undefined members rather than writing null.
      if (item !== undefined) setOwn(out, key, visit(item, depth + 1));
    }
    return out;
  };

  return visit(value, 0);
}

/**
 * `out[key] = value`, except that an own `"__proto__"` key (JSON.parse makes them) stays an own
 * member: assigning it would set the copy's prototype instead, losing the member.
 */
function setOwn(out: Record<string, JsonValue>, key: string, value: JsonValue): void {
  if (key === "__proto__")
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** `JSON.stringify(toJsonSafe(value, options))`: one line of JSON, whatever `value` holds. */
export function stringifySafe(value: unknown, options?: SafeJsonOptions): string {
  return JSON.stringify(toJsonSafe(value, options));
}

/** Whether `value` looks like an XState actor reference (has a session id and `send`). */
export function isActorRef(value: object): value is { sessionId: string; send: unknown } {
  const v = value as { sessionId?: unknown; send?: unknown };
  return typeof v.sessionId === "string" && typeof v.send === "function";
}

/** The most readable name of an actor reference: its system id, else its id, else its session id. */
export function actorLabel(ref: object): string {
  const r = ref as { systemId?: unknown; id?: unknown; sessionId?: unknown };
  if (typeof r.systemId === "string") return r.systemId;
  if (typeof r.id === "string") return r.id;
  return String(r.sessionId);
}
