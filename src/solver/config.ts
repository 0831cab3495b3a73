import * as Either from "effect/Either";
import * as ParseResult from "effect/ParseResult";
import * as Schema from "effect/Schema";
import type { ParseOptions } from "effect/SchemaAST";
import {
  type ConfigShape,
  isReservedName,
  withoutUndefinedKeys,
  withReservedNameIssues,
} from "../config-input.js";
import { ConfigError, type ConfigIssue } from "../errors.js";
import type { InspectionSink } from "../inspect/inspection-record.js";
import { schemaIssueMessage } from "../schema-issue.js";
import {
  type BoundsInput,
  type CheckedConditions,
  type CheckedKeys,
  isJsonValue,
  type JsonValue,
  jsonKey,
  type ParamInput,
  type StartPointOf,
} from "../space/params.js";
import { finestStep, gridIndex, gridPoint, isFixed, Space } from "../space/space.js";
import {
  GLOBAL_LOCAL_DEFAULTS,
  type GlobalLocalOptions,
  globalLocalOptionProblems,
  MAX_TPE_CANDIDATES,
} from "./global-local.js";
import { type SolverKeys, unknownSolverKeyHint } from "./unknown-key-hint.js";

/** A string that must be one of `values`; the error names every allowed value once. */
function oneOf<const T extends readonly [string, ...string[]]>(...values: T) {
  const expected = values.map((v) => JSON.stringify(v)).join(", ");
  return Schema.String.pipe(
    Schema.filter((v): v is T[number] => values.includes(v), {
      message: (issue) => `expected one of ${expected}, got ${JSON.stringify(issue.actual)}`,
    }),
  );
}

const Finite = Schema.Number.pipe(Schema.filter((n) => Number.isFinite(n) || "expected a finite number"));

const WholeNumber = Schema.Number.pipe(
  Schema.filter(
    (n) =>
      Number.isSafeInteger(n) ||
      // 2^53 is whole, but past it a double cannot hold every int: say which rule it broke.
      (Number.isInteger(n) ? "expected a whole number within ±(2^53 − 1)" : "expected a whole number"),
  ),
);

/** A JSON value: what `choices` and conditions hold (no `undefined`, functions or non-finite numbers). */
const JsonValueSchema = Schema.Unknown.pipe(
  Schema.filter((v) => isJsonValue(v) || "expected a JSON value (finite numbers only)"),
);

/** A parameter's value in a point: a JSON value, as {@link JsonValueSchema}, typed as one. */
const ParamValueSchema = Schema.Unknown.pipe(
  Schema.filter((v): v is JsonValue => isJsonValue(v), {
    message: () => "expected a JSON value (finite numbers only)",
  }),
);

/** The problem of one parent's values in a condition, or undefined when they are a valid list. */
function conditionValuesIssue(u: unknown): string | undefined {
  if (!Array.isArray(u)) return "expected a list of the parent's choices";
  if (u.length === 0) return "expected at least one choice";
  // By index, not `every`: a hole in the list (`["a", , "b"]`) is a missing value, not a skip.
  for (let i = 0; i < u.length; i++)
    if (!isJsonValue(u[i])) return `value ${i}: expected a JSON value (finite numbers only)`;
  return undefined;
}

const ConditionSchema = Schema.Record({
  key: Schema.String,
  value: Schema.declare((u): u is readonly JsonValue[] => conditionValuesIssue(u) === undefined, {
    message: (issue) => conditionValuesIssue(issue.actual) ?? "invalid condition",
  }),
}).annotations({
  message: () => 'expected an object of the parent\'s choices by its name, such as { "optimizer": ["sgd"] }',
});

const FloatSchema = Schema.Struct({
  type: Schema.optionalWith(oneOf("float"), { exact: true }),
  min: Finite,
  max: Finite,
  step: Schema.optionalWith(
    Finite.pipe(Schema.filter((n) => n > 0 || `expected a number greater than 0, got ${n}`)),
    { exact: true },
  ),
  scale: Schema.optionalWith(oneOf("linear", "log"), { exact: true }),
  when: Schema.optionalWith(ConditionSchema, { exact: true }),
}).pipe(
  Schema.filter((b) => {
    if (!(b.min <= b.max)) return `min (${b.min}) must not exceed max (${b.max})`;
    if (!Number.isFinite(b.max - b.min))
      return `the range max − min must be a finite number, got ${b.max - b.min}`;
    if (b.scale === "log" && !(b.min > 0)) return `log scale needs min > 0, got min = ${b.min}`;
    if (b.step === undefined) return true;
    if (b.scale === "log") return "step cannot be combined with log scale";
    if (b.min === b.max) return true; // fixed: its one value needs no grid
    // As for an int: every grid value needs a cell of its own on the unit axis.
    if (!((b.max - b.min) / b.step < MAX_INT_CELLS)) {
      return `(max − min) / step must be below 2^51 (each value needs a cell of its own on the unit axis), got ${(b.max - b.min) / b.step}`;
    }
    const finest = finestStep(b.min, b.max);
    if (!(b.step >= finest)) {
      const near = Math.max(Math.abs(b.min), Math.abs(b.max));
      const whole = Number.isInteger(b.min) && Number.isInteger(b.step) ? ' (or use type "int")' : "";
      return `step (${b.step}) is too fine for values near ${near}: it must be at least ${roundedUp(finest)} there, for each value to be told back as itself${whole}`;
    }
    const steps = gridIndex(b.min, b.step, b.max);
    if (steps === null) {
      // Optuna lowers such a max to the grid; a ported config is told where the grid ends instead.
      const below = Math.floor((b.max - b.min) / b.step);
      const near = [below, below + 1].filter((k) => k >= 1).map((k) => gridPoint(b.min, b.step!, k));
      return `max (${b.max}) must be min (${b.min}) plus a whole number of steps (${b.step})${nearestMax(near)}`;
    }
    // A max within rounding of min: which of the two would the one value be? (min = max fixes it.)
    if (steps < 1) return `max (${b.max}) must be at least min (${b.min}) plus one step (${b.step})`;
    return true;
  }),
);

/** ": max 0.9 or 1.2 would be", the valid maxima nearest a max off its grid ("" when none is). */
function nearestMax(candidates: readonly number[]): string {
  return candidates.length === 0 ? "" : `: max ${candidates.join(" or ")} would be`;
}

/** `x` written with two significant digits, rounded up (a limit shown is never below the real one). */
function roundedUp(x: number): number {
  const unit = 10 ** (Math.floor(Math.log10(x)) - 1);
  return Number((Math.ceil(x / unit) * unit).toPrecision(2));
}

/** An int's (max − min) / step stays below this: at most 2^51 cells on its unit axis (see {@link IntSchema}). */
const MAX_INT_CELLS = 2 ** 51;
/** {@link MAX_INT_CELLS} as a bigint, for the exact checks of an int's grid. */
const MAX_INT_CELL_COUNT = 2n ** 51n;
/** Largest max of a log-scale int (see {@link IntSchema}). */
const MAX_LOG_INT = 2 ** 44;

const WholeAtLeast = (minimum: number) =>
  Schema.Number.pipe(
    Schema.filter(
      (n) => (Number.isSafeInteger(n) && n >= minimum) || `expected a whole number ≥ ${minimum}, got ${n}`,
    ),
  );

/** Options the median and percentile pruners share. */
const RankPrunerFields = {
  startupTrials: Schema.optionalWith(WholeAtLeast(0), { exact: true }),
  warmupSteps: Schema.optionalWith(WholeAtLeast(0), { exact: true }),
  intervalSteps: Schema.optionalWith(WholeAtLeast(1), { exact: true }),
  minTrials: Schema.optionalWith(WholeAtLeast(1), { exact: true }),
};

const MedianPrunerSchema = Schema.Struct({ kind: Schema.Literal("median"), ...RankPrunerFields });

const PercentilePrunerSchema = Schema.Struct({
  kind: Schema.Literal("percentile"),
  percentile: Schema.Number.pipe(
    Schema.filter((n) => (n >= 0 && n <= 100) || `expected a number from 0 to 100, got ${n}`),
  ),
  ...RankPrunerFields,
});

const ThresholdPrunerSchema = Schema.Struct({
  kind: Schema.Literal("threshold"),
  lower: Schema.optionalWith(Finite, { exact: true }),
  upper: Schema.optionalWith(Finite, { exact: true }),
  warmupSteps: Schema.optionalWith(WholeAtLeast(0), { exact: true }),
  intervalSteps: Schema.optionalWith(WholeAtLeast(1), { exact: true }),
});

const AshaPrunerSchema = Schema.Struct({
  kind: Schema.Literal("asha"),
  minResource: Schema.optionalWith(WholeAtLeast(1), { exact: true }),
  reductionFactor: Schema.optionalWith(WholeAtLeast(2), { exact: true }),
  minEarlyStoppingRate: Schema.optionalWith(WholeAtLeast(0), { exact: true }),
});

/** `pruner`: dispatched on `kind` by hand so an error names the member's own field, not the union. */
const PrunerSchema = Schema.declare((u): u is PrunerConfig => prunerIssue(u) === undefined, {
  message: (issue) => prunerIssue(issue.actual) ?? "invalid pruner",
});

/** The keys each kind of pruner takes (`kind` included). */
export const PRUNER_KEYS: Readonly<Record<PrunerConfig["kind"], readonly string[]>> = {
  median: Object.keys(MedianPrunerSchema.fields),
  percentile: Object.keys(PercentilePrunerSchema.fields),
  asha: Object.keys(AshaPrunerSchema.fields),
  threshold: Object.keys(ThresholdPrunerSchema.fields),
};

/** Each kind's decoder, to the first problem it finds (the value itself is not needed). */
const PRUNER_DECODERS: Readonly<
  Record<
    PrunerConfig["kind"],
    (u: unknown, options: ParseOptions) => Either.Either<unknown, ParseResult.ParseError>
  >
> = {
  median: Schema.decodeUnknownEither(MedianPrunerSchema),
  percentile: Schema.decodeUnknownEither(PercentilePrunerSchema),
  asha: Schema.decodeUnknownEither(AshaPrunerSchema),
  threshold: Schema.decodeUnknownEither(ThresholdPrunerSchema),
};

const PRUNER_KINDS = Object.keys(PRUNER_DECODERS) as readonly PrunerConfig["kind"][];

/** The first problem of a `pruner` value, as "field: reason", or undefined when it is valid. */
function prunerIssue(u: unknown): string | undefined {
  if (typeof u !== "object" || u === null || Array.isArray(u)) {
    return 'expected an object such as { "kind": "median" } or { "kind": "asha" }';
  }
  const kind = (u as { kind?: unknown }).kind;
  if (!PRUNER_KINDS.includes(kind as PrunerConfig["kind"])) {
    const kinds = PRUNER_KINDS.map((k) => `"${k}"`);
    return `kind: expected ${kinds.slice(0, -1).join(", ")} or ${kinds.at(-1)}, got ${JSON.stringify(kind) ?? "nothing"}`;
  }
  const known = kind as PrunerConfig["kind"];
  const result = PRUNER_DECODERS[known](u, { onExcessProperty: "error" });
  if (Either.isLeft(result)) {
    const first = ParseResult.ArrayFormatter.formatErrorSync(result.left)[0]!;
    const message =
      first._tag === "Unexpected" ? `unknown key for kind "${known}"` : schemaIssueMessage(first, u);
    return `${first.path.map(String).join(".")}: ${message}`;
  }
  if (known === "threshold") {
    const { lower, upper } = u as ThresholdPrunerConfig;
    if (lower === undefined && upper === undefined)
      return "lower: a threshold pruner needs lower, upper or both";
    if (lower !== undefined && upper !== undefined && !(lower < upper))
      return `upper: must be greater than lower (${lower}), got ${upper}`;
  }
  return undefined;
}

const IntSchema = Schema.Struct({
  type: oneOf("int"),
  min: WholeNumber,
  max: WholeNumber,
  step: Schema.optionalWith(
    WholeNumber.pipe(Schema.filter((n) => n > 0 || `expected a whole number greater than 0, got ${n}`)),
    { exact: true },
  ),
  scale: Schema.optionalWith(oneOf("linear", "log"), { exact: true }),
  when: Schema.optionalWith(ConditionSchema, { exact: true }),
}).pipe(
  Schema.filter((b) => {
    if (!(b.min <= b.max)) return `min (${b.min}) must not exceed max (${b.max})`;
    // Step 1 is every whole number, which a log-scale int takes anyway (Optuna accepts it too).
    if (b.scale === "log" && b.step !== undefined && b.step !== 1)
      return "a step other than 1 cannot be combined with log scale";
    if (b.scale === "log" && !(b.min >= 1)) return `log scale needs min ≥ 1, got min = ${b.min}`;
    // On a log scale a value comes back from exp(log) within a few rounding errors of the log,
    // times the value: below 2^44 that stays far under ½ (values came back 1 off from about 2^47).
    if (b.scale === "log" && !(b.max <= MAX_LOG_INT))
      return `log scale needs max ≤ 2^44 (${MAX_LOG_INT}; each value must come back from its log exactly), got max = ${b.max}`;
    const step = b.step ?? 1;
    // In exact integers: past 2^53, max − min in doubles is rounded, and so would be k · step.
    const span = BigInt(b.max) - BigInt(b.min);
    if (span > BigInt(Number.MAX_SAFE_INTEGER)) {
      return `max − min must be at most 2^53 − 1 (each value min + k·step must be exact in doubles), got ${span}`;
    }
    // Every value must be a cell of its own on the unit axis and come back from it unchanged: the
    // k-th of L cells is at (k + ½)/L, and floor(L · that) = k in doubles holds while k + ½ < 2^51
    // (two roundings, each within 2^−53 of k + ½). From about 2^52 cells values come back 1 off.
    if (!((b.max - b.min) / step < MAX_INT_CELLS)) {
      return `(max − min) / step must be below 2^51 (each value needs a cell of its own on the unit axis), got ${(b.max - b.min) / step}`;
    }
    const off = span % BigInt(step);
    if (off !== 0n) {
      const min = BigInt(b.min);
      const below = BigInt(b.max) - off;
      // Only maxima this schema accepts: above min, whole numbers a double holds, a span within
      // 2^53 − 1 and few enough cells.
      const safe = BigInt(Number.MAX_SAFE_INTEGER);
      const near = [below, below + BigInt(step)].filter(
        (max) =>
          max > min && max <= safe && max - min <= safe && (max - min) / BigInt(step) < MAX_INT_CELL_COUNT,
      );
      return `max − min (${span}) must be a multiple of step (${step})${nearestMax(near.map(Number))}`;
    }
    return true;
  }),
);

const CategoricalSchema = Schema.Struct({
  type: oneOf("categorical"),
  choices: Schema.Array(JsonValueSchema)
    .annotations({ message: () => "expected a list of choices" })
    .pipe(
      Schema.filter((choices) => {
        if (choices.length === 0) return "expected at least one choice";
        const first = new Map<string, number>();
        for (let i = 0; i < choices.length; i++) {
          const key = jsonKey(choices[i]);
          const earlier = first.get(key);
          if (earlier !== undefined) return `choices ${earlier} and ${i} are equal (${key})`;
          first.set(key, i);
        }
        return true;
      }),
    ),
  when: Schema.optionalWith(ConditionSchema, { exact: true }),
});

const PARAM_SCHEMAS = { float: FloatSchema, int: IntSchema, categorical: CategoricalSchema } as const;

/** One parameter, checked against the schema of its `type` (float when omitted). */
const ParamSchema = Schema.Unknown.pipe(
  Schema.filter((raw) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return "expected a parameter object";
    const type = (raw as { type?: unknown }).type ?? "float";
    if (typeof type !== "string" || !Object.hasOwn(PARAM_SCHEMAS, type)) {
      return {
        path: ["type"],
        message: `expected one of "float", "int", "categorical", got ${JSON.stringify(type)}`,
      };
    }
    const schema = PARAM_SCHEMAS[type as keyof typeof PARAM_SCHEMAS] as Schema.Schema<unknown>;
    const result = Schema.decodeUnknownEither(schema)(raw, { errors: "all", onExcessProperty: "error" });
    if (Either.isRight(result)) return true;
    return ParseResult.ArrayFormatter.formatErrorSync(result.left).map((issue) => ({
      path: issue.path,
      message: schemaIssueMessage(issue, raw),
    }));
  }),
) as unknown as Schema.Schema<ParamInput, unknown>;

/**
 * Problems between parameters, once each is valid on its own: a condition naming an unknown,
 * non-categorical or the same parameter, or a value that is not one of the parent's choices, and
 * conditions that form a cycle.
 */
function conditionIssues(bounds: Readonly<Record<string, ParamInput>>, origin: ConfigOrigin): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const names = Object.keys(bounds);
  for (const name of names) {
    const when = bounds[name]!.when;
    if (when === undefined) continue;
    // An empty condition would hold everywhere: a parameter meant to be conditional never would
    // be. Checked here, on the config as given: decoding drops an own "__proto__" key.
    if (Object.keys(when).length === 0) {
      issues.push({ path: `bounds.${name}.when`, message: "expected at least one parent" });
      continue;
    }
    for (const [parent, values] of Object.entries(when)) {
      const at = `bounds.${name}.when.${parent}`;
      // Own keys only: `toString` or `__proto__` must not find Object.prototype's members.
      const spec = Object.hasOwn(bounds, parent) ? bounds[parent] : undefined;
      if (parent === name) issues.push({ path: at, message: "a parameter cannot depend on itself" });
      else if (spec === undefined)
        issues.push({ path: at, message: `unknown parameter ${JSON.stringify(parent)}` });
      else if (spec.type !== "categorical") {
        issues.push({
          path: at,
          message: `${JSON.stringify(parent)} is not categorical (a condition names a categorical parameter)`,
        });
      } else {
        const choices = new Set(spec.choices.map(jsonKey));
        const first = new Map<string, number>();
        values.forEach((value, i) => {
          const key = jsonKey(value);
          const earlier = first.get(key);
          if (!choices.has(key))
            issues.push({ path: `${at}.${i}`, message: `${key} is not a choice of ${parent}` });
          // A slip, refused as in `choices`; only in a new config, so a run saved before reopens.
          else if (earlier !== undefined && origin === "new")
            issues.push({ path: `${at}.${i}`, message: `equals value ${earlier} (${key})` });
          if (earlier === undefined) first.set(key, i);
        });
      }
    }
  }
  if (issues.length > 0) return issues;
  // A cycle: following `when` parents from some parameter comes back to it.
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, trail: string[]): string[] | null => {
    if (state.get(name) === "done") return null;
    if (state.get(name) === "visiting") return [...trail.slice(trail.indexOf(name)), name];
    state.set(name, "visiting");
    for (const parent of Object.keys(bounds[name]!.when ?? {})) {
      const cycle = visit(parent, [...trail, name]);
      if (cycle !== null) return cycle;
    }
    state.set(name, "done");
    return null;
  };
  for (const name of names) {
    const cycle = visit(name, []);
    if (cycle !== null) {
      return [{ path: `bounds.${cycle[0]}.when`, message: `conditions form a cycle: ${cycle.join(" → ")}` }];
    }
  }
  // A saved run whose parameter never appears ran so: it reopens as it ran.
  return origin === "new" ? conditionsThatNeverHold(bounds) : [];
}

/**
 * Parameters that can never be present: their condition, with those of the parents it needs
 * (and theirs), asks one categorical for choices no single value has. Conditions are conjunctions
 * of "parent ∈ choices", so a parameter is present for some point exactly when, for each
 * categorical its ancestors' conditions name, the lists they give it share a choice. Only where
 * the conflict first arises is reported: a parameter that depends on one reported is fixed with it.
 * Runs on acyclic conditions that name existing categoricals and their choices.
 */
function conditionsThatNeverHold(bounds: Readonly<Record<string, ParamInput>>): ConfigIssue[] {
  /** Per categorical, what presence of a parameter requires of it: the choices left, and who asked. */
  type Needs = Map<string, { readonly keys: Set<string>; readonly from: string[] }>;
  const needs = new Map<string, Needs | null>();
  const issues: ConfigIssue[] = [];
  const needsOf = (name: string): Needs | null => {
    const known = needs.get(name);
    if (known !== undefined) return known;
    const when = bounds[name]!.when ?? {};
    const own: Needs = new Map();
    let parentDead = false;
    let conflict: string | undefined;
    for (const parent of Object.keys(when)) {
      const inherited = needsOf(parent);
      if (inherited === null) parentDead = true;
      else
        for (const [categorical, need] of inherited)
          if (!merge(own, categorical, need.keys, need.from)) conflict ??= categorical;
    }
    for (const [parent, values] of Object.entries(when)) {
      const from = `${name} needs ${parent} in ${JSON.stringify(values)}`;
      if (!merge(own, parent, new Set(values.map(jsonKey)), [from])) conflict ??= parent;
    }
    const dead = parentDead || conflict !== undefined;
    needs.set(name, dead ? null : own);
    if (!parentDead && conflict !== undefined) {
      issues.push({
        path: `bounds.${name}.when`,
        message: `never holds, so ${name} would never be present: no value of ${conflict} meets them all (${own.get(conflict)!.from.join("; ")})`,
      });
    }
    return dead ? null : own;
  };
  /** Narrows `categorical`'s choices in `into` to `keys`; false when none is left. */
  const merge = (into: Needs, categorical: string, keys: ReadonlySet<string>, from: readonly string[]) => {
    const had = into.get(categorical);
    if (had === undefined) {
      into.set(categorical, { keys: new Set(keys), from: [...from] });
      return keys.size > 0;
    }
    for (const key of had.keys) if (!keys.has(key)) had.keys.delete(key);
    for (const f of from) if (!had.from.includes(f)) had.from.push(f);
    return had.keys.size > 0;
  };
  for (const name of Object.keys(bounds)) needsOf(name);
  return issues;
}

/**
 * Effect Schema of {@link SolverConfig}; unknown keys are rejected, not ignored. It describes a config
 * whose `undefined` keys were already dropped ({@link withoutUndefinedKeys}), so an optional key is
 * either absent or valid; {@link solverConfigIssues} does that first.
 */
export const SolverConfigSchema = Schema.Struct({
  seed: Schema.Number.pipe(Schema.filter((n) => Number.isSafeInteger(n) || "expected a safe integer")),
  budget: Schema.Number.pipe(
    Schema.filter((n) => (Number.isSafeInteger(n) && n > 0) || "expected a whole number greater than 0"),
  ),
  bounds: Schema.Record({ key: Schema.String, value: ParamSchema })
    .annotations({
      message: () => 'expected an object of parameters by name, such as { "x": { "min": 0, "max": 1 } }',
    })
    .pipe(Schema.filter((b) => Object.keys(b).length > 0 || "expected at least one parameter")),
  probeRatio: Schema.optionalWith(
    Finite.pipe(Schema.filter((r) => (r > 0 && r <= 1) || "expected a number in (0, 1]")),
    { exact: true },
  ),
  strategy: Schema.optionalWith(oneOf("auto", "nelder-mead", "tpe"), { exact: true }),
  direction: Schema.optionalWith(oneOf("minimize", "maximize"), { exact: true }),
  autoOptions: Schema.optionalWith(
    Schema.Struct({
      gamma: Schema.optionalWith(Schema.Number, { exact: true }),
      candidates: Schema.optionalWith(Schema.Number, { exact: true }),
      bandwidthFloor: Schema.optionalWith(Schema.Number, { exact: true }),
      rankExponent: Schema.optionalWith(Schema.Number, { exact: true }),
      localStep: Schema.optionalWith(Schema.Number, { exact: true }),
      globalPhase: Schema.optionalWith(Schema.Number, { exact: true }),
      stagnation: Schema.optionalWith(Schema.Number, { exact: true }),
      openingShare: Schema.optionalWith(Schema.Number, { exact: true }),
      localRoom: Schema.optionalWith(Schema.Number, { exact: true }),
      minGain: Schema.optionalWith(Schema.Number, { exact: true }),
      tieShare: Schema.optionalWith(Schema.Number, { exact: true }),
      maxStreak: Schema.optionalWith(Schema.Number, { exact: true }),
      localBusyShare: Schema.optionalWith(Schema.Number, { exact: true }),
    }).annotations({ message: () => 'expected an object of options, such as { "gamma": 0.15 }' }),
    { exact: true },
  ),
  batch: Schema.optionalWith(
    Schema.Number.pipe(
      Schema.filter((n) => (Number.isSafeInteger(n) && n > 0) || "expected a whole number greater than 0"),
    ),
    { exact: true },
  ),
  pruner: Schema.optionalWith(PrunerSchema, { exact: true }),
  startPoints: Schema.optionalWith(
    Schema.Array(
      Schema.Record({ key: Schema.String, value: ParamValueSchema }).annotations({
        message: () => 'expected an object of parameter values by name, such as { "x": 0.5 }',
      }),
    ).annotations({ message: () => "expected a list of points (objects of parameter values by name)" }),
    { exact: true },
  ),
  inspect: Schema.optionalWith(
    Schema.declare((u): u is InspectionSink => typeof u === "function", {
      message: () => "expected a function (an XState inspection sink)",
    }),
    { exact: true },
  ),
});

/**
 * One parameter as a solver config gives it (see {@link ParamInput}). Kept under its first name:
 * a float `{ min, max, scale }` is still written the same way.
 */
export type SolverBoundInput = ParamInput;

/** Options of the median and percentile pruners. */
interface RankPrunerOptions {
  /** No trial is pruned until this many trials have completed. Default 5. */
  readonly startupTrials?: number | undefined;
  /** Reports at steps below this never prune. Default 0. */
  readonly warmupSteps?: number | undefined;
  /**
   * Only the first report in each run of this many steps from `warmupSteps` on is judged (steps
   * `warmupSteps + k · intervalSteps` or the first after one). Default 1: every report.
   */
  readonly intervalSteps?: number | undefined;
  /** A step is judged only once at least this many completed trials reported it. Default 1. */
  readonly minTrials?: number | undefined;
}

/**
 * The median pruner (see `createPercentilePruner`): stop a trial whose best intermediate value so
 * far is worse than the median of the completed trials' values at the same step.
 */
export interface MedianPrunerConfig extends RankPrunerOptions {
  readonly kind: "median";
}

/**
 * The percentile pruner (see `createPercentilePruner`): stop a trial whose best intermediate value
 * so far is not within the best `percentile` % of the completed trials' values at the same step.
 */
export interface PercentilePrunerConfig extends RankPrunerOptions {
  readonly kind: "percentile";
  /**
   * From 0 to 100: the share of completed trials a trial must stay among the best of (25 prunes
   * harder than the median's 50, 75 more gently; 100 prunes only a trial worse than all of them).
   */
  readonly percentile: number;
}

/**
 * The threshold pruner (see `createThresholdPruner`): stop a trial whose latest intermediate value
 * is below `lower` or above `upper`, in the objective's own units whatever the direction.
 */
export interface ThresholdPrunerConfig {
  readonly kind: "threshold";
  /** Values below this prune (at least one of `lower`, `upper`). */
  readonly lower?: number | undefined;
  /** Values above this prune. */
  readonly upper?: number | undefined;
  /** Reports at steps below this never prune. Default 0. */
  readonly warmupSteps?: number | undefined;
  /** As for the median pruner: only the first report in each run of this many steps. Default 1. */
  readonly intervalSteps?: number | undefined;
}

/**
 * Asynchronous successive halving (see `createAshaPruner`): rungs at steps
 * `minResource · reductionFactor^(minEarlyStoppingRate + k)`; a trial reaching a rung goes on only
 * if its value there is among the best `1 / reductionFactor` of the trials that reached it.
 */
export interface AshaPrunerConfig {
  readonly kind: "asha";
  /** Step of the first rung (before `minEarlyStoppingRate`). Default 1. */
  readonly minResource?: number | undefined;
  /** η: the share of trials promoted at each rung is 1/η. Default 3. */
  readonly reductionFactor?: number | undefined;
  /** s: skips the first s rungs, so the first rung is at `minResource · η^s`. Default 0. */
  readonly minEarlyStoppingRate?: number | undefined;
}

/** Which pruner stops unpromising trials early (none when omitted). */
export type PrunerConfig =
  | MedianPrunerConfig
  | PercentilePrunerConfig
  | AshaPrunerConfig
  | ThresholdPrunerConfig;

/** The median and percentile pruners' options with their defaults filled in. */
interface ResolvedRankPrunerOptions {
  readonly startupTrials: number;
  readonly warmupSteps: number;
  readonly intervalSteps: number;
  readonly minTrials: number;
}

/** {@link PrunerConfig} with every default filled in. */
export type ResolvedPrunerConfig =
  | ({ readonly kind: "median" } & ResolvedRankPrunerOptions)
  | ({ readonly kind: "percentile"; readonly percentile: number } & ResolvedRankPrunerOptions)
  | {
      readonly kind: "asha";
      readonly minResource: number;
      readonly reductionFactor: number;
      readonly minEarlyStoppingRate: number;
    }
  | {
      readonly kind: "threshold";
      // Absent rather than infinite: a resolved config is written as JSON (logs, journals).
      readonly lower?: number;
      readonly upper?: number;
      readonly warmupSteps: number;
      readonly intervalSteps: number;
    };

/** Fills a valid pruner config's defaults. */
function resolvePruner(p: PrunerConfig): ResolvedPrunerConfig {
  switch (p.kind) {
    case "median":
    case "percentile": {
      const options = {
        startupTrials: p.startupTrials ?? 5,
        warmupSteps: p.warmupSteps ?? 0,
        intervalSteps: p.intervalSteps ?? 1,
        minTrials: p.minTrials ?? 1,
      };
      return p.kind === "median"
        ? { kind: "median", ...options }
        : { kind: "percentile", percentile: p.percentile, ...options };
    }
    case "asha":
      return {
        kind: "asha",
        minResource: p.minResource ?? 1,
        reductionFactor: p.reductionFactor ?? 3,
        minEarlyStoppingRate: p.minEarlyStoppingRate ?? 0,
      };
    case "threshold":
      return {
        kind: "threshold",
        ...(p.lower === undefined ? {} : { lower: p.lower }),
        ...(p.upper === undefined ? {} : { upper: p.upper }),
        warmupSteps: p.warmupSteps ?? 0,
        intervalSteps: p.intervalSteps ?? 1,
      };
  }
}

/**
 * Configuration of an ask/tell solver.
 *
 * Any option set to `undefined`, at any level (`batch: undefined`, `bounds.x.scale: undefined`),
 * means the same as leaving it out, as in JSON. A dimension is not an option, nor is a condition's
 * parent: `bounds.x: undefined` and `when: { opt: undefined }` are refused by name rather than
 * silently dropped (a dropped parent would make the parameter present everywhere).
 *
 * `B` is the type of `bounds`: `createSolver` and `minimize` infer it from a literal object, so
 * `trial.params.x` is a `number`, a categorical's value the union of its choices, a conditional
 * parameter optional, and `trial.params.typo` a type error (see {@link ParamsOf}).
 */
export interface SolverConfig<B extends BoundsInput = BoundsInput> {
  /** Every random choice derives from it; same seed and same tells ⇒ same asks. */
  readonly seed: number;
  /** The most trials the solver will ever ask for (warm-start points are free). */
  readonly budget: number;
  /**
   * The parameters, in declaration order: floats `{ min, max, step?, scale? }` (`type: "float"`
   * may be left out), `{ type: "int", min, max, step?, scale? }`, `{ type: "categorical", choices }`;
   * any of them may be conditional with `when: { parent: [choices…] }` (in a literal config, a
   * parent that is no categorical parameter, or a value that is none of its choices, does not
   * compile).
   */
  readonly bounds: B & CheckedConditions<B> & CheckedKeys<B>;
  /**
   * Share of the budget spent on the initial space-filling probe. When omitted, the probe is 20 % of
   * the budget but at most {@link defaultProbeCap} points, so refinement starts early even with
   * large budgets; given explicitly, it is followed exactly.
   */
  readonly probeRatio?: number | undefined;
  /**
   * `"auto"` (default): global TPE interleaved with local Nelder–Mead from the incumbent, the split
   * adapting to progress (see {@link GlobalLocalOptions}); `"nelder-mead"` or `"tpe"` force one.
   */
  readonly strategy?: "auto" | "nelder-mead" | "tpe" | undefined;
  /**
   * `"minimize"` (default): lower values are better. `"maximize"`: higher ones are (an accuracy,
   * a throughput). Every value the solver takes or gives back (`tell`, `report`, `best()`,
   * `intermediateValues`, the saved state) is in the objective's own sense; inside, the solver
   * minimises its negation, so a maximised run asks exactly what a minimised one asks of `-f`.
   */
  readonly direction?: "minimize" | "maximize" | undefined;
  /** Options of the `"auto"` strategy (ignored by a forced one); every field optional. */
  readonly autoOptions?: GlobalLocalOptions | undefined;
  /** The most trials one `ask()` returns (default: the phase's natural batch). */
  readonly batch?: number | undefined;
  /**
   * Stops unpromising trials early from the intermediate values they report (`Solver.report`, or
   * `context.report` in `minimize`). Off when omitted.
   */
  readonly pruner?: PrunerConfig | undefined;
  /**
   * Points to evaluate first, before the probe's own: the settings in use today, a configuration
   * known to be good (Optuna's `enqueue_trial`). Each is written as a warm-start point's params are
   * (no inactive parameter; one set to `undefined` counts as left out) and is handed out with
   * exactly the values it gives. A point may leave parameters out: every active one it leaves out
   * is filled from a seeded design of its own (a left-out categorical first, then the dependants
   * its value makes active); a conditional parameter given without its parent is refused. They
   * count against the budget, come before the probe's design (which gives up points to them when
   * the budget is short) and are read with it by the classification. Checked when the solver is
   * created, each problem a `ConfigError` naming the point and the parameter. In a literal config
   * a misspelt name, or a value that is no choice, does not compile.
   */
  readonly startPoints?: readonly StartPointOf<NoInfer<B>>[] | undefined;
  /**
   * Receives the XState inspection events of the solver's lifecycle actor (see `createSolver`); not
   * part of the solver's saved state.
   */
  readonly inspect?: InspectionSink | undefined;
}

// What the schema decodes must be a valid SolverConfig (the interface only adds `| undefined`).
type SchemaFitsConfig = Schema.Schema.Type<typeof SolverConfigSchema> extends SolverConfig ? true : never;
const schemaFitsConfig: SchemaFitsConfig = true;
void schemaFitsConfig;

/** Share of the budget the probe takes when `probeRatio` is omitted (subject to {@link defaultProbeCap}). */
export const DEFAULT_PROBE_RATIO = 0.2;

/**
 * Most probe points used by default in `dimension` dimensions: max(10, 2d + 2).
 *
 * @remarks
 * A space-filling probe only needs enough points to find the promising regions and tell smooth
 * from rugged; past that, every probe point is an evaluation the refiner could have used. Measured
 * on the B1 functions over 200 seeds (ten blocks of 20), capping the default probe at this size
 * made `auto` beat random search at every checkpoint in every block (uncapped, 20 % of a budget of
 * 200 is 40 points and lost at 25 evaluations in 11 of 50 function × block cases) and lowered
 * Hartmann-6's median regret at 100 evaluations from 0.063 to 0.047.
 */
export function defaultProbeCap(dimension: number): number {
  return Math.max(10, 2 * dimension + 2);
}

/** A validated config with every default filled in. */
export interface ResolvedSolverConfig {
  readonly seed: number;
  readonly budget: number;
  /** The parameters in declaration order, with no `undefined` fields left. */
  readonly bounds: Readonly<Record<string, ParamInput>>;
  readonly probeRatio: number;
  /**
   * Points of the probe's design: `ceil(budget × probeRatio)`, capped when `probeRatio` was
   * omitted, and cut to the budget the start points leave. The probe is the start points, then
   * these. A run grown by `Solver.extend` keeps the size its budget gave before it grew.
   */
  readonly probeSize: number;
  /** `"auto"` becomes `"tpe"` when no parameter is a float or an int (Nelder–Mead would have none to move). */
  readonly strategy: "auto" | "nelder-mead" | "tpe";
  /** Whether lower (`"minimize"`) or higher (`"maximize"`) values are better. */
  readonly direction: "minimize" | "maximize";
  readonly autoOptions: GlobalLocalOptions;
  readonly batch: number | undefined;
  /** The pruner with its defaults, or undefined when pruning is off. */
  readonly pruner: ResolvedPrunerConfig | undefined;
  /** The points to evaluate first, as given (empty when none). */
  readonly startPoints: readonly Readonly<Record<string, JsonValue>>[];
  /** The inspection sink, if any. */
  readonly inspect: InspectionSink | undefined;
}

const decode = Schema.decodeUnknownEither(SolverConfigSchema);
/**
 * `bounds` is a record of named dimensions, and each one's `when` a record of named parents: an
 * entry set to undefined is refused, not dropped (a dropped parent would widen the condition).
 */
const SOLVER_SHAPE: ConfigShape = { records: ["bounds"], entries: { records: ["when"] } };

/**
 * `raw` with its options set to `undefined` left out ({@link withoutUndefinedKeys}), and each start
 * point's parameters set to `undefined` too: a point is read as a warm-start point's params are,
 * where an inactive parameter may be written out as `undefined`.
 */
function withoutUndefinedOptions(raw: unknown): unknown {
  const given = withoutUndefinedKeys(raw, SOLVER_SHAPE);
  if (typeof given !== "object" || given === null || Array.isArray(given)) return given;
  const points = (given as { startPoints?: unknown }).startPoints;
  if (!Array.isArray(points)) return given;
  return { ...(given as object), startPoints: points.map((point) => withoutUndefinedKeys(point)) };
}

/**
 * Validates `input`, returning every problem found (an empty list means valid). Keys set to
 * `undefined` count as absent (see {@link withoutUndefinedKeys}); `input` is never modified.
 */
export function solverConfigIssues(raw: unknown): ConfigIssue[] {
  return configIssues(raw, "new");
}

/**
 * Where a config comes from: `"new"` (given to start a run) or `"saved"` (read back from a run's
 * artifact or log, through {@link savedSolverConfig}). A saved one skips the checks of what a run
 * can carry out as written, wasteful as it is (a parameter whose condition never holds), so a run
 * saved before such a check reopens. Checks of what a run cannot carry out right (an int range
 * whose values do not come back from the unit axis) apply to both: such a run does not reopen.
 */
export type ConfigOrigin = "new" | "saved";

function configIssues(raw: unknown, origin: ConfigOrigin): ConfigIssue[] {
  const given = withoutUndefinedOptions(raw);
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    return [{ path: "", message: "expected a configuration object" }];
  }
  // Only a reserved name declared as a parameter: a condition on an undeclared one is an unknown parameter.
  const bounds = (given as { bounds?: unknown }).bounds;
  // A run saved before the empty name was refused reopens with it.
  const allowEmpty = origin === "saved";
  const declared =
    typeof bounds === "object" && bounds !== null
      ? Object.keys(bounds).filter((name) => isReservedName(name, allowEmpty))
      : [];
  return withReservedNameIssues(
    given,
    "bounds",
    (input) => checkedIssues(withoutConditionsOn(input, declared), origin),
    allowEmpty,
  );
}

/**
 * `input` with each condition on one of `names` (reserved names declared as parameters, which are
 * left out of the checks) left out of its parameter's `when`, and a `when` left empty by that
 * dropped: the reserved name is reported already, and read as an unknown parameter it would stop
 * the condition checks before a cycle or an impossible branch is found.
 */
function withoutConditionsOn(input: object, names: readonly string[]): object {
  const bounds = (input as { bounds?: unknown }).bounds;
  if (typeof bounds !== "object" || bounds === null || Array.isArray(bounds)) return input;
  const cleaned: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(bounds)) {
    const when = (spec as { when?: unknown } | null)?.when;
    if (
      typeof when !== "object" ||
      when === null ||
      Array.isArray(when) ||
      !Object.keys(when).some((parent) => names.includes(parent))
    ) {
      cleaned[name] = spec;
      continue;
    }
    const kept = Object.fromEntries(Object.entries(when).filter(([parent]) => !names.includes(parent)));
    const { when: _dropped, ...rest } = spec as Record<string, unknown>;
    cleaned[name] = Object.keys(kept).length === 0 ? rest : { ...rest, when: kept };
  }
  return { ...input, bounds: cleaned };
}

/** The issues of a config object whose parameter names are none of the reserved ones. */
function checkedIssues(input: object, origin: ConfigOrigin): ConfigIssue[] {
  const result = decode(input, { errors: "all", onExcessProperty: "error" });
  if (Either.isRight(result)) {
    const issues = conditionIssues(result.right.bounds, origin);
    // Each parameter is valid on its own; with valid conditions too, the points can be checked.
    const spaceValid = issues.length === 0;
    const tuned = Object.values(result.right.bounds).filter((p) => !isFixed(p));
    // One-choice categoricals only: refused in a new config, so a run saved before reopens.
    const oneValueEach = tuned.every((p) => p.type === "categorical" && p.choices.length === 1);
    if (oneValueEach && (tuned.length === 0 || origin === "new")) {
      issues.push({
        path: "bounds",
        message:
          tuned.length === 0
            ? "every parameter has min = max: nothing is left to tune (give one a range)"
            : "every parameter has one value (min = max, or a single choice): nothing is left to tune (give one a range or more choices)",
      });
    } else if (result.right.strategy === "nelder-mead" && tuned.every((p) => p.type === "categorical")) {
      const fixed = tuned.length < Object.keys(result.right.bounds).length ? " with min < max" : "";
      issues.push({
        path: "strategy",
        message: `nelder-mead needs at least one float or int parameter${fixed}`,
      });
    }
    // The points as given, not as decoded: decoding drops an own "__proto__" key, which a point
    // must not hold any more than a warm-start point may.
    const given = (input as { startPoints?: SolverConfig["startPoints"] }).startPoints;
    issues.push(...startPointIssues({ ...result.right, startPoints: given }, spaceValid));
    const probe = probeSizeOf(result.right);
    if (probe > MAX_PROBE_POINTS) {
      issues.push({
        path: "probeRatio",
        message: `the probe would take ${probe} points (budget × probeRatio); at most ${MAX_PROBE_POINTS}`,
      });
    }
    const options = result.right.autoOptions;
    if (options !== undefined) {
      for (const [key, message] of globalLocalOptionProblems(options)) {
        issues.push({ path: `autoOptions.${key}`, message });
      }
      const { candidates } = options;
      if (origin === "new" && candidates !== undefined && candidates > MAX_TPE_CANDIDATES)
        issues.push({
          path: "autoOptions.candidates",
          message: `expected a whole number in [1, ${MAX_TPE_CANDIDATES}], got ${candidates}`,
        });
    }
    return issues;
  }
  return ParseResult.ArrayFormatter.formatErrorSync(result.left).map((issue) => {
    const at = issue.path.map(String).join(".");
    const said = schemaIssueMessage(issue, input);
    // A pruner problem reads "field: reason" (see prunerIssue): the field belongs in the path.
    const field = at === "pruner" ? /^(\w+): (.*)$/s.exec(said) : null;
    const path = field === null ? at : `pruner.${field[1]}`;
    const message = field === null ? said : field[2]!;
    const hint = message.startsWith("unknown key")
      ? unknownSolverKeyHint(input, path.split("."), solverKeys())
      : undefined;
    return { path, message: hint === undefined ? message : `${message} (${hint})` };
  });
}

/**
 * The problems of `startPoints`: more of them than the budget, and (when the parameters are valid,
 * `spaceValid`) each point's problems as a warm-start point's params would have them, except that
 * a start point may leave parameters out (the solver fills them).
 */
function startPointIssues(
  config: Pick<SolverConfig, "budget" | "bounds" | "startPoints">,
  spaceValid: boolean,
): ConfigIssue[] {
  const points = config.startPoints;
  if (points === undefined) return [];
  const issues: ConfigIssue[] = [];
  if (points.length > config.budget) {
    issues.push({
      path: "startPoints",
      message: `${points.length} points, but the budget runs ${config.budget} trials (each start point is one)`,
    });
  }
  if (!spaceValid) return issues;
  const space = new Space(config.bounds);
  points.forEach((point, i) => {
    issues.push(...space.problems(point, `startPoints.${i}`, true));
  });
  return issues;
}

let keys: SolverKeys | undefined;

/** The keys the unknown-key hints suggest from, read off the schema once. */
function solverKeys(): SolverKeys {
  keys ??= {
    top: Object.keys(SolverConfigSchema.fields).filter((key) => key !== "inspect"),
    pruner: PRUNER_KEYS,
    auto: Object.keys(GLOBAL_LOCAL_DEFAULTS),
  };
  return keys;
}

/** The most probe points a solver builds (it builds them all up front, and again on restore). */
export const MAX_PROBE_POINTS = 1_000_000;

/**
 * Points of the probe's design: `ceil(budget × probeRatio)`, capped by {@link defaultProbeCap} when
 * `probeRatio` is omitted, and cut to the trials the start points leave of the budget (they come
 * first, and the probe must end within the budget for the run to classify and refine).
 */
function probeSizeOf(config: Pick<SolverConfig, "budget" | "bounds" | "probeRatio" | "startPoints">): number {
  const probeRatio = config.probeRatio ?? DEFAULT_PROBE_RATIO;
  // The product's rounding error must not add a point: 100 · 0.07 is 7.000000000000001.
  const uncapped = Math.min(config.budget, Math.max(1, Math.ceil(config.budget * probeRatio - 1e-9)));
  // Fixed parameters own no coordinate: the probe is sized by the tuned ones.
  const dimension = Object.values(config.bounds).filter((p) => !isFixed(p)).length;
  const sized = config.probeRatio === undefined ? Math.min(uncapped, defaultProbeCap(dimension)) : uncapped;
  const starts = config.startPoints?.length ?? 0;
  return Math.max(0, Math.min(sized, config.budget - starts));
}

/**
 * A config read back from a saved run (a solver artifact, a solver log's header). Before a condition needed a parent, `when: {}` was accepted and meant no condition
 * (`when: { a: undefined }` was saved so, too): such a run reopens with that parameter
 * unconditional, as it ran, instead of being refused. Any other config is returned as is.
 */
export function savedSolverConfig(config: unknown): unknown {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(config) || !isObject(config.bounds)) return config;
  const isEmptyWhen = (spec: unknown) =>
    isObject(spec) && isObject(spec.when) && Object.keys(spec.when).length === 0;
  if (!Object.values(config.bounds).some(isEmptyWhen)) return config;
  const bounds = Object.fromEntries(
    Object.entries(config.bounds).map(([name, spec]) => {
      if (!isEmptyWhen(spec)) return [name, spec];
      const { when: _when, ...unconditional } = spec as Record<string, unknown>;
      return [name, unconditional];
    }),
  );
  return { ...config, bounds };
}

/** Validates and fills defaults, or throws a {@link ConfigError} listing every problem. */
export function resolveSolverConfig(input: unknown, origin: ConfigOrigin = "new"): ResolvedSolverConfig {
  const issues = configIssues(input, origin);
  if (issues.length > 0) throw new ConfigError(issues);
  const config = withoutUndefinedOptions(input) as SolverConfig;
  const probeRatio = config.probeRatio ?? DEFAULT_PROBE_RATIO;
  return {
    seed: config.seed,
    budget: config.budget,
    // Normalised above, so no bound holds `scale: undefined`.
    bounds: config.bounds,
    probeRatio,
    probeSize: probeSizeOf(config),
    // Nothing to refine locally when only categoricals are tuned (fixed parameters aside).
    strategy:
      (config.strategy ?? "auto") === "auto" &&
      Object.values(config.bounds).every((p) => p.type === "categorical" || isFixed(p))
        ? "tpe"
        : (config.strategy ?? "auto"),
    direction: config.direction ?? "minimize",
    autoOptions: config.autoOptions ?? {},
    batch: config.batch,
    pruner: config.pruner === undefined ? undefined : resolvePruner(config.pruner),
    // Each point's undefined-valued parameters were left out above.
    startPoints: (config.startPoints ?? []) as ResolvedSolverConfig["startPoints"],
    inspect: config.inspect,
  };
}
