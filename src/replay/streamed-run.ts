/**
 * One run of a decision log replayed as its records are read: each logged event is compared with
 * the replay's as soon as neither can change any more, then let go, so that replaying a log holds
 * the records in flight rather than every event of it.
 */
import type { Subscription } from "rxjs";
import type { AuditEvent } from "../audit/events.js";
import {
  type EngineLogHeader,
  FLUSH_LOG_KIND,
  type LoggedRepair,
  type TimeRecord,
} from "../log/log-records.js";
import type { FailureRecord } from "../log/log-runs.js";
import { blameMissing, closedTailReason, failureReason, loggedAgainstWritten } from "./divergence-reasons.js";
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
  isInput,
  NO_DIGESTS_MESSAGE,
  replayEngine,
  runAbout,
  unfiredReason,
} from "./replay-steps.js";
import { RunGaps } from "./run-gaps.js";
import { ScriptedClock } from "./scripted-clock.js";

/**
 * Replays a run whose log records its timings (log version 3) on a {@link ScriptedClock}, as its
 * records come: the inputs and the timings merged in logged order (a timing logged after audit
 * record `after` comes before the input with a greater seq), each at its logged time, then every
 * logged event compared with the event the replay wrote under its seq (see `replay`).
 *
 * @remarks
 * An input is replayed once the next one is read (or the run ends), since a refused command's
 * refusal is logged after it. A logged event is compared once an input past it has been replayed
 * (every timing before it has run, and a timer that could not run is blamed on it or a later one)
 * and the replay has written its seq or one past it (what it wrote under it is final). What the
 * replay holds is what was logged since the input before last: a few windows' worth while digests
 * come, everything an idle engine's timers logged while none did. A run's events come in seq order in any log a writer
 * wrote; in one whose seqs go back (edited by hand) the comparison waits for the run's end, and an
 * event whose seq is one already compared finds nothing the replay wrote under it (that was let go).
 *
 * A run logged with `captureDigests: false` is replayed until its first window that counted
 * digests (they are not in the log), and is then reported unreplayable.
 */
export class StreamedRun {
  // What the log tells of the run.
  private events = 0;
  private eventsBeforeFailure = 0;
  private generations: { first: number; last: number } | undefined;
  private readonly gaps = new RunGaps();
  private closeMarker: { readonly index: number; readonly generation: number | undefined } | undefined;
  private closeCause: MissingRecords["cause"] = "ring";
  private loggedFailure: LoggedFailure | undefined;
  private timingsTaken = 0;
  private lastLoggedSeq = 0;
  private readonly refusals = new CommandRefusals();
  private readonly digestsCaptured: boolean;
  // The last events read (only for a run that did not capture its digests: the context of its end).
  private readonly arrived: RecentEvents;
  private uncaptured: ReplayDivergence | undefined;

  // The replay: its engine and clock while it runs.
  private live:
    | { readonly engine: ReplayEngine; readonly clock: ScriptedClock; readonly subscription: Subscription }
    | undefined;
  private closing: Promise<void> | undefined;
  private held: AuditEvent | undefined;
  private readonly timings: TimeRecord[] = [];
  private nextTiming = 0;
  private replayedThrough = 0;
  private timingsPastEnd = 0;
  private finalGeneration: number | undefined;
  private readonly unreplayable = new Map<number, string>();
  private readonly written = new Map<number, AuditEvent>();
  private writtenHighest = 0;
  private lastWritten: AuditEvent | undefined;
  private forgottenThrough = 0;

  // The comparison.
  private pending: { readonly event: AuditEvent; readonly index: number }[] = [];
  private pendingHead = 0;
  private inOrder = true;
  private lastArrivedSeq = 0;
  private readonly passed: RecentEvents;
  private divergence: ReplayDivergence | undefined;
  // What the run's end showed (see end): its first difference, or records missing from its end.
  private outcome: ReplayDivergence | undefined;

  constructor(
    readonly run: number,
    readonly start: number,
    private readonly header: EngineLogHeader,
    private readonly repair: LoggedRepair | undefined,
    options: ReplayOptions,
  ) {
    const contextSize = options.context ?? 5;
    this.passed = new RecentEvents(contextSize);
    this.digestsCaptured = capturedDigests(header);
    this.arrived = new RecentEvents(this.digestsCaptured ? 0 : contextSize);
    const clock = new ScriptedClock(header.startTime);
    // A logged engine had the log as audit sink and command hook: the stand-ins take the same paths
    // (a command delivers pending records first), so timers are scheduled alike. Its hook refuses
    // the commands the logged run refused, with the logged reason.
    const hooks = { auditSink: () => {}, onCommand: this.refusals.onCommand };
    const engine = replayEngine(header, options, hooks, clock);
    this.live = { engine, clock, subscription: engine.events.subscribe((event) => this.wrote(event)) };
  }

  /** A record of the log after the run's start: the log's own seq of the record before it and its own. */
  record(before: number | undefined, seq: number | undefined): void {
    this.gaps.pair(before, seq);
  }

  event(event: AuditEvent, index: number): void {
    const seq = event.seq;
    this.events++;
    const g = this.generations;
    if (g === undefined) this.generations = { first: event.generation, last: event.generation };
    else {
      g.first = Math.min(g.first, event.generation);
      g.last = Math.max(g.last, event.generation);
    }
    this.gaps.event(seq);
    if (seq > this.lastLoggedSeq) this.lastLoggedSeq = seq;
    if (seq <= this.lastArrivedSeq) this.inOrder = false;
    this.lastArrivedSeq = seq;
    this.refusals.take(event);
    if (!this.digestsCaptured) this.watchForDigests(event, index);
    if (this.live === undefined) return;
    // The records a failed engine assigned after its failure come after its failure record.
    if (this.loggedFailure !== undefined && seq > this.loggedFailure.after) return;
    this.eventsBeforeFailure++;
    if (this.divergence === undefined) this.pending.push({ event, index });
    if (isInput(event)) {
      if (this.held !== undefined) this.replay(this.held);
      this.held = event;
    }
    this.settle(false);
  }

  timing(timing: TimeRecord): void {
    this.timingsTaken++;
    // Those logged after a failure are not replayed: the engine adapted no more.
    if (this.loggedFailure === undefined && this.live !== undefined) this.timings.push(timing);
  }

  close(index: number, generation: number | undefined): void {
    this.closeMarker = { index, generation };
    this.closeCause = this.gaps.cause();
  }

  failure(failure: FailureRecord, index: number): void {
    this.loggedFailure ??= { ...failure, index, timingsBefore: this.timingsTaken };
  }

  /**
   * The run's last record has been read: replays what is left of it and compares the rest, then
   * lets go of all but its outcome (a log may hold many runs).
   */
  end(): void {
    const live = this.live;
    if (live !== undefined) {
      if (this.held !== undefined) this.replay(this.held);
      this.held = undefined;
      // `after` never decreases along the log: what follows the first timing past the last logged
      // record is past it too.
      this.runTimingsBefore((this.loggedFailure?.after ?? this.lastLoggedSeq) + 1);
      this.timingsPastEnd = this.timings.length - this.nextTiming;
      live.engine.flushEvents();
      this.finalGeneration = live.engine.generation;
      this.stop();
    }
    this.settle(true);
    this.outcome = this.divergence ?? this.closedTail();
    this.pending = [];
    this.timings.length = 0;
    this.written.clear();
    this.unreplayable.clear();
  }

  /** Stops the replay: its engine closes (see {@link closed}). */
  stop(): void {
    const live = this.live;
    if (live === undefined) return;
    this.live = undefined;
    live.subscription.unsubscribe();
    this.closing = live.engine.close();
    // Awaited once the log is read; until then its failure is not an unhandled rejection.
    this.closing.catch(() => undefined);
  }

  /** Settles once the engine has closed (rejects when its close failed). */
  async closed(): Promise<void> {
    await this.closing;
  }

  /** The run's outcome, once {@link end} has run. */
  async result(): Promise<ReplayRunResult> {
    await this.closed();
    const about = runAbout({
      run: this.run,
      start: this.start,
      header: this.header,
      repair: this.repair,
      generations: this.generations,
      closed: this.closeMarker !== undefined,
      records: this.events,
      dropped: this.gaps.all,
    });
    if (this.uncaptured !== undefined)
      return {
        ...about,
        timingsPastEnd: 0,
        unreplayable: NO_DIGESTS_MESSAGE,
        ok: false,
        divergence: this.uncaptured,
      };
    const result = { ...about, timingsPastEnd: this.timingsPastEnd, unreplayable: null };
    const divergence = this.outcome;
    if (divergence !== undefined) return { ...result, ok: false, divergence };
    const failure = this.loggedFailure;
    if (failure === undefined) return { ...result, ok: true };
    const reason = failureReason(failure, this.eventsBeforeFailure, this.events - this.eventsBeforeFailure);
    return {
      ...result,
      failure,
      ok: false,
      divergence: {
        run: this.run,
        index: failure.index,
        seq: failure.after + 1,
        reason,
        expected: null,
        actual: null,
        context: this.passed.list(),
        dropped: this.gaps.all.filter((gap) => gap.from <= failure.after),
      },
    };
  }

  /** Reports the run unreplayable at its first window that counted digests it did not capture. */
  private watchForDigests(event: AuditEvent, index: number): void {
    if (this.uncaptured === undefined && event.type === "window.closed" && event.count > 0) {
      this.uncaptured = {
        run: this.run,
        index,
        seq: event.seq,
        reason: NO_DIGESTS_MESSAGE,
        expected: event,
        actual: null,
        context: this.arrived.list(),
        dropped: this.gaps.before(event.seq),
      };
      this.stop();
    }
    this.arrived.push(event);
  }

  /** Replays an input: the timings logged before it, then the input at its logged time. */
  private replay(event: AuditEvent): void {
    const { engine, clock } = this.live!;
    const input = inputOf(event, engine, this.refusals.seqs);
    this.runTimingsBefore(event.seq);
    clock.setTime(event.time);
    if (typeof input === "string") this.unreplayable.set(event.seq, input);
    else input?.();
    if (event.seq > this.replayedThrough) this.replayedThrough = event.seq;
  }

  /**
   * Runs the timings logged after audit records before `seq`. A timer the replay has not scheduled
   * (or cancelled), or whose id it gave to another timer as far as the log tells (see
   * `ScriptedClock.fire`), does not run: that is reported on the first record after it.
   */
  private runTimingsBefore(seq: number): void {
    const { engine, clock } = this.live!;
    const timings = this.timings;
    for (; this.nextTiming < timings.length && timings[this.nextTiming]!.after < seq; this.nextTiming++) {
      const timing = timings[this.nextTiming]!;
      if (timing.kind === FLUSH_LOG_KIND) {
        clock.setTime(timing.time);
        engine.flushEvents();
        continue;
      }
      const unfired = clock.fire(timing.id, timing.time, timing.after);
      if (unfired === undefined) continue;
      const at = this.firstPendingAfter(timing.after);
      if (at !== undefined && !this.unreplayable.has(at.seq))
        this.unreplayable.set(at.seq, unfiredReason(timing, unfired));
    }
    if (this.nextTiming >= 1024 && this.nextTiming * 2 >= timings.length) {
      timings.splice(0, this.nextTiming);
      this.nextTiming = 0;
    }
  }

  /** The first event waiting to be compared with a seq past `after`, else the last one waiting. */
  private firstPendingAfter(after: number): AuditEvent | undefined {
    for (let k = this.pendingHead; k < this.pending.length; k++)
      if (this.pending[k]!.event.seq > after) return this.pending[k]!.event;
    return this.pending.at(-1)?.event;
  }

  private wrote(event: AuditEvent): void {
    if (event.seq >= this.writtenHighest) {
      this.writtenHighest = event.seq;
      this.lastWritten = event;
    }
    if (this.divergence === undefined && (!this.inOrder || event.seq > this.forgottenThrough))
      this.written.set(event.seq, event);
  }

  /**
   * Compares the events waiting whose comparison nothing can change any more (all of them once
   * `final`), in log order, up to the first that differs.
   */
  private settle(final: boolean): void {
    const pending = this.pending;
    while (this.divergence === undefined && this.pendingHead < pending.length) {
      const { event, index } = pending[this.pendingHead]!;
      const seq = event.seq;
      // What the replay wrote under a seq is final once written: it numbers its events once each, in order.
      const written = this.written.get(seq) ?? null;
      const writtenFinal = written !== null || this.writtenHighest > seq;
      if (!final && !(this.inOrder && this.replayedThrough > seq && writtenFinal)) break;
      this.pendingHead++;
      if (this.loggedFailure !== undefined && seq > this.loggedFailure.after) continue;
      const { actual, reason } = loggedAgainstWritten(
        event,
        written,
        this.header.schema,
        this.unreplayable.get(seq),
      );
      if (reason !== undefined) {
        const before = this.gaps.before(seq);
        this.divergence = {
          run: this.run,
          index,
          seq,
          reason: before.length === 0 ? reason : blameMissing(before, reason),
          expected: event,
          actual,
          context: this.passed.list(),
          dropped: before,
        };
        break;
      }
      this.passed.push(event);
      this.unreplayable.delete(seq);
      if (this.inOrder) this.forgetWrittenThrough(seq);
    }
    if (this.divergence !== undefined) {
      // Nothing more is compared: the replay runs on only to count the timings past the log's end.
      this.pending = [];
      this.pendingHead = 0;
      this.written.clear();
      this.unreplayable.clear();
    } else if (this.pendingHead >= 1024 && this.pendingHead * 2 >= pending.length) {
      pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
  }

  /** Lets go of what the replay wrote up to `seq`: no event logged later has such a seq. */
  private forgetWrittenThrough(seq: number): void {
    for (let s = this.forgottenThrough + 1; s <= seq; s++) this.written.delete(s);
    if (seq > this.forgottenThrough) this.forgottenThrough = seq;
  }

  /** What shows records missing from the end of a closed run (see `closedTailReason`), if anything. */
  private closedTail(): ReplayDivergence | undefined {
    const marker = this.closeMarker;
    if (marker === undefined || this.loggedFailure !== undefined) return undefined;
    const lastSeq = this.lastLoggedSeq;
    const beyond = [...this.written.keys()].filter((s) => s > lastSeq).sort((a, b) => a - b);
    const reason = closedTailReason({
      lastSeq,
      beyond,
      generation: this.finalGeneration ?? this.lastWritten?.generation,
      marked: marker.generation,
      timingsPastEnd: this.timingsPastEnd,
      cause: this.closeCause,
    });
    if (reason === undefined) return undefined;
    return {
      run: this.run,
      index: marker.index,
      seq: lastSeq + 1,
      reason,
      expected: null,
      actual: this.written.get(lastSeq + 1) ?? null,
      context: this.passed.list(),
      dropped: this.gaps.all,
    };
  }
}

/** The last `size` events pushed, oldest first. */
class RecentEvents {
  private readonly ring: AuditEvent[] = [];
  private next = 0;

  constructor(private readonly size: number) {}

  push(event: AuditEvent): void {
    if (this.size <= 0) return;
    if (this.ring.length < this.size) this.ring.push(event);
    else this.ring[this.next] = event;
    this.next = (this.next + 1) % this.size;
  }

  list(): AuditEvent[] {
    return this.ring.length < this.size
      ? [...this.ring]
      : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}
