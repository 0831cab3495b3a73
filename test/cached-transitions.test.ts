import { describe, expect, it } from "vitest";
import { assign, createActor, setup } from "xstate";
import { spsaMachine } from "../machines/spsa.machine.js";
import { cachedTransitionIssues, withCachedTransitions } from "../src/engine/cached-transitions.js";

type Step =
  | { readonly type: "start" }
  | { readonly type: "window.closed"; readonly value: number }
  | { readonly type: "reset" };

/** The SPSA chart with every action recording its name (and the event's value) into `log`. */
function recordingChart(log: string[]) {
  const actions: Record<string, (args: { event: { type: string; value?: number } }) => void> = {};
  for (const name of Object.keys(spsaMachine.implementations.actions))
    actions[name] = ({ event }) => log.push(`${name}:${event.type}:${event.value ?? "-"}`);
  return spsaMachine.provide({ actions: actions as never });
}

const INPUT = { input: { stallAfter: 5 } };

const STEPS: Step[] = [
  { type: "start" },
  ...Array.from({ length: 20 }, (_, i) => ({ type: "window.closed" as const, value: i * 0.5 })),
  { type: "reset" },
  ...Array.from({ length: 10 }, (_, i) => ({ type: "window.closed" as const, value: 100 + i })),
];

describe("withCachedTransitions", () => {
  it("accepts the SPSA chart's window events", () => {
    expect(cachedTransitionIssues(spsaMachine, "window.closed")).toEqual([]);
  });

  it("refuses guarded transitions and context updates", () => {
    // The SPSA chart's timeout transition is guarded (stallsNow).
    expect(cachedTransitionIssues(spsaMachine, "window.timedOut")).toContainEqual(
      expect.stringContaining("guarded window.timedOut"),
    );
    const counting = setup({ types: { context: {} as { n: number } } }).createMachine({
      context: { n: 0 },
      on: { tick: { actions: assign({ n: ({ context }) => context.n + 1 }) } },
    });
    expect(cachedTransitionIssues(counting, "tick")).toHaveLength(1);
    expect(() => withCachedTransitions(counting, ["tick"], () => true)).toThrow(/cannot cache tick/);
  });

  it("runs the same actions, in the same order, and reaches the same states as XState itself", () => {
    const plainLog: string[] = [];
    const cachedLog: string[] = [];
    const plain = createActor(recordingChart(plainLog), INPUT).start();
    const cached = createActor(
      withCachedTransitions(recordingChart(cachedLog), ["window.closed"], () => true),
      INPUT,
    ).start();
    for (const step of STEPS) {
      plain.send(step);
      cached.send(step);
      expect(cached.getSnapshot().value).toEqual(plain.getSnapshot().value);
    }
    expect(cachedLog).toEqual(plainLog);
    expect(cachedLog.length).toBeGreaterThan(STEPS.length);
    plain.stop();
    cached.stop();
  });

  it("replays a transition from the second lap on (the snapshot objects repeat)", () => {
    const cached = createActor(
      withCachedTransitions(recordingChart([]), ["window.closed"], () => true),
      INPUT,
    ).start();
    cached.send({ type: "start" });
    const seen = new Map<string, unknown>();
    let repeats = 0;
    for (let i = 0; i < 12; i++) {
      cached.send({ type: "window.closed", value: i });
      const snapshot = cached.getSnapshot();
      expect(snapshot.status).toBe("active");
      const key = JSON.stringify(snapshot.value);
      if (seen.get(key) === snapshot) repeats++;
      seen.set(key, snapshot);
    }
    // Laps are holding → plus → minus → centre → plus …: fresh the first time round, replayed after.
    expect(repeats).toBeGreaterThanOrEqual(8);
    cached.stop();
  });

  it("computes every transition afresh when disabled", () => {
    const cached = createActor(
      withCachedTransitions(recordingChart([]), ["window.closed"], () => false),
      INPUT,
    ).start();
    cached.send({ type: "start" });
    const seen = new Set<unknown>();
    for (let i = 0; i < 12; i++) {
      cached.send({ type: "window.closed", value: i });
      expect(seen.has(cached.getSnapshot())).toBe(false);
      seen.add(cached.getSnapshot());
    }
    cached.stop();
  });
});
