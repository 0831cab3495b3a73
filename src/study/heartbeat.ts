/**
 * A shared-study worker's heartbeat: a key in Redis whose value changes at every beat while the
 * worker's process lives, written from a thread of its own.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Redis } from "ioredis";
import { MAX_TIMER_MS } from "../../machines/timer-limit.js";
import { bounded } from "../runtime/within-ms.js";

/**
 * A worker is judged dead once its beat has not changed for this many beat intervals: two beats
 * may be lost (a slow Redis, a busy host) before a live worker is mistaken for a dead one.
 */
export const GRACE_BEATS = 3;

/**
 * A beat key outlives its last beat by this many grace periods, then Redis drops it: long enough
 * that a judge sees a dead worker's last value stay, short enough to leave nothing behind.
 */
const KEY_LIFE_GRACES = 10;

/** How long (ms) a beat key of a worker beating every `beatMs` lives after its last beat. */
export function beatKeyLifeMs(beatMs: number): number {
  return KEY_LIFE_GRACES * GRACE_BEATS * beatMs;
}

/**
 * Shortest beat interval a study takes (ms): below it, a live thread held up for three intervals
 * by a busy host would be judged dead.
 */
export const MIN_HEARTBEAT_MS = 100;

/**
 * Longest beat interval (ms): the thread's command timeout (three intervals) is a Node timer, and
 * the key's life (thirty) is kept under the same bound.
 */
export const MAX_HEARTBEAT_MS = Math.floor(MAX_TIMER_MS / (GRACE_BEATS * KEY_LIFE_GRACES));

/**
 * The thread's code, run as a CommonJS script (`eval`): a file of its own would have to be found
 * beside this module from the sources, the compiled modules and the CLI bundle alike.
 *
 * Why a thread: beats sent from the host's event loop would stop during a synchronous objective
 * (a simulation, a model fit), and the worker would be judged dead while it evaluates. The thread
 * stops only with the process. It writes, on its own connection, a value no earlier beat wrote
 * (its clock and a count), so a judge that reads the same value twice a grace period apart knows
 * that no beat came in between; a beat waits for the one before it.
 */
const BEAT_THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const { Redis } = require(workerData.ioredis);
const { connection, key, beatMs, lifeMs } = workerData;
// Back within half an interval of Redis's return: a judge that reconnected first must not read
// the last value twice before this thread writes a new one.
const settings = {
  lazyConnect: false,
  enableOfflineQueue: true,
  maxRetriesPerRequest: 1,
  commandTimeout: beatMs * 3,
  // A frozen Redis never closes its side: the thread ends without ioredis's 2 s wait for it.
  disconnectTimeout: 200,
  retryStrategy: (times) => Math.min(times * 50, beatMs / 2),
};
const redis = typeof connection === "string" ? new Redis(connection, settings) : new Redis({ ...connection, ...settings });
let lastError;
redis.on("error", (error) => { lastError = error.message; });
let timer;
let stopped = false;
let count = 0;
async function beat() {
  const started = Date.now();
  try {
    await redis.set(key, started + ":" + count++, "PX", lifeMs);
    parentPort.postMessage({ beat: true });
  } catch (error) {
    const said = String((error && error.message) || error);
    parentPort.postMessage({ error: lastError === undefined || lastError === said ? said : said + " (" + lastError + ")" });
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
// The thread is up and its connection under way: the host's wait for a beat, bounded as a Redis reply
// is, starts now (loading ioredis on a busy host is no reply of Redis's).
parentPort.postMessage({ ready: true });
beat();
`;

/** Where the thread connects: a Redis URL, or the options of a client, as a thread receives them. */
export type BeatConnection = string | Record<string, unknown>;

/**
 * The options of a caller's client, as a thread can receive them: functions (`retryStrategy`,
 * TLS's `checkServerIdentity`) cannot cross, so they are left out wherever they sit, and the
 * thread's connection keeps ioredis's defaults for them.
 */
export function connectionOf(client: Redis): BeatConnection {
  return withoutFunctions(client.options) as Record<string, unknown>;
}

function withoutFunctions(value: unknown): unknown {
  if (typeof value === "function") return undefined;
  if (Array.isArray(value)) return value.map(withoutFunctions);
  if (value === null || typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype) {
    // Buffers (a TLS certificate), dates and the like cross as they are; other objects not at all.
    try {
      return structuredClone(value);
    } catch {
      return undefined;
    }
  }
  const kept: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    const copy = withoutFunctions(field);
    if (copy !== undefined) kept[name] = copy;
  }
  return kept;
}

/** A running heartbeat. */
export class Heartbeat {
  private lastError: string | undefined;
  private stopping: Promise<void> | undefined;
  private ended = false;
  private readonly exited: Promise<void>;
  private readonly ready: Promise<void>;
  private readonly firstBeat: Promise<void>;

  private constructor(private readonly thread: Worker) {
    let started: () => void = () => {};
    let beat: () => void = () => {};
    let failStart: (error: Error) => void = () => {};
    let failBeat: (error: Error) => void = () => {};
    this.ready = new Promise((resolve, reject) => {
      started = resolve;
      failStart = reject;
    });
    this.firstBeat = new Promise((resolve, reject) => {
      beat = resolve;
      failBeat = reject;
    });
    // Awaited by start(), which may give up before the second: neither may go unhandled.
    this.ready.catch(() => {});
    this.firstBeat.catch(() => {});
    const failed = (error: Error) => {
      failStart(error);
      failBeat(error);
    };
    // Every listener is added before unref(): adding one after would make the thread keep the
    // process alive again.
    thread.on("message", (message: { ready?: true; beat?: true; error?: string }) => {
      if (message.ready === true) started();
      else if (message.error !== undefined) this.lastError = message.error;
      else beat();
    });
    // Without a listener, an error in the thread would be thrown in the host's loop.
    thread.on("error", (error) => {
      this.lastError = error.message;
      failed(error);
    });
    this.exited = new Promise((resolve) =>
      thread.once("exit", () => {
        this.ended = true;
        failed(new Error(`the heartbeat thread ended (${this.lastError ?? "no error"})`));
        resolve();
      }),
    );
    thread.unref();
  }

  /**
   * Starts beating `key` every `beatMs`, and resolves once the first beat reached Redis; rejects
   * when none has within `timeoutMs` of the thread's start (which may take up to
   * {@link THREAD_START_MS} on a busy host, and is no wait for Redis), naming Redis's last error,
   * and stops the thread. The thread does not keep the process alive: a host that ends stops its
   * beats, as a crash does.
   */
  static async start(
    connection: BeatConnection,
    key: string,
    beatMs: number,
    timeoutMs: number,
  ): Promise<Heartbeat> {
    const heartbeat = new Heartbeat(
      new Worker(BEAT_THREAD, {
        eval: true,
        workerData: {
          ioredis: createRequire(import.meta.url).resolve("ioredis"),
          connection,
          key,
          beatMs,
          lifeMs: beatKeyLifeMs(beatMs),
        },
      }),
    );
    try {
      await bounded(
        heartbeat.ready,
        THREAD_START_MS,
        () => `the thread did not start within ${THREAD_START_MS} ms`,
      );
      await bounded(
        heartbeat.firstBeat,
        timeoutMs,
        () => `no beat reached Redis within ${timeoutMs} ms (${heartbeat.lastError ?? "no reply"})`,
      );
      return heartbeat;
    } catch (error) {
      await heartbeat.stop();
      throw new Error(`could not start the heartbeat: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Whether the thread still runs (it may have died of an error: the next ask starts another). */
  get running(): boolean {
    return !this.ended && this.stopping === undefined;
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

/** How long a heartbeat thread may take to start (load ioredis, open its connection). */
const THREAD_START_MS = 30_000;

/** How long `stop` waits for the thread to delete its key before ending it. */
const STOP_BOUND_MS = 2000;
