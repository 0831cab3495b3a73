import { describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import { Prng } from "../src/random/prng.js";
import { digestOf, engineRig, eventsOfType } from "./support/engine-harness.js";
import {
  bowl,
  cliffRig,
  eventsSince,
  feed,
  feedUntilTrip,
  ONE,
  QUICK_EXIT,
  transitions,
} from "./support/safety-drill.js";

describe("SafeMode fault drills", () => {
  it("an isolated NaN digest is rejected and counted, nothing else: no trip, no rollback", () => {
    const rig = engineRig({ seed: 1, params: ONE, window: { digests: 5, ms: 500 }, safety: QUICK_EXIT });
    const { engine } = rig;
    const plant = bowl(11);
    feed(rig, 12, 100, plant);
    const mark = rig.events.length;
    const rejected = engine.snapshot().digests.rejected;
    for (let glitch = 0; glitch < 5; glitch++) {
      // Two glitches in a row at most, with clean digests between: a glitching sensor.
      expect(engine.observe(digestOf(engine, Number.NaN))).toBe("non-finite-objective");
      expect(engine.observe(digestOf(engine, Number.POSITIVE_INFINITY))).toBe("non-finite-objective");
      feed(rig, 3, 100, plant);
    }
    const after = eventsSince(rig, mark);
    expect(engine.snapshot().digests.rejected).toBe(rejected + 10);
    expect(eventsOfType(after, "digest.rejected")).toHaveLength(10);
    expect(eventsOfType(after, "rollback")).toHaveLength(0);
    expect(transitions(after)).toEqual([]);
    expect(engine.mode).toBe("normal");
    expect(eventsOfType(after, "apply").length).toBeGreaterThan(0);
  });

  it("a NaN burst after finite values freezes adaptation while it lasts, without rollback; it resumes after", () => {
    const rig = engineRig({ seed: 1, params: ONE, window: { digests: 5, ms: 500 }, safety: QUICK_EXIT });
    const { engine } = rig;
    const plant = bowl(11);
    feed(rig, 12, 100, plant); // windows closed at digests 5 and 10: 11 and 12 are finite values of the live generation
    const live = engine.values[0]!;
    const mark = rig.events.length;
    for (let i = 0; i < 3; i++)
      expect(engine.observe(digestOf(engine, Number.NaN))).toBe("non-finite-objective");
    const after = eventsSince(rig, mark);
    expect(engine.mode).toBe("frozen");
    expect(engine.snapshot().reasons).toEqual(["nonFiniteObjective"]);
    expect(transitions(after)).toEqual(["normal→frozen [nonFiniteObjective]"]);
    expect(eventsOfType(after, "rollback")).toHaveLength(0);
    expect(engine.values[0]).toBe(live);
    // Clean windows clear the reason; after the dwell and healthy windows tuning resumes.
    const frozenMark = rig.events.length;
    feed(rig, 60, 100, plant);
    expect(engine.snapshot().reasons).toEqual([]);
    expect(engine.mode).toBe("normal");
    expect(transitions(eventsSince(rig, frozenMark))).toEqual([
      "frozen→conservative []",
      "conservative→normal []",
    ]);
    expect(eventsOfType(eventsSince(rig, frozenMark), "apply").length).toBeGreaterThan(0);
  });

  it("a NaN burst that starts right after an apply blames the apply: rollback to the baseline + frozen", () => {
    const rig = engineRig({ seed: 1, params: ONE, window: { digests: 1, ms: 500 }, safety: QUICK_EXIT });
    const { engine } = rig;
    const plant = bowl(11);
    feed(rig, 12, 100, plant);
    // With one-digest windows the last digest closed a window: a new point is live, unmeasured.
    const generation = engine.generation;
    rig.clock.advanceBy(100);
    expect(engine.generation).toBe(generation);
    const mark = rig.events.length;
    expect(engine.observe(digestOf(engine, Number.NaN))).toBe("non-finite-objective");
    expect(engine.observe(digestOf(engine, Number.NaN))).toBe("non-finite-objective");
    expect(eventsOfType(eventsSince(rig, mark), "rollback")).toHaveLength(0);
    expect(engine.observe(digestOf(engine, Number.NaN))).toBe("non-finite-objective");
    const after = eventsSince(rig, mark);
    expect(engine.mode).toBe("frozen");
    const rollbacks = eventsOfType(after, "rollback");
    expect(rollbacks).toHaveLength(1);
    expect(rollbacks[0]!.reason).toBe("safe-mode");
    expect(rollbacks[0]!.note).toBe("instability governor: nonFiniteObjective");
    expect(engine.values[0]).toBe(5);
  });

  it("spike burst caused by the tuner (it stepped over a cliff): rollback to the baseline + frozen", () => {
    // Large gain: the first step moves the centre a whole maxDelta (5 → 4), past the cliff at 4.5;
    // the ±0.2 perturbations around 5 never reach it, so the objective was clean until the step.
    const rig = cliffRig();
    const { engine } = rig;
    const plant = bowl(3);
    const tripAt = feedUntilTrip(rig, 60, (_, x) => plant(x) + (x < 4.5 ? 50 : 0));
    expect(tripAt).toBeGreaterThan(12); // after the first iteration's step, not before
    const events = eventsSince(rig, 0);
    expect(engine.mode).toBe("frozen");
    expect(engine.snapshot().reasons).toEqual(["spike"]);
    expect(engine.snapshot().spikesAbsorbed).toBe(0);
    expect(transitions(events)).toEqual(["normal→frozen [spike]"]);
    const rollbacks = eventsOfType(events, "rollback");
    expect(rollbacks.map((e) => [e.reason, e.note])).toEqual([["regression", "instability governor: spike"]]);
    expect(rollbacks[0]!.values).toEqual({ x: 5 });
    expect(engine.values[0]).toBe(5);
    // The centre was past the cliff when it tripped: the tuner walked into it.
    const steps = eventsOfType(events, "apply").filter((e) => e.kind === "centre");
    expect(steps.some((e) => e.values!.x! < 4.5)).toBe(true);
  });

  it("the same burst while the tuner stood still is absorbed (spikesAbsorbed 1, no trip)", () => {
    const rig = cliffRig();
    const { engine } = rig;
    const plant = bowl(3);
    // Digests 10–12 all fall inside the minus window (8–12), after ten clean ones: the centre has not moved yet.
    for (let i = 0; i < 13; i++) {
      rig.clock.advanceBy(100);
      engine.observe(digestOf(engine, plant(engine.values[0]!) + (i >= 10 ? 50 : 0)));
      expect(engine.snapshot().centre.x).toBe(5);
    }
    const events = eventsSince(rig, 0);
    expect(engine.snapshot().spikesAbsorbed).toBe(1);
    expect(engine.mode).toBe("normal");
    expect(engine.snapshot().reasons).toEqual([]);
    expect(transitions(events)).toEqual([]);
    expect(eventsOfType(events, "rollback")).toHaveLength(0);
  });

  it("over-large gain: the plant oscillates across its minimum and the governor trips on spike", () => {
    // maxDelta 3 and a = 5 on a steep bowl: the first step jumps from 3.5 to 0.7, far worse than the baseline.
    const rig = engineRig({
      seed: 1,
      params: { x: { min: 0, max: 10, init: 3.5, maxDelta: 3 } },
      window: { digests: 5, ms: 500 },
      spsa: { a: 5 },
      safety: QUICK_EXIT,
    });
    const { engine } = rig;
    const noise = Prng.fromSeed(5, 1);
    const centres = new Set<number>();
    for (let i = 0; i < 400 && engine.mode === "normal"; i++) {
      rig.clock.advanceBy(100);
      engine.observe(digestOf(engine, 10 * (engine.values[0]! - 3) ** 2 + 0.05 * noise.normal()));
      centres.add(engine.snapshot().centre.x!);
    }
    const events = eventsSince(rig, 0);
    expect(Math.min(...centres)).toBeLessThan(1); // overshot the minimum at 3 by more than 2
    expect(engine.mode).toBe("frozen");
    expect(engine.snapshot().reasons).toEqual(["spike"]);
    expect(transitions(events)).toEqual(["normal→frozen [spike]"]);
    expect(eventsOfType(events, "rollback").map((e) => e.note)).toEqual(["instability governor: spike"]);
    expect(engine.values[0]).toBe(3.5);
  });

  it("stalled telemetry: returns to the centre and waits, no SafeMode trip; digests flowing resume it at once", () => {
    const rig = engineRig({
      seed: 1,
      params: ONE,
      window: { digests: 5, ms: 500 },
      stallAfter: 2,
      safety: QUICK_EXIT,
    });
    const { engine } = rig;
    feed(rig, 22, 100, bowl(3));
    rig.clock.advanceBy(5000);
    const events = eventsSince(rig, 0);
    // A gap in the telemetry is not instability: adaptation waits, SafeMode is not involved.
    expect(engine.mode).toBe("normal");
    expect(engine.snapshot()).toMatchObject({ phase: "stalled", reasons: [] });
    expect(transitions(events)).toEqual([]);
    expect(eventsOfType(events, "spsa.stalled")).toHaveLength(1);
    expect(eventsOfType(events, "rollback")).toHaveLength(0);
    expect(engine.values[0]).toBe(engine.snapshot().centre.x); // the centre, not a perturbation
    const stalledAt = engine.values[0];
    const generation = engine.generation;
    rig.clock.advanceBy(60_000);
    expect(engine.values[0]).toBe(stalledAt);
    expect(engine.generation).toBe(generation);
    const mark = rig.events.length;
    feed(rig, 50, 100, bowl(4));
    expect(engine.mode).toBe("normal");
    expect(transitions(eventsSince(rig, mark))).toEqual([]);
    expect(engine.generation).toBeGreaterThan(generation); // proposals resumed
  });

  it("throwing actuator: rollback to the baseline, breaker open → frozen; the half-open probe closes it", () => {
    let throwing = false;
    const pushed: number[] = [];
    const rig = engineRig({
      seed: 1,
      params: ONE,
      window: { digests: 5, ms: 500 },
      safety: { ...QUICK_EXIT, breaker: { failureThreshold: 2, baseBackoffMs: 2000, maxBackoffMs: 8000 } },
      onApply: (values) => {
        pushed.push(values[0]!);
        if (throwing) throw new Error("valve stuck");
      },
    });
    const { engine } = rig;
    feed(rig, 12, 100, bowl(3));
    throwing = true;
    feed(rig, 3, 100, bowl(3));
    const events = eventsSince(rig, 0);
    const rollbacks = eventsOfType(events, "rollback");
    expect(rollbacks.map((e) => [e.reason, e.note])).toEqual([["safe-mode", "actuator failed: valve stuck"]]);
    // The failed apply (a proposal: calibration already steps), then the baseline pushed after the
    // rollback (which fails too and opens the breaker).
    expect(pushed.length).toBeGreaterThanOrEqual(2);
    expect(pushed.at(-1)).toBe(5);
    expect(engine.values[0]).toBe(5);
    expect(engine.mode).toBe("frozen");
    expect(engine.snapshot().reasons).toEqual(["breakerOpen"]);
    expect(transitions(events)).toEqual(["normal→frozen [breakerOpen]"]);
    // Frozen: nothing is applied or pushed while the breaker is open.
    throwing = false;
    const calls = pushed.length;
    feed(rig, 10, 100, bowl(3));
    expect(engine.values[0]).toBe(5);
    expect(pushed.length).toBe(calls);
    // After the backoff the engine's own half-open probe re-pushes the live values: it succeeds and
    // the breaker closes, which clears the reason (no operator action needed).
    const mark = rig.events.length;
    rig.clock.advanceBy(3000);
    expect(pushed.length).toBe(calls + 1);
    expect(pushed.at(-1)).toBe(5);
    expect(engine.snapshot().reasons).toEqual([]);
    feed(rig, 60, 100, bowl(3));
    expect(engine.mode).toBe("normal");
    const after = eventsSince(rig, mark);
    expect(transitions(after)).toEqual(["frozen→conservative []", "conservative→normal []"]);
    expect(eventsOfType(after, "apply").length).toBeGreaterThan(0);
    expect(pushed.length).toBeGreaterThan(calls + 1);
  });

  it("an actuator throwing a value with no text (null prototype, revoked proxy) is rolled back all the same", () => {
    const unprintable = [
      () => Object.create(null) as unknown,
      () => {
        const revocable = Proxy.revocable({}, {});
        revocable.revoke();
        return revocable.proxy as unknown;
      },
      () => ({
        toString(): string {
          throw new Error("no text");
        },
      }),
    ];
    for (const thrown of unprintable) {
      let throwing = false;
      const rig = engineRig({
        seed: 1,
        params: ONE,
        window: { digests: 5, ms: 500 },
        safety: { ...QUICK_EXIT, breaker: { failureThreshold: 2, baseBackoffMs: 2000, maxBackoffMs: 8000 } },
        onApply: () => {
          if (throwing) throw thrown();
        },
      });
      feed(rig, 12, 100, bowl(3));
      throwing = true;
      feed(rig, 3, 100, bowl(3));
      const rollbacks = eventsOfType(eventsSince(rig, 0), "rollback");
      expect(rollbacks.map((e) => [e.reason, e.note])).toEqual([
        ["safe-mode", "actuator failed: a thrown value that cannot be turned into text"],
      ]);
      expect(rig.engine.values[0]).toBe(5);
      expect(rig.engine.failure).toBeUndefined();
    }
  });

  it("full audit ring (nobody draining): high-water → conservative, full → frozen; draining recovers", () => {
    const rig = engineRig({
      seed: 1,
      params: ONE,
      window: { digests: 5, ms: 500 },
      auditCapacity: 16,
      safety: QUICK_EXIT,
    });
    const { engine } = rig;
    feed(rig, 3, 100, bowl(1));
    engine.flushEvents();
    const modes: string[] = [];
    // The clock stands still, so the scheduled delivery never runs: each rejected digest adds a record.
    for (let i = 0; i < 20; i++) {
      expect(engine.observe({ objective: 1, generation: 999, timestamp: engine.now() })).toBe(
        "wrong-generation",
      );
      if (modes.at(-1) !== engine.mode) modes.push(engine.mode);
    }
    expect(modes).toEqual(["normal", "conservative", "frozen"]);
    expect(engine.snapshot().reasons).toEqual(["auditHighWater", "auditFull"]);
    expect(engine.snapshot().audit.dropped).toBeGreaterThan(0);
    const events = eventsSince(rig, 0);
    // "Full" keeps a few records of room for control records, so both mode changes are recorded;
    // from the full mark on, the rejected digests are dropped.
    expect(transitions(events)).toEqual([
      "normal→conservative [auditHighWater]",
      "conservative→frozen [auditHighWater,auditFull]",
    ]);
    expect(engine.snapshot().reasons).toEqual([]); // drained
    const mark = rig.events.length;
    feed(rig, 50, 100, bowl(1));
    expect(engine.mode).toBe("normal");
    expect(transitions(eventsSince(rig, mark))).toEqual(["frozen→conservative []", "conservative→normal []"]);
    // The drill drops audit records on purpose: the independent monitor must see the gap, and
    // nothing else.
    rig.expectViolations();
    const report = rig.monitor.report();
    expect(report.violations.map((v) => v.property)).toEqual(["S6"]);
    const dropped = engine.snapshot().audit.dropped;
    // Every record dropped is a rejected digest (20 were rejected); the gap the monitor sees lies
    // between the mode changes (the one rejected before the full ring froze), the rest come after.
    expect(eventsOfType(events, "digest.rejected").length + dropped).toBe(20);
    const { fromSeq, toSeq } = report.violations[0]!.witness;
    expect(toSeq - fromSeq - 1).toBeGreaterThan(0);
    expect(toSeq - fromSeq - 1).toBeLessThanOrEqual(dropped);
    expect(report.violations[0]!.message).toBe(
      `audit sequence broken: records ${fromSeq + 1}–${toSeq - 1} are missing (dropped by the audit ring?)`,
    );
  });

  it("constraint violation: conservative, and the tuner moves only toward feasibility", () => {
    const rig = engineRig({ seed: 1, params: ONE, window: { digests: 5, ms: 500 }, safety: QUICK_EXIT });
    const { engine } = rig;
    const plant = bowl(3); // the objective pulls x down toward 3; feasibility needs x ≥ 5.35
    let last = 5;
    let recoveredAt = -1;
    for (let i = 0; i < 150; i++) {
      rig.clock.advanceBy(100);
      const x = engine.values[0]!;
      engine.observe(digestOf(engine, plant(x), { constraintMargin: x - 5.35 }));
      const centre = engine.snapshot().centre.x!;
      if (recoveredAt < 0) {
        expect(centre).toBeGreaterThanOrEqual(last); // only toward feasibility
        if (engine.mode === "conservative") expect(centre - last).toBeLessThanOrEqual(0.5 + 1e-9);
      }
      last = centre;
      if (i === 0) {
        expect(engine.mode).toBe("conservative");
        expect(engine.snapshot().reasons).toEqual(["constraintViolation"]);
      }
      if (recoveredAt < 0 && engine.snapshot().reasons.length === 0) recoveredAt = i;
    }
    const events = eventsSince(rig, 0);
    expect(recoveredAt).toBeGreaterThan(0);
    expect(transitions(events)[0]).toBe("normal→conservative [constraintViolation]");
    expect(eventsOfType(events, "rollback")).toHaveLength(0);
    const halfDelta = 0.5 * (1 + 1e-9);
    let previous = 5;
    for (const apply of eventsOfType(events, "apply")) {
      if (apply.time > 0 && apply.time < 100 * (recoveredAt + 1))
        expect(Math.abs(apply.values!.x! - previous)).toBeLessThanOrEqual(halfDelta);
      previous = apply.values!.x!;
    }
  });

  it("emergency margin: rollback to the baseline + frozen", () => {
    const rig = engineRig({ seed: 1, params: ONE, window: { digests: 5, ms: 500 }, safety: QUICK_EXIT });
    const { engine } = rig;
    feed(rig, 12, 100, bowl(3));
    expect(engine.values[0]).not.toBe(5);
    rig.clock.advanceBy(100);
    engine.observe(digestOf(engine, 1, { constraintMargin: -1 }));
    const events = eventsSince(rig, 0);
    expect(engine.mode).toBe("frozen");
    expect(engine.snapshot().reasons).toEqual(["constraintViolation", "constraintEmergency"]);
    expect(transitions(events)).toEqual(["normal→frozen [constraintEmergency]"]);
    expect(eventsOfType(events, "rollback").map((e) => [e.reason, e.note])).toEqual([
      ["constraint-breach", "constraint margin -1 below the emergency level"],
    ]);
    expect(engine.values[0]).toBe(5);
    feed(rig, 10, 100, () => 1);
    expect(engine.values[0]).toBe(5);
  });

  it("halted applies nothing: trips roll nothing back; only an operator's rollback moves it", () => {
    const rig = engineRig({ seed: 1, params: ONE, window: { digests: 5, ms: 500 }, safety: QUICK_EXIT });
    const { engine } = rig;
    feed(rig, 12, 100, bowl(3));
    const live = engine.values[0]!;
    expect(live).not.toBe(5);
    engine.halt("operator: investigating");
    const mark = rig.events.length;
    // A burst of non-finite objectives after a finite one, then an emergency constraint margin.
    for (const objective of [1, Number.NaN, Number.NaN, Number.NaN]) {
      rig.clock.advanceBy(100);
      engine.observe(digestOf(engine, objective));
    }
    rig.clock.advanceBy(100);
    engine.observe(digestOf(engine, 1, { constraintMargin: -1 }));
    feed(rig, 20, 100, bowl(3));
    const whileHalted = eventsSince(rig, mark);
    expect(engine.mode).toBe("halted");
    expect(engine.snapshot().reasons).toEqual(
      expect.arrayContaining(["manualHalt", "nonFiniteObjective", "constraintEmergency"]),
    );
    expect(eventsOfType(whileHalted, "rollback")).toEqual([]);
    expect(eventsOfType(whileHalted, "apply")).toEqual([]);
    expect(engine.values[0]).toBe(live);
    // The operator may still roll back by hand: it is audited as a command first.
    expect(engine.rollback("operator: back to the known-good point")).toBe(true);
    const after = eventsSince(rig, mark);
    expect(eventsOfType(after, "command").map((e) => e.command)).toEqual(["halt", "rollback"]);
    expect(eventsOfType(after, "rollback")).toHaveLength(1);
    expect(engine.values[0]).toBe(5);
  });

  it("thrashing input: the centre reverses across a kink → frozen (thrashing), values held", () => {
    const rig = engineRig({
      seed: 1,
      params: ONE,
      window: { digests: 5, ms: 500 },
      spsa: { a: 1 },
      safety: { ...QUICK_EXIT, thrashing: { deadBand: 0.05 } },
    });
    const { engine } = rig;
    for (let i = 0; i < 600 && engine.mode === "normal"; i++) {
      rig.clock.advanceBy(100);
      engine.observe(digestOf(engine, 20 * Math.abs(engine.values[0]! - 5.5)));
    }
    const events = eventsSince(rig, 0);
    expect(engine.mode).toBe("frozen");
    expect(engine.snapshot().reasons).toContain("thrashing");
    expect(transitions(events)).toEqual(["normal→frozen [thrashing]"]);
    expect(eventsOfType(events, "rollback")).toHaveLength(0);
    const held = engine.values[0];
    feed(rig, 100, 100, (x) => 20 * Math.abs(x - 5.5));
    expect(engine.values[0]).toBe(held);
  });

  it("manual halt then reset: blank acknowledgement refused, reset audited, applies resume", () => {
    const rig = engineRig({ seed: 1, params: ONE, window: { digests: 5, ms: 500 }, safety: QUICK_EXIT });
    const { engine } = rig;
    feed(rig, 12, 100, bowl(3));
    engine.flushEvents();
    const mark = rig.events.length;
    engine.halt("operator: plant maintenance");
    expect(engine.mode).toBe("halted");
    expect(engine.snapshot().reasons).toEqual(["manualHalt"]);
    const held = engine.values[0];
    feed(rig, 100, 100, bowl(3));
    expect(engine.values[0]).toBe(held);
    expect(engine.resetSafeMode({ acknowledge: "  " })).toBe(false);
    expect(engine.resetSafeMode({ acknowledge: "\u200b" })).toBe(false);
    expect(engine.mode).toBe("halted");
    // A call of the wrong shape is refused naming the field, not read as a blank acknowledgement.
    expect(() => engine.resetSafeMode("maintenance done" as never)).toThrow(
      new UsageError('resetSafeMode: expected { acknowledge: "<who and why>" }, got "maintenance done"'),
    );
    expect(() => engine.resetSafeMode({} as never)).toThrow(
      new UsageError("resetSafeMode: acknowledge must be a string, got undefined"),
    );
    expect(() => engine.rollback(42 as never)).toThrow(
      new UsageError("rollback: reason must be a string when given, got 42"),
    );
    expect(engine.mode).toBe("halted");
    expect(engine.resetSafeMode({ acknowledge: "maintenance done (jd)" })).toBe(true);
    expect(engine.mode).toBe("normal");
    expect(engine.snapshot().reasons).toEqual([]);
    const events = eventsSince(rig, mark);
    expect(transitions(events)).toEqual(["normal→halted [manualHalt]", "halted→normal []"]);
    // Nothing applied while halted; the cycle returns to its centre as soon as it is reset.
    const resetAt = eventsOfType(events, "mode.changed")[1]!.time;
    for (const apply of eventsOfType(events, "apply")) expect(apply.time).toBe(resetAt);
    expect(eventsOfType(events, "mode.changed")[1]!.note).toBe("maintenance done (jd)");
    const commands = eventsOfType(events, "command").map((e) => [e.command, e.note]);
    expect(commands).toEqual([
      ["halt", "operator: plant maintenance"],
      ["resetSafeMode", "maintenance done (jd)"],
    ]);
    const resumed = rig.events.length;
    feed(rig, 30, 100, bowl(3));
    expect(eventsOfType(eventsSince(rig, resumed), "apply").length).toBeGreaterThan(0);
  });

  it("repeated trips → halted (repeatedTrips), only an acknowledged reset leaves it", () => {
    const rig = engineRig({ seed: 1, params: ONE, window: { digests: 5, ms: 500 }, safety: QUICK_EXIT });
    const { engine } = rig;
    for (let trip = 0; trip < 3; trip++) {
      feed(rig, 60, 100, bowl(trip));
      // Up to the next apply, then a NaN burst before any finite value of it: the apply is blamed.
      const plant = bowl(trip);
      const generation = engine.generation;
      while (engine.generation === generation) {
        rig.clock.advanceBy(100);
        if (engine.generation === generation) engine.observe(digestOf(engine, plant(engine.values[0]!)));
      }
      for (let i = 0; i < 3; i++) engine.observe(digestOf(engine, Number.NaN));
    }
    const events = eventsSince(rig, 0);
    expect(engine.mode).toBe("halted");
    expect(engine.snapshot().reasons).toEqual(["nonFiniteObjective", "repeatedTrips"]);
    expect(transitions(events)).toEqual([
      "normal→frozen [nonFiniteObjective]",
      "frozen→conservative []",
      "conservative→normal []",
      "normal→frozen [nonFiniteObjective]",
      "frozen→conservative []",
      "conservative→normal []",
      "normal→frozen [nonFiniteObjective]",
      "frozen→halted [nonFiniteObjective,repeatedTrips]",
    ]);
    expect(eventsOfType(events, "rollback")).toHaveLength(3);
    expect(engine.values[0]).toBe(5);
    feed(rig, 200, 100, bowl(9));
    expect(engine.mode).toBe("halted");
    expect(engine.resetSafeMode({ acknowledge: "root cause found" })).toBe(true);
    expect(engine.mode).toBe("normal");
  });
});

describe("no false trips", () => {
  it("a noisy stable quadratic for 10^5 digests never leaves normal", { timeout: 120_000 }, () => {
    const rig = engineRig({ seed: 21, params: ONE, window: { digests: 5, ms: 500 } });
    const { engine, clock } = rig;
    const noise = Prng.fromSeed(77, 1);
    const ticks = 100_000;
    for (let i = 1; i <= ticks; i++) {
      clock.advanceTo(i * 100);
      engine.observe(digestOf(engine, (engine.values[0]! - 3) ** 2 + 0.3 * noise.normal()));
    }
    engine.flushEvents();
    const trips = eventsOfType(rig.events, "mode.changed").length;
    expect(trips / ticks).toBe(0);
    expect(eventsOfType(rig.events, "rollback")).toHaveLength(0);
    expect(engine.mode).toBe("normal");
    expect(Math.abs(engine.snapshot().centre.x! - 3)).toBeLessThan(0.5);
  });

  it("a slow benign drift of the optimum does not trip", { timeout: 60_000 }, () => {
    const rig = engineRig({ seed: 22, params: ONE, window: { digests: 5, ms: 500 } });
    const { engine, clock } = rig;
    const noise = Prng.fromSeed(78, 1);
    const ticks = 20_000; // 2000 s; the optimum drifts 3 → 7 and back
    for (let i = 1; i <= ticks; i++) {
      clock.advanceTo(i * 100);
      const optimum = 5 - 2 * Math.cos((2 * Math.PI * i) / ticks);
      engine.observe(digestOf(engine, (engine.values[0]! - optimum) ** 2 + 0.1 * noise.normal()));
    }
    engine.flushEvents();
    expect(eventsOfType(rig.events, "mode.changed")).toHaveLength(0);
    expect(eventsOfType(rig.events, "rollback")).toHaveLength(0);
    expect(engine.snapshot().spikesAbsorbed).toBe(0);
  });
});
