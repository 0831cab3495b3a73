/**
 * `arqon ask` once the budget is all handed out: "done" means nothing more to ask, and a worker
 * loop that stops there must still learn which trials are running, or it reads a best that the
 * last results would change.
 */
import { afterAll, describe, expect, it } from "vitest";
import { removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

const CONFIG = { seed: 1, budget: 3, bounds: { x: { min: 0, max: 1 } } };

describe("arqon ask when nothing is left to ask", () => {
  it("lists the trials still to be told, and leaves them out once they are", async () => {
    const dir = tempDir();
    writeJson(dir, "problem.json", CONFIG);
    const state = ["--state", "run.json", "--config", "problem.json"];
    const first = await runArqonInProcess(["ask", ...state, "--batch", "3"], dir);
    expect(first.status, first.stderr).toBe(0);
    const trials = (JSON.parse(first.stdout) as { trials: { id: number }[] }).trials;
    expect(trials.map((t) => t.id)).toEqual([1, 2, 3]);

    const running = await runArqonInProcess(["ask", ...state], dir);
    expect(running.status, running.stderr).toBe(0);
    expect(JSON.parse(running.stdout)).toEqual({ trials: null, done: true, pending: [1, 2, 3] });
    expect(running.stderr).toContain("tell pending trial(s) 1, 2, 3 before reading the best");

    const results = JSON.stringify(trials.map((t, i) => ({ id: t.id, value: i })));
    const told = await runArqonInProcess(["tell", "--state", "run.json"], dir, results);
    expect(told.status, told.stderr).toBe(0);
    const over = await runArqonInProcess(["ask", ...state], dir);
    expect(JSON.parse(over.stdout)).toEqual({ trials: null, done: true });
    expect(over.stderr).not.toContain("pending");
  });
});
