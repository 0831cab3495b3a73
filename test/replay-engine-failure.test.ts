import type { SchedulerLike } from "rxjs";
import { describe, expect, it } from "vitest";
import { createLoggedEngine, readDecisionLog, replay } from "../src/node.js";
import { runArqonInProcess } from "./support/cli-run.js";
import { ManualClock } from "./support/engine-clock.js";
import { tempLogDirs } from "./support/log-dir.js";

// An internal failure (`engine.failure`, emitted on `engine.failed`) stops the engine adapting for
// good. A replayed engine never fails that way, so the log must record the failure and replay must
// stop there and say so, rather than diverge later at a timer the logged run never had.

const logDir = tempLogDirs();

interface FailingRun {
  readonly dir: string;
  readonly message: string;
  readonly time: number;
  readonly generation: number;
}

/**
 * A closed logged run whose scheduler throws once, at the first schedule call `fails` picks (by
 * its number from 1 and its delay): an internal failure.
 */
async function failingRun(
  fails: (n: number, delay: number | undefined) => boolean,
  minIntervalMs = 0,
): Promise<FailingRun> {
  const dir = logDir();
  const clock = new ManualClock();
  let calls = 0;
  let thrown = false;
  const scheduler = {
    now: () => clock.now(),
    schedule: (...args: Parameters<SchedulerLike["schedule"]>) => {
      calls++;
      if (!thrown && fails(calls, args[1])) {
        thrown = true;
        throw new Error(`internal: schedule call ${calls} could not be made`);
      }
      return clock.schedule(...args);
    },
  } as SchedulerLike;
  const { engine, close } = createLoggedEngine(
    {
      seed: 1,
      params: { x: { min: 0, max: 10, init: 1 } },
      window: { digests: 3, ms: 1000 },
      guardrails: { minIntervalMs },
      scheduler,
    },
    { dir, flushMs: 50 },
  );
  let seen: { message: string; time: number; generation: number } | undefined;
  engine.failed.subscribe((error) => {
    seen = { message: (error as Error).message, time: engine.now(), generation: engine.generation };
  });
  for (let i = 1; i <= 120; i++) {
    clock.advanceTo(i * 150);
    engine.observe({ objective: (engine.values[0]! - 7) ** 2, generation: engine.generation });
  }
  clock.advanceBy(100);
  await close();
  if (seen === undefined) throw new Error("the engine did not fail");
  return { dir, ...seen };
}

const FAILED = /^the logged engine failed internally at t=\d+ ms \(generation \d+\): /;

describe("an engine's internal failure in its decision log", () => {
  it("is recorded durably, with its message, time and generation", async () => {
    const run = await failingRun((n, delay) => n >= 120 && delay === 1000);
    const failures = readDecisionLog(run.dir).records.filter(
      (e) => (e.record as { kind?: unknown }).kind === "failure",
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]!.record).toMatchObject({
      kind: "failure",
      message: run.message,
      time: run.time,
      generation: run.generation,
    });
    expect((failures[0]!.record as { after?: unknown }).after).toBeGreaterThan(0);
  });

  it("replay stops there and reports the run as failed, not as diverged at a timer", async () => {
    const run = await failingRun((n, delay) => n >= 120 && delay === 1000);
    const result = await replay(run.dir);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const failure = result.runs[0]!.failure;
    expect(failure).toMatchObject({ message: run.message, time: run.time, generation: run.generation });
    expect(result.divergence.reason).toMatch(FAILED);
    expect(result.divergence.reason).toContain(run.message);
    expect(result.divergence.reason).not.toContain("timer");
    expect(result.divergence).toMatchObject({ expected: null, actual: null, index: failure!.index });
    // Every record up to the failure was compared.
    expect(result.runs[0]!.records).toBeGreaterThan(0);

    const cli = await runArqonInProcess(["replay", run.dir], run.dir);
    expect(cli.status).toBe(1);
    expect(cli.stdout).not.toContain("DIVERGED");
    expect(cli.stdout).toMatch(
      new RegExp(
        `^replay FAILED: the logged engine failed internally at t=${run.time} ms \\(generation ${run.generation}\\): ${run.message}`,
      ),
    );
    expect(cli.stderr).toBe(
      `arqon replay: run 1's engine failed internally (record ${failure!.index}); replay stopped there; exit 1\n`,
    );

    const json = await runArqonInProcess(["replay", run.dir, "--json"], run.dir);
    expect(json.status).toBe(1);
    const parsed = JSON.parse(json.stdout) as { ok: boolean; runs: { failure: unknown }[] };
    expect(parsed.ok).toBe(false);
    expect(parsed.runs[0]!.failure).toMatchObject({ message: run.message, time: run.time });
  });

  it.each([
    ["a window time limit scheduled in observe", (n: number, delay?: number) => n >= 40 && delay === 1000],
    ["an audit drain", (n: number, delay?: number) => n >= 60 && delay === 25],
    ["any schedule call, late", (n: number) => n === 150],
    ["any schedule call, early", (n: number) => n === 12],
  ])("failing at %s, with paced applies: reported as a failure", async (_name, fails) => {
    const run = await failingRun(fails, 400);
    const result = await replay(run.dir);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.runs[0]!.failure).toMatchObject({ message: run.message, time: run.time });
    expect(result.divergence.reason).toMatch(FAILED);
  });

  it("a difference before the failure is still a divergence", async () => {
    const run = await failingRun((n, delay) => n >= 120 && delay === 1000);
    const { header, records } = readDecisionLog(run.dir);
    // Another value for the first closed window: the replay's differs there, long before the failure.
    let changed = false;
    const edited = records.map((entry) => {
      const r = entry.record as { kind?: string; event?: { type?: string; value?: number } };
      if (changed || r.kind !== "audit" || r.event?.type !== "window.closed") return entry;
      changed = true;
      return { ...entry, record: { ...r, event: { ...r.event, value: 1e6 } } };
    });
    const result = await replay({ header, records: edited });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.runs[0]!.failure).toBeUndefined();
    expect(result.divergence).toMatchObject({
      reason: "value",
      expected: { type: "window.closed", value: 1e6 },
    });
  });

  it("a run that did not fail reports no failure", async () => {
    const run = await failingRun((n, delay) => n >= 120 && delay === 1000);
    const { header, records } = readDecisionLog(run.dir);
    // The same log up to just before the failure was recorded, as a run that had not failed yet.
    const index = records.findIndex((e) => (e.record as { kind?: unknown }).kind === "failure");
    const before = records.slice(0, index);
    const result = await replay({ header, records: before });
    expect(result.runs[0]!.failure).toBeUndefined();
  });
});
