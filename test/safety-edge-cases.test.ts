import { describe, expect, it } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import { Prng } from "../src/random/prng.js";
import { digestOf, type EngineRig, engineRig, eventsOfType } from "./support/engine-harness.js";

/** One knob on [0, 10] starting at 5 (maxDelta 1). */
const ONE = { x: { min: 0, max: 10, init: 5 } } as const satisfies EngineConfig["params"];
const QUICK_EXIT = { safeMode: { dwellMs: 1000, healthyWindows: 2 } } as const;

function feed(rig: EngineRig, count: number, extra: Record<string, number> = {}): void {
  const noise = Prng.fromSeed(count, 1);
  for (let i = 0; i < count; i++) {
    rig.clock.advanceBy(100);
    const x = rig.engine.values[0]!;
    rig.engine.observe({ ...digestOf(rig.engine, (x - 3) ** 2 + 0.05 * noise.normal()), ...extra });
  }
}

describe("SafeMode edge cases", () => {
  it("a NaN for an old generation is rejected without a trip; a burst freezes once, not into halted", () => {
    const rig = engineRig({ seed: 1, params: ONE, window: { digests: 5, ms: 500 }, safety: QUICK_EXIT });
    const { engine } = rig;
    feed(rig, 12);
    const generation = engine.generation;
    expect(generation).toBeGreaterThan(0);
    expect(engine.observe({ objective: Number.NaN, generation: generation - 1 })).toBe("wrong-generation");
    expect(engine.mode).toBe("normal");
    expect(engine.generation).toBe(generation);
    // A burst of NaN for the live generation, after finite values of it (digests 11 and 12): the
    // telemetry failed, not the apply. Frozen once, no rollback, still recoverable.
    for (let i = 0; i < 6; i++) {
      rig.clock.advanceBy(1);
      engine.observe({ objective: Number.NaN, generation: engine.generation });
    }
    engine.flushEvents();
    expect(eventsOfType(rig.events, "rollback")).toHaveLength(0);
    expect(engine.generation).toBe(generation);
    expect(engine.mode).toBe("frozen");
    expect(engine.snapshot().reasons).toEqual(["nonFiniteObjective"]);
  });

  it("an acknowledged reset ends constraint-first mode, and conditions that still hold come back", () => {
    let failing = true;
    const rig = engineRig({
      seed: 2,
      params: ONE,
      window: { digests: 5, ms: 500 },
      safety: { ...QUICK_EXIT, breaker: { failureThreshold: 1, baseBackoffMs: 60_000 } },
      onApply: () => {
        if (failing) throw new Error("actuator down");
      },
    });
    const { engine } = rig;
    feed(rig, 6, { constraintMargin: -0.1 });
    expect(engine.snapshot().reasons).toContain("constraintViolation");
    engine.halt("inspection");
    expect(engine.resetSafeMode({ acknowledge: "ops: checked" })).toBe(true);
    // The actuator's breaker is still open: that reason is raised again at once.
    expect(engine.snapshot().reasons).toEqual(["breakerOpen"]);
    failing = false;
    // Digests without a margin must feed windows again (feasibility mode is over): no stall.
    rig.clock.advanceBy(60_000);
    feed(rig, 80);
    expect(engine.snapshot().reasons).not.toContain("evalTimeouts");
    expect(engine.mode).toBe("normal");
    expect(eventsOfType(rig.events, "apply").length).toBeGreaterThan(0);
  });

  it("a reason stays with the engine until it really clears: the breaker must be closed, not half-open", () => {
    let failing = true;
    const pushed: number[] = [];
    const rig = engineRig({
      seed: 3,
      params: ONE,
      window: { digests: 5, ms: 500 },
      safety: { ...QUICK_EXIT, breaker: { failureThreshold: 1, baseBackoffMs: 1000 } },
      onApply: (values) => {
        pushed.push(values[0]!);
        if (failing) throw new Error("down");
      },
    });
    const { engine } = rig;
    feed(rig, 8);
    expect(engine.snapshot().reasons).toEqual(["breakerOpen"]);
    // The probe fails while the actuator is still down: the breaker opens again, the reason stays.
    rig.clock.advanceBy(1500);
    expect(engine.snapshot().reasons).toEqual(["breakerOpen"]);
    failing = false;
    rig.clock.advanceBy(5000);
    expect(engine.snapshot().reasons).toEqual([]);
    expect(pushed.length).toBeGreaterThanOrEqual(3);
  });
});
