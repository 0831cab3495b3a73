import { type Bound, fromUnit, toUnit } from "./scale.js";

/**
 * An ordered set of named parameters and the mapping between their raw values and the unit cube.
 *
 * @remarks
 * Order is the declaration order of the `bounds` object (JavaScript's own key order: integer-like
 * names such as `"1"` come first, in ascending order, then the others as written). Algorithms work
 * on dense unit-cube vectors in this order; users see named raw values.
 */
export class Space {
  readonly names: readonly string[];
  readonly bounds: readonly Bound[];

  constructor(bounds: Readonly<Record<string, Bound>>) {
    this.names = Object.keys(bounds);
    this.bounds = this.names.map((name) => bounds[name]!);
  }

  get dimension(): number {
    return this.names.length;
  }

  /** Unit-cube point → named raw values. */
  toParams(u: ArrayLike<number>): Record<string, number> {
    const params: Record<string, number> = {};
    for (let i = 0; i < this.names.length; i++) params[this.names[i]!] = fromUnit(this.bounds[i]!, u[i]!);
    return params;
  }

  /** Named raw values → unit-cube point (every name must be present). */
  toUnit(params: Readonly<Record<string, number>>): number[] {
    return this.names.map((name, i) => toUnit(this.bounds[i]!, params[name]!));
  }

  /**
   * Problems with a set of named raw values: missing or unknown names, non-numbers, values
   * outside the bounds. Empty when the point is valid.
   */
  problems(params: unknown, path: string): string[] {
    if (typeof params !== "object" || params === null || Array.isArray(params)) {
      return [`${path}: expected an object of parameter values`];
    }
    const out: string[] = [];
    const record = params as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!this.names.includes(key)) out.push(`${path}.${key}: unknown parameter`);
    }
    this.names.forEach((name, i) => {
      const value = record[name];
      const bound = this.bounds[i]!;
      if (value === undefined) out.push(`${path}.${name}: missing`);
      else if (typeof value !== "number" || !Number.isFinite(value)) {
        out.push(`${path}.${name}: expected a finite number, got ${describe(value)}`);
      } else if (value < bound.min || value > bound.max) {
        out.push(`${path}.${name}: ${value} is outside [${bound.min}, ${bound.max}]`);
      }
    });
    return out;
  }
}

function describe(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  return value === null ? "null" : typeof value;
}
