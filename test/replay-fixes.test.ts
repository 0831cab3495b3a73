import type { SchedulerLike } from "rxjs";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import type { EngineConfig } from "../src/engine/config.js";
import { createEngine, type Engine } from "../src/engine/engine.js";
import { createLoggedEngine } from "../src/log/engine-log.js";
import { firstDifference } from "../src/replay/compare.js";
import { digestToReplay } from "../src/replay/digest-input.js";
import { explain } from "../src/replay/explain.js";
import { readReplayLog } from "../src/replay/read-log.js";
import { replay } from "../src/replay/replay.js";
import { ScriptedClock } from "../src/replay/scripted-clock.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { ManualClock } from "./support/engine-clock.js";
import { tempLogDirs } from "./support/log-dir.js";

// Replay and explain on logged engines run on a virtual clock: every timing is exact, nothing sleeps.

const logDir = tempLogDirs();
const PARAMS = { x: { min: 0, max: 10, init: 5 } } as const;
const METRICS = { constraintMargin: 1, latencyP99: 2, throughput: 3, errorRate: 0 } as const;

/** Feeds `count` digests of (x − 3)², one every `stepMs` from t = 1000, on `clock`. */
function feedBowl(engine: Engine, clock: ReplayClock, count: number, stepMs = 50): void {
  let t = 1000;
  for (let i = 0; i < count; i++) {
    t += stepMs;
    clock.advanceTo(t);
    engine.observe({ objective: (engine.values[0]! - 3) ** 2, generation: engine.generation, timestamp: t });
  }
}

describe("explain lists exactly the digests a window aggregated", () => {
  it("windows that close and reopen in the same millisecond do not share the closing digest", async () => {
    const dir = logDir();
    const clock = new ReplayClock(1000);
    const logged = createLoggedEngine(
      { seed: 1, params: PARAMS, window: { digests: 3 }, scheduler: clock },
      { dir, flushMs: 5 },
    );
    const { engine } = logged;
    // Halted: windows of generation 0 keep closing, each reopened in the millisecond the last
    // digest closed the one before (a paused cycle's window that took its rest, `minIntervalMs`,
    // to fill reopens at once).
    engine.halt("maintenance");
    let t = 1000;
    for (let k = 1; k <= 12; k++) {
      if (k === 10) engine.resetSafeMode({ acknowledge: "done" });
      t += 250;
      clock.advanceTo(t);
      engine.observe({ objective: k, generation: engine.generation, timestamp: t });
    }
    clock.advanceTo(t + 1000);
    await logged.close();

    const x = explain(dir, 1);
    expect(x.windows).toHaveLength(4);
    // Each window opens when the previous one closes.
    for (let k = 1; k < x.windows.length; k++)
      expect(x.windows[k]!.window.openedAt).toBe(x.windows[k - 1]!.window.time);
    expect(x.windows.map((w) => w.digests.map((d) => d.objective))).toEqual([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
      [10, 11, 12],
    ]);
    for (const w of x.windows) expect(w.digests).toHaveLength(w.window.count);
  });
});

describe("a malformed digest with every metric and a timestamp that is not a number", () => {
  it.each([
    ["a Date", (t: number) => new Date(t), "an object", {}],
    ["a string", (t: number) => String(t), "a string", "not a number"],
    ["NaN", () => Number.NaN, "NaN", Number.NaN],
  ])("replays bit for bit (timestamp: %s)", async (_name, badTimestamp, got, rebuilt) => {
    const dir = logDir();
    const clock = new ReplayClock(1000);
    const logged = createLoggedEngine(
      { seed: 1, params: PARAMS, window: { digests: 3 }, scheduler: clock },
      { dir, flushMs: 5 },
    );
    const { engine } = logged;
    let t = 1000;
    const verdicts: string[] = [];
    for (let i = 0; i < 12; i++) {
      t += 50;
      clock.advanceTo(t);
      const timestamp = i === 5 ? badTimestamp(t) : t;
      const digest = {
        objective: (engine.values[0]! - 3) ** 2,
        generation: engine.generation,
        ...METRICS,
        timestamp,
      };
      verdicts.push(String(engine.observe(digest as unknown as Parameters<typeof engine.observe>[0])));
    }
    await logged.close();
    expect(verdicts[5]).toBe("malformed");
    const rejected = readReplayLog(dir).events.find((e) => e.type === "digest.rejected");
    expect(rejected).toMatchObject({ reason: "Malformed", ...METRICS });
    expect(rejected).not.toHaveProperty("timestamp");
    expect(rejected).toMatchObject({
      field: "timestamp",
      problem: `must be a finite number when given, got ${got}`,
    });
    // Rebuilt with the timestamp spoiled as the record says it was.
    expect(digestToReplay(rejected as Extract<AuditEvent, { type: "digest.rejected" }>)).toMatchObject({
      digest: { timestamp: rebuilt },
    });
    const result = await replay(dir);
    expect(result.ok).toBe(true);
  });
});

describe("replay's override merges into the recorded options", () => {
  it("overriding one nested option keeps the rest of that object as logged", async () => {
    const dir = logDir();
    const clock = new ReplayClock(1000);
    const logged = createLoggedEngine(
      {
        seed: 1,
        params: PARAMS,
        window: { digests: 3, ms: 400 },
        spsa: { calibrationIterations: 3, c: 0.05 },
        scheduler: clock,
      },
      { dir, flushMs: 5 },
    );
    const { engine } = logged;
    feedBowl(engine, clock, 200);
    await logged.close();
    const resolved = readReplayLog(dir).header.resolved as unknown as {
      spsa: { readonly c: number };
      window: { readonly digests: number };
    };

    // The same values as logged: nothing changes, so the replay matches.
    for (const override of [
      { spsa: { c: resolved.spsa.c } },
      { window: { digests: resolved.window.digests } },
      { safety: { governor: {} } },
    ] as const) {
      const result = await replay(dir, { override });
      expect(result.ok, JSON.stringify(override)).toBe(true);
    }

    // The engine gets the recorded object with the one field changed.
    let built: EngineConfig | undefined;
    const changed = await replay(dir, {
      override: { spsa: { c: 0.2 } },
      createEngine: (config) => {
        built = config;
        return createEngine(config);
      },
    });
    expect(built?.spsa).toEqual({ ...resolved.spsa, c: 0.2 });
    expect(built?.window).toEqual(resolved.window);
    // And replay notices the change.
    expect(changed.ok).toBe(false);
  });
});

describe("a divergence between events of different types", () => {
  it("names the type, not the first other field that differs", async () => {
    const logged = {
      v: 4,
      runId: "run-1",
      seq: 9,
      time: 1300,
      generation: 1,
      proposalId: -1,
      type: "digest.rejected",
      reason: "Malformed",
      value: 4.84,
      digestGeneration: 1,
      captured: true,
      constraintMargin: 1,
    };
    const replayed = {
      v: 4,
      runId: "run-1",
      seq: 9,
      time: 1300,
      generation: 1,
      proposalId: 1,
      type: "digest.accepted",
      objective: 4.84,
      digestGeneration: 1,
      constraintMargin: 1,
    };
    expect(firstDifference(logged, replayed)).toBe("type");
    // Same type: the first differing field, in sorted order.
    expect(firstDifference(logged, { ...logged, value: 5, captured: false })).toBe("captured");
  });

  it("replay reports `type` for a digest the logged run accepted and the replay refuses", async () => {
    const dir = logDir();
    const clock = new ReplayClock(1000);
    const logged = createLoggedEngine(
      { seed: 1, params: PARAMS, window: { digests: 3 }, scheduler: clock },
      { dir, flushMs: 5 },
    );
    const { engine } = logged;
    feedBowl(engine, clock, 12);
    await logged.close();
    // A longer settle period refuses the first digest after the first apply.
    const result = await replay(dir, { override: { settleMs: 1000 } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.divergence.expected?.type).toBe("digest.accepted");
    expect(result.divergence.actual?.type).toBe("digest.rejected");
    expect(result.divergence.reason).toBe("type");
  });
});

describe("the scripted clock refuses a timer that is not the one the log ran", () => {
  it("does not run a timer scheduled after the audit record the logged run ran it after", () => {
    const clock = new ScriptedClock(1000);
    let seq = 3;
    clock.attachAudit(() => seq);
    clock.schedule(() => {}, 0); // id 0, scheduled after record 3
    expect(clock.fire(0, 1000, 2)).toEqual({ kind: "scheduledLater", scheduledAfter: 3 });
    seq = 4;
    expect(clock.fire(0, 1000, 3)).toBeUndefined();
  });

  it("a command issued from inside onApply replays as a divergence", async () => {
    const dir = logDir();
    const clock = new ReplayClock(1000);
    let engine: Engine | undefined;
    const logged = createLoggedEngine(
      {
        seed: 1,
        params: PARAMS,
        window: { digests: 3, ms: 500 },
        scheduler: clock,
        // The host's callback re-enters the engine: replay issues the command after the entry.
        onApply: (_values, generation) => {
          if (generation === 3) engine!.setBaseline();
        },
      },
      { dir, flushMs: 5 },
    );
    engine = logged.engine;
    feedBowl(engine, clock, 40, 20);
    await logged.close();
    expect((await replay(dir)).ok).toBe(false);
  });

  it("a wall clock that steps back mid-run still replays bit for bit (timers run on a monotonic clock)", async () => {
    const dir = logDir();
    const timers = new ManualClock();
    let stepBack = 0;
    // now() is the wall clock, which NTP may step back; the timers run on the monotonic clock.
    const wall: SchedulerLike = {
      now: () => timers.now() - stepBack,
      schedule: timers.schedule.bind(timers) as SchedulerLike["schedule"],
    };
    const logged = createLoggedEngine(
      {
        seed: 1,
        params: { x: { min: 0, max: 100, maxDelta: 10 } },
        window: { digests: 3, ms: 400 },
        scheduler: wall,
      },
      { dir },
    );
    const { engine } = logged;
    for (let i = 0; i < 60; i++) {
      if (i === 30) stepBack = 50;
      timers.advanceBy(i % 4 === 3 ? 900 : 100);
      if (i % 4 !== 3)
        engine.observe({ objective: (engine.value("x") - 30) ** 2, generation: engine.generation });
    }
    await logged.close();
    expect((await replay(dir)).ok).toBe(true);
  });
});
