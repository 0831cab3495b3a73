/**
 * The simulated system the example tunes, in accelerated virtual time: the queueing service of
 * examples/sim, an engine embedded in it, and the history the charts draw.
 *
 * @remarks
 * The engine runs on a `VirtualTimeScheduler`. A browser timer advances that clock by
 * `speed × tickMs` every `tickMs` of real time, and each advance runs everything due in between:
 * one digest every 20 ms of service time, the engine's windows, applies and audit deliveries. So a
 * minute of service time passes in a few seconds on screen, and the charts fill at once. The
 * untuned twin of the service (same conditions, same noise) gives the baseline line.
 */

import { createEngine, type Engine } from "arqon";
import type { ExternalStore } from "arqon/react";
import { VirtualTimeScheduler } from "rxjs";
import { defaultScenario, type QueueingKnobs, QueueingService } from "../sim/queueing-service.js";
import { type DemoKnob, demoEngineConfig, INITIAL_KNOBS } from "../sim/tuning-session.js";

/** One point of the charts. */
export interface HistoryPoint {
  /** Service time, seconds since the start. */
  readonly t: number;
  /** Smoothed measured cost of the tuned service, ms per request. */
  readonly objective: number;
  /** Smoothed measured cost of the untuned twin, ms per request. */
  readonly baseline: number;
  /** Live knob values, registry order. */
  readonly values: readonly number[];
}

/** Knobs of the simulation. */
export interface SimulationOptions {
  /** Seed of the engine and of the service's noise (default 7). */
  readonly seed?: number;
  /** Service-time milliseconds per real millisecond (default 20). */
  readonly speed?: number;
  /** Real milliseconds between two advances of the clock (default 50). */
  readonly tickMs?: number;
  /** Length of the scenario (drift period, surge at half), service-time ms; it repeats (default 120 000). */
  readonly scenarioMs?: number;
  /** Points the history keeps (default 480, two minutes at one point per 250 ms). */
  readonly historyLength?: number;
}

const DIGEST_EVERY_MS = 20;
const SAMPLE_EVERY_MS = 250;
const SMOOTHING_MS = 1000;

/** The example's system: a clock, a simulated service, the engine tuning it, and the history. */
export class Simulation {
  /** The engine; closing it stops the simulation. */
  readonly engine: Engine<DemoKnob>;
  /** Speed-up of service time over real time. */
  readonly speed: number;
  /** History of the charts, as a React external store. */
  readonly history: ExternalStore<readonly HistoryPoint[]>;

  private readonly clock = new VirtualTimeScheduler();
  private readonly service: QueueingService;
  private readonly scenarioMs: number;
  private readonly historyLength: number;
  private readonly tickMs: number;
  private readonly points: HistoryPoint[] = [];
  private view: readonly HistoryPoint[] = [];
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private smoothTuned = Number.NaN;
  private smoothBaseline = Number.NaN;
  private nextSample = 0;
  private running = true;

  constructor(options: SimulationOptions = {}) {
    const seed = options.seed ?? 7;
    this.speed = options.speed ?? 20;
    this.tickMs = options.tickMs ?? 50;
    this.scenarioMs = options.scenarioMs ?? 120_000;
    this.historyLength = options.historyLength ?? 480;
    this.service = new QueueingService(defaultScenario(this.scenarioMs), INITIAL_KNOBS, seed);
    this.engine = createEngine(demoEngineConfig(this.clock, seed));
    this.history = {
      subscribe: (onChange) => {
        this.listeners.add(onChange);
        return () => this.listeners.delete(onChange);
      },
      getSnapshot: () => this.view,
    };
    lifecycle.started++;
    lifecycle.running++;
    // Closing the engine (useEngine does on unmount) completes its events: stop the clock then.
    this.engine.events.subscribe({
      complete: () => {
        lifecycle.running--;
        this.stop();
      },
    });
    this.scheduleDigests();
    this.timer = setInterval(() => this.advance(this.tickMs * this.speed), this.tickMs);
  }

  /** Stops advancing the clock (the engine itself is closed by its owner). */
  stop(): void {
    this.running = false;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One digest every {@link DIGEST_EVERY_MS} of service time, measured with the knobs then live. */
  private scheduleDigests(): void {
    // Scheduled anew each time (not `this.schedule`): on a VirtualTimeScheduler an action that
    // reschedules itself keeps every earlier one in memory, and this page may stay open for hours.
    const digest = (): void => {
      if (!this.running) return;
      this.measure();
      this.clock.schedule(digest, DIGEST_EVERY_MS);
    };
    this.clock.schedule(digest, DIGEST_EVERY_MS);
  }

  private measure(): void {
    const engine = this.engine;
    const now = this.clock.now();
    const knobs: QueueingKnobs = {
      batchSize: engine.value("batchSize"),
      timeoutMs: engine.value("timeoutMs"),
    };
    const m = this.service.measure(knobs, now % this.scenarioMs);
    const alpha = 1 - Math.exp(-DIGEST_EVERY_MS / SMOOTHING_MS);
    this.smoothTuned = Number.isNaN(this.smoothTuned)
      ? m.tuned
      : this.smoothTuned + alpha * (m.tuned - this.smoothTuned);
    this.smoothBaseline = Number.isNaN(this.smoothBaseline)
      ? m.baseline
      : this.smoothBaseline + alpha * (m.baseline - this.smoothBaseline);
    engine.observe({ objective: m.tuned, generation: engine.generation, timestamp: now });
    if (now >= this.nextSample) {
      this.nextSample = now + SAMPLE_EVERY_MS;
      this.points.push({
        t: now / 1000,
        objective: this.smoothTuned,
        baseline: this.smoothBaseline,
        values: Array.from(engine.values),
      });
      if (this.points.length > this.historyLength) this.points.shift();
    }
  }

  /** Moves service time forward by `ms`, running everything due, then publishes the history. */
  private advance(ms: number): void {
    const before = this.points.length === 0 ? undefined : this.points.at(-1);
    this.clock.maxFrames = this.clock.now() + ms;
    this.clock.flush();
    if (this.points.at(-1) !== before) {
      this.view = this.points.slice();
      for (const listener of [...this.listeners]) listener();
    }
  }
}

/**
 * How many simulations were started on this page and how many still run: the page shows it, so
 * that one can see React's StrictMode (two mounts in development) leave exactly one running.
 */
export const lifecycle = { started: 0, running: 0 };

const simulations = new WeakMap<Engine, Simulation>();

/** Starts a simulation and returns its engine (a `useEngine` factory); see {@link simulationOf}. */
export function startSimulation(options: SimulationOptions = {}): Engine {
  const simulation = new Simulation(options);
  simulations.set(simulation.engine, simulation);
  return simulation.engine;
}

/** The simulation an engine from {@link startSimulation} belongs to. */
export function simulationOf(engine: Engine): Simulation | undefined {
  return simulations.get(engine);
}
