import { basename } from "node:path";
import { Effect, type Scope } from "effect";
import { asyncScheduler } from "rxjs";
import {
  decodeSafeMode,
  decodeSafeModeReasons,
  haltReasonBits,
  reasonsInSet,
  type SafeModeReason,
} from "../../machines/safe-mode-reasons.js";
import {
  AuditRecordType,
  ControlCommand,
  controlCommandName,
  FIELD_A,
  FIELD_CODE,
  FIELD_GENERATION,
  FIELD_PARAM,
  FIELD_SEQ,
  FIELD_TYPE,
  VECTOR_LENGTH_UNIT,
} from "../audit/events.js";
import type { AuditRing } from "../audit/ring.js";
import { type EngineConfig, resolveEngineConfig } from "../engine/config.js";
import { createEngine, Engine } from "../engine/engine.js";
import { restoredReasonBits, restoreHalt } from "../engine/restored-halt.js";
import { ConfigError, errorMessage } from "../errors.js";
import { awaited, runAtOnce, runInSlices, type Steps } from "../runtime/event-loop-slices.js";
import { shownValue } from "../shown-value.js";
import { makeDecisionLog } from "./decision-log.js";
import { asLogError, LogError } from "./errors.js";
import { type ResumePoint, ResumeReading } from "./last-run-end.js";
import { checkLogOptions, LOG_OPTION_KEYS } from "./log-options.js";
import {
  auditEventOf,
  ENGINE_LOG_FORMAT,
  engineHeaderOf,
  engineLogHeader,
  type LoggedRepair,
} from "./log-records.js";
import { RecordingClock } from "./recording-clock.js";
import {
  CLOSE_MARKER_KIND,
  ENGINE_FAILURE_KIND,
  type LogEntry,
  type LogHeader,
  RESTART_LOG_KIND,
  RING_RECORD_KIND,
} from "./records.js";
import { resumedConfig } from "./resumed-config.js";
import {
  auditContextRecord,
  type RawRingRecord,
  type RingCursor,
  ringRecordBound,
  writeRingRecord,
} from "./ring-record.js";
import { answerFromLogEnd, answerFromLogEndAsync, logHeaderOf, type SegmentQuestion } from "./scan.js";
import { hasDecisionLog } from "./segments.js";
import { TIMING_RECORD_BYTES, writeTimingRecord } from "./timing-record.js";
import {
  type DecisionLogOptions,
  type DecisionLogWriter,
  type LogOpening,
  type LogRecovery,
  openLogAsync,
  openLogNow,
} from "./writer.js";

/** The options {@link createLoggedEngine} takes: the writer's, but `header`, and `resume`. */
const ENGINE_LOG_OPTION_KEYS = [...LOG_OPTION_KEYS.filter((key) => key !== "header"), "resume"];

/** Default audit drain period of a logged engine (ms): half the log's default group-commit interval. */
const LOGGED_DRAIN_MS = 25;

/** Options of {@link createLoggedEngine}: where the log lives and how often it commits. */
export type EngineLogOptions = Omit<DecisionLogOptions, "header"> & {
  /**
   * On a directory that already holds a log, start where its last run's tuning stopped: the
   * engine starts from `resumedConfig(config, resumePoint(dir))`, read from the records the opening
   * verifies anyway, so a restart reads the log once instead of twice. The point it started from is
   * `resumedFrom`. On a new directory, one whose log the opening creates afresh (no valid header:
   * a first start cut short, where `resumePoint` refuses), or a log whose last run tells nothing
   * (see `resumePoint`), the engine starts from `config`. The point is read from the log as the
   * opening leaves it: with `strict: false`, from the records before any damage it set aside.
   * When the log cannot tell where its last run ended, the opening fails with `resumePoint`'s
   * `ReplayInputError` (`LoggedEngine.make`: a `LogError` caused by it) and closes the log; a
   * `resume` that is not a boolean is refused with a `LogError`. Default false.
   */
  readonly resume?: boolean;
};

/** What the log held when an engine was started on an existing log (a restart). */
export interface EngineLogRestart {
  /** Highest live generation recorded durably by the previous run (−1 when none). */
  readonly lastDurableGeneration: number;
  /** The new engine's live generation when it started (0: a new engine starts at its init values). */
  readonly liveGeneration: number;
  /**
   * How many generations the new engine starts behind the previous run's last durable one
   * (`lastDurableGeneration − liveGeneration`, at least 0): a new engine starts again from its
   * init values at generation 0, so this is the previous run's progress it does not carry on from.
   */
  readonly gap: number;
  /**
   * Set when the previous run ended halted (no acknowledged reset after its halt): the note this
   * engine was halted with at once, naming the previous run's reasons. `halted` is latched: a
   * restart does not end it, only `engine.resetSafeMode({ acknowledge })` does.
   */
  readonly halted?: string;
  /**
   * With `halted`: the SafeMode reasons this engine was halted with, the latched ones of the
   * previous run's halt. A halt SafeMode latched stays `repeatedTrips` across the restart, which
   * the alert rules page for; an operator's stays `manualHalt`.
   */
  readonly haltedReasons?: readonly SafeModeReason[];
  /**
   * What opening the log had to repair before this run began (a torn tail cut off, damage set
   * aside), also written to the log so that a reader of it learns of the repair; absent when
   * nothing was repaired (a stale lock taken over is not a repair of the data).
   */
  readonly repair?: LoggedRepair;
}

/** An engine that writes its decision log, and the log (see {@link createLoggedEngine}). */
export interface LoggedEngine<N extends string = string> {
  /** The engine, typed by the config's parameter names as `createEngine`'s is. */
  readonly engine: Engine<N>;
  readonly log: DecisionLogWriter;
  /** What recovery did on open (torn tail truncated, damage set aside, a stale lock taken over), if anything. */
  readonly recovery: LogRecovery | undefined;
  /** Set when the directory already held a log: the generation gap, also written to the log. */
  readonly restart: EngineLogRestart | undefined;
  /**
   * With `resume`, the point the engine started from (its values became `init`, its baseline
   * `baseline`); undefined without `resume`, on a new log, or when the log told none.
   */
  readonly resumedFrom: ResumePoint | undefined;
  /**
   * The config the engine was started from: the one given or, with `resume`, the one resumed from
   * {@link LoggedEngine.resumedFrom} (`resumedConfig(config, resumedFrom)`). Hand this one, not the
   * one given, to `monitorEngine`: a resumed engine starts from other values than `init`, and a
   * monitor reading the given config would take its first apply for a jump past `maxDelta`.
   */
  readonly config: EngineConfig<N>;
  /** Closes the engine, then writes the close marker and flushes, fsyncs and closes the log; idempotent. */
  close(): Promise<void>;
}

/**
 * Creates an engine that records every audit event in a decision log under `options.dir`:
 * digests captured (`captureDigests` defaults to true, so the log can be replayed), applies with
 * their values, windows, gradient decisions, refusals and mode changes through group commit, and
 * control-plane commands written and fsynced before they take effect (the engine's `onCommand`).
 *
 * @remarks
 * The engine's hot path never touches the file: audit records go from the ring to the log on the
 * engine's scheduled drain, and a group commit's write and fdatasync run on libuv's thread pool,
 * off the event loop. A log that cannot be written (a failed commit not yet retried with success)
 * or that holds `maxPendingBytes` refuses records: the engine keeps them in its audit ring, its
 * record sink's breaker opens and SafeMode freezes it (reason `breakerOpen`) until the log takes
 * them again. Records go into the log as the ring holds them (their numbers copied, see
 * `ring-record.ts`), never decoded into events on the way; readers decode them. Starting on a
 * directory that already holds a log continues it: the gap between its last durable generation
 * and the new engine's generation is written as a `restart` record, which starts a new run: replay and
 * explain read each run on its own. An internal failure of the engine (`engine.failed`) is written
 * durably as a `failure` record (see `ENGINE_FAILURE_KIND`), where replay stops.
 * A config's own `auditSink` and `onCommand` still run, after the log's.
 */
export function createLoggedEngine<const N extends string>(
  config: EngineConfig<N>,
  options: EngineLogOptions,
): LoggedEngine<N> {
  // The engine was built from `config`, whose parameter names are exactly `N`.
  return runAtOnce(loggedEngineSteps(config, options, openLogNow, previousRun)) as LoggedEngine<N>;
}

/**
 * {@link createLoggedEngine}, opening an existing log without blocking the event loop: the log is
 * verified one segment at a time, in slices between which the event loop turns, and the previous
 * run's last generation is read from the log's end the same way. The config and the log's header
 * are checked first (as {@link createLoggedEngine} checks them); then the directory's lock is
 * taken and held throughout, so the log cannot change while it is read; the engine is created once
 * the log is open, with nothing awaited after that before the restart record is written.
 *
 * @remarks
 * For a host that starts or restarts engines while it serves (a supervisor): opening a long log
 * with {@link createLoggedEngine} holds the caller's thread for a time that grows with the log.
 */
export async function createLoggedEngineAsync<const N extends string>(
  config: EngineConfig<N>,
  options: EngineLogOptions,
): Promise<LoggedEngine<N>> {
  const steps = loggedEngineSteps(config, options, openLogAsync, previousRunAsync);
  // The engine was built from `config`, whose parameter names are exactly `N`.
  return (await runInSlices(steps)) as LoggedEngine<N>;
}

/**
 * The start of a logged engine, as {@link createLoggedEngine} and {@link createLoggedEngineAsync}
 * make it, with the log opened by `open` and the previous run read by `previousOf` (on the calling
 * thread, or asynchronously: each step waits for what they give).
 */
function* loggedEngineSteps(
  config: EngineConfig,
  options: EngineLogOptions,
  open: (
    options: Omit<DecisionLogOptions, "header">,
    opening: LogOpening,
  ) => DecisionLogWriter | Promise<DecisionLogWriter>,
  previousOf: (dir: string) => PreviousRun | Promise<PreviousRun>,
): Steps<LoggedEngine> {
  // A config error is the config's, found before the log is read or touched.
  resolveEngineConfig(loggedConfig(config));
  const { logOptions, reading } = openingOf(options);
  refuseForeignLog(options.dir);
  const start = new EngineStart(config);
  let log: DecisionLogWriter | undefined;
  let engine: Engine;
  let previous: PreviousRun | undefined;
  try {
    log = yield* awaited(open(logOptions, start.opening(reading)));
    refuseOtherLog(options.dir, log);
    if (!log.created) previous = yield* awaited(previousOf(options.dir));
    const plan = start.plan(log, reading);
    engine = createEngine(wireToLog(plan.config, log));
  } catch (error) {
    log?.close();
    throw error;
  } finally {
    start.leave();
  }
  return startedLoggedEngine(engine, log, start, previous);
}

/** Effect constructors of a logged engine. */
export const LoggedEngine = {
  /**
   * {@link createLoggedEngine} under an Effect `Scope`: the log's group commits run in a fiber of
   * the scope (`DecisionLog.make`), and closing the scope closes the engine, then flushes, fsyncs
   * and closes the log. Fails with a `LogError` or a `ConfigError`. Opens the log as
   * {@link createLoggedEngineAsync} does, so it is asynchronous: `Effect.runSync` cannot run it.
   */
  make: <const N extends string>(
    config: EngineConfig<N>,
    options: EngineLogOptions,
  ): Effect.Effect<LoggedEngine<N>, LogError | ConfigError, Scope.Scope> =>
    Effect.gen(function* () {
      const { logOptions, reading } = yield* Effect.try({
        try: () => {
          resolveEngineConfig(loggedConfig(config));
          const opening = openingOf(options);
          refuseForeignLog(options.dir);
          return opening;
        },
        // An invalid engine config is the config's fault, not the log's.
        catch: (error) =>
          // `options?.`: options that are not an object are what `openingOf` refused.
          error instanceof ConfigError
            ? error
            : asLogError(error, `cannot read decision log ${options?.dir}`),
      });
      const start = new EngineStart(config);
      const leave = Effect.sync(() => start.leave());
      const log = yield* makeDecisionLog(logOptions, start.opening(reading)).pipe(
        Effect.tapErrorCause(() => leave),
      );
      const previous = yield* Effect.tryPromise({
        try: async () => {
          // Closing the scope closes the log when it is not an engine's.
          refuseOtherLog(options.dir, log);
          return log.created ? undefined : await previousRunAsync(options.dir);
        },
        catch: (error) => asLogError(error, `cannot open decision log ${options.dir}`),
      }).pipe(Effect.tapErrorCause(() => leave));
      const started = yield* Effect.try({
        try: () => start.plan(log, reading),
        catch: (error) => asLogError(error, `cannot start an engine on decision log ${options.dir}`),
      }).pipe(Effect.tapErrorCause(() => leave));
      let engine: Engine | undefined;
      let marked = false;
      const markClosed = () => {
        if (engine === undefined || marked) return;
        marked = true;
        writeCloseMarker(engine, log);
      };
      // Runs after the engine's finalizer and before the log's: the marker is the log's last record.
      yield* Effect.addFinalizer(() =>
        // A log that cannot take the marker reads as "not closed", which is what it is.
        Effect.try(markClosed).pipe(Effect.ignore),
      );
      engine = yield* Engine.make(wireToLog(started.config, log)).pipe(Effect.ensuring(leave));
      const running = engine;
      // close() does what closing the scope does (the scope's finalizers then find nothing left).
      let closing: Promise<void> | undefined;
      const close = () =>
        (closing ??= closeEngineThenLog(async () => {
          await running.close();
          markClosed();
        }, log));
      return yield* Effect.try({
        // The engine was built from `config`, whose parameter names are exactly `N`.
        try: () => loggedEngine(running, log, start, previous, close) as LoggedEngine<N>,
        catch: (error) => asLogError(error, `cannot write the restart record to decision log ${options.dir}`),
      });
    }),
};

/**
 * The {@link LoggedEngine} of a started engine and its log, noting a restart in the log first.
 * `previous` is how the previous run ended, read once the writer had opened the log: what its
 * recovery set aside (a damaged part) is no longer the log's.
 */
function startedLoggedEngine(
  engine: Engine,
  log: DecisionLogWriter,
  start: EngineStart,
  previous: PreviousRun | undefined,
): LoggedEngine {
  // Idempotent, like every other close: a second or concurrent call waits for the first.
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= closeEngineThenLog(async () => {
      await engine.close();
      writeCloseMarker(engine, log);
    }, log));
  try {
    return loggedEngine(engine, log, start, previous, close);
  } catch (error) {
    // The restart record could not be written: nothing of this run may outlive the throw. The
    // engine stops its timers; the log closes now, so its LOCK is gone before a retry.
    void engine.close().catch(() => undefined);
    log.close();
    throw error;
  }
}

/**
 * The {@link LoggedEngine} of a started engine and its log, noting a restart in the log first, and
 * halting the engine at once when the previous run ended halted.
 */
function loggedEngine(
  engine: Engine,
  log: DecisionLogWriter,
  start: EngineStart,
  previous: PreviousRun | undefined,
  close: () => Promise<void>,
): LoggedEngine {
  const plan = start.started!;
  const restart = noteRestart(engine, log, previous, plan.header);
  // After the restart record: a failure belongs to the run that record starts.
  noteFailure(engine, log, plan.clock);
  // A halt is latched until an acknowledged reset: a restart (a deploy, a crash loop) must not end
  // it. Recorded in this run, as a command, so that its replay halts where this engine did.
  if (restart?.halted !== undefined) restoreHalt(engine, restart.halted, restart.haltedReasons ?? []);
  const { resumedFrom, startedFrom: config } = start;
  return { engine, log, recovery: log.recovery ?? undefined, restart, resumedFrom, config, close };
}

/**
 * Writes the engine's internal failure (now, if it failed while being created, or when
 * `engine.failed` emits) durably to the log: nothing else in the log shows it, and replay, whose
 * engine does not fail, must stop there.
 */
function noteFailure(engine: Engine, log: DecisionLogWriter, clock: AuditAwareClock): void {
  const write = (error: unknown) => {
    try {
      log.appendCommand({
        kind: ENGINE_FAILURE_KIND,
        time: engine.now(),
        generation: engine.generation,
        after: clock.auditSeq(),
        message: errorMessage(error),
      });
    } catch {
      // A log that refuses it (a failing disk) must not throw into the engine, which has failed
      // already: replay then diverges at the failure instead of naming it.
    }
  };
  if (engine.failure !== undefined) write(engine.failure);
  else engine.failed.subscribe(write);
}

interface EngineLogPlan {
  readonly config: EngineConfig;
  readonly header: LogHeader;
  /** The engine's clock, entered (pinned at the header's start time) until the engine exists. */
  readonly clock: AuditAwareClock;
  /** Points the clock's timing records at the opened log. */
  bind(log: DecisionLogWriter): void;
}

/**
 * An engine's start on a log being opened: its plan ({@link startEngineLog}) is made when a log the
 * opening creates needs its header, else once the log is open, from the config resumed where the
 * log's last run stopped when `resume` asked for it.
 */
class EngineStart {
  started: EngineLogPlan | undefined;
  resumedFrom: ResumePoint | undefined;
  /** The config the plan was made from: the one given, or the one resumed from `resumedFrom`. */
  startedFrom: EngineConfig;

  constructor(private readonly config: EngineConfig) {
    this.startedFrom = config;
  }

  /** How the log is opened: a new log's header made now, and the records handed to `reading`. */
  opening(reading: ResumeReading | undefined): LogOpening {
    return {
      // A log this opening creates gets its header, and the engine's clock its start, at once.
      headerNow: () => {
        this.started = startEngineLog(this.config);
        return this.started.header;
      },
      ...(reading === undefined ? {} : { use: reading.use }),
    };
  }

  /** The plan, bound to the opened log. */
  plan(log: DecisionLogWriter, reading: ResumeReading | undefined): EngineLogPlan {
    if (this.started === undefined) {
      this.resumedFrom = log.created ? undefined : reading?.point(log.lastSeq);
      if (this.resumedFrom !== undefined) this.startedFrom = resumedConfig(this.config, this.resumedFrom);
      this.started = startEngineLog(this.startedFrom);
    }
    this.started.bind(log);
    return this.started;
  }

  /** The engine exists (or will not): its clock runs freely again. */
  leave(): void {
    this.started?.clock.leave();
  }
}

/**
 * The writer's options of `options` (without `resume`), and the reading of the resume point that
 * `resume: true` asks for.
 *
 * @throws LogError when `resume` is given and is not a boolean.
 */
function openingOf(options: EngineLogOptions): {
  readonly logOptions: Omit<DecisionLogOptions, "header">;
  readonly reading: ResumeReading | undefined;
} {
  // The writer checks its own options again; here `resume` is one and `header` is the engine's.
  checkLogOptions(options, ENGINE_LOG_OPTION_KEYS);
  const { resume, ...logOptions } = options;
  if (resume !== undefined && typeof resume !== "boolean")
    throw new LogError(`resume must be true or false, got ${shownValue(resume)}`);
  return { logOptions, reading: resume === true ? new ResumeReading() : undefined };
}

/**
 * Refuses, before any writer opens it, a log in `dir` that is not an engine's: the writer's
 * recovery would change it. Reads only the first frames of its segments.
 */
function refuseForeignLog(dir: string): void {
  const header = hasDecisionLog(dir) ? logHeaderOf(dir) : null;
  if (header !== null) refuseOtherLog(dir, { header, created: false });
}

/**
 * The engine's config with capture and burst drains, and the log header: the engine's clock is
 * entered (its time pinned at the header's start time) until the engine exists.
 */
function startEngineLog(config: EngineConfig): EngineLogPlan {
  const captured = loggedConfig(config);
  let target: DecisionLogWriter | undefined;
  const clock = new AuditAwareClock(config.scheduler ?? asyncScheduler, (timing) =>
    target?.appendBytes(TIMING_RECORD_BYTES, writeTimingRecord, timing),
  );
  // The engine's creation is one entry: its first records carry the header's start time exactly.
  clock.enter();
  const startTime = clock.now();
  return {
    config: { ...captured, scheduler: clock },
    header: engineLogHeader(captured, { startTime, recordsTimings: true }),
    clock,
    bind: (log) => {
      target = log;
    },
  };
}

/** The engine's config as a logged engine runs it: digests captured, audit drained in bursts. */
function loggedConfig(config: EngineConfig): EngineConfig {
  return {
    ...config,
    captureDigests: config.captureDigests ?? true,
    // Every digest writes a record: drain in bursts rather than once per digest.
    auditDrainMs: config.auditDrainMs ?? LOGGED_DRAIN_MS,
  };
}

/**
 * The recording clock, which also tells the last audit seq the engine assigned: where an internal
 * failure falls among the audit records, which reach the log only at the next drain.
 */
class AuditAwareClock extends RecordingClock {
  auditSeq: () => number = () => 0;

  override attachAudit(lastSeq: () => number): void {
    this.auditSeq = lastSeq;
    super.attachAudit(lastSeq);
  }
}

/**
 * Closes the engine (`closeEngine`), then the log, whether or not the engine closed: a compaction
 * of the log still running stops first (see `released()`), so the directory is free once this
 * settles, even after a failure, and can be opened again at once.
 */
async function closeEngineThenLog(closeEngine: () => Promise<void>, log: DecisionLogWriter): Promise<void> {
  try {
    await closeEngine();
  } finally {
    try {
      log.close();
    } finally {
      await log.released();
    }
  }
}

/**
 * Ends a cleanly closed run with a close marker, written durably: a log whose last record is not
 * one lost its end (a deleted last segment) or belongs to a run that never closed (a crash).
 */
function writeCloseMarker(engine: Engine, log: DecisionLogWriter): void {
  // A commit that failed earlier is retried first: a disk that has recovered takes the marker.
  log.flush();
  log.appendCommand({ kind: CLOSE_MARKER_KIND, time: engine.now(), generation: engine.generation });
}

/**
 * The config with the log as audit record sink and write-ahead command hook (the config's own
 * record sink and command hook run after).
 */
function wireToLog(config: EngineConfig, log: DecisionLogWriter): EngineConfig {
  const userRecords = config.auditRecordSink;
  const userCommand = config.onCommand;
  // Records are offered again when the sink failed part-way (the log refused one, or the host's
  // own record sink threw): those already appended are skipped, so the log never repeats one.
  let lastLogged = 0;
  // The ring whose context the log holds: a run writes it once, before its first record.
  let described: AuditRing | undefined;
  const cursor: RingCursor = { ring: undefined as unknown as AuditRing, k: 0 };
  return {
    ...config,
    auditRecordSink: (ring: AuditRing) => {
      if (described !== ring) {
        log.append(auditContextRecord(ring));
        described = ring;
      }
      cursor.ring = ring;
      const storage = ring.storage;
      for (let k = 0; k < ring.size; k++) {
        const seq = storage[ring.offsetOf(k) + FIELD_SEQ]!;
        if (seq <= lastLogged) continue;
        // The ring's numbers copied into the log's buffer: no event object, no text.
        cursor.k = k;
        log.appendBytes(ringRecordBound(ring, k), writeRingRecord, cursor);
        lastLogged = seq;
      }
      userRecords?.(ring);
    },
    onCommand: (command, note) => {
      log.flush();
      userCommand?.(command, note);
    },
  };
}

/** `recovery` as a restart record carries it, or undefined when it repaired nothing. */
function loggedRepair(recovery: LogRecovery | null): LoggedRepair | undefined {
  if (recovery === null || recovery.kind === "stale-lock") return undefined;
  return {
    kind: recovery.kind,
    segment: basename(recovery.segment),
    truncatedAt: recovery.truncatedAt,
    bytesDropped: recovery.bytesDropped,
    ...(recovery.reason === undefined ? {} : { reason: recovery.reason }),
    ...(recovery.setAside === undefined ? {} : { setAside: recovery.setAside.map((path) => basename(path)) }),
  };
}

/** On a continued log, writes (durably) the gap between the previous run and this engine. */
function noteRestart(
  engine: Engine,
  log: DecisionLogWriter,
  previous: PreviousRun | undefined,
  header: LogHeader,
): EngineLogRestart | undefined {
  // A log this open created has no earlier run, whatever files the directory held (an empty
  // first segment left by a crash before its header reached the disk).
  if (previous === undefined || log.created) return undefined;
  const liveGeneration = engine.generation;
  const repair = loggedRepair(log.recovery);
  const { lastGeneration, halt } = previous;
  const restart: EngineLogRestart = {
    lastDurableGeneration: lastGeneration,
    liveGeneration,
    gap: Math.max(0, lastGeneration - liveGeneration),
    ...(halt === undefined
      ? {}
      : {
          halted: restoredHaltNote(halt),
          haltedReasons: reasonsInSet(haltReasonBits(restoredReasonBits(halt.reasons))),
        }),
    ...(repair === undefined ? {} : { repair }),
  };
  // The new run's own header (config, seed, start time) goes with it: the log's first header
  // describes the first run only, and replay and explain rebuild this run's engine from this one.
  log.appendCommand({ kind: RESTART_LOG_KIND, time: engine.now(), ...restart, header });
  return restart;
}

/** How the log's last run ended, as a restart reads it. */
interface PreviousRun {
  /** The highest generation an audit event of the run carries (−1 when none). */
  readonly lastGeneration: number;
  /** Its last mode change, when that was into `halted`: the run ended halted. */
  readonly halt: RunHalt | undefined;
}

/** A mode change into `halted`: its SafeMode reasons, and its note (the operator's reason). */
interface RunHalt {
  readonly reasons: readonly string[];
  readonly note: string | undefined;
  /**
   * Whether the halt is kept only because a compaction removed the records that would show
   * whether it was reset: `note` then says so, and a restart restores it as it is.
   */
  readonly compacted?: boolean;
}

/** The reason of an operator's halt, and of a restored halt whose reasons were not recorded. */
const MANUAL_HALT: SafeModeReason = "manualHalt";

/** Whether `value` is an array of strings (a restart record's `haltedReasons`). */
function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** How the note of a halt restored at a restart begins. */
const RESTORED_HALT = "still halted after a restart";

/**
 * The note a restarted engine is halted with, naming why the previous run was: a halt that was
 * itself restored keeps its note, which names the first run's reasons (a crash loop must not nest
 * one note in another at each restart).
 */
function restoredHaltNote(halt: RunHalt): string {
  if (halt.compacted === true || halt.note?.startsWith(RESTORED_HALT) === true)
    return halt.note ?? RESTORED_HALT;
  const why = halt.note === undefined || halt.note.trim() === "" ? "" : `: ${halt.note}`;
  return `${RESTORED_HALT} (the previous run ended halted, reasons ${halt.reasons.join(", ")}${why})`;
}

/** What the note of a halt kept across records a compaction removed says of them. */
const COMPACTED_HALT = "kept: a compaction removed the records that would show whether it was reset";

/**
 * A halt in force where a compaction removed records of its run (after the restart record that
 * restored it, say): they may have held the operator's reset, or not. Halting is the safe side, so
 * the halt is kept, with a note that says why and how to end it (a note that says so already is
 * kept as it is).
 */
function compactedHalt(halt: RunHalt): RunHalt {
  const note = halt.note ?? RESTORED_HALT;
  if (note.includes(COMPACTED_HALT)) return { ...halt, note, compacted: true };
  return {
    ...halt,
    note: `${RESTORED_HALT} (${COMPACTED_HALT}; an acknowledged resetSafeMode ends it; the previous run was halted, reasons ${halt.reasons.join(", ")}: ${note})`,
    compacted: true,
  };
}

/**
 * How the log's last run ended: the records after its last `restart` record, since each run
 * numbers its generations from 0 and starts in mode normal. Read once the writer has opened the
 * log, so that a part its recovery set aside is left out. Read from the end, a segment at a time,
 * until the run's highest generation and its last mode change are known (generations only grow
 * within a run; a run without a mode change ended as it started): back to the run's last mode
 * change or its start, at most the whole log for a first run that never changed mode (opening the
 * log has verified it whole already).
 */
function previousRun(dir: string): PreviousRun {
  const found: Partial<Mutable<PreviousRun>> = {};
  return answerFromLogEnd(dir, () => new PreviousRunQuestion(found)) ?? runFrom(found);
}

/** {@link previousRun}, read asynchronously and in slices. */
async function previousRunAsync(dir: string): Promise<PreviousRun> {
  const found: Partial<Mutable<PreviousRun>> = {};
  return (await answerFromLogEndAsync(dir, () => new PreviousRunQuestion(found))) ?? runFrom(found);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What the segments read so far told (a log whose first run never changed mode: normal). */
function runFrom(found: Partial<Mutable<PreviousRun>>): PreviousRun {
  return { lastGeneration: found.lastGeneration ?? -1, halt: found.halt };
}

/**
 * One segment's part of {@link previousRun}: `found` holds what later segments told already, and
 * what this one tells is added to it for the segments before.
 *
 * @remarks
 * A halt is read from what is durable first: a `halt` command is written and made durable before
 * it takes effect, and a restart's record says when it restored one, while the mode change that
 * follows reaches the log only at the next drain, which a crash may not let happen. A reset
 * command ends the halt, unless the command was refused. A compaction may remove records of the
 * run while it was halted (a halt its restart record restored, or a later one): the records removed
 * (its seqs jump) may have held a reset or not. The halt is then kept (halting is the safe side),
 * with a note saying so, unless a record left after them says otherwise (a reset, a mode change).
 */
class PreviousRunQuestion implements SegmentQuestion<PreviousRun> {
  private highest = -1;
  private generationSeen = false;
  private halt: RunHalt | undefined;
  /** The halt a reset command ended, restored if the command turns out refused. */
  private haltBeforeReset: RunHalt | undefined;
  private modeSeen = false;
  /** The seq of the record taken last (a segment header repeats it; a jump means records removed). */
  private lastSeq: number | undefined;

  constructor(private readonly found: Partial<Mutable<PreviousRun>>) {}

  take(record: LogEntry["record"]): void {
    const removed = this.lastSeq !== undefined && record.seq > this.lastSeq + 1;
    this.lastSeq = record.seq;
    // Records removed while a halt was in force may have held its reset, or not: it is kept.
    if (removed && this.halt !== undefined && this.halt.compacted !== true)
      this.sawHalt(compactedHalt(this.halt));
    if (record.kind === RESTART_LOG_KIND) {
      this.highest = -1;
      this.generationSeen = true;
      const { halted, haltedReasons } = record as { halted?: unknown; haltedReasons?: unknown };
      // A restart record before restored halts kept their reasons restored an operator's halt.
      const reasons = isStringArray(haltedReasons) ? haltedReasons : [MANUAL_HALT];
      this.sawHalt(typeof halted === "string" ? { reasons, note: halted } : undefined);
      return;
    }
    if (record.kind === RING_RECORD_KIND) {
      const raw = record as unknown as RawRingRecord;
      const { slots, at } = raw;
      this.sawGeneration(slots[at + FIELD_GENERATION]);
      const type = slots[at + FIELD_TYPE]! % VECTOR_LENGTH_UNIT;
      if (type === AuditRecordType.ModeChanged)
        this.sawMode(
          decodeSafeMode(slots[at + FIELD_PARAM]!),
          decodeSafeModeReasons(slots[at + FIELD_A]!),
          raw.note,
        );
      else if (type === AuditRecordType.Command) {
        const restores = slots[at + FIELD_A]!;
        this.sawCommand(
          controlCommandName(slots[at + FIELD_CODE]!),
          raw.note,
          restores === 0 ? undefined : decodeSafeModeReasons(restores),
        );
      } else if (type === AuditRecordType.CommandRefused)
        this.sawRefused(controlCommandName(slots[at + FIELD_CODE]!));
      return;
    }
    const event = auditEventOf(record);
    if (event === undefined) return;
    this.sawGeneration(event.generation);
    if (event.type === "mode.changed") this.sawMode(event.to, event.reasons, event.note);
    else if (event.type === "command") this.sawCommand(event.command, event.note, event.restores);
    else if (event.type === "command.refused") this.sawRefused(event.command);
  }

  answer(): PreviousRun | undefined {
    const found = this.found;
    if (found.lastGeneration === undefined && this.generationSeen) found.lastGeneration = this.highest;
    if (!("halt" in found) && this.modeSeen) found.halt = this.halt;
    return found.lastGeneration !== undefined && "halt" in found ? runFrom(found) : undefined;
  }

  private sawGeneration(generation: number | undefined): void {
    if (generation === undefined) return;
    this.generationSeen = true;
    if (generation > this.highest) this.highest = generation;
  }

  private sawMode(to: string, reasons: readonly string[], note: string | undefined): void {
    this.sawHalt(to === "halted" ? { reasons, note } : undefined);
  }

  private sawCommand(
    command: string,
    note: string | undefined,
    restores: readonly string[] | undefined,
  ): void {
    // A halt of a halted engine changes nothing: the halt in force keeps its reasons.
    if (command === controlCommandName(ControlCommand.Halt))
      this.sawHalt(this.halt ?? { reasons: restores ?? [MANUAL_HALT], note });
    else if (command === controlCommandName(ControlCommand.ResetSafeMode)) {
      this.haltBeforeReset = this.halt;
      this.sawHalt(undefined);
    }
  }

  private sawRefused(command: string): void {
    if (command === controlCommandName(ControlCommand.ResetSafeMode) && this.haltBeforeReset !== undefined)
      this.sawHalt(this.haltBeforeReset);
  }

  private sawHalt(halt: RunHalt | undefined): void {
    this.modeSeen = true;
    this.halt = halt;
  }
}

/**
 * Throws a LogError when the log in `dir` was not created here and its header is not an engine's
 * (a solver's log, say): an engine's restart record would make it unreadable to its owner.
 */
function refuseOtherLog(
  dir: string,
  log: { readonly header: Readonly<Record<string, unknown>>; readonly created: boolean },
): void {
  if (log.created || engineHeaderOf(log.header) !== undefined) return;
  const format = log.header.format;
  const expected = JSON.stringify(ENGINE_LOG_FORMAT);
  const found =
    format === undefined
      ? `its header has no format, not ${expected}`
      : format === ENGINE_LOG_FORMAT
        ? `its header has format ${expected} but no engine config`
        : `its header's format is ${JSON.stringify(format)}, not ${expected}`;
  throw new LogError(
    `cannot continue decision log ${dir} with an engine: it is not an engine log (${found})`,
  );
}
