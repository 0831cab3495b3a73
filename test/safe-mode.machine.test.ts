import { describe, expect, it } from "vitest";
import { type AnyActorLogic, createActor, initialTransition, SimulatedClock, transition } from "xstate";
import { getAdjacencyMap, getShortestPaths } from "xstate/graph";
import {
  isAcknowledgement,
  SAFE_MODE_DEFAULTS,
  type SafeModeChanged,
  type SafeModeEvent,
  type SafeModeOptions,
  safeModeMachine,
} from "../machines/safe-mode.machine.js";
import {
  decodeSafeMode,
  decodeSafeModeReasons,
  demandedLevel,
  isLatchedReason,
  reasonMask,
  reasonsInSet,
  SAFE_MODE_LEVEL,
  SAFE_MODE_REASON_NAMES,
  SAFE_MODE_REASONS,
  SAFE_MODES,
  type SafeModeName,
  type SafeModeReason,
} from "../machines/safe-mode-reasons.js";

type Snapshot = ReturnType<typeof initialTransition<typeof safeModeMachine>>[0];
/** The part of an executable action the tests read. */
interface Action {
  readonly type: string;
  readonly params?: unknown;
}

/** What one transition did. */
interface Step {
  readonly snapshot: Snapshot;
  readonly mode: SafeModeName;
  readonly reasons: readonly SafeModeReason[];
  readonly emitted: readonly SafeModeChanged[];
  /** Delays scheduled by the step (the dwell timer), in ms. */
  readonly delays: readonly number[];
}

function modeOf(snapshot: Snapshot): SafeModeName {
  const value = snapshot.value;
  return (typeof value === "string" ? value : Object.keys(value)[0]) as SafeModeName;
}

function emittedBy(actions: readonly Action[]): SafeModeChanged[] {
  return actions
    .filter((a) => a.type === "xstate.emit")
    .map((a) => (a.params as { event: SafeModeChanged }).event);
}

function describeStep(snapshot: Snapshot, actions: readonly Action[]): Step {
  return {
    snapshot,
    mode: modeOf(snapshot),
    reasons: reasonsInSet(snapshot.context.reasons),
    emitted: emittedBy(actions),
    delays: actions
      .filter((a) => a.type === "xstate.raise")
      .map((a) => (a.params as { delay?: number }).delay ?? 0),
  };
}

const OPTIONS = { dwellMs: 1_000, healthyWindows: 2 } as const;

function start(options: SafeModeOptions | undefined): Step {
  const [snapshot, actions] = initialTransition(safeModeMachine, options);
  return describeStep(snapshot, actions);
}

/** The delayed event that ends the dwell of `mode` (what the actor's clock would deliver). */
function dwellEvent(mode: "conservative" | "frozen"): SafeModeEvent {
  return { type: `xstate.after.dwell.safeMode.${mode}.dwelling` } as unknown as SafeModeEvent;
}

type Input = SafeModeEvent | "dwell";

function send(from: Step, input: Input): Step {
  const event = input === "dwell" ? dwellEvent(from.mode === "frozen" ? "frozen" : "conservative") : input;
  const [snapshot, actions] = transition(safeModeMachine, from.snapshot, event);
  return describeStep(snapshot, actions);
}

function run(from: Step, ...inputs: Input[]): Step {
  return inputs.reduce(send, from);
}

const raise = (reason: SafeModeReason): SafeModeEvent => ({ type: "reason.raised", reason });
const clear = (reason: SafeModeReason): SafeModeEvent => ({ type: "reason.cleared", reason });
const retract = (reason: SafeModeReason): SafeModeEvent => ({ type: "trip.retracted", reason });
const healthy: SafeModeEvent = { type: "window.healthy" };
const unhealthy: SafeModeEvent = { type: "window.unhealthy" };

describe("safe-mode reasons (data)", () => {
  it("gives every reason a distinct bit and the level the issue asks for", () => {
    const bits = SAFE_MODE_REASON_NAMES.map((r) => SAFE_MODE_REASONS[r].bit);
    expect(new Set(bits).size).toBe(bits.length);
    expect(bits).toEqual([...bits].sort((a, b) => a - b));
    const byMode = (mode: SafeModeName) =>
      SAFE_MODE_REASON_NAMES.filter((r) => SAFE_MODE_REASONS[r].mode === mode);
    expect(byMode("halted")).toEqual(["repeatedTrips", "manualHalt"]);
    expect(byMode("conservative")).toEqual(["constraintViolation", "auditHighWater", "repeatedViolations"]);
    expect(byMode("frozen")).toEqual([
      "nonFiniteObjective",
      "spike",
      "divergence",
      "thrashing",
      "changeBudget",
      "evalTimeouts",
      "constraintEmergency",
      "auditFull",
      "breakerOpen",
    ]);
    // Only the halting reasons are latched until an acknowledged reset.
    expect(SAFE_MODE_REASON_NAMES.filter(isLatchedReason)).toEqual(["repeatedTrips", "manualHalt"]);
  });

  it("computes the demanded level of a set as its highest reason's level", () => {
    expect(demandedLevel(0)).toBe(0);
    expect(demandedLevel(reasonMask("auditHighWater"))).toBe(1);
    expect(demandedLevel(reasonMask("auditHighWater") | reasonMask("auditFull"))).toBe(2);
    expect(demandedLevel(reasonMask("spike") | reasonMask("manualHalt"))).toBe(3);
  });

  it("decodes audit codes: modes by level, reasons by bit, unknown ones generically", () => {
    SAFE_MODES.forEach((mode) => {
      expect(decodeSafeMode(SAFE_MODE_LEVEL[mode])).toBe(mode);
    });
    expect(decodeSafeMode(7)).toBe("mode-7");
    const bits = reasonMask("thrashing") | reasonMask("constraintViolation") | (1 << 30);
    expect(decodeSafeModeReasons(bits)).toEqual(["thrashing", "constraintViolation", "reason-30"]);
    expect(reasonsInSet(bits)).toEqual(["thrashing", "constraintViolation"]);
  });
});

describe("safe-mode machine: start and escalation", () => {
  it("starts in normal with no reasons, the defaults, and nothing scheduled", () => {
    const step = start(undefined);
    expect(step.mode).toBe("normal");
    expect(step.snapshot.context).toEqual({
      reasons: 0,
      healthyWindows: 0,
      escalatedBy: 0,
      escalatedFrom: 0,
      dwellMs: SAFE_MODE_DEFAULTS.dwellMs,
      healthyWindowsRequired: SAFE_MODE_DEFAULTS.healthyWindows,
    });
    expect(step.emitted).toEqual([]);
    expect(step.delays).toEqual([]);
  });

  it("rejects a negative dwell and a healthy-window count below one (the snapshot errors, naming the field)", () => {
    for (const [bad, field] of [
      [{ dwellMs: -1 }, "dwellMs"],
      [{ dwellMs: Number.NaN }, "dwellMs"],
      [{ healthyWindows: 0 }, "healthyWindows"],
      [{ healthyWindows: 1.5 }, "healthyWindows"],
      [{ healthyWindows: 1_000_001 }, "healthyWindows"],
    ] as const) {
      const [snapshot] = initialTransition(safeModeMachine, bad);
      expect(snapshot.status).toBe("error");
      expect(snapshot.error).toBeInstanceOf(RangeError);
      expect((snapshot.error as RangeError).message).toContain(`${field}: must be`);
    }
    expect(start({ dwellMs: 0, healthyWindows: 1 }).snapshot.status).toBe("active");
  });

  it("escalates immediately to the level a reason demands, emitting mode.changed", () => {
    const conservative = send(start(OPTIONS), raise("constraintViolation"));
    expect(conservative.mode).toBe("conservative");
    expect(conservative.emitted).toEqual([
      {
        type: "mode.changed",
        from: "normal",
        to: "conservative",
        reasons: ["constraintViolation"],
        reasonBits: reasonMask("constraintViolation"),
      },
    ]);
    const frozen = send(start(OPTIONS), raise("thrashing"));
    expect(frozen.mode).toBe("frozen");
    expect(frozen.emitted.map((e) => [e.from, e.to])).toEqual([["normal", "frozen"]]);
    // Straight past intermediate levels: normal → halted in one step.
    const halted = send(start(OPTIONS), raise("repeatedTrips"));
    expect(halted.mode).toBe("halted");
    expect(halted.emitted.map((e) => [e.from, e.to])).toEqual([["normal", "halted"]]);
  });

  it("schedules the dwell from the configured delay on every entry to a relaxable mode", () => {
    expect(send(start(OPTIONS), raise("auditHighWater")).delays).toEqual([OPTIONS.dwellMs]);
    expect(send(start({ dwellMs: 250, healthyWindows: 1 }), raise("spike")).delays).toEqual([250]);
  });

  it("escalates from conservative to frozen and from frozen to halted", () => {
    const frozen = run(start(OPTIONS), raise("auditHighWater"), raise("auditFull"));
    expect(frozen.mode).toBe("frozen");
    expect(frozen.emitted.map((e) => [e.from, e.to])).toEqual([["conservative", "frozen"]]);
    const halted = send(frozen, raise("repeatedTrips"));
    expect(halted.mode).toBe("halted");
    expect(halted.reasons).toEqual(["repeatedTrips", "auditHighWater", "auditFull"]);
  });

  it("does not move or announce when a raised reason demands no more than the current mode", () => {
    const frozen = send(start(OPTIONS), raise("divergence"));
    const same = send(frozen, raise("repeatedViolations"));
    expect(same.mode).toBe("frozen");
    expect(same.emitted).toEqual([]);
    expect(same.reasons).toEqual(["divergence", "repeatedViolations"]);
    // A reason already in the set stays once.
    expect(send(same, raise("divergence")).snapshot.context.reasons).toBe(same.snapshot.context.reasons);
  });
});

describe("safe-mode machine: reason set and stepping down", () => {
  it("keeps the first reason when a second is raised; clearing one keeps the other's level", () => {
    const both = run(start(OPTIONS), raise("constraintViolation"), raise("thrashing"));
    expect(both.reasons).toEqual(["thrashing", "constraintViolation"]);
    const oneLeft = send(both, clear("thrashing"));
    expect(oneLeft.reasons).toEqual(["constraintViolation"]);
    // frozen may step down, but only to conservative: constraintViolation still demands it.
    const down = run(oneLeft, "dwell", healthy, healthy);
    expect(down.mode).toBe("conservative");
    expect(down.emitted).toEqual([
      {
        type: "mode.changed",
        from: "frozen",
        to: "conservative",
        reasons: ["constraintViolation"],
        reasonBits: reasonMask("constraintViolation"),
      },
    ]);
    // And it stays there however long it is healthy, until its own reason clears.
    const stays = run(down, "dwell", healthy, healthy, healthy);
    expect(stays.mode).toBe("conservative");
    const normal = run(stays, clear("constraintViolation"), healthy, healthy);
    expect(normal.mode).toBe("normal");
    expect(normal.emitted.map((e) => [e.from, e.to])).toEqual([["conservative", "normal"]]);
  });

  it("stays frozen while another reason of the same level is active", () => {
    const frozen = run(start(OPTIONS), raise("thrashing"), raise("changeBudget"), clear("thrashing"));
    expect(run(frozen, "dwell", healthy, healthy, healthy).mode).toBe("frozen");
    expect(run(frozen, "dwell", clear("changeBudget"), healthy, healthy).mode).toBe("conservative");
  });

  it("steps down one level at a time, each after its own dwell and K healthy windows", () => {
    const frozen = run(start(OPTIONS), raise("evalTimeouts"), clear("evalTimeouts"));
    // Healthy windows without the dwell: still frozen.
    const windowsOnly = run(frozen, healthy, healthy, healthy);
    expect(windowsOnly.mode).toBe("frozen");
    // The dwell then ends it at once (windows already seen).
    const conservative = send(windowsOnly, "dwell");
    expect(conservative.mode).toBe("conservative");
    expect(conservative.emitted.map((e) => [e.from, e.to])).toEqual([["frozen", "conservative"]]);
    // A new level: count and dwell start over, even with no reason left at all.
    expect(conservative.snapshot.context.healthyWindows).toBe(0);
    expect(conservative.delays).toEqual([OPTIONS.dwellMs]);
    const dwelled = send(conservative, "dwell");
    expect(dwelled.mode).toBe("conservative");
    expect(send(dwelled, healthy).mode).toBe("conservative");
    const normal = run(dwelled, healthy, healthy);
    expect(normal.mode).toBe("normal");
    expect(normal.emitted.map((e) => [e.from, e.to])).toEqual([["conservative", "normal"]]);
  });

  it("needs K consecutive healthy windows: an unhealthy one or a reason change restarts the count", () => {
    const settled = run(start(OPTIONS), raise("spike"), clear("spike"), "dwell");
    expect(run(settled, healthy, unhealthy, healthy).mode).toBe("frozen");
    expect(run(settled, healthy, unhealthy, healthy, healthy).mode).toBe("conservative");
    // Raising and clearing a lower-level reason also counts as a change to the set.
    const churn = run(settled, healthy, raise("auditHighWater"), clear("auditHighWater"), healthy);
    expect(churn.mode).toBe("frozen");
    expect(send(churn, healthy).mode).toBe("conservative");
  });

  it("with an actor and a simulated clock, respects the dwell in time", () => {
    const clock = new SimulatedClock();
    const actor = createActor(safeModeMachine, { input: OPTIONS, clock });
    const changes: SafeModeChanged[] = [];
    actor.on("mode.changed", (event) => changes.push(event));
    actor.start();
    actor.send(raise("thrashing"));
    clock.increment(400);
    actor.send(clear("thrashing"));
    actor.send(healthy);
    actor.send(healthy);
    clock.increment(OPTIONS.dwellMs - 401);
    expect(modeOf(actor.getSnapshot())).toBe("frozen");
    clock.increment(1);
    expect(modeOf(actor.getSnapshot())).toBe("conservative");
    actor.send(healthy);
    actor.send(healthy);
    clock.increment(OPTIONS.dwellMs - 1);
    expect(modeOf(actor.getSnapshot())).toBe("conservative");
    clock.increment(1);
    expect(modeOf(actor.getSnapshot())).toBe("normal");
    expect(changes.map((e) => [e.from, e.to])).toEqual([
      ["normal", "frozen"],
      ["frozen", "conservative"],
      ["conservative", "normal"],
    ]);
    actor.stop();
  });
});

describe("safe-mode machine: a trip taken back", () => {
  it("returns at once to the mode the trip found, announced, with no dwell or healthy windows", () => {
    const frozen = run(start(OPTIONS), raise("spike"));
    expect(frozen.mode).toBe("frozen");
    const back = send(frozen, retract("spike"));
    expect(back.mode).toBe("normal");
    expect(back.reasons).toEqual([]);
    expect(back.emitted).toEqual([
      {
        type: "mode.changed",
        from: "frozen",
        to: "normal",
        reasons: [],
        reasonBits: 0,
        note: "trip taken back: spike",
      },
    ]);
    expect(back.delays).toEqual([]);
    // The same after the reason already cleared on a healthy window, while the dwell still runs.
    const cleared = run(frozen, clear("spike"), healthy);
    expect(cleared.mode).toBe("frozen");
    expect(send(cleared, retract("spike")).mode).toBe("normal");
  });

  it("returns to the mode the trip escalated from, or what the reasons still active demand", () => {
    const conservative = run(start(OPTIONS), raise("constraintViolation"), raise("divergence"));
    expect(conservative.mode).toBe("frozen");
    const back = send(conservative, retract("divergence"));
    expect(back.mode).toBe("conservative");
    expect(back.reasons).toEqual(["constraintViolation"]);
    // The conservative mode keeps its own exit: a fresh dwell and healthy windows.
    expect(back.delays).toEqual([OPTIONS.dwellMs]);
    // Even with the reason that made it conservative cleared meanwhile, the trip found conservative.
    const cleared = run(conservative, clear("constraintViolation"), retract("divergence"));
    expect(cleared.mode).toBe("conservative");
    // A reason of the same level that joined the trip keeps the mode: only the trip's reason goes.
    const joined = run(start(OPTIONS), raise("spike"), raise("thrashing"), retract("spike"));
    expect(joined.mode).toBe("frozen");
    expect(joined.reasons).toEqual(["thrashing"]);
    expect(joined.emitted).toEqual([]);
  });

  it("only removes the reason when the trip did not make the latest escalation", () => {
    // Entered by thrashing: a spike trip that joined it raised nothing.
    const byOther = run(
      start(OPTIONS),
      raise("thrashing"),
      raise("spike"),
      clear("thrashing"),
      retract("spike"),
    );
    expect(byOther.mode).toBe("frozen");
    expect(byOther.reasons).toEqual([]);
    // Part-way down (the dwell ran out before the probe ended), it still returns to normal.
    const steppedDown = run(start(OPTIONS), raise("spike"), clear("spike"), "dwell", healthy, healthy);
    expect(steppedDown.mode).toBe("conservative");
    expect(send(steppedDown, retract("spike")).mode).toBe("normal");
    // Back in normal, the trip is over: a later escalation by another reason is not the trip's.
    const later = run(steppedDown, "dwell", healthy, healthy, raise("thrashing"), retract("spike"));
    expect(later.mode).toBe("frozen");
    // In normal it changes nothing and announces nothing.
    const normal = send(start(OPTIONS), retract("spike"));
    expect(normal.mode).toBe("normal");
    expect(normal.emitted).toEqual([]);
  });

  it("does not return once another raise came after the trip, whatever the order of the raises", () => {
    // The trip's reason raised again after it cleared: that raise is live, the trip alone no
    // longer explains the mode.
    const again = run(start(OPTIONS), raise("spike"), clear("spike"), raise("spike"), retract("spike"));
    expect(again.mode).toBe("frozen");
    // A reason that joined and has cleared still steps down through the dwell, in either order.
    const joinedAfter = run(
      start(OPTIONS),
      raise("spike"),
      raise("auditFull"),
      clear("auditFull"),
      retract("spike"),
    );
    const joinedBefore = run(
      start(OPTIONS),
      raise("auditFull"),
      raise("spike"),
      clear("auditFull"),
      retract("spike"),
    );
    expect(joinedAfter.mode).toBe("frozen");
    expect(joinedBefore.mode).toBe("frozen");
    expect(joinedAfter.reasons).toEqual([]);
    expect(joinedBefore.reasons).toEqual([]);
  });

  it("changes nothing, healthy-window count included, for a reason neither in the set nor the trip's", () => {
    const frozen = run(start(OPTIONS), raise("thrashing"), raise("spike"), clear("spike"), healthy);
    expect(frozen.snapshot.context.healthyWindows).toBe(1);
    const after = send(frozen, retract("spike"));
    expect(after.mode).toBe("frozen");
    expect(after.snapshot.context).toEqual(frozen.snapshot.context);
  });

  it("never leaves halted, and ignores latched reasons", () => {
    const halted = run(start(OPTIONS), raise("spike"), raise("repeatedTrips"));
    expect(halted.mode).toBe("halted");
    const after = run(halted, retract("spike"), retract("repeatedTrips"));
    expect(after.mode).toBe("halted");
    expect(after.reasons).toEqual(["repeatedTrips"]);
    expect(after.emitted).toEqual([]);
    // A trip straight to halted cannot be taken back.
    expect(send(run(start(OPTIONS), raise("repeatedTrips")), retract("repeatedTrips")).mode).toBe("halted");
  });
});

describe("safe-mode machine: halted latch and acknowledged reset", () => {
  it("halt goes to halted from any mode with manualHalt and the note", () => {
    const fromNormal = send(start(OPTIONS), { type: "halt", reason: "operator: bad deploy" });
    expect(fromNormal.mode).toBe("halted");
    expect(fromNormal.emitted).toEqual([
      {
        type: "mode.changed",
        from: "normal",
        to: "halted",
        reasons: ["manualHalt"],
        reasonBits: reasonMask("manualHalt"),
        note: "operator: bad deploy",
      },
    ]);
    const fromFrozen = run(start(OPTIONS), raise("auditFull"), { type: "halt", reason: "x" });
    expect(fromFrozen.mode).toBe("halted");
    expect(fromFrozen.reasons).toEqual(["auditFull", "manualHalt"]);
  });

  it("a restored halt adds the latched reasons it restores instead of manualHalt, and only those", () => {
    const restores = reasonMask("repeatedTrips") | reasonMask("spike");
    const restored = send(start(OPTIONS), { type: "halt", reason: "still halted", restores });
    expect(restored.mode).toBe("halted");
    // A spike is the new run's to see again; the latch is what carries over.
    expect(restored.reasons).toEqual(["repeatedTrips"]);
    expect(restored.emitted).toMatchObject([
      { to: "halted", reasons: ["repeatedTrips"], note: "still halted" },
    ]);
    // With no latched reason in it, it is a halt like any other.
    const nothingLatched = send(start(OPTIONS), { type: "halt", reason: "x", restores: reasonMask("spike") });
    expect(nothingLatched.reasons).toEqual(["manualHalt"]);
    // Only a reset ends it, as any halt.
    const cleared = run(
      start(OPTIONS),
      { type: "halt", reason: "x", restores },
      clear("repeatedTrips"),
      healthy,
    );
    expect(cleared.mode).toBe("halted");
    expect(send(cleared, { type: "reset", acknowledge: "ack" }).mode).toBe("normal");
  });

  it("takes any name written in letters, digits, punctuation or symbols as an acknowledgement", () => {
    for (const who of ["ana", "李娜", "Ω", "42", "—", "✔", " ana\u200b "])
      expect(isAcknowledgement(who), JSON.stringify(who)).toBe(true);
    for (const blank of ["", " \t\n", "\u200b", "\u3164", "\u034f", "\ud800", 5, null])
      expect(isAcknowledgement(blank), JSON.stringify(blank)).toBe(false);
  });

  it("stays halted through clears, healthy windows and blank acknowledgements", () => {
    const halted = run(start(OPTIONS), raise("thrashing"), raise("repeatedTrips"));
    const after = run(
      halted,
      clear("thrashing"),
      clear("repeatedTrips"),
      healthy,
      healthy,
      healthy,
      { type: "reset", acknowledge: "" },
      { type: "reset", acknowledge: "   " },
      // Zero-width and other invisible characters name nobody either (they passed trim()).
      { type: "reset", acknowledge: "\u200b" },
      { type: "reset", acknowledge: "\ufeff\u200d \u0007" },
      // Blank glyphs, combining marks alone and a lone surrogate show nothing either.
      { type: "reset", acknowledge: "\u3164\u2800" },
      { type: "reset", acknowledge: "\u034f\ufe0f" },
      { type: "reset", acknowledge: "\ud800" },
    );
    expect(after.mode).toBe("halted");
    // The non-latched reason left by its own clear; the latched one ignored its clear.
    expect(after.reasons).toEqual(["repeatedTrips"]);
    expect(after.emitted).toEqual([]);
  });

  it("an acknowledged reset leaves halted for normal, clears the reasons and records the acknowledgement", () => {
    const halted = run(start(OPTIONS), raise("constraintViolation"), { type: "halt", reason: "drill" });
    const reset = send(halted, { type: "reset", acknowledge: "checked the plant — ana" });
    expect(reset.mode).toBe("normal");
    expect(reset.snapshot.context.reasons).toBe(0);
    expect(reset.emitted).toEqual([
      {
        type: "mode.changed",
        from: "halted",
        to: "normal",
        reasons: [],
        reasonBits: 0,
        acknowledge: "checked the plant — ana",
      },
    ]);
  });

  it("ignores reset outside halted (the other modes end through their reasons)", () => {
    const frozen = send(start(OPTIONS), raise("spike"));
    const after = send(frozen, { type: "reset", acknowledge: "ok" });
    expect(after.mode).toBe("frozen");
    expect(after.reasons).toEqual(["spike"]);
    expect(after.emitted).toEqual([]);
  });

  it("keeps its context JSON-safe", () => {
    const step = run(start(OPTIONS), raise("auditHighWater"), raise("breakerOpen"), healthy);
    expect(JSON.parse(JSON.stringify(step.snapshot.context))).toEqual(step.snapshot.context);
  });
});

describe("safe-mode machine: model-based (xstate/graph)", () => {
  const MODEL_INPUT = { dwellMs: 10, healthyWindows: 2 } as const;
  const reasonsAlphabet: readonly SafeModeReason[] = [
    "constraintViolation",
    "thrashing",
    "spike",
    "repeatedTrips",
  ];
  const alphabet = (snapshot: Snapshot): SafeModeEvent[] => {
    const events: SafeModeEvent[] = [
      ...reasonsAlphabet.flatMap((r) => [raise(r), clear(r)]),
      retract("spike"),
      retract("constraintViolation"),
      retract("repeatedTrips"),
      clear("manualHalt"),
      healthy,
      unhealthy,
      { type: "halt", reason: "drill" },
      { type: "halt", reason: "restored", restores: reasonMask("repeatedTrips") },
      { type: "reset", acknowledge: "" },
      { type: "reset", acknowledge: "ack" },
    ];
    if (snapshot.matches({ conservative: "dwelling" })) events.push(dwellEvent("conservative"));
    if (snapshot.matches({ frozen: "dwelling" })) events.push(dwellEvent("frozen"));
    return events;
  };
  const traversal = { events: alphabet, input: MODEL_INPUT };
  // xstate/graph's signatures do not carry the emitted-event type, so the machine goes in untyped.
  const graphLogic = safeModeMachine as unknown as AnyActorLogic;

  /** Checks every rule of one step; returns the violations (empty when the step is lawful). */
  function violations(prev: Snapshot, event: SafeModeEvent, next: Snapshot): string[] {
    const problems: string[] = [];
    const [replayed, actions] = transition(safeModeMachine, prev, event);
    const from = modeOf(prev);
    const to = modeOf(next);
    const fromLevel = SAFE_MODE_LEVEL[from];
    const toLevel = SAFE_MODE_LEVEL[to];
    const before = prev.context.reasons;
    const after = next.context.reasons;
    const acknowledgedReset = event.type === "reset" && event.acknowledge.trim() !== "" && from === "halted";

    if (modeOf(replayed) !== to || replayed.context.reasons !== after) problems.push("not deterministic");
    // Escalation is immediate: the mode is never below what the set demands.
    if (toLevel < demandedLevel(after)) problems.push(`${to} below demanded level ${demandedLevel(after)}`);
    // A raised reason is in the set afterwards.
    if (event.type === "reason.raised" && (after & reasonMask(event.reason)) === 0)
      problems.push("raise lost");
    // Reasons are lost only by their own clear or retraction (not latched) or an acknowledged reset.
    const lost = before & ~after;
    if (lost !== 0 && !acknowledgedReset) {
      const ownClear =
        (event.type === "reason.cleared" || event.type === "trip.retracted") &&
        !isLatchedReason(event.reason) &&
        lost === reasonMask(event.reason);
      if (!ownClear) problems.push(`lost ${reasonsInSet(lost).join(",")} on ${event.type}`);
    }
    // halted is left only by an acknowledged reset.
    if (from === "halted" && to !== "halted" && !acknowledgedReset) problems.push("left halted without ack");
    if (acknowledgedReset && (to !== "normal" || after !== 0))
      problems.push("reset did not reach a clean normal");
    // A retraction of the raise that entered the mode returns to the mode that raise found (or
    // what the remaining reasons demand); any other retraction leaves the mode alone.
    const retraction = event.type === "trip.retracted";
    const takesBack =
      retraction &&
      from !== "halted" &&
      from !== "normal" &&
      !isLatchedReason(event.reason) &&
      prev.context.escalatedBy === reasonMask(event.reason);
    if (takesBack) {
      const expected = Math.min(fromLevel, Math.max(prev.context.escalatedFrom, demandedLevel(after)));
      if (toLevel !== expected) problems.push(`retraction went ${from}→${to}, not to level ${expected}`);
    } else if (retraction && to !== from) problems.push(`a retraction moved ${from}→${to}`);
    // Otherwise a retraction of a reason outside the set changes nothing at all.
    if (
      retraction &&
      !takesBack &&
      (before & reasonMask(event.reason)) === 0 &&
      JSON.stringify(next.context) !== JSON.stringify(prev.context)
    )
      problems.push(`a retraction of ${event.reason}, not in the set, changed the context`);
    // Stepping down: one level, with that level's reasons gone, after the dwell and K healthy windows.
    if (toLevel < fromLevel && from !== "halted" && !takesBack) {
      if (toLevel !== fromLevel - 1) problems.push(`skipped a level ${from}→${to}`);
      if (demandedLevel(after) >= fromLevel) problems.push(`left ${from} with its reasons active`);
      const dwelled = prev.matches({ [from]: "settled" }) || event.type.startsWith("xstate.after.dwell");
      if (!dwelled) problems.push(`left ${from} before the dwell`);
      const windows = prev.context.healthyWindows + (event.type === "window.healthy" ? 1 : 0);
      if (windows < MODEL_INPUT.healthyWindows)
        problems.push(`left ${from} after ${windows} healthy windows`);
    }
    // mode.changed is emitted exactly on a mode change, with the new set.
    const emitted = emittedBy(actions);
    if (from === to && emitted.length > 0) problems.push("announced without a change");
    if (from !== to) {
      const expected = { from, to, reasons: reasonsInSet(after), reasonBits: after };
      if (emitted.length !== 1 || !emittedMatches(emitted[0]!, expected))
        problems.push("change not announced");
    }
    return problems;
  }

  function emittedMatches(
    event: SafeModeChanged,
    expected: Pick<SafeModeChanged, "from" | "to" | "reasons" | "reasonBits">,
  ): boolean {
    return (
      event.from === expected.from &&
      event.to === expected.to &&
      event.reasonBits === expected.reasonBits &&
      JSON.stringify(event.reasons) === JSON.stringify(expected.reasons)
    );
  }

  it("obeys every rule on every transition of every reachable state", () => {
    const adjacency = getAdjacencyMap(graphLogic, traversal);
    const states = Object.values(adjacency) as {
      state: Snapshot;
      transitions: Record<string, { event: SafeModeEvent; state: Snapshot }>;
    }[];
    let edges = 0;
    const problems: string[] = [];
    const moves = new Set<string>();
    for (const { state, transitions } of states) {
      for (const { event, state: next } of Object.values(transitions)) {
        edges++;
        if (modeOf(state) !== modeOf(next)) moves.add(`${modeOf(state)}>${modeOf(next)}`);
        for (const p of violations(state, event, next)) problems.push(`${JSON.stringify(state.value)}: ${p}`);
      }
    }
    expect(problems).toEqual([]);
    // Exactly these mode changes occur: any escalation, one-level step-downs, a retraction back to
    // normal from frozen, and the reset.
    expect([...moves].sort()).toEqual(
      [
        "normal>conservative",
        "normal>frozen",
        "normal>halted",
        "conservative>frozen",
        "conservative>halted",
        "frozen>halted",
        "frozen>conservative",
        "frozen>normal",
        "conservative>normal",
        "halted>normal",
      ].sort(),
    );
    // Every mode and dwell sub-state is reachable, and the space was really explored.
    const values = new Set(states.map(({ state }) => JSON.stringify(state.value)));
    expect([...values].sort()).toEqual(
      [
        '"normal"',
        '"halted"',
        '{"conservative":"dwelling"}',
        '{"conservative":"settled"}',
        '{"frozen":"dwelling"}',
        '{"frozen":"settled"}',
      ].sort(),
    );
    expect(states.length).toBeGreaterThan(50);
    expect(edges).toBeGreaterThan(states.length * 10);
  });

  it("obeys every rule along the shortest path to each reachable state, replayed step by step", () => {
    const paths = getShortestPaths(graphLogic, traversal) as {
      state: Snapshot;
      steps: { event: SafeModeEvent; state: Snapshot }[];
    }[];
    expect(paths.length).toBeGreaterThan(50);
    const problems: string[] = [];
    for (const path of paths) {
      let current = initialTransition(safeModeMachine, MODEL_INPUT)[0];
      for (const step of path.steps) {
        // The first step of a path is the initial state itself (its event is xstate.init).
        if ((step.event as { type: string }).type === "xstate.init") continue;
        const [next] = transition(safeModeMachine, current, step.event);
        problems.push(...violations(current, step.event, next));
        current = next;
      }
      expect(current.value).toEqual(path.state.value);
      expect(current.context).toEqual(path.state.context);
    }
    expect(problems).toEqual([]);
  });
});
