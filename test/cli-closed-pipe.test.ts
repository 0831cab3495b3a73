import { execFileSync, spawn } from "node:child_process";
import {
  closeSync,
  constants,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createSolver, restoreSolver } from "../src/index.js";
import {
  arqonNodeArgs,
  lines,
  removeTempDirs,
  runArqonInProcess,
  tempDir,
  writeJson,
} from "./support/cli-run.js";

afterAll(removeTempDirs);

/** Child-process tests end on process exits; the bound is generous because the machine is shared. */
const CHILD_TIMEOUT_MS = 120_000;

/** Objective processes a test started, killed after it in case the code under test left them running. */
const objectivePids: number[] = [];
afterEach(() => {
  for (const pid of objectivePids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone, as it should be.
    }
  }
});

/**
 * The write end of a pipe whose reader has gone, as after `arqon … | head -1` once `head` has
 * exited: every write to it fails with EPIPE. Made from a named pipe opened by a reader that is
 * closed before the child starts, so the reader is gone whatever the timing.
 */
function closedPipe(): number {
  const fifo = join(tempDir(), "fifo");
  execFileSync("mkfifo", [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY);
  closeSync(reader);
  rmSync(fifo);
  return writer;
}

/**
 * Runs the CLI as a child in `cwd` with its stdout going into a closed pipe, and its stderr too
 * when `stderrToo` (as `2>&1 | head -1` does); resolves to the exit code and what reached stderr
 * otherwise.
 */
async function runIntoClosedPipe(
  args: readonly string[],
  cwd: string,
  stderrToo = false,
): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const pipe = closedPipe();
  const child = spawn(process.execPath, arqonNodeArgs(args), {
    cwd,
    stdio: ["ignore", pipe, stderrToo ? pipe : "pipe"],
  });
  closeSync(pipe);
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  return await new Promise((resolve) =>
    child.on("close", (status, signal) => resolve({ status, signal, stderr })),
  );
}

const CONFIG = { seed: 5, budget: 8, bounds: { x: { min: 0, max: 1 } } };

/** `dir` with `c.json` and the state `s.json` holding one pending trial. */
async function stateWithOnePendingTrial(): Promise<string> {
  const dir = tempDir();
  writeJson(dir, "c.json", CONFIG);
  const asked = await runArqonInProcess(
    ["ask", "--state", "s.json", "--config", "c.json", "--batch", "1"],
    dir,
  );
  expect(asked.status).toBe(0);
  return dir;
}

/**
 * The objective: trial 1 waits until trial 2 has started (it writes `pids/2`), then prints its
 * value; every other trial writes its pid to `pids/<id>` and holds until it is stopped, unless the
 * file `go` exists (a resumed run), when it prints its value at once. `stubborn` makes the holding
 * trials ignore SIGTERM. The waits are the objective's own (polling files), not the test's.
 */
function objective(stubborn: boolean): string {
  return `
const fs = require("node:fs");
const id = process.env.ARQON_TRIAL_ID;
const value = () => console.log((Number(process.env.ARQON_X) - 0.3) ** 2);
if (fs.existsSync("go")) value();
else if (id === "1") {
  const timer = setInterval(() => { if (fs.existsSync("pids/2")) { clearInterval(timer); value(); } }, 10);
} else {
  ${stubborn ? 'process.on("SIGTERM", () => {});' : ""}
  fs.mkdirSync("pids", { recursive: true });
  fs.writeFileSync("pids/" + id, String(process.pid));
  // Held until stopped; gone after 2 minutes whatever happens, should arqon fail to stop it.
  setTimeout(() => process.exit(3), 120000);
}
`;
}

/** The pids the objective recorded in `dir/pids`, registered for the cleanup. */
function recordedPids(dir: string): number[] {
  const pids = readdirSync(join(dir, "pids")).map((name) =>
    Number(readFileSync(join(dir, "pids", name), "utf8")),
  );
  objectivePids.push(...pids);
  return pids;
}

/** Whether process `pid` still runs (signal 0 tests for it without sending anything). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("output to a closed pipe", () => {
  it(
    "status | true: the output is dropped, no stack trace, exit 141 as for SIGPIPE",
    async () => {
      const dir = await stateWithOnePendingTrial();
      const run = await runIntoClosedPipe(["status", "--state", "s.json"], dir);
      expect(run.stderr).toBe("");
      expect(run.status).toBe(141);
    },
    CHILD_TIMEOUT_MS,
  );

  it(
    "tell | true: the results are told and saved, the JSON dropped, exit 141",
    async () => {
      const dir = await stateWithOnePendingTrial();
      writeFileSync(join(dir, "r.json"), '[{"id":1,"value":0.5}]');
      const run = await runIntoClosedPipe(["tell", "--state", "s.json", "--results", "r.json"], dir);
      expect(lines(run.stderr)).toEqual([expect.stringMatching(/^told 1 result\(s\): /)]);
      expect(run.status).toBe(141);
      const saved = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
      expect(saved.told).toBe(1);
      expect(existsSync(join(dir, "s.json.lock"))).toBe(false);
    },
    CHILD_TIMEOUT_MS,
  );

  it(
    "dashboard 2>&1 | head -1: closes its server and exits 141 instead of serving on unseen",
    async () => {
      const run = await runIntoClosedPipe(["dashboard", "--demo", "--port", "0"], tempDir(), true);
      expect(run.status).toBe(141);
    },
    CHILD_TIMEOUT_MS,
  );

  it(
    "solve 2>&1 | head -1: stops its objectives, releases the lock, saves a state that resumes",
    async () => {
      const dir = tempDir();
      writeJson(dir, "c.json", CONFIG);
      // A saved run, so that the first line to the closed pipe is a trial's, with objectives running
      // (a new run's first is its "new run" note).
      writeJson(dir, "s.json", createSolver(CONFIG).toJSON());
      writeFileSync(join(dir, "objective.js"), objective(false));
      const command = ["--state", "s.json", "--concurrency", "2", "--", process.execPath, "objective.js"];

      const run = await runIntoClosedPipe(["solve", "--config", "c.json", ...command], dir, true);
      const pids = recordedPids(dir);
      expect(pids.length).toBeGreaterThan(0);
      for (const pid of pids) expect(isRunning(pid)).toBe(false);
      expect(run.status).toBe(141);
      expect(existsSync(join(dir, "s.json.lock"))).toBe(false);
      const saved = restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")));
      expect(saved.told).toBe(1);
      const pending = saved.pendingTrials().map((t) => t.id);
      expect(pending).toContain(2);

      writeFileSync(join(dir, "go"), "");
      const resumed = await runArqonInProcess(["solve", ...command], dir);
      expect(resumed.status).toBe(0);
      expect(resumed.stderr).toContain(`resuming: re-running ${pending.length} pending trial(s) first\n`);
      expect(JSON.parse(resumed.stdout)).toMatchObject({ failures: [], interrupted: false });
      expect(restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8"))).told).toBe(CONFIG.budget);
    },
    CHILD_TIMEOUT_MS,
  );

  it(
    "solve 2>&1 | head -1 with an objective that ignores SIGTERM: it is killed, none is left running",
    async () => {
      const dir = tempDir();
      writeJson(dir, "c.json", CONFIG);
      writeJson(dir, "s.json", createSolver(CONFIG).toJSON());
      writeFileSync(join(dir, "objective.js"), objective(true));
      const run = await runIntoClosedPipe(
        [
          "solve",
          "--config",
          "c.json",
          "--state",
          "s.json",
          "--concurrency",
          "2",
          "--",
          process.execPath,
          "objective.js",
        ],
        dir,
        true,
      );
      const pids = recordedPids(dir);
      expect(pids.length).toBeGreaterThan(0);
      for (const pid of pids) expect(isRunning(pid)).toBe(false);
      expect(run.status).toBe(141);
      expect(existsSync(join(dir, "s.json.lock"))).toBe(false);
      expect(
        restoreSolver(JSON.parse(readFileSync(join(dir, "s.json"), "utf8")))
          .pendingTrials()
          .map((t) => t.id),
      ).toContain(2);
    },
    CHILD_TIMEOUT_MS,
  );
});
