import { type SchedulerAction, type SchedulerLike, Subscription } from "rxjs";

/**
 * The engine's scheduler as its own timers use it: a `schedule()` that throws (a host's scheduler
 * that breaks, or one that ran work inline and met an engine check) hands the error to `onError`
 * and schedules nothing, rather than throw. Timers are set from inside the engine's actors'
 * actions too, where a throw would stop the whole actor system: no halt, rollback or reset would
 * be taken afterwards, while the engine went on answering `observe`.
 *
 * @remarks
 * A class, not closures made per engine: a supervisor holds thousands of engines, and closures
 * called this often would each carry their own feedback vector (about 0.9 KB per engine).
 */
export class GuardedScheduler implements SchedulerLike {
  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly onError: (error: unknown) => void,
  ) {}

  now(): number {
    return this.scheduler.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
    return this.trySchedule(work, delay, state) ?? Subscription.EMPTY;
  }

  /** {@link schedule}, undefined when the scheduler threw: for a caller that has another way. */
  trySchedule<T>(
    work: (this: SchedulerAction<T>, state?: T) => void,
    delay?: number,
    state?: T,
  ): Subscription | undefined {
    try {
      return this.scheduler.schedule(work, delay, state);
    } catch (error) {
      this.onError(error);
      return undefined;
    }
  }
}
