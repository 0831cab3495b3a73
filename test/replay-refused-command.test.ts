/**
 * A command refused after its record was written (its `onCommand` hook threw) is followed by a
 * `command.refused` record: a replay refuses it too, and `explain` says it took no effect. The
 * logged-engine path (scripted timings) is in test/engine-log.test.ts; this is a host's own log
 * of the events, replayed by due times.
 */
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { createEngine } from "../src/engine/engine.js";
import { auditLogRecord, engineLogHeader } from "../src/log/log-records.js";
import { Prng } from "../src/random/prng.js";
import { explain, renderExplanation } from "../src/replay/explain.js";
import { replay } from "../src/replay/replay.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { SERVICE_KNOBS, serviceCost } from "./support/engine-harness.js";

const START = 1000;

/** A host log (header and audit events, no timings) of a run whose first rollback was refused. */
async function hostLog(refuse: boolean): Promise<{ records: unknown[]; events: AuditEvent[] }> {
  const clock = new ReplayClock(START);
  const config = {
    seed: 11,
    runId: "host",
    params: SERVICE_KNOBS,
    spsa: { calibrationIterations: 4 },
    window: { digests: 5, ms: 500 },
    scheduler: clock,
    captureDigests: true,
  };
  let commands = 0;
  const engine = createEngine({
    ...config,
    onCommand: () => {
      if (refuse && commands++ === 0) throw new Error("store down");
    },
  });
  const events: AuditEvent[] = [];
  engine.events.subscribe((e) => events.push(e));
  const noise = Prng.fromSeed(3, 1);
  const drive = (from: number, ticks: number) => {
    for (let k = from; k < from + ticks; k++) {
      const time = START + k * 10;
      clock.advanceTo(time);
      engine.observe({
        objective: serviceCost(engine.values, noise),
        generation: engine.generation,
        timestamp: time,
      });
    }
  };
  drive(1, 300);
  if (refuse) expect(() => engine.rollback("op")).toThrow(/rollback not applied.*store down/);
  else expect(engine.rollback("op")).toBe(true);
  drive(301, 300);
  engine.flushEvents();
  await engine.close();
  const records = [engineLogHeader(config, { startTime: START }), ...events.map((e) => auditLogRecord(e))];
  return { records, events };
}

describe("a refused command in a host's log", () => {
  it("replays as refused, by due times, and explain says it took no effect", async () => {
    const { records, events } = await hostLog(true);
    const at = events.findIndex((e) => e.type === "command");
    expect(events[at + 1]).toMatchObject({
      type: "command.refused",
      command: "rollback",
      note: "store down",
    });
    expect(events.some((e) => e.type === "rollback")).toBe(false);
    const replayed = await replay(records as never);
    expect(replayed.ok, JSON.stringify(replayed)).toBe(true);

    const next = events.find((e, i) => i > at && (e.type === "apply" || e.type === "rollback"))!;
    const text = renderExplanation(explain(records as never, next.generation));
    expect(text).toContain('command: rollback "op"');
    expect(text).toContain("(refused, took no effect: store down)");
  });

  it("replays the same run with the command accepted as before", async () => {
    const { records, events } = await hostLog(false);
    expect(events.some((e) => e.type === "rollback")).toBe(true);
    expect((await replay(records as never)).ok).toBe(true);
  });
});
