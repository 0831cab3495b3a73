// `arqon tell` with { "id", "failed" }: an ask/tell loop's way to say a job crashed. Each is
// solver.fail(id, reason) (recorded as the solver's own fail records, which every arqon reads),
// checked with the rest of the batch before anything is recorded.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSolverLog } from "../src/log/solver-log.js";
import { createSolver } from "../src/solver/solver.js";
import { lines, removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

const CONFIG = {
  seed: 4,
  budget: 12,
  bounds: { x: { min: -2, max: 2 }, depth: { type: "int", min: 1, max: 8 } },
};

/** Asks 3 trials on a new state at `state` in `dir`; their ids. */
async function askThree(dir: string, state: string): Promise<number[]> {
  writeJson(dir, "c.json", CONFIG);
  const asked = await runArqonInProcess(["ask", "--state", state, "--config", "c.json", "--batch", "3"], dir);
  expect(asked.status, asked.stderr).toBe(0);
  return (JSON.parse(asked.stdout).trials as { id: number }[]).map((trial) => trial.id);
}

const tell = (dir: string, state: string, results: unknown) =>
  runArqonInProcess(["tell", "--state", state], dir, JSON.stringify(results));

describe("arqon tell with failed trials", () => {
  it("marks them failed as fail() does, and says how many it told and marked", async () => {
    const dir = tempDir();
    const [a, b, c] = await askThree(dir, "s.json");
    const run = await tell(dir, "s.json", [
      { id: a, value: 0.5 },
      { id: b, failed: "CUDA out of memory" },
      { id: c, failed: true },
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ told: 1, failed: 2 });
    expect(lines(run.stderr).at(-1)).toMatch(/^told 1 result\(s\), marked 2 failed: /);
    // The same state by the library's own calls.
    const expected = createSolver(CONFIG as never);
    expected.ask({ max: 3 });
    expected.tell({ id: a!, value: 0.5 });
    expected.fail(b!, "CUDA out of memory");
    expected.fail(c!);
    expect(JSON.parse(readFileSync(join(dir, "s.json"), "utf8"))).toEqual(
      JSON.parse(JSON.stringify(expected.toJSON())),
    );
    const status = JSON.parse((await runArqonInProcess(["status", "--state", "s.json"], dir)).stdout);
    expect(status).toMatchObject({ asked: 3, told: 1, failed: 2 });
  });

  it("refuses the whole batch when a failure cannot be recorded, naming each, and records nothing", async () => {
    const dir = tempDir();
    const [a, b, c] = await askThree(dir, "s.json");
    expect((await tell(dir, "s.json", [{ id: c, value: 1 }])).status).toBe(0);
    const refused = await tell(dir, "s.json", [
      { id: a, value: 0.5 },
      { id: b, failed: "oom" },
      { id: b, failed: true },
      { id: c, failed: "late" },
      { id: 99, failed: "?" },
      { id: a, failed: "both" },
    ]);
    expect(refused.status).toBe(2);
    const message = lines(refused.stderr).at(-1)!;
    expect(message).toContain("results refused, nothing was told");
    expect(message).toContain(`results[2].id: trial ${b} appears twice in these results`);
    expect(message).toContain(`results[3].id: trial ${c} was already told`);
    expect(message).toContain("results[4].id: trial 99 was never asked");
    expect(message).toContain(`results[5].id: trial ${a} appears twice in these results`);
    const status = JSON.parse((await runArqonInProcess(["status", "--state", "s.json"], dir)).stdout);
    expect(status).toMatchObject({ asked: 3, told: 1, failed: 0 });
    // A result the solver itself refuses (a warm start out of bounds) refuses the failures too, and
    // the refusal names the entry as the input numbers it, failures counted.
    const bad = await tell(dir, "s.json", [
      { id: a, failed: "oom" },
      { id: b, value: 1 },
      { params: { x: 9, depth: 1 }, value: 1 },
    ]);
    expect(bad.status).toBe(2);
    expect(lines(bad.stderr).at(-1)).toMatch(/nothing was told: results\[2\]\.params\.x: /);
    expect(JSON.parse((await runArqonInProcess(["status", "--state", "s.json"], dir)).stdout)).toMatchObject({
      failed: 0,
    });
  });

  it("names a refused entry by its input position from the solver's structured issues", async () => {
    // A parameter named "result" once had its own name renumbered with the entry's.
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 4, budget: 12, bounds: { result: { min: 0, max: 1 } } });
    const asked = await runArqonInProcess(
      ["ask", "--state", "s.json", "--config", "c.json", "--batch", "2"],
      dir,
    );
    expect(asked.status, asked.stderr).toBe(0);
    const [a, b] = (JSON.parse(asked.stdout).trials as { id: number }[]).map((trial) => trial.id);
    const bad = await tell(dir, "s.json", [
      { id: a, failed: "oom" },
      { params: { result: 9 }, value: 1 },
      { id: b, value: 2 },
      { id: 99, value: 3 },
    ]);
    expect(bad.status).toBe(2);
    expect(lines(bad.stderr).at(-1)).toBe(
      "arqon tell: results refused, nothing was told: results[1].params.result: 9 is outside [0, 1]; " +
        "results[3].id: trial 99 was never asked",
    );
  });

  it("in a decision-log state, writes fail records that reopen as they ran", async () => {
    const dir = tempDir();
    const [a, b] = await askThree(dir, "log");
    const run = await tell(dir, "log", [
      { id: a, value: 0.25 },
      { id: b, failed: "segfault" },
    ]);
    expect(run.status, run.stderr).toBe(0);
    const reopened = openSolverLog(join(dir, "log"));
    try {
      expect(reopened.trialStatus(a!)).toBe("told");
      expect(reopened.trialStatus(b!)).toBe("failed");
      expect(reopened.toJSON().told).toContainEqual({ id: b, failed: "segfault" });
    } finally {
      reopened.closeLog();
    }
  });
});

describe("arqon tell with pruned: false", () => {
  it('tells a completed result, as a loop writing "pruned": was_pruned means it', async () => {
    const dir = tempDir();
    const [a, b] = await askThree(dir, "s.json");
    const run = await tell(dir, "s.json", [
      { id: a, pruned: false, value: 0.5 },
      { id: b, pruned: true },
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ told: 1, pruned: 1 });
    const refused = await tell(dir, "s.json", [{ id: a, pruned: "no", value: 1 }]);
    expect(refused.status).toBe(2);
    expect(lines(refused.stderr).at(-1)).toBe(
      "arqon tell: invalid results: results[0].pruned: expected true or false",
    );
  });

  it("takes both flags on every entry, false meaning absent, as a loop that always writes them", async () => {
    const dir = tempDir();
    const [a, b, c] = await askThree(dir, "s.json");
    const run = await tell(dir, "s.json", [
      { id: a, value: 0.5, pruned: false, failed: false },
      { id: b, failed: "CUDA out of memory", pruned: false },
      { id: c, pruned: true, failed: false },
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ told: 1, pruned: 1, failed: 1 });
    const status = JSON.parse((await runArqonInProcess(["status", "--state", "s.json"], dir)).stdout);
    expect(status).toMatchObject({ asked: 3, told: 1, pruned: 1, failed: 1 });
  });

  it("reads null as absent on the flags, any cost and a failed or pruned trial's value, as Python's None writes it", async () => {
    const dir = tempDir();
    const [a, b, c] = await askThree(dir, "s.json");
    // Every key on every entry, as a loop that writes all six would.
    const run = await tell(dir, "s.json", [
      { id: a, params: null, value: 0.5, cost: null, pruned: null, failed: null },
      { id: b, params: null, value: null, cost: null, pruned: null, failed: "CUDA out of memory" },
      { id: c, params: null, value: null, cost: null, pruned: true, failed: null },
      { id: null, params: { x: 0.5, depth: 2 }, value: 0.7, cost: null, pruned: false, failed: null },
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ told: 2, pruned: 1, failed: 1 });
    // A completed result still needs its value.
    const [d] = await askThree(dir, "t.json");
    const refused = await tell(dir, "t.json", [{ id: d, value: null, failed: null }]);
    expect(refused.status).toBe(2);
    expect(lines(refused.stderr).at(-1)).toBe(
      "arqon tell: invalid results: results[0].value: expected a finite number, got null",
    );
  });

  it("refuses a trial said to have both failed and been pruned, naming the entry", async () => {
    const dir = tempDir();
    const [a] = await askThree(dir, "s.json");
    const refused = await tell(dir, "s.json", [{ id: a, failed: "oom", pruned: true }]);
    expect(refused.status).toBe(2);
    expect(lines(refused.stderr).at(-1)).toBe(
      "arqon tell: invalid results: results[0].pruned: a failed trial was not pruned",
    );
  });

  it("says which value it got that is no finite number, as the solver's tell does", async () => {
    const dir = tempDir();
    const [a, b] = await askThree(dir, "s.json");
    const refused = await tell(dir, "s.json", [
      { id: a, value: "nan" },
      { id: b, value: 0.5, cost: "1.5" },
    ]);
    expect(refused.status).toBe(2);
    expect(lines(refused.stderr).at(-1)).toBe(
      'arqon tell: invalid results: results[0].value: expected a finite number, got "nan"; results[1].cost: expected a finite number, got "1.5"',
    );
    // The library's message for the same result, which the CLI's follows.
    const solver = createSolver({ seed: 4, budget: 3, bounds: { x: { min: -2, max: 2 } } });
    const [trial] = solver.ask({ max: 1 })!;
    expect(() => solver.tell({ id: trial!.id, value: "nan" } as never)).toThrow(
      /value: expected a finite number, got "nan"/,
    );
  });
});
