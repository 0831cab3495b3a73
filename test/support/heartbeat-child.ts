/**
 * A worker process with a heartbeat (test/study-heartbeat.test.ts): opens the study, asks one
 * trial and prints its id as a JSON line, then either dies at once without a word to Redis
 * ("die": SIGKILL, as an out-of-memory kill would), or holds its event loop for `holdMs`
 * ("block": a synchronous objective), tells the trial's value and prints "told".
 *
 * Usage: heartbeat-child.ts <redis-url> <study> <config-json> <die|block> <heartbeat-ms> [hold-ms]
 */
import { openSharedStudy } from "../../src/study/index.js";

const [url, name, configJson, mode, heartbeatMs, holdMs] = process.argv.slice(2);
const study = await openSharedStudy(JSON.parse(configJson!), {
  redis: url!,
  study: name!,
  worker: `child-${mode}`,
  heartbeatMs: Number(heartbeatMs),
});
const [trial] = (await study.ask())!;
process.stdout.write(`${JSON.stringify({ id: trial!.id })}\n`);
if (mode === "die") process.kill(process.pid, "SIGKILL");
// Blocks this thread as a long synchronous evaluation would, without spinning a core.
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(holdMs));
await study.tell({ id: trial!.id, value: 1 });
await study.close();
process.stdout.write("told\n");
