import { describe, expect, it } from "vitest";
import { digestOf, engineRig, eventsOfType } from "./support/engine-harness.js";
import { bowl, eventsSince, feed, ONE, QUICK_EXIT } from "./support/safety-drill.js";

// A burst of non-finite objectives is counted for one generation: NaNs measured under the
// previous generation say nothing about the apply that made the new one (docs/concepts/safe-mode.md,
// "Telemetry faults are not configuration faults").

describe("non-finite digests of an older generation do not count towards a burst of the new one", () => {
  it("two NaNs before a paced apply and one after it neither trip nor roll back", () => {
    // A minimum interval of 1 s holds each decision back: digests keep coming for the old point.
    const rig = engineRig({
      seed: 3,
      params: ONE,
      guardrails: { preset: "balanced", minIntervalMs: 1000 },
      safety: QUICK_EXIT,
    });
    const { engine } = rig;
    const plant = bowl(3);
    feed(rig, 80, 250, plant);
    let episodes = 0;
    for (let k = 0; k < 200 && episodes < 4; k++) {
      const generation = engine.generation;
      rig.clock.advanceBy(10);
      engine.observe(digestOf(engine, plant(engine.values[0]!)));
      // A window closed and its decision waits for the guardrails: two NaNs for this generation…
      if (engine.generation !== generation) continue;
      expect(engine.observe(digestOf(engine, Number.NaN))).toBe("non-finite-objective");
      expect(engine.observe(digestOf(engine, Number.NaN))).toBe("non-finite-objective");
      while (engine.generation === generation) rig.clock.advanceBy(10);
      // …and one for the point just applied: not three in a row for any generation.
      const mark = rig.events.length;
      expect(engine.observe(digestOf(engine, Number.NaN))).toBe("non-finite-objective");
      engine.flushEvents();
      expect(eventsOfType(eventsSince(rig, mark), "rollback")).toEqual([]);
      expect(engine.snapshot().reasons).toEqual([]);
      expect(engine.mode).toBe("normal");
      episodes++;
      feed(rig, 40, 250, plant);
    }
    expect(episodes).toBe(4);
    expect(engine.mode).toBe("normal");
  });

  it("a rollback restarts the count: two NaNs before it and one after it do nothing", () => {
    const rig = engineRig({ seed: 1, params: ONE, window: { digests: 5, ms: 500 }, safety: QUICK_EXIT });
    const { engine } = rig;
    feed(rig, 12, 100, bowl(1));
    engine.observe(digestOf(engine, Number.NaN));
    engine.observe(digestOf(engine, Number.NaN));
    const generation = engine.generation;
    expect(engine.rollback("operator")).toBe(true);
    expect(engine.generation).toBe(generation + 1);
    engine.flushEvents();
    const mark = rig.events.length;
    expect(engine.observe(digestOf(engine, Number.NaN))).toBe("non-finite-objective");
    engine.flushEvents();
    expect(engine.generation).toBe(generation + 1);
    expect(engine.snapshot().reasons).toEqual([]);
    expect(eventsOfType(eventsSince(rig, mark), "rollback")).toEqual([]);
    // Three for the new generation, before any finite value of it, still blame it.
    engine.observe(digestOf(engine, Number.NaN));
    engine.observe(digestOf(engine, Number.NaN));
    engine.flushEvents();
    expect(engine.snapshot().reasons).toEqual(["nonFiniteObjective"]);
    expect(eventsOfType(eventsSince(rig, mark), "rollback").map((e) => e.note)).toEqual([
      "instability governor: nonFiniteObjective",
    ]);
  });
});

describe("non-finite digests that the time checks refuse count for nothing", () => {
  it("three NaNs stamped inside the settle period, too long ago or in the future neither trip nor roll back", () => {
    const stamps: [string, (now: number) => number][] = [
      ["settling", (now) => now - 1], // stamped after the apply, within settleMs of it
      ["settling", (now) => now - 2_000], // before the apply, within maxAgeMs: the old configuration
      ["too-old", (now) => now - 20_000], // before the apply too: age is checked before settling
      ["from-future", (now) => now + 5_000],
    ];
    for (const [verdict, stamp] of stamps) {
      const rig = engineRig({ seed: 1, params: ONE, settleMs: 1000, safety: QUICK_EXIT });
      const { engine } = rig;
      const plant = bowl(1);
      const start = engine.generation;
      // Past the calibration's first applies, then right after an apply: its settle period.
      for (let i = 0; i < 400 && engine.generation < start + 3; i++) feed(rig, 1, 250, plant);
      const generation = engine.generation;
      rig.clock.advanceBy(5);
      engine.flushEvents();
      const mark = rig.events.length;
      for (let i = 0; i < 3; i++) {
        rig.clock.advanceBy(1);
        const digest = digestOf(engine, Number.NaN, { timestamp: stamp(engine.now()) });
        expect(engine.observe(digest)).toBe(verdict);
      }
      engine.flushEvents();
      expect(eventsOfType(eventsSince(rig, mark), "rollback")).toEqual([]);
      expect(engine.generation).toBe(generation);
      expect(engine.mode).toBe("normal");
      // A burst the checks let through still trips: three NaNs measured after the settle period.
      rig.clock.advanceBy(2000);
      for (let i = 0; i < 3 && engine.generation === generation; i++) {
        rig.clock.advanceBy(1);
        expect(engine.observe(digestOf(engine, Number.NaN))).toBe("non-finite-objective");
      }
      expect(engine.snapshot().reasons).toContain("nonFiniteObjective");
    }
  });
});
