/**
 * Pruning in a shared study: reports go through the journal, so every worker's pruner judges the
 * same reports in the same order and reaches the same verdicts.
 */
import { describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import type { SolverConfig } from "../src/solver/config.js";
import { createSolver } from "../src/solver/solver.js";
import { TrialPruned } from "../src/solver/trial-pruned.js";
import { JournalError, openSharedStudy, runSharedStudy } from "../src/study/index.js";
import { redisForFile } from "./support/redis-server.js";
import { runSnippet } from "./support/run-snippet.js";
import { studyJournal } from "./support/study-journal.js";

const redis = redisForFile();

const bounds = { x: { min: 0, max: 1 }, y: { min: 0, max: 1 } };

/** Every trial of the first ask at once (all in the probe), under a median pruner. */
const manual = (budget: number): SolverConfig => ({
  seed: 1,
  budget,
  probeRatio: 1,
  bounds,
  pruner: { kind: "median", startupTrials: 2, warmupSteps: 1 },
});

/** A learning curve whose asymptote is best at x = 0.3, y = 0.6. */
function curve(params: Record<string, number>, step: number): number {
  const floor = (params.x! - 0.3) ** 2 + (params.y! - 0.6) ** 2;
  return floor + (10 - floor) * Math.exp(-step / (5 + 20 * params.y!));
}

const journal = (study: string) => studyJournal(redis.admin, study);

describe("shared study: report and shouldPrune", () => {
  it("judges a report against the trials other workers completed, and every worker agrees", async () => {
    const [a, b] = await Promise.all(
      ["w1", "w2"].map((worker) =>
        openSharedStudy(manual(4), { redis: redis.server.url, study: "verdicts", worker }),
      ),
    );
    const [t1, t2, t3] = (await a!.ask({ max: 3 }))!;
    // Worker b has not read the journal since: the trial is not "never asked", only not read yet.
    expect(() => b!.intermediateValues(t3!.id)).toThrow(
      new UsageError(
        `intermediateValues: trial ${t3!.id} was not asked as of this worker's last read of study verdicts (0 asked); refresh() reads what the other workers did since`,
      ),
    );
    // Worker a finishes two trials; worker b, which never saw them told, judges the third.
    for (const [trial, values] of [
      [t1!, [5, 4]],
      [t2!, [7, 6]],
    ] as const) {
      expect(await a!.report(trial.id, 1, values[0])).toBe(false);
      expect(await a!.report(trial.id, 2, values[1])).toBe(false);
      await a!.tell({ id: trial.id, value: values[1] });
    }
    // Step 1: the median of {5, 7} is 6, and 5.5 is better; step 2: the median of {4, 6} is 5.
    expect(await b!.report(t3!.id, 1, 5.5)).toBe(false);
    expect(await b!.report(t3!.id, 2, 5.2)).toBe(true);
    expect(b!.shouldPrune(t3!.id)).toBe(true);
    // Worker a learns the verdict from the journal, with the values.
    expect(a!.shouldPrune(t3!.id)).toBe(false);
    await a!.refresh();
    expect(a!.shouldPrune(t3!.id)).toBe(true);
    expect(a!.intermediateValues(t3!.id)).toEqual([
      { step: 1, value: 5.5 },
      { step: 2, value: 5.2 },
    ]);
    await b!.tell({ id: t3!.id, pruned: true });
    await a!.refresh();
    expect(a!.pendingTrials().map((t) => t.id)).not.toContain(t3!.id);
    // Each report is an entry with the verdict it reached.
    const reports = (await journal("verdicts")).filter((e) => e.op === "report");
    expect(reports.map((e) => [e.worker, e.id, e.reports, e.prune])).toEqual([
      ["w1", t1!.id, [[1, 5]], undefined],
      ["w1", t1!.id, [[2, 4]], undefined],
      ["w1", t2!.id, [[1, 7]], undefined],
      ["w1", t2!.id, [[2, 6]], undefined],
      ["w2", t3!.id, [[1, 5.5]], undefined],
      ["w2", t3!.id, [[2, 5.2]], true],
    ]);
    // A worker that joins later replays the same verdicts.
    const late = await openSharedStudy(manual(4), {
      redis: redis.server.url,
      study: "verdicts",
      worker: "w3",
    });
    expect(late.intermediateValues(t3!.id)).toEqual(a!.intermediateValues(t3!.id));
    expect(late.best()).toEqual(a!.best());
    await Promise.all([a!.close(), b!.close(), late.close()]);
  });

  it("refuses a report the solver would refuse, a step repeated with another value included, appending nothing", async () => {
    const study = await openSharedStudy(manual(3), { redis: redis.server.url, study: "refusals" });
    const [t1, t2] = (await study.ask({ max: 2 }))!;
    await study.report(t1!.id, 3, 1.5);
    const length = (await journal("refusals")).length;
    await expect(study.report(t1!.id, 2, 1)).rejects.toThrow(
      new UsageError(
        `report: step must be a whole number greater than trial ${t1!.id}'s previous step 3, got 2`,
      ),
    );
    await expect(study.report(t1!.id, 4, Number.NaN)).rejects.toThrow(
      "report: value must be a finite number, got NaN",
    );
    await expect(study.report(99, 1, 1)).rejects.toThrow(UsageError);
    await study.tell({ id: t2!.id, value: 1 });
    await expect(study.report(t2!.id, 1, 1)).rejects.toThrow(UsageError);
    // The same step and value again is a retry, answered and appending nothing, as Solver.report
    // takes it; the same step with another value is refused.
    await expect(study.report(t1!.id, 3, 1.5)).resolves.toBe(false);
    await expect(study.report(t1!.id, 3, 1.6)).rejects.toThrow(UsageError);
    expect(await journal("refusals")).toHaveLength(length + 1); // the tell only
    expect(study.intermediateValues(t1!.id)).toEqual([{ step: 3, value: 1.5 }]);
    await study.close();
  });

  it("stops at a report whose recorded verdict this worker's pruner does not reach", async () => {
    const study = await openSharedStudy(manual(2), { redis: redis.server.url, study: "verdict-check" });
    const [trial] = (await study.ask())!;
    expect(await study.report(trial!.id, 1, 3)).toBe(false);
    await study.close();
    // As a worker whose pruner judged otherwise (another arqon version) would have written it.
    const key = "arqon:study:verdict-check:journal";
    const at = (await redis.admin.llen(key)) - 1;
    const entry = JSON.parse((await redis.admin.lindex(key, at))!);
    await redis.admin.lset(key, at, JSON.stringify({ ...entry, prune: true }));
    const opening = openSharedStudy(manual(2), { redis: redis.server.url, study: "verdict-check" });
    await expect(opening).rejects.toThrow(JournalError);
    await expect(opening).rejects.toThrow(
      `shared study journal entry ${at} cannot be replayed: the pruner's verdict on trial ${trial!.id} is "go on" here and "prune" in the journal: the workers judge by different pruners (another arqon version?)`,
    );
  });

  it("sends nothing to Redis without a pruner: the verdict is false, bad values still refused", async () => {
    const { pruner: _none, ...unpruned } = manual(2);
    const study = await openSharedStudy(unpruned, { redis: redis.server.url, study: "no-pruner" });
    const [trial] = (await study.ask())!;
    const length = (await journal("no-pruner")).length;
    expect(await study.report(trial!.id, 1, 0.5)).toBe(false);
    await expect(study.report(trial!.id, 2, Number.NaN)).rejects.toThrow(
      "report: value must be a finite number, got NaN",
    );
    await expect(study.report(trial!.id, 1.5, 1)).rejects.toThrow(
      "report: step must be a whole number ≥ 0, got 1.5",
    );
    expect(await journal("no-pruner")).toHaveLength(length);
    expect(study.intermediateValues(trial!.id)).toEqual([]);
    // What the handle knows is still checked: a trial that is not pending, a closed handle.
    await study.tell({ id: trial!.id, value: 1 });
    await expect(study.report(trial!.id, 3, 1)).rejects.toThrow(
      `report: trial ${trial!.id} was already told`,
    );
    await study.close();
    await expect(study.report(trial!.id, 3, 1)).rejects.toThrow(
      "study no-pruner: closed; open it again to go on",
    );
  });

  it("journals a -0 as 0, and every handle holds the same 0", async () => {
    const [a, b] = await Promise.all(
      ["w1", "w2"].map((worker) =>
        openSharedStudy(manual(2), { redis: redis.server.url, study: "minus-zero", worker }),
      ),
    );
    const [trial] = (await a!.ask())!;
    await a!.report(trial!.id, 1, -0);
    await b!.refresh();
    for (const handle of [a!, b!])
      expect(Object.is(handle.intermediateValues(trial!.id)[0]!.value, 0)).toBe(true);
    await Promise.all([a!.close(), b!.close()]);
  });
});

describe("runSharedStudy with a pruner", () => {
  it("stops the trials the pruner judges, tells them pruned, and agrees with a solver fed the journal", async () => {
    const config: SolverConfig = {
      seed: 4,
      budget: 24,
      bounds,
      pruner: { kind: "median", startupTrials: 3 },
    };
    const handles = await Promise.all(
      ["w1", "w2", "w3"].map((worker) =>
        openSharedStudy(config, { redis: redis.server.url, study: "loop", worker }),
      ),
    );
    const stepsRun = new Map<number, number>();
    const results = await Promise.all(
      handles.map((study) =>
        runSharedStudy(
          study,
          async (params, trial, context) => {
            let loss = Number.NaN;
            for (let step = 1; step <= 30; step++) {
              loss = curve(params as Record<string, number>, step);
              stepsRun.set(trial.id, step);
              if (await context.report(step, loss)) {
                expect(context.shouldPrune()).toBe(true);
                throw new TrialPruned();
              }
            }
            return loss;
          },
          { settleMs: 10_000 },
        ),
      ),
    );
    const pruned = results.flatMap((r) => r.pruned).sort((x, y) => x - y);
    expect(pruned.length).toBeGreaterThan(0);
    expect(results.flatMap((r) => r.evaluated)).toHaveLength(24);
    expect(results.flatMap((r) => r.failed)).toEqual([]);
    // A pruned trial stopped where it was judged: its last report is its last step run.
    const [first] = handles;
    await first!.refresh();
    for (const id of pruned) {
      const reported = first!.intermediateValues(id);
      // (It may be its last step, 30: three workers finish in any order, and the trials completed
      // by the time of a report decide its verdict.)
      expect(stepsRun.get(id)).toBe(reported.at(-1)!.step);
    }
    // The journal, replayed on a local solver, gives the same verdicts and the same best.
    const local = createSolver(config);
    const pruneSeen: number[] = [];
    for (const entry of (await journal("loop")).slice(1)) {
      if (entry.op === "ask") local.ask({ max: entry.max });
      else if (entry.op === "report") {
        for (const [step, value] of entry.reports) local.report(entry.id, step, value);
        if (local.shouldPrune(entry.id) && !pruneSeen.includes(entry.id)) pruneSeen.push(entry.id);
      } else if (entry.op === "tell") local.tell(entry.results);
    }
    expect(pruneSeen.sort((x, y) => x - y)).toEqual(pruned);
    expect(local.best()).toEqual(first!.best());
    local.stop();
    await Promise.all(handles.map((h) => h.close()));
  });
});

describe("runSharedStudy when a report cannot be recorded", () => {
  it("rejects naming the trial's report and the study's journal, not as an objective that threw", async () => {
    const study = await openSharedStudy(manual(2), { redis: redis.server.url, study: "report-lost" });
    const run = runSharedStudy(
      study,
      async (_params, _trial, context) => {
        await redis.admin.del("arqon:study:report-lost:journal");
        await context.report(1, 1);
        return 1;
      },
      { settleMs: 0 },
    );
    await expect(run).rejects.toThrow(
      /^could not record an intermediate value of trial 1 in study report-lost: study report-lost: its journal was deleted or replaced since this worker read it/,
    );
    await expect(run).rejects.not.toThrow(/objective threw/);
    await study.close();
  });
});

describe("docs/snippets/shared-pruning.ts", () => {
  it("two copies share the budget and the verdicts, and run fewer epochs than the trials hold", async () => {
    const runs = await Promise.all(
      [1, 2].map(() => runSnippet("shared-pruning.ts", { REDIS_URL: redis.server.url })),
    );
    let trials = 0;
    let pruned = 0;
    let epochs = 0;
    const bests: string[] = [];
    for (const { stdout, stderr, status } of runs) {
      expect(status, stderr).toBe(0);
      const counts = /^this worker ran (\d+) trials, (\d+) pruned, (\d+) epochs$/m.exec(stdout);
      expect(counts, stdout).not.toBeNull();
      trials += Number(counts![1]);
      pruned += Number(counts![2]);
      epochs += Number(counts![3]);
      bests.push(/^best loss (\S+) with/m.exec(stdout)![1]!);
    }
    expect(trials).toBe(40);
    expect(pruned).toBeGreaterThan(0);
    expect(epochs).toBeLessThan(40 * 50);
    expect(bests[0]).toBe(bests[1]);
  }, 60_000);
});
