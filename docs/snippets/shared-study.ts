import { openSharedStudy, runSharedStudy } from "arqon/study";
import { branin as makeBranin } from "arqon/testing";

const branin = makeBranin();
const redis = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

// Start this same program on as many machines as you like: every worker that opens the study
// "branin-demo" shares its budget of 60 trials.
const study = await openSharedStudy(
  { seed: 42, budget: 60, bounds: branin.bounds },
  { redis, study: "branin-demo" },
);
const { evaluated, best } = await runSharedStudy(study, (params) => branin.evaluate(params));
await study.close();

console.log(`this worker evaluated ${evaluated.length} trials; study ${study.asked}/${study.config.budget}`);
console.log(`best value ${best?.value.toFixed(5)} (known minimum ${branin.minimum.toFixed(5)})`);
