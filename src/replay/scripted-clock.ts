import { type SchedulerAction, Subscription } from "rxjs";
import type { EngineClock } from "../runtime/engine-clock.js";

/**
 * The clock replay drives an engine with when the log recorded its timings (log version 3): time
 * is whatever replay sets, and a timer runs only when replay fires it by id, at the time the
 * logged run says it ran, never by its due time. Timers are numbered by schedule call from 0, as
 * the logged run's {@link RecordingClock} numbered them.
 */
export class ScriptedClock implements EngineClock {
  private time: number;
  private nextTimer = 0;
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
  attachAudit(): void {}
  noteFlush(): void {}

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, _delay?: number, state?: T): Subscription {
    const timer = new ScriptedTimer(this.pending, this.nextTimer++, work, state);
    this.pending.set(timer.id, timer as ScriptedTimer<unknown>);
    return timer;
  }

  /** Runs timer `id` at `time`; false when no such timer is pending (never scheduled, or cancelled). */
  fire(id: number, time: number): boolean {
    const timer = this.pending.get(id);
    if (timer === undefined) return false;
    this.pending.delete(id);
    this.time = time;
    timer.run();
    return true;
  }
}

/** A pending timer of a {@link ScriptedClock}; rescheduling it from its own work keeps its id. */
class ScriptedTimer<T> extends Subscription implements SchedulerAction<T> {
  private rescheduled = false;

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
