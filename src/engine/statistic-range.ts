/**
 * The range of objective values the engine's running statistics can take in.
 *
 * @packageDocumentation
 */

/**
 * The largest objective magnitude that enters a running statistic (mean, variance, window sum).
 *
 * @remarks
 * A finite double near `Number.MAX_VALUE` (≈ 1.8e308) overflows as soon as it is added to another
 * or squared: one such value would turn a mean, a variance or a window sum into ±Infinity or NaN,
 * and every comparison against them would be false from then on, so no spike or divergence would
 * ever be detected again. A value beyond ±1e150 is therefore an outlier that no statistic takes in
 * as it is. Within the bound, sums of squared differences over 10^6 values stay finite
 * (10^6 · (2·10^150)² = 4·10^306).
 */
export const STATISTIC_LIMIT = 1e150;

/** Whether `x` is a number the statistics can take in: |x| ≤ {@link STATISTIC_LIMIT} (false for NaN). */
export function withinStatisticRange(x: number): boolean {
  return x <= STATISTIC_LIMIT && x >= -STATISTIC_LIMIT;
}
