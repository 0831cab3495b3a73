/**
 * `arqon solve --storage` keeps what it evaluated through a Redis outage: a result Redis refuses is
 * tried again until Redis is back; after the retry time it prints its JSON and names the values.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import type { CliIo } from "../src/cli/io.js";
import { type SharedSolveOptions, solveShared } from "../src/cli/solve-shared.js";
import { lines, removeTempDirs, tempDir, writeJson } from "./support/cli-run.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";

let server: RedisServer | undefined;
afterEach(async () => {
  removeTempDirs();
  await server?.stop();
  server = undefined;
});

/**
 * The objective: (x - 0.4)², written to `value-<id>` too; trials 3 and 4 announce themselves on
 * stderr and then hold while the file `hold` exists (the objective's own wait, not the test's).
 */
const OBJECTIVE = `
const fs = require("node:fs");
const id = process.env.ARQON_TRIAL_ID;
const value = () => {
  const v = (Number(process.env.ARQON_X) - 0.4) ** 2;
  fs.writeFileSync("value-" + id, String(v));
  console.log(v);
};
if ((id === "3" || id === "4") && fs.existsSync("hold")) {
  process.stderr.write("holding trial " + id + "\\n");
  const timer = setInterval(() => {
    if (!fs.existsSync("hold")) { clearInterval(timer); value(); }
  }, 20);
} else value();
`;

/** An in-process shared solve whose stderr the test watches as it comes. */
class WatchedSolve {
  stdout = "";
  stderr = "";
  readonly status: Promise<number>;
  private ended = false;
  private readonly waiters: Array<() => void> = [];

  constructor(
    readonly dir: string,
    options: Partial<SharedSolveOptions>,
  ) {
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
      cwd: dir,
      env: process.env,
    };
    const all: SharedSolveOptions = {
      storage: server!.url,
      study: "outage",
      configPath: "c.json",
      concurrency: 1,
      onError: "stop",
      quiet: false,
      ...options,
    };
    this.status = solveShared([process.execPath, "objective.js"], all, io);
    const ended = () => {
      this.ended = true;
      for (const wake of this.waiters.splice(0)) wake();
    };
    this.status.then(ended, ended);
  }

  /** Resolves once stderr contains `text`, or false once the solve ended without it. */
  async stderrContains(text: string): Promise<boolean> {
    for (;;) {
      if (this.stderr.includes(text)) return true;
      if (this.ended) return false;
      await new Promise<void>((wake) => this.waiters.push(wake));
    }
  }

  value(id: number): number {
    return Number(readFileSync(join(this.dir, `value-${id}`), "utf8"));
  }
}

function workDir(): string {
  const dir = tempDir();
  writeJson(dir, "c.json", { seed: 4, budget: 6, bounds: { x: { min: 0, max: 1 } } });
  writeFileSync(join(dir, "objective.js"), OBJECTIVE);
  writeFileSync(join(dir, "hold"), "");
  return dir;
}

async function journal(study: string): Promise<Record<string, unknown>[]> {
  const redis = new Redis(server!.url, { maxRetriesPerRequest: 1 });
  try {
    return (await redis.lrange(`arqon:study:${study}:journal`, 0, -1)).map((e) => JSON.parse(e));
  } finally {
    redis.disconnect();
  }
}

describe("arqon solve --storage during a Redis outage", () => {
  it("tries a refused tell again until Redis is back, and finishes the study", async () => {
    server = await startRedis({ appendOnly: true });
    const dir = workDir();
    const run = new WatchedSolve(dir, {});
    expect(await run.stderrContains("holding trial 3\n"), run.stderr).toBe(true);
    await server.kill();
    rmSync(join(dir, "hold"));
    const notice = "arqon solve: Redis failed to record trial 3 (";
    expect(await run.stderrContains(notice), run.stderr).toBe(true);
    expect(lines(run.stderr).find((line) => line.startsWith(notice))).toMatch(
      /\); trying again for up to 60 s$/,
    );
    server = await server.restart();
    expect(await run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 6, stopped: false, pending: 0 });
    const told = (await journal("outage"))
      .filter((e) => e.op === "tell")
      .flatMap((e) => e.results as { id: number; value: number }[]);
    expect(told.find((r) => r.id === 3)?.value).toBe(run.value(3));
    expect(told.map((r) => r.id).sort()).toEqual([1, 2, 3, 4, 5, 6]);
  }, 30_000);

  it("after the retry time prints its JSON, names every value it could not record, and exits 1", async () => {
    server = await startRedis();
    const dir = workDir();
    const run = new WatchedSolve(dir, { concurrency: 2, retryMs: 300 });
    expect(await run.stderrContains("holding trial 3\n"), run.stderr).toBe(true);
    expect(await run.stderrContains("holding trial 4\n"), run.stderr).toBe(true);
    await server.kill();
    rmSync(join(dir, "hold"));
    expect(await run.status, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      evaluations: 2,
      failures: [],
      stopped: true,
      interrupted: false,
      pending: 2,
    });
    const last = lines(run.stderr).at(-1)!;
    expect(last).toMatch(/^arqon solve: could not record trial [34] \(value /);
    expect(last).toContain(`trial 3 (value ${run.value(3)})`);
    expect(last).toContain(`trial 4 (value ${run.value(4)})`);
    expect(last).toContain("in study outage: Redis failed for 0.3 s (");
    expect(last).toMatch(
      /; the trials stay pending unless Redis wrote the last attempt: tell them again once Redis is back$/,
    );
  }, 30_000);
});
