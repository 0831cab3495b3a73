import { createSolver } from "arqon";

// A simulated training run: the loss of a model for a learning rate, a depth, an
// optimizer and, for SGD only, a momentum.
function trainingLoss(p: { lr: number; layers: number; optimizer: "adam" | "sgd"; momentum?: number }) {
  const base = (Math.log10(p.lr) + 2) ** 2 + 0.1 * (p.layers - 4) ** 2;
  return p.optimizer === "sgd" ? base + (p.momentum! - 0.9) ** 2 : base + 0.2;
}

const solver = createSolver({
  seed: 1,
  budget: 80,
  bounds: {
    lr: { min: 1e-5, max: 1, scale: "log" }, // a float (the default kind)
    layers: { type: "int", min: 1, max: 8 }, // a whole number
    optimizer: { type: "categorical", choices: ["adam", "sgd"] }, // unordered choices
    momentum: { min: 0, max: 0.99, when: { optimizer: ["sgd"] } }, // only with sgd
  },
});

for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
  // trial.params.optimizer is "adam" | "sgd"; trial.params.momentum is number | undefined.
  solver.tell(batch.map((trial) => ({ id: trial.id, value: trainingLoss(trial.params) })));
}
console.log("best", JSON.stringify(solver.best()));
