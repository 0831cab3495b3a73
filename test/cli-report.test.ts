/**
 * `arqon report`: pruning in a loop driven by `arqon ask` and `arqon tell`, which had no way to
 * record an intermediate value or ask the pruner for its verdict (only `arqon solve` could prune).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeTempDirs, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";

afterAll(removeTempDirs);

const CONFIG = {
  seed: 4,
  budget: 8,
  probeRatio: 0.5,
  bounds: { x: { min: 0, max: 1 } },
  pruner: { kind: "median", startupTrials: 2, warmupSteps: 0 },
};

async function arqon(dir: string, ...args: string[]) {
  return runArqonInProcess(args, dir);
}

/** `arqon report` of one value (a number, or text as a user types it); its parsed output. */
async function report(dir: string, state: string, id: number, step: number, value: number | string) {
  const run = await arqon(
    dir,
    "report",
    "--state",
    state,
    "--id",
    `${id}`,
    "--step",
    `${step}`,
    `--value=${value}`,
  );
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { prune: boolean };
}

describe("arqon report", () => {
  for (const state of ["run.json", "run-log"]) {
    it(`records steps, prunes a trial worse than the median of completed ones, and keeps it all in the state (${state})`, async () => {
      const dir = tempDir();
      writeJson(dir, "c.json", CONFIG);
      const asked = await arqon(dir, "ask", "--state", state, "--config", "c.json", "--batch", "4");
      expect(asked.status, asked.stderr).toBe(0);
      const ids = (JSON.parse(asked.stdout) as { trials: { id: number }[] }).trials.map((t) => t.id);
      expect(ids).toHaveLength(4);
      const [a, b, c, d] = ids as [number, number, number, number];
      // Two trials report three steps each and complete.
      for (const [id, level] of [
        [a, 1],
        [b, 2],
      ] as const) {
        for (let step = 1; step <= 3; step++) {
          // Fewer than startupTrials completed: never pruned yet.
          expect(await report(dir, state, id, step, level / step)).toEqual({ prune: false });
        }
      }
      const told = await runArqonInProcess(
        ["tell", "--state", state],
        dir,
        JSON.stringify([
          { id: a, value: 1 / 3 },
          { id: b, value: 2 / 3 },
        ]),
      );
      expect(told.status, told.stderr).toBe(0);
      // Above the median of the completed trials at step 1 (1.5): prune. At or below it: go on.
      expect(await report(dir, state, c, 1, 5)).toEqual({ prune: true });
      expect(await report(dir, state, d, 1, 0.5)).toEqual({ prune: false });
      // Once pruned, it stays pruned, whatever it reports next.
      expect(await report(dir, state, c, 2, 0.01)).toEqual({ prune: true });
      const pruned = await runArqonInProcess(
        ["tell", "--state", state],
        dir,
        JSON.stringify([{ id: c, pruned: true }]),
      );
      expect(JSON.parse(pruned.stdout)).toMatchObject({ told: 0, pruned: 1 });
      const status = JSON.parse((await arqon(dir, "status", "--state", state)).stdout) as Record<
        string,
        unknown
      >;
      expect(status).toMatchObject({ told: 2, pruned: 1 });
      expect((status.pending as { id: number }[]).map((t) => t.id)).toEqual([d]);
    });
  }

  it("refuses what the solver refuses, naming why, and records nothing", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONFIG);
    const asked = await arqon(dir, "ask", "--state", "run.json", "--config", "c.json", "--batch", "2");
    const [a, b] = (JSON.parse(asked.stdout) as { trials: { id: number }[] }).trials.map((t) => t.id) as [
      number,
      number,
    ];
    expect(
      (await arqon(dir, "report", "--state", "run.json", "--id", `${a}`, "--step", "2", "--value", "1"))
        .status,
    ).toBe(0);
    const cases: [string[], RegExp][] = [
      // Another value at the step last recorded (the same one again is a retry: see below).
      [
        ["--id", `${a}`, "--step", "2", "--value", "3"],
        /trial \d+ already reported step 2, with 1: a step is reported once \(give a later step for a new value\), got 3: nothing was recorded/,
      ],
      [["--id", "99", "--step", "1", "--value", "1"], /trial 99 was never asked: nothing was recorded/],
      [
        ["--id", `${b}`, "--step", "1", "--value", "NaN"],
        /--value must be a finite decimal number, got "NaN"/,
      ],
      [
        ["--id", `${b}`, "--step", "1", "--value", "0x10"],
        /--value must be a finite decimal number, got "0x10"/,
      ],
      [["--id", `${b}`, "--step", "1.5", "--value", "1"], /--step must be a whole number >= 0, got "1.5"/],
      [["--id", `${b}`, "--step", "1"], /--value is required/],
    ];
    for (const [args, message] of cases) {
      const run = await arqon(dir, "report", "--state", "run.json", ...args);
      expect(run.status, args.join(" ")).toBe(2);
      expect(run.stderr).toMatch(message);
    }
    // A retry of the last report is answered again, and recorded once.
    expect(await report(dir, "run.json", a, 2, 1)).toEqual({ prune: false });
    const state = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as {
      trials: { id: number; reports?: number[][] }[];
    };
    expect(state.trials.find((t) => t.id === a)?.reports).toEqual([[2, 1]]);
    await runArqonInProcess(["tell", "--state", "run.json"], dir, JSON.stringify([{ id: b, value: 1 }]));
    const told = await arqon(
      dir,
      "report",
      "--state",
      "run.json",
      "--id",
      `${b}`,
      "--step",
      "1",
      "--value=1",
    );
    expect(told.stderr).toMatch(new RegExp(`trial ${b} was already told: nothing was recorded`));
    // A negative value, written as the help says, and one with the minus sign U+2212.
    expect(await report(dir, "run.json", a, 3, -0.5)).toEqual({ prune: false });
    expect(await report(dir, "run.json", a, 4, "\u22120.25")).toEqual({ prune: false });
    const after = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as {
      trials: { id: number; reports?: number[][] }[];
    };
    expect(after.trials.find((t) => t.id === a)?.reports).toEqual([
      [2, 1],
      [3, -0.5],
      [4, -0.25],
    ]);
  });
});
