import { type SchedulerAction, Subscription } from "rxjs";
import type { EngineClock } from "../runtime/engine-clock.js";

/** Why {@link ScriptedClock.fire} did not run a timer. */
export type Unfired =
  /** No timer has the id: never scheduled, or cancelled. */
  | { readonly kind: "missing" }
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
 * clock refuses it: a timer cannot run before the audit record it was scheduled after. Logged
 * times are not used for this: they come from the wall clock, which may step back (NTP, a resumed
 * VM), while timers run on a monotonic one.
 */
export class ScriptedClock implements EngineClock {
  private time: number;
  private nextTimer = 0;
  private lastSeq: () => number = () => 0;
  private readonly pending = new Map<number, ScriptedTimer<unknown>>();

  /** A clock reading `startTime` ms. */
  constructor(startTime: number) {
    this.time = startTime;
  }

  now(): number {
    return this.time;
  }

  /** Sets the time (a logged input's time); runs nothing. */
  setTime(time: number): void {
    this.time = time;
  }

  enter(): void {}
  leave(): void {}
  attachAudit(lastSeq: () => number): void {
    this.lastSeq = lastSeq;
  }
  noteFlush(): void {}

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, _delay?: number, state?: T): Subscription {
    const timer = new ScriptedTimer(this.pending, this.nextTimer++, work, state);
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
    this.pending.delete(id);
    // The logged clock read this time first thing in the timer's entry.
    this.time = time;
    timer.run();
    return undefined;
  }
}

/** A pending timer of a {@link ScriptedClock}; rescheduling it from its own work keeps its id. */
class ScriptedTimer<T> extends Subscription implements SchedulerAction<T> {
  private rescheduled = false;
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
    this.pending.set(this.id, this as ScriptedTimer<unknown>);
    return this;
  }

  run(): void {
    this.rescheduled = false;
    this.work.call(this, this.state);
    if (!this.rescheduled) this.unsubscribe();
  }
}
