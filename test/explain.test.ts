import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import type { CliIo } from "../src/cli/io.js";
import { runCli } from "../src/cli/run-cli.js";
import { auditLogRecord, engineLogHeader } from "../src/log/log-records.js";
import { explain, renderExplanation } from "../src/replay/explain.js";
import { ReplayInputError } from "../src/replay/read-log.js";

type Body = AuditEvent extends infer E
  ? E extends AuditEvent
    ? Omit<E, "v" | "runId" | "seq">
    : never
  : never;

/** A log of one SPSA iteration: plus (generation 1), minus (2, after one refusal), centre (3). */
function iterationLog(): { records: unknown[]; events: AuditEvent[] } {
  const bodies: Body[] = [
    { type: "baseline.set", time: 1000, generation: 0, proposalId: -1 },
    { type: "apply", kind: "plus", time: 1000, generation: 1, proposalId: 1, values: { x: 5.5, y: 20 } },
  ];
  const digests = (generation: number, from: number, objectives: number[]) => {
    for (const [k, objective] of objectives.entries()) {
      bodies.push({
        type: "digest.accepted",
        time: from + 10 * k,
        generation,
        proposalId: generation,
        objective,
        digestGeneration: generation,
        timestamp: from + 10 * k - 1,
      });
    }
  };
  digests(1, 1010, [10, 11, 12, 11, 10]);
  bodies.push({
    type: "window.closed",
    time: 1050,
    generation: 1,
    proposalId: 1,
    count: 5,
    value: 10.8,
    timedOut: false,
    openedAt: 1000,
  });
  bodies.push({
    type: "violation",
    time: 1060,
    generation: 1,
    proposalId: 2,
    violation: "MinInterval",
    param: -1,
    value: 1060,
    limit: 1100,
  });
  bodies.push({
    type: "apply",
    kind: "minus",
    time: 1100,
    generation: 2,
    proposalId: 2,
    values: { x: 4.5, y: 18 },
  });
  digests(2, 1110, [9, 9.5, 9, 9.5, 9]);
  bodies.push({
    type: "window.closed",
    time: 1150,
    generation: 2,
    proposalId: 2,
    count: 5,
    value: 9.2,
    timedOut: false,
    openedAt: 1100,
  });
  bodies.push({
    type: "decision",
    time: 1200,
    generation: 2,
    proposalId: 3,
    iteration: 0,
    outcome: "stepped",
    yPlus: 10.8,
    yMinus: 9.2,
    gradient: { x: 16, y: 8 },
  });
  bodies.push({
    type: "decision.step",
    time: 1200,
    generation: 2,
    proposalId: 3,
    iteration: 0,
    a: 0.01,
    c: 0.05,
    clipped: 1,
    step: { x: -0.05, y: -0.08 },
  });
  bodies.push({
    type: "apply",
    kind: "centre",
    time: 1200,
    generation: 3,
    proposalId: 3,
    values: { x: 4.5, y: 18.5 },
  });
  const events = bodies.map((b, k) => ({ ...b, v: 2, runId: "explain", seq: k + 1 }) as AuditEvent);
  const header = engineLogHeader(
    { seed: 1, params: { x: { min: 0, max: 10, init: 5 }, y: { min: 1, max: 100, init: 20 } } },
    { startTime: 1000 },
  );
  return { records: [header, ...events.map(auditLogRecord)], events };
}

describe("explain", () => {
  it("gives the chain of a centre apply: both windows with their digests, the gradient, the step, Tier 1 and the values", () => {
    const { records, events } = iterationLog();
    const x = explain(records, 3);
    const bySeq = (seq: number) => events[seq - 1];
    expect(x.generation).toBe(3);
    expect(x.change).toEqual(bySeq(19));
    expect(x.previousValues).toEqual({ x: 4.5, y: 18 });
    expect(x.values).toEqual({ x: 4.5, y: 18.5 });
    expect(x.decision).toMatchObject({ iteration: 0, yPlus: 10.8, yMinus: 9.2, gradient: { x: 16, y: 8 } });
    expect(x.step).toMatchObject({ a: 0.01, c: 0.05, clipped: 1, step: { x: -0.05, y: -0.08 } });
    expect(x.windows.map((w) => [w.role, w.generation, w.window.value, w.apply?.seq])).toEqual([
      ["plus", 1, 10.8, 2],
      ["minus", 2, 9.2, 10],
    ]);
    expect(x.windows[0]?.digests.map((d) => d.objective)).toEqual([10, 11, 12, 11, 10]);
    expect(x.windows[1]?.digests.map((d) => d.objective)).toEqual([9, 9.5, 9, 9.5, 9]);
    // The refusal belongs to the minus apply's span, not to the centre's.
    expect(x.violations).toEqual([]);
    expect(explain(records, 2).violations).toMatchObject([{ violation: "MinInterval", proposalId: 2 }]);
  });

  it("explains a perturbation by the window measured before it", () => {
    const { records } = iterationLog();
    const minus = explain(records, 2);
    expect(minus.decision).toBeUndefined();
    expect(minus.windows.map((w) => [w.role, w.generation])).toEqual([["measured", 1]]);
    expect(minus.previousValues).toEqual({ x: 5.5, y: 20 });
    expect(() => explain(records, 99)).toThrow(ReplayInputError);
  });

  it("gives the run's first change the values the run started from, as the header records them", () => {
    const { records } = iterationLog();
    const plus = explain(records, 1);
    expect(plus.previousValues).toEqual({ x: 5, y: 20 });
    expect(renderExplanation(plus)).toContain("x 5 → 5.5");
    // With records missing before it (a compacted log keeps only its last ones) an earlier change
    // may lie in the gap: the values before are then not known.
    const [header, , ...rest] = records;
    expect(explain([header, ...rest], 1).previousValues).toBeUndefined();
  });

  it("gives times as seconds since the run started, and the start as a date on a wall clock", () => {
    const { events } = iterationLog();
    const params = { x: { min: 0, max: 10, init: 5 }, y: { min: 1, max: 100, init: 20 } };
    const start = Date.UTC(2026, 10, 29, 18, 47, 30, 123);
    const header = engineLogHeader({ seed: 1, params }, { startTime: start });
    // The same run on a wall clock: every time moved by the start.
    const shifted = events.map((e) => {
      const moved = { ...e, time: e.time - 1000 + start } as AuditEvent;
      return e.type === "window.closed"
        ? ({ ...moved, openedAt: e.openedAt - 1000 + start } as AuditEvent)
        : moved;
    });
    const x = explain([header, ...shifted.map(auditLogRecord)], 3);
    // The structured explanation keeps engine-clock ms.
    expect(x.startTime).toBe(start);
    expect(x.change.time).toBe(start + 200);
    const lines = renderExplanation(x).split("\n");
    expect(lines.slice(0, 2)).toEqual([
      'generation 3: apply "centre", proposal 3, at +0.200 s',
      "  times: seconds since the run started, at 2026-11-29T18:47:30.123Z",
    ]);
    expect(lines[3]).toBe(
      "  window (plus, generation 1): 5 values, digests [10, 11, 12, 11, 10] → 10.8, from +0.000 s to +0.050 s",
    );
  });

  it("renders the chain as text, one fact per line", () => {
    const text = renderExplanation(explain(iterationLog().records, 3));
    expect(text.split("\n")).toEqual([
      'generation 3: apply "centre", proposal 3, at +0.200 s',
      "  times: seconds since the run started, at engine time 1000 ms (a virtual clock, not a date)",
      "  values: x 4.5 → 4.5, y 18 → 18.5",
      "  window (plus, generation 1): 5 values, digests [10, 11, 12, 11, 10] → 10.8, from +0.000 s to +0.050 s",
      "  window (minus, generation 2): 5 values, digests [9, 9.5, 9, 9.5, 9] → 9.2, from +0.100 s to +0.150 s",
      "  decision: iteration 0 (stepped), y+ 10.8, y− 9.2",
      "  gradient estimate ĝ (unit cube; each perturbation c_k, at most half its move budget): x 16, y 8",
      "  step: a_k 0.01, c_k 0.05, 1 clipped: x -0.05, y -0.08 (−a_k × ĝ smoothed by spsa.smoothing, each within its move budget less its perturbation)",
      "  Tier 1 accepted it: generation 2 → 3",
      "",
    ]);
  });
});

describe("explain: notes as text", () => {
  it("quotes a note as JSON, so quotes and line breaks inside it cannot be misread", () => {
    const x = explain(iterationLog().records, 3);
    const note = 'incident 42 "quoted"\nsecond line';
    const command = {
      v: x.change.v,
      runId: x.change.runId,
      seq: x.change.seq - 1,
      time: 1190,
      generation: 2,
      proposalId: -1,
      type: "command",
      command: "halt",
      note,
    } as const;
    const text = renderExplanation({ ...x, commands: [command], change: { ...x.change, note } });
    expect(text).toContain('  command: halt "incident 42 \\"quoted\\"\\nsecond line" at +0.190 s\n');
    expect(text.split("\n")[0]).toBe(
      'generation 3: apply "centre", proposal 3, at +0.200 s — "incident 42 \\"quoted\\"\\nsecond line"',
    );
  });
});

describe("explain: regime verdicts and warm starts", () => {
  it("shows a caused regression before its rollback, and a shift and a warm start before an apply", () => {
    const bodies: Body[] = [
      { type: "baseline.set", time: 0, generation: 0, proposalId: -1 },
      { type: "apply", kind: "centre", time: 100, generation: 1, proposalId: 1, values: { x: 6 } },
      {
        type: "regime.shift",
        time: 400,
        generation: 1,
        proposalId: -1,
        verdict: "caused",
        kinds: ["centre", "plus"],
        sigmas: 18,
        displacement: 0.75,
      },
      {
        type: "mode.changed",
        time: 500,
        generation: 1,
        proposalId: -1,
        from: "normal",
        to: "frozen",
        reasons: ["divergence"],
      },
      {
        type: "rollback",
        time: 500,
        generation: 2,
        proposalId: -1,
        reason: "safe-mode",
        restoredGeneration: 0,
        values: { x: 5 },
      },
      {
        type: "regime.shift",
        time: 900,
        generation: 2,
        proposalId: -1,
        verdict: "exogenous",
        kinds: ["centre", "plus", "minus"],
        sigmas: 600,
        displacement: 0,
      },
      {
        type: "homeostasis.recall",
        time: 1500,
        generation: 2,
        proposalId: -1,
        entry: 1,
        hits: 2,
        level: 0.125,
        distance: 3.5,
        target: { x: 8.5 },
      },
      {
        type: "homeostasis.refuted",
        time: 1550,
        generation: 2,
        proposalId: -1,
        entry: 1,
        recall: "probe",
        fall: 0.5,
        predictedFall: 4,
      },
      { type: "apply", kind: "centre", time: 1600, generation: 3, proposalId: 2, values: { x: 6 } },
    ];
    const events = bodies.map((b, k) => ({ ...b, v: 3, runId: "regime", seq: k + 1 }) as AuditEvent);
    const header = engineLogHeader(
      { seed: 1, params: { x: { min: 0, max: 10, init: 5 } } },
      { startTime: 0 },
    );
    const records = [header, ...events.map(auditLogRecord)];
    const rolledBack = explain(records, 2);
    expect(rolledBack.regimeShifts.map((r) => r.verdict)).toEqual(["caused"]);
    const text = renderExplanation(rolledBack);
    expect(text).toContain(
      "  regime: regression caused by the tuner (rise of 18σ seen at centre, plus, centre moved 0.75 maxDeltas since its onset) at +0.400 s: the governor's trip rolls it back",
    );
    const applied = renderExplanation(explain(records, 3));
    expect(applied).toContain(
      "  regime: environment shift (rise of 600σ seen at centre, plus, minus, centre moved 0 maxDeltas since its onset) at +0.900 s: followed, gain re-opened, not rolled back",
    );
    expect(applied).toContain(
      "  homeostasis: warm start towards remembered regime 1 (level 0.125, recalled 2 times), 3.5 maxDeltas away, at +1.500 s: x 8.5",
    );
    expect(applied).toContain(
      "  homeostasis: warm start towards remembered regime 1 stopped (probe): the objective fell 0.5 where a return predicted 4, at +1.550 s",
    );
  });
});

describe("arqon explain", () => {
  const scratch = mkdtempSync(join(tmpdir(), "arqon-explain-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const io = () => {
    const out = { text: "", err: "" };
    const cli: CliIo = {
      stdout: (t) => {
        out.text += t;
      },
      stderr: (t) => {
        out.err += t;
      },
      readStdin: async () => "",
      stdinIsTerminal: false,
      cwd: scratch,
      env: {},
    };
    return { cli, out };
  };
  writeFileSync(
    join(scratch, "run.jsonl"),
    iterationLog()
      .records.map((r) => JSON.stringify(r))
      .join("\n"),
  );

  it("prints the chain for --generation N, or the structure with --json", async () => {
    const text = io();
    expect(await runCli(["explain", "run.jsonl", "--generation", "3"], text.cli)).toBe(0);
    expect(text.out.text).toBe(renderExplanation(explain(join(scratch, "run.jsonl"), 3)));
    const json = io();
    expect(await runCli(["explain", "run.jsonl", "--generation", "2", "--json"], json.cli)).toBe(0);
    expect(JSON.parse(json.out.text)).toMatchObject({ generation: 2, change: { kind: "minus" } });
  });

  it("rejects a missing generation or one the log does not have", async () => {
    const missing = io();
    expect(await runCli(["explain", "run.jsonl"], missing.cli)).toBe(2);
    expect(missing.out.err).toContain("--generation is required");
    const absent = io();
    expect(await runCli(["explain", "run.jsonl", "--generation", "7"], absent.cli)).toBe(2);
    expect(absent.out.err).toContain("generation 7");
  });
});
