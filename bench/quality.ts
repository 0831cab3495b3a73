import { Prng } from "../src/random/prng.js";
import {
  ackley,
  branin,
  hartmann6,
  rastrigin,
  rosenbrock,
  type TestFunction,
} from "../src/testing/functions.js";
import type { SuiteHalf } from "./quality-suite.js";
import { type Spread, spread } from "./stats.js";
import { formatValue } from "./table.js";

/** One B1 problem: a function, the run's budget, and where best-so-far regret is read. */
export interface QualityProblem {
  readonly fn: TestFunction;
  readonly budget: number;
  readonly checkpoints: readonly number[];
}

/** The B1 problems (BENCHMARKS.md): 2-D and 6-D at 100 evaluations, 5-D at 200. */
export function qualityProblems(): QualityProblem[] {
  const short = [25, 50, 100];
  const long = [25, 50, 100, 200];
  return [
    { fn: branin(), budget: 100, checkpoints: short },
    { fn: hartmann6(), budget: 100, checkpoints: short },
    { fn: rosenbrock(5), budget: 200, checkpoints: long },
    { fn: rastrigin(5), budget: 200, checkpoints: long },
    { fn: ackley(5), budget: 200, checkpoints: long },
  ];
}

/** Seeds 1..count (B1 uses 20). */
export function seedList(count: number): number[] {
  return seedRange(1, count);
}

/** `count` consecutive seeds from `first`. */
export function seedRange(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

/**
 * First seed of the validation half's seed checks (B1, PARALLEL): far above any seed a development
 * run or tuning pass in this project's history used (the highest were 101..200), so the held-out
 * half is read on seeds held out as well as on problems held out.
 */
export const HELD_OUT_FIRST_SEED = 1001;

/** The seeds of a half's seed check: 1..`count` on the development half, held-out ones on the other. */
export function checkSeedsOf(half: SuiteHalf, count: number): number[] {
  return half === "validation" ? seedRange(HELD_OUT_FIRST_SEED, count) : seedList(count);
}

/** A list of consecutive seeds as text: "1..20". */
export function seedsText(seeds: readonly number[]): string {
  return `${seeds[0]}..${seeds[seeds.length - 1]}`;
}

/**
 * Best-so-far regret (best value − known minimum) after each checkpoint's number of evaluations.
 * `values` are objective values in evaluation order; a run that stopped early keeps its last best.
 */
export function regretsAt(
  values: readonly number[],
  minimum: number,
  checkpoints: readonly number[],
): number[] {
  const regrets: number[] = [];
  let best = Number.POSITIVE_INFINITY;
  let seen = 0;
  for (const checkpoint of checkpoints) {
    for (; seen < Math.min(checkpoint, values.length); seen++) best = Math.min(best, values[seen]!);
    regrets.push(Math.max(0, best - minimum));
  }
  return regrets;
}

/**
 * Uniform random search in the function's box, from `Prng.fromSeed(seed, 7)`: the floor every
 * optimiser must beat. Returns objective values in evaluation order.
 */
export function randomSearchValues(fn: TestFunction, seed: number, budget: number): number[] {
  const prng = Prng.fromSeed(seed, 7);
  const x = new Float64Array(fn.dimension);
  const values: number[] = [];
  for (let trial = 0; trial < budget; trial++) {
    fn.names.forEach((name, i) => {
      const { min, max } = fn.bounds[name]!;
      x[i] = min + (max - min) * prng.next();
    });
    values.push(fn.at(x));
  }
  return values;
}

/** Regret samples of one optimiser on one problem: `bySeed[s][c]` is seed s at checkpoint c. */
export interface RegretSamples {
  readonly label: string;
  readonly bySeed: readonly (readonly number[])[];
}

/** Spread of regret over seeds at each checkpoint. */
export function regretSpreads(samples: RegretSamples, checkpoints: readonly number[]): Spread[] {
  return checkpoints.map((_, c) => spread(samples.bySeed.map((row) => row[c]!)));
}

/** "median [q1–q3]". */
export function formatSpread(s: Spread): string {
  return `${formatValue(s.median)} [${formatValue(s.q1)}–${formatValue(s.q3)}]`;
}

/** Share of seeds whose final regret is at most `target`, as "k/n". */
export function solvedShare(samples: RegretSamples, target: number): string {
  const finals = samples.bySeed.map((row) => row[row.length - 1]!);
  return `${finals.filter((r) => r <= target).length}/${finals.length}`;
}

/**
 * The seed check's list of cells whose verdict differs between two ranges of seeds (`hereSeeds`
 * and `thereSeeds`, as text: "1..20"): each as "name (ratio on here, ratio on there)", or "none".
 * `pairs` holds each cell's name and its ratio on either range; `holds` is the verdict of one ratio.
 */
export function verdictFlips(
  pairs: readonly (readonly [name: string, here: number, there: number])[],
  holds: (ratio: number) => boolean,
  format: (ratio: number) => string,
  hereSeeds: string,
  thereSeeds: string,
): string {
  const flipped = pairs.filter(([, here, there]) => holds(here) !== holds(there));
  if (flipped.length === 0) return "none";
  return flipped
    .map(
      ([name, here, there]) => `${name} (${format(here)} on ${hereSeeds}, ${format(there)} on ${thereSeeds})`,
    )
    .join(", ");
}
