import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { Prng } from "../src/random/prng.js";
import { digestOf, type EngineRig, engineRig, eventsOfType } from "./support/engine-harness.js";
import { ONE, QUICK_EXIT } from "./support/safety-drill.js";

// A constraint margin near 0 with measurement noise (docs/concepts/safe-mode.md, "Constraints
// first"). The violation used to clear with the first margin ≥ 0 at the centre, and each raise and
// each clear restarted the cycle: with noise, every few digests flipped it, no multi-digest window
// ever filled and the engine stopped tuning. It now clears at the close of a centre window that held
// no negative margin.

type WindowClosed = Extract<AuditEvent, { type: "window.closed" }>;
interface Stepped {
  readonly closed: WindowClosed[];
  readonly after: AuditEvent[];
}

/** Feeds one digest (margin `margin`, objective 10 + (x − 3)²): the events it caused. */
function stepper(rig: EngineRig, stepMs: number) {
  const { engine } = rig;
  return (margin: number): Stepped => {
    const from = rig.events.length;
    rig.clock.advanceBy(stepMs);
    const x = engine.values[0]!;
    expect(engine.observe(digestOf(engine, 10 + (x - 3) ** 2, { constraintMargin: margin }))).toBe(
      "accepted",
    );
    engine.flushEvents();
    const after = rig.events.slice(from);
    return { closed: eventsOfType(after, "window.closed"), after };
  };
}

const violated = (rig: EngineRig) => rig.engine.snapshot().reasons.includes("constraintViolation");

describe("a constraint margin that hovers near 0 with noise", () => {
  it("windows of 10 digests fill and iterations complete (before: none in 10 minutes)", () => {
    const rig = engineRig({
      seed: 3,
      params: { x: { min: 0, max: 10, init: 2 } },
      window: { digests: 10, ms: 5000 },
    });
    const step = stepper(rig, 200);
    const noise = Prng.fromSeed(4, 1);
    let closed = 0;
    for (let i = 0; i < 600; i++) closed += step(0.1 * noise.normal()).closed.length;
    expect(closed).toBeGreaterThanOrEqual(50); // of at most 60
    // Feasibility steps (which `snapshot().iteration` does not count), and gradient steps if any.
    expect(eventsOfType(rig.events, "decision.step").length).toBeGreaterThanOrEqual(15);
    expect(eventsOfType(rig.events, "eval.timeout")).toEqual([]);
  });
});

describe("the violation clears at the close of a clean centre window", () => {
  it("stays in feasibility while every window holds a negative margin, iterating all along", () => {
    const rig = engineRig({ seed: 1, params: ONE, window: { digests: 3, ms: 1000 } });
    const step = stepper(rig, 150);
    let closed = 0;
    // Any three digests in a row hold two negative margins.
    for (let i = 1; i <= 400; i++) {
      closed += step(i % 3 === 0 ? 0.5 : -0.2).closed.length;
      expect(violated(rig)).toBe(true);
    }
    expect(rig.engine.snapshot().mode).toBe("conservative");
    expect(closed).toBeGreaterThanOrEqual(120);
    // Every iteration completes: a feasibility step per three windows.
    expect(eventsOfType(rig.events, "decision.step").length).toBeGreaterThanOrEqual(30);
  });

  it("turns back to the objective at a window's close, and never feeds it that window's margin", () => {
    const rig = engineRig({ seed: 1, params: ONE, window: { digests: 3, ms: 1000 } });
    const step = stepper(rig, 150);
    for (let i = 1; i <= 100; i++) step(i % 3 === 0 ? 0.5 : -0.2);
    expect(violated(rig)).toBe(true);
    let feasibleDigests = 0;
    let clearing: Stepped | undefined;
    while (clearing === undefined && feasibleDigests < 100) {
      const result = step(0.5);
      feasibleDigests++;
      if (!violated(rig)) clearing = result;
    }
    expect(clearing).toBeDefined();
    // Not the first margin ≥ 0: a whole window of them, closed by the digest that cleared.
    expect(feasibleDigests).toBeGreaterThanOrEqual(3);
    expect(clearing!.closed).toHaveLength(1);
    expect(clearing!.closed[0]!.value).toBeCloseTo(-0.5, 12); // the negated margin
    // The cycle starts over on the objective: its centre is measured again, in a window of its own.
    expect(rig.engine.snapshot().phase).toBe("cycle.holding");
    expect(eventsOfType(clearing!.after, "apply")).toEqual([]);
    const later: AuditEvent[] = [];
    for (let i = 0; i < 30; i++) later.push(...step(0.5).after);
    const firstApply = later.findIndex((e) => e.type === "apply");
    const firstWindow = later.findIndex((e) => e.type === "window.closed");
    expect(firstWindow).toBeGreaterThanOrEqual(0);
    expect(firstApply).toBeGreaterThan(firstWindow);
    const measured = later[firstWindow] as WindowClosed;
    expect(measured.value).toBeGreaterThanOrEqual(10); // the objective, not a negated margin
    expect(violated(rig)).toBe(false);
  });

  it("after an emergency rollback, the first clean window at the baseline ends it; the paused cycle keeps its windows", () => {
    const rig = engineRig({ seed: 1, params: ONE, window: { digests: 3, ms: 1000 }, safety: QUICK_EXIT });
    const { engine } = rig;
    const step = stepper(rig, 150);
    for (let i = 0; i < 12; i++) step(0.5);
    expect(engine.values[0]).not.toBe(5);
    step(-1);
    expect(engine.values[0]).toBe(5); // rolled back to the baseline
    expect(engine.snapshot().reasons).toEqual(["constraintViolation", "constraintEmergency"]);
    // The emergency clears with the first margin ≥ 0; the violation with the first clean window.
    let first = step(0.5);
    expect(engine.snapshot().reasons).toEqual(["constraintViolation"]);
    while (first.closed.length === 0) {
      expect(violated(rig)).toBe(true);
      first = step(0.5);
    }
    expect(violated(rig)).toBe(false);
    expect(engine.snapshot().phase).toBe("paused");
    // Frozen, the cycle is paused: its windows go on closing, and it resumes on the objective.
    let closed = 0;
    for (let i = 0; i < 200; i++) closed += step(0.5).closed.length;
    expect(closed).toBeGreaterThanOrEqual(50);
    expect(engine.snapshot().mode).toBe("normal");
    expect(engine.snapshot().iteration).toBeGreaterThan(0);
    expect(eventsOfType(rig.events, "rollback")).toHaveLength(1);
  });
});
