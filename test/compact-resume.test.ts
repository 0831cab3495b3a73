import { cpSync } from "node:fs";
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import type { EngineConfig } from "../src/engine/config.js";
import {
  compactDecisionLog,
  createLoggedEngine,
  explain,
  type LogEntry,
  ReplayInputError,
  readDecisionLog,
  readReplayLog,
  replay,
  resumedConfig,
  resumePoint,
  resumePointAsync,
} from "../src/node.js";
import { runArqonInProcess } from "./support/cli-run.js";
import { tempLogDirs } from "./support/log-dir.js";

// A compaction dropped the `restart` records that start each run, so the records it kept were read
// as the first run's: resumePoint took the last run's records for run 1, and after `keep` 0 or 1
// (nothing of the last run's tuning left) handed back run 1's starting values, from run 1's config,
// and a restart threw the tuning away. Compaction now keeps every run's restart record, and
// resumePoint gives where the last run ended or refuses when what is left does not say.

const newDir = tempLogDirs();

/** The guide's service (docs/guide/decision-log.md): one knob on [1, 256] from 16, cost lowest at 96. */
function config(name: string): EngineConfig {
  return {
    seed: 5,
    params: { [name]: { min: 1, max: 256, init: 16, maxDelta: 8 } },
    window: { digests: 5 },
    scheduler: new VirtualTimeScheduler(),
  };
}

/**
 * One process's life, as the guide's resume example has it: start on the log where its last run
 * ended, serve `ticks` requests, stop. Returns the value it started from and the centre it tuned to.
 */
async function serve(dir: string, name: string, ticks = 300): Promise<{ from: number; centre: number }> {
  const own = config(name);
  const scheduler = own.scheduler as VirtualTimeScheduler;
  const { engine, close } = createLoggedEngine(resumedConfig(own, resumePoint(dir)), { dir });
  const from = engine.values[0]!;
  for (let tick = 1; tick <= ticks; tick++) {
    scheduler.schedule(() => {}, 10);
    scheduler.flush();
    engine.observe({ objective: 20 + ((engine.values[0]! - 96) / 40) ** 2, generation: engine.generation });
  }
  const centre = engine.snapshot().centre[name]!;
  await close();
  return { from, centre };
}

/** A copy of the log in `dir`, compacted with `keep`. */
function compacted(dir: string, keep: number | ((entry: LogEntry) => boolean)): string {
  const copy = newDir();
  cpSync(dir, copy, { recursive: true });
  compactDecisionLog(copy, keep);
  return copy;
}

/** The ReplayInputError resumePoint throws on `dir`. */
function refusal(dir: string): ReplayInputError {
  try {
    resumePoint(dir);
  } catch (error) {
    if (error instanceof ReplayInputError) return error;
    throw error;
  }
  throw new Error(`resumePoint(${dir}) did not throw`);
}

const records = (dir: string) => readDecisionLog(dir).records;

describe("resumePoint after a compaction", () => {
  it("gives where the last run ended, or refuses: never a run's start (keep 0, 1, 3, ≥ the log)", async () => {
    const dir = newDir();
    const first = await serve(dir, "b");
    const second = await serve(dir, "b");
    // The guide's numbers: run 1 went 16 → 84, run 2 (resumed) 84 → 96.
    expect(first.from).toBe(16);
    expect(Math.abs(first.centre - 84)).toBeLessThan(1);
    expect(second.from).toBe(first.centre);
    expect(Math.abs(second.centre - 96)).toBeLessThan(1);
    const whole = resumePoint(dir)!;
    expect(whole).toMatchObject({ run: 2, values: { b: second.centre }, baseline: { b: 16 } });
    expect(whole.generation).toBeGreaterThan(0);

    // Nothing of run 2's tuning is left (keep 0), or only its close marker (keep 1).
    for (const keep of [0, 1]) {
      const d = compacted(dir, keep);
      expect(refusal(d).message).toMatch(
        /^cannot tell where run 2 of the log ended: its last records are gone/,
      );
      await expect(resumePointAsync(d)).rejects.toThrow(ReplayInputError);
    }

    // The last three records hold run 2's last centre: its values and generation, in run 2. The
    // records that set the baseline are gone, so the config keeps its own.
    const tail = records(dir).slice(-3);
    expect(tail.some((e) => (e.record.event as { kind?: string } | undefined)?.kind === "centre")).toBe(true);
    const three = compacted(dir, 3);
    expect(resumePoint(three)).toEqual({ ...whole, baseline: undefined });
    expect(await resumePointAsync(three)).toEqual(resumePoint(three));
    const next = createLoggedEngine(resumedConfig(config("b"), resumePoint(three)), { dir: three });
    expect(next.engine.values[0]).toBe(second.centre);
    await next.close();

    // Keeping as many records as the log holds, or more, changes nothing.
    const total = records(dir).length;
    for (const keep of [total, total + 10]) expect(resumePoint(compacted(dir, keep))).toEqual(whole);
  });

  it("keeps the restart record of each run left, so the kept records replay in the run that wrote them", async () => {
    const dir = newDir();
    await serve(dir, "b");
    await serve(dir, "b");
    const before = await replay(dir);
    if (!before.ok) throw new Error(`the whole log diverged: ${before.divergence.reason}`);

    // Nothing kept: run 1 is gone whole, run 2 (the last) keeps its restart record, and its number.
    const none = compacted(dir, 0);
    expect(records(none).map((e) => e.record.kind)).toEqual(["restart"]);
    expect(readDecisionLog(none).header?.runsBefore).toBe(1);
    expect((await replay(none)).runs.map((r) => [r.run, r.records])).toEqual([[2, 0]]);

    // Run 2's last 40 records are compared in run 2, rebuilt from run 2's header, and the
    // divergence is put down to the records the compaction removed, as the guide says.
    const tail = compacted(dir, 40);
    const result = await replay(tail);
    expect(result.runs.map((r) => r.run)).toEqual([2]);
    expect(result.runs[0]!.records).toBeGreaterThan(0);
    expect(result.runs[0]!.dropped).toEqual([{ from: 1, to: expect.any(Number), cause: "removed" }]);
    if (result.ok) throw new Error("a run replayed without its first records");
    expect(result.divergence.run).toBe(2);
    expect(result.divergence.reason).toMatch(/removed from it: a compaction or an edit/);
    expect((await replay(tail, { run: 2 })).runs.map((r) => r.run)).toEqual([2]);

    // The whole log kept is the log: it still replays bit for bit.
    const all = compacted(dir, records(dir).length);
    expect(await replay(all)).toMatchObject({ ok: true, records: before.records });
  });

  it("reads a parameter renamed between the runs under the last run's name", async () => {
    const dir = newDir();
    const first = await serve(dir, "b");
    // The parameter was renamed for run 2: the point's `b` is dropped and `bb` starts at its init.
    const second = await serve(dir, "bb");
    expect(first.centre).toBeGreaterThan(16);
    expect(second.from).toBe(16);
    expect(second.centre).toBeGreaterThan(16);
    const whole = resumePoint(dir)!;
    expect(whole).toMatchObject({ run: 2, values: { bb: second.centre } });

    // Before, keep 0 gave run 1's start under run 1's name: { b: 16 }.
    expect(refusal(compacted(dir, 0)).message).toMatch(/run 2 .*its last records are gone/);
    const three = resumePoint(compacted(dir, 3))!;
    expect(three).toEqual({ ...whole, baseline: undefined });
    expect(Object.keys(three.values)).toEqual(["bb"]);
    expect(resumePoint(compacted(dir, records(dir).length))).toEqual(whole);

    const third = await serve(compacted(dir, 3), "bb", 0);
    expect(third.from).toBe(second.centre);
  });

  it("numbers the runs as the log did, whatever the compaction kept", async () => {
    const dir = newDir();
    await serve(dir, "b");
    await serve(dir, "b");
    const third = await serve(dir, "b", 100);
    const whole = resumePoint(dir)!;
    expect(whole.run).toBe(3);
    expect(whole.values.b).toBe(third.centre);
    // Kept from run 3's last centre on: run 3's, though the log header describes run 1.
    const all = records(dir);
    const lastCentre = all.findLastIndex(
      (e) => (e.record.event as { kind?: string } | undefined)?.kind === "centre",
    );
    expect(resumePoint(compacted(dir, all.length - lastCentre))).toEqual({ ...whole, baseline: undefined });

    // Keeping only run 2's records: they are read as run 2's (run 1 is gone whole), and nothing
    // says where run 3 ended.
    const restarts = records(dir).filter((e) => e.record.kind === "restart");
    expect(restarts).toHaveLength(2);
    const [two, three] = restarts.map((e) => e.seq) as [number, number];
    const d = newDir();
    cpSync(dir, d, { recursive: true });
    const result = compactDecisionLog(d, (e) => e.seq > two && e.seq < three);
    // recordsKept counts the restart records it kept besides those `keep` selected (runs 2 and 3).
    expect(result.recordsKept).toBe(three - two - 1 + 2);
    expect(refusal(d).message).toMatch(
      /^cannot tell where run 3 of the log ended: its last records are gone/,
    );
    const replayed = await replay(d);
    expect(replayed.runs.map((r) => r.run)).toEqual([2, 3]);
    expect(replayed.runs.map((r) => r.records > 0)).toEqual([true, false]);
    // Compacted again: the runs removed before add up.
    expect(compactDecisionLog(d, 0).recordsKept).toBe(1);
    expect(readDecisionLog(d).header?.runsBefore).toBe(2);
    expect((await replay(d)).runs.map((r) => r.run)).toEqual([3]);

    expect(compactDecisionLog(compacted(dir, 0), 0).recordsKept).toBe(1);
  });

  it("resumes as before a run whose timings alone were taken out", async () => {
    const dir = newDir();
    await serve(dir, "b");
    await serve(dir, "b");
    const whole = resumePoint(dir)!;
    // Timer and flush records removed all through the log: the audit records left run on, so no
    // apply or setBaseline went with them.
    const d = compacted(dir, (e) => e.record.kind !== "timer" && e.record.kind !== "flush");
    expect(records(d).length).toBeLessThan(records(dir).length - 100);
    expect(resumePoint(d)).toEqual(whole);
  });

  it("keeps a halt the last run started with when the records that would show its reset are gone", async () => {
    const dir = newDir();
    const first = createLoggedEngine(config("b"), { dir });
    first.engine.halt("maintenance");
    await first.close();
    // The halt carries over to run 2, whose operator acknowledges and resets it.
    const second = createLoggedEngine(config("b"), { dir });
    expect(second.engine.mode).toBe("halted");
    expect(second.engine.resetSafeMode({ acknowledge: "maintenance over" })).toBe(true);
    await second.close();
    const all = records(dir);
    const reset = all.findIndex(
      (e) => (e.record.event as { command?: string } | undefined)?.command === "resetSafeMode",
    );
    expect(reset).toBeGreaterThan(all.findIndex((e) => e.record.kind === "restart"));

    // Run 2's restart record is kept and says it started halted; the records that would show the
    // reset are gone (keep 0, 1, or only those before the reset): the halt is kept, saying why,
    // until an operator resets it.
    const beforeReset = (e: LogEntry) => e.seq < all[reset]!.seq;
    for (const keep of [0, 1, beforeReset]) {
      const third = createLoggedEngine(config("b"), { dir: compacted(dir, keep) });
      expect(third.engine.mode).toBe("halted");
      expect(third.restart?.halted).toMatch(
        /^still halted after a restart \(kept: a compaction removed the records that would show whether it was reset; .*maintenance/,
      );
      expect(third.restart?.haltedReasons).toEqual(["manualHalt"]);
      expect(third.engine.resetSafeMode({ acknowledge: "checked: reset in run 2" })).toBe(true);
      expect(third.engine.mode).toBe("normal");
      await third.close();
    }

    // A halt kept so, restored again at a later restart, keeps its note (it does not nest).
    const d = compacted(dir, 0);
    const third = createLoggedEngine(config("b"), { dir: d });
    const note = third.restart?.halted;
    await third.close();
    const fourth = createLoggedEngine(config("b"), { dir: d });
    expect(fourth.restart?.halted).toBe(note);
    await fourth.close();
    const fifth = createLoggedEngine(config("b"), { dir: compacted(d, 0) });
    expect(fifth.restart?.halted).toBe(note);
    await fifth.close();

    // The reset is among the records kept (from it on, or the whole log): the next engine starts as
    // after the uncompacted log, normal.
    for (const keep of [all.length - reset, all.length]) {
      const next = createLoggedEngine(config("b"), { dir: compacted(dir, keep) });
      expect(next.restart?.halted).toBeUndefined();
      expect(next.engine.mode).toBe("normal");
      await next.close();
    }
  });
});

describe("compaction of a log many engines continued", () => {
  it("stays bounded however many runs there were, and numbers the runs left as the log did", async () => {
    const dir = newDir();
    await serve(dir, "b");
    // Each run before c9aac43's fix kept its ~2 KB restart record whatever `keep` said: 1000
    // restarts and keep 10 left 1007 records, 2.07 MB. Now only the runs left keep theirs.
    const after: { bytes: number; kept: number }[] = [];
    for (let run = 2; run <= 40; run++) {
      await serve(dir, "b", 0);
      if (run === 10 || run === 40) {
        const copy = newDir();
        cpSync(dir, copy, { recursive: true });
        const { bytesAfter, recordsKept } = compactDecisionLog(copy, 10);
        after.push({ bytes: bytesAfter, kept: recordsKept });
        expect(resumePoint(copy)!.run).toBe(run);
      }
    }
    expect(after.map((a) => a.kept)).toEqual([after[0]!.kept, after[0]!.kept]);
    expect(after[0]!.kept).toBeLessThanOrEqual(11);
    expect(Math.abs(after[1]!.bytes - after[0]!.bytes)).toBeLessThan(100);

    const last = await serve(dir, "b");
    const whole = resumePoint(dir)!;
    expect(whole).toMatchObject({ run: 41, values: { b: last.centre } });
    expect(refusal(compacted(dir, 0)).message).toMatch(/^cannot tell where run 41 of the log ended/);
    const ten = compacted(dir, 10);
    expect(readDecisionLog(ten).header?.runsBefore).toBe(40);
    expect(resumePoint(ten)).toEqual({ ...whole, baseline: undefined });
    expect((await replay(ten)).runs.map((r) => r.run)).toEqual([41]);

    // Run 41 whole and the end of run 40: replay and explain give them their numbers.
    const all = records(dir);
    const restart41 = all.findLastIndex((e) => e.record.kind === "restart");
    const d = compacted(dir, all.length - restart41 + 2);
    expect(readDecisionLog(d).header?.runsBefore).toBe(39);
    const replayed = await replay(d);
    expect(replayed.runs.map((r) => r.run)).toEqual([40, 41]);
    expect(await replay(d, { run: 41 })).toMatchObject({ ok: true, runs: [{ run: 41, ok: true }] });
    const byRun = await replay(dir, { run: 41 });
    expect((await replay(d, { run: 41 })).runs[0]!.records).toBe(byRun.runs[0]!.records);
    const centre = [...readReplayLog(d).runs.at(-1)!.events]
      .reverse()
      .find((e) => e.type === "apply" && e.kind === "centre")!;
    const explained = explain(d, centre.generation);
    expect(explained).toMatchObject({ run: 41, runCount: 41 });
    expect(explain(d, centre.generation, { run: 41 })).toEqual(explained);
    expect(explain(dir, centre.generation, { run: 41 })).toEqual(explained);
    expect(() => explain(d, centre.generation, { run: 1 })).toThrow(
      "options.run must be a whole number from 40 to 41 (the log holds runs 40–41: a compaction removed runs 1–39), got 1",
    );

    // The CLI's --run takes the log's own numbers.
    const cwd = newDir();
    const ex = await runArqonInProcess(
      ["explain", d, "--generation", String(centre.generation), "--run", "41"],
      cwd,
    );
    expect(ex.stdout).toContain(`generation ${centre.generation} (run 41 of 41)`);
    const bad = await runArqonInProcess(["explain", d, "--generation", "1", "--run", "1"], cwd);
    expect(bad.stderr).toContain(
      "--run 1 is not a run of this log (it holds runs 40–41: a compaction removed runs 1–39)",
    );
    const rep = await runArqonInProcess(["replay", d, "--run", "41"], cwd);
    expect(rep.stdout).toMatch(/^run 41 \(/m);
    const only = await runArqonInProcess(["replay", ten], cwd);
    expect(only.stdout).toMatch(/^run 41 \(/m);
  });
});
