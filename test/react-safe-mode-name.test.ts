import { act, createElement, type ReactElement } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SAFE_MODES } from "../machines/safe-mode-reasons.js";
import type { Engine } from "../src/engine/engine.js";
import { type EngineStatechartState, useEngineState } from "../src/react/use-engine-state.js";
import { digestOf, engineRig } from "./support/engine-harness.js";

// useEngineState's `safeMode` is documented as one of the four modes, while the SafeMode chart
// nests `dwelling`/`settled` inside `conservative` and `frozen`: the hook must name the mode only.
// Mounted with react-dom's client renderer as in test/react-engine-state.test.ts.

const config = {
  seed: 5,
  params: { x: { min: 0, max: 10, init: 5, maxDelta: 1 } },
  window: { digests: 2 },
  guardrails: { minIntervalMs: 0 },
};

/** The least react-dom's client renderer reads from a container when nothing is rendered into it. */
function bareContainer(): Element {
  const events = { addEventListener() {}, removeEventListener() {} };
  const document = { ...events, nodeType: 9, activeElement: null, body: null, documentElement: null };
  Object.assign(document, { defaultView: { document, HTMLIFrameElement: class {} } });
  return {
    ...events,
    nodeType: 1,
    nodeName: "DIV",
    tagName: "DIV",
    namespaceURI: null,
    ownerDocument: document,
    firstChild: null,
  } as unknown as Element;
}

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
  const consoleError = vi.spyOn(console, "error");

  beforeAll(() => {
    // react-dom reads `window.event` to prioritise updates; act() needs this flag to flush them.
    vi.stubGlobal("window", { event: undefined });
    vi.stubGlobal("IS_REACT_ACT_ENVIRONMENT", true);
  });
  afterAll(() => {
    vi.unstubAllGlobals();
    consoleError.mockRestore();
  });
  afterEach(() => {
    expect(consoleError).not.toHaveBeenCalled();
    consoleError.mockClear();
  });

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
