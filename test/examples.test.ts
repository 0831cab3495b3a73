import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { VirtualAction, VirtualTimeScheduler } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";
import { describeProgress, describeSummary, parseDemoArgs, runDemo } from "../examples/engine-demo.js";
import { ArrivalPeriods, DitheredSize, latencyStats, PoissonArrivals } from "../examples/http-service.js";
import { SafetyLog } from "../examples/safety-log.js";
import {
  BASE_CONDITIONS,
  conditionsAt,
  defaultScenario,
  KNOB_BOUNDS,
  noiseFactor,
  optimalKnobs,
  type QueueingKnobs,
  QueueingService,
  type ServiceConditions,
  serviceCost,
} from "../examples/sim/queueing-service.js";
import {
  INITIAL_KNOBS,
  runTuningSession,
  type SessionProgress,
  type SessionSummary,
} from "../examples/sim/tuning-session.js";
import { AUDIT_SCHEMA_VERSION } from "../src/audit/events.js";
import { Prng } from "../src/random/prng.js";

const virtualClock = () => new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY);

/** Distance between two knob settings in the unit square of {@link KNOB_BOUNDS}. */
function unitDistance(a: QueueingKnobs, b: QueueingKnobs): number {
  const db = (a.batchSize - b.batchSize) / (KNOB_BOUNDS.batchSize.max - KNOB_BOUNDS.batchSize.min);
  const dt = (a.timeoutMs - b.timeoutMs) / (KNOB_BOUNDS.timeoutMs.max - KNOB_BOUNDS.timeoutMs.min);
  return Math.hypot(db, dt);
}

describe("queueing service model", () => {
  it("adds up its documented parts", () => {
    const c = BASE_CONDITIONS;
    const knobs = { batchSize: 10, timeoutMs: 30 };
    const r = serviceCost(knobs, c);
    const service = c.batchOverheadMs + c.perRequestMs * 10;
    expect(r.serviceMs).toBeCloseTo(service, 12);
    expect(r.fillMs).toBeCloseTo(9 / (2 * c.arrivalsPerMs), 12);
    const h = c.hangProbability;
    expect(r.utilisation).toBeCloseTo((c.arrivalsPerMs / 10) * ((1 - h) * service + h * 30), 12);
    const queue =
      ((c.arrivalsPerMs / 10) * ((1 - h) * service ** 2 + h * 30 ** 2)) / (2 * (1 - r.utilisation));
    expect(r.queueMs).toBeCloseTo(queue, 12);
    expect(r.timeoutRate).toBeCloseTo(h + (1 - h) * Math.exp(-(30 - service) / queue), 12);
    expect(r.shedRate).toBe(0);
    expect(r.cost).toBeCloseTo(r.latencyMs + c.failurePenaltyMs * r.timeoutRate, 12);
  });

  it("times out every batch when the timeout is shorter than the service time", () => {
    const r = serviceCost({ batchSize: 20, timeoutMs: 2 }, BASE_CONDITIONS);
    expect(r.serviceMs).toBeGreaterThan(2);
    expect(r.timeoutRate).toBe(1);
  });

  it("sheds the excess load when the worker is overloaded", () => {
    const r = serviceCost({ batchSize: 1, timeoutMs: 50 }, BASE_CONDITIONS);
    expect(r.utilisation).toBeGreaterThan(1);
    expect(r.shedRate).toBeCloseTo(1 - 1 / r.utilisation, 12);
    expect(Number.isFinite(r.cost)).toBe(true);
  });

  it("gives a finite cost with rates in [0, 1] for any knobs in bounds and plausible conditions", () => {
    fc.assert(
      fc.property(
        fc.double({ min: KNOB_BOUNDS.batchSize.min, max: KNOB_BOUNDS.batchSize.max, noNaN: true }),
        fc.double({ min: KNOB_BOUNDS.timeoutMs.min, max: KNOB_BOUNDS.timeoutMs.max, noNaN: true }),
        fc.double({ min: 0.1, max: 5, noNaN: true }),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        (batchSize, timeoutMs, arrivalsPerMs, hangProbability) => {
          const r = serviceCost(
            { batchSize, timeoutMs },
            { ...BASE_CONDITIONS, arrivalsPerMs, hangProbability },
          );
          expect(Number.isFinite(r.cost)).toBe(true);
          expect(r.latencyMs).toBeGreaterThan(0);
          expect(r.cost).toBeGreaterThanOrEqual(r.latencyMs);
          expect(r.timeoutRate).toBeGreaterThanOrEqual(hangProbability - 1e-12);
          expect(r.timeoutRate).toBeLessThanOrEqual(1);
          expect(r.shedRate).toBeGreaterThanOrEqual(0);
          expect(r.shedRate).toBeLessThan(1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("finds an optimum no sampled point beats", () => {
    const best = optimalKnobs(BASE_CONDITIONS);
    fc.assert(
      fc.property(
        fc.double({ min: KNOB_BOUNDS.batchSize.min, max: KNOB_BOUNDS.batchSize.max, noNaN: true }),
        fc.double({ min: KNOB_BOUNDS.timeoutMs.min, max: KNOB_BOUNDS.timeoutMs.max, noNaN: true }),
        (batchSize, timeoutMs) => {
          expect(serviceCost({ batchSize, timeoutMs }, BASE_CONDITIONS).cost).toBeGreaterThanOrEqual(
            best.cost - 1e-9,
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it("moves the optimum the way the model says: load and overhead grow the batch, hangs shorten the timeout", () => {
    const at = (change: Partial<ServiceConditions>) => optimalKnobs({ ...BASE_CONDITIONS, ...change }).knobs;
    const base = at({});
    expect(at({ arrivalsPerMs: 1.5 }).batchSize).toBeGreaterThan(base.batchSize + 2);
    expect(at({ batchOverheadMs: 4.5 }).batchSize).toBeGreaterThan(base.batchSize + 2);
    expect(at({ hangProbability: 0.05 }).timeoutMs).toBeLessThan(base.timeoutMs - 1);
    expect(at({ hangProbability: 0.005 }).timeoutMs).toBeGreaterThan(base.timeoutMs + 1);
  });

  it("drifts the conditions as documented and surges the load at half time", () => {
    const scenario = defaultScenario(20_000);
    const start = conditionsAt(scenario, 0);
    expect(start.arrivalsPerMs).toBeCloseTo(BASE_CONDITIONS.arrivalsPerMs, 12);
    expect(start.hangProbability).toBeCloseTo(BASE_CONDITIONS.hangProbability * 1.5, 12);
    const end = conditionsAt(scenario, 20_000);
    expect(end.batchOverheadMs).toBeCloseTo(BASE_CONDITIONS.batchOverheadMs * 1.25, 12);
    const before = conditionsAt(scenario, 10_000 - 1e-9);
    const after = conditionsAt(scenario, 10_000);
    expect(after.arrivalsPerMs / before.arrivalsPerMs).toBeCloseTo(scenario.surgeFactor, 6);
    expect(conditionsAt(scenario, 1234)).toEqual(conditionsAt(scenario, 1234));
  });

  it("shifts the best batch size up at the surge and drifts the best timeout before it", () => {
    const scenario = defaultScenario(20_000);
    const best = (t: number) => optimalKnobs(conditionsAt(scenario, t)).knobs;
    expect(best(10_000).batchSize).toBeGreaterThan(best(9_999).batchSize + 3);
    expect(best(9_999).timeoutMs).toBeGreaterThan(best(0).timeoutMs + 2);
    expect(best(20_000).batchSize).toBeGreaterThan(best(10_000).batchSize + 2);
  });

  it("starts the demo from knobs that are worse than the optimum throughout the run", () => {
    const scenario = defaultScenario(20_000);
    for (let t = 0; t <= 20_000; t += 2_500) {
      const c = conditionsAt(scenario, t);
      expect(serviceCost(INITIAL_KNOBS, c).cost).toBeGreaterThan(1.1 * optimalKnobs(c).cost);
    }
  });

  it("measures with seeded log-normal noise of mean 1, shared by the tuned service and the baseline", () => {
    expect(noiseFactor(0, 0.1)).toBeCloseTo(Math.exp(-0.005), 12);
    const scenario = defaultScenario(20_000);
    const a = new QueueingService(scenario, INITIAL_KNOBS, 3);
    const b = new QueueingService(scenario, INITIAL_KNOBS, 3);
    const knobs = { batchSize: 14, timeoutMs: 20 };
    let sum = 0;
    const n = 5000;
    for (let i = 0; i < n; i++) {
      const m = a.measure(knobs, i);
      const twin = b.measure(knobs, i);
      if (i % 50 === 0) {
        expect(twin).toEqual(m);
        expect(m.tuned / m.tunedTrue).toBeCloseTo(m.baseline / m.baselineTrue, 12);
      }
      sum += m.tuned / m.tunedTrue;
    }
    expect(Math.abs(sum / n - 1)).toBeLessThan(0.005);
  });
});

describe("engine demo session in virtual time", () => {
  const reports: SessionProgress[] = [];
  let delivered = 0;
  const first: Promise<SessionSummary> = runTuningSession({
    durationMs: 20_000,
    scheduler: virtualClock(),
    onProgress: (p) => reports.push(p),
    onEvent: () => delivered++,
  });

  it("improves on the untuned baseline and ends nearer the optimum than it started", async () => {
    const summary = await first;
    expect(summary.elapsedMs).toBe(20_000);
    expect(summary.digests).toBe(1000);
    expect(summary.snapshot.digests).toEqual({ accepted: 1000, rejected: 0, unused: 0 });
    expect(summary.snapshot.applies.refused).toBe(0);
    expect(summary.snapshot.applies.applied).toBeGreaterThan(100);
    expect(summary.improvement).toBeGreaterThan(0.2);
    expect(summary.finalImprovement).toBeGreaterThan(0.4);
    expect(summary.finalCost).toBeLessThan(1.2 * summary.optimumAtEnd.cost);
    const final = summary.snapshot.centre as unknown as QueueingKnobs;
    expect(unitDistance(final, summary.optimumAtEnd.knobs)).toBeLessThan(
      unitDistance(INITIAL_KNOBS, summary.optimumAtEnd.knobs) / 2,
    );
    expect(summary.auditEvents).toBe(delivered);
  });

  it("reports progress every 2 s with the objective below the baseline by the end", async () => {
    await first;
    expect(reports.map((r) => r.elapsedMs)).toEqual([
      2000, 4000, 6000, 8000, 10_000, 12_000, 14_000, 16_000, 18_000, 20_000,
    ]);
    const last = reports.at(-1)!;
    expect(last.objective).toBeLessThan(last.baseline);
    expect(last.improvement).toBeCloseTo(1 - last.objective / last.baseline, 12);
    expect(Object.keys(last.values)).toEqual(["batchSize", "timeoutMs"]);
    expect(last.mode).toBe(last.snapshot.mode);
    expect(last.mode).toBe("normal");
  });

  it("is deterministic: the same seed gives the same run", async () => {
    const again = await runTuningSession({ durationMs: 20_000, scheduler: virtualClock() });
    expect(again).toEqual(await first);
  });

  it("stops early when aborted", async () => {
    const stop = new AbortController();
    stop.abort();
    const summary = await runTuningSession({
      durationMs: 20_000,
      scheduler: virtualClock(),
      signal: stop.signal,
    });
    expect(summary.digests).toBe(1);
  });
});

describe("engine-demo command", () => {
  const dir = mkdtempSync(join(tmpdir(), "arqon-demo-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads seconds from --seconds, else ARQON_DEMO_SECONDS, else 20", () => {
    const now = new Date("2026-01-02T03:04:05.678Z");
    const base = parseDemoArgs([], {}, now);
    expect(base.seconds).toBe(20);
    expect(base.fast).toBe(false);
    expect(base.out).toBe(join(tmpdir(), "arqon-demo-20260102T030405.jsonl"));
    expect(parseDemoArgs([], { ARQON_DEMO_SECONDS: "7.5" }, now).seconds).toBe(7.5);
    expect(parseDemoArgs(["--seconds", "3"], { ARQON_DEMO_SECONDS: "7" }, now).seconds).toBe(3);
    expect(() => parseDemoArgs(["--seconds", "zero"], {}, now)).toThrow(/--seconds/);
    expect(() => parseDemoArgs([], { ARQON_DEMO_SECONDS: "-1" }, now)).toThrow(/ARQON_DEMO_SECONDS/);
    expect(() => parseDemoArgs(["--bogus"], {}, now)).toThrow();
  });

  it("runs --fast, writes every audit event as one JSON line and names the file", async () => {
    const out = join(dir, "audit.jsonl");
    let text = "";
    const code = await runDemo(["--fast", "--seconds", "10", "--out", out], {
      write: (t) => {
        text += t;
      },
      isTTY: false,
    });
    expect(code).toBe(0);
    expect(text).toContain("virtual time");
    expect(text).toContain(out);
    const lines = readFileSync(out, "utf8").trimEnd().split("\n");
    const events = lines.map((line) => JSON.parse(line) as { v: number; seq: number; type: string });
    expect(events.every((e) => e.v === AUDIT_SCHEMA_VERSION)).toBe(true);
    for (let i = 1; i < events.length; i++) expect(events[i]!.seq).toBeGreaterThan(events[i - 1]!.seq);
    expect(events[0]!.type).toBe("baseline.set");
    const applies = events.filter((e) => e.type === "apply").length;
    expect(text).toContain(`${applies} applies`);
    expect(text).toContain(`Audit: ${events.length} events`);
    // Plain progress lines (not a TTY): one per 2 s of the run.
    expect(text.match(/^ +\d+\.\d s {2}cost /gm)).toHaveLength(5);
    const modeChanges = events.filter((e) => e.type === "mode.changed").length;
    expect(text).toContain(modeChanges === 0 ? "SafeMode: normal throughout." : "SafeMode:\n");
  });

  it("tells SafeMode's changes and why a run that ended frozen stopped tuning", async () => {
    const summary = await runTuningSession({ durationMs: 1000, scheduler: virtualClock() });
    const start = 1_700_000_000_000;
    const base = { v: AUDIT_SCHEMA_VERSION, runId: "r", proposalId: -1 } as const;
    const safety = new SafetyLog();
    safety.note({ ...base, seq: 1, time: start, generation: 0, type: "baseline.set" });
    safety.note({
      ...base,
      seq: 2,
      time: start + 11_360,
      generation: 113,
      type: "mode.changed",
      from: "normal",
      to: "frozen",
      reasons: ["spike"],
    });
    safety.note({
      ...base,
      seq: 3,
      time: start + 11_360,
      generation: 114,
      type: "rollback",
      reason: "regression",
      note: "instability governor: spike",
      restoredGeneration: 0,
      values: { batchSize: 10, timeoutMs: 50 },
    });
    const frozen = { ...summary.snapshot, mode: "frozen", reasons: [], steppingDownFrom: ["spike"] } as const;
    const text = describeSummary({ ...summary, snapshot: frozen }, new Map(), "/tmp/a.jsonl", safety);
    expect(text).toContain("   11.4 s  mode normal → frozen (spike)\n");
    expect(text).toContain(
      "   11.4 s  rollback to batchSize 10.0, timeoutMs 50.0 (instability governor: spike)\n",
    );
    expect(text).toContain(
      "The run ended frozen, stepping down from spike: tuning stopped, and a mode steps down only\nafter 30 s in it",
    );
    // A run back in normal lists its changes and says nothing of a stop.
    const normal = describeSummary(summary, new Map(), "/tmp/a.jsonl", safety);
    expect(normal).toContain("mode normal → frozen (spike)");
    expect(normal).not.toContain("The run ended");
    // Conservative tunes on; halted waits for an operator, not for a dwell.
    expect(safety.describe({ mode: "conservative", reasons: ["thrashing"] })).toContain(
      "The run ended conservative, for thrashing: tuning went on with smaller moves",
    );
    const halted = safety.describe({ mode: "halted", reasons: ["repeatedTrips"] });
    expect(halted).toContain(
      "The run ended halted, for repeatedTrips: nothing is applied until an operator resets",
    );
    expect(halted).not.toContain("30 s");
  });

  it("keeps the first and the last SafeMode changes of a run with many", () => {
    const base = { v: AUDIT_SCHEMA_VERSION, runId: "r", proposalId: -1, generation: 1 } as const;
    const safety = new SafetyLog();
    for (let i = 0; i < 12; i++) {
      const [from, to] =
        i % 2 === 0 ? (["normal", "conservative"] as const) : (["conservative", "normal"] as const);
      safety.note({
        ...base,
        seq: i + 1,
        time: 1000 * i,
        type: "mode.changed",
        from,
        to,
        reasons: ["thrashing"],
      });
    }
    safety.note({
      ...base,
      seq: 13,
      time: 12_000,
      type: "mode.changed",
      from: "normal",
      to: "halted",
      reasons: ["repeatedTrips"],
    });
    const lines = safety.describe({ mode: "halted", reasons: ["repeatedTrips"] }).split("\n");
    expect(lines.slice(1, 6)).toEqual([
      "    0.0 s  mode normal → conservative (thrashing)",
      "    1.0 s  mode conservative → normal (thrashing)",
      "    2.0 s  mode normal → conservative (thrashing)",
      "    3.0 s  mode conservative → normal (thrashing)",
      "  … 5 more in the audit file",
    ]);
    // The change that explains the end is among the last ones shown.
    expect(lines[9]).toBe("   12.0 s  mode normal → halted (repeatedTrips)");
  });

  it("refuses bad arguments with exit code 2 and an unwritable output with 1", async () => {
    let text = "";
    const output = {
      write: (t: string) => {
        text += t;
      },
      isTTY: false,
    };
    expect(await runDemo(["--seconds", "abc"], output)).toBe(2);
    expect(text).toMatch(/--seconds must be/);
    expect(await runDemo(["--fast", "--out", join(dir, "missing", "x.jsonl")], output)).toBe(1);
    expect(text).toMatch(/cannot write/);
  });

  it("shows elapsed time, objective vs baseline, knobs, generation, mode and digests in the progress line", async () => {
    let progress: SessionProgress | undefined;
    await runTuningSession({
      durationMs: 4000,
      scheduler: virtualClock(),
      onProgress: (p) => {
        progress = p;
      },
    });
    const line = describeProgress(progress!);
    expect(line).toMatch(/^ {2}4\.0 s {2}cost \d+\.\d\d ms vs baseline \d+\.\d\d \([+−]\d+\.\d %\)/);
    expect(line).toMatch(/batchSize \d+\.\d {2}timeoutMs \d+\.\d/);
    expect(line).toContain(`gen ${progress!.snapshot.generation}`);
    expect(line).toContain(`mode ${progress!.mode}`);
    expect(line).toContain("digests 200 ok 0 rejected");
  });
});

describe("http-service helpers", () => {
  it("dithers a fractional batch size into whole sizes with that average", () => {
    const sizes = new DitheredSize();
    const drawn = Array.from({ length: 1000 }, () => sizes.next(5.3));
    expect(new Set(drawn)).toEqual(new Set([5, 6]));
    expect(drawn.reduce((s, x) => s + x, 0) / drawn.length).toBeCloseTo(5.3, 2);
    expect(new DitheredSize().next(0.2)).toBe(1);
  });

  it("reports an arrival period once it has ended and every request answered, dropping mixed ones", () => {
    const periods = new ArrivalPeriods(100, 0);
    const a = periods.arrive(10, 4);
    const b = periods.arrive(60, 4);
    const c = periods.arrive(120, 4);
    expect(periods.takeReady(150)).toEqual([]); // period 0 still has requests in flight
    periods.complete(a, 30, 4);
    periods.complete(b, 10, 4);
    expect(periods.takeReady(99)).toEqual([]); // period 0 has not ended
    expect(periods.takeReady(150)).toEqual([{ p50: 10, mean: 20, generation: 4, count: 2 }]);
    periods.complete(c, 50, 5); // answered after a change: measured two settings
    const d = periods.arrive(210, 5);
    periods.complete(d, 5, 5);
    expect(periods.takeReady(320)).toEqual([{ p50: 5, mean: 5, generation: 5, count: 1 }]);
    expect(periods.mixed).toBe(1);
  });

  it("sends the stated rate however late the load generator's ticks come", () => {
    // Node's 5 ms interval runs late under load; the arrivals owed for the time that really
    // passed must still be sent, or "500 requests/s" silently becomes fewer.
    const spanMs = 20_000;
    /** Arrivals released at each tick, the ticks `gap()` ms apart up to the end of the span. */
    const released = (gap: () => number) => {
      const arrivals = new PoissonArrivals(500, Prng.fromSeed(3), 0);
      const counts: number[] = [];
      for (let t = 0; t < spanMs; ) {
        t = Math.min(spanMs, t + gap());
        counts.push(arrivals.due(t));
      }
      return counts;
    };
    const sum = (counts: readonly number[]) => counts.reduce((s, n) => s + n, 0);
    const onTime = released(() => 5);
    const jitter = Prng.fromSeed(9);
    const late = released(() => 5 + 4 * jitter.next());
    expect(late.length).toBeLessThan(0.75 * onTime.length);
    expect(Math.abs(sum(onTime) / (spanMs / 1000) - 500)).toBeLessThan(15);
    // Seeded arrival times: the same requests whatever the ticks, only released later or sooner.
    expect(sum(late)).toBe(sum(onTime));
    expect(sum(released(() => 1000))).toBe(sum(onTime));
    // Poisson: the count per 100 ms (20 ticks) has a variance close to its mean (50).
    const perWindow = Array.from({ length: onTime.length / 20 }, (_, i) =>
      sum(onTime.slice(20 * i, 20 * i + 20)),
    );
    const mean = sum(perWindow) / perWindow.length;
    const variance = perWindow.reduce((s, n) => s + (n - mean) ** 2, 0) / (perWindow.length - 1);
    expect(variance / mean).toBeGreaterThan(0.75);
    expect(variance / mean).toBeLessThan(1.25);
  });

  it("computes mean, median and p99 by nearest rank", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(latencyStats(values)).toEqual({ count: 100, mean: 50.5, p50: 50, p99: 99 });
    expect(Number.isNaN(latencyStats([]).mean)).toBe(true);
  });
});
