/**
 * One worker process of the shared-pruning benchmark (bench/shared-pruning.ts): opens the study,
 * says "ready", waits for the start signal (a push to `<study>:go`), trains trials on the PRUNING
 * benchmark's simulated curves until the budget is spent, reporting every step and timing each
 * report, and prints what it did as one JSON line.
 *
 * Usage: shared-pruning-worker.ts <redis-url> <study> <pruner: median|asha> <budget> <seed> <worker>
 */
import { Redis } from "ioredis";
import { TrialPruned } from "../src/index.js";
import { openSharedStudy, runSharedStudy } from "../src/study/index.js";
import { hartmann6 } from "../src/testing/index.js";
import { TRAINING_STEPS, trainingLoss } from "./training-curve.js";

const [url, name, pruner, budget, seed, worker] = process.argv.slice(2);
const fn = hartmann6();
const study = await openSharedStudy(
  {
    seed: Number(seed),
    budget: Number(budget),
    bounds: fn.bounds,
    strategy: "tpe",
    pruner: { kind: pruner === "asha" ? "asha" : "median" },
  },
  { redis: url!, study: name!, worker: worker! },
);
process.stdout.write("ready\n");
const gate = new Redis(url!, { maxRetriesPerRequest: 1 });
await gate.blpop(`${name}:go`, 0);
gate.disconnect();
let steps = 0;
const reportMs: number[] = [];
const result = await runSharedStudy(
  study,
  async (params, trial, context) => {
    const loss = trainingLoss(params, Number(seed), trial.id);
    let value = Number.NaN;
    for (let step = 1; step <= TRAINING_STEPS; step++) {
      steps++;
      value = loss(step);
      const t0 = performance.now();
      const prune = await context.report(step, value);
      reportMs.push(performance.now() - t0);
      if (prune) throw new TrialPruned();
    }
    return value;
  },
  { pollMs: 2 },
);
await study.close();
process.stdout.write(`${JSON.stringify({ worker, steps, reportMs, ...result })}\n`);
