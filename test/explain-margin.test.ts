import { describe, expect, it } from "vitest";
import type { DigestAcceptedEvent, WindowClosedEvent } from "../src/audit/events.js";
import { createLoggedEngine, explain, readDecisionLog, renderExplanation, replay } from "../src/node.js";
import { Prng } from "../src/random/prng.js";
import { ManualClock } from "./support/engine-clock.js";
import { tempLogDirs } from "./support/log-dir.js";

// In constraint-first mode (a negative constraintMargin) the windows aggregate −margin, not the
// objective: the window.closed record says so, and explain shows the margins those windows held.

const logDir = tempLogDirs();

/**
 * A logged run whose margins are negative left of x = `boundary`, with noise of `noise`, over
 * `digests` digests `stepMs` apart, closed; returns its directory.
 */
async function constraintFirstRun(boundary = 6, noise = 0.05, digests = 120, stepMs = 150): Promise<string> {
  const dir = logDir();
  const clock = new ManualClock();
  const { engine, close } = createLoggedEngine(
    {
      seed: 1,
      params: { x: { min: 0, max: 10, init: 5 } },
      window: { digests: 3, ms: 1000 },
      scheduler: clock,
    },
    { dir, flushMs: 50 },
  );
  const prng = Prng.fromSeed(4, 1);
  for (let i = 1; i <= digests; i++) {
    clock.advanceBy(stepMs);
    const x = engine.values[0]!;
    engine.observe({
      objective: 100 + (x - 3) ** 2,
      constraintMargin: (x - boundary) * 0.2 + noise * prng.normal(),
      generation: engine.generation,
    });
  }
  await close();
  return dir;
}

/** The first centre apply of the log (its decision measured the plus and minus windows). */
function firstCentre(dir: string): number {
  const { records } = readDecisionLog(dir);
  for (const { record } of records) {
    const event = (record as { event?: { type?: string; kind?: string; generation?: number } }).event;
    if (event?.type === "apply" && event.kind === "centre") return event.generation!;
  }
  throw new Error("no centre apply");
}

/** The log's records without `negatedMargin` on their windows, as schema 5 wrote them. */
function asSchema5(dir: string): { header: object; records: unknown[] } {
  const { header, records } = readDecisionLog(dir);
  return {
    header: { ...(header as object), schema: 5 },
    records: records.map((entry) => {
      const r = entry.record as { kind?: string; event?: Record<string, unknown> };
      if (r.kind !== "audit" || r.event === undefined) return entry.record;
      const { negatedMargin: _negatedMargin, ...event } = r.event;
      return { ...r, event: { ...event, v: 5 } };
    }),
  };
}

describe("explain of a constraint-first window", () => {
  it("the window.closed record says the window measured the negated margin", async () => {
    const dir = await constraintFirstRun();
    const windows = readDecisionLog(dir)
      .records.map((e) => (e.record as { event?: WindowClosedEvent }).event)
      .filter((e): e is WindowClosedEvent => e?.type === "window.closed");
    expect(windows.length).toBeGreaterThan(10);
    // Every margin is negative near x = 5: after the first digest, the windows measure −margin.
    expect(windows.filter((w) => w.negatedMargin === true).length).toBeGreaterThan(10);
    expect((await replay(dir)).ok).toBe(true);
  });

  it("lists the digests' −margins, which the window aggregated, and labels y± as margins", async () => {
    const dir = await constraintFirstRun();
    const x = explain(dir, firstCentre(dir));
    expect(x.decision).toBeDefined();
    expect(x.decisionMeasure).toBe("negatedMargin");
    expect(x.windows.length).toBeGreaterThan(0);
    for (const w of x.windows) {
      expect(w.measure).toBe("negatedMargin");
      expect(w.values).toEqual(w.digests.map((d: DigestAcceptedEvent) => -d.constraintMargin!));
      expect(w.values).toHaveLength(w.window.count);
      // The window's value is one of its values' aggregate (the median of 3): among them.
      expect(w.values).toContain(w.window.value);
    }
    const text = renderExplanation(x);
    const plus = x.windows.find((w) => w.role === "plus")!;
    const shown = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, ""));
    expect(text).toContain(
      `window (plus, generation ${plus.generation}, negated constraint margin): 3 values, −margins [${plus.values.map(shown).join(", ")}] → ${shown(plus.window.value)}`,
    );
    expect(text).not.toContain("digests [104");
    expect(text).toMatch(
      /decision: iteration -?\d+ \(\w+\), y\+ \S+, y− \S+ \(negated constraint margins, not objectives\)/,
    );
    // Its step is a feasibility step, whose gain is no a_k.
    expect(x.step).toBeDefined();
    expect(text).toContain(`step: feasibility step, ${shown(x.step!.a)} of each parameter's room, c_k`);
    expect(text).not.toContain("a_k");
  });

  it("a log written before the flag explains as before, and replays", async () => {
    const dir = await constraintFirstRun();
    const old = asSchema5(dir);
    const x = explain(old, firstCentre(dir));
    expect(x.decisionMeasure).toBe("objective");
    for (const w of x.windows) {
      expect(w.measure).toBe("objective");
      expect(w.values).toEqual(w.digests.map((d) => d.objective));
    }
    const text = renderExplanation(x);
    expect(text).toMatch(/window \(plus, generation \d+\): 3 values, digests \[/);
    expect(text).not.toContain("margin");
    expect((await replay(old)).ok).toBe(true);
  });
});

describe("a window in which the engine turned to feasibility", () => {
  it("says it aggregated objectives, then −margins, and explain lists what it took", async () => {
    // Margins noisy around the boundary at x = 4.5: the engine turns to feasibility within
    // windows a paused cycle keeps (after a constraint-breach rollback, say). Digests 400 ms
    // apart: a paused cycle's window of 3 rests until 1 s after it opened, so with faster
    // digests its windows would be closed most of the time.
    const dir = await constraintFirstRun(4.5, 0.3, 600, 400);
    const generations = new Set<number>();
    for (const { record } of readDecisionLog(dir).records) {
      const event = (record as { event?: { type?: string; generation?: number } }).event;
      if ((event?.type === "apply" || event?.type === "rollback") && event.generation! > 0)
        generations.add(event.generation!);
    }
    const seen = new Set<number>();
    let mixed = 0;
    for (const generation of generations) {
      for (const w of explain(dir, generation).windows) {
        if (seen.has(w.window.seq)) continue;
        seen.add(w.window.seq);
        if (w.measure === "mixed") mixed++;
        // The window's value is the median of 3 (the trimmed mean of 3): one of the values it took.
        expect(w.values, `window seq ${w.window.seq} (${w.measure})`).toHaveLength(w.window.count);
        if (w.window.count === 3) expect(w.values).toContain(w.window.value);
      }
    }
    expect(seen.size).toBeGreaterThan(20);
    expect(mixed).toBeGreaterThan(0);
    expect((await replay(dir)).ok).toBe(true);
  });
});
