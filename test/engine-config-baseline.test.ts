import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { MeasuredBaselineTracker } from "../src/dashboard/measured-baseline.js";
import type { EngineConfig } from "../src/engine/config.js";
import { createEngine, type Engine } from "../src/engine/engine.js";
import { ConfigError } from "../src/errors.js";
import { monitorEngine } from "../src/monitor/monitor-engine.js";
import { checkTrailOffline } from "../src/monitor/offline-check.js";
import { safetySpecOf } from "../src/monitor/safety-spec.js";
import { Prng } from "../src/random/prng.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";

// A parameter's `baseline` is a known-good value the engine does not start at: an engine that
// resumes from tuned values (a fleet's new leader) rolls back to the baseline an operator set
// before, not to where it resumed.

/** batchSize on [1, 128], resumed at 60 with the known-good 32; one digest per window. */
function config(clock: ReplayClock, baseline: number | "left out" = 32): EngineConfig {
  return {
    seed: 5,
    params: {
      batchSize: {
        min: 1,
        max: 128,
        init: 60,
        maxDelta: 8,
        ...(baseline === "left out" ? {} : { baseline }),
      },
    },
    scheduler: clock,
  };
}

/** Cost of a batch size: least at 60, and 32 runs worse than 60 (16.7 against 5). */
const cost = (b: number): number => 5 + (b - 60) ** 2 / 67;

function drive(engine: Engine, clock: ReplayClock, digests: number, noise: Prng): void {
  for (let i = 0; i < digests; i++) {
    clock.advanceTo(clock.now() + 100);
    const b = engine.values[0]!;
    engine.observe({
      objective: cost(b) * (1 + 0.02 * (2 * noise.next() - 1)),
      generation: engine.generation,
    });
  }
}

describe("a parameter's baseline", () => {
  it("is where a rollback returns, recorded with the baseline's values, and a monitor agrees", () => {
    const clock = new ReplayClock(1_000);
    const c = config(clock);
    const engine = createEngine(c);
    const events: AuditEvent[] = [];
    engine.events.subscribe((event) => events.push(event));
    const watch = monitorEngine(engine, c);
    expect(engine.values[0]).toBe(60);
    drive(engine, clock, 40, Prng.fromSeed(1, 1));
    expect(engine.rollback("operator check")).toBe(true);
    expect(engine.values[0]).toBe(32);
    engine.flushEvents();
    expect(events.find((e) => e.type === "baseline.set")).toMatchObject({
      generation: 0,
      values: { batchSize: 32 },
    });
    expect(events.findLast((e) => e.type === "rollback")).toMatchObject({ values: { batchSize: 32 } });
    // The live monitor and the offline check both take the recorded values as the baseline.
    expect(watch.report().violations).toEqual([]);
    expect(checkTrailOffline(safetySpecOf(c), events)).toEqual({});
    void engine.close();
  });

  it("equal to init, or left out, records no values (the log of such an engine is as before)", () => {
    for (const baseline of [60, "left out"] as const) {
      const clock = new ReplayClock(1_000);
      const engine = createEngine(config(clock, baseline));
      const events: AuditEvent[] = [];
      engine.events.subscribe((event) => events.push(event));
      drive(engine, clock, 10, Prng.fromSeed(1, 1));
      expect(engine.rollback()).toBe(true);
      engine.flushEvents();
      expect(events.find((e) => e.type === "baseline.set")).not.toHaveProperty("values");
      expect(engine.values[0]).toBe(60);
      void engine.close();
    }
  });

  it("is measured afresh at the first rollback there: a known-good point that runs worse is no divergence", () => {
    const clock = new ReplayClock(1_000);
    const engine = createEngine(config(clock));
    const noise = Prng.fromSeed(2, 1);
    const events: AuditEvent[] = [];
    engine.events.subscribe((event) => events.push(event));
    drive(engine, clock, 60, noise);
    expect(engine.rollback("back to the fleet's baseline")).toBe(true);
    drive(engine, clock, 400, noise);
    engine.flushEvents();
    // Judged against the level measured at 60, the windows at 32 diverged, and the rise was taken
    // for the plant's (a shift absorbed, counted in spikesAbsorbed). Measured there, nothing rose.
    expect(events.filter((e) => e.type === "rollback").map((e) => e.reason)).toEqual(["manual"]);
    expect(engine.snapshot().spikesAbsorbed).toBe(0);
    expect(engine.snapshot().mode).toBe("normal");
    expect(engine.values[0]).toBeGreaterThan(48);
    void engine.close();
  });

  it("keeps a trip whose rollback went there: a worse level at it says nothing of the trip", () => {
    // The optimum (85) lies past a cliff at 74: a perturbation over the edge trips the governor,
    // which rolls back to 32. Compared with the level the engine measured near 74, 32 runs worse;
    // read as the regression persisting at a known-good point, the trip was taken back at once,
    // as the plant's, and the engine walked back to the cliff.
    const clock = new ReplayClock(1_000);
    const engine = createEngine({ ...config(clock), seed: 3 });
    const events: AuditEvent[] = [];
    engine.events.subscribe((event) => events.push(event));
    const noise = Prng.fromSeed(3, 9);
    const cliff = (b: number) => (5 + (b - 85) ** 2 / 67) * (b > 74 ? 20 : 1);
    for (let i = 0; i < 1_000 && !events.some((e) => e.type === "rollback"); i++) {
      clock.advanceTo(clock.now() + 100);
      const b = engine.values[0]!;
      engine.observe({
        objective: cliff(b) * (1 + 0.02 * (2 * noise.next() - 1)),
        generation: engine.generation,
      });
      engine.flushEvents();
    }
    expect(events.findLast((e) => e.type === "rollback")).toMatchObject({
      reason: "regression",
      values: { batchSize: 32 },
    });
    for (let i = 0; i < 50; i++) {
      clock.advanceTo(clock.now() + 100);
      engine.observe({
        objective: cliff(engine.values[0]!) * (1 + 0.02 * (2 * noise.next() - 1)),
        generation: engine.generation,
      });
    }
    engine.flushEvents();
    expect(events.filter((e) => e.type === "mode.changed" && e.note?.startsWith("trip taken back"))).toEqual(
      [],
    );
    expect(engine.snapshot().mode).toBe("frozen");
    void engine.close();
  });

  it("on the dashboard, is measured by the windows at the baseline's values, not at the start's", () => {
    const clock = new ReplayClock(1_000);
    const engine = createEngine(config(clock));
    const tracker = new MeasuredBaselineTracker();
    engine.events.subscribe((event) => tracker.addEvent(event));
    const noise = Prng.fromSeed(1, 1);
    drive(engine, clock, 30, noise);
    engine.flushEvents();
    // Windows at 60 (cost about 5) are not the baseline's.
    expect(tracker.current()).toBeNull();
    engine.rollback("to the baseline");
    drive(engine, clock, 1, noise);
    engine.flushEvents();
    expect(tracker.current()).toMatchObject({ windows: 1 });
    expect(tracker.current()!.value).toBeGreaterThan(15);
    void engine.close();
  });

  it("outside the range, or not a number, is a ConfigError naming the field", () => {
    const clock = new ReplayClock(1_000);
    expect(() => createEngine(config(clock, 200))).toThrow(ConfigError);
    expect(() => createEngine(config(clock, 200))).toThrow(
      /params\.batchSize\.baseline: must lie within \[1, 128\], got 200/,
    );
    expect(() => createEngine(config(clock, Number.NaN))).toThrow(/params\.batchSize\.baseline/);
    expect(() =>
      createEngine({
        ...config(clock),
        params: { batchSize: { min: 1, max: 128, baseline: "32" as unknown as number } },
      }),
    ).toThrow(/params\.batchSize\.baseline/);
  });
});
