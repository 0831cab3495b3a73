import { Effect } from "effect";
import { describe, expect, it, vi } from "vitest";
import type { AnyActorRef } from "xstate";
import type { EngineConfig } from "../src/engine/config.js";
import type { Engine } from "../src/engine/engine.js";
import { createSupervisor, Supervisor } from "../src/engine/supervisor.js";
import { ConfigError, UsageError } from "../src/errors.js";
import { createMemoryInspector } from "../src/inspect/memory-inspector.js";
import { ManualClock } from "./support/engine-clock.js";

function config(clock: ManualClock, seed: number, extra: Partial<EngineConfig> = {}): EngineConfig {
  return {
    seed,
    params: { x: { min: 0, max: 10, init: 5 } },
    window: { digests: 2 },
    scheduler: clock,
    ...extra,
  };
}

/** Advances the shared clock by 100 ms per round and sends each named engine one digest through its actor. */
function feedAll(
  supervisor: Supervisor,
  clock: ManualClock,
  rounds: number,
  names = supervisor.names(),
): void {
  for (let i = 0; i < rounds; i++) {
    clock.advanceBy(100);
    for (const name of names) {
      const engine = supervisor.get(name);
      if (engine === undefined) continue;
      const digest = {
        objective: (engine.values[0]! - 3) ** 2,
        generation: engine.generation,
        timestamp: clock.now(),
      };
      supervisor.send(name, { type: "observe", digest });
    }
  }
}

/**
 * Breaks `engine` so that its next observe throws, as an internal bug would: observe itself never
 * throws on any digest (each field is read once), so the test breaks this engine's next observe,
 * and returns an ordinary digest to send it.
 */
function poisonDigest(engine: Engine, now: number) {
  const observe = engine.observe.bind(engine);
  engine.observe = () => {
    engine.observe = observe; // once: later calls see the real (closed) engine
    throw new Error("poisoned digest");
  };
  return { objective: 1, generation: engine.generation, timestamp: now };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("createSupervisor", () => {
  it("spawns named engines as children of one actor system and stops them by name", async () => {
    const clock = new ManualClock();
    const supervisor = createSupervisor();
    const a = supervisor.spawn("a", config(clock, 1));
    supervisor.spawn("b", config(clock, 2));
    expect(supervisor.names()).toEqual(["a", "b"]);
    expect(supervisor.get("a")).toBe(a);
    expect(supervisor.actor.system.get("a")).toBe(supervisor.actorOf("a"));
    expect(() => supervisor.spawn("a", config(clock, 3))).toThrow(UsageError);
    expect(await supervisor.stop("a")).toBe(true);
    expect(await supervisor.stop("a")).toBe(false);
    expect(supervisor.names()).toEqual(["b"]);
    expect(supervisor.get("a")).toBeUndefined();
    expect(a.observe({ objective: 1, generation: a.generation, timestamp: clock.now() })).toBe("closed");
    // The name is free again.
    supervisor.spawn("a", config(clock, 4));
    expect(supervisor.names()).toEqual(["b", "a"]);
    await supervisor.close();
    expect(supervisor.names()).toEqual([]);
    expect(clock.pendingActions).toBe(0);
    expect(() => supervisor.spawn("c", config(clock, 5))).toThrow(/closed/);
  });

  it("three engines, one with a bad config: the spawn throws its ConfigError, the other two keep tuning", async () => {
    const clock = new ManualClock();
    const supervisor = createSupervisor();
    supervisor.spawn("a", config(clock, 1));
    let thrown: unknown;
    try {
      supervisor.spawn("bad", { ...config(clock, 2), params: { x: { min: 1, max: 0 } } });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    // Named: one program spawns many engines, and the message must say whose config it was.
    expect((thrown as ConfigError).message).toMatch(
      /^Invalid configuration of engine "bad" \(1 problem\):\n {2}- params\.x/,
    );
    expect((thrown as ConfigError).issues).toEqual([{ path: "params.x.max", message: expect.any(String) }]);
    // The engine's own refusal is its cause, with the stack of where the config was checked.
    expect((thrown as ConfigError).cause).toBeInstanceOf(ConfigError);
    expect(((thrown as ConfigError).cause as ConfigError).message).toMatch(
      /^Invalid configuration \(1 problem\)/,
    );
    supervisor.spawn("c", config(clock, 3));
    expect(supervisor.names()).toEqual(["a", "c"]);
    expect(supervisor.failure("bad")).toBe(thrown);
    feedAll(supervisor, clock, 12);
    expect(supervisor.get("a")!.generation).toBeGreaterThan(0);
    expect(supervisor.get("c")!.generation).toBeGreaterThan(0);
    await supervisor.close();
  });

  it("three engines, one whose actor fails: it is stopped and closed, the other two keep tuning", async () => {
    const clock = new ManualClock();
    const failures: string[] = [];
    const supervisor = createSupervisor({ onFailure: (name) => failures.push(name) });
    for (const [i, name] of ["a", "b", "c"].entries()) supervisor.spawn(name, config(clock, i + 1));
    feedAll(supervisor, clock, 6);
    const b = supervisor.get("b")!;
    const before = { a: supervisor.get("a")!.generation, c: supervisor.get("c")!.generation };
    supervisor.send("b", { type: "observe", digest: poisonDigest(b, clock.now()) });
    expect(supervisor.names()).toEqual(["a", "c"]);
    expect((supervisor.failure("b") as Error).message).toBe("poisoned digest");
    expect(failures).toEqual(["b"]);
    expect(supervisor.actorOf("b")).toBeUndefined();
    expect(supervisor.actor.system.get("b")).toBeUndefined();
    expect(b.observe({ objective: 1, generation: b.generation, timestamp: clock.now() })).toBe("closed");
    feedAll(supervisor, clock, 12);
    expect(supervisor.get("a")!.generation).toBeGreaterThan(before.a);
    expect(supervisor.get("c")!.generation).toBeGreaterThan(before.c);
    expect(supervisor.actor.getSnapshot().status).toBe("active");
    await supervisor.close();
    expect(clock.pendingActions).toBe(0);
  });

  it("with an inspect sink, observe goes through the actor, and a failing engine is stopped the same way", async () => {
    const clock = new ManualClock();
    const memory = createMemoryInspector();
    const failures: string[] = [];
    const supervisor = createSupervisor({
      inspect: memory.inspect,
      onFailure: (name) => failures.push(name),
    });
    for (const [i, name] of ["a", "b"].entries()) supervisor.spawn(name, config(clock, i + 1));
    feedAll(supervisor, clock, 4);
    const b = supervisor.get("b")!;
    const bActor = supervisor.actorOf("b")!;
    const observed = (actor: unknown) =>
      memory.events.filter(
        (e) => e.type === "@xstate.event" && e.actorRef === actor && e.event.type === "observe",
      ).length;
    expect(observed(bActor)).toBe(4);
    supervisor.send("b", { type: "observe", digest: poisonDigest(b, clock.now()) });
    expect(supervisor.names()).toEqual(["a"]);
    expect((supervisor.failure("b") as Error).message).toBe("poisoned digest");
    expect(failures).toEqual(["b"]);
    expect((bActor.getSnapshot() as { status: string }).status).toBe("error");
    await tick();
    expect(b.observe({ objective: 1, generation: b.generation, timestamp: clock.now() })).toBe("closed");
    feedAll(supervisor, clock, 8);
    expect(supervisor.get("a")!.generation).toBeGreaterThan(0);
    await supervisor.close();
  });

  it("three engines, one whose onApply always throws: it is contained by its breaker, the other two keep tuning", async () => {
    const clock = new ManualClock();
    const supervisor = createSupervisor();
    supervisor.spawn("a", config(clock, 1));
    supervisor.spawn(
      "flaky",
      config(clock, 2, {
        onApply: () => {
          throw new Error("actuator down");
        },
      }),
    );
    supervisor.spawn("c", config(clock, 3));
    feedAll(supervisor, clock, 20);
    expect(supervisor.names()).toEqual(["a", "flaky", "c"]);
    expect(supervisor.get("flaky")!.mode).not.toBe("normal");
    expect(supervisor.get("flaky")!.snapshot().reasons).toContain("breakerOpen");
    expect(supervisor.get("a")!.generation).toBeGreaterThan(0);
    expect(supervisor.get("c")!.generation).toBeGreaterThan(0);
    expect(supervisor.get("a")!.mode).toBe("normal");
    await supervisor.close();
  });

  it("inspects the supervisor's system and the engines' own actors with one sink", async () => {
    const clock = new ManualClock();
    const memory = createMemoryInspector();
    const supervisor = createSupervisor({ inspect: memory.inspect });
    supervisor.spawn("a", config(clock, 1));
    // The engine actor itself is part of the supervisor's system, started by the root.
    const engineActor = supervisor.actorOf("a")!;
    expect(memory.events.some((e) => e.type === "@xstate.actor" && e.actorRef === engineActor)).toBe(true);
    const init = memory.events.find(
      (e) => e.type === "@xstate.event" && e.actorRef === engineActor && e.event.type === "xstate.init",
    );
    expect(init?.type === "@xstate.event" ? init.sourceRef : undefined).toBe(supervisor.actor);
    feedAll(supervisor, clock, 4);
    expect(memory.snapshots("spsa").length).toBeGreaterThan(1);
    await supervisor.close();
  });

  it("onSpawn: hands each new engine over inside its spawn, so a subscriber misses none of its events", async () => {
    const clock = new ManualClock();
    const supervisor = createSupervisor();
    const seen: string[] = [];
    const firstTypes: string[] = [];
    const configs: EngineConfig[] = [];
    const remove = supervisor.onSpawn((name, engine, spawnedWith) => {
      seen.push(name);
      configs.push(spawnedWith);
      engine.events.subscribe((event) => firstTypes.push(`${name}:${event.type}`));
    });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const removeThrowing = supervisor.onSpawn(() => {
      throw new Error("listener bug");
    });
    const configA = config(clock, 1);
    supervisor.spawn("a", configA);
    // The config spawn got, as it got it: what monitorEngine needs.
    expect(configs).toEqual([configA]);
    expect(configs[0]).toBe(configA);
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('an onSpawn listener threw for "a" (listener bug)'),
    );
    removeThrowing();
    warn.mockRestore();
    clock.advanceBy(1000);
    expect(firstTypes).toEqual(["a:baseline.set"]);
    remove();
    supervisor.spawn("b", config(clock, 2));
    expect(seen).toEqual(["a"]);
    expect(() => supervisor.onSpawn(5 as never)).toThrow("onSpawn: expected a function, got 5");
    await supervisor.close();
  });

  it("tells one engine's internal actors from another's by their root's session id", async () => {
    const clock = new ManualClock();
    const memory = createMemoryInspector();
    const supervisor = createSupervisor({ inspect: memory.inspect });
    const checkout = supervisor.spawn("checkout", config(clock, 1));
    const search = supervisor.spawn("search", config(clock, 2));
    supervisor.send("search", { type: "halt", reason: "x" });
    const modes = (engine: Engine) =>
      memory.snapshots("safeMode", engine.actor.sessionId).map((snapshot) => snapshot.value);
    expect(modes(checkout)).toEqual(["normal"]);
    expect(modes(search)).toEqual(["normal", "halted"]);
    // Unfiltered, the two engines' charts are mixed, as the sink received them.
    expect(memory.snapshots("safeMode").map((snapshot) => snapshot.value)).toEqual([
      "normal",
      "normal",
      "halted",
    ]);
    await supervisor.close();
  });
});

describe("createSupervisor: many engines", () => {
  it("keeps engine actors out of the root's children, and stopping some leaves the others tuning", async () => {
    const clock = new ManualClock();
    const supervisor = createSupervisor();
    const count = 150;
    const names = Array.from({ length: count }, (_, i) => `e${i}`);
    const actors = names.map((name, i) => {
      supervisor.spawn(name, config(clock, i + 1));
      return supervisor.actorOf(name)!;
    });
    // Every engine is an actor of the root's system whose parent is the root, yet the root's
    // snapshot never lists it (XState copies that object on every spawn and stop).
    expect(Object.keys(supervisor.actor.getSnapshot().children)).toEqual([]);
    for (const [i, name] of names.entries()) {
      expect(supervisor.actor.system.get(name)).toBe(actors[i]);
      expect(actors[i]!._parent).toBe(supervisor.actor);
    }
    const stopped = names.filter((_, i) => i % 3 === 0);
    const kept = names.filter((_, i) => i % 3 !== 0);
    const stoppedEngines = stopped.map((name) => supervisor.get(name)!);
    for (const name of stopped) expect(await supervisor.stop(name)).toBe(true);
    expect(supervisor.names()).toEqual(kept);
    for (const name of stopped) {
      expect(supervisor.get(name)).toBeUndefined();
      expect(supervisor.actor.system.get(name)).toBeUndefined();
      expect(supervisor.failure(name)).toBeUndefined();
    }
    for (const [i, name] of names.entries()) {
      const status = (actors[i]!.getSnapshot() as { status: string }).status;
      expect(status).toBe(stopped.includes(name) ? "stopped" : "active");
    }
    for (const engine of stoppedEngines) {
      expect(engine.observe({ objective: 1, generation: engine.generation, timestamp: clock.now() })).toBe(
        "closed",
      );
    }
    feedAll(supervisor, clock, 8);
    for (const name of kept) expect(supervisor.get(name)!.generation).toBeGreaterThan(0);
    // A stopped name can be spawned again, as a new engine and a new actor.
    const again = supervisor.spawn(stopped[0]!, config(clock, 999));
    expect(again).not.toBe(stoppedEngines[0]);
    expect(supervisor.actor.system.get(stopped[0]!)).toBe(supervisor.actorOf(stopped[0]!));
    expect(supervisor.actor.getSnapshot().status).toBe("active");
    await supervisor.close();
    expect(supervisor.names()).toEqual([]);
    for (const actor of actors) expect((actor.getSnapshot() as { status: string }).status).toBe("stopped");
    expect(clock.pendingActions).toBe(0);
  });

  it("an observe that throws after its engine was replaced under the same name leaves the new one alone", async () => {
    const clock = new ManualClock();
    const failures: string[] = [];
    const supervisor = createSupervisor({ onFailure: (name) => failures.push(name) });
    const old = supervisor.spawn("b", config(clock, 1, { window: { digests: 100 } }));
    let replacement: Engine | undefined;
    old.observe = () => {
      void supervisor.stop("b");
      replacement = supervisor.spawn("b", config(clock, 2, { window: { digests: 100 } }));
      throw new Error("failed after being replaced");
    };
    const digest = () => ({ objective: 1, generation: 0, timestamp: clock.now() });
    expect(supervisor.send("b", { type: "observe", digest: digest() })).toBe(true);
    expect(failures).toEqual([]);
    expect(supervisor.failure("b")).toBeUndefined();
    expect(supervisor.get("b")).toBe(replacement);
    expect(supervisor.send("b", { type: "observe", digest: digest() })).toBe(true);
    expect(replacement!.snapshot().digests.accepted).toBe(1);
    expect(supervisor.names()).toEqual(["b"]);
    await supervisor.close();
  });

  it("routes send to the named engine only, and answers false for names it does not run", async () => {
    const clock = new ManualClock();
    const supervisor = createSupervisor();
    const engines = ["a", "b", "c"].map((name, i) =>
      supervisor.spawn(name, config(clock, i + 1, { window: { digests: 100 } })),
    );
    const accepted = () => engines.map((engine) => engine.snapshot().digests.accepted);
    const digest = (engine: Engine) => ({
      objective: 1,
      generation: engine.generation,
      timestamp: clock.now(),
    });
    expect(supervisor.send("b", { type: "observe", digest: digest(engines[1]!) })).toBe(true);
    expect(supervisor.send("b", { type: "observe", digest: digest(engines[1]!) })).toBe(true);
    expect(supervisor.send("c", { type: "observe", digest: digest(engines[2]!) })).toBe(true);
    expect(accepted()).toEqual([0, 2, 1]);
    expect(supervisor.send("b", { type: "halt", reason: "maintenance" })).toBe(true);
    expect(engines.map((engine) => engine.mode)).toEqual(["normal", "halted", "normal"]);
    // Unknown names: nothing happens to any engine.
    expect(supervisor.send("nope", { type: "observe", digest: digest(engines[0]!) })).toBe(false);
    expect(supervisor.send("nope", { type: "halt", reason: "x" })).toBe(false);
    expect(await supervisor.stop("nope")).toBe(false);
    expect(supervisor.get("nope")).toBeUndefined();
    expect(supervisor.actorOf("nope")).toBeUndefined();
    expect(supervisor.failure("nope")).toBeUndefined();
    expect(accepted()).toEqual([0, 2, 1]);
    // A stopped engine's name is unknown too.
    await supervisor.stop("c");
    expect(supervisor.send("c", { type: "observe", digest: digest(engines[2]!) })).toBe(false);
    expect(accepted().slice(0, 2)).toEqual([0, 2]);
    await supervisor.close();
    expect(supervisor.send("a", { type: "observe", digest: digest(engines[0]!) })).toBe(false);
  });

  it("reports every engine's start to the root, and its stop to the root's system", async () => {
    const clock = new ManualClock();
    const memory = createMemoryInspector();
    const supervisor = createSupervisor({ inspect: memory.inspect, notifications: { started: true } });
    const names = Array.from({ length: 40 }, (_, i) => `e${i}`);
    for (const [i, name] of names.entries()) supervisor.spawn(name, config(clock, i + 1));
    const actors = names.map((name) => supervisor.actorOf(name)!);
    const toRoot = (type: string) =>
      memory.events.flatMap((e) =>
        e.type === "@xstate.event" && e.actorRef === supervisor.actor && e.event.type === type ? [e] : [],
      );
    expect(
      toRoot("engine.started").map((e) => (e.event as unknown as { engineId: string }).engineId),
    ).toEqual(names);
    for (const name of names.slice(0, 20)) await supervisor.stop(name);
    const stops = toRoot("supervisor.stop").map((e) => (e.event as unknown as { actor: AnyActorRef }).actor);
    expect(stops).toEqual(actors.slice(0, 20));
    // The engines' own internal actors report to the same sink; only the engine actors count here.
    const stoppedEngineActors = memory.events.flatMap((e) =>
      e.type === "@xstate.snapshot" &&
      actors.includes(e.actorRef as AnyActorRef) &&
      (e.snapshot as { status: string }).status === "stopped"
        ? [e.actorRef]
        : [],
    );
    expect(stoppedEngineActors).toEqual(actors.slice(0, 20));
    await supervisor.close();
    expect(toRoot("supervisor.stop")).toHaveLength(names.length);
  });
});

describe("Supervisor.make", () => {
  it("closes every engine when the scope closes", async () => {
    const clock = new ManualClock();
    const engines = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const supervisor = yield* Supervisor.make();
          const a = supervisor.spawn("a", config(clock, 1));
          const b = supervisor.spawn("b", config(clock, 2));
          feedAll(supervisor, clock, 4);
          return [a, b];
        }),
      ),
    );
    for (const engine of engines) {
      expect(engine.observe({ objective: 1, generation: engine.generation, timestamp: clock.now() })).toBe(
        "closed",
      );
    }
    expect(clock.pendingActions).toBe(0);
  });

  it("fails with the typed ConfigError of bad notifications, not a defect", async () => {
    const caught = await Effect.runPromise(
      Effect.scoped(Supervisor.make({ notifications: { events: ["aply" as "apply"] } })).pipe(
        Effect.map(() => "made"),
        Effect.catchTag("ConfigError", (error) => Effect.succeed(error.message)),
      ),
    );
    expect(caught).toMatch(/notifications\.events: "aply" is not an audit event type/);
  });
});
