/**
 * `xstate/graph` walks the statecharts of `arqon/machines` to every state, the way
 * docs/machines/index.md tells a user to: the machine's `input` (as `createActor` needs), the
 * events with their payloads, and one `xstate.after.<delay>.<state id>` event per delayed
 * transition, which the walker does not send by itself.
 */

import { describe, expect, it } from "vitest";
import {
  type AnyStateMachine,
  createActor,
  type EventObject,
  type SnapshotFrom,
  type StateValue,
} from "xstate";
import { getShortestPaths } from "xstate/graph";
import {
  circuitBreakerMachine,
  engineMachine,
  safeModeMachine,
  solverMachine,
  spsaMachine,
} from "../machines/index.js";

/** Every leaf state path of `machine` (`a.b`), or the root's name for a machine without states. */
function leafStates(machine: AnyStateMachine): string[] {
  const leaves: string[] = [];
  const walk = (node: AnyStateMachine["root"], path: string) => {
    const children = Object.entries(node.states);
    if (children.length === 0) leaves.push(path);
    for (const [name, child] of children) walk(child, path ? `${path}.${name}` : name);
  };
  walk(machine.root, "");
  return leaves.sort();
}

/** The leaf state paths `getShortestPaths` reaches. */
function reached<M extends AnyStateMachine>(
  machine: M,
  options: {
    readonly input?: unknown;
    readonly events: readonly EventObject[];
    readonly serializeState?: (state: SnapshotFrom<M>) => string;
  },
): string[] {
  const paths = getShortestPaths(machine, options as never);
  const states = new Set<string>();
  // A state value names the active leaves: "a", or { a: "b" }, or { a: { b: "c" }, d: "e" }.
  const leaves = (value: StateValue, prefix: string): void => {
    if (typeof value === "string") states.add(prefix ? `${prefix}.${value}` : value);
    else if (Object.keys(value).length === 0)
      states.add(prefix); // a machine without states
    else
      for (const [key, child] of Object.entries(value))
        if (child !== undefined) leaves(child, prefix ? `${prefix}.${key}` : key);
  };
  for (const path of paths) leaves((path.state as { value: StateValue }).value, "");
  return [...states].sort();
}

describe("xstate/graph walks every state of arqon's statecharts", () => {
  it("SafeMode: raises, clears, a halt, an acknowledged reset and the dwell's end", () => {
    const events = [
      { type: "reason.raised", reason: "constraintViolation" },
      { type: "reason.raised", reason: "spike" },
      { type: "reason.cleared", reason: "constraintViolation" },
      { type: "reason.cleared", reason: "spike" },
      { type: "window.healthy" },
      { type: "halt", reason: "operator" },
      { type: "reset", acknowledge: "checked" },
      { type: "xstate.after.dwell.safeMode.conservative.dwelling" },
      { type: "xstate.after.dwell.safeMode.frozen.dwelling" },
    ];
    expect(reached(safeModeMachine, { events })).toEqual(leafStates(safeModeMachine));
  });

  it("circuit breaker: serialised without its epoch, a counter that never repeats", () => {
    const events = [
      { type: "call.succeeded" },
      { type: "call.failed" },
      { type: "probe.started" },
      { type: "reset" },
      { type: "xstate.after.backoff.circuitBreaker.open" },
    ];
    const serializeState = (s: SnapshotFrom<typeof circuitBreakerMachine>) =>
      JSON.stringify([s.value, s.context.failures, s.context.backoffMs]);
    expect(reached(circuitBreakerMachine, { events, serializeState })).toEqual(
      leafStates(circuitBreakerMachine),
    );
  });

  it("SPSA cycle: a start, closed and timed-out windows, a rejected apply, pause and resume", () => {
    const events = [
      { type: "start" },
      { type: "window.closed", value: 1 },
      { type: "window.timedOut", consecutive: 3 },
      { type: "apply.rejected", code: 1 },
      { type: "pause" },
      { type: "resume" },
      { type: "reset" },
    ];
    expect(reached(spsaMachine, { input: { stallAfter: 3 }, events })).toEqual(leafStates(spsaMachine));
  });

  it("solver: each strategy's input reaches its refine state (classify and select are transient)", () => {
    const events = [
      { type: "probe.completed", classification: null },
      { type: "probe.dispatched" },
      { type: "budget.spent" },
      { type: "strategy.exhausted" },
    ];
    const states = new Set<string>();
    for (const strategy of ["auto", "tpe", "nelder-mead"])
      for (const state of reached(solverMachine, { input: { strategy }, events })) states.add(state);
    // A solver is never at rest in classify or select: each leaves at once through `always`.
    const atRest = leafStates(solverMachine).filter((s) => s !== "classify" && s !== "select");
    expect([...states].sort()).toEqual(atRest);
  });

  it("engine root: its only state, with the input createActor needs", () => {
    const actor = createActor(engineMachine, { input: { stallAfter: 3 } });
    actor.start();
    expect(actor.getSnapshot().status).toBe("active");
    actor.stop();
    expect(reached(engineMachine, { input: { stallAfter: 3 }, events: [] })).toEqual(
      leafStates(engineMachine),
    );
  });
});
