import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { VirtualTimeScheduler } from "rxjs";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import {
  type EngineConfig,
  explicitEngineConfig,
  type ResolvedEngineConfig,
  resolveEngineConfig,
} from "../src/engine/config.js";
import { createLoggedEngine } from "../src/log/engine-log.js";
import { engineHeaderOf, engineLogHeader } from "../src/log/log-records.js";
import { Prng } from "../src/random/prng.js";
import { withLegacyDefaults, withRecordedDefaults } from "../src/replay/legacy-defaults.js";
import { readReplayLog } from "../src/replay/read-log.js";
import { runArqonInProcess } from "./support/cli-run.js";

// A decision log records the engine's options with every default filled in, so that a later arqon
// whose defaults differ still rebuilds the engine that ran. Logs written before that are replayed
// with pinned defaults, never with today's.

const scratch = mkdtempSync(join(tmpdir(), "arqon-resolved-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => {
  vi.doUnmock("../src/engine/spsa/options.js");
  vi.doUnmock("../src/engine/safety/instability-governor.js");
  vi.resetModules();
});

const KNOBS = {
  batchSize: { min: 1, max: 256, init: 32, maxDelta: 8 },
  timeoutMs: { min: 5, max: 2000, scale: "log" },
} as const;

/** Configs that exercise every branch of the resolution: presets, detectors off, Infinity, schedules. */
const CONFIGS: readonly EngineConfig[] = [
  { seed: 1, params: { x: { min: 0, max: 1 } } },
  {
    seed: 11,
    params: KNOBS,
    window: { digests: 4 },
    safety: { safeMode: { dwellMs: 2000, healthyWindows: 2 } },
  },
  {
    seed: 2,
    params: KNOBS,
    guardrails: "conservative",
    spsa: { schedule: "decaying", a: 0.1 },
    window: { ms: 250, aggregation: "median" },
    safety: {
      governor: false,
      thrashing: { deadBand: 0.02 },
      changeBudget: false,
      regime: false,
      homeostasis: false,
    },
  },
  {
    seed: 3,
    params: { rate: { min: -5, max: 5 } },
    guardrails: {
      preset: "aggressive",
      maxUpdatesPerSecond: Number.POSITIVE_INFINITY,
      changeBudget: Infinity,
    },
    spsa: { alpha: 0.3, autoContraction: 0.8 },
    settleMs: 20,
    captureDigests: true,
    safety: { governor: { spikeSigmas: 4 }, breaker: { failureThreshold: 5 }, emergencyMargin: -1 },
  },
];

/** The JSON-shaped part of a resolved config (what a log can hold): every callback left out. */
function shape(resolved: ResolvedEngineConfig) {
  const {
    scheduler: _s,
    onApply: _a,
    auditSink: _k,
    auditRecordSink: _r,
    inspect: _i,
    onCommand: _c,
    ...rest
  } = resolved;
  return rest;
}

describe("explicitEngineConfig", () => {
  it.each(CONFIGS.map((c, i) => [i, c] as const))("config %i resolves back to itself", (_i, config) => {
    const resolved = resolveEngineConfig(config);
    const again = resolveEngineConfig(explicitEngineConfig(resolved));
    const { params, ...rest } = shape(again);
    const { params: expectedParams, ...expectedRest } = shape(resolved);
    expect(rest).toEqual(expectedRest);
    // init is written out too (the registry's middle of the range); everything else is identical.
    for (const [name, spec] of Object.entries(expectedParams)) expect(params[name]).toMatchObject(spec);
  });

  it("writes every default out: a detector turned off is false, init is filled", () => {
    const explicit = explicitEngineConfig(resolveEngineConfig(CONFIGS[2]!));
    expect(explicit.safety).toMatchObject({ governor: false, changeBudget: false, regime: false });
    expect(explicit.params.timeoutMs!.init).toBeCloseTo(Math.sqrt(5 * 2000), 9);
    expect(explicit.spsa).toMatchObject({ alpha: 0.602, gamma: 0.101, autoStepFraction: 0.5 });
    expect(explicit.window).toEqual({ digests: 1, ms: 250, aggregation: "median", trim: 0.1, stretch: true });
  });
});

describe("the log header", () => {
  it("records the resolved options beside the config as given, and reads them back", () => {
    const header = engineLogHeader(CONFIGS[3]!, { startTime: 0 });
    expect(header.config).not.toHaveProperty("spsa.autoStepFraction");
    const read = engineHeaderOf(JSON.parse(JSON.stringify(header)))!;
    expect(read.resolved).toEqual(explicitEngineConfig(resolveEngineConfig(CONFIGS[3]!)));
    expect((read.resolved as unknown as EngineConfig).guardrails).toMatchObject({
      maxUpdatesPerSecond: Infinity,
    });
  });
});

/** Records a short logged run (tuning, a NaN burst, a halt and reset) into a fresh directory. */
async function recordLog(config: EngineConfig): Promise<string> {
  const dir = join(mkdtempSync(join(scratch, "log-")), "log");
  const scheduler = new VirtualTimeScheduler();
  const { engine, close } = createLoggedEngine({ ...config, scheduler }, { dir, flushMs: 50 });
  const noise = Prng.fromSeed(5, 1);
  const tick = (objective?: number) => {
    scheduler.schedule(() => {}, 100);
    scheduler.flush();
    const [batch, timeout] = engine.values;
    const cost = ((batch! - 120) / 40) ** 2 + Math.log(timeout! / 60) ** 2 + 0.05 * noise.normal();
    engine.observe({ objective: objective ?? cost, generation: engine.generation });
  };
  for (let i = 0; i < 120; i++) tick();
  for (let i = 0; i < 3; i++) tick(Number.NaN);
  for (let i = 0; i < 40; i++) tick();
  engine.halt("test: maintenance");
  for (let i = 0; i < 5; i++) tick();
  engine.resetSafeMode({ acknowledge: "test: done" });
  for (let i = 0; i < 40; i++) tick();
  await close();
  return dir;
}

/**
 * Reloads arqon with other defaults: the SPSA signal rule's step fraction 0.5 → 0.9 and the
 * governor's spike threshold 6σ → 2σ, as a later version might ship them.
 */
async function withChangedDefaults() {
  vi.resetModules();
  vi.doMock("../src/engine/spsa/options.js", async (importOriginal) => {
    const original = await importOriginal<typeof import("../src/engine/spsa/options.js")>();
    return {
      ...original,
      SPSA_DEFAULTS: Object.freeze({ ...original.SPSA_DEFAULTS, autoStepFraction: 0.9 }),
      resolveSpsaOptions: (options: Record<string, unknown> = {}) =>
        original.resolveSpsaOptions({
          ...options,
          autoStepFraction: (options.autoStepFraction as number | undefined) ?? 0.9,
        }),
    };
  });
  vi.doMock("../src/engine/safety/instability-governor.js", async (importOriginal) => {
    const original = await importOriginal<typeof import("../src/engine/safety/instability-governor.js")>();
    return {
      ...original,
      DEFAULT_GOVERNOR_OPTIONS: Object.freeze({ ...original.DEFAULT_GOVERNOR_OPTIONS, spikeSigmas: 2 }),
    };
  });
  const config = await import("../src/engine/config.js");
  const { replay } = await import("../src/replay/replay.js");
  const legacy = await import("../src/replay/legacy-defaults.js");
  const { createEngine } = await import("../src/engine/engine.js");
  return {
    resolveEngineConfig: config.resolveEngineConfig,
    createEngine,
    replay,
    withLegacyDefaults: legacy.withLegacyDefaults,
  };
}

describe("replay after the defaults change", () => {
  it("a log with recorded options replays bit for bit; left to today's defaults it would not", async () => {
    const config: EngineConfig = { seed: 7, params: KNOBS, window: { digests: 2 } };
    const dir = await recordLog(config);
    const later = await withChangedDefaults();
    // The reloaded arqon really has other defaults.
    const now = later.resolveEngineConfig(config);
    expect(now.spsa.autoStepFraction).toBe(0.9);
    expect(now.safety.governor!.spikeSigmas).toBe(2);

    const result = await later.replay(dir);
    expect(result.ok).toBe(true);
    expect(result.runs[0]!.options).toBe("recorded");
    if (result.ok) expect(result.records).toBeGreaterThan(300);

    // The control: the same log with its SPSA options and governor left to the new defaults (an
    // override cannot do that: it merges into the recorded options).
    const control = await later.replay(dir, {
      createEngine: ({ spsa: _, ...rest }) =>
        later.createEngine({ ...rest, safety: { ...rest.safety, governor: {} } }),
    });
    expect(control.ok).toBe(false);
  });

  it("a log without recorded options is replayed with the pinned defaults, not the new ones", async () => {
    const later = await withChangedDefaults();
    for (const config of CONFIGS) {
      const pinned = later.resolveEngineConfig(later.withLegacyDefaults(config));
      expect(shape(pinned)).toEqual(shape(resolveEngineConfig(withLegacyDefaults(config))));
      expect(shape(pinned)).not.toEqual(shape(later.resolveEngineConfig(config)));
    }
    for (const version of ["v2", "v3"]) {
      const dir = join(mkdtempSync(join(scratch, "golden-")), "log");
      cpSync(fileURLToPath(new URL(`./fixtures/decision-log-${version}`, import.meta.url)), dir, {
        recursive: true,
      });
      const result = await later.replay(dir);
      expect(result.ok, version).toBe(true);
      expect(result.runs[0]!.options).toBe("pinned");
    }
  });
});

describe("recorded options that predate a later option", () => {
  it("a recorded homeostasis without probeShare replays without the probe; one with it keeps it", () => {
    const resolved = resolveEngineConfig({ seed: 7, params: KNOBS });
    expect(resolved.safety.homeostasis!.probeShare).toBe(0.5);
    const { probeShare: _, ...before } = resolved.safety.homeostasis!;
    const older = { ...resolved, safety: { ...resolved.safety, homeostasis: before } };
    const filled = withRecordedDefaults(older);
    expect(filled.safety.homeostasis).toEqual({ ...before, probeShare: 0 });
    expect(withRecordedDefaults(resolved)).toBe(resolved);
    const off = { ...resolved, safety: { ...resolved.safety, homeostasis: undefined } };
    expect(withRecordedDefaults(off)).toBe(off);
    expect(withLegacyDefaults({ seed: 7, params: KNOBS }).safety!.homeostasis).toMatchObject({
      probeShare: 0,
    });
  });
});

describe("recorded options that predate the drift rule", () => {
  it("a recorded spsa without autoDrift replays with the rule off; one with it keeps it", () => {
    const resolved = resolveEngineConfig({ seed: 7, params: KNOBS });
    expect(resolved.spsa.autoDrift).toBe(2);
    const explicit = explicitEngineConfig(resolved);
    const { autoDrift: _, ...before } = explicit.spsa as Record<string, unknown>;
    const older = { ...explicit, spsa: before };
    const filled = withRecordedDefaults(older);
    expect(filled.spsa).toEqual({ ...before, autoDrift: 0 });
    // Both later options are filled in one pass, each only when absent.
    expect(withRecordedDefaults(explicit)).toBe(explicit);
    expect(resolveEngineConfig(filled as EngineConfig).spsa.autoDrift).toBe(0);
    expect(withLegacyDefaults({ seed: 7, params: KNOBS }).spsa).toMatchObject({ autoDrift: 0 });
  });

  it("a logged run whose header lacks autoDrift replays bit for bit with the rule off", async () => {
    // A run long enough for the rule to engage (a slow ramp, small noise), recorded with the rule
    // off as every run before it was. Replayed from a header without the key, the filled-in 0
    // reproduces it; the rule on (today's default) would not.
    const dir = join(mkdtempSync(join(scratch, "drift-")), "log");
    const scheduler = new VirtualTimeScheduler();
    const config: EngineConfig = {
      seed: 4,
      params: { x: { min: -5, max: 5, init: 0, maxDelta: 1 }, y: { min: -5, max: 5, init: 0, maxDelta: 1 } },
      spsa: { autoDrift: 0 },
      // Count-only windows: no timeout timer, so the virtual clock's flush ends.
      window: { digests: 1 },
    };
    const { engine, close } = createLoggedEngine({ ...config, scheduler }, { dir, flushMs: 50 });
    const noise = Prng.fromSeed(8, 1);
    for (let t = 0; t < 1500; t++) {
      scheduler.schedule(() => {}, 100);
      scheduler.flush();
      const [x, y] = engine.values;
      const target = -2 + t / 1000;
      const cost = (x! - target) ** 2 + 2 * (y! + target) ** 2 + 0.1 * noise.normal();
      engine.observe({ objective: cost, generation: engine.generation });
    }
    await close();
    const resolved = readReplayLog(dir).header.resolved as unknown as EngineConfig;
    expect(resolved.spsa!.autoDrift).toBe(0);
    const { autoDrift: _, ...older } = resolved.spsa!;
    const { replay } = await import("../src/replay/replay.js");
    const filled = withRecordedDefaults({ ...resolved, spsa: older });
    expect(filled.spsa).toMatchObject({ autoDrift: 0 });
    expect((await replay(dir, { override: { spsa: filled.spsa } })).ok).toBe(true);
    expect((await replay(dir, { override: { spsa: { ...older, autoDrift: 2 } } })).ok).toBe(false);
  });
});

describe("recorded options that predate scaled start-up steps", () => {
  it("a recorded spsa without autoStartupKnobs replays unscaled; one with it keeps it", () => {
    const resolved = resolveEngineConfig({ seed: 7, params: KNOBS });
    expect(resolved.spsa.autoStartupKnobs).toBe(4);
    const explicit = explicitEngineConfig(resolved);
    const { autoStartupKnobs: _, ...before } = explicit.spsa as Record<string, unknown>;
    const filled = withRecordedDefaults({ ...explicit, spsa: before });
    expect(filled.spsa).toEqual({ ...before, autoStartupKnobs: 1_000_000 });
    expect(resolveEngineConfig(filled as EngineConfig).spsa.autoStartupKnobs).toBe(1_000_000);
    expect(withRecordedDefaults(explicit)).toBe(explicit);
    expect(withLegacyDefaults({ seed: 7, params: KNOBS }).spsa).toMatchObject({
      autoStartupKnobs: 1_000_000,
    });
  });
});

describe("recorded options that predate timed thrashing swings", () => {
  it("a recorded thrashing detector without swingMoves counts every swing; one with it keeps it", () => {
    const resolved = resolveEngineConfig({ seed: 7, params: KNOBS });
    expect(resolved.safety.thrashing?.swingMoves).toBe(8);
    const explicit = explicitEngineConfig(resolved);
    const safety = explicit.safety as Record<string, unknown>;
    const { swingMoves: _, ...before } = safety.thrashing as Record<string, unknown>;
    const older = { ...explicit, safety: { ...safety, thrashing: before } };
    const filled = withRecordedDefaults(older);
    expect((filled.safety as Record<string, unknown>).thrashing).toEqual({
      ...before,
      swingMoves: 1_000_000,
    });
    expect(resolveEngineConfig(filled as EngineConfig).safety.thrashing?.swingMoves).toBe(1_000_000);
    // Turned off stays off; given stays given.
    const off = { ...explicit, safety: { ...safety, thrashing: false } };
    expect(withRecordedDefaults(off)).toBe(off);
    expect(withRecordedDefaults(explicit)).toBe(explicit);
    expect(withLegacyDefaults({ seed: 7, params: KNOBS }).safety?.thrashing).toMatchObject({
      swingMoves: 1_000_000,
    });
  });
});

describe("arqon replay", () => {
  it("says when a log predates recorded options, and not otherwise", async () => {
    const old = join(mkdtempSync(join(scratch, "cli-")), "log");
    cpSync(fileURLToPath(new URL("./fixtures/decision-log-v2", import.meta.url)), old, { recursive: true });
    const pinned = await runArqonInProcess(["replay", old], scratch);
    expect(pinned.status).toBe(0);
    expect(pinned.stdout).toBe("replay OK: 720 records identical\n");
    expect(pinned.stderr).toContain("this log predates recorded engine options");
    const recorded = await runArqonInProcess(["replay", await recordLog(CONFIGS[1]!)], scratch);
    expect(recorded.status).toBe(0);
    expect(recorded.stderr).toBe("");
  });
});
