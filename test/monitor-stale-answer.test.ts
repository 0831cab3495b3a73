import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { checkTrailOffline } from "../src/monitor/offline-check.js";
import { SafetyMonitor } from "../src/monitor/safety-monitor.js";
import type { SafetySpec } from "../src/monitor/safety-spec.js";

/** One knob on [0, 10] from 5, maxDelta 1; L1 within 4 counted events or 10 s. */
const SPEC: SafetySpec = {
  names: ["x"],
  min: [0],
  max: [10],
  init: [5],
  maxDelta: [1],
  maxUpdatesPerSecond: 3,
  minIntervalMs: 100,
  tripWindowEvents: 4,
  tripWindowMs: 10_000,
};

type Step =
  | { type: "baseline.set" }
  | { type: "apply"; x: number }
  | { type: "rollback" }
  | { type: "mode.changed"; from: string; to: string; reasons?: string[] }
  | { type: "command"; command: string }
  | { type: "window.closed" };

/** Numbers the steps from seq 1, 200 ms apart, raising the generation on each apply and rollback. */
function trail(...steps: Step[]): AuditEvent[] {
  let generation = 0;
  return steps.map((step, i) => {
    const base = { v: 2, runId: "t", seq: i + 1, proposalId: -1, time: 200 * (i + 1) };
    switch (step.type) {
      case "apply":
        generation++;
        return { ...base, generation, type: "apply", kind: "plus", values: { x: step.x } } as AuditEvent;
      case "rollback":
        generation++;
        return {
          ...base,
          generation,
          type: "rollback",
          reason: "safe-mode",
          restoredGeneration: 0,
          values: { x: 5 },
        } as AuditEvent;
      case "mode.changed":
        return { ...base, generation, ...step, reasons: step.reasons ?? [] } as AuditEvent;
      case "window.closed":
        return {
          ...base,
          generation,
          ...step,
          count: 1,
          value: 1,
          timedOut: false,
          openedAt: base.time,
        } as AuditEvent;
      default:
        return { ...base, generation, ...step } as AuditEvent;
    }
  });
}

const windows = (n: number): Step[] => Array.from({ length: n }, () => ({ type: "window.closed" }));
const trip = (from: string): Step => ({ type: "mode.changed", from, to: "frozen", reasons: ["spike"] });

/** L1's verdict from both checkers: the monitor's witness end and the offline checker's seq. */
function l1(events: AuditEvent[]): { monitor: number | undefined; offline: number | undefined } {
  const report = new SafetyMonitor(SPEC).checkAll(events);
  return {
    monitor: report.violations.find((v) => v.property === "L1")?.witness.toSeq,
    offline: checkTrailOffline(SPEC, events).L1,
  };
}

describe("L1: a stale rollback or halt does not answer a later trip", () => {
  it("a halt the operator already reset does not answer a trip after it", () => {
    const events = trail(
      { type: "baseline.set" },
      { type: "command", command: "halt" },
      { type: "mode.changed", from: "normal", to: "halted", reasons: ["manualHalt"] },
      { type: "command", command: "resetSafeMode" },
      { type: "mode.changed", from: "halted", to: "normal" },
      { type: "apply", x: 5.5 },
      trip("normal"),
      ...windows(4),
    );
    // The trip is seq 7; the fourth counted event after it (seq 11) decides it.
    expect(l1(events)).toEqual({ monitor: 11, offline: 11 });
  });

  it("leaving halted cancels the halt as an answer even with nothing applied since", () => {
    const events = trail(
      { type: "baseline.set" },
      { type: "mode.changed", from: "normal", to: "halted", reasons: ["manualHalt"] },
      { type: "mode.changed", from: "halted", to: "normal" },
      trip("normal"),
      ...windows(4),
    );
    expect(l1(events)).toEqual({ monitor: 8, offline: 8 });
  });

  it("a trip reported by the mode change that leaves halted is not answered by that halt", () => {
    const events = trail(
      { type: "baseline.set" },
      { type: "mode.changed", from: "normal", to: "halted", reasons: ["manualHalt"] },
      trip("halted"),
      ...windows(4),
    );
    expect(l1(events)).toEqual({ monitor: 7, offline: 7 });
  });

  it("an earlier rollback followed by new applies does not answer a later trip", () => {
    const events = trail(
      { type: "baseline.set" },
      { type: "apply", x: 5.5 },
      trip("normal"),
      { type: "rollback" },
      { type: "mode.changed", from: "frozen", to: "normal" },
      { type: "apply", x: 5.9 },
      { type: "apply", x: 5.4 },
      trip("normal"),
      ...windows(4),
    );
    expect(l1(events)).toEqual({ monitor: 12, offline: 12 });
  });

  it("still accepts the rollback written just before the mode change that reports its trip", () => {
    const events = trail(
      { type: "baseline.set" },
      { type: "apply", x: 5.5 },
      { type: "rollback" },
      { type: "window.closed" },
      trip("normal"),
      ...windows(6),
    );
    expect(l1(events)).toEqual({ monitor: undefined, offline: undefined });
  });

  it("still accepts a halt in force when the trip is reported while halted", () => {
    const events = trail(
      { type: "baseline.set" },
      { type: "mode.changed", from: "normal", to: "halted", reasons: ["manualHalt"] },
      { type: "mode.changed", from: "halted", to: "halted", reasons: ["manualHalt", "spike"] },
      ...windows(6),
    );
    expect(l1(events)).toEqual({ monitor: undefined, offline: undefined });
  });
});
