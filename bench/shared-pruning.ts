/**
 * SHARED-PRUNING: pruning across the worker processes of a shared study, against the same pruner
 * in one process (`minimize`), on the PRUNING benchmark's simulated training curves.
 *
 * @remarks
 * Starts Debian's redis-server on 127.0.0.1 (the test harness's `startRedis`), then for each
 * pruner and seed starts N worker processes that open the study and wait for one start signal.
 * Each worker trains trials step by step, awaiting every `context.report`, timed from the call to
 * its verdict. After each study a fresh handle replays the journal, which checks every report
 * entry's recorded verdict against its own pruner's. Reported, not gated: the steps run and
 * the regret (best completed trial's final loss minus Hartmann-6's minimum), median over seeds,
 * with one process's; the report latency over every report of every study; the journal's entries.
 * Not in `npm run bench` (needs redis-server).
 */
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import type { RunSharedStudyResult } from "../src/study/index.js";
import { loadSharedStudy } from "../src/study/index.js";
import { hartmann6 } from "../src/testing/index.js";
import { startRedis } from "../test/support/redis-server.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { run as oneProcess } from "./pruning.js";
import { writeSection } from "./report.js";
import { median, quantileSorted } from "./stats.js";
import { startWorker } from "./study-worker-process.js";
import { formatValue, markdownTable, verdict } from "./table.js";

const WORKER = fileURLToPath(new URL("./shared-pruning-worker.ts", import.meta.url));
const BUDGET = 100;

type WorkerResult = RunSharedStudyResult & { worker: string; steps: number; reportMs: number[] };

interface SharedRun {
  readonly steps: number;
  readonly regret: number;
  readonly pruned: number;
  readonly evaluated: number;
  readonly reportMs: readonly number[];
  readonly entries: number;
  readonly replayed: boolean;
}

async function sharedRun(url: string, pruner: string, seed: number, workers: number): Promise<SharedRun> {
  const study = `bench-pruning-${pruner}-${seed}`;
  const started = Array.from({ length: workers }, (_, i) =>
    startWorker<WorkerResult>(WORKER, [url, study, pruner, String(BUDGET), String(seed), `w${i}`]),
  );
  await Promise.all(started.map((w) => w.ready));
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  await redis.rpush(`${study}:go`, ...started.map((_, i) => String(i)));
  const results = await Promise.all(started.map((w) => w.done));
  const entries = await redis.llen(`arqon:study:${study}:journal`);
  redis.disconnect();
  // A fresh handle replays every report entry and checks its verdict against its own pruner's.
  let replayed = true;
  try {
    await (await loadSharedStudy({ redis: url, study })).close();
  } catch (error) {
    console.log(`seed ${seed}: replay failed: ${error instanceof Error ? error.message : String(error)}`);
    replayed = false;
  }
  return {
    steps: results.reduce((sum, r) => sum + r.steps, 0),
    regret: results[0]!.best!.value - hartmann6().minimum,
    pruned: results.reduce((sum, r) => sum + r.pruned.length, 0),
    evaluated: results.reduce((sum, r) => sum + r.evaluated.length, 0),
    reportMs: results.flatMap((r) => r.reportMs),
    entries,
    replayed,
  };
}

export const benchmark: Benchmark = {
  name: "shared-pruning",
  title: "pruning across the workers of a shared study vs one process (needs redis-server)",
  inAll: false,
  async run(args) {
    const options = parseOptions(args, ["workers", "seeds"]);
    const workers = wholeOption(options, "workers", 4);
    const seeds = wholeOption(options, "seeds", 10);
    const server = await startRedis();
    const rows: string[][] = [];
    try {
      for (const pruner of ["median", "asha"] as const) {
        const runs: SharedRun[] = [];
        const single: { steps: number; regret: number; pruned: number }[] = [];
        for (let seed = 1; seed <= seeds; seed++) {
          const shared = await sharedRun(server.url, pruner, seed, workers);
          const local = await oneProcess({ kind: pruner }, BUDGET, seed);
          runs.push(shared);
          single.push(local);
          console.log(
            `${pruner} seed ${seed}: shared ${shared.steps} steps, ${shared.pruned} pruned, regret ${formatValue(shared.regret)}; one process ${local.steps} steps, ${local.pruned} pruned, regret ${formatValue(local.regret)}`,
          );
        }
        const latency = runs.flatMap((r) => r.reportMs).sort((a, b) => a - b);
        rows.push([
          pruner === "median" ? "median (defaults)" : "ASHA (defaults)",
          `${median(runs.map((r) => r.steps))} / ${median(single.map((r) => r.steps))}`,
          `${median(runs.map((r) => r.pruned))} / ${median(single.map((r) => r.pruned))}`,
          `${formatValue(median(runs.map((r) => r.regret)))} / ${formatValue(median(single.map((r) => r.regret)))}`,
          `${quantileSorted(latency, 0.5).toFixed(2)} / ${quantileSorted(latency, 0.99).toFixed(2)} / ${latency.at(-1)!.toFixed(2)}`,
          `${median(runs.map((r) => r.entries))}`,
          verdict(runs.every((r) => r.replayed && r.evaluated === BUDGET)),
        ]);
      }
    } finally {
      await server.stop();
    }
    const env = describeEnvironment();
    const table = markdownTable(
      [
        "Pruner",
        "Steps run, shared / 1 process",
        "Trials pruned",
        "Median regret",
        "Report ms p50 / p99 / max",
        "Journal entries",
        "Verdicts replayed, budget spent",
      ],
      rows,
    );
    const body = [
      "## SHARED-PRUNING. Pruning across the workers of a shared study",
      "",
      `\`npm run bench -- shared-pruning\` (\`bench/shared-pruning.ts\`): ${workers} worker processes share`,
      `one \`arqon/study\` study with a pruner through a real redis-server on 127.0.0.1, seeds 1–${seeds},`,
      `a budget of ${BUDGET} trials, on the PRUNING benchmark's simulated training curves (100 steps,`,
      "each reported and awaited), TPE forced; against `minimize` in one process with the same pruner,",
      "budget and seed (the PRUNING section's runs). Steps, pruned trials and regret are medians over",
      "seeds. Report latency: from `context.report` to its verdict, over every report of every",
      'study (a Redis round trip, and the journal entries of other workers read first). "Verdicts',
      "replayed, budget spent\" (the one gate): a fresh handle replayed each study's journal, which",
      "checks every report entry's recorded verdict against its own pruner's, and the workers ran",
      "exactly the budget. The other columns are reported, not gated: which trials a worker asks",
      "depends on the order results reach the journal, so the shared runs are not the one-process",
      "runs in another form.",
      "",
      table,
      "",
      `Measured on ${environmentLine(env)}.`,
    ].join("\n");
    console.log(`\n${body}\n`);
    if (options.write) await writeSection("SHARED-PRUNING", body);
  },
};
