import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { resolveSpsaOptions } from "../src/engine/spsa/options.js";
import { SpsaCore } from "../src/engine/spsa/spsa-core.js";
import { Prng } from "../src/random/prng.js";
import { ParamRegistry, type ParamSpec } from "../src/space/param-registry.js";

/** Runs one plus → minus → commit iteration; returns the three points applied (raw), in order. */
function iteration(core: SpsaCore, registry: ParamRegistry, y: number): number[][] {
  const n = registry.size;
  const out = new Float64Array(n);
  const raw = (u: Float64Array) => Array.from(u, (v, i) => registry.toRaw(i, v));
  core.beginIteration();
  core.plusTarget(out);
  const plus = raw(out);
  core.recordPlus(y);
  core.minusTarget(out);
  const minus = raw(out);
  core.recordMinus(y + 1);
  core.commit(out);
  const centre = raw(out);
  core.recordCentre(y);
  return [plus, minus, centre];
}

describe("SpsaCore: a warm start travels on every apply", () => {
  const registry = new ParamRegistry({
    a: { min: 0, max: 100, init: 10, maxDelta: 5 },
    b: { min: 0, max: 100, init: 90, maxDelta: 5 },
  });

  it("moves a whole maxDelta towards the target on each of the three applies, estimating nothing", () => {
    const core = new SpsaCore(registry, resolveSpsaOptions({}), Prng.fromSeed(1, 1));
    core.recordCentre(1);
    core.warmStart(Float64Array.from([0.5, 0.5]));
    const samples = core.toJSON().noise;
    const [plus, minus, centre] = iteration(core, registry, 3);
    expect(plus[0]).toBeCloseTo(15, 6);
    expect(minus[0]).toBeCloseTo(20, 6);
    expect(centre[0]).toBeCloseTo(25, 6);
    expect(centre[1]).toBeCloseTo(75, 6);
    expect(Array.from(core.gradient)).toEqual([0, 0]);
    // No second difference from points on the way: the noise model is as it was.
    expect(core.toJSON().noise).toEqual(samples);
    expect(core.warmStarting).toBe(true);
    // 40 to go at 15 per iteration: arrived in the third.
    iteration(core, registry, 3);
    const [, , last] = iteration(core, registry, 3);
    expect(last[0]).toBeCloseTo(50, 9);
    expect(last[1]).toBeCloseTo(50, 9);
    expect(core.warmStarting).toBe(false);
  });

  it("an iteration abandoned on the way makes the point reached its centre, and travels on", () => {
    const core = new SpsaCore(registry, resolveSpsaOptions({}), Prng.fromSeed(1, 1));
    core.recordCentre(1);
    core.warmStart(Float64Array.from([0.5, 0.5]));
    const out = new Float64Array(2);
    core.beginIteration();
    core.plusTarget(out);
    core.recordPlus(3);
    core.minusTarget(out); // live now: two legs (10) from the centre, more than one maxDelta back
    core.abandonAt(out);
    expect(registry.toRaw(0, core.centre[0]!)).toBeCloseTo(20, 6);
    expect(registry.toRaw(1, core.centre[1]!)).toBeCloseTo(80, 6);
    expect(core.warmStarting).toBe(true);
    // Outside a warm start, abandoning keeps the centre where it was.
    const plain = new SpsaCore(registry, resolveSpsaOptions({}), Prng.fromSeed(2, 1));
    const before = Array.from(plain.centre);
    plain.beginIteration();
    plain.plusTarget(out);
    plain.abandonAt(out);
    expect(Array.from(plain.centre)).toEqual(before);
  });

  it("keeps every leg within maxDelta, log parameters included (property)", () => {
    const spec = fc.record({
      log: fc.boolean(),
      init: fc.double({ min: 0, max: 1, noNaN: true }),
      target: fc.double({ min: 0, max: 1, noNaN: true }),
      maxDelta: fc.double({ min: 0.5, max: 300, noNaN: true }),
      seed: fc.integer({ min: 1, max: 1000 }),
    });
    fc.assert(
      fc.property(spec, ({ log, init, target, maxDelta, seed }) => {
        const params: Record<string, ParamSpec> = {
          k: log
            ? { min: 1, max: 10_000, init: 10 ** (4 * init), scale: "log", maxDelta }
            : { min: 0, max: 1000, init: 1000 * init, maxDelta },
        };
        const reg = new ParamRegistry(params);
        const core = new SpsaCore(reg, resolveSpsaOptions({}), Prng.fromSeed(seed, 1));
        core.recordCentre(1);
        core.warmStart(Float64Array.from([target]));
        let previous = reg.init[0]!;
        for (let k = 0; k < 40 && core.warmStarting; k++) {
          for (const [value] of iteration(core, reg, 1)) {
            expect(Math.abs(value! - previous)).toBeLessThanOrEqual(maxDelta * (1 + 1e-9));
            previous = value!;
          }
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});
