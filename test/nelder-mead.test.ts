import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Prng } from "../src/random/prng.js";
import { createNelderMead, type NelderMeadOptions, restoreNelderMead } from "../src/solver/nelder-mead.js";
import {
  centroidOfBest,
  gaoHanCoefficients,
  pointOnWorstLine,
  projectToUnitCube,
  shrinkTowards,
  simplexSize,
} from "../src/solver/simplex.js";
import type { Evaluation, Strategy, StrategyState } from "../src/solver/strategy.js";

type Objective = (u: readonly number[]) => number;

/** Asks with the given history and no limit worth mentioning. */
function ask(strategy: Strategy, history: readonly Evaluation[], max: number, firstId: number): number[][] {
  const points = strategy.ask({ history, pending: [], remaining: 1000 }, max, firstId);
  if (points === null) throw new Error("Nelder–Mead returned null");
  return points;
}

/** Runs ask → evaluate → tell (in order) until `total` evaluations are in the history. */
function drive(strategy: Strategy, f: Objective, history: Evaluation[], total: number, max = 1000): number {
  let id = 0;
  while (history.length < total) {
    const points = ask(strategy, history, Math.min(max, total - history.length), id);
    expect(points.length).toBeGreaterThan(0); // told in order and in full: it never waits here
    points.forEach((u, i) => {
      const value = f(u);
      history.push({ u, value });
      strategy.tell(id + i, value);
    });
    id += points.length;
  }
  return Math.min(...history.map((e) => e.value));
}

function randomHistory(d: number, count: number, f: Objective, seed: number): Evaluation[] {
  const prng = Prng.fromSeed(seed, 1);
  return Array.from({ length: count }, () => {
    const u = Array.from({ length: d }, () => prng.next());
    return { u, value: f(u) };
  });
}

function expectPoints(actual: number[][], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((p, i) => {
    expect(p.length).toBe(expected[i]!.length);
    p.forEach((x, j) => {
      expect(x).toBeCloseTo(expected[i]![j]!, 12);
    });
  });
}

const state = (s: Strategy): Record<string, unknown> => s.toJSON() as Record<string, unknown>;

describe("simplex kernels", () => {
  it("computes the Gao–Han coefficients, textbook values at d = 1 and 2", () => {
    expect(gaoHanCoefficients(2)).toEqual({ reflection: 1, expansion: 2, contraction: 0.5, shrink: 0.5 });
    expect(gaoHanCoefficients(1)).toEqual(gaoHanCoefficients(2));
    expect(gaoHanCoefficients(4)).toEqual({
      reflection: 1,
      expansion: 1.5,
      contraction: 0.625,
      shrink: 0.75,
    });
    const six = gaoHanCoefficients(6);
    expect(six.expansion).toBeCloseTo(4 / 3, 15);
    expect(six.contraction).toBeCloseTo(2 / 3, 15);
    expect(six.shrink).toBeCloseTo(5 / 6, 15);
  });

  it("computes centroid, the points on the worst line, shrink and size by hand", () => {
    // sorted simplex: best (0.3, 0.4), next (0.5, 0.4), worst (0.3, 0.6); centroid of the best two (0.4, 0.4)
    const vertices = [
      [0.3, 0.4],
      [0.5, 0.4],
      [0.3, 0.6],
    ];
    const c = centroidOfBest(vertices, 2, [0, 0]);
    expectPoints([c], [[0.4, 0.4]]);
    const w = vertices[2]!;
    expectPoints([pointOnWorstLine(c, w, 1, [0, 0])], [[0.5, 0.2]]); // reflection
    expectPoints([pointOnWorstLine(c, w, 1.5, [0, 0])], [[0.55, 0.1]]); // expansion α·γ = 1.5
    expectPoints([pointOnWorstLine(c, w, 0.5, [0, 0])], [[0.45, 0.3]]); // outside contraction
    expectPoints([pointOnWorstLine(c, w, -0.5, [0, 0])], [[0.35, 0.5]]); // inside contraction
    expectPoints([shrinkTowards(vertices[0]!, w, 0.75, [0, 0])], [[0.3, 0.55]]);
    expect(simplexSize(vertices)).toBeCloseTo(0.2, 15);
    // a line leaving the cube is projected back onto it
    expectPoints([pointOnWorstLine(c, w, 3, [0, 0])], [[0.7, 0]]);
    expect(projectToUnitCube([-0.5, 0.25, 1.5])).toEqual([0, 0.25, 1]);
  });
});

describe("Nelder–Mead moves (d = 2, textbook coefficients)", () => {
  // Start (0.5, 0.5) = 0; step 0.1 builds (0.6, 0.5) = 1 and (0.5, 0.6) = 2.
  // Sorted: best b = (0.5, 0.5), s = (0.6, 0.5), worst w = (0.5, 0.6); centroid c = (0.55, 0.5).
  function built(): Strategy {
    const nm = createNelderMead(2, 1, { initialStep: 0.1 });
    const history: Evaluation[] = [{ u: [0.5, 0.5], value: 0 }];
    expectPoints(ask(nm, history, 10, 0), [
      [0.6, 0.5],
      [0.5, 0.6],
    ]);
    nm.tell(0, 1);
    nm.tell(1, 2);
    expectPoints(ask(nm, history, 10, 2), [[0.6, 0.4]]); // reflection r = c + (c − w)
    return nm;
  }
  const h: Evaluation[] = [];

  it("expands when the reflection beats the best, and keeps the better of e and r", () => {
    const nm = built();
    nm.tell(2, -1);
    expectPoints(ask(nm, h, 10, 3), [[0.65, 0.3]]); // e = c + 2(c − w)
    nm.tell(3, -2);
    // simplex e(−2), b(0), s(1): c = (0.575, 0.4), w = s → r = (0.55, 0.3)
    expectPoints(ask(nm, h, 10, 4), [[0.55, 0.3]]);

    const other = built();
    other.tell(2, -1);
    ask(other, h, 10, 3);
    other.tell(3, -0.5); // expansion worse than the reflection: r is kept
    // simplex r(−1), b(0), s(1): c = (0.55, 0.45), w = (0.6, 0.5) → r = (0.5, 0.4)
    expectPoints(ask(other, h, 10, 4), [[0.5, 0.4]]);
  });

  it("accepts a reflection between the best and the second worst", () => {
    const nm = built();
    nm.tell(2, 0.5);
    // simplex b(0), r(0.5) = (0.6, 0.4), s(1): c = (0.55, 0.45), w = s → (0.5, 0.4)
    expectPoints(ask(nm, h, 10, 3), [[0.5, 0.4]]);
  });

  it("contracts outside, then accepts or shrinks", () => {
    const nm = built();
    nm.tell(2, 1.5); // second worst ≤ fr < worst
    expectPoints(ask(nm, h, 10, 3), [[0.575, 0.45]]); // c + ½(c − w)
    nm.tell(3, 1.2);
    // simplex b(0), s(1), oc(1.2) = (0.575, 0.45): c = (0.55, 0.5) → r = (0.525, 0.55)
    expectPoints(ask(nm, h, 10, 4), [[0.525, 0.55]]);

    const shrinking = built();
    shrinking.tell(2, 1.5);
    ask(shrinking, h, 10, 3);
    shrinking.tell(3, 1.7); // worse than the reflection: shrink towards b by ½
    expectPoints(ask(shrinking, h, 10, 4), [
      [0.55, 0.5],
      [0.5, 0.55],
    ]);
  });

  it("contracts inside, then accepts or shrinks (a NaN counts as the worst)", () => {
    const nm = built();
    nm.tell(2, 3); // fr ≥ worst
    expectPoints(ask(nm, h, 10, 3), [[0.525, 0.55]]); // c − ½(c − w)
    nm.tell(3, 1.9);
    // simplex b(0), s(1), ic(1.9) = (0.525, 0.55): c = (0.55, 0.5) → r = (0.575, 0.45)
    expectPoints(ask(nm, h, 10, 4), [[0.575, 0.45]]);

    const shrinking = built();
    shrinking.tell(2, Number.NaN);
    expectPoints(ask(shrinking, h, 10, 3), [[0.525, 0.55]]);
    shrinking.tell(3, 2); // not better than the worst: shrink
    expectPoints(ask(shrinking, h, 10, 4), [
      [0.55, 0.5],
      [0.5, 0.55],
    ]);
  });
});

describe("Nelder–Mead moves (d = 3, Gao–Han coefficients γ = 5/3, ρ = 7/12, σ = 2/3)", () => {
  // Start (0.4, 0.4, 0.4) = 0, vertices 0.1 up each axis valued 1, 2, 3: the worst is (0.4, 0.4, 0.5)
  // and the centroid of the other three is c = (0.4 + 0.1/3, 0.4 + 0.1/3, 0.4); c − w = (1/30, 1/30, −0.1).
  const c = 0.4 + 0.1 / 3;
  function built(): Strategy {
    const nm = createNelderMead(3, 1, { initialStep: 0.1 });
    const points = ask(nm, [{ u: [0.4, 0.4, 0.4], value: 0 }], 10, 0);
    expectPoints(points, [
      [0.5, 0.4, 0.4],
      [0.4, 0.5, 0.4],
      [0.4, 0.4, 0.5],
    ]);
    for (const [i, v] of [1, 2, 3].entries()) nm.tell(i, v);
    expectPoints(ask(nm, [], 10, 3), [[c + 1 / 30, c + 1 / 30, 0.3]]);
    return nm;
  }

  it("expands by γ = 1 + 2/d", () => {
    const nm = built();
    nm.tell(3, -1);
    const t = 5 / 3;
    expectPoints(ask(nm, [], 10, 4), [[c + t / 30, c + t / 30, 0.4 - t * 0.1]]);
  });

  it("contracts by ρ = 0.75 − 1/(2d) outside and inside", () => {
    const outside = built();
    outside.tell(3, 2.5);
    const t = 7 / 12;
    expectPoints(ask(outside, [], 10, 4), [[c + t / 30, c + t / 30, 0.4 - t * 0.1]]);
    const inside = built();
    inside.tell(3, 4);
    expectPoints(ask(inside, [], 10, 4), [[c - t / 30, c - t / 30, 0.4 + t * 0.1]]);
  });

  it("shrinks by σ = 1 − 1/d towards the best vertex", () => {
    const nm = built();
    nm.tell(3, 4);
    ask(nm, [], 10, 4);
    nm.tell(4, 3.5);
    const s = 0.4 + (2 / 3) * 0.1;
    expectPoints(ask(nm, [], 10, 5), [
      [s, 0.4, 0.4],
      [0.4, s, 0.4],
      [0.4, 0.4, s],
    ]);
  });
});

describe("Nelder–Mead bounds", () => {
  it("steps the other way where the cube ends, and clamps moves into it", () => {
    const nm = createNelderMead(2, 1, { initialStep: 0.1 });
    const history: Evaluation[] = [{ u: [0.95, 0.02], value: 0 }];
    expectPoints(ask(nm, history, 10, 0), [
      [0.85, 0.02],
      [0.95, 0.12],
    ]);
    nm.tell(0, 1);
    nm.tell(1, 2);
    // c = (0.9, 0.02), w = (0.95, 0.12): r = (0.85, −0.08) is clamped to (0.85, 0)
    expectPoints(ask(nm, history, 10, 2), [[0.85, 0]]);
    nm.tell(2, -1);
    // e = c + 2(c − w) = (0.8, −0.18) → (0.8, 0)
    expectPoints(ask(nm, history, 10, 3), [[0.8, 0]]);
  });

  it("only ever proposes points inside the unit cube, whatever the values", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 5, maxLength: 5 }),
        fc.array(fc.oneof(fc.double({ noNaN: false }), fc.constant(Number.NaN)), {
          minLength: 60,
          maxLength: 60,
        }),
        fc.integer({ min: 1, max: 4 }),
        (d, start, values, max) => {
          const nm = createNelderMead(d, 7, { initialStep: 0.5, sizeTolerance: 0.2, valueTolerance: 1e9 });
          const history: Evaluation[] = [{ u: start.slice(0, d), value: 0 }];
          let id = 0;
          for (const value of values) {
            const points = ask(nm, history, max, id);
            expect(points.length).toBeGreaterThan(0);
            expect(points.length).toBeLessThanOrEqual(max);
            for (const p of points) {
              expect(p.length).toBe(d);
              for (const x of p) expect(x >= 0 && x <= 1).toBe(true);
            }
            points.forEach((u, i) => {
              history.push({ u, value });
              nm.tell(id + i, value);
            });
            id += points.length;
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("Nelder–Mead sequencing", () => {
  it("hands a batch out in pieces of at most max, then waits for every result", () => {
    const nm = createNelderMead(5, 1, { initialStep: 0.1 });
    const history: Evaluation[] = [{ u: [0.5, 0.5, 0.5, 0.5, 0.5], value: 0 }];
    const a = ask(nm, history, 2, 10);
    const b = ask(nm, history, 2, 12);
    const c = ask(nm, history, 2, 14);
    expect([a.length, b.length, c.length]).toEqual([2, 2, 1]);
    // the i-th point of an ask is trial firstId + i: axis k moved for id 10 + k
    [...a, ...b, ...c].forEach((p, k) => {
      expect(p[k]).toBeCloseTo(0.6, 15);
    });
    expect(ask(nm, history, 5, 15)).toEqual([]);
    nm.tell(14, -3);
    nm.tell(10, 4);
    nm.tell(12, 1);
    nm.tell(13, 2);
    nm.tell(99, -100); // not one of its points: ignored
    nm.tell(14, 50); // already told: ignored
    expect(ask(nm, history, 5, 15)).toEqual([]);
    nm.tell(11, 3);
    const out = ask(nm, history, 5, 15);

    // the same values told in order give the same reflection
    const inOrder = createNelderMead(5, 1, { initialStep: 0.1 });
    ask(inOrder, history, 5, 0);
    for (const [i, v] of [4, 3, 1, 2, -3].entries()) inOrder.tell(i, v);
    const expected = ask(inOrder, history, 5, 5);
    expect(out).toEqual(expected);
    expect(out.length).toBe(1);
    // worst vertex is axis 0 (value 4): the reflection moves away from it
    expect(out[0]![0]!).toBeLessThan(0.5);
  });

  it("keeps a batch's rest for later asks even when results of its first part are in", () => {
    const nm = createNelderMead(3, 1, { initialStep: 0.1 });
    const history: Evaluation[] = [{ u: [0.2, 0.2, 0.2], value: 0 }];
    const first = ask(nm, history, 1, 0);
    nm.tell(0, 1);
    const second = ask(nm, history, 1, 1);
    expect(first[0]![0]).toBeCloseTo(0.3, 15);
    expect(second[0]![1]).toBeCloseTo(0.3, 15);
  });

  it("starts at the centre of the cube, and evaluates it, when the history is empty", () => {
    const nm = createNelderMead(2, 1, { initialStep: 0.1 });
    expectPoints(ask(nm, [], 10, 0), [
      [0.5, 0.5],
      [0.6, 0.5],
      [0.5, 0.6],
    ]);
  });

  it("rejects a max below 1", () => {
    const nm = createNelderMead(2, 1);
    expect(() => nm.ask({ history: [], pending: [], remaining: 5 }, 0, 0)).toThrow(RangeError);
  });
});

describe("Nelder–Mead convergence and restarts", () => {
  const quadratic: Objective = (u) => (u[0]! - 0.3) ** 2 + 2 * (u[1]! - 0.3) ** 2;

  it("after converging on a quadratic restarts from the best point of an unvisited region", () => {
    const nm = createNelderMead(2, 3, { initialStep: 0.1 });
    const history: Evaluation[] = [
      { u: [0.35, 0.3], value: quadratic([0.35, 0.3]) },
      { u: [0.8, 0.8], value: quadratic([0.8, 0.8]) },
      { u: [0.28, 0.36], value: quadratic([0.28, 0.36]) }, // same region as the start
    ];
    let id = 0;
    let restartBatch: number[][] | undefined;
    while (restartBatch === undefined && history.length < 500) {
      const startsBefore = state(nm).starts;
      const points = ask(nm, history, 10, id);
      if (state(nm).starts !== startsBefore && startsBefore === 1) restartBatch = points;
      points.forEach((u, i) => {
        history.push({ u, value: quadratic(u) });
        nm.tell(id + i, quadratic(u));
      });
      id += points.length;
    }
    expect(restartBatch).toBeDefined();
    const best = Math.min(...history.map((e) => e.value));
    expect(best).toBeLessThan(1e-8); // converged before restarting
    expect(history.length).toBeLessThan(150);
    // the new simplex sits around (0.8, 0.8), the only region far from the first search
    expectPoints(restartBatch!, [
      [0.9, 0.8],
      [0.8, 0.9],
    ]);
  });

  it("with no unvisited region left, restarts around the incumbent, wider each time, in random directions", () => {
    // a separation of 0.5 leaves no history point of this search far enough to open a new region
    const nm = createNelderMead(2, 5, {
      initialStep: 0.1,
      sizeTolerance: 1e-3,
      valueTolerance: 1e-6,
      restartSeparation: 0.5,
    });
    const history: Evaluation[] = [{ u: [0.3, 0.3], value: 0 }];
    const f: Objective = (u) => Math.abs(u[0]! - 0.3) + Math.abs(u[1]! - 0.3); // minimum at the start point
    let id = 0;
    const steps: number[] = [];
    while (steps.length < 3 && history.length < 2000) {
      const startsBefore = state(nm).starts;
      const points = ask(nm, history, 10, id);
      if (state(nm).starts !== startsBefore && startsBefore !== 0) {
        expect(points.length).toBe(2);
        // each new vertex differs from the incumbent (0.3, 0.3) along its own axis only
        const moves = points.map((p, axis) => {
          expect(p[1 - axis]).toBeCloseTo(0.3, 12);
          return p[axis]! - 0.3;
        });
        expect(Math.abs(moves[0]!)).toBeCloseTo(Math.abs(moves[1]!), 12);
        steps.push(Math.abs(moves[0]!));
      }
      points.forEach((u, i) => {
        history.push({ u, value: f(u) });
        nm.tell(id + i, f(u));
      });
      id += points.length;
    }
    expect(steps.length).toBe(3);
    // Each restart doubles the step from 0.1 (0.1, 0.2, 0.4) until it would pass 0.5, then draws it
    // at random up to 0.5. A restart whose every vertex was measured already is run through
    // without asking: here the first one (0.1, the first simplex's own directions) is.
    expect(steps[0]).toBeCloseTo(0.2, 12);
    expect(steps[1]).toBeCloseTo(0.4, 12);
    expect(steps[2]).toBeGreaterThan(0.1);
    expect(steps[2]).toBeLessThanOrEqual(0.5);
    expect(steps[2]).not.toBeCloseTo(0.4, 6);
    // No point handed out had been measured before.
    const keys = history.map((h) => h.u.join(","));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("minimises a 2-D quadratic to 1e-12 within 150 evaluations", () => {
    const f: Objective = (u) =>
      (u[0]! - 0.25) ** 2 + 3 * (u[1]! - 0.7) ** 2 + 0.5 * (u[0]! - 0.25) * (u[1]! - 0.7);
    const tight: NelderMeadOptions = { sizeTolerance: 1e-7, valueTolerance: 1e-14 };
    for (const seed of [1, 2, 3]) {
      const history = randomHistory(2, 5, f, seed);
      expect(drive(createNelderMead(2, seed, tight), f, history, 150)).toBeLessThan(1e-12);
    }
  });

  it("minimises a 6-D quadratic to 1e-10 within 600 evaluations", () => {
    const centre = [0.25, 0.62, 0.49, 0.36, 0.73, 0.6];
    const f: Objective = (u) => u.reduce((s, x, i) => s + (i + 1) * (x - centre[i]!) ** 2, 0);
    const tight: NelderMeadOptions = { sizeTolerance: 1e-7, valueTolerance: 1e-14 };
    for (const seed of [1, 2]) {
      const history = randomHistory(6, 5, f, seed);
      expect(drive(createNelderMead(6, seed, tight), f, history, 600)).toBeLessThan(1e-10);
    }
  });
});

describe("Nelder–Mead never asks a measured point again", () => {
  const distinct = (history: readonly Evaluation[]) => new Set(history.map((h) => h.u.join(","))).size;

  it("at a minimum on the bound, where reflections and contractions clamp onto measured vertices", () => {
    const history: Evaluation[] = [];
    drive(createNelderMead(1, 3), (u) => u[0]!, history, 100, 1);
    expect(distinct(history)).toBe(history.length);
    // It still finds the minimum: the bound itself.
    expect(Math.min(...history.map((h) => h.value))).toBe(0);
  });

  it("on a plateau, where every simplex collapses onto its vertices", () => {
    const history: Evaluation[] = [];
    drive(createNelderMead(2, 4), () => 1, history, 300, 1);
    expect(distinct(history)).toBe(history.length);
  });

  it("in a grid of cells, judged by the cell a vertex measures (as the solver snaps ints)", () => {
    const cell = (u: readonly number[]) => u.map((x) => Math.round(x * 20) / 20);
    const f: Objective = (u) => (u[0]! - 0.35) ** 2 + (u[1]! - 0.15) ** 2;
    const nm = createNelderMead(2, 6, {}, { measuredAt: cell });
    const history: Evaluation[] = [];
    let id = 0;
    while (history.length < 200) {
      for (const u of ask(nm, history, 1, id)) {
        const snapped = cell(u);
        history.push({ u: snapped, value: f(snapped) });
        nm.tell(id++, f(snapped));
      }
    }
    // 441 cells: at most a couple of asks land in a measured cell (a random restart's vertices,
    // once the search near the best cell has nothing new), where it once asked the best one again
    // and again.
    expect(history.length - distinct(history)).toBeLessThanOrEqual(2);
    expect(Math.min(...history.map((h) => h.value))).toBeCloseTo(0, 12);
  });

  it("with holdAtConvergence, stops where it converges on measured values and leaves the restart to its owner", () => {
    // x on [0, 1] minimised at the bound: the simplex collapses onto 0 from values it has.
    const history: Evaluation[] = [];
    const held = createNelderMead(1, 3, {}, { holdAtConvergence: true });
    let id = 0;
    let waited = 0;
    while (history.length < 60 && waited === 0) {
      const points = ask(held, history, 1, id);
      if (points.length === 0) waited++;
      for (const u of points) {
        history.push({ u, value: u[0]! });
        held.tell(id++, u[0]!);
      }
    }
    // It handed out nothing, with nothing pending, because it converged: its owner's cue.
    expect(waited).toBe(1);
    expect(held.converged).toBe(true);
    expect(state(held).starts).toBe(1);
    // The same run without the hook restarts by itself within the ask.
    const free = createNelderMead(1, 3);
    const again: Evaluation[] = [];
    drive(free, (u) => u[0]!, again, history.length + 5, 1);
    expect(state(free).starts).toBeGreaterThan(1);
  });

  it("with holdAtConvergence, counts a neighbourhood with nothing new as converged, not as a reason to wait", () => {
    // Every cell of 8 binary ints measured: the search finds nothing new anywhere.
    const cell = (u: readonly number[]) => u.map((x) => (x < 0.5 ? 0.25 : 0.75));
    const history: Evaluation[] = Array.from({ length: 256 }, (_, k) => {
      const u = Array.from({ length: 8 }, (_, j) => ((k >> j) & 1 ? 0.75 : 0.25));
      return { u, value: u.reduce((sum, x, j) => sum + Math.sin(7 * x * (j + 1)), 0) };
    });
    const held = createNelderMead(8, 1, {}, { measuredAt: cell, holdAtConvergence: true });
    expect(ask(held, history, 1, 0)).toEqual([]);
    // Its owner's cue, not a simplex stuck mid-step that hands out nothing for ever.
    expect(held.converged).toBe(true);
  });

  it("restarts from each unvisited history point once, even when that restart asks nothing", () => {
    // A 4 × 4 grid of cells, all but one measured: restarts from measured candidates ask nothing,
    // and each candidate may be started from once; the unmeasured cell is asked before long.
    const cell = (u: readonly number[]) => u.map((x) => (Math.min(3, Math.floor(x * 4)) + 0.5) / 4);
    const f: Objective = (u) => (u[0]! - 0.6) ** 2 + (u[1]! - 0.1) ** 2;
    const history: Evaluation[] = [];
    for (let a = 0; a < 4; a++)
      for (let b = 0; b < 4; b++) {
        const u = [(a + 0.5) / 4, (b + 0.5) / 4];
        if (a !== 0 || b !== 3) history.push({ u, value: f(u) });
      }
    const nm = createNelderMead(2, 2, { restartSeparation: 0.2 }, { measuredAt: cell });
    const [first] = ask(nm, history, 1, 0);
    expect(cell(first!)).toEqual([0.125, 0.875]);
  });

  it("takes a measured point's value from a history it did not ask itself, NaN as +∞", () => {
    // The start's two axis neighbours were measured already (one of them failed: NaN, ranked as
    // +∞), so the first simplex needs no trial, and the first point asked is a new one.
    const history: Evaluation[] = [
      { u: [0.5, 0.5], value: 1 },
      { u: [0.65, 0.5], value: Number.NaN },
      { u: [0.5, 0.65], value: 2 },
    ];
    const nm = createNelderMead(2, 1);
    const [first] = ask(nm, history, 1, 0);
    // The failed vertex ranks worst: the first point is its reflection through the other two's
    // centroid (0.5, 0.575), with the reflection coefficient 1 at d = 2.
    expect(first![0]).toBeCloseTo(0.35, 12);
    expect(first![1]).toBeCloseTo(0.65, 12);
  });
});

describe("Nelder–Mead persistence", () => {
  const branin: Objective = (u) => {
    const x = -5 + 15 * u[0]!;
    const y = 15 * u[1]!;
    return (
      (y - (5.1 / (4 * Math.PI ** 2)) * x * x + (5 / Math.PI) * x - 6) ** 2 +
      10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x) +
      10
    );
  };

  /** Asks with max 1 and tells each result one ask late, so states are caught mid-batch. */
  function step(
    strategy: Strategy,
    history: Evaluation[],
    id: number,
    pendingOut: [number, number][],
  ): number[][] {
    const points = ask(strategy, history, 1, id);
    for (const [pid, value] of pendingOut.splice(0)) strategy.tell(pid, value);
    points.forEach((u, i) => {
      pendingOut.push([id + i, branin(u)]);
    });
    return points;
  }

  it("restore(toJSON()) after a JSON round trip continues identically, restarts and PRNG included", () => {
    const options: NelderMeadOptions = { sizeTolerance: 1e-2, valueTolerance: 1e-3 }; // many restarts
    for (const checkpoint of [3, 40, 41, 150, 151]) {
      const original = createNelderMead(2, 11, options);
      const history = randomHistory(2, 4, branin, 11);
      const queue: [number, number][] = [];
      let id = 0;
      for (let n = 0; n < checkpoint; n++) {
        const points = step(original, history, id, queue);
        points.forEach((u) => {
          history.push({ u, value: branin(u) });
        });
        id += points.length;
      }
      const copy = restoreNelderMead(JSON.parse(JSON.stringify(original.toJSON())) as StrategyState);
      expect(copy.toJSON()).toEqual(original.toJSON());
      const historyCopy = history.slice();
      const queueCopy = queue.map(([pid, value]): [number, number] => [pid, value]);
      for (let k = 0; k < 150; k++) {
        const a = step(original, history, id, queue);
        const b = step(copy, historyCopy, id, queueCopy);
        expect(b).toEqual(a);
        a.forEach((u) => {
          history.push({ u, value: branin(u) });
          historyCopy.push({ u, value: branin(u) });
        });
        id += a.length;
      }
      expect(copy.toJSON()).toEqual(original.toJSON());
      expect(state(original).starts as number).toBeGreaterThan(1);
    }
  });

  it("round-trips at every checkpoint of a run with restarts", () => {
    const options: NelderMeadOptions = { sizeTolerance: 1e-2, valueTolerance: 1e-3 };
    const nm = createNelderMead(2, 4, options);
    const history = randomHistory(2, 3, branin, 4);
    const queue: [number, number][] = [];
    let id = 0;
    for (let n = 0; n < 300; n++) {
      const saved = JSON.parse(JSON.stringify(nm.toJSON())) as StrategyState;
      const copy = restoreNelderMead(saved);
      const ours = ask(nm, history, 1, id);
      const theirs = ask(copy, history, 1, id);
      expect(theirs).toEqual(ours);
      for (const [pid, value] of queue.splice(0)) nm.tell(pid, value);
      ours.forEach((u, i) => {
        queue.push([id + i, branin(u)]);
        history.push({ u, value: branin(u) });
      });
      id += ours.length;
    }
    expect(state(nm).starts as number).toBeGreaterThan(2);
  });

  it("is deterministic for a seed", () => {
    const run = () => {
      const nm = createNelderMead(3, 9, { sizeTolerance: 1e-2, valueTolerance: 1e-3 });
      const f: Objective = (u) => u.reduce((s, x) => s + Math.abs(x - 0.4), 0);
      const history = randomHistory(3, 2, f, 9);
      drive(nm, f, history, 300);
      return history.map((e) => e.u);
    };
    expect(run()).toEqual(run());
  });

  it("rejects states that are not well-formed Nelder–Mead states", () => {
    const good = createNelderMead(2, 1).toJSON();
    expect(() => restoreNelderMead({ ...good, kind: "tpe" })).toThrow(RangeError);
    expect(() => restoreNelderMead({ ...good, version: 99 })).toThrow(RangeError);
    expect(() => restoreNelderMead({ ...good, phase: "dance" })).toThrow(/phase/);
    expect(() => restoreNelderMead({ ...good, vertices: [[0, 0]] })).toThrow(/vertices/);
    expect(() => restoreNelderMead({ ...good, queue: [7] })).toThrow(/queue/);
    expect(() => restoreNelderMead({ ...good, prng: [1, 2] })).toThrow(RangeError);
  });
});

describe("Nelder–Mead options", () => {
  it("rejects bad dimensions and options with every problem named", () => {
    expect(() => createNelderMead(0, 1)).toThrow(/dimension/);
    expect(() => createNelderMead(2, 1, { initialStep: 0.6 })).toThrow(/initialStep/);
    expect(() => createNelderMead(2, 1, { coefficients: { contraction: 1 } })).toThrow(/contraction/);
    expect(() => createNelderMead(2, 1, { sizeTolerance: 0, restartGrowth: 0.5 })).toThrow(
      /sizeTolerance.*restartGrowth/,
    );
  });

  it("uses coefficients given in the options instead of Gao–Han's", () => {
    const nm = createNelderMead(3, 1, { initialStep: 0.1, coefficients: { expansion: 2 } });
    ask(nm, [{ u: [0.4, 0.4, 0.4], value: 0 }], 10, 0);
    for (const [i, v] of [1, 2, 3].entries()) nm.tell(i, v);
    ask(nm, [], 10, 3);
    nm.tell(3, -1);
    const c = 0.4 + 0.1 / 3;
    expectPoints(ask(nm, [], 10, 4), [[c + 2 / 30, c + 2 / 30, 0.2]]);
  });
});

describe("Nelder–Mead convergence signals (read by the default strategy)", () => {
  /** Runs a 2-D simplex on `f` one point at a time; the strategy after `steps` results. */
  function run(f: (u: readonly number[]) => number, steps: number) {
    const nm = createNelderMead(2, 3, { initialStep: 0.2 });
    const history: Evaluation[] = [{ u: [0.4, 0.6], value: f([0.4, 0.6]) }];
    const seen = { converged: false, flat: false };
    for (let id = 1; id <= steps; id++) {
      const points = nm.ask({ history, pending: [], remaining: 1000 }, 1, id)!;
      for (const u of points) {
        history.push({ u, value: f(u) });
        nm.tell(id, f(u));
      }
      seen.converged ||= nm.converged;
      // Near the minimum a bowl is flat to 1e-8 a little before the size test passes too.
      const best = Math.min(...history.map((e) => e.value));
      seen.flat ||= nm.flat && !nm.converged && best > 1e-6;
    }
    return { nm, seen };
  }

  it("reports neither before its first simplex has values", () => {
    const nm = createNelderMead(2, 1);
    expect(nm.converged).toBe(false);
    expect(nm.flat).toBe(false);
  });

  it("reports convergence on a bowl, and no flat simplex far from its minimum", () => {
    const { seen } = run((u) => (u[0]! - 0.3) ** 2 + (u[1]! - 0.5) ** 2, 400);
    expect(seen.converged).toBe(true);
    expect(seen.flat).toBe(false);
  });

  it("reports a flat simplex on a plateau while it is still wide", () => {
    const { nm } = run(() => 2, 2);
    expect(nm.flat).toBe(true);
    expect(nm.converged).toBe(false);
  });
});
