import { appendFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { readStudy, StudyFollower, studyOf } from "../src/dashboard/study.js";
import { type StudyServer, serveStudy } from "../src/dashboard/study-server.js";
import { createSolver, type Solver } from "../src/index.js";
import { compactDecisionLog } from "../src/log/compact.js";
import { readDecisionLog, readDecisionLogAppended, readDecisionLogAsync } from "../src/log/reader.js";
import {
  appendSolverSnapshot,
  createSolverLog,
  type LoggedSolver,
  openSolverLog,
  SolverLogFollower,
} from "../src/log/solver-log.js";
import { openDecisionLog } from "../src/log/writer.js";

// Every synchronous fs function, wrapped so that a test can see whether the follow path calls one.
const syncCalls = vi.hoisted(() => ({ names: [] as string[], counting: false }));
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<Record<string, unknown>>();
  const wrapped: Record<string, unknown> = { ...fs };
  for (const [name, value] of Object.entries(fs)) {
    if (typeof value !== "function" || !(name.endsWith("Sync") || name === "existsSync")) continue;
    wrapped[name] = (...args: unknown[]) => {
      if (syncCalls.counting) syncCalls.names.push(name);
      return (value as (...a: unknown[]) => unknown)(...args);
    };
  }
  return { ...wrapped, default: wrapped };
});

const CONFIG = {
  seed: 7,
  budget: 60,
  bounds: { a: { min: -2, max: 2 }, b: { min: 1e-2, max: 10, scale: "log" as const } },
};
const objective = (p: Readonly<Record<string, unknown>>) => Number(p.a) ** 2 + Math.log10(Number(p.b)) ** 2;

/** Runs `rounds` asks of one trial each, telling each; returns the records written (ask + tell per round). */
function run(solver: Solver, rounds: number): number {
  let records = 0;
  for (let r = 0; r < rounds; r++) {
    const trials = solver.ask({ max: 1 });
    records++;
    if (trials === null || trials.length === 0) break;
    solver.tell(trials.map((t) => ({ id: t.id, value: objective(t.params) })));
    records++;
  }
  return records;
}

/** The study a fresh, synchronous replay of the log in `dir` gives (the pre-follow reading). */
function oneShot(dir: string) {
  const solver = openSolverLog(dir);
  try {
    return studyOf(solver, dir);
  } finally {
    solver.stop();
  }
}

/** The state a fresh, synchronous replay of the log in `dir` gives. */
function replayedState(dir: string) {
  const solver = openSolverLog(dir);
  try {
    return solver.toJSON();
  } finally {
    solver.stop();
  }
}

const dirs: string[] = [];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  syncCalls.counting = false;
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function logDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "arqon-follow-"));
  dirs.push(dir);
  return join(dir, "log");
}
function logged(dir: string, config = CONFIG): LoggedSolver {
  const solver = createSolverLog(dir, createSolver(config));
  cleanups.push(() => solver.stop());
  return solver;
}
function follower(dir: string): SolverLogFollower {
  const f = new SolverLogFollower(dir);
  cleanups.push(() => f.stop());
  return f;
}

describe("readDecisionLogAppended", () => {
  it("reads only what was appended, across new segments, and nothing of a torn tail", async () => {
    const dir = logDir();
    const writer = openDecisionLog({ dir, header: { kind: "header" }, segmentBytes: 120 });
    cleanups.push(() => writer.close());
    for (let i = 0; i < 3; i++) writer.appendCommand({ kind: "x", i });
    const first = await readDecisionLogAsync(dir);
    expect(first.records.map((r) => r.record.i)).toEqual([0, 1, 2]);

    for (let i = 3; i < 12; i++) writer.appendCommand({ kind: "x", i });
    const segments = readdirSync(dir).filter((name) => name.endsWith(".alog"));
    expect(segments.length).toBeGreaterThan(2);
    const next = (await readDecisionLogAppended(dir, first.end!))!;
    expect(next.records.map((r) => r.record.i)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(next.records).toEqual(readDecisionLog(dir).records.slice(3));

    // A frame being written (or torn) at the end: nothing new, and read once it is whole.
    appendFileSync(join(dir, segments.sort().at(-1)!), Buffer.from([40, 0, 0, 0, 1, 2]));
    const torn = (await readDecisionLogAppended(dir, next.end!))!;
    expect(torn.records).toEqual([]);
    expect(torn.end).toEqual(next.end);
  });
});

describe("SolverLogFollower", () => {
  it("replays only the records appended since the last read", async () => {
    const dir = logDir();
    const solver = logged(dir);
    const written = run(solver, 12);
    const follow = follower(dir);
    const first = await follow.read();
    expect(follow.replayed).toBe(written);
    expect(follow.fullReads).toBe(1);
    expect(first.toJSON()).toEqual(replayedState(dir));

    // K new records: two asks, one tell, one fail, one report.
    const [t1] = solver.ask({ max: 1 })!;
    const [t2] = solver.ask({ max: 1 })!;
    solver.report(t1!.id, 1, 0.5);
    solver.tell({ id: t1!.id, value: objective(t1!.params) });
    solver.fail(t2!.id, "worker crashed");
    const second = await follow.read();
    expect(follow.replayed).toBe(written + 5);
    expect(follow.fullReads).toBe(1);
    expect(second).toBe(first); // the same solver, advanced
    expect(second.toJSON()).toEqual(replayedState(dir));

    // Nothing new: nothing replayed.
    await follow.read();
    expect(follow.replayed).toBe(written + 5);
  });

  it("follows a snapshot appended to the log without reading it again", async () => {
    const dir = logDir();
    const solver = logged(dir);
    run(solver, 6);
    const follow = follower(dir);
    await follow.read();
    const before = follow.replayed;
    solver.closeLog();
    appendSolverSnapshot(dir, solver);
    run(solver, 2);
    const now = await follow.read();
    expect(follow.replayed).toBe(before + 1 + 4);
    expect(follow.fullReads).toBe(1);
    expect(now.toJSON()).toEqual(replayedState(dir));
  });

  it("reads the log again from its start after a compaction", async () => {
    const dir = logDir();
    const solver = logged(dir);
    run(solver, 8);
    const follow = follower(dir);
    await follow.read();
    solver.closeLog();
    appendSolverSnapshot(dir, solver);
    compactDecisionLog(dir, 1); // only the snapshot stays, in a new segment
    run(solver, 3);
    const now = await follow.read();
    expect(follow.fullReads).toBe(2);
    expect(follow.replayed).toBe(8 * 2 + 1 + 6);
    expect(now.toJSON()).toEqual(replayedState(dir));
  });

  it("reads the log again from its start when it was recreated, shorter or longer", async () => {
    const dir = logDir();
    let solver = logged(dir);
    run(solver, 8);
    const follow = follower(dir);
    await follow.read();

    // Shorter: the file shrank below what was read.
    solver.stop();
    rmSync(dir, { recursive: true });
    solver = logged(dir, { ...CONFIG, seed: 8 });
    run(solver, 3);
    expect((await follow.read()).toJSON()).toEqual(replayedState(dir));
    expect(follow.fullReads).toBe(2);

    // Longer: the bytes where the last record read ended now hold other records.
    solver.stop();
    rmSync(dir, { recursive: true });
    solver = logged(dir, { ...CONFIG, seed: 9 });
    run(solver, 10);
    expect((await follow.read()).toJSON()).toEqual(replayedState(dir));
    expect(follow.fullReads).toBe(3);
    expect(follow.replayed).toBe(16 + 6 + 20);
  });

  it("calls no synchronous fs function while it reads", async () => {
    const dir = logDir();
    const solver = logged(dir);
    run(solver, 5);
    const follow = follower(dir);
    const study = new StudyFollower(dir);
    cleanups.push(() => study.stop());
    syncCalls.names.length = 0;
    syncCalls.counting = true;
    await follow.read();
    await study.read();
    syncCalls.counting = false;
    run(solver, 2);
    syncCalls.counting = true;
    await follow.read();
    await study.read();
    syncCalls.counting = false;
    expect(syncCalls.names).toEqual([]);
    expect(follow.replayed).toBe(14);
  });

  it("lets the event loop turn while it replays, first in full and then what was appended", async () => {
    const dir = logDir();
    const solver = logged(dir, { ...CONFIG, budget: 400 });
    run(solver, 200);
    const follow = follower(dir);
    // The slices are timed on performance.now: here every call to it is 5 ms later, so a slice
    // ends after two calls whatever the machine's speed.
    let now = 0;
    vi.spyOn(performance, "now").mockImplementation(() => (now += 5));
    // The turn of the event loop in which each replayed result is told.
    let turn = 0;
    const toldIn: number[] = [];
    const prototype = Object.getPrototypeOf(createSolver(CONFIG)) as Solver;
    const tell = prototype.tell;
    vi.spyOn(prototype, "tell").mockImplementation(function (this: Solver, ...args) {
      toldIn.push(turn);
      return tell.apply(this, args);
    });
    const turnsSpread = async (read: () => Promise<unknown>) => {
      toldIn.length = 0;
      let reading = true;
      const spin = (async () => {
        while (reading) {
          await new Promise((resolve) => setImmediate(resolve));
          turn++;
        }
      })();
      await read();
      reading = false;
      await spin;
      return { results: toldIn.length, turns: new Set(toldIn).size };
    };
    // Without slices the replay ran in one turn: every result told in the same one.
    const full = await turnsSpread(() => follow.read());
    expect(full.results).toBe(200);
    expect(full.turns).toBeGreaterThan(full.results / 4);
    run(solver, 100);
    const appended = await turnsSpread(() => follow.read());
    expect(appended.results).toBe(100);
    expect(appended.turns).toBeGreaterThan(appended.results / 4);
    expect(follow.fullReads).toBe(1);
    vi.restoreAllMocks();
    expect((await follow.read()).toJSON()).toEqual(replayedState(dir));
  });
});

describe("serveStudy following a solver log", () => {
  it("serves after an append the study a one-shot read of the same files gives", async () => {
    const dir = logDir();
    const solver = logged(dir);
    run(solver, 10);
    const server: StudyServer = await serveStudy(dir, { intervalMs: 20 });
    cleanups.push(() => server.close());
    expect(server.study).toEqual(oneShot(dir));
    const [t] = solver.ask({ max: 1 })!;
    solver.tell({ id: t!.id, value: objective(t!.params) });
    const [u] = solver.ask({ max: 1 })!;
    solver.fail(u!.id, "out of memory");
    await vi.waitFor(() => expect(server.study.trials).toHaveLength(12), { timeout: 10_000, interval: 20 });
    expect(server.study).toEqual(oneShot(dir));
    expect(server.study).toEqual(await readStudy(dir));

    // Recreated: the page shows the new log.
    solver.stop();
    rmSync(dir, { recursive: true });
    const other = logged(dir, { ...CONFIG, seed: 3 });
    run(other, 4);
    await vi.waitFor(() => expect(server.study.trials).toHaveLength(4), { timeout: 10_000, interval: 20 });
    expect(server.study).toEqual(oneShot(dir));
  });
});
