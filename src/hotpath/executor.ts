import type { ApplyKind } from "../audit/apply-kind.js";
import * as events from "../audit/events.js";
import type { AuditRing } from "../audit/ring.js";
import type { RollbackReason } from "../audit/rollback-reason.js";
import * as violation from "../audit/violation.js";
import type { ParamRegistry } from "../space/param-registry.js";
import type { Guardrails } from "./guardrails.js";
import type { LiveConfig } from "./live-config.js";

// Module-local copies of the codes used on the apply path: V8 (Node 20) reads an imported binding
// through a cell, checking that it is initialised, at every use, but folds a local const.
const { AuditRecordType } = events;
const { APPLIED, RESULT_CODE_COUNT, Violation } = violation;

/**
 * Details of the latest refusal, in one object reused for every refusal (read it right after a
 * non-zero result; the next refusal overwrites it).
 */
export interface ViolationDetails {
  /** The {@link Violation} code (0 before any refusal). */
  code: number;
  /** Parameter index, or −1 when the violation is not about one parameter. */
  param: number;
  /** The offending value (see each {@link Violation} code). */
  value: number;
  /** The limit it broke. */
  limit: number;
}

/**
 * Relative slack on maxDelta so that round-off in unit ↔ raw conversion cannot turn a move of
 * exactly maxDelta into a violation. See {@link Executor.apply}.
 */
export const MAX_DELTA_RELATIVE_TOLERANCE = 1e-9;

/** Absolute slack on maxDelta, in units of ε × the larger bound magnitude (see {@link Executor.apply}). */
export const MAX_DELTA_ROUNDING_ULPS = 8;

const RATE_WINDOW_MS = 1000;

/**
 * Whether an apply at `now` still has the earlier apply at `earlier` inside its rate window
 * (now − 1000 ms, now], i.e. whether now − earlier < 1000 in exact arithmetic. The difference is
 * computed with its rounding error (Knuth's two-sum), so fractional-millisecond times can neither
 * let an apply through that is a hair less than 1000 ms after `earlier` nor refuse one at exactly
 * 1000 ms. The independent SafetyMonitor evicts applies with the same exact test. Allocation-free:
 * the common case is one subtraction and one comparison.
 */
export function insideRateWindow(earlier: number, now: number): boolean {
  const diff = now - earlier;
  if (diff !== RATE_WINDOW_MS) return diff < RATE_WINDOW_MS;
  // diff rounded to exactly 1000: the sign of the rounding error decides (now − earlier = diff + err).
  const back = diff - now;
  const err = now - (diff - back) + (-earlier - back);
  return err < 0;
}

/** Scratch for {@link nextUp}: one double and its two 32-bit halves (no allocation per call). */
const NEXT_UP_BITS = new Float64Array(1);
const NEXT_UP_WORDS = new Uint32Array(NEXT_UP_BITS.buffer);
/** Index of the low 32-bit word of a double in {@link NEXT_UP_WORDS} (platform byte order). */
const LOW_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;

/** The least double greater than the finite `x`. */
function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  NEXT_UP_BITS[0] = x;
  const lo = LOW_WORD;
  const hi = 1 - LOW_WORD;
  // The bit pattern of a double orders like its magnitude: up is +1 for x > 0, −1 for x < 0.
  if (x > 0) {
    if (NEXT_UP_WORDS[lo] === 0xffffffff) {
      NEXT_UP_WORDS[lo] = 0;
      NEXT_UP_WORDS[hi]!++;
    } else NEXT_UP_WORDS[lo]!++;
  } else if (NEXT_UP_WORDS[lo] === 0) {
    NEXT_UP_WORDS[lo] = 0xffffffff;
    NEXT_UP_WORDS[hi]!--;
  } else NEXT_UP_WORDS[lo]!--;
  return NEXT_UP_BITS[0]!;
}

/**
 * The earliest time at which the apply at `oldest` has left the rate window: the least double `t`
 * with `insideRateWindow(oldest, t)` false (oldest + 1000, rounded up when rounding to nearest
 * fell short).
 */
function rateWindowEnd(oldest: number): number {
  const end = oldest + RATE_WINDOW_MS;
  return Number.isFinite(end) && insideRateWindow(oldest, end) ? nextUp(end) : end;
}

/**
 * Columns of the per-parameter table read by the apply loop, one row per parameter. LO and SPAN
 * repeat the registry's unit → raw mapping (`registry.toRaw`) with the same operations, so the
 * raw values written are bit-identical to `toRaw`.
 */
const LO = 0;
const SPAN = 1;
const MAX = 2;
/** maxDelta plus round-off slack (raw units). */
const LIMIT = 3;
const MIN = 4;
/** 1 for a log-scale parameter. */
const LOG = 5;
/** Row width when every parameter is linear: LO, SPAN, MAX, LIMIT (MIN = LO, no LOG needed). */
const LINEAR_STRIDE = 4; // mapLinear divides by it with `>> 2`
/** Row width when some parameter is log-scale. */
const GENERAL_STRIDE = 6;
// Results of the mapping pass.
const MAPPED = 0;
const BAD_COORDINATE = 1;
const TOO_FAR = 2;
// Slots of the numeric clock state (a Float64Array, so updates never box a number).
const LAST_APPLY = 0;
const COOLDOWN_UNTIL = 1;

/**
 * Tier 1: validates proposals all-or-nothing against the guardrails and the CURRENT live values,
 * and is the only writer of the {@link LiveConfig}. Every decision is audited.
 *
 * @remarks
 * Deterministic: the result depends only on the executor's state, the proposal and `now` (no
 * clock reads, no randomness). Hot path: `apply` allocates nothing, creates no closures, never
 * throws, and does O(size) work over preallocated typed arrays; a refusal is a small integer
 * code with details in {@link Executor.lastViolation}.
 */
export class Executor {
  /** Details of the latest refusal (reused object). */
  readonly lastViolation: ViolationDetails = { code: 0, param: -1, value: Number.NaN, limit: Number.NaN };
  /**
   * Mode word: word 0 non-zero means applies are refused with {@link Violation.Blocked}. The
   * control-safety layer may write it directly or call {@link Executor.setBlocked}.
   */
  readonly mode = new Uint8Array(1);
  /** Results so far, indexed by result code (0 = applied; rollbacks included). */
  readonly results = new Uint32Array(RESULT_CODE_COUNT);
  // Fields set in the constructor are `declare`d: a plain declaration would first define them as
  // undefined (class-field semantics), which makes V8 forget their exact types and re-check them
  // on every access in the apply loop (measured: about twice the cost per parameter).
  declare private readonly registry: ParamRegistry;
  declare private readonly live: LiveConfig;
  declare private readonly audit: AuditRing;
  declare private readonly size: number;
  declare private readonly maxUpdatesPerSecond: number;
  declare private minIntervalMs: number;
  /** Guardrails' minimum interval; conservative mode doubles the one in force. */
  declare private readonly baseMinIntervalMs: number;
  /** Fraction of each maxDelta in force: 1, or 0.5 in conservative mode. */
  declare private deltaScale: number;
  /** Whether every parameter is linear (the apply loop then skips the log branch and the lower clamp). */
  declare private readonly linear: boolean;
  /**
   * Whether some linear parameter's mapping can round above its max (lo + 1·span > max in floating
   * point); when none can, the linear loop skips the upper clamp and its table read.
   */
  declare private readonly clampLinear: boolean;
  /** Per-parameter constants for the apply loop, one row of `stride` values per parameter (see the column constants). */
  declare private readonly table: Float64Array;
  /** Times of the latest applies (ring of `maxUpdatesPerSecond` slots; empty when unlimited). */
  declare private readonly applyTimes: Float64Array;
  private rateNext = 0;
  private rateCount = 0;
  private readonly clock = new Float64Array([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]);

  /**
   * @param registry - Parameter bounds, scales and maxDelta (raw units).
   * @param live - The live config this executor alone writes; its size must match the registry.
   * @param guardrails - Resolved limits (see `resolveGuardrails`).
   * @param audit - Where every apply, refusal, rollback and baseline is recorded.
   * @throws RangeError when `live.size` differs from `registry.size` (construction only).
   */
  constructor(registry: ParamRegistry, live: LiveConfig, guardrails: Guardrails, audit: AuditRing) {
    if (live.size !== registry.size) {
      throw new RangeError(
        `live config has ${live.size} values but the registry has ${registry.size} parameters`,
      );
    }
    const n = registry.size;
    this.registry = registry;
    this.live = live;
    this.audit = audit;
    this.size = n;
    this.maxUpdatesPerSecond = guardrails.maxUpdatesPerSecond;
    this.minIntervalMs = guardrails.minIntervalMs;
    this.baseMinIntervalMs = guardrails.minIntervalMs;
    this.deltaScale = 1;
    const linear = registry.log.every((flag) => flag === 0);
    const stride = linear ? LINEAR_STRIDE : GENERAL_STRIDE;
    const table = new Float64Array(stride * n);
    let clampLinear = false;
    for (let i = 0; i < n; i++) {
      const min = registry.min[i]!;
      const max = registry.max[i]!;
      const log = registry.log[i] === 1;
      const row = stride * i;
      table[row + LO] = log ? Math.log(min) : min;
      table[row + SPAN] = log ? Math.log(max) - Math.log(min) : max - min;
      table[row + MAX] = max;
      table[row + LIMIT] = moveLimit(registry.maxDelta[i]!, min, max);
      if (!linear) {
        table[row + MIN] = min;
        table[row + LOG] = log ? 1 : 0;
      }
      // For u in [0, 1], lo + u·span ≤ lo + span in floating point too (rounding is monotonic), so
      // when that sum is within max the clamp can never change a value.
      if (table[row + LO]! + table[row + SPAN]! > max) clampLinear = true;
    }
    this.linear = linear;
    this.clampLinear = clampLinear;
    this.table = table;
    const slots = Number.isFinite(guardrails.maxUpdatesPerSecond) ? guardrails.maxUpdatesPerSecond : 0;
    this.applyTimes = new Float64Array(slots);
  }

  /** Generation of the live values. */
  get generation(): number {
    return this.live.generation;
  }

  /** Engine-clock time of the latest successful apply or rollback (−Infinity before the first). */
  get lastApplyAt(): number {
    return this.clock[LAST_APPLY]!;
  }

  /** Time until which applies are refused with {@link Violation.Cooldown} (−Infinity when none). */
  get cooldownUntil(): number {
    return this.clock[COOLDOWN_UNTIL]!;
  }

  /**
   * The earliest engine-clock time at which an apply passes the time rules (rate limit, minimum
   * interval, cooldown), given the applies so far; −Infinity when nothing holds it back. The
   * block and the target checks are not included. An apply at exactly this time is not refused
   * by those rules, so a caller can pace itself to it instead of collecting refusals.
   */
  applyAllowedAt(): number {
    let earliest = this.clock[LAST_APPLY]! + this.minIntervalMs;
    const slots = this.applyTimes.length;
    if (slots > 0 && this.rateCount === slots) {
      const byRate = rateWindowEnd(this.applyTimes[this.rateNext]!);
      if (byRate > earliest) earliest = byRate;
    }
    const cooldown = this.clock[COOLDOWN_UNTIL]!;
    return cooldown > earliest ? cooldown : earliest;
  }

  /** Whether applies are currently refused with {@link Violation.Blocked}. */
  get blocked(): boolean {
    return this.mode[0] !== 0;
  }

  /** Refuses (true) or allows (false) applies; rollbacks stay possible while blocked. */
  setBlocked(blocked: boolean): void {
    this.mode[0] = blocked ? 1 : 0;
  }

  /** Whether conservative limits are in force (maxDelta halved, minimum interval doubled). */
  get conservative(): boolean {
    return this.deltaScale !== 1;
  }

  /**
   * Switches SafeMode's conservative limits on or off: every maxDelta halved and the minimum
   * interval between applies doubled. Cold path (a mode change), O(size).
   */
  setConservative(on: boolean): void {
    this.deltaScale = on ? 0.5 : 1;
    this.minIntervalMs = on ? 2 * this.baseMinIntervalMs : this.baseMinIntervalMs;
    const stride = this.linear ? LINEAR_STRIDE : GENERAL_STRIDE;
    for (let i = 0; i < this.size; i++) {
      this.table[stride * i + LIMIT] = moveLimit(
        this.deltaScale * this.registry.maxDelta[i]!,
        this.registry.min[i]!,
        this.registry.max[i]!,
      );
    }
  }

  /** maxDelta of parameter `i` in force now (raw units): halved in conservative mode. */
  maxDeltaInForce(i: number): number {
    return this.deltaScale * this.registry.maxDelta[i]!;
  }

  /**
   * Refuses applies until `until` (engine-clock ms). A cooldown only ever extends: an earlier
   * `until` than the running one is ignored. Non-finite values other than −Infinity are ignored.
   */
  startCooldown(until: number): void {
    if (until === Number.POSITIVE_INFINITY || Number.isNaN(until)) return;
    if (until > this.clock[COOLDOWN_UNTIL]!) this.clock[COOLDOWN_UNTIL] = until;
  }

  /** Ends any running cooldown (operator reset). */
  clearCooldown(): void {
    this.clock[COOLDOWN_UNTIL] = Number.NEGATIVE_INFINITY;
  }

  /**
   * Validates a target point and, if every check passes, writes it as the new live generation.
   *
   * @param target - Target point in the UNIT cube, registry order (log parameters in log space).
   * @param proposalId - Recorded in the audit trail.
   * @param kind - What the apply is for (recorded).
   * @param now - Engine-clock milliseconds.
   * @returns 0 when applied, else a {@link Violation} code (details in {@link Executor.lastViolation}).
   *
   * @remarks
   * Checks, in this order (the first failure is reported; nothing is written on failure):
   * 1. `UnknownParameter` — `target.length` ≠ the number of parameters.
   * 2. `NonFinite` — any coordinate NaN or ±Infinity.
   * 3. `OutOfBounds` — any coordinate outside [0, 1].
   * 4. `DeltaTooLarge` — for any parameter, |toRaw(target) − live| > maxDelta. To absorb
   *    round-off, the comparison uses maxDelta·(1 + 1e−9) + 8·ε·max(|min|, |max|), far below any
   *    meaningful move.
   * 5. `InvalidTime` — `now` not finite.
   * 6. `RateLimited` — `maxUpdatesPerSecond` applies already within (now − 1000 ms, now]
   *    (tested exactly, as now − oldest of them < 1000 without round-off: see
   *    {@link insideRateWindow}).
   * 7. `MinInterval` — now < last apply + `minIntervalMs` (a clock going backwards fails too).
   * 8. `Cooldown` — now < the cooldown end.
   * 9. `Blocked` — the mode word is set.
   *
   * On success the raw values (bit-identical to `registry.toRaw`) are written, the generation is
   * bumped and an `apply` record is audited; on failure a `violation` record is audited.
   *
   * Hot path: no allocation, no exceptions, one pass over the target plus the copy. Cost grows
   * by a few ns per parameter; see `bench/hotpath.ts` for measured figures.
   */
  apply(target: Float64Array, proposalId: number, kind: ApplyKind, now: number): number {
    const n = this.size;
    if (target.length !== n)
      return this.refuse(Violation.UnknownParameter, -1, target.length, n, proposalId, now);
    // One pass maps each coordinate to raw units and measures its move. A bad coordinate stops the
    // pass (a classifying scan then applies the documented order); the moves are only compared
    // after the pass, because a bad coordinate later in the vector must still win.
    // The target is staged in the readers' mirror of the live values: nothing can read it while
    // this synchronous call runs, a refusal puts the live values back, and a success then copies
    // once (mirror → store) instead of twice (staging → store and mirror).
    const live = this.live;
    const mapped = this.linear
      ? mapLinear(target, this.table, live.values, live.mirror, n, this.clampLinear)
      : mapGeneral(target, this.table, live.values, live.mirror, n);
    if (mapped !== MAPPED) return this.refuseTarget(mapped, target, proposalId, now);
    const code = this.checkTime(now);
    if (code !== APPLIED) {
      live.restoreMirror();
      return this.refuseTime(code, proposalId, now);
    }
    const generation = live.commitMirror();
    this.recordApplyTime(now);
    this.results[APPLIED]!++;
    this.audit.write(AuditRecordType.Apply, now, generation, proposalId, kind, -1, 0, 0);
    return APPLIED;
  }

  /** Refuses a target the mapping pass rejected, then puts the live values back in the mirror (cold path). */
  private refuseTarget(mapped: number, target: Float64Array, proposalId: number, now: number): number {
    if (mapped === BAD_COORDINATE) {
      this.live.restoreMirror();
      return this.refuseCoordinates(target, proposalId, now);
    }
    const i = this.firstTooFar();
    const move = this.moveOf(i);
    this.live.restoreMirror();
    return this.refuse(Violation.DeltaTooLarge, i, move, this.maxDeltaInForce(i), proposalId, now);
  }

  /** Index of the first parameter whose staged move exceeds its limit (cold path). */
  private firstTooFar(): number {
    const stride = this.linear ? LINEAR_STRIDE : GENERAL_STRIDE;
    for (let i = 0; i < this.size; i++) {
      if (this.moveOf(i) > this.table[stride * i + LIMIT]!) return i;
    }
    return -1;
  }

  /**
   * Writes the baseline back as a NEW generation (never reusing the baseline's number).
   *
   * @param reason - Why (recorded).
   * @param now - Engine-clock milliseconds.
   * @param note - Optional text kept with the audit record (cold path, e.g. the host's reason).
   * @returns 0 when rolled back, {@link Violation.NoBaseline} when no baseline was set.
   *
   * @remarks
   * A rollback is the way back to safety, so it is not subject to maxDelta, the rate limit, the
   * minimum interval, the cooldown or the block. It does restart the minimum interval (the
   * system must settle before the next apply) but takes no slot of the rate limit, which paces
   * adaptation. It is audited as a `rollback` record.
   */
  rollback(reason: RollbackReason, now: number, note?: string): number {
    const live = this.live;
    if (!live.hasBaseline) {
      const code = this.refuse(Violation.NoBaseline, -1, Number.NaN, Number.NaN, -1, now);
      if (note !== undefined) this.audit.annotateLast(note);
      return code;
    }
    const restored = live.baselineGeneration;
    const generation = live.restoreBaseline();
    if (Number.isFinite(now)) this.clock[LAST_APPLY] = now;
    this.results[APPLIED]!++;
    this.audit.writeVector(
      AuditRecordType.Rollback,
      now,
      generation,
      -1,
      reason,
      -1,
      restored,
      0,
      live.values,
    );
    if (note !== undefined) this.audit.annotateLast(note);
    return APPLIED;
  }

  /** Makes the current live values (or `values`, a known-good point elsewhere) the baseline, and audits it. */
  setBaseline(now: number, values?: Float64Array): void {
    this.live.setBaseline(values);
    // Values elsewhere than the live point go with the record: no reader could tell them otherwise.
    if (values === undefined)
      this.audit.write(AuditRecordType.BaselineSet, now, this.live.generation, -1, 0, -1, 0, 0);
    else
      this.audit.writeVector(AuditRecordType.BaselineSet, now, this.live.generation, -1, 0, -1, 0, 0, values);
  }

  /** The time-based checks (5–9 of {@link Executor.apply}); 0 when all pass. */
  private checkTime(now: number): number {
    if (!Number.isFinite(now)) return Violation.InvalidTime;
    // The rate test is exact (insideRateWindow) and applyAllowedAt returns the least time that
    // passes it; the other rules are `now < earliest` sums, exactly as applyAllowedAt computes
    // them. Either way a caller that waits until applyAllowedAt() is never refused by round-off.
    const slots = this.applyTimes.length;
    if (slots > 0 && this.rateCount === slots && insideRateWindow(this.applyTimes[this.rateNext]!, now)) {
      return Violation.RateLimited;
    }
    if (now < this.clock[LAST_APPLY]! + this.minIntervalMs) return Violation.MinInterval;
    if (now < this.clock[COOLDOWN_UNTIL]!) return Violation.Cooldown;
    if (this.mode[0] !== 0) return Violation.Blocked;
    return APPLIED;
  }

  private refuseTime(code: number, proposalId: number, now: number): number {
    switch (code) {
      case Violation.RateLimited:
        return this.refuse(code, -1, this.rateCount, this.maxUpdatesPerSecond, proposalId, now);
      case Violation.MinInterval:
        return this.refuse(code, -1, now - this.clock[LAST_APPLY]!, this.minIntervalMs, proposalId, now);
      case Violation.Cooldown:
        return this.refuse(code, -1, now, this.clock[COOLDOWN_UNTIL]!, proposalId, now);
      case Violation.Blocked:
        return this.refuse(code, -1, this.mode[0]!, 0, proposalId, now);
      default:
        return this.refuse(code, -1, now, Number.NaN, proposalId, now);
    }
  }

  /** |staged − live| of parameter `i` (raw units), while a target is staged in the mirror. */
  private moveOf(i: number): number {
    const move = this.live.mirror[i]! - this.live.values[i]!;
    return move < 0 ? -move : move;
  }

  /** Classifies a target with a bad coordinate: any non-finite one first, else the first out of [0, 1]. */
  private refuseCoordinates(target: Float64Array, proposalId: number, now: number): number {
    const n = this.size;
    for (let i = 0; i < n; i++) {
      const u = target[i]!;
      if (!Number.isFinite(u)) return this.refuse(Violation.NonFinite, i, u, Number.NaN, proposalId, now);
    }
    for (let i = 0; i < n; i++) {
      const u = target[i]!;
      if (u < 0) return this.refuse(Violation.OutOfBounds, i, u, 0, proposalId, now);
      if (u > 1) return this.refuse(Violation.OutOfBounds, i, u, 1, proposalId, now);
    }
    return this.refuse(Violation.NonFinite, -1, Number.NaN, Number.NaN, proposalId, now);
  }

  private refuse(
    code: number,
    param: number,
    value: number,
    limit: number,
    proposalId: number,
    now: number,
  ): number {
    const details = this.lastViolation;
    details.code = code;
    details.param = param;
    details.value = value;
    details.limit = limit;
    this.results[code]!++;
    this.audit.write(
      AuditRecordType.Violation,
      now,
      this.live.generation,
      proposalId,
      code,
      param,
      value,
      limit,
    );
    return code;
  }

  private recordApplyTime(now: number): void {
    this.clock[LAST_APPLY] = now;
    const slots = this.applyTimes.length;
    if (slots === 0) return;
    this.applyTimes[this.rateNext] = now;
    this.rateNext = this.rateNext + 1 === slots ? 0 : this.rateNext + 1;
    if (this.rateCount < slots) this.rateCount++;
  }
}

/** A maxDelta plus the round-off slack that keeps a move of exactly maxDelta legal (raw units). */
function moveLimit(maxDelta: number, min: number, max: number): number {
  return (
    maxDelta * (1 + MAX_DELTA_RELATIVE_TOLERANCE) +
    MAX_DELTA_ROUNDING_ULPS * Number.EPSILON * Math.max(Math.abs(min), Math.abs(max))
  );
}

// The mapping kernels are plain functions over their arrays (not methods reading fields): V8 then
// checks each array once per call instead of on every element (measured ~10 % faster at 16).

/**
 * Maps a unit target of an all-linear registry to raw values in `staged` and compares each move
 * from `live` with its limit (table rows of {@link LINEAR_STRIDE}). With `clamp` false (no
 * parameter can round above its max, see `Executor.clampLinear`) the upper clamp is skipped.
 *
 * @returns `BAD_COORDINATE` when a coordinate is outside [0, 1] or not finite, else `TOO_FAR`
 * when some move exceeds its limit, else `MAPPED`. (A small integer on purpose: a double result
 * would be boxed, i.e. allocated, whenever the call is not inlined.)
 */
function mapLinear(
  target: Float64Array,
  table: Float64Array,
  live: Float64Array,
  staged: Float64Array,
  n: number,
  clamp: boolean,
): number {
  let excess = Number.NEGATIVE_INFINITY;
  // Four parameters per iteration: V8 re-checks every array (map, length, detached buffer) at the
  // top of each iteration, since the loop's interrupt check may run any code, so four at a time
  // pays those checks a quarter as often. The loop runs on the table row, bounded by a count V8
  // can see is below 2^16 (`n & 0xffff` ≤ n): it then knows that no index sum overflows and drops
  // the overflow checks. The tail loop takes whatever is left, so any `n` is handled.
  const small = n & 0xffff;
  const quads = small - (small & 3);
  const quadRowsEnd = quads * LINEAR_STRIDE;
  for (let row = 0; row < quadRowsEnd; row += 4 * LINEAR_STRIDE) {
    const i = row >> 2; // row / LINEAR_STRIDE
    const r1 = row + LINEAR_STRIDE;
    const r2 = r1 + LINEAR_STRIDE;
    const r3 = r2 + LINEAR_STRIDE;
    const u0 = target[i]!;
    const u1 = target[i + 1]!;
    const u2 = target[i + 2]!;
    const u3 = target[i + 3]!;
    // As in the tail loop: u·(1 − u) ≥ 0 exactly when 0 ≤ u ≤ 1.
    if (!(u0 * (1 - u0) >= 0 && u1 * (1 - u1) >= 0 && u2 * (1 - u2) >= 0 && u3 * (1 - u3) >= 0))
      return BAD_COORDINATE;
    let raw0 = table[row + LO]! + u0 * table[row + SPAN]!;
    let raw1 = table[r1 + LO]! + u1 * table[r1 + SPAN]!;
    let raw2 = table[r2 + LO]! + u2 * table[r2 + SPAN]!;
    let raw3 = table[r3 + LO]! + u3 * table[r3 + SPAN]!;
    if (clamp) {
      const max0 = table[row + MAX]!;
      const max1 = table[r1 + MAX]!;
      const max2 = table[r2 + MAX]!;
      const max3 = table[r3 + MAX]!;
      if (raw0 > max0) raw0 = max0;
      if (raw1 > max1) raw1 = max1;
      if (raw2 > max2) raw2 = max2;
      if (raw3 > max3) raw3 = max3;
    }
    staged[i] = raw0;
    staged[i + 1] = raw1;
    staged[i + 2] = raw2;
    staged[i + 3] = raw3;
    const move0 = raw0 - live[i]!;
    const move1 = raw1 - live[i + 1]!;
    const move2 = raw2 - live[i + 2]!;
    const move3 = raw3 - live[i + 3]!;
    const over0 = (move0 < 0 ? -move0 : move0) - table[row + LIMIT]!;
    const over1 = (move1 < 0 ? -move1 : move1) - table[r1 + LIMIT]!;
    const over2 = (move2 < 0 ? -move2 : move2) - table[r2 + LIMIT]!;
    const over3 = (move3 < 0 ? -move3 : move3) - table[r3 + LIMIT]!;
    if (over0 > excess) excess = over0;
    if (over1 > excess) excess = over1;
    if (over2 > excess) excess = over2;
    if (over3 > excess) excess = over3;
  }
  for (let i = quads, row = quadRowsEnd; i < n; i++, row += LINEAR_STRIDE) {
    const u = target[i]!;
    // u·(1 − u) ≥ 0 exactly when 0 ≤ u ≤ 1; NaN and ±Infinity fail it too. One test instead of two.
    if (!(u * (1 - u) >= 0)) return BAD_COORDINATE;
    // lo + u·span ≥ lo = min for u ≥ 0, so only the upper bound can need clamping (round-off).
    let raw = table[row + LO]! + u * table[row + SPAN]!;
    if (clamp && raw > table[row + MAX]!) raw = table[row + MAX]!;
    staged[i] = raw;
    const move = raw - live[i]!;
    const over = (move < 0 ? -move : move) - table[row + LIMIT]!;
    if (over > excess) excess = over;
  }
  return excess > 0 ? TOO_FAR : MAPPED;
}

/** {@link mapLinear} for registries with log-scale parameters (table rows of {@link GENERAL_STRIDE}). */
function mapGeneral(
  target: Float64Array,
  table: Float64Array,
  live: Float64Array,
  staged: Float64Array,
  n: number,
): number {
  let excess = Number.NEGATIVE_INFINITY;
  for (let i = 0, row = 0; i < n; i++, row += GENERAL_STRIDE) {
    const u = target[i]!;
    if (!(u * (1 - u) >= 0)) return BAD_COORDINATE;
    const x = table[row + LO]! + u * table[row + SPAN]!;
    const unclamped = table[row + LOG] === 1 ? Math.exp(x) : x;
    const min = table[row + MIN]!;
    const max = table[row + MAX]!;
    const raw = unclamped < min ? min : unclamped > max ? max : unclamped;
    staged[i] = raw;
    const move = raw - live[i]!;
    const over = (move < 0 ? -move : move) - table[row + LIMIT]!;
    if (over > excess) excess = over;
  }
  return excess > 0 ? TOO_FAR : MAPPED;
}
