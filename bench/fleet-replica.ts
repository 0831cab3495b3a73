/**
 * One replica process of the fleet benchmark (a helper, not a benchmark): publishes `rate`
 * digests per second for `durationMs`, prints one JSON line per apply ({ g, at }), then its
 * status, and exits. Arguments: redis URL, replica id, rate, duration ms.
 */
import { Redis } from "ioredis";
import { createReplica } from "../src/fleet/replica.js";
import { FLEET_BENCH_PARAMS, FLEET_BENCH_RING } from "./fleet-setup.js";

const [url, id, rateText, durationText] = process.argv.slice(2);
const rate = Number(rateText);
const redis = new Redis(url!, { maxRetriesPerRequest: 1 });
const replica = await createReplica({
  redis,
  replica: id!,
  runId: "bench",
  keyring: FLEET_BENCH_RING,
  params: FLEET_BENCH_PARAMS,
  guardrails: "balanced",
  onApply: (_values, generation) =>
    process.stdout.write(`${JSON.stringify({ g: generation, at: Date.now() })}\n`),
});
// Publish in 10 ms ticks, catching up on the count due so far so timer jitter does not lower the rate.
const start = Date.now();
let sent = 0;
const timer = setInterval(() => {
  const due = Math.floor(((Date.now() - start) * rate) / 1000);
  const x = replica.values[0]!;
  while (sent < due) {
    replica.publish(((x - 300) / 100) ** 2 + 0.01 * ((sent % 7) - 3));
    sent++;
  }
}, 10);
setTimeout(async () => {
  clearInterval(timer);
  await replica.close();
  process.stdout.write(`${JSON.stringify({ status: replica.status() })}\n`);
  redis.disconnect();
}, Number(durationText));
