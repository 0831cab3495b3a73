import { afterEach, describe, expect, it, vi } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import type { Engine } from "../src/engine/engine.js";
import { createSupervisor, type Supervisor } from "../src/engine/supervisor.js";
import { ConfigError } from "../src/errors.js";
import { createMemoryInspector } from "../src/inspect/memory-inspector.js";
import { brokenOnce, ManualClock } from "./support/engine-clock.js";

function config(clock: ManualClock, seed: number, extra: Partial<EngineConfig> = {}): EngineConfig {
  return {
    seed,
    params: { x: { min: 0, max: 10, init: 5 } },
    window: { digests: 2 },
    scheduler: clock,
    ...extra,
  };
}

/** Breaks `engine`'s next observe, as an internal bug would, and returns a digest to send it. */
function poisonDigest(engine: Engine, now: number) {
  const observe = engine.observe.bind(engine);
  engine.observe = () => {
    engine.observe = observe;
    throw new Error("engine bug");
  };
  return { objective: 1, generation: engine.generation, timestamp: now };
}

const closedOf = (engine: Engine, clock: ManualClock) =>
  engine.observe({ objective: 1, generation: engine.generation, timestamp: clock.now() }) === "closed";

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

// Without an inspect sink, observe runs on the engine directly; with one, through the actor.
describe.each([
  { path: "direct observe", inspected: false },
  { path: "actor", inspected: true },
])("createSupervisor onFailure ($path path)", ({ inspected }) => {
  const make = (onFailure: (name: string, error: unknown) => void): Supervisor =>
    createSupervisor({ ...(inspected ? { inspect: createMemoryInspector().inspect } : {}), onFailure });

  it("an onFailure that throws neither escapes (send, timers) nor leaks the failed engine", async () => {
    // XState reports an observer's throw from a setTimeout: fake timers make it run here.
    vi.useFakeTimers();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const clock = new ManualClock();
    const supervisor = make((name) => {
      throw new Error(`pager for ${name} unreachable`);
    });
    const web = supervisor.spawn("web", config(clock, 1, { window: { digests: 5, ms: 500 } }));
    const db = supervisor.spawn("db", config(clock, 2));
    clock.advanceBy(100);
    web.observe({ objective: 1, generation: web.generation, timestamp: clock.now() }); // a timed window opens
    expect(supervisor.send("web", { type: "observe", digest: poisonDigest(web, clock.now()) })).toBe(true);
    expect(() => vi.runAllTimers()).not.toThrow();
    expect(supervisor.names()).toEqual(["db"]);
    expect((supervisor.failure("web") as Error).message).toBe("engine bug");
    expect(closedOf(web, clock)).toBe(true);
    expect(supervisor.actor.system.get("web")).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/onFailure\("web"\) threw \(pager for web unreachable\)/);
    // The sibling keeps tuning and the name can be spawned again.
    expect(db.observe({ objective: 1, generation: db.generation, timestamp: clock.now() })).toBe("accepted");
    supervisor.spawn("web", config(clock, 3));
    expect(supervisor.names()).toEqual(["db", "web"]);
    await supervisor.close();
    expect(clock.pendingActions).toBe(0);
  });

  it("a failure of a control command whose onFailure throws leaves the process and the siblings alone", async () => {
    vi.useFakeTimers();
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const clock = new ManualClock();
    const supervisor = make((name) => {
      throw new Error(`pager for ${name} unreachable`);
    });
    // Armed, the engine's next schedule call throws: the command hits an internal failure. (A
    // command the engine refuses is not a failure: test/supervisor-refusals.test.ts.)
    let armed = false;
    const web = supervisor.spawn("web", config(clock, 1, { scheduler: brokenOnce(clock, () => armed) }));
    supervisor.spawn("db", config(clock, 2));
    clock.advanceBy(100); // what the spawn scheduled has run
    armed = true;
    expect(supervisor.send("web", { type: "setBaseline" })).toBe(true);
    expect(() => vi.runAllTimers()).not.toThrow();
    expect(supervisor.names()).toEqual(["db"]);
    expect(String(supervisor.failure("web"))).toMatch(/schedule #\d+ failed/);
    expect(closedOf(web, clock)).toBe(true);
    expect(supervisor.get("db")!.mode).toBe("normal");
    await supervisor.close();
  });

  it("onFailure can restart the engine under the same name", async () => {
    const clock = new ManualClock();
    const restarted: Engine[] = [];
    const supervisor: Supervisor = make((name) => {
      restarted.push(supervisor.spawn(name, config(clock, 9)));
    });
    const web = supervisor.spawn("web", config(clock, 1));
    supervisor.spawn("db", config(clock, 2));
    supervisor.send("web", { type: "observe", digest: poisonDigest(web, clock.now()) });
    expect(restarted).toHaveLength(1);
    expect(supervisor.get("web")).toBe(restarted[0]);
    expect(supervisor.get("web")).not.toBe(web);
    expect(supervisor.names()).toEqual(["db", "web"]);
    // The new engine runs: it has not failed.
    expect(supervisor.failure("web")).toBeUndefined();
    expect(closedOf(web, clock)).toBe(true);
    clock.advanceBy(100);
    const fresh = restarted[0]!;
    expect(
      supervisor.send("web", {
        type: "observe",
        digest: { objective: 1, generation: fresh.generation, timestamp: clock.now() },
      }),
    ).toBe(true);
    expect(fresh.snapshot().digests.accepted).toBe(1);
    await supervisor.close();
  });

  it("a restart from onFailure that fails keeps a failure record for the name", async () => {
    const clock = new ManualClock();
    const errors: unknown[] = [];
    const supervisor: Supervisor = make((name) => {
      try {
        supervisor.spawn(name, { ...config(clock, 9), params: { x: { min: 5, max: 1 } } });
      } catch (error) {
        errors.push(error);
      }
    });
    const web = supervisor.spawn("web", config(clock, 1));
    supervisor.send("web", { type: "observe", digest: poisonDigest(web, clock.now()) });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConfigError);
    expect(supervisor.names()).toEqual([]);
    expect(supervisor.failure("web")).toBe(errors[0]);
    await supervisor.close();
  });
});
