/**
 * One demo run: an engine embedded in the simulated {@link QueueingService}, driven by a clock.
 *
 * @remarks
 * The service emits one digest every `digestEveryMs` on the engine's scheduler, stamped with the
 * generation that was live while it was measured. The same loop runs in real time (RxJS
 * `asyncScheduler`, what `npm start` uses) and in virtual time (a `VirtualTimeScheduler`, which
 * {@link runTuningSession} flushes itself, for `--fast` and the tests); only the clock differs.
 */

import { type AuditEvent, createEngine, type Engine, type EngineConfig, type EngineSnapshot } from "arqon";
import { type SchedulerLike, VirtualTimeScheduler } from "rxjs";
import {
  conditionsAt,
  defaultScenario,
  KNOB_BOUNDS,
  type OptimalKnobs,
  optimalKnobs,
  type QueueingKnobs,
  type QueueingScenario,
  QueueingService,
} from "./queueing-service.js";

/** Where the demo service starts: small batches and a generous timeout (a plausible first guess). */
export const INITIAL_KNOBS: QueueingKnobs = Object.freeze({ batchSize: 10, timeoutMs: 50 });

/**
 * The engine configuration of the demo.
 *
 * @remarks
 * Chosen so that tuning is visible within ~20 s of real time at one digest per 20 ms: the
 * windows are set to 5 digests (or 500 ms) rather than the default single digest: the demo emits
 * 50 digests a second, five times the 10 applies per second the "balanced" guardrails allow, so a
 * one-digest window would leave four digests in five unused (or stale); five-digest windows close
 * every 100 ms and use them all; each apply moves the batch size by at most 3
 * and the timeout by at most 10 ms (2–4 % of their ranges); the perturbation half-width c is 1 %
 * of the unit cube (within half of those budgets, as the move accounting requires); and "auto"
 * calibrates its step gain over 6 SPSA iterations (about 2 s) instead of 16.
 */
/** The demo engine's parameter names: the service's two knobs. */
export type DemoKnob = keyof QueueingKnobs;

export function demoEngineConfig(scheduler: SchedulerLike, seed: number): EngineConfig<DemoKnob> {
  return {
    seed,
    runId: `arqon-demo-${seed}`,
    params: {
      batchSize: { ...KNOB_BOUNDS.batchSize, init: INITIAL_KNOBS.batchSize, maxDelta: 3 },
      timeoutMs: { ...KNOB_BOUNDS.timeoutMs, init: INITIAL_KNOBS.timeoutMs, maxDelta: 10 },
    },
    spsa: { a: "auto", c: 0.01, calibrationIterations: 6 },
    window: { digests: 5, ms: 500 },
    guardrails: "balanced",
    scheduler,
  };
}

/** What a progress report shows. */
export interface SessionProgress {
  /** Engine-clock milliseconds since the run started. */
  readonly elapsedMs: number;
  /** Smoothed measured cost of the tuned service (ms per request). */
  readonly objective: number;
  /** Smoothed measured cost of the untuned baseline (same conditions, same noise). */
  readonly baseline: number;
  /** 1 − objective / baseline (positive when the tuned service does better). */
  readonly improvement: number;
  /** Live knob values in raw units. */
  readonly values: Readonly<Record<string, number>>;
  /** The engine's snapshot at this moment. */
  readonly snapshot: EngineSnapshot;
  /** The engine's SafeMode mode (normal, conservative, frozen, halted). */
  readonly mode: string;
}

/** How a session went. */
export interface SessionSummary {
  /** Engine-clock time of the last digest since the start, ms. */
  readonly elapsedMs: number;
  /** Digests the service emitted. */
  readonly digests: number;
  /** 1 − Σ tuned cost / Σ baseline cost over the whole run (noise-free costs). */
  readonly improvement: number;
  /** The same over the last quarter of the run (after the mid-run surge); NaN if it stopped before. */
  readonly finalImprovement: number;
  /** Mean noise-free cost of the tuned service over the last quarter, ms. */
  readonly finalCost: number;
  /** Mean noise-free cost of the baseline over the last quarter, ms. */
  readonly finalBaselineCost: number;
  /** The best knobs for the conditions at the last digest, and their cost. */
  readonly optimumAtEnd: OptimalKnobs;
  /** The engine's final snapshot. */
  readonly snapshot: EngineSnapshot;
  /** Audit events delivered to `events`. */
  readonly auditEvents: number;
}

/** Options of {@link runTuningSession}. */
export interface SessionOptions {
  /** Engine-clock length of the run, ms. */
  readonly durationMs: number;
  /** The clock: `asyncScheduler` for real time, a `VirtualTimeScheduler` to run at once. */
  readonly scheduler: SchedulerLike;
  /** Seed of the engine and of the service's noise (default 7). */
  readonly seed?: number;
  /** One digest every this many ms (default 20). */
  readonly digestEveryMs?: number;
  /** Time constant of the smoothing of the progress numbers, ms (default 1000). */
  readonly smoothingMs?: number;
  /** Calls `onProgress` every this many engine-clock ms (default 2000). */
  readonly progressEveryMs?: number;
  /** Receives progress reports. */
  readonly onProgress?: (progress: SessionProgress) => void;
  /** Receives every audit event, in order. */
  readonly onEvent?: (event: AuditEvent) => void;
  /** Overrides of the demo engine config (for experiments). */
  readonly engine?: Partial<EngineConfig<DemoKnob>>;
  /** The scenario (default {@link defaultScenario} over `durationMs`). */
  readonly scenario?: QueueingScenario;
  /** Ends the run early (at the next digest) when aborted, e.g. on Ctrl-C. */
  readonly signal?: AbortSignal;
}

/**
 * Runs the demo for `durationMs` of engine-clock time and resolves with its summary after the
 * engine is closed (every audit event delivered).
 */
export async function runTuningSession(options: SessionOptions): Promise<SessionSummary> {
  const { durationMs, scheduler } = options;
  const seed = options.seed ?? 7;
  const digestEveryMs = options.digestEveryMs ?? 20;
  const progressEveryMs = options.progressEveryMs ?? 2000;
  const alpha = 1 - Math.exp(-digestEveryMs / (options.smoothingMs ?? 1000));
  const scenario = options.scenario ?? defaultScenario(durationMs);
  const service = new QueueingService(scenario, INITIAL_KNOBS, seed);
  const engine = createEngine({ ...demoEngineConfig(scheduler, seed), ...options.engine });
  let auditEvents = 0;
  const onEvent = options.onEvent;
  const events = engine.events.subscribe((event) => {
    auditEvents++;
    onEvent?.(event);
  });

  const start = scheduler.now();
  const finalFrom = 0.75 * durationMs;
  let digests = 0;
  let tunedSum = 0;
  let baselineSum = 0;
  let finalTuned = 0;
  let finalBaseline = 0;
  let finalCount = 0;
  let smoothTuned = Number.NaN;
  let smoothBaseline = Number.NaN;
  let nextProgress = progressEveryMs;
  // The configuration live during the current measurement interval, and its generation.
  let knobs = knobsOf(engine);
  let generation = engine.generation;

  const report = (elapsedMs: number) => {
    const snapshot = engine.snapshot();
    options.onProgress?.({
      elapsedMs,
      objective: smoothTuned,
      baseline: smoothBaseline,
      improvement: 1 - smoothTuned / smoothBaseline,
      values: snapshot.values,
      snapshot,
      mode: snapshot.mode,
    });
  };

  let running = true;
  let lastT = 0;
  let finish: () => void = () => {};
  let fail: (error: unknown) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const tick = () => {
    const t = scheduler.now() - start;
    lastT = t;
    const m = service.measure(knobs, t);
    digests++;
    tunedSum += m.tunedTrue;
    baselineSum += m.baselineTrue;
    if (t >= finalFrom) {
      finalTuned += m.tunedTrue;
      finalBaseline += m.baselineTrue;
      finalCount++;
    }
    smoothTuned = Number.isNaN(smoothTuned) ? m.tuned : smoothTuned + alpha * (m.tuned - smoothTuned);
    smoothBaseline = Number.isNaN(smoothBaseline)
      ? m.baseline
      : smoothBaseline + alpha * (m.baseline - smoothBaseline);
    // Stamped with the generation it was measured under: if the engine applied something in
    // between (outside observe), the digest is stale and the engine rejects it, as it should.
    engine.observe({ objective: m.tuned, generation, timestamp: scheduler.now() });
    knobs = knobsOf(engine);
    generation = engine.generation;
    const last = t + digestEveryMs > durationMs || options.signal?.aborted === true;
    // Report on schedule, and once more at the end so the last line shows the final state.
    if (t >= nextProgress || last) {
      while (nextProgress <= t) nextProgress += progressEveryMs;
      report(t);
    }
    if (last) {
      running = false;
      finish();
    }
  };
  // Scheduled anew each time (not `this.schedule`): on a VirtualTimeScheduler an action that
  // reschedules itself keeps every earlier one in memory.
  const repeat = (): void => {
    try {
      tick();
    } catch (error) {
      // A bug in the demo must end the run, not leave it waiting forever.
      running = false;
      fail(error);
    }
    if (running) scheduler.schedule(repeat, digestEveryMs);
  };
  scheduler.schedule(repeat, digestEveryMs);

  if (scheduler instanceof VirtualTimeScheduler) {
    // Run the whole session now: every action up to the end of the run, in time order.
    scheduler.maxFrames = start + durationMs + digestEveryMs;
    scheduler.flush();
  }
  try {
    await finished;
  } finally {
    await engine.close();
    events.unsubscribe();
  }
  return {
    elapsedMs: lastT,
    digests,
    improvement: 1 - tunedSum / baselineSum,
    finalImprovement: 1 - finalTuned / finalBaseline,
    finalCost: finalTuned / finalCount,
    finalBaselineCost: finalBaseline / finalCount,
    optimumAtEnd: optimalKnobs(conditionsAt(scenario, lastT)),
    snapshot: engine.snapshot(),
    auditEvents,
  };
}

/** The engine's live knobs as {@link QueueingKnobs} (registry order: batchSize, timeoutMs). */
function knobsOf(engine: Engine<DemoKnob>): QueueingKnobs {
  return { batchSize: engine.value("batchSize"), timeoutMs: engine.value("timeoutMs") };
}
