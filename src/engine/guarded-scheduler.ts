import { type SchedulerLike, Subscription } from "rxjs";

/**
 * The engine's scheduler as its own timers use it: a `schedule()` that throws (a host's scheduler
 * that breaks, or one that ran work inline and met an engine check) hands the error to `onError`
 * and schedules nothing, rather than throw. Timers are set from inside the engine's actors'
 * actions too, where a throw would stop the whole actor system: no halt, rollback or reset would
 * be taken afterwards, while the engine went on answering `observe`.
 */
export function guardedScheduler(scheduler: SchedulerLike, onError: (error: unknown) => void): SchedulerLike {
  const schedule = (work: (this: unknown, state?: unknown) => void, delay?: number, state?: unknown) => {
    try {
      return scheduler.schedule(work, delay, state);
    } catch (error) {
      onError(error);
      return Subscription.EMPTY;
    }
  };
  return { now: () => scheduler.now(), schedule: schedule as SchedulerLike["schedule"] };
}
