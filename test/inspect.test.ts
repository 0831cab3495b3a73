import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, expectTypeOf, it, vi } from "vitest";
import { assign, createActor, type InspectionEvent, type StateValue, setup } from "xstate";
import { createEngine } from "../src/engine/engine.js";
import { createSupervisor } from "../src/engine/supervisor.js";
import {
  createJsonlInspector,
  createMemoryInspector,
  type InspectionRecord,
  stringifySafe,
  toJsonSafe,
} from "../src/inspect/index.js";
import { createSolver } from "../src/solver/solver.js";
import { ManualClock } from "./support/engine-clock.js";

/** A small chart whose context holds what plain JSON cannot: a typed array, a function, a cycle. */
function awkwardMachine() {
  return setup({
    types: {
      context: {} as { count: number; buffer: Float64Array; hook: () => void; self: { me?: unknown } },
      events: {} as { type: "bump" },
    },
  }).createMachine({
    id: "awkward",
    initial: "idle",
    context: () => {
      const self: { me?: unknown } = {};
      self.me = self;
      return { count: 0, buffer: new Float64Array([1.5, Number.NaN]), hook: function hook() {}, self };
    },
    states: {
      idle: {
        on: { bump: { target: "busy", actions: assign({ count: ({ context }) => context.count + 1 }) } },
      },
      busy: {
        on: { bump: { target: "idle", actions: assign({ count: ({ context }) => context.count + 1 }) } },
      },
    },
  });
}

describe("toJsonSafe", () => {
  it("writes typed arrays, functions, cycles, non-finite numbers and bigints in a JSON-safe form", () => {
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.again = cyclic;
    const value = {
      values: new Float64Array([1, Number.POSITIVE_INFINITY]),
      ids: new BigInt64Array([3n]),
      fn: function tune() {},
      cyclic,
      nan: Number.NaN,
      big: 12n,
      when: new Date(0),
      map: new Map([["a", 1]]),
      error: new RangeError("out"),
      gone: undefined,
    };
    expect(toJsonSafe(value)).toEqual({
      values: [1, "Infinity"],
      ids: ["3"],
      fn: "[Function tune]",
      cyclic: { name: "loop", again: "[Circular]" },
      nan: "NaN",
      big: "12",
      when: "1970-01-01T00:00:00.000Z",
      map: [["a", 1]],
      error: { name: "RangeError", message: "out" },
    });
  });

  it("copies typed arrays when called, so later in-place writes do not change the record", () => {
    const live = new Float64Array([1, 2]);
    const record = toJsonSafe({ live });
    live[0] = 99;
    expect(record).toEqual({ live: [1, 2] });
  });

  it("keeps shared (non-cyclic) references, truncates long arrays and deep nesting, survives throwing getters", () => {
    const shared = { k: 1 };
    const throwing = Object.defineProperty({}, "bad", {
      enumerable: true,
      get() {
        throw new Error("no");
      },
    });
    expect(toJsonSafe({ a: shared, b: shared, throwing })).toEqual({
      a: { k: 1 },
      b: { k: 1 },
      throwing: { bad: "[Throws]" },
    });
    expect(toJsonSafe([1, 2, 3, 4], { maxArrayLength: 2 })).toEqual([1, 2, "[… 2 more]"]);
    expect(toJsonSafe({ a: { b: { c: 1 } } }, { maxDepth: 2 })).toEqual({ a: { b: "[MaxDepth]" } });
  });

  it("reads a Map or Set only up to maxArrayLength, and says how many it left out", () => {
    // Collections whose iterators count the entries pulled out of them.
    let pulled = 0;
    class CountingMap<K, V> extends Map<K, V> {
      override *entries(): MapIterator<[K, V]> {
        for (const entry of super.entries()) {
          pulled++;
          yield entry;
        }
      }
    }
    class CountingSet<T> extends Set<T> {
      override *values(): SetIterator<T> {
        for (const value of super.values()) {
          pulled++;
          yield value;
        }
      }
    }
    const map = new CountingMap<number, string>();
    const set = new CountingSet<number>();
    for (let i = 0; i < 10_000; i++) {
      map.set(i, `v${i}`);
      set.add(i);
    }
    expect(toJsonSafe(map, { maxArrayLength: 3 })).toEqual([
      [0, "v0"],
      [1, "v1"],
      [2, "v2"],
      "[… 9997 more]",
    ]);
    expect(pulled).toBeLessThanOrEqual(4);
    pulled = 0;
    expect(toJsonSafe({ set }, { maxArrayLength: 2 })).toEqual({ set: [0, 1, "[… 9998 more]"] });
    expect(pulled).toBeLessThanOrEqual(3);
    pulled = 0;
    expect(toJsonSafe(map, { maxArrayLength: 0 })).toEqual(["[… 10000 more]"]);
    expect(pulled).toBe(0);
    // Within the limit, nothing is summarised.
    expect(toJsonSafe(new Map([["a", new Set([1])]]), { maxArrayLength: 2 })).toEqual([["a", [1]]]);
    expect(toJsonSafe(new Set(), { maxArrayLength: 1 })).toEqual([]);
  });

  it("always yields a string that parses back to the safe form (property)", () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withTypedArray: true, withMap: true, withSet: true, withDate: true }),
        (value) => {
          const line = stringifySafe(value);
          expect(typeof line).toBe("string");
          expect(JSON.parse(line)).toEqual(toJsonSafe(value));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("createMemoryInspector", () => {
  it("records every inspection event of an actor in order, and its snapshots by actor name", () => {
    const memory = createMemoryInspector();
    const actor = createActor(awkwardMachine(), { inspect: memory.inspect, systemId: "awkward" }).start();
    actor.send({ type: "bump" });
    actor.send({ type: "bump" });
    expect(memory.types()).toEqual([
      "@xstate.actor",
      "@xstate.event",
      "@xstate.snapshot",
      "@xstate.event",
      "@xstate.microstep",
      "@xstate.snapshot",
      "@xstate.event",
      "@xstate.microstep",
      "@xstate.snapshot",
    ]);
    // A machine's snapshot reads by its state value without a cast (type-checked by tsc).
    const states = memory.snapshots("awkward").map((s) => s.value);
    expectTypeOf(states).toEqualTypeOf<(StateValue | undefined)[]>();
    expect(states).toEqual(["idle", "busy", "idle"]);
    expect(memory.snapshots("nobody")).toEqual([]);
    memory.clear();
    expect(memory.events).toHaveLength(0);
    actor.stop();
  });
});

describe("createJsonlInspector", () => {
  it("writes one parseable line per event, with actor ids, the event and a safe copy of the snapshot", () => {
    const lines: string[] = [];
    const jsonl = createJsonlInspector({ write: (chunk) => lines.push(chunk) });
    const actor = createActor(awkwardMachine(), { inspect: jsonl.inspect, systemId: "awkward" }).start();
    actor.send({ type: "bump" });
    expect(jsonl.error).toBeUndefined();
    expect(lines.every((line) => line.endsWith("\n") && !line.slice(0, -1).includes("\n"))).toBe(true);
    const records = lines.map((line) => JSON.parse(line) as InspectionRecord);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    expect(jsonl.written).toBe(records.length);
    for (const r of records) {
      expect(r.actorId).toBe(actor.sessionId);
      expect(r.rootId).toBe(actor.sessionId);
    }
    // XState announces an actor before registering its system id.
    expect(records[0]).toMatchObject({ type: "@xstate.actor", machine: "awkward" });
    expect(records.slice(1).every((r) => r.systemId === "awkward")).toBe(true);
    const last = records.at(-1)!;
    expect(last.type).toBe("@xstate.snapshot");
    expect(last.event).toEqual({ type: "bump" });
    expect(last.snapshot).toEqual({
      status: "active",
      value: "busy",
      context: { count: 1, buffer: [1.5, "NaN"], hook: "[Function hook]", self: { me: "[Circular]" } },
    });
    actor.stop();
  });

  it("keeps only the included event types and appends to a file it closes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arqon-inspect-"));
    try {
      const path = join(dir, "inspect.jsonl");
      const jsonl = createJsonlInspector(path, { include: ["@xstate.snapshot"] });
      const actor = createActor(awkwardMachine(), { inspect: jsonl.inspect }).start();
      actor.send({ type: "bump" });
      await jsonl.close();
      actor.send({ type: "bump" }); // after close: not written
      actor.stop();
      const records = readFileSync(path, "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as InspectionRecord);
      expect(records.map((r) => r.type)).toEqual(["@xstate.snapshot", "@xstate.snapshot"]);
      expect(records.map((r) => (r.snapshot as { value: string }).value)).toEqual(["idle", "busy"]);
      expect(jsonl.error).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses an include that names no inspection event type, before opening anything", () => {
    const dir = mkdtempSync(join(tmpdir(), "arqon-inspect-"));
    try {
      const path = join(dir, "inspect.jsonl");
      expect(() => createJsonlInspector(path, { include: ["@xstate.bogus" as never] })).toThrow(
        /include holds "@xstate.bogus", not an inspection event type \(@xstate.actor, @xstate.event, /,
      );
      expect(() => createJsonlInspector(path, { include: "@xstate.event" as never })).toThrow(
        'createJsonlInspector: include must be an array of inspection event types, got "@xstate.event"',
      );
      expect(existsSync(path)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("resolves every close, the second included, only once the file is flushed and closed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arqon-inspect-"));
    try {
      const path = join(dir, "inspect.jsonl");
      const jsonl = createJsonlInspector(path);
      const actor = createActor(awkwardMachine(), { inspect: jsonl.inspect }).start();
      actor.send({ type: "bump" });
      const first = jsonl.close();
      // A second owner (a shutdown handler, a finally) closing too may read the file right after.
      await jsonl.close();
      expect(readFileSync(path, "utf8").trim().split("\n").length).toBe(jsonl.written);
      await first;
      actor.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("never throws into XState when the writable fails; it keeps the first error", () => {
    const jsonl = createJsonlInspector({
      write: () => {
        throw new Error("disk full");
      },
    });
    const actor = createActor(awkwardMachine(), { inspect: jsonl.inspect }).start();
    actor.send({ type: "bump" });
    expect(actor.getSnapshot().value).toBe("busy");
    expect((jsonl.error as Error).message).toBe("disk full");
    expect(jsonl.written).toBe(0);
    actor.stop();
  });

  it("counts no line for a file that could not be opened, and writes nothing after the error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arqon-inspect-"));
    try {
      const path = join(dir, "missing-dir", "inspect.jsonl");
      const jsonl = createJsonlInspector(path);
      const actor = createActor(awkwardMachine(), { inspect: jsonl.inspect }).start();
      for (let i = 0; i < 5; i++) actor.send({ type: "bump" });
      await jsonl.close();
      actor.stop();
      expect((jsonl.error as NodeJS.ErrnoException).code).toBe("ENOENT");
      expect(existsSync(path)).toBe(false);
      expect(jsonl.written).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("counts the lines a file took: all of them once close() resolves", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arqon-inspect-"));
    try {
      const path = join(dir, "inspect.jsonl");
      const jsonl = createJsonlInspector(path);
      const actor = createActor(awkwardMachine(), { inspect: jsonl.inspect }).start();
      for (let i = 0; i < 5; i++) actor.send({ type: "bump" });
      actor.stop();
      await jsonl.close();
      const lines = readFileSync(path, "utf8").trim().split("\n");
      expect(lines.length).toBeGreaterThan(10);
      expect(jsonl.written).toBe(lines.length);
      expect(lines.map((line) => (JSON.parse(line) as InspectionRecord).seq)).toEqual(
        lines.map((_, i) => i + 1),
      );
      expect(jsonl.error).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stops writing to a writable once it threw, and counts only the lines it accepted", () => {
    const accepted: string[] = [];
    let calls = 0;
    const jsonl = createJsonlInspector({
      write: (chunk) => {
        calls++;
        if (calls === 2) throw new Error("EPIPE");
        accepted.push(chunk);
      },
    });
    const actor = createActor(awkwardMachine(), { inspect: jsonl.inspect }).start();
    for (let i = 0; i < 3; i++) actor.send({ type: "bump" });
    expect(actor.getSnapshot().context.count).toBe(3);
    expect((jsonl.error as Error).message).toBe("EPIPE");
    expect(calls).toBe(2);
    expect(accepted).toHaveLength(1);
    expect(jsonl.written).toBe(1);
    actor.stop();
  });
});

describe("createSolver inspect", () => {
  it("forwards the lifecycle actor's inspection events, in order, for a short solve", () => {
    const memory = createMemoryInspector();
    const solver = createSolver({
      seed: 3,
      budget: 12,
      bounds: { x: { min: -1, max: 1 } },
      strategy: "nelder-mead",
      inspect: memory.inspect,
    });
    for (let batch = solver.ask(); batch !== null && batch.length > 0; batch = solver.ask()) {
      solver.tell(batch.map((t) => ({ id: t.id, value: t.params.x! ** 2 })));
    }
    const steps = memory.events.map((e) => {
      const event = "event" in e ? e.event.type : "";
      const state =
        "snapshot" in e ? JSON.stringify((e.snapshot as unknown as { value: unknown }).value) : "";
      return `${e.type} ${event} ${state}`.trim();
    });
    expect(steps).toEqual([
      "@xstate.actor",
      "@xstate.event xstate.init",
      '@xstate.snapshot xstate.init "probe"',
      "@xstate.event probe.completed",
      '@xstate.microstep probe.completed "classify"',
      '@xstate.microstep probe.completed "select"',
      '@xstate.microstep probe.completed {"refine":"nelderMead"}',
      '@xstate.snapshot probe.completed {"refine":"nelderMead"}',
      "@xstate.event budget.spent",
      '@xstate.microstep budget.spent "done"',
      '@xstate.snapshot budget.spent "done"',
    ]);
    // The sink is not part of the saved state.
    expect(Object.keys(solver.toJSON().config)).not.toContain("inspect");
  });

  it("shows a batch that reaches past the probe as probe.dispatched, and the late classification", () => {
    const steps = (strategy: "auto" | "nelder-mead") => {
      const memory = createMemoryInspector();
      const solver = createSolver({
        seed: 3,
        budget: 30,
        bounds: { x: { min: -1, max: 1 } },
        strategy,
        inspect: memory.inspect,
      });
      const probe = solver.ask()!;
      solver.tell({ id: probe[0]!.id, value: probe[0]!.params.x! ** 2 });
      const early = solver.ask({ max: 2 })!;
      solver.tell([...probe.slice(1), ...early].map((t) => ({ id: t.id, value: t.params.x! ** 2 })));
      solver.stop();
      return memory.events.slice(3).map((e) => {
        const event = "event" in e ? e.event.type : "";
        const snapshot =
          "snapshot" in e
            ? (e.snapshot as unknown as {
                value: unknown;
                context: { classification: { label: string } | null };
              })
            : null;
        const state = snapshot === null ? "" : JSON.stringify(snapshot.value);
        const label =
          e.type === "@xstate.snapshot" ? ` ${snapshot!.context.classification?.label ?? "none"}` : "";
        return `${e.type} ${event} ${state}${label}`.trim();
      });
    };
    const auto = steps("auto");
    expect(auto.slice(0, 4)).toEqual([
      "@xstate.event probe.dispatched",
      '@xstate.microstep probe.dispatched "select"',
      '@xstate.microstep probe.dispatched {"refine":"globalLocal"}',
      '@xstate.snapshot probe.dispatched {"refine":"globalLocal"} none',
    ]);
    expect(auto[4]).toBe("@xstate.event probe.completed");
    expect(auto[5]).toBe('@xstate.microstep probe.completed {"refine":"globalLocal"}');
    expect(auto[6]).toMatch(
      /^@xstate\.snapshot probe\.completed \{"refine":"globalLocal"\} (structured|chaotic)$/,
    );
    // Forced Nelder–Mead waits for the probe: its ask returns nothing and emits nothing.
    const nm = steps("nelder-mead");
    expect(nm.some((line) => line.includes("probe.dispatched"))).toBe(false);
    expect(nm[0]).toBe("@xstate.event probe.completed");
  });

  it("rejects an inspect option that is not a function", () => {
    expect(() =>
      createSolver({ seed: 1, budget: 5, bounds: { x: { min: 0, max: 1 } }, inspect: 3 as never }),
    ).toThrow(/inspect: expected a function/);
  });
});

describe("engine inspection through a JSONL sink", () => {
  it("logs the engine's actors (root, SPSA cycle, hot path, SafeMode) by system id as it tunes", async () => {
    const lines: string[] = [];
    const jsonl = createJsonlInspector({ write: (chunk) => lines.push(chunk) });
    const clock = new ManualClock();
    const engine = createEngine({
      seed: 5,
      params: { x: { min: 0, max: 10, init: 5 } },
      window: { digests: 2 },
      scheduler: clock,
      inspect: jsonl.inspect,
    });
    for (let i = 0; i < 10; i++) {
      clock.advanceBy(100);
      engine.observe({
        objective: (engine.values[0]! - 3) ** 2,
        generation: engine.generation,
        timestamp: clock.now(),
      });
    }
    await engine.close();
    await jsonl.close();
    expect(jsonl.error).toBeUndefined();
    const records = lines.map((line) => JSON.parse(line) as InspectionRecord);
    const systemIds = new Set(records.map((r) => r.systemId).filter((id) => id !== undefined));
    expect(systemIds.has("spsa")).toBe(true);
    expect(systemIds.has("hotPath")).toBe(true);
    const spsaEvents = records.filter((r) => r.systemId === "spsa" && r.type === "@xstate.event");
    expect(spsaEvents.map((r) => (r.event as { type: string }).type)).toContain("window.closed");
    // Every record belongs to the one system rooted at the engine's actor.
    expect(new Set(records.map((r) => r.rootId))).toEqual(new Set([engine.actor.sessionId]));
  });
});

/**
 * An engine tuning x in [0, 10] toward 3 on a manual clock, one digest per window: `step()` moves
 * the clock on 100 ms and closes one window.
 */
function tuningEngine(inspect?: (event: InspectionEvent) => void) {
  const clock = new ManualClock();
  const engine = createEngine({
    seed: 7,
    params: { x: { min: 0, max: 10, init: 5 } },
    window: { digests: 1 },
    scheduler: clock,
    ...(inspect === undefined ? {} : { inspect }),
  });
  const step = () => {
    clock.advanceBy(100);
    engine.observe({ objective: (engine.values[0]! - 3) ** 2, generation: engine.generation });
  };
  return { engine, step };
}

describe("an inspector attached to a running engine", () => {
  /** The SPSA chart's inspection events (type and state) over 30 windows of one engine. */
  function spsaStream(attach: "option" | "later" | "later, then detached"): string[] {
    const memory = createMemoryInspector();
    const { engine, step } = tuningEngine(attach === "option" ? memory.inspect : undefined);
    const subscription = attach === "option" ? undefined : engine.actor.system.inspect(memory.inspect);
    for (let i = 0; i < 30; i++) {
      if (i === 15 && attach === "later, then detached") subscription?.unsubscribe();
      step();
    }
    const spsa = engine.actor.system.get("spsa");
    void engine.close();
    return memory.events
      .filter((e) => e.actorRef === spsa && e.type !== "@xstate.actor")
      .map((e) => `${e.type} ${JSON.stringify((e as { snapshot?: { value?: unknown } }).snapshot?.value)}`);
  }

  it("sees the SPSA cycle's microsteps as one given at creation does, while it is attached", () => {
    const fromStart = spsaStream("option");
    expect(fromStart.filter((line) => line.startsWith("@xstate.microstep")).length).toBeGreaterThan(20);
    const later = spsaStream("later");
    // Attached before the first digest: the same stream, minus the creation's own events.
    expect(later).toEqual(fromStart.slice(fromStart.length - later.length));
    expect(later.filter((line) => line.startsWith("@xstate.microstep")).length).toBeGreaterThan(20);
    // Detached half-way: it saw the first half, and the engine ran on as before.
    const detached = spsaStream("later, then detached");
    expect(detached.length).toBeGreaterThan(0);
    expect(detached.length).toBeLessThan(later.length);
    expect(detached).toEqual(later.slice(0, detached.length));
  });

  it("lets the SPSA chart replay its cached transitions again once every inspector has left", () => {
    const { engine, step } = tuningEngine();
    /** How many distinct SPSA snapshots `windows` windows left: fewer when transitions are replayed. */
    const distinctSnapshots = (windows: number) => {
      const seen = new Set<unknown>();
      for (let i = 0; i < windows; i++) {
        step();
        seen.add(engine.actor.system.get("spsa")!.getSnapshot());
      }
      return seen.size;
    };
    expect(distinctSnapshots(12)).toBeLessThan(12); // no inspector: the same snapshots lap after lap
    const first = engine.actor.system.inspect(() => {});
    const second = engine.actor.system.inspect({ next: () => {} });
    expect(distinctSnapshots(12)).toBe(12);
    first.unsubscribe();
    first.unsubscribe(); // twice, counted once: the second inspector still watches
    expect(distinctSnapshots(12)).toBe(12);
    second.unsubscribe();
    expect(distinctSnapshots(12)).toBeLessThan(12);
    void engine.close();
  });
});

describe("an inspect sink that throws", () => {
  it("changes nothing in the engine it watches, even when a timer's transition calls it", () => {
    const run = (throwAt: number | undefined) => {
      const clock = new ManualClock();
      let calls = 0;
      const engine = createEngine({
        seed: 3,
        params: { x: { min: 0, max: 100, maxDelta: 10 } },
        window: { digests: 1 },
        scheduler: clock,
        inspect: () => {
          calls++;
          if (calls === throwAt) throw new Error("sink broken once");
        },
      });
      const generations: number[] = [];
      for (let i = 0; i < 120; i++) {
        clock.advanceBy(37);
        engine.observe({ objective: (engine.value("x") - 30) ** 2, generation: engine.generation });
        generations.push(engine.generation);
      }
      return { generations, failure: engine.failure, calls };
    };
    const quiet = run(undefined);
    // Every call the sink gets is a candidate: a throw at any one of them changes nothing.
    for (const throwAt of [1, 50, Math.floor(quiet.calls / 2), quiet.calls - 1]) {
      const broken = run(throwAt);
      expect(broken.failure).toBeUndefined();
      expect(broken.generations).toEqual(quiet.generations);
    }
  });

  it("attached to a running engine, as a function or an observer, changes nothing either", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const run = (attach?: "function" | "observer") => {
        const { engine, step } = tuningEngine();
        let calls = 0;
        const sink = () => {
          if (++calls === 3) throw new Error("sink broken once");
        };
        if (attach !== undefined) engine.actor.system.inspect(attach === "function" ? sink : { next: sink });
        const generations: number[] = [];
        for (let i = 0; i < 40; i++) {
          step();
          generations.push(engine.generation);
        }
        return { generations, status: engine.actor.getSnapshot().status, failure: engine.failure };
      };
      const quiet = run();
      expect(quiet.generations.at(-1)).toBeGreaterThan(0);
      for (const attach of ["function", "observer"] as const) {
        expect(run(attach)).toEqual(quiet);
      }
      expect(warn).toHaveBeenCalledTimes(2);
      expect(String(warn.mock.calls[0]![0])).toContain("the inspect sink threw (sink broken once)");
    } finally {
      warn.mockRestore();
    }
  });

  it("changes nothing in a supervisor's engines", () => {
    const clock = new ManualClock();
    let broken = false;
    const supervisor = createSupervisor({
      inspect: () => {
        if (broken) throw new Error("sink broken");
      },
    });
    const engine = supervisor.spawn("a", {
      seed: 3,
      params: { x: { min: 0, max: 100, maxDelta: 10 } },
      window: { digests: 1 },
      scheduler: clock,
    });
    broken = true;
    for (let i = 0; i < 20; i++) {
      clock.advanceBy(37);
      supervisor.send("a", { type: "observe", digest: { objective: 1, generation: engine.generation } });
    }
    expect(engine.generation).toBeGreaterThan(0);
  });

  it("changes nothing in the solver it watches", () => {
    const trials = (throwEvery: number | undefined) => {
      let calls = 0;
      const solver = createSolver({
        seed: 2,
        budget: 30,
        bounds: { x: { min: 0, max: 1 } },
        inspect: () => {
          calls++;
          if (throwEvery !== undefined && calls % throwEvery === 0) throw new Error("sink broken");
        },
      });
      const seen: number[] = [];
      for (let batch = solver.ask({ max: 1 }); batch !== null; batch = solver.ask({ max: 1 })) {
        for (const trial of batch) {
          seen.push(trial.params.x!);
          solver.tell({ id: trial.id, value: (trial.params.x! - 0.3) ** 2 });
        }
      }
      return seen;
    };
    expect(trials(3)).toEqual(trials(undefined));
  });
});
