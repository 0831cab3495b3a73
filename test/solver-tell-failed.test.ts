// A failed evaluation told in a batch ({ id, failed }) must be exactly solver.fail(id, reason),
// all or nothing with the rest of the batch: for ask/tell loops and the CLI's `tell`, which have
// no other way to say a job crashed.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createSolverLog, openSolverLog } from "../src/log/solver-log.js";
import type { SolverConfig } from "../src/solver/config.js";
import { createSolver, type Told } from "../src/solver/solver.js";
import { runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

const CONFIG: SolverConfig = {
  seed: 4,
  budget: 40,
  bounds: { x: { min: -2, max: 2 }, depth: { type: "int", min: 1, max: 8 } },
};

/**
 * A run in batches of 4 where every third trial crashes: each batch told in one call with its
 * failures in it, or trial by trial with fail() for the failures.
 */
function run(inOneCall: boolean) {
  const solver = createSolver(CONFIG);
  for (let batch = solver.ask({ max: 4 }); batch !== null; batch = solver.ask({ max: 4 })) {
    const told: Told[] = [];
    for (const trial of batch) {
      const x = trial.params.x as number;
      if (trial.id % 3 === 0) {
        if (inOneCall) told.push({ id: trial.id, failed: trial.id % 2 === 0 ? "OOM" : true });
        else solver.fail(trial.id, trial.id % 2 === 0 ? "OOM" : undefined);
        continue;
      }
      const result = { id: trial.id, value: (x - 0.7) ** 2 + (trial.params.depth as number) / 10 };
      if (inOneCall) told.push(result);
      else solver.tell(result);
    }
    if (inOneCall) solver.tell(told);
  }
  return solver.toJSON();
}

describe("tell({ id, failed })", () => {
  it("is exactly fail(id, reason): the same run, trial for trial", () => {
    const viaTell = run(true);
    expect(viaTell.trials.filter((t) => t.status === "failed").length).toBeGreaterThan(5);
    expect(viaTell).toEqual(run(false));
  });

  it("refuses a malformed or impossible failure with the rest of the batch, naming each", () => {
    const solver = createSolver(CONFIG);
    const [a, b] = solver.ask({ max: 2 })!;
    const before = JSON.stringify(solver.toJSON());
    const bad = [
      { id: a!.id, value: 1 },
      { id: b!.id, failed: "OOM", value: 3 },
      { id: 99, failed: 7 },
    ] as unknown as Told[];
    expect(() => solver.tell(bad)).toThrow(
      /result\[1\]\.value: a failed trial has no value[\s\S]*result\[2\]\.failed: expected a reason \(a string\) or true, got 7[\s\S]*result\[2\]\.id: trial 99 was never asked/,
    );
    expect(JSON.stringify(solver.toJSON())).toBe(before);
    solver.tell([
      { id: a!.id, value: 1 },
      { id: b!.id, failed: "OOM" },
    ]);
    expect(solver.trialStatus(b!.id)).toBe("failed");
    expect(() => solver.tell({ id: b!.id, failed: true })).toThrow(
      `trial ${b!.id} was already marked failed`,
    );
  });

  it("is one record of a solver's decision log, and reopens as it ran", () => {
    const dir = join(tempDir(), "log");
    const logged = createSolverLog(dir, createSolver(CONFIG));
    const [a, b, c] = logged.ask({ max: 3 })!;
    logged.tell([
      { id: a!.id, value: 0.5 },
      { id: b!.id, failed: "segfault" },
      { id: c!.id, failed: true },
    ]);
    const state = logged.toJSON();
    logged.closeLog();
    const reopened = openSolverLog(dir);
    expect(reopened.toJSON()).toEqual(state);
    expect(reopened.trialStatus(b!.id)).toBe("failed");
    reopened.closeLog();
  });
});

describe("arqon tell with a failed trial", () => {
  it("records it, and a batch with a bad failure leaves the state as it was", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONFIG);
    const asked = await runArqonInProcess(
      ["ask", "--state", "s.json", "--config", "c.json", "--batch", "2"],
      dir,
    );
    const [first, second] = JSON.parse(asked.stdout).trials as { id: number }[];
    const refused = await runArqonInProcess(
      ["tell", "--state", "s.json"],
      dir,
      JSON.stringify([
        { id: first!.id, value: 1 },
        { id: second!.id, failed: "OOM", cost: 3 },
      ]),
    );
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("results[1].cost: a failed trial has no cost");
    const told = await runArqonInProcess(
      ["tell", "--state", "s.json"],
      dir,
      JSON.stringify([
        { id: first!.id, value: 1 },
        { id: second!.id, failed: "OOM" },
      ]),
    );
    expect(told.status, told.stderr).toBe(0);
    const status = JSON.parse((await runArqonInProcess(["status", "--state", "s.json"], dir)).stdout);
    expect(status).toMatchObject({ asked: 2, told: 1, failed: 1 });
  });
});
