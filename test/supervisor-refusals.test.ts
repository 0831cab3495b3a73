import { describe, expect, it } from "vitest";
import { createActor, setup } from "xstate";
import type { EngineConfig } from "../src/engine/config.js";
import type { Engine } from "../src/engine/engine.js";
import { type EngineNotification, fromEngine } from "../src/engine/from-engine.js";
import { createSupervisor } from "../src/engine/supervisor.js";
import { CommandRefusedError, ConfigError } from "../src/errors.js";
import { createMemoryInspector } from "../src/inspect/memory-inspector.js";
import { brokenOnce, ManualClock } from "./support/engine-clock.js";

// A command an engine refuses changes nothing, so it must not end the engine: an engine actor
// that failed over one would lose its halt, and a restart would come up tuning.

/** An engine whose decision log is down while `down.now` is true: its commands are refused. */
function loggedConfig(clock: ManualClock, down: { now: boolean }): EngineConfig {
  return {
    seed: 1,
    params: { x: { min: 0, max: 10, init: 5 } },
    window: { digests: 2 },
    scheduler: clock,
    onCommand: () => {
      if (down.now) throw new Error("durable store down");
    },
  };
}

describe.each([
  { path: "without an inspect sink", inspected: false },
  { path: "with an inspect sink", inspected: true },
])("a refused command sent through the supervisor ($path)", ({ inspected }) => {
  it("throws the refusal, and the engine runs on, still halted", async () => {
    const clock = new ManualClock();
    const down = { now: false };
    const failures: string[] = [];
    const supervisor = createSupervisor({
      ...(inspected ? { inspect: createMemoryInspector().inspect } : {}),
      onFailure: (name) => failures.push(name),
    });
    const engine = supervisor.spawn("svc", loggedConfig(clock, down));
    expect(supervisor.send("svc", { type: "halt", reason: "incident 42" })).toBe(true);
    down.now = true;
    const send = () => supervisor.send("svc", { type: "rollback", reason: "try" });
    expect(send).toThrow(CommandRefusedError);
    expect(send).toThrow(/^send\("svc"\): arqon: rollback not applied: .*durable store down/);
    expect(() => supervisor.send("svc", { type: "resetSafeMode", acknowledge: "ops" })).toThrow(
      CommandRefusedError,
    );
    expect(failures).toEqual([]);
    expect(supervisor.names()).toEqual(["svc"]);
    expect(supervisor.get("svc")).toBe(engine);
    expect(engine.mode).toBe("halted");
    // The log is back: the same reset goes through.
    down.now = false;
    expect(supervisor.send("svc", { type: "resetSafeMode", acknowledge: "ops" })).toBe(true);
    expect(engine.mode).not.toBe("halted");
    await supervisor.close();
  });
});

describe("a refused command sent from inside another command", () => {
  it("throws the outer command's own refusal; the inner one, queued, is not thrown", async () => {
    const clock = new ManualClock();
    const supervisor = createSupervisor();
    const nested: boolean[] = [];
    let down = true;
    supervisor.spawn("svc", {
      ...loggedConfig(clock, { now: false }),
      onCommand: (command) => {
        // The decision log's hook sends a command of its own, then fails: both are refused.
        if (command === "rollback") nested.push(supervisor.send("svc", { type: "setBaseline" }));
        if (down) throw new Error("durable store down");
      },
    });
    expect(() => supervisor.send("svc", { type: "rollback", reason: "outer" })).toThrow(
      /^send\("svc"\): arqon: rollback not applied: /,
    );
    // Queued behind the rollback: it ran, and was refused, after that send had returned.
    expect(nested).toEqual([true]);
    expect(supervisor.names()).toEqual(["svc"]);
    down = false;
    expect(supervisor.send("svc", { type: "setBaseline" })).toBe(true);
    await supervisor.close();
  });
});

describe("an engine actor of the host's own machine", () => {
  it("reports a refused command to its parent as engine.commandRefused, and keeps running", () => {
    const clock = new ManualClock();
    const down = { now: true };
    const refused: EngineNotification[] = [];
    const host = setup({
      actors: { tuner: fromEngine(loggedConfig(clock, down), { started: false }) },
    }).createMachine({
      invoke: { id: "tuner", src: "tuner" },
      on: { "engine.commandRefused": { actions: ({ event }) => refused.push(event as EngineNotification) } },
    });
    const actor = createActor(host).start();
    const tuner = actor.getSnapshot().children.tuner!;
    tuner.send({ type: "setBaseline" });
    expect(refused).toMatchObject([
      { type: "engine.commandRefused", engineId: "tuner", command: { type: "setBaseline" } },
    ]);
    expect((refused[0] as { reason: string }).reason).toMatch(
      /setBaseline not applied: .*durable store down/,
    );
    expect((tuner.getSnapshot() as { status: string }).status).toBe("active");
    actor.stop();
  });
});

describe("an engine that fails under the supervisor", () => {
  it("is announced on its failed stream to a subscriber from onSpawn, and handed to onFailure", async () => {
    const clock = new ManualClock();
    const heard: unknown[] = [];
    const handed: { mode: string; error: unknown }[] = [];
    const supervisor = createSupervisor({
      onFailure: (_name, error, engine) => handed.push({ mode: engine.mode, error }),
    });
    supervisor.onSpawn((_name, engine) => engine.failed.subscribe((error) => heard.push(error)));
    // Once armed, the engine's next schedule call throws: an internal failure, off any command.
    let armed = false;
    const engine: Engine = supervisor.spawn("bad", {
      seed: 1,
      params: { x: { min: 0, max: 10, init: 5 } },
      window: { digests: 5, ms: 500 },
      scheduler: brokenOnce(clock, () => armed),
    });
    engine.halt("before the failure");
    armed = true;
    clock.advanceBy(100);
    engine.observe({ objective: 1, generation: engine.generation, timestamp: clock.now() });
    clock.advanceBy(1000);
    expect(supervisor.names()).toEqual([]);
    expect(heard).toHaveLength(1);
    expect(String(heard[0])).toMatch(/schedule #\d+ failed/);
    expect(handed).toHaveLength(1);
    expect(handed[0]!.mode).toBe("halted");
    await supervisor.close();
  });
});

describe("supervisor input checks", () => {
  it("refuses a spawn without a config object with a ConfigError, and keeps it as the failure", async () => {
    const supervisor = createSupervisor();
    for (const bad of [null, undefined, 5]) {
      expect(() => supervisor.spawn("c", bad as unknown as EngineConfig)).toThrow(ConfigError);
      expect(supervisor.failure("c")).toBeInstanceOf(ConfigError);
    }
    expect(supervisor.names()).toEqual([]);
    await supervisor.close();
  });

  it("refuses callbacks that are not functions, naming each", () => {
    const make = () =>
      createSupervisor({ inspect: "x", onFailure: 5 } as unknown as Parameters<typeof createSupervisor>[0]);
    expect(make).toThrow(ConfigError);
    expect(make).toThrow(/inspect: expected a function, got "x"/);
    expect(make).toThrow(/onFailure: expected a function, got 5/);
  });
});
