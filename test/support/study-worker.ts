/**
 * One worker process of a shared study (test/study-workers.test.ts): evaluates Branin trials of
 * the study until its budget is spent, then prints what it did as one JSON line. It opens the
 * study, prints "ready", and starts only when the test pushes to the list `<study>:go`, so that
 * every worker competes from the first trial on.
 *
 * Usage: study-worker.ts <redis-url> <study> <budget> <seed> <worker-name>
 */
import { Redis } from "ioredis";
import { openSharedStudy, runSharedStudy } from "../../src/study/index.js";
import { branin } from "../../src/testing/functions.js";

const [url, name, budget, seed, worker] = process.argv.slice(2);
const fn = branin();
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
