import { describe, expect, it } from "vitest";
import { engineRig } from "./support/engine-harness.js";

// An async onApply whose first push is slow (it succeeds late). Later pushes throw and open the
// actuator breaker (SafeMode breakerOpen). The late success of that first push, arriving while the
// half-open probe is still outstanding, is stale: it must not close the breaker, clear breakerOpen
// or let applies through to an actuator that is still down. Only the probe's own outcome counts.

/** Lets settled promises run their handlers (microtasks only: no real time passes). */
async function microtasks(): Promise<void> {
  for (let i = 0; i < 3; i++) await Promise.resolve();
}

describe("engine: a stale async onApply success while the breaker is half-open", () => {
  it("does not clear breakerOpen; the probe's own failure re-opens the breaker", async () => {
    let now = (): number => 0;
    let schedule = (_at: number, _run: () => void): void => {};
    const log: string[] = [];
    let calls = 0;
    const rig = engineRig({
      seed: 7,
      params: { x: { min: 0, max: 100, maxDelta: 10 } },
      window: { digests: 1 },
      safety: { rollbacksPerHour: 100, safeMode: { dwellMs: 0, healthyWindows: 1 } },
      onApply: () => {
        const call = ++calls;
        const t = now();
        if (call === 1) {
          log.push(`t=${t} slow push (succeeds at 2500)`);
          return new Promise<void>((resolve) => schedule(2500, resolve));
        }
        if (t < 1000) {
          log.push(`t=${t} throws`);
          throw new Error("actuator down");
        }
        // Still down: every push from here on rejects, the first (the probe) only at 6000.
        const at = t < 2000 ? 6000 : t + 100;
        log.push(`t=${t} pending (rejects at ${at})`);
        return new Promise<void>((_, reject) => schedule(at, () => reject(new Error("still down"))));
      },
    });
    const { engine, clock } = rig;
    now = () => clock.now();
    schedule = (at, run) => {
      clock.schedule(run, at - clock.now());
    };
    const applies: number[] = [];
    const snapshots: Record<number, ReturnType<typeof engine.snapshot>> = {};
    engine.events.subscribe((e) => {
      if (e.type === "apply") applies.push(e.time);
    });
    for (let t = 0; t <= 6500; t += 50) {
      clock.advanceTo(t);
      await microtasks();
      engine.observe({ objective: (engine.value("x") - 30) ** 2, generation: engine.generation });
      engine.flushEvents();
      snapshots[t] = engine.snapshot();
    }
    await engine.close();
    // The scenario: the breaker opened at 200 with the slow first push still outstanding.
    expect(log.slice(0, 4)).toEqual([
      "t=0 slow push (succeeds at 2500)",
      "t=100 throws",
      "t=100 throws",
      "t=200 throws",
    ]);
    expect(snapshots[200]!.reasons).toContain("breakerOpen");
    // The stale success at 2500 changes nothing: still half-open, still frozen.
    for (const t of [2450, 2500, 2550, 3000, 5950]) {
      expect(snapshots[t]!.breakers.actuator, `t=${t}`).toBe("halfOpen");
      expect(snapshots[t]!.mode, `t=${t}`).toBe("frozen");
      expect(snapshots[t]!.reasons, `t=${t}`).toContain("breakerOpen");
    }
    // Nothing was applied to the still-down actuator after the freeze, and it was pushed only the
    // probe (plus the first four calls) until the probe failed.
    expect(applies.filter((t) => t > 200)).toEqual([]);
    expect(calls).toBe(5);
    // The probe's own failure at 6000 re-opens the breaker.
    expect(snapshots[6000]!.breakers.actuator).toBe("open");
    expect(snapshots[6000]!.reasons).toContain("breakerOpen");
  });

  it("a stale failure of a push made before the outage, arriving after recovery, rolls nothing back", async () => {
    let now = (): number => 0;
    let schedule = (_at: number, _run: () => void): void => {};
    let calls = 0;
    const rig = engineRig({
      seed: 7,
      params: { x: { min: 0, max: 100, maxDelta: 10 } },
      window: { digests: 1 },
      safety: { rollbacksPerHour: 100, safeMode: { dwellMs: 0, healthyWindows: 1 } },
      onApply: () => {
        const call = ++calls;
        if (call === 1)
          return new Promise<void>((_, reject) => schedule(2500, () => reject(new Error("late"))));
        if (now() < 1000) throw new Error("actuator down");
        return undefined; // back up: the probe and every push after it succeed
      },
    });
    const { engine, clock } = rig;
    now = () => clock.now();
    schedule = (at, run) => {
      clock.schedule(run, at - clock.now());
    };
    const rollbacks: number[] = [];
    const closedAt: number[] = [];
    engine.events.subscribe((e) => {
      if (e.type === "rollback") rollbacks.push(e.time);
      if (e.type === "mode.changed" && e.from === "frozen") closedAt.push(e.time);
    });
    for (let t = 0; t <= 3000; t += 50) {
      clock.advanceTo(t);
      await microtasks();
      engine.observe({ objective: (engine.value("x") - 30) ** 2, generation: engine.generation });
      engine.flushEvents();
    }
    const snapshot = engine.snapshot();
    await engine.close();
    expect(closedAt.length).toBeGreaterThan(0); // the probe succeeded and the engine resumed
    expect(closedAt[0]!).toBeLessThan(2500);
    expect(rollbacks.filter((t) => t >= 2500)).toEqual([]);
    expect(snapshot.breakers.actuator).toBe("closed");
    expect(snapshot.reasons).toEqual([]);
  });
});
