import { act, createElement, type ReactElement, StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { describe, expect, it } from "vitest";
import { createEngine, type Engine } from "../src/engine/engine.js";
import { UsageError } from "../src/errors.js";
import { useEngine } from "../src/react/use-engine.js";
import { useEngineEvents } from "../src/react/use-engine-events.js";
import { useEngineSnapshot } from "../src/react/use-engine-snapshot.js";
import { useEngineState } from "../src/react/use-engine-state.js";
import { ManualClock } from "./support/engine-clock.js";
import { bareContainer, useActEnvironment } from "./support/react-dom-act.js";

// useEngine mounted with react-dom's client renderer (see react-engine-state.test.ts): its effect
// runs, so what it does with its source can be seen.

const config = { seed: 3, params: { x: { min: 0, max: 10, init: 5 } } };

function Probe({ source, seen }: { source: unknown; seen: (Engine | null)[] }): ReactElement | null {
  seen.push(useEngine(source as typeof config));
  return null;
}

/** Renders nothing; lists the engine's events through an inline filter, new on every render. */
function InlineFilterEvents({
  engine,
  seen,
}: {
  engine: Engine;
  seen: (events: readonly { type: string }[]) => void;
}): ReactElement | null {
  seen(useEngineEvents(engine, { filter: (event) => event.type !== "digest.accepted" }));
  return null;
}

/** Renders nothing; calls one hook. */
function HookProbe({ use }: { use: () => unknown }): ReactElement | null {
  use();
  return null;
}

/** What each hook call throws, mounted alone in a root of its own (one entry per call that threw). */
async function hookErrors(uses: readonly (() => unknown)[]): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const use of uses) {
    const root = createRoot(bareContainer(), { onUncaughtError: (error) => errors.push(error) });
    try {
      await act(async () => root.render(createElement(HookProbe, { use })));
    } catch (error) {
      errors.push(error);
    }
    await act(async () => root.unmount());
  }
  return errors;
}

async function mount(source: unknown) {
  const seen: (Engine | null)[] = [];
  const errors: unknown[] = [];
  const root = createRoot(bareContainer(), { onUncaughtError: (error) => errors.push(error) });
  // An error thrown from an effect reaches `act`'s caller (no error boundary here).
  try {
    await act(async () => root.render(createElement(Probe, { source, seen })));
  } catch (error) {
    errors.push(error);
  }
  return { seen, errors, unmount: () => act(async () => root.unmount()) };
}

describe("useEngine, mounted (react-dom client)", () => {
  useActEnvironment();

  it("runs an engine from a config, and closes it on unmount", async () => {
    const { seen, errors, unmount } = await mount({ ...config, scheduler: new ManualClock() });
    expect(errors).toEqual([]);
    const engine = seen.at(-1)!;
    expect(engine.values[0]).toBe(5);
    await unmount();
    expect(engine.observe({ objective: 1, generation: 0 })).toBe("closed");
  });

  it("refuses an engine passed for a config, saying what to use instead, and leaves it running", async () => {
    const running = createEngine({ ...config, scheduler: new ManualClock() });
    const { errors, unmount } = await mount(running);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(UsageError);
    expect((errors[0] as Error).message).toBe(
      "useEngine: expected an engine config or a function that creates an engine, got an engine; " +
        "to show an engine you already run, use useEngineSnapshot(engine)",
    );
    expect(running.observe({ objective: 1, generation: 0 })).toBe("accepted");
    await unmount();
    await running.close();
  });

  it("refuses a function that hands back an engine it closed, under StrictMode's second mount", async () => {
    const shared = createEngine({ ...config, scheduler: new ManualClock() });
    const errors: unknown[] = [];
    const seen: (Engine | null)[] = [];
    const root = createRoot(bareContainer(), { onUncaughtError: (error) => errors.push(error) });
    try {
      await act(async () =>
        root.render(createElement(StrictMode, null, createElement(Probe, { source: () => shared, seen }))),
      );
    } catch (error) {
      errors.push(error);
    }
    // The first mount's cleanup closed it; the second mount is told, not handed a dead engine.
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(UsageError);
    expect((errors[0] as Error).message).toMatch(
      /^useEngine: the function returned an engine that is closed/,
    );
    expect(seen.filter((e) => e !== null && e.observe({ objective: 1, generation: 0 }) === "closed")).toEqual(
      [],
    );
    await act(async () => root.unmount());
  });

  it("keeps a new engine per mount from a function that creates one, under StrictMode", async () => {
    const seen: (Engine | null)[] = [];
    const root = createRoot(bareContainer());
    const source = () => createEngine({ ...config, scheduler: new ManualClock() });
    await act(async () =>
      root.render(createElement(StrictMode, null, createElement(Probe, { source, seen }))),
    );
    const engine = seen.at(-1)!;
    expect(engine.observe({ objective: 1, generation: 0 })).toBe("accepted");
    await act(async () => root.unmount());
    expect(engine.observe({ objective: 1, generation: 0 })).toBe("closed");
  });

  it("lists events through an inline filter, new on every render", async () => {
    const engine = createEngine({
      ...config,
      window: { digests: 1 },
      guardrails: { minIntervalMs: 0 },
      scheduler: new ManualClock(),
    });
    let listed: readonly { type: string }[] = [];
    let renders = 0;
    const seen = (events: readonly { type: string }[]) => {
      renders++;
      listed = events;
    };
    const all: string[] = [];
    engine.events.subscribe((event) => all.push(event.type));
    const root = createRoot(bareContainer());
    await act(async () => root.render(createElement(InlineFilterEvents, { engine, seen })));
    for (let i = 0; i < 5; i++) {
      await act(async () => {
        engine.observe({ objective: 1 + i, generation: engine.generation });
        engine.flushEvents();
      });
    }
    // Each delivery re-rendered with a new filter, and the list kept what came before.
    expect(renders).toBeGreaterThan(5);
    const expected = all.filter((type) => type !== "digest.accepted");
    expect(expected.length).toBeGreaterThan(5);
    expect(listed.map((e) => e.type)).toEqual(expected);
    await act(async () => root.unmount());
    await engine.close();
  });

  it("refuses a function that returns a promise or no engine, and closes the promised engine", async () => {
    const made: Engine[] = [];
    const asyncFactory = async () => {
      const engine = createEngine({ ...config, scheduler: new ManualClock() });
      made.push(engine);
      return engine;
    };
    const promised = await mount(asyncFactory);
    expect(promised.errors).toHaveLength(1);
    expect(promised.errors[0]).toBeInstanceOf(UsageError);
    expect((promised.errors[0] as Error).message).toMatch(
      /^useEngine: the function returned a promise; it must create the engine synchronously/,
    );
    await promised.unmount();
    // Nobody holds the engine the promise brought: the hook closed it rather than leave it running.
    expect(made).toHaveLength(1);
    expect(made[0]!.observe({ objective: 1, generation: 0 })).toBe("closed");

    const nothing = await mount(() => undefined);
    expect((nothing.errors[0] as Error).message).toBe(
      "useEngine: what the function returned must be an engine from createEngine (with events, snapshot() and observe()), got undefined",
    );
    await nothing.unmount();
  });

  it("names a config, a non-function selector or isEqual given to the reading hooks", async () => {
    const engine = createEngine({ ...config, scheduler: new ManualClock() });
    const errors = await hookErrors([
      () => useEngineSnapshot(config as never),
      () => useEngineEvents(config as never),
      () => useEngineState(config as never),
      () => useEngineSnapshot(engine, { everyMs: 250 } as never),
      () => useEngineSnapshot(engine, undefined, { isEqual: true } as never),
    ]);
    const notAnEngine =
      "engine must be an engine from createEngine (with events, snapshot() and observe()), got an object (or null while there is none; to start one from a config, useEngine(config) gives it)";
    expect(errors.map((e) => (e as Error).message)).toEqual([
      `useEngineSnapshot: ${notAnEngine}`,
      `useEngineEvents: ${notAnEngine}`,
      `useEngineState: ${notAnEngine}`,
      "useEngineSnapshot: selector must be a function of the snapshot, got an object (options come third: useEngineSnapshot(engine, undefined, options))",
      "useEngineSnapshot: isEqual must be a function (a, b) => boolean, got true",
    ]);
    expect(errors.every((e) => e instanceof UsageError)).toBe(true);
    await engine.close();
  });

  it("names a misspelt option of useEngineSnapshot and useEngineEvents instead of dropping it", async () => {
    const engine = createEngine({ ...config, scheduler: new ManualClock() });
    const errors = await hookErrors([
      () => useEngineSnapshot(engine, undefined, { everyMS: 5 } as never),
      () => useEngineEvents(engine, { limits: 5 } as never),
      // A bad value is named by the hook too, not by the store it builds.
      () => useEngineSnapshot(engine, undefined, { everyMs: -1 }),
      () => useEngineEvents(engine, { limit: 0 }),
    ]);
    expect(errors.map((e) => (e as Error).message)).toEqual([
      'useEngineSnapshot: unknown option "everyMS" (did you mean everyMs? known: everyMs, scheduler, isEqual)',
      'useEngineEvents: unknown option "limits" (did you mean limit? known: limit, filter)',
      expect.stringMatching(/^useEngineSnapshot: everyMs must be a number of milliseconds .*, got -1$/),
      "useEngineEvents: limit must be a whole number > 0, got 0",
    ]);
    await engine.close();
  });
});
