/**
 * The compiled package, for benchmarks that should measure what users run: `tsc` output in
 * `dist/`, not the sources through tsx (whose keepNames wrappers turn many closures into
 * dictionary-mode objects: about 10 KB more per engine, and slower calls).
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * Compiles the package into `dist/` (`tsc -p tsconfig.build.json`, incremental work is tsc's own)
 * so that a benchmark never measures a stale build; returns a line saying what was measured.
 */
export function buildCompiledPackage(): string {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });
  return "compiled package (dist/, `tsc -p tsconfig.build.json` run by the benchmark before measuring)";
}

/** The URL of a compiled module, e.g. `compiledModule("src/engine/supervisor.js")`. */
export function compiledModule(path: string): string {
  return new URL(`../dist/${path}`, import.meta.url).href;
}
