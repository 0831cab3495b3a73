import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadSolverState, saveSolverState } from "../src/cli/state-file.js";
import { lockState } from "../src/cli/state-lock.js";
import { restoreSolver } from "../src/index.js";
import { LOCK_FILE_NAME } from "../src/log/index.js";
import { lines, removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

const CONFIG = { seed: 3, budget: 6, bounds: { x: { min: 0, max: 1 } } };

/** No waiting: a lock held elsewhere fails the attempt at once. */
const NO_WAIT = { waitMs: 0, pollMs: 1 };

/** The snapshot saved at `dir/name`, restored. */
function savedAt(dir: string, name: string) {
  return restoreSolver(JSON.parse(readFileSync(join(dir, name), "utf8")));
}

/** `dir` with `c.json` and a run at `runs/real.json` holding one asked, pending trial. */
async function runWithOnePendingTrial(): Promise<string> {
  const dir = tempDir();
  writeJson(dir, "c.json", CONFIG);
  mkdirSync(join(dir, "runs"));
  const asked = await runArqonInProcess(
    ["ask", "--state", "runs/real.json", "--config", "c.json", "--batch", "1"],
    dir,
  );
  expect(asked.status).toBe(0);
  expect(JSON.parse(asked.stdout).trials.map((t: { id: number }) => t.id)).toEqual([1]);
  return dir;
}

describe("a --state that is a symbolic link", () => {
  it("tell writes the result into the file the link points to, and the link stays a link", async () => {
    const dir = await runWithOnePendingTrial();
    symlinkSync("runs/real.json", join(dir, "current.json"));

    const told = await runArqonInProcess(["tell", "--state", "current.json"], dir, '[{"id":1,"value":0.5}]');
    expect(told.status).toBe(0);
    expect(lstatSync(join(dir, "current.json")).isSymbolicLink()).toBe(true);
    const real = savedAt(dir, "runs/real.json");
    expect(real.told).toBe(1);
    expect(real.pendingTrials()).toEqual([]);
    const status = await runArqonInProcess(["status", "--state", "runs/real.json"], dir);
    expect(JSON.parse(status.stdout)).toMatchObject({ told: 1, pending: [] });
    // No temporary or lock file is left beside either name.
    expect(readdirSync(dir).sort()).toEqual(["c.json", "current.json", "runs"]);
    expect(readdirSync(join(dir, "runs"))).toEqual(["real.json"]);
  });

  it("ask through the link continues the run the link points to", async () => {
    const dir = await runWithOnePendingTrial();
    symlinkSync(join(dir, "runs/real.json"), join(dir, "current.json")); // an absolute link this time
    await runArqonInProcess(["tell", "--state", "runs/real.json"], dir, '[{"id":1,"value":0.5}]');

    const asked = await runArqonInProcess(["ask", "--state", "current.json", "--batch", "1"], dir);
    expect(asked.status).toBe(0);
    expect(JSON.parse(asked.stdout).trials.map((t: { id: number }) => t.id)).toEqual([2]);
    expect(lstatSync(join(dir, "current.json")).isSymbolicLink()).toBe(true);
    expect(
      savedAt(dir, "runs/real.json")
        .pendingTrials()
        .map((t) => t.id),
    ).toEqual([2]);
  });

  it("a command on the link and one on the file it points to take the same lock", async () => {
    const dir = await runWithOnePendingTrial();
    symlinkSync("runs/real.json", join(dir, "current.json"));

    const held = await lockState("ask", dir, "runs/real.json");
    try {
      expect(existsSync(join(dir, "runs/real.json.lock"))).toBe(true);
      await expect(lockState("tell", dir, "current.json", NO_WAIT)).rejects.toThrow(
        /^arqon tell: gave up after waiting 0 ms: cannot use state current\.json: it is already open in this process/,
      );
    } finally {
      held.release();
    }
    const viaLink = await lockState("tell", dir, "current.json");
    try {
      expect(existsSync(join(dir, "current.json.lock"))).toBe(false);
      expect(existsSync(join(dir, "runs/real.json.lock"))).toBe(true);
      await expect(lockState("ask", dir, "runs/real.json", NO_WAIT)).rejects.toThrow(
        /gave up after waiting 0 ms/,
      );
    } finally {
      viaLink.release();
    }
    expect(existsSync(join(dir, "runs/real.json.lock"))).toBe(false);
  });

  it("a command writes the state it locked, even if the link is changed while it runs", async () => {
    const dir = await runWithOnePendingTrial();
    symlinkSync("runs/real.json", join(dir, "current.json"));
    const other = await runArqonInProcess(
      ["ask", "--state", "runs/other.json", "--config", "c.json", "--batch", "1"],
      dir,
    );
    expect(other.status).toBe(0);

    const held = await lockState("tell", dir, "current.json");
    try {
      const solver = loadSolverState(dir, "current.json")!;
      // `ln -sfn runs/other.json current.json` while the command holds runs/real.json.
      rmSync(join(dir, "current.json"));
      symlinkSync("runs/other.json", join(dir, "current.json"));
      solver.tell({ id: 1, value: 0.5 });
      saveSolverState(dir, "current.json", solver);
    } finally {
      held.release();
    }
    expect(savedAt(dir, "runs/real.json").told).toBe(1);
    expect(savedAt(dir, "runs/other.json").told).toBe(0);
    // The next command follows the link to where it points now.
    const status = await runArqonInProcess(["status", "--state", "current.json"], dir);
    expect(JSON.parse(status.stdout)).toMatchObject({ told: 0, pending: [{ id: 1 }] });
  });

  it("a link through a linked directory is the same state too", async () => {
    const dir = await runWithOnePendingTrial();
    symlinkSync("runs", join(dir, "latest"));
    const held = await lockState("ask", dir, "latest/real.json");
    try {
      await expect(lockState("tell", dir, "runs/real.json", NO_WAIT)).rejects.toThrow(/gave up/);
    } finally {
      held.release();
    }
    const told = await runArqonInProcess(
      ["tell", "--state", "latest/real.json"],
      dir,
      '[{"id":1,"value":0.5}]',
    );
    expect(told.status).toBe(0);
    expect(savedAt(dir, "runs/real.json").told).toBe(1);
    expect(lstatSync(join(dir, "latest")).isSymbolicLink()).toBe(true);
  });

  it("a link to a decision-log directory locks and writes the directory it points to", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONFIG);
    mkdirSync(join(dir, "runs/log"), { recursive: true });
    symlinkSync("runs/log", join(dir, "current"));

    const asked = await runArqonInProcess(
      ["ask", "--state", "current", "--config", "c.json", "--batch", "1"],
      dir,
    );
    expect(asked.status).toBe(0);
    const held = await lockState("ask", dir, "current");
    try {
      expect(existsSync(join(dir, "runs/log", LOCK_FILE_NAME))).toBe(true);
      await expect(lockState("tell", dir, "runs/log", NO_WAIT)).rejects.toThrow(/gave up after waiting 0 ms/);
    } finally {
      held.release();
    }
    const told = await runArqonInProcess(["tell", "--state", "current"], dir, '[{"id":1,"value":0.5}]');
    expect(told.status).toBe(0);
    expect(lstatSync(join(dir, "current")).isSymbolicLink()).toBe(true);
    const status = await runArqonInProcess(["status", "--state", "runs/log"], dir);
    expect(JSON.parse(status.stdout)).toMatchObject({ told: 1, pending: [] });
  });

  it("a link whose file does not exist yet: the run is created at the file it names, the link kept", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONFIG);
    symlinkSync("runs/new.json", join(dir, "current.json")); // runs/ does not exist either

    const asked = await runArqonInProcess(
      ["ask", "--state", "current.json", "--config", "c.json", "--batch", "1"],
      dir,
    );
    expect(asked.status).toBe(0);
    expect(lstatSync(join(dir, "current.json")).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(dir, "runs/new.json")).isFile()).toBe(true);
    expect(
      savedAt(dir, "runs/new.json")
        .pendingTrials()
        .map((t) => t.id),
    ).toEqual([1]);
    expect(readdirSync(join(dir, "runs"))).toEqual(["new.json"]);
  });

  it("a link whose file does not exist, on a command that creates nothing, leaves nothing behind", async () => {
    const dir = tempDir();
    symlinkSync("runs/new.json", join(dir, "current.json"));
    const asked = await runArqonInProcess(["ask", "--state", "current.json", "--batch", "1"], dir);
    expect(asked.status).toBe(2);
    expect(lines(asked.stderr)).toEqual([
      "arqon ask: state file current.json does not exist; pass --config to create it",
    ]);
    expect(readdirSync(dir)).toEqual(["current.json"]);
  });

  it("a link whose target does not exist takes its kind from the target's name, not the link's", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONFIG);
    mkdirSync(join(dir, "runs"));
    symlinkSync("runs/real.json", join(dir, "cur")); // a snapshot file, though "cur" has no .json
    symlinkSync("runs/logdir", join(dir, "cur.json")); // a log directory, though named .json
    for (const state of ["cur", "cur.json"]) {
      const asked = await runArqonInProcess(
        ["ask", "--state", state, "--config", "c.json", "--batch", "1"],
        dir,
      );
      expect(asked.status, asked.stderr).toBe(0);
    }
    expect(lstatSync(join(dir, "runs/real.json")).isFile()).toBe(true);
    expect(lstatSync(join(dir, "runs/logdir")).isDirectory()).toBe(true);
  });

  it("a .. after a linked directory leads to that directory's parent, as the kernel reads it", async () => {
    const dir = await runWithOnePendingTrial();
    mkdirSync(join(dir, "runs/sub"));
    symlinkSync("runs/sub", join(dir, "linkdir")); // linkdir/.. is runs/, not dir
    const status = await runArqonInProcess(["status", "--state", "linkdir/../real.json"], dir);
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ asked: 1, told: 0 });
  });

  it("a loop of links is refused with one line naming --state", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONFIG);
    symlinkSync("b.json", join(dir, "a.json"));
    symlinkSync("a.json", join(dir, "b.json"));
    for (const command of [
      ["ask", "--state", "a.json", "--config", "c.json"],
      ["status", "--state", "a.json"],
    ]) {
      const run = await runArqonInProcess(command, dir);
      expect(run.status).toBe(2);
      expect(run.stdout).toBe("");
      expect(lines(run.stderr)).toEqual(["cannot use --state a.json: its symbolic links form a loop"]);
    }
    expect(readdirSync(dir).sort()).toEqual(["a.json", "b.json", "c.json"]);
  });
});
