import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import type { AnyActorRef } from "xstate";
import type { EngineConfig } from "../src/engine/config.js";
import type { Engine } from "../src/engine/engine.js";
import { createSupervisor, SUPERVISOR_SHARD_SIZE, Supervisor } from "../src/engine/supervisor.js";
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
    expect(() => supervisor.spawn("bad", { ...config(clock, 2), params: { x: { min: 1, max: 0 } } })).toThrow(
      ConfigError,
    );
    supervisor.spawn("c", config(clock, 3));
    expect(supervisor.names()).toEqual(["a", "c"]);
    expect(supervisor.failure("bad")).toBeInstanceOf(ConfigError);
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
    await tick(); // the fiber watching "b" ends and removes its actor
    expect((supervisor.actor.getSnapshot().children as Record<string, unknown>).b).toBeUndefined();
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
    const rootEvents = memory.events.flatMap((e) => (e.type === "@xstate.event" ? [e.event.type] : []));
    expect(rootEvents).toContain("supervisor.spawn");
    // The engine actor itself is part of the supervisor's system.
    const engineActor = supervisor.actorOf("a")!;
    expect(memory.events.some((e) => e.type === "@xstate.actor" && e.actorRef === engineActor)).toBe(true);
    feedAll(supervisor, clock, 4);
    expect(memory.snapshots("spsa").length).toBeGreaterThan(1);
    await supervisor.close();
  });
});

describe("createSupervisor: shards", () => {
  it("keeps engine actors in shards of bounded size, reuses freed room, and tunes across shards", async () => {
    const clock = new ManualClock();
    const supervisor = createSupervisor();
    const count = 2 * SUPERVISOR_SHARD_SIZE + 5;
    const names = Array.from({ length: count }, (_, i) => `e${i}`);
    for (const [i, name] of names.entries()) supervisor.spawn(name, config(clock, i + 1));
    const shardSizes = () =>
      Object.values(supervisor.actor.getSnapshot().children as Record<string, AnyActorRef>).map(
        (shard) => Object.keys(shard.getSnapshot().children).length,
      );
    expect(shardSizes()).toEqual([SUPERVISOR_SHARD_SIZE, SUPERVISOR_SHARD_SIZE, 5]);
    for (const name of names) expect(supervisor.actor.system.get(name)).toBe(supervisor.actorOf(name));
    // Free room in the first shard; the next spawns fill the open shards before making a new one.
    for (const name of names.slice(0, 3)) expect(await supervisor.stop(name)).toBe(true);
    expect(shardSizes()).toEqual([SUPERVISOR_SHARD_SIZE - 3, SUPERVISOR_SHARD_SIZE, 5]);
    for (let i = 0; i < 3; i++) supervisor.spawn(`again${i}`, config(clock, 500 + i));
    expect(shardSizes().reduce((a, b) => a + b, 0)).toBe(count);
    expect(shardSizes()).toHaveLength(3);
    feedAll(supervisor, clock, 8, ["e3", `e${count - 1}`, "again0"]);
    expect(supervisor.get("e3")!.generation).toBeGreaterThan(0);
    expect(supervisor.get(`e${count - 1}`)!.generation).toBeGreaterThan(0);
    expect(supervisor.get("again0")!.generation).toBeGreaterThan(0);
    await supervisor.close();
    expect(supervisor.names()).toEqual([]);
    expect(clock.pendingActions).toBe(0);
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
});
