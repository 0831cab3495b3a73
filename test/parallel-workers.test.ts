import { describe, expect, it } from "vitest";
import { phaseOf } from "../bench/parallel-pool.js";
import { ellipsoid, hartmann6In20 } from "../bench/quality-suite.js";
import { createSolver, minimize, restoreSolver, type Solver } from "../src/index.js";
import { branin, rastrigin, sphere, type TestFunction } from "../src/testing/functions.js";

/** What a simulated pool of `workers` saw: every asked point in order, and its utilisation. */
interface PoolTrace {
  readonly asked: number[][];
  /** Per refill: trials in flight, and how many could have been (budget permitting). */
  readonly busy: number[];
  readonly capacity: number[];
  /** Per refill, with `phases`: the probe, or the default strategy's global or local phase. */
  readonly phase: string[];
}

/**
 * Drives `solver` with `workers` trials outstanding: every free worker asks, then the oldest
 * trial is told (equal evaluation times: first in, first out), until the budget is spent.
 */
function pool(
  solver: Solver,
  fn: TestFunction,
  workers: number,
  stopAfter = Infinity,
  phases = false,
): PoolTrace {
  const outstanding: { id: number; value: number }[] = [];
  const trace: PoolTrace = { asked: [], busy: [], capacity: [], phase: [] };
  let told = solver.told;
  for (const t of solver.pendingTrials()) outstanding.push({ id: t.id, value: fn.evaluate(t.params) });
  for (;;) {
    while (outstanding.length < workers && trace.asked.length < stopAfter) {
      const batch = solver.ask({
        max: Math.min(workers - outstanding.length, stopAfter - trace.asked.length),
      });
      if (batch === null || batch.length === 0) break;
      for (const trial of batch) {
        trace.asked.push(fn.names.map((n) => trial.params[n] as number));
        outstanding.push({ id: trial.id, value: fn.evaluate(trial.params) });
      }
    }
    if (outstanding.length === 0 || trace.asked.length >= stopAfter) break;
    trace.busy.push(outstanding.length);
    trace.capacity.push(Math.min(workers, solver.config.budget - told));
    if (phases) trace.phase.push(phaseOf(solver));
    const done = outstanding.shift()!;
    solver.tell({ id: done.id, value: done.value });
    told++;
  }
  return trace;
}

function busyFraction(trace: PoolTrace, from = 0): number {
  const sum = (xs: number[]) => xs.slice(from).reduce((a, b) => a + b, 0);
  return sum(trace.busy) / sum(trace.capacity);
}

/**
 * Over the refills made in `phase`: the busy fraction, the most trials running, the count of
 * running trials seen most often, and the refills.
 */
function phaseBusy(trace: PoolTrace, phase: string) {
  let busy = 0;
  let capacity = 0;
  let most = 0;
  const seen = new Map<number, number>();
  trace.phase.forEach((p, i) => {
    if (p !== phase) return;
    const running = trace.busy[i]!;
    busy += running;
    capacity += trace.capacity[i]!;
    most = Math.max(most, running);
    seen.set(running, (seen.get(running) ?? 0) + 1);
  });
  const usual = [...seen].reduce((a, b) => (b[1] > a[1] ? b : a), [0, 0])[0];
  const refills = [...seen.values()].reduce((a, b) => a + b, 0);
  return { busy: busy / capacity, most, usual, refills };
}

/** A region's pending trial saved as drawn beyond a region with no free int cell: `[id, [value, width, true]]`. */
const CROWDED = /\[-?\d+,\[("Infinity"|-?[\d.e+-]+),\d+,true\]\]/;

describe("parallel workers (several trials outstanding)", () => {
  it("keeps at least 80 % of 8 workers busy in every phase, with no repeated point and the exact budget", () => {
    const fn = rastrigin(4);
    const solver = createSolver({ seed: 5, budget: 200, bounds: fn.bounds });
    const trace = pool(solver, fn, 8, Infinity, true);
    expect(solver.strategyName).toBe("global-local");
    expect(trace.asked).toHaveLength(200);
    expect(solver.asked).toBe(200);
    expect(solver.ask()).toBeNull();
    expect(new Set(trace.asked.map((p) => JSON.stringify(p))).size).toBe(200);
    expect(busyFraction(trace)).toBeGreaterThanOrEqual(0.8);
    // Global phases keep every worker busy; local phases hold ⌈0.8 · 8⌉ = 7 running
    // (localBusyShare), so that each step sees one more of the latest results.
    const global = phaseBusy(trace, "global");
    const local = phaseBusy(trace, "local");
    expect(global.refills).toBeGreaterThan(20);
    expect(local.refills).toBeGreaterThan(20);
    expect(global.most).toBe(8);
    expect(global.busy).toBeGreaterThanOrEqual(0.95);
    expect(local.most).toBe(7);
    expect(local.busy).toBeGreaterThanOrEqual(0.8);
  });

  it("holds ⌈localBusyShare · c⌉ trials running in a local phase, for any pool size c", () => {
    // A local phase asks for no more while that many run. It can start with more running, asked
    // by the global phase before it: those drain first.
    const fn = rastrigin(3);
    for (const [workers, localBusyShare, held] of [
      [4, undefined, 4],
      [5, undefined, 4],
      [8, undefined, 7],
      [16, undefined, 13],
      [8, 1, 8],
      [8, 0.5, 4],
    ] as const) {
      const autoOptions = localBusyShare === undefined ? {} : { localBusyShare };
      const solver = createSolver({ seed: 3, budget: 240, bounds: fn.bounds, autoOptions });
      const trace = pool(solver, fn, workers, Infinity, true);
      const local = phaseBusy(trace, "local");
      const label = `${workers} workers, localBusyShare ${localBusyShare ?? "default"}`;
      expect(trace.asked, label).toHaveLength(240);
      expect(local.refills, label).toBeGreaterThan(30);
      expect(local.usual, label).toBe(held);
      expect(local.most, label).toBeLessThanOrEqual(Math.max(held, workers - 1));
      expect(phaseBusy(trace, "global").usual, label).toBe(workers);
    }
  });

  it("hands the local phase a full batch, not one simplex point", () => {
    const fn = sphere(3);
    // openingShare 0: the local phase follows the probe directly (no opening global phase).
    const solver = createSolver({ seed: 2, budget: 80, bounds: fn.bounds, autoOptions: { openingShare: 0 } });
    pool(solver, fn, 1, solver.config.probeSize); // the probe, one at a time
    while (solver.pendingTrials().length > 0) {
      const [t] = solver.pendingTrials();
      solver.tell({ id: t!.id, value: fn.evaluate(t!.params) });
    }
    const restored = restoreSolver(JSON.parse(JSON.stringify(solver.toJSON())));
    const first = solver.ask({ max: 8 })!;
    const artifact = solver.toJSON();
    expect(artifact.strategy?.phase).toBe("local");
    // A pool larger than any before is filled; from then on ⌈0.8 · 8⌉ = 7 run (localBusyShare).
    expect(first).toHaveLength(8);
    const tell = (k: number) => solver.tell({ id: first[k]!.id, value: fn.evaluate(first[k]!.params) });
    tell(0);
    expect(solver.ask({ max: 1 })).toEqual([]);
    tell(1);
    expect(solver.ask({ max: 1 })).toHaveLength(1);
    expect(solver.ask({ max: 1 })).toEqual([]);
    // Every worker busy on request: the same run with localBusyShare 1 refills at once.
    const full = createSolver({
      seed: 2,
      budget: 80,
      bounds: fn.bounds,
      autoOptions: { openingShare: 0, localBusyShare: 1 },
    });
    pool(full, fn, 1, full.config.probeSize);
    for (const t of full.pendingTrials()) full.tell({ id: t.id, value: fn.evaluate(t.params) });
    const [one, ...rest] = full.ask({ max: 8 })!;
    expect(rest).toHaveLength(7);
    full.tell({ id: one!.id, value: fn.evaluate(one!.params) });
    expect(full.ask({ max: 1 })).toHaveLength(1);
    expect(restored.ask({ max: 8 })).toEqual(first);
  });

  it("learns a pool that grows one ask at a time, even when empty asks are undone", () => {
    // A shared study's workers join one by one, each asking for one trial, and the study undoes
    // an ask that hands out nothing (restoring the state before it). The local phase must still
    // reach the whole pool's share, not the share of the first few workers.
    const fn = sphere(3);
    const solver = createSolver({
      seed: 2,
      budget: 120,
      bounds: fn.bounds,
      autoOptions: { openingShare: 0 },
    });
    pool(solver, fn, 1, solver.config.probeSize);
    for (const t of solver.pendingTrials()) solver.tell({ id: t.id, value: fn.evaluate(t.params) });
    let current = solver;
    const askUndoingEmpty = () => {
      const before = JSON.parse(JSON.stringify(current.toJSON()));
      const trials = current.ask({ max: 1 })!;
      if (trials.length === 0) current = restoreSolver(before);
      return trials;
    };
    const running: { id: number; params: Record<string, number> }[] = [];
    for (let worker = 0; worker < 8; worker++) running.push(...(askUndoingEmpty() as typeof running));
    expect(current.toJSON().strategy?.phase).toBe("local");
    expect(running).toHaveLength(8);
    // Steady state: one result in, one trial out, 7 running.
    for (let round = 0; round < 20; round++) {
      const done = running.shift()!;
      current.tell({ id: done.id, value: fn.evaluate(done.params) });
      running.push(...(askUndoingEmpty() as typeof running));
      expect(askUndoingEmpty()).toEqual([]);
      expect(running.length).toBeLessThanOrEqual(8);
    }
    expect(running).toHaveLength(7);
  });

  it("gives a local phase's trials to the trust region alone from three trials at once", () => {
    // A simplex moves one vertex per result: among c workers it would get one trial in c and
    // wait on the others' results for each step. With one or two workers it still takes part.
    const fn = rastrigin(3);
    const proposers = (workers: number) => {
      const solver = createSolver({ seed: 6, budget: 150, bounds: fn.bounds });
      const count = { simplex: 0, region: 0 };
      const outstanding: { id: number; value: number }[] = [];
      for (;;) {
        while (outstanding.length < workers) {
          const batch = solver.ask({ max: workers - outstanding.length });
          if (batch === null || batch.length === 0) break;
          const owners = new Map((solver.toJSON().strategy?.owners as [number, number][] | undefined) ?? []);
          for (const trial of batch) {
            const owner = owners.get(trial.id);
            if (owner === -2) count.region++;
            else if (owner !== undefined && owner >= 0) count.simplex++;
            outstanding.push({ id: trial.id, value: fn.evaluate(trial.params) });
          }
        }
        const done = outstanding.shift();
        if (done === undefined) break;
        solver.tell(done);
      }
      return count;
    };
    for (const workers of [3, 8]) {
      const count = proposers(workers);
      expect(count.simplex, `${workers} workers`).toBe(0);
      expect(count.region, `${workers} workers`).toBeGreaterThan(50);
    }
    for (const workers of [1, 2]) {
      const count = proposers(workers);
      expect(count.simplex, `${workers} workers`).toBeGreaterThan(10);
      expect(count.region, `${workers} workers`).toBeGreaterThan(10);
    }
  });

  it("is deterministic for a given order of asks and tells, and resumes exactly mid-run", () => {
    const fn = rastrigin(3);
    const run = () => pool(createSolver({ seed: 11, budget: 150, bounds: fn.bounds }), fn, 8).asked;
    const reference = run();
    expect(run()).toEqual(reference);
    for (const cut of [30, 90]) {
      const original = createSolver({ seed: 11, budget: 150, bounds: fn.bounds });
      const before = pool(original, fn, 8, cut);
      const restored = restoreSolver(JSON.parse(JSON.stringify(original.toJSON())));
      const pending = restored.pendingTrials().length;
      expect(pending).toBeGreaterThan(0);
      const after = pool(restored, fn, 8);
      expect([...before.asked, ...after.asked]).toEqual(reference);
    }
  });

  it("one worker: one trial at a time, the trust region only on its turns (none with maxStreak 0)", () => {
    const fn = sphere(2);
    const sequential = pool(createSolver({ seed: 4, budget: 60, bounds: fn.bounds }), fn, 1);
    expect(busyFraction(sequential)).toBe(1);
    const regionTrials = (autoOptions: object): number => {
      const solver = createSolver({ seed: 4, budget: 60, bounds: fn.bounds, autoOptions });
      let region = 0;
      for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
        const owners = (solver.toJSON().strategy?.owners as [number, number][] | undefined) ?? [];
        const fromRegion = owners.filter(([, owner]) => owner === -2).length;
        if (fromRegion > 0) expect(batch).toHaveLength(1);
        region += fromRegion;
        solver.tell(batch.map((t) => ({ id: t.id, value: fn.evaluate(t.params) })));
      }
      return region;
    };
    expect(regionTrials({ maxStreak: 0 })).toBe(0);
    expect(regionTrials({})).toBeGreaterThan(0);
  });

  it("refines a smooth basin with 8 workers to the digits one worker reaches", () => {
    // The local phase's batches come from a quadratic trust region: on Branin at budget 120 the
    // median best point over ten seeds is within 1e-6 of the minimum, as it is sequentially (a
    // TPE-filled batch left it near 1e-4). A seed or two in twenty stop near 1e-5 to 1e-4.
    const fn = branin();
    const regrets: number[] = [];
    for (let seed = 1; seed <= 10; seed++) {
      const solver = createSolver({ seed, budget: 120, bounds: fn.bounds });
      pool(solver, fn, 8);
      regrets.push(solver.best()!.value - fn.minimum);
    }
    regrets.sort((a, b) => a - b);
    expect((regrets[4]! + regrets[5]!) / 2).toBeLessThan(1e-6);
    expect(regrets[9]).toBeLessThan(1e-3);
  });

  it("converges an ill-conditioned quadratic with 8 workers", () => {
    // Ellipsoid-8D (condition 10⁶): with 8 workers the trust region's fits take the best point
    // below 1e-10 on every seed here; before its ridge was made smaller, and with a quarter of
    // the radius between running points and no resampled fits, they stopped between 8e-5 and 3e-4.
    const fn = ellipsoid(8);
    for (let seed = 1; seed <= 3; seed++) {
      const solver = createSolver({ seed, budget: 300, bounds: fn.bounds });
      pool(solver, fn, 8);
      expect(solver.best()!.value - fn.minimum, `seed ${seed}`).toBeLessThan(1e-10);
    }
  });

  it("does not take a new simplex's vertices, or the region's batches, for steps (tieShare)", () => {
    // Hartmann-6 in 20-D has 14 irrelevant dimensions. One trial at a time, a new simplex's
    // one-axis vertices are told among the trust region's turns (so they were with 8 workers
    // while a local phase still ran a simplex). Leaving out the phase's first d results instead
    // (the rule before) counted some of them, and their ties along the irrelevant axes fired
    // the rule: on seed 5 here one trial at a time, on seeds 1 and 3 with 8 workers then. With
    // 8 workers now, the region's batches alone must not fire it either.
    const fn = hartmann6In20();
    for (const workers of [1, 8]) {
      for (const seed of [1, 2, 3, 4, 5, 6]) {
        const solver = createSolver({ seed, budget: 300, bounds: fn.bounds });
        pool(solver, fn, workers);
        // `stepped` never resets once set, so the end state tells whether the rule ever fired.
        const stepped = (solver.toJSON().strategy as { stepped?: boolean } | null)?.stepped === true;
        solver.stop();
        expect(stepped, `${workers} workers, seed ${seed}`).toBe(false);
      }
    }
  });

  it("minimize runs 8 evaluations at once with the default strategy", async () => {
    const fn = sphere(3);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const result = await minimize(
      async (params) => {
        running++;
        peak = Math.max(peak, running);
        started.push(running);
        // Yield a few times so other evaluations start before this one ends.
        for (let i = 0; i < 3; i++) await null;
        running--;
        return fn.evaluate(params);
      },
      { seed: 9, budget: 120, bounds: fn.bounds },
      { concurrency: 8 },
    );
    expect(result.evaluations).toBe(120);
    expect(peak).toBe(8);
    expect(started.length).toBe(120);
  });

  it("keeps the trust region off running trials' int cells, even when its region runs out of free ones", () => {
    // (The probe's own points can share a cell on some seeds: only the refine phase is held to it.)
    // A 10 × 10 grid of ints, half the running trials told after each ask: the region around the
    // incumbent soon holds no cell that is neither measured nor running.
    const bounds = {
      a: { type: "int", min: 0, max: 9 },
      b: { type: "int", min: 0, max: 90, step: 10 },
    } as const;
    const cost = (p: { a: number; b: number }) => Math.abs(p.a - 6) + Math.abs(p.b - 30) / 10;
    for (const seed of [1, 2, 3]) {
      const solver = createSolver({ seed, budget: 60, bounds });
      for (
        let batch = solver.ask({ max: 8 });
        batch !== null && batch.length > 0;
        batch = solver.ask({ max: 8 })
      ) {
        const running = solver.pendingTrials().map((t) => JSON.stringify(t.params));
        expect(new Set(running).size, `seed ${seed}, after ${solver.asked} asked`).toBe(running.length);
        const pending = solver.pendingTrials();
        for (const t of pending.slice(0, Math.ceil(pending.length / 2)))
          solver.tell({ id: t.id, value: cost(t.params) });
      }
      for (const t of solver.pendingTrials()) solver.tell({ id: t.id, value: cost(t.params) });
      expect(solver.best()?.value).toBe(0);
    }
  });

  it("ends an int branch's local phase once its region holds no free cell, as one worker does", () => {
    // An int branch (20 × 7 cells) beside a float one that inflates the space to d = 7, where a
    // local phase that never stalls on repeats runs to the stagnation limit, d + 8 (d + 1) = 71
    // trials. One trial at a time, a region whose cells are all measured repeats one, which
    // ends the phase; with 8 workers it draws free cells from a wider box instead, and before
    // those draws counted as repeats the grid's phase ran 63 to 74 trials (seeds 1..8).
    const bounds = {
      kind: { type: "categorical", choices: ["grid", "line"] },
      a: { type: "int", min: 1, max: 20, when: { kind: ["grid"] } },
      b: { type: "int", min: 1, max: 64, scale: "log", when: { kind: ["grid"] } },
      x: { min: 0, max: 1, when: { kind: ["line"] } },
      y: { min: 0, max: 1, when: { kind: ["line"] } },
      z: { min: 0, max: 1, when: { kind: ["line"] } },
      w: { min: 0, max: 1, when: { kind: ["line"] } },
    } as const;
    const cost = (p: Readonly<Record<string, unknown>>) => {
      const at = (name: string) => p[name] as number;
      return p.kind === "grid"
        ? 0.003 * (at("a") - 7) ** 2 + 0.02 * (Math.log2(at("b")) - 4) ** 2
        : 0.5 + (at("x") - 0.7) ** 2 + (at("y") - 0.2) ** 2 + (at("z") - 0.5) ** 2 + (at("w") - 0.1) ** 2;
    };
    const run = (seed: number, cut = Infinity, from?: Solver) => {
      const solver = from ?? createSolver({ seed, budget: 200, bounds });
      const asked: string[] = [];
      let stretch = 0;
      let longest = 0;
      const outstanding = solver.pendingTrials().map((t) => ({ id: t.id, value: cost(t.params) }));
      for (;;) {
        while (outstanding.length < 8 && asked.length < cut) {
          const phase = phaseOf(solver);
          const batch = solver.ask({ max: 8 - outstanding.length });
          if (batch === null || batch.length === 0) break;
          for (const t of batch) {
            asked.push(JSON.stringify(t.params));
            outstanding.push({ id: t.id, value: cost(t.params) });
            stretch = phase === "local" && t.params.kind === "grid" ? stretch + 1 : 0;
            longest = Math.max(longest, stretch);
          }
        }
        if (outstanding.length === 0 || asked.length >= cut) break;
        const done = outstanding.shift()!;
        solver.tell(done);
      }
      return { solver, asked, longest };
    };
    for (const seed of [1, 2, 3, 4]) {
      const { solver, longest } = run(seed);
      expect(solver.best()?.value, `seed ${seed}`).toBe(0);
      expect(longest, `seed ${seed}: the grid's longest local stretch`).toBeLessThan(50);
    }
    // Which running trials were drawn outside their region is part of the saved state (seed 5
    // has such trials running after 70 and 76 asks).
    const reference = run(5).asked;
    for (const cut of [70, 76]) {
      const head = run(5, cut);
      const state = JSON.stringify(head.solver.toJSON());
      expect(state, `cut at ${cut}: a trial drawn beyond its region runs`).toMatch(CROWDED);
      const restored = restoreSolver(JSON.parse(state));
      expect([...head.asked, ...run(5, Infinity, restored).asked], `cut at ${cut}`).toEqual(reference);
    }
  });

  it("never takes a region of floats, or one walled off by failed trials, for a crowded one", () => {
    // A branch of floats beside a categorical, a third of the trials failing: the failed trials
    // can refuse every draw of a small region, which still holds free points. One trial at a
    // time that never repeats a value, so with 8 workers it must not count as a repeat either.
    const bounds = {
      kind: { type: "categorical", choices: ["a", "b"] },
      x: { min: 0, max: 1, when: { kind: ["a"] } },
      y: { min: 0, max: 1, when: { kind: ["a"] } },
      z: { min: 0, max: 1, when: { kind: ["b"] } },
    } as const;
    const cost = (p: Readonly<Record<string, unknown>>) =>
      p.kind === "a" ? ((p.x as number) - 0.3) ** 2 + ((p.y as number) - 0.6) ** 2 : 1 + (p.z as number);
    for (const seed of [1, 2, 3]) {
      const solver = createSolver({ seed, budget: 200, bounds });
      const running: { id: number; params: Readonly<Record<string, unknown>> }[] = [];
      for (;;) {
        const batch = solver.ask({ max: 8 - running.length });
        if (batch === null) break;
        running.push(...batch);
        expect(JSON.stringify(solver.toJSON()), `seed ${seed}, ${solver.asked} asked`).not.toMatch(CROWDED);
        const done = running.shift();
        if (done === undefined) break;
        if (done.id % 3 === 0) solver.fail(done.id, "crashed");
        else solver.tell({ id: done.id, value: cost(done.params) });
      }
    }
  });

  it("keeps every worker busy while one probe trial runs long", () => {
    const fn = sphere(2);
    for (const slow of [1, 7, 10]) {
      const solver = createSolver({ seed: 1, budget: 100, bounds: fn.bounds });
      const sizes: number[] = [];
      for (let k = 0; k < 6; k++) {
        // Every free worker of 8 asks; all but the slow probe trial then finish.
        sizes.push(solver.ask({ max: 8 - solver.pendingTrials().length })?.length ?? 0);
        for (const t of solver.pendingTrials())
          if (t.id !== slow) solver.tell({ id: t.id, value: fn.evaluate(t.params) });
      }
      expect(solver.pendingTrials().map((t) => t.id)).toEqual([slow]);
      // Once the slow trial is out (the first ask, or the second for trial 10), 7 workers are free.
      expect(sizes, `probe trial ${slow} held`).toEqual([8, slow <= 8 ? 7 : 8, 7, 7, 7, 7]);
    }
  });
});
