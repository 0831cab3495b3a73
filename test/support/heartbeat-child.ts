/**
 * A worker process with a heartbeat (test/study-heartbeat.test.ts). Modes:
 * - "die": asks one trial, prints its id as a JSON line, and dies at once without a word to Redis
 *   (SIGKILL, as an out-of-memory kill would);
 * - "block": asks one trial, prints its id, holds its event loop for `holdMs` (a synchronous
 *   objective), tells the trial's value and prints "told";
 * - "loop": runs `runSharedStudy`, printing each trial's id as its evaluation starts (each takes
 *   `holdMs`), then its result as the last JSON line;
 * - "leave": on a client of its own, asks one trial, prints its id, disconnects the client and
 *   ends its script without closing the study: the process must then exit by itself;
 * - "slow-start": with a `timeoutMs` of 300, asks one trial while its event loop is held for
 *   `holdMs` from 50 ms on (a busy host starting the heartbeat thread), then tells it as "block"
 *   does.
 *
 * Usage: heartbeat-child.ts <redis-url> <study> <config-json> <die|block|loop|leave|slow-start> <heartbeat-ms> [hold-ms]
 */
import { setTimeout as delay } from "node:timers/promises";
import { Redis } from "ioredis";
import { openSharedStudy, runSharedStudy } from "../../src/study/index.js";

const [url, name, configJson, mode, heartbeatMs, holdMs] = process.argv.slice(2);
const client = mode === "leave" ? new Redis(url!) : undefined;
const study = await openSharedStudy(JSON.parse(configJson!), {
  redis: client ?? url!,
  study: name!,
  worker: `child-${mode}`,
  heartbeatMs: Number(heartbeatMs),
  ...(mode === "slow-start" && { timeoutMs: 300 }),
});
/** Holds this thread, as a long synchronous evaluation would, without spinning a core. */
const hold = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
if (client !== undefined) {
  const [trial] = (await study.ask())!;
  process.stdout.write(`${JSON.stringify({ id: trial!.id })}\n`);
  client.disconnect();
} else if (mode === "loop") {
  const result = await runSharedStudy(
    study,
    async (params, trial) => {
      process.stdout.write(`${JSON.stringify({ id: trial.id })}\n`);
      await delay(Number(holdMs));
      return Object.values(params).reduce((sum: number, x) => sum + (x as number) ** 2, 0);
    },
    { pollMs: 2, settleMs: 0 },
  );
  await study.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  // By then the ask has read the journal and is starting the heartbeat's thread. Held from the
  // check phase, so that the loop's next turn reads the clock anew: its timers due during the
  // hold fire before the thread's messages are read, as on a host busy elsewhere.
  if (mode === "slow-start") setTimeout(() => setImmediate(() => hold(Number(holdMs))), 50);
  const [trial] = (await study.ask())!;
  process.stdout.write(`${JSON.stringify({ id: trial!.id })}\n`);
  if (mode === "die") process.kill(process.pid, "SIGKILL");
  if (mode !== "slow-start") hold(Number(holdMs));
  await study.tell({ id: trial!.id, value: 1 });
  await study.close();
  process.stdout.write("told\n");
}
