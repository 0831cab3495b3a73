/** What every process of the fleet example shares: the key, the run, the knob and the service model. */
import type { EngineConfig } from "arqon";
import type { Keyring } from "arqon/redis";

/**
 * The shared HMAC key. A real deployment reads it from a secret store (for example
 * `Buffer.from(process.env.ARQON_FLEET_KEY, "base64")`); the example derives a fixed one.
 */
export const KEYRING: Keyring = {
  active: "example-1",
  keys: [{ id: "example-1", secret: new Uint8Array(32).fill(3) }],
};

export const RUN_ID = "fleet-example";

/** The dashboards mark a replica silent for this long as stale (three of the leader's 2 s re-signs). */
export const STALE_AFTER_MS = 6000;

/** The knob every replica exposes: how many requests a worker batches together. */
export const PARAMS: EngineConfig["params"] = { batchSize: { min: 1, max: 256, init: 16, maxDelta: 8 } };

/**
 * The small service's cost model: per-request latency (ms) at a batch size. Small batches pay a
 * fixed overhead per call, large ones wait for the batch to fill; the best size is about 96.
 */
export function latencyMs(batchSize: number, jitter: number): number {
  return 2 + 180 / batchSize + batchSize / 50 + jitter;
}
