/**
 * The B5 tracking suite's plants: drifting objectives that differ in what matters to a tracker.
 *
 * @remarks
 * Each plant describes its knobs as a user would (`params`, handed to `createEngine` unchanged),
 * a noise-free regret (loss above the best achievable at that tick, ≥ 0), noisy measurements, and
 * the engine-clock time of each digest. Drift is a function of the digest index t, so every method
 * faces the same path whatever its timing; timing only moves the engine's clock (windows that
 * close on time, rate limits, cooldowns).
 *
 * The quadratic plants live in a working coordinate z ∈ [−5, 5] per knob (a linear knob is z
 * itself; a log knob on [1, 10⁴] maps log10 onto it), loss (4/p)·Σ wᵢ(zᵢ − z*ᵢ(t))² with
 * w = (1, 2, 0.5, 1.5) repeated, times the plant's objective scale; the 4/p keeps the loss of a
 * typical error the same at every dimension. Noise is added in loss units before the scaling. The
 * queueing plant is `examples/sim/queueing-service.ts` with the demo's knobs and start.
 *
 * Randomness: noise, outliers, NaN and timing come from their own seeded streams, drawn a fixed
 * number of times per tick, so every method sees the same sequence for a seed.
 */

import {
  conditionsAt,
  defaultScenario,
  KNOB_BOUNDS,
  optimalKnobs,
  type QueueingScenario,
  type ServiceConditions,
  serviceCost,
} from "../../examples/sim/queueing-service.js";
import { Prng } from "../../src/random/prng.js";
import type { ParamSpec } from "../../src/space/param-registry.js";

/** Which half of the suite a plant belongs to. */
export type SuiteHalf = "development" | "validation";
/** How the optimum moves. */
export type DriftKind = "sinusoid" | "ramp" | "abrupt" | "recurring";
/** What the measurement noise looks like. */
export type NoiseKind = "small" | "large" | "heavy" | "nan";
/** When digests arrive. */
export type TimingKind = "regular" | "jitter" | "gaps" | "bursts";

/** Seeds of each half (BENCHMARKS-style protocol of issue 11). */
export const SUITE_SEEDS: Readonly<Record<SuiteHalf, readonly number[]>> = Object.freeze({
  development: Object.freeze([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
  validation: Object.freeze(Array.from({ length: 20 }, (_, i) => 101 + i)),
});

/** Nominal milliseconds between digests (one digest per tick). */
export const TICK_MS = 100;

/** One seeded run of a plant. */
export interface PlantRun {
  /** Noise-free loss above the tick's best (≥ 0, objective units) at raw values in registry order. */
  regret(t: number, raw: ArrayLike<number>): number;
  /** The noisy objective a digest reports at tick t (may be NaN on faulty plants). */
  measure(t: number, raw: ArrayLike<number>): number;
  /** Engine-clock time of tick t's digest, ms (non-decreasing). */
  readonly times: Float64Array;
}

/** A plant of the suite. */
export interface TrackingPlant {
  readonly name: string;
  readonly half: SuiteHalf;
  /** What sets it apart, in words. */
  readonly description: string;
  /** The knobs, as a user would declare them. */
  readonly params: Readonly<Record<string, ParamSpec>>;
  /** Digests (ticks) per run. */
  readonly ticks: number;
  /** Whether the telemetry has faults (non-finite values): SafeMode trips are allowed there. */
  readonly faulty: boolean;
  /** Recurring plants: the tick each regime visit starts at, and which regime it is (0 = A, 1 = B). */
  readonly visits?: readonly { readonly start: number; readonly regime: number }[];
  /** A seeded run. */
  run(seed: number): PlantRun;
}

const WEIGHTS = [1, 2, 0.5, 1.5];
const Z_HALF_RANGE = 5;

/** Options of a quadratic drifting plant. */
export interface QuadraticPlantOptions {
  readonly name: string;
  readonly half: SuiteHalf;
  readonly dimension: number;
  readonly drift: DriftKind;
  readonly noise: NoiseKind;
  /** Objective scale (1 by default). */
  readonly scale?: number;
  readonly timing?: TimingKind;
  /** Knob 0 is a log-scale knob on [1, 10⁴] (default false). */
  readonly logKnob?: boolean;
  readonly ticks: number;
}

/** z*ᵢ(t) of a drift kind (working coordinates). */
export function optimumPath(drift: DriftKind, t: number, i: number, ticks: number): number {
  const sign = i % 2 === 0 ? 1 : -1;
  switch (drift) {
    case "sinusoid":
      return 2 * Math.sin((2 * Math.PI * t) / 3000 + i);
    case "ramp":
      return sign * (-2.5 + (5 * t) / ticks) + 0.3 * Math.sin(i);
    case "abrupt": {
      const third = Math.floor((3 * t) / ticks);
      return sign * (third === 0 ? 1.5 : third === 1 ? -1.5 : 2.5);
    }
    case "recurring": {
      // Regimes A, B, A, B: each lasts a quarter of the run, A and B have distinct optima.
      const quarter = Math.floor((4 * t) / ticks);
      return quarter % 2 === 0 ? sign * 2 : -sign * 1.5 + 0.5;
    }
  }
}

/** The regime index at tick t of a recurring plant (0 = A, 1 = B). */
export function regimeAt(t: number, ticks: number): number {
  return Math.floor((4 * t) / ticks) % 2;
}

const NOISE_SD: Readonly<Record<NoiseKind, number>> = { small: 0.1, large: 1, heavy: 0.3, nan: 0.1 };

/** Digest times of a timing kind, from their own stream. */
export function digestTimes(timing: TimingKind, ticks: number, seed: number): Float64Array {
  const times = new Float64Array(ticks);
  const prng = Prng.fromSeed(seed, 5005);
  let now = 0;
  let burstLeft = 0;
  for (let t = 0; t < ticks; t++) {
    const u = prng.next();
    let gap = TICK_MS;
    if (timing === "jitter") gap = TICK_MS * (0.5 + u);
    else if (timing === "gaps" && u < 1 / 400) gap = 20_000;
    else if (timing === "bursts") {
      if (burstLeft > 0) {
        gap = 5;
        burstLeft--;
      } else if (u < 1 / 100) burstLeft = 9;
    }
    now += t === 0 ? 0 : gap;
    times[t] = now;
  }
  return times;
}

/** A noisy drifting quadratic (see the module remarks). */
export function quadraticPlant(o: QuadraticPlantOptions): TrackingPlant {
  const p = o.dimension;
  const scale = o.scale ?? 1;
  const timing = o.timing ?? "regular";
  const params: Record<string, ParamSpec> = {};
  for (let i = 0; i < p; i++) {
    const name = `k${String(i).padStart(2, "0")}`;
    params[name] =
      i === 0 && o.logKnob === true
        ? { min: 1, max: 10_000, init: 100, scale: "log", maxDelta: 200 }
        : { min: -Z_HALF_RANGE, max: Z_HALF_RANGE, init: 0, maxDelta: 1 };
  }
  const parts = [
    `p=${p}`,
    o.drift,
    `${o.noise} noise`,
    ...(scale !== 1 ? [`scale ${scale}`] : []),
    ...(o.logKnob === true ? ["log knob"] : []),
    ...(timing !== "regular" ? [`${timing} timing`] : []),
  ];
  const sd = NOISE_SD[o.noise];
  const norm = 4 / p;
  const toZ = (i: number, raw: number): number =>
    i === 0 && o.logKnob === true ? (Math.log10(raw) - 2) * 2.5 : raw;
  return {
    name: o.name,
    half: o.half,
    description: parts.join(", "),
    params,
    ticks: o.ticks,
    faulty: o.noise === "nan",
    ...(o.drift === "recurring"
      ? {
          visits: [0, 1, 2, 3].map((q) => ({
            start: Math.ceil((q * o.ticks) / 4),
            regime: regimeAt(Math.ceil((q * o.ticks) / 4), o.ticks),
          })),
        }
      : {}),
    run(seed: number): PlantRun {
      const noise = Prng.fromSeed(seed, 4004);
      const regret = (t: number, raw: ArrayLike<number>): number => {
        let f = 0;
        for (let i = 0; i < p; i++) {
          const e = toZ(i, raw[i]!) - optimumPath(o.drift, t, i, o.ticks);
          f += WEIGHTS[i % 4]! * e * e;
        }
        return scale * norm * f;
      };
      return {
        times: digestTimes(timing, o.ticks, seed),
        regret,
        measure(t, raw) {
          const z = noise.normal();
          const u = noise.next();
          const v = noise.next();
          let eps = sd * z;
          if (o.noise === "heavy" && u < 0.02) eps *= 20;
          if (o.noise === "nan" && v < 0.001) return Number.NaN;
          return regret(t, raw) + scale * eps;
        },
      };
    },
  };
}

/**
 * The queueing service of `npm start` (examples/sim/queueing-service.ts): two knobs, a surge
 * half-way, log-normal noise; regret against the best knobs of each tick (found once per plant by
 * a pattern search warm-started from the previous tick's optimum).
 */
export function queueingPlant(name: string, half: SuiteHalf, ticks: number): TrackingPlant {
  const scenario: QueueingScenario = defaultScenario(ticks * TICK_MS);
  let best: Float64Array | undefined;
  const bestCosts = (): Float64Array => {
    if (best !== undefined) return best;
    best = new Float64Array(ticks);
    let knobs = optimalKnobs(conditionsAt(scenario, 0)).knobs;
    let x = [knobs.batchSize, knobs.timeoutMs];
    for (let t = 0; t < ticks; t++) {
      const conditions = conditionsAt(scenario, t * TICK_MS);
      if (t > 0 && t * TICK_MS >= scenario.surgeAtMs && (t - 1) * TICK_MS < scenario.surgeAtMs) {
        knobs = optimalKnobs(conditions).knobs;
        x = [knobs.batchSize, knobs.timeoutMs];
      }
      const found = patternSearch(conditions, x);
      x = found.x;
      best[t] = found.cost;
    }
    return best;
  };
  return {
    name,
    half,
    description: "queueing service of `npm start` (2 knobs, drift + surge, log-normal noise σ 0.06)",
    params: {
      batchSize: { ...KNOB_BOUNDS.batchSize, init: 10, maxDelta: 3 },
      timeoutMs: { ...KNOB_BOUNDS.timeoutMs, init: 50, maxDelta: 10 },
    },
    ticks,
    faulty: false,
    run(seed: number): PlantRun {
      const costs = bestCosts();
      const noise = Prng.fromSeed(seed, 0x9e3);
      const regret = (t: number, raw: ArrayLike<number>): number => {
        const cost = serviceCost(
          { batchSize: raw[0]!, timeoutMs: raw[1]! },
          conditionsAt(scenario, t * TICK_MS),
        );
        return Math.max(0, cost.cost - costs[t]!);
      };
      return {
        times: digestTimes("regular", ticks, seed),
        regret,
        measure(t, raw) {
          const cost = serviceCost(
            { batchSize: raw[0]!, timeoutMs: raw[1]! },
            conditionsAt(scenario, t * TICK_MS),
          );
          const s = scenario.noise;
          return cost.cost * Math.exp(s * noise.normal() - (s * s) / 2);
        },
      };
    },
  };
}

function patternSearch(conditions: ServiceConditions, start: number[]): { x: number[]; cost: number } {
  const lo = [KNOB_BOUNDS.batchSize.min, KNOB_BOUNDS.timeoutMs.min];
  const hi = [KNOB_BOUNDS.batchSize.max, KNOB_BOUNDS.timeoutMs.max];
  const cost = (x: number[]): number => serviceCost({ batchSize: x[0]!, timeoutMs: x[1]! }, conditions).cost;
  let x = [...start];
  let fx = cost(x);
  let step = [0.5, 0.5];
  while (step[0]! > 1e-5 || step[1]! > 1e-5) {
    let improved = false;
    for (let i = 0; i < 2; i++) {
      for (const dir of [1, -1]) {
        const y = [...x];
        y[i] = Math.min(hi[i]!, Math.max(lo[i]!, y[i]! + dir * step[i]!));
        const fy = cost(y);
        if (fy < fx) {
          x = y;
          fx = fy;
          improved = true;
        }
      }
    }
    if (!improved) step = step.map((s) => s / 2);
  }
  return { x, cost: fx };
}

/** The suite: nine development plants and six validation plants (the latter never tuned on). */
export function trackingSuite(ticks: number): readonly TrackingPlant[] {
  return [
    quadraticPlant({
      name: "d1-sine-4",
      half: "development",
      dimension: 4,
      drift: "sinusoid",
      noise: "small",
      ticks,
    }),
    quadraticPlant({
      name: "d2-abrupt-16",
      half: "development",
      dimension: 16,
      drift: "abrupt",
      noise: "large",
      ticks,
    }),
    quadraticPlant({
      name: "d3-ramp-1-heavy",
      half: "development",
      dimension: 1,
      drift: "ramp",
      noise: "heavy",
      ticks,
    }),
    quadraticPlant({
      name: "d4-recurring-4",
      half: "development",
      dimension: 4,
      drift: "recurring",
      noise: "small",
      ticks,
    }),
    quadraticPlant({
      name: "d5-sine-4-milli-jitter",
      half: "development",
      dimension: 4,
      drift: "sinusoid",
      noise: "large",
      scale: 1e-3,
      timing: "jitter",
      ticks,
    }),
    queueingPlant("d6-queueing", "development", ticks),
    // Added after the first validation run, to reproduce on the development half the features
    // behind its failures (many knobs, telemetry gaps, NaN digests) with other drifts and sizes.
    quadraticPlant({
      name: "d7-ramp-64",
      half: "development",
      dimension: 64,
      drift: "ramp",
      noise: "small",
      ticks,
    }),
    quadraticPlant({
      name: "d8-sine-8-gaps",
      half: "development",
      dimension: 8,
      drift: "sinusoid",
      noise: "small",
      timing: "gaps",
      ticks,
    }),
    quadraticPlant({
      name: "d9-ramp-4-nan",
      half: "development",
      dimension: 4,
      drift: "ramp",
      noise: "nan",
      ticks,
    }),
    quadraticPlant({
      name: "v1-sine-64",
      half: "validation",
      dimension: 64,
      drift: "sinusoid",
      noise: "small",
      ticks,
    }),
    quadraticPlant({
      name: "v2-ramp-4-1e4",
      half: "validation",
      dimension: 4,
      drift: "ramp",
      noise: "large",
      scale: 1e4,
      ticks,
    }),
    quadraticPlant({
      name: "v3-sine-4-nan",
      half: "validation",
      dimension: 4,
      drift: "sinusoid",
      noise: "nan",
      ticks,
    }),
    quadraticPlant({
      name: "v4-abrupt-2-log",
      half: "validation",
      dimension: 2,
      drift: "abrupt",
      noise: "small",
      logKnob: true,
      ticks,
    }),
    quadraticPlant({
      name: "v5-recurring-16-gaps",
      half: "validation",
      dimension: 16,
      drift: "recurring",
      noise: "small",
      timing: "gaps",
      ticks,
    }),
    quadraticPlant({
      name: "v6-abrupt-1-heavy-bursts",
      half: "validation",
      dimension: 1,
      drift: "abrupt",
      noise: "heavy",
      timing: "bursts",
      ticks,
    }),
  ];
}
