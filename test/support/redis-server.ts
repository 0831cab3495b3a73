/**
 * Shared helper of the Redis tests: starts Debian's `redis-server` on 127.0.0.1 on a free port,
 * in a private temporary directory, and stops it.
 *
 * @remarks
 * Tests talk to a real server, never a mock. Each server gets its own data directory, so AOF
 * durability can be tested by stopping a server and starting another on the same directory
 * (`restart`). Readiness is read from the server's own log line, not waited for with a sleep.
 * Set `ARQON_REDIS_SERVER` to use another binary.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { REDIS_SERVER_PATH } from "./external-tools.js";

/** Options of {@link startRedis}. */
export interface RedisServerOptions {
  /** Turns on the append-only file with `appendfsync always` (for durability tests). Default off. */
  readonly appendOnly?: boolean;
  /** Reuses a data directory left by an earlier server (to restart on the same data). */
  readonly dir?: string;
  /** Reuses a port (to restart where clients will reconnect). Default: a free port. */
  readonly port?: number;
}

/** A running server. `stop()` ends it (SIGTERM, then SIGKILL after 5 s); `kill()` ends it at once. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /**
   * The server's data directory: one of its own (removed by `stop()` unless `keepData`, also after
   * `kill()` or a `restart()`), or the one given as `options.dir` (never removed).
   */
  readonly dir: string;
  stop(options?: { keepData?: boolean }): Promise<void>;
  /** SIGKILL: a crash, data kept for a restart. */
  kill(): Promise<void>;
  /** Stops this server keeping its data and starts a new one on the same port and directory. */
  restart(): Promise<RedisServer>;
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const READY = "Ready to accept connections";

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Starts a server and resolves once it accepts connections (rejects with its log if it exits). */
export function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  return start(options, options.dir === undefined);
}

/**
 * {@link startRedis}; `ownsDir`: whether this server's `stop()` removes its data directory (one
 * this helper created, handed on by `restart()`; never a directory the caller gave).
 */
async function start(options: RedisServerOptions, ownsDir: boolean): Promise<RedisServer> {
  const created = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "arqon-redis-"));
  const port = options.port ?? (await freePort());
  const args = [
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--dir",
    dir,
    "--save",
    "",
    "--protected-mode",
    "yes",
    "--appendonly",
    options.appendOnly ? "yes" : "no",
    ...(options.appendOnly ? ["--appendfsync", "always"] : []),
  ];
  const child = spawn(REDIS_SERVER_PATH, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const removeDir = () => {
    if (ownsDir) rmSync(dir, { recursive: true, force: true });
  };
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes(READY)) {
        child.stdout?.off("data", onData);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${log}`)),
    );
  }).catch((error: unknown) => {
    // Only a directory this call made: a failed restart keeps the data it was to start on.
    if (created) rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  // Keep draining its output so a chatty server never blocks on a full pipe.
  child.stdout?.resume();

  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async stop({ keepData = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited(child);
        clearTimeout(timer);
      }
      if (!keepData) removeDir();
    },
    async kill() {
      child.kill("SIGKILL");
      await exited(child);
    },
    async restart() {
      await server.stop({ keepData: true });
      return start({ ...options, dir, port }, ownsDir);
    },
  };
  return server;
}

/**
 * A server and an admin client for the tests of one file: started before them, stopped after.
 * Call it at the file's top level; read `server` and `admin` inside the tests.
 */
export function redisForFile(): { readonly server: RedisServer; readonly admin: Redis } {
  let server: RedisServer | undefined;
  let admin: Redis | undefined;
  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });
  return {
    get server() {
      return server!;
    },
    get admin() {
      return admin!;
    },
  };
}
