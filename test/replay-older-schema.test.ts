import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { AUDIT_SCHEMA_VERSION } from "../src/audit/events.js";
import { createLoggedEngine, readDecisionLog, replay } from "../src/node.js";
import { tempLogDirs } from "./support/log-dir.js";

// A log written under audit schema 4 has no `remeasure` on its re-measured windows (schema 5 added
// it): replay must compare its events with today's as the same events.

const logDir = tempLogDirs();

describe("replay of a log written before window.closed had remeasure", () => {
  it("replays bit for bit once its events are those schema 4 wrote", async () => {
    const dir = logDir();
    const scheduler = new VirtualTimeScheduler();
    const { engine, close } = createLoggedEngine(
      {
        seed: 7,
        params: { batchSize: { min: 1, max: 512, init: 16, maxDelta: 16 } },
        window: { digests: 5, ms: 500 },
        scheduler,
      },
      { dir, flushMs: 50 },
    );
    for (let t = 20; t <= 8000; t += 20) {
      // Up to t only: the windows' time limits re-arm for ever, so a plain flush would not end.
      scheduler.maxFrames = t;
      scheduler.flush();
      // Now and then two huge outliers in a row, more than a window of 5's trimmed mean drops: their
      // window measured nothing, and the centre is measured again.
      const batch = engine.values[0]!;
      engine.observe({
        objective: t % 940 < 40 ? -1e9 : 400 / batch + batch / 24,
        generation: engine.generation,
      });
    }
    await close();

    const { header, records } = readDecisionLog(dir);
    const asSchema4 = records.map((entry) => {
      const r = entry.record as { kind?: string; event?: Record<string, unknown> };
      if (r.kind !== "audit" || r.event === undefined) return entry.record;
      const { remeasure: _remeasure, ...event } = r.event;
      return { ...r, event: { ...event, v: 4 } };
    });
    const remeasured = records.filter(
      (entry) => (entry.record as { event?: { remeasure?: unknown } }).event?.remeasure === true,
    ).length;
    expect(remeasured).toBeGreaterThan(0);
    expect((header as { schema?: unknown }).schema).toBe(AUDIT_SCHEMA_VERSION);

    const result = await replay({ header: { ...(header as object), schema: 4 }, records: asSchema4 });
    expect(result.ok).toBe(true);
  });
});

// Schema 8 added `shortWindows` and `digestSpacingMs` to `spsa.stalled`, and `field` and `problem`
// to a malformed digest's rejection: a schema-7 log of the same run has none of them, and still
// replays as the same events.
describe("replay of a log written before spsa.stalled had shortWindows", () => {
  it("replays bit for bit once its events are those schema 7 wrote", async () => {
    const dir = logDir();
    const scheduler = new VirtualTimeScheduler();
    const { engine, close } = createLoggedEngine(
      {
        seed: 7,
        params: { batchSize: { min: 1, max: 512, init: 16, maxDelta: 16 } },
        // Windows of 15 ms against a digest a second: the cycle stalls at every digest (kept at
        // 15 ms, as every engine that wrote schema 7 kept it).
        window: { digests: 5, ms: 15, stretch: false },
        scheduler,
      },
      { dir, flushMs: 50 },
    );
    for (let t = 1000; t <= 20_000; t += 1000) {
      scheduler.maxFrames = t;
      scheduler.flush();
      const batch = engine.values[0]!;
      engine.observe({ objective: 400 / batch + batch / 24, generation: engine.generation });
      if (t % 5000 === 0)
        engine.observe({ objective: String(batch) as never, generation: engine.generation });
    }
    await close();

    const { header, records } = readDecisionLog(dir);
    const named = records.filter(
      (entry) => (entry.record as { event?: { field?: unknown } }).event?.field === "objective",
    ).length;
    expect(named).toBe(4);
    const short = records.filter(
      (entry) => (entry.record as { event?: { shortWindows?: unknown } }).event?.shortWindows === true,
    ).length;
    expect(short).toBeGreaterThan(10);
    const asSchema7 = records.map((entry) => {
      const r = entry.record as { kind?: string; event?: Record<string, unknown> };
      if (r.kind !== "audit" || r.event === undefined) return entry.record;
      const {
        shortWindows: _short,
        digestSpacingMs: _spacing,
        field: _field,
        problem: _problem,
        ...event
      } = r.event;
      return { ...r, event: { ...event, v: 7 } };
    });
    expect((await replay({ header, records })).ok).toBe(true);
    const result = await replay({ header: { ...(header as object), schema: 7 }, records: asSchema7 });
    expect(result.ok).toBe(true);
    // Read as schema 8, the same log lacks the fields today's engine writes: that diverges.
    const unmarked = await replay({ header, records: asSchema7.map(withV(8)) });
    expect(unmarked.ok).toBe(false);
  });
});

function withV(v: number) {
  return (record: unknown) => {
    const r = record as { kind?: string; event?: Record<string, unknown> };
    return r.kind === "audit" && r.event !== undefined ? { ...r, event: { ...r.event, v } } : record;
  };
}
