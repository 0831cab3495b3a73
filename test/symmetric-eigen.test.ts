import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { symmetricEigen } from "../src/solver/symmetric-eigen.js";

/** A symmetric d × d matrix (row-major) from the upper triangle's entries. */
function symmetric(d: number, upper: readonly number[]): number[] {
  const a = new Array<number>(d * d);
  let k = 0;
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      a[i * d + j] = upper[k]!;
      a[j * d + i] = upper[k]!;
      k++;
    }
  }
  return a;
}

const matrices = fc.integer({ min: 1, max: 8 }).chain((d) =>
  fc
    .array(fc.double({ min: -10, max: 10, noNaN: true }), {
      minLength: (d * (d + 1)) / 2,
      maxLength: (d * (d + 1)) / 2,
    })
    .map((upper) => ({ d, a: symmetric(d, upper) })),
);

describe("symmetric eigen-decomposition", () => {
  it("finds the eigenvalues of a small known matrix", () => {
    const { values } = symmetricEigen([2, 1, 1, 2], 2);
    expect([...values].sort((x, y) => x - y)).toEqual([expect.closeTo(1, 12), expect.closeTo(3, 12)]);
  });

  it("gives orthonormal vectors that rebuild the matrix (V Λ Vᵀ = A), up to 8 × 8", () => {
    fc.assert(
      fc.property(matrices, ({ d, a }) => {
        const { values, vectors } = symmetricEigen(a, d);
        const size = Math.max(1, ...a.map(Math.abs));
        for (let i = 0; i < d; i++) {
          for (let j = 0; j < d; j++) {
            let rebuilt = 0;
            let dot = 0;
            for (let k = 0; k < d; k++) {
              rebuilt += vectors[i * d + k]! * values[k]! * vectors[j * d + k]!;
              dot += vectors[k * d + i]! * vectors[k * d + j]!;
            }
            expect(Math.abs(rebuilt - a[i * d + j]!)).toBeLessThan(1e-10 * size);
            expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-12);
          }
        }
      }),
    );
  });

  it("leaves a diagonal matrix as it is", () => {
    const { values, vectors } = symmetricEigen([3, 0, 0, 0, -2, 0, 0, 0, 0.5], 3);
    expect([...values]).toEqual([3, -2, 0.5]);
    expect([...vectors]).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });
});
