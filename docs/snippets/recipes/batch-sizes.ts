import type { EngineConfig } from "arqon";

/** The batcher reports one digest every 100 ms: cost per item (ms), latency and throughput folded in. */
export const digestEveryMs = 100;

export const batchSizesConfig: EngineConfig = {
  seed: 5,
  params: {
    // Items per batch. maxDelta 16: a step of at most 16 items, small next to the range (3 %).
    batchSize: { min: 1, max: 512, init: 32, maxDelta: 16 },
    // How long the batcher waits for a batch to fill. maxDelta 2 ms keeps tail latency steady.
    lingerMs: { min: 0, max: 50, init: 5, maxDelta: 2 },
  },
  // Batches are cheap to change and effects show at once: 5 digests (0.5 s) per window.
  window: { digests: 5, ms: 1000 },
  // The balanced preset allows an apply every 100 ms, faster than these windows close.
  guardrails: "balanced",
  // The step gain is calibrated from the objective (no units to guess); 8 calibration iterations
  // (24 windows, ~12 s) instead of 16, because the batcher's cost is not very noisy.
  spsa: { a: "auto", calibrationIterations: 8 },
};
