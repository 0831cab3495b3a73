import { createSolver } from "arqon";
import { branin as makeBranin } from "arqon/testing";

// Branin: a standard two-parameter test function with a known minimum (0.397887).
const branin = makeBranin();

const solver = createSolver({
  seed: 42,
  budget: 100,
  bounds: branin.bounds, // { x1: { min: -5, max: 10 }, x2: { min: 0, max: 15 } }
});

let batch = solver.ask();
while (batch !== null) {
  // Evaluate the batch anywhere (here, in-process); report each result by trial id.
  const results = batch.map((trial) => ({
    id: trial.id,
    value: branin.evaluate(trial.params),
  }));
  solver.tell(results);
  batch = solver.ask();
}

const best = solver.best();
const known = branin.minimum.toFixed(5);
console.log(`best value ${best?.value.toFixed(5)} (known minimum ${known})`);
console.log("at", best?.params);
