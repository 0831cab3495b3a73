import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Script } from "node:vm";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { type ApplyEvent, AUDIT_SCHEMA_VERSION, type AuditEvent } from "../src/audit/events.js";
import { isBodyProblem, parseControlBody } from "../src/dashboard/control-request.js";
import { DashboardModel } from "../src/dashboard/dashboard-model.js";
import { stateValueName } from "../src/dashboard/engine-source.js";
import { DASHBOARD_SCRIPT } from "../src/dashboard/page-script.js";
import { parseAuditJsonl, RecordingError, recordedSource } from "../src/dashboard/recorded-source.js";
import { RecordingTail } from "../src/dashboard/recording-tail.js";
import { allowedHost, allowedOrigin, checkBearer } from "../src/dashboard/request-guard.js";
import type { DashboardView } from "../src/dashboard/source.js";
import { formatSseMessage, parseSseChunk } from "../src/dashboard/sse.js";
import { openDecisionLog } from "../src/log/writer.js";

const base = { v: AUDIT_SCHEMA_VERSION, runId: "r", generation: 0, proposalId: -1 } as const;
let seq = 0;
const windowAt = (time: number, value: number): AuditEvent => ({
  ...base,
  seq: ++seq,
  time,
  type: "window.closed",
  count: 5,
  value,
  timedOut: false,
  openedAt: time - 100,
});
const applyAt = (time: number, kind: ApplyEvent["kind"]): AuditEvent => ({
  ...base,
  seq: ++seq,
  time,
  type: "apply",
  kind,
});
const view = (generation: number, values: Record<string, number> | null): DashboardView => ({
  source: "live",
  title: "t",
  names: ["x"],
  time: generation * 10,
  generation,
  values,
  mode: "normal",
  reasons: [],
  phase: null,
  statechart: {},
  iteration: null,
  units: {},
});

describe("DashboardModel measured baseline", () => {
  const at = (generation: number, event: AuditEvent): AuditEvent => ({ ...event, generation }) as AuditEvent;
  const applyValues = (time: number, generation: number, kind: ApplyEvent["kind"], x: number): AuditEvent =>
    ({ ...applyAt(time, kind), generation, values: { x } }) as AuditEvent;
  /** An operator's rollback at `generation` to the baseline taken at `restored`, writing x. */
  const rollbackTo = (time: number, generation: number, restored: number, x: number): AuditEvent => ({
    ...base,
    seq: ++seq,
    time,
    generation,
    type: "rollback",
    reason: "manual",
    restoredGeneration: restored,
    values: { x },
  });

  it("is the mean of the windows measured at the baseline configuration, never another window", () => {
    const model = new DashboardModel(10);
    model.addSample(view(0, { x: 5 })); // the values live when the dashboard attached
    expect(model.baseline()).toBeNull();
    model.addEvent({ ...base, seq: ++seq, time: 0, type: "baseline.set" });
    model.addEvent(windowAt(100, 10)); // generation 0: the baseline
    model.addEvent(applyValues(100, 1, "plus", 6));
    model.addEvent(at(1, windowAt(200, 100))); // a perturbed point: not the baseline
    model.addEvent(applyValues(200, 2, "centre", 5)); // back at the baseline values
    model.addEvent(at(2, windowAt(300, 14)));
    model.addEvent(at(2, windowAt(350, Number.NaN))); // an empty window carries no value
    model.addEvent(applyValues(300, 3, "centre", 5.5)); // the centre moved
    model.addEvent(at(3, windowAt(400, 1)));
    expect(model.baseline()).toEqual({ value: 12, windows: 2, generation: 0 });
  });

  it("neither charts nor counts a window that measured the constraint margin", () => {
    const model = new DashboardModel(10);
    model.addSample(view(0, { x: 5 }));
    model.addEvent({ ...base, seq: ++seq, time: 0, type: "baseline.set" });
    model.addEvent(windowAt(100, 10));
    // Constraint-first: these aggregated −constraintMargin (or a mix), not the objective.
    model.addEvent({ ...windowAt(200, -0.3), negatedMargin: true } as AuditEvent);
    model.addEvent({ ...windowAt(300, 0.2), mixedMeasure: true } as AuditEvent);
    model.addEvent(windowAt(400, 14));
    expect(model.objective().map((p) => p.value)).toEqual([10, 14]);
    expect(model.baseline()).toEqual({ value: 12, windows: 2, generation: 0 });
  });

  it("counts windows after a rollback, whose values are the baseline's", () => {
    const model = new DashboardModel(10);
    model.addEvent({ ...base, seq: ++seq, time: 0, generation: 4, type: "baseline.set" });
    model.addEvent(applyValues(10, 5, "plus", 9));
    model.addEvent(at(5, windowAt(20, 50)));
    expect(model.baseline()).toBeNull(); // nothing measured at the baseline yet: no line at all
    model.addEvent(rollbackTo(30, 6, 4, 3));
    model.addEvent(at(6, windowAt(40, 8)));
    model.addEvent(applyValues(50, 7, "centre", 3)); // the same values again
    model.addEvent(at(7, windowAt(60, 10)));
    expect(model.baseline()).toEqual({ value: 9, windows: 2, generation: 4 });
  });

  it("does not take the values of a baseline set elsewhere for the live ones (a resumed leader)", () => {
    const model = new DashboardModel(10);
    // The engine's first event, then its snapshot: resumed at tuned values, far from the baseline.
    model.addEvent({ ...base, seq: ++seq, time: 0, type: "baseline.set", values: { x: 16 } } as AuditEvent);
    model.addSample(view(0, { x: 91.6 }));
    model.addEvent(windowAt(100, 20)); // measured at 91.6: not the baseline's
    expect(model.baseline()).toBeNull();
    expect(model.samples().map((s) => s.values)).toEqual([{ x: 91.6 }]);
    model.addEvent(rollbackTo(150, 1, 0, 16));
    model.addEvent(at(1, windowAt(200, 24)));
    expect(model.baseline()).toEqual({ value: 24, windows: 1, generation: 0 });
  });

  it("recognises the baseline when attached after it was taken, from the view's baseline generation", () => {
    const model = new DashboardModel(10);
    model.addSample({ ...view(3, { x: 5 }), baselineGeneration: 3 }); // live values are the baseline's
    model.addEvent(at(3, windowAt(100, 6)));
    model.addEvent(applyValues(100, 4, "plus", 6));
    model.addEvent(at(4, windowAt(200, 50)));
    model.addEvent(applyValues(200, 5, "centre", 5)); // the baseline values again
    model.addEvent(at(5, windowAt(300, 8)));
    expect(model.baseline()).toEqual({ value: 7, windows: 2, generation: 3 });
  });

  it("learns a recording's baseline values from the calibration's centre, until the first step", () => {
    const model = new DashboardModel(20);
    model.addEvent({ ...base, seq: 1, time: 0, type: "baseline.set" }); // the run's start: no values known
    model.addEvent(windowAt(100, 10));
    model.addEvent(applyValues(100, 1, "plus", 6));
    model.addEvent(at(1, windowAt(200, 40)));
    model.addEvent(applyValues(200, 2, "centre", 5)); // calibrating: the centre is the start
    model.addEvent(at(2, windowAt(300, 12)));
    model.addEvent({
      ...base,
      seq: ++seq,
      time: 300,
      generation: 2,
      type: "decision.step",
      iteration: 0,
      a: 1,
      c: 1,
      clipped: 0,
      step: {},
    });
    model.addEvent(applyValues(300, 3, "centre", 5.5)); // after a step: not the baseline
    model.addEvent(at(3, windowAt(400, 1)));
    expect(model.baseline()).toEqual({ value: 11, windows: 2, generation: 0 });
  });

  it("starts over with the next run of a recording, whose generations count from 0 again", () => {
    const model = new DashboardModel(50);
    const event = (n: number, e: AuditEvent, runId: string): AuditEvent => ({ ...e, seq: n, runId });
    // Run 1 calibrates around x = 5 and measures it at generation 2.
    model.addEvent(event(1, { ...base, seq: 0, time: 0, type: "baseline.set" }, "a"));
    model.addEvent(event(2, applyValues(100, 1, "plus", 6), "a"));
    model.addEvent(event(3, at(1, windowAt(200, 100)), "a"));
    model.addEvent(event(4, applyValues(200, 2, "centre", 5), "a"));
    model.addEvent(event(5, at(2, windowAt(300, 14)), "a"));
    expect(model.baseline()).toEqual({ value: 14, windows: 1, generation: 0 });
    // The engine restarted on its log, from x = 7: the same generation numbers, other values.
    model.addEvent(event(1, { ...base, seq: 0, time: 1000, type: "baseline.set" }, "a"));
    model.addEvent(event(2, applyValues(1100, 1, "plus", 9), "a"));
    model.addEvent(event(3, at(1, windowAt(1200, 50)), "a"));
    model.addEvent(event(4, applyValues(1200, 2, "centre", 7), "a"));
    model.addEvent(event(5, at(2, windowAt(1300, 20)), "a"));
    expect(model.baseline()).toEqual({ value: 20, windows: 1, generation: 0 });
  });

  it("survives the trimming of the history", () => {
    const model = new DashboardModel(2);
    model.addEvent({ ...base, seq: ++seq, time: 0, type: "baseline.set" });
    model.addEvent(windowAt(100, 3));
    model.addEvent(applyValues(100, 1, "plus", 1));
    for (let i = 0; i < 20; i++) model.addEvent(at(1, windowAt(200 + i, 50)));
    expect(model.events()).toHaveLength(2);
    expect(model.baseline()).toEqual({ value: 3, windows: 1, generation: 0 });
  });

  it("keeps the untuned twin's points, bounded", () => {
    const model = new DashboardModel(3);
    for (let i = 0; i < 10; i++) model.addTwin({ time: i, value: i * 2 });
    expect(model.twin()).toEqual([
      { time: 7, value: 14 },
      { time: 8, value: 16 },
      { time: 9, value: 18 },
    ]);
  });
});

describe("DashboardModel history", () => {
  it("keeps exactly the latest min(n, limit) events in order (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 300 }), (limit, n) => {
        const model = new DashboardModel(limit);
        const events = Array.from({ length: n }, (_, i) => windowAt(i, i));
        for (const event of events) model.addEvent(event);
        expect(model.events()).toEqual(events.slice(Math.max(0, n - limit)));
      }),
    );
  });

  it("records a parameter sample only when the generation or the values change", () => {
    const model = new DashboardModel(3);
    expect(model.addSample(view(0, null))).toBeUndefined();
    expect(model.addSample(view(0, { x: 1 }))).toEqual({ time: 0, generation: 0, values: { x: 1 } });
    expect(model.addSample(view(0, { x: 1 }))).toBeUndefined();
    expect(model.addSample(view(1, { x: 1 }))?.generation).toBe(1);
    for (let g = 2; g < 10; g++) model.addSample(view(g, { x: g }));
    expect(model.samples().map((s) => s.generation)).toEqual([7, 8, 9]);
  });

  it("turns events that carry their values (apply, rollback) into parameter samples", () => {
    const model = new DashboardModel(10);
    const apply = { ...applyAt(50, "plus"), generation: 1, values: { x: 3 } };
    expect(model.addEvent(apply)).toEqual({ time: 50, generation: 1, values: { x: 3 } });
    expect(model.addEvent(applyAt(60, "minus"))).toBeUndefined();
    expect(model.samples()).toHaveLength(1);
  });

  it("rejects a limit that is not a whole number ≥ 1", () => {
    expect(() => new DashboardModel(0)).toThrow(RangeError);
    expect(() => new DashboardModel(2.5)).toThrow(RangeError);
  });
});

/** Everything a recording holds now (the first read of a tail). */
async function readRecording(path: string): Promise<AuditEvent[]> {
  return (await RecordingTail.open(path)).poll();
}

describe("recordings", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const lines = (events: readonly object[]) => `${events.map((e) => JSON.stringify(e)).join("\n")}\n`;

  it("parses JSON lines, skipping blank ones, and names the file and line of a bad one", () => {
    const good = { ...base, seq: 1, time: 0, type: "baseline.set" };
    expect(parseAuditJsonl(`${JSON.stringify(good)}\n\n`, "f.jsonl")).toEqual([good]);
    expect(() => parseAuditJsonl(`${JSON.stringify(good)}\n{oops`, "f.jsonl")).toThrow(
      /f\.jsonl:2: not JSON/,
    );
    expect(() => parseAuditJsonl("[1]", "f.jsonl")).toThrow(/f\.jsonl:1: expected an audit event object/);
    expect(() => parseAuditJsonl('{"type":3,"seq":1,"time":0}', "f")).toThrow(/"type" must be a string/);
    expect(() => parseAuditJsonl('{"type":"apply","time":0}', "f")).toThrow(/"seq" and "time"/);
  });

  it("reads a directory's .jsonl files in name order and refuses an empty or missing path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arqon-dash-"));
    dirs.push(dir);
    writeFileSync(join(dir, "b.jsonl"), lines([{ ...base, seq: 2, time: 5, type: "baseline.set" }]));
    writeFileSync(join(dir, "a.jsonl"), lines([{ ...base, seq: 1, time: 0, type: "baseline.set" }]));
    writeFileSync(join(dir, "notes.txt"), "ignored");
    expect((await readRecording(dir)).map((e) => e.seq)).toEqual([1, 2]);
    const empty = mkdtempSync(join(tmpdir(), "arqon-dash-"));
    dirs.push(empty);
    await expect(readRecording(empty)).rejects.toThrow(RecordingError);
    await expect(readRecording(join(empty, "missing.jsonl"))).rejects.toThrow(/cannot read/);
  });

  it("reads the audit events of a decision-log directory, with the log's sequence numbers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arqon-dash-"));
    dirs.push(dir);
    const log = openDecisionLog({ dir, header: { kind: "header", engine: "test" } });
    const { seq: _drop, ...event } = windowAt(100, 4);
    log.append(event);
    log.append({ kind: "note", text: "not an audit event" });
    log.append({ ...base, time: 200, type: "apply", kind: "plus", values: { x: 1 } });
    log.close();
    const events = await readRecording(dir);
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, "window.closed"],
      [3, "apply"],
    ]);
    expect(recordedSource(events, dir).view().values).toEqual({ x: 1 });
  });

  it("derives the view from the events and replays them to each subscriber, without control", () => {
    const events: AuditEvent[] = [
      { ...base, seq: 1, time: 0, type: "baseline.set" },
      {
        ...base,
        seq: 2,
        time: 10,
        generation: 3,
        type: "mode.changed",
        from: "normal",
        to: "frozen",
        reasons: ["spike"],
      },
      {
        ...base,
        seq: 3,
        time: 20,
        generation: 4,
        type: "apply",
        kind: "plus",
        values: { x: 2 },
      } as AuditEvent,
    ];
    const source = recordedSource(events, "rec.jsonl", 2);
    expect(source.control).toBeUndefined();
    expect(source.view()).toMatchObject({
      source: "recorded",
      title: "r (rec.jsonl)",
      mode: "frozen",
      reasons: ["spike"],
      generation: 4,
      time: 20,
      values: { x: 2 },
      names: ["x"],
    });
    const seen: number[] = [];
    source.subscribe((e) => seen.push(e.seq));
    expect(seen).toEqual([2, 3]); // only the kept (latest) events
    expect(recordedSource(events.slice(1, 2), "r").view().mode).toBe("frozen");
    expect(recordedSource(events.slice(2), "r").view().mode).toBe("unknown");
  });
});

describe("SSE framing", () => {
  it("frames a named event with an id and one line of JSON, and parses it back (property)", () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.nat(),
        fc.constantFrom("audit", "snapshot", "init"),
        (data, id, name) => {
          const text = formatSseMessage(name, data, id);
          expect(text.endsWith("\n\n")).toBe(true);
          expect(text.split("\n").filter((l) => l.startsWith("data:"))).toHaveLength(1);
          const { messages, rest } = parseSseChunk(`: heartbeat\n\n${text}event: half`);
          expect(rest).toBe("event: half");
          expect(messages).toHaveLength(1);
          expect(messages[0]!.event).toBe(name);
          expect(messages[0]!.id).toBe(String(id));
          expect(JSON.parse(messages[0]!.data)).toEqual(JSON.parse(JSON.stringify(data)));
        },
      ),
    );
  });

  it("refuses an event name with a line break (it would forge fields)", () => {
    expect(() => formatSseMessage("a\ndata: x", 1)).toThrow(RangeError);
  });
});

describe("request guard", () => {
  it("accepts only this server's loopback host and origin", () => {
    expect(allowedHost("127.0.0.1:8080", 8080)).toBe(true);
    expect(allowedHost("localhost:8080", 8080)).toBe(true);
    expect(allowedHost("localhost:8081", 8080)).toBe(false);
    expect(allowedHost("evil.example:8080", 8080)).toBe(false);
    expect(allowedHost(undefined, 8080)).toBe(false);
    expect(allowedOrigin(undefined, 8080)).toBe(true);
    expect(allowedOrigin("http://localhost:8080", 8080)).toBe(true);
    expect(allowedOrigin("http://evil.example", 8080)).toBe(false);
    expect(allowedOrigin("null", 8080)).toBe(false);
  });

  it("tells a missing bearer token (401) from a wrong one (403)", () => {
    const token = "0123456789abcdef0123456789abcdef";
    expect(checkBearer(`Bearer ${token}`, token)).toBe(0);
    expect(checkBearer(`bearer  ${token} `, token)).toBe(0);
    expect(checkBearer(undefined, token)).toBe(401);
    expect(checkBearer(`Basic ${token}`, token)).toBe(401);
    expect(checkBearer("Bearer nope", token)).toBe(403);
    expect(checkBearer(`Bearer ${token.slice(0, -1)}0`, token)).toBe(403);
  });
});

describe("control bodies", () => {
  it("accepts the one text field of each action, trimmed", () => {
    expect(parseControlBody("halt", '{"reason":" stop "}')).toEqual({ action: "halt", reason: "stop" });
    expect(parseControlBody("reset", '{"acknowledge":"ops"}')).toEqual({
      action: "reset",
      acknowledge: "ops",
    });
    expect(parseControlBody("rollback", '{"reason":"bad"}')).toEqual({ action: "rollback", reason: "bad" });
  });

  it("names the field and the reason of every refusal", () => {
    const problem = (action: "halt" | "reset", body: string) => {
      const result = parseControlBody(action, body);
      expect(isBodyProblem(result)).toBe(true);
      return result;
    };
    expect(problem("halt", "{")).toEqual({ field: "(body)", reason: "not valid JSON" });
    expect(problem("halt", "[]")).toEqual({ field: "(body)", reason: "expected a JSON object" });
    expect(problem("halt", "{}")).toEqual({ field: "reason", reason: "required, a string" });
    expect(problem("halt", '{"reason":"  "}')).toEqual({ field: "reason", reason: "must not be empty" });
    expect(problem("reset", '{"acknowledge":"\\u200b"}')).toEqual({
      field: "acknowledge",
      reason: "must have a visible character (spaces and zero-width ones name nobody)",
    });
    expect(problem("reset", '{"reason":"x"}')).toEqual({ field: "reason", reason: "unknown field" });
    expect(problem("reset", '{"acknowledge":5}')).toEqual({
      field: "acknowledge",
      reason: "required, a string",
    });
    expect(problem("halt", JSON.stringify({ reason: "x".repeat(501) }))).toMatchObject({ field: "reason" });
  });
});

describe("page script and state names", () => {
  it("is a syntactically valid classic script", () => {
    expect(() => new Script(DASHBOARD_SCRIPT, { filename: "app.js" })).not.toThrow();
  });

  it("names nested and parallel state values", () => {
    expect(stateValueName("idle")).toBe("idle");
    expect(stateValueName({ cycle: "plus" })).toBe("cycle.plus");
    expect(stateValueName({ a: { b: "c" }, d: "e" })).toBe("a.b.c, d.e");
  });
});
