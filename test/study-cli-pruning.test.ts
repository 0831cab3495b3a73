/**
 * `arqon solve --storage` with a pruner: the workers journal their commands' intermediate values,
 * every worker's pruner judges them in journal order, and a pruned command is stopped.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSharedStudy } from "../src/study/index.js";
import { lines, removeTempDirs, runArqonAsync, tempDir, writeJson } from "./support/cli-run.js";
import { redisForFile } from "./support/redis-server.js";
import { studyJournal } from "./support/study-journal.js";

const redis = redisForFile();
afterAll(removeTempDirs);

/**
 * A training command: a step every 10 ms for 40 steps, each printed as a report line, the loss
 * falling towards (x − 0.3)²; a command that runs to its end appends its trial id to done.txt.
 */
const training = [
  process.execPath,
  "-e",
  "const fs = require('fs'); const x = Number(process.env.ARQON_X); let s = 0;" +
    "const loss = (s) => (x - 0.3) ** 2 + 5 * Math.exp(-s / 8);" +
    "const t = setInterval(() => { s++; console.log(JSON.stringify({ step: s, value: loss(s) }));" +
    "if (s === 40) { clearInterval(t); fs.appendFileSync('done.txt', process.env.ARQON_TRIAL_ID + '\\n');" +
    "console.log('loss ' + loss(40)); } }, 10);",
];

const journal = (study: string) => studyJournal(redis.admin, study);

const CONFIG = {
  seed: 3,
  budget: 12,
  bounds: { x: { min: 0, max: 1 } },
  probeRatio: 0.5,
  pruner: { kind: "median", startupTrials: 2 },
} as const;

const solve = (study: string, command: readonly string[], ...flags: string[]) => [
  ...["solve", "--config", "c.json", "--storage", redis.server.url, "--study", study, ...flags, "--"],
  ...command,
];

describe("arqon solve --storage with a pruner", () => {
  it("two workers stop the commands the study's pruner judges, and record them pruned", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", CONFIG);
    const runs = await Promise.all([0, 1].map(() => runArqonAsync(solve("trainers", training), dir)));
    const outs = runs.map((run) => {
      expect(run.status, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as {
        best: unknown;
        evaluations: number;
        pruned: number;
        failures: unknown[];
      };
    });
    expect(outs.flatMap((o) => o.failures)).toEqual([]);
    expect(outs[0]!.evaluations + outs[1]!.evaluations + outs[0]!.pruned + outs[1]!.pruned).toBe(12);
    expect(outs[0]!.pruned + outs[1]!.pruned).toBeGreaterThan(0);
    expect(outs[0]!.best).toEqual(outs[1]!.best);
    expect(runs.map((r) => r.stderr).join("")).toMatch(/^trial \d+: pruned /m);
    // The done line counts the study's pruned trials, which are neither told nor pending.
    const pruned = outs[0]!.pruned + outs[1]!.pruned;
    expect(runs.map((r) => r.stderr).join("")).toMatch(
      new RegExp(`^done: study trainers, 12 trials asked, ${12 - pruned} told, ${pruned} pruned$`, "m"),
    );

    const entries = await journal("trainers");
    const told = entries.flatMap((e) => (e.op === "tell" ? e.results : [])) as unknown as {
      id: number;
      pruned?: true;
    }[];
    const prunedIds = told.filter((r) => r.pruned === true).map((r) => r.id);
    const completedIds = told.filter((r) => r.pruned !== true).map((r) => r.id);
    expect(prunedIds).toHaveLength(outs[0]!.pruned + outs[1]!.pruned);
    // Every completed trial ran to its end, with each step journaled.
    const finished = new Set(lines(readFileSync(join(dir, "done.txt"), "utf8")).map(Number));
    const stepsOf = (id: number) =>
      entries.flatMap((e) => (e.op === "report" && e.id === id ? e.reports.map(([step]) => step) : []));
    for (const id of completedIds) {
      expect(finished.has(id)).toBe(true);
      expect(stepsOf(id)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
    // The verdict reaches a worker a Redis round trip after the line: a command may reach its
    // last step before it lands. Pruned commands as a whole still stopped early.
    const prunedSteps = prunedIds.map((id) => stepsOf(id).length);
    expect(Math.min(...prunedSteps)).toBeGreaterThan(0);
    expect(prunedSteps.filter((n) => n < 40).length).toBeGreaterThan(0);
    const unfinished = prunedIds.filter((id) => !finished.has(id));
    expect(unfinished.length).toBeGreaterThan(0);
    // A fresh handle replays the journal to the verdicts the workers acted on. (A command that
    // printed its value before a verdict arrived is told its value: that is no contradiction.)
    const replayed = await openSharedStudy(CONFIG, { redis: redis.server.url, study: "trainers" });
    for (const id of prunedIds) expect(replayed.shouldPrune(id)).toBe(true);
    await replayed.close();
    // Every report precedes its trial's result in the journal.
    const lastReport = new Map<number, number>();
    entries.forEach((e, at) => {
      if (e.op === "report") lastReport.set(e.id, at);
    });
    entries.forEach((e, at) => {
      if (e.op === "tell")
        for (const r of e.results as unknown as { id: number }[])
          expect(lastReport.get(r.id)!).toBeLessThan(at);
    });
  });

  it("fails a trial whose command reports a step out of order, naming the line", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 1,
      budget: 2,
      bounds: { x: { min: 0, max: 1 } },
      pruner: { kind: "median" },
    });
    const outOfOrder = [
      process.execPath,
      "-e",
      "console.log(JSON.stringify({ step: 2, value: 1 })); console.log(JSON.stringify({ step: 1, value: 1 })); console.log(1);",
    ];
    const run = await runArqonAsync(solve("out-of-order", outOfOrder, "--on-error", "skip"), dir);
    const out = JSON.parse(run.stdout) as { failures: { error: string }[] };
    expect(out.failures).toHaveLength(2);
    expect(out.failures[0]!.error).toBe(
      'refused intermediate value {"step":1,"value":1}: step must be a whole number greater than trial 1\'s previous step 2, got 1',
    );
  });

  it("keeps the whole curve of a command that printed it all before a verdict came", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { ...CONFIG, pruner: { kind: "median", startupTrials: 1 } });
    // Forty reports and the value in one write: verdicts on early steps come after the exit.
    const oneWrite = [
      process.execPath,
      "-e",
      "const x = Number(process.env.ARQON_X); const loss = (s) => (x - 0.3) ** 2 + 5 * Math.exp(-s / 8);" +
        "const out = []; for (let s = 1; s <= 40; s++) out.push(JSON.stringify({ step: s, value: loss(s) }));" +
        "out.push(String(loss(40))); process.stdout.write(out.join('\\n') + '\\n');",
    ];
    const run = await runArqonAsync(solve("one-write", oneWrite), dir);
    expect(run.status, run.stderr).toBe(0);
    const entries = await journal("one-write");
    const toldValues = entries.flatMap((e) => (e.op === "tell" ? e.results : [])) as unknown as {
      id: number;
      pruned?: true;
    }[];
    const completed = toldValues.filter((r) => r.pruned !== true).map((r) => r.id);
    expect(completed.length).toBeGreaterThan(0);
    // Each completed trial's 40 steps are in the journal, as a local run records them, so later
    // trials are judged against whole curves.
    for (const id of completed) {
      const steps = entries.flatMap((e) =>
        e.op === "report" && e.id === id ? e.reports.map(([s]) => s) : [],
      );
      expect(steps).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
  });

  it("takes a report printed twice as one, and fails a trial whose step repeats with another value", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", {
      seed: 1,
      budget: 1,
      bounds: { x: { min: 0, max: 1 } },
      pruner: { kind: "median" },
    });
    const printing = (second: number) => [
      process.execPath,
      "-e",
      `console.log(JSON.stringify({ step: 1, value: 1 })); console.log(JSON.stringify({ step: 1, value: ${second} })); console.log(1);`,
    ];
    // The same line again is a retry, as Solver.report and `arqon report` take it.
    const same = await runArqonAsync(solve("same-report", printing(1), "--on-error", "skip"), dir);
    expect((JSON.parse(same.stdout) as { failures: unknown[] }).failures).toEqual([]);
    const reported = (await journal("same-report")).flatMap((e) => (e.op === "report" ? e.reports : []));
    expect(reported).toEqual([[1, 1]]);
    // Another value at the same step is refused, as a local run refuses it.
    const other = await runArqonAsync(solve("same-step", printing(2), "--on-error", "skip"), dir);
    const out = JSON.parse(other.stdout) as { failures: { error: string }[] };
    expect(out.failures.map((f) => f.error)).toEqual([
      'refused intermediate value {"step":1,"value":2}: trial 1 already reported step 1, with 1: a step is reported once (give a later step for a new value), got 2',
    ]);
  });

  it("journals no intermediate value without a pruner", async () => {
    const dir = tempDir();
    writeJson(dir, "c.json", { seed: 1, budget: 2, bounds: { x: { min: 0, max: 1 } } });
    const reporting = [
      process.execPath,
      "-e",
      "console.log(JSON.stringify({ step: 1, value: 2 })); console.log(1);",
    ];
    const run = await runArqonAsync(solve("no-pruner", reporting), dir);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 2, pruned: 0 });
    expect((await journal("no-pruner")).filter((e) => e.op === "report")).toEqual([]);
  });
});
