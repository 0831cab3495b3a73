/**
 * A shared study on a connection of its own gives up on a Redis that stops answering (a frozen
 * host, a partition) after `timeoutMs`: opening, ask, tell and close reject or end instead of
 * waiting forever. The test freezes a redis-server it started with SIGSTOP.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { UsageError } from "../src/errors.js";
import { openSharedStudy } from "../src/study/index.js";
import { lines, removeTempDirs, runArqonInProcess, tempDir } from "./support/cli-run.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";

let server: RedisServer;
let pid: number;
beforeAll(async () => {
  server = await startRedis();
  const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  pid = Number(/process_id:(\d+)/.exec(await admin.info("server"))![1]);
  admin.disconnect();
});
afterAll(async () => {
  removeTempDirs();
  await server.stop();
});

const config = { seed: 1, budget: 20, bounds: { x: { min: 0, max: 1 } } };
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const STUDY_MODULE = pathToFileURL(fileURLToPath(new URL("../src/study/index.ts", import.meta.url))).href;

/** Runs `body` while the server is stopped (SIGSTOP), resuming it afterwards whatever happens. */
async function whileFrozen<T>(body: () => Promise<T>): Promise<T> {
  process.kill(pid, "SIGSTOP");
  try {
    return await body();
  } finally {
    process.kill(pid, "SIGCONT");
  }
}

describe("a shared study whose Redis goes away", () => {
  it("names the study, the URL and the connection's error, and prints nothing of ioredis's", async () => {
    const gone = await startRedis();
    const printed = vi.spyOn(console, "error");
    try {
      const study = await openSharedStudy(config, { redis: gone.url, study: "gone", timeoutMs: 2000 });
      await study.ask();
      await gone.stop();
      const url = gone.url.replace(/[.]/g, "\\.");
      // Before: "Reached the max retries per request limit (which is 3)", and a dozen
      // "[ioredis] Unhandled error event" traces on stderr.
      await expect(study.ask()).rejects.toThrow(
        new RegExp(`^study gone: cannot reach Redis at ${url}: connect ECONNREFUSED`),
      );
      await study.close();
      expect(printed.mock.calls.filter((call) => String(call[0]).includes("[ioredis]"))).toEqual([]);
    } finally {
      printed.mockRestore();
      await gone.stop();
    }
  }, 20_000);
});

describe("a shared study when Redis stops answering", () => {
  it("rejects ask and tell after timeoutMs, naming the study and the URL, and closes", async () => {
    const study = await openSharedStudy(config, { redis: server.url, study: "frozen", timeoutMs: 200 });
    const [trial] = (await study.ask())!;
    const url = server.url.replace(/[.]/g, "\\.");
    const noReply = new RegExp(`^study frozen: no reply from Redis at ${url} within 200 ms`);
    await whileFrozen(async () => {
      await expect(study.tell({ id: trial!.id, value: 1 })).rejects.toThrow(noReply);
      await expect(study.ask()).rejects.toThrow(noReply);
      await study.close();
    });
  }, 10_000);

  it("rejects opening a study on a frozen Redis after timeoutMs", async () => {
    const failure = await whileFrozen(() =>
      openSharedStudy(config, { redis: server.url, study: "frozen-open", timeoutMs: 200 }).then(
        () => undefined,
        (error: unknown) => error as Error,
      ),
    );
    expect(failure?.message).toBe(`cannot reach Redis at ${server.url}: no reply within 200 ms`);
  }, 10_000);

  it("lets the process end soon after it gave up: no ioredis timer of seconds holds it", async () => {
    // A child that opens a study on the frozen Redis, says when it was refused, and ends its script.
    const script =
      `import { openSharedStudy } from ${JSON.stringify(STUDY_MODULE)};` +
      `await openSharedStudy(${JSON.stringify(config)}, { redis: ${JSON.stringify(server.url)}, study: "linger", timeoutMs: 300 })` +
      `.catch((error) => console.log("refused: " + error.message));`;
    const { refusedAt, exitedAt, out } = await whileFrozen(
      () =>
        new Promise<{ refusedAt: number; exitedAt: number; out: string }>((resolve) => {
          const child = spawn(process.execPath, ["--import", TSX, "--input-type=module", "-e", script], {
            stdio: ["ignore", "pipe", "inherit"],
          });
          let out = "";
          let refusedAt = Number.NaN;
          child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
            out += chunk;
            if (out.includes("refused: ") && Number.isNaN(refusedAt)) refusedAt = performance.now();
          });
          child.once("exit", () => resolve({ refusedAt, exitedAt: performance.now(), out }));
        }),
    );
    expect(out).toContain(`refused: cannot reach Redis at ${server.url}: no reply within 300 ms`);
    // ioredis waits 2 s by default for a closed connection's peer to close its side, which a frozen
    // Redis never does: the process lingered that long (the connection now waits 0.2 s).
    expect(exitedAt - refusedAt).toBeLessThan(1500);
  }, 20_000);

  it("arqon status, ask, tell and report --storage take --timeout-ms too", async () => {
    const existing = await openSharedStudy(config, { redis: server.url, study: "cli-frozen" });
    await existing.close();
    const dir = tempDir();
    const at = ["--storage", server.url, "--study", "cli-frozen"];
    const status = await whileFrozen(() => runArqonInProcess(["status", ...at, "--timeout-ms", "300"], dir));
    expect(status.status).toBe(1);
    expect(lines(status.stderr).at(-1)).toBe(
      `arqon status: cannot reach Redis at ${server.url}: no reply within 300 ms`,
    );
    for (const command of ["status", "ask", "tell", "report"]) {
      const bad = await runArqonInProcess([command, ...at, "--timeout-ms", "0"], dir);
      expect(bad.status).toBe(2);
      expect(lines(bad.stderr).at(-1)).toBe(
        `arqon ${command}: --timeout-ms must be a whole number in [1, 2147483647], got "0"`,
      );
      const alone = await runArqonInProcess([command, "--state", "s.json", "--timeout-ms", "100"], dir);
      expect(alone.status).toBe(2);
      expect(lines(alone.stderr).at(-1)).toBe(
        `arqon ${command}: --timeout-ms needs --storage (it applies to a shared study)`,
      );
    }
  }, 20_000);

  it("refuses a timeoutMs that is not a positive number, or one given with a client", async () => {
    // Node runs a longer timer at once: every command would time out.
    for (const timeoutMs of [0, -1, Number.NaN, 2 ** 31, Number.MAX_SAFE_INTEGER, "5" as never]) {
      await expect(
        openSharedStudy(config, { redis: server.url, study: "bad-timeout", timeoutMs }),
      ).rejects.toThrow(
        `timeoutMs: must be a number > 0 and at most 2147483647 (the longest timer Node keeps), or Infinity for no timeout, got ${String(timeoutMs)}`,
      );
    }
    const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
    try {
      await expect(
        openSharedStudy(config, { redis: client, study: "bad-timeout", timeoutMs: 500 }),
      ).rejects.toThrow(UsageError);
    } finally {
      client.disconnect();
    }
  });

  it("runs with the longest timeout Node keeps, and with Infinity for none", async () => {
    for (const timeoutMs of [2 ** 31 - 1, Number.POSITIVE_INFINITY]) {
      const study = await openSharedStudy(config, {
        redis: server.url,
        study: `long-${timeoutMs}`,
        timeoutMs,
      });
      const [trial] = (await study.ask())!;
      await study.tell({ id: trial!.id, value: 1 });
      expect(study.told).toBe(1);
      await study.close();
    }
  });
});
