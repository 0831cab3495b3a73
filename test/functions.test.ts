import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ackley,
  branin,
  hartmann6,
  rastrigin,
  rosenbrock,
  sphere,
  type TestFunction,
} from "../src/testing/functions.js";

const everyFunction: TestFunction[] = [
  branin(),
  hartmann6(),
  rosenbrock(2),
  rosenbrock(5),
  rastrigin(1),
  rastrigin(5),
  ackley(2),
  ackley(5),
  sphere(3),
];

/** Arbitrary point inside the function's box, as a vector in `names` order. */
function pointIn(fn: TestFunction): fc.Arbitrary<number[]> {
  return fc.tuple(
    ...fn.names.map((name) => {
      const { min, max } = fn.bounds[name]!;
      return fc.double({ min, max, noNaN: true });
    }),
  );
}

describe("known minima", () => {
  it("Branin is 0.397887… at each of its three minimisers", () => {
    const fn = branin();
    expect(fn.minimum).toBeCloseTo(0.397887357729738, 14);
    expect(fn.minimizers).toHaveLength(3);
    for (const x of fn.minimizers) expect(fn.at(x)).toBeCloseTo(0.3978873577, 6);
    expect(fn.evaluate({ x1: Math.PI, x2: 2.275 })).toBeCloseTo(0.3978873577, 9);
  });

  it("Hartmann-6 is −3.32237 at its published minimiser, and the polished minimum is no higher", () => {
    const fn = hartmann6();
    const atPublished = fn.at(fn.minimizers[0]!);
    expect(atPublished).toBeCloseTo(-3.32237, 5);
    expect(fn.minimum).toBeLessThanOrEqual(atPublished);
    expect(atPublished - fn.minimum).toBeLessThan(1e-9);
  });

  it.each([2, 3, 5, 10])("Rosenbrock-%iD is 0 at (1, …, 1)", (d) => {
    const fn = rosenbrock(d);
    expect(fn.at(fn.minimizers[0]!)).toBe(0);
    expect(fn.minimum).toBe(0);
  });

  it.each([1, 2, 5, 10])("Rastrigin-%iD is 0 at the origin", (d) => {
    expect(rastrigin(d).at(new Float64Array(d))).toBe(0);
  });

  it.each([1, 2, 5, 10])("Ackley-%iD is 0 at the origin (up to rounding)", (d) => {
    expect(ackley(d).at(new Float64Array(d))).toBeLessThan(1e-12);
  });

  it("every published minimiser lies inside its box and attains the minimum", () => {
    for (const fn of everyFunction) {
      for (const x of fn.minimizers) {
        expect(x).toHaveLength(fn.dimension);
        fn.names.forEach((name, i) => {
          expect(x[i]).toBeGreaterThanOrEqual(fn.bounds[name]!.min);
          expect(x[i]).toBeLessThanOrEqual(fn.bounds[name]!.max);
        });
        expect(fn.at(x) - fn.minimum).toBeLessThan(1e-5);
      }
    }
  });
});

describe("values away from the minimum (hand-computed)", () => {
  it("Branin at the origin is 56 − 10/(8π)", () => {
    expect(branin().at([0, 0])).toBeCloseTo(56 - 10 / (8 * Math.PI), 12);
  });

  it("Rosenbrock at the origin is d − 1, and at (−1.2, 1) is 24.2", () => {
    expect(rosenbrock(2).at([0, 0])).toBe(1);
    expect(rosenbrock(4).at([0, 0, 0, 0])).toBe(3);
    expect(rosenbrock(2).at([-1.2, 1])).toBeCloseTo(24.2, 12);
  });

  it("Rastrigin at (1, 1) is 2 and at (0.5, 0.5) is 40.5", () => {
    expect(rastrigin(2).at([1, 1])).toBeCloseTo(2, 12);
    expect(rastrigin(2).at([0.5, 0.5])).toBeCloseTo(40.5, 12);
  });

  it("Ackley at (1, 1) matches the closed form 20 + e − 20·e^(−0.2) − e^(cos 2π)", () => {
    expect(ackley(2).at([1, 1])).toBeCloseTo(20 + Math.E - 20 * Math.exp(-0.2) - Math.E, 12);
  });

  it("Sphere sums squares", () => {
    expect(sphere(3).at([1, -2, 3])).toBe(14);
  });
});

describe("shape and parameters", () => {
  it("names parameters x1 … xd in order and exposes the box as solver bounds", () => {
    const fn = ackley(3);
    expect(fn.names).toEqual(["x1", "x2", "x3"]);
    expect(Object.keys(fn.bounds)).toEqual(["x1", "x2", "x3"]);
    expect(fn.bounds.x2).toEqual({ min: -32.768, max: 32.768 });
    expect(branin().bounds).toEqual({ x1: { min: -5, max: 10 }, x2: { min: 0, max: 15 } });
    expect(rosenbrock(5).name).toBe("Rosenbrock-5D");
  });

  it("evaluate(params) equals at(vector), and a missing parameter is an error", () => {
    const fn = hartmann6();
    const x = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    const params = Object.fromEntries(fn.names.map((name, i) => [name, x[i]!]));
    expect(fn.evaluate(params)).toBe(fn.at(x));
    expect(() => fn.evaluate({ x1: 0.1 })).toThrow(/missing parameter x2/);
    // Present but not a finite number: named as such, not as missing.
    const at = (x1: unknown) => () => fn.evaluate({ ...params, x1 });
    expect(at("0.1")).toThrow(new RangeError('Hartmann-6: parameter x1 must be a finite number, got "0.1"'));
    expect(at(null)).toThrow(new RangeError("Hartmann-6: parameter x1 must be a finite number, got null"));
    expect(at(Number.NaN)).toThrow(
      new RangeError("Hartmann-6: parameter x1 must be a finite number, got NaN"),
    );
    // Values String() cannot show, or shows as a number, still get a RangeError that tells them apart.
    expect(at(Object.create(null))).toThrow(
      new RangeError("Hartmann-6: parameter x1 must be a finite number, got an object"),
    );
    expect(at(1n)).toThrow(new RangeError("Hartmann-6: parameter x1 must be a finite number, got 1n"));
  });

  it("rejects dimensions a function does not support", () => {
    expect(() => rosenbrock(1)).toThrow(RangeError);
    expect(() => rastrigin(0)).toThrow(RangeError);
    expect(() => ackley(2.5)).toThrow(RangeError);
  });
});

describe("properties", () => {
  it.each(everyFunction.map((fn) => [fn.name, fn] as const))(
    "%s is finite and never below its minimum anywhere in its box",
    (_name, fn) => {
      fc.assert(
        fc.property(pointIn(fn), (x) => {
          const value = fn.at(x);
          return Number.isFinite(value) && value >= fn.minimum - 1e-12;
        }),
        { numRuns: 300 },
      );
    },
  );

  it("Rastrigin, Ackley and Sphere are symmetric under sign flips of any coordinate", () => {
    const fns = [rastrigin(4), ackley(4), sphere(4)];
    fc.assert(
      fc.property(
        fc.tuple(...Array.from({ length: 4 }, () => fc.double({ min: -5, max: 5, noNaN: true }))),
        fc.integer({ min: 0, max: 3 }),
        (x, flip) => {
          const flipped = x.slice();
          flipped[flip] = -flipped[flip]!;
          return fns.every((fn) => fn.at(flipped) === fn.at(x));
        },
      ),
    );
  });
});
