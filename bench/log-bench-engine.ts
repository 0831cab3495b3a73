/**
 * The logged engine LOG-READS and LOG-LIVE-COMPACTION write their logs with: two knobs, windows of
 * 5 digests, fed a noisy quadratic, one digest per 100 ms of a replay clock.
 */
import type { EngineConfig } from "../src/engine/config.js";
import { createLoggedEngine, type EngineLogOptions, type LoggedEngine } from "../src/log/engine-log.js";
import { Prng } from "../src/random/prng.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";

/** The engine's config, on `clock`. */
function logBenchConfig(clock: ReplayClock): EngineConfig {
  return {
    seed: 1,
    params: {
      batch: { min: 1, max: 512, init: 32, maxDelta: 16 },
      timeoutMs: { min: 10, max: 2000, init: 200 },
    },
    window: { digests: 5 },
    scheduler: clock,
  };
}

/** A logged engine and how to feed it its next digest. */
export interface LogBenchEngine extends LoggedEngine {
  /** Feeds digest number `i` (from 1), at 100 ms per digest of the replay clock. */
  feed(i: number): void;
}

/** The engine, logging as `options` say, its config first passed through `configure` (a restart's). */
export function logBenchEngine(
  options: EngineLogOptions,
  configure: (config: EngineConfig) => EngineConfig = (config) => config,
): LogBenchEngine {
  const clock = new ReplayClock(1_000);
  const logged = createLoggedEngine(configure(logBenchConfig(clock)), options);
  const noise = Prng.fromSeed(7, 1);
  const { engine } = logged;
  return {
    ...logged,
    feed(i) {
      clock.advanceTo(1_000 + i * 100);
      const [batch, timeout] = engine.values as unknown as [number, number];
      const cost = 5 + ((batch - 200) / 100) ** 2 + ((timeout - 700) / 500) ** 2;
      engine.observe({ objective: cost * (1 + 0.05 * (noise.next() - 0.5)), generation: engine.generation });
    },
  };
}
