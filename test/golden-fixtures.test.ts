import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FIXTURES_DIR, prngVectors } from "../scripts/golden-fixtures.js";
import { restoreSolver } from "../src/index.js";
import { checkTrailOffline } from "../src/monitor/offline-check.js";
import { SafetyMonitor } from "../src/monitor/safety-monitor.js";
import { safetySpecOf } from "../src/monitor/safety-spec.js";
import { explain, renderExplanation, replay } from "../src/node.js";
import { readReplayLog } from "../src/replay/read-log.js";
import { branin } from "../src/testing/functions.js";

// Golden fixtures: files written by an earlier version of arqon that this version must still read,
// replay and resume exactly. They are recorded once by scripts/golden-fixtures.ts and never
// regenerated; a format change adds a new version beside them (or migrates them, with a test).

const read = (name: string) => JSON.parse(readFileSync(join(FIXTURES_DIR, name), "utf8"));
const scratch = mkdtempSync(join(tmpdir(), "arqon-golden-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Checks today's explanation of a fixture against the headline recorded with it, written in the
 * rendering of its day (`generation 60: apply "centre", proposal 60, at t=24000 ms`): the same
 * change, proposal and engine time, whatever the text looks like now.
 */
function expectRecordedStory(dir: string, explained: { generation: number; headline: string }): void {
  const recorded = /^generation (\d+): apply "(\w+)", proposal (\d+), at t=(\d+) ms$/.exec(
    explained.headline,
  );
  expect(recorded, explained.headline).not.toBeNull();
  const [, generation, kind, proposal, time] = recorded!;
  const x = explain(dir, explained.generation);
  expect(x.generation).toBe(Number(generation));
  expect(x.change).toMatchObject({ type: "apply", kind, proposalId: Number(proposal), time: Number(time) });
  // Today's rendering: the same time, as seconds since the run started.
  const since = ((Number(time) - x.startTime) / 1000).toFixed(3);
  expect(renderExplanation(x).split("\n")[0]).toBe(
    `generation ${generation}: apply "${kind}", proposal ${proposal}, at +${since} s`,
  );
}

/** A private copy of a golden decision log (replay must never touch the committed file). */
function logCopy(version = "v1"): string {
  const dir = join(scratch, `log-${version}-${Math.random().toString(36).slice(2)}`);
  cpSync(join(FIXTURES_DIR, `decision-log-${version}`), dir, { recursive: true });
  return dir;
}

describe("golden fixtures, format v1", () => {
  it("the PRNG gives the recorded known-answer vectors", () => {
    const recorded = read("prng-v1.json").vectors;
    expect(recorded).toHaveLength(9);
    expect(prngVectors()).toEqual(recorded);
  });

  it("the v1 decision log still loads whole, and replay names where today's rules decide otherwise", async () => {
    // v1 was recorded before the engine's decision rules changed (issue 11: calibration that steps),
    // which no option brings back: its file must still read record for record, and replay must
    // report the first decision that differs rather than a schema or default mismatch.
    const [run] = readReplayLog(logCopy()).runs;
    expect(run!.events.length).toBe(read("decision-log-v1.expected.json").records);
    const result = await replay(logCopy());
    expect(result.runs).toHaveLength(1);
    expect(result.runs[0]!.records).toBe(read("decision-log-v1.expected.json").records);
    expect(result.runs[0]!.options).toBe("pinned");
    expect(result.tornTail).toBeNull();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.divergence.expected).toMatchObject({ type: "decision", outcome: "calibrating" });
    expect(result.divergence.actual).toMatchObject({ type: "decision", outcome: "stepped" });
    expect(result.divergence.reason).toBe("outcome");
  });

  it("the v2 decision log (audit schema 2, no recorded options) replays bit for bit", async () => {
    // Its events carry the audit schema of their day (v 2) and its header only the config as given:
    // replay compares the same event across schemas and fills the options left out from the
    // defaults pinned for logs of that age, not from today's.
    const expected = read("decision-log-v2.expected.json");
    const log = readReplayLog(logCopy("v2"));
    expect(log.header.schema).toBe(2);
    expect(log.header.resolved).toBeUndefined();
    const [run] = log.runs;
    expect(run!.events.length).toBe(expected.records);
    expect(run!.events.every((e) => e.v === 2)).toBe(true);
    const result = await replay(logCopy("v2"));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.records).toBe(expected.records);
    expect(result.runs[0]!.options).toBe("pinned");
    expectRecordedStory(logCopy("v2"), expected.explained);
    expect(new SafetyMonitor(safetySpecOf(expected.config)).checkAll(run!.events).violations).toEqual([]);
  });

  it("the v3 decision log (today's engine: timings and a close marker recorded) replays bit for bit", async () => {
    const expected = read("decision-log-v3.expected.json");
    const log = readReplayLog(logCopy("v3"));
    expect(log.header.logVersion).toBe(3);
    expect(log.unclosed).toBeNull();
    const [run] = log.runs;
    expect(run!.closed).toBe(true);
    expect(run!.timings!.filter((t) => t.kind === "timer").length).toBeGreaterThan(100);
    const result = await replay(logCopy("v3"));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.records).toBe(expected.records);
    expect(result.runs[0]!.options).toBe("pinned");
    expect(result.unclosed).toBeNull();
    expectRecordedStory(logCopy("v3"), expected.explained);
    expect(new SafetyMonitor(safetySpecOf(expected.config)).checkAll(run!.events).violations).toEqual([]);
  });

  it("a v2 log (no timings, no close marker) is not reported as unclosed", async () => {
    const log = readReplayLog(logCopy("v2"));
    expect(log.header.logVersion).toBeUndefined();
    expect(log.runs[0]!.timings).toBeUndefined();
    expect(log.unclosed).toBeNull();
  });

  it("explain still tells the recorded story of the v1 log's generation", () => {
    expectRecordedStory(logCopy(), read("decision-log-v1.expected.json").explained);
  });

  it("the v1 log's run (a trip, a halt, a reset, a rollback) keeps every safety property", () => {
    const { config } = read("decision-log-v1.expected.json");
    const [run] = readReplayLog(logCopy()).runs;
    const types = new Set(run!.events.map((e) => e.type));
    for (const type of ["apply", "rollback", "mode.changed", "command", "decision.step"])
      expect(types).toContain(type);
    const spec = safetySpecOf(config);
    expect(new SafetyMonitor(spec).checkAll(run!.events).violations).toEqual([]);
    expect(checkTrailOffline(spec, run!.events)).toEqual({});
  });

  it("the v1 solver artifact resumes where it stopped", () => {
    const { artifact, best, next } = read("solver-v1.json");
    const solver = restoreSolver(artifact);
    expect(solver.best()).toEqual(best);
    const f = branin();
    for (const expected of next) {
      const trial = solver.ask({ max: 1 })![0]!;
      expect(trial.params).toEqual(expected);
      solver.tell({ id: trial.id, value: f.evaluate(trial.params) });
    }
  });
});
