// Tailed telemetry in windows of many digests: request latencies spike now and then, and a window
// of 60 catches one most of the time. The default trimmed mean drops such spikes, so the window
// still measures its point; measuring it again instead (the rule before) left the cycle measuring
// again and again, 7 decisions in two minutes where clean telemetry made 133. Spikes that can move
// the window's value, and any spike under a plain mean, still make it measured again.
import { describe, expect, it } from "vitest";
import type { Aggregation } from "../src/engine/aggregate.js";
import { Prng } from "../src/random/prng.js";
import { digestOf, type EngineRig, engineRig, eventsOfType } from "./support/engine-harness.js";

/** A pool size on [1, 256] from 16, at most 8 per apply; latency is lowest near 95. */
const PARAMS = { poolSize: { min: 1, max: 256, init: 16, maxDelta: 8 } } as const;
const latency = (p: number): number => 2 + 180 / p + p / 50;

/** A rig whose windows close on 60 digests, aggregated by `aggregation`. */
function rig(seed: number, aggregation?: Aggregation): EngineRig {
  return engineRig({
    seed,
    params: PARAMS,
    guardrails: "balanced",
    window: { digests: 60, ...(aggregation === undefined ? {} : { aggregation }) },
  });
}

/**
 * Feeds `seconds` of digests, one every 5 ms: the latency at the live pool size, jitter of up to
 * 0.5, and with probability `spikeRate` a spike of 5 to 15 on top (a slow request). With `burst`,
 * digest i also gets `burst(i)` on top.
 */
function run(
  r: EngineRig,
  seconds: number,
  spikeRate: number,
  seed: number,
  burst?: (i: number) => number,
): void {
  const noise = Prng.fromSeed(seed, 7);
  for (let i = 0; i < seconds * 200; i++) {
    r.clock.advanceBy(5);
    const spike = (noise.next() < spikeRate ? 5 + 10 * noise.next() : 0) + (burst?.(i) ?? 0);
    r.engine.observe(digestOf(r.engine, latency(r.engine.values[0]!) + 0.5 * noise.next() + spike));
  }
  r.engine.flushEvents();
}

const remeasured = (r: EngineRig) =>
  eventsOfType(r.events, "window.closed").filter((e) => e.remeasure).length;
const decisions = (r: EngineRig) => eventsOfType(r.events, "decision").length;

describe("windows of tailed telemetry", () => {
  it.each([1, 2, 3])("tune as clean ones do when the trimmed mean drops the spikes (seed %i)", (seed) => {
    const clean = rig(seed);
    run(clean, 120, 0, seed);
    const tailed = rig(seed);
    run(tailed, 120, 0.02, seed);
    // About 1.2 spikes per window, which the trimmed mean's 6 dropped values take.
    expect(remeasured(tailed)).toBeLessThan(5);
    expect(decisions(tailed)).toBeGreaterThan(0.8 * decisions(clean));
    expect(tailed.engine.value("poolSize")).toBeGreaterThan(70);
    expect(tailed.engine.mode).toBe("normal");
  });

  it("are measured again when more spikes than the trimmed mean drops can reach the value", () => {
    const r = rig(1);
    // Every 3 s, every other digest of 40 in a row spikes: 20 spikes over at most two windows, so
    // one of them holds more than the 6 the trimmed mean drops from the top. (Spikes in a row
    // would trip the governor instead, which is not what this measures.)
    const burst = (i: number) => (i % 600 < 40 && i % 2 === 0 ? 50 : 0);
    const windowsBefore = (events: EngineRig["events"]) => eventsOfType(events, "window.closed").length;
    run(r, 60, 0, 1, burst);
    expect(windowsBefore(r.events)).toBeGreaterThan(100);
    // 20 bursts; a burst that falls while the cycle waits to apply feeds no window.
    expect(remeasured(r)).toBeGreaterThanOrEqual(15);
    expect(eventsOfType(r.events, "rollback")).toHaveLength(0);
  });

  it("are measured again when a shift of the environment lands in the middle of one", () => {
    const r = rig(1);
    // Windows of 60 digests close every 300 ms here; from 30.15 s on everything costs 20 more,
    // which the regime detector judges a shift of the environment as soon as it confirms it.
    run(r, 60, 0, 1, (i) => ((i + 1) * 5 >= 30_150 ? 20 : 0));
    // The rise trips the governor's spike rule once it has lasted `spikeHoldMs` (100 ms), and is
    // then judged the environment's.
    const shifts = eventsOfType(r.events, "regime.shift");
    expect(shifts.map((e) => e.time)).toEqual([30_250]);
    // The window that straddles it (half before, half after) feeds no gradient.
    const straddling = eventsOfType(r.events, "window.closed").find((e) => e.time === 30_300);
    expect(straddling?.remeasure).toBe(true);
  });

  it("measure the window after a shift in a window's last digests again, which pairs with it", () => {
    const r = rig(1);
    // From 30.285 s everything costs 3 more (no cost spike: under 3× the level): the window that
    // closes at 30.3 s holds 4 such digests, which its trimmed mean drops, and the next window
    // measures the new level, so an estimate pairing the two would straddle the shift.
    run(r, 40, 0, 1, (i) => ((i + 1) * 5 >= 30_285 ? 3 : 0));
    const closed = eventsOfType(r.events, "window.closed");
    expect(closed.find((e) => e.time === 30_300)?.remeasure).toBeUndefined();
    expect(closed.find((e) => e.time === 30_600)?.remeasure).toBe(true);
  });

  it("are measured again when the cost falls in the middle of one", () => {
    const r = rig(1);
    // From 30.15 s everything costs 2 less: the detector, once it signals the fall, learns its
    // level again, and no digest is far from it for a while; the window still straddles the fall.
    run(r, 40, 0, 1, (i) => ((i + 1) * 5 >= 30_150 ? -2 : 0));
    const straddling = eventsOfType(r.events, "window.closed").find((e) => e.time === 30_300);
    expect(straddling?.remeasure).toBe(true);
  });

  it("are measured again for a single spike under a plain mean, which it moves", () => {
    const r = rig(1, "mean");
    run(r, 60, 0.02, 1);
    const windows = eventsOfType(r.events, "window.closed").length;
    // Most windows of 60 catch a spike at 2 % (1 − 0.98^60 ≈ 70 %).
    expect(remeasured(r)).toBeGreaterThan(0.4 * windows);
  });
});
