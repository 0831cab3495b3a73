import { VirtualAction, VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import type { ApplyEvent, AuditEvent } from "../src/audit/events.js";
import type { EngineConfig } from "../src/engine/config.js";
import { createEngine } from "../src/engine/engine.js";
import { Prng } from "../src/random/prng.js";
import type { ParamSpec } from "../src/space/param-registry.js";

const TICK_MS = 100;

/** Moves the virtual clock to `time` (ms), running whatever falls due. */
function advance(scheduler: VirtualTimeScheduler, time: number): void {
  scheduler.schedule(() => {}, time - scheduler.now());
  scheduler.maxFrames = time;
  scheduler.flush();
}

/**
 * Runs a default engine (`createEngine({ seed, params, scheduler })`) for `ticks` digests of
 * `objective(t, values)` plus Gaussian noise of σ `noise`; returns its audit events and the
 * objective's noise-free value at the live point per tick.
 */
async function drive(
  params: Readonly<Record<string, ParamSpec>>,
  ticks: number,
  objective: (t: number, x: Float64Array) => number,
  noise: number,
  seed = 7,
  regimeWarmup?: number,
  config: Partial<EngineConfig> = {},
): Promise<{ events: AuditEvent[]; truth: number[] }> {
  const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
  const safety = regimeWarmup === undefined ? {} : { safety: { regime: { warmup: regimeWarmup } } };
  const engine = createEngine({ seed, params, scheduler, ...safety, ...config });
  const events: AuditEvent[] = [];
  const subscription = engine.events.subscribe((e) => events.push(e));
  const prng = Prng.fromSeed(seed, 99);
  const truth: number[] = [];
  try {
    for (let t = 0; t < ticks; t++) {
      advance(scheduler, t * TICK_MS);
      engine.flushEvents();
      const f = objective(t, engine.values);
      truth.push(f);
      engine.observe({ objective: f + noise * prng.normal(), generation: engine.generation });
      engine.flushEvents();
    }
    if (engine.failure !== undefined) throw engine.failure;
  } finally {
    subscription.unsubscribe();
    await engine.close();
  }
  return { events, truth };
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

describe("regime detector in the engine", () => {
  it("follows an environment shift (the optimum jumps): judged exogenous, no trip, no rollback", async () => {
    const params = {
      a: { min: -5, max: 5, init: 0, maxDelta: 1 },
      b: { min: -5, max: 5, init: 0, maxDelta: 1 },
    };
    const SHIFT = 1200;
    const optimum = (t: number) => (t < SHIFT ? [2, -2] : [-1.5, 1]);
    const { events, truth } = await drive(
      params,
      2400,
      (t, x) => {
        const [p, q] = optimum(t);
        return (x[0]! - p!) ** 2 + 2 * (x[1]! - q!) ** 2;
      },
      0.1,
    );
    const shifts = events.filter((e) => e.type === "regime.shift");
    const exogenous = shifts.filter((e) => e.verdict === "exogenous" && e.time >= SHIFT * TICK_MS);
    expect(exogenous.length).toBeGreaterThanOrEqual(1);
    // Judged within a few digests of the shift, with the rise seen far above the noise.
    expect(exogenous[0]!.time).toBeLessThanOrEqual((SHIFT + 10) * TICK_MS);
    expect(exogenous[0]!.sigmas).toBeGreaterThan(20);
    expect(events.filter((e) => e.type === "rollback")).toEqual([]);
    expect(events.filter((e) => e.type === "mode.changed")).toEqual([]);
    // It followed: the last 300 ticks sit near the new optimum (the jump cost 14.25 at the old one).
    expect(mean(truth.slice(-300))).toBeLessThan(0.5);
  });

  // The objective falls steeply towards a cliff: the tuner's own moves (its step and the
  // perturbation around the new centre) take it over the edge.
  const params = { x: { min: 0, max: 10, init: 5, maxDelta: 1 } };
  const CLIFF = 7;
  const cliff = (_t: number, x: Float64Array) => (x[0]! < CLIFF ? 10 - 10 * x[0]! : 100);

  it("rolls back a regression that follows the tuner's own move", async () => {
    // The default start-up walks to the edge in about 20 digests, before the detector's 24-digest
    // warm-up ends; with a 12-digest warm-up it judges the rise: the tuner's, and the governor's
    // trip that follows rolls back instead of being absorbed as a shift.
    const { events } = await drive(params, 400, cliff, 0.05, 3, 12);
    const caused = events.filter((e) => e.type === "regime.shift" && e.verdict === "caused");
    expect(caused.length).toBeGreaterThanOrEqual(1);
    const first = events.indexOf(caused[0]!);
    const rollback = events.findIndex((e, k) => k > first && e.type === "rollback");
    expect(rollback).toBeGreaterThan(first);
    expect(events.slice(first, rollback).some((e) => e.type === "mode.changed")).toBe(true);
    expect(events.filter((e) => e.type === "regime.shift" && e.verdict === "exogenous")).toEqual([]);
  });

  it("spans an SPSA cycle of windows: a perturbation is no shift with windows of many digests", async () => {
    // A batch size on a low-noise cost (optimum √(180 · 50) ≈ 95), measured in windows of 20
    // digests. A warm-up of 24 digests saw one point, so every perturbation read as a shift of
    // hundreds of σ, judged on one point kind ("alike") and followed: no iteration ever finished.
    const params = { batch: { min: 1, max: 256, init: 16, maxDelta: 8 } };
    const SHIFT = 5000;
    const cost = (t: number, x: Float64Array) => 2 + 180 / x[0]! + x[0]! / 50 + (t < SHIFT ? 0 : 20);
    const { events } = await drive(params, 7000, cost, 0.02, 5, undefined, { window: { digests: 20 } });
    const shifts = events.filter((e) => e.type === "regime.shift");
    expect(shifts.filter((e) => e.time < SHIFT * TICK_MS)).toEqual([]);
    const steps = events.filter((e) => e.type === "decision.step" && e.time < SHIFT * TICK_MS);
    expect(steps.length).toBeGreaterThan(50);
    const centre = events
      .filter((e): e is ApplyEvent => e.type === "apply" && e.kind === "centre" && e.time < SHIFT * TICK_MS)
      .at(-1)!;
    expect(Math.abs(centre.values!.batch! - 95)).toBeLessThan(15);
    // A real shift, at every point alike, is still followed as one.
    expect(shifts.filter((e) => e.verdict === "exogenous")).toHaveLength(1);
    expect(events.filter((e) => e.type === "rollback")).toEqual([]);
  });

  it("with the default warm-up the governor alone rolls the same fall back, never as a shift", async () => {
    const { events } = await drive(params, 400, cliff, 0.05, 3);
    const rollback = events.findIndex((e) => e.type === "rollback");
    expect(rollback).toBeGreaterThan(0);
    expect(events.slice(0, rollback).some((e) => e.type === "mode.changed")).toBe(true);
    expect(events.filter((e) => e.type === "regime.shift" && e.verdict === "exogenous")).toEqual([]);
  });
});
