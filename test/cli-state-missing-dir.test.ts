import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { restoreSolver } from "../src/index.js";
import { lines, removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

const CONFIG = { seed: 3, budget: 6, bounds: { x: { min: 0, max: 1 } } };

describe("a --state in a directory that does not exist", () => {
  it("ask creates the directories of a .json state, as it does for a log directory", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONFIG);
    for (const state of ["nodir/run.json", "a/b/log"]) {
      const asked = await runArqonInProcess(
        ["ask", "--state", state, "--config", "c.json", "--batch", "1"],
        dir,
      );
      expect(asked.stderr).not.toMatch(/cannot/);
      expect(asked.status).toBe(0);
      expect(JSON.parse(asked.stdout).trials.map((t: { id: number }) => t.id)).toEqual([1]);
      const told = await runArqonInProcess(["tell", "--state", state], dir, '[{"id":1,"value":0.25}]');
      expect(told.status).toBe(0);
      const status = await runArqonInProcess(["status", "--state", state], dir);
      expect(JSON.parse(status.stdout)).toMatchObject({ asked: 1, told: 1, pending: [] });
    }
    expect(readdirSync(join(dir, "nodir"))).toEqual(["run.json"]);
    expect(restoreSolver(JSON.parse(readFileSync(join(dir, "nodir/run.json"), "utf8"))).told).toBe(1);
  });

  it("solve creates them too", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONFIG);
    const solve = await runArqonInProcess(
      [
        "solve",
        "--config",
        "c.json",
        "--state",
        "x/y/run.json",
        "--",
        process.execPath,
        "-e",
        "console.log(1)",
      ],
      dir,
    );
    expect(solve.status).toBe(0);
    expect(restoreSolver(JSON.parse(readFileSync(join(dir, "x/y/run.json"), "utf8"))).told).toBe(6);
    expect(readdirSync(join(dir, "x/y"))).toEqual(["run.json"]);
  });

  it("a command that saves nothing leaves no directory it created behind", async () => {
    const dir = tempDir();
    for (const state of ["nodir/run.json", "a/b/run.json", "c/d/log"]) {
      const asked = await runArqonInProcess(["ask", "--state", state], dir);
      expect(asked.status).toBe(2);
      expect(lines(asked.stderr)).toEqual([
        `arqon ask: state file ${state} does not exist; pass --config to create it`,
      ]);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it("a directory that exists but holds no run is named as such, and is left as it was", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "runs"));
    const expected = {
      ask: "arqon ask: state directory runs holds no saved run; pass --config to create it",
      solve: "arqon solve: state directory runs holds no saved run; pass --config to create it",
      tell: "arqon tell: state directory runs holds no saved run; create it with arqon ask --config",
      status: "arqon status: state directory runs holds no saved run; create it with arqon ask --config",
      // report takes no --config with --state: the way to a run is ask's.
      report: "arqon report: state directory runs holds no saved run; create it with arqon ask --config",
    };
    for (const [command, line] of Object.entries(expected)) {
      const extra =
        command === "solve"
          ? ["--", process.execPath, "-e", "console.log(1)"]
          : command === "report"
            ? ["--id", "1", "--step", "1", "--value", "0.5"]
            : [];
      const run = await runArqonInProcess([command, "--state", "runs", ...extra], dir, "[]");
      expect(run.status).toBe(2);
      expect(lines(run.stderr)).toEqual([line]);
    }
    expect(readdirSync(join(dir, "runs"))).toEqual([]);
  });

  it("a path through a regular file is refused with one line naming --state", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONFIG);
    writeFileSync(join(dir, "file.json"), "{}");
    for (const state of ["file.json/run.json", "file.json/sub/run.json", "file.json/log"]) {
      const asked = await runArqonInProcess(
        ["ask", "--state", state, "--config", "c.json", "--batch", "1"],
        dir,
      );
      expect(asked.status).toBe(2);
      expect(asked.stdout).toBe("");
      expect(lines(asked.stderr)).toEqual([`cannot use --state ${state}: file.json is not a directory`]);
    }
    expect(readdirSync(dir).sort()).toEqual(["c.json", "file.json"]);
    expect(existsSync(join(dir, "file.json.lock"))).toBe(false);
  });
});
