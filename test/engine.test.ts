import { Effect, Exit } from "effect";
import { describe, expect, it } from "vitest";
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../src/audit/events.js";
import type { EngineConfig } from "../src/engine/config.js";
import type { Digest } from "../src/engine/digest.js";
import { createEngine, Engine, type EngineSnapshot } from "../src/engine/engine.js";
import { ConfigError } from "../src/errors.js";
import { readShared } from "../src/hotpath/shared-live-config.js";
import { Prng } from "../src/random/prng.js";
import { ManualClock } from "./support/engine-clock.js";
import { digestOf, type EngineRig, engineRig, eventsOfType } from "./support/engine-harness.js";

/** One linear and one log-scale knob; maxDelta defaults to 10 % of the range. */
const PARAMS = {
  x: { min: 0, max: 10, init: 5 },
  y: { min: 1, max: 100, init: 10, scale: "log" },
} as const satisfies EngineConfig["params"];

/** A bowl with its minimum at x = 3, y = 20, plus a little deterministic ripple. */
function bowl(values: Float64Array, i = 0): number {
  return (values[0]! - 3) ** 2 + (Math.log(values[1]!) - Math.log(20)) ** 2 + 0.01 * Math.sin(i);
}

/** Feeds `count` digests of `objective`, one every `stepMs` of virtual time. */
function feed(
  rig: EngineRig,
  count: number,
  stepMs: number,
  objective: (values: Float64Array, i: number) => number = bowl,
): void {
  for (let i = 0; i < count; i++) {
    rig.clock.advanceBy(stepMs);
    rig.engine.observe(digestOf(rig.engine, objective(rig.engine.values, i)));
  }
}

/** Two points by name, equal up to unit ↔ raw round-off. */
function expectSamePoint(actual: Record<string, number>, expected: Record<string, number>): void {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const name of Object.keys(expected)) expect(actual[name]).toBeCloseTo(expected[name]!, 9);
}

function applies(events: readonly AuditEvent[]) {
  return eventsOfType(events, "apply");
}

describe("engine end to end", () => {
  it("improves a noisy quadratic from a fixed seed", async () => {
    const rig = engineRig({
      seed: 7,
      params: {
        x: { min: -5, max: 5, init: 3 },
        y: { min: -5, max: 5, init: -3 },
        lr: { min: 1e-4, max: 1, init: 0.1, scale: "log" },
      },
      window: { digests: 5, ms: 2000 },
    });
    const { engine, clock } = rig;
    const noise = Prng.fromSeed(91, 1);
    const loss = (v: ArrayLike<number>) =>
      (v[0]! - 1) ** 2 + 2 * (v[1]! + 0.5) ** 2 + (Math.log10(v[2]!) + 2) ** 2;
    const start = loss(engine.values);
    expect(start).toBeCloseTo(17.5, 12);
    const total = 3000;
    let tailLoss = 0;
    for (let i = 1; i <= total; i++) {
      clock.advanceTo(i * 100); // 100 ms per digest meets the balanced 100 ms minimum interval
      const verdict = engine.observe(digestOf(engine, loss(engine.values) + 0.3 * noise.normal()));
      expect(verdict).toBe("accepted");
      if (i > total - 500) tailLoss += loss(engine.values) / 500;
    }
    const snapshot = engine.snapshot();
    const centre = [snapshot.centre.x!, snapshot.centre.y!, snapshot.centre.lr!];
    // The point being tuned ends more than a hundred times better than where it started, and the
    // live values (perturbations included) averaged over the last 500 digests are close behind.
    expect(loss(centre)).toBeLessThan(start / 100);
    expect(tailLoss).toBeLessThan(start / 50);
    expect(Math.abs(engine.values[0]! - 1)).toBeLessThan(0.4);
    expect(Math.abs(engine.values[1]! + 0.5)).toBeLessThan(0.4);
    expect(Math.abs(Math.log10(engine.values[2]!) + 2)).toBeLessThan(0.3);
    expect(snapshot.iteration).toBeGreaterThan(100);
    expect(snapshot.applies.refused).toBe(0);
    engine.flushEvents();
    expect(eventsOfType(rig.events, "violation")).toEqual([]);
    await engine.close();
  });
});

describe("observe", () => {
  it("is synchronous: the apply caused by a window-closing digest is visible when it returns", async () => {
    const rig = engineRig({ seed: 3, params: PARAMS, window: { digests: 5 } });
    const { engine } = rig;
    const live = engine.values;
    const before = Array.from(live);
    feed(rig, 4, 100);
    expect(engine.generation).toBe(0);
    expect(Array.from(engine.values)).toEqual(before);
    rig.clock.advanceBy(100);
    expect(engine.observe(digestOf(engine, 1))).toBe("accepted");
    // No scheduler tick in between: the apply happened inside observe().
    expect(engine.generation).toBe(1);
    expect(engine.values).toBe(live); // the same live array, updated in place
    expect(Array.from(engine.values)).not.toEqual(before);
    const snapshot = engine.snapshot();
    expect(snapshot.generation).toBe(1);
    expect(snapshot.values).toEqual({ x: engine.values[0], y: engine.values[1] });
    expect(snapshot.phase).toBe("cycle.plus");
    expect(snapshot.window).toEqual({ ms: null, stretched: false }); // no ms: windows close on count only
    await engine.close();
  });

  it("says which digests it accepted and never lets a rejected one feed a window", async () => {
    const rig = engineRig({ seed: 3, params: PARAMS, window: { digests: 5 } });
    const { engine } = rig;
    feed(rig, 4, 100);
    for (let i = 0; i < 10; i++) {
      expect(engine.observe({ objective: 1, generation: engine.generation + 1 })).toBe("wrong-generation");
      expect(engine.observe({ objective: "1" as unknown as number, generation: engine.generation })).toBe(
        "malformed",
      );
    }
    expect(engine.generation).toBe(0);
    expect(engine.snapshot().digests).toMatchObject({ accepted: 4, rejected: 20 });
    expect(engine.observe(digestOf(engine, 1))).toBe("accepted");
    expect(engine.generation).toBe(1);
    await engine.close();
  });

  /** At t = 1520 ms, 20 ms after the first apply (t = 1500), with settleMs 50, maxAgeMs 1000, maxSkewMs 100. */
  function rigJustAfterAnApply(): EngineRig {
    const rig = engineRig({
      seed: 5,
      params: PARAMS,
      window: { digests: 5 },
      settleMs: 50,
      maxAgeMs: 1000,
      maxSkewMs: 100,
    });
    rig.clock.advanceTo(1000);
    feed(rig, 5, 100);
    expect(rig.engine.generation).toBe(1);
    rig.clock.advanceTo(1520);
    return rig;
  }

  const throwingGetter = {
    get objective(): number {
      throw new Error("host bug");
    },
    generation: 1,
  };
  const rejections: readonly {
    readonly name: string;
    readonly at: number;
    readonly digest: (g: number) => unknown;
    readonly verdict: string;
    readonly reason: string;
    readonly value: number;
    readonly digestGeneration: number;
  }[] = [
    {
      name: "not an object",
      at: 1520,
      digest: () => "12.5",
      verdict: "malformed",
      reason: "Malformed",
      value: Number.NaN,
      digestGeneration: Number.NaN,
    },
    {
      name: "objective not a number",
      at: 1520,
      digest: (g) => ({ objective: "1", generation: g }),
      verdict: "malformed",
      reason: "Malformed",
      value: Number.NaN,
      digestGeneration: 1,
    },
    {
      name: "negative generation",
      at: 1520,
      digest: () => ({ objective: 2, generation: -1 }),
      verdict: "malformed",
      reason: "Malformed",
      value: 2,
      digestGeneration: -1,
    },
    {
      name: "a getter that throws",
      at: 1520,
      digest: () => throwingGetter,
      verdict: "malformed",
      reason: "Malformed",
      value: Number.NaN,
      digestGeneration: Number.NaN,
    },
    {
      name: "NaN objective",
      at: 3000,
      digest: (g) => ({ objective: Number.NaN, generation: g }),
      verdict: "non-finite-objective",
      reason: "NonFiniteObjective",
      value: Number.NaN,
      digestGeneration: 1,
    },
    {
      name: "+Infinity objective",
      at: 3000,
      digest: (g) => ({ objective: Number.POSITIVE_INFINITY, generation: g }),
      verdict: "non-finite-objective",
      reason: "NonFiniteObjective",
      value: Number.POSITIVE_INFINITY,
      digestGeneration: 1,
    },
    {
      name: "-Infinity objective",
      at: 3000,
      digest: (g) => ({ objective: Number.NEGATIVE_INFINITY, generation: g }),
      verdict: "non-finite-objective",
      reason: "NonFiniteObjective",
      value: Number.NEGATIVE_INFINITY,
      digestGeneration: 1,
    },
    {
      name: "previous generation",
      at: 1520,
      digest: (g) => ({ objective: 3, generation: g - 1 }),
      verdict: "wrong-generation",
      reason: "WrongGeneration",
      value: 3,
      digestGeneration: 0,
    },
    {
      name: "taken while settling",
      at: 1520,
      digest: (g) => ({ objective: 4, generation: g, timestamp: 1520 }),
      verdict: "settling",
      reason: "Settling",
      value: 4,
      digestGeneration: 1,
    },
    {
      // The time checks come first: a NaN measured while settling counts for nothing more.
      name: "NaN objective while settling",
      at: 1520,
      digest: (g) => ({ objective: Number.NaN, generation: g }),
      verdict: "settling",
      reason: "Settling",
      value: Number.NaN,
      digestGeneration: 1,
    },
    {
      name: "too old",
      at: 3000,
      digest: (g) => ({ objective: 5, generation: g, timestamp: 1800 }),
      verdict: "too-old",
      reason: "TooOld",
      value: 5,
      digestGeneration: 1,
    },
    {
      name: "from the future",
      at: 3000,
      digest: (g) => ({ objective: 6, generation: g, timestamp: 3101 }),
      verdict: "from-future",
      reason: "FromFuture",
      value: 6,
      digestGeneration: 1,
    },
  ];

  it.each(rejections)("rejects a digest $name: verdict, count and audit record", async (c) => {
    const rig = rigJustAfterAnApply();
    const { engine } = rig;
    rig.clock.advanceTo(c.at);
    engine.flushEvents();
    const before = engine.snapshot();
    rig.events.length = 0;
    let verdict: string | undefined;
    expect(() => {
      verdict = engine.observe(c.digest(engine.generation) as Digest);
    }).not.toThrow();
    expect(verdict).toBe(c.verdict);
    const after = engine.snapshot();
    expect(after.digests).toEqual({
      accepted: before.digests.accepted,
      rejected: before.digests.rejected + 1,
      unused: before.digests.unused,
    });
    // One rejection changes nothing else: an isolated non-finite objective is a telemetry glitch,
    // not a trip (bursts are covered by the SafeMode drills).
    expect(after.generation).toBe(before.generation);
    expect(after.mode).toBe("normal");
    expect(after.reasons).toEqual([]);
    engine.flushEvents();
    const rejected = eventsOfType(rig.events, "digest.rejected");
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({
      v: AUDIT_SCHEMA_VERSION,
      type: "digest.rejected",
      time: c.at,
      generation: 1,
      reason: c.reason,
      value: c.value,
      digestGeneration: c.digestGeneration,
    });
    await engine.close();
  });

  it("accepts a digest at the edges of the settle, age and skew limits", async () => {
    const rig = rigJustAfterAnApply();
    const { engine } = rig;
    expect(engine.observe({ objective: 1, generation: 1, timestamp: 1550 })).toBe("accepted");
    rig.clock.advanceTo(2550);
    expect(engine.observe({ objective: 1, generation: 1, timestamp: 1550 })).toBe("accepted");
    expect(engine.observe({ objective: 1, generation: 1, timestamp: 2650 })).toBe("accepted");
    expect(engine.observe({ objective: 1, generation: 1 })).toBe("accepted"); // no timestamp: now
    expect(engine.snapshot().digests.rejected).toBe(0);
    await engine.close();
  });
});

describe("determinism", () => {
  /** Runs a closed loop (the objective depends on the live values) and records every apply. */
  function run(seed: number): { trace: number[][]; events: AuditEvent[] } {
    const rig = engineRig({ seed, params: PARAMS, window: { digests: 3, ms: 400 } });
    const noise = Prng.fromSeed(2024, 0);
    const trace: number[][] = [];
    let generation = rig.engine.generation;
    for (let i = 1; i <= 600; i++) {
      // Irregular gaps (some longer than a window) so timeouts and pacing take part too.
      rig.clock.advanceBy(i % 97 === 0 ? 1500 : 40 + (i % 7) * 30);
      if (rig.engine.generation !== generation) {
        generation = rig.engine.generation;
        trace.push([generation, rig.clock.now(), ...rig.engine.values]);
      }
      rig.engine.observe(digestOf(rig.engine, bowl(rig.engine.values) + 0.2 * noise.normal()));
      if (rig.engine.generation !== generation) {
        generation = rig.engine.generation;
        trace.push([generation, rig.clock.now(), ...rig.engine.values]);
      }
    }
    rig.engine.flushEvents();
    void rig.engine.close();
    return { trace, events: rig.events };
  }

  it("same seed and same digests give identical applies (two engines)", () => {
    const a = run(11);
    const b = run(11);
    expect(a.trace.length).toBeGreaterThan(50);
    expect(b.trace).toEqual(a.trace);
    expect(b.events).toEqual(a.events);
  });

  it("another seed gives other applies (so the comparison above can fail)", () => {
    expect(run(12).trace).not.toEqual(run(11).trace);
  });
});

describe("evaluation timeouts", () => {
  const timeoutConfig = { seed: 9, params: PARAMS, window: { digests: 5, ms: 500 } } as const;

  it("three empty windows in a row stall the cycle at its centre, audited; no SafeMode trip, no more applies", async () => {
    const rig = engineRig(timeoutConfig);
    const { engine, clock, events } = rig;
    clock.advanceTo(1500);
    engine.flushEvents();
    const timeouts = eventsOfType(events, "eval.timeout");
    expect(timeouts.map((e) => e.consecutive)).toEqual([1, 2, 3]);
    expect(timeouts.map((e) => e.time)).toEqual([500, 1000, 1500]);
    const stalled = eventsOfType(events, "spsa.stalled");
    expect(stalled).toHaveLength(1);
    expect(events.indexOf(stalled[0]!)).toBeGreaterThan(events.indexOf(timeouts[2]!));
    // A telemetry gap is not instability: the cycle waits at its centre, SafeMode stays normal.
    expect(engine.snapshot()).toMatchObject({ phase: "stalled", mode: "normal", reasons: [] });
    expect(eventsOfType(events, "mode.changed")).toEqual([]);
    const snapshot = engine.snapshot();
    expectSamePoint(snapshot.values, snapshot.centre);
    const generation = engine.generation;
    const values = Array.from(engine.values);
    clock.advanceTo(20_000);
    engine.flushEvents();
    expect(engine.generation).toBe(generation);
    expect(Array.from(engine.values)).toEqual(values);
    expect(events.filter((e) => e.type === "apply" && e.time > 1500)).toEqual([]);
    expect(eventsOfType(events, "eval.timeout")).toHaveLength(3); // stalled windows are not counted again
    expect(eventsOfType(events, "spsa.stalled")).toHaveLength(1);
    expect(engine.snapshot().phase).toBe("stalled");
    await engine.close();
  });

  it("digests flowing again resume proposals at once: no SafeMode dwell after a gap", async () => {
    // The default dwell (30 s) and healthy windows (3) would hold proposals for a minute if a
    // gap tripped SafeMode; the cycle must instead measure the centre once and carry on.
    const rig = engineRig(timeoutConfig);
    const { engine, clock, events } = rig;
    clock.advanceTo(5000);
    expect(engine.snapshot().phase).toBe("stalled");
    const generation = engine.generation;
    feed(rig, 5, 100); // one window at the centre: the stall is over
    feed(rig, 15, 100); // plus, minus and the new centre
    engine.flushEvents();
    const resumed = applies(events).filter((e) => e.time > 5000);
    expect(resumed.map((e) => e.kind)).toEqual(["plus", "minus", "centre"]);
    expect(resumed.at(-1)!.time).toBeLessThan(5000 + 2 * 1000 + 100);
    expect(engine.generation).toBe(generation + 3);
    expect(eventsOfType(events, "mode.changed")).toEqual([]);
    expect(engine.snapshot()).toMatchObject({ mode: "normal", reasons: [] });
    await engine.close();
  });

  it("the count of consecutive timeouts restarts after a window with data", async () => {
    const rig = engineRig(timeoutConfig);
    const { engine, clock, events } = rig;
    clock.advanceTo(1000); // two empty windows
    feed(rig, 5, 50); // the third window fills: the cycle moves on to plus
    clock.advanceBy(1500); // three empty windows in a row
    engine.flushEvents();
    expect(eventsOfType(events, "eval.timeout").map((e) => e.consecutive)).toEqual([1, 2, 1, 2, 3]);
    expect(eventsOfType(events, "spsa.stalled")).toHaveLength(1);
    await engine.close();
  });

  it("stalling right after an apply waits for the guardrails, then returns to the centre", async () => {
    // The plus point is applied at t = 10; its 50 ms window times out empty at 60, within the
    // balanced 100 ms minimum interval of that apply, so the return to the centre waits until 110.
    const rig = engineRig({ seed: 9, params: PARAMS, window: { digests: 1, ms: 50 }, stallAfter: 1 });
    const { engine, clock, events } = rig;
    clock.advanceTo(10);
    engine.observe(digestOf(engine, 1)); // closes the holding window: plus is applied
    expect(engine.snapshot().phase).toBe("cycle.plus");
    const plusGeneration = engine.generation;
    clock.advanceTo(80);
    expect(engine.snapshot()).toMatchObject({ phase: "stalled", mode: "normal" });
    expect(engine.generation).toBe(plusGeneration); // the return waits for the guardrails
    clock.advanceTo(400);
    engine.flushEvents();
    expect(engine.generation).toBe(plusGeneration + 1);
    expect(engine.snapshot()).toMatchObject({ phase: "stalled", mode: "normal", reasons: [] });
    expect(eventsOfType(events, "violation")).toEqual([]);
    const snapshot = engine.snapshot();
    expectSamePoint(snapshot.values, snapshot.centre);
    await engine.close();
  });

  it("digests that arrive before the paced return are not measured at the centre", async () => {
    // Plus is applied at t = 20; its window (2 digests or 100 ms) times out empty at 120 and the
    // cycle stalls. The return to the centre must wait for the 1000 ms minimum interval; digests
    // arriving before it are not taken as the centre's value (no window is open for them).
    const rig = engineRig({
      seed: 9,
      params: PARAMS,
      window: { digests: 2, ms: 100 },
      stallAfter: 1,
      guardrails: { minIntervalMs: 1000, maxUpdatesPerSecond: 10 },
    });
    const { engine, clock } = rig;
    clock.advanceTo(10);
    engine.observe(digestOf(engine, 1));
    clock.advanceTo(20);
    engine.observe(digestOf(engine, 1)); // the holding window is full: plus is applied
    expect(engine.snapshot().phase).toBe("cycle.plus");
    const plusGeneration = engine.generation;
    clock.advanceTo(200);
    expect(engine.snapshot().phase).toBe("stalled");
    expect(engine.generation).toBe(plusGeneration); // the return waits for the guardrails
    clock.advanceTo(250);
    const unused = engine.snapshot().digests.unused;
    engine.observe(digestOf(engine, 5));
    engine.observe(digestOf(engine, 5));
    expect(engine.snapshot().phase).toBe("stalled");
    expect(engine.snapshot().digests.unused).toBe(unused + 2);
    clock.advanceTo(1020);
    expect(engine.generation).toBe(plusGeneration + 1); // back at the centre, still stalled
    const atCentre = engine.snapshot();
    expectSamePoint(atCentre.values, atCentre.centre);
    expect(atCentre).toMatchObject({ phase: "stalled", mode: "normal" });
    engine.observe(digestOf(engine, 3));
    engine.observe(digestOf(engine, 3));
    expect(engine.snapshot().phase).not.toBe("stalled"); // digests flow again: the cycle resumes
    expect(eventsOfType(rig.events, "violation")).toEqual([]);
    await engine.close();
  });
});

describe("rollback", () => {
  it("writes the baseline as a new generation, audited with the reason, and restarts the cycle", async () => {
    const rig = engineRig({ seed: 4, params: PARAMS, window: { digests: 5, ms: 500 } });
    const { engine, events } = rig;
    const init = Array.from(engine.values);
    feed(rig, 60, 100);
    const generation = engine.generation;
    expect(generation).toBeGreaterThan(5);
    expect(Array.from(engine.values)).not.toEqual(init);
    expect(engine.rollback("too hot")).toBe(true);
    expect(engine.generation).toBe(generation + 1);
    expect(Array.from(engine.values)).toEqual(init);
    const snapshot = engine.snapshot();
    expect(snapshot.phase).toBe("cycle.holding");
    expectSamePoint(snapshot.centre, snapshot.values);
    engine.flushEvents();
    const rollbacks = eventsOfType(events, "rollback");
    expect(rollbacks).toHaveLength(1);
    expect(rollbacks[0]).toMatchObject({
      type: "rollback",
      generation: generation + 1,
      reason: "manual",
      note: "too hot",
      restoredGeneration: 0,
      time: rig.clock.now(),
    });
    // Digests measured before the rollback no longer count; the cycle restarts from the baseline.
    expect(engine.observe({ objective: 1, generation })).toBe("wrong-generation");
    feed(rig, 10, 100);
    engine.flushEvents();
    const after = applies(events).filter((e) => e.generation > generation + 1);
    expect(after[0]?.kind).toBe("plus");
    expect(eventsOfType(events, "violation")).toEqual([]);
    await engine.close();
  });

  it("restores what setBaseline captured", async () => {
    const rig = engineRig({ seed: 4, params: PARAMS, window: { digests: 5, ms: 500 } });
    const { engine, events } = rig;
    feed(rig, 30, 100);
    const captured = Array.from(engine.values);
    const baselineGeneration = engine.generation;
    engine.setBaseline();
    expect(engine.snapshot().baselineGeneration).toBe(baselineGeneration);
    engine.flushEvents();
    expect(eventsOfType(events, "baseline.set").map((e) => e.generation)).toEqual([0, baselineGeneration]);
    feed(rig, 30, 100);
    expect(engine.generation).toBeGreaterThan(baselineGeneration);
    expect(Array.from(engine.values)).not.toEqual(captured);
    const before = engine.generation;
    expect(engine.rollback()).toBe(true);
    expect(engine.generation).toBe(before + 1);
    expect(Array.from(engine.values)).toEqual(captured);
    engine.flushEvents();
    expect(eventsOfType(events, "rollback").at(-1)).toMatchObject({
      restoredGeneration: baselineGeneration,
      note: "manual rollback",
    });
    await engine.close();
  });

  it("has a baseline from the start, so an immediate rollback restores the initial values", async () => {
    const rig = engineRig({ seed: 4, params: PARAMS });
    const { engine, events } = rig;
    const init = Array.from(engine.values);
    expect(engine.snapshot().baselineGeneration).toBe(0);
    expect(engine.rollback("early")).toBe(true);
    expect(engine.generation).toBe(1);
    expect(Array.from(engine.values)).toEqual(init);
    engine.flushEvents();
    expect(events.map((e) => e.type)).toEqual(["baseline.set", "command", "rollback"]);
    expect(events[2]).toMatchObject({ generation: 1, restoredGeneration: 0, note: "early" });
    await engine.close();
  });

  it("records a blank rollback reason as the default one, in the command and the rollback", async () => {
    const rig = engineRig({ seed: 4, params: PARAMS });
    const { engine, events } = rig;
    expect(engine.rollback(" ")).toBe(true);
    engine.flushEvents();
    const notes = events.filter((e) => e.type === "command" || e.type === "rollback").map((e) => e.note);
    expect(notes).toEqual(["manual rollback", "manual rollback"]);
    await engine.close();
  });

  it("cancels a window decision that was waiting for the guardrails", async () => {
    // Digests every 10 ms: the plus window (opened at 50) fills at 100 but may only be acted on
    // at 150. A rollback at 120 must drop that decision; the cycle measures the baseline first.
    const rig = engineRig({ seed: 4, params: PARAMS, window: { digests: 5 } });
    const { engine, clock, events } = rig;
    feed(rig, 10, 10);
    expect(clock.now()).toBe(100);
    expect(engine.generation).toBe(1); // plus, applied at 50
    clock.advanceTo(120);
    expect(engine.rollback("cancel")).toBe(true);
    feed(rig, 8, 10); // t = 130 … 200: the holding window fills at 170, allowed at 220
    expect(engine.generation).toBe(2);
    clock.advanceTo(220);
    expect(engine.generation).toBe(3);
    engine.flushEvents();
    const later = applies(events).filter((e) => e.time > 120);
    expect(later.map((e) => [e.time, e.kind])).toEqual([[220, "plus"]]);
    expect(eventsOfType(events, "violation")).toEqual([]);
    await engine.close();
  });
});

describe("pacing", () => {
  it("digests faster than minIntervalMs cause no violations: the engine delays the decision", async () => {
    const rig = engineRig({ seed: 6, params: PARAMS, window: { digests: 5, ms: 500 } });
    const { engine, clock, events } = rig;
    feed(rig, 5, 10); // holding window fills at 50: plus applied at once (no apply before)
    expect(engine.generation).toBe(1);
    feed(rig, 5, 10); // plus window fills at 100, but 100 − 50 < 100 ms
    expect(engine.generation).toBe(1);
    clock.advanceTo(149);
    expect(engine.generation).toBe(1);
    clock.advanceTo(150);
    expect(engine.generation).toBe(2); // minus, as soon as allowed
    feed(rig, 500, 10);
    engine.flushEvents();
    const times = applies(events).map((e) => e.time);
    expect(times.length).toBeGreaterThan(40);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(100);
    expect(eventsOfType(events, "violation")).toEqual([]);
    expect(engine.snapshot().applies.refused).toBe(0);
    await engine.close();
  });

  it("paces to a maxUpdatesPerSecond that does not divide a second", async () => {
    const rig = engineRig({
      seed: 6,
      params: PARAMS,
      window: { digests: 1 },
      guardrails: { maxUpdatesPerSecond: 3, minIntervalMs: 0 },
    });
    feed(rig, 1000, 10);
    rig.engine.flushEvents();
    expect(applies(rig.events).length).toBeGreaterThan(20);
    expect(eventsOfType(rig.events, "violation")).toEqual([]);
    expect(rig.engine.snapshot().applies.refused).toBe(0);
    await rig.engine.close();
  });

  it("paces correctly on a clock with fractional milliseconds", async () => {
    const rig = engineRig({ seed: 6, params: PARAMS, window: { digests: 1 } });
    const { engine, clock } = rig;
    for (let i = 1; i <= 1000; i++) {
      clock.advanceTo(i * 7.7);
      engine.observe(digestOf(engine, bowl(engine.values)));
    }
    engine.flushEvents();
    expect(applies(rig.events).length).toBeGreaterThan(50);
    expect(eventsOfType(rig.events, "violation")).toEqual([]);
    await engine.close();
  });
});

describe("audit events", () => {
  it("are delivered through the scheduler, or at once by flushEvents", async () => {
    const rig = engineRig({ seed: 8, params: PARAMS, window: { digests: 5 } });
    const { engine, clock, events } = rig;
    expect(events).toEqual([]); // the baseline record waits for the scheduler
    clock.advanceBy(0);
    expect(events.map((e) => e.type)).toEqual(["baseline.set"]);
    feed(rig, 5, 100);
    // The apply happened inside the last observe(); its record has not been delivered yet.
    expect(engine.generation).toBe(1);
    expect(applies(events)).toEqual([]);
    expect(engine.flushEvents()).toBe(2); // window.closed + apply
    expect(events.slice(-2).map((e) => e.type)).toEqual(["window.closed", "apply"]);
    expect(engine.flushEvents()).toBe(0);
    engine.observe({ objective: 1, generation: 99 });
    expect(events.at(-1)?.type).toBe("apply");
    clock.advanceBy(0);
    expect(events.at(-1)).toMatchObject({ type: "digest.rejected", reason: "WrongGeneration" });
    await engine.close();
  });

  it("are versioned, carry the run id, and are numbered in order", async () => {
    const rig = engineRig({ seed: 8, runId: "line-3", params: PARAMS, window: { digests: 5, ms: 500 } });
    feed(rig, 100, 100);
    rig.engine.observe({ objective: 1, generation: 0 });
    rig.engine.flushEvents();
    const { events } = rig;
    expect(new Set(events.map((e) => e.type))).toEqual(
      // Calibration steps the centre as it learns the scale, so its decisions come with steps.
      new Set(["baseline.set", "window.closed", "apply", "digest.rejected", "decision", "decision.step"]),
    );
    for (const [i, e] of events.entries()) {
      expect(e.v).toBe(AUDIT_SCHEMA_VERSION);
      expect(e.runId).toBe("line-3");
      expect(e.seq).toBe(i + 1);
      if (i > 0) expect(e.time).toBeGreaterThanOrEqual(events[i - 1]!.time);
    }
    const windows = eventsOfType(events, "window.closed");
    expect(windows.length).toBeGreaterThan(10);
    for (const w of windows) {
      // Digests 100 ms apart: a 500 ms window fills or times out with 4 or 5 values, never empty.
      expect(w.count === 5 ? !w.timedOut : w.timedOut && w.count === 4).toBe(true);
      expect(Number.isFinite(w.value)).toBe(true);
      expect(w.time - w.openedAt).toBeLessThanOrEqual(500);
    }
    for (const a of applies(events)) expect(["plus", "minus", "centre"]).toContain(a.kind);
    await rig.engine.close();
  });

  it("counts records dropped by a full audit ring", async () => {
    // The smallest ring allowed (MIN_AUDIT_CAPACITY, 12): a smaller one could not hold a window's
    // own records below its high-water mark, and is refused.
    const rig = engineRig({ seed: 8, params: PARAMS, auditCapacity: 12 });
    const { engine, events } = rig;
    engine.flushEvents();
    for (let i = 0; i < 20; i++) engine.observe({ objective: 1, generation: 7 });
    expect(engine.snapshot().audit).toEqual({
      pending: 11,
      capacity: 12,
      highWaterMark: 9,
      peak: 11,
      // 20 rejections, of which the 9 below the full mark (10) fit: the room from there is kept
      // for control records, the 2 mode changes they caused (every drop counted).
      dropped: 11,
      sinkDropped: 0,
    });
    expect(engine.snapshot().digests.rejected).toBe(20);
    // A full ring is a SafeMode reason (nothing is dropped silently): frozen until it drains.
    expect(engine.snapshot().mode).toBe("frozen");
    expect(engine.snapshot().reasons).toEqual(["auditHighWater", "auditFull"]);
    expect(engine.flushEvents()).toBe(11);
    expect(engine.snapshot().reasons).toEqual([]);
    // The rejection between the two mode changes (seq 12) was dropped: the gap shows it.
    expect(events.map((e) => e.seq)).toEqual([...Array.from({ length: 11 }, (_, i) => i + 1), 13]);
    expect(events.filter((e) => e.type === "mode.changed").map((e) => e.seq)).toEqual([11, 13]);
    rig.expectViolations();
    expect(rig.monitor.report().violations.map((v) => v.message)).toEqual([
      "audit sequence broken: records 12–12 are missing (dropped by the audit ring?)",
    ]);
    await engine.close();
  });
});

describe("snapshot", () => {
  it("describes a fresh engine", async () => {
    const rig = engineRig({ seed: 1, params: PARAMS });
    const expected: EngineSnapshot = {
      generation: 0,
      mode: "normal",
      reasons: [],
      spikesAbsorbed: 0,
      values: { x: 5, y: 10 },
      centre: { x: 5, y: expect.closeTo(10, 12) as unknown as number },
      iteration: 0,
      phase: "cycle.holding",
      baselineGeneration: 0,
      baseline: { x: 5, y: 10 },
      digests: { accepted: 0, rejected: 0, unused: 0 },
      spsa: { a: Number.NaN, c: 0.02, clampedPerturbations: 0, clippedSteps: 0 }, // "auto" a: not calibrated yet
      window: { ms: 500, stretched: false }, // the default windows: 1 digest or 500 ms
      applies: { applied: 0, refused: 0 },
      audit: { pending: 1, capacity: 4096, highWaterMark: 3276, peak: 1, dropped: 0, sinkDropped: 0 }, // baseline.set, not yet delivered
      breakers: { actuator: "none", auditSink: "none" },
    };
    expect(rig.engine.snapshot()).toEqual(expected);
    expect(rig.engine.names).toEqual(["x", "y"]);
    // The list keys the audit trail and the log: sorting it for display must not relabel values.
    expect(() => (rig.engine.names as string[]).sort().reverse()).toThrow(TypeError);
    expect(rig.engine.names).toEqual(["x", "y"]);
    expect(rig.engine.now()).toBe(0);
    expect(rig.engine.shared).toBeUndefined();
    expect(rig.engine.failure).toBeUndefined();
    await rig.engine.close();
  });

  it("agrees with the live state and the counters after a run", async () => {
    const rig = engineRig({ seed: 1, params: PARAMS, window: { digests: 4, ms: 500 } });
    const { engine, events } = rig;
    const tally = { accepted: 0, rejected: 0 };
    for (let i = 0; i < 200; i++) {
      rig.clock.advanceBy(90);
      const good = i % 5 !== 0;
      const verdict = engine.observe(
        good ? digestOf(engine, bowl(engine.values, i)) : { objective: 1, generation: engine.generation + 3 },
      );
      tally[verdict === "accepted" ? "accepted" : "rejected"]++;
    }
    engine.rollback("check");
    const snapshot = engine.snapshot();
    engine.flushEvents();
    expect(snapshot.generation).toBe(engine.generation);
    expect(snapshot.values).toEqual({ x: engine.values[0], y: engine.values[1] });
    expect(snapshot.digests).toMatchObject(tally);
    expect(snapshot.applies).toEqual({
      applied: applies(events).length + eventsOfType(events, "rollback").length,
      refused: eventsOfType(events, "violation").length,
    });
    expect(snapshot.applies.applied).toBe(engine.generation);
    expect(Number.isInteger(snapshot.iteration) && snapshot.iteration >= 0).toBe(true);
    expect(snapshot.phase).toBe("cycle.holding");
    await engine.close();
  });

  it("with shared: true, a reader of the shared handle sees the live values", async () => {
    const rig = engineRig({ seed: 1, params: PARAMS, shared: true, window: { digests: 2 } });
    feed(rig, 20, 100);
    const handle = rig.engine.shared;
    expect(handle).toBeDefined();
    const out = new Float64Array(2);
    expect(readShared(handle!, out)).toBe(rig.engine.generation);
    expect(Array.from(out)).toEqual(Array.from(rig.engine.values));
    await rig.engine.close();
  });
});

describe("close", () => {
  it("releases every timer, completes events, and makes later calls inert", async () => {
    const rig = engineRig({ seed: 2, params: PARAMS, window: { digests: 5, ms: 500 } });
    const { engine, clock, events } = rig;
    feed(rig, 12, 30);
    engine.observe({ objective: 1, generation: 42 }); // its record is still waiting for delivery
    expect(clock.pendingActions).toBeGreaterThan(0);
    const generation = engine.generation;
    await engine.close();
    expect(clock.pendingActions).toBe(0);
    expect(rig.completed()).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: "digest.rejected" }); // flushed before completing
    expect(engine.observe(digestOf(engine, 1))).toBe("closed");
    expect(engine.rollback()).toBe(false);
    expect(engine.resetSafeMode({ acknowledge: "after close" })).toBe(false);
    engine.setBaseline();
    engine.halt("after close");
    clock.advanceBy(10_000);
    expect(engine.mode).toBe("normal");
    expect(engine.generation).toBe(generation);
    expect(engine.snapshot().digests.accepted).toBe(12);
    await expect(engine.close()).resolves.toBeUndefined();
  });

  it("Engine.make closes the engine when its Effect scope closes", async () => {
    const clock = new ManualClock();
    let completed = false;
    const engine = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const e = yield* Engine.make({
            seed: 2,
            params: PARAMS,
            window: { digests: 5, ms: 500 },
            scheduler: clock,
          });
          e.events.subscribe({ complete: () => (completed = true) });
          for (let i = 0; i < 12; i++) {
            clock.advanceBy(100);
            expect(e.observe(digestOf(e, 1 + i))).toBe("accepted");
          }
          expect(e.generation).toBeGreaterThan(0);
          expect(completed).toBe(false);
          return e;
        }),
      ),
    );
    expect(completed).toBe(true);
    expect(clock.pendingActions).toBe(0);
    expect(engine.observe(digestOf(engine, 1))).toBe("closed");
  });

  it("Engine.make fails with a ConfigError listing every problem", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.scoped(Engine.make({ seed: 0.5, params: { x: { min: 2, max: 1 } }, stallAfter: 0 })),
    );
    expect(Exit.isFailure(exit)).toBe(true);
    if (Exit.isFailure(exit)) {
      const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined;
      expect(failure).toBeInstanceOf(ConfigError);
      expect((failure as ConfigError).issues.map((i) => i.path).sort()).toEqual([
        "params.x.max",
        "seed",
        "stallAfter",
      ]);
    }
  });

  it("createEngine throws the same ConfigError", () => {
    expect(() => createEngine({ seed: 1, params: {} })).toThrow(ConfigError);
  });
});
