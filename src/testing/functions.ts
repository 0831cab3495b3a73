/**
 * Standard black-box test functions for minimisation, with their domains and known minima.
 *
 * @remarks
 * Each function is a {@link TestFunction}: parameters are named `x1 … xd` in order, so
 * `fn.bounds` can be passed straight to a solver config and `fn.evaluate(trial.params)` scores a
 * trial. Regret of a run is `best − fn.minimum`. The formulas and constants follow the Virtual
 * Library of Simulation Experiments (Surjanovic & Bingham, sfu.ca/~ssurjano). Evaluation allocates
 * nothing beyond the parameter lookup, so the functions are cheap enough for overhead benchmarks.
 *
 * @packageDocumentation
 */
import { shownValue } from "../shown-value.js";

/** Closed interval of one parameter, in raw units (same shape as a solver bound). */
export interface Interval {
  readonly min: number;
  readonly max: number;
}

/**
 * A test function with its domain and known global minimum. `N` is the union of its parameter
 * names: `"x1" | "x2"` for a function of fixed dimension, `` `x${number}` `` for one whose
 * dimension is chosen at run time, so a solver given its `bounds` types `trial.params` by them.
 */
export interface TestFunction<N extends string = string> {
  /** Short display name, e.g. `"Rastrigin-5D"`. */
  readonly name: string;
  /** Number of parameters. */
  readonly dimension: number;
  /** Parameter names in order: `x1 … xd`. */
  readonly names: readonly N[];
  /** The search box, keyed by parameter name in order; usable as a solver's `bounds`. */
  readonly bounds: Readonly<Record<N, Interval>>;
  /** The global minimum value over the box. */
  readonly minimum: number;
  /** Points (vectors, in `names` order) where the minimum is attained, as published. */
  readonly minimizers: readonly (readonly number[])[];
  /** Value at a vector `x` (length {@link TestFunction.dimension}, in `names` order). */
  at(x: ArrayLike<number>): number;
  /** Value at named parameters (`{ x1, x2, … }`); throws a RangeError naming a parameter that is missing or not a finite number. */
  evaluate(params: Readonly<Record<string, unknown>>): number;
}

function parameterNames(dimension: number): string[] {
  return Array.from({ length: dimension }, (_, i) => `x${i + 1}`);
}

function makeTestFunction<N extends string>(spec: {
  name: string;
  domain: readonly Interval[];
  minimum: number;
  minimizers: readonly (readonly number[])[];
  at: (x: ArrayLike<number>) => number;
}): TestFunction<N> {
  const dimension = spec.domain.length;
  const names = parameterNames(dimension);
  const bounds: Record<string, Interval> = {};
  names.forEach((name, i) => {
    bounds[name] = { min: spec.domain[i]!.min, max: spec.domain[i]!.max };
  });
  // One scratch vector per function: `evaluate` reuses it instead of allocating per call.
  const scratch = new Float64Array(dimension);
  // Named x1 … xd, which is what N stands for.
  return Object.freeze({
    name: spec.name,
    dimension,
    names: Object.freeze(names) as readonly N[],
    bounds: Object.freeze(bounds) as Readonly<Record<N, Interval>>,
    minimum: spec.minimum,
    minimizers: spec.minimizers,
    at: spec.at,
    evaluate(params: Readonly<Record<string, unknown>>): number {
      for (let i = 0; i < dimension; i++) {
        const name = names[i]!;
        const value = params[name];
        if (typeof value !== "number" || !Number.isFinite(value)) throw badParameter(spec.name, name, value);
        scratch[i] = value;
      }
      return spec.at(scratch);
    },
  });
}

function badParameter(fn: string, name: string, value: unknown): RangeError {
  if (value === undefined) return new RangeError(`${fn}: missing parameter ${name}`);
  return new RangeError(`${fn}: parameter ${name} must be a finite number, got ${shownValue(value)}`);
}

function requireDimension(name: string, dimension: number, least: number): void {
  if (!Number.isSafeInteger(dimension) || dimension < least) {
    throw new RangeError(`${name} needs a whole dimension ≥ ${least}, got ${dimension}`);
  }
}

function box(dimension: number, min: number, max: number): Interval[] {
  return Array.from({ length: dimension }, () => ({ min, max }));
}

/**
 * Branin (Branin–Hoo), 2-D, on x1 ∈ [−5, 10], x2 ∈ [0, 15].
 *
 * @remarks
 * Three global minimisers, (−π, 12.275), (π, 2.275) and (3π, 2.475), all with value
 * 5 / (4π) ≈ 0.397887. Smooth and low-dimensional: local refinement should reach it quickly.
 */
export function branin(): TestFunction<"x1" | "x2"> {
  const b = 5.1 / (4 * Math.PI * Math.PI);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return makeTestFunction({
    name: "Branin",
    domain: [
      { min: -5, max: 10 },
      { min: 0, max: 15 },
    ],
    minimum: 5 / (4 * Math.PI),
    minimizers: [
      [-Math.PI, 12.275],
      [Math.PI, 2.275],
      [3 * Math.PI, 2.475],
    ],
    at(x) {
      const x1 = x[0]!;
      const x2 = x[1]!;
      const q = x2 - b * x1 * x1 + c * x1 - 6;
      return q * q + 10 * (1 - t) * Math.cos(x1) + 10;
    },
  });
}

const HARTMANN6_ALPHA = [1.0, 1.2, 3.0, 3.2];
const HARTMANN6_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const HARTMANN6_P = [
  [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
  [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
  [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.665],
  [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
];

/**
 * Hartmann-6, 6-D, on [0, 1]^6.
 *
 * @remarks
 * Global minimum ≈ −3.32237 near (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573).
 * A second basin at ≈ −3.2032 traps local methods: a regret of ≈ 0.119 means a run stopped there.
 * `minimum` is the value found by polishing the published minimiser (−3.322368011…), so regrets
 * near zero are not distorted by rounding of the published −3.32237.
 */
export function hartmann6(): TestFunction<"x1" | "x2" | "x3" | "x4" | "x5" | "x6"> {
  return makeTestFunction({
    name: "Hartmann-6",
    domain: box(6, 0, 1),
    minimum: -3.3223680114155147,
    minimizers: [[0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]],
    at(x) {
      let sum = 0;
      for (let i = 0; i < 4; i++) {
        const a = HARTMANN6_A[i]!;
        const p = HARTMANN6_P[i]!;
        let inner = 0;
        for (let j = 0; j < 6; j++) {
          const diff = x[j]! - p[j]!;
          inner += a[j]! * diff * diff;
        }
        sum += HARTMANN6_ALPHA[i]! * Math.exp(-inner);
      }
      return -sum;
    },
  });
}

/**
 * Rosenbrock, d-D (d ≥ 2), on [−5, 10]^d.
 *
 * @remarks
 * Σ 100·(x_{i+1} − x_i²)² + (1 − x_i)²; minimum 0 at (1, …, 1), at the end of a long curved
 * valley that stresses simplex methods.
 */
export function rosenbrock(dimension: number): TestFunction<`x${number}`> {
  requireDimension("Rosenbrock", dimension, 2);
  return makeTestFunction({
    name: `Rosenbrock-${dimension}D`,
    domain: box(dimension, -5, 10),
    minimum: 0,
    minimizers: [Array.from({ length: dimension }, () => 1)],
    at(x) {
      let sum = 0;
      for (let i = 0; i < dimension - 1; i++) {
        const xi = x[i]!;
        const valley = x[i + 1]! - xi * xi;
        const offset = 1 - xi;
        sum += 100 * valley * valley + offset * offset;
      }
      return sum;
    },
  });
}

/**
 * Rastrigin, d-D (d ≥ 1), on [−5.12, 5.12]^d.
 *
 * @remarks
 * 10·d + Σ (x_i² − 10·cos 2πx_i); minimum 0 at the origin, surrounded by a regular lattice of
 * local minima (highly multimodal).
 */
export function rastrigin(dimension: number): TestFunction<`x${number}`> {
  requireDimension("Rastrigin", dimension, 1);
  return makeTestFunction({
    name: `Rastrigin-${dimension}D`,
    domain: box(dimension, -5.12, 5.12),
    minimum: 0,
    minimizers: [Array.from({ length: dimension }, () => 0)],
    at(x) {
      let sum = 10 * dimension;
      for (let i = 0; i < dimension; i++) {
        const xi = x[i]!;
        sum += xi * xi - 10 * Math.cos(2 * Math.PI * xi);
      }
      return sum;
    },
  });
}

/**
 * Ackley, d-D (d ≥ 1), on [−32.768, 32.768]^d, with a = 20, b = 0.2, c = 2π.
 *
 * @remarks
 * −a·exp(−b·√(mean x²)) − exp(mean cos(c·x)) + a + e; minimum 0 at the origin, nearly flat far
 * from it with many shallow local minima.
 */
export function ackley(dimension: number): TestFunction<`x${number}`> {
  requireDimension("Ackley", dimension, 1);
  return makeTestFunction({
    name: `Ackley-${dimension}D`,
    domain: box(dimension, -32.768, 32.768),
    minimum: 0,
    minimizers: [Array.from({ length: dimension }, () => 0)],
    at(x) {
      let squares = 0;
      let cosines = 0;
      for (let i = 0; i < dimension; i++) {
        const xi = x[i]!;
        squares += xi * xi;
        cosines += Math.cos(2 * Math.PI * xi);
      }
      // Clamp at 0: the formula can round to −4e-16 at the exact minimiser.
      const value =
        -20 * Math.exp(-0.2 * Math.sqrt(squares / dimension)) - Math.exp(cosines / dimension) + 20 + Math.E;
      return Math.max(0, value);
    },
  });
}

/**
 * Sphere, d-D (d ≥ 1), on [−5.12, 5.12]^d: Σ x_i², minimum 0 at the origin.
 *
 * @remarks
 * The convex control case, and the cheap objective used to measure a solver's own overhead.
 */
export function sphere(dimension: number): TestFunction<`x${number}`> {
  requireDimension("Sphere", dimension, 1);
  return makeTestFunction({
    name: `Sphere-${dimension}D`,
    domain: box(dimension, -5.12, 5.12),
    minimum: 0,
    minimizers: [Array.from({ length: dimension }, () => 0)],
    at(x) {
      let sum = 0;
      for (let i = 0; i < dimension; i++) sum += x[i]! * x[i]!;
      return sum;
    },
  });
}
