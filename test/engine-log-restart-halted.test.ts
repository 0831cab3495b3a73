import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import type { EngineConfig } from "../src/engine/config.js";
import type { Engine } from "../src/engine/engine.js";
import { createLoggedEngine, createLoggedEngineAsync, type EngineLogOptions } from "../src/log/engine-log.js";
import { Prng } from "../src/random/prng.js";
import { explain, renderExplanation } from "../src/replay/explain.js";
import { readReplayLog } from "../src/replay/read-log.js";
import { replay } from "../src/replay/replay.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { tempLogDirs } from "./support/log-dir.js";

// `halted` is latched until an acknowledged reset, and a restart is no acknowledgement: a logged
// engine that was halted when its process stopped (a deploy, a crash loop) starts halted again
// from its log. Before, it came back in mode normal and tuned, its halt's page resolved by itself.

const newLogDir = tempLogDirs();

/** batchSize on [1, 128] from 30, at most 8 per apply; one digest per window. */
function config(clock: ReplayClock): EngineConfig {
  return { seed: 3, params: { batchSize: { min: 1, max: 128, init: 30, maxDelta: 8 } }, scheduler: clock };
}

/** Below b = 20 the service breaks: the perturbations that cross it trip the governor, three times. */
const cliff = (b: number): number => {
  const cost = 5 + (b - 10) ** 2 / 50;
  return b < 20 ? 20 * cost : cost;
};

/** Drives `engine` over the cliff until repeated trips halt it. */
function haltByRepeatedTrips(engine: Engine, clock: ReplayClock): void {
  const noise = Prng.fromSeed(1, 1);
  for (let i = 0; i < 3_000 && engine.mode !== "halted"; i++) {
    clock.advanceTo(1_000 + (i + 1) * 100);
    const b = engine.values[0]!;
    engine.observe({
      objective: cliff(b) * (1 + 0.05 * (2 * noise.next() - 1)),
      generation: engine.generation,
    });
  }
  expect(engine.snapshot().reasons).toContain("repeatedTrips");
}

/** The audit events the log in `dir` holds for its run `run` (0 the first). */
function runEvents(dir: string, run: number): readonly AuditEvent[] {
  return readReplayLog(dir).runs[run]!.events;
}

describe.each([
  ["createLoggedEngine", async (c: EngineConfig, o: EngineLogOptions) => createLoggedEngine(c, o)],
  ["createLoggedEngineAsync", createLoggedEngineAsync],
] as const)("%s on the log of a halted engine", (_name, open) => {
  it("starts halted after an operator's halt, until an acknowledged reset, which a restart keeps", async () => {
    const dir = newLogDir();
    const first = await open(config(new ReplayClock(1_000)), { dir });
    first.engine.halt("deploy in progress");
    await first.close();

    const second = await open(config(new ReplayClock(1_000)), { dir });
    expect(second.restart?.halted).toBe(
      "still halted after a restart (the previous run ended halted, reasons manualHalt: deploy in progress)",
    );
    expect(second.engine.mode).toBe("halted");
    // Nothing tunes: a digest is taken, nothing is applied.
    second.engine.observe({ objective: 1, generation: second.engine.generation });
    second.engine.flushEvents();
    expect(second.engine.generation).toBe(0);
    expect(second.engine.resetSafeMode({ acknowledge: "deploy done (ops)" })).toBe(true);
    await second.close();

    const third = await open(config(new ReplayClock(1_000)), { dir });
    expect(third.restart?.halted).toBeUndefined();
    expect(third.engine.mode).toBe("normal");
    await third.close();
    // The restored halt is a command of the run it halted: each run replays as it ran.
    const replayed = await replay(dir);
    expect(replayed.ok).toBe(true);
    expect(replayed.runs).toHaveLength(3);
  });

  it("keeps a restored halt through a crash before its mode change was logged, its note unnested", async () => {
    const dir = newLogDir();
    const first = await open(config(new ReplayClock(1_000)), { dir });
    first.engine.halt("deploy in progress");
    await first.close();
    const second = await open(config(new ReplayClock(1_000)), { dir });
    const note = second.restart?.halted;
    expect(note).toMatch(/^still halted after a restart .*deploy in progress\)$/);
    // A crash right after the restart: the log closes with what is durable (the restart record,
    // the halt command), not the mode change the engine's next drain would have written.
    second.log.close();
    await second.engine.close();
    for (let restart = 0; restart < 2; restart++) {
      const next = await open(config(new ReplayClock(1_000)), { dir });
      expect(next.engine.mode).toBe("halted");
      // The first run's reasons and note, not one note nested in another at each restart.
      expect(next.restart?.halted).toBe(note);
      await next.close();
    }
  });

  it("starts halted after SafeMode's halt, naming its reasons and keeping its latched one", async () => {
    const dir = newLogDir();
    const clock = new ReplayClock(1_000);
    const first = await open(config(clock), { dir });
    haltByRepeatedTrips(first.engine, clock);
    await first.close();

    const second = await open(config(new ReplayClock(1_000)), { dir });
    expect(second.engine.mode).toBe("halted");
    expect(second.restart?.halted).toMatch(
      /^still halted after a restart \(the previous run ended halted, reasons .*repeatedTrips/,
    );
    // SafeMode's halt, which the alert rules page for, not an operator's (manualHalt): a restart
    // must not turn the one into the other.
    expect(second.restart?.haltedReasons).toEqual(["repeatedTrips"]);
    expect(second.engine.snapshot().reasons).toEqual(["repeatedTrips"]);
    await second.close();
    const events = runEvents(dir, 1);
    expect(events.filter((e) => e.type === "command")).toMatchObject([
      { command: "halt", restores: ["repeatedTrips"] },
    ]);
    expect(events.find((e) => e.type === "mode.changed")).toMatchObject({
      to: "halted",
      reasons: ["repeatedTrips"],
    });

    // Again at the next restart, and replay restores it as the engine did.
    const later = new ReplayClock(1_000);
    const third = await open(config(later), { dir });
    expect(third.engine.snapshot().reasons).toEqual(["repeatedTrips"]);
    // Acknowledged, it tunes again; the first change's explanation names the halt it restored.
    expect(third.engine.resetSafeMode({ acknowledge: "cliff fenced off (ops)" })).toBe(true);
    for (let i = 0; i < 50 && third.engine.generation === 0; i++) {
      later.advanceTo(1_000 + (i + 1) * 100);
      third.engine.observe({
        objective: 5 + (third.engine.values[0]! - 40) ** 2 / 50,
        generation: third.engine.generation,
      });
    }
    await third.close();
    expect(renderExplanation(explain(dir, 1, { run: 3 }))).toMatch(
      /command: halt "still halted after a restart [^\n]*" at \+0\.000 s \(restores repeatedTrips\)/,
    );
    const replayed = await replay(dir);
    expect(replayed.ok).toBe(true);
    expect(replayed.runs).toHaveLength(3);
  });

  it.each([
    // Only the restart record and the halt command are durable; the next run reads the reasons
    // from the restart record.
    ["through a crash before the restored halt's mode change was logged", {}],
    // Tiny segments: the restart record and the halt command land in different files, and the
    // next restart, reading from the log's end, stops at the command, which names them too.
    ["when the restart record lies in an earlier segment than the restored halt", { segmentBytes: 64 }],
  ] as const)("keeps SafeMode's reasons %s", async (_case, options) => {
    const dir = newLogDir();
    const clock = new ReplayClock(1_000);
    const first = await open(config(clock), { dir });
    haltByRepeatedTrips(first.engine, clock);
    await first.close();
    const second = await open(config(new ReplayClock(1_000)), { dir, ...options });
    second.log.close();
    await second.engine.close();
    const third = await open(config(new ReplayClock(1_000)), { dir });
    expect(third.restart?.haltedReasons).toEqual(["repeatedTrips"]);
    expect(third.engine.snapshot().reasons).toEqual(["repeatedTrips"]);
    await third.close();
  });

  it("keeps an operator's halt an operator's (manualHalt)", async () => {
    const dir = newLogDir();
    const first = await open(config(new ReplayClock(1_000)), { dir });
    first.engine.halt("deploy in progress");
    await first.close();
    const second = await open(config(new ReplayClock(1_000)), { dir });
    expect(second.restart?.haltedReasons).toEqual(["manualHalt"]);
    expect(second.engine.snapshot().reasons).toEqual(["manualHalt"]);
    await second.close();
    // The restored halt says what it restores; the first run's own halt restored nothing.
    expect(runEvents(dir, 1).find((e) => e.type === "command")).toMatchObject({
      command: "halt",
      restores: ["manualHalt"],
    });
    expect(runEvents(dir, 0).find((e) => e.type === "command")).not.toHaveProperty("restores");
  });

  it("starts normal when the previous run was reset, or never halted", async () => {
    const dir = newLogDir();
    const first = await open(config(new ReplayClock(1_000)), { dir });
    first.engine.halt("short pause");
    expect(first.engine.resetSafeMode({ acknowledge: "over (ops)" })).toBe(true);
    await first.close();
    const second = await open(config(new ReplayClock(1_000)), { dir });
    expect(second.engine.mode).toBe("normal");
    expect(second.restart).toEqual({ lastDurableGeneration: 0, liveGeneration: 0, gap: 0 });
    await second.close();
    const third = await open(config(new ReplayClock(1_000)), { dir });
    expect(third.engine.mode).toBe("normal");
    await third.close();
  });
});
