import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ChangeBudget,
  ChangeBudgetCode,
  changeBudgetOptionIssues,
  DEFAULT_CHANGE_BUDGET_OPTIONS,
} from "../src/engine/safety/change-budget.js";

const MINUTE = 60_000;

describe("ChangeBudget", () => {
  it("moves of 0.05 then 0.06 exceed a budget of 0.1 (§6 case 42 adapted)", () => {
    const budget = new ChangeBudget([1], { changeBudget: 0.1, budgetWindowMs: MINUTE });
    expect(budget.record([0], 0)).toBe(ChangeBudgetCode.Healthy); // reference
    expect(budget.record([0.05], 1000)).toBe(ChangeBudgetCode.Healthy);
    expect(budget.record([0.11], 2000)).toBe(ChangeBudgetCode.Exhausted);
    expect(budget.lastTripIndex).toBe(0);
    expect(budget.spent(0, 2000)).toBeCloseTo(0.11, 12);
  });

  it("a move more than a window (plus one bucket) later finds the budget replenished (§6 case 42 adapted)", () => {
    const options = { changeBudget: 0.1, budgetWindowMs: MINUTE, buckets: 12 }; // buckets of 5 s
    const late = new ChangeBudget([1], options);
    late.record([0], 0);
    late.record([0.05], 1000);
    expect(late.record([0.1], 1000 + MINUTE + 5000)).toBe(ChangeBudgetCode.Healthy);
    expect(late.spent(0, 1000 + MINUTE + 5000)).toBeCloseTo(0.05, 12);
    // Sliding, and never early: just after one window the first move still counts.
    const early = new ChangeBudget([1], options);
    early.record([0], 0);
    early.record([0.05], 1000);
    expect(early.record([0.11], 1000 + MINUTE)).toBe(ChangeBudgetCode.Exhausted);
  });

  it("moves count for at least the window and at most one bucket longer", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20_000 }), fc.double({ min: -1, max: 1, noNaN: true })), {
          minLength: 1,
          maxLength: 60,
        }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 200_000 }),
        (steps, buckets, extra) => {
          const windowMs = 50_000;
          const budget = new ChangeBudget([2], {
            changeBudget: Number.POSITIVE_INFINITY,
            budgetWindowMs: windowMs,
            buckets,
          });
          let t = 0;
          let previous = 0;
          budget.record([0], 0);
          const moves: Array<readonly [number, number]> = [];
          for (const [dt, value] of steps) {
            t += dt;
            budget.record([value], t);
            moves.push([t, (value - previous) / 2]);
            previous = value;
          }
          const now = t + extra;
          const within = (span: number) =>
            moves.filter(([at]) => now - at < span).reduce((a, [, m]) => a + m, 0);
          // The net movement still counting is that of the moves since some cut-off between one
          // window and one window plus a bucket ago.
          const spent = budget.spent(0, now);
          const cutoffs = moves
            .map(([at]) => now - at)
            .filter((age) => age >= windowMs && age < windowMs + windowMs / buckets);
          const candidates = [within(windowMs), ...cutoffs.map((age) => within(age + 1e-6))];
          expect(candidates.some((c) => Math.abs(c - spent) <= 1e-9)).toBe(true);
        },
      ),
    );
  });

  it("says when it has replenished, and when it will", () => {
    const budget = new ChangeBudget([1], { changeBudget: 0.1, budgetWindowMs: MINUTE, buckets: 6 }); // 10 s buckets
    budget.record([0], 0);
    budget.record([0.08], 3000);
    expect(budget.record([0.16], 25_000)).toBe(ChangeBudgetCode.Exhausted);
    expect(budget.isReplenished(25_000)).toBe(false);
    // The 0.08 from 3 s (bucket 0) leaves at 70 s; what remains (0.08) is within budget.
    const by = budget.replenishedBy(25_000);
    expect(by).toBe(70_000);
    expect(budget.isReplenished(by - 1)).toBe(false);
    expect(budget.isReplenished(by)).toBe(true);
    expect(budget.spent(0, by)).toBeCloseTo(0.08, 12);
    expect(budget.replenishedBy(by)).toBe(by);
  });

  it("parameters are independent, each measured against its own range", () => {
    const budget = new ChangeBudget([1, 100], { changeBudget: 0.35 });
    budget.record([0.5, 50], 0);
    // Parameter 1 moves 10 raw = 10 % of its range per apply, one way; parameter 0 goes 0.01 = 1 %
    // back and forth, which nets out: the budget limits net displacement.
    const codes: number[] = [];
    for (let k = 1; k <= 4; k++) codes.push(budget.record([0.5 + (k % 2) * 0.01, 50 + 10 * k], k * 100));
    expect(codes).toEqual([0, 0, 0, ChangeBudgetCode.Exhausted]);
    expect(budget.lastTripIndex).toBe(1);
    expect(budget.spent(0, 400)).toBeCloseTo(0, 12);
    expect(budget.spent(1, 400)).toBeCloseTo(0.4, 12);
    expect(budget.isReplenished(400)).toBe(false);
  });

  it("wouldExceed tells Tier 1 which parameter a move would take over budget, without recording it", () => {
    const budget = new ChangeBudget([1, 1], { changeBudget: 0.1 });
    budget.record([0, 0], 0);
    budget.record([0.05, 0.09], 10);
    expect(budget.wouldExceed([0.1, 0.09], 20)).toBe(-1);
    expect(budget.wouldExceed([0.1, 0.12], 20)).toBe(1);
    expect(budget.spent(1, 20)).toBeCloseTo(0.09, 12);
  });

  it("a non-finite value is not a move and does not become the reference", () => {
    const budget = new ChangeBudget([1], { changeBudget: 0.1 });
    budget.record([0.5], 0);
    expect(budget.record([Number.NaN], 1)).toBe(ChangeBudgetCode.Healthy);
    expect(budget.record([0.55], 2)).toBe(ChangeBudgetCode.Healthy);
    expect(budget.spent(0, 2)).toBeCloseTo(0.05, 12);
  });

  it("time going backwards is read as the latest time seen", () => {
    const budget = new ChangeBudget([1], { changeBudget: 1, budgetWindowMs: 1000, buckets: 1 });
    budget.record([0], 0);
    budget.record([0.5], 5000);
    expect(budget.spent(0, 0)).toBeCloseTo(0.5, 12); // not rewound to before the move
  });

  it("reset forgets all movement", () => {
    const budget = new ChangeBudget([1], { changeBudget: 0.1 });
    budget.record([0], 0);
    budget.record([0.2], 1);
    budget.reset([0.2]);
    expect(budget.spent(0, 2)).toBe(0);
    expect(budget.lastTripIndex).toBe(-1);
    expect(budget.record([0.25], 3)).toBe(ChangeBudgetCode.Healthy);
  });

  it("validates options and ranges, and documents its defaults", () => {
    expect(changeBudgetOptionIssues({})).toEqual([]);
    expect(changeBudgetOptionIssues(DEFAULT_CHANGE_BUDGET_OPTIONS)).toEqual([]);
    expect(changeBudgetOptionIssues({ changeBudget: Number.POSITIVE_INFINITY })).toEqual([]);
    const issues = changeBudgetOptionIssues({ changeBudget: 0, budgetWindowMs: -1, buckets: 0.5, y: 2 }, "b");
    expect(issues.map((i) => i.path).sort()).toEqual([
      "b.buckets",
      "b.budgetWindowMs",
      "b.changeBudget",
      "b.y",
    ]);
    expect(() => new ChangeBudget([Number.NaN])).toThrow(/ranges\[0\]/);
    expect(() => new ChangeBudget([1], { buckets: 0 })).toThrow(RangeError);
    expect(new ChangeBudget([1], { buckets: 3 }).options).toEqual({
      ...DEFAULT_CHANGE_BUDGET_OPTIONS,
      buckets: 3,
    });
  });
});
