/**
 * The hand-tuned reference of the B5 suite: plain constant-gain two-sided SPSA.
 *
 * @remarks
 * Unit-cube coordinates (the engine's registry mapping, log knobs in log space). One iteration is
 * three applies, one digest each: the plus point θ + cΔ, the minus point θ − cΔ, then the new
 * centre θ ← θ − a·(y⁺ − y⁻)/(u⁺ − u⁻) (the centre's digest is not used). No smoothing, no
 * adaptation, no safety layer. Moves obey maxDelta with the same accounting the engine uses: the
 * half-width is at most half a knob's budget b at the centre and the step at most b − c. A
 * non-finite measurement is skipped (the point stays live for the next digest).
 */

import { StepLimits } from "../../src/engine/spsa/step-limits.js";
import { Prng } from "../../src/random/prng.js";
import { ParamRegistry, type ParamSpec } from "../../src/space/param-registry.js";

/** A gain pair of the reference grid (unit-cube units). */
export interface ReferenceGains {
  readonly a: number;
  readonly c: number;
}

/** Plain two-sided SPSA stepping through plus → minus → centre, one digest each. */
export class ReferenceSpsa {
  /** The point to apply now, raw units (registry order). */
  readonly live: Float64Array;
  private readonly registry: ParamRegistry;
  private readonly limits: StepLimits;
  private readonly centre: Float64Array;
  private readonly plus: Float64Array;
  private readonly minus: Float64Array;
  private readonly budget: Float64Array;
  private readonly prng: Prng;
  private readonly gains: ReferenceGains;
  private phase = 0;
  private yPlus = 0;
  /** Tick at which the centre first moved (−1 until then). */
  firstCentreMove = -1;

  constructor(params: Readonly<Record<string, ParamSpec>>, gains: ReferenceGains, seed: number) {
    this.registry = new ParamRegistry(params);
    this.limits = new StepLimits(this.registry);
    const n = this.registry.size;
    this.centre = new Float64Array(n);
    this.plus = new Float64Array(n);
    this.minus = new Float64Array(n);
    this.budget = new Float64Array(n);
    this.live = new Float64Array(n);
    this.prng = Prng.fromSeed(seed, 7007);
    this.gains = gains;
    for (let i = 0; i < n; i++) this.centre[i] = this.registry.toUnit(i, this.registry.init[i]!);
    this.begin();
  }

  /** Feeds tick t's measurement at the live point; moves the live point for the next tick. */
  record(t: number, y: number): void {
    if (!Number.isFinite(y)) return;
    const n = this.registry.size;
    if (this.phase === 0) {
      this.yPlus = y;
      this.phase = 1;
      this.setLive(this.minus);
    } else if (this.phase === 1) {
      const dy = this.yPlus - y;
      let moved = false;
      for (let i = 0; i < n; i++) {
        const separation = this.plus[i]! - this.minus[i]!;
        if (separation === 0) continue;
        const h = Math.abs(separation) / 2;
        const limit = this.budget[i]! - h;
        let s = (-this.gains.a * dy) / separation;
        if (s > limit) s = limit;
        else if (s < -limit) s = -limit;
        const next = clamp(this.centre[i]! + s);
        if (next !== this.centre[i]) moved = true;
        this.centre[i] = next;
      }
      if (moved && this.firstCentreMove < 0) this.firstCentreMove = t + 1;
      this.phase = 2;
      this.setLive(this.centre);
    } else this.begin();
  }

  private begin(): void {
    const n = this.registry.size;
    for (let i = 0; i < n; i++) {
      const u = this.centre[i]!;
      const b = this.limits.unitMaxDelta(i, u);
      const h = Math.min(this.gains.c, b / 2);
      const d = this.prng.sign();
      this.budget[i] = b;
      this.plus[i] = clamp(u + h * d);
      this.minus[i] = clamp(u - h * d);
    }
    this.phase = 0;
    this.setLive(this.plus);
  }

  private setLive(unit: Float64Array): void {
    for (let i = 0; i < unit.length; i++) this.live[i] = this.registry.toRaw(i, unit[i]!);
  }
}

function clamp(u: number): number {
  return u < 0 ? 0 : u > 1 ? 1 : u;
}
