import type { Scale } from "./scale.js";

/**
 * The kinds of parameters a solver searches, as a config declares them, and the TypeScript types
 * of the values they take.
 */

/** Any JSON value: what a categorical parameter may choose from. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** A value of one parameter in a trial: a number (float, int) or one of a categorical's choices. */
export type ParamValue = JsonValue;

/**
 * When a parameter exists: for each named categorical parameter, the choices under which it does.
 * `{ optimizer: ["sgd"] }` means "only when `optimizer` is `"sgd"`" (and `optimizer` itself is
 * present); several names must all hold.
 */
export type Condition = { readonly [parent: string]: readonly JsonValue[] };

interface ParamBase {
  /** Makes the parameter conditional: absent from a trial unless the condition holds. */
  readonly when?: Condition | undefined;
}

/**
 * A real number in [min, max] (the default kind: `type` may be left out); with `step`, one of
 * min, min + step, …, max. With min = max it is fixed: every trial carries that value and the
 * strategies never see it.
 */
export interface FloatParamInput extends ParamBase {
  readonly type?: "float" | undefined;
  readonly min: number;
  readonly max: number;
  /**
   * Grid spacing, a number > 0 such that max is min plus a whole number of steps (at least 1
   * unless min = max), and not finer than doubles hold at these values (not with `scale: "log"`).
   * Values come back rounded to the decimals `min` and `step` are written with: steps of 0.1 give
   * 0.3, not 0.30000000000000004.
   */
  readonly step?: number | undefined;
  /** `"linear"` (default) or `"log"` (searched in log space; needs min > 0). */
  readonly scale?: Scale | undefined;
}

/**
 * A whole number in [min, max], on the grid min, min + step, …, max. With min = max it is fixed,
 * as a float is.
 */
export interface IntParamInput extends ParamBase {
  readonly type: "int";
  readonly min: number;
  readonly max: number;
  /** Grid spacing, a whole number > 0 that divides max − min (default 1; not with `scale: "log"`). */
  readonly step?: number | undefined;
  /** `"linear"` (default) or `"log"` (every value, searched in log space; needs min ≥ 1). */
  readonly scale?: Scale | undefined;
}

/** One of a list of JSON values, unordered. */
export interface CategoricalParamInput<C extends JsonValue = JsonValue> extends ParamBase {
  readonly type: "categorical";
  /** The values to choose from: at least one, no two equal (compared as JSON). */
  readonly choices: readonly C[];
}

/** One parameter of a solver config's `bounds`. */
export type ParamInput = FloatParamInput | IntParamInput | CategoricalParamInput;

/** A solver config's `bounds`: the parameters by name, in declaration order. */
export type BoundsInput = { readonly [name: string]: ParamInput };

/** Names of the categorical parameters of `B`. */
type CategoricalName<B extends BoundsInput> = {
  [K in keyof B]: B[K] extends { readonly type: "categorical" } ? K : never;
}[keyof B];

/** The choices of a categorical parameter `P` (never for any other kind). */
type ChoiceOf<P> = P extends { readonly type: "categorical"; readonly choices: readonly (infer C)[] }
  ? C
  : never;

/**
 * What the conditions of bounds `B` may say, so that a literal config's `when` is type-checked as
 * its `trial.params` are: each names a categorical parameter of `B` and lists some of its
 * choices. A misspelt name's list must be a string saying so (the compiler shows it), a value that
 * is no choice is not one of the union.
 * Runtime validation checks the same for configs built at run time.
 */
export type CheckedConditions<B extends BoundsInput> = {
  readonly [K in keyof B]: B[K] extends { readonly when: infer W }
    ? W extends undefined
      ? unknown
      : {
          readonly when: {
            readonly [P in keyof W]: P extends CategoricalName<B>
              ? readonly ChoiceOf<B[P]>[]
              : "error: not a categorical parameter of these bounds";
          };
        }
    : unknown;
};

/** Every key a parameter of some kind takes. */
type ParamKey = "type" | "min" | "max" | "step" | "scale" | "choices" | "when";

/** The keys a categorical parameter takes. */
type CategoricalKey = "type" | "choices" | "when";

/** The keys a float or an int parameter takes. */
type NumberKey = "type" | "min" | "max" | "step" | "scale" | "when";

/**
 * What {@link CheckedKeys} asks of a key no parameter takes. An object type, not a string literal:
 * a literal would make the parameter's whole type `never` in an inline config (a property whose
 * types have no common value empties an intersection), and the compiler would flag every key.
 */
interface UnknownParamOption {
  readonly "error: not an option of a parameter (type, min, max, step, scale, choices, when)": true;
}

/** What {@link CheckedKeys} asks of a float's or an int's key on a categorical parameter (`min`, `step`…). */
interface NotACategoricalOption {
  readonly "error: not an option of a categorical parameter (type, choices, when)": true;
}

/** What {@link CheckedKeys} asks of `choices` on a float or an int parameter. */
interface NotANumberOption {
  readonly "error: not an option of a float or int parameter (type, min, max, step, scale, when)": true;
}

/** The keys parameter `P` takes: by its kind, when its type says which. */
type KeysOf<P> = P extends { readonly type: "categorical" } ? CategoricalKey : NumberKey;

/** What {@link CheckedKeys} asks of key `X` of parameter `P`, a key `P`'s kind does not take. */
type MisplacedKey<P, X> = X extends ParamKey
  ? P extends { readonly type: "categorical" }
    ? NotACategoricalOption
    : NotANumberOption
  : UnknownParamOption;

/**
 * The keys a literal config's parameters may have: one no kind takes (`log: true` for
 * `scale: "log"`, `low` for `min`), or one the parameter's kind does not take (`min` on a
 * categorical, `choices` on a float), must have a type no value has, so the compiler flags it;
 * without this the key compiled and only the run-time check refused it.
 */
export type CheckedKeys<B extends BoundsInput> = {
  readonly [K in keyof B]: {
    // Only a key surely there: an optional one in a declared type (`log?: boolean` in an
    // interface the value need not fill) compiles as before, and symbol keys are no options.
    readonly [X in keyof B[K] as X extends KeysOf<B[K]> | symbol ? never : X]: B[K] extends Record<X, unknown>
      ? MisplacedKey<B[K], X>
      : unknown;
  };
};

/**
 * What the generic parameter of `Solver`, `Trial`… may be: a union of names (every parameter a
 * number, as in a float-only config) or the object type of a trial's params.
 */
export type ParamShape = string | object;

/**
 * The params of a trial for shape `P`: `string` (a config built at run time) gives any name and
 * any value; a union of names gives numbers; an object type is itself.
 */
export type Params<P extends ParamShape> = [P] extends [string]
  ? string extends P
    ? Record<string, ParamValue>
    : Record<P, number>
  : P;

type ValueOf<T> = T extends { readonly type: "categorical"; readonly choices: readonly (infer C)[] }
  ? C
  : number;
type IsConditional<T> = T extends { readonly when: Condition } ? true : false;
type IsPlainNumber<T> = T extends { readonly type: "categorical" }
  ? false
  : IsConditional<T> extends true
    ? false
    : true;
type AllPlainNumbers<B> = false extends { [K in keyof B]: IsPlainNumber<B[K]> }[keyof B] ? false : true;

/** The object type of a trial's params for the literal bounds `B` (conditional ones optional). */
export type ParamObject<B extends BoundsInput> = {
  -readonly [K in keyof B as IsConditional<B[K]> extends true ? never : K]: ValueOf<B[K]>;
} & {
  -readonly [K in keyof B as IsConditional<B[K]> extends true ? K : never]?: ValueOf<B[K]>;
} extends infer O
  ? { [K in keyof O]: O[K] }
  : never;

/**
 * The parameter shape `createSolver` infers from a literal `bounds`: its names when every
 * parameter is an unconditional number (so such configs keep their `Solver<"x" | "y">` type),
 * else the object type of the params. For bounds built at run time (`string` keys): numbers when
 * their type admits only unconditional floats and ints, else `string` (any JSON value).
 */
export type ParamsOf<B extends BoundsInput> = string extends keyof B
  ? IsPlainNumber<B[string]> extends true
    ? Record<string, number>
    : string
  : AllPlainNumbers<B> extends true
    ? keyof B & string
    : ParamObject<B>;

/**
 * A start point for the literal bounds `B`: any of its parameters, each with its own value type
 * (a float or an int a number, a categorical one of its choices), so that a misspelt name or a
 * value that is no choice does not compile. Bounds built at run time (`string` keys) take any
 * name and any JSON value, checked when the solver is created.
 */
export type StartPointOf<B extends BoundsInput> = string extends keyof B
  ? Readonly<Record<string, ParamValue | undefined>>
  : { readonly [K in keyof B]?: ValueOf<B[K]> | undefined };

/** How deep a JSON value may nest arrays and objects (deeper ones would overflow the checks' stack). */
export const MAX_JSON_DEPTH = 256;

/**
 * Whether `value` is a JSON value: null, a string, a boolean, a finite number, or an array (with no
 * holes) or plain object of JSON values, with no cycle and nested at most {@link MAX_JSON_DEPTH}
 * deep. What a categorical choice, or a value told for one, may be.
 */
export function isJsonValue(value: unknown): boolean {
  return isJsonWithin(value, new Set());
}

/** {@link isJsonValue} for a value whose containers `ancestors` holds (one that contains itself is not JSON). */
function isJsonWithin(value: unknown, ancestors: Set<object>): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value !== "object" || ancestors.has(value) || ancestors.size >= MAX_JSON_DEPTH) return false;
  const isArray = Array.isArray(value);
  if (!isArray && Object.getPrototypeOf(value) !== Object.prototype) return false;
  ancestors.add(value);
  let json = true;
  if (isArray) {
    for (let i = 0; json && i < value.length; i++) json = i in value && isJsonWithin(value[i], ancestors);
  } else {
    for (const item of Object.values(value)) if (json) json = isJsonWithin(item, ancestors);
  }
  // A value met again outside this one's own contents is shared, not a cycle.
  ancestors.delete(value);
  return json;
}

/**
 * A canonical text of a JSON value (object keys sorted), so that two equal values — `{a:1,b:2}`
 * and `{b:2,a:1}` — compare equal whatever their key order.
 */
export function jsonKey(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(jsonKey).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${jsonKey(record[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "undefined";
}
