import { describe, expect, it } from "vitest";
import type { EngineSnapshot } from "../src/engine/engine.js";
import { resolveSpsaOptions } from "../src/engine/spsa/options.js";
import { BOUNDARY_RECOVERY_STEPS, CommitResult, SpsaCore } from "../src/engine/spsa/spsa-core.js";
import { Prng } from "../src/random/prng.js";
import { ParamRegistry, type ParamSpec } from "../src/space/param-registry.js";
import { digestOf, engineRig } from "./support/engine-harness.js";
import { iterate } from "./support/spsa-iteration.js";

// An optimum just past a constraint's boundary (docs/concepts/safe-mode.md, "Constraints first"):
// the objective pulls x towards 7, the constraint needs x ≤ 4. Before, every perturbed point that
// crossed the boundary turned the cycle to feasibility and every feasible digest turned it back,
// each turn restarting the iteration: the iteration stuck at 3 with the centre at 4.1, infeasible.

const PARAMS = { x: { min: 0, max: 10, init: 2 }, y: { min: 0, max: 10, init: 2 } } as const;

/** A mode above normal must say why: an active reason, or the reasons it is stepping down from. */
function explained(snapshot: EngineSnapshot): boolean {
  return (
    snapshot.mode === "normal" || snapshot.reasons.length > 0 || (snapshot.steppingDownFrom ?? []).length > 0
  );
}

function runAtBoundary(seed: number) {
  const rig = engineRig({
    seed,
    params: PARAMS,
    window: { digests: 1, ms: 500 },
    safety: { safeMode: { dwellMs: 1000 } },
  });
  const { engine } = rig;
  let iterationAtHalf = 0;
  let lateViolations = 0;
  let worstLate = 0;
  let unexplained = 0;
  for (let t = 20; t <= 120_000; t += 20) {
    rig.clock.advanceBy(20);
    const x = engine.values[0]!;
    const margin = 4 - x;
    if (t > 60_000 && margin < 0) {
      lateViolations++;
      worstLate = Math.min(worstLate, margin);
    }
    engine.observe(digestOf(engine, (x - 7) ** 2 + 1, { constraintMargin: margin }));
    if (!explained(engine.snapshot())) unexplained++;
    if (t === 60_000) iterationAtHalf = engine.snapshot().iteration;
  }
  return { snapshot: engine.snapshot(), iterationAtHalf, lateViolations, worstLate, unexplained };
}

describe("an optimum just past a constraint's boundary", () => {
  it.each([7, 1, 2])("seed %i: settles just inside the boundary, feasible, and keeps iterating", (seed) => {
    const { snapshot, iterationAtHalf, lateViolations, worstLate, unexplained } = runAtBoundary(seed);
    expect(snapshot.centre.x).toBeLessThanOrEqual(4);
    expect(snapshot.centre.x).toBeGreaterThan(3.6);
    // The second minute alone completes over a hundred gradient steps (before: none after the third).
    expect(snapshot.iteration - iterationAtHalf).toBeGreaterThan(100);
    // Once settled, only a perturbed point grazes the boundary now and then, and only just.
    expect(lateViolations).toBeLessThan(150); // of 3000 digests (before: about 1800)
    expect(worstLate).toBeGreaterThan(-0.05);
    expect(unexplained).toBe(0);
  });
});

describe("a mode above normal names its reasons", () => {
  it("while it steps down, steppingDownFrom names the reasons that cleared; in normal it is absent", () => {
    const rig = engineRig({
      seed: 3,
      params: { x: { min: 0, max: 10, init: 5 } },
      window: { digests: 5, ms: 500 },
      safety: { safeMode: { dwellMs: 1000, healthyWindows: 2 } },
    });
    const { engine } = rig;
    const step = (margin: number) => {
      rig.clock.advanceBy(100);
      engine.observe(digestOf(engine, (engine.values[0]! - 3) ** 2, { constraintMargin: margin }));
    };
    for (let i = 0; i < 20; i++) step(1);
    step(-0.1);
    expect(engine.snapshot()).toMatchObject({ mode: "conservative", reasons: ["constraintViolation"] });
    expect(engine.snapshot().steppingDownFrom).toBeUndefined();
    let sawSteppingDown = false;
    for (let i = 0; i < 200 && engine.mode !== "normal"; i++) {
      step(1);
      const snapshot = engine.snapshot();
      expect(explained(snapshot)).toBe(true);
      if (snapshot.mode === "conservative" && snapshot.reasons.length === 0) {
        expect(snapshot.steppingDownFrom).toEqual(["constraintViolation"]);
        sawSteppingDown = true;
      }
    }
    expect(sawSteppingDown).toBe(true);
    expect(engine.mode).toBe("normal");
    expect(engine.snapshot().steppingDownFrom).toBeUndefined();
  });
});

describe("an optimum inside the feasible region", () => {
  it("margins that stay ≥ 0 change no decision", () => {
    const run = (withMargin: boolean) => {
      const rig = engineRig({ seed: 5, params: PARAMS, window: { digests: 1, ms: 500 } });
      const { engine } = rig;
      for (let t = 0; t < 30_000; t += 20) {
        rig.clock.advanceBy(20);
        const [x, y] = [engine.values[0]!, engine.values[1]!];
        const objective = (x - 3) ** 2 + 0.1 * (y - 5) ** 2 + 1;
        engine.observe(digestOf(engine, objective, withMargin ? { constraintMargin: 4 - x + 2 } : {}));
      }
      return engine.snapshot();
    };
    const plain = run(false);
    const constrained = run(true);
    expect(constrained.centre).toEqual(plain.centre);
    expect(constrained.iteration).toBe(plain.iteration);
    expect(constrained.mode).toBe("normal");
  });
});

describe("the boundary's shorter steps after a constraint met once", () => {
  it("halve at each turn to feasibility and double back after 50 steps without one", () => {
    const params: Record<string, ParamSpec> = {
      p0: { min: 0, max: 1, init: 0.3, maxDelta: 0.1 },
      p1: { min: 0, max: 1, init: 0.6, maxDelta: 0.1 },
    };
    const core = new SpsaCore(new ParamRegistry(params), resolveSpsaOptions({}), Prng.fromSeed(5, 1));
    const f = (u: Float64Array) => (u[0]! - 0.5) ** 2 + (u[1]! - 0.5) ** 2;
    const out = new Float64Array(2);
    core.recordCentre(f(core.centre));
    const turn = () => {
      core.setFeasibilityOnly(true);
      core.setFeasibilityOnly(false);
      core.recordCentre(f(core.centre));
    };
    const stepped = (count: number) => {
      let steps = 0;
      while (steps < count) if (iterate(core, f, out) === CommitResult.Stepped) steps++;
    };
    turn();
    turn();
    expect(core.boundaryStepScale).toBe(0.25);
    stepped(BOUNDARY_RECOVERY_STEPS - 1);
    expect(core.boundaryStepScale).toBe(0.25);
    stepped(1);
    expect(core.boundaryStepScale).toBe(0.5);
    // Another turn starts the count again; a saved state keeps it.
    stepped(10);
    turn();
    expect(core.boundaryStepScale).toBe(0.25);
    stepped(BOUNDARY_RECOVERY_STEPS - 1);
    const restored = SpsaCore.restore(new ParamRegistry(params), resolveSpsaOptions({}), core.toJSON());
    expect(restored.boundaryStepScale).toBe(0.25);
    iterate(core, f, out);
    expect(core.boundaryStepScale).toBe(0.5);
    stepped(BOUNDARY_RECOVERY_STEPS);
    expect(core.boundaryStepScale).toBe(1);
  });
});

describe("a saved SPSA state with a boundary scale out of range", () => {
  it.each([0, -1, Number.NaN, 2])(
    "restores scale %s as 1 (no boundary met), not as a step-killing factor",
    (bad) => {
      const params: Record<string, ParamSpec> = { p0: { min: 0, max: 1, init: 0.3, maxDelta: 0.1 } };
      const registry = new ParamRegistry(params);
      const core = new SpsaCore(registry, resolveSpsaOptions({}), Prng.fromSeed(5, 1));
      const state = { ...core.toJSON(), boundaryScale: bad, boundaryCalm: -3 };
      expect(SpsaCore.restore(registry, resolveSpsaOptions({}), state).boundaryStepScale).toBe(1);
    },
  );
});
