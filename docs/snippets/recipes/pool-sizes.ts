import type { EngineConfig } from "arqon";

/**
 * The service reports one digest every 500 ms: p99 query latency, with `constraintMargin` set to
 * the free share of the database's connection limit (below 0: over the limit).
 */
export const digestEveryMs = 500;

export const poolSizesConfig: EngineConfig = {
  seed: 21,
  params: {
    // Connections in the pool (round the live value when you resize the pool).
    // maxDelta 4: opening or closing more than four connections at once disturbs the database.
    poolSize: { min: 4, max: 128, init: 20, maxDelta: 4 },
  },
  // 20 digests (10 s) per window: pool effects are noisy and show under sustained load.
  window: { digests: 20, ms: 30_000, aggregation: "trimmed-mean", trim: 0.1 },
  // New connections need ~3 s to warm up (TLS, prepared statements): ignore that period.
  settleMs: 3000,
  guardrails: {
    preset: "conservative",
    // Windows close every ~13 s (settle + 20 digests); one apply per 10 s at most.
    minIntervalMs: 10_000,
    maxUpdatesPerSecond: 1,
  },
  safety: {
    // Over the connection limit by half of it: roll back to the baseline and freeze.
    emergencyMargin: -0.5,
  },
};
