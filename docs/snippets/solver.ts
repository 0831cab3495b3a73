import { createSolver } from "arqon";
import { branin as makeBranin } from "arqon/testing";

// Branin: a standard two-parameter test function whose minimum (0.397887) is known.
const branin = makeBranin();

const solver = createSolver({
  seed: 42,
  budget: 100,
  bounds: branin.bounds, // { x1: { min: -5, max: 10 }, x2: { min: 0, max: 15 } }
});

let batch = solver.ask();
while (batch !== null) {
  // Evaluate the batch anywhere (here, in-process) and report each result by trial id.
  solver.tell(batch.map((trial) => ({ id: trial.id, value: branin.evaluate(trial.params) })));
  batch = solver.ask();
}

const best = solver.best();
console.log(`best value ${best?.value.toFixed(5)} (known minimum ${branin.minimum.toFixed(5)})`);
console.log("at", best?.params);
