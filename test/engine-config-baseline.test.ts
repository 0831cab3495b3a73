import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { MeasuredBaselineTracker } from "../src/dashboard/measured-baseline.js";
import type { EngineConfig } from "../src/engine/config.js";
import { createEngine, type Engine } from "../src/engine/engine.js";
import { ConfigError } from "../src/errors.js";
import { createLoggedEngine } from "../src/log/engine-log.js";
import { monitorEngine } from "../src/monitor/monitor-engine.js";
import { checkTrailOffline } from "../src/monitor/offline-check.js";
import { safetySpecOf } from "../src/monitor/safety-spec.js";
import { Prng } from "../src/random/prng.js";
import { replay } from "../src/replay/replay.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { tempLogDirs } from "./support/log-dir.js";

// A parameter's `baseline` is a known-good value the engine does not start at: an engine that
// resumes from tuned values (a fleet's new leader) rolls back to the baseline an operator set
// before, not to where it resumed.

const newLogDir = tempLogDirs();

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

  it("after a rollback by hand to it, tunes on from there though it runs worse than the start", () => {
    const clock = new ReplayClock(1_000);
    const engine = createEngine(config(clock));
    const noise = Prng.fromSeed(2, 1);
    const events: AuditEvent[] = [];
    engine.events.subscribe((event) => events.push(event));
    drive(engine, clock, 60, noise);
    expect(engine.rollback("back to the fleet's baseline")).toBe(true);
    drive(engine, clock, 400, noise);
    engine.flushEvents();
    // The level SafeMode judges by was measured at 60: the rise at 32 is taken for the plant's
    // (the tuner stands at its known-good point), followed, and tuned away.
    expect(events.filter((e) => e.type === "rollback").map((e) => e.reason)).toEqual(["manual"]);
    expect(engine.snapshot().mode).toBe("normal");
    expect(engine.values[0]).toBeGreaterThan(48);
    void engine.close();
  });

  it.each([1, 2, 3])("halts a tuning that runs up a debt, as a measured baseline does (seed %i)", (seed) => {
    // Past b = 74 a cost builds up that takes a while to drain. After the first trip's rollback the
    // windows at the baseline still carry it: a level measured there then would be the debt's, and
    // the engine would walk back past 74 for good. Judged by the level measured at the start, the
    // trips repeat and halt the engine, as they do when the baseline is where it started.
    for (const baseline of [50, 60]) {
      const clock = new ReplayClock(1_000);
      const engine = createEngine({ ...config(clock, baseline), seed });
      const noise = Prng.fromSeed(seed, 9);
      let debt = 0;
      let pastAfterHalt = 0;
      for (let i = 0; i < 6_000; i++) {
        clock.advanceTo(clock.now() + 100);
        const b = engine.values[0]!;
        debt = b > 74 ? Math.min(30, debt + 0.3) : debt * 0.93;
        if (b > 74 && engine.mode === "halted") pastAfterHalt++;
        const objective = (5 + (b - 85) ** 2 / 67 + debt) * (1 + 0.02 * (2 * noise.next() - 1));
        engine.observe({ objective, generation: engine.generation });
      }
      expect(engine.snapshot().reasons).toContain("repeatedTrips");
      expect(engine.values[0]).toBe(baseline);
      expect(pastAfterHalt).toBe(0);
      void engine.close();
    }
  });

  it("is in the snapshot", () => {
    const engine = createEngine(config(new ReplayClock(1_000)));
    expect(engine.snapshot()).toMatchObject({
      generation: 0,
      values: { batchSize: 60 },
      baselineGeneration: 0,
      baseline: { batchSize: 32 },
    });
    void engine.close();
  });

  it.each([
    ["from the engine's start", false],
    // After the creation's baseline.set was delivered, as a dashboard of a fleet's new leader is:
    // what it knows is the snapshot, whose generation 0 runs 60, not the baseline.
    ["later, from its snapshot", true],
  ] as const)(
    "on a dashboard attached %s, is measured by the windows at its values, not the start's",
    (_case, late) => {
      const clock = new ReplayClock(1_000);
      const engine = createEngine(config(clock));
      const tracker = new MeasuredBaselineTracker();
      if (late) {
        engine.flushEvents();
        const snapshot = engine.snapshot();
        tracker.noteBaselineGeneration(snapshot.baselineGeneration, snapshot.baseline);
        tracker.noteValues(snapshot.generation, snapshot.values);
      }
      engine.events.subscribe((event) => tracker.addEvent(event));
      const noise = Prng.fromSeed(1, 2);
      drive(engine, clock, 20, noise);
      engine.flushEvents();
      // Windows at 60 (cost about 5) are not the baseline's.
      expect(tracker.current()).toBeNull();
      engine.rollback("to the baseline");
      drive(engine, clock, 1, noise);
      engine.flushEvents();
      expect(tracker.current()).toMatchObject({ windows: 1 });
      expect(tracker.current()!.value).toBeGreaterThan(15);
      void engine.close();
    },
  );

  it("is logged with the engine's config: a logged run with it replays bit for bit", async () => {
    const dir = newLogDir();
    const clock = new ReplayClock(1_000);
    const logged = createLoggedEngine(config(clock), { dir });
    const noise = Prng.fromSeed(4, 1);
    drive(logged.engine, clock, 40, noise);
    expect(logged.engine.rollback("operator check")).toBe(true);
    drive(logged.engine, clock, 40, noise);
    await logged.close();
    expect((await replay(dir)).ok).toBe(true);
    // Replayed with another baseline, it differs from the first record on.
    const other = await replay(dir, {
      override: { params: { batchSize: { baseline: 40 } } } as unknown as Partial<EngineConfig>,
    });
    expect(other.ok).toBe(false);
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
