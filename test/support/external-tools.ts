/**
 * The programs some tests start that npm does not install: which tests need each one, where it is
 * looked for, and how to get it.
 *
 * @remarks
 * `npm ci && npm test` must pass on a fresh machine with nothing but Node. So when a program is
 * missing, `vitest.config.ts` leaves its test files out and prints one line saying how to enable
 * them — except under `CI=true`, where a missing program fails the run: CI must never pass
 * because a test did not run. This module imports nothing heavy, since the config loads it.
 */
import { accessSync, constants } from "node:fs";

/** A program some test files start. */
export interface ExternalTool {
  /** What the tests call it, e.g. "chromium". */
  readonly name: string;
  /** The binary the tests run (overridable through `env`). */
  readonly path: string;
  /** Environment variable that points the tests at another binary. */
  readonly env: string;
  /** The Debian package that provides it. */
  readonly debianPackage: string;
  /** What its tests check, for the "not run" line. */
  readonly purpose: string;
  /** Globs (relative to the repository root) of the test files that need it. */
  readonly tests: readonly string[];
}

/** The chromium binary the browser tests drive through playwright-core. */
export const CHROMIUM_PATH = process.env.ARQON_CHROMIUM ?? "/usr/bin/chromium";

/** The redis-server binary the Redis tests start (see `redis-server.ts`). */
export const REDIS_SERVER_PATH = process.env.ARQON_REDIS_SERVER ?? "/usr/bin/redis-server";

/** The promtool binary that checks the Prometheus alert rules. */
export const PROMTOOL_PATH = process.env.ARQON_PROMTOOL ?? "/usr/bin/promtool";

export const EXTERNAL_TOOLS: readonly ExternalTool[] = [
  {
    name: "chromium",
    path: CHROMIUM_PATH,
    env: "ARQON_CHROMIUM",
    debianPackage: "chromium",
    purpose: "browser tests",
    tests: ["test/browser-*.test.ts"],
  },
  {
    name: "redis-server",
    path: REDIS_SERVER_PATH,
    env: "ARQON_REDIS_SERVER",
    debianPackage: "redis-server",
    purpose: "Redis tests (fleet bus, shared studies)",
    // browser-fleet needs chromium too.
    tests: [
      "test/redis-*.test.ts",
      "test/fleet-*.test.ts",
      "test/study-*.test.ts",
      "test/browser-fleet.test.ts",
    ],
  },
  {
    name: "promtool",
    path: PROMTOOL_PATH,
    env: "ARQON_PROMTOOL",
    debianPackage: "prometheus",
    purpose: "alert-rule tests",
    tests: ["test/promtool-*.test.ts"],
  },
];

/** Whether `path` is an executable file. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The one line printed when a tool is missing outside CI. */
export function notRunLine(tool: ExternalTool): string {
  return (
    `${tool.purpose} not run: ${tool.path} not found. ` +
    `To run them, install Debian's ${tool.debianPackage} (apt-get install ${tool.debianPackage}) ` +
    `or set ${tool.env} to the ${tool.name} binary.`
  );
}

/** The error that fails a CI run whose machine lacks a tool. */
export function missingInCiMessage(tool: ExternalTool): string {
  return (
    `CI=true but ${tool.path} (${tool.name}) is missing, so the ${tool.purpose} cannot run: ` +
    `install Debian's ${tool.debianPackage} (.ci/run does) or set ${tool.env}.`
  );
}

/** Whether this run is CI's (`CI` set to anything but "", "0" or "false"). */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== "" && value !== "0" && value !== "false";
}
