/**
 * A run of an older decision log, one that records no timings (before log version 3): held whole
 * while the log is read, then replayed by its timers' due times and compared.
 */
import type { AuditEvent } from "../audit/events.js";
import { CLOSE_MARKER_LOG_VERSION, type EngineLogHeader, type LoggedRepair } from "../log/log-records.js";
import { EventLoopSlices } from "../runtime/event-loop-slices.js";
import { blameMissing, closedTailReason, failureReason, loggedAgainstWritten } from "./divergence-reasons.js";
import type { FailureRecord } from "./log-runs.js";
import { ProducedEvents } from "./produced-events.js";
import type { GenerationRange, LoggedFailure, ReplayRun } from "./read-log.js";
import type {
  MissingRecords,
  ReplayDivergence,
  ReplayEngine,
  ReplayOptions,
  ReplayRunResult,
} from "./replay.js";
import {
  CommandRefusals,
  capturedDigests,
  inputOf,
  NO_DIGESTS_MESSAGE,
  replayEngine,
} from "./replay-steps.js";
import { ReplayClock } from "./virtual-clock.js";

/** Holds a run's records as they come (see {@link ReplayRun}), to replay it once the log is read. */
export class HeldRun {
  private readonly events: AuditEvent[] = [];
  private readonly indices: number[] = [];
  private generations: { first: number; last: number } | undefined;
  private close: { readonly index: number; readonly generation: number | undefined } | undefined;
  private failure: LoggedFailure | undefined;
  // The log's own seqs from the run's start on, by log position.
  private readonly logSeqs: (number | undefined)[] = [];

  constructor(
    readonly run: number,
    readonly start: number,
    private readonly header: EngineLogHeader,
    private readonly repair: LoggedRepair | undefined,
    startSeq: number | undefined,
  ) {
    this.logSeqs[start] = startSeq;
  }

  record(index: number, seq: number | undefined): void {
    this.logSeqs[index] = seq;
  }

  event(event: AuditEvent, index: number): void {
    this.events.push(event);
    this.indices.push(index);
    const g = this.generations;
    if (g === undefined) this.generations = { first: event.generation, last: event.generation };
    else {
      g.first = Math.min(g.first, event.generation);
      g.last = Math.max(g.last, event.generation);
    }
  }

  closeAt(index: number, generation: number | undefined): void {
    this.close = { index, generation };
  }

  failAt(failure: FailureRecord, index: number): void {
    this.failure ??= { ...failure, index, timingsBefore: 0 };
  }

  /** The run as `readReplayLog` gives it. */
  held(): ReplayRun {
    return {
      run: this.run,
      start: this.start,
      header: this.header,
      events: this.events,
      indices: this.indices,
      generations: this.generations as GenerationRange | undefined,
      timings: undefined,
      closed: this.close !== undefined,
      close: this.close,
      failure: this.failure,
      repair: this.repair,
      logSeqs: this.logSeqs,
    };
  }
}

/**
 * Replays a held run on a fresh engine on a {@link ReplayClock} and compares its events (see
 * `replay`): each input at its logged time, timers at their due times.
 */
export async function replayHeldRun(run: ReplayRun, options: ReplayOptions): Promise<ReplayRunResult> {
  const { header, events } = run;
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
    options: header.resolved === undefined ? ("pinned" as const) : ("recorded" as const),
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
  const clock = new ReplayClock(header.startTime);
  await slices.pause();
  const refusals = new CommandRefusals();
  for (const event of events) refusals.take(event);
  await slices.pause();
  // Its hook, when the logged run refused any command, refuses the same ones with the logged reason.
  const hooks = refusals.seqs.size > 0 ? { onCommand: refusals.onCommand } : {};
  const engine = replayEngine(header, options, hooks, clock);
  await slices.pause();
  const produced = new ProducedEvents(events.length);
  const subscription = engine.events.subscribe((event) => produced.add(event));
  const unreplayable = new Map<number, string>();
  let finalGeneration: number | undefined;
  // A logged failure ends what can be replayed: the inputs logged before it.
  const failure = run.failure;
  const inputs = failure === undefined ? events : events.filter((e) => e.seq <= failure.after);
  try {
    await replayByDueTimes(inputs, header.startTime, clock, engine, unreplayable, refusals.seqs);
    engine.flushEvents();
    finalGeneration = engine.generation;
  } finally {
    subscription.unsubscribe();
    await engine.close();
  }
  const result = { ...about, timingsPastEnd: 0, unreplayable: null };
  // The replay's last slice and the comparison's first would otherwise run in one turn.
  await slices.pause();
  const divergence = await findDivergence(
    run,
    { produced, unreplayable, finalGeneration },
    dropped,
    contextSize,
  );
  if (divergence !== undefined) return { ...result, ok: false, divergence };
  if (failure === undefined) return { ...result, ok: true };
  const before = events.filter((e) => e.seq <= failure.after);
  return {
    ...result,
    failure,
    ok: false,
    divergence: {
      run: run.run,
      index: failure.index,
      seq: failure.after + 1,
      reason: failureReason(failure, before.length, events.length - before.length),
      expected: null,
      actual: null,
      context: before.slice(Math.max(0, before.length - contextSize)),
      dropped: dropped.filter((gap) => gap.from <= failure.after),
    },
  };
}

/**
 * Replays a run's inputs, each at its logged time, timers at their due times. Delivery is left to
 * the engine's own scheduled drains, as in the logged run: draining earlier would change how full
 * the audit ring gets, which the safety layer watches.
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

/** What replaying a run gave: the events by seq, inputs it could not replay, its last generation. */
interface Replayed {
  readonly produced: ProducedEvents;
  /** Why the input with that seq could not be replayed. */
  readonly unreplayable: ReadonlyMap<number, string>;
  /** The replayed engine's generation at the end (undefined when it does not say). */
  readonly finalGeneration: number | undefined;
}

/**
 * The first place where the replay did not write what the run's log holds (see `replay`), then
 * what shows records missing from the end of a closed run; undefined when there is none.
 */
async function findDivergence(
  run: ReplayRun,
  replayed: Replayed,
  dropped: readonly MissingRecords[],
  contextSize: number,
): Promise<ReplayDivergence | undefined> {
  const { header, events, indices } = run;
  const { produced, unreplayable, finalGeneration } = replayed;
  // The replay stopped at a logged failure: what followed it was not replayed.
  const last = run.failure?.after ?? Number.POSITIVE_INFINITY;
  const slices = new EventLoopSlices();
  for (let k = 0; k < events.length; k++) {
    await slices.pause();
    const expected = events[k]!;
    if (expected.seq > last) continue;
    const written = produced.get(expected.seq) ?? null;
    const { actual, reason } = loggedAgainstWritten(
      expected,
      written,
      header.schema,
      unreplayable.get(expected.seq),
    );
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
  if (run.close === undefined || run.failure !== undefined) return undefined;
  const lastSeq = run.events.reduce((highest, e) => Math.max(highest, e.seq), 0);
  const lastIndex = run.indices.at(-1) ?? run.start;
  const reason = closedTailReason({
    lastSeq,
    beyond: produced.seqsAbove(lastSeq),
    generation: finalGeneration ?? produced.last()?.generation,
    marked: run.close.generation,
    timingsPastEnd: 0,
    cause: missingCause(run.logSeqs, lastIndex, run.close.index),
  });
  if (reason === undefined) return undefined;
  return {
    run: run.run,
    index: run.close.index,
    seq: lastSeq + 1,
    reason,
    expected: null,
    actual: produced.get(lastSeq + 1) ?? null,
    context: events.slice(Math.max(0, events.length - contextSize)),
    dropped,
  };
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
