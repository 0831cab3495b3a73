import type { EngineConfig } from "arqon";

/** One digest every 2 s: backend load per request plus a staleness penalty. */
export const digestEveryMs = 2000;

export const cacheTtlsConfig = {
  seed: 9,
  params: {
    // Time to live in seconds. Log scale: 10 → 20 s matters like 600 → 1200 s.
    // At most 30 s per apply, so the hit rate shifts gradually.
    ttlSeconds: { min: 5, max: 3600, init: 60, scale: "log", maxDelta: 30 },
  },
  // Read at every lookup (an entry is served while its age is under the live
  // TTL), a new TTL applies at once; the misses it causes refill within
  // seconds: skip 20 s after a change, then average 15 digests (30 s); give
  // up on a window after 2 minutes.
  window: { digests: 15, ms: 120_000 },
  settleMs: 20_000,
  // Cache statistics are exported in batches: accept digests up to 1 min old.
  maxAgeMs: 60_000,
  guardrails: {
    preset: "conservative",
    // Windows close every ~50 s: one apply per 30 s at most.
    minIntervalMs: 30_000,
    maxUpdatesPerSecond: 1,
    // In any 10 minutes the TTL may travel at most its whole range.
    changeBudget: 1,
    budgetWindowMs: 600_000,
  },
} satisfies EngineConfig;
