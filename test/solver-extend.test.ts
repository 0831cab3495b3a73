// Solver.extend: a run's budget grows, as a second `study.optimize` call goes on with a study.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import { createSolverLog, openSolverLog } from "../src/log/solver-log.js";
import { minimize } from "../src/solver/minimize.js";
import { createSolver, restoreSolver, type Solver } from "../src/solver/solver.js";
import { removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

const BOUNDS = {
  x: { min: -5, max: 5 },
  y: { min: -5, max: 5 },
  z: { type: "int", min: 0, max: 20 },
} as const;

/** A bowl with its minimum 0 at (1, −2, 7). */
const bowl = (p: { x: number; y: number; z: number }) =>
  (p.x - 1) ** 2 + (p.y + 2) ** 2 + ((p.z - 7) / 4) ** 2;

/** Asks and tells one trial at a time until the run stops asking; returns the trials asked. */
function runOut(solver: Solver<{ x: number; y: number; z: number }>): number {
  let asked = 0;
  for (let batch = solver.ask({ max: 1 }); batch !== null; batch = solver.ask({ max: 1 })) {
    for (const trial of batch) solver.tell({ id: trial.id, value: bowl(trial.params) });
    asked += batch.length;
  }
  return asked;
}

describe("Solver.extend", () => {
  it("lets a spent run ask again, from where it stood, up to the grown budget", () => {
    const solver = createSolver({ seed: 4, budget: 30, bounds: BOUNDS });
    expect(runOut(solver)).toBe(30);
    expect(solver.phase).toBe("done");
    const before = solver.best()!.value;
    const probeSize = solver.config.probeSize;
    solver.extend(25);
    expect(solver.phase).toBe("refine");
    expect(solver.config.budget).toBe(55);
    expect(solver.config.probeSize).toBe(probeSize); // the probe keeps its size
    const next = solver.ask({ max: 1 })!;
    expect(next.map((t) => t.id)).toEqual([31]);
    solver.tell({ id: next[0]!.id, value: bowl(next[0]!.params) });
    expect(runOut(solver)).toBe(24);
    expect(solver.phase).toBe("done");
    expect(solver.asked).toBe(55);
    expect(solver.best()!.value).toBeLessThanOrEqual(before);
    // The chart went back to refining, then to done again.
    expect(solver.actor.getSnapshot().status).toBe("done");
  });

  it.each([
    ["tpe", "tpe"],
    ["nelder-mead", "nelderMead"],
    ["auto", "globalLocal"],
  ] as const)("revives a spent %s run in its own refine state", (strategy, state) => {
    const solver = createSolver({ seed: 5, budget: 24, bounds: BOUNDS, strategy });
    runOut(solver);
    solver.extend(6);
    expect(solver.actor.getSnapshot().value).toEqual({ refine: state });
    expect(runOut(solver)).toBe(6);
    expect(solver.phase).toBe("done");
  });

  it("raises the cap of a run still going, and a global phase held to the end hands over again", () => {
    // 8 parameters at budget 40: no room for a simplex after the opening, so the run holds its
    // global phase to the end. Grown, it has room, and its local phase comes.
    const wide = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [`p${i}`, { min: -1, max: 1 }] as const),
    );
    const sphere = (p: Record<string, number>) => Object.values(p).reduce((s, v) => s + v * v, 0);
    const run = (extendAt: number | null) => {
      const solver = createSolver({ seed: 2, budget: 40, bounds: wide });
      for (let k = 0; k < 40 + (extendAt === null ? 0 : 100); k++) {
        if (k === extendAt) solver.extend(100);
        const [trial] = solver.ask({ max: 1 })!;
        solver.tell({ id: trial!.id, value: sphere(trial!.params) });
      }
      return solver;
    };
    const held = run(null);
    expect(held.toJSON().strategy).toMatchObject({ held: true });
    const grown = run(25);
    expect(grown.asked).toBe(140);
    // Released: it went local at least once (the local phase's generation counts them).
    const state = grown.toJSON().strategy as unknown as { held: boolean; generation: number };
    expect(state.held).toBe(false);
    expect(state.generation).toBeGreaterThan(0);
    expect(grown.best()!.value).toBeLessThan(held.best()!.value);
  });

  it("saves the grown budget, and a restored run goes on as the uninterrupted one", () => {
    const solver = createSolver({ seed: 9, budget: 20, bounds: BOUNDS });
    runOut(solver);
    solver.extend(15);
    const [first] = solver.ask({ max: 1 })!;
    const saved = JSON.parse(JSON.stringify(solver.toJSON()));
    expect(saved).toMatchObject({ budget: 35, extended: 15, config: { budget: 35 } });
    expect(saved.probe.count).toBe(solver.config.probeSize);
    const copy = restoreSolver<{ x: number; y: number; z: number }>(saved);
    expect(copy.config).toEqual(solver.config);
    for (const s of [solver, copy]) s.tell({ id: first!.id, value: bowl(first!.params) });
    const trace = (s: Solver<{ x: number; y: number; z: number }>) => {
      const seen: unknown[] = [];
      for (let batch = s.ask({ max: 2 }); batch !== null; batch = s.ask({ max: 2 })) {
        seen.push(batch);
        s.tell(batch.map((t) => ({ id: t.id, value: bowl(t.params) })));
      }
      return seen;
    };
    expect(trace(copy)).toEqual(trace(solver));
    // A spent run saved after growing twice reopens spent, and grows again.
    solver.extend(5);
    runOut(solver);
    const twice = restoreSolver(JSON.parse(JSON.stringify(solver.toJSON())));
    expect(twice.phase).toBe("done");
    expect(twice.toJSON().extended).toBe(20);
    twice.extend(1);
    expect(twice.ask()).toHaveLength(1);
  });

  it("refuses a corrupt extended count, and an edited budget still", () => {
    const solver = createSolver({ seed: 1, budget: 20, bounds: BOUNDS });
    solver.extend(10);
    const saved = JSON.parse(JSON.stringify(solver.toJSON()));
    expect(() => restoreSolver({ ...saved, extended: 30 })).toThrow(
      "corrupt solver artifact: extended: expected a whole number from 1 to 29 (the trials the budget grew by), got 30",
    );
    expect(() => restoreSolver({ ...saved, extended: 2 })).toThrow(/probe\.count/);
    // An edited budget is named as such, whatever it makes of `extended`.
    for (const budget of [31, 15, 10]) {
      expect(() => restoreSolver({ ...saved, config: { ...saved.config, budget } })).toThrow(
        `config.budget: ${budget} is not the budget this run was planned with (30`,
      );
    }
    // A dropped count reads as a probe the config does not give, and says why it might not.
    const { extended: _dropped, ...withoutCount } = saved;
    expect(() => restoreSolver(withoutCount)).toThrow(
      /probe\.count: .* sizes it from the budget less its extended/,
    );
  });

  it("refuses what is not a whole number of trials, and a stopped solver, changing nothing", () => {
    const solver = createSolver({ seed: 1, budget: 20, bounds: BOUNDS });
    for (const bad of [0, -3, 1.5, Number.NaN, "5" as unknown as number]) {
      expect(() => solver.extend(bad)).toThrow(UsageError);
    }
    expect(() => solver.extend(0)).toThrow("extend: trials must be a whole number ≥ 1, got 0");
    expect(() => solver.extend(Number.MAX_SAFE_INTEGER)).toThrow(/past the largest safe integer/);
    // A grown config must still be one a saved run can be read back with.
    const ratio = createSolver({ seed: 1, budget: 20, probeRatio: 0.5, bounds: BOUNDS });
    expect(() => ratio.extend(3_000_000)).toThrow(
      "extend: a budget of 3000020 is refused (probeRatio: the probe would take 1500010 points (budget × probeRatio); at most 1000000)",
    );
    expect(ratio.config.budget).toBe(20);
    expect(solver.config.budget).toBe(20);
    solver.stop();
    expect(() => solver.extend(5)).toThrow("extend: the solver was stopped");
  });

  it("lets minimize go on with a grown run, as a second study.optimize call does", async () => {
    const solver = createSolver({ seed: 3, budget: 25, bounds: BOUNDS });
    const first = await minimize(bowl, solver);
    expect(first.evaluations).toBe(25);
    solver.extend(25);
    const ids: number[] = [];
    const second = await minimize(bowl, solver, { onTrial: (outcome) => ids.push(outcome.trial.id) });
    expect(second.evaluations).toBe(25);
    expect(ids).toEqual(Array.from({ length: 25 }, (_, i) => i + 26));
    expect(second.best!.value).toBeLessThanOrEqual(first.best!.value);
  });

  it("is logged from a grown solver with no history yet: the log reopens with its probe", () => {
    const dir = tempDir();
    const grown = createSolver({ seed: 3, budget: 20, bounds: BOUNDS });
    grown.extend(80);
    const solver = createSolverLog(dir, grown);
    runOut(solver);
    solver.closeLog();
    const reopened = openSolverLog<{ x: number; y: number; z: number }>(dir);
    expect(reopened.asked).toBe(100);
    expect(reopened.config.probeSize).toBe(grown.config.probeSize);
    expect(reopened.best()).toEqual(solver.best());
    reopened.closeLog();
  });

  it("is logged: a solver log reopens grown, and replays the trials asked after", () => {
    const dir = tempDir();
    const solver = createSolverLog(dir, createSolver({ seed: 6, budget: 15, bounds: BOUNDS }));
    runOut(solver);
    solver.extend(5);
    const [trial] = solver.ask({ max: 1 })!;
    solver.closeLog();
    const reopened = openSolverLog<{ x: number; y: number; z: number }>(dir);
    expect(reopened.config.budget).toBe(20);
    expect(reopened.pendingTrials()).toEqual([trial]);
    reopened.closeLog();
  });

  it("grows a saved run from the command line: a larger budget in --config, and solve goes on", async () => {
    const dir = tempDir();
    const config = { seed: 2, budget: 6, bounds: { x: { min: 0, max: 1 } } };
    writeJson(dir, "c.json", config);
    const objective = [process.execPath, "-e", "console.log((Number(process.env.ARQON_X) - 0.3) ** 2)"];
    const solve = (file: string) =>
      runArqonInProcess(["solve", "--config", file, "--state", "s.json", "--", ...objective], dir);
    expect((await solve("c.json")).status).toBe(0);
    writeJson(dir, "more.json", { ...config, budget: 10 });
    const more = await solve("more.json");
    expect(more.status, more.stderr).toBe(0);
    expect(more.stderr).toContain("budget grown by 4 to 10 trials");
    const state = JSON.parse(readFileSync(join(dir, "s.json"), "utf8"));
    expect(state).toMatchObject({ budget: 10, extended: 4, nextId: 11 });
    expect(state.trials.filter((t: { status: string }) => t.status === "told")).toHaveLength(10);
    // Spent again: the same larger config now continues the saved run, which has nothing left.
    const again = await solve("more.json");
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toContain("budget grown");
  });
});
