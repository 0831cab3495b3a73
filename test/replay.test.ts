import { type Observable, Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import type { EngineConfig } from "../src/engine/config.js";
import type { Digest } from "../src/engine/digest.js";
import { createEngine, type Engine } from "../src/engine/engine.js";
import { Prng } from "../src/random/prng.js";
import { firstDifference } from "../src/replay/compare.js";
import { auditLogRecord, engineLogHeader } from "../src/replay/log-records.js";
import { type ReplayEngine, replay } from "../src/replay/replay.js";
import { ReplayClock } from "../src/replay/virtual-clock.js";

/**
 * An engine wrapper that records the digests it accepts as `digest.accepted` events in its own
 * event stream (renumbered), the way an engine with digest capture on does it inside the audit
 * ring: before the records the digest causes. It stands in for capture until the engine writes
 * those records itself; the decisions, windows and applies compared are the real engine's.
 * It also puts the live values on apply and rollback events that lack them: the driver flushes
 * after every digest and every clock step, and the guardrails allow one apply per 100 ms, so
 * the values read at delivery are the ones that apply wrote.
 */
class CapturingEngine implements ReplayEngine {
  private readonly subject = new Subject<AuditEvent>();
  readonly events: Observable<AuditEvent> = this.subject.asObservable();
  private seq = 0;
  /** A rejected digest whose `digest.rejected` event is about to be delivered. */
  private rejected: Digest | undefined;

  constructor(private readonly inner: Engine) {
    inner.events.subscribe((event) => this.emit(event));
  }

  get generation(): number {
    return this.inner.generation;
  }

  observe(digest: Digest): unknown {
    this.inner.flushEvents();
    const verdict = this.inner.observe(digest);
    if (verdict === "accepted") {
      this.emit({
        v: 2,
        runId: "capture",
        seq: 0,
        time: this.inner.now(),
        generation: this.inner.generation,
        proposalId: -1,
        type: "digest.accepted",
        objective: digest.objective,
        digestGeneration: digest.generation,
        ...(digest.timestamp === undefined ? {} : { timestamp: digest.timestamp }),
      });
    } else this.rejected = digest;
    // What the digest caused was written after it.
    this.inner.flushEvents();
    this.rejected = undefined;
    return verdict;
  }

  setBaseline(): void {
    this.command("setBaseline");
    this.inner.setBaseline();
  }

  rollback(reason?: string): boolean {
    this.command("rollback", reason);
    return reason === undefined ? this.inner.rollback() : this.inner.rollback(reason);
  }

  halt(reason: string): void {
    this.command("halt", reason);
    this.inner.halt(reason);
  }

  resetSafeMode(options: { acknowledge: string }): boolean {
    this.command("resetSafeMode", options.acknowledge);
    return this.inner.resetSafeMode(options);
  }

  flushEvents(): number {
    return this.inner.flushEvents();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private command(command: "setBaseline" | "rollback" | "halt" | "resetSafeMode", note?: string): void {
    this.inner.flushEvents();
    this.emit({
      v: 2,
      runId: "capture",
      seq: 0,
      time: this.inner.now(),
      generation: this.inner.generation,
      proposalId: -1,
      type: "command",
      command,
      ...(note === undefined ? {} : { note }),
    });
  }

  private emit(event: AuditEvent): void {
    const withValues =
      (event.type === "apply" || event.type === "rollback") && event.values === undefined
        ? { values: valuesOf(this.inner) }
        : {};
    const captured =
      event.type === "digest.rejected" && this.rejected !== undefined
        ? {
            captured: true,
            ...(this.rejected.timestamp === undefined ? {} : { timestamp: this.rejected.timestamp }),
          }
        : {};
    this.subject.next({ ...event, ...withValues, ...captured, seq: ++this.seq });
  }
}

function valuesOf(engine: Engine): Record<string, number> {
  const out: Record<string, number> = {};
  engine.names.forEach((name, i) => {
    out[name] = engine.values[i]!;
  });
  return out;
}

const START = 1_000;
const TICK_MS = 10;

function engineConfig(seed: number): EngineConfig {
  return {
    seed,
    runId: `replay-${seed}`,
    params: {
      batchSize: { min: 1, max: 512, init: 64, maxDelta: 16 },
      timeoutMs: { min: 1, max: 1000, init: 200, maxDelta: 40, scale: "log" },
      ratio: { min: -1, max: 1, init: 0.5, maxDelta: 0.1 },
    },
    spsa: { a: "auto", c: 0.02, calibrationIterations: 4 },
    window: { digests: 5, ms: 500 },
    guardrails: "balanced",
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
 * Runs `ticks` digests through a capturing engine on a replay clock, with the host's commands at
 * the given ticks, and returns the decision log as records (header first). Every `staleEvery`-th
 * tick also sends a digest from the previous generation (rejected as WrongGeneration).
 */
async function recordRun(
  ticks: number,
  seed: number,
  commands: ReadonlyMap<number, (engine: CapturingEngine) => void> = new Map(),
  staleEvery = 97,
): Promise<RecordedRun> {
  const config = engineConfig(seed);
  const clock = new ReplayClock(START);
  const engine = new CapturingEngine(createEngine({ ...config, scheduler: clock }));
  const events: AuditEvent[] = [];
  engine.events.subscribe((event) => events.push(event));
  // The plant's noise does not depend on the engine's seed, so runs with two seeds see the same noise.
  const noise = Prng.fromSeed(1234, 99);
  const inner = (engine as unknown as { inner: Engine }).inner;
  for (let k = 1; k <= ticks; k++) {
    const time = START + k * TICK_MS;
    clock.advanceTo(time);
    commands.get(k)?.(engine);
    const generation = engine.generation;
    engine.observe({ objective: objective(inner.values, noise), generation, timestamp: time - 1 });
    if (k % staleEvery === 0 && generation > 0) {
      engine.observe({ objective: 1, generation: generation - 1 });
    }
  }
  engine.flushEvents();
  await engine.close();
  const header = engineLogHeader(config, { startTime: START, packageVersion: "test" });
  return { records: [header, ...events.map(auditLogRecord)], events };
}

/** Replays through the same capturing wrapper (the engine under it is built from the log's config). */
const capturing = (config: EngineConfig) => new CapturingEngine(createEngine(config));

/** The records as they come back from a JSON Lines file (what the log stores). */
function throughJson(records: readonly unknown[]): unknown[] {
  return records.map((r) => JSON.parse(JSON.stringify(r)));
}

describe("replay of a 10^4-tick run", () => {
  it("reproduces every logged event bit for bit, and fails at the right record when a digest is perturbed or the seed differs", async () => {
    const commands = new Map<number, (engine: CapturingEngine) => void>([
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
    ]) {
      expect(types).toContain(type);
    }
    const modes = run.events.flatMap((e) => (e.type === "mode.changed" ? [`${e.from}→${e.to}`] : []));
    expect(modes).toEqual(expect.arrayContaining(["normal→halted", "halted→normal"]));
    const applies = run.events.filter((e) => e.type === "apply").length;
    expect(applies).toBeGreaterThan(900);

    const records = throughJson(run.records);
    const result = await replay(records, { createEngine: capturing });
    expect(result).toEqual({ ok: true, records: run.events.length });

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
    const broken = await replay(tampered, { createEngine: capturing });
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
    const reseeded = await replay(records, { createEngine: capturing, override: { seed: 18 } });
    expect(reseeded.ok).toBe(false);
    if (reseeded.ok) return;
    expect(reseeded.divergence.seq).toBe(run.events[firstDiff]!.seq);
    expect(reseeded.divergence.expected).toMatchObject({ type: "apply", kind: "plus" });
    expect(reseeded.divergence.reason).toMatch(/^values\./);
  }, 120_000);
});
