// A logged engine hands pending audit events to `events` subscribers while it makes a command
// durable. A subscriber that calls the engine then (as monitorEngine does: halt on a violation)
// must neither make the command fail nor leave a log that replays differently.
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { createLoggedEngine } from "../src/log/engine-log.js";
import { replay } from "../src/replay/replay.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { tempLogDirs } from "./support/log-dir.js";

const logDir = tempLogDirs();

type Reaction = "halt" | "halt without a reason" | "rollback" | "observe";

/** A logged engine whose subscriber reacts to the first apply it is handed, then a command. */
async function runReacting(reaction: Reaction) {
  const dir = logDir();
  const clock = new ReplayClock(0);
  const { engine, close } = createLoggedEngine(
    {
      seed: 1,
      params: { pool: { min: 2, max: 64, init: 16, maxDelta: 4 } },
      window: { digests: 1 },
      scheduler: clock,
    },
    { dir, flushMs: 5 },
  );
  const seen: AuditEvent[] = [];
  let armed = false;
  engine.events.subscribe((event) => {
    seen.push(event);
    if (!armed || event.type !== "apply") return;
    armed = false;
    if (reaction === "halt") engine.halt("alert on apply");
    else if (reaction === "halt without a reason") engine.halt();
    else if (reaction === "rollback") engine.rollback("alert on apply");
    else engine.observe({ objective: 12, generation: engine.generation });
  });
  clock.advanceTo(100);
  engine.observe({ objective: 10, generation: engine.generation }); // the plus point is applied
  armed = true;
  // Before the scheduled drain: the command delivers the apply to the subscriber itself.
  clock.advanceTo(110);
  let error: unknown;
  try {
    engine.setBaseline();
  } catch (caught) {
    error = caught;
  }
  const generation = engine.generation;
  const mode = engine.mode;
  await close();
  return { dir, error, seen, generation, mode };
}

describe("a command whose delivery makes a subscriber call the engine", () => {
  for (const reaction of ["halt", "halt without a reason", "rollback", "observe"] as const) {
    it(`takes effect, and its log replays, when the subscriber reacts with ${reaction}`, async () => {
      const { dir, error, seen, mode } = await runReacting(reaction);
      expect(error).toBeUndefined();
      if (reaction.startsWith("halt")) expect(mode).toBe("halted");
      const command = seen.find((e) => e.type === "command" && e.command === "setBaseline");
      expect(command).toBeDefined();
      // The command took effect: its baseline record follows it.
      expect(seen.some((e) => e.type === "baseline.set" && e.seq > command!.seq)).toBe(true);
      // The reaction happened too, and the log tells the same story as a replay of it.
      expect(
        seen.some((e) => e.seq > command!.seq && (e.type === "command" || e.type === "digest.accepted")),
      ).toBe(true);
      const result = await replay(dir);
      expect(result.ok ? "" : JSON.stringify(result.divergence)).toBe("");
    });
  }

  it("hands the subscriber every event once, in sequence order", async () => {
    const { seen } = await runReacting("halt");
    const seqs = seen.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
  });
});

/** The same, with the reaction in the logged engine's own audit sink, called while the command is made durable. */
async function runReactingInSink(reaction: "halt" | "halt without a reason" | "rollback") {
  const dir = logDir();
  const clock = new ReplayClock(0);
  let armed = false;
  const sinkSeqs: number[] = [];
  const sinkErrors: unknown[] = [];
  let engineOf: { halt(reason?: string): void; rollback(reason: string): boolean } | undefined;
  const { engine, close } = createLoggedEngine(
    {
      seed: 1,
      params: { pool: { min: 2, max: 64, init: 16, maxDelta: 4 } },
      window: { digests: 1 },
      scheduler: clock,
      auditSink: (batch: readonly AuditEvent[]) => {
        for (const event of batch) {
          sinkSeqs.push(event.seq);
          if (!armed || event.type !== "apply") continue;
          armed = false;
          try {
            if (reaction === "halt") engineOf!.halt("sink saw an apply");
            else if (reaction === "halt without a reason") engineOf!.halt();
            else engineOf!.rollback("sink saw an apply");
          } catch (error) {
            sinkErrors.push(error);
          }
        }
      },
    },
    { dir, flushMs: 5 },
  );
  engineOf = engine;
  const seen: AuditEvent[] = [];
  engine.events.subscribe((event) => seen.push(event));
  clock.advanceTo(100);
  engine.observe({ objective: 10, generation: engine.generation });
  armed = true;
  clock.advanceTo(110);
  engine.setBaseline(); // its delivery hands the sink the apply
  const mode = engine.mode;
  clock.advanceTo(200);
  engine.flushEvents();
  await close();
  return { dir, seen, sinkSeqs, sinkErrors, mode };
}

describe("a command whose durability makes the audit sink call the engine", () => {
  it("runs the sink's halt right after the command took effect: every event once, in order, and the log replays", async () => {
    const { dir, seen, sinkSeqs, mode } = await runReactingInSink("halt");
    expect(mode).toBe("halted");
    const seqs = seen.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    // Before, the sink was handed the batch it was being handed again, from inside its own call.
    expect(new Set(sinkSeqs).size).toBe(sinkSeqs.length);
    const order = seen.map((e) => (e.type === "command" ? `command ${e.command}` : e.type));
    const at = order.indexOf("command setBaseline");
    expect(order.slice(at, at + 4)).toEqual([
      "command setBaseline",
      "baseline.set",
      "command halt",
      "mode.changed",
    ]);
    const result = await replay(dir);
    expect(result.ok ? "" : JSON.stringify(result.divergence)).toBe("");
  });

  it("runs the sink's halt that gives no reason too, as halted by the host", async () => {
    const { dir, seen, mode } = await runReactingInSink("halt without a reason");
    expect(mode).toBe("halted");
    const halt = seen.find((e) => e.type === "command" && e.command === "halt");
    expect(halt?.note).toBe("halted by the host");
    const result = await replay(dir);
    expect(result.ok ? "" : JSON.stringify(result.divergence)).toBe("");
  });

  it("refuses the sink's rollback, naming why, and the command and its log stand", async () => {
    const { dir, sinkErrors, seen } = await runReactingInSink("rollback");
    expect(String(sinkErrors[0])).toMatch(
      /rollback called from the audit sink while another command is made durable/,
    );
    expect(seen.filter((e) => e.type === "rollback")).toHaveLength(0);
    const result = await replay(dir);
    expect(result.ok ? "" : JSON.stringify(result.divergence)).toBe("");
  });
});
