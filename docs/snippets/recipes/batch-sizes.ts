import type { EngineConfig } from "arqon";

/** One digest every 100 ms: the cost per item in ms. */
export const digestEveryMs = 100;

export const batchSizesConfig = {
  seed: 5,
  params: {
    // Items per batch; at most 16 more or fewer per apply (3 % of the range).
    batchSize: { min: 1, max: 512, init: 32, maxDelta: 16 },
    // How long to wait for a batch to fill; small steps keep latency steady.
    lingerMs: { min: 0, max: 50, init: 5, maxDelta: 2 },
  },
  // Effects show at once: 5 digests (0.5 s) per window.
  window: { digests: 5, ms: 1000 },
  // An apply may follow 100 ms after the last: faster than windows close.
  guardrails: "balanced",
  // The step gain comes from measured gradients; 8 calibration iterations
  // (24 windows, ~12 s) suffice for a low-noise objective.
  spsa: { a: "auto", calibrationIterations: 8 },
} satisfies EngineConfig;
