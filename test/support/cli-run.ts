import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { inject } from "vitest";
import type { CliIo } from "../../src/cli/io.js";
import { runCli } from "../../src/cli/run-cli.js";

/** What one CLI invocation produced. */
export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const mainTs = join(repoRoot, "src/cli/main.ts");
/** Absolute URL of tsx's loader, so child processes find it whatever their working directory. */
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** The repository root (where `bin/arqon.js` lives). */
export const REPO_ROOT = repoRoot;

/** tsx's loader, for `node --import` in a child process that runs TypeScript. */
export const TSX_LOADER = tsxLoader;

/**
 * The arguments of `node` that run the CLI: the bundle an installed package runs, which
 * test/global-setup.ts builds and provides; without it (a config with no global setup), the
 * TypeScript sources through tsx.
 */
export function arqonNodeArgs(args: readonly string[]): string[] {
  const bundle = inject("cliBundle");
  return bundle === undefined ? ["--import", tsxLoader, mainTs, ...args] : [bundle, ...args];
}

/** Runs the CLI (see {@link arqonNodeArgs}) as a child process in `cwd`. */
export function runArqon(args: readonly string[], cwd: string, stdin?: string): CliRun {
  return runNode(arqonNodeArgs(args), cwd, stdin);
}

/**
 * Runs the CLI as a child process without blocking, so that several run at once (workers of a
 * study); `onStderr` hears its stderr as it comes (a test waiting for the worker to reach a phase).
 */
export function runArqonAsync(
  args: readonly string[],
  cwd: string,
  onStderr?: (chunk: string) => void,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, arqonNodeArgs(args), { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
      onStderr?.(c);
    });
    child.once("error", reject);
    child.once("exit", (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * Runs `node …args` as a child process in `cwd` with a generous timeout (the machine is shared),
 * with `env` added to this process's environment.
 */
export function runNode(
  args: readonly string[],
  cwd: string,
  stdin?: string,
  env: Readonly<Record<string, string>> = {},
): CliRun {
  const result = spawnSync(process.execPath, [...args], {
    cwd,
    env: { ...process.env, ...env },
    input: stdin ?? "",
    encoding: "utf8",
    timeout: 60_000,
  });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Runs the CLI in this process (same code path as `main.ts`, minus the process wiring); `io`
 * overrides parts of the default in-memory io (e.g. a terminal stderr or a clock).
 */
export async function runArqonInProcess(
  args: readonly string[],
  cwd: string,
  stdin?: string,
  io: Partial<Pick<CliIo, "stderrIsTerminal" | "now" | "onInterrupt">> = {},
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const fullIo: CliIo = {
    ...io,
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    readStdin: async () => stdin ?? "",
    stdinIsTerminal: stdin === undefined,
    cwd,
    env: process.env,
  };
  const status = await runCli(args, fullIo);
  return { status, stdout, stderr };
}

const created: string[] = [];

/** A fresh temporary directory for one test (removed by {@link removeTempDirs}). */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "arqon-cli-"));
  created.push(dir);
  return dir;
}

/** Removes every directory {@link tempDir} created. */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Writes `value` as JSON to `dir/name` and returns `name`. */
export function writeJson(dir: string, name: string, value: unknown): string {
  writeFileSync(join(dir, name), JSON.stringify(value));
  return name;
}

/** The non-empty lines of `text`. */
export function lines(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}

/**
 * A process's state letter from /proc (`Z`: a zombie, dead and not yet reaped by its parent), or
 * "gone". A process that lost its parent is reaped by PID 1, which may take a moment.
 */
export function processState(pid: number): string {
  try {
    return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))![1]!;
  } catch {
    return "gone";
  }
}
