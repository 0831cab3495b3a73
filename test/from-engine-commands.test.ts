import { describe, expect, it } from "vitest";
import { type AnyActorRef, createActor, setup } from "xstate";
import type { EngineConfig } from "../src/engine/config.js";
import type { EngineSnapshot } from "../src/engine/engine.js";
import {
  type EngineCommand,
  type EngineNotification,
  engineOf,
  fromEngine,
} from "../src/engine/from-engine.js";
import { createSupervisor } from "../src/engine/supervisor.js";
import { ConfigError, UsageError } from "../src/errors.js";
import { createMemoryInspector } from "../src/inspect/memory-inspector.js";
import { ManualClock } from "./support/engine-clock.js";

function config(clock: ManualClock): EngineConfig {
  return { seed: 1, params: { x: { min: 0, max: 10, init: 5 } }, window: { digests: 2 }, scheduler: clock };
}

/** Malformed commands and the field each error must name. */
const BAD_COMMANDS: readonly (readonly [unknown, RegExp])[] = [
  [undefined, /send\("a"\): command must be an object with a type, got undefined/],
  [null, /command must be an object with a type, got null/],
  ["halt", /command must be an object with a type, got "halt"/],
  [{ type: "Halt", reason: "x" }, /command\.type must be one of observe, halt, .*got "Halt"/],
  [{ reason: "x" }, /command\.type must be one of .*got undefined/],
  [{ type: "resetSafeMode" }, /command\.acknowledge of resetSafeMode must be a string, got undefined/],
  [{ type: "rollback", reason: 42 }, /command\.reason of rollback must be a string when given, got 42/],
];

describe.each([
  { path: "direct observe", inspected: false },
  { path: "actor", inspected: true },
])("Supervisor.send with a malformed command ($path path)", ({ inspected }) => {
  it("throws a UsageError naming the field, and leaves the engine running untouched", async () => {
    const clock = new ManualClock();
    const failures: string[] = [];
    const supervisor = createSupervisor({
      ...(inspected ? { inspect: createMemoryInspector().inspect } : {}),
      onFailure: (name) => failures.push(name),
    });
    const engine = supervisor.spawn("a", config(clock));
    const notes: (string | undefined)[] = [];
    engine.events.subscribe((event) => {
      if (event.type === "command") notes.push(event.note);
    });
    for (const [command, message] of BAD_COMMANDS) {
      expect(() => supervisor.send("a", command as EngineCommand)).toThrow(UsageError);
      expect(() => supervisor.send("a", command as EngineCommand)).toThrow(message);
    }
    expect(failures).toEqual([]);
    expect(supervisor.failure("a")).toBeUndefined();
    expect(supervisor.names()).toEqual(["a"]);
    expect(supervisor.get("a")).toBe(engine);
    expect(engine.mode).toBe("normal");
    // The engine still takes well-formed commands. A halt is never refused, as engine.halt() is
    // not: one with a reason of the wrong type halts all the same, and its reason is kept as
    // shown rather than dropped.
    expect(supervisor.send("a", { type: "halt", reason: 5 } as unknown as EngineCommand)).toBe(true);
    expect(engine.mode).toBe("halted");
    expect(engine.snapshot().reasons).toEqual(["manualHalt"]);
    expect(supervisor.send("a", { type: "halt", reason: null } as unknown as EngineCommand)).toBe(true);
    const halt = (reason: unknown) =>
      supervisor.send("a", { type: "halt", reason } as unknown as EngineCommand);
    halt(new RangeError("disk full"));
    halt({ ticket: "INC-42" });
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    halt(cyclic);
    engine.flushEvents();
    expect(notes).toEqual([
      "halted by the host; reason given: 5",
      "halted by the host",
      "halted by the host; reason given: RangeError: disk full",
      'halted by the host; reason given: {"ticket":"INC-42"}',
      "halted by the host; reason given: an object",
    ]);
    await supervisor.close();
  });
});

describe("fromEngine commands", () => {
  function host(clock: ManualClock) {
    const machine = setup({ actors: { tuner: fromEngine(config(clock), { started: false }) } }).createMachine(
      {
        invoke: { id: "tuner", src: "tuner" },
      },
    );
    const actor = createActor(machine).start();
    const child = actor.getSnapshot().children.tuner as AnyActorRef;
    return { actor, child, engine: engineOf(child)! };
  }

  it("ignores events that are not engine commands, as XState actors do, and keeps running", () => {
    const clock = new ManualClock();
    const { actor, child, engine } = host(clock);
    // (Not an object at all is XState's to refuse: its callback actors read `event.type` first.)
    for (const event of [{ type: "Halt", reason: "x" }, { type: "xstate.unknown" }, { type: 5 }, {}]) {
      child.send(event as EngineCommand);
    }
    expect((child.getSnapshot() as { status: string }).status).toBe("active");
    expect(engineOf(child)).toBe(engine);
    expect(engine.mode).toBe("normal");
    child.send({ type: "halt", reason: "maintenance" });
    expect(engine.mode).toBe("halted");
    actor.stop();
  });
});

describe("fromEngine and createSupervisor options", () => {
  it("name a misspelt option instead of dropping it", () => {
    const clock = new ManualClock();
    expect(() => fromEngine(config(clock), { snapshot: false } as never)).toThrow(
      'snapshot: unknown option "snapshot" (did you mean snapshots? known: started, events, snapshots, flush)',
    );
    expect(() => createSupervisor({ onFailur: () => {} } as never)).toThrow(ConfigError);
    expect(() => createSupervisor({ onFailur: () => {} } as never)).toThrow(
      'onFailur: unknown option "onFailur" (did you mean onFailure? known: inspect, onFailure, notifications)',
    );
  });
});

describe("fromEngine: a known command of the wrong shape", () => {
  it("is refused and reported to the parent, reaching no engine; the actor and engine run on", () => {
    const clock = new ManualClock();
    const refused: Extract<EngineNotification, { type: "engine.commandRefused" }>[] = [];
    const machine = setup({
      types: { events: {} as EngineNotification },
      actors: { tuner: fromEngine(config(clock), { started: false, events: false, snapshots: false }) },
    }).createMachine({
      invoke: { id: "tuner", src: "tuner" },
      on: { "engine.commandRefused": { actions: ({ event }) => refused.push(event) } },
    });
    const actor = createActor(machine).start();
    const child = actor.getSnapshot().children.tuner as AnyActorRef;
    const engine = engineOf(child)!;
    child.send({ type: "halt", reason: "maintenance" });
    // An empty form field, and a reason of the wrong type.
    child.send({ type: "resetSafeMode", acknowledge: undefined } as unknown as EngineCommand);
    child.send({ type: "rollback", reason: 5 } as unknown as EngineCommand);
    expect(refused.map(({ engineId, reason }) => ({ engineId, reason }))).toEqual([
      {
        engineId: "tuner",
        reason: "command.acknowledge of resetSafeMode must be a string, got undefined",
      },
      { engineId: "tuner", reason: "command.reason of rollback must be a string when given, got 5" },
    ]);
    expect(refused[1]!.command).toEqual({ type: "rollback", reason: 5 });
    expect(actor.getSnapshot().status).toBe("active");
    expect((child.getSnapshot() as { status: string }).status).toBe("active");
    expect(engine.mode).toBe("halted");
    child.send({ type: "resetSafeMode", acknowledge: "ops on call" });
    expect(engine.mode).toBe("normal");
    actor.stop();
  });
});

describe("fromEngine engine.snapshot after commands", () => {
  /** The modes of the snapshots sent for halt, resetSafeMode, halt sent in one macrotask. */
  function modes(flush: boolean): string[] {
    const clock = new ManualClock();
    const snapshots: EngineSnapshot[] = [];
    const machine = setup({
      types: { events: {} as EngineNotification },
      actors: { tuner: fromEngine(config(clock), { started: false, events: false, flush }) },
    }).createMachine({
      invoke: { id: "tuner", src: "tuner" },
      on: { "engine.snapshot": { actions: ({ event }) => snapshots.push(event.snapshot) } },
    });
    const actor = createActor(machine).start();
    clock.advanceBy(1); // the baseline.set of the start
    const child = actor.getSnapshot().children.tuner as AnyActorRef;
    const before = snapshots.length;
    child.send({ type: "halt", reason: "maintenance" });
    child.send({ type: "resetSafeMode", acknowledge: "ops on call" });
    child.send({ type: "halt", reason: "again" });
    clock.advanceBy(1);
    actor.stop();
    return snapshots.slice(before).map((snapshot) => snapshot.mode);
  }

  it("are taken when each event is delivered: at once with flush, together on the scheduler without", () => {
    expect(modes(true)).toEqual(["halted", "normal", "halted"]);
    // One delivery for the three events: each snapshot is the state after the last (as documented).
    expect(modes(false)).toEqual(["halted", "halted", "halted"]);
  });
});

describe("fromEngine options", () => {
  it.each([
    [["aply"], /events: "aply" is not an audit event type/],
    ["apply", /events: must be a boolean or an array of audit event types, got "apply"/],
    [1, /events: must be a boolean or an array of audit event types, got 1/],
    [["apply", 7], /events: 7 is not an audit event type/],
  ])("refuses events = %j with a ConfigError naming the entry", (events, message) => {
    const clock = new ManualClock();
    const make = () => fromEngine(config(clock), { events: events as never });
    expect(make).toThrow(ConfigError);
    expect(make).toThrow(message);
    // The supervisor names the entry by its own option: notifications.events.
    expect(() => createSupervisor({ notifications: { events: events as never } })).toThrow(
      new RegExp(`notifications\\.${message.source}`),
    );
  });

  it("refuses a non-boolean started, snapshots or flush", () => {
    const clock = new ManualClock();
    for (const key of ["started", "snapshots", "flush"]) {
      expect(() => fromEngine(config(clock), { [key]: "yes" })).toThrow(
        new RegExp(`${key}: must be a boolean, got "yes"`),
      );
    }
  });

  it("accepts every audit event type by name", () => {
    const clock = new ManualClock();
    expect(() =>
      fromEngine(config(clock), { events: ["apply", "mode.changed", "homeostasis.refuted", "command"] }),
    ).not.toThrow();
  });
});
