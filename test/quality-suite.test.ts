import { describe, expect, it } from "vitest";
import { mixedProblems } from "../bench/mixed-suite.js";
import { pinter, shubert3, suiteProblems, weierstrass } from "../bench/quality-suite.js";
import { benchmark as solverQuality } from "../bench/solver-quality.js";
import { Prng } from "../src/random/prng.js";

describe("B1 continuous suite", () => {
  it("has unique names and no point below a problem's stated minimum", () => {
    const problems = suiteProblems();
    expect(new Set(problems.map((p) => p.fn.name)).size).toBe(problems.length);
    const prng = Prng.fromSeed(7, 0x5153);
    for (const { fn, truth } of problems) {
      const x = new Float64Array(fn.dimension);
      for (let k = 0; k < 2000; k++) {
        fn.names.forEach((name, i) => {
          const { min, max } = fn.bounds[name]!;
          x[i] = min + (max - min) * prng.next();
        });
        expect(truth(x), fn.name).toBeGreaterThanOrEqual(fn.minimum - 1e-9);
      }
    }
  });

  it("Shubert-3 reaches its stated minimum, and a fine grid of one term finds nothing lower", () => {
    const fn = shubert3(5);
    const one = shubert3(1);
    const term = (x: number) => one.at([x]);
    let least = Number.POSITIVE_INFINITY;
    let where = 0;
    for (let i = 0; i <= 400_000; i++) {
      const x = -10 + (20 * i) / 400_000;
      const v = term(x);
      if (v < least) {
        least = v;
        where = x;
      }
    }
    expect(least).toBeGreaterThanOrEqual(fn.minimum / 5 - 1e-12);
    expect(least - fn.minimum / 5).toBeLessThan(1e-6);
    // Each coordinate at a minimiser of its term: the sum of five minima.
    expect(fn.at(new Float64Array(5).fill(-1.1140996854711491)) - fn.minimum).toBeLessThan(1e-12);
    expect(Math.abs(where - -1.1141)).toBeLessThan(1e-3);
  });

  it("Weierstrass is 0 at the origin and positive around it", () => {
    const fn = weierstrass(4);
    expect(Math.abs(fn.at([0, 0, 0, 0]))).toBeLessThan(1e-12);
    for (const step of [1e-1, 1e-2, 1e-3]) {
      expect(fn.at([step, 0, 0, 0])).toBeGreaterThan(0);
      expect(fn.at([0, -step, 0, step])).toBeGreaterThan(0);
    }
  });

  it("Pintér is 0 at the origin and couples each coordinate to its cyclic neighbours", () => {
    expect(pinter(6).at(new Float64Array(6))).toBe(0);
    // d = 2 at (π/2, 0), term by term: x_0 = x_2 and x_3 = x_1.
    const h = Math.PI / 2;
    const first = h * h + Math.log10(1 + (1 - Math.PI) ** 2);
    const b2 = h * h + 3 * h;
    const second = 40 * Math.sin(1) ** 2 + 2 * Math.log10(1 + 2 * b2 * b2);
    expect(pinter(2).at([h, 0])).toBeCloseTo(first + second, 12);
  });

  it("B1's title counts the suite's functions and mixed spaces", () => {
    expect(solverQuality.title).toContain(
      `${suiteProblems().length} functions and ${mixedProblems().length} mixed spaces`,
    );
  });
});
