import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { AUDIT_SCHEMA_VERSION, type AuditEvent, type DigestRejectedEvent } from "../src/audit/events.js";
import type { CliIo } from "../src/cli/io.js";
import { runCli } from "../src/cli/run-cli.js";
import { type EngineConfig, explicitEngineConfig, resolveEngineConfig } from "../src/engine/config.js";
import { DECISION_RULES } from "../src/engine/decision-rules.js";
import { checkDigest, DigestRejection, rejectionName } from "../src/engine/digest.js";
import { createEngine } from "../src/engine/engine.js";
import { decodeNumbers, encodeNumbers } from "../src/log/json-numbers.js";
import { auditEventOf, auditLogRecord, engineHeaderOf, engineLogHeader } from "../src/log/log-records.js";
import { openDecisionLog } from "../src/log/writer.js";
import { firstDifference } from "../src/replay/compare.js";
import { digestToReplay, type ReplayDigest } from "../src/replay/digest-input.js";
import { ReplayInputError, readReplayLog } from "../src/replay/read-log.js";
import { replay } from "../src/replay/replay.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";

const scratch = mkdtempSync(join(tmpdir(), "arqon-replay-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const base = { v: 2 as const, runId: "r", proposalId: -1, generation: 1 };

describe("exact JSON numbers", () => {
  it("round-trips NaN, ±Infinity and -0 through JSON, bit for bit", () => {
    const value = {
      a: Number.NaN,
      b: [Number.POSITIVE_INFINITY, -0, 0],
      c: { d: Number.NEGATIVE_INFINITY },
      e: "NaN",
    };
    const back = decodeNumbers(JSON.parse(JSON.stringify(encodeNumbers(value)))) as typeof value;
    expect(Number.isNaN(back.a)).toBe(true);
    expect(back.b[0]).toBe(Number.POSITIVE_INFINITY);
    expect(Object.is(back.b[1], -0)).toBe(true);
    expect(Object.is(back.b[2], 0)).toBe(true);
    expect(back.c.d).toBe(Number.NEGATIVE_INFINITY);
    // A string that happens to read "NaN" stays a string.
    expect(back.e).toBe("NaN");
  });

  it("round-trips any double (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.double()), (xs) => {
        const back = decodeNumbers(JSON.parse(JSON.stringify(encodeNumbers(xs)))) as number[];
        return back.length === xs.length && back.every((x, i) => Object.is(x, xs[i]));
      }),
    );
  });
});

describe("decision-log records of an engine", () => {
  it("keeps the config without live objects in the header, and recognises it", () => {
    const config: EngineConfig = {
      seed: 3,
      params: { x: { min: 0, max: 1 }, y: { min: 1, max: 10, scale: "log" } },
      scheduler: new ReplayClock(0),
    };
    const header = engineLogHeader(config, { startTime: 42, packageVersion: "1.2.3" });
    expect(header).toEqual({
      kind: "header",
      format: "arqon.engine",
      schema: AUDIT_SCHEMA_VERSION,
      packageVersion: "1.2.3",
      rules: DECISION_RULES,
      startTime: 42,
      names: ["x", "y"],
      config: { seed: 3, params: { x: { min: 0, max: 1 }, y: { min: 1, max: 10, scale: "log" } } },
      // Beside it, what the engine ran with: every default filled in, the live objects left out.
      resolved: explicitEngineConfig(resolveEngineConfig(config)),
    });
    expect(header.resolved).not.toHaveProperty("scheduler");
    expect(header.resolved).toMatchObject({ spsa: { a: "auto" }, window: { digests: 1, ms: 500 } });
    expect((header.resolved as unknown as EngineConfig).params.y!.init).toBeCloseTo(Math.sqrt(10), 12);
    expect(engineHeaderOf(JSON.parse(JSON.stringify(header)))).toEqual(header);
    expect(engineHeaderOf({ kind: "header", format: "arqon.solver" })).toBeUndefined();
  });

  it("wraps an event so that the log can own seq, and reads it back exactly", () => {
    const event: AuditEvent = {
      ...base,
      seq: 7,
      time: 5,
      type: "window.closed",
      count: 0,
      value: Number.NaN,
      timedOut: true,
      openedAt: -0,
    };
    const record = auditLogRecord(event);
    expect(record.kind).toBe("audit");
    const back = auditEventOf(JSON.parse(JSON.stringify(record)));
    expect(firstDifference(event, back)).toBeUndefined();
    // Also accepted: a log entry wrapping it, or the bare event; anything else is not an event.
    expect(auditEventOf({ seq: 3, segment: "s", offset: 0, record })).toEqual(back);
    expect(auditEventOf(event)).toEqual(event);
    expect(auditEventOf({ kind: "segment", seq: 9 })).toBeUndefined();
  });
});

describe("firstDifference", () => {
  it("compares bit for bit, names the first differing field and ignores runId", () => {
    const a = { type: "apply", runId: "a", values: { x: 1, y: -0 }, seq: 1 };
    expect(firstDifference(a, { ...a, runId: "b" })).toBeUndefined();
    expect(firstDifference(a, { ...a, values: { x: 1, y: 0 } })).toBe("values.y");
    expect(firstDifference(a, { ...a, values: { x: 1 } })).toBe("values.y");
    expect(firstDifference({ v: Number.NaN }, { v: Number.NaN })).toBeUndefined();
    expect(firstDifference(a, null)).toBe("(event)");
  });
});

describe("rebuilding logged digests", () => {
  const rejected = (
    reason: DigestRejectedEvent["reason"],
    value: number,
    digestGeneration: number,
    extra = {},
  ): DigestRejectedEvent => ({
    ...base,
    seq: 1,
    time: 100,
    type: "digest.rejected",
    reason,
    value,
    digestGeneration,
    ...extra,
  });
  // The same check the engine runs: generation 1, last apply at 90, now 2000, settle 5 ms,
  // max age 1000 ms, max skew 10 ms.
  const verdict = (digest: object) => rejectionName(checkDigest(digest, 1, 1500, 2000, 5, 1000, 10));

  it("gives back an accepted digest with exactly its fields", () => {
    const digest = digestToReplay({
      ...base,
      seq: 1,
      time: 100,
      type: "digest.accepted",
      objective: 3,
      digestGeneration: 1,
      timestamp: 1999,
      errorRate: 0.5,
    });
    expect(digest).toEqual({ digest: { objective: 3, generation: 1, timestamp: 1999, errorRate: 0.5 } });
    expect(verdict((digest as ReplayDigest).digest as object)).toBe("Accepted");
  });

  it("rebuilds rejections so that the engine refuses them for the same reason and records the same numbers", () => {
    const cases: [DigestRejectedEvent, string][] = [
      [rejected("Malformed", Number.NaN, 1), "Malformed"],
      [rejected("Malformed", 2, 1.5), "Malformed"],
      [rejected("Malformed", 2, 1), "Malformed"],
      [rejected("NonFiniteObjective", Number.POSITIVE_INFINITY, 1), "NonFiniteObjective"],
      [rejected("WrongGeneration", 2, 0), "WrongGeneration"],
      [rejected("Settling", 2, 1, { captured: true, timestamp: 1502 }), "Settling"],
      [rejected("TooOld", 2, 1, { captured: true, timestamp: 500 }), "TooOld"],
      [rejected("FromFuture", 2, 1, { captured: true, timestamp: 2500 }), "FromFuture"],
    ];
    for (const [event, reason] of cases) {
      const digest = (digestToReplay(event) as ReplayDigest).digest as Record<string, unknown>;
      expect(verdict(digest)).toBe(reason);
      // The numbers the engine would record (a non-number objective is recorded as NaN).
      const recorded = typeof digest.objective === "number" ? digest.objective : Number.NaN;
      expect(Object.is(recorded, event.value)).toBe(true);
    }
    expect(DigestRejection.Settling).toBe(4);
  });

  it("says why an uncaptured timing rejection cannot be rebuilt", () => {
    expect(digestToReplay(rejected("Settling", 2, 1))).toMatch(/capture was off/);
  });
});

/** Records of a real engine left alone on a virtual clock: its windows time out and SPSA stalls. */
async function idleRun(ms: number): Promise<{ records: unknown[]; events: AuditEvent[] }> {
  const config: EngineConfig = {
    seed: 5,
    params: { x: { min: 0, max: 10, init: 5, maxDelta: 1 } },
    window: { digests: 5, ms: 300 },
  };
  const clock = new ReplayClock(2_000);
  const engine = createEngine({ ...config, scheduler: clock });
  const events: AuditEvent[] = [];
  engine.events.subscribe((e) => events.push(e));
  clock.advanceTo(2_000 + ms);
  engine.flushEvents();
  await engine.close();
  return { records: [engineLogHeader(config, { startTime: 2_000 }), ...events.map(auditLogRecord)], events };
}

describe("replay of a real engine's timer-driven records", () => {
  it("reproduces timeouts and the stall at their logged times", async () => {
    const run = await idleRun(3_000);
    expect(run.events.map((e) => e.type)).toEqual(expect.arrayContaining(["eval.timeout", "spsa.stalled"]));
    expect(await replay(run.records)).toMatchObject({
      ok: true,
      records: run.events.length,
      runs: [{ run: 1, ok: true, records: run.events.length }],
    });
  });

  it("reads a log directory written by the decision-log writer", async () => {
    const run = await idleRun(1_000);
    const dir = join(scratch, "log-dir");
    const [header, ...rest] = run.records as [Record<string, unknown>, ...Record<string, unknown>[]];
    const writer = openDecisionLog({ dir, header: header as { kind: "header" }, fsync: "always" });
    for (const record of rest) writer.append(record);
    writer.close();
    const log = readReplayLog(dir);
    expect(log.events).toHaveLength(run.events.length);
    expect(log.indices[0]).toBe(1);
    expect(await replay(dir)).toMatchObject({
      ok: true,
      records: run.events.length,
      runs: [{ run: 1, ok: true, records: run.events.length }],
    });
  });

  it("refuses a log without an engine header", async () => {
    await expect(replay([{ kind: "header", format: "other" }])).rejects.toThrow(ReplayInputError);
    expect(() => readReplayLog([])).toThrow(ReplayInputError);
  });
});

describe("end to end: an engine writing its decision log through auditSink", () => {
  it("replays the log directory with arqon replay and explains one of its generations", async () => {
    const dir = join(scratch, "engine-log");
    const config: EngineConfig = {
      seed: 11,
      params: {
        x: { min: 0, max: 10, init: 2, maxDelta: 1 },
        y: { min: 1, max: 100, init: 50, maxDelta: 10 },
      },
      spsa: { a: "auto", c: 0.02, calibrationIterations: 3 },
      window: { digests: 4, ms: 400 },
      captureDigests: true,
    };
    const clock = new ReplayClock(500);
    const log = openDecisionLog({ dir, header: engineLogHeader(config, { startTime: 500 }) });
    const engine = createEngine({
      ...config,
      scheduler: clock,
      auditSink: (events) => {
        for (const event of events) log.append(auditLogRecord(event));
      },
    });
    for (let k = 1; k <= 2_000; k++) {
      clock.advanceTo(500 + 20 * k);
      const [x = 0, y = 0] = engine.values;
      engine.observe({
        objective: (x - 7) ** 2 + (Math.log(y) - 2) ** 2 + 0.001 * (k % 7),
        generation: engine.generation,
      });
    }
    await engine.close();
    log.close();
    const io = memoryIo();
    expect(await runCli(["replay", "engine-log"], io)).toBe(0);
    expect(io.out).toMatch(/^replay OK: \d+ records identical\n$/);
    const generation = engine.generation - 1;
    const explained = memoryIo();
    expect(await runCli(["explain", "engine-log", "--generation", String(generation)], explained)).toBe(0);
    expect(explained.out.startsWith(`generation ${generation}: `)).toBe(true);
  }, 60_000);
});

function memoryIo(): CliIo & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (text: string) => {
      io.out += text;
    },
    stderr: (text: string) => {
      io.err += text;
    },
    readStdin: async () => "",
    stdinIsTerminal: false,
    cwd: scratch,
    env: {},
  };
  return io;
}

const jsonl = (name: string, records: readonly unknown[]) => {
  const path = join(scratch, name);
  writeFileSync(path, records.map((r) => JSON.stringify(r)).join("\n"));
  return path;
};

describe("arqon replay", () => {
  it("exits 0 with the number of identical records", async () => {
    const run = await idleRun(3_000);
    jsonl("ok.jsonl", run.records);
    const io = memoryIo();
    expect(await runCli(["replay", "ok.jsonl"], io)).toBe(0);
    expect(io.out).toBe(`replay OK: ${run.events.length} records identical\n`);
  });

  it("exits 1 with the first divergence and the records before it", async () => {
    const run = await idleRun(3_000);
    const stall = run.events.findIndex((e) => e.type === "spsa.stalled");
    const records = run.records.map((r, index) =>
      index === stall + 1
        ? { ...(r as object), event: { ...(r as { event: object }).event, stalledFor: 99 } }
        : r,
    );
    jsonl("bad.jsonl", records);
    const io = memoryIo();
    expect(await runCli(["replay", "bad.jsonl", "--context", "2"], io)).toBe(1);
    const lines = io.out.trimEnd().split("\n");
    expect(lines[0]).toBe(
      `replay DIVERGED at record ${stall + 1} (seq ${run.events[stall]!.seq}, spsa.stalled): stalledFor`,
    );
    expect(lines.filter((l) => l.startsWith("  before"))).toHaveLength(2);
    expect(lines.at(-2)).toContain('"stalledFor":99');
    expect(lines.at(-1)).toContain('"stalledFor":3');
    expect(io.err).toContain("diverged at record");
    const json = memoryIo();
    expect(await runCli(["replay", "bad.jsonl", "--json"], json)).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({
      ok: false,
      divergence: { index: stall + 1, reason: "stalledFor", actual: { stalledFor: 3 } },
    });
  });

  it("reports a missing log and a missing argument as usage errors", async () => {
    const io = memoryIo();
    expect(await runCli(["replay", "nowhere.jsonl"], io)).toBe(2);
    expect(io.err).toContain("nowhere.jsonl");
    expect(await runCli(["replay"], memoryIo())).toBe(2);
    expect(await runCli(["replay", "a", "b"], memoryIo())).toBe(2);
  });
});
