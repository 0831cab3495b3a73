/**
 * Runs once before the test files: builds `dist/` with the project's own build config, so that
 * `npm test` on a fresh clone needs no separate build step (the package-quality test packs and
 * installs the built package). Always rebuilt, so a test never checks a stale build.
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");

export default function buildDist(): void {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: "pipe" });
  } catch (error) {
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error);
    throw new Error(`the build before the tests failed (npm run build):\n${output}`);
  }
}
