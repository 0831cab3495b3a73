import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Script } from "node:vm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { COMMON_SCRIPT } from "../src/dashboard/page-common.js";
import { STUDY_SCRIPT } from "../src/dashboard/study-page.js";
import { createSolver, type Solver } from "../src/index.js";
import {
  createSolverLog,
  readStudy,
  StudyError,
  type StudyServer,
  serveStudy,
  studyOf,
} from "../src/node.js";

const CONFIG = {
  seed: 4,
  budget: 24,
  bounds: { cacheMb: { min: 16, max: 4096, scale: "log" as const }, workers: { min: 1, max: 32 } },
};
const objective = (p: Readonly<Record<string, unknown>>) =>
  (Math.log2(Number(p.cacheMb)) - 9) ** 2 + 0.05 * (Number(p.workers) - 12) ** 2 + 3;

/** Runs `solver` for `rounds` asks, telling the objective (and failing trial 2). */
function run(solver: Solver, rounds: number): void {
  for (let r = 0; r < rounds; r++) {
    const trials = solver.ask();
    if (trials === null || trials.length === 0) return;
    for (const t of trials) {
      if (t.id === 2) solver.fail(t.id, "worker crashed");
      else solver.tell({ id: t.id, value: objective(t.params) });
    }
  }
}

const dirs: string[] = [];
const servers: StudyServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "arqon-study-"));
  dirs.push(dir);
  return dir;
}

describe("studyOf", () => {
  it("shows where each pruned trial stopped: its last report, or the value told with it", () => {
    const solver = createSolver({ ...CONFIG, budget: 4 });
    const [a, b, c, d] = solver.ask({ max: 4 })!;
    solver.report(a!.id, 1, 9);
    solver.report(a!.id, 3, 7);
    solver.tell({ id: a!.id, pruned: true }); // stops at its last report
    solver.report(b!.id, 3, -100);
    solver.tell({ id: b!.id, pruned: true, value: -1000 }); // a value of its own, after step 3
    solver.tell({ id: c!.id, pruned: true, value: 0.7 }); // no report, a value
    solver.tell({ id: d!.id, pruned: true }); // neither
    expect(studyOf(solver, "s").trials.map((t) => [t.value, t.failed])).toEqual([
      [null, "pruned at step 3 (value 7)"],
      [null, "pruned after step 3 (value -1000)"],
      [null, "pruned (value 0.7)"],
      [null, "pruned"],
    ]);
  });

  it("lists told results in order, in raw units, with failures and the best so far", () => {
    const solver = createSolver(CONFIG);
    solver.tell({ params: { cacheMb: 512, workers: 12 }, value: 3.5 }); // a warm start
    run(solver, 3);
    const study = studyOf(solver, "s");
    const told = solver.toJSON().told;
    expect(study.trials).toHaveLength(told.length);
    expect(study.trials.map((t) => t.n)).toEqual(told.map((_, i) => i + 1));
    expect(study.trials[0]).toMatchObject({
      id: null,
      phase: "warm-start",
      value: 3.5,
      params: { cacheMb: 512 },
    });
    const failed = study.trials.find((t) => t.id === 2)!;
    expect(failed).toMatchObject({ value: null, failed: "worker crashed" });
    // Raw values: each told trial's params reproduce its objective exactly.
    for (const t of study.trials)
      if (t.id !== null && t.value !== null) expect(t.value).toBeCloseTo(objective(t.params), 9);
    const best = solver.best()!;
    expect(study.best?.value).toBe(best.value);
    expect(study.trials[study.best!.n - 1]!.value).toBe(best.value);
    expect(study.bounds.cacheMb).toEqual({ min: 16, max: 4096, scale: "log" });
    expect(study).toMatchObject({ names: ["cacheMb", "workers"], budget: 24, phase: solver.phase });
    solver.stop();
  });

  it("shows a fixed parameter's range beside the best point, and no slice for it", () => {
    const solver = createSolver({ ...CONFIG, bounds: { ...CONFIG.bounds, retries: { min: 2, max: 2 } } });
    run(solver, 2);
    const study = studyOf(solver, "s");
    expect(study.names).toEqual(["cacheMb", "workers"]);
    expect(study.bounds.retries).toEqual({ min: 2, max: 2, scale: "linear" });
    expect(study.best?.params).toMatchObject({ retries: 2 });
    solver.stop();
  });
});

describe("readStudy", () => {
  it("reads a JSON state file and a solver log to the same study", async () => {
    const dir = tempDir();
    const plain = createSolver(CONFIG);
    const logged = createSolverLog(join(dir, "log"), createSolver(CONFIG));
    run(plain, 4);
    run(logged, 4);
    logged.closeLog();
    writeFileSync(join(dir, "state.json"), JSON.stringify(plain.toJSON()));
    const fromFile = await readStudy(join(dir, "state.json"));
    const fromLog = await readStudy(join(dir, "log"));
    expect(fromLog.trials).toEqual(fromFile.trials);
    expect(fromFile.trials.length).toBeGreaterThan(4);
    plain.stop();
    logged.stop();
  });

  it("names the path and the reason when there is no solver state", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "junk.json"), '{"format":"other"}');
    await expect(readStudy(join(dir, "junk.json"))).rejects.toThrow(StudyError);
    await expect(readStudy(join(dir, "junk.json"))).rejects.toThrow(
      /junk\.json is not a readable arqon solver state/,
    );
    await expect(readStudy(dir)).rejects.toThrow(/no decision log/);
    await expect(readStudy(join(dir, "missing.json"))).rejects.toThrow(/missing\.json/);
  });
});

/** A state file in a new directory holding a solver run for `rounds` asks; returns its path. */
function stateFile(rounds: number): string {
  const file = join(tempDir(), "state.json");
  const solver = createSolver(CONFIG);
  run(solver, rounds);
  writeFileSync(file, JSON.stringify(solver.toJSON()));
  solver.stop();
  return file;
}

describe("serveStudy", () => {
  it("serves the study on 127.0.0.1 and reads the state again when it changes", async () => {
    const dir = tempDir();
    const file = join(dir, "state.json");
    const solver = createSolver(CONFIG);
    run(solver, 2);
    writeFileSync(file, JSON.stringify(solver.toJSON()));
    const server = await serveStudy({ study: file }, { intervalMs: 20 });
    servers.push(server);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(server.url);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(await page.text()).toContain('id="history-chart"');
    const first = (await (await fetch(new URL("study.json", server.url))).json()) as {
      version: number;
      study: { trials: unknown[] };
    };
    expect(first.study.trials).toHaveLength(solver.told + 1); // the failed trial is listed too

    run(solver, 3);
    writeFileSync(file, JSON.stringify(solver.toJSON()));
    // The server polls every 20 ms; wait for its state to change.
    await vi.waitFor(() => expect(server.study.trials.length).toBeGreaterThan(first.study.trials.length), {
      timeout: 10_000,
      interval: 20,
    });
    const second = (await (await fetch(new URL("study.json", server.url))).json()) as { version: number };
    expect(second.version).toBeGreaterThan(first.version);
    // A page naming the version it holds gets no study back until a newer one is read.
    const known = await (await fetch(new URL(`study.json?known=${second.version}`, server.url))).json();
    expect(known).toEqual({ version: second.version, error: null });
    const stale = (await (await fetch(new URL(`study.json?known=${first.version}`, server.url))).json()) as {
      study: { trials: unknown[] };
    };
    expect(stale.study.trials).toHaveLength(server.study.trials.length);
    expect(server.study.trials.length).toBeGreaterThan(first.study.trials.length);
    expect((await fetch(server.url, { method: "POST" })).status).toBe(405);
    solver.stop();
  });

  it("never tells a page left open across a restart that it holds the new study", async () => {
    const dir = tempDir();
    const solver = createSolver(CONFIG);
    run(solver, 2);
    writeFileSync(join(dir, "a.json"), JSON.stringify(solver.toJSON()));
    run(solver, 2);
    writeFileSync(join(dir, "b.json"), JSON.stringify(solver.toJSON()));
    solver.stop();
    const first = await serveStudy(join(dir, "a.json"));
    const held = ((await (await fetch(new URL("study.json", first.url))).json()) as { version: number })
      .version;
    const port = Number(new URL(first.url).port);
    await first.close();
    const second = await serveStudy(join(dir, "b.json"), { port });
    servers.push(second);
    const reply = (await (await fetch(new URL(`study.json?known=${held}`, second.url))).json()) as {
      study?: { trials: unknown[] };
    };
    expect(reply.study?.trials).toHaveLength(second.study.trials.length);
  });

  it("answers a malformed request path and carries on", async () => {
    const server = await serveStudy(stateFile(1));
    servers.push(server);
    const { port, host } = new URL(server.url);
    // fetch normalises a path; a raw request sends it as a browser never would.
    const status = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () =>
        socket.write(`GET //[ HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
      );
      let text = "";
      socket.on("data", (chunk) => {
        text += chunk;
      });
      socket.on("end", () => resolve(text.split("\r\n")[0]!));
      socket.on("error", reject);
    });
    expect(status).toBe("HTTP/1.1 404 Not Found");
    expect((await fetch(new URL("study.json", server.url))).status).toBe(200);
  });

  it("clears a read error once the state reads again, changed or not", async () => {
    const file = stateFile(1);
    const server = await serveStudy(file, { intervalMs: 20 });
    servers.push(server);
    const errorNow = async () =>
      ((await (await fetch(new URL("study.json", server.url))).json()) as { error: string | null }).error;
    // Moved away and back: the file, its size and its modification time are as they were.
    renameSync(file, `${file}.away`);
    await vi.waitFor(async () => expect(await errorNow()).not.toBeNull(), { timeout: 10_000, interval: 20 });
    renameSync(`${file}.away`, file);
    await vi.waitFor(async () => expect(await errorNow()).toBeNull(), { timeout: 10_000, interval: 20 });
  });

  it("refuses a host other than 127.0.0.1 and an unreadable state", async () => {
    await expect(serveStudy("x.json", { host: "0.0.0.0" })).rejects.toThrow(/127\.0\.0\.1 only/);
    await expect(serveStudy(join(tempDir(), "none.json"))).rejects.toThrow(StudyError);
  });

  it("ships page scripts that parse as classic scripts", () => {
    expect(() => new Script(STUDY_SCRIPT, { filename: "study.js" })).not.toThrow();
    expect(() => new Script(COMMON_SCRIPT, { filename: "common.js" })).not.toThrow();
  });
});
