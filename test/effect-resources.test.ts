import { readFileSync } from "node:fs";
import { Chunk, Effect, Fiber, Stream } from "effect";
import { Subject, VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import * as arqon from "../src/index.js";
import * as arqonNode from "../src/node.js";

const PAGE = readFileSync(new URL("../docs/guide/effect.md", import.meta.url), "utf8");

describe("the Effect guide's constructors", () => {
  it("are exported from the entries the page names, as functions", () => {
    // Each row of the page's table starts with `Name.member(…)`.
    const rows = [...PAGE.matchAll(/^\| `(\w+)\.(\w+)\(/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(rows.map(([name, member]) => `${name}.${member}`)).toEqual([
      "Engine.make",
      "Supervisor.make",
      "LoggedEngine.make",
      "Solver.make",
      "Engine.eventStream",
    ]);
    const exported: Record<string, unknown> = { ...arqon, ...arqonNode };
    for (const [name, member] of rows)
      expect(
        typeof (exported[name] as Record<string, unknown> | undefined)?.[member],
        `${name}.${member}`,
      ).toBe("function");
  });
});

describe("Engine.make, Supervisor.make and Solver.make under Effect.runSync", () => {
  it("acquire and release synchronously, so a scope closed by runSync closes what they made", () => {
    const config = { seed: 1, params: { x: { min: 0, max: 1 } }, scheduler: new VirtualTimeScheduler() };
    // Both threw "Fiber #… cannot be resolved synchronously" when their release awaited close().
    const engine = Effect.runSync(Effect.scoped(arqon.Engine.make(config)));
    expect(engine.observe({ objective: 1, generation: 0 })).toBe("closed");
    const { supervisor, spawned } = Effect.runSync(
      Effect.scoped(
        Effect.map(arqon.Supervisor.make(), (supervisor) => ({
          supervisor,
          spawned: supervisor.spawn("web", config),
        })),
      ),
    );
    expect(spawned.observe({ objective: 1, generation: 0 })).toBe("closed");
    expect(supervisor.names()).toEqual([]);
    const solver = Effect.runSync(
      Effect.scoped(arqon.Solver.make({ seed: 1, budget: 4, bounds: { x: { min: 0, max: 1 } } })),
    );
    expect(solver.best()).toBeNull();
  });
});

describe("Engine.eventStream", () => {
  const config = (scheduler: VirtualTimeScheduler) =>
    ({ seed: 1, params: { x: { min: 0, max: 10, init: 2 } }, window: { digests: 2 }, scheduler }) as const;
  /** Feeds `n` digests of (x − 6)², one per 200 virtual ms. */
  const feed = (engine: arqon.Engine<"x">, scheduler: VirtualTimeScheduler, n: number) => {
    for (let i = 0; i < n; i++) {
      const until = scheduler.now() + 200;
      scheduler.schedule(() => {}, 200);
      scheduler.maxFrames = until;
      scheduler.flush();
      engine.observe({ objective: (engine.value("x") - 6) ** 2, generation: engine.generation });
    }
    engine.flushEvents();
  };

  it("holds every event from its subscription on, for a stream run later, and ends when the engine closes", async () => {
    const scheduler = new VirtualTimeScheduler();
    const direct: AuditEvent[] = [];
    const streamed = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const engine = yield* arqon.Engine.make(config(scheduler));
          const subscription = engine.events.subscribe((event) => direct.push(event));
          const events = yield* arqon.Engine.eventStream(engine);
          // The events come before the stream runs: it must still have them all.
          feed(engine, scheduler, 40);
          const collecting = yield* Effect.fork(Stream.runCollect(events));
          yield* Effect.promise(() => engine.close());
          subscription.unsubscribe();
          return Chunk.toReadonlyArray(yield* Fiber.join(collecting));
        }),
      ),
    );
    expect(direct.filter((e) => e.type === "apply").length).toBeGreaterThan(5);
    expect(streamed).toEqual(direct);
  });

  it("ends at its scope's end after every event it received, for a reader still running", async () => {
    const scheduler = new VirtualTimeScheduler();
    const direct: AuditEvent[] = [];
    const read: AuditEvent[] = [];
    const reader = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          // No explicit close: the scope closes the engine after the stream (reverse order).
          const engine = yield* arqon.Engine.make(config(scheduler));
          engine.events.subscribe((event) => direct.push(event));
          const events = yield* arqon.Engine.eventStream(engine);
          feed(engine, scheduler, 40);
          return yield* Effect.forkDaemon(Stream.runForEach(events, (e) => Effect.sync(() => read.push(e))));
        }),
      ),
    );
    await Effect.runPromise(Fiber.join(reader));
    expect(read.filter((e) => e.type === "apply").length).toBeGreaterThan(5);
    // All it received, in order; the engine's own close came after the stream's end.
    expect(read).toEqual(direct.slice(0, read.length));
  });

  it("unsubscribes when its scope closes, and not before", async () => {
    const events = new Subject<AuditEvent>();
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          yield* arqon.Engine.eventStream({ events });
          expect(events.observed).toBe(true);
        }),
      ),
    );
    expect(events.observed).toBe(false);
  });
});
