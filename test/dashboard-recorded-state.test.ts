import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { RecordedViewFold } from "../src/dashboard/recorded-view.js";
import { createEngine, type Engine, type EngineConfig } from "../src/index.js";

// A recording's SPSA state is rebuilt from its audit events alone: it must be the state the live
// chart (machines/spsa.machine.ts) is in, whichever path the cycle took.

const PARAMS = { batchSize: { min: 1, max: 512, init: 16, maxDelta: 16 } };

/** A bowl with its minimum near batchSize 98. */
const bowl = (batchSize: number) => 400 / batchSize + batchSize / 24;

interface Followed {
  /** "t=… live … recorded …" for each millisecond the two differed, with the events before it. */
  readonly mismatches: string[];
  readonly events: AuditEvent[];
  /** Every SPSA state the live chart was seen in. */
  readonly visited: Set<string>;
}

/**
 * Runs an engine on virtual time one millisecond at a time; after each, `step` may feed it, and
 * the events written so far are folded: the fold's state must then be the live chart's.
 */
async function follow(
  until: number,
  step: (t: number, engine: Engine) => void,
  config: Partial<EngineConfig> = {},
): Promise<Followed> {
  const scheduler = new VirtualTimeScheduler();
  const engine = createEngine({
    seed: 7,
    params: PARAMS,
    window: { digests: 5, ms: 500 },
    scheduler,
    ...config,
  });
  const fold = new RecordedViewFold("run");
  const events: AuditEvent[] = [];
  engine.events.subscribe((event) => {
    fold.add(event);
    events.push(event);
  });
  const mismatches: string[] = [];
  const visited = new Set<string>();
  for (let t = 1; t <= until; t++) {
    scheduler.maxFrames = t;
    scheduler.flush();
    step(t, engine);
    engine.flushEvents();
    const live = engine.snapshot().phase;
    const recorded = fold.view().phase;
    visited.add(live);
    if (live !== recorded && mismatches.length < 5) {
      const before = events
        .slice(-4)
        .map((e) => `${e.type}${e.type === "apply" ? `:${e.kind}` : ""}`)
        .join(", ");
      mismatches.push(`t=${t} live ${live} recorded ${recorded} after ${before}`);
    }
  }
  await engine.close();
  return { mismatches, events, visited };
}

/**
 * Feeds the bowl's value at the live point every 20 ms, except where `silent(t)`; where
 * `outlier(t)`, a huge negative value instead (anomalous: it measures nothing).
 */
function feed(silent: (t: number) => boolean = () => false, outlier: (t: number) => boolean = () => false) {
  return (t: number, engine: Engine) => {
    if (t % 20 !== 0 || silent(t)) return;
    const objective = outlier(t) ? -1e9 : bowl(engine.value("batchSize"));
    engine.observe({ objective, generation: engine.generation, timestamp: t });
  };
}

describe("a recording's SPSA state follows the live chart", () => {
  it.each([1000, 1274, 2233, 3740])(
    "through a stall when telemetry stops at %i ms, and its end",
    async (gap) => {
      // The stall brings the live point back to the centre (a centre apply that is no new centre);
      // the first window with digests then resumes the cycle in `cycle.holding`.
      const run = await follow(
        gap + 6000,
        feed((t) => t >= gap && t < gap + 4000),
      );
      expect(run.mismatches).toEqual([]);
      expect(run.events.some((e) => e.type === "spsa.stalled")).toBe(true);
      expect(run.visited).toContain("stalled");
      expect(run.visited).toContain("cycle.holding");
    },
  );

  it("through windows measured again because they held an outlier", async () => {
    // In `cycle.plus` the live point goes back to the centre, in `cycle.centre` nothing is applied:
    // only the window's `remeasure` tells that the cycle starts over in `cycle.holding`. Two
    // outliers in a row: one is among what a window of 5's trimmed mean drops.
    const outlier = (t: number) => t >= 2000 && t % 940 < 40;
    const run = await follow(6000, feed(undefined, outlier));
    expect(run.mismatches).toEqual([]);
    const remeasured = run.events.filter((e) => e.type === "window.closed" && e.remeasure === true);
    // Windows of every kind of point were measured again.
    const applied = remeasured.map((w) =>
      run.events.filter((e) => e.type === "apply" && e.seq < w.seq).at(-1),
    );
    expect(new Set(applied.map((e) => (e?.type === "apply" ? e.kind : undefined)))).toEqual(
      new Set(["plus", "minus", "centre"]),
    );
  });

  it("through a SafeMode pause and resume, a rollback while paused and re-measured windows", async () => {
    // The actuator fails for two seconds: rolled back and frozen (the cycle pauses); an operator's
    // rollback while frozen keeps it paused; the recovery to `conservative` resumes it in
    // `cycle.holding`, bringing the centre back. Two pairs of huge negative outliers make their
    // windows no measure of their points (one alone a window of 5's trimmed mean drops): the cycle
    // measures its centre again.
    let engine: Engine | undefined;
    let rolledBack = false;
    const fed = feed(
      (t) => t > 40_000 && t < 43_000,
      (t) => t === 20_000 || t === 20_020 || t === 50_020 || t === 50_040,
    );
    const run = await follow(
      60_000,
      (t, e) => {
        engine = e;
        fed(t, e);
        if (!rolledBack && t > 5000 && e.snapshot().mode === "frozen") {
          rolledBack = true;
          e.rollback("operator");
        }
      },
      {
        onApply: () => {
          const now = engine?.now() ?? 0;
          if (now > 1000 && now < 3000) throw new Error("actuator down");
        },
      },
    );
    expect(run.mismatches).toEqual([]);
    const modes = run.events.flatMap((e) => (e.type === "mode.changed" ? [`${e.from}->${e.to}`] : []));
    expect(modes).toEqual(expect.arrayContaining(["normal->frozen", "frozen->conservative"]));
    expect(run.events.some((e) => e.type === "command" && e.command === "rollback")).toBe(true);
    const remeasured = run.events.filter((e) => e.type === "window.closed" && e.remeasure === true);
    expect(remeasured.length).toBeGreaterThan(0);
    expect(run.visited).toEqual(
      new Set(["cycle.holding", "cycle.plus", "cycle.minus", "cycle.centre", "paused", "stalled"]),
    );
  });
});

describe("RecordedViewFold's SPSA state on a refused proposal", () => {
  const base = { v: 5, runId: "r", generation: 0, time: 0 } as const;
  const fold = (...events: Partial<AuditEvent>[]) => {
    const f = new RecordedViewFold("r");
    for (const [i, e] of events.entries()) f.add({ ...base, proposalId: -1, seq: i + 1, ...e } as AuditEvent);
    return f.view().phase;
  };
  const refused = (proposalId: number) =>
    ({ type: "violation", violation: "DeltaTooLarge", param: 0, value: 2, limit: 1, proposalId }) as const;

  it("restarts in cycle.holding when Tier 1 refuses a proposal, and not for a refused rollback", () => {
    const plus = { type: "apply", kind: "plus", proposalId: 1 } as const;
    expect(fold({ type: "baseline.set" }, plus, refused(2))).toBe("cycle.holding");
    expect(fold({ type: "baseline.set" }, plus, refused(-1))).toBe("cycle.plus");
    // The return to the centre refused while stalled: the cycle stays stalled.
    expect(fold({ type: "baseline.set" }, plus, { type: "spsa.stalled" }, refused(2))).toBe("stalled");
  });
});
