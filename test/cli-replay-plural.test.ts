import { describe, expect, it } from "vitest";
import { createLoggedEngine } from "../src/log/engine-log.js";
import { replay } from "../src/replay/replay.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { runArqonInProcess } from "./support/cli-run.js";
import { tempLogDirs } from "./support/log-dir.js";

const newLogDir = tempLogDirs();

describe("arqon replay counts records in words", () => {
  it('says "1 record identical" for a run of one record, "N records" otherwise', async () => {
    const dir = newLogDir();
    const config = { seed: 1, params: { b: { min: 1, max: 10 } } };
    // Two runs that only start and stop: each logs its baseline and nothing else.
    for (const start of [1_000, 5_000]) {
      const { close } = createLoggedEngine({ ...config, scheduler: new ReplayClock(start) }, { dir });
      await close();
    }
    const result = await replay(dir);
    expect(result.runs.map((r) => r.records)).toEqual([1, 1]);
    const cli = await runArqonInProcess(["replay", dir], "/");
    expect(cli.status).toBe(0);
    expect(cli.stdout.split("\n")).toEqual([
      "run 1 (generation 0): OK, 1 record identical",
      "run 2 (generation 0): OK, 1 record identical",
      "replay OK: 2 runs, 2 records identical",
      "",
    ]);
  });
});
