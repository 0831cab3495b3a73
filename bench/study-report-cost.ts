/**
 * STUDY-REPORT-COST: what one `report` to a shared study costs, early and late in a long study.
 *
 * @remarks
 * Starts Debian's redis-server on 127.0.0.1 (the test harness's `startRedis`), then one worker
 * runs a study of `--trials` trials (default 400) with the median pruner, each reporting
 * `--reports` intermediate values (default 50), one after another and awaited, so the journal
 * ends with trials × (reports + 2) entries. Each report is timed from the call to its verdict.
 * Baselines in the same run, at every report: a bare Redis round trip (`PING`), and the snapshot
 * of the whole solver (`toJSON()` on a solver fed the same operations) that a study used to save
 * before each report so that it could take the report back. Gate: the median report in the last
 * block of trials costs at most 1.5× the median in the first, i.e. a report's cost does not grow
 * with the study. Not in `npm run bench` (needs redis-server).
 */
import { Redis } from "ioredis";
import type { SolverConfig } from "../src/solver/config.js";
import { createSolver } from "../src/solver/solver.js";
import { openSharedStudy } from "../src/study/index.js";
import { startRedis } from "../test/support/redis-server.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { writeSection } from "./report.js";
import { quantileSorted, sortedCopy } from "./stats.js";
import { markdownTable, verdict } from "./table.js";

/** Trials per block of the table: the first, middle and last block of the study. */
const BLOCK = 40;
/** The gate: a late report's median cost over an early one's. */
const MAX_GROWTH = 1.5;

/** A training curve: its loss falls with the step, towards a floor set by the parameters. */
function loss(x: number, y: number, step: number, steps: number): number {
  const floor = (x - 0.3) ** 2 + (y - 0.6) ** 2;
  return floor + (1 - floor) * Math.exp((-4 * step) / steps);
}

interface Sample {
  readonly reportMs: number;
  readonly pingMs: number;
  readonly snapshotMs: number;
}

const ms = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e6;

export const benchmark: Benchmark = {
  name: "study-report-cost",
  title: "one report to a shared study, early and late in a long study (needs redis-server)",
  inAll: false,
  async run(args) {
    const options = parseOptions(args, ["trials", "reports"]);
    const trials = wholeOption(options, "trials", 400);
    const reports = wholeOption(options, "reports", 50);
    if (trials < 3 * BLOCK) throw new Error(`--trials: at least ${3 * BLOCK}, for three blocks of ${BLOCK}`);
    const config: SolverConfig = {
      seed: 1,
      budget: trials,
      bounds: { x: { min: 0, max: 1 }, y: { min: 0, max: 1 } },
      pruner: { kind: "median" },
    };
    const server = await startRedis();
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    /** Samples by trial, in the order the trials were asked. */
    const byTrial: Sample[][] = [];
    let entries = 0;
    try {
      const study = await openSharedStudy(config, { redis: server.url, study: "report-cost" });
      // The same operations on a solver of our own, to time the snapshot a report used to take.
      const mirror = createSolver(config);
      for (;;) {
        const asked = await study.ask({ max: 1 });
        if (asked === null) break;
        const [trial] = asked;
        if (trial === undefined) throw new Error("one worker: the study never waits for another");
        const [twin] = mirror.ask({ max: 1 })!;
        const { x, y } = trial.params as { x: number; y: number };
        const samples: Sample[] = [];
        let pruned = false;
        for (let step = 1; step <= reports && !pruned; step++) {
          const value = loss(x, y, step, reports);
          let start = process.hrtime.bigint();
          mirror.toJSON();
          const snapshotMs = ms(start);
          mirror.report(twin!.id, step, value);
          start = process.hrtime.bigint();
          await redis.ping();
          const pingMs = ms(start);
          start = process.hrtime.bigint();
          pruned = await study.report(trial.id, step, value);
          samples.push({ reportMs: ms(start), pingMs, snapshotMs });
        }
        const result = pruned
          ? { id: trial.id, pruned: true as const }
          : { id: trial.id, value: loss(x, y, reports, reports) };
        await study.tell(result);
        mirror.tell(result);
        byTrial.push(samples);
      }
      await study.close();
      mirror.stop();
      entries = await redis.llen("arqon:study:report-cost:journal");
    } finally {
      redis.disconnect();
      await server.stop();
    }
    const middle = Math.floor((trials - BLOCK) / 2);
    const blocks = [
      { label: `trials 1–${BLOCK}`, from: 0 },
      { label: `trials ${middle + 1}–${middle + BLOCK}`, from: middle },
      { label: `trials ${trials - BLOCK + 1}–${trials}`, from: trials - BLOCK },
    ].map((block) => {
      const samples = byTrial.slice(block.from, block.from + BLOCK).flat();
      const sorted = (pick: (s: Sample) => number) => sortedCopy(samples.map(pick));
      return {
        ...block,
        reports: samples.length,
        report: sorted((s) => s.reportMs),
        ping: sorted((s) => s.pingMs),
        snapshot: sorted((s) => s.snapshotMs),
      };
    });
    const spread = (sorted: Float64Array) =>
      `${quantileSorted(sorted, 0.5).toFixed(3)} / ${quantileSorted(sorted, 0.99).toFixed(3)} / ${sorted.at(-1)!.toFixed(3)}`;
    const growth = quantileSorted(blocks[2]!.report, 0.5) / quantileSorted(blocks[0]!.report, 0.5);
    const table = markdownTable(
      [
        "Block",
        "Reports",
        "Report ms p50 / p99 / max",
        "Redis PING ms p50 / p99 / max",
        "Whole-solver snapshot ms p50 / p99 / max",
      ],
      blocks.map((b) => [b.label, String(b.reports), spread(b.report), spread(b.ping), spread(b.snapshot)]),
    );
    const body = [
      "## STUDY-REPORT-COST. One report to a shared study, early and late",
      "",
      "`npm run bench -- study-report-cost` (`bench/study-report-cost.ts`): one worker runs a shared",
      `study of ${trials} trials with the median pruner (defaults) through a real redis-server on 127.0.0.1,`,
      `each trial reporting up to ${reports} values on a simulated training curve, every report awaited;`,
      `the journal ends with ${entries} entries. Each report is timed from the call to its verdict (one`,
      "read of the journal and one append). Baselines at every report, in the same run: a bare Redis",
      "round trip (`PING`), and the snapshot of the whole solver (`toJSON()` on a solver fed the same",
      "operations), which a study saved before every report, to take the report back if its append did",
      "not land, until it saved the report's own undo instead.",
      "",
      table,
      "",
      `Gate, a report's cost does not grow with the study (last block's median ≤ ${MAX_GROWTH}× the first's): ` +
        `${growth.toFixed(2)}× → ${verdict(growth <= MAX_GROWTH)}.`,
      "",
      `Measured on ${environmentLine(describeEnvironment())}.`,
    ].join("\n");
    console.log(`\n${body}\n`);
    if (options.write) await writeSection("STUDY-REPORT-COST", body);
  },
};
