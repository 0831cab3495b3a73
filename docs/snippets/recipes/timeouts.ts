import type { EngineConfig } from "arqon";

/** The service reports one digest per second: p99 latency plus a penalty per timed-out request. */
export const digestEveryMs = 1000;

export const timeoutsConfig: EngineConfig = {
  seed: 11,
  params: {
    // A downstream call's timeout. Log scale: 80 → 120 ms matters as much as 800 → 1200 ms.
    // maxDelta 150 ms: one apply never changes the timeout by more than a request's typical slack.
    upstreamTimeoutMs: { min: 50, max: 5000, init: 800, scale: "log", maxDelta: 150 },
  },
  // 10 digests (10 s of traffic) per evaluation, or whatever arrived within 15 s.
  window: { digests: 10, ms: 15_000, aggregation: "median" },
  // Requests already in flight under the old timeout finish within ~2 s: ignore what they report.
  settleMs: 2000,
  guardrails: {
    preset: "conservative",
    // An SPSA iteration applies three times (plus, minus, centre), once per window: at least
    // 10 s apart, so the guardrail never refuses a decision the windows allow.
    minIntervalMs: 5000,
    maxUpdatesPerSecond: 1,
  },
};
