import { Float64Block } from "../runtime/float64-block.js";
import type { Scale } from "./scale.js";

/** One tunable parameter of a live system, in raw units. */
export interface ParamSpec {
  /** Smallest allowed value (raw units). */
  readonly min: number;
  /** Largest allowed value (raw units); must exceed `min`. */
  readonly max: number;
  /** Starting value (default: the middle of the range, geometric for log scale). */
  readonly init?: number;
  /** The value a rollback returns to (default: `init`). */
  readonly baseline?: number;
  /**
   * Largest move of the live value per apply, raw units. An engine config fills it in from its
   * guardrail preset's share of the range (10 % balanced, 5 % conservative, 20 % aggressive);
   * a registry built without it takes 10 %.
   */
  readonly maxDelta?: number;
  /** "linear" (default) or "log" (needs min > 0): how SPSA's unit-cube steps map to raw values. */
  readonly scale?: Scale;
}

/** Default `maxDelta` as a fraction of each parameter's range. */
export const DEFAULT_MAX_DELTA_FRACTION = 0.1;

/**
 * The engine's parameters as dense, read-only typed arrays, plus raw ↔ unit mapping.
 *
 * @remarks
 * Index order is the declaration order of the `params` object (JavaScript key order: integer-like
 * names first). Everything the hot path needs is a typed array indexed by that order, so neither
 * tier ever looks a parameter up by name after construction. The registry is immutable and
 * shared by Tier 1 and Tier 2; it holds no live values. Fields are `declare`d so V8 keeps their
 * exact typed-array types (a plain field starts as `undefined` and loses them).
 */
export class ParamRegistry {
  declare readonly names: readonly string[];
  declare readonly size: number;
  declare readonly min: Float64Array;
  declare readonly max: Float64Array;
  declare readonly init: Float64Array;
  /** The values a rollback returns to until the first `setBaseline` (`init` where not given). */
  declare readonly baseline: Float64Array;
  declare readonly maxDelta: Float64Array;
  /** 1 where the parameter is searched in log space. */
  declare readonly log: Uint8Array;
  declare private readonly lo: Float64Array;
  declare private readonly span: Float64Array;
  declare private readonly indexByName: ReadonlyMap<string, number>;

  /** Builds a registry from validated specs (see the engine config schema for validation). */
  constructor(params: Readonly<Record<string, ParamSpec>>) {
    // Frozen: the engine hands this list out as `engine.names`, and the audit ring and the log key
    // every record by it, so a caller sorting it for display must not relabel the parameters.
    this.names = Object.freeze(Object.keys(params));
    const n = this.names.length;
    this.size = n;
    const block = new Float64Block(7 * n);
    this.min = block.take(n);
    this.max = block.take(n);
    this.init = block.take(n);
    this.baseline = block.take(n);
    this.maxDelta = block.take(n);
    this.log = new Uint8Array(n);
    this.lo = block.take(n);
    this.span = block.take(n);
    this.names.forEach((name, i) => {
      const p = params[name]!;
      const log = p.scale === "log";
      this.min[i] = p.min;
      this.max[i] = p.max;
      this.log[i] = log ? 1 : 0;
      this.lo[i] = log ? Math.log(p.min) : p.min;
      this.span[i] = log ? Math.log(p.max) - Math.log(p.min) : p.max - p.min;
      this.init[i] = p.init ?? this.toRaw(i, 0.5);
      this.baseline[i] = p.baseline ?? this.init[i]!;
      this.maxDelta[i] = p.maxDelta ?? DEFAULT_MAX_DELTA_FRACTION * (p.max - p.min);
    });
    this.indexByName = new Map(this.names.map((name, i) => [name, i]));
  }

  /** Index of a parameter name, or −1 when it is not registered. */
  indexOf(name: string): number {
    return this.indexByName.get(name) ?? -1;
  }

  /** Unit position → raw value of parameter `i`, clamped into [min, max]. Allocation-free. */
  toRaw(i: number, u: number): number {
    const x = this.lo[i]! + u * this.span[i]!;
    const raw = this.log[i] === 1 ? Math.exp(x) : x;
    const min = this.min[i]!;
    const max = this.max[i]!;
    return raw < min ? min : raw > max ? max : raw;
  }

  /** Raw value → unit position of parameter `i` (not clamped). Allocation-free. */
  toUnit(i: number, raw: number): number {
    const x = this.log[i] === 1 ? Math.log(raw) : raw;
    return (x - this.lo[i]!) / this.span[i]!;
  }

  /** Named raw values in registry order, as a plain object (allocates; not for the hot path). */
  toRecord(values: ArrayLike<number>): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.size; i++) out[this.names[i]!] = values[i]!;
    return out;
  }
}
