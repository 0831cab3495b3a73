import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { createSolver, SOLVER_RULES, type SolverConfig, UsageError } from "../src/index.js";
import {
  appendSolverSnapshot,
  createSolverLog,
  type LogHeader,
  openDecisionLog,
  openSolverLog,
  readDecisionLog,
} from "../src/log/index.js";
import { encodeNumbers } from "../src/log/json-numbers.js";
import { SolverLogFollower } from "../src/log/solver-log.js";
import { removeTempDirs } from "./support/cli-run.js";
import { tempLogDirs } from "./support/log-dir.js";

// A solver log is read back by replaying its calls, so it can only be read under the rules that
// proposed its trials. SOLVER_RULES names them: the log records them, a divergence under other
// rules says so, and the fingerprint below fails when a change makes the solver propose other
// trials without raising them.

const newDir = tempLogDirs();
afterAll(removeTempDirs);

type Params = Readonly<Record<string, unknown>>;

/** A bowl off-centre in every parameter a config below has (absent ones add nothing). */
function bowl(p: Params): number {
  let sum = 0;
  for (const [name, value] of Object.entries(p)) {
    if (typeof value === "number") sum += (Math.sin(value * 3) + (value - 0.3 * name.length) ** 2) / 4;
    else sum += value === "sgd" ? 0.5 : 0;
  }
  return sum;
}

/**
 * Runs `config` to its budget with `workers` trials outstanding (told first in, first out), the
 * odd trials reporting intermediate values and stopping when the pruner says so, every
 * `failEvery`-th trial failing; returns every trial handed out, in order.
 */
function trialsOf(
  config: SolverConfig,
  workers: number,
  failEvery = 0,
  hold?: number,
): { id: number; params: Params }[] {
  const solver = createSolver(config);
  const handed: { id: number; params: Params }[] = [];
  const running: { id: number; params: Params }[] = [];
  for (;;) {
    while (running.length < workers) {
      const trials = solver.ask({ max: workers - running.length });
      if (trials === null || trials.length === 0) break;
      for (const t of trials) {
        handed.push({ id: t.id, params: { ...t.params } });
        running.push(t);
      }
    }
    // Trial `hold` runs long: it is told only once nothing else runs.
    const at = running.length > 1 && running[0]!.id === hold ? 1 : 0;
    const next = running.splice(at, 1)[0];
    if (next === undefined) break;
    if (failEvery > 0 && next.id % failEvery === 0) {
      solver.fail(next.id, "crashed");
      continue;
    }
    const value = bowl(next.params);
    let pruned = false;
    if (config.pruner !== undefined && next.id % 2 === 1) {
      for (let step = 1; step <= 4 && !pruned; step++) {
        solver.report(next.id, step, value + 1 / step);
        pruned = solver.shouldPrune(next.id);
      }
    }
    solver.tell(pruned ? { id: next.id, pruned: true } : { id: next.id, value });
  }
  solver.stop();
  return handed;
}

const continuous = {
  a: { min: -2, max: 2 },
  bb: { min: -2, max: 2 },
  ccc: { min: 0.01, max: 10, scale: "log" },
  dddd: { min: -2, max: 2 },
} as const;

const ints = {
  a: { type: "int", min: 0, max: 20 },
  bb: { type: "int", min: -10, max: 10 },
  ccc: { type: "int", min: 1, max: 64, scale: "log" },
  dddd: { type: "int", min: 0, max: 30, step: 3 },
} as const;

const mixed = {
  optimizer: { type: "categorical", choices: ["adam", "sgd"] },
  momentum: { min: 0, max: 1, when: { optimizer: ["sgd"] } },
  depth: { type: "int", min: 1, max: 12 },
  lr: { min: 1e-4, max: 1, scale: "log" },
} as const;

const sixteenInts = Object.fromEntries(
  Array.from({ length: 16 }, (_, i) => [`n${i}`, { type: "int" as const, min: 0, max: 40 }]),
);

/**
 * Runs that reach each strategy and each kind of parameter, one at a time and in batches, at
 * d = 16 (the region's diagonal model) and with failed trials (which the region steers around).
 */
const RUNS: readonly {
  readonly name: string;
  readonly config: SolverConfig;
  readonly workers: number;
  readonly failEvery?: number;
  readonly hold?: number;
}[] = [
  { name: "auto, continuous", config: { seed: 1, budget: 150, bounds: continuous }, workers: 1 },
  { name: "auto, continuous, 8 workers", config: { seed: 2, budget: 150, bounds: continuous }, workers: 8 },
  { name: "tpe", config: { seed: 3, budget: 80, bounds: continuous, strategy: "tpe" }, workers: 1 },
  {
    name: "nelder-mead",
    config: { seed: 4, budget: 80, bounds: continuous, strategy: "nelder-mead" },
    workers: 2,
  },
  { name: "auto, ints", config: { seed: 5, budget: 150, bounds: ints }, workers: 1 },
  { name: "auto, mixed", config: { seed: 6, budget: 150, bounds: mixed }, workers: 1 },
  { name: "auto, mixed, 4 workers", config: { seed: 7, budget: 150, bounds: mixed }, workers: 4 },
  {
    name: "auto, 16 ints, failures",
    config: { seed: 9, budget: 140, bounds: sixteenInts },
    workers: 1,
    failEvery: 7,
  },
  {
    name: "auto, 16 ints, failures, 3 workers",
    config: { seed: 10, budget: 140, bounds: sixteenInts },
    workers: 3,
    failEvery: 7,
  },
  {
    name: "tpe, mixed, median pruner",
    config: { seed: 8, budget: 60, bounds: mixed, strategy: "tpe", pruner: { kind: "median" } },
    workers: 1,
  },
  {
    // Best with adam, where nothing numeric is active: the simplex starts in the sgd branch.
    name: "nelder-mead, mixed, the best branch has nothing to move",
    config: {
      seed: 11,
      budget: 40,
      bounds: { optimizer: mixed.optimizer, momentum: mixed.momentum },
      strategy: "nelder-mead",
    },
    workers: 1,
  },
  // Version 3: with trials running, the region keeps off running trials' int cells, and the
  // opening goes on while a probe result is out.
  {
    name: "auto, small int grid, 8 workers",
    config: {
      seed: 12,
      budget: 60,
      bounds: { a: { type: "int", min: 0, max: 9 }, b: { type: "int", min: 0, max: 90, step: 10 } },
    },
    workers: 8,
  },
  {
    name: "auto, continuous, 8 workers, the first probe trial held",
    config: { seed: 13, budget: 60, bounds: continuous },
    workers: 8,
    hold: 1,
  },
  // Version 4: with trials running, a region trial drawn beyond a region with no free int cell
  // counts as a repeat towards the local phase's end. The long float names put the bowl's centre
  // off their range, so the int branch is the better one and gets the local phases.
  {
    name: "auto, mixed with an int branch, 8 workers",
    config: {
      seed: 14,
      budget: 120,
      bounds: {
        kind: { type: "categorical", choices: ["grid", "line"] },
        a: { type: "int", min: 1, max: 20, when: { kind: ["grid"] } },
        b: { type: "int", min: 1, max: 64, scale: "log", when: { kind: ["grid"] } },
        lineWeight: { min: 0, max: 1, when: { kind: ["line"] } },
        lineOffset: { min: 0, max: 1, when: { kind: ["line"] } },
      },
    },
    workers: 8,
  },
  // Version 5: on a mixed space, the room a new simplex needs counts only the float and int
  // parameters it moves. With one float and one categorical at budget 20 the run was held in its
  // global phase from the first refine trial; now a local phase starts.
  {
    name: "auto, one float and a categorical, budget 20",
    config: {
      seed: 15,
      budget: 20,
      bounds: { x: { min: -5, max: 5 }, optimizer: mixed.optimizer },
    },
    workers: 1,
  },
  // Version 6: asked for more than the probe has left before any result, the solver grows the
  // probe instead of handing out nothing.
  {
    name: "auto, continuous, 16 workers",
    config: { seed: 16, budget: 60, bounds: continuous },
    workers: 16,
  },
];

/**
 * The fingerprint of RUNS' trials under each rules version. When a change makes it differ, the
 * solver proposes other trials from the same calls: raise SOLVER_RULES (src/solver/solver-rules.ts,
 * with a line of history) and add the new fingerprint under the new version.
 */
const FINGERPRINTS: Readonly<Record<number, string>> = {
  // Of RUNS up to the one that came with version 2.
  1: "65168a98eea219cea6ac6869e3b846895409ec53b0569927c7abdf09d7c192dd",
  // Of RUNS up to the two that came with version 3.
  2: "695373385fbf6d210ee6abad51d2ae55b7d4cf28931f497f984afd178e097e3e",
  // Of RUNS up to the one that came with version 4.
  3: "6f8ab13fc087e72324feef70cf7d7a2682e47e5d4249b3dc3ddbbb4d6f282508",
  // Of RUNS up to the one that came with version 5.
  4: "562faa744ac68b61dae62f247890c91e652a1858ffd4605a35b736ebb3ef6802",
  // Of RUNS up to the one that came with version 6.
  5: "2c9a289527f680934c01d1a062f53c129ed9367401cf57dafa10a34256687e28",
  6: "f654bf9f2ab4387e48d1d91fb16ce62818368fe79959d41872c93af995921012",
};

describe("solver rules", () => {
  it("the trials the solver proposes are those its rules version was recorded with", () => {
    const hash = createHash("sha256");
    // Hashed as a solver log writes trials (−0 and NaN kept), which is what a replay compares.
    for (const run of RUNS) {
      const trials = trialsOf(run.config, run.workers, run.failEvery, run.hold);
      hash.update(JSON.stringify(encodeNumbers([run.name, trials])));
    }
    expect(
      { rules: SOLVER_RULES, fingerprint: hash.digest("hex") },
      "the solver proposes other trials than its rules version recorded: raise SOLVER_RULES",
    ).toEqual({ rules: SOLVER_RULES, fingerprint: FINGERPRINTS[SOLVER_RULES] });
  });

  it("a new log records today's rules in its header and in each snapshot", () => {
    const dir = newDir();
    const solver = createSolver(LOG_CONFIG);
    solver.tell({ params: { x: 0.5 }, value: 1 });
    const logged = createSolverLog(dir, solver);
    logged.ask();
    logged.closeLog();
    appendSolverSnapshot(dir, logged);
    const { header, records } = readDecisionLog(dir);
    expect((header as Record<string, unknown>).rules).toBe(SOLVER_RULES);
    const snapshots = records.map((e) => e.record).filter((r) => r.kind === "snapshot");
    expect(snapshots.map((r) => (r as Record<string, unknown>).rules)).toEqual([SOLVER_RULES, SOLVER_RULES]);
    expect(openSolverLog(dir).toJSON()).toEqual(logged.toJSON());
  });

  it("a divergence under today's rules gets no note; under other rules, or none recorded, it does", () => {
    const today = divergingLog({ rules: SOLVER_RULES });
    expect(() => openSolverLog(today)).toThrow(
      /^solver log diverged at .* record 1: ask returned .*, the log holds [^;]*$/,
    );

    const other = divergingLog({ rules: SOLVER_RULES + 1 });
    expect(() => openSolverLog(other)).toThrow(
      `; it was written under solver rules ${SOLVER_RULES + 1} (the log was begun by arqon 0.0.9), and this arqon proposes by rules ${SOLVER_RULES}, which can explain the divergence: open the log with the arqon that wrote it, or have that arqon append a snapshot (appendSolverSnapshot) first, since replay starts from the last snapshot`,
    );

    const none = divergingLog({});
    expect(() => openSolverLog(none)).toThrow(
      "; it was written before solver rules were versioned (the log was begun by arqon 0.0.9), and this arqon proposes by rules",
    );
  });

  it("the rules of the snapshot a replay starts from are the ones a divergence names", () => {
    // Begun under other rules, carried over by a snapshot of today's: no note.
    const carried = divergingLog({ rules: SOLVER_RULES + 1 }, { rules: SOLVER_RULES });
    expect(() => openSolverLog(carried)).toThrow(/the log holds [^;]*$/);
    // Begun under today's rules, a snapshot written under others.
    const older = divergingLog({ rules: SOLVER_RULES }, { rules: SOLVER_RULES + 2 });
    expect(() => openSolverLog(older)).toThrow(`it was written under solver rules ${SOLVER_RULES + 2}`);
    // A snapshot that records none was written before the rules were versioned, whatever the header says.
    const unrecorded = divergingLog({ rules: SOLVER_RULES }, {});
    expect(() => openSolverLog(unrecorded)).toThrow("it was written before solver rules were versioned");
  });

  it("a follower's replay says the same, read whole or record by record", async () => {
    const whole = new SolverLogFollower(divergingLog({ rules: SOLVER_RULES + 1 }));
    await expect(whole.read()).rejects.toThrow(`it was written under solver rules ${SOLVER_RULES + 1}`);
    whole.stop();

    // Read once, then a snapshot recording no rules and a diverging ask are appended: the
    // follower replays them one by one and names what openSolverLog names.
    const dir = newDir();
    const solver = createSolver(LOG_CONFIG);
    createSolverLog(dir, solver).closeLog();
    const follower = new SolverLogFollower(dir);
    await follower.read();
    const writer = openDecisionLog({ dir });
    writer.append({ kind: "snapshot", artifact: solver.toJSON() });
    writer.append({ kind: "ask", max: 1, trials: [{ id: 1, params: { x: 2 } }] });
    writer.close();
    const note = "it was written before solver rules were versioned";
    expect(() => openSolverLog(dir)).toThrow(note);
    await expect(follower.read()).rejects.toThrow(note);
    expect(follower.fullReads).toBe(1); // the failing read was the record-by-record one
    follower.stop();
    solver.stop();
  });

  it("a log written under other rules gets a snapshot under today's before this arqon's first record", () => {
    const dir = newDir();
    const solver = createSolver(LOG_CONFIG);
    const logged = createSolverLog(dir, solver);
    const [trial] = logged.ask({ max: 1 })!;
    logged.tell({ id: trial!.id, value: 1 });
    logged.closeLog();
    rewriteHeaderRules(dir, SOLVER_RULES + 1);

    const reopened = openSolverLog(dir);
    expect(readDecisionLog(dir).records.map((e) => e.record.kind)).toEqual(["ask", "tell"]); // reading writes nothing
    reopened.ask({ max: 1 });
    reopened.closeLog();
    const { records } = readDecisionLog(dir);
    expect(records.map((e) => e.record.kind)).toEqual(["ask", "tell", "snapshot", "ask"]);
    expect((records[2]!.record as Record<string, unknown>).rules).toBe(SOLVER_RULES);
    expect(openSolverLog(dir).toJSON()).toEqual(reopened.toJSON());
    // Under today's rules from there on: one more write adds no second snapshot.
    const again = openSolverLog(dir);
    again.ask({ max: 1 });
    again.closeLog();
    expect(readDecisionLog(dir).records.filter((e) => e.record.kind === "snapshot")).toHaveLength(1);
  });

  it("the snapshot under today's rules is never taken of a solver behind its log", () => {
    const dir = newDir();
    const logged = createSolverLog(dir, createSolver(LOG_CONFIG));
    logged.ask({ max: 1 });
    logged.closeLog();
    rewriteHeaderRules(dir, SOLVER_RULES + 1);
    const a = openSolverLog(dir);
    const b = openSolverLog(dir);
    b.ask({ max: 1 });
    b.closeLog(); // B stamped the log and appended its ask: A is behind it
    expect(() => a.ask({ max: 1 })).toThrow("written by another writer since this solver read it");
    expect(readDecisionLog(dir).records.map((e) => e.record.kind)).toEqual(["ask", "snapshot", "ask"]);
  });

  it("a recorded rules that is not a version is refused, naming where it was read", () => {
    for (const bad of [0, 1.5, "1", -1, null]) {
      const inHeader = divergingLog({ rules: bad });
      expect(() => openSolverLog(inHeader)).toThrow(
        new UsageError(
          `${inHeader} header: rules ${JSON.stringify(bad)} is not a solver-rules version (a whole number from 1)`,
        ),
      );
      const inSnapshot = divergingLog({ rules: SOLVER_RULES }, { rules: bad });
      expect(() => openSolverLog(inSnapshot)).toThrow(
        `${inSnapshot} record 1: rules ${JSON.stringify(bad)} is not a solver-rules version`,
      );
    }
  });
});

const LOG_CONFIG = { seed: 3, budget: 20, bounds: { x: { min: 0, max: 1 } } } satisfies SolverConfig;

/** Rewrites the solver log in `dir` with its header's `rules` set to `rules`, its records as they were. */
function rewriteHeaderRules(dir: string, rules: number): void {
  const { header, records } = readDecisionLog(dir);
  rmSync(dir, { recursive: true });
  const { seq: _seq, ...fields } = header as LogHeader;
  const writer = openDecisionLog({ dir, header: { ...fields, rules } as LogHeader });
  for (const entry of records) {
    const { seq: _seq, ...record } = entry.record as Record<string, unknown>;
    writer.append(record as { kind: string });
  }
  writer.close();
}

/**
 * A solver log of LOG_CONFIG whose header holds `header`'s fields, then (given `snapshot`) a
 * snapshot of a fresh solver with those fields, then an ask whose logged trial no solver hands out.
 */
function divergingLog(header: Record<string, unknown>, snapshot?: Record<string, unknown>): string {
  const dir = newDir();
  const writer = openDecisionLog({
    dir,
    header: {
      kind: "header",
      format: "arqon.solver-log",
      version: 1,
      config: LOG_CONFIG,
      seed: LOG_CONFIG.seed,
      packageVersion: "0.0.9",
      ...header,
    },
  });
  if (snapshot !== undefined) {
    const solver = createSolver(LOG_CONFIG);
    writer.append({ kind: "snapshot", artifact: solver.toJSON(), ...snapshot });
    solver.stop();
  }
  writer.append({ kind: "ask", max: 1, trials: [{ id: 1, params: { x: 2 } }] });
  writer.close();
  return dir;
}
