import type { Observable } from "rxjs";
import { AUDIT_SCHEMA_VERSION, type AuditEvent, type CommandEvent } from "../audit/events.js";
import { withoutUndefinedKeys } from "../config-input.js";
import type { EngineConfig } from "../engine/config.js";
import type { Digest } from "../engine/digest.js";
import { createEngine } from "../engine/engine.js";
import { type HaltRestoring, RESTORE_HALT } from "../engine/restored-halt.js";
import {
  CLOSE_MARKER_LOG_VERSION,
  FLUSH_LOG_KIND,
  type LoggedRepair,
  type TimeRecord,
} from "../log/log-records.js";
import type { TornTail } from "../log/scan.js";
import { EventLoopSlices } from "../runtime/event-loop-slices.js";
import { firstDifference } from "./compare.js";
import { digestToReplay } from "./digest-input.js";
import { withLegacyDefaults, withRecordedDefaults } from "./legacy-defaults.js";
import { ProducedEvents } from "./produced-events.js";
import {
  type DecisionLogInput,
  type GenerationRange,
  type LoggedFailure,
  type ReplayRun,
  readReplayLog,
  readReplayLogAsync,
} from "./read-log.js";
import { chooseRun } from "./run-choice.js";
import { ScriptedClock, type Unfired } from "./scripted-clock.js";
import { ReplayClock } from "./virtual-clock.js";

/**
 * What {@link replay} drives: the part of the `Engine` API that inputs and commands go through.
 * `createEngine` returns one; tests may wrap it.
 */
export interface ReplayEngine {
  readonly events: Observable<AuditEvent>;
  observe(digest: Digest): unknown;
  setBaseline(): void;
  rollback(reason?: string): boolean;
  halt?(reason: string): void;
  /**
   * The live generation, compared with a closed run's close marker (without it, the generation of
   * the last event the replay wrote stands in).
   */
  readonly generation?: number;
  resetSafeMode?(options: { acknowledge: string }): boolean;
  flushEvents(): number;
  close(): Promise<void>;
}

/** Options of {@link replay}. */
export interface ReplayOptions {
  /** Logged events shown before a divergence (default 5). */
  readonly context?: number;
  /**
   * Changes to the logged config (e.g. another `seed`, to check that replay notices), applied to
   * every replayed run. Merged into the run's logged options: a plain object merges key by key at
   * every depth (`{ spsa: { c: 0.1 } }` changes `spsa.c` alone; every other option stays as
   * logged), anything else (a number, a string, an array, a function) replaces the logged value,
   * and a key set to `undefined` changes nothing. The scheduler is always replay's own virtual clock.
   */
  readonly override?: Partial<EngineConfig>;
  /** Builds the engine (default `createEngine`); called once per replayed run. */
  readonly createEngine?: (config: EngineConfig) => ReplayEngine;
  /**
   * Replays only this run of a continued log (1 for the run the log header describes, then one
   * per `restart` record). Default: every run, in order.
   */
  readonly run?: number;
}

/** The first place where the replayed engine did not do what the log says. */
export interface ReplayDivergence {
  /** The run it happened in (1-based; see {@link ReplayOptions.run}). */
  readonly run: number;
  /** Position of the record in the log (the header is 0). */
  readonly index: number;
  /** Audit sequence number of the logged event (sequences restart with each run). */
  readonly seq: number;
  /** The first differing field (`"values.batchSize"`, `"type"`…), or why the record could not be replayed. */
  readonly reason: string;
  /**
   * The logged event; null when the log holds none with this seq (audit records missing from the
   * end of a closed run).
   */
  readonly expected: AuditEvent | null;
  /** What the replayed engine wrote with that sequence number (null when it wrote nothing). */
  readonly actual: AuditEvent | null;
  /** The logged events of the same run just before it, oldest first. */
  readonly context: readonly AuditEvent[];
  /**
   * Audit records of the run missing from the log before this point (see
   * {@link MissingRecords}): the inputs they may have held were never replayed, which explains
   * the divergence.
   */
  readonly dropped: readonly MissingRecords[];
}

/** A range of audit sequence numbers, both ends included. */
export interface SeqRange {
  readonly from: number;
  readonly to: number;
}

/**
 * Audit records missing from a run in the log, and why, as far as the log tells: `"ring"`, a full
 * audit ring dropped them (they never reached the log, whose own record seqs run on without a
 * gap); `"removed"`, records were taken out of the log (a compaction, an edit: its record seqs
 * jump there); `"unknown"`, the records were given without the log's seqs.
 */
export interface MissingRecords extends SeqRange {
  readonly cause: "ring" | "removed" | "unknown";
}

/** Outcome of replaying one run of a log. */
export type ReplayRunResult = {
  /** The run (1-based). */
  readonly run: number;
  /** Position in the log of the record that starts it (0: the header; else its `restart` record). */
  readonly start: number;
  /** Generations its logged events carry (undefined when it has none). */
  readonly generations: GenerationRange | undefined;
  /**
   * Whether the run ends with its close marker; false for one that did not close (a crash, a
   * kill: the records it wrote last may be missing), null for a log written before close markers.
   */
  readonly closed: boolean | null;
  /** The run's logged audit events (all compared and identical when `ok`). */
  readonly records: number;
  /**
   * Audit records the run wrote that are not in the log (a full ring dropped them, or they were
   * removed from the log: see {@link MissingRecords}): they were not compared, and any inputs
   * among them were not replayed.
   */
  readonly dropped: readonly MissingRecords[];
  /**
   * Timings (timer runs, host flushes) logged after audit records the log does not hold: the end
   * of a log cut short (a crash, a lost last segment), where a timing record reached the disk
   * before the records of the inputs it followed. They were not replayed: the engine state they
   * ran in is not in the log. 0 for a run whose log is whole (unless its audit ring dropped the
   * run's last records), and for a log without timings. A closed run cannot have lost records to
   * a crash: with any, it diverges (records missing from its end).
   */
  readonly timingsPastEnd: number;
  /**
   * Where the engine's options came from: `"recorded"`, the resolved options in the run's header
   * (every default as the logged engine had it); `"pinned"`, a log written before those were
   * recorded, whose omitted options were filled from `LEGACY_ENGINE_DEFAULTS` (./legacy-defaults.ts) instead of
   * today's defaults.
   */
  readonly options: "recorded" | "pinned";
  /**
   * The decision rules the run was recorded under (its header's `rules`), or null for a log written
   * before the rules were versioned. The replay decides by today's, `DECISION_RULES`: when
   * the two differ, a correction made between them can explain a divergence.
   */
  readonly rules: number | null;
  /**
   * What opening the log repaired before the run began (a torn tail cut off, damage set aside), as
   * its restart record tells; absent when nothing was. What was taken out is not in the log, so
   * the runs before it may have lost their last records.
   */
  readonly repair?: LoggedRepair;
  /**
   * Why the run could not be replayed at all, or null. A run logged with `captureDigests: false`
   * holds none of its accepted digests, the inputs replay feeds the engine: when its windows show
   * it accepted some, it is not replayed, `ok` is false and the divergence, at the first window
   * that counted digests (`actual` null), gives this reason.
   */
  readonly unreplayable: string | null;
  /**
   * The internal failure the logged engine recorded (`engine.failed`), present when the replay
   * reached it. A replayed engine does not fail that way, so replay stops there: the inputs and
   * timings logged before it are replayed and the records up to it compared; those after it are
   * not. When all of those are identical the run's outcome is this failure, neither OK nor a
   * divergence: `ok` is false and `divergence`, at the failure record (`expected` and `actual`
   * null), says the engine failed, when and why. A difference before it is a divergence as ever
   * (and this is absent).
   */
  readonly failure?: LoggedFailure;
} & ({ readonly ok: true } | { readonly ok: false; readonly divergence: ReplayDivergence });

/**
 * Outcome of {@link replay}. `records` counts the logged events compared, over every replayed
 * run; a failure gives the first divergence (in the earliest run that diverged). `runs` reports
 * each replayed run on its own (one entry for a log that was never continued).
 */
export type ReplayResult = (
  | {
      readonly ok: true;
      /** Logged events compared (all identical). */
      readonly records: number;
      readonly runs: readonly ReplayRunResult[];
    }
  | {
      readonly ok: false;
      readonly divergence: ReplayDivergence;
      readonly runs: readonly ReplayRunResult[];
    }
) & {
  /**
   * A torn tail of the log (a last write cut short by a crash), left out of the replay: what
   * recovery drops. Null when the log ends cleanly or was not read from a directory.
   */
  readonly tornTail: TornTail | null;
  /**
   * Set when the log should end with a close marker (log version 3) and does not: the last
   * segment is missing, the log was cut at a segment boundary, or the run never closed (a crash).
   * What was there replayed; what may have followed was never seen. Null otherwise.
   */
  readonly unclosed: string | null;
};

/**
 * Rebuilds the engines a decision log describes and checks that they decide exactly as logged.
 *
 * @param log - The log: a directory, the contents `readDecisionLog` returns, or its records (the
 * header first, then audit records as `auditLogRecord` writes them; bare audit events work too).
 *
 * @remarks
 * A log continued by later engines holds several runs (see {@link readReplayLog}); each is
 * replayed in order on a fresh engine, and a run that diverges does not stop the later ones.
 *
 * A run whose log records its timings (log version 3, written by `createLoggedEngine`) is
 * replayed on a {@link ScriptedClock}: each logged input and each logged timing (a timer that
 * ran, a host flush) happens at its logged time and in its logged order, whether the logged run
 * ran on the wall clock or on a virtual one, and no timer runs that the log does not say ran.
 * Timings logged after the run's last logged audit record that followed records the log lost (a
 * log cut short) are left out and counted (`timingsPastEnd`).
 *
 * Each run's engine is built from the resolved options its header records (every default as the
 * logged engine had it), so a later change of a default does not change the replay. A header
 * written before those were recorded gives only the config as the host passed it: the options it
 * leaves out are filled from `LEGACY_ENGINE_DEFAULTS` (./legacy-defaults.ts), frozen, never from today's defaults
 * (the run result says `options: "pinned"`). Events logged under an older audit schema (the
 * header's `schema`) are compared with the replay's as the same event: their `v` may differ.
 *
 * An older run's engine is created on a {@link ReplayClock} set
 * to the header's start time. Each logged input — a captured digest (`digest.accepted`, or
 * `digest.rejected` when it can be rebuilt) or a control `command` — is replayed at its logged
 * time: the clock is advanced to that time (running the timers due by then), then the digest is
 * observed or the command called through the API. Finally the clock runs to the run's last
 * logged time. Every logged event of the run is then compared, in log order, with the event the
 * replay wrote under the same sequence number, field by field and bit for bit (`Object.is`;
 * `runId` ignored): proposals, applies with their values, violations, windows, decisions, steps
 * and mode transitions. Events the log lacks (dropped by a full ring, or removed from the log)
 * are skipped. The first difference is returned with its context. A run that ends with a close
 * marker cannot have lost records to a crash: records missing from its end (the replay wrote more,
 * ended at another generation than the marker's, or timings follow records the log lacks) are a
 * divergence at the marker. A run logged with `captureDigests: false` whose windows counted
 * digests is not replayed (see {@link ReplayRunResult.unreplayable}). A run whose engine failed
 * internally is replayed up to its logged failure and reported as failed there (see
 * {@link ReplayRunResult.failure}).
 *
 * Deterministic; cold path (keeps every event of the log in memory).
 *
 * @throws ReplayInputError when the log has no engine header; `ReplayRunError` (a
 * ReplayInputError) when `options.run` names no run of the log.
 */
export async function replay(log: DecisionLogInput, options: ReplayOptions = {}): Promise<ReplayResult> {
  const { runs, tornTail, unclosed } = await readReplayLogAsync(log);
  const chosen = options.run === undefined ? runs : [chooseRun(runs, options.run)];
  const results: ReplayRunResult[] = [];
  for (const run of chosen) results.push(await replayRun(run, options));
  const failed = results.find((r) => !r.ok);
  if (failed !== undefined && !failed.ok) {
    return { ok: false, divergence: failed.divergence, runs: results, tornTail, unclosed };
  }
  const records = results.reduce((sum, r) => sum + r.records, 0);
  return { ok: true, records, runs: results, tornTail, unclosed };
}

/** Whether `value` is an object literal (prototype `Object.prototype` or `null`). */
function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * `base` with `override` merged in: a plain object of the override merges into the plain object
 * it overrides, key by key and at every depth; anything else (a number, a string, an array, a
 * function, a class instance) replaces what it overrides. Neither input is modified.
 */
function mergeOverride(
  base: Readonly<Record<string, unknown>>,
  override: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue; // "not given", at every depth
    const under = Object.hasOwn(merged, key) ? merged[key] : undefined;
    const next = isPlainObject(value) && isPlainObject(under) ? mergeOverride(under, value) : value;
    // Defined, not assigned: a key named "__proto__" stays a key.
    Object.defineProperty(merged, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return merged;
}

/** The gaps in a run's audit sequence (it starts at 1): records missing from the log. */
export function droppedRanges(events: readonly AuditEvent[]): SeqRange[] {
  const gaps: SeqRange[] = [];
  let expected = 1;
  for (const event of events) {
    if (event.seq > expected) gaps.push({ from: expected, to: event.seq - 1 });
    if (event.seq >= expected) expected = event.seq + 1;
  }
  return gaps;
}

/** "records 18–23" or "record 18". */
function describeRange({ from, to }: SeqRange): string {
  return from === to ? `record ${from}` : `records ${from}–${to}`;
}

/**
 * Why the log lacks what lies between log positions `after` and `upTo` (inclusive): records were
 * removed where its own seqs jump; a full ring dropped them where the seqs run on; unknown where
 * records carry no log seq.
 */
function missingCause(
  logSeqs: readonly (number | undefined)[],
  after: number,
  upTo: number,
): MissingRecords["cause"] {
  let known = true;
  for (let i = after + 1; i <= upTo; i++) {
    const previous = logSeqs[i - 1];
    const seq = logSeqs[i];
    if (previous === undefined || seq === undefined) known = false;
    else if (seq !== previous + 1) return "removed";
  }
  return known ? "ring" : "unknown";
}

/** The gaps in a run's audit sequence, each with its cause as far as the log tells. */
function missingRecords(run: ReplayRun): MissingRecords[] {
  const { events, indices, logSeqs } = run;
  const gaps: MissingRecords[] = [];
  let expected = 1;
  let after = run.start;
  for (let k = 0; k < events.length; k++) {
    const seq = events[k]!.seq;
    if (seq > expected)
      gaps.push({ from: expected, to: seq - 1, cause: missingCause(logSeqs, after, indices[k]!) });
    if (seq >= expected) expected = seq + 1;
    after = indices[k]!;
  }
  return gaps;
}

/** What took missing records, by cause. */
const MISSING_CAUSE: Readonly<Record<MissingRecords["cause"], string>> = {
  ring: "dropped by a full audit ring",
  removed: "removed from the log: a compaction or an edit",
  unknown: "a full audit ring, a compaction or an edit",
};

/** "missing …" for records that all have the cause (the ring's case is worded on its own). */
const MISSING_BECAUSE: Readonly<Record<"removed" | "unknown", string>> = {
  removed: "missing from the log (removed from it: a compaction or an edit)",
  unknown: "missing (a full audit ring, a compaction or an edit)",
};

/** Why a divergence after missing records is most likely their doing. */
function blameMissing(missing: readonly MissingRecords[], reason: string): string {
  const consequence = `so inputs they held were not replayed; first difference after that: ${reason}`;
  const single = missing.length === 1 && missing[0]!.from === missing[0]!.to;
  const ranges = missing.map(describeRange).join(", ");
  const cause = missing[0]!.cause;
  if (missing.some((m) => m.cause !== cause)) {
    const each = missing.map((m) => `${describeRange(m)} (${MISSING_CAUSE[m.cause]})`);
    return `audit ${each.join(", ")} of this run are missing, ${consequence}`;
  }
  // Only a ring drop the log shows is blamed on the ring.
  if (cause === "ring")
    return `audit ${ranges} of this run ${single ? "was" : "were"} dropped (the audit ring was full), ${consequence}`;
  return `audit ${ranges} of this run ${single ? "is" : "are"} ${MISSING_BECAUSE[cause]}, ${consequence}`;
}

/** What replaying a run logged with `captureDigests: false` says. */
const NO_DIGESTS_MESSAGE =
  "this run was logged with captureDigests: false: its windows counted digests the log does not hold, the inputs replay needs, so it cannot be replayed";

/** Whether the run's engine captured its digests (recorded options, else the pinned defaults). */
function capturedDigests(header: ReplayRun["header"]): boolean {
  const options = header.resolved ?? withLegacyDefaults(header.config);
  return (options as { readonly captureDigests?: unknown }).captureDigests !== false;
}

/** What replaying a run gave: the events by seq, inputs it could not replay, how it ended. */
interface Replayed {
  readonly produced: ProducedEvents;
  /** Why the input with that seq could not be replayed. */
  readonly unreplayable: ReadonlyMap<number, string>;
  /** The replayed engine's generation at the end (undefined when it does not say). */
  readonly finalGeneration: number | undefined;
  readonly timingsPastEnd: number;
}

/** Replays one run on a fresh engine and compares its events (see {@link replay}). */
async function replayRun(run: ReplayRun, options: ReplayOptions): Promise<ReplayRunResult> {
  const { header, events } = run;
  const recorded = header.resolved;
  const contextSize = options.context ?? 5;
  // Each pass over a long run's events takes milliseconds: the event loop turns between them.
  const slices = new EventLoopSlices();
  await slices.pause();
  const dropped = missingRecords(run);
  await slices.pause();
  const about = {
    run: run.run,
    start: run.start,
    generations: run.generations,
    closed: (header.logVersion ?? 0) >= CLOSE_MARKER_LOG_VERSION ? run.closed : null,
    records: events.length,
    dropped,
    options: recorded === undefined ? ("pinned" as const) : ("recorded" as const),
    rules: header.rules ?? null,
    ...(run.repair === undefined ? {} : { repair: run.repair }),
  };
  // A run whose windows counted digests the log does not hold cannot be replayed: say so plainly
  // rather than diverge at some record. (One that observed no digest replays all the same.)
  const counted = capturedDigests(header)
    ? -1
    : events.findIndex((e) => e.type === "window.closed" && e.count > 0);
  if (counted >= 0) {
    return {
      ...about,
      timingsPastEnd: 0,
      unreplayable: NO_DIGESTS_MESSAGE,
      ok: false,
      divergence: {
        run: run.run,
        index: run.indices[counted]!,
        seq: events[counted]!.seq,
        reason: NO_DIGESTS_MESSAGE,
        expected: events[counted]!,
        actual: null,
        context: events.slice(Math.max(0, counted - contextSize), counted),
        dropped: dropped.filter((gap) => gap.from < events[counted]!.seq),
      },
    };
  }
  const startTime = header.startTime;
  const timings = run.timings;
  const clock = timings === undefined ? new ReplayClock(startTime) : new ScriptedClock(startTime);
  // An override key set to undefined leaves the logged value alone (it means "not given"), and an
  // override of a nested option changes that option only: the rest stays as logged.
  await slices.pause();
  const refusals = commandRefusals(events);
  await slices.pause();
  const config: EngineConfig = {
    ...(mergeOverride(
      {
        ...(recorded === undefined ? withLegacyDefaults(header.config) : withRecordedDefaults(recorded)),
        // A logged engine had the log as audit sink and command hook: the stand-ins take the same
        // paths (a command delivers pending records first), so timers are scheduled alike.
        // Its hook refuses the commands the logged run refused, with the logged reason (a log
        // without timings had a hook too when it refused any).
        ...(timings !== undefined
          ? { auditSink: () => {}, onCommand: refusals.onCommand }
          : refusals.seqs.size > 0
            ? { onCommand: refusals.onCommand }
            : {}),
      },
      withoutUndefinedKeys(options.override ?? {}),
    ) as unknown as EngineConfig),
    scheduler: clock,
  };
  const engine = (options.createEngine ?? createEngine)(config);
  await slices.pause();
  const produced = new ProducedEvents(events.length);
  const subscription = engine.events.subscribe((event) => produced.add(event));
  const unreplayable = new Map<number, string>();
  let timingsPastEnd = 0;
  let finalGeneration: number | undefined;
  // A logged failure ends what can be replayed: the inputs and timings logged before it.
  const failure = run.failure;
  const inputs = failure === undefined ? events : events.filter((e) => e.seq <= failure.after);
  try {
    if (clock instanceof ScriptedClock)
      timingsPastEnd =
        failure === undefined
          ? await replayScripted(inputs, timings!, clock, engine, unreplayable, refusals.seqs)
          : await replayScripted(
              inputs,
              timings!.slice(0, failure.timingsBefore),
              clock,
              engine,
              unreplayable,
              refusals.seqs,
              failure.after,
            );
    else await replayByDueTimes(inputs, startTime, clock, engine, unreplayable, refusals.seqs);
    engine.flushEvents();
    finalGeneration = engine.generation;
  } finally {
    subscription.unsubscribe();
    await engine.close();
  }
  const result = { ...about, timingsPastEnd, unreplayable: null };
  const replayed = { produced, unreplayable, finalGeneration, timingsPastEnd };
  // The replay's last slice and the comparison's first would otherwise run in one turn.
  await slices.pause();
  const divergence = await findDivergence(run, replayed, dropped, contextSize);
  if (divergence !== undefined) return { ...result, ok: false, divergence };
  if (failure === undefined) return { ...result, ok: true };
  return { ...result, failure, ok: false, divergence: failedAt(run, failure, dropped, contextSize) };
}

/**
 * The outcome of a run whose engine failed internally and that replayed identically up to the
 * failure: reported at its failure record, with nothing to compare there.
 */
function failedAt(
  run: ReplayRun,
  failure: LoggedFailure,
  dropped: readonly MissingRecords[],
  contextSize: number,
): ReplayDivergence {
  const before = run.events.filter((e) => e.seq <= failure.after);
  const after = run.events.length - before.length;
  return {
    run: run.run,
    index: failure.index,
    seq: failure.after + 1,
    reason:
      `the logged engine failed internally at t=${failure.time} ms (generation ${failure.generation}): ${failure.message}; ` +
      `the engine adapted no more, and a replayed engine does not fail that way, so replay stopped there: ` +
      `the ${before.length} records up to it replayed identically, the ${after} logged after it were not compared`,
    expected: null,
    actual: null,
    context: before.slice(Math.max(0, before.length - contextSize)),
    dropped: dropped.filter((gap) => gap.from <= failure.after),
  };
}

/**
 * The first place where the replay did not write what the run's log holds (see {@link replay}),
 * then what shows records missing from the end of a closed run; undefined when there is none.
 */
async function findDivergence(
  run: ReplayRun,
  replayed: Replayed,
  dropped: readonly MissingRecords[],
  contextSize: number,
): Promise<ReplayDivergence | undefined> {
  const { header, events, indices } = run;
  const { produced, unreplayable } = replayed;
  // An event logged under an older audit schema carries that schema's `v`; the replay writes
  // today's. Later schemas only added event types and fields (see asOlderSchema), so the same
  // event compares as the same.
  const olderSchema = header.schema < AUDIT_SCHEMA_VERSION;
  // The replay stopped at a logged failure: what followed it was not replayed.
  const last = run.failure?.after ?? Number.POSITIVE_INFINITY;
  const slices = new EventLoopSlices();
  for (let k = 0; k < events.length; k++) {
    await slices.pause();
    const expected = events[k]!;
    if (expected.seq > last) continue;
    const written = produced.get(expected.seq) ?? null;
    const actual =
      olderSchema && written !== null && expected.v === header.schema && written.v === AUDIT_SCHEMA_VERSION
        ? asOlderSchema(written, expected.v)
        : written;
    const reason =
      unreplayable.get(expected.seq) ??
      (actual === null
        ? "the replayed engine wrote no event with this seq"
        : firstDifference(expected, actual));
    if (reason === undefined) continue;
    // A divergence after records went missing is most likely their doing: say so first.
    const before = dropped.filter((gap) => gap.from < expected.seq);
    return {
      run: run.run,
      index: indices[k]!,
      seq: expected.seq,
      reason: before.length === 0 ? reason : blameMissing(before, reason),
      expected,
      actual,
      context: events.slice(Math.max(0, k - contextSize), k),
      dropped: before,
    };
  }
  const tail =
    run.close === undefined || run.failure !== undefined ? undefined : closedTailProblems(run, replayed);
  if (tail === undefined) return undefined;
  return {
    run: run.run,
    index: run.close!.index,
    seq: tail.seq,
    reason: tail.reason,
    expected: null,
    actual: produced.get(tail.seq) ?? null,
    context: events.slice(Math.max(0, events.length - contextSize)),
    dropped,
  };
}

/**
 * What shows that audit records are missing from the end of a closed run, or undefined when
 * nothing does. Its close marker was written after the engine stopped, so no crash took them:
 * the replayed engine wrote records past the last one logged, ended at another generation than
 * the marker's, or timings were logged after audit records the log lacks.
 */
function closedTailProblems(run: ReplayRun, replayed: Replayed): { seq: number; reason: string } | undefined {
  const { produced, finalGeneration, timingsPastEnd } = replayed;
  const lastSeq = run.events.reduce((highest, e) => Math.max(highest, e.seq), 0);
  const beyond = produced.seqsAbove(lastSeq);
  const generation = finalGeneration ?? produced.last()?.generation;
  const marked = run.close!.generation;
  const problems: string[] = [];
  if (beyond.length > 0) {
    const range = describeRange({ from: beyond[0]!, to: beyond.at(-1)! });
    problems.push(`the replayed engine wrote ${range} after the last one logged (seq ${lastSeq})`);
  }
  if (marked !== undefined && generation !== undefined && generation !== marked)
    problems.push(`the close marker says generation ${marked}, the replay ended at generation ${generation}`);
  if (timingsPastEnd > 0)
    problems.push(
      `${timingsPastEnd} timing${timingsPastEnd === 1 ? " was" : "s were"} logged after audit records the log does not hold`,
    );
  if (problems.length === 0) return undefined;
  const lastIndex = run.indices.at(-1) ?? run.start;
  const cause = MISSING_CAUSE[missingCause(run.logSeqs, lastIndex, run.close!.index)];
  return {
    seq: lastSeq + 1,
    reason: `audit records missing from the end of this closed run (${cause}; its close marker was written after the engine stopped, so no crash took them): ${problems.join("; ")}`,
  };
}

/**
 * Replays a run of an older log: each input at its logged time, timers at their due times.
 * Delivery is left to the engine's own scheduled drains, as in the logged run: draining earlier
 * would change how full the audit ring gets, which the safety layer watches.
 */
async function replayByDueTimes(
  events: readonly AuditEvent[],
  startTime: number,
  clock: ReplayClock,
  engine: ReplayEngine,
  unreplayable: Map<number, string>,
  refused: ReadonlySet<number>,
): Promise<void> {
  let lastTime = startTime;
  const slices = new EventLoopSlices();
  for (const event of events) {
    await slices.pause();
    if (event.time > lastTime) lastTime = event.time;
    const input = inputOf(event, engine, refused);
    if (input === undefined) continue;
    clock.advanceTo(event.time);
    if (typeof input === "string") unreplayable.set(event.seq, input);
    else input();
  }
  clock.advanceTo(lastTime);
}

/**
 * Replays a run whose timings were logged: the inputs and the timings merged in logged order (a
 * timing logged after audit record `after` comes after the input with that seq or less), each at
 * its logged time. A timer the replay has not scheduled (or cancelled), or whose id the replay
 * gave to another timer as far as the log tells (see {@link ScriptedClock.fire}), does not run:
 * that is reported on the first record after it.
 *
 * A timing goes to the log when it happens, audit records only at the engine's next drain, so a log
 * cut short can hold timings that came after audit records it lost: those timings ran in a state
 * the replay cannot reach (a timer scheduled by a lost input does not exist in it). They are left
 * out, and their number returned. `end`, when given, is the last audit seq to replay timings up to
 * (a logged failure's), instead of the last logged record's.
 */
async function replayScripted(
  events: readonly AuditEvent[],
  timings: readonly TimeRecord[],
  clock: ScriptedClock,
  engine: ReplayEngine,
  unreplayable: Map<number, string>,
  refused: ReadonlySet<number>,
  end?: number,
): Promise<number> {
  let next = 0;
  const runTimingsBefore = (seq: number) => {
    for (; next < timings.length && timings[next]!.after < seq; next++) {
      const timing = timings[next]!;
      if (timing.kind === FLUSH_LOG_KIND) {
        clock.setTime(timing.time);
        engine.flushEvents();
      } else {
        const unfired = clock.fire(timing.id, timing.time, timing.after);
        if (unfired === undefined) continue;
        const at = events.find((e) => e.seq > timing.after) ?? events.at(-1);
        if (at !== undefined && !unreplayable.has(at.seq))
          unreplayable.set(at.seq, unfiredReason(timing, unfired));
      }
    }
  };
  const slices = new EventLoopSlices();
  for (const event of events) {
    await slices.pause();
    const input = inputOf(event, engine, refused);
    if (input === undefined) continue;
    runTimingsBefore(event.seq);
    clock.setTime(event.time);
    if (typeof input === "string") unreplayable.set(event.seq, input);
    else input();
  }
  // `after` never decreases along the log: what follows the first timing past the last logged
  // record is past it too.
  const lastSeq = end ?? events.reduce((highest, e) => Math.max(highest, e.seq), 0);
  runTimingsBefore(lastSeq + 1);
  return timings.length - next;
}

/** Why the replay could not run the timer of a logged `timing` (see {@link ScriptedClock.fire}). */
function unfiredReason(timing: TimeRecord, unfired: Unfired): string {
  const ran = `the logged run ran timer ${timing.id} at t=${timing.time} ms`;
  if (unfired.kind === "missing") return `${ran}, which the replay has not scheduled (or cancelled)`;
  const other = "so it is another timer (the replay scheduled its timers in another order)";
  return `${ran}, after audit record ${timing.after}, but the replay scheduled its timer ${timing.id} after record ${unfired.scheduledAfter}, ${other}`;
}

/**
 * What replaying `event` means: a call on the engine, a message when the input cannot be
 * rebuilt, or undefined when the event is an output to compare.
 */
function inputOf(
  event: AuditEvent,
  engine: ReplayEngine,
  refused: ReadonlySet<number>,
): (() => void) | string | undefined {
  switch (event.type) {
    case "digest.accepted":
    case "digest.rejected": {
      const digest = digestToReplay(event);
      return typeof digest === "string" ? digest : () => void engine.observe(digest.digest as Digest);
    }
    case "command": {
      const call = commandCall(event, engine);
      if (typeof call === "string" || !refused.has(event.seq)) return call;
      // Refused in the logged run, so refused here too (by the command hook): it throws, as it did.
      return () => {
        try {
          call();
        } catch {}
      };
    }
    default:
      return undefined;
  }
}

/**
 * The commands a logged run refused (each `command` record followed by its `command.refused`):
 * their seqs, and a command hook for the replaying engine that refuses the same ones, in order,
 * with the logged reason, so that it writes the same records and takes no more effect than they did.
 */
function commandRefusals(events: readonly AuditEvent[]): {
  readonly seqs: ReadonlySet<number>;
  readonly onCommand: () => void;
} {
  const seqs = new Set<number>();
  const reasons = new Map<number, string>();
  let commands = 0;
  let lastCommandSeq = -1;
  for (const event of events) {
    if (event.type === "command") {
      lastCommandSeq = event.seq;
      commands++;
    } else if (event.type === "command.refused" && lastCommandSeq >= 0) {
      seqs.add(lastCommandSeq);
      reasons.set(commands - 1, event.note ?? "");
    }
  }
  let made = 0;
  const onCommand = () => {
    const reason = reasons.get(made++);
    if (reason !== undefined) throw new Error(reason);
  };
  return { seqs, onCommand };
}

function commandCall(event: CommandEvent, engine: ReplayEngine): (() => void) | string {
  const note = event.note ?? "";
  switch (event.command) {
    case "setBaseline":
      return () => engine.setBaseline();
    case "rollback":
      return () => void (event.note === undefined ? engine.rollback() : engine.rollback(event.note));
    case "halt": {
      const halt = engine.halt?.bind(engine);
      if (halt === undefined) return "this engine has no halt()";
      const restores = event.restores;
      if (restores === undefined) return () => halt(note);
      const restoring = (engine as Partial<HaltRestoring>)[RESTORE_HALT];
      return typeof restoring === "function"
        ? () => restoring.call(engine, note, restores)
        : "this engine cannot restore a halt's reasons";
    }
    case "resetSafeMode": {
      const reset = engine.resetSafeMode?.bind(engine);
      return reset === undefined
        ? "this engine has no resetSafeMode()"
        : () => void reset({ acknowledge: note });
    }
    default:
      return `a "${event.command}" command cannot be replayed`;
  }
}

/**
 * `event` as a log of audit schema `v` holds it: that schema's `v`, without `window.closed`'s
 * `remeasure` below schema 5 and its `negatedMargin` and `mixedMeasure` below schema 6, which
 * added them (the window was re-measured, or measured the margin, all the same), nor
 * `spsa.stalled`'s `shortWindows` and `digestSpacingMs` nor `digest.rejected`'s `field` and
 * `problem` below schema 8, nor a restored halt's `restores` and a `baseline.set`'s `values` below
 * schema 9 (an older engine restored no halt's reasons and took no baseline from its config).
 */
function asOlderSchema(event: AuditEvent, v: AuditEvent["v"]): AuditEvent {
  if (event.type === "window.closed") {
    const { remeasure, negatedMargin, mixedMeasure, ...rest } = event;
    return {
      ...rest,
      ...(remeasure === undefined || v < 5 ? {} : { remeasure }),
      ...(negatedMargin === undefined || v < 6 ? {} : { negatedMargin }),
      ...(mixedMeasure === undefined || v < 6 ? {} : { mixedMeasure }),
      v,
    };
  }
  if (event.type === "spsa.stalled" && v < 8) {
    const { shortWindows: _, digestSpacingMs: __, ...rest } = event;
    return { ...rest, v };
  }
  if (event.type === "digest.rejected" && v < 8) {
    const { field: _, problem: __, ...rest } = event;
    return { ...rest, v };
  }
  if (event.type === "command" && v < 9) {
    const { restores: _, ...rest } = event;
    return { ...rest, v };
  }
  if (event.type === "baseline.set" && v < 9) {
    const { values: _, ...rest } = event;
    return { ...rest, v };
  }
  return { ...event, v };
}
