import { TrialPruned } from "arqon";
import { openSharedStudy, runSharedStudy } from "arqon/study";

const redis = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

// Stand-in for training a model for up to 50 epochs: the validation loss falls towards a floor
// set by the learning rate and the dropout. A real objective would train one epoch per step.
function validationLoss(params: { lr: number; dropout: number }, epoch: number): number {
  const floor = Math.log10(params.lr / 3e-3) ** 2 + (params.dropout - 0.2) ** 2;
  return floor + 2 * Math.exp(-epoch / 8);
}

// Every worker that opens "tuning-demo" shares its 40 trials, and its pruner's verdicts.
const study = await openSharedStudy(
  {
    seed: 1,
    budget: 40,
    bounds: { lr: { min: 1e-5, max: 1e-1, scale: "log" }, dropout: { min: 0, max: 0.6 } },
    pruner: { kind: "median", startupTrials: 5 },
  },
  { redis, study: "tuning-demo" },
);
let epochs = 0;
const { evaluated, pruned, best } = await runSharedStudy(study, async (params, _trial, context) => {
  let loss = Number.NaN;
  for (let epoch = 1; epoch <= 50; epoch++) {
    epochs++;
    loss = validationLoss(params, epoch);
    // Recorded in the study; true once the pruner judges this trial worse than the others.
    if (await context.report(epoch, loss)) throw new TrialPruned();
  }
  return loss;
});
await study.close();

console.log(`this worker ran ${evaluated.length} trials, ${pruned.length} pruned, ${epochs} epochs`);
console.log(`best loss ${best?.value.toFixed(4)} with`, best?.params);
