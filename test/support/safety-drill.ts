/**
 * The pieces SafeMode drills share: a one-knob engine, a noisy bowl to tune, feeding loops on the
 * virtual clock, and readers of the audit trail they leave.
 */
import type { AuditEvent } from "../../src/audit/events.js";
import type { EngineConfig } from "../../src/engine/config.js";
import { Prng } from "../../src/random/prng.js";
import { digestOf, type EngineRig, engineRig, eventsOfType } from "./engine-harness.js";

/** One knob on [0, 10] starting at 5; maxDelta is 1 (10 % of the range). */
export const ONE = { x: { min: 0, max: 10, init: 5 } } as const satisfies EngineConfig["params"];

/** A short dwell so that recoveries fit in a few seconds of virtual time. */
export const QUICK_EXIT = { safeMode: { dwellMs: 1000, healthyWindows: 2 } } as const;

/** An objective of the live x (and of the digest's index, for plants that change over time). */
export type Plant = (x: number, i?: number) => number;

/** A noisy bowl with its minimum at x = 3. */
export function bowl(seed: number): Plant {
  const noise = Prng.fromSeed(seed, 1);
  return (x) => (x - 3) ** 2 + 0.05 * noise.normal();
}

/**
 * The engine of the cliff drills: five-digest windows and a gain so large that the first step
 * moves the centre a whole maxDelta (5 → 4), while the ±0.2 perturbations stay near 5.
 */
export function cliffRig(): EngineRig {
  return engineRig({
    seed: 1,
    params: ONE,
    window: { digests: 5, ms: 500 },
    spsa: { a: 1 },
    safety: QUICK_EXIT,
  });
}

/** Feeds `count` digests of `plant` at the live x, one every `stepMs` of virtual time. */
export function feed(rig: EngineRig, count: number, stepMs: number, plant: Plant): void {
  for (let i = 0; i < count; i++) {
    rig.clock.advanceBy(stepMs);
    rig.engine.observe(digestOf(rig.engine, plant(rig.engine.values[0]!, i)));
  }
}

/**
 * Feeds up to `limit` digests, one per 100 ms, each `objective(i, x)` at the live x, until the
 * engine leaves `normal`; returns the index of the digest that tripped it, or -1. Every digest
 * must be accepted.
 */
export function feedUntilTrip(
  rig: EngineRig,
  limit: number,
  objective: (i: number, x: number) => number,
): number {
  for (let i = 0; i < limit; i++) {
    rig.clock.advanceBy(100);
    const verdict = rig.engine.observe(digestOf(rig.engine, objective(i, rig.engine.values[0]!)));
    if (verdict !== "accepted") throw new Error(`digest ${i} was not accepted: ${verdict}`);
    if (rig.engine.mode !== "normal") return i;
  }
  return -1;
}

/** Delivers pending audit events and returns those after index `from`. */
export function eventsSince(rig: EngineRig, from: number): AuditEvent[] {
  rig.engine.flushEvents();
  return rig.events.slice(from);
}

/** The mode changes among `events`, as "from→to [reasons]". */
export function transitions(events: readonly AuditEvent[]): string[] {
  return eventsOfType(events, "mode.changed").map((e) => `${e.from}→${e.to} [${e.reasons.join(",")}]`);
}
