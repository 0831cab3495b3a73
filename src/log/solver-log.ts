import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import type { SolverClassification } from "../../machines/solver.machine.js";
import { errorMessage, UsageError } from "../errors.js";
import { packageVersion } from "../package-version.js";
import { EventLoopSlices, runAtOnce, runInSlices, type Steps } from "../runtime/event-loop-slices.js";
import { shownValue } from "../shown-value.js";
import { type ResolvedSolverConfig, type SolverConfig, savedSolverConfig } from "../solver/config.js";
import { failCancelled, failureReason, recordedFailureReason } from "../solver/failure-reason.js";
import {
  type AskOptions,
  type BestPoint,
  createSavedSolver,
  type FailOptions,
  type IntermediateValue,
  reportIfNew,
  restoreSolver,
  type Solver,
  type SolverArtifact,
  type SolverPhase,
  type Told,
  type Trial,
  type TrialStatus,
} from "../solver/solver.js";
import { isSolverRules, otherSolverRules, SOLVER_RULES } from "../solver/solver-rules.js";
import type { StrategyName } from "../solver/strategy.js";
import type { ParamShape, ParamValue } from "../space/params.js";
import { decodeNumbers, encodeNumbers } from "./json-numbers.js";
import type { FileLock } from "./lock.js";
import {
  type DecisionLogContents,
  readDecisionLog,
  readDecisionLogAppended,
  readDecisionLogAsync,
} from "./reader.js";
import type { LogEntry, LogHeader } from "./records.js";
import type { LogPosition } from "./scan.js";
import { type DecisionLogWriter, openDecisionLog } from "./writer.js";

/** Header of a solver's decision log: what a fresh solver is rebuilt from. */
export interface SolverLogHeader extends LogHeader {
  readonly format: "arqon.solver-log";
  readonly version: 1;
  readonly config: SolverConfig;
  readonly seed: number;
  readonly packageVersion: string;
  /**
   * The {@link SOLVER_RULES} version the solver proposed by; absent from logs written before the
   * rules were versioned.
   */
  readonly rules?: number;
  /**
   * A random id telling this log from one created later in its place (absent from logs written
   * before it was added): a solver that read one does not write onto the other.
   */
  readonly nonce?: string;
}

/**
 * The records after the header, one per solver call that changed (or may have changed) its state:
 * `ask` (with the trials it returned, to check the replay), `tell`, `fail`, `report` (an intermediate
 * value, which the pruner's later decisions depend on), `extend` (the budget grown); and `snapshot`, written
 * when a log is attached to a solver that already has a history, with the {@link SOLVER_RULES} of
 * the arqon that wrote it (absent before the rules were versioned). NaN, ±Infinity and −0 are written
 * tagged as `encodeNumbers` does (the header too), so that they reopen exactly.
 */
export type SolverLogRecord = (
  | {
      readonly kind: "ask";
      readonly max: number | null;
      readonly trials: readonly { readonly id: number; readonly params: Record<string, ParamValue> }[] | null;
    }
  | { readonly kind: "tell"; readonly results: readonly Told[] }
  | { readonly kind: "fail"; readonly id: number; readonly reason: string; readonly cancelled?: true }
  | { readonly kind: "report"; readonly id: number; readonly step: number; readonly value: number }
  | { readonly kind: "extend"; readonly trials: number }
  | { readonly kind: "snapshot"; readonly artifact: SolverArtifact; readonly rules?: number }
) & {
  /**
   * A random id of the logged solver that appended the record (absent from records written
   * before it was added, and from `appendSolverSnapshot`'s): replay ignores it. A logged solver
   * checks that the last record it knows is still where it left it, and this tells its own record
   * from an equal one another solver wrote on a copy of the log.
   */
  readonly by?: string;
};

/**
 * A solver whose every state change is written ahead (write + fsync) to a decision log before the
 * call returns, so a process killed at any moment restarts from the log without losing one told
 * result. Behaves exactly like the solver it wraps.
 *
 * @remarks
 * All or nothing: a call whose record cannot be written (the log locked by another writer, a full
 * disk) throws the write's error and leaves the solver as its log holds it, so the call can be
 * retried. Putting it back rebuilds the wrapped solver from the log: its `actor` is then a new one.
 */
export interface LoggedSolver<P extends ParamShape = string> extends Solver<P> {
  /** The log directory. */
  readonly logDir: string;
  /** Flushes and closes the log (the solver stays usable for reading). Idempotent. */
  closeLog(): void;
}

/** Options of the solver-log functions. */
export interface SolverLogOptions {
  /**
   * The log directory's lock, already taken with `acquireLogLock(dir)` and released by the caller:
   * every writer opened for this solver uses it instead of taking its own. The CLI holds it from
   * before reading the log until after its last write, so two commands never interleave.
   */
  readonly lock?: FileLock | undefined;
}

/** Whether `solver` keeps a decision log. */
export function isLoggedSolver(solver: Solver): solver is LoggedSolver {
  return solver instanceof LoggedSolverImpl;
}

/**
 * Creates the decision log in `dir` for `solver` (which must not have one yet) and returns the
 * logging wrapper. The header holds the solver's config and seed; a solver that already asked or was
 * told something, or whose budget grew (`extend`), gets a snapshot record after it, so the log
 * starts from its current state.
 */
export function createSolverLog<P extends ParamShape = string>(
  dir: string,
  solver: Solver<P>,
  options: SolverLogOptions = {},
): LoggedSolver<P> {
  const artifact = solver.toJSON();
  const header: SolverLogHeader = {
    kind: "header",
    format: "arqon.solver-log",
    version: 1,
    config: artifact.config,
    seed: solver.config.seed,
    packageVersion: packageVersion(),
    rules: SOLVER_RULES,
    nonce: randomUUID(),
  };
  const writer = openDecisionLog(withLock({ dir, header: exact(header) }, options));
  if (!writer.created) {
    writer.close();
    throw new UsageError(`${dir} already holds a decision log`);
  }
  let last: KnownRecord = { seq: writer.lastSeq, record: withoutSeq(exact(header)) };
  // A grown run's header config holds the grown budget, from which a fresh solver would size
  // another probe: its state starts from the snapshot, as a run with a history does.
  if (solver.asked > 0 || solver.told > 0 || artifact.extended !== undefined) {
    const snapshot = exact({ kind: "snapshot", artifact, rules: SOLVER_RULES });
    writer.appendCommand(snapshot);
    last = { seq: writer.lastSeq, record: withoutSeq(snapshot) };
  }
  // The parameter shape is the caller's solver's: the log changes what is recorded, not the types.
  return new LoggedSolverImpl(solver as Solver, dir, writer, options.lock, {
    stampRules: false,
    last,
    header: writer.header,
  }) as unknown as LoggedSolver<P>;
}

/**
 * Appends a snapshot of `solver` to the existing solver log in `dir`, so that the log resumes from
 * the solver's current state (used when a solver that was not logging is saved into a log).
 */
export function appendSolverSnapshot(dir: string, solver: Solver, options: SolverLogOptions = {}): void {
  const writer = openDecisionLog(withLock({ dir }, options));
  try {
    writer.appendCommand(exact({ kind: "snapshot", artifact: solver.toJSON(), rules: SOLVER_RULES }));
  } finally {
    writer.close();
  }
}

/**
 * Rebuilds the solver kept in the decision log `dir`: a fresh solver from the header's config (or the
 * last snapshot), then every logged call replayed in order. Each replayed `ask` must return the very
 * trials that were logged; any difference is reported as a divergence naming the record. Replay
 * needs the rules that wrote the calls: an arqon whose {@link SOLVER_RULES} differ may propose
 * other points, or hand out a different number of trials for the same ask (the header records
 * the rules and the version, and a divergence under other rules says so), so open a log with the
 * version that wrote it, or append a snapshot with it (`appendSolverSnapshot`) before upgrading:
 * replay starts from the last one.
 *
 * @remarks
 * Read-only until the first new call: the log is opened for appending (and a torn tail truncated,
 * and the directory's lock taken unless `options.lock` holds it) only when something is written.
 * Reading needs no lock, so a solver read while another process writes may be behind it: its
 * first write then finds the log gone further (other than by snapshots of itself) and throws a
 * `UsageError` before writing anything; reopen it. Hold the lock (`options.lock`) from before this
 * call to keep a read-modify-write from being refused so. Strict: mid-log damage is a
 * `LogCorruptionError`.
 *
 * The log is read at run time, so its parameters are not known to the compiler: name them as
 * `restoreSolver` takes them, `openSolverLog<ParamsOf<typeof bounds>>(dir)`, to get a typed solver.
 */
export function openSolverLog<P extends ParamShape = string>(
  dir: string,
  options: SolverLogOptions = {},
): LoggedSolver<P> {
  const { solver, recordedBy, last, header } = replayLog(dir);
  // `P` is the caller's word for the logged config's shape, as for `restoreSolver<P>`.
  return new LoggedSolverImpl(solver, dir, null, options.lock, {
    stampRules: recordedBy.rules !== SOLVER_RULES,
    last,
    header,
  }) as unknown as LoggedSolver<P>;
}

/**
 * The solver the log in `dir` holds (a fresh one, or the last snapshot, with every later call
 * replayed), what recorded it, its header and the last record read.
 */
function replayLog(dir: string): {
  solver: Solver;
  recordedBy: RecordedBy;
  last: KnownRecord;
  header: LogHeader | null;
} {
  const log = readDecisionLog(dir, { strict: true });
  const { solver, recordedBy } = runAtOnce(replaySteps(dir, log));
  return { solver, recordedBy, last: knownRecord(log.lastDurable), header: log.header };
}

/**
 * The last record of a log a logged solver knows (read, or written by it): its seq, and its
 * fields as they read back (seq aside). A writer opened later must find it there.
 */
interface KnownRecord {
  readonly seq: number;
  readonly record: unknown;
}

/** `entry` (the header when a log holds no other record) as a {@link KnownRecord}. */
function knownRecord(entry: LogEntry | null): KnownRecord {
  return entry === null ? { seq: 0, record: null } : { seq: entry.seq, record: withoutSeq(entry.record) };
}

/** A record's fields without its seq (which a record read back carries and one appended does not). */
function withoutSeq(record: object): unknown {
  const { seq: _seq, ...fields } = record as { seq?: number };
  return fields;
}

/**
 * Why a decision log's header is not a solver log's this arqon reads ("its header's format is
 * "arqon.engine" (an engine's decision log), not "arqon.solver-log""), or undefined when it is.
 */
export function notSolverLogReason(header: unknown): string | undefined {
  if (typeof header !== "object" || header === null) return "it has no header";
  const { format, version } = header as { format?: unknown; version?: unknown };
  const expected = JSON.stringify("arqon.solver-log");
  if (format === undefined) return `its header has no format, not ${expected}`;
  if (format !== "arqon.solver-log") {
    // The engine's format, written out: importing it would load the engine with every solver log.
    const engine = format === "arqon.engine" ? " (an engine's decision log)" : "";
    return `its header's format is ${shownValue(format)}${engine}, not ${expected}`;
  }
  return version === 1
    ? undefined
    : `its header's version is ${shownValue(version)}; this arqon reads version 1`;
}

/**
 * The replay of a log's contents, one record per step (the solver is stopped if one fails): run
 * at once by openSolverLog, in slices by a follower (a long log replays for seconds). Gives the
 * solver, how many records were replayed to rebuild it (the snapshot it starts from counting as
 * one) and what recorded the records after that snapshot.
 */
function* replaySteps(
  dir: string,
  log: DecisionLogContents,
): Steps<{ solver: Solver; replayed: number; recordedBy: RecordedBy }> {
  const header = decodeNumbers(log.header) as SolverLogHeader | null;
  const notSolverLog = notSolverLogReason(header);
  if (notSolverLog !== undefined || header === null)
    throw new UsageError(`${dir} is not an arqon solver log: ${notSolverLog}`);
  checkRules(header.rules, `${dir} header`);
  let start = 0;
  for (let i = log.records.length - 1; i >= 0; i--) {
    if (log.records[i]!.record.kind === "snapshot") {
      start = i;
      break;
    }
  }
  const first = solverRecord(log.records[start]);
  if (first?.kind === "snapshot") checkRules(first.rules, `${dir} record ${first.seq}`);
  const recordedBy: RecordedBy = {
    rules: first?.kind === "snapshot" ? first.rules : header.rules,
    packageVersion: header.packageVersion,
  };
  const solver =
    first?.kind === "snapshot"
      ? restoreSolver(first.artifact)
      : createSavedSolver(savedSolverConfig(header.config) as SolverConfig);
  let replayed = first?.kind === "snapshot" ? 1 : 0;
  try {
    for (let i = replayed === 1 ? start + 1 : 0; i < log.records.length; i++, replayed++) {
      replay(solver, solverRecord(log.records[i])!, dir, recordedBy);
      yield;
    }
  } catch (error) {
    solver.stop();
    throw error;
  }
  return { solver, replayed, recordedBy };
}

/**
 * What wrote a log's records: the solver rules of its last snapshot, else of its header (undefined
 * before the rules were versioned), and the package version its header names. The records after
 * a snapshot are written under its rules: a logged solver whose log was written under other rules
 * appends a snapshot under its own before its first record.
 */
interface RecordedBy {
  readonly rules: number | undefined;
  readonly packageVersion: string | undefined;
}

/** Refuses a recorded `rules` that is not a solver-rules version, naming where it was read. */
function checkRules(rules: unknown, where: string): void {
  if (rules !== undefined && !isSolverRules(rules))
    throw new UsageError(
      `${where}: rules ${JSON.stringify(rules)} is not a solver-rules version (a whole number from 1)`,
    );
}

/** The solver-log record `entry` holds, its tagged numbers decoded. */
function solverRecord(entry: LogEntry | undefined): (SolverLogRecord & { seq: number }) | undefined {
  return decodeNumbers(entry?.record) as (SolverLogRecord & { seq: number }) | undefined;
}

/**
 * Follows the solver log in `dir` as it grows (a study `arqon solve --state DIR` is running):
 * {@link read} keeps the replayed solver between calls and replays only the records appended since
 * the previous call, so its cost is that of what was appended, not of the whole log. The log is
 * read with fs/promises, and read and replayed whole again only when it no longer extends what was
 * read: compacted (a new segment starting with a header), recreated or shrunk (the last record read
 * is not where it was). A snapshot appended to the log is restored from, as a full read would.
 * Replays run in slices of a few milliseconds with the event loop turning between them: a full
 * read replays every trial, seconds for a long study.
 *
 * @remarks
 * Read-only, like {@link openSolverLog}, and strict: mid-log damage is a `LogCorruptionError`. One
 * read at a time: await each before the next one and before {@link stop}.
 */
export class SolverLogFollower {
  /** Records replayed so far (a restored snapshot counting as one). */
  replayed = 0;
  /** Reads of the whole log: the first one, and each one after the log stopped extending what was read. */
  fullReads = 0;
  private solver: Solver | null = null;
  private end: LogPosition | null = null;
  private recordedBy: RecordedBy | null = null;

  constructor(readonly dir: string) {}

  /**
   * The solver the log now holds. It belongs to the follower, which changes it on the next read and
   * stops it on {@link stop}: read from it, do not call it.
   *
   * @throws what {@link openSolverLog} throws for the same files (a log that is not a solver's,
   * damage, a replay that diverges); the next read then reads the whole log again.
   */
  async read(): Promise<Solver> {
    try {
      if (this.solver !== null && this.end !== null) {
        const appended = await readDecisionLogAppended(this.dir, this.end, { strict: true });
        if (appended !== null) {
          const slices = new EventLoopSlices();
          for (const entry of appended.records) {
            this.apply(solverRecord(entry)!);
            await slices.pause();
          }
          this.end = appended.end ?? this.end;
          return this.solver;
        }
      }
      const log = await readDecisionLogAsync(this.dir, { strict: true });
      const { solver, replayed, recordedBy } = await runInSlices(replaySteps(this.dir, log));
      this.stop();
      this.solver = solver;
      this.recordedBy = recordedBy;
      this.end = log.end;
      this.replayed += replayed;
      this.fullReads++;
      return solver;
    } catch (error) {
      this.stop();
      throw error;
    }
  }

  /** Stops the solver read last. Idempotent; a later read reads the whole log again. */
  stop(): void {
    this.solver?.stop();
    this.solver = null;
    this.end = null;
    this.recordedBy = null;
  }

  /** Replays one appended record; a snapshot replaces the solver, as a full read would start from it. */
  private apply(record: SolverLogRecord & { seq: number }): void {
    if (record.kind === "snapshot") {
      checkRules(record.rules, `${this.dir} record ${record.seq}`);
      const restored = restoreSolver(record.artifact);
      this.solver!.stop();
      this.solver = restored;
      this.recordedBy = { ...this.recordedBy!, rules: record.rules };
    } else {
      replay(this.solver!, record, this.dir, this.recordedBy!);
    }
    this.replayed++;
  }
}

/** `options` plus the caller's lock when there is one (the key left out otherwise). */
function withLock<T extends { readonly dir: string }>(options: T, solverOptions: SolverLogOptions): T {
  return solverOptions.lock === undefined ? options : { ...options, lock: solverOptions.lock };
}

function replay(
  solver: Solver,
  record: SolverLogRecord & { seq: number },
  dir: string,
  recordedBy: RecordedBy,
): void {
  const at = `${dir} record ${record.seq}`;
  switch (record.kind) {
    case "ask": {
      const trials = solver.ask(record.max === null ? undefined : { max: record.max });
      const replayed = trials === null ? null : trials.map(plain);
      if (!isDeepStrictEqual(replayed, record.trials)) {
        throw new UsageError(
          `solver log diverged at ${at}: ask returned ${JSON.stringify(replayed)}, the log holds ${JSON.stringify(record.trials)}${divergenceNote(recordedBy)}`,
        );
      }
      return;
    }
    case "tell":
      solver.tell(record.results);
      return;
    case "fail":
      solver.fail(record.id, recordedFailureReason(record.reason), { cancelled: record.cancelled === true });
      return;
    case "report":
      solver.report(record.id, record.step, record.value);
      return;
    case "extend":
      solver.extend(record.trials);
      return;
    case "snapshot":
      throw new UsageError(`unexpected snapshot at ${at}`);
    default:
      throw new UsageError(
        `unknown record kind ${JSON.stringify((record as { kind?: unknown }).kind)} at ${at}`,
      );
  }
}

/**
 * What a divergence message adds when the log was written under other solver rules: that they
 * explain it, and how to carry the run over. Nothing under today's rules, where a divergence has
 * no such explanation.
 */
function divergenceNote(recordedBy: RecordedBy): string {
  const other = otherSolverRules(recordedBy.rules);
  if (other === null) return "";
  const begun =
    recordedBy.packageVersion === undefined
      ? ""
      : ` (the log was begun by arqon ${recordedBy.packageVersion})`;
  return (
    `; it was written ${other}${begun}, and this arqon proposes by rules ${SOLVER_RULES}, which can ` +
    "explain the divergence: open the log with the arqon that wrote it, or have that arqon append a " +
    "snapshot (appendSolverSnapshot) first, since replay starts from the last snapshot"
  );
}

/**
 * `record` as a solver log holds it: a plain JSON copy whose NaN, ±Infinity and −0 are tagged
 * (`encodeNumbers`), so that a told −0 reopens as −0; {@link openSolverLog} decodes them. Logs
 * written before held no tags and read as they did.
 */
function exact<T extends object>(record: T): T {
  return encodeNumbers(record) as unknown as T;
}

function plain(trial: Trial): { id: number; params: Record<string, ParamValue> } {
  return { id: trial.id, params: { ...trial.params } };
}

class LoggedSolverImpl implements LoggedSolver {
  readonly logDir: string;
  private inner: Solver;
  private writer: DecisionLogWriter | null;
  private readonly lock: FileLock | undefined;
  /** Why the solver is ahead of its log: a write failed and the log could not be read back. */
  private broken: string | null = null;
  /** Set by {@link stop}: calls that would change the solver are refused before the log opens. */
  private stopped = false;
  /**
   * Whether the log was written under other solver rules than this arqon's: its first write is
   * then preceded by a snapshot under today's, so a replay reads what follows under the rules
   * that wrote it (and names the right ones if it diverges).
   */
  private stampRules: boolean;
  /**
   * The log's last record as this solver knows it (read, or written by it): a writer opened later
   * must find it where it was ({@link checkSameLog}), or this solver is behind or on another log.
   */
  private last: KnownRecord;
  /** The header of the log this solver read or created: a writer opened later must find it. */
  private readonly header: LogHeader | null;
  /** What this solver's records carry as `by`. */
  private readonly id = randomUUID().slice(0, 8);

  constructor(
    inner: Solver,
    dir: string,
    writer: DecisionLogWriter | null,
    lock: FileLock | undefined,
    log: { readonly stampRules: boolean; readonly last: KnownRecord; readonly header: LogHeader | null },
  ) {
    this.inner = inner;
    this.logDir = dir;
    this.writer = writer;
    this.lock = lock;
    this.stampRules = log.stampRules;
    this.last = log.last;
    this.header = log.header;
  }

  get config(): ResolvedSolverConfig {
    return this.inner.config;
  }
  get actor(): Solver["actor"] {
    return this.inner.actor;
  }
  get phase(): SolverPhase {
    return this.inner.phase;
  }
  get classification(): SolverClassification | null {
    return this.inner.classification;
  }
  get strategyName(): StrategyName | null {
    return this.inner.strategyName;
  }
  get asked(): number {
    return this.inner.asked;
  }
  get told(): number {
    return this.inner.told;
  }

  ask(options?: AskOptions): Trial[] | null {
    // Durable before any trial is handed out: a trial that runs must be known after a restart.
    return this.change("ask", () => {
      const trials = this.inner.ask(options);
      const record = { kind: "ask", max: options?.max ?? null, trials: trials?.map(plain) ?? null } as const;
      return { result: trials, record };
    });
  }

  tell(results: Told | readonly Told[]): void {
    const list: readonly Told[] = Array.isArray(results) ? results : [results as Told];
    this.change("tell", () => {
      this.inner.tell(list); // validates all-or-nothing first: a refused batch is never logged
      return { result: undefined, record: { kind: "tell", results: list } };
    });
  }

  fail(id: number, given?: string, options?: FailOptions): void {
    // Checked before the change: the log records what the solver records (an Error's message).
    const reason = failureReason(given);
    const cancelled = failCancelled(options);
    this.change("fail", () => {
      this.inner.fail(id, reason, { cancelled });
      return {
        result: undefined,
        record: cancelled ? { kind: "fail", id, reason, cancelled } : { kind: "fail", id, reason },
      };
    });
  }

  report(id: number, step: number, value: number): void {
    this.change("report", () => {
      // A retry of the last report changes nothing, and writes nothing.
      const recorded = reportIfNew(this.inner, id, step, value);
      return { result: undefined, record: recorded ? { kind: "report", id, step, value } : undefined };
    });
  }

  extend(trials: number): void {
    this.change("extend", () => {
      this.inner.extend(trials);
      return { result: undefined, record: { kind: "extend", trials } };
    });
  }

  shouldPrune(id: number): boolean {
    return this.inner.shouldPrune(id);
  }
  intermediateValues(id: number): IntermediateValue[] {
    return this.inner.intermediateValues(id);
  }
  trialStatus(id: number): TrialStatus {
    return this.inner.trialStatus(id);
  }
  best(): BestPoint | null {
    return this.inner.best();
  }
  pendingTrials(): Trial[] {
    return this.inner.pendingTrials();
  }
  toJSON(): SolverArtifact {
    return this.inner.toJSON();
  }
  stop(): void {
    this.stopped = true;
    this.closeLog();
    this.inner.stop();
  }
  closeLog(): void {
    this.writer?.close();
    this.writer = null;
  }

  /**
   * Applies a call to the solver and writes its record ahead, all or nothing. The log is opened
   * first, so that a log another writer holds refuses the call before it changes anything; a
   * record that cannot be written is rolled back ({@link rollBack}) and the write's error thrown.
   * Nothing is copied beforehand: a call that succeeds costs the write alone.
   */
  private change<R>(call: string, apply: () => { result: R; record: SolverLogRecord | undefined }): R {
    // Before the log is opened: a stopped solver takes no lock and touches no file.
    if (this.stopped) throw new UsageError(`${call}: the solver was stopped`);
    if (this.broken !== null) {
      throw new UsageError(
        `solver log ${this.logDir}: a failed write left this solver ahead of its log (${this.broken}); reopen it with openSolverLog`,
      );
    }
    const opened = this.writer === null;
    this.writer ??= openDecisionLog(withLock({ dir: this.logDir }, { lock: this.lock }));
    const writer = this.writer;
    if (opened) this.checkSameLog(writer);
    if (this.stampRules) {
      // Written under other rules: a snapshot under today's first (see stampRules), even before
      // a call that is then refused, which leaves the state as the snapshot holds it.
      const stamp = exact({
        kind: "snapshot",
        artifact: this.inner.toJSON(),
        rules: SOLVER_RULES,
        by: this.id,
      });
      try {
        writer.appendCommand(stamp);
      } catch (error) {
        // Nothing changed; a snapshot that reached the file anyway holds the state as it is.
        closeQuietly(this);
        throw error;
      }
      this.stampRules = false;
      this.last = { seq: writer.lastSeq, record: withoutSeq(stamp) };
    }
    let change: { result: R; record: SolverLogRecord | undefined };
    try {
      change = apply();
    } catch (error) {
      // Refused, so nothing changed: leave the log closed (and unlocked) if it was.
      if (opened) closeQuietly(this);
      throw error;
    }
    // Taken, changing nothing (a retry): nothing to write.
    if (change.record === undefined) return change.result;
    const seq = writer.lastSeq + 1;
    const record = exact({ ...change.record, by: this.id });
    try {
      writer.appendCommand(record);
      this.last = { seq, record: withoutSeq(record) };
    } catch (error) {
      if (!this.rollBack(writer, { seq, record: withoutSeq(record) }, error)) throw error;
    }
    return change.result;
  }

  /**
   * Refuses (closing the writer, nothing written) a log that is not the one this solver holds:
   * another log in its place (re-created, or restored from a copy: another header, fewer records
   * than this solver knows, or another record where its last known one was), or the same log gone
   * further by another writer (this solver read it without the lock): writing on would put this
   * solver's calls after records it never replayed.
   */
  private checkSameLog(writer: DecisionLogWriter): void {
    const { seq } = this.last;
    let problem: string | null = null;
    if (!sameHeader(writer.header, this.header)) {
      problem = "it is another log now (created or restored in its place since this solver read it)";
    } else if (writer.lastSeq < seq) {
      problem = `it holds fewer records than this solver knows (${writer.lastSeq} of ${seq}): restored from an older copy?`;
    } else if (writer.lastSeq === seq) {
      // The last record itself at that seq (a compaction's seq mark can stand for a later one).
      const found = writer.lastDurableOnOpen;
      if (found !== null && found.seq !== seq)
        problem = `its record ${seq} is gone (compacted away since this solver read it)`;
      else if (
        found !== null &&
        this.last.record !== null &&
        !isDeepStrictEqual(withoutSeq(found.record), this.last.record)
      )
        problem = `its record ${seq} is not the one this solver knows: restored from a copy and written on since?`;
    } else {
      problem = this.gonePast(seq, writer.lastSeq);
    }
    if (problem === null) return;
    closeQuietly(this);
    throw new UsageError(`solver log ${this.logDir}: ${problem}; reopen it with openSolverLog`);
  }

  /**
   * Why a log that holds records past the last one this solver knows (`seq`) is not its own, or
   * null when it is: its record `seq` is the one this solver knows and every later one is a
   * snapshot of this solver as it is (what `appendSolverSnapshot(dir, thisSolver)` writes, which
   * a compaction may keep alone). Then the last of them becomes the last known.
   */
  private gonePast(seq: number, lastSeq: number): string | null {
    const { header, records } = readDecisionLog(this.logDir, { strict: true });
    const known = seq === 0 ? header : records.find((entry) => entry.seq === seq)?.record;
    // A compaction may have dropped the known record (only snapshots of this solver follow it then).
    if (known != null && this.last.record !== null && !isDeepStrictEqual(withoutSeq(known), this.last.record))
      return `its record ${seq} is not the one this solver knows: restored from a copy and written on since?`;
    // As a snapshot record reads back: through JSON, which drops keys whose value is undefined.
    const now = decodeNumbers(JSON.parse(JSON.stringify(exact(this.inner.toJSON()))));
    const since = records.filter((entry) => entry.seq > seq);
    // Dropped by a compaction, the known record must be stood for by a snapshot of this solver.
    if (known == null && this.last.record !== null && since.length === 0)
      return `its record ${seq} is gone (compacted away since this solver read it)`;
    const same = since.every((entry) => {
      const record = solverRecord(entry);
      return record?.kind === "snapshot" && isDeepStrictEqual(record.artifact, now);
    });
    if (!same)
      return `written by another writer since this solver read it (records ${seq + 1} to ${lastSeq})`;
    const newest = since.at(-1);
    if (newest !== undefined) this.last = knownRecord(newest);
    return null;
  }

  /**
   * After the record `written` failed to be written: drops the writer, which would otherwise write the
   * record later behind the solver's back. Its close retries the write once; when that succeeds
   * the call is done (true). Otherwise the solver is rebuilt from the log: the state before the
   * call, or after it when the record's bytes reached the file though its fsync failed, since the
   * log is what the next reader and writer go by.
   */
  private rollBack(writer: DecisionLogWriter, written: KnownRecord, error: unknown): boolean {
    this.writer = null;
    try {
      writer.close();
      if (writer.durableSeq >= written.seq) {
        this.last = written;
        return true;
      }
    } catch {
      // Still failing: the record is dropped with the writer; the log says below what it holds.
    }
    let rebuilt: Solver;
    try {
      const read = replayLog(this.logDir);
      rebuilt = read.solver;
      this.last = read.last;
    } catch (readError) {
      this.broken = `${errorMessage(error)}; reading the log back: ${errorMessage(readError)}`;
      return false;
    }
    const inspect = this.inner.config.inspect;
    this.inner.stop();
    // Replayed without the caller's inspection sink (it would see every call again), then given it.
    if (inspect === undefined) this.inner = rebuilt;
    else {
      this.inner = restoreSolver(rebuilt.toJSON(), { inspect });
      rebuilt.stop();
    }
    return false;
  }
}

/** Whether two log headers are the same record (a header read back carries its seq, 0; one given may not). */
function sameHeader(a: LogHeader | undefined | null, b: LogHeader | undefined | null): boolean {
  const fields = (h: LogHeader | undefined | null) => {
    if (h == null) return null;
    const { seq: _seq, ...rest } = h as LogHeader & { seq?: number };
    return rest;
  };
  return isDeepStrictEqual(fields(a), fields(b));
}

/** Closes `solver`'s log, ignoring a failure: the caller has its own error to report. */
function closeQuietly(solver: LoggedSolver): void {
  try {
    solver.closeLog();
  } catch {
    // Nothing was pending; the caller's error is the one that matters.
  }
}
