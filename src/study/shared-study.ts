/**
 * A solver study shared by many workers in many processes through a Redis journal.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Redis } from "ioredis";
import { MAX_TIMER_MS } from "../../machines/timer-limit.js";
import { errorMessage, UsageError } from "../errors.js";
import { withinMs } from "../runtime/within-ms.js";
import { shownValue } from "../shown-value.js";
import { askMax } from "../solver/ask-max.js";
import type { ResolvedSolverConfig, SolverConfig } from "../solver/config.js";
import { failCancelled, failureReason, recordedFailureReason } from "../solver/failure-reason.js";
import {
  type BestPoint,
  createSolver,
  type FailOptions,
  type IntermediateValue,
  reportIfNew,
  reportsUndo,
  restoreSolver,
  type Solver,
  type SolverArtifact,
  type Told,
  type Trial,
  type TrialResult,
  type TrialStatus,
  withoutPrunedFalse,
} from "../solver/solver.js";
import { otherSolverRules, SOLVER_RULES } from "../solver/solver-rules.js";
import type { BoundsInput, ParamShape, ParamsOf } from "../space/params.js";
import { unknownOptionKeys, unknownOptionsText } from "../unknown-options.js";
import { studyConfigDifferences, studyConfigKey } from "./config-key.js";
import {
  type BeatConnection,
  beatKeyLifeMs,
  connectionOf,
  GRACE_BEATS,
  Heartbeat,
  MAX_HEARTBEAT_MS,
  MIN_HEARTBEAT_MS,
} from "./heartbeat.js";
import {
  beatKey,
  JOURNAL_VERSION,
  type JournalEntry,
  JournalError,
  journalKey,
  RedisJournal,
} from "./journal.js";
import { SETTLED_LATE, type SettledLate } from "./lost-appends.js";
import { REPORT_STEPS, type ReportsSteps, type StepReports, type StepsOutcome } from "./report-steps.js";
import { HIDDEN_URL, withoutPassword } from "./without-password.js";

/** The keys of {@link SharedStudyOptions}: any other is a misspelling, refused by name. */
const SHARED_STUDY_OPTION_KEYS = [
  "redis",
  "study",
  "worker",
  "timeoutMs",
  "create",
  "heartbeatMs",
] as const satisfies readonly (keyof SharedStudyOptions)[];

/** The keys of {@link loadSharedStudy}'s options (`create` is implied: false). */
const LOAD_OPTION_KEYS = [
  "redis",
  "study",
  "worker",
  "timeoutMs",
  "heartbeatMs",
] as const satisfies readonly (keyof SharedStudyOptions)[];

/** Whether `value` looks like an ioredis client (what a study's journal calls on it). */
function isRedisClient(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { eval?: unknown }).eval === "function" &&
    typeof (value as { lrange?: unknown }).lrange === "function"
  );
}

/** Where a shared study lives. */
export interface SharedStudyOptions {
  /** A Redis URL (`redis://host:port/db`) or a connected ioredis client (left open by `close`). */
  readonly redis: string | Redis;
  /** The study's name: workers that give the same name share the study. */
  readonly study: string;
  /** This worker's name in the journal (default `<hostname>:<pid>`). */
  readonly worker?: string;
  /**
   * With a URL: how long to wait for Redis to connect and to answer each command before the
   * operation rejects, in ms (default 5000; at most 2147483647, the longest timer Node keeps;
   * `Infinity` for no timeout, ioredis's own connect timeout aside). Without it, a frozen or
   * unreachable Redis would hold every call forever. A client you pass keeps its own settings
   * (ioredis `commandTimeout`).
   */
  readonly timeoutMs?: number;
  /**
   * Whether to create the study when Redis holds no journal under its name (default true). With
   * false, a missing study is refused with a `UsageError` and nothing is written: for tools that
   * must only join a study some worker began (a misspelt name would otherwise begin a new one).
   */
  readonly create?: boolean;
  /**
   * For when a worker may die holding trials: beat every `heartbeatMs` ms from a thread of this
   * handle's own, from its first ask until `close` (default 0: no heartbeat; else a whole number
   * from 100 to 71582788; seconds suit most fleets). Each ask of this handle records the beat in
   * the journal. Once the process is gone (killed, out of memory, its machine lost) or cut off
   * from Redis, any worker's {@link SharedStudy.failStaleTrials} marks the trials it still holds
   * failed, three intervals or more after the last beat it saw; `runSharedStudy` calls it while it
   * waits.
   *
   * @remarks
   * The thread beats while the process lives, so a synchronous objective that holds the event
   * loop for an hour is not judged dead. It opens a second connection: from the URL, or from the
   * options of the client you passed (its functions, such as `retryStrategy`, left out); the first
   * ask checks that both reach the same database. It waits for the first beat, and rejects if none
   * reached Redis within `timeoutMs` (5 s on a client you passed) of the thread's start, which on
   * a busy host may itself take a while and is not counted.
   */
  readonly heartbeatMs?: number;
}

/**
 * How long close() waits, on a caller's client, for operations under way, then for reserved
 * trials to be released (its own client has timeoutMs).
 */
const RELEASE_DEADLINE_MS = 5000;

/** Why a trial this worker reserved but never handed out is failed at close. */
const RESERVED_AT_CLOSE = "reserved by a worker whose ask reply was lost; released at close";

/** Default of {@link SharedStudyOptions.timeoutMs}. */
const DEFAULT_TIMEOUT_MS = 5000;

/** How long a connection this handle opened waits, once closed, for Redis to close its side. */
const DISCONNECT_MS = 200;

/** The message of the error ioredis rejects a command with after `commandTimeout`. */
const COMMAND_TIMED_OUT = "Command timed out";

/** A worker holding pending trials of a shared study (see {@link SharedStudy.holders}). */
export interface PendingHolder {
  /** Its name, as {@link SharedStudy.heldBy} gives it. */
  readonly worker: string;
  /** The pending trials it holds, in id order. */
  readonly trials: readonly number[];
  /**
   * Its handle's heartbeat, or `null` when its asks recorded none (`heartbeatMs` 0, `arqon ask`).
   * `lastBeatMsAgo` is how long ago its last beat landed, by Redis's clock (so the clocks of the
   * machines do not matter); `null` when Redis holds no beat of it: its handle closed, or it has
   * not beaten for thirty intervals.
   */
  readonly heartbeat: { readonly everyMs: number; readonly lastBeatMsAgo: number | null } | null;
}

/**
 * One worker's handle on a shared study: ask, evaluate, tell, as with a `Solver`, while other
 * workers do the same.
 *
 * @remarks
 * Why it is asynchronous when `createSolver` is not: every operation first reads what the other
 * workers appended to the journal, replays it on this worker's solver, applies the operation, and
 * appends it to the journal only if nobody appended in between (an atomic Lua script). If someone
 * did, the operation is undone and tried again on the newer state. So the journal is one total
 * order that every worker replays to the same deterministic solver state: no trial is handed out
 * twice and the budget is never exceeded, whatever the number of workers.
 *
 * `asked`, `told`, `best()` and `pendingTrials()` describe the study as of this worker's latest
 * operation or {@link SharedStudy.refresh}: only what the journal holds, never an operation whose
 * append is still in flight, failed or lost to another worker.
 *
 * A journal deleted or re-created under the same name since the handle read it is not this
 * handle's study any more: every later operation rejects with a `JournalError` naming the study.
 */
export interface SharedStudy<P extends ParamShape = string> {
  /** The study's name. */
  readonly name: string;
  /**
   * Whether this handle began the study (it wrote the journal's first entry) rather than joined
   * one that existed: a worker that meant to join sees a misspelt name here.
   */
  readonly created: boolean;
  /**
   * The study's solver configuration: the one its first worker created it with, its budget as
   * grown since ({@link SharedStudy.growBudget}), as of this worker's latest read.
   */
  readonly config: ResolvedSolverConfig;
  /** Trials handed out to all workers so far. */
  readonly asked: number;
  /** Results told by all workers so far. */
  readonly told: number;
  /**
   * Up to `max` (default 1) new trials, reserved for this worker; `[]` when none can be proposed
   * until other workers tell pending results (ask again later); `null` when the budget is spent.
   */
  ask(options?: { readonly max?: number }): Promise<Trial<P>[] | null>;
  /** Records results; refused with a `UsageError` (nothing recorded) as `Solver.tell` refuses them. */
  tell(results: TrialResult | Told<P> | readonly Told<P>[]): Promise<void>;
  /** Marks a trial as failed (it stays counted against the budget). */
  fail(id: number, reason?: string, options?: FailOptions): Promise<void>;
  /**
   * Records an intermediate value of a pending trial, as `Solver.report` does (`step` a whole
   * number after the trial's previous one; refused with a `UsageError`, nothing recorded,
   * otherwise), and resolves to whether the study's pruner advises stopping the trial: then stop
   * its evaluation and `tell({ id, pruned: true })`. Without a pruner it is always false, and
   * nothing is sent to Redis (nothing would read the values; `intermediateValues` stays empty).
   *
   * @remarks
   * Every worker's pruner judges the reports in journal order, against the trials completed before
   * each one, so all workers reach the same verdict on every trial. A report whose append failed
   * (a lost reply) although Redis wrote it is answered when this handle tries it again, without a
   * second entry. An arqon from before shared-study reports stops at a report entry with a
   * `JournalError`: every worker of a study that reports must know them.
   */
  report(id: number, step: number, value: number): Promise<boolean>;
  /**
   * Whether the pruner has advised stopping trial `id` (asked by any worker), as of this worker's
   * latest operation or {@link SharedStudy.refresh}; once true, it stays true.
   */
  shouldPrune(id: number): boolean;
  /** The intermediate values trial `id` reported (by any worker), in step order, as of the same read. */
  intermediateValues(id: number): IntermediateValue[];
  /** Where trial `id` (asked by any worker) stands, as of the same read. */
  trialStatus(id: number): TrialStatus;
  /**
   * The worker holding pending trial `id` (the name its ask gave, `<hostname>:<pid>` by default),
   * as of the same read; `undefined` when the trial is not pending.
   */
  heldBy(id: number): string | undefined;
  /**
   * The workers holding pending trials, as of the same read, each with its heartbeat as Redis sees
   * it now (one round trip): who to look at when trials stay pending, and whether its process still
   * beats. Workers are listed in the order of the first trial each holds.
   */
  holders(): Promise<PendingHolder[]>;
  /** The best point of the study so far. */
  best(): BestPoint<P> | null;
  /** Asked trials of every worker still waiting for a result. */
  pendingTrials(): Trial<P>[];
  /** Reads what other workers appended. */
  refresh(): Promise<void>;
  /**
   * Grows the study's budget to `budget` trials, for every worker (`Solver.extend`, written to the
   * journal, which each worker replays at its next operation); nothing when the study has that
   * many already. A total rather than an increase, as a shared resource needs: a call retried
   * after a lost reply, or several workers asking for the same total, grow the study once. Resolves
   * to the study's budget. Refused with a `UsageError`, nothing written, when `budget` is not a
   * whole number or `Solver.extend` refuses the growth. Opening the study with a larger budget in
   * the config does the same. Workers of an arqon from before it stop at the entry with a
   * `JournalError`.
   */
  growBudget(budget: number): Promise<number>;
  /**
   * Marks failed (counted against the budget, as Optuna's heartbeat does) the pending trials of
   * workers whose heartbeat stopped (see {@link SharedStudyOptions.heartbeatMs}), and resolves to
   * their ids. Each beat writes a new value, so a worker is judged once two calls, three beat
   * intervals or more apart, read the same value of its beat (or none), on one connection (a
   * handle that lost Redis in between, as in a Redis restart, starts over; a read that took an
   * interval or more judges nothing): a handle judges only when it calls this now and again. Trials of workers without a heartbeat are never judged, nor
   * this handle's own. Each failure is a journal entry, so a trial told meanwhile stays told; a
   * result its worker tells afterwards is refused.
   */
  failStaleTrials(): Promise<number[]>;
  /**
   * Releases this worker's solver and its Redis connection (when it opened it). The study stays.
   * Operations already under way finish first; later calls on this handle reject with a
   * `UsageError`. Trials an ask of this handle reserved in the journal but never handed out (its
   * reply was lost) are then marked failed and cancelled, best effort: only on a ready connection,
   * and for at most `timeoutMs` (5 s on a client you passed). On a client you passed, the wait for
   * operations under way also lasts at most 5 s: one whose reply has not come by then (lost, on a
   * client without `commandTimeout`) is abandoned, rejecting with a `UsageError` when Redis answers
   * and appending nothing more, and no trial is released, since what it sent may still land.
   * Never rejects.
   */
  close(): Promise<void>;
}

/**
 * Opens (creating it if needed) the study `options.study` in Redis with this solver `config`.
 *
 * @remarks
 * The first worker writes `config` as the journal's first entry; later workers must pass the same
 * configuration (compared as JSON, `inspect` left out) or the call fails with a `UsageError`
 * naming the study and the first settings that differ. The budget alone may be larger: up to
 * the study's (grown, {@link SharedStudy.growBudget}) budget it joins as it is, a larger one grows
 * the study to it. Local solvers (`createSolver`,
 * `minimize`) stay the default; a shared study is for many processes, on one machine or many,
 * that share one budget.
 *
 * @example
 * ```ts
 * const study = await openSharedStudy({ seed: 1, budget: 200, bounds }, { redis: "redis://127.0.0.1:6379", study: "cache" });
 * await runSharedStudy(study, (params) => evaluate(params));
 * await study.close();
 * ```
 */
export async function openSharedStudy<const B extends BoundsInput>(
  config: SolverConfig<B>,
  options: SharedStudyOptions,
): Promise<SharedStudy<ParamsOf<B>>> {
  checkStudyOptions("openSharedStudy", options, SHARED_STUDY_OPTION_KEYS);
  if (options.create !== undefined && typeof options.create !== "boolean")
    throw new UsageError(`create: must be true or false, got ${shownValue(options.create)}`);
  const { inspect: _inspect, ...stored } = config;
  // Validate the configuration before touching Redis (throws a ConfigError naming each problem).
  createSolver(config).stop();
  // Typed by the config's parameters, as createSolver's solver is: the study checks every name
  // and value it is told against the validated bounds.
  const study = await connectStudy(JSON.parse(JSON.stringify(stored)) as SolverConfig, options);
  return study as unknown as SharedStudy<ParamsOf<B>>;
}

/**
 * Joins the existing study `options.study` with the configuration it was created with, as
 * Optuna's `load_study` does: for tools that inspect or feed a study without its config file.
 * A missing study is refused with a `UsageError`, and nothing is written.
 */
export async function loadSharedStudy(options: Omit<SharedStudyOptions, "create">): Promise<SharedStudy> {
  checkStudyOptions("loadSharedStudy", options, LOAD_OPTION_KEYS);
  return connectStudy(undefined, { ...options, create: false });
}

/** Refuses options that are not an object, hold a key `caller` does not take, or name no valid study. */
function checkStudyOptions(
  caller: string,
  options: SharedStudyOptions,
  keys: readonly (keyof SharedStudyOptions)[],
): void {
  if (typeof options !== "object" || options === null)
    throw new UsageError(`${caller}: expected { redis, study }, got ${shownValue(options)}`);
  const unknown = unknownOptionKeys(options, keys);
  if (unknown.length > 0) throw new UsageError(`${caller}: ${unknownOptionsText(unknown, keys)}`);
  if (options.study === undefined) throw new UsageError("study: required (the study's name)");
  if (typeof options.study !== "string" || !/^[A-Za-z0-9_.:-]{1,200}$/.test(options.study))
    throw new UsageError(
      `study: must be 1 to 200 characters among letters, digits and _ . : -, got ${shownValue(options.study)}`,
    );
}

/**
 * Connects to Redis and opens the study: with `config`, creating it unless `options.create` is
 * false, and checking an existing one against it; without, joining the existing one under its own.
 */
async function connectStudy(
  config: SolverConfig | undefined,
  options: SharedStudyOptions,
): Promise<SharedStudy> {
  const given: unknown = options.redis;
  // A URL of another scheme (http://…) was read by ioredis as a socket path ("ENOENT //host").
  // The forms ioredis reads besides redis:// and rediss:// (a socket path, unix://, host:port)
  // are passed on as before.
  const otherScheme =
    typeof given === "string" &&
    /^[a-z][a-z0-9+.-]*:\/\//i.test(given) &&
    !/^(rediss?|unix):\/\//i.test(given);
  if (typeof given === "string" ? given === "" || otherScheme : !isRedisClient(given))
    throw new UsageError(
      `redis: must be a Redis URL (redis://, rediss://, a socket path) or an ioredis client, got ${
        typeof given === "string" ? JSON.stringify(withoutPassword(given)) : shownValue(given)
      }`,
    );
  if (options.worker !== undefined && (typeof options.worker !== "string" || options.worker === ""))
    throw new UsageError(`worker: must be a non-empty string, got ${shownValue(options.worker)}`);
  const url = typeof options.redis === "string" ? options.redis : undefined;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (
    !(typeof timeoutMs === "number" && timeoutMs > 0 && (timeoutMs <= MAX_TIMER_MS || timeoutMs === Infinity))
  )
    throw new UsageError(
      `timeoutMs: must be a number > 0 and at most ${MAX_TIMER_MS} (the longest timer Node keeps), ` +
        `or Infinity for no timeout, got ${String(timeoutMs)}`,
    );
  const heartbeatMs = options.heartbeatMs ?? 0;
  if (
    !(
      heartbeatMs === 0 ||
      (Number.isSafeInteger(heartbeatMs) &&
        heartbeatMs >= MIN_HEARTBEAT_MS &&
        heartbeatMs <= MAX_HEARTBEAT_MS)
    )
  )
    throw new UsageError(
      `heartbeatMs: must be 0 (no heartbeat) or a whole number of ms in [${MIN_HEARTBEAT_MS}, ${MAX_HEARTBEAT_MS}], got ${shownValue(options.heartbeatMs)}`,
    );
  if (url === undefined && options.timeoutMs !== undefined)
    throw new UsageError(
      "timeoutMs: applies to a connection opened from a URL; set commandTimeout on the ioredis client you pass",
    );
  const redis =
    url === undefined
      ? (options.redis as Redis)
      : new Redis(url, {
          maxRetriesPerRequest: 3,
          // How long a closed connection waits for Redis to close its side before it is cut: a
          // frozen Redis never does, and ioredis's 2 s kept a process that gave up on it alive.
          disconnectTimeout: DISCONNECT_MS,
          ...(timeoutMs !== Infinity && { commandTimeout: timeoutMs, connectTimeout: timeoutMs }),
        });
  // A client of our own reports connection failures as events; without a listener ioredis prints
  // each with a stack trace, a dozen per Redis restart. The calls that fail reject on their own;
  // the last cause is kept to say why the study could not open, and later why a call failed.
  let connectionError: Error | undefined;
  const keepError = (error: Error) => {
    connectionError = error;
  };
  if (url !== undefined) redis.on("error", keepError);
  try {
    const journal = new RedisJournal(redis, options.study);
    const worker = options.worker ?? `${hostname()}:${process.pid}`;
    const own =
      url === undefined
        ? undefined
        : {
            url: withoutPassword(url),
            timeoutMs,
            lastConnectionError: () =>
              connectionError === undefined ? undefined : shownCause(connectionError.message, url),
          };
    const beating =
      heartbeatMs === 0
        ? undefined
        : {
            connection: url ?? connectionOf(redis),
            beatMs: heartbeatMs,
            timeoutMs: url === undefined ? RELEASE_DEADLINE_MS : timeoutMs,
          };
    const study = new SharedStudyImpl(options.study, journal, worker, redis, own, beating);
    await study.open(config, options.create ?? true);
    return study;
  } catch (error) {
    if (url === undefined) throw error;
    redis.disconnect();
    if (error instanceof UsageError || error instanceof JournalError) throw error;
    // Another program's key under the study's name: say which key, not only Redis's reply.
    if (error instanceof Error && error.message.startsWith("WRONGTYPE"))
      throw new UsageError(
        `study ${options.study}: the key ${journalKey(options.study)} in Redis at ${withoutPassword(url)} holds another kind of value, not a study journal (a list); choose another study name or remove the key`,
        { cause: error },
      );
    const cause =
      connectionError === undefined
        ? isTimeout(error)
          ? `no reply within ${timeoutMs} ms`
          : undefined
        : shownCause(connectionError.message, url);
    if (cause === undefined) throw error;
    throw new Error(`cannot reach Redis at ${withoutPassword(url)}: ${cause}`, { cause: error });
  }
}

/**
 * A connection error's message as it may be shown for `url`. A URL hidden whole (it may hold a
 * password where no URL parser sees one) must not show up in ioredis's message either, which can
 * name the host or socket path it read from it; a server's own answer (WRONGPASS) names none of
 * it and is kept.
 */
function shownCause(message: string, url: string): string {
  return withoutPassword(url) === HIDDEN_URL && showsPartOf(message, url)
    ? "it is not a redis:// or rediss:// URL, and ioredis could not connect where it read one"
    : message;
}

/** Whether `text` holds any part of `url` between its separators (three characters or more). */
function showsPartOf(text: string, url: string): boolean {
  return url.split(/[@:/?#&=]+/).some((part) => part.length >= 3 && text.includes(part));
}

/**
 * A connection this handle opened: where to (its password hidden), its command timeout, and the
 * message of its last error event as it may be shown.
 */
interface OwnConnection {
  readonly url: string;
  readonly timeoutMs: number;
  readonly lastConnectionError: () => string | undefined;
}

/** How a handle with a heartbeat beats: where its thread connects, how often, how long to start. */
interface Beating {
  readonly connection: BeatConnection;
  readonly beatMs: number;
  readonly timeoutMs: number;
}

/** Who asked a pending trial, and the heartbeat its ask entry recorded (if any). */
interface TrialHolder {
  readonly worker: string;
  readonly beat?: { readonly id: string; readonly ms: number };
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === COMMAND_TIMED_OUT;
}

class SharedStudyImpl implements SharedStudy, SettledLate, ReportsSteps {
  readonly name: string;
  created = false;
  private readonly journal: RedisJournal;
  private readonly worker: string;
  private readonly redis: Redis;
  /** The connection this handle opened (closed by `close`), or undefined for a caller's client. */
  private readonly own: OwnConnection | undefined;
  private solver: Solver | undefined;
  /** Journal entries replayed on {@link solver}. */
  private position = 0;
  /** Operations run one at a time per worker (each reads, then appends at its position). */
  private queue: Promise<unknown> = Promise.resolve();
  /** Set by {@link close}: later operations are refused. */
  private closed = false;
  private closing: Promise<void> | undefined;
  /**
   * Set when close() stopped waiting for an operation under way (a reply lost on a caller's
   * client), and when it ends: an operation still waiting for Redis then touches nothing when its
   * reply comes, and rejects ({@link abandonedError}).
   */
  private abandoned = false;
  /**
   * Set when an entry could not be replayed: the live solver may hold part of it, so this handle
   * is out of step with the journal and every later operation rejects with this error.
   */
  private outOfStep: JournalError | undefined;
  /**
   * While an append is in flight: how to go back to the solver's state before the operation (what
   * the journal holds), and a solver in that state once a reader needed it.
   */
  private unconfirmed: { readonly before: Checkpoint; view?: Solver } | undefined;
  /**
   * This handle's append whose outcome it has not seen yet (the append threw, or the read after a
   * refused one failed): Redis may have written it all the same, at position `at` and nowhere else.
   */
  private inFlight:
    | {
        readonly at: number;
        readonly token: string;
        readonly op: string;
        /** A report entry's pairs as its caller gave them (retries of its last report included). */
        readonly sent?: StepReports;
      }
    | undefined;
  /** Trials of an ask of ours found in the journal late: reserved for this worker, not yet handed out. */
  private recovered: readonly number[] = [];
  /** Trials a tell or fail of ours settled, found in the journal late (its reply was lost). */
  private readonly settledLate = new Set<number>();
  /**
   * Reports of ours found in the journal late (their reply was lost), by trial: the pairs they
   * recorded, in order, until the retry of the call that sent them finds them.
   */
  private readonly lostReports = new Map<number, StepReports>();
  /** This handle's heartbeat settings (undefined: it does not beat), and its beat's name. */
  private readonly beating: Beating | undefined;
  private readonly beatId = randomUUID();
  /** The heartbeat, once the first ask started it. */
  private heartbeat: Promise<Heartbeat> | undefined;
  /** Who holds each pending trial, by id (told and failed ones are dropped). */
  private readonly holderOf = new Map<number, TrialHolder>();
  /**
   * What {@link failStaleTrials} last read of each beat it looks at (the key's value, null when
   * missing), when it first read that (performance.now, after the read), and on which connection.
   */
  private readonly lastSeen = new Map<
    string,
    { readonly value: string | null; readonly at: number; readonly connection: object }
  >();

  constructor(
    name: string,
    journal: RedisJournal,
    worker: string,
    redis: Redis,
    own: OwnConnection | undefined,
    beating: Beating | undefined,
  ) {
    this.name = name;
    this.journal = journal;
    this.worker = worker;
    this.redis = redis;
    this.own = own;
    this.beating = beating;
  }

  get config(): ResolvedSolverConfig {
    // The committed view: an extend whose append is in flight has not grown the study yet.
    return this.committed.config;
  }

  get asked(): number {
    return this.committed.asked;
  }

  get told(): number {
    return this.committed.told;
  }

  best(): BestPoint | null {
    return this.committed.best();
  }

  pendingTrials(): Trial[] {
    return this.committed.pendingTrials();
  }

  shouldPrune(id: number): boolean {
    return this.readable(id, "shouldPrune").shouldPrune(id);
  }

  intermediateValues(id: number): IntermediateValue[] {
    return this.readable(id, "intermediateValues").intermediateValues(id);
  }

  trialStatus(id: number): TrialStatus {
    return this.readable(id, "trialStatus").trialStatus(id);
  }

  heldBy(id: number): string | undefined {
    // Read from the committed view, as the other readers are: an ask in flight holds nothing yet.
    return this.readable(id, "heldBy").trialStatus(id) === "pending"
      ? this.holderOf.get(id)?.worker
      : undefined;
  }

  holders(): Promise<PendingHolder[]> {
    return this.serialise(async () => {
      // Grouped by handle (its beat), not by name: two handles of one process share a name.
      const groups = new Map<string, { worker: string; trials: number[]; beat?: TrialHolder["beat"] }>();
      for (const { id } of this.committed.pendingTrials()) {
        const holder = this.holderOf.get(id);
        if (holder === undefined) continue;
        const group = holder.beat?.id ?? `worker:${holder.worker}`;
        const held = groups.get(group) ?? { worker: holder.worker, trials: [], beat: holder.beat };
        held.trials.push(id);
        groups.set(group, held);
      }
      const listed = [...groups.values()];
      const beating = listed.flatMap(({ beat }) => (beat === undefined ? [] : [beat]));
      const left = new Map<string, number>();
      if (beating.length > 0) {
        const pipeline = this.redis.pipeline();
        for (const { id } of beating) pipeline.pttl(beatKey(this.name, id));
        const replies = (await pipeline.exec()) ?? [];
        if (this.abandoned) throw this.abandonedError();
        replies.forEach(([error, ms], index) => {
          if (error !== null) throw error;
          left.set(beating[index]!.id, ms as number);
        });
      }
      return listed.map(({ worker, trials, beat }) => {
        if (beat === undefined) return { worker, trials, heartbeat: null };
        // PTTL is -2 once the key is gone; each beat sets its life afresh.
        const ms = left.get(beat.id) ?? -2;
        const lastBeatMsAgo = ms < 0 ? null : Math.max(0, beatKeyLifeMs(beat.ms) - ms);
        return { worker, trials, heartbeat: { everyMs: beat.ms, lastBeatMsAgo } };
      });
    });
  }

  /**
   * The committed solver, once `id` is among the trials it knows of: a trial another worker asked
   * since this one last read the journal is not "never asked", it is not read yet.
   */
  private readable(id: number, method: string): Solver {
    const solver = this.committed;
    if (Number.isSafeInteger(id) && id > solver.asked)
      throw new UsageError(
        `${method}: trial ${id} was not asked as of this worker's last read of study ${this.name} ` +
          `(${solver.asked} asked); refresh() reads what the other workers did since`,
      );
    return solver;
  }

  /** Creates the study, or joins it after checking that the configurations agree. */
  async open(config: SolverConfig | undefined, create: boolean): Promise<void> {
    // The nonce tells this study from one re-created later under the same name and config.
    const created =
      create &&
      config !== undefined &&
      (await this.journal.appendAt(0, {
        op: "create",
        v: JOURNAL_VERSION,
        nonce: randomUUID(),
        rules: SOLVER_RULES,
        config,
      }));
    const [first, ...rest] = await this.journal.readFrom(0);
    if (first === undefined && !create)
      throw new UsageError(
        `study ${this.name}: does not exist (Redis holds no ${this.journal.key}): check its name, or begin it ` +
          "with its configuration first",
      );
    if (first?.op !== "create") throw new JournalError(0, "is not the study's create entry");
    // The journal holds trial ids, not points: under other rules this worker would pair the
    // others' results with points they never evaluated, so it is refused before it replays.
    const otherRules = otherSolverRules(first.rules);
    if (otherRules !== null)
      throw new UsageError(
        `study ${this.name}: was created ${otherRules}, and this arqon proposes by rules ${SOLVER_RULES}: ` +
          "every worker of a study must propose alike, so finish it with the arqon that began it, or start a new study",
      );
    const stored = first.config;
    // The budget alone may differ, upwards: the study's may have grown since it began
    // (growBudget), and a larger one grows it (below, once the journal is replayed). Compared at
    // the study's first budget, so that the probe it gives is compared too.
    if (config !== undefined && !created) {
      const atFirstBudget = { ...config, budget: stored.budget };
      if (studyConfigKey(stored) !== studyConfigKey(atFirstBudget))
        throw new UsageError(
          `study ${this.name}: exists with another solver configuration: ${studyConfigDifferences(stored, atFirstBudget).join("; ")}`,
        );
      if (config.budget < stored.budget)
        throw new UsageError(
          `study ${this.name}: budget: the study began with ${stored.budget} trials, this worker gives ${config.budget}; ` +
            "give the study's budget, or a larger one to grow it",
        );
    }
    this.created = created;
    this.solver = createSolver(stored);
    this.position = 1;
    // Replayed from this read: a long journal is not read twice.
    this.replayAll(rest);
    if (config !== undefined && config.budget > this.solver.config.budget)
      await this.growBudget(config.budget);
  }

  ask(options?: { readonly max?: number }): Promise<Trial[] | null> {
    let max: number;
    try {
      max = askMax(options) ?? 1;
    } catch (error) {
      return Promise.reject(error);
    }
    return this.serialise(async () => {
      // Beating before the journal says so: a judge must never find the key of an ask missing.
      const beat = await this.beat();
      return this.commit((solver) => {
        // An ask of ours that Redis wrote although its reply was lost reserved trials for this
        // worker: they are handed out now, or no worker would ever evaluate them.
        const held = new Set(this.recovered);
        const reserved = solver.pendingTrials().filter((t) => held.has(t.id));
        this.recovered = reserved.slice(max).map((t) => t.id);
        if (reserved.length > 0) return { result: reserved.slice(0, max) };
        const trials = solver.ask({ max });
        if (trials === null || trials.length === 0) return { result: trials };
        return {
          result: trials,
          entry: { op: "ask", worker: this.worker, max, ids: trials.map((t) => t.id), ...beat },
        };
      });
    });
  }

  /**
   * Starts this handle's heartbeat if it has one and it is not beating yet; resolves to what its
   * ask entries record (nothing without a heartbeat). A start that failed is tried again by the
   * next ask.
   */
  private async beat(): Promise<{ beat: string; beatMs: number } | Record<string, never>> {
    const beating = this.beating;
    if (beating === undefined) return {};
    // An ask that close() stopped waiting for: a thread started now would never be stopped.
    if (this.abandoned) throw this.abandonedError();
    // A thread that died of an error would leave this worker's trials to be judged: another one.
    if (this.heartbeat !== undefined && !(await this.heartbeat.catch(() => undefined))?.running)
      this.heartbeat = undefined;
    this.heartbeat ??= this.startHeartbeat(beating);
    try {
      await this.heartbeat;
    } catch (error) {
      this.heartbeat = undefined;
      throw error;
    }
    if (this.abandoned) throw this.abandonedError();
    return { beat: this.beatId, beatMs: beating.beatMs };
  }

  /**
   * Starts the thread, then checks on this handle's own connection that its first beat is where
   * the judges will look: a client moved to another database (SELECT) since it was passed, or
   * options the thread could not copy, would beat somewhere else, and every judge would find this
   * live worker dead.
   */
  private async startHeartbeat(beating: Beating): Promise<Heartbeat> {
    const key = beatKey(this.name, this.beatId);
    let heartbeat: Heartbeat;
    try {
      heartbeat = await Heartbeat.start(beating.connection, key, beating.beatMs, beating.timeoutMs);
    } catch (error) {
      throw new Error(`study ${this.name}: ${(error as Error).message}`, { cause: error });
    }
    // Bounded: a caller's client may have no command timeout, and nothing else would stop this
    // thread if the check never came back.
    let found: number | undefined;
    if (!this.abandoned) {
      found = await withinMs(this.redis.exists(key), beating.timeoutMs);
    }
    if (found === 1 && !this.abandoned) return heartbeat;
    await heartbeat.stop();
    if (this.abandoned) throw this.abandonedError();
    if (found === undefined)
      throw new Error(`study ${this.name}: no reply from Redis to the check of the heartbeat's first beat`);
    throw new UsageError(
      `study ${this.name}: the heartbeat's own connection does not reach the Redis database this handle uses ` +
        "(a client that ran SELECT after it was passed, or options a thread cannot copy): pass a URL, or a client on its first database",
    );
  }

  failStaleTrials(): Promise<number[]> {
    return this.serialise(async () => {
      await this.catchUp();
      const pending = new Set(this.live.pendingTrials().map((t) => t.id));
      const held = [...this.holderOf].flatMap(([id, { worker, beat }]) =>
        pending.has(id) && beat !== undefined && beat.id !== this.beatId
          ? [{ id, worker, beat: beat.id, beatMs: beat.ms }]
          : [],
      );
      const beats = [...new Set(held.map(({ beat }) => beat))];
      // Only the beats looked at now are remembered: one not looked at may change unseen.
      for (const beat of this.lastSeen.keys()) if (!beats.includes(beat)) this.lastSeen.delete(beat);
      if (held.length === 0) return [];
      // The socket the read went over: ioredis makes a new one at each reconnect, so another one
      // means this handle lost Redis in between (a restart, say), when no worker could beat, and
      // nothing read before counts.
      const connection: object = this.redis.stream;
      const before = performance.now();
      const values = await this.redis.mget(beats.map((beat) => beatKey(this.name, beat)));
      if (this.abandoned) throw this.abandonedError();
      const after = performance.now();
      const shortest = Math.min(...held.map(({ beatMs }) => beatMs));
      // A read that took a beat interval or more may have been served before a beat waiting in
      // Redis (a stall): it says nothing either way.
      if (this.redis.stream !== connection || after - before >= shortest) return [];
      const dead = new Set<string>();
      for (const [index, beat] of beats.entries()) {
        // Each beat writes a value no earlier one wrote, and a live worker beats at least once a
        // grace period: the same value (or none) read twice a grace period apart, the reads
        // bounded from inside, means no beat came in between, however long ago the first read was.
        const value = values[index] ?? null;
        const seen = this.lastSeen.get(beat);
        if (seen === undefined || seen.value !== value || seen.connection !== connection) {
          this.lastSeen.set(beat, { value, at: after, connection });
          continue;
        }
        const { beatMs } = held.find((h) => h.beat === beat)!;
        if (before - seen.at >= GRACE_BEATS * beatMs) dead.add(beat);
      }
      const failed: number[] = [];
      for (const { id, beat, beatMs, worker } of held) {
        if (!dead.has(beat)) continue;
        const reason = `no heartbeat from worker ${worker} for more than ${(GRACE_BEATS * beatMs) / 1000} s`;
        const entry = { op: "fail", worker: this.worker, id, reason } as const;
        const done = await this.commit((solver) => {
          // Told or failed since the read above: nothing to judge.
          if (solver.trialStatus(id) !== "pending") return { result: false };
          solver.fail(id, reason);
          return { result: true, entry };
        });
        if (done) failed.push(id);
      }
      for (const beat of dead) this.lastSeen.delete(beat);
      return failed;
    });
  }

  tell(results: TrialResult | Told | readonly Told[]): Promise<void> {
    const list: Told[] = (Array.isArray(results) ? (results as readonly Told[]) : [results as Told]).map(
      withoutPrunedFalse,
    );
    return this.serialise(() =>
      this.commit((solver) => {
        solver.tell(list);
        return { result: undefined, entry: { op: "tell", worker: this.worker, results: list } };
      }),
    );
  }

  fail(id: number, given?: string, options?: FailOptions): Promise<void> {
    // Checked before anything is appended: the journal holds what every worker's solver records.
    let reason: string;
    let cancelled: boolean;
    try {
      reason = failureReason(given);
      cancelled = failCancelled(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.serialise(() =>
      this.commit((solver) => {
        solver.fail(id, reason, { cancelled });
        const entry = { op: "fail", worker: this.worker, id, reason } as const;
        return { result: undefined, entry: cancelled ? { ...entry, cancelled } : entry };
      }),
    );
  }

  async report(id: number, step: number, value: number): Promise<boolean> {
    const { prune, refused } = await this[REPORT_STEPS](id, [[step, value]]);
    if (refused !== undefined) throw refused.error;
    return prune;
  }

  [REPORT_STEPS](id: number, given: StepReports): Promise<StepsOutcome> {
    if (given.length === 0) return Promise.reject(new UsageError("report: no report given"));
    // Without a pruner nothing would read the values: checked here, and not sent to Redis.
    if (this.live.config.pruner === undefined) {
      try {
        return Promise.resolve(this.unjudged(id, given));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    // The journal's JSON has no -0: the value every worker replays is the one this worker keeps.
    const reports = given.map(([step, value]) => [step, value === 0 ? 0 : value] as const);
    return this.serialise(async () => {
      /** Of this trial's reports found written after a lost reply, where these ones begin. */
      let overlap = -1;
      const outcome = await this.commit(
        (solver): { result: StepsOutcome; entry?: JournalEntry; sent?: StepReports } => {
          // Tried again after a lost reply that Redis wrote all the same: what it holds of these
          // reports is recorded already, and only the rest is appended.
          const lost = this.lostReports.get(id) ?? [];
          overlap = lost.findIndex(([step, value]) => step === reports[0]![0] && value === reports[0]![1]);
          const from = overlap >= 0 && startsWith(reports, lost.slice(overlap)) ? lost.length - overlap : 0;
          if (from === 0) overlap = -1;
          let refused: StepsOutcome["refused"];
          // The trial's last report given again (a retry, a line printed twice) records nothing.
          const recorded: (readonly [number, number])[] = [];
          for (let index = from; index < reports.length; index++) {
            const report = reports[index]!;
            try {
              if (reportIfNew(solver, id, report[0], report[1])) recorded.push(report);
            } catch (error) {
              if (!(error instanceof UsageError)) throw error;
              refused = { index, error };
              break;
            }
          }
          const accepted = refused?.index ?? reports.length;
          // Nothing accepted (the trial may be unknown): no entry.
          if (accepted === 0) return { result: { prune: false, ...(refused && { refused }) } };
          const prune = solver.shouldPrune(id);
          // Nothing new: no entry either.
          if (recorded.length === 0) return { result: { prune, ...(refused && { refused }) } };
          const entry: JournalEntry = {
            op: "report",
            worker: this.worker,
            id,
            reports: recorded,
            ...(prune && { prune }),
          };
          return {
            result: { prune, ...(refused && { refused }) },
            entry,
            sent: reports.slice(from, accepted),
          };
        },
        reportCheckpoint(id),
      );
      // The lost reports this call found are settled; earlier ones may still be tried again.
      if (overlap >= 0) {
        const rest = this.lostReports.get(id)!.slice(0, overlap);
        if (rest.length === 0) this.lostReports.delete(id);
        else this.lostReports.set(id, rest);
      }
      return outcome;
    });
  }

  /**
   * What reports to a study without a pruner give: the verdict false, after the checks that need
   * no journal (an open handle, a trial it knows to be pending, a whole step ≥ 0, a finite value).
   * The steps' order is not checked: nothing is recorded to check it against.
   */
  private unjudged(id: number, reports: StepReports): StepsOutcome {
    if (this.closed) throw new UsageError(`study ${this.name}: closed; open it again to go on`);
    const status = this.readable(id, "report").trialStatus(id);
    if (status !== "pending") throw new UsageError(`report: trial ${id} ${statusText(status)}`);
    for (const [index, [step, value]] of reports.entries()) {
      const problem = !(Number.isSafeInteger(step) && step >= 0)
        ? `step must be a whole number ≥ 0, got ${shownValue(step)}`
        : typeof value !== "number" || !Number.isFinite(value)
          ? `value must be a finite number, got ${shownValue(value)}`
          : undefined;
      if (problem !== undefined)
        return { prune: false, refused: { index, error: new UsageError(`report: ${problem}`) } };
    }
    return { prune: false };
  }

  refresh(): Promise<void> {
    return this.serialise(() => this.catchUp());
  }

  growBudget(budget: number): Promise<number> {
    if (typeof budget !== "number" || !Number.isSafeInteger(budget) || budget < 1)
      return Promise.reject(
        new UsageError(`growBudget: budget must be a whole number ≥ 1, got ${shownValue(budget)}`),
      );
    return this.serialise(() =>
      // Applied to the journal's latest state (commit reads it first, and again when another
      // worker appended meanwhile): a budget reached already, by anyone, writes nothing.
      this.commit((solver) => {
        const more = budget - solver.config.budget;
        if (more < 1) return { result: solver.config.budget };
        try {
          solver.extend(more);
        } catch (error) {
          throw new UsageError(`study ${this.name}: cannot grow to ${budget} trials: ${errorMessage(error)}`);
        }
        return { result: budget, entry: { op: "extend", worker: this.worker, budget } };
      }),
    );
  }

  close(): Promise<void> {
    // Every caller gets the first close's promise: a second quit() of the closed connection would
    // fall back to disconnect(), whose timer kept the process up for 2 s.
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    // Operations already queued finish; later ones are refused (serialise). On a connection of
    // our own each command has a timeout, so they do; on a caller's, one whose reply is lost
    // never would, and is abandoned after the bound.
    this.closed = true;
    const settled = this.queue.then(
      () => true,
      () => true,
    );
    const drained = this.own === undefined ? await withinMs(settled, RELEASE_DEADLINE_MS) : await settled;
    if (drained !== true) this.abandoned = true;
    // Best effort, and bounded: Redis may be why the trials were never handed out. Not after an
    // operation was abandoned: its append may yet land, and releasing would race it.
    const bound = this.own?.timeoutMs ?? RELEASE_DEADLINE_MS;
    if (!this.abandoned) {
      const release = this.releaseReserved();
      await (bound === Number.POSITIVE_INFINITY ? release.catch(() => undefined) : withinMs(release, bound));
    }
    // Whatever is still waiting for Redis now (an abandoned operation, or a release the bound cut
    // off) touches nothing when its reply comes: the handle is closed.
    this.abandoned = true;
    // Its trials told or released, this worker holds none; one it still holds is judged stale.
    // Bounded too: a start still waiting for Redis stops its own thread once it sees the handle
    // closed (startHeartbeat).
    if (this.heartbeat !== undefined)
      await withinMs(
        this.heartbeat.then((heartbeat) => heartbeat.stop()),
        RELEASE_DEADLINE_MS,
      );
    if (this.unconfirmed !== undefined) {
      // Reads after close use this view: made and stopped now, so no later read makes one that
      // nothing stops.
      this.committed.stop();
    }
    this.solver?.stop();
    if (this.own !== undefined) await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /**
   * At close: trials an ask of ours reserved in the journal but never handed out (its reply was
   * lost) would be pending for ever, and a Nelder–Mead study waits for them; they are marked
   * failed and cancelled, as an interrupted trial is. Best effort: Redis may be the reason.
   */
  private async releaseReserved(): Promise<void> {
    if (this.solver === undefined || (this.inFlight?.op !== "ask" && this.recovered.length === 0)) return;
    // Only on a working connection: close() must not wait out a caller's client reconnecting.
    if (this.redis.status !== "ready") return;
    await this.catchUp();
    const held = [...this.recovered];
    this.recovered = [];
    for (const id of held) {
      // Cut off by close()'s bound: nothing more goes to Redis.
      if (this.abandoned) return;
      const entry = {
        op: "fail",
        worker: this.worker,
        id,
        reason: RESERVED_AT_CLOSE,
        cancelled: true,
      } as const;
      await this.commit((solver) => {
        // Told or failed by another worker meanwhile (as the CLI's stall message advises): done.
        if (!solver.pendingTrials().some((t) => t.id === id)) return { result: undefined };
        solver.fail(id, RESERVED_AT_CLOSE, { cancelled: true });
        return { result: undefined, entry };
      }).catch(() => undefined);
    }
  }

  private get live(): Solver {
    if (this.solver === undefined) throw new UsageError(`study ${this.name}: not open`);
    return this.solver;
  }

  /**
   * The solver readers see: the live one, except while an append is in flight, when the live one
   * already holds an operation the journal may never get (a scrape then would count it, and the
   * next one, after a failed append, would count it no more).
   */
  private get committed(): Solver {
    const unconfirmed = this.unconfirmed;
    if (unconfirmed === undefined) return this.live;
    // Restored only when read: most appends finish before anyone looks.
    unconfirmed.view ??= solverBefore(unconfirmed.before, this.live);
    return unconfirmed.view;
  }

  /** Runs `operation` after the ones already queued on this handle. */
  private serialise<R>(operation: () => Promise<R>): Promise<R> {
    // A closed handle must not reserve a trial every worker would wait for: with the caller's own
    // client, still connected, it would.
    if (this.closed)
      return Promise.reject(new UsageError(`study ${this.name}: closed; open it again to go on`));
    const named = () => operation().catch((error: unknown) => Promise.reject(this.named(error)));
    const run = this.queue.then(named, named);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * ioredis's bare errors on a connection this handle opened, said as what failed: "Command timed
   * out" as the reply that did not come, and a command given up after its retries ("Reached the
   * max retries per request limit") as Redis that cannot be reached, with the connection's last
   * error (ECONNREFUSED, …).
   */
  private named(error: unknown): unknown {
    if (this.own === undefined || !(error instanceof Error)) return error;
    const { url, timeoutMs } = this.own;
    if (isTimeout(error))
      return new Error(`study ${this.name}: no reply from Redis at ${url} within ${timeoutMs} ms`, {
        cause: error,
      });
    if (error.name === "MaxRetriesPerRequestError") {
      const why = this.own.lastConnectionError() ?? error.message;
      return new Error(`study ${this.name}: cannot reach Redis at ${url}: ${why}`, { cause: error });
    }
    return error;
  }

  /**
   * Brings the solver up to date, applies `apply` to it and appends the entry it returns (if any)
   * at the next position. When another worker appended first, or when nothing is to be appended,
   * the solver is restored to its state before `apply` (an ask may move the solver's state even
   * when it returns no trial) and, in the first case, the whole thing is tried again. When the
   * append fails (Redis unreachable, a reply lost) the solver is restored too and the error thrown:
   * whether Redis wrote the entry is unknown, and the journal, read again by the next operation,
   * says which. Until the append succeeds, readers see the state before `apply` ({@link committed}).
   */
  private async commit<R>(
    apply: (solver: Solver) => { result: R; entry?: JournalEntry; sent?: StepReports },
    checkpoint: (solver: Solver) => Checkpoint = (solver) => solver.toJSON(),
  ): Promise<R> {
    for (;;) {
      await this.catchUp();
      const before = checkpoint(this.live);
      const { result, entry, sent } = apply(this.live); // throws (nothing changed) on a refused tell or fail
      if (entry === undefined) {
        this.restore(before);
        return result;
      }
      this.unconfirmed = { before };
      const at = this.position;
      const token = randomUUID();
      // Until its outcome is seen, the entry may be written (see inFlight and replayAll).
      this.inFlight = { at, token, op: entry.op, ...(sent && { sent }) };
      let appended: boolean;
      try {
        appended = await this.journal.appendAt(at, entry.op === "create" ? entry : { ...entry, token });
      } catch (error) {
        if (this.abandoned) throw this.abandonedError();
        this.settle(false);
        throw error;
      }
      // Closed while the append waited: its solver is stopped, and nothing more may be appended.
      if (this.abandoned) throw this.abandonedError();
      this.settle(appended);
      if (appended) {
        this.inFlight = undefined;
        this.position++;
        this.noteHolders(entry);
        return result;
      }
      // Someone appended at `at` first; it may have been this very entry, written before a reply
      // that was lost: then the replay just made is this operation, and the result stands (an
      // ask's replay handed out the same trials, or it would have thrown).
      // The replay cannot settle an older lost ask (catchUp read past it before this append), so
      // the trials still held stay held; an ask's own ids are its result, not held.
      const held = this.recovered;
      const entries = await this.journal.readFrom(at);
      if (this.abandoned) throw this.abandonedError();
      if (this.replayAll(entries)) {
        this.recovered = held;
        // This very report, found written: not one for a later retry to find.
        if (entry.op === "report") {
          const lost = this.lostReports.get(entry.id) ?? [];
          const rest = lost.slice(0, lost.length - (sent ?? entry.reports).length);
          if (rest.length === 0) this.lostReports.delete(entry.id);
          else this.lostReports.set(entry.id, rest);
        }
        return result;
      }
    }
  }

  /** Ends the in-flight append: keeps the live solver if it was written, else goes back to before. */
  private settle(appended: boolean): void {
    const { before, view } = this.unconfirmed!;
    this.unconfirmed = undefined;
    if (appended) view?.stop();
    else if (view !== undefined) this.replaceSolver(view);
    else this.restore(before);
  }

  /** Takes the live solver back to `before`: in place for an undo, else as a solver restored. */
  private restore(before: Checkpoint): void {
    if (typeof before === "function") before(this.live);
    else this.replaceSolver(restoreSolver(before));
  }

  private replaceSolver(solver: Solver): void {
    this.solver?.stop();
    this.solver = solver;
  }

  /** Replays the entries appended since the last read. */
  private async catchUp(): Promise<void> {
    if (this.outOfStep !== undefined) throw this.outOfStep;
    const entries = await this.journal.readFrom(this.position);
    if (this.abandoned) throw this.abandonedError();
    this.replayAll(entries);
  }

  /** What an operation that close() gave up waiting for rejects with once Redis answers it. */
  private abandonedError(): UsageError {
    return new UsageError(
      `study ${this.name}: closed while this operation waited for Redis; what it had sent may be in the journal, and it appends nothing more`,
    );
  }

  /** Replays `entries`, the ones from the handle's position on. */
  /**
   * Replays `entries`, the ones from the handle's position on. Returns whether one of them is the
   * in-flight append of this handle (whose trials, for an ask, are then kept in `recovered`).
   */
  private replayAll(entries: readonly JournalEntry[]): boolean {
    if (this.outOfStep !== undefined) throw this.outOfStep;
    let mine = false;
    for (const entry of entries) {
      const at = this.position;
      try {
        replay(this.live, entry, at);
      } catch (error) {
        // An ask may have moved the solver before its trials were found to differ: nothing later
        // can be trusted to match the journal, so this handle stops here (a new one reads it afresh).
        this.outOfStep = new JournalError(
          at,
          "could not be replayed, so this handle stopped there: open the study again once the journal is mended",
        );
        throw error;
      }
      this.position++;
      this.noteHolders(entry);
      const pending = this.inFlight;
      if (pending === undefined || pending.at !== at) continue;
      // The entry at its position settles it: written if it is this one, never if it is another.
      this.inFlight = undefined;
      if (entry.op === "create" || entry.token !== pending.token) continue;
      mine = true;
      if (entry.op === "ask") this.recovered = entry.ids;
      else if (entry.op === "tell") {
        for (const told of entry.results) if ("id" in told) this.settledLate.add(told.id);
      } else if (entry.op === "fail") this.settledLate.add(entry.id);
      else if (entry.op === "report")
        // As the call gave them: its retry gives them so again, retries of the last report included.
        this.lostReports.set(entry.id, [
          ...(this.lostReports.get(entry.id) ?? []),
          ...(pending.sent ?? entry.reports),
        ]);
    }
    return mine;
  }

  /** Keeps who asked each trial (and its heartbeat), and drops the trials a result settles. */
  private noteHolders(entry: JournalEntry): void {
    if (entry.op === "ask") {
      const { beat, beatMs, worker } = entry;
      // A malformed beat (another arqon's) is not judged: a wrong verdict would lose a result.
      const beating = typeof beat === "string" && typeof beatMs === "number" && beatMs > 0;
      const holder = beating ? { worker, beat: { id: beat, ms: beatMs } } : { worker };
      for (const id of entry.ids) this.holderOf.set(id, holder);
    } else if (entry.op === "tell") {
      for (const told of entry.results) if ("id" in told) this.holderOf.delete(told.id);
    } else if (entry.op === "fail") this.holderOf.delete(entry.id);
  }

  [SETTLED_LATE](id: number): boolean {
    return this.settledLate.has(id);
  }
}

/**
 * What an operation goes back to when its entry is not appended: the solver's artifact, or an
 * undo that takes the operation back in place (a report's: saving the whole solver for each report
 * cost more the longer the study ran).
 */
type Checkpoint = SolverArtifact | ((solver: Solver) => void);

/**
 * A report's checkpoint: its undo; nothing to undo when the trial is not pending, since the
 * solver refuses the report before changing anything.
 */
function reportCheckpoint(id: number): (solver: Solver) => Checkpoint {
  return (solver) => reportsUndo(solver, id) ?? (() => undefined);
}

/** A solver in the state `before` describes, `live` being the state after the operation. */
function solverBefore(before: Checkpoint, live: Solver): Solver {
  if (typeof before !== "function") return restoreSolver(before);
  const copy = restoreSolver(live.toJSON());
  before(copy);
  return copy;
}

/** Applies one journal entry to `solver`; an ask must hand out the ids the journal recorded. */
function replay(solver: Solver, entry: JournalEntry, position: number): void {
  try {
    switch (entry.op) {
      case "ask": {
        const ids = solver.ask({ max: entry.max })?.map((t) => t.id) ?? [];
        if (ids.join(",") !== entry.ids.join(","))
          throw new Error(`replayed ask gave trials [${ids}], the journal says [${entry.ids}]`);
        return;
      }
      case "tell":
        solver.tell(entry.results);
        return;
      case "fail":
        solver.fail(entry.id, recordedFailureReason(entry.reason), { cancelled: entry.cancelled === true });
        return;
      case "report": {
        for (const [step, value] of entry.reports) solver.report(entry.id, step, value);
        const prune = solver.shouldPrune(entry.id);
        if (prune !== (entry.prune === true)) {
          const verdict = (stop: boolean) => (stop ? "prune" : "go on");
          throw new Error(
            `the pruner's verdict on trial ${entry.id} is "${verdict(prune)}" here and "${verdict(!prune)}" in the journal: ` +
              "the workers judge by different pruners (another arqon version?)",
          );
        }
        return;
      }
      case "extend": {
        const more = entry.budget - solver.config.budget;
        if (more < 1)
          throw new Error(`it grows the budget to ${entry.budget}, which the study has reached already`);
        solver.extend(more);
        return;
      }
      case "create":
        throw new Error("a second create entry");
    }
  } catch (error) {
    if (error instanceof JournalError) throw error;
    throw new JournalError(
      position,
      `cannot be replayed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Whether `reports` begins with the pairs of `prefix`. */
function startsWith(reports: StepReports, prefix: StepReports): boolean {
  return (
    prefix.length <= reports.length &&
    prefix.every(([step, value], i) => reports[i]![0] === step && reports[i]![1] === value)
  );
}

/** How a trial that is not pending stands, as a refusal says it. */
function statusText(status: TrialStatus): string {
  return status === "failed"
    ? "was already marked failed"
    : status === "pruned"
      ? "was already told pruned"
      : "was already told";
}
