// A solver command pointed at an engine's decision log: refused, naming the log's format, before
// the state's lock is touched.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { acquireLogLock } from "../src/log/lock.js";
import { createLoggedEngine } from "../src/node.js";
import { lines, removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

/** An engine's decision log in `dir/log`, left locked by a process that is gone (as after a crash). */
async function crashedEngineLog(dir: string): Promise<string> {
  const log = join(dir, "log");
  await createLoggedEngine({ seed: 1, params: { x: { min: 0, max: 10 } } }, { dir: log }).close();
  const lock = acquireLogLock(log);
  const holder = JSON.parse(readFileSync(join(log, "LOCK"), "utf8")) as Record<string, unknown>;
  lock.release();
  const gone = spawnSync(process.execPath, ["-e", ""]).pid;
  writeFileSync(join(log, "LOCK"), JSON.stringify({ ...holder, pid: gone }));
  return log;
}

describe("a solver command on an engine's decision log", () => {
  it("is refused naming the log's format, and leaves the log and its stale lock as they were", async () => {
    const dir = tempDir();
    const log = await crashedEngineLog(dir);
    const before = readdirSync(log).map((name) => [name, readFileSync(join(log, name), "utf8")]);
    writeJson(dir, "c.json", { seed: 1, budget: 4, bounds: { x: { min: 0, max: 1 } } });
    writeJson(dir, "r.json", [{ id: 1, value: 0.5 }]);
    const commands = [
      ["ask", "--state", "log"],
      ["tell", "--state", "log", "--results", "r.json"],
      ["solve", "--state", "log", "--", "true"],
      ["ask", "--state", "log", "--config", "c.json"],
    ];
    for (const argv of commands) {
      const run = await runArqonInProcess(argv, dir);
      expect(run.status, run.stderr).toBe(2);
      expect(lines(run.stderr)).toEqual([
        `arqon ${argv[0]}: state log is not a solver state: its header's format is "arqon.engine" ` +
          `(an engine's decision log), not "arqon.solver-log"`,
      ]);
    }
    const status = await runArqonInProcess(["status", "--state", "log"], dir);
    expect(status.status).toBe(2);
    expect(lines(status.stderr).at(-1)).toMatch(
      /is not an arqon solver log: its header's format is "arqon\.engine"/,
    );
    expect(lines(status.stderr).at(-1)!.length).toBeLessThan(300);
    expect(readdirSync(log).map((name) => [name, readFileSync(join(log, name), "utf8")])).toEqual(before);
  });
});
