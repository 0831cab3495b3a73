import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import type { EngineConfig } from "../src/engine/config.js";
import { DECISION_RULES } from "../src/engine/decision-rules.js";
import { createEngine } from "../src/engine/engine.js";
import { createLoggedEngine } from "../src/log/engine-log.js";
import { auditEventOf, auditLogRecord, engineLogHeader } from "../src/log/log-records.js";
import { readDecisionLog } from "../src/log/reader.js";
import { isCloseMarker, type LogHeader, type LogRecord } from "../src/log/records.js";
import { openDecisionLog } from "../src/log/writer.js";
import { Prng } from "../src/random/prng.js";
import { explain, renderExplanation } from "../src/replay/explain.js";
import { ReplayInputError, readReplayLog } from "../src/replay/read-log.js";
import { replay } from "../src/replay/replay.js";
import { ReplayRunError } from "../src/replay/run-choice.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { runArqon, runArqonInProcess } from "./support/cli-run.js";
import { SERVICE_KNOBS, serviceCost } from "./support/engine-harness.js";

const scratch = mkdtempSync(join(tmpdir(), "arqon-replay-runs-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const TICK_MS = 10;

/** Each run: its seed, its start time on the virtual clock, and how many digests it gets. */
const RUNS = [
  { seed: 21, start: 1_000, ticks: 600 },
  { seed: 22, start: 60_000, ticks: 400 },
  { seed: 23, start: 120_000, ticks: 200 },
] as const;

function config(seed: number, clock: ReplayClock): EngineConfig {
  return {
    seed,
    params: SERVICE_KNOBS,
    spsa: { calibrationIterations: 3 },
    window: { digests: 5, ms: 500 },
    scheduler: clock,
  };
}

/** One engine run on `dir` (continuing it when it exists): a seeded noisy quadratic, one digest per 10 ms. */
async function loggedRun(dir: string, run: (typeof RUNS)[number]): Promise<number> {
  const clock = new ReplayClock(run.start);
  const logged = createLoggedEngine(config(run.seed, clock), { dir, flushMs: 5 });
  const { engine } = logged;
  const noise = Prng.fromSeed(run.seed, 9);
  for (let k = 1; k <= run.ticks; k++) {
    const time = run.start + k * TICK_MS;
    clock.advanceTo(time);
    engine.observe({
      objective: serviceCost(engine.values, noise),
      generation: engine.generation,
      timestamp: time,
    });
  }
  const generation = engine.generation;
  await logged.close();
  return generation;
}

/** The raw records of a log directory, with the audit events of each run counted independently. */
function rawRuns(dir: string): { records: LogRecord[]; events: AuditEvent[][]; positions: number[][] } {
  const records = readDecisionLog(dir).records.map((entry) => entry.record);
  const events: AuditEvent[][] = [[]];
  const positions: number[][] = [[]];
  records.forEach((record, k) => {
    if (record.kind === "restart") {
      events.push([]);
      positions.push([]);
      return;
    }
    const event = auditEventOf(record);
    if (event === undefined) return;
    events.at(-1)!.push(event);
    positions.at(-1)!.push(k + 1); // the header is position 0
  });
  return { records, events, positions };
}

/** A copy of the log at `from`, written through the log writer, with `edit` applied to each record. */
function copyLog(from: string, to: string, edit: (record: LogRecord, position: number) => LogRecord): void {
  const source = readDecisionLog(from);
  const { seq: _headerSeq, ...header } = source.header as LogHeader & { seq: number };
  const writer = openDecisionLog({ dir: to, header: header as LogHeader, fsync: "group" });
  source.records.forEach((entry, k) => {
    const { seq: _seq, ...record } = entry.record;
    writer.append(edit(record, k + 1));
  });
  writer.close();
}

const dir = join(scratch, "three-runs");
const finalGenerations: number[] = [];
let raw: ReturnType<typeof rawRuns>;

beforeAll(async () => {
  for (const run of RUNS) finalGenerations.push(await loggedRun(dir, run));
  raw = rawRuns(dir);
}, 60_000);

describe("a decision log continued by three engines", () => {
  it("splits into three runs, each with its own header, events and generation range", () => {
    const log = readReplayLog(dir);
    expect(log.runs.map((r) => r.run)).toEqual([1, 2, 3]);
    expect(log.runs.map((r) => r.header.config.seed)).toEqual(RUNS.map((r) => r.seed));
    expect(log.runs.map((r) => r.header.startTime)).toEqual(RUNS.map((r) => r.start));
    expect(log.runs.map((r) => r.events.length)).toEqual(raw.events.map((e) => e.length));
    expect(log.runs.map((r) => r.indices)).toEqual(raw.positions);
    // Every engine started at generation 0 and ended where its engine was at close.
    expect(log.runs.map((r) => r.generations)).toEqual(finalGenerations.map((last) => ({ first: 0, last })));
    expect(finalGenerations.every((g) => g >= 20)).toBe(true);
    // The first run's fields are the ones single-run readers used.
    expect(log.header).toBe(log.runs[0]?.header);
    expect(log.events).toBe(log.runs[0]?.events);
    // A restart record starts each later run.
    expect(log.runs.slice(1).map((r) => raw.records[r.start - 1]?.kind)).toEqual(["restart", "restart"]);
  });

  it("replays every run on its own engine, all identical, with each run's record count", async () => {
    const result = await replay(dir);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const counts = raw.events.map((e) => e.length);
    expect(counts.every((n) => n > 200)).toBe(true);
    expect(result.records).toBe(counts[0]! + counts[1]! + counts[2]!);
    expect(result.runs?.map((r) => [r.run, r.ok, r.records])).toEqual([
      [1, true, counts[0]],
      [2, true, counts[1]],
      [3, true, counts[2]],
    ]);
  }, 60_000);

  it("reports a digest perturbed in run 2 at the window it closed, and runs 1 and 3 as they are", async () => {
    const run2 = raw.events[1]!;
    const windowAt = run2.findIndex(
      (e, k) => k > run2.length / 2 && e.type === "window.closed" && !e.timedOut,
    );
    const window = run2[windowAt]!;
    const victimAt = run2.slice(0, windowAt).findLastIndex((e) => e.type === "digest.accepted");
    const victimPosition = raw.positions[1]![victimAt]!;
    const windowValue = window.type === "window.closed" ? window.value : Number.NaN;
    const tampered = join(scratch, "tampered");
    copyLog(dir, tampered, (record, position) => {
      if (position !== victimPosition) return record;
      const event = record.event as Record<string, unknown>;
      // Just above the window's aggregate, so that no trimming can ignore it.
      return { ...record, event: { ...event, objective: windowValue + 1e-3 } };
    });

    const result = await replay(tampered);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.divergence).toMatchObject({
      run: 2,
      seq: window.seq,
      index: raw.positions[1]![windowAt],
      reason: "value",
      expected: window,
    });
    const runs = result.runs ?? [];
    expect(runs.map((r) => [r.run, r.ok, r.records])).toEqual([
      [1, true, raw.events[0]!.length],
      [2, false, run2.length],
      [3, true, raw.events[2]!.length],
    ]);
    expect(runs[1]?.ok === false && runs[1].divergence).toEqual(result.divergence);

    // The CLI prints one line per run, then the divergence, and exits 1.
    const cli = await runArqonInProcess(["replay", "tampered", "--context", "1"], scratch);
    expect(cli.status).toBe(1);
    const lines = cli.stdout.split("\n");
    expect(lines[0]).toMatch(
      new RegExp(`^run 1 \\(generations 0–${finalGenerations[0]}\\): OK, \\d+ records identical$`),
    );
    expect(lines[1]).toBe(
      `run 2 (generations 0–${finalGenerations[1]}): DIVERGED at record ${raw.positions[1]![windowAt]} (seq ${window.seq}, window.closed): value`,
    );
    expect(lines[2]).toMatch(/^run 3 \(generations 0–\d+\): OK, \d+ records identical$/);
    expect(lines[3]).toBe(
      `replay DIVERGED at record ${raw.positions[1]![windowAt]} (seq ${window.seq}, window.closed) in run 2: value`,
    );
    expect(cli.stderr).toContain("in run 2");
  }, 60_000);

  it("says which earlier run did not close (a crash before the next run continued the log)", async () => {
    // The log as a kill -9 of run 1 would leave it: no close marker before run 2's restart.
    const crashed = join(scratch, "run-1-killed");
    const source = readDecisionLog(dir);
    const { seq: _headerSeq, ...header } = source.header as LogHeader & { seq: number };
    const writer = openDecisionLog({ dir: crashed, header: header as LogHeader, fsync: "group" });
    let dropped = 0;
    for (const entry of source.records) {
      const { seq: _seq, ...record } = entry.record;
      if (isCloseMarker(record) && dropped++ === 0) continue;
      writer.append(record);
    }
    writer.close();
    const result = await replay(crashed);
    expect(result.ok).toBe(true);
    expect(result.runs.map((r) => r.closed)).toEqual([false, true, true]);
    const cli = await runArqonInProcess(["replay", crashed], scratch);
    expect(cli.status, cli.stderr).toBe(0);
    const lines = cli.stdout.split("\n");
    expect(lines[0]).toMatch(
      /^run 1 \(generations .*\): OK, \d+ records identical \(did not close: it crashed or was killed, and its last records may be missing\)$/,
    );
    expect(lines[1]).not.toContain("did not close");
    // The whole log, closed run by run, says nothing of it.
    expect((await runArqonInProcess(["replay", dir], scratch)).stdout).not.toContain("did not close");
  });

  it("replays only the run `{ run: k }` names, and refuses a run the log does not have", async () => {
    const configs: EngineConfig[] = [];
    const result = await replay(dir, {
      run: 3,
      createEngine: (c) => {
        configs.push(c);
        return createEngine(c);
      },
    });
    expect(configs.map((c) => c.seed)).toEqual([RUNS[2].seed]);
    expect(result).toMatchObject({ ok: true, records: raw.events[2]!.length });
    expect(result.runs?.map((r) => [r.run, r.ok, r.records])).toEqual([[3, true, raw.events[2]!.length]]);
    for (const run of [0, 4, 1.5, -1]) {
      const refusal = replay(dir, { run });
      await expect(refusal).rejects.toThrow(ReplayRunError);
      await expect(refusal).rejects.toThrow(/options\.run must be a whole number from 1 to 3/);
    }
  }, 60_000);
});

describe("explain on a log with three runs", () => {
  const createdIn = (run: number, generation: number) =>
    raw.events[run - 1]!.find(
      (e) => (e.type === "apply" || e.type === "rollback") && e.generation === generation,
    );

  it("explains the last run that created a generation by default, and another run on request", () => {
    // Generation 10 was created in every run: the last run is the default.
    const shared = 10;
    expect([1, 2, 3].every((run) => createdIn(run, shared) !== undefined)).toBe(true);
    const latest = explain(dir, shared);
    expect(latest).toMatchObject({ generation: shared, run: 3, runCount: 3 });
    expect(latest.change).toEqual(createdIn(3, shared));
    const earlier = explain(dir, shared, { run: 2 });
    expect(earlier).toMatchObject({ generation: shared, run: 2 });
    expect(earlier.change).toEqual(createdIn(2, shared));
    // Windows are taken from the explained run only.
    const run2WindowTimes = new Set(
      raw.events[1]!.filter((e) => e.type === "window.closed").map((e) => e.time),
    );
    expect(earlier.windows.every((w) => run2WindowTimes.has(w.window.time))).toBe(true);
    expect(renderExplanation(earlier).split("\n")[0]).toMatch(/^generation 10 \(run 2 of 3\): /);

    // Run 2's last generation is beyond what run 3 reached: run 2 is the last that has it.
    const late = finalGenerations[1]!;
    expect(late).toBeGreaterThan(finalGenerations[2]!);
    const found = explain(dir, late);
    expect(found.run).toBe(2);
    expect(found.change).toEqual(createdIn(2, late));
  });

  it("names the runs and their generation ranges when no run created the generation", () => {
    // The generations an apply or rollback created: generation 0, a run's initial values, is none.
    const ranges = `run 1: generations 1–${finalGenerations[0]}; run 2: generations 1–${finalGenerations[1]}; run 3: generations 1–${finalGenerations[2]}`;
    expect(() => explain(dir, 100_000)).toThrow(ReplayInputError);
    expect(() => explain(dir, 100_000)).toThrow(
      `created generation 100000; applies and rollbacks created ${ranges}`,
    );
    const late = finalGenerations[1]!;
    expect(() => explain(dir, late, { run: 3 })).toThrow(
      `in run 3 of the log created generation ${late}; applies and rollbacks created ${ranges}`,
    );
    expect(() => explain(dir, 5, { run: 7 })).toThrow(ReplayRunError);
  });

  it("arqon explain names the run, takes --run, and lists the runs when the generation is missing", async () => {
    const latest = await runArqonInProcess(["explain", "three-runs", "--generation", "10"], scratch);
    expect(latest.status).toBe(0);
    expect(latest.stdout.startsWith("generation 10 (run 3 of 3): ")).toBe(true);
    const chosen = await runArqonInProcess(
      ["explain", "three-runs", "--generation", "10", "--run", "1"],
      scratch,
    );
    expect(chosen.status).toBe(0);
    expect(chosen.stdout).toBe(renderExplanation(explain(dir, 10, { run: 1 })));
    expect(chosen.stdout.startsWith("generation 10 (run 1 of 3): ")).toBe(true);
    const missing = await runArqonInProcess(["explain", "three-runs", "--generation", "100000"], scratch);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`run 1: generations 1–${finalGenerations[0]}; run 2: generations 1–`);
    const badRun = await runArqonInProcess(
      ["explain", "three-runs", "--generation", "10", "--run", "4"],
      scratch,
    );
    expect(badRun.status).toBe(2);
    expect(badRun.stderr).toContain("--run 4 is not a run of this log (it holds runs 1–3)");
  }, 60_000);
});

describe("arqon replay on a log with three runs", () => {
  it("prints a line per run and the total (a spawned CLI), or run k alone with --run k", async () => {
    const spawned = runArqon(["replay", "three-runs"], scratch);
    expect(spawned.stderr).toBe("");
    expect(spawned.status).toBe(0);
    const total = raw.events.reduce((sum, e) => sum + e.length, 0);
    expect(spawned.stdout.split("\n")).toEqual([
      ...raw.events.map(
        (e, k) => `run ${k + 1} (generations 0–${finalGenerations[k]}): OK, ${e.length} records identical`,
      ),
      `replay OK: 3 runs, ${total} records identical`,
      "",
    ]);
    const one = await runArqonInProcess(["replay", "three-runs", "--run", "2"], scratch);
    expect(one.status).toBe(0);
    expect(one.stdout).toBe(
      `run 2 (generations 0–${finalGenerations[1]}): OK, ${raw.events[1]!.length} records identical\n` +
        `replay OK: 1 run, ${raw.events[1]!.length} records identical\n`,
    );
    for (const bad of ["0", "x"]) {
      const refused = await runArqonInProcess(["replay", "three-runs", "--run", bad], scratch);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain("--run");
    }
    const outside = await runArqonInProcess(["replay", "three-runs", "--run", "9"], scratch);
    expect(outside.status).toBe(2);
    expect(outside.stderr).toContain("--run 9 is not a run of this log (it holds runs 1–3)");
  }, 120_000);
});

/** The records of an engine fed `ticks` digests of a flat objective, one per 10 ms, on a virtual clock. */
async function shortRecords(seed: number, start: number, ticks: number): Promise<unknown[]> {
  const clock = new ReplayClock(start);
  const engine = createEngine({ ...config(seed, clock), captureDigests: true });
  const events: AuditEvent[] = [];
  engine.events.subscribe((e) => events.push(e));
  for (let k = 1; k <= ticks; k++) {
    clock.advanceTo(start + k * TICK_MS);
    engine.observe({ objective: 5 + (k % 3), generation: engine.generation });
  }
  engine.flushEvents();
  await engine.close();
  const { scheduler: _scheduler, ...logged } = config(seed, clock);
  return [
    engineLogHeader({ ...logged, captureDigests: true }, { startTime: start }),
    ...events.map(auditLogRecord),
  ];
}

describe("runs in a log given as records", () => {
  it("starts a run at each bare restart record, and refuses one without an engine header", async () => {
    const [header1, ...first] = await shortRecords(31, 0, 60);
    const [header2, ...second] = await shortRecords(32, 5_000, 40);
    const restart = { kind: "restart", time: 5_000, lastDurableGeneration: 0, liveGeneration: 0, gap: 0 };
    const records = [header1, ...first, { ...restart, header: header2 }, ...second];
    expect(Math.min(first.length, second.length)).toBeGreaterThan(40);
    const log = readReplayLog(records);
    expect(log.runs.map((r) => [r.run, r.start, r.events.length])).toEqual([
      [1, 0, first.length],
      [2, first.length + 1, second.length],
    ]);
    const result = await replay(records);
    expect(result).toEqual({
      ok: true,
      records: first.length + second.length,
      runs: [
        {
          run: 1,
          start: 0,
          generations: log.runs[0]!.generations,
          // Written before close markers (its header has no logVersion 3): unknown.
          closed: null,
          records: first.length,
          dropped: [],
          timingsPastEnd: 0,
          options: "recorded",
          rules: DECISION_RULES,
          unreplayable: null,
          ok: true,
        },
        {
          run: 2,
          start: first.length + 1,
          generations: log.runs[1]!.generations,
          // Written before close markers (its header has no logVersion 3): unknown.
          closed: null,
          records: second.length,
          dropped: [],
          timingsPastEnd: 0,
          options: "recorded",
          rules: DECISION_RULES,
          unreplayable: null,
          ok: true,
        },
      ],
      tornTail: null,
      unclosed: null,
    });
    expect(() => readReplayLog([header1, ...first, restart, ...second])).toThrow(
      `the restart record at position ${first.length + 1} of the log carries no engine header`,
    );
  });
});
