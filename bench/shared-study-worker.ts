/**
 * One worker process of the shared-study benchmark (bench/shared-study.ts): opens the study, says
 * "ready", waits for the start signal (a push to `<study>:go`), evaluates trials until the budget
 * is spent, and prints what it did as one JSON line.
 *
 * Usage: shared-study-worker.ts <redis-url> <study> <function: branin|hartmann6> <budget> <seed> <worker>
 */
import { Redis } from "ioredis";
import { openSharedStudy, runSharedStudy } from "../src/study/index.js";
import { branin, hartmann6 } from "../src/testing/functions.js";

const [url, name, fnName, budget, seed, worker] = process.argv.slice(2);
const fn = fnName === "hartmann6" ? hartmann6() : branin();
const study = await openSharedStudy(
  { seed: Number(seed), budget: Number(budget), bounds: fn.bounds },
  { redis: url!, study: name!, worker: worker! },
);
process.stdout.write("ready\n");
const gate = new Redis(url!, { maxRetriesPerRequest: 1 });
await gate.blpop(`${name}:go`, 0);
gate.disconnect();
const result = await runSharedStudy(study, (params) => fn.evaluate(params), { pollMs: 2 });
await study.close();
process.stdout.write(`${JSON.stringify({ worker, ...result })}\n`);
