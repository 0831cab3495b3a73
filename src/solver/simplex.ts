/**
 * Pure simplex arithmetic for Nelder–Mead in the unit cube: coefficients, centroid, the points
 * along the worst-vertex line, shrink, projection and size. No state, no allocation in the kernels
 * (results go to an `out` array the caller owns).
 *
 * @remarks Every kernel is O(d) except {@link centroidOfBest} and {@link simplexSize}, which are
 * O(d²) for a simplex of d + 1 vertices.
 */

/** The four Nelder–Mead coefficients. */
export interface SimplexCoefficients {
  /** Reflection α (> 0): r = c + α(c − w). */
  readonly reflection: number;
  /** Expansion γ (> 1): e = c + γ(r − c). */
  readonly expansion: number;
  /** Contraction ρ in (0, 1): outside c + ρ(r − c), inside c − ρ(r − c). */
  readonly contraction: number;
  /** Shrink σ in (0, 1): every vertex moves to b + σ(v − b) towards the best vertex b. */
  readonly shrink: number;
}

/**
 * Gao & Han's (2012) dimension-adaptive coefficients: α = 1, γ = 1 + 2/d, ρ = 0.75 − 1/(2d),
 * σ = 1 − 1/d. They reduce to the textbook (1, 2, ½, ½) at d = 2 and make expansions and
 * shrinks gentler in higher dimensions, which keeps the simplex from degenerating.
 *
 * @remarks The formulas are meant for d ≥ 2 (σ would be 0 at d = 1), so d = 1 uses the d = 2
 * values, i.e. the textbook ones.
 */
export function gaoHanCoefficients(dimension: number): SimplexCoefficients {
  const n = Math.max(2, dimension);
  return { reflection: 1, expansion: 1 + 2 / n, contraction: 0.75 - 1 / (2 * n), shrink: 1 - 1 / n };
}

/** Clamps every coordinate of `point` into [0, 1], in place; returns `point`. */
export function projectToUnitCube(point: number[]): number[] {
  for (let j = 0; j < point.length; j++) {
    const x = point[j]!;
    point[j] = x < 0 ? 0 : x > 1 ? 1 : x;
  }
  return point;
}

/** Writes into `out` the centroid of the first `count` vertices (the best ones when sorted). */
export function centroidOfBest(
  vertices: readonly (readonly number[])[],
  count: number,
  out: number[],
): number[] {
  const d = out.length;
  for (let j = 0; j < d; j++) out[j] = 0;
  for (let i = 0; i < count; i++) {
    const v = vertices[i]!;
    for (let j = 0; j < d; j++) out[j]! += v[j]!;
  }
  for (let j = 0; j < d; j++) out[j]! /= count;
  return out;
}

/**
 * Writes into `out` the point c + t(c − w), projected into the unit cube, and returns it.
 *
 * @remarks With α, γ, ρ as in {@link SimplexCoefficients}: reflection is t = α, expansion
 * t = αγ, outside contraction t = αρ and inside contraction t = −ρ.
 */
export function pointOnWorstLine(
  centroid: readonly number[],
  worst: readonly number[],
  t: number,
  out: number[],
): number[] {
  for (let j = 0; j < out.length; j++) out[j] = centroid[j]! + t * (centroid[j]! - worst[j]!);
  return projectToUnitCube(out);
}

/** Writes into `out` the vertex `v` shrunk towards `best` by σ: best + σ(v − best). */
export function shrinkTowards(
  best: readonly number[],
  v: readonly number[],
  sigma: number,
  out: number[],
): number[] {
  for (let j = 0; j < out.length; j++) out[j] = best[j]! + sigma * (v[j]! - best[j]!);
  return projectToUnitCube(out);
}

/** Largest ∞-norm distance of any vertex from the first one (the best, when sorted). */
export function simplexSize(vertices: readonly (readonly number[])[]): number {
  const best = vertices[0]!;
  let size = 0;
  for (let i = 1; i < vertices.length; i++) {
    const v = vertices[i]!;
    for (let j = 0; j < best.length; j++) {
      const gap = Math.abs(v[j]! - best[j]!);
      if (gap > size) size = gap;
    }
  }
  return size;
}

/** Root-mean-square coordinate difference of two points: Euclidean distance ÷ √d. */
export function rmsDistance(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let j = 0; j < a.length; j++) {
    const gap = a[j]! - b[j]!;
    sum += gap * gap;
  }
  return Math.sqrt(sum / a.length);
}
