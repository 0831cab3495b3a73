/**
 * Benchmark dispatcher: `npm run bench` runs every benchmark, `npm run bench -- <name> [args]`
 * runs one, `npm run bench -- --list` lists them.
 *
 * @remarks
 * A module in `bench/` is a benchmark when it has `export const benchmark: Benchmark` (see
 * `benchmark.ts`); only files whose source declares that export are imported, so a helper or a
 * stand-alone script is never run by accident. Run through `npm run bench`, which sets
 * `NODE_ENV=production` so that XState's production build is measured.
 */
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Benchmark } from "./benchmark.js";

const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));
/** Benchmarks listed first, in this order; any others follow alphabetically. */
const PREFERRED_ORDER = ["solver-quality", "solver-overhead", "compare-optuna"];

async function discover(): Promise<Benchmark[]> {
  const files = (await readdir(BENCH_DIR)).filter((file) => file.endsWith(".ts") && file !== "run.ts");
  const found: Benchmark[] = [];
  for (const file of files.sort()) {
    const source = await readFile(`${BENCH_DIR}${file}`, "utf8");
    if (!/export const benchmark\b/.test(source)) continue;
    try {
      const module = (await import(pathToFileURL(`${BENCH_DIR}${file}`).href)) as { benchmark?: Benchmark };
      if (module.benchmark !== undefined) found.push(module.benchmark);
    } catch (error) {
      // One broken benchmark must not stop the others from being listed or run.
      console.error(`bench/${file} could not be loaded: ${error instanceof Error ? error.message : error}`);
    }
  }
  const rank = (name: string): number => {
    const index = PREFERRED_ORDER.indexOf(name);
    return index === -1 ? PREFERRED_ORDER.length : index;
  };
  return found.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

async function main(argv: readonly string[]): Promise<number> {
  const benchmarks = await discover();
  const [name, ...rest] = argv;
  if (name === "--list" || name === "--help") {
    for (const b of benchmarks)
      console.log(`${b.name.padEnd(18)} ${b.title}${b.inAll ? "" : " (not in all)"}`);
    return 0;
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
  let failed = 0;
  for (const b of selected) {
    console.log(`\n=== ${b.name}: ${b.title} ===`);
    const started = performance.now();
    try {
      await b.run(args);
    } catch (error) {
      failed++;
      console.error(`${b.name} failed:`, error);
    }
    console.log(`=== ${b.name} took ${((performance.now() - started) / 1000).toFixed(1)} s ===`);
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
