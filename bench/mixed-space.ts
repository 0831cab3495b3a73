/**
 * The mixed search space B2 times (d = 16): ten floats, three ints, two categoricals and one
 * float present only for two of the first categorical's four choices, with a cheap objective.
 */
import type { ParamValue } from "../src/space/params.js";

/** The space's bounds, as a config declares them. */
export const MIXED_BOUNDS = {
  ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x${i + 1}`, { min: -5, max: 5 }])),
  n1: { type: "int", min: 1, max: 64 },
  n2: { type: "int", min: 1, max: 1024, scale: "log" },
  n3: { type: "int", min: 0, max: 100, step: 5 },
  kind: { type: "categorical", choices: ["a", "b", "c", "d"] },
  flag: { type: "categorical", choices: [false, true] },
  momentum: { min: 0, max: 1, when: { kind: ["a", "b"] } },
} as const;

/** A sphere over the numbers plus a cost for the wrong choices; lower is better. */
export function mixedObjective(params: Readonly<Record<string, ParamValue>>): number {
  let sum = 0;
  for (let i = 1; i <= 10; i++) sum += (params[`x${i}`] as number) ** 2;
  sum +=
    ((params.n1 as number) - 20) ** 2 / 100 + Math.log2(params.n2 as number) + (params.n3 as number) / 50;
  if (params.kind !== "b") sum += 1;
  if (params.flag !== true) sum += 0.5;
  if (params.momentum !== undefined) sum += ((params.momentum as number) - 0.9) ** 2;
  return sum;
}
