/**
 * One coordinator: contends for the leader lease; while leading, tunes the fleet. Prints the fleet
 * view every second. Arguments: redis URL, coordinator id, seconds to run.
 */

import { createCoordinator } from "arqon/redis";
import { Redis } from "ioredis";
import { KEYRING, PARAMS, RUN_ID } from "./settings.js";

const [url, id, seconds] = process.argv.slice(2);
const redis = new Redis(url!, { maxRetriesPerRequest: 1 });
redis.on("error", () => undefined);
const coordinator = await createCoordinator({
  redis,
  id: id!,
  runId: RUN_ID,
  keyring: KEYRING,
  engine: { seed: 1, params: PARAMS, window: { digests: 100, ms: 2000 }, guardrails: "balanced" },
  leaseMs: 2000,
});
const report = setInterval(() => {
  const s = coordinator.snapshot();
  if (!s.leader) return;
  const fleet = Object.entries(s.fleet)
    .map(([replica, view]) => `${replica}@${view.generation}`)
    .join(" ");
  const bus = coordinator.busStats();
  console.log(
    `[${id}] leader epoch ${s.epoch}, generation ${s.generation}, batchSize ${s.engine?.values.batchSize?.toFixed(1)}; ` +
      `fleet ${fleet}; lagging ${s.lagging.length}; digests ${bus.digestsProcessed}; lag ${bus.lag}; dead letters ${bus.deadLetters}`,
  );
}, 1000);
setTimeout(async () => {
  clearInterval(report);
  await coordinator.close();
  redis.disconnect();
}, Number(seconds) * 1000);
