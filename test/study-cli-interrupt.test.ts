import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIo } from "../src/cli/io.js";
import { formatValue } from "../src/cli/progress.js";
import { runCli } from "../src/cli/run-cli.js";
import { SIGNAL_ECHO_MS } from "../src/cli/solve-interrupt.js";
import { lines, removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  removeTempDirs();
  await server.stop();
});

const CONFIG = { seed: 4, budget: 6, bounds: { x: { min: 0, max: 1 } } };
const CLEAR = "\r\u001b[2K";

/**
 * The objective: (x - 0.4)², except that trial 3 announces itself on stderr and then holds while
 * the file `hold` exists (polling it: the objective's own wait, not the test's).
 */
const OBJECTIVE = `
const fs = require("node:fs");
const value = () => console.log((Number(process.env.ARQON_X) - 0.4) ** 2);
if (process.env.ARQON_TRIAL_ID === "3" && fs.existsSync("hold")) {
  process.stderr.write("holding trial 3\\n");
  const timer = setInterval(() => {
    if (!fs.existsSync("hold")) { clearInterval(timer); value(); }
  }, 20);
} else value();
`;

/** `arqon solve` as one worker of `study`, with `extra` flags, running `objective.js`. */
function workerArgs(study: string, extra: readonly string[] = []): string[] {
  return [
    "solve",
    "--config",
    "c.json",
    "--storage",
    server.url,
    "--study",
    study,
    ...extra,
    "--",
    process.execPath,
    "objective.js",
  ];
}

/** A directory holding the config and the objective (trial 3 holding until `hold` is removed). */
function workDir(): string {
  const dir = tempDir();
  writeJson(dir, "c.json", CONFIG);
  writeFileSync(join(dir, "objective.js"), OBJECTIVE);
  writeFileSync(join(dir, "hold"), "");
  return dir;
}

/** The study's journal entries, as stored in Redis. */
async function journal(study: string): Promise<Record<string, unknown>[]> {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    return (await redis.lrange(`arqon:study:${study}:journal`, 0, -1)).map((e) => JSON.parse(e));
  } finally {
    redis.disconnect();
  }
}

/** An in-process CLI run whose output is watched as it comes and whose Ctrl-C the test presses. */
class WatchedRun {
  stdout = "";
  stderr = "";
  readonly status: Promise<number>;
  private handler: ((signal: "SIGINT") => void) | undefined;
  private skippedMs = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(args: readonly string[], cwd: string) {
    const io: CliIo = {
      stdout: (text) => {
        this.stdout += text;
      },
      stderr: (text) => {
        this.stderr += text;
        for (const wake of this.waiters.splice(0)) wake();
      },
      readStdin: async () => "",
      stdinIsTerminal: false,
      cwd,
      env: process.env,
      // Real time, moved on at each Ctrl-C so that it is a new one, never the echo of the last.
      now: () => performance.now() + this.skippedMs,
      onInterrupt: (handler) => {
        this.handler = handler;
        return () => {
          this.handler = undefined;
        };
      },
    };
    this.status = runCli(args, io);
  }

  /** Resolves once stderr contains `text` (the test's timeout bounds the wait). */
  async stderrContains(text: string): Promise<void> {
    while (!this.stderr.includes(text)) await new Promise<void>((wake) => this.waiters.push(wake));
  }

  /** Ctrl-C, as the process's SIGINT handler would deliver it. */
  interrupt(): void {
    expect(this.handler, "the worker listens for Ctrl-C").toBeDefined();
    this.skippedMs += SIGNAL_ECHO_MS;
    this.handler!("SIGINT");
  }
}

describe("arqon solve --storage: output", () => {
  it("--quiet prints only failed trials, errors and a new study's line, as without --storage", async () => {
    const dir = workDir();
    rmSync(join(dir, "hold"));
    writeFileSync(
      join(dir, "objective.js"),
      "if (process.env.ARQON_TRIAL_ID === '2') process.exit(1); console.log(Number(process.env.ARQON_X));",
    );
    const run = await runArqonInProcess(workerArgs("quiet", ["--quiet", "--on-error", "skip"]), dir);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 5, pending: 0, interrupted: false });
    expect(lines(run.stderr)).toEqual([
      "new study quiet: begun by this worker (budget 6)",
      "trial 2 failed: exit code 1",
    ]);
  }, 60_000);

  it("prints the same per-trial lines as a local run, and one updating line on a terminal", async () => {
    const dir = workDir();
    rmSync(join(dir, "hold"));
    const plain = await runArqonInProcess(workerArgs("plain"), dir);
    expect(plain.status, plain.stderr).toBe(0);
    const trialLines = lines(plain.stderr).filter((line) => line.startsWith("trial "));
    expect(trialLines).toHaveLength(6);
    // As local solve's lines, but study-wide counts and no phase (the study is shared).
    expect(trialLines.at(-1)).toMatch(
      /^trial \d+: \S+ \(6\/6 asked, 6 told, best \S+; elapsed \S+, ETA \S+\)$/,
    );

    const clock = { t: 0 };
    const terminal = await runArqonInProcess(workerArgs("terminal"), dir, undefined, {
      stderrIsTerminal: true,
      now: () => (clock.t += 500),
    });
    expect(terminal.status, terminal.stderr).toBe(0);
    const best = JSON.parse(terminal.stdout).best;
    expect(terminal.stderr).toContain(`${CLEAR}trial 6/6 · best ${formatValue(best.value)} · elapsed `);
    expect(terminal.stderr).not.toMatch(/^trial \d+: /m);
  }, 60_000);
});

describe("Ctrl-C during arqon solve --storage", () => {
  it("stops asking, lets the running trial finish and tells it, prints the JSON and summary, exits 130", async () => {
    const dir = workDir();
    const run = new WatchedRun(workerArgs("first"), dir);
    try {
      await run.stderrContains("holding trial 3\n");
      run.interrupt();
      await run.stderrContains(
        "interrupted: no new trials; waiting for 1 running trial(s) (Ctrl-C again aborts them)\n",
      );
    } finally {
      rmSync(join(dir, "hold"), { force: true });
    }
    expect(await run.status).toBe(130);
    const out = JSON.parse(run.stdout);
    expect(out).toMatchObject({
      evaluations: 3,
      failures: [],
      stopped: true,
      interrupted: true,
      pending: 0,
    });
    expect(lines(run.stderr).at(-1)).toBe(
      `arqon solve: interrupted after 3 of 6 trials (3 in this run); best ${formatValue(out.best.value)} at ` +
        `x=${formatValue(out.best.params.x)}; study first keeps every result: run the same command ` +
        "again to join it and go on",
    );
    expect((await journal("first")).map((e) => e.op)).toEqual([
      "create",
      "ask",
      "tell",
      "ask",
      "tell",
      "ask",
      "tell",
    ]);

    // The same command joins the study again and spends the rest of the budget.
    const again = await runArqonInProcess(workerArgs("first"), dir);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ evaluations: 3, pending: 0, interrupted: false });
  }, 60_000);

  it("a second Ctrl-C aborts the running trial and marks it failed in the study, so no worker waits for it", async () => {
    const dir = workDir();
    const run = new WatchedRun(workerArgs("second", ["--on-error", "skip"]), dir);
    try {
      await run.stderrContains("holding trial 3\n");
      run.interrupt();
      await run.stderrContains("interrupted: no new trials");
      run.interrupt();
      expect(await run.status).toBe(130);
    } finally {
      rmSync(join(dir, "hold"), { force: true });
    }
    expect(run.stderr).toContain(
      "interrupted again: aborting 1 running trial(s); the study marks them failed (Ctrl-C again kills them)\n",
    );
    const out = JSON.parse(run.stdout);
    expect(out).toMatchObject({ evaluations: 2, failures: [], interrupted: true, pending: 0 });
    expect(lines(run.stderr).at(-1)).toMatch(
      /^arqon solve: interrupted after 3 of 6 trials \(2 in this run, 1 marked failed in the study\); best .*; study second keeps every result: run the same command again to join it and go on$/,
    );
    expect((await journal("second")).at(-1)).toMatchObject({
      op: "fail",
      id: 3,
      reason: "interrupted by Ctrl-C",
    });

    // Another worker finishes the study at once: nothing is left pending for it to wait on.
    const again = await runArqonInProcess(workerArgs("second"), dir);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ evaluations: 3, pending: 0 });
  }, 60_000);

  it("treats an objective killed by SIGINT as an interrupt: marked failed in the study, not a failure", async () => {
    const dir = workDir();
    writeFileSync(
      join(dir, "objective.js"),
      "if (process.env.ARQON_TRIAL_ID === '2') process.kill(process.pid, 'SIGINT'); else console.log(Number(process.env.ARQON_X));",
    );
    const run = await runArqonInProcess(workerArgs("sigint", ["--on-error", "skip"]), dir);
    expect(run.status).toBe(130);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 1, failures: [], interrupted: true });
    expect(lines(run.stderr).at(-1)).toMatch(
      /^arqon solve: interrupted after 2 of 6 trials \(1 in this run, 1 marked failed in the study\); best /,
    );
    expect((await journal("sigint")).at(-1)).toMatchObject({ op: "fail", id: 2 });
  }, 60_000);

  it("counts a failure the study recorded as run in this run, beside the told trials", async () => {
    const dir = workDir();
    // Trial 1 fails (recorded failed: it counts against the budget), 2 is told, 3 is interrupted.
    writeFileSync(
      join(dir, "objective.js"),
      "const id = process.env.ARQON_TRIAL_ID; if (id === '1') process.exit(1); " +
        "if (id === '3') process.kill(process.pid, 'SIGINT'); else console.log(Number(process.env.ARQON_X));",
    );
    const run = await runArqonInProcess(workerArgs("counted", ["--on-error", "skip"]), dir);
    expect(run.status).toBe(130);
    const out = JSON.parse(run.stdout);
    expect(out).toMatchObject({ evaluations: 1, interrupted: true });
    expect(out.failures.map((f: { id: number }) => f.id)).toEqual([1]);
    expect(lines(run.stderr).at(-1)).toMatch(
      /^arqon solve: interrupted after 3 of 6 trials \(2 in this run, 1 marked failed in the study\); best /,
    );
  }, 60_000);
});
