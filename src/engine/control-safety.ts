import type { SchedulerLike, Subscription } from "rxjs";
import type { Subscription as ActorSubscription, AnyActorRef } from "xstate";
import type { SafeModeChanged, SafeModeEvent } from "../../machines/safe-mode.machine.js";
import {
  demandedLevel,
  haltReasonBits,
  reasonLevel,
  reasonMask,
  SAFE_MODE_LEVEL,
  SAFE_MODES,
  type SafeModeName,
  type SafeModeReason,
} from "../../machines/safe-mode-reasons.js";
import type { SpsaMachineEvent } from "../../machines/spsa.machine.js";
import { type AuditEvent, AuditRecordType, RecallTest } from "../audit/events.js";
import { type AuditRing, CONTROL_EVENT_TYPES } from "../audit/ring.js";
import { RollbackReason } from "../audit/rollback-reason.js";
import { Violation } from "../audit/violation.js";
import { errorMessage } from "../errors.js";
import { quietSink } from "../inspect/inspection-record.js";
import { Float64Block } from "../runtime/float64-block.js";
import { clockFromScheduler } from "../runtime/scheduler-clock.js";
import type { ParamRegistry } from "../space/param-registry.js";
import { extremesIgnored } from "./aggregate.js";
import type { ResolvedEngineConfig } from "./config.js";
import { ChangeBudget, ChangeBudgetCode } from "./safety/change-budget.js";
import { EventRate } from "./safety/event-rate.js";
import { type EngineBreakerStates, GuardedCallback, GuardedCallResult } from "./safety/guarded-callback.js";
import { HomeostasisCache } from "./safety/homeostasis-cache.js";
import { GovernorCode, InstabilityGovernor, type TimeReader } from "./safety/instability-governor.js";
import { PointKind, RegimeDetector, RegimeSignal, RegimeVerdict } from "./safety/regime-detector.js";
import { MATERIAL_MOVE, RegressionBlame } from "./safety/regression-blame.js";
import { ThrashingCode, ThrashingDetector } from "./safety/thrashing-detector.js";
import type { SpsaCore } from "./spsa/spsa-core.js";

/** The kinds of apply that wait for Tier 1's timing rules, one pending at a time each. */
export type PacedSlot = "decision" | "return";

/*
 * The engine ↔ control-safety interface goes one way each. The engine calls ControlSafety's event
 * methods (a digest, a window, an apply, a command…) and hands it a read-only SafetyView of its
 * parts: config, clock, registry, live values, the SPSA core's centre and the executor's mode word.
 * ControlSafety never writes those parts nor calls the engine's methods: whatever it wants done —
 * block applies, mirror a mode, roll back, cancel a paced apply, steer the SPSA cycle or its gain,
 * deliver records — it emits as a SafetyCommand, which the engine carries out at once, in order;
 * the only thing it writes itself is its own audit records. It calls the host's callbacks (onApply,
 * auditSink, auditRecordSink) behind their breakers and reports whether each took its input; a
 * record sink reads the ring's pending records, and removing them is the engine's part.
 */

/** What the control-safety layer reads of its engine (it writes none of it). */
export interface SafetyView {
  readonly config: ResolvedEngineConfig;
  /** The engine clock; control-safety also schedules its own timers on it (clears, probes). */
  readonly scheduler: SchedulerLike;
  readonly registry: ParamRegistry;
  /** The live and baseline values (raw), as read-only arrays: writes go through Tier 1 only. */
  readonly live: {
    readonly values: ArrayLike<number>;
    readonly generation: number;
    readonly baseline: ArrayLike<number>;
    readonly hasBaseline: boolean;
  };
  /** The audit ring: its fill is read, and control-safety's own records are written to it. */
  readonly audit: AuditRing;
  readonly executor: { readonly mode: Readonly<Uint8Array> };
  readonly core: Pick<
    SpsaCore,
    "centre" | "gradient" | "warmStarting" | "seekingFeasibility" | "yCentre" | "yPlus" | "yMinus"
  >;
  /** Whether the engine is closed (a pending breaker probe then does nothing). */
  isClosed(): boolean;
}

/** What control-safety asks of its engine, carried out at once by the engine's `execute`. */
export type SafetyCommand =
  /** Set the executor's mode word to `level` (frozen or halted): no apply passes from here on. */
  | { readonly kind: "block"; readonly level: number }
  /** Mirror a SafeMode change: the mode word, Tier 1's conservative limits and the SPSA gain scale. */
  | { readonly kind: "mirrorMode"; readonly word: number; readonly conservative: boolean }
  /** Drop the pending paced apply of `slot`, if any. */
  | { readonly kind: "cancelPaced"; readonly slot: PacedSlot }
  /** Restore the baseline as a new generation and restart the cycle from it. */
  | { readonly kind: "rollback"; readonly code: RollbackReason; readonly note: string }
  /** Tell the SPSA cycle to pause, resume or start its iteration over. */
  | { readonly kind: "spsa"; readonly event: SpsaMachineEvent }
  /** Re-open the SPSA gain (after a shift or an innocent probe). */
  | { readonly kind: "reopenGain" }
  /** Walk the SPSA centre to `target` (unit cube) in paced steps. */
  | { readonly kind: "warmStart"; readonly target: Float64Array; readonly freshOnArrival?: boolean }
  /** Stop a warm start under way. */
  | { readonly kind: "cancelWarmStart" }
  /** Switch the SPSA measurements to the negated constraint margin (or back). */
  | { readonly kind: "feasibilityOnly"; readonly on: boolean }
  /** Schedule delivery of new audit records (and check audit pressure). */
  | { readonly kind: "deliver" };

/** Carries out a {@link SafetyCommand} (the engine's side of the interface). */
export type SafetyExecute = (command: SafetyCommand) => void;

// The commands without arguments, or with a few fixed ones: emitted without allocating.
const CANCEL_DECISION: SafetyCommand = Object.freeze({ kind: "cancelPaced", slot: "decision" });
const CANCEL_RETURN: SafetyCommand = Object.freeze({ kind: "cancelPaced", slot: "return" });
const SPSA_PAUSE: SafetyCommand = Object.freeze({ kind: "spsa", event: Object.freeze({ type: "pause" }) });
const SPSA_RESUME: SafetyCommand = Object.freeze({ kind: "spsa", event: Object.freeze({ type: "resume" }) });
/**
 * How many times `spikeHold` tries in a row must end on a spike at a perturbed point, on one side
 * of the centre, for the spike to be held there (see `ControlSafety.onRemeasure`): twice, so that
 * spikes that come at random, which the cycle's measuring again is for, almost never do.
 */
const PERTURBATION_SPIKE_TRIES = 2;

/**
 * How far from the centre's value, in standard deviations of their difference, a measurement of
 * the centre after a shift may be for the objective to count as settled (see
 * `ControlSafety.agreesWithCentre`): 3, so that noise alone keeps it unsettled one time in 370.
 */
const SETTLED_SIGMAS = 3;

/** What a spike held at the perturbed points adds to its trip's note. */
const AT_PERTURBATIONS = " held at the perturbed points (the centre clean between them)";

const SPSA_RESET: SafetyCommand = Object.freeze({ kind: "spsa", event: Object.freeze({ type: "reset" }) });
const REOPEN_GAIN: SafetyCommand = Object.freeze({ kind: "reopenGain" });
const CANCEL_WARM_START: SafetyCommand = Object.freeze({ kind: "cancelWarmStart" });
const DELIVER: SafetyCommand = Object.freeze({ kind: "deliver" });
const FEASIBILITY_ON: SafetyCommand = Object.freeze({ kind: "feasibilityOnly", on: true });
const FEASIBILITY_OFF: SafetyCommand = Object.freeze({ kind: "feasibilityOnly", on: false });

/**
 * Blame horizons after an absorbed rise within which another rise, with the tuner away from the
 * baseline, is taken as the tuner's (see `ControlSafety.blameTuner`).
 */
const REPEATED_RISE_HORIZONS = 2;
const FROZEN = SAFE_MODE_LEVEL.frozen;
const CONSERVATIVE = SAFE_MODE_LEVEL.conservative;
const BLOCK_FROZEN: SafetyCommand = Object.freeze({ kind: "block", level: FROZEN });
const BLOCK_HALTED: SafetyCommand = Object.freeze({ kind: "block", level: SAFE_MODE_LEVEL.halted });
const HOUR_MS = 3_600_000;
/** Bits of `ControlSafety.carry`: an excursion a window carries into the next. */
const Carry = { Rise: 1, RiseJudged: 2, Fall: 4, FallJudged: 8 } as const;
/** Where the excursion a window counts started: nowhere, in the window before it, or in it. */
const Started = { No: 0, Before: 1, Here: 2 } as const;
type Started = (typeof Started)[keyof typeof Started];
// Codes read on every digest, as local consts: V8 (Node 20) reads an imported binding through a
// cell, checking that it is initialised, at every use, but folds a local const into the code.
const GOVERNOR_HEALTHY = GovernorCode.Healthy;
const REGIME_RISE = RegimeSignal.Rise;
const REGIME_FALL = RegimeSignal.Fall;
/**
 * Default thrashing dead-band, in maxDeltas: one noisy step and its correction can each move the
 * centre by up to a maxDelta, so a reversal counts only after a swing that needed at least two
 * steps in one direction. (At one maxDelta, B4's noisy σ = 2 tracking tripped once in 20 runs; at
 * 1.5, none did.)
 */
const THRASHING_DEAD_BAND_STEPS = 1.5;
/**
 * Audit records kept free when the ring counts as full (from capacity 46 up; a smaller ring keeps
 * what lies above its high-water mark, at least 2 at `MIN_AUDIT_CAPACITY`). The engine lets the
 * window in progress take the first half and keeps the second for control records only (the ring
 * refuses windows, digests and decisions there: see `AuditRing.reserveFrom`): the mode change a
 * trip causes, and a halt with its command ({@link HALT_RECORDS}, which the engine's other commands
 * and rollbacks leave free: they are refused when they cannot).
 */
export const AUDIT_RESERVE = 8;
/**
 * Audit records a halt writes: its command and the change to `halted` (a halt of an engine already
 * halted writes its command only). Operator commands and rollbacks leave this much of the ring's
 * room free, refused when they cannot, so that a halt is always possible and recorded.
 */
export const HALT_RECORDS = 2;
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
const BREAKER_OPEN = reasonMask("breakerOpen");
/** A regime verdict decides governor trips for this many detector warm-ups after it. */
const VERDICT_MEMORY_WARMUPS = 4;
/** Gradient estimates after a shift whose sum tells the direction of the new regime's optimum. */
const RECALL_ESTIMATES = 4;
/**
 * A homeostasis probe judges a step only when the return it tests predicts a fall of at least this
 * many σ of the objective there: a smaller one is within the noise of a single centre measurement.
 */
const PROBE_MIN_FALL_SIGMAS = 4;

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
 * ({@link observeInput}, {@link onConstraintMargin}) allocate nothing.
 */
export class ControlSafety {
  /** SafeMode level now (0 normal … 3 halted), mirrored from the chart's `mode.changed`. */
  modeLevel = 0;
  /** Reasons raised and not cleared (the chart holds the same set). */
  reasonBits = 0;
  /** Reasons cleared since the mode was entered, while the mode waits to step down (else 0). */
  private clearedBits = 0;
  /**
   * `clearedBits` when the latest escalation cleared it: a trip taken back returns the chart to
   * the mode it found, which those reasons still explain.
   */
  private clearedBeforeEscalation = 0;
  /** Held spikes not attributed to the tuner (see {@link onSpike}). */
  absorbedShifts = 0;
  /** Windows closed since the governor last absorbed a rise as the plant's (see {@link blameTuner}). */
  private windowsSinceAbsorb = Number.POSITIVE_INFINITY;

  /** Audit events the sink has not taken yet. */
  undeliveredCount = 0;
  /** Audit events given up on because the sink kept refusing them and the backlog was full. */
  sinkDropped = 0;
  /** While {@link deliverToSink} hands the sink a batch (a re-entrant call only queues). */
  private sinkDelivering = false;

  private readonly host: SafetyView;
  /**
   * `host.live` and `host.audit`, held here because every digest reads them: with thousands of
   * engines per process each object a digest passes through is likely a cache miss.
   */
  private readonly live: SafetyView["live"];
  private readonly audit: AuditRing;
  private readonly execute: SafetyExecute;
  private readonly governor: InstabilityGovernor | undefined;
  private readonly thrashing: ThrashingDetector | undefined;
  private readonly changeBudget: ChangeBudget | undefined;
  /** Centre positions at the dead-band's resolution: what the change budget is charged with. */
  private readonly budgetReference: Float64Array;
  /** Non-finite digests in a row for generation {@link nonFiniteRunGeneration} (see {@link onNonFiniteDigest}). */
  private nonFiniteRun = 0;
  /** The generation the run of non-finite digests was measured under (−1: none yet). */
  private nonFiniteRunGeneration = -1;
  /**
   * Where the engine writes an accepted digest's objective before {@link observeInput}, and a
   * closed window's value before {@link takeWindowAnomalous}: a number passed as an argument of a
   * call V8 does not inline is boxed (16 bytes per digest), a store into a Float64Array never is,
   * so the digest path allocates nothing whatever V8 inlines.
   */
  readonly input = new Float64Array(1);
  /** Generation of the last finite objective accepted (−1: none yet). */
  private finiteGeneration = -1;
  /** Engine time until which the centre's moves follow an absorbed shift and are not budgeted. */
  private budgetExemptUntil = Number.NEGATIVE_INFINITY;
  private readonly deadBands: Float64Array;
  private readonly violations: EventRate;
  private readonly rollbacks: EventRate;
  private readonly actuator: GuardedCallback<[Float64Array, number]> | undefined;
  /** What `onApply` is handed: a copy of the live values refreshed before each call, never the store. */
  private readonly pushed: Float64Array;
  private readonly sinkGuard: GuardedCallback<[readonly AuditEvent[]]> | undefined;
  /** The undecoded record sink (a decision log); what it refuses stays in the ring. */
  private readonly recordGuard: GuardedCallback<[AuditRing]> | undefined;
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
  /**
   * What makes the window being measured no measure of its point (see {@link takeWindowAnomalous}).
   * An excursion of the regime detector that started in it, upwards or downwards (or in the window
   * before, still under way when that one closed: see `carry`), and whether it has been judged
   * since (a rise a shift, a fall the detector's cue to learn its level again), from which point
   * every digest counts: before, only those `clip` σ or more from the level on its side. The
   * window's high anomalous digests (cost spikes and a counted rise's) and low ones (a counted
   * fall's), and whether one was an outlier (beyond any statistic).
   */
  private riseStarted: Started = Started.No;
  private riseJudged = false;
  private fallStarted: Started = Started.No;
  private fallJudged = false;
  private windowHigh = 0;
  private windowLow = 0;
  private windowOutlier = false;
  /** The excursion flags the next window starts with (bits of {@link Carry}), set when one closes. */
  private carry = 0;
  /**
   * After a rise judged a shift, the objective has not yet shown it stopped moving: estimates are
   * dropped (see {@link takeWindowAnomalous}) until one averages to the centre's value, two
   * measurements of the unmoved centre agree ({@link judgeSettled}), or the regime detector has
   * learnt the new level.
   */
  private levelUnsettled = false;
  /**
   * The last centre value measured while unsettled (at first the rise's at the centre; NaN when
   * none), and the centre it measured.
   */
  private unsettledCentreValue = Number.NaN;
  private readonly unsettledCentre: Float64Array;
  /** Digests the window being measured took, and how many of them were cost spikes (anomalously high). */
  private windowDigests = 0;
  private windowSpikes = 0;
  /** Whether most of the digests of the window {@link takeWindowAnomalous} last handed over were cost spikes. */
  private lastWindowSpiked = false;
  /**
   * Tries in a row whose perturbed point the cycle measured again for a cost spike, the centre
   * clean between them (see {@link onRemeasure}).
   */
  private spikedPerturbations = 0;
  /**
   * Per parameter, the side of the centre all those spiked points lay on: +1 or −1, 0 once they
   * disagreed (or the parameter was not perturbed).
   */
  private readonly spikedSide: Int8Array;
  /** The SPSA centre those tries were around: a try around another centre starts a new run. */
  private readonly spikedCentre: Float64Array;
  private rollingBackForActuator = false;
  /**
   * Reasons waiting for the live point to be back at the SPSA centre before they freeze (an open
   * breaker): freezing first would leave a perturbed point live. See {@link onLiveAtCentre}.
   */
  private freezeAtCentre = 0;
  /** A feasibility step left both its perturbed points feasible: a feasible centre ends the violation. */
  private clearArmed = false;
  /** A negative margin was measured at the current centre (not only at a perturbed point). */
  private violatedAtCentre = false;
  /** A margin ≥ 0 fed the window being measured. */
  private windowFeasible = false;
  /** A negative margin fed the window being measured: it cannot end a violation (see {@link judgeWindow}). */
  private windowInfeasible = false;
  /**
   * A negative margin was measured at the baseline, and no feasible centre has been found since:
   * the governor compares no window with a level measured there (see {@link judgeWindow}).
   */
  private baselineInfeasible = false;
  /** Whether a spike or divergence is the tuner's doing (with the governor only). */
  private readonly blame: RegressionBlame | undefined;
  /**
   * The probe: a trip rolled back to the known-good configuration and the engine waits to see if
   * the regression recovers there (the tuner's) or persists (the plant's). See {@link onRolledBack}.
   */
  private probing = false;
  /** Whether the rollback under way is a governor trip's (it starts a probe). */
  private tripRollback = false;
  /** SPSA centre when the probe's trip fired: where the tuner resumes if it proves innocent. */
  private readonly probeFrom: Float64Array;
  /** The reason the probe's trip raised: taken back with the trip if the tuner proves innocent. */
  private probeReason: SafeModeReason | undefined = undefined;
  /**
   * Pending audit records at which the ring counts as full (see {@link checkAuditPressure}); the
   * engine keeps the ring's room from there for control records (`AuditRing.reserveFrom`).
   */
  readonly auditFullAt: number;

  // ---- Regime detection and homeostasis (issue 11, items 4 and 5): see the section below ----
  /** Environment shifts followed (regime detector's "exogenous" verdicts). */
  shiftsFollowed = 0;
  /**
   * Whether the governor's reference was adopted in a shift the engine followed, and the objective
   * has not fallen since: a fall then means the environment came back, and so does the reference.
   * Cleared by a rollback (the kept known-good level is the reference) and an operator's baseline.
   * The reset is taken once, at the fall's start: a recovery that drains over many windows leaves
   * the reference where it was one window into it (left open, see the SafeMode page).
   */
  private levelFromShift = false;
  /** Regressions the regime detector blamed on the tuner (each rolled back). */
  regressionsBlamed = 0;
  /** Warm starts towards a remembered regime. */
  regimeRecalls = 0;
  private readonly regime: RegimeDetector | undefined;
  private readonly homeostasis: HomeostasisCache | undefined;
  /** What the live point is (the last apply's kind): which side a digest measured. */
  private liveKind: PointKind = PointKind.Centre;
  /** SPSA centre when the objective was last in control: where the tuner stood before a rise began. */
  private readonly controlCentre: Float64Array;
  private centreMovedSinceControl = false;
  /** The latest verdict and the digests since (governor trips soon after follow it). */
  private lastVerdict: RegimeVerdict = RegimeVerdict.None;
  private verdictAge = Number.POSITIVE_INFINITY;
  /** Digests in control since the last shift (a regime is known-good after `minDwell`). */
  private dwell = 0;
  /** Commits to wait before looking up the regime cache (the first gradient after a shift straddles it). */
  private recallIn = 0;
  private readonly recallTarget: Float64Array;
  /** Sum of the gradient estimates since the shift (a single SPSA estimate's direction is too noisy). */
  private readonly recallGradient: Float64Array;
  /** Warm starts towards a remembered regime that the objective refuted (see {@link judgeRecall}). */
  regimeRecallsRefuted = 0;
  /**
   * A recall under test: 0 none, else a {@link RecallTest} (a refuted probe at the shift hands over
   * to the look-up from gradient estimates).
   */
  private recallTest = 0;
  /** Cache entry of the recall under test. */
  private recalledEntry = -1;
  /** Whether the centre took a warm step since the recall (before it, y⁰ measured the old centre). */
  private recallStepped = false;
  /** The objective where the shift found the tuner, the recalled regime's level, and σ there. */
  private recallStartValue = 0;
  private recallLevel = 0;
  private shiftSigma = Number.NaN;
  private shiftValue = Number.NaN;
  /** Distance from the centre at the recall to the recalled centre (unit cube, Euclidean). */
  private recallDistance = 0;
  /** The recalled regime's centre (unit cube). */
  private readonly recalledCentre: Float64Array;

  constructor(host: SafetyView, execute: SafetyExecute) {
    this.host = host;
    this.live = host.live;
    this.audit = host.audit;
    this.execute = execute;
    const { config, registry, live, audit, core } = host;
    const safety = config.safety;
    const n = registry.size;
    const block = new Float64Block(9 * n);
    const ranges = new Float64Array(n);
    this.deadBands = block.take(n);
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
    this.pushed = block.take(n);
    this.probeFrom = block.take(n);
    this.spikedSide = new Int8Array(n);
    this.spikedCentre = block.take(n);
    this.unsettledCentre = block.take(n);
    this.controlCentre = block.take(n);
    this.controlCentre.set(core.centre);
    this.recallTarget = block.take(n);
    this.recallGradient = block.take(n);
    this.recalledCentre = block.take(n);
    this.regime = safety.regime === undefined ? undefined : new RegimeDetector(safety.regime);
    this.homeostasis =
      safety.homeostasis === undefined || this.regime === undefined
        ? undefined
        : new HomeostasisCache(n, safety.homeostasis);
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
    // The breakers are actor roots of their own: an inspector of the engine sees them only through
    // its sink, each under a system id naming the callback it guards. One wrapper for the three, so
    // a throwing sink is reported once for them.
    const inspect = config.inspect === undefined ? undefined : quietSink(config.inspect);
    this.actuator =
      config.onApply === undefined
        ? undefined
        : new GuardedCallback(config.onApply, safety.breaker, breakerClock, {
            inspect,
            systemId: "actuatorBreaker",
          });
    // An async hook's failure arrives after the call returned: it is handled as a throw is, and
    // the engine's usual afterWork runs the consequences (drains, timers).
    this.actuator?.onFailure(() => {
      if (this.actuator !== undefined && this.onActuatorFailed(this.actuator)) execute(DELIVER);
    });
    // The audit sinks must be synchronous: whether a batch was taken is decided when the call
    // returns. A promise one returns is not awaited; it fails the call (SynchronousCallbackError),
    // and the batch it was handed counts as taken, so it is never offered twice.
    this.sinkGuard =
      config.auditSink === undefined
        ? undefined
        : new GuardedCallback(config.auditSink, safety.breaker, breakerClock, {
            synchronous: "auditSink",
            inspect,
            systemId: "auditSinkBreaker",
          });
    this.recordGuard =
      config.auditRecordSink === undefined
        ? undefined
        : new GuardedCallback(config.auditRecordSink, safety.breaker, breakerClock, {
            synchronous: "auditRecordSink",
            inspect,
            systemId: "auditRecordSinkBreaker",
          });
  }

  /**
   * The reasons a mode above what the active ones demand is stepping down from (0 when the active
   * reasons explain the mode): the chart leaves a mode only after its dwell and healthy windows,
   * and a mode must always say why it holds.
   */
  get steppingDownBits(): number {
    return this.modeLevel > demandedLevel(this.reasonBits) ? this.clearedBits & ~this.reasonBits : 0;
  }

  /** The SafeMode mode now. */
  get mode(): SafeModeName {
    return SAFE_MODES[this.modeLevel] ?? "halted";
  }

  /** State of the breakers around `onApply` and `auditSink` ("none" when that callback is not given). */
  get breakerStates(): EngineBreakerStates {
    return { actuator: this.actuator?.state ?? "none", auditSink: this.auditSinkState() };
  }

  /** The audit side's breaker: the record sink's when it is not closed, else the event sink's. */
  private auditSinkState(): EngineBreakerStates["auditSink"] {
    const records = this.recordGuard?.state;
    if (records !== undefined && (records !== "closed" || this.sinkGuard === undefined)) return records;
    return this.sinkGuard?.state ?? "none";
  }

  /**
   * Offers the ring's pending records, undecoded, to the record sink (the ring is read through the
   * view; removing them is the engine's part). Returns false when the sink did not take them (it
   * threw, or its breaker is open): the engine must then leave them in the ring. A sink that
   * returned a promise was handed them all the same: that call is a failure of the sink (its
   * breaker counts it), but the records count as taken, so they are never offered twice.
   */
  deliverRecords(): boolean {
    const guard = this.recordGuard;
    const ring = this.host.audit;
    if (guard === undefined || ring.size === 0) return true;
    const result = guard.callWith(ring);
    return result === GuardedCallResult.Succeeded || result === GuardedCallResult.ReturnedPromise;
  }

  /**
   * Control records the audit ring can still store: up to its capacity, or, once it could not grow
   * for want of memory, up to the room it has (cold path: commands and rollbacks ask before acting).
   */
  get auditRoom(): number {
    const audit = this.audit;
    const slots = audit.outOfMemory ? audit.storage.length / audit.recordWidth : audit.capacity;
    // What a refusing sink has not taken is still held, and counts as the ring does.
    return slots - audit.size - this.undeliveredCount;
  }

  /**
   * Gives up measurements the refusing sink has not taken, oldest first, until the audit has
   * `needed` records of room: what a safety action (an automatic rollback) takes, which a backlog
   * of windows and digests must not refuse. Control records are never given up here.
   */
  makeAuditRoom(needed: number): void {
    // A batch being handed to the sink right now stays whole.
    this.dropBacklogMeasurements(
      needed - this.auditRoom,
      this.sinkDelivering ? 1 : 0,
      this.undelivered.length,
    );
  }

  /**
   * Gives up `count` measurements (records other than {@link CONTROL_EVENT_TYPES}) from the sink's
   * backlog, oldest first, among batches `from` (inclusive) to `to` (exclusive), and no more:
   * what the sink can still be given stays. Fewer go when fewer are there; batches left empty go.
   */
  private dropBacklogMeasurements(count: number, from: number, to: number): void {
    if (count <= 0) return;
    let left = count;
    for (let i = from; left > 0 && i < to; i++) {
      const batch = this.undelivered[i]!;
      const kept: AuditEvent[] = [];
      for (const event of batch) {
        if (left > 0 && !CONTROL_EVENT_TYPES.has(event.type)) left--;
        else kept.push(event);
      }
      this.undelivered[i] = kept;
    }
    const dropped = count - left;
    this.undeliveredCount -= dropped;
    this.sinkDropped += dropped;
    for (let i = to - 1; i >= from; i--) if (this.undelivered[i]!.length === 0) this.undelivered.splice(i, 1);
  }

  /** Sequence number of the oldest audit event the sink has not taken (Infinity when none). */
  get oldestUndeliveredSeq(): number {
    return this.undelivered[0]?.[0]?.seq ?? Number.POSITIVE_INFINITY;
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
    this.watchBreaker(this.recordGuard);
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
    this.recordGuard?.stop();
  }

  // ---- Digests and windows ----

  /**
   * A digest was rejected for a non-finite objective: telemetry faults are not configuration
   * faults. An isolated one is only rejected (and counted by the engine). {@link NON_FINITE_BURST}
   * in a row for the live generation freeze adaptation while the burst lasts (the reason clears
   * with the next healthy window). Only a burst that starts right after an apply, before any
   * finite value of that generation, blames the apply: it trips the governor and rolls back.
   * Stale digests, and more while the reason is active, are only rejected. A run belongs to one
   * generation: NaNs measured under the previous one say nothing about the apply, so the first
   * of a new generation starts the count again.
   */
  onNonFiniteDigest(generation: number, now: number): void {
    const governor = this.governor;
    if (
      governor === undefined ||
      (this.reasonBits & NON_FINITE) !== 0 ||
      generation !== this.host.live.generation
    )
      return;
    if (this.nonFiniteRunGeneration !== generation) {
      this.nonFiniteRunGeneration = generation;
      this.nonFiniteRun = 0;
    }
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

  /**
   * Whether the digest being observed goes into an evaluation window (set by the engine before
   * {@link observeInput}). Only those reach the regime detector, whose warm-up and confirmation
   * count digests: with telemetry far faster than the applies (a digest every 2 ms, an apply at
   * most every 100 ms), the digests between a window's close and the next apply all measured one
   * point, so the detector learnt its level at one side of the perturbation and took the next
   * side for a shift of the environment, hundreds of times a minute, and SPSA never stepped.
   */
  measuring = true;

  /**
   * An accepted digest's objective, written to `input[0]` by the caller: the regime detector and
   * the governor's spike check. The time is read from `clock` only if a rule needs it: on a wall
   * clock, every read allocates.
   */
  observeInput(clock: TimeReader): void {
    const objective = this.input[0]!;
    const live = this.live;
    this.nonFiniteRun = 0;
    const generation = live.generation;
    this.finiteGeneration = generation;
    let high = false;
    let low = false;
    const regime = this.regime;
    if (regime !== undefined && this.measuring) {
      this.watchRegime(regime);
      const side = regime.lastBeyondSide;
      if (regime.lastExtreme) {
        if (side > 0) this.riseStarted = Started.Here;
        else this.fallStarted = Started.Here;
      }
      high = this.riseStarted !== Started.No && (side > 0 || this.riseJudged);
      low = this.fallStarted !== Started.No && (side < 0 || this.fallJudged);
    }
    // A caused regression was just rolled back: this digest measured the abandoned point.
    if (live.generation !== generation) return;
    const governor = this.governor;
    if (governor !== undefined) {
      // Handed over through the governor's input slot: as an argument it could be boxed.
      governor.input[0] = objective;
      const verdict = governor.observeInputReadingClock(clock);
      if (verdict !== GOVERNOR_HEALTHY) this.onSpike(verdict);
      // A huge negative outlier is no spike, but no measurement of the point either.
      else if (governor.anomalousRun > 0 || governor.outlier) {
        this.windowTroubled = true;
        // Only a digest a window takes makes that window's value no measure of its point: one
        // measured while the cycle waits to apply (at the point before) belongs to no window.
        if (this.measuring) {
          if (governor.outlier) this.windowOutlier = true;
          if (governor.anomalousRun > 0) {
            this.windowSpikes++;
            high = true;
          }
        }
      }
    }
    if (this.measuring) {
      this.windowDigests++;
      if (high) this.windowHigh++;
      if (low) this.windowLow++;
    }
  }

  /**
   * Constraint-first: a negative margin makes the engine conservative and feasibility-seeking;
   * below the emergency level it rolls back. The violation clears at the close of a window measured
   * at the centre that held no negative margin ({@link judgeWindow}): a single margin ≥ 0 near a
   * noisy boundary says little, and each turn restarts the cycle.
   */
  onConstraintMargin(margin: number): void {
    // The digest feeds a window unless it made the engine roll back: `finiteGeneration` is the
    // generation observeInput found it measured under.
    if (margin >= 0) {
      this.clear("constraintEmergency");
      if (this.live.generation === this.finiteGeneration) this.windowFeasible = true;
      return;
    }
    if (!(margin < 0)) return; // NaN: says nothing
    this.windowTroubled = true;
    if (this.liveIsBaseline()) this.baselineInfeasible = true;
    const atCentre = this.liveKind === PointKind.Centre;
    const generation = this.live.generation;
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
    // A rollback moved the tuner to its baseline: a feasible window there ends the violation (this
    // digest, measured at the abandoned point, feeds none).
    if (this.live.generation !== generation) this.clearArmed = true;
    else {
      this.clearArmed = false;
      if (atCentre) this.violatedAtCentre = true;
      if (generation === this.finiteGeneration) this.windowInfeasible = true;
    }
  }

  /**
   * Whether a window of margins ≥ 0 just closed ends the violation: only at the centre, and only if
   * the centre itself was found infeasible (the constraint recovered where the tuner stands), or if
   * a feasibility step left both of its perturbed points feasible. A violation found at a perturbed
   * point while the centre is feasible says the centre is within a perturbation of the boundary:
   * turning back to the objective there would cross it again at the next perturbation, and each
   * turn restarted the iteration, so the cycle never completed one (hysteresis).
   */
  private mayClearViolation(): boolean {
    if (!this.host.core.seekingFeasibility) return true;
    return this.liveKind === PointKind.Centre && (this.violatedAtCentre || this.clearArmed);
  }

  /**
   * Whether the window just closed, of `count` digests, is no measure of its point (and forgets
   * what made it so for the next window): it held an outlier, or more high or more low anomalous
   * digests than its aggregate ignores at each end.
   *
   * @remarks
   * A spike moves a mean, and the window where an excursion starts may straddle a shift (one side
   * of the estimate measured before it, the other after). But a trimmed mean of 60 digests drops
   * the 6 highest: a slow request or two, which tailed telemetry has in most windows, never
   * reaches the value. Measuring such windows again measured them again and again: with 2 % of
   * digests spiking, 7 windows in 300 fed the gradient. A shift in a window's last digests does
   * not reach its value either, but the next window measures the new level: an excursion still
   * under way when its window closes is carried into the next one, where its digests count. One
   * that started before that (the tuner probing past a cliff) is measured as it is, or the cycle
   * would never complete there.
   *
   * The window's value is read from `input[0]` (an estimate's last window is judged by it while
   * the objective settles after a shift).
   */
  takeWindowAnomalous(count: number): boolean {
    const window = this.host.config.window;
    const ignored = extremesIgnored(count, window.aggregation, window.trim);
    let anomalous = this.windowOutlier || this.windowHigh > ignored || this.windowLow > ignored;
    const regime = this.regime;
    if (this.levelUnsettled && regime !== undefined) {
      // After a shift the objective may still be moving (a backlog draining, a cache refilling),
      // the same at every point: an estimate across the movement reads its slope as the knobs'
      // and steps on it, a whole move budget at a time. Until the objective has settled, an
      // estimate whose two windows do not average to the centre's value is dropped: its last
      // window is measured again, which measures the centre anew. The windows before it still
      // feed the detector's warm-up, which needs every point kind. A warm start's legs head for a
      // target and use no estimate.
      const { core } = this.host;
      if (regime.ready || core.seekingFeasibility) this.levelUnsettled = false;
      else if (this.liveKind === PointKind.Minus && !core.warmStarting && !anomalous) {
        if (this.agreesWithCentre((core.yPlus + this.input[0]!) / 2, 1.5)) this.levelUnsettled = false;
        else anomalous = true;
      }
    }
    this.carry = 0;
    // Carried once: from the window where the excursion started, not on from the next.
    if (!anomalous && regime !== undefined) {
      if (this.riseStarted === Started.Here && (this.riseJudged || regime.rising))
        this.carry |= Carry.Rise | (this.riseJudged ? Carry.RiseJudged : 0);
      if (this.fallStarted === Started.Here && (this.fallJudged || regime.falling))
        this.carry |= Carry.Fall | (this.fallJudged ? Carry.FallJudged : 0);
    }
    // Most of its digests, not one: a window of several digests catches a random spike often.
    this.lastWindowSpiked = this.windowSpikes > 0 && 2 * this.windowSpikes > this.windowDigests;
    this.forgetWindowAnomalies();
    return anomalous;
  }

  /** Forgets the window's anomalies, but for an excursion it carries into the next (see `carry`). */
  private forgetWindowAnomalies(): void {
    const carry = this.carry;
    this.riseStarted = (carry & Carry.Rise) !== 0 ? Started.Before : Started.No;
    this.riseJudged = (carry & Carry.RiseJudged) !== 0;
    this.fallStarted = (carry & Carry.Fall) !== 0 ? Started.Before : Started.No;
    this.fallJudged = (carry & Carry.FallJudged) !== 0;
    this.windowHigh = 0;
    this.windowLow = 0;
    this.windowOutlier = false;
    this.windowDigests = 0;
    this.windowSpikes = 0;
  }

  /**
   * The cycle measures again the window just closed (see {@link takeWindowAnomalous}) instead of
   * stepping on it. Returns whether that tripped the governor (and rolled back).
   *
   * @remarks
   * Measuring again is right for a spike that comes and goes. It is not for one the tuner's own
   * perturbations cause: a centre next to a cliff sends one of its perturbed points over it on
   * every try, each try is abandoned, the centre never moves, and the clean centre windows between
   * the tries keep the governor's run of anomalous digests from ever reaching `spikeHold`. So a
   * spike is held where the tuner probes when {@link PERTURBATION_SPIKE_TRIES} × `spikeHold` tries
   * in a row ended on a cost spike at a perturbed point, all on one side of the centre in some
   * parameter, with no iteration completed and no spike at the centre between them: the tuner's,
   * and a trip. A window counts as spiked when most of its digests were: a random spike in one of
   * many digests says nothing of the point. Spikes that come at random line up that way too rarely
   * to matter (`test/safety-spike-at-perturbations.test.ts`: none with one digest in twenty
   * spiking, in windows of one digest and of ten, with up to 16 parameters).
   */
  onRemeasure(): boolean {
    const governor = this.governor;
    if (governor === undefined) return false;
    if (this.liveKind === PointKind.Centre) {
      // The centre itself: the governor's own run of digests judges it.
      if (this.lastWindowSpiked) this.spikedPerturbations = 0;
      return false;
    }
    if (!this.lastWindowSpiked) return false;
    const { registry, core, live } = this.host;
    const side = this.spikedSide;
    const centre = this.spikedCentre;
    let first = this.spikedPerturbations === 0;
    if (!first) {
      for (let i = 0; i < centre.length; i++) if (centre[i] !== core.centre[i]) first = true;
    }
    if (first) {
      centre.set(core.centre);
      this.spikedPerturbations = 0;
    }
    let oneSide = false;
    for (let i = 0; i < side.length; i++) {
      const sign = Math.sign(live.values[i]! - registry.toRaw(i, core.centre[i]!));
      if (first) side[i] = sign;
      else if (side[i] !== sign) side[i] = 0;
      if (side[i] !== 0) oneSide = true;
    }
    if (!oneSide) {
      // A spike on the other side of the centre in every parameter: this try starts a new run.
      for (let i = 0; i < side.length; i++)
        side[i] = Math.sign(live.values[i]! - registry.toRaw(i, core.centre[i]!));
      this.spikedPerturbations = 1;
      return false;
    }
    if (++this.spikedPerturbations < PERTURBATION_SPIKE_TRIES * governor.options.spikeHold) return false;
    this.spikedPerturbations = 0;
    const generation = live.generation;
    this.onGovernorTrip(
      "spike",
      governor.tripHeldAtPerturbations(this.host.scheduler.now()),
      AT_PERTURBATIONS,
    );
    return live.generation !== generation;
  }

  /** The cycle completed an iteration: both its perturbed points were measured and used. */
  onIterationCompleted(): void {
    this.spikedPerturbations = 0;
  }

  /** A window closed empty: outside normal, it counts as unhealthy for the chart's exits. */
  onEmptyWindow(): void {
    if (this.modeLevel !== 0) this.sendSafeMode({ type: "window.unhealthy" });
  }

  /** A window opened: the margins of the one before (or of digests between two) are not its own. */
  onWindowOpened(): void {
    this.windowFeasible = false;
    this.windowInfeasible = false;
    // Anomalies of digests no window took (an empty window's, say) are not this one's; an
    // excursion the window before carried over is, once.
    this.forgetWindowAnomalies();
    this.carry = 0;
  }

  /**
   * Window-cadence checks: divergence, the end of a constraint violation, and whether the window
   * was healthy (for SafeMode's exits). Returns whether the window ended the violation and turned
   * the cycle back to the objective: its value, a negated margin, is then no measure for the cycle,
   * which starts over measuring its centre.
   */
  judgeWindow(now: number): boolean {
    const generation = this.live.generation;
    const feasible = this.windowFeasible && !this.windowInfeasible;
    this.windowFeasible = false;
    this.windowInfeasible = false;
    this.windowsSinceAbsorb++;
    const governor = this.governor;
    // A level measured at an infeasible baseline is no known-good level: what feasibility costs
    // is no regression to roll back (to the infeasible point). Re-learnt once feasible.
    if (this.baselineInfeasible && (this.reasonBits & CONSTRAINT_VIOLATION) !== 0 && governor !== undefined)
      governor.resetBaseline();
    const verdict = governor === undefined ? GovernorCode.Healthy : governor.closeWindow(now);
    // Divergence is attributed like a spike, and also to the tuner whenever it stands away from
    // the baseline: a slow rise is how a debt the tuner runs up shows (see blameTuner).
    if (verdict !== GovernorCode.Healthy) {
      if (this.blameTuner(true)) this.onGovernorTrip("divergence", verdict);
      else this.absorbShift();
    } else if (governor !== undefined) {
      // Back at the known-good level: the regression went with the tuner's moves, it was the tuner's.
      if (governor.worseWindows === 0) {
        this.probing = false;
        this.probeReason = undefined;
      }
      this.blame?.windowClosed(
        this.host.core.centre,
        governor.lastWindowExcess,
        governor.levelTolerance,
        // Without a level (re-learnt after a shift) no window can prove a configuration good.
        governor.worseWindows > 0 || this.windowTroubled || !governor.baselineKnown,
      );
    }
    // Hysteresis at the window's scale: margins near a noisy boundary flip digest by digest, and a
    // turn at each flip restarted the cycle before any window of several digests could fill.
    let turned = false;
    if (
      feasible &&
      (this.reasonBits & CONSTRAINT_VIOLATION) !== 0 &&
      this.live.generation === generation &&
      this.mayClearViolation()
    ) {
      this.clear("constraintViolation");
      turned = this.setFeasibility(false);
      this.baselineInfeasible = false;
    }
    const healthy = !this.windowTroubled;
    this.windowTroubled = false;
    if (healthy) {
      this.clear("nonFiniteObjective");
      this.clear("spike");
      this.clear("divergence");
    }
    if (this.modeLevel !== 0) this.sendSafeMode({ type: healthy ? "window.healthy" : "window.unhealthy" });
    return turned;
  }

  /**
   * The SPSA cycle has brought the live point back to its centre (the point believed best), or Tier
   * 1 refused to: the reasons that were waiting for it freeze now (until the breakers close).
   */
  onLiveAtCentre(): void {
    const pending = this.freezeAtCentre;
    if (pending === 0) return;
    this.freezeAtCentre = 0;
    if ((pending & BREAKER_OPEN) !== 0) this.raise("breakerOpen");
  }

  // ---- Applies and rollbacks ----

  /** A gradient step moved the SPSA centre (before it is applied). */
  onCentreStepped(): void {
    this.centreMovedSinceControl = true;
    const core = this.host.core;
    if (core.seekingFeasibility) {
      // Measured as the negated margin: ≤ 0 is feasible.
      this.clearArmed = core.yPlus <= 0 && core.yMinus <= 0;
      this.violatedAtCentre = false;
    }
    if (this.recallTest !== 0 && this.host.core.warmStarting) this.recallStepped = true;
    if (this.recallIn > 0) {
      // The first estimate after the shift straddles it: it is skipped.
      if (this.recallIn <= RECALL_ESTIMATES) {
        const g = this.host.core.gradient;
        for (let i = 0; i < g.length; i++) this.recallGradient[i]! += g[i]!;
      }
      if (--this.recallIn === 0) this.recallRegime();
    }
  }

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
    this.baselineInfeasible = false;
    // The operator's baseline is the reference now, not a followed shift's level.
    this.levelFromShift = false;
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
    // The restored point's windows measure it, not an excursion of the point abandoned.
    this.carry = 0;
    // The known-good level the governor keeps is the reference now: a fall while a debt drains
    // must not replace it with a level measured on the way down.
    this.levelFromShift = false;
    this.governor?.restart();
    this.blame?.reset(core.centre);
    this.regime?.relearn();
    // The verdict was about the abandoned point. Back at the known-good one, a rise that persists
    // is the plant's: the governor's divergence there is absorbed (the tuner stands where it was
    // known-good), which is the probe that tells a delayed regression from a shift.
    this.lastVerdict = RegimeVerdict.None;
    this.verdictAge = Number.POSITIVE_INFINITY;
    this.probing = this.tripRollback;
    if (!this.probing) this.probeReason = undefined;
    this.controlCentre.set(core.centre);
    this.recallIn = 0;
    this.recallTest = 0;
    this.liveKind = PointKind.Centre;
    this.spikedPerturbations = 0;
    this.thrashing?.reset(live.values);
    this.budgetReference.set(live.values);
    this.changeBudget?.reset(live.values);
  }

  /**
   * Pushes the live values to the actuator hook; a throw (or, for an async hook, a rejection or a
   * promise that does not settle in time, reported later through the guard) is handled by
   * {@link onActuatorFailed}.
   */
  pushToActuator(): void {
    const actuator = this.actuator;
    if (actuator === undefined || this.rollingBackForActuator) return;
    if (this.callActuator(actuator) !== GuardedCallResult.Failed) return;
    this.onActuatorFailed(actuator);
  }

  /**
   * Hands the live values and generation to `onApply` as a fresh copy: a hook that writes into what
   * it is given cannot change the live store around Tier 1.
   */
  private callActuator(actuator: GuardedCallback<[Float64Array, number]>): GuardedCallResult {
    const live = this.host.live;
    this.pushed.set(live.values);
    return actuator.call(this.pushed, live.generation);
  }

  /** Whether the live values are the baseline's (nothing to roll back from). */
  private liveIsBaseline(): boolean {
    const { values, baseline, hasBaseline } = this.host.live;
    if (!hasBaseline) return false;
    for (let i = 0; i < values.length; i++) if (values[i] !== baseline[i]) return false;
    return true;
  }

  /**
   * The actuator failed, by a throw or (later) by its promise: roll back to the baseline and push
   * it to the real system too. The one handler of both, so they cost the same. A failure while the
   * live values already are the baseline (the push of a rollback, a breaker's probe) has nothing
   * to roll back from: the breaker counts it. An outage (failures with no success between) spends
   * one of `rollbacksPerHour`, at its first failure. False when it had nothing to do.
   */
  private onActuatorFailed(actuator: GuardedCallback<[Float64Array, number]>): boolean {
    if (this.rollingBackForActuator || this.liveIsBaseline()) return false;
    this.rollingBackForActuator = true;
    try {
      const note = `actuator failed: ${errorMessage(actuator.lastError)}`;
      // One outage spends one of the hour's allowance, however many rollbacks its failures cause
      // (under rules 7 one outage spent two, and a second short one halted the engine); a failure
      // that follows a success starts a new outage, so an actuator that keeps failing now and then
      // spends it as repeated trips do.
      if (actuator.failureRun <= 1) this.autoRollback(RollbackReason.SafeMode, note);
      else if (this.host.executor.mode[0]! < SAFE_MODE_LEVEL.halted)
        this.execute({ kind: "rollback", code: RollbackReason.SafeMode, note });
      // The baseline must reach the real system too (the breaker may refuse it while open).
      this.callActuator(actuator);
    } finally {
      this.rollingBackForActuator = false;
    }
    return true;
  }

  // ---- Commands ----

  /**
   * Halts at once: the mode word first, so no apply passes from this line on, then the chart.
   * `restores`: the reason bits of an earlier run's halt that this one carries over (see
   * `haltReasonBits`); without it the halt is the host's (`manualHalt`).
   */
  halt(note: string, restores?: number): void {
    this.execute(BLOCK_HALTED);
    this.execute(CANCEL_DECISION);
    this.execute(CANCEL_RETURN);
    this.reasonBits |= haltReasonBits(restores);
    this.sendSafeMode(
      restores === undefined ? { type: "halt", reason: note } : { type: "halt", reason: note, restores },
    );
    this.onLiveAtCentre();
  }

  /** Asks the chart to leave `halted` with a (non-blank) acknowledgement. */
  requestReset(acknowledge: string): void {
    this.sendSafeMode({ type: "reset", acknowledge });
  }

  // ---- The audit sink ----

  /**
   * Offers pending audit batches to the audit sink, oldest first, stopping at the first refusal.
   * The backlog a refusing sink leaves is held as the ring holds records: once it reaches the
   * ring's reserve, only control records join it (applies, violations, rollbacks, baselines, mode
   * changes, commands), so what the operator and SafeMode do during an outage reaches the sink when
   * it is back; the rest are given up and counted in {@link sinkDropped} (the gap shows in the
   * sequence numbers the sink receives later). Commands ask for room counting the backlog
   * ({@link auditRoom}), so the backlog stays within the ring's capacity; should control records
   * alone exceed it, the oldest batches go, so memory stays bounded however long the sink is down.
   *
   * A sink that returns a promise (it must be synchronous) fails that call — its breaker counts
   * it, and opens after `failureThreshold` of them, freezing the engine with `breakerOpen` — but
   * it was handed the batch, which therefore counts as taken: no batch is offered twice. Delivery
   * stops there until the next drain.
   */
  deliverToSink(events: AuditEvent[]): void {
    const guard = this.sinkGuard;
    if (guard === undefined) return;
    if (events.length > 0) {
      // Past the reserve only control records are kept, as the ring itself would keep them.
      const reserveAt = this.host.audit.reserveStart;
      let kept = events;
      if (this.undeliveredCount + events.length > reserveAt) {
        kept = [];
        for (const event of events) {
          if (this.undeliveredCount + kept.length < reserveAt || CONTROL_EVENT_TYPES.has(event.type))
            kept.push(event);
          else this.sinkDropped++;
        }
      }
      if (kept.length > 0) {
        this.undelivered.push(kept);
        this.undeliveredCount += kept.length;
      }
    }
    // A sink that calls the engine delivers again from inside its own call: the batch it is being
    // handed is still first in the queue, and would go to it twice. The outer loop takes the rest.
    if (this.sinkDelivering) return;
    const limit = this.host.audit.capacity;
    // Over the capacity (control records and a halt's, which always goes ahead): just enough of the
    // oldest measurements go first (the newest batch, just queued, is left as the reserve kept it),
    // then, only if that is not enough, the oldest batches whole.
    this.dropBacklogMeasurements(this.undeliveredCount - limit, 0, this.undelivered.length - 1);
    while (this.undeliveredCount > limit && this.undelivered.length > 1) {
      const oldest = this.undelivered.shift()!;
      this.undeliveredCount -= oldest.length;
      this.sinkDropped += oldest.length;
    }
    this.sinkDelivering = true;
    try {
      while (this.undelivered.length > 0) {
        const batch = this.undelivered[0]!;
        const result = guard.call(batch);
        if (result !== GuardedCallResult.Succeeded && result !== GuardedCallResult.ReturnedPromise) break;
        this.undelivered.shift();
        this.undeliveredCount -= batch.length;
        if (result === GuardedCallResult.ReturnedPromise) break;
      }
    } finally {
      this.sinkDelivering = false;
    }
  }

  /**
   * Audit ring (plus what the sink has not taken) above its high-water mark → conservative; full →
   * frozen. "Full" leaves a few records of room ({@link AUDIT_RESERVE}), kept for control records,
   * so the mode change that the trip causes, and a later halt or reset, are still recorded rather
   * than dropped, however many windows a frozen engine closes while nothing drains the ring.
   */
  checkAuditPressure(): void {
    const audit = this.audit;
    const pending = audit.size + this.undeliveredCount;
    const bits = this.reasonBits;
    // A ring that could not grow (no memory) drops records as a full one does.
    if (pending >= this.auditFullAt || audit.outOfMemory) this.raise("auditFull");
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
    if (level >= FROZEN && level > this.host.executor.mode[0]!) {
      this.execute(level >= SAFE_MODE_LEVEL.halted ? BLOCK_HALTED : BLOCK_FROZEN);
      this.execute(CANCEL_DECISION);
      this.execute(CANCEL_RETURN);
    }
    this.sendSafeMode({ type: "reason.raised", reason });
    // Applies are blocked from here on, so no return to the centre can come: raise the waiting ones.
    if (level >= FROZEN) this.onLiveAtCentre();
    // Raised again after it cleared (the probe's trip sets probeReason after its raise): a live
    // reason, no longer the trip's to take back.
    if (reason === this.probeReason) this.probeReason = undefined;
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
    if (this.modeLevel > 0) this.clearedBits |= mask;
    this.sendSafeMode({ type: "reason.cleared", reason });
  }

  /**
   * The trip that raised `reason` was taken back (the probe found the regression the plant's):
   * the reason goes, and so does the mode that trip raised (the chart returns to the mode the trip
   * found, see `trip.retracted`), so a wrong blame costs the probe and not a SafeMode dwell.
   */
  private retract(reason: SafeModeReason): void {
    const mask = reasonMask(reason);
    const timer = this.clearTimers.get(reason);
    if (timer !== undefined) {
      timer.unsubscribe();
      this.clearTimers.delete(reason);
    }
    const level = this.modeLevel;
    this.reasonBits &= ~mask;
    this.sendSafeMode({ type: "trip.retracted", reason });
    // A retracted reason explains no mode, not even one stepping down. Back in the mode the trip
    // found, what was stepping down then explains it again.
    if (this.modeLevel < level && this.modeLevel > 0)
      this.clearedBits |= this.clearedBeforeEscalation & ~this.reasonBits;
    this.clearedBits &= ~mask;
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
        this.execute(DELIVER);
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
    // Back to normal, or escalated by a raise: the active reasons explain the mode again.
    if (to > from) this.clearedBeforeEscalation = this.clearedBits;
    if (to === 0 || to > from) this.clearedBits = 0;
    const reset = change.from === "halted" && change.to === "normal";
    // The engine's set is the truth (raises and clears may still be queued for the chart), except
    // that an acknowledged reset empties both.
    if (reset) this.reasonBits = 0;
    // Never below what the engine's own reasons demand: a raise queued behind this change keeps
    // its block.
    const word = Math.max(to, demandedLevel(this.reasonBits));
    this.execute({ kind: "mirrorMode", word: word >= FROZEN ? word : 0, conservative: to === CONSERVATIVE });
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
      // The violation was cleared without a margin: nothing else would end the wait for a feasible
      // centre, and the governor would never judge divergence again.
      this.baselineInfeasible = false;
      // The reset cleared every reason; conditions that still hold come straight back.
      if (!this.breakersClosed()) this.raise("breakerOpen");
      this.checkAuditPressure();
    }
    if (to >= FROZEN) {
      this.execute(CANCEL_DECISION);
      this.execute(CANCEL_RETURN);
      if (from < FROZEN) this.execute(SPSA_PAUSE);
    } else if (from >= FROZEN) {
      this.execute(SPSA_RESUME);
    } else {
      // normal ↔ conservative: the iteration in progress was sized for the other limits.
      this.execute(CANCEL_DECISION);
      this.execute(SPSA_RESET);
    }
  }

  // ---- Trips ----

  /**
   * A governor trip: freeze, roll back to the baseline, then halt if trips keep repeating. The
   * rollback comes before the halt because a halted engine applies nothing, rollbacks included.
   */
  private onGovernorTrip(
    reason: "nonFiniteObjective" | "spike" | "divergence",
    verdict: GovernorCode,
    detail = "",
  ): void {
    this.windowTroubled = true;
    this.raise(reason);
    // A trip during a probe (a NaN burst at the baseline, say) leaves the probe's question and
    // its way back as they were: the first trip's. A non-finite objective is a crash at the point
    // the tuner chose, not a level the probe can judge: its trip is never taken back (a service
    // that comes back cold at the baseline would look like the plant's shift).
    if (!this.probing) {
      this.probeFrom.set(this.host.core.centre);
      this.probeReason = reason === "nonFiniteObjective" ? undefined : reason;
    }
    this.tripRollback = true;
    // A spike or divergence is the objective getting worse (`regression` in the audit and the
    // metrics); a non-finite objective is telemetry that failed, left to SafeMode's name.
    const code = reason === "nonFiniteObjective" ? RollbackReason.SafeMode : RollbackReason.Regression;
    this.autoRollback(code, `instability governor: ${reason}${detail}`);
    this.tripRollback = false;
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
    this.execute({ kind: "rollback", code, note });
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
    if (this.blameTuner(false)) this.onGovernorTrip("spike", verdict);
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
    this.governor?.retractLastTrip();
    this.levelFromShift = true;
    this.followNewLevel();
    this.absorbedShifts++;
    this.windowsSinceAbsorb = 0;
    if (this.probing) this.endProbeInnocent();
  }

  /**
   * The probe found the regression persisting at the known-good configuration: the plant shifted
   * while the tuner was moving. The tuner's progress was not the fault, so it walks back to where
   * the trip found it (a warm start: paced steps, each within a gradient step's move budget) with
   * the gain re-opened, as after a shift the regime detector judged exogenous.
   */
  private endProbeInnocent(): void {
    this.probing = false;
    if (this.probeReason !== undefined) this.retract(this.probeReason);
    this.probeReason = undefined;
    this.execute(REOPEN_GAIN);
    this.execute({ kind: "warmStart", target: this.probeFrom });
  }

  /** The part of {@link absorbShift} that follows the new level (also run for a detected shift). */
  private followNewLevel(): void {
    const live = this.host.live.values;
    // Known-good stays where it was until a configuration proves itself at the new level.
    this.blame?.forgetWindows();
    this.thrashing?.reset(live);
    this.budgetReference.set(live);
    const budget = this.changeBudget;
    if (budget !== undefined) {
      budget.reset(live);
      this.budgetExemptUntil = this.host.scheduler.now() + budget.options.budgetWindowMs;
    }
  }

  // ---- Regime detection and homeostasis (issue 11, items 4 and 5) ----

  /** The engine applied a point of `kind` (an ApplyKind: 0 plus, 1 minus, else the centre). */
  onApplied(kind: number): void {
    this.liveKind = kind === 0 ? PointKind.Plus : kind === 1 ? PointKind.Minus : PointKind.Centre;
  }

  /**
   * Feeds the objective being observed (`input[0]`) to the regime detector; a confirmed rise is
   * judged and acted on at once, and a fall after a followed shift moves the governor's reference.
   */
  private watchRegime(regime: RegimeDetector): void {
    this.verdictAge++;
    regime.input[0] = this.input[0]!;
    const signal = regime.observeInput(this.liveKind);
    if (regime.inControl) {
      this.dwell++;
      if (this.centreMovedSinceControl) {
        // Copied once per move of the centre, not per digest.
        this.controlCentre.set(this.host.core.centre);
        this.centreMovedSinceControl = false;
      }
    }
    // A fall the detector signals makes it learn its level again: no digest is `clip` σ from it
    // for a while, and every one from then on counts for the window where the fall started.
    if (signal === REGIME_FALL && this.fallStarted !== Started.No) this.fallJudged = true;
    if (signal === REGIME_RISE && regime.confirmable) this.judgeRise(regime);
    else if (signal === REGIME_FALL && this.levelFromShift) {
      // The environment came back from the shift the governor followed (an outage ended): its
      // reference was measured in the shift, and a regression the tuner causes now would stay
      // under it for good. The level the objective fell to is the reference from here.
      this.levelFromShift = false;
      this.governor?.reset();
    }
  }

  /**
   * Judges the rise under way (audited as `regime.shift`); an exogenous one is followed at once
   * ({@link followShift}). A caused one is remembered: the governor's trips that follow (spike,
   * divergence: the rules that say the regression is material) are blamed on the tuner and roll
   * back, whatever the governor's own attribution would say.
   */
  private judgeRise(regime: RegimeDetector): RegimeVerdict {
    const level = regime.referenceLevel;
    const sigma = regime.sigma;
    const sigmas = regime.riseSigmas;
    const kinds = regime.kindsSeen;
    // The tuner's displacement counts from where it stood before the rise and from its known-good
    // configuration: a regression that shows a few windows after a move, while the tuner has
    // settled, is the move's doing until the known-good point says otherwise (see onRolledBack).
    // A warm start is not exploration: it heads for a centre known-good in a remembered regime
    // (or the tuner's own before a probe), and a rise on the way is judged by the onset alone.
    const blame = this.blame;
    const displacement = Math.max(
      this.displacementFrom(this.controlCentre),
      blame === undefined || this.host.core.warmStarting ? 0 : this.displacementFrom(blame.knownGoodCentre),
    );
    // Read before the verdict, after which the detector learns the level afresh.
    const shiftedCentreLevel = regime.riseLevelAt(PointKind.Centre);
    const verdict = regime.classify(displacement);
    if (verdict === RegimeVerdict.None) return verdict;
    const { audit, scheduler, live } = this.host;
    audit.write(
      AuditRecordType.RegimeShift,
      scheduler.now(),
      live.generation,
      -1,
      verdict,
      kinds,
      sigmas,
      displacement,
    );
    this.lastVerdict = verdict;
    this.verdictAge = 0;
    if (this.riseStarted !== Started.No) this.riseJudged = true;
    if (verdict === RegimeVerdict.Exogenous) {
      this.levelUnsettled = true;
      // A centre window under way holds some of the rise's centre digests: compared with their
      // mean, it would be compared with itself. It becomes the first value instead.
      this.unsettledCentreValue =
        this.measuring && this.liveKind === PointKind.Centre ? Number.NaN : shiftedCentreLevel;
      this.unsettledCentre.set(this.host.core.centre);
      this.followShift(level, sigma, sigmas);
    }
    return verdict;
  }

  /**
   * An environment shift: remember the regime being left (if it had settled) for homeostasis,
   * re-open the gain, restart the governor's statistics and the thrashing history from the new
   * level, exempt the centre's moves from the change budget for one window, and look the new
   * regime up in the cache after the next gradient estimate.
   */
  private followShift(levelBefore: number, sigma: number, riseSigmas: number): void {
    const cache = this.homeostasis;
    if (cache !== undefined && this.dwell >= cache.options.minDwell && Number.isFinite(levelBefore))
      cache.remember(this.controlCentre, levelBefore);
    this.dwell = 0;
    this.governor?.reset();
    this.levelFromShift = true;
    this.followNewLevel();
    this.execute(REOPEN_GAIN);
    this.execute(CANCEL_WARM_START);
    this.controlCentre.set(this.host.core.centre);
    this.centreMovedSinceControl = false;
    // The estimate of the iteration in progress straddles the shift: the one after it does not.
    this.recallGradient.fill(0);
    this.recallTest = 0;
    this.recallIn =
      cache === undefined || cache.entries === 0 || !(riseSigmas >= cache.options.minRiseSigmas)
        ? 0
        : RECALL_ESTIMATES + 1;
    this.shiftsFollowed++;
    this.shiftSigma = sigma;
    this.shiftValue = levelBefore + riseSigmas * sigma;
    if (this.recallIn === 0 || cache === undefined || !this.testsRecalls(cache)) return;
    // The probe: regimes that recur mostly alternate, so the tuner heads at once for the regime it
    // was in before the one it is leaving, without waiting for gradient estimates (which a
    // single SPSA direction makes too noisy to name a regime in a few iterations).
    const entry = cache.latestOther(this.host.core.centre);
    if (entry < 0) return;
    this.recallIn = 0;
    this.warmStartTowards(cache, entry, this.shiftValue, RecallTest.Probe);
  }

  /**
   * Whether the objective has settled after a shift: a centre window agrees with the measurement
   * of the same centre before it, the centre unmoved between them. The first one is compared with
   * the rise's own digests at the centre, when the detector saw some. Agreeing is being within
   * {@link SETTLED_SIGMAS} standard deviations of their difference (the detector's σ before the
   * shift, for windows of `window.digests` digests). A level that shifted and stayed agrees at the
   * first centre window after it, or the second; a backlog still draining does not.
   */
  private judgeSettled(): void {
    const { core } = this.host;
    if (this.agreesWithCentre(core.yCentre, 2)) this.levelUnsettled = false;
    this.unsettledCentreValue = core.yCentre;
    this.unsettledCentre.set(core.centre);
  }

  /**
   * Whether `measured` agrees with the centre's last value while unsettled, the centre unmoved
   * since: within {@link SETTLED_SIGMAS} standard deviations of their difference, whose variance
   * is `varianceWindows` times a window's (σ² / `window.digests`, σ the detector's before the
   * shift). False when there is no such value.
   */
  private agreesWithCentre(measured: number, varianceWindows: number): boolean {
    const { core, config } = this.host;
    for (let i = 0; i < core.centre.length; i++) if (core.centre[i] !== this.unsettledCentre[i]) return false;
    const spread = SETTLED_SIGMAS * this.shiftSigma * Math.sqrt(varianceWindows / config.window.digests);
    return Math.abs(measured - this.unsettledCentreValue) <= spread;
  }

  /** Whether recalls are tested against the objective (the probe's option on, and σ known). */
  private testsRecalls(cache: HomeostasisCache): boolean {
    return cache.options.probeShare > 0 && this.shiftSigma > 0 && Number.isFinite(this.shiftValue);
  }

  /**
   * A centre measurement arrived: if a recall is under test, does the objective fall as a return to
   * the recalled regime predicts? If that regime is back, the objective falls along the way from
   * its value at the shift down to the regime's remembered level, quadratically in the distance
   * left. The first measurement after a warm step whose predicted fall is at least
   * {@link PROBE_MIN_FALL_SIGMAS} σ decides: a fall of at least `probeShare` of the prediction
   * confirms the recall; less refutes it, the warm start stops there, and a refuted probe hands
   * over to the look-up from gradient estimates.
   */
  onCentreMeasured(): void {
    if (this.levelUnsettled) this.judgeSettled();
    if (this.recallTest === 0 || !this.recallStepped) return;
    const { core } = this.host;
    const cache = this.homeostasis;
    const measured = core.yCentre;
    if (cache === undefined || !Number.isFinite(measured)) return;
    const target = this.recalledCentre;
    let left = 0;
    for (let i = 0; i < target.length; i++) left += (target[i]! - core.centre[i]!) ** 2;
    const share = Math.min(1, Math.sqrt(left) / this.recallDistance);
    const start = this.recallStartValue;
    const predictedFall = (start - this.recallLevel) * (1 - share * share);
    if (!(predictedFall >= PROBE_MIN_FALL_SIGMAS * this.shiftSigma)) {
      // Too small a fall to judge; at the end of the way the recall stands untested.
      if (!core.warmStarting) this.recallTest = 0;
      return;
    }
    const test = this.recallTest;
    this.recallTest = 0;
    const fall = start - measured;
    if (fall >= cache.options.probeShare * predictedFall) return;
    this.execute(CANCEL_WARM_START);
    this.regimeRecallsRefuted++;
    const { audit, scheduler, live } = this.host;
    audit.write(
      AuditRecordType.HomeostasisRefuted,
      scheduler.now(),
      live.generation,
      -1,
      test,
      this.recalledEntry,
      fall,
      predictedFall,
    );
    if (test === RecallTest.Probe) {
      this.recallGradient.fill(0);
      this.recallIn = RECALL_ESTIMATES + 1;
    }
  }

  /**
   * Who is to blame for a governor trip: the regime detector's verdict when it has one (the rise
   * under way, judged now, or a verdict of the last few warm-ups), else whether the tuner moved
   * materially from its known-good configuration ({@link RegressionBlame}), else, with the tuner
   * away from the baseline, whether the rise was `gradual` (divergence, not a spike) or came
   * soon after another was absorbed.
   */
  private blameTuner(gradual: boolean): boolean {
    const regime = this.regime;
    if (regime !== undefined) {
      if (regime.rising) {
        const verdict = this.judgeRise(regime);
        if (verdict !== RegimeVerdict.None) return verdict === RegimeVerdict.Caused;
      }
      if (this.verdictAge <= VERDICT_MEMORY_WARMUPS * regime.options.warmup)
        return this.lastVerdict === RegimeVerdict.Caused;
    }
    const blame = this.blame;
    if (blame === undefined) return false;
    if (blame.tunerMoved(this.host.core.centre)) return true;
    if (!this.awayFromBaseline()) return false;
    // Away from the baseline, a slow divergence is the tuner's (a debt its moves run up builds
    // where it stands, so the known-good spot walks along with it), and so is a rise soon after
    // one was absorbed (cost that keeps building: each absorbed rise would otherwise make that
    // spot the reference). The rollback is the probe: if the rise persists at the baseline, it
    // is the plant's after all.
    return gradual || this.windowsSinceAbsorb <= REPEATED_RISE_HORIZONS * blame.horizonWindows;
  }

  /** Whether the SPSA centre stands more than {@link MATERIAL_MOVE} maxDelta from the baseline in some parameter. */
  private awayFromBaseline(): boolean {
    const { registry, core, live } = this.host;
    if (!live.hasBaseline) return false;
    for (let i = 0; i < registry.size; i++) {
      const moved = Math.abs(registry.toRaw(i, core.centre[i]!) - live.baseline[i]!);
      if (moved > MATERIAL_MOVE * registry.maxDelta[i]!) return true;
    }
    return false;
  }

  /** Largest per-parameter distance of the SPSA centre from `point` (unit cube), in maxDeltas. */
  private displacementFrom(point: Float64Array): number {
    const { registry, core } = this.host;
    let largest = 0;
    for (let i = 0; i < registry.size; i++) {
      const moved = Math.abs(registry.toRaw(i, core.centre[i]!) - registry.toRaw(i, point[i]!));
      largest = Math.max(largest, moved / registry.maxDelta[i]!);
    }
    return largest;
  }

  /** After a shift: warm-start towards a remembered regime that lies downhill, if any (audited). */
  private recallRegime(): void {
    const cache = this.homeostasis;
    if (cache === undefined) return;
    const core = this.host.core;
    const entry = cache.recall(core.centre, this.recallGradient);
    if (entry < 0) return;
    // Tested from the centre's latest value, measured after the shift.
    const start = Number.isFinite(core.yCentre) ? core.yCentre : this.shiftValue;
    this.warmStartTowards(cache, entry, start, this.testsRecalls(cache) ? RecallTest.Lookup : 0);
  }

  /**
   * Warm-starts towards the centre of cache entry `entry` (audited as a recall), under test
   * (`test`, see {@link recallTest}) from the objective `startValue` at the centre.
   */
  private warmStartTowards(cache: HomeostasisCache, entry: number, startValue: number, test: number): void {
    const { registry, audit, scheduler, live, core } = this.host;
    const target = this.recallTarget;
    cache.centreOf(entry, target);
    this.recalledCentre.set(target);
    this.recalledEntry = entry;
    let distance2 = 0;
    for (let i = 0; i < target.length; i++) distance2 += (target[i]! - core.centre[i]!) ** 2;
    this.recallDistance = Math.sqrt(distance2);
    this.recallStartValue = startValue;
    this.recallLevel = cache.levelOf(entry);
    this.recallStepped = false;
    this.recallTest = test;
    const distance = this.displacementFrom(target);
    // With the probe on, the way's estimates are dropped on arrival (legacy engines kept them).
    this.execute({ kind: "warmStart", target, freshOnArrival: cache.options.probeShare > 0 });
    for (let i = 0; i < registry.size; i++) target[i] = registry.toRaw(i, target[i]!);
    audit.writeVector(
      AuditRecordType.HomeostasisRecall,
      scheduler.now(),
      live.generation,
      -1,
      cache.hitsOf(entry),
      entry,
      cache.levelOf(entry),
      distance,
      target,
    );
    this.regimeRecalls++;
  }

  /**
   * Switches the SPSA measurements between the objective and the negated margin, restarting the
   * cycle; whether they switched.
   */
  private setFeasibility(on: boolean): boolean {
    if (this.host.core.seekingFeasibility === on) return false;
    this.clearArmed = false;
    this.violatedAtCentre = false;
    this.execute(on ? FEASIBILITY_ON : FEASIBILITY_OFF);
    this.execute(CANCEL_DECISION);
    this.execute(SPSA_RESET);
    return true;
  }

  // ---- Circuit breakers ----

  /** Whether every circuit breaker is closed (verified working), not merely not open. */
  private breakersClosed(): boolean {
    return (
      (this.actuator?.state ?? "closed") === "closed" &&
      (this.sinkGuard?.state ?? "closed") === "closed" &&
      (this.recordGuard?.state ?? "closed") === "closed"
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
        if (guard === (this.actuator as unknown)) {
          if (this.actuator !== undefined) this.callActuator(this.actuator);
        } else if (guard === (this.sinkGuard as unknown)) this.deliverToSink([]);
        // The record sink's probe is the drain this schedules (the ring still holds its records).
        this.execute(DELIVER);
      }, delay),
    );
  }

  /**
   * An open breaker freezes the engine, at the centre like a stall: when a perturbed point may be
   * live, the cycle is reset, which brings the centre back through Tier 1 (paced, audited) and then
   * calls {@link onLiveAtCentre}. When applies are already blocked nothing can move, so it freezes
   * at once. After the backoff a probe call tries to close the breaker.
   */
  private watchBreaker<A extends readonly unknown[]>(guard: GuardedCallback<A> | undefined): void {
    if (guard === undefined) return;
    guard.on("breaker.opened", (event) => {
      const host = this.host;
      if ((this.reasonBits & BREAKER_OPEN) !== 0 || host.executor.mode[0] !== 0 || host.isClosed())
        this.raise("breakerOpen");
      else if ((this.freezeAtCentre & BREAKER_OPEN) === 0) {
        this.freezeAtCentre |= BREAKER_OPEN;
        this.execute(CANCEL_DECISION);
        this.execute(SPSA_RESET);
      }
      this.scheduleProbe(guard, event.backoffMs);
    });
    guard.on("breaker.closed", () => {
      if (!this.breakersClosed()) return;
      this.freezeAtCentre &= ~BREAKER_OPEN;
      this.clear("breakerOpen");
    });
  }
}
