import { minimize, TrialPruned } from "arqon";

// Stand-in for training a model one epoch at a time: the validation loss after `epoch` epochs.
// A real objective would train here; the port below is the same whatever it does.
function validationLoss(
  p: { optimizer: "adam" | "sgd"; lr: number; layers: number; momentum?: number },
  epoch: number,
): number {
  const tuning = p.optimizer === "sgd" ? (p.momentum! - 0.9) ** 2 : 0.1;
  const floor = (Math.log10(p.lr) + 2.5) ** 2 + 0.05 * (p.layers - 5) ** 2 + tuning;
  return floor + Math.exp(-epoch / 6);
}

const { best, evaluations, pruned } = await minimize(
  async (params, context) => {
    let loss = Number.NaN;
    for (let epoch = 1; epoch <= 30; epoch++) {
      loss = validationLoss(params, epoch);
      context.report(epoch, loss); // trial.report(loss, epoch): the step comes first here
      if (context.shouldPrune()) throw new TrialPruned(); // raise optuna.TrialPruned()
    }
    return loss;
  },
  {
    seed: 1,
    budget: 60, // n_trials: pruned trials count too
    bounds: {
      optimizer: { type: "categorical", choices: ["adam", "sgd"] },
      lr: { min: 1e-5, max: 1e-1, scale: "log" },
      layers: { type: "int", min: 1, max: 8 },
      momentum: { min: 0, max: 0.99, when: { optimizer: ["sgd"] } }, // suggested only for sgd
    },
    pruner: { kind: "median", startupTrials: 5, warmupSteps: 5 },
    startPoints: [{ optimizer: "adam", lr: 1e-3, layers: 4 }], // study.enqueue_trial(...)
  },
  { concurrency: 4 }, // n_jobs=4
);

console.log(`${evaluations} trials completed, ${pruned} pruned`);
console.log(`best loss ${best?.value.toFixed(4)} with`, best?.params);
