import { createElement, type ReactElement } from "react";
import { renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { createActor, createMachine } from "xstate";
import type { Engine } from "../src/engine/engine.js";
import { useEngine } from "../src/react/use-engine.js";
import { useEngineEvents } from "../src/react/use-engine-events.js";
import { useEngineSnapshot } from "../src/react/use-engine-snapshot.js";
import { useEngineState } from "../src/react/use-engine-state.js";
import { digestOf, engineRig } from "./support/engine-harness.js";

// Server rendering runs the hooks without a DOM: it reads each store once (getServerSnapshot)
// and runs no effects. The mounted behaviour (effects, updates, StrictMode) is checked in a real
// browser by test/browser-react.test.ts.

const config = {
  seed: 5,
  params: {
    x: { min: 0, max: 10, init: 5, maxDelta: 1 },
    y: { min: 1, max: 100, init: 10, scale: "log" as const },
  },
  window: { digests: 2 },
  guardrails: { minIntervalMs: 0 },
};

function View({ engine }: { engine: Engine | null }): ReactElement {
  const generation = useEngineSnapshot(engine, (s) => s.generation);
  const snapshot = useEngineSnapshot(engine);
  const events = useEngineEvents(engine, { limit: 5 });
  const state = useEngineState(engine);
  return createElement(
    "p",
    null,
    `generation=${generation ?? "none"} x=${snapshot?.values.x ?? "none"} events=${events.length} ` +
      `status=${state.status ?? "none"} spsa=${state.spsa ?? "none"} safeMode=${state.safeMode ?? "none"} ` +
      `mode=${snapshot?.mode ?? "none"}`,
  );
}

function StateView({ engine }: { engine: Engine }): ReactElement {
  const state = useEngineState(engine);
  return createElement("p", null, `status=${state.status} spsa=${state.spsa} safeMode=${state.safeMode}`);
}

function Owner({ start }: { start: () => Engine }): ReactElement {
  const engine = useEngine(start);
  return createElement("span", null, engine === null ? "starting" : "running");
}

describe("arqon/react hooks (server rendering)", () => {
  it("render the engine's current snapshot and statechart state", async () => {
    const { engine, clock } = engineRig(config);
    for (let i = 0; i < 4; i++) {
      clock.advanceBy(10);
      engine.observe(digestOf(engine, 2 + i));
    }
    expect(engine.generation).toBeGreaterThan(0);
    const html = renderToString(createElement(View, { engine }));
    const spsaState = engine.snapshot().phase;
    expect(html).toContain(`generation=${engine.generation} x=${engine.values[0]} events=0`);
    expect(html).toContain(`status=active spsa=${spsaState} safeMode=normal mode=normal`);
    engine.halt("operator");
    expect(renderToString(createElement(View, { engine }))).toContain("safeMode=halted mode=halted");
    await engine.close();
    expect(renderToString(createElement(View, { engine }))).toContain("status=stopped");
  });

  it('render status "error", not a thrown error, when the root actor failed', () => {
    const failing = createMachine({
      entry: () => {
        throw new Error("internal failure");
      },
    });
    const actor = createActor(failing);
    actor.subscribe({ error: () => {} });
    actor.start();
    expect(actor.getSnapshot().status).toBe("error");
    // A stand-in engine: only its root actor, which is all useEngineState reads.
    const html = renderToString(createElement(StateView, { engine: { actor } as unknown as Engine }));
    expect(html).toContain("status=error spsa=undefined safeMode=undefined");
  });

  it("render placeholders while there is no engine yet", () => {
    const html = renderToString(createElement(View, { engine: null }));
    expect(html).toContain("generation=none x=none events=0 status=none spsa=none safeMode=none mode=none");
  });

  it("useEngine starts nothing during a server render (the engine is created in an effect)", () => {
    let created = 0;
    const start = () => {
      created++;
      return engineRig(config).engine;
    };
    expect(renderToString(createElement(Owner, { start }))).toContain("starting");
    expect(created).toBe(0);
  });
});
