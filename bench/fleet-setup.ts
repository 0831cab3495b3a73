/** Shared settings of the fleet benchmark and its replica processes (a helper, not a benchmark). */
import type { EngineConfig } from "../src/engine/config.js";
import type { Keyring } from "../src/fleet/signing.js";

/** A fixed key: the benchmark measures the bus, not key management. */
export const FLEET_BENCH_RING: Keyring = {
  active: "bench",
  keys: [{ id: "bench", secret: new Uint8Array(32).fill(42) }],
};

export const FLEET_BENCH_PARAMS: EngineConfig["params"] = {
  batch: { min: 1, max: 512, init: 64, maxDelta: 16 },
};
