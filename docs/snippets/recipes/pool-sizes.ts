import type { EngineConfig } from "arqon";

/**
 * One digest every 500 ms: p99 query latency, and as `constraintMargin` the
 * free share of the database's connection limit (below 0: over the limit).
 */
export const digestEveryMs = 500;

export const poolSizesConfig = {
  seed: 21,
  params: {
    // Connections (round the live value when resizing). Opening or closing
    // more than four at once disturbs the database.
    poolSize: { min: 4, max: 128, init: 20, maxDelta: 4 },
  },
  // Noisy, load-dependent effects: 20 digests (10 s) per window, trimmed.
  window: { digests: 20, ms: 30_000, aggregation: "trimmed-mean", trim: 0.1 },
  // New connections need ~3 s to warm up (TLS, prepared statements).
  settleMs: 3000,
  guardrails: {
    preset: "conservative",
    // Windows take ~13 s (settling + 20 digests): one resize per 10 s at most.
    minIntervalMs: 10_000,
    maxUpdatesPerSecond: 1,
  },
  safety: {
    // Over the limit by half of it: roll back to the baseline and freeze.
    emergencyMargin: -0.5,
  },
} satisfies EngineConfig;
