import { describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import { createSolverLog, openSolverLog, readDecisionLog } from "../src/log/index.js";
import type { SolverConfig } from "../src/solver/config.js";
import { minimize } from "../src/solver/minimize.js";
import { createMixedTpe } from "../src/solver/mixed-tpe.js";
import { createSolver, restoreSolver, type Solver } from "../src/solver/solver.js";
import { createTpe } from "../src/solver/tpe.js";
import { TrialPruned } from "../src/solver/trial-pruned.js";
import type { Dimension } from "../src/space/space.js";
import { tempLogDirs } from "./support/log-dir.js";
import { solverConfigIssues } from "./support/solver-config-issues.js";

const newLogDir = tempLogDirs();

const bounds = { x: { min: 0, max: 1 }, y: { min: 0, max: 1 } };

/** A config whose first ask hands out `budget` trials at once (all in the probe). */
function manual(pruner: SolverConfig["pruner"], budget = 8): SolverConfig {
  return { seed: 1, budget, probeRatio: 1, bounds, pruner };
}

/** Reports each `[step, value]` pair and returns shouldPrune after each. */
function reportAll(solver: Solver, id: number, pairs: readonly (readonly [number, number])[]): boolean[] {
  return pairs.map(([step, value]) => {
    solver.report(id, step, value);
    return solver.shouldPrune(id);
  });
}

/**
 * A simulated learning curve: the loss falls from 10 towards an asymptote set by the parameters
 * (best at x = 0.3, y = 0.6), at a rate that also depends on them.
 */
function curve(params: Record<string, number>, step: number): number {
  const floor = (params.x! - 0.3) ** 2 + (params.y! - 0.6) ** 2;
  const tau = 5 + 20 * params.y!;
  return floor + (10 - floor) * Math.exp(-step / tau);
}

/** An objective that trains for up to 60 steps, reporting each, and stops when told to. */
function training(steps: { used: number }) {
  return (params: Record<string, number>, context: Parameters<Parameters<typeof minimize>[0]>[1]) => {
    let loss = Number.NaN;
    for (let step = 1; step <= 60; step++) {
      steps.used++;
      loss = curve(params, step);
      context.report(step, loss);
      if (context.shouldPrune()) throw new TrialPruned();
    }
    return loss;
  };
}

describe("median pruner", () => {
  it("prunes when the best value so far is worse than the completed trials' median at that step", () => {
    const solver = createSolver(manual({ kind: "median", startupTrials: 2, warmupSteps: 1 }));
    const [t1, t2, t3, t4] = solver.ask()!;
    expect(
      reportAll(solver, t1!.id, [
        [0, 9],
        [1, 5],
        [2, 4],
        [3, 3],
      ]),
    ).toEqual([false, false, false, false]);
    solver.tell({ id: t1!.id, value: 3 });
    // Only one trial completed: below startupTrials, nothing is pruned however bad.
    expect(reportAll(solver, t2!.id, [[1, 100]])).toEqual([false]);
    reportAll(solver, t2!.id, [
      [2, 6],
      [3, 5],
    ]);
    solver.tell({ id: t2!.id, value: 5 });
    // Step 0 is warm-up; at step 1 the median of {5, 100} is 52.5 ≥ 5.4; at step 2 the median of
    // {4, 6} is 5 < 5.1; the advice then stays, even after a better value.
    expect(
      reportAll(solver, t3!.id, [
        [0, 50],
        [1, 5.4],
        [2, 5.1],
        [3, 1],
      ]),
    ).toEqual([false, false, true, true]);
    solver.tell({ id: t3!.id, pruned: true });
    // A step that no completed trial reported gives no verdict; a pruned curve is not in the median.
    expect(reportAll(solver, t4!.id, [[5, 100]])).toEqual([false]);
    expect(solver.trialStatus(t3!.id)).toBe("pruned");
  });

  it("uses the best value so far, not the latest one", () => {
    const solver = createSolver(manual({ kind: "median", startupTrials: 1 }));
    const [a, b] = solver.ask()!;
    reportAll(solver, a!.id, [
      [1, 4],
      [2, 3],
    ]);
    solver.tell({ id: a!.id, value: 3 });
    // Step 2: latest 3.5 is worse than the median 3, but the best so far (2 at step 1) is not.
    expect(
      reportAll(solver, b!.id, [
        [1, 2],
        [2, 3.5],
      ]),
    ).toEqual([false, false]);
  });
});

describe("ASHA pruner", () => {
  it("promotes the best 1/η of the trials that reached each rung (rungs at 1, 2, 4, …)", () => {
    const solver = createSolver(manual({ kind: "asha", minResource: 1, reductionFactor: 2 }));
    const [t1, t2, t3, t4, t5] = solver.ask()!.map((t) => t.id);
    // Rung 0 (step 1): alone, T1 is the best.
    expect(reportAll(solver, t1!, [[1, 5]])).toEqual([false]);
    // {5, 7}: ⌊2/2⌋ = 1 promoted, 5; T2 is not.
    expect(reportAll(solver, t2!, [[1, 7]])).toEqual([true]);
    // {4, 5, 7}: ⌊3/2⌋ = 1 promoted, 4: T3.
    expect(reportAll(solver, t3!, [[1, 4]])).toEqual([false]);
    // T1 at rung 1 (step 2) alone; step 3 is no rung; rung 2 (step 4) alone.
    expect(
      reportAll(solver, t1!, [
        [2, 4.5],
        [3, 4.4],
        [4, 4.2],
      ]),
    ).toEqual([false, false, false]);
    // T4's first report, at step 3, reaches rungs 0 and 1: {4, 5, 6, 7} promotes 2, 6 is third.
    expect(reportAll(solver, t4!, [[3, 6]])).toEqual([true]);
    // Rung 1 now holds {4.5, 6} and takes T3's 4: {4, 4.5, 6}, 1 promoted, 4.
    expect(reportAll(solver, t3!, [[2, 4]])).toEqual([false]);
    // Rung 0 {4, 4.9, 5, 6, 7}: 2 promoted, ties pass: 4.9 goes on.
    expect(reportAll(solver, t5!, [[1, 4.9]])).toEqual([false]);
  });

  it("places the first rung at minResource · η^minEarlyStoppingRate", () => {
    const solver = createSolver(
      manual({ kind: "asha", minResource: 2, reductionFactor: 3, minEarlyStoppingRate: 1 }),
    );
    const [a, b] = solver.ask()!.map((t) => t.id);
    reportAll(solver, a!, [[6, 1]]);
    // Steps below 6 are no rung, however bad; step 6 is.
    expect(
      reportAll(solver, b!, [
        [1, 100],
        [5, 100],
        [6, 100],
      ]),
    ).toEqual([false, false, true]);
  });
});

describe("pruned trials in the solver", () => {
  it("records a pruned trial with its intermediate values; it never becomes the best", () => {
    const solver = createSolver(manual({ kind: "median", startupTrials: 0 }, 4));
    const [a, b] = solver.ask()!.map((t) => t.id);
    solver.tell({ id: a!, value: 2 });
    solver.report(b!, 1, 0.5);
    solver.report(b!, 4, 0.25);
    solver.tell({ id: b!, pruned: true });
    expect(solver.trialStatus(b!)).toBe("pruned");
    expect(solver.intermediateValues(b!)).toEqual([
      { step: 1, value: 0.5 },
      { step: 4, value: 0.25 },
    ]);
    // 0.25 is lower than 2, but it is not a final value.
    expect(solver.best()!.value).toBe(2);
    expect(solver.told).toBe(1);
    const told = solver.toJSON().told;
    expect(told).toContainEqual({ id: b!, pruned: true, value: 0.25 });
    expect(solver.toJSON().trials.find((t) => t.id === b)).toMatchObject({
      status: "pruned",
      reports: [
        [1, 0.5],
        [4, 0.25],
      ],
    });
  });

  it("takes pruned: false as a completed result, as code that writes pruned: wasPruned does", () => {
    const solver = createSolver(manual({ kind: "median" }, 4));
    const [a, b] = solver.ask()!.map((t) => t.id);
    const results = [
      { id: a!, wasPruned: false, value: 0.5 },
      { id: b!, wasPruned: true, value: 2 },
    ];
    solver.tell(results.map(({ id, wasPruned, value }) => ({ id, pruned: wasPruned, value })));
    expect([a!, b!].map((id) => solver.trialStatus(id))).toEqual(["told", "pruned"]);
    expect(solver.best()?.value).toBe(0.5);
    // Recorded as if it had been left out.
    expect(JSON.stringify(solver.toJSON())).not.toContain('"pruned":false');
  });

  it("refuses bad reports and bad pruned results by name, recording nothing", () => {
    const solver = createSolver(manual({ kind: "asha" }, 4));
    const [a, b] = solver.ask()!.map((t) => t.id);
    solver.report(a!, 3, 1);
    // The same report again is a retry and changes nothing; another value at that step is refused.
    solver.report(a!, 3, 1);
    expect(solver.intermediateValues(a!)).toEqual([{ step: 3, value: 1 }]);
    expect(() => solver.report(a!, 3, 2)).toThrow(
      /trial 1 already reported step 3, with 1: a step is reported once \(give a later step for a new value\), got 2/,
    );
    expect(() => solver.report(a!, 4.5, 1)).toThrow(UsageError);
    expect(() => solver.report(a!, 5, Number.NaN)).toThrow(/value must be a finite number/);
    expect(() => solver.report(99, 1, 1)).toThrow(/trial 99 was never asked/);
    expect(() => solver.tell({ id: b!, pruned: "yes" as unknown as true })).toThrow(
      /pruned: expected true or false, got "yes"/,
    );
    // false is a completed result, which needs its value.
    expect(() => solver.tell({ id: b!, pruned: false } as never)).toThrow(/value: expected a finite number/);
    expect(() => solver.tell({ params: { x: 0.5, y: 0.5 }, pruned: true, value: 1 } as never)).toThrow(
      /only an asked trial/,
    );
    expect(() => solver.tell({ id: b!, pruned: true, value: Number.POSITIVE_INFINITY })).toThrow(
      /value: expected a finite number/,
    );
    expect(solver.intermediateValues(a!)).toEqual([{ step: 3, value: 1 }]);
    solver.tell({ id: a!, pruned: true });
    expect(() => solver.report(a!, 9, 1)).toThrow(/trial 1 was already told pruned/);
    expect(() => solver.tell({ id: a!, value: 1 })).toThrow(/already told pruned/);
  });

  it("names the pruner field at fault in a ConfigError", () => {
    const issues = (pruner: unknown) => solverConfigIssues({ seed: 1, budget: 5, bounds, pruner });
    expect(issues({ kind: "hyperband" })).toEqual([
      {
        path: "pruner.kind",
        message: 'expected "median", "percentile", "asha" or "threshold", got "hyperband"',
      },
    ]);
    expect(issues({ kind: "asha", reductionFactor: 1 })).toEqual([
      { path: "pruner.reductionFactor", message: "expected a whole number ≥ 2, got 1" },
    ]);
    expect(issues({ kind: "asha", minResource: 0 })).toEqual([
      { path: "pruner.minResource", message: "expected a whole number ≥ 1, got 0" },
    ]);
    expect(issues({ kind: "median", warmupSteps: -1 })).toEqual([
      { path: "pruner.warmupSteps", message: "expected a whole number ≥ 0, got -1" },
    ]);
    expect(issues({ kind: "median", startupTrials: 2.5 })).toEqual([
      { path: "pruner.startupTrials", message: "expected a whole number ≥ 0, got 2.5" },
    ]);
    expect(issues({ kind: "median", minResource: 1 })).toEqual([
      {
        path: "pruner.minResource",
        message:
          'unknown key for kind "median" (known: kind, startupTrials, warmupSteps, intervalSteps, minTrials)',
      },
    ]);
    expect(issues("median")[0]!.path).toBe("pruner");
    expect(issues({ kind: "median", warmupSteps: undefined })).toEqual([]);
    expect(createSolver({ seed: 1, budget: 5, bounds }).config.pruner).toBeUndefined();
    expect(createSolver({ seed: 1, budget: 5, bounds, pruner: { kind: "asha" } }).config.pruner).toEqual({
      kind: "asha",
      minResource: 1,
      reductionFactor: 3,
      minEarlyStoppingRate: 0,
    });
  });

  it("round-trips pruned and pending trials, their reports and the pruner's rungs through toJSON", () => {
    const config = {
      seed: 4,
      budget: 12,
      probeRatio: 0.5,
      bounds,
      pruner: { kind: "asha" as const, reductionFactor: 2 },
    };
    const solver = createSolver(config);
    const trials = solver.ask({ max: 4 })!;
    reportAll(solver, trials[0]!.id, [
      [1, 3],
      [2, 2],
    ]);
    solver.tell({ id: trials[0]!.id, value: 2 });
    expect(reportAll(solver, trials[1]!.id, [[1, 5]])).toEqual([true]);
    solver.tell({ id: trials[1]!.id, pruned: true, value: 5.5 });
    reportAll(solver, trials[2]!.id, [[1, 1]]);
    reportAll(solver, trials[3]!.id, [[2, 9]]); // pending, advised to stop
    const restored = restoreSolver(JSON.parse(JSON.stringify(solver.toJSON())));
    expect(restored.toJSON()).toEqual(solver.toJSON());
    expect(restored.trialStatus(trials[1]!.id)).toBe("pruned");
    expect(restored.shouldPrune(trials[3]!.id)).toBe(true);
    expect(restored.intermediateValues(trials[2]!.id)).toEqual([{ step: 1, value: 1 }]);
    // The rungs were rebuilt: the same next report gets the same verdict on both.
    for (const s of [solver, restored]) {
      s.report(trials[2]!.id, 2, 2.5);
    }
    expect(restored.shouldPrune(trials[2]!.id)).toBe(solver.shouldPrune(trials[2]!.id));
    expect(restored.shouldPrune(trials[2]!.id)).toBe(true); // rung 1 {2, 2.5, 9}: 1 promoted
    for (const t of trials.slice(2)) {
      solver.tell({ id: t.id, pruned: true });
      restored.tell({ id: t.id, pruned: true });
    }
    expect(restored.ask()).toEqual(solver.ask());
  });

  it("a decision log replays reports, so the pruner's verdicts survive a restart", () => {
    const dir = newLogDir();
    const config = { seed: 6, budget: 6, probeRatio: 1, bounds, pruner: { kind: "asha" as const } };
    const logged = createSolverLog(dir, createSolver(config));
    const [a, b, c] = logged.ask({ max: 3 })!.map((t) => t.id);
    reportAll(logged, a!, [[1, 1]]);
    logged.tell({ id: a!, value: 1 });
    expect(reportAll(logged, b!, [[1, 2]])).toEqual([true]);
    logged.tell({ id: b!, pruned: true });
    reportAll(logged, c!, [[1, 0.5]]);
    // A retry of the last report changes nothing and writes nothing.
    const records = readDecisionLog(dir).records.length;
    logged.report(c!, 1, 0.5);
    expect(readDecisionLog(dir).records.length).toBe(records);
    logged.closeLog();
    const reopened = openSolverLog(dir);
    expect(reopened.toJSON()).toEqual(logged.toJSON());
    expect(reopened.trialStatus(b!)).toBe("pruned");
    expect(reopened.intermediateValues(c!)).toEqual([{ step: 1, value: 0.5 }]);
    reopened.closeLog();
  });

  it("refuses an artifact whose pruned trial has no entry or whose reports are malformed", () => {
    const solver = createSolver(manual({ kind: "median" }, 3));
    const [a] = solver.ask()!;
    solver.report(a!.id, 1, 1);
    solver.tell({ id: a!.id, pruned: true });
    const artifact = solver.toJSON();
    const noEntry = { ...artifact, told: [] };
    expect(() => restoreSolver(noEntry)).toThrow(/trial 1 is pruned but has no entry/);
    const badReports = {
      ...artifact,
      trials: artifact.trials.map((t) =>
        t.id === a!.id
          ? {
              ...t,
              reports: [
                [2, 1],
                [1, 1],
              ],
            }
          : t,
      ),
    };
    expect(() => restoreSolver(badReports)).toThrow(/trials\[0\]\.reports/);
  });
});

describe("pruned trials in the strategies", () => {
  it("TPE models a pruned point as bad, not by its partial value", () => {
    // Completed points: the best near (0.8, 0.8). A pruned one at (0.1, 0.1) with a tempting
    // partial value of −5 must not pull TPE there, as it would if told as a final value.
    const history = Array.from({ length: 20 }, (_, i) => {
      const u = [((i * 7) % 20) / 20, ((i * 13) % 20) / 20];
      return { u, value: (u[0]! - 0.8) ** 2 + (u[1]! - 0.8) ** 2 };
    });
    const lure = [0.1, 0.1];
    const meanDistanceToLure = (context: { history: typeof history; unfinished: number[][] }) => {
      const tpe = createTpe(2, 9);
      let total = 0;
      for (let i = 0; i < 40; i++) {
        const [p] = tpe.ask({ ...context, pending: [], remaining: 10 }, 1, i)!;
        total += Math.hypot(p![0]! - lure[0]!, p![1]! - lure[1]!);
      }
      return total / 40;
    };
    const asPruned = meanDistanceToLure({ history, unfinished: [lure] });
    const asFinal = meanDistanceToLure({ history: [...history, { u: lure, value: -5 }], unfinished: [] });
    // Told as final, −5 becomes the best point and l draws around it; pruned, it stays in g.
    expect(asFinal).toBeLessThan(0.1);
    expect(asPruned).toBeGreaterThan(0.4);
  });

  it("the mixed-space TPE counts pruned points as bad too", () => {
    // A categorical (2 choices: u < 0.5 is the first) and a float. The completed points say the
    // best lies at the second choice with x near 0.5; twenty trials pruned right there say it is
    // not worth sampling. Left out of g, they would change nothing.
    const dimensions: Dimension[] = [
      { name: "kind", kind: "categorical", levels: 2, when: [] },
      { name: "x", kind: "float", levels: 0, when: [] },
    ];
    const history = Array.from({ length: 30 }, (_, i) => {
      const u = [((i * 7) % 30) / 30 + 1 / 60, ((i * 11) % 30) / 30 + 1 / 60];
      return { u, value: (u[1]! - 0.5) ** 2 + (u[0]! < 0.5 ? 0.5 : 0) };
    });
    const pruned = Array.from({ length: 20 }, (_, i) => [0.75, 0.45 + i * 0.005]);
    const nearPruned = (context: { history: typeof history; unfinished: number[][] }) => {
      const tpe = createMixedTpe(dimensions, 9);
      let near = 0;
      for (let i = 0; i < 60; i++) {
        const [p] = tpe.ask({ ...context, pending: [], remaining: 10 }, 1, i)!;
        if (p![0]! >= 0.5 && Math.abs(p![1]! - 0.5) < 0.05) near++;
      }
      return near;
    };
    const without = nearPruned({ history, unfinished: [] });
    const withPruned = nearPruned({ history, unfinished: pruned });
    expect(without).toBeGreaterThan(15);
    expect(withPruned).toBeLessThan(without / 2);
  });

  it("Nelder–Mead goes on past pruned points, which never become the best", () => {
    const solver = createSolver({ seed: 2, budget: 40, bounds, strategy: "nelder-mead" });
    let pruned = 0;
    for (let batch = solver.ask({ max: 1 }); batch !== null; batch = solver.ask({ max: 1 })) {
      const [t] = batch;
      const value = curve(t!.params, 60);
      if (solver.phase === "refine" && t!.id % 3 === 0) {
        solver.report(t!.id, 1, -100); // a tempting partial value
        solver.tell({ id: t!.id, pruned: true });
        pruned++;
      } else solver.tell({ id: t!.id, value });
    }
    expect(pruned).toBeGreaterThan(0);
    expect(solver.asked).toBe(40);
    expect(solver.phase).toBe("done");
    expect(solver.best()!.value).toBeGreaterThanOrEqual(0);
  });
});

describe("pruning in minimize", () => {
  it("stops pruned trials early, records their intermediate values and counts them in the budget", async () => {
    const steps = { used: 0 };
    const config = { seed: 7, budget: 30, bounds, pruner: { kind: "asha" as const } };
    const result = await minimize(training(steps), config);
    const { solver } = result;
    expect(result.pruned).toBeGreaterThan(0);
    expect(result.evaluations + result.pruned).toBe(30);
    expect(solver.asked).toBe(30);
    expect(steps.used).toBeLessThan(30 * 60);
    const artifact = solver.toJSON();
    const prunedTrials = artifact.trials.filter((t) => t.status === "pruned");
    expect(prunedTrials).toHaveLength(result.pruned);
    for (const t of prunedTrials) {
      const reports = solver.intermediateValues(t.id);
      expect(reports.length).toBeGreaterThan(0);
      expect(reports.length).toBeLessThan(60); // stopped before the end
      expect(reports.map((r) => r.step)).toEqual(reports.map((_, i) => i + 1));
      expect(solver.shouldPrune(t.id)).toBe(true);
    }
    for (const t of artifact.trials.filter((t) => t.status === "told")) {
      expect(solver.intermediateValues(t.id)).toHaveLength(60);
    }
  });

  it("without a pruner, reports are recorded and nothing is pruned", async () => {
    const steps = { used: 0 };
    const result = await minimize(training(steps), { seed: 7, budget: 10, bounds });
    expect(result.pruned).toBe(0);
    expect(steps.used).toBe(10 * 60);
    expect(result.solver.intermediateValues(1)).toHaveLength(60);
  });

  it("is deterministic: the same seed gives the same trials, verdicts and artifact", async () => {
    const run = async () => {
      const outcomes: string[] = [];
      const result = await minimize(
        training({ used: 0 }),
        { seed: 5, budget: 25, bounds, pruner: { kind: "median", startupTrials: 3 } },
        { onTrial: (o) => outcomes.push(`${o.trial.id}:${o.pruned ? "pruned" : o.value}`) },
      );
      return { outcomes, artifact: result.solver.toJSON() };
    };
    const [first, second] = [await run(), await run()];
    expect(first.outcomes.some((o) => o.endsWith("pruned"))).toBe(true);
    expect(second).toEqual(first);
  });

  it("records nothing an evaluation reports after the run was aborted", async () => {
    let secondStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      secondStarted = resolve;
    });
    const controller = new AbortController();
    const solver = createSolver(manual({ kind: "asha" }, 4));
    const run = minimize(
      async (_params, context) => {
        if (context.trial.id === 1) {
          await started;
          controller.abort(new Error("user abort")); // trial 2 is cancelled and left pending
          return 1;
        }
        context.report(1, 5);
        secondStarted();
        // Reports once more after the abort, then gives up.
        await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
        context.report(2, 4);
        throw context.signal.reason;
      },
      solver,
      { concurrency: 2, signal: controller.signal },
    );
    await expect(run).rejects.toThrow("user abort");
    expect(solver.trialStatus(2)).toBe("pending");
    expect(solver.intermediateValues(2)).toEqual([{ step: 1, value: 5 }]);
  });

  it("a resumed trial skips the steps its earlier run recorded", async () => {
    const solver = createSolver({ seed: 3, budget: 3, probeRatio: 1, bounds });
    const [first] = solver.ask({ max: 1 })!;
    solver.report(first!.id, 1, 9);
    solver.report(first!.id, 2, 8);
    const result = await minimize((params, context) => {
      for (let step = 1; step <= 4; step++) context.report(step, curve(params, step));
      return curve(params, 4);
    }, solver);
    expect(result.evaluations).toBe(3);
    expect(solver.intermediateValues(first!.id).map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(solver.intermediateValues(first!.id)[0]!.value).toBe(9);
  });
});
