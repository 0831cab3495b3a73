import { describe, expect, it } from "vitest";
import { HomeostasisCache, homeostasisOptionIssues } from "../src/engine/safety/homeostasis-cache.js";

const v = (...xs: number[]) => Float64Array.from(xs);

describe("HomeostasisCache", () => {
  it("recalls the remembered centre that lies downhill from where a shift left the tuner", () => {
    const cache = new HomeostasisCache(2);
    const a = cache.remember(v(0.7, 0.3), 0.1);
    const b = cache.remember(v(0.4, 0.7), 0.2);
    expect(cache.entries).toBe(2);
    // At B's centre after a shift back to A, the gradient points away from A (uphill is +g).
    const atB = v(0.4, 0.7);
    expect(cache.recall(atB, v(-1, 1.2))).toBe(a);
    expect(cache.hitsOf(a)).toBe(1);
    const out = new Float64Array(2);
    cache.centreOf(a, out);
    expect(Array.from(out)).toEqual([0.7, 0.3]);
    expect(cache.levelOf(a)).toBe(0.1);
    // From A, a gradient pointing towards A's own side recalls B; one across both recalls none.
    expect(cache.recall(v(0.7, 0.3), v(1, -1.3))).toBe(b);
    expect(cache.recall(v(0.7, 0.3), v(0, 1))).toBe(-1);
  });

  it("never recalls the regime the tuner is in, nor on a zero or non-finite gradient", () => {
    const cache = new HomeostasisCache(2);
    cache.remember(v(0.5, 0.5), 1);
    expect(cache.recall(v(0.52, 0.49), v(1, 1))).toBe(-1);
    expect(cache.recall(v(0.1, 0.1), v(0, 0))).toBe(-1);
    expect(cache.recall(v(0.1, 0.1), v(Number.NaN, -1))).toBe(-1);
    expect(cache.recall(v(0.1, 0.1), v(-1, -1))).toBe(0);
  });

  it("merges a centre within mergeRadius into its regime, newer centre and level winning", () => {
    const cache = new HomeostasisCache(2, { mergeRadius: 0.05 });
    cache.remember(v(0.5, 0.5), 1);
    expect(cache.remember(v(0.53, 0.48), 2)).toBe(0);
    expect(cache.entries).toBe(1);
    expect(cache.levelOf(0)).toBe(2);
    expect(cache.remember(v(0.6, 0.5), 3)).toBe(1);
  });

  it("forgets the least recently used regime when full", () => {
    const cache = new HomeostasisCache(1, { capacity: 2 });
    cache.remember(v(0.1), 1);
    cache.remember(v(0.5), 2);
    // Both lie downhill (cosine 1): the later entry wins the tie and becomes the most recently used.
    expect(cache.recall(v(0.9), v(1))).toBe(1);
    cache.remember(v(0.9), 3); // replaces 0.1, the least recently used
    expect(cache.entries).toBe(2);
    const levels = [cache.levelOf(0), cache.levelOf(1)].sort();
    expect(levels).toEqual([2, 3]);
    cache.clear();
    expect(cache.entries).toBe(0);
  });

  it("names the regime to probe after a shift: the most recently used one away from the tuner", () => {
    const cache = new HomeostasisCache(2);
    expect(cache.latestOther(v(0.5, 0.5))).toBe(-1);
    const a = cache.remember(v(0.7, 0.3), 0.1);
    // Leaving A (the tuner still stands at its centre): A is no candidate.
    expect(cache.latestOther(v(0.71, 0.3))).toBe(-1);
    const b = cache.remember(v(0.4, 0.7), 0.2);
    // Leaving B: A, the regime before it, whatever the gradient says.
    expect(cache.latestOther(v(0.4, 0.7))).toBe(a);
    expect(cache.hitsOf(a)).toBe(1);
    // A was just used: from a third place it is named before B; from A, B is.
    expect(cache.latestOther(v(0.1, 0.1))).toBe(a);
    expect(cache.latestOther(v(0.7, 0.3))).toBe(b);
  });

  it("validates its options and dimension", () => {
    expect(
      homeostasisOptionIssues(
        { capacity: 0, minCosine: 2, minRiseSigmas: -1, probeShare: 1.5 },
        "safety.homeostasis",
      ),
    ).toEqual([
      { path: "safety.homeostasis.capacity", message: "must be a whole number from 1 to 64, got 0" },
      { path: "safety.homeostasis.minCosine", message: "must be in [−1, 1], got 2" },
      { path: "safety.homeostasis.minRiseSigmas", message: "must be a finite number ≥ 0 (σ), got -1" },
      { path: "safety.homeostasis.probeShare", message: "must be in [0, 1] (0: no probe), got 1.5" },
    ]);
    expect(() => new HomeostasisCache(0)).toThrow(/dimension/);
  });
});
