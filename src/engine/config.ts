import * as Either from "effect/Either";
import * as ParseResult from "effect/ParseResult";
import * as Schema from "effect/Schema";
import { asyncScheduler, queueScheduler, type SchedulerLike } from "rxjs";
import type { InspectionEvent } from "xstate";
import { isTimerMs, timerMsRange } from "../../machines/timer-limit.js";
import { type AuditEvent, type ControlCommandName, VECTOR_LENGTH_UNIT } from "../audit/events.js";
import type { AuditRecordSink } from "../audit/ring.js";
import { type ConfigShape, withoutUndefinedKeys, withReservedNameIssues } from "../config-input.js";
import { ConfigError, type ConfigIssue } from "../errors.js";
import {
  type Guardrails,
  type GuardrailsInput,
  guardrailIssues,
  resolveGuardrails,
} from "../hotpath/guardrails.js";
import { isSchedulerLike } from "../runtime/scheduler-like.js";
import { schemaIssueMessage } from "../schema-issue.js";
import { shownValue } from "../shown-value.js";
import { ParamRegistry, type ParamSpec } from "../space/param-registry.js";
import type { Scale } from "../space/scale.js";
import { nearestKeyHint } from "../unknown-options.js";
import type { Aggregation } from "./aggregate.js";
import {
  type ResolvedSafetyOptions,
  resolveSafetyOptions,
  type SafetyOptions,
  safetyOptionIssues,
} from "./safety/safety-config.js";
import {
  type ResolvedSpsaOptions,
  resolveSpsaOptions,
  SPSA_DEFAULTS,
  type SpsaOptions,
  spsaOptionProblems,
} from "./spsa/options.js";

/**
 * One parameter as an engine config gives it: a {@link ParamSpec} whose optional fields may also be
 * `undefined`, meaning "not given".
 */
export interface ParamSpecInput {
  /** Smallest allowed value (raw units). */
  readonly min: number;
  /** Largest allowed value (raw units); must exceed `min`. */
  readonly max: number;
  /** Starting value (default: the middle of the range, geometric for log scale). */
  readonly init?: number | undefined;
  /**
   * The known-good value a rollback returns to, when it is not `init` (default: `init`): an
   * engine that resumes from tuned values (a fleet's new leader, a restart from stored values)
   * keeps the baseline an operator set before. SafeMode judges divergence by the level it
   * measures at `init`, also after a rollback to the baseline (docs/guide/engine.md says why).
   */
  readonly baseline?: number | undefined;
  /** Largest move of the live value per apply, raw units (default: the guardrail preset's share of the range). */
  readonly maxDelta?: number | undefined;
  /** "linear" (default) or "log" (needs min > 0). */
  readonly scale?: Scale | undefined;
}

/**
 * Evaluation windows: "`digests` accepted digests or `ms` milliseconds since the window opened"
 * (after an apply, since its settle period, `settleMs`, ended).
 */
export interface WindowConfig {
  /** Digests that close a window (default {@link DEFAULT_WINDOW_DIGESTS}, one). */
  readonly digests?: number | undefined;
  /**
   * Milliseconds after which a window closes with what it has, counted from when it opened or, after
   * an apply, from the end of the settle period (`settleMs`). When the whole `window` option is
   * omitted the default is 1 digest or 500 ms; when `window` is given without `ms`, windows close
   * on their digest count only (and so never time out, which also disables stall detection).
   */
  readonly ms?: number | undefined;
  /** How a window's values become one number (default "trimmed-mean"). */
  readonly aggregation?: Aggregation | undefined;
  /** Share trimmed from each end by "trimmed-mean" (default 0.1). */
  readonly trim?: number | undefined;
  /**
   * When `ms` is so short that windows time out empty between digests (or bursts of digests) at
   * every one (the `spsa.stalled` events with `shortWindows`), lengthen it to room for a window's
   * digests at their measured pace plus one `digestSpacingMs` (`digests + 1` spacings for one
   * digest at a time), so that the cycle goes on at the telemetry's pace, until the telemetry keeps
   * pace with `ms` again (docs/concepts/evaluation-windows.md says how that is judged). Default
   * true; false keeps `ms` as given, and such an engine never completes an iteration. Not kept
   * across a restart; `snapshot().window` shows the limit in force.
   */
  readonly stretch?: boolean | undefined;
}

/**
 * Configuration of an online tuning engine.
 *
 * Any option of its JSON-shaped parts (each parameter's fields, `spsa`, `window`, `guardrails`,
 * `safety` and its sub-objects, and the top level) that is set to `undefined` means exactly the
 * same as leaving the key out: `window: { digests: 5, ms: undefined }` counts digests only, as
 * `{ digests: 5 }` does, and `window: undefined` gets the default 1 digest or 500 ms. A parameter
 * is not an option: `params: { rate: undefined }` is refused by name rather than silently dropped.
 *
 * `N` is the union of parameter names. `createEngine` infers it from a literal `params` object, so
 * that `engine.value("batchSize")` is checked; a config built at run time has `N = string`.
 */
export interface EngineConfig<N extends string = string> {
  /** Seed of every random choice (perturbation signs): same seed + same digests ⇒ same applies. */
  readonly seed: number;
  /** The knobs, in raw units, in declaration order; at most {@link MAX_PARAMS}. */
  readonly params: Readonly<Record<N, ParamSpecInput>>;
  /** SPSA gains and options (unit-cube units); `a: "auto"` by default. */
  readonly spsa?: SpsaOptions | undefined;
  /** Evaluation windows (default 1 digest or 500 ms). */
  readonly window?: WindowConfig | undefined;
  /** Tier-1 limits: a preset name or overrides on one (default "balanced"). */
  readonly guardrails?: GuardrailsInput | undefined;
  /**
   * Digests stamped within this many ms after an apply are rejected as settling (default 0); the
   * window measuring the applied point counts its `window.ms` from the end of that period.
   */
  readonly settleMs?: number | undefined;
  /** Digests older than this are rejected (default 10 000 ms). */
  readonly maxAgeMs?: number | undefined;
  /** Digests stamped more than this ahead of the engine clock are rejected (default 1 000 ms). */
  readonly maxSkewMs?: number | undefined;
  /** Empty windows in a row after which SPSA stops proposing until digests flow again (default 3). */
  readonly stallAfter?: number | undefined;
  /**
   * Audit ring size in records (default 4096; from {@link MIN_AUDIT_CAPACITY} to
   * {@link MAX_AUDIT_CAPACITY}).
   */
  readonly auditCapacity?: number | undefined;
  /**
   * How long after a record is written the audit ring is drained to `events` and `auditSink`, in ms
   * (default 0: at the scheduler's next turn). A few ms lets bursts share one drain, which matters
   * when every digest writes a record (`captureDigests`): scheduling a drain per digest costs more
   * than the digest itself. The ring must hold what arrives in between.
   */
  readonly auditDrainMs?: number | undefined;
  /** Identifies this run in every audit event (default derived from the seed). */
  readonly runId?: string | undefined;
  /**
   * Back the live values by a SharedArrayBuffer so worker threads can read them (default false).
   * In a browser page that needs cross-origin isolation; where the runtime has no
   * SharedArrayBuffer, `true` is a config error.
   */
  readonly shared?: boolean | undefined;
  /**
   * The clock and timer source (default RxJS `asyncScheduler`, i.e. `Date.now()`). Pass a
   * `TestScheduler` or `VirtualTimeScheduler` to run in virtual time. Digest timestamps are
   * milliseconds on this clock.
   */
  readonly scheduler?: SchedulerLike | undefined;
  /**
   * Write every digest (accepted or rejected, with all its fields) into the audit stream, so a
   * decision log can be replayed exactly (default false).
   */
  readonly captureDigests?: boolean | undefined;
  /** The control-safety layer: SafeMode, governor, thrashing, change budget, breakers (all on by default). */
  readonly safety?: SafetyOptions | undefined;
  /**
   * The actuator hook: called synchronously after every apply and rollback with a copy of the live
   * values (raw units, registry order; writing into it changes nothing live) and the new generation, to push
   * them to the real system. It runs behind a circuit breaker; a throw rolls the values back to the
   * baseline, and an open breaker freezes the engine until a probe succeeds.
   *
   * It may be async: a returned promise that rejects, or that does not settle within 10 s, counts
   * as a failure exactly like a throw (never an unhandled rejection). The engine reuses the array
   * and rewrites it before the next call, so copy the values before the first `await`.
   */
  readonly onApply?: ((values: Float64Array, generation: number) => void | PromiseLike<void>) | undefined;
  /**
   * A synchronous consumer of every audit event batch (e.g. a decision-log writer), behind a circuit
   * breaker. Batches it fails to take are kept and offered again; an open breaker freezes the engine.
   */
  readonly auditSink?: ((events: readonly AuditEvent[]) => void) | undefined;
  /**
   * A consumer of the audit records as the ring holds them, undecoded (a decision log copies their
   * numbers), behind its own circuit breaker and offered every record before `auditSink` and
   * `events` see it. Records it refuses stay in the ring and are offered again; an open breaker
   * freezes the engine.
   */
  readonly auditRecordSink?: AuditRecordSink | undefined;
  /**
   * Receives XState inspection events of the engine's actor system and of its circuit breakers
   * (`actuatorBreaker`, `auditSinkBreaker`, `auditRecordSinkBreaker`, each an actor root of its
   * own); see `arqon/inspect` for sinks. A throw from it is dropped.
   */
  readonly inspect?: ((event: InspectionEvent) => void) | undefined;
  /**
   * Write-ahead hook for control-plane commands (setBaseline, rollback, halt, resetSafeMode): called
   * after the command's audit record was delivered to `auditSink`, before the command takes effect,
   * to make it durable (a decision log fsyncs here). If it throws, the command is refused with an
   * error, except `halt`, which always goes ahead.
   */
  readonly onCommand?: ((command: ControlCommandName, note: string | undefined) => void) | undefined;
}

/** A validated engine config with every default filled in. */
export interface ResolvedEngineConfig {
  readonly seed: number;
  readonly params: Readonly<Record<string, ParamSpec>>;
  readonly spsa: ResolvedSpsaOptions;
  readonly window: {
    readonly digests: number;
    readonly ms: number | undefined;
    readonly aggregation: Aggregation;
    readonly trim: number;
    readonly stretch: boolean;
  };
  readonly guardrails: Guardrails;
  readonly settleMs: number;
  readonly maxAgeMs: number;
  readonly maxSkewMs: number;
  readonly stallAfter: number;
  readonly auditCapacity: number;
  readonly auditDrainMs: number;
  readonly runId: string;
  readonly shared: boolean;
  readonly scheduler: SchedulerLike;
  readonly safety: ResolvedSafetyOptions;
  readonly captureDigests: boolean;
  readonly onApply: ((values: Float64Array, generation: number) => void | PromiseLike<void>) | undefined;
  readonly auditSink: ((events: readonly AuditEvent[]) => void) | undefined;
  readonly auditRecordSink: AuditRecordSink | undefined;
  readonly inspect: ((event: InspectionEvent) => void) | undefined;
  readonly onCommand: ((command: ControlCommandName, note: string | undefined) => void) | undefined;
}

/**
 * Digests that close an evaluation window by default: one. SPSA under a constant gain does better
 * spending n digests on n iterations (gain chosen for the noise of one digest) than on one
 * averaged iteration: the same noise reduction, n times as many chances to follow drift. Tier 1's
 * minimum interval between applies still paces the iterations when telemetry is fast.
 */
export const DEFAULT_WINDOW_DIGESTS = 1;

/**
 * Most digests one window may hold (2^21): the window keeps two arrays of that many numbers (32 MiB
 * in all), allocated up front, and sorts one when it closes (a fraction of a second at this size).
 * Far beyond any tuning use; the engine benchmark uses such a window so that none closes.
 */
export const MAX_WINDOW_DIGESTS = 1 << 21;

/**
 * Smallest audit ring (records): the records a window and a trip write before the next drain (at
 * most `AUDIT_RESERVE`, 8, in control-safety.ts) stay below its high-water mark (80 %: 9 of 12).
 * In a smaller ring the engine's own records raised `auditHighWater` or `auditFull`, each drain
 * cleared it and the next window raised it again, so the engine never left SafeMode.
 */
export const MIN_AUDIT_CAPACITY = 12;

/**
 * Largest audit ring (records). The ring only grows while its drain falls behind, so this bounds
 * the memory a stalled sink can take (a record is 8 bytes per field: 112 bytes at 1 to 5
 * parameters, about 2 KiB at 255) and catches a mistyped capacity.
 */
export const MAX_AUDIT_CAPACITY = 1_048_576;

const message = (text: string) => ({ message: () => text });
const Finite = Schema.Number.pipe(
  Schema.filter((n) => Number.isFinite(n), message("expected a finite number")),
);
const NonNegative = Finite.pipe(Schema.filter((n) => n >= 0, message("expected a number ≥ 0")));
const PositiveInt = Schema.Number.pipe(
  Schema.filter((n) => Number.isSafeInteger(n) && n > 0, message("expected a whole number greater than 0")),
);
/** A duration the engine turns into a timer, so no longer than a Node timer can wait. */
const TimerMs = (positive: boolean) =>
  Schema.Number.pipe(
    Schema.filter(
      (n) => isTimerMs(n, positive),
      message(`expected a number of milliseconds ${timerMsRange(positive)}`),
    ),
  );

const ParamSchema = Schema.Struct({
  min: Finite,
  max: Finite,
  init: Schema.optionalWith(Finite, { exact: true }),
  baseline: Schema.optionalWith(Finite, { exact: true }),
  maxDelta: Schema.optionalWith(Finite, { exact: true }),
  scale: Schema.optionalWith(
    Schema.String.pipe(
      Schema.filter((s): s is "linear" | "log" => s === "linear" || s === "log", {
        message: (i) => `expected one of "linear", "log", got ${JSON.stringify(i.actual)}`,
      }),
    ),
    { exact: true },
  ),
});

/** Cross-field rules of one parameter, each reported at its own field's path. */
function paramIssues(name: string, spec: unknown): ConfigIssue[] {
  if (typeof spec !== "object" || spec === null) return [];
  const p = spec as Record<string, unknown>;
  const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
  const at = (field: string) => `params.${name}.${field}`;
  const issues: ConfigIssue[] = [];
  const { min, max, init, baseline, maxDelta, scale } = p;
  if (num(min) && num(max) && !(min < max)) {
    issues.push({ path: at("max"), message: `must be greater than min (${min}), got ${max}` });
  } else if (num(min) && num(max) && !Number.isFinite(max - min)) {
    // Positions in the range are computed from its width: an infinite one breaks every move.
    issues.push({
      path: at("max"),
      message: `the range max − min must be a finite number, got ${max - min}`,
    });
  }
  if (scale === "log" && num(min) && !(min > 0)) {
    issues.push({ path: at("min"), message: `log scale needs min > 0, got ${min}` });
  }
  for (const [field, value] of [
    ["init", init],
    ["baseline", baseline],
  ] as const) {
    if (num(value) && num(min) && num(max) && min < max && (value < min || value > max))
      issues.push({ path: at(field), message: `must lie within [${min}, ${max}], got ${value}` });
  }
  if (num(maxDelta) && !(maxDelta > 0)) {
    issues.push({ path: at("maxDelta"), message: `must be > 0, got ${maxDelta}` });
  }
  return issues;
}

const WindowSchema = Schema.Struct({
  digests: Schema.optionalWith(
    Schema.Number.pipe(
      Schema.filter(
        (n) => Number.isInteger(n) && n >= 1 && n <= MAX_WINDOW_DIGESTS,
        message(`expected a whole number from 1 to ${MAX_WINDOW_DIGESTS}`),
      ),
    ),
    { exact: true },
  ),
  ms: Schema.optionalWith(TimerMs(true), { exact: true }),
  aggregation: Schema.optionalWith(
    Schema.String.pipe(
      Schema.filter((s): s is Aggregation => s === "trimmed-mean" || s === "median" || s === "mean", {
        message: (i) => `expected one of "trimmed-mean", "median", "mean", got ${JSON.stringify(i.actual)}`,
      }),
    ),
    { exact: true },
  ),
  trim: Schema.optionalWith(
    Finite.pipe(Schema.filter((n) => n >= 0 && n < 0.5, message("expected a number in [0, 0.5)"))),
    { exact: true },
  ),
  stretch: Schema.optionalWith(Schema.Boolean, { exact: true }),
});

const FunctionValue = Schema.Unknown.pipe(
  Schema.filter((f) => typeof f === "function", message("expected a function")),
);

/** Effect Schema of the JSON-shaped part of {@link EngineConfig}; unknown keys are rejected. */
export const EngineConfigSchema = Schema.Struct({
  seed: Schema.Number.pipe(Schema.filter((n) => Number.isSafeInteger(n), message("expected a safe integer"))),
  params: Schema.Record({ key: Schema.String, value: ParamSchema }).pipe(
    Schema.filter((p) => Object.keys(p).length > 0, message("expected at least one parameter")),
  ),
  spsa: Schema.optionalWith(Schema.Unknown, { exact: true }),
  window: Schema.optionalWith(WindowSchema, { exact: true }),
  guardrails: Schema.optionalWith(Schema.Unknown, { exact: true }),
  settleMs: Schema.optionalWith(TimerMs(false), { exact: true }),
  maxAgeMs: Schema.optionalWith(NonNegative, { exact: true }),
  maxSkewMs: Schema.optionalWith(NonNegative, { exact: true }),
  stallAfter: Schema.optionalWith(PositiveInt, { exact: true }),
  auditCapacity: Schema.optionalWith(
    Schema.Number.pipe(
      Schema.filter(
        (n) => Number.isSafeInteger(n) && n >= MIN_AUDIT_CAPACITY && n <= MAX_AUDIT_CAPACITY,
        message(
          `expected a whole number from ${MIN_AUDIT_CAPACITY} (a smaller ring fills with the engine's own records of one window) to ${MAX_AUDIT_CAPACITY}`,
        ),
      ),
    ),
    { exact: true },
  ),
  auditDrainMs: Schema.optionalWith(TimerMs(false), { exact: true }),
  runId: Schema.optionalWith(
    Schema.String.pipe(Schema.filter((s) => s.length > 0, message("expected a non-empty string"))),
    { exact: true },
  ),
  shared: Schema.optionalWith(Schema.Boolean, { exact: true }),
  safety: Schema.optionalWith(Schema.Unknown, { exact: true }),
  captureDigests: Schema.optionalWith(Schema.Boolean, { exact: true }),
  onApply: Schema.optionalWith(FunctionValue, { exact: true }),
  auditSink: Schema.optionalWith(FunctionValue, { exact: true }),
  auditRecordSink: Schema.optionalWith(FunctionValue, { exact: true }),
  inspect: Schema.optionalWith(FunctionValue, { exact: true }),
  onCommand: Schema.optionalWith(FunctionValue, { exact: true }),
  scheduler: Schema.optionalWith(
    Schema.Unknown.pipe(
      Schema.filter(isSchedulerLike, message("expected an RxJS SchedulerLike (with now() and schedule())")),
      // A clock reading NaN had Tier 1 refuse every apply while every digest still said accepted,
      // and no time window (SafeMode's hour of rollbacks, repeated violations) ever closed.
      Schema.filter(
        (s) => readsFiniteTime(s as SchedulerLike),
        message("its now() must return a finite number of milliseconds"),
      ),
      // It runs an action inside schedule(), so the engine's deferred delivery of audit events
      // never ran: nothing was delivered, the audit ring filled, and the engine froze in silence.
      Schema.filter(
        (s) => !isQueueScheduler(s as SchedulerLike),
        message(
          "queueScheduler runs each action inside schedule(), and the engine must defer work: use asyncScheduler (the default), asapScheduler or a VirtualTimeScheduler",
        ),
      ),
    ),
    { exact: true },
  ),
});

const decode = Schema.decodeUnknownEither(EngineConfigSchema);

/** Whether `scheduler.now()` reads a finite time (a throw reads none). */
function readsFiniteTime(scheduler: SchedulerLike): boolean {
  try {
    return Number.isFinite(scheduler.now());
  } catch {
    return false;
  }
}

/**
 * Whether a scheduler is a QueueScheduler, which runs an action due now inside `schedule()`: rxjs's
 * own instance, another of its class, or one of a second copy of rxjs (by its class's name). A
 * trial run of `schedule()` would tell any synchronous scheduler, but it would also take a turn
 * of the caller's scheduler (a replay's clock, a test's), so the config does not run one.
 */
function isQueueScheduler(scheduler: SchedulerLike): boolean {
  return (
    scheduler === queueScheduler ||
    scheduler instanceof (queueScheduler.constructor as abstract new (...args: never[]) => unknown) ||
    scheduler.constructor?.name === "QueueScheduler"
  );
}

/**
 * Most parameters one engine tunes: an audit record stores its vector's length beside the record
 * type in one field, which leaves room for 255 values.
 */
export const MAX_PARAMS = VECTOR_LENGTH_UNIT - 1;

function paramCountIssue(params: unknown): ConfigIssue[] {
  if (typeof params !== "object" || params === null) return [];
  const count = Object.keys(params).length;
  if (count <= MAX_PARAMS) return [];
  return [
    {
      path: "params",
      message: `expected at most ${MAX_PARAMS} parameters (the audit record's vector width), got ${count}`,
    },
  ];
}
const SPSA_KEYS = [
  "a",
  "c",
  "A",
  "schedule",
  "alpha",
  "gamma",
  "calibrationIterations",
  "autoStepFraction",
  "autoJitter",
  "autoContraction",
  "autoDrift",
  "autoStartupKnobs",
  "smoothing",
  "adaptC",
] as const;

/** Top-level keys that are not JSON-shaped: kept by reference, never walked for `undefined` keys. */
/** The scheduler is the caller's object; `params` is a record of named specs. */
const CONFIG_SHAPE: ConfigShape = { opaque: ["scheduler"], records: ["params"] };

/**
 * Every problem with an engine config, each with its path; empty when valid. A key set to
 * `undefined`, at any level of the JSON-shaped parts, counts as absent; `input` is never modified.
 */
export function engineConfigIssues(raw: unknown): ConfigIssue[] {
  const given = withoutUndefinedKeys(raw, CONFIG_SHAPE);
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    return [{ path: "", message: "expected a configuration object" }];
  }
  return withReservedNameIssues(given, "params", checkedIssues);
}

/** The issues of a config object whose parameter names are none of the reserved ones. */
function checkedIssues(input: object): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const result = decode(input, { errors: "all", onExcessProperty: "error" });
  if (Either.isLeft(result)) {
    for (const issue of ParseResult.ArrayFormatter.formatErrorSync(result.left)) {
      const path = issue.path.map(String);
      const known = issue._tag === "Unexpected" ? keysBeside(path) : undefined;
      issues.push({
        path: path.join("."),
        message:
          known === undefined
            ? schemaIssueMessage(issue, input)
            : `${schemaIssueMessage(issue, input)}${nearestKeyHint(path.at(-1) ?? "", known)}; known: ${known.join(", ")}`,
      });
    }
  }
  const config = input as Record<string, unknown>;
  issues.push(...paramCountIssue(config.params));
  if (typeof config.params === "object" && config.params !== null) {
    for (const [name, spec] of Object.entries(config.params)) issues.push(...paramIssues(name, spec));
  }
  issues.push(...guardrailIssues(config.guardrails));
  issues.push(...spsaIssues(config.spsa));
  issues.push(...safetyOptionIssues(config.safety));
  issues.push(...regimeWarmupIssues(config));
  if (config.shared === true && typeof SharedArrayBuffer === "undefined") {
    issues.push({
      path: "shared",
      message:
        "needs SharedArrayBuffer, which this runtime does not provide (a browser page has it only when cross-origin isolated)",
    });
  }
  return issues;
}

/**
 * The keys an engine config takes beside the unknown one at `path`, so that a misspelling
 * (`spsa.alpah`, `params.b.maxdelta`) is named with what was meant. Undefined where no list helps.
 */
function keysBeside(path: readonly string[]): readonly string[] | undefined {
  if (path.length === 1) return Object.keys(EngineConfigSchema.fields);
  if (path.length === 3 && path[0] === "params") return Object.keys(ParamSchema.fields);
  if (path.length === 2 && path[0] === "window") return Object.keys(WindowSchema.fields);
  return undefined;
}

function spsaIssues(spsa: unknown): ConfigIssue[] {
  if (spsa === undefined) return [];
  if (typeof spsa !== "object" || spsa === null || Array.isArray(spsa)) {
    return [{ path: "spsa", message: "expected an object of SPSA options" }];
  }
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(spsa)) {
    if (!(SPSA_KEYS as readonly string[]).includes(key))
      issues.push({
        path: `spsa.${key}`,
        message: `unknown key${nearestKeyHint(key, SPSA_KEYS)}; known: ${SPSA_KEYS.join(", ")}`,
      });
  }
  const options = spsa as SpsaOptions;
  if (options.schedule !== undefined && options.schedule !== "constant" && options.schedule !== "decaying") {
    issues.push({
      path: "spsa.schedule",
      message: `expected one of "constant", "decaying", got ${shownValue(options.schedule)}`,
    });
  }
  const filled = { ...SPSA_DEFAULTS, alpha: 0, gamma: 0, ...options } as unknown as ResolvedSpsaOptions;
  for (const problem of spsaOptionProblems(filled)) {
    const colon = problem.indexOf(":");
    issues.push({ path: `spsa.${problem.slice(0, colon)}`, message: problem.slice(colon + 1).trim() });
  }
  return issues;
}

/**
 * Validates and fills defaults, or throws a {@link ConfigError} listing every problem. Keys set to
 * `undefined` resolve exactly as absent ones; `config` is never modified.
 */
export function resolveEngineConfig(config: EngineConfig): ResolvedEngineConfig {
  const issues = engineConfigIssues(config);
  if (issues.length > 0) throw new ConfigError(issues);
  const input = withoutUndefinedKeys(config, CONFIG_SHAPE);
  const guardrails = resolveGuardrails(input.guardrails);
  const params: Record<string, ParamSpec> = {};
  // Normalised above: no field of a spec is `undefined` any more, so each is a plain ParamSpec.
  for (const [name, spec] of Object.entries(input.params as Readonly<Record<string, ParamSpec>>)) {
    params[name] = {
      ...spec,
      maxDelta: spec.maxDelta ?? guardrails.maxDeltaFraction * (spec.max - spec.min),
    };
  }
  const window = input.window ?? {};
  const windowDigests = window.digests ?? DEFAULT_WINDOW_DIGESTS;
  return {
    seed: input.seed,
    params,
    spsa: resolveSpsaOptions(input.spsa),
    window: {
      digests: windowDigests,
      ms: input.window === undefined ? 500 : window.ms,
      aggregation: window.aggregation ?? "trimmed-mean",
      trim: window.trim ?? 0.1,
      stretch: window.stretch ?? true,
    },
    guardrails,
    settleMs: input.settleMs ?? 0,
    maxAgeMs: input.maxAgeMs ?? 10_000,
    maxSkewMs: input.maxSkewMs ?? 1_000,
    stallAfter: input.stallAfter ?? 3,
    auditCapacity: input.auditCapacity ?? 4096,
    auditDrainMs: input.auditDrainMs ?? 0,
    runId: input.runId ?? `run-${input.seed}`,
    shared: input.shared ?? false,
    scheduler: input.scheduler ?? asyncScheduler,
    safety: resolveSafetyOptions(input.safety, guardrails, windowDigests),
    captureDigests: input.captureDigests ?? false,
    onApply: input.onApply,
    auditSink: input.auditSink,
    auditRecordSink: input.auditRecordSink,
    inspect: input.inspect,
    onCommand: input.onCommand,
  };
}

/**
 * The JSON-shaped part of an engine config with every default written out: an `EngineConfig`
 * that resolves to `resolved` (its callbacks and scheduler left out) whatever the defaults of the
 * code that reads it. A decision log records it so that a later arqon, whose defaults may differ,
 * rebuilds the engine that ran rather than a new one.
 *
 * @remarks
 * Cold path. Each parameter's `init` is filled in too (the registry's default, the middle of the
 * range); a detector turned off is written as `false`; `window.ms` is left out when windows close
 * on their digest count only (a given `window` without `ms` means exactly that).
 */
export function explicitEngineConfig(resolved: ResolvedEngineConfig): EngineConfig {
  const registry = new ParamRegistry(resolved.params);
  const params: Record<string, ParamSpec> = {};
  registry.names.forEach((name, i) => {
    params[name] = { ...resolved.params[name]!, init: registry.init[i]! };
  });
  const { window, safety } = resolved;
  return {
    seed: resolved.seed,
    params,
    spsa: { ...resolved.spsa },
    window: {
      digests: window.digests,
      ...(window.ms === undefined ? {} : { ms: window.ms }),
      aggregation: window.aggregation,
      trim: window.trim,
      stretch: window.stretch,
    },
    guardrails: { ...resolved.guardrails },
    settleMs: resolved.settleMs,
    maxAgeMs: resolved.maxAgeMs,
    maxSkewMs: resolved.maxSkewMs,
    stallAfter: resolved.stallAfter,
    auditCapacity: resolved.auditCapacity,
    auditDrainMs: resolved.auditDrainMs,
    runId: resolved.runId,
    shared: resolved.shared,
    captureDigests: resolved.captureDigests,
    safety: {
      safeMode: { ...safety.safeMode },
      governor: safety.governor === undefined ? false : { ...safety.governor },
      thrashing: safety.thrashing === undefined ? false : { ...safety.thrashing },
      thrashingCooldownMs: safety.thrashingCooldownMs,
      changeBudget: safety.changeBudget === undefined ? false : { ...safety.changeBudget },
      emergencyMargin: safety.emergencyMargin,
      violationLimit: safety.violationLimit,
      violationWindowMs: safety.violationWindowMs,
      rollbacksPerHour: safety.rollbacksPerHour,
      breaker: { ...safety.breaker },
      regime: safety.regime === undefined ? false : { ...safety.regime },
      homeostasis: safety.homeostasis === undefined ? false : { ...safety.homeostasis },
    },
  };
}

/**
 * A regime detector's warm-up too short to span three windows' points: it learns only once it
 * holds the centre and both perturbed points, and windows of `window.digests` digests measure one
 * point each, so a shorter one never learns (and detection is silently off).
 */
function regimeWarmupIssues(config: Record<string, unknown>): ConfigIssue[] {
  const safety = config.safety as { regime?: unknown } | undefined;
  const regime = safety?.regime as { warmup?: unknown } | undefined;
  const window = config.window as { digests?: unknown } | undefined;
  const warmup = regime?.warmup;
  const digests = window?.digests;
  if (typeof warmup !== "number" || typeof digests !== "number" || !Number.isFinite(digests)) return [];
  if (warmup >= digests + 2) return [];
  return [
    {
      path: "safety.regime.warmup",
      message: `must be at least window.digests + 2 (${digests + 2}) to hold the centre and both perturbed points, or left out (the default spans three windows), got ${warmup}`,
    },
  ];
}
