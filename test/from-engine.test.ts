import { describe, expect, it } from "vitest";
import { type AnyActorRef, assign, createActor, sendTo, setup } from "xstate";
import type { AuditEvent } from "../src/audit/events.js";
import type { EngineConfig } from "../src/engine/config.js";
import type { Digest } from "../src/engine/digest.js";
import type { EngineSnapshot } from "../src/engine/engine.js";
import {
  type EngineCommand,
  type EngineNotification,
  engineOf,
  type FromEngineOptions,
  fromEngine,
} from "../src/engine/from-engine.js";
import { ConfigError, UsageError } from "../src/errors.js";
import { createMemoryInspector } from "../src/inspect/memory-inspector.js";
import { ManualClock } from "./support/engine-clock.js";

const PARAMS = { x: { min: 0, max: 10, init: 5 } } as const satisfies EngineConfig["params"];

function tunerConfig(clock: ManualClock, extra: Partial<EngineConfig> = {}): EngineConfig {
  return { seed: 11, params: PARAMS, window: { digests: 2 }, scheduler: clock, ...extra };
}

interface HostContext {
  readonly started: number;
  readonly events: readonly AuditEvent[];
  readonly snapshots: readonly EngineSnapshot[];
  readonly error: unknown;
}

type HostEvent =
  | { type: "digest"; digest: Digest }
  | { type: "command"; command: EngineCommand }
  | { type: "leave" }
  | EngineNotification;

/** A user's machine that invokes an engine while in `tuning`, forwards digests and records what it hears. */
function hostMachine(config: EngineConfig, options?: FromEngineOptions) {
  return setup({
    types: { context: {} as HostContext, events: {} as HostEvent },
    actors: { tuner: fromEngine(config, options) },
  }).createMachine({
    id: "host",
    context: { started: 0, events: [], snapshots: [], error: undefined },
    initial: "tuning",
    states: {
      tuning: {
        invoke: {
          id: "tuner",
          src: "tuner",
          onError: { target: "failed", actions: assign({ error: ({ event }) => event.error }) },
        },
        on: {
          digest: {
            actions: sendTo("tuner", ({ event }) => ({ type: "observe" as const, digest: event.digest })),
          },
          command: { actions: sendTo("tuner", ({ event }) => event.command) },
          leave: "idle",
        },
      },
      idle: {},
      failed: {},
    },
    on: {
      "engine.started": { actions: assign({ started: ({ context }) => context.started + 1 }) },
      "engine.event": {
        actions: assign({ events: ({ context, event }) => [...context.events, event.event] }),
      },
      "engine.snapshot": {
        actions: assign({ snapshots: ({ context, event }) => [...context.snapshots, event.snapshot] }),
      },
    },
  });
}

/** The running child actor and its engine. */
function tunerOf(host: { getSnapshot(): { children: Record<string, AnyActorRef | undefined> } }) {
  const child = host.getSnapshot().children.tuner;
  if (child === undefined) throw new Error("no tuner child");
  const engine = engineOf(child);
  if (engine === undefined) throw new Error("tuner has no engine");
  return { child, engine };
}

/** Feeds `count` digests through the host, one every 100 ms (the balanced guardrails' minimum interval). */
function feed(
  host: ReturnType<typeof createActor<ReturnType<typeof hostMachine>>>,
  clock: ManualClock,
  count: number,
) {
  for (let i = 0; i < count; i++) {
    clock.advanceBy(100);
    const { engine } = tunerOf(host);
    const objective = (engine.values[0]! - 3) ** 2;
    host.send({
      type: "digest",
      digest: { objective, generation: engine.generation, timestamp: clock.now() },
    });
  }
}

describe("fromEngine", () => {
  it("runs an engine as an invoked child: digests in, applies and snapshots reported to the parent", () => {
    const clock = new ManualClock();
    const host = createActor(hostMachine(tunerConfig(clock))).start();
    expect(host.getSnapshot().context.started).toBe(1);
    feed(host, clock, 12);
    clock.advanceBy(1); // deliver the audit events (they travel on the engine's scheduler)
    const { context } = host.getSnapshot();
    const applies = context.events.filter((e) => e.type === "apply");
    expect(applies.length).toBeGreaterThan(0);
    expect(context.events[0]?.type).toBe("baseline.set");
    const last = context.snapshots.at(-1)!;
    expect(last.generation).toBe(tunerOf(host).engine.generation);
    expect(last.generation).toBeGreaterThan(0);
    host.stop();
  });

  it("closes the engine when the parent stops: no timers left, observe says closed", async () => {
    const clock = new ManualClock();
    const host = createActor(hostMachine({ ...tunerConfig(clock), window: { digests: 5, ms: 500 } })).start();
    feed(host, clock, 3);
    const { engine } = tunerOf(host);
    expect(clock.pendingActions).toBeGreaterThan(0); // the window timer (and audit delivery) are pending
    host.stop();
    await Promise.resolve();
    expect(clock.pendingActions).toBe(0);
    expect(engine.observe({ objective: 1, generation: engine.generation, timestamp: clock.now() })).toBe(
      "closed",
    );
  });

  it("closes the engine when the invoking state is left", () => {
    const clock = new ManualClock();
    const host = createActor(hostMachine({ ...tunerConfig(clock), window: { digests: 5, ms: 500 } })).start();
    const { child, engine } = tunerOf(host);
    host.send({ type: "leave" });
    expect(host.getSnapshot().value).toBe("idle");
    expect(engineOf(child)).toBeUndefined();
    expect(clock.pendingActions).toBe(0);
    expect(engine.observe({ objective: 1, generation: engine.generation, timestamp: clock.now() })).toBe(
      "closed",
    );
    host.stop();
  });

  it("fails the child with the ConfigError of an invalid config; the parent handles it", () => {
    const clock = new ManualClock();
    const bad = { ...tunerConfig(clock), params: { x: { min: 5, max: 1 } } };
    const host = createActor(hostMachine(bad)).start();
    const snapshot = host.getSnapshot();
    expect(snapshot.value).toBe("failed");
    expect(snapshot.context.error).toBeInstanceOf(ConfigError);
    expect((snapshot.context.error as ConfigError).issues[0]?.path).toBe("params.x.max");
    expect(snapshot.context.started).toBe(0);
    host.stop();
  });

  it("fails a child restored from a persisted snapshot instead of starting a new, unhalted engine", () => {
    const clock = new ManualClock();
    const machine = hostMachine(tunerConfig(clock));
    const host = createActor(machine).start();
    feed(host, clock, 12);
    host.send({ type: "command", command: { type: "halt", reason: "operator" } });
    expect(tunerOf(host).engine.mode).toBe("halted");
    const persisted = host.getPersistedSnapshot();
    host.stop();

    const restored = createActor(machine, { snapshot: persisted }).start();
    const { value, context } = restored.getSnapshot();
    expect(value).toBe("failed");
    expect(context.error).toBeInstanceOf(UsageError);
    expect((context.error as Error).message).toMatch(
      /^engine actor "tuner" cannot be restored from a persisted snapshot: .*a halt would be lifted/,
    );
    // No engine was started in the halted one's place.
    expect(context.started).toBe(1);
    expect(clock.pendingActions).toBe(0);
    restored.stop();
  });

  it("forwards halt, resetSafeMode and rollback to the engine (audited), with flush delivering at once", () => {
    const clock = new ManualClock();
    const host = createActor(
      hostMachine(tunerConfig(clock), { flush: true, events: ["mode.changed", "rollback"] }),
    ).start();
    const { engine } = tunerOf(host);
    feed(host, clock, 6);
    const generation = engine.generation;
    expect(generation).toBeGreaterThan(0);
    host.send({ type: "command", command: { type: "halt", reason: "maintenance" } });
    expect(engine.mode).toBe("halted");
    expect(host.getSnapshot().context.events.map((e) => e.type)).toEqual(["mode.changed"]);
    host.send({ type: "command", command: { type: "resetSafeMode", acknowledge: "ops on call" } });
    expect(engine.mode).toBe("normal");
    host.send({ type: "command", command: { type: "rollback", reason: "back to start" } });
    expect(engine.values[0]).toBe(5);
    expect(host.getSnapshot().context.events.map((e) => e.type)).toEqual([
      "mode.changed",
      "mode.changed",
      "rollback",
    ]);
    const modes = host.getSnapshot().context.snapshots.map((s) => s.mode);
    expect(modes.slice(-3)).toEqual(["halted", "normal", "normal"]);
    host.stop();
  });

  it("fails the child, closing its engine, when a command throws inside the engine", () => {
    const clock = new ManualClock();
    const host = createActor(hostMachine(tunerConfig(clock))).start();
    const { engine } = tunerOf(host);
    // observe never throws on any digest (each field is read once), so an internal bug is
    // simulated by breaking this engine's observe.
    const observe = engine.observe.bind(engine);
    engine.observe = () => {
      throw new Error("engine bug");
    };
    const digest = { objective: 1, generation: engine.generation, timestamp: clock.now() };
    host.send({ type: "digest", digest });
    expect(host.getSnapshot().value).toBe("failed");
    expect((host.getSnapshot().context.error as Error).message).toBe("engine bug");
    engine.observe = observe;
    expect(engine.observe({ objective: 1, generation: engine.generation, timestamp: clock.now() })).toBe(
      "closed",
    );
    expect(clock.pendingActions).toBe(0);
    host.stop();
  });

  it("takes the engine's inspect sink from the config: the engine's own actors are inspectable", () => {
    const clock = new ManualClock();
    const memory = createMemoryInspector();
    const host = createActor(hostMachine({ ...tunerConfig(clock), inspect: memory.inspect })).start();
    feed(host, clock, 4);
    expect(memory.snapshots("spsa").length).toBeGreaterThan(1);
    host.stop();
  });
});
