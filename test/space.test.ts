import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromUnit, toUnit } from "../src/space/scale.js";
import { Space } from "../src/space/space.js";

describe("scales", () => {
  it("maps linear ranges affinely", () => {
    const b = { min: -5, max: 10 };
    expect(fromUnit(b, 0)).toBe(-5);
    expect(fromUnit(b, 1)).toBe(10);
    expect(fromUnit(b, 0.2)).toBeCloseTo(-2, 12);
    expect(toUnit(b, -2)).toBeCloseTo(0.2, 12);
  });

  it("maps log ranges geometrically", () => {
    const b = { min: 1e-5, max: 1e-1, scale: "log" as const };
    expect(fromUnit(b, 0.5)).toBeCloseTo(1e-3, 12);
    expect(toUnit(b, 1e-4)).toBeCloseTo(0.25, 12);
  });

  it("round-trips and never leaves the bounds", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-6, max: 1e3, noNaN: true }),
        fc.double({ min: 1.001, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.boolean(),
        (min, factor, u, log) => {
          const b = { min, max: min * factor, scale: log ? ("log" as const) : ("linear" as const) };
          const raw = fromUnit(b, u);
          expect(raw).toBeGreaterThanOrEqual(b.min);
          expect(raw).toBeLessThanOrEqual(b.max);
          expect(toUnit(b, raw)).toBeCloseTo(u, 6);
        },
      ),
    );
  });
});

describe("Space", () => {
  const space = new Space({ x: { min: -5, max: 10 }, lr: { min: 1e-5, max: 1e-1, scale: "log" } });

  it("keeps declaration order", () => {
    expect(space.names).toEqual(["x", "lr"]);
    expect(space.dimension).toBe(2);
    expect(space.toParams([0, 0.5])).toEqual({ x: -5, lr: expect.closeTo(1e-3, 12) });
  });

  it("names every problem of a point", () => {
    expect(space.problems({ x: 11, lr: "a", y: 1 }, "p")).toEqual([
      { path: "p.y", message: "unknown parameter" },
      { path: "p.x", message: "11 is outside [-5, 10]" },
      { path: "p.lr", message: 'expected a finite number, got "a"' },
    ]);
    expect(space.problems({ x: 0 }, "p")).toEqual([{ path: "p.lr", message: "missing" }]);
    expect(space.problems(null, "p")).toEqual([
      { path: "p", message: "expected an object of parameter values" },
    ]);
    expect(space.problems({ x: 0, lr: 0.01 }, "p")).toEqual([]);
  });
});
