/**
 * LOG-READS: what reading a long decision log costs a restart (`resumePoint`, `resumePointAsync`,
 * and a whole restart in two reads or in one with `resume: true`),
 * a compaction (`compactDecisionLog`), a replay (`replay`) and an explanation (`explain`), in time
 * and resident memory, against `readReplayLog` (which keeps every event of the log) and an idle
 * process, in the same run.
 *
 * Two logs, one three times the other, are written by a logged engine (two knobs, windows of 5
 * digests) fed a million and three million digests of a noisy quadratic, one per 100 ms of a replay
 * clock, in segments of the default size: the records a service's engine writes (digests, windows,
 * decisions, applies, timings). Each read then runs `--runs` times in a fresh `node` process (one
 * bundled file, no TypeScript loader), so that its peak RSS is its own; the table gives the median
 * and the largest over the runs. `--digests=N` reads one log of N digests instead.
 */
import { spawnSync } from "node:child_process";
import { closeSync, cpSync, fsyncSync, mkdtempSync, openSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { visitDecisionLog } from "../src/log/reader.js";
import { bundleForNode } from "../test/support/node-bundle.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { logBenchEngine } from "./log-bench-engine.js";
import { writeSection } from "./report.js";
import { median } from "./stats.js";
import { markdownTable } from "./table.js";

const CHILD = fileURLToPath(new URL("./log-reads-child.ts", import.meta.url));
const READS = [
  "idle",
  "resumePoint",
  "resumePointAsync",
  "compactDecisionLog",
  "readReplayLog",
  "replay",
  "explain",
  "restartTwoReads",
  "restartResume",
] as const;

/** How a read is named in the table. */
const READ_NAMES: Record<(typeof READS)[number], string> = {
  idle: "(an idle process)",
  resumePoint: "`resumePoint`",
  resumePointAsync: "`resumePointAsync`",
  compactDecisionLog: "`compactDecisionLog`",
  readReplayLog: "`readReplayLog`",
  replay: "`replay`",
  explain: "`explain`",
  restartTwoReads: "restart: `resumePoint`, then `createLoggedEngine`",
  restartResume: "restart: `createLoggedEngine` with `resume: true`",
};

/** Reads that write the log (a compaction, a restart's records): each runs on a copy of its own. */
const WRITES = new Set<string>(["compactDecisionLog", "restartTwoReads", "restartResume"]);

/** Writes the log of an engine fed `digests` digests into `dir`. */
async function writeLog(dir: string, digests: number): Promise<void> {
  const { engine, log, close, feed } = logBenchEngine({ dir });
  for (let i = 1; i <= digests; i++) {
    feed(i);
    // Written and synced now and then, on this thread: a log left to the group commit falls
    // behind on a busy machine, refuses records and freezes the engine (breakerOpen), and the log
    // would then depend on the machine's load.
    if (i % 2_000 === 0) log.flush();
  }
  const { mode, reasons } = engine.snapshot();
  await close();
  if (mode !== "normal" || reasons.length > 0)
    throw new Error(
      `the engine writing the log ended ${mode} (${reasons.join(", ")}): its log is not the one measured`,
    );
}

interface ReadFigures {
  readonly result: unknown;
  readonly ms: number;
  readonly peakRssMb: number;
  readonly heapMb: number;
}

/** Runs `read` on `dir` in a fresh process. */
function readOnce(script: string, read: string, dir: string): ReadFigures {
  const run = spawnSync(process.execPath, [script, read, dir], {
    encoding: "utf8",
    env: { ...process.env, NODE_ENV: "production" },
    maxBuffer: 1 << 20,
  });
  if (run.status !== 0) throw new Error(`${read} failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").pop()!) as ReadFigures;
}

/** One log written and read: its size, and a table row per read. */
interface LogReadRows {
  readonly digests: number;
  readonly records: number;
  readonly megabytes: number;
  readonly segments: number;
  readonly rows: string[][];
}

/** Writes the log of `digests` digests under `root` and runs each read `runs` times on it. */
async function measureLog(root: string, script: string, digests: number, runs: number): Promise<LogReadRows> {
  const dir = join(root, `log-${digests}`);
  const started = performance.now();
  await writeLog(dir, digests);
  const files = readdirSync(dir).filter((f) => f.endsWith(".alog"));
  const megabytes = files.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0) / 2 ** 20;
  // The records after the header (the visit starts with it).
  let records = -1;
  visitDecisionLog(dir, () => records++);
  console.log(
    `log: ${digests} digests, ${records} records, ${megabytes.toFixed(1)} MB in ${files.length} segments (written in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  const rows: string[][] = [];
  let idleRss = Number.NaN;
  for (const read of READS) {
    const figures: ReadFigures[] = [];
    for (let r = 0; r < runs; r++) {
      const target = WRITES.has(read) ? join(root, `copy-${r}`) : dir;
      if (target !== dir) copyToDisk(dir, target);
      figures.push(readOnce(script, read, target));
      if (target !== dir) rmSync(target, { recursive: true, force: true });
    }
    const rss = median(figures.map((f) => f.peakRssMb));
    const ms = figures.map((f) => f.ms);
    if (read === "idle") idleRss = rss;
    const row = [
      megabytes.toFixed(0),
      READ_NAMES[read],
      read === "idle" ? "–" : `${median(ms).toFixed(0)} / ${Math.max(...ms).toFixed(0)}`,
      `${rss.toFixed(0)} / ${Math.max(...figures.map((f) => f.peakRssMb)).toFixed(0)}`,
      read === "idle" ? "–" : (rss - idleRss).toFixed(0),
      String(figures[0]!.result ?? "–"),
    ];
    rows.push(row);
    console.log(row.join("  "));
  }
  rmSync(dir, { recursive: true, force: true });
  return { digests, records, megabytes, segments: files.length, rows };
}

/**
 * Copies the log in `dir` to `target` and waits until the copy is on disk: otherwise the disk
 * writes the copy back while the compaction timed next makes its own file durable, and the
 * compaction is charged for both.
 */
function copyToDisk(dir: string, target: string): void {
  cpSync(dir, target, { recursive: true });
  for (const name of readdirSync(target)) {
    const fd = openSync(join(target, name), "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/** Runs the benchmark on a log of each of `digests` and returns its Markdown section. */
export async function runLogReadsBench(digests: readonly number[], runs: number): Promise<string> {
  const environment = environmentLine(describeEnvironment());
  console.log(environment);
  const root = mkdtempSync(join(tmpdir(), "arqon-log-reads-"));
  const bundle = await bundleForNode(CHILD);
  try {
    const logs: LogReadRows[] = [];
    for (const d of digests) logs.push(await measureLog(root, bundle.script, d, runs));
    const table = markdownTable(
      [
        "log MB",
        "read",
        "wall ms, median / max",
        "peak RSS MB, median / max",
        "RSS above idle, MB",
        "result",
      ],
      logs.flatMap((log) => log.rows),
    );
    const sizes = logs
      .map(
        (log) =>
          `${log.digests.toLocaleString("en-US")} digests wrote ${log.records.toLocaleString("en-US")} records, ${log.megabytes.toFixed(1)} MB in ${log.segments} segments`,
      )
      .join("; ");
    return [
      `Machine: ${environment}`,
      "",
      `\`npm run bench -- log-reads\`: a logged engine (two knobs, windows of 5 digests) fed digests of a noisy quadratic, one per 100 ms of a replay clock, with the default segment size (64 MiB): ${sizes}. Each read ran ${runs} times on each log, each in a fresh \`node\` process (one bundled file); peak RSS is the process's own high-water mark (Linux \`VmHWM\`), "above idle" subtracts an idle process's median. Results: the resume point's generation, the records a compaction to the last 10,000 kept (restart records included), the events \`readReplayLog\` holds, the records \`replay\` compared (all identical), the windows \`explain\` found behind the generation the resume point names, the generation each restart started from. Each restart runs on a fresh copy of the log (it adds a run) and is timed until its engine has started (the log opened, verified and a restart record written); the two-step one reads the log twice, once for the resume point and once as the opening verifies it, \`resume: true\` takes the point from the opening's read. \`readReplayLog\` keeps every event of the log: the baseline, a reader whose memory grows with the log. \`replay\` rebuilds the engine and compares every event as the log is read, letting each go once compared; \`explain\` keeps of each run the records around its last two changes.`,
      "",
      table,
    ].join("\n");
  } finally {
    rmSync(root, { recursive: true, force: true });
    bundle.cleanup();
  }
}

/** The full protocol's logs and runs (a run given other ones prints its figures, never writes them). */
const DIGESTS = [1_000_000, 3_000_000] as const;
const RUNS = 3;

export const benchmark: Benchmark = {
  name: "log-reads",
  title: "Reading a long decision log: resumePoint and compaction, time and peak RSS",
  inAll: false,
  async run(args) {
    const options = parseOptions(args, ["digests", "runs"]);
    const digests = options.values.has("digests") ? [wholeOption(options, "digests", 1)] : DIGESTS;
    const section = await runLogReadsBench(digests, wholeOption(options, "runs", RUNS));
    if (options.write) await writeSection("LOG-READS", section);
  },
};
