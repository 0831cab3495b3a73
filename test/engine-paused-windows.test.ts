/**
 * A paused cycle (frozen, halted, or after an internal failure) keeps measuring windows for
 * SafeMode, one per window limit at most: a window that fills early rests until its limit from its
 * opening has passed. With per-request telemetry it used to close one window per digest: thousands
 * of `window.closed` records a second, and "healthy windows" that were milliseconds of telemetry.
 */
import { describe, expect, it } from "vitest";
import type { WindowClosedEvent } from "../src/audit/events.js";
import { digestOf, type EngineRig, engineRig, eventsOfType } from "./support/engine-harness.js";
import { bowl, eventsSince, feed, ONE, type Plant, QUICK_EXIT, transitions } from "./support/safety-drill.js";

/** Where the events from now on will start (after delivering those pending). */
function mark(rig: EngineRig): number {
  rig.engine.flushEvents();
  return rig.events.length;
}

/** The windows closed from event index `from` on. */
function windowsSince(rig: EngineRig, from: number): WindowClosedEvent[] {
  return eventsOfType(eventsSince(rig, from), "window.closed");
}

/** The least time from one window's opening to the next one's. */
function closestOpenings(windows: readonly WindowClosedEvent[]): number {
  let closest = Number.POSITIVE_INFINITY;
  for (let k = 1; k < windows.length; k++)
    closest = Math.min(closest, windows[k]!.openedAt - windows[k - 1]!.openedAt);
  return closest;
}

/** Three non-finite objectives `stepMs` apart, which freeze the engine; returns when it froze. */
function freezeOnNaNs(rig: EngineRig, stepMs: number): number {
  for (let i = 0; i < 3; i++) {
    rig.clock.advanceBy(stepMs);
    rig.engine.observe(digestOf(rig.engine, Number.NaN));
  }
  expect(rig.engine.mode).toBe("frozen");
  return rig.engine.now();
}

/** Frozen by the non-finite objectives, then back to normal a level at a time. */
const FROZEN_AND_BACK = [
  "normal→frozen [nonFiniteObjective]",
  "frozen→conservative []",
  "conservative→normal []",
];

/** A tuned engine on the default windows (1 digest or 500 ms), halted after 20 s of tuning. */
function haltedRig(plant: Plant, window?: { digests: number; ms?: number }): EngineRig {
  const rig = engineRig({ seed: 3, params: ONE, ...(window && { window }) });
  feed(rig, 200, 100, plant);
  rig.engine.halt("maintenance");
  return rig;
}

describe("a paused cycle measures at the windows' pace, not the digests'", () => {
  it("halted, 2,000 digests a second for 10 s: about two windows a second, each 500 ms after the last", () => {
    const plant = bowl(3);
    const rig = haltedRig(plant);
    const from = mark(rig);
    const before = rig.engine.snapshot().digests;
    feed(rig, 20_000, 0.5, plant);
    const windows = windowsSince(rig, from);
    // One per 500 ms (and the one the halt opened): it was 20,001.
    expect(windows.length).toBeGreaterThanOrEqual(20);
    expect(windows.length).toBeLessThanOrEqual(21);
    expect(closestOpenings(windows)).toBeGreaterThanOrEqual(500);
    for (const w of windows) expect(w).toMatchObject({ count: 1, timedOut: false });
    // Every digest was taken, and the safety checks saw it; the rest's digests fed no window.
    const after = rig.engine.snapshot().digests;
    expect(after.accepted - before.accepted).toBe(20_000);
    expect(after.unused - before.unused).toBe(20_000 - windows.length);
  });

  it("windows on a digest count alone rest for guardrails.minIntervalMs", () => {
    const plant = bowl(3);
    const rig = haltedRig(plant, { digests: 5 });
    const from = mark(rig);
    feed(rig, 4000, 1, plant);
    const windows = windowsSince(rig, from);
    // 4 s at the balanced preset's 100 ms between applies: it was 800 windows.
    expect(windows.length).toBeGreaterThanOrEqual(40);
    expect(windows.length).toBeLessThanOrEqual(41);
    expect(closestOpenings(windows)).toBeGreaterThanOrEqual(100);
    for (const w of windows) expect(w.count).toBe(5);
  });

  it("count-only windows rest 100 ms at least, when guardrails.minIntervalMs is 0", () => {
    const plant = bowl(3);
    const rig = engineRig({ seed: 3, params: ONE, window: { digests: 5 }, guardrails: { minIntervalMs: 0 } });
    feed(rig, 200, 100, plant);
    rig.engine.halt("maintenance");
    const from = mark(rig);
    feed(rig, 4000, 1, plant);
    const windows = windowsSince(rig, from);
    // It was 800 under decision rules 21.
    expect(windows.length).toBeLessThanOrEqual(41);
    expect(closestOpenings(windows)).toBeGreaterThanOrEqual(100);
  });

  it("rests for the configured window.ms, not a limit slow telemetry stretched", () => {
    const plant = bowl(3);
    const rig = engineRig({ seed: 3, params: ONE, safety: QUICK_EXIT });
    feed(rig, 200, 100, plant);
    // A digest every 20 s: the 500 ms windows stall, and the limit is stretched.
    feed(rig, 10, 20_000, plant);
    expect(rig.engine.snapshot().window).toEqual({ ms: 40_000, stretched: true });
    const from = mark(rig);
    const frozenAt = freezeOnNaNs(rig, 10);
    // Then 100 healthy digests a second, for 10 s.
    feed(rig, 1000, 10, plant);
    const events = eventsSince(rig, from);
    expect(transitions(events)).toEqual(FROZEN_AND_BACK);
    // Back to normal 2 s after the freeze, as with an unstretched limit: under decision rules 21
    // the frozen engine's windows opened 40 s apart, and it took 81 s.
    expect(eventsOfType(events, "mode.changed")[2]!.time - frozenAt).toBeLessThanOrEqual(2000);
    const frozenWindows = windowsSince(rig, from).filter((w) => w.openedAt >= frozenAt);
    expect(frozenWindows.slice(0, 3).map((w) => w.openedAt - frozenAt)).toEqual([0, 500, 1000]);
  });

  it("slower telemetry loses nothing: a digest every 2 s still fills a window each", () => {
    const plant = bowl(3);
    const rig = haltedRig(plant);
    const from = mark(rig);
    const before = rig.engine.snapshot().digests.unused;
    feed(rig, 30, 2000, plant);
    const filled = windowsSince(rig, from).filter((w) => w.count > 0);
    expect(filled).toHaveLength(30);
    expect(rig.engine.snapshot().digests.unused).toBe(before);
  });

  it("the cycle's own windows take no rest: a reset resumes tuning at once", () => {
    const plant = bowl(3);
    const rig = haltedRig(plant);
    feed(rig, 3, 0.5, plant);
    // The third digest came while the second window rested.
    const resetAt = rig.engine.now();
    expect(rig.engine.resetSafeMode({ acknowledge: "checked" })).toBe(true);
    const from = mark(rig);
    feed(rig, 4000, 0.5, plant);
    const events = eventsSince(rig, from);
    const applies = eventsOfType(events, "apply");
    const windows = eventsOfType(events, "window.closed");
    // Tuning again: the first window opened as the cycle brought the centre back (once Tier 1
    // allowed an apply after the reset), and the rest's timer (due at 20 500 ms, 500 ms after the
    // halted engine's window opened) replaced none of the cycle's windows.
    expect(applies.length).toBeGreaterThan(10);
    expect(applies[0]!.time).toBeGreaterThan(resetAt);
    expect(windows[0]!.openedAt).toBe(applies[0]!.time);
    expect(windows.map((w) => w.openedAt)).not.toContain(20_500);
  });

  it("frozen by non-finite objectives: SafeMode steps down on windows spread over its dwell, not its last milliseconds", () => {
    const plant = bowl(3);
    const rig = engineRig({ seed: 3, params: ONE, safety: QUICK_EXIT });
    feed(rig, 200, 100, plant);
    const from = mark(rig);
    const frozenAt = freezeOnNaNs(rig, 0.5);
    feed(rig, 4000, 0.5, plant);
    const events = eventsSince(rig, from);
    expect(transitions(events)).toEqual(FROZEN_AND_BACK);
    const steppedAt = eventsOfType(events, "mode.changed")[1]!.time;
    expect(steppedAt - frozenAt).toBe(1000);
    // The dwell (1 s) and two healthy windows: the frozen engine's windows opened 500 ms apart, so
    // its healthy windows were three digests spread over the dwell (they were the dwell's last
    // 2,000 digests, one window each).
    const frozenWindows = windowsSince(rig, from).filter(
      (w) => w.openedAt >= frozenAt && w.time <= steppedAt,
    );
    expect(frozenWindows.map((w) => w.openedAt - frozenAt)).toEqual([0, 500, 1000]);
  });
});
