/**
 * The all-integer search space B2 times (d = 16): six plain ints, five on a log scale and five
 * with a step, as batch sizes, pool sizes and thresholds are declared, with a cheap objective.
 * A space with no float runs the default strategy's local phase on cells: its fits, and the
 * neighbouring cells it tries when a fit's minimiser rounds to a measured one.
 */
import type { ParamValue } from "../src/space/params.js";

/** The space's bounds, as a config declares them. */
export const INT_BOUNDS = {
  ...Object.fromEntries(
    Array.from({ length: 6 }, (_, i) => [`n${i + 1}`, { type: "int" as const, min: 0, max: 50 }]),
  ),
  ...Object.fromEntries(
    Array.from({ length: 5 }, (_, i) => [
      `size${i + 1}`,
      { type: "int" as const, min: 1, max: 1024, scale: "log" as const },
    ]),
  ),
  ...Object.fromEntries(
    Array.from({ length: 5 }, (_, i) => [
      `limit${i + 1}`,
      { type: "int" as const, min: 0, max: 100, step: 5 },
    ]),
  ),
} as const;

/** A bowl off the grid's centre in every parameter; lower is better. */
export function intObjective(params: Readonly<Record<string, ParamValue>>): number {
  let sum = 0;
  for (let i = 1; i <= 6; i++) sum += ((params[`n${i}`] as number) - 17) ** 2 / 100;
  for (let i = 1; i <= 5; i++) sum += (Math.log2(params[`size${i}`] as number) - 6) ** 2;
  for (let i = 1; i <= 5; i++) sum += ((params[`limit${i}`] as number) - 35) ** 2 / 400;
  return sum;
}
