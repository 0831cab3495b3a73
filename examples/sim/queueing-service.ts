/**
 * A simulated batching service for the engine demo: two knobs, a cost that is latency plus a
 * penalty for timed-out and shed requests, an optimum that drifts, and seeded noise.
 *
 * @remarks
 * The model (all times in milliseconds, rates per millisecond):
 *
 * Requests arrive at rate λ and are grouped into batches of `batchSize` b (fractional sizes stand
 * for a mix of the two neighbouring sizes). A batch is dispatched when it is full, so the mean
 * request waits (b − 1)/(2λ) for its batch to fill. One worker serves batches in order; a healthy
 * batch takes S = s₀ + s₁·b (a fixed per-batch overhead s₀, e.g. a downstream round trip, plus
 * s₁ per request). With probability h a batch hangs (a flaky downstream) and holds the worker
 * until the call's timeout `timeoutMs` T fires. The worker's occupancy per batch is therefore
 * Y = S (probability 1 − h) or T (probability h), its utilisation ρ = (λ/b)·E[Y], and the mean
 * queueing delay is the Pollaczek–Khinchine value W = (λ/b)·E[Y²] / (2(1 − ρ)). Above
 * {@link SATURATION} utilisation the queue is bounded: W keeps its value at the bound, grown
 * linearly with the excess, and the excess load 1 − 1/ρ (when ρ > 1) is shed.
 *
 * A healthy batch's wait is taken as exponential with mean W, so it times out when
 * W + S > T, with probability e^(−(T − S)/W) (1 when T ≤ S). A hung batch always times out. A
 * timed-out batch's requests are retried on a fallback path that takes R more. The cost of one
 * request, the number the demo minimises, is
 *
 *   cost = (b − 1)/(2λ) + (1 − h)·E[min(W + S, T)] + h·T + p_timeout·R + P·(p_timeout + p_shed),
 *
 * with p_timeout = h + (1 − h)·e^(−(T − S)/W) and P the penalty per failed request.
 *
 * Why each knob has its own best value: a larger batch amortises s₀ (lower ρ, shorter queue) but
 * waits longer to fill; a longer timeout cuts fewer slow-but-healthy batches but lets hung
 * batches hold the worker (and their requests) longer. So the best batch size grows with the
 * load λ and with the overhead s₀, and the best timeout grows with the healthy latency and
 * shrinks as hangs become more frequent.
 *
 * The scenario ({@link conditionsAt}) makes the conditions move over a run of length D: the load
 * swings ±15 % over one period D and jumps by a factor of 1.5 at D/2 (a traffic surge); the
 * per-batch overhead grows linearly by 25 % over the run; the hang probability swings between
 * 0.5·h₀ and 1.5·h₀ (starting at the top). So the optimum drifts slowly and shifts once, mid-run,
 * to a larger batch: over the default scenario the best batch size wanders between about 8 and
 * 10 before the surge, jumps to about 12.5 at it and grows to about 16 by the end, while the best
 * timeout drifts from about 11.5 ms to about 16.5 ms.
 *
 * Measurements ({@link noiseFactor}) are the model cost times a log-normal factor with mean 1
 * (σ = 0.06 by default): one standard-normal draw per digest from a seeded {@link Prng} stream,
 * so a run is reproducible and the tuned service and the frozen baseline can share each draw.
 */
import { Prng } from "arqon/testing";

/** The service's knobs, in raw units. */
export interface QueueingKnobs {
  /** Requests per batch (≥ 1; fractional values are averaged sizes). */
  readonly batchSize: number;
  /** Timeout of a batch's downstream call, ms. */
  readonly timeoutMs: number;
}

/** The environment the service runs in at one moment. */
export interface ServiceConditions {
  /** Request arrival rate λ, requests per ms. */
  readonly arrivalsPerMs: number;
  /** Fixed cost of serving one batch s₀, ms. */
  readonly batchOverheadMs: number;
  /** Cost per request in a batch s₁, ms. */
  readonly perRequestMs: number;
  /** Probability h that a batch's downstream call hangs until the timeout. */
  readonly hangProbability: number;
  /** Extra latency R of the fallback that serves a timed-out batch, ms. */
  readonly fallbackMs: number;
  /** Cost P charged per timed-out or shed request, in ms of latency. */
  readonly failurePenaltyMs: number;
}

/** The parts of a request's expected cost (all per request). */
export interface CostBreakdown {
  /** The objective: latency plus the failure penalty, ms. */
  readonly cost: number;
  /** Expected latency (fill wait, queue, service or timeout, fallback), ms. */
  readonly latencyMs: number;
  /** Mean wait for the batch to fill, ms. */
  readonly fillMs: number;
  /** Mean queueing delay W before a batch is served, ms. */
  readonly queueMs: number;
  /** Service time S of a healthy batch, ms. */
  readonly serviceMs: number;
  /** Worker utilisation ρ (above 1 the excess is shed). */
  readonly utilisation: number;
  /** Share of requests whose batch timed out. */
  readonly timeoutRate: number;
  /** Share of requests shed because the worker is overloaded. */
  readonly shedRate: number;
}

/** Utilisation above which the queue is treated as bounded (see the module notes). */
export const SATURATION = 0.95;

/** The range of each knob the demo lets the engine explore. */
export const KNOB_BOUNDS = Object.freeze({
  batchSize: Object.freeze({ min: 1, max: 128 }),
  timeoutMs: Object.freeze({ min: 5, max: 250 }),
});

/**
 * The expected per-request cost of running with `knobs` under `conditions` (the noise-free
 * objective). Pure and deterministic; knobs outside {@link KNOB_BOUNDS} are still evaluated.
 */
export function serviceCost(knobs: QueueingKnobs, conditions: ServiceConditions): CostBreakdown {
  const b = Math.max(1, knobs.batchSize);
  const timeout = Math.max(0, knobs.timeoutMs);
  const { arrivalsPerMs: lambda, hangProbability: h } = conditions;
  const service = conditions.batchOverheadMs + conditions.perRequestMs * b;
  const batchesPerMs = lambda / b;
  const meanOccupancy = (1 - h) * service + h * timeout;
  const occupancySquare = (1 - h) * service * service + h * timeout * timeout;
  const utilisation = batchesPerMs * meanOccupancy;
  const bounded = Math.min(utilisation, SATURATION);
  let queue = (batchesPerMs * occupancySquare) / (2 * (1 - bounded));
  // A saturated queue keeps growing with the excess instead of diverging.
  if (utilisation > SATURATION) queue *= 1 + 20 * (utilisation - SATURATION);
  const shedRate = utilisation > 1 ? 1 - 1 / utilisation : 0;
  const fillMs = (b - 1) / (2 * lambda);
  const slack = timeout - service;
  const cut = slack > 0 ? Math.exp(-slack / Math.max(queue, 1e-9)) : 1;
  const healthyTime = slack > 0 ? service + queue * (1 - cut) : timeout;
  const timeoutRate = h + (1 - h) * cut;
  const latencyMs = fillMs + (1 - h) * healthyTime + h * timeout + timeoutRate * conditions.fallbackMs;
  return {
    cost: latencyMs + conditions.failurePenaltyMs * (timeoutRate + shedRate),
    latencyMs,
    fillMs,
    queueMs: queue,
    serviceMs: service,
    utilisation,
    timeoutRate,
    shedRate,
  };
}

/** How the conditions move over a run (see the module notes). */
export interface QueueingScenario {
  /** Length D of the run, ms (the drift period; the surge comes at D/2). */
  readonly durationMs: number;
  /** Conditions at t = 0 before any drift. */
  readonly base: ServiceConditions;
  /** Relative amplitude of the load's swing over one period. */
  readonly loadSwing: number;
  /** Factor by which the load jumps at `surgeAtMs`. */
  readonly surgeFactor: number;
  /** When the load jumps, ms from the start. */
  readonly surgeAtMs: number;
  /** Relative growth of the per-batch overhead over the run. */
  readonly overheadGrowth: number;
  /** Relative amplitude of the hang probability's swing. */
  readonly hangSwing: number;
  /** σ of the log-normal measurement noise. */
  readonly noise: number;
}

/** Conditions at the start of the default scenario: 1000 requests/s, 3 ms per batch, 2 % hangs. */
export const BASE_CONDITIONS: ServiceConditions = Object.freeze({
  arrivalsPerMs: 1,
  batchOverheadMs: 3,
  perRequestMs: 0.04,
  hangProbability: 0.02,
  fallbackMs: 20,
  failurePenaltyMs: 50,
});

/** The default scenario stretched over a run of `durationMs`. */
export function defaultScenario(durationMs: number): QueueingScenario {
  return {
    durationMs,
    base: BASE_CONDITIONS,
    loadSwing: 0.15,
    surgeFactor: 1.5,
    surgeAtMs: durationMs / 2,
    overheadGrowth: 0.25,
    hangSwing: 0.5,
    noise: 0.06,
  };
}

/** The conditions `t` ms into a run of `scenario`. Pure. */
export function conditionsAt(scenario: QueueingScenario, t: number): ServiceConditions {
  const phase = (2 * Math.PI * t) / scenario.durationMs;
  const base = scenario.base;
  const surge = t >= scenario.surgeAtMs ? scenario.surgeFactor : 1;
  return {
    ...base,
    arrivalsPerMs: base.arrivalsPerMs * (1 + scenario.loadSwing * Math.sin(phase)) * surge,
    batchOverheadMs: base.batchOverheadMs * (1 + (scenario.overheadGrowth * t) / scenario.durationMs),
    hangProbability: base.hangProbability * (1 + scenario.hangSwing * Math.cos(phase)),
  };
}

/** The best knobs for some conditions and their cost. */
export interface OptimalKnobs {
  readonly knobs: QueueingKnobs;
  readonly cost: number;
}

/**
 * The knobs within {@link KNOB_BOUNDS} that minimise {@link serviceCost} under `conditions`:
 * a 64 × 64 grid search refined by three rounds of finer grids around the best cell. Pure; for
 * tests and reports (about 20 000 cost evaluations), not for a hot loop.
 */
export function optimalKnobs(conditions: ServiceConditions): OptimalKnobs {
  let lo: number[] = [KNOB_BOUNDS.batchSize.min, KNOB_BOUNDS.timeoutMs.min];
  let hi: number[] = [KNOB_BOUNDS.batchSize.max, KNOB_BOUNDS.timeoutMs.max];
  let best: OptimalKnobs = {
    knobs: { batchSize: lo[0]!, timeoutMs: lo[1]! },
    cost: Number.POSITIVE_INFINITY,
  };
  const steps = 64;
  for (let round = 0; round < 4; round++) {
    const db = (hi[0]! - lo[0]!) / steps;
    const dt = (hi[1]! - lo[1]!) / steps;
    for (let i = 0; i <= steps; i++) {
      for (let j = 0; j <= steps; j++) {
        const knobs = { batchSize: lo[0]! + i * db, timeoutMs: lo[1]! + j * dt };
        const cost = serviceCost(knobs, conditions).cost;
        if (cost < best.cost) best = { knobs, cost };
      }
    }
    lo = [
      Math.max(KNOB_BOUNDS.batchSize.min, best.knobs.batchSize - 2 * db),
      Math.max(KNOB_BOUNDS.timeoutMs.min, best.knobs.timeoutMs - 2 * dt),
    ];
    hi = [
      Math.min(KNOB_BOUNDS.batchSize.max, best.knobs.batchSize + 2 * db),
      Math.min(KNOB_BOUNDS.timeoutMs.max, best.knobs.timeoutMs + 2 * dt),
    ];
  }
  return best;
}

/** The multiplicative measurement noise for a standard-normal draw `z`: log-normal with mean 1. */
export function noiseFactor(z: number, sigma: number): number {
  return Math.exp(sigma * z - (sigma * sigma) / 2);
}

/** One digest's worth of measurement: the tuned service and the frozen baseline, same noise. */
export interface PairedMeasurement {
  /** Time into the run, ms. */
  readonly t: number;
  /** Noisy cost measured with the live (tuned) knobs. */
  readonly tuned: number;
  /** Noisy cost the untuned baseline would have measured (same conditions, same noise draw). */
  readonly baseline: number;
  /** Noise-free cost of the live knobs. */
  readonly tunedTrue: number;
  /** Noise-free cost of the baseline knobs. */
  readonly baselineTrue: number;
}

/**
 * The simulated service, measured side by side with its untuned twin.
 *
 * @remarks
 * Each {@link QueueingService.measure} call is one digest: it draws one normal number from the
 * seeded stream and applies the same noise factor to the tuned and the baseline cost, so the
 * comparison between them is not blurred by noise. Same seed and same calls ⇒ same numbers.
 */
export class QueueingService {
  /** The scenario being simulated. */
  readonly scenario: QueueingScenario;
  /** The knobs the untuned baseline keeps for the whole run. */
  readonly baselineKnobs: QueueingKnobs;
  private readonly prng: Prng;

  /**
   * @param scenario - how conditions move
   * @param baselineKnobs - the initial knobs, kept frozen for the baseline twin
   * @param seed - seed of the noise stream
   */
  constructor(scenario: QueueingScenario, baselineKnobs: QueueingKnobs, seed: number) {
    this.scenario = scenario;
    this.baselineKnobs = baselineKnobs;
    this.prng = Prng.fromSeed(seed, 0x9e3);
  }

  /** Measures one digest `t` ms into the run with the live `knobs`. */
  measure(knobs: QueueingKnobs, t: number): PairedMeasurement {
    const conditions = conditionsAt(this.scenario, t);
    const factor = noiseFactor(this.prng.normal(), this.scenario.noise);
    const tunedTrue = serviceCost(knobs, conditions).cost;
    const baselineTrue = serviceCost(this.baselineKnobs, conditions).cost;
    return { t, tuned: tunedTrue * factor, baseline: baselineTrue * factor, tunedTrue, baselineTrue };
  }
}
