import { describe, expect, it } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import { Prng } from "../src/random/prng.js";
import { digestOf, type EngineRig, engineRig, eventsOfType } from "./support/engine-harness.js";

// Decision rules 4 (docs/guide/decision-log.md): a negative margin measured at the baseline makes
// the governor wait for a feasible centre before it judges divergence again, its level there being
// no known-good one. An acknowledged reset clears the violation without any margin, so under rules
// 3 nothing ended that wait: the next violation, even one measured far from the baseline, blinded
// the governor for as long as it was held. The reset now ends the wait.

/** One knob on [0, 10] starting at 5 (the baseline); windows of five digests 100 ms apart. */
const DRILL = {
  params: { x: { min: 0, max: 10, init: 5 } },
  window: { digests: 5, ms: 500 },
  safety: { safeMode: { dwellMs: 1000, healthyWindows: 2 } },
} as const satisfies Omit<EngineConfig, "seed">;

/** What the plant measures at live value `x`. */
type Plant = (x: number) => { readonly objective: number; readonly margin: number };

/** Feeds `count` digests of `plant`, one every 100 ms; returns the objectives measured. */
function feed(rig: EngineRig, count: number, plant: Plant): number[] {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) {
    rig.clock.advanceBy(100);
    const { objective, margin } = plant(rig.engine.values[0]!);
    seen.push(objective);
    rig.engine.observe(digestOf(rig.engine, objective, { constraintMargin: margin }));
  }
  return seen;
}

/** 10 + (x − 3)²: the tuner walks from the baseline (14) towards 3. */
function bowl(noise: Prng): (x: number) => number {
  return (x) => 10 + (x - 3) ** 2 + 0.05 * noise.normal();
}

/**
 * A debt the tuner runs up: every digest below x = 4.5 adds 0.05 · (4.5 − x) to the objective
 * (drained only at 4.5 or more), a slow rise the tuner's gradient does not see. The constraint is
 * broken everywhere, just above the emergency level, and slightly less so at lower x: feasibility
 * seeking moves the centre on, away from the baseline, and the violation is held throughout.
 */
function creepingDebtInViolation(noise: Prng): Plant {
  const level = bowl(noise);
  let debt = 0;
  return (x) => {
    if (x < 4.5) debt += 0.05 * (4.5 - x);
    else debt *= 0.9;
    return { objective: level(x) + debt, margin: -0.1 - 0.01 * (x - 3) };
  };
}

/** An engine whose first digests measured a constraint violation at the baseline. */
function violatedAtBaseline(): { rig: EngineRig; noise: Prng } {
  const rig = engineRig({ seed: 2, ...DRILL });
  const noise = Prng.fromSeed(4, 1);
  const level = bowl(noise);
  expect(rig.engine.values[0]).toBe(5);
  feed(rig, 10, (x) => ({ objective: level(x), margin: -0.1 }));
  expect(rig.engine.snapshot()).toMatchObject({ mode: "conservative", reasons: ["constraintViolation"] });
  return { rig, noise };
}

describe("a violation measured at the baseline, then an acknowledged reset", () => {
  it("the governor judges divergence again: a later violation held away from the baseline does not blind it", () => {
    const { rig, noise } = violatedAtBaseline();
    const { engine } = rig;
    engine.halt("constraint broken at the baseline");
    expect(engine.mode).toBe("halted");
    expect(engine.resetSafeMode({ acknowledge: "ops: constraint fixed" })).toBe(true);
    expect(engine.snapshot()).toMatchObject({ mode: "normal", reasons: [] });
    // Feasible again: the tuner walks well away from the baseline, and nothing trips.
    const level = bowl(noise);
    feed(rig, 300, (x) => ({ objective: level(x), margin: 0.5 }));
    engine.flushEvents();
    expect(eventsOfType(rig.events, "rollback")).toHaveLength(0);
    expect(engine.snapshot().centre.x).toBeLessThan(4);
    const mark = rig.events.length;

    const seen = feed(rig, 3000, creepingDebtInViolation(noise));
    engine.flushEvents();
    const after = rig.events.slice(mark);
    // The divergence is judged while the violation is held, and rolled back to the baseline.
    const rollbacks = eventsOfType(after, "rollback");
    expect(rollbacks.length).toBeGreaterThanOrEqual(1);
    expect(rollbacks[0]).toMatchObject({ note: "instability governor: divergence", values: { x: 5 } });
    const trip = eventsOfType(after, "mode.changed").find((e) => e.reasons.includes("divergence"));
    expect(trip?.reasons).toEqual(["divergence", "constraintViolation"]);
    // Caught early: under rules 3 the debt crept on unchecked, past 600.
    expect(Math.max(...seen)).toBeLessThan(40);
  });
});

describe("a violation measured at the baseline and held (no reset)", () => {
  it("the governor judges no divergence against a level measured at the infeasible baseline", () => {
    const { rig, noise } = violatedAtBaseline();
    const { engine } = rig;
    const seen = feed(rig, 3000, creepingDebtInViolation(noise));
    engine.flushEvents();
    // The tuner left the baseline and the debt grew far past anything a divergence would trip on …
    expect(engine.snapshot().centre.x).toBeLessThan(4);
    expect(Math.max(...seen)).toBeGreaterThan(100);
    // … yet, the violation never cleared, no divergence was judged: no trip, no absorbed shift.
    expect(eventsOfType(rig.events, "rollback")).toHaveLength(0);
    const trips = eventsOfType(rig.events, "mode.changed").filter((e) => e.reasons.includes("divergence"));
    expect(trips).toHaveLength(0);
    expect(engine.snapshot()).toMatchObject({
      mode: "conservative",
      reasons: ["constraintViolation"],
      spikesAbsorbed: 0,
    });
  });
});
