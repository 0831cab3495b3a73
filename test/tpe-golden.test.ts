import { describe, expect, it } from "vitest";
import { Prng } from "../src/random/prng.js";
import { createMixedTpe, restoreMixedTpe } from "../src/solver/mixed-tpe.js";
import type { Evaluation, Strategy } from "../src/solver/strategy.js";
import { createTpe } from "../src/solver/tpe.js";
import { Space } from "../src/space/space.js";

/**
 * Pins the exact points TPE proposes. The kernels behind them (parzen.ts, group-mixture.ts,
 * lazy-score.ts) are tuned for speed with shortcuts that must never change a result: these digests
 * were recorded before those shortcuts (commit 93ae7c3), so any drift in any last bit fails here.
 * Long enough runs (1,100 proposals) to pass g's window of 1,024 kernels and many floor steps.
 */

/** FNV-1a over the IEEE-754 bytes of every coordinate: any change in any last bit shows. */
function digest(points: readonly (readonly number[])[]): string {
  const view = new DataView(new ArrayBuffer(8));
  let h = 0x811c9dc5;
  for (const p of points)
    for (const v of p) {
      view.setFloat64(0, v);
      for (let b = 0; b < 8; b++) h = Math.imul(h ^ view.getUint8(b), 0x01000193);
    }
  return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * Runs `trials` proposals on a shifted sphere in the unit cube, in batches of `batch` with the
 * batch's last point told one round late (so pending points take part), and digests them.
 */
function study(strategy: Strategy, d: number, trials: number, batch: number): string {
  const random = Prng.fromSeed(5, 3);
  const f = (u: readonly number[]) => u.reduce((s, v, j) => s + (v - 0.2 - (0.6 * j) / d) ** 2, 0);
  const history: Evaluation[] = Array.from({ length: 10 }, () => {
    const u = Array.from({ length: d }, () => random.next());
    return { u, value: f(u) };
  });
  const proposed: number[][] = [];
  let late: number[] | null = null;
  while (proposed.length < trials) {
    const pending = late === null ? [] : [late];
    const points = strategy.ask({ history, pending, remaining: trials }, batch, proposed.length);
    if (points === null) throw new Error("TPE returned null");
    if (late !== null) history.push({ u: late, value: f(late) });
    late = null;
    points.forEach((u, i) => {
      proposed.push(u);
      if (batch > 1 && i === points.length - 1) late = u;
      else history.push({ u, value: f(u) });
    });
  }
  return digest(proposed);
}

const MIXED = new Space({
  a: { min: 0, max: 1 },
  b: { min: 1, max: 100, scale: "log" },
  c: { type: "int", min: 1, max: 64 },
  d: { min: -1, max: 1 },
  e: { min: -1, max: 1 },
  kind: { type: "categorical", choices: ["x", "y", "z"] },
  flag: { type: "categorical", choices: [false, true] },
  m: { min: 0, max: 1, when: { kind: ["x", "y"] } },
}).dimensions;

describe("TPE proposals, bit for bit", () => {
  it.each([
    [2, "837f4830", "3e8cf422"],
    [6, "5d45c7df", "1f84ca0b"],
    [16, "4a981553", "985382fd"],
  ] as const)(
    "continuous, d = %i: one at a time and in batches with a pending point",
    (d, single, batched) => {
      expect(study(createTpe(d, 11), d, 1100, 1)).toBe(single);
      expect(study(createTpe(d, 12), d, 200, 3)).toBe(batched);
    },
  );

  it("mixed space (floats, ints, categoricals, a conditional float)", () => {
    expect(study(createMixedTpe(MIXED, 13), MIXED.length, 1100, 1)).toBe("84b9df69");
    expect(study(createMixedTpe(MIXED, 14), MIXED.length, 200, 3)).toBe("b8d29b53");
  });

  it("mixed space: a warm strategy (cached fits of l) proposes what a cold copy proposes", () => {
    const random = Prng.fromSeed(9, 3);
    const d = MIXED.length;
    const f = (u: readonly number[]) => u.reduce((s, v, j) => s + (v - 0.1 * j) ** 2, 0);
    const history: Evaluation[] = Array.from({ length: 60 }, () => {
      const u = Array.from({ length: d }, () => random.next());
      return { u, value: f(u) };
    });
    const warm = createMixedTpe(MIXED, 21);
    // Growing (worse points keep l), then cut short (every fit redone), then growing again.
    const views = [20, 21, 22, 40, 41, 10, 11, 60].map((n) => history.slice(0, n));
    for (const view of views) {
      const cold = restoreMixedTpe(MIXED, warm.toJSON());
      const context = { history: view, pending: [], remaining: 5 };
      expect(warm.ask(context, 2, view.length)).toEqual(cold.ask(context, 2, view.length));
    }
  });

  it("tells apart runs that differ in one seed", () => {
    expect(study(createTpe(2, 99), 2, 50, 1)).not.toBe(study(createTpe(2, 98), 2, 50, 1));
  });
});
