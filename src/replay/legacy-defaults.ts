import type { EngineConfig } from "../engine/config.js";

/**
 * `safety.thrashing.swingMoves` for runs from before it existed: every swing counted, however many
 * centres it took (the largest value the option accepts).
 */
const UNTIMED_SWINGS = 1_000_000;

/**
 * `spsa.autoStartupKnobs` for runs from before it existed: start-up steps never scaled (the
 * largest value the option accepts).
 */
const UNSCALED_STARTUP = 1_000_000;

/**
 * The option defaults of engines whose log header does not record their resolved options (logs
 * written before `resolved` was added to the header: the v2 and v3 golden logs among them).
 *
 * @remarks
 * Frozen here, on purpose not imported from the engine: the engine's defaults may change, and such
 * a log must still be replayed with the defaults it ran under. The values are those of main from
 * the v2 golden log (2026-11-22, the tracking defaults of issue 11) until resolved options were
 * recorded: no option that existed at v2 changed its default in that span. Options added in it
 * (`safety.regime`, `safety.homeostasis`, `safety.governor.blameWindows`, `spsa.autoContraction`,
 * which is 0: off) hold the values they had when recording began; neither golden log's run is
 * decided differently with the detectors off. Options added after it are pinned off as they were
 * before they existed (`spsa.autoDrift` 0, `spsa.autoStartupKnobs` 1,000,000 (no start-up
 * scaling), `safety.homeostasis.probeShare` 0, `safety.thrashing.swingMoves` unlimited,
 * `window.stretch` false, `safety.governor.spikeHoldMs` 0). Logs older than v2 (the v1 golden log) ran with 5-digest windows by
 * default and with decision rules that no option brings back (calibration that held the centre):
 * they do not replay on today's engine, and replay says they predate recorded options. A parameter's default `init` (the middle of its range) is the registry's rule,
 * unchanged since v1, and is not pinned here.
 */
export const LEGACY_ENGINE_DEFAULTS = Object.freeze({
  spsa: {
    a: "auto",
    c: 0.02,
    A: 10,
    calibrationIterations: 16,
    autoStepFraction: 0.5,
    autoJitter: 0.085,
    autoContraction: 0,
    autoDrift: 0,
    autoStartupKnobs: UNSCALED_STARTUP,
    smoothing: 0.7,
    adaptC: true,
  },
  /** α and γ of each gain schedule (the default schedule is "constant"). */
  exponents: { constant: { alpha: 0, gamma: 0 }, decaying: { alpha: 0.602, gamma: 0.101 } },
  /** Windows when `window` is omitted; a given `window` without `ms` never times out. */
  window: { digests: 1, ms: 500, aggregation: "trimmed-mean", trim: 0.1, stretch: false },
  guardrailPreset: "balanced",
  guardrailPresets: {
    conservative: {
      maxDeltaFraction: 0.05,
      maxUpdatesPerSecond: 2,
      minIntervalMs: 500,
      cooldownMs: 60_000,
      flipLimit: 2,
      flipWindowMs: 60_000,
      changeBudget: 0.25,
      budgetWindowMs: 60_000,
      regressionLimit: 3,
    },
    balanced: {
      maxDeltaFraction: 0.1,
      maxUpdatesPerSecond: 10,
      minIntervalMs: 100,
      cooldownMs: 30_000,
      flipLimit: 3,
      flipWindowMs: 60_000,
      changeBudget: 0.5,
      budgetWindowMs: 60_000,
      regressionLimit: 5,
    },
    aggressive: {
      maxDeltaFraction: 0.2,
      maxUpdatesPerSecond: 20,
      minIntervalMs: 50,
      cooldownMs: 10_000,
      flipLimit: 5,
      flipWindowMs: 60_000,
      changeBudget: 1,
      budgetWindowMs: 60_000,
      regressionLimit: 8,
    },
  },
  scalars: {
    settleMs: 0,
    maxAgeMs: 10_000,
    maxSkewMs: 1_000,
    stallAfter: 3,
    auditCapacity: 4096,
    auditDrainMs: 0,
    shared: false,
    captureDigests: false,
  },
  safety: {
    safeMode: { dwellMs: 30_000, healthyWindows: 3 },
    governor: {
      spikeSigmas: 6,
      spikeRatio: 3,
      spikeHold: 3,
      spikeHoldMs: 0,
      spikeBeyondBaseline: true,
      historySize: 20,
      minHistory: 10,
      sigmaFloor: 1e-9,
      divergenceWindows: 5,
      divergenceThreshold: 0.5,
      divergenceSigmas: 3,
      repeatLimit: 3,
      repeatPeriodMs: 3_600_000,
      blameWindows: 8,
    },
    changeBudgetBuckets: 12,
    emergencyMargin: -0.5,
    violationWindowMs: 60_000,
    rollbacksPerHour: 3,
    breaker: { failureThreshold: 3, baseBackoffMs: 1000, maxBackoffMs: 60_000 },
    regime: {
      warmup: 24,
      slack: 3,
      threshold: 20,
      clip: 10,
      levelRate: 1 / 32,
      alikeShare: 0.5,
      reach: 0.5,
      confirmLimit: 30,
    },
    homeostasis: {
      capacity: 8,
      minDwell: 150,
      mergeRadius: 0.05,
      minCosine: 0.5,
      minRiseSigmas: 10,
      // The probe came after recording began: a recorded run without the key predates it too.
      probeShare: 0,
    },
  },
} as const);

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const given = (v: unknown): Json => (isObject(v) ? v : {});

/**
 * `config` (a logged header's config, as given) with every option it leaves out written out from
 * {@link LEGACY_ENGINE_DEFAULTS}, including those a guardrail preset implies (each parameter's
 * `maxDelta`, the thrashing and change-budget limits): today's defaults no longer matter to it.
 * Options the config gives are kept as they are (an invalid one is still refused by the engine).
 */
export function withLegacyDefaults(logged: object): EngineConfig {
  const config = logged as Readonly<Json>;
  const d = LEGACY_ENGINE_DEFAULTS;
  const spsa = given(config.spsa);
  const exponents = spsa.schedule === "decaying" ? d.exponents.decaying : d.exponents.constant;
  const guardrailsInput = config.guardrails;
  const guardrailOverrides =
    typeof guardrailsInput === "string" ? { preset: guardrailsInput } : given(guardrailsInput);
  const presetName = (guardrailOverrides.preset ?? d.guardrailPreset) as keyof typeof d.guardrailPresets;
  // An unknown preset is left for the engine to refuse by name.
  const preset = d.guardrailPresets[presetName] ?? d.guardrailPresets.balanced;
  const guardrails = { preset: presetName, ...preset, ...guardrailOverrides };
  const params: Json = {};
  for (const [name, spec] of Object.entries(given(config.params))) {
    const p = given(spec);
    const span = (p.max as number) - (p.min as number);
    params[name] = { maxDelta: (guardrails.maxDeltaFraction as number) * span, ...p };
  }
  const window =
    config.window === undefined
      ? { ...d.window }
      : {
          digests: d.window.digests,
          aggregation: d.window.aggregation,
          trim: d.window.trim,
          stretch: d.window.stretch,
          ...given(config.window),
        };
  const safety = given(config.safety);
  const detector = (key: string, defaults: Json): Json | false =>
    safety[key] === false ? false : { ...defaults, ...given(safety[key]) };
  return {
    ...d.scalars,
    ...config,
    params,
    spsa: { ...d.spsa, ...exponents, ...spsa },
    window,
    guardrails,
    safety: {
      emergencyMargin: d.safety.emergencyMargin,
      violationLimit: guardrails.regressionLimit,
      violationWindowMs: d.safety.violationWindowMs,
      rollbacksPerHour: d.safety.rollbacksPerHour,
      thrashingCooldownMs: guardrails.cooldownMs,
      ...safety,
      safeMode: { ...d.safety.safeMode, ...given(safety.safeMode) },
      governor: detector("governor", d.safety.governor),
      thrashing: detector("thrashing", {
        flipLimit: guardrails.flipLimit,
        flipWindowMs: guardrails.flipWindowMs,
        swingMoves: UNTIMED_SWINGS,
      }),
      changeBudget: detector("changeBudget", {
        changeBudget: guardrails.changeBudget,
        budgetWindowMs: guardrails.budgetWindowMs,
        buckets: d.safety.changeBudgetBuckets,
      }),
      breaker: { ...d.safety.breaker, ...given(safety.breaker) },
      regime: detector("regime", d.safety.regime),
      homeostasis: detector("homeostasis", d.safety.homeostasis),
    },
  } as EngineConfig;
}

/**
 * `resolved` (a logged header's resolved options) with the options added since resolved options
 * began to be recorded, and absent from it, written out at the values that reproduce the logged
 * run: `safety.homeostasis.probeShare` (0, no probe), `spsa.autoDrift` (0, no drift rule),
 * `window.stretch` (false: a window's time limit stays as given), `spsa.autoStartupKnobs`
 * (1,000,000: start-up steps not scaled), `safety.thrashing.swingMoves` (every swing counted) and
 * `safety.governor.spikeHoldMs` (0: a spike held for `spikeHold` digests, however short).
 */
export function withRecordedDefaults<T extends object>(resolved: T): T {
  let out = fillAbsent(resolved, ["spsa"], "autoDrift", 0);
  out = fillAbsent(out, ["window"], "stretch", false);
  out = fillAbsent(out, ["spsa"], "autoStartupKnobs", UNSCALED_STARTUP);
  out = fillAbsent(out, ["safety", "thrashing"], "swingMoves", UNTIMED_SWINGS);
  out = fillAbsent(out, ["safety", "governor"], "spikeHoldMs", 0);
  return fillAbsent(out, ["safety", "homeostasis"], "probeShare", 0);
}

/**
 * `root` with `key` set to `value` in the object at `path` when that object exists and lacks
 * `key` (copying the objects on the way); otherwise `root` itself.
 */
function fillAbsent<T extends object>(root: T, path: readonly string[], key: string, value: unknown): T {
  const [head, ...rest] = path;
  const json = root as Json;
  if (head === undefined) return json[key] === undefined ? ({ ...root, [key]: value } as T) : root;
  const child = json[head];
  if (!isObject(child)) return root;
  const filled = fillAbsent(child, rest, key, value);
  return filled === child ? root : ({ ...root, [head]: filled } as T);
}
