// Constraint-first mode: a feasibility step moves the centre without advancing k. Its decision and
// decision.step records must say so truthfully: the current k, and the step size it used.
import { describe, expect, it } from "vitest";
import type { AuditEvent, DecisionEvent, DecisionStepEvent } from "../src/audit/events.js";
import { RecordedViewFold } from "../src/dashboard/recorded-view.js";
import { createEngine } from "../src/engine/engine.js";
import { FEASIBILITY_STEP_FRACTION } from "../src/engine/spsa/spsa-core.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";

/**
 * An engine on the bowl 10 + (x − 3)², one digest each 250 ms, with its audit events; `feed(n)`
 * sends n digests (with `margin`, a constraint margin) and delivers the events.
 */
function bowlRig() {
  const clock = new ReplayClock(0);
  const engine = createEngine({
    seed: 3,
    params: { x: { min: 0, max: 10, init: 5, maxDelta: 1 } },
    window: { digests: 1 },
    scheduler: clock,
  });
  const events: AuditEvent[] = [];
  engine.events.subscribe((e) => events.push(e));
  const feed = (n: number, margin?: number) => {
    for (let i = 0; i < n; i++) {
      clock.advanceTo(clock.now() + 250);
      const objective = 10 + (engine.values[0]! - 3) ** 2;
      engine.observe({
        objective,
        generation: engine.generation,
        ...(margin === undefined ? {} : { constraintMargin: margin }),
      });
    }
    engine.flushEvents();
  };
  return { engine, events, feed };
}

describe("the audit of a feasibility step", () => {
  it("carries the current iteration and the fraction of the room it moved", async () => {
    const clock = new ReplayClock(0);
    const engine = createEngine({
      seed: 1,
      params: { x: { min: 0, max: 10, init: 5 } },
      window: { digests: 1 },
      scheduler: clock,
    });
    const events: AuditEvent[] = [];
    engine.events.subscribe((e) => events.push(e));
    for (let i = 0; i < 12; i++) {
      clock.advanceTo(clock.now() + 250);
      // Violated (no emergency): the engine seeks feasibility from the first digest on.
      engine.observe({ objective: 10, generation: engine.generation, constraintMargin: -0.1 });
    }
    engine.flushEvents();
    const k = engine.snapshot().iteration;
    const decisions = events.filter((e): e is DecisionEvent => e.type === "decision");
    const steps = events.filter((e): e is DecisionStepEvent => e.type === "decision.step");
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.length).toBe(decisions.length);
    for (const decision of decisions) {
      expect(decision.outcome).toBe("stepped");
      expect(decision.iteration).toBe(k);
    }
    for (const step of steps) {
      expect(step.iteration).toBe(k);
      expect(step.a).toBe(FEASIBILITY_STEP_FRACTION);
      expect(Number.isFinite(step.c)).toBe(true);
    }
    await engine.close();
  });

  it("carries the k the gradient steps before it reached, not the one before", async () => {
    const { engine, events, feed } = bowlRig();
    feed(60);
    const k = engine.snapshot().iteration;
    expect(k).toBeGreaterThan(0);
    const from = events.at(-1)!.seq;
    feed(24, -0.1);
    expect(engine.snapshot().iteration).toBe(k);
    const steps = events.filter((e): e is DecisionStepEvent => e.type === "decision.step" && e.seq > from);
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) expect([step.iteration, step.a]).toEqual([k, FEASIBILITY_STEP_FRACTION]);
    await engine.close();
  });
});

describe("what readers of the audit make of a feasibility step", () => {
  it("the recorded dashboard's iteration stays the engine's, where it read one more", async () => {
    const { engine, feed } = bowlRig();
    const fold = new RecordedViewFold("t");
    engine.events.subscribe((e) => fold.add(e));
    feed(60);
    expect(fold.view().iteration).toBe(engine.snapshot().iteration);
    feed(24, -0.1); // feasibility steps
    expect(fold.view().iteration).toBe(engine.snapshot().iteration);
    feed(60, 0.5); // gradient steps again
    expect(fold.view().iteration).toBe(engine.snapshot().iteration);
    await engine.close();
  });
});
