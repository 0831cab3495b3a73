import { describe, expect, it } from "vitest";
import { curvatureRuleGain, driftRuleGain } from "../src/engine/spsa/calibration.js";
import { resolveSpsaOptions, type SpsaOptions } from "../src/engine/spsa/options.js";
import { DRIFT_RULE_FLOOR, DRIFT_RULE_HORIZON, SpsaCore } from "../src/engine/spsa/spsa-core.js";
import { Prng } from "../src/random/prng.js";
import { ParamRegistry, type ParamSpec } from "../src/space/param-registry.js";
import { iterate } from "./support/spsa-iteration.js";

// The drift rule (spsa.autoDrift): a constant gain trades the lag behind a moving optimum against
// the jitter the gradient noise causes, and a drift slow against the noise wants a lower gain than
// the curvature rule's.

describe("driftRuleGain", () => {
  const widths = Float64Array.of(0.01, 0.01, 0.01, 0.01);

  it("is the balance a³ = 2(2 − κ)·Σv² / (Σσ_g²·H̄), times the multiple", () => {
    const v = Float64Array.of(2e-4, -2e-4, 2e-4, -2e-4);
    const sd = 0.1;
    const curvature = 250;
    const noise = 4 * ((sd * sd) / (2 * 0.01 * 0.01)); // Σ σ̂²/(2h²)
    const balance = Math.cbrt((2 * (2 - 0.8) * 4 * 4e-8) / (noise * curvature));
    expect(driftRuleGain(1, 0.8, v, sd, curvature, widths, 1)).toBeCloseTo(balance, 12);
    expect(driftRuleGain(2, 0.8, v, sd, curvature, widths, 1)).toBeCloseTo(2 * balance, 12);
    // A drift eight times faster asks for four times the gain (a ∝ v^⅔).
    const fast = v.map((x) => 8 * x);
    expect(driftRuleGain(1, 0.8, fast, sd, curvature, widths, 1) / balance).toBeCloseTo(4, 9);
  });

  it("does not depend on the objective's units, nor on conservative mode's halved widths", () => {
    const v = Float64Array.of(3e-4, 1e-4, -2e-4, 5e-5);
    const a = driftRuleGain(2, 0.8, v, 0.1, 250, widths, 1);
    // The objective × 1000: σ̂ and H̄ × 1000, the gain ÷ 1000 (steps in the unit cube unchanged).
    expect(driftRuleGain(2, 0.8, v, 100, 250_000, widths, 1) * 1000).toBeCloseTo(a, 12);
    const halved = widths.map((h) => h / 2);
    expect(driftRuleGain(2, 0.8, v, 0.1, 250, halved, 0.5)).toBeCloseTo(a, 12);
  });

  it("cannot say without a noise estimate, a positive curvature or a parameter with a width", () => {
    const v = Float64Array.of(1e-4, 1e-4, 1e-4, 1e-4);
    expect(driftRuleGain(2, 0.8, v, Number.NaN, 250, widths, 1)).toBeNaN();
    expect(driftRuleGain(2, 0.8, v, 0.1, -1, widths, 1)).toBeNaN();
    expect(driftRuleGain(2, 0.8, v, 0.1, 250, new Float64Array(4), 1)).toBeNaN();
  });
});

/** p knobs on [0, 1] (unit = raw), maxDelta 0.1, init 0.5. */
function registry(p: number): ParamRegistry {
  const params: Record<string, ParamSpec> = {};
  for (let i = 0; i < p; i++) params[`k${i}`] = { min: 0, max: 1, init: 0.5, maxDelta: 0.1 };
  return new ParamRegistry(params);
}

const WEIGHTS = [1, 2, 0.5, 1.5];

/**
 * Runs a core on a drifting quadratic 100·Σwᵢ(uᵢ − u*ᵢ)² + N(0, 0.1²) whose optimum moves by
 * `speed` per measurement (alternate knobs in opposite directions), plus → minus → centre as the
 * engine measures; returns the mean regret per measurement over the second half, and the core.
 */
function track(options: SpsaOptions, speed: number, iterations = 1500) {
  const p = 4;
  const core = new SpsaCore(registry(p), resolveSpsaOptions(options), Prng.fromSeed(3, 1));
  const noise = Prng.fromSeed(11, 2);
  let t = 0;
  const regret = (u: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < p; i++) {
      const target = 0.5 + (i % 2 === 0 ? 1 : -1) * (0.1 + speed * t);
      s += 100 * WEIGHTS[i]! * (u[i]! - target) ** 2;
    }
    return s;
  };
  const out = new Float64Array(p);
  let late = 0;
  let counted = 0;
  const measure = (): number => {
    const r = regret(out);
    if (t >= (3 * iterations) / 2) {
      late += r;
      counted++;
    }
    t++;
    return r + 0.1 * noise.normal();
  };
  out.set(core.centre);
  core.recordCentre(measure());
  for (let k = 0; k < iterations; k++) iterate(core, measure, out);
  return { core, late: late / counted };
}

describe("SpsaCore with the drift rule", () => {
  it("lowers the gain under a slow drift, and tracks it with less regret", () => {
    const slow = 1e-4 / 3; // a slow ramp: 1e-4 of the unit cube per iteration
    const off = track({ autoDrift: 0 }, slow);
    const on = track({ autoDrift: 2 }, slow);
    expect(on.core.a).toBeLessThan(0.7 * off.core.a);
    expect(on.late).toBeLessThan(0.9 * off.late);
    // The velocity it reads is the ramp's (signs alternate by knob).
    for (let i = 0; i < 4; i++) {
      expect(Math.sign(on.core.velocity[i]!)).toBe(i % 2 === 0 ? 1 : -1);
      expect(Math.abs(on.core.velocity[i]!)).toBeGreaterThan(0.3e-4);
      expect(Math.abs(on.core.velocity[i]!)).toBeLessThan(3e-4);
    }
  });

  it("cuts the gain at most to DRIFT_RULE_FLOOR of the other rules' cap, when the optimum stands still", () => {
    const still = track({ autoDrift: 2 }, 0, 800);
    const off = track({ autoDrift: 0 }, 0, 800);
    // With no drift the balancing gain falls far below the cap; the floor holds it at half (the
    // two runs' noise and curvature estimates differ a little, as their trajectories do).
    const share = still.core.a / off.core.a;
    expect(share).toBeGreaterThan(0.95 * DRIFT_RULE_FLOOR);
    expect(share).toBeLessThan(1.05 * DRIFT_RULE_FLOOR);
  });

  it("leaves the curvature rule's gain alone when the drift is fast", () => {
    const fast = 8e-4 / 3; // eight times the slow ramp, still inside the cube after 300 iterations
    const off = track({ autoDrift: 0 }, fast, 300);
    const on = track({ autoDrift: 2 }, fast, 300);
    expect(on.core.velocity.every((v, i) => Math.abs(v) > 4e-4 && Math.sign(v) === (i % 2 ? -1 : 1))).toBe(
      true,
    );
    expect(on.core.a).toBe(off.core.a);
    expect(on.late).toBe(off.late);
    expect(on.late).toBeLessThan(0.2); // tracked, not lost
  });

  it("re-opening the gain after a shift undoes its cut and forgets the velocity", () => {
    const { core } = track({ autoDrift: 2 }, 1e-4 / 3, 600);
    const cut = core.a;
    const reference = track({ autoDrift: 0 }, 1e-4 / 3, 600).core.a;
    expect(cut).toBeLessThan(0.7 * reference);
    core.reopenGain();
    expect(core.a).toBeGreaterThan(cut);
    expect(Array.from(core.velocity)).toEqual([0, 0, 0, 0]);
  });

  it("persists its velocity: a restored core continues exactly", () => {
    const { core } = track({ autoDrift: 2 }, 1e-4 / 3, DRIFT_RULE_HORIZON + 150);
    const options = resolveSpsaOptions({ autoDrift: 2 });
    const state = JSON.parse(JSON.stringify(core.toJSON()));
    const back = SpsaCore.restore(registry(4), options, state);
    expect(Array.from(back.velocity)).toEqual(Array.from(core.velocity));
    const f = (u: Float64Array): number =>
      100 * ((u[0]! - 0.6) ** 2 + (u[1]! - 0.4) ** 2 + u[2]! ** 2 + u[3]! ** 2);
    const a = new Float64Array(4);
    const b = new Float64Array(4);
    for (let k = 0; k < 50; k++) {
      iterate(core, f, a);
      iterate(back, f, b);
      expect(Array.from(b)).toEqual(Array.from(a));
    }
    expect(back.a).toBe(core.a);
    // A state saved before the rule existed restores with no velocity measured.
    const { velocity: _v, velocitySteps: _s, undrifted: _u, ...older } = state;
    expect(Array.from(SpsaCore.restore(registry(4), options, older).velocity)).toEqual([0, 0, 0, 0]);
  });

  it("is on by default (2) and validated", () => {
    expect(resolveSpsaOptions().autoDrift).toBe(2);
    expect(() => resolveSpsaOptions({ autoDrift: -1 })).toThrow(/autoDrift/);
    expect(() => resolveSpsaOptions({ autoDrift: Number.NaN })).toThrow(/autoDrift/);
    expect(curvatureRuleGain(0.8, 10, 0, 250, Float64Array.of(0.01))).toBeGreaterThan(0);
  });
});
