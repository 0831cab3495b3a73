import { quantileSorted } from "./stats.js";

/**
 * Median ns of an empty `process.hrtime.bigint()` pair on this machine, to subtract from
 * per-call samples timed with such a pair.
 */
export function timerCost(): number {
  const samples = new Float64Array(100_000);
  for (let i = 0; i < samples.length; i++) {
    const start = process.hrtime.bigint();
    const end = process.hrtime.bigint();
    samples[i] = Number(end - start);
  }
  return quantileSorted(samples.sort(), 0.5);
}
