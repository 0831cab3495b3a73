/**
 * One replica of the small service: serves simulated requests with its live batch size, reports
 * their latency to the fleet (batched, off the request path) and applies the coordinator's signed
 * commands through its own Tier 1. Arguments: redis URL, replica id, seconds to run.
 */

import { createReplica } from "arqon/redis";
import { Redis } from "ioredis";
import { KEYRING, latencyMs, PARAMS, RUN_ID } from "./settings.js";

const [url, id, seconds] = process.argv.slice(2);
const redis = new Redis(url!, { maxRetriesPerRequest: 1 });
redis.on("error", () => undefined); // the replica counts bus failures itself
const replica = await createReplica({
  redis,
  replica: id!,
  runId: RUN_ID,
  keyring: KEYRING,
  params: PARAMS,
  guardrails: "balanced",
  onRejected: (r) => console.log(`[${id}] refused a command: ${r.reason} (${r.detail})`),
});
// "Serve" a request every 5 ms; its latency is the objective. The jitter is a fixed pattern, so
// runs repeat.
let served = 0;
const serving = setInterval(() => {
  served++;
  replica.publish(latencyMs(replica.values[0]!, ((served * 7919) % 100) / 500));
}, 5);
setTimeout(async () => {
  clearInterval(serving);
  await replica.close();
  redis.disconnect();
}, Number(seconds) * 1000);
