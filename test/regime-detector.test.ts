import { describe, expect, it } from "vitest";
import { resolveEngineConfig } from "../src/engine/config.js";
import { DEFAULT_HOMEOSTASIS_OPTIONS } from "../src/engine/safety/homeostasis-cache.js";
import {
  DEFAULT_REGIME_OPTIONS,
  PointKind,
  RegimeDetector,
  RegimeSignal,
  RegimeVerdict,
  regimeDetectorOptionIssues,
  regimeVerdictName,
} from "../src/engine/safety/regime-detector.js";
import { Prng } from "../src/random/prng.js";

/** The SPSA cycle's order of measured points with one-digest windows. */
const CYCLE = [PointKind.Plus, PointKind.Minus, PointKind.Centre] as const;
const SHIFT_AT = 200;

/**
 * Digests until the detector is ready to judge a level shift of `shift` σ at digest
 * {@link SHIFT_AT} (0 = the shifted digest itself), or −1 if it never is within `horizon`.
 */
function detectionDelay(seed: number, shift: number, horizon = 200): number {
  const prng = Prng.fromSeed(seed, 11);
  const detector = new RegimeDetector();
  for (let t = 0; t < SHIFT_AT + horizon; t++) {
    const y = 5 + prng.normal() + (t >= SHIFT_AT ? shift : 0);
    const signal = detector.observe(y, CYCLE[t % 3]!);
    if (signal === RegimeSignal.Rise && detector.confirmable) {
      if (t >= SHIFT_AT) return t - SHIFT_AT;
      detector.classify(0);
    }
  }
  return -1;
}

describe("RegimeDetector: detection delay and false alarms (seeded, measured bounds)", () => {
  it("judges a 10σ shift within 4 digests and a 50σ one within 2, on every seed", () => {
    // Measured over seeds 1–50: 10σ → 2 to 4 digests (mean 2.6); 50σ → always 2 (each digest adds
    // clip − slack = 7σ to S⁺, so the third crosses 20σ, and it has seen every kind by then).
    for (let seed = 1; seed <= 50; seed++) {
      const big = detectionDelay(seed, 10);
      expect(big).toBeGreaterThanOrEqual(2);
      expect(big).toBeLessThanOrEqual(4);
      expect(detectionDelay(seed, 50)).toBe(2);
    }
  });

  it("sees a 6σ shift on every seed, 7 digests late on average", () => {
    const delays = Array.from({ length: 50 }, (_, k) => detectionDelay(k + 1, 6));
    expect(delays.every((d) => d >= 0 && d <= 20)).toBe(true);
    const mean = delays.reduce((s, d) => s + d, 0) / delays.length;
    expect(mean).toBeLessThan(9);
  });

  it("raises no alarm in a million stationary Gaussian digests (false-alarm run length > 10⁶)", () => {
    let alarms = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const prng = Prng.fromSeed(seed, 12);
      const detector = new RegimeDetector();
      for (let t = 0; t < 50_000; t++) {
        const signal = detector.observe(3 + 0.2 * prng.normal(), CYCLE[t % 3]!);
        if (signal === RegimeSignal.Fall) alarms++;
        if (signal === RegimeSignal.Rise && detector.confirmable) {
          alarms++;
          detector.classify(0);
        }
      }
    }
    expect(alarms).toBe(0);
  });

  it("follows slow drift and convergence without an alarm", () => {
    const prng = Prng.fromSeed(3, 13);
    const detector = new RegimeDetector();
    let alarms = 0;
    for (let t = 0; t < 20_000; t++) {
      // A slow rise (drift) for 10 000 digests, then an exponential decay (a tuner converging).
      const level = t < 10_000 ? 0.001 * t : 10 * Math.exp(-(t - 10_000) / 2000);
      const signal = detector.observe(level + prng.normal(), CYCLE[t % 3]!);
      if (signal !== RegimeSignal.Quiet) alarms++;
    }
    expect(alarms).toBe(0);
  });

  it("ignores a lone outlier and a pair of them (each digest adds at most clip − slack)", () => {
    const detector = new RegimeDetector();
    const prng = Prng.fromSeed(4, 14);
    for (let t = 0; t < 100; t++) detector.observe(prng.normal(), CYCLE[t % 3]!);
    expect(detector.observe(1e6, PointKind.Plus)).toBe(RegimeSignal.Quiet);
    expect(detector.lastExtreme).toBe(true);
    expect(detector.observe(1e6, PointKind.Minus)).toBe(RegimeSignal.Quiet);
    expect(detector.observe(prng.normal(), PointKind.Centre)).toBe(RegimeSignal.Quiet);
    expect(detector.lastExtreme).toBe(false);
  });

  it("leaves out values beyond ±1e150: huge negative ones in the warm-up do not blind it", () => {
    const detector = new RegimeDetector();
    const prng = Prng.fromSeed(4, 15);
    // More than half the warm-up at the most negative double: its median would overflow the level.
    for (let t = 0; t < 13; t++) detector.observe(-Number.MAX_VALUE, CYCLE[t % 3]!);
    for (let t = 0; t < 200; t++) detector.observe(5 + prng.normal(), CYCLE[t % 3]!);
    let rose = false;
    for (let t = 0; t < 20 && !rose; t++)
      rose = detector.observe(15 + prng.normal(), CYCLE[t % 3]!) === RegimeSignal.Rise;
    expect(rose).toBe(true);
  });

  it("flags the jump that starts a shift even while noise keeps the rise sum above zero", () => {
    // Noise (or the perturbation's own cost) often leaves S⁺ a little above zero when a shift
    // lands: the jump must still be flagged (the estimate that straddles it is measured again)
    // and be the onset the verdict judges from.
    const detector = new RegimeDetector();
    const prng = Prng.fromSeed(7, 17);
    let t = 0;
    for (; t < 60; t++) detector.observe(10 + prng.normal(), CYCLE[t % 3]!);
    const sigma = detector.sigma;
    detector.observe(detector.referenceLevel + 4.5 * sigma, CYCLE[t++ % 3]!);
    expect(detector.riseSum).toBeGreaterThan(0);
    const shifted = (): number => 10 + 400 * sigma + prng.normal();
    detector.observe(shifted(), CYCLE[t++ % 3]!);
    expect(detector.lastExtreme).toBe(true);
    let signal: RegimeSignal = RegimeSignal.Quiet;
    while (!detector.confirmable && t < 80) signal = detector.observe(shifted(), CYCLE[t++ % 3]!);
    expect(signal).toBe(RegimeSignal.Rise);
    // Judged from the jump on: the 4.5σ digest before it is not part of the rise.
    expect(detector.riseSigmas).toBeGreaterThan(380);
    expect(detector.classify(0)).toBe(RegimeVerdict.Exogenous);
  });

  it("flags a cliff the tuner keeps probing only until an extreme digest has fed the sum", () => {
    const detector = new RegimeDetector();
    const prng = Prng.fromSeed(8, 18);
    for (let t = 0; t < 60; t++) detector.observe(prng.normal(), CYCLE[t % 3]!);
    expect(detector.observe(1e6, PointKind.Plus)).toBe(RegimeSignal.Quiet);
    expect(detector.lastExtreme).toBe(true);
    // Measured again right away: the excursion is under way, so this one is used, not re-measured.
    detector.observe(1e6, PointKind.Plus);
    expect(detector.lastExtreme).toBe(false);
  });

  it("signals a fall and re-learns the level after it", () => {
    const detector = new RegimeDetector();
    const prng = Prng.fromSeed(5, 15);
    for (let t = 0; t < 100; t++) detector.observe(100 + prng.normal(), CYCLE[t % 3]!);
    const signals: RegimeSignal[] = [];
    for (let t = 0; t < 5; t++) signals.push(detector.observe(50 + prng.normal(), CYCLE[t % 3]!));
    expect(signals).toContain(RegimeSignal.Fall);
    expect(detector.falls).toBe(1);
    for (let t = 0; t < DEFAULT_REGIME_OPTIONS.warmup; t++)
      detector.observe(50 + prng.normal(), CYCLE[t % 3]!);
    expect(detector.referenceLevel).toBeCloseTo(50, 0);
  });
});

describe("RegimeDetector: who moved the objective", () => {
  /** A detector that learnt level 10, σ ≈ 1, then saw a rise given per kind. */
  function risen(rise: Readonly<Record<PointKind, number>>): RegimeDetector {
    const detector = new RegimeDetector();
    const prng = Prng.fromSeed(6, 16);
    for (let t = 0; t < 60; t++) detector.observe(10 + prng.normal(), CYCLE[t % 3]!);
    for (let t = 0; t < 6; t++) {
      const kind = CYCLE[t % 3]!;
      detector.observe(10 + rise[kind] + prng.normal(), kind);
    }
    return detector;
  }

  it("an alike rise while the tuner stood still is exogenous", () => {
    const detector = risen({ [PointKind.Centre]: 40, [PointKind.Plus]: 41, [PointKind.Minus]: 39 });
    expect(detector.confirmable).toBe(true);
    expect(detector.kindsSeen).toBe(7);
    expect(detector.riseSigmas).toBeGreaterThan(20);
    expect(detector.classify(0.2)).toBe(RegimeVerdict.Exogenous);
    expect(detector.shifts).toBe(1);
    expect(detector.ready).toBe(false); // re-learning the new level
  });

  it("the same rise after the centre moved more than `reach` maxDeltas is the tuner's", () => {
    const detector = risen({ [PointKind.Centre]: 40, [PointKind.Plus]: 41, [PointKind.Minus]: 39 });
    expect(detector.classify(DEFAULT_REGIME_OPTIONS.reach + 0.1)).toBe(RegimeVerdict.Caused);
    expect(detector.regressions).toBe(1);
  });

  it("a rise on one perturbation side only is the tuner's (its perturbation did it)", () => {
    const detector = risen({ [PointKind.Centre]: 2, [PointKind.Plus]: 80, [PointKind.Minus]: 1 });
    expect(detector.classify(0)).toBe(RegimeVerdict.Caused);
  });

  it("classify without a rise under way says none", () => {
    const detector = new RegimeDetector();
    for (let t = 0; t < 40; t++) detector.observe(1 + 0.01 * (t % 5), CYCLE[t % 3]!);
    expect(detector.rising).toBe(false);
    expect(detector.classify(0)).toBe(RegimeVerdict.None);
    expect(regimeVerdictName(RegimeVerdict.Exogenous)).toBe("exogenous");
    expect(regimeVerdictName(9)).toBe("unknown");
  });
});

describe("RegimeDetector options", () => {
  it("names every bad field and why", () => {
    expect(regimeDetectorOptionIssues(undefined)).toEqual([]);
    expect(regimeDetectorOptionIssues({ warmup: 2, threshold: 0, typo: 1 }, "safety.regime")).toEqual([
      { path: "safety.regime.warmup", message: "must be a whole number from 4 to 4096, got 2" },
      { path: "safety.regime.threshold", message: "must be a finite number > 0 (σ), got 0" },
      expect.objectContaining({ path: "safety.regime.typo" }),
    ]);
    expect(regimeDetectorOptionIssues({ slack: 5, clip: 4 })).toEqual([
      { path: "regime.clip", message: "must be greater than slack" },
    ]);
    expect(() => new RegimeDetector({ levelRate: 2 })).toThrow(/levelRate: must be in \(0, 1\]/);
  });
});

describe("RegimeDetector defaults under windows of several digests", () => {
  const resolved = (config: object) =>
    resolveEngineConfig({ seed: 1, params: { x: { min: 0, max: 1 } }, ...config }).safety;

  it("span one SPSA cycle: the warm-up and confirmation limit cover three windows at least", () => {
    expect(resolved({}).regime).toEqual(DEFAULT_REGIME_OPTIONS);
    expect(resolved({ window: { digests: 8, ms: 500 } }).regime).toEqual(DEFAULT_REGIME_OPTIONS);
    expect(resolved({ window: { digests: 20, ms: 500 } }).regime).toEqual({
      ...DEFAULT_REGIME_OPTIONS,
      warmup: 60,
      confirmLimit: 60,
    });
    expect(resolved({ window: { digests: 20 } }).homeostasis).toEqual(DEFAULT_HOMEOSTASIS_OPTIONS);
    // The warm-up stays within what the option accepts; what the caller sets is used as given.
    expect(resolved({ window: { digests: 2000 } }).regime).toMatchObject({
      warmup: 4096,
      confirmLimit: 6000,
    });
    const set = resolved({ window: { digests: 20 }, safety: { regime: { warmup: 24, levelRate: 0.5 } } });
    expect(set.regime).toMatchObject({ warmup: 24, levelRate: 0.5, confirmLimit: 60 });
    expect(() => new RegimeDetector(resolved({ window: { digests: 2_097_152 } }).regime)).not.toThrow();
  });
});
