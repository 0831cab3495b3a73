/**
 * A coordinator in a process of its own, for the failover drill (the test kills it with SIGKILL).
 * Arguments: redis URL, coordinator id, lease ms. Prints one JSON line whenever its leadership,
 * epoch or generation changes.
 */
import { Redis } from "ioredis";
import { createCoordinator } from "../../src/fleet/coordinator.js";
import { FLEET_ENGINE, FLEET_RING } from "./fleet.js";

const [url, id, leaseMs] = process.argv.slice(2);
const redis = new Redis(url!, { maxRetriesPerRequest: 1 });
const coordinator = await createCoordinator({
  redis,
  id: id!,
  runId: "run",
  keyring: FLEET_RING,
  engine: FLEET_ENGINE,
  leaseMs: Number(leaseMs),
  telemetry: { blockMs: 50 },
});
let last = "";
setInterval(() => {
  const { leader, epoch, generation } = coordinator.snapshot();
  const line = JSON.stringify({ leader, epoch, generation });
  if (line !== last) {
    last = line;
    process.stdout.write(`${line}\n`);
  }
}, 10);
