import * as Either from "effect/Either";
import * as ParseResult from "effect/ParseResult";
import * as Schema from "effect/Schema";
import { type ConfigShape, reservedNameIssue, withoutUndefinedKeys } from "../config-input.js";
import { ConfigError, type ConfigIssue } from "../errors.js";
import type { InspectionSink } from "../inspect/inspection-record.js";
import type { Bound, Scale } from "../space/scale.js";
import { type GlobalLocalOptions, globalLocalOptionProblems } from "./global-local.js";

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

const BoundSchema = Schema.Struct({
  min: Finite,
  max: Finite,
  scale: Schema.optionalWith(oneOf("linear", "log"), { exact: true }),
}).pipe(
  Schema.filter((b) => {
    if (!(b.min < b.max)) return `min (${b.min}) must be less than max (${b.max})`;
    if (b.scale === "log" && !(b.min > 0)) return `log scale needs min > 0, got min = ${b.min}`;
    return true;
  }),
);

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
  bounds: Schema.Record({ key: Schema.String, value: BoundSchema }).pipe(
    Schema.filter((b) => Object.keys(b).length > 0 || "expected at least one parameter"),
  ),
  probeRatio: Schema.optionalWith(
    Finite.pipe(Schema.filter((r) => (r > 0 && r <= 1) || "expected a number in (0, 1]")),
    { exact: true },
  ),
  strategy: Schema.optionalWith(oneOf("auto", "nelder-mead", "tpe"), { exact: true }),
  autoOptions: Schema.optionalWith(
    Schema.Struct({
      gamma: Schema.optionalWith(Schema.Number, { exact: true }),
      candidates: Schema.optionalWith(Schema.Number, { exact: true }),
      bandwidthFloor: Schema.optionalWith(Schema.Number, { exact: true }),
      rankExponent: Schema.optionalWith(Schema.Number, { exact: true }),
      localStep: Schema.optionalWith(Schema.Number, { exact: true }),
      globalPhase: Schema.optionalWith(Schema.Number, { exact: true }),
      stagnation: Schema.optionalWith(Schema.Number, { exact: true }),
    }),
    { exact: true },
  ),
  batch: Schema.optionalWith(
    Schema.Number.pipe(
      Schema.filter((n) => (Number.isSafeInteger(n) && n > 0) || "expected a whole number greater than 0"),
    ),
    { exact: true },
  ),
  inspect: Schema.optionalWith(
    Schema.declare((u): u is InspectionSink => typeof u === "function", {
      message: () => "expected a function (an XState inspection sink)",
    }),
    { exact: true },
  ),
});

/** One parameter's range as a solver config gives it (see {@link SolverConfig}). */
export interface SolverBoundInput {
  readonly min: number;
  readonly max: number;
  /** `"linear"` (default) or `"log"` (searched in log space; needs min > 0). */
  readonly scale?: Scale | undefined;
}

/**
 * Configuration of an ask/tell solver.
 *
 * Any option set to `undefined`, at any level (`batch: undefined`, `bounds.x.scale: undefined`),
 * means the same as leaving it out, as in JSON. A dimension is not an option: `bounds.x: undefined`
 * is refused by name rather than silently dropped.
 *
 * `N` is the union of parameter names: `createSolver` and `minimize` infer it from a literal
 * `bounds` object, so `trial.params.x` is a `number` and `trial.params.typo` a type error; a config
 * built at run time has `N = string`.
 */
export interface SolverConfig<N extends string = string> {
  /** Every random choice derives from it; same seed and same tells ⇒ same asks. */
  readonly seed: number;
  /** The most trials the solver will ever ask for (warm-start points are free). */
  readonly budget: number;
  /** The parameters, in declaration order. */
  readonly bounds: Readonly<Record<N, SolverBoundInput>>;
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
  /** Options of the `"auto"` strategy (ignored by a forced one); every field optional. */
  readonly autoOptions?: GlobalLocalOptions | undefined;
  /** The most trials one `ask()` returns (default: the phase's natural batch). */
  readonly batch?: number | undefined;
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
  readonly bounds: Readonly<Record<string, Bound>>;
  readonly probeRatio: number;
  /** Number of probe points: `ceil(budget × probeRatio)`, capped when `probeRatio` was omitted. */
  readonly probeSize: number;
  readonly strategy: "auto" | "nelder-mead" | "tpe";
  readonly autoOptions: GlobalLocalOptions;
  readonly batch: number | undefined;
  /** The inspection sink, if any. */
  readonly inspect: InspectionSink | undefined;
}

const decode = Schema.decodeUnknownEither(SolverConfigSchema);
/** `bounds` is a record of named dimensions: one set to undefined is refused, not dropped. */
const SOLVER_SHAPE: ConfigShape = { records: ["bounds"] };

/**
 * Validates `input`, returning every problem found (an empty list means valid). Keys set to
 * `undefined` count as absent (see {@link withoutUndefinedKeys}); `input` is never modified.
 */
export function solverConfigIssues(raw: unknown): ConfigIssue[] {
  const input = withoutUndefinedKeys(raw, SOLVER_SHAPE);
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return [{ path: "", message: "expected a configuration object" }];
  }
  // Checked on the raw input: decoding into a plain object would already have lost such a key.
  const bounds = (input as { bounds?: unknown }).bounds;
  const reserved =
    typeof bounds === "object" && bounds !== null ? reservedNameIssue(Object.keys(bounds)) : undefined;
  if (reserved !== undefined) return [{ path: "bounds", message: reserved }];
  const result = decode(input, { errors: "all", onExcessProperty: "error" });
  if (Either.isRight(result)) {
    const options = result.right.autoOptions;
    if (options === undefined) return [];
    return globalLocalOptionProblems(options).map(([key, message]) => ({
      path: `autoOptions.${key}`,
      message,
    }));
  }
  return ParseResult.ArrayFormatter.formatErrorSync(result.left).map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue._tag === "Unexpected" ? "unknown key" : issue.message,
  }));
}

/** Validates and fills defaults, or throws a {@link ConfigError} listing every problem. */
export function resolveSolverConfig(input: unknown): ResolvedSolverConfig {
  const issues = solverConfigIssues(input);
  if (issues.length > 0) throw new ConfigError(issues);
  const config = withoutUndefinedKeys(input, SOLVER_SHAPE) as SolverConfig;
  const probeRatio = config.probeRatio ?? DEFAULT_PROBE_RATIO;
  const dimension = Object.keys(config.bounds).length;
  const uncapped = Math.min(config.budget, Math.ceil(config.budget * probeRatio));
  return {
    seed: config.seed,
    budget: config.budget,
    // Normalised above, so no bound holds `scale: undefined`.
    bounds: config.bounds as Readonly<Record<string, Bound>>,
    probeRatio,
    probeSize: config.probeRatio === undefined ? Math.min(uncapped, defaultProbeCap(dimension)) : uncapped,
    strategy: config.strategy ?? "auto",
    autoOptions: config.autoOptions ?? {},
    batch: config.batch,
    inspect: config.inspect,
  };
}
