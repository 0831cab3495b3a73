import { describe, expect, it } from "vitest";
import { createActor, getNextSnapshot, initialTransition, transition } from "xstate";
import { solverMachine } from "../machines/solver.machine.js";

const structured = { label: "structured", score: 0.8, statistic: "fdc" } as const;
const chaotic = { label: "chaotic", score: 0.1, statistic: "fdc" } as const;

function start(strategy: "auto" | "nelder-mead" | "tpe") {
  return initialTransition(solverMachine, { strategy })[0];
}

describe("solver machine", () => {
  it("starts in probe with no classification", () => {
    const snapshot = start("auto");
    expect(snapshot.value).toBe("probe");
    expect(snapshot.context.classification).toBeNull();
  });

  it("auto runs global-local whatever the classification, and records the classification", () => {
    const s1 = getNextSnapshot(solverMachine, start("auto"), {
      type: "probe.completed",
      classification: structured,
    });
    expect(s1.value).toEqual({ refine: "globalLocal" });
    expect(s1.context.classification).toEqual(structured);
    const s2 = getNextSnapshot(solverMachine, start("auto"), {
      type: "probe.completed",
      classification: chaotic,
    });
    expect(s2.value).toEqual({ refine: "globalLocal" });
    expect(s2.context.classification).toEqual(chaotic);
  });

  it("an explicit strategy overrides the classification", () => {
    const nm = getNextSnapshot(solverMachine, start("nelder-mead"), {
      type: "probe.completed",
      classification: chaotic,
    });
    expect(nm.value).toEqual({ refine: "nelderMead" });
    const tpe = getNextSnapshot(solverMachine, start("tpe"), {
      type: "probe.completed",
      classification: structured,
    });
    expect(tpe.value).toEqual({ refine: "tpe" });
    expect(tpe.context.classification).toEqual(structured);
  });

  it("refines before the probe's results are in unless Nelder–Mead is forced, and classifies later", () => {
    for (const [strategy, refine] of [
      ["auto", "globalLocal"],
      ["tpe", "tpe"],
    ] as const) {
      const early = getNextSnapshot(solverMachine, start(strategy), { type: "probe.dispatched" });
      expect(early.value).toEqual({ refine });
      expect(early.context.classification).toBeNull();
      const classified = getNextSnapshot(solverMachine, early, {
        type: "probe.completed",
        classification: chaotic,
      });
      expect(classified.value).toEqual({ refine });
      expect(classified.context.classification).toEqual(chaotic);
    }
    const nm = getNextSnapshot(solverMachine, start("nelder-mead"), { type: "probe.dispatched" });
    expect(nm.value).toBe("probe");
  });

  it("passes through classify and select on the way to refine", () => {
    const visited: unknown[] = [];
    const inspected = createActor(solverMachine, {
      input: { strategy: "auto" },
      inspect: (event) => {
        if (event.type === "@xstate.microstep")
          visited.push((event.snapshot as unknown as { value: unknown }).value);
      },
    });
    inspected.start();
    inspected.send({ type: "probe.completed", classification: structured });
    expect(visited).toEqual(["classify", "select", { refine: "globalLocal" }]);
    inspected.stop();
  });

  it("ends when the budget is spent or the strategy is exhausted, and ignores those events in probe", () => {
    const refine = getNextSnapshot(solverMachine, start("auto"), {
      type: "probe.completed",
      classification: chaotic,
    });
    const [done] = transition(solverMachine, refine, { type: "budget.spent" });
    expect(done.value).toBe("done");
    expect(done.status).toBe("done");
    expect(getNextSnapshot(solverMachine, refine, { type: "strategy.exhausted" }).value).toBe("done");
    expect(getNextSnapshot(solverMachine, start("auto"), { type: "budget.spent" }).value).toBe("probe");
  });
});
