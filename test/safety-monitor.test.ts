import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { checkTrailOffline, type FirstFailures } from "../src/monitor/offline-check.js";
import { SAFETY_PROPERTY_IDS } from "../src/monitor/properties.js";
import { SafetyMonitor } from "../src/monitor/safety-monitor.js";
import { type SafetySpec, safetySpecOf } from "../src/monitor/safety-spec.js";

/** Two knobs on [0, 10] starting at 5, maxDelta 1; 3 applies/s, 100 ms apart; L1 within 4 events. */
const SPEC: SafetySpec = {
  names: ["x", "y"],
  min: [0, 0],
  max: [10, 10],
  init: [5, 5],
  maxDelta: [1, 1],
  maxUpdatesPerSecond: 3,
  minIntervalMs: 100,
  tripWindowEvents: 4,
  tripWindowMs: 10_000,
};

type EventInput = { type: AuditEvent["type"]; time: number; generation: number } & Record<string, unknown>;

/** Numbers events from seq 1 in order, filling the fields every event has. */
function trail(...events: EventInput[]): AuditEvent[] {
  return events.map(
    (e, i) => ({ v: 2, runId: "t", seq: i + 1, proposalId: -1, ...e }) as unknown as AuditEvent,
  );
}

const baseline = (time: number, generation: number): EventInput => ({
  type: "baseline.set",
  time,
  generation,
});
const apply = (time: number, generation: number, x: number, y = 5): EventInput => ({
  type: "apply",
  kind: "plus",
  time,
  generation,
  values: { x, y },
});
const rollback = (time: number, generation: number, x = 5, y = 5): EventInput => ({
  type: "rollback",
  reason: "safe-mode",
  restoredGeneration: 0,
  time,
  generation,
  values: { x, y },
});
const mode = (
  time: number,
  generation: number,
  from: string,
  to: string,
  reasons: string[] = [],
): EventInput => ({
  type: "mode.changed",
  time,
  generation,
  from,
  to,
  reasons,
});
const window = (time: number, generation: number): EventInput => ({
  type: "window.closed",
  time,
  generation,
  count: 1,
  value: 1,
  timedOut: false,
  openedAt: time,
});

const digest = (time: number, generation: number): EventInput => ({
  type: "digest.accepted",
  time,
  generation,
  objective: 1,
  digestGeneration: generation,
});

function verdicts(events: AuditEvent[]) {
  return new SafetyMonitor(SPEC).checkAll(events);
}

describe("safety monitor: each property", () => {
  it("a clean trail holds every property", () => {
    const report = verdicts(
      trail(baseline(0, 0), apply(100, 1, 5.5), apply(200, 2, 6.5), window(250, 2), apply(1200, 3, 6)),
    );
    expect(report.violations).toEqual([]);
    expect(report.events).toBe(5);
  });

  it("S1: a value out of bounds, or an apply without its values", () => {
    const out = verdicts(trail(baseline(0, 0), apply(100, 1, 5.5, 10.5)));
    expect(out.violations).toEqual([
      {
        property: "S1",
        message: "apply wrote y = 10.5, outside [0, 10]",
        witness: { fromSeq: 2, toSeq: 2 },
        time: 100,
      },
    ]);
    const blind = verdicts(trail({ type: "apply", kind: "centre", time: 100, generation: 1 }));
    expect(blind.violations[0]!.property).toBe("S1");
  });

  it("S2: a move beyond maxDelta (half of it when conservative); a rollback that is not the baseline", () => {
    const far = verdicts(trail(baseline(0, 0), apply(100, 1, 6.5)));
    expect(far.violations.map((v) => [v.property, v.witness])).toEqual([["S2", { fromSeq: 2, toSeq: 2 }]]);
    expect(far.violations[0]!.message).toBe(
      "x moved 1.5 (5 → 6.5) in one plus apply; maxDelta in force is 1",
    );
    const conservative = verdicts(
      trail(baseline(0, 0), mode(50, 0, "normal", "conservative"), apply(300, 1, 5.8)),
    );
    expect(conservative.violations.map((v) => v.property)).toEqual(["S2"]);
    const wrongBaseline = verdicts(trail(baseline(0, 0), apply(100, 1, 6), rollback(200, 2, 5.5)));
    expect(wrongBaseline.violations.map((v) => [v.property, v.witness])).toEqual([
      ["S2", { fromSeq: 1, toSeq: 3 }],
    ]);
    // A rollback may jump any distance back to the baseline.
    expect(
      verdicts(trail(apply(100, 1, 6), baseline(150, 1), apply(250, 2, 7), rollback(300, 3, 6))).violations,
    ).toEqual([]);
  });

  it("S3: the minimum interval and the rate limit", () => {
    const soon = verdicts(trail(baseline(0, 0), apply(100, 1, 5.5), apply(150, 2, 6)));
    expect(soon.violations.map((v) => v.message)).toEqual([
      "apply 50 ms after the previous apply; the minimum interval in force is 100 ms",
    ]);
    const burst = verdicts(
      trail(
        baseline(0, 0),
        apply(100, 1, 5.5),
        apply(200, 2, 6),
        apply(300, 3, 6.5),
        apply(400, 4, 7),
        apply(1250, 5, 7.5),
      ),
    );
    expect(burst.violations.map((v) => [v.message, v.witness])).toEqual([
      ["4 applies within 1000 ms; the rate limit is 3", { fromSeq: 2, toSeq: 5 }],
    ]);
    expect(burst.counts.S3).toBe(1); // the apply at 1250 ms has only two others within its second
  });

  it("S4: nothing applied right after a rollback", () => {
    const report = verdicts(trail(baseline(0, 0), apply(100, 1, 6), rollback(500, 2), apply(550, 3, 5.5)));
    expect(report.violations.map((v) => [v.property, v.witness])).toEqual([["S4", { fromSeq: 3, toSeq: 4 }]]);
  });

  it("S5: no apply while frozen or halted; no automatic rollback while halted", () => {
    const frozen = verdicts(
      trail(baseline(0, 0), mode(10, 0, "normal", "frozen", ["thrashing"]), apply(500, 1, 5.5)),
    );
    expect(frozen.violations.map((v) => [v.message, v.witness])).toEqual([
      ["a plus apply happened while frozen", { fromSeq: 2, toSeq: 3 }],
    ]);
    const halted = verdicts(
      trail(baseline(0, 0), mode(10, 0, "normal", "halted", ["manualHalt"]), rollback(500, 1)),
    );
    expect(halted.violations.map((v) => v.message)).toEqual([
      "an automatic rollback (safe-mode) happened while halted",
    ]);
    const operator = verdicts(
      trail(
        baseline(0, 0),
        mode(10, 0, "normal", "halted", ["manualHalt"]),
        { type: "command", command: "rollback", time: 400, generation: 0 },
        rollback(500, 1),
      ),
    );
    expect(operator.violations).toEqual([]);
    // A refused rollback command took no effect: it licenses no later rollback while halted.
    const refused = trail(
      baseline(0, 0),
      mode(10, 0, "normal", "halted", ["manualHalt"]),
      { type: "command", command: "rollback", time: 400, generation: 0 },
      { type: "command.refused", command: "rollback", time: 400, generation: 0, note: "disk full" },
      rollback(500, 1),
    );
    expect(verdicts(refused).violations.map((v) => v.message)).toEqual([
      "an automatic rollback (safe-mode) happened while halted",
    ]);
    expect(checkTrailOffline(SPEC, refused)).toEqual({ S5: 5 });
    // An accepted command before a refused one still licenses its rollback, online and offline.
    const acceptedFirst = trail(
      baseline(0, 0),
      mode(10, 0, "normal", "halted", ["manualHalt"]),
      { type: "command", command: "rollback", time: 300, generation: 0 },
      { type: "command", command: "rollback", time: 400, generation: 0 },
      { type: "command.refused", command: "rollback", time: 400, generation: 0, note: "disk full" },
      { ...rollback(500, 1), reason: "manual" },
    );
    expect(verdicts(acceptedFirst).violations).toEqual([]);
    expect(checkTrailOffline(SPEC, acceptedFirst)).toEqual({});
  });

  it("S6: a gap in sequence numbers, a generation that skips, a mode change from the wrong mode", () => {
    const events = trail(baseline(0, 0), apply(100, 1, 5.5), apply(300, 2, 6));
    const gap = verdicts([events[0]!, { ...events[1]!, seq: 5 }]);
    expect(gap.violations.map((v) => [v.message, v.witness])).toEqual([
      [
        "audit sequence broken: records 2–4 are missing (dropped by the audit ring?)",
        { fromSeq: 1, toSeq: 5 },
      ],
    ]);
    const skip = verdicts(trail(baseline(0, 0), apply(100, 2, 5.5)));
    expect(skip.violations.map((v) => v.message)).toEqual([
      "apply event carries generation 2, expected 1 (an apply or rollback raises it by exactly one)",
    ]);
    const wrongMode = verdicts(trail(baseline(0, 0), mode(10, 0, "frozen", "normal")));
    expect(wrongMode.violations.map((v) => v.property)).toEqual(["S6"]);
  });

  it("L1: a trip must be answered by a rollback or a halt within K events", () => {
    const trip = mode(10, 0, "normal", "frozen", ["divergence"]);
    const answered = verdicts(trail(baseline(0, 0), trip, window(20, 0), rollback(30, 1)));
    expect(answered.violations).toEqual([]);
    const before = verdicts(
      trail(baseline(0, 0), rollback(5, 1), mode(10, 1, "normal", "frozen", ["spike"])),
    );
    expect(before.violations).toEqual([]);
    const ignored = verdicts(
      trail(baseline(0, 0), trip, window(20, 0), window(30, 0), window(40, 0), window(50, 0), window(60, 0)),
    );
    expect(ignored.violations.map((v) => [v.property, v.witness])).toEqual([
      ["L1", { fromSeq: 2, toSeq: 6 }],
    ]);
    const open = verdicts(trail(baseline(0, 0), trip, window(20, 0)));
    expect(open.pendingTrips).toBe(1);
    expect(open.violations).toEqual([]);
  });

  it("L1: a trip the engine never answers is decided by time once it goes quiet", () => {
    const monitor = new SafetyMonitor(SPEC);
    monitor.checkAll(trail(baseline(0, 0), mode(10, 0, "normal", "frozen", ["spike"])));
    expect(monitor.nextDeadline()).toBe(10_010);
    monitor.expire(10_009);
    expect(monitor.ok).toBe(true);
    monitor.expire(10_010);
    expect(monitor.report().violations.map((v) => [v.property, v.message, v.witness])).toEqual([
      [
        "L1",
        "the trip on spike was neither rolled back nor halted within 10000 ms",
        { fromSeq: 2, toSeq: 2 },
      ],
    ]);
    expect(monitor.nextDeadline()).toBeUndefined();
  });

  it("L1: a recorded trail is held to the time bound too, at the first event past the deadline", () => {
    // A spike trip at 200 ms, then only digests (not counted toward K) for 30 s, never answered.
    const events = trail(
      baseline(0, 0),
      apply(100, 1, 6),
      mode(200, 1, "normal", "conservative", ["spike"]),
      digest(5_000, 1),
      digest(20_000, 1),
      digest(30_000, 1),
    );
    const report = verdicts(events);
    expect(report.violations).toEqual([
      {
        property: "L1",
        message: "the trip on spike was neither rolled back nor halted within 10000 ms",
        witness: { fromSeq: 3, toSeq: 5 },
        time: 20_000,
      },
    ]);
    expect(report.pendingTrips).toBe(0);
    expect(checkTrailOffline(SPEC, events)).toEqual({ L1: 5 });
    // Driven as monitorEngine drives it, the timer decides it first, with the same verdict.
    expect(timedFirstFailures(events)).toEqual({ L1: 5 });
  });

  it("L1: the time window is half-open — an answer stamped exactly at the deadline is late", () => {
    const trip = mode(10, 0, "normal", "frozen", ["spike"]);
    // Deadline: 10 + 10 000 = 10 010 ms.
    for (const answer of [rollback(10_009, 1), mode(10_009, 0, "frozen", "halted", ["spike"])]) {
      const inTime = trail(baseline(0, 0), trip, digest(5_000, 0), answer);
      expect(verdicts(inTime).violations).toEqual([]);
      expect(verdicts(inTime).pendingTrips).toBe(0);
      expect(checkTrailOffline(SPEC, inTime)).toEqual({});
      expect(timedFirstFailures(inTime)).toEqual({});
    }
    for (const answer of [rollback(10_010, 1), mode(10_010, 0, "frozen", "halted", ["spike"])]) {
      const late = trail(baseline(0, 0), trip, digest(5_000, 0), answer);
      expect(verdicts(late).violations.map((v) => [v.property, v.witness, v.time])).toEqual([
        ["L1", { fromSeq: 2, toSeq: 4 }, 10_010],
      ]);
      expect(checkTrailOffline(SPEC, late)).toEqual({ L1: 4 });
      expect(timedFirstFailures(late)).toEqual({ L1: 4 });
    }
  });

  it("L1: a non-finite burst (a telemetry fault) must freeze at once, and need not roll back", () => {
    const frozen = verdicts(
      trail(
        baseline(0, 0),
        mode(10, 0, "normal", "frozen", ["nonFiniteObjective"]),
        ...[20, 30, 40, 50, 60].map((t) => window(t, 0)),
      ),
    );
    expect(frozen.violations).toEqual([]);
    expect(frozen.pendingTrips).toBe(0);
    const unfrozen = verdicts(
      trail(baseline(0, 0), mode(10, 0, "normal", "conservative", ["nonFiniteObjective"])),
    );
    expect(unfrozen.violations.map((v) => [v.property, v.message, v.witness])).toEqual([
      ["L1", "nonFiniteObjective was raised without freezing (mode conservative)", { fromSeq: 2, toSeq: 2 }],
    ]);
  });

  it("latches: later violations of a property are counted, the first witness is kept", () => {
    const report = verdicts(trail(baseline(0, 0), apply(100, 1, 7), apply(300, 2, 9)));
    expect(report.violations).toHaveLength(1);
    expect(report.violations[0]!.witness.toSeq).toBe(2);
    expect(report.counts.S2).toBe(2);
  });

  it("reads its limits from the engine config: defaults resolved as the engine resolves them", () => {
    const spec = safetySpecOf({
      seed: 1,
      params: { a: { min: 0, max: 50 }, b: { min: 1, max: 100, init: 10, maxDelta: 2 } },
    });
    expect(spec.names).toEqual(["a", "b"]);
    expect(spec.maxDelta).toEqual([5, 2]);
    expect(spec.init).toEqual([25, 10]);
    expect(spec.minIntervalMs).toBeGreaterThan(0);
    expect(() => safetySpecOf({ seed: 1, params: { a: { min: 1, max: 0 } } })).toThrow();
  });
});

// ---- Differential: the incremental monitor against the brute-force offline checker ----

const MODES = ["normal", "conservative", "frozen", "halted"] as const;
const REASONS = ["nonFiniteObjective", "spike", "thrashing", "manualHalt"] as const;

const KINDS = [
  "apply",
  "apply",
  "apply",
  "rollback",
  "baseline",
  "mode",
  "command",
  "window",
  "digest",
] as const;

/** One step of a random trail, `dt` ms after the previous one; most are plausible, some break a property. */
const stepArbWith = (dt: fc.Arbitrary<number>, kinds: readonly (typeof KINDS)[number][] = KINDS) =>
  fc.record({
    kind: fc.constantFrom(...kinds),
    dt,
    dx: fc.constantFrom(-2, -1, -0.6, -0.3, 0, 0.3, 0.6, 1, 2),
    dy: fc.constantFrom(-1, -0.4, 0, 0.4, 1, 5.5),
    to: fc.constantFrom(...MODES),
    reasons: fc.subarray([...REASONS], { maxLength: 2 }),
    glitch: fc.constantFrom(
      "none",
      "none",
      "none",
      "none",
      "none",
      "none",
      "seq",
      "generation",
      "from",
      "no-values",
    ),
  });

const SHORT_GAPS = fc.constantFrom(0, 20, 60, 100, 150, 250, 400, 1000);
const stepArb = stepArbWith(SHORT_GAPS);
/**
 * Long quiet spells too, some summing to L1's time bound (10 000 ms) exactly, and more mode changes
 * and digests (which do not count toward K), so trips are often left to the time bound.
 */
const gappyStepArb = stepArbWith(fc.oneof(SHORT_GAPS, fc.constantFrom(2_500, 5_000, 9_990, 10_000, 30_000)), [
  "apply",
  "rollback",
  "baseline",
  "mode",
  "mode",
  "command",
  "window",
  "digest",
  "digest",
  "digest",
  "digest",
]);

type Step = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;

/** Folds steps into a trail, keeping seq, generation, mode and values consistent unless a glitch says otherwise. */
function buildTrail(steps: readonly Step[]): AuditEvent[] {
  const events: AuditEvent[] = [];
  let seq = 0;
  let time = 0;
  let generation = 0;
  let current = "normal";
  let x = 5;
  let y = 5;
  for (const s of steps) {
    time += s.dt;
    seq += s.glitch === "seq" ? 2 : 1;
    const base = { v: 2, runId: "r", seq, time, proposalId: -1 };
    const move = s.kind === "apply" || s.kind === "rollback";
    if (move) generation++;
    const gen = s.glitch === "generation" ? generation + 1 : generation;
    const written = () => (s.glitch === "no-values" ? {} : { values: { x, y } });
    switch (s.kind) {
      case "apply":
        x += s.dx;
        y += s.dy;
        events.push({ ...base, generation: gen, type: "apply", kind: "centre", ...written() } as AuditEvent);
        break;
      case "rollback":
        x = 5;
        y = 5;
        events.push({
          ...base,
          generation: gen,
          type: "rollback",
          reason: "safe-mode",
          restoredGeneration: 0,
          ...written(),
        } as AuditEvent);
        break;
      case "baseline":
        events.push({ ...base, generation: gen, type: "baseline.set" } as AuditEvent);
        break;
      case "mode":
        events.push({
          ...base,
          generation: gen,
          type: "mode.changed",
          from: s.glitch === "from" ? "halted" : current,
          to: s.to,
          reasons: s.reasons,
        } as AuditEvent);
        current = s.to;
        break;
      case "command":
        events.push({ ...base, generation: gen, type: "command", command: "rollback" } as AuditEvent);
        break;
      case "window":
        events.push({
          ...base,
          generation: gen,
          type: "window.closed",
          count: 1,
          value: 1,
          timedOut: false,
          openedAt: time,
        } as AuditEvent);
        break;
      default:
        events.push({
          ...base,
          generation: gen,
          type: "digest.accepted",
          objective: 1,
          digestGeneration: gen,
        } as AuditEvent);
    }
    if (s.glitch === "generation") generation++;
  }
  return events;
}

function firstFailures(events: AuditEvent[]): FirstFailures {
  const report = new SafetyMonitor(SPEC).checkAll(events);
  const out: FirstFailures = {};
  for (const v of report.violations) out[v.property] = v.witness.toSeq;
  return Object.fromEntries(
    SAFETY_PROPERTY_IDS.filter((id) => out[id] !== undefined).map((id) => [id, out[id]]),
  );
}

/**
 * The monitor as `monitorEngine` drives it: L1's timer fires at each deadline the engine clock
 * reaches before the next event is checked. A timer verdict is mapped to the event that reached the
 * deadline (the offline checker's witness); its own witness ends at the event checked before.
 */
function timedFirstFailures(events: AuditEvent[]): FirstFailures {
  const monitor = new SafetyMonitor(SPEC);
  const out: FirstFailures = {};
  let next = 0;
  let checking = false;
  monitor.onViolation((v) => {
    if (checking) {
      out[v.property] = v.witness.toSeq;
      return;
    }
    expect(v.property).toBe("L1");
    expect(v.witness.toSeq).toBe(events[next - 1]!.seq);
    out[v.property] = events[next]!.seq;
  });
  for (; next < events.length; next++) {
    const event = events[next]!;
    for (let d = monitor.nextDeadline(); d !== undefined && d <= event.time; d = monitor.nextDeadline()) {
      monitor.expire(d);
    }
    checking = true;
    monitor.check(event);
    checking = false;
  }
  return Object.fromEntries(
    SAFETY_PROPERTY_IDS.filter((id) => out[id] !== undefined).map((id) => [id, out[id]]),
  );
}

describe("safety monitor: differential check against the offline checker", () => {
  it("both find the same first violation of every property on random trails", () => {
    let violating = 0;
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 60 }), (steps) => {
        const events = buildTrail(steps);
        const online = firstFailures(events);
        const offline = checkTrailOffline(SPEC, events);
        expect(online).toEqual(offline);
        expect(timedFirstFailures(events)).toEqual(offline);
        if (Object.keys(online).length > 0) violating++;
      }),
      { numRuns: 600 },
    );
    // The generator must exercise both outcomes, or the comparison proves little.
    expect(violating).toBeGreaterThan(100);
    expect(violating).toBeLessThan(600);
  });

  it("the same, with long quiet spells after trips: checkAll, the live timer and the offline checker agree on L1's time bound", () => {
    let byTime = 0;
    let atDeadline = 0;
    fc.assert(
      fc.property(fc.array(gappyStepArb, { minLength: 1, maxLength: 60 }), (steps) => {
        const events = buildTrail(steps);
        const offline = checkTrailOffline(SPEC, events);
        expect(firstFailures(events)).toEqual(offline);
        expect(timedFirstFailures(events)).toEqual(offline);
        const report = new SafetyMonitor(SPEC).checkAll(events);
        const l1 = report.violations.find((v) => v.property === "L1" && v.message.endsWith(" ms"));
        if (l1 === undefined) return;
        byTime++;
        const tripTime = events.find((e) => e.seq === l1.witness.fromSeq)!.time;
        if (l1.time === tripTime + SPEC.tripWindowMs) atDeadline++;
      }),
      { numRuns: 1000, seed: 20_250_611 },
    );
    // The generator must reach the time bound often, or the comparison proves little about it.
    expect(byTime).toBeGreaterThan(40);
    // …and sometimes exactly at it (the half-open boundary).
    expect(atDeadline).toBeGreaterThan(0);
  });

  it("every property is found violated on some random trail, by both", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 60 }), (steps) => {
        for (const id of Object.keys(checkTrailOffline(SPEC, buildTrail(steps)))) seen.add(id);
      }),
      { numRuns: 600 },
    );
    expect([...seen].sort()).toEqual([...SAFETY_PROPERTY_IDS].sort());
  });
});
