import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Effect, Exit } from "effect";
import { describe, expect, it } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import { createSolver, type SolverConfig } from "../src/index.js";
import { compactDecisionLog } from "../src/log/compact.js";
import { createLoggedEngine, LoggedEngine } from "../src/log/engine-log.js";
import { LogError } from "../src/log/errors.js";
import { acquireLogLock } from "../src/log/lock.js";
import { readDecisionLog } from "../src/log/reader.js";
import { hasDecisionLog } from "../src/log/segments.js";
import { createSolverLog, openSolverLog } from "../src/log/solver-log.js";
import { openDecisionLog } from "../src/log/writer.js";
import { explain } from "../src/replay/explain.js";
import { ReplayInputError, readReplayLog } from "../src/replay/read-log.js";
import { replay } from "../src/replay/replay.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { tempLogDirs } from "./support/log-dir.js";

const newDir = tempLogDirs();

const SOLVER: SolverConfig = { seed: 1, budget: 10, bounds: { x: { min: -1, max: 1 } } };

function engineConfig(): EngineConfig {
  return {
    seed: 1,
    params: { a: { min: 0, max: 10, init: 5, maxDelta: 1 } },
    scheduler: new ReplayClock(1_000),
  };
}

/** Every file of `dir` with its bytes, to tell that nothing was written. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) out[name] = readFileSync(join(dir, name)).toString("base64");
  return out;
}

/** A solver log holding one ask and one tell. */
function solverLog(): string {
  const dir = newDir();
  const solver = createSolverLog(dir, createSolver(SOLVER));
  const [trial] = solver.ask()!;
  solver.tell({ id: trial!.id, value: 1 });
  solver.closeLog();
  return dir;
}

/** A generic log with a header and ten records. */
function genericLog(): string {
  const dir = newDir();
  const writer = openDecisionLog({ dir, header: { kind: "header" } });
  for (let k = 0; k < 10; k++) writer.append({ kind: "r", k });
  writer.close();
  return dir;
}

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

describe("createLoggedEngine on a directory holding another kind of log", () => {
  it("refuses a solver log, names the directory and the format, and writes nothing", () => {
    const dir = solverLog();
    const before = contents(dir);
    const error = thrown(() => createLoggedEngine(engineConfig(), { dir }));
    expect(error).toBeInstanceOf(LogError);
    expect((error as Error).message).toBe(
      `cannot continue decision log ${dir} with an engine: it is not an engine log (its header's format is "arqon.solver-log", not "arqon.engine")`,
    );
    expect(contents(dir)).toEqual(before);
    expect(openSolverLog(dir).told).toBe(1);
  });

  it("refuses a log whose header has no format, under an Effect scope too", async () => {
    const dir = genericLog();
    const before = contents(dir);
    const exit = await Effect.runPromiseExit(Effect.scoped(LoggedEngine.make(engineConfig(), { dir })));
    expect(Exit.isFailure(exit)).toBe(true);
    const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined;
    expect(error).toBeInstanceOf(LogError);
    expect((error as Error).message).toContain(`its header has no format, not "arqon.engine"`);
    expect(contents(dir)).toEqual(before);
  });
});

describe("compactDecisionLog's keep", () => {
  it.each([
    [-3, "-3"],
    [Number.NaN, "NaN"],
    [2.7, "2.7"],
    [Number.POSITIVE_INFINITY, "Infinity"],
    ["5", '"5"'],
    [undefined, "undefined"],
    [null, "null"],
  ])("refuses %s before taking the lock, changing nothing", (keep, shown) => {
    const dir = genericLog();
    const before = contents(dir);
    // A live writer holds the lock: the bad keep is reported, not the lock.
    const writer = openDecisionLog({ dir });
    try {
      const error = thrown(() => compactDecisionLog(dir, keep as unknown as number));
      expect(error).toBeInstanceOf(LogError);
      expect((error as Error).message).toBe(`keep must be a whole number ≥ 0 or a function, got ${shown}`);
    } finally {
      writer.close();
    }
    expect(contents(dir)).toEqual(before);
  });

  it("still takes a whole number (0 included) or a function", () => {
    const dir = genericLog();
    expect(compactDecisionLog(dir, 4).recordsKept).toBe(4);
    expect(compactDecisionLog(dir, (entry) => entry.seq % 2 === 0).recordsKept).toBe(2);
    expect(compactDecisionLog(dir, 0).recordsKept).toBe(0);
  });
});

describe("bad paths", () => {
  function paths() {
    const base = newDir();
    mkdirSync(base, { recursive: true });
    const file = join(base, "afile");
    writeFileSync(file, "hello\n");
    const segdir = join(base, "segdir");
    mkdirSync(join(segdir, "00000001.alog"), { recursive: true });
    return { file, segdir, missing: join(base, "missing"), underFile: join(file, "sub") };
  }

  function expectLogError(run: () => unknown, message: string): void {
    const error = thrown(run);
    expect(error).toBeInstanceOf(LogError);
    expect((error as Error).message).toContain(message);
  }

  it("the readers and openers throw a LogError naming the path and the reason", () => {
    const { file, segdir } = paths();
    const notDir = `cannot read decision log ${file}: ENOTDIR`;
    expectLogError(() => readDecisionLog(file), notDir);
    expectLogError(() => openSolverLog(file), notDir);
    expectLogError(() => compactDecisionLog(file, 1), notDir);
    expectLogError(
      () => readDecisionLog(segdir),
      `cannot read decision log ${segdir}: 00000001.alog: EISDIR`,
    );
    expectLogError(() => compactDecisionLog(segdir, 1), `cannot read decision log ${segdir}: 00000001.alog`);
    expectLogError(() => createLoggedEngine(engineConfig(), { dir: file }), `decision log ${file}`);
    expectLogError(() => acquireLogLock(file), `cannot create lock file ${join(file, "LOCK")}: ENOTDIR`);
  });

  it("a lock in a missing directory says why it cannot be created", () => {
    const { missing } = paths();
    expectLogError(() => acquireLogLock(missing), `cannot create lock file ${join(missing, "LOCK")}: ENOENT`);
  });

  it("a regular file holds no decision log", () => {
    const { file } = paths();
    expect(hasDecisionLog(file)).toBe(false);
  });

  it("readReplayLog, replay and explain report a missing log as a ReplayInputError", async () => {
    const { missing, underFile } = paths();
    for (const path of [missing, underFile]) {
      const error = thrown(() => readReplayLog(path));
      expect(error).toBeInstanceOf(ReplayInputError);
      expect((error as Error).message).toBe(`log not found: ${path}`);
    }
    await expect(replay(missing)).rejects.toThrow(ReplayInputError);
    expect(() => explain(missing, 1)).toThrow(ReplayInputError);
  });
});

describe("a path that is not a log", () => {
  it("replay and explain name one segment file as such, and point at its directory", async () => {
    const dir = newDir();
    const { engine, close } = createLoggedEngine(engineConfig(), { dir });
    engine.observe({ objective: 1, generation: engine.generation });
    await close();
    const segment = join(dir, readdirSync(dir).find((name) => name.endsWith(".alog"))!);
    const message = `${segment} is one segment of a decision log, which is read whole: pass its directory, ${dir}`;
    expect(thrown(() => readReplayLog(segment))).toEqual(new ReplayInputError(message));
    await expect(replay(segment)).rejects.toThrow(message);
    expect(() => explain(segment, 1)).toThrow(message);
  });

  it("quotes a line that is not JSON with its control characters escaped", () => {
    const dir = newDir();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "records.jsonl");
    writeFileSync(file, '{"seq":1}\n\u0019\b\u0000\u0000Op+&{\n');
    const error = thrown(() => readReplayLog(file)) as Error;
    expect(error).toBeInstanceOf(ReplayInputError);
    expect(error.message).toMatch(/^.*records\.jsonl:2: not JSON \(.*\\x19\\x08\\x00\\x00Op\+&\{/);
    expect([...error.message].filter((c) => c.charCodeAt(0) < 0x20)).toEqual([]);
  });
});

describe("values JSON cannot hold", () => {
  it.each([
    [{ kind: "m", nan: Number.NaN }, "field nan is NaN, which JSON reads back as null"],
    [
      { kind: "m", a: { b: [1, Number.NEGATIVE_INFINITY] } },
      "field a.b[1] is -Infinity, which JSON reads back as null",
    ],
    [{ kind: "m", z: -0 }, "field z is -0, which JSON reads back as 0"],
    [{ kind: "m", n: 10n }, "field n is a BigInt, which JSON cannot hold"],
  ])("append refuses %o, naming the field, and takes nothing", (record, reason) => {
    const dir = newDir();
    const writer = openDecisionLog({ dir, header: { kind: "header" } });
    const error = thrown(() => writer.append(record));
    expect(error).toBeInstanceOf(LogError);
    expect((error as Error).message).toBe(`cannot append a decision-log record: ${reason}`);
    expect(writer.append({ kind: "ok" })).toBe(1);
    writer.close();
    expect(readDecisionLog(dir).records.map((entry) => entry.record)).toEqual([{ seq: 1, kind: "ok" }]);
  });

  it("a solver log keeps −0 exactly: a told value and a bound", () => {
    const dir = newDir();
    const config: SolverConfig = { seed: 1, budget: 10, bounds: { x: { min: -0, max: 1 } } };
    const solver = createSolverLog(dir, createSolver(config));
    const [trial] = solver.ask()!;
    solver.tell({ id: trial!.id, value: -0 });
    expect(Object.is(solver.best()!.value, -0)).toBe(true);
    solver.closeLog();
    const reopened = openSolverLog(dir);
    expect(Object.is(reopened.best()!.value, -0)).toBe(true);
    expect(Object.is((reopened.config.bounds.x as { min: number }).min, -0)).toBe(true);
  });
});
