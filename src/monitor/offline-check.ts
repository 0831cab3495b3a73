/**
 * A brute-force checker of the same safety properties over a whole recorded audit trail.
 *
 * @remarks
 * It answers, for each event, "does the property hold here?" by re-reading the trail from its
 * start: the live point, the baseline, the mode and the latest applies are recomputed every time
 * (O(n²) in the trail's length). It shares no state-keeping code with {@link SafetyMonitor}, so
 * the two can be checked against each other on random trails; it is also the simplest way to audit
 * a short recorded trail after the fact.
 */
import type { AuditEvent } from "../audit/events.js";
import {
  FREEZE_REASONS,
  ROLLBACK_REASONS,
  SAFETY_PROPERTY_IDS,
  type SafetyPropertyId,
} from "./properties.js";
import { boundSlack, moveAllowance, type SafetySpec } from "./safety-spec.js";

/** For each property, the sequence number of the first event at which it failed (absent: it holds). */
export type FirstFailures = Partial<Record<SafetyPropertyId, number>>;

const isMove = (e: AuditEvent): e is Extract<AuditEvent, { type: "apply" | "rollback" }> =>
  e.type === "apply" || e.type === "rollback";

/** The values a move wrote, or undefined when any is missing, non-finite or out of bounds. */
function writtenValues(spec: SafetySpec, e: AuditEvent): number[] | undefined {
  if (!isMove(e) || e.values === undefined) return undefined;
  const out: number[] = [];
  for (let i = 0; i < spec.names.length; i++) {
    const v = e.values[spec.names[i]!];
    const slack = boundSlack(spec.min[i]!, spec.max[i]!);
    if (v === undefined || !Number.isFinite(v) || v < spec.min[i]! - slack || v > spec.max[i]! + slack)
      return undefined;
    out.push(v);
  }
  return out;
}

/** Live values just before event `k`: the last valid move's values, else the start values. */
function liveBefore(spec: SafetySpec, trail: readonly AuditEvent[], k: number): number[] {
  for (let j = k - 1; j >= 0; j--) {
    const values = writtenValues(spec, trail[j]!);
    if (values !== undefined) return values;
  }
  return [...spec.init];
}

/**
 * The baseline just before event `k`: the last `baseline.set`'s values when it gives them, else
 * the live values then; undefined when none.
 */
function baselineBefore(spec: SafetySpec, trail: readonly AuditEvent[], k: number): number[] | undefined {
  for (let j = k - 1; j >= 0; j--) {
    const e = trail[j]!;
    if (e.type !== "baseline.set") continue;
    return e.values === undefined
      ? liveBefore(spec, trail, j)
      : spec.names.map((name) => e.values?.[name] ?? Number.NaN);
  }
  return undefined;
}

/** The mode in force just before event `k`. */
function modeBefore(trail: readonly AuditEvent[], k: number): string {
  for (let j = k - 1; j >= 0; j--) {
    const e = trail[j]!;
    if (e.type === "mode.changed") return e.to;
  }
  return "normal";
}

/** Whether event `k`, a move, fails S1 (bounds, or values missing). */
function failsS1(spec: SafetySpec, trail: readonly AuditEvent[], k: number): boolean {
  return isMove(trail[k]!) && writtenValues(spec, trail[k]!) === undefined;
}

function failsS2(spec: SafetySpec, trail: readonly AuditEvent[], k: number): boolean {
  const e = trail[k]!;
  const next = writtenValues(spec, e);
  if (next === undefined) return false;
  if (e.type === "rollback") {
    const baseline = baselineBefore(spec, trail, k);
    return baseline === undefined || next.some((v, i) => !Object.is(v, baseline[i]));
  }
  const before = liveBefore(spec, trail, k);
  const half = modeBefore(trail, k) === "conservative" ? 0.5 : 1;
  return next.some(
    (v, i) =>
      !(Math.abs(v - before[i]!) <= moveAllowance(half * spec.maxDelta[i]!, spec.min[i]!, spec.max[i]!)),
  );
}

/** Applies (not rollbacks) with valid values before event `k`. */
function validAppliesBefore(spec: SafetySpec, trail: readonly AuditEvent[], k: number): AuditEvent[] {
  return trail.slice(0, k).filter((e) => e.type === "apply" && writtenValues(spec, e) !== undefined);
}

function interval(spec: SafetySpec, trail: readonly AuditEvent[], k: number): number {
  return modeBefore(trail, k) === "conservative" ? 2 * spec.minIntervalMs : spec.minIntervalMs;
}

function failsS3(spec: SafetySpec, trail: readonly AuditEvent[], k: number): boolean {
  const e = trail[k]!;
  if (e.type !== "apply" || writtenValues(spec, e) === undefined) return false;
  const earlier = validAppliesBefore(spec, trail, k);
  const last = earlier.at(-1);
  if (last !== undefined && e.time < last.time + interval(spec, trail, k)) return true;
  const inLastSecond = earlier.filter((a) => lessThanASecondApart(a.time, e.time)).length + 1;
  return inLastSecond > spec.maxUpdatesPerSecond;
}

/**
 * later − earlier < 1000 ms in exact arithmetic: computed `later - 1000` can round onto `earlier`
 * at fractional times, so the difference is taken with its rounding error (two-sum), which decides
 * when the difference rounds to exactly 1000.
 */
function lessThanASecondApart(earlier: number, later: number): boolean {
  // Knuth's two-sum of later and −earlier: difference + roundingError = later − earlier exactly.
  const difference = later - earlier;
  if (difference !== 1000) return difference < 1000;
  const negativePart = difference - later;
  const laterPart = difference - negativePart;
  const roundingError = later - laterPart + (-earlier - negativePart);
  return roundingError < 0;
}

function failsS4(spec: SafetySpec, trail: readonly AuditEvent[], k: number): boolean {
  const e = trail[k]!;
  if (e.type !== "apply" || writtenValues(spec, e) === undefined) return false;
  const rollbacks = trail
    .slice(0, k)
    .filter((r) => r.type === "rollback" && writtenValues(spec, r) !== undefined);
  const last = rollbacks.at(-1);
  return last !== undefined && e.time < last.time + interval(spec, trail, k);
}

function failsS5(trail: readonly AuditEvent[], k: number): boolean {
  const e = trail[k]!;
  const mode = modeBefore(trail, k);
  if (e.type === "apply") return mode === "frozen" || mode === "halted";
  if (e.type !== "rollback" || mode !== "halted") return false;
  // Allowed only when an operator's rollback command came since the previous rollback (one that
  // was refused, and so took no effect, does not count).
  let refused = false;
  for (let j = k - 1; j >= 0; j--) {
    const p = trail[j]!;
    if (p.type === "rollback") return true;
    if (p.type === "command.refused" && p.command === "rollback") refused = true;
    else if (p.type === "command" && p.command === "rollback") {
      if (!refused) return false;
      refused = false;
    }
  }
  return true;
}

function failsS6(trail: readonly AuditEvent[], k: number): boolean {
  const e = trail[k]!;
  if (e.type === "mode.changed" && e.from !== modeBefore(trail, k)) return true;
  if (k === 0) return false;
  const p = trail[k - 1]!;
  return e.seq !== p.seq + 1 || e.generation !== p.generation + (isMove(e) ? 1 : 0);
}

const counted = (e: AuditEvent): boolean => e.type !== "digest.accepted" && e.type !== "digest.rejected";
const answers = (e: AuditEvent): boolean =>
  e.type === "rollback" || (e.type === "mode.changed" && e.to === "halted");

/** Whether event `k` makes every earlier answer stale: an apply, or a mode change leaving halted. */
function staleAnswers(trail: readonly AuditEvent[], k: number): boolean {
  const e = trail[k]!;
  if (e.type === "apply") return true;
  return e.type === "mode.changed" && e.to !== "halted" && modeBefore(trail, k) === "halted";
}

/** Reasons a mode change newly raised that demand a rollback (or, with `among`, other reasons). */
function tripReasons(
  trail: readonly AuditEvent[],
  k: number,
  among: readonly string[] = ROLLBACK_REASONS,
): string[] {
  const e = trail[k]!;
  if (e.type !== "mode.changed") return [];
  let previous: readonly string[] = [];
  for (let j = k - 1; j >= 0; j--) {
    const p = trail[j]!;
    if (p.type === "mode.changed") {
      previous = p.reasons;
      break;
    }
  }
  return e.reasons.filter((r) => among.includes(r) && !previous.includes(r));
}

/** Whether event `k` raises a freeze-demanding reason without going to frozen or halted. */
function raisesWithoutFreezing(trail: readonly AuditEvent[], k: number): boolean {
  const e = trail[k]!;
  return (
    e.type === "mode.changed" &&
    tripReasons(trail, k, FREEZE_REASONS).length > 0 &&
    e.to !== "frozen" &&
    e.to !== "halted"
  );
}

/**
 * The first event at which L1 fails: a trip at i with no answer among the K counted events before
 * it (back to the previous answer, and with no apply nor move out of halted since it, the trip
 * included), nor among the K counted events after it and stamped strictly before its time +
 * `tripWindowMs` (an event at or after that deadline, answer or not, fails it).
 */
function firstL1Failure(spec: SafetySpec, trail: readonly AuditEvent[]): number | undefined {
  const K = spec.tripWindowEvents;
  let first: number | undefined;
  for (let i = 0; i < trail.length; i++) {
    if (raisesWithoutFreezing(trail, i)) {
      const seq = trail[i]!.seq;
      if (first === undefined || seq < first) first = seq;
    }
    if (tripReasons(trail, i).length === 0) continue;
    // Answered just before: an answer at j < i with at most K counted, unanswering events in (j, i]
    // and none of them an apply or a move out of halted (which make it stale).
    let before = 0;
    let answeredBefore = false;
    for (let j = i - 1; j >= 0 && before < K && !staleAnswers(trail, j + 1); j--) {
      if (answers(trail[j]!)) {
        answeredBefore = true;
        break;
      }
      if (counted(trail[j]!)) before++;
    }
    if (answeredBefore) continue;
    if (answers(trail[i]!)) continue;
    // Otherwise an answer must come within the next K counted events, before the deadline.
    const deadline = trail[i]!.time + spec.tripWindowMs;
    let after = 0;
    for (let j = i + 1; j < trail.length; j++) {
      if (trail[j]!.time >= deadline) {
        const seq = trail[j]!.seq;
        if (first === undefined || seq < first) first = seq;
        break;
      }
      if (answers(trail[j]!)) break;
      if (!counted(trail[j]!)) continue;
      after++;
      if (after === K) {
        const seq = trail[j]!.seq;
        if (first === undefined || seq < first) first = seq;
        break;
      }
    }
  }
  return first;
}

/** Checks a whole trail; returns the first failing event of each property. */
export function checkTrailOffline(spec: SafetySpec, trail: readonly AuditEvent[]): FirstFailures {
  const result: FirstFailures = {};
  const note = (id: SafetyPropertyId, k: number) => {
    if (result[id] === undefined) result[id] = trail[k]!.seq;
  };
  for (let k = 0; k < trail.length; k++) {
    if (failsS1(spec, trail, k)) note("S1", k);
    if (failsS2(spec, trail, k)) note("S2", k);
    if (failsS3(spec, trail, k)) note("S3", k);
    if (failsS4(spec, trail, k)) note("S4", k);
    if (failsS5(trail, k)) note("S5", k);
    if (failsS6(trail, k)) note("S6", k);
  }
  const l1 = firstL1Failure(spec, trail);
  if (l1 !== undefined) result.L1 = l1;
  return Object.fromEntries(
    SAFETY_PROPERTY_IDS.filter((id) => result[id] !== undefined).map((id) => [id, result[id]]),
  );
}
