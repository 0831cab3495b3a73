import { describe, expect, it } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import { createEngine } from "../src/engine/engine.js";
import { ConfigError } from "../src/errors.js";
import { Prng } from "../src/random/prng.js";
import { digestOf, type EngineRig, engineRig, eventsOfType } from "./support/engine-harness.js";

/** One knob on [0, 10] starting at 5; maxDelta is 1 (10 % of the range). */
const ONE = { x: { min: 0, max: 10, init: 5 } } as const satisfies EngineConfig["params"];

/** Windows of five digests (100 ms apart) and a short SafeMode dwell, as in the other drills. */
const DRILL = {
  params: ONE,
  window: { digests: 5, ms: 500 },
  safety: { safeMode: { dwellMs: 1000, healthyWindows: 2 } },
} as const satisfies Omit<EngineConfig, "seed">;

/** A plant: the objective measured at live value `x`; it may keep state across digests. */
type Plant = (x: number) => number;

/** Feeds `count` digests of `plant`, one every 100 ms; returns the objectives measured. */
function feed(rig: EngineRig, count: number, plant: Plant): number[] {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) {
    rig.clock.advanceBy(100);
    const objective = plant(rig.engine.values[0]!);
    seen.push(objective);
    rig.engine.observe(digestOf(rig.engine, objective));
  }
  return seen;
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** The bowl 15 + (x − 3)² plus a level shift the test sets (`shift(1000)`), with noise σ 0.05. */
function shiftingBowl(noiseSeed: number): { plant: Plant; shift: (level: number) => void } {
  const noise = Prng.fromSeed(noiseSeed, 1);
  let level = 0;
  return {
    plant: (x) => 15 + (x - 3) ** 2 + level + 0.05 * noise.normal(),
    shift: (to) => {
      level = to;
    },
  };
}

/**
 * Drill 1, a regression with a delay: the level is 15 + (x − 3)², about 19 at the start, so the
 * tuner walks toward 3. But below x = 4 the system breaks after a while: once the live value has
 * spent `delay` digests (15: three windows) below 4 since it was last at 4.5 or more, the
 * objective is 1000 higher, until x is back at 4.5 or more (a rollback to 5 cures it).
 */
function delayedCliff(seed: number, delay = 15): Plant {
  const noise = Prng.fromSeed(seed, 1);
  let below = 0;
  return (x) => {
    if (x >= 4.5) below = 0;
    else if (x < 4) below++;
    return 15 + (x - 3) ** 2 + (below >= delay ? 1000 : 0) + 0.05 * noise.normal();
  };
}

/**
 * Drill 2, a slow divergence: the level is 10 + (x − 3)² (14 at the start), but every digest spent
 * below x = 4.5 adds 0.5 · (4.5 − x) to a debt that shows in the objective and drains (10 % a
 * digest) only while x is at 4.5 or more. The tuner's measured gradient keeps pointing at 3 while
 * the objective creeps up window after window.
 */
function creepingDebt(seed: number): Plant {
  const noise = Prng.fromSeed(seed, 1);
  let debt = 0;
  return (x) => {
    if (x < 4.5) debt += 0.5 * (4.5 - x);
    else debt *= 0.9;
    return 10 + (x - 3) ** 2 + debt + 0.05 * noise.normal();
  };
}

describe("regressions the tuner causes are rolled back to the known-good configuration", () => {
  it("a regression that appears three windows after the move is blamed and rolled back, not absorbed", () => {
    const rig = engineRig({ seed: 1, ...DRILL });
    const { engine } = rig;
    const plant = delayedCliff(3);
    const seen = feed(rig, 3000, plant);
    engine.flushEvents();
    const rollbacks = eventsOfType(rig.events, "rollback");
    // The tuner did walk below 4 and the regression did show up …
    expect(seen.some((v) => v > 500)).toBe(true);
    // … and it was blamed: rolled back to the baseline (never absorbed as a shift of the plant).
    expect(rollbacks.length).toBeGreaterThanOrEqual(1);
    for (const rollback of rollbacks) {
      expect(rollback.note).toMatch(/^instability governor: (spike|divergence)$/);
      expect(rollback.values).toEqual({ x: 5 });
    }
    expect(engine.snapshot().spikesAbsorbed).toBe(0);
    // Each episode is short: at most a window's worth of broken digests before the rollback.
    const broken = seen.filter((v) => v > 500).length;
    expect(broken).toBeLessThanOrEqual(5 * rollbacks.length);
    // It ends at the known-good configuration, at the known-good level, not at ≈1000 in normal.
    expect(engine.values[0]).toBe(5);
    expect(mean(seen.slice(-100))).toBeLessThan(25);
  });

  it("a slow divergence is caught against the known-good level, and does not recur unchecked", () => {
    const rig = engineRig({ seed: 2, ...DRILL });
    const { engine } = rig;
    const plant = creepingDebt(4);
    const seen = feed(rig, 4000, plant);
    engine.flushEvents();
    const rollbacks = eventsOfType(rig.events, "rollback");
    expect(rollbacks.length).toBeGreaterThanOrEqual(1);
    for (const rollback of rollbacks) expect(rollback.values).toEqual({ x: 5 });
    expect(rollbacks.some((r) => r.note === "instability governor: divergence")).toBe(true);
    expect(engine.snapshot().spikesAbsorbed).toBe(0);
    // Never far above the known-good level (14): the old rules let it creep to 176 against 10.
    expect(Math.max(...seen)).toBeLessThan(60);
    // Repeated caused regressions end in a halt at the baseline; the debt drains there.
    expect(engine.mode).toBe("halted");
    expect(engine.snapshot().reasons).toContain("repeatedTrips");
    expect(engine.values[0]).toBe(5);
    expect(mean(seen.slice(-100))).toBeLessThan(16);
  });
});

describe("a regression the tuner did not cause is not rolled back", () => {
  it("a level shift of the plant while the configuration stays put is absorbed, not rolled back", () => {
    const rig = engineRig({ seed: 5, ...DRILL });
    const { engine } = rig;
    const { plant, shift } = shiftingBowl(9);
    // Long enough for the tuner to settle near the optimum at 3.
    feed(rig, 1500, plant);
    const settled = engine.snapshot().centre.x!;
    expect(Math.abs(settled - 3)).toBeLessThan(0.3);
    const mark = rig.events.length;
    shift(1000);
    feed(rig, 1000, plant);
    engine.flushEvents();
    const after = rig.events.slice(mark);
    expect(eventsOfType(after, "rollback")).toHaveLength(0);
    expect(engine.snapshot().spikesAbsorbed).toBeGreaterThanOrEqual(1);
    expect(engine.mode).toBe("normal");
    // The configuration stayed put: the shift is the plant's, and the tuner stays at the optimum.
    expect(Math.abs(engine.snapshot().centre.x! - 3)).toBeLessThan(0.3);
  });

  it("a moderate level step of the plant (a divergence, not a spike) at rest is absorbed, not rolled back", () => {
    const rig = engineRig({ seed: 6, ...DRILL });
    const { engine } = rig;
    const noise = Prng.fromSeed(10, 1);
    let step = 0;
    const plant: Plant = (x) => 15 + (x - 3) ** 2 + step + 0.05 * noise.normal();
    feed(rig, 1500, plant);
    expect(Math.abs(engine.snapshot().centre.x! - 3)).toBeLessThan(0.3);
    const mark = rig.events.length;
    // 15 → 35: more than the divergence margin above the known-good level (19, measured at x = 5),
    // but under three times the clean mean, so the divergence rule finds it, not the spike rule.
    step = 20;
    const seen = feed(rig, 1000, plant);
    engine.flushEvents();
    const after = rig.events.slice(mark);
    expect(eventsOfType(after, "rollback")).toHaveLength(0);
    expect(engine.snapshot().spikesAbsorbed).toBe(1);
    expect(engine.mode).toBe("normal");
    expect(mean(seen.slice(-100))).toBeLessThan(36);
  });
});

describe("the known-good point is the probe: a shift while the tuner moves is rolled back once, then absorbed", () => {
  it("a level shift landing mid-move is rolled back once, persists at the known-good point, is absorbed, and the tuner resumes", () => {
    const rig = engineRig({ seed: 7, ...DRILL });
    const { engine } = rig;
    const { plant, shift } = shiftingBowl(11);
    // 35 digests in, the tuner is walking from 5 to 3 (well away from its known-good point; the
    // curvature-bounded calibration steps cover the way in about 50).
    feed(rig, 35, plant);
    const moving = engine.snapshot().centre.x!;
    expect(moving).toBeLessThan(4);
    expect(moving).toBeGreaterThan(3.1);
    shift(1000);
    const seen = feed(rig, 1350, plant);
    engine.flushEvents();
    // Indistinguishable from the tuner's doing where it stands: judged caused and rolled back …
    const shifts = eventsOfType(rig.events, "regime.shift");
    expect(shifts.map((e) => e.verdict)).toEqual(["caused"]);
    const rollbacks = eventsOfType(rig.events, "rollback");
    expect(rollbacks).toHaveLength(1);
    expect(rollbacks[0]!.note).toMatch(/^instability governor: (spike|divergence)$/);
    expect(rollbacks[0]!.values).toEqual({ x: 5 });
    // … but at the known-good configuration the objective stays up: the plant's, absorbed once.
    expect(engine.snapshot().spikesAbsorbed).toBe(1);
    expect(engine.mode).toBe("normal");
    // The tuner resumed from the known-good point and found the optimum again, at the new level.
    expect(Math.abs(engine.snapshot().centre.x! - 3)).toBeLessThan(0.3);
    expect(mean(seen.slice(-100))).toBeGreaterThan(1010);
    expect(mean(seen.slice(-100))).toBeLessThan(1020);
  });
});

describe("a trip taken back takes its SafeMode with it", () => {
  it("with the default 30 s dwell, the engine is back in normal when the probe ends, not a minute later", () => {
    // The mid-move shift above, with SafeMode's own defaults: the trip froze the engine, and the
    // probe (divergenceWindows windows at the baseline) finds the rise the plant's.
    const rig = engineRig({ seed: 7, params: ONE, window: DRILL.window });
    const { engine } = rig;
    const { plant, shift } = shiftingBowl(11);
    feed(rig, 35, plant);
    shift(1000);
    feed(rig, 1350, plant);
    engine.flushEvents();
    expect(eventsOfType(rig.events, "rollback")).toHaveLength(1);
    expect(engine.snapshot().spikesAbsorbed).toBe(1);
    const modes = eventsOfType(rig.events, "mode.changed");
    expect(modes.map((e) => `${e.from}>${e.to}`)).toEqual(["normal>frozen", "frozen>normal"]);
    // Six windows of 500 ms at most: the probe's five and the one that tripped.
    expect(modes[1]!.time - modes[0]!.time).toBeLessThanOrEqual(6 * 500);
    expect(modes[1]!.note).toMatch(/^trip taken back: (spike|divergence)$/);
    expect(Math.abs(engine.snapshot().centre.x! - 3)).toBeLessThan(0.3);
  });
});

describe("a crash is not a level the probe can judge", () => {
  it("a trip on non-finite objectives keeps its dwell, even when the service comes back cold at the baseline", () => {
    // The service crashes (NaN) below x = 4.2, and after a crash it comes back cold: 100 higher
    // for 60 digests, at the baseline too, which to the probe looks like a shift of the plant.
    const rig = engineRig({ seed: 7, params: ONE, window: DRILL.window });
    const { engine } = rig;
    const noise = Prng.fromSeed(11, 1);
    let coldUntil = -1;
    // 30 s of digests: the trip comes at about 2 s, so its dwell outlasts the run.
    for (let t = 0; t < 300; t++) {
      rig.clock.advanceBy(100);
      const x = engine.values[0]!;
      let objective = Number.NaN;
      if (x < 4.2) coldUntil = t + 60;
      else objective = 15 + (x - 3) ** 2 + (t < coldUntil ? 100 : 0) + 0.05 * noise.normal();
      engine.observe(digestOf(engine, objective));
    }
    engine.flushEvents();
    const modes = eventsOfType(rig.events, "mode.changed");
    expect(modes[0]!.reasons).toEqual(["nonFiniteObjective"]);
    // Frozen for the 30 s dwell, then conservative: never taken back.
    expect(modes.map((e) => `${e.from}>${e.to}`)).toEqual(["normal>frozen"]);
    expect(modes.some((e) => e.note?.startsWith("trip taken back") === true)).toBe(false);
    expect(engine.mode).toBe("frozen");
  });
});

describe("a trip during the probe", () => {
  it("keeps the probe's question and its way back: the tuner walks back to where the first trip found it", () => {
    // The mid-move shift, and a burst of NaNs right after the probe's rollback (a second trip, at
    // the baseline). The NaN fault is live, so SafeMode keeps its dwell; the probe still ends
    // innocent, and the walk back heads for the tuner's point before the shift, not the baseline.
    const rig = engineRig({ seed: 7, ...DRILL });
    const { engine } = rig;
    const { plant, shift } = shiftingBowl(11);
    feed(rig, 35, plant);
    const before = engine.snapshot().centre.x!;
    shift(1000);
    let burst = false;
    for (let i = 0; i < 1350; i++) {
      rig.clock.advanceBy(100);
      engine.flushEvents();
      if (!burst && eventsOfType(rig.events, "rollback").length > 0) {
        burst = true;
        for (let k = 0; k < 3; k++) {
          engine.observe(digestOf(engine, Number.NaN));
          rig.clock.advanceBy(100);
        }
      }
      engine.observe(digestOf(engine, plant(engine.values[0]!)));
    }
    engine.flushEvents();
    const rollbacks = eventsOfType(rig.events, "rollback");
    expect(rollbacks.map((r) => r.note)).toEqual([
      expect.stringMatching(/^instability governor: (spike|divergence)$/),
      "instability governor: nonFiniteObjective",
    ]);
    expect(engine.snapshot().spikesAbsorbed).toBe(1);
    const after = rig.events.slice(rig.events.indexOf(rollbacks[1]!));
    const centres = eventsOfType(after, "apply")
      .filter((e) => e.kind === "centre")
      .map((e) => e.values!.x!);
    // The first centre moves walk from the baseline (5) to the point before the shift.
    expect(Math.min(...centres.slice(0, 3))).toBeLessThan(before + 0.1);
    expect(engine.mode).toBe("normal");
  });
});

describe("the defaults catch a delayed regression", () => {
  it("with the default one-digest windows, a regression 12 digests after the move is rolled back on almost every seed", () => {
    // Drill 1 with a 12-digest delay and nothing but the knob configured, over ten seeds. Followed
    // as the plant's means the broken level became the normal (mean cost near 1000 against 19).
    const followed = (governor: { blameWindows?: number }) => {
      let count = 0;
      for (let seed = 1; seed <= 10; seed++) {
        const rig = engineRig({ seed, params: ONE, safety: { governor } });
        const seen = feed(rig, 3000, delayedCliff(seed + 10, 12));
        rig.engine.flushEvents();
        if (mean(seen) > 500) count++;
        else expect(rig.engine.values[0]).toBe(5); // rolled back to the baseline, and halted there
      }
      return count;
    };
    // The default horizon (12 windows) covers the delay; a regression the regime detector judges
    // exogenous on the way back still escapes, on one seed of these ten.
    expect(followed({})).toBeLessThanOrEqual(1);
    // The old default, 8 windows, let it become the normal on several.
    expect(followed({ blameWindows: 8 })).toBeGreaterThanOrEqual(4);
  });
});

describe("blame horizon option", () => {
  it("rejects a blame horizon that is not a whole number of windows, naming the field", () => {
    for (const blameWindows of [0, 1.5, -1, Number.NaN]) {
      let error: unknown;
      try {
        createEngine({ seed: 1, params: ONE, safety: { governor: { blameWindows } } });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const issues = (error as ConfigError).issues;
      expect(issues.map((i) => i.path)).toEqual(["safety.governor.blameWindows"]);
      expect(issues[0]!.message).toMatch(/whole number/);
    }
  });
});
