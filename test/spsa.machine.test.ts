import { describe, expect, it } from "vitest";
import { type AnyMachineSnapshot, initialTransition, transition } from "xstate";
import { type SpsaMachineEvent, spsaMachine } from "../machines/spsa.machine.js";

type Snapshot = ReturnType<typeof initialTransition<typeof spsaMachine>>[0];

/** What a transition did: the state it reached and the actions it scheduled, in order. */
interface Step {
  readonly snapshot: Snapshot;
  readonly value: unknown;
  readonly actions: readonly string[];
}

function describeStep(snapshot: Snapshot, actions: readonly { type: string }[]): Step {
  return { snapshot, value: snapshot.value, actions: actions.map((a) => a.type) };
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
/** An empty window, the `consecutive`-th in a row (the engine counts them). */
const timedOut = (consecutive = 1): SpsaMachineEvent => ({ type: "window.timedOut", consecutive });
const BEGIN_PLUS = ["beginIteration", "applyPlus", "openWindow"];

/** The machine in `cycle.plus` of its first iteration. */
function inPlus(stallAfter = 3): Step {
  return run(start(stallAfter), { type: "start" }, closed(10));
}

describe("spsa machine", () => {
  it("starts idle and schedules nothing", () => {
    const step = start(4);
    expect(step.value).toBe("idle");
    expect(step.snapshot.context).toEqual({ stallAfter: 4 });
    expect(step.actions).toEqual([]);
  });

  it("ignores window events while idle", () => {
    const idle = start();
    expect(send(idle, closed(1))).toMatchObject({ value: "idle", actions: [] });
    expect(send(idle, timedOut())).toMatchObject({ value: "idle", actions: [] });
  });

  it("start measures the starting point first (holding)", () => {
    const step = send(start(), { type: "start" });
    expect(step.value).toEqual({ cycle: "holding" });
    expect(step.actions).toEqual(["measureCentre"]);
  });

  it("runs holding → plus → minus → centre → plus, one window each, recording each measurement", () => {
    const holding = send(start(), { type: "start" });
    const plus = send(holding, closed(10));
    expect(plus.value).toEqual({ cycle: "plus" });
    expect(plus.actions).toEqual(["recordCentre", ...BEGIN_PLUS]);

    const minus = send(plus, closed(11));
    expect(minus.value).toEqual({ cycle: "minus" });
    expect(minus.actions).toEqual(["recordPlus", "applyMinus", "openWindow"]);

    const centre = send(minus, closed(9));
    expect(centre.value).toEqual({ cycle: "centre" });
    expect(centre.actions).toEqual(["recordMinus", "applyCentre", "openWindow"]);

    const next = send(centre, closed(8));
    expect(next.value).toEqual({ cycle: "plus" });
    expect(next.actions).toEqual(["recordCentre", ...BEGIN_PLUS]);
  });

  it("the gradient uses y⁺ and y⁻ in order: the centre is applied only after both are recorded", () => {
    const { actions } = run(inPlus(), closed(1), closed(2));
    expect(actions.indexOf("applyCentre")).toBeGreaterThan(actions.indexOf("recordMinus"));
  });

  describe("empty windows", () => {
    it.each([
      ["holding", () => send(start(), { type: "start" }), { cycle: "holding" }],
      ["plus", () => inPlus(), { cycle: "plus" }],
      ["minus", () => run(inPlus(), closed(1)), { cycle: "minus" }],
      ["centre", () => run(inPlus(), closed(1), closed(2)), { cycle: "centre" }],
    ] as const)("in %s re-measure the same point (no new apply)", (_, at, value) => {
      const step = send(at(), timedOut(1));
      expect(step.value).toEqual(value);
      expect(step.actions).toEqual(["noteTimeout", "openWindow"]);
    });

    it("the third in a row stalls the cycle, returning to the centre, audited", () => {
      const second = run(inPlus(3), timedOut(1), timedOut(2));
      expect(second.value).toEqual({ cycle: "plus" });
      expect(second.actions).toEqual(["noteTimeout", "openWindow"]);
      const third = send(second, timedOut(3));
      expect(third.value).toBe("stalled");
      expect(third.actions).toEqual(["noteTimeout", "abandonIteration", "noteStalled", "measureCentre"]);
    });

    it("stallAfter comes from the input", () => {
      expect(run(inPlus(1), timedOut(1)).value).toBe("stalled");
      expect(run(inPlus(5), timedOut(4)).value).toEqual({ cycle: "plus" });
      expect(run(inPlus(5), timedOut(5)).value).toBe("stalled");
    });

    it("while stalled, keep a window open and propose nothing", () => {
      const stalled = run(inPlus(1), timedOut(1));
      const again = send(stalled, timedOut(2));
      expect(again.value).toBe("stalled");
      expect(again.actions).toEqual(["openWindow"]);
    });

    it("the first window with data after a stall resumes the cycle in holding", () => {
      const resumed = send(run(inPlus(1), timedOut(1)), closed(3));
      expect(resumed.value).toEqual({ cycle: "holding" });
      expect(resumed.actions).toEqual(["measureCentre"]);
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
      expect(step.actions).toEqual(["abandonIteration", "measureCentre"]);
      expect(step.actions).not.toContain("applyCentre");
      // After holding measures the live point, a fresh iteration begins.
      expect(send(step, closed(1)).actions).toEqual(["recordCentre", ...BEGIN_PLUS]);
    });
  });

  describe("reset (after a rollback)", () => {
    it.each([
      ["holding", () => send(start(), { type: "start" })],
      ["plus", () => inPlus()],
      ["minus", () => run(inPlus(), closed(1))],
      ["centre", () => run(inPlus(), closed(1), closed(2))],
      ["stalled", () => run(inPlus(1), timedOut(1))],
    ] as const)("from %s discards the iteration and measures the restored point", (_, at) => {
      const step = send(at(), { type: "reset" });
      expect(step.value).toEqual({ cycle: "holding" });
      expect(step.actions).toEqual(["abandonIteration", "measureCentre"]);
    });

    it("does not end a pause: no proposals until resume", () => {
      const paused = send(inPlus(), { type: "pause" });
      const step = send(paused, { type: "reset" });
      expect(step.value).toBe("paused");
      expect(step.actions).not.toContain("openWindow");
    });
  });

  describe("pause and resume", () => {
    it("pause abandons the iteration, drops the open window and opens an observe-only one", () => {
      const step = send(run(inPlus(), closed(1)), { type: "pause" });
      expect(step.value).toBe("paused");
      expect(step.actions).toEqual(["abandonIteration", "discardWindow", "openWindow"]);
    });

    it("while paused, windows only reopen (SafeMode keeps judging them) and refusals change nothing", () => {
      const paused = send(inPlus(), { type: "pause" });
      // A window that filled reopens after its rest (its time limit from its opening); one that
      // timed out has had its time, and reopens at once.
      for (const [event, reopen] of [
        [closed(1), "openWindowAfterRest"],
        [timedOut(1), "openWindow"],
      ] as const) {
        const step = send(paused, event);
        expect(step.value).toBe("paused");
        expect(step.actions).toEqual([reopen]);
      }
      const refused = send(paused, { type: "apply.rejected", code: 3 });
      expect(refused.value).toBe("paused");
      expect(refused.actions).toEqual([]);
    });

    it("resume measures the live point first, then starts a fresh iteration", () => {
      const resumed = send(send(inPlus(), { type: "pause" }), { type: "resume" });
      expect(resumed.value).toEqual({ cycle: "holding" });
      expect(resumed.actions).toEqual(["measureCentre"]);
      expect(send(resumed, closed(2)).value).toEqual({ cycle: "plus" });
    });

    it("resume outside a pause does nothing", () => {
      const step = send(run(inPlus(), closed(1)), { type: "resume" });
      expect(step.value).toEqual({ cycle: "minus" });
      expect(step.actions).toEqual([]);
    });
  });

  it("keeps numbers out of its context (only its stall limit)", () => {
    const states: AnyMachineSnapshot[] = [
      inPlus().snapshot,
      run(inPlus(), closed(1), closed(2), closed(3)).snapshot,
      run(inPlus(1), timedOut(1)).snapshot,
    ];
    for (const s of states) expect(Object.keys(s.context)).toEqual(["stallAfter"]);
  });
});
