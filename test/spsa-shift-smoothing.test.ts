import { describe, expect, it } from "vitest";
import { resolveSpsaOptions } from "../src/engine/spsa/options.js";
import { NOISE_WARMUP, SHIFT_SMOOTHING, SpsaCore } from "../src/engine/spsa/spsa-core.js";
import { Prng } from "../src/random/prng.js";
import { ParamRegistry } from "../src/space/param-registry.js";
import { iterate } from "./support/spsa-iteration.js";

const registry = new ParamRegistry({
  a: { min: 0, max: 1, init: 0.5, maxDelta: 0.1 },
  b: { min: 0, max: 1, init: 0.5, maxDelta: 0.1 },
});

/** One iteration on 100·|u − 0.3|² + N(0, 0.1²); returns m before it, and ĝ and m after it. */
function step(core: SpsaCore, noise: Prng, out: Float64Array) {
  const f = (u: Float64Array) => 100 * ((u[0]! - 0.3) ** 2 + (u[1]! - 0.3) ** 2) + 0.1 * noise.normal();
  const before = Array.from(core.smoothed);
  iterate(core, f, out);
  return { before, gradient: Array.from(core.gradient), after: Array.from(core.smoothed) };
}

/** A core with smoothing 0.7 after 200 iterations (its noise model warm), with its noise stream and point. */
function settled() {
  const options = resolveSpsaOptions({ smoothing: 0.7 });
  const core = new SpsaCore(registry, options, Prng.fromSeed(5, 1));
  const noise = Prng.fromSeed(6, 2);
  const out = new Float64Array(2);
  out.set(core.centre);
  core.recordCentre(0);
  for (let k = 0; k < 200; k++) step(core, noise, out);
  return { options, core, noise, out };
}

describe("SpsaCore: smoothing while travelling after a shift", () => {
  it(`follows β = ${SHIFT_SMOOTHING} after the gain re-opens, and the option's β once the noise is re-learnt`, () => {
    const { core, noise, out } = settled();
    const beta = (s: { before: number[]; gradient: number[]; after: number[] }) =>
      (s.after[0]! - s.gradient[0]!) / (s.before[0]! - s.gradient[0]!);
    expect(beta(step(core, noise, out))).toBeCloseTo(0.7, 9);

    core.reopenGain();
    // The first estimate after the shift starts the filter afresh; the next ones use SHIFT_SMOOTHING.
    const first = step(core, noise, out);
    expect(first.after).toEqual(first.gradient);
    expect(beta(step(core, noise, out))).toBeCloseTo(SHIFT_SMOOTHING, 9);
    // Travelling ends with the noise model's warm-up (one second difference per iteration).
    for (let k = 0; k < NOISE_WARMUP; k++) step(core, noise, out);
    expect(beta(step(core, noise, out))).toBeCloseTo(0.7, 9);
  });

  it("a saved core that is travelling keeps travelling when restored", () => {
    const { options, core, noise, out } = settled();
    core.reopenGain();
    step(core, noise, out);
    const restored = SpsaCore.restore(registry, options, core.toJSON());
    expect(restored.toJSON()).toEqual(core.toJSON());
    const outA = Float64Array.from(out);
    const outB = Float64Array.from(out);
    const a = step(core, Prng.fromSeed(9, 9), outA);
    const b = step(restored, Prng.fromSeed(9, 9), outB);
    expect(b).toEqual(a);
    expect(Array.from(outB)).toEqual(Array.from(outA));
  });
});
