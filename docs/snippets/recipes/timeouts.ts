import type { EngineConfig } from "arqon";

/** One digest per second: p99 latency plus a penalty per timed-out request. */
export const digestEveryMs = 1000;

export const timeoutsConfig = {
  seed: 11,
  params: {
    // A downstream call's timeout. Log scale: 80 → 120 ms matters as much
    // as 800 → 1200 ms. maxDelta: no apply moves it by more than 150 ms.
    upstreamTimeoutMs: { min: 50, max: 5000, init: 800, scale: "log", maxDelta: 150 },
  },
  // 10 digests (10 s of traffic) per window, or what arrived within 15 s.
  window: { digests: 10, ms: 15_000, aggregation: "median" },
  // Requests in flight under the old timeout finish within ~2 s: skip them.
  settleMs: 2000,
  guardrails: {
    preset: "conservative",
    // One apply per window, and windows take ~12 s: at most one per 5 s
    // never delays a window's apply.
    minIntervalMs: 5000,
    maxUpdatesPerSecond: 1,
  },
} satisfies EngineConfig;
