import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Prng } from "../src/random/prng.js";

const draw = (prng: Prng, n: number) => Array.from({ length: n }, () => prng.nextUint32());

describe("Prng", () => {
  it("repeats its sequence for the same seed and diverges for neighbouring seeds", () => {
    expect(draw(Prng.fromSeed(42), 8)).toEqual(draw(Prng.fromSeed(42), 8));
    const a = draw(Prng.fromSeed(42), 8);
    const b = draw(Prng.fromSeed(43), 8);
    expect(a.filter((x, i) => x === b[i])).toHaveLength(0);
  });

  it("separates streams of one seed", () => {
    expect(draw(Prng.fromSeed(7, 0), 4)).not.toEqual(draw(Prng.fromSeed(7, 1), 4));
  });

  it("resumes exactly from a saved state", () => {
    const prng = Prng.fromSeed(3);
    draw(prng, 5);
    const copy = Prng.fromState(prng.state());
    expect(draw(copy, 10)).toEqual(draw(prng, 10));
  });

  it("rejects a malformed state", () => {
    expect(() => Prng.fromState([1, 2, 3])).toThrow(/four unsigned 32-bit integers/);
    expect(() => Prng.fromState([1, 2, 3, -1])).toThrow(RangeError);
  });

  it("rejects a non-finite seed", () => {
    expect(() => Prng.fromSeed(Number.NaN)).toThrow(/seed must be finite/);
  });

  it("draws uniforms in [0, 1) with the right mean and spread", () => {
    const prng = Prng.fromSeed(11);
    const n = 20_000;
    let sum = 0;
    let sumSq = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = prng.next();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
      sumSq += u * u;
    }
    expect(outside).toBe(0);
    const mean = sum / n;
    expect(mean).toBeCloseTo(0.5, 2);
    expect(sumSq / n - mean * mean).toBeCloseTo(1 / 12, 2);
  });

  it("draws standard normals with mean 0 and variance 1", () => {
    const prng = Prng.fromSeed(5);
    const n = 20_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const z = prng.normal();
      sum += z;
      sumSq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(sumSq / n).toBeGreaterThan(0.95);
    expect(sumSq / n).toBeLessThan(1.05);
  });

  it("gives ±1 signs about half each and integers within range", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
        const prng = Prng.fromSeed(seed);
        for (let i = 0; i < 50; i++) {
          const k = prng.int(n);
          expect(Number.isInteger(k) && k >= 0 && k < n).toBe(true);
        }
      }),
    );
    const prng = Prng.fromSeed(9);
    let plus = 0;
    for (let i = 0; i < 10_000; i++) if (prng.sign() === 1) plus++;
    expect(plus / 10_000).toBeGreaterThan(0.48);
    expect(plus / 10_000).toBeLessThan(0.52);
  });
});
