/**
 * The simulated training run of the PRUNING benchmarks: over 100 steps the loss falls from 1
 * towards Hartmann-6 at the trial's parameters, at a rate set by x1 (τ = 5 + 25·x1 steps, so
 * curves cross), plus seeded Gaussian noise (σ = 0.01, a stream of its own per trial).
 */
import { hartmann6, Prng } from "../src/testing/index.js";

export const TRAINING_STEPS = 100;
const NOISE = 0.01;
const HARTMANN6 = hartmann6();

/** The loss at each step of trial `trialId`'s training under `seed`. */
export function trainingLoss(
  params: Record<string, number>,
  seed: number,
  trialId: number,
): (step: number) => number {
  const asymptote = HARTMANN6.evaluate(params);
  const tau = 5 + 25 * params.x1!;
  const noise = Prng.fromSeed(seed, trialId);
  return (step) => asymptote + (1 - asymptote) * Math.exp(-step / tau) + NOISE * noise.normal();
}
