import { act, createElement, type ReactElement } from "react";
import { createRoot, type Root } from "react-dom/client";
import { describe, expect, it } from "vitest";
import { SAFE_MODES } from "../machines/safe-mode-reasons.js";
import type { Engine } from "../src/engine/engine.js";
import { type EngineStatechartState, useEngineState } from "../src/react/use-engine-state.js";
import { digestOf, engineRig } from "./support/engine-harness.js";
import { bareContainer, useActEnvironment } from "./support/react-dom-act.js";

// useEngineState's `safeMode` is documented as one of the four modes, while the SafeMode chart
// nests `dwelling`/`settled` inside `conservative` and `frozen`: the hook must name the mode only.
// Mounted with react-dom's client renderer as in test/react-engine-state.test.ts.

const config = {
  seed: 5,
  params: { x: { min: 0, max: 10, init: 5, maxDelta: 1 } },
  window: { digests: 2 },
  guardrails: { minIntervalMs: 0 },
};

function Probe({ engine, seen }: { engine: Engine; seen: EngineStatechartState[] }): ReactElement | null {
  seen.push(useEngineState(engine));
  return null;
}

async function mount(engine: Engine) {
  const seen: EngineStatechartState[] = [];
  const root: Root = createRoot(bareContainer());
  await act(async () => root.render(createElement(Probe, { engine, seen })));
  return { seen, unmount: () => act(async () => root.unmount()) };
}

describe("useEngineState().safeMode", () => {
  useActEnvironment();

  it("is the top-level mode, not a dotted substate, through conservative and frozen", async () => {
    const { engine, clock } = engineRig(config);
    const { seen, unmount } = await mount(engine);

    // A negative constraint margin demands conservative.
    await act(async () => {
      for (let i = 0; i < 6; i++) {
        clock.advanceBy(10);
        engine.observe(digestOf(engine, 2, { constraintMargin: -0.1 }));
      }
    });
    expect(engine.mode).toBe("conservative");
    expect(seen.at(-1)?.safeMode).toBe("conservative");

    // A burst of NaN objectives demands frozen (entered in its dwelling substate).
    await act(async () => {
      for (let i = 0; i < 6; i++) {
        clock.advanceBy(10);
        engine.observe(digestOf(engine, Number.NaN));
      }
    });
    expect(engine.mode).toBe("frozen");
    expect(seen.at(-1)?.safeMode).toBe("frozen");

    // Past the dwell the chart moves to frozen.settled: still the same mode, so no new render.
    const rendersBeforeDwell = seen.length;
    await act(async () => clock.advanceBy(60_000));
    expect(engine.mode).toBe("frozen");
    expect(seen.slice(rendersBeforeDwell).every((state) => state.safeMode === "frozen")).toBe(true);

    const names: readonly (string | undefined)[] = SAFE_MODES;
    expect(seen.filter((state) => !names.includes(state.safeMode))).toEqual([]);
    await unmount();
    await engine.close();
  });
});
