import { spawn } from "node:child_process";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createSolver, type SolverConfig, type Trial, UsageError } from "../src/index.js";
import {
  acquireLogLock,
  appendSolverSnapshot,
  compactDecisionLog,
  createSolverLog,
  openSolverLog,
  readDecisionLog,
} from "../src/log/index.js";
import { Prng } from "../src/random/prng.js";
import { lines, REPO_ROOT, removeTempDirs, runArqon, tempDir, writeJson } from "./support/cli-run.js";
import { tempLogDirs } from "./support/log-dir.js";

const CONFIG = {
  seed: 21,
  budget: 30,
  probeRatio: 0.3,
  bounds: { x: { min: -3, max: 3 }, y: { min: 1e-3, max: 10, scale: "log" } },
} satisfies SolverConfig;

const f = (p: Readonly<Record<string, unknown>>): number =>
  (Number(p.x) - 0.7) ** 2 + Math.log10(Number(p.y)) ** 2;

const newDir = tempLogDirs();
afterAll(removeTempDirs);

describe("solver decision log", () => {
  it("a stopped logged solver refuses calls before it opens its log (no lock, no file touched)", () => {
    const dir = newDir();
    const logged = createSolverLog(dir, createSolver(CONFIG));
    const [trial] = logged.ask({ max: 1 })!;
    logged.stop();
    // Another writer holds the log now: a refusal must not try to open it.
    const other = openSolverLog(dir);
    other.ask({ max: 1 });
    const before = readDecisionLog(dir).records.length;
    expect(() => logged.ask()).toThrow(new UsageError("ask: the solver was stopped"));
    expect(() => logged.tell({ id: trial!.id, value: 1 })).toThrow(
      new UsageError("tell: the solver was stopped"),
    );
    expect(() => logged.fail(trial!.id, "x")).toThrow(UsageError);
    expect(() => logged.report(trial!.id, 0, 1)).toThrow(UsageError);
    expect(readDecisionLog(dir).records.length).toBe(before);
    other.stop();
  });

  it("a solver rebuilt from its log continues exactly like one that never stopped", () => {
    const dir = newDir();
    const twin = createSolver(CONFIG);
    let logged = createSolverLog(dir, createSolver(CONFIG));
    const prng = Prng.fromSeed(5, 0);
    for (let step = 0; step < 40; step++) {
      const max = 1 + prng.int(3);
      const batch = logged.ask({ max });
      expect(batch).toEqual(twin.ask({ max }));
      if (batch === null) break;
      // Tell part of the pending trials, in reverse order, sometimes failing one.
      const pending = logged
        .pendingTrials()
        .reverse()
        .slice(0, 1 + prng.int(2));
      for (const t of pending) {
        if (prng.next() < 0.1) {
          logged.fail(t.id, "crashed");
          twin.fail(t.id, "crashed");
        } else {
          logged.tell({ id: t.id, value: f(t.params) });
          twin.tell({ id: t.id, value: f(t.params) });
        }
      }
      if (step % 7 === 3) {
        // "Kill" and restart: drop the solver, rebuild it from the log.
        logged.closeLog();
        logged = openSolverLog(dir);
        expect(logged.toJSON()).toEqual(twin.toJSON());
      }
    }
    logged.closeLog();
    expect(openSolverLog(dir).toJSON()).toEqual(twin.toJSON());
    const header = readDecisionLog(dir).header!;
    expect(header).toMatchObject({ kind: "header", format: "arqon.solver-log", seed: 21, config: CONFIG });
  });

  it("a solver that already has a history starts its log with a snapshot", () => {
    const dir = newDir();
    const solver = createSolver(CONFIG);
    const [t] = solver.ask({ max: 1 })!;
    solver.tell({ id: t!.id, value: 3 });
    solver.tell({ params: { x: 0, y: 1 }, value: 1 });
    const logged = createSolverLog(dir, solver);
    logged.ask({ max: 2 });
    logged.closeLog();
    expect(readDecisionLog(dir).records.map((e) => e.record.kind)).toEqual(["snapshot", "ask"]);
    expect(openSolverLog(dir).toJSON()).toEqual(logged.toJSON());
  });

  it("a solver behind its log (another writer appended since it read it) refuses to write", () => {
    const dir = newDir();
    const first = createSolverLog(dir, createSolver(CONFIG));
    first.ask({ max: 1 });
    first.closeLog();
    const a = openSolverLog(dir);
    const b = openSolverLog(dir);
    const [trial] = b.ask({ max: 1 })!;
    b.closeLog();
    const before = readDecisionLog(dir).records.length;
    expect(() => a.ask({ max: 1 })).toThrow(
      new UsageError(
        `solver log ${dir}: written by another writer since this solver read it (records 2 to 2); reopen it with openSolverLog`,
      ),
    );
    expect(readDecisionLog(dir).records.length).toBe(before);
    // Reopened, it has B's trial and goes on after it.
    const reopened = openSolverLog(dir);
    expect(reopened.pendingTrials().map((t) => t.id)).toContain(trial!.id);
    expect(reopened.ask({ max: 1 })![0]!.id).toBe(trial!.id + 1);
    reopened.closeLog();
    // Its own snapshot appended in between (appendSolverSnapshot of itself) is no other writer.
    appendSolverSnapshot(dir, reopened);
    reopened.ask({ max: 1 });
    reopened.closeLog();
    expect(openSolverLog(dir).toJSON()).toEqual(reopened.toJSON());
  });

  it("a solver whose log was re-created or restored from an older copy since it read it refuses to write", () => {
    const dir = newDir();
    const logged = createSolverLog(dir, createSolver(CONFIG));
    logged.ask({ max: 1 });
    logged.closeLog();
    const copy = `${dir}-copy`;
    cpSync(dir, copy, { recursive: true });
    const a = openSolverLog(dir);
    a.ask({ max: 1 });
    a.closeLog();

    // Re-created in place, with the same config and seed and as many records: another log.
    rmSync(dir, { recursive: true });
    const other = createSolverLog(dir, createSolver(CONFIG));
    other.ask({ max: 1 });
    other.ask({ max: 1 });
    other.closeLog();
    expect(() => a.ask({ max: 1 })).toThrow(
      new UsageError(
        `solver log ${dir}: it is another log now (created or restored in its place since this solver read it); reopen it with openSolverLog`,
      ),
    );
    expect(readDecisionLog(dir).records).toHaveLength(2);

    // The same log put back from a copy taken before a's last ask: a record short.
    rmSync(dir, { recursive: true });
    cpSync(copy, dir, { recursive: true });
    expect(() => a.ask({ max: 1 })).toThrow(
      `solver log ${dir}: it holds fewer records than this solver knows (1 of 2): restored from an older copy?`,
    );
    expect(readDecisionLog(dir).records).toHaveLength(1);

    // Put back from that copy and written on by another solver up to as many records: its record
    // 2 is not the one a wrote (nor would it be if it had gone further).
    const b = openSolverLog(dir);
    b.fail(b.pendingTrials()[0]!.id, "crashed");
    b.closeLog();
    expect(() => a.ask({ max: 1 })).toThrow(
      `solver log ${dir}: its record 2 is not the one this solver knows: restored from a copy and written on since?`,
    );
    const c = openSolverLog(dir);
    c.ask({ max: 1 });
    c.closeLog();
    expect(() => a.ask({ max: 1 })).toThrow(
      `solver log ${dir}: its record 2 is not the one this solver knows`,
    );
    expect(readDecisionLog(dir).records).toHaveLength(3);
    rmSync(copy, { recursive: true });
  });

  it("tells its own last record from an equal one another solver wrote on a restored copy", () => {
    const dir = newDir();
    const first = createSolverLog(dir, createSolver(CONFIG));
    const [t1, t2] = first.ask({ max: 2 })!;
    first.closeLog();
    const copy = `${dir}-copy`;
    cpSync(dir, copy, { recursive: true });
    const a = openSolverLog(dir);
    a.tell({ id: t1!.id, value: 1 });
    a.tell({ id: t2!.id, value: 2 });
    a.closeLog();
    rmSync(dir, { recursive: true });
    cpSync(copy, dir, { recursive: true });
    // Another history on the copy, ending with the very tell a ended with.
    const b = openSolverLog(dir);
    b.fail(t1!.id, "crashed");
    b.tell({ id: t2!.id, value: 2 });
    b.closeLog();
    expect(() => a.ask({ max: 1 })).toThrow(
      `solver log ${dir}: its record 3 is not the one this solver knows`,
    );
    expect(readDecisionLog(dir).records).toHaveLength(3);
    rmSync(copy, { recursive: true });
  });

  it("refuses when a compaction dropped the last record it knows and nothing of its own stands for it", () => {
    const dir = newDir();
    const a = createSolverLog(dir, createSolver(CONFIG));
    const [trial] = a.ask({ max: 1 })!;
    a.tell({ id: trial!.id, value: 1 }); // record 2, the last a knows
    a.closeLog();
    const b = openSolverLog(dir);
    b.ask({ max: 1 }); // record 3
    b.closeLog();
    compactDecisionLog(dir, (entry) => entry.seq <= 1);
    expect(() => a.ask({ max: 1 })).toThrow(
      `solver log ${dir}: its record 2 is gone (compacted away since this solver read it)`,
    );
  });

  it("takes a snapshot of itself as its own, a config with undefined options included", () => {
    const dir = newDir();
    const solver = createSolverLog(dir, createSolver({ ...CONFIG, batch: undefined, strategy: undefined }));
    solver.ask({ max: 1 });
    solver.closeLog();
    appendSolverSnapshot(dir, solver);
    expect(solver.ask({ max: 1 })).not.toBeNull();
    solver.closeLog();
    expect(openSolverLog(dir).toJSON()).toEqual(JSON.parse(JSON.stringify(solver.toJSON())));
  });

  it("refuses a second writer under a lock whose first writer is open", () => {
    const dir = newDir();
    createSolverLog(dir, createSolver(CONFIG)).closeLog();
    const lock = acquireLogLock(dir);
    try {
      const held = openSolverLog(dir, { lock });
      held.ask({ max: 1 }); // its writer stays open
      const other = createSolver(CONFIG);
      expect(() => appendSolverSnapshot(dir, other, { lock })).toThrow(
        /a writer opened under the lock given to open .* is still open: close it first/,
      );
      held.closeLog();
      appendSolverSnapshot(dir, other, { lock }); // once it is closed, the next may open
      other.stop();
    } finally {
      lock.release();
    }
  });
});

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const MAIN = join(REPO_ROOT, "src/cli/main.ts");

/** Runs `arqon solve` in `cwd`, SIGKILLs it after `killAfter` "trial N:" lines; resolves with the ids seen. */
function solveAndKill(cwd: string, args: readonly string[], killAfter: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", tsxLoader, MAIN, ...args], {
      cwd,
      stdio: ["ignore", "ignore", "pipe"],
    });
    const seen: number[] = [];
    let text = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      text += chunk;
      const parts = text.split("\n");
      text = parts.pop()!;
      for (const line of parts) {
        const match = /^trial (\d+): /.exec(line);
        if (match === null || seen.length >= killAfter) continue;
        // Printed only after the result was written and fsynced to the log.
        seen.push(Number(match[1]));
        if (seen.length === killAfter) child.kill("SIGKILL");
      }
    });
    child.on("error", reject);
    child.on("close", () => resolve(seen));
  });
}

describe("arqon solve --state <dir> under SIGKILL", () => {
  it("resumes after each kill without losing a told result and ends with exactly the budget told", async () => {
    const cwd = tempDir();
    const budget = 16;
    writeJson(cwd, "c.json", { seed: 4, budget, probeRatio: 0.5, bounds: { x: { min: -5, max: 5 } } });
    // Slow enough that kills land while trials run.
    const objective = [
      process.execPath,
      "-e",
      "setTimeout(() => console.log((Number(process.env.ARQON_X) - 1) ** 2), 20)",
    ];
    const args = ["solve", "--config", "c.json", "--state", "run", "--concurrency", "2", "--", ...objective];
    const prng = Prng.fromSeed(77, 0);
    const toldBeforeKills = new Set<number>();
    for (let kill = 0; kill < 3; kill++) {
      const seen = await solveAndKill(cwd, args, 1 + prng.int(4));
      for (const id of seen) toldBeforeKills.add(id);
      const log = readDecisionLog(join(cwd, "run"));
      const told = new Set(
        log.records.flatMap((e) =>
          e.record.kind === "tell" ? (e.record.results as Trial[]).map((r) => r.id) : [],
        ),
      );
      for (const id of toldBeforeKills) expect(told.has(id)).toBe(true);
    }
    const final = runArqon(args, cwd);
    expect(final.status).toBe(0);
    const status = runArqon(["status", "--state", "run"], cwd);
    const summary = JSON.parse(lines(status.stdout)[0]!);
    expect(summary).toMatchObject({ phase: "done", told: budget, asked: budget, pending: [] });
    // Every trial told exactly once across all the runs.
    const told = readDecisionLog(join(cwd, "run")).records.flatMap((e) =>
      e.record.kind === "tell" ? (e.record.results as Trial[]).map((r) => r.id) : [],
    );
    expect([...told].sort((a, b) => a - b)).toEqual(Array.from({ length: budget }, (_, i) => i + 1));
    expect(toldBeforeKills.size).toBeGreaterThan(2);
  }, 120_000);
});

describe("arqon solve --state <dir> over a log that never got its header", () => {
  it("starts the run afresh when the only segment is empty or torn, as the writer would", () => {
    for (const leftover of ["", "\u0006\u0000"]) {
      const cwd = tempDir();
      writeJson(cwd, "c.json", { seed: 4, budget: 6, bounds: { x: { min: -5, max: 5 } } });
      // A crash while the log was being created: its first segment holds no whole header.
      mkdirSync(join(cwd, "run"));
      writeFileSync(join(cwd, "run", "00000001.alog"), leftover);
      const objective = [process.execPath, "-e", "console.log((Number(process.env.ARQON_X) - 1) ** 2)"];
      const run = runArqon(["solve", "--config", "c.json", "--state", "run", "--", ...objective], cwd);
      expect(run.status).toBe(0);
      const status = JSON.parse(lines(runArqon(["status", "--state", "run"], cwd).stdout)[0]!);
      expect(status).toMatchObject({ phase: "done", told: 6, asked: 6, pending: [] });
    }
    // Two runs of 6 objective processes each, plus the status calls: 11 s alone, more under load.
  }, 120_000);
});
