/**
 * The independent safety monitor: checks an engine's audit stream, one event at a time, against
 * the properties of `properties.ts`.
 *
 * @remarks
 * It keeps its own account of the live point (from the values that `apply` and `rollback` events
 * carry), the baseline, the SafeMode mode (from `mode.changed`), the generation and the recent
 * apply times, so every check is O(parameters) per event and memory stays bounded. It never looks
 * at the executor: if Tier 1 let a bad apply through, or the ring dropped a record, the audit
 * stream shows it and the monitor says so. Deterministic: the same events give the same report.
 */
import type { AuditEvent, ModeChangedEvent, RollbackEvent } from "../audit/events.js";
import {
  FREEZE_REASONS,
  ROLLBACK_REASONS,
  SAFETY_PROPERTY_IDS,
  type SafetyPropertyId,
  type SafetyReport,
  type SafetyViolation,
} from "./properties.js";
import { boundSlack, moveAllowance, type SafetySpec } from "./safety-spec.js";

/** Applies counted by the rate limit look back this far (ms). */
const RATE_WINDOW_MS = 1000;

/**
 * Whether the apply at `earlier` has left the rate window (later − 1000 ms, later] of the apply at
 * `later`: later − earlier ≥ 1000 in exact arithmetic (when the difference rounds to exactly 1000,
 * the sign of its rounding error, from Knuth's two-sum, decides). Tier 1 refuses an apply by the
 * same exact rule, so fractional-millisecond times are judged alike on both sides; it is written
 * out here rather than imported, as the monitor shares no code with the executor it checks.
 */
function leftRateWindow(earlier: number, later: number): boolean {
  const diff = later - earlier;
  if (diff !== RATE_WINDOW_MS) return diff > RATE_WINDOW_MS;
  const back = diff - later;
  return later - (diff - back) + (-earlier - back) >= 0;
}

/** An instability trip waiting for its rollback or halt. */
interface PendingTrip {
  readonly seq: number;
  readonly time: number;
  readonly reasons: readonly string[];
  /** Counted events (digest events excluded) still allowed before L1 fails. */
  left: number;
}

/** Events that do not count toward L1's window: they arrive in bulk and change nothing. */
function isDigestEvent(event: AuditEvent): boolean {
  return event.type === "digest.accepted" || event.type === "digest.rejected";
}

export class SafetyMonitor {
  private readonly spec: SafetySpec;
  private readonly live: Float64Array;
  private baseline: Float64Array | undefined;
  private baselineSeq = 0;
  private mode = "normal";
  private lastModeSeq = 0;
  private activeReasons: readonly string[] = [];
  private seq: number | undefined;
  private generation: number | undefined;
  private lastApplyTime = Number.NEGATIVE_INFINITY;
  private lastApplySeq = 0;
  private lastRollbackTime = Number.NEGATIVE_INFINITY;
  private lastRollbackSeq = 0;
  /** Times and sequence numbers of the applies of the last second (rate limit). */
  private readonly recentApplies: { time: number; seq: number }[] = [];
  /**
   * Operators' rollback commands recorded since the last rollback, latest last: a refused one
   * (`command.refused`) is taken off again, since its rollback will not come.
   */
  private readonly operatorRollbacks: number[] = [];
  /**
   * Counted events since the latest rollback or halt that can still answer a trip (Infinity when
   * none can: before the first, and once an apply or leaving halted made it stale).
   */
  private sinceAnswer = Number.POSITIVE_INFINITY;
  private readonly trips: PendingTrip[] = [];
  private checked = 0;
  private readonly firsts: SafetyViolation[] = [];
  private readonly counts: Record<SafetyPropertyId, number>;
  private readonly listeners: ((violation: SafetyViolation) => void)[] = [];

  constructor(spec: SafetySpec) {
    this.spec = spec;
    this.live = Float64Array.from(spec.init);
    this.counts = Object.fromEntries(SAFETY_PROPERTY_IDS.map((id) => [id, 0])) as Record<
      SafetyPropertyId,
      number
    >;
  }

  /** Calls `listener` with the first violation of each property, as it is found. */
  onViolation(listener: (violation: SafetyViolation) => void): void {
    this.listeners.push(listener);
  }

  /** Whether every property holds so far. */
  get ok(): boolean {
    return this.firsts.length === 0;
  }

  /** The report so far (a copy). */
  report(): SafetyReport {
    return {
      events: this.checked,
      violations: [...this.firsts],
      counts: { ...this.counts },
      pendingTrips: this.trips.length,
    };
  }

  /**
   * Checks one event; events must be given in the order the engine emitted them.
   *
   * @remarks
   * A trip whose time ran out by the event's own time is decided first, so a recorded trail is
   * judged as the live timer would have judged it: an answer stamped at or after the trip's time +
   * `tripWindowMs` is too late, and the event is the witness.
   */
  check(event: AuditEvent): void {
    this.checked++;
    this.expireTrips(event.time, event);
    this.checkSequence(event);
    switch (event.type) {
      case "apply":
        // A new point is live: an earlier rollback or halt no longer answers the trips after it.
        this.sinceAnswer = Number.POSITIVE_INFINITY;
        this.checkApply(event);
        break;
      case "rollback":
        this.checkRollback(event);
        break;
      case "baseline.set":
        // Values given with the event are a known-good point the engine does not stand at.
        this.baseline =
          event.values === undefined
            ? Float64Array.from(this.live)
            : Float64Array.from(this.spec.names, (name) => event.values?.[name] ?? Number.NaN);
        this.baselineSeq = event.seq;
        break;
      case "command":
        if (event.command === "rollback") this.operatorRollbacks.push(event.seq);
        break;
      case "command.refused":
        // The rollback that command announced will not come: it cannot license a later one.
        if (event.command === "rollback") this.operatorRollbacks.pop();
        break;
      case "mode.changed":
        this.checkModeChange(event);
        break;
      default:
        break;
    }
    if (!isDigestEvent(event)) this.countTowardTrips(event);
  }

  /**
   * The engine-clock time at which the oldest unanswered trip runs out of time (undefined when
   * none is pending): call {@link expire} then.
   */
  nextDeadline(): number | undefined {
    const first = this.trips[0];
    return first === undefined ? undefined : first.time + this.spec.tripWindowMs;
  }

  /**
   * Decides L1 by time: a trip still unanswered when `now` reaches its time + `tripWindowMs` is a
   * violation, even when the engine has written nothing since (a frozen engine can go quiet with
   * the bad point live). The window is half-open: an answer must come strictly before that
   * deadline, so whichever of the timer and an answer stamped exactly at it runs first, the verdict
   * is the same. {@link check} applies the same rule to each event's own time.
   */
  expire(now: number): void {
    this.expireTrips(now, undefined);
  }

  /** Checks every event in order and returns the report. */
  checkAll(events: Iterable<AuditEvent>): SafetyReport {
    for (const event of events) this.check(event);
    return this.report();
  }

  /**
   * Fails every pending trip whose deadline `now` has reached; the witness ends at `event` when an
   * event decided it, else (the timer) at the latest event checked.
   */
  private expireTrips(now: number, event: AuditEvent | undefined): void {
    for (let i = 0; i < this.trips.length; i++) {
      const trip = this.trips[i]!;
      if (now < trip.time + this.spec.tripWindowMs) continue;
      this.trips.splice(i--, 1);
      this.violate(
        "L1",
        `the trip on ${trip.reasons.join(", ")} was neither rolled back nor halted within ${this.spec.tripWindowMs} ms`,
        trip.seq,
        event ?? ({ seq: this.seq ?? trip.seq, time: now } as AuditEvent),
      );
    }
  }

  // ---- S6: sequence and generation ----

  private checkSequence(event: AuditEvent): void {
    const previous = this.seq;
    if (previous !== undefined && event.seq !== previous + 1) {
      const what =
        event.seq > previous + 1
          ? `records ${previous + 1}–${event.seq - 1} are missing (dropped by the audit ring?)`
          : `sequence number ${event.seq} follows ${previous}`;
      this.violate("S6", `audit sequence broken: ${what}`, previous, event);
    }
    this.seq = event.seq;
    const moves = event.type === "apply" || event.type === "rollback";
    const expected = this.generation === undefined ? undefined : this.generation + (moves ? 1 : 0);
    if (expected !== undefined && event.generation !== expected) {
      const rule = moves ? "an apply or rollback raises it by exactly one" : "it must be the live generation";
      this.violate(
        "S6",
        `${event.type} event carries generation ${event.generation}, expected ${expected} (${rule})`,
        previous ?? 0,
        event,
      );
    }
    this.generation = event.generation;
  }

  // ---- S1–S5: the moves of the live point ----

  private checkApply(event: Extract<AuditEvent, { type: "apply" }>): void {
    if (this.mode === "frozen" || this.mode === "halted") {
      this.violate("S5", `a ${event.kind} apply happened while ${this.mode}`, this.lastModeSeq, event);
    }
    const next = this.valuesOf(event);
    if (next === undefined) return;
    const conservative = this.mode === "conservative";
    const scale = conservative ? 0.5 : 1;
    for (let i = 0; i < next.length; i++) {
      const { min, max, maxDelta, names } = this.spec;
      const limit = moveAllowance(scale * maxDelta[i]!, min[i]!, max[i]!);
      const move = Math.abs(next[i]! - this.live[i]!);
      if (!(move <= limit)) {
        this.violate(
          "S2",
          `${names[i]} moved ${move} (${this.live[i]} → ${next[i]}) in one ${event.kind} apply; maxDelta in force is ${scale * maxDelta[i]!}${conservative ? " (conservative)" : ""}`,
          this.lastMoveSeq,
          event,
        );
        break;
      }
    }
    const interval = (conservative ? 2 : 1) * this.spec.minIntervalMs;
    if (event.time < this.lastApplyTime + interval) {
      this.violate(
        "S3",
        `apply ${event.time - this.lastApplyTime} ms after the previous apply; the minimum interval in force is ${interval} ms`,
        this.lastApplySeq,
        event,
      );
    }
    if (event.time < this.lastRollbackTime + interval) {
      this.violate(
        "S4",
        `apply ${event.time - this.lastRollbackTime} ms after a rollback; nothing may be applied for ${interval} ms`,
        this.lastRollbackSeq,
        event,
      );
    }
    this.checkRate(event);
    this.live.set(next);
    this.lastApplyTime = event.time;
    this.lastApplySeq = event.seq;
  }

  private checkRate(event: AuditEvent): void {
    const recent = this.recentApplies;
    while (recent.length > 0 && leftRateWindow(recent[0]!.time, event.time)) recent.shift();
    recent.push({ time: event.time, seq: event.seq });
    if (recent.length > this.spec.maxUpdatesPerSecond) {
      this.violate(
        "S3",
        `${recent.length} applies within 1000 ms; the rate limit is ${this.spec.maxUpdatesPerSecond}`,
        recent[0]!.seq,
        event,
      );
    }
    // Only the last `maxUpdatesPerSecond + 1` applies can matter; keep the memory bounded.
    if (recent.length > this.spec.maxUpdatesPerSecond) recent.shift();
  }

  private checkRollback(event: RollbackEvent): void {
    const next = this.valuesOf(event);
    const operator = this.operatorRollbacks.at(-1);
    this.operatorRollbacks.length = 0;
    if (this.mode === "halted" && operator === undefined) {
      this.violate(
        "S5",
        `an automatic rollback (${event.reason}) happened while halted`,
        this.lastModeSeq,
        event,
      );
    }
    // A rollback answers a trip even when its values cannot be checked (S1 reports that).
    this.answerTrips();
    if (next === undefined) return;
    const baseline = this.baseline;
    if (baseline === undefined) {
      this.violate("S2", "a rollback happened before any baseline was recorded", event.seq, event);
    } else {
      const differs = next.findIndex((value, i) => !Object.is(value, baseline[i]));
      if (differs !== -1) {
        this.violate(
          "S2",
          `a rollback wrote ${this.spec.names[differs]} = ${next[differs]}, not the baseline's ${baseline[differs]}`,
          this.baselineSeq,
          event,
        );
      }
    }
    this.live.set(next);
    this.lastRollbackTime = event.time;
    this.lastRollbackSeq = event.seq;
  }

  /** The values an apply or rollback wrote, checked against the bounds (S1); undefined if absent. */
  private valuesOf(event: Extract<AuditEvent, { type: "apply" | "rollback" }>): Float64Array | undefined {
    const { names, min, max } = this.spec;
    const recorded = event.values;
    if (recorded === undefined) {
      this.violate(
        "S1",
        `${event.type} event without its values: bounds and moves cannot be checked`,
        event.seq,
        event,
      );
      return undefined;
    }
    const next = new Float64Array(names.length);
    for (let i = 0; i < names.length; i++) {
      const value = recorded[names[i]!];
      next[i] = value ?? Number.NaN;
      const slack = boundSlack(min[i]!, max[i]!);
      if (
        value === undefined ||
        !Number.isFinite(value) ||
        value < min[i]! - slack ||
        value > max[i]! + slack
      ) {
        this.violate(
          "S1",
          `${event.type} wrote ${names[i]} = ${value}, outside [${min[i]}, ${max[i]}]`,
          event.seq,
          event,
        );
        return undefined;
      }
    }
    return next;
  }

  // ---- Mode changes and L1 ----

  /** The latest apply or rollback (0 before the first). */
  private get lastMoveSeq(): number {
    return Math.max(this.lastApplySeq, this.lastRollbackSeq);
  }

  private checkModeChange(event: ModeChangedEvent): void {
    if (event.from !== this.mode) {
      this.violate(
        "S6",
        `mode.changed says ${event.from} → ${event.to}, but the mode was ${this.mode}`,
        this.lastModeSeq,
        event,
      );
    }
    // A halt the engine has left no longer answers the trips after it.
    if (this.mode === "halted" && event.to !== "halted") this.sinceAnswer = Number.POSITIVE_INFINITY;
    const before = new Set(this.activeReasons);
    const raised = event.reasons.filter((reason) => ROLLBACK_REASONS.includes(reason) && !before.has(reason));
    const unfrozen = event.reasons.filter((reason) => FREEZE_REASONS.includes(reason) && !before.has(reason));
    if (unfrozen.length > 0 && event.to !== "frozen" && event.to !== "halted") {
      this.violate(
        "L1",
        `${unfrozen.join(", ")} was raised without freezing (mode ${event.to})`,
        event.seq,
        event,
      );
    }
    this.mode = event.to;
    this.activeReasons = event.reasons;
    this.lastModeSeq = event.seq;
    if (event.to === "halted") this.answerTrips();
    if (raised.length > 0) {
      // The rollback may be written just before the mode change that reports the trip: it counts
      // when it is among the K counted events before this one, with nothing applied since and the
      // engine not having left halted since.
      if (this.sinceAnswer < this.spec.tripWindowEvents) return;
      this.trips.push({
        seq: event.seq,
        time: event.time,
        reasons: raised,
        left: this.spec.tripWindowEvents,
      });
    }
  }

  private answerTrips(): void {
    this.trips.length = 0;
    this.sinceAnswer = 0;
  }

  private countTowardTrips(event: AuditEvent): void {
    const answered = event.type === "rollback" || (event.type === "mode.changed" && event.to === "halted");
    if (!answered && this.sinceAnswer !== Number.POSITIVE_INFINITY) this.sinceAnswer++;
    for (let i = this.trips.length - 1; i >= 0; i--) {
      const trip = this.trips[i]!;
      if (trip.seq === event.seq) continue;
      trip.left--;
      if (trip.left <= 0) {
        this.trips.splice(i, 1);
        this.violate(
          "L1",
          `the trip on ${trip.reasons.join(", ")} was neither rolled back nor halted within ${this.spec.tripWindowEvents} events`,
          trip.seq,
          event,
        );
      }
    }
  }

  private violate(property: SafetyPropertyId, message: string, fromSeq: number, event: AuditEvent): void {
    this.counts[property]++;
    if (this.counts[property] > 1) return;
    const violation: SafetyViolation = {
      property,
      message,
      // fromSeq 0 means "nothing earlier": the event alone is the witness.
      witness: { fromSeq: fromSeq > 0 ? Math.min(fromSeq, event.seq) : event.seq, toSeq: event.seq },
      time: event.time,
    };
    this.firsts.push(violation);
    for (const listener of this.listeners) listener(violation);
  }
}
