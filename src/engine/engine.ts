import { Effect, Exit, Scope } from "effect";
import { Observable, type SchedulerLike, Subject, type Subscriber, type Subscription } from "rxjs";
import { type Actor, type AnyActorRef, createActor } from "xstate";
import { engineMachine } from "../../machines/engine.machine.js";
import type { HotPathEvent } from "../../machines/hot-path.logic.js";
import { type SpsaMachineEvent, spsaMachine } from "../../machines/spsa.machine.js";
import { type AuditEvent, AuditRecordType } from "../audit/events.js";
import { AuditRing } from "../audit/ring.js";
import type { ConfigError } from "../errors.js";
import { ApplyKind } from "../hotpath/apply-kind.js";
import { Executor } from "../hotpath/executor.js";
import { LiveConfig } from "../hotpath/live-config.js";
import type { SharedLiveConfigHandle } from "../hotpath/shared-live-config.js";
import { APPLIED } from "../hotpath/violation.js";
import { Prng } from "../random/prng.js";
import { clockFromScheduler } from "../runtime/scheduler-clock.js";
import { scopedResource } from "../runtime/scoped-resource.js";
import { type EngineConfig, type ResolvedEngineConfig, resolveEngineConfig } from "./config.js";
import { checkDigest, DIGEST_ACCEPTED, type Digest, DigestRejection } from "./digest.js";
import {
  createWindowStats,
  evaluationWindows,
  type WindowControl,
  type WindowResult,
} from "./evaluation-windows.js";
import { createHotPathLogic } from "./hot-path-actor.js";
import { ParamRegistry } from "./registry.js";
import { CommitResult, SpsaCore } from "./spsa/spsa-core.js";

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

/** Verdict of each {@link checkDigest} result code, keyed by the code so the two cannot drift apart. */
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
export interface EngineSnapshot {
  /** Generation of the live values (+1 per apply or rollback). */
  readonly generation: number;
  /** Live values in raw units, by name. */
  readonly values: Record<string, number>;
  /** The SPSA centre (the point being tuned) in raw units, by name. */
  readonly centre: Record<string, number>;
  /** Completed SPSA gradient steps. */
  readonly iteration: number;
  /** State of the SPSA cycle, e.g. `"cycle.plus"`, `"stalled"`. */
  readonly phase: string;
  /** Generation the baseline was taken at (−1 when none). */
  readonly baselineGeneration: number;
  /**
   * Digests accepted and rejected so far; `unused` counts accepted digests that arrived while no
   * evaluation window was open (while a decision waited for the guardrails, or a return to the
   * centre was pending), so they fed no window.
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
  /** Writes Tier 1 made (applies and rollbacks) and requests it refused (violations) so far. */
  readonly applies: { readonly applied: number; readonly refused: number };
  /** The audit ring: records waiting for delivery, its size, the high-water mark, the largest fill seen, drops. */
  readonly audit: {
    readonly pending: number;
    readonly capacity: number;
    readonly highWaterMark: number;
    readonly peak: number;
    readonly dropped: number;
  };
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
 */
export interface Engine {
  /** Parameter names in registry order (the order of {@link Engine.values}). */
  readonly names: readonly string[];
  /** The live values in raw units, registry order. Read it freely; never write it. */
  readonly values: Float64Array;
  /** Generation of the live values; digests must carry it. */
  readonly generation: number;
  /**
   * Audit events (apply, violation, digest.rejected, window.closed, eval.timeout, rollback, …),
   * delivered on the engine's scheduler, off the hot path. A hot stream: records written while
   * nobody is subscribed are discarded when their delivery runs, so subscribe right after
   * creating the engine to see everything from its `baseline.set` on.
   */
  readonly events: Observable<AuditEvent>;
  /** The root actor of the engine's actor system (SPSA cycle and hot-path actor), for inspection. */
  readonly actor: Actor<typeof engineMachine>;
  /** With `shared: true`, what a worker needs to read the live values (see `readShared`). */
  readonly shared: SharedLiveConfigHandle | undefined;
  /** The first unexpected internal error, after which the engine stopped proposing (else undefined). */
  readonly failure: unknown;
  /** Current time on the engine's clock (ms). */
  now(): number;
  /** Feeds one telemetry digest. Never throws; says what was done with it. */
  observe(digest: Digest): DigestVerdict;
  /** A point-in-time view (allocates). */
  snapshot(): EngineSnapshot;
  /** Makes the live values the baseline that {@link Engine.rollback} restores. Audited. */
  setBaseline(): void;
  /**
   * Restores the baseline as a new generation and restarts the SPSA cycle from it. Audited with
   * `reason`. Returns false (and audits a NoBaseline violation) when there is no baseline.
   */
  rollback(reason?: string): boolean;
  /** Delivers every pending audit event to {@link Engine.events} now. Returns how many. */
  flushEvents(): number;
  /** Stops everything the engine started (actors, timers, subscriptions) and completes `events`. */
  close(): Promise<void>;
}

/** Effect constructors of {@link Engine}. */
export const Engine = {
  /**
   * An engine whose actors, timers and subscriptions are released when the enclosing `Scope`
   * closes; fails with a {@link ConfigError} listing every problem of an invalid config.
   */
  make: (config: EngineConfig): Effect.Effect<Engine, ConfigError, Scope.Scope> =>
    scopedResource(
      () => createEngine(config),
      (engine) => Effect.promise(() => engine.close()),
    ),
};

/** Creates and starts an engine; throws a {@link ConfigError} listing every problem of an invalid config. */
export function createEngine(config: EngineConfig): Engine {
  return new EngineImpl(resolveEngineConfig(config));
}

const SPSA_STREAM = 0x5b5a;

/** The kinds of apply that wait for Tier 1's timing rules, one pending at a time each. */
type PacedSlot = "decision" | "return";

class EngineImpl implements Engine {
  readonly names: readonly string[];
  readonly values: Float64Array;
  readonly events: Observable<AuditEvent>;
  readonly actor: Actor<typeof engineMachine>;
  readonly shared: SharedLiveConfigHandle | undefined;
  failure: unknown;

  private readonly config: ResolvedEngineConfig;
  private readonly scheduler: SchedulerLike;
  private readonly registry: ParamRegistry;
  private readonly live: LiveConfig;
  private readonly audit: AuditRing;
  private readonly executor: Executor;
  private readonly core: SpsaCore;
  private readonly target: Float64Array;
  private readonly scope: Scope.CloseableScope;
  private readonly eventSubject = new Subject<AuditEvent>();
  private readonly control = new Subject<WindowControl>();
  private readonly windowStats = createWindowStats();
  private readonly spsa: AnyActorRef;
  private readonly hotPath: AnyActorRef;
  private sink: Subscriber<number> | undefined;
  private proposalId = 0;
  /** Windows in a row that closed empty. */
  private emptyWindows = 0;
  private accepted = 0;
  private rejected = 0;
  private drainScheduled: Subscription | undefined;
  /** Applies waiting for Tier 1's timing rules: a window's decision, a return to the centre. */
  private readonly paced: Record<PacedSlot, Subscription | undefined> = {
    decision: undefined,
    return: undefined,
  };
  private closed = false;

  constructor(config: ResolvedEngineConfig) {
    this.config = config;
    this.scheduler = config.scheduler;
    const registry = new ParamRegistry(config.params);
    this.registry = registry;
    this.names = registry.names;
    this.live = new LiveConfig(registry.init, { shared: config.shared });
    this.values = this.live.values;
    this.shared = this.live.handle;
    this.audit = new AuditRing({
      runId: config.runId,
      capacity: config.auditCapacity,
      paramNames: registry.names,
    });
    this.executor = new Executor(registry, this.live, config.guardrails, this.audit);
    this.core = new SpsaCore(registry, config.spsa, Prng.fromSeed(config.seed, SPSA_STREAM));
    this.target = new Float64Array(registry.size);
    this.events = this.eventSubject.asObservable();
    this.executor.setBaseline(this.scheduler.now());

    this.scope = Effect.runSync(Scope.make());
    const acquire = Effect.gen(this, function* () {
      // Telemetry → evaluation windows → SPSA events. The source captures its subscriber so that
      // observe() pushes values without a Subject (a Subject allocates per value).
      const source = new Observable<number>((subscriber) => {
        this.sink = subscriber;
        return () => {
          this.sink = undefined;
        };
      });
      const windows = source.pipe(
        evaluationWindows(this.control, {
          count: config.window.digests,
          ...(config.window.ms === undefined ? {} : { ms: config.window.ms }),
          aggregation: config.window.aggregation,
          trim: config.window.trim,
          scheduler: this.scheduler,
          stats: this.windowStats,
        }),
      );
      yield* Effect.acquireRelease(
        Effect.sync(() => windows.subscribe((w) => this.onWindow(w))),
        (subscription) => Effect.sync(() => subscription.unsubscribe()),
      );
      const actor = yield* Effect.acquireRelease(
        Effect.sync(() => this.createRootActor()),
        (root) => Effect.sync(() => root.stop()),
      );
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          this.drainScheduled?.unsubscribe();
          this.cancelPaced("decision");
          this.cancelPaced("return");
        }),
      );
      return actor;
    });
    this.actor = Effect.runSync(Scope.extend(acquire, this.scope));
    this.spsa = this.actor.system.get("spsa") as AnyActorRef;
    this.hotPath = this.actor.system.get("hotPath") as AnyActorRef;
    this.spsa.send({ type: "start" });
    this.afterWork();
  }

  get generation(): number {
    return this.live.generation;
  }

  now(): number {
    return this.scheduler.now();
  }

  observe(digest: Digest): DigestVerdict {
    if (this.closed) return "closed";
    const now = this.scheduler.now();
    const c = this.config;
    const code = checkDigest(
      digest,
      this.live.generation,
      this.executor.lastApplyAt,
      now,
      c.settleMs,
      c.maxAgeMs,
      c.maxSkewMs,
    );
    if (code !== DIGEST_ACCEPTED) {
      this.reject(code, digest, now);
      return VERDICT_BY_CODE[code] ?? "malformed";
    }
    this.accepted++;
    this.sink?.next(digest.objective);
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
    return {
      generation: this.live.generation,
      values: registry.toRecord(this.live.values),
      centre,
      iteration: this.core.iteration,
      phase: stateName(this.spsa.getSnapshot().value),
      baselineGeneration: this.live.hasBaseline ? this.live.baselineGeneration : -1,
      digests: { accepted: this.accepted, rejected: this.rejected, unused: this.windowStats.dropped },
      spsa: {
        a: this.core.a,
        c: this.core.perturbationScale,
        clampedPerturbations: this.core.clampedPerturbationsTotal,
        clippedSteps: this.core.clippedStepsTotal,
      },
      applies: { applied: results[APPLIED]!, refused },
      audit: {
        pending: this.audit.size,
        capacity: this.audit.capacity,
        highWaterMark: this.audit.highWaterMark,
        peak: this.audit.peak,
        dropped: this.audit.dropped,
      },
    };
  }

  setBaseline(): void {
    if (this.closed) return;
    this.hotPath.send({ type: "baseline.set" } satisfies HotPathEvent);
    this.afterWork();
  }

  rollback(reason = "manual rollback"): boolean {
    if (this.closed) return false;
    const before = this.live.generation;
    this.hotPath.send({ type: "rollback", reason } satisfies HotPathEvent);
    const rolledBack = this.live.generation !== before;
    if (rolledBack) {
      this.cancelPaced("decision");
      this.cancelPaced("return");
      for (let i = 0; i < this.registry.size; i++)
        this.target[i] = this.registry.toUnit(i, this.live.values[i]!);
      this.core.setCentre(this.target);
      this.emptyWindows = 0;
      this.spsa.send({ type: "reset" });
    }
    this.afterWork();
    return rolledBack;
  }

  flushEvents(): number {
    this.drainScheduled?.unsubscribe();
    this.drainScheduled = undefined;
    const events = this.audit.drain();
    for (const event of events) this.eventSubject.next(event);
    return events.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Effect.runPromise(Scope.close(this.scope, Exit.void));
    this.flushEvents();
    this.eventSubject.complete();
  }

  /** Builds the root actor with the real hot-path logic and the SPSA hooks bound to this engine. */
  private createRootActor(): Actor<typeof engineMachine> {
    const machine = engineMachine.provide({
      actors: {
        hotPath: createHotPathLogic(this.executor, this.live, () => this.scheduler.now()),
        spsa: spsaMachine.provide({ actions: this.spsaActions() }),
      },
    });
    const root = createActor(machine, {
      input: { stallAfter: this.config.stallAfter },
      clock: clockFromScheduler(this.scheduler),
    });
    root.subscribe({
      error: (error) => {
        this.failure ??= error;
      },
    });
    return root.start();
  }

  /** The SPSA statechart's hooks: they move the core, apply through Tier 1 and drive the windows. */
  private spsaActions() {
    const core = this.core;
    const target = this.target;
    const propose = (kind: ApplyKind, self: AnyActorRef) => {
      const code = this.executor.apply(target, ++this.proposalId, kind, this.scheduler.now());
      if (code !== APPLIED) self.send({ type: "apply.rejected", code });
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
        if (core.commit(target) === CommitResult.NotReady) target.set(core.centre);
        propose(ApplyKind.Centre, self);
      },
      measureCentre: () => {
        if (this.isLiveAtCentre()) {
          this.cancelPaced("return");
          this.control.next("open");
          return;
        }
        // Digests measured before the return belong to the old point, so the window opens only
        // once the centre is live (or Tier 1 refused it: then it measures what is live).
        this.control.next("discard");
        this.whenApplyAllowed("return", () => {
          target.set(core.centre);
          this.executor.apply(target, ++this.proposalId, ApplyKind.Centre, this.scheduler.now());
          this.control.next("open");
        });
      },
      recordPlus: ({ event }: { event: SpsaMachineEvent }) => void core.recordPlus(windowValue(event)),
      recordMinus: ({ event }: { event: SpsaMachineEvent }) => void core.recordMinus(windowValue(event)),
      // Only a window measured at the centre is the centre's value (the noise model depends on it).
      recordCentre: ({ event }: { event: SpsaMachineEvent }) => {
        if (this.isLiveAtCentre()) core.recordCentre(windowValue(event));
      },
      abandonIteration: () => core.abandon(),
      openWindow: () => this.control.next("open"),
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
      noteStalled: () => {
        this.audit.write(
          AuditRecordType.SpsaStalled,
          this.scheduler.now(),
          this.live.generation,
          this.proposalId,
          0,
          -1,
          core.iteration,
          this.config.stallAfter,
        );
      },
    };
  }

  /** A closed window: audit it, then hand it to the SPSA cycle once Tier 1 would accept an apply. */
  private onWindow(w: WindowResult): void {
    if (w.count === 0) {
      // An empty window is audited by the cycle as an eval timeout (or not at all while stalled).
      this.emptyWindows++;
      this.spsa.send({ type: "window.timedOut", consecutive: this.emptyWindows });
    } else {
      this.emptyWindows = 0;
      this.audit.write(
        AuditRecordType.WindowClosed,
        w.closedAt,
        this.live.generation,
        this.proposalId,
        w.timedOut ? 1 : 0,
        w.count,
        w.value,
        w.openedAt,
      );
      const event = { type: "window.closed" as const, value: w.value };
      // Leaving a stall applies nothing (the centre is already live), so it need not wait.
      if (this.spsa.getSnapshot().matches("stalled")) this.spsa.send(event);
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
    this.paced[slot] = this.scheduler.schedule(
      () => {
        this.paced[slot] = undefined;
        this.whenApplyAllowed(slot, run);
        this.afterWork();
      },
      Math.max(1, Math.ceil(wait)),
    );
  }

  private cancelPaced(slot: PacedSlot): void {
    this.paced[slot]?.unsubscribe();
    this.paced[slot] = undefined;
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

  private reject(code: number, digest: unknown, now: number): void {
    this.rejected++;
    let value = Number.NaN;
    let generation = Number.NaN;
    try {
      const d = digest as { objective?: unknown; generation?: unknown };
      if (typeof d?.objective === "number") value = d.objective;
      if (typeof d?.generation === "number") generation = d.generation;
    } catch {
      // A digest whose getters throw is audited without its fields.
    }
    this.audit.write(
      AuditRecordType.DigestRejected,
      now,
      this.live.generation,
      -1,
      code,
      -1,
      value,
      generation,
    );
    this.afterWork();
  }

  /**
   * Schedules delivery of new audit records to `events`, off the caller's path. If nobody is
   * subscribed when the delivery runs, the records are discarded without decoding: building event
   * objects that no one receives would only feed the garbage collector.
   */
  private afterWork(): void {
    if (this.drainScheduled === undefined && this.audit.size > 0 && !this.closed) {
      this.drainScheduled = this.scheduler.schedule(() => {
        this.drainScheduled = undefined;
        if (this.eventSubject.observed) this.flushEvents();
        else this.audit.discard();
      });
    }
  }
}

/** The value a `window.closed` event carries (NaN for any other event, which the core ignores). */
function windowValue(event: SpsaMachineEvent): number {
  return event.type === "window.closed" ? event.value : Number.NaN;
}

function stateName(value: unknown): string {
  if (typeof value === "string") return value;
  const [key, inner] = Object.entries(value as Record<string, unknown>)[0]!;
  return `${key}.${stateName(inner)}`;
}
