import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { renderDivergence } from "../src/cli/replay.js";
import { createLoggedEngine, replay } from "../src/node.js";
import { Prng } from "../src/random/prng.js";
import { readReplayLog } from "../src/replay/read-log.js";
import { tempLogDirs } from "./support/log-dir.js";

// Replay of a run on the wall clock. Everything else in the suite runs on virtual time; this test
// is the one place where real timers fire late, digests arrive at irregular real times and the
// host halts and resets the engine while it runs. The decision log must have captured every one
// of those timings so that replay on a virtual clock decides bit for bit what the real run did.
// It takes about 32 s of wall time by design (it is not a performance test).

const logDir = tempLogDirs();
const RUN_MS = 31_000;

const CONFIG = {
  seed: 21,
  params: {
    batchSize: { min: 1, max: 256, init: 32, maxDelta: 8 },
    timeoutMs: { min: 5, max: 2000, init: 200, maxDelta: 40, scale: "log" },
  },
  // Window time limits, settling, pacing and cooldown timers, and SafeMode's dwell all run on the
  // engine's clock: here the wall clock.
  window: { digests: 5, ms: 350 },
  settleMs: 20,
  guardrails: { minIntervalMs: 120, cooldownMs: 500 },
  safety: { safeMode: { dwellMs: 1200, healthyWindows: 2 } },
} as const;

/** Holds the event loop for `ms` of real time, so that the timers due meanwhile run late. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: the point is to keep the loop from running timers
  }
}

/** Runs a logged engine on the wall clock for {@link RUN_MS}; resolves once it is closed. */
function wallClockRun(dir: string): Promise<void> {
  const logged = createLoggedEngine(CONFIG, { dir, flushMs: 40 });
  const { engine } = logged;
  const rng = Prng.fromSeed(5, 1);
  const started = Date.now();
  let halted = false;
  let reset = false;
  let nanSent = false;
  let flushed = false;
  let baselineSet = false;
  let rolledBack = false;
  return new Promise((resolve, reject) => {
    const tick = () => {
      try {
        const elapsed = Date.now() - started;
        if (elapsed >= RUN_MS) {
          logged.close().then(resolve, reject);
          return;
        }
        const [batch, timeout] = engine.values;
        let objective = ((batch! - 120) / 40) ** 2 + Math.log(timeout! / 60) ** 2 + 0.05 * rng.normal();
        if (!nanSent && elapsed > 9_000) {
          objective = Number.NaN; // a non-finite digest: SafeMode trips and rolls back
          nanSent = true;
        }
        engine.observe({ objective, generation: engine.generation, timestamp: Date.now() });
        if (!flushed && elapsed > 6_000) {
          engine.flushEvents(); // a host flush moves the next audit drain
          flushed = true;
        }
        if (!baselineSet && elapsed > 12_000) {
          engine.setBaseline();
          baselineSet = true;
        }
        if (!halted && elapsed > 15_000) {
          engine.halt("wall-clock test: maintenance");
          halted = true;
        }
        if (halted && !reset && elapsed > 19_000) {
          engine.resetSafeMode({ acknowledge: "wall-clock test: maintenance over" });
          reset = true;
        }
        if (reset && !rolledBack && elapsed > 25_000) {
          engine.rollback("wall-clock test: back to the baseline");
          rolledBack = true;
        }
        const u = rng.next();
        if (u < 0.04) stall(10 + Math.floor(rng.next() * 25));
        // Irregular arrivals: mostly 5–60 ms apart, sometimes a pause long enough to time a window out.
        const delay = u > 0.97 ? 400 + Math.floor(rng.next() * 500) : 5 + Math.floor(rng.next() * 55);
        setTimeout(tick, delay);
      } catch (error) {
        reject(error);
      }
    };
    setTimeout(tick, 10);
  });
}

const count = (events: readonly AuditEvent[], type: AuditEvent["type"]) =>
  events.filter((e) => e.type === type).length;

describe("replay of a run on the wall clock", () => {
  it("replays a 31 s real-time run with irregular digests, late timers, a halt and a reset bit for bit", async () => {
    const dir = logDir();
    await wallClockRun(dir);

    const result = await replay(dir);
    if (!result.ok) expect.fail(renderDivergence(result.divergence));
    expect(result.unclosed).toBeNull();
    expect(result.runs[0]!.dropped).toEqual([]);

    // The run was real: wall-clock times, and it did all the things the replay had to repeat.
    const { header, runs } = readReplayLog(dir);
    const [run] = runs;
    expect(header.startTime).toBeGreaterThan(Date.UTC(2020, 0, 1));
    const events = run!.events;
    expect(events.at(-1)!.time - header.startTime).toBeGreaterThanOrEqual(RUN_MS - 1000);
    expect(count(events, "digest.accepted")).toBeGreaterThan(400);
    expect(count(events, "apply")).toBeGreaterThan(20);
    expect(
      count(events, "eval.timeout") + events.filter((e) => e.type === "window.closed" && e.timedOut).length,
    ).toBeGreaterThan(0);
    expect(count(events, "rollback")).toBeGreaterThan(0);
    const commands = events.filter((e) => e.type === "command").map((e) => e.command);
    expect(commands).toEqual(["setBaseline", "halt", "resetSafeMode", "rollback"]);
    const modes = events.filter((e) => e.type === "mode.changed").map((e) => e.to);
    expect(modes).toContain("halted");
    // Timers ran (the log recorded when they did), and the host's flush was recorded.
    const timings = run!.timings!;
    expect(timings.filter((t) => t.kind === "timer").length).toBeGreaterThan(200);
    expect(timings.filter((t) => t.kind === "flush")).toHaveLength(1);
  }, 60_000);
});
