import { type SchedulerLike, VirtualAction, VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { createEngine } from "../src/engine/engine.js";

// A wall clock can step back (an NTP correction, a virtual machine resumed). The engine compares
// digest stamps and its pacing with the time of its last apply, which is then still to come.

/** Virtual time read through a wall clock `offset` ms off, which `step` moves back. */
function steppingClock(): {
  scheduler: SchedulerLike;
  virtual: VirtualTimeScheduler;
  step: (ms: number) => void;
} {
  const virtual = new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY);
  let offset = 1_700_000_000_000;
  const scheduler: SchedulerLike = {
    now: () => virtual.now() + offset,
    schedule: virtual.schedule.bind(virtual) as SchedulerLike["schedule"],
  };
  return { scheduler, virtual, step: (ms) => (offset -= ms) };
}

describe("an engine whose clock steps back", () => {
  it("keeps accepting digests and applying, within its pacing, after the clock goes back a minute", () => {
    const { scheduler, virtual, step } = steppingClock();
    const engine = createEngine({
      seed: 1,
      params: { x: { min: 0, max: 100, init: 50, maxDelta: 5 } },
      guardrails: { preset: "balanced", minIntervalMs: 200 },
      scheduler,
    });
    const events: AuditEvent[] = [];
    engine.events.subscribe((e) => events.push(e));
    let t = 0;
    const run = (ms: number, stamped: boolean) => {
      const verdicts: Record<string, number> = {};
      const generation = engine.generation;
      for (const end = t + ms; t < end; t += 50) {
        virtual.schedule(() => {
          const objective = (engine.values[0]! - 30) ** 2;
          const digest = { objective, generation: engine.generation };
          const v = engine.observe(stamped ? { ...digest, timestamp: engine.now() } : digest);
          verdicts[v] = (verdicts[v] ?? 0) + 1;
        }, t - virtual.now());
      }
      virtual.maxFrames = t;
      virtual.flush();
      engine.flushEvents();
      return { verdicts, applies: engine.generation - generation };
    };
    const before = run(10_000, false);
    expect(before.verdicts).toEqual({ accepted: 200 });
    for (const stamped of [false, true]) {
      step(60_000);
      // Read as still to come, the last apply made every digest "settling" and held every apply
      // for the whole minute.
      const after = run(10_000, stamped);
      expect(after.verdicts).toEqual({ accepted: 200 });
      expect(after.applies).toBeGreaterThan(before.applies / 2);
    }
    // Tier 1 refused none of them: the engine paced itself to the rules, moved back with the clock.
    expect(events.filter((e) => e.type === "violation")).toEqual([]);
    void engine.close();
  });
});
