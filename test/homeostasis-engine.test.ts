import { VirtualAction, VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import type { AuditEvent, HomeostasisRecallEvent, HomeostasisRefutedEvent } from "../src/audit/events.js";
import { createEngine } from "../src/engine/engine.js";
import type { HomeostasisOptions } from "../src/engine/safety/homeostasis-cache.js";
import { Prng } from "../src/random/prng.js";

// Homeostasis in the engine (issue 11 item 5): a regime that recurs is recognised after the shift
// that brings it back, and the centre warm-starts towards its remembered centre through Tier 1.

const TICK_MS = 100;
const PARAMS = {
  a: { min: -5, max: 5, init: 0, maxDelta: 1 },
  b: { min: -5, max: 5, init: 0, maxDelta: 1 },
};
const A = [2, -2];
const B = [-1.5, 1];
const VISIT = 1200;

function advance(scheduler: VirtualTimeScheduler, time: number): void {
  scheduler.schedule(() => {}, time - scheduler.now());
  scheduler.maxFrames = time;
  scheduler.flush();
}

const loss = (o: readonly number[], x: ArrayLike<number>) => (x[0]! - o[0]!) ** 2 + 2 * (x[1]! - o[1]!) ** 2;

/** A default engine (homeostasis options aside) on `optimumAt`'s quadratic with σ 0.1 noise. */
async function drive(
  ticks: number,
  optimumAt: (t: number) => readonly number[],
  homeostasis: HomeostasisOptions = {},
  seed = 11,
): Promise<{ events: AuditEvent[]; regret: number[]; live: number[][] }> {
  const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
  const engine = createEngine({ seed, params: PARAMS, scheduler, safety: { homeostasis } });
  const events: AuditEvent[] = [];
  const subscription = engine.events.subscribe((e) => events.push(e));
  const prng = Prng.fromSeed(seed, 99);
  const regret: number[] = [];
  const live: number[][] = [];
  try {
    for (let t = 0; t < ticks; t++) {
      advance(scheduler, t * TICK_MS);
      engine.flushEvents();
      const f = loss(optimumAt(t), engine.values);
      regret.push(f);
      live.push(Array.from(engine.values));
      engine.observe({ objective: f + 0.1 * prng.normal(), generation: engine.generation });
      engine.flushEvents();
    }
    if (engine.failure !== undefined) throw engine.failure;
  } finally {
    subscription.unsubscribe();
    await engine.close();
  }
  return { events, regret, live };
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const visitMean = (regret: readonly number[], start: number) => mean(regret.slice(start, start + 500));
const recalls = (events: readonly AuditEvent[]) =>
  events.filter((e): e is HomeostasisRecallEvent => e.type === "homeostasis.recall");

describe("homeostasis in the engine", () => {
  const recurring = (t: number) => (Math.floor(t / VISIT) % 2 === 0 ? A : B);

  it("recognises a regime that returns and warm-starts towards its centre: the return costs less", async () => {
    const { events, regret } = await drive(4 * VISIT, recurring);
    const { regret: without } = await drive(4 * VISIT, recurring, { probeShare: 0 });
    // No recall on B's first visit (nothing remembered but A, where the tuner stands); one at
    // each return, each within a few digests of it, towards the regime that came back.
    const found = recalls(events);
    expect(found.map((r) => Math.floor(r.time / TICK_MS / VISIT))).toEqual([2, 3]);
    for (const r of found)
      expect(r.time).toBeLessThanOrEqual((Math.floor(r.time / TICK_MS / VISIT) * VISIT + 10) * TICK_MS);
    expect(found[0]!.target.a).toBeCloseTo(A[0]!, 0);
    expect(found[0]!.target.b).toBeCloseTo(A[1]!, 0);
    expect(found[1]!.target.a).toBeCloseTo(B[0]!, 0);
    expect(found[1]!.target.b).toBeCloseTo(B[1]!, 0);
    // Both shifts between A and B start from the same regret (the optima are as far apart either
    // way): B's first visit is what a return costs without memory.
    const firstB = visitMean(regret, VISIT);
    expect(visitMean(regret, 2 * VISIT)).toBeLessThan(firstB);
    expect(visitMean(regret, 3 * VISIT)).toBeLessThan(firstB);
    // And less than the same returns with the probe off (the gradient look-up alone).
    expect(visitMean(regret, 2 * VISIT)).toBeLessThan(visitMean(without, 2 * VISIT));
    expect(visitMean(regret, 3 * VISIT)).toBeLessThan(visitMean(without, 3 * VISIT));
    // Through Tier 1: no refusal, no rollback, no SafeMode change.
    expect(
      events.filter((e) => e.type === "violation" || e.type === "rollback" || e.type === "mode.changed"),
    ).toEqual([]);
  });

  it("same seed and digests: the same applies, probe included", async () => {
    const applies = (events: readonly AuditEvent[]) =>
      events.filter((e) => e.type === "apply").map((e) => JSON.stringify((e as { values?: unknown }).values));
    const one = await drive(3 * VISIT, recurring);
    const two = await drive(3 * VISIT, recurring);
    expect(recalls(one.events).length).toBe(1);
    expect(applies(two.events)).toEqual(applies(one.events));
  });

  it("drops a probe the objective refutes: a new regime that lies away from the remembered one", async () => {
    // A, then B, then C, whose optimum lies on the far side of B from A: at the B → C shift the
    // probe heads for A (the regime before B), the objective rises instead of falling, and the
    // tuner turns to C.
    const C = [-4, 3.5];
    const optimumAt = (t: number) => (t < VISIT ? A : t < 2 * VISIT ? B : C);
    const { events, regret, live } = await drive(3 * VISIT, optimumAt);
    const found = recalls(events);
    expect(found.length).toBe(1);
    const at = Math.round(found[0]!.time / TICK_MS);
    expect(at).toBeGreaterThanOrEqual(2 * VISIT);
    // The walk towards A stopped after its first judged step: the live point never came within
    // 2 of A's optimum, and the tuner settled at C.
    const nearestToA = Math.min(...live.slice(at).map((x) => Math.hypot(x[0]! - A[0]!, x[1]! - A[1]!)));
    expect(nearestToA).toBeGreaterThan(2);
    // The stop is audited: which recall, the fall measured and the fall a return predicted.
    const refuted = events.filter((e): e is HomeostasisRefutedEvent => e.type === "homeostasis.refuted");
    expect(refuted.length).toBe(1);
    expect(refuted[0]).toMatchObject({ entry: found[0]!.entry, recall: "probe" });
    expect(refuted[0]!.time).toBeGreaterThan(found[0]!.time);
    expect(refuted[0]!.predictedFall).toBeGreaterThan(0);
    expect(refuted[0]!.fall).toBeLessThan(0.5 * refuted[0]!.predictedFall);
    expect(mean(regret.slice(-300))).toBeLessThan(0.5);
    const { regret: without } = await drive(3 * VISIT, optimumAt, { probeShare: 0 });
    // A refuted probe costs its way out and back (about two iterations far from the optimum), no
    // more: an additive cost over the visit (0.30 to 0.33 per tick here), not a multiple of a
    // baseline that gets cheaper as the travel after a shift does.
    expect(visitMean(regret, 2 * VISIT) - visitMean(without, 2 * VISIT)).toBeLessThan(0.4);
    expect(
      events.filter((e) => e.type === "violation" || e.type === "rollback" || e.type === "mode.changed"),
    ).toEqual([]);
  });
});

describe("a warm start interrupted on its way", () => {
  it("goes on from the point reached instead of refusing its own return for good", () => {
    // The plant's optimum sits at 20, moves to 80 for two minutes, then back: the return is a
    // recall, and its warm start travels two move budgets from its centre within an iteration. A
    // constraint blip then (mode conservative, half the budget) abandons the iteration there.
    const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
    const engine = createEngine({
      seed: 1,
      params: { x: { min: 0, max: 100, init: 20, maxDelta: 2 } },
      scheduler,
    });
    let refused = 0;
    let recalledAt = -1;
    engine.events.subscribe((event) => {
      if (event.type === "violation") refused++;
      if (event.type === "homeostasis.recall" && recalledAt < 0) recalledAt = scheduler.now();
    });
    let state = 12345;
    const noise = () => {
      state = (state * 16807) % 2147483647;
      return state / 2147483647 - 0.5;
    };
    const cost = (x: number, t: number) =>
      (t >= 60_000 && t < 180_000 ? 30 + (x - 80) ** 2 / 100 : (x - 20) ** 2 / 100) + 0.2 * noise();
    for (let t = 0; t <= 400_000; t += 20) {
      const margin = t === 180_620 ? -0.1 : 1;
      engine.observe({
        objective: cost(engine.value("x"), t),
        generation: engine.generation,
        constraintMargin: margin,
      });
      advance(scheduler, t + 20);
      engine.flushEvents();
    }
    expect(recalledAt).toBeGreaterThan(180_000);
    expect(refused).toBe(0);
    expect(engine.mode).toBe("normal");
    expect(Math.abs(engine.value("x") - 20)).toBeLessThan(3);
    void engine.close();
  });
});
