import { describe, expect, it } from "vitest";
import { digestOf, engineRig } from "./support/engine-harness.js";
import { bowl, ONE } from "./support/safety-drill.js";

// While a constraint is violated the SPSA cycle measures the margin, not the objective. A digest
// without `constraintMargin` says nothing about the constraint (docs/concepts/safe-mode.md,
// "Constraints first"): it neither clears the violation nor feeds a window, and is counted unused.

describe("digests without a constraint margin while the engine seeks feasibility", () => {
  it("are counted unused, leave constraintViolation in place, and a margin ≥ 0 ends it", () => {
    const rig = engineRig({ seed: 3, params: ONE });
    const { engine } = rig;
    const plant = bowl(3);
    const step = (extra = {}) => {
      rig.clock.advanceBy(50);
      return engine.observe(digestOf(engine, plant(engine.values[0]!), extra));
    };
    for (let i = 0; i < 100; i++) step();
    step({ constraintMargin: -0.1 });
    expect(engine.snapshot().reasons).toEqual(["constraintViolation"]);
    const before = engine.snapshot().digests;
    for (let i = 0; i < 200; i++) expect(step()).toBe("accepted");
    const after = engine.snapshot();
    expect(after.digests.accepted - before.accepted).toBe(200);
    // Every one of them accepted and fed nothing: counted, not lost.
    expect(after.digests.unused - before.unused).toBe(200);
    expect(after.reasons).toEqual(["constraintViolation"]);
    expect(after.mode).toBe("conservative");
    // Only a reported margin says the constraint recovered.
    step({ constraintMargin: 0.5 });
    expect(engine.snapshot().reasons).toEqual([]);
  });

  it("digests with a margin still feed the feasibility windows (not counted unused)", () => {
    const rig = engineRig({ seed: 3, params: ONE, window: { digests: 1000, ms: 60_000 } });
    const { engine } = rig;
    rig.clock.advanceBy(50);
    engine.observe(digestOf(engine, 1, { constraintMargin: -0.1 }));
    const before = engine.snapshot().digests.unused;
    for (let i = 0; i < 20; i++) {
      rig.clock.advanceBy(50);
      engine.observe(digestOf(engine, 1, { constraintMargin: -0.1 }));
    }
    expect(engine.snapshot().digests.unused).toBe(before);
  });
});
