import { describe, expect, it } from "vitest";
import { StepGainCalibration } from "../src/engine/spsa/calibration.js";
import { resolveSpsaOptions, type SpsaOptions } from "../src/engine/spsa/options.js";
import { CommitResult, SpsaCore } from "../src/engine/spsa/spsa-core.js";
import { Prng } from "../src/random/prng.js";
import { ParamRegistry, type ParamSpec } from "../src/space/param-registry.js";
import { iterate } from "./support/spsa-iteration.js";

/** `d` parameters on [0, 1] (unit = raw). */
function registryOf(d: number, maxDelta: number, init: readonly number[] = []): ParamRegistry {
  const params: Record<string, ParamSpec> = {};
  for (let i = 0; i < d; i++) params[`p${i}`] = { min: 0, max: 1, init: init[i] ?? 0.5, maxDelta };
  return new ParamRegistry(params);
}

describe("SpsaCore in conservative mode: the perturbation and the step gain are halved once", () => {
  it("an adapted c at its cap (half the widest budget) is halved once, not twice", () => {
    // maxDelta 0.04: the cap 0.5·budget = 0.02 is below 4c = 0.08, and a flat, very noisy
    // objective asks for the widest perturbation, so c adapts up to the cap.
    const registry = registryOf(2, 0.04);
    const core = new SpsaCore(registry, resolveSpsaOptions({}), Prng.fromSeed(3, 1));
    const noise = Prng.fromSeed(3, 2);
    const f = (u: Float64Array) => 0.5 * ((u[0]! - 0.5) ** 2 + (u[1]! - 0.5) ** 2) + 0.5 * noise.normal();
    const out = new Float64Array(2);
    core.recordCentre(f(core.centre));
    for (let k = 0; k < 400; k++) iterate(core, f, out);
    expect(core.perturbationScale).toBeCloseTo(0.02, 9);
    expect(core.ck).toBeCloseTo(0.02, 9);

    core.setGainScale(0.5);
    for (let k = 0; k < 200; k++) iterate(core, f, out);
    // The nominal c stays at the nominal cap; the half-width in use is half of it.
    expect(core.perturbationScale).toBeCloseTo(0.02, 9);
    expect(core.ck).toBeCloseTo(0.01, 9);
    expect(core.halfWidth[0]).toBeCloseTo(0.01, 9);
    expect(core.budget[0]).toBeCloseTo(0.02, 9);

    // Back in normal mode the first iteration probes at the full width again.
    core.setGainScale(1);
    iterate(core, f, out);
    expect(core.ck).toBeCloseTo(0.02, 9);
  });

  for (const options of [{ autoContraction: 0 }, { schedule: "decaying" as const }] satisfies SpsaOptions[]) {
    it(`an "auto" gain calibrated in conservative mode is the nominal one (${JSON.stringify(options)})`, () => {
      // A linear objective: the same gradient everywhere, so both runs record the same estimates
      // and only the mode differs.
      const run = (scale: number) => {
        const registry = registryOf(2, 0.1, [0.3, 0.6]);
        const core = new SpsaCore(registry, resolveSpsaOptions(options), Prng.fromSeed(1, 1));
        core.setGainScale(scale);
        const f = (u: Float64Array) => 0.2 * u[0]! - 0.1 * u[1]!;
        const out = new Float64Array(2);
        core.recordCentre(f(core.centre));
        const steps: number[] = [];
        for (let k = 0; k < 100 && core.calibrating; k++) {
          iterate(core, f, out);
          steps.push(Math.abs(core.step[0]!));
        }
        expect(core.calibrating).toBe(false);
        return { a: core.a, startStep: steps[3]! };
      };
      const normal = run(1);
      const conservative = run(0.5);
      expect(conservative.a / normal.a).toBeCloseTo(1, 9);
      // Start-up steps are halved once, by the mode's factor on the step.
      expect(conservative.startStep / normal.startStep).toBeCloseTo(0.5, 9);
    });
  }

  it("StepGainCalibration.record takes the ratios at the nominal budget", () => {
    const normal = new StepGainCalibration(1, 1);
    const conservative = new StepGainCalibration(1, 1);
    normal.record(Float64Array.of(3), Float64Array.of(0.1));
    conservative.record(Float64Array.of(3), Float64Array.of(0.05), 0.5);
    expect(conservative.medianRatio()).toBe(normal.medianRatio());
    expect(conservative.signalGain(0.5, 10, 0)).toBe(normal.signalGain(0.5, 10, 0));
  });
});

describe('SpsaCore: the first step with a calibrated "auto" gain takes autoStepFraction of the budget', () => {
  for (const schedule of ["constant", "decaying"] as const) {
    it(`with the ${schedule} schedule, although calibration's steps advanced k`, () => {
      const registry = registryOf(1, 0.1);
      const options = resolveSpsaOptions({ schedule, smoothing: 0, autoContraction: 0 });
      const core = new SpsaCore(registry, options, Prng.fromSeed(1, 1));
      const f = (u: Float64Array) => 3 * u[0]!; // the same |ĝ|/b on every iteration
      const out = new Float64Array(1);
      core.recordCentre(f(core.centre));
      let estimates = 0;
      while (core.calibrating && estimates < 50) {
        expect(iterate(core, f, out)).toBe(CommitResult.Stepped);
        estimates++;
      }
      expect(estimates).toBe(options.calibrationIterations);
      // Calibration's steps count in k: the gain set by the last of them is first used at k = 15.
      expect(core.iteration).toBe(options.calibrationIterations);
      expect(Math.abs(core.step[0]!) / core.budget[0]!).toBeCloseTo(options.autoStepFraction, 12);
      expect(core.ak).toBeCloseTo(core.a / (options.A + options.calibrationIterations) ** options.alpha, 15);
    });
  }

  it("signalGain takes F = (A + k + 1)^α at the k of first use, unchanged at k = 0", () => {
    const cal = new StepGainCalibration(1, 1);
    cal.record(Float64Array.of(2), Float64Array.of(0.1));
    expect(cal.signalGain(0.5, 10, 0.602)).toBe(cal.signalGain(0.5, 10, 0.602, 0));
    expect(cal.signalGain(0.5, 10, 0.602, 15)).toBeCloseTo((0.5 * 26 ** 0.602) / 20, 12);
  });
});

describe("SpsaCore.toJSON / restore continues exactly", () => {
  const registry = registryOf(2, 0.2, [0.2, 0.8]);
  const f = (u: Float64Array) => (u[0]! - 0.6) ** 2 + 2 * (u[1]! - 0.3) ** 2;

  /** Saves `core` through JSON, restores it, and runs both `n` iterations side by side. */
  function sameAfterRestore(core: SpsaCore, options: SpsaOptions, n = 20): SpsaCore {
    const resolved = resolveSpsaOptions(options);
    const saved = JSON.parse(JSON.stringify(core.toJSON()));
    const back = SpsaCore.restore(registry, resolved, saved);
    expect(back.toJSON()).toEqual(core.toJSON());
    const a = new Float64Array(2);
    const b = new Float64Array(2);
    for (let k = 0; k < n; k++) {
      expect(iterate(back, f, b)).toBe(iterate(core, f, a));
      expect(Array.from(b)).toEqual(Array.from(a));
      expect(Array.from(back.step)).toEqual(Array.from(core.step));
    }
    expect(back.toJSON()).toEqual(core.toJSON());
    return back;
  }

  function started(options: SpsaOptions, iterations = 10): SpsaCore {
    const core = new SpsaCore(registry, resolveSpsaOptions(options), Prng.fromSeed(5, 1));
    const out = new Float64Array(2);
    for (let k = 0; k < iterations; k++) iterate(core, f, out);
    return core;
  }

  it("right after a shift re-opened the gain (the smoothing starts afresh)", () => {
    const core = started({ a: 0.05 });
    core.reopenGain();
    sameAfterRestore(core, { a: 0.05 });
  });

  it("during a warm start, and one that re-opens the gain on arrival", () => {
    for (const fresh of [false, true]) {
      const core = started({ a: 0.05 }, 5);
      core.warmStart(Float64Array.of(0.9, 0.1), fresh);
      const back = sameAfterRestore(core, { a: 0.05 }, 1);
      expect(back.warmStarting).toBe(true);
      sameAfterRestore(back, { a: 0.05 });
    }
  });

  it("in the middle of a warm start's travel iteration, even once the warm start is cancelled", () => {
    const core = started({ a: 0.05 }, 5);
    core.warmStart(Float64Array.of(0.9, 0.1));
    const out = new Float64Array(2);
    core.beginIteration();
    core.plusTarget(out);
    core.recordPlus(f(out));
    core.cancelWarmStart();
    const back = SpsaCore.restore(
      registry,
      resolveSpsaOptions({ a: 0.05 }),
      JSON.parse(JSON.stringify(core.toJSON())),
    );
    const a = new Float64Array(2);
    const b = new Float64Array(2);
    core.minusTarget(a);
    back.minusTarget(b);
    core.recordMinus(f(a));
    back.recordMinus(f(b));
    expect(back.commit(b)).toBe(core.commit(a));
    expect(Array.from(b)).toEqual(Array.from(a));
    sameAfterRestore(back, { a: 0.05 }, 0);
  });

  it("in conservative mode", () => {
    const core = started({});
    core.setGainScale(0.5);
    sameAfterRestore(core, {});
  });

  it("while seeking feasibility", () => {
    const core = started({ a: 0.05 });
    core.setFeasibilityOnly(true);
    const back = sameAfterRestore(core, { a: 0.05 });
    expect(back.seekingFeasibility).toBe(true);
  });

  it("reads states saved before these fields existed", () => {
    const core = started({ a: 0.05 });
    const {
      smoothingStarted: _s,
      gainScale: _g,
      feasibilityOnly: _f,
      warmTarget: _t,
      warmActive: _a,
      warmFresh: _w,
      warmTravel: _v,
      ...older
    } = JSON.parse(JSON.stringify(core.toJSON()));
    const back = SpsaCore.restore(registry, resolveSpsaOptions({ a: 0.05 }), older);
    expect(back.toJSON()).toEqual(core.toJSON());
    expect(back.warmStarting).toBe(false);
    expect(back.seekingFeasibility).toBe(false);
    const a = new Float64Array(2);
    const b = new Float64Array(2);
    iterate(core, f, a);
    iterate(back, f, b);
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});
