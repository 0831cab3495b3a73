import type { Observable } from "rxjs";
import type { AuditEvent } from "../audit/events.js";
import type { EngineConfig } from "../engine/config.js";
import type { Digest } from "../engine/digest.js";
import type { LoggedRepair } from "../log/log-records.js";
import { LogRunSplitter } from "../log/log-runs.js";
import { ReplayInputError } from "../log/replay-input-error.js";
import type { TornTail } from "../log/scan.js";
import { LogReplay } from "./log-replay.js";
import {
  type DecisionLogInput,
  feedLogAsync,
  type GenerationRange,
  type LoggedFailure,
  readAgainIfCompacted,
  type readReplayLog,
} from "./read-log.js";
import { checkReaderOptions } from "./reader-options.js";
import type { ScriptedClock } from "./scripted-clock.js";
import type { ReplayClock } from "./virtual-clock.js";

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

/** The keys of {@link ReplayOptions}. */
const REPLAY_OPTION_KEYS = ["context", "override", "createEngine", "run"] satisfies (keyof ReplayOptions)[];

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
 * A run with timings is replayed as the log is read (a segment at a time), and each logged event
 * compared as soon as the replay has gone past it: memory holds the records in flight, a few
 * windows' worth, however long the run. A run of an older log (no timings) is held whole and
 * replayed once the log is read.
 *
 * Deterministic; cold path.
 *
 * @throws ReplayInputError when the log has no engine header, `options` holds a key it does not
 * take, or `options.context` is not a whole number ≥ 0; `ReplayRunError` (a ReplayInputError) when `options.run` names no run of the log.
 */
export async function replay(log: DecisionLogInput, options: ReplayOptions = {}): Promise<ReplayResult> {
  checkReaderOptions("replay", options, REPLAY_OPTION_KEYS);
  const context: unknown = options.context;
  if (
    context !== undefined &&
    !(typeof context === "number" && Number.isSafeInteger(context) && context >= 0)
  )
    throw new ReplayInputError(`replay: context must be a whole number ≥ 0, got ${String(context)}`);
  return readAgainIfCompacted(log, async () => {
    const replayer = new LogReplay(options);
    try {
      const splitter = new LogRunSplitter(replayer);
      const { tornTail } = await feedLogAsync(log, (record) => splitter.take(record));
      const { unclosed } = splitter.end();
      const runs = await replayer.results();
      const failed = runs.find((r) => !r.ok);
      if (failed !== undefined && !failed.ok)
        return { ok: false, divergence: failed.divergence, runs, tornTail, unclosed };
      const records = runs.reduce((sum, r) => sum + r.records, 0);
      return { ok: true, records, runs, tornTail, unclosed };
    } catch (error) {
      await replayer.stop();
      throw error;
    }
  });
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
