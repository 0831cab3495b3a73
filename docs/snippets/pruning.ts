import { minimize, TrialPruned } from "arqon";

// Stand-in for training a model for up to 50 epochs: the validation loss falls towards a floor
// set by the learning rate and the dropout. A real objective would train one epoch per step.
function validationLoss(params: { lr: number; dropout: number }, epoch: number): number {
  const floor = Math.log10(params.lr / 3e-3) ** 2 + (params.dropout - 0.2) ** 2;
  return floor + 2 * Math.exp(-epoch / 8);
}

let epochs = 0;
const { best, evaluations, pruned } = await minimize(
  (params, context) => {
    let loss = Number.NaN;
    for (let epoch = 1; epoch <= 50; epoch++) {
      epochs++;
      loss = validationLoss(params, epoch);
      context.report(epoch, loss); // an intermediate value: lower is better
      if (context.shouldPrune()) throw new TrialPruned(); // stop this trial here
    }
    return loss;
  },
  {
    seed: 1,
    budget: 40,
    bounds: { lr: { min: 1e-5, max: 1e-1, scale: "log" }, dropout: { min: 0, max: 0.6 } },
    pruner: { kind: "asha", minResource: 2, reductionFactor: 3 },
  },
);

console.log(`${evaluations} trials completed, ${pruned} pruned, ${epochs} of ${40 * 50} epochs run`);
console.log(`best loss ${best?.value.toFixed(4)} with`, best?.params);
