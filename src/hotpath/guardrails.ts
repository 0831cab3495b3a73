import { timerMsRule } from "../../machines/timer-limit.js";
import { ConfigError, type ConfigIssue } from "../errors.js";
import { shownValue } from "../shown-value.js";

/** Named guardrail sets, from most to least cautious. */
export type GuardrailPreset = "conservative" | "balanced" | "aggressive";

/**
 * The resolved safety limits of an engine. Times are milliseconds on the engine clock; fractions
 * are of each parameter's range (max − min, raw units).
 *
 * @remarks
 * Tier 1 enforces `maxUpdatesPerSecond` and `minIntervalMs` on every apply, and refuses applies
 * while a cooldown runs; the default `maxDelta` of a parameter that declares none is
 * `maxDeltaFraction` of its range. The engine's control-safety layer reads the rest: a thrashing
 * trip freezes it for `cooldownMs`, and the flip, change-budget and regression limits are the
 * defaults of its thrashing, change-budget and repeated-violation rules (docs/concepts/guardrails.md).
 */
export interface Guardrails {
  /** The preset these numbers started from (fields given explicitly override it). */
  readonly preset: GuardrailPreset;
  /** Default largest move per apply, as a fraction of the range, for parameters without `maxDelta`. */
  readonly maxDeltaFraction: number;
  /** Most applies allowed within any 1000 ms (whole number; `Infinity` disables the check). */
  readonly maxUpdatesPerSecond: number;
  /** Least time between two applies. */
  readonly minIntervalMs: number;
  /** How long applies are refused after a cooldown is started (e.g. after thrashing). */
  readonly cooldownMs: number;
  /** Most direction reversals of one parameter within `flipWindowMs` before SafeMode. */
  readonly flipLimit: number;
  /** Window over which reversals are counted. */
  readonly flipWindowMs: number;
  /**
   * Most net movement (signed moves summed) of one parameter within `budgetWindowMs`, as a
   * fraction of its range.
   */
  readonly changeBudget: number;
  /** Window over which signed moves are summed against `changeBudget`. */
  readonly budgetWindowMs: number;
  /** Tier-1 refusals within the violation window (a minute) that make the engine conservative. */
  readonly regressionLimit: number;
}

/**
 * Guardrail fields a user may set; `preset` picks the values for the fields left out. A field set
 * to `undefined` counts as left out.
 */
export type GuardrailOverrides = { readonly preset?: GuardrailPreset | undefined } & {
  readonly [K in Exclude<keyof Guardrails, "preset">]?: number | undefined;
};

/** What `guardrails` accepts in a config: a preset name, or overrides on a preset (default balanced). */
export type GuardrailsInput = GuardrailPreset | GuardrailOverrides;

/** The preset used when none is named. */
export const DEFAULT_GUARDRAIL_PRESET: GuardrailPreset = "balanced";

const MINUTE_MS = 60_000;

/**
 * The three presets. Their numbers follow the original engine's presets (converted to
 * milliseconds, with the change budget read as a fraction of the range).
 */
export const GUARDRAIL_PRESETS: Readonly<Record<GuardrailPreset, Guardrails>> = Object.freeze({
  conservative: Object.freeze({
    preset: "conservative",
    maxDeltaFraction: 0.05,
    maxUpdatesPerSecond: 2,
    minIntervalMs: 500,
    cooldownMs: 60_000,
    flipLimit: 2,
    flipWindowMs: MINUTE_MS,
    changeBudget: 0.25,
    budgetWindowMs: MINUTE_MS,
    regressionLimit: 3,
  }),
  balanced: Object.freeze({
    preset: "balanced",
    maxDeltaFraction: 0.1,
    maxUpdatesPerSecond: 10,
    minIntervalMs: 100,
    cooldownMs: 30_000,
    flipLimit: 3,
    flipWindowMs: MINUTE_MS,
    changeBudget: 0.5,
    budgetWindowMs: MINUTE_MS,
    regressionLimit: 5,
  }),
  aggressive: Object.freeze({
    preset: "aggressive",
    maxDeltaFraction: 0.2,
    maxUpdatesPerSecond: 20,
    minIntervalMs: 50,
    cooldownMs: 10_000,
    flipLimit: 5,
    flipWindowMs: MINUTE_MS,
    changeBudget: 1,
    budgetWindowMs: MINUTE_MS,
    regressionLimit: 8,
  }),
});

/** Largest finite `maxUpdatesPerSecond`: the rate limiter keeps that many apply times. */
export const MAX_FINITE_UPDATES_PER_SECOND = 100_000;

/** Largest `flipLimit`: the thrashing detector keeps that many reversal times per parameter. */
export const MAX_FLIP_LIMIT = 1000;

/** Largest `regressionLimit` (and `safety.violationLimit`): the violation counter keeps that many refusal times. */
export const MAX_REGRESSION_LIMIT = 1_000_000;

type NumericField = Exclude<keyof Guardrails, "preset">;

/** How each numeric field is checked: the rule, and the message when it fails. */
const FIELD_RULES: Readonly<Record<NumericField, readonly [(x: number) => boolean, string]>> = {
  maxDeltaFraction: [(x) => x > 0 && x <= 1, "must be a number in (0, 1]"],
  maxUpdatesPerSecond: [
    (x) =>
      x === Number.POSITIVE_INFINITY || (Number.isInteger(x) && x >= 1 && x <= MAX_FINITE_UPDATES_PER_SECOND),
    `must be a whole number from 1 to ${MAX_FINITE_UPDATES_PER_SECOND}, or Infinity`,
  ],
  minIntervalMs: timerMsRule(false),
  cooldownMs: timerMsRule(false),
  flipLimit: [
    (x) => Number.isInteger(x) && x >= 1 && x <= MAX_FLIP_LIMIT,
    `must be a whole number from 1 to ${MAX_FLIP_LIMIT}`,
  ],
  flipWindowMs: timerMsRule(true),
  changeBudget: [(x) => x > 0, "must be a number > 0 (fraction of the range; Infinity for no budget)"],
  budgetWindowMs: timerMsRule(true),
  regressionLimit: [
    (x) => Number.isInteger(x) && x >= 1 && x <= MAX_REGRESSION_LIMIT,
    `must be a whole number from 1 to ${MAX_REGRESSION_LIMIT}`,
  ],
};

const FIELDS = Object.keys(FIELD_RULES) as readonly NumericField[];

function isPreset(value: unknown): value is GuardrailPreset {
  return value === "conservative" || value === "balanced" || value === "aggressive";
}

/**
 * Every problem with a `guardrails` config value, each with its path under `path`; empty when
 * valid. Unknown fields are reported too (they are usually typos); a key set to `undefined` is
 * treated as absent, whatever its name.
 */
export function guardrailIssues(input: unknown, path = "guardrails"): ConfigIssue[] {
  if (input === undefined || isPreset(input)) return [];
  const presets = 'one of "conservative", "balanced", "aggressive"';
  if (typeof input === "string")
    return [{ path, message: `unknown preset ${JSON.stringify(input)}; use ${presets}` }];
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return [{ path, message: `must be a preset name (${presets}) or an object of guardrail fields` }];
  }
  const issues: ConfigIssue[] = [];
  for (const [key, value] of Object.entries(input)) {
    const at = `${path}.${key}`;
    if (value === undefined) continue;
    if (key === "preset") {
      if (!isPreset(value))
        issues.push({ path: at, message: `must be ${presets}, got ${shownValue(value)}` });
    } else if (!Object.hasOwn(FIELD_RULES, key)) {
      issues.push({ path: at, message: `unknown guardrail; known: preset, ${FIELDS.join(", ")}` });
    } else {
      const [accepts, message] = FIELD_RULES[key as NumericField];
      if (typeof value !== "number" || Number.isNaN(value) || !accepts(value))
        issues.push({ path: at, message: `${message}, got ${shownValue(value)}` });
    }
  }
  return issues;
}

/**
 * Resolves a `guardrails` config value (a preset name, or overrides on a preset; default
 * "balanced") to the full set of numbers.
 *
 * @throws ConfigError listing every problem (see {@link guardrailIssues}) when the input is invalid.
 */
export function resolveGuardrails(input: GuardrailsInput = DEFAULT_GUARDRAIL_PRESET): Guardrails {
  const issues = guardrailIssues(input);
  if (issues.length > 0) throw new ConfigError(issues);
  if (typeof input === "string") return GUARDRAIL_PRESETS[input];
  const base = GUARDRAIL_PRESETS[input.preset ?? DEFAULT_GUARDRAIL_PRESET];
  const resolved: Record<string, unknown> = { ...base };
  for (const field of FIELDS) {
    const value = input[field];
    if (value !== undefined) resolved[field] = value;
  }
  return Object.freeze(resolved as unknown as Guardrails);
}
