import { describe, expect, it } from "vitest";
import { InstabilityGovernor } from "../src/engine/safety/instability-governor.js";
import { type BlameSpace, RegressionBlame } from "../src/engine/safety/regression-blame.js";

/** Two parameters on [0, 10] with maxDelta 1, the unit cube mapped linearly. */
const SPACE: BlameSpace = { size: 2, maxDelta: [1, 1], toRaw: (_i, unit) => 10 * unit };

describe("RegressionBlame", () => {
  it("blames the tuner once the centre is more than half a maxDelta from the known-good configuration", () => {
    const blame = new RegressionBlame(SPACE, 3, [0.5, 0.5]);
    expect(blame.tunerMoved([0.5, 0.5])).toBe(false);
    expect(blame.tunerMoved([0.54, 0.46])).toBe(false); // 0.4 in raw units
    expect(blame.tunerMoved([0.5, 0.44])).toBe(true); // 0.6 in the second parameter
  });

  it("a configuration becomes known-good only after K more good windows", () => {
    const blame = new RegressionBlame(SPACE, 3, [0.5, 0.5]);
    blame.windowClosed([0.4, 0.5], 0, 1, false); // the centre moved to 4: this window is its first
    for (let i = 0; i < 2; i++) blame.windowClosed([0.4, 0.5], 0, 1, false);
    // Three good windows around 4: not yet K = 3 after the first.
    expect(blame.tunerMoved([0.4, 0.5])).toBe(true);
    blame.windowClosed([0.4, 0.5], 0, 1, false);
    expect(Array.from(blame.knownGoodCentre)).toEqual([0.4, 0.5]);
    expect(blame.tunerMoved([0.4, 0.5])).toBe(false);
  });

  it("a bad window restarts the count: a regression inside the horizon keeps the older known-good point", () => {
    const blame = new RegressionBlame(SPACE, 3, [0.5, 0.5]);
    for (let i = 0; i < 3; i++) blame.windowClosed([0.4, 0.5], 0, 1, false);
    blame.windowClosed([0.4, 0.5], 5, 1, true); // the delayed regression shows up
    for (let i = 0; i < 3; i++) blame.windowClosed([0.4, 0.5], 0, 1, false);
    expect(Array.from(blame.knownGoodCentre)).toEqual([0.5, 0.5]);
    expect(blame.tunerMoved([0.4, 0.5])).toBe(true);
  });

  it("the known-good point trails the centre by K windows while every window is good", () => {
    const blame = new RegressionBlame(SPACE, 2, [0, 0]);
    for (let w = 1; w <= 6; w++) blame.windowClosed([w / 10, 0], 0, 1, false);
    expect(blame.knownGoodCentre[0]).toBeCloseTo(0.4, 12);
  });

  it("a level creeping up inside the divergence margin stops the known-good point; one noisy window does not", () => {
    const creeping = new RegressionBlame(SPACE, 3, [0.5, 0.5]);
    // Not worse (no divergence count), but two windows of four above the noise band: not at the level.
    for (const excess of [0.5, 2, 3, 0.5]) creeping.windowClosed([0.4, 0.5], excess, 1, false);
    expect(Array.from(creeping.knownGoodCentre)).toEqual([0.5, 0.5]);
    const noisy = new RegressionBlame(SPACE, 3, [0.5, 0.5]);
    // One window in four above the band (a quarter of the run may be): still known-good.
    for (const excess of [0.5, 4, 0, 0.5]) noisy.windowClosed([0.4, 0.5], excess, 1, false);
    expect(Array.from(noisy.knownGoodCentre)).toEqual([0.4, 0.5]);
  });

  it("reset takes the given centre as known-good and forgets the windows", () => {
    const blame = new RegressionBlame(SPACE, 2, [0, 0]);
    blame.windowClosed([0.3, 0], 0, 1, false);
    blame.reset([0.7, 0.2]);
    expect(Array.from(blame.knownGoodCentre)).toEqual([0.7, 0.2]);
    blame.windowClosed([0.1, 0], 0, 1, false);
    blame.windowClosed([0.1, 0], 0, 1, false);
    expect(Array.from(blame.knownGoodCentre)).toEqual([0.7, 0.2]);
  });
});

describe("InstabilityGovernor: the known-good level", () => {
  /** A governor with a baseline window at level 10 (σ ≈ 0.1) after two windows of ten digests. */
  function withBaseline(): InstabilityGovernor {
    const governor = new InstabilityGovernor();
    for (let w = 0; w < 2; w++) {
      for (let i = 0; i < 10; i++) governor.observe(10 + (i % 2 === 0 ? 0.1 : -0.1), 0);
      governor.closeWindow(0);
    }
    return governor;
  }

  it("reports each window's excess over the baseline and the level's noise band", () => {
    const governor = withBaseline();
    for (let i = 0; i < 10; i++) governor.observe(12, 0); // worse by 2: under the 50 % margin
    governor.closeWindow(0);
    expect(governor.lastWindowExcess).toBeCloseTo(2, 9);
    expect(governor.worseWindows).toBe(0);
    // 3σ₀ of the clean digests when the baseline was taken (±0.1 alternating: σ ≈ 0.103).
    expect(governor.levelTolerance).toBeGreaterThan(0.29);
    expect(governor.levelTolerance).toBeLessThan(0.33);
  });

  it("says whether the known-good level exists: not before the baseline window, nor after reset()", () => {
    const fresh = new InstabilityGovernor();
    expect(fresh.baselineKnown).toBe(false);
    const governor = withBaseline();
    expect(governor.baselineKnown).toBe(true);
    governor.restart();
    expect(governor.baselineKnown).toBe(true);
    governor.reset();
    expect(governor.baselineKnown).toBe(false);
  });

  it("restart() keeps the baseline (a rollback), reset() forgets it (a new level adopted)", () => {
    const governor = withBaseline();
    governor.restart();
    expect(governor.cleanCount).toBe(0);
    for (let i = 0; i < 10; i++) governor.observe(20, 0);
    governor.closeWindow(0);
    expect(governor.worseWindows).toBe(1); // still judged against 10
    governor.reset();
    for (let i = 0; i < 10; i++) governor.observe(20, 0);
    governor.closeWindow(0); // becomes the new baseline
    for (let i = 0; i < 10; i++) governor.observe(20, 0);
    governor.closeWindow(0);
    expect(governor.worseWindows).toBe(0);
  });
});
