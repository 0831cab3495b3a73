/**
 * One coordinator: contends for the leader lease; while leading, tunes the fleet. Serves a
 * dashboard with the Fleet panel (its URL is printed) and prints the fleet view every second.
 * Arguments: redis URL, coordinator id, seconds to run.
 */

import { serveDashboard } from "arqon/node";
import { createCoordinator } from "arqon/redis";
import { Redis } from "ioredis";
import { KEYRING, PARAMS, RUN_ID, STALE_AFTER_MS } from "./settings.js";

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
  // Re-sign every 2 s: each replica listening reports at least that often, so one silent for
  // STALE_AFTER_MS is shown as stale.
  refreshMs: 2000,
});
// A standby's dashboard shows the fleet as read from Redis, and becomes the leader's at takeover.
const dashboard = await serveDashboard({
  fleet: coordinator,
  staleAfterMs: STALE_AFTER_MS,
  units: { objective: "ms", params: { batchSize: "requests" } },
});
console.log(`[${id}] dashboard: ${dashboard.url}#token=${dashboard.token}`);
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
  await dashboard.close();
  await coordinator.close();
  redis.disconnect();
}, Number(seconds) * 1000);
