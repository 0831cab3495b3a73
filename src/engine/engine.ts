import * as Effect from "effect/Effect";
import type * as Scope from "effect/Scope";
import { type Observable, type SchedulerLike, Subject, type Subscription } from "rxjs";
import type { Actor, AnyActorRef } from "xstate";
import type { engineMachine } from "../../machines/engine.machine.js";
import type { HotPathEvent } from "../../machines/hot-path.logic.js";
import { isAcknowledgement } from "../../machines/safe-mode.machine.js";
import {
  decodeSafeMode,
  decodeSafeModeReasons,
  reasonsInSet,
  SAFE_MODE_LEVEL,
  type SafeModeName,
  type SafeModeReason,
} from "../../machines/safe-mode-reasons.js";
import type { SpsaMachineEvent, SpsaStateName } from "../../machines/spsa.machine.js";
import { ApplyKind } from "../audit/apply-kind.js";
import {
  type AuditEvent,
  AuditRecordType,
  ControlCommand,
  type ControlCommandName,
  controlCommandName,
  DecisionOutcome,
  FIELD_SEQ,
  STALL_SHORT_WINDOWS,
  WINDOW_MIXED_MEASURE,
  WINDOW_NEGATED_MARGIN,
  WINDOW_REMEASURE,
  WINDOW_TIMED_OUT,
} from "../audit/events.js";
import { AuditRing } from "../audit/ring.js";
import { RollbackReason } from "../audit/rollback-reason.js";
import { APPLIED } from "../audit/violation.js";
import { CommandRefusedError, ConfigError, errorMessage, UsageError } from "../errors.js";
import { Executor } from "../hotpath/executor.js";
import { LiveConfig } from "../hotpath/live-config.js";
import type { SharedLiveConfigHandle } from "../hotpath/shared-live-config.js";
import { quietSink } from "../inspect/inspection-record.js";
import { Prng } from "../random/prng.js";
import { type EngineClock, isEngineClock } from "../runtime/engine-clock.js";
import { clockFromScheduler } from "../runtime/scheduler-clock.js";
import { scopedResource } from "../runtime/scoped-resource.js";
import { shownValue } from "../shown-value.js";
import { ParamRegistry } from "../space/param-registry.js";
import { type EngineConfig, type ResolvedEngineConfig, resolveEngineConfig } from "./config.js";
import {
  AUDIT_RESERVE,
  ControlSafety,
  HALT_RECORDS,
  type PacedSlot,
  type SafetyCommand,
} from "./control-safety.js";
import * as digestChecks from "./digest.js";
import { type Digest, DigestFields, DigestRejection } from "./digest.js";
import { createEngineRoot } from "./engine-actors.js";
import { EntryTime } from "./entry-time.js";
import {
  createWindowStats,
  InlineSchedulerError,
  WindowCollector,
  type WindowControl,
  type WindowResult,
} from "./evaluation-windows.js";
import { auditEventStream } from "./event-stream.js";
import { GuardedScheduler } from "./guarded-scheduler.js";
import { type HaltRestoring, RESTORE_HALT, restoredReasonBits } from "./restored-halt.js";
import type { EngineBreakerStates } from "./safety/guarded-callback.js";
import { CommitResult, FEASIBILITY_STEP_FRACTION, SpsaCore } from "./spsa/spsa-core.js";
import { StallWatch } from "./stall-watch.js";

// Module-local copies of what every digest uses: V8 (Node 20) reads an imported binding through a
// cell, checking that it is initialised, at every use, but folds a local const into the code.
const { checkDigestFields, checkSettledUntimedDigest, DIGEST_ACCEPTED, readDigest } = digestChecks;

/** What {@link Engine.observe} did with a digest. */
export type DigestVerdict =
  | "accepted"
  | "malformed"
  | "non-finite-objective"
  | "wrong-generation"
  | "settling"
  | "too-old"
  | "from-future"
  | "closed";

/** Verdict of each digest check result code, keyed by the code so the two cannot drift apart. */
const VERDICT_BY_CODE: { readonly [code: number]: DigestVerdict } = {
  [DIGEST_ACCEPTED]: "accepted",
  [DigestRejection.Malformed]: "malformed",
  [DigestRejection.NonFiniteObjective]: "non-finite-objective",
  [DigestRejection.WrongGeneration]: "wrong-generation",
  [DigestRejection.Settling]: "settling",
  [DigestRejection.TooOld]: "too-old",
  [DigestRejection.FromFuture]: "from-future",
} satisfies Record<DigestRejection | typeof DIGEST_ACCEPTED, DigestVerdict>;
/** A point-in-time view of an engine (allocates; not for the hot path). */
export interface EngineSnapshot<N extends string = string> {
  /** Generation of the live values (+1 per apply or rollback). */
  readonly generation: number;
  /** SafeMode: `normal`, `conservative` (smaller moves), `frozen` (observe only) or `halted` (latched). */
  readonly mode: SafeModeName;
  /** The active SafeMode reasons, in bit order (empty in normal operation). */
  readonly reasons: readonly SafeModeReason[];
  /**
   * Why the mode is above what the active reasons demand: the reasons that cleared since the
   * mode was entered, while it steps down (dwell and healthy windows), in bit order. Present only
   * then: a mode above `normal` always names its reasons here or in {@link reasons}.
   */
  readonly steppingDownFrom?: readonly SafeModeReason[];
  /**
   * Regressions judged the plant's, not the tuner's (an environment shift to follow): governor
   * trips taken back, and rises the regime detector judged exogenous. See docs/concepts/safe-mode.md.
   */
  readonly spikesAbsorbed: number;
  /** Live values in raw units, by name. */
  readonly values: Record<N, number>;
  /** The SPSA centre (the point being tuned) in raw units, by name. */
  readonly centre: Record<N, number>;
  /** Completed SPSA gradient steps. */
  readonly iteration: number;
  /** State of the SPSA cycle, e.g. `"cycle.plus"`, `"stalled"`. */
  readonly phase: SpsaStateName;
  /**
   * Generation the baseline was taken at (−1 when none). With a config's `baseline` the engine has
   * not stood at, it is the generation the engine started with (0), whose values were `init`: the
   * values a rollback restores are then {@link baseline}'s, not that generation's.
   */
  readonly baselineGeneration: number;
  /**
   * The baseline's raw values by name, what a rollback restores: the live values at
   * {@link baselineGeneration}, or a config's `baseline` the engine has not stood at.
   */
  readonly baseline: Record<N, number>;
  /**
   * Digests accepted and rejected so far; `unused` counts accepted digests that fed no evaluation
   * window: they arrived while none was open (while a decision waited for the guardrails, or a
   * return to the centre was pending), carried no `constraintMargin` while the engine sought
   * feasibility (its windows then measure the margin, and such a digest says nothing about it), or
   * made the engine roll back (it measured the point abandoned, not the one restored).
   */
  readonly digests: { readonly accepted: number; readonly rejected: number; readonly unused: number };
  /**
   * The SPSA gains in force (unit-cube units; `a` is NaN while an "auto" gain is still being
   * calibrated) and how often moves were limited by maxDelta.
   */
  readonly spsa: {
    readonly a: number;
    readonly c: number;
    /** Perturbations whose half-width was clamped to half a parameter's move budget (2c ≤ maxDelta). */
    readonly clampedPerturbations: number;
    /** Steps shortened so that the move stays within maxDelta − c. */
    readonly clippedSteps: number;
  };
  /**
   * The evaluation windows' time limit in force (ms; null when `window` has no `ms`, so windows
   * close on their digest count only), and whether it is stretched: longer than the configured
   * `ms` because windows timed out between digests at every one (`window.stretch`, see
   * docs/concepts/evaluation-windows.md). A stretched limit says the configured `ms` is shorter
   * than the telemetry's spacing.
   */
  readonly window: { readonly ms: number | null; readonly stretched: boolean };
  /** Writes Tier 1 made (applies and rollbacks) and requests it refused (violations) so far. */
  readonly applies: { readonly applied: number; readonly refused: number };
  /**
   * The audit ring: records waiting for delivery (in the ring, plus those an `auditSink` has not
   * taken yet), its size, the high-water mark, the largest fill seen, records dropped by a full
   * ring (missing from `engine.events` and from every count built on it), and records given up
   * on the `auditSink` alone: the measurements a refusing sink's backlog left out once it reached
   * the ring's reserve, which keeps room for control records as the ring does.
   */
  readonly audit: {
    readonly pending: number;
    readonly capacity: number;
    readonly highWaterMark: number;
    readonly peak: number;
    readonly dropped: number;
    readonly sinkDropped: number;
  };
  /** The circuit breakers around `onApply` and `auditSink`: closed, open, halfOpen, or none. */
  readonly breakers: EngineBreakerStates;
}

/**
 * An online tuner embedded in a live system: telemetry digests in, guarded applies out.
 *
 * @remarks
 * Digests go through {@link Engine.observe}: validated, aggregated into evaluation windows, and
 * at window cadence the SPSA cycle proposes target points that the Tier-1 executor validates
 * and writes into {@link Engine.values}. `observe` is synchronous: when it returns, any apply it
 * caused is visible. Nothing in that path throws into the host's loop: bad digests are rejected,
 * counted and audited.
 *
 * `N` is the union of parameter names, inferred by `createEngine` from a literal `params` object
 * (`string` for a config built at run time), so {@link Engine.value} rejects a misspelt name at
 * compile time.
 */
export interface Engine<N extends string = string> {
  /** Parameter names in registry order (the order of {@link Engine.values}). */
  readonly names: readonly N[];
  /**
   * The live values in raw units, registry order: a read-only mirror of the live store, which Tier 1
   * rewrites on every apply and rollback. Reading allocates nothing. Writing into it changes nothing
   * live (not {@link Engine.value}, not what `onApply` gets, not the generation), and the next
   * apply overwrites it: only Tier 1 writes the store, and every write it makes is audited.
   */
  readonly values: Float64Array;
  /**
   * The live value of parameter `name`, raw units, read from the live store (what
   * `engine.values[engine.indexOf(name)]` mirrors). A map lookup and an array read; allocates nothing. Throws a {@link UsageError} for a name the engine
   * does not have (only possible with a config typed as `EngineConfig<string>`).
   */
  value(name: N): number;
  /**
   * Index of parameter `name` in {@link Engine.values}, for hot loops that resolve it once and read
   * `engine.values[i]` afterwards. Throws a {@link UsageError} for an unknown name.
   */
  indexOf(name: N): number;
  /** Generation of the live values; digests must carry it. */
  readonly generation: number;
  /**
   * Evaluation windows closed by filling up, since creation: only an accepted digest fills one,
   * and each leads to a decision, applied at once or when Tier 1's pace allows. A plain read for
   * hosts that time `observe` (arqon/metrics), where `snapshot()` would allocate.
   */
  readonly windowsFilled: number;
  /**
   * Audit events (apply, violation, digest.rejected, window.closed, eval.timeout, rollback, …),
   * delivered on the engine's scheduler, off the hot path. A hot stream: records written while
   * nobody is subscribed are discarded when their delivery runs, so subscribe right after
   * creating the engine to see everything from its `baseline.set` on. Values on `apply`,
   * `rollback` and the decision records are keyed by this engine's parameter names.
   */
  readonly events: Observable<AuditEvent<N>>;
  /** The root actor of the engine's actor system (SPSA cycle and hot-path actor), for inspection. */
  readonly actor: Actor<typeof engineMachine>;
  /** With `shared: true`, what a worker needs to read the live values (see `readShared`). */
  readonly shared: SharedLiveConfigHandle | undefined;
  /** The first unexpected internal error, after which the engine stopped proposing (else undefined). */
  readonly failure: unknown;
  /**
   * Emits {@link Engine.failure} once, when it happens (the engine then proposes nothing more, as
   * if paused for good; rollbacks and commands still work), and completes on close. Subscribe to
   * hear of a failure that happened on a timer rather than in a call of yours.
   */
  readonly failed: Observable<unknown>;
  /** The SafeMode mode now (a cheap read; see {@link EngineSnapshot.reasons} for why). */
  readonly mode: SafeModeName;
  /** Current time on the engine's clock (ms). */
  now(): number;
  /** Feeds one telemetry digest. Never throws; says what was done with it. */
  observe(digest: Digest): DigestVerdict;
  /** A point-in-time view (allocates). */
  snapshot(): EngineSnapshot<N>;
  /**
   * Makes the live values the baseline that {@link Engine.rollback} restores. Audited.
   * With `onCommand` (a decision log), throws a `CommandRefusedError` when the command cannot be
   * made durable first, and then changes nothing; so do {@link Engine.rollback} and
   * {@link Engine.resetSafeMode}. All three also throw it, changing nothing, when the audit ring is
   * full and its sink not draining it: the ring keeps room for a {@link Engine.halt}'s records, and
   * no live value changes unrecorded. The engine runs on either way.
   */
  setBaseline(): void;
  /**
   * Restores the baseline as a new generation and restarts the SPSA cycle from it. Audited with
   * `reason` ("manual rollback" when it is missing or blank). Returns false (and audits a NoBaseline violation) when there is no baseline. A
   * `reason` that is not a string is refused with a `UsageError`, changing nothing.
   */
  rollback(reason?: string): boolean;
  /**
   * Halts adaptation at once: no apply from this call on, until an acknowledged
   * {@link Engine.resetSafeMode}. Audited with `reason` ("halted by the host" when it is missing
   * or blank). Never refused: halting is the safe direction, so a `reason` that is not a string is
   * not refused either but kept in words ("halted by the host; reason given: 5", an error's
   * message, an object's JSON).
   */
  halt(reason?: string): void;
  /**
   * Leaves `halted` for `normal` (clearing every reason) when `acknowledge` — who acknowledges and
   * why — is not blank. Audited with the acknowledgement. Returns false, changing nothing, when the
   * engine is not halted or the acknowledgement is blank. Anything but an object whose
   * `acknowledge` is a string is refused with a `UsageError`, changing nothing.
   */
  resetSafeMode(options: { readonly acknowledge: string }): boolean;
  /** Delivers every pending audit event to {@link Engine.events} now. Returns how many. */
  flushEvents(): number;
  /**
   * Stops everything the engine started (actors, timers, subscriptions) and completes `events`.
   * Afterwards a call changes nothing, and one with valid arguments throws nothing (a digest or
   * command racing a shutdown): `observe` returns `"closed"`, `rollback` and `resetSafeMode` false.
   */
  close(): Promise<void>;
}

/** Effect constructors of {@link Engine}. */
export const Engine = {
  /**
   * An engine whose actors, timers and subscriptions are released when the enclosing `Scope`
   * closes; fails with a {@link ConfigError} listing every problem of an invalid config.
   */
  make: <const N extends string>(
    config: EngineConfig<N>,
  ): Effect.Effect<Engine<N>, ConfigError, Scope.Scope> =>
    scopedResource(
      () => createEngine(config),
      // close() does all its work at once: released synchronously, so Effect.runSync can close it.
      (engine) => Effect.sync(() => closeEngineNow(engine)),
    ),
  /**
   * Subscribes to the engine's audit events ({@link Engine.events}) for the enclosing `Scope` and
   * gives them as an Effect `Stream`, which ends when the engine closes. The subscription starts
   * when this Effect runs: make it right after the engine to see everything.
   */
  eventStream: auditEventStream,
};

/**
 * Creates and starts an engine; throws a {@link ConfigError} listing every problem of an invalid config.
 * The parameter names of a literal `params` object become the engine's `N` (see {@link Engine}).
 */
export function createEngine<const N extends string>(config: EngineConfig<N>): Engine<N> {
  // The names were validated against `config.params`, whose keys are exactly `N`.
  return new EngineImpl(resolveEngineConfig(config)) as unknown as Engine<N>;
}

/**
 * Closes an engine `createEngine` made, synchronously ({@link Engine.close} does all its work at
 * once; its promise only reports it): throws the first finalizer's error.
 */
export function closeEngineNow(engine: Engine): void {
  (engine as unknown as EngineImpl).closeNow();
}

const SPSA_STREAM = 0x5b5a;
/** Audit records a command's effect writes, after its `command` record (see `auditCommand`). */
const BASELINE_RECORDS = 1;
/** A `rollback` record, or the NoBaseline violation when there is no baseline. */
const ROLLBACK_RECORDS = 1;
/** The change to `normal`, and back to a mode that a reason still holding (an open breaker, a full ring) demands. */
const RESET_RECORDS = 2;
/** Bits of {@link EngineImpl.windowFed}: what the open window has been fed. */
const FED_OBJECTIVE = 1;
const FED_MARGIN = 2;
/**
 * The least rest of a paused cycle's windows on a digest count alone (see `openAfterRest`):
 * `guardrails.minIntervalMs` may be 0. The balanced preset's minIntervalMs.
 */
const PAUSED_COUNT_WINDOW_MS = 100;

class EngineImpl implements Engine, HaltRestoring {
  readonly names: readonly string[];
  readonly values: Float64Array;
  readonly events: Observable<AuditEvent>;
  readonly actor: Actor<typeof engineMachine>;
  readonly shared: SharedLiveConfigHandle | undefined;
  failure: unknown;
  readonly failed: Observable<unknown>;

  private readonly config: ResolvedEngineConfig;
  /**
   * `config.captureDigests`, held on the engine: `observe` reads it for every digest, and with
   * thousands of engines each object it touches is likely a cache miss.
   */
  private readonly captureDigests: boolean;
  private readonly scheduler: SchedulerLike;
  /** {@link scheduler} for setting timers: a `schedule()` that throws fails the engine instead. */
  private readonly timers: GuardedScheduler;
  /** The scheduler when it pins one time per entry (a decision log's recording clock), else undefined. */
  private readonly entryClock: EngineClock | undefined;
  private readonly registry: ParamRegistry;
  private readonly live: LiveConfig;
  private readonly audit: AuditRing;
  private readonly executor: Executor;
  private readonly core: SpsaCore;
  private readonly target: Float64Array;
  /** Scratch for {@link liveUnit}. */
  private readonly liveUnitBuffer: Float64Array;
  /** What close() releases, in reverse order: the window subscription, the root actor, timers. */
  private readonly finalizers: (() => void)[] = [];
  private readonly eventSubject = new Subject<AuditEvent>();
  /** What the open window was fed: objectives, −margins, or both ({@link FED_OBJECTIVE}, …). */
  private windowFed = 0;
  /** Emits the first internal failure (see {@link fail}). */
  private readonly failedSubject = new Subject<unknown>();
  /** While `failed` subscribers are told of the failure (see {@link fail}). */
  private announcingFailure = false;
  /**
   * Batches drained while `events` subscribers were still being handed an earlier one: a
   * subscriber that calls the engine (a monitor's halt) drains again, and its events must wait
   * their turn so that every subscriber sees them in sequence order.
   */
  private readonly emitQueue: AuditEvent[][] = [];
  private emitting = false;
  /**
   * A command of a logged engine holds back what it delivers to `events` until it has taken
   * effect (see {@link auditCommand}); {@link releaseEvents} hands it over.
   */
  private holdingEvents = false;
  /** While a logged engine's command is made durable (its audit sink may call the engine). */
  private durablePhase = false;
  /** A halt asked for during {@link durablePhase} (its note, and what it restores), run once the command acted. */
  private deferredHalt: { readonly note: string; readonly restores: number | undefined } | undefined;
  /** close() ran from inside a subscriber: `events` completes once the queued batches are out. */
  private completeAfterEmit = false;
  private readonly control = new Subject<WindowControl>();
  private readonly windowStats = createWindowStats();
  /** The fields of the digest being observed, each read once from the host's object. */
  private readonly digestFields = new DigestFields();
  /** The time of the digest being observed, read only if needed. */
  private readonly time: EntryTime;
  /** `lastApplyAt` of the apply whose settle period a clock read has shown over (NaN: none yet). */
  private settledApplyAt = Number.NaN;
  private readonly spsa: AnyActorRef;
  private readonly hotPath: AnyActorRef;
  /** The evaluation windows, fed by direct calls (an RxJS emission per digest would box it). */
  private readonly windows: WindowCollector;
  private proposalId = 0;
  /** Seq of the digest captured in the current entry with the clock's latest reading (0: none). */
  private capturedSeq = 0;
  /** Nesting of observe calls (a host callback may observe again): the outermost settles times. */
  private observeDepth = 0;
  /** Windows in a row that closed empty. */
  private emptyWindows = 0;
  /** Tells a telemetry gap from windows too short for the digests' spacing. */
  private readonly stallWatch: StallWatch;
  private accepted = 0;
  private rejected = 0;
  /** Accepted digests without a margin while seeking feasibility: they fed no window. */
  private marginless = 0;
  /** Accepted digests whose observation moved the live generation (a rollback): they fed no window. */
  private abandoned = 0;
  private drainScheduled: Subscription | undefined;
  /** Applies waiting for Tier 1's timing rules: a window's decision, a return to the centre. */
  private readonly paced: Record<PacedSlot, Subscription | undefined> = {
    decision: undefined,
    return: undefined,
  };
  /** A paused cycle's next window, waiting for the last one's time to pass (see {@link openAfterRest}). */
  private restTimer: Subscription | undefined;
  /** When the last window closed so far opened (scheduler time). */
  private lastWindowOpenedAt = Number.NEGATIVE_INFINITY;
  private closed = false;

  /** SafeMode reasons, their triggers and exits, breakers (src/engine/control-safety.ts). */
  private readonly safety: ControlSafety;

  constructor(config: ResolvedEngineConfig) {
    this.config = config;
    this.captureDigests = config.captureDigests;
    this.scheduler = config.scheduler;
    this.timers = new GuardedScheduler(config.scheduler, (error) => this.fail(error));
    this.time = new EntryTime(config.scheduler);
    this.entryClock = isEngineClock(config.scheduler) ? config.scheduler : undefined;
    const registry = new ParamRegistry(config.params);
    this.registry = registry;
    this.names = registry.names;
    this.live = new LiveConfig(registry.init, { shared: config.shared });
    this.values = this.live.mirror;
    this.shared = this.live.handle;
    this.audit = new AuditRing({
      runId: config.runId,
      capacity: config.auditCapacity,
      paramNames: registry.names,
      decoders: { mode: decodeSafeMode, modeReasons: decodeSafeModeReasons },
    });
    const audit = this.audit;
    this.entryClock?.attachAudit(() => audit.lastSeq);
    this.executor = new Executor(registry, this.live, config.guardrails, this.audit);
    this.core = new SpsaCore(registry, config.spsa, Prng.fromSeed(config.seed, SPSA_STREAM));
    this.target = new Float64Array(registry.size);
    this.liveUnitBuffer = new Float64Array(registry.size);
    this.events = this.eventSubject.asObservable();
    this.failed = this.failedSubject.asObservable();
    // A config's `baseline` other than `init` is a known-good point the engine does not start at.
    const elsewhere = registry.baseline.some((value, i) => value !== registry.init[i]);
    this.executor.setBaseline(this.scheduler.now(), elsewhere ? registry.baseline : undefined);

    // Control-safety reads these parts and asks for every change as a command (see SafetyView).
    this.safety = new ControlSafety(
      {
        config,
        scheduler: this.timers,
        registry,
        live: this.live,
        audit: this.audit,
        executor: this.executor,
        core: this.core,
        isClosed: () => this.closed,
      },
      (command) => this.executeSafety(command),
    );
    // The room a full ring keeps is for what the engine and its operator do (a halt, a mode
    // change), not for more windows and digests of an engine frozen because nothing drains it.
    // The ring is judged full only after an observe: with a whole reserve (AUDIT_RESERVE), its
    // first half still takes the rest of the window in progress when one crosses the full mark.
    const fullAt = this.safety.auditFullAt;
    const reserve = this.audit.capacity - fullAt;
    this.audit.reserveFrom(fullAt + (reserve >= AUDIT_RESERVE ? reserve >> 1 : 0));

    // Without a time limit no window times out, and the cycle never stalls.
    const limit = config.window.ms ?? Number.POSITIVE_INFINITY;
    this.stallWatch = new StallWatch(limit, 3 * config.window.digests, config.stallAfter * limit);
    this.windows = new WindowCollector(
      {
        count: config.window.digests,
        ...(config.window.ms === undefined ? {} : { ms: config.window.ms }),
        aggregation: config.window.aggregation,
        trim: config.window.trim,
        scheduler: this.timers,
        stats: this.windowStats,
      },
      (w) => {
        // The window closes inside the host's observe(): an internal error is kept in `failure`,
        // never thrown into the host's loop.
        try {
          this.onWindow(w);
        } catch (error) {
          this.fail(error);
        }
      },
    );
    // Telemetry → evaluation windows → SPSA events. Digests reach the windows by direct calls;
    // the window commands arrive on `control`. What is acquired here is released by close(), in
    // reverse order (plain finalizers: an Effect scope cost a fiber per engine on spawn and on
    // close, about a quarter of a supervisor's spawn-and-stop CPU).
    const windows = this.windows;
    // A window's time limit runs from the end of the settle period: digests stamped before it are
    // rejected, so a limit counted from the apply could only close windows empty (and stall).
    const subscription = this.control.subscribe((command) => {
      // RxJS would report a throw here from a later macrotask, into the host's process.
      try {
        // Whatever the cycle asks for now comes instead of a paused window's rest.
        this.cancelRest();
        if (command === "open") {
          windows.open(this.executor.lastApplyAt + config.settleMs);
          this.windowFed = 0;
          this.safety.onWindowOpened();
        } else windows.command(command);
      } catch (error) {
        this.fail(error);
      }
    });
    this.finalizers.push(() => {
      subscription.unsubscribe();
      this.cancelRest();
      windows.stop();
    });
    try {
      const root = this.createRootActor();
      this.finalizers.push(() => root.stop());
      this.actor = root;
    } catch (error) {
      this.release();
      throw error;
    }
    this.finalizers.push(() => {
      this.drainScheduled?.unsubscribe();
      this.cancelPaced("decision");
      this.cancelPaced("return");
      this.safety.stop();
    });
    this.spsa = this.actor.system.get("spsa") as AnyActorRef;
    this.hotPath = this.actor.system.get("hotPath") as AnyActorRef;
    this.safety.attach(this.actor.system.get("safeMode") as AnyActorRef);
    this.spsa.send({ type: "start" });
    this.afterWork();
    // A scheduler that runs delayed work inside schedule() failed the first window as it opened;
    // such an engine could never tune, so it is refused like any other bad config.
    if (this.failure instanceof InlineSchedulerError) {
      const cause = this.failure;
      // Released without delivering what is pending (close() would hand it to the sinks): the
      // caller gets the config error, whatever a finalizer throws.
      this.closed = true;
      try {
        this.release();
      } catch {
        // The config error is what the caller must hear.
      }
      throw new ConfigError([{ path: "scheduler", message: cause.message }], undefined, { cause });
    }
  }

  get generation(): number {
    return this.live.generation;
  }

  get windowsFilled(): number {
    return this.windowStats.filled;
  }

  get mode(): SafeModeName {
    return this.safety.mode;
  }

  value(name: string): number {
    return this.live.values[this.indexOf(name)]!;
  }

  indexOf(name: string): number {
    const i = this.registry.indexOf(name);
    if (i < 0)
      throw new UsageError(
        `unknown parameter ${JSON.stringify(name)}; the engine has ${this.names.join(", ")}`,
      );
    return i;
  }

  now(): number {
    return this.scheduler.now();
  }

  observe(digest: Digest): DigestVerdict {
    const clock = this.entryClock;
    if (clock === undefined) return this.observeDigest(digest);
    clock.enter();
    this.observeDepth++;
    try {
      return this.observeDigest(digest);
    } finally {
      if (--this.observeDepth === 0 && this.capturedSeq > 0) this.settleCaptureTime(clock);
      clock.leave();
    }
  }

  /**
   * A digest captured with the clock's latest reading (see {@link EngineClock.peek}) takes the
   * entry's own time if the entry read the clock after all: replay gives every read of an entry
   * the time its record carries.
   */
  private settleCaptureTime(clock: EngineClock): void {
    if (clock.readInEntry?.() === true)
      this.audit.setTimesFrom(this.capturedSeq, AuditRecordType.DigestAccepted, clock.now());
    this.capturedSeq = 0;
  }

  private observeDigest(digest: Digest): DigestVerdict {
    if (this.closed) return "closed";
    const time = this.time;
    time.reset();
    const c = this.config;
    // Each field is read once, here; only these copies are validated and used from now on (a
    // getter may answer differently, or throw, on a second read).
    const fields = this.digestFields;
    let code = readDigest(digest, fields);
    if (code === DIGEST_ACCEPTED) {
      const lastApplyAt = this.executor.lastApplyAt;
      // Once a read of the clock has shown the settle period after this apply over, a digest taken
      // now (no timestamp) cannot fail a time check: no clock read, which allocates on a wall clock.
      if (Number.isNaN(fields.timestamp) && lastApplyAt === this.settledApplyAt)
        code = checkSettledUntimedDigest(fields, this.live.generation);
      else {
        const now = time.now();
        code = checkDigestFields(
          fields,
          this.live.generation,
          lastApplyAt,
          now,
          c.settleMs,
          c.maxAgeMs,
          c.maxSkewMs,
        );
        if (now >= lastApplyAt + c.settleMs) this.settledApplyAt = lastApplyAt;
      }
    }
    // Copied before anything can call back into the host (onApply), which may observe again.
    const objective = fields.objective;
    const margin = fields.constraintMargin;
    if (code !== DIGEST_ACCEPTED) {
      const generation = fields.generation;
      const now = time.now();
      this.reject(code, fields, now);
      if (code === DigestRejection.NonFiniteObjective) this.safety.onNonFiniteDigest(generation, now);
      return VERDICT_BY_CODE[code] ?? "malformed";
    }
    this.accepted++;
    const stallWatch = this.stallWatch;
    if (stallWatch.watching) {
      // Only after a stall, until telemetry flows again: no clock read while it does.
      stallWatch.input[0] = time.now();
      stallWatch.noteDigestInput();
    }
    // From here on, numbers go to the parts through their input slots (Float64Arrays), never as
    // arguments: an argument of a call V8 does not inline is boxed (16 bytes per digest), and what
    // V8 inlines into this path varies from process to process (its budget runs out at different
    // calls depending on when each part was compiled).
    if (this.captureDigests) {
      const clock = this.entryClock;
      const audit = this.audit;
      if (clock?.peek === undefined) audit.timeIn[0] = time.now();
      // No clock read for the record: it takes the entry's time only if the entry reads it anyway.
      else audit.timeIn[0] = clock.peek();
      audit.writeDigestInput(
        AuditRecordType.DigestAccepted,
        this.live.generation,
        this.proposalId,
        0,
        fields,
      );
      if (clock?.peek !== undefined && this.capturedSeq === 0) this.capturedSeq = audit.lastSeq;
    }
    const safety = this.safety;
    const live = this.live;
    const generation = live.generation;
    safety.input[0] = objective;
    safety.measuring = this.windows.collecting;
    safety.observeInput(time);
    // An absent margin is NaN (a present one never is).
    const hasMargin = !Number.isNaN(margin);
    if (hasMargin) safety.onConstraintMargin(margin);
    const windows = this.windows;
    // A rollback it caused (a spike, a constraint emergency) opened a window for another point:
    // this digest measured the abandoned one.
    if (live.generation !== generation) this.abandoned++;
    else if (!this.core.seekingFeasibility) {
      windows.input[0] = objective;
      // Before the push, which may close the window: its record says what it aggregated.
      this.windowFed |= FED_OBJECTIVE;
      windows.pushInput();
    } else if (hasMargin) {
      windows.input[0] = -margin;
      this.windowFed |= FED_MARGIN;
      windows.pushInput();
    } else this.marginless++; // unknown feasibility: no measure of the margin the windows hold
    this.afterWork();
    return "accepted";
  }

  snapshot(): EngineSnapshot {
    const registry = this.registry;
    const centre: Record<string, number> = {};
    for (let i = 0; i < registry.size; i++)
      centre[registry.names[i]!] = registry.toRaw(i, this.core.centre[i]!);
    const results = this.executor.results;
    let refused = 0;
    for (let code = 1; code < results.length; code++) refused += results[code]!;
    const steppingDown = this.safety.steppingDownBits;
    return {
      generation: this.live.generation,
      mode: this.mode,
      reasons: reasonsInSet(this.safety.reasonBits),
      ...(steppingDown === 0 ? {} : { steppingDownFrom: reasonsInSet(steppingDown) }),
      spikesAbsorbed: this.safety.absorbedShifts + this.safety.shiftsFollowed,
      values: registry.toRecord(this.live.values),
      centre,
      iteration: this.core.iteration,
      phase: stateName(this.spsa.getSnapshot().value),
      baselineGeneration: this.live.hasBaseline ? this.live.baselineGeneration : -1,
      baseline: registry.toRecord(this.live.baseline),
      digests: {
        accepted: this.accepted,
        rejected: this.rejected,
        unused: this.windowStats.dropped + this.marginless + this.abandoned,
      },
      spsa: {
        a: this.core.a,
        c: this.core.perturbationScale,
        clampedPerturbations: this.core.clampedPerturbationsTotal,
        clippedSteps: this.core.clippedStepsTotal,
      },
      window: { ms: this.windows.limitMs ?? null, stretched: this.windows.lengthened },
      applies: { applied: results[APPLIED]!, refused },
      audit: {
        pending: this.audit.size + this.safety.undeliveredCount,
        capacity: this.audit.capacity,
        highWaterMark: this.audit.highWaterMark,
        peak: this.audit.peak,
        dropped: this.audit.dropped,
        sinkDropped: this.safety.sinkDropped,
      },
      breakers: this.safety.breakerStates,
    };
  }

  setBaseline(): void {
    this.refuseInDurablePhase("setBaseline");
    this.runCommand(() => this.setBaselineNow());
  }

  private setBaselineNow(): void {
    if (this.closed) return;
    this.auditCommand(ControlCommand.SetBaseline, undefined, BASELINE_RECORDS);
    this.hotPath.send({ type: "baseline.set" } satisfies HotPathEvent);
    this.safety.onBaselineSet();
    this.afterWork();
  }

  rollback(reason?: string): boolean {
    if (reason !== undefined && typeof reason !== "string")
      throw new UsageError(`rollback: reason must be a string when given, got ${shownValue(reason)}`);
    this.refuseInDurablePhase("rollback");
    // A blank reason says nothing: recorded as the default, as halt's is.
    const note = reason === undefined || reason.trim() === "" ? "manual rollback" : reason;
    return this.runCommand(() => this.rollbackNow(note));
  }

  private rollbackNow(reason: string): boolean {
    if (this.closed) return false;
    this.auditCommand(ControlCommand.Rollback, reason, ROLLBACK_RECORDS);
    return this.restoreBaseline(RollbackReason.Manual, reason);
  }

  halt(reason?: string): void {
    // Resolved first: a halt deferred with no reason must still be remembered as one.
    this.haltOrDefer(haltNote(reason), undefined);
  }

  [RESTORE_HALT](note: string, reasons: readonly string[]): void {
    const restores = restoredReasonBits(reasons);
    this.haltOrDefer(haltNote(note), restores === 0 ? undefined : restores);
  }

  private haltOrDefer(note: string, restores: number | undefined): void {
    if (this.durablePhase) {
      this.deferredHalt ??= { note, restores };
      return;
    }
    this.runCommand(() => this.haltNow(note, restores));
  }

  private haltNow(text: string, restores: number | undefined): void {
    if (this.closed) return;
    try {
      // A halt of a halted engine changes no mode: its command is all it records.
      const modeChange = this.safety.modeLevel === SAFE_MODE_LEVEL.halted ? 0 : 1;
      this.auditCommand(ControlCommand.Halt, text, modeChange, restores ?? 0);
    } catch {
      // Halting is the safe direction: it goes ahead even when the log cannot record it durably.
    }
    this.safety.halt(text, restores);
    this.afterWork();
  }

  resetSafeMode(options: { readonly acknowledge: string }): boolean {
    if (typeof options !== "object" || options === null)
      throw new UsageError(
        `resetSafeMode: expected { acknowledge: "<who and why>" }, got ${shownValue(options)}`,
      );
    if (typeof options.acknowledge !== "string")
      throw new UsageError(
        `resetSafeMode: acknowledge must be a string, got ${shownValue(options.acknowledge)}`,
      );
    this.refuseInDurablePhase("resetSafeMode");
    return this.runCommand(() => this.resetSafeModeNow(options));
  }

  private resetSafeModeNow(options: { readonly acknowledge: string }): boolean {
    if (this.closed || this.safety.modeLevel !== SAFE_MODE_LEVEL.halted) return false;
    const acknowledge = options?.acknowledge;
    if (!isAcknowledgement(acknowledge)) return false;
    this.auditCommand(ControlCommand.ResetSafeMode, acknowledge, RESET_RECORDS);
    this.safety.requestReset(acknowledge);
    this.afterWork();
    return this.safety.modeLevel !== SAFE_MODE_LEVEL.halted;
  }

  /** Restores the baseline as a new generation and restarts the cycle from it; false if there is none. */
  /** Carries out what control-safety asks for, at once (its only way to change the engine). */
  private executeSafety(command: SafetyCommand): void {
    switch (command.kind) {
      case "block":
        this.executor.mode[0] = command.level;
        return;
      case "mirrorMode":
        this.executor.mode[0] = command.word;
        this.executor.setConservative(command.conservative);
        this.core.setGainScale(command.conservative ? 0.5 : 1);
        return;
      case "cancelPaced":
        this.cancelPaced(command.slot);
        return;
      case "rollback":
        this.restoreBaseline(command.code, command.note);
        return;
      case "spsa":
        // After an internal failure the cycle stays paused: nothing the safety layer does resumes it.
        if (this.failure !== undefined) return;
        this.spsa.send(command.event);
        return;
      case "reopenGain":
        this.core.reopenGain();
        return;
      case "warmStart":
        this.core.warmStart(command.target, command.freshOnArrival === true);
        return;
      case "cancelWarmStart":
        this.core.cancelWarmStart();
        return;
      case "feasibilityOnly":
        this.core.setFeasibilityOnly(command.on);
        return;
      case "deliver":
        this.afterWork();
        return;
    }
  }

  private restoreBaseline(code: RollbackReason, reason: string): boolean {
    if (this.closed) return false;
    // No live value changes without its record. An automatic rollback is a safety action, as a
    // halt is: it may take the room kept for a halt, and is skipped only when there is none left
    // at all. An operator's was refused before its command was recorded (auditCommand).
    const kept = code === RollbackReason.Manual ? HALT_RECORDS : 0;
    // Measurements a refusing audit sink has not taken give way to a safety action's record.
    if (code !== RollbackReason.Manual) this.safety.makeAuditRoom(ROLLBACK_RECORDS);
    if (this.safety.auditRoom < ROLLBACK_RECORDS + kept) return false;
    const before = this.live.generation;
    this.hotPath.send({ type: "rollback", reason, code } satisfies HotPathEvent);
    const rolledBack = this.live.generation !== before;
    if (rolledBack) {
      this.cancelPaced("decision");
      this.cancelPaced("return");
      this.core.setCentre(this.liveUnit());
      this.emptyWindows = 0;
      this.safety.onRolledBack();
      this.spsa.send({ type: "reset" });
      this.safety.pushToActuator();
    }
    this.afterWork();
    return rolledBack;
  }

  flushEvents(): number {
    const clock = this.entryClock;
    if (clock === undefined || this.closed) return this.deliverPending();
    clock.enter();
    try {
      // Recorded at the entry's time, which the delivery sees too.
      clock.noteFlush();
      return this.deliverPending();
    } finally {
      clock.leave();
    }
  }

  /** Runs a host call (a command: cold path) as one entry of the {@link EngineClock}, if any. */
  private entered<T>(call: () => T): T {
    const clock = this.entryClock;
    if (clock === undefined) return call();
    clock.enter();
    try {
      return call();
    } finally {
      clock.leave();
    }
  }

  /** Delivers every pending audit event to the sink and `events`, cancelling the scheduled drain. */
  private deliverPending(): number {
    this.drainScheduled?.unsubscribe();
    this.drainScheduled = undefined;
    if (!this.deliverRecords()) return 0;
    if (!this.eventSubject.observed && !this.safety.hasAuditSink) {
      // Nobody takes decoded events: building them would only feed the garbage collector.
      const removed = this.audit.discard();
      this.safety.checkAuditPressure();
      return removed;
    }
    const events = this.audit.drain();
    this.safety.deliverToSink(events);
    this.emit(events);
    this.safety.checkAuditPressure();
    return events.length;
  }

  /** Hands `events` to the subscribers of `events`, after any batch they are still being handed. */
  private emit(events: AuditEvent[]): void {
    if (this.emitting) {
      this.emitQueue.push(events);
      return;
    }
    this.emitting = true;
    try {
      for (
        let batch: AuditEvent[] | undefined = events;
        batch !== undefined;
        batch = this.emitQueue.shift()
      ) {
        for (const event of batch) this.eventSubject.next(event);
      }
    } finally {
      this.emitting = false;
    }
    if (this.completeAfterEmit) this.eventSubject.complete();
  }

  /**
   * Hands the pending records, undecoded, to the record sink (a decision log) first. False when it
   * refused them: they stay in the ring (its backlog) and the next drain (after the next record,
   * or the breaker's probe) offers them again.
   */
  private deliverRecords(): boolean {
    if (this.safety.deliverRecords()) return true;
    this.safety.checkAuditPressure();
    return false;
  }

  /**
   * Keeps the first internal failure and stops adaptation: the cycle pauses for good (windows still
   * close, so SafeMode keeps judging the telemetry), and nothing pending is applied. Never throws.
   */
  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    try {
      this.cancelPaced("decision");
      this.cancelPaced("return");
      this.spsa.send({ type: "pause" });
    } catch {
      // The cycle itself may be what failed; the paced slots are cancelled either way.
    }
    // A subscriber may close the engine on hearing it (an engine actor does): the others must
    // still hear it, so the completion waits until every subscriber has.
    this.announcingFailure = true;
    try {
      this.failedSubject.next(error);
    } finally {
      this.announcingFailure = false;
    }
    if (this.closed) this.failedSubject.complete();
  }

  async close(): Promise<void> {
    this.closeNow();
  }

  /** {@link close}'s work, all of it synchronous; throws the first finalizer's error. */
  closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.announcingFailure) this.failedSubject.complete();
    // Deliver what is pending while the audit sink is still open: a finalizer stops it.
    this.entered(() => this.deliverPending());
    this.release();
    this.entered(() => this.deliverPending());
    if (this.emitting) this.completeAfterEmit = true;
    else this.eventSubject.complete();
  }

  /**
   * Runs the finalizers, last acquired first, each once. Every one runs even if another throws;
   * the first error is thrown afterwards (close() rejects with it).
   */
  private release(): void {
    let failed = false;
    let first: unknown;
    for (let finalizer = this.finalizers.pop(); finalizer !== undefined; finalizer = this.finalizers.pop()) {
      try {
        finalizer();
      } catch (error) {
        if (!failed) first = error;
        failed = true;
      }
    }
    if (failed) throw first;
  }

  /** Builds the root actor with the real hot-path logic and the SPSA hooks bound to this engine. */
  private createRootActor(): Actor<typeof engineMachine> {
    const inspect = this.config.inspect;
    const binding = {
      spsaActions: this.spsaActions(),
      executor: this.executor,
      live: this.live,
      now: () => this.scheduler.now(),
      inspectors: inspect === undefined ? 0 : 1,
    };
    const root = createEngineRoot(binding, {
      input: { stallAfter: this.config.stallAfter, safeMode: this.config.safety.safeMode },
      clock: clockFromScheduler(this.timers),
      ...(inspect === undefined ? {} : { inspect: quietSink(inspect) }),
    });
    root.subscribe({
      error: (error) => this.fail(error),
    });
    return root.start();
  }

  /**
   * Hands the target point to Tier 1 as a new proposal: an apply is audited with its values and
   * pushed to the actuator, a refusal counted toward repeated violations. Returns Tier 1's code.
   */
  private applyTarget(kind: ApplyKind): number {
    const code = this.executor.apply(this.target, ++this.proposalId, kind, this.scheduler.now());
    if (code === APPLIED) {
      this.audit.attachVector(this.live.values);
      this.safety.onApplied(kind);
      this.safety.pushToActuator();
    } else this.safety.onViolation(code);
    return code;
  }

  /** The SPSA statechart's hooks: they move the core, apply through Tier 1 and drive the windows. */
  private spsaActions() {
    const core = this.core;
    const target = this.target;
    const propose = (kind: ApplyKind, self: AnyActorRef): boolean => {
      const code = this.applyTarget(kind);
      if (code === APPLIED) return true;
      self.send({ type: "apply.rejected", code });
      return false;
    };
    return {
      beginIteration: () => core.beginIteration(),
      applyPlus: ({ self }: { self: AnyActorRef }) => {
        core.plusTarget(target);
        propose(ApplyKind.Plus, self);
      },
      applyMinus: ({ self }: { self: AnyActorRef }) => {
        core.minusTarget(target);
        propose(ApplyKind.Minus, self);
      },
      applyCentre: ({ self }: { self: AnyActorRef }) => {
        const result = core.commit(target);
        if (result === CommitResult.Stepped) this.safety.onCentreStepped();
        // Both perturbed points were measured and used: the tries the spikes abandoned are over.
        if (result !== CommitResult.NotReady) this.safety.onIterationCompleted();
        if (result === CommitResult.NotReady) target.set(core.centre);
        else this.auditDecision(result === CommitResult.Stepped);
        if (propose(ApplyKind.Centre, self) && result === CommitResult.Stepped) this.safety.onCentreMoved();
      },
      measureCentre: () => {
        if (this.isLiveAtCentre()) {
          this.cancelPaced("return");
          this.control.next("open");
          this.safety.onLiveAtCentre();
          return;
        }
        // Digests measured before the return belong to the old point, so the window opens only
        // once the centre is live (or Tier 1 refused it: then it measures what is live).
        this.control.next("discard");
        this.whenApplyAllowed("return", () => {
          target.set(core.centre);
          this.applyTarget(ApplyKind.Centre);
          this.control.next("open");
          this.safety.onLiveAtCentre();
        });
      },
      recordPlus: ({ event }: { event: SpsaMachineEvent }) => void core.recordPlus(windowValue(event)),
      recordMinus: ({ event }: { event: SpsaMachineEvent }) => void core.recordMinus(windowValue(event)),
      // Only a window measured at the centre is the centre's value (the noise model depends on it).
      recordCentre: ({ event }: { event: SpsaMachineEvent }) => {
        if (this.isLiveAtCentre() && core.recordCentre(windowValue(event))) this.safety.onCentreMeasured();
      },
      abandonIteration: () => core.abandonAt(this.liveUnit()),
      openWindow: () => this.control.next("open"),
      openWindowAfterRest: () => this.openAfterRest(),
      discardWindow: () => this.control.next("discard"),
      noteTimeout: ({ event }: { event: SpsaMachineEvent }) => {
        this.audit.write(
          AuditRecordType.EvalTimeout,
          this.scheduler.now(),
          this.live.generation,
          this.proposalId,
          0,
          -1,
          event.type === "window.timedOut" ? event.consecutive : 0,
          0,
        );
      },
      // A stall is a telemetry gap, not instability: the cycle waits at its centre and resumes
      // with the first window that holds digests; SafeMode is not involved (issue 11).
      noteStalled: () => {
        const spacing = this.stallWatch.onStall();
        const short = !Number.isNaN(spacing);
        // Windows that time out empty between digests (or bursts), at every one, never let an
        // iteration finish: from the next window, give one room for its digests at the pace they
        // come (a burst brings several per spacing) and one spacing more (`window.stretch`),
        // until the telemetry keeps pace with the configured limit again.
        if (short && this.config.window.stretch) {
          const window = this.config.window;
          const spacings = Math.ceil(window.digests / this.stallWatch.digestsPerResume) + 1;
          this.windows.lengthenLimit(spacings * spacing, this.config.stallAfter * (window.ms ?? 0));
        }
        this.audit.write(
          AuditRecordType.SpsaStalled,
          this.scheduler.now(),
          this.live.generation,
          this.proposalId,
          short ? STALL_SHORT_WINDOWS : 0,
          short ? spacing : -1,
          core.iteration,
          this.config.stallAfter,
        );
      },
    };
  }

  /**
   * Audits a gradient estimate (and the step taken from it), tied to the centre apply that follows.
   * A feasibility step leaves k as it was and uses no a_k: its records carry the current k, and
   * the fraction of each parameter's room it moved as the step's gain.
   */
  private auditDecision(stepped: boolean): void {
    const core = this.core;
    const now = this.scheduler.now();
    const proposal = this.proposalId + 1;
    const feasibility = stepped && core.steppedForFeasibility;
    const k = stepped && !feasibility ? core.iteration - 1 : core.iteration;
    const outcome = stepped ? DecisionOutcome.Stepped : DecisionOutcome.Calibrating;
    this.audit.writeVector(
      AuditRecordType.Decision,
      now,
      this.live.generation,
      proposal,
      outcome,
      k,
      core.yPlus,
      core.yMinus,
      core.gradient,
    );
    if (!stepped) return;
    this.audit.writeVector(
      AuditRecordType.DecisionStep,
      now,
      this.live.generation,
      proposal,
      core.clippedSteps,
      k,
      feasibility ? FEASIBILITY_STEP_FRACTION : core.ak,
      core.ck,
      core.step,
    );
  }

  /**
   * Audits a control-plane command before it takes effect; `follow` is how many records its
   * effect writes; `a` is the record's `a` field (a restored halt's reason bits). Refused (it
   * throws, having changed nothing) when the audit ring cannot store them and still keep
   * {@link HALT_RECORDS} free, once what is pending has been offered to its sink; a halt needs no
   * room kept after it, and goes ahead regardless (see `haltNow`).
   *
   * With `onCommand` (a decision log), the pending audit records, this command's included, are
   * delivered to the sink first and the hook makes them durable; if it throws, the command must
   * not take effect, and the error says why. The `events` subscribers are handed that delivery only
   * once the command has taken effect ({@link runCommand}): one that calls the engine (a monitor's
   * halt) then acts after it, as a replay of the log, which runs each command whole, does.
   */
  private auditCommand(command: ControlCommand, note: string | undefined, follow: number, a = 0): void {
    const audit = this.audit;
    const needed = 1 + follow + (command === ControlCommand.Halt ? 0 : HALT_RECORDS);
    if (this.safety.auditRoom < needed) this.deliverPending();
    const room = this.safety.auditRoom;
    if (room < needed && command !== ControlCommand.Halt)
      throw new CommandRefusedError(
        `arqon: ${controlCommandName(command)} not applied: the audit ring is full (${audit.size + this.safety.undeliveredCount} of ` +
          `${audit.capacity} records held, its sink not draining them): the command writes ${1 + follow} ` +
          `and ${HALT_RECORDS} stay free for a halt`,
      );
    audit.write(AuditRecordType.Command, this.scheduler.now(), this.live.generation, -1, command, -1, a, 0);
    const seq = audit.lastSeq;
    if (note !== undefined) audit.annotateLast(note);
    const onCommand = this.config.onCommand;
    if (onCommand === undefined) return;
    if (!this.emitting) {
      this.emitting = true;
      this.holdingEvents = true;
    }
    // Until the command has taken effect, an audit sink that calls the engine (see runCommand)
    // must not act in between: the log would hold its records before this command's effect.
    this.durablePhase = true;
    try {
      this.deliverPending();
      // The command's record, and all before it, must have left for the sink; records written
      // since (a mode change) may wait for the next drain.
      if (!this.deliveredThrough(seq)) throw new Error("the audit sink has not taken the command's record");
      onCommand(controlCommandName(command) as ControlCommandName, note);
    } catch (error) {
      // The command's record is already on its way to the sink (and may be on disk): say at once
      // that it took no effect, so neither the log nor a replay of it shows a command that did.
      // A halt goes ahead regardless (see haltNow), so it is never refused.
      if (command !== ControlCommand.Halt) {
        audit.write(
          AuditRecordType.CommandRefused,
          this.scheduler.now(),
          this.live.generation,
          -1,
          command,
          -1,
          0,
          0,
        );
        audit.annotateLast(errorMessage(error));
      }
      throw new CommandRefusedError(
        `arqon: ${controlCommandName(command)} not applied: the command could not be made durable (${errorMessage(error)})`,
        { cause: error },
      );
    } finally {
      this.durablePhase = false;
    }
  }

  /** Whether every audit record up to sequence number `seq` has been taken by the audit sinks. */
  private deliveredThrough(seq: number): boolean {
    const audit = this.audit;
    if (audit.size > 0 && audit.storage[audit.offsetOf(0) + FIELD_SEQ]! <= seq) return false;
    return this.safety.oldestUndeliveredSeq > seq;
  }

  /** Runs a command as an entry of the clock, then hands `events` what it held back. */
  private runCommand<T>(call: () => T): T {
    return this.entered(() => {
      // Only the command that took the hold releases it: one started inside another's delivery
      // (by a subscriber or the audit sink) must not hand events over before the outer one acted.
      const held = this.holdingEvents;
      try {
        return call();
      } finally {
        if (!held) {
          // A halt the audit sink asked for while this command was made durable, now that it acted
          // (a halt asked for during that halt's own durability adds nothing).
          const halt = this.deferredHalt;
          if (halt !== undefined) this.haltNow(halt.note, halt.restores);
          this.deferredHalt = undefined;
          this.releaseEvents();
        }
      }
    });
  }

  /**
   * Refuses a command the audit sink calls while another command is made durable (a logged
   * engine): run after that command's effect, its records would sit before it in the log, and a
   * replay, which runs each command whole, would decide otherwise. A halt is kept for right after.
   */
  private refuseInDurablePhase(name: string): void {
    if (this.durablePhase)
      throw new UsageError(
        `arqon: ${name} called from the audit sink while another command is made durable; only halt can be, and runs right after it`,
      );
  }

  /** Hands the `events` subscribers what a command held back (see {@link auditCommand}). */
  private releaseEvents(): void {
    if (!this.holdingEvents) return;
    this.holdingEvents = false;
    this.emitting = false;
    const held = this.emitQueue.shift();
    if (held !== undefined) this.emit(held);
    else if (this.completeAfterEmit) this.eventSubject.complete();
  }

  /** A closed window: audit it, then hand it to the SPSA cycle once Tier 1 would accept an apply. */
  private onWindow(w: WindowResult): void {
    if (w.count === 0) {
      // An empty window is audited by the cycle as an eval timeout (or not at all while stalled).
      this.emptyWindows++;
      this.safety.onEmptyWindow();
      this.spsa.send({ type: "window.timedOut", consecutive: this.emptyWindows });
    } else {
      this.emptyWindows = 0;
      this.lastWindowOpenedAt = w.openedAt;
      const generation = this.live.generation;
      // Through the input slot: as an argument, the value could be boxed.
      this.safety.input[0] = w.value;
      const anomalous = this.safety.takeWindowAnomalous(w.count);
      // What it was fed (judgeWindow may end the violation now: the window had −margins all the
      // same). A turn to feasibility restarts the cycle's window, but not a paused cycle's.
      const fed = this.windowFed;
      const measureBits =
        fed === FED_MARGIN
          ? WINDOW_NEGATED_MARGIN
          : fed === (FED_MARGIN | FED_OBJECTIVE)
            ? WINDOW_MIXED_MEASURE
            : 0;
      const turned = this.safety.judgeWindow(w.closedAt);
      // The cycle's top-level state: "stalled" and "paused" are plain strings, `cycle` an object
      // (read directly: `snapshot.matches` allocates on this per-window path).
      const state: unknown = this.spsa.getSnapshot().value;
      if (state === "stalled") this.stallWatch.onResumed(w.closedAt);
      // A trip just rolled back and restarted (or paused) the cycle: this window measured the old point.
      const rolledBack = this.live.generation !== generation;
      // The window ended a constraint violation: the cycle starts over on the objective, which its
      // value (a negated margin) does not measure. A paused cycle still takes it, to open the next.
      const restarted = !rolledBack && turned && typeof state === "object";
      // Anomalous digests make the window's value no measure of its point: a gradient built on it
      // would step on noise (and a later trip would blame the tuner for it). Measure again instead,
      // and say so on the record: nothing else in the trail shows the cycle starting over.
      const remeasure = !rolledBack && !restarted && anomalous && typeof state === "object";
      this.audit.write(
        AuditRecordType.WindowClosed,
        w.closedAt,
        this.live.generation,
        this.proposalId,
        (w.timedOut ? WINDOW_TIMED_OUT : 0) | (remeasure ? WINDOW_REMEASURE : 0) | measureBits,
        w.count,
        w.value,
        w.openedAt,
      );
      if (rolledBack || restarted) {
        this.afterWork();
        return;
      }
      if (remeasure) {
        // A spike the perturbations keep causing trips instead (and the rollback resets the cycle).
        if (!this.safety.onRemeasure()) {
          this.cancelPaced("decision");
          this.spsa.send({ type: "reset" });
        }
        this.afterWork();
        return;
      }
      const event = { type: "window.closed" as const, value: w.value };
      // Leaving a stall applies nothing (the centre is already live), and a paused cycle applies
      // nothing at all, so neither needs to wait.
      if (state === "stalled" || state === "paused") this.spsa.send(event);
      else this.whenApplyAllowed("decision", () => this.spsa.send(event));
    }
    this.afterWork();
  }

  /**
   * Runs `run` (which leads to an apply) as soon as Tier 1's timing rules would accept one: the
   * cycle paces itself to the guardrails instead of collecting refusals. Timers can fire a little
   * early on a millisecond clock, so the delay is rounded up and the check repeated. One pending
   * run per slot: a newer one replaces it.
   */
  private whenApplyAllowed(slot: PacedSlot, run: () => void): void {
    this.cancelPaced(slot);
    const wait = this.executor.applyAllowedAt() - this.scheduler.now();
    if (!(wait > 0)) {
      run();
      return;
    }
    this.paced[slot] = this.timers.schedule(
      () => {
        this.paced[slot] = undefined;
        // A timer of the host's loop: what fails here is kept in `failure`, never thrown into it.
        try {
          this.whenApplyAllowed(slot, run);
          this.afterWork();
        } catch (error) {
          this.fail(error);
        }
      },
      Math.max(1, Math.ceil(wait)),
    );
  }

  /**
   * Opens a paused cycle's next window once the last one has had its time: the configured
   * `window.ms` after it opened, or `guardrails.minIntervalMs` (at least
   * {@link PAUSED_COUNT_WINDOW_MS}) with windows on a digest count alone. Not a stretched limit: a
   * stretch gives slow telemetry room to fill a window, and a window that filled early shows it
   * needs none (resting for a stretched limit kept the stretch, and SafeMode's healthy windows, for
   * minutes after an outage). Observing only, the cycle needs windows at the pace it measures them
   * while tuning: with one per digest, per-request telemetry closed thousands a second, each an
   * audit record, and SafeMode's healthy windows were milliseconds of telemetry. The digests of
   * the rest feed no window (`unused`) and no regime detector; the governor's spike check still
   * sees every one.
   */
  private openAfterRest(): void {
    const { config } = this;
    const spacing = config.window.ms ?? Math.max(config.guardrails.minIntervalMs, PAUSED_COUNT_WINDOW_MS);
    const wait = this.lastWindowOpenedAt + spacing - this.scheduler.now();
    if (!(wait > 0)) {
      this.control.next("open");
      return;
    }
    this.restTimer = this.timers.trySchedule(this.endRest, wait);
    // The scheduler refused the rest's timer (a failure, kept): the window opens at once instead,
    // so windows still close and SafeMode still judges the telemetry.
    if (this.restTimer === undefined) this.control.next("open");
  }

  /** The rest's timer, made once (see {@link runDrain}). */
  private readonly endRest = (): void => {
    this.restTimer = undefined;
    // A timer of the host's loop: what fails here is kept in `failure`, never thrown into it.
    try {
      this.control.next("open");
      this.afterWork();
    } catch (error) {
      this.fail(error);
    }
  };

  private cancelRest(): void {
    this.restTimer?.unsubscribe();
    this.restTimer = undefined;
  }

  private cancelPaced(slot: PacedSlot): void {
    this.paced[slot]?.unsubscribe();
    this.paced[slot] = undefined;
  }

  /** The live values in unit coordinates, in a buffer reused from call to call. */
  private liveUnit(): Float64Array {
    const registry = this.registry;
    for (let i = 0; i < registry.size; i++) this.liveUnitBuffer[i] = registry.toUnit(i, this.live.values[i]!);
    return this.liveUnitBuffer;
  }

  /**
   * Whether the live values are the SPSA centre (up to unit ↔ raw round-off, so that re-applying it
   * would change nothing).
   */
  private isLiveAtCentre(): boolean {
    const registry = this.registry;
    for (let i = 0; i < registry.size; i++) {
      const gap = registry.toRaw(i, this.core.centre[i]!) - this.live.values[i]!;
      if (Math.abs(gap) > 1e-12 * (registry.max[i]! - registry.min[i]!)) return false;
    }
    return true;
  }

  /** Writes a digest with every field replay needs (capture on); absent or unusable fields are NaN. */
  private captureDigest(
    type: AuditRecordType,
    proposal: number,
    code: number,
    f: DigestFields,
    now: number,
  ): void {
    this.audit.writeDigestFields(type, now, this.live.generation, proposal, code, f);
  }

  /** Counts and audits a rejected digest, from the fields read once (NaN where unusable). */
  private reject(code: number, f: DigestFields, now: number): void {
    this.rejected++;
    // A malformed digest's record says which field, and why, in its param.
    const detail = code === DigestRejection.Malformed ? f.malformed : -1;
    if (this.config.captureDigests) {
      this.captureDigest(AuditRecordType.DigestRejected, -1, code, f, now);
      if (detail >= 0) this.audit.setLastParam(detail);
    } else
      this.audit.write(
        AuditRecordType.DigestRejected,
        now,
        this.live.generation,
        -1,
        code,
        detail,
        f.objective,
        f.generation,
      );
    this.afterWork();
  }

  /**
   * Schedules delivery of new audit records to `events`, off the caller's path. If nobody is
   * subscribed when the delivery runs, the records are discarded without decoding: building event
   * objects that no one receives would only feed the garbage collector.
   */
  private afterWork(): void {
    if (this.drainScheduled === undefined && this.audit.size > 0 && !this.closed) this.scheduleDrain();
    this.safety.checkAuditPressure();
  }

  /**
   * Schedules the drain; a scheduler that throws is an internal failure, kept, never rethrown.
   * Not through {@link timers}: the drain stays unscheduled then, so the next work tries again and
   * a scheduler that recovers delivers the records.
   */
  private scheduleDrain(): void {
    try {
      this.drainScheduled = this.scheduler.schedule(this.runDrain, this.config.auditDrainMs);
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * The scheduled drain, made once: an arrow created inside {@link afterWork} would make every
   * call of it (one per digest) allocate a context for `this`, whether or not it schedules.
   */
  private readonly runDrain = (): void => {
    this.drainScheduled = undefined;
    if (this.eventSubject.observed || this.safety.hasAuditSink) this.deliverPending();
    else {
      if (this.deliverRecords()) this.audit.discard();
      this.safety.checkAuditPressure();
    }
  };
}

/** The value a `window.closed` event carries (NaN for any other event, which the core ignores). */
function windowValue(event: SpsaMachineEvent): number {
  return event.type === "window.closed" ? event.value : Number.NaN;
}

/** The SPSA chart's state value as its dotted name (the chart has no parallel regions). */
function stateName(value: unknown): SpsaStateName {
  if (typeof value === "string") return value as SpsaStateName;
  const [key, inner] = Object.entries(value as Record<string, unknown>)[0]!;
  return `${key}.${stateName(inner)}` as SpsaStateName;
}

/**
 * The note a halt is audited with. A reason that is not a string is kept as shown rather than
 * refused or dropped: the halt goes ahead either way, and the operator's words should survive.
 */
function haltNote(reason: unknown): string {
  if (typeof reason === "string") return reason.trim() === "" ? HALT_NOTE : reason;
  if (reason === undefined || reason === null) return HALT_NOTE;
  return `${HALT_NOTE}; reason given: ${typeof reason === "object" ? objectText(reason) : shownValue(reason)}`;
}

/** An object given as a reason, in words: an error's message, else its JSON (cut at 200 characters). */
function objectText(reason: object): string {
  if (reason instanceof Error)
    return reason.message === "" ? reason.name : `${reason.name}: ${reason.message}`;
  try {
    const json = JSON.stringify(reason);
    if (typeof json === "string") return json.length > 200 ? `${json.slice(0, 199)}…` : json;
  } catch {
    // A cycle, a bigint, a throwing getter: say what it is instead.
  }
  return shownValue(reason);
}

const HALT_NOTE = "halted by the host";
