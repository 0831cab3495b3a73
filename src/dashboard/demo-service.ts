/**
 * A small simulated service for `arqon dashboard --demo`: two knobs, a noisy cost with a drifting
 * optimum, measured every few milliseconds and fed to an engine on the given scheduler.
 *
 * @remarks
 * The cost is `10 + 12·(u_b − b*(t))² + 8·(u_t − 0.35)²` ms per request in unit-cube coordinates
 * of the knobs (`u_b` for the batch size, `u_t` for the timeout), where the best batch size
 * `b*(t) = 0.45 + 0.15·sin(2πt / 60 s)` wanders over a minute, times log-normal noise (σ = 0.05)
 * from a seeded {@link Prng}. Beside it runs an untuned twin: the same service left at the starting
 * knobs, with its own noise stream, reported as the mean of every {@link TWIN_EVERY} digests (one
 * evaluation window's worth), so the dashboard's baseline follows the drift the tuner fights. It is
 * deliberately simple: the dashboard needs a live engine that
 * moves, not a faithful model (the richer queueing model lives in `examples/sim/`).
 */
import { type Observable, type SchedulerLike, Subject, type Subscription } from "rxjs";
import { createEngine, type Engine } from "../engine/engine.js";
import { Prng } from "../random/prng.js";
import type { DashboardUnits, TwinPoint } from "./source.js";

/** Digests per point of the untuned twin. */
export const TWIN_EVERY = 5;

/** Units of the demo service, for the dashboard's axes. */
export const DEMO_UNITS: DashboardUnits = {
  objective: "ms",
  params: { batchSize: "requests", timeoutMs: "ms" },
};

/** The knobs of the demo service, in raw units. */
export const DEMO_KNOBS = {
  batchSize: { min: 1, max: 128, init: 16, maxDelta: 6 },
  timeoutMs: { min: 10, max: 500, init: 300, maxDelta: 25 },
} as const;

/** The noise-free cost (ms per request) of `batchSize` and `timeoutMs` at `t` ms into the run. */
export function demoCost(batchSize: number, timeoutMs: number, t: number): number {
  const ub = (batchSize - DEMO_KNOBS.batchSize.min) / (DEMO_KNOBS.batchSize.max - DEMO_KNOBS.batchSize.min);
  const ut = (timeoutMs - DEMO_KNOBS.timeoutMs.min) / (DEMO_KNOBS.timeoutMs.max - DEMO_KNOBS.timeoutMs.min);
  const best = 0.45 + 0.15 * Math.sin((2 * Math.PI * t) / 60_000);
  return 10 + 12 * (ub - best) ** 2 + 8 * (ut - 0.35) ** 2;
}

/** Options of {@link startDemoService}. */
export interface DemoServiceOptions {
  /** The engine's clock and the digest timer (e.g. RxJS `asyncScheduler` for real time). */
  readonly scheduler: SchedulerLike;
  /** Seed of the engine and of the noise (default 7). */
  readonly seed?: number;
  /** One digest every this many ms (default 20). */
  readonly digestEveryMs?: number;
}

/** A running demo: the engine and how to stop it. */
export interface DemoService {
  readonly engine: Engine;
  /** The untuned twin's measurements (hot: subscribe before the first one you want). */
  readonly twin: Observable<TwinPoint>;
  /** Stops the digests and closes the engine. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Creates an engine tuning the demo service and starts feeding it one digest every
 * `digestEveryMs` on `scheduler`, stamped with the generation live while it was measured.
 */
export function startDemoService(options: DemoServiceOptions): DemoService {
  const { scheduler } = options;
  const seed = options.seed ?? 7;
  const every = options.digestEveryMs ?? 20;
  const engine = createEngine({
    seed,
    runId: `arqon-dashboard-demo-${seed}`,
    params: DEMO_KNOBS,
    spsa: { a: "auto", c: 0.02, calibrationIterations: 6 },
    guardrails: "balanced",
    scheduler,
  });
  const noise = Prng.fromSeed(seed, 0xda5);
  const twinNoise = Prng.fromSeed(seed, 0x7a1);
  const twin = new Subject<TwinPoint>();
  let twinSum = 0;
  let twinCount = 0;
  const start = scheduler.now();
  // The knobs live during the current measurement interval and their generation: if the engine
  // applies between two digests, the next digest is stale and rightly rejected.
  let batchSize = engine.values[0]!;
  let timeoutMs = engine.values[1]!;
  let generation = engine.generation;
  let running = true;
  // Each tick schedules the next as a new action: a virtual-time action rescheduling itself would
  // chain every tick to the previous one, and unsubscribing a long chain overflows the stack.
  const tick = () => {
    if (!running) return;
    const t = scheduler.now() - start;
    const cost = demoCost(batchSize, timeoutMs, t) * Math.exp(0.05 * noise.normal() - 0.00125);
    engine.observe({ objective: cost, generation, timestamp: scheduler.now() });
    twinSum +=
      demoCost(DEMO_KNOBS.batchSize.init, DEMO_KNOBS.timeoutMs.init, t) *
      Math.exp(0.05 * twinNoise.normal() - 0.00125);
    if (++twinCount === TWIN_EVERY) {
      twin.next({ time: scheduler.now(), value: twinSum / twinCount });
      twinSum = 0;
      twinCount = 0;
    }
    batchSize = engine.values[0]!;
    timeoutMs = engine.values[1]!;
    generation = engine.generation;
    timer = scheduler.schedule(tick, every);
  };
  let timer: Subscription = scheduler.schedule(tick, every);
  let stopping: Promise<void> | undefined;
  return {
    engine,
    twin: twin.asObservable(),
    stop() {
      stopping ??= (async () => {
        running = false;
        timer.unsubscribe();
        twin.complete();
        await engine.close();
      })();
      return stopping;
    },
  };
}
