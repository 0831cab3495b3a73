import type { EngineConfig } from "arqon";

/** The cache reports one digest every 2 s: backend load per request plus a staleness penalty. */
export const digestEveryMs = 2000;

export const cacheTtlsConfig: EngineConfig = {
  seed: 9,
  params: {
    // Time to live of cached entries, in seconds. Log scale: 10 → 20 s matters like 600 → 1200 s.
    // maxDelta 30 s per apply: the hit rate shifts gradually rather than all at once.
    ttlSeconds: { min: 5, max: 3600, init: 60, scale: "log", maxDelta: 30 },
  },
  // A TTL change shows in the hit rate only as entries expire: 15 digests (30 s) per window,
  // after a settle of 20 s, within at most 2 minutes.
  window: { digests: 15, ms: 120_000 },
  settleMs: 20_000,
  // Digests may be up to a minute old (the cache exports its statistics in batches).
  maxAgeMs: 60_000,
  guardrails: {
    preset: "conservative",
    // One apply per 30 s at most; the windows above close every ~50 s.
    minIntervalMs: 30_000,
    maxUpdatesPerSecond: 1,
    // A TTL may move by at most its whole range in 10 minutes (slow by design).
    changeBudget: 1,
    budgetWindowMs: 600_000,
  },
};
