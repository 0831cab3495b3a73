import { describe, expect, it } from "vitest";
import { configDifferences } from "../src/solver/config-differences.js";

const SIDES = { kept: "the state", given: "--config" };

describe("configDifferences", () => {
  it("names each differing leaf by its path, keys sorted, then how many more", () => {
    const kept = { seed: 1, budget: 50, pruner: { kind: "median", startupTrials: 5, warmupSteps: 0 } };
    const given = { seed: 2, budget: 50, pruner: { kind: "median", startupTrials: 3, warmupSteps: 2 } };
    expect(configDifferences([[kept, given, ""]], SIDES, 2)).toEqual([
      "pruner.startupTrials: the state has 5, --config 3",
      "pruner.warmupSteps: the state has 0, --config 2",
      "and 1 more",
    ]);
  });

  it("names the kind of two settings of different kinds and the options both have, not the rest", () => {
    const kept = { pruner: { kind: "median", startupTrials: 3, warmupSteps: 2, intervalSteps: 1 } };
    const given = { pruner: { kind: "asha", minResource: 1, reductionFactor: 3, minEarlyStoppingRate: 0 } };
    expect(configDifferences([[kept, given, ""]], SIDES)).toEqual([
      'pruner.kind: the state has "median", --config "asha"',
    ]);
    // Median and percentile pruners share their startup options: a change to one is named.
    const percentile = { pruner: { kind: "percentile", percentile: 50, startupTrials: 20, warmupSteps: 2 } };
    expect(configDifferences([[kept, percentile, ""]], SIDES)).toEqual([
      'pruner.kind: the state has "median", --config "percentile"',
      "pruner.startupTrials: the state has 3, --config 20",
    ]);
    // One side without a kind (no pruner at all) is compared leaf by leaf, as before.
    expect(configDifferences([[{ pruner: { kind: "median" } }, {}, ""]], SIDES)).toEqual([
      'pruner: the state has {"kind":"median"}, --config none',
    ]);
  });
});
