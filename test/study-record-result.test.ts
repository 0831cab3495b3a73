/**
 * recordResult tries a result again after Redis failed it. Before the retry it reads the journal:
 * a trial no longer pending was settled either by this worker's own append (written, its reply
 * lost) or by another worker in between, and only the first is this result recorded.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import { loadSharedStudy, openSharedStudy, runSharedStudy, type SharedStudy } from "../src/study/index.js";
import { recordResult, reportRecovering, reportStepsRecovering } from "../src/study/record-result.js";
import { reportSteps } from "../src/study/report-steps.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";

const CONFIG = { seed: 1, budget: 10, bounds: { x: { min: 0, max: 1 } } };
/** Reports reach Redis only in a study with a pruner. */
const PRUNED = { ...CONFIG, pruner: { kind: "median" as const } };

let server: RedisServer;
const clients: Redis[] = [];
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await server.stop();
});

/** A handle on its own client, and a way to make its next append fail ("connection lost"). */
async function handle(study: string, config: object = CONFIG) {
  const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  clients.push(client);
  const opened = await openSharedStudy(config as typeof CONFIG, { redis: client, study });
  const evaluate = client.eval.bind(client) as (...args: unknown[]) => Promise<unknown>;
  /** The next append fails; `before` runs first, and with `written` the entry lands all the same. */
  const failNextAppend = (options: { written: boolean; before?: () => Promise<void> }) => {
    (client as { eval: unknown }).eval = async (...args: unknown[]) => {
      (client as { eval: unknown }).eval = evaluate;
      await options.before?.();
      if (options.written) await evaluate(...args);
      throw new Error("connection lost");
    };
  };
  return { study: opened, failNextAppend };
}

async function journalOf(study: string): Promise<SharedStudy> {
  return loadSharedStudy({ redis: server.url, study });
}

/** How many entries the study's journal holds. */
async function journalLength(study: string): Promise<number> {
  const client = new Redis(server.url);
  try {
    return await client.llen(`arqon:study:${study}:journal`);
  } finally {
    client.disconnect();
  }
}

describe("recordResult after a failed try", () => {
  it("takes a tell Redis wrote although its reply was lost as recorded, once", async () => {
    const { study, failNextAppend } = await handle("lost-tell");
    const [trial] = (await study.ask())!;
    failNextAppend({ written: true });
    await recordResult(study, { id: trial!.id, value: 0.25 }, { retryMs: 10_000 });
    const fresh = await journalOf("lost-tell");
    expect(fresh.told).toBe(1);
    expect(fresh.best()?.value).toBe(0.25);
    await fresh.close();
    await study.close();
  });

  it("knows its own lost tell through a proxy of the handle too", async () => {
    const { study, failNextAppend } = await handle("lost-tell-proxy");
    const wrapped = new Proxy(study, {});
    const [trial] = (await wrapped.ask())!;
    failNextAppend({ written: true });
    await recordResult(wrapped, { id: trial!.id, value: 0.5 }, { retryMs: 10_000 });
    expect(wrapped.told).toBe(1);
    await study.close();
  });

  it("refuses a tell whose trial another worker told between the failed try and the retry", async () => {
    const { study, failNextAppend } = await handle("raced-tell");
    const other = await journalOf("raced-tell");
    const [trial] = (await study.ask())!;
    await other.refresh();
    // The append fails unwritten; meanwhile the other worker tells the same trial.
    failNextAppend({ written: false, before: () => other.tell({ id: trial!.id, value: 0.75 }) });
    const recording = recordResult(study, { id: trial!.id, value: 0.25 }, { retryMs: 10_000 });
    await expect(recording).rejects.toBeInstanceOf(UsageError);
    await expect(recording).rejects.toThrow(/already told/);
    const fresh = await journalOf("raced-tell");
    expect(fresh.best()?.value).toBe(0.75); // the other worker's value; ours was never recorded
    await fresh.close();
    await other.close();
    await study.close();
  });

  it("refuses a fail whose trial another worker told between the failed try and the retry", async () => {
    const { study, failNextAppend } = await handle("raced-fail");
    const other = await journalOf("raced-fail");
    const [trial] = (await study.ask())!;
    await other.refresh();
    failNextAppend({ written: false, before: () => other.tell({ id: trial!.id, value: 0.75 }) });
    const recording = recordResult(study, { id: trial!.id, reason: "diverged" }, { retryMs: 10_000 });
    await expect(recording).rejects.toBeInstanceOf(UsageError);
    await other.refresh();
    expect(other.best()?.value).toBe(0.75);
    await other.close();
    await study.close();
  });

  it("takes a pruned result Redis wrote although its reply was lost as recorded", async () => {
    const { study, failNextAppend } = await handle("lost-pruned");
    const [trial] = (await study.ask())!;
    failNextAppend({ written: true });
    await recordResult(study, { id: trial!.id, pruned: true }, { retryMs: 10_000 });
    expect(study.pendingTrials()).toEqual([]);
    const fresh = await journalOf("lost-pruned");
    expect(fresh.pendingTrials()).toEqual([]);
    expect(fresh.best()).toBeNull();
    await fresh.close();
    await study.close();
  });

  it("answers a report Redis wrote although its reply was lost, recording it once", async () => {
    const { study, failNextAppend } = await handle("lost-report", PRUNED);
    const [trial] = (await study.ask())!;
    failNextAppend({ written: true });
    // A -0 is journaled as 0: the retry still finds its own report.
    const report = { id: trial!.id, step: 1, value: -0 };
    expect(await reportRecovering(study, report, { retryMs: 10_000 })).toBe(false);
    const fresh = await journalOf("lost-report");
    expect(fresh.intermediateValues(trial!.id)).toEqual([{ step: 1, value: 0 }]);
    // Written once: the next step is still taken (a second copy would not replay).
    await study.report(trial!.id, 2, 0.4);
    await fresh.refresh();
    expect(fresh.intermediateValues(trial!.id)).toHaveLength(2);
    await fresh.close();
    await study.close();
  });

  it("appends only the rest of several reports after a lost reply, and refuses a real repeat", async () => {
    const { study, failNextAppend } = await handle("lost-reports", PRUNED);
    const [trial] = (await study.ask())!;
    const id = trial!.id;
    failNextAppend({ written: true });
    await expect(
      reportSteps(study, id, [
        [1, 3],
        [2, 2],
      ]),
    ).rejects.toThrow("connection lost");
    // Tried again with a line that came meanwhile: the first two are in the journal already.
    const outcome = await reportStepsRecovering(
      study,
      id,
      [
        [1, 3],
        [2, 2],
        [3, 1],
      ],
      { retryMs: 10_000 },
    );
    expect(outcome).toEqual({ prune: false });
    const fresh = await journalOf("lost-reports");
    expect(fresh.intermediateValues(id).map((r) => r.step)).toEqual([1, 2, 3]);
    // Found once: the last step and value given again are a retry, answered with no entry; the
    // last step with another value is a real repeat, refused.
    const length = await journalLength("lost-reports");
    expect(await reportSteps(study, id, [[3, 1]])).toEqual({ prune: false });
    const again = await reportSteps(study, id, [[3, 0.5]]);
    expect(again.refused?.index).toBe(0);
    expect(again.refused?.error.message).toBe(
      `report: trial ${id} already reported step 3, with 1: a step is reported once (give a later step for a new value), got 0.5`,
    );
    expect(await journalLength("lost-reports")).toBe(length);
    await fresh.close();
    await study.close();
  });

  it.each([
    {
      name: "a report given twice in one call",
      before: [] as [number, number][],
      sent: [
        [1, 0.5],
        [1, 0.5],
        [2, 0.4],
      ] as [number, number][],
    },
    {
      name: "a call led by the trial's last report again",
      before: [[1, 0.5]],
      sent: [
        [1, 0.5],
        [2, 0.4],
      ],
    },
  ] as const)(
    "takes the retry of $name whose reply was lost as recorded, once",
    async ({ name, before, sent }) => {
      const study_ = `lost-repeat-${before.length}`;
      const { study, failNextAppend } = await handle(study_, PRUNED);
      const [trial] = (await study.ask())!;
      const id = trial!.id;
      if (before.length > 0) await reportSteps(study, id, before);
      failNextAppend({ written: true });
      await expect(reportSteps(study, id, sent), name).rejects.toThrow("connection lost");
      const length = await journalLength(study_);
      // The retry gives the same pairs again: found written, nothing refused, nothing appended.
      expect(await reportStepsRecovering(study, id, sent, { retryMs: 10_000 })).toEqual({ prune: false });
      expect(await journalLength(study_)).toBe(length);
      const fresh = await journalOf(study_);
      expect(fresh.intermediateValues(id)).toEqual([
        { step: 1, value: 0.5 },
        { step: 2, value: 0.4 },
      ]);
      await fresh.close();
      // Settled: a later report goes on from there.
      expect(await reportSteps(study, id, [[3, 0.3]])).toEqual({ prune: false });
      await study.close();
    },
  );

  it("runSharedStudy tells a trial only once the reports its objective did not await are in", async () => {
    const { study, failNextAppend } = await handle("unawaited", PRUNED);
    let first = true;
    const { evaluated } = await runSharedStudy(
      study,
      (_params, _trial, context) => {
        if (first) {
          first = false;
          // The report's first append fails unwritten: it is tried again after the objective
          // returned, and the next report waits for it.
          failNextAppend({ written: false });
          void context.report(1, 0.5);
          void context.report(2, 0.4);
        }
        return 1;
      },
      { settleMs: 0, retryMs: 10_000 },
    );
    expect(evaluated).toHaveLength(10);
    const fresh = await journalOf("unawaited");
    expect(fresh.intermediateValues(evaluated[0]!)).toEqual([
      { step: 1, value: 0.5 },
      { step: 2, value: 0.4 },
    ]);
    expect(fresh.told).toBe(10);
    await fresh.close();
    await study.close();
  });

  it("answers each of two reports whose replies were lost, tried again one after the other", async () => {
    const { study, failNextAppend } = await handle("two-lost", PRUNED);
    const [trial] = (await study.ask())!;
    const id = trial!.id;
    failNextAppend({ written: true });
    await expect(study.report(id, 1, 3)).rejects.toThrow("connection lost");
    failNextAppend({ written: true });
    await expect(study.report(id, 2, 2)).rejects.toThrow("connection lost");
    // Both were written: each retry is answered, in any order, without a second entry.
    expect(await study.report(id, 2, 2)).toBe(false);
    expect(await study.report(id, 1, 3)).toBe(false);
    const fresh = await journalOf("two-lost");
    expect(fresh.intermediateValues(id).map((r) => r.step)).toEqual([1, 2]);
    await fresh.close();
    await study.close();
  });

  it("runSharedStudy goes on without a verdict when Redis fails a report, and records the result", async () => {
    const { study, failNextAppend } = await handle("report-failed", PRUNED);
    let first = true;
    const verdicts: boolean[] = [];
    await runSharedStudy(
      study,
      async (_params, _trial, context) => {
        if (first) {
          first = false;
          failNextAppend({ written: false });
          verdicts.push(await context.report(1, 0.5));
          return 0.25;
        }
        return 1;
      },
      { settleMs: 0, retryMs: 0 },
    );
    expect(verdicts).toEqual([false]);
    const fresh = await journalOf("report-failed");
    expect(fresh.best()?.value).toBe(0.25);
    expect(fresh.pendingTrials()).toEqual([]);
    await fresh.close();
    await study.close();
  });

  it("takes a fail Redis wrote although its reply was lost as recorded", async () => {
    const { study, failNextAppend } = await handle("lost-fail");
    const [trial] = (await study.ask())!;
    failNextAppend({ written: true });
    await recordResult(study, { id: trial!.id, reason: "diverged" }, { retryMs: 10_000 });
    expect(study.pendingTrials()).toEqual([]);
    expect(study.told).toBe(0);
    await study.close();
  });
});
