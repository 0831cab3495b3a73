import { describe, expect, it } from "vitest";
import { problemName } from "../bench/b1-problem.js";
import { runPool } from "../bench/parallel-pool.js";
import { suiteProblems } from "../bench/quality-suite.js";

const hartmann6 = suiteProblems().find((p) => problemName(p) === "Hartmann-6")!;

describe("the PARALLEL bench's simulated pool", () => {
  it("takes one evaluation time per trial with one worker", () => {
    const run = runPool(hartmann6, 3, 100, "auto", 1);
    expect(run.trials).toBe(100);
    expect(run.elapsed).toBe(100);
  });

  it("takes about budget ÷ workers evaluation times when the strategy keeps the pool full", () => {
    const run = runPool(hartmann6, 3, 100, "auto", 8);
    expect(run.trials).toBe(100);
    // No more than 8 trials at once, and the default hands every free worker a trial.
    expect(run.elapsed).toBeGreaterThanOrEqual(Math.ceil(100 / 8));
    expect(run.elapsed).toBeLessThanOrEqual(Math.ceil(100 / 8) + 2);
  });

  it("splits busy workers by phase: the default holds one of 8 back locally, forced Nelder–Mead waits out its probe", () => {
    const auto = runPool(hartmann6, 3, 100, "auto", 8);
    expect(Object.keys(auto.phases)).toEqual(["probe", "global", "local"]);
    const { probe, global, local } = auto.phases;
    expect(probe!.busy).toBe(probe!.capacity);
    expect(global!.busy).toBe(global!.capacity);
    // localBusyShare: 7 of 8 running once the global phase's last trials are in, and at most 8.
    expect(local!.busy / local!.capacity).toBeGreaterThanOrEqual(0.875);
    expect(local!.busy / local!.capacity).toBeLessThan(0.9);
    const full = runPool(hartmann6, 3, 100, "auto", 4);
    expect(full.phases.local!.busy).toBe(full.phases.local!.capacity);
    const sum = Object.values(auto.phases).reduce((s, p) => s + p.capacity, 0);
    expect(sum).toBe(auto.capacity);
    // Its simplex starts from the probe's best point, so the probe's last results leave workers idle.
    const nm = runPool(hartmann6, 3, 100, "nelder-mead", 8);
    expect(Object.keys(nm.phases)).toEqual(["probe", "refine"]);
    expect(nm.phases.probe!.busy).toBeLessThan(nm.phases.probe!.capacity);
  });

  it("counts the time idle workers add: sequential Nelder–Mead with 8 workers takes far longer", () => {
    const full = runPool(hartmann6, 3, 100, "auto", 8);
    const sequential = runPool(hartmann6, 3, 100, "nelder-mead", 8);
    expect(sequential.trials).toBe(100);
    expect(sequential.busy / sequential.capacity).toBeLessThan(0.5);
    expect(sequential.elapsed).toBeGreaterThan(4 * full.elapsed);
  });
});
