import { act, createElement, type ReactElement, StrictMode, useEffect, useState } from "react";
import { createRoot, type Root } from "react-dom/client";
import { describe, expect, it } from "vitest";
import type { Engine, EngineSnapshot } from "../src/engine/engine.js";
import { useEngineSnapshot } from "../src/react/use-engine-snapshot.js";
import { digestOf, type EngineRig, engineRig } from "./support/engine-harness.js";
import { bareContainer, useActEnvironment } from "./support/react-dom-act.js";

// How useEngineSnapshot keeps a selection: `isEqual` applies with or without a selector, and an
// inline selector (a new function each render) does not make a new selection on unrelated
// re-renders. Mounted with react-dom's client renderer as in test/react-engine-state.test.ts.

const config = {
  seed: 5,
  params: {
    x: { min: 0, max: 10, init: 5, maxDelta: 1 },
    y: { min: 0, max: 10, init: 7, maxDelta: 1 },
  },
  window: { digests: 2 },
  guardrails: { minIntervalMs: 0 },
};

async function mount(element: ReactElement) {
  const root: Root = createRoot(bareContainer());
  await act(async () => root.render(element));
  return {
    rerender: (next: ReactElement) => act(async () => root.render(next)),
    unmount: () => act(async () => root.unmount()),
  };
}

function shallowEqual(a: object, b: object): boolean {
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every((key) => Object.is((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
  );
}

const sameGeneration = (a: EngineSnapshot, b: EngineSnapshot) => a.generation === b.generation;

/** Feeds digests until the engine applies a new generation. */
function advanceGeneration(engine: Engine, clock: EngineRig["clock"]): void {
  const generation = engine.generation;
  for (let i = 0; i < 20 && engine.generation === generation; i++) {
    clock.advanceBy(10);
    engine.observe(digestOf(engine, 2 + i));
  }
  expect(engine.generation).toBeGreaterThan(generation);
}

type Clock = EngineRig["clock"];

/** Records every snapshot rendered, kept with `sameGeneration` and no selector. */
function SnapshotProbe({
  engine,
  clock,
  seen,
}: {
  engine: Engine;
  clock: Clock;
  seen: EngineSnapshot[];
}): null {
  seen.push(useEngineSnapshot(engine, undefined, { isEqual: sameGeneration, scheduler: clock })!);
  return null;
}

/** What a probe records: each render's selection, each run of its effect, and a way to re-render it. */
interface Probe {
  readonly seen: unknown[];
  readonly effects: unknown[];
  bump: () => void;
}

function newRecord(): Probe {
  return { seen: [], effects: [], bump: () => {} };
}

/** Re-renders on `record.bump()` (nothing the engine did) and selects with an inline selector. */
function InlineStatus({ engine, clock, record }: { engine: Engine; clock: Clock; record: Probe }): null {
  const [, setCount] = useState(0);
  record.bump = () => setCount((n) => n + 1);
  // The documented pattern: an inline selector building an object, with a shallow isEqual.
  const view = useEngineSnapshot(engine, (s) => ({ mode: s.mode, generation: s.generation }), {
    isEqual: shallowEqual,
    scheduler: clock,
  });
  record.seen.push(view);
  useEffect(() => {
    record.effects.push(view);
  }, [record, view]);
  return null;
}

/** Re-renders on `record.bump()` and selects with `select`, the same function on every render. */
function StableStatus(props: {
  engine: Engine;
  clock: Clock;
  record: Probe;
  select: (s: EngineSnapshot) => object;
}): null {
  const [, setCount] = useState(0);
  props.record.bump = () => setCount((n) => n + 1);
  props.record.seen.push(
    useEngineSnapshot(props.engine, props.select, { isEqual: shallowEqual, scheduler: props.clock }),
  );
  return null;
}

/** Selects the value of the knob its `name` prop names. */
function Knob(props: { engine: Engine; clock: Clock; name: "x" | "y"; seen: unknown[] }): null {
  props.seen.push(useEngineSnapshot(props.engine, (s) => s.values[props.name], { scheduler: props.clock }));
  return null;
}

describe("useEngineSnapshot's selection, mounted (react-dom client)", () => {
  useActEnvironment();

  it("applies isEqual without a selector: an equal snapshot keeps the previous one, unrendered", async () => {
    const { engine, clock } = engineRig(config);
    const seen: EngineSnapshot[] = [];
    const { unmount } = await mount(createElement(SnapshotProbe, { engine, clock, seen }));
    const afterMount = seen.length;

    // Halting makes new snapshots (mode, reasons) at the same generation: isEqual says equal.
    await act(async () => {
      engine.halt("operator");
      clock.advanceBy(200);
    });
    expect(engine.snapshot().mode).toBe("halted");
    expect(seen).toHaveLength(afterMount);
    expect(new Set(seen).size).toBe(1);
    await unmount();
    await engine.close();
  });

  it("re-renders without a selector when isEqual says the snapshot changed", async () => {
    const { engine, clock } = engineRig(config);
    const seen: EngineSnapshot[] = [];
    const { unmount } = await mount(createElement(SnapshotProbe, { engine, clock, seen }));
    await act(async () => {
      advanceGeneration(engine, clock);
      clock.advanceBy(200);
    });
    expect(seen.at(-1)?.generation).toBe(engine.generation);
    await unmount();
    await engine.close();
  });

  for (const strict of [false, true]) {
    it(`keeps an inline selector's equal selection across unrelated re-renders${strict ? " (StrictMode)" : ""}`, async () => {
      const { engine, clock } = engineRig(config);
      const record = newRecord();
      const element = createElement(InlineStatus, { engine, clock, record });
      const { unmount } = await mount(strict ? createElement(StrictMode, null, element) : element);
      const effectsAfterMount = record.effects.length;
      // The mount's last render is the one committed (StrictMode discards the first of two).
      const committed = record.seen.at(-1);

      for (let i = 0; i < 3; i++) await act(async () => record.bump());
      const rerenders = record.seen.slice(record.seen.indexOf(committed) + 1);
      expect(rerenders.length).toBeGreaterThanOrEqual(3);
      expect(rerenders.filter((view) => view !== committed)).toEqual([]);
      expect(record.effects).toHaveLength(effectsAfterMount);

      // A real change still comes through, and is kept in turn.
      await act(async () => engine.halt("operator"));
      await act(async () => clock.advanceBy(200));
      const halted = record.seen.at(-1);
      expect(halted).toEqual({ mode: "halted", generation: engine.generation });
      await act(async () => record.bump());
      expect(record.seen.at(-1)).toBe(halted);
      await unmount();
      await engine.close();
    });
  }

  it("runs a stable selector once per new snapshot, never on unrelated re-renders", async () => {
    const { engine, clock } = engineRig(config);
    let runs = 0;
    const select = (s: EngineSnapshot) => {
      runs++;
      return { generation: s.generation };
    };
    const record = newRecord();
    const { unmount } = await mount(createElement(StableStatus, { engine, clock, record, select }));
    const runsAfterMount = runs;
    for (let i = 0; i < 3; i++) await act(async () => record.bump());
    expect(runs).toBe(runsAfterMount);
    await unmount();
    await engine.close();
  });

  it("follows a selector that reads a prop, and a new engine, instead of an equal old selection", async () => {
    const first = engineRig(config);
    const second = engineRig(config);
    const seen: unknown[] = [];
    const knob = (name: "x" | "y") =>
      createElement(Knob, { engine: first.engine, clock: first.clock, name, seen });
    const { rerender, unmount } = await mount(knob("x"));
    expect(seen.at(-1)).toBe(5);
    await rerender(knob("y"));
    expect(seen.at(-1)).toBe(7);

    // Both engines sit at generation 0: isEqual says equal, yet the new engine's snapshot is shown.
    const views: EngineSnapshot[] = [];
    const probe = (rig: EngineRig) =>
      createElement(SnapshotProbe, { engine: rig.engine, clock: rig.clock, seen: views });
    const other = await mount(probe(first));
    await other.rerender(probe(second));
    expect(views.at(-1)).toEqual(second.engine.snapshot());
    expect(views.at(-1)).not.toBe(views[0]);
    await other.unmount();
    await unmount();
    await first.engine.close();
    await second.engine.close();
  });
});
