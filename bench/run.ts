/**
 * Benchmark dispatcher: `npm run bench` runs every benchmark, `npm run bench -- <name> [args]`
 * runs one, `npm run bench -- --list` lists them.
 *
 * @remarks
 * A module in `bench/` is a benchmark when it has `export const benchmark: Benchmark` (see
 * `benchmark.ts`); only files whose source declares that export are imported, so a helper or a
 * stand-alone script is never run by accident. Run through `npm run bench`, which sets
 * `NODE_ENV=production` so that XState's production build is measured.
 *
 * The exit code is non-zero when a benchmark fails to load, throws, or prints a failed gate
 * (`verdict(false)`, counted by `gates.ts`), and a closing summary names each of them.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { syncReadmeFigures } from "../scripts/readme-figures.js";
import type { Benchmark } from "./benchmark.js";
import { takeFailedGates } from "./gates.js";

/** Where benchmarks are found: this folder (`ARQON_BENCH_DIR` points elsewhere, for the runner's own tests). */
const BENCH_DIR = process.env.ARQON_BENCH_DIR ?? fileURLToPath(new URL(".", import.meta.url));
/** Benchmarks listed first, in this order; any others follow alphabetically. */
const PREFERRED_ORDER = ["solver-quality", "solver-overhead", "compare-optuna"];

/** The benchmarks found, and the files that declare a benchmark but could not be loaded. */
interface Discovery {
  readonly benchmarks: Benchmark[];
  readonly broken: { file: string; reason: string }[];
}

async function discover(): Promise<Discovery> {
  const broken: { file: string; reason: string }[] = [];
  const files = (await readdir(BENCH_DIR)).filter((file) => file.endsWith(".ts") && file !== "run.ts");
  const found: Benchmark[] = [];
  for (const file of files.sort()) {
    const source = await readFile(join(BENCH_DIR, file), "utf8");
    if (!/^export const benchmark\b/m.test(source)) continue;
    try {
      const module = (await import(pathToFileURL(join(BENCH_DIR, file)).href)) as { benchmark?: Benchmark };
      if (module.benchmark !== undefined) found.push(module.benchmark);
      else broken.push({ file, reason: "its `benchmark` export is undefined" });
    } catch (error) {
      // One broken benchmark must not stop the others from being listed or run, but it does fail
      // the run: a benchmark that cannot load measured nothing.
      const reason = error instanceof Error ? error.message : String(error);
      console.error(`bench/${file} could not be loaded: ${reason}`);
      broken.push({ file, reason });
    }
  }
  const rank = (name: string): number => {
    const index = PREFERRED_ORDER.indexOf(name);
    return index === -1 ? PREFERRED_ORDER.length : index;
  };
  const benchmarks = found.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
  return { benchmarks, broken };
}

async function main(argv: readonly string[]): Promise<number> {
  const { benchmarks, broken } = await discover();
  const [name, ...rest] = argv;
  if (name === "--list" || name === "--help") {
    for (const b of benchmarks)
      console.log(`${b.name.padEnd(18)} ${b.title}${b.inAll ? "" : " (not in all)"}`);
    return broken.length === 0 ? 0 : 1;
  }
  if (process.env.NODE_ENV !== "production") {
    console.warn("warning: NODE_ENV is not 'production'; run through `npm run bench` for comparable figures");
  }
  const selected =
    name === undefined || name.startsWith("--")
      ? benchmarks.filter((b) => b.inAll)
      : benchmarks.filter((b) => b.name === name);
  if (selected.length === 0) {
    console.error(
      `no benchmark named ${JSON.stringify(name)}; known: ${benchmarks.map((b) => b.name).join(", ")}`,
    );
    return 2;
  }
  const args = name === undefined || name.startsWith("--") ? argv : rest;
  const failures = broken.map(({ file, reason }) => `bench/${file} could not be loaded (${reason})`);
  for (const b of selected) {
    console.log(`\n=== ${b.name}: ${b.title} ===`);
    const started = performance.now();
    takeFailedGates();
    try {
      await b.run(args);
    } catch (error) {
      failures.push(`${b.name} threw: ${error instanceof Error ? error.message : String(error)}`);
      console.error(`${b.name} failed:`, error);
    }
    const gates = takeFailedGates();
    if (gates > 0) failures.push(`${b.name}: ${gates} gate${gates === 1 ? "" : "s"} FAIL`);
    console.log(`=== ${b.name} took ${((performance.now() - started) / 1000).toFixed(1)} s ===`);
  }
  // README.md quotes figures from docs/benchmarks.md: refresh them from what was just written
  // (not when the runner is pointed at another folder of benchmarks, as its own tests do).
  if (process.env.ARQON_BENCH_DIR === undefined) {
    try {
      if (syncReadmeFigures([]) !== 0) failures.push("README.md's figures could not be written");
    } catch (error) {
      failures.push(`README.md's figures: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (failures.length === 0) {
    console.log("\nbench: every benchmark ran and every gate passed");
    return 0;
  }
  console.error(`\nbench: FAIL\n${failures.map((f) => `  - ${f}`).join("\n")}`);
  return 1;
}

process.exitCode = await main(process.argv.slice(2));
