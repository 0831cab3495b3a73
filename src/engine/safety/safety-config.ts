import {
  type CircuitBreakerOptions,
  circuitBreakerOptionProblems,
  type ResolvedCircuitBreakerOptions,
  resolveCircuitBreakerOptions,
} from "../../../machines/circuit-breaker.machine.js";
import type { OptionProblem } from "../../../machines/option-problem.js";
import {
  type ResolvedSafeModeOptions,
  resolveSafeModeOptions,
  type SafeModeOptions,
  safeModeOptionProblems,
} from "../../../machines/safe-mode.machine.js";
import { timerMsRule } from "../../../machines/timer-limit.js";
import { type OptionalInput, withoutUndefinedKeys } from "../../config-input.js";
import type { ConfigIssue } from "../../errors.js";
import { type Guardrails, MAX_REGRESSION_LIMIT } from "../../hotpath/guardrails.js";
import { shownValue } from "../../shown-value.js";
import { nearestKeyHint, optionProblemText } from "../../unknown-options.js";
import {
  type ChangeBudgetOptions,
  changeBudgetOptionIssues,
  DEFAULT_CHANGE_BUDGET_OPTIONS,
  type ResolvedChangeBudgetOptions,
} from "./change-budget.js";
import {
  DEFAULT_HOMEOSTASIS_OPTIONS,
  type HomeostasisOptions,
  homeostasisOptionIssues,
  type ResolvedHomeostasisOptions,
} from "./homeostasis-cache.js";
import {
  DEFAULT_GOVERNOR_OPTIONS,
  type InstabilityGovernorOptions,
  instabilityGovernorOptionIssues,
  type ResolvedGovernorOptions,
} from "./instability-governor.js";
import { type NumericRule, numericOptionIssues } from "./option-issues.js";
import {
  DEFAULT_REGIME_OPTIONS,
  type RegimeDetectorOptions,
  type ResolvedRegimeOptions,
  regimeDetectorOptionIssues,
} from "./regime-detector.js";
import {
  DEFAULT_THRASHING_OPTIONS,
  type ResolvedThrashingOptions,
  type ThrashingDetectorOptions,
  thrashingDetectorOptionIssues,
} from "./thrashing-detector.js";

/**
 * The control-safety layer's options (`EngineConfig.safety`); every field is optional. Limits
 * whose natural home is a guardrail preset (flip limit, change budget, cooldown) default to the
 * preset's values, so `guardrails: "conservative"` tightens them too. A field set to `undefined`
 * (here or in a sub-object) means the same as leaving it out.
 */
export interface SafetyOptions {
  /** Stepping down: minimum dwell per mode and healthy windows in a row (defaults 30 000 ms, 3). */
  readonly safeMode?: SafeModeOptions | undefined;
  /** The instability governor (non-finite, spike, divergence, repeated trips); `false` turns the spike and divergence rules off. */
  readonly governor?: OptionalInput<InstabilityGovernorOptions> | false | undefined;
  /**
   * Reversals of the applied centre (defaults: the preset's flipLimit / flipWindowMs; dead-band:
   * 1.5 maxDelta per parameter unless `deadBand` (a fraction of the range) is given); `false`: off.
   */
  readonly thrashing?: OptionalInput<ThrashingDetectorOptions> | false | undefined;
  /** How long a thrashing trip keeps the engine frozen (default: the preset's cooldownMs). */
  readonly thrashingCooldownMs?: number | undefined;
  /**
   * Net movement (signed moves summed) of the centre per parameter (defaults: the preset's
   * changeBudget / budgetWindowMs); `false`: off. Movement is counted at the thrashing dead-band's
   * resolution, so SPSA's small steady-state jitter does not use up the budget.
   */
  readonly changeBudget?: OptionalInput<ChangeBudgetOptions> | false | undefined;
  /** A digest's constraintMargin below this rolls back and freezes (default −0.5); below 0 only makes the engine conservative. */
  readonly emergencyMargin?: number | undefined;
  /** Tier-1 violations within `violationWindowMs` that make the engine conservative (default: the preset's regressionLimit). */
  readonly violationLimit?: number | undefined;
  /** Window over which violations are counted (default 60 000 ms). */
  readonly violationWindowMs?: number | undefined;
  /** Automatic rollbacks allowed per hour; the next one halts instead (default 3). */
  readonly rollbacksPerHour?: number | undefined;
  /** The circuit breakers around `onApply` and `auditSink` (failures to open, backoff). */
  readonly breaker?: OptionalInput<CircuitBreakerOptions> | undefined;
  /**
   * The regime detector (CUSUM on the objective): an environment shift re-opens the gain instead of
   * tripping; a regression the tuner caused still rolls back. `false`: off (the governor's own
   * attribution only). See docs/concepts/safe-mode.md.
   */
  readonly regime?: OptionalInput<RegimeDetectorOptions> | false | undefined;
  /** Known-good centres per detected regime, recalled by a warm start when a regime returns; `false`: off. */
  readonly homeostasis?: OptionalInput<HomeostasisOptions> | false | undefined;
}

/** {@link SafetyOptions} with every default filled in (`undefined` detector: turned off). */
export interface ResolvedSafetyOptions {
  readonly safeMode: ResolvedSafeModeOptions;
  readonly governor: ResolvedGovernorOptions | undefined;
  /** `deadBand` absent: 1.5 maxDelta per parameter. */
  readonly thrashing:
    | (Omit<ResolvedThrashingOptions, "deadBand"> & { readonly deadBand?: number })
    | undefined;
  readonly thrashingCooldownMs: number;
  readonly changeBudget: ResolvedChangeBudgetOptions | undefined;
  readonly emergencyMargin: number;
  readonly violationLimit: number;
  readonly violationWindowMs: number;
  readonly rollbacksPerHour: number;
  readonly breaker: ResolvedCircuitBreakerOptions;
  readonly regime: ResolvedRegimeOptions | undefined;
  readonly homeostasis: ResolvedHomeostasisOptions | undefined;
}

const SAFETY_KEYS = [
  "safeMode",
  "governor",
  "thrashing",
  "thrashingCooldownMs",
  "changeBudget",
  "emergencyMargin",
  "violationLimit",
  "violationWindowMs",
  "rollbacksPerHour",
  "breaker",
  "regime",
  "homeostasis",
] as const;

const SCALAR_RULES: Readonly<Record<string, NumericRule>> = {
  thrashingCooldownMs: timerMsRule(false),
  emergencyMargin: [(x) => Number.isFinite(x) && x < 0, "must be a finite number < 0 (margin units)"],
  violationLimit: [
    (x) => Number.isInteger(x) && x >= 1 && x <= MAX_REGRESSION_LIMIT,
    `must be a whole number from 1 to ${MAX_REGRESSION_LIMIT}`,
  ],
  violationWindowMs: timerMsRule(true),
  rollbacksPerHour: [(x) => Number.isInteger(x) && x >= 0 && x <= 1_000_000, "must be a whole number ≥ 0"],
};

/**
 * Every problem with `EngineConfig.safety`, each with its path; empty when valid. A key set to
 * `undefined`, at any level, counts as absent. SafeMode's own rules come from the chart
 * ({@link safeModeOptionProblems}), reported as `<path>.safeMode.<field>`.
 */
export function safetyOptionIssues(raw: unknown, path = "safety"): ConfigIssue[] {
  const input = withoutUndefinedKeys(raw);
  if (input === undefined) return [];
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return [{ path, message: `must be an object of safety options, got ${shownValue(input)}` }];
  }
  const options = input as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  const scalars: Record<string, unknown> = {};
  for (const key of Object.keys(options)) {
    if (!(SAFETY_KEYS as readonly string[]).includes(key)) {
      issues.push({
        path: `${path}.${key}`,
        message: `unknown option${nearestKeyHint(key, SAFETY_KEYS)}; known: ${SAFETY_KEYS.join(", ")}`,
      });
    } else if (Object.hasOwn(SCALAR_RULES, key)) scalars[key] = options[key];
  }
  issues.push(...numericOptionIssues(scalars, SCALAR_RULES, path, "safety options"));
  issues.push(...issuesAt(`${path}.safeMode`, safeModeOptionProblems(options.safeMode), options.safeMode));
  if (options.governor !== false)
    issues.push(...instabilityGovernorOptionIssues(options.governor, `${path}.governor`));
  if (options.thrashing !== false)
    issues.push(...thrashingDetectorOptionIssues(options.thrashing, `${path}.thrashing`));
  if (options.changeBudget !== false)
    issues.push(...changeBudgetOptionIssues(options.changeBudget, `${path}.changeBudget`));
  issues.push(...issuesAt(`${path}.breaker`, circuitBreakerOptionProblems(options.breaker), options.breaker));
  if (options.regime !== false) issues.push(...regimeDetectorOptionIssues(options.regime, `${path}.regime`));
  if (options.homeostasis !== false)
    issues.push(...homeostasisOptionIssues(options.homeostasis, `${path}.homeostasis`));
  return issues;
}

/** A chart's option problems (its own rules, kept in one place) as config issues under `path`. */
function issuesAt(path: string, problems: readonly OptionProblem[], given: unknown): ConfigIssue[] {
  return problems.map((p) => {
    if (p.field === "") return { path, message: `${p.reason}, got ${shownValue(given)}` };
    // A chart's rule does not repeat the value it refused; the config's messages all name it.
    const value = (given as Readonly<Record<string, unknown>>)[p.field];
    const refused = p.known !== undefined ? "" : `, got ${shownValue(value)}`;
    return { path: `${path}.${p.field}`, message: `${optionProblemText(p)}${refused}` };
  });
}

/**
 * Fills the defaults of valid safety options (check them with {@link safetyOptionIssues} first). A
 * key set to `undefined` gets its default, exactly as an absent one; `input` is not modified.
 * `windowDigests` is the engine's `window.digests`: the regime detector's warm-up and confirmation
 * limit span at least three such windows (see {@link windowScaledRegimeDefaults}).
 */
export function resolveSafetyOptions(
  input: SafetyOptions | undefined,
  guardrails: Guardrails,
  windowDigests = 1,
): ResolvedSafetyOptions {
  // Dropped first: spreading `{ flipLimit: undefined }` over the defaults would erase one.
  const o: SafetyOptions = withoutUndefinedKeys(input) ?? {};
  // With the undefined keys gone, each sub-object is its detector's own options type.
  const governor = o.governor as InstabilityGovernorOptions | false | undefined;
  const thrashing = o.thrashing as ThrashingDetectorOptions | false | undefined;
  const changeBudget = o.changeBudget as ChangeBudgetOptions | false | undefined;
  const regime = o.regime as RegimeDetectorOptions | false | undefined;
  const homeostasis = o.homeostasis as HomeostasisOptions | false | undefined;
  return {
    safeMode: resolveSafeModeOptions(o.safeMode),
    governor: governor === false ? undefined : { ...DEFAULT_GOVERNOR_OPTIONS, ...governor },
    thrashing:
      thrashing === false
        ? undefined
        : {
            flipLimit: guardrails.flipLimit,
            flipWindowMs: guardrails.flipWindowMs,
            swingMoves: DEFAULT_THRASHING_OPTIONS.swingMoves,
            ...thrashing,
          },
    thrashingCooldownMs: o.thrashingCooldownMs ?? guardrails.cooldownMs,
    changeBudget:
      changeBudget === false
        ? undefined
        : {
            changeBudget: guardrails.changeBudget,
            budgetWindowMs: guardrails.budgetWindowMs,
            buckets: DEFAULT_CHANGE_BUDGET_OPTIONS.buckets,
            ...changeBudget,
          },
    emergencyMargin: o.emergencyMargin ?? -0.5,
    violationLimit: o.violationLimit ?? guardrails.regressionLimit,
    violationWindowMs: o.violationWindowMs ?? 60_000,
    rollbacksPerHour: o.rollbacksPerHour ?? 3,
    breaker: resolveCircuitBreakerOptions(o.breaker as CircuitBreakerOptions | undefined),
    regime: regime === false ? undefined : { ...windowScaledRegimeDefaults(windowDigests), ...regime },
    homeostasis: homeostasis === false ? undefined : { ...DEFAULT_HOMEOSTASIS_OPTIONS, ...homeostasis },
  };
}

/**
 * The regime detector's defaults for windows of `windowDigests` digests: its warm-up (24 digests)
 * and confirmation limit (30) were chosen where each window is one digest, so that a warm-up sees
 * the centre and both perturbation sides many times and σ covers what the perturbations do, and a
 * rise is judged once every point kind has shown. A window longer than a third of them holds one
 * point for longer than that: σ was the noise at that point alone, the perturbation's own effect
 * read as a rise of many σ, and a rise was judged on one point kind. A fleet's leader (windows of
 * 100 digests, a low-noise cost) re-opened its gain at every perturbation and never finished an
 * SPSA iteration. Both are raised to at least one SPSA cycle, three windows (the warm-up at most
 * 4096 digests, what the option accepts); windows of up to 8 digests keep them as they are.
 */
export function windowScaledRegimeDefaults(windowDigests: number): ResolvedRegimeOptions {
  const d = DEFAULT_REGIME_OPTIONS;
  const cycle = 3 * windowDigests;
  if (cycle <= d.warmup) return d;
  return {
    ...d,
    warmup: Math.min(4096, Math.max(d.warmup, cycle)),
    confirmLimit: Math.min(1_000_000, Math.max(d.confirmLimit, cycle)),
  };
}
