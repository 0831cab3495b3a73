import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import type { EngineConfig } from "../src/engine/config.js";
import type { Engine } from "../src/engine/engine.js";
import { ConfigError } from "../src/errors.js";
import { createLoggedEngine } from "../src/log/engine-log.js";
import { auditLogRecord, engineLogHeader } from "../src/log/log-records.js";
import { Prng } from "../src/random/prng.js";
import { replay } from "../src/replay/replay.js";
import { resumedConfig, resumePoint, resumePointAsync } from "../src/replay/resume-point.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { tempLogDirs } from "./support/log-dir.js";

// A restart (a deploy, a crash) used to send every knob back to its init: the tuning of the run
// before was lost. resumePoint reads where the log's last run ended; resumedConfig starts there.

const newLogDir = tempLogDirs();

/** batchSize on [1, 128] from 30, best at 80, at most 8 per apply; one digest per window. */
function config(clock: ReplayClock): EngineConfig<"batchSize"> {
  return { seed: 4, params: { batchSize: { min: 1, max: 128, init: 30, maxDelta: 8 } }, scheduler: clock };
}

/** Feeds `engine` `steps` digests 100 ms apart from `from`, the cost lowest at a batch size of 80. */
function tune(engine: Engine, clock: ReplayClock, from: number, steps: number): void {
  const noise = Prng.fromSeed(2, 1);
  for (let i = 0; i < steps; i++) {
    clock.advanceTo(from + (i + 1) * 100);
    const b = engine.values[0]!;
    engine.observe({
      objective: (5 + (b - 80) ** 2 / 200) * (1 + 0.01 * (noise.next() - 0.5)),
      generation: engine.generation,
    });
  }
}

type Body = Omit<AuditEvent, "v" | "runId" | "seq">;

/** An apply of `kind` making generation `generation` live, with x at `x` (and y at 20). */
const apply = (kind: string, generation: number, x: number): Body =>
  ({
    type: "apply",
    kind,
    time: generation * 100,
    generation,
    proposalId: generation,
    values: { x, y: 20 },
  }) as Body;

/**
 * A one-run log of `bodies` on x ∈ [0, 10] from 5 (and y ∈ [0, 100] from 20, baseline 25); with
 * `firstSeq` above 1, the run's first records are gone, as compaction leaves it.
 */
function logOf(bodies: readonly Body[], firstSeq = 1): unknown[] {
  const header = engineLogHeader(
    { seed: 1, params: { x: { min: 0, max: 10, init: 5 }, y: { min: 0, max: 100, init: 20, baseline: 25 } } },
    { startTime: 0 },
  );
  const events = bodies.map((b, k) => ({ ...b, v: 2, runId: "resume", seq: firstSeq + k }) as AuditEvent);
  return [header, ...events.map(auditLogRecord)];
}

/** An audit record of `logOf`'s run as the log holds it: its log seq, and its audit seq. */
const logged = (logSeq: number, auditSeq: number, body: Body) => ({
  seq: logSeq,
  ...auditLogRecord({ ...body, v: 2, runId: "resume", seq: auditSeq } as AuditEvent),
});

/** The run's close marker as the log holds it, at log seq `logSeq`, ended on `generation`. */
const closed = (logSeq: number, generation: number) => ({
  seq: logSeq,
  kind: "close",
  time: 5_000,
  generation,
});

/** `logOf`'s header with `records` after it, as `readDecisionLog` gives them, the log's last seq `lastSeq`. */
function contentsOf(records: readonly object[], lastSeq: number) {
  return { header: { seq: 0, ...(logOf([])[0] as object) }, records, lastSeq };
}

describe("resumePoint", () => {
  it("picks a restart up where the last run's tuning ended, and keeps the operator's baseline", async () => {
    const dir = newLogDir();
    expect(resumePoint(dir)).toBeUndefined();
    const clock = new ReplayClock(1_000);
    const fresh = resumedConfig(config(clock), resumePoint(dir));
    expect(fresh).toEqual(config(clock));

    const first = createLoggedEngine(fresh, { dir });
    tune(first.engine, clock, 1_000, 1_500);
    const tunedCentre = first.engine.snapshot().centre.batchSize;
    await first.close();
    expect(Math.abs(tunedCentre - 80)).toBeLessThan(Math.abs(30 - 80) / 2);

    const point = resumePoint(dir)!;
    expect(point.run).toBe(1);
    expect(point.generation).toBeGreaterThan(0);
    expect(point.values.batchSize).toBeCloseTo(tunedCentre, 9);
    expect(point.baseline).toEqual({ batchSize: 30 });
    expect(await resumePointAsync(dir)).toEqual(point);

    const later = new ReplayClock(500_000);
    const second = createLoggedEngine(resumedConfig(config(later), point), { dir });
    expect(second.engine.values[0]).toBeCloseTo(tunedCentre, 9);
    // The known-good point a rollback returns to is still the operator's, not the tuned value.
    expect(second.engine.snapshot().baseline).toEqual({ batchSize: 30 });
    tune(second.engine, later, 500_000, 200);
    await second.close();

    // The second run's header records where it started, so the log replays run by run.
    const replayed = await replay(dir);
    expect(replayed.ok).toBe(true);
    expect(replayed.runs).toHaveLength(2);
    expect(resumePoint(dir)!.run).toBe(2);
  });

  it("takes the last centre, rollback or manual apply, never a perturbation around it", () => {
    const bodies = [
      apply("plus", 1, 5.5),
      apply("minus", 2, 4.5),
      apply("centre", 3, 5.2),
      apply("plus", 4, 5.7),
    ];
    expect(resumePoint(logOf(bodies))).toEqual({
      run: 1,
      values: { x: 5.2, y: 20 },
      generation: 3,
      baseline: { x: 5, y: 25 },
    });
    const rolledBack = [
      ...bodies,
      {
        type: "rollback",
        reason: "manual",
        time: 500,
        generation: 5,
        proposalId: -1,
        restoredGeneration: 0,
        values: { x: 5, y: 25 },
      } as Body,
    ];
    expect(resumePoint(logOf(rolledBack))).toMatchObject({ values: { x: 5, y: 25 }, generation: 5 });
  });

  it("carries an operator's setBaseline, whose record leaves out the live values it took", async () => {
    const dir = newLogDir();
    const clock = new ReplayClock(1_000);
    const first = createLoggedEngine(config(clock), { dir });
    tune(first.engine, clock, 1_000, 1_500);
    first.engine.setBaseline();
    const operators = first.engine.snapshot().baseline;
    expect(operators.batchSize).not.toBe(30);
    tune(first.engine, clock, 151_000, 300);
    await first.close();
    const point = resumePoint(dir)!;
    expect(point.baseline).toEqual(operators);
    const second = createLoggedEngine(resumedConfig(config(new ReplayClock(900_000)), point), { dir });
    expect(second.engine.snapshot().baseline).toEqual(operators);
    await second.close();
  });

  it("takes, for a setBaseline taken at a perturbation, the values live then", () => {
    const setBaseline = { type: "baseline.set", time: 250, generation: 2, proposalId: -1 } as Body;
    expect(resumePoint(logOf([apply("centre", 1, 6), apply("plus", 2, 6.5), setBaseline]))).toMatchObject({
      values: { x: 6, y: 20 },
      baseline: { x: 6.5, y: 20 },
    });
  });

  it("on a compacted log, resumes from what is left, and refuses when nothing left says where it ended", () => {
    const centre = {
      type: "apply",
      kind: "centre",
      time: 900,
      generation: 9,
      proposalId: 9,
      values: { x: 7, y: 30 },
    } as Body;
    // The records before seq 40 are gone: the start and any setBaseline with them.
    expect(resumePoint(logOf([centre], 40))).toEqual({
      run: 1,
      values: { x: 7, y: 30 },
      generation: 9,
      baseline: undefined,
    });
    const plus = { ...centre, kind: "plus", generation: 10, proposalId: 10 } as Body;
    expect(() => resumePoint(logOf([plus], 40))).toThrow(
      /cannot tell where run 1 of the log ended: its first records are gone \(a compacted log\)/,
    );
    // Without the point's baseline the config's own is kept.
    const today: EngineConfig<"x" | "y"> = {
      seed: 1,
      params: { x: { min: 0, max: 10, init: 5 }, y: { min: 0, max: 100, init: 20, baseline: 25 } },
    };
    expect(resumedConfig(today, resumePoint(logOf([centre], 40))).params).toMatchObject({
      x: { init: 7, baseline: 5 },
      y: { init: 30, baseline: 25 },
    });
  });

  it("on a compacted log, takes the last tuned point left only when nothing after it may have changed the values", () => {
    const centre = apply("centre", 3, 6);
    const plus = apply("plus", 4, 6.5);
    // Records 11 and 13 are gone, and the log's last seq is its close marker's: the run ended on
    // generation 4, the perturbation left after the centre.
    expect(
      resumePoint(contentsOf([logged(10, 10, centre), logged(12, 12, plus), closed(14, 4)], 14)),
    ).toEqual({
      run: 1,
      values: { x: 6, y: 20 },
      generation: 3,
      baseline: undefined,
    });
    // Generation 4 gone too: it may have been a centre.
    expect(() => resumePoint(contentsOf([logged(10, 10, centre), closed(14, 4)], 14))).toThrow(
      /cannot tell where run 1 of the log ended: its last records are gone \(a compacted log\)/,
    );
    // No close marker: the log's last seq (a compaction's seq mark) is past the last record left.
    expect(() => resumePoint(contentsOf([logged(10, 10, centre)], 20))).toThrow(/its last records are gone/);
    expect(resumePoint(contentsOf([logged(10, 10, centre)], 10))).toMatchObject({
      values: { x: 6 },
      generation: 3,
    });
    // Only the close marker left, at generation 0: the run never changed its values.
    expect(resumePoint(contentsOf([closed(14, 0)], 14))).toEqual({
      run: 1,
      values: { x: 5, y: 20 },
      generation: 0,
      baseline: undefined,
    });
    expect(() => resumePoint(contentsOf([closed(14, 2)], 14))).toThrow(/its last records are gone/);
    // Nothing left of the run at all (keep 0): refused, not its start.
    expect(() => resumePoint(contentsOf([], 14))).toThrow(/its last records are gone/);
  });

  it("on a log whose records between two left were no audit records, reads on as if whole", () => {
    const setBaseline = { ...apply("centre", 0, 0), type: "baseline.set", values: { x: 7, y: 40 } } as Body;
    const records = [
      logged(2, 1, apply("centre", 1, 6)),
      logged(5, 2, setBaseline),
      logged(9, 3, apply("plus", 2, 6.5)),
    ];
    expect(resumePoint(contentsOf(records, 9))).toEqual({
      run: 1,
      values: { x: 6, y: 20 },
      generation: 1,
      baseline: { x: 7, y: 40 },
    });
    // Audit record 2 gone with them: the setBaseline is not known.
    expect(resumePoint(contentsOf([records[0]!, records[2]!], 9))).toMatchObject({
      values: { x: 6, y: 20 },
      baseline: undefined,
    });
  });

  it("carries the last setBaseline, and a run that changed nothing resumes where it started", () => {
    const baselineSet = {
      type: "baseline.set",
      time: 100,
      generation: 0,
      proposalId: -1,
      values: { x: 7, y: 40 },
    } as Body;
    expect(resumePoint(logOf([baselineSet]))).toEqual({
      run: 1,
      values: { x: 5, y: 20 },
      generation: 0,
      baseline: { x: 7, y: 40 },
    });
  });
});

describe("resumedConfig", () => {
  const point = {
    run: 2,
    generation: 9,
    values: { x: 12, y: 3, gone: 1 },
    baseline: { x: 4, y: -5, gone: 1 },
  };

  it("clamps into today's bounds, leaves a new parameter as given, and drops one no longer there", () => {
    const today: EngineConfig<"x" | "y" | "added"> = {
      seed: 1,
      params: {
        x: { min: 0, max: 10, init: 5 },
        y: { min: 0, max: 100, maxDelta: 4 },
        added: { min: 1, max: 2, init: 1.5 },
      },
    };
    expect(resumedConfig(today, point).params).toEqual({
      x: { min: 0, max: 10, init: 10, baseline: 4 },
      y: { min: 0, max: 100, maxDelta: 4, init: 3, baseline: 0 },
      added: { min: 1, max: 2, init: 1.5 },
    });
  });

  it("keeps the config's own baseline where the point holds none (its default init, the middle)", () => {
    const partial = { run: 1, generation: 3, values: { x: 2 }, baseline: {} };
    const config: EngineConfig<"x"> = { seed: 1, params: { x: { min: 0, max: 10 } } };
    expect(resumedConfig(config, partial).params.x).toEqual({ min: 0, max: 10, init: 2, baseline: 5 });
  });

  it("refuses a bad config with its ConfigError, whatever the point", () => {
    const bad = { seed: 1, params: { x: { min: 3, max: 1 } } } as EngineConfig;
    expect(() => resumedConfig(bad, point)).toThrow(ConfigError);
    expect(() => resumedConfig(bad, undefined)).toThrow("params.x.max");
  });
});
