/**
 * A run of an older decision log, one that records no timings (before log version 3): held whole
 * while the log is read, then replayed by its timers' due times and compared.
 */
import type { AuditEvent } from "../audit/events.js";
import type { EngineLogHeader, LoggedRepair } from "../log/log-records.js";
import type { FailureRecord } from "../log/log-runs.js";
import { EventLoopSlices } from "../runtime/event-loop-slices.js";
import { blameMissing, closedTailReason, failureReason, loggedAgainstWritten } from "./divergence-reasons.js";
import { ProducedEvents } from "./produced-events.js";
import type { LoggedFailure } from "./read-log.js";
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
  runAbout,
} from "./replay-steps.js";
import { RunGaps } from "./run-gaps.js";
import { ReplayClock } from "./virtual-clock.js";

/**
 * Holds a run's records as they come, then replays it once the log is read (see {@link result}).
 */
export class HeldRun {
  private readonly events: AuditEvent[] = [];
  private readonly indices: number[] = [];
  private generations: { first: number; last: number } | undefined;
  private lastSeq = 0;
  private readonly gaps = new RunGaps();
  private close: { readonly index: number; readonly generation: number | undefined } | undefined;
  private closeCause: MissingRecords["cause"] = "ring";
  private failure: LoggedFailure | undefined;

  constructor(
    readonly run: number,
    readonly start: number,
    private readonly header: EngineLogHeader,
    private readonly repair: LoggedRepair | undefined,
  ) {}

  /** A record of the log after the run's start: the log's own seq of the record before it and its own. */
  record(before: number | undefined, seq: number | undefined): void {
    this.gaps.pair(before, seq);
  }

  event(event: AuditEvent, index: number): void {
    this.events.push(event);
    this.indices.push(index);
    this.gaps.event(event.seq);
    if (event.seq > this.lastSeq) this.lastSeq = event.seq;
    const g = this.generations;
    if (g === undefined) this.generations = { first: event.generation, last: event.generation };
    else {
      g.first = Math.min(g.first, event.generation);
      g.last = Math.max(g.last, event.generation);
    }
  }

  closeAt(index: number, generation: number | undefined): void {
    this.close = { index, generation };
    this.closeCause = this.gaps.cause();
  }

  failAt(failure: FailureRecord, index: number): void {
    this.failure ??= { ...failure, index, timingsBefore: 0 };
  }

  /**
   * Replays the run on a fresh engine on a {@link ReplayClock} and compares its events (see
   * `replay`): each input at its logged time, timers at their due times.
   */
  async result(options: ReplayOptions): Promise<ReplayRunResult> {
    const { header, events, indices, gaps } = this;
    const contextSize = options.context ?? 5;
    const about = runAbout({
      run: this.run,
      start: this.start,
      header,
      repair: this.repair,
      generations: this.generations,
      closed: this.close !== undefined,
      records: events.length,
      dropped: gaps.all,
    });
    // Each pass over a long run's events takes milliseconds: the event loop turns between them.
    const slices = new EventLoopSlices();
    await slices.pause();
    // A run whose windows counted digests the log does not hold cannot be replayed: say so plainly
    // rather than diverge at some record. (One that observed no digest replays all the same.)
    const counted = capturedDigests(header)
      ? -1
      : events.findIndex((e) => e.type === "window.closed" && e.count > 0);
    if (counted >= 0) {
      const expected = events[counted]!;
      return {
        ...about,
        timingsPastEnd: 0,
        unreplayable: NO_DIGESTS_MESSAGE,
        ok: false,
        divergence: {
          run: this.run,
          index: indices[counted]!,
          seq: expected.seq,
          reason: NO_DIGESTS_MESSAGE,
          expected,
          actual: null,
          context: events.slice(Math.max(0, counted - contextSize), counted),
          dropped: gaps.before(expected.seq),
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
    const failure = this.failure;
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
    const divergence = await this.findDivergence({ produced, unreplayable, finalGeneration }, contextSize);
    if (divergence !== undefined) return { ...result, ok: false, divergence };
    if (failure === undefined) return { ...result, ok: true };
    const before = events.filter((e) => e.seq <= failure.after);
    return {
      ...result,
      failure,
      ok: false,
      divergence: {
        run: this.run,
        index: failure.index,
        seq: failure.after + 1,
        reason: failureReason(failure, before.length, events.length - before.length),
        expected: null,
        actual: null,
        context: before.slice(Math.max(0, before.length - contextSize)),
        dropped: gaps.all.filter((gap) => gap.from <= failure.after),
      },
    };
  }

  /**
   * The first place where the replay did not write what the run's log holds (see `replay`), then
   * what shows records missing from the end of a closed run; undefined when there is none.
   */
  private async findDivergence(
    replayed: Replayed,
    contextSize: number,
  ): Promise<ReplayDivergence | undefined> {
    const { header, events, indices, gaps } = this;
    const { produced, unreplayable, finalGeneration } = replayed;
    // The replay stopped at a logged failure: what followed it was not replayed.
    const last = this.failure?.after ?? Number.POSITIVE_INFINITY;
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
      const before = gaps.before(expected.seq);
      return {
        run: this.run,
        index: indices[k]!,
        seq: expected.seq,
        reason: before.length === 0 ? reason : blameMissing(before, reason),
        expected,
        actual,
        context: events.slice(Math.max(0, k - contextSize), k),
        dropped: before,
      };
    }
    const close = this.close;
    if (close === undefined || this.failure !== undefined) return undefined;
    const lastSeq = this.lastSeq;
    const reason = closedTailReason({
      lastSeq,
      beyond: produced.seqsAbove(lastSeq),
      generation: finalGeneration ?? produced.last()?.generation,
      marked: close.generation,
      timingsPastEnd: 0,
      cause: this.closeCause,
    });
    if (reason === undefined) return undefined;
    return {
      run: this.run,
      index: close.index,
      seq: lastSeq + 1,
      reason,
      expected: null,
      actual: produced.get(lastSeq + 1) ?? null,
      context: events.slice(Math.max(0, events.length - contextSize)),
      dropped: gaps.all,
    };
  }
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
