/**
 * Runs once before the test files: builds `dist/` with the project's own build config, so that
 * `npm test` on a fresh clone needs no separate build step (the package-quality test packs and
 * installs the built package). Always rebuilt, so a test never checks a stale build. Then bundles
 * the CLI as `npm run build` does (scripts/bundle-cli.ts) and provides its entry as `cliBundle`:
 * the CLI tests run that bundle, which is what an installed package runs.
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { bundleCli, CLI_BUNDLE_ENTRY } from "../scripts/bundle-cli.js";

const ROOT = resolve(import.meta.dirname, "..");

declare module "vitest" {
  export interface ProvidedContext {
    /** Absolute path of the bundled CLI's entry (see test/support/cli-run.ts). */
    cliBundle: string;
  }
}

export default async function buildDist(project: TestProject): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: "pipe" });
  } catch (error) {
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error);
    throw new Error(`the build before the tests failed (npm run build):\n${output}`);
  }
  await bundleCli(ROOT);
  project.provide("cliBundle", join(ROOT, CLI_BUNDLE_ENTRY));
}
