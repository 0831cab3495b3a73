import { describe, expect, it } from "vitest";
import type { DigestAcceptedEvent, RollbackEvent, WindowClosedEvent } from "../src/audit/events.js";
import type { EngineConfig } from "../src/engine/config.js";
import { createLoggedEngine } from "../src/log/engine-log.js";
import { Prng } from "../src/random/prng.js";
import { explain } from "../src/replay/explain.js";
import { readReplayLog } from "../src/replay/read-log.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { digestOf, engineRig, eventsOfType } from "./support/engine-harness.js";
import { tempLogDirs } from "./support/log-dir.js";

const logDir = tempLogDirs();

/** The delayed-cliff drill of test/regression-blame-drills.test.ts, with windows that take the mean. */
const DRILL = {
  params: { x: { min: 0, max: 10, init: 5 } },
  window: { digests: 5, ms: 500, aggregation: "mean" },
  safety: { safeMode: { dwellMs: 1000, healthyWindows: 2 } },
} as const satisfies Omit<EngineConfig, "seed">;

/** 15 + (x − 3)², and 1000 more once x has spent 15 digests below 4 (until it is back at 4.5). */
function delayedCliff(seed: number): (x: number) => number {
  const noise = Prng.fromSeed(seed, 1);
  let below = 0;
  return (x) => {
    if (x >= 4.5) below = 0;
    else if (x < 4) below++;
    return 15 + (x - 3) ** 2 + (below >= 15 ? 1000 : 0) + 0.05 * noise.normal();
  };
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

describe("a digest that makes the engine roll back feeds no window of the restored point", () => {
  it("after a spike rollback, the next window holds only digests of the new generation, and explain lists them all", async () => {
    const dir = logDir();
    const clock = new ReplayClock(1000);
    const logged = createLoggedEngine({ seed: 1, ...DRILL, scheduler: clock }, { dir, flushMs: 5 });
    const { engine } = logged;
    const plant = delayedCliff(3);
    for (let t = 1100; t <= 81_000; t += 100) {
      clock.advanceTo(t);
      engine.observe(digestOf(engine, plant(engine.values[0]!)));
    }
    await logged.close();
    const { events } = readReplayLog(dir).runs[0]!;
    const rollback = events.find((e): e is RollbackEvent => e.type === "rollback");
    expect(rollback?.note).toBe("instability governor: spike");
    const restored = rollback!.generation;
    const from = events.indexOf(rollback!);
    const close = events.findIndex((e, i) => i > from && e.type === "window.closed");
    const window = events[close] as WindowClosedEvent;
    expect(window.generation).toBe(restored);
    // Every value the window holds was measured at the restored point, after the rollback.
    const measured = events
      .slice(0, close)
      .filter(
        (e): e is DigestAcceptedEvent => e.type === "digest.accepted" && e.digestGeneration === restored,
      );
    expect(window.count).toBe(measured.length);
    expect(window.value).toBeCloseTo(mean(measured.map((d) => d.objective)), 9);
    expect(window.value).toBeLessThan(25);
    // The windows explain gives for the generation that followed hold as many digests as they count.
    const why = explain(dir, restored + 1);
    expect(why.windows.length).toBeGreaterThan(0);
    for (const w of why.windows) {
      expect(w.generation).toBe(restored);
      expect(w.digests).toHaveLength(w.window.count);
      expect(w.window.value).toBeCloseTo(mean(w.digests.map((d) => d.objective)), 9);
    }
  });

  it("the digest that triggered a spike rollback is counted unused", () => {
    const rig = engineRig({ seed: 1, ...DRILL });
    const { engine } = rig;
    const plant = delayedCliff(3);
    let rolledBack = false;
    for (let i = 0; i < 800 && !rolledBack; i++) {
      rig.clock.advanceBy(100);
      const before = engine.snapshot().digests;
      const generation = engine.generation;
      engine.observe(digestOf(engine, plant(engine.values[0]!)));
      engine.flushEvents();
      if (eventsOfType(rig.events, "rollback").length === 0) continue;
      rolledBack = true;
      expect(engine.generation).not.toBe(generation);
      const after = engine.snapshot().digests;
      expect(after.accepted - before.accepted).toBe(1);
      expect(after.unused - before.unused).toBe(1);
    }
    expect(rolledBack).toBe(true);
  });

  it("after a constraint-emergency rollback, the margin that caused it is not in the baseline's window", () => {
    const rig = engineRig({ seed: 1, ...DRILL });
    const { engine } = rig;
    const plant = delayedCliff(3);
    for (let i = 0; i < 12; i++) {
      rig.clock.advanceBy(100);
      engine.observe(digestOf(engine, plant(engine.values[0]!), { constraintMargin: 1 }));
    }
    expect(engine.values[0]).not.toBe(5);
    const unused = engine.snapshot().digests.unused;
    rig.clock.advanceBy(100);
    engine.observe(digestOf(engine, 20, { constraintMargin: -1000 }));
    engine.flushEvents();
    const [rollback] = eventsOfType(rig.events, "rollback");
    expect(rollback?.reason).toBe("constraint-breach");
    expect(engine.values[0]).toBe(5);
    expect(engine.snapshot().digests.unused).toBe(unused + 1);
    // Still violated at the baseline (margin −0.25): its window measures the margin, 0.25, and
    // holds only the four digests taken there before its time limit, never the −(−1000).
    const mark = rig.events.length;
    for (let i = 0; i < 5; i++) {
      rig.clock.advanceBy(100);
      engine.observe(digestOf(engine, 20, { constraintMargin: -0.25 }));
    }
    engine.flushEvents();
    const windows = eventsOfType(rig.events.slice(mark), "window.closed");
    expect(windows.length).toBeGreaterThan(0);
    expect(windows[0]).toMatchObject({
      generation: rollback!.generation,
      count: 4,
      value: 0.25,
      timedOut: true,
    });
  });
});
