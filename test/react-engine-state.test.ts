import { act, createElement, type ReactElement } from "react";
import { createRoot, type Root } from "react-dom/client";
import { describe, expect, expectTypeOf, it } from "vitest";
import { type AnyStateNode, createActor, createMachine } from "xstate";
import { type SpsaStateName, spsaMachine } from "../machines/spsa.machine.js";
import type { Engine } from "../src/engine/engine.js";
import { createActorStore } from "../src/react/actor-store.js";
import { type EngineStatechartState, useEngineState } from "../src/react/use-engine-state.js";
import { engineRig } from "./support/engine-harness.js";
import { bareContainer, useActEnvironment } from "./support/react-dom-act.js";

// useEngineState mounted with react-dom's client renderer, without a DOM library: the probe
// component renders nothing, so React needs no more than a container to root the tree in. `act`
// flushes every update before it returns, which makes each render deterministic (no timers).

const config = {
  seed: 5,
  params: { x: { min: 0, max: 10, init: 5, maxDelta: 1 } },
  window: { digests: 2 },
  guardrails: { minIntervalMs: 0 },
};

/** Renders nothing; records what useEngineState returned on each render. */
function Probe({ engine, seen }: { engine: Engine; seen: EngineStatechartState[] }): ReactElement | null {
  seen.push(useEngineState(engine));
  return null;
}

/** Mounts a Probe for `engine`; errors thrown while rendering are collected, not rethrown. */
async function mount(engine: Engine) {
  const seen: EngineStatechartState[] = [];
  const renderErrors: unknown[] = [];
  const root: Root = createRoot(bareContainer(), { onUncaughtError: (error) => renderErrors.push(error) });
  await act(async () => root.render(createElement(Probe, { engine, seen })));
  return { seen, renderErrors, unmount: () => act(async () => root.unmount()) };
}

describe("useEngineState, mounted (react-dom client)", () => {
  useActEnvironment();

  it('re-renders on transitions, then with status "stopped" once the engine closes', async () => {
    const { engine } = engineRig(config);
    const { seen, renderErrors, unmount } = await mount(engine);
    expect(seen).toEqual([{ status: "active", spsa: engine.snapshot().phase, safeMode: "normal" }]);

    await act(async () => engine.halt("operator"));
    expect(seen.at(-1)).toMatchObject({ status: "active", safeMode: "halted" });

    const rendersBeforeClose = seen.length;
    await act(async () => engine.close());
    expect(engine.actor.getSnapshot().status).toBe("stopped");
    // One render for the whole close (the three actors stop together), showing the stop.
    expect(seen).toHaveLength(rendersBeforeClose + 1);
    expect(seen.at(-1)).toEqual({ status: "stopped", spsa: undefined, safeMode: undefined });
    expect(renderErrors).toEqual([]);
    await unmount();
  });

  it('re-renders with status "error" when the root actor fails, instead of throwing', async () => {
    const machine = createMachine({
      on: {
        FAIL: {
          actions: () => {
            throw new Error("chart failure");
          },
        },
      },
    });
    const actor = createActor(machine).start();
    const { seen, renderErrors, unmount } = await mount({ actor } as unknown as Engine);
    expect(seen).toEqual([{ status: "active", spsa: undefined, safeMode: undefined }]);

    await act(async () => actor.send({ type: "FAIL" }));
    expect(actor.getSnapshot().status).toBe("error");
    expect(renderErrors).toEqual([]);
    expect(seen.at(-1)).toEqual({ status: "error", spsa: undefined, safeMode: undefined });
    await unmount();
  });
});

describe("createActorStore", () => {
  it("notifies on next, error and complete, and keeps the same snapshot while nothing changed", () => {
    const machine = createMachine({
      initial: "a",
      states: {
        a: { on: { GO: "b" } },
        b: {
          on: {
            FAIL: {
              actions: () => {
                throw new Error("boom");
              },
            },
          },
        },
      },
    });
    const failing = createActor(machine).start();
    const store = createActorStore(failing);
    let changes = 0;
    const off = store.subscribe(() => changes++);
    const first = store.getSnapshot();
    expect(store.getSnapshot()).toBe(first);
    failing.send({ type: "GO" });
    expect(changes).toBe(1);
    expect(store.getSnapshot().value).toBe("b");
    failing.send({ type: "FAIL" });
    expect(changes).toBe(2);
    expect(store.getSnapshot().status).toBe("error");
    off();

    const stopping = createActor(machine).start();
    const stopStore = createActorStore(stopping);
    let stopChanges = 0;
    const offStop = stopStore.subscribe(() => stopChanges++);
    const before = stopStore.getSnapshot();
    stopping.stop();
    expect(stopChanges).toBe(1);
    expect(stopStore.getSnapshot()).not.toBe(before);
    expect(stopStore.getSnapshot().status).toBe("stopped");
    offStop();
  });

  it("stops notifying once unsubscribed", () => {
    const actor = createActor(
      createMachine({ initial: "a", states: { a: { on: { GO: "b" } }, b: {} } }),
    ).start();
    const store = createActorStore(actor);
    let changes = 0;
    store.subscribe(() => changes++)();
    actor.send({ type: "GO" });
    expect(changes).toBe(0);
    expect(store.getSnapshot().value).toBe("b");
  });
});

describe("EngineStatechartState's types", () => {
  it("types status as the actor statuses, so a misspelt one does not compile", () => {
    expectTypeOf<EngineStatechartState["status"]>().toEqualTypeOf<
      "active" | "done" | "error" | "stopped" | undefined
    >();
    const status = "active" as EngineStatechartState["status"];
    // @ts-expect-error: "actve" is no status (tsc --noEmit checks this line)
    expect(status === "actve").toBe(false);
  });

  it("types spsa as the SPSA chart's leaf states, read from the chart itself", () => {
    expectTypeOf<EngineStatechartState["spsa"]>().toEqualTypeOf<SpsaStateName | undefined>();
    expectTypeOf<SpsaStateName>().toEqualTypeOf<
      "idle" | "cycle.plus" | "cycle.minus" | "cycle.centre" | "cycle.holding" | "stalled" | "paused"
    >();
    // Every leaf of the chart at run time is one of the type's names, and no other name is.
    const leaves = leafNames(spsaMachine.root).sort();
    const typed: Record<SpsaStateName, true> = {
      idle: true,
      "cycle.plus": true,
      "cycle.minus": true,
      "cycle.centre": true,
      "cycle.holding": true,
      stalled: true,
      paused: true,
    };
    expect(leaves).toEqual(Object.keys(typed).sort());
  });
});

/** The dotted names of a state node's leaf states (`cycle.plus`), as the chart's snapshots report them. */
function leafNames(node: AnyStateNode, prefix = ""): string[] {
  const children = Object.values(node.states);
  if (children.length === 0) return [prefix];
  return children.flatMap((child) => leafNames(child, prefix === "" ? child.key : `${prefix}.${child.key}`));
}
