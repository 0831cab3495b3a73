import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { encodeNumbers } from "../src/log/json-numbers.js";
import { auditEventOf, timeRecordOf } from "../src/log/log-records.js";
import { readDecisionLog } from "../src/log/reader.js";
import { createLoggedEngine, replay } from "../src/node.js";
import { Prng } from "../src/random/prng.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { runArqonInProcess } from "./support/cli-run.js";
import { SERVICE_KNOBS, serviceCost } from "./support/engine-harness.js";
import { tempLogDirs } from "./support/log-dir.js";

// How a decision log must end: a cleanly closed logged engine writes a close marker as its last
// record, so a log whose final segment was deleted (or that was cut at a segment boundary) is told
// apart from a complete one, and a segment missing in the middle is named, not replayed over.

const logDir = tempLogDirs();
const PARAMS = { batchSize: { min: 1, max: 256, init: 32, maxDelta: 8 } } as const;

/** Logs `ticks` digests 100 ms apart on small segments, so the log spans several files. */
async function loggedRun(dir: string, ticks: number, closeIt = true): Promise<void> {
  const scheduler = new VirtualTimeScheduler();
  const logged = createLoggedEngine(
    { seed: 4, params: PARAMS, window: { digests: 3 }, scheduler },
    { dir, flushMs: 50, segmentBytes: 4096 },
  );
  for (let i = 0; i < ticks; i++) {
    scheduler.schedule(() => {}, 100);
    scheduler.flush();
    const x = logged.engine.values[0]!;
    logged.engine.observe({ objective: ((x - 100) / 30) ** 2, generation: logged.engine.generation });
    // A group commit every 20 digests: the writer starts a new segment at a commit.
    if (i % 20 === 19) logged.log.flush();
  }
  if (closeIt) await logged.close();
  else {
    // A crash: the engine stops, the log is flushed but never closed (no close marker).
    logged.log.flush();
    await logged.engine.close();
    logged.log.flush();
  }
}

/**
 * The records of a closed log of a noisy two-knob service (600 digests 10 ms apart, in turns of
 * 20 with a group commit after each): its window timers run between the engine's audit drains.
 */
async function serviceLogRecords(dir: string): Promise<unknown[]> {
  const clock = new ReplayClock(1_000);
  const logged = createLoggedEngine(
    {
      seed: 21,
      params: SERVICE_KNOBS,
      spsa: { calibrationIterations: 4 },
      window: { digests: 5, ms: 500 },
      scheduler: clock,
    },
    { dir, flushMs: 20 },
  );
  const { engine } = logged;
  const noise = Prng.fromSeed(5, 1);
  for (let k = 1; k <= 600; k++) {
    clock.advanceTo(1_000 + k * 10);
    engine.observe({
      objective: serviceCost(engine.values, noise),
      generation: engine.generation,
    });
    if (k % 20 === 0) logged.log.flush();
  }
  await logged.close();
  const contents = readDecisionLog(dir);
  return [contents.header, ...contents.records];
}

const segments = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".alog"))
    .sort();

describe("the end of a decision log", () => {
  it("a cleanly closed log ends with a close marker and replays with exit 0", async () => {
    const dir = logDir();
    await loggedRun(dir, 150);
    expect(segments(dir).length).toBeGreaterThan(3);
    const result = await replay(dir);
    expect(result.ok).toBe(true);
    expect(result.unclosed).toBeNull();
    const run = await runArqonInProcess(["replay", dir], dir);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });

  it("a deleted last segment is reported and exits 1 unless --accept-open", async () => {
    const dir = logDir();
    await loggedRun(dir, 150);
    rmSync(join(dir, segments(dir).at(-1)!));
    const result = await replay(dir);
    expect(result.unclosed).toContain("log ends without close marker");

    const refused = await runArqonInProcess(["replay", dir], dir);
    expect(refused.stderr).toContain(
      "arqon replay: log ends without close marker: last segment missing or run did not close",
    );
    expect(refused.stderr).toContain("exit 1 (--accept-open accepts it)");
    expect(refused.status).toBe(1);

    const accepted = await runArqonInProcess(["replay", dir, "--accept-open"], dir);
    expect(accepted.stderr).toContain("(accepted: --accept-open)");
    expect(accepted.status).toBe(0);
  });

  it("on a log of several runs, marks the last run's line INCOMPLETE too", async () => {
    const dir = logDir();
    await loggedRun(dir, 60);
    await loggedRun(dir, 60, false);
    const refused = await runArqonInProcess(["replay", dir], dir);
    expect(refused.stdout).toMatch(
      /^run 1 \(generations [^)]*\): OK, \d+ records identical\nrun 2 \(generations [^)]*\): INCOMPLETE, \d+ records identical\nreplay INCOMPLETE: 2 runs, \d+ records identical\n$/,
    );
    expect(refused.status).toBe(1);
    // Run 1 chosen alone: its own line is OK; the log's end is still refused.
    const first = await runArqonInProcess(["replay", dir, "--run", "1"], dir);
    expect(first.stdout).toMatch(
      /^run 1 \(generations [^)]*\): OK, \d+ records identical\nreplay INCOMPLETE: 1 run, /,
    );
  });

  it("a run that never closed (a crash) is reported the same way, as open", async () => {
    const dir = logDir();
    await loggedRun(dir, 60, false);
    const refused = await runArqonInProcess(["replay", dir], dir);
    expect(refused.stdout).toMatch(/^replay INCOMPLETE: \d+ records identical\n$/);
    expect(refused.stderr).toContain("log ends without close marker");
    expect(refused.status).toBe(1);
    const accepted = await runArqonInProcess(["replay", dir, "--accept-open"], dir);
    expect(accepted.stdout).toMatch(/^replay OK: \d+ records identical\n$/);
    expect(accepted.status).toBe(0);
    // --json says it too: "ok" covers the records, "verdict" the whole report.
    const json = await runArqonInProcess(["replay", dir, "--json"], dir);
    expect(JSON.parse(json.stdout)).toMatchObject({ verdict: "INCOMPLETE", ok: true });
    expect(json.status).toBe(1);
    const jsonAccepted = await runArqonInProcess(["replay", dir, "--json", "--accept-open"], dir);
    expect(JSON.parse(jsonAccepted.stdout)).toMatchObject({ verdict: "OK", ok: true });
  });

  it("a segment missing in the middle is named as a numbering gap, exit 1", async () => {
    const dir = logDir();
    await loggedRun(dir, 150);
    const names = segments(dir);
    rmSync(join(dir, names[1]!));
    const run = await runArqonInProcess(["replay", dir, "--accept-open"], dir);
    expect(run.stderr).toContain(
      `segment numbering gap: ${names[1]} is missing between ${names[0]} and ${names[2]}`,
    );
    expect(run.status).not.toBe(0);
  });

  it("a log cut at any record replays up to its last audit record", async () => {
    const dir = logDir();
    const records = await serviceLogRecords(dir);
    const whole = await replay(records);
    expect(whole.ok).toBe(true);
    expect(whole.runs[0]!.timingsPastEnd).toBe(0);
    // A timing is logged when it happens, audit records on the next drain: a cut (a crash, a
    // lost last segment) can fall between the two writes. Every prefix must still replay, and
    // count the timings that followed audit records it lost.
    const after = records.map((record) => timeRecordOf(record)?.after ?? -1);
    let lastSeq = 0;
    const cuts: number[] = [];
    for (let cut = 2; cut < records.length; cut++) {
      lastSeq = Math.max(lastSeq, auditEventOf(records[cut - 1])?.seq ?? 0);
      const pastEnd = after.slice(0, cut).filter((a) => a > lastSeq).length;
      const result = await replay(records.slice(0, cut));
      if (!result.ok) throw new Error(`cut at ${cut}: ${result.divergence.reason}`);
      expect(result.runs[0]!.timingsPastEnd).toBe(pastEnd);
      expect(result.unclosed).not.toBeNull();
      if (pastEnd > 0) cuts.push(cut);
    }
    expect(cuts.length).toBeGreaterThan(100);
    // The CLI accepts the cut log as open and says which timings it left out.
    const file = join(dir, "..", "cut.jsonl");
    const cut = records.slice(0, cuts.at(-1));
    writeFileSync(file, cut.map((r) => JSON.stringify(encodeNumbers(r))).join("\n"));
    const run = await runArqonInProcess(["replay", file, "--accept-open"], dir);
    expect(run.stdout).toMatch(
      /^replay OK: \d+ records identical \(\d+ timings? of run 1 not replayed: logged after audit records the log lost\)\n$/,
    );
    expect(run.status).toBe(0);
    // Every prefix replayed: about 7 s alone on a 2-core VM, past the default 30 s under load.
  }, 120_000);

  it("a crashed run continued by a later engine leaves out only its own timings past its end", async () => {
    const first = await serviceLogRecords(logDir());
    const [header2, ...second] = await serviceLogRecords(logDir());
    // The first run cut where timings follow audit records it lost, then a restart: what a
    // crashed engine's log looks like once a new engine continues it.
    let lastSeq = 0;
    let cut = 0;
    first.forEach((record, i) => {
      lastSeq = Math.max(lastSeq, auditEventOf(record)?.seq ?? 0);
      if ((timeRecordOf(record)?.after ?? 0) > lastSeq && i < first.length / 2) cut = i + 1;
    });
    expect(cut).toBeGreaterThan(0);
    const restart = { kind: "restart", time: 9_000, lastDurableGeneration: 0, liveGeneration: 0, gap: 0 };
    const records = [...first.slice(0, cut), { ...restart, header: header2 }, ...second];
    const result = await replay(records);
    expect(result.ok).toBe(true);
    expect(result.runs.map((r) => r.timingsPastEnd > 0)).toEqual([true, false]);
    const scratch = join(logDir(), "..");
    const file = join(scratch, "continued.jsonl");
    writeFileSync(file, records.map((r) => JSON.stringify(encodeNumbers(r))).join("\n"));
    const run = await runArqonInProcess(["replay", file], scratch);
    expect(run.stdout).toMatch(
      /^run 1 .*\nrun 2 .*\nreplay OK: 2 runs, \d+ records identical \(\d+ timings? of run 1 not replayed/,
    );
    expect(run.status).toBe(0);
  });
});
