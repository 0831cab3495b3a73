/**
 * Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations: the trust region's
 * quadratic (src/solver/quadratic-model.ts) needs it for Hessians of at most 8 × 8, where Jacobi is
 * short, accurate to about 1e-15 of the matrix's norm and needs no library.
 */

/**
 * Eigenvalues, in no particular order, and eigenvectors (`vectors[i * d + k]`: component i of the
 * k-th vector, the one of `values[k]`).
 */
export interface SymmetricEigen {
  readonly values: Float64Array;
  readonly vectors: Float64Array;
}

/**
 * Sweeps allowed: Jacobi converges quadratically, in well under ten sweeps for d ≤ 8. Should a
 * matrix ever use them all, the last sweep's rotations are returned as they are.
 */
const MAX_SWEEPS = 50;

/**
 * Eigenvalues and orthonormal eigenvectors of the symmetric d × d matrix `a` (row-major; only its
 * values are read). Each rotation zeroes one off-diagonal entry; sweeps repeat until the
 * off-diagonal part is negligible next to the diagonal.
 */
export function symmetricEigen(a: ArrayLike<number>, d: number): SymmetricEigen {
  const m = Float64Array.from(a);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let off = 0;
    let diagonal = 0;
    for (let p = 0; p < d; p++) {
      diagonal += m[p * d + p]! ** 2;
      for (let q = p + 1; q < d; q++) off += m[p * d + q]! ** 2;
    }
    if (!(off > 1e-30 * diagonal)) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = m[p * d + q]!;
        if (apq === 0) continue;
        // The rotation φ that zeroes m[p][q]: cot 2φ from the entries, then t = tan φ as the
        // smaller root of t² + 2t·cot 2φ − 1 = 0, for stability.
        const cot2 = (m[q * d + q]! - m[p * d + p]!) / (2 * apq);
        const t = (cot2 >= 0 ? 1 : -1) / (Math.abs(cot2) + Math.sqrt(cot2 * cot2 + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        rotate(m, d, p, q, c, s);
        for (let k = 0; k < d; k++) {
          const vp = v[k * d + p]!;
          const vq = v[k * d + q]!;
          v[k * d + p] = c * vp - s * vq;
          v[k * d + q] = s * vp + c * vq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = m[i * d + i]!;
  return { values, vectors: v };
}

/** m ← Rᵀ m R for the rotation R in the (p, q) plane with cosine c and sine s. */
function rotate(m: Float64Array, d: number, p: number, q: number, c: number, s: number): void {
  for (let k = 0; k < d; k++) {
    const kp = m[k * d + p]!;
    const kq = m[k * d + q]!;
    m[k * d + p] = c * kp - s * kq;
    m[k * d + q] = s * kp + c * kq;
  }
  for (let k = 0; k < d; k++) {
    const pk = m[p * d + k]!;
    const qk = m[q * d + k]!;
    m[p * d + k] = c * pk - s * qk;
    m[q * d + k] = s * pk + c * qk;
  }
}
