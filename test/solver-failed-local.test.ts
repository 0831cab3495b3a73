// A failed or pruned trial has no value, but where it was asked is knowledge: the default
// strategy's local phase must not keep proposing across the edge of a region that crashes.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Prng } from "../src/random/prng.js";
import { createSolver, restoreSolver } from "../src/solver/solver.js";
import type { Evaluation } from "../src/solver/strategy.js";
import { TrustRegionBatch } from "../src/solver/trust-region.js";

const continuous = { x: { min: 0, max: 1 }, y: { min: 0, max: 1 } };
const mixed = { ...continuous, k: { type: "categorical" as const, choices: ["a", "b"] } };

type Ending = "fail" | "pruned" | "large";

/**
 * Runs auto on a bowl at (0.5, 0.5) (0.3 higher on k = b) whose evaluation crashes for x > 0.5,
 * telling a crash as `ending`; returns the asked points and how many of trials 51..100 crashed.
 */
function crashingRun(seed: number, ending: Ending, bounds: typeof continuous | typeof mixed) {
  const solver = createSolver({ seed, budget: 100, bounds, strategy: "auto" });
  const asked: string[] = [];
  let lateCrashes = 0;
  for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
    for (const t of batch) {
      const p = t.params as { x: number; y: number; k?: string };
      asked.push(JSON.stringify(p));
      if (p.x <= 0.5) {
        solver.tell({ id: t.id, value: (p.x - 0.5) ** 2 + (p.y - 0.5) ** 2 + (p.k === "b" ? 0.3 : 0) });
        continue;
      }
      if (t.id > 50) lateCrashes++;
      if (ending === "fail") solver.fail(t.id, "crashed");
      else if (ending === "pruned") solver.tell({ id: t.id, pruned: true });
      else solver.tell({ id: t.id, value: 10 });
    }
  }
  return { asked, lateCrashes };
}

function lateCrashes(ending: Ending, bounds: typeof continuous | typeof mixed): number {
  let late = 0;
  for (let seed = 1; seed <= 10; seed++) late += crashingRun(seed, ending, bounds).lateCrashes;
  return late;
}

/** A digest of every point auto asks on a 3-D valley, `workers` trials running at once. */
function askedDigest(seed: number, workers: number, withCategorical: boolean): string {
  const bounds = {
    a: { min: -2, max: 2 },
    b: { min: -1, max: 3 },
    n: { type: "int" as const, min: 0, max: 20 },
    ...(withCategorical ? { k: { type: "categorical" as const, choices: ["p", "q", "r"] } } : {}),
  };
  const solver = createSolver({ seed, budget: 80, bounds, strategy: "auto" });
  const hash = createHash("sha256");
  const running: { id: number; params: Record<string, unknown> }[] = [];
  for (;;) {
    const batch = running.length < workers ? solver.ask({ max: workers - running.length }) : [];
    for (const t of batch ?? []) {
      hash.update(JSON.stringify(t.params));
      running.push(t);
    }
    const t = running.shift();
    if (t === undefined) break;
    const { a, b, n, k } = t.params as { a: number; b: number; n: number; k?: string };
    const value = 100 * (b - a * a) ** 2 + (1 - a) ** 2 + 0.1 * (n - 7) ** 2 + (k === "q" ? 0.5 : 0);
    solver.tell({ id: t.id, value });
  }
  return hash.digest("hex").slice(0, 16);
}

describe("failed and pruned trials in auto's local phase", () => {
  it("steer later trials away from the region that crashes, as a large value does", () => {
    // 500 late trials over ten seeds: 342 crashed while the trust region saw no failed point,
    // 148 since; 156 when a crash is told as 10.
    const failed = lateCrashes("fail", continuous);
    expect(failed).toBeLessThan(200);
    expect(failed).toBeLessThan(1.3 * lateCrashes("large", continuous));
  });

  it("do the same on a mixed space", () => {
    // 342 before, 140 since; 171 when a crash is told as 10.
    expect(lateCrashes("fail", mixed)).toBeLessThan(200);
  });

  it("keep the trust region from proposing where a trial failed", () => {
    // A bowl at (0.5, 0.5) known only left of it: the fitted minimiser is the bowl's.
    const bowl = (u: number[]): Evaluation => ({ u, value: (u[0]! - 0.5) ** 2 + (u[1]! - 0.5) ** 2 });
    const history = [
      [0.45, 0.5],
      [0.4, 0.5],
      [0.45, 0.45],
      [0.45, 0.55],
      [0.4, 0.4],
      [0.4, 0.6],
      [0.35, 0.5],
      [0.48, 0.52],
      [0.47, 0.47],
      [0.42, 0.53],
    ].map(bowl);
    const region = () => new TrustRegionBatch(Prng.fromSeed(1, 2), 0.15);
    const free = region().propose(history, 0, [], 1);
    expect(free[0]).toBeCloseTo(0.5, 6);
    expect(free[1]).toBeCloseTo(0.5, 6);
    // Nothing failed: the same point with an empty list.
    expect(region().propose(history, 0, [], 1, [])).toEqual(free);
    // The evaluation crashed there: the next point lies nearer a completed point than the crash.
    const x = region().propose(history, 0, [], 1, [free]);
    const distance = (a: readonly number[]) => Math.hypot(x[0]! - a[0]!, x[1]! - a[1]!);
    expect(Math.min(...history.map((e) => distance(e.u)))).toBeLessThanOrEqual(distance(free));
    expect(x[0]).toBeLessThan(0.5);
  });

  it("are treated alike whether failed or pruned", () => {
    for (const seed of [1, 2]) {
      expect(crashingRun(seed, "pruned", continuous).asked).toEqual(
        crashingRun(seed, "fail", continuous).asked,
      );
      expect(crashingRun(seed, "pruned", mixed).asked).toEqual(crashingRun(seed, "fail", mixed).asked);
    }
  });

  it("leave a run where nothing failed asking what it asked before", () => {
    // Recorded before failed points reached the local phase. Five were recorded again when the
    // trust region stopped proposing int cells measured before and came to reach at least one cell
    // of n each way (seed 1, one trial at a time, no categorical, had asked points it had
    // measured 11 times, from trial 57 on). One was recorded again when the region came to try the
    // model's best fresh neighbouring cell before refitting, one trial at a time (seed 1, 1 worker).
    const digests = [1, 2].flatMap((seed) =>
      [1, 2, 8].flatMap((workers) => [false, true].map((k) => askedDigest(seed, workers, k))),
    );
    expect(digests).toEqual(RECORDED);
  });

  it("are seen again by a restored run, which asks what the original asks", () => {
    const solver = createSolver({ seed: 4, budget: 100, bounds: continuous, strategy: "auto" });
    const step = (s: typeof solver) => {
      const batch = s.ask()!;
      for (const t of batch) {
        if (t.params.x > 0.5) s.fail(t.id, "crashed");
        else s.tell({ id: t.id, value: (t.params.x - 0.5) ** 2 + (t.params.y - 0.5) ** 2 });
      }
      return batch.map((t) => t.params);
    };
    for (let i = 0; i < 60; i++) step(solver);
    const copy = restoreSolver<"x" | "y">(JSON.parse(JSON.stringify(solver.toJSON())));
    for (let i = 0; i < 20; i++) expect(step(copy)).toEqual(step(solver));
  });
});

const RECORDED = [
  "bb77a42064db6c79",
  "b718024d6c77886f",
  "3ee6bc63c88ac607",
  "f1732de4e70e9f70",
  "1549565be0158704",
  "d34f606efbf9b132",
  "e21c10f9fe360f29",
  "76091629079b839a",
  "163b3f96528b7227",
  "1e951eeaa2cf1c6a",
  "63ab37c83c27ef34",
  "5843dc9016ef56f0",
];
