import { describe, expect, it } from "vitest";
import { createActor, SimulatedClock } from "xstate";
import { type SafeModeChanged, safeModeMachine } from "../machines/safe-mode.machine.js";

// TypeScript rejects these events, but a JS or data-driven user of `arqon/machines` can send them.
// The chart ignores them (no transition, context kept) instead of failing a guard and losing its
// whole state: the reason set, the mode and the dwell timer.

/** Reason names the chart does not know, inherited Object members included. */
const UNKNOWN_REASONS: readonly unknown[] = [
  "breakerOpn",
  "",
  "toString",
  "constructor",
  "__proto__",
  undefined,
  null,
  42,
  { bit: 0 },
];

/** Acknowledgements that are not strings. */
const BAD_ACKNOWLEDGEMENTS: readonly unknown[] = [undefined, null, 42, {}, ["ok"]];

/** A SafeMode actor on a simulated clock, with every error and `mode.changed` it produced. */
function start() {
  const clock = new SimulatedClock();
  const errors: unknown[] = [];
  const changes: SafeModeChanged[] = [];
  const actor = createActor(safeModeMachine, { input: { dwellMs: 1000, healthyWindows: 1 }, clock });
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.on("mode.changed", (event) => changes.push(event));
  actor.start();
  const send = (event: unknown) => actor.send(event as never);
  return { actor, clock, errors, changes, send };
}

describe("SafeMode ignores malformed events", () => {
  const entries = [
    ["normal", [] as unknown[]],
    ["conservative", [{ type: "reason.raised", reason: "constraintViolation" }]],
    ["frozen", [{ type: "reason.raised", reason: "spike" }]],
    ["halted", [{ type: "halt", reason: "maintenance" }]],
  ] as const;

  for (const [mode, setup] of entries) {
    it(`${mode}: a reason.raised, reason.cleared or trip.retracted with an unknown reason changes nothing`, () => {
      const { actor, errors, send } = start();
      for (const event of setup) send(event);
      send({ type: "window.healthy" });
      const before = actor.getSnapshot();
      for (const reason of UNKNOWN_REASONS) {
        send({ type: "reason.raised", reason });
        send({ type: "reason.cleared", reason });
        send({ type: "trip.retracted", reason });
        // Sent without a reason at all.
        send({ type: "reason.raised" });
        send({ type: "reason.cleared" });
        send({ type: "trip.retracted" });
      }
      const after = actor.getSnapshot();
      expect(errors).toEqual([]);
      expect(after.status).toBe("active");
      expect(after.value).toEqual(before.value);
      expect(after.context).toEqual(before.context);
    });
  }

  it("frozen: after ignored events the dwell timer still runs and the mode steps down", () => {
    const { actor, clock, errors, changes, send } = start();
    send({ type: "reason.raised", reason: "breakerOpen" });
    send({ type: "reason.raised", reason: "breakerOpn" });
    send({ type: "reason.cleared", reason: "breakerOpn" });
    send({ type: "reason.cleared", reason: "breakerOpen" });
    clock.increment(1000);
    send({ type: "window.healthy" });
    expect(errors).toEqual([]);
    expect(actor.getSnapshot().value).toEqual({ conservative: "dwelling" });
    expect(changes.map((c) => `${c.from}->${c.to}`)).toEqual(["normal->frozen", "frozen->conservative"]);
  });

  it("halted: a reset without a string acknowledge changes nothing; a proper one still resets", () => {
    const { actor, errors, changes, send } = start();
    send({ type: "halt", reason: "maintenance" });
    const before = actor.getSnapshot();
    for (const acknowledge of BAD_ACKNOWLEDGEMENTS) send({ type: "reset", acknowledge });
    send({ type: "reset" });
    expect(errors).toEqual([]);
    expect(actor.getSnapshot().value).toBe("halted");
    expect(actor.getSnapshot().context).toEqual(before.context);
    send({ type: "reset", acknowledge: "ops: checked" });
    expect(actor.getSnapshot().value).toBe("normal");
    expect(changes.at(-1)).toMatchObject({ from: "halted", to: "normal", acknowledge: "ops: checked" });
  });

  it("normal: a reset without acknowledge is ignored as before", () => {
    const { actor, errors, send } = start();
    send({ type: "reset" });
    expect(errors).toEqual([]);
    expect(actor.getSnapshot().value).toBe("normal");
  });
});
