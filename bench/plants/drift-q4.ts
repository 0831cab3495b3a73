/**
 * DRIFT-Q4: the B4 online-tracking plant (shared/BENCHMARKS.md B4, after reference/peers.md §5.3).
 *
 * A noisy quadratic whose optimum drifts and jumps. p parameters (4, or 16 for the variant), bounds
 * [−5, 5], start at θ = 0. True loss f_t(θ) = Σ w_i (θ_i − θ*_i(t))² with w = (1, 2, 0.5, 1.5)
 * (repeated for p = 16). The optimum θ*_i(t) = 1.5·sin(2πt/8000 + i) + s_i·[t ≥ 10000], i counted
 * from 0, s_i = +1.5 for even i and −1.5 for odd i. A measurement at tick t is
 * y = f_t(θ_applied) + ε with ε ~ N(0, σ²), σ ∈ {0.5, 2}; the optional heavy-tail scenario
 * multiplies ε by 10 with probability 1 %. One measurement (one digest) per tick, T = 20 000.
 *
 * The noise comes from its own seeded stream, one draw (two with heavy tails) per tick in tick
 * order, so every method driven with the same seed sees the same noise sequence. The plant is
 * pure arithmetic and allocation-free per tick.
 */
import { Prng } from "../../src/random/prng.js";

/** The constants of the DRIFT-Q4 specification. */
export const DRIFT_Q4 = Object.freeze({
  /** Lower bound of every parameter. */
  lower: -5,
  /** Upper bound of every parameter. */
  upper: 5,
  /** Curvature weights w_i (repeated cyclically beyond 4 parameters). */
  weights: Object.freeze([1, 2, 0.5, 1.5]),
  /** Amplitude of the sinusoidal drift of each optimum coordinate. */
  amplitude: 1.5,
  /** Period of the drift, ticks. */
  period: 8000,
  /** Tick of the regime shift. */
  shiftAt: 10_000,
  /** Size of the shift per coordinate (sign alternating, + for even indices). */
  shift: 1.5,
  /** Ticks in a run. */
  ticks: 20_000,
  /** Guardrail: largest move of any parameter per apply (raw units), perturbations included. */
  maxDelta: 0.5,
  /** Noise levels of the two scenarios. */
  sigmas: Object.freeze([0.5, 2]),
  /** Seeds of a standard run (10 seeds). */
  seeds: Object.freeze([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
  /** Prng stream of the measurement noise (other consumers of the seed use other streams). */
  noiseStream: 4004,
});

/** One DRIFT-Q4 scenario. */
export interface DriftQ4Options {
  /** Standard deviation σ of the additive measurement noise. */
  readonly sigma: number;
  /** Seed of the noise stream. */
  readonly seed: number;
  /** Number of parameters (default 4; the spec's variant uses 16). */
  readonly dimension?: number;
  /** With probability 1 % the noise of a tick is multiplied by 10 (default false). */
  readonly heavyTail?: boolean;
}

/** The DRIFT-Q4 plant: true loss, optimum path and noisy measurements. */
export class DriftQ4Plant {
  /** Number of parameters. */
  readonly dimension: number;
  /** Noise standard deviation σ. */
  readonly sigma: number;
  /** Curvature weights, one per parameter. */
  readonly weights: Float64Array;
  private readonly heavyTail: boolean;
  private readonly noise: Prng;

  constructor(options: DriftQ4Options) {
    const dimension = options.dimension ?? 4;
    if (!Number.isInteger(dimension) || dimension < 1)
      throw new RangeError("dimension must be an integer ≥ 1");
    if (!(options.sigma >= 0)) throw new RangeError("sigma must be ≥ 0");
    this.dimension = dimension;
    this.sigma = options.sigma;
    this.heavyTail = options.heavyTail ?? false;
    this.weights = new Float64Array(dimension);
    for (let i = 0; i < dimension; i++) this.weights[i] = DRIFT_Q4.weights[i % DRIFT_Q4.weights.length]!;
    this.noise = Prng.fromSeed(options.seed, DRIFT_Q4.noiseStream);
  }

  /** Coordinate i of the optimum θ*(t). */
  optimumAt(t: number, i: number): number {
    const drift = DRIFT_Q4.amplitude * Math.sin((2 * Math.PI * t) / DRIFT_Q4.period + i);
    if (t < DRIFT_Q4.shiftAt) return drift;
    return drift + (i % 2 === 0 ? DRIFT_Q4.shift : -DRIFT_Q4.shift);
  }

  /** Writes θ*(t) into `out` and returns it. */
  optimum(t: number, out: Float64Array): Float64Array {
    for (let i = 0; i < this.dimension; i++) out[i] = this.optimumAt(t, i);
    return out;
  }

  /** The noise-free loss f_t(θ) (θ in raw units). */
  loss(t: number, theta: ArrayLike<number>): number {
    let f = 0;
    for (let i = 0; i < this.dimension; i++) {
      const e = theta[i]! - this.optimumAt(t, i);
      f += this.weights[i]! * e * e;
    }
    return f;
  }

  /**
   * A noisy measurement y = f_t(θ) + ε at tick t. Call it exactly once per tick, in tick order,
   * so that the noise sequence is the same for every method.
   */
  measure(t: number, theta: ArrayLike<number>): number {
    let eps = this.sigma * this.noise.normal();
    if (this.heavyTail && this.noise.next() < 0.01) eps *= 10;
    return this.loss(t, theta) + eps;
  }
}
