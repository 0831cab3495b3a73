/**
 * The Probe step: a seeded, randomised, space-filling initial design in the unit cube.
 *
 * @remarks
 * Choice of design:
 * - d ≤ {@link SOBOL_MAX_DIMENSION}: Sobol' points (Joe–Kuo direction numbers) with a seeded nested
 *   (Owen-style) scramble, see {@link scrambledSobol}. Every one-dimensional projection of the first
 *   `2^m` points puts exactly one point in each of the `2^m` equal cells, the first two
 *   coordinates form a (0, m, 2)-net, and the scramble makes each point uniform on the cube, so the
 *   design is unbiased, seed-dependent and clearly more even than random points (lower centred L2
 *   discrepancy, larger minimum distance).
 * - d > {@link SOBOL_MAX_DIMENSION}: a seeded randomised Latin hypercube (each coordinate a random
 *   permutation of the `count` equal cells, jittered uniformly inside its cell). With a few dozen
 *   to a few hundred points in that many dimensions nothing is close to uniform in the full cube;
 *   what can be had is even low-dimensional projections, and there a Latin hypercube measured as
 *   well as scrambled Sobol' (mean centred L2 discrepancy of random 1-, 2- and 5-D projections at
 *   d = 256, n = 40: 0.010 / 0.030 / 0.107 against Sobol' 0.014 / 0.033 / 0.118 and uniform random
 *   0.060 / 0.096 / 0.197), while Kronecker sequences did worse (R_d: 0.032 / 0.057 / 0.157, since
 *   its first steps α_k = φ_d^−k are all close to 1 in high dimension and barely move the point).
 *
 * There are no deterministic anchors (corner or centre): the optimum of many test functions sits at
 * the centre, and an anchor there would "solve" them without any search. Unlike the original, the
 * design depends on the seed.
 */
import { Prng } from "../random/prng.js";
import { SOBOL_MAX_DIMENSION, scrambledSobol } from "./sobol.js";

/** PRNG stream reserved for the probe design, so it never shares random numbers with other phases. */
export const PROBE_STREAM = 0x70726f62; // "prob"

/** Latin-hypercube coordinates are clamped to [2^−53, 1 − 2^−53], inside the open interval (0, 1). */
const OPEN_MARGIN = 2 ** -53;

/**
 * `count` points of a seeded low-discrepancy design in the open unit cube (0,1)^dimension.
 *
 * @param dimension - number of coordinates, an integer ≥ 1.
 * @param count - number of points, an integer ≥ 0.
 * @param seed - any finite number; the same seed gives the identical design, different seeds
 *   give different designs.
 * @param stream - the PRNG stream of the scramble: another stream gives another design from the
 *   same seed (the fill of partial start points uses one of its own).
 * @returns `count` fresh arrays of `dimension` coordinates, each strictly between 0 and 1.
 * @throws RangeError for a non-integer or out-of-range `dimension` or `count`, or a non-finite seed.
 *
 * @remarks
 * Cost O(count · dimension) with a small constant: a 16-D, 256-point design is ~4,000 coordinates
 * at about ten integer operations each (≈0.15 ms in Node 20 on this project's 2-core machine,
 * measured ad hoc); allocates only the result.
 */
export function probePoints(
  dimension: number,
  count: number,
  seed: number,
  stream: number = PROBE_STREAM,
): number[][] {
  if (!Number.isInteger(dimension) || dimension < 1) {
    throw new RangeError(`probe dimension must be an integer ≥ 1, got ${dimension}`);
  }
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`probe count must be an integer ≥ 0, got ${count}`);
  }
  const random = Prng.fromSeed(seed, stream);
  if (dimension <= SOBOL_MAX_DIMENSION) return scrambledSobol(dimension, count, random);
  return latinHypercube(dimension, count, random);
}

/** Randomised Latin hypercube; see the module remarks. */
function latinHypercube(dimension: number, count: number, random: Prng): number[][] {
  const points: number[][] = Array.from({ length: count }, () => new Array<number>(dimension));
  const strata = new Array<number>(count);
  for (let k = 0; k < dimension; k++) {
    for (let i = 0; i < count; i++) strata[i] = i;
    for (let i = count - 1; i > 0; i--) {
      const j = random.int(i + 1);
      const swap = strata[i]!;
      strata[i] = strata[j]!;
      strata[j] = swap;
    }
    for (let i = 0; i < count; i++) {
      const u = (strata[i]! + random.next()) / count;
      // (count − 1 + almost 1) / count can round up to 1, and a zero jitter in stratum 0 gives 0.
      points[i]![k] = Math.min(Math.max(u, OPEN_MARGIN), 1 - OPEN_MARGIN);
    }
  }
  return points;
}
