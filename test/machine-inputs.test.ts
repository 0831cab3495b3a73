import { describe, expect, it } from "vitest";
import { createActor, initialTransition } from "xstate";
import { engineMachine } from "../machines/engine.machine.js";
import { solverMachine } from "../machines/solver.machine.js";
import { spsaMachine } from "../machines/spsa.machine.js";

/** The error a chart's start fails with when given `input`, as a visual tool or a JS caller would. */
function startError(machine: Parameters<typeof createActor>[0], input: unknown): unknown {
  const actor = createActor(machine, { input } as never);
  let failure: unknown;
  actor.subscribe({ error: (error) => (failure = error) });
  actor.start();
  actor.stop();
  return failure;
}

describe("chart inputs", () => {
  it.each([
    [undefined, "invalid SPSA chart input: expected an object { stallAfter }, got undefined"],
    [{}, "invalid SPSA chart input: stallAfter must be a whole number ≥ 1, got undefined"],
    [{ stallAfter: 0 }, "stallAfter must be a whole number ≥ 1, got 0"],
    [{ stallAfter: -1 }, "stallAfter must be a whole number ≥ 1, got -1"],
    [{ stallAfter: Number.NaN }, "stallAfter must be a whole number ≥ 1, got NaN"],
    [{ stallAfter: 2.5 }, "stallAfter must be a whole number ≥ 1, got 2.5"],
    [{ stallAfter: "3" }, 'stallAfter must be a whole number ≥ 1, got "3"'],
    // A misspelt key is named, not reported as the option it left out.
    [{ stalAfter: 3 }, "invalid SPSA chart input: stalAfter: unknown option; known: stallAfter"],
  ])("the SPSA chart refuses %j, naming the field and the value", (input, message) => {
    const error = startError(spsaMachine, input);
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toContain(message);
  });

  it.each([
    [undefined, "invalid solver chart input: expected an object { strategy }, got undefined"],
    [{ strategy: "bogus" }, 'strategy must be one of auto, nelder-mead, tpe, got "bogus"'],
    [{}, "strategy must be one of auto, nelder-mead, tpe, got undefined"],
    [{ stratgy: "tpe" }, "invalid solver chart input: stratgy: unknown option; known: strategy"],
  ])("the solver chart refuses %j, naming the field and the value", (input, message) => {
    const error = startError(solverMachine, input);
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toContain(message);
  });

  it("the engine chart refuses a missing stallAfter before its children start", () => {
    const error = startError(engineMachine, {});
    expect((error as Error).message).toBe(
      "invalid engine chart input: stallAfter must be a whole number ≥ 1, got undefined",
    );
  });

  it("the engine chart names a misspelt key and takes its safeMode options", () => {
    expect((startError(engineMachine, { stallAfter: 2, safemode: {} }) as Error).message).toBe(
      "invalid engine chart input: safemode: unknown option; known: stallAfter, safeMode",
    );
    const input = { stallAfter: 2, safeMode: { dwellMs: 5 } };
    expect(initialTransition(engineMachine, input)[0].context).toEqual(input);
  });

  it.each([
    [
      null,
      "invalid engine chart input: safeMode: invalid SafeMode options: must be an object of SafeMode options, got null",
    ],
    [{ dwellMs: -1 }, "invalid engine chart input: safeMode: invalid SafeMode options: dwellMs:"],
  ])("the engine chart refuses safeMode %j before its children start", (safeMode, message) => {
    const error = startError(engineMachine, { stallAfter: 2, safeMode });
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toContain(message);
  });

  it("takes good inputs as before", () => {
    expect(initialTransition(spsaMachine, { stallAfter: 1 })[0].context).toEqual({ stallAfter: 1 });
    for (const strategy of ["auto", "nelder-mead", "tpe"] as const) {
      expect(initialTransition(solverMachine, { strategy })[0].context.strategy).toBe(strategy);
    }
  });
});
