import { describe, expect, it } from "vitest";
import { type AnyMachineSnapshot, initialTransition, transition } from "xstate";
import { type SpsaMachineEvent, spsaMachine } from "../machines/spsa.machine.js";

type Snapshot = ReturnType<typeof initialTransition<typeof spsaMachine>>[0];

/** What a transition did: the state it reached, the context, and the actions it scheduled (with params). */
interface Step {
  readonly snapshot: Snapshot;
  readonly value: unknown;
  readonly timeouts: number;
  readonly actions: readonly (string | [string, unknown])[];
}

function describeStep(snapshot: Snapshot, actions: readonly { type: string; params?: unknown }[]): Step {
  return {
    snapshot,
    value: snapshot.value,
    timeouts: snapshot.context.timeouts,
    actions: actions.map((a) => (a.params === undefined ? a.type : [a.type, a.params])),
  };
}

function start(stallAfter = 3): Step {
  const [snapshot, actions] = initialTransition(spsaMachine, { stallAfter });
  return describeStep(snapshot, actions);
}

function send(from: Step, event: SpsaMachineEvent): Step {
  const [snapshot, actions] = transition(spsaMachine, from.snapshot, event);
  return describeStep(snapshot, actions);
}

/** Sends events in order and returns the last step. */
function run(from: Step, ...events: SpsaMachineEvent[]): Step {
  return events.reduce(send, from);
}

const closed = (value: number): SpsaMachineEvent => ({ type: "window.closed", value });
const timedOut: SpsaMachineEvent = { type: "window.timedOut" };
const BEGIN_PLUS = ["beginIteration", "applyPlus", "openWindow"];

/** The machine in `cycle.plus` of its first iteration. */
function inPlus(stallAfter = 3): Step {
  return run(start(stallAfter), { type: "start" }, closed(10));
}

describe("spsa machine", () => {
  it("starts idle with no timeouts and schedules nothing", () => {
    const step = start(4);
    expect(step.value).toBe("idle");
    expect(step.snapshot.context).toEqual({ timeouts: 0, stallAfter: 4 });
    expect(step.actions).toEqual([]);
  });

  it("ignores window events while idle", () => {
    const idle = start();
    expect(send(idle, closed(1))).toMatchObject({ value: "idle", actions: [] });
    expect(send(idle, timedOut)).toMatchObject({ value: "idle", actions: [] });
  });

  it("start measures the starting point first (holding)", () => {
    const step = send(start(), { type: "start" });
    expect(step.value).toEqual({ cycle: "holding" });
    expect(step.actions).toEqual(["openWindow"]);
  });

  it("runs holding → plus → minus → centre → plus, one window each, recording each measurement", () => {
    const holding = send(start(), { type: "start" });
    const plus = send(holding, closed(10));
    expect(plus.value).toEqual({ cycle: "plus" });
    expect(plus.actions).toEqual([["recordCentre", { value: 10 }], ...BEGIN_PLUS]);

    const minus = send(plus, closed(11));
    expect(minus.value).toEqual({ cycle: "minus" });
    expect(minus.actions).toEqual([["recordPlus", { value: 11 }], "applyMinus", "openWindow"]);

    const centre = send(minus, closed(9));
    expect(centre.value).toEqual({ cycle: "centre" });
    expect(centre.actions).toEqual([["recordMinus", { value: 9 }], "applyCentre", "openWindow"]);

    const next = send(centre, closed(8));
    expect(next.value).toEqual({ cycle: "plus" });
    expect(next.actions).toEqual([["recordCentre", { value: 8 }], ...BEGIN_PLUS]);
  });

  it("the gradient uses y⁺ and y⁻ in order: the centre is applied only after both are recorded", () => {
    const { actions } = run(inPlus(), closed(1), closed(2));
    expect(actions.indexOf("applyCentre")).toBeGreaterThan(
      actions.findIndex((a) => Array.isArray(a) && a[0] === "recordMinus"),
    );
  });

  describe("empty windows", () => {
    it.each([
      ["holding", () => send(start(), { type: "start" }), { cycle: "holding" }],
      ["plus", () => inPlus(), { cycle: "plus" }],
      ["minus", () => run(inPlus(), closed(1)), { cycle: "minus" }],
      ["centre", () => run(inPlus(), closed(1), closed(2)), { cycle: "centre" }],
    ] as const)("in %s re-measure the same point (no new apply)", (_, at, value) => {
      const step = send(at(), timedOut);
      expect(step.value).toEqual(value);
      expect(step.timeouts).toBe(1);
      expect(step.actions).toEqual([["noteTimeout", { consecutive: 1 }], "openWindow"]);
    });

    it("the third in a row stalls the cycle, returning to the centre, audited", () => {
      const plus = inPlus(3);
      const first = send(plus, timedOut);
      const second = send(first, timedOut);
      expect(second.value).toEqual({ cycle: "plus" });
      expect(second.timeouts).toBe(2);
      expect(second.actions).toEqual([["noteTimeout", { consecutive: 2 }], "openWindow"]);
      const third = send(second, timedOut);
      expect(third.value).toBe("stalled");
      expect(third.timeouts).toBe(0);
      expect(third.actions).toEqual([
        ["noteTimeout", { consecutive: 3 }],
        "abandonIteration",
        "returnToCentre",
        "noteStalled",
        "openWindow",
      ]);
    });

    it("stallAfter comes from the input", () => {
      expect(run(inPlus(1), timedOut).value).toBe("stalled");
      const five = inPlus(5);
      expect(run(five, timedOut, timedOut, timedOut, timedOut).value).toEqual({ cycle: "plus" });
      expect(run(five, timedOut, timedOut, timedOut, timedOut, timedOut).value).toBe("stalled");
    });

    it("count consecutively: a window with data resets the count", () => {
      const step = run(inPlus(3), timedOut, timedOut, closed(5));
      expect(step.value).toEqual({ cycle: "minus" });
      expect(step.timeouts).toBe(0);
      expect(run(step, timedOut, timedOut).value).toEqual({ cycle: "minus" });
      expect(run(step, timedOut, timedOut, timedOut).value).toBe("stalled");
    });

    it("while stalled, keep a window open and propose nothing", () => {
      const stalled = run(inPlus(1), timedOut);
      const again = send(stalled, timedOut);
      expect(again.value).toBe("stalled");
      expect(again.actions).toEqual(["openWindow"]);
    });

    it("the first window with data after a stall resumes the cycle in holding", () => {
      const resumed = send(run(inPlus(1), timedOut), closed(3));
      expect(resumed.value).toEqual({ cycle: "holding" });
      expect(resumed.actions).toEqual(["openWindow"]);
      expect(send(resumed, closed(4)).value).toEqual({ cycle: "plus" });
    });
  });

  describe("refused applies", () => {
    it.each([
      ["plus", () => inPlus()],
      ["minus", () => run(inPlus(), closed(1))],
      ["centre", () => run(inPlus(), closed(1), closed(2))],
    ] as const)("in %s abandon the iteration and hold (k does not advance)", (_, at) => {
      const step = send(at(), { type: "apply.rejected", code: 5 });
      expect(step.value).toEqual({ cycle: "holding" });
      expect(step.actions).toEqual(["abandonIteration", "openWindow"]);
      expect(step.actions).not.toContain("applyCentre");
      // After holding measures the live point, a fresh iteration begins.
      expect(send(step, closed(1)).actions).toEqual([["recordCentre", { value: 1 }], ...BEGIN_PLUS]);
    });

    it("keep the timeout count (they are not windows)", () => {
      const step = run(inPlus(3), timedOut, { type: "apply.rejected", code: 5 });
      expect(step.timeouts).toBe(1);
    });
  });

  describe("reset (after a rollback)", () => {
    it.each([
      ["holding", () => send(start(), { type: "start" })],
      ["plus", () => inPlus()],
      ["minus", () => run(inPlus(), closed(1))],
      ["centre", () => run(inPlus(), closed(1), closed(2))],
      ["stalled", () => run(inPlus(1), timedOut)],
    ] as const)("from %s discards the iteration and measures the restored point", (_, at) => {
      const step = send(at(), { type: "reset" });
      expect(step.value).toEqual({ cycle: "holding" });
      expect(step.actions).toEqual(["abandonIteration", "openWindow"]);
    });

    it("clears the timeout count", () => {
      const step = run(inPlus(3), timedOut, timedOut, { type: "reset" });
      expect(step.timeouts).toBe(0);
      expect(run(step, timedOut, timedOut).value).toEqual({ cycle: "holding" });
    });

    it("does not end a pause: no proposals until resume", () => {
      const paused = send(inPlus(), { type: "pause" });
      const step = send(paused, { type: "reset" });
      expect(step.value).toBe("paused");
      expect(step.actions).not.toContain("openWindow");
    });
  });

  describe("pause and resume", () => {
    it("pause abandons the iteration and drops the open window", () => {
      const step = send(run(inPlus(), closed(1)), { type: "pause" });
      expect(step.value).toBe("paused");
      expect(step.actions).toEqual(["abandonIteration", "discardWindow"]);
    });

    it("while paused, windows and refusals change nothing", () => {
      const paused = send(inPlus(), { type: "pause" });
      for (const event of [closed(1), timedOut, { type: "apply.rejected", code: 3 } as const]) {
        const step = send(paused, event);
        expect(step.value).toBe("paused");
        expect(step.actions).toEqual([]);
      }
    });

    it("resume measures the live point first, then starts a fresh iteration", () => {
      const resumed = send(send(inPlus(), { type: "pause" }), { type: "resume" });
      expect(resumed.value).toEqual({ cycle: "holding" });
      expect(resumed.actions).toEqual(["openWindow"]);
      expect(send(resumed, closed(2)).value).toEqual({ cycle: "plus" });
    });

    it("resume outside a pause does nothing", () => {
      const step = send(run(inPlus(), closed(1)), { type: "resume" });
      expect(step.value).toEqual({ cycle: "minus" });
      expect(step.actions).toEqual([]);
    });
  });

  it("keeps numbers out of its context (only the timeout count and its limit)", () => {
    const states: AnyMachineSnapshot[] = [
      inPlus().snapshot,
      run(inPlus(), closed(1), closed(2), closed(3)).snapshot,
      run(inPlus(1), timedOut).snapshot,
    ];
    for (const s of states) expect(Object.keys(s.context).sort()).toEqual(["stallAfter", "timeouts"]);
  });
});
