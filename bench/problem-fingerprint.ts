/**
 * A B1 problem's fingerprint: a short hash of the problem as the code defines it now, so that a
 * recorded run (bench/optuna-record.ts) is read only for the problem it was measured on.
 *
 * @remarks
 * The hash is behavioural: the problem's name, its search space as Optuna is handed it (bounds;
 * for a mixed space every parameter's type, range, step, scale, choices and condition), its
 * minimum, and the observed and noiseless values at a fixed set of points of its domain (noise
 * included). A change to bounds, shift, noise level, noise salt or formula changes one of them.
 * The points come from a fixed low-discrepancy sequence, not from a PRNG or a sampler used by
 * the benchmarks, so a change to those never changes a fingerprint. Values are hashed at full
 * precision (`String(number)` round-trips); V8 computes `Math` functions the same on every CPU.
 */
import { createHash } from "node:crypto";
import type { B1Problem } from "./b1-problem.js";
import type { MixedParams, MixedSuiteProblem } from "./mixed-suite.js";

/** Points evaluated per problem: enough that a change anywhere in the formula shows. */
const POINTS = 24;

const cache = new WeakMap<B1Problem, string>();

/** The first `count` primes (the sequence's per-coordinate steps are their square roots). */
function primes(count: number): number[] {
  const found: number[] = [];
  for (let n = 2; found.length < count; n++) {
    if (found.every((p) => n % p !== 0)) found.push(n);
  }
  return found;
}

/**
 * Point `k` of a Kronecker sequence in [0, 1)^d: coordinate i is frac(½ + k·√p_i), p_i the i-th
 * prime. Deterministic and spread over the whole box.
 */
function unitPoint(k: number, d: number): number[] {
  return primes(d).map((p) => {
    const u = 0.5 + k * Math.sqrt(p);
    return u - Math.floor(u);
  });
}

/** A mixed space's point for unit coordinates `u` (one per declared parameter, parents first). */
function mixedPoint(problem: MixedSuiteProblem, u: readonly number[]): MixedParams {
  const point: Record<string, MixedParams[string]> = {};
  Object.entries(problem.bounds).forEach(([name, spec], i) => {
    const when = spec.when;
    const active =
      when === undefined ||
      Object.entries(when).every(
        ([parent, values]) =>
          parent in point && values.some((v) => JSON.stringify(v) === JSON.stringify(point[parent])),
      );
    if (!active) return;
    const t = u[i]!;
    if (spec.type === "categorical") {
      point[name] = spec.choices[Math.min(spec.choices.length - 1, Math.floor(t * spec.choices.length))]!;
    } else if (spec.type === "int") {
      const step = spec.step ?? 1;
      const count = Math.floor((spec.max - spec.min) / step) + 1;
      point[name] = spec.min + step * Math.min(count - 1, Math.floor(t * count));
    } else if (spec.scale === "log") {
      point[name] = Math.exp(Math.log(spec.min) + (Math.log(spec.max) - Math.log(spec.min)) * t);
    } else {
      point[name] = spec.min + (spec.max - spec.min) * t;
    }
  });
  return point;
}

/** What is hashed: the problem's description and its values at the fixed points. */
function description(problem: B1Problem): string[] {
  if (problem.kind === "mixed") {
    const d = Object.keys(problem.bounds).length;
    const values = Array.from({ length: POINTS }, (_, k) => {
      const point = mixedPoint(problem, unitPoint(k + 1, d));
      return `${JSON.stringify(point)}=${String(problem.evaluate(point))}`;
    });
    return ["mixed", problem.name, JSON.stringify(problem.bounds), String(problem.minimum), ...values];
  }
  const { fn, truth } = problem;
  const box = fn.names.map((name) => [fn.bounds[name]!.min, fn.bounds[name]!.max] as const);
  const values = Array.from({ length: POINTS }, (_, k) => {
    const x = unitPoint(k + 1, fn.dimension).map((t, i) => box[i]![0] + (box[i]![1] - box[i]![0]) * t);
    return `${String(fn.at(x))}/${String(truth(x))}`;
  });
  return [
    "continuous",
    fn.name,
    fn.names.map((name, i) => `${name}:[${box[i]![0]},${box[i]![1]}]`).join(" "),
    String(fn.minimum),
    ...values,
  ];
}

/**
 * The problem's fingerprint (12 hex digits), computed once per problem object: a run recorded
 * under another fingerprint was measured on another definition of the problem.
 */
export function problemFingerprint(problem: B1Problem): string {
  const known = cache.get(problem);
  if (known !== undefined) return known;
  const hash = createHash("sha256").update(description(problem).join("\n")).digest("hex").slice(0, 12);
  cache.set(problem, hash);
  return hash;
}
