import type { ConfigIssue } from "../errors.js";
import { shownValue } from "../shown-value.js";
import {
  type FloatParamInput,
  type IntParamInput,
  isJsonValue,
  jsonKey,
  type ParamInput,
  type ParamValue,
} from "./params.js";
import { type Bound, fromUnit, toUnit } from "./scale.js";

/**
 * How a strategy should treat one coordinate of the unit cube: a continuum ("float"), ordered
 * cells ("int": an int, or a float with a step) or unordered ones ("categorical").
 */
export type DimensionKind = "float" | "int" | "categorical";

/** A condition on one coordinate: the parent's coordinate and the choice indexes that allow it. */
export interface DimensionCondition {
  readonly parent: number;
  readonly choices: readonly number[];
}

/**
 * What a strategy may know about one coordinate: its kind, its number of levels (the choices of a
 * categorical, the grid values of an int or of a float with a step; 0 for any other float) and
 * the conditions under which it is active (all must hold; empty for an unconditional one).
 */
export interface Dimension {
  readonly name: string;
  readonly kind: DimensionKind;
  readonly levels: number;
  readonly when: readonly DimensionCondition[];
}

/**
 * An ordered set of named parameters and the mapping between their values and the unit cube.
 *
 * @remarks
 * Order is the declaration order of the `bounds` object (JavaScript's own key order: integer-like
 * names such as `"1"` come first, in ascending order, then the others as written). Algorithms work
 * on dense unit-cube vectors in this order; users see named values.
 *
 * Every parameter owns one coordinate u ∈ [0, 1]:
 * - float: its range, linear or in log space ({@link fromUnit});
 * - int, categorical and a float on a grid: L equal cells, value k for u ∈ [k/L, (k+1)/L), so a
 *   uniform u gives every value the same chance; {@link Space.snap} moves u to its cell's centre
 *   (k + ½)/L. An int's L values are min, min + step, …, max; with a log scale the cells are equal
 *   in log space over [min − ½, max + ½], each value taking the share of that interval that rounds
 *   to it. A float with a `step` has the values of its grid: it is an int to the strategies.
 * A conditional parameter keeps a coordinate even when inactive: it is then absent from the
 * params and ignored by every strategy that knows the kinds.
 *
 * A float or int with min = max is fixed: it owns no coordinate (the strategies never see it, so
 * it does not count in the dimension they size their models by) and every trial where it is
 * active carries its one value. `names`, `specs` and `dimensions` list the tuned parameters;
 * {@link Space.declared} lists them all.
 */
export class Space {
  /** Every parameter's name, fixed ones included, in declaration order. */
  readonly declared: readonly string[];
  /** The tuned parameters (each owns a coordinate), in declaration order. */
  readonly names: readonly string[];
  readonly specs: readonly ParamInput[];
  readonly dimensions: readonly Dimension[];
  /** The fixed parameters (min = max), in declaration order. */
  readonly fixed: readonly FixedParam[];
  /** Coordinates in an order where every parent comes before its dependants. */
  readonly order: readonly number[];
  /** Whether some parameter is categorical or conditional (not a plain box of numbers). */
  readonly mixed: boolean;
  /** Whether some parameter is an int or a categorical (has cells to snap to). */
  readonly discrete: boolean;
  private readonly choiceKeys: readonly (ReadonlyMap<string, number> | null)[];
  /** Each log-scale int's unit axis ({@link logAxis}), null for other parameters: snapped often. */
  private readonly logAxes: readonly (LogAxis | null)[];
  private readonly active: Uint8Array;
  /** Per declared parameter: its coordinate, or −1 − f for the f-th fixed parameter. */
  private readonly slots: Int32Array;

  constructor(bounds: Readonly<Record<string, ParamInput>>) {
    this.declared = Object.keys(bounds);
    this.names = this.declared.filter((name) => !isFixed(bounds[name]!));
    this.specs = this.names.map((name) => bounds[name]!);
    const index = new Map(this.names.map((name, i) => [name, i]));
    this.choiceKeys = this.specs.map((spec) =>
      spec.type === "categorical" ? new Map(spec.choices.map((c, i) => [jsonKey(c), i])) : null,
    );
    // A parent is a categorical, so never fixed: it always has a coordinate.
    const conditions = (spec: ParamInput): DimensionCondition[] =>
      Object.entries(spec.when ?? {}).map(([parent, values]) => {
        const p = index.get(parent)!;
        return { parent: p, choices: values.map((v) => this.choiceKeys[p]!.get(jsonKey(v))!) };
      });
    this.dimensions = this.specs.map((spec, i) => ({
      name: this.names[i]!,
      kind: kindOf(spec),
      levels: levelsOf(spec),
      when: conditions(spec),
    }));
    const fixedNames = this.declared.filter((name) => isFixed(bounds[name]!));
    this.fixed = fixedNames.map((name) => {
      const spec = bounds[name] as FloatParamInput | IntParamInput;
      return { name, spec, value: spec.min + 0, when: conditions(spec) };
    });
    this.slots = Int32Array.from(this.declared, (name) =>
      index.has(name) ? index.get(name)! : -1 - fixedNames.indexOf(name),
    );
    this.logAxes = this.specs.map((spec) =>
      spec.type === "int" && spec.scale === "log" ? logAxis(spec) : null,
    );
    this.order = topologicalOrder(this.dimensions);
    this.mixed = this.dimensions.some((d) => d.kind === "categorical" || d.when.length > 0);
    this.discrete = this.dimensions.some((d) => d.levels > 0);
    this.active = new Uint8Array(this.names.length);
  }

  get dimension(): number {
    return this.names.length;
  }

  /**
   * Unit-cube point → named values, in declaration order, fixed parameters included; inactive
   * conditional parameters are left out.
   */
  toParams(u: ArrayLike<number>): Record<string, ParamValue> {
    const active = this.activity(u);
    const params: Record<string, ParamValue> = {};
    for (let s = 0; s < this.slots.length; s++) {
      const i = this.slots[s]!;
      if (i >= 0) {
        if (active[i] === 1) params[this.names[i]!] = this.decode(i, u[i]!);
      } else {
        const fixed = this.fixed[-1 - i]!;
        if (conditionsHold(this.dimensions, fixed.when, u, active)) params[fixed.name] = fixed.value;
      }
    }
    return params;
  }

  /** Named values → unit-cube point; a parameter left out or undefined (inactive) gets the centre, 0.5. */
  toUnit(params: Readonly<Record<string, unknown>>): number[] {
    return this.names.map((name, i) => {
      const value = own(params, name);
      return value === undefined ? 0.5 : this.encode(i, value);
    });
  }

  /**
   * `params` with each categorical value replaced by a copy of the declared choice it equals (the
   * same JSON, whatever its keys' order), so that a told `{slope: 0, name: "relu"}` reads back as
   * the choice declared as `{name: "relu", slope: 0}`. Changes `params` in place and returns it.
   */
  asDeclaredChoices<T extends Record<string, unknown>>(params: T): T {
    for (let i = 0; i < this.names.length; i++) {
      const spec = this.specs[i]!;
      const name = this.names[i]!;
      if (spec.type !== "categorical" || !Object.hasOwn(params, name)) continue;
      const k = this.choiceKeys[i]!.get(jsonKey(params[name]));
      if (k !== undefined) (params as Record<string, unknown>)[name] = structuredClone(spec.choices[k]);
    }
    return params;
  }

  /**
   * The same point with every coordinate that has cells (an int, a categorical, a float with a
   * step) moved to the position of its value.
   */
  snap(u: readonly number[]): number[] {
    if (!this.discrete) return u as number[];
    // The cell's centre, (k + ½)/L, which decoding then encoding gives for an int on a linear
    // scale (whole numbers, so exactly) and a categorical; for a log-scale int its value's
    // position, through its value. TPE snaps every candidate it scores on such a space.
    const snapped: number[] = [];
    for (let i = 0; i < u.length; i++) {
      const x = u[i]!;
      const levels = this.dimensions[i]!.levels;
      if (levels === 0) snapped.push(x);
      else if (this.logAxes[i] !== null) snapped.push(this.encode(i, this.decode(i, x)));
      else snapped.push((cell(x, levels) + 0.5) / levels);
    }
    return snapped;
  }

  /**
   * The cell `u` measures, as a point: snapped, and every inactive coordinate at the centre, 0.5
   * (what an inactive coordinate holds changes nothing). Two points measure the same thing when
   * their cells are equal.
   */
  cellOf(u: readonly number[]): number[] {
    const snapped = this.snap(u);
    if (!this.mixed) return snapped;
    const active = this.activity(snapped);
    return snapped.map((x, i) => (active[i] === 1 ? x : 0.5));
  }

  /**
   * Width, in unit coordinates, of the cell that `u` falls in on coordinate `i`: the span of
   * positions that decode to the same value (for a log-scale int, the same integer's), 0 for a
   * float without a step.
   */
  cellWidth(i: number, u: number): number {
    const axis = this.logAxes[i] ?? null;
    if (axis !== null) {
      const v = this.decode(i, u) as number;
      return (Math.log(v + 0.5) - Math.log(v - 0.5)) / axis.span;
    }
    const levels = this.dimensions[i]!.levels;
    return levels === 0 ? 0 : 1 / levels;
  }

  /**
   * The branch of `u`, as a key: the choice of each active categorical parameter ("-" for an
   * inactive one, whose coordinate holds whatever its proposer left there and changes nothing).
   * Points of one branch are one function of their numbers: local methods hold the branch.
   */
  branch(u: ArrayLike<number>): string {
    const active = this.activity(u);
    let key = "";
    for (let i = 0; i < this.dimensions.length; i++) {
      const dim = this.dimensions[i]!;
      if (dim.kind !== "categorical") continue;
      key += active[i] === 1 ? `${cell(u[i]!, dim.levels)},` : "-,";
    }
    return key;
  }

  /**
   * Which coordinates are active at `u`, in a buffer reused by the next call (1 = active): a
   * parameter is active when every condition's parent is active and takes one of its choices.
   */
  activity(u: ArrayLike<number>): Uint8Array {
    const active = this.active;
    for (const i of this.order) active[i] = isActive(this.dimensions, i, u, active) ? 1 : 0;
    return active;
  }

  /**
   * Problems with a set of named values: unknown names, missing active parameters, values of the
   * wrong kind or outside the bounds, inactive parameters given a value, each under `path`. Empty
   * when valid.
   *
   * With `partial`, a parameter may be left out (a start point's, filled by the solver); one that
   * is given must then have its parents given too, so that the given values alone say whether it
   * is active.
   */
  problems(params: unknown, path: string, partial = false): ConfigIssue[] {
    if (typeof params !== "object" || params === null || Array.isArray(params)) {
      return [{ path, message: "expected an object of parameter values" }];
    }
    const out: ConfigIssue[] = [];
    const record = params as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!this.declared.includes(key)) out.push({ path: `${path}.${key}`, message: "unknown parameter" });
    }
    // Activity from the given values; a parent with a bad value leaves its dependants unchecked.
    // 1 active, 0 inactive, -1 unknown, -2 left to fill (partial only): see `statusOf`.
    const state = new Int8Array(this.names.length);
    const check = (name: string, when: readonly DimensionCondition[], problemOf: ProblemOf) => {
      const status = this.statusOf(when, record, state);
      if (status !== -2) {
        const unmet = () => this.unmetCondition(when, record, state);
        return this.checkValue(record, name, status, problemOf, partial, path, out, unmet);
      }
      if (own(record, name) === undefined) return -2; // left out, as its parent is
      const parent = this.names[when.find((c) => state[c.parent] === -2)!.parent]!;
      out.push({
        path: `${path}.${name}`,
        message: `given, but its parent ${parent} is left out (give ${parent} too, so that the point says whether ${name} is active)`,
      });
      return -1;
    };
    for (const i of this.order) {
      state[i] = check(this.names[i]!, this.dimensions[i]!.when, (v) => this.valueProblem(i, v));
    }
    // A fixed parameter's parents are categoricals, checked above.
    for (const { name, spec, when } of this.fixed) check(name, when, (v) => numberProblem(spec, v));
    return out;
  }

  /**
   * A parameter's status under `when` in the named values `record`, given its parents' in
   * `state`: 1 active, 0 inactive, −1 unknown (a parent's own value was missing or wrong), −2 up
   * to a parent left to fill (a partial point's). A condition that fails makes it inactive
   * whatever a parent left to fill takes.
   */
  private statusOf(
    when: readonly DimensionCondition[],
    record: Readonly<Record<string, unknown>>,
    state: Int8Array,
  ): number {
    let status = 1;
    for (const c of when) {
      const parent = state[c.parent]!;
      if (parent === -1) status = -1;
      else if (parent === -2) {
        if (status === 1) status = -2;
      } else if (status === 1 || status === -2) {
        const parentValue = own(record, this.names[c.parent]!);
        const k = parent === 1 ? this.choiceKeys[c.parent]!.get(jsonKey(parentValue)) : undefined;
        if (k === undefined || !c.choices.includes(k)) status = 0;
      }
    }
    return status;
  }

  /**
   * Which part of `when` fails for the named values `record` (a parameter {@link statusOf} found
   * inactive): the first parent that is inactive itself or holds another choice, as a message
   * shows it (`optimizer is "adam", not "sgd"`).
   */
  private unmetCondition(
    when: readonly DimensionCondition[],
    record: Readonly<Record<string, unknown>>,
    state: Int8Array,
  ): string {
    for (const c of when) {
      const parent = this.names[c.parent]!;
      // A parent left out of a partial point (−2) or with a bad value (−1) decided nothing.
      if (state[c.parent]! < 0) continue;
      if (state[c.parent] === 0) return `${parent} is not active`;
      const value = own(record, parent);
      const k = this.choiceKeys[c.parent]!.get(jsonKey(value));
      if (k !== undefined && c.choices.includes(k)) continue;
      const choices = (this.specs[c.parent] as { readonly choices: readonly unknown[] }).choices;
      const needed = c.choices.map((j) => JSON.stringify(choices[j]));
      const wanted = needed.length === 1 ? needed[0] : `one of ${needed.join(", ")}`;
      return `${parent} is ${JSON.stringify(value)}, not ${wanted}`;
    }
    return "a parent is not active"; // not reached: statusOf found one that fails
  }

  /**
   * Checks `record[name]` given the parameter's status (1 active, 0 inactive, −1 unknown) and
   * returns its status after the check: −1 when its value is wrong, or missing from a whole
   * point; −2 when a partial point leaves it to fill.
   */
  private checkValue(
    record: Readonly<Record<string, unknown>>,
    name: string,
    status: number,
    problemOf: ProblemOf,
    partial: boolean,
    path: string,
    out: ConfigIssue[],
    unmet: () => string,
  ): number {
    const value = own(record, name);
    if (status === 0) {
      if (value !== undefined)
        out.push({
          path: `${path}.${name}`,
          message: `given, but its condition (when) does not hold: ${unmet()}`,
        });
    } else if (status === 1) {
      if (value === undefined) {
        if (partial) return -2;
        out.push({ path: `${path}.${name}`, message: "missing" });
        return -1;
      }
      const problem = problemOf(value);
      if (problem !== null) {
        out.push({ path: `${path}.${name}`, message: problem });
        return -1;
      }
    }
    return status;
  }

  private valueProblem(i: number, value: unknown): string | null {
    const spec = this.specs[i]!;
    if (spec.type === "categorical") {
      return isJsonValue(value) && this.choiceKeys[i]!.has(jsonKey(value))
        ? null
        : `${shownValue(value)} is not one of the choices ${JSON.stringify(spec.choices)}`;
    }
    return numberProblem(spec, value);
  }

  private decode(i: number, u: number): ParamValue {
    const spec = this.specs[i]!;
    if (spec.type === "categorical") {
      const choice = spec.choices[cell(u, spec.choices.length)]!;
      // A copy of an object or array choice: the caller may change a trial's params freely.
      return typeof choice === "object" && choice !== null ? structuredClone(choice) : choice;
    }
    if (spec.type === "int") {
      if (spec.scale === "log") {
        const { lo, span } = this.logAxes[i]!;
        const raw = Math.round(Math.exp(lo + clamp01(u) * span));
        return raw < spec.min ? spec.min : raw > spec.max ? spec.max : raw;
      }
      const levels = this.dimensions[i]!.levels;
      return spec.min + cell(u, levels) * (spec.step ?? 1);
    }
    if (spec.step !== undefined) return gridValue(spec, spec.step, cell(u, this.dimensions[i]!.levels));
    return fromUnit(spec as Bound, u);
  }

  private encode(i: number, value: unknown): number {
    const spec = this.specs[i]!;
    const levels = this.dimensions[i]!.levels;
    if (spec.type === "categorical") return (this.choiceKeys[i]!.get(jsonKey(value))! + 0.5) / levels;
    const v = value as number;
    if (spec.type === "int") {
      if (spec.scale === "log") {
        const { lo, span } = this.logAxes[i]!;
        return (Math.log(v) - lo) / span;
      }
      return (Math.round((v - spec.min) / (spec.step ?? 1)) + 0.5) / levels;
    }
    if (spec.step !== undefined) return (Math.round((v - spec.min) / spec.step) + 0.5) / levels;
    return toUnit(spec as Bound, v);
  }
}

/** The problem of a given value as one parameter's, or null when it is one of its values. */
type ProblemOf = (value: unknown) => string | null;

/** A float or int that can take one value only (min = max): it owns no coordinate. */
export interface FixedParam {
  readonly name: string;
  readonly spec: FloatParamInput | IntParamInput;
  /** min (as 0 if min is −0). */
  readonly value: number;
  readonly when: readonly DimensionCondition[];
}

/** Whether a parameter is fixed: a float or an int whose min equals its max. */
export function isFixed(spec: ParamInput): boolean {
  return spec.type !== "categorical" && spec.min === spec.max;
}

/** The problem of `value` as a float's or an int's, or null when it is one of its values. */
function numberProblem(spec: FloatParamInput | IntParamInput, value: unknown): string | null {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    return `expected a finite number, got ${shownValue(value)}`;
  }
  if (spec.min === spec.max && value !== spec.min) {
    return `expected ${spec.min + 0}, the only value of a parameter with min = max, got ${value}`;
  }
  if (value < spec.min || value > spec.max) return `${value} is outside [${spec.min}, ${spec.max}]`;
  if (spec.type === "int") {
    const step = spec.step ?? 1;
    if (!Number.isInteger((value - spec.min) / step)) {
      return step === 1
        ? `expected a whole number, got ${value}`
        : `${value} is not on the grid ${spec.min} + k·${step}`;
    }
  } else if (spec.step !== undefined && gridIndex(spec.min, spec.step, value) === null) {
    const nearest = gridValue(spec, spec.step, Math.round((value - spec.min) / spec.step));
    return `${value} is not on the grid ${spec.min} + k·${spec.step} (the nearest value is ${nearest})`;
  }
  return null;
}

/** Where a log-scale int's unit axis starts, and its length, in log units. */
interface LogAxis {
  readonly lo: number;
  readonly span: number;
}

/** A log-scale int's unit axis: log(min − ½) at 0, log(max + ½) at 1, so every value gets a cell. */
function logAxis(spec: { readonly min: number; readonly max: number }): LogAxis {
  const lo = Math.log(spec.min - 0.5);
  return { lo, span: Math.log(spec.max + 0.5) - lo };
}

/** A float with a step has cells, as an int has. */
function kindOf(spec: ParamInput): DimensionKind {
  if (spec.type === "int" || spec.type === "categorical") return spec.type;
  return spec.step === undefined ? "float" : "int";
}

function levelsOf(spec: ParamInput): number {
  if (spec.type === "categorical") return spec.choices.length;
  if (kindOf(spec) === "float") return 0;
  // An int's grid or a float's: min, min + step, …, max.
  return Math.round((spec.max - spec.min) / (spec.step ?? 1)) + 1;
}

/**
 * How far a value may lie from min + k·step, in units of the largest magnitude involved, and
 * still be that grid value: a few roundings of doubles (each within 2^−53 of the value), so 0.3
 * is the third value of a grid of tenths though 0.3 / 0.1 is 2.9999999999999996. Where the
 * magnitudes are near the step's, a value a billionth of a step off is not on the grid; where
 * they are far larger, the doubles themselves are that coarse, and {@link finestStep} keeps the
 * tolerance within a quarter of a step.
 */
const GRID_ROUNDING = 4 * Number.EPSILON;

/**
 * The k of a float grid's value min + k·step, or null when `value` is not on the grid: `value`
 * must be min + k·step for a whole k to within {@link GRID_ROUNDING} of the largest of |min|,
 * |value| and |k·step|.
 */
export function gridIndex(min: number, step: number, value: number): number | null {
  const k = Math.round((value - min) / step);
  const exact = min + k * step;
  const size = Math.max(Math.abs(min), Math.abs(value), Math.abs(k * step));
  return Math.abs(value - exact) <= GRID_ROUNDING * size ? k : null;
}

/**
 * The smallest step a float's grid between `min` and `max` may have: 8 times the tolerance of
 * {@link gridIndex} at the larger of |min| and |max| (4 times where the grid straddles zero and
 * k·step reaches twice that), so that no value within the tolerance of one grid value is near
 * another and grid values stay distinct doubles (a step of 0.01 near 10^15, where doubles are
 * 0.125 apart, is refused; 1e-7 near 10^6 is not). Whole numbers that large are an int's.
 */
export function finestStep(min: number, max: number): number {
  return 8 * GRID_ROUNDING * Math.max(Math.abs(min), Math.abs(max));
}

/**
 * The k-th value of a float's grid, min + k·step, rounded to the decimals `min` and `step` are
 * written with (so a grid of tenths gives 0.3, not 0.30000000000000004) and kept within max.
 */
function gridValue(spec: FloatParamInput, step: number, k: number): number {
  return Math.min(Math.max(gridPoint(spec.min, step, k), spec.min), spec.max);
}

/** min + k·step, rounded to the decimals `min` and `step` are written with (see {@link gridValue}). */
export function gridPoint(min: number, step: number, k: number): number {
  if (k === 0) return min + 0; // a min written as −0 is 0, as on a float without a step
  const raw = min + k * step;
  const decimals = Math.max(decimalsOf(min), decimalsOf(step));
  // `+ 0`: toFixed writes a value rounded to zero from below as "-0.0", which reads back as −0.
  return (decimals <= 100 ? Number(raw.toFixed(decimals)) : raw) + 0;
}

/** Digits after the decimal point in the shortest text of `x` (1.5e-7 has 8). */
function decimalsOf(x: number): number {
  const [mantissa, exponent] = String(x).split("e");
  const fraction = mantissa!.split(".")[1]?.length ?? 0;
  return Math.max(0, fraction - Number(exponent ?? 0));
}

/** The cell k ∈ [0, levels) that u falls in (u outside [0, 1] counts as the nearest end). */
function cell(u: number, levels: number): number {
  const k = Math.floor(u * levels);
  return k >= 0 ? (k < levels ? k : levels - 1) : 0; // NaN falls through to 0
}

function clamp01(u: number): number {
  return u < 0 ? 0 : u > 1 ? 1 : u;
}

function isActive(
  dimensions: readonly Dimension[],
  i: number,
  u: ArrayLike<number>,
  active: Uint8Array,
): boolean {
  return conditionsHold(dimensions, dimensions[i]!.when, u, active);
}

/** Whether every condition of `when` holds at `u`, given its parents' activity in `active`. */
function conditionsHold(
  dimensions: readonly Dimension[],
  when: readonly DimensionCondition[],
  u: ArrayLike<number>,
  active: Uint8Array,
): boolean {
  for (const c of when) {
    if (active[c.parent] !== 1) return false;
    if (!c.choices.includes(cell(u[c.parent]!, dimensions[c.parent]!.levels))) return false;
  }
  return true;
}

/** Parents first (conditions are acyclic: the config validation refuses cycles). */
function topologicalOrder(dimensions: readonly Dimension[]): number[] {
  const order: number[] = [];
  const placed = new Uint8Array(dimensions.length);
  const place = (i: number): void => {
    if (placed[i] === 1) return;
    placed[i] = 1;
    for (const c of dimensions[i]!.when) place(c.parent);
    order.push(i);
  };
  for (let i = 0; i < dimensions.length; i++) place(i);
  return order;
}

/** `record[name]` when `record` has that key of its own (never an inherited member like `valueOf`). */
function own(record: Readonly<Record<string, unknown>>, name: string): unknown {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}
