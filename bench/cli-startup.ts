/**
 * CLI-STARTUP: how long one `arqon` call takes, start to exit, as a shell loop of `arqon ask` /
 * `arqon tell` pays it on every trial.
 *
 * @remarks
 * Measures the CLI an installed package runs (`bin/arqon.js`, which runs the bundle in `dist/cli/`),
 * so it builds the package first (`npm run build`). Each row is a fresh `node` process timed from
 * spawn to exit, `--runs` times (default 30), interleaved row by row so that a slow spell of the
 * shared machine falls on every row alike. Baselines in the same run: Node alone (`node -e ""`),
 * importing the whole library (`import("arqon")`), and the same calls on the compiled modules the
 * bundle is made of (`dist/src/cli/main.js`). Each way of running keeps a state file of its own per
 * run: `ask` starts it, `status` reads it, `tell` reads, checks and rewrites it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { writeSection } from "./report.js";
import { quantileSorted, sortedCopy } from "./stats.js";
import { markdownTable } from "./table.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The launcher an installed package's `arqon` runs: it picks the bundle (`dist/cli/`). */
const LAUNCHER = join(ROOT, "bin", "arqon.js");
/** The compiled modules the bundle is made of: the baseline the bundle is measured against. */
const MODULES = join(ROOT, "dist", "src", "cli", "main.js");

const CONFIG = {
  seed: 1,
  budget: 20,
  bounds: { lr: { min: 1e-4, max: 1, scale: "log" }, layers: { min: 1, max: 8, type: "int" } },
};

/** One row: the command line after `node`, given the iteration's scratch folder. */
interface Row {
  readonly label: string;
  readonly args: (dir: string) => string[];
}

/** The calls of one way of running the CLI; each way keeps its own state file. */
function commandRows(how: string, entry: string, name: string, config: string): Row[] {
  const arqon = (...args: string[]) => [entry, ...args];
  const state = (dir: string) => join(dir, name, "run.json");
  const results = (dir: string) => join(dir, "results.json");
  return [
    { label: `\`arqon --help\` (${how})`, args: () => arqon("--help") },
    { label: `\`arqon validate\` (${how})`, args: () => arqon("validate", "--config", config) },
    {
      label: `\`arqon ask\`, new state (${how})`,
      args: (dir) => arqon("ask", "--config", config, "--state", state(dir), "--batch", "2"),
    },
    { label: `\`arqon status\` (${how})`, args: (dir) => arqon("status", "--state", state(dir)) },
    {
      label: `\`arqon tell\` (${how})`,
      args: (dir) => arqon("tell", "--state", state(dir), "--results", results(dir)),
    },
  ];
}

function rows(config: string): Row[] {
  return [
    { label: 'Node alone (`node -e ""`)', args: () => ["-e", ""] },
    {
      label: 'whole library (`import("arqon")`)',
      args: () => ["--input-type=module", "-e", 'await import("arqon")'],
    },
    ...commandRows("bundle", LAUNCHER, "bundle", config),
    ...commandRows("modules", MODULES, "modules", config),
  ];
}

/** Milliseconds from spawn to exit; throws with the command's stderr when it fails. */
function timed(args: string[]): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`node ${args.join(" ")} exited ${run.status}: ${run.stderr}`);
  return ms;
}

export const benchmark: Benchmark = {
  name: "cli-startup",
  title: "CLI start-up: one arqon call, spawn to exit, against Node alone and the whole library",
  inAll: true,
  async run(args) {
    const options = parseOptions(args, ["runs"]);
    const runs = wholeOption(options, "runs", 30);
    console.log("building the package (npm run build) …");
    execFileSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "inherit" });
    const scratch = mkdtempSync(join(tmpdir(), "arqon-cli-startup-"));
    try {
      const config = join(scratch, "config.json");
      writeFileSync(config, JSON.stringify(CONFIG));
      const table = rows(config);
      const samples = table.map(() => [] as number[]);
      for (let i = 0; i < runs; i++) {
        const dir = mkdtempSync(join(scratch, "run-"));
        for (const how of ["bundle", "modules"]) mkdirSync(join(dir, how));
        // ask hands out trials 1 and 2 (the probe); tell gets both results.
        writeFileSync(
          join(dir, "results.json"),
          JSON.stringify([
            { id: 1, value: 0.5 },
            { id: 2, value: 0.25 },
          ]),
        );
        for (const [r, row] of table.entries()) samples[r]!.push(timed(row.args(dir)));
      }
      const body = [
        "## CLI-STARTUP. One `arqon` call, spawn to exit",
        "",
        "`npm run bench -- cli-startup` (`bench/cli-startup.ts`): the CLI an installed package runs",
        "(`bin/arqon.js`, which runs the bundle `npm run build` writes to `dist/cli/`), each call a fresh",
        `\`node\` process timed from spawn to exit, ${runs} runs per row, interleaved row by row. Baselines`,
        "in the same run: Node alone, importing the whole library, and the same calls on the compiled",
        "modules the bundle is made of (`node dist/src/cli/main.js`). `ask` starts a new state file (a",
        "two-parameter config, `--batch 2`); `status` reads it; `tell` reads, checks and rewrites it.",
        "",
        markdownTable(
          ["call", "p50 (ms)", "p99 (ms)", "max (ms)"],
          table.map((row, r) => {
            const sorted = sortedCopy(samples[r]!);
            return [
              row.label,
              quantileSorted(sorted, 0.5).toFixed(0),
              quantileSorted(sorted, 0.99).toFixed(0),
              sorted[sorted.length - 1]!.toFixed(0),
            ];
          }),
        ),
        "",
        `Measured on ${environmentLine(describeEnvironment())}.`,
      ].join("\n");
      console.log(`\n${body}`);
      if (options.write) await writeSection("CLI-STARTUP", body);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  },
};
