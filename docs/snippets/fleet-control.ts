import { createCoordinator, type Keyring } from "arqon/redis";
import { Redis } from "ioredis";

const keyring: Keyring = {
  active: "k1",
  keys: [{ id: "k1", secret: Buffer.from(process.env.ARQON_FLEET_KEY ?? "", "base64") }],
};
const params = { batchSize: { min: 1, max: 256, init: 16, maxDelta: 8 } };
const coordinator = await createCoordinator({
  redis: new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379").on("error", () => {}),
  runId: "checkout",
  keyring,
  engine: { seed: 1, params },
  // Params refused, a command Redis refused, a failed promotion: what an operator must hear of.
  onError: (error) => console.error("fleet:", error),
});

// The engine tuning the fleet: only on the leader (undefined on a standby: ask the leader,
// snapshot().leaderId). What it applies reaches every replica as a signed command.
const engine = coordinator.tuningEngine;
if (engine !== undefined) {
  engine.halt("incident 4711: hold the fleet where it is"); // stored: every next leader starts halted
  engine.resetSafeMode({ acknowledge: "alice: incident 4711 closed" }); // clears the stored halt
  engine.setBaseline(); // the live values become the fleet's baseline (stored)
  engine.rollback("back to the baseline"); // a new generation, walked to by every replica
}
const { baseline, engineHasFleetBaseline, paramsMismatch, publishFailures } = coordinator.snapshot();
console.log(baseline, engineHasFleetBaseline, paramsMismatch, publishFailures);
