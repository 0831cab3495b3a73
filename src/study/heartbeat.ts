/**
 * A shared-study worker's heartbeat: a key in Redis that stays alive while the worker's process
 * does, refreshed from a thread of its own.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Redis } from "ioredis";
import { MAX_TIMER_MS } from "../../machines/timer-limit.js";

/** A beat key lives this many beat intervals: two beats may be lost before the worker looks dead. */
export const GRACE_BEATS = 3;

/** Shortest beat interval a study takes (ms). */
export const MIN_HEARTBEAT_MS = 10;

/** Longest beat interval (ms): its grace must be a timer Node keeps. */
export const MAX_HEARTBEAT_MS = Math.floor(MAX_TIMER_MS / GRACE_BEATS);

/**
 * The thread's code, run as a CommonJS script (`eval`): a file of its own would have to be found
 * beside this module from the sources, the compiled modules and the CLI bundle alike.
 *
 * Why a thread: beats sent from the host's event loop would stop during a synchronous objective
 * (a simulation, a model fit), and the worker would be judged dead while it evaluates. The thread
 * stops only with the process. It beats on its own connection, `SET key worker PX grace`, so the key
 * expires by Redis's clock `grace` ms after the last beat; a beat waits for the one before it.
 */
const BEAT_THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const { Redis } = require(workerData.ioredis);
const { connection, key, worker, beatMs, graceMs } = workerData;
const settings = { lazyConnect: false, enableOfflineQueue: true, maxRetriesPerRequest: 1, commandTimeout: graceMs };
const redis = typeof connection === "string" ? new Redis(connection, settings) : new Redis({ ...connection, ...settings });
redis.on("error", () => {});
let timer;
let stopped = false;
async function beat() {
  const started = Date.now();
  try {
    await redis.set(key, worker, "PX", graceMs);
    parentPort.postMessage({ beat: true });
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
  if (!stopped) timer = setTimeout(beat, Math.max(0, beatMs - (Date.now() - started)));
}
parentPort.on("message", async () => {
  stopped = true;
  clearTimeout(timer);
  try { await redis.del(key); } catch {}
  redis.disconnect();
  parentPort.close();
});
beat();
`;

/** Where the thread connects: a Redis URL, or the structured-clonable options of a client. */
export type BeatConnection = string | Record<string, unknown>;

/** The connection of a caller's client, as a thread can receive it (functions cannot cross). */
export function connectionOf(client: Redis): BeatConnection {
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(client.options)) {
    try {
      structuredClone(value);
      kept[name] = value;
    } catch {
      // retryStrategy and the like: the thread's connection keeps ioredis's defaults for them.
    }
  }
  return kept;
}

/** A running heartbeat. */
export class Heartbeat {
  private lastError: string | undefined;
  private stopping: Promise<void> | undefined;
  private readonly exited: Promise<void>;

  private constructor(private readonly thread: Worker) {
    thread.on("message", (message: { beat?: true; error?: string }) => {
      if (message.error !== undefined) this.lastError = message.error;
    });
    // Without a listener, an error in the thread would be thrown in the host's loop.
    thread.on("error", (error) => {
      this.lastError = error.message;
    });
    this.exited = new Promise((resolve) => thread.once("exit", () => resolve()));
  }

  /**
   * Starts beating `key` every `beatMs`, and resolves once the first beat reached Redis; rejects
   * when none has within `timeoutMs`, naming Redis's last error, and stops the thread. The thread
   * does not keep the process alive: a host that ends stops its beats, as a crash does.
   */
  static start(
    connection: BeatConnection,
    key: string,
    worker: string,
    beatMs: number,
    timeoutMs: number,
  ): Promise<Heartbeat> {
    const thread = new Worker(BEAT_THREAD, {
      eval: true,
      workerData: {
        ioredis: createRequire(import.meta.url).resolve("ioredis"),
        connection,
        key,
        worker,
        beatMs,
        graceMs: GRACE_BEATS * beatMs,
      },
    });
    thread.unref();
    const heartbeat = new Heartbeat(thread);
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        thread.off("message", first);
        void heartbeat.stop();
        reject(new Error(`could not start the heartbeat: ${why}`));
      };
      const timer =
        timeoutMs === Number.POSITIVE_INFINITY
          ? undefined
          : setTimeout(
              () =>
                fail(`no beat reached Redis within ${timeoutMs} ms (${heartbeat.lastError ?? "no reply"})`),
              timeoutMs,
            );
      const first = (message: { beat?: true }) => {
        if (message.beat !== true) return;
        clearTimeout(timer);
        thread.off("message", first);
        resolve(heartbeat);
      };
      thread.on("message", first);
      thread.once("error", (error) => fail(error.message));
    });
  }

  /**
   * Stops beating and deletes the key (best effort, bounded): the trials this worker still holds
   * are then judged stale by the others after the grace period. Never rejects.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const bound = setTimeout(() => void this.thread.terminate(), STOP_BOUND_MS);
      this.thread.postMessage("stop");
      await this.exited;
      clearTimeout(bound);
    })();
    return this.stopping;
  }
}

/** How long `stop` waits for the thread to delete its key before ending it. */
const STOP_BOUND_MS = 2000;
