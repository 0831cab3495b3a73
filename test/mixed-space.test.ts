// Mixed search spaces: int, categorical and conditional parameters, end to end through the solver.
import { describe, expect, it } from "vitest";
import { ConfigError, UsageError } from "../src/errors.js";
import { Prng } from "../src/random/prng.js";
import { resolveSolverConfig, type SolverConfig, solverConfigIssues } from "../src/solver/config.js";
import { GroupMixture } from "../src/solver/group-mixture.js";
import { GaussianSource } from "../src/solver/parzen.js";
import { createSolver, restoreSolver, type Solver, type Trial } from "../src/solver/solver.js";
import { Space } from "../src/space/space.js";

const MODEL = {
  lr: { min: 1e-4, max: 1, scale: "log" },
  layers: { type: "int", min: 1, max: 9, step: 2 },
  batch: { type: "int", min: 16, max: 512, scale: "log" },
  optimizer: { type: "categorical", choices: ["adam", "sgd", { name: "rms", centered: true }] },
  momentum: { min: 0, max: 0.99, when: { optimizer: ["sgd"] } },
  nesterov: { type: "categorical", choices: [false, true], when: { optimizer: ["sgd"] } },
  dampening: { min: 0, max: 0.5, when: { nesterov: [false] } },
} as const;

const config = (over: Omit<Partial<SolverConfig>, "bounds"> = {}) => ({
  seed: 3,
  budget: 60,
  bounds: MODEL,
  ...over,
});

type Params = Readonly<Record<string, unknown>>;

/** A simulated training loss: best with sgd, momentum 0.9, nesterov, lr ≈ 0.03, 5 layers, batch 128. */
function loss(p: Params): number {
  const lr = p.lr as number;
  let value = (Math.log10(lr) + 1.5) ** 2 + 0.05 * ((p.layers as number) - 5) ** 2;
  value += 0.1 * Math.abs(Math.log2(p.batch as number) - 7);
  if (p.optimizer === "sgd") {
    value += 2 * ((p.momentum as number) - 0.9) ** 2 + (p.nesterov === true ? 0 : 0.3);
    if (p.nesterov === false) value += (p.dampening as number) ** 2;
  } else value += p.optimizer === "adam" ? 0.5 : 1;
  return value;
}

/** Runs the loop to the end (one trial per ask unless `max` says otherwise), returning every trial. */
function run(solver: Solver<object>, max?: number): Trial<object>[] {
  const trials: Trial<object>[] = [];
  for (let batch = solver.ask(max === undefined ? {} : { max }); batch !== null; batch = solver.ask()) {
    trials.push(...batch);
    solver.tell(batch.map((t) => ({ id: t.id, value: loss(t.params as Params) })));
  }
  return trials;
}

/** Every kind and condition holds in `params`. */
function expectValid(params: Params): void {
  expect(params.lr).toBeGreaterThanOrEqual(1e-4);
  expect(params.lr).toBeLessThanOrEqual(1);
  expect([1, 3, 5, 7, 9]).toContain(params.layers);
  expect(Number.isInteger(params.batch)).toBe(true);
  expect(params.batch).toBeGreaterThanOrEqual(16);
  expect(params.batch).toBeLessThanOrEqual(512);
  expect(MODEL.optimizer.choices).toContainEqual(params.optimizer);
  const sgd = params.optimizer === "sgd";
  expect("momentum" in params).toBe(sgd);
  expect("nesterov" in params).toBe(sgd);
  expect("dampening" in params).toBe(sgd && params.nesterov === false);
}

describe("parameter kinds", () => {
  it("decodes ints on their grid and categoricals as the declared JSON values, every cell equally likely", () => {
    const space = new Space({
      n: { type: "int", min: 10, max: 20, step: 5 },
      k: { type: "int", min: 1, max: 1000, scale: "log" },
      c: { type: "categorical", choices: ["a", 2, null, [1, 2], { b: true }] },
    });
    const counts = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const u = (i + 0.5) / 1000;
      const p = space.toParams([u, u, u]);
      expect([10, 15, 20]).toContain(p.n);
      expect(Number.isInteger(p.k) && (p.k as number) >= 1 && (p.k as number) <= 1000).toBe(true);
      const key = JSON.stringify(p.c);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      // Encoding a decoded point and decoding again gives the same values.
      expect(space.toParams(space.toUnit(p))).toEqual(p);
    }
    expect([...counts.values()]).toEqual([200, 200, 200, 200, 200]);
    expect(space.toParams([0, 0, 0.7])).toEqual({ n: 10, k: 1, c: [1, 2] });
    expect(space.toParams([1, 1, 1])).toEqual({ n: 20, k: 1000, c: { b: true } });
    const snapped = space.snap([0.1, 0.5, 0.1]);
    expect(snapped[0]).toBe(1 / 6);
    expect(snapped[2]).toBe(0.1);
    expect(space.toParams(snapped)).toEqual(space.toParams([0.1, 0.5, 0.1]));
    expect(space.snap(snapped)).toEqual(snapped);
  });

  it("keys a point's branch by its active categorical choices only", () => {
    const space = new Space(MODEL);
    const at = (params: Record<string, unknown>) => space.branch(space.toUnit(params));
    const adam = { lr: 0.01, layers: 3, batch: 64, optimizer: "adam" };
    const sgd = { ...adam, optimizer: "sgd", momentum: 0.9, nesterov: false, dampening: 0.1 };
    // Numbers do not change the branch; a choice does.
    expect(at({ ...adam, lr: 0.5, layers: 9 })).toBe(at(adam));
    expect(at(sgd)).not.toBe(at(adam));
    expect(at({ ...sgd, nesterov: true })).not.toBe(at(sgd));
    // An inactive categorical (nesterov without sgd) is left out, whatever its coordinate holds.
    const u = space.toUnit(adam);
    const nesterov = space.names.indexOf("nesterov");
    for (const x of [0.1, 0.9]) {
      const other = [...u];
      other[nesterov] = x; // false, then true: the coordinate of an inactive parameter
      expect(space.toParams(other)).toEqual(space.toParams(u));
      expect(space.branch(other)).toBe(space.branch(u));
    }
    // With sgd, nesterov is active: its choice splits the branch.
    const sgdU = space.toUnit(sgd);
    const flipped = [...sgdU];
    flipped[nesterov] = 0.9;
    expect(space.toParams(flipped).nesterov).toBe(true);
    expect(space.branch(flipped)).not.toBe(space.branch(sgdU));
  });

  it("measures the cell a point falls in: the span of positions that decode to its value", () => {
    const space = new Space({
      x: { min: 0, max: 1 },
      n: { type: "int", min: 10, max: 20, step: 5 },
      k: { type: "int", min: 1, max: 1000, scale: "log" },
    });
    expect(space.cellWidth(0, 0.3)).toBe(0);
    expect(space.cellWidth(1, 0.4)).toBeCloseTo(1 / 3, 15);
    for (const k of [1, 2, 7, 100, 999]) {
      const at = space.toUnit({ x: 0, n: 10, k })[2]!;
      const width = space.cellWidth(2, at);
      // A log int's value sits inside its cell, not at the centre: the cell is [k − ½, k + ½]
      // on the log scale, so measure it from its edges.
      const lo = Math.log(0.5);
      const edge = (v: number) => (Math.log(v) - lo) / (Math.log(1000.5) - lo);
      expect(width).toBeCloseTo(edge(k + 0.5) - edge(k - 0.5), 12);
      expect(space.toParams([0, 0, edge(k - 0.5) + 0.01 * width]).k).toBe(k);
      expect(space.toParams([0, 0, edge(k + 0.5) - 0.01 * width]).k).toBe(k);
      // Just outside, the neighbours: a width too small or too large would miss them.
      if (k > 1) expect(space.toParams([0, 0, edge(k - 0.5) - 0.01 * width]).k).toBe(k - 1);
      expect(space.toParams([0, 0, edge(k + 0.5) + 0.01 * width]).k).toBe(k + 1);
    }
  });

  it("gives a told object choice back as declared, whatever its key order when told", () => {
    const solver = createSolver({
      seed: 1,
      budget: 5,
      bounds: { c: { type: "categorical", choices: [{ a: 1, b: 2 }, "x"] } },
    });
    solver.tell({ params: { c: { b: 2, a: 1 } }, value: 1 });
    expect(solver.best()).toEqual({ params: { c: { a: 1, b: 2 } }, value: 1 });
    // As declared, key order included (toEqual ignores it): the declared choice, not the caller's.
    expect(JSON.stringify(solver.best()!.params.c)).toBe('{"a":1,"b":2}');
    const artifact = JSON.parse(JSON.stringify(solver.toJSON()));
    expect(JSON.stringify(artifact.told[0].params.c)).toBe('{"a":1,"b":2}');
    const restored = restoreSolver(artifact);
    expect(JSON.stringify(restored.best()!.params.c)).toBe('{"a":1,"b":2}');
    solver.stop();
    restored.stop();
  });

  it("asks only valid mixed points in every phase and strategy, batches included", () => {
    for (const strategy of ["tpe", "nelder-mead", "auto"] as const) {
      for (const max of [undefined, 4]) {
        const solver = createSolver(config({ strategy }));
        const trials = run(solver, max);
        expect(trials).toHaveLength(60);
        for (const t of trials) expectValid(t.params as Params);
        expect(solver.strategyName).not.toBeNull();
        solver.stop();
      }
    }
  });

  it("finds the good region of the simulated model with TPE and with Nelder–Mead", () => {
    for (const strategy of ["tpe", "nelder-mead"] as const) {
      const solver = createSolver(config({ strategy, budget: 120 }));
      run(solver);
      const best = solver.best()!;
      // A random point of this space scores about 2.5 on median; the optimum is 0.
      expect(best.value).toBeLessThan(0.75);
      solver.stop();
    }
  });

  it("starts forced Nelder–Mead where a float or an int can move, never asking one point again", () => {
    // The best probe point can sit in a branch with nothing to move (c = "b"), and no probe point
    // may have x active at all (it needs c1 = "r", c2 ∈ {q, r} and c3 = "r").
    const cases = [
      {
        bounds: {
          c: { type: "categorical", choices: ["a", "b"] },
          x: { min: 0, max: 1, when: { c: ["a"] } },
        },
        value: (p: Record<string, unknown>) => (p.c === "b" ? 0 : 1 + ((p.x as number) - 0.5) ** 2),
      },
      {
        bounds: {
          c1: { type: "categorical", choices: ["p", "q", "r"] },
          c2: { type: "categorical", choices: ["p", "q", "r"], when: { c1: ["r"] } },
          c3: { type: "categorical", choices: ["p", "q", "r"] },
          x: { min: 0, max: 1, when: { c2: ["q", "r"], c3: ["r"] } },
        },
        value: (p: Record<string, unknown>) => ("x" in p ? ((p.x as number) - 0.3) ** 2 : 1),
      },
    ];
    let probesWithoutX = 0;
    for (const { bounds, value } of cases) {
      for (let seed = 1; seed <= 6; seed++) {
        const solver = createSolver({ seed, budget: 30, strategy: "nelder-mead", bounds } as SolverConfig);
        const probe: string[] = [];
        const refine: string[] = [];
        for (;;) {
          const phase = solver.phase;
          const batch = solver.ask({ max: 1 });
          if (batch === null) break;
          for (const t of batch) {
            const params = t.params as Record<string, unknown>;
            (phase === "probe" ? probe : refine).push(JSON.stringify(params));
            solver.tell({ id: t.id, value: value(params) });
          }
        }
        if (!probe.some((p) => p.includes('"x"'))) probesWithoutX++;
        expect(refine.length).toBeGreaterThan(10);
        for (const p of refine) expect(p).toContain('"x"');
        expect(new Set(refine).size).toBe(refine.length);
        solver.stop();
      }
    }
    expect(probesWithoutX).toBeGreaterThan(0);
  });

  it("lets TPE learn an unordered categorical: the best choice dominates late proposals", () => {
    const choices = ["e", "b", "d", "a", "c", "f"];
    // Values are not monotone in the choices' positions, so an ordered model would not help.
    const score: Record<string, number> = { a: 3, b: 1, c: 4, d: 0, e: 2, f: 5 };
    const solver = createSolver({
      seed: 5,
      budget: 80,
      strategy: "tpe",
      bounds: { c: { type: "categorical", choices }, x: { min: -1, max: 1 } },
    });
    const late: string[] = [];
    for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
      for (const t of batch) {
        if (t.id > 60) late.push(t.params.c);
        solver.tell({ id: t.id, value: score[t.params.c]! + t.params.x ** 2 });
      }
    }
    const hits = late.filter((c) => c === "d").length;
    expect(hits / late.length).toBeGreaterThan(0.6);
    solver.stop();
  });

  it("fits a conditional parameter only on trials where it was active", () => {
    // momentum matters under sgd only; adam trials carry no momentum and must not blur its model.
    const solver = createSolver({
      seed: 8,
      budget: 120,
      strategy: "tpe",
      bounds: {
        optimizer: { type: "categorical", choices: ["adam", "sgd"] },
        momentum: { min: 0, max: 1, when: { optimizer: ["sgd"] } },
      },
    });
    let late = 0;
    let lateSgd = 0;
    for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
      for (const t of batch) {
        const p = t.params;
        if (t.id > 80) {
          late++;
          if (p.optimizer === "sgd") lateSgd++;
        }
        solver.tell({ id: t.id, value: p.optimizer === "sgd" ? (p.momentum! - 0.8) ** 2 : 0.5 });
      }
    }
    expect(lateSgd / late).toBeGreaterThan(0.8);
    const best = solver.best()!;
    expect(best.params.optimizer).toBe("sgd");
    expect(Math.abs(best.params.momentum! - 0.8)).toBeLessThan(1e-3);
    solver.stop();
  });

  it("runs a space of categoricals only with TPE under auto, and refuses Nelder–Mead there", () => {
    const bounds = { codec: { type: "categorical", choices: ["lz4", "zstd", "none"] } } as const;
    const solver = createSolver({ seed: 2, budget: 12, bounds });
    expect(solver.config.strategy).toBe("tpe");
    for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
      solver.tell(batch.map((t) => ({ id: t.id, value: t.params.codec === "zstd" ? 0 : 1 })));
    }
    expect(solver.best()?.params).toEqual({ codec: "zstd" });
    expect(() => createSolver({ seed: 2, budget: 12, bounds, strategy: "nelder-mead" })).toThrow(
      "strategy: nelder-mead needs at least one float or int parameter",
    );
    solver.stop();
  });
});

describe("the per-choice model", () => {
  it("is a density over the choices: smoothed counts of the observed choices plus a uniform prior", () => {
    const mixture = new GroupMixture(Int32Array.of(3));
    const observed = [0, 0, 0, 2];
    const means = mixture.prepare(observed.length);
    observed.forEach((c, i) => {
      means[i + 1] = c;
    });
    mixture.finish(null, 1);
    const p = [0, 1, 2].map((c) => Math.exp(mixture.logDensity(Float64Array.of(c))));
    expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 12);
    // By hand: ε = 1/5, an observed kernel gives (1 + ε)/(1 + 3ε) to its choice and ε/(1 + 3ε) to
    // the others; 4 observed kernels and the uniform prior, each of weight 1/5.
    const own = 1.2 / 1.6;
    const other = 0.2 / 1.6;
    expect(p[0]).toBeCloseTo((3 * own + other + 1 / 3) / 5, 12);
    expect(p[1]).toBeCloseTo((4 * other + 1 / 3) / 5, 12);
    expect(p[2]).toBeCloseTo((own + 3 * other + 1 / 3) / 5, 12);
    // Sampling follows the same weights.
    const gaussian = new GaussianSource(Prng.fromSeed(1, 0));
    const draws = [0, 0, 0];
    const out = new Float64Array(1);
    for (let i = 0; i < 30000; i++) {
      mixture.sample(gaussian, out);
      draws[out[0]!]!++;
    }
    for (let c = 0; c < 3; c++) expect(draws[c]! / 30000).toBeCloseTo(p[c]!, 2);
  });
});

describe("determinism and persistence", () => {
  it("gives the same trials for the same seed, and others for another seed", () => {
    for (const strategy of ["tpe", "nelder-mead"] as const) {
      const a = run(createSolver(config({ strategy })));
      const b = run(createSolver(config({ strategy })));
      const c = run(createSolver(config({ strategy, seed: 4 })));
      expect(b).toEqual(a);
      expect(c).not.toEqual(a);
    }
  });

  it("resumes exactly from toJSON at any point of a mixed run, through JSON text", () => {
    for (const strategy of ["tpe", "nelder-mead"] as const) {
      const reference = run(createSolver(config({ strategy, budget: 40 })));
      for (const stopAt of [0, 5, 12, 20, 33]) {
        const solver = createSolver(config({ strategy, budget: 40 }));
        const before: Trial<object>[] = [];
        while (before.length < stopAt) {
          const batch = solver.ask({ max: 1 })!;
          before.push(...batch);
          solver.tell(batch.map((t) => ({ id: t.id, value: loss(t.params as Params) })));
        }
        const text = JSON.stringify(solver.toJSON());
        const resumed = restoreSolver<object>(JSON.parse(text));
        expect(JSON.stringify(resumed.toJSON())).toBe(text);
        expect([...before, ...run(resumed, 1)]).toEqual(reference);
        solver.stop();
        resumed.stop();
      }
    }
  });

  it("keeps warm-start points with categorical and conditional values in the artifact", () => {
    const solver = createSolver(config());
    const params = {
      lr: 0.03,
      layers: 5,
      batch: 128,
      optimizer: "sgd",
      momentum: 0.9,
      nesterov: true,
    } as const;
    solver.tell({ params, value: loss(params) });
    const restored = restoreSolver(JSON.parse(JSON.stringify(solver.toJSON())));
    const best = restored.best()!;
    expect(best.value).toBe(loss(params));
    expect({ ...best.params, lr: 0 }).toEqual({ ...params, lr: 0 });
    expect(best.params.lr).toBeCloseTo(0.03, 12);
    solver.stop();
    restored.stop();
  });

  it("refuses a mixed artifact whose strategy state was tampered with", () => {
    const solver = createSolver(config({ strategy: "nelder-mead", budget: 40 }));
    run(solver);
    const artifact = JSON.parse(JSON.stringify(solver.toJSON()));
    artifact.machine.value = { refine: "nelderMead" };
    artifact.strategy.subspace.free = [3]; // optimizer: a categorical cannot move
    expect(() => restoreSolver(artifact)).toThrow(
      /corrupt solver artifact: invalid Nelder–Mead state: subspace/,
    );
    const tpe = createSolver(config({ strategy: "tpe", budget: 30 }));
    run(tpe);
    const tpeArtifact = JSON.parse(JSON.stringify(tpe.toJSON()));
    delete tpeArtifact.strategy.variant;
    expect(() => restoreSolver(tpeArtifact)).toThrow(/expected a mixed-space TPE state/);
    solver.stop();
    tpe.stop();
  });
});

describe("validation", () => {
  const issues = (bounds: unknown, extra: object = {}) =>
    solverConfigIssues({ seed: 1, budget: 10, bounds, ...extra });

  it("names the field and the reason for each bad parameter", () => {
    expect(
      issues({
        a: { type: "categorical", choices: [] },
        b: { type: "categorical", choices: ["x", "y", "x"] },
        c: { type: "int", min: 0.5, max: 4 },
        d: { type: "int", min: 0, max: 10, step: 0 },
        e: { type: "int", min: 0, max: 10, step: 3 },
        f: { type: "int", min: 1, max: 100, step: 2, scale: "log" },
        g: { type: "int", min: 0, max: 100, scale: "log" },
        h: { type: "bool" },
        i: { type: "categorical", choices: [1, { x: () => 1 }] },
        j: { type: "categorical", choices: ["p"], min: 0 },
        k: { type: "int", min: 0, max: 4, choices: [1] },
      }),
    ).toEqual([
      { path: "bounds.a.choices", message: "expected at least one choice" },
      { path: "bounds.b.choices", message: 'choices 0 and 2 are equal ("x")' },
      { path: "bounds.c.min", message: "expected a whole number, got 0.5" },
      { path: "bounds.d.step", message: "expected a whole number greater than 0, got 0" },
      { path: "bounds.e", message: "max − min (10) must be a multiple of step (3): max 9 or 12 would be" },
      { path: "bounds.f", message: "a step other than 1 cannot be combined with log scale" },
      { path: "bounds.g", message: "log scale needs min ≥ 1, got min = 0" },
      { path: "bounds.h.type", message: 'expected one of "float", "int", "categorical", got "bool"' },
      { path: "bounds.i.choices.1", message: "expected a JSON value (finite numbers only)" },
      { path: "bounds.j.min", message: 'unknown key (min is only for type "float" or "int")' },
      { path: "bounds.k.choices", message: 'unknown key (choices is only for type "categorical")' },
    ]);
  });

  it("takes step 1 on a log-scale int as every whole number, the same run as no step", () => {
    const run = (n: object) => {
      const solver = createSolver({
        seed: 3,
        budget: 25,
        bounds: { n, x: { min: 0, max: 1 } },
      } as SolverConfig);
      const seen: unknown[] = [];
      for (let batch = solver.ask(); batch !== null; batch = solver.ask()) {
        for (const trial of batch) {
          seen.push(trial.params);
          const { n: k, x } = trial.params as { n: number; x: number };
          solver.tell({ id: trial.id, value: (Math.log(k) - 2) ** 2 + x });
        }
      }
      return seen;
    };
    const n = { type: "int", min: 1, max: 1000, scale: "log" };
    expect(issues({ n: { ...n, step: 1 } })).toEqual([]);
    const stepped = run({ ...n, step: 1 });
    expect(stepped).toHaveLength(25);
    expect(stepped).toEqual(run(n));
    expect(issues({ n: { ...n, step: 3 } })).toEqual([
      { path: "bounds.n", message: "a step other than 1 cannot be combined with log scale" },
    ]);
  });

  it("refuses a value that contains itself, or nests too deep, as a choice, a condition value or a told value", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const shared = { a: 1 };
    expect(
      solverConfigIssues({
        seed: 1,
        budget: 10,
        bounds: {
          c: { type: "categorical", choices: [cyclic, [shared, shared]] },
          x: { min: 0, max: 1, when: { c: [[cyclic]] } },
        },
      }),
    ).toEqual([
      { path: "bounds.c.choices.0", message: "expected a JSON value (finite numbers only)" },
      { path: "bounds.x.when.c", message: "value 0: expected a JSON value (finite numbers only)" },
    ]);
    const solver = createSolver({
      seed: 1,
      budget: 10,
      bounds: { c: { type: "categorical", choices: [1, { a: 1 }] } },
    });
    expect(() => solver.tell({ params: { c: cyclic as unknown as { a: 1 } }, value: 1 })).toThrow(
      /result\.params\.c/,
    );
    expect(solver.told).toBe(0);
    // Nested deeper than any choice needs (JSON.parse makes such values): refused, no stack overflow.
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(
      solverConfigIssues({ seed: 1, budget: 10, bounds: { d: { type: "categorical", choices: [deep, 2] } } }),
    ).toEqual([{ path: "bounds.d.choices.0", message: "expected a JSON value (finite numbers only)" }]);
    // The same object twice, side by side, is no cycle.
    solver.tell({ params: { c: { a: 1 } }, value: 1 });
    expect(solver.told).toBe(1);
  });

  it("reopens a run saved with an empty condition, which then meant none, as it ran", () => {
    const bounds = {
      a: { type: "categorical", choices: ["x", "y"] },
      b: { min: 0, max: 1, when: { a: ["x"] } },
    } as const;
    const solver = createSolver({ seed: 4, budget: 12, bounds });
    for (const t of solver.ask({ max: 3 })!) solver.tell({ id: t.id, value: 1 });
    // What arqon saved before a condition needed a parent (for when: {} or when: { a: undefined }).
    const artifact = JSON.parse(JSON.stringify(solver.toJSON()));
    artifact.config.bounds.b.when = {};
    // Such artifacts predate the digests of their parameters and record.
    delete artifact.boundsDigest;
    delete artifact.runDigest;

    expect(() => createSolver(artifact.config)).toThrow(ConfigError); // new input is refused
    const restored = restoreSolver(artifact);
    for (const t of restored.ask({ max: 4 })!) expect(t.params).toHaveProperty("b");
    expect(restored.toJSON().config.bounds.b).toEqual({ min: 0, max: 1 });
  });

  it("checks conditions: known, categorical, other parameters, real choices, no cycles", () => {
    const opt = { type: "categorical", choices: ["adam", "sgd"] };
    expect(
      issues({
        opt,
        lr: { min: 0, max: 1 },
        a: { min: 0, max: 1, when: { optimiser: ["sgd"] } },
        b: { min: 0, max: 1, when: { lr: [0.5] } },
        c: { type: "categorical", choices: [1], when: { c: [1] } },
        d: { min: 0, max: 1, when: { opt: ["sdg", "sgd"] } },
        e: { min: 0, max: 1, when: { opt: [] } },
      }),
    ).toEqual([{ path: "bounds.e.when.opt", message: "expected at least one choice" }]);
    expect(
      issues({
        opt,
        lr: { min: 0, max: 1 },
        a: { min: 0, max: 1, when: { optimiser: ["sgd"] } },
        b: { min: 0, max: 1, when: { lr: [0.5] } },
        c: { type: "categorical", choices: [1], when: { c: [1] } },
        d: { min: 0, max: 1, when: { opt: ["sdg", "sgd"] } },
      }),
    ).toEqual([
      { path: "bounds.a.when.optimiser", message: 'unknown parameter "optimiser"' },
      {
        path: "bounds.b.when.lr",
        message: '"lr" is not categorical (a condition names a categorical parameter)',
      },
      { path: "bounds.c.when.c", message: "a parameter cannot depend on itself" },
      { path: "bounds.d.when.opt.0", message: '"sdg" is not a choice of opt' },
    ]);
    expect(
      issues({
        p: { type: "categorical", choices: [1, 2], when: { q: [1] } },
        q: { type: "categorical", choices: [1, 2], when: { p: [2] } },
      }),
    ).toEqual([{ path: "bounds.p.when", message: "conditions form a cycle: p → q → p" }]);
    // A condition with no parent, or a parent left undefined, would make the parameter present in
    // every trial while its type says it may be absent: refused by name, never widened.
    expect(issues({ opt, f: { min: 0, max: 1, when: {} } })).toEqual([
      { path: "bounds.f.when", message: "expected at least one parent" },
    ]);
    expect(
      issues({
        opt,
        g: { min: 0, max: 1, when: { opt: undefined } },
        h: { min: 0, max: 1, when: { opt: ["sgd"], lr: undefined } },
        i: { min: 0, max: 1, when: { opt: "sgd" } },
      }),
    ).toEqual([
      { path: "bounds.g.when.opt", message: "expected a list of the parent's choices" },
      { path: "bounds.h.when.lr", message: "expected a list of the parent's choices" },
      { path: "bounds.i.when.opt", message: "expected a list of the parent's choices" },
    ]);
    // A repeated or missing value in a condition's list is a slip, refused as in `choices`…
    const repeated = { opt, j: { min: 0, max: 1, when: { opt: ["sgd", "adam", "sgd"] } } };
    expect(issues(repeated)).toEqual([{ path: "bounds.j.when.opt.2", message: 'equals value 0 ("sgd")' }]);
    const holed: unknown[] = ["sgd"];
    holed[2] = "adam";
    expect(issues({ opt, k: { min: 0, max: 1, when: { opt: holed as never } } })).toEqual([
      { path: "bounds.k.when.opt", message: "value 1: expected a JSON value (finite numbers only)" },
    ]);
    // … in a new config: a run saved before the check still reopens.
    expect(() => resolveSolverConfig({ seed: 1, budget: 5, bounds: repeated }, "saved")).not.toThrow();
    expect(() =>
      resolveSolverConfig({ seed: 1, budget: 5, bounds: { x: { type: "int", min: 2, max: 1 } } }),
    ).toThrow(ConfigError);
  });

  it("refuses int ranges whose values would not come back from the unit axis exactly", () => {
    expect(issues({ n: { type: "int", min: 0, max: 2 ** 51 - 1 } })).toEqual([]);
    expect(issues({ n: { type: "int", min: -(2 ** 50), max: 2 ** 50 } })).toEqual([
      {
        path: "bounds.n",
        message: `(max − min) / step must be below 2^51 (each value needs a cell of its own on the unit axis), got ${2 ** 51}`,
      },
    ]);
    expect(issues({ n: { type: "int", min: 0, max: 2 ** 52, step: 4 } })).toEqual([]);
    // A span past 2^53: min + k·step would round (62 of 200 values asked were off this grid).
    const wide = { type: "int", min: -(2 ** 53 - 1), max: 9006099743129600, step: 2 ** 40 + 1 };
    expect(issues({ n: wide })).toEqual([
      {
        path: "bounds.n",
        message:
          "max − min must be at most 2^53 − 1 (each value min + k·step must be exact in doubles), got 18013298997870591",
      },
    ]);
    // A step that does not divide the range is told only of maxima the rules accept.
    expect(issues({ n: { type: "int", min: 0, max: 2 ** 53 - 1, step: 4 } })).toEqual([
      {
        path: "bounds.n",
        message: `max − min (${2 ** 53 - 1}) must be a multiple of step (4): max ${2 ** 53 - 4} would be`,
      },
    ]);
    expect(issues({ n: { type: "int", min: 1, max: 2 ** 44, scale: "log" } })).toEqual([]);
    expect(issues({ n: { type: "int", min: 1, max: 2 ** 44 + 1, scale: "log" } })).toEqual([
      {
        path: "bounds.n",
        message: `log scale needs max ≤ 2^44 (${2 ** 44}; each value must come back from its log exactly), got max = ${2 ** 44 + 1}`,
      },
    ]);
    // At the limits every value comes back: the ends, and values spread over the range.
    const space = new Space({
      a: { type: "int", min: 3, max: 3 + 2 ** 51 - 1 },
      b: { type: "int", min: 1, max: 2 ** 44, scale: "log" },
    });
    const prng = Prng.fromSeed(5, 0);
    const values = (min: number, max: number) => [
      min,
      max,
      max - 1,
      ...Array.from({ length: 2000 }, () => min + Math.floor(prng.next() * (max - min + 1))),
    ];
    const as = values(3, 3 + 2 ** 51 - 1);
    const bs = values(1, 2 ** 44);
    for (let i = 0; i < as.length; i++) {
      const params = { a: as[i]!, b: bs[i]! };
      expect(space.toParams(space.toUnit(params))).toEqual(params);
      expect(space.toParams(space.snap(space.toUnit(params)))).toEqual(params);
    }
  });

  it("refuses conditions that can never all hold, naming where they first conflict", () => {
    const opt = { type: "categorical", choices: ["adam", "sgd", "rmsprop"] };
    // warmup needs sgd, but its parent schedule exists only with adam.
    const deadThroughParent = {
      opt,
      schedule: { type: "categorical", choices: ["step", "cosine"], when: { opt: ["adam"] } },
      warmup: { type: "categorical", choices: [true, false], when: { schedule: ["step"], opt: ["sgd"] } },
      // Depends on the dead one: fixed with it, so not reported on its own.
      warmupSteps: { type: "int", min: 1, max: 100, when: { warmup: [true] } },
      nesterov: { type: "categorical", choices: [true, false], when: { opt: ["sgd"] } },
      decay: { min: 0, max: 1, when: { nesterov: [true] } },
    };
    expect(issues(deadThroughParent)).toEqual([
      {
        path: "bounds.warmup.when",
        message:
          'never holds, so warmup would never be present: no value of opt meets them all (schedule needs opt in ["adam"]; warmup needs opt in ["sgd"])',
      },
    ]);
    // Two parents alive on their own whose conditions exclude each other; and below it, nothing.
    expect(
      issues({
        opt,
        beta: { min: 0, max: 1, when: { opt: ["adam", "rmsprop"] } },
        mode: { type: "categorical", choices: ["a", "b"], when: { opt: ["sgd"] } },
        kind: { type: "categorical", choices: ["x", "y"], when: { opt: ["adam"] } },
        both: { type: "categorical", choices: [1, 2], when: { mode: ["a"], kind: ["x"] } },
        below: { min: 0, max: 1, when: { both: [1] } },
      }),
    ).toEqual([
      {
        path: "bounds.both.when",
        message:
          'never holds, so both would never be present: no value of opt meets them all (mode needs opt in ["sgd"]; kind needs opt in ["adam"])',
      },
    ]);
    // Conditions that narrow a choice list step by step but leave one value are fine.
    expect(
      issues({
        opt,
        beta: { type: "categorical", choices: [1, 2], when: { opt: ["adam", "rmsprop"] } },
        gamma: { min: 0, max: 1, when: { beta: [2], opt: ["rmsprop", "sgd"] } },
      }),
    ).toEqual([]);
  });

  it("reopens a saved run whose parameter's condition never holds, as it ran", () => {
    const bounds = {
      opt: { type: "categorical", choices: ["adam", "sgd"] },
      schedule: { type: "categorical", choices: ["step", "cosine"], when: { opt: ["adam"] } },
      momentum: { min: 0, max: 1, when: { schedule: ["step"] } },
    } as const;
    const solver = createSolver({ seed: 3, budget: 12, bounds });
    for (const t of solver.ask({ max: 3 })!) solver.tell({ id: t.id, value: 1 });
    // As an arqon before the check saved it: momentum needing sgd as well.
    const artifact = JSON.parse(JSON.stringify(solver.toJSON()));
    artifact.config.bounds.momentum.when = { schedule: ["step"], opt: ["sgd"] };
    // Such artifacts predate the digests of their parameters and record.
    delete artifact.boundsDigest;
    delete artifact.runDigest;

    expect(() => createSolver(artifact.config)).toThrow(/bounds\.momentum\.when: never holds/);
    const restored = restoreSolver(artifact);
    for (const t of restored.ask({ max: 4 })!) expect(t.params).not.toHaveProperty("momentum");
  });

  it("checks told values against each parameter's kind and condition, recording nothing on error", () => {
    const solver = createSolver(config());
    const tell = (params: Record<string, unknown>) => () =>
      (solver as unknown as Solver).tell({ params: params as never, value: 1 });
    const sgd = { lr: 0.1, layers: 3, batch: 64, optimizer: "sgd", momentum: 0.5, nesterov: true };
    expect(tell({ ...sgd, layers: 4 })).toThrow("result.params.layers: 4 is not on the grid 1 + k·2");
    expect(tell({ ...sgd, batch: 64.5 })).toThrow("result.params.batch: expected a whole number, got 64.5");
    expect(tell({ ...sgd, optimizer: "sgdm" })).toThrow(
      'result.params.optimizer: "sgdm" is not one of the choices',
    );
    expect(tell({ ...sgd, optimizer: "adam" })).toThrow(
      'result.params.momentum: given, but its condition (when) does not hold: optimizer is "adam", not "sgd"\n',
    );
    expect(tell({ ...sgd, optimizer: { name: "rms", centered: true } })).toThrow(
      'result.params.momentum: given, but its condition (when) does not hold: optimizer is {"name":"rms","centered":true}, not "sgd"\n',
    );
    expect(tell({ ...sgd, dampening: 0.1 })).toThrow(
      "result.params.dampening: given, but its condition (when) does not hold: nesterov is true, not false",
    );
    expect(tell({ ...sgd, nesterov: false })).toThrow("result.params.dampening: missing");
    expect(tell({ lr: 0.1, layers: 3, batch: 64, optimizer: "adam", dampening: 0.1 })).toThrow(
      "result.params.dampening: given, but its condition (when) does not hold: nesterov is not active",
    );
    expect(solver.told).toBe(0);
    expect(tell({ lr: 0.1, layers: 3, batch: 64, optimizer: "adam" })).not.toThrow();
    expect(solver.told).toBe(1);
    expect(() => restoreSolver({ ...solver.toJSON(), told: [{ params: { lr: 2 }, value: 1 }] })).toThrow(
      UsageError,
    );
    solver.stop();
  });
});
