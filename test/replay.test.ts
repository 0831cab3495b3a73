import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import type { EngineConfig } from "../src/engine/config.js";
import { createEngine, type Engine } from "../src/engine/engine.js";
import { auditLogRecord, engineLogHeader } from "../src/log/log-records.js";
import { Prng } from "../src/random/prng.js";
import { firstDifference } from "../src/replay/compare.js";
import { explain, renderExplanation } from "../src/replay/explain.js";
import { replay } from "../src/replay/replay.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";
import { SERVICE_KNOBS } from "./support/engine-harness.js";

const START = 1_000;
const TICK_MS = 10;

function engineConfig(seed: number): EngineConfig {
  return {
    seed,
    runId: `replay-${seed}`,
    params: {
      ...SERVICE_KNOBS,
      ratio: { min: -1, max: 1, init: 0.5, maxDelta: 0.1 },
    },
    spsa: { a: "auto", c: 0.02, calibrationIterations: 4 },
    window: { digests: 5, ms: 500 },
    guardrails: "balanced",
    captureDigests: true,
  };
}

/** A seeded noisy quadratic with its minimum inside the box. */
function objective(values: Float64Array, noise: Prng): number {
  const b = (values[0]! - 300) / 511;
  const t = Math.log(values[1]! / 50) / Math.log(1000);
  const r = values[2]! + 0.25;
  return 10 + 40 * b * b + 25 * t * t + 5 * r * r + 0.2 * noise.normal();
}

interface RecordedRun {
  readonly records: unknown[];
  readonly events: AuditEvent[];
}

/**
 * Runs `ticks` digests through an engine with digest capture on, on a replay clock, with the host's
 * commands at the given ticks, and returns the decision log as records (header first). Every
 * `staleEvery`-th tick also sends a digest from the previous generation (rejected as
 * WrongGeneration); digests stamped 1 ms before an apply's time are rejected as Settling.
 */
async function recordRun(
  ticks: number,
  seed: number,
  commands: ReadonlyMap<number, (engine: Engine) => void> = new Map(),
  staleEvery = 97,
): Promise<RecordedRun> {
  const config = engineConfig(seed);
  const clock = new ReplayClock(START);
  const engine = createEngine({ ...config, scheduler: clock });
  const events: AuditEvent[] = [];
  engine.events.subscribe((event) => events.push(event));
  // The plant's noise does not depend on the engine's seed, so runs with two seeds see the same noise.
  const noise = Prng.fromSeed(1234, 99);
  for (let k = 1; k <= ticks; k++) {
    const time = START + k * TICK_MS;
    clock.advanceTo(time);
    commands.get(k)?.(engine);
    const generation = engine.generation;
    engine.observe({ objective: objective(engine.values, noise), generation, timestamp: time - 1 });
    if (k % staleEvery === 0 && generation > 0) {
      engine.observe({ objective: 1, generation: generation - 1 });
    }
  }
  engine.flushEvents();
  await engine.close();
  const header = engineLogHeader(config, { startTime: START, packageVersion: "test" });
  return { records: [header, ...events.map(auditLogRecord)], events };
}

/** The records as they come back from a JSON Lines file (what the log stores). */
function throughJson(records: readonly unknown[]): unknown[] {
  return records.map((r) => JSON.parse(JSON.stringify(r)));
}

describe("replay of a 10^4-tick run", () => {
  it("reproduces every logged event bit for bit, and fails at the right record when a digest is perturbed or the seed differs", async () => {
    const commands = new Map<number, (engine: Engine) => void>([
      [4_000, (e) => e.rollback("operator check")],
      [6_000, (e) => e.halt("maintenance window")],
      [6_500, (e) => e.resetSafeMode({ acknowledge: "maintenance done" })],
    ]);
    const run = await recordRun(10_000, 17, commands);
    const types = new Set(run.events.map((e) => e.type));
    // The run exercised the decision path end to end, SafeMode included.
    for (const type of [
      "apply",
      "window.closed",
      "digest.accepted",
      "digest.rejected",
      "command",
      "rollback",
      "decision",
      "decision.step",
    ]) {
      expect(types).toContain(type);
    }
    // Applies carry their values; rejected digests were captured with their fields.
    expect(run.events.every((e) => e.type !== "apply" || e.values !== undefined)).toBe(true);
    const rejections = run.events.filter((e) => e.type === "digest.rejected");
    expect(rejections.every((e) => e.captured === true)).toBe(true);
    expect(new Set(rejections.map((e) => e.reason))).toEqual(new Set(["WrongGeneration", "Settling"]));
    const modes = run.events.flatMap((e) => (e.type === "mode.changed" ? [`${e.from}→${e.to}`] : []));
    expect(modes).toEqual(expect.arrayContaining(["normal→halted", "halted→normal"]));
    const applies = run.events.filter((e) => e.type === "apply").length;
    expect(applies).toBeGreaterThan(900);

    const records = throughJson(run.records);
    const result = await replay(records);
    expect(result).toMatchObject({
      ok: true,
      records: run.events.length,
      runs: [{ run: 1, ok: true, records: run.events.length }],
    });

    // Negative control 1: the objective of the last digest of a full window changed in the log.
    // The digest is replayed as logged; the first record it changes is the window it closed.
    const windowIndex = run.events.findIndex(
      (e, k) => k > run.events.length / 2 && e.type === "window.closed" && !e.timedOut,
    );
    const window = run.events[windowIndex]!;
    const victim = run.events.slice(0, windowIndex).findLast((e) => e.type === "digest.accepted")!;
    const windowValue = window.type === "window.closed" ? window.value : Number.NaN;
    const tampered = records.map((record, index) => {
      if (index === 0) return record;
      const r = record as { event: { seq: number; objective?: number } };
      // Set to just above the window's aggregate, so that the (trimmed) mean cannot ignore it.
      return r.event.seq === victim.seq ? { ...r, event: { ...r.event, objective: windowValue + 1e-3 } } : r;
    });
    const broken = await replay(tampered);
    expect(broken.ok).toBe(false);
    if (broken.ok) return;
    expect(broken.divergence.seq).toBe(window.seq);
    expect(broken.divergence.index).toBe(1 + windowIndex);
    expect(broken.divergence.reason).toBe("value");
    expect(broken.divergence.expected).toEqual(window);
    expect(broken.divergence.actual).toMatchObject({ type: "window.closed", count: 5 });
    expect(broken.divergence.context).toHaveLength(5);
    expect(broken.divergence.context.map((e) => e.seq)).toContain(victim.seq);

    // Negative control 2: the log replayed with another seed diverges where a run with that seed
    // first differs from the logged one (another perturbation Δ, so other applied values).
    const other = await recordRun(1_000, 18);
    const firstDiff = other.events.findIndex((e, k) => firstDifference(run.events[k], e) !== undefined);
    const reseeded = await replay(records, { override: { seed: 18 } });
    expect(reseeded.ok).toBe(false);
    if (reseeded.ok) return;
    expect(reseeded.divergence.seq).toBe(run.events[firstDiff]!.seq);
    expect(reseeded.divergence.expected).toMatchObject({ type: "apply", kind: "plus" });
    expect(reseeded.divergence.reason).toMatch(/^values\./);

    // An override key set to undefined means "not given": the logged window and SPSA options stay.
    const unchanged = await replay(records, { override: { window: undefined, spsa: undefined } });
    expect(unchanged).toMatchObject({ ok: true, records: run.events.length });
  }, 120_000);

  it("explains a stepped generation of the run: the plus and minus windows with their digests, ĝ, the step and the values", async () => {
    const run = await recordRun(2_000, 17);
    const decision = run.events.find((e) => e.type === "decision" && e.outcome === "stepped");
    expect(decision).toBeDefined();
    if (decision?.type !== "decision") return;
    const centre = run.events.find((e) => e.type === "apply" && e.proposalId === decision.proposalId);
    expect(centre).toMatchObject({ type: "apply", kind: "centre" });
    const x = explain(throughJson(run.records), centre!.generation);
    expect(x.change).toEqual(centre);
    expect(x.decision).toEqual(decision);
    expect(x.step?.iteration).toBe(decision.iteration);
    const plus = x.windows.filter((w) => w.role === "plus");
    const minus = x.windows.filter((w) => w.role === "minus");
    expect(plus).toHaveLength(1);
    expect(minus).toHaveLength(1);
    // y+ and y− are the values of those windows, and each window holds exactly its digests.
    expect(plus[0]?.window.value).toBe(decision.yPlus);
    expect(minus[0]?.window.value).toBe(decision.yMinus);
    for (const w of x.windows) expect(w.digests).toHaveLength(w.window.count);
    expect(plus[0]?.apply).toMatchObject({ kind: "plus", generation: centre!.generation - 2 });
    expect(x.values).toEqual(centre?.type === "apply" ? centre.values : undefined);
    expect(renderExplanation(x)).toContain(`decision: iteration ${decision.iteration} (stepped)`);
  }, 60_000);
});
