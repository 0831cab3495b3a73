// A subscriber of `engine.events` may call the engine back (a monitor halts it on a violation).
// With onCommand set, that call drains the audit ring again while the first batch is still being
// handed out; every subscriber must still see the events once each, in sequence order.
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { createEngine } from "../src/engine/engine.js";
import { ManualClock } from "./support/engine-clock.js";

function run(options: { closeFromSubscriber: boolean }) {
  const clock = new ManualClock();
  const commands: string[] = [];
  const engine = createEngine({
    seed: 3,
    params: { x: { min: 0, max: 10, init: 5, maxDelta: 1 } },
    window: { digests: 1 },
    guardrails: { minIntervalMs: 0 },
    scheduler: clock,
    onCommand: (command) => commands.push(command),
  });
  // The first subscriber halts at the first apply, as monitorEngine does on a violation.
  engine.events.subscribe((event) => {
    if (event.type !== "apply" || engine.snapshot().mode === "halted") return;
    engine.halt("stop at the first apply");
    if (options.closeFromSubscriber) void engine.close();
  });
  const seen: AuditEvent[] = [];
  let completed = false;
  engine.events.subscribe({ next: (event) => seen.push(event), complete: () => (completed = true) });
  for (let i = 0; i < 6; i++) {
    clock.advanceBy(10);
    engine.observe({ objective: 1 + i, generation: engine.generation, timestamp: engine.now() });
  }
  clock.advanceBy(1000);
  engine.flushEvents();
  return { engine, seen, commands, completed };
}

describe("engine.events when a subscriber calls the engine back", () => {
  it("every subscriber sees each event once, in sequence order", async () => {
    const { engine, seen, commands } = run({ closeFromSubscriber: false });
    expect(commands).toEqual(["halt"]);
    const seqs = seen.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    const halt = seen.findIndex((e) => e.type === "command");
    expect(seen[halt - 1]!.type).toBe("apply");
    expect(seen.slice(halt + 1).some((e) => e.type === "apply")).toBe(false);
    await engine.close();
  });

  it("a close() from inside a subscriber completes events only after the queued events", () => {
    const { seen, completed } = run({ closeFromSubscriber: true });
    expect(completed).toBe(true);
    const seqs = seen.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(seen.some((e) => e.type === "command")).toBe(true);
  });
});
