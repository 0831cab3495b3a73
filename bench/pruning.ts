/**
 * PRUNING: what early stopping saves on a simulated training run, with no pruner, the median
 * pruner and ASHA, at the same trial budget.
 *
 * @remarks
 * The objective is a learning curve over 100 steps: the loss falls from 1 towards an asymptote
 * given by Hartmann-6 at the trial's parameters (so the final loss is known and good configs are
 * rare), at a rate set by x1 (τ = 5 + 25·x1 steps, so slow learners with a good asymptote look
 * bad early and curves cross), plus seeded Gaussian noise (σ = 0.01, its own stream per trial).
 * Each step is reported; a trial the pruner advises stopping throws `TrialPruned`. Seeds 1–20,
 * TPE forced (Hartmann-6's default choice) so rows differ only by the pruner and the budget,
 * pruner defaults throughout: three rows at 100 trials, then median and ASHA with larger trial
 * budgets that spend about as many steps as the unpruned run, or fewer, then the first three again
 * with 4 and 8 trials at once, and ASHA with 8 workers and 400 trials. "Steps" is the total number of training steps run, the
 * resource pruning saves; "regret" is the best completed trial's final loss minus Hartmann-6's
 * minimum, median over seeds.
 *
 * With several workers, every running trial takes one step per turn of the event loop, so all
 * steps take the same time and trials interleave step by step, as equal machines would: a trial
 * pruned at its first rung frees its worker after one step, while a trial that completes holds
 * one for a hundred.
 */
import { minimize, TrialPruned } from "../src/index.js";
import type { PrunerConfig } from "../src/solver/config.js";
import { hartmann6 } from "../src/testing/index.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { writeSection } from "./report.js";
import { median, quantile } from "./stats.js";
import { formatValue, markdownTable } from "./table.js";
import { TRAINING_STEPS, trainingLoss } from "./training-curve.js";

const BUDGET = 100;

export interface RunResult {
  readonly steps: number;
  readonly regret: number;
  readonly pruned: number;
}

/** One turn of the event loop: the other running trials take their step meanwhile. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function run(
  pruner: PrunerConfig | undefined,
  budget: number,
  seed: number,
  workers = 1,
): Promise<RunResult> {
  const fn = hartmann6();
  let steps = 0;
  const result = await minimize(
    async (params, context) => {
      const trainedLoss = trainingLoss(params, seed, context.trial.id);
      let loss = Number.NaN;
      for (let step = 1; step <= TRAINING_STEPS; step++) {
        steps++;
        loss = trainedLoss(step);
        context.report(step, loss);
        if (context.shouldPrune()) throw new TrialPruned();
        if (workers > 1) await nextTurn();
      }
      return loss;
    },
    { seed, budget, bounds: fn.bounds, strategy: "tpe", pruner },
    { concurrency: workers },
  );
  return { steps, regret: result.best!.value - fn.minimum, pruned: result.pruned };
}

export const benchmark: Benchmark = {
  name: "pruning",
  title: "Pruning: training steps and regret with no pruner, median, ASHA (simulated curves)",
  inAll: true,
  async run(args) {
    const options = parseOptions(args, ["seeds"]);
    const seeds = wholeOption(options, "seeds", 20);
    const variants: { label: string; pruner: PrunerConfig | undefined; budget: number; workers: number }[] = [
      { label: "none", pruner: undefined, budget: BUDGET, workers: 1 },
      { label: "median (defaults)", pruner: { kind: "median" }, budget: BUDGET, workers: 1 },
      { label: "ASHA (defaults)", pruner: { kind: "asha" }, budget: BUDGET, workers: 1 },
      // About the steps of the unpruned run, spent on more trials instead.
      { label: "median, 125 trials", pruner: { kind: "median" }, budget: 125, workers: 1 },
      { label: "ASHA, 400 trials", pruner: { kind: "asha" }, budget: 400, workers: 1 },
    ];
    for (const workers of [4, 8]) {
      variants.push(
        { label: "none", pruner: undefined, budget: BUDGET, workers },
        { label: "median (defaults)", pruner: { kind: "median" }, budget: BUDGET, workers },
        { label: "ASHA (defaults)", pruner: { kind: "asha" }, budget: BUDGET, workers },
      );
    }
    // With 8 workers, ASHA's trials are mostly pruned before any completes: a larger trial budget.
    variants.push({ label: "ASHA, 400 trials", pruner: { kind: "asha" }, budget: 400, workers: 8 });
    const rows: string[][] = [];
    let baseline = Number.NaN;
    for (const { label, pruner, budget, workers } of variants) {
      const results: RunResult[] = [];
      for (let seed = 1; seed <= seeds; seed++) results.push(await run(pruner, budget, seed, workers));
      const steps = median(results.map((r) => r.steps));
      if (pruner === undefined && workers === 1) baseline = steps;
      const regrets = results.map((r) => r.regret);
      rows.push([
        label,
        String(workers),
        String(budget),
        String(Math.round(steps)),
        `${Math.round((100 * steps) / baseline)} %`,
        String(median(results.map((r) => r.pruned))),
        formatValue(median(regrets)),
        formatValue(quantile(regrets, 0.75)),
      ]);
      console.log(rows.at(-1)!.join(" | "));
    }
    const body = [
      "## PRUNING. Early stopping on simulated training curves",
      "",
      "`npm run bench -- pruning` (`bench/pruning.ts`): each trial trains for up to 100 steps; the",
      "loss falls from 1 towards Hartmann-6 at the trial's parameters, at a rate set by x1",
      "(τ = 5 + 25·x1, so curves cross), with seeded noise (σ = 0.01). Every step is reported and a",
      "trial stops when the pruner says so. TPE, seeds 1–" +
        `${seeds}, pruner defaults (median: 5 startup trials, no warm-up; ASHA: rungs at 1, 3, 9, 27,`,
      "81 steps, η = 3). The first three rows share a budget of 100 trials; the next two spend about",
      "the unpruned run's steps on more trials; the next six run the first three with 4 and 8 trials",
      "at once (`minimize`'s `concurrency`), every running trial taking one step per turn of the event",
      "loop, so that all steps take the same time, and the last gives ASHA with 8 workers 400 trials.",
      "Steps are the training steps run (median over seeds); regret is the best completed trial's",
      "final loss minus Hartmann-6's minimum. The share of no pruning is against the one-worker run",
      "without a pruner.",
      "",
      markdownTable(
        [
          "Pruner",
          "Workers",
          "Trials",
          "Steps run (median)",
          "Share of no pruning",
          "Trials pruned (median)",
          "Median regret",
          "75th pct regret",
        ],
        rows,
      ),
      "",
      `Measured on ${environmentLine(describeEnvironment())}.`,
    ].join("\n");
    console.log(`\n${body}`);
    if (options.write) await writeSection("PRUNING", body);
  },
};
