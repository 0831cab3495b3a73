import type { SchedulerLike, Subscription } from "rxjs";
import type { Subscription as ActorSubscription, AnyActorRef } from "xstate";
import type { SafeModeChanged, SafeModeEvent } from "../../machines/safe-mode.machine.js";
import {
  demandedLevel,
  reasonLevel,
  reasonMask,
  SAFE_MODE_LEVEL,
  SAFE_MODES,
  type SafeModeName,
  type SafeModeReason,
} from "../../machines/safe-mode-reasons.js";
import type { SpsaMachineEvent } from "../../machines/spsa.machine.js";
import { type AuditEvent, AuditRecordType } from "../audit/events.js";
import type { AuditRing } from "../audit/ring.js";
import { errorMessage } from "../errors.js";
import type { Executor } from "../hotpath/executor.js";
import type { LiveConfig } from "../hotpath/live-config.js";
import { RollbackReason } from "../hotpath/rollback-reason.js";
import { Violation } from "../hotpath/violation.js";
import { clockFromScheduler } from "../runtime/scheduler-clock.js";
import type { ResolvedEngineConfig } from "./config.js";
import type { Digest } from "./digest.js";
import type { ParamRegistry } from "./registry.js";
import { ChangeBudget, ChangeBudgetCode } from "./safety/change-budget.js";
import { EventRate } from "./safety/event-rate.js";
import { type EngineBreakerStates, GuardedCallback, GuardedCallResult } from "./safety/guarded-callback.js";
import { GovernorCode, InstabilityGovernor } from "./safety/instability-governor.js";
import { RegressionBlame } from "./safety/regression-blame.js";
import { ThrashingCode, ThrashingDetector } from "./safety/thrashing-detector.js";
import type { SpsaCore } from "./spsa/spsa-core.js";

/** The kinds of apply that wait for Tier 1's timing rules, one pending at a time each. */
export type PacedSlot = "decision" | "return";

/**
 * What the control-safety layer needs from its engine: the engine's parts (read and, for the
 * executor's mode word and the SPSA gains, written) and the few engine actions a trip takes.
 */
export interface SafetyHost {
  readonly config: ResolvedEngineConfig;
  readonly scheduler: SchedulerLike;
  readonly registry: ParamRegistry;
  readonly live: LiveConfig;
  readonly audit: AuditRing;
  readonly executor: Executor;
  readonly core: SpsaCore;
  /** Whether the engine is closed (a pending breaker probe then does nothing). */
  isClosed(): boolean;
  /** Drops the pending paced apply of `slot`, if any. */
  cancelPaced(slot: PacedSlot): void;
  /** Restores the baseline as a new generation and restarts the cycle from it; false if there is none. */
  restoreBaseline(code: RollbackReason, note: string): boolean;
  /** Tells the SPSA cycle to pause, resume or start its iteration over. */
  sendSpsa(event: SpsaMachineEvent): void;
  /** Schedules delivery of new audit records (and checks audit pressure). */
  afterWork(): void;
}

const FROZEN = SAFE_MODE_LEVEL.frozen;
const CONSERVATIVE = SAFE_MODE_LEVEL.conservative;
const HOUR_MS = 3_600_000;
/**
 * Default thrashing dead-band, in maxDeltas: one noisy step and its correction can each move the
 * centre by up to a maxDelta, so a reversal counts only after a swing that needed at least two
 * steps in one direction. (At one maxDelta, B4's noisy σ = 2 tracking tripped once in 20 runs; at
 * 1.5, none did.)
 */
const THRASHING_DEAD_BAND_STEPS = 1.5;
/**
 * Audit records kept free when the ring counts as full: a window's records (window, decision, step,
 * apply) and the mode changes a trip causes fit in it.
 */
const AUDIT_RESERVE = 8;
const AUDIT_FULL = reasonMask("auditFull");
const NON_FINITE = reasonMask("nonFiniteObjective");

/**
 * Non-finite objectives in a row (for the live generation) that make a burst: fewer are isolated
 * glitches, rejected and counted only. See {@link ControlSafety.onNonFiniteDigest}.
 */
export const NON_FINITE_BURST = 3;
const AUDIT_HIGH = reasonMask("auditHighWater");
const CONSTRAINT_VIOLATION = reasonMask("constraintViolation");
const CONSTRAINT_EMERGENCY = reasonMask("constraintEmergency");

/**
 * The engine's control-safety layer: the SafeMode reasons it raises and clears, the triggers that
 * raise them (instability governor with trip attribution, constraint-first, thrashing, change
 * budget, repeated Tier-1 violations, audit pressure, circuit breakers on `onApply` and
 * `auditSink`), and the mirroring of the SafeMode chart's mode into the executor, the SPSA gains
 * and the cycle.
 *
 * @remarks
 * The engine's reason set ({@link reasonBits}) is the truth; the chart is told of every change and
 * decides when to step down. A reason that demands frozen or more writes the executor's mode word
 * before anything else, so no apply can pass from that line on. Digest-rate methods
 * ({@link observeObjective}, {@link onConstraintMargin}) allocate nothing.
 */
export class ControlSafety {
  /** SafeMode level now (0 normal … 3 halted), mirrored from the chart's `mode.changed`. */
  modeLevel = 0;
  /** Reasons raised and not cleared (the chart holds the same set). */
  reasonBits = 0;
  /** Held spikes not attributed to the tuner (see {@link onSpike}). */
  absorbedShifts = 0;

  /** Audit events the sink has not taken yet. */
  undeliveredCount = 0;
  /** Audit events given up on because the sink kept refusing them and the backlog was full. */
  sinkDropped = 0;

  private readonly host: SafetyHost;
  private readonly governor: InstabilityGovernor | undefined;
  private readonly thrashing: ThrashingDetector | undefined;
  private readonly changeBudget: ChangeBudget | undefined;
  /** Centre positions at the dead-band's resolution: what the change budget is charged with. */
  private readonly budgetReference: Float64Array;
  /** Non-finite digests in a row for the live generation (see {@link onNonFiniteDigest}). */
  private nonFiniteRun = 0;
  /** Generation of the last finite objective accepted (−1: none yet). */
  private finiteGeneration = -1;
  /** Engine time until which the centre's moves follow an absorbed shift and are not budgeted. */
  private budgetExemptUntil = Number.NEGATIVE_INFINITY;
  private readonly deadBands: Float64Array;
  private readonly violations: EventRate;
  private readonly rollbacks: EventRate;
  private readonly actuator: GuardedCallback<[Float64Array, number]> | undefined;
  private readonly sinkGuard: GuardedCallback<[readonly AuditEvent[]]> | undefined;
  /** Audit batches the sink has not taken yet (offered again, oldest first). */
  private readonly undelivered: AuditEvent[][] = [];
  private safeMode: AnyActorRef | undefined;
  private modeSubscription: ActorSubscription | undefined;
  /** Timers that clear time-bound reasons (thrashing cooldown, budget, violations). */
  private readonly clearTimers = new Map<SafeModeReason, Subscription>();
  /** The pending half-open probe of each breaker. */
  private readonly breakerProbes = new Map<object, Subscription>();
  /** Whether any digest of the window being measured was anomalous or tripped the governor. */
  private windowTroubled = false;
  /** Whether the governor found anomalous digests in the window being measured (its value is not the point's). */
  private windowAnomalous = false;
  private rollingBackForActuator = false;
  /** The cycle stalled and is returning to the centre; SafeMode freezes once it is there. */
  private stalling = false;
  /** Whether a spike or divergence is the tuner's doing (with the governor only). */
  private readonly blame: RegressionBlame | undefined;
  /** Pending audit records at which the ring counts as full (see {@link checkAuditPressure}). */
  private readonly auditFullAt: number;

  constructor(host: SafetyHost) {
    this.host = host;
    const { config, registry, live, audit, core } = host;
    const safety = config.safety;
    const n = registry.size;
    const ranges = new Float64Array(n);
    this.deadBands = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      ranges[i] = registry.max[i]! - registry.min[i]!;
      this.deadBands[i] =
        safety.thrashing?.deadBand === undefined
          ? THRASHING_DEAD_BAND_STEPS * registry.maxDelta[i]!
          : safety.thrashing.deadBand * ranges[i]!;
    }
    this.auditFullAt = Math.min(
      audit.capacity,
      Math.max(audit.highWaterMark + 1, audit.capacity - AUDIT_RESERVE),
    );
    this.budgetReference = Float64Array.from(live.values);
    this.governor = safety.governor === undefined ? undefined : new InstabilityGovernor(safety.governor);
    this.blame =
      safety.governor === undefined
        ? undefined
        : new RegressionBlame(registry, safety.governor.blameWindows, core.centre);
    this.thrashing =
      safety.thrashing === undefined
        ? undefined
        : new ThrashingDetector(ranges, safety.thrashing, this.deadBands);
    this.thrashing?.reset(live.values);
    this.changeBudget =
      safety.changeBudget === undefined ? undefined : new ChangeBudget(ranges, safety.changeBudget);
    this.changeBudget?.reset(live.values);
    this.violations = new EventRate(safety.violationLimit, safety.violationWindowMs);
    this.rollbacks = new EventRate(safety.rollbacksPerHour, HOUR_MS);
    const breakerClock = clockFromScheduler(host.scheduler);
    this.actuator =
      config.onApply === undefined
        ? undefined
        : new GuardedCallback(config.onApply, safety.breaker, breakerClock);
    // An async hook's failure arrives after the call returned: it rolls back the same way, and
    // the engine's usual afterWork runs the consequences (drains, timers).
    this.actuator?.onFailure(() => {
      if (this.actuator === undefined) return;
      this.onActuatorFailed(this.actuator);
      host.afterWork();
    });
    this.sinkGuard =
      config.auditSink === undefined
        ? undefined
        : new GuardedCallback(config.auditSink, safety.breaker, breakerClock);
  }

  /** The SafeMode mode now. */
  get mode(): SafeModeName {
    return SAFE_MODES[this.modeLevel] ?? "halted";
  }

  /** State of the breakers around `onApply` and `auditSink` ("none" when that callback is not given). */
  get breakerStates(): EngineBreakerStates {
    return { actuator: this.actuator?.state ?? "none", auditSink: this.sinkGuard?.state ?? "none" };
  }

  /** Whether audit batches go to a sink (then they are delivered even with no `events` subscriber). */
  get hasAuditSink(): boolean {
    return this.sinkGuard !== undefined;
  }

  /** Connects the SafeMode chart (started with the engine's actor system) and the breakers' watchers. */
  attach(safeMode: AnyActorRef): void {
    this.safeMode = safeMode;
    this.modeSubscription = safeMode.on("mode.changed", (event) =>
      this.onModeChanged(event as unknown as SafeModeChanged),
    );
    this.watchBreaker(this.actuator);
    this.watchBreaker(this.sinkGuard);
  }

  /** Releases timers, probes, the chart subscription and the breakers (the engine is closing). */
  stop(): void {
    for (const timer of this.clearTimers.values()) timer.unsubscribe();
    this.clearTimers.clear();
    for (const probe of this.breakerProbes.values()) probe.unsubscribe();
    this.breakerProbes.clear();
    this.modeSubscription?.unsubscribe();
    this.actuator?.stop();
    this.sinkGuard?.stop();
  }

  // ---- Digests and windows ----

  /**
   * A digest was rejected for a non-finite objective: telemetry faults are not configuration
   * faults. An isolated one is only rejected (and counted by the engine). {@link NON_FINITE_BURST}
   * in a row for the live generation freeze adaptation while the burst lasts (the reason clears
   * with the next healthy window). Only a burst that starts right after an apply, before any
   * finite value of that generation, blames the apply: it trips the governor and rolls back.
   * Stale digests, and more while the reason is active, are only rejected.
   */
  onNonFiniteDigest(digest: unknown, now: number): void {
    const governor = this.governor;
    if (governor === undefined || (this.reasonBits & NON_FINITE) !== 0 || !this.isForLiveGeneration(digest))
      return;
    this.nonFiniteRun++;
    if (this.nonFiniteRun < NON_FINITE_BURST) return;
    this.nonFiniteRun = 0;
    if (this.finiteGeneration !== this.host.live.generation) {
      this.onGovernorTrip("nonFiniteObjective", governor.observe(Number.NaN, now));
      return;
    }
    this.windowTroubled = true;
    this.raise("nonFiniteObjective");
  }

  /** An accepted digest's objective: the governor's spike check. */
  observeObjective(objective: number, now: number): void {
    this.nonFiniteRun = 0;
    this.finiteGeneration = this.host.live.generation;
    const governor = this.governor;
    if (governor === undefined) return;
    const verdict = governor.observe(objective, now);
    if (verdict !== GovernorCode.Healthy) this.onSpike(verdict);
    else if (governor.anomalousRun > 0) {
      this.windowTroubled = true;
      this.windowAnomalous = true;
    }
  }

  /** Constraint-first: a negative margin makes the engine conservative and feasibility-seeking; below the emergency level it rolls back. */
  onConstraintMargin(margin: number): void {
    if (margin >= 0) {
      this.clear("constraintEmergency");
      if ((this.reasonBits & CONSTRAINT_VIOLATION) !== 0) {
        this.clear("constraintViolation");
        this.setFeasibility(false);
      }
      return;
    }
    if (!(margin < 0)) return; // NaN: says nothing
    this.windowTroubled = true;
    if (margin < this.host.config.safety.emergencyMargin && (this.reasonBits & CONSTRAINT_EMERGENCY) === 0) {
      this.raise("constraintEmergency");
      this.autoRollback(
        RollbackReason.ConstraintBreach,
        `constraint margin ${margin} below the emergency level`,
      );
    }
    if ((this.reasonBits & CONSTRAINT_VIOLATION) === 0) {
      this.raise("constraintViolation");
      this.setFeasibility(true);
    }
  }

  /** Whether the window just closed held anomalous digests (and forgets it for the next window). */
  takeWindowAnomalous(): boolean {
    const anomalous = this.windowAnomalous;
    this.windowAnomalous = false;
    return anomalous;
  }

  /** A window closed empty: outside normal, it counts as unhealthy for the chart's exits. */
  onEmptyWindow(): void {
    if (this.modeLevel !== 0) this.sendSafeMode({ type: "window.unhealthy" });
  }

  /** Window-cadence checks: divergence, and whether the window was healthy (for SafeMode's exits). */
  judgeWindow(now: number): void {
    const governor = this.governor;
    const verdict = governor === undefined ? GovernorCode.Healthy : governor.closeWindow(now);
    // Divergence is attributed like a spike: to the tuner if it moved from the known-good configuration.
    if (verdict !== GovernorCode.Healthy) {
      if (this.blame?.tunerMoved(this.host.core.centre)) this.onGovernorTrip("divergence", verdict);
      else this.absorbShift();
    } else if (governor !== undefined)
      this.blame?.windowClosed(
        this.host.core.centre,
        governor.lastWindowExcess,
        governor.levelTolerance,
        governor.worseWindows > 0 || this.windowTroubled,
      );
    const healthy = !this.windowTroubled;
    this.windowTroubled = false;
    this.stalling = false;
    // Digests flow again: the stall is over.
    this.clear("evalTimeouts");
    if (healthy) {
      this.clear("nonFiniteObjective");
      this.clear("spike");
      this.clear("divergence");
    }
    if (this.modeLevel !== 0) this.sendSafeMode({ type: healthy ? "window.healthy" : "window.unhealthy" });
  }

  /** The SPSA cycle stalled (telemetry stopped): it returns to the centre, then {@link freezeIfStalled}. */
  onStalled(): void {
    this.stalling = true;
  }

  /**
   * Telemetry stalled: once the live point is back at the centre (the point believed best), freeze
   * until digests flow again. Freezing first would leave a perturbed point live.
   */
  freezeIfStalled(): void {
    if (!this.stalling) return;
    this.stalling = false;
    this.raise("evalTimeouts");
  }

  // ---- Applies and rollbacks ----

  /** A new centre went live: thrashing and change-budget checks on the dead-banded trajectory. */
  onCentreMoved(): void {
    const now = this.host.scheduler.now();
    const values = this.host.live.values;
    const safety = this.host.config.safety;
    if (this.thrashing !== undefined && this.thrashing.record(values, now) === ThrashingCode.Thrashing) {
      this.raise("thrashing");
      this.clearAt("thrashing", now + safety.thrashingCooldownMs);
    }
    const budget = this.changeBudget;
    if (budget === undefined) return;
    const reference = this.budgetReference;
    let moved = false;
    for (let i = 0; i < reference.length; i++) {
      if (Math.abs(values[i]! - reference[i]!) > this.deadBands[i]!) {
        reference[i] = values[i]!;
        moved = true;
      }
    }
    if (moved && now < this.budgetExemptUntil) {
      // Following an absorbed shift: the new regime's optimum may lie further than the budget.
      budget.reset(reference);
      return;
    }
    if (moved && budget.record(reference, now) === ChangeBudgetCode.Exhausted) {
      this.raise("changeBudget");
      this.clearAt("changeBudget", budget.replenishedBy(now));
    }
  }

  /** A Tier-1 refusal (SafeMode's own blocks aside): too many within the window → conservative. */
  onViolation(code: number): void {
    // Refusals while SafeMode blocks applies are its own doing (whatever rule Tier 1 names first).
    if (code === Violation.Blocked || this.host.executor.mode[0] !== 0) return;
    const now = this.host.scheduler.now();
    if (this.violations.record(now) >= this.violations.limit) {
      this.raise("repeatedViolations");
      this.clearAt("repeatedViolations", this.violations.belowLimitAt(now));
    }
  }

  /** The baseline was set: the governor measures divergence from the new one, and it is known-good. */
  onBaselineSet(): void {
    this.governor?.resetBaseline();
    this.blame?.reset(this.host.core.centre);
  }

  /**
   * The baseline was restored: statistics and trajectories of the abandoned point say nothing about
   * it. The governor keeps its baseline window, the known-good level: measured at this very
   * configuration, it is what the tuner's next moves are judged against, so the same regression
   * coming back trips again (and, repeated, halts) instead of being adopted as the new normal.
   */
  onRolledBack(): void {
    const { core, live } = this.host;
    this.governor?.restart();
    this.blame?.reset(core.centre);
    this.thrashing?.reset(live.values);
    this.budgetReference.set(live.values);
    this.changeBudget?.reset(live.values);
  }

  /**
   * Pushes the live values to the actuator hook; a throw (or, for an async hook, a rejection or a
   * promise that does not settle in time, reported later through the guard) rolls the generation
   * back to the baseline.
   */
  pushToActuator(): void {
    const actuator = this.actuator;
    if (actuator === undefined || this.rollingBackForActuator) return;
    const live = this.host.live;
    if (actuator.call(live.values, live.generation) !== GuardedCallResult.Failed) return;
    this.onActuatorFailed(actuator);
  }

  /** The actuator failed: roll back to the baseline and push it to the real system too. */
  private onActuatorFailed(actuator: GuardedCallback<[Float64Array, number]>): void {
    if (this.rollingBackForActuator) return;
    const live = this.host.live;
    this.rollingBackForActuator = true;
    try {
      this.autoRollback(RollbackReason.SafeMode, `actuator failed: ${errorMessage(actuator.lastError)}`);
      // The baseline must reach the real system too (the breaker may refuse it while open).
      actuator.call(live.values, live.generation);
    } finally {
      this.rollingBackForActuator = false;
    }
  }

  // ---- Commands ----

  /** Halts at once: the mode word first, so no apply passes from this line on, then the chart. */
  halt(note: string): void {
    this.host.executor.mode[0] = SAFE_MODE_LEVEL.halted;
    this.host.cancelPaced("decision");
    this.host.cancelPaced("return");
    this.reasonBits |= reasonMask("manualHalt");
    this.sendSafeMode({ type: "halt", reason: note });
  }

  /** Asks the chart to leave `halted` with a (non-blank) acknowledgement. */
  requestReset(acknowledge: string): void {
    this.sendSafeMode({ type: "reset", acknowledge });
  }

  // ---- The audit sink ----

  /**
   * Offers pending audit batches to the audit sink, oldest first, stopping at the first refusal.
   * The backlog a refusing sink leaves is bounded by the ring's capacity: beyond it the oldest
   * batches are given up and counted in {@link sinkDropped} (memory stays bounded however long
   * the sink is down; the gap shows in the sequence numbers the sink receives later).
   */
  deliverToSink(events: AuditEvent[]): void {
    const guard = this.sinkGuard;
    if (guard === undefined) return;
    if (events.length > 0) {
      this.undelivered.push(events);
      this.undeliveredCount += events.length;
    }
    const limit = this.host.audit.capacity;
    while (this.undeliveredCount > limit && this.undelivered.length > 1) {
      const oldest = this.undelivered.shift()!;
      this.undeliveredCount -= oldest.length;
      this.sinkDropped += oldest.length;
    }
    while (this.undelivered.length > 0) {
      const batch = this.undelivered[0]!;
      if (guard.call(batch) !== GuardedCallResult.Succeeded) break;
      this.undelivered.shift();
      this.undeliveredCount -= batch.length;
    }
  }

  /**
   * Audit ring (plus what the sink has not taken) above its high-water mark → conservative; full →
   * frozen. "Full" leaves a few records of room ({@link AUDIT_RESERVE}), so the mode change that
   * the trip causes, and those of a window in progress, are still recorded rather than dropped.
   */
  checkAuditPressure(): void {
    const audit = this.host.audit;
    const pending = audit.size + this.undeliveredCount;
    const bits = this.reasonBits;
    if (pending >= this.auditFullAt) this.raise("auditFull");
    else if ((bits & AUDIT_FULL) !== 0) this.clear("auditFull");
    if (pending >= audit.highWaterMark) this.raise("auditHighWater");
    else if ((bits & AUDIT_HIGH) !== 0) this.clear("auditHighWater");
  }

  // ---- Reasons ----

  /**
   * Raises a SafeMode reason. A reason that demands frozen or more sets the executor's mode word
   * before anything else, so no apply can pass from this line on; then the chart is told (it
   * escalates at once and reports the change through {@link onModeChanged}).
   */
  private raise(reason: SafeModeReason): void {
    const mask = reasonMask(reason);
    if ((this.reasonBits & mask) !== 0) return;
    this.reasonBits |= mask;
    const level = reasonLevel(reason);
    const executor = this.host.executor;
    if (level >= FROZEN && level > executor.mode[0]!) {
      executor.mode[0] = level;
      this.host.cancelPaced("decision");
      this.host.cancelPaced("return");
    }
    this.sendSafeMode({ type: "reason.raised", reason });
  }

  /** A reason's exit condition holds: take it out of the set (the chart decides when to step down). */
  private clear(reason: SafeModeReason): void {
    const mask = reasonMask(reason);
    // Checked first: this runs several times per window, and a clearing timer exists only for an
    // active reason.
    if ((this.reasonBits & mask) === 0) return;
    const timer = this.clearTimers.get(reason);
    if (timer !== undefined) {
      timer.unsubscribe();
      this.clearTimers.delete(reason);
    }
    this.reasonBits &= ~mask;
    this.sendSafeMode({ type: "reason.cleared", reason });
  }

  /** Clears a time-bound reason at engine-clock time `at` (a later call re-arms it). */
  private clearAt(reason: SafeModeReason, at: number): void {
    const scheduler = this.host.scheduler;
    this.clearTimers.get(reason)?.unsubscribe();
    const delay = Math.max(0, Math.ceil(at - scheduler.now()));
    this.clearTimers.set(
      reason,
      scheduler.schedule(() => {
        this.clearTimers.delete(reason);
        this.clear(reason);
        this.host.afterWork();
      }, delay),
    );
  }

  private sendSafeMode(event: SafeModeEvent): void {
    // A reason raised before the chart is attached would be set here and never reach the chart.
    if (this.safeMode === undefined) throw new Error("arqon: SafeMode event before the chart was attached");
    this.safeMode.send(event);
  }

  /** The chart changed mode: mirror it in the executor, the SPSA gains and the cycle, and audit it. */
  private onModeChanged(change: SafeModeChanged): void {
    const host = this.host;
    const from = SAFE_MODE_LEVEL[change.from];
    const to = SAFE_MODE_LEVEL[change.to];
    this.modeLevel = to;
    const reset = change.from === "halted" && change.to === "normal";
    // The engine's set is the truth (raises and clears may still be queued for the chart), except
    // that an acknowledged reset empties both.
    if (reset) this.reasonBits = 0;
    // Never below what the engine's own reasons demand: a raise queued behind this change keeps
    // its block.
    const word = Math.max(to, demandedLevel(this.reasonBits));
    host.executor.mode[0] = word >= FROZEN ? word : 0;
    const conservative = to === CONSERVATIVE;
    host.executor.setConservative(conservative);
    host.core.setGainScale(conservative ? 0.5 : 1);
    host.audit.write(
      AuditRecordType.ModeChanged,
      host.scheduler.now(),
      host.live.generation,
      -1,
      from,
      to,
      change.reasonBits,
      0,
    );
    const note = change.note ?? change.acknowledge;
    if (note !== undefined) host.audit.annotateLast(note);
    if (reset) {
      for (const timer of this.clearTimers.values()) timer.unsubscribe();
      this.clearTimers.clear();
      this.governor?.clearTrips();
      this.rollbacks.clear();
      this.violations.clear();
      this.setFeasibility(false);
      // The reset cleared every reason; conditions that still hold come straight back.
      if (!this.breakersClosed()) this.raise("breakerOpen");
      this.checkAuditPressure();
    }
    if (to >= FROZEN) {
      host.cancelPaced("decision");
      host.cancelPaced("return");
      if (from < FROZEN) host.sendSpsa({ type: "pause" });
    } else if (from >= FROZEN) {
      host.sendSpsa({ type: "resume" });
    } else {
      // normal ↔ conservative: the iteration in progress was sized for the other limits.
      host.cancelPaced("decision");
      host.sendSpsa({ type: "reset" });
    }
  }

  // ---- Trips ----

  /**
   * A governor trip: freeze, roll back to the baseline, then halt if trips keep repeating. The
   * rollback comes before the halt because a halted engine applies nothing, rollbacks included.
   */
  private onGovernorTrip(reason: "nonFiniteObjective" | "spike" | "divergence", verdict: GovernorCode): void {
    this.windowTroubled = true;
    this.raise(reason);
    this.autoRollback(RollbackReason.SafeMode, `instability governor: ${reason}`);
    if (verdict === GovernorCode.RepeatedTrips) this.raise("repeatedTrips");
  }

  /**
   * Rolls back to the baseline on a trip, within `rollbacksPerHour`; one more within the hour halts
   * instead (a baseline that keeps needing rollbacks needs a human). A halted engine applies
   * nothing, automatic rollbacks included: only an operator's `engine.rollback()` moves it.
   */
  private autoRollback(code: RollbackReason, note: string): void {
    if (this.host.executor.mode[0]! >= SAFE_MODE_LEVEL.halted) return;
    const now = this.host.scheduler.now();
    if (this.rollbacks.full(now)) {
      this.raise("repeatedTrips");
      return;
    }
    this.rollbacks.record(now);
    this.host.restoreBaseline(code, note);
  }

  /**
   * A held spike. It trips only if the tuner changed the system materially since its
   * configuration was last known-good (see {@link RegressionBlame}): the SPSA centre is more than
   * half a maxDelta (a perturbation's reach) from it in some parameter. An anomaly that appeared
   * while the tuner stood at a configuration that had proved itself is the environment's (a regime
   * shift, a load step): rolling back to the baseline cannot be expected to fix it, so the governor
   * takes the trip back, adopts the new level, and SPSA follows.
   */
  private onSpike(verdict: GovernorCode): void {
    if (this.blame?.tunerMoved(this.host.core.centre)) this.onGovernorTrip("spike", verdict);
    else this.absorbShift();
  }

  /**
   * An anomaly the tuner did not cause: the governor takes the trip back and adopts the new level.
   * The moves that follow are SPSA following the new regime, not a tuner running away: the
   * thrashing history starts afresh from the live point, and for one budget window the centre's
   * moves are not charged to the change budget (the new optimum may be further away than the
   * budget), so that following a shift is not frozen as thrashing or overspending (issue 11).
   */
  private absorbShift(): void {
    const live = this.host.live.values;
    this.governor?.retractLastTrip();
    this.blame?.reset(this.host.core.centre);
    this.thrashing?.reset(live);
    this.budgetReference.set(live);
    const budget = this.changeBudget;
    if (budget !== undefined) {
      budget.reset(live);
      this.budgetExemptUntil = this.host.scheduler.now() + budget.options.budgetWindowMs;
    }
    this.absorbedShifts++;
  }

  /** Switches the SPSA measurements between the objective and the negated margin, restarting the cycle. */
  private setFeasibility(on: boolean): void {
    if (this.host.core.seekingFeasibility === on) return;
    this.host.core.setFeasibilityOnly(on);
    this.host.cancelPaced("decision");
    this.host.sendSpsa({ type: "reset" });
  }

  /** Whether a (rejected) digest claims the live generation; false when its fields cannot be read. */
  private isForLiveGeneration(digest: unknown): boolean {
    try {
      return (digest as Digest).generation === this.host.live.generation;
    } catch {
      return false;
    }
  }

  // ---- Circuit breakers ----

  /** Whether every circuit breaker is closed (verified working), not merely not open. */
  private breakersClosed(): boolean {
    return (
      (this.actuator?.state ?? "closed") === "closed" && (this.sinkGuard?.state ?? "closed") === "closed"
    );
  }

  /**
   * Runs the half-open probe of `guard` after `delay` ms: the actuator gets the live values again,
   * the sink the batches it has not taken. The breaker's own timer to half-open may be due at the
   * same instant and run after this one, so a probe that finds the breaker still open retries a
   * millisecond later instead of being refused (a frozen engine makes no other calls).
   */
  private scheduleProbe<A extends readonly unknown[]>(guard: GuardedCallback<A>, delay: number): void {
    this.breakerProbes.get(guard)?.unsubscribe();
    this.breakerProbes.set(
      guard,
      this.host.scheduler.schedule(() => {
        this.breakerProbes.delete(guard);
        if (this.host.isClosed()) return;
        if (guard.state === "open") {
          this.scheduleProbe(guard, 1);
          return;
        }
        if (guard.state !== "halfOpen") return;
        const live = this.host.live;
        if (guard === (this.actuator as unknown)) this.actuator?.call(live.values, live.generation);
        else this.deliverToSink([]);
        this.host.afterWork();
      }, delay),
    );
  }

  /** An open breaker freezes the engine; after its backoff a probe call tries to close it. */
  private watchBreaker<A extends readonly unknown[]>(guard: GuardedCallback<A> | undefined): void {
    if (guard === undefined) return;
    guard.on("breaker.opened", (event) => {
      this.raise("breakerOpen");
      this.scheduleProbe(guard, event.backoffMs);
    });
    guard.on("breaker.closed", () => {
      if (this.breakersClosed()) this.clear("breakerOpen");
    });
  }
}
