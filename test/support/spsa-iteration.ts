import type { SpsaCore } from "../../src/engine/spsa/spsa-core.js";

/**
 * One full SPSA iteration against `f` (unit coordinates), in the engine's order: plus, minus,
 * commit, then the centre's measurement. `f` is called three times, in that order, with `out`
 * holding the point; returns the commit code.
 */
export function iterate(core: SpsaCore, f: (u: Float64Array) => number, out: Float64Array): number {
  core.beginIteration();
  core.plusTarget(out);
  core.recordPlus(f(out));
  core.minusTarget(out);
  core.recordMinus(f(out));
  const code = core.commit(out);
  core.recordCentre(f(out));
  return code;
}
