import { type SchedulerAction, Subscription } from "rxjs";
import type { EngineClock } from "../runtime/engine-clock.js";

/**
 * How early a logged timer may have run against the due time the replay computes for it: a
 * millisecond clock and a timer clock that round differently (Node's timers run up to about 2 ms
 * early by `Date.now()`), with room to spare.
 */
const EARLY_MS = 5;

/** Why {@link ScriptedClock.fire} did not run a timer. */
export type Unfired =
  /** No timer has the id: never scheduled, or cancelled. */
  | { readonly kind: "missing" }
  /**
   * The timer with the id cannot be due by the logged time (`dueAt` is the earliest it can be):
   * the logged run ran another timer.
   */
  | { readonly kind: "notDue"; readonly dueAt: number }
  /**
   * The timer with the id was scheduled after audit record `scheduledAfter`, later than the logged
   * run ran it: the logged run ran another timer.
   */
  | { readonly kind: "scheduledLater"; readonly scheduledAfter: number };

/**
 * The clock replay drives an engine with when the log recorded its timings (log version 3): time
 * is whatever replay sets, and a timer runs only when replay fires it by id, at the time the
 * logged run says it ran, never by its due time. Timers are numbered by schedule call from 0, as
 * the logged run's {@link RecordingClock} numbered them.
 *
 * @remarks
 * Ids alone do not say that the timer fired is the one the logged run ran: a replay that schedules
 * its timers in another order (a command the logged host issued from inside the engine, which the
 * replay issues after the entry) gives an id to another timer. Where the log tells them apart the
 * clock refuses it: a timer cannot run before the audit record it was scheduled after, nor before
 * its delay has passed since it was scheduled (the clock knows a time no later than the logged
 * one it was scheduled at: the time of a timer entry, which the logged clock reads first; for any
 * other entry, that of the entry before it, since the logged entry may read its time after
 * scheduling).
 */
export class ScriptedClock implements EngineClock {
  private time: number;
  /** A time the logged clock had reached, at the latest, when the current entry scheduled anything. */
  private settled: number;
  private nextTimer = 0;
  private lastSeq: () => number = () => 0;
  private readonly pending = new Map<number, ScriptedTimer<unknown>>();

  /** A clock reading `startTime` ms. */
  constructor(startTime: number) {
    this.time = startTime;
    this.settled = startTime;
  }

  now(): number {
    return this.time;
  }

  /** Sets the time (a logged input's time); runs nothing. */
  setTime(time: number): void {
    this.settled = Math.min(this.time, time);
    this.time = time;
  }

  enter(): void {}
  leave(): void {}
  attachAudit(lastSeq: () => number): void {
    this.lastSeq = lastSeq;
  }
  noteFlush(): void {}

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
    const timer = new ScriptedTimer(this.pending, this.nextTimer++, work, state);
    timer.dueAt = this.settled + (delay ?? 0);
    timer.scheduledAfter = this.lastSeq();
    this.pending.set(timer.id, timer as ScriptedTimer<unknown>);
    return timer;
  }

  /**
   * Runs timer `id` at `time`, the logged run having run it after audit record `after`; undefined
   * when it ran, else why not (see {@link Unfired}): then it stays pending.
   */
  fire(id: number, time: number, after: number): Unfired | undefined {
    const timer = this.pending.get(id);
    if (timer === undefined) return { kind: "missing" };
    if (timer.scheduledAfter > after) return { kind: "scheduledLater", scheduledAfter: timer.scheduledAfter };
    if (time < timer.dueAt - EARLY_MS) return { kind: "notDue", dueAt: timer.dueAt };
    this.pending.delete(id);
    // The logged clock read this time first thing in the timer's entry.
    this.time = time;
    this.settled = time;
    timer.run();
    return undefined;
  }
}

/** A pending timer of a {@link ScriptedClock}; rescheduling it from its own work keeps its id. */
class ScriptedTimer<T> extends Subscription implements SchedulerAction<T> {
  private rescheduled = false;
  /** The earliest time it can be due (a rescheduled timer: any time). */
  dueAt = Number.NEGATIVE_INFINITY;
  /** The audit seq the engine had reached when it was first scheduled. */
  scheduledAfter = 0;

  constructor(
    private readonly pending: Map<number, ScriptedTimer<unknown>>,
    readonly id: number,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
    private state: T | undefined,
  ) {
    super(() => pending.delete(id));
  }

  schedule(state?: T): Subscription {
    this.state = state;
    this.rescheduled = true;
    // Rescheduled from its own work: an interval runs from its last due time, not from now.
    this.dueAt = Number.NEGATIVE_INFINITY;
    this.pending.set(this.id, this as ScriptedTimer<unknown>);
    return this;
  }

  run(): void {
    this.rescheduled = false;
    this.work.call(this, this.state);
    if (!this.rescheduled) this.unsubscribe();
  }
}
