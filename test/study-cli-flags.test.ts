/**
 * `arqon solve --storage` flags for a shared study's waits: `--stall-ms` (off by default: a slow
 * study is not a stuck one) and `--timeout-ms` (how long Redis may take to answer).
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSharedStudy } from "../src/study/index.js";
import { lines, removeTempDirs, runArqonInProcess, tempDir } from "./support/cli-run.js";
import { watchRedisCommands } from "./support/redis-monitor.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";
import {
  simplexObjective as f,
  sharedSolveArgs,
  simplexConfig,
  simplexWorkDir,
} from "./support/simplex-study.js";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  removeTempDirs();
  await server.stop();
});

const CONFIG = simplexConfig(20);
const workDir = () => simplexWorkDir(CONFIG);

/** `arqon solve` of study `study` with `flags` before the `--`. */
const solve = (study: string, flags: readonly string[], storage = server.url) =>
  sharedSolveArgs(storage, study, flags);

describe("arqon solve --stall-ms and --timeout-ms", () => {
  it("refuses a value that is not a whole number >= 1, naming the flag (exit 2)", async () => {
    const dir = workDir();
    for (const flag of ["--stall-ms", "--timeout-ms"])
      for (const value of ["0", "1.5", "soon", "-1"]) {
        const run = await runArqonInProcess(solve("bad", [`${flag}=${value}`]), dir);
        expect(run.status, run.stderr).toBe(2);
        expect(run.stdout).toBe("");
        expect(lines(run.stderr)).toEqual([
          flag === "--stall-ms"
            ? `arqon solve: --stall-ms must be a whole number >= 1, got ${JSON.stringify(value)}`
            : `arqon solve: --timeout-ms must be a whole number in [1, 2147483647], got ${JSON.stringify(value)}`,
        ]);
      }
    // Longer than a Node timer can wait: ioredis would time out at once.
    const run = await runArqonInProcess(solve("bad", ["--timeout-ms", "2147483648"]), dir);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--timeout-ms must be a whole number in [1, 2147483647], got "2147483648"');
  });

  it("refuses them without --storage (exit 2)", async () => {
    const dir = workDir();
    for (const flag of ["--stall-ms", "--timeout-ms"]) {
      const args = ["solve", "--config", "c.json", flag, "500", "--", process.execPath, "objective.js"];
      const run = await runArqonInProcess(args, dir);
      expect(run.status, run.stderr).toBe(2);
      expect(lines(run.stderr)).toEqual([
        `arqon solve: ${flag} needs --storage (it applies to a shared study)`,
      ]);
    }
  });

  it("lists both in arqon solve --help", async () => {
    const run = await runArqonInProcess(["solve", "--help"], tempDir());
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("--stall-ms N");
    expect(run.stdout).toContain("--timeout-ms N");
  });

  it("--timeout-ms is how long Redis may take to answer", async () => {
    // Accepts the connection and never answers: a frozen Redis.
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((listening) => silent.listen(0, "127.0.0.1", listening));
    const port = (silent.address() as { port: number }).port;
    try {
      const url = `redis://127.0.0.1:${port}`;
      const run = await runArqonInProcess(solve("frozen", ["--timeout-ms", "200"], url), workDir());
      expect(run.status).toBe(1);
      expect(lines(run.stderr)).toEqual([
        `arqon solve: cannot reach Redis at ${url}: no reply within 200 ms`,
      ]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((closed) => silent.close(closed));
    }
  }, 15_000);

  it("without --stall-ms a worker waits for a slow study however long it does not move", async () => {
    // Another worker holds the point the simplex waits for, and takes its time over it.
    const slow = await openSharedStudy(CONFIG, { redis: server.url, study: "slow", worker: "slow" });
    let held: { id: number; params: Record<string, unknown> } | undefined;
    while (held === undefined) {
      const [trial] = (await slow.ask())!;
      if (slow.asked > 12) held = trial;
      else await slow.tell({ id: trial!.id, value: f(trial!.params) });
    }
    // Every command the worker sends to Redis from now on (the slow worker waits): its asks.
    const watch = await watchRedisCommands(server.url);
    const longWait = watch.seen(20);
    // The worker's clock: an hour passes every time it looks.
    let looks = 0;
    const now = () => ++looks * 3_600_000;
    const run = runArqonInProcess(solve("slow", []), workDir(), undefined, { now });
    // The worker asked again and again while the study did not move: the slow worker tells now.
    await Promise.race([longWait, run]);
    watch.close();
    await slow.tell({ id: held.id, value: f(held.params) });
    await slow.close();
    const { status, stdout, stderr } = await run;
    expect(status, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ stopped: false, pending: 0, evaluations: CONFIG.budget - 13 });
  }, 30_000);
});
